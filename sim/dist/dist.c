/* sim/dist/dist.c
 * The distributions of MODEL.md section 2: names, life cycle, sampling,
 * inversion, CDF, support, mean (the checks and defaults: dist_prepare.c).
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants.  ds_dist_prepare() (dist_prepare.c) is the only function that
 * writes to a ds_dist after it is filled: it validates, writes the documented defaults
 * into absent fields (PERT lambda = 4; BETA min/max = 0/1; NORMAL min/max =
 * -inf/+inf; LOGNORMAL min/max = 0/+inf) and fills the derived fields.  After
 * it every other function only reads, so one prepared tree may be shared by
 * all threads.  Truncation is conditioning: NORMAL and LOGNORMAL work in
 * standard units z (z = (x - mean)/sd, or (ln x - ln median)/sigma) on
 * [alpha, beta], and every probability of the interval is formed on the side
 * (lower tail, upper tail or centre) where it has no cancellation, so far
 * tails such as [8, 9] sd keep full relative precision.  DISCRETE keeps its
 * values sorted (with their weights) in `cum`, so its quantile is the true
 * generalised inverse CDF and is monotone, as the copula needs.
 *
 * Conventions fixed here (MODEL.md section 2 and 3.1):
 *  - BERNOULLI: sample = (U < p); quantile(u) is the generalised inverse CDF,
 *    0 for u <= 1 - p and 1 above (MODEL.md 2: a correlated input is
 *    F^-1(Phi(Z)), so a high latent gives 1).  Joins are not Bernoulli
 *    distributions: they compare their own uniform with p (join = U < p).
 *  - MIXTURE: quantile(u) splits [0, 1) into intervals proportional to the
 *    weights, in component order, rescales u inside the chosen interval and
 *    inverts that component (MODEL.md); it is not the mixture's inverse CDF,
 *    and quantile(0) / quantile(1) are the ends of the first / last component
 *    with positive weight.
 *  - DISCRETE: quantile(u) = the smallest sorted value whose cumulative
 *    weight exceeds u (numpy's searchsorted(cdf, u, side="right")).
 *  - weights == NULL (DISCRETE, MIXTURE) means equal weights.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/dist.h"
#include "dist_internal.h"
#include "dealsim/dsmath.h"

#define DS_INV_SQRT_2PI 0.39894228040143267793994605993438

/* Probabilities below this are inverted in the tail branches of AS 241;
 * above it, from their distance to 1/2 (central branch). */
#define DS_NORM_TAIL_P (0.5 - DS_NORM_CENTRAL_HALF)

static const char *const kind_names[DS_DIST_KIND_COUNT] = {
    "fixed", "uniform", "triangular", "pert", "beta",
    "normal", "lognormal", "bernoulli", "discrete", "mixture"};

const char *ds_dist_kind_name(ds_dist_kind kind)
{
    if ((int)kind < 0 || kind >= DS_DIST_KIND_COUNT)
        return "unknown";
    return kind_names[kind];
}

int ds_dist_kind_from_name(const char *name, ds_dist_kind *kind)
{
    if (!name)
        return 0;
    for (int k = 0; k < (int)DS_DIST_KIND_COUNT; ++k) {
        if (strcmp(name, kind_names[k]) == 0) {
            if (kind)
                *kind = (ds_dist_kind)k;
            return 1;
        }
    }
    return 0;
}

/* ---- Life cycle ---- */

void ds_dist_init(ds_dist *d, ds_dist_kind kind)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->value = 0.0;
    d->min = d->max = DS_NAN;
    d->mode = d->lambda = DS_NAN;
    d->alpha = d->beta = DS_NAN;
    d->mean = d->sd = DS_NAN;
    d->median = d->sigma = DS_NAN;
    d->p = DS_NAN;
    d->a = d->b = DS_NAN;
    d->values = d->weights = d->cum = NULL;
    d->components = NULL;
}

void ds_dist_init_fixed(ds_dist *d, double v)
{
    ds_dist_init(d, DS_DIST_FIXED);
    d->value = v;
    d->prepared = isfinite(v) ? 1 : 0; /* nothing to derive */
}

void ds_dist_clear(ds_dist *d)
{
    if (!d)
        return;
    if (d->components) {
        for (size_t i = 0; i < d->n; ++i)
            ds_dist_clear(&d->components[i]);
        free(d->components);
    }
    free(d->values);
    free(d->weights);
    free(d->cum);
    ds_dist_init(d, DS_DIST_FIXED);
}

static size_t cum_length(const ds_dist *d)
{
    return d->kind == DS_DIST_DISCRETE ? 2 * d->n : d->n;
}

static double *dup_doubles(const double *src, size_t n, int *failed)
{
    if (!src || n == 0)
        return NULL;
    double *p = malloc(n * sizeof *p);
    if (!p) {
        *failed = 1;
        return NULL;
    }
    memcpy(p, src, n * sizeof *p);
    return p;
}

ds_status ds_dist_copy(ds_dist *dst, const ds_dist *src)
{
    *dst = *src;
    dst->values = dst->weights = dst->cum = NULL;
    dst->components = NULL;
    int failed = 0;
    dst->values = dup_doubles(src->values, src->n, &failed);
    dst->weights = dup_doubles(src->weights, src->n, &failed);
    dst->cum = dup_doubles(src->cum, cum_length(src), &failed);
    if (!failed && src->components && src->n > 0) {
        dst->components = malloc(src->n * sizeof *dst->components);
        if (!dst->components) {
            failed = 1;
        } else {
            for (size_t i = 0; i < src->n; ++i)
                ds_dist_init(&dst->components[i], DS_DIST_FIXED);
            for (size_t i = 0; i < src->n && !failed; ++i)
                if (ds_dist_copy(&dst->components[i], &src->components[i]) != DS_OK)
                    failed = 1;
        }
    }
    if (failed) {
        ds_dist_clear(dst);
        return DS_ERR_NOMEM;
    }
    return DS_OK;
}

/* ---- Truncated standard normal on [alpha, beta] ---- */

/* ln(e^x + e^y) without overflow or underflow. */
static double log_add(double x, double y)
{
    double hi = fmax(x, y), lo = fmin(x, y);
    if (hi == -DS_INF)
        return -DS_INF;
    return hi + ds_log1p(ds_exp(lo - hi));
}

/* Phi^-1(Phi(alpha) + u mass), from whichever of three forms is free of
 * cancellation: the lower-tail probability P, the upper-tail probability Q
 * (each a sum of positive terms), or, near the centre, delta = Phi(z) - 1/2
 * from e = 1/2 - Phi(bound) (exact near 0 thanks to erf).  Tail
 * probabilities below DS_NORM_PPF_LOG_MIN (u tiny in a far tail) are summed
 * and inverted as logarithms, so they never underflow to an infinite z. */
static double trunc_quantile_z(const ds_dist *d, double u)
{
    double mass = d->c[C_MASS];
    double pl = d->cdf_lo + u * mass;
    if (pl < DS_NORM_TAIL_P) {
        if (pl >= DS_NORM_PPF_LOG_MIN)
            return ds_norm_ppf(pl);
        return ds_dist_norm_ppf_log(
            log_add(ds_dist_norm_log_cdf(d->c[C_ALPHA]), ds_log(u) + ds_log(mass)));
    }
    double qu = d->sf_hi + (1.0 - u) * mass;
    if (qu < DS_NORM_TAIL_P) {
        if (qu >= DS_NORM_PPF_LOG_MIN)
            return -ds_norm_ppf(qu);
        return -ds_dist_norm_ppf_log(
            log_add(ds_dist_norm_log_cdf(-d->c[C_BETA]), ds_log1p(-u) + ds_log(mass)));
    }
    double delta;
    if (d->c[C_ALPHA] >= 0.0 || (d->c[C_BETA] > 0.0 && u <= 0.5))
        delta = u * mass - d->c[C_E_LO];
    else
        delta = -d->c[C_E_HI] - (1.0 - u) * mass;
    return ds_dist_norm_ppf_central(delta);
}

static double trunc_cdf_z(const ds_dist *d, double z)
{
    if (z <= d->c[C_ALPHA])
        return 0.0;
    if (z >= d->c[C_BETA])
        return 1.0;
    return fmin(1.0, ds_dist_norm_mass(d->c[C_ALPHA], z) / d->c[C_MASS]);
}

static double trunc_sample_z(const ds_dist *d, ds_rng *r)
{
    switch ((enum trunc_method)(int)d->c[C_METHOD]) {
    case TRUNC_NONE:
        return ds_rand_normal(r);
    case TRUNC_REJECT:
        for (;;) {
            double z = ds_rand_normal(r);
            if (z >= d->c[C_ALPHA] && z <= d->c[C_BETA])
                return z;
        }
    case TRUNC_INVERT:
    default:
        return trunc_quantile_z(d, ds_rng_uniform_pos(r));
    }
}

/* phi(lo) - phi(hi), factored by the larger density so that close bounds do
 * not cancel: phi(lo) (1 - exp((lo^2 - hi^2)/2)) by expm1. */
static double phi_diff(double lo, double hi)
{
    if (lo == -DS_INF)
        return hi == DS_INF ? 0.0 : -DS_INV_SQRT_2PI * ds_exp(-0.5 * hi * hi);
    if (hi == DS_INF)
        return DS_INV_SQRT_2PI * ds_exp(-0.5 * lo * lo);
    if (fabs(lo) <= fabs(hi))
        return -DS_INV_SQRT_2PI * ds_exp(-0.5 * lo * lo) * ds_expm1(0.5 * (lo - hi) * (lo + hi));
    return DS_INV_SQRT_2PI * ds_exp(-0.5 * hi * hi) * ds_expm1(0.5 * (hi - lo) * (hi + lo));
}

/* ---- Triangular ---- */

/* Inversion of the triangular CDF.  The upper branch is written from the
 * mode, x = mode + r (u w - l) / (r + s) with s = sqrt((1-u) w r), instead of
 * max - s, which would cancel when mode = min = 0 and x is small. */
static double triangular_quantile(const ds_dist *d, double u)
{
    double w = d->max - d->min, l = d->mode - d->min, rr = d->max - d->mode;
    if (u >= 1.0)
        return d->max;
    if (u < d->c[C_TRI_SPLIT])
        return ds_dist_clamp(d->min + sqrt(u * w * l), d->min, d->max);
    double s = sqrt((1.0 - u) * w * rr);
    return ds_dist_clamp(d->mode + rr * (u * w - l) / (rr + s), d->min, d->max);
}

/* ---- Discrete and mixture ---- */

/* ---- Public evaluation ---- */

double ds_dist_sample(const ds_dist *d, ds_rng *r)
{
    switch (d->kind) {
    case DS_DIST_FIXED:
        return d->value;
    case DS_DIST_UNIFORM:
        return d->min + ds_rng_uniform(r) * (d->max - d->min);
    case DS_DIST_TRIANGULAR:
        return triangular_quantile(d, ds_rng_uniform(r));
    case DS_DIST_PERT:
    case DS_DIST_BETA:
        return d->min + (d->max - d->min) * ds_rand_beta(r, d->a, d->b);
    case DS_DIST_NORMAL:
        return ds_dist_normal_at(d, trunc_sample_z(d, r));
    case DS_DIST_LOGNORMAL:
        return ds_dist_lognormal_at(d, trunc_sample_z(d, r));
    case DS_DIST_BERNOULLI:
        return ds_rng_uniform(r) < d->p ? 1.0 : 0.0;
    case DS_DIST_DISCRETE:
        return d->cum[d->n + ds_dist_cum_pick(d->cum, d->n, ds_rng_uniform(r))];
    case DS_DIST_MIXTURE:
        return ds_dist_sample(ds_dist_mixture_pick(d, ds_rng_uniform(r)), r);
    default:
        return DS_NAN;
    }
}

void ds_dist_sample_n(const ds_dist *d, ds_rng *r, double *v, size_t n)
{
    /* The common kinds with the generator in a local (registers), the same
     * words and formulas as ds_dist_sample; the rest one by one. */
    ds_rng g = *r;
    switch (d->kind) {
    case DS_DIST_UNIFORM: {
        const double lo = d->min, w = d->max - d->min;
        for (size_t t = 0; t < n; ++t)
            v[t] = lo + ds_rng_uniform(&g) * w;
        break;
    }
    case DS_DIST_TRIANGULAR:
        for (size_t t = 0; t < n; ++t)
            v[t] = ds_rng_uniform(&g);
        for (size_t t = 0; t < n; ++t)
            v[t] = triangular_quantile(d, v[t]);
        break;
    case DS_DIST_LOGNORMAL: /* the exponentials in SIMD lanes: ds_exp's bits */
        for (size_t t = 0; t < n; ++t)
            v[t] = d->c[C_LOC] + d->c[C_SCALE] * trunc_sample_z(d, &g);
        ds_vec_exp(v, v, n);
        for (size_t t = 0; t < n; ++t)
            v[t] = ds_dist_clamp(v[t], d->min, d->max);
        break;
    default:
        for (size_t t = 0; t < n; ++t)
            v[t] = ds_dist_sample(d, &g);
    }
    *r = g;
}

double ds_dist_quantile(const ds_dist *d, double u)
{
    if (!(u >= 0.0 && u <= 1.0))
        return DS_NAN;
    switch (d->kind) {
    case DS_DIST_FIXED:
        return d->value;
    case DS_DIST_UNIFORM:
        return fmin(d->min + u * (d->max - d->min), d->max);
    case DS_DIST_TRIANGULAR:
        return triangular_quantile(d, u);
    case DS_DIST_PERT:
    case DS_DIST_BETA: {
        double x, y, w = d->max - d->min;
        ds_dist_beta_inc_inv_pair(d->a, d->b, u, 1.0 - u, &x, &y);
        /* From the nearer end, where x or y carries the precision. */
        return ds_dist_clamp(x <= 0.5 ? d->min + w * x : d->max - w * y, d->min, d->max);
    }
    case DS_DIST_NORMAL:
        if (u <= 0.0)
            return d->min;
        if (u >= 1.0)
            return d->max;
        return ds_dist_normal_at(d, trunc_quantile_z(d, u));
    case DS_DIST_LOGNORMAL:
        if (u <= 0.0)
            return d->min;
        if (u >= 1.0)
            return d->max;
        return ds_dist_lognormal_at(d, trunc_quantile_z(d, u));
    case DS_DIST_BERNOULLI:
        if (d->p >= 1.0) /* the support is {1}, also at u = 0 */
            return 1.0;
        return u > 1.0 - d->p ? 1.0 : 0.0;
    case DS_DIST_DISCRETE: {
        size_t i = u >= 1.0 ? (size_t)d->c[C_LAST_POS] : ds_dist_cum_search(d->cum, d->n, u);
        return d->cum[d->n + i];
    }
    case DS_DIST_MIXTURE: {
        size_t i;
        double v;
        if (u >= 1.0) {
            i = (size_t)d->c[C_LAST_POS];
            v = 1.0;
        } else {
            i = ds_dist_cum_search(d->cum, d->n, u);
            double lo = i > 0 ? d->cum[i - 1] : 0.0;
            v = ds_dist_clamp((u - lo) / (d->cum[i] - lo), 0.0, 1.0);
        }
        return ds_dist_quantile(&d->components[i], v);
    }
    default:
        return DS_NAN;
    }
}

double ds_dist_cdf(const ds_dist *d, double x)
{
    if (isnan(x))
        return DS_NAN;
    switch (d->kind) {
    case DS_DIST_FIXED:
        return x < d->value ? 0.0 : 1.0;
    case DS_DIST_UNIFORM:
        return ds_dist_clamp((x - d->min) / (d->max - d->min), 0.0, 1.0);
    case DS_DIST_TRIANGULAR: {
        double w = d->max - d->min;
        if (x <= d->min)
            return 0.0;
        if (x >= d->max)
            return 1.0;
        if (x <= d->mode)
            return (x - d->min) * (x - d->min) / (w * (d->mode - d->min));
        return 1.0 - (d->max - x) * (d->max - x) / (w * (d->max - d->mode));
    }
    case DS_DIST_PERT:
    case DS_DIST_BETA: {
        if (x <= d->min)
            return 0.0;
        if (x >= d->max)
            return 1.0;
        double w = d->max - d->min, ix, iy, ld;
        (void)ds_dist_beta_inc_pair(d->a, d->b, (x - d->min) / w, (d->max - x) / w, &ix, &iy, &ld,
                                    NULL);
        return ix;
    }
    case DS_DIST_NORMAL:
        if (x < d->min)
            return 0.0;
        if (x >= d->max)
            return 1.0;
        return trunc_cdf_z(d, (x - d->c[C_LOC]) / d->c[C_SCALE]);
    case DS_DIST_LOGNORMAL:
        if (x <= 0.0 || x < d->min)
            return 0.0;
        if (x >= d->max)
            return 1.0;
        return trunc_cdf_z(d, (ds_log(x) - d->c[C_LOC]) / d->c[C_SCALE]);
    case DS_DIST_BERNOULLI:
        if (x < 0.0)
            return 0.0;
        return x < 1.0 ? 1.0 - d->p : 1.0;
    case DS_DIST_DISCRETE: {
        /* cumulative weight of the sorted values <= x */
        const double *sv = d->cum + d->n;
        size_t lo = 0, hi = d->n; /* count of sorted values <= x */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sv[mid] <= x)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo == 0 ? 0.0 : d->cum[lo - 1];
    }
    case DS_DIST_MIXTURE: {
        double s = 0.0;
        for (size_t i = 0; i < d->n; ++i) {
            double w = ds_dist_weight_at(d, i);
            if (w > 0.0)
                s += w * ds_dist_cdf(&d->components[i], x);
        }
        return ds_dist_clamp(s / d->c[C_WSUM], 0.0, 1.0);
    }
    default:
        return DS_NAN;
    }
}

void ds_dist_support(const ds_dist *d, double *lo, double *hi)
{
    double l = DS_NAN, h = DS_NAN;
    switch (d->kind) {
    case DS_DIST_FIXED:
        l = h = d->value;
        break;
    case DS_DIST_UNIFORM:
    case DS_DIST_TRIANGULAR:
    case DS_DIST_PERT:
        l = d->min;
        h = d->max;
        break;
    case DS_DIST_BETA:
        l = isnan(d->min) ? 0.0 : d->min;
        h = isnan(d->max) ? 1.0 : d->max;
        break;
    case DS_DIST_NORMAL:
        l = isnan(d->min) ? -DS_INF : d->min;
        h = isnan(d->max) ? DS_INF : d->max;
        break;
    case DS_DIST_LOGNORMAL:
        l = isnan(d->min) ? 0.0 : fmax(d->min, 0.0);
        h = isnan(d->max) ? DS_INF : d->max;
        break;
    case DS_DIST_BERNOULLI:
        l = d->p >= 1.0 ? 1.0 : 0.0;
        h = d->p <= 0.0 ? 0.0 : 1.0;
        break;
    case DS_DIST_DISCRETE:
        l = DS_INF;
        h = -DS_INF;
        for (size_t i = 0; i < d->n; ++i) {
            if (ds_dist_weight_at(d, i) > 0.0) {
                l = fmin(l, d->values[i]);
                h = fmax(h, d->values[i]);
            }
        }
        break;
    case DS_DIST_MIXTURE:
        l = DS_INF;
        h = -DS_INF;
        for (size_t i = 0; i < d->n; ++i) {
            if (ds_dist_weight_at(d, i) > 0.0) {
                double cl, ch;
                ds_dist_support(&d->components[i], &cl, &ch);
                l = fmin(l, cl);
                h = fmax(h, ch);
            }
        }
        break;
    default:
        break;
    }
    if (lo)
        *lo = l;
    if (hi)
        *hi = h;
}

int ds_dist_is_fixed(const ds_dist *d)
{
    double lo, hi;
    switch (d->kind) {
    case DS_DIST_FIXED:
        return 1;
    case DS_DIST_BERNOULLI:
        return d->p == 0.0 || d->p == 1.0;
    case DS_DIST_DISCRETE:
    case DS_DIST_MIXTURE:
        ds_dist_support(d, &lo, &hi);
        return lo == hi;
    default:
        return 0;
    }
}

double ds_dist_mean(const ds_dist *d)
{
    switch (d->kind) {
    case DS_DIST_FIXED:
        return d->value;
    case DS_DIST_UNIFORM:
        return 0.5 * (d->min + d->max);
    case DS_DIST_TRIANGULAR:
        return (d->min + d->mode + d->max) / 3.0;
    case DS_DIST_PERT:
    case DS_DIST_BETA:
        return d->min + (d->max - d->min) * (d->a / (d->a + d->b));
    case DS_DIST_NORMAL: {
        /* E[Z | alpha <= Z <= beta] = (phi(alpha) - phi(beta)) / mass */
        double z = phi_diff(d->c[C_ALPHA], d->c[C_BETA]) / d->c[C_MASS];
        return ds_dist_normal_at(d, z);
    }
    case DS_DIST_LOGNORMAL: {
        /* E[e^(m + s Z) | ...] = e^(m + s^2/2) P(alpha - s <= Z <= beta - s) / mass */
        double s = d->c[C_SCALE];
        double shifted = ds_dist_norm_mass(d->c[C_ALPHA] - s, d->c[C_BETA] - s);
        double m = ds_exp(d->c[C_LOC] + 0.5 * s * s + ds_log(shifted) - ds_log(d->c[C_MASS]));
        return ds_dist_clamp(m, d->min, d->max);
    }
    case DS_DIST_BERNOULLI:
        return d->p;
    case DS_DIST_DISCRETE:
    case DS_DIST_MIXTURE: {
        double s = 0.0, ws = 0.0;
        for (size_t i = 0; i < d->n; ++i) {
            double w = ds_dist_weight_at(d, i);
            if (w > 0.0) {
                ws += w;
                s += w * (d->kind == DS_DIST_DISCRETE ? d->values[i]
                                                       : ds_dist_mean(&d->components[i]));
            }
        }
        return s / ws;
    }
    default:
        return DS_NAN;
    }
}
