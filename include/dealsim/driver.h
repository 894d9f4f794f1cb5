/* include/dealsim/driver.h
 * Runs a range of blocks of a scenario over OpenMP threads.
 * Licence: see LICENSE at the top of the repository.
 *
 * driver.c is the only file with `#pragma omp`.  Blocks of DS_BLOCK_SIZE
 * trials [first_block, first_block + n_blocks) are handed to threads in
 * increasing order; each thread runs the kernel into its own workspace,
 * computes the block's floating-point partial, then, in block order, the
 * partial is merged into the summary and the block goes to the sink.
 * Integer state (sketches) goes to per-thread accumulators merged at the
 * end.  Hence the results are bit-identical for any thread count and any
 * scheduling, and memory is bounded by threads x block size, not by the
 * number of trials.  A range lets a caller run part of a run (an MPI rank's
 * share, the rest of an interrupted run).
 */
#ifndef DEALSIM_DRIVER_H
#define DEALSIM_DRIVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "dealsim/error.h"
#include "dealsim/model.h"
#include "dealsim/sink.h"
#include "dealsim/stats.h"

/* Called in the commit turn of each committed block (so never
 * concurrently): trials committed so far and trials in the range, seconds
 * elapsed. */
typedef void (*ds_progress_fn)(void *ctx, uint64_t done, uint64_t total, double elapsed);

typedef struct {
    uint64_t trials;        /* trials of the whole run (>= 1): sizes the last block */
    uint64_t first_block;   /* the range run: [first_block, first_block + n_blocks) */
    uint64_t n_blocks;      /* 0: to the run's last block */
    ds_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    atomic_int *stop;       /* when set (e.g. by SIGINT), stop at a block boundary; may be NULL */
    int replay;             /* only regenerate the blocks' per-trial data for the sink (a
                             * resumed run rewriting the rows of blocks its saved state
                             * already summarizes); `global` is left untouched */
} ds_run_options;

typedef struct {
    uint64_t trials_done;   /* trials committed in the range: whole blocks, a prefix of it */
    uint64_t blocks_done;   /* blocks committed: [first_block, first_block + blocks_done) */
    int interrupted;        /* stopped before the end of the range through *stop */
    int threads;            /* threads used for this range */
    double wall_seconds;
} ds_run_result;

/* A driver keeps its threads' workspaces and block buffers across ranges
 * (a run is often many ranges: rounds between checkpoints or MPI stops).
 * `threads` 0 is OpenMP's default; `sink` (may be NULL) receives every
 * committed block's per-trial data from one writer thread (write_block
 * only: finishing is the session's business).  The sink must outlive the
 * driver. */
typedef struct ds_driver ds_driver;
ds_status ds_driver_create(const ds_model *m, int threads, const ds_sink *sink, ds_driver **out,
                           ds_diag *diag);
void ds_driver_free(ds_driver *d); /* NULL is fine */
int ds_driver_threads(const ds_driver *d);

/* Runs a range of blocks, merging into `global` (from ds_stats_alloc(m)).
 * On DS_OK `global` holds trials_done more trials: the whole range unless
 * interrupted. */
ds_status ds_driver_run(ds_driver *d, const ds_run_options *opt, ds_stats *global,
                        ds_run_result *res, ds_diag *diag);

/* OpenMP's default thread count (omp_get_max_threads). */
int ds_driver_max_threads(void);

#endif /* DEALSIM_DRIVER_H */
