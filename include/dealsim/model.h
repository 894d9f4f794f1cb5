/* include/dealsim/model.h
 * The pure trial kernel (MODEL.md sections 3-4): one block of trials from the
 * block's random streams into caller-owned arrays.
 * Licence: see LICENSE at the top of the repository.
 *
 * Layering: config (scenario) -> model (this) -> stats (summaries) ->
 * driver (blocks, threads) -> h5out (file).  The kernel is pure: no I/O, no
 * allocation, no globals, no OpenMP, nothing that can fail.  ds_model_create
 * prepares everything it needs once; ds_block_alloc gives each thread its
 * workspace; ds_model_run_block fills the block.
 *
 * Blocks: trials are grouped in blocks of DS_BLOCK_SIZE consecutive trials;
 * trial t (0-based) is trial t % B of block t / B.  In block b each named
 * random source has its own stream (rng.h), and within a block trials draw
 * from a stream in trial order.  So the values of a trial depend only on
 * (scenario, seed, block, position in block): never on threads or ranks, and
 * a run of N trials is a prefix of a run of M > N trials.
 */
#ifndef DEALSIM_MODEL_H
#define DEALSIM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "dealsim/config.h"
#include "dealsim/error.h"
#include "dealsim/outputs.h"

/* Trials per block.  Part of the reproducibility contract: changing it
 * changes every stream, so it is recorded in every output file. */
#define DS_BLOCK_SIZE 4096u

/* The scalar outputs (ds_output, ds_output_info): the catalogue in outputs.h. */

/* A prepared model (opaque): the scenario plus precomputed constants. It
 * keeps a pointer to the scenario, which must outlive it. */
typedef struct ds_model ds_model;

ds_status ds_model_create(const ds_scenario *sc, ds_model **out, ds_diag *diag);
void ds_model_free(ds_model *m);
const ds_scenario *ds_model_scenario(const ds_model *m);
/* Number of scalar outputs present: DS_OUT_COUNT with a valuation, else
 * DS_OUT_POST_MONEY (the valuation outputs are last). */
int ds_model_n_outputs(const ds_model *m);

/* Trials whose price paths the kernel runs side by side (independent
 * chains, the bits of one trial alone): its workspace holds this many
 * paths' shocks, jumps and suffix sums. */
#define DS_MODEL_LANES 8
#if DS_BLOCK_SIZE % DS_MODEL_LANES
#error "a block must hold whole groups of lanes (the kernel writes their rows)"
#endif

/* One block of trial results, structure of arrays, owned by the caller
 * (ds_block_alloc).  Arrays are indexed [t] or [t * n_investors + i] or
 * [t * horizon + (m - 1)], t = trial within the block; the log prices by
 * ds_block_lp_at (lane tiles, as the kernel computes them). */
typedef struct {
    uint64_t block;   /* block index b */
    uint64_t first;   /* global index of the block's first trial = b * B */
    size_t n;         /* trials in this block (B, or fewer in the last) */
    size_t n_investors;
    size_t horizon;
    double *out[DS_OUT_COUNT]; /* [n] each; NULL for absent valuation outputs */
    uint64_t *joined_mask;     /* [n] exact masks (out[DS_OUT_JOINED_MASK] holds them as double) */
    double *amount;            /* [n * n_investors] a_i */
    double *paid;              /* [n * n_investors] paid_i */
    uint8_t *joined;           /* [n * n_investors] join_i */
    double *stake;             /* [n * n_investors] or NULL without a valuation */
    double *log_price;         /* [ceil(n / L) * L * horizon] ln p_m, at ds_block_lp_at */
    double *price;             /* [n * horizon] p_m */
    /* Private workspace of the kernel (inputs, copula, suffix sums). */
    double *ws_inputs;         /* [n_inputs * B] */
    double *ws_eps;            /* [n_corr_inputs * B] */
    double *ws_lanes;          /* [DS_MODEL_LANES * (4 horizon + 1)] price paths in lanes */
} ds_block;

/* Where trial t's log price of month m + 1 is in blk->log_price: tiles of
 * L = DS_MODEL_LANES trials, month-major within a tile (a month's L values
 * side by side), the layout the kernel's lanes produce and the price-fan
 * keys read month by month. */
static inline size_t ds_block_lp_at(size_t horizon, size_t t, size_t m)
{
    return ((t / DS_MODEL_LANES) * horizon + m) * DS_MODEL_LANES + t % DS_MODEL_LANES;
}

/* Allocates a block workspace sized for m (B trials). NULL on no memory. */
ds_block *ds_block_alloc(const ds_model *m);
void ds_block_free(ds_block *blk); /* NULL is fine */
/* Frees every array of a caller-owned ds_block (NULL members are fine) and
 * zeroes it; for blocks built by hand, as tests do. */
void ds_block_clear(ds_block *blk);

/* Runs trials [b*B, b*B + n) of block b (n <= B) into blk.  Pure. */
void ds_model_run_block(const ds_model *m, uint64_t block, size_t n, ds_block *blk);

/* The per-trial value of input `k` (index into scenario inputs) for trial t
 * of the last block run: for DIST inputs the sampled value, for JOIN and
 * TRANCHE inputs the uniform (U or Phi(Z)) that was compared with p or q.
 * Tests use it to check common random numbers by name. */
double ds_block_input_value(const ds_model *m, const ds_block *blk, size_t k, size_t t);
/* The same values of input k for every trial t of the block: element t
 * (for the sensitivity accumulators, which read a block's inputs in bulk). */
const double *ds_block_input_column(const ds_model *m, const ds_block *blk, size_t k);

#endif /* DEALSIM_MODEL_H */
