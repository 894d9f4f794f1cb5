/* include/dealsim/stats.h
 * Mergeable summaries (MODEL.md section 5): moments, probabilities, quantile
 * sketches, histograms, coalitions, the price fan and convergence.
 * Licence: see LICENSE at the top of the repository.
 *
 * Reproducibility (STYLE.md rule 1): results depend on (scenario, seed,
 * trials) only, never on how the blocks were shared among threads, MPI
 * ranks, sessions (a resumed or extended run) or files.  Every accumulator
 * therefore merges EXACTLY, whatever the partition:
 *
 *  - integer state (sketch bucket counts, join counts, coalition counts, NaN
 *    counts) merges by integer addition, exactly associative.
 *  - floating-point state (moments of each output, per-investor amount /
 *    paid / stake moments, per-month price moments, coalition sum_total,
 *    convergence checkpoints) is combined along a merge tree FIXED BY BLOCK
 *    INDEX, so the sequence of roundings never depends on the partition:
 *
 *      * a block's partial is computed from its values in trial order
 *        (ds_stats_block_moments: two passes over the values shifted by the
 *        first finite one, K: the sum S and count of x - K, then the squared
 *        deviations from S/n; mean = K + S/n);
 *      * node (l, k) covers blocks [k 2^l, (k+1) 2^l).  Leaf (0, b) is block
 *        b's partial; node (l+1, k) is ALWAYS merge(node(l, 2k),
 *        node(l, 2k+1)), the lower-index child the left operand (Chan et al.
 *        1979 for moments, ds_moments_merge; min/max/counts trivially;
 *        coalition sums by addition, left + right);
 *      * an accumulator holds a forest: a set of complete nodes.  Inserting a
 *        node carries: while its sibling is present, both are removed and
 *        their parent inserted.  The forest is canonical (it does not depend
 *        on insertion order); blocks committed in order from 0 leave exactly
 *        the binary representation of the block count (<= 64 nodes);
 *      * the forest holds FULL blocks only (DS_BLOCK_SIZE trials).  A short
 *        last block (the run ended inside it) is kept apart as the "tail"
 *        partial: leaf (0, N-1) outside the forest;
 *      * the result for blocks [0, N) (ds_stats_finalize): the forest is then
 *        the binary decomposition of N (or of N-1 plus the tail), nodes at
 *        strictly decreasing levels left to right; fold from the right:
 *        acc = rightmost element (the tail when there is one), then for
 *        each node to its left acc = merge(node, acc).  Fixed for a given N:
 *        inserting leaf N-1 into the decomposition of N-1 carries exactly
 *        through the trailing nodes of levels 0, 1, ..., j, each carry being
 *        merge(left node, right subtree) -- the very operations the fold
 *        from the right performs with the tail as its start; so the value
 *        with a tail equals the canonical tree over all N blocks
 *        (tests/stats/test_stats_block.c checks 37 and 40 blocks by hand);
 *      * convergence checkpoint k (MODEL.md 5, "after the first 2^k blocks")
 *        is the value of node (k, 0), recorded when that node is formed by a
 *        carry (or committed as leaf 0 for k = 0), plus a final checkpoint at
 *        N blocks (the fold) when N is not already a checkpoint (a power of
 *        two formed in the forest).  With a tail, node (k, 0) containing it
 *        is never formed, but the fold equals it, so the checkpoints are the
 *        same as without the tail rule.  Checkpoints are part of the
 *        mergeable state (a union when forests merge).
 *
 * The driver computes a block partial per thread, commits it as a leaf
 * (ds_stats_commit_block, any order, each block once), accumulates sketches
 * per thread (ds_stats_add_sketches) and merges those at the end
 * (ds_stats_merge); other ranks' or a saved run's accumulators merge the same
 * way (ds_stats_merge, after ds_stats_import).  ds_stats_finalize then fills
 * the result views the writers read.  Saved state (ds_stats_export /
 * ds_stats_import) is a versioned, self-describing list of named arrays
 * (ds_state), so sim/io stores and reads it without knowing these structs.
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
/* W: buckets kept per sign of a sketch.  When the keys of one sign span more
 * than W, every key below (max_key - W + 1) is counted in that lowest kept
 * bucket ("collapsed").  max_key only grows, and collapsing at a threshold
 * then at a higher one equals collapsing once at the higher one, while
 * collapsing commutes with adding counts; so the counts after any order of
 * adds and merges are the raw counts collapsed once at the final threshold
 * (max_key of all values - W + 1): partition-invariant (stats.c proves it in
 * more detail; tests/stats/test_stats_sketch.c checks random partitions).
 * Accuracy: a quantile whose rank falls in a non-collapsed bucket keeps
 * relative accuracy DS_SKETCH_ALPHA; a collapsed value has a magnitude at
 * most the lowest kept bucket's lower bound gamma^(floor-1), and quantiles
 * at its ranks report that bucket's estimate (an upper bound of |x|).  W
 * buckets span a factor gamma^W ~ 3600 in magnitude below the largest value
 * of each sign.  The file marks how many values were collapsed per sketch
 * (/state sketch_*_collapsed, /summary collapsed_count). */
#define DS_SKETCH_MAX_BUCKETS 4096

/* Count, NaN count, infinity counts, mean, sum of squared deviations
 * (Welford / Chan et al. 1979 pairwise update), min and max of the finite
 * values. */
typedef struct {
    uint64_t n;   /* finite values */
    uint64_t nan; /* NaN values (never treated as 0) */
    uint64_t posinf, neginf; /* +inf and -inf values (merged by addition) */
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
 * and max NaN; +-inf, which the model never produces, is counted in posinf /
 * neginf, apart from the finite values (it would poison m2), so `n` is
 * exactly the number of values a sketch of the same data counts.  The
 * reported values over all non-NaN values: */
/* mean: +inf when a +inf occurred and no -inf, -inf in the mirror case, NaN
 * when both did (or no value at all), else the finite mean. */
double ds_moments_mean_all(const ds_moments *mo);
/* min: -inf when a -inf occurred, else the finite min (+inf when only +inf
 * values, NaN when none); max mirrors it. */
double ds_moments_min_all(const ds_moments *mo);
double ds_moments_max_all(const ds_moments *mo);

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
    /* Bounded stores (at most DS_SKETCH_MAX_BUCKETS keys a side): keys below
     * the floor (the highest key seen minus W - 1, kept lazily: the
     * effective floor is max(floor, top key - W + 1)) are counted in the
     * floor's bucket; `collapsed` of them had a key below it. */
    int32_t pos_floor, neg_floor;
    uint64_t pos_collapsed, neg_collapsed;
} ds_sketch;

void ds_sketch_init(ds_sketch *s);
void ds_sketch_clear(ds_sketch *s); /* frees the buckets */
/* Adds x (NaN is ignored: callers count NaNs in ds_moments). */
ds_status ds_sketch_add(ds_sketch *s, double x);
/* Adds a positive value given by its natural log (the price fan). */
ds_status ds_sketch_add_log(ds_sketch *s, double log_x);
/* Notes on adding (sketch.c): +-inf is ignored like NaN (ds_moments counts
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
/* The q-quantile over all non-NaN values of an accumulator whose finite
 * values are in `sk` and whose counts are in `mo`: the rank floor(q (N-1))
 * of N = neginf + n + posinf, -inf for ranks among the -inf values, +inf
 * for those among the +inf ones, else the sketch's estimate for the finite
 * rank, clamped to [min, max] (exact at the extremes).  NaN when empty. */
double ds_stats_quantile(const ds_sketch *sk, const ds_moments *mo, double q);
/* Counts of values in `bins` equal bins between edges[0] and edges[bins]
 * (caller's arrays), each value placed by its bucket estimate. */
void ds_sketch_histogram(const ds_sketch *s, const double *edges, size_t bins,
                         uint64_t *counts);
/* Notes (sketch.c): ds_sketch_merge leaves `into`'s counts unchanged on
 * DS_ERR_NOMEM.  ds_sketch_quantile returns min itself for rank 0 and max
 * itself for the last rank when they are given, so q = 0 and q = 1 are
 * exact.  ds_sketch_histogram puts an estimate v (clamped into
 * [edges[0], edges[bins]]) in the last bin j with edges[j] <= v, zeros where
 * 0 goes; the counts always sum to count (NaN edges: all in bin 0). */

/* A coalition: a join mask seen in the run. */
typedef struct {
    uint64_t mask;
    uint64_t count;
    double sum_total; /* sum of total over the trials with this mask (along the merge tree) */
    /* Conditional extras (conditional.c; reported only with cond_valid):
     * trials with the mask that closed / met the target (integers), and the
     * sum of squared deviations of total from its mean given the mask
     * (shifted two-pass in a block, Chan's update along the tree). */
    uint64_t closed, target_met;
    double m2_total;
} ds_coalition;

/* The coalition table is bounded (at most DS_COAL_MAX_TRACKED masks a node,
 * whatever the trials and investors).  With <= DS_COAL_ALL_INVESTORS
 * investors every mask is tracked exactly (2^12 = 4096 at most).  With more,
 * the tracked masks are those that occur in block 0 run at full size
 * (DS_BLOCK_SIZE trials, so at most 4096): block 0 is the first block of
 * every run, whatever its length, partition, resume or extension, so the
 * set is the same everywhere (ds_stats_alloc computes it from the model).
 * Every other trial is pooled in one "other" row (count, sum of total,
 * summed in trial order within a block and along the merge tree like the
 * tracked sums).  The most probable coalitions of a long run are almost
 * surely in block 0 (a mask of probability p is missed with probability
 * (1-p)^4096: 1.6e-18 for p = 1%), so the top of the table is exact; the
 * "other" row holds the long tail of rare masks. */
#define DS_COAL_ALL_INVESTORS 12
#define DS_COAL_MAX_TRACKED 4096

/* Block spread (blockspread.c; README, "Sampling"): the moments of the
 * FULL blocks' means of one scalar output -- the number of full blocks
 * whose mean is finite, the mean of those means and the sum of squared
 * deviations from it -- kept per merge-tree node and merged by Chan's
 * update along the fixed tree (lower block index left), so the bits never
 * depend on the partition.  A short last block (the tail) has n = 0: it
 * enters the estimate (the mean over all trials) but not the spread. */
typedef struct {
    uint64_t n;  /* full blocks with a finite mean */
    double mean; /* mean of their means (0 when n = 0) */
    double m2;   /* sum of squared deviations of their means (0 when n = 0) */
} ds_bspread;

/* Ratio spread (blockspread.c; README, "Sampling"): for a mean over some
 * of the trials -- a conditional mean, or an investor's mean given it joins
 * -- the co-moments of the FULL blocks' pairs (S_b, N_b), S_b the sum of the
 * values in block b and N_b their count: the number of blocks, the means of
 * S and N and the sums of squared and crossed deviations, merged by Chan's
 * bivariate update along the fixed tree like ds_bspread.  The estimate
 * R = sum S / sum N is a ratio of block totals, so its standard error is
 * the ratio estimator's, sqrt(sum (S_b - R N_b)^2 / (nb (nb - 1))) / mean N;
 * the spread of N_b / B gives the standard error of the fraction of trials
 * the condition holds in.  Kept only under latin_hypercube (under
 * monte_carlo the trials are independent and the iid formula holds). */
typedef struct {
    uint64_t n;     /* full blocks */
    double ms, mn;  /* means of S_b and N_b */
    double mss, mnn, msn; /* sums of squared / crossed deviations */
} ds_rspread;

/* Under Latin hypercube sampling a standard error resting on fewer full
 * blocks than this is marked unreliable (the file's stderr_reliable, the
 * printed summary). */
#define DS_STDERR_MIN_BLOCKS 10

/* One convergence checkpoint: after `blocks` blocks (2^k: node (k, 0); or
 * the final one at the end of the run). */
typedef struct {
    uint64_t blocks;
    uint64_t trials;
    double mean[DS_OUT_COUNT];
    double stderr_[DS_OUT_COUNT];
} ds_checkpoint;

/* One complete node (level, index) of the merge tree: blocks
 * [index 2^level, (index+1) 2^level), with all their floating state. */
typedef struct {
    uint32_t level;
    uint64_t index;
    uint64_t trials;
    ds_moments *mo;     /* [ds_stats_n_accumulators]: outputs, amount, paid, stake, price */
    size_t n_coal;
    ds_coalition *coal; /* sorted by mask, count >= 1 each */
    uint64_t other_count; /* trials with an untracked mask (pooled) */
    double other_sum;     /* their sum of total */
    double *sens;         /* [ds_sens_len] sensitivity records, or NULL
                           * (a node from a state without them) */
    /* Conditional (conditional.c): the "other" row's extras, and the
     * conditional moments [ds_cond_len], or NULL (output.conditional off, or
     * a node from a state without them: then no conditional results). */
    uint64_t other_closed, other_target_met;
    double other_m2;
    ds_moments *cond;
    ds_rspread *crs;      /* [ds_cond_len] ratio spreads of cond (latin_hypercube), or NULL */
    int has_bsp;          /* 0: a node from a state without block spreads */
    ds_bspread bsp[DS_OUT_COUNT]; /* block spread of each output */
} ds_stats_node;

/* All accumulators of a run.  The same type serves as the global summary
 * (a forest), a per-block partial and a per-thread sketch accumulator. */
typedef struct {
    size_t n_outputs;   /* ds_model_n_outputs */
    size_t n_investors;
    size_t horizon;
    uint64_t trials;    /* trials merged (committed blocks) */
    uint64_t block_size; /* trials of a full block: DS_BLOCK_SIZE; tests with
                          * hand-made small blocks may lower it right after
                          * allocation (a partial with fewer is a tail) */
    uint64_t blocks;    /* blocks merged */

    /* Result views: in a block partial, that block's floating state; in a
     * global accumulator, filled by ds_stats_finalize (the fold). */
    ds_moments out[DS_OUT_COUNT];
    ds_moments *inv_amount; /* [n_investors] */
    ds_moments *inv_paid;   /* [n_investors] */
    ds_moments *inv_stake;  /* [n_investors] (only with a valuation) */
    ds_moments *price;      /* [horizon] p_m */
    size_t n_coalitions, cap_coalitions;
    ds_coalition *coalitions; /* unsorted; a small open table */
    ds_coalition coal_other;  /* the pooled "other" row (mask unused, 0) */
    /* The tracking rule (above): pooled = 0: every mask is tracked;
     * pooled = 1: exactly the n_tracked masks in `tracked` (sorted). */
    int coal_pooled;
    size_t n_tracked;
    uint64_t *tracked;
    size_t n_checkpoints, cap_checkpoints;
    ds_checkpoint *checkpoints; /* by blocks, the final one last */

    /* The mergeable floating state: the forest (sorted by first block) and
     * the checkpoints of nodes (k, 0) formed so far (sorted by blocks). */
    size_t n_nodes, cap_nodes;
    ds_stats_node *nodes;
    /* A short last block (fewer than DS_BLOCK_SIZE trials) is never a leaf
     * of the forest: it is kept here and folded in at finalize as the
     * rightmost element, so that ds_stats_drop_tail can take it out again
     * when a run is extended. */
    int has_tail;
    ds_stats_node tail;
    size_t n_node_cps, cap_node_cps;
    ds_checkpoint *node_cps;

    /* Integer state: any order. */
    uint64_t *inv_joined;   /* [n_investors] join counts */
    ds_sketch sk_out[DS_OUT_COUNT];
    ds_sketch *sk_amount;   /* [n_investors] */
    ds_sketch *sk_paid;     /* [n_investors] */
    ds_sketch *sk_price;    /* [horizon] */

    /* Sensitivity (sensitivity.c, "Sensitivity" below): sens_k uncertain
     * inputs (scenario indices sens_inputs), 0 without a model.  sens_view
     * is a block partial's records or, after finalize, the fold's;
     * sens_valid is 0 when some node lacked them (then no results). */
    const ds_model *sens_model; /* set by ds_stats_alloc; NULL after import */
    size_t sens_k;
    size_t *sens_inputs;
    double *sens_view;
    double *sens_scratch; /* [ds_sens_scratch_len] for ds_sens_block */
    struct ds_cdftab *sens_cdf; /* [sens_cdf_n] the inputs' CDFs by table (dist_cdftab.h) */
    size_t sens_cdf_n;          /* sens_k at ds_sens_setup (import may change sens_k) */
    int sens_cdf_borrowed;      /* 1: sens_cdf is the prototype's (ds_stats_alloc_like) */
    int sens_valid;

    /* Conditional summaries (conditional.c, "Conditional" below): cond_on
     * when output.conditional (or an imported state had them); cond_view a
     * block partial's or, after finalize, the fold's moments; cond_valid 0
     * when some node lacked them.  sk_cond: integer state, any order. */
    int cond_on;
    ds_moments *cond_view; /* [ds_cond_len] */
    ds_sketch *sk_cond;    /* [DS_COND_SKETCHED * n_outputs] */
    uint8_t *cond_sel;     /* [DS_COND_SKETCHED * DS_BLOCK_SIZE] scratch */
    uint32_t *cond_idx;    /* [DS_BLOCK_SIZE] scratch: a condition's trials */
    double *cond_buf;      /* [DS_BLOCK_SIZE][DS_COND_CW] scratch: their values */
    /* Sketches of total given the coalition, for the n_coal_sk masks
     * coal_sk_mask (sorted; the most frequent of block 0, see below). */
    size_t n_coal_sk;
    uint64_t coal_sk_mask[16];
    ds_sketch *sk_coal;    /* [DS_COND_COAL_SKETCHES] */
    struct ds_cond_sk_work *cond_work; /* scratch of ds_stats_add_sketches (conditional.c) */
    int cond_valid;
    /* Sampling method (ds_sampling: the scenario's, or the state's) and,
     * after finalize, the block spread of each output (bsp_valid 0 when
     * some node lacked them: a state of version 3). */
    int sampling;
    int bsp_valid;
    ds_bspread bsp[DS_OUT_COUNT];
    /* After finalize, under latin_hypercube with conditional summaries: the
     * ratio spread of each cond_view entry (crs_valid 0 when some node
     * lacked them: a state of version 5 or older). */
    ds_rspread *crs_view; /* [ds_cond_len] */
    int crs_valid;
} ds_stats;

/* Allocates empty accumulators shaped for the model (with more than
 * DS_COAL_ALL_INVESTORS investors it runs block 0 to find the tracked
 * coalitions). NULL on no memory. */
ds_stats *ds_stats_alloc(const ds_model *m);
/* The same, with the coalition choices (tracked masks, coalition sketches)
 * copied from proto, an accumulator made by ds_stats_alloc(m) for the same
 * model, instead of running block 0 again: for the driver's per-thread
 * accumulators, made every round.  NULL on no memory. */
ds_stats *ds_stats_alloc_like(const ds_model *m, const ds_stats *proto);
/* (s borrows proto's read-only CDF tables: proto must outlive s.) */
/* Sets the tracked coalition masks (a copy; sorted and deduplicated here,
 * at most DS_COAL_MAX_TRACKED) of an accumulator with more than
 * DS_COAL_ALL_INVESTORS investors that holds nothing yet: for tests, tools
 * and ds_stats_import.  DS_ERR_INTERNAL otherwise, DS_ERR_NOMEM. */
ds_status ds_stats_set_tracked(ds_stats *s, const uint64_t *masks, size_t n);
/* Accumulators that merge must have the same tracked set (else
 * DS_ERR_INTERNAL), as they do when made from the same model. */
/* Same, from the shape alone (n_outputs <= DS_OUT_COUNT; stake moments when
 * n_outputs == DS_OUT_COUNT): for tests and tools without a model.  NULL on
 * no memory or a shape beyond the DS_MAX_* limits. */
ds_stats *ds_stats_alloc_shape(size_t n_outputs, size_t n_investors, size_t horizon);
void ds_stats_free(ds_stats *s);
/* Moment accumulators of a node: n_outputs + n_investors (2, or 3 with
 * stake) + horizon, in that order (outputs, amount, paid, stake, price). */
size_t ds_stats_n_accumulators(const ds_stats *s);

/* Resets s's floating state and computes it from one block (in trial
 * order).  Used on a per-thread partial. */
ds_status ds_stats_block_moments(ds_stats *partial, const ds_block *blk);
/* Inserts a block partial (from ds_stats_block_moments) as leaf (0, block)
 * of acc's forest, carrying.  Blocks may come in any order, each once: a
 * block already covered is DS_ERR_INTERNAL.  Memory is reserved first, so
 * DS_ERR_NOMEM leaves acc unchanged. */
ds_status ds_stats_commit_block(ds_stats *acc, const ds_stats *partial, uint64_t block);
/* A partial with fewer than DS_BLOCK_SIZE trials becomes the tail (above);
 * a second tail, or a tail not after every forest block at finalize, is
 * DS_ERR_INTERNAL. */
/* Adds the integer state (sketches, join counts) of a committed block. */
ds_status ds_stats_add_sketches(ds_stats *local, const ds_block *blk);
/* into := into (+) from, everything: forest nodes (inserted with carries),
 * node checkpoints (a union), sketches and join counts (added), trials and
 * blocks.  For per-thread accumulators, MPI ranks, a saved state plus new
 * blocks.  Shapes must match; overlapping blocks are DS_ERR_INTERNAL (then
 * `into` is unchanged).  On DS_ERR_NOMEM `into` may be incomplete and the
 * run must fail. */
ds_status ds_stats_merge(ds_stats *into, const ds_stats *from);
/* Requires the forest to cover exactly [0, s->blocks) with s->trials trials
 * (DS_ERR_INTERNAL and a message otherwise), folds it and fills the result
 * views: out[], inv_amount, inv_paid, inv_stake, price, the coalitions and
 * the checkpoints (the final one included).  May be called again after more
 * merges.  On DS_ERR_NOMEM the views are unchanged. */
ds_status ds_stats_finalize(ds_stats *s, ds_diag *diag);
/* Takes the tail (a short last block b with n trials) out again so that s
 * holds exactly blocks [0, b) -- the first step of extending a run that
 * ended inside a block.  tail_blk is that block recomputed by the caller
 * (ds_model_run_block(m, b, n, blk)): its integer contributions (sketch
 * counts, join counts) are subtracted and the tail partial (moments,
 * coalitions, NaN and infinity counts) dropped.  DS_ERR_FORMAT and a
 * message when s has no tail, the block is not it (index, n) or a count
 * would go below zero (then s is unusable and must be freed).  A sketch
 * whose floor rose because of the tail keeps that floor (stats.c): exact
 * again once the extension re-adds the block's trials, as it always does. */
ds_status ds_stats_drop_tail(ds_stats *s, const ds_block *tail_blk, ds_diag *diag);
/* Notes (stats.c): the block and merge functions return DS_ERR_INTERNAL when
 * shapes differ; ds_stats_block_moments and ds_stats_add_sketches may leave
 * an incomplete accumulator on DS_ERR_NOMEM, after which the run must fail. */

/* ------------------------------------------------------------------------ */
/* Sensitivity (sensitivity.c): per node, for each uncertain input k and
 * output o, a co-moment record of (U_k, y) and DS_SENS_BINS bin records of
 * y over equiprobable bins of U_k (the input's uniform), merged by Chan's
 * update along the merge tree like ds_moments (lower block index left).
 * Layout: [K][O][DS_SENS_CO] co-moments = (n, mean U, mean y, M2 U, M2 y,
 * C), then [K][B][O][2] bins = (n, mean y).  Memory: 8 K O (6 + 2 B)
 * bytes a node (46 doubles per input and output; for 20 inputs and 21
 * outputs 155 KiB a node, times at most 64 + 1 + threads + 2 nodes). */
#define DS_SENS_BINS 20
#define DS_SENS_CO 6
size_t ds_sens_len(size_t n_inputs, size_t n_outputs);
/* The names of the K inputs the sensitivity records follow: the scenario's
 * uncertain (not fixed) inputs in their order, as ds_sens_setup chose them
 * (also for accumulators imported from a file, which keep no model).  0 on
 * success, -1 when the scenario does not have exactly K such inputs. */
int ds_sens_input_names(const ds_scenario *sc, size_t K, const char **names);
/* Sets s's sensitivity shape from the model and builds the inputs' CDF
 * tables (called by ds_stats_alloc), or, with proto (an accumulator of the
 * same model that outlives s: ds_stats_alloc_like), borrows proto's: they
 * are read-only, and building them costs milliseconds, which the driver
 * would otherwise pay for every thread in every round. */
ds_status ds_sens_setup(ds_stats *s, const ds_model *m, const ds_stats *proto);
/* Frees what ds_sens_setup allocated (called by ds_stats_free). */
void ds_sens_free(ds_stats *s);
/* The heap bytes of the CDF tables ds_sens_setup builds for sc (for the
 * memory bound): ds_cdftab_bytes() for each uncertain BETA or PERT input. */
size_t ds_sens_table_bytes(const ds_scenario *sc);
/* A block's records (trial order) into out[ds_sens_len], using
 * scratch[ds_sens_scratch_len]. */
size_t ds_sens_scratch_len(size_t n_inputs);
void ds_sens_block(const ds_stats *s, const ds_block *blk, double *out, double *scratch);
/* out := merge(l, r), l the lower-index node. */
void ds_sens_merge(size_t n_inputs, size_t n_outputs, const double *l, const double *r,
                   double *out);
/* From the co-moment record `co` of (k, o) and its first bin record `bins`
 * (bins b at bins + 2 O b): the bias-corrected first-order index S, its
 * standard error and corr(U_k, y) (NaN where undefined). */
void ds_sens_estimate(const double *co, const double *bins, size_t n_outputs, double *S,
                      double *se, double *rho);

/* ------------------------------------------------------------------------ */
/* Standard errors (blockspread.c).  Blocks are independent replicates under
 * either sampling method, so the spread of the full blocks' means gives an
 * honest standard error of the mean; under Latin hypercube sampling trials
 * within a block are not independent and it is the only honest one. */

/* A leaf's record from its block's moments: n = 1 and the block's mean when
 * the block is full and has a finite value, else n = 0. */
void ds_bspread_leaf(ds_bspread *b, const ds_moments *block_out, int full);
/* A block's (S, N) pair from its moments of the values (a tail: n = 0),
 * the merge, the ratio's standard error and that of N / block_size (NaN
 * below 2 blocks). */
void ds_rspread_leaf(ds_rspread *r, const ds_moments *block_mo, int full);
void ds_rspread_merge(ds_rspread *out, const ds_rspread *l, const ds_rspread *r);
double ds_rspread_stderr_ratio(const ds_rspread *r);
double ds_rspread_stderr_share(const ds_rspread *r, double block_size);
/* out := merge(l, r), l the lower-index node (Chan et al.). */
void ds_bspread_merge(ds_bspread *out, const ds_bspread *l, const ds_bspread *r);
/* sd of the block means / sqrt(n); NaN when n < 2. */
double ds_bspread_stderr(const ds_bspread *b);
/* THE standard error of output o's mean (a probability for a 0/1 output)
 * that the whole program reports, of finalized accumulators: the block
 * spread's under latin_hypercube (NaN with fewer than 2 full blocks, or
 * from a state without block spreads), the iid formula sd / sqrt(n) under
 * monte_carlo. */
double ds_stats_stderr(const ds_stats *s, size_t o);
/* The block-spread standard error (either method; NaN when unavailable),
 * the number of full blocks it rests on, the variance-reduction factor
 * (iid stderr / block-spread stderr)^2, and whether ds_stats_stderr is
 * reliable (monte_carlo: at least 2 values; latin_hypercube: at least
 * DS_STDERR_MIN_BLOCKS full blocks). */
double ds_stats_stderr_blocks(const ds_stats *s, size_t o);
uint64_t ds_stats_stderr_block_count(const ds_stats *s, size_t o);
double ds_stats_variance_reduction(const ds_stats *s, size_t o);
int ds_stats_stderr_reliable(const ds_stats *s, size_t o);
/* The same rule for a node (checkpoints): its block spread's standard
 * error under latin_hypercube, else the iid formula of its moments. */
double ds_stats_node_stderr(const ds_stats *s, const ds_stats_node *nd, size_t o);

/* Conditional summaries (conditional.c).  Conditions, in this order:
 * "closed", "target_met", then "joined.<name>" for each investor (file
 * order): DS_COND_BOOLS + n_investors of them.  Per node, along the merge
 * tree like the moments of the outputs (ds_moments, Chan's update, lower
 * block index left):
 *   [condition][output]  the moments of each output over the trials where
 *                        the condition holds (shifted two-pass in a block);
 *   [investor][3]        the investor's amount, paid and stake over the
 *                        trials where it joined ("if it joins").
 * Quantile sketches (integer counts, any order) for each output given each
 * of the DS_COND_SKETCHED boolean conditions; given joined.<name> only the
 * moments (quantiles NaN).  An investor's amount / paid quantiles "if it
 * joins" need no sketch: a non-joining investor's value is exactly 0, so
 * they are the unconditional sketch with (trials - joins) zeros removed
 * (ds_cond_joined_sketch).  Coalition rows carry closed and target_met
 * counts and m2_total (ds_coalition), valid with the conditional moments.
 * Memory: 64 (C O + 3 I) bytes a node (C conditions, O outputs, I
 * investors) and 2 O sketches (64 KiB each at most) an accumulator. */
#define DS_COND_BOOLS 2    /* closed, target_met */
/* Quantiles of total given the coalition: one sketch for each of the
 * DS_COND_COAL_SKETCHES masks most frequent in block 0 (ties by mask; block
 * 0 is the first block of every run, so every run, thread and rank of a
 * scenario chooses the same); NaN for the other rows. */
#define DS_COND_COAL_SKETCHES 16
/* The coalition sketch of a mask, or NULL. */
ds_sketch *ds_cond_coal_sketch(const ds_stats *s, uint64_t mask);
/* Chooses the coalition sketch masks from block 0's masks (n of them):
 * ds_stats_alloc; or sets them (sorted, distinct, at most
 * DS_COND_COAL_SKETCHES) for import with `chosen`. */
ds_status ds_cond_set_coal_masks(ds_stats *s, const uint64_t *masks, size_t n, int chosen);
#define DS_COND_SKETCHED 2 /* the conditions with quantile sketches */
size_t ds_cond_n_conditions(const ds_stats *s);
size_t ds_cond_len(const ds_stats *s);
/* Turns conditional accumulation on for s's shape (ds_stats_alloc calls it
 * when the scenario asks; import when the state holds them). */
ds_status ds_cond_setup(ds_stats *s);
/* Condition c's moments of output o / investor i's quantity q (0 amount,
 * 1 paid, 2 stake) in a cond array. */
#define DS_COND_OUT(s, cond, c, o) ((cond)[(c) * (s)->n_outputs + (o)])
#define DS_COND_INV(s, cond, i, q) \
    ((cond)[ds_cond_n_conditions(s) * (s)->n_outputs + 3 * (size_t)(i) + (size_t)(q)])
/* The sketch of output o given boolean condition c (< DS_COND_SKETCHED). */
#define DS_COND_SKETCH(s, c, o) (&(s)->sk_cond[(c) * (s)->n_outputs + (o)])
/* The investor's amount (paid: paid = 1) sketch "if it joins": a shallow
 * copy of the unconditional one with the non-joiners' zeros removed (do
 * not free it). */
ds_sketch ds_cond_joined_sketch(const ds_stats *s, size_t i, int paid);
/* The standard error of cond_view entry mo (a pointer into s->cond_view)
 * by the program's rule: the ratio spread's under latin_hypercube (NaN when
 * the state had none), the iid sd / sqrt(n) under monte_carlo. */
double ds_cond_stderr(const ds_stats *s, const ds_moments *mo);
/* The standard error of the fraction of trials where condition c holds:
 * the spread of the full blocks' fractions under latin_hypercube, the
 * binomial sqrt(p (1 - p) / trials) under monte_carlo. */
double ds_cond_share_stderr(const ds_stats *s, size_t c);
/* The standard error of investor i's join probability: from the spread
 * of the full blocks' join fractions under latin_hypercube when the
 * conditional summaries hold them, else the binomial sqrt(p (1 - p) / n)
 * (under latin_hypercube an upper bound: README, Sampling). */
double ds_stats_join_stderr(const ds_stats *s, size_t i);
/* Trials under condition c: every record of it counts them (the finite,
 * NaN and infinite values of output 0). */
uint64_t ds_cond_trials(const ds_stats *s, size_t c);
/* Condition name c into buf ("closed", "target_met", "joined.<name>"). */
void ds_cond_name(const ds_stats *s, size_t c, const char *const *inv_names, char *buf,
                  size_t size);

/* ------------------------------------------------------------------------ */
/* Saved state: a generic, self-describing list of named arrays. */

/* Of the array set ds_stats_export writes.  6 added the conditional
 * ratio spreads (latin_hypercube only; a version 5 state imports without
 * them: crs_valid 0).  5 added the conditional
 * summaries (stats.h "Conditional"), 4 the block spreads and the sampling
 * method; version 3 and 4 states still import (a version 3 one as
 * monte_carlo without block spreads; both without conditional results,
 * ds_stats.cond_valid 0). */
#define DS_STATS_STATE_VERSION 6
#define DS_STATS_STATE_VERSION_MIN 3
#define DS_STATE_NAME_MAX 40
#define DS_STATE_MAX_RANK 2
/* Arrays bigger than this (elements) are refused on import and read. */
#define DS_STATE_MAX_ELEMS ((uint64_t)1 << 31)

typedef enum { DS_STATE_U64 = 0, DS_STATE_I64, DS_STATE_F64, DS_STATE_I32 } ds_state_kind;

typedef struct {
    char name[DS_STATE_NAME_MAX];
    ds_state_kind kind;
    size_t rank;                      /* 0 (a scalar), 1 or 2 */
    uint64_t dims[DS_STATE_MAX_RANK]; /* unused entries 0 */
    char dim_names[DS_STATE_MAX_RANK][DS_STATE_NAME_MAX]; /* "" when unknown */
    char *units;                      /* NULL when unknown */
    char *long_name;                  /* NULL when unknown */
    void *data;                       /* row-major, prod(dims) elements (1 for a scalar) */
} ds_state_array;

typedef struct {
    uint32_t version;
    size_t n, cap;
    ds_state_array *a;
} ds_state;

/* An empty state of the given version; NULL on no memory. */
ds_state *ds_state_alloc(uint32_t version);
void ds_state_free(ds_state *st); /* NULL is fine */
/* Appends an array with zeroed data (returned in *data); names must be
 * unique.  dim_names, units and long_name may be NULL.  DS_ERR_NOMEM, or
 * DS_ERR_INTERNAL for a bad rank, kind, duplicate name or more than
 * DS_STATE_MAX_ELEMS elements. */
ds_status ds_state_add(ds_state *st, const char *name, ds_state_kind kind, size_t rank,
                       const uint64_t *dims, const char *const *dim_names, const char *units,
                       const char *long_name, void **data);
/* The array named `name`, or NULL. */
const ds_state_array *ds_state_find(const ds_state *st, const char *name);
/* Bytes of one element of a kind (8 or 4). */
size_t ds_state_kind_size(ds_state_kind kind);

/* The shape of accumulators (what an import must match). */
typedef struct {
    size_t n_outputs, n_investors, horizon;
} ds_stats_shape;
ds_stats_shape ds_stats_shape_of(const ds_stats *s);

/* Exports everything mergeable (shape, trials, blocks, the forest, node
 * checkpoints, sketches as their non-zero bucket spans, join counts) into a
 * new state of version DS_STATS_STATE_VERSION.  Independent of allocation
 * history: equal accumulators export equal arrays. */
ds_status ds_stats_export(const ds_stats *s, ds_state **out);
/* Rebuilds accumulators from a state, validating everything (version,
 * presence, kind and dims of every array, shape (must equal *shape unless
 * NULL), levels and indices of nodes, overlaps, canonical form, counts,
 * coalition lists, checkpoints, bucket spans and totals).  Any
 * inconsistency is DS_ERR_FORMAT with a message; a damaged or hostile state
 * never crashes it.  ds_stats_finalize then gives the results. */
ds_status ds_stats_import(const ds_stats_shape *shape, const ds_state *in, ds_stats **out,
                          ds_diag *diag);

/* ------------------------------------------------------------------------ */
/* Memory bound.  Every summary is bounded whatever the trials, parameter
 * values and horizon of prices: a sketch holds at most W buckets a sign
 * (DS_SKETCH_MAX_BUCKETS, 64 KiB for both), a coalition table at most
 * DS_COAL_MAX_TRACKED masks, a forest at most 64 nodes plus the tail and
 * the blocks in flight (one a thread).  A run with T threads holds
 * shared + T * per_thread bytes at most for its summaries and blocks:
 *   per_thread = the block workspace (B trials of every output, investor
 *                array, price month and input) + a block partial (moments,
 *                its coalition table) + a sketch accumulator (all sketches);
 *   shared     = the global accumulator (sketches, views, coalitions) and
 *                its forest nodes (64 + 1 + T), plus the finalize fold.
 * The HDF5 library, per-trial output chunks and the program itself come on
 * top (a few MiB).  The file holds at most one accumulator's worth. */
typedef struct {
    uint64_t per_thread; /* bytes */
    uint64_t shared;     /* bytes, for `threads` threads */
    uint64_t total;      /* shared + threads * per_thread */
    uint64_t file_state; /* bytes of /state and the summaries at most (no /trials) */
} ds_stats_memory;
ds_stats_memory ds_stats_memory_bound(const ds_model *m, int threads);

/* Coalitions sorted most probable first (ties by mask), into a new array
 * the caller frees.  NULL on no memory. */
ds_coalition *ds_stats_sorted_coalitions(const ds_stats *s);

/* A state as one byte buffer (stateblob.c), to send between MPI ranks or
 * processes, and back: ds_state_pack makes one malloc'd buffer;
 * ds_state_unpack rebuilds the state, checking every length against the
 * buffer (a short or damaged buffer is an error, never an overread). */
ds_status ds_state_pack(const ds_state *st, void **out, size_t *len, ds_diag *diag);
ds_status ds_state_unpack(const void *buf, size_t len, ds_state **out, ds_diag *diag);

#endif /* DEALSIM_STATS_H */
