/* sim/stats/state_internal.h
 * Private to sim/stats/state.c (export) and state_import.c (the validating
 * import): the tables that describe the saved state's arrays, and the
 * lookups both sides walk in the same order.
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_STATE_INTERNAL_H
#define DEALSIM_STATE_INTERNAL_H

#include "stats_internal.h"

/* The shape of an array: rank 0 to 2, dimension names and lengths (on
 * import a length may be ANY: any length, see need). */
typedef struct {
    size_t rank;
    const char *names[2];
    uint64_t len[2];
} col_dims;

/* One array of the saved state as a row of a table: its name, kind and
 * shape, its units and description (export only), and the caller's pointer
 * that receives its data.  The pointer's type is checked against the kind
 * at compile time (the COL_ macros): uint64_t * for U64, double * for F64,
 * int32_t * for I32, const-qualified on import. */
typedef struct {
    const char *name;
    ds_state_kind kind;
    const col_dims *dims;
    const char *units, *long_name;
    void *slot;
} state_col;

#define COL_SLOT(T, var) ((void *)(1 ? &(var) : (T **)NULL))
/* Export rows. */
#define COL_U64(name, dims, units, ln, var)                                                 \
    {name, DS_STATE_U64, dims, units, ln, COL_SLOT(uint64_t, var)}
#define COL_F64(name, dims, units, ln, var)                                                 \
    {name, DS_STATE_F64, dims, units, ln, COL_SLOT(double, var)}
#define COL_I32(name, dims, units, ln, var)                                                 \
    {name, DS_STATE_I32, dims, units, ln, COL_SLOT(int32_t, var)}
/* Import rows. */
#define IN_U64(name, dims, var)                                                             \
    {name, DS_STATE_U64, dims, NULL, NULL, COL_SLOT(const uint64_t, var)}
#define IN_F64(name, dims, var)                                                             \
    {name, DS_STATE_F64, dims, NULL, NULL, COL_SLOT(const double, var)}
#define IN_I32(name, dims, var)                                                             \
    {name, DS_STATE_I32, dims, NULL, NULL, COL_SLOT(const int32_t, var)}
#define N_COLS(t) (sizeof(t) / sizeof *(t))

/* A set of moments (ds_moments) as columns: one array per field, the same
 * element e of each. */
typedef struct {
    uint64_t *n, *nan, *posinf, *neginf;
    double *mean, *m2, *min, *max;
} mo_cols;
typedef struct {
    const uint64_t *n, *nan, *posinf, *neginf;
    const double *mean, *m2, *min, *max;
} mo_cols_in;

/* Their names and descriptions, in field order (units: the first four "1",
 * then mean_units for the mean, min and max, m2_units for m2). */
typedef struct {
    const char *name[8], *desc[8];
    const char *mean_units, *m2_units;
} mo_names;

/* The node's row j of s's saved nodes: the forest's, then the tail. */
#define NODE_ROW(s, j) ((j) < (s)->n_nodes ? &(s)->nodes[(j)] : &(s)->tail)

/* Whether s saves its conditional state: on, and every node has it (a
 * forest continued from a state without it has none to save). */
int ds_state_has_cond(const ds_stats *s);

/* The sketches in row order (outputs, amount, paid, price, then with the
 * conditional state the outputs given each sketched condition, then total
 * given each coalition_sketch_mask), and row j of them. */
size_t ds_state_n_sketches(const ds_stats *s);
ds_sketch *ds_state_sketch_row(ds_stats *s, size_t j);

/* The moments' arrays: of the nodes [node, accumulator] and, with the
 * conditional state, the conditional ones [node, cond_accumulator]. */
extern const mo_names ds_state_node_mo, ds_state_cond_mo;

/* The ratio spreads' float64 arrays [node, cond_accumulator] (version 6;
 * stats.h, ds_rspread), after node_cond_block_count. */
#define DS_STATE_CRS_F64 5
extern const char *const ds_state_crs_name[DS_STATE_CRS_F64];

#endif /* DEALSIM_STATE_INTERNAL_H */
