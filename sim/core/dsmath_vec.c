/* sim/core/dsmath_vec.c
 * Array forms of ds_exp, ds_log and ds_log|x| in SIMD lanes, one copy per
 * instruction set, picked at run time (DEALSIM_SIMD, see dsmath.h).
 * Licence: see LICENSE at the top of the repository.
 *
 * Every copy is the same C loop over the same branch-free inline function:
 * each lane does the same correctly rounded IEEE operations in the same
 * order (no FMA: -ffp-contract=off, and FMA is not among the targets), so
 * the scalar, SSE2, AVX2 and AVX-512 copies give identical bits; the test
 * tests/engine/test_simd_paths.py checks it on whole result files.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/dsmath.h"

static inline __attribute__((always_inline)) void vec_exp_impl(const double *x, double *y,
                                                              size_t n)
{
    for (size_t i = 0; i < n; ++i)
        y[i] = ds_exp(x[i]);
}

static inline __attribute__((always_inline)) void vec_log_abs_impl(const double *x, double *y,
                                                                  size_t n)
{
    for (size_t i = 0; i < n; ++i)
        y[i] = ds_log(x[i] < 0.0 ? -x[i] : x[i]);
}

static inline __attribute__((always_inline)) void vec_log_impl(const double *x, double *y,
                                                              size_t n)
{
    for (size_t i = 0; i < n; ++i)
        y[i] = ds_log(x[i]);
}

/* The AVX2 copies: VEC_K vectors of four side by side, each statement
 * written once for all of them (VEC_EACH), so that the exp and log
 * polynomials' Horner chains run interleaved.  The loops above, one vector
 * at a time, are bound by the chains' latency on AVX2 machines (the
 * scheduler fills with one chain's waiting steps): VEC_K = 4 measured
 * 0.74 of their time on an AMD EPYC (3, 2: 0.79, 0.90; more spills
 * registers).  The SSE2 copies (8 chains of two) measured slower, the
 * AVX-512 ones were not measured: they stay the loops above.  Each lane
 * does ds_exp's and ds_log's operations in their order (the same
 * coefficients, dsmath.h's X-macros; selects as bit selects), so the bits
 * are the scalar functions'; the remainder of n is the scalar functions.
 * tests/core/test_dsmath_vec.c checks every length 1..67 on each path. */
#define VEC_K 4
#define VEC_EACH(stmt)                                                                         \
    do {                                                                                       \
        _Pragma("GCC unroll 4") for (int k = 0; k < VEC_K; ++k) { stmt; }                     \
    } while (0)
typedef uint64_t vec_v4u __attribute__((vector_size(4 * sizeof(uint64_t))));

/* y[0 .. 4 VEC_K) = ds_exp(x[...]). */
static inline __attribute__((always_inline)) void exp_tile(const double *in, double *out)
{
    const ds_v4 z = {0};
    ds_v4 x[VEC_K], xc[VEC_K], dn[VEC_K], hi[VEC_K], lo[VEC_K], r[VEC_K], c[VEC_K], q[VEC_K];
    ds_v4 n1[VEC_K];
    vec_v4u b1[VEC_K], b2[VEC_K];
    VEC_EACH(memcpy(&x[k], in + 4 * k, sizeof x[k]));
    VEC_EACH(xc[k] = DS_SELECT4(x[k] < -746.0, z - 746.0, x[k]));
    VEC_EACH(xc[k] = DS_SELECT4(x[k] > 710.0, z + 710.0, xc[k]));
    VEC_EACH(xc[k] = DS_SELECT4(xc[k] == xc[k], xc[k], z));
    /* ds_math_reduce */
    VEC_EACH(dn[k] = (xc[k] * DS_INV_LN2 + DS_ROUND_MAGIC) - DS_ROUND_MAGIC);
    VEC_EACH(hi[k] = xc[k] - dn[k] * DS_LN2_HI);
    VEC_EACH(lo[k] = dn[k] * DS_LN2_LO);
    VEC_EACH(r[k] = hi[k] - lo[k]);
    VEC_EACH(c[k] = (hi[k] - r[k]) - lo[k]);
    /* ds_math_expm1_kernel */
    VEC_EACH(q[k] = z + DS_MATH_EXPM1_FIRST);
#define VEC_STEP(coef) VEC_EACH(q[k] = q[k] * r[k] + (coef));
    DS_MATH_EXPM1_STEPS(VEC_STEP)
#undef VEC_STEP
    VEC_EACH(q[k] = r[k] + (r[k] * r[k]) * q[k]);
    VEC_EACH(q[k] = 1.0 + (q[k] + c[k] * (1.0 + q[k])));
    /* 2^n as two factors (ds_math_pow2 of n1 and n2 = n - n1) */
    VEC_EACH(n1[k] = (dn[k] * 0.5 + DS_ROUND_MAGIC) - DS_ROUND_MAGIC);
    VEC_EACH(b1[k] = ((vec_v4u)(n1[k] + (1023.0 + 0x1p52)) - UINT64_C(0x4330000000000000)) << 52);
    VEC_EACH(b2[k] = ((vec_v4u)((dn[k] - n1[k]) + (1023.0 + 0x1p52)) -
                      UINT64_C(0x4330000000000000))
                     << 52);
    VEC_EACH(q[k] = q[k] * (ds_v4)b1[k] * (ds_v4)b2[k]);
    VEC_EACH(q[k] = DS_SELECT4(x[k] == x[k], q[k], x[k] + x[k]));
    VEC_EACH(memcpy(out + 4 * k, &q[k], sizeof q[k]));
}

/* y[0 .. 4 VEC_K) = ds_log(x[...]), of |x| if absolute. */
static inline __attribute__((always_inline)) void log_tile(const double *in, double *out,
                                                           int absolute)
{
    const ds_v4 z = {0};
    ds_v4 x[VEC_K], xs[VEC_K], f[VEC_K], dk[VEC_K], s[VEC_K], zz[VEC_K], R[VEC_K], hf[VEC_K];
    ds_v4i sub[VEC_K];
    vec_v4u tmp[VEC_K];
    VEC_EACH(memcpy(&x[k], in + 4 * k, sizeof x[k]));
    if (absolute)
        VEC_EACH(x[k] = DS_SELECT4(x[k] < 0.0, -x[k], x[k]));
    /* subnormals scaled into the normal range; m and k from the bits */
    VEC_EACH(sub[k] = x[k] < 0x1p-1022);
    VEC_EACH(xs[k] = DS_SELECT4(sub[k], x[k] * 0x1p54, x[k]));
    VEC_EACH(tmp[k] = (vec_v4u)xs[k] - UINT64_C(0x3fe6a09e667f3bcd));
    VEC_EACH(f[k] = (ds_v4)((vec_v4u)xs[k] - (tmp[k] & UINT64_C(0xfff0000000000000))) - 1.0);
    VEC_EACH(dk[k] = (ds_v4)(UINT64_C(0x4330000000000000) | ((tmp[k] >> 52) ^ UINT64_C(0x800))) -
                     (0x1p52 + 2048.0));
    VEC_EACH(dk[k] = dk[k] - DS_SELECT4(sub[k], z + 54.0, z));
    /* ds_math_log_tail */
    VEC_EACH(s[k] = f[k] / (2.0 + f[k]));
    VEC_EACH(zz[k] = s[k] * s[k]);
    VEC_EACH(R[k] = z + DS_MATH_LOG_FIRST);
#define VEC_STEP(coef) VEC_EACH(R[k] = R[k] * zz[k] + (coef));
    DS_MATH_LOG_STEPS(VEC_STEP)
#undef VEC_STEP
    VEC_EACH(R[k] *= zz[k]);
    VEC_EACH(hf[k] = 0.5 * f[k] * f[k]);
    VEC_EACH(s[k] = s[k] * (hf[k] + R[k]));
    VEC_EACH(R[k] = dk[k] * DS_LN2_HI - ((hf[k] - (s[k] + dk[k] * DS_LN2_LO)) - f[k]));
    /* zero: -inf; negative or NaN: NaN; +inf: itself */
    const ds_v4 inf = z + (double)__builtin_inf(), nan = z + (double)__builtin_nan("");
    VEC_EACH(s[k] = DS_SELECT4(x[k] == 0.0, -inf, DS_SELECT4(x[k] > 0.0, x[k], nan)));
    VEC_EACH(R[k] = DS_SELECT4((x[k] > 0.0) & (x[k] < inf), R[k], s[k]));
    VEC_EACH(memcpy(out + 4 * k, &R[k], sizeof R[k]));
}

/* The AVX2 copies' loops: whole tiles, then the remainder one by one. */
static inline __attribute__((always_inline)) void exp_tiles(const double *x, double *y, size_t n)
{
    size_t i = 0;
    for (; i + 4 * VEC_K <= n; i += 4 * VEC_K)
        exp_tile(x + i, y + i);
    for (; i < n; ++i)
        y[i] = ds_exp(x[i]);
}

static inline __attribute__((always_inline)) void log_tiles(const double *x, double *y, size_t n,
                                                            int absolute)
{
    size_t i = 0;
    for (; i + 4 * VEC_K <= n; i += 4 * VEC_K)
        log_tile(x + i, y + i, absolute);
    for (; i < n; ++i)
        y[i] = ds_log(absolute && x[i] < 0.0 ? -x[i] : x[i]);
}

static inline __attribute__((always_inline)) void log_abs_tiles(const double *x, double *y,
                                                                size_t n)
{
    log_tiles(x, y, n, 1);
}

static inline __attribute__((always_inline)) void log_plain_tiles(const double *x, double *y,
                                                                  size_t n)
{
    log_tiles(x, y, n, 0);
}

static const char *const level_names[] = {"scalar", "sse2", "avx2", "avx512"};

static int best_level(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return DS_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2"))
        return DS_SIMD_AVX2;
    return DS_SIMD_SSE2;
}

static _Atomic int chosen = -1;

int ds_simd_level(void)
{
    int l = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (l >= 0)
        return l;
    const int best = best_level();
    l = best;
    const char *e = getenv("DEALSIM_SIMD");
    if (e && *e && strcmp(e, "auto") != 0) {
        for (int k = 0; k < 4; ++k)
            if (strcmp(e, level_names[k]) == 0)
                l = k;
        if (l > best) /* asked for more than the CPU has: the best it has */
            l = best;
    }
    atomic_store_explicit(&chosen, l, memory_order_relaxed);
    return l;
}

const char *ds_simd_name(int level)
{
    return level >= 0 && level < 4 ? level_names[level] : "?";
}

DS_SIMD_DISPATCH_AVX2(vec_exp, (const double *x, double *y, size_t n), (x, y, n), exp_tiles)
DS_SIMD_DISPATCH_AVX2(vec_log_abs, (const double *x, double *y, size_t n), (x, y, n),
                      log_abs_tiles)
DS_SIMD_DISPATCH_AVX2(vec_log, (const double *x, double *y, size_t n), (x, y, n),
                      log_plain_tiles)

void ds_vec_exp(const double *x, double *y, size_t n) { vec_exp(x, y, n); }

void ds_vec_log_abs(const double *x, double *y, size_t n) { vec_log_abs(x, y, n); }

void ds_vec_log(const double *x, double *y, size_t n) { vec_log(x, y, n); }
