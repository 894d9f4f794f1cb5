/* tests/stats/test_stats_moments.c
 * Unit tests of ds_moments: Welford against a two-pass reference, Chan merges
 * (close to direct, bit-identical for a fixed partition and order), NaN.
 * Licence: see LICENSE at the top of the repository.
 */
#include "stats_test_util.h"

/* Relative tolerance of Welford/Chan against the two-pass formula on
 * well-conditioned data (n ~ 1e5, mean/sd ~ 1e3): observed ~1e-14. */
#define TOL_MOMENTS 1e-12

#define N_DATA 100003

/* The textbook two-pass formula, in long double so that the reference is
 * more accurate than what it checks. */
static void two_pass(const double *x, size_t n, double *mean, double *sd)
{
    long double s = 0.0L;
    for (size_t i = 0; i < n; ++i)
        s += (long double)x[i];
    long double m = s / (long double)n, ss = 0.0L;
    for (size_t i = 0; i < n; ++i)
        ss += ((long double)x[i] - m) * ((long double)x[i] - m);
    *mean = (double)m;
    *sd = (double)sqrtl(ss / (long double)(n - 1));
}

static void fill(double *x, size_t n, uint64_t seed)
{
    tu_rng r = {seed};
    /* Offset 1e3 with sd ~ 1: the case where naive sum-of-squares fails. */
    for (size_t i = 0; i < n; ++i)
        x[i] = 1000.0 + exp(tu_normal(&r));
}

static void test_welford(const double *x, size_t n)
{
    ds_moments mo;
    ds_moments_init(&mo);
    for (size_t i = 0; i < n; ++i)
        ds_moments_add(&mo, x[i]);
    double mean, sd, mn = x[0], mx = x[0];
    two_pass(x, n, &mean, &sd);
    for (size_t i = 0; i < n; ++i) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    CHECK(mo.n == n && mo.nan == 0);
    CHECK(tu_rel_close(mo.mean, mean, TOL_MOMENTS));
    CHECK(tu_rel_close(ds_moments_sd(&mo), sd, TOL_MOMENTS));
    CHECK(tu_rel_close(ds_moments_stderr(&mo), sd / sqrt((double)n), TOL_MOMENTS));
    CHECK(mo.min == mn && mo.max == mx);
}

/* Moments of x[0..n) through the partition cuts[0] = 0 < ... < cuts[k] = n,
 * each part computed by Welford, merged left to right. */
static ds_moments by_parts(const double *x, const size_t *cuts, size_t k)
{
    ds_moments g;
    ds_moments_init(&g);
    for (size_t p = 0; p < k; ++p) {
        ds_moments part;
        ds_moments_init(&part);
        for (size_t i = cuts[p]; i < cuts[p + 1]; ++i)
            ds_moments_add(&part, x[i]);
        ds_moments_merge(&g, &part);
    }
    return g;
}

static void test_merge(const double *x, size_t n)
{
    ds_moments direct;
    ds_moments_init(&direct);
    for (size_t i = 0; i < n; ++i)
        ds_moments_add(&direct, x[i]);

    tu_rng r = {42};
    for (int rep = 0; rep < 20; ++rep) {
        /* Random partition, empty parts included. */
        size_t k = 1 + tu_below(&r, 40), cuts[64];
        cuts[0] = 0;
        cuts[k] = n;
        for (size_t p = 1; p < k; ++p)
            cuts[p] = tu_below(&r, n + 1);
        /* Sort the inner cuts (insertion sort; k is small). */
        for (size_t p = 2; p < k; ++p)
            for (size_t q = p; q > 1 && cuts[q - 1] > cuts[q]; --q) {
                size_t t = cuts[q];
                cuts[q] = cuts[q - 1];
                cuts[q - 1] = t;
            }
        ds_moments a = by_parts(x, cuts, k), b = by_parts(x, cuts, k);
        CHECK(a.n == direct.n && a.nan == 0);
        CHECK(tu_rel_close(a.mean, direct.mean, TOL_MOMENTS));
        CHECK(tu_rel_close(ds_moments_sd(&a), ds_moments_sd(&direct), TOL_MOMENTS));
        CHECK(a.min == direct.min && a.max == direct.max);
        /* Same partition, same order: the same bits. */
        CHECK(memcmp(&a, &b, sizeof a) == 0);
    }
    /* The trivial partition is Welford itself. */
    size_t one[2] = {0, n};
    ds_moments c = by_parts(x, one, 1);
    CHECK(memcmp(&c, &direct, sizeof c) == 0);
}

static void test_nan(void)
{
    ds_moments mo, ref;
    ds_moments_init(&mo);
    ds_moments_init(&ref);
    /* Empty: everything NaN, not 0. */
    CHECK(mo.n == 0 && isnan(mo.mean) && isnan(mo.min) && isnan(mo.max));
    CHECK(isnan(ds_moments_sd(&mo)) && isnan(ds_moments_stderr(&mo)));

    const double v[] = {3.0, (double)NAN, 1.0, (double)INFINITY, 2.0, (double)NAN, -(double)INFINITY, 6.0};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; ++i)
        ds_moments_add(&mo, v[i]);
    ds_moments_add(&ref, 3.0);
    ds_moments_add(&ref, 1.0);
    ds_moments_add(&ref, 2.0);
    ds_moments_add(&ref, 6.0);
    /* Infinities are counted as such, never as NaN (stats.h). */
    CHECK(mo.n == 4 && mo.nan == 2 && mo.posinf == 1 && mo.neginf == 1);
    CHECK(mo.mean == 3.0 && mo.min == 1.0 && mo.max == 6.0);
    CHECK(isnan(ds_moments_mean_all(&mo)) && ds_moments_min_all(&mo) == -(double)INFINITY &&
          ds_moments_max_all(&mo) == (double)INFINITY);
    {
        /* One sign only: the mean is that infinity; min/max true. */
        ds_moments pi, ni, mg;
        ds_moments_init(&pi);
        ds_moments_init(&ni);
        ds_moments_add(&pi, 1.0);
        ds_moments_add(&pi, (double)INFINITY);
        ds_moments_add(&ni, -(double)INFINITY);
        CHECK(ds_moments_mean_all(&pi) == (double)INFINITY && ds_moments_min_all(&pi) == 1.0 &&
              ds_moments_max_all(&pi) == (double)INFINITY);
        CHECK(ds_moments_mean_all(&ni) == -(double)INFINITY &&
              ds_moments_min_all(&ni) == -(double)INFINITY &&
              ds_moments_max_all(&ni) == -(double)INFINITY && ni.n == 0 && ni.nan == 0);
        /* Merged exactly: the counts add. */
        mg = pi;
        ds_moments_merge(&mg, &ni);
        CHECK(mg.posinf == 1 && mg.neginf == 1 && mg.n == 1 && isnan(ds_moments_mean_all(&mg)));
        /* Quantiles over all non-NaN values: -inf first, +inf last. */
        ds_sketch sk;
        ds_sketch_init(&sk);
        CHECK(ds_sketch_add(&sk, 1.0) == DS_OK);
        CHECK(ds_sketch_add(&sk, (double)INFINITY) == DS_OK); /* ignored by the sketch */
        CHECK(sk.count == 1);
        CHECK(ds_stats_quantile(&sk, &mg, 0.0) == -(double)INFINITY);
        CHECK(ds_stats_quantile(&sk, &mg, 0.5) == 1.0);
        CHECK(ds_stats_quantile(&sk, &mg, 1.0) == (double)INFINITY);
        CHECK(ds_stats_quantile(&sk, &pi, 0.0) == 1.0 &&
              ds_stats_quantile(&sk, &pi, 1.0) == (double)INFINITY);
        ds_sketch_clear(&sk);
        ds_sketch empty;
        ds_sketch_init(&empty);
        CHECK(ds_stats_quantile(&empty, &ni, 0.5) == -(double)INFINITY);
        ds_moments none;
        ds_moments_init(&none);
        CHECK(isnan(ds_stats_quantile(&empty, &none, 0.5)) && isnan(ds_moments_mean_all(&none)) &&
              isnan(ds_moments_min_all(&none)));
    }
    CHECK(mo.mean == ref.mean && mo.m2 == ref.m2);
    /* sd of {3,1,2,6}: m2 = 14, var = 14/3. */
    CHECK(tu_rel_close(ds_moments_sd(&mo), sqrt(14.0 / 3.0), 1e-15));
    CHECK(tu_rel_close(ds_moments_stderr(&mo), sqrt(14.0 / 3.0) / 2.0, 1e-15));

    /* Only NaNs: still empty. */
    ds_moments only;
    ds_moments_init(&only);
    ds_moments_add(&only, (double)NAN);
    ds_moments_add(&only, (double)NAN);
    CHECK(only.n == 0 && only.nan == 2 && isnan(only.mean));

    /* Merging with an empty or NaN-only summary, both ways. */
    ds_moments a = mo;
    ds_moments_merge(&a, &only);
    CHECK(a.n == 4 && a.nan == 4 && a.posinf == 1 && a.mean == mo.mean && a.m2 == mo.m2);
    ds_moments b = only;
    ds_moments_merge(&b, &mo);
    CHECK(b.n == 4 && b.nan == 4 && b.neginf == 1 && b.mean == mo.mean && b.m2 == mo.m2 && b.min == 1.0 &&
          b.max == 6.0);

    /* One value: a mean, no sd. */
    ds_moments one;
    ds_moments_init(&one);
    ds_moments_add(&one, -2.5);
    CHECK(one.n == 1 && one.mean == -2.5 && one.min == -2.5 && one.max == -2.5);
    CHECK(isnan(ds_moments_sd(&one)) && isnan(ds_moments_stderr(&one)));

    /* A constant: sd exactly 0, whatever the merge. */
    ds_moments c1, c2;
    ds_moments_init(&c1);
    ds_moments_init(&c2);
    for (int i = 0; i < 7; ++i)
        ds_moments_add(&c1, 0.1);
    for (int i = 0; i < 5; ++i)
        ds_moments_add(&c2, 0.1);
    ds_moments_merge(&c1, &c2);
    CHECK(c1.n == 12 && c1.mean == 0.1 && ds_moments_sd(&c1) == 0.0);
}

int main(void)
{
    double *x = malloc(N_DATA * sizeof *x);
    CHECK(x != NULL);
    fill(x, N_DATA, 7);
    test_welford(x, N_DATA);
    test_merge(x, N_DATA);
    test_nan();
    free(x);
    printf("test_stats_moments: ok\n");
    return 0;
}
