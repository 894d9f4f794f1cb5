/* sim/dist/dist_internal.h
 * Private helpers shared by sim/dist/dist.c, dist_prepare.c, dist_special.c
 * and dist_rand.c.
 * Licence: see LICENSE at the top of the repository.
 *
 * Nothing here is part of the public API (include/dealsim/dist.h is).  All
 * functions are pure: no state, safe from any thread.
 */
#ifndef DEALSIM_DIST_INTERNAL_H
#define DEALSIM_DIST_INTERNAL_H

#include <math.h>
#include <stddef.h>

#include "dealsim/dist.h"
#include "dealsim/dsmath.h"

/* INFINITY and NAN are float constants in C11; these are doubles, so that
 * comparisons with them need no promotion (-Wdouble-promotion). */
#define DS_INF ((double)INFINITY)
#define DS_NAN ((double)NAN)

/* ln Gamma(x) for x > 0, accurate to a few units of 1e-16 absolute.  Our own
 * because lgamma() of C99 writes the global `signgam` (a data race between
 * threads) and lgamma_r() is not standard C. */
double ds_dist_lgamma(double x);

/* ln B(a, b) for a, b > 0, without the cancellation of
 * lgamma(a) + lgamma(b) - lgamma(a + b) when a or b is large. */
double ds_dist_lbeta(double a, double b);

/* Regularised incomplete beta at x with y = 1 - x given separately (so that
 * points near 1 keep their precision).  Writes I_x(a, b) to *ix and its
 * complement I_y(b, a) to *iy; the one computed directly (the other is 1 minus
 * it) is the one that is small in the tails, so both tails keep relative
 * precision.  Returns 1 when *ix was computed directly, 0 otherwise.
 * *ln_direct receives ln of the directly computed value (finite even when
 * the value underflows); ln_pre (may be NULL) receives ln(x^a y^b / B(a, b)). */
int ds_dist_beta_inc_pair(double a, double b, double x, double y, double *ix, double *iy,
                          double *ln_direct, double *ln_pre);

/* Inverse of the regularised incomplete beta: finds x with I_x(a, b) = p,
 * where q = 1 - p is passed separately (p tiny and q tiny are both
 * representable).  Writes x and y = 1 - x, each with relative precision. */
void ds_dist_beta_inc_inv_pair(double a, double b, double p, double q, double *x, double *y);

/* Phi^-1(1/2 + delta) for |delta| <= DS_NORM_CENTRAL_HALF, from the
 * difference delta itself (the central rational function of AS 241), so that
 * quantiles near the median keep their relative precision. */
#define DS_NORM_CENTRAL_HALF 0.425
double ds_dist_norm_ppf_central(double delta);

/* ln Phi(z), accurate also where Phi(z) underflows (z < -37.5). */
double ds_dist_norm_log_cdf(double z);

/* Phi^-1(e^lp) for lp <= 0, for probabilities too small for a double; for
 * e^lp >= DS_NORM_PPF_LOG_MIN it is ds_norm_ppf(e^lp) (AS 241 is accurate
 * down to 1e-300). */
#define DS_NORM_PPF_LOG_MIN 1e-290
double ds_dist_norm_ppf_log(double lp);

/* Probability that a standard normal falls in [lo, hi] (lo <= hi, either may
 * be infinite), computed on the tail side that avoids cancellation. */
double ds_dist_norm_mass(double lo, double hi);

/* ---- Shared by dist.c and dist_prepare.c ---- */

#define DS_SQRT1_2 0.70710678118654752440084436210485

/* Slots of ds_dist.c[] by kind (filled by ds_dist_prepare). */
enum {
    /* NORMAL and LOGNORMAL, in standard units */
    C_ALPHA = 0,  /* lower bound z */
    C_BETA = 1,   /* upper bound z */
    C_MASS = 2,   /* P(alpha <= Z <= beta) */
    C_E_LO = 3,   /* 1/2 - Phi(alpha), from erf: exact near 0 */
    C_E_HI = 4,   /* 1/2 - Phi(beta) */
    C_METHOD = 5, /* a trunc_method */
    C_LOC = 6,    /* mean, or ln median */
    C_SCALE = 7,  /* sd, or sigma */
    /* TRIANGULAR */
    C_TRI_SPLIT = 0, /* (mode - min) / (max - min) */
    /* DISCRETE and MIXTURE */
    C_LAST_POS = 0, /* index of the last positive weight (of the sorted
                       values for DISCRETE) */
    C_WSUM = 1      /* sum of the weights */
};

/* How a truncated normal or lognormal is sampled (c[C_METHOD]). */
enum trunc_method { TRUNC_NONE = 0, TRUNC_REJECT = 1, TRUNC_INVERT = 2 };

/* Weight i of a DISCRETE or MIXTURE (NULL weights: equal). */
static inline double ds_dist_weight_at(const ds_dist *d, size_t i)
{
    return d->weights ? d->weights[i] : 1.0;
}

/* x limited to [lo, hi] (a NaN x stays NaN). */
static inline double ds_dist_clamp(double x, double lo, double hi)
{
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return x;
}

/* The first index i with cum[i] > u, for u in [0, 1) (cum[n-1] = 1). */
static inline size_t ds_dist_cum_search(const double *cum, size_t n, double u)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ds_dist_cum_search(cum, n, u) for a uniform draw u in [0, 1): for a few
 * entries the count of cum[k] <= u over k < n - 1, which is the same index
 * (cum is nondecreasing) without a branch on u, whose outcome is random (a
 * mixture's component, a discrete value: the binary search mispredicted
 * about once a draw). */
static inline size_t ds_dist_cum_pick(const double *cum, size_t n, double u)
{
    if (n > 8)
        return ds_dist_cum_search(cum, n, u);
    size_t i = 0;
    for (size_t k = 0; k + 1 < n; ++k)
        i += cum[k] <= u;
    return i;
}

/* A normal from its standard value z: loc + scale z, limited to
 * [min, max] (one formula for the samplers, the quantile and the mean). */
static inline double ds_dist_normal_at(const ds_dist *d, double z)
{
    return ds_dist_clamp(d->c[C_LOC] + d->c[C_SCALE] * z, d->min, d->max);
}

/* A lognormal from its standard value z: e^(loc + scale z) in [min, max]. */
static inline double ds_dist_lognormal_at(const ds_dist *d, double z)
{
    return ds_dist_clamp(ds_exp(d->c[C_LOC] + d->c[C_SCALE] * z), d->min, d->max);
}

/* The component of mixture d that a uniform u in [0, 1) picks. */
static inline const ds_dist *ds_dist_mixture_pick(const ds_dist *d, double u)
{
    return &d->components[ds_dist_cum_pick(d->cum, d->n, u)];
}

#endif /* DEALSIM_DIST_INTERNAL_H */
