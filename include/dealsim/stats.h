/* include/dealsim/stats.h
 * Mergeable summaries (MODEL.md section 5): moments, probabilities, quantile
 * sketches, histograms, coalitions, the price fan and convergence.
 * Licence: see LICENSE at the top of the repository.
 *
 * Reproducibility (STYLE.md rule 1): results must not depend on the number of
 * threads or ranks.  Two kinds of state, merged two ways:
 *
 *  - floating-point state (moments, coalition sums, price means,
 *    convergence) is computed per block by the thread that ran the block
 *    (ds_stats_block_moments: two passes in trial order over the values
 *    shifted by the first finite one, K: the sum S and count of x - K, then
 *    the squared deviations from S/n; mean = K + S/n) and
 *    merged into the global
 *    accumulator strictly in block order (ds_stats_merge_moments; the driver
 *    calls it inside an ordered region).  Block partials and the merge order
 *    are fixed, so the floating-point result is fixed.
 *  - integer state (sketch bucket counts, join counts) is accumulated per
 *    thread (ds_stats_add_sketches) and merged at the end
 *    (ds_stats_merge_sketches): integer addition is exactly associative, so
 *    any grouping gives the same counts.
 *
 * Quantiles come from a log-bucket sketch after DDSketch (C. Masson, J. E.
 * Rim, H. K. Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
 * relative-error guarantees", VLDB 2019): bucket k of positive values holds
 * (gamma^(k-1), gamma^k], gamma = (1+a)/(1-a); a value's estimate is the
 * bucket's 2 gamma^k/(gamma+1), within relative accuracy a = DS_SKETCH_ALPHA
 * of every value in it.  Values with |x| < DS_SKETCH_MIN_ABS count as zero.
 * Histograms are derived from the sketch at the end (edges from the exact
 * min and max): a value within relative accuracy a of an edge may be counted
 * in the neighbouring bin.
 */
#ifndef DEALSIM_STATS_H
#define DEALSIM_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "dealsim/error.h"
#include "dealsim/model.h"

#define DS_SKETCH_ALPHA 1e-3     /* relative accuracy of every quantile */
#define DS_SKETCH_MIN_ABS 1e-12  /* |x| below this is counted as 0 */

/* Count, NaN count, mean, sum of squared deviations (Welford / Chan et al.
 * 1979 pairwise update), min and max of the finite values. */
typedef struct {
    uint64_t n;   /* finite values */
    uint64_t nan; /* NaN values (never treated as 0) */
    double mean;
    double m2;
    double min, max;
} ds_moments;

void ds_moments_init(ds_moments *mo);
void ds_moments_add(ds_moments *mo, double x);
/* into := into (+) from, Chan's update; call in a fixed order. */
void ds_moments_merge(ds_moments *into, const ds_moments *from);
double ds_moments_sd(const ds_moments *mo);     /* sample sd (n-1); NaN when n < 2 */
double ds_moments_stderr(const ds_moments *mo); /* sd / sqrt(n); NaN when n < 2 */
/* Notes on the moments (stats.c): an empty summary (n = 0) has mean, m2, min
 * and max NaN; +-inf, which the model never produces, is counted in `nan`
 * with the NaNs (it would poison the mean), so `n` is exactly the number of
 * values a sketch of the same data counts. */

/* Log-bucket quantile sketch with exactly mergeable integer counts.  The
 * bucket arrays grow as needed (ds_sketch_add may allocate). */
typedef struct {
    double gamma;         /* (1+a)/(1-a) */
    double inv_log_gamma; /* 1 / ln gamma */
    uint64_t count;       /* all values added (NaN excluded) */
    uint64_t zero;        /* |x| < DS_SKETCH_MIN_ABS */
    /* Dense buckets for x > 0: index k in [pos_lo, pos_lo + pos_len). */
    int32_t pos_lo;
    uint32_t pos_len, pos_cap;
    uint64_t *pos;
    /* Same for x < 0, by the bucket of |x|. */
    int32_t neg_lo;
    uint32_t neg_len, neg_cap;
    uint64_t *neg;
} ds_sketch;

void ds_sketch_init(ds_sketch *s);
void ds_sketch_clear(ds_sketch *s); /* frees the buckets */
/* Adds x (NaN is ignored: callers count NaNs in ds_moments). */
ds_status ds_sketch_add(ds_sketch *s, double x);
/* Adds a positive value given by its natural log (the price fan). */
ds_status ds_sketch_add_log(ds_sketch *s, double log_x);
/* Notes on adding (stats.c): +-inf is ignored like NaN (ds_moments counts
 * both); ds_sketch_add_log(s, l) is ds_sketch_add(s, exp(l)) without the exp:
 * l = -inf or exp(l) < DS_SKETCH_MIN_ABS counts as zero, exp(l) > DBL_MAX is
 * ignored.  Both are cheap when the bucket is already allocated (a log for
 * ds_sketch_add, then a multiply, a compare and an increment); they return
 * DS_ERR_NOMEM, with the sketch unchanged, when growing fails.  Bucket keys
 * depend only on the value, so counts are identical whatever the grouping. */
ds_status ds_sketch_merge(ds_sketch *into, const ds_sketch *from);
/* The q-quantile (q in [0,1]) by rank floor(q * (count - 1)), the estimate of
 * its bucket, clamped to [min, max] when given (pass NaN to skip). NaN when
 * empty. */
double ds_sketch_quantile(const ds_sketch *s, double q, double min, double max);
/* Counts of values in `bins` equal bins between edges[0] and edges[bins]
 * (caller's arrays), each value placed by its bucket estimate. */
void ds_sketch_histogram(const ds_sketch *s, const double *edges, size_t bins,
                         uint64_t *counts);
/* Notes (stats.c): ds_sketch_merge leaves `into`'s counts unchanged on
 * DS_ERR_NOMEM.  ds_sketch_quantile returns min itself for rank 0 and max
 * itself for the last rank when they are given, so q = 0 and q = 1 are
 * exact.  ds_sketch_histogram puts an estimate v (clamped into
 * [edges[0], edges[bins]]) in the last bin j with edges[j] <= v, zeros where
 * 0 goes; the counts always sum to count (NaN edges: all in bin 0). */

/* A coalition: a join mask seen in the run. */
typedef struct {
    uint64_t mask;
    uint64_t count;
    double sum_total; /* sum of total over the trials with this mask, in block order */
} ds_coalition;

/* One convergence checkpoint: after 2^k blocks. */
typedef struct {
    uint64_t trials;
    double mean[DS_OUT_COUNT];
    double stderr_[DS_OUT_COUNT];
} ds_checkpoint;

/* All accumulators of a run.  The same type serves as the global summary, a
 * per-block partial and a per-thread sketch accumulator. */
typedef struct {
    size_t n_outputs;   /* ds_model_n_outputs */
    size_t n_investors;
    size_t horizon;
    uint64_t trials;    /* trials merged (moments) */
    uint64_t blocks;    /* blocks merged (moments) */

    /* Floating state: block-ordered. */
    ds_moments out[DS_OUT_COUNT];
    ds_moments *inv_amount; /* [n_investors] */
    ds_moments *inv_paid;   /* [n_investors] */
    ds_moments *inv_stake;  /* [n_investors] (only with a valuation) */
    ds_moments *price;      /* [horizon] p_m */
    size_t n_coalitions, cap_coalitions;
    ds_coalition *coalitions; /* unsorted; a small open table */
    size_t n_checkpoints, cap_checkpoints;
    ds_checkpoint *checkpoints;

    /* Integer state: any order. */
    uint64_t *inv_joined;   /* [n_investors] join counts */
    ds_sketch sk_out[DS_OUT_COUNT];
    ds_sketch *sk_amount;   /* [n_investors] */
    ds_sketch *sk_paid;     /* [n_investors] */
    ds_sketch *sk_price;    /* [horizon] */

    double *scratch;        /* [max(horizon, n_investors) + 1], private to stats.c */
} ds_stats;

/* Allocates empty accumulators shaped for the model. NULL on no memory. */
ds_stats *ds_stats_alloc(const ds_model *m);
/* Same, from the shape alone (n_outputs <= DS_OUT_COUNT; stake moments when
 * n_outputs == DS_OUT_COUNT): for tests and tools without a model.  NULL on
 * no memory or a shape beyond the DS_MAX_* limits. */
ds_stats *ds_stats_alloc_shape(size_t n_outputs, size_t n_investors, size_t horizon);
void ds_stats_free(ds_stats *s);

/* Resets s's floating state and computes it from one block (in trial
 * order).  Used on a per-thread partial. */
ds_status ds_stats_block_moments(ds_stats *partial, const ds_block *blk);
/* Merges a block partial into the global accumulator; must be called in
 * block order.  Adds a convergence checkpoint when the merged block count
 * reaches a power of two, and also when `final` is set (the last block). */
ds_status ds_stats_merge_moments(ds_stats *global, const ds_stats *partial, int final);
/* Adds the integer state (sketches, join counts) of a committed block. */
ds_status ds_stats_add_sketches(ds_stats *local, const ds_block *blk);
/* Merges integer state (any order). */
ds_status ds_stats_merge_sketches(ds_stats *into, const ds_stats *from);
/* Notes (stats.c): the block and merge functions return DS_ERR_INTERNAL when
 * shapes differ.  ds_stats_merge_moments reserves its memory first, so on
 * DS_ERR_NOMEM `global` is unchanged; the other three may leave an
 * incomplete accumulator on DS_ERR_NOMEM, after which the run must fail. */

/* Coalitions sorted most probable first (ties by mask), into a new array
 * the caller frees.  NULL on no memory. */
ds_coalition *ds_stats_sorted_coalitions(const ds_stats *s);

#endif /* DEALSIM_STATS_H */
