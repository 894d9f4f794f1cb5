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
#include "dealsim/driver.h"
#include "dealsim/error.h"
#include "dealsim/h5out.h"
#include "dealsim/model.h"
#include "dealsim/rng.h"
#include "dealsim/stats.h"

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
    "  dealsim help COMMAND | COMMAND --help | --version\n"
    "\n"
    "Examples:\n"
    "  dealsim run configs/openai-2026.yaml\n"
    "  dealsim run configs/openai-2026.yaml -n 1e7 --threads 8 -o /tmp/big.h5\n"
    "  dealsim run configs/smoke.yaml --set investors.Nvidia.join_probability=0.9\n"
    "  dealsim check configs/openai-2026.yaml\n"
    "  dealsim sample --dist '{dist: pert, min: 1, mode: 2, max: 5}' -n 5\n"
    "\n"
    "Exit codes: 0 ok, 1 runtime failure (I/O, HDF5, memory), 2 usage or scenario\n"
    "error, 130 interrupted (a valid file with the completed trials was written).\n"
    "Scenario format: see README.md and configs/*.yaml.\n";

static const char *const usage_run =
    "Usage: dealsim run SCENARIO [options]\n"
    "\n"
    "Runs the scenario's trials on all cores, prints a summary table on stdout and\n"
    "writes the distributions to an HDF5 file (default: output.file of the\n"
    "scenario, else results/<name>.h5).  The file is written as <file>.partial\n"
    "and renamed when complete.  Ctrl-C (SIGINT) or SIGTERM stops at the next\n"
    "block boundary and still writes a valid file marked run_status=interrupted\n"
    "(exit code 130).\n"
    "\n"
    "Options:\n"
    "  -n, --trials N     number of trials (overrides the scenario; 1e7 is accepted)\n"
    "  --seed S           seed, 0..2^64-1 (overrides the scenario)\n"
    "  --threads T        OpenMP threads (default: all cores / OMP_NUM_THREADS)\n"
    "  -o, --output FILE  output file (overrides output.file)\n"
    "  --set KEY=VALUE    override a scenario key, as YAML; repeatable, e.g.\n"
    "                     --set round.cap=80 --set output.per_trial=true\n"
    "  --force            overwrite an existing output file\n"
    "  --quiet            no progress and no summary table (errors still shown)\n"
    "  -h, --help         this help\n"
    "\n"
    "Results are bit-identical for the same scenario, seed and trials whatever\n"
    "the thread count; a run of N trials is a prefix of a run of M > N trials.\n";

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

/* Prints "dealsim: error: <message>" and a pointer to the help; returns 2. */
static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
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
static int parse_u64(const char *s, uint64_t *out)
{
    return ds_config_parse_uint(s, 0, UINT64_MAX, out);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    uint64_t v;
    if (!parse_u64(s, &v) || v < (uint64_t)lo || v > (uint64_t)hi)
        return 0;
    *out = (int)v;
    return 1;
}

/* The value of a whole-number option: 0 when it parses, else the usage error
 * (exit code 2) naming the option, the range and what was found. */
static int opt_u64(const char *cmd, const char *opt, const char *v, const char *range,
                   uint64_t *out)
{
    if (parse_u64(v, out))
        return 0;
    return usage_error(cmd, "%s needs a whole number %s, found '%s'", opt, range, v ? v : "");
}

static int report(const ds_diag *diag)
{
    char buf[DS_DIAG_MSG_MAX + DS_DIAG_FILE_MAX + 64];
    ds_diag_format(diag, buf, sizeof buf);
    fprintf(stderr, "%s\n", buf);
    return ds_status_exit_code(diag->status);
}

/* A scenario that cannot be loaded (missing, unreadable or invalid) is the
 * user's input error: exit 2, unless memory ran out. */
static int report_load(ds_diag *diag)
{
    if (diag->status == DS_ERR_IO)
        diag->status = DS_ERR_SCENARIO;
    return report(diag);
}

/* The exit status of a command once its output is printed: 1 with a message
 * when standard output could not be written (a full disk, > /dev/full, a
 * closed pipe), so that a truncated output never passes for a complete one.
 * ferror catches a failure of an earlier, implicit flush. */
static int stdout_status(int rc)
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
                return usage_error("check ", "--set needs KEY=VALUE");
            if (n_sets == MAX_SETS)
                return usage_error("check ", "too many --set (at most 256)");
            sets[n_sets++] = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return usage_error("check ", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return usage_error("check ", "unexpected argument '%s' (one scenario at a time)", a);
        }
    }
    if (!path)
        return usage_error("check ", "missing SCENARIO");
    ds_diag diag;
    ds_diag_clear(&diag);
    ds_scenario *sc = NULL;
    if (ds_scenario_load(path, sets, n_sets, &sc, &diag) != DS_OK)
        return report_load(&diag);
    char *yaml = NULL;
    if (ds_scenario_to_yaml(sc, &yaml, &diag) != DS_OK) {
        ds_scenario_free(sc);
        return report(&diag);
    }
    printf("# %s: valid. Effective scenario (defaults filled, overrides applied):\n", path);
    fputs(yaml, stdout);
    printf("\n");
    ds_scenario_describe(sc, stdout);
    free(yaml);
    ds_scenario_free(sc);
    return stdout_status(0);
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
            if (opt_u64("stream ", a, v, "in 0..2^64-1", &seed))
                return 2;
            have_seed = 1;
            ++i;
        } else if (!strcmp(a, "--block")) {
            if (opt_u64("stream ", a, v, ">= 0", &block))
                return 2;
            have_block = 1;
            ++i;
        } else if (!strcmp(a, "-n")) {
            if (opt_u64("stream ", a, v, ">= 0", &n))
                return 2;
            ++i;
        } else if (!strcmp(a, "--source")) {
            if (!v)
                return usage_error("stream ", "--source needs a NAME");
            source = v;
            ++i;
        } else {
            return usage_error("stream ", "unknown argument '%s'", a);
        }
    }
    if (!have_seed || !have_block || !source)
        return usage_error("stream ", "--seed, --source and --block are required");
    ds_rng r;
    ds_rng_stream(&r, seed, source, block);
    for (uint64_t i = 0; i < n; ++i)
        if (printf("%llu\n", (unsigned long long)ds_rng_next_u64(&r)) < 0)
            break;
    return stdout_status(0);
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
            if (opt_u64("sample ", a, v, "in 0..2^64-1", &seed))
                return 2;
            ++i;
        } else if (!strcmp(a, "-n")) {
            if (opt_u64("sample ", a, v, ">= 0", &n))
                return 2;
            ++i;
        } else if (!strcmp(a, "--dist")) {
            if (!v)
                return usage_error("sample ", "--dist needs a distribution as YAML");
            text = v;
            ++i;
        } else {
            return usage_error("sample ", "unknown argument '%s'", a);
        }
    }
    if (!text)
        return usage_error("sample ", "--dist is required");
    ds_dist d;
    ds_diag diag;
    ds_diag_clear(&diag);
    if (ds_dist_from_yaml(text, &d, &diag) != DS_OK)
        return report(&diag);
    ds_rng r;
    ds_rng_stream(&r, seed, "sample", 0);
    for (uint64_t i = 0; i < n; ++i)
        if (printf("%.17g\n", ds_dist_sample(&d, &r)) < 0)
            break;
    ds_dist_clear(&d);
    return stdout_status(0);
}

/* ---- run ---- */

/* "KEY=\"VALUE\"" with VALUE as a YAML double-quoted string (backslash,
 * quote and control characters escaped), so any path survives --set. */
static char *yaml_set_string(const char *key, const char *value)
{
    size_t cap = strlen(key) + 4 * strlen(value) + 4;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t len = (size_t)snprintf(out, cap, "%s=\"", key);
    for (const unsigned char *p = (const unsigned char *)value; *p; ++p) {
        if (*p == '"' || *p == '\\') {
            out[len++] = '\\';
            out[len++] = (char)*p;
        } else if (*p < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\x%02x", *p);
        } else {
            out[len++] = (char)*p;
        }
    }
    out[len++] = '"';
    out[len] = '\0';
    return out;
}

static atomic_int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

typedef struct {
    int tty;
    int quiet;
    double last;     /* elapsed seconds at the last print */
    int last_decile; /* plain mode: last 10% step printed */
} progress_state;

static void fmt_duration(double s, char *buf, size_t size)
{
    if (!(s >= 0.0) || s > 1e7) {
        snprintf(buf, size, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total, double elapsed)
{
    progress_state *ps = ctx;
    if (ps->quiet)
        return;
    const double frac = total ? (double)done / (double)total : 1.0;
    const double rate = elapsed > 0.0 ? (double)done / elapsed : 0.0;
    char eta[32];
    fmt_duration(rate > 0.0 ? (double)(total - done) / rate : -1.0, eta, sizeof eta);
    if (ps->tty) {
        if (done < total && elapsed - ps->last < 0.2)
            return;
        ps->last = elapsed;
        char bar[31];
        int fill = (int)(frac * 30.0);
        for (int i = 0; i < 30; ++i)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %5.1f%% %llu/%llu trials  %.3g trials/s  ETA %s ", bar,
                100.0 * frac, (unsigned long long)done, (unsigned long long)total, rate, eta);
        if (done == total)
            fputc('\n', stderr);
    } else {
        int decile = (int)(frac * 10.0);
        if (decile <= ps->last_decile && elapsed - ps->last < 10.0)
            return;
        ps->last_decile = decile;
        ps->last = elapsed;
        fprintf(stderr, "progress: %llu/%llu trials (%.0f%%), %.3g trials/s, ETA %s\n",
                (unsigned long long)done, (unsigned long long)total, 100.0 * frac, rate, eta);
    }
    fflush(stderr);
}

static void utc_now(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double q_of(const ds_stats *st, ds_output o, double q)
{
    return ds_sketch_quantile(&st->sk_out[o], q, st->out[o].min, st->out[o].max);
}

/* Builds "Nvidia+Amazon" for a mask ("(none)" when empty). */
static void mask_members(const ds_scenario *sc, uint64_t mask, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc->n_investors && len + 1 < size; ++i) {
        if (!(mask >> i & 1u))
            continue;
        int w = snprintf(buf + len, size - len, "%s%s", len ? "+" : "", sc->investors[i].name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (!mask)
        snprintf(buf, size, "(none)");
}

static void print_summary(const ds_scenario *sc, const ds_stats *st, const ds_run_result *res,
                          const char *path)
{
    const double rate = res->wall_seconds > 0 ? (double)res->trials_done / res->wall_seconds : 0;
    printf("dealsim %s: scenario %s, %llu trials, seed %llu, %d thread%s, %.2f s (%.3g "
           "trials/s)%s\n\n",
           DS_VERSION, sc->name, (unsigned long long)res->trials_done,
           (unsigned long long)sc->seed, res->threads, res->threads == 1 ? "" : "s",
           res->wall_seconds, rate, res->interrupted ? "  [INTERRUPTED]" : "");
    static const ds_output rows[] = {DS_OUT_TOTAL,       DS_OUT_PAID,        DS_OUT_UNPAID,
                                     DS_OUT_ROUND_TRIP,  DS_OUT_NET_NEW,     DS_OUT_SHORTFALL,
                                     DS_OUT_HHI,         DS_OUT_TOP_SHARE,   DS_OUT_COMPUTE_SPEND,
                                     DS_OUT_GPU_HOURS,   DS_OUT_AVG_PRICE,   DS_OUT_FINAL_PRICE,
                                     DS_OUT_POST_MONEY,  DS_OUT_STAKE_TOTAL};
    printf("%-18s %-17s %11s %11s %11s %11s %9s\n", "output", "units", "mean", "p5", "p50",
           "p95", "NaN");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; ++r) {
        const ds_output o = rows[r];
        if ((size_t)o >= st->n_outputs)
            continue;
        const ds_output_info *info = ds_output_get_info(o);
        printf("%-18s %-17s %11.4g %11.4g %11.4g %11.4g %9llu\n", info->name, info->units,
               st->out[o].mean, q_of(st, o, 0.05), q_of(st, o, 0.5), q_of(st, o, 0.95),
               (unsigned long long)st->out[o].nan);
    }
    printf("\n");
    /* Each probability with the rule that defines it in this scenario. */
    char rule[3][96];
    if (sc->has_minimum_close)
        snprintf(rule[0], sizeof rule[0], "total >= minimum_close = %g", sc->minimum_close);
    else
        snprintf(rule[0], sizeof rule[0], "total > 0");
    snprintf(rule[1], sizeof rule[1], "total >= target = %g", sc->target);
    snprintf(rule[2], sizeof rule[2], "raw total > cap = %g", sc->cap);
    static const ds_output probs[] = {DS_OUT_CLOSED, DS_OUT_TARGET_MET, DS_OUT_OVERSUBSCRIBED};
    for (size_t r = 0; r < sizeof probs / sizeof probs[0]; ++r) {
        const ds_output o = probs[r];
        if (o == DS_OUT_OVERSUBSCRIBED && !sc->has_cap)
            continue; /* no cap: never oversubscribed */
        printf("P(%s) = %.4f +- %.4f   (%s)\n", ds_output_get_info(o)->name, st->out[o].mean,
               ds_moments_stderr(&st->out[o]), rule[r]);
    }
    printf("\nInvestors          P(join)      mean amount   mean paid\n");
    for (size_t i = 0; i < sc->n_investors; ++i) {
        const double n = (double)st->trials;
        printf("  %-16s %7.4f %14.3f %11.3f\n", sc->investors[i].name,
               n > 0 ? (double)st->inv_joined[i] / n : (double)NAN, st->inv_amount[i].mean,
               st->inv_paid[i].mean);
    }
    ds_coalition *co = ds_stats_sorted_coalitions(st);
    if (co) {
        printf("\nMost likely coalitions              probability   mean total ($B)\n");
        for (size_t k = 0; k < st->n_coalitions && k < 6; ++k) {
            char members[512];
            mask_members(sc, co[k].mask, members, sizeof members);
            printf("  %-34s %10.4f   %12.3f\n", members,
                   (double)co[k].count / (double)st->trials,
                   co[k].count ? co[k].sum_total / (double)co[k].count : (double)NAN);
        }
        if (st->n_coalitions > 6)
            printf("  (%zu coalitions in all; see /coalitions in the file)\n", st->n_coalitions);
        free(co);
    }
    printf("\nCompute bought: %.4g billion GPU hours on average (p5 %.4g, p95 %.4g) at %.4g "
           "$/GPUh on average\n",
           st->out[DS_OUT_GPU_HOURS].mean, q_of(st, DS_OUT_GPU_HOURS, 0.05),
           q_of(st, DS_OUT_GPU_HOURS, 0.95), st->out[DS_OUT_AVG_PRICE].mean);
    printf("\nWrote %s\n", path);
}

static int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *output = NULL;
    const char *sets[MAX_SETS + 3];
    size_t n_sets = 0;
    int threads = 0, force = 0, quiet = 0;
    char set_trials[64] = "", set_seed[64] = "";
    char *set_output = NULL;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_run, stdout);
            return 0;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--trials")) {
            if (!parse_u64(v, &u) || u == 0)
                return usage_error("run ", "-n needs a whole number >= 1 (e.g. 1000000 or 1e6), "
                                   "found '%s'", v ? v : "");
            snprintf(set_trials, sizeof set_trials, "trials=%llu", (unsigned long long)u);
            ++i;
        } else if (!strcmp(a, "--seed")) {
            if (opt_u64("run ", a, v, "in 0..2^64-1", &u))
                return 2;
            snprintf(set_seed, sizeof set_seed, "seed=%llu", (unsigned long long)u);
            ++i;
        } else if (!strcmp(a, "--threads")) {
            if (!parse_int(v, 1, 4096, &threads))
                return usage_error("run ", "--threads needs a whole number in 1..4096, found '%s'",
                                   v ? v : "");
            ++i;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!v || !*v)
                return usage_error("run ", "-o needs a FILE");
            output = v;
            ++i;
        } else if (!strcmp(a, "--set")) {
            if (!v)
                return usage_error("run ", "--set needs KEY=VALUE");
            if (n_sets == MAX_SETS)
                return usage_error("run ", "too many --set (at most 256)");
            sets[n_sets++] = v;
            ++i;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("run ", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return usage_error("run ", "unexpected argument '%s' (one scenario at a time)", a);
        }
    }
    if (!path)
        return usage_error("run ", "missing SCENARIO");
    /* -n, --seed and -o become overrides after the user's own --set (so the
     * user's --set:N positions hold, and the options win), which puts them
     * in the effective scenario the file records. */
    if (set_trials[0])
        sets[n_sets++] = set_trials;
    if (set_seed[0])
        sets[n_sets++] = set_seed;
    if (output) {
        if (!(set_output = yaml_set_string("output.file", output))) {
            fprintf(stderr, "dealsim: error: out of memory\n");
            return 1;
        }
        sets[n_sets++] = set_output;
    }

    ds_diag diag;
    ds_diag_clear(&diag);
    ds_scenario *sc = NULL;
    ds_model *m = NULL;
    ds_stats *st = NULL;
    ds_h5out *w = NULL;
    char *yaml = NULL;
    int rc = 0;
    if (ds_scenario_load(path, sets, n_sets, &sc, &diag) != DS_OK) {
        free(set_output);
        return report_load(&diag);
    }
    const char *file = sc->output_file;
    if (ds_scenario_to_yaml(sc, &yaml, &diag) != DS_OK ||
        ds_model_create(sc, &m, &diag) != DS_OK)
        goto fail;
    if (!(st = ds_stats_alloc(m))) {
        ds_diag_set(&diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (summaries)");
        goto fail;
    }
    ds_run_info info;
    memset(&info, 0, sizeof info);
    utc_now(info.created_utc, sizeof info.created_utc);
    if (ds_h5out_open(file, force, m, sc->trials, yaml, &w, &diag) != DS_OK)
        goto fail;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    atomic_store(&stop_flag, 0);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    progress_state ps = {isatty(STDERR_FILENO), quiet, 0.0, 0};
    ds_run_options opt = {sc->trials, threads, on_progress, &ps, &stop_flag, w};
    ds_run_result res;
    ds_status s = ds_driver_run(m, &opt, st, &res, &diag);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (s != DS_OK)
        goto fail;
    if (ps.tty && !quiet && res.interrupted)
        fputc('\n', stderr);

    info.seed = sc->seed;
    info.trials_requested = sc->trials;
    info.trials_done = res.trials_done;
    info.interrupted = res.interrupted;
    info.threads = res.threads;
    info.mpi_ranks = 1;
    info.wall_seconds = res.wall_seconds;
    utc_now(info.finished_utc, sizeof info.finished_utc);
    ds_status fs = ds_h5out_finish(w, st, &info, &diag);
    w = NULL; /* finish frees the writer, also on failure */
    if (fs != DS_OK)
        goto fail;
    if (!quiet)
        print_summary(sc, st, &res, file);
    /* The file is written either way; a lost summary still fails the run. */
    rc = stdout_status(0);
    if (res.interrupted) {
        fprintf(stderr, "dealsim: interrupted after %llu of %llu trials; %s holds them "
                        "(run_status = interrupted)\n",
                (unsigned long long)res.trials_done, (unsigned long long)sc->trials, file);
        rc = 130;
    }
    goto done;
fail:
    ds_h5out_abort(w);
    rc = report(&diag);
done:
    free(set_output);
    free(yaml);
    ds_stats_free(st);
    ds_model_free(m);
    ds_scenario_free(sc);
    return rc;
}

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
        fputs(!strcmp(what, "run")      ? usage_run
              : !strcmp(what, "check")  ? usage_check
              : !strcmp(what, "sample") ? usage_sample
              : !strcmp(what, "stream") ? usage_stream
                                        : usage_main,
              stdout);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "sample"))
        return cmd_sample(argc - 2, argv + 2);
    if (!strcmp(cmd, "stream"))
        return cmd_stream(argc - 2, argv + 2);
    return usage_error("", "unknown command '%s' (run, check, sample, stream)", cmd);
}
