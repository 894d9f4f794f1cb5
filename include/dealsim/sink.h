/* include/dealsim/sink.h
 * Where a run's results go: a small interface between the run layer
 * (driver, session) and whatever stores the results (the HDF5 writer, a
 * test's recorder, later an MPI writer).
 * Licence: see LICENSE at the top of the repository.
 *
 * The run layer never includes an output format: it hands each committed
 * block to `write_block` (in block order, from one thread at a time, never
 * concurrently) and, at the end, the merged summaries to `finish`.  On any
 * failure it calls `abort` instead of `finish`.  After `finish` or `abort`
 * the sink is gone (both free its context).  The app layer wires a
 * concrete sink in (STYLE.md: run knows io only through this interface).
 */
#ifndef DEALSIM_SINK_H
#define DEALSIM_SINK_H

#include <stdint.h>

#include "dealsim/error.h"
#include "dealsim/model.h"
#include "dealsim/stats.h"

/* Provenance and run facts a sink records with the summaries. */
typedef struct {
    uint64_t seed;
    uint64_t trials_requested;
    uint64_t trials_done;      /* the trials in the result */
    int interrupted;           /* run_status "interrupted" instead of "complete" */
    int threads;
    int mpi_ranks;
    double wall_seconds;
    char created_utc[32];      /* ISO 8601, e.g. 2026-11-26T06:22:02Z */
    char finished_utc[32];
} ds_run_info;

typedef struct {
    void *ctx;
    /* Non-zero when the sink wants every block's per-trial data; when 0 the
     * driver never calls write_block (and needs no writer thread). */
    int wants_blocks;
    /* One committed block; blocks come in increasing order. */
    ds_status (*write_block)(void *ctx, const ds_block *blk, ds_diag *diag);
    /* The finalized summaries and the run facts; frees ctx, also on failure. */
    ds_status (*finish)(void *ctx, const ds_stats *st, const ds_run_info *info, ds_diag *diag);
    /* Discards everything (a failed run); frees ctx.  NULL ctx is fine. */
    void (*abort)(void *ctx);
    /* Optional (NULL: the sink cannot checkpoint).  Makes the finalized
     * summaries so far durable where the result will be, without ending
     * the run: a whole, resumable result file (run_status "interrupted")
     * written aside and renamed over the previous checkpoint, never
     * destroying it before the new one is on disk. */
    ds_status (*checkpoint)(void *ctx, const ds_stats *st, const ds_run_info *info, ds_diag *diag);
} ds_sink;

/* Opens a sink for a prepared model: what the session calls once the
 * scenario is loaded.  `effective_yaml` is the scenario as run; `trials` the
 * trials requested.  Implemented by the app layer (e.g. over ds_h5out). */
typedef ds_status (*ds_sink_open_fn)(void *ctx, const ds_model *m, const char *effective_yaml,
                                     uint64_t trials, ds_sink *out, ds_diag *diag);

#endif /* DEALSIM_SINK_H */
