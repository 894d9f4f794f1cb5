/* sim/config/config_compute.c
 * The section `compute` of a scenario: the compute share, the horizon, the
 * spending schedule and the price process (`price`, with its `jumps`).
 * Licence: see LICENSE at the top of the repository.
 *
 * The horizon is read before the schedule, whose list form must have exactly
 * horizon_months weights (not all zero); sc->schedule always holds the
 * horizon's weights once compute is read, whichever form was given.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

static const char *const k_compute_keys[] = {"share", "horizon_months", "schedule", "price"};
static const char *const k_price_keys[] = {"initial", "drift", "volatility", "mean_reversion",
                                           "jumps"};
static const char *const k_jump_keys[] = {"rate", "size"};

static ds_status config_read_schedule(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                      ds_scenario *sc)
{
    size_t h = (size_t)sc->horizon;
    sc->schedule = calloc(h, sizeof *sc->schedule);
    if (!sc->schedule)
        return ds_config_nomem(ctx);
    sc->schedule_kind = DS_SCHEDULE_EVEN;
    char what[128];
    snprintf(what, sizeof what,
             "even, front_loaded or a list of %d weights >= 0 (horizon_months)", sc->horizon);
    if (node && node->type == DS_CFG_SCALAR && !strcmp(node->text, "front_loaded"))
        sc->schedule_kind = DS_SCHEDULE_FRONT_LOADED;
    else if (node && node->type == DS_CFG_SEQ)
        sc->schedule_kind = DS_SCHEDULE_LIST;
    else if (node && !(node->type == DS_CFG_SCALAR && !strcmp(node->text, "even")))
        return ds_config_expected(ctx, node, "compute.schedule", what);

    if (sc->schedule_kind == DS_SCHEDULE_EVEN) {
        for (size_t m = 0; m < h; ++m)
            sc->schedule[m] = 1;
        return DS_OK;
    }
    if (sc->schedule_kind == DS_SCHEDULE_FRONT_LOADED) {
        for (size_t m = 0; m < h; ++m)
            sc->schedule[m] = (double)(h - m); /* w_m = H - m + 1, m from 1 */
        return DS_OK;
    }
    if (node->n != h) {
        char found[64];
        snprintf(found, sizeof found, "a list of %zu weights", node->n);
        return ds_config_error(ctx, node, "compute.schedule: expected %s, found %s", what,
                               found);
    }
    int any = 0;
    char path[DS_CFG_PATH_MAX];
    for (size_t m = 0; m < h; ++m) {
        ds_config_path_index(path, sizeof path, "compute.schedule", m);
        DS_TRY(ds_config_get_number_in(ctx, node->items[m], path, 0, 0, HUGE_VAL, 0,
                                       "a spending weight", &sc->schedule[m]));
        any |= sc->schedule[m] > 0;
    }
    if (!any)
        return ds_config_error(ctx, node,
                               "compute.schedule: expected weights that are not all zero, "
                               "found %zu zeros",
                               h);
    return DS_OK;
}

static ds_status config_read_price(const ds_cfg_ctx *ctx, const ds_cfg_node *key,
                                   const ds_cfg_node *map, ds_scenario *sc)
{
    const ds_cfg_node *v, *jkey;
    DS_TRY(ds_config_get_map(ctx, map, "compute.price",
                             "a mapping {initial, drift, volatility, mean_reversion, jumps}"));
    DS_TRY(ds_config_check_keys(ctx, map, "compute.price", k_price_keys,
                                DS_CFG_COUNT(k_price_keys)));
    if (!(v = ds_config_map_get(map, "initial", NULL)))
        return ds_config_missing(ctx, ds_config_anchor(key, map), "compute.price", "initial",
                                 "a price > 0 in $/GPUh, or a distribution of it");
    DS_TRY(ds_config_read_dist(ctx, v, "compute.price.initial", DS_CFG_SUPPORT_POSITIVE,
                               "a price is positive", &sc->price_initial));
    if ((v = ds_config_map_get(map, "drift", NULL)))
        DS_TRY(ds_config_read_dist(ctx, v, "compute.price.drift", DS_CFG_SUPPORT_ANY, NULL,
                                   &sc->price_drift));
    if ((v = ds_config_map_get(map, "volatility", NULL)))
        DS_TRY(ds_config_read_dist(ctx, v, "compute.price.volatility", DS_CFG_SUPPORT_NONNEG,
                                   "a volatility is not negative", &sc->price_volatility));
    if ((v = ds_config_map_get(map, "mean_reversion", NULL)))
        DS_TRY(ds_config_read_dist(ctx, v, "compute.price.mean_reversion",
                                   DS_CFG_SUPPORT_MEANREV,
                                   "per year; 12 or more overshoots within a month",
                                   &sc->price_mean_reversion));
    if (!(v = ds_config_map_get(map, "jumps", &jkey)))
        return DS_OK;
    DS_TRY(ds_config_get_map(ctx, v, "compute.price.jumps", "a mapping {rate, size}"));
    DS_TRY(ds_config_check_keys(ctx, v, "compute.price.jumps", k_jump_keys,
                                DS_CFG_COUNT(k_jump_keys)));
    const ds_cfg_node *r = ds_config_map_get(v, "rate", NULL);
    if (!r)
        return ds_config_missing(ctx, ds_config_anchor(jkey, v), "compute.price.jumps", "rate",
                                 "jumps per year >= 0, or a distribution of it");
    const ds_cfg_node *s = ds_config_map_get(v, "size", NULL);
    if (!s)
        return ds_config_missing(ctx, ds_config_anchor(jkey, v), "compute.price.jumps", "size",
                                 "the distribution of a jump's log size");
    sc->has_jumps = 1;
    DS_TRY(ds_config_read_dist(ctx, r, "compute.price.jumps.rate", DS_CFG_SUPPORT_NONNEG,
                               "a rate is not negative", &sc->jump_rate));
    return ds_config_read_dist(ctx, s, "compute.price.jumps.size", DS_CFG_SUPPORT_ANY, NULL,
                               &sc->jump_size);
}

ds_status ds_config_read_compute(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                 ds_scenario *sc)
{
    const ds_cfg_node *key, *map = ds_config_map_get(root, "compute", &key), *v, *pkey;
    if (!map)
        return ds_config_missing(ctx, root, "", "compute",
                                 "a mapping {share, horizon_months, schedule, price}");
    DS_TRY(ds_config_get_map(ctx, map, "compute",
                             "a mapping {share, horizon_months, schedule, price}"));
    DS_TRY(ds_config_check_keys(ctx, map, "compute", k_compute_keys,
                                DS_CFG_COUNT(k_compute_keys)));
    if ((v = ds_config_map_get(map, "share", NULL)))
        DS_TRY(ds_config_read_dist(ctx, v, "compute.share", DS_CFG_SUPPORT_UNIT,
                                   "a fraction of the money paid", &sc->compute_share));
    if (!(v = ds_config_map_get(map, "horizon_months", NULL)))
        return ds_config_missing(ctx, ds_config_anchor(key, map), "compute", "horizon_months",
                                 "an integer 1..600");
    uint64_t h = 0;
    DS_TRY(ds_config_get_uint(ctx, v, "compute.horizon_months", 1, DS_MAX_HORIZON, &h));
    sc->horizon = (int)h;
    DS_TRY(config_read_schedule(ctx, ds_config_map_get(map, "schedule", NULL), sc));
    if (!(v = ds_config_map_get(map, "price", &pkey)))
        return ds_config_missing(ctx, ds_config_anchor(key, map), "compute", "price",
                                 "a mapping {initial, drift, volatility, mean_reversion, jumps}");
    return config_read_price(ctx, pkey, v, sc);
}
