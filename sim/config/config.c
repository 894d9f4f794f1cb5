/* sim/config/config.c
 * Scenario loading: the public API of config.h (load, free, find an input),
 * the top level of the scenario and its named inputs.
 * Licence: see LICENSE at the top of the repository.
 *
 * Order of work: read the text (bounded by DS_MAX_SCENARIO_BYTES), parse it
 * into a positioned tree (config_yaml.c), graft the --set overrides
 * (config_set.c), then walk the tree key by key: the top-level keys here,
 * then the sections round and investors (config_round.c), compute
 * (config_compute.c) and output (config_output.c), each key read by one
 * function (config_get.c, config_dist.c) that checks its type, range and
 * support and reports "file:line:col: path: expected ..., found ...";
 * defaults are filled as the walk goes.  Last come the derived parts: the
 * limits across keys (config_limits.c), the named inputs in their canonical
 * order, then the correlations and the copula (config_corr.c).
 * A scenario under construction is always freeable by ds_scenario_free,
 * which is the single cleanup path of every failure.
 */
#define _POSIX_C_SOURCE 200809L /* stat */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_internal.h"

static const char *const k_top_keys[] = {"name",      "description",  "trials",
                                          "seed",      "round",        "investors",
                                          "correlations", "compute",   "output",
                                          "sampling"};

/* ------------------------------------------------------------------------ */
/* Inputs                                                                    */

static ds_status config_add_input(const ds_cfg_ctx *ctx, ds_scenario *sc, const char *name,
                                  ds_input_kind kind, const ds_dist *d)
{
    ds_input *in = &sc->inputs[sc->n_inputs];
    if (!(in->name = ds_config_strdup(name)))
        return ds_config_nomem(ctx);
    in->hash = ds_fnv1a64(name);
    in->kind = kind;
    in->dist = d;
    /* Joins and tranche conditions are uniforms compared with a probability:
     * always drawn, so always correlatable. */
    in->fixed = kind == DS_INPUT_DIST ? ds_dist_is_fixed(d) : 0;
    in->corr_index = -1;
    sc->n_inputs++;
    return DS_OK;
}

static ds_status config_build_inputs(const ds_cfg_ctx *ctx, ds_scenario *sc)
{
    size_t n = 5 + (size_t)sc->has_pre_money + (size_t)sc->has_jumps;
    for (size_t i = 0; i < sc->n_investors; ++i)
        n += 3 + 2 * sc->investors[i].n_tranches;
    sc->inputs = calloc(n, sizeof *sc->inputs);
    if (!sc->inputs)
        return ds_config_nomem(ctx);
    /* "tranche." + name (<= 64) + "." + k (<= 3 digits) + ".month" */
    char name[DS_CFG_MAX_NAME + 32];
    if (sc->has_pre_money)
        DS_TRY(config_add_input(ctx, sc, "round.pre_money", DS_INPUT_DIST, &sc->pre_money));
    for (size_t i = 0; i < sc->n_investors; ++i) {
        const ds_investor *inv = &sc->investors[i];
        snprintf(name, sizeof name, "join.%s", inv->name);
        DS_TRY(config_add_input(ctx, sc, name, DS_INPUT_JOIN, NULL));
        snprintf(name, sizeof name, "amount.%s", inv->name);
        DS_TRY(config_add_input(ctx, sc, name, DS_INPUT_DIST, &inv->amount));
        snprintf(name, sizeof name, "round_trip.%s", inv->name);
        DS_TRY(config_add_input(ctx, sc, name, DS_INPUT_DIST, &inv->round_trip));
        for (size_t k = 0; k < inv->n_tranches; ++k) {
            snprintf(name, sizeof name, "tranche.%s.%zu", inv->name, k + 1);
            DS_TRY(config_add_input(ctx, sc, name, DS_INPUT_TRANCHE, NULL));
            snprintf(name, sizeof name, "tranche.%s.%zu.month", inv->name, k + 1);
            DS_TRY(config_add_input(ctx, sc, name, DS_INPUT_DIST, &inv->tranches[k].month));
        }
    }
    DS_TRY(config_add_input(ctx, sc, "compute.share", DS_INPUT_DIST, &sc->compute_share));
    DS_TRY(config_add_input(ctx, sc, "price.initial", DS_INPUT_DIST, &sc->price_initial));
    DS_TRY(config_add_input(ctx, sc, "price.drift", DS_INPUT_DIST, &sc->price_drift));
    DS_TRY(config_add_input(ctx, sc, "price.volatility", DS_INPUT_DIST,
                            &sc->price_volatility));
    DS_TRY(config_add_input(ctx, sc, "price.mean_reversion", DS_INPUT_DIST,
                            &sc->price_mean_reversion));
    if (sc->has_jumps)
        DS_TRY(config_add_input(ctx, sc, "price.jumps.rate", DS_INPUT_DIST, &sc->jump_rate));
    return DS_OK;
}

/* ------------------------------------------------------------------------ */
/* The whole scenario                                                        */

static ds_status config_read_top(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                 ds_scenario *sc)
{
    DS_TRY(ds_config_check_keys(ctx, root, "", k_top_keys, DS_CFG_COUNT(k_top_keys)));
    const ds_cfg_node *v, *key;
    const char *s = NULL;
    if (!(v = ds_config_map_get(root, "name", NULL)))
        return ds_config_missing(ctx, root, "", "name", "a name of letters, digits, '_', '.', '-'");
    DS_TRY(ds_config_get_name(ctx, v, "name", 1, &s));
    if (!(sc->name = ds_config_strdup(s)))
        return ds_config_nomem(ctx);
    if ((v = ds_config_map_get(root, "description", NULL))) {
        DS_TRY(ds_config_get_string(ctx, v, "description", &s));
        if (!(sc->description = ds_config_strdup(s)))
            return ds_config_nomem(ctx);
    }
    sc->trials = 1000000;
    if ((v = ds_config_map_get(root, "trials", NULL)))
        DS_TRY(ds_config_get_uint(ctx, v, "trials", 1, UINT64_MAX, &sc->trials));
    sc->seed = 0;
    if ((v = ds_config_map_get(root, "seed", NULL)))
        DS_TRY(ds_config_get_uint(ctx, v, "seed", 0, UINT64_MAX, &sc->seed));
    sc->sampling = DS_SAMPLING_MONTE_CARLO;
    if ((v = ds_config_map_get(root, "sampling", NULL))) {
        DS_TRY(ds_config_get_sampling(ctx, v, &sc->sampling));
    }

    if (!(v = ds_config_map_get(root, "round", &key)))
        return ds_config_missing(ctx, root, "", "round", "a mapping with target");
    DS_TRY(ds_config_read_round(ctx, key, v, sc));
    DS_TRY(ds_config_read_investors(ctx, root, sc));
    DS_TRY(ds_config_read_compute(ctx, root, sc));
    DS_TRY(ds_config_read_output(ctx, root, sc));
    DS_TRY(ds_config_check_limits(ctx, root, sc));
    DS_TRY(config_build_inputs(ctx, sc));
    v = ds_config_map_get(root, "correlations", &key);
    return ds_config_read_correlations(ctx, key, v, sc);
}

/* An empty scenario whose every part is safe to free. */
static ds_scenario *config_scenario_new(void)
{
    ds_scenario *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    ds_dist_init(&sc->pre_money, DS_DIST_FIXED);
    ds_dist_init_fixed(&sc->compute_share, 1);
    ds_dist_init(&sc->price_initial, DS_DIST_FIXED);
    ds_dist_init_fixed(&sc->price_drift, 0);
    ds_dist_init_fixed(&sc->price_volatility, 0);
    ds_dist_init_fixed(&sc->price_mean_reversion, 0);
    ds_dist_init(&sc->jump_rate, DS_DIST_FIXED);
    ds_dist_init(&sc->jump_size, DS_DIST_FIXED);
    sc->min_eigenvalue = 1;
    sc->compression = -1;
    sc->histogram_bins = 100;
    return sc;
}

/* Defaults that are fixed numbers still go through prepare, so that every
 * ds_dist of a loaded scenario is prepared. */
static ds_status config_prepare_defaults(const ds_cfg_ctx *ctx, ds_scenario *sc)
{
    ds_dist *ds[] = {&sc->compute_share, &sc->price_drift, &sc->price_volatility,
                     &sc->price_mean_reversion};
    for (size_t i = 0; i < DS_CFG_COUNT(ds); ++i)
        DS_TRY(ds_config_prepare_fixed(ctx, ds[i]));
    return DS_OK;
}

static ds_status config_load_owned(char *text, size_t len, const char *label,
                                   const char *const *sets, size_t n_sets, ds_scenario **out,
                                   ds_diag *diag)
{
    ds_cfg_ctx ctx = {label, diag};
    ds_cfg_node *root = NULL;
    ds_scenario *sc = NULL;
    ds_status st;

    if (len > DS_MAX_SCENARIO_BYTES) {
        st = ds_config_error_at(&ctx, 0, 1, 1,
                                "the file is %zu bytes, larger than the limit of %u bytes "
                                "for a scenario",
                                len, (unsigned)DS_MAX_SCENARIO_BYTES);
        goto done;
    }
    /* A UTF-8 byte-order mark (some editors write one) is not part of the
     * YAML: parse after it; the source stays verbatim for /config. */
    {
        size_t bom = len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3) ? 3 : 0;
        st = ds_config_parse(&ctx, text + bom, len - bom, 0, 0, "", &root);
    }
    if (st != DS_OK)
        goto done;
    if (!root) {
        st = ds_config_error_at(&ctx, 0, 1, 1,
                                "the file is empty: expected a mapping with name, round, "
                                "investors and compute");
        goto done;
    }
    if (root->type != DS_CFG_MAP) {
        st = ds_config_expected(&ctx, root, "(top level)",
                                "a mapping with name, round, investors and compute");
        goto done;
    }
    st = ds_config_apply_sets(&ctx, root, sets, n_sets);
    if (st != DS_OK)
        goto done;
    if (!(sc = config_scenario_new())) {
        st = ds_config_nomem(&ctx);
        goto done;
    }
    sc->source = text;
    sc->source_len = len;
    text = NULL;
    if (!(sc->path = ds_config_strdup(label))) {
        st = ds_config_nomem(&ctx);
        goto done;
    }
    st = config_prepare_defaults(&ctx, sc);
    if (st == DS_OK)
        st = config_read_top(&ctx, root, sc);
done:
    ds_config_node_free(root);
    free(text);
    if (st != DS_OK) {
        ds_scenario_free(sc);
        sc = NULL;
    }
    *out = sc;
    return st;
}

ds_status ds_scenario_load_string(const char *text, size_t len, const char *label,
                                  const char *const *sets, size_t n_sets, ds_scenario **out,
                                  ds_diag *diag)
{
    if (!out)
        return ds_diag_set(diag, DS_ERR_USAGE, "", 0, 0, "ds_scenario_load_string: no output");
    *out = NULL;
    ds_diag_clear(diag);
    if (!label)
        label = "<string>";
    if (!text && len > 0)
        return ds_diag_set(diag, DS_ERR_USAGE, label, 0, 0, "no text given");
    if (len > DS_MAX_SCENARIO_BYTES) {
        ds_cfg_ctx ctx = {label, diag};
        return ds_config_error_at(&ctx, 0, 1, 1,
                                  "the file is %zu bytes, larger than the limit of %u bytes "
                                  "for a scenario",
                                  len, (unsigned)DS_MAX_SCENARIO_BYTES);
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return ds_diag_set(diag, DS_ERR_NOMEM, label, 0, 0, "out of memory");
    if (len)
        memcpy(copy, text, len);
    copy[len] = '\0';
    return config_load_owned(copy, len, label, sets, n_sets, out, diag);
}

ds_status ds_scenario_load(const char *path, const char *const *sets, size_t n_sets,
                           ds_scenario **out, ds_diag *diag)
{
    if (!out)
        return ds_diag_set(diag, DS_ERR_USAGE, "", 0, 0, "ds_scenario_load: no output");
    *out = NULL;
    ds_diag_clear(diag);
    if (!path)
        return ds_diag_set(diag, DS_ERR_USAGE, "", 0, 0, "no scenario file given");
    /* Say why a file cannot be read: fopen would open a directory and only
     * fail at the first read. */
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return ds_diag_set(diag, DS_ERR_IO, path, 0, 0,
                           "cannot open the scenario file: it is a directory");
    FILE *f = fopen(path, "rb");
    if (!f)
        return ds_diag_set(diag, DS_ERR_IO, path, 0, 0, "cannot open the scenario file: %s%s",
                           errno == ENOENT ? "no such file" : strerror(errno),
                           errno == ENOENT ? " (check the path)" : "");
    /* Read at most one byte past the limit: enough to reject a huge file
     * without reading it, and it works for pipes as well as files. */
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap + 1);
    ds_status st = DS_OK;
    while (buf) {
        if (len == cap) {
            if (cap > DS_MAX_SCENARIO_BYTES)
                break;
            size_t ncap = cap * 2 > DS_MAX_SCENARIO_BYTES + 1u ? DS_MAX_SCENARIO_BYTES + 1u
                                                               : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                st = ds_diag_set(diag, DS_ERR_IO, path, 0, 0, "cannot read the scenario file: %s",
                                 strerror(errno));
            break;
        }
    }
    fclose(f);
    if (!buf)
        return ds_diag_set(diag, DS_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
    if (st != DS_OK) {
        free(buf);
        return st;
    }
    if (len > DS_MAX_SCENARIO_BYTES) {
        free(buf);
        return ds_diag_set(diag, DS_ERR_SCENARIO, path, 1, 1,
                           "the file is larger than the limit of %u bytes for a scenario",
                           (unsigned)DS_MAX_SCENARIO_BYTES);
    }
    buf[len] = '\0';
    return config_load_owned(buf, len, path, sets, n_sets, out, diag);
}

void ds_scenario_free(ds_scenario *sc)
{
    if (!sc)
        return;
    free(sc->path);
    free(sc->source);
    free(sc->name);
    free(sc->description);
    ds_dist_clear(&sc->pre_money);
    for (size_t i = 0; i < sc->n_investors; ++i) {
        ds_investor *inv = &sc->investors[i];
        free(inv->name);
        ds_dist_clear(&inv->amount);
        ds_dist_clear(&inv->round_trip);
        for (size_t k = 0; k < inv->n_tranches; ++k)
            ds_dist_clear(&inv->tranches[k].month);
        free(inv->tranches);
    }
    free(sc->investors);
    for (size_t i = 0; i < sc->n_correlations; ++i) {
        free(sc->correlations[i].a);
        free(sc->correlations[i].b);
    }
    free(sc->correlations);
    ds_dist_clear(&sc->compute_share);
    free(sc->schedule);
    ds_dist_clear(&sc->price_initial);
    ds_dist_clear(&sc->price_drift);
    ds_dist_clear(&sc->price_volatility);
    ds_dist_clear(&sc->price_mean_reversion);
    ds_dist_clear(&sc->jump_rate);
    ds_dist_clear(&sc->jump_size);
    free(sc->output_file);
    for (size_t i = 0; i < sc->n_per_trial; ++i)
        free(sc->per_trial[i]);
    free(sc->per_trial);
    free(sc->quantiles);
    for (size_t i = 0; i < sc->n_inputs; ++i)
        free(sc->inputs[i].name);
    free(sc->inputs);
    free(sc->corr_inputs);
    free(sc->chol);
    free(sc);
}

int ds_scenario_find_input(const ds_scenario *sc, const char *name)
{
    if (!sc || !name)
        return -1;
    /* Hashes first: correlations look names up once per entry. */
    uint64_t h = ds_fnv1a64(name);
    for (size_t i = 0; i < sc->n_inputs; ++i)
        if (sc->inputs[i].hash == h && strcmp(sc->inputs[i].name, name) == 0)
            return (int)i;
    return -1;
}
