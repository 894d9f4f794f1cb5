/* tests/stats/test_stats_oom.c
 * Out-of-memory paths of stats.c: the n-th allocation is made to fail (after
 * Lua's allocator tests) and every function must report DS_ERR_NOMEM (or
 * NULL), leak nothing, and leave what it promises unchanged.
 * Licence: see LICENSE at the top of the repository.
 *
 * How allocations fail: this test is linked with -Wl,--wrap=malloc,
 * --wrap=calloc, --wrap=realloc (tests/stats/CMakeLists.txt), so every call
 * the library makes goes through the __wrap_ functions below.  No test hook
 * lives in the library.
 */
#include "stats_test_util.h"

#include "../alloc_fail.h"

/* ds_stats_alloc_shape: fail the 1st, 2nd, ... allocation until it succeeds;
 * each failure returns NULL (ASan's leak check proves nothing leaked). */
static void test_alloc(size_t n_outputs)
{
    long k = 0;
    for (;; ++k) {
        allocs_left = k;
        ds_stats *s = ds_stats_alloc_shape(n_outputs, 4, 12);
        allocs_left = -1;
        if (s) {
            ds_stats_free(s);
            break;
        }
    }
    CHECK(k >= 7); /* the arrays are separate allocations */
}

static void test_sketch(void)
{
    ds_sketch s;
    ds_sketch_init(&s);
    /* First bucket array. */
    allocs_left = 0;
    CHECK(ds_sketch_add(&s, 1.0) == DS_ERR_NOMEM);
    CHECK(ds_sketch_add(&s, -1.0) == DS_ERR_NOMEM);
    CHECK(ds_sketch_add_log(&s, 0.0) == DS_ERR_NOMEM);
    /* Zeros and values in range need no memory. */
    CHECK(ds_sketch_add(&s, 0.0) == DS_OK);
    allocs_left = -1;
    CHECK(s.count == 1 && s.zero == 1 && s.pos_len == 0 && s.neg_len == 0);
    CHECK(ds_sketch_add(&s, 1.0) == DS_OK);
    CHECK(ds_sketch_add(&s, -1.0) == DS_OK);
    allocs_left = 0;
    CHECK(ds_sketch_add(&s, 1.0001) == DS_OK);
    CHECK(ds_sketch_add_log(&s, 0.0002) == DS_OK);
    /* Growth on either side of either store fails cleanly. */
    ds_sketch before;
    ds_sketch_init(&before);
    allocs_left = -1;
    CHECK(ds_sketch_merge(&before, &s) == DS_OK);
    allocs_left = 0;
    /* (Within W = DS_SKETCH_MAX_BUCKETS keys: growth, not collapse.) */
    CHECK(ds_sketch_add(&s, 1e2) == DS_ERR_NOMEM);
    CHECK(ds_sketch_add(&s, 1e-2) == DS_ERR_NOMEM);
    CHECK(ds_sketch_add(&s, -1e2) == DS_ERR_NOMEM);
    CHECK(ds_sketch_add(&s, -1e-2) == DS_ERR_NOMEM);
    CHECK(ds_sketch_add_log(&s, 4.0) == DS_ERR_NOMEM);
    allocs_left = -1;
    CHECK(tu_sketch_same_counts(&s, &before));
    CHECK(tu_same_bits(ds_sketch_quantile(&s, 0.5, (double)NAN, (double)NAN),
                       ds_sketch_quantile(&before, 0.5, (double)NAN, (double)NAN)));

    /* A merge that must grow: counts unchanged on failure, whichever store
     * fails (the positive one first, then the negative one). */
    ds_sketch wide;
    ds_sketch_init(&wide);
    CHECK(ds_sketch_add(&wide, 1e12) == DS_OK);
    CHECK(ds_sketch_add(&wide, -1e12) == DS_OK);
    for (long k = 0; k < 2; ++k) {
        allocs_left = k;
        CHECK(ds_sketch_merge(&s, &wide) == DS_ERR_NOMEM);
        allocs_left = -1;
        CHECK(tu_sketch_same_counts(&s, &before));
    }
    CHECK(ds_sketch_merge(&s, &wide) == DS_OK);
    CHECK(s.count == before.count + 2);
    ds_sketch_clear(&wide);
    ds_sketch_clear(&before);
    ds_sketch_clear(&s);
}

/* A two-investor block with distinct masks and positive values. */
static void fill_block(ds_block *blk, size_t n, size_t ni, size_t h)
{
    memset(blk, 0, sizeof *blk);
    blk->n = n;
    blk->n_investors = ni;
    blk->horizon = h;
    for (size_t o = 0; o < DS_OUT_POST_MONEY; ++o) {
        CHECK((blk->out[o] = calloc(n, sizeof(double))) != NULL);
        for (size_t t = 0; t < n; ++t)
            blk->out[o][t] = (double)(t + 1);
    }
    CHECK((blk->joined_mask = calloc(n, sizeof(uint64_t))) != NULL);
    CHECK((blk->amount = calloc(n * ni, sizeof(double))) != NULL);
    CHECK((blk->paid = calloc(n * ni, sizeof(double))) != NULL);
    CHECK((blk->joined = calloc(n * ni, 1)) != NULL);
    CHECK((blk->log_price = calloc((n + DS_MODEL_LANES - 1) / DS_MODEL_LANES * DS_MODEL_LANES * h, sizeof(double))) != NULL);
    CHECK((blk->price = calloc(n * h, sizeof(double))) != NULL);
    for (size_t t = 0; t < n; ++t) {
        blk->joined_mask[t] = t % 4u;
        for (size_t i = 0; i < ni; ++i) {
            blk->amount[t * ni + i] = 1.0 + (double)t;
            blk->paid[t * ni + i] = 2.0 + (double)t;
            blk->joined[t * ni + i] = (uint8_t)((t >> i) & 1u);
        }
        for (size_t m = 0; m < h; ++m) {
            blk->log_price[ds_block_lp_at(h, t, m)] = 0.01 * (double)(t + m);
            blk->price[t * h + m] = exp(0.01 * (double)(t + m));
        }
    }
}


/* Accumulators whose full block is N trials (stats.h, block_size): the
 * hand-made blocks here are full blocks, not a tail. */
static ds_stats *alloc_small(size_t ni, size_t h, uint64_t n)
{
    ds_stats *s = ds_stats_alloc_shape(DS_OUT_POST_MONEY, ni, h);
    if (s)
        s->block_size = n;
    return s;
}

static void test_stats(void)
{
    enum { NI = 2, H = 3, N = 64 };
    ds_block blk;
    fill_block(&blk, N, NI, H);
    ds_stats *p = alloc_small(NI, H, N);
    ds_stats *g = alloc_small(NI, H, N);
    CHECK(p && g);

    /* The coalition table of a partial. */
    allocs_left = 0;
    CHECK(ds_stats_block_moments(p, &blk) == DS_ERR_NOMEM);
    allocs_left = -1;
    CHECK(ds_stats_block_moments(p, &blk) == DS_OK);

    /* Committing: every failing allocation (the leaf, the forest and
     * checkpoint arrays, each carry's parent) leaves the accumulator as it
     * was; block 3 carries twice (with 2, then with [0, 2)). */
    long k = 0;
    for (;; ++k) {
        ds_stats *fresh = alloc_small(NI, H, N);
        CHECK(fresh);
        for (uint64_t b = 0; b < 3; ++b)
            CHECK(ds_stats_commit_block(fresh, p, b) == DS_OK);
        CHECK(fresh->n_nodes == 2 && fresh->n_node_cps == 2);
        allocs_left = k;
        ds_status st = ds_stats_commit_block(fresh, p, 3);
        allocs_left = -1;
        if (st == DS_OK) {
            CHECK(fresh->n_nodes == 1 && fresh->n_node_cps == 3 && fresh->blocks == 4);
            ds_stats_free(fresh);
            break;
        }
        CHECK(st == DS_ERR_NOMEM);
        CHECK(fresh->trials == 3 * N && fresh->blocks == 3 && fresh->n_nodes == 2 &&
              fresh->n_node_cps == 2);
        CHECK(ds_stats_commit_block(fresh, p, 3) == DS_OK); /* and it still works */
        CHECK(ds_stats_finalize(fresh, NULL) == DS_OK && fresh->n_checkpoints == 3);
        ds_stats_free(fresh);
    }
    CHECK(k >= 6); /* leaf (2), two carries (2 each) */
    /* The first commit reserves the forest and the checkpoints. */
    for (k = 0;; ++k) {
        ds_stats *fresh = alloc_small(NI, H, N);
        CHECK(fresh);
        allocs_left = k;
        ds_status st = ds_stats_commit_block(fresh, p, 0);
        allocs_left = -1;
        CHECK(st == DS_OK || (st == DS_ERR_NOMEM && fresh->n_nodes == 0 && fresh->blocks == 0));
        ds_stats_free(fresh);
        if (st == DS_OK)
            break;
    }
    CHECK(k >= 4);

    /* g: blocks 0..8; finalize fails cleanly at every allocation. */
    for (uint64_t b = 0; b < 9; ++b)
        CHECK(ds_stats_commit_block(g, p, b) == DS_OK);
    for (k = 0;; ++k) {
        allocs_left = k;
        ds_status st = ds_stats_finalize(g, NULL);
        allocs_left = -1;
        if (st == DS_OK)
            break;
        CHECK(st == DS_ERR_NOMEM && g->n_checkpoints == 0);
    }
    CHECK(k >= 4 && g->n_checkpoints == 5 && g->checkpoints[4].blocks == 9);

    /* Merging forests and sketches: fails cleanly (no crash, no leak). */
    ds_stats *l2 = alloc_small(NI, H, N);
    CHECK(l2);
    CHECK(ds_stats_add_sketches(l2, &blk) == DS_OK);
    for (uint64_t b = 9; b < 12; ++b)
        CHECK(ds_stats_commit_block(l2, p, b) == DS_OK);
    for (k = 0;; ++k) {
        ds_stats *m = alloc_small(NI, H, N);
        CHECK(m);
        CHECK(ds_stats_commit_block(m, p, 12) == DS_OK);
        allocs_left = k;
        ds_status st = ds_stats_merge(m, l2);
        allocs_left = -1;
        ds_stats_free(m);
        if (st == DS_OK)
            break;
        CHECK(st == DS_ERR_NOMEM);
    }
    CHECK(k >= 3);

    /* Export and import: every allocation. */
    ds_state *ref = NULL;
    CHECK(ds_stats_merge(g, l2) == DS_OK && ds_stats_export(g, &ref) == DS_OK);
    for (k = 0;; ++k) {
        ds_state *x = NULL;
        allocs_left = k;
        ds_status st = ds_stats_export(g, &x);
        allocs_left = -1;
        CHECK((st == DS_OK) == (x != NULL));
        ds_state_free(x);
        if (st == DS_OK)
            break;
        CHECK(st == DS_ERR_NOMEM);
    }
    CHECK(k >= 20);
    for (k = 0;; ++k) {
        ds_stats *x = NULL;
        ds_diag d;
        allocs_left = k;
        ds_status st = ds_stats_import(NULL, ref, &x, &d);
        allocs_left = -1;
        CHECK((st == DS_OK) == (x != NULL));
        ds_stats_free(x);
        if (st == DS_OK)
            break;
        CHECK(st == DS_ERR_NOMEM && d.status == DS_ERR_NOMEM);
    }
    CHECK(k >= 10);
    ds_state_free(ref);

    /* Sketches: the first add of each sketch allocates. */
    ds_stats *l = alloc_small(NI, H, N);
    CHECK(l);
    allocs_left = 0;
    CHECK(ds_stats_add_sketches(l, &blk) == DS_ERR_NOMEM);
    allocs_left = -1;

    /* Sorting the coalitions. */
    allocs_left = 0;
    CHECK(ds_stats_sorted_coalitions(g) == NULL);
    allocs_left = -1;
    ds_coalition *c = ds_stats_sorted_coalitions(g);
    CHECK(c && c[0].count > 0);
    free(c);

    ds_stats_free(l);
    ds_stats_free(l2);
    ds_stats_free(p);
    ds_stats_free(g);
    ds_block_clear(&blk);
}

int main(void)
{
    test_alloc(DS_OUT_POST_MONEY);
    test_alloc(DS_OUT_COUNT);
    test_sketch();
    test_stats();
    printf("test_stats_oom: ok\n");
    return 0;
}
