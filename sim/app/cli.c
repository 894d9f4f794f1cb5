/* sim/app/cli.c
 * The `dealsim` command line: run, check, sample, stream.
 * Licence: see LICENSE at the top of the repository.
 *
 * Uses only the library's public headers.  Every command parses its options
 * strictly (numbers must be whole and in range, unknown options are errors),
 * reports errors as "dealsim: error: ..." or "file:line:col: error: ..." on
 * stderr, and returns an exit code: 0 ok, 1 runtime failure, 2 usage or
 * scenario error, 130 interrupted.  Results go to stdout, progress and
 * diagnostics to stderr.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dealsim/config.h"
#include "dealsim/dist.h"
#include "dealsim/error.h"
#include "dealsim/h5out.h"
#include "dealsim/model.h"
#include "dealsim/par.h"
#include "dealsim/rng.h"
#include "dealsim/stats.h"
#include "dealsim/driver.h"

#define MAX_SETS 256

static const char *const usage_main =
    "dealsim " DS_VERSION " - Monte Carlo simulator of a funding round's outcomes\n"
    "\n"
    "Usage:\n"
    "  dealsim run SCENARIO [options]     run the trials, print a summary, write HDF5\n"
    "  dealsim check SCENARIO [--set K=V]...\n"
    "                                     validate a scenario; print it with defaults\n"
    "                                     filled, and what it contains\n"
    "  dealsim sample --dist YAML [-n N] [--seed S]\n"
    "                                     print N draws of one distribution\n"
    "  dealsim stream --seed S --source NAME --block B [-n N]\n"
    "                                     print the first N raw 64-bit outputs of a\n"
    "                                     random stream (to check against numpy)\n"
    "  dealsim summary FILE [--json]      print the summary of a result file\n"
    "  dealsim compare A.h5 B.h5 [--json] differences B - A with standard errors\n"
    "                                     (paired trial by trial when possible)\n"
    "  dealsim help COMMAND | COMMAND --help | --version\n"
    "\n"
    "Examples:\n"
    "  dealsim run configs/openai-2026.yaml\n"
    "  dealsim run configs/openai-2026.yaml -n 1e7 --threads 8 -o /tmp/big.h5\n"
    "  dealsim run configs/smoke.yaml --set investors.Nvidia.join_probability=0.9\n"
    "  dealsim check configs/openai-2026.yaml\n"
    "  dealsim sample --dist '{dist: pert, min: 1, mode: 2, max: 5}' -n 5\n"
    "  dealsim summary results/openai-2026.h5 --json\n"
    "  dealsim compare a.h5 b.h5\n"
    "\n"
    "Exit codes: 0 ok, 1 runtime failure (I/O, HDF5, memory), 2 usage or scenario\n"
    "error, 130 interrupted (a valid file with the completed trials was written).\n"
    "Scenario format: see README.md and configs/*.yaml.\n";

const char *const ds_cli_usage_run =
    "Usage: dealsim run SCENARIO [options]\n"
    "       dealsim run --resume FILE [--threads T] [-o OUT] [--checkpoint-every S]\n"
    "\n"
    "Runs the scenario's trials on all cores, prints a summary table on stdout and\n"
    "writes the distributions to an HDF5 file (default: output.file of the\n"
    "scenario, else results/<name>.h5).  The file is written under a private\n"
    "partial name and renamed when whole.\n"
    "\n"
    "Stopping and continuing: Ctrl-C (SIGINT), SIGTERM or SIGUSR1 stop at the next\n"
    "block boundary and still write a valid file marked run_status=interrupted\n"
    "(exit code 130; 75 after SIGUSR1, Slurm's warning before the wall-time limit).\n"
    "'dealsim run --resume FILE' continues such a file, with any thread or rank\n"
    "count, to a file bit-identical to an uninterrupted run.  With\n"
    "--checkpoint-every S the file is also rewritten every S seconds as a\n"
    "resumable checkpoint, so even a killed run loses at most S seconds.\n"
    "\n"
    "Options:\n"
    "  -n, --trials N     number of trials (overrides the scenario; 1e7 is accepted)\n"
    "  --seed S           seed, 0..2^64-1 (overrides the scenario)\n"
    "  --sampling M       monte_carlo (default) or latin_hypercube: stratified\n"
    "                     uniforms per block (overrides the key sampling)\n"
    "  --threads T        OpenMP threads (default: all cores / OMP_NUM_THREADS)\n"
    "  -o, --output FILE  output file (overrides output.file)\n"
    "  --set KEY=VALUE    override a scenario key, as YAML; repeatable, e.g.\n"
    "                     --set round.cap=80 --set output.per_trial=true\n"
    "  --resume FILE      continue the interrupted run in FILE (with SCENARIO too,\n"
    "                     the two must be the same scenario and seed); it keeps\n"
    "                     the run's --precision targets and --max-trials\n"
    "  --checkpoint-every SECONDS\n"
    "                     write a resumable checkpoint to the output this often\n"
    "  --precision OUTPUT:TOL[%]\n"
    "                     stop once the standard error of OUTPUT's mean (a\n"
    "                     probability for booleans) is <= TOL, or TOL% of |mean|\n"
    "                     (under latin_hypercube: the block-spread standard error,\n"
    "                     on at least 10 full blocks);\n"
    "                     repeatable: all must be met.  Checked after 8, 16, 32,\n"
    "                     64 blocks of 4096 trials, then every c/8 blocks for c in\n"
    "                     [2^k, 2^(k+1)) (72, 80, ..., 128, 144, ...), the same\n"
    "                     for any threads or ranks; e.g. --precision total:0.05\n"
    "                     --precision target_met:0.001 --max-trials 1e8\n"
    "  --max-trials N     with --precision: run at most N trials (default: trials)\n"
    "  --force            overwrite an existing output file\n"
    "  --quiet            no progress and no summary table (errors still shown)\n"
    "  -h, --help         this help\n"
    "\n"
    "Results are bit-identical for the same scenario, seed and trials whatever\n"
    "the thread count, rank count and interruptions, and on every x86-64 CPU;\n"
    "a run of N trials is a prefix of a run of M > N trials.  DEALSIM_SIMD=\n"
    "scalar|sse2|avx2|avx512|auto (environment) forces a SIMD path: the same bits.\n";
const char *const ds_cli_usage_extend =
    "Usage: dealsim extend FILE -n MORE [--threads T] [-o OUT] [--quiet]\n"
    "\n"
    "Adds MORE trials to the complete run in FILE: the result (FILE itself, or OUT)\n"
    "is bit-identical to one run of the total number of trials with the same\n"
    "scenario and seed.\n"
    "\n"
    "Options:\n"
    "  -n, --trials MORE  trials to add\n"
    "  --threads T        OpenMP threads (default: all cores / OMP_NUM_THREADS)\n"
    "  -o, --output OUT   write the extended run to OUT instead of replacing FILE\n"
    "  --checkpoint-every SECONDS   as for run\n"
    "  --force            overwrite an existing OUT\n"
    "  --quiet            no progress and no summary table\n";

static const char *const usage_check =
    "Usage: dealsim check SCENARIO [--set KEY=VALUE]...\n"
    "\n"
    "Validates the scenario (every rule of the format; errors name file:line:col,\n"
    "the key, what was expected and what was found), then prints the effective\n"
    "scenario as YAML (defaults filled, overrides applied) and a description:\n"
    "investors, uncertain inputs, correlations with the smallest eigenvalue of\n"
    "the correlation matrix, random sources.  Exit 0 when valid, 2 when not.\n";

static const char *const usage_sample =
    "Usage: dealsim sample --dist YAML [-n N] [--seed S]\n"
    "\n"
    "Prints N (default 10) draws of a distribution, one a line, as the engine\n"
    "samples it.  YAML is one distribution as in a scenario file, e.g.\n"
    "  dealsim sample --dist '{dist: lognormal, median: 18, sigma: 0.5, min: 8, max: 60}'\n"
    "  dealsim sample --dist '{dist: mixture, components: [{weight: 1, dist: normal,\n"
    "                          mean: -0.35, sd: 0.1}, {weight: 1, dist: fixed, value: 0}]}'\n"
    "Draws come from the stream of source \"sample\", block 0, of the seed\n"
    "(default 0).\n";

static const char *const usage_stream =
    "Usage: dealsim stream --seed S --source NAME --block B [-n N]\n"
    "\n"
    "Prints the first N (default 10) raw 64-bit outputs of the random stream of\n"
    "source NAME in block B, one decimal number a line.  The same numbers come\n"
    "from numpy:\n"
    "  ss = numpy.random.SeedSequence(S, spawn_key=(fnv1a64(NAME), B))\n"
    "  numpy.random.PCG64DXSM(ss).random_raw(N)\n"
    "where fnv1a64 is the 64-bit FNV-1a hash of NAME's UTF-8 bytes.\n";

const char *const ds_cli_usage_summary =
    "Usage: dealsim summary FILE [--json]\n"
    "\n"
    "Prints the summary table `dealsim run` printed for a result file, rebuilt from\n"
    "the file's saved state (/state) and scenario (/effective_config), or with\n"
    "--json a JSON document (schema: README.md, \"dealsim summary --json\"; every\n"
    "number printed with 17 digits, NaN as null).  A file of an interrupted run is\n"
    "summarised with a warning saying how many trials it holds.  Exit 2 for a\n"
    "file that is missing, not HDF5, not a dealsim file, of a newer\n"
    "file_format_version, or damaged.\n";

const char *const ds_cli_usage_compare =
    "Usage: dealsim compare A.h5 B.h5 [--json]\n"
    "\n"
    "What-if analysis: for every summary output the difference B - A of its mean\n"
    "(a probability for booleans) with the standard error of the difference, and\n"
    "the same for each investor's join probability and mean amount.  When both\n"
    "files have the same seed and trial count and per-trial data of an output\n"
    "(/trials/<output>, output.per_trial), the runs used common random numbers\n"
    "and the difference is paired trial by trial: the mean and standard error of\n"
    "the per-trial differences, read in chunks; the table says which and how much\n"
    "smaller the paired standard error is than the unpaired sqrt(se_A^2 + se_B^2).\n"
    "Under latin_hypercube sampling (either file) standard errors come from the\n"
    "spread of the full blocks' means, the paired one from the blocks' mean\n"
    "differences (trials within a block are not independent).\n"
    "Files of different block sizes or file format versions are refused (exit 2).\n"
    "--json: a JSON document (schema: README.md, \"dealsim compare --json\").\n";

/* Prints "dealsim: error: <message>" and a pointer to the help; returns 2. */
int ds_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    if (ds_par_rank() > 0) /* MPI: rank 0 speaks for every rank */
        return 2;
    va_list ap;
    va_start(ap, fmt);
    fputs("dealsim: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'dealsim %s--help'.\n", cmd);
    return 2;
}

/* A whole number in [0, 2^64-1] in the scenario files' grammar (digits, or
 * an integral 1e7-style decimal; ds_config_parse_uint), so that -n, --seed
 * and --threads accept exactly what trials: and seed: do.  Returns 1 on
 * success. */
int ds_cli_parse_u64(const char *s, uint64_t *out)
{
    return ds_config_parse_uint(s, 0, UINT64_MAX, out);
}

int ds_cli_parse_int(const char *s, int lo, int hi, int *out)
{
    uint64_t v;
    if (!ds_cli_parse_u64(s, &v) || v < (uint64_t)lo || v > (uint64_t)hi)
        return 0;
    *out = (int)v;
    return 1;
}

/* The value of a whole-number option: 0 when it parses, else the usage error
 * (exit code 2) naming the option, the range and what was found. */
int ds_cli_opt_u64(const char *cmd, const char *opt, const char *v, const char *range,
                   uint64_t *out)
{
    if (ds_cli_parse_u64(v, out))
        return 0;
    return ds_cli_usage_error(cmd, "%s needs a whole number %s, found '%s'", opt, range, v ? v : "");
}

int ds_cli_report(const ds_diag *diag)
{
    if (ds_par_rank() > 0) /* MPI: rank 0 speaks for every rank */
        return ds_status_exit_code(diag->status);
    char buf[DS_DIAG_MSG_MAX + DS_DIAG_FILE_MAX + 64];
    ds_diag_format(diag, buf, sizeof buf);
    fprintf(stderr, "%s\n", buf);
    return ds_status_exit_code(diag->status);
}

/* A scenario that cannot be loaded (missing, unreadable or invalid) is the
 * user's input error: exit 2, unless memory ran out. */
int ds_cli_report_load(ds_diag *diag)
{
    if (diag->status == DS_ERR_IO)
        diag->status = DS_ERR_SCENARIO;
    return ds_cli_report(diag);
}

/* The exit status of a command once its output is printed: 1 with a message
 * when standard output could not be written (a full disk, > /dev/full, a
 * closed pipe), so that a truncated output never passes for a complete one.
 * ferror catches a failure of an earlier, implicit flush. */
int ds_cli_stdout_status(int rc)
{
    int flushed = fflush(stdout) == 0;
    int e = errno;
    if (flushed && !ferror(stdout))
        return rc;
    fprintf(stderr, "dealsim: error: cannot write the output to standard output: %s\n",
            flushed ? "an earlier write failed" : strerror(e));
    return rc == 0 ? 1 : rc;
}

/* ---- check ---- */

static int cmd_check(int argc, char **argv)
{
    const char *path = NULL;
    const char *sets[MAX_SETS];
    size_t n_sets = 0;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_check, stdout);
            return 0;
        } else if (!strcmp(a, "--set")) {
            if (i + 1 >= argc)
                return ds_cli_usage_error("check ", "--set needs KEY=VALUE");
            if (n_sets == MAX_SETS)
                return ds_cli_usage_error("check ", "too many --set (at most 256)");
            sets[n_sets++] = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return ds_cli_usage_error("check ", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return ds_cli_usage_error("check ", "unexpected argument '%s' (one scenario at a time)", a);
        }
    }
    if (!path)
        return ds_cli_usage_error("check ", "missing SCENARIO");
    ds_diag diag;
    ds_diag_clear(&diag);
    ds_scenario *sc = NULL;
    if (ds_scenario_load(path, sets, n_sets, &sc, &diag) != DS_OK)
        return ds_cli_report_load(&diag);
    char *yaml = NULL;
    if (ds_scenario_to_yaml(sc, &yaml, &diag) != DS_OK) {
        ds_scenario_free(sc);
        return ds_cli_report(&diag);
    }
    printf("# %s: valid. Effective scenario (defaults filled, overrides applied):\n", path);
    fputs(yaml, stdout);
    printf("\n");
    ds_scenario_describe(sc, stdout);
    /* The memory bound of a run (stats.h ds_stats_memory_bound). */
    ds_model *m = NULL;
    if (ds_model_create(sc, &m, &diag) == DS_OK) {
        const int threads = ds_driver_max_threads();
        const ds_stats_memory mb = ds_stats_memory_bound(m, threads);
        const double mib = 1024.0 * 1024.0;
        printf("Memory: at most %.1f MiB a thread + %.1f MiB shared = %.1f MiB with %d "
               "thread%s (the default); summaries in the file at most %.1f MiB\n",
               (double)mb.per_thread / mib, (double)mb.shared / mib, (double)mb.total / mib,
               threads, threads == 1 ? "" : "s", (double)mb.file_state / mib);
        ds_model_free(m);
    }
    free(yaml);
    ds_scenario_free(sc);
    return ds_cli_stdout_status(0);
}

/* ---- stream ---- */

static int cmd_stream(int argc, char **argv)
{
    uint64_t seed = 0, block = 0, n = 10;
    const char *source = NULL;
    int have_seed = 0, have_block = 0;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_stream, stdout);
            return 0;
        } else if (!strcmp(a, "--seed")) {
            if (ds_cli_opt_u64("stream ", a, v, "in 0..2^64-1", &seed))
                return 2;
            have_seed = 1;
            ++i;
        } else if (!strcmp(a, "--block")) {
            if (ds_cli_opt_u64("stream ", a, v, ">= 0", &block))
                return 2;
            have_block = 1;
            ++i;
        } else if (!strcmp(a, "-n")) {
            if (ds_cli_opt_u64("stream ", a, v, ">= 0", &n))
                return 2;
            ++i;
        } else if (!strcmp(a, "--source")) {
            if (!v)
                return ds_cli_usage_error("stream ", "--source needs a NAME");
            source = v;
            ++i;
        } else {
            return ds_cli_usage_error("stream ", "unknown argument '%s'", a);
        }
    }
    if (!have_seed || !have_block || !source)
        return ds_cli_usage_error("stream ", "--seed, --source and --block are required");
    ds_rng r;
    ds_rng_stream(&r, seed, source, block);
    for (uint64_t i = 0; i < n; ++i)
        if (printf("%llu\n", (unsigned long long)ds_rng_next_u64(&r)) < 0)
            break;
    return ds_cli_stdout_status(0);
}

/* ---- sample ---- */

static int cmd_sample(int argc, char **argv)
{
    uint64_t seed = 0, n = 10;
    const char *text = NULL;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_sample, stdout);
            return 0;
        } else if (!strcmp(a, "--seed")) {
            if (ds_cli_opt_u64("sample ", a, v, "in 0..2^64-1", &seed))
                return 2;
            ++i;
        } else if (!strcmp(a, "-n")) {
            if (ds_cli_opt_u64("sample ", a, v, ">= 0", &n))
                return 2;
            ++i;
        } else if (!strcmp(a, "--dist")) {
            if (!v)
                return ds_cli_usage_error("sample ", "--dist needs a distribution as YAML");
            text = v;
            ++i;
        } else {
            return ds_cli_usage_error("sample ", "unknown argument '%s'", a);
        }
    }
    if (!text)
        return ds_cli_usage_error("sample ", "--dist is required");
    ds_dist d;
    ds_diag diag;
    ds_diag_clear(&diag);
    if (ds_dist_from_yaml(text, &d, &diag) != DS_OK)
        return ds_cli_report(&diag);
    ds_rng r;
    ds_rng_stream(&r, seed, "sample", 0);
    for (uint64_t i = 0; i < n; ++i)
        if (printf("%.17g\n", ds_dist_sample(&d, &r)) < 0)
            break;
    ds_dist_clear(&d);
    return ds_cli_stdout_status(0);
}

/* ---- run ---- */

int ds_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        char h5[32];
        printf("dealsim %s (git %s), HDF5 %s, block size %u, rng pcg64dxsm\n", DS_VERSION,
               DS_GIT_COMMIT, ds_h5out_library_version(h5, sizeof h5), DS_BLOCK_SIZE);
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        const char *what = argc > 2 ? argv[2] : "";
        fputs(!strcmp(what, "run")      ? ds_cli_usage_run
              : !strcmp(what, "extend") ? ds_cli_usage_extend
              : !strcmp(what, "check")  ? usage_check
              : !strcmp(what, "sample") ? usage_sample
              : !strcmp(what, "stream") ? usage_stream
              : !strcmp(what, "summary") ? ds_cli_usage_summary
              : !strcmp(what, "compare") ? ds_cli_usage_compare
                                        : usage_main,
              stdout);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return ds_cli_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "extend"))
        return ds_cli_extend(argc - 2, argv + 2);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "sample"))
        return cmd_sample(argc - 2, argv + 2);
    if (!strcmp(cmd, "stream"))
        return cmd_stream(argc - 2, argv + 2);
    if (!strcmp(cmd, "summary"))
        return ds_cli_summary(argc - 2, argv + 2);
    if (!strcmp(cmd, "compare"))
        return ds_cli_compare(argc - 2, argv + 2);
    return ds_cli_usage_error("", "unknown command '%s' (run, extend, check, sample, stream, "
                                  "summary, compare)", cmd);
}
