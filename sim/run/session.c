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
    int replay_stopped;  /* stopped while rewriting the saved blocks' rows */
};

static void utc_now(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
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
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
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

ds_status ds_session_open(const ds_session_options *opt, ds_session **out, ds_diag *diag)
{
    *out = NULL;
    ds_session *s = calloc(1, sizeof *s);
    if (!s)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (session)");
    s->opt = *opt;
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
        goto fail;
    }
    if ((st = ds_scenario_to_yaml(s->sc, &s->yaml, diag)) != DS_OK ||
        (st = ds_model_create(s->sc, &s->m, diag)) != DS_OK)
        goto fail;
    if (opt->mode == DS_SESSION_NEW) {
        if (!(s->st = ds_stats_alloc(s->m))) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (summaries)");
            goto fail;
        }
    } else {
        ds_stats *probe = ds_stats_alloc(s->m);
        if (!probe) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (summaries)");
            goto fail;
        }
        ds_stats_shape shape = ds_stats_shape_of(probe);
        ds_stats_free(probe);
        if ((st = ds_stats_import(&shape, opt->base->state, &s->st, diag)) != DS_OK) {
            ds_diag_set(diag, st == DS_ERR_NOMEM ? st : DS_ERR_FORMAT, NULL, 0, 0,
                        "%s: its saved state cannot be used: %s", opt->base->path,
                        diag ? diag->msg : "");
            st = diag ? diag->status : DS_ERR_FORMAT;
            goto fail;
        }
        if (s->st->trials != opt->base->trials) {
            st = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                             "%s says it holds %llu trials but its saved state %llu: it is "
                             "damaged",
                             opt->base->path, (unsigned long long)opt->base->trials,
                             (unsigned long long)s->st->trials);
            goto fail;
        }
        if (opt->mode == DS_SESSION_EXTEND && s->st->has_tail) {
            /* The saved run ended inside block b: take that short block out
             * of the summaries (recomputed: it is a function of scenario,
             * seed and block), so the run below redoes it at full size. */
            const uint64_t b = s->st->tail.index, n_old = s->st->tail.trials;
            ds_block *blk = ds_block_alloc(s->m);
            if (!blk) {
                st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (block)");
                goto fail;
            }
            ds_model_run_block(s->m, b, (size_t)n_old, blk);
            st = ds_stats_drop_tail(s->st, blk, diag);
            ds_block_free(blk);
            if (st != DS_OK)
                goto fail;
        }
        s->blocks0 = s->st->blocks;
        s->trials0 = s->st->trials;
    }
    utc_now(s->info.created_utc, sizeof s->info.created_utc);
    if (opt->open_sink) {
        if ((st = opt->open_sink(opt->sink_ctx, s->m, s->yaml, s->sc->trials, &s->sink, diag)) !=
            DS_OK)
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
    info->trials_done = s->trials0 + s->res.trials_done;
    info->interrupted = interrupted;
    info->threads = s->res.threads;
    info->mpi_ranks = s->opt.mpi_ranks > 0 ? s->opt.mpi_ranks : 1;
    info->wall_seconds = s->res.wall_seconds;
    utc_now(info->finished_utc, sizeof info->finished_utc);
}

static ds_status write_checkpoint(ds_session *s, ds_diag *diag)
{
    ds_status st = ds_stats_finalize(s->st, diag);
    if (st != DS_OK)
        return st;
    fill_info(s, 1);
    return s->sink.checkpoint(s->sink.ctx, s->st, &s->info, diag);
}

/* Runs blocks [first, end) in rounds; replay: per-trial rows only. */
static ds_status run_blocks(ds_session *s, ds_driver *d, uint64_t first, uint64_t end,
                            int replay, int *stopped, ds_diag *diag)
{
    const uint64_t trials = s->sc->trials;
    const uint64_t round = (uint64_t)ds_driver_threads(d) * DS_SESSION_ROUND_BLOCKS_PER_THREAD;
    session_progress sp = {s, s->trials0 + s->res.trials_done, trials, s->res.wall_seconds};
    double last_ckpt = now_seconds();
    const int can_ckpt = !replay && s->have_sink && s->sink.checkpoint &&
                         s->opt.checkpoint_every > 0;
    *stopped = 0;
    uint64_t next = first;
    while (next < end) {
        ds_run_options ro;
        memset(&ro, 0, sizeof ro);
        ro.trials = trials;
        ro.first_block = next;
        ro.n_blocks = end - next < round ? end - next : round;
        ro.progress = s->opt.progress && !replay ? session_on_progress : NULL;
        ro.progress_ctx = &sp;
        ro.stop = s->opt.stop;
        ro.replay = replay;
        ds_run_result r;
        ds_status st = ds_driver_run(d, &ro, s->st, &r, diag);
        if (!replay) {
            s->res.trials_done += r.trials_done;
            s->res.blocks_done += r.blocks_done;
        }
        s->res.wall_seconds += r.wall_seconds;
        sp.base = s->trials0 + s->res.trials_done;
        sp.t_base = s->res.wall_seconds;
        if (st != DS_OK)
            return st;
        if (r.interrupted) {
            *stopped = 1;
            return DS_OK;
        }
        next += ro.n_blocks;
        if (can_ckpt && next < end && now_seconds() - last_ckpt >= s->opt.checkpoint_every) {
            if ((st = write_checkpoint(s, diag)) != DS_OK)
                return st;
            last_ckpt = now_seconds();
        }
    }
    return DS_OK;
}

ds_status ds_session_run(ds_session *s, ds_diag *diag)
{
    ds_driver *d = NULL;
    ds_status st = ds_driver_create(s->m, s->opt.threads, s->have_sink ? &s->sink : NULL, &d,
                                    diag);
    if (st != DS_OK)
        return st;
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
    /* The result views: the fold of the merge tree over blocks [0, n). */
    ds_status st = ds_stats_finalize(s->st, diag);
    if (st != DS_OK)
        return st;
    if (!s->have_sink)
        return DS_OK;
    s->have_sink = 0; /* finish frees the sink, also on failure */
    return s->sink.finish(s->sink.ctx, s->st, &s->info, diag);
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
