/* sim/config/config_set.c
 * --set KEY=VALUE overrides, grafted into the parsed scenario tree.
 * Licence: see LICENSE at the top of the repository.
 *
 * KEY is a dotted path: mapping keys by name, list entries by index
 * (investors.0.amount) or, for lists of named mappings, by their `name`
 * (investors.Nvidia.amount).  VALUE is parsed as YAML, so "1e7" is a number
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

/* Finds a list entry by index ("0") or by its name; -1 if there is none. */
static long config_set_find_entry(const ds_cfg_node *seq, const char *seg)
{
    size_t k = 0;
    while (seg[k] >= '0' && seg[k] <= '9')
        ++k;
    if (k > 0 && seg[k] == '\0') {
        if (k > 9)
            return -1;
        long idx = strtol(seg, NULL, 10);
        return (size_t)idx < seq->n ? idx : -1;
    }
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
                                  "%s: expected an entry name (%s) or an index 0..%zu, found "
                                  "%s%s",
                                  path, list, seq->n ? seq->n - 1 : 0, q, hint);
    return ds_config_error_at(ctx, origin, origin, col,
                              "%s: expected an index 0..%zu (the list has %zu entries), "
                              "found %s",
                              path, seq->n ? seq->n - 1 : 0, seq->n, q);
}

/* Grafts one override; takes ownership of *value (set to NULL when used). */
static ds_status config_set_graft(const ds_cfg_ctx *ctx, ds_cfg_node *root, const char *set,
                                  size_t key_len, int origin, ds_cfg_node **value)
{
    ds_cfg_node *cur = root;
    char path[DS_CFG_PATH_MAX] = "", tmp[DS_CFG_PATH_MAX], seg[DS_CFG_PATH_MAX];
    size_t start = 0;
    while (start <= key_len) {
        size_t end = start;
        while (end < key_len && set[end] != '.')
            ++end;
        int col = (int)start + 1;
        size_t seg_len = end - start;
        if (seg_len == 0)
            return ds_config_error_at(ctx, origin, origin, col,
                                      "expected KEY=VALUE with KEY a dotted path such as "
                                      "round.cap, found an empty key part");
        if (seg_len >= sizeof seg)
            return ds_config_error_at(ctx, origin, origin, col, "key part too long");
        for (size_t i = start; i < end; ++i) {
            if (!config_set_key_char(set[i])) {
                char q[96];
                ds_config_quote(set + start, seg_len, q, sizeof q);
                return ds_config_error_at(ctx, origin, origin, (int)i + 1,
                                          "expected a key of letters, digits, '_' and '-' "
                                          "(dotted, e.g. investors.Nvidia.amount), found %s",
                                          q);
            }
        }
        memcpy(seg, set + start, seg_len);
        seg[seg_len] = '\0';
        int last = end == key_len;
        snprintf(tmp, sizeof tmp, "%s", path);

        if (cur->type == DS_CFG_MAP) {
            ds_config_path_key(path, sizeof path, tmp, seg);
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
                cur = cur->values[i];
            } else {
                ds_cfg_node *key = ds_config_node_new_scalar(seg, seg_len, origin, origin, col);
                ds_cfg_node *val = last ? *value
                                        : ds_config_node_new(DS_CFG_MAP, origin, origin, col);
                if (last)
                    *value = NULL;
                if (!key || !val) {
                    ds_config_node_free(key);
                    ds_config_node_free(val);
                    return ds_config_nomem(ctx);
                }
                if (ds_config_node_append(cur, key, val) != DS_OK)
                    return ds_config_nomem(ctx);
                if (last)
                    return DS_OK;
                cur = val;
            }
        } else if (cur->type == DS_CFG_SEQ) {
            long idx = config_set_find_entry(cur, seg);
            if (idx < 0)
                return config_set_no_entry(ctx, origin, col, tmp, cur, seg);
            ds_config_path_index(path, sizeof path, tmp, (size_t)idx);
            if (last) {
                ds_config_node_free(cur->items[idx]);
                cur->items[idx] = *value;
                *value = NULL;
                return DS_OK;
            }
            cur = cur->items[idx];
        } else {
            char found[128];
            ds_config_found(cur, found, sizeof found);
            return ds_config_error_at(ctx, origin, origin, col,
                                      "%s: expected a mapping or a list to look up \"%s\" in, "
                                      "found %s (override %s as a whole instead)",
                                      tmp[0] ? tmp : "(top level)", seg, found,
                                      tmp[0] ? tmp : "it");
        }
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
