/* sim/driver.c
 * Blocks over OpenMP threads, with block-ordered merging and writing.
 * Licence: see LICENSE at the top of the repository.
 *
 * The only file with `#pragma omp`.  What must stay true:
 *  - a block's results depend only on its index (model.h), so any thread may
 *    run it;
 *  - floating-point partials are merged in block order (the `ordered`
 *    region), integer sketch counts in any order;
 *  - a block is "committed" only inside the ordered region, and only when
 *    every earlier block was committed; after an interruption or a failure
 *    no later block is committed, so the file always holds a prefix of the
 *    run, and the per-thread sketches only ever see committed blocks;
 *  - each thread holds one block workspace and two accumulators, so memory is
 *    threads x block size.
 */
#include "dealsim/driver.h"

#include <omp.h>
#include <stdlib.h>

int ds_driver_max_threads(void) { return omp_get_max_threads(); }

typedef struct {
    ds_block *blk;
    ds_stats *partial; /* the block's floating partial */
    ds_stats *local;   /* this thread's integer accumulators */
} thread_ws;

static void free_ws(thread_ws *ws, int n)
{
    if (!ws)
        return;
    for (int i = 0; i < n; ++i) {
        ds_block_free(ws[i].blk);
        ds_stats_free(ws[i].partial);
        ds_stats_free(ws[i].local);
    }
    free(ws);
}

ds_status ds_driver_run(const ds_model *m, const ds_run_options *opt, ds_stats *global,
                        ds_run_result *res, ds_diag *diag)
{
    const uint64_t trials = opt->trials;
    const uint64_t nblocks = (trials + DS_BLOCK_SIZE - 1) / DS_BLOCK_SIZE;
    int nthreads = opt->threads > 0 ? opt->threads : omp_get_max_threads();
    if ((uint64_t)nthreads > nblocks)
        nthreads = nblocks > 0 ? (int)nblocks : 1;

    res->trials_done = 0;
    res->interrupted = 0;
    res->threads = nthreads;
    res->wall_seconds = 0.0;

    thread_ws *ws = calloc((size_t)nthreads, sizeof *ws);
    if (!ws)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (thread workspaces)");
    for (int i = 0; i < nthreads; ++i) {
        ws[i].blk = ds_block_alloc(m);
        ws[i].partial = ds_stats_alloc(m);
        ws[i].local = ds_stats_alloc(m);
        if (!ws[i].blk || !ws[i].partial || !ws[i].local) {
            free_ws(ws, nthreads);
            return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0,
                               "out of memory (thread workspaces)");
        }
    }

    const double t0 = omp_get_wtime();
    ds_status status = DS_OK;  /* first failure; written in the ordered region */
    ds_diag fail_diag;
    ds_diag_clear(&fail_diag);
    int broken = 0;            /* no further block may be committed */
    uint64_t done = 0;
    atomic_int *stop = opt->stop;
    ds_h5out *writer = opt->writer;
    const ds_progress_fn progress = opt->progress;
    void *progress_ctx = opt->progress_ctx;

    /* Blocks are independent; dynamic scheduling balances uneven blocks (jumps,
     * tranche months), `ordered` serialises only the cheap merge and write. */
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 1) ordered default(none) \
    shared(ws, m, global, status, fail_diag, broken, done, stop, writer, progress,          \
               progress_ctx)                                                                \
    firstprivate(trials, nblocks, t0)
    for (uint64_t b = 0; b < nblocks; ++b) {
        thread_ws *w = &ws[omp_get_thread_num()];
        const size_t n = (size_t)(trials - b * DS_BLOCK_SIZE < DS_BLOCK_SIZE
                                      ? trials - b * DS_BLOCK_SIZE
                                      : DS_BLOCK_SIZE);
        int computed = 0;
        int stopping = stop && atomic_load_explicit(stop, memory_order_relaxed);
        ds_status st = DS_OK;
        if (!stopping) {
            ds_model_run_block(m, b, n, w->blk);
            st = ds_stats_block_moments(w->partial, w->blk);
            computed = st == DS_OK;
        }
        int committed = 0;
#pragma omp ordered
        {
            ds_status s2 = st;
            ds_diag d2;
            ds_diag_clear(&d2);
            if (computed && !broken) {
                s2 = ds_stats_merge_moments(global, w->partial, b + 1 == nblocks);
                if (s2 == DS_OK && writer && ds_h5out_wants_trials(writer))
                    s2 = ds_h5out_write_block(writer, w->blk, &d2);
                if (s2 == DS_OK) {
                    done += n;
                    committed = 1;
                    if (progress)
                        progress(progress_ctx, done, trials, omp_get_wtime() - t0);
                }
            }
            if (!committed)
                broken = 1;
            if (s2 != DS_OK) {
#pragma omp critical(ds_driver_status)
                {
                    if (status == DS_OK) {
                        status = s2;
                        if (d2.status != DS_OK)
                            fail_diag = d2;
                        else
                            ds_diag_set(&fail_diag, s2, NULL, 0, 0,
                                        "out of memory (block statistics)");
                    }
                }
            }
        }
        if (committed) {
            ds_status s3 = ds_stats_add_sketches(w->local, w->blk);
            if (s3 != DS_OK) {
#pragma omp critical(ds_driver_status)
                {
                    if (status == DS_OK) {
                        status = s3;
                        ds_diag_set(&fail_diag, s3, NULL, 0, 0, "out of memory (sketches)");
                    }
                }
            }
        }
    }

    /* Integer state: any merge order gives the same counts. */
    for (int i = 0; i < nthreads && status == DS_OK; ++i) {
        ds_status s4 = ds_stats_merge_sketches(global, ws[i].local);
        if (s4 != DS_OK) {
            status = s4;
            ds_diag_set(&fail_diag, s4, NULL, 0, 0, "out of memory (merging sketches)");
        }
    }
    free_ws(ws, nthreads);

    res->trials_done = done;
    res->interrupted = status == DS_OK && done < trials;
    res->wall_seconds = omp_get_wtime() - t0;
    if (status != DS_OK) {
        if (diag)
            *diag = fail_diag;
        return status;
    }
    return DS_OK;
}
