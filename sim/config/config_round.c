/* sim/config/config_round.c
 * The sections `round` and `investors` (with each investor's `tranches`) of
 * a scenario.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants: an investor's tranches are allocated and initialised (a fixed
 * month) before any is read, and n_investors / n_tranches count what is
 * allocated, so a failure part way leaves a scenario that ds_scenario_free
 * frees whole.  Tranche shares are summed with Neumaier compensation and must
 * sum to 1 within DS_CFG_SHARE_SUM_TOL; investor names are unique.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

/* Shares of an investor's tranches must sum to 1 within this (CONFIG.md). */
#define DS_CFG_SHARE_SUM_TOL 1e-9

static const char *const k_round_keys[] = {"target", "cap", "minimum_close", "pre_money"};
static const char *const k_investor_keys[] = {"name", "join_probability", "amount",
                                              "round_trip", "tranches"};
static const char *const k_tranche_keys[] = {"share", "month", "probability"};

ds_status ds_config_read_round(const ds_cfg_ctx *ctx, const ds_cfg_node *key,
                               const ds_cfg_node *map, ds_scenario *sc)
{
    const char *path = "round";
    DS_TRY(ds_config_get_map(ctx, map, path, "a mapping with target (and cap, minimum_close, "
                                             "pre_money)"));
    DS_TRY(ds_config_check_keys(ctx, map, path, k_round_keys, DS_CFG_COUNT(k_round_keys)));
    const ds_cfg_node *v;
    if (!(v = ds_config_map_get(map, "target", NULL)))
        return ds_config_missing(ctx, ds_config_anchor(key, map), path, "target",
                                 "a number > 0, in $B");
    DS_TRY(ds_config_get_number_in(ctx, v, "round.target", 0, 1, HUGE_VAL, 0, "$B",
                                   &sc->target));
    if ((v = ds_config_map_get(map, "cap", NULL))) {
        DS_TRY(ds_config_get_number_in(ctx, v, "round.cap", 0, 1, HUGE_VAL, 0, "$B", &sc->cap));
        sc->has_cap = 1;
    }
    if ((v = ds_config_map_get(map, "minimum_close", NULL))) {
        DS_TRY(ds_config_get_number_in(ctx, v, "round.minimum_close", 0, 0, HUGE_VAL, 0, "$B",
                                       &sc->minimum_close));
        sc->has_minimum_close = 1;
    }
    if ((v = ds_config_map_get(map, "pre_money", NULL))) {
        DS_TRY(ds_config_read_dist(ctx, v, "round.pre_money", DS_CFG_SUPPORT_POSITIVE,
                                   "a valuation is positive", &sc->pre_money));
        sc->has_pre_money = 1;
    }
    return DS_OK;
}

static ds_status config_read_tranches(const ds_cfg_ctx *ctx, const ds_cfg_node *key,
                                      const ds_cfg_node *seq, const char *ipath,
                                      ds_investor *inv)
{
    char path[DS_CFG_PATH_MAX], tpath[DS_CFG_PATH_MAX], kpath[DS_CFG_PATH_MAX];
    ds_config_path_key(path, sizeof path, ipath, "tranches");
    char what[128];
    snprintf(what, sizeof what, "a list of 1 to %d tranches {share, month, probability}",
             DS_MAX_TRANCHES);
    if (!seq || seq->type != DS_CFG_SEQ || seq->n == 0)
        return ds_config_expected(ctx, seq, path, what);
    if (seq->n > DS_MAX_TRANCHES) {
        char found[64];
        snprintf(found, sizeof found, "%zu entries", seq->n);
        return ds_config_error(ctx, seq->items[DS_MAX_TRANCHES], "%s: expected %s, found %s",
                               path, what, found);
    }
    inv->tranches = calloc(seq->n, sizeof *inv->tranches);
    if (!inv->tranches)
        return ds_config_nomem(ctx);
    for (size_t k = 0; k < seq->n; ++k)
        ds_dist_init(&inv->tranches[k].month, DS_DIST_FIXED);
    inv->n_tranches = seq->n;

    /* Shares are summed with Neumaier compensation so that the 1e-9
     * tolerance judges the file's numbers, not rounding. */
    double sum = 0, comp = 0;
    for (size_t k = 0; k < seq->n; ++k) {
        const ds_cfg_node *t = seq->items[k], *v;
        ds_tranche *tr = &inv->tranches[k];
        ds_config_path_index(tpath, sizeof tpath, path, k);
        DS_TRY(ds_config_get_map(ctx, t, tpath, "a mapping {share, month, probability}"));
        DS_TRY(ds_config_check_keys(ctx, t, tpath, k_tranche_keys,
                                    DS_CFG_COUNT(k_tranche_keys)));
        if (!(v = ds_config_map_get(t, "share", NULL)))
            return ds_config_missing(ctx, t, tpath, "share", "a number in [0, 1]");
        ds_config_path_key(kpath, sizeof kpath, tpath, "share");
        DS_TRY(ds_config_get_number_in(ctx, v, kpath, 0, 0, 1, 0, "a fraction of the amount",
                                       &tr->share));
        if (!(v = ds_config_map_get(t, "month", NULL)))
            return ds_config_missing(ctx, t, tpath, "month",
                                     "a month number or a distribution of it");
        ds_config_path_key(kpath, sizeof kpath, tpath, "month");
        DS_TRY(ds_config_read_dist(ctx, v, kpath, DS_CFG_SUPPORT_ANY, NULL, &tr->month));
        tr->probability = 1;
        if ((v = ds_config_map_get(t, "probability", NULL))) {
            ds_config_path_key(kpath, sizeof kpath, tpath, "probability");
            DS_TRY(ds_config_get_number_in(ctx, v, kpath, 0, 0, 1, 0,
                                           "a fixed probability that the tranche's "
                                           "condition is met",
                                           &tr->probability));
        }
        double t2 = sum + tr->share;
        comp += fabs(sum) >= fabs(tr->share) ? (sum - t2) + tr->share : (tr->share - t2) + sum;
        sum = t2;
    }
    sum += comp;
    if (!(fabs(sum - 1.0) <= DS_CFG_SHARE_SUM_TOL)) {
        char s[40];
        ds_config_format_double(sum, s, sizeof s);
        return ds_config_error(ctx, ds_config_anchor(key, seq),
                               "%s: expected shares that sum to 1 (within 1e-9), found a sum "
                               "of %s",
                               path, s);
    }
    return DS_OK;
}

static ds_status config_read_investor(const ds_cfg_ctx *ctx, const ds_cfg_node *map,
                                      const char *path, ds_investor *inv)
{
    char kpath[DS_CFG_PATH_MAX];
    const ds_cfg_node *v, *key;
    DS_TRY(ds_config_get_map(ctx, map, path,
                             "a mapping {name, join_probability, amount, round_trip, tranches}"));
    DS_TRY(ds_config_check_keys(ctx, map, path, k_investor_keys,
                                DS_CFG_COUNT(k_investor_keys)));
    const char *name = NULL;
    if (!(v = ds_config_map_get(map, "name", NULL)))
        return ds_config_missing(ctx, map, path, "name", "a name of letters, digits and '_'");
    ds_config_path_key(kpath, sizeof kpath, path, "name");
    DS_TRY(ds_config_get_name(ctx, v, kpath, 0, &name));
    if (!(inv->name = ds_config_strdup(name)))
        return ds_config_nomem(ctx);

    if (!(v = ds_config_map_get(map, "join_probability", NULL)))
        return ds_config_missing(ctx, map, path, "join_probability", "a number in [0, 1]");
    ds_config_path_key(kpath, sizeof kpath, path, "join_probability");
    DS_TRY(ds_config_get_number_in(ctx, v, kpath, 0, 0, 1, 0,
                                   "a fixed probability; correlate join.<name> for dependence",
                                   &inv->join_probability));

    if (!(v = ds_config_map_get(map, "amount", NULL)))
        return ds_config_missing(ctx, map, path, "amount",
                                 "a number or a distribution with support >= 0, in $B");
    ds_config_path_key(kpath, sizeof kpath, path, "amount");
    DS_TRY(ds_config_read_dist(ctx, v, kpath, DS_CFG_SUPPORT_NONNEG,
                               "an amount cannot be negative", &inv->amount));

    if ((v = ds_config_map_get(map, "round_trip", NULL))) {
        ds_config_path_key(kpath, sizeof kpath, path, "round_trip");
        DS_TRY(ds_config_read_dist(ctx, v, kpath, DS_CFG_SUPPORT_UNIT,
                                   "a fraction of the money paid", &inv->round_trip));
    }

    if ((v = ds_config_map_get(map, "tranches", &key)))
        return config_read_tranches(ctx, key, v, path, inv);
    /* Default: everything at month 0, unconditionally. */
    inv->tranches = calloc(1, sizeof *inv->tranches);
    if (!inv->tranches)
        return ds_config_nomem(ctx);
    inv->n_tranches = 1;
    inv->tranches[0].share = 1;
    ds_dist_init_fixed(&inv->tranches[0].month, 0);
    inv->tranches[0].probability = 1;
    return ds_config_prepare_fixed(ctx, &inv->tranches[0].month);
}

ds_status ds_config_read_investors(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                   ds_scenario *sc)
{
    const ds_cfg_node *key, *seq = ds_config_map_get(root, "investors", &key);
    char what[96], path[DS_CFG_PATH_MAX];
    snprintf(what, sizeof what, "a list of 1 to %d investors", DS_MAX_INVESTORS);
    if (!seq)
        return ds_config_missing(ctx, root, "", "investors", what);
    if (seq->type != DS_CFG_SEQ)
        return ds_config_expected(ctx, seq, "investors", what);
    if (seq->n == 0)
        return ds_config_error(ctx, seq, "investors: expected %s, found an empty list", what);
    if (seq->n > DS_MAX_INVESTORS)
        return ds_config_error(ctx, seq->items[DS_MAX_INVESTORS],
                               "investors: expected %s, found %zu", what, seq->n);
    sc->investors = calloc(seq->n, sizeof *sc->investors);
    if (!sc->investors)
        return ds_config_nomem(ctx);
    for (size_t i = 0; i < seq->n; ++i) {
        ds_dist_init(&sc->investors[i].amount, DS_DIST_FIXED);
        ds_dist_init_fixed(&sc->investors[i].round_trip, 0);
    }
    sc->n_investors = seq->n;
    for (size_t i = 0; i < seq->n; ++i) {
        ds_config_path_index(path, sizeof path, "investors", i);
        DS_TRY(config_read_investor(ctx, seq->items[i], path, &sc->investors[i]));
        DS_TRY(ds_config_prepare_fixed(ctx, &sc->investors[i].round_trip));
        for (size_t j = 0; j < i; ++j) {
            if (strcmp(sc->investors[j].name, sc->investors[i].name) == 0) {
                const ds_cfg_node *nm = ds_config_map_get(seq->items[i], "name", NULL);
                char found[96];
                ds_config_found(nm, found, sizeof found);
                return ds_config_error(ctx, nm,
                                       "%s.name: expected a name no other investor has, "
                                       "found %s again (investors[%zu] has it)",
                                       path, found, j);
            }
        }
    }
    return DS_OK;
}
