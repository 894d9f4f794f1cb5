/* sim/dist/dist_special.c
 * Special functions: normal CDF and inverse, ln Gamma, incomplete beta and inverse.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants: every function is pure (no state; thread-safe) and keeps
 * *relative* precision in both tails, because truncated normals and Beta
 * quantiles are evaluated far out (e.g. [8 sd, 9 sd], Beta(0.05, 300) at
 * u = 1e-12).  Two habits make that work: the complement of a probability is
 * never formed as 1 - p when it is small (the pair functions carry p and
 * q = 1 - p separately, and points near 1 carry y = 1 - x), and quantities that
 * may underflow are handled as logarithms.
 */
#include <float.h>
#include <math.h>

#include "dealsim/dist.h"
#include "dist_internal.h"
#include "dealsim/dsmath.h"

#define DS_LN_SQRT_2PI 0.91893853320467274178032973640562

/* ---- Normal distribution ---- */

/* Through erfc, which glibc evaluates to within an ulp over its whole range.
 * Rounding x / sqrt(2) perturbs the argument by one ulp, which costs about
 * x^2 * 1.1e-16 relative: 1.5e-13 at x = -37, the deepest tail before Phi
 * underflows, well inside DS_DIST_INV_RTOL. */
double ds_norm_cdf(double x)
{
    return 0.5 * ds_erfc(-x * DS_SQRT1_2);
}

void ds_vec_norm_cdf(const double *x, double *u, size_t n)
{
    /* 0.5 erfc(-x / sqrt 2), as ds_norm_cdf, with the array erfc. */
    for (size_t i = 0; i < n; ++i)
        u[i] = -x[i] * DS_SQRT1_2;
    ds_vec_erfc(u, u, n);
    for (size_t i = 0; i < n; ++i)
        u[i] = 0.5 * u[i];
}

double ds_norm_sf(double x)
{
    return 0.5 * ds_erfc(x * DS_SQRT1_2);
}

/* Wichura, M. J. (1988), "Algorithm AS 241: The percentage points of the
 * normal distribution", Applied Statistics 37(3), 477-484: PPND16, rational
 * approximations of degree 7 with relative error about 1e-16.  Coefficients
 * as published. */
static const double as241_a[8] = {
    3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
    1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
    3.3430575583588128105e+4, 2.5090809287301226727e+3};
static const double as241_b[8] = {
    1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
    2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4,
    5.2264952788528545610e+3};
static const double as241_c[8] = {
    1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
    3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
    2.27238449892691845833e-2, 7.74545014278341407640e-4};
static const double as241_d[8] = {
    1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
    1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
    1.05075007164441684324e-9};
static const double as241_e[8] = {
    6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
    2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
    2.71155556874348757815e-5, 2.01033439929228813265e-7};
static const double as241_f[8] = {
    1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
    7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
    2.04426310338993978564e-15};
#define AS241_CONST1 0.180625 /* 0.425^2 */
#define AS241_CONST2 1.6
#define AS241_SPLIT2 5.0

/* Horner evaluation of a degree-7 polynomial. */
static double poly7(const double *k, double r)
{
    return ((((((k[7] * r + k[6]) * r + k[5]) * r + k[4]) * r + k[3]) * r + k[2]) * r + k[1]) * r +
           k[0];
}

double ds_dist_norm_ppf_central(double delta)
{
    double r = AS241_CONST1 - delta * delta;
    return delta * poly7(as241_a, r) / poly7(as241_b, r);
}

double ds_norm_ppf(double u)
{
    if (!(u > 0.0 && u < 1.0)) {
        if (u == 0.0)
            return -DS_INF;
        if (u == 1.0)
            return DS_INF;
        return DS_NAN;
    }
    double q = u - 0.5;
    if (fabs(q) <= DS_NORM_CENTRAL_HALF)
        return ds_dist_norm_ppf_central(q);
    /* Tail: r = sqrt(-ln(min(u, 1-u))); 1 - u is exact here (u > 0.5). */
    double r = sqrt(-ds_log(q < 0.0 ? u : 1.0 - u));
    double z;
    if (r <= AS241_SPLIT2) {
        r -= AS241_CONST2;
        z = poly7(as241_c, r) / poly7(as241_d, r);
    } else {
        r -= AS241_SPLIT2;
        z = poly7(as241_e, r) / poly7(as241_f, r);
    }
    return q < 0.0 ? -z : z;
}

/* ln Phi(z), finite far below the underflow of Phi (z < -37.5): for z below
 * DS_NORM_ASYMPT_Z the asymptotic expansion of Mills' ratio (Abramowitz &
 * Stegun 26.2.12), Phi(z) = phi(z)/|z| * (1 - 1/z^2 + 3/z^4 - ... ), whose
 * 8 terms leave an error below (15!!)/z^16 < 1e-16 there. */
#define DS_NORM_ASYMPT_Z (-30.0)
#define DS_NORM_MILLS_TERMS 8
static double mills_series(double z)
{
    double w = 1.0 / (z * z), term = 1.0, s = 1.0;
    for (int k = 1; k < DS_NORM_MILLS_TERMS; ++k) {
        term *= -(2.0 * k - 1.0) * w;
        s += term;
    }
    return s;
}

double ds_dist_norm_log_cdf(double z)
{
    if (z >= DS_NORM_ASYMPT_Z)
        return ds_log(ds_norm_cdf(z));
    if (z == -DS_INF)
        return -DS_INF;
    return -0.5 * z * z - ds_log(-z) - DS_LN_SQRT_2PI + ds_log(mills_series(z));
}

/* Phi^-1(e^lp).  Above DS_NORM_PPF_LOG_MIN the plain AS 241 is exact enough;
 * below it Newton's method on ln Phi(z) = lp, whose derivative is
 * phi/Phi = |z| / series; from z0 = -sqrt(-2 lp - ln(-2 lp) - ln 2 pi)
 * it converges in a few steps (ln Phi is nearly quadratic there). */
#define DS_NORM_PPF_LOG_MAX_ITER 50
#define DS_NORM_PPF_LOG_STEP_RTOL 1e-15
double ds_dist_norm_ppf_log(double lp)
{
    if (lp >= ds_log(DS_NORM_PPF_LOG_MIN))
        return ds_norm_ppf(ds_exp(lp));
    if (lp == -DS_INF)
        return -DS_INF;
    double z = -sqrt(-2.0 * lp - ds_log(-2.0 * lp) - 2.0 * DS_LN_SQRT_2PI);
    for (int it = 0; it < DS_NORM_PPF_LOG_MAX_ITER; ++it) {
        double f = ds_dist_norm_log_cdf(z) - lp;
        double step = f * mills_series(z) / -z;
        z -= step;
        if (fabs(step) <= DS_NORM_PPF_LOG_STEP_RTOL * fabs(z))
            break;
    }
    return z;
}

/* Which form has less cancellation: a difference of tail masses when the
 * interval lies in a tail, a difference of erf otherwise (near 0 the tail
 * masses are both close to 1/2 and their difference would lose digits). */
#define DS_NORM_TAIL_SIDE 0.25

double ds_dist_norm_mass(double lo, double hi)
{
    if (!(lo < hi))
        return 0.0;
    if (lo >= 0.0) {
        double s_lo = ds_norm_sf(lo);
        if (s_lo < DS_NORM_TAIL_SIDE)
            return s_lo - ds_norm_sf(hi);
        return 0.5 * (ds_erf(hi * DS_SQRT1_2) - ds_erf(lo * DS_SQRT1_2));
    }
    if (hi <= 0.0) {
        double c_hi = ds_norm_cdf(hi);
        if (c_hi < DS_NORM_TAIL_SIDE)
            return c_hi - ds_norm_cdf(lo);
        return 0.5 * (ds_erf(-lo * DS_SQRT1_2) - ds_erf(-hi * DS_SQRT1_2));
    }
    return 0.5 * (ds_erf(hi * DS_SQRT1_2) + ds_erf(-lo * DS_SQRT1_2)); /* both terms >= 0 */
}

/* ---- ln Gamma and ln Beta ---- */

/* Stirling's series is used from this argument up; with the eight terms below
 * its truncation error there is below 2e-18. */
#define DS_STIRLING_MIN 10.0

/* delta(z) = ln Gamma(z) - [(z - 1/2) ln z - z + ln sqrt(2 pi)] for
 * z >= DS_STIRLING_MIN: the Stirling series sum B_2k / (2k (2k-1) z^(2k-1)),
 * k = 1..8 (Abramowitz & Stegun 6.1.40). */
static double stirling_delta(double z)
{
    double w = 1.0 / (z * z);
    double s = -3617.0 / 122400.0;
    s = s * w + 1.0 / 156.0;
    s = s * w - 691.0 / 360360.0;
    s = s * w + 1.0 / 1188.0;
    s = s * w - 1.0 / 1680.0;
    s = s * w + 1.0 / 1260.0;
    s = s * w - 1.0 / 360.0;
    s = s * w + 1.0 / 12.0;
    return s / z;
}

double ds_dist_lgamma(double x)
{
    if (!(x > 0.0))
        return x == 0.0 ? DS_INF : DS_NAN;
    if (x >= DS_STIRLING_MIN)
        return (x - 0.5) * ds_log(x) - x + DS_LN_SQRT_2PI + stirling_delta(x);
    /* Recurrence Gamma(x) = Gamma(x + k) / (x (x+1) ... (x+k-1)). */
    double prod = 1.0;
    while (x < DS_STIRLING_MIN) {
        prod *= x;
        x += 1.0;
    }
    return (x - 0.5) * ds_log(x) - x + DS_LN_SQRT_2PI + stirling_delta(x) - ds_log(prod);
}

static double lbeta_compute(double a, double b);

/* ln B(a, b), remembered for the last (a, b) of this thread: a Beta or PERT
 * CDF asks for the same pair trial after trial (the sensitivity indices
 * call it per trial), and the value is a pure function of (a, b), so the
 * memo changes no bits. */
double ds_dist_lbeta(double a, double b)
{
    static _Thread_local double memo_a = -1.0, memo_b = -1.0, memo_v = 0.0;
    if (a == memo_a && b == memo_b)
        return memo_v;
    const double v = lbeta_compute(a, b);
    memo_a = a;
    memo_b = b;
    memo_v = v;
    return v;
}

static double lbeta_compute(double a, double b)
{
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    if (a >= DS_STIRLING_MIN) {
        /* Both large: the (a - 1/2) ln a terms are combined before they
         * cancel; Delta collects the Stirling corrections. */
        double s = a + b;
        return (a - 0.5) * ds_log(a / s) + (b - 0.5) * ds_log(b / s) - 0.5 * ds_log(s) + DS_LN_SQRT_2PI +
               stirling_delta(a) + stirling_delta(b) - stirling_delta(s);
    }
    if (b >= DS_STIRLING_MIN) {
        /* ln Gamma(b) - ln Gamma(a + b) without subtracting two large numbers. */
        double s = a + b;
        return ds_dist_lgamma(a) - (b - 0.5) * ds_log1p(a / b) - a * ds_log(s) + a +
               stirling_delta(b) - stirling_delta(s);
    }
    return ds_dist_lgamma(a) + ds_dist_lgamma(b) - ds_dist_lgamma(a + b);
}

/* ---- Regularised incomplete beta ---- */

/* e - ln(r) for r = 1 + e > 0, given both e and r (each computed directly,
 * so that neither 1 + e nor r - 1 is formed by a cancelling subtraction).
 * For small |e| the two terms cancel: with t = e / (2 + e),
 * ln(1 + e) = 2 atanh t, so e - ln(1 + e) = e t - 2 (t^3/3 + t^5/5 + ...). */
#define DS_RLOG1_SERIES_MAX 0.25
/* |t| <= 0.25/1.75 there, so t^(2k) falls below 1e-17 by k = 10; a bound
 * with room to spare (the loop stops at DBL_EPSILON relative). */
#define DS_RLOG1_MAX_POWER 60
static double rlog1(double e, double r)
{
    if (fabs(e) > DS_RLOG1_SERIES_MAX)
        return e - ds_log(r);
    double t = e / (2.0 + e);
    double t2 = t * t;
    double pw = t * t2;
    double sum = 0.0;
    for (int k = 3; k < DS_RLOG1_MAX_POWER; k += 2) {
        double term = pw / k;
        sum += term;
        if (fabs(term) <= DBL_EPSILON * fabs(sum))
            break;
        pw *= t2;
    }
    return e * t - 2.0 * sum;
}

/* ln(x^a y^b / B(a, b)), y = 1 - x.  For large a and b (DiDonato & Morris,
 * "Algorithm 708", ACM TOMS 18 (1992), function brcomp) the power terms are
 * taken relative to the mode x0 = a/(a+b):
 *   a ln(x/x0) + b ln(y/y0) = -(a rlog1(e_a) + b rlog1(e_b)),
 *   e_a = x/x0 - 1 = (b x - a y)/a,  e_b = y/y0 - 1 = (a y - b x)/b,
 * and a ln x0 + b ln y0 - ln B(a,b) = ln sqrt(ab/(2 pi (a+b))) - Delta, with
 * Delta the Stirling corrections; this avoids subtracting terms of size
 * a ln x, which would cost |a ln x| * 1e-16 of relative precision.  The
 * ratios x/x0 = x (a+b)/a are passed to rlog1 as well: when x << x0, 1 + e_a
 * would have lost all its digits. */
static double beta_ln_prefactor(double a, double b, double x, double y)
{
    if (a >= DS_STIRLING_MIN && b >= DS_STIRLING_MIN) {
        double s = a + b;
        double ea = (b * x - a * y) / a;
        double eb = (a * y - b * x) / b;
        return 0.5 * ds_log(a * b / s) - DS_LN_SQRT_2PI - stirling_delta(a) - stirling_delta(b) +
               stirling_delta(s) - (a * rlog1(ea, x * s / a) + b * rlog1(eb, y * s / b));
    }
    return a * ds_log(x) + b * ds_log(y) - ds_dist_lbeta(a, b);
}

/* Continued fraction of I_x(a, b) (Abramowitz & Stegun 26.5.8):
 *   I_x(a,b) = x^a y^b / (a B(a,b)) * 1/(1 + d1/(1 + d2/(1 + ...))),
 *   d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)),
 *   d_{2m}   = m (b-m) x / ((a+2m-1)(a+2m)),
 * evaluated by the modified Lentz method (Thompson & Barnett, J. Comput. Phys.
 * 64 (1986) 490).  It converges fast for x < (a+1)/(a+b+2), in O(sqrt(max(a,b)))
 * terms.  Returns the value of 1/(1 + d1/(1 + ...)). */
#define DS_BETA_CF_TOL (2.0 * DBL_EPSILON)
#define DS_BETA_CF_MAX_TERMS 20000
#define DS_LENTZ_TINY 1e-300
static double beta_cf(double a, double b, double x)
{
    double f = 1.0, c = 1.0, dd = 0.0;
    for (int j = 1; j <= DS_BETA_CF_MAX_TERMS; ++j) {
        int m = j / 2;
        double dm = (double)m;
        double coef;
        if (j & 1)
            coef = -(a + dm) * (a + b + dm) * x / ((a + 2.0 * dm) * (a + 2.0 * dm + 1.0));
        else
            coef = dm * (b - dm) * x / ((a + 2.0 * dm - 1.0) * (a + 2.0 * dm));
        dd = 1.0 + coef * dd;
        if (fabs(dd) < DS_LENTZ_TINY)
            dd = DS_LENTZ_TINY;
        c = 1.0 + coef / c;
        if (fabs(c) < DS_LENTZ_TINY)
            c = DS_LENTZ_TINY;
        dd = 1.0 / dd;
        double delta = c * dd;
        f *= delta;
        if (fabs(delta - 1.0) <= DS_BETA_CF_TOL)
            break;
    }
    return 1.0 / f;
}

int ds_dist_beta_inc_pair(double a, double b, double x, double y, double *ix, double *iy,
                          double *ln_direct, double *ln_pre)
{
    if (!(x > 0.0)) {
        *ix = 0.0;
        *iy = 1.0;
        *ln_direct = -DS_INF;
        if (ln_pre)
            *ln_pre = -DS_INF;
        return 1;
    }
    if (!(y > 0.0)) {
        *ix = 1.0;
        *iy = 0.0;
        *ln_direct = -DS_INF;
        if (ln_pre)
            *ln_pre = -DS_INF;
        return 0;
    }
    double lp = beta_ln_prefactor(a, b, x, y);
    if (ln_pre)
        *ln_pre = lp;
    if (x < (a + 1.0) / (a + b + 2.0)) {
        double ld = lp + ds_log(beta_cf(a, b, x) / a);
        *ln_direct = ld;
        *ix = fmin(ds_exp(ld), 1.0); /* rounding must not push a probability past 1 */
        *iy = 1.0 - *ix;
        return 1;
    }
    double ld = lp + ds_log(beta_cf(b, a, y) / b);
    *ln_direct = ld;
    *iy = fmin(ds_exp(ld), 1.0);
    *ix = 1.0 - *iy;
    return 0;
}

double ds_beta_inc(double a, double b, double x)
{
    if (isnan(a) || isnan(b) || isnan(x) || !(a > 0.0) || !(b > 0.0))
        return DS_NAN;
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    double ix, iy, ld;
    (void)ds_dist_beta_inc_pair(a, b, x, 1.0 - x, &ix, &iy, &ld, NULL);
    return ix;
}

/* ---- Inverse of the regularised incomplete beta ---- */

/* Newton's method on h(t) = ln I_{e^t}(a, b) - ln p in t = ln x (x = e^t,
 * y = -expm1(t), both with full relative precision).  In t the lower tail is
 * a power law (I ~ C x^a: h is linear, Newton exact in one step) and h is
 * concave whenever b >= 1 (the CDF of a log-concave density is log-concave),
 * so Newton converges monotonically; a bracket [t_lo, t_hi] with bisection
 * keeps it safe when b < 1.  The target is always the smaller of p and q
 * (by the symmetry I_x(a,b) = 1 - I_y(b,a)), so ln p is accurate.
 * Start: the initial approximation of Majumder & Bhattacharjee (1973),
 * "Algorithm AS 64", Applied Statistics 22(3), as revised by Cran, Martin &
 * Thomas (1977), "Remark AS R19 and Algorithm AS 109", Applied Statistics
 * 26(1): Abramowitz & Stegun 26.5.22 when a, b > 1, power laws otherwise.
 *
 * Stop when the Newton step in t is below DS_BETA_INV_STEP_RTOL relative to
 * min(1, |t|): the relative error of x is |dt| and that of y is about
 * |dt| x / y ~ |dt / t|; convergence is quadratic, so the step after an
 * accepted one is far below DS_DIST_INV_RTOL. */
#define DS_BETA_INV_STEP_RTOL 1e-13
#define DS_BETA_INV_MAX_ITER 200
/* Below ln(smallest subnormal) x is 0 in double precision. */
#define DS_BETA_INV_LN_X_MIN (-744.0)

static double beta_inv_start(double a, double b, double p, double q, double lnb)
{
    double z = -ds_norm_ppf(p); /* upper normal deviate, >= 0 since p <= 1/2 */
    double t;
    if (a > 1.0 && b > 1.0) {
        double r = (z * z - 3.0) / 6.0;
        double s = 1.0 / (2.0 * a - 1.0);
        double tt = 1.0 / (2.0 * b - 1.0);
        double h = 2.0 / (s + tt);
        double w = z * sqrt(h + r) / h - (tt - s) * (r + 5.0 / 6.0 - 2.0 / (3.0 * h));
        t = -ds_log1p(b / a * ds_exp(2.0 * w)); /* ln(a / (a + b e^{2w})) */
    } else {
        double r = 2.0 * b;
        double tt = 1.0 / (9.0 * b);
        double c = 1.0 - tt + z * sqrt(tt);
        tt = r * c * c * c;
        if (tt <= 0.0) {
            double y0 = ds_exp((ds_log(q * b) + lnb) / b);
            t = ds_log1p(-y0);
        } else {
            tt = (4.0 * a + r - 2.0) / tt;
            if (tt <= 1.0)
                t = (ds_log(p * a) + lnb) / a; /* power law at 0: I ~ x^a / (a B) */
            else
                t = ds_log1p(-2.0 / (tt + 1.0));
        }
    }
    if (!(t < 0.0))
        t = -ds_log1p(b / a); /* the mean, when the approximation fails */
    if (t < DS_BETA_INV_LN_X_MIN)
        t = DS_BETA_INV_LN_X_MIN;
    return t;
}

void ds_dist_beta_inc_inv_pair(double a, double b, double p, double q, double *x, double *y)
{
    if (isnan(a) || isnan(b) || isnan(p) || isnan(q) || !(a > 0.0) || !(b > 0.0)) {
        *x = *y = DS_NAN;
        return;
    }
    if (p <= 0.0) {
        *x = 0.0;
        *y = 1.0;
        return;
    }
    if (q <= 0.0) {
        *x = 1.0;
        *y = 0.0;
        return;
    }
    int swapped = 0;
    if (p > q) {
        double t = a;
        a = b;
        b = t;
        t = p;
        p = q;
        q = t;
        swapped = 1;
    }
    double lnp = ds_log(p);
    double t = beta_inv_start(a, b, p, q, ds_dist_lbeta(a, b));
    double t_lo = -DS_INF, t_hi = 0.0;
    for (int it = 0; it < DS_BETA_INV_MAX_ITER; ++it) {
        double xx = ds_exp(t), yy = -ds_expm1(t);
        double ix, iy, ld, lp;
        int direct = ds_dist_beta_inc_pair(a, b, xx, yy, &ix, &iy, &ld, &lp);
        double ln_f = direct ? ld : ds_log1p(-iy);
        double h = ln_f - lnp;
        if (h == 0.0)
            break;
        if (h < 0.0) {
            t_lo = t;
        } else {
            t_hi = t;
            if (t <= DS_BETA_INV_LN_X_MIN) { /* the root is below the smallest double */
                t = -DS_INF;
                break;
            }
        }
        /* dh/dt = x pdf(x) / I = x^a y^b / (B y I) */
        double slope = ds_exp(lp - ds_log(yy) - ln_f);
        double t_new = t - h / slope;
        if (t_new < DS_BETA_INV_LN_X_MIN)
            t_new = DS_BETA_INV_LN_X_MIN;
        if (!(t_new > t_lo && t_new < t_hi)) {
            if (t_lo == -DS_INF)
                t_new = fmax(t_hi < -1.0 ? 2.0 * t_hi : t_hi - 1.0, DS_BETA_INV_LN_X_MIN);
            else
                t_new = 0.5 * (t_lo + t_hi);
        }
        double step = fabs(t_new - t);
        t = t_new;
        if (step <= DS_BETA_INV_STEP_RTOL * fmin(1.0, fabs(t)) || t_lo == t_hi)
            break;
    }
    double xx = ds_exp(t), yy = -ds_expm1(t);
    if (swapped) {
        *x = yy;
        *y = xx;
    } else {
        *x = xx;
        *y = yy;
    }
}

double ds_beta_inc_inv(double a, double b, double u)
{
    if (isnan(u) || u < 0.0 || u > 1.0)
        return DS_NAN;
    double x, y;
    ds_dist_beta_inc_inv_pair(a, b, u, 1.0 - u, &x, &y);
    return x;
}
