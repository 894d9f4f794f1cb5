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

#define INV_SQRT_2PI 0.39894228040143267793994605993438
/* The normal families are tabled on at most +-ZSPAN standard deviations
 * (beyond, the exact CDF: a probability below 1e-23).  A lognormal is
 * tabled in ln x, where it is a (truncated) normal. */
#define ZSPAN 10.0

static double weight(const ds_dist *d, size_t i)
{
    return d->weights ? d->weights[i] : 1.0;
}

/* A mixture the table serves: every positive-weight component an
 * untruncated NORMAL (a truncated one would put a kink in the density). */
static int normal_mixture(const ds_dist *d)
{
    int any = 0;
    for (size_t i = 0; i < d->n; ++i) {
        const ds_dist *c = &d->components[i];
        if (!(weight(d, i) > 0.0))
            continue;
        if (c->kind != DS_DIST_NORMAL || c->min != -(double)INFINITY ||
            c->max != (double)INFINITY || !(c->sd > 0.0) || !isfinite(c->mean))
            return 0;
        any = 1;
    }
    return any;
}

int ds_cdftab_applies(const ds_dist *d)
{
    if (!d || !d->prepared)
        return 0;
    switch (d->kind) {
    case DS_DIST_BETA:
    case DS_DIST_PERT:
        return isfinite(d->min) && isfinite(d->max) && d->min < d->max && d->a > 0.0 &&
               d->b > 0.0;
    case DS_DIST_NORMAL:
        return d->sd > 0.0 && isfinite(d->mean);
    case DS_DIST_LOGNORMAL:
        return d->sigma > 0.0 && d->median > 0.0 && isfinite(d->median);
    case DS_DIST_MIXTURE:
        return d->n > 0 && d->components && normal_mixture(d);
    default:
        return 0;
    }
}

/* p ln v, with 0 ln 0 = 0 (a shape of exactly 1 has no factor). */
static double plog(double p, double v)
{
    return p == 0.0 ? 0.0 : p * ds_log(v);
}

/* What the density and the bound need, by kind. */
typedef struct {
    ds_dist_kind kind;
    double lo, w;          /* the tabled range, x = lo + w t */
    double a, b, lbeta;    /* BETA, PERT */
    double loc, scale, nm; /* NORMAL, LOGNORMAL: z = (x or ln x - loc) / scale; mass */
    double zlo;            /* ... and the lower truncation point in z */
    const ds_dist *mix;    /* MIXTURE of normals, weights summing to wsum */
    double wsum;
} shape;

/* |z| at its smallest and largest over [z0, z1]. */
static void zrange(double z0, double z1, double *zmin, double *zmax)
{
    *zmin = z0 <= 0.0 && z1 >= 0.0 ? 0.0 : fmin(fabs(z0), fabs(z1));
    *zmax = fmax(fabs(z0), fabs(z1));
}

/* A bound on |phi'''| = phi |z^3 - 3 z| over [z0, z1]. */
static double phi3_bound(double z0, double z1)
{
    double zn, zx;
    zrange(z0, z1, &zn, &zx);
    return INV_SQRT_2PI * ds_exp(-0.5 * zn * zn) * (zx * zx * zx + 3.0 * zx);
}

/* The density of t = (x - lo) / w at t, w f(x) (0 where it is infinite: such
 * a knot only borders intervals the bound rejects). */
static double density_t(const shape *sh, double t)
{
    double f = 0.0;
    const double x = sh->lo + sh->w * t;
    switch (sh->kind) {
    case DS_DIST_BETA:
    case DS_DIST_PERT:
        /* w is the support: the Beta(a, b) density of t itself. */
        f = ds_exp(plog(sh->a - 1.0, t) + plog(sh->b - 1.0, 1.0 - t) - sh->lbeta);
        break;
    case DS_DIST_NORMAL: /* and LOGNORMAL, in v = ln x */
    case DS_DIST_LOGNORMAL: {
        const double z = (x - sh->loc) / sh->scale;
        f = sh->w * INV_SQRT_2PI * ds_exp(-0.5 * z * z) / (sh->scale * sh->nm);
        break;
    }
    case DS_DIST_MIXTURE:
        for (size_t i = 0; i < sh->mix->n; ++i) {
            const ds_dist *c = &sh->mix->components[i];
            const double wi = weight(sh->mix, i);
            if (!(wi > 0.0))
                continue;
            const double z = (x - c->mean) / c->sd;
            f += wi / sh->wsum * INV_SQRT_2PI * ds_exp(-0.5 * z * z) / c->sd;
        }
        f *= sh->w;
        break;
    default:
        break;
    }
    return isfinite(f) ? f : 0.0;
}

/* A bound on max |d^3/dt^3 of the density of t| over [t0, t1], +inf where
 * it is unbounded.  Where f = e^g: f''' = f (g'^3 + 3 g' g'' + g''') and
 * |f'''| <= max f (G1^3 + 3 G1 G2 + G3) with G bounds on |g'|, |g''|, |g'''|.
 *  BETA/PERT in t (A = a - 1, B = b - 1): g' = A/t - B/(1-t), so
 *   G1 = |A|/t0 + |B|/(1-t1), G2 = |A|/t0^2 + |B|/(1-t1)^2,
 *   G3 = 2 (|A|/t0^3 + |B|/(1-t1)^3); max f <= the product of the larger
 *   ends of the two monotone factors.
 *  NORMAL (LOGNORMAL in ln x): f''' = phi'''(z) / (scale^4 mass), with
 *   phi''' = -(z^3 - 3 z) phi, |z^3 - 3 z| <= |z|^3 + 3 |z|.
 *  MIXTURE: the weighted sum of its normals' bounds.
 * In t each x-derivative gains a factor w: d^3/dt^3 (w f) = w^4 f'''. */
static double d3_bound(const shape *sh, double t0, double t1)
{
    const double w = sh->w, x0 = sh->lo + w * t0, x1 = sh->lo + w * t1, w4 = w * w * w * w;
    switch (sh->kind) {
    case DS_DIST_BETA:
    case DS_DIST_PERT: {
        const double A = sh->a - 1.0, B = sh->b - 1.0;
        if ((A != 0.0 && !(t0 > 0.0)) || (B != 0.0 && !(t1 < 1.0)))
            return (double)INFINITY;
        const double p = A != 0.0 ? fabs(A) / t0 : 0.0, ip = A != 0.0 ? 1.0 / t0 : 0.0;
        const double q = B != 0.0 ? fabs(B) / (1.0 - t1) : 0.0;
        const double iq = B != 0.0 ? 1.0 / (1.0 - t1) : 0.0;
        const double g1 = p + q, g2 = p * ip + q * iq, g3 = 2.0 * (p * ip * ip + q * iq * iq);
        const double la = fmax(plog(A, t0), plog(A, t1));
        const double lb = fmax(plog(B, 1.0 - t0), plog(B, 1.0 - t1));
        return ds_exp(la + lb - sh->lbeta) * (g1 * g1 * g1 + 3.0 * g1 * g2 + g3);
    }
    case DS_DIST_NORMAL:
    case DS_DIST_LOGNORMAL: {
        const double s2 = sh->scale * sh->scale;
        return w4 * phi3_bound((x0 - sh->loc) / sh->scale, (x1 - sh->loc) / sh->scale) /
               (s2 * s2 * sh->nm);
    }
    case DS_DIST_MIXTURE: {
        double m = 0.0;
        for (size_t i = 0; i < sh->mix->n; ++i) {
            const ds_dist *c = &sh->mix->components[i];
            const double wi = weight(sh->mix, i);
            if (!(wi > 0.0))
                continue;
            const double s2 = c->sd * c->sd;
            m += wi / sh->wsum * phi3_bound((x0 - c->mean) / c->sd, (x1 - c->mean) / c->sd) /
                 (s2 * s2);
        }
        return w4 * m;
    }
    default:
        return (double)INFINITY;
    }
}

/* The range to table and the constants, by kind; 0 when the range is empty. */
static int shape_of(const ds_dist *d, shape *sh)
{
    double lo = d->min, hi = d->max;
    sh->kind = d->kind;
    switch (d->kind) {
    case DS_DIST_BETA:
    case DS_DIST_PERT:
        sh->a = d->a, sh->b = d->b, sh->lbeta = ds_dist_lbeta(d->a, d->b);
        break;
    case DS_DIST_NORMAL:
    case DS_DIST_LOGNORMAL: {
        const int ln = d->kind == DS_DIST_LOGNORMAL;
        sh->loc = ln ? ds_log(d->median) : d->mean;
        sh->scale = ln ? d->sigma : d->sd;
        const double zlo = ((ln ? ds_log(d->min) : d->min) - sh->loc) / sh->scale;
        const double zhi = ((ln ? ds_log(d->max) : d->max) - sh->loc) / sh->scale;
        sh->zlo = zlo;
        sh->nm = ds_dist_norm_mass(zlo, zhi);
        if (!(sh->nm > 0.0))
            return 0;
        /* The range in x, or in v = ln x. */
        lo = fmax(ln ? ds_log(lo) : lo, sh->loc - ZSPAN * sh->scale);
        hi = fmin(ln ? ds_log(hi) : hi, sh->loc + ZSPAN * sh->scale);
        break;
    }
    case DS_DIST_MIXTURE:
        sh->mix = d;
        sh->wsum = 0.0;
        lo = (double)INFINITY, hi = -(double)INFINITY;
        for (size_t i = 0; i < d->n; ++i) {
            const ds_dist *c = &d->components[i];
            if (!(weight(d, i) > 0.0))
                continue;
            sh->wsum += weight(d, i);
            lo = fmin(lo, c->mean - ZSPAN * c->sd);
            hi = fmax(hi, c->mean + ZSPAN * c->sd);
        }
        break;
    default:
        return 0;
    }
    sh->lo = lo;
    sh->w = hi - lo;
    return isfinite(lo) && isfinite(hi) && lo < hi && isfinite(sh->w);
}

ds_status ds_cdftab_build(ds_cdftab *t, const ds_dist *d)
{
    const size_t N = DS_CDFTAB_N;
    shape sh = {0};
    t->dist = d;
    t->knot = NULL;
    t->ok = NULL;
    t->n_ok = 0;
    t->lo = t->hi = t->w = 0.0;
    t->logx = d->kind == DS_DIST_LOGNORMAL;
    if (!ds_cdftab_applies(d) || !shape_of(d, &sh))
        return DS_OK;
    t->knot = malloc(2 * (N + 1) * sizeof *t->knot);
    t->ok = malloc(N);
    if (!t->knot || !t->ok) {
        ds_cdftab_free(t);
        return DS_ERR_NOMEM;
    }
    t->lo = sh.lo;
    t->w = sh.w;
    t->hi = sh.lo + sh.w;
    const int beta = d->kind == DS_DIST_BETA || d->kind == DS_DIST_PERT;
    const int nrm = d->kind == DS_DIST_NORMAL || d->kind == DS_DIST_LOGNORMAL;
    const double inv_n = 1.0 / (double)N;
    /* h^4 / 384 with h = 1 / N (exact: a power of 2 over 384). */
    const double rem = inv_n * inv_n * inv_n * inv_n / 384.0;
    for (size_t i = 0; i <= N; ++i) {
        const double ti = (double)i * inv_n; /* exact */
        /* BETA/PERT: I_t(a, b) at the exact t (ds_dist_cdf's own t); the
         * normal families: ds_dist_cdf's formula at the knot's z (no
         * round trip through exp for a lognormal); a mixture: its CDF. */
        const double xi = sh.lo + sh.w * ti;
        double F;
        if (beta) {
            F = ds_beta_inc(sh.a, sh.b, ti);
        } else if (nrm) {
            const double z = (xi - sh.loc) / sh.scale;
            F = z <= sh.zlo ? 0.0 : fmin(1.0, ds_dist_norm_mass(sh.zlo, z) / sh.nm);
        } else {
            F = ds_dist_cdf(d, xi);
        }
        t->knot[2 * i] = F;
        t->knot[2 * i + 1] = density_t(&sh, ti) * inv_n;
    }
    for (size_t i = 0; i < N; ++i) {
        /* A margin of 1.01 for the rounding of the bound itself. */
        const double e = 1.01 * rem * d3_bound(&sh, (double)i * inv_n, (double)(i + 1) * inv_n);
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

/* ds_dist_cdf's UNIFORM and TRIANGULAR formulas with selects instead of
 * branches (the same operations on the value each branch would give, so
 * the same bits; a NaN gives DS_NAN as there), so that the loop
 * vectorises. */
static inline __attribute__((always_inline)) void closed_impl(const ds_dist *d, const double *x,
                                                              size_t n, double *u)
{
    const double lo = d->min, hi = d->max, w = hi - lo;
    if (d->kind == DS_DIST_UNIFORM) {
        for (size_t j = 0; j < n; ++j) {
            const double r = (x[j] - lo) / w;
            u[j] = r < 0.0 ? 0.0 : (r > 1.0 ? 1.0 : r);
        }
        return;
    }
    const double mode = d->mode, wl = w * (mode - lo), wh = w * (hi - mode);
    for (size_t j = 0; j < n; ++j) {
        const double v = x[j], a = v - lo, b = hi - v;
        const double left = a * a / wl, right = 1.0 - b * b / wh;
        const double r = v <= mode ? left : right;
        const double e = v <= lo ? 0.0 : (v >= hi ? 1.0 : r);
        u[j] = v == v ? e : DS_NAN;
    }
}

DS_SIMD_DISPATCH(closed, (const ds_dist *d, const double *x, size_t n, double *u), (d, x, n, u))

/* The table's interpolant at the n values v (x or ln x) into u, and bad[j]
 * = 1 where it does not serve (outside (lo, hi), NaN, an interval not
 * tabled, or what rounds onto the last knot): the caller puts the exact
 * CDF there.  No branch on the value: a value not served reads knot 0. */
static inline __attribute__((always_inline)) void
table_impl(const ds_cdftab *t, const double *v, size_t n, double *u, unsigned char *bad,
           size_t *n_bad)
{
    const double lo = t->lo, hi = t->hi, w = t->w;
    const double *k = t->knot;
    const unsigned char *ok = t->ok;
    size_t nbad = 0;
    for (size_t j = 0; j < n; ++j) {
        const double vj = v[j];
        const int in = vj > lo && vj < hi;
        const double p = ((in ? vj : lo) - lo) / w * (double)DS_CDFTAB_N; /* ds_dist_cdf's t */
        const int32_t ip = (int32_t)p;                                     /* 0 <= ip <= N */
        const size_t i = ip < DS_CDFTAB_N ? (size_t)ip : 0;
        const int good = in & (ip < DS_CDFTAB_N) & (ok[i] != 0);
        const double s = p - (double)ip; /* exact */
        const double f0 = k[2 * i], d0 = k[2 * i + 1], f1 = k[2 * i + 2], d1 = k[2 * i + 3];
        const double df = f1 - f0;
        const double c2 = 3.0 * df - 2.0 * d0 - d1, c3 = d0 + d1 - 2.0 * df;
        const double r = f0 + s * (d0 + s * (c2 + s * c3));
        u[j] = r < 0.0 ? 0.0 : (r > 1.0 ? 1.0 : r);
        bad[j] = (unsigned char)!good;
        nbad += (size_t)!good;
    }
    *n_bad = nbad;
}

DS_SIMD_DISPATCH(table,
                 (const ds_cdftab *t, const double *v, size_t n, double *u, unsigned char *bad,
                  size_t *n_bad),
                 (t, v, n, u, bad, n_bad))

void ds_cdftab_eval(const ds_cdftab *t, const double *x, size_t n, double *u)
{
    const ds_dist *d = t->dist;
    if (t->n_ok == 0) {
        if (d->kind == DS_DIST_UNIFORM || d->kind == DS_DIST_TRIANGULAR) {
            closed(d, x, n, u);
            return;
        }
        for (size_t j = 0; j < n; ++j)
            u[j] = ds_dist_cdf(d, x[j]);
        return;
    }
    /* In chunks: v = x, or ds_dist_cdf's own ln x for a lognormal (0 and
     * below give -inf or NaN, outside the range: exact); the interpolant;
     * then the exact CDF where the table does not serve. */
    enum { CHUNK = 512 };
    double v[CHUNK];
    unsigned char bad[CHUNK];
    for (size_t j0 = 0; j0 < n; j0 += CHUNK) {
        const size_t c = n - j0 < CHUNK ? n - j0 : CHUNK;
        const double *vx = x + j0;
        if (t->logx) {
            ds_vec_log(x + j0, v, c);
            vx = v;
        }
        size_t n_bad;
        table(t, vx, c, u + j0, bad, &n_bad);
        if (n_bad == 0)
            continue;
        for (size_t j = 0; j < c; ++j)
            if (bad[j])
                u[j0 + j] = ds_dist_cdf(d, x[j0 + j]);
    }
}
