/* include/dealsim/dist.h
 * The distributions of MODEL.md section 2: exact samplers, inverse CDFs,
 * truncation by conditioning, nested mixtures, supports.
 * Licence: see LICENSE at the top of the repository.
 *
 * A ds_dist is a plain value tree filled by the scenario loader (or by hand in
 * tests), then checked and prepared once by ds_dist_prepare(), which validates
 * the parameters and precomputes constants (truncation masses, normalised
 * weights, Beta shape parameters of PERT).  After that every function here is
 * pure and thread-safe: a prepared ds_dist is only read.
 *
 * Parameter fields by kind (unused fields are ignored):
 *   FIXED       value
 *   UNIFORM     min < max
 *   TRIANGULAR  min <= mode <= max, min < max
 *   PERT        min <= mode <= max, min < max, lambda > 0 (4 when NaN)
 *   BETA        alpha > 0, beta > 0, on [min, max] (0 and 1 when NaN)
 *   NORMAL      mean, sd > 0, truncated to [min, max] (min = -inf, max = +inf
 *               when absent)
 *   LOGNORMAL   median > 0, sigma > 0 (sd of log), truncated to [min, max]
 *               (0 and +inf when absent)
 *   BERNOULLI   p in [0, 1]
 *   DISCRETE    n values[], weights[] >= 0 not all 0
 *   MIXTURE     n components[], weights[] >= 0 not all 0
 *
 * "Inversion" (ds_dist_quantile) is accurate to DS_DIST_INV_RTOL relative;
 * ds_dist_sample may use any exact method (ziggurat, Marsaglia-Tsang, ...).
 */
#ifndef DEALSIM_DIST_H
#define DEALSIM_DIST_H

#include <stddef.h>

#include "dealsim/error.h"
#include "dealsim/rng.h"

/* Relative accuracy promised by every inverse CDF. */
#define DS_DIST_INV_RTOL 1e-10
/* Mixtures may nest at most this deep (the loader rejects deeper ones). */
#define DS_DIST_MAX_DEPTH 16

typedef enum {
    DS_DIST_FIXED = 0,
    DS_DIST_UNIFORM,
    DS_DIST_TRIANGULAR,
    DS_DIST_PERT,
    DS_DIST_BETA,
    DS_DIST_NORMAL,
    DS_DIST_LOGNORMAL,
    DS_DIST_BERNOULLI,
    DS_DIST_DISCRETE,
    DS_DIST_MIXTURE,
    DS_DIST_KIND_COUNT
} ds_dist_kind;

typedef struct ds_dist ds_dist;

struct ds_dist {
    ds_dist_kind kind;
    /* Parameters (see the table above). */
    double value;
    double min, max;
    double mode, lambda;
    double alpha, beta;
    double mean, sd;
    double median, sigma;
    double p;
    size_t n;            /* DISCRETE: values; MIXTURE: components */
    double *values;      /* DISCRETE, owned */
    double *weights;     /* DISCRETE and MIXTURE, owned */
    ds_dist *components; /* MIXTURE, owned array of n */

    /* Derived by ds_dist_prepare(); do not set by hand. */
    int prepared;
    double a, b;        /* BETA/PERT: shape parameters; others: scratch */
    double cdf_lo;      /* NORMAL/LOGNORMAL: Phi at the lower bound (standardised) */
    double cdf_hi;      /* ... and at the upper bound */
    double sf_lo, sf_hi; /* the complements 1-Phi, kept for far upper tails */
    double *cum;        /* MIXTURE: n cumulative normalised weights; DISCRETE: 2n doubles,
                         * the cumulative weights of the values sorted ascending, then
                         * those sorted values (so the quantile is monotone); owned */
    double c[8];        /* sampler constants, private to dist.c */
};

/* Sets d to FIXED value v (a convenience for defaults). */
void ds_dist_init_fixed(ds_dist *d, double v);

/* Initialises every field to "absent": kind FIXED, value 0, min/max/lambda/
 * alpha/beta NaN, pointers NULL.  Call before filling a ds_dist by hand. */
void ds_dist_init(ds_dist *d, ds_dist_kind kind);

/* Validates the parameters and precomputes constants.  On error returns
 * DS_ERR_SCENARIO with a message naming the parameter, what was expected and
 * what was found, e.g. "min (5) must be less than max (3)"; the message has no
 * file position (the loader adds it).  Idempotent. */
ds_status ds_dist_prepare(ds_dist *d, ds_diag *diag);

/* Frees what d owns (recursively) and leaves it FIXED 0.  d may be NULL. */
void ds_dist_clear(ds_dist *d);

/* Deep copy of src into dst (dst uninitialised).  DS_ERR_NOMEM on failure,
 * dst then holds nothing to free. */
ds_status ds_dist_copy(ds_dist *dst, const ds_dist *src);

/* One draw by an exact method, consuming the stream as it needs. */
double ds_dist_sample(const ds_dist *d, ds_rng *r);
/* n draws of ds_dist_sample(d, r) in order into v (the same values). */
void ds_dist_sample_n(const ds_dist *d, ds_rng *r, double *v, size_t n);

/* The inverse CDF at u in (0, 1) (u = 0 and 1 give the support's ends). */
double ds_dist_quantile(const ds_dist *d, double u);

/* The CDF at x. */
double ds_dist_cdf(const ds_dist *d, double x);

/* The closed hull [lo, hi] of the support (may be infinite). */
void ds_dist_support(const ds_dist *d, double *lo, double *hi);

/* True when the distribution is a constant (FIXED, or degenerate). */
int ds_dist_is_fixed(const ds_dist *d);

/* The mean of the distribution (exact where a closed form exists). */
double ds_dist_mean(const ds_dist *d);

/* The name used in scenario files ("uniform", ...), and back. */
const char *ds_dist_kind_name(ds_dist_kind kind);
int ds_dist_kind_from_name(const char *name, ds_dist_kind *kind); /* 1 if known */

/* ---- Building blocks, exported for the model and the tests ---- */

/* Standard normal by the ziggurat method (Marsaglia & Tsang 2000, 256 layers
 * with exact tail sampling). */
double ds_rand_normal(ds_rng *r);
/* n draws of ds_rand_normal(r) in order into out (the same values, faster). */
void ds_rand_normals(ds_rng *r, double *out, size_t n);
/* The same n draws into out[k * stride] (a column of a row-major array). */
void ds_rand_normals_strided(ds_rng *r, double *out, size_t n, size_t stride);
/* Standard exponential (ziggurat or inversion; exact). */
double ds_rand_exponential(ds_rng *r);
/* A compound Poisson process of `rate` events per unit time on
 * (0, bins * width], each event's size a draw of ds_dist_sample(size, r),
 * summed by bin: out[j * stride] = the sum of the sizes of the events in
 * ((j) width, (j + 1) width] (an event at t goes to the first j with
 * t <= (j + 1) width, compared exactly); bins without an event are left as
 * they are.  The draws, in order: an exponential gap (ds_rand_exponential
 * / rate), then for each event within the horizon its size and the next
 * gap.  Nothing is drawn when rate <= 0 (or NaN). */
void ds_rand_compound_poisson(ds_rng *r, double rate, const ds_dist *size, size_t bins,
                              double width, double *out, size_t stride);
/* Gamma(shape, 1) by Marsaglia & Tsang (2000), with the u^(1/shape) boost
 * for shape < 1. */
double ds_rand_gamma(ds_rng *r, double shape);
/* Beta(a, b) from two gammas (or Johnk/Cheng where better). */
double ds_rand_beta(ds_rng *r, double a, double b);
/* Poisson(mean), exact for every mean >= 0. */
unsigned long ds_rand_poisson(ds_rng *r, double mean);

/* Standard normal CDF and its complement, accurate in both tails. */
double ds_norm_cdf(double x);
double ds_norm_sf(double x);
/* u[i] = ds_norm_cdf(x[i]), the same bits (u may be x). */
void ds_vec_norm_cdf(const double *x, double *u, size_t n);
/* Inverse standard normal CDF, relative error < 1e-15 (Wichura AS 241). */
double ds_norm_ppf(double u);
/* Regularised incomplete beta I_x(a, b) and its inverse (Newton/Halley
 * polished, DS_DIST_INV_RTOL). */
double ds_beta_inc(double a, double b, double x);
double ds_beta_inc_inv(double a, double b, double u);

#endif /* DEALSIM_DIST_H */
