/* sim/model/lhs_internal.h
 * Private to sim/model: the stratified uniforms of Latin hypercube sampling
 * (lhs.c; README, "Sampling").
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_LHS_INTERNAL_H
#define DEALSIM_LHS_INTERNAL_H

#include <stddef.h>

#include "dealsim/rng.h"

/* Draws the permutation of the full block, then U_j for j < n, from r (a
 * source's stream of the block) into v[0..n); v must hold DS_BLOCK_SIZE
 * doubles (the permutation is built in it). */
void ds_lhs_uniforms(ds_rng *r, size_t n, double *v);

#endif /* DEALSIM_LHS_INTERNAL_H */
