/* sim/dist/dist_prepare.c
 * The distributions' checks and preparation: ds_dist_prepare validates a
 * filled ds_dist tree, writes the documented defaults and the derived fields.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants.  This is the only code that writes to a ds_dist after it is
 * filled (dist.c's header says which defaults and why); on an error it
 * leaves the tree as the caller gave it but for the derived fields, and the
 * message names the path of the offending component ("component 2: ...").
 */
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
/* Longest "component 2: component 1: ..." prefix of a message. */
#define DS_DIST_PATH_MAX 512

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
        DS_TRY(need_weight(diag, path, "weight", i, ds_dist_weight_at(d, i)));
        wmax = fmax(wmax, ds_dist_weight_at(d, i));
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
        vw[i].w = ds_dist_weight_at(d, i) / wmax;
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
        DS_TRY(need_weight(diag, path, "weight of component", i, ds_dist_weight_at(d, i)));
        wmax = fmax(wmax, ds_dist_weight_at(d, i));
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
        w[i] = ds_dist_weight_at(d, i) / wmax;
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
