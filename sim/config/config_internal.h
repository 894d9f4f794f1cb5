/* sim/config/config_internal.h
 * Private interface between the scenario loader's files (config*.c): the
 * YAML node tree with positions, the parser, --set overrides and helpers.
 * Licence: see LICENSE at the top of the repository.
 *
 * The loader works in three steps so that every rule is checked in one place:
 *   1. config_yaml.c turns text into a tree of ds_cfg_node (scalars, lists,
 *      mappings), each carrying the 1-based position it came from.  It is
 *      the only file that includes libyaml.
 *   2. config_set.c grafts the --set overrides into that tree; the grafted
 *      nodes carry the position "--set:N:col", so every later error points at
 *      the override that caused it.
 *   3. config.c (the top level, the inputs), config_round.c, config_compute.c,
 *      config_output.c (the sections), config_dist.c, config_limits.c and
 *      config_corr.c walk the tree against the schema of CONFIG.md and build
 *      the ds_scenario, reading each value with config_get.c.
 * Invariant: a tree owns all its nodes; ds_config_node_free frees a subtree.
 */
#ifndef DEALSIM_CONFIG_INTERNAL_H
#define DEALSIM_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dealsim/config.h"

/* Deepest nesting of lists and mappings accepted in a file.  A mixture nested
 * DS_DIST_MAX_DEPTH deep needs about 2 * 16 + 6 levels; the limit is well
 * above so that "mixture too deep" gets its own message, and low enough that
 * the recursive walks cannot exhaust the stack. */
#define DS_CFG_MAX_NESTING 512
/* Most nodes (scalars, lists, mappings) in one parsed text.  Bounds memory:
 * a 4 MB file of "[0,0,0,...]" would otherwise make two million nodes, some
 * 130 bytes each; the largest sensible scenario has a few tens of thousands. */
#define DS_CFG_MAX_NODES 1000000
/* Longest key path kept for messages (longer ones are truncated). */
#define DS_CFG_PATH_MAX 192
/* Names longer than this make unwieldy input and dataset names. */
#define DS_CFG_MAX_NAME 64

/* Entries of a static array (the tables of known keys). */
#define DS_CFG_COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef enum { DS_CFG_SCALAR = 0, DS_CFG_SEQ, DS_CFG_MAP } ds_cfg_type;

typedef struct ds_cfg_node ds_cfg_node;
struct ds_cfg_node {
    ds_cfg_type type;
    int plain;            /* scalar written without quotes: may be a number/bool/null */
    int origin;           /* 0: the file; N >= 1: the N-th --set */
    int line, col;        /* 1-based; for --set, line = N and col within "KEY=VALUE" */
    char *text;           /* SCALAR: NUL-terminated (embedded NULs are rejected) */
    size_t len;           /* SCALAR: strlen(text) */
    size_t n, cap;        /* SEQ: items; MAP: entries */
    ds_cfg_node **items;  /* SEQ: the items; MAP: the keys (scalars) */
    ds_cfg_node **values; /* MAP: the values, parallel to items */
};

/* Where diagnostics go and what the file is called in them. */
typedef struct {
    const char *label; /* the file name; "--set" positions use origin >= 1 */
    ds_diag *diag;
} ds_cfg_ctx;

/* ---- config_yaml.c: text -> tree ---- */

/* Checks that text is UTF-8 without NUL bytes or control characters, then
 * parses it as one YAML document into *root (NULL when the text holds no
 * document at all: empty or only comments).  Positions are 1-based; with
 * origin N >= 1 every node gets line N and col_offset + its column.
 * path_prefix (may be NULL) is the key path of the text, for messages. */
ds_status ds_config_parse(const ds_cfg_ctx *ctx, const char *text, size_t len, int origin,
                          int col_offset, const char *path_prefix, ds_cfg_node **root);

void ds_config_node_free(ds_cfg_node *node);
/* New nodes for the --set grafts; NULL when out of memory. */
ds_cfg_node *ds_config_node_new(ds_cfg_type type, int origin, int line, int col);
ds_cfg_node *ds_config_node_new_scalar(const char *text, size_t len, int origin, int line,
                                       int col);
/* Appends key -> value to a mapping (or value to a list when key is NULL);
 * takes ownership of both, frees both on failure. */
ds_status ds_config_node_append(ds_cfg_node *parent, ds_cfg_node *key, ds_cfg_node *value);

/* ---- helpers shared by the walkers (config_yaml.c, config_get.c) ---- */

/* Sets ctx->diag to DS_ERR_SCENARIO at node's position (file:line:col, or
 * --set:N:col) and returns DS_ERR_SCENARIO. */
ds_status ds_config_error(const ds_cfg_ctx *ctx, const ds_cfg_node *at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
ds_status ds_config_error_at(const ds_cfg_ctx *ctx, int origin, int line, int col,
                             const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
ds_status ds_config_nomem(const ds_cfg_ctx *ctx);

/* "path: expected WHAT, found FOUND" at node. */
ds_status ds_config_expected(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                             const char *what);

/* What a node is, for "found ...": a quoted, escaped, shortened scalar, or
 * "null", "a list", "a mapping". */
void ds_config_found(const ds_cfg_node *node, char *buf, size_t size);
/* s quoted and escaped for a message, shortened to fit. */
void ds_config_quote(const char *s, size_t len, char *buf, size_t size);

/* Path joining for messages: "parent.key" and "parent[i]". */
void ds_config_path_key(char *out, size_t size, const char *parent, const char *key);
void ds_config_path_index(char *out, size_t size, const char *parent, size_t index);

/* The value of `key` in a mapping (NULL if absent); *key_node gets the key. */
const ds_cfg_node *ds_config_map_get(const ds_cfg_node *map, const char *key,
                                     const ds_cfg_node **key_node);
/* Where to report a problem with a whole value: its key, unless the value
 * came from elsewhere (a --set replaced it), then the value itself. */
const ds_cfg_node *ds_config_anchor(const ds_cfg_node *key, const ds_cfg_node *value);
/* A plain null: empty, ~ or null. */
int ds_config_is_null(const ds_cfg_node *node);

/* Levenshtein distance (bounded work: long strings are cut at 64 bytes). */
size_t ds_config_edit_distance(const char *a, const char *b);
/* The candidate closest to word if it is plausibly a misspelling, else NULL. */
const char *ds_config_closest(const char *word, const char *const *cands, size_t n);

/* Rejects any key of map not in known[], suggesting the closest. */
ds_status ds_config_check_keys(const ds_cfg_ctx *ctx, const ds_cfg_node *map, const char *path,
                               const char *const *known, size_t n_known);

char *ds_config_strdup(const char *s);

/* ---- config_get.c: the readers of one value ---- */

/* Scalar readers.  Each checks the node's type and range and reports
 * "path: expected ..., found ..." on failure. */
ds_status ds_config_get_number(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                               double *out);
/* A number in a range; lo_open/hi_open make the ends exclusive; +-HUGE_VAL
 * for no bound; `why` (may be NULL) is appended in parentheses. */
ds_status ds_config_get_number_in(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                  const char *path, double lo, int lo_open, double hi,
                                  int hi_open, const char *why, double *out);
ds_status ds_config_get_uint(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                             uint64_t lo, uint64_t hi, uint64_t *out);
ds_status ds_config_get_bool(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                             int *out);
/* A non-null scalar's text (numbers and booleans are taken as written). */
ds_status ds_config_get_string(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                               const char **out);
/* The top-level key `sampling`: monte_carlo or latin_hypercube. */
ds_status ds_config_get_sampling(const ds_cfg_ctx *ctx, const ds_cfg_node *node,
                                 ds_sampling *out);
/* A plain scalar that reads as a finite number (YAML 1.2 core decimal). */
int ds_config_scalar_number(const ds_cfg_node *node, double *out);
/* A name of [A-Za-z0-9_], at most DS_CFG_MAX_NAME characters; with dotted,
 * '.' and '-' too and at most 128 (the scenario's name). */
ds_status ds_config_get_name(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                             int dotted, const char **out);
/* A mapping: "path: expected WHAT, found ..." when node is anything else. */
ds_status ds_config_get_map(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                            const char *what);
/* "path: missing required key "KEY" (expected WHAT)" at `at` ("(top level)"
 * for the path ""). */
ds_status ds_config_missing(const ds_cfg_ctx *ctx, const ds_cfg_node *at, const char *path,
                            const char *key, const char *what);
/* Prepares a default that is a fixed number; idempotent. */
ds_status ds_config_prepare_fixed(const ds_cfg_ctx *ctx, ds_dist *d);

/* ---- the sections, in the order config.c reads them ---- */

/* config_round.c: `round` (key and map: its key and value) and `investors`
 * (read from root), with each investor's tranches. */
ds_status ds_config_read_round(const ds_cfg_ctx *ctx, const ds_cfg_node *key,
                               const ds_cfg_node *map, ds_scenario *sc);
ds_status ds_config_read_investors(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                   ds_scenario *sc);
/* config_compute.c: `compute` (read from root): share, horizon, schedule,
 * price and its jumps. */
ds_status ds_config_read_compute(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                 ds_scenario *sc);
/* config_output.c: `output` (read from root, may be absent), every default
 * filled; after round, so that per_trial knows the valuation outputs. */
ds_status ds_config_read_output(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                ds_scenario *sc);

/* ---- config_set.c ---- */

/* Grafts the --set overrides into root (a mapping), in order. */
ds_status ds_config_apply_sets(const ds_cfg_ctx *ctx, ds_cfg_node *root,
                               const char *const *sets, size_t n_sets);

/* ---- config_dist.c ---- */

/* What a key allows of a distribution's support. */
typedef enum {
    DS_CFG_SUPPORT_ANY = 0,
    DS_CFG_SUPPORT_NONNEG,   /* >= 0 */
    DS_CFG_SUPPORT_POSITIVE, /* > 0 (a lognormal's open end at 0 is fine) */
    DS_CFG_SUPPORT_UNIT,     /* in [0, 1] */
    DS_CFG_SUPPORT_MEANREV   /* in [0, 12) */
} ds_cfg_support;

/* Reads an uncertain value (a number or {dist: ...}) at node into *out
 * (which must hold nothing), prepares it and checks its support; `why`
 * explains the support rule in messages. */
ds_status ds_config_read_dist(const ds_cfg_ctx *ctx, const ds_cfg_node *node, const char *path,
                              ds_cfg_support support, const char *why, ds_dist *out);

/* The plausible range of a distribution's draws: its support where that end
 * is finite, else the DS_TAIL_PROBABILITY (1 - ...) quantile.  NaN or an
 * infinity when the parameters overflow. */
void ds_config_dist_reach(const ds_dist *d, double *lo, double *hi);

/* ---- config_limits.c ---- */
/* The limits across keys (config.h): the sum of the amounts, the jump rate
 * and the log price; sc is read and compute/investors/round done. */
ds_status ds_config_check_limits(const ds_cfg_ctx *ctx, const ds_cfg_node *root,
                                 const ds_scenario *sc);

/* ---- config_corr.c ---- */

/* Reads `correlations` (node may be NULL), fills sc->correlations,
 * corr_index, corr_inputs, chol and min_eigenvalue; sc->inputs must exist. */
ds_status ds_config_read_correlations(const ds_cfg_ctx *ctx, const ds_cfg_node *key,
                                      const ds_cfg_node *node, ds_scenario *sc);
/* Smallest eigenvalue of the symmetric n x n matrix a (row-major) by cyclic
 * Jacobi; a is overwritten.  Exposed for the tests. */
double ds_config_min_eigenvalue(double *a, size_t n);
/* Lower Cholesky factor of a (row-major) into l; 0 when not positive
 * definite. */
int ds_config_cholesky(const double *a, size_t n, double *l);

/* ---- config_emit.c ---- */

/* Shortest text of a double that reads back to the same value. */
void ds_config_format_double(double v, char *buf, size_t size);

#endif /* DEALSIM_CONFIG_INTERNAL_H */
