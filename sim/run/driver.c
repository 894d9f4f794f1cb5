/* sim/run/driver.c
 * Blocks over OpenMP threads, with block-ordered merging, and a writer
 * thread that overlaps per-trial output with computing.
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
 *  - per-trial data is written by one writer thread (HDF5 is not
 *    thread-safe), in commit order, i.e. block order.  A committed block is
 *    handed to it through a FIFO; the block buffer goes back to the pool once
 *    both the writer and the computing thread (which still adds the block's
 *    sketches) have released it.  Computing threads take a free buffer from
 *    the pool and wait when none is free, so a slow disk slows the run down
 *    instead of growing memory;
 *  - memory is (threads + DS_DRIVER_SPARE) block buffers plus two
 *    accumulators a thread: threads x block size, not trials.
 */
#define _POSIX_C_SOURCE 200809L

#include "dealsim/driver.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

/* Extra block buffers, so that computing threads rarely wait on the writer. */
#define DS_DRIVER_SPARE 3

int ds_driver_max_threads(void) { return omp_get_max_threads(); }

typedef struct {
    ds_stats *partial; /* the block's floating partial */
    ds_stats *local;   /* this thread's integer accumulators */
    int slot;          /* the pool buffer this thread computes into */
} thread_ws;

/* The pool of block buffers and the writer's queue, under one mutex. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;              /* buffers */
    ds_block **blk;     /* [n] */
    int *refs;          /* [n] holders of a committed buffer: writer, computer */
    int *free_stack;    /* [n] free buffers */
    int n_free;
    int *queue;         /* [n] FIFO of buffers to write */
    int q_head, q_len;
    int closing;        /* no more blocks will be queued */
    ds_h5out *writer;
    ds_status status;   /* the writer's first failure */
    ds_diag diag;
} pool;

static void pool_release_locked(pool *p, int slot)
{
    if (--p->refs[slot] == 0) {
        p->free_stack[p->n_free++] = slot;
        pthread_cond_broadcast(&p->cv);
    }
}

static void pool_release(pool *p, int slot)
{
    pthread_mutex_lock(&p->mu);
    pool_release_locked(p, slot);
    pthread_mutex_unlock(&p->mu);
}

/* A free buffer; waits for one. */
static int pool_acquire(pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->n_free == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    int slot = p->free_stack[--p->n_free];
    p->refs[slot] = 1;
    pthread_mutex_unlock(&p->mu);
    return slot;
}

/* Hands a committed buffer to the writer (called in block order). */
static void pool_enqueue(pool *p, int slot)
{
    pthread_mutex_lock(&p->mu);
    p->refs[slot]++;
    p->queue[(p->q_head + p->q_len) % p->n] = slot;
    p->q_len++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static ds_status pool_writer_status(pool *p)
{
    pthread_mutex_lock(&p->mu);
    ds_status st = p->status;
    pthread_mutex_unlock(&p->mu);
    return st;
}

/* The writer thread: writes queued blocks in order until closed and empty.
 * After a failure it keeps draining (releasing) without writing. */
static void *pool_writer_main(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->q_len == 0 && !p->closing)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->q_len == 0)
            break;
        int slot = p->queue[p->q_head];
        p->q_head = (p->q_head + 1) % p->n;
        p->q_len--;
        ds_status failed = p->status;
        pthread_mutex_unlock(&p->mu);
        ds_status st = DS_OK;
        ds_diag d;
        ds_diag_clear(&d);
        if (failed == DS_OK)
            st = ds_h5out_write_block(p->writer, p->blk[slot], &d);
        pthread_mutex_lock(&p->mu);
        if (st != DS_OK && p->status == DS_OK) {
            p->status = st;
            p->diag = d;
        }
        pool_release_locked(p, slot);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pool_free(pool *p)
{
    if (p->blk)
        for (int i = 0; i < p->n; ++i)
            ds_block_free(p->blk[i]);
    free(p->blk);
    free(p->refs);
    free(p->free_stack);
    free(p->queue);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

static ds_status pool_init(pool *p, const ds_model *m, int n, ds_h5out *writer)
{
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->n = n;
    p->blk = calloc((size_t)n, sizeof *p->blk);
    p->refs = calloc((size_t)n, sizeof *p->refs);
    p->free_stack = calloc((size_t)n, sizeof *p->free_stack);
    p->queue = calloc((size_t)n, sizeof *p->queue);
    p->n_free = 0;
    p->q_head = p->q_len = 0;
    p->closing = 0;
    p->writer = writer;
    p->status = DS_OK;
    ds_diag_clear(&p->diag);
    if (!p->blk || !p->refs || !p->free_stack || !p->queue)
        return DS_ERR_NOMEM;
    for (int i = 0; i < n; ++i) {
        if (!(p->blk[i] = ds_block_alloc(m)))
            return DS_ERR_NOMEM;
        p->free_stack[p->n_free++] = i;
    }
    return DS_OK;
}

static void free_ws(thread_ws *ws, int n)
{
    if (!ws)
        return;
    for (int i = 0; i < n; ++i) {
        ds_stats_free(ws[i].partial);
        ds_stats_free(ws[i].local);
    }
    free(ws);
}

ds_status ds_driver_run(const ds_model *m, const ds_run_options *opt, ds_stats *global,
                        ds_run_result *res, ds_diag *diag)
{
    const uint64_t trials = opt->trials;
    /* Written so that trials near 2^64 cannot overflow. */
    const uint64_t nblocks = trials / DS_BLOCK_SIZE + (trials % DS_BLOCK_SIZE != 0);
    int nthreads = opt->threads > 0 ? opt->threads : omp_get_max_threads();
    if ((uint64_t)nthreads > nblocks)
        nthreads = nblocks > 0 ? (int)nblocks : 1;

    res->trials_done = 0;
    res->interrupted = 0;
    res->threads = nthreads;
    res->wall_seconds = 0.0;

    ds_h5out *writer = opt->writer && ds_h5out_wants_trials(opt->writer) ? opt->writer : NULL;
    pool bp;
    thread_ws *ws = calloc((size_t)nthreads, sizeof *ws);
    ds_status init = ws ? pool_init(&bp, m, nthreads + (writer ? DS_DRIVER_SPARE : 0), writer)
                        : DS_ERR_NOMEM;
    for (int i = 0; ws && init == DS_OK && i < nthreads; ++i) {
        ws[i].partial = ds_stats_alloc(m);
        ws[i].local = ds_stats_alloc(m);
        ws[i].slot = -1;
        if (!ws[i].partial || !ws[i].local)
            init = DS_ERR_NOMEM;
    }
    if (init != DS_OK) {
        if (ws)
            pool_free(&bp);
        free_ws(ws, nthreads);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (thread workspaces)");
    }
    pthread_t writer_thread;
    if (writer && pthread_create(&writer_thread, NULL, pool_writer_main, &bp) != 0) {
        pool_free(&bp);
        free_ws(ws, nthreads);
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "cannot start the writer thread");
    }

    const double t0 = omp_get_wtime();
    ds_status status = DS_OK; /* first failure of a computing thread */
    ds_diag fail_diag;
    ds_diag_clear(&fail_diag);
    int broken = 0;           /* no further block may be committed */
    uint64_t done = 0;
    atomic_int *stop = opt->stop;
    const ds_progress_fn progress = opt->progress;
    void *progress_ctx = opt->progress_ctx;
    pool *bpp = &bp;

    /* Blocks are independent; dynamic scheduling balances uneven blocks (jumps,
     * tranche months), `ordered` serialises only the cheap merge and hand-off. */
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 1) ordered default(none) \
    shared(ws, m, global, status, fail_diag, broken, done, stop, writer, progress,          \
               progress_ctx, bpp)                                                           \
    firstprivate(trials, nblocks, t0)
    for (uint64_t b = 0; b < nblocks; ++b) {
        thread_ws *w = &ws[omp_get_thread_num()];
        if (w->slot < 0)
            w->slot = pool_acquire(bpp);
        ds_block *blk = bpp->blk[w->slot];
        const size_t n = (size_t)(trials - b * DS_BLOCK_SIZE < DS_BLOCK_SIZE
                                      ? trials - b * DS_BLOCK_SIZE
                                      : DS_BLOCK_SIZE);
        int computed = 0;
        int stopping = (stop && atomic_load_explicit(stop, memory_order_relaxed)) ||
                       (writer && pool_writer_status(bpp) != DS_OK);
        ds_status st = DS_OK;
        if (!stopping) {
            ds_model_run_block(m, b, n, blk);
            st = ds_stats_block_moments(w->partial, blk);
            computed = st == DS_OK;
        }
        int committed = 0;
#pragma omp ordered
        {
            ds_status s2 = st;
            if (computed && !broken) {
                s2 = ds_stats_commit_block(global, w->partial, b);
                if (s2 == DS_OK) {
                    if (writer)
                        pool_enqueue(bpp, w->slot);
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
                        ds_diag_set(&fail_diag, s2, NULL, 0, 0,
                                    "out of memory (block statistics)");
                    }
                }
            }
        }
        if (committed) {
            ds_status s3 = ds_stats_add_sketches(w->local, blk);
            if (s3 != DS_OK) {
#pragma omp critical(ds_driver_status)
                {
                    if (status == DS_OK) {
                        status = s3;
                        ds_diag_set(&fail_diag, s3, NULL, 0, 0, "out of memory (sketches)");
                    }
                }
            }
            if (writer) { /* the writer holds it now; take another */
                pool_release(bpp, w->slot);
                w->slot = -1;
            }
        }
    }

    if (writer) {
        pthread_mutex_lock(&bp.mu);
        bp.closing = 1;
        pthread_cond_broadcast(&bp.cv);
        pthread_mutex_unlock(&bp.mu);
        pthread_join(writer_thread, NULL);
        if (status == DS_OK && bp.status != DS_OK) {
            status = bp.status;
            fail_diag = bp.diag;
        }
    }
    /* Integer state: any merge order gives the same counts. */
    for (int i = 0; i < nthreads && status == DS_OK; ++i) {
        ds_status s4 = ds_stats_merge(global, ws[i].local);
        if (s4 != DS_OK) {
            status = s4;
            ds_diag_set(&fail_diag, s4, NULL, 0, 0, "out of memory (merging sketches)");
        }
    }
    if (status == DS_OK)
        status = ds_stats_finalize(global, &fail_diag); /* the result views */
    pool_free(&bp);
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
