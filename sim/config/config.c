/* sim/config/config.c
 * Scenario loading: the public API of config.h and the walk of the parsed
 * tree against the schema of CONFIG.md.
 * Licence: see LICENSE at the top of the repository.
 *
 * Order of work: read the text (bounded by DS_MAX_SCENARIO_BYTES), parse it
 * into a positioned tree (config_yaml.c), graft the --set overrides
 * (config_set.c), then walk the tree key by key.  Each key is read by one
 * function that checks its type, range and support and reports
 * "file:line:col: path: expected ..., found ..."; defaults are filled as the
 * walk goes.  Last come the derived parts: the named inputs in their
 * canonical order, then the correlations and the copula (config_corr.c).
 * A scenario under construction is always freeable by ds_scenario_free,
 * which is the single cleanup path of every failure.
 */
#define _POSIX_C_SOURCE 200809L /* stat */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_internal.h"
#include "dealsim/outputs.h"

/* Schedules, bins and tranches are bounded to keep a run's memory sane. */
#define DS_CFG_MAX_HISTOGRAM_BINS 100000
/* Shares of an investor's tranches must sum to 1 within this (CONFIG.md). */
#define DS_CFG_SHARE_SUM_TOL 1e-9
/* Names longer than this make unwieldy input and dataset names. */
#define DS_CFG_MAX_NAME 64

/* ------------------------------------------------------------------------ */
/* Scalars                                                                   */

/* YAML 1.2 core-schema decimal: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int config_number_syntax(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        ++p;
    size_t before = 0, after = 0;
    while (*p >= '0' && *p <= '9')
        ++p, ++before;
    if (*p == '.') {
        ++p;
        while (*p >= '0' && *p <= '9')
            ++p, ++after;
    }
    if (before == 0 && after == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        ++p;
        if (*p == '+' || *p == '-')
            ++p;
        size_t exp = 0;
        while (*p >= '0' && *p <= '9')
            ++p, ++exp;
        if (exp == 0)
            return 0;
    }
    return *p == '\0';
}

/* The YAML spellings of NaN and infinity. */
static int config_nonfinite_syntax(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        ++p;
    return strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0 || strcmp(p, ".INF") == 0 ||
           (p == s && (strcmp(p, ".nan") == 0 || strcmp(p, ".NaN") == 0 ||
                       strcmp(p, ".NAN") == 0));
}

int ds_config_scalar_number(const ds_cfg_node *node, double *out)
{
    if (!node || node->type != DS_CFG_SCALAR || !node->plain ||
        !config_number_syntax(node->text))
        return 0;
    double v = strtod(node->text, NULL);
    if (!isfinite(v))
        return 0;
    *out = v;
    return 1;
}

ds_status ds_config_expected(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                             const char *what)
{
    char found[128];
    ds_config_found(node, found, sizeof found);
    return ds_config_error(ctx, node, "%s: expected %s, found %s", path, what, found);
}

/* Why a scalar that should be a number is not one, beyond its text:
 * "" when there is nothing more to say. */
static const char *config_number_problem(const ds_cfg_node *node)
{
    if (!node || node->type != DS_CFG_SCALAR)
        return "";
    if (node->plain && config_nonfinite_syntax(node->text))
        return " (NaN and infinity are not allowed)";
    if (node->plain && config_number_syntax(node->text))
        return " (beyond the range of a double)";
    if (!node->plain && config_number_syntax(node->text))
        return " (a quoted string: drop the quotes)";
    return "";
}

static ds_status config_not_number(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                   const char *path, const char *what)
{
    char found[128];
    ds_config_found(node, found, sizeof found);
    return ds_config_error(ctx, node, "%s: expected %s, found %s%s", path, what, found,
                           config_number_problem(node));
}

ds_status ds_config_get_number(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                               double *out)
{
    if (ds_config_scalar_number(node, out))
        return DS_OK;
    return config_not_number(ctx, node, path, "a finite number");
}

/* "a number >= 0", "a number in [0, 1)" ... */
static void config_range_text(char *buf, size_t size, const char *noun, double lo, int lo_open,
                              double hi, int hi_open, const char *why)
{
    char a[40], b[40], r[128];
    ds_config_format_double(lo, a, sizeof a);
    ds_config_format_double(hi, b, sizeof b);
    if (isfinite(lo) && isfinite(hi))
        snprintf(r, sizeof r, "%s in %c%s, %s%c", noun, lo_open ? '(' : '[', a, b,
                 hi_open ? ')' : ']');
    else if (isfinite(lo))
        snprintf(r, sizeof r, "%s %s %s", noun, lo_open ? ">" : ">=", a);
    else if (isfinite(hi))
        snprintf(r, sizeof r, "%s %s %s", noun, hi_open ? "<" : "<=", b);
    else
        snprintf(r, sizeof r, "%s", noun);
    if (why)
        snprintf(buf, size, "%s (%s)", r, why);
    else
        snprintf(buf, size, "%s", r);
}

ds_status ds_config_get_number_in(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                  const char *path, double lo, int lo_open, double hi,
                                  int hi_open, const char *why, double *out)
{
    char what[256];
    config_range_text(what, sizeof what, "a number", lo, lo_open, hi, hi_open, why);
    double v = 0;
    if (!ds_config_scalar_number(node, &v))
        return config_not_number(ctx, node, path, what);
    if ((lo_open ? !(v > lo) : !(v >= lo)) || (hi_open ? !(v < hi) : !(v <= hi)))
        return ds_config_expected(ctx, node, path, what);
    *out = v;
    return DS_OK;
}

/* 2^64 as a double: the first value past the range of uint64_t. */
#define DS_CFG_TWO_POW_64 18446744073709551616.0

ds_status ds_config_get_uint(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                             uint64_t lo, uint64_t hi, uint64_t *out)
{
    char what[128];
    snprintf(what, sizeof what, "an integer from %llu to %llu", (unsigned long long)lo,
             (unsigned long long)hi);
    if (!node || node->type != DS_CFG_SCALAR || !node->plain || ds_config_is_null(node))
        return config_not_number(ctx, node, path, what);
    const char *s = node->text;
    const char *p = s[0] == '+' ? s + 1 : s;
    size_t digits = strspn(p, "0123456789");
    if (digits > 0 && p[digits] == '\0') {
        /* Integers are read as integers: a double would round past 2^53. */
        uint64_t v = 0;
        for (size_t i = 0; i < digits; ++i) {
            unsigned d = (unsigned)(p[i] - '0');
            if (v > (UINT64_MAX - d) / 10) {
                char found[128];
                ds_config_found(node, found, sizeof found);
                return ds_config_error(ctx, node,
                                       "%s: expected %s, found %s (past 2^64-1)", path, what,
                                       found);
            }
            v = v * 10 + d;
        }
        if (v < lo || v > hi)
            return ds_config_expected(ctx, node, path, what);
        *out = v;
        return DS_OK;
    }
    if (s[0] == '-' && strspn(s + 1, "0") == strlen(s + 1) && s[1] != '\0') {
        if (lo > 0)
            return ds_config_expected(ctx, node, path, what);
        *out = 0; /* "-0" */
        return DS_OK;
    }
    double v = 0;
    if (!ds_config_scalar_number(node, &v))
        return config_not_number(ctx, node, path, what);
    /* 1e7-style: fine when it is exactly an integer in range. */
    if (v != floor(v) || v < 0 || v >= DS_CFG_TWO_POW_64)
        return ds_config_expected(ctx, node, path, what);
    uint64_t u = (uint64_t)v;
    if (u < lo || u > hi)
        return ds_config_expected(ctx, node, path, what);
    *out = u;
    return DS_OK;
}

int ds_config_parse_uint(const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
    /* The text as a plain YAML scalar, read by the same reader as a key.  A
     * local copy (no allocation, so a refusal never means "out of memory");
     * no whole number needs more characters than this. */
    char buf[128];
    size_t len = text ? strlen(text) : 0;
    if (!text || !out || len >= sizeof buf)
        return 0;
    memcpy(buf, text, len + 1);
    ds_cfg_node n;
    memset(&n, 0, sizeof n);
    n.type = DS_CFG_SCALAR;
    n.plain = 1;
    n.text = buf;
    n.len = len;
    ds_cfg_ctx ctx = {"", NULL};
    uint64_t v = 0;
    if (ds_config_get_uint(&ctx, &n, "", lo, hi, &v) != DS_OK)
        return 0;
    *out = v;
    return 1;
}

ds_status ds_config_get_bool(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                             int *out)
{
    if (node && node->type == DS_CFG_SCALAR && node->plain) {
        const char *t = node->text;
        if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) {
            *out = 1;
            return DS_OK;
        }
        if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE")) {
            *out = 0;
            return DS_OK;
        }
    }
    return ds_config_expected(ctx, node, path, "true or false");
}

ds_status ds_config_get_string(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                               const char **out)
{
    if (!node || node->type != DS_CFG_SCALAR || ds_config_is_null(node))
        return ds_config_expected(ctx, node, path, "a string");
    *out = node->text;
    return DS_OK;
}

const char *ds_sampling_name(ds_sampling m)
{
    return m == DS_SAMPLING_MONTE_CARLO      ? "monte_carlo"
           : m == DS_SAMPLING_LATIN_HYPERCUBE ? "latin_hypercube"
                                              : NULL;
}

int ds_sampling_parse(const char *text)
{
    if (text && !strcmp(text, "monte_carlo"))
        return DS_SAMPLING_MONTE_CARLO;
    if (text && !strcmp(text, "latin_hypercube"))
        return DS_SAMPLING_LATIN_HYPERCUBE;
    return -1;
}

/* The top-level key `sampling` (README, "Sampling"). */
ds_status ds_config_get_sampling(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                 ds_sampling *out)
{
    const char *what = "monte_carlo or latin_hypercube";
    if (!node || node->type != DS_CFG_SCALAR || ds_config_is_null(node))
        return ds_config_expected(ctx, node, "sampling", what);
    int m = ds_sampling_parse(node->text);
    if (m < 0)
        return ds_config_expected(ctx, node, "sampling", what);
    *out = (ds_sampling)m;
    return DS_OK;
}

/* A name of [A-Za-z0-9_] (plus '.' and '-' when `dotted`), 1..max chars. */
static ds_status config_get_name(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                 const char *path, int dotted, const char **out)
{
    const char *what = dotted ? "a name of letters, digits, '_', '.' and '-' (at most 128 "
                                "characters)"
                              : "a name of letters, digits and '_' (at most 64 characters)";
    size_t max = dotted ? 128 : DS_CFG_MAX_NAME;
    if (!node || node->type != DS_CFG_SCALAR || ds_config_is_null(node) || node->len == 0 ||
        node->len > max)
        return ds_config_expected(ctx, node, path, what);
    for (const char *p = node->text; *p; ++p) {
        char c = *p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || (dotted && (c == '.' || c == '-'));
        if (!ok)
            return ds_config_expected(ctx, node, path, what);
    }
    *out = node->text;
    return DS_OK;
}

/* ------------------------------------------------------------------------ */
/* Mappings                                                                  */

/* A mapping value (NULL when absent and optional). */
static ds_status config_get_map(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                const char *path, const char *what)
{
    if (!node || node->type != DS_CFG_MAP)
        return ds_config_expected(ctx, node, path, what);
    return DS_OK;
}

static ds_status config_missing(const ds_cfg_ctx *ctx, const ds_cfg_node *at, const char *path,
                                const char *key, const char *what)
{
    return ds_config_error(ctx, at, "%s: missing required key \"%s\" (expected %s)",
                           path[0] ? path : "(top level)", key, what);
}

/* ------------------------------------------------------------------------ */
/* Sections                                                                  */

static const char *const k_top_keys[] = {"name",      "description",  "trials",
                                          "seed",      "round",        "investors",
                                          "correlations", "compute",   "output",
                                          "sampling"};
static const char *const k_round_keys[] = {"target", "cap", "minimum_close", "pre_money"};
static const char *const k_investor_keys[] = {"name", "join_probability", "amount",
                                              "round_trip", "tranches"};
static const char *const k_tranche_keys[] = {"share", "month", "probability"};
static const char *const k_compute_keys[] = {"share", "horizon_months", "schedule", "price"};
static const char *const k_price_keys[] = {"initial", "drift", "volatility", "mean_reversion",
                                           "jumps"};
static const char *const k_jump_keys[] = {"rate", "size"};
static const char *const k_output_keys[] = {"file",        "per_trial",        "price_paths",
                                            "sensitivity", "per_trial_inputs", "quantiles",
                                            "histogram_bins", "compression", "conditional"};

#define DS_CFG_COUNT(a) (sizeof(a) / sizeof((a)[0]))


static const double k_default_quantiles[] = {0.01, 0.05, 0.1,  0.25, 0.5,
                                             0.75, 0.9,  0.95, 0.99};

/* Prepares a default (a fixed number); idempotent when already prepared. */
static ds_status config_prepare_fixed(const ds_cfg_ctx *ctx, ds_dist *d)
{
    ds_diag local;
    ds_diag_clear(&local);
    ds_status st = ds_dist_prepare(d, &local);
    if (st != DS_OK)
        return ds_diag_set(ctx->diag, st, ctx->label, 0, 0, "%s", local.msg);
    return DS_OK;
}

static ds_status config_read_round(const ds_cfg_ctx *ctx, const ds_cfg_node *key,
                                   const ds_cfg_node *map, ds_scenario *sc)
{
    const char *path = "round";
    DS_TRY(config_get_map(ctx, map, path, "a mapping with target (and cap, minimum_close, "
                                          "pre_money)"));
    DS_TRY(ds_config_check_keys(ctx, map, path, k_round_keys, DS_CFG_COUNT(k_round_keys)));
    const ds_cfg_node *v;
    if (!(v = ds_config_map_get(map, "target", NULL)))
        return config_missing(ctx, ds_config_anchor(key, map), path, "target", "a number > 0, in $B");
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
        DS_TRY(config_get_map(ctx, t, tpath, "a mapping {share, month, probability}"));
        DS_TRY(ds_config_check_keys(ctx, t, tpath, k_tranche_keys,
                                    DS_CFG_COUNT(k_tranche_keys)));
        if (!(v = ds_config_map_get(t, "share", NULL)))
            return config_missing(ctx, t, tpath, "share", "a number in [0, 1]");
        ds_config_path_key(kpath, sizeof kpath, tpath, "share");
        DS_TRY(ds_config_get_number_in(ctx, v, kpath, 0, 0, 1, 0, "a fraction of the amount",
                                       &tr->share));
        if (!(v = ds_config_map_get(t, "month", NULL)))
            return config_missing(ctx, t, tpath, "month",
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
    DS_TRY(config_get_map(ctx, map, path,
                          "a mapping {name, join_probability, amount, round_trip, tranches}"));
    DS_TRY(ds_config_check_keys(ctx, map, path, k_investor_keys,
                                DS_CFG_COUNT(k_investor_keys)));
    const char *name = NULL;
    if (!(v = ds_config_map_get(map, "name", NULL)))
        return config_missing(ctx, map, path, "name", "a name of letters, digits and '_'");
    ds_config_path_key(kpath, sizeof kpath, path, "name");
    DS_TRY(config_get_name(ctx, v, kpath, 0, &name));
    if (!(inv->name = ds_config_strdup(name)))
        return ds_config_nomem(ctx);

    if (!(v = ds_config_map_get(map, "join_probability", NULL)))
        return config_missing(ctx, map, path, "join_probability", "a number in [0, 1]");
    ds_config_path_key(kpath, sizeof kpath, path, "join_probability");
    DS_TRY(ds_config_get_number_in(ctx, v, kpath, 0, 0, 1, 0,
                                   "a fixed probability; correlate join.<name> for dependence",
                                   &inv->join_probability));

    if (!(v = ds_config_map_get(map, "amount", NULL)))
        return config_missing(ctx, map, path, "amount",
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
    return config_prepare_fixed(ctx, &inv->tranches[0].month);
}

static ds_status config_read_investors(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                       ds_scenario *sc)
{
    const ds_cfg_node *key, *seq = ds_config_map_get(root, "investors", &key);
    char what[96], path[DS_CFG_PATH_MAX];
    snprintf(what, sizeof what, "a list of 1 to %d investors", DS_MAX_INVESTORS);
    if (!seq)
        return config_missing(ctx, root, "", "investors", what);
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
        DS_TRY(config_prepare_fixed(ctx, &sc->investors[i].round_trip));
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
    DS_TRY(config_get_map(ctx, map, "compute.price",
                          "a mapping {initial, drift, volatility, mean_reversion, jumps}"));
    DS_TRY(ds_config_check_keys(ctx, map, "compute.price", k_price_keys,
                                DS_CFG_COUNT(k_price_keys)));
    if (!(v = ds_config_map_get(map, "initial", NULL)))
        return config_missing(ctx, ds_config_anchor(key, map), "compute.price", "initial",
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
    DS_TRY(config_get_map(ctx, v, "compute.price.jumps", "a mapping {rate, size}"));
    DS_TRY(ds_config_check_keys(ctx, v, "compute.price.jumps", k_jump_keys,
                                DS_CFG_COUNT(k_jump_keys)));
    const ds_cfg_node *r = ds_config_map_get(v, "rate", NULL);
    if (!r)
        return config_missing(ctx, ds_config_anchor(jkey, v), "compute.price.jumps", "rate",
                              "jumps per year >= 0, or a distribution of it");
    const ds_cfg_node *s = ds_config_map_get(v, "size", NULL);
    if (!s)
        return config_missing(ctx, ds_config_anchor(jkey, v), "compute.price.jumps", "size",
                              "the distribution of a jump's log size");
    sc->has_jumps = 1;
    DS_TRY(ds_config_read_dist(ctx, r, "compute.price.jumps.rate", DS_CFG_SUPPORT_NONNEG,
                               "a rate is not negative", &sc->jump_rate));
    return ds_config_read_dist(ctx, s, "compute.price.jumps.size", DS_CFG_SUPPORT_ANY, NULL,
                               &sc->jump_size);
}

static ds_status config_read_compute(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                     ds_scenario *sc)
{
    const ds_cfg_node *key, *map = ds_config_map_get(root, "compute", &key), *v, *pkey;
    if (!map)
        return config_missing(ctx, root, "", "compute",
                              "a mapping {share, horizon_months, schedule, price}");
    DS_TRY(config_get_map(ctx, map, "compute",
                          "a mapping {share, horizon_months, schedule, price}"));
    DS_TRY(ds_config_check_keys(ctx, map, "compute", k_compute_keys,
                                DS_CFG_COUNT(k_compute_keys)));
    if ((v = ds_config_map_get(map, "share", NULL)))
        DS_TRY(ds_config_read_dist(ctx, v, "compute.share", DS_CFG_SUPPORT_UNIT,
                                   "a fraction of the money paid", &sc->compute_share));
    if (!(v = ds_config_map_get(map, "horizon_months", NULL)))
        return config_missing(ctx, ds_config_anchor(key, map), "compute", "horizon_months", "an integer 1..600");
    uint64_t h = 0;
    DS_TRY(ds_config_get_uint(ctx, v, "compute.horizon_months", 1, DS_MAX_HORIZON, &h));
    sc->horizon = (int)h;
    DS_TRY(config_read_schedule(ctx, ds_config_map_get(map, "schedule", NULL), sc));
    if (!(v = ds_config_map_get(map, "price", &pkey)))
        return config_missing(ctx, ds_config_anchor(key, map), "compute", "price",
                              "a mapping {initial, drift, volatility, mean_reversion, jumps}");
    return config_read_price(ctx, pkey, v, sc);
}

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

static ds_status config_read_output(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                    ds_scenario *sc)
{
    const ds_cfg_node *map = ds_config_map_get(root, "output", NULL), *v;
    if (map) {
        DS_TRY(config_get_map(ctx, map, "output",
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
        return config_missing(ctx, root, "", "name", "a name of letters, digits, '_', '.', '-'");
    DS_TRY(config_get_name(ctx, v, "name", 1, &s));
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
        return config_missing(ctx, root, "", "round", "a mapping with target");
    DS_TRY(config_read_round(ctx, key, v, sc));
    DS_TRY(config_read_investors(ctx, root, sc));
    DS_TRY(config_read_compute(ctx, root, sc));
    DS_TRY(config_read_output(ctx, root, sc));
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
        DS_TRY(config_prepare_fixed(ctx, ds[i]));
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
