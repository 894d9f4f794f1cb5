/* sim/core/dsmath.c
 * The project's own erf and erfc (see include/dealsim/dsmath.h for why).
 * Licence: see LICENSE at the top of the repository.
 *
 * Pieces (coefficients fitted by scripts/gen_erfc_tables.py):
 *   |x| < 1/2:     erf(x) = x E(x^2), erfc = 1 - erf (erf < 0.53: no cancellation);
 *   1/2 <= x < 4:  erfc(x) = e^(-x^2) G_i(x - c_i) on seven pieces of width 1/2;
 *   4 <= x < 28:   erfc(x) = e^(-x^2) T(1/x^2 - 1/32) / x;
 *   x >= 28:       erfc(x) = 0 (it underflows at 27.2);
 *   x < 0:         erfc(x) = 2 - erfc(-x), erf(x) = -erf(-x); erf = 1 - erfc for x >= 1/2.
 * e^(-x^2) is formed as e^(-h^2) e^((h - x)(h + x)) with h = x cut to 26
 * bits, so h^2 is exact and the rounding of x^2 (which would cost x^2 ulp)
 * never enters.
 */
#include "dealsim/dsmath.h"

#include "dsmath_erfc_tables.h"

static double horner16(const double *k, double t)
{
    double p = k[15];
    for (int j = 14; j >= 0; --j)
        p = p * t + k[j];
    return p;
}

/* x E(x^2), |x| < 1/2 */
static double erf_small(double x)
{
    const double s = x * x;
    double p = ds_erf_small[9];
    for (int j = 8; j >= 0; --j)
        p = p * s + ds_erf_small[j];
    return x * p;
}

/* erfc(x) = e^a1 e^a2 g for 1/2 <= x < 28: the piece's polynomial g and the
 * exponents of e^(-h^2) e^((h - x)(h + x)) (the array form takes these
 * exponentials in SIMD lanes). */
static void erfc_parts(double x, double *g, double *a1, double *a2)
{
    if (x < 4.0) {
        int i = (int)((x - 0.5) * 2.0);
        if (i > 6)
            i = 6;
        *g = horner16(ds_erfc_mid[i], x - (0.75 + 0.5 * (double)i));
    } else {
        *g = horner16(ds_erfc_tail, 1.0 / (x * x) - 0.03125) / x;
    }
    const double h = ds_math_from_bits(ds_math_bits(x) & UINT64_C(0xfffffffff8000000));
    *a1 = -h * h;
    *a2 = (h - x) * (h + x);
}

/* erfc(x) for 1/2 <= x (x finite or +inf). */
static double erfc_pos(double x)
{
    if (!(x < 28.0))
        return 0.0;
    double g, a1, a2;
    erfc_parts(x, &g, &a1, &a2);
    return ds_exp(a1) * ds_exp(a2) * g;
}

/* ds_erfc(x) where it needs no exponential (NaN, |x| < 1/2, |x| >= 28):
 * 1 with the value in *y, else 0 (then erfc(|x|) = erfc_pos(|x|)). */
static int erfc_direct(double x, double *y)
{
    const double ax = x < 0.0 ? -x : x;
    if (x != x)
        *y = x + x;
    else if (ax < 0.5)
        *y = 1.0 - erf_small(x);
    else if (!(ax < 28.0))
        *y = x < 0.0 ? 2.0 : 0.0;
    else
        return 0;
    return 1;
}

double ds_erfc(double x)
{
    double y;
    if (erfc_direct(x, &y))
        return y;
    const double c = erfc_pos(x < 0.0 ? -x : x);
    return x < 0.0 ? 2.0 - c : c;
}

double ds_erf(double x)
{
    if (x != x)
        return x + x;
    const double ax = x < 0.0 ? -x : x;
    if (ax < 0.5)
        return erf_small(x);
    const double e = 1.0 - erfc_pos(ax);
    return x < 0.0 ? -e : e;
}

/* ds_erfc of an array with ds_erfc's bits, a chunk at a time: the values
 * where no exponential is needed and, for 1/2 <= |x| < 28, erfc_parts'
 * polynomial g and exponents, four elements at a time in vectors (each lane
 * the scalar operations in their order; the piece's coefficients gathered
 * lane by lane; the cases chosen by selects, not by branches on the value,
 * which mispredicted about every other element); the tail piece (|x| >= 4)
 * only in the rare vectors that have one.  Then the two exponentials in
 * SIMD lanes (ds_vec_exp: ds_exp's bits) and erfc_pos's product. */
#define ERFC_CHUNK 256

/* erfc_direct and erfc_parts of x[k]: the direct value in y[k] where there
 * is one (pos[k] = 0), else pos[k] = 1 (2 for x[k] < 0: y may be x, so the
 * sign is kept here) with g[k], a1[k], a2[k] (a1 = a2 = 0 elsewhere). */
static void erfc_scalar_prep(const double *x, size_t k, double *y, double *g, double *a1,
                             double *a2, unsigned char *pos)
{
    const double v = x[k];
    pos[k] = (unsigned char)(erfc_direct(v, &y[k]) ? 0 : 1 + (v < 0.0));
    a1[k] = a2[k] = 0.0;
    if (pos[k])
        erfc_parts(v < 0.0 ? -v : v, &g[k], &a1[k], &a2[k]);
}

typedef int32_t erfc_v4si __attribute__((vector_size(4 * sizeof(int32_t))));

static inline __attribute__((always_inline)) void erfc_chunk_impl(const double *xc, double *yc,
                                                                  size_t c)
{
    double a1[ERFC_CHUNK], a2[ERFC_CHUNK], e1[ERFC_CHUNK], e2[ERFC_CHUNK], g[ERFC_CHUNK];
    unsigned char pos[ERFC_CHUNK];
    const ds_v4 zero = {0}, one = zero + 1.0;
    const ds_v4i low27 = (ds_v4i){0} + (int64_t)UINT64_C(0xfffffffff8000000);
    size_t k = 0;
    for (; k + 4 <= c; k += 4) {
        ds_v4 v;
        memcpy(&v, xc + k, sizeof v);
        const ds_v4i neg = v < 0.0, nan = v != v;
        const ds_v4 ax = DS_SELECT4(neg, -v, v);
        const ds_v4i small = ax < 0.5, near = ax < 28.0;
        /* erfc_direct: NaN, then |x| < 1/2 (1 - erf_small), then |x| >= 28. */
        const ds_v4 sq = v * v;
        ds_v4 p = zero + ds_erf_small[9];
        for (int j = 8; j >= 0; --j)
            p = p * sq + ds_erf_small[j];
        const ds_v4 far = DS_SELECT4(neg, zero + 2.0, zero);
        const ds_v4 direct = DS_SELECT4(nan, v + v, DS_SELECT4(small, one - v * p, far));
        const ds_v4i in = ~nan & ~small & near; /* 1/2 <= |x| < 28 */
        /* erfc_parts(|x|) in the lanes `in`; the others run on 1/2. */
        const ds_v4 xa = DS_SELECT4(in, ax, zero + 0.5);
        const ds_v4i mid = xa < 4.0;
        const ds_v4 xm = DS_SELECT4(mid, xa, zero + 0.5);
        erfc_v4si piece = __builtin_convertvector((xm - 0.5) * 2.0, erfc_v4si);
        const erfc_v4si over6 = piece > 6;
        piece = (piece & ~over6) | (6 & over6);
        const double *row[4] = {ds_erfc_mid[piece[0]], ds_erfc_mid[piece[1]],
                                ds_erfc_mid[piece[2]], ds_erfc_mid[piece[3]]};
        const ds_v4 t = xm - (0.75 + 0.5 * __builtin_convertvector(piece, ds_v4));
        ds_v4 q = {row[0][15], row[1][15], row[2][15], row[3][15]};
        for (int j = 14; j >= 0; --j)
            q = q * t + (ds_v4){row[0][j], row[1][j], row[2][j], row[3][j]};
        const ds_v4i tail = in & ~mid; /* 4 <= |x| < 28 */
        if ((tail[0] | tail[1] | tail[2] | tail[3]) != 0) {
            ds_v4 r = zero + ds_erfc_tail[15];
            const ds_v4 u = 1.0 / (xa * xa) - 0.03125;
            for (int j = 14; j >= 0; --j)
                r = r * u + ds_erfc_tail[j];
            q = DS_SELECT4(mid, q, r / xa);
        }
        const ds_v4 h = (ds_v4)((ds_v4i)xa & low27);
        const ds_v4 e1v = DS_SELECT4(in, -h * h, zero);
        const ds_v4 e2v = DS_SELECT4(in, (h - xa) * (h + xa), zero);
        memcpy(yc + k, &direct, sizeof direct); /* replaced below where `in` */
        memcpy(g + k, &q, sizeof q);
        memcpy(a1 + k, &e1v, sizeof e1v);
        memcpy(a2 + k, &e2v, sizeof e2v);
        for (int l = 0; l < 4; ++l)
            pos[k + (size_t)l] = (unsigned char)((in[l] & 1) + (in[l] & neg[l] & 1));
    }
    for (; k < c; ++k)
        erfc_scalar_prep(xc, k, yc, g, a1, a2, pos);
    ds_vec_exp(a1, e1, c);
    ds_vec_exp(a2, e2, c);
    for (k = 0; k < c; ++k) {
        const double e = e1[k] * e2[k] * g[k];
        const double r = pos[k] == 2 ? 2.0 - e : e;
        yc[k] = pos[k] ? r : yc[k];
    }
}

DS_SIMD_DISPATCH(erfc_chunk, (const double *xc, double *yc, size_t c), (xc, yc, c))

void ds_vec_erfc(const double *x, double *y, size_t n)
{
    for (size_t k0 = 0; k0 < n; k0 += ERFC_CHUNK)
        erfc_chunk(x + k0, y + k0, n - k0 < ERFC_CHUNK ? n - k0 : ERFC_CHUNK);
}
