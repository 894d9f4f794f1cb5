/* sim/stats/blockspread.c
 * Standard errors from the spread of the full blocks' means (stats.h,
 * "Standard errors"; README, "Sampling"), and the one rule the program
 * uses for the standard error of an output.
 * Licence: see LICENSE at the top of the repository.
 *
 * Each full block of B trials gives one replicate, its output's mean over
 * the block's finite values.  Blocks are independent under both sampling
 * methods (every source's stream is seeded by the block index), so with nb
 * full blocks the mean of the block means has standard error
 * sd(block means) / sqrt(nb).  The estimate the program reports is the mean
 * over all trials (the tail included); for an output without NaN values and
 * no tail that is exactly the mean of the block means.  The records merge
 * by Chan's update along the fixed merge tree like ds_moments, so the bits
 * depend only on the blocks.
 */
#include "stats_internal.h"

#include <math.h>

#include "dealsim/config.h"

void ds_bspread_leaf(ds_bspread *b, const ds_moments *block_out, int full)
{
    b->n = 0;
    b->mean = 0.0;
    b->m2 = 0.0;
    if (full && block_out->n > 0 && isfinite(block_out->mean)) {
        b->n = 1;
        b->mean = block_out->mean;
    }
}

void ds_bspread_merge(ds_bspread *out, const ds_bspread *l, const ds_bspread *r)
{
    if (r->n == 0) {
        *out = *l;
        return;
    }
    if (l->n == 0) {
        *out = *r;
        return;
    }
    const double nl = (double)l->n, nr = (double)r->n, n = nl + nr;
    const double d = r->mean - l->mean;
    out->n = l->n + r->n;
    out->mean = l->mean + d * (nr / n);
    out->m2 = l->m2 + r->m2 + d * d * (nl * nr / n);
}

double ds_bspread_stderr(const ds_bspread *b)
{
    if (b->n < 2)
        return (double)NAN;
    const double n = (double)b->n;
    return sqrt(b->m2 / (n - 1.0) / n);
}

double ds_stats_stderr_blocks(const ds_stats *s, size_t o)
{
    if (o >= s->n_outputs || !s->bsp_valid)
        return (double)NAN;
    return ds_bspread_stderr(&s->bsp[o]);
}

uint64_t ds_stats_stderr_block_count(const ds_stats *s, size_t o)
{
    return o < s->n_outputs && s->bsp_valid ? s->bsp[o].n : 0;
}

double ds_stats_stderr(const ds_stats *s, size_t o)
{
    if (o >= s->n_outputs)
        return (double)NAN;
    if (s->sampling == DS_SAMPLING_LATIN_HYPERCUBE)
        return ds_stats_stderr_blocks(s, o);
    return ds_moments_stderr(&s->out[o]);
}

double ds_stats_variance_reduction(const ds_stats *s, size_t o)
{
    if (o >= s->n_outputs)
        return (double)NAN;
    const double iid = ds_moments_stderr(&s->out[o]), blk = ds_stats_stderr_blocks(s, o);
    /* A constant output (both 0) has no reduction to report. */
    if (!(blk > 0.0) || !isfinite(iid))
        return (double)NAN;
    return (iid / blk) * (iid / blk);
}

int ds_stats_stderr_reliable(const ds_stats *s, size_t o)
{
    if (o >= s->n_outputs)
        return 0;
    if (s->sampling == DS_SAMPLING_LATIN_HYPERCUBE)
        return ds_stats_stderr_block_count(s, o) >= DS_STDERR_MIN_BLOCKS;
    return s->out[o].n >= 2;
}

double ds_stats_node_stderr(const ds_stats *s, const ds_stats_node *nd, size_t o)
{
    if (o >= s->n_outputs)
        return (double)NAN;
    if (s->sampling == DS_SAMPLING_LATIN_HYPERCUBE)
        return nd->has_bsp ? ds_bspread_stderr(&nd->bsp[o]) : (double)NAN;
    return ds_moments_stderr(&nd->mo[o]);
}
