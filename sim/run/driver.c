/* sim/run/driver.c
 * A range of blocks over OpenMP threads, committed in block order, and a
 * writer thread that overlaps per-trial output with computing.
 * Licence: see LICENSE at the top of the repository.
 *
 * The only file with `#pragma omp`.  What must stay true:
 *  - a block's results depend only on its index (model.h), so any thread may
 *    run it;
 *  - threads take blocks in increasing order from one atomic counter and
 *    commit them strictly in block order (a turn under `turn_mu`); a thread
 *    takes no new block once the run is stopping (signal, failure), so a
 *    stop costs at most one block per thread whatever the blocks left;
 *  - a block is "committed" only in its turn, and only when every earlier
 *    block of the range was committed; after an interruption or a failure no
 *    later block is committed, so the result always holds a prefix of the
 *    range, and the per-thread sketches only ever see committed blocks;
 *  - floating-point partials are merged into the global summary in the
 *    commit turn, integer sketch counts per thread in any order;
 *  - per-trial data goes to the sink from one writer thread (HDF5 is not
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
#include <string.h>

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
    const ds_sink *sink;
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
            st = p->sink->write_block(p->sink->ctx, p->blk[slot], &d);
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

static ds_status pool_init(pool *p, const ds_model *m, int n, const ds_sink *sink)
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
    p->sink = sink;
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

/* What the computing threads share: the next block to take, the next block
 * to commit (under turn_mu), the outcome so far. */
typedef struct {
    const ds_model *m;
    ds_stats *global;
    thread_ws *ws;
    pool *bp;
    int use_writer;
    uint64_t trials, first, end;
    int replay;              /* per-trial data only: no summaries */
    uint64_t range_trials;   /* trials in blocks [first, end) */
    atomic_uint_least64_t next_take;
    atomic_int broken;       /* no further block may be committed (stop or failure) */
    pthread_mutex_t turn_mu;
    pthread_cond_t turn_cv;
    uint64_t next_commit;    /* under turn_mu */
    uint64_t done;           /* trials committed, under turn_mu */
    uint64_t blocks_done;    /* under turn_mu */
    ds_status status;        /* first failure, under turn_mu */
    ds_diag fail_diag;
    atomic_int *stop;
    ds_progress_fn progress;
    void *progress_ctx;
    double t0;
} run_ctx;

static void run_fail_locked(run_ctx *c, ds_status st, const char *what)
{
    if (c->status == DS_OK) {
        c->status = st;
        ds_diag_set(&c->fail_diag, st, NULL, 0, 0, "out of memory (%s)", what);
    }
    atomic_store(&c->broken, 1);
}

static int run_stopping(run_ctx *c)
{
    return atomic_load(&c->broken) ||
           (c->stop && atomic_load_explicit(c->stop, memory_order_relaxed)) ||
           (c->use_writer && pool_writer_status(c->bp) != DS_OK);
}

/* One computing thread: takes blocks in increasing order until the range is
 * exhausted or the run is stopping, so a stop costs at most one block per
 * thread, never a visit of the blocks left. */
static void run_thread(run_ctx *c, thread_ws *w)
{
    for (;;) {
        if (run_stopping(c)) {
            atomic_store(&c->broken, 1);
            return;
        }
        const uint64_t b = atomic_fetch_add(&c->next_take, 1);
        if (b >= c->end)
            return;
        if (w->slot < 0)
            w->slot = pool_acquire(c->bp);
        ds_block *blk = c->bp->blk[w->slot];
        const uint64_t left = c->trials - b * DS_BLOCK_SIZE;
        const size_t n = (size_t)(left < DS_BLOCK_SIZE ? left : DS_BLOCK_SIZE);
        int computed = 0;
        ds_status st = DS_OK;
        if (!run_stopping(c)) {
            ds_model_run_block(c->m, b, n, blk);
            st = c->replay ? DS_OK : ds_stats_block_moments(w->partial, blk);
            computed = st == DS_OK;
        }
        /* Commit in block order: wait for every earlier block's turn.  Each
         * earlier block was taken by a thread that will pass its turn. */
        int committed = 0;
        pthread_mutex_lock(&c->turn_mu);
        while (c->next_commit != b)
            pthread_cond_wait(&c->turn_cv, &c->turn_mu);
        if (st != DS_OK)
            run_fail_locked(c, st, "block statistics");
        if (computed && !atomic_load(&c->broken)) {
            ds_status s2 = c->replay ? DS_OK : ds_stats_commit_block(c->global, w->partial, b);
            if (s2 == DS_OK) {
                if (c->use_writer)
                    pool_enqueue(c->bp, w->slot);
                c->done += n;
                c->blocks_done++;
                committed = 1;
                if (c->progress)
                    c->progress(c->progress_ctx, c->done, c->range_trials,
                                omp_get_wtime() - c->t0);
            } else {
                run_fail_locked(c, s2, "block statistics");
            }
        }
        if (!committed)
            atomic_store(&c->broken, 1);
        c->next_commit++;
        pthread_cond_broadcast(&c->turn_cv);
        pthread_mutex_unlock(&c->turn_mu);
        if (committed) {
            ds_status s3 = c->replay ? DS_OK : ds_stats_add_sketches(w->local, blk);
            if (s3 != DS_OK) {
                pthread_mutex_lock(&c->turn_mu);
                run_fail_locked(c, s3, "sketches");
                pthread_mutex_unlock(&c->turn_mu);
            }
            if (c->use_writer) { /* the writer holds it now; take another */
                pool_release(c->bp, w->slot);
                w->slot = -1;
            }
        }
    }
}

struct ds_driver {
    const ds_model *m;
    const ds_sink *sink; /* NULL when no per-trial output is wanted */
    int nthreads;
    pool bp;
    int have_pool;
    thread_ws *ws;       /* [nthreads] */
};

void ds_driver_free(ds_driver *d)
{
    if (!d)
        return;
    if (d->have_pool)
        pool_free(&d->bp);
    free_ws(d->ws, d->nthreads);
    free(d);
}

ds_status ds_driver_create(const ds_model *m, int threads, const ds_sink *sink, ds_driver **out,
                           ds_diag *diag)
{
    *out = NULL;
    ds_driver *d = calloc(1, sizeof *d);
    if (!d)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (driver)");
    d->m = m;
    d->sink = sink && sink->wants_blocks ? sink : NULL;
    d->nthreads = threads > 0 ? threads : omp_get_max_threads();
    if (d->nthreads < 1)
        d->nthreads = 1;
    d->ws = calloc((size_t)d->nthreads, sizeof *d->ws);
    ds_status init = DS_ERR_NOMEM;
    if (d->ws) {
        d->have_pool = 1;
        init = pool_init(&d->bp, m, d->nthreads + (d->sink ? DS_DRIVER_SPARE : 0), d->sink);
    }
    for (int i = 0; d->ws && init == DS_OK && i < d->nthreads; ++i) {
        /* Block 0 chooses the coalitions once; the rest copy the choice. */
        d->ws[i].partial = i == 0 ? ds_stats_alloc(m) : ds_stats_alloc_like(m, d->ws[0].partial);
        d->ws[i].slot = -1;
        if (!d->ws[i].partial)
            init = DS_ERR_NOMEM;
    }
    if (init != DS_OK) {
        ds_driver_free(d);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (thread workspaces)");
    }
    *out = d;
    return DS_OK;
}

int ds_driver_threads(const ds_driver *d) { return d->nthreads; }

/* Makes the pool whole again after a range: every buffer free, the queue
 * empty, no writer failure. */
static void pool_reset(pool *p, thread_ws *ws, int nthreads)
{
    for (int i = 0; i < nthreads; ++i)
        if (ws[i].slot >= 0) {
            pool_release(p, ws[i].slot);
            ws[i].slot = -1;
        }
    p->q_head = p->q_len = 0;
    p->closing = 0;
    p->status = DS_OK;
    ds_diag_clear(&p->diag);
}

ds_status ds_driver_run(ds_driver *d, const ds_run_options *opt, ds_stats *global,
                        ds_run_result *res, ds_diag *diag)
{
    const ds_model *m = d->m;
    const uint64_t trials = opt->trials;
    /* Written so that trials near 2^64 cannot overflow. */
    const uint64_t nblocks = trials / DS_BLOCK_SIZE + (trials % DS_BLOCK_SIZE != 0);
    const uint64_t first = opt->first_block;
    uint64_t end = opt->n_blocks ? first + opt->n_blocks : nblocks;
    res->trials_done = 0;
    res->blocks_done = 0;
    res->interrupted = 0;
    res->threads = d->nthreads;
    res->wall_seconds = 0.0;
    if (first > nblocks || end > nblocks || end < first)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "driver: block range [%llu, %llu) outside the run's %llu blocks",
                           (unsigned long long)first, (unsigned long long)end,
                           (unsigned long long)nblocks);
    const uint64_t range = end - first;
    int nthreads = d->nthreads;
    if ((uint64_t)nthreads > range)
        nthreads = range > 0 ? (int)range : 1;
    thread_ws *ws = d->ws;
    pool *bpp = &d->bp;
    const ds_sink *sink = d->sink;

    /* Fresh per-thread integer accumulators: merged into `global` at the end. */
    ds_status init = DS_OK;
    for (int i = 0; i < nthreads; ++i) {
        ds_stats_free(ws[i].local);
        if (!(ws[i].local = ds_stats_alloc_like(m, ws[0].partial)))
            init = DS_ERR_NOMEM;
    }
    if (init != DS_OK)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (thread workspaces)");
    pthread_t writer_thread;
    if (sink && pthread_create(&writer_thread, NULL, pool_writer_main, bpp) != 0)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "cannot start the writer thread");

    run_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.global = global;
    c.ws = ws;
    c.bp = bpp;
    c.use_writer = sink != NULL;
    c.trials = trials;
    c.first = first;
    c.end = end;
    {
        const uint64_t hi = end * DS_BLOCK_SIZE; /* end <= nblocks: no overflow past trials + B */
        c.range_trials = (hi < trials ? hi : trials) - first * DS_BLOCK_SIZE;
    }
    atomic_init(&c.next_take, first);
    atomic_init(&c.broken, 0);
    pthread_mutex_init(&c.turn_mu, NULL);
    pthread_cond_init(&c.turn_cv, NULL);
    c.next_commit = first;
    c.status = DS_OK;
    ds_diag_clear(&c.fail_diag);
    c.stop = opt->stop;
    c.replay = opt->replay;
    c.progress = opt->progress;
    c.progress_ctx = opt->progress_ctx;
    c.t0 = omp_get_wtime();
    run_ctx *cp = &c;

#pragma omp parallel num_threads(nthreads) default(none) shared(cp)
    run_thread(cp, &cp->ws[omp_get_thread_num()]);

    ds_status status = c.status;
    ds_diag fail_diag = c.fail_diag;
    if (sink) {
        pthread_mutex_lock(&bpp->mu);
        bpp->closing = 1;
        pthread_cond_broadcast(&bpp->cv);
        pthread_mutex_unlock(&bpp->mu);
        pthread_join(writer_thread, NULL);
        if (status == DS_OK && bpp->status != DS_OK) {
            status = bpp->status;
            fail_diag = bpp->diag;
        }
    }
    pool_reset(bpp, ws, d->nthreads);
    /* Integer state: any merge order gives the same counts. */
    for (int i = 0; i < nthreads && status == DS_OK; ++i) {
        ds_status s4 = ds_stats_merge(global, ws[i].local);
        if (s4 != DS_OK) {
            status = s4;
            ds_diag_set(&fail_diag, s4, NULL, 0, 0, "out of memory (merging sketches)");
        }
    }
    pthread_cond_destroy(&c.turn_cv);
    pthread_mutex_destroy(&c.turn_mu);

    res->threads = nthreads;
    res->trials_done = c.done;
    res->blocks_done = c.blocks_done;
    res->interrupted = status == DS_OK && c.blocks_done < range;
    res->wall_seconds = omp_get_wtime() - c.t0;
    if (status != DS_OK) {
        if (diag)
            *diag = fail_diag;
        return status;
    }
    return DS_OK;
}
