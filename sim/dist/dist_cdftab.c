/* sim/dist/dist_cdftab.c
 * The CDF by table of include/dealsim/dist_cdftab.h: exact knots, cubic
 * Hermite between them where a bound on the error allows, exact elsewhere.
 * Licence: see LICENSE at the top of the repository.
 */
#include <math.h>
#include <stdlib.h>

#include "dealsim/dist_cdftab.h"
#include "dist_internal.h"
#include "dealsim/dsmath.h"

size_t ds_cdftab_bytes(void)
{
    return 2u * (DS_CDFTAB_N + 1u) * sizeof(double) + DS_CDFTAB_N;
}

int ds_cdftab_applies(const ds_dist *d)
{
    return d && d->prepared && (d->kind == DS_DIST_BETA || d->kind == DS_DIST_PERT) &&
           isfinite(d->min) && isfinite(d->max) && d->min < d->max && d->a > 0.0 &&
           d->b > 0.0;
}

/* p ln v, with 0 ln 0 = 0 (a shape of exactly 1 has no factor). */
static double plog(double p, double v)
{
    return p == 0.0 ? 0.0 : p * ds_log(v);
}

/* The Beta(a, b) density on (0, 1) at t, 0 where it is infinite or 0 (such
 * a knot only borders intervals the bound rejects, or is a zero). */
static double beta_density(double a, double b, double lbeta, double t)
{
    double l = plog(a - 1.0, t) + plog(b - 1.0, 1.0 - t) - lbeta;
    double f = ds_exp(l);
    return isfinite(f) ? f : 0.0;
}

/* A bound on max |f'''| over [t0, t1] (0 <= t0 < t1 <= 1), +inf where f'''
 * is unbounded.  With g = ln f = A ln t + B ln(1 - t) + c (A = a - 1,
 * B = b - 1): f''' = f (g'^3 + 3 g' g'' + g'''), and on the interval
 * |g'| <= |A|/t0 + |B|/(1-t1), |g''| <= |A|/t0^2 + |B|/(1-t1)^2,
 * |g'''| <= 2 (|A|/t0^3 + |B|/(1-t1)^3); f <= the product of the larger
 * ends of its two monotone factors. */
static double d3_bound(double a, double b, double lbeta, double t0, double t1)
{
    const double A = a - 1.0, B = b - 1.0;
    if ((A != 0.0 && !(t0 > 0.0)) || (B != 0.0 && !(t1 < 1.0)))
        return (double)INFINITY;
    const double p = A != 0.0 ? fabs(A) / t0 : 0.0, ip = A != 0.0 ? 1.0 / t0 : 0.0;
    const double q = B != 0.0 ? fabs(B) / (1.0 - t1) : 0.0, iq = B != 0.0 ? 1.0 / (1.0 - t1) : 0.0;
    const double g1 = p + q, g2 = p * ip + q * iq, g3 = 2.0 * (p * ip * ip + q * iq * iq);
    const double la = fmax(plog(A, t0), plog(A, t1));
    const double lb = fmax(plog(B, 1.0 - t0), plog(B, 1.0 - t1));
    const double fmaxv = ds_exp(la + lb - lbeta);
    return fmaxv * (g1 * g1 * g1 + 3.0 * g1 * g2 + g3);
}

ds_status ds_cdftab_build(ds_cdftab *t, const ds_dist *d)
{
    const size_t N = DS_CDFTAB_N;
    t->dist = d;
    t->knot = NULL;
    t->ok = NULL;
    t->n_ok = 0;
    t->lo = d->min;
    t->hi = d->max;
    t->w = d->max - d->min;
    if (!ds_cdftab_applies(d))
        return DS_OK;
    t->knot = malloc(2 * (N + 1) * sizeof *t->knot);
    t->ok = malloc(N);
    if (!t->knot || !t->ok) {
        ds_cdftab_free(t);
        return DS_ERR_NOMEM;
    }
    const double a = d->a, b = d->b, lbeta = ds_dist_lbeta(a, b);
    const double inv_n = 1.0 / (double)N;
    /* h^4 / 384 with h = 1 / N (exact: a power of 2 over 384). */
    const double rem = inv_n * inv_n * inv_n * inv_n / 384.0;
    for (size_t i = 0; i <= N; ++i) {
        const double ti = (double)i * inv_n; /* exact */
        t->knot[2 * i] = ds_beta_inc(a, b, ti);
        t->knot[2 * i + 1] = beta_density(a, b, lbeta, ti) * inv_n;
    }
    for (size_t i = 0; i < N; ++i) {
        /* A margin of 1.01 for the rounding of the bound itself. */
        const double e = 1.01 * rem *
                         d3_bound(a, b, lbeta, (double)i * inv_n, (double)(i + 1) * inv_n);
        t->ok[i] = e <= DS_CDFTAB_TOL;
        t->n_ok += t->ok[i];
    }
    return DS_OK;
}

void ds_cdftab_free(ds_cdftab *t)
{
    if (!t)
        return;
    free(t->knot);
    free(t->ok);
    t->knot = NULL;
    t->ok = NULL;
    t->n_ok = 0;
}

void ds_cdftab_eval(const ds_cdftab *t, const double *x, size_t n, double *u)
{
    if (t->n_ok == 0) {
        for (size_t j = 0; j < n; ++j)
            u[j] = ds_dist_cdf(t->dist, x[j]);
        return;
    }
    const double lo = t->lo, hi = t->hi, w = t->w;
    const double *k = t->knot;
    for (size_t j = 0; j < n; ++j) {
        const double v = x[j];
        /* The ends, NaN and what rounds onto the last knot: exact. */
        if (!(v > lo && v < hi)) {
            u[j] = ds_dist_cdf(t->dist, v);
            continue;
        }
        const double p = (v - lo) / w * (double)DS_CDFTAB_N; /* the same t as ds_dist_cdf's */
        const size_t i = (size_t)p;
        if (i >= DS_CDFTAB_N || !t->ok[i]) {
            u[j] = ds_dist_cdf(t->dist, v);
            continue;
        }
        const double s = p - (double)i; /* exact */
        const double f0 = k[2 * i], d0 = k[2 * i + 1], f1 = k[2 * i + 2], d1 = k[2 * i + 3];
        const double df = f1 - f0;
        const double c2 = 3.0 * df - 2.0 * d0 - d1, c3 = d0 + d1 - 2.0 * df;
        const double r = f0 + s * (d0 + s * (c2 + s * c3));
        u[j] = r < 0.0 ? 0.0 : (r > 1.0 ? 1.0 : r);
    }
}
