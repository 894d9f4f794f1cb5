/* sim/config/config_get.c
 * The readers of one value that every section of the scenario shares:
 * numbers (in a range or not), whole numbers, booleans, strings, names,
 * `sampling`, mappings and the "missing required key" message.
 * Licence: see LICENSE at the top of the repository.
 *
 * Each reader checks one node's type, syntax and range and either stores the
 * value or reports "path: expected WHAT, found FOUND" at the node, adding why
 * where the text alone does not say (a quoted number, NaN, past 2^64-1).
 * Numbers follow the YAML 1.2 core schema's decimal syntax only, so "0x10",
 * "1_000" and ".5." are refused the same way everywhere; a whole number
 * written in digits is read digit by digit, never rounded through a double.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

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
ds_status ds_config_get_name(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
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
ds_status ds_config_get_map(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                            const char *path, const char *what)
{
    if (!node || node->type != DS_CFG_MAP)
        return ds_config_expected(ctx, node, path, what);
    return DS_OK;
}

ds_status ds_config_missing(const ds_cfg_ctx *ctx, const ds_cfg_node *at, const char *path,
                            const char *key, const char *what)
{
    return ds_config_error(ctx, at, "%s: missing required key \"%s\" (expected %s)",
                           path[0] ? path : "(top level)", key, what);
}

/* Prepares a default (a fixed number); idempotent when already prepared. */
ds_status ds_config_prepare_fixed(const ds_cfg_ctx *ctx, ds_dist *d)
{
    ds_diag local;
    ds_diag_clear(&local);
    ds_status st = ds_dist_prepare(d, &local);
    if (st != DS_OK)
        return ds_diag_set(ctx->diag, st, ctx->label, 0, 0, "%s", local.msg);
    return DS_OK;
}
