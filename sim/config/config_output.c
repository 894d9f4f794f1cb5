/* sim/config/config_output.c
 * The section `output` of a scenario: the file, what is written per trial,
 * the quantiles, the histogram bins and the compression.
 * Licence: see LICENSE at the top of the repository.
 *
 * Read after round, investors and compute: output.per_trial knows the
 * valuation outputs only when round.pre_money is given.  Every key has its
 * default filled here (the file results/<name>.h5, the nine default
 * quantiles, 100 bins, no compression, conditional on), so the effective
 * scenario (config_emit.c) can write them all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "dealsim/outputs.h"

/* Histogram bins are bounded to keep a run's memory sane. */
#define DS_CFG_MAX_HISTOGRAM_BINS 100000

static const char *const k_output_keys[] = {"file",        "per_trial",        "price_paths",
                                            "sensitivity", "per_trial_inputs", "quantiles",
                                            "histogram_bins", "compression", "conditional"};

static const double k_default_quantiles[] = {0.01, 0.05, 0.1,  0.25, 0.5,
                                             0.75, 0.9,  0.95, 0.99};

static ds_status config_read_per_trial(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                       ds_scenario *sc)
{
    const char *path = "output.per_trial";
    /* The catalogue's names (outputs.h); the valuation outputs are last and
     * known only with a valuation. */
    const char *k_scalar_outputs[DS_OUT_COUNT];
    size_t n_known = 0;
    for (int o = 0; o < DS_OUT_COUNT; ++o)
        if (sc->has_pre_money || !ds_output_get_info((ds_output)o)->needs_valuation)
            k_scalar_outputs[n_known++] = ds_output_get_info((ds_output)o)->name;
    if (node->type == DS_CFG_SCALAR) {
        int all = 0;
        DS_TRY(ds_config_get_bool(ctx, node, path, &all));
        sc->per_trial_kind = all ? DS_PER_TRIAL_ALL : DS_PER_TRIAL_NONE;
        return DS_OK;
    }
    if (node->type != DS_CFG_SEQ)
        return ds_config_expected(ctx, node, path, "false, true or a list of output names");
    if (node->n == 0)
        return DS_OK; /* an empty list asks for nothing, like false */
    if (node->n > (size_t)DS_OUT_COUNT)
        return ds_config_error(ctx, node, "%s: expected at most %zu names, found %zu", path,
                               n_known, node->n);
    sc->per_trial = calloc(node->n, sizeof *sc->per_trial);
    if (!sc->per_trial)
        return ds_config_nomem(ctx);
    sc->per_trial_kind = DS_PER_TRIAL_LIST;
    char ipath[DS_CFG_PATH_MAX];
    for (size_t i = 0; i < node->n; ++i) {
        const ds_cfg_node *it = node->items[i];
        ds_config_path_index(ipath, sizeof ipath, path, i);
        const char *name = NULL;
        DS_TRY(ds_config_get_string(ctx, it, ipath, &name));
        size_t k = 0;
        while (k < n_known && strcmp(name, k_scalar_outputs[k]) != 0)
            ++k;
        if (k == n_known) {
            char q[96], hint[128] = "";
            ds_config_quote(it->text, it->len, q, sizeof q);
            const char *best = ds_config_closest(name, k_scalar_outputs, n_known);
            if (best)
                snprintf(hint, sizeof hint, "; did you mean \"%s\"?", best);
            int valuation_only = !sc->has_pre_money &&
                                 (!strcmp(name, "post_money") || !strcmp(name, "stake_total"));
            return ds_config_error(ctx, it, "%s: expected the name of a scalar output "
                                   "(MODEL.md section 4), found %s%s%s",
                                   ipath, q, hint,
                                   valuation_only ? " (it needs round.pre_money)" : "");
        }
        for (size_t j = 0; j < sc->n_per_trial; ++j)
            if (!strcmp(sc->per_trial[j], name))
                return ds_config_error(ctx, it, "%s: expected each output once, found \"%s\" "
                                       "again", ipath, name);
        if (!(sc->per_trial[i] = ds_config_strdup(name)))
            return ds_config_nomem(ctx);
        sc->n_per_trial = i + 1;
    }
    return DS_OK;
}

static ds_status config_read_quantiles(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                       ds_scenario *sc)
{
    const char *path = "output.quantiles";
    char what[128];
    snprintf(what, sizeof what, "a list of 1 to %d increasing probabilities in (0, 1)",
             DS_MAX_QUANTILES);
    if (node->type != DS_CFG_SEQ || node->n == 0)
        return ds_config_expected(ctx, node, path, what);
    if (node->n > DS_MAX_QUANTILES)
        return ds_config_error(ctx, node->items[DS_MAX_QUANTILES], "%s: expected %s, found %zu",
                               path, what, node->n);
    free(sc->quantiles);
    sc->n_quantiles = 0;
    sc->quantiles = calloc(node->n, sizeof *sc->quantiles);
    if (!sc->quantiles)
        return ds_config_nomem(ctx);
    char ipath[DS_CFG_PATH_MAX];
    for (size_t i = 0; i < node->n; ++i) {
        ds_config_path_index(ipath, sizeof ipath, path, i);
        double q = 0;
        if (i == 0) {
            DS_TRY(ds_config_get_number_in(ctx, node->items[i], ipath, 0, 1, 1, 1, NULL, &q));
        } else {
            char why[64], prev[40];
            ds_config_format_double(sc->quantiles[i - 1], prev, sizeof prev);
            if (snprintf(why, sizeof why, "greater than the one before, %s", prev) < 0)
                why[0] = '\0';
            DS_TRY(ds_config_get_number_in(ctx, node->items[i], ipath, sc->quantiles[i - 1], 1,
                                           1, 1, why, &q));
        }
        sc->quantiles[i] = q;
        sc->n_quantiles = i + 1;
    }
    return DS_OK;
}

static ds_status config_read_compression(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                         ds_scenario *sc)
{
    const char *what = "none, deflate or deflate:N with N from 1 to 9";
    if (!node || node->type != DS_CFG_SCALAR)
        return ds_config_expected(ctx, node, "output.compression", what);
    const char *t = node->text;
    if (!strcmp(t, "none"))
        sc->compression = -1;
    else if (!strcmp(t, "deflate"))
        sc->compression = 1;
    else if (!strncmp(t, "deflate:", 8) && t[8] >= '1' && t[8] <= '9' && t[9] == '\0')
        sc->compression = t[8] - '0';
    else
        return ds_config_expected(ctx, node, "output.compression", what);
    return DS_OK;
}

ds_status ds_config_read_output(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                ds_scenario *sc)
{
    const ds_cfg_node *map = ds_config_map_get(root, "output", NULL), *v;
    if (map) {
        DS_TRY(ds_config_get_map(ctx, map, "output",
                                 "a mapping {file, per_trial, price_paths, sensitivity, "
                                 "per_trial_inputs, conditional, quantiles, histogram_bins, "
                                 "compression}"));
        DS_TRY(ds_config_check_keys(ctx, map, "output", k_output_keys,
                                    DS_CFG_COUNT(k_output_keys)));
    }
    if ((v = ds_config_map_get(map, "file", NULL))) {
        const char *f = NULL;
        DS_TRY(ds_config_get_string(ctx, v, "output.file", &f));
        if (!f[0])
            return ds_config_expected(ctx, v, "output.file", "a file name");
        if (!(sc->output_file = ds_config_strdup(f)))
            return ds_config_nomem(ctx);
    } else {
        size_t n = strlen(sc->name) + sizeof "results/.h5";
        if (!(sc->output_file = malloc(n)))
            return ds_config_nomem(ctx);
        snprintf(sc->output_file, n, "results/%s.h5", sc->name);
    }
    if ((v = ds_config_map_get(map, "per_trial", NULL)))
        DS_TRY(config_read_per_trial(ctx, v, sc));
    if ((v = ds_config_map_get(map, "price_paths", NULL)))
        DS_TRY(ds_config_get_bool(ctx, v, "output.price_paths", &sc->price_paths));
    if ((v = ds_config_map_get(map, "sensitivity", NULL)))
        DS_TRY(ds_config_get_bool(ctx, v, "output.sensitivity", &sc->sensitivity));
    if ((v = ds_config_map_get(map, "per_trial_inputs", NULL)))
        DS_TRY(ds_config_get_bool(ctx, v, "output.per_trial_inputs", &sc->per_trial_inputs));
    sc->conditional = 1;
    if ((v = ds_config_map_get(map, "conditional", NULL)))
        DS_TRY(ds_config_get_bool(ctx, v, "output.conditional", &sc->conditional));
    if ((v = ds_config_map_get(map, "quantiles", NULL))) {
        DS_TRY(config_read_quantiles(ctx, v, sc));
    } else {
        sc->quantiles = malloc(sizeof k_default_quantiles);
        if (!sc->quantiles)
            return ds_config_nomem(ctx);
        memcpy(sc->quantiles, k_default_quantiles, sizeof k_default_quantiles);
        sc->n_quantiles = DS_CFG_COUNT(k_default_quantiles);
    }
    sc->histogram_bins = 100;
    if ((v = ds_config_map_get(map, "histogram_bins", NULL))) {
        uint64_t b = 0;
        DS_TRY(ds_config_get_uint(ctx, v, "output.histogram_bins", 1,
                                  DS_CFG_MAX_HISTOGRAM_BINS, &b));
        sc->histogram_bins = (int)b;
    }
    sc->compression = -1;
    if ((v = ds_config_map_get(map, "compression", NULL)))
        DS_TRY(config_read_compression(ctx, v, sc));
    return DS_OK;
}
