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

/* ds_erfc of an array with ds_erfc's bits: erfc_direct and erfc_parts
 * element by element (independent chains that overlap in the processor),
 * the two exponentials of the 1/2 <= |x| < 28 elements in SIMD lanes
 * (ds_vec_exp: ds_exp's bits), then erfc_pos's product. */
#define ERFC_CHUNK 256

void ds_vec_erfc(const double *x, double *y, size_t n)
{
    double a1[ERFC_CHUNK], a2[ERFC_CHUNK], e1[ERFC_CHUNK], e2[ERFC_CHUNK], g[ERFC_CHUNK];
    unsigned char pos[ERFC_CHUNK];
    for (size_t k0 = 0; k0 < n; k0 += ERFC_CHUNK) {
        const size_t c = n - k0 < ERFC_CHUNK ? n - k0 : ERFC_CHUNK;
        const double *xc = x + k0;
        double *yc = y + k0;
        for (size_t k = 0; k < c; ++k) {
            const double v = xc[k];
            pos[k] = !erfc_direct(v, &yc[k]);
            a1[k] = a2[k] = 0.0;
            if (pos[k])
                erfc_parts(v < 0.0 ? -v : v, &g[k], &a1[k], &a2[k]);
        }
        ds_vec_exp(a1, e1, c);
        ds_vec_exp(a2, e2, c);
        for (size_t k = 0; k < c; ++k)
            if (pos[k]) {
                const double e = e1[k] * e2[k] * g[k];
                yc[k] = xc[k] < 0.0 ? 2.0 - e : e;
            }
    }
}
