/* tests/dist/test_dist_cdftab.c
 * The CDF by table (dist_cdftab.h) against the exact ds_dist_cdf: BETA over
 * every pair of shapes in {0.5, 1, 1.5, 2, 4, 10} and PERT cases, at random
 * points, at the knots and a few ulp either side, at and near the ends.
 * Licence: see LICENSE at the top of the repository.
 *
 * UNIFORM and TRIANGULAR (no table: closed forms) are checked bit for bit,
 * one value at a time and in a batch call, at random points and the edges.
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
#include "dealsim/dsmath.h" /* last: ds_log as the table takes it */

#define DINF ((double)INFINITY)
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
    if (isnan(x)) {
        if (!isnan(u)) {
            fprintf(stderr, "%s: F(NaN) = %.17g\n", what, u);
            ++failures;
        }
        return;
    }
    const double v = t->logx ? ds_log(x) : x;
    const double p = (v - t->lo) / t->w * (double)DS_CDFTAB_N;
    const int inside = v > t->lo && v < t->hi && p < (double)DS_CDFTAB_N;
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

/* The probability of the intervals the table interpolates. */
static double tabled_mass(const ds_cdftab *t)
{
    double m = 0.0;
    for (size_t i = 0; t->n_ok > 0 && i < DS_CDFTAB_N; ++i)
        if (t->ok[i])
            m += t->knot[2 * i + 2] - t->knot[2 * i];
    return m;
}

/* min_mass: the least probability the table must serve (else it saves
 * nothing). */
/* x from the table's variable (ln x for a lognormal). */
static double x_of(const ds_cdftab *t, double v)
{
    return t->logx ? ds_exp(v) : v;
}

static void check_dist(const ds_dist *d, const char *what, double min_mass)
{
    ds_cdftab t;
    if (ds_cdftab_build(&t, d) != DS_OK) {
        fprintf(stderr, "%s: build failed\n", what);
        ++failures;
        return;
    }
    const double tm = tabled_mass(&t);
    if (!ds_cdftab_applies(d) || !(tm >= min_mass)) {
        fprintf(stderr, "%s: probability %.4f interpolated, want >= %.4f\n", what, tm, min_mass);
        ++failures;
    }
    /* The tabled range (the support, or +-10 sd of the normal families). */
    const double lo = t.lo, hi = t.hi, w = hi - lo;
    const double worst_before = worst;
    worst = 0.0;
    /* Random points, uniform on the support and crowded towards the ends
     * (where the fallback zones are). */
    for (int j = 0; j < N_RANDOM; ++j) {
        const double r = unif();
        check_point(&t, what, x_of(&t, lo + w * r));
        if (j % 4 == 0) {
            check_point(&t, what, x_of(&t, lo + w * r * r * r * 0.01));
            check_point(&t, what, x_of(&t, hi - w * r * r * r * 0.01));
        }
    }
    /* The knots, and 3 ulp either side of each. */
    for (int i = 0; i <= DS_CDFTAB_N; ++i) {
        const double x = x_of(&t, lo + w * ((double)i / DS_CDFTAB_N));
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
    const double xlo = x_of(&t, lo), xhi = x_of(&t, hi);
    const double edge[] = {xlo,       xhi,       nextafter(xlo, INFINITY), nextafter(xhi, -INFINITY),
                           xlo - 1.0, xhi + 1.0, -INFINITY,                INFINITY, 0.0, -0.0,
                           d->min,    d->max,    nextafter(d->min, INFINITY),
                           nextafter(d->max, -INFINITY)};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; ++i)
        check_point(&t, what, edge[i]);
    double xs[64], us[64];
    for (int j = 0; j < 64; ++j)
        xs[j] = x_of(&t, lo + w * unif());
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
    printf("%-44s %4zu/%d intervals (P %.5f) tabled, max error %.3g\n", what, t.n_ok,
           DS_CDFTAB_N, tm, worst);
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
    char what[160];
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
            /* A shape below 1 leaves a singular end to the exact CDF. */
            check_dist(&d, what, d.alpha < 1.0 || d.beta < 1.0 ? 0.4 : 0.9);
        }
    /* openai-2026's amount.Nvidia: the singular upper end is a few
     * intervals only. */
    {
        ds_dist d;
        ds_dist_init(&d, DS_DIST_BETA);
        d.alpha = 4.0, d.beta = 1.5, d.min = 10.0, d.max = 30.0;
        d = prepared(d);
        check_dist(&d, "amount.Nvidia beta(4, 1.5) [10, 30]", 0.99);
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
        check_dist(&d, what, 0.95);
    }
    /* The normal families: (mean, sd or median, sigma, min, max). */
    const double nrm[][4] = {{0.0, 1.0, -DINF, DINF},  {5.0, 2.0, 4.0, 20.0},
                             {0.0, 1.0, 8.0, 9.0},     {-0.35, 0.1, -DINF, 0.0},
                             {100.0, 30.0, 0.0, DINF}};
    for (size_t i = 0; i < sizeof nrm / sizeof *nrm; ++i) {
        ds_dist d;
        ds_dist_init(&d, DS_DIST_NORMAL);
        d.mean = nrm[i][0], d.sd = nrm[i][1], d.min = nrm[i][2], d.max = nrm[i][3];
        d = prepared(d);
        snprintf(what, sizeof what, "normal(%g, %g) on [%g, %g]", d.mean, d.sd, d.min, d.max);
        check_dist(&d, what, 0.999);
    }
    const double lgn[][4] = {{18.0, 0.5, 8.0, 60.0}, {1.0, 1.0, 0.0, DINF},
                             {1.0, 2.0, 0.0, DINF},  {50.0, 0.1, 0.0, DINF},
                             {3.0, 0.8, 1.0, 2.0}};
    for (size_t i = 0; i < sizeof lgn / sizeof *lgn; ++i) {
        ds_dist d;
        ds_dist_init(&d, DS_DIST_LOGNORMAL);
        d.median = lgn[i][0], d.sigma = lgn[i][1], d.min = lgn[i][2], d.max = lgn[i][3];
        d = prepared(d);
        snprintf(what, sizeof what, "lognormal(%g, %g) on [%g, %g]", d.median, d.sigma, d.min,
                 d.max);
        check_dist(&d, what, 0.999);
    }
    /* Mixtures of normals: openai-2026's price shock, and one with unequal
     * weights and scales. */
    const double mix[][6] = {{0.5, -0.35, 0.10, 0.5, 0.30, 0.10},
                             {0.9, 0.0, 1.0, 0.1, 5.0, 0.05}};
    for (size_t i = 0; i < sizeof mix / sizeof *mix; ++i) {
        ds_dist d;
        ds_dist_init(&d, DS_DIST_MIXTURE);
        d.n = 2;
        d.components = calloc(2, sizeof *d.components);
        d.weights = calloc(2, sizeof *d.weights);
        if (!d.components || !d.weights)
            return 1;
        for (int c = 0; c < 2; ++c) {
            ds_dist_init(&d.components[c], DS_DIST_NORMAL);
            d.weights[c] = mix[i][3 * c];
            d.components[c].mean = mix[i][3 * c + 1];
            d.components[c].sd = mix[i][3 * c + 2];
        }
        d = prepared(d);
        snprintf(what, sizeof what, "mixture %g normal(%g, %g) + %g normal(%g, %g)", mix[i][0],
                 mix[i][1], mix[i][2], mix[i][3], mix[i][4], mix[i][5]);
        /* The narrow component (sd 0.05) of the second is left exact. */
        check_dist(&d, what, i == 0 ? 0.999 : 0.85);
        /* A truncated component: a kink in the density, so no table. */
        d.components[1].max = 10.0;
        d.prepared = 0;
        d = prepared(d);
        if (ds_cdftab_applies(&d)) {
            fprintf(stderr, "%s: a truncated component still tabled\n", what);
            ++failures;
        }
        ds_dist_clear(&d);
    }
    /* Kinds without a table: everything exact, in a batch call too (the
     * vectorised closed forms of UNIFORM and TRIANGULAR). */
    const double tri[][3] = {{700.0, 730.0, 830.0}, {-0.36, -0.30, -0.20}, {0.0, 0.0, 1.0},
                             {0.0, 1.0, 1.0},       {-2.0, 0.5, 3.0}};
    for (size_t i = 0; i < sizeof tri / sizeof *tri; ++i) {
        ds_dist d;
        ds_dist_init(&d, DS_DIST_TRIANGULAR);
        d.min = tri[i][0], d.mode = tri[i][1], d.max = tri[i][2];
        d = prepared(d);
        ds_cdftab t;
        if (ds_cdftab_build(&t, &d) != DS_OK || t.n_ok != 0) {
            fprintf(stderr, "triangular: a table was built\n");
            ++failures;
        }
        snprintf(what, sizeof what, "triangular(%g, %g, %g)", d.min, d.mode, d.max);
        enum { NB = 1000 };
        double xs[NB], us[NB];
        const double w = d.max - d.min;
        for (int j = 0; j < NB; ++j)
            xs[j] = d.min - 0.1 * w + 1.2 * w * unif();
        const double edge[] = {d.min,
                               d.mode,
                               d.max,
                               nextafter(d.min, DINF),
                               nextafter(d.mode, -DINF),
                               nextafter(d.mode, DINF),
                               nextafter(d.max, -DINF),
                               -DINF,
                               DINF,
                               (double)NAN,
                               -0.0,
                               0.0};
        for (size_t j = 0; j < sizeof edge / sizeof *edge; ++j)
            xs[7 * j + 3] = edge[j];
        ds_cdftab_eval(&t, xs, NB, us);
        for (int j = 0; j < NB; ++j) {
            const double e = ds_dist_cdf(&d, xs[j]);
            ++n_points;
            if (!same_bits(us[j], e) && !(isnan(us[j]) && isnan(e))) {
                fprintf(stderr, "%s: x = %.17g: batch %.17g is not the exact %.17g\n", what, xs[j],
                        us[j], e);
                ++failures;
            }
            check_point(&t, what, xs[j]);
        }
        ds_cdftab_free(&t);
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
        const double ends[] = {1.0, 2.0, nextafter(1.0, 0.0), nextafter(2.0, 3.0), -DINF, DINF,
                               (double)NAN};
        for (size_t j = 0; j < sizeof ends / sizeof *ends; ++j)
            check_point(&t, "uniform", ends[j]);
        double xs[sizeof ends / sizeof *ends * 9], us[sizeof xs / sizeof *xs];
        for (size_t j = 0; j < sizeof xs / sizeof *xs; ++j)
            xs[j] = j % 9 == 4 ? ends[j / 9] : 0.5 + 2.0 * unif();
        ds_cdftab_eval(&t, xs, sizeof xs / sizeof *xs, us);
        for (size_t j = 0; j < sizeof xs / sizeof *xs; ++j) {
            const double e = ds_dist_cdf(&d, xs[j]);
            if (!same_bits(us[j], e) && !(isnan(us[j]) && isnan(e))) {
                fprintf(stderr, "uniform: x = %.17g: batch %.17g is not the exact %.17g\n", xs[j],
                        us[j], e);
                ++failures;
            }
        }
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
