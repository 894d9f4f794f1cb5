/* tests/dist/test_dist_unit.c
 * Unit tests of dist: validation messages, supports, means, copy/clear, round trips, edges.
 * Licence: see LICENSE at the top of the repository.
 *
 * Deterministic: no randomness except fixed-seed streams.  Run under ASan
 * (cmake -DDS_SANITIZE=ON) the copy/clear tests also prove that nothing
 * leaks.  The statistical checks live in test_dist_stat.py.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/dist.h"

/* INFINITY and NAN are floats in C11; doubles avoid -Wdouble-promotion. */
#define DINF ((double)INFINITY)
#define DNAN ((double)NAN)

static int failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

/* Relative closeness with an absolute floor (for values that may be 0). */
static int close_to(double got, double want, double rtol, double atol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= rtol * fabs(want) + atol;
}

#define CHECK_CLOSE(got, want, rtol, atol)                                            \
    do {                                                                              \
        double g_ = (got), w_ = (want);                                               \
        if (!close_to(g_, w_, (rtol), (atol))) {                                      \
            fprintf(stderr, "%s:%d: %s = %.17g, expected %.17g\n", __FILE__, __LINE__, \
                    #got, g_, w_);                                                    \
            ++failures;                                                               \
        }                                                                             \
    } while (0)

/* ---- builders ---- */

static ds_dist mk(ds_dist_kind kind)
{
    ds_dist d;
    ds_dist_init(&d, kind);
    return d;
}

static ds_dist mk_normal(double mean, double sd, double lo, double hi)
{
    ds_dist d = mk(DS_DIST_NORMAL);
    d.mean = mean, d.sd = sd, d.min = lo, d.max = hi;
    return d;
}

static double *dup_array(const double *v, size_t n)
{
    double *p = malloc(n * sizeof *p);
    if (!p)
        abort();
    memcpy(p, v, n * sizeof *p);
    return p;
}

static ds_dist mk_discrete(const double *v, const double *w, size_t n)
{
    ds_dist d = mk(DS_DIST_DISCRETE);
    d.n = n;
    d.values = dup_array(v, n);
    d.weights = w ? dup_array(w, n) : NULL;
    return d;
}

/* A mixture taking ownership of the n components. */
static ds_dist mk_mixture(const ds_dist *comps, const double *w, size_t n)
{
    ds_dist d = mk(DS_DIST_MIXTURE);
    d.n = n;
    d.components = malloc(n * sizeof *d.components);
    if (!d.components)
        abort();
    memcpy(d.components, comps, n * sizeof *comps);
    d.weights = dup_array(w, n);
    return d;
}

/* ---- validation ---- */

static void expect_error(ds_dist d, const char *msg, int line)
{
    ds_diag diag;
    ds_diag_clear(&diag);
    ds_status st = ds_dist_prepare(&d, &diag);
    if (st != DS_ERR_SCENARIO || strcmp(diag.msg, msg) != 0) {
        fprintf(stderr, "%s:%d: expected scenario error \"%s\", got status %d \"%s\"\n", __FILE__,
                line, msg, (int)st, diag.msg);
        ++failures;
    }
    CHECK(diag.line == 0 && diag.file[0] == '\0'); /* no position: the loader adds it */
    ds_dist_clear(&d);
}
#define EXPECT_ERROR(d, msg) expect_error((d), (msg), __LINE__)

static void test_validation(void)
{
    ds_dist d;

    d = mk(DS_DIST_FIXED);
    d.value = DNAN;
    EXPECT_ERROR(d, "value is required (found none, or NaN)");
    d = mk(DS_DIST_FIXED);
    d.value = DINF;
    EXPECT_ERROR(d, "value (inf) must be a finite number");

    d = mk(DS_DIST_UNIFORM);
    d.min = 5, d.max = 3;
    EXPECT_ERROR(d, "min (5) must be less than max (3)");
    d = mk(DS_DIST_UNIFORM);
    d.max = 3;
    EXPECT_ERROR(d, "min is required (found none, or NaN)");
    d = mk(DS_DIST_UNIFORM);
    d.min = 0.1, d.max = 0.1;
    EXPECT_ERROR(d, "min (0.1) must be less than max (0.1)");

    d = mk(DS_DIST_TRIANGULAR);
    d.min = 1, d.mode = 12, d.max = 10;
    EXPECT_ERROR(d, "mode (12) must lie in [min, max] = [1, 10]");
    d = mk(DS_DIST_TRIANGULAR);
    d.min = 1.0000001, d.mode = 1.00000001, d.max = 2;
    EXPECT_ERROR(d, "mode (1.00000001) must lie in [min, max] = [1.0000001, 2]");
    d = mk(DS_DIST_TRIANGULAR);
    d.min = 1, d.max = 2;
    EXPECT_ERROR(d, "mode is required (found none, or NaN)");

    d = mk(DS_DIST_PERT);
    d.min = 0, d.mode = 1, d.max = 2, d.lambda = -1;
    EXPECT_ERROR(d, "lambda (-1) must be greater than 0");
    d = mk(DS_DIST_PERT);
    d.min = 0, d.mode = -1, d.max = 2;
    EXPECT_ERROR(d, "mode (-1) must lie in [min, max] = [0, 2]");

    d = mk(DS_DIST_BETA);
    d.alpha = 0, d.beta = 1;
    EXPECT_ERROR(d, "alpha (0) must be greater than 0");
    d = mk(DS_DIST_BETA);
    d.alpha = 2, d.beta = -2;
    EXPECT_ERROR(d, "beta (-2) must be greater than 0");
    d = mk(DS_DIST_BETA);
    d.alpha = 2;
    EXPECT_ERROR(d, "beta is required (found none, or NaN)");
    d = mk(DS_DIST_BETA);
    d.alpha = 2, d.beta = 2, d.min = 1;
    EXPECT_ERROR(d, "min (1) must be less than max (1)");

    d = mk_normal(0, 0, DNAN, DNAN);
    EXPECT_ERROR(d, "sd (0) must be greater than 0");
    d = mk_normal(DNAN, 1, DNAN, DNAN);
    EXPECT_ERROR(d, "mean is required (found none, or NaN)");
    d = mk_normal(0, 1, 3, 2);
    EXPECT_ERROR(d, "min (3) must be less than max (2)");
    d = mk_normal(0, 1, DINF, DNAN);
    EXPECT_ERROR(d, "min (inf) must be less than max (inf)");
    d = mk_normal(0, 1, 40, 41);
    EXPECT_ERROR(d, "truncation to [min, max] = [40, 41] keeps probability 0 of the untruncated "
                    "normal; at least 1e-280 is needed");

    d = mk(DS_DIST_LOGNORMAL);
    d.median = -1, d.sigma = 1;
    EXPECT_ERROR(d, "median (-1) must be greater than 0");
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 1;
    EXPECT_ERROR(d, "sigma is required (found none, or NaN)");
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 1, d.sigma = 1, d.min = -1;
    EXPECT_ERROR(d, "min (-1) must be at least 0 (a lognormal is positive)");
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 1, d.sigma = 1, d.min = 2, d.max = 1;
    EXPECT_ERROR(d, "min (2) must be less than max (1)");

    d = mk(DS_DIST_BERNOULLI);
    d.p = 1.5;
    EXPECT_ERROR(d, "p (1.5) must lie in [0, 1]");
    d = mk(DS_DIST_BERNOULLI);
    EXPECT_ERROR(d, "p is required (found none, or NaN)");

    d = mk(DS_DIST_DISCRETE);
    EXPECT_ERROR(d, "values must not be empty");
    {
        const double v[] = {1, 2, 3}, w0[] = {0, 0, 0}, wneg[] = {1, -1, 1};
        const double vnan[] = {DNAN, 2, 3};
        EXPECT_ERROR(mk_discrete(v, w0, 3), "weights must not all be 0");
        EXPECT_ERROR(mk_discrete(v, wneg, 3), "weight 2 (-1) must be a finite number >= 0");
        EXPECT_ERROR(mk_discrete(vnan, NULL, 3), "value 1 (nan) must be a finite number");
    }

    {
        ds_dist c[2] = {mk_normal(0, 1, DNAN, DNAN), mk_normal(0, -1, DNAN, DNAN)};
        const double w[] = {1, 1};
        EXPECT_ERROR(mk_mixture(c, w, 2), "component 2: sd (-1) must be greater than 0");
    }
    {
        ds_dist inner[2] = {mk(DS_DIST_BERNOULLI), mk(DS_DIST_BERNOULLI)};
        inner[0].p = 0.5, inner[1].p = 2;
        const double w[] = {1, 1};
        ds_dist outer[2] = {mk_mixture(inner, w, 2), mk(DS_DIST_FIXED)};
        EXPECT_ERROR(mk_mixture(outer, w, 2), "component 1: component 2: p (2) must lie in [0, 1]");
    }
    {
        ds_dist c[2] = {mk(DS_DIST_FIXED), mk(DS_DIST_FIXED)};
        const double w0[] = {0, 0};
        EXPECT_ERROR(mk_mixture(c, w0, 2), "component weights must not all be 0");
        ds_dist c2[2] = {mk(DS_DIST_FIXED), mk(DS_DIST_FIXED)};
        const double wneg[] = {1, -3};
        EXPECT_ERROR(mk_mixture(c2, wneg, 2),
                     "weight of component 2 (-3) must be a finite number >= 0");
    }
    {
        /* DS_DIST_MAX_DEPTH + 1 nested mixtures */
        ds_dist d2 = mk(DS_DIST_FIXED);
        const double w[] = {1};
        for (int i = 0; i < DS_DIST_MAX_DEPTH + 1; ++i)
            d2 = mk_mixture(&d2, w, 1);
        ds_diag diag;
        CHECK(ds_dist_prepare(&d2, &diag) == DS_ERR_SCENARIO);
        CHECK(strstr(diag.msg, "mixtures nest deeper than 16 levels") != NULL);
        ds_dist_clear(&d2);
        d2 = mk(DS_DIST_FIXED);
        for (int i = 0; i < DS_DIST_MAX_DEPTH; ++i)
            d2 = mk_mixture(&d2, w, 1);
        CHECK(ds_dist_prepare(&d2, &diag) == DS_OK);
        ds_dist_clear(&d2);
    }
    d = mk(DS_DIST_FIXED);
    d.kind = (ds_dist_kind)99;
    EXPECT_ERROR(d, "unknown distribution kind (99)");
}

/* ---- supports, means, defaults ---- */

static void prep(ds_dist *d)
{
    ds_diag diag;
    ds_diag_clear(&diag);
    if (ds_dist_prepare(d, &diag) != DS_OK) {
        fprintf(stderr, "unexpected prepare failure: %s\n", diag.msg);
        ++failures;
    }
}

static void check_support(ds_dist *d, double lo, double hi, int line)
{
    double l, h;
    prep(d);
    ds_dist_support(d, &l, &h);
    if (!(l == lo && h == hi)) {
        fprintf(stderr, "%s:%d: support [%.17g, %.17g], expected [%.17g, %.17g]\n", __FILE__, line,
                l, h, lo, hi);
        ++failures;
    }
    /* quantile(0) and quantile(1) are the support's ends */
    if (d->kind != DS_DIST_BERNOULLI && d->kind != DS_DIST_MIXTURE) {
        CHECK(ds_dist_quantile(d, 0.0) == lo);
        CHECK(ds_dist_quantile(d, 1.0) == hi);
    }
    ds_dist_clear(d);
}
#define CHECK_SUPPORT(d, lo, hi)          \
    do {                                  \
        ds_dist t_ = (d);                 \
        check_support(&t_, lo, hi, __LINE__); \
    } while (0)

static void test_supports(void)
{
    ds_dist d = mk(DS_DIST_FIXED);
    d.value = 3;
    CHECK_SUPPORT(d, 3, 3);
    d = mk(DS_DIST_UNIFORM);
    d.min = -1, d.max = 2;
    CHECK_SUPPORT(d, -1, 2);
    d = mk(DS_DIST_TRIANGULAR);
    d.min = 0, d.mode = 0, d.max = 2;
    CHECK_SUPPORT(d, 0, 2);
    d = mk(DS_DIST_PERT);
    d.min = 1, d.mode = 3, d.max = 3;
    CHECK_SUPPORT(d, 1, 3);
    d = mk(DS_DIST_BETA);
    d.alpha = 2, d.beta = 3;
    CHECK_SUPPORT(d, 0, 1);
    d = mk(DS_DIST_BETA);
    d.alpha = 0.05, d.beta = 500, d.min = -2, d.max = 7;
    CHECK_SUPPORT(d, -2, 7);
    CHECK_SUPPORT(mk_normal(1, 2, DNAN, DNAN), -DINF, DINF);
    CHECK_SUPPORT(mk_normal(1, 2, 0, DNAN), 0, DINF);
    CHECK_SUPPORT(mk_normal(0, 1, 8, 9), 8, 9);
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 2, d.sigma = 1;
    CHECK_SUPPORT(d, 0, DINF);
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 2, d.sigma = 1, d.min = 1, d.max = 3;
    CHECK_SUPPORT(d, 1, 3);
    d = mk(DS_DIST_BERNOULLI);
    d.p = 0;
    CHECK_SUPPORT(d, 0, 0);
    d = mk(DS_DIST_BERNOULLI);
    d.p = 1;
    CHECK_SUPPORT(d, 1, 1);
    d = mk(DS_DIST_BERNOULLI);
    d.p = 0.3;
    CHECK_SUPPORT(d, 0, 1);
    {
        const double v[] = {5, -1, 7, 2}, w[] = {1, 0, 0, 2};
        CHECK_SUPPORT(mk_discrete(v, w, 4), 2, 5); /* zero weights are not in the support */
    }
    {
        ds_dist c[3] = {mk_normal(0, 1, -1, 0), mk(DS_DIST_FIXED), mk(DS_DIST_UNIFORM)};
        c[1].value = 100;
        c[2].min = 3, c[2].max = 4;
        const double w[] = {1, 0, 2};
        CHECK_SUPPORT(mk_mixture(c, w, 3), -1, 4);
    }
}

static void test_means_and_fixed(void)
{
    ds_dist d = mk_normal(0, 1, 8, 9);
    prep(&d);
    /* E[Z | 8 < Z < 9] from mpmath: phi(8)-phi(9) over Phi(9)-Phi(8) */
    CHECK_CLOSE(ds_dist_mean(&d), 8.121188992979796, 1e-12, 0);
    CHECK(!ds_dist_is_fixed(&d));
    ds_dist_clear(&d);

    d = mk_normal(5, 2, DNAN, DNAN);
    prep(&d);
    CHECK_CLOSE(ds_dist_mean(&d), 5.0, 1e-15, 0);
    ds_dist_clear(&d);

    d = mk(DS_DIST_LOGNORMAL);
    d.median = 2, d.sigma = 0.5;
    prep(&d);
    CHECK_CLOSE(ds_dist_mean(&d), 2.0 * exp(0.125), 1e-14, 0);
    ds_dist_clear(&d);

    d = mk(DS_DIST_PERT);
    d.min = 0, d.mode = 1, d.max = 4;
    prep(&d);
    CHECK(d.lambda == 4.0); /* the documented default */
    CHECK_CLOSE(ds_dist_mean(&d), (0 + 4 * 1 + 4) / 6.0, 1e-15, 0);
    ds_dist_clear(&d);

    d = mk(DS_DIST_TRIANGULAR);
    d.min = 0, d.mode = 1, d.max = 5;
    prep(&d);
    CHECK_CLOSE(ds_dist_mean(&d), 2.0, 1e-15, 0);
    ds_dist_clear(&d);

    {
        const double v[] = {1, 2, 3}, w[] = {1, 0, 3};
        d = mk_discrete(v, w, 3);
        prep(&d);
        CHECK_CLOSE(ds_dist_mean(&d), 2.5, 1e-15, 0);
        CHECK(!ds_dist_is_fixed(&d));
        ds_dist_clear(&d);
        const double v2[] = {4, 4, 9}, w2[] = {1, 2, 0};
        d = mk_discrete(v2, w2, 3);
        prep(&d);
        CHECK(ds_dist_is_fixed(&d)); /* degenerate: only 4 has weight */
        ds_dist_clear(&d);
    }
    {
        ds_dist c[2] = {mk(DS_DIST_FIXED), mk(DS_DIST_FIXED)};
        c[0].value = 7, c[1].value = 7;
        const double w[] = {1, 2};
        d = mk_mixture(c, w, 2);
        prep(&d);
        CHECK(ds_dist_is_fixed(&d));
        CHECK_CLOSE(ds_dist_mean(&d), 7, 0, 0);
        ds_dist_clear(&d);
    }
    d = mk(DS_DIST_BERNOULLI);
    d.p = 0;
    prep(&d);
    CHECK(ds_dist_is_fixed(&d));
    d.p = 0.5;
    CHECK(!ds_dist_is_fixed(&d));
    ds_dist_clear(&d);

    ds_dist_init_fixed(&d, 2.5);
    CHECK(ds_dist_is_fixed(&d) && ds_dist_mean(&d) == 2.5 && d.prepared);
    ds_dist_clear(&d);
    CHECK(d.kind == DS_DIST_FIXED && d.value == 0.0 && d.components == NULL);
    ds_dist_clear(NULL);

    for (int k = 0; k < (int)DS_DIST_KIND_COUNT; ++k) {
        ds_dist_kind back;
        CHECK(ds_dist_kind_from_name(ds_dist_kind_name((ds_dist_kind)k), &back) && (int)back == k);
    }
    ds_dist_kind dummy;
    CHECK(!ds_dist_kind_from_name("gaussian", &dummy));
    CHECK(!ds_dist_kind_from_name(NULL, &dummy));
    CHECK(strcmp(ds_dist_kind_name(DS_DIST_PERT), "pert") == 0);
}

/* ---- copy and clear ---- */

static ds_dist mk_nested(void)
{
    const double v[] = {3, 1, 2}, w[] = {1, 2, 3};
    ds_dist inner[2] = {mk_discrete(v, w, 3), mk_normal(0, 1, 4, 5)};
    const double wi[] = {1, 1};
    ds_dist outer[3] = {mk_mixture(inner, wi, 2), mk(DS_DIST_BETA), mk(DS_DIST_LOGNORMAL)};
    outer[1].alpha = 0.5, outer[1].beta = 2;
    outer[2].median = 1, outer[2].sigma = 1, outer[2].max = 3;
    const double wo[] = {2, 1, 1};
    return mk_mixture(outer, wo, 3);
}

static void test_copy_clear(void)
{
    ds_dist a = mk_nested();
    prep(&a);
    ds_dist b;
    CHECK(ds_dist_copy(&b, &a) == DS_OK);
    CHECK(b.components != a.components && b.cum != a.cum);
    CHECK(b.components[0].components != a.components[0].components);
    CHECK(b.components[0].components[0].values != a.components[0].components[0].values);
    /* Same draws from the same stream. */
    ds_rng r1, r2;
    ds_rng_stream(&r1, 9, "copy", 0);
    ds_rng_stream(&r2, 9, "copy", 0);
    int same = 1;
    for (int i = 0; i < 1000; ++i)
        same &= ds_dist_sample(&a, &r1) == ds_dist_sample(&b, &r2);
    CHECK(same);
    for (int i = 0; i <= 100; ++i)
        CHECK(ds_dist_quantile(&a, i / 100.0) == ds_dist_quantile(&b, i / 100.0));
    /* Independent: clearing the original leaves the copy usable. */
    ds_dist_clear(&a);
    CHECK(a.kind == DS_DIST_FIXED && a.components == NULL && a.cum == NULL);
    CHECK(isfinite(ds_dist_sample(&b, &r2)));
    /* Prepare is idempotent (and re-preparing frees the old derived arrays). */
    prep(&b);
    prep(&b);
    ds_dist c;
    CHECK(ds_dist_copy(&c, &b) == DS_OK);
    ds_dist_clear(&b);
    ds_dist_clear(&c);
    /* Copy of an unprepared tree. */
    a = mk_nested();
    CHECK(ds_dist_copy(&b, &a) == DS_OK);
    prep(&b);
    ds_dist_clear(&a);
    ds_dist_clear(&b);
}

/* ---- round trips and edge cases ---- */

/* cdf(quantile(u)) = u for continuous laws.  x = quantile(u) is a double,
 * so the test is that u lies between the CDF at the doubles just below and
 * just above x (a steep CDF moves by more than 1e-9 u between neighbours,
 * e.g. Beta(4, 0.05) near 1), within a tolerance relative to the smaller
 * tail (the CDF near 1 is only good to an ulp of 1). */
#define ROUNDTRIP_RTOL 1e-9
#define ROUNDTRIP_ATOL 4e-16
static void check_roundtrip(ds_dist d, int line)
{
    static const double us[] = {1e-300, 1e-100, 1e-12, 1e-6, 0.001, 0.1, 0.3, 0.5, 0.7, 0.9,
                                0.999, 1 - 1e-6, 1 - 1e-12};
    prep(&d);
    double prev = -DINF;
    for (size_t i = 0; i < sizeof us / sizeof us[0]; ++i) {
        double u = us[i];
        double x = ds_dist_quantile(&d, u);
        double f_lo = ds_dist_cdf(&d, nextafter(x, -DINF));
        double f_hi = ds_dist_cdf(&d, nextafter(x, DINF));
        double tol = ROUNDTRIP_RTOL * fmin(u, 1 - u) + ROUNDTRIP_ATOL;
        if (!(u >= f_lo - tol && u <= f_hi + tol)) {
            fprintf(stderr,
                    "%s:%d: %s: u = %.17g not in [cdf(x-), cdf(x+)] = [%.17g, %.17g], x = %.17g\n",
                    __FILE__, line, ds_dist_kind_name(d.kind), u, f_lo, f_hi, x);
            ++failures;
        }
        if (!(x >= prev)) {
            fprintf(stderr, "%s:%d: quantile not monotone at u = %g\n", __FILE__, line, u);
            ++failures;
        }
        prev = x;
    }
    ds_dist_clear(&d);
}
#define CHECK_ROUNDTRIP(d) check_roundtrip((d), __LINE__)

static void test_roundtrips(void)
{
    ds_dist d = mk(DS_DIST_UNIFORM);
    d.min = 2, d.max = 5;
    CHECK_ROUNDTRIP(d);
    double modes[] = {0, 1, 4};
    for (int i = 0; i < 3; ++i) {
        d = mk(DS_DIST_TRIANGULAR);
        d.min = 0, d.mode = modes[i], d.max = 4;
        CHECK_ROUNDTRIP(d);
        d = mk(DS_DIST_PERT);
        d.min = 0, d.mode = modes[i], d.max = 4;
        CHECK_ROUNDTRIP(d);
    }
    double shapes[][2] = {{0.05, 0.05}, {0.05, 500}, {500, 0.05}, {500, 500}, {0.5, 2},
                          {4, 1.5},     {1, 1},      {300, 0.1},  {2, 80}};
    for (int i = 0; i < 9; ++i) {
        d = mk(DS_DIST_BETA);
        d.alpha = shapes[i][0], d.beta = shapes[i][1];
        CHECK_ROUNDTRIP(d);
    }
    CHECK_ROUNDTRIP(mk_normal(0, 1, DNAN, DNAN));
    CHECK_ROUNDTRIP(mk_normal(3, 2, DNAN, DNAN));
    CHECK_ROUNDTRIP(mk_normal(0, 1, 4, 5));
    CHECK_ROUNDTRIP(mk_normal(0, 1, 8, 9));
    CHECK_ROUNDTRIP(mk_normal(0, 1, -9, -8));
    CHECK_ROUNDTRIP(mk_normal(0, 1, -1, 0));
    CHECK_ROUNDTRIP(mk_normal(10, 3, 10, DNAN));
    CHECK_ROUNDTRIP(mk_normal(0, 1, -1e-6, 2e-6));
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 2, d.sigma = 0.7;
    CHECK_ROUNDTRIP(d);
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 2, d.sigma = 0.7, d.min = 1, d.max = 3;
    CHECK_ROUNDTRIP(d);
}

/* Known values (mpmath, 50 digits) far in tails, where a careless
 * implementation loses digits. */
static void test_known_values(void)
{
    CHECK_CLOSE(ds_norm_ppf(1e-12), -7.034483825301132, 1e-14, 0);
    CHECK_CLOSE(ds_norm_ppf(0.975), 1.9599639845400543, 1e-14, 0);
    CHECK_CLOSE(ds_norm_ppf(1e-300), -37.0470962993612, 1e-14, 0);
    CHECK(ds_norm_ppf(0.0) == -DINF && ds_norm_ppf(1.0) == DINF);
    CHECK(isnan(ds_norm_ppf(-0.5)) && isnan(ds_norm_ppf(DNAN)));
    CHECK_CLOSE(ds_norm_sf(8.0), 6.220960574271784e-16, 1e-13, 0);
    CHECK_CLOSE(ds_norm_cdf(-30.0), 4.906713927148187e-198, 1e-12, 0);
    CHECK(ds_norm_cdf(0.0) == 0.5);
    CHECK_CLOSE(ds_beta_inc(2, 3, 0.4), 0.5248, 1e-14, 0);
    CHECK_CLOSE(ds_beta_inc(0.5, 0.5, 0.25), 1.0 / 3.0, 1e-14, 0);
    CHECK(ds_beta_inc(2, 3, 0) == 0 && ds_beta_inc(2, 3, 1) == 1);
    CHECK_CLOSE(ds_beta_inc_inv(2, 3, 0.5248), 0.4, 1e-13, 0);
    CHECK(ds_beta_inc_inv(2, 3, 0) == 0 && ds_beta_inc_inv(2, 3, 1) == 1);
    CHECK(isnan(ds_beta_inc_inv(2, 3, 1.5)));

    /* Truncated normal on [8, 9]: quantile at 1/2 (mpmath) */
    ds_dist d = mk_normal(0, 1, 8, 9);
    prep(&d);
    CHECK_CLOSE(ds_dist_quantile(&d, 0.5), 8.084888899018166, 1e-13, 0);
    ds_dist_clear(&d);

    /* Far below the underflow of Phi: the quantile is summed and inverted in
     * logs (mpmath: Phi(z) = 1e-300 Phi(-30) at z = -47.755864424165964). */
    d = mk_normal(0, 1, DNAN, -30);
    prep(&d);
    CHECK_CLOSE(ds_dist_quantile(&d, 1e-300), -47.755864424165964, 1e-14, 0);
    CHECK_CLOSE(ds_dist_quantile(&d, 1e-12), -30.906352764856116, 1e-14, 0);
    ds_dist_clear(&d);
}

static void test_edges(void)
{
    ds_dist d = mk(DS_DIST_BERNOULLI);
    d.p = 0.3;
    prep(&d);
    /* The generalised inverse CDF: 0 up to 1 - p, then 1. */
    CHECK(ds_dist_quantile(&d, 0.0) == 0.0 && ds_dist_quantile(&d, 0.69) == 0.0);
    CHECK(ds_dist_quantile(&d, 0.7) == 0.0 && ds_dist_quantile(&d, 0.71) == 1.0);
    CHECK(ds_dist_quantile(&d, 1.0) == 1.0);
    CHECK(ds_dist_cdf(&d, -1) == 0.0 && close_to(ds_dist_cdf(&d, 0.5), 0.7, 1e-15, 0) &&
          ds_dist_cdf(&d, 1) == 1.0);
    d.p = 0.0;
    CHECK(ds_dist_quantile(&d, 0.0) == 0.0);
    d.p = 1.0;
    CHECK(ds_dist_quantile(&d, 0.999999) == 1.0 && ds_dist_quantile(&d, 0.0) == 1.0);
    ds_dist_clear(&d);

    {
        const double v[] = {30, 10, 20}, w[] = {1, 1, 0};
        d = mk_discrete(v, w, 3);
        prep(&d);
        /* sorted: 10 (1/2), 20 (0), 30 (1/2) */
        CHECK(ds_dist_quantile(&d, 0.0) == 10 && ds_dist_quantile(&d, 0.49) == 10);
        CHECK(ds_dist_quantile(&d, 0.5) == 30 && ds_dist_quantile(&d, 1.0) == 30);
        CHECK(ds_dist_cdf(&d, 9) == 0 && ds_dist_cdf(&d, 10) == 0.5 && ds_dist_cdf(&d, 25) == 0.5 &&
              ds_dist_cdf(&d, 30) == 1);
        ds_rng r;
        ds_rng_stream(&r, 5, "edge", 0);
        int twenty = 0;
        for (int i = 0; i < 10000; ++i)
            twenty += ds_dist_sample(&d, &r) == 20;
        CHECK(twenty == 0);
        ds_dist_clear(&d);
    }
    {
        ds_dist c[3] = {mk(DS_DIST_FIXED), mk(DS_DIST_FIXED), mk(DS_DIST_UNIFORM)};
        c[0].value = 1, c[1].value = 2, c[2].min = 10, c[2].max = 20;
        const double w[] = {1, 0, 3};
        d = mk_mixture(c, w, 3);
        prep(&d);
        /* [0, 1/4) -> component 1; [1/4, 1) -> component 3, rescaled */
        CHECK(ds_dist_quantile(&d, 0.2) == 1.0);
        CHECK_CLOSE(ds_dist_quantile(&d, 0.25), 10.0, 1e-15, 0);
        CHECK_CLOSE(ds_dist_quantile(&d, 0.625), 15.0, 1e-14, 0);
        CHECK(ds_dist_quantile(&d, 1.0) == 20.0);
        CHECK_CLOSE(ds_dist_cdf(&d, 1.0), 0.25, 1e-15, 0);
        CHECK_CLOSE(ds_dist_cdf(&d, 15.0), 0.625, 1e-15, 0);
        CHECK_CLOSE(ds_dist_mean(&d), 0.25 + 0.75 * 15, 1e-15, 0);
        ds_dist_clear(&d);
    }
    /* Out-of-range arguments. */
    d = mk_normal(0, 1, DNAN, DNAN);
    prep(&d);
    CHECK(isnan(ds_dist_quantile(&d, -0.1)) && isnan(ds_dist_quantile(&d, 1.1)) &&
          isnan(ds_dist_quantile(&d, DNAN)) && isnan(ds_dist_cdf(&d, DNAN)));
    CHECK(ds_dist_quantile(&d, 0) == -DINF && ds_dist_quantile(&d, 1) == DINF);
    ds_dist_clear(&d);

    /* Draws of truncated laws stay inside, every method. */
    ds_dist tn[4] = {mk_normal(0, 1, 8, 9), mk_normal(0, 1, -1, 0), mk_normal(0, 1, 4, DINF),
                     mk(DS_DIST_LOGNORMAL)};
    tn[3].median = 1, tn[3].sigma = 2, tn[3].min = 0.5, tn[3].max = 0.6;
    ds_rng r;
    ds_rng_stream(&r, 11, "edge", 1);
    for (int k = 0; k < 4; ++k) {
        prep(&tn[k]);
        int inside = 1;
        for (int i = 0; i < 20000; ++i) {
            double x = ds_dist_sample(&tn[k], &r);
            inside &= x >= tn[k].min && x <= tn[k].max;
        }
        CHECK(inside);
        ds_dist_clear(&tn[k]);
    }

    /* Building blocks at their edges. */
    CHECK(ds_rand_poisson(&r, 0.0) == 0 && ds_rand_poisson(&r, -1.0) == 0 &&
          ds_rand_poisson(&r, DNAN) == 0);
    CHECK(isnan(ds_rand_gamma(&r, 0.0)) && isnan(ds_rand_gamma(&r, -1.0)));
    CHECK(isnan(ds_rand_beta(&r, 0.0, 1.0)));
    int ok = 1;
    for (int i = 0; i < 10000; ++i) {
        double x = ds_rand_beta(&r, 0.05, 0.05);
        double g = ds_rand_gamma(&r, 0.05);
        ok &= x >= 0 && x <= 1 && g >= 0 && isfinite(g);
    }
    CHECK(ok);
}

/* ds_dist_sample_n (the batch form the kernel uses for an input's block)
 * gives n calls of ds_dist_sample's bits and leaves the stream where they
 * would, for every kind: the batch paths (uniform, triangular, the
 * lognormal's exponentials in SIMD lanes) and the rest.  Lengths around
 * the SIMD widths, truncations that clamp, a normal tail that rejects. */
static void check_batch(ds_dist d, int line)
{
    prep(&d);
    static const size_t lens[] = {1, 3, 15, 16, 17, 64, 1000};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; ++k) {
        const size_t n = lens[k];
        double a[1000], b[1000];
        ds_rng r1, r2;
        ds_rng_stream(&r1, 20260128u + k, "batch", 3);
        r2 = r1;
        ds_dist_sample_n(&d, &r1, a, n);
        for (size_t t = 0; t < n; ++t)
            b[t] = ds_dist_sample(&d, &r2);
        if (memcmp(a, b, n * sizeof *a) != 0 || ds_rng_next_u64(&r1) != ds_rng_next_u64(&r2)) {
            fprintf(stderr, "%s:%d: ds_dist_sample_n differs from ds_dist_sample (n = %zu)\n",
                    __FILE__, line, n);
            ++failures;
        }
    }
    ds_dist_clear(&d);
}
#define CHECK_BATCH(d) check_batch((d), __LINE__)

static void test_batch_sampling(void)
{
    ds_dist d = mk(DS_DIST_FIXED);
    d.value = 3;
    CHECK_BATCH(d);
    d = mk(DS_DIST_UNIFORM);
    d.min = -1, d.max = 2;
    CHECK_BATCH(d);
    d = mk(DS_DIST_TRIANGULAR);
    d.min = 0, d.mode = 0.5, d.max = 2;
    CHECK_BATCH(d);
    d = mk(DS_DIST_PERT);
    d.min = 1, d.mode = 3, d.max = 4;
    CHECK_BATCH(d);
    d = mk(DS_DIST_BETA);
    d.alpha = 4, d.beta = 1.5, d.min = 10, d.max = 30;
    CHECK_BATCH(d);
    CHECK_BATCH(mk_normal(1, 2, DNAN, DNAN));
    CHECK_BATCH(mk_normal(0, 1, 3, DNAN)); /* the tail beyond 3 sd */
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 18, d.sigma = 0.5, d.min = 8, d.max = 60;
    CHECK_BATCH(d);
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 2, d.sigma = 3; /* untruncated, wide: exponents far from 0 */
    CHECK_BATCH(d);
    d = mk(DS_DIST_LOGNORMAL);
    d.median = 1, d.sigma = 1, d.min = 0.9, d.max = 1.1; /* mostly clamped bounds */
    CHECK_BATCH(d);
    d = mk(DS_DIST_BERNOULLI);
    d.p = 0.3;
    CHECK_BATCH(d);
    {
        const double v[] = {5, -1, 7, 2}, w[] = {1, 0, 0, 2};
        CHECK_BATCH(mk_discrete(v, w, 4));
    }
    {
        ds_dist c[2] = {mk_normal(-0.35, 0.1, DNAN, DNAN), mk_normal(0.3, 0.1, DNAN, DNAN)};
        const double w[] = {0.5, 0.5};
        CHECK_BATCH(mk_mixture(c, w, 2));
    }
}

/* ds_rand_compound_poisson against the process written out with the
 * public draws: a gap ds_rand_exponential / rate, then per event within the
 * horizon its size (ds_dist_sample) and the next gap; each event in the
 * first bin j with t <= (j + 1) width.  The same words, the same sums. */
static void check_compound(ds_dist d, double rate, size_t bins, int line)
{
    prep(&d);
    const double width = 1.0 / 12.0;
    for (unsigned trial = 0; trial < 300; ++trial) {
        double a[128] = {0}, b[128] = {0}; /* bins <= 64, stride 2 */
        ds_rng r1, r2;
        ds_rng_stream(&r1, 7u + trial, "price.jumps", trial % 5);
        r2 = r1;
        ds_rand_compound_poisson(&r1, rate, &d, bins, width, a, 2);
        for (double t = ds_rand_exponential(&r2) / rate; t <= (double)bins * width;) {
            size_t j = 0;
            while (t > (double)(j + 1) * width)
                ++j;
            double sum = 0.0;
            for (; t <= (double)(j + 1) * width; t += ds_rand_exponential(&r2) / rate)
                sum += ds_dist_sample(&d, &r2);
            b[2 * j] = sum;
        }
        if (memcmp(a, b, sizeof a) != 0 || ds_rng_next_u64(&r1) != ds_rng_next_u64(&r2)) {
            fprintf(stderr, "%s:%d: ds_rand_compound_poisson differs (trial %u)\n", __FILE__,
                    line, trial);
            ++failures;
            break;
        }
    }
    ds_dist_clear(&d);
}
#define CHECK_COMPOUND(d, rate, bins) check_compound((d), (rate), (bins), __LINE__)

static void test_compound_poisson(void)
{
    {
        ds_dist c[2] = {mk_normal(-0.35, 0.1, DNAN, DNAN), mk_normal(0.3, 0.1, DNAN, DNAN)};
        const double w[] = {0.5, 0.5};
        CHECK_COMPOUND(mk_mixture(c, w, 2), 1.0, 60);
    }
    CHECK_COMPOUND(mk_normal(0, 0.2, DNAN, DNAN), 30.0, 32); /* several events a bin */
    CHECK_COMPOUND(mk_normal(0, 1, 3, DNAN), 4.0, 12);       /* a truncated normal */
    {
        ds_dist u = mk(DS_DIST_UNIFORM);
        u.min = -0.3, u.max = 0.3;
        CHECK_COMPOUND(u, 2.5, 1);
    }
    {
        ds_dist t = mk(DS_DIST_TRIANGULAR);
        t.min = -0.2, t.mode = 0, t.max = 0.1;
        ds_dist inner[2] = {mk_normal(0, 1, -1, 1), t};
        const double wi[] = {1, 1};
        ds_dist l = mk(DS_DIST_LOGNORMAL);
        l.median = 0.2, l.sigma = 0.3;
        ds_dist c[3] = {mk_normal(-0.35, 0.1, DNAN, DNAN), l, mk_mixture(inner, wi, 2)};
        const double w[] = {1, 2, 0.5};
        CHECK_COMPOUND(mk_mixture(c, w, 3), 12.0, 24); /* nested, other kinds */
    }
    /* No rate: nothing drawn, nothing written. */
    ds_dist d = mk_normal(0, 1, DNAN, DNAN);
    prep(&d);
    double out[4] = {0};
    ds_rng r1, r2;
    ds_rng_stream(&r1, 1, "price.jumps", 0);
    r2 = r1;
    ds_rand_compound_poisson(&r1, 0.0, &d, 4, 1.0, out, 1);
    ds_rand_compound_poisson(&r1, DNAN, &d, 4, 1.0, out, 1);
    CHECK(ds_rng_next_u64(&r1) == ds_rng_next_u64(&r2) && out[0] == 0.0 && out[3] == 0.0);
    ds_dist_clear(&d);
}

int main(void)
{
    test_validation();
    test_supports();
    test_means_and_fixed();
    test_copy_clear();
    test_roundtrips();
    test_known_values();
    test_edges();
    test_batch_sampling();
    test_compound_poisson();
    if (failures) {
        fprintf(stderr, "test_dist_unit: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_dist_unit: all checks passed\n");
    return 0;
}
