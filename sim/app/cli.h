/* sim/app/cli.h
 * The `dealsim` command line (private to the program, not the library):
 * the entry point, each command, and the helpers they share.
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_CLI_H
#define DEALSIM_CLI_H

#include <stdint.h>

#include "dealsim/config.h"
#include "dealsim/error.h"
#include "dealsim/sink.h"
#include "dealsim/stats.h"

/* Runs the program; returns the process exit code (0 ok, 1 runtime failure,
 * 2 usage or scenario error, 130 interrupted). */
int ds_cli_main(int argc, char **argv);

/* `dealsim run` and `dealsim extend` (cmd_run.c). */
int ds_cli_run(int argc, char **argv);
int ds_cli_extend(int argc, char **argv);
extern const char *const ds_cli_usage_run;
extern const char *const ds_cli_usage_extend;

/* Exit code of a run stopped by SIGUSR1 (Slurm's warning before the wall-time
 * limit): its file is a checkpoint to resume (EX_TEMPFAIL of sysexits.h). */
#define DS_EXIT_CHECKPOINTED 75

/* The summary table `run` prints (print.c): what ran, then the summaries. */
void ds_cli_print_summary(const ds_scenario *sc, const ds_stats *st, const ds_run_info *info,
                          const char *path);

/* Shared helpers (cli.c). */
/* Prints "dealsim: error: <message>" and a pointer to the help; returns 2. */
int ds_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A whole number in [0, 2^64-1]; returns 1 on success. */
int ds_cli_parse_u64(const char *s, uint64_t *out);
int ds_cli_parse_int(const char *s, int lo, int hi, int *out);
/* Parses option `opt`'s value v; prints a usage error and returns 2 if bad. */
int ds_cli_opt_u64(const char *cmd, const char *opt, const char *v, const char *range,
                   uint64_t *out);
/* The exit status once a command's output is printed: rc, or 1 with a
 * message when standard output could not be written. */
int ds_cli_stdout_status(int rc);
/* Prints the diagnostic; returns its exit code. */
int ds_cli_report(const ds_diag *diag);
/* Same for a scenario that cannot be loaded: the user's input error (2). */
int ds_cli_report_load(ds_diag *diag);

#endif /* DEALSIM_CLI_H */
