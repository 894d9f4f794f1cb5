/* sim/config/config_emit.c
 * The effective scenario as YAML (ds_scenario_to_yaml) and the short
 * description `dealsim check` prints (ds_scenario_describe).
 * Licence: see LICENSE at the top of the repository.
 *
 * What must stay true: the YAML written here loads back (with no --set) to
 * the same scenario, and writing that again gives the same text.  So every
 * number is printed in the shortest form that reads back to the same double,
 * every string that could be read as something else (a number, a boolean,
 * null, YAML syntax) is double-quoted with escapes, and a distribution's
 * parameters are written only when they differ from the defaults the loader
 * and dist.c fill in.  The order of keys is fixed (CONFIG.md's), never the
 * file's, so the output depends on the scenario alone.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

void ds_config_format_double(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, ".nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? ".inf" : "-.inf");
        return;
    }
    /* Shortest %.Ng that round-trips; 17 digits always do (IEEE 754). */
    int prec = 1;
    for (; prec < 17; ++prec) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* %g switches to an exponent once the decimal exponent reaches the
     * precision ("6e+01" for 60); widen the precision so that numbers below
     * 1e17 print positionally ("60"), which reads better and is as exact. */
    char e[40];
    snprintf(e, sizeof e, "%.*e", prec - 1, v);
    const char *x = strchr(e, 'e');
    long exp10 = x ? strtol(x + 1, NULL, 10) : 0;
    if (exp10 >= prec && exp10 < 17)
        prec = (int)exp10 + 1;
    snprintf(buf, size, "%.*g", prec, v);
}

/* ------------------------------------------------------------------------ */
/* A growing text buffer                                                     */

typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} ds_cfg_out;

static void out_printf(ds_cfg_out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void out_printf(ds_cfg_out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (w < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)w < o->cap - o->len) {
            o->len += (size_t)w;
            return;
        }
        size_t cap = 2 * o->cap + (size_t)w + 1;
        char *s = realloc(o->s, cap);
        if (!s) {
            o->failed = 1;
            return;
        }
        o->s = s;
        o->cap = cap;
    }
}

static void out_num(ds_cfg_out *o, double v)
{
    char b[40];
    ds_config_format_double(v, b, sizeof b);
    out_printf(o, "%s", b);
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                   */

/* True when s can be written as a plain scalar that reads back as the same
 * string: a name-like word that is not a number, boolean or null. */
static int config_plain_safe(const char *s)
{
    static const char *const reserved[] = {
        "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
        "y",    "Y",    "yes",  "Yes",  "YES",  "n",    "N",     "no",    "No",
        "NO",   "on",   "On",   "ON",   "off",  "Off",  "OFF"};
    if (!s[0])
        return 0;
    char c0 = s[0];
    if (!((c0 >= 'A' && c0 <= 'Z') || (c0 >= 'a' && c0 <= 'z') || (c0 >= '0' && c0 <= '9') ||
          c0 == '_' || c0 == '/'))
        return 0;
    for (const char *p = s; *p; ++p) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '/'))
            return 0;
    }
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; ++i)
        if (!strcmp(s, reserved[i]))
            return 0;
    char *end;
    (void)strtod(s, &end);
    return *end != '\0'; /* anything strtod reads whole might be a number */
}

/* Decodes one code point of valid UTF-8 (the loader checked it). */
static size_t config_utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && s[1]) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && s[1] && s[2]) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3Fu);
        return 3;
    }
    if ((s[0] & 0xF8) == 0xF0 && s[1] && s[2] && s[3]) {
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3Fu);
        return 4;
    }
    *cp = 0xFFFD; /* not reached for checked text; never loop forever */
    return 1;
}

static void out_string(ds_cfg_out *o, const char *s)
{
    if (config_plain_safe(s)) {
        out_printf(o, "%s", s);
        return;
    }
    out_printf(o, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t n = config_utf8_next(p, &cp);
        if (cp == '"' || cp == '\\')
            out_printf(o, "\\%c", (char)cp);
        else if (cp == '\n')
            out_printf(o, "\\n");
        else if (cp == '\t')
            out_printf(o, "\\t");
        else if (cp == '\r')
            out_printf(o, "\\r");
        else if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
            out_printf(o, "\\x%02X", (unsigned)cp);
        else if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || (cp >= 0xD800 && cp < 0xE000) ||
                 cp == 0xFFFE || cp == 0xFFFF)
            /* Line separators would be folded, a BOM dropped: escape them. */
            out_printf(o, "\\u%04X", (unsigned)cp);
        else
            out_printf(o, "%.*s", (int)n, (const char *)p);
        p += n;
    }
    out_printf(o, "\"");
}

/* ------------------------------------------------------------------------ */
/* Distributions                                                             */

static void out_param(ds_cfg_out *o, const char *key, double v)
{
    out_printf(o, ", %s: ", key);
    out_num(o, v);
}

static void out_dist(ds_cfg_out *o, const ds_dist *d, int in_mixture, double weight);

static void out_num_list(ds_cfg_out *o, const double *v, size_t n)
{
    out_printf(o, "[");
    for (size_t i = 0; i < n; ++i) {
        if (i)
            out_printf(o, ", ");
        out_num(o, v[i]);
    }
    out_printf(o, "]");
}

static void out_dist(ds_cfg_out *o, const ds_dist *d, int in_mixture, double weight)
{
    if (d->kind == DS_DIST_FIXED && !in_mixture) {
        out_num(o, d->value);
        return;
    }
    out_printf(o, "{");
    if (in_mixture) {
        out_printf(o, "weight: ");
        out_num(o, weight);
        out_printf(o, ", ");
    }
    out_printf(o, "dist: %s", ds_dist_kind_name(d->kind));
    switch (d->kind) {
    case DS_DIST_FIXED:
        out_param(o, "value", d->value);
        break;
    case DS_DIST_UNIFORM:
        out_param(o, "min", d->min);
        out_param(o, "max", d->max);
        break;
    case DS_DIST_TRIANGULAR:
    case DS_DIST_PERT:
        out_param(o, "min", d->min);
        out_param(o, "mode", d->mode);
        out_param(o, "max", d->max);
        if (d->kind == DS_DIST_PERT && isfinite(d->lambda) && d->lambda != 4)
            out_param(o, "lambda", d->lambda);
        break;
    case DS_DIST_BETA:
        out_param(o, "alpha", d->alpha);
        out_param(o, "beta", d->beta);
        if (isfinite(d->min) && d->min != 0)
            out_param(o, "min", d->min);
        if (isfinite(d->max) && d->max != 1)
            out_param(o, "max", d->max);
        break;
    case DS_DIST_NORMAL:
        out_param(o, "mean", d->mean);
        out_param(o, "sd", d->sd);
        if (isfinite(d->min))
            out_param(o, "min", d->min);
        if (isfinite(d->max))
            out_param(o, "max", d->max);
        break;
    case DS_DIST_LOGNORMAL:
        out_param(o, "median", d->median);
        out_param(o, "sigma", d->sigma);
        /* A lognormal is positive: a lower bound <= 0 truncates nothing. */
        if (isfinite(d->min) && d->min > 0)
            out_param(o, "min", d->min);
        if (isfinite(d->max))
            out_param(o, "max", d->max);
        break;
    case DS_DIST_BERNOULLI:
        out_param(o, "p", d->p);
        break;
    case DS_DIST_DISCRETE:
        out_printf(o, ", values: ");
        out_num_list(o, d->values, d->n);
        out_printf(o, ", weights: ");
        out_num_list(o, d->weights, d->n);
        break;
    case DS_DIST_MIXTURE:
        out_printf(o, ", components: [");
        for (size_t i = 0; i < d->n; ++i) {
            if (i)
                out_printf(o, ", ");
            out_dist(o, &d->components[i], 1, d->weights[i]);
        }
        out_printf(o, "]");
        break;
    case DS_DIST_KIND_COUNT:
        break;
    }
    out_printf(o, "}");
}

/* ------------------------------------------------------------------------ */
/* The scenario                                                              */

static void out_key_dist(ds_cfg_out *o, const char *indent, const char *key, const ds_dist *d)
{
    out_printf(o, "%s%s: ", indent, key);
    out_dist(o, d, 0, 0);
    out_printf(o, "\n");
}

static void out_key_num(ds_cfg_out *o, const char *indent, const char *key, double v)
{
    out_printf(o, "%s%s: ", indent, key);
    out_num(o, v);
    out_printf(o, "\n");
}

static void out_scenario(ds_cfg_out *o, const ds_scenario *sc)
{
    out_printf(o, "# Effective scenario: defaults filled in, overrides applied.\n");
    out_printf(o, "name: ");
    out_string(o, sc->name);
    out_printf(o, "\n");
    if (sc->description) {
        out_printf(o, "description: ");
        out_string(o, sc->description);
        out_printf(o, "\n");
    }
    out_printf(o, "trials: %llu\nseed: %llu\n", (unsigned long long)sc->trials,
               (unsigned long long)sc->seed);
    out_printf(o, "sampling: %s\n", ds_sampling_name(sc->sampling));

    out_printf(o, "round:\n");
    out_key_num(o, "  ", "target", sc->target);
    if (sc->has_cap)
        out_key_num(o, "  ", "cap", sc->cap);
    if (sc->has_minimum_close)
        out_key_num(o, "  ", "minimum_close", sc->minimum_close);
    if (sc->has_pre_money)
        out_key_dist(o, "  ", "pre_money", &sc->pre_money);

    out_printf(o, "investors:\n");
    for (size_t i = 0; i < sc->n_investors; ++i) {
        const ds_investor *inv = &sc->investors[i];
        out_printf(o, "  - name: ");
        out_string(o, inv->name);
        out_printf(o, "\n");
        out_key_num(o, "    ", "join_probability", inv->join_probability);
        out_key_dist(o, "    ", "amount", &inv->amount);
        out_key_dist(o, "    ", "round_trip", &inv->round_trip);
        out_printf(o, "    tranches:\n");
        for (size_t k = 0; k < inv->n_tranches; ++k) {
            const ds_tranche *t = &inv->tranches[k];
            out_printf(o, "      - {share: ");
            out_num(o, t->share);
            out_printf(o, ", month: ");
            out_dist(o, &t->month, 0, 0);
            out_printf(o, ", probability: ");
            out_num(o, t->probability);
            out_printf(o, "}\n");
        }
    }

    if (sc->n_correlations) {
        out_printf(o, "correlations:\n");
        for (size_t k = 0; k < sc->n_correlations; ++k) {
            const ds_correlation *c = &sc->correlations[k];
            out_printf(o, "  - [");
            out_string(o, c->a);
            out_printf(o, ", ");
            out_string(o, c->b);
            out_printf(o, ", ");
            out_num(o, c->rho);
            out_printf(o, "]\n");
        }
    }

    out_printf(o, "compute:\n");
    out_key_dist(o, "  ", "share", &sc->compute_share);
    out_printf(o, "  horizon_months: %d\n", sc->horizon);
    if (sc->schedule_kind == DS_SCHEDULE_EVEN) {
        out_printf(o, "  schedule: even\n");
    } else if (sc->schedule_kind == DS_SCHEDULE_FRONT_LOADED) {
        out_printf(o, "  schedule: front_loaded\n");
    } else {
        /* A flow list wrapped every 12 weights (a year), continuation lines
         * indented past the key as YAML requires. */
        out_printf(o, "  schedule: [");
        for (int m = 0; m < sc->horizon; ++m) {
            if (m)
                out_printf(o, m % 12 ? ", " : ",\n    ");
            out_num(o, sc->schedule[m]);
        }
        out_printf(o, "]\n");
    }
    out_printf(o, "  price:\n");
    out_key_dist(o, "    ", "initial", &sc->price_initial);
    out_key_dist(o, "    ", "drift", &sc->price_drift);
    out_key_dist(o, "    ", "volatility", &sc->price_volatility);
    out_key_dist(o, "    ", "mean_reversion", &sc->price_mean_reversion);
    if (sc->has_jumps) {
        out_printf(o, "    jumps:\n");
        out_key_dist(o, "      ", "rate", &sc->jump_rate);
        out_key_dist(o, "      ", "size", &sc->jump_size);
    }

    out_printf(o, "output:\n  file: ");
    out_string(o, sc->output_file);
    out_printf(o, "\n  per_trial: ");
    if (sc->per_trial_kind == DS_PER_TRIAL_NONE) {
        out_printf(o, "false");
    } else if (sc->per_trial_kind == DS_PER_TRIAL_ALL) {
        out_printf(o, "true");
    } else {
        out_printf(o, "[");
        for (size_t i = 0; i < sc->n_per_trial; ++i)
            out_printf(o, "%s%s", i ? ", " : "", sc->per_trial[i]);
        out_printf(o, "]");
    }
    out_printf(o,
               "\n  price_paths: %s\n  sensitivity: %s\n  per_trial_inputs: %s\n  conditional: "
               "%s\n  quantiles: ",
               sc->price_paths ? "true" : "false", sc->sensitivity ? "true" : "false",
               sc->per_trial_inputs ? "true" : "false", sc->conditional ? "true" : "false");
    out_num_list(o, sc->quantiles, sc->n_quantiles);
    out_printf(o, "\n  histogram_bins: %d\n", sc->histogram_bins);
    if (sc->compression < 0)
        out_printf(o, "  compression: none\n");
    else
        out_printf(o, "  compression: deflate:%d\n", sc->compression);
}

ds_status ds_scenario_to_yaml(const ds_scenario *sc, char **yaml, ds_diag *diag)
{
    if (!yaml)
        return ds_diag_set(diag, DS_ERR_USAGE, "", 0, 0, "ds_scenario_to_yaml: no output");
    *yaml = NULL;
    if (!sc)
        return ds_diag_set(diag, DS_ERR_USAGE, "", 0, 0, "ds_scenario_to_yaml: no scenario");
    ds_cfg_out o = {NULL, 0, 0, 0};
    o.cap = 4096;
    o.s = malloc(o.cap);
    if (!o.s)
        return ds_diag_set(diag, DS_ERR_NOMEM, "", 0, 0, "out of memory writing YAML");
    o.s[0] = '\0';
    out_scenario(&o, sc);
    if (o.failed) {
        free(o.s);
        return ds_diag_set(diag, DS_ERR_NOMEM, "", 0, 0, "out of memory writing YAML");
    }
    *yaml = o.s;
    return DS_OK;
}

/* ------------------------------------------------------------------------ */
/* Description                                                               */

/* "uniform, mean 5.5 on [1, 10]" or "fixed 3". */
static void config_describe_dist(FILE *f, const ds_dist *d)
{
    char m[40], a[40], b[40];
    if (ds_dist_is_fixed(d)) {
        ds_config_format_double(ds_dist_mean(d), m, sizeof m);
        fprintf(f, "fixed %s", m);
        return;
    }
    double lo, hi;
    ds_dist_support(d, &lo, &hi);
    snprintf(m, sizeof m, "%.4g", ds_dist_mean(d));
    snprintf(a, sizeof a, "%.4g", lo);
    snprintf(b, sizeof b, "%.4g", hi);
    fprintf(f, "%s, mean %s on [%s, %s]", ds_dist_kind_name(d->kind), m, a, b);
}

void ds_scenario_describe(const ds_scenario *sc, FILE *f)
{
    if (!sc || !f)
        return;
    fprintf(f, "Scenario %s: %llu trials, seed %llu\n", sc->name,
            (unsigned long long)sc->trials, (unsigned long long)sc->seed);
    fprintf(f, "Round: target %.6g", sc->target);
    if (sc->has_cap)
        fprintf(f, ", cap %.6g", sc->cap);
    if (sc->has_minimum_close)
        fprintf(f, ", closes at %.6g", sc->minimum_close);
    else
        fprintf(f, ", closes when anything is committed");
    if (sc->has_pre_money) {
        fprintf(f, ", pre-money ");
        config_describe_dist(f, &sc->pre_money);
    }
    fprintf(f, "\nInvestors (%zu):\n", sc->n_investors);
    for (size_t i = 0; i < sc->n_investors; ++i) {
        const ds_investor *inv = &sc->investors[i];
        fprintf(f, "  %s: joins with p %.4g; amount ", inv->name, inv->join_probability);
        config_describe_dist(f, &inv->amount);
        fprintf(f, "; round trip ");
        config_describe_dist(f, &inv->round_trip);
        fprintf(f, "\n    tranches:");
        for (size_t k = 0; k < inv->n_tranches; ++k) {
            const ds_tranche *t = &inv->tranches[k];
            fprintf(f, "%s %.4g at month ", k ? ";" : "", t->share);
            if (ds_dist_is_fixed(&t->month))
                fprintf(f, "%.6g", ds_dist_mean(&t->month));
            else
                config_describe_dist(f, &t->month);
            if (t->probability < 1)
                fprintf(f, " with p %.4g", t->probability);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "Compute: share ");
    config_describe_dist(f, &sc->compute_share);
    fprintf(f, "; %d months, schedule %s\n", sc->horizon,
            sc->schedule_kind == DS_SCHEDULE_EVEN          ? "even"
            : sc->schedule_kind == DS_SCHEDULE_FRONT_LOADED ? "front-loaded"
                                                            : "as listed");
    fprintf(f, "Price: initial ");
    config_describe_dist(f, &sc->price_initial);
    fprintf(f, "; drift ");
    config_describe_dist(f, &sc->price_drift);
    fprintf(f, "; volatility ");
    config_describe_dist(f, &sc->price_volatility);
    fprintf(f, "; mean reversion ");
    config_describe_dist(f, &sc->price_mean_reversion);
    if (sc->has_jumps) {
        fprintf(f, "; jumps per year ");
        config_describe_dist(f, &sc->jump_rate);
        fprintf(f, ", log size ");
        config_describe_dist(f, &sc->jump_size);
    }
    fprintf(f, "\n");

    size_t n_drawn = 0;
    for (size_t i = 0; i < sc->n_inputs; ++i)
        n_drawn += !sc->inputs[i].fixed;
    fprintf(f, "Uncertain inputs (%zu of %zu inputs):", n_drawn, sc->n_inputs);
    for (size_t i = 0; i < sc->n_inputs; ++i)
        if (!sc->inputs[i].fixed)
            fprintf(f, " %s", sc->inputs[i].name);
    fprintf(f, "\nCorrelations (%zu):", sc->n_correlations);
    for (size_t k = 0; k < sc->n_correlations; ++k)
        fprintf(f, "%s %s ~ %s: %.6g", k ? ";" : "", sc->correlations[k].a,
                sc->correlations[k].b, sc->correlations[k].rho);
    if (sc->n_correlations)
        fprintf(f, "\n  over %zu inputs; smallest eigenvalue of R: %.6g", sc->n_corr_inputs,
                sc->min_eigenvalue);
    else
        fprintf(f, " none (smallest eigenvalue of R: %.6g)", sc->min_eigenvalue);

    /* The random sources are the drawn inputs plus the price path's own
     * shocks when the volatility can be non-zero, and the jump process when
     * there are jumps. */
    int path = !(ds_dist_is_fixed(&sc->price_volatility) &&
                 ds_dist_mean(&sc->price_volatility) == 0);
    fprintf(f, "\nRandom sources (%zu):", n_drawn + (size_t)path + (size_t)sc->has_jumps);
    for (size_t i = 0; i < sc->n_inputs; ++i)
        if (!sc->inputs[i].fixed)
            fprintf(f, " %s", sc->inputs[i].name);
    if (path)
        fprintf(f, " price.path");
    if (sc->has_jumps)
        fprintf(f, " price.jumps");
    fprintf(f, "\n");
}
