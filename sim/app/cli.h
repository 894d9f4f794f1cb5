/* sim/app/cli.h
 * The `dealsim` command line (private to the program, not the library):
 * the entry point, each command, and the helpers they share.
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_CLI_H
#define DEALSIM_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "dealsim/config.h"
#include "dealsim/error.h"
#include "dealsim/h5in.h"
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

/* `dealsim summary` (cmd_summary.c) and `dealsim compare` (cmd_compare.c). */
int ds_cli_summary(int argc, char **argv);
int ds_cli_compare(int argc, char **argv);
extern const char *const ds_cli_usage_summary;
extern const char *const ds_cli_usage_compare;

/* A result file read back for summary and compare (cmd_summary.c): its run
 * facts, its scenario (from /effective_config) and its summaries (from
 * /state, imported and finalized). */
typedef struct {
    const char *path;
    ds_h5_file_info fi;
    ds_scenario *sc;
    ds_stats *st;
} ds_cli_result;
/* Loads it; on failure prints one line "dealsim: error: ..." and returns
 * the exit code (2 for any unusable file, 1 when memory runs out); 0 ok.
 * Warns on stderr when the run is not complete. */
int ds_cli_result_load(const char *path, ds_cli_result *r);
void ds_cli_result_free(ds_cli_result *r);
/* JSON helpers (cmd_summary.c): a finite double as %.17g, else null; a
 * string with escapes. */
void ds_cli_json_num(FILE *out, double v);
void ds_cli_json_str(FILE *out, const char *s);

/* The summary table `run` prints (print.c): what ran, then the summaries;
 * "Wrote <path>" last unless path is NULL. */
void ds_cli_print_summary(const ds_scenario *sc, const ds_stats *st, const ds_run_info *info,
                          const char *path);

/* The conditional summaries (print_cond.c; nothing without them): the
 * investors "if they join" table, and the JSON additions: an investor's
 * *_if_joined objects, a coalition row's p_closed ... fields (each after a
 * ", "), and the "coalition_other" and "conditional" members (each after
 * ",\n"). */
void ds_cli_print_if_joined(const ds_scenario *sc, const ds_stats *st);
void ds_cli_json_if_joined(FILE *o, const ds_scenario *sc, const ds_stats *st, size_t i);
void ds_cli_json_coalition(FILE *o, const ds_scenario *sc, const ds_stats *st,
                           const ds_coalition *c, int pooled);
void ds_cli_json_conditional(FILE *o, const ds_scenario *sc, const ds_stats *st);
/* "Alpha+Beta" for a join mask ("" for nobody), the members string of
 * /coalitions (print.c). */
void ds_cli_members(const ds_scenario *sc, uint64_t mask, char *buf, size_t size);

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

/* Reads a result file a user handed us (untrusted.c): its run facts
 * (root attributes, /effective_config, /config) and /state, in a child
 * process, so that a file that crashes the HDF5 library is reported as
 * damaged (DS_ERR_FORMAT) instead.  *stage: 0 when the run facts failed, 1
 * when /state did. */
ds_status ds_cli_read_untrusted(const char *path, ds_h5_file_info *fi, ds_state **state,
                                int *stage, ds_diag *diag);

#endif /* DEALSIM_CLI_H */
