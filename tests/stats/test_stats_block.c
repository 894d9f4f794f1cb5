/* tests/stats/test_stats_block.c
 * Unit tests of the block-level accumulators on hand-filled blocks (no
 * model): block moments against direct computation, block-ordered merges
 * (bit-identical however the partials are produced), checkpoints,
 * coalitions, sketches partitioned over "threads", shape errors.
 * Licence: see LICENSE at the top of the repository.
 */
#include "stats_test_util.h"

#include <float.h>

/* Chan merges of block partials against one Welford pass over all trials. */
#define TOL_MERGE 1e-12

#define NI 3
#define H 7
#define BT 500      /* trials in a full test block */
#define NB 5        /* blocks; the last is partial */
#define LAST_N 123

/* Test blocks hold BT trials: only the last (shorter) one is a tail. */
static ds_stats *tb_alloc_shape(size_t no, size_t ni, size_t h)
{
    ds_stats *s = ds_stats_alloc_shape(no, ni, h);
    if (s)
        s->block_size = BT;
    return s;
}
#define ds_stats_alloc_shape tb_alloc_shape

static size_t block_n(size_t b) { return b + 1 < NB ? BT : LAST_N; }


/* Block b of a made-up model: values depend only on (b, t), like the real
 * kernel's.  NaNs where the model has them (hhi, top_share when total = 0;
 * round_trip_share at random). */
static void tb_fill(ds_block *blk, size_t n_outputs, size_t ni, size_t h, size_t b)
{
    size_t n = block_n(b);
    memset(blk, 0, sizeof *blk);
    blk->block = b;
    blk->first = b * BT;
    blk->n = n;
    blk->n_investors = ni;
    blk->horizon = h;
    for (size_t o = 0; o < n_outputs; ++o)
        CHECK((blk->out[o] = calloc(n, sizeof(double))) != NULL);
    CHECK((blk->joined_mask = calloc(n, sizeof(uint64_t))) != NULL);
    CHECK((blk->amount = calloc(n * ni + 1, sizeof(double))) != NULL);
    CHECK((blk->paid = calloc(n * ni + 1, sizeof(double))) != NULL);
    CHECK((blk->joined = calloc(n * ni + 1, 1)) != NULL);
    if (n_outputs == DS_OUT_COUNT)
        CHECK((blk->stake = calloc(n * ni + 1, sizeof(double))) != NULL);
    /* The log prices in the kernel's lane tiles (model.h ds_block_lp_at). */
    CHECK((blk->log_price = calloc((n + DS_MODEL_LANES - 1) / DS_MODEL_LANES * DS_MODEL_LANES * h, sizeof(double))) != NULL);
    CHECK((blk->price = calloc(n * h, sizeof(double))) != NULL);

    tu_rng r = {1000 + b};
    const double p_join[NI] = {0.7, 0.4, 0.2};
    for (size_t t = 0; t < n; ++t) {
        uint64_t mask = 0;
        double total = 0.0, paid = 0.0, top = 0.0, hhi = 0.0;
        size_t joined = 0;
        for (size_t i = 0; i < ni; ++i) {
            size_t k = t * ni + i;
            int j = tu_uniform(&r) < p_join[i % NI];
            blk->joined[k] = (uint8_t)j;
            blk->amount[k] = j ? exp(tu_normal(&r)) : 0.0;
            blk->paid[k] = tu_uniform(&r) < 0.8 ? blk->amount[k] : 0.0;
            if (blk->stake)
                blk->stake[k] = blk->amount[k] / 50.0;
            if (j)
                mask |= UINT64_C(1) << i;
            joined += (size_t)j;
            total += blk->amount[k];
            paid += blk->paid[k];
            top = blk->amount[k] > top ? blk->amount[k] : top;
        }
        for (size_t i = 0; i < ni; ++i) {
            double sh = blk->amount[t * ni + i] / total;
            hhi += sh * sh;
        }
        blk->joined_mask[t] = mask;
        for (size_t o = 0; o < n_outputs; ++o)
            blk->out[o][t] = tu_normal(&r); /* outputs not set below */
        blk->out[DS_OUT_TOTAL][t] = total;
        blk->out[DS_OUT_PAID][t] = paid;
        blk->out[DS_OUT_INVESTORS_JOINED][t] = (double)joined;
        blk->out[DS_OUT_JOINED_MASK][t] = (double)mask;
        blk->out[DS_OUT_CLOSED][t] = total > 0.0;
        blk->out[DS_OUT_TARGET_MET][t] = total >= 2.0;
        blk->out[DS_OUT_HHI][t] = total > 0.0 ? hhi : (double)NAN;
        blk->out[DS_OUT_TOP_SHARE][t] = total > 0.0 ? top / total : (double)NAN;
        /* NaN, +inf and -inf (which the model never makes) counted apart. */
        const double u = tu_uniform(&r);
        blk->out[DS_OUT_ROUND_TRIP_SHARE][t] = u < 0.1    ? (double)NAN
                                               : u < 0.13 ? (double)INFINITY
                                               : u < 0.15 ? -(double)INFINITY
                                                          : 0.3;
        double lp = 0.0;
        for (size_t m = 0; m < h; ++m) {
            lp += 0.1 * tu_normal(&r);
            blk->log_price[ds_block_lp_at(h, t, m)] = lp;
            blk->price[t * h + m] = exp(lp);
        }
        /* Non-finite prices (the model makes none) in month 1 at the same
         * trials as above, and month 2 never finite: the vectorised price
         * moments must count them apart exactly like a lone column. */
        if (h > 2) {
            const double bad = u < 0.1 ? (double)NAN : u < 0.13 ? (double)INFINITY : 0.0;
            if (bad != 0.0) {
                blk->log_price[ds_block_lp_at(h, t, 1)] = bad;
                blk->price[t * h + 1] = bad;
            }
            blk->log_price[ds_block_lp_at(h, t, 2)] = (double)NAN;
            blk->price[t * h + 2] = (double)NAN;
        }
    }
}

/* The reference for a block partial, written out independently from
 * stats.h's description: two passes over a strided column in trial order on
 * the values shifted by the first finite one, K: the sum S and count of
 * x - K, then the squared deviations from S/n; mean = K + S/n. */
static ds_moments column(const double *v, size_t n, size_t stride, size_t off)
{
    ds_moments mo;
    ds_moments_init(&mo);
    double k = 0.0, sum = 0.0, lo = (double)INFINITY, hi = -(double)INFINITY;
    for (size_t t = 0; t < n; ++t)
        if (isfinite(v[t * stride + off])) {
            k = v[t * stride + off];
            break;
        }
    for (size_t t = 0; t < n; ++t) {
        const double x = v[t * stride + off];
        if (!isfinite(x)) {
            if (isnan(x))
                mo.nan++;
            else if (x > 0.0)
                mo.posinf++;
            else
                mo.neginf++;
            continue;
        }
        mo.n++;
        sum += x - k;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    if (mo.n == 0)
        return mo;
    const double s = sum / (double)mo.n;
    mo.m2 = 0.0;
    for (size_t t = 0; t < n; ++t) {
        const double x = v[t * stride + off];
        if (isfinite(x)) {
            const double d = (x - k) - s;
            mo.m2 += d * d;
        }
    }
    mo.mean = k + s;
    mo.min = lo;
    mo.max = hi;
    return mo;
}

static int same_moments(const ds_moments *a, const ds_moments *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* column() over the trials t < n with sel[t * ss] != 0 only. */
static ds_moments column_given(const double *v, size_t stride, size_t off, const uint8_t *sel,
                               size_t ss, size_t n)
{
    double *x = malloc((n + 1) * sizeof *x);
    CHECK(x != NULL);
    size_t m = 0;
    for (size_t t = 0; t < n; ++t)
        if (sel[t * ss])
            x[m++] = v[t * stride + off];
    const ds_moments mo = column(x, m, 1, 0);
    free(x);
    return mo;
}

/* The conditional moments of a block (conditional.c, the SIMD column
 * path) against column() on each condition's trials, bit for bit: every
 * output given closed, target_met and each investor joining, and the
 * investors' amount, paid and stake if they join (NaN and infinities
 * included: round_trip_share has them). */
static void check_cond_moments(const ds_stats *p, const ds_block *blk, size_t n_outputs)
{
    const size_t n = blk->n;
    uint8_t *sel = malloc(DS_COND_BOOLS * n + 1);
    CHECK(sel != NULL);
    for (size_t t = 0; t < n; ++t) {
        sel[t] = blk->out[DS_OUT_CLOSED][t] != 0.0;
        sel[n + t] = blk->out[DS_OUT_TARGET_MET][t] != 0.0;
    }
    for (size_t c = 0; c < DS_COND_BOOLS + NI; ++c) {
        const uint8_t *sc = c < DS_COND_BOOLS ? sel + c * n : blk->joined + (c - DS_COND_BOOLS);
        const size_t ss = c < DS_COND_BOOLS ? 1 : NI;
        for (size_t o = 0; o < n_outputs; ++o) {
            const ds_moments ref = column_given(blk->out[o], 1, 0, sc, ss, n);
            CHECK(same_moments(&DS_COND_OUT(p, p->cond_view, c, o), &ref));
        }
    }
    for (size_t i = 0; i < NI; ++i) {
        const double *q[3] = {blk->amount, blk->paid, blk->stake};
        for (size_t k = 0; k < (blk->stake ? 3u : 2u); ++k) {
            const ds_moments ref = column_given(q[k], NI, i, blk->joined + i, NI, n);
            CHECK(same_moments(&DS_COND_INV(p, p->cond_view, i, k), &ref));
        }
    }
    free(sel);
}

static void test_block_moments(size_t n_outputs)
{
    ds_stats *p = ds_stats_alloc_shape(n_outputs, NI, H);
    CHECK(p);
    CHECK(ds_cond_setup(p) == DS_OK);
    CHECK((p->inv_stake != NULL) == (n_outputs == DS_OUT_COUNT));
    ds_block blk;
    tb_fill(&blk, n_outputs, NI, H, 0);
    /* Twice: the second call must reset, not accumulate. */
    for (int rep = 0; rep < 2; ++rep) {
        CHECK(ds_stats_block_moments(p, &blk) == DS_OK);
        CHECK(p->trials == BT && p->blocks == 1 && p->n_checkpoints == 0);
        for (size_t o = 0; o < n_outputs; ++o) {
            ds_moments ref = column(blk.out[o], BT, 1, 0);
            CHECK(same_moments(&p->out[o], &ref));
        }
        CHECK(p->out[DS_OUT_HHI].nan > 0);
        for (size_t i = 0; i < NI; ++i) {
            ds_moments a = column(blk.amount, BT, NI, i), pd = column(blk.paid, BT, NI, i);
            CHECK(same_moments(&p->inv_amount[i], &a));
            CHECK(same_moments(&p->inv_paid[i], &pd));
            if (blk.stake) {
                ds_moments st = column(blk.stake, BT, NI, i);
                CHECK(same_moments(&p->inv_stake[i], &st));
            }
        }
        for (size_t m = 0; m < H; ++m) {
            ds_moments pr = column(blk.price, BT, H, m);
            CHECK(same_moments(&p->price[m], &pr));
        }
        check_cond_moments(p, &blk, n_outputs);
        /* Coalitions: count and trial-ordered sum of total per mask. */
        uint64_t count[1u << NI] = {0};
        double sum[1u << NI] = {0};
        for (size_t t = 0; t < BT; ++t) {
            count[blk.joined_mask[t]]++;
            sum[blk.joined_mask[t]] += blk.out[DS_OUT_TOTAL][t];
        }
        size_t distinct = 0;
        for (size_t k = 0; k < (1u << NI); ++k)
            distinct += count[k] != 0;
        CHECK(p->n_coalitions == distinct);
        ds_coalition *c = ds_stats_sorted_coalitions(p);
        CHECK(c);
        uint64_t seen = 0;
        for (size_t k = 0; k < p->n_coalitions; ++k) {
            CHECK(c[k].count == count[c[k].mask]);
            CHECK(tu_same_bits(c[k].sum_total, sum[c[k].mask]));
            if (k > 0)
                CHECK(c[k - 1].count > c[k].count ||
                      (c[k - 1].count == c[k].count && c[k - 1].mask < c[k].mask));
            seen += c[k].count;
        }
        CHECK(seen == BT);
        free(c);
    }
    ds_block_clear(&blk);
    ds_stats_free(p);
}


static void test_merge_moments(size_t n_outputs)
{
    ds_block blk[NB];
    for (size_t b = 0; b < NB; ++b)
        tb_fill(&blk[b], n_outputs, NI, H, b);

    /* A: one partial reused, merged as each block is done. */
    ds_stats *ga = ds_stats_alloc_shape(n_outputs, NI, H), *p = ds_stats_alloc_shape(n_outputs, NI, H);
    CHECK(ga && p);
    for (size_t b = 0; b < NB; ++b) {
        CHECK(ds_stats_block_moments(p, &blk[b]) == DS_OK);
        CHECK(ds_stats_commit_block(ga, p, b) == DS_OK);
    }
    CHECK(ds_stats_finalize(ga, NULL) == DS_OK);
    /* B: every partial computed first (in reverse, as threads might), then
     * committed in reverse block order: the tree fixes the result. */
    ds_stats *gb = ds_stats_alloc_shape(n_outputs, NI, H), *parts[NB];
    CHECK(gb);
    for (size_t b = NB; b-- > 0;) {
        CHECK((parts[b] = ds_stats_alloc_shape(n_outputs, NI, H)) != NULL);
        CHECK(ds_stats_block_moments(parts[b], &blk[b]) == DS_OK);
    }
    for (size_t b = NB; b-- > 0;) {
        /* Not finalizable with a gap (until block 0 is in). */
        CHECK(b == 0 || b + 1 == NB || ds_stats_finalize(gb, NULL) == DS_ERR_INTERNAL);
        CHECK(ds_stats_commit_block(gb, parts[b], b) == DS_OK);
        /* Each block once. */
        CHECK(ds_stats_commit_block(gb, parts[b], b) == DS_ERR_INTERNAL);
    }
    CHECK(ds_stats_finalize(gb, NULL) == DS_OK);
    tu_check_same_floating(ga, gb);

    /* Against one pass over all trials. */
    const size_t total_n = (NB - 1) * BT + LAST_N;
    CHECK(ga->trials == total_n && ga->blocks == NB);
    for (size_t o = 0; o < n_outputs; ++o) {
        ds_moments ref;
        ds_moments_init(&ref);
        for (size_t b = 0; b < NB; ++b)
            for (size_t t = 0; t < blk[b].n; ++t)
                ds_moments_add(&ref, blk[b].out[o][t]);
        CHECK(ga->out[o].n == ref.n && ga->out[o].nan == ref.nan);
        /* Different summation orders differ by rounding relative to the
         * values' magnitude, not the mean's: a mean near 0 of values of size
         * 1 is only known to ~1e-16 absolute.  So the scale is |mean| + sd. */
        const double scale = fabs(ref.mean) + ds_moments_sd(&ref);
        CHECK(fabs(ga->out[o].mean - ref.mean) <= TOL_MERGE * scale);
        CHECK(fabs(ds_moments_sd(&ga->out[o]) - ds_moments_sd(&ref)) <= TOL_MERGE * scale);
        CHECK(ga->out[o].min == ref.min && ga->out[o].max == ref.max);
    }
    /* Checkpoints after 1, 2, 4 blocks and at the end. */
    CHECK(ga->n_checkpoints == 4);
    CHECK(ga->checkpoints[0].trials == BT && ga->checkpoints[1].trials == 2 * BT &&
          ga->checkpoints[2].trials == 4 * BT && ga->checkpoints[3].trials == total_n);
    CHECK(tu_same_bits(ga->checkpoints[0].mean[DS_OUT_TOTAL], parts[0]->out[DS_OUT_TOTAL].mean));
    CHECK(tu_same_bits(ga->checkpoints[0].stderr_[DS_OUT_TOTAL],
                       ds_moments_stderr(&parts[0]->out[DS_OUT_TOTAL])));
    CHECK(tu_same_bits(ga->checkpoints[3].mean[DS_OUT_PAID], ga->out[DS_OUT_PAID].mean));
    for (size_t o = n_outputs; o < DS_OUT_COUNT; ++o)
        CHECK(isnan(ga->checkpoints[3].mean[o]) && isnan(ga->checkpoints[3].stderr_[o]));

    /* Final at a power of two: no duplicate checkpoint. */
    ds_stats *gc = ds_stats_alloc_shape(n_outputs, NI, H);
    CHECK(gc);
    for (size_t b = 0; b < 4; ++b)
        CHECK(ds_stats_commit_block(gc, parts[b], b) == DS_OK);
    CHECK(ds_stats_finalize(gc, NULL) == DS_OK);
    CHECK(gc->n_checkpoints == 3 && gc->checkpoints[2].trials == 4 * BT &&
          gc->checkpoints[2].blocks == 4);
    CHECK(ds_stats_finalize(gc, NULL) == DS_OK && gc->n_checkpoints == 3); /* again: the same */

    /* Coalitions of the whole run. */
    uint64_t seen = 0;
    ds_coalition *c = ds_stats_sorted_coalitions(ga);
    CHECK(c);
    for (size_t k = 0; k < ga->n_coalitions; ++k)
        seen += c[k].count;
    CHECK(seen == total_n && ga->n_coalitions == (1u << NI));
    free(c);

    ds_stats_free(gc);
    for (size_t b = 0; b < NB; ++b) {
        ds_stats_free(parts[b]);
        ds_block_clear(&blk[b]);
    }
    ds_stats_free(ga);
    ds_stats_free(gb);
    ds_stats_free(p);
}


static void test_sketches(size_t n_outputs)
{
    ds_block blk[NB];
    for (size_t b = 0; b < NB; ++b)
        tb_fill(&blk[b], n_outputs, NI, H, b);
    /* One thread does every block. */
    ds_stats *one = ds_stats_alloc_shape(n_outputs, NI, H);
    CHECK(one);
    for (size_t b = 0; b < NB; ++b)
        CHECK(ds_stats_add_sketches(one, &blk[b]) == DS_OK);
    /* Counts agree with the moments: n + nan = trials. */
    ds_stats *g = ds_stats_alloc_shape(n_outputs, NI, H), *p = ds_stats_alloc_shape(n_outputs, NI, H);
    CHECK(g && p);
    for (size_t b = 0; b < NB; ++b) {
        CHECK(ds_stats_block_moments(p, &blk[b]) == DS_OK);
        CHECK(ds_stats_commit_block(g, p, b) == DS_OK);
    }
    CHECK(ds_stats_finalize(g, NULL) == DS_OK);
    for (size_t o = 0; o < n_outputs; ++o)
        CHECK(one->sk_out[o].count == g->out[o].n);
    for (size_t m = 0; m < H; ++m)
        CHECK(one->sk_price[m].count == g->price[m].n);
    for (size_t i = 0; i < NI; ++i) {
        uint64_t j = 0;
        for (size_t b = 0; b < NB; ++b)
            for (size_t t = 0; t < blk[b].n; ++t)
                j += blk[b].joined[t * NI + i];
        CHECK(one->inv_joined[i] == j);
    }
    /* 2 and 3 "threads": blocks dealt round-robin or in runs, merged in
     * either order, give the same counts. */
    for (size_t nt = 2; nt <= 3; ++nt)
        for (int deal = 0; deal < 2; ++deal)
            for (int rev = 0; rev < 2; ++rev) {
                ds_stats *th[3];
                for (size_t k = 0; k < nt; ++k)
                    CHECK((th[k] = ds_stats_alloc_shape(n_outputs, NI, H)) != NULL);
                for (size_t b = 0; b < NB; ++b) {
                    size_t k = deal ? b % nt : b * nt / NB;
                    CHECK(ds_stats_add_sketches(th[k], &blk[b]) == DS_OK);
                }
                ds_stats *all = ds_stats_alloc_shape(n_outputs, NI, H);
                CHECK(all);
                for (size_t k = 0; k < nt; ++k)
                    CHECK(ds_stats_merge(all, th[rev ? nt - 1 - k : k]) == DS_OK);
                tu_check_same_sketches(all, one);
                for (size_t o = 0; o < n_outputs; ++o)
                    CHECK(tu_same_bits(ds_sketch_quantile(&all->sk_out[o], 0.37, (double)NAN, (double)NAN),
                                       ds_sketch_quantile(&one->sk_out[o], 0.37, (double)NAN, (double)NAN)));
                ds_stats_free(all);
                for (size_t k = 0; k < nt; ++k)
                    ds_stats_free(th[k]);
            }
    /* The price fan sketch: within alpha of the exact month quantile. */
    {
        const size_t total_n = (NB - 1) * BT + LAST_N, m = H - 1;
        double *v = malloc(total_n * sizeof *v);
        CHECK(v);
        size_t k = 0;
        for (size_t b = 0; b < NB; ++b)
            for (size_t t = 0; t < blk[b].n; ++t)
                v[k++] = blk[b].price[t * H + m];
        qsort(v, total_n, sizeof *v, tu_cmp_double);
        for (int j = 1; j < 100; ++j) {
            double q = j / 100.0, truth = v[(size_t)floor((double)(total_n - 1) * q)];
            CHECK(tu_rel_close(ds_sketch_quantile(&one->sk_price[m], q, (double)NAN, (double)NAN), truth,
                               DS_SKETCH_ALPHA + 1e-12));
        }
        free(v);
    }
    ds_stats_free(one);
    ds_stats_free(g);
    ds_stats_free(p);
    for (size_t b = 0; b < NB; ++b)
        ds_block_clear(&blk[b]);
}

/* The chunked adds of ds_stats_add_sketches count every value exactly as
 * ds_sketch_add does, one at a time in trial order, whatever the values:
 * zeros of both signs, either side of DS_SKETCH_MIN_ABS, negatives, the
 * extremes, subnormals, NaN and +-inf, among the outputs and the
 * investors' amounts and payments (run under every DEALSIM_SIMD path). */
static void test_sketch_adds_exact(size_t n_outputs)
{
    static const double edge[] = {0.0,     -0.0,     1e-300,   -1e-300,  DS_SKETCH_MIN_ABS,
                                  -DS_SKETCH_MIN_ABS, 0.999e-12, 1.0,   -1.0,     1e300,
                                  -1e300,  DBL_MAX,  -DBL_MAX, DBL_MIN,  5e-324,
                                  (double)NAN, (double)INFINITY, -(double)INFINITY, 0.5, -2.5e9};
    const size_t ne = sizeof edge / sizeof *edge;
    ds_block blk[NB];
    tu_rng r = {77};
    for (size_t b = 0; b < NB; ++b) {
        tb_fill(&blk[b], n_outputs, NI, H, b);
        for (size_t t = 0; t < blk[b].n; ++t) {
            for (size_t o = 0; o < n_outputs; ++o)
                if (tu_uniform(&r) < 0.3)
                    blk[b].out[o][t] = edge[(size_t)(tu_uniform(&r) * (double)ne) % ne];
            for (size_t i = 0; i < NI; ++i) {
                if (tu_uniform(&r) < 0.3)
                    blk[b].amount[t * NI + i] = edge[(size_t)(tu_uniform(&r) * (double)ne) % ne];
                if (tu_uniform(&r) < 0.3)
                    blk[b].paid[t * NI + i] = edge[(size_t)(tu_uniform(&r) * (double)ne) % ne];
            }
        }
    }
    ds_stats *one = ds_stats_alloc_shape(n_outputs, NI, H);
    CHECK(one);
    for (size_t b = 0; b < NB; ++b)
        CHECK(ds_stats_add_sketches(one, &blk[b]) == DS_OK);
    ds_sketch ref;
    for (size_t col = 0; col < n_outputs + 2 * NI; ++col) {
        ds_sketch_init(&ref);
        for (size_t b = 0; b < NB; ++b)
            for (size_t t = 0; t < blk[b].n; ++t) {
                const double x = col < n_outputs          ? blk[b].out[col][t]
                                 : col < n_outputs + NI ? blk[b].amount[t * NI + col - n_outputs]
                                                        : blk[b].paid[t * NI + col - n_outputs - NI];
                CHECK(ds_sketch_add(&ref, x) == DS_OK);
            }
        const ds_sketch *got = col < n_outputs        ? &one->sk_out[col]
                               : col < n_outputs + NI ? &one->sk_amount[col - n_outputs]
                                                      : &one->sk_paid[col - n_outputs - NI];
        CHECK(tu_sketch_same_counts(&ref, got));
        ds_sketch_clear(&ref);
    }
    ds_stats_free(one);
    for (size_t b = 0; b < NB; ++b)
        ds_block_clear(&blk[b]);
}

static void test_shapes(void)
{
    CHECK(ds_stats_alloc_shape(DS_OUT_COUNT + 1, 1, 1) == NULL);
    CHECK(ds_stats_alloc_shape(DS_OUT_POST_MONEY, DS_MAX_INVESTORS + 1, 1) == NULL);
    ds_stats_free(NULL);

    ds_stats *a = ds_stats_alloc_shape(DS_OUT_POST_MONEY, NI, H);
    ds_stats *b = ds_stats_alloc_shape(DS_OUT_POST_MONEY, NI + 1, H);
    ds_stats *c = ds_stats_alloc_shape(DS_OUT_COUNT, NI, H);
    CHECK(a && b && c);
    ds_block blk;
    tb_fill(&blk, DS_OUT_POST_MONEY, NI, H, 0);
    CHECK(ds_stats_block_moments(b, &blk) == DS_ERR_INTERNAL);
    CHECK(ds_stats_add_sketches(b, &blk) == DS_ERR_INTERNAL);
    /* A valuation accumulator needs the valuation outputs. */
    CHECK(ds_stats_block_moments(c, &blk) == DS_ERR_INTERNAL);
    CHECK(ds_stats_commit_block(a, b, 0) == DS_ERR_INTERNAL);
    CHECK(ds_stats_commit_block(a, c, 0) == DS_ERR_INTERNAL);
    CHECK(ds_stats_commit_block(a, a, 0) == DS_ERR_INTERNAL);
    CHECK(ds_stats_commit_block(a, a, 0) == DS_ERR_INTERNAL);
    CHECK(ds_stats_merge(a, b) == DS_ERR_INTERNAL);
    CHECK(ds_stats_merge(a, c) == DS_ERR_INTERNAL);
    CHECK(ds_stats_merge(a, a) == DS_ERR_INTERNAL);
    /* Something that is not a block partial (no block computed). */
    ds_stats *a2 = ds_stats_alloc_shape(DS_OUT_POST_MONEY, NI, H);
    CHECK(a2 && ds_stats_commit_block(a, a2, 0) == DS_ERR_INTERNAL);
    ds_stats_free(a2);
    CHECK(a->trials == 0 && a->blocks == 0 && a->n_checkpoints == 0);
    ds_block_clear(&blk);

    /* No investors: every trial has mask 0. */
    ds_stats *z = ds_stats_alloc_shape(DS_OUT_POST_MONEY, 0, 1);
    CHECK(z);
    tb_fill(&blk, DS_OUT_POST_MONEY, 0, 1, 0);
    CHECK(ds_stats_block_moments(z, &blk) == DS_OK);
    CHECK(ds_stats_add_sketches(z, &blk) == DS_OK);
    CHECK(z->n_coalitions == 1);
    ds_coalition *co = ds_stats_sorted_coalitions(z);
    CHECK(co && co[0].mask == 0 && co[0].count == BT);
    free(co);
    ds_block_clear(&blk);
    /* No coalitions at all yet: still a valid (empty) array. */
    co = ds_stats_sorted_coalitions(a);
    CHECK(co);
    free(co);
    ds_stats_free(z);
    ds_stats_free(a);
    ds_stats_free(b);
    ds_stats_free(c);
}

/* Many distinct masks: the coalition tables grow (and rehash) in both the
 * partial and the global accumulator. */
static void test_many_coalitions(void)
{
    enum { NIM = 20, N = 3000, K = 4 };
    ds_stats *g = ds_stats_alloc_shape(DS_OUT_POST_MONEY, NIM, 1);
    ds_stats *p = ds_stats_alloc_shape(DS_OUT_POST_MONEY, NIM, 1);
    CHECK(g && p);
    /* 20 investors: pooled (stats.h).  Track the masks 0..4095 (given in
     * reverse, with duplicates: set_tracked sorts them); 4096..4999 pool. */
    static uint64_t tracked[2 * DS_COAL_MAX_TRACKED];
    for (size_t k = 0; k < 2 * DS_COAL_MAX_TRACKED; ++k)
        tracked[k] = (uint64_t)(DS_COAL_MAX_TRACKED - 1 - k / 2);
    CHECK(ds_stats_set_tracked(g, tracked, 2 * DS_COAL_MAX_TRACKED) == DS_OK);
    CHECK(ds_stats_set_tracked(p, tracked, 2 * DS_COAL_MAX_TRACKED) == DS_OK);
    CHECK(g->n_tracked == DS_COAL_MAX_TRACKED && g->tracked[0] == 0);
    /* One mask too many is refused. */
    ds_stats *q = ds_stats_alloc_shape(DS_OUT_POST_MONEY, NIM, 1);
    CHECK(q);
    tracked[0] = DS_COAL_MAX_TRACKED;
    CHECK(ds_stats_set_tracked(q, tracked, 2 * DS_COAL_MAX_TRACKED) == DS_ERR_INTERNAL);
    /* A different tracked set does not merge. */
    CHECK(ds_stats_set_tracked(q, tracked, 2) == DS_OK);
    ds_block blk;
    memset(&blk, 0, sizeof blk);
    blk.n = N;
    blk.n_investors = NIM;
    blk.horizon = 1;
    for (size_t o = 0; o < DS_OUT_POST_MONEY; ++o)
        CHECK((blk.out[o] = calloc(N, sizeof(double))) != NULL);
    CHECK((blk.joined_mask = calloc(N, sizeof(uint64_t))) != NULL);
    CHECK((blk.amount = calloc(N * NIM, sizeof(double))) != NULL);
    CHECK((blk.paid = calloc(N * NIM, sizeof(double))) != NULL);
    CHECK((blk.joined = calloc(N * NIM, 1)) != NULL);
    CHECK((blk.log_price = calloc((N + DS_MODEL_LANES - 1) / DS_MODEL_LANES * DS_MODEL_LANES,
                                  sizeof(double))) != NULL);
    CHECK((blk.price = calloc(N, sizeof(double))) != NULL);
    tu_rng r = {31};
    uint64_t pooled = 0;
    double pooled_sum = 0.0;
    for (int b = 0; b < K; ++b) {
        for (size_t t = 0; t < N; ++t) {
            /* Masks from a small range so that blocks share many. */
            blk.joined_mask[t] = tu_next(&r) % 5000u;
            blk.out[DS_OUT_TOTAL][t] = (double)(blk.joined_mask[t] % 7u);
            if (blk.joined_mask[t] >= DS_COAL_MAX_TRACKED) {
                pooled++;
                pooled_sum += blk.out[DS_OUT_TOTAL][t];
            }
        }
        CHECK(ds_stats_block_moments(p, &blk) == DS_OK);
        CHECK(ds_stats_commit_block(g, p, (uint64_t)b) == DS_OK);
    }
    CHECK(ds_stats_finalize(g, NULL) == DS_OK);
    ds_coalition *c = ds_stats_sorted_coalitions(g);
    CHECK(c);
    uint64_t seen = 0;
    for (size_t k = 0; k < g->n_coalitions; ++k) {
        seen += c[k].count;
        /* total is a function of the mask here, so its mean is exact. */
        CHECK(c[k].sum_total == (double)(c[k].mask % 7u) * (double)c[k].count);
        if (k > 0)
            CHECK(c[k - 1].count > c[k].count ||
                  (c[k - 1].count == c[k].count && c[k - 1].mask < c[k].mask));
    }
    CHECK(seen + g->coal_other.count == (uint64_t)N * K && g->coal_other.count == pooled);
    CHECK(pooled > 1000 && g->n_coalitions > 2500 && g->n_coalitions <= DS_COAL_MAX_TRACKED);
    CHECK(g->coal_other.sum_total == pooled_sum); /* small integers: exact */
    CHECK(ds_stats_merge(g, q) == DS_ERR_INTERNAL);
    ds_stats_free(q);
    CHECK(g->cap_coalitions >= 2 * g->n_coalitions);
    free(c);
    ds_block_clear(&blk);
    ds_stats_free(g);
    ds_stats_free(p);
}

/* The lone columns' moments (the outputs and the investors', four at a
 * time in SIMD lanes) against column() bit for bit on values a model never
 * makes: signed zeros, NaN and infinities at random, runs of them before
 * the first finite value (the shift), a column never finite, sums that
 * overflow to infinity, and extremes of the double range. */
static void test_lone_column_edges(size_t n_outputs)
{
    static const double edge[] = {0.0,     -0.0,     1e-300,   -1e-300, 5e-324,  -5e-324,
                                  DBL_MAX, -DBL_MAX, DBL_MIN,  1.0,     -1.0,    2.5e9,
                                  (double)NAN, (double)INFINITY, -(double)INFINITY};
    const size_t ne = sizeof edge / sizeof *edge;
    tu_rng r = {4242};
    for (size_t b = 0; b < NB; ++b) {
        ds_block blk;
        tb_fill(&blk, n_outputs, NI, H, b);
        const size_t n = blk.n;
        for (size_t o = 0; o < n_outputs; ++o) {
            const double p_edge = (double)(o % 4) / 4.0; /* 0 in some lanes */
            for (size_t t = 0; t < n; ++t)
                if (tu_uniform(&r) < p_edge)
                    blk.out[o][t] = edge[(size_t)(tu_uniform(&r) * (double)ne) % ne];
            if (o % 5 == 1) /* the first finite value far down the column */
                for (size_t t = 0; t < n / 2; ++t)
                    blk.out[o][t] = t % 2 ? (double)NAN : -(double)INFINITY;
        }
        for (size_t t = 0; t < n; ++t) {
            blk.out[DS_OUT_UNPAID][t] = (double)NAN;                   /* never finite */
            blk.out[DS_OUT_SHORTFALL][t] = t % 3 ? DBL_MAX : -DBL_MAX; /* the sum overflows */
            blk.out[DS_OUT_HHI][t] = t % 2 ? 0.0 : -0.0;
            for (size_t i = 0; i < NI; ++i)
                if (tu_uniform(&r) < 0.3) {
                    const double e = edge[(size_t)(tu_uniform(&r) * (double)ne) % ne];
                    blk.amount[t * NI + i] = e;
                    blk.paid[t * NI + (i + 1) % NI] = e;
                    if (blk.stake)
                        blk.stake[t * NI + i] = -e;
                }
        }
        ds_stats *p = ds_stats_alloc_shape(n_outputs, NI, H);
        CHECK(p);
        CHECK(ds_stats_block_moments(p, &blk) == DS_OK);
        for (size_t o = 0; o < n_outputs; ++o) {
            const ds_moments ref = column(blk.out[o], n, 1, 0);
            CHECK(same_moments(&p->out[o], &ref));
        }
        CHECK(p->out[DS_OUT_UNPAID].n == 0 && p->out[DS_OUT_UNPAID].nan == n);
        CHECK(isinf(p->out[DS_OUT_SHORTFALL].mean) || isnan(p->out[DS_OUT_SHORTFALL].mean));
        for (size_t i = 0; i < NI; ++i) {
            const ds_moments a = column(blk.amount, n, NI, i), pd = column(blk.paid, n, NI, i);
            CHECK(same_moments(&p->inv_amount[i], &a));
            CHECK(same_moments(&p->inv_paid[i], &pd));
            if (blk.stake) {
                const ds_moments st = column(blk.stake, n, NI, i);
                CHECK(same_moments(&p->inv_stake[i], &st));
            }
        }
        ds_stats_free(p);
        ds_block_clear(&blk);
    }
}

/* The price months' moments for horizons that fill sets of eight columns
 * side by side and leave remainders (blockcols.c): every month against
 * column() bit for bit, with tb_fill's NaN and infinities in months 1 and
 * 2, signed zeros and overflowing values in month 9, the rest finite. */
static void test_price_sets(void)
{
    static const size_t hs[] = {8, 12, 19, 60};
    for (size_t k = 0; k < sizeof hs / sizeof *hs; ++k) {
        const size_t h = hs[k];
        ds_block blk;
        tb_fill(&blk, DS_OUT_COUNT, NI, h, 1);
        const size_t n = blk.n;
        if (h > 9)
            for (size_t t = 0; t < n; ++t)
                blk.price[t * h + 9] = t % 5 == 0 ? -0.0 : t % 5 == 1 ? DBL_MAX : t % 5 == 2 ? 0.0 : 1.5;
        ds_stats *p = ds_stats_alloc_shape(DS_OUT_COUNT, NI, h);
        CHECK(p);
        CHECK(ds_stats_block_moments(p, &blk) == DS_OK);
        for (size_t m = 0; m < h; ++m) {
            const ds_moments ref = column(blk.price, n, h, m);
            CHECK(same_moments(&p->price[m], &ref));
        }
        ds_stats_free(p);
        ds_block_clear(&blk);
    }
}

int main(void)
{
    const size_t shapes[2] = {DS_OUT_POST_MONEY, DS_OUT_COUNT};
    for (int s = 0; s < 2; ++s) {
        test_block_moments(shapes[s]);
        test_lone_column_edges(shapes[s]);
        test_merge_moments(shapes[s]);
        test_sketches(shapes[s]);
        test_sketch_adds_exact(shapes[s]);
    }
    test_shapes();
    test_price_sets();
    test_many_coalitions();
    printf("test_stats_block: ok\n");
    return 0;
}
