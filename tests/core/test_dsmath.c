/* tests/core/test_dsmath.c
 * Accuracy of include/dealsim/dsmath.h and sim/core/dsmath.c.
 * Licence: see LICENSE at the top of the repository.
 *
 * The reference is x87 long double libm (expl, logl, ...: 64-bit
 * significands, about 2^-11 of a double ulp), so an error measured in double
 * ulps of the reference is the function's own error to within 0.001 ulp.
 * Each function is checked on about 2 million points: uniform over its
 * interesting range, uniform in the exponent (every binade, subnormals
 * included) and the edge cases (0, -0, +-inf, nan, the overflow and
 * underflow thresholds, one ulp either side of each).  The bounds are the
 * ones dsmath.h promises.
 */
#define DS_MATH_ALLOW_LIBM
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dealsim/dsmath.h"

static uint64_t state = 0x9e3779b97f4a7c15u;
static uint64_t next64(void)
{
    /* splitmix64: test points only */
    uint64_t z = (state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static double unif(double a, double b) { return a + (b - a) * ((double)(next64() >> 11) * 0x1p-53); }

/* A double with a uniformly random bit pattern of the given sign and
 * exponent range [emin, emax] (biased exponents 0..2046). */
static double any_binade(int emin, int emax, int negative)
{
    uint64_t e = (uint64_t)emin + next64() % (uint64_t)(emax - emin + 1);
    uint64_t bits = (e << 52) | (next64() & UINT64_C(0x000fffffffffffff));
    if (negative)
        bits |= UINT64_C(1) << 63;
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

typedef struct {
    const char *name;
    double (*f)(double);
    long double (*ref)(long double);
    double bound;
    double worst, worst_x;
    long n, bad;
} check;

static double f_exp(double x) { return ds_exp(x); }
static double f_log(double x) { return ds_log(x); }
static double f_expm1(double x) { return ds_expm1(x); }
static double f_log1p(double x) { return ds_log1p(x); }

/* ulp of the double nearest to r (subnormal spacing below DBL_MIN). */
static double ulp_of(long double r)
{
    double d = fabs((double)r);
    if (d < DBL_MIN)
        return 0x1p-1074;
    if (isinf(d))
        d = DBL_MAX;
    int e;
    frexp(d, &e);
    return ldexp(1.0, e - 53);
}

static void one(check *c, double x)
{
    const double y = c->f(x);
    const long double r = c->ref((long double)x);
    ++c->n;
    double err;
    if (isnan(r) || isnan(y)) {
        err = (isnan(r) && isnan(y)) ? 0.0 : (double)INFINITY;
    } else if (isinf(y) || fabsl(r) > (long double)DBL_MAX) {
        /* an overflowing reference: y must be inf (or DBL_MAX within an ulp) */
        const double rd = (double)r;
        err = (y == rd) ? 0.0 : (isinf(rd) && fabs(y) == DBL_MAX ? 0.5 : (double)INFINITY);
        if (isinf(y) && !isinf(rd))
            err = (fabsl(r - (long double)DBL_MAX) <= (long double)ulp_of(DBL_MAX)) ? 0.5 : (double)INFINITY;
    } else {
        err = (double)(fabsl((long double)y - r) / (long double)ulp_of(r));
        if (y == 0.0 && r == 0.0L && signbit(y) != signbit((double)r))
            err = INFINITY;
    }
    if (err > c->worst) {
        c->worst = err;
        c->worst_x = x;
    }
    if (!(err <= c->bound)) {
        if (c->bad < 5)
            printf("  %s(%a) = %a, reference %La: %.3g ulp\n", c->name, x, y, r, err);
        ++c->bad;
    }
}

static int report(check *c)
{
    printf("%-6s %9ld points, worst %.3f ulp at %a (bound %.1f)%s\n", c->name, c->n, c->worst,
           c->worst_x, c->bound, c->bad ? "  FAILED" : "");
    return c->bad != 0;
}

static const double edges[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1.0, -1.0, 0x1p-1074,
                               -0x1p-1074, 0x1p-1022, DBL_MAX, -DBL_MAX, 709.782712893384,
                               709.7827128933841, -745.1332191019411, -745.1332191019412,
                               -708.3964185322641, 0.5, 0x1p-30, -0x1p-30, 40.0, -40.0, 28.0,
                               27.2, -27.2, 4.0, 3.999999999999999, 0.3465735902799726,
                               -0.3465735902799726, 0.7071067811865476, 1.414213562373095};

int main(void)
{
    const long N = 1000000;
    int fails = 0;

    check ce = {"exp", f_exp, expl, 1.0, 0, 0, 0, 0};
    for (long i = 0; i < N; ++i)
        one(&ce, unif(-746.0, 710.0));
    for (long i = 0; i < N / 2; ++i)
        one(&ce, unif(-1.0, 1.0));
    for (long i = 0; i < N / 2; ++i)
        one(&ce, any_binade(0, 1032, (int)(next64() & 1)));
    for (size_t i = 0; i < sizeof edges / sizeof *edges; ++i)
        one(&ce, edges[i]);
    fails |= report(&ce);

    check cl = {"log", f_log, logl, 1.0, 0, 0, 0, 0};
    for (long i = 0; i < N; ++i)
        one(&cl, any_binade(0, 2046, 0));
    for (long i = 0; i < N / 2; ++i)
        one(&cl, unif(0.5, 2.0));
    for (long i = 0; i < N / 2; ++i)
        one(&cl, 1.0 + unif(-1e-6, 1e-6));
    for (long i = 0; i < 1000; ++i)
        one(&cl, any_binade(0, 2046, 1));
    for (size_t i = 0; i < sizeof edges / sizeof *edges; ++i)
        one(&cl, edges[i]);
    fails |= report(&cl);

    check cm = {"expm1", f_expm1, expm1l, 2.0, 0, 0, 0, 0};
    for (long i = 0; i < N; ++i)
        one(&cm, unif(-45.0, 45.0));
    for (long i = 0; i < N / 2; ++i)
        one(&cm, unif(-1.0, 1.0));
    for (long i = 0; i < N / 2; ++i)
        one(&cm, any_binade(0, 1032, (int)(next64() & 1)));
    for (size_t i = 0; i < sizeof edges / sizeof *edges; ++i)
        one(&cm, edges[i]);
    fails |= report(&cm);

    check cp = {"log1p", f_log1p, log1pl, 2.0, 0, 0, 0, 0};
    for (long i = 0; i < N; ++i)
        one(&cp, unif(-1.0, 3.0));
    for (long i = 0; i < N / 2; ++i)
        one(&cp, any_binade(0, 2046, 0));
    for (long i = 0; i < N / 2; ++i)
        one(&cp, -any_binade(0, 1022, 0));
    for (size_t i = 0; i < sizeof edges / sizeof *edges; ++i)
        one(&cp, edges[i]);
    fails |= report(&cp);

    check cf = {"erf", ds_erf, erfl, 4.0, 0, 0, 0, 0};
    for (long i = 0; i < N; ++i)
        one(&cf, unif(-7.0, 7.0));
    for (long i = 0; i < N / 2; ++i)
        one(&cf, any_binade(0, 1030, (int)(next64() & 1)));
    for (size_t i = 0; i < sizeof edges / sizeof *edges; ++i)
        one(&cf, edges[i]);
    fails |= report(&cf);

    check cc = {"erfc", ds_erfc, erfcl, 4.0, 0, 0, 0, 0};
    for (long i = 0; i < N; ++i)
        one(&cc, unif(-6.0, 27.3));
    for (long i = 0; i < N / 2; ++i)
        one(&cc, unif(0.0, 4.5));
    for (long i = 0; i < N / 2; ++i)
        one(&cc, any_binade(0, 1030, (int)(next64() & 1)));
    for (size_t i = 0; i < sizeof edges / sizeof *edges; ++i)
        one(&cc, edges[i]);
    fails |= report(&cc);

    return fails;
}
