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

ds_status ds_session_run(ds_session *s, ds_diag *diag)
{
    ds_run_options ro;
    memset(&ro, 0, sizeof ro);
    ro.trials = s->sc->trials;
    ro.first_block = 0;
    ro.n_blocks = 0;
    ro.threads = s->opt.threads;
    ro.progress = s->opt.progress;
    ro.progress_ctx = s->opt.progress_ctx;
    ro.stop = s->opt.stop;
    ro.sink = s->have_sink ? &s->sink : NULL;
    return ds_driver_run(s->m, &ro, s->st, &s->res, diag);
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
