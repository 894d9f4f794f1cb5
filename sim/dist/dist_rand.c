/* sim/dist/dist_rand.c
 * Exact samplers: ziggurat normal and exponential, gamma, beta, Poisson.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants: every sampler takes the generator first, keeps no state of its
 * own (thread-safe) and is exact, i.e. its only approximation is the double
 * rounding of the uniforms and of the arithmetic.  Rejection loops have
 * acceptance probabilities bounded away from 0 (stated at each), so they end.
 * The number of 64-bit words a draw consumes varies; callers that need a
 * fixed consumption use inversion (ds_dist_quantile) instead.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "dealsim/dist.h"
#include "dist_internal.h"
#include "ziggurat_tables.h"
#include "dealsim/dsmath.h"

/* One 64-bit word feeds a ziggurat step: bits 0-7 pick the layer, bit 8 the
 * sign (normal only), bits 12-63 the 52-bit abscissa; disjoint bits keep the
 * three independent (Doornik 2005 on the correlation of the original). */
#define DS_ZIG_LAYER_MASK UINT64_C(0xff)
#define DS_ZIG_SIGN_SHIFT 8
#define DS_ZIG_SIGN_BIT (UINT64_C(1) << DS_ZIG_SIGN_SHIFT)
#define DS_ZIG_ABSCISSA_SHIFT 12

/* The normal tail beyond r (Marsaglia, "Generating a variable from the tail of
 * the normal distribution", Technometrics 6 (1964) 101): x = -ln(U1)/r,
 * y = -ln(U2), accept when 2y > x^2; acceptance 0.94 for r = 3.654. */
static double norm_tail(ds_rng *r)
{
    for (;;) {
        double x = -ds_log(ds_rng_uniform_pos(r)) / DS_ZIG_NORM_R;
        double y = -ds_log(ds_rng_uniform_pos(r));
        if (y + y > x * x)
            return DS_ZIG_NORM_R + x;
    }
}

/* The rare paths are kept out of line, so that the common path (one word,
 * one comparison) needs no register spills. */
#if defined(__GNUC__)
#define DS_NOINLINE __attribute__((noinline))
#else
#define DS_NOINLINE
#endif

/* x with its sign bit flipped when the word's sign bit is set: branch-free,
 * because a branch on a random bit is mispredicted half the time. */
static inline double zig_signed(double x, uint64_t bits)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    u ^= (bits & DS_ZIG_SIGN_BIT) << (63 - DS_ZIG_SIGN_SHIFT);
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Layers whose first test failed: the tail (layer 0), the wedges, and the
 * fresh words a rejection needs. */
static DS_NOINLINE double normal_slow(ds_rng *r, uint64_t bits)
{
    for (;;) {
        unsigned i = (unsigned)(bits & DS_ZIG_LAYER_MASK);
        uint64_t m = bits >> DS_ZIG_ABSCISSA_SHIFT;
        double x = (double)m * ds_zig_norm_w[i];
        if (m < ds_zig_norm_k[i])
            return zig_signed(x, bits);
        if (i == 0)
            return zig_signed(norm_tail(r), bits);
        /* Wedge: a uniform height in the layer, kept when under the curve. */
        double y = ds_zig_norm_f[i] + ds_rng_uniform(r) * (ds_zig_norm_f[i + 1] - ds_zig_norm_f[i]);
        if (y < ds_exp(-0.5 * x * x))
            return zig_signed(x, bits);
        bits = ds_rng_next_u64(r);
    }
}

/* A ziggurat draw's first step, which ends 98.5% (normal) and 97.8%
 * (exponential) of draws: layer i and abscissa m from one word, accepted
 * when m < k[i] (x = m w[i], its sign from the word for the normal); else
 * the rare paths, `slow`.  For a generator the caller keeps in a local:
 * inlined, its state stays in registers between draws (through a pointer, a
 * store and a load per draw would chain them); the rare paths run on a
 * copy, so that the local's address is never taken. */
static inline __attribute__((always_inline)) double zig_local(ds_rng *g, const uint64_t *k,
                                                              const double *w, int sign,
                                                              double (*slow)(ds_rng *, uint64_t))
{
    const uint64_t bits = ds_rng_next_u64(g);
    const unsigned i = (unsigned)(bits & DS_ZIG_LAYER_MASK);
    const uint64_t m = bits >> DS_ZIG_ABSCISSA_SHIFT;
    if (__builtin_expect(m < k[i], 1)) {
        const double x = (double)m * w[i];
        return sign ? zig_signed(x, bits) : x;
    }
    ds_rng t = *g;
    const double x = slow(&t, bits);
    *g = t;
    return x;
}

/* Ziggurat (Marsaglia & Tsang, "The Ziggurat Method for Generating Random
 * Variables", J. Stat. Software 5(8), 2000), 256 layers; tables from
 * tests/dist/gen_ziggurat.py (98.5% = the mean of k[i] / 2^52). */
static inline __attribute__((always_inline)) double normal_local(ds_rng *g)
{
    return zig_local(g, ds_zig_norm_k, ds_zig_norm_w, 1, normal_slow);
}

double ds_rand_normal(ds_rng *r) { return normal_local(r); }

/* n draws of ds_rand_normal(r) into out[k * stride], in order: the same
 * words and the same values. */
static inline __attribute__((always_inline)) void normals_impl(ds_rng *r, double *out, size_t n,
                                                               size_t stride)
{
    ds_rng g = *r;
    for (size_t k = 0; k < n; ++k)
        out[k * stride] = normal_local(&g);
    *r = g;
}

void ds_rand_normals(ds_rng *r, double *out, size_t n) { normals_impl(r, out, n, 1); }

void ds_rand_normals_strided(ds_rng *r, double *out, size_t n, size_t stride)
{
    normals_impl(r, out, n, stride);
}

static DS_NOINLINE double exponential_slow(ds_rng *r, uint64_t bits)
{
    for (;;) {
        unsigned i = (unsigned)(bits & DS_ZIG_LAYER_MASK);
        uint64_t m = bits >> DS_ZIG_ABSCISSA_SHIFT;
        double x = (double)m * ds_zig_exp_w[i];
        if (m < ds_zig_exp_k[i])
            return x;
        if (i == 0)
            return DS_ZIG_EXP_R - ds_log(ds_rng_uniform_pos(r));
        double y = ds_zig_exp_f[i] + ds_rng_uniform(r) * (ds_zig_exp_f[i + 1] - ds_zig_exp_f[i]);
        if (y < ds_exp(-x))
            return x;
        bits = ds_rng_next_u64(r);
    }
}

/* Same ziggurat for exp(-x) (Marsaglia & Tsang 2000, section 5); the tail
 * beyond r is r + Exp(1) by memorylessness. */
static inline __attribute__((always_inline)) double exponential_local(ds_rng *g)
{
    return zig_local(g, ds_zig_exp_k, ds_zig_exp_w, 0, exponential_slow);
}

double ds_rand_exponential(ds_rng *r) { return exponential_local(r); }

/* ds_dist_sample(d, g) for a local generator: a mixture's component and an
 * untruncated normal inline (ds_dist_sample's formulas), any other kind
 * through it. */
static inline double sample_local(const ds_dist *d, ds_rng *g)
{
    if (d->kind == DS_DIST_MIXTURE)
        d = ds_dist_mixture_pick(d, ds_rng_uniform(g));
    if (d->kind == DS_DIST_NORMAL && (int)d->c[C_METHOD] == TRUNC_NONE)
        return ds_dist_normal_at(d, normal_local(g));
    ds_rng t = *g;
    const double y = ds_dist_sample(d, &t);
    *g = t;
    return y;
}

void ds_rand_compound_poisson(ds_rng *r, double rate, const ds_dist *size, size_t bins,
                              double width, double *out, size_t stride)
{
    if (!(rate > 0.0) || bins == 0)
        return;
    ds_rng g = *r;
    const double end = (double)bins * width, guess = 1.0 / width;
    double next = exponential_local(&g) / rate;
    while (next <= end) {
        /* The first bin j with next <= (j + 1) width: the comparisons
         * exact, the division only a guess. */
        size_t j = (size_t)(next * guess);
        j = j < bins ? j : bins - 1;
        while (j > 0 && next <= (double)j * width)
            --j;
        while (next > (double)(j + 1) * width)
            ++j;
        const double bin_end = (double)(j + 1) * width;
        double sum = 0.0;
        while (next <= bin_end) {
            sum += sample_local(size, &g);
            next += exponential_local(&g) / rate;
        }
        out[j * stride] = sum;
    }
    *r = g;
}

/* Marsaglia & Tsang, "A simple method for generating gamma variables", ACM
 * TOMS 26(3) (2000) 363-372, for shape >= 1: d = shape - 1/3,
 * c = 1/sqrt(9d), v = (1 + c Z)^3, accept d v by the squeeze
 * U < 1 - 0.0331 Z^4 or by ln U < Z^2/2 + d (1 - v + ln v).  Acceptance is
 * 0.95 at shape 1 and grows with the shape (0.99 at 4). */
#define DS_MT_SQUEEZE 0.0331
static double gamma_mt(ds_rng *r, double shape)
{
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z, v;
        do {
            z = ds_rand_normal(r);
            v = 1.0 + c * z;
        } while (v <= 0.0);
        v = v * v * v;
        double u = ds_rng_uniform_pos(r);
        double z2 = z * z;
        if (u < 1.0 - DS_MT_SQUEEZE * z2 * z2)
            return d * v;
        if (ds_log(u) < 0.5 * z2 + d * (1.0 - v + ds_log(v)))
            return d * v;
    }
}

double ds_rand_gamma(ds_rng *r, double shape)
{
    if (!(shape > 0.0) || shape == DS_INF)
        return DS_NAN;
    if (shape == 1.0)
        return ds_rand_exponential(r);
    if (shape < 1.0) {
        /* Marsaglia & Tsang (2000), section 6: Gamma(s) = Gamma(s + 1) U^(1/s). */
        double g = gamma_mt(r, shape + 1.0);
        return g * ds_exp(ds_log(ds_rng_uniform_pos(r)) / shape);
    }
    return gamma_mt(r, shape);
}

/* Beta(a, b).  Both shapes <= 1: Johnk, "Erzeugung von betaverteilten und
 * gammaverteilten Zufallszahlen", Metrika 8 (1964) 5-15: X = U^(1/a),
 * Y = V^(1/b), accept X/(X+Y) when X + Y <= 1 (acceptance
 * Gamma(a+1) Gamma(b+1) / Gamma(a+b+1) >= 1/2), with logarithms when both
 * underflow (a, b small).  Otherwise the ratio G_a / (G_a + G_b) of two
 * Marsaglia-Tsang gammas. */
double ds_rand_beta(ds_rng *r, double a, double b)
{
    if (!(a > 0.0 && b > 0.0) || a == DS_INF || b == DS_INF)
        return DS_NAN;
    if (a <= 1.0 && b <= 1.0) {
        for (;;) {
            double lx = ds_log(ds_rng_uniform_pos(r)) / a;
            double ly = ds_log(ds_rng_uniform_pos(r)) / b;
            double x = ds_exp(lx), y = ds_exp(ly);
            double s = x + y;
            if (s > 1.0)
                continue;
            if (s >= DBL_MIN)
                return x / s;
            /* Both tiny: X / (X + Y) = 1 / (1 + exp(ly - lx)). */
            return 1.0 / (1.0 + ds_exp(ly - lx));
        }
    }
    double ga = ds_rand_gamma(r, a);
    double gb = ds_rand_gamma(r, b);
    return ga / (ga + gb);
}

/* ---- Poisson ---- */

/* Below this mean: inversion by sequential search from 0 (one uniform,
 * about 1 + mean comparisons); from it up: PTRS. */
#define DS_POISSON_PTRS_MIN 10.0
/* The search stops here: for mean < 10, P(K > 150) < 1e-100.  Reaching it
 * means rounding kept the summed CDF below u (u within 1e-16 of 1); the draw
 * is then repeated, which conditions away an event of probability < 1e-15
 * that the sum could not represent. */
#define DS_POISSON_INV_KMAX 150

static unsigned long poisson_inversion(ds_rng *r, double mean)
{
    double p0 = ds_exp(-mean);
    for (;;) {
        double u = ds_rng_uniform(r);
        double p = p0, cdf = p0;
        unsigned long k = 0;
        while (u >= cdf && k < DS_POISSON_INV_KMAX) {
            ++k;
            p *= mean / (double)k;
            cdf += p;
        }
        if (u < cdf)
            return k;
    }
}

/* PTRS, the transformed rejection with squeeze of Hormann, "The transformed
 * rejection method for generating Poisson random variables", Insurance:
 * Mathematics and Economics 12 (1993) 39-45; constants as in the paper,
 * which is valid for mean >= 10 (acceptance 0.75 at mean 10, 0.88 at 1000,
 * measured). */
static unsigned long poisson_ptrs(ds_rng *r, double lam)
{
    double slam = sqrt(lam);
    double loglam = ds_log(lam);
    double b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    double v_r = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        double u = ds_rng_uniform_pos(r) - 0.5;
        double v = ds_rng_uniform_pos(r);
        double us = 0.5 - fabs(u);
        double k = floor((2.0 * a / us + b) * u + lam + 0.43);
        if (us >= 0.07 && v <= v_r)
            return k >= (double)ULONG_MAX ? ULONG_MAX : (unsigned long)k;
        if (k < 0.0 || (us < 0.013 && v > us))
            continue;
        if (ds_log(v) + ds_log(inv_alpha) - ds_log(a / (us * us) + b) <=
            -lam + k * loglam - ds_dist_lgamma(k + 1.0))
            return k >= (double)ULONG_MAX ? ULONG_MAX : (unsigned long)k;
    }
}

/* Exact for every finite mean >= 0 up to the resolution of doubles (means
 * beyond 2^53 return values rounded like any double arithmetic would);
 * mean <= 0 or NaN gives 0. */
unsigned long ds_rand_poisson(ds_rng *r, double mean)
{
    if (!(mean > 0.0))
        return 0;
    if (mean < DS_POISSON_PTRS_MIN)
        return poisson_inversion(r, mean);
    return poisson_ptrs(r, mean);
}
