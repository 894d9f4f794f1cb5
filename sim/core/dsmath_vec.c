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

DS_SIMD_DISPATCH(vec_exp, (const double *x, double *y, size_t n), (x, y, n))
DS_SIMD_DISPATCH(vec_log_abs, (const double *x, double *y, size_t n), (x, y, n))
DS_SIMD_DISPATCH(vec_log, (const double *x, double *y, size_t n), (x, y, n))

void ds_vec_exp(const double *x, double *y, size_t n) { vec_exp(x, y, n); }

void ds_vec_log_abs(const double *x, double *y, size_t n) { vec_log_abs(x, y, n); }

void ds_vec_log(const double *x, double *y, size_t n) { vec_log(x, y, n); }
