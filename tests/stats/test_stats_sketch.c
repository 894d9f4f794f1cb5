/* tests/stats/test_stats_sketch.c
 * Unit tests of ds_sketch: quantiles within the relative accuracy, exact
 * merges for any split and order, growth on both sides, negatives and zeros,
 * add_log, histograms.
 * Licence: see LICENSE at the top of the repository.
 */
#include "stats_test_util.h"

/* The guarantee is DS_SKETCH_ALPHA relative; the slack covers rounding in
 * ln x / ln gamma and in gamma^k near bucket edges (~1e-13 at most). */
#define TOL_QUANTILE (DS_SKETCH_ALPHA + 1e-12)

/* Checks every quantile on a grid against the exact order statistic
 * sorted[floor(q (n-1))], with and without the min/max clamp. */
static void check_quantiles(const ds_sketch *s, double *x, size_t n)
{
    qsort(x, n, sizeof *x, tu_cmp_double);
    CHECK(s->count == n);
    for (int j = 0; j <= 1000; ++j) {
        double q = j / 1000.0;
        double truth = x[(size_t)floor((double)(n - 1) * q)];
        double est = ds_sketch_quantile(s, q, (double)NAN, (double)NAN);
        double clamped = ds_sketch_quantile(s, q, x[0], x[n - 1]);
        /* The guarantee holds outside the collapsed low end of each sign
         * (stats.h, DS_SKETCH_MAX_BUCKETS): magnitudes more than gamma^(W-2)
         * below the largest of their sign may be collapsed. */
        double top = 0.0;
        for (size_t i = 0; i < n; ++i)
            if ((x[i] > 0) == (truth > 0) && fabs(x[i]) > top)
                top = fabs(x[i]);
        double kept = top * pow(s->gamma, -(double)DS_SKETCH_MAX_BUCKETS + 2.0);
        if (fabs(truth) < DS_SKETCH_MIN_ABS) { /* counted as zero */
            CHECK(est == 0.0 && clamped == 0.0);
        } else if (fabs(truth) < kept) {
            CHECK(fabs(est) <= kept * s->gamma * s->gamma);
        } else {
            CHECK(tu_rel_close(est, truth, TOL_QUANTILE));
            CHECK(tu_rel_close(clamped, truth, TOL_QUANTILE));
        }
        CHECK(clamped >= x[0] && clamped <= x[n - 1]);
    }
    /* The clamp makes the extremes exact. */
    CHECK(ds_sketch_quantile(s, 0.0, x[0], x[n - 1]) == x[0]);
    CHECK(ds_sketch_quantile(s, 1.0, x[0], x[n - 1]) == x[n - 1]);
}

static ds_sketch sketch_of(const double *x, size_t n)
{
    ds_sketch s;
    ds_sketch_init(&s);
    for (size_t i = 0; i < n; ++i)
        CHECK(ds_sketch_add(&s, x[i]) == DS_OK);
    return s;
}

static void test_known(void)
{
    /* 1..N: rank r holds r + 1. */
    enum { N = 100000 };
    double *x = malloc(N * sizeof *x);
    CHECK(x);
    for (size_t i = 0; i < N; ++i)
        x[i] = (double)(N - i); /* descending: growth to the left */
    ds_sketch s = sketch_of(x, N);
    check_quantiles(&s, x, N);
    /* Median of 1..N by the lower rule is N/2. */
    CHECK(tu_rel_close(ds_sketch_quantile(&s, 0.5, 1.0, N), N / 2.0, TOL_QUANTILE));
    ds_sketch_clear(&s);
    free(x);
}

/* Data sets that stress signs, zeros and range. */
static void fill_mixed(double *x, size_t n, uint64_t seed, int kind)
{
    tu_rng r = {seed};
    for (size_t i = 0; i < n; ++i) {
        double z = tu_normal(&r);
        switch (kind) {
        case 0: /* lognormal */
            x[i] = exp(1.5 * z);
            break;
        case 1: /* normal: both signs */
            x[i] = 3.0 * z - 1.0;
            break;
        case 2: /* an atom at 0 and both signs over 20 decades */
            x[i] = tu_uniform(&r) < 0.3 ? 0.0 : (z < 0 ? -1.0 : 1.0) * exp(10.0 * z);
            break;
        default: /* values below DS_SKETCH_MIN_ABS mixed in: they count as 0 */
            x[i] = tu_uniform(&r) < 0.2 ? 1e-13 * z : z;
            break;
        }
    }
}

static void test_distributions(void)
{
    enum { N = 200000 };
    double *x = malloc(N * sizeof *x);
    CHECK(x);
    for (int kind = 0; kind < 3; ++kind) {
        fill_mixed(x, N, 100u + (uint64_t)kind, kind);
        ds_sketch s = sketch_of(x, N);
        check_quantiles(&s, x, N);
        ds_sketch_clear(&s);
    }
    /* Tiny values: counted as zero, and the zero count says how many. */
    fill_mixed(x, N, 200, 3);
    ds_sketch s = sketch_of(x, N);
    uint64_t tiny = 0;
    for (size_t i = 0; i < N; ++i)
        tiny += fabs(x[i]) < DS_SKETCH_MIN_ABS;
    CHECK(tiny > N / 10 && s.zero == tiny && s.count == N);
    ds_sketch_clear(&s);
    free(x);
}

static void test_special(void)
{
    ds_sketch s;
    ds_sketch_init(&s);
    /* Empty: NaN. */
    CHECK(isnan(ds_sketch_quantile(&s, 0.5, 0.0, 1.0)));
    /* NaN and inf are not counted. */
    CHECK(ds_sketch_add(&s, (double)NAN) == DS_OK);
    CHECK(ds_sketch_add(&s, (double)INFINITY) == DS_OK);
    CHECK(ds_sketch_add(&s, -(double)INFINITY) == DS_OK);
    CHECK(ds_sketch_add_log(&s, (double)NAN) == DS_OK);
    CHECK(ds_sketch_add_log(&s, (double)INFINITY) == DS_OK);
    CHECK(ds_sketch_add_log(&s, 710.0) == DS_OK); /* exp overflows */
    CHECK(s.count == 0);
    /* Zeros, both ways. */
    CHECK(ds_sketch_add(&s, 0.0) == DS_OK);
    CHECK(ds_sketch_add(&s, -0.0) == DS_OK);
    CHECK(ds_sketch_add_log(&s, -(double)INFINITY) == DS_OK);
    CHECK(ds_sketch_add_log(&s, -30.0) == DS_OK); /* exp(-30) < 1e-12 */
    CHECK(s.count == 4 && s.zero == 4);
    CHECK(ds_sketch_quantile(&s, 0.5, (double)NAN, (double)NAN) == 0.0);
    /* One value: every quantile is it, exactly when clamped. */
    ds_sketch_clear(&s);
    CHECK(ds_sketch_add(&s, 3.7) == DS_OK);
    CHECK(ds_sketch_quantile(&s, 0.3, 3.7, 3.7) == 3.7);
    CHECK(tu_rel_close(ds_sketch_quantile(&s, 0.3, (double)NAN, (double)NAN), 3.7, TOL_QUANTILE));
    /* q outside [0, 1] is clamped; NaN q gives NaN. */
    CHECK(ds_sketch_quantile(&s, -1.0, 3.7, 3.7) == 3.7);
    CHECK(ds_sketch_quantile(&s, 2.0, 3.7, 3.7) == 3.7);
    CHECK(isnan(ds_sketch_quantile(&s, (double)NAN, 3.7, 3.7)));
    /* The extremes of the double range have buckets. */
    CHECK(ds_sketch_add(&s, DBL_MAX) == DS_OK);
    CHECK(ds_sketch_add(&s, -DBL_MAX) == DS_OK);
    CHECK(ds_sketch_add(&s, DS_SKETCH_MIN_ABS) == DS_OK);
    CHECK(ds_sketch_add(&s, -DS_SKETCH_MIN_ABS) == DS_OK);
    CHECK(ds_sketch_add_log(&s, 709.7) == DS_OK);
    CHECK(s.count == 6 && s.zero == 0);
    /* The top bucket (keys of DBL_MAX) is the one place the estimate is
     * within 2 alpha only: its nominal estimate overflows. */
    CHECK(tu_rel_close(ds_sketch_quantile(&s, 0.0, (double)NAN, (double)NAN), -DBL_MAX,
                       2.0 * TOL_QUANTILE));
    CHECK(ds_sketch_quantile(&s, 1.0, -DBL_MAX, DBL_MAX) == DBL_MAX);
    ds_sketch_clear(&s);
    ds_sketch_clear(&s); /* clearing twice is fine */
}

/* add_log(ln x) puts x in the bucket add(x) does (both use ln of the same
 * double). */
static void test_add_log(void)
{
    enum { N = 50000 };
    tu_rng r = {9};
    ds_sketch a, b;
    ds_sketch_init(&a);
    ds_sketch_init(&b);
    for (size_t i = 0; i < N; ++i) {
        double x = exp(5.0 * tu_normal(&r));
        CHECK(ds_sketch_add(&a, x) == DS_OK);
        CHECK(ds_sketch_add_log(&b, log(x)) == DS_OK);
    }
    CHECK(tu_sketch_same_counts(&a, &b));
    ds_sketch_clear(&a);
    ds_sketch_clear(&b);
}

/* Any split, merged in any order, gives the counts of the whole. */
static void test_merge(void)
{
    enum { N = 30000, MAXK = 12 };
    double *x = malloc(N * sizeof *x);
    CHECK(x);
    tu_rng r = {77};
    for (int kind = 0; kind < 3; ++kind) {
        fill_mixed(x, N, 300u + (uint64_t)kind, kind);
        ds_sketch whole = sketch_of(x, N);
        for (int rep = 0; rep < 10; ++rep) {
            size_t k = 1 + tu_below(&r, MAXK);
            ds_sketch part[MAXK];
            for (size_t p = 0; p < k; ++p)
                ds_sketch_init(&part[p]);
            /* Each value to a random part: an arbitrary split. */
            for (size_t i = 0; i < N; ++i)
                CHECK(ds_sketch_add(&part[tu_below(&r, k)], x[i]) == DS_OK);
            /* Merge in a random order, into an empty sketch or into a part. */
            size_t order[MAXK];
            for (size_t p = 0; p < k; ++p)
                order[p] = p;
            for (size_t p = k; p > 1; --p) {
                size_t j = tu_below(&r, p), t = order[p - 1];
                order[p - 1] = order[j];
                order[j] = t;
            }
            ds_sketch acc;
            ds_sketch_init(&acc);
            size_t start = 0;
            if (rep % 2) {
                acc = part[order[0]]; /* take ownership of the first part */
                ds_sketch_init(&part[order[0]]);
                start = 1;
            }
            for (size_t p = start; p < k; ++p)
                CHECK(ds_sketch_merge(&acc, &part[order[p]]) == DS_OK);
            CHECK(tu_sketch_same_counts(&acc, &whole));
            for (int j = 0; j <= 100; ++j) {
                double q = j / 100.0;
                CHECK(tu_same_bits(ds_sketch_quantile(&acc, q, -1.0, 1.0),
                                   ds_sketch_quantile(&whole, q, -1.0, 1.0)));
            }
            ds_sketch_clear(&acc);
            for (size_t p = 0; p < k; ++p)
                ds_sketch_clear(&part[p]);
        }
        /* Merging an empty sketch changes nothing, both ways. */
        ds_sketch empty, copy;
        ds_sketch_init(&empty);
        ds_sketch_init(&copy);
        CHECK(ds_sketch_merge(&copy, &whole) == DS_OK);
        CHECK(ds_sketch_merge(&copy, &empty) == DS_OK);
        CHECK(tu_sketch_same_counts(&copy, &whole));
        CHECK(ds_sketch_merge(&empty, &copy) == DS_OK);
        CHECK(tu_sketch_same_counts(&empty, &whole));
        ds_sketch_clear(&empty);
        ds_sketch_clear(&copy);
        ds_sketch_clear(&whole);
    }
    free(x);
}

/* Values marching away from the first one in both directions, for both
 * signs: the stores grow on each side and keep every count. */
static void test_growth(void)
{
    enum { N = 4000 };
    static double x[4 * N];
    size_t n = 0;
    for (size_t i = 0; i < N; ++i) {
        double up = pow(1.005, (double)i), down = pow(1.005, -(double)i);
        x[n++] = up;     /* right side of pos */
        x[n++] = down;   /* left side of pos */
        x[n++] = -up;    /* right side of neg */
        x[n++] = -down;  /* left side of neg */
    }
    ds_sketch s = sketch_of(x, n);
    /* Keys span +-N ln 1.005 / ln gamma ~ +-9970 around 0 on both stores:
     * each is bounded to W keys ending at the top one, the rest collapsed. */
    CHECK(s.pos_len <= DS_SKETCH_MAX_BUCKETS && s.neg_len <= DS_SKETCH_MAX_BUCKETS);
    CHECK((int64_t)s.pos_lo + s.pos_len > 9000 && (int64_t)s.neg_lo + s.neg_len > 9000);
    CHECK(s.pos_collapsed > 0 && s.neg_collapsed > 0);
    CHECK(s.pos_len <= s.pos_cap && s.neg_len <= s.neg_cap);
    /* Shuffled order: same counts. */
    tu_rng r = {5};
    double *y = malloc(n * sizeof *y);
    CHECK(y);
    memcpy(y, x, n * sizeof *y);
    for (size_t i = n; i > 1; --i) {
        size_t j = tu_below(&r, i);
        double t = y[i - 1];
        y[i - 1] = y[j];
        y[j] = t;
    }
    ds_sketch t = sketch_of(y, n);
    CHECK(tu_sketch_same_counts(&s, &t));
    check_quantiles(&s, y, n);
    ds_sketch_clear(&s);
    ds_sketch_clear(&t);
    free(y);
}

/* The collapse is partition-invariant (stats.h): values spanning ~4 W keys
 * on both signs, dealt at random to 1..8 sketches in random order and
 * merged pairwise in random order, give the counts of one sketch fed in
 * order -- and those equal the raw bucket counts collapsed once at the
 * final threshold (top key - W + 1), computed here by hand. */
static void test_collapse(void)
{
    enum { N = 20000 };
    static double x[N];
    tu_rng r = {77};
    for (size_t i = 0; i < N; ++i) {
        double v = exp(-16.0 + 32.0 * tu_uniform(&r)); /* ~1e-7 .. 1e7 */
        x[i] = tu_below(&r, 3) == 0 ? -v : v;
    }
    ds_sketch ref = sketch_of(x, N);
    CHECK(ref.pos_collapsed > 0 && ref.neg_collapsed > 0);
    /* By hand: keys, top key per sign, collapse at top - W + 1. */
    const double lg = log((1.0 + DS_SKETCH_ALPHA) / (1.0 - DS_SKETCH_ALPHA));
    int64_t top[2] = {INT64_MIN, INT64_MIN};
    static int64_t key[N];
    for (size_t i = 0; i < N; ++i) {
        key[i] = (int64_t)ceil(log(fabs(x[i])) / lg);
        int sg = x[i] < 0.0;
        if (key[i] > top[sg])
            top[sg] = key[i];
    }
    uint64_t coll[2] = {0, 0};
    static uint64_t cnt[2][DS_SKETCH_MAX_BUCKETS];
    for (size_t i = 0; i < N; ++i) {
        int sg = x[i] < 0.0;
        int64_t f = top[sg] - DS_SKETCH_MAX_BUCKETS + 1, k = key[i];
        if (k < f) {
            k = f;
            coll[sg]++;
        }
        cnt[sg][k - f]++;
    }
    CHECK(ref.pos_collapsed == coll[0] && ref.neg_collapsed == coll[1]);
    for (int sg = 0; sg < 2; ++sg) {
        const uint64_t *buf = sg ? ref.neg : ref.pos;
        int32_t lo = sg ? ref.neg_lo : ref.pos_lo;
        uint32_t len = sg ? ref.neg_len : ref.pos_len;
        for (int64_t j = 0; j < DS_SKETCH_MAX_BUCKETS; ++j)
            CHECK(tu_store_at(buf, lo, len, top[sg] - DS_SKETCH_MAX_BUCKETS + 1 + j) ==
                  cnt[sg][j]);
    }
    for (int trial = 0; trial < 20; ++trial) {
        size_t k = 1 + tu_below(&r, 8);
        ds_sketch part[8];
        for (size_t i = 0; i < k; ++i)
            ds_sketch_init(&part[i]);
        /* A random order: a random start and stride coprime to N. */
        size_t start = tu_below(&r, N), stride = 1 + 2 * tu_below(&r, 100);
        while (stride % 5 == 0)
            stride += 2;
        for (size_t j = 0; j < N; ++j)
            CHECK(ds_sketch_add(&part[tu_below(&r, k)], x[(start + j * stride) % N]) == DS_OK);
        while (k > 1) {
            size_t i = tu_below(&r, k), j = tu_below(&r, k - 1);
            if (j >= i)
                j++;
            CHECK(ds_sketch_merge(&part[i], &part[j]) == DS_OK);
            ds_sketch_clear(&part[j]);
            part[j] = part[k - 1];
            k--;
        }
        CHECK(tu_sketch_same_counts(&part[0], &ref));
        CHECK(part[0].pos_collapsed == ref.pos_collapsed &&
              part[0].neg_collapsed == ref.neg_collapsed);
        ds_sketch_clear(&part[0]);
    }
    ds_sketch_clear(&ref);
}

static uint64_t sum_counts(const uint64_t *c, size_t bins)
{
    uint64_t s = 0;
    for (size_t i = 0; i < bins; ++i)
        s += c[i];
    return s;
}

static void test_histogram(void)
{
    ds_sketch s;
    ds_sketch_init(&s);
    /* Bin centres: value j + 0.5 (j = 0..9) added j + 1 times; zeros too. */
    for (int j = 0; j < 10; ++j)
        for (int k = 0; k <= j; ++k)
            CHECK(ds_sketch_add(&s, j + 0.5) == DS_OK);
    double edges[11];
    uint64_t c[10];
    for (int j = 0; j <= 10; ++j)
        edges[j] = j;
    ds_sketch_histogram(&s, edges, 10, c);
    for (int j = 0; j < 10; ++j)
        CHECK(c[j] == (uint64_t)j + 1);
    CHECK(sum_counts(c, 10) == s.count);

    /* Zeros go to the bin that contains 0; values outside the edges to the
     * end bins; negatives mirror. */
    for (int k = 0; k < 7; ++k)
        CHECK(ds_sketch_add(&s, 0.0) == DS_OK);
    CHECK(ds_sketch_add(&s, -3.5) == DS_OK);
    /* 1e3 (not farther): 3.5 .. 1e3 stay within W = DS_SKETCH_MAX_BUCKETS
     * keys, so nothing collapses here (test_collapse covers that). */
    CHECK(ds_sketch_add(&s, 1e3) == DS_OK);
    CHECK(ds_sketch_add(&s, -1e3) == DS_OK);
    double e2[11];
    for (int j = 0; j <= 10; ++j)
        e2[j] = -10.0 + 2.0 * j; /* [-10, 10], width 2; 0 starts bin 5 */
    ds_sketch_histogram(&s, e2, 10, c);
    CHECK(sum_counts(c, 10) == s.count);
    CHECK(c[0] == 1);                /* -1e3 clamped */
    CHECK(c[3] == 1);                /* -3.5 in [-4, -2) */
    CHECK(c[5] == 7 + 1 + 2);        /* zeros, 0.5 and 1.5 in [0, 2) */
    CHECK(c[9] == 9 + 10 + 1);       /* 8.5, 9.5 and 1e3 clamped */

    /* Degenerate edges keep the total. */
    double same[4] = {2.0, 2.0, 2.0, 2.0};
    ds_sketch_histogram(&s, same, 3, c);
    CHECK(sum_counts(c, 3) == s.count);
    double nan_edges[3] = {(double)NAN, (double)NAN, (double)NAN};
    ds_sketch_histogram(&s, nan_edges, 2, c);
    CHECK(c[0] == s.count && c[1] == 0);
    double one[2] = {-1.0, 1.0};
    ds_sketch_histogram(&s, one, 1, c);
    CHECK(c[0] == s.count);
    ds_sketch_histogram(&s, one, 0, c); /* no bins: nothing to do */

    /* Random data, many bins. */
    enum { N = 100000, B = 37 };
    double *x = malloc(N * sizeof *x);
    CHECK(x);
    fill_mixed(x, N, 400, 2);
    ds_sketch r = sketch_of(x, N);
    double lo = x[0], hi = x[0];
    for (size_t i = 0; i < N; ++i) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    double e3[B + 1];
    uint64_t c3[B];
    for (int j = 0; j <= B; ++j)
        e3[j] = lo + (hi - lo) * j / B;
    ds_sketch_histogram(&r, e3, B, c3);
    CHECK(sum_counts(c3, B) == N);
    ds_sketch_clear(&r);
    ds_sketch_clear(&s);
    free(x);
}

int main(void)
{
    test_known();
    test_distributions();
    test_special();
    test_add_log();
    test_merge();
    test_growth();
    test_collapse();
    test_histogram();
    printf("test_stats_sketch: ok\n");
    return 0;
}
