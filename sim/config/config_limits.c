/* sim/config/config_limits.c
 * The limits across keys that keep a trial finite and its work bounded: the
 * sum of the investors' amounts, the jump rate, the log price (config.h).
 * Licence: see LICENSE at the top of the repository.
 *
 * Each distribution alone is already within +-DS_MAX_MAGNITUDE
 * (config_dist.c); here the bounds that combine several are checked, each
 * term at its reach (ds_config_dist_reach), so that a scenario that passes
 * cannot draw an infinity or a NaN except with a probability below about
 * DS_TAIL_PROBABILITY per draw, and then only near the limits.  Why the
 * price bound is safe: the kernel's log price is
 *   ln p0 + mu t + d_m,  d_m = (1 - kappa dt) d_{m-1} + vol sqrt(dt) eps + J_m
 * with 0 <= kappa < 12, so 0 < 1 - kappa dt <= 1 and |d_m| never exceeds the
 * sum of the increments' sizes; the Gaussian part of that sum has standard
 * deviation vol sqrt(H/12) (taken DS_PRICE_SDS times: the shocks' sampler
 * has tails heavier than its 1e-15 quantile in the far reach), the jumps
 * number Poisson(rate H/12), whose 1 - 1e-15 quantile is below
 * N + 8 sqrt(N) + 16 (checked with scipy for N from 1e-3 to 6e6).
 */
#include <math.h>
#include <stdio.h>

#include "config_internal.h"
#include "dealsim/dsmath.h"

static double config_absmax(const ds_dist *d)
{
    double lo, hi;
    ds_config_dist_reach(d, &lo, &hi);
    return fmax(fabs(lo), fabs(hi));
}

/* The reach of ln x for a positive distribution: its lower end, when the
 * support starts at 0 (a lognormal), is the tail quantile instead. */
static double config_log_absmax(const ds_dist *d)
{
    double lo, hi;
    ds_config_dist_reach(d, &lo, &hi);
    if (!(lo > 0))
        lo = ds_dist_quantile(d, DS_TAIL_PROBABILITY);
    return fmax(fabs(ds_log(lo)), fabs(ds_log(hi)));
}

static const ds_cfg_node *config_node(const ds_cfg_node *root, const char *a, const char *b,
                                      const char *c)
{
    const ds_cfg_node *k = NULL, *n = ds_config_map_get(root, a, &k);
    const ds_cfg_node *at = ds_config_anchor(k, n);
    if (b && n && n->type == DS_CFG_MAP) {
        n = ds_config_map_get(n, b, &k);
        at = n ? ds_config_anchor(k, n) : at;
    }
    if (c && n && n->type == DS_CFG_MAP) {
        n = ds_config_map_get(n, c, &k);
        at = n ? ds_config_anchor(k, n) : at;
    }
    return at ? at : root;
}

ds_status ds_config_check_limits(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                 const ds_scenario *sc)
{
    char a[40], b[40], c[40], d[40], e[40];

    /* Total = sum of the amounts: each within 1e300 but 64 of them could
     * still overflow, and total feeds every sum after it. */
    double amounts = 0;
    for (size_t i = 0; i < sc->n_investors; ++i) {
        double lo, hi;
        ds_config_dist_reach(&sc->investors[i].amount, &lo, &hi);
        amounts += hi;
    }
    if (!(amounts <= DS_MAX_MAGNITUDE)) {
        ds_config_format_double(amounts, a, sizeof a);
        return ds_config_error(ctx, config_node(root, "investors", NULL, NULL),
                               "investors: the amounts can sum to %s, beyond the limit of 1e300 "
                               "that keeps totals finite (upper ends of the supports, or the "
                               "1 - 1e-15 quantiles where unbounded)",
                               a);
    }

    /* The jump rate bounds the work of a trial: the kernel draws every jump. */
    const double months = (double)sc->horizon, years = months / 12.0;
    double rate = 0;
    if (sc->has_jumps) {
        double lo;
        ds_config_dist_reach(&sc->jump_rate, &lo, &rate);
        if (!(rate / 12.0 <= DS_MAX_JUMPS_PER_MONTH)) {
            ds_config_format_double(rate, a, sizeof a);
            ds_config_format_double(rate / 12.0, b, sizeof b);
            return ds_config_error(ctx, config_node(root, "compute", "price", "jumps"),
                                   "compute.price.jumps.rate: a rate of %s a year allows %s "
                                   "expected jumps a month, more than the limit of %g (the "
                                   "work of a trial grows with the jumps)",
                                   a, b, DS_MAX_JUMPS_PER_MONTH);
        }
    }

    /* The log price, term by term (see the top of the file). */
    double t_p0 = config_log_absmax(&sc->price_initial);
    double t_mu = config_absmax(&sc->price_drift) * years;
    double t_vol = DS_PRICE_SDS * config_absmax(&sc->price_volatility) * sqrt(years);
    double t_jump = 0;
    if (sc->has_jumps) {
        double n = rate * years;
        t_jump = config_absmax(&sc->jump_size) * (n + DS_TAIL_SDS * sqrt(n) + 2.0 * DS_TAIL_SDS);
    }
    double bound = t_p0 + t_mu + t_vol + t_jump;
    double money = amounts > 1 ? ds_log(amounts) : 0;
    if (!(bound <= DS_MAX_LOG_PRICE) || !(bound + money <= DS_MAX_LOG_PRICE)) {
        ds_config_format_double(t_p0, a, sizeof a);
        ds_config_format_double(t_mu, b, sizeof b);
        ds_config_format_double(t_vol, c, sizeof c);
        ds_config_format_double(t_jump, d, sizeof d);
        ds_config_format_double(bound + money, e, sizeof e);
        return ds_config_error(ctx, config_node(root, "compute", "price", NULL),
                               "compute.price: the log price can reach +-%s (|ln initial| %s + "
                               "|drift| H/12 %s + %g volatility sqrt(H/12) %s + jumps %s, plus "
                               "ln of the amounts' sum for money / price), beyond the limit of "
                               "%g that keeps exp and money / price finite",
                               e, a, b, DS_PRICE_SDS, c, d, DS_MAX_LOG_PRICE);
    }
    return DS_OK;
}
