/* sim/dist/dist.c
 * The distributions of MODEL.md section 2: checks, sampling, inversion, CDF, mean.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants.  ds_dist_prepare() is the only function that writes to a
 * ds_dist after it is filled: it validates, writes the documented defaults
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/dist.h"
#include "dist_internal.h"
#include "dealsim/dsmath.h"

#if defined(__GNUC__)
#define DS_DIST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DS_DIST_PRINTF(f, a)
#endif

#define DS_SQRT1_2 0.70710678118654752440084436210485
#define DS_INV_SQRT_2PI 0.39894228040143267793994605993438

/* PERT's default concentration (MODEL.md). */
#define DS_PERT_DEFAULT_LAMBDA 4.0
/* A truncation must keep at least this probability of the untruncated law:
 * below it the tail masses approach the double underflow threshold (1e-308)
 * and lose relative precision; it allows bounds out to about 35 sd. */
#define DS_TRUNC_MIN_MASS 1e-280
/* Truncated normals keeping at least this mass are sampled by redrawing the
 * ziggurat until the draw falls inside (at most 2 draws of ~3 ns on average);
 * smaller ones by inversion (~11 ns in the central branch of AS 241, ~16-25 ns
 * in its tails), which never loops.  Measured with ds_dist_tool bench. */
#define DS_TRUNC_REJECT_MIN_MASS 0.5
/* Probabilities below this are inverted in the tail branches of AS 241;
 * above it, from their distance to 1/2 (central branch). */
#define DS_NORM_TAIL_P (0.5 - DS_NORM_CENTRAL_HALF)
/* Longest "component 2: component 1: ..." prefix of a message. */
#define DS_DIST_PATH_MAX 512

/* Slots of ds_dist.c[] by kind. */
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

enum trunc_method { TRUNC_NONE = 0, TRUNC_REJECT = 1, TRUNC_INVERT = 2 };

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

/* ---- Validation messages ---- */

/* A number as the shortest %g that reads back to the same double, so that
 * messages show "0.1" and "12", yet never print two different bounds alike. */
typedef struct {
    char s[32];
} numtxt;

static numtxt num(double x)
{
    numtxt t;
    for (int prec = 6; prec <= 17; ++prec) {
        snprintf(t.s, sizeof t.s, "%.*g", prec, x);
        if (!isfinite(x) || strtod(t.s, NULL) == x)
            break;
    }
    return t;
}

static ds_status fail(ds_diag *diag, const char *path, const char *fmt, ...) DS_DIST_PRINTF(3, 4);
static ds_status fail(ds_diag *diag, const char *path, const char *fmt, ...)
{
    char msg[DS_DIAG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ds_diag_set(diag, DS_ERR_SCENARIO, NULL, 0, 0, "%s%s", path, msg);
}

static ds_status need_finite(ds_diag *diag, const char *path, const char *name, double v)
{
    if (isnan(v))
        return fail(diag, path, "%s is required (found none, or NaN)", name);
    if (isinf(v))
        return fail(diag, path, "%s (%s) must be a finite number", name, num(v).s);
    return DS_OK;
}

static ds_status need_positive(ds_diag *diag, const char *path, const char *name, double v)
{
    DS_TRY(need_finite(diag, path, name, v));
    if (!(v > 0.0))
        return fail(diag, path, "%s (%s) must be greater than 0", name, num(v).s);
    return DS_OK;
}

static ds_status need_order(ds_diag *diag, const char *path, double lo, double hi)
{
    if (!(lo < hi))
        return fail(diag, path, "min (%s) must be less than max (%s)", num(lo).s, num(hi).s);
    return DS_OK;
}

static ds_status need_weight(ds_diag *diag, const char *path, const char *what, size_t i,
                             double w)
{
    if (!(w >= 0.0) || isinf(w))
        return fail(diag, path, "%s %zu (%s) must be a finite number >= 0", what, i + 1,
                    num(w).s);
    return DS_OK;
}

static double weight_at(const ds_dist *d, size_t i)
{
    return d->weights ? d->weights[i] : 1.0;
}

/* ---- Preparation ---- */

static ds_status prepare_truncation(ds_dist *d, ds_diag *diag, const char *path, double loc,
                                    double scale, double zlo, double zhi)
{
    double mass = ds_dist_norm_mass(zlo, zhi);
    if (!(mass >= DS_TRUNC_MIN_MASS))
        return fail(diag, path,
                    "truncation to [min, max] = [%s, %s] keeps probability %s of the "
                    "untruncated %s; at least %s is needed",
                    num(d->min).s, num(d->max).s, num(mass).s, ds_dist_kind_name(d->kind),
                    num(DS_TRUNC_MIN_MASS).s);
    d->c[C_ALPHA] = zlo;
    d->c[C_BETA] = zhi;
    d->c[C_MASS] = mass;
    d->c[C_E_LO] = 0.5 * ds_erf(-zlo * DS_SQRT1_2);
    d->c[C_E_HI] = 0.5 * ds_erf(-zhi * DS_SQRT1_2);
    d->c[C_LOC] = loc;
    d->c[C_SCALE] = scale;
    d->cdf_lo = ds_norm_cdf(zlo);
    d->cdf_hi = ds_norm_cdf(zhi);
    d->sf_lo = ds_norm_sf(zlo);
    d->sf_hi = ds_norm_sf(zhi);
    enum trunc_method m = TRUNC_INVERT;
    if (zlo == -DS_INF && zhi == DS_INF)
        m = TRUNC_NONE;
    else if (mass >= DS_TRUNC_REJECT_MIN_MASS)
        m = TRUNC_REJECT;
    d->c[C_METHOD] = (double)m;
    return DS_OK;
}

typedef struct {
    double v, w;
} value_weight;

static int cmp_value(const void *pa, const void *pb)
{
    double a = ((const value_weight *)pa)->v, b = ((const value_weight *)pb)->v;
    return (a > b) - (a < b);
}

/* cum[0..n): cumulative normalised weights, exactly 1 from the last positive
 * weight on; returns the index of that last positive weight. */
static size_t fill_cumulative(double *cum, const double *w, size_t n, double wsum)
{
    size_t last = 0;
    double run = 0.0;
    for (size_t i = 0; i < n; ++i) {
        run += w[i];
        cum[i] = run / wsum;
        if (w[i] > 0.0)
            last = i;
    }
    for (size_t i = last; i < n; ++i)
        cum[i] = 1.0;
    return last;
}

/* Fills d->cum from the weights w (scaled by 1/wmax, summing to wsum), frees
 * w and the previous table, and records the last positive entry and the
 * weights' true total. */
static void install_cumulative(ds_dist *d, double *cum, double *w, double wsum, double wmax)
{
    size_t last = fill_cumulative(cum, w, d->n, wsum);
    free(w);
    free(d->cum);
    d->cum = cum;
    d->c[C_LAST_POS] = (double)last;
    d->c[C_WSUM] = wsum * wmax;
}

static ds_status prepare_discrete(ds_dist *d, ds_diag *diag, const char *path)
{
    if (d->n == 0 || !d->values)
        return fail(diag, path, "values must not be empty");
    double wmax = 0.0;
    for (size_t i = 0; i < d->n; ++i) {
        if (!isfinite(d->values[i]))
            return fail(diag, path, "value %zu (%s) must be a finite number", i + 1,
                        num(d->values[i]).s);
        DS_TRY(need_weight(diag, path, "weight", i, weight_at(d, i)));
        wmax = fmax(wmax, weight_at(d, i));
    }
    if (!(wmax > 0.0))
        return fail(diag, path, "weights must not all be 0");
    value_weight *vw = malloc(d->n * sizeof *vw);
    double *cum = malloc(2 * d->n * sizeof *cum);
    double *w = malloc(d->n * sizeof *w);
    if (!vw || !cum || !w) {
        free(vw);
        free(cum);
        free(w);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    /* Weights scaled by their maximum, so that their sum cannot overflow. */
    double wsum = 0.0;
    for (size_t i = 0; i < d->n; ++i) {
        vw[i].v = d->values[i];
        vw[i].w = weight_at(d, i) / wmax;
        wsum += vw[i].w;
    }
    qsort(vw, d->n, sizeof *vw, cmp_value);
    for (size_t i = 0; i < d->n; ++i) {
        w[i] = vw[i].w;
        cum[d->n + i] = vw[i].v;
    }
    free(vw);
    install_cumulative(d, cum, w, wsum, wmax);
    return DS_OK;
}

static ds_status prepare_rec(ds_dist *d, ds_diag *diag, char *path, size_t path_len, int depth);

static ds_status prepare_mixture(ds_dist *d, ds_diag *diag, char *path, size_t path_len,
                                 int depth)
{
    if (depth > DS_DIST_MAX_DEPTH)
        return fail(diag, path, "mixtures nest deeper than %d levels", DS_DIST_MAX_DEPTH);
    if (d->n == 0 || !d->components)
        return fail(diag, path, "components must not be empty");
    double wmax = 0.0;
    for (size_t i = 0; i < d->n; ++i) {
        DS_TRY(need_weight(diag, path, "weight of component", i, weight_at(d, i)));
        wmax = fmax(wmax, weight_at(d, i));
        int len = snprintf(path + path_len, DS_DIST_PATH_MAX - path_len, "component %zu: ", i + 1);
        size_t sub = path_len + (len > 0 ? (size_t)len : 0);
        if (sub >= DS_DIST_PATH_MAX)
            sub = DS_DIST_PATH_MAX - 1;
        ds_status st = prepare_rec(&d->components[i], diag, path, sub, depth);
        path[path_len] = '\0';
        if (st != DS_OK)
            return st;
    }
    if (!(wmax > 0.0))
        return fail(diag, path, "component weights must not all be 0");
    double *cum = malloc(d->n * sizeof *cum);
    double *w = malloc(d->n * sizeof *w);
    if (!cum || !w) {
        free(cum);
        free(w);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    }
    double wsum = 0.0;
    for (size_t i = 0; i < d->n; ++i) {
        w[i] = weight_at(d, i) / wmax;
        wsum += w[i];
    }
    install_cumulative(d, cum, w, wsum, wmax);
    return DS_OK;
}

static ds_status prepare_rec(ds_dist *d, ds_diag *diag, char *path, size_t path_len, int depth)
{
    d->prepared = 0;
    switch (d->kind) {
    case DS_DIST_FIXED:
        DS_TRY(need_finite(diag, path, "value", d->value));
        break;
    case DS_DIST_UNIFORM:
        DS_TRY(need_finite(diag, path, "min", d->min));
        DS_TRY(need_finite(diag, path, "max", d->max));
        DS_TRY(need_order(diag, path, d->min, d->max));
        break;
    case DS_DIST_TRIANGULAR:
    case DS_DIST_PERT:
        DS_TRY(need_finite(diag, path, "min", d->min));
        DS_TRY(need_finite(diag, path, "mode", d->mode));
        DS_TRY(need_finite(diag, path, "max", d->max));
        DS_TRY(need_order(diag, path, d->min, d->max));
        if (!(d->mode >= d->min && d->mode <= d->max))
            return fail(diag, path, "mode (%s) must lie in [min, max] = [%s, %s]", num(d->mode).s,
                        num(d->min).s, num(d->max).s);
        if (d->kind == DS_DIST_TRIANGULAR) {
            d->c[C_TRI_SPLIT] = (d->mode - d->min) / (d->max - d->min);
        } else {
            if (isnan(d->lambda))
                d->lambda = DS_PERT_DEFAULT_LAMBDA;
            DS_TRY(need_positive(diag, path, "lambda", d->lambda));
            double w = d->max - d->min;
            d->a = 1.0 + d->lambda * (d->mode - d->min) / w;
            d->b = 1.0 + d->lambda * (d->max - d->mode) / w;
        }
        break;
    case DS_DIST_BETA:
        DS_TRY(need_positive(diag, path, "alpha", d->alpha));
        DS_TRY(need_positive(diag, path, "beta", d->beta));
        if (isnan(d->min))
            d->min = 0.0;
        if (isnan(d->max))
            d->max = 1.0;
        DS_TRY(need_finite(diag, path, "min", d->min));
        DS_TRY(need_finite(diag, path, "max", d->max));
        DS_TRY(need_order(diag, path, d->min, d->max));
        d->a = d->alpha;
        d->b = d->beta;
        break;
    case DS_DIST_NORMAL:
        DS_TRY(need_finite(diag, path, "mean", d->mean));
        DS_TRY(need_positive(diag, path, "sd", d->sd));
        if (isnan(d->min))
            d->min = -DS_INF;
        if (isnan(d->max))
            d->max = DS_INF;
        DS_TRY(need_order(diag, path, d->min, d->max));
        DS_TRY(prepare_truncation(d, diag, path, d->mean, d->sd, (d->min - d->mean) / d->sd,
                                  (d->max - d->mean) / d->sd));
        break;
    case DS_DIST_LOGNORMAL: {
        DS_TRY(need_positive(diag, path, "median", d->median));
        DS_TRY(need_positive(diag, path, "sigma", d->sigma));
        if (isnan(d->min))
            d->min = 0.0;
        if (isnan(d->max))
            d->max = DS_INF;
        if (!(d->min >= 0.0))
            return fail(diag, path, "min (%s) must be at least 0 (a lognormal is positive)",
                        num(d->min).s);
        DS_TRY(need_order(diag, path, d->min, d->max));
        double loc = ds_log(d->median);
        DS_TRY(prepare_truncation(d, diag, path, loc, d->sigma, (ds_log(d->min) - loc) / d->sigma,
                                  (ds_log(d->max) - loc) / d->sigma));
        break;
    }
    case DS_DIST_BERNOULLI:
        if (isnan(d->p))
            return fail(diag, path, "p is required (found none, or NaN)");
        if (!(d->p >= 0.0 && d->p <= 1.0))
            return fail(diag, path, "p (%s) must lie in [0, 1]", num(d->p).s);
        break;
    case DS_DIST_DISCRETE:
        DS_TRY(prepare_discrete(d, diag, path));
        break;
    case DS_DIST_MIXTURE:
        DS_TRY(prepare_mixture(d, diag, path, path_len, depth + 1));
        break;
    default:
        return fail(diag, path, "unknown distribution kind (%d)", (int)d->kind);
    }
    d->prepared = 1;
    return DS_OK;
}

ds_status ds_dist_prepare(ds_dist *d, ds_diag *diag)
{
    char path[DS_DIST_PATH_MAX];
    path[0] = '\0';
    return prepare_rec(d, diag, path, 0, 0);
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

static double clamp(double x, double lo, double hi)
{
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return x;
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
        return clamp(d->min + sqrt(u * w * l), d->min, d->max);
    double s = sqrt((1.0 - u) * w * rr);
    return clamp(d->mode + rr * (u * w - l) / (rr + s), d->min, d->max);
}

/* ---- Discrete and mixture ---- */

/* The first index i with cum[i] > u, for u in [0, 1) (cum[n-1] = 1). */
static size_t cum_search(const double *cum, size_t n, double u)
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
        return clamp(d->c[C_LOC] + d->c[C_SCALE] * trunc_sample_z(d, r), d->min, d->max);
    case DS_DIST_LOGNORMAL:
        return clamp(ds_exp(d->c[C_LOC] + d->c[C_SCALE] * trunc_sample_z(d, r)), d->min, d->max);
    case DS_DIST_BERNOULLI:
        return ds_rng_uniform(r) < d->p ? 1.0 : 0.0;
    case DS_DIST_DISCRETE:
        return d->cum[d->n + cum_search(d->cum, d->n, ds_rng_uniform(r))];
    case DS_DIST_MIXTURE:
        return ds_dist_sample(&d->components[cum_search(d->cum, d->n, ds_rng_uniform(r))], r);
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
        return clamp(x <= 0.5 ? d->min + w * x : d->max - w * y, d->min, d->max);
    }
    case DS_DIST_NORMAL:
        if (u <= 0.0)
            return d->min;
        if (u >= 1.0)
            return d->max;
        return clamp(d->c[C_LOC] + d->c[C_SCALE] * trunc_quantile_z(d, u), d->min, d->max);
    case DS_DIST_LOGNORMAL:
        if (u <= 0.0)
            return d->min;
        if (u >= 1.0)
            return d->max;
        return clamp(ds_exp(d->c[C_LOC] + d->c[C_SCALE] * trunc_quantile_z(d, u)), d->min, d->max);
    case DS_DIST_BERNOULLI:
        if (d->p >= 1.0) /* the support is {1}, also at u = 0 */
            return 1.0;
        return u > 1.0 - d->p ? 1.0 : 0.0;
    case DS_DIST_DISCRETE: {
        size_t i = u >= 1.0 ? (size_t)d->c[C_LAST_POS] : cum_search(d->cum, d->n, u);
        return d->cum[d->n + i];
    }
    case DS_DIST_MIXTURE: {
        size_t i;
        double v;
        if (u >= 1.0) {
            i = (size_t)d->c[C_LAST_POS];
            v = 1.0;
        } else {
            i = cum_search(d->cum, d->n, u);
            double lo = i > 0 ? d->cum[i - 1] : 0.0;
            v = clamp((u - lo) / (d->cum[i] - lo), 0.0, 1.0);
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
        return clamp((x - d->min) / (d->max - d->min), 0.0, 1.0);
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
            double w = weight_at(d, i);
            if (w > 0.0)
                s += w * ds_dist_cdf(&d->components[i], x);
        }
        return clamp(s / d->c[C_WSUM], 0.0, 1.0);
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
            if (weight_at(d, i) > 0.0) {
                l = fmin(l, d->values[i]);
                h = fmax(h, d->values[i]);
            }
        }
        break;
    case DS_DIST_MIXTURE:
        l = DS_INF;
        h = -DS_INF;
        for (size_t i = 0; i < d->n; ++i) {
            if (weight_at(d, i) > 0.0) {
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
        return clamp(d->c[C_LOC] + d->c[C_SCALE] * z, d->min, d->max);
    }
    case DS_DIST_LOGNORMAL: {
        /* E[e^(m + s Z) | ...] = e^(m + s^2/2) P(alpha - s <= Z <= beta - s) / mass */
        double s = d->c[C_SCALE];
        double shifted = ds_dist_norm_mass(d->c[C_ALPHA] - s, d->c[C_BETA] - s);
        double m = ds_exp(d->c[C_LOC] + 0.5 * s * s + ds_log(shifted) - ds_log(d->c[C_MASS]));
        return clamp(m, d->min, d->max);
    }
    case DS_DIST_BERNOULLI:
        return d->p;
    case DS_DIST_DISCRETE:
    case DS_DIST_MIXTURE: {
        double s = 0.0, ws = 0.0;
        for (size_t i = 0; i < d->n; ++i) {
            double w = weight_at(d, i);
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
