/* include/dealsim/dist_cdftab.h
 * A fast CDF by table for distributions whose exact CDF is expensive (BETA
 * and PERT: the regularised incomplete beta by continued fraction), for the
 * sensitivity ranks U = F(x) (sim/stats/sensitivity.c).
 * Licence: see LICENSE at the top of the repository.
 *
 * The table holds the exact CDF F and the density f (in the unit variable
 * t = (x - min) / (max - min)) at the DS_CDFTAB_N + 1 knots t_i = i / N; on
 * an interval between knots F is the cubic Hermite interpolant of F and
 * f / N at its two ends.  The interpolation error on [t_i, t_i+1] is at most
 * max|f'''| / (384 N^4) (the Hermite remainder); ds_cdftab_build bounds
 * max|f'''| on each interval from the shapes (f''' = f (g'^3 + 3 g' g'' +
 * g''') with g = ln f) and marks the interval usable only when that bound is
 * at most DS_CDFTAB_TOL.  Elsewhere (the first and last few dozen intervals
 * when a shape is not 1, where the bound grows without limit; more for very
 * peaked shapes) ds_cdftab_eval returns the exact ds_dist_cdf, bit for bit.
 * So |ds_cdftab_eval - F| <= DS_CDFTAB_TOL plus the exact CDF's own error
 * and a few ulp of rounding: below 1e-10 (tests/dist/test_dist_cdftab.c
 * checks 2e-11 on 2.6 million points over 44 shapes; the largest seen is
 * 9.6e-12, for a shape 0.5; 1e-14 to 3e-12 for shapes >= 1).  The memory:
 * ds_cdftab_bytes(), 68 KB a table.
 *
 * The evaluation uses only + - * / and compares (no libm, no FMA: the
 * project builds with -ffp-contract=off), and the table is built by the
 * project's own special functions, so the bits are the same on every CPU,
 * scalar or vectorised, and for every thread count.
 */
#ifndef DEALSIM_DIST_CDFTAB_H
#define DEALSIM_DIST_CDFTAB_H

#include <stddef.h>

#include "dealsim/dist.h"

/* Intervals of a table (a power of 2, so t N is exact). */
#define DS_CDFTAB_N 4096
/* The largest interpolation error bound accepted on an interval. */
#define DS_CDFTAB_TOL 1e-11

typedef struct ds_cdftab {
    const ds_dist *dist; /* the exact CDF, for the intervals not tabled */
    double lo, hi, w;    /* the range tabled [lo, hi], w = hi - lo (in ln x if logx) */
    int logx;            /* LOGNORMAL: the table's variable is ln x */
    double *knot;        /* [N + 1][2]: F(t_i), f(t_i) / N; owned */
    unsigned char *ok;   /* [N]: 1 where the interval is interpolated; owned */
    size_t n_ok;         /* how many intervals are */
} ds_cdftab;

/* The heap bytes of one table (what ds_cdftab_build allocates). */
size_t ds_cdftab_bytes(void);

/* True when d (prepared) is of a kind the table serves (BETA, PERT with a
 * finite support) -- whether or not any interval turns out usable. */
int ds_cdftab_applies(const ds_dist *d);

/* Builds t for d (prepared; kept by pointer, it must outlive t).  Returns
 * DS_OK, or DS_ERR_NOMEM (t then owns nothing); for a d the table does not
 * serve every interval falls back (n_ok = 0, nothing allocated). */
ds_status ds_cdftab_build(ds_cdftab *t, const ds_dist *d);

/* Frees what t owns; t may be NULL. */
void ds_cdftab_free(ds_cdftab *t);

/* F(x) for n values x[] into u[] (u may not alias x); for a d without a
 * table, ds_dist_cdf's values bit for bit (a UNIFORM by its formula inline). */
void ds_cdftab_eval(const ds_cdftab *t, const double *x, size_t n, double *u);

#endif /* DEALSIM_DIST_CDFTAB_H */
