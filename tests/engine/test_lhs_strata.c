/* tests/engine/test_lhs_strata.c
 * Latin hypercube sampling (README, "Sampling"), against the definition:
 *  - the stratified uniforms U_j of every uncertain input are rebuilt here
 *    from the README's description (the source's stream of the block: the
 *    Fisher-Yates permutation of the full block first, then one 64-bit
 *    output per trial) and the model's values must be exactly F^-1(U_j),
 *    U_j itself, or (correlated inputs) the latent Phi^-1(U_j);
 *  - within a full block the U_j take each stratum [j/B, (j+1)/B) exactly
 *    once;
 *  - a short block's values are the full block's first n (prefix);
 *  - under monte_carlo the same check of the strata fails (the test can
 *    tell the two methods apart).
 * Licence: see LICENSE at the top of the repository.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/config.h"
#include "dealsim/dist.h"
#include "dealsim/model.h"
#include "dealsim/rng.h"

#define B DS_BLOCK_SIZE

static int failures = 0;

static void fail(const char *what, const char *name, size_t t)
{
    if (failures < 20)
        printf("FAIL %s: input %s, trial %zu\n", what, name, t);
    ++failures;
}

static ds_scenario *load(const char *path, const char *set)
{
    ds_scenario *sc = NULL;
    ds_diag d;
    const char *sets[1] = {set};
    if (ds_scenario_load(path, sets, set ? 1 : 0, &sc, &d) != DS_OK) {
        fprintf(stderr, "load %s: %s\n", path, d.msg);
        exit(1);
    }
    return sc;
}

/* J uniform in 0..s-1 from the upper 32 bits of one output, redrawn while
 * the low 32 bits of the product fall below 2^32 mod s (README). */
static uint32_t ref_below(ds_rng *r, uint32_t s)
{
    for (;;) {
        const uint64_t m = (ds_rng_next_u64(r) >> 32) * (uint64_t)s;
        const uint32_t low = (uint32_t)m, reject = (uint32_t)((UINT64_C(1) << 32) % s);
        if (low >= reject)
            return (uint32_t)(m >> 32);
    }
}

/* The README's U_j, j < n, of source `hash` in block `blk`. */
static void ref_uniforms(uint64_t seed, uint64_t hash, uint64_t blk, size_t n, double *u)
{
    static uint32_t perm[B];
    ds_rng r;
    ds_rng_stream_hashed(&r, seed, hash, blk);
    for (uint32_t j = 0; j < B; ++j)
        perm[j] = j;
    for (uint32_t i = B - 1; i >= 1; --i) {
        const uint32_t j = ref_below(&r, i + 1), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (size_t j = 0; j < n; ++j) {
        const uint64_t x = ds_rng_next_u64(&r) >> 24; /* 40 bits */
        u[j] = ((double)perm[j] * 0x1.0p40 + (double)x + 0.5) / 0x1.0p52;
    }
}

/* Whether u[0..B) has one value in each stratum, all inside (0, 1). */
static int stratified(const double *u)
{
    static unsigned char seen[B];
    memset(seen, 0, sizeof seen);
    for (size_t j = 0; j < B; ++j) {
        if (!(u[j] > 0.0 && u[j] < 1.0))
            return 0;
        const size_t s = (size_t)floor(u[j] * B);
        if (s >= B || seen[s])
            return 0;
        seen[s] = 1;
    }
    return 1;
}

/* The model's value of input k at trial t: the latent for a correlated input. */
static double model_value(const ds_model *m, const ds_block *blk, const ds_input *in, size_t k,
                          size_t t)
{
    if (in->corr_index >= 0)
        return blk->ws_eps[(size_t)in->corr_index * B + t];
    return ds_block_input_value(m, blk, k, t);
}

static double expected_value(const ds_input *in, double u)
{
    if (in->corr_index >= 0)
        return ds_norm_ppf(u);
    return in->kind == DS_INPUT_DIST ? ds_dist_quantile(in->dist, u) : u;
}

static void check_lhs(const char *path, uint64_t blockno)
{
    ds_scenario *sc = load(path, "sampling=latin_hypercube");
    ds_model *m = NULL;
    ds_diag d;
    if (ds_model_create(sc, &m, &d) != DS_OK)
        exit(1);
    ds_block *full = ds_block_alloc(m), *part = ds_block_alloc(m);
    double *u = malloc(B * sizeof *u);
    if (!full || !part || !u)
        exit(1);
    const size_t n_part = 1000;
    ds_model_run_block(m, blockno, B, full);
    ds_model_run_block(m, blockno, n_part, part);
    size_t n_corr = 0, n_dist = 0, n_unif = 0;
    for (size_t k = 0; k < sc->n_inputs; ++k) {
        const ds_input *in = &sc->inputs[k];
        if (in->fixed)
            continue;
        n_corr += in->corr_index >= 0;
        n_dist += in->corr_index < 0 && in->kind == DS_INPUT_DIST;
        n_unif += in->corr_index < 0 && in->kind != DS_INPUT_DIST;
        ref_uniforms(sc->seed, in->hash, blockno, B, u);
        if (!stratified(u))
            fail("the README's U_j are not one per stratum", in->name, 0);
        for (size_t t = 0; t < B; ++t) {
            const double want = expected_value(in, u[t]), got = model_value(m, full, in, k, t);
            if (memcmp(&want, &got, sizeof want) != 0) {
                fail("value differs from F^-1(U_j) / U_j / Phi^-1(U_j)", in->name, t);
                break;
            }
        }
        for (size_t t = 0; t < n_part; ++t) {
            const double a = model_value(m, full, in, k, t), b = model_value(m, part, in, k, t);
            if (memcmp(&a, &b, sizeof a) != 0) {
                fail("a short block is not the full block's prefix", in->name, t);
                break;
            }
        }
    }
    printf("latin_hypercube block %llu: %zu correlated, %zu distribution, %zu uniform inputs "
           "checked\n",
           (unsigned long long)blockno, n_corr, n_dist, n_unif);
    if (n_corr == 0 || n_dist == 0 || n_unif == 0)
        fail("the scenario lacks a kind of input", path, 0);
    free(u);
    ds_block_free(full);
    ds_block_free(part);
    ds_model_free(m);
    ds_scenario_free(sc);
}

/* Under monte_carlo the uncorrelated join and tranche uniforms are iid:
 * (1 - 1/B)^B ~ 37% of the strata stay empty, so none is stratified. */
static void check_mc_differs(const char *path)
{
    ds_scenario *sc = load(path, NULL);
    ds_model *m = NULL;
    ds_diag d;
    if (ds_model_create(sc, &m, &d) != DS_OK)
        exit(1);
    ds_block *blk = ds_block_alloc(m);
    double *u = malloc(B * sizeof *u);
    if (!blk || !u)
        exit(1);
    ds_model_run_block(m, 2, B, blk);
    size_t n = 0;
    for (size_t k = 0; k < sc->n_inputs; ++k) {
        const ds_input *in = &sc->inputs[k];
        if (in->fixed || in->corr_index >= 0 || in->kind == DS_INPUT_DIST)
            continue;
        for (size_t t = 0; t < B; ++t)
            u[t] = ds_block_input_value(m, blk, k, t);
        if (stratified(u))
            fail("monte_carlo uniforms look stratified", in->name, 0);
        ++n;
    }
    printf("monte_carlo: %zu uniform inputs not stratified\n", n);
    if (n == 0)
        fail("no uniform input under monte_carlo", path, 0);
    free(u);
    ds_block_free(blk);
    ds_model_free(m);
    ds_scenario_free(sc);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    check_lhs(argv[1], 0);
    check_lhs(argv[1], 5);
    check_mc_differs(argv[1]);
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
