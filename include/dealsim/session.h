/* include/dealsim/session.h
 * A run session: the sequence load -> model -> summaries -> open the sink ->
 * run the blocks -> finalize -> finish, as a library call the CLI drives.
 * Licence: see LICENSE at the top of the repository.
 *
 * The session owns everything it creates; the CLI only parses options,
 * installs signal handlers, prints progress and the summary.  The output
 * is reached only through the sink the caller's `open_sink` returns
 * (sink.h), so the run layer never knows the file format.
 *
 *   ds_session_open    loads the scenario (with --set overrides), prepares
 *                      the model and the summaries, opens the sink;
 *   ds_session_run     runs the blocks (stoppable through opt->stop);
 *   ds_session_finish  merges what ran into the final summaries and hands
 *                      them to the sink, which writes and closes;
 *   ds_session_free    frees everything; a sink not finished is aborted.
 *
 * Errors: a scenario that cannot be loaded is DS_ERR_SCENARIO (exit 2, the
 * diagnostic names file:line:col), everything else keeps its status.
 */
#ifndef DEALSIM_SESSION_H
#define DEALSIM_SESSION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dealsim/config.h"
#include "dealsim/driver.h"
#include "dealsim/error.h"
#include "dealsim/model.h"
#include "dealsim/sink.h"
#include "dealsim/stats.h"

typedef struct {
    const char *scenario_path;
    const char *const *sets;  /* --set KEY=VALUE overrides, in order */
    size_t n_sets;
    int threads;              /* 0: OpenMP's default */
    ds_progress_fn progress;  /* may be NULL */
    void *progress_ctx;
    atomic_int *stop;         /* may be NULL */
    ds_sink_open_fn open_sink; /* NULL: no output at all (summaries only) */
    void *sink_ctx;
    int mpi_ranks;            /* recorded in the run facts (1 for a serial run) */
} ds_session_options;

typedef struct ds_session ds_session;

/* Loads and prepares; on failure *out is NULL and everything is freed. */
ds_status ds_session_open(const ds_session_options *opt, ds_session **out, ds_diag *diag);
/* Runs every block of the scenario's trials (or until stopped). */
ds_status ds_session_run(ds_session *s, ds_diag *diag);
/* Final summaries to the sink.  After it (success or not) the sink is gone. */
ds_status ds_session_finish(ds_session *s, ds_diag *diag);
void ds_session_free(ds_session *s); /* NULL is fine */

const ds_scenario *ds_session_scenario(const ds_session *s);
const ds_stats *ds_session_stats(const ds_session *s);
const ds_run_result *ds_session_result(const ds_session *s);
const ds_run_info *ds_session_info(const ds_session *s);

#endif /* DEALSIM_SESSION_H */
