/* sim/run/session.c
 * The run session: load -> model -> summaries -> sink -> blocks -> finish.
 * Licence: see LICENSE at the top of the repository.
 *
 * What must stay true: every object the session creates is freed by
 * ds_session_free whatever step failed; the sink is either finished or
 * aborted exactly once; the run facts (ds_run_info) say what ran.
 */
#define _POSIX_C_SOURCE 200809L

#include "dealsim/session.h"

#include "dealsim/par.h"
#include "dealsim/sha256.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ds_session {
    ds_session_options opt;
    ds_scenario *sc;
    ds_model *m;
    ds_stats *st;
    char *yaml;
    ds_sink sink;
    int have_sink;  /* opened, neither finished nor aborted */
    ds_run_result res;   /* this session's blocks (not the saved ones) */
    ds_run_info info;
    uint64_t blocks0, trials0; /* already summarized by the saved state */
    int precision_met;   /* stopped at a check where every target was met */
    int threads_asked;   /* > 0 when the memory bound lowered the threads */
    uint64_t bound;      /* the memory bound with the threads used */
    int replay_stopped;  /* stopped while rewriting the saved blocks' rows */
};

static void utc_now(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* MPI: every rank's outcome of a step becomes everybody's (par.h). */
static ds_status collective(ds_status st, ds_diag *diag) { return ds_par_agree(st, diag); }

/* MPI: the same scenario on every rank, or an error naming the rank. */
static ds_status same_everywhere(const char *text, const char *what, ds_diag *diag)
{
    if (ds_par_size() == 1)
        return DS_OK;
    char mine[DS_SHA256_HEX], root[DS_SHA256_HEX];
    ds_sha256_hex(text ? text : "", text ? strlen(text) : 0, mine);
    memcpy(root, mine, sizeof root);
    ds_par_bcast(root, sizeof root);
    if (memcmp(root, mine, sizeof mine) != 0)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "the %s differs from rank 0's (every rank must read the same "
                           "scenario, seed and options)",
                           what);
    return DS_OK;
}

/* Replaces the scenario's verbatim text and path with the saved run's, so
 * the new file's /config is the old one byte for byte. */
static ds_status adopt_config(ds_scenario *sc, const ds_session_base *b, ds_diag *diag)
{
    char *src = b->config ? strdup(b->config) : NULL;
    char *path = b->config_path ? strdup(b->config_path) : NULL;
    if ((b->config && !src) || (b->config_path && !path)) {
        free(src);
        free(path);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    free(sc->source);
    free(sc->path);
    sc->source = src;
    sc->path = path;
    return DS_OK;
}

/* The scenario as YAML with trials and the output path set to fixed values,
 * to compare two scenarios for "the same run". */
static ds_status normalized_yaml(const char *text, const char *scenario_path,
                                 const char *const *sets, size_t n_sets, char **out,
                                 ds_diag *diag)
{
    const char **all = calloc(n_sets + 2, sizeof *all);
    if (!all)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < n_sets; ++i)
        all[i] = sets[i];
    all[n_sets] = "trials=1";
    all[n_sets + 1] = "output.file=\"-\"";
    ds_scenario *sc = NULL;
    ds_status st = text ? ds_scenario_load_string(text, strlen(text), "saved scenario", all,
                                                  n_sets + 2, &sc, diag)
                        : ds_scenario_load(scenario_path, all, n_sets + 2, &sc, diag);
    free(all);
    if (st == DS_OK)
        st = ds_scenario_to_yaml(sc, out, diag);
    ds_scenario_free(sc);
    return st;
}

static ds_status open_base(ds_session *s, ds_diag *diag)
{
    const ds_session_options *opt = &s->opt;
    const ds_session_base *b = opt->base;
    const int extend = opt->mode == DS_SESSION_EXTEND;
    if (b->block_size != DS_BLOCK_SIZE)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "%s was run with blocks of %llu trials; this build uses %u, so its "
                           "streams differ and it cannot be continued",
                           b->path, (unsigned long long)b->block_size, DS_BLOCK_SIZE);
    const int complete = b->run_status && !strcmp(b->run_status, "complete");
    if (!extend && complete)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "%s is complete (%llu trials): nothing to resume; use "
                           "'dealsim extend %s -n MORE' to add trials",
                           b->path, (unsigned long long)b->trials, b->path);
    if (extend && !complete)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "%s is not complete (run_status %s): resume it first with "
                           "'dealsim run --resume %s'",
                           b->path, b->run_status ? b->run_status : "?", b->path);
    if (!extend && b->trials % DS_BLOCK_SIZE != 0)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "%s holds %llu trials, not a whole number of blocks: it is damaged",
                           b->path, (unsigned long long)b->trials);
    /* The scenario as it ran, with the user's overrides (output path, or
     * for extend the new total) after it. */
    const char **sets = calloc(opt->n_sets + 1, sizeof *sets);
    char trials_set[64];
    if (!sets)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < opt->n_sets; ++i)
        sets[n++] = opt->sets[i];
    if (extend) {
        if (b->more > UINT64_MAX - b->trials) {
            free(sets);
            return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0, "-n %llu: too many trials",
                               (unsigned long long)b->more);
        }
        snprintf(trials_set, sizeof trials_set, "trials=%llu",
                 (unsigned long long)(b->trials + b->more));
        sets[n++] = trials_set;
    }
    ds_status st = ds_scenario_load_string(b->effective, strlen(b->effective), b->path, sets, n,
                                           &s->sc, diag);
    free(sets);
    if (st != DS_OK)
        return st;
    if (s->sc->seed != b->seed)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "%s was run with seed %llu, not %llu: a run is continued with its own "
                           "seed",
                           b->path, (unsigned long long)b->seed,
                           (unsigned long long)s->sc->seed);
    if (!extend && s->sc->trials != b->trials_requested)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "%s asked for %llu trials; a resumed run keeps them (use extend to "
                           "add more once it is complete)",
                           b->path, (unsigned long long)b->trials_requested);
    if (opt->scenario_path) {
        char *mine = NULL, *theirs = NULL;
        st = normalized_yaml(NULL, opt->scenario_path, opt->sets, opt->n_sets, &mine, diag);
        if (st == DS_OK)
            st = normalized_yaml(b->effective, NULL, opt->sets, opt->n_sets, &theirs, diag);
        if (st == DS_OK && strcmp(mine, theirs) != 0)
            st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                             "%s was run from another scenario than %s (their effective "
                             "scenarios differ beyond trials and output file)",
                             b->path, opt->scenario_path);
        free(mine);
        free(theirs);
        if (st != DS_OK)
            return st;
    }
    return adopt_config(s->sc, b, diag);
}

/* Everything before the sink, on this rank alone (no collective call, so
 * that a rank failing half-way cannot leave the others waiting). */
static ds_status session_prepare(ds_session *s, ds_diag *diag)
{
    const ds_session_options *opt = &s->opt;
    ds_status st;
    if (opt->mode == DS_SESSION_NEW)
        st = ds_scenario_load(opt->scenario_path, opt->sets, opt->n_sets, &s->sc, diag);
    else if (!opt->base)
        st = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "session: no saved run to continue");
    else
        st = open_base(s, diag);
    if (st != DS_OK) {
        /* A scenario that cannot be read is the user's input error. */
        if (st == DS_ERR_IO) {
            st = DS_ERR_SCENARIO;
            if (diag)
                diag->status = st;
        }
        return st;
    }
    if ((st = ds_scenario_to_yaml(s->sc, &s->yaml, diag)) != DS_OK ||
        (st = ds_model_create(s->sc, &s->m, diag)) != DS_OK)
        return st;
    if (opt->mode == DS_SESSION_NEW) {
        if (!(s->st = ds_stats_alloc(s->m))) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (summaries)");
            return st;
        }
    } else {
        ds_stats *probe = ds_stats_alloc(s->m);
        if (!probe) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (summaries)");
            return st;
        }
        ds_stats_shape shape = ds_stats_shape_of(probe);
        ds_stats_free(probe);
        if ((st = ds_stats_import(&shape, opt->base->state, &s->st, diag)) != DS_OK) {
            /* A file the user handed us that cannot be continued: exit 2. */
            char why[DS_DIAG_MSG_MAX];
            snprintf(why, sizeof why, "%s", diag ? diag->msg : "");
            return ds_diag_set(diag, st == DS_ERR_NOMEM ? st : DS_ERR_USAGE, NULL, 0, 0,
                               "%s: its saved state cannot be used: %.900s", opt->base->path,
                               why);
        }
        if (s->st->trials != opt->base->trials) {
            st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                             "%s says it holds %llu trials but its saved state %llu: it is "
                             "damaged",
                             opt->base->path, (unsigned long long)opt->base->trials,
                             (unsigned long long)s->st->trials);
            return st;
        }
        if (opt->mode == DS_SESSION_EXTEND && s->st->has_tail) {
            /* The saved run ended inside block b: take that short block out
             * of the summaries (recomputed: it is a function of scenario,
             * seed and block), so the run below redoes it at full size. */
            const uint64_t b = s->st->tail.index, n_old = s->st->tail.trials;
            ds_block *blk = ds_block_alloc(s->m);
            if (!blk) {
                st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (block)");
                return st;
            }
            ds_model_run_block(s->m, b, (size_t)n_old, blk);
            st = ds_stats_drop_tail(s->st, blk, diag);
            ds_block_free(blk);
            if (st != DS_OK)
                return st;
        }
        s->blocks0 = s->st->blocks;
        s->trials0 = s->st->trials;
    }
    return DS_OK;
}

/* The thread count whose memory bound (stats.h) fits what the run may use:
 * the one asked for, or fewer (said in threads_asked), or a refusal when
 * one thread does not fit.  Before anything is created. */
static ds_status fit_memory(ds_session *s, ds_diag *diag)
{
    int t = s->opt.threads > 0 ? s->opt.threads : ds_driver_max_threads();
    if (t < 1)
        t = 1;
    ds_stats_memory mb = ds_stats_memory_bound(s->m, t);
    s->bound = mb.total;
    const uint64_t avail = s->opt.memory_available;
    if (!avail || mb.total <= avail)
        return DS_OK;
    const int asked = t;
    while (t > 1 && ds_stats_memory_bound(s->m, t).total > avail)
        --t;
    mb = ds_stats_memory_bound(s->m, t);
    if (mb.total > avail)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "this run needs up to %.0f MiB (%.0f MiB a thread + %.0f MiB shared) "
                           "but only %.0f MiB are available: shorten compute.horizon_months or "
                           "run on a larger machine",
                           (double)mb.total / 1048576.0, (double)mb.per_thread / 1048576.0,
                           (double)mb.shared / 1048576.0, (double)avail / 1048576.0);
    s->threads_asked = asked;
    s->opt.threads = t;
    s->bound = mb.total;
    return DS_OK;
}

int ds_session_threads_lowered(const ds_session *s, int *threads, uint64_t *bound)
{
    if (threads)
        *threads = s->opt.threads;
    if (bound)
        *bound = s->bound;
    return s->threads_asked;
}

ds_status ds_session_open(const ds_session_options *opt, ds_session **out, ds_diag *diag)
{
    *out = NULL;
    ds_session *s = calloc(1, sizeof *s);
    if (!s)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (session)");
    s->opt = *opt;
    /* With MPI ranks each step ends with every rank agreeing on its outcome. */
    ds_status st = collective(session_prepare(s, diag), diag);
    if (st == DS_OK)
        st = collective(fit_memory(s, diag), diag);
    if (st == DS_OK)
        st = collective(same_everywhere(s->yaml, "effective scenario", diag), diag);
    if (st == DS_OK)
        st = collective(same_everywhere(s->sc->source, "scenario file", diag), diag);
    if (st == DS_OK && ds_par_rank() > 0 && opt->mode != DS_SESSION_NEW) {
        /* The saved blocks are rank 0's to merge once; the others start empty. */
        ds_stats_free(s->st);
        if (!(s->st = ds_stats_alloc(s->m)))
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (summaries)");
        st = collective(st, diag);
    } else if (st == DS_OK && opt->mode != DS_SESSION_NEW) {
        st = collective(DS_OK, diag);
    }
    if (st != DS_OK)
        goto fail;
    utc_now(s->info.created_utc, sizeof s->info.created_utc);
    if (opt->open_sink) {
        st = collective(opt->open_sink(opt->sink_ctx, s->m, s->yaml, s->sc->trials, &s->sink,
                                       diag),
                        diag);
        if (st != DS_OK)
            goto fail;
        s->have_sink = 1;
    }
    *out = s;
    return DS_OK;
fail:
    ds_session_free(s);
    return st;
}

/* Progress over the whole run, from the driver's progress over a range. */
typedef struct {
    ds_session *s;
    uint64_t base;  /* trials committed before this range */
    uint64_t total; /* trials of the run */
    double t_base;  /* seconds run before this range */
} session_progress;

static void session_on_progress(void *ctx, uint64_t done, uint64_t total, double elapsed)
{
    (void)total;
    session_progress *sp = ctx;
    sp->s->opt.progress(sp->s->opt.progress_ctx, sp->base + done, sp->total,
                        sp->t_base + elapsed);
}

/* Blocks per round: large enough that a range's set-up (a writer thread,
 * fresh per-thread sketches) is noise, small enough for a prompt check
 * between rounds (checkpoints, MPI stops). */
#define DS_SESSION_ROUND_BLOCKS_PER_THREAD 32u

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The run facts as of now: the saved trials plus this session's. */
static void fill_info(ds_session *s, int interrupted)
{
    ds_run_info *info = &s->info;
    info->seed = s->sc->seed;
    info->trials_requested = s->sc->trials;
    info->trials_done = s->trials0 + s->res.trials_done; /* every rank's (run_blocks) */
    info->interrupted = interrupted;
    info->threads = s->res.threads;
    info->mpi_ranks = ds_par_size();
    info->wall_seconds = s->res.wall_seconds;
    utc_now(info->finished_utc, sizeof info->finished_utc);
    snprintf(info->precision, sizeof info->precision, "%s",
             s->opt.n_targets && s->opt.precision_text ? s->opt.precision_text : "");
    if (s->opt.n_targets && !s->precision_met && !interrupted)
        snprintf(info->precision_outcome, sizeof info->precision_outcome,
                 "not met: the %llu trials asked for (--max-trials) were run first",
                 (unsigned long long)s->sc->trials);
}

uint64_t ds_precision_next_check(uint64_t n)
{
    if (n < DS_PRECISION_FINE_FROM) {
        uint64_t c = DS_PRECISION_FIRST_CHECK;
        while (c <= n)
            c *= 2;
        return c;
    }
    /* n in [2^k, 2^(k+1)): the next multiple of 2^k / FINE_STEPS. */
    uint64_t top = n;
    while (top & (top - 1))
        top &= top - 1; /* 2^k, the highest bit of n */
    const uint64_t step = top / DS_PRECISION_FINE_STEPS;
    const uint64_t q = n / step + 1;
    return q > UINT64_MAX / step ? UINT64_MAX : q * step;
}

/* Whether every target is met by the finalized summaries `st`. */
static int targets_met(const ds_session *s, const ds_stats *st)
{
    for (size_t i = 0; i < s->opt.n_targets; ++i) {
        const ds_precision_target *t = &s->opt.targets[i];
        if ((size_t)t->output >= st->n_outputs)
            return 0;
        const ds_moments *mo = &st->out[t->output];
        double se = ds_stats_stderr(st, (size_t)t->output);
        double v = t->relative ? se / fabs(mo->mean) : se;
        if (!(v <= t->tol)) /* NaN (too few values) is not met */
            return 0;
        /* An unreliable standard error (latin_hypercube: fewer than
         * DS_STDERR_MIN_BLOCKS full blocks) never stops a run. */
        if (!ds_stats_stderr_reliable(st, (size_t)t->output))
            return 0;
    }
    return 1;
}

/* A state packed (stats.h) from accumulators, or rebuilt from a packed one. */
static ds_status pack_stats(const ds_stats *s, void **blob, size_t *len, ds_diag *diag)
{
    ds_state *state = NULL;
    ds_status st = ds_stats_export(s, &state);
    if (st == DS_OK)
        st = ds_state_pack(state, blob, len, diag);
    else
        ds_diag_set(diag, st, NULL, 0, 0, "out of memory (exporting the summaries)");
    ds_state_free(state);
    return st;
}

static ds_status unpack_stats(const ds_stats_shape *shape, const void *blob, size_t len,
                              ds_stats **out, ds_diag *diag)
{
    ds_state *rs = NULL;
    ds_status st = ds_state_unpack(blob, len, &rs, diag);
    if (st == DS_OK)
        st = ds_stats_import(shape, rs, out, diag);
    ds_state_free(rs);
    return st;
}

/* MPI: on rank 0, a new accumulator holding every rank's blocks (`mine` is
 * this rank's own, left as it is); elsewhere NULL.  Collective.  A binomial
 * reduction tree: in step s (1, 2, 4, ...) rank r with r % 2s == s sends its
 * merged state to r - s, so no rank ever holds more than log2(R) states at
 * once and rank 0 receives log2(R) messages, not R.  The merge is exact
 * (stats.h), so this grouping gives the bits of any other. */
static ds_status gather_stats(ds_stats *mine, ds_stats **merged, ds_diag *diag)
{
    *merged = NULL;
    const int rank = ds_par_rank(), size = ds_par_size();
    const ds_stats_shape shape = ds_stats_shape_of(mine);
    void *blob = NULL;
    size_t len = 0;
    ds_stats *acc = NULL;
    ds_status st = pack_stats(mine, &blob, &len, diag);
    if (st == DS_OK)
        st = unpack_stats(&shape, blob, len, &acc, diag); /* a copy to merge into */
    free(blob);
    blob = NULL;
    for (int step = 1; step < size; step *= 2) {
        if (rank % (2 * step) == step) {
            /* Send what this rank holds to its parent, then it is done.  A
             * rank that failed sends an empty message (its parent fails). */
            if (st == DS_OK)
                st = pack_stats(acc, &blob, &len, diag);
            ds_par_send(rank - step, st == DS_OK ? blob : NULL, st == DS_OK ? len : 0);
            free(blob);
            blob = NULL;
            break;
        }
        if (rank % (2 * step) == 0 && rank + step < size) {
            void *in = NULL;
            size_t n = 0;
            ds_status rs = ds_par_recv(rank + step, &in, &n, diag);
            ds_stats *one = NULL;
            if (st == DS_OK && rs == DS_OK && n == 0)
                rs = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                                 "rank %d sent no summaries", rank + step);
            if (st == DS_OK && rs == DS_OK)
                rs = unpack_stats(&shape, in, n, &one, diag);
            if (st == DS_OK && rs == DS_OK && (rs = ds_stats_merge(acc, one)) != DS_OK)
                ds_diag_set(diag, rs, NULL, 0, 0, "cannot merge rank %d's summaries", rank + step);
            if (st == DS_OK)
                st = rs;
            ds_stats_free(one);
            free(in);
        }
    }
    if (rank == 0 && st == DS_OK)
        *merged = acc;
    else
        ds_stats_free(acc);
    st = collective(st, diag);
    if (st != DS_OK && rank == 0) {
        ds_stats_free(*merged);
        *merged = NULL;
    }
    return st;
}

/* At a check point: are the targets met on blocks [0, n)?  Collective. */
static ds_status check_targets(ds_session *s, int *met, ds_diag *diag)
{
    ds_status st = DS_OK;
    *met = 0;
    if (ds_par_size() == 1) {
        st = ds_stats_finalize(s->st, diag);
        *met = st == DS_OK && targets_met(s, s->st);
        return st;
    }
    ds_stats *all = NULL;
    if ((st = gather_stats(s->st, &all, diag)) != DS_OK)
        return st;
    if (ds_par_rank() == 0) {
        st = ds_stats_finalize(all, diag);
        *met = st == DS_OK && targets_met(s, all);
    }
    ds_stats_free(all);
    st = collective(st, diag);
    ds_par_bcast(met, sizeof *met);
    return st;
}

static ds_status write_checkpoint(ds_session *s, ds_diag *diag)
{
    ds_status st;
    if (ds_par_size() == 1) {
        st = ds_stats_finalize(s->st, diag);
        if (st != DS_OK)
            return st;
        fill_info(s, 1);
        return s->sink.checkpoint(s->sink.ctx, s->st, &s->info, diag);
    }
    ds_stats *all = NULL;
    if ((st = gather_stats(s->st, &all, diag)) != DS_OK)
        return st;
    if (ds_par_rank() == 0) {
        st = ds_stats_finalize(all, diag);
        fill_info(s, 1);
        if (st == DS_OK)
            st = s->sink.checkpoint(s->sink.ctx, all, &s->info, diag);
    }
    ds_stats_free(all);
    return collective(st, diag);
}

/* Runs blocks [first, end) in rounds; replay: per-trial rows only.  With
 * MPI ranks each round is split into one contiguous share a rank; the
 * ranks stop, checkpoint or fail together, only between rounds. */
static ds_status run_blocks(ds_session *s, ds_driver *d, uint64_t first, uint64_t end,
                            int replay, int *stopped, ds_diag *diag)
{
    const int ranks = ds_par_size(), rank = ds_par_rank();
    const uint64_t trials = s->sc->trials;
    const uint64_t threads = (uint64_t)ds_par_max_int(ds_driver_threads(d));
    const uint64_t per = s->opt.round_blocks ? s->opt.round_blocks
                                             : DS_SESSION_ROUND_BLOCKS_PER_THREAD;
    const uint64_t round = threads * per * (uint64_t)ranks;
    session_progress sp = {s, s->trials0 + s->res.trials_done, trials, s->res.wall_seconds};
    double last_ckpt = now_seconds();
    const int can_ckpt = !replay && s->have_sink && s->sink.checkpoint &&
                         s->opt.checkpoint_every > 0;
    *stopped = 0;
    uint64_t next = first;
    const int precise = !replay && s->opt.n_targets > 0;
    while (next < end) {
        uint64_t len = end - next < round ? end - next : round;
        /* Rounds end at every check point, so a check sees exactly blocks
         * [0, check) and nothing past it is ever computed. */
        const uint64_t check = precise ? ds_precision_next_check(next) : UINT64_MAX;
        if (precise && check - next < len)
            len = check - next;
        const uint64_t lo = next + len * (uint64_t)rank / (uint64_t)ranks;
        const uint64_t hi = next + len * (uint64_t)(rank + 1) / (uint64_t)ranks;
        ds_status st = DS_OK;
        if (s->have_sink && s->sink.grow) {
            const uint64_t rows = (next + len) * DS_BLOCK_SIZE;
            st = collective(s->sink.grow(s->sink.ctx, rows < trials ? rows : trials, diag), diag);
            if (st != DS_OK)
                return st;
        }
        ds_run_options ro;
        memset(&ro, 0, sizeof ro);
        ro.trials = trials;
        ro.first_block = lo;
        ro.n_blocks = hi - lo;
        /* One rank: progress as blocks commit.  Ranks: rank 0 after each round. */
        ro.progress = s->opt.progress && !replay && ranks == 1 ? session_on_progress : NULL;
        ro.progress_ctx = &sp;
        /* Ranks must not stop on their own (signals reach them at different
         * moments): the stop is agreed between rounds. */
        ro.stop = ranks == 1 ? s->opt.stop : NULL;
        ro.replay = replay;
        ds_run_result r;
        memset(&r, 0, sizeof r);
        if (hi > lo)
            st = ds_driver_run(d, &ro, s->st, &r, diag);
        st = collective(st, diag);
        if (st != DS_OK)
            return st;
        uint64_t done = r.trials_done, blocks = r.blocks_done;
        if (ranks > 1) {
            done = ds_par_sum_u64(done);
            blocks = ds_par_sum_u64(blocks);
        }
        if (!replay) {
            s->res.trials_done += done;
            s->res.blocks_done += blocks;
        }
        s->res.wall_seconds += r.wall_seconds;
        sp.base = s->trials0 + s->res.trials_done;
        sp.t_base = s->res.wall_seconds;
        /* A stop that comes after the last round stops nothing. */
        int stop = ranks == 1 ? r.interrupted
                              : ds_par_max_int(s->opt.stop && atomic_load(s->opt.stop)) &&
                                    next + len < end;
        if (stop) {
            *stopped = 1;
            return DS_OK;
        }
        next += len;
        if (precise && next == check && next < end) {
            int met = 0;
            if ((st = check_targets(s, &met, diag)) != DS_OK)
                return st;
            if (met) {
                s->precision_met = 1;
                snprintf(s->info.precision_outcome, sizeof s->info.precision_outcome,
                         "met at %llu trials (%llu blocks)",
                         (unsigned long long)(next * DS_BLOCK_SIZE), (unsigned long long)next);
                return DS_OK;
            }
        }
        if (ranks > 1 && rank == 0 && s->opt.progress && !replay)
            s->opt.progress(s->opt.progress_ctx, sp.base, trials, sp.t_base);
        if (can_ckpt && next < end) {
            int due = now_seconds() - last_ckpt >= s->opt.checkpoint_every;
            ds_par_bcast(&due, sizeof due); /* rank 0's clock decides */
            if (due) {
                if ((st = write_checkpoint(s, diag)) != DS_OK)
                    return st;
                last_ckpt = now_seconds();
            }
        }
    }
    return DS_OK;
}

ds_status ds_session_run(ds_session *s, ds_diag *diag)
{
    ds_driver *d = NULL;
    ds_status st = collective(ds_driver_create(s->m, s->opt.threads,
                                               s->have_sink ? &s->sink : NULL, &d, diag),
                              diag);
    if (st != DS_OK) {
        ds_driver_free(d);
        return st;
    }
    const uint64_t trials = s->sc->trials;
    const uint64_t nblocks = trials / DS_BLOCK_SIZE + (trials % DS_BLOCK_SIZE != 0);
    memset(&s->res, 0, sizeof s->res);
    s->res.threads = ds_driver_threads(d);
    int stopped = 0;
    /* The saved blocks' per-trial rows are a function of (scenario, seed,
     * block): regenerate them rather than trust a copy. */
    if (s->blocks0 > 0 && s->have_sink && s->sink.wants_blocks) {
        st = run_blocks(s, d, 0, s->blocks0, 1, &stopped, diag);
        if (st == DS_OK && stopped)
            s->replay_stopped = 1;
    }
    if (st == DS_OK && !stopped)
        st = run_blocks(s, d, s->blocks0, nblocks, 0, &stopped, diag);
    s->res.interrupted = stopped;
    ds_driver_free(d);
    return st;
}

int ds_session_stopped_early(const ds_session *s) { return s->replay_stopped; }

ds_status ds_session_finish(ds_session *s, ds_diag *diag)
{
    if (s->replay_stopped) {
        /* Nothing new to keep: the file being continued stays as it was. */
        if (s->have_sink && s->sink.abort)
            s->sink.abort(s->sink.ctx);
        s->have_sink = 0;
        fill_info(s, 1);
        return DS_OK;
    }
    fill_info(s, s->res.interrupted);
    ds_status st = DS_OK;
    if (ds_par_size() > 1) {
        /* Rank 0's summaries become every rank's blocks merged. */
        ds_stats *all = NULL;
        if ((st = gather_stats(s->st, &all, diag)) != DS_OK)
            return st;
        if (all) {
            ds_stats_free(s->st);
            s->st = all;
        }
    }
    /* The result views: the fold of the merge tree over blocks [0, n). */
    if (ds_par_rank() == 0)
        st = ds_stats_finalize(s->st, diag);
    if ((st = collective(st, diag)) != DS_OK)
        return st;
    if (!s->have_sink)
        return DS_OK;
    s->have_sink = 0; /* finish frees the sink, also on failure */
    return collective(s->sink.finish(s->sink.ctx, s->st, &s->info, diag), diag);
}

void ds_session_free(ds_session *s)
{
    if (!s)
        return;
    if (s->have_sink && s->sink.abort)
        s->sink.abort(s->sink.ctx);
    free(s->yaml);
    ds_stats_free(s->st);
    ds_model_free(s->m);
    ds_scenario_free(s->sc);
    free(s);
}

const ds_scenario *ds_session_scenario(const ds_session *s) { return s->sc; }
const ds_stats *ds_session_stats(const ds_session *s) { return s->st; }
const ds_run_result *ds_session_result(const ds_session *s) { return &s->res; }
const ds_run_info *ds_session_info(const ds_session *s) { return &s->info; }
