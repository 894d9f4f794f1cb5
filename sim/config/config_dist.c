/* sim/config/config_dist.c
 * Uncertain values of a scenario: a number or {dist: NAME, ...} -> ds_dist,
 * with the parameter and support checks of CONFIG.md.
 * Licence: see LICENSE at the top of the repository.
 *
 * Parameters are checked here before ds_dist_prepare so that an error points
 * at the offending parameter (min > max points at max, a mode outside points
 * at mode); ds_dist_prepare then runs as the authority on what dist.c can
 * sample, its message placed at the distribution.  The support check comes
 * last: what a key allows (an amount >= 0, a share in [0, 1], ...) is a
 * property of the prepared distribution (ds_dist_support), so a truncated
 * normal with min: 0 passes as an amount and one without does not.
 * Invariant: on failure the ds_dist being filled is cleared, never half-owned.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "dealsim/dsmath.h"

/* Keys each kind accepts besides "dist" (and "weight" inside a mixture). */
typedef struct {
    ds_dist_kind kind;
    const char *keys[5];
} ds_cfg_dist_keys;

static const ds_cfg_dist_keys k_dist_keys[] = {
    {DS_DIST_FIXED, {"value", NULL, NULL, NULL, NULL}},
    {DS_DIST_UNIFORM, {"min", "max", NULL, NULL, NULL}},
    {DS_DIST_TRIANGULAR, {"min", "mode", "max", NULL, NULL}},
    {DS_DIST_PERT, {"min", "mode", "max", "lambda", NULL}},
    {DS_DIST_BETA, {"alpha", "beta", "min", "max", NULL}},
    {DS_DIST_NORMAL, {"mean", "sd", "min", "max", NULL}},
    {DS_DIST_LOGNORMAL, {"median", "sigma", "min", "max", NULL}},
    {DS_DIST_BERNOULLI, {"p", NULL, NULL, NULL, NULL}},
    {DS_DIST_DISCRETE, {"values", "weights", NULL, NULL, NULL}},
    {DS_DIST_MIXTURE, {"components", NULL, NULL, NULL, NULL}},
};

typedef struct {
    const ds_cfg_ctx *ctx;
    const ds_cfg_node *map;
    const char *path;
} ds_cfg_dist_reader;

/* A required or optional number parameter; *node gets its node (or NULL). */
static ds_status config_param(const ds_cfg_dist_reader *r, const char *key, int required,
                              const char *what, const ds_cfg_node **node, double *out)
{
    char path[DS_CFG_PATH_MAX];
    const ds_cfg_node *v = ds_config_map_get(r->map, key, NULL);
    *node = v;
    if (!v) {
        if (required) {
            const ds_cfg_node *d = ds_config_map_get(r->map, "dist", NULL);
            return ds_config_error(r->ctx, r->map, "%s: missing required key \"%s\" (a %s "
                                   "distribution needs %s)",
                                   r->path, key, d ? d->text : "", what);
        }
        *out = (double)NAN;
        return DS_OK;
    }
    ds_config_path_key(path, sizeof path, r->path, key);
    return ds_config_get_number(r->ctx, v, path, out);
}

/* A parameter that must satisfy a relation the reader states. */
static ds_status config_param_bad(const ds_cfg_dist_reader *r, const ds_cfg_node *at,
                                  const char *key, const char *what)
{
    char path[DS_CFG_PATH_MAX];
    ds_config_path_key(path, sizeof path, r->path, key);
    return ds_config_expected(r->ctx, at, path, what);
}

static ds_status config_min_max(const ds_cfg_dist_reader *r, ds_dist *d, int required)
{
    const ds_cfg_node *nmin, *nmax;
    DS_TRY(config_param(r, "min", required, "min and max", &nmin, &d->min));
    DS_TRY(config_param(r, "max", required, "min and max", &nmax, &d->max));
    if (nmin && nmax && !(d->max > d->min)) {
        char what[80], m[40];
        ds_config_format_double(d->min, m, sizeof m);
        snprintf(what, sizeof what, "a number greater than min (%s)", m);
        return config_param_bad(r, nmax, "max", what);
    }
    return DS_OK;
}

static ds_status config_positive(const ds_cfg_dist_reader *r, const char *key, int required,
                                 const char *needs, double *out)
{
    const ds_cfg_node *n;
    DS_TRY(config_param(r, key, required, needs, &n, out));
    if (n && !(*out > 0))
        return config_param_bad(r, n, key, "a number > 0");
    return DS_OK;
}

static ds_status config_number_list(const ds_cfg_dist_reader *r, const char *key,
                                    const char *needs, const ds_cfg_node **node)
{
    const ds_cfg_node *v = ds_config_map_get(r->map, key, NULL);
    char path[DS_CFG_PATH_MAX];
    ds_config_path_key(path, sizeof path, r->path, key);
    *node = v;
    if (!v)
        return ds_config_error(r->ctx, r->map,
                               "%s: missing required key \"%s\" (a %s distribution needs %s)",
                               r->path, key,
                               strcmp(key, "components") == 0 ? "mixture" : "discrete", needs);
    if (v->type != DS_CFG_SEQ || v->n == 0)
        return ds_config_expected(r->ctx, v, path, "a non-empty list");
    return DS_OK;
}

/* weights[] >= 0, not all zero; `at` is where "all zero" is reported. */
static ds_status config_check_weights(const ds_cfg_dist_reader *r, const ds_cfg_node *at,
                                      const char *what_path, const double *w, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; ++i)
        sum += w[i];
    if (!(sum > 0) || !isfinite(sum))
        return ds_config_error(r->ctx, at, "%s: expected weights >= 0 that are not all zero "
                               "(and sum to a finite number), found a sum of %g",
                               what_path, sum);
    return DS_OK;
}

static ds_status config_dist_node(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                  const char *path, int mix_depth, int in_mixture, ds_dist *d);

static ds_status config_read_discrete(const ds_cfg_dist_reader *r, ds_dist *d)
{
    const ds_cfg_node *vals, *wts;
    char path[DS_CFG_PATH_MAX];
    DS_TRY(config_number_list(r, "values", "values and weights", &vals));
    DS_TRY(config_number_list(r, "weights", "values and weights", &wts));
    if (wts->n != vals->n) {
        char what[80];
        snprintf(what, sizeof what, "a list of %zu weights, one per value", vals->n);
        char wpath[DS_CFG_PATH_MAX], found[64];
        ds_config_path_key(wpath, sizeof wpath, r->path, "weights");
        snprintf(found, sizeof found, "%zu weights", wts->n);
        return ds_config_error(r->ctx, wts, "%s: expected %s, found %s", wpath, what, found);
    }
    size_t n = vals->n;
    d->values = calloc(n, sizeof *d->values);
    d->weights = calloc(n, sizeof *d->weights);
    if (!d->values || !d->weights)
        return ds_config_nomem(r->ctx);
    d->n = n;
    char lpath[DS_CFG_PATH_MAX];
    ds_config_path_key(lpath, sizeof lpath, r->path, "values");
    for (size_t i = 0; i < n; ++i) {
        ds_config_path_index(path, sizeof path, lpath, i);
        DS_TRY(ds_config_get_number(r->ctx, vals->items[i], path, &d->values[i]));
    }
    ds_config_path_key(lpath, sizeof lpath, r->path, "weights");
    for (size_t i = 0; i < n; ++i) {
        ds_config_path_index(path, sizeof path, lpath, i);
        DS_TRY(ds_config_get_number_in(r->ctx, wts->items[i], path, 0, 0, HUGE_VAL, 0, NULL,
                                       &d->weights[i]));
    }
    return config_check_weights(r, wts, lpath, d->weights, n);
}

static ds_status config_read_mixture(const ds_cfg_dist_reader *r, int mix_depth, ds_dist *d)
{
    const ds_cfg_node *comps;
    char cpath[DS_CFG_PATH_MAX], path[DS_CFG_PATH_MAX], wpath[DS_CFG_PATH_MAX];
    DS_TRY(config_number_list(r, "components", "a list of components", &comps));
    size_t n = comps->n;
    d->components = calloc(n, sizeof *d->components);
    d->weights = calloc(n, sizeof *d->weights);
    if (!d->components || !d->weights)
        return ds_config_nomem(r->ctx);
    for (size_t i = 0; i < n; ++i)
        ds_dist_init(&d->components[i], DS_DIST_FIXED);
    d->n = n;
    ds_config_path_key(cpath, sizeof cpath, r->path, "components");
    for (size_t i = 0; i < n; ++i) {
        const ds_cfg_node *c = comps->items[i];
        ds_config_path_index(path, sizeof path, cpath, i);
        if (c->type != DS_CFG_MAP)
            return ds_config_expected(r->ctx, c, path,
                                      "a mapping {weight: W, dist: NAME, ...}");
        const ds_cfg_node *w = ds_config_map_get(c, "weight", NULL);
        if (!w)
            return ds_config_error(r->ctx, c, "%s: missing required key \"weight\" (each "
                                   "mixture component needs a weight >= 0)",
                                   path);
        ds_config_path_key(wpath, sizeof wpath, path, "weight");
        DS_TRY(ds_config_get_number_in(r->ctx, w, wpath, 0, 0, HUGE_VAL, 0, NULL,
                                       &d->weights[i]));
        DS_TRY(config_dist_node(r->ctx, c, path, mix_depth, 1, &d->components[i]));
    }
    return config_check_weights(r, comps, cpath, d->weights, n);
}

static ds_status config_unknown_dist(const ds_cfg_ctx *ctx, const ds_cfg_node *v,
                                     const char *path)
{
    const char *names[DS_DIST_KIND_COUNT];
    char list[256] = "", q[96], hint[96] = "";
    size_t o = 0;
    for (int k = 0; k < DS_DIST_KIND_COUNT; ++k) {
        names[k] = ds_dist_kind_name((ds_dist_kind)k);
        int w = snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "", names[k]);
        if (w > 0 && (size_t)w < sizeof list - o)
            o += (size_t)w;
    }
    ds_config_quote(v->text, v->len, q, sizeof q);
    const char *best = ds_config_closest(v->text, names, DS_DIST_KIND_COUNT);
    if (best)
        snprintf(hint, sizeof hint, "; did you mean \"%s\"?", best);
    return ds_config_error(ctx, v, "%s: unknown distribution %s%s (expected one of: %s)", path,
                           q, hint, list);
}

static ds_status config_dist_node(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                  const char *path, int mix_depth, int in_mixture, ds_dist *d)
{
    ds_dist_init(d, DS_DIST_FIXED);
    if (node->type == DS_CFG_SCALAR && !in_mixture) {
        double v = 0;
        if (!ds_config_scalar_number(node, &v)) {
            /* Reuse the number reader's explanation (NaN, quotes, ...). */
            ds_status st = ds_config_get_number(ctx, node, path, &v);
            if (st == DS_OK)
                st = ds_config_expected(ctx, node, path, "a number or {dist: NAME, ...}");
            return st;
        }
        d->value = v;
        return DS_OK;
    }
    if (node->type != DS_CFG_MAP)
        return ds_config_expected(ctx, node, path,
                                  in_mixture ? "a mapping {weight: W, dist: NAME, ...}"
                                             : "a number or a distribution {dist: NAME, ...}");
    const ds_cfg_node *dn = ds_config_map_get(node, "dist", NULL);
    char dpath[DS_CFG_PATH_MAX];
    ds_config_path_key(dpath, sizeof dpath, path, "dist");
    if (!dn)
        return ds_config_error(ctx, node, "%s: missing required key \"dist\" (the name of a "
                               "distribution, e.g. {dist: uniform, min: 1, max: 2})",
                               path);
    if (dn->type != DS_CFG_SCALAR || ds_config_is_null(dn))
        return ds_config_expected(ctx, dn, dpath, "the name of a distribution");
    ds_dist_kind kind;
    if (!ds_dist_kind_from_name(dn->text, &kind))
        return config_unknown_dist(ctx, dn, dpath);

    const char *known[8];
    size_t n_known = 0;
    known[n_known++] = "dist";
    if (in_mixture)
        known[n_known++] = "weight";
    for (size_t i = 0; i < sizeof k_dist_keys / sizeof k_dist_keys[0]; ++i)
        if (k_dist_keys[i].kind == kind)
            for (size_t j = 0; j < 5 && k_dist_keys[i].keys[j]; ++j)
                known[n_known++] = k_dist_keys[i].keys[j];
    DS_TRY(ds_config_check_keys(ctx, node, path, known, n_known));

    d->kind = kind;
    ds_cfg_dist_reader r = {ctx, node, path};
    const ds_cfg_node *n1, *n2;
    char what[96], a[40], b[40];
    switch (kind) {
    case DS_DIST_FIXED:
        return config_param(&r, "value", 1, "a value", &n1, &d->value);
    case DS_DIST_UNIFORM:
        return config_min_max(&r, d, 1);
    case DS_DIST_TRIANGULAR:
    case DS_DIST_PERT:
        DS_TRY(config_min_max(&r, d, 1));
        DS_TRY(config_param(&r, "mode", 1, "min, mode and max", &n1, &d->mode));
        if (!(d->mode >= d->min && d->mode <= d->max)) {
            ds_config_format_double(d->min, a, sizeof a);
            ds_config_format_double(d->max, b, sizeof b);
            if (snprintf(what, sizeof what, "a mode within [min, max] = [%s, %s]", a, b) < 0)
                what[0] = '\0';
            return config_param_bad(&r, n1, "mode", what);
        }
        if (kind == DS_DIST_PERT)
            DS_TRY(config_positive(&r, "lambda", 0, "", &d->lambda));
        return DS_OK;
    case DS_DIST_BETA:
        DS_TRY(config_positive(&r, "alpha", 1, "alpha and beta", &d->alpha));
        DS_TRY(config_positive(&r, "beta", 1, "alpha and beta", &d->beta));
        DS_TRY(config_param(&r, "min", 0, "", &n1, &d->min));
        DS_TRY(config_param(&r, "max", 0, "", &n2, &d->max));
        if ((n1 || n2) && !((n2 ? d->max : 1.0) > (n1 ? d->min : 0.0))) {
            ds_config_format_double(n1 ? d->min : 0.0, a, sizeof a);
            ds_config_format_double(n2 ? d->max : 1.0, b, sizeof b);
            if (n2) {
                snprintf(what, sizeof what, "a number greater than min (%s)", a);
                return config_param_bad(&r, n2, "max", what);
            }
            snprintf(what, sizeof what, "a number less than max (%s, the default)", b);
            return config_param_bad(&r, n1, "min", what);
        }
        return DS_OK;
    case DS_DIST_NORMAL:
        DS_TRY(config_param(&r, "mean", 1, "mean and sd", &n1, &d->mean));
        DS_TRY(config_positive(&r, "sd", 1, "mean and sd", &d->sd));
        return config_min_max(&r, d, 0);
    case DS_DIST_LOGNORMAL:
        DS_TRY(config_positive(&r, "median", 1, "median and sigma", &d->median));
        DS_TRY(config_positive(&r, "sigma", 1, "median and sigma", &d->sigma));
        return config_min_max(&r, d, 0);
    case DS_DIST_BERNOULLI:
        DS_TRY(config_param(&r, "p", 1, "p", &n1, &d->p));
        if (!(d->p >= 0 && d->p <= 1))
            return config_param_bad(&r, n1, "p", "a probability in [0, 1]");
        return DS_OK;
    case DS_DIST_DISCRETE:
        return config_read_discrete(&r, d);
    case DS_DIST_MIXTURE:
        if (mix_depth + 1 > DS_DIST_MAX_DEPTH)
            return ds_config_error(ctx, dn, "%s: expected mixtures nested at most %d deep, "
                                   "found a deeper one",
                                   dpath, DS_DIST_MAX_DEPTH);
        return config_read_mixture(&r, mix_depth + 1, d);
    case DS_DIST_KIND_COUNT:
        break;
    }
    return ds_config_error(ctx, dn, "%s: unsupported distribution", dpath);
}

/* True when a distribution whose support hull starts at 0 never yields 0:
 * a lognormal is exp(...) > 0, so its closed hull [0, ...) is open at 0. */
static int config_positive_at_zero(const ds_dist *d)
{
    double lo, hi;
    ds_dist_support(d, &lo, &hi);
    if (lo > 0)
        return 1;
    if (d->kind == DS_DIST_LOGNORMAL)
        return 1;
    if (d->kind == DS_DIST_MIXTURE) {
        for (size_t i = 0; i < d->n; ++i)
            if (d->weights[i] > 0 && !config_positive_at_zero(&d->components[i]))
                return 0;
        return 1;
    }
    return 0;
}

static ds_status config_check_support(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                      const char *path, ds_cfg_support support,
                                      const char *why, const ds_dist *d)
{
    double lo, hi;
    ds_dist_support(d, &lo, &hi);
    int ok = 1;
    const char *rule = "";
    switch (support) {
    case DS_CFG_SUPPORT_ANY:
        return DS_OK;
    case DS_CFG_SUPPORT_NONNEG:
        ok = lo >= 0;
        rule = ">= 0";
        break;
    case DS_CFG_SUPPORT_POSITIVE:
        ok = lo > 0 || (lo == 0 && config_positive_at_zero(d));
        rule = "> 0";
        break;
    case DS_CFG_SUPPORT_UNIT:
        ok = lo >= 0 && hi <= 1;
        rule = "in [0, 1]";
        break;
    case DS_CFG_SUPPORT_MEANREV:
        ok = lo >= 0 && hi < 12;
        rule = "in [0, 12)";
        break;
    }
    if (ok)
        return DS_OK;
    char found[128];
    if (node->type == DS_CFG_SCALAR) {
        ds_config_found(node, found, sizeof found);
        return ds_config_error(ctx, node, "%s: expected a number %s%s%s%s, found %s", path,
                               rule, why ? " (" : "", why ? why : "", why ? ")" : "", found);
    }
    char a[40], b[40];
    ds_config_format_double(lo, a, sizeof a);
    ds_config_format_double(hi, b, sizeof b);
    const char *hint = "";
    if (d->kind == DS_DIST_NORMAL || d->kind == DS_DIST_LOGNORMAL)
        hint = "; truncate it with min/max";
    else if (ds_dist_is_fixed(d))
        hint = "";
    return ds_config_error(ctx, node,
                           "%s: expected a distribution with support %s%s%s%s, found %s with "
                           "support [%s, %s]%s",
                           path, rule, why ? " (" : "", why ? why : "", why ? ")" : "",
                           ds_dist_kind_name(d->kind), a, b, hint);
}

void ds_config_dist_reach(const ds_dist *d, double *lo, double *hi)
{
    ds_dist_support(d, lo, hi);
    if (!isfinite(*lo))
        *lo = ds_dist_quantile(d, DS_TAIL_PROBABILITY);
    if (!isfinite(*hi))
        *hi = ds_dist_quantile(d, 1.0 - DS_TAIL_PROBABILITY);
}

/* Every distribution of the tree (mixture components too, since a sampler
 * works with each) must reach no further than +-DS_MAX_MAGNITUDE: then
 * draws, widths (max - min) and the samplers' intermediate values stay
 * finite.  [-1e308, 1e308] is refused here: its width is infinite. */
static ds_status config_check_reach(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                    const char *path, const ds_dist *d)
{
    double lo, hi;
    ds_config_dist_reach(d, &lo, &hi);
    if (!(fabs(lo) <= DS_MAX_MAGNITUDE && fabs(hi) <= DS_MAX_MAGNITUDE)) {
        char a[40], b[40];
        ds_config_format_double(lo, a, sizeof a);
        ds_config_format_double(hi, b, sizeof b);
        int tails = d->kind == DS_DIST_NORMAL || d->kind == DS_DIST_LOGNORMAL ||
                    d->kind == DS_DIST_MIXTURE;
        return ds_config_error(ctx, node,
                               "%s: the %s distribution reaches [%s, %s]%s, beyond the limit "
                               "of +-1e300 that keeps draws, widths (max - min) and sums finite",
                               path, ds_dist_kind_name(d->kind), a, b,
                               tails ? " (its 1e-15 and 1 - 1e-15 quantiles where unbounded)"
                                     : "");
    }
    if (d->kind == DS_DIST_MIXTURE)
        for (size_t i = 0; i < d->n; ++i)
            DS_TRY(config_check_reach(ctx, node, path, &d->components[i]));
    return DS_OK;
}

ds_status ds_config_read_dist(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                              ds_cfg_support support, const char *why, ds_dist *out)
{
    ds_status st = config_dist_node(ctx, node, path, 0, 0, out);
    if (st == DS_OK) {
        ds_diag local;
        ds_diag_clear(&local);
        st = ds_dist_prepare(out, &local);
        if (st == DS_ERR_NOMEM)
            st = ds_config_nomem(ctx);
        else if (st != DS_OK)
            st = ds_config_error(ctx, node, "%s: invalid %s distribution: %s", path,
                                 ds_dist_kind_name(out->kind), local.msg);
    }
    if (st == DS_OK)
        st = config_check_support(ctx, node, path, support, why, out);
    if (st == DS_OK)
        st = config_check_reach(ctx, node, path, out);
    if (st != DS_OK)
        ds_dist_clear(out);
    return st;
}

ds_status ds_dist_from_yaml(const char *text, ds_dist *out, ds_diag *diag)
{
    ds_cfg_ctx ctx = {"--dist", diag};
    ds_diag_clear(diag);
    if (!out)
        return ds_diag_set(diag, DS_ERR_USAGE, "", 0, 0, "ds_dist_from_yaml: no output");
    ds_dist_init(out, DS_DIST_FIXED);
    if (!text)
        return ds_diag_set(diag, DS_ERR_USAGE, "--dist", 0, 0, "no distribution given");
    size_t len = strlen(text);
    if (len > DS_MAX_SCENARIO_BYTES)
        return ds_config_error_at(&ctx, 0, 1, 1, "the text is longer than %u bytes",
                                  (unsigned)DS_MAX_SCENARIO_BYTES);
    ds_cfg_node *root = NULL;
    ds_status st = ds_config_parse(&ctx, text, len, 0, 0, "dist", &root);
    if (st != DS_OK)
        return st;
    if (!root)
        return ds_config_error_at(&ctx, 0, 1, 1,
                                  "dist: expected a number or {dist: NAME, ...}, found nothing");
    st = ds_config_read_dist(&ctx, root, "dist", DS_CFG_SUPPORT_ANY, NULL, out);
    ds_config_node_free(root);
    return st;
}
