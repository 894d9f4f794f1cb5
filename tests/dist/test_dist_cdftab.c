/* tests/dist/test_dist_cdftab.c
 * The CDF by table (dist_cdftab.h) against the exact ds_dist_cdf: BETA over
 * every pair of shapes in {0.5, 1, 1.5, 2, 4, 10} and PERT cases, at random
 * points, at the knots and a few ulp either side, at and near the ends.
 * Licence: see LICENSE at the top of the repository.
 *
 * Checks: |table - exact| <= 2e-11 everywhere (the header promises 1e-10); in the
 * intervals the table does not interpolate, and outside the open support,
 * the table's value is the exact CDF bit for bit; the typical shapes are
 * interpolated almost everywhere (else there would be no saving).  Prints
 * the largest error seen.  Deterministic (a fixed-seed generator).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/dist.h"
#include "dealsim/dist_cdftab.h"

#define TOL (2.0 * DS_CDFTAB_TOL) /* the bound, with room for the exact CDF's own error */
#define N_RANDOM 20000 /* random points a distribution, besides the knots */

static int failures;
static double worst;
static long long n_points, n_tabled;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static double unif(void) /* splitmix64 to [0, 1) */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* One point: the table against the exact CDF. */
static void check_point(const ds_cdftab *t, const char *what, double x)
{
    double u;
    ds_cdftab_eval(t, &x, 1, &u);
    const double e = ds_dist_cdf(t->dist, x);
    ++n_points;
    const double p = (x - t->lo) / t->w * (double)DS_CDFTAB_N;
    const int inside = x > t->lo && x < t->hi && p < (double)DS_CDFTAB_N;
    const int tabled = inside && t->n_ok > 0 && t->ok[(size_t)p];
    n_tabled += tabled;
    if (!tabled && !same_bits(u, e)) {
        fprintf(stderr, "%s: x = %.17g: fallback %.17g is not the exact %.17g\n", what, x, u, e);
        ++failures;
        return;
    }
    const double d = fabs(u - e);
    if (d > worst)
        worst = d;
    if (!(d <= TOL)) {
        fprintf(stderr, "%s: x = %.17g: table %.17g, exact %.17g (error %.3g > %g)\n", what, x, u,
                e, d, TOL);
        ++failures;
    }
}

static void check_dist(const ds_dist *d, const char *what, size_t min_ok)
{
    ds_cdftab t;
    if (ds_cdftab_build(&t, d) != DS_OK) {
        fprintf(stderr, "%s: build failed\n", what);
        ++failures;
        return;
    }
    if (!ds_cdftab_applies(d) || t.n_ok < min_ok) {
        fprintf(stderr, "%s: %zu of %d intervals interpolated, want >= %zu\n", what, t.n_ok,
                DS_CDFTAB_N, min_ok);
        ++failures;
    }
    const double lo = d->min, hi = d->max, w = hi - lo;
    const double worst_before = worst;
    worst = 0.0;
    /* Random points, uniform on the support and crowded towards the ends
     * (where the fallback zones are). */
    for (int j = 0; j < N_RANDOM; ++j) {
        const double r = unif();
        check_point(&t, what, lo + w * r);
        if (j % 4 == 0) {
            check_point(&t, what, lo + w * r * r * r * 0.01);
            check_point(&t, what, hi - w * r * r * r * 0.01);
        }
    }
    /* The knots, and 3 ulp either side of each. */
    for (int i = 0; i <= DS_CDFTAB_N; ++i) {
        const double x = lo + w * ((double)i / DS_CDFTAB_N);
        check_point(&t, what, x);
        double dn = x, up = x;
        for (int k = 0; k < 3; ++k) {
            dn = nextafter(dn, -INFINITY);
            up = nextafter(up, INFINITY);
            check_point(&t, what, dn);
            check_point(&t, what, up);
        }
    }
    /* The ends and beyond, NaN; a batch call equals the single ones. */
    const double edge[] = {lo, hi, nextafter(lo, INFINITY), nextafter(hi, -INFINITY),
                           lo - 1.0, hi + 1.0, -INFINITY, INFINITY};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; ++i)
        check_point(&t, what, edge[i]);
    double xs[64], us[64];
    for (int j = 0; j < 64; ++j)
        xs[j] = lo + w * unif();
    xs[5] = (double)NAN;
    ds_cdftab_eval(&t, xs, 64, us);
    for (int j = 0; j < 64; ++j) {
        double u1;
        ds_cdftab_eval(&t, &xs[j], 1, &u1);
        if (!same_bits(u1, us[j]) && !(isnan(u1) && isnan(us[j]))) {
            fprintf(stderr, "%s: batch and single calls differ at %d\n", what, j);
            ++failures;
        }
    }
    if (!isnan(us[5])) {
        fprintf(stderr, "%s: F(NaN) is not NaN\n", what);
        ++failures;
    }
    printf("%-36s %4zu/%d intervals tabled, max error %.3g\n", what, t.n_ok, DS_CDFTAB_N,
           worst);
    worst = fmax(worst, worst_before);
    ds_cdftab_free(&t);
}

static ds_dist prepared(ds_dist d)
{
    ds_diag diag;
    memset(&diag, 0, sizeof diag);
    if (ds_dist_prepare(&d, &diag) != DS_OK) {
        fprintf(stderr, "prepare failed\n");
        exit(1);
    }
    return d;
}

int main(void)
{
    const double shapes[] = {0.5, 1.0, 1.5, 2.0, 4.0, 10.0};
    char what[96];
    for (size_t i = 0; i < 6; ++i)
        for (size_t j = 0; j < 6; ++j) {
            ds_dist d;
            ds_dist_init(&d, DS_DIST_BETA);
            d.alpha = shapes[i];
            d.beta = shapes[j];
            d.min = i % 2 ? 10.0 : 0.0;
            d.max = i % 2 ? 30.0 : 1.0;
            d = prepared(d);
            snprintf(what, sizeof what, "beta(%g, %g) on [%g, %g]", d.alpha, d.beta, d.min,
                     d.max);
            /* Every shape pair but the most peaked is tabled on 90%. */
            check_dist(&d, what, (size_t)(0.9 * DS_CDFTAB_N));
        }
    /* openai-2026's amount.Nvidia: the singular upper end is a few
     * intervals only. */
    {
        ds_dist d;
        ds_dist_init(&d, DS_DIST_BETA);
        d.alpha = 4.0, d.beta = 1.5, d.min = 10.0, d.max = 30.0;
        d = prepared(d);
        check_dist(&d, "amount.Nvidia beta(4, 1.5) [10, 30]", DS_CDFTAB_N - 64);
    }
    const double pert[][4] = {{0.0, 0.3, 1.0, 4.0},   {10.0, 12.0, 30.0, 4.0},
                              {0.0, 0.0, 1.0, 4.0},   {0.0, 1.0, 1.0, 4.0},
                              {0.0, 0.5, 1.0, 2.0},   {-5.0, 3.0, 4.0, 8.0},
                              {100.0, 101.0, 250.0, 4.0}};
    for (size_t i = 0; i < sizeof pert / sizeof *pert; ++i) {
        ds_dist d;
        ds_dist_init(&d, DS_DIST_PERT);
        d.min = pert[i][0], d.mode = pert[i][1], d.max = pert[i][2], d.lambda = pert[i][3];
        d = prepared(d);
        snprintf(what, sizeof what, "pert(%g, %g, %g, lambda %g)", d.min, d.mode, d.max,
                 d.lambda);
        check_dist(&d, what, (size_t)(0.9 * DS_CDFTAB_N));
    }
    /* A kind without a table: everything exact. */
    {
        ds_dist d;
        ds_dist_init(&d, DS_DIST_UNIFORM);
        d.min = 1.0, d.max = 2.0;
        d = prepared(d);
        ds_cdftab t;
        if (ds_cdftab_build(&t, &d) != DS_OK || t.n_ok != 0 || ds_cdftab_applies(&d)) {
            fprintf(stderr, "uniform: a table was built\n");
            ++failures;
        }
        for (int j = 0; j < 1000; ++j)
            check_point(&t, "uniform", 0.5 + 2.0 * unif());
        ds_cdftab_free(&t);
    }
    printf("%lld points (%lld interpolated): max |table - exact| = %.3g (bound %g)\n", n_points,
           n_tabled, worst, TOL);
    if (n_points < 1000000) {
        fprintf(stderr, "only %lld points\n", n_points);
        ++failures;
    }
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
