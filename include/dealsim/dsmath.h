/* include/dealsim/dsmath.h
 * The project's own exp, log, expm1, log1p, erf and erfc (core layer).
 * Licence: see LICENSE at the top of the repository.
 *
 * Why: results must be the same bits on every x86-64 CPU and libc.  glibc
 * picks an FMA exp/log at run time where the CPU has FMA, so libm's bits
 * depend on the machine.  These functions use only correctly rounded IEEE
 * operations (+ - * / and integer bit manipulation; no fused multiply-add:
 * the project builds with -ffp-contract=off), so they give the same bits
 * wherever they run, scalar or vectorised (SSE2, AVX2, AVX-512 lanes all
 * round the same way).  exp, log, expm1 and log1p are static inline and
 * branch-free (selects only) so that loops calling them vectorise.
 *
 * Accuracy (tests/core/test_dsmath.c checks it on millions of points against
 * glibc, itself within an ulp of the true value):
 *   ds_exp, ds_log            <= 1 ulp
 *   ds_expm1, ds_log1p        <= 2 ulp
 *   ds_erf, ds_erfc           <= 4 ulp (erfc: relative, down to its underflow)
 * Special values follow C99 Annex F (nan in, nan out; log(0) = -inf, log of a
 * negative = nan, exp(-inf) = 0, ...).
 *
 * A file on the result path includes this header last; it poisons the libm
 * names so that a stray exp() or log() cannot creep back (define
 * DS_MATH_ALLOW_LIBM before including it to compare against libm).
 */
#ifndef DEALSIM_DSMATH_H
#define DEALSIM_DSMATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t ds_math_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double ds_math_from_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ln 2 = DS_LN2_HI + DS_LN2_LO; DS_LN2_HI has 32 significant bits, so n *
 * DS_LN2_HI is exact for |n| < 2^21. */
#define DS_LN2_HI 0x1.62e42fee00000p-1
#define DS_LN2_LO 0x1.a39ef35793c76p-33
#define DS_INV_LN2 0x1.71547652b82fep+0
#define DS_ROUND_MAGIC 0x1.8p52 /* x + magic - magic rounds x to an integer */

/* e^r - 1 for |r| <= ln2 / 2 + a little: the Taylor series to r^13, whose
 * remainder is below 4e-18 relative there.  The coefficients 1/13! .. 1/2!
 * in Horner order as an X-macro, so that the array forms in SIMD lanes
 * (sim/core/dsmath_vec.c) run the same steps: q = 1/13!, then q = q r + c
 * for each c after it, and e^r - 1 = r + r^2 q. */
#define DS_MATH_EXPM1_FIRST 0x1.6124613a86d09p-33 /* 1/13! */
#define DS_MATH_EXPM1_STEPS(X)                                                                 \
    X(0x1.1eed8eff8d898p-29) /* 1/12! */                                                       \
    X(0x1.ae64567f544e4p-26) /* 1/11! */                                                       \
    X(0x1.27e4fb7789f5cp-22) /* 1/10! */                                                       \
    X(0x1.71de3a556c734p-19) /* 1/9! */                                                        \
    X(0x1.a01a01a01a01ap-16) /* 1/8! */                                                        \
    X(0x1.a01a01a01a01ap-13) /* 1/7! */                                                        \
    X(0x1.6c16c16c16c17p-10) /* 1/6! */                                                        \
    X(0x1.1111111111111p-7)  /* 1/5! */                                                        \
    X(0x1.5555555555555p-5)  /* 1/4! */                                                        \
    X(0x1.5555555555555p-3)  /* 1/3! */                                                        \
    X(0.5)                   /* 1/2! */

static inline double ds_math_expm1_kernel(double r)
{
    double q = DS_MATH_EXPM1_FIRST;
#define DS_MATH_STEP(c) q = q * r + (c);
    DS_MATH_EXPM1_STEPS(DS_MATH_STEP)
#undef DS_MATH_STEP
    return r + (r * r) * q;
}

/* 2^n for an integral double -1022 <= n <= 1023, from the bits: n + 1023 +
 * 2^52 has n + 1023 as its low significand bits.  Unsigned integer
 * operations only, so that it vectorises with SSE2 and AVX2 too. */
static inline double ds_math_pow2(double n)
{
    const uint64_t b = ds_math_bits(n + (1023.0 + 0x1p52)) - UINT64_C(0x4330000000000000);
    return ds_math_from_bits(b << 52);
}

/* Splits x into n and r with x = n ln2 + r + c, |r| <= ln2/2 (+ rounding),
 * c the rounding error of r (|c| <= ulp(r)/2 plus the error of DS_LN2_LO);
 * n is an integral double. */
static inline double ds_math_reduce(double x, double *n_out, double *c_out)
{
    const double dn = (x * DS_INV_LN2 + DS_ROUND_MAGIC) - DS_ROUND_MAGIC;
    const double hi = x - dn * DS_LN2_HI; /* exact: Sterbenz */
    const double lo = dn * DS_LN2_LO;
    const double r = hi - lo;
    *c_out = (hi - r) - lo;
    *n_out = dn;
    return r;
}

static inline double ds_exp(double x)
{
    /* Clamped so that n stays within [-1077, 1025]; the clamps are beyond
     * the overflow (709.78) and total underflow (-745.13) thresholds. */
    const double xc = x > 710.0 ? 710.0 : (x < -746.0 ? -746.0 : x);
    double n, c;
    const double r = ds_math_reduce(xc == xc ? xc : 0.0, &n, &c);
    const double em = ds_math_expm1_kernel(r);
    const double e = 1.0 + (em + c * (1.0 + em));
    /* 2^n as two factors, both normal, so that the result rounds once even
     * when it is subnormal or overflows. */
    const double n1 = (n * 0.5 + DS_ROUND_MAGIC) - DS_ROUND_MAGIC, n2 = n - n1;
    const double y = e * ds_math_pow2(n1) * ds_math_pow2(n2);
    return x == x ? y : x + x;
}

static inline double ds_expm1(double x)
{
    double n, c;
    const double xc = x > 40.0 ? 40.0 : (x < -40.0 ? -40.0 : x);
    const double r = ds_math_reduce(xc == xc ? xc : 0.0, &n, &c);
    const double em = ds_math_expm1_kernel(r);
    const double emc = em + c * (1.0 + em); /* e^(r+c) - 1 */
    const double p = ds_math_pow2(n);        /* |n| <= 58 here */
    const double y = n == 0.0 ? (x == 0.0 ? x : emc) : p * emc + (p - 1.0);
    /* Beyond +-40 expm1 is e^x (to the last bit) or -1. */
    const double big = x > 40.0 ? ds_exp(x) : -1.0;
    const double out = (x > 40.0 || x < -40.0) ? big : y;
    return x == x ? out : x + x;
}

/* ln(1 + f) for f = m - 1, m in [sqrt(1/2), sqrt 2]: with s = f / (2 + f),
 * ln(1 + f) = 2 atanh s = 2s + 2s^3/3 + ... = f - (hf - s (hf + R)),
 * hf = f^2 / 2, R = sum_{j >= 1} 2 s^(2j) / (2j + 1); |s| <= 0.1716, and
 * eleven terms leave a remainder below 1e-18 relative.  Returned as the
 * part hf - s (hf + R) to subtract from f (the caller adds k ln 2).  The
 * coefficients 2/23 .. 2/3 in Horner order in z = s^2 (an X-macro, as for
 * exp): R = 2/23, then R = R z + c for each c after it, then R = R z. */
#define DS_MATH_LOG_FIRST 0x1.642c8590b2164p-4 /* 2/23 */
#define DS_MATH_LOG_STEPS(X)                                                                   \
    X(0x1.8618618618618p-4) /* 2/21 */                                                         \
    X(0x1.af286bca1af28p-4) /* 2/19 */                                                         \
    X(0x1.e1e1e1e1e1e1ep-4) /* 2/17 */                                                         \
    X(0x1.1111111111111p-3) /* 2/15 */                                                         \
    X(0x1.3b13b13b13b14p-3) /* 2/13 */                                                         \
    X(0x1.745d1745d1746p-3) /* 2/11 */                                                         \
    X(0x1.c71c71c71c71cp-3) /* 2/9 */                                                          \
    X(0x1.2492492492492p-2) /* 2/7 */                                                          \
    X(0x1.999999999999ap-2) /* 2/5 */                                                          \
    X(0x1.5555555555555p-1) /* 2/3 */

static inline double ds_math_log_tail(double f, double *hf_out)
{
    const double s = f / (2.0 + f);
    const double z = s * s;
    double R = DS_MATH_LOG_FIRST;
#define DS_MATH_STEP(c) R = R * z + (c);
    DS_MATH_LOG_STEPS(DS_MATH_STEP)
#undef DS_MATH_STEP
    R *= z;
    const double hf = 0.5 * f * f;
    *hf_out = hf;
    return s * (hf + R);
}

static inline double ds_log(double x)
{
    /* Subnormals scaled into the normal range first. */
    const int sub = x < 0x1p-1022;
    const double xs = sub ? x * 0x1p54 : x;
    const uint64_t ix = ds_math_bits(xs);
    /* m in [sqrt(1/2), sqrt 2) and k with xs = 2^k m, from the bits. */
    const uint64_t tmp = ix - UINT64_C(0x3fe6a09e667f3bcd);
    const uint64_t iz = ix - (tmp & UINT64_C(0xfff0000000000000));
    const double f = ds_math_from_bits(iz) - 1.0; /* exact */
    /* k = the top 12 bits of tmp as a signed number, converted through the
     * bits of 2^52 + k + 2048 (unsigned operations only, for SSE2/AVX2). */
    const uint64_t kb = (tmp >> 52) ^ UINT64_C(0x800);
    const double dk = (ds_math_from_bits(UINT64_C(0x4330000000000000) | kb) - (0x1p52 + 2048.0)) -
                      (sub ? 54.0 : 0.0);
    double hf;
    const double sr = ds_math_log_tail(f, &hf);
    const double y = dk * DS_LN2_HI - ((hf - (sr + dk * DS_LN2_LO)) - f);
    const double special =
        x == 0.0 ? -(double)__builtin_inf() : (x > 0.0 ? x : (double)__builtin_nan(""));
    return (x > 0.0 && x < (double)__builtin_inf()) ? y : special;
}

static inline double ds_log1p(double x)
{
    /* Near 0 the log kernel with f = x exactly. */
    double hf;
    const int near = x > -0.29 && x < 0.41;
    const double fx = near ? x : 0.0;
    const double sr = ds_math_log_tail(fx, &hf);
    const double yn = fx - (hf - sr);
    /* Elsewhere ln(u) + e/u with u = 1 + x rounded and e its rounding error. */
    const double u = 1.0 + x;
    const double ax = x < 0.0 ? -x : x;
    double e = ax <= 1.0 ? x - (u - 1.0) : 1.0 - (u - x);
    e = (x < 0x1p53 && u != 0.0) ? e : 0.0;
    const double yf = ds_log(u) + e / (u != 0.0 ? u : 1.0);
    const double y = near ? (x == 0.0 ? x : yn) : yf;
    return x < -1.0 ? (double)__builtin_nan("") : y;
}

double ds_erf(double x);
double ds_erfc(double x);

/* Array forms, y[i] = ds_exp(x[i]) and y[i] = ds_log(|x[i]|), in the widest
 * SIMD lanes the CPU has (sim/core/dsmath_vec.c): the same bits whichever;
 * y may be x.  The environment variable
 * DEALSIM_SIMD=scalar|sse2|avx2|avx512|auto forces a path (one the CPU
 * lacks falls back to the best it has); read once. */
enum { DS_SIMD_SCALAR = 0, DS_SIMD_SSE2 = 1, DS_SIMD_AVX2 = 2, DS_SIMD_AVX512 = 3 };
int ds_simd_level(void);
const char *ds_simd_name(int level);

/* Defines `static void NAME PARAMS`, which runs NAME##_impl ARGS (the one
 * copy of a loop, static inline and always inlined) compiled for AVX-512,
 * AVX2, the x86-64 baseline (SSE2) or without the vectoriser (scalar), as
 * ds_simd_level() picks.  Each copy does the same IEEE operations in the
 * same order in every lane (no FMA: -ffp-contract=off), so all give the
 * same bits; tests/engine/test_simd_paths.py compares them.
 * DS_SIMD_DISPATCH_AVX2 is the same with the AVX2 copy running AVX2_IMPL
 * ARGS instead: a form of the same operations written for AVX2's lanes. */
#define DS_SIMD_DISPATCH(name, params, args) DS_SIMD_DISPATCH_AVX2(name, params, args, name##_impl)
#define DS_SIMD_DISPATCH_AVX2(name, params, args, avx2_impl)                                   \
    __attribute__((target("avx512f"))) static void name##_avx512 params { name##_impl args; }  \
    __attribute__((target("avx2"))) static void name##_avx2 params { avx2_impl args; }         \
    __attribute__((optimize("no-tree-vectorize"))) static void name##_scalar params          \
    {                                                                                          \
        name##_impl args;                                                                      \
    }                                                                                          \
    static void name params                                                                    \
    {                                                                                          \
        switch (ds_simd_level()) {                                                             \
        case DS_SIMD_AVX512: name##_avx512 args; break;                                        \
        case DS_SIMD_AVX2: name##_avx2 args; break;                                            \
        case DS_SIMD_SSE2: name##_impl args; break;                                            \
        default: name##_scalar args; break;                                                    \
        }                                                                                      \
    }
/* The 4 x 4 tile in[r * is + c] (r, c < 4) to out[c * os + r], in
 * registers (GCC vector extension; pure data movement, so any lowering
 * gives the same values): the block's rows and the month-major lanes and
 * chunks trade places by tiles instead of by strided elements. */
typedef double ds_v4 __attribute__((vector_size(4 * sizeof(double))));
/* A lane mask of ds_v4 (what a comparison of two ds_v4 gives: all ones or
 * 0 a lane). */
typedef int64_t ds_v4i __attribute__((vector_size(4 * sizeof(int64_t))));
/* The bits of a where the mask m is all ones, of b where it is 0, lane by
 * lane (a macro: a function returning a 32-byte vector would change the
 * ABI on the paths without AVX). */
#define DS_SELECT4(m, a, b) ((ds_v4)(((ds_v4i)(a) & (m)) | ((ds_v4i)(b) & ~(m))))
#if defined(__clang__)
#define DS_SHUFFLE4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define DS_SHUFFLE4(a, b, i, j, k, l) __builtin_shuffle(a, b, (ds_v4i){i, j, k, l})
#endif
static inline __attribute__((always_inline)) void ds_transpose4(const double *in, size_t is,
                                                                double *out, size_t os)
{
    ds_v4 r0, r1, r2, r3;
    memcpy(&r0, in, sizeof r0);
    memcpy(&r1, in + is, sizeof r1);
    memcpy(&r2, in + 2 * is, sizeof r2);
    memcpy(&r3, in + 3 * is, sizeof r3);
    const ds_v4 t0 = DS_SHUFFLE4(r0, r1, 0, 4, 2, 6), t1 = DS_SHUFFLE4(r0, r1, 1, 5, 3, 7);
    const ds_v4 t2 = DS_SHUFFLE4(r2, r3, 0, 4, 2, 6), t3 = DS_SHUFFLE4(r2, r3, 1, 5, 3, 7);
    const ds_v4 o0 = DS_SHUFFLE4(t0, t2, 0, 1, 4, 5), o1 = DS_SHUFFLE4(t1, t3, 0, 1, 4, 5);
    const ds_v4 o2 = DS_SHUFFLE4(t0, t2, 2, 3, 6, 7), o3 = DS_SHUFFLE4(t1, t3, 2, 3, 6, 7);
    memcpy(out, &o0, sizeof o0);
    memcpy(out + os, &o1, sizeof o1);
    memcpy(out + 2 * os, &o2, sizeof o2);
    memcpy(out + 3 * os, &o3, sizeof o3);
}

void ds_vec_exp(const double *x, double *y, size_t n);
void ds_vec_log_abs(const double *x, double *y, size_t n);
/* y[i] = ds_log(x[i]) (0 gives -inf, a negative x NaN, as ds_log). */
void ds_vec_log(const double *x, double *y, size_t n);
/* y[i] = ds_erfc(x[i]), the same bits, its exponentials in SIMD lanes
 * (dsmath.c); y may be x. */
void ds_vec_erfc(const double *x, double *y, size_t n);

#ifndef DS_MATH_ALLOW_LIBM
#pragma GCC poison exp log expm1 log1p erf erfc exp2 log2 log10 pow lgamma tgamma
#endif

#endif
