/* sim/model/lhs.c
 * Latin hypercube sampling (README, "Sampling"): the stratified uniforms of
 * one random source for one block.
 * Licence: see LICENSE at the top of the repository.
 *
 * For a block of B = DS_BLOCK_SIZE trials, a source's stream (its own
 * PCG64DXSM(SeedSequence(seed, (fnv1a64(name), block)))) gives, in order:
 *  1. a permutation pi of 0..B-1: start from pi(j) = j, then for
 *     i = B-1 down to 1 swap pi(i) with pi(J), J uniform in 0..i drawn by
 *     Lemire's multiply-shift with rejection on the upper 32 bits of one
 *     64-bit output (redrawing while the low half is below 2^32 mod (i+1));
 *     the permutation is always of the full B, whatever the trials run;
 *  2. then for trials j = 0, 1, ... of the block, one 64-bit output x_j
 *     each: U_j = (pi(j) 2^40 + (x_j >> 24) + 1/2) 2^-52, i.e.
 *     (pi(j) + u_j) / B with u_j in (0, 1) on a grid of 2^-40.  Computed
 *     exactly (every step is exact in double), so U_j lies strictly inside
 *     stratum [pi(j)/B, (pi(j)+1)/B) and never is 0 or 1.
 * A last block of n < B trials uses the first n: the same values as the
 * full block's first n, so N trials stay a prefix of M > N.
 */
#include "lhs_internal.h"

#include "dealsim/model.h"

/* J uniform in [0, s), s <= 2^32: Lemire (2019), "Fast random integer
 * generation in an interval", 32-bit variant. */
static uint32_t lhs_bounded(ds_rng *r, uint32_t s)
{
    uint64_t m = (ds_rng_next_u64(r) >> 32) * (uint64_t)s;
    uint32_t l = (uint32_t)m;
    if (l < s) {
        const uint32_t t = (uint32_t)(-s) % s;
        while (l < t) {
            m = (ds_rng_next_u64(r) >> 32) * (uint64_t)s;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void ds_lhs_uniforms(ds_rng *r, size_t n, double *v)
{
    const uint32_t B = DS_BLOCK_SIZE;
    for (uint32_t j = 0; j < B; ++j)
        v[j] = (double)j;
    for (uint32_t i = B - 1; i > 0; --i) {
        const uint32_t j = lhs_bounded(r, i + 1);
        const double tmp = v[i];
        v[i] = v[j];
        v[j] = tmp;
    }
    for (size_t t = 0; t < n; ++t) {
        const uint64_t pi = (uint64_t)v[t];
        const uint64_t k = (pi << 40) | (ds_rng_next_u64(r) >> 24);
        v[t] = ((double)k + 0.5) * 0x1.0p-52;
    }
}
