/* sim/config/config_set.c
 * --set KEY=VALUE overrides, grafted into the parsed scenario tree.
 * Licence: see LICENSE at the top of the repository.
 *
 * KEY is a dotted path: mapping keys by name, entries of lists of named
 * mappings by their `name` only (investors.Nvidia.amount, so an investor
 * named "1" is never confused with the second one), and list entries by
 * index in brackets, which no name can spell (investors[1].amount,
 * investors.Amazon.tranches[0].share, output.quantiles[2]).  VALUE is parsed as YAML, so "1e7" is a number
 * and "{dist: uniform, min: 1, max: 2}" a distribution.  A key missing from
 * the file is created; whether it is a known key is decided later by the
 * same validation as the file's own keys, so an override gets exactly the
 * file's checks.  Every grafted node carries the position --set:N:col, so
 * errors point at the override, not at the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

static int config_set_key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* Finds an entry of a list of named mappings by its name; -1 if none. */
static long config_set_find_entry(const ds_cfg_node *seq, const char *seg)
{
    for (size_t i = 0; i < seq->n; ++i) {
        const ds_cfg_node *name = ds_config_map_get(seq->items[i], "name", NULL);
        if (name && name->type == DS_CFG_SCALAR && strcmp(name->text, seg) == 0)
            return (long)i;
    }
    return -1;
}

static ds_status config_set_no_entry(const ds_cfg_ctx *ctx, int origin, int col,
                                     const char *path, const ds_cfg_node *seq, const char *seg)
{
    /* Offer the names there are, and the closest one. */
    const char *names[DS_MAX_INVESTORS];
    size_t n_names = 0;
    char list[512] = "";
    size_t o = 0;
    for (size_t i = 0; i < seq->n && n_names < DS_MAX_INVESTORS; ++i) {
        const ds_cfg_node *name = ds_config_map_get(seq->items[i], "name", NULL);
        if (name && name->type == DS_CFG_SCALAR) {
            names[n_names++] = name->text;
            if (o < sizeof list) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", name->text);
                if (w > 0)
                    o += (size_t)w;
            }
        }
    }
    char q[96], hint[128] = "";
    ds_config_quote(seg, strlen(seg), q, sizeof q);
    const char *best = ds_config_closest(seg, names, n_names);
    if (best)
        snprintf(hint, sizeof hint, "; did you mean \"%s\"?", best);
    if (n_names)
        return ds_config_error_at(ctx, origin, origin, col,
                                  "%s: expected an entry name (%s), or an index in brackets "
                                  "%s[0]..%s[%zu], found %s%s",
                                  path, list, path, path, seq->n ? seq->n - 1 : 0, q, hint);
    return ds_config_error_at(ctx, origin, origin, col,
                              "%s: expected an index in brackets, %s[0]..%s[%zu] (the list has "
                              "%zu entries), found %s",
                              path, path, path, seq->n ? seq->n - 1 : 0, seq->n, q);
}

static ds_status config_set_not_container(const ds_cfg_ctx *ctx, int origin, int col,
                                          const char *path, const ds_cfg_node *cur,
                                          const char *seg, const char *what)
{
    char found[128];
    ds_config_found(cur, found, sizeof found);
    return ds_config_error_at(ctx, origin, origin, col,
                              "%s: expected %s to look up \"%s\" in, found %s (override %s as "
                              "a whole instead)",
                              path[0] ? path : "(top level)", what, seg, found,
                              path[0] ? path : "it");
}

/* One step of the path: `seg` a key or an entry name (idx < 0), or an index
 * (idx >= 0).  At the last step *value is grafted (and set to NULL). */
static ds_status config_set_step(const ds_cfg_ctx *ctx, ds_cfg_node **curp, const char *seg,
                                 long idx, int last, int origin, int col, char *path,
                                 size_t path_size, ds_cfg_node **value)
{
    ds_cfg_node *cur = *curp;
    char tmp[DS_CFG_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    if (idx >= 0) {
        if (cur->type != DS_CFG_SEQ)
            return config_set_not_container(ctx, origin, col, tmp, cur, seg, "a list");
        if ((size_t)idx >= cur->n)
            return ds_config_error_at(ctx, origin, origin, col,
                                      "%s: expected an index 0..%zu (the list has %zu entries), "
                                      "found %ld",
                                      tmp, cur->n ? cur->n - 1 : 0, cur->n, idx);
    } else if (cur->type == DS_CFG_SEQ) {
        if ((idx = config_set_find_entry(cur, seg)) < 0)
            return config_set_no_entry(ctx, origin, col, tmp, cur, seg);
    }
    if (cur->type == DS_CFG_SEQ) {
        ds_config_path_index(path, path_size, tmp, (size_t)idx);
        if (last) {
            ds_config_node_free(cur->items[idx]);
            cur->items[idx] = *value;
            *value = NULL;
            return DS_OK;
        }
        *curp = cur->items[idx];
        return DS_OK;
    }
    if (cur->type != DS_CFG_MAP)
        return config_set_not_container(ctx, origin, col, tmp, cur, seg, "a mapping or a list");
    ds_config_path_key(path, path_size, tmp, seg);
    size_t i = 0;
    while (i < cur->n && strcmp(cur->items[i]->text, seg) != 0)
        ++i;
    if (i < cur->n) {
        if (last) {
            ds_config_node_free(cur->values[i]);
            cur->values[i] = *value;
            *value = NULL;
            return DS_OK;
        }
        if (ds_config_is_null(cur->values[i])) {
            /* "key:" with nothing: descend into a fresh mapping. */
            ds_cfg_node *m = ds_config_node_new(DS_CFG_MAP, origin, origin, col);
            if (!m)
                return ds_config_nomem(ctx);
            ds_config_node_free(cur->values[i]);
            cur->values[i] = m;
        }
        *curp = cur->values[i];
        return DS_OK;
    }
    ds_cfg_node *key = ds_config_node_new_scalar(seg, strlen(seg), origin, origin, col);
    ds_cfg_node *val = last ? *value : ds_config_node_new(DS_CFG_MAP, origin, origin, col);
    if (last)
        *value = NULL;
    if (!key || !val) {
        ds_config_node_free(key);
        ds_config_node_free(val);
        return ds_config_nomem(ctx);
    }
    if (ds_config_node_append(cur, key, val) != DS_OK)
        return ds_config_nomem(ctx);
    *curp = val;
    return DS_OK;
}

/* Grafts one override; takes ownership of *value (set to NULL when used).
 * KEY: step ('.' step)*, step: name ('[' digits ']')* | ('[' digits ']')+. */
static ds_status config_set_graft(const ds_cfg_ctx *ctx, ds_cfg_node *root, const char *set,
                                  size_t key_len, int origin, ds_cfg_node **value)
{
    ds_cfg_node *cur = root;
    char path[DS_CFG_PATH_MAX] = "", seg[DS_CFG_PATH_MAX];
    size_t start = 0;
    while (start <= key_len) {
        size_t end = start;
        while (end < key_len && set[end] != '.')
            ++end;
        int col = (int)start + 1;
        size_t name_end = start;
        while (name_end < end && set[name_end] != '[')
            ++name_end;
        size_t seg_len = name_end - start;
        if (end == start)
            return ds_config_error_at(ctx, origin, origin, col,
                                      "expected KEY=VALUE with KEY a dotted path such as "
                                      "round.cap, found an empty key part");
        if (seg_len >= sizeof seg)
            return ds_config_error_at(ctx, origin, origin, col, "key part too long");
        for (size_t i = start; i < name_end; ++i) {
            if (!config_set_key_char(set[i])) {
                char q[96];
                ds_config_quote(set + start, end - start, q, sizeof q);
                return ds_config_error_at(ctx, origin, origin, (int)i + 1,
                                          "expected a key of letters, digits, '_' and '-' "
                                          "(dotted, e.g. investors.Nvidia.amount, or an index "
                                          "in brackets, investors[0]), found %s",
                                          q);
            }
        }
        memcpy(seg, set + start, seg_len);
        seg[seg_len] = '\0';
        if (seg_len > 0)
            DS_TRY(config_set_step(ctx, &cur, seg, -1, name_end == key_len, origin, col, path,
                                   sizeof path, value));
        /* Indices: "[digits]" one after the other up to the end of the part. */
        for (size_t p = name_end; p < end;) {
            size_t q = p + 1, digits = 0;
            long idx = 0;
            while (q < end && set[q] >= '0' && set[q] <= '9') {
                if (digits++ < 9)
                    idx = idx * 10 + (set[q] - '0');
                ++q;
            }
            if (set[p] != '[' || digits == 0 || q >= end || set[q] != ']') {
                char qq[96];
                ds_config_quote(set + start, end - start, qq, sizeof qq);
                return ds_config_error_at(ctx, origin, origin, (int)p + 1,
                                          "expected an index in brackets such as investors[0], "
                                          "found %s",
                                          qq);
            }
            if (digits > 9)
                idx = 1000000000L; /* past any list: reported as out of range */
            snprintf(seg, sizeof seg, "[%ld]", idx);
            DS_TRY(config_set_step(ctx, &cur, seg, idx, q + 1 == key_len, origin, (int)p + 1,
                                   path, sizeof path, value));
            p = q + 1;
        }
        if (end == key_len)
            return DS_OK;
        start = end + 1;
    }
    return DS_OK;
}

static ds_status config_apply_one(const ds_cfg_ctx *ctx, ds_cfg_node *root, const char *set,
                                  int origin)
{
    if (!set)
        return ds_config_error_at(ctx, origin, origin, 1, "expected KEY=VALUE, found nothing");
    const char *eq = strchr(set, '=');
    if (!eq) {
        char q[96];
        ds_config_quote(set, strlen(set), q, sizeof q);
        return ds_config_error_at(ctx, origin, origin, 1,
                                  "expected KEY=VALUE (e.g. round.cap=80), found %s", q);
    }
    size_t key_len = (size_t)(eq - set);
    if (key_len == 0)
        return ds_config_error_at(ctx, origin, origin, 1,
                                  "expected KEY=VALUE, found nothing before '='");
    if (key_len >= DS_CFG_PATH_MAX)
        return ds_config_error_at(ctx, origin, origin, 1, "expected a shorter KEY (at most %d "
                                  "characters), found %zu characters",
                                  DS_CFG_PATH_MAX - 1, key_len);
    char key[DS_CFG_PATH_MAX];
    memcpy(key, set, key_len);
    key[key_len] = '\0';

    const char *vtext = eq + 1;
    size_t vlen = strlen(vtext);
    int col_offset = (int)key_len + 1;
    ds_cfg_node *value = NULL;
    ds_status st = ds_config_parse(ctx, vtext, vlen, origin, col_offset, key, &value);
    if (st != DS_OK)
        return st;
    if (!value)
        return ds_config_error_at(ctx, origin, origin, col_offset + 1,
                                  "%s: expected a YAML value after '=', found nothing", key);
    st = config_set_graft(ctx, root, set, key_len, origin, &value);
    ds_config_node_free(value);
    return st;
}

ds_status ds_config_apply_sets(const ds_cfg_ctx *ctx, ds_cfg_node *root,
                               const char *const *sets, size_t n_sets)
{
    if (n_sets > 0 && !sets)
        return ds_diag_set(ctx->diag, DS_ERR_USAGE, "", 0, 0, "--set list is missing");
    for (size_t i = 0; i < n_sets; ++i) {
        int origin = i < 1000000 ? (int)i + 1 : 1000000;
        DS_TRY(config_apply_one(ctx, root, sets[i], origin));
    }
    return DS_OK;
}
