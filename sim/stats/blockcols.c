/* sim/stats/blockcols.c
 * A block's moments column by column, in trial order, 4 or 8 columns at a
 * time in the lanes of one or two vectors: interleaved columns (the price
 * months, the conditional columns: ds_block_columns) or lone ones (the
 * outputs, the investors': ds_block_lone_columns).  ds_stats_block_moments
 * (stats.c) and the conditional moments (conditional.c) are made of them.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariant (stats.h, STYLE.md rule 1): each column's values enter its sums
 * in row (trial) order with the same operations on every SIMD path, so a
 * block's partial has the same bits for any path, thread or partition.
 *
 * The arithmetic of a column (values x_t, t < n): K = its first finite
 * value (0 if none); over the finite values in row order, the count, the
 * sum S of x - K, min and max; then m2 = the sum of ((x - K) - S/n)^2 over
 * them in row order; mean = K + S/n.  The shift keeps precision when the
 * mean is large against the spread and makes a constant column exact.
 */
#include "stats_internal.h"

#include <math.h>
#include "dealsim/dsmath.h"

#if DS_COND_CW != 8
#error "the conditional columns are one set of 8"
#endif

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

/* Where a set of 4 nv columns comes from: side by side, column c of row t
 * at base[t * stride + c], or lone, at col[c][t * stride].  Inlined with a
 * constant set, so the choice costs nothing in the loops. */
typedef struct {
    const double *base;
    const double *const *col;
    size_t stride;
} colset;

static inline __attribute__((always_inline)) double set_value(const colset *s, size_t t, size_t c)
{
    return s->col ? s->col[c][t * s->stride] : s->base[t * s->stride + c];
}

/* Lanes 4h .. 4h + 3 of row t. */
static inline __attribute__((always_inline)) void set_row(const colset *s, size_t t, int h,
                                                          ds_v4 *x)
{
    const size_t at = t * s->stride;
    if (s->col) {
        const double *const *c = s->col + 4 * h;
        *x = (ds_v4){c[0][at], c[1][at], c[2][at], c[3][at]};
    } else {
        __builtin_memcpy(x, s->base + at + 4 * h, sizeof *x);
    }
}

/* The moments of the set's 4 nv columns (nv = 1 or 2) into m[0 .. 4 nv),
 * in vector registers, one lane a column.  The first pass assumes that
 * every value is finite and only checks it (a sum of x - x, NaN once one
 * is not), which halves its operations: where it holds, every select of
 * the general pass would have taken the new value, so the sums are the
 * same.  Where it does not, the general pass runs instead, with selects
 * that leave a column's sums as they were at a value that is not finite
 * (bit selects: a ternary that writes back an accumulator becomes a masked
 * store, which AMD's Zen cores run many times slower than a blend). */
static inline __attribute__((always_inline)) void set_moments(const colset *s, int nv, size_t n,
                                                              ds_moments *m)
{
    const int nc = 4 * nv;
    double sh[8];
    for (int c = 0; c < nc; ++c) {
        sh[c] = 0.0;
        for (size_t t = 0; t < n; ++t)
            if (isfinite(set_value(s, t, (size_t)c))) {
                sh[c] = set_value(s, t, (size_t)c);
                break;
            }
    }
    const ds_v4 one = {1.0, 1.0, 1.0, 1.0}, zero = {0.0, 0.0, 0.0, 0.0};
    const ds_v4 inf = zero + (double)INFINITY;
    ds_v4 k[2], cnt[2], sum[2], mn[2], mx[2], m2[2], nf[2];
    /* The first pass's sums start empty, and again for the second if the
     * first found a value that is not finite. */
#define SET_RESET()                                                                            \
    for (int h = 0; h < nv; ++h) {                                                             \
        cnt[h] = sum[h] = zero;                                                                \
        mn[h] = inf;                                                                           \
        mx[h] = -inf;                                                                          \
    }
    SET_RESET()
    for (int h = 0; h < nv; ++h) {
        __builtin_memcpy(&k[h], sh + 4 * h, sizeof k[h]);
        m2[h] = nf[h] = zero;
    }
    for (size_t t = 0; t < n; ++t)
        for (int h = 0; h < nv; ++h) {
            ds_v4 x;
            set_row(s, t, h, &x);
            sum[h] = sum[h] + (x - k[h]);
            mn[h] = DS_SELECT4(x < mn[h], x, mn[h]);
            mx[h] = DS_SELECT4(x > mx[h], x, mx[h]);
            nf[h] = nf[h] + (x - x);
        }
    int finite = 1;
    for (int c = 0; c < nc; ++c)
        finite &= nf[c / 4][c % 4] == 0.0;
    if (finite) {
        for (int h = 0; h < nv; ++h)
            cnt[h] = zero + (double)n; /* exact: n <= DS_BLOCK_SIZE */
    } else {
        SET_RESET()
        for (size_t t = 0; t < n; ++t)
            for (int h = 0; h < nv; ++h) {
                ds_v4 x;
                set_row(s, t, h, &x);
                const ds_v4i fin = (x - x) == zero; /* all ones when finite */
                const ds_v4 cn = cnt[h] + one, sx = sum[h] + (x - k[h]);
                const ds_v4 lo = DS_SELECT4(x < mn[h], x, mn[h]);
                const ds_v4 hi = DS_SELECT4(x > mx[h], x, mx[h]);
                cnt[h] = DS_SELECT4(fin, cn, cnt[h]);
                sum[h] = DS_SELECT4(fin, sx, sum[h]);
                mn[h] = DS_SELECT4(fin, lo, mn[h]);
                mx[h] = DS_SELECT4(fin, hi, mx[h]);
            }
    }
#undef SET_RESET
    double mean_s[8];
    for (int c = 0; c < nc; ++c) {
        const double cc = cnt[c / 4][c % 4];
        m[c].n = (uint64_t)cc;
        m[c].nan = m[c].posinf = m[c].neginf = 0;
        mean_s[c] = m[c].n ? sum[c / 4][c % 4] / cc : (double)NAN; /* S/n */
        if (!finite && cc != (double)n) {
            if (s->col)
                count_nonfinite(s->col[c], n, 1, s->stride, &m[c]);
            else
                count_nonfinite(s->base + c, n, 1, s->stride, &m[c]);
        }
    }
    ds_v4 mean[2];
    __builtin_memcpy(mean, mean_s, (size_t)nv * sizeof mean[0]);
    if (finite) {
        for (size_t t = 0; t < n; ++t)
            for (int h = 0; h < nv; ++h) {
                ds_v4 x;
                set_row(s, t, h, &x);
                const ds_v4 d = (x - k[h]) - mean[h];
                m2[h] = m2[h] + d * d;
            }
    } else {
        for (size_t t = 0; t < n; ++t)
            for (int h = 0; h < nv; ++h) {
                ds_v4 x;
                set_row(s, t, h, &x);
                const ds_v4 d = (x - k[h]) - mean[h];
                m2[h] = DS_SELECT4((x - x) == zero, m2[h] + d * d, m2[h]);
            }
    }
    for (int c = 0; c < nc; ++c) {
        const int h = c / 4, l = c % 4;
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

/* Eight columns side by side at v[t * stride + c], stride >= 8. */
static inline __attribute__((always_inline)) void
columns8_impl(const double *v, size_t n, size_t stride, ds_moments *m)
{
    const colset s = {.base = v, .col = NULL, .stride = stride};
    set_moments(&s, 2, n, m);
}

DS_SIMD_DISPATCH(columns8, (const double *v, size_t n, size_t stride, ds_moments *m),
                 (v, n, stride, m))

/* Four lone columns, row t of column c at col[c][t * stride]. */
static inline __attribute__((always_inline)) void
columns4_impl(const double *const *col, size_t n, size_t stride, ds_moments *m)
{
    const colset s = {.base = NULL, .col = col, .stride = stride};
    set_moments(&s, 1, n, m);
}

DS_SIMD_DISPATCH(columns4, (const double *const *col, size_t n, size_t stride, ds_moments *m),
                 (col, n, stride, m))

/* A last group of fewer than four repeats its last column in the spare
 * lanes (computed, not kept): one pass of four lanes costs less than the
 * columns one by one. */
void ds_block_lone_columns(const double *const *col, ds_moments *const *mo, size_t ncol,
                           size_t n, size_t stride)
{
    for (size_t c = 0; c < ncol; c += 4) {
        const double *g[4];
        ds_moments m[4];
        const size_t k = ncol - c < 4 ? ncol - c : 4;
        for (size_t j = 0; j < 4; ++j)
            g[j] = col[c + (j < k ? j : k - 1)];
        columns4(g, n, stride, m);
        for (size_t j = 0; j < k; ++j)
            *mo[c + j] = m[j];
    }
}

/* Sets of eight side by side, the last columns as lone ones. */
void ds_block_columns(const double *v, size_t n, size_t ncol, size_t stride, ds_moments *mo)
{
    size_t c = 0;
    for (; c + 8 <= ncol; c += 8)
        columns8(v + c, n, stride, mo + c);
    const double *col[8];
    ds_moments *m[8];
    for (size_t j = c; j < ncol; ++j) {
        col[j - c] = v + j;
        m[j - c] = &mo[j];
    }
    ds_block_lone_columns(col, m, ncol - c, n, stride);
}
