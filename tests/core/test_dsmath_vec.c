/* tests/core/test_dsmath_vec.c
 * The array forms of dsmath.h (ds_vec_exp, ds_vec_log, ds_vec_log_abs,
 * ds_vec_erfc) give the scalar functions' bits, element by element, into
 * another array and in place (y = x).
 * Licence: see LICENSE at the top of the repository.
 *
 * Run once a SIMD path (DEALSIM_SIMD, see tests/core/CMakeLists.txt): the
 * points are random over each function's range, random in the exponent
 * (subnormals to the largest binade, both signs) and the edge cases (zeros,
 * infinities, NaN, the thresholds of ds_erfc's pieces and one ulp either
 * side), in arrays of every length 1..67 and then long ones, so that the
 * vector loops' main parts and remainders are all exercised.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/dsmath.h"

static uint64_t state = 0x2545f4914f6cdd1du;
static uint64_t next64(void)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15u); /* splitmix64: test points only */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double point(int kind)
{
    const double u = (double)(next64() >> 11) * 0x1p-53;
    switch (kind) {
    case 0: return -30.0 + 60.0 * u;   /* every piece of erfc, both signs */
    case 1: return -746.0 + 1456.0 * u; /* exp's range */
    default: {
        uint64_t b = next64() & UINT64_C(0x7fefffffffffffff); /* any finite binade */
        double x;
        memcpy(&x, &b, sizeof x);
        return (next64() & 1) ? -x : x;
    }
    }
}

static int same(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static const double cuts[] = {0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 27.2, 28.0, 709.78, 745.13};

static long check(const char *name, void (*vec)(const double *, double *, size_t),
                  double (*one)(double), const double *x, size_t n)
{
    double *y = malloc(n * sizeof *y);
    if (!y)
        exit(2);
    long bad = 0;
    for (int in_place = 0; in_place <= 1; ++in_place) { /* y may be x */
        if (in_place) {
            memcpy(y, x, n * sizeof *y);
            vec(y, y, n);
        } else {
            vec(x, y, n);
        }
        for (size_t i = 0; i < n; ++i)
            if (!same(y[i], one(x[i]))) {
                if (bad++ < 5)
                    fprintf(stderr, "%s(%a)%s: array %a, scalar %a\n", name, x[i],
                            in_place ? " in place" : "", y[i], one(x[i]));
            }
    }
    free(y);
    return bad;
}

static double log_abs(double x) { return ds_log(fabs(x)); }

int main(void)
{
    enum { N = 200000 };
    double *x = malloc(N * sizeof *x);
    if (!x)
        return 2;
    size_t n = 0;
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; ++c)
        for (int s = -1; s <= 1; s += 2) {
            const double v = s * cuts[c];
            x[n++] = v;
            x[n++] = nextafter(v, INFINITY);
            x[n++] = nextafter(v, -INFINITY);
        }
    x[n++] = INFINITY;
    x[n++] = -INFINITY;
    x[n++] = NAN;
    x[n++] = -NAN;
    x[n++] = 0x1p-1074;
    while (n < N)
        x[n] = point((int)(n % 3)), n++;
    long bad = 0;
    struct {
        const char *name;
        void (*vec)(const double *, double *, size_t);
        double (*one)(double);
    } f[] = {{"exp", ds_vec_exp, ds_exp},
             {"log", ds_vec_log, ds_log},
             {"log|x|", ds_vec_log_abs, log_abs},
             {"erfc", ds_vec_erfc, ds_erfc}};
    for (size_t k = 0; k < sizeof f / sizeof *f; ++k) {
        size_t at = 0;
        for (size_t len = 1; len <= 67; ++len, at += len) /* every remainder */
            bad += check(f[k].name, f[k].vec, f[k].one, x + at, len);
        bad += check(f[k].name, f[k].vec, f[k].one, x, N); /* long arrays, the edges first */
        bad += check(f[k].name, f[k].vec, f[k].one, x + 1, N - 1);
    }
    free(x);
    printf("test_dsmath_vec (%s): %s\n", ds_simd_name(ds_simd_level()), bad ? "FAILED" : "ok");
    return bad != 0;
}
