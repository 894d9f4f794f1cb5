/* sim/stats/stats_internal.h
 * Private to sim/stats: what the saved-state code (state.c,
 * state_import.c) shares with the accumulators (stats.c) and the sketch
 * (sketch.c).  Not public API (stats.h is).
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_STATS_INTERNAL_H
#define DEALSIM_STATS_INTERNAL_H

#include "dealsim/stats.h"

/* Every key a finite value can get lies in [KEY_MIN, KEY_MAX]:
 * ceil(ln(1e-12) / ln gamma) = -13815, ceil(ln(DBL_MAX) / ln gamma) = 354892.
 * The margins absorb rounding; growth is clamped to this range. */
#define DS_SKETCH_KEY_MIN (-13830)
#define DS_SKETCH_KEY_MAX 354900

/* Allocates a node's arrays for s's shape with room for n_coal coalitions;
 * the moments are left uninitialised.  On failure nothing is allocated. */
/* qsort comparison of uint64_t values, ascending (masks). */
int ds_stats_cmp_u64(const void *pa, const void *pb);
ds_status ds_stats_node_alloc(const ds_stats *s, size_t n_coal, ds_stats_node *nd);
void ds_stats_node_free(ds_stats_node *nd);
/* Makes one side of a sketch cover keys [kmin, kmax] (within
 * [DS_SKETCH_KEY_MIN, DS_SKETCH_KEY_MAX]); on failure nothing changes. */
ds_status ds_stats_sketch_cover(ds_sketch *sk, int negative, int32_t kmin, int32_t kmax);
/* The floor in force of one side of a sketch (stats.h, ds_sketch). */
int32_t ds_stats_sketch_floor(const ds_sketch *sk, int negative);
/* First and last block of a node (no overflow for index < 2^(64 - level)). */
uint64_t ds_stats_node_first(const ds_stats_node *nd);
uint64_t ds_stats_node_last(const ds_stats_node *nd);
/* Reserves room for `need` node checkpoints / nodes; on failure nothing
 * changes. */
ds_status ds_stats_reserve_cps(ds_stats *s, size_t need);
ds_status ds_stats_reserve_nodes(ds_stats *s, size_t need);
/* Whether a join mask has its own coalition row (every mask when nothing
 * is pooled): binary search of the sorted tracked set (stats.c). */
int ds_stats_coal_is_tracked(const ds_stats *s, uint64_t mask);

/* The coalition row of a mask in s's table (the tracked ones), or NULL. */
ds_coalition *ds_stats_coal_find(ds_stats *s, uint64_t mask);
/* Takes one value x (or, _log, the value exp(log_x) of the price fan) back
 * out of a sketch (ds_stats_drop_tail); DS_ERR_FORMAT when it is not there
 * (sketch.c). */
ds_status ds_stats_sketch_remove(ds_sketch *sk, double x);
ds_status ds_stats_sketch_remove_log(ds_sketch *sk, double log_x);

/* Whether a block has the shape of the accumulator (stats.c). */
int ds_stats_block_fits(const ds_stats *s, const ds_block *blk);

/* Defined in stats.c, used by forest.c too: the coalition table's slot
 * for mask (open addressing; an empty slot if absent) and its growth to
 * hold need entries; whether the accumulator has the stake output; whether
 * two accumulators can be merged (same shape, tracking and sampling). */
ds_coalition *ds_stats_coal_slot(ds_coalition *tab, size_t cap, uint64_t mask);
ds_status ds_stats_coal_reserve(ds_stats *s, size_t need);
int ds_stats_has_stake(const ds_stats *s);
int ds_stats_same_shape(const ds_stats *a, const ds_stats *b);

/* Moments of ncol interleaved columns, value (t, c) at v[t * stride + c],
 * t < n, into mo[0..ncol) (need not be reset), each column's sums in row
 * order; one SIMD lane a column on the dispatched path (dsmath.h), the
 * same bits on every path (blockcols.c). */
void ds_block_columns(const double *v, size_t n, size_t ncol, size_t stride, ds_moments *mo);
/* The same arithmetic for ncol lone columns, column c's n values at
 * col[c][t * stride], into *mo[c] (need not be reset), four at a time in
 * SIMD lanes (blockcols.c). */
void ds_block_lone_columns(const double *const *col, ds_moments *const *mo, size_t ncol,
                           size_t n, size_t stride);

/* Conditional summaries (conditional.c, stats.h "Conditional"). */
/* Outputs whose conditional sums run side by side (ds_stats.cond_buf is
 * [DS_BLOCK_SIZE][DS_COND_CW]). */
#define DS_COND_CW 8
/* A block's conditional moments into s->cond_view and its coalition
 * extras (closed, target_met, m2_total; s's table and coal_other must hold
 * the block's counts and sums already). */
void ds_cond_block(ds_stats *s, const ds_block *blk);
/* out[ds_cond_len] := merge(l, r), l the lower-index node. */
void ds_cond_merge(const ds_stats *s, const ds_moments *l, const ds_moments *r, ds_moments *out);
/* Coalition row out := l (+) r (counts, sums, extras; l the left). */
void ds_cond_coal_combine(ds_coalition *out, const ds_coalition *l, const ds_coalition *r);
/* The "other" row's extras of out := l (+) r (counts and sums already set
 * for l only: call before adding them). */
void ds_cond_other_combine(ds_stats_node *out, const ds_stats_node *l, const ds_stats_node *r);
/* Integer state: the selection of the sketched conditions of a block,
 * [c * DS_BLOCK_SIZE + t] (NULL when off: ds_stats_add_sketches adds each
 * output's value to the conditional sketches with the same bucket key);
 * and the conditional sketches of a block removed (ds_stats_drop_tail). */
/* Which trials of a block go to which conditional sketch: the trials of
 * each sketched condition (in order) and each trial's coalition sketch
 * (-1: none); `code` is room for one output's bucket codes. */
struct ds_cond_sk_work {
    size_t m[DS_COND_SKETCHED];
    uint32_t idx[DS_COND_SKETCHED][DS_BLOCK_SIZE];
    int8_t coal[DS_BLOCK_SIZE];
    int32_t code[DS_BLOCK_SIZE];
};
const struct ds_cond_sk_work *ds_cond_sketch_plan(ds_stats *s, const ds_block *blk);
ds_status ds_cond_remove_sketches(ds_stats *s, const ds_block *blk);
ds_status ds_cond_merge_sketches(ds_stats *into, const ds_stats *from);
void ds_cond_free(ds_stats *s);
/* A copy of n cond moments (NULL src: NULL, DS_OK); DS_ERR_NOMEM. */
ds_status ds_cond_dup(const ds_stats *s, const ds_moments *src, ds_moments **dst);

#endif /* DEALSIM_STATS_INTERNAL_H */
