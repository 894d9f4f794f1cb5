/* include/dealsim/driver.h
 * Runs the trials of a scenario over OpenMP threads, block by block.
 * Licence: see LICENSE at the top of the repository.
 *
 * driver.c is the only file with `#pragma omp`.  Blocks of DS_BLOCK_SIZE
 * trials are handed to threads dynamically; each thread runs the kernel into
 * its own workspace, computes the block's floating-point partial, then in an
 * ordered region (block order) the partial is merged into the global
 * summary and the block's per-trial data is written.  Integer state
 * (sketches) goes to per-thread accumulators merged at the end.  Hence the
 * results are bit-identical for any thread count and any scheduling, and
 * memory is bounded by threads x block size, not by the number of trials.
 */
#ifndef DEALSIM_DRIVER_H
#define DEALSIM_DRIVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "dealsim/error.h"
#include "dealsim/h5out.h"
#include "dealsim/model.h"
#include "dealsim/stats.h"

/* Called from the ordered region after each committed block (so never
 * concurrently): trials done so far, trials requested, seconds elapsed. */
typedef void (*ds_progress_fn)(void *ctx, uint64_t done, uint64_t total, double elapsed);

typedef struct {
    uint64_t trials;        /* trials to run (>= 1) */
    int threads;            /* 0: OpenMP's default */
    ds_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    atomic_int *stop;       /* when set (e.g. by SIGINT), stop at a block boundary; may be NULL */
    ds_h5out *writer;       /* per-trial output; may be NULL */
} ds_run_options;

typedef struct {
    uint64_t trials_done;   /* a whole number of blocks unless complete */
    int interrupted;        /* stopped early through *stop */
    int threads;            /* threads actually used */
    double wall_seconds;
} ds_run_result;

/* Runs opt->trials trials of m, merging into `global` (from
 * ds_stats_alloc(m)).  On DS_OK the summary holds trials_done trials, which
 * is opt->trials unless interrupted. */
ds_status ds_driver_run(const ds_model *m, const ds_run_options *opt, ds_stats *global,
                        ds_run_result *res, ds_diag *diag);

/* OpenMP's default thread count (omp_get_max_threads). */
int ds_driver_max_threads(void);

#endif /* DEALSIM_DRIVER_H */
