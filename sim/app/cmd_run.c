/* sim/app/cmd_run.c
 * `dealsim run`: options, signals, progress; the run itself is a session
 * (session.h) writing through the HDF5 writer as its sink.
 * Licence: see LICENSE at the top of the repository.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dealsim/h5in.h"
#include "dealsim/h5out.h"
#include "dealsim/par.h"
#include "dealsim/session.h"

/* At most this many --set overrides, --precision targets. */
#define MAX_SETS 256
#define MAX_TARGETS 16

/* OUTPUT:TOL or OUTPUT:TOL% into *t; 0 when valid. */
static int parse_target(const char *v, ds_precision_target *t)
{
    const char *colon = v ? strchr(v, ':') : NULL;
    if (!colon || colon == v || (size_t)(colon - v) >= 64)
        return 1;
    char name[64];
    memcpy(name, v, (size_t)(colon - v));
    name[colon - v] = '\0';
    if (!ds_output_from_name(name, &t->output))
        return 1;
    char *end = NULL;
    t->tol = strtod(colon + 1, &end);
    t->relative = end && *end == '%';
    if (t->relative) {
        t->tol /= 100.0;
        ++end;
    }
    return !(end && *end == '\0' && end != colon + 1 && t->tol > 0.0 && t->tol < 1e300);
}

/* --resume keeps the run's --precision targets: the file's root attribute
 * `precision` ("total:0.05;target_met:0.001", as the run was given them)
 * becomes targets[] and text when none are given; given ones must be the
 * same text (another set would make a different run).  DS_ERR_USAGE and a
 * message otherwise. */
static ds_status resume_targets(const char *file, const char *saved, ds_precision_target *targets,
                                size_t *n_targets, char *text, size_t text_len, ds_diag *diag)
{
    if (*n_targets) {
        if (strcmp(text, saved) != 0)
            return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                               "%s was run %s%s; --resume keeps the run's targets (give no "
                               "--precision, or the same ones)",
                               file, saved[0] ? "with --precision " : "without --precision",
                               saved);
        return DS_OK;
    }
    if (!saved[0])
        return DS_OK;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", saved);
    size_t n = 0;
    for (char *tok = buf, *next; tok; tok = next) {
        next = strchr(tok, ';');
        if (next)
            *next++ = '\0';
        if (n == MAX_TARGETS || parse_target(tok, &targets[n]))
            return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                               "%s: its `precision` attribute '%s' is not a list of at most %d "
                               "OUTPUT:TOL[%%] targets",
                               file, saved, MAX_TARGETS);
        n++;
    }
    *n_targets = n;
    snprintf(text, text_len, "%s", saved);
    return DS_OK;
}

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

/* Signals.  Handlers are installed before the scenario is even read, so an
 * early Ctrl-C is never lost.  The first SIGINT/SIGTERM asks the run to stop
 * at the next block boundary (the driver takes no new block, so this costs
 * at most one block a thread); a second one says so at once; a third exits
 * at once, leaving the partial file (never the result file) behind.  While
 * the file is being finished the signals are blocked, and delivered (to the
 * same handler) only once the file is whole. */
static atomic_int stop_flag;
static atomic_int stop_usr1; /* the stop came from SIGUSR1: exit DS_EXIT_CHECKPOINTED */
static volatile sig_atomic_t signals_seen;

static void say(const char *msg)
{
    size_t len = strlen(msg);
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, msg, len);
        if (w <= 0)
            return;
        msg += w;
        len -= (size_t)w;
    }
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        atomic_store(&stop_usr1, 1);
    atomic_store(&stop_flag, 1);
    signals_seen = signals_seen + 1;
    if (signals_seen == 2)
        say("\ndealsim: stopping now: the file keeps the trials committed so far (the blocks "
            "in flight are dropped); interrupt again to exit at once without a result file\n");
    else if (signals_seen >= 3) {
        say("\ndealsim: exiting at once; no result file was written\n");
        _exit(130);
    }
}

typedef struct {
    struct sigaction old_int, old_term, old_usr1;
    sigset_t both;
} signal_guard;

static void signals_install(signal_guard *g)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    atomic_store(&stop_flag, 0);
    atomic_store(&stop_usr1, 0);
    signals_seen = 0;
    sigemptyset(&g->both);
    sigaddset(&g->both, SIGINT);
    sigaddset(&g->both, SIGTERM);
    sigaddset(&g->both, SIGUSR1);
    sigaction(SIGINT, &sa, &g->old_int);
    sigaction(SIGTERM, &sa, &g->old_term);
    sigaction(SIGUSR1, &sa, &g->old_usr1);
}

/* Blocks SIGINT and SIGTERM (while the file is finished) or unblocks them;
 * a signal that came meanwhile is delivered to on_signal on unblocking. */
static void signals_defer(signal_guard *g, int defer)
{
    pthread_sigmask(defer ? SIG_BLOCK : SIG_UNBLOCK, &g->both, NULL);
}

static void signals_restore(signal_guard *g)
{
    sigaction(SIGINT, &g->old_int, NULL);
    sigaction(SIGTERM, &g->old_term, NULL);
    sigaction(SIGUSR1, &g->old_usr1, NULL);
}

/* Same file (the output replaces the file being continued)? */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* The HDF5 writer as the run's sink (the wiring the run layer cannot do). */
typedef struct {
    int force;
    const char *continued; /* the file a resume or extension continues, or NULL */
} h5_sink_ctx;

static ds_status open_h5_serial(void *ctx, const ds_model *m, const char *yaml, uint64_t trials,
                              ds_sink *out, ds_diag *diag)
{
    const h5_sink_ctx *hc = ctx;
    ds_h5out *w = NULL;
    const char *out_path = ds_model_scenario(m)->output_file;
    /* Continuing a file in place replaces it: that is what was asked. */
    const int force = hc->force || (hc->continued && same_file(hc->continued, out_path));
    ds_status st = ds_h5out_open(out_path, force, m, trials, yaml, &w, diag);
    if (st != DS_OK)
        return st;
    ds_h5out_as_sink(w, out);
    return DS_OK;
}

/* An MPI run's file (h5out.h, "MPI runs"): rank 0's writer makes the file
 * and finishes it; every rank's shared writer writes its own blocks' rows. */
typedef struct {
    ds_h5out *w;      /* rank 0 */
    ds_h5out *shared; /* every rank, when per-trial data is wanted */
} ranks_sink;

static ds_status ranks_write(void *ctx, const ds_block *blk, ds_diag *diag)
{
    return ds_h5out_write_block(((ranks_sink *)ctx)->shared, blk, diag);
}

static ds_status ranks_grow(void *ctx, uint64_t rows, ds_diag *diag)
{
    ranks_sink *rs = ctx;
    return rs->shared ? ds_h5out_grow(rs->shared, rows, diag) : DS_OK;
}

static ds_status ranks_checkpoint(void *ctx, const ds_stats *st, const ds_run_info *info,
                                  ds_diag *diag)
{
    ranks_sink *rs = ctx;
    return rs->w ? ds_h5out_checkpoint(rs->w, st, info, diag) : DS_OK;
}

static ds_status ranks_finish(void *ctx, const ds_stats *st, const ds_run_info *info,
                              ds_diag *diag)
{
    ranks_sink *rs = ctx;
    ds_status s1 = rs->shared ? ds_h5out_detach(rs->shared, diag) : DS_OK; /* collective */
    rs->shared = NULL;
    ds_status s2 = DS_OK;
    if (rs->w) {
        if (s1 == DS_OK && ds_h5out_wants_trials(rs->w))
            s1 = ds_h5out_reopen(rs->w, info->trials_done, diag);
        if (s1 == DS_OK) {
            s2 = ds_h5out_finish(rs->w, st, info, diag); /* frees w */
        } else {
            ds_h5out_abort(rs->w);
        }
    }
    free(rs);
    return s1 != DS_OK ? s1 : s2;
}

static void ranks_abort(void *ctx)
{
    ranks_sink *rs = ctx;
    if (!rs)
        return;
    (void)ds_h5out_detach(rs->shared, NULL); /* collective */
    ds_h5out_abort(rs->w);
    free(rs);
}

static ds_status open_h5_ranks(void *ctx, const ds_model *m, const char *yaml, uint64_t trials,
                               ds_sink *out, ds_diag *diag)
{
    const h5_sink_ctx *hc = ctx;
    const ds_scenario *sc = ds_model_scenario(m);
    const int per_trial = sc->per_trial_kind == DS_PER_TRIAL_ALL ||
                          (sc->per_trial_kind == DS_PER_TRIAL_LIST && sc->n_per_trial > 0) ||
                          sc->price_paths || sc->per_trial_inputs;
    if (per_trial && sc->compression >= 0)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "output.compression is not available with MPI ranks (parallel HDF5 "
                           "compresses only in collective writes); use compression: none, or "
                           "run on one rank");
    ranks_sink *rs = calloc(1, sizeof *rs);
    ds_status st = rs ? DS_OK : ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    if (st == DS_OK && ds_par_rank() == 0) {
        const char *out_path = sc->output_file;
        const int force = hc->force || (hc->continued && same_file(hc->continued, out_path));
        st = ds_h5out_open_for_ranks(out_path, force, m, trials, yaml, &rs->w, diag);
        if (st == DS_OK && per_trial)
            st = ds_h5out_suspend(rs->w, diag);
    }
    if ((st = ds_par_agree(st, diag)) != DS_OK)
        goto fail;
    if (per_trial) {
        /* The partial's name, from rank 0; every rank must see that file
         * (a node-local directory would not be) before opening it together. */
        char name[4096] = "";
        if (ds_par_rank() == 0)
            snprintf(name, sizeof name, "%s", ds_h5out_partial_path(rs->w));
        ds_par_bcast(name, sizeof name);
        if (access(name, R_OK | W_OK) != 0)
            st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                             "rank %d on this node cannot see %s (%s): the output directory "
                             "must be on a file system every rank shares",
                             ds_par_rank(), name, strerror(errno));
        if ((st = ds_par_agree(st, diag)) != DS_OK)
            goto fail;
        st = ds_h5out_attach(name, m, trials, &rs->shared, diag); /* collective */
        if ((st = ds_par_agree(st, diag)) != DS_OK)
            goto fail;
    }
    memset(out, 0, sizeof *out);
    out->ctx = rs;
    out->wants_blocks = per_trial;
    out->write_block = ranks_write;
    out->finish = ranks_finish;
    out->abort = ranks_abort;
    out->checkpoint = ranks_checkpoint;
    out->grow = ranks_grow;
    return DS_OK;
fail:
    if (rs) {
        /* A rank that opened the shared file while another failed: every
         * rank reached this point together, so the close is collective. */
        (void)ds_h5out_detach(rs->shared, NULL);
        ds_h5out_abort(rs->w);
        free(rs);
    }
    return st;
}

static ds_status open_h5_sink(void *ctx, const ds_model *m, const char *yaml, uint64_t trials,
                              ds_sink *out, ds_diag *diag)
{
    if (ds_par_size() > 1)
        return open_h5_ranks(ctx, m, yaml, trials, out, diag);
    return open_h5_serial(ctx, m, yaml, trials, out, diag);
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


/* Bytes this process may use: MemAvailable of /proc/meminfo (0 when it
 * cannot be read: no check).  DEALSIM_MEMORY_MIB overrides it (tests, or a
 * share of a node). */
static uint64_t memory_available(void)
{
    const char *env = getenv("DEALSIM_MEMORY_MIB");
    if (env && *env) {
        char *end = NULL;
        double mib = strtod(env, &end);
        if (end && !*end && mib > 0)
            return (uint64_t)(mib * 1048576.0);
    }
    FILE *f = fopen("/proc/meminfo", "r");
    uint64_t kib = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib * 1024;
}

/* The saved run a resume or an extension starts from, read from its file. */
typedef struct {
    ds_h5_file_info meta;
    ds_state *state;
    ds_session_base base;
} saved_run;

static void saved_run_clear(saved_run *sr)
{
    ds_h5_file_info_clear(&sr->meta);
    ds_state_free(sr->state);
    memset(sr, 0, sizeof *sr);
}

/* Reads FILE for --resume / extend; a file that cannot serve is exit 2. */
static ds_status saved_run_read(const char *file, saved_run *sr, ds_diag *diag)
{
    memset(sr, 0, sizeof *sr);
    int stage = 0;
    ds_status st = ds_cli_read_untrusted(file, &sr->meta, &sr->state, &stage, diag);
    if (st == DS_OK && sr->meta.format_major != DS_FILE_FORMAT_MAJOR)
        st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                         "%s has file_format_version %d.%d; this build continues only version "
                         "%d files",
                         file, sr->meta.format_major, sr->meta.format_minor,
                         DS_FILE_FORMAT_MAJOR);
    if (st != DS_OK) {
        if (diag && diag->status != DS_ERR_NOMEM)
            diag->status = DS_ERR_USAGE; /* the user handed us this file */
        saved_run_clear(sr);
        return diag ? diag->status : DS_ERR_USAGE;
    }
    ds_session_base *b = &sr->base;
    b->path = file;
    b->config = sr->meta.config;
    b->config_path = sr->meta.config_path;
    b->effective = sr->meta.effective_config;
    b->run_status = sr->meta.run_status;
    b->format_major = sr->meta.format_major;
    b->seed = sr->meta.seed;
    b->trials = sr->meta.trials;
    b->trials_requested = sr->meta.trials_requested ? sr->meta.trials_requested : sr->meta.trials;
    b->block_size = sr->meta.block_size;
    b->state = sr->state;
    return DS_OK;
}

/* `run` and `extend`: the options they share, then one session. */
static int run_command(int extend, int argc, char **argv)
{
    const char *cmd = extend ? "extend " : "run ";
    const char *path = NULL, *output = NULL, *resume = NULL;
    const char *sets[MAX_SETS + 4];
    size_t n_sets = 0;
    int threads = 0, force = 0, quiet = 0, have_n = 0, have_max = 0;
    ds_precision_target targets[MAX_TARGETS];
    size_t n_targets = 0;
    char precision_text[256] = "";
    uint64_t n_more = 0;
    double ckpt = 0.0;
    char set_trials[64] = "", set_seed[64] = "", set_sampling[64] = "";
    char *set_output = NULL;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(extend ? ds_cli_usage_extend : ds_cli_usage_run, stdout);
            return 0;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--trials")) {
            if (!ds_cli_parse_u64(v, &u) || u == 0)
                return ds_cli_usage_error(cmd, "-n needs a whole number >= 1 (e.g. 1000000 or "
                                               "1e6), found '%s'",
                                          v ? v : "");
            snprintf(set_trials, sizeof set_trials, "trials=%llu", (unsigned long long)u);
            n_more = u;
            have_n = 1;
            ++i;
        } else if (!strcmp(a, "--seed") && !extend) {
            if (ds_cli_opt_u64(cmd, a, v, "in 0..2^64-1", &u))
                return 2;
            snprintf(set_seed, sizeof set_seed, "seed=%llu", (unsigned long long)u);
            ++i;
        } else if (!strcmp(a, "--sampling") && !extend) {
            if (ds_sampling_parse(v) < 0)
                return ds_cli_usage_error(cmd, "--sampling needs monte_carlo or latin_hypercube, "
                                               "found '%s'",
                                          v ? v : "");
            snprintf(set_sampling, sizeof set_sampling, "sampling=%s", v);
            ++i;
        } else if (!strcmp(a, "--threads")) {
            if (!ds_cli_parse_int(v, 1, 4096, &threads))
                return ds_cli_usage_error(cmd, "--threads needs a whole number in 1..4096, "
                                               "found '%s'",
                                          v ? v : "");
            ++i;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!v || !*v)
                return ds_cli_usage_error(cmd, "-o needs a FILE");
            output = v;
            ++i;
        } else if (!strcmp(a, "--set") && !extend) {
            if (!v)
                return ds_cli_usage_error(cmd, "--set needs KEY=VALUE");
            if (n_sets == MAX_SETS)
                return ds_cli_usage_error(cmd, "too many --set (at most 256)");
            sets[n_sets++] = v;
            ++i;
        } else if (!strcmp(a, "--resume") && !extend) {
            if (!v || !*v)
                return ds_cli_usage_error(cmd, "--resume needs the FILE of an interrupted run");
            resume = v;
            ++i;
        } else if (!strcmp(a, "--checkpoint-every")) {
            char *end = NULL;
            ckpt = v ? strtod(v, &end) : -1.0;
            if (!v || !*v || *end || !(ckpt > 0.0 && ckpt < 1e9))
                return ds_cli_usage_error(cmd, "--checkpoint-every needs SECONDS > 0, found '%s'",
                                          v ? v : "");
            ++i;
        } else if (!strcmp(a, "--precision")) {
            if (n_targets == MAX_TARGETS)
                return ds_cli_usage_error(cmd, "too many --precision (at most %d)", MAX_TARGETS);
            if (parse_target(v, &targets[n_targets]))
                return ds_cli_usage_error(cmd, "--precision needs OUTPUT:TOL or OUTPUT:TOL%% with "
                                               "a scalar output and TOL > 0 (e.g. total:0.05, "
                                               "target_met:0.001, gpu_hours:1%%), found '%s'",
                                          v ? v : "");
            size_t len = strlen(precision_text);
            snprintf(precision_text + len, sizeof precision_text - len, "%s%s", len ? ";" : "", v);
            n_targets++;
            ++i;
        } else if (!strcmp(a, "--max-trials") && !extend) {
            if (!ds_cli_parse_u64(v, &u) || u == 0)
                return ds_cli_usage_error(cmd, "--max-trials needs a whole number >= 1, found '%s'",
                                          v ? v : "");
            snprintf(set_trials, sizeof set_trials, "trials=%llu", (unsigned long long)u);
            have_max = 1;
            ++i;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return ds_cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return ds_cli_usage_error(cmd, "unexpected argument '%s' (one %s at a time)", a,
                                      extend ? "file" : "scenario");
        }
    }
    if (extend && !path)
        return ds_cli_usage_error(cmd, "missing FILE (a complete result file)");
    if (extend && !have_n)
        return ds_cli_usage_error(cmd, "missing -n MORE (the trials to add)");
    if (!extend && !path && !resume)
        return ds_cli_usage_error(cmd, "missing SCENARIO (or --resume FILE)");
    if (have_n && have_max)
        return ds_cli_usage_error(cmd, "-n and --max-trials say the same thing; give one");
    if (have_max && !n_targets)
        return ds_cli_usage_error(cmd, "--max-trials goes with --precision (else use -n)");
    if (resume && have_max)
        return ds_cli_usage_error(cmd, "--resume keeps the run's --max-trials and --precision "
                                       "targets; give neither");
    if (resume && have_n)
        return ds_cli_usage_error(cmd, "--resume continues to the trials the run asked for; "
                                       "-n is not allowed (use 'dealsim extend' later)");
    const char *base_file = extend ? path : resume;
    const int root = ds_par_rank() == 0; /* MPI: only rank 0 prints */
    if (!root)
        quiet = 1;
    /* -n, --seed and -o become overrides after the user's own --set (so the
     * user's --set:N positions hold, and the options win), which puts them
     * in the effective scenario the file records. */
    if (set_trials[0] && !extend)
        sets[n_sets++] = set_trials;
    if (set_seed[0])
        sets[n_sets++] = set_seed;
    if (set_sampling[0])
        sets[n_sets++] = set_sampling;
    if (output) {
        if (!(set_output = yaml_set_string("output.file", output))) {
            fprintf(stderr, "dealsim: error: out of memory\n");
            return 1;
        }
        sets[n_sets++] = set_output;
    }

    ds_diag diag;
    ds_diag_clear(&diag);
    signal_guard sg;
    signals_install(&sg);
    saved_run sr;
    memset(&sr, 0, sizeof sr);
    ds_session *s = NULL;
    int rc = 0;
    ds_status st = DS_OK;
    if (base_file) {
        st = saved_run_read(base_file, &sr, &diag);
        sr.base.more = n_more;
        if (st == DS_OK && resume)
            st = resume_targets(base_file, sr.meta.precision, targets, &n_targets, precision_text,
                                sizeof precision_text, &diag);
    }
    progress_state ps = {isatty(STDERR_FILENO), quiet, 0.0, 0};
    h5_sink_ctx hc = {force, base_file};
    ds_session_options so;
    memset(&so, 0, sizeof so);
    so.mode = extend ? DS_SESSION_EXTEND : resume ? DS_SESSION_RESUME : DS_SESSION_NEW;
    so.base = base_file ? &sr.base : NULL;
    so.scenario_path = extend ? NULL : path;
    so.sets = sets;
    so.n_sets = n_sets;
    so.threads = threads;
    so.progress = on_progress;
    so.progress_ctx = &ps;
    so.stop = &stop_flag;
    so.open_sink = open_h5_sink;
    so.sink_ctx = &hc;
    so.mpi_ranks = 1;
    so.checkpoint_every = ckpt;
    so.targets = targets;
    so.n_targets = n_targets;
    so.precision_text = precision_text;
    so.memory_available = memory_available();
    if (st == DS_OK)
        st = ds_session_open(&so, &s, &diag);
    if (st == DS_OK && ds_par_max_int(atomic_load(&stop_flag))) {
        /* Interrupted before the first trial: nothing worth a file. */
        if (root)
            fprintf(stderr, "dealsim: interrupted before the first trial; no file written\n");
        ds_session_free(s);
        signals_restore(&sg);
        saved_run_clear(&sr);
        free(set_output);
        return 130;
    }
    if (st == DS_OK && root) {
        uint64_t bound = 0;
        int used = 0;
        const int asked = ds_session_threads_lowered(s, &used, &bound);
        if (asked)
            fprintf(stderr,
                    "dealsim: note: %d threads would need more memory than is available; "
                    "running with %d (at most %.0f MiB)\n",
                    asked, used,
                    (double)bound / 1048576.0);
    }
    if (st == DS_OK)
        st = ds_session_run(s, &diag);
    if (st == DS_OK) {
        const ds_run_result *res = ds_session_result(s);
        if (ps.tty && !quiet && res->interrupted)
            fputc('\n', stderr);
        signals_defer(&sg, 1);
        st = ds_session_finish(s, &diag);
        signals_defer(&sg, 0);
    }
    signals_restore(&sg);
    const int stop_code = atomic_load(&stop_usr1) ? DS_EXIT_CHECKPOINTED : 130;
    if (st != DS_OK) {
        rc = st == DS_ERR_SCENARIO ? ds_cli_report_load(&diag) : ds_cli_report(&diag);
    } else if (ds_session_stopped_early(s)) {
        if (root)
            fprintf(stderr, "dealsim: interrupted while rewriting the per-trial rows of the saved "
                        "blocks; %s is unchanged\n",
                base_file);
        rc = stop_code;
    } else {
        const ds_scenario *sc = ds_session_scenario(s);
        const ds_run_info *info = ds_session_info(s);
        if (!quiet)
            ds_cli_print_summary(sc, ds_session_stats(s), info, sc->output_file);
        /* The file is written either way; a lost summary still fails the run. */
        rc = ds_cli_stdout_status(0);
        if (info->interrupted) {
            if (root)
                fprintf(stderr, "dealsim: interrupted after %llu of %llu trials; %s holds them "
                            "(run_status = interrupted; continue with 'dealsim run --resume "
                            "%s')\n",
                    (unsigned long long)info->trials_done, (unsigned long long)sc->trials,
                    sc->output_file, sc->output_file);
            rc = stop_code;
        }
    }
    ds_session_free(s);
    saved_run_clear(&sr);
    free(set_output);
    return rc;
}

int ds_cli_run(int argc, char **argv) { return run_command(0, argc, argv); }
int ds_cli_extend(int argc, char **argv) { return run_command(1, argc, argv); }
