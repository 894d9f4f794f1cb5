/* sim/stats/blockcols.c
 * A block's moments column by column, in trial order: many interleaved
 * columns at once in SIMD lanes (the price months, the conditional
 * columns: ds_block_columns), or lone columns (the outputs, the
 * investors': ds_block_lone_columns) four at a time in the lanes of one
 * vector; ds_stats_block_moments (stats.c) and the conditional moments
 * (conditional.c) are made of them.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariant (stats.h, STYLE.md rule 1): each column's values enter its sums
 * in row (trial) order with the same operations on every SIMD path, so a
 * block's partial has the same bits for any path, thread or partition.
 */
#include "stats_internal.h"

#include <math.h>
#include "dealsim/dsmath.h"

#if DS_COND_CW != 8
#error "block_columns8 is written for DS_COND_CW = 8"
#endif

/* take ? a : b, as a select of the bits: a ternary that writes back the
 * array element it read (acc[c] = keep ? new : acc[c]) is turned by gcc
 * into a masked store, which AMD's Zen cores run many times slower than a
 * blend and a plain store. */
static inline __attribute__((always_inline)) double select_bits(int take, double a, double b)
{
    const uint64_t m = (uint64_t)0 - (uint64_t)(take != 0);
    return ds_math_from_bits((ds_math_bits(a) & m) | (ds_math_bits(b) & ~m));
}

/* The NaN, +inf and -inf counts of ncol interleaved columns of n rows
 * (v[t * stride + c]) into mo[c] (the slow path: only when some value is
 * not finite). */
static void count_nonfinite(const double *v, size_t n, size_t ncol, size_t stride, ds_moments *mo)
{
    for (size_t t = 0; t < n; ++t)
        for (size_t c = 0; c < ncol; ++c) {
            const double x = v[t * stride + c];
            if (isnan(x))
                mo[c].nan++;
            else if (isinf(x) && x > 0.0)
                mo[c].posinf++;
            else if (isinf(x))
                mo[c].neginf++;
        }
}

/* Moments of `ncol` interleaved columns of n rows (value of row t, column c
 * at v[t * stride + c], stride >= ncol) into mo[0..ncol), by two passes in row order over the
 * values shifted by the column's first finite value K: the sum S and count
 * of x - K, then the squared deviations from S/n.  The mean is K + S/n.
 * The shift keeps precision when the mean is large against the spread and
 * makes a constant column exact (mean K, m2 0).  No division per value, and
 * the inner loop runs over contiguous columns (the price months), so it
 * vectorises.  mo[] must be freshly reset; `shift` is scratch of ncol. */
static inline __attribute__((always_inline)) void
block_columns_impl(const double *v, size_t n, size_t ncol, size_t stride, ds_moments *mo,
                   double *shift)
{
    /* Accumulators as arrays (one lane a column) and selects instead of
     * branches, so that the month loops vectorise; each column still sees
     * its values in trial order with the same operations, and a value that
     * is not finite leaves the sums untouched (a select, not "+ 0.0", which
     * would turn a -0.0 sum into +0.0).  ncol <= DS_MAX_HORIZON here or
     * the columns go in slices. */
    enum { SLICE = 128 };
    double cnt[SLICE], sum[SLICE], mn[SLICE], mx[SLICE], m2[SLICE], mean[SLICE];
    for (size_t c0 = 0; c0 < ncol; c0 += SLICE) {
        const size_t nc = ncol - c0 < SLICE ? ncol - c0 : SLICE;
        double *sh = shift + c0;
        ds_moments *m = mo + c0;
        for (size_t c = 0; c < nc; ++c) {
            sh[c] = 0.0;
            for (size_t t = 0; t < n; ++t)
                if (isfinite(v[t * stride + c0 + c])) {
                    sh[c] = v[t * stride + c0 + c];
                    break;
                }
            cnt[c] = 0.0; /* exact: n <= DS_BLOCK_SIZE */
            sum[c] = 0.0;
            m2[c] = 0.0;
            mn[c] = (double)INFINITY;
            mx[c] = -(double)INFINITY;
        }
        for (size_t t = 0; t < n; ++t) {
            const double *row = v + t * stride + c0;
            for (size_t c = 0; c < nc; ++c) {
                const double x = row[c];
                const double z = x - x; /* 0 when finite, NaN when not */
                const double cn = cnt[c] + 1.0, sx = sum[c] + (x - sh[c]);
                const double lo = x < mn[c] ? x : mn[c], hi = x > mx[c] ? x : mx[c];
                const int fin = z == 0.0;
                cnt[c] = select_bits(fin, cn, cnt[c]);
                sum[c] = select_bits(fin, sx, sum[c]);
                mn[c] = select_bits(fin, lo, mn[c]);
                mx[c] = select_bits(fin, hi, mx[c]);
            }
        }
        int nonfinite = 0; /* some value of the slice is not finite */
        for (size_t c = 0; c < nc; ++c) {
            nonfinite |= cnt[c] != (double)n;
            m[c].n = (uint64_t)cnt[c];
            mean[c] = m[c].n ? sum[c] / cnt[c] : (double)NAN; /* S/n */
        }
        if (nonfinite)
            count_nonfinite(v + c0, n, nc, stride, m);
        for (size_t t = 0; t < n; ++t) {
            const double *row = v + t * stride + c0;
            for (size_t c = 0; c < nc; ++c) {
                const double x = row[c];
                const double d = (x - sh[c]) - mean[c];
                const double s2 = m2[c] + d * d;
                m2[c] = select_bits((x - x) == 0.0, s2, m2[c]);
            }
        }
        for (size_t c = 0; c < nc; ++c) {
            if (m[c].n == 0) {
                m[c].mean = (double)NAN;
                m[c].m2 = (double)NAN;
                m[c].min = (double)NAN;
                m[c].max = (double)NAN;
            } else {
                m[c].mean = sh[c] + mean[c];
                m[c].m2 = m2[c];
                m[c].min = mn[c];
                m[c].max = mx[c];
            }
        }
    }
}

/* block_columns_impl for exactly CW8 = 8 columns side by side (the
 * conditional columns, stride 8): the same operations on each column in
 * the same order, with the accumulators in two vector registers each.  The
 * generic loop, given 8 columns, kept them in memory (a store-to-load chain
 * a row) or, specialised, was unrolled into scalar compares and moves:
 * 2.5 ns a value against 0.85 with the 60 price months. */
enum { CW8 = 8 };
static inline __attribute__((always_inline)) void block_columns8(const double *v, size_t n,
                                                                 ds_moments *m)
{
    double sh[CW8];
    for (size_t c = 0; c < CW8; ++c) {
        sh[c] = 0.0;
        for (size_t t = 0; t < n; ++t)
            if (isfinite(v[t * CW8 + c])) {
                sh[c] = v[t * CW8 + c];
                break;
            }
    }
    ds_v4 k[2], cnt[2], sum[2], mn[2], mx[2], m2[2];
    for (int h = 0; h < 2; ++h) {
        __builtin_memcpy(&k[h], sh + 4 * h, sizeof k[h]);
        cnt[h] = sum[h] = m2[h] = (ds_v4){0.0, 0.0, 0.0, 0.0};
        mn[h] = (ds_v4){INFINITY, INFINITY, INFINITY, INFINITY};
        mx[h] = -mn[h];
    }
    const ds_v4 one = {1.0, 1.0, 1.0, 1.0}, zero = {0.0, 0.0, 0.0, 0.0};
    for (size_t t = 0; t < n; ++t)
        for (int h = 0; h < 2; ++h) {
            ds_v4 x;
            __builtin_memcpy(&x, v + t * CW8 + 4 * h, sizeof x);
            const ds_v4i fin = (x - x) == zero; /* all ones when finite */
            const ds_v4 cn = cnt[h] + one, sx = sum[h] + (x - k[h]);
            const ds_v4 lo = DS_SELECT4(x < mn[h], x, mn[h]), hi = DS_SELECT4(x > mx[h], x, mx[h]);
            cnt[h] = DS_SELECT4(fin, cn, cnt[h]);
            sum[h] = DS_SELECT4(fin, sx, sum[h]);
            mn[h] = DS_SELECT4(fin, lo, mn[h]);
            mx[h] = DS_SELECT4(fin, hi, mx[h]);
        }
    double mean_s[CW8];
    int nonfinite = 0;
    for (size_t c = 0; c < CW8; ++c) {
        const double cc = cnt[c / 4][c % 4];
        nonfinite |= cc != (double)n;
        m[c].n = (uint64_t)cc;
        mean_s[c] = m[c].n ? sum[c / 4][c % 4] / cc : (double)NAN; /* S/n */
    }
    if (nonfinite)
        count_nonfinite(v, n, CW8, CW8, m);
    ds_v4 mean[2];
    __builtin_memcpy(mean, mean_s, sizeof mean);
    for (size_t t = 0; t < n; ++t)
        for (int h = 0; h < 2; ++h) {
            ds_v4 x;
            __builtin_memcpy(&x, v + t * CW8 + 4 * h, sizeof x);
            const ds_v4 d = (x - k[h]) - mean[h];
            m2[h] = DS_SELECT4((x - x) == zero, m2[h] + d * d, m2[h]);
        }
    for (size_t c = 0; c < CW8; ++c) {
        const int h = (int)(c / 4), l = (int)(c % 4);
        if (m[c].n == 0) {
            m[c].mean = m[c].m2 = m[c].min = m[c].max = (double)NAN;
        } else {
            m[c].mean = sh[c] + mean_s[c];
            m[c].m2 = m2[h][l];
            m[c].min = mn[h][l];
            m[c].max = mx[h][l];
        }
    }
}

/* block_columns_impl, or block_columns8 for the conditional columns
 * (exactly DS_COND_CW of them, side by side); in the SIMD paths of
 * dsmath.h, one lane a column. */
static inline __attribute__((always_inline)) void
block_columns_spec_impl(const double *v, size_t n, size_t ncol, size_t stride, ds_moments *mo,
                        double *shift)
{
    if (ncol == CW8 && stride == CW8)
        block_columns8(v, n, mo);
    else
        block_columns_impl(v, n, ncol, stride, mo, shift);
}

DS_SIMD_DISPATCH(block_columns_spec,
                 (const double *v, size_t n, size_t ncol, size_t stride, ds_moments *mo,
                  double *shift),
                 (v, n, ncol, stride, mo, shift))

void ds_block_columns(const double *v, size_t n, size_t ncol, size_t stride, ds_moments *mo,
                      double *shift)
{
    block_columns_spec(v, n, ncol, stride, mo, shift);
}

/* Four lone columns side by side (row t of column c at col[c][t * stride]:
 * the outputs, an investor's amounts): block_columns8's operations, one
 * lane a column, the lanes filled by four loads a row.  One column in
 * locals chained each row's add to the last (about 3 ns a value); four
 * chains side by side take a quarter of that. */
static inline __attribute__((always_inline)) void
block_columns4_impl(const double *const *col, size_t n, size_t stride, ds_moments *m)
{
    double sh[4];
    for (size_t c = 0; c < 4; ++c) {
        sh[c] = 0.0;
        for (size_t t = 0; t < n; ++t)
            if (isfinite(col[c][t * stride])) {
                sh[c] = col[c][t * stride];
                break;
            }
    }
    const double *const c0 = col[0], *const c1 = col[1], *const c2 = col[2], *const c3 = col[3];
    const ds_v4 one = {1.0, 1.0, 1.0, 1.0}, zero = {0.0, 0.0, 0.0, 0.0};
    const ds_v4 k = {sh[0], sh[1], sh[2], sh[3]};
    ds_v4 cnt = zero, sum = zero, m2 = zero, mn = zero + (double)INFINITY, mx = -mn;
    for (size_t t = 0; t < n; ++t) {
        const size_t at = t * stride;
        const ds_v4 x = {c0[at], c1[at], c2[at], c3[at]};
        const ds_v4i fin = (x - x) == zero; /* all ones when finite */
        const ds_v4 cn = cnt + one, sx = sum + (x - k);
        const ds_v4 lo = DS_SELECT4(x < mn, x, mn), hi = DS_SELECT4(x > mx, x, mx);
        cnt = DS_SELECT4(fin, cn, cnt);
        sum = DS_SELECT4(fin, sx, sum);
        mn = DS_SELECT4(fin, lo, mn);
        mx = DS_SELECT4(fin, hi, mx);
    }
    double mean_s[4];
    for (size_t c = 0; c < 4; ++c) {
        m[c].n = (uint64_t)cnt[c];
        m[c].nan = m[c].posinf = m[c].neginf = 0;
        if (cnt[c] != (double)n)
            count_nonfinite(col[c], n, 1, stride, &m[c]);
        mean_s[c] = m[c].n ? sum[c] / cnt[c] : (double)NAN; /* S/n */
    }
    const ds_v4 mean = {mean_s[0], mean_s[1], mean_s[2], mean_s[3]};
    for (size_t t = 0; t < n; ++t) {
        const size_t at = t * stride;
        const ds_v4 x = {c0[at], c1[at], c2[at], c3[at]};
        const ds_v4 d = (x - k) - mean;
        m2 = DS_SELECT4((x - x) == zero, m2 + d * d, m2);
    }
    for (size_t c = 0; c < 4; ++c) {
        if (m[c].n == 0) {
            m[c].mean = m[c].m2 = m[c].min = m[c].max = (double)NAN;
        } else {
            m[c].mean = sh[c] + mean_s[c];
            m[c].m2 = m2[c];
            m[c].min = mn[c];
            m[c].max = mx[c];
        }
    }
}

DS_SIMD_DISPATCH(block_columns4,
                 (const double *const *col, size_t n, size_t stride, ds_moments *m),
                 (col, n, stride, m))

void ds_block_lone_columns(const double *const *col, ds_moments *const *mo, size_t ncol,
                           size_t n, size_t stride)
{
    for (size_t c = 0; c < ncol; c += 4) {
        /* A last group of fewer than four repeats its last column in the
         * spare lanes (computed, not kept): one pass of four lanes costs
         * less than the columns one by one. */
        const double *g[4];
        ds_moments m[4];
        const size_t k = ncol - c < 4 ? ncol - c : 4;
        for (size_t j = 0; j < 4; ++j)
            g[j] = col[c + (j < k ? j : k - 1)];
        block_columns4(g, n, stride, m);
        for (size_t j = 0; j < k; ++j)
            *mo[c + j] = m[j];
    }
}
