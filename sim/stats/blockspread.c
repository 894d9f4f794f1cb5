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

void ds_rspread_leaf(ds_rspread *r, const ds_moments *block_mo, int full)
{
    r->n = 0;
    r->ms = r->mn = r->mss = r->mnn = r->msn = 0.0;
    if (!full)
        return;
    r->n = 1;
    r->mn = (double)block_mo->n;
    /* n mean: the block's sum as its moments give it (0 for no values). */
    r->ms = block_mo->n ? r->mn * block_mo->mean : 0.0;
}

void ds_rspread_merge(ds_rspread *out, const ds_rspread *l, const ds_rspread *r)
{
    if (r->n == 0) {
        *out = *l;
        return;
    }
    if (l->n == 0) {
        *out = *r;
        return;
    }
    const double nl = (double)l->n, nr = (double)r->n, n = nl + nr, w = nl * nr / n;
    const double ds = r->ms - l->ms, dn = r->mn - l->mn;
    out->n = l->n + r->n;
    out->ms = l->ms + ds * (nr / n);
    out->mn = l->mn + dn * (nr / n);
    out->mss = l->mss + r->mss + ds * ds * w;
    out->mnn = l->mnn + r->mnn + dn * dn * w;
    out->msn = l->msn + r->msn + ds * dn * w;
}

double ds_rspread_stderr_ratio(const ds_rspread *r)
{
    if (r->n < 2 || !(r->mn > 0.0))
        return (double)NAN;
    const double n = (double)r->n, q = r->ms / r->mn;
    /* sum (S_b - q N_b)^2 about the means; mean S - q mean N is 0. */
    double ss = r->mss - 2.0 * q * r->msn + q * q * r->mnn;
    if (ss < 0.0)
        ss = 0.0; /* rounding of a (nearly) constant ratio */
    return sqrt(ss / (n * (n - 1.0))) / r->mn;
}

double ds_rspread_stderr_share(const ds_rspread *r, double block_size)
{
    if (r->n < 2)
        return (double)NAN;
    const double n = (double)r->n;
    return sqrt(r->mnn / (n * (n - 1.0))) / block_size;
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

double ds_cond_stderr(const ds_stats *s, const ds_moments *mo)
{
    if (s->sampling != DS_SAMPLING_LATIN_HYPERCUBE)
        return ds_moments_stderr(mo);
    if (!s->crs_valid || !s->crs_view || !s->cond_view)
        return (double)NAN;
    return ds_rspread_stderr_ratio(&s->crs_view[mo - s->cond_view]);
}

double ds_cond_share_stderr(const ds_stats *s, size_t c)
{
    if (s->sampling != DS_SAMPLING_LATIN_HYPERCUBE) {
        const double n = (double)s->trials;
        const double p = s->trials ? (double)ds_cond_trials(s, c) / n : (double)NAN;
        return sqrt(p * (1.0 - p) / n);
    }
    if (!s->crs_valid || !s->crs_view)
        return (double)NAN;
    /* total is finite in every trial: its count is the condition's. */
    return ds_rspread_stderr_share(&DS_COND_OUT(s, s->crs_view, c, DS_OUT_TOTAL),
                                   (double)s->block_size);
}

double ds_stats_join_stderr(const ds_stats *s, size_t i)
{
    if (s->sampling == DS_SAMPLING_LATIN_HYPERCUBE && s->cond_on && s->cond_valid &&
        s->crs_valid && i < s->n_investors)
        return ds_cond_share_stderr(s, DS_COND_BOOLS + i); /* condition joined.<i> */
    const double n = (double)s->trials;
    const double p = s->trials > 0 ? (double)s->inv_joined[i] / n : (double)NAN;
    return sqrt(p * (1.0 - p) / n);
}
