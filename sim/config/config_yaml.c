/* sim/config/config_yaml.c
 * Scenario text -> a tree of positioned YAML nodes, with libyaml's event API.
 * Licence: see LICENSE at the top of the repository.
 *
 * This is the only file of dealsim that includes <yaml.h>.  What it refuses,
 * and why:
 *   - bytes that are not UTF-8 text (NUL, invalid sequences, control
 *     characters): checked before libyaml so that the message has a position;
 *   - anchors and aliases: they allow exponential expansion ("billion laughs")
 *     and a scenario has no use for them;
 *   - explicit tags and more than one document: nothing in CONFIG.md needs
 *     them, and ignoring them would silently change meaning;
 *   - duplicate keys in a mapping (found in O(n log n), so that a 4 MB file of
 *     keys cannot stall the loader);
 *   - nesting deeper than DS_CFG_MAX_NESTING.
 * Tabs used for indentation make libyaml fail; the message is rewritten to
 * say so at the tab's position.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config_internal.h"

/* ------------------------------------------------------------------------ */
/* Diagnostics                                                               */

static ds_status config_verror(const ds_cfg_ctx *ctx, int origin, int line, int col,
                               const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 0)))
#endif
    ;

static ds_status config_verror(const ds_cfg_ctx *ctx, int origin, int line, int col,
                               const char *fmt, va_list ap)
{
    char msg[DS_DIAG_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (origin > 0)
        return ds_diag_set(ctx->diag, DS_ERR_SCENARIO, "--set", origin, col, "%s", msg);
    return ds_diag_set(ctx->diag, DS_ERR_SCENARIO, ctx->label, line, col, "%s", msg);
}

ds_status ds_config_error_at(const ds_cfg_ctx *ctx, int origin, int line, int col,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ds_status st = config_verror(ctx, origin, line, col, fmt, ap);
    va_end(ap);
    return st;
}

ds_status ds_config_error(const ds_cfg_ctx *ctx, const ds_cfg_node *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ds_status st = config_verror(ctx, at ? at->origin : 0, at ? at->line : 1, at ? at->col : 1,
                                 fmt, ap);
    va_end(ap);
    return st;
}

ds_status ds_config_nomem(const ds_cfg_ctx *ctx)
{
    return ds_diag_set(ctx->diag, DS_ERR_NOMEM, ctx->label, 0, 0,
                       "out of memory while loading the scenario");
}

char *ds_config_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Nodes                                                                     */

void ds_config_node_free(ds_cfg_node *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->n; ++i) {
        ds_config_node_free(node->items[i]);
        if (node->values)
            ds_config_node_free(node->values[i]);
    }
    free(node->items);
    free(node->values);
    free(node->text);
    free(node);
}

ds_cfg_node *ds_config_node_new(ds_cfg_type type, int origin, int line, int col)
{
    ds_cfg_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->type = type;
    n->origin = origin;
    n->line = line;
    n->col = col;
    return n;
}

ds_cfg_node *ds_config_node_new_scalar(const char *text, size_t len, int origin, int line,
                                       int col)
{
    ds_cfg_node *n = ds_config_node_new(DS_CFG_SCALAR, origin, line, col);
    if (!n)
        return NULL;
    n->text = malloc(len + 1);
    if (!n->text) {
        free(n);
        return NULL;
    }
    memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->len = len;
    n->plain = 1;
    return n;
}

ds_status ds_config_node_append(ds_cfg_node *parent, ds_cfg_node *key, ds_cfg_node *value)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? 2 * parent->cap : 4;
        ds_cfg_node **items = realloc(parent->items, cap * sizeof *items);
        if (!items)
            goto fail;
        parent->items = items;
        if (parent->type == DS_CFG_MAP) {
            ds_cfg_node **values = realloc(parent->values, cap * sizeof *values);
            if (!values)
                goto fail;
            parent->values = values;
        }
        parent->cap = cap;
    }
    if (parent->type == DS_CFG_MAP) {
        parent->items[parent->n] = key;
        parent->values[parent->n] = value;
    } else {
        parent->items[parent->n] = value;
    }
    parent->n++;
    return DS_OK;
fail:
    ds_config_node_free(key);
    ds_config_node_free(value);
    return DS_ERR_NOMEM;
}

/* ------------------------------------------------------------------------ */
/* Text check: UTF-8, no NUL, no control characters                          */

/* Position bookkeeping shared by the text check and the tab finder: libyaml
 * counts lines at LF, CR, CRLF (once), NEL, LS and PS, and columns in
 * characters, so we do the same to agree with its marks. */
typedef struct {
    int origin, col_offset;
    int end_col; /* one past the last character when the text is one line, else 0 */
} ds_cfg_pos;

static void config_place(const ds_cfg_pos *pos, int line, int col, int *out_line, int *out_col)
{
    if (pos->origin > 0) {
        /* A --set is one line.  libyaml puts the end of the stream on a line
         * of its own; map that back to just after the value. */
        *out_line = pos->origin;
        if (line == 1)
            *out_col = pos->col_offset + col;
        else if (pos->end_col > 0)
            *out_col = pos->col_offset + pos->end_col;
        else
            *out_col = col;
    } else {
        *out_line = line;
        *out_col = col;
    }
}

/* Decodes one UTF-8 sequence at s[0..avail); returns its length, or 0 when
 * it is invalid (overlong, surrogate, past U+10FFFF, truncated). */
static size_t config_utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, v = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, v = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; ++i) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

/* The characters libyaml's reader accepts (YAML 1.1 "printable"). */
static int config_printable(uint32_t c)
{
    return c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
           (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0x10FFFF);
}

static ds_status config_check_text(const ds_cfg_ctx *ctx, ds_cfg_pos *pos, const char *text,
                                   size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    int line = 1, col = 1, l, c;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t n = config_utf8_decode(s + i, len - i, &cp);
        config_place(pos, line, col, &l, &c);
        if (s[i] == 0)
            return ds_config_error_at(ctx, pos->origin, l, c,
                                      "a NUL byte is not allowed: scenario files are UTF-8 "
                                      "text (is this a binary file?)");
        if (n == 0)
            return ds_config_error_at(ctx, pos->origin, l, c,
                                      "invalid UTF-8 (byte 0x%02X): scenario files are UTF-8 "
                                      "text (is this a binary file?)",
                                      (unsigned)s[i]);
        if (!config_printable(cp))
            return ds_config_error_at(ctx, pos->origin, l, c,
                                      "control character U+%04X is not allowed: scenario "
                                      "files are UTF-8 text (is this a binary file?)",
                                      (unsigned)cp);
        i += n;
        if (cp == '\r' && i < len && s[i] == '\n')
            ++i;
        if (cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    pos->end_col = line == 1 ? col : 0;
    return DS_OK;
}

/* Byte offset of the start of 0-based line `line` (len if past the end). */
static size_t config_line_start(const char *text, size_t len, size_t line)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, cur = 0;
    while (i < len && cur < line) {
        if (s[i] == '\n') {
            ++cur;
            ++i;
        } else if (s[i] == '\r') {
            ++cur;
            ++i;
            if (i < len && s[i] == '\n')
                ++i;
        } else if (s[i] == 0xC2 && i + 1 < len && s[i + 1] == 0x85) {
            ++cur;
            i += 2;
        } else if (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 &&
                   (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            ++cur;
            i += 3;
        } else {
            ++i;
        }
    }
    return i;
}

/* ------------------------------------------------------------------------ */
/* libyaml events -> tree                                                    */

typedef struct {
    const ds_cfg_ctx *ctx;
    ds_cfg_pos pos;
    const char *text;
    size_t len;
    const char *prefix; /* key path of the parsed value (a --set KEY), or "" */
    ds_cfg_node *root;
    ds_cfg_node *stack[DS_CFG_MAX_NESTING];
    int depth;
    size_t nodes;
    int documents;
} ds_cfg_builder;

static ds_status config_error_mark(const ds_cfg_builder *b, yaml_mark_t mark, const char *fmt,
                                   ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static ds_status config_error_mark(const ds_cfg_builder *b, yaml_mark_t mark, const char *fmt,
                                   ...)
{
    int line, col;
    config_place(&b->pos, (int)mark.line + 1, (int)mark.column + 1, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    ds_status st = config_verror(b->ctx, b->pos.origin, line, col, fmt, ap);
    va_end(ap);
    return st;
}

/* Reports libyaml's failure.  A tab in the indentation of the failing line
 * (or a tab exactly where libyaml stopped) is by far the most common cause,
 * and libyaml's own words ("found character that cannot start any token")
 * do not say so. */
static ds_status config_yaml_failure(const ds_cfg_builder *b, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return ds_config_nomem(b->ctx);
    if (p->error == YAML_READER_ERROR) {
        /* The text check catches what the reader rejects; this is a fallback
         * with a position derived from the byte offset. */
        yaml_mark_t m = {0, 0, 0};
        size_t off = p->problem_offset < b->len ? p->problem_offset : b->len;
        for (size_t i = 0; i < off; ++i) {
            if (b->text[i] == '\n') {
                m.line++;
                m.column = 0;
            } else if (((unsigned char)b->text[i] & 0xC0) != 0x80) {
                m.column++;
            }
        }
        return config_error_mark(b, m, "cannot read the text: %s",
                                 p->problem ? p->problem : "unknown reader error");
    }
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_SCANNER_ERROR || p->error == YAML_PARSER_ERROR) {
        size_t start = config_line_start(b->text, b->len, m.line);
        for (size_t i = start; i < b->len && (b->text[i] == ' ' || b->text[i] == '\t'); ++i) {
            if (b->text[i] == '\t') {
                yaml_mark_t t = m;
                t.column = i - start;
                return config_error_mark(b, t,
                                         "a tab character is used for indentation: YAML "
                                         "indents with spaces only");
            }
        }
    }
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->context) {
        int cl, cc;
        config_place(&b->pos, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1,
                     &cl, &cc);
        if (b->pos.origin > 0)
            return config_error_mark(b, m, "YAML syntax error: %s (%s that starts at column "
                                     "%d)",
                                     problem, p->context, cc);
        return config_error_mark(b, m, "YAML syntax error: %s (%s that starts at line %d, "
                                 "column %d)",
                                 problem, p->context, cl, cc);
    }
    return config_error_mark(b, m, "YAML syntax error: %s", problem);
}

/* Finds the first duplicate key of a mapping in document order, sorting an
 * index so that the check is O(n log n). */
typedef struct {
    const ds_cfg_node *key;
    size_t index;
} ds_cfg_keyref;

static int config_keyref_cmp(const void *pa, const void *pb)
{
    const ds_cfg_keyref *a = pa, *b = pb;
    int c = strcmp(a->key->text, b->key->text);
    if (c)
        return c;
    return (a->index > b->index) - (a->index < b->index);
}

/* The key path of the container just closed (stack[b->depth]), from the
 * keys and indices currently open above it. */
static void config_stack_path(const ds_cfg_builder *b, char *out, size_t size)
{
    char tmp[DS_CFG_PATH_MAX];
    snprintf(out, size, "%s", b->prefix ? b->prefix : "");
    for (int d = 1; d <= b->depth; ++d) {
        const ds_cfg_node *parent = b->stack[d - 1];
        if (parent->n == 0)
            break;
        snprintf(tmp, sizeof tmp, "%s", out);
        if (parent->type == DS_CFG_MAP)
            ds_config_path_key(out, size, tmp, parent->items[parent->n - 1]->text);
        else
            ds_config_path_index(out, size, tmp, parent->n - 1);
    }
}

static ds_status config_check_duplicates(const ds_cfg_builder *b, const ds_cfg_node *map)
{
    if (map->n < 2)
        return DS_OK;
    ds_cfg_keyref *refs = malloc(map->n * sizeof *refs);
    if (!refs)
        return ds_config_nomem(b->ctx);
    for (size_t i = 0; i < map->n; ++i) {
        refs[i].key = map->items[i];
        refs[i].index = i;
    }
    qsort(refs, map->n, sizeof *refs, config_keyref_cmp);
    size_t worst = map->n, first = 0;
    for (size_t i = 1; i < map->n; ++i) {
        if (strcmp(refs[i].key->text, refs[i - 1].key->text) == 0 && refs[i].index < worst) {
            worst = refs[i].index;
            first = refs[i - 1].index;
        }
    }
    free(refs);
    if (worst == map->n)
        return DS_OK;
    const ds_cfg_node *dup = map->items[worst], *orig = map->items[first];
    char q[96], where[DS_CFG_PATH_MAX], path[DS_CFG_PATH_MAX];
    ds_config_quote(dup->text, dup->len, q, sizeof q);
    config_stack_path(b, where, sizeof where);
    ds_config_path_key(path, sizeof path, where, dup->text);
    if (orig->origin == 0)
        return ds_config_error(b->ctx, dup,
                               "%s: duplicate key %s (it is already given at line %d, "
                               "column %d)",
                               path, q, orig->line, orig->col);
    return ds_config_error(b->ctx, dup, "%s: duplicate key %s", path, q);
}

static const char *config_kind_of_event(yaml_event_type_t t)
{
    return t == YAML_SEQUENCE_START_EVENT ? "a list" : "a mapping";
}

/* Hangs a new node under the current container (or makes it the root). */
static ds_status config_attach(ds_cfg_builder *b, ds_cfg_node *node, yaml_mark_t mark)
{
    if (++b->nodes > DS_CFG_MAX_NODES) {
        ds_config_node_free(node);
        return config_error_mark(b, mark, "more than %d values in one file; a scenario needs "
                                 "far fewer",
                                 DS_CFG_MAX_NODES);
    }
    if (b->depth == 0) {
        if (b->root) {
            ds_config_node_free(node);
            return config_error_mark(b, mark, "more than one top-level value");
        }
        b->root = node;
        return DS_OK;
    }
    ds_cfg_node *parent = b->stack[b->depth - 1];
    if (parent->type == DS_CFG_SEQ) {
        if (ds_config_node_append(parent, NULL, node) != DS_OK)
            return ds_config_nomem(b->ctx);
        return DS_OK;
    }
    /* A mapping alternates keys and values; a key waits with a NULL value. */
    if (parent->n > 0 && parent->values[parent->n - 1] == NULL) {
        parent->values[parent->n - 1] = node;
        return DS_OK;
    }
    if (node->type != DS_CFG_SCALAR) {
        const char *what = node->type == DS_CFG_SEQ ? "a list" : "a mapping";
        ds_config_node_free(node);
        return config_error_mark(b, mark, "a mapping key must be a plain name, found %s",
                                 what);
    }
    if (ds_config_node_append(parent, node, NULL) != DS_OK)
        return ds_config_nomem(b->ctx);
    return DS_OK;
}

static ds_status config_reject_anchor_tag(const ds_cfg_builder *b, yaml_mark_t mark,
                                          const yaml_char_t *anchor, const yaml_char_t *tag)
{
    char q[96];
    if (anchor) {
        /* libyaml admits only [A-Za-z0-9_-] in anchor names: safe to print. */
        return config_error_mark(b, mark,
                                 "anchors (&%.48s) and aliases are not allowed in scenario "
                                 "files: they can expand without bound (\"billion laughs\"); "
                                 "write the value out",
                                 (const char *)anchor);
    }
    if (tag) {
        const char *t = (const char *)tag;
        ds_config_quote(t, strlen(t), q, sizeof q);
        return config_error_mark(b, mark,
                                 "explicit YAML tags (%s) are not allowed in scenario files", q);
    }
    return DS_OK;
}

static ds_status config_on_event(ds_cfg_builder *b, const yaml_event_t *ev, int *done)
{
    ds_status st;
    int line, col;
    config_place(&b->pos, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1, &line,
                 &col);
    switch (ev->type) {
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
        return DS_OK;
    case YAML_STREAM_END_EVENT:
        *done = 1;
        return DS_OK;
    case YAML_DOCUMENT_START_EVENT:
        if (b->documents++ > 0)
            return config_error_mark(b, ev->start_mark,
                                     "a second YAML document (---): a scenario is one "
                                     "document");
        return DS_OK;
    case YAML_ALIAS_EVENT:
        return config_error_mark(b, ev->start_mark,
                                 "aliases (*%.48s) and anchors are not allowed in scenario "
                                 "files: they can expand without bound (\"billion laughs\"); "
                                 "write the value out",
                                 (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT: {
        st = config_reject_anchor_tag(b, ev->start_mark, ev->data.scalar.anchor,
                                      ev->data.scalar.tag);
        if (st != DS_OK)
            return st;
        const char *v = (const char *)ev->data.scalar.value;
        size_t n = ev->data.scalar.length;
        if (memchr(v, '\0', n))
            return config_error_mark(b, ev->start_mark,
                                     "a NUL character (\\0) in a string is not allowed");
        ds_cfg_node *node = ds_config_node_new_scalar(v, n, b->pos.origin, line, col);
        if (!node)
            return ds_config_nomem(b->ctx);
        node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return config_attach(b, node, ev->start_mark);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        const yaml_char_t *anchor = ev->type == YAML_SEQUENCE_START_EVENT
                                        ? ev->data.sequence_start.anchor
                                        : ev->data.mapping_start.anchor;
        const yaml_char_t *tag = ev->type == YAML_SEQUENCE_START_EVENT
                                     ? ev->data.sequence_start.tag
                                     : ev->data.mapping_start.tag;
        st = config_reject_anchor_tag(b, ev->start_mark, anchor, tag);
        if (st != DS_OK)
            return st;
        if (b->depth >= DS_CFG_MAX_NESTING)
            return config_error_mark(b, ev->start_mark,
                                     "%s nested more than %d levels deep",
                                     config_kind_of_event(ev->type), DS_CFG_MAX_NESTING);
        ds_cfg_node *node = ds_config_node_new(
            ev->type == YAML_SEQUENCE_START_EVENT ? DS_CFG_SEQ : DS_CFG_MAP, b->pos.origin,
            line, col);
        if (!node)
            return ds_config_nomem(b->ctx);
        st = config_attach(b, node, ev->start_mark);
        if (st != DS_OK)
            return st;
        b->stack[b->depth++] = node;
        return DS_OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        if (b->depth == 0)
            return ds_diag_set(b->ctx->diag, DS_ERR_INTERNAL, b->ctx->label, 0, 0,
                               "unbalanced YAML events");
        ds_cfg_node *node = b->stack[--b->depth];
        if (node->type == DS_CFG_MAP)
            return config_check_duplicates(b, node);
        return DS_OK;
    }
    }
    return DS_OK;
}

ds_status ds_config_parse(const ds_cfg_ctx *ctx, const char *text, size_t len, int origin,
                          int col_offset, const char *path_prefix, ds_cfg_node **root)
{
    *root = NULL;
    ds_cfg_builder *b = calloc(1, sizeof *b);
    if (!b)
        return ds_config_nomem(ctx);
    b->ctx = ctx;
    b->pos.origin = origin;
    b->pos.col_offset = col_offset;
    b->text = text;
    b->len = len;
    b->prefix = path_prefix;

    ds_status st = config_check_text(ctx, &b->pos, text, len);
    if (st != DS_OK) {
        free(b);
        return st;
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(b);
        return ds_config_nomem(ctx);
    }
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int done = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            st = config_yaml_failure(b, &parser);
            break;
        }
        st = config_on_event(b, &ev, &done);
        yaml_event_delete(&ev);
        if (st != DS_OK)
            break;
    }
    yaml_parser_delete(&parser);
    if (st == DS_OK)
        *root = b->root;
    else
        ds_config_node_free(b->root);
    free(b);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Helpers for messages and lookups                                          */

void ds_config_quote(const char *s, size_t len, char *buf, size_t size)
{
    /* Long values are cut: a message quotes enough to find the place. */
    const size_t keep = 48;
    size_t o = 0;
    if (size < 8) {
        if (size)
            buf[0] = '\0';
        return;
    }
    buf[o++] = '"';
    for (size_t i = 0; i < len && i < keep && o + 6 < size; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            int w = snprintf(buf + o, size - o, "\\x%02X", (unsigned)c);
            if (w > 0)
                o += (size_t)w;
        } else {
            buf[o++] = (char)c;
        }
    }
    if (len > keep && o + 5 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

const ds_cfg_node *ds_config_anchor(const ds_cfg_node *key, const ds_cfg_node *value)
{
    if (!key || (value && value->origin != key->origin))
        return value;
    return key;
}

int ds_config_is_null(const ds_cfg_node *node)
{
    if (!node || node->type != DS_CFG_SCALAR || !node->plain)
        return 0;
    return node->len == 0 || strcmp(node->text, "~") == 0 || strcmp(node->text, "null") == 0 ||
           strcmp(node->text, "Null") == 0 || strcmp(node->text, "NULL") == 0;
}

void ds_config_found(const ds_cfg_node *node, char *buf, size_t size)
{
    if (!node)
        snprintf(buf, size, "nothing");
    else if (node->type == DS_CFG_SEQ)
        snprintf(buf, size, "a list of %zu item%s", node->n, node->n == 1 ? "" : "s");
    else if (node->type == DS_CFG_MAP)
        snprintf(buf, size, "a mapping");
    else if (ds_config_is_null(node))
        snprintf(buf, size, "null (an empty value)");
    else
        ds_config_quote(node->text, node->len, buf, size);
}

void ds_config_path_key(char *out, size_t size, const char *parent, const char *key)
{
    /* Truncation is acceptable: a path only has to lead a reader there. */
    int w = parent && parent[0] ? snprintf(out, size, "%s.%s", parent, key)
                                : snprintf(out, size, "%s", key);
    if (w < 0 && size)
        out[0] = '\0';
}

void ds_config_path_index(char *out, size_t size, const char *parent, size_t index)
{
    if (snprintf(out, size, "%s[%zu]", parent ? parent : "", index) < 0 && size)
        out[0] = '\0';
}

const ds_cfg_node *ds_config_map_get(const ds_cfg_node *map, const char *key,
                                     const ds_cfg_node **key_node)
{
    if (key_node)
        *key_node = NULL;
    if (!map || map->type != DS_CFG_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; ++i) {
        if (strcmp(map->items[i]->text, key) == 0) {
            if (key_node)
                *key_node = map->items[i];
            return map->values[i];
        }
    }
    return NULL;
}

size_t ds_config_edit_distance(const char *a, const char *b)
{
    /* Optimal-string-alignment distance (Levenshtein plus adjacent
     * transpositions, which are the commonest typo: "tragte" -> "target").
     * Inputs are cut so that the work stays bounded. */
    enum { CUT = 64 };
    size_t na = strlen(a), nb = strlen(b);
    if (na > CUT)
        na = CUT;
    if (nb > CUT)
        nb = CUT;
    size_t d[CUT + 1][CUT + 1];
    for (size_t i = 0; i <= na; ++i)
        d[i][0] = i;
    for (size_t j = 0; j <= nb; ++j)
        d[0][j] = j;
    for (size_t i = 1; i <= na; ++i) {
        for (size_t j = 1; j <= nb; ++j) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[na][nb];
}

const char *ds_config_closest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; ++i) {
        size_t d = ds_config_edit_distance(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    if (!best)
        return NULL;
    /* Plausible misspelling: at most a third of the longer word wrong, and at
     * least 2 edits always allowed (so "tragte" finds "target"). */
    size_t lw = strlen(word), lb = strlen(best);
    size_t longer = lw > lb ? lw : lb;
    size_t allowed = longer / 3 > 2 ? longer / 3 : 2;
    return best_d <= allowed ? best : NULL;
}

ds_status ds_config_check_keys(const ds_cfg_ctx *ctx, const ds_cfg_node *map, const char *path,
                               const char *const *known, size_t n_known)
{
    for (size_t i = 0; i < map->n; ++i) {
        const ds_cfg_node *key = map->items[i];
        size_t k = 0;
        while (k < n_known && strcmp(key->text, known[k]) != 0)
            ++k;
        if (k < n_known)
            continue;
        char q[96], list[512], hint[128] = "";
        ds_config_quote(key->text, key->len, q, sizeof q);
        size_t o = 0;
        list[0] = '\0';
        for (size_t j = 0; j < n_known && o < sizeof list; ++j) {
            int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", known[j]);
            if (w < 0)
                break;
            o += (size_t)w;
        }
        const char *best = ds_config_closest(key->text, known, n_known);
        if (best)
            snprintf(hint, sizeof hint, "; did you mean \"%s\"?", best);
        char kpath[DS_CFG_PATH_MAX];
        ds_config_path_key(kpath, sizeof kpath, path, key->text);
        return ds_config_error(ctx, key, "%s: unknown key %s%s (expected one of: %s)", kpath, q,
                               hint, list);
    }
    return DS_OK;
}
