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
    ds_run_result res;
    ds_run_info info;
};

static void utc_now(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

ds_status ds_session_open(const ds_session_options *opt, ds_session **out, ds_diag *diag)
{
    *out = NULL;
    ds_session *s = calloc(1, sizeof *s);
    if (!s)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (session)");
    s->opt = *opt;
    ds_status st = ds_scenario_load(opt->scenario_path, opt->sets, opt->n_sets, &s->sc, diag);
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
    if (!(s->st = ds_stats_alloc(s->m))) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (summaries)");
        goto fail;
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

ds_status ds_session_run(ds_session *s, ds_diag *diag)
{
    ds_driver *d = NULL;
    ds_status st = ds_driver_create(s->m, s->opt.threads, s->have_sink ? &s->sink : NULL, &d,
                                    diag);
    if (st != DS_OK)
        return st;
    const uint64_t trials = s->sc->trials;
    const uint64_t nblocks = trials / DS_BLOCK_SIZE + (trials % DS_BLOCK_SIZE != 0);
    const uint64_t round = (uint64_t)ds_driver_threads(d) * DS_SESSION_ROUND_BLOCKS_PER_THREAD;
    session_progress sp = {s, 0, trials, 0.0};
    memset(&s->res, 0, sizeof s->res);
    s->res.threads = ds_driver_threads(d);
    uint64_t next = 0;
    while (next < nblocks) {
        ds_run_options ro;
        memset(&ro, 0, sizeof ro);
        ro.trials = trials;
        ro.first_block = next;
        ro.n_blocks = nblocks - next < round ? nblocks - next : round;
        ro.progress = s->opt.progress ? session_on_progress : NULL;
        ro.progress_ctx = &sp;
        ro.stop = s->opt.stop;
        ds_run_result r;
        st = ds_driver_run(d, &ro, s->st, &r, diag);
        s->res.trials_done += r.trials_done;
        s->res.blocks_done += r.blocks_done;
        s->res.wall_seconds += r.wall_seconds;
        sp.base = s->res.trials_done;
        sp.t_base = s->res.wall_seconds;
        if (st != DS_OK)
            break;
        if (r.interrupted) {
            s->res.interrupted = 1;
            break;
        }
        next += ro.n_blocks;
    }
    ds_driver_free(d);
    return st;
}

ds_status ds_session_finish(ds_session *s, ds_diag *diag)
{
    ds_run_info *info = &s->info;
    info->seed = s->sc->seed;
    info->trials_requested = s->sc->trials;
    info->trials_done = s->res.trials_done;
    info->interrupted = s->res.interrupted;
    info->threads = s->res.threads;
    info->mpi_ranks = s->opt.mpi_ranks > 0 ? s->opt.mpi_ranks : 1;
    info->wall_seconds = s->res.wall_seconds;
    utc_now(info->finished_utc, sizeof info->finished_utc);
    /* The result views: the fold of the merge tree over blocks [0, n). */
    ds_status st = ds_stats_finalize(s->st, diag);
    if (st != DS_OK)
        return st;
    if (!s->have_sink)
        return DS_OK;
    s->have_sink = 0; /* finish frees the sink, also on failure */
    return s->sink.finish(s->sink.ctx, s->st, info, diag);
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
