/* sim/stats/stats_internal.h
 * Private to sim/stats: what the saved-state code (state.c) shares with the
 * accumulators (stats.c).  Not public API (stats.h is).
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

#endif /* DEALSIM_STATS_INTERNAL_H */
