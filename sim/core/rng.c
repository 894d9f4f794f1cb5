/* sim/core/rng.c
 * PCG64-DXSM seeding, jump-ahead and numpy's SeedSequence.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariant: every function here reproduces numpy (>= 1.21) bit for bit; the
 * tests in tests/unit/test_rng_numpy.py compare millions of outputs.  All
 * SeedSequence arithmetic is on uint32_t, modulo 2^32, exactly as numpy's.
 */
#include "dealsim/rng.h"

/* SeedSequence constants (numpy/random/bit_generator.pyx). */
#define SS_POOL_SIZE 4
#define SS_INIT_A UINT32_C(0x43b0d7e5)
#define SS_MULT_A UINT32_C(0x931e8875)
#define SS_INIT_B UINT32_C(0x8b51f9dd)
#define SS_MULT_B UINT32_C(0x58f38ded)
#define SS_MIX_MULT_L UINT32_C(0xca01f9dd)
#define SS_MIX_MULT_R UINT32_C(0x4973f715)
#define SS_XSHIFT 16

/* Longest assembled entropy: pool (4) + 2 words per spawn key element; the
 * model uses 2 key elements, the tests up to 8. */
#define SS_MAX_KEY 8
#define SS_MAX_ENTROPY (SS_POOL_SIZE + 2 * SS_MAX_KEY + 2)

uint64_t ds_fnv1a64(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV offset basis */
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3); /* FNV prime */
    }
    return h;
}

static uint32_t ss_hashmix(uint32_t value, uint32_t *hash_const)
{
    value ^= *hash_const;
    *hash_const *= SS_MULT_A;
    value *= *hash_const;
    value ^= value >> SS_XSHIFT;
    return value;
}

static uint32_t ss_mix(uint32_t x, uint32_t y)
{
    uint32_t result = SS_MIX_MULT_L * x - SS_MIX_MULT_R * y;
    result ^= result >> SS_XSHIFT;
    return result;
}

/* numpy's _int_to_uint32_array: little-endian 32-bit words, [0] for 0. */
static size_t ss_int_words(uint64_t v, uint32_t *out)
{
    if (v == 0) {
        out[0] = 0;
        return 1;
    }
    size_t n = 0;
    while (v) {
        out[n++] = (uint32_t)(v & 0xffffffffu);
        v >>= 32;
    }
    return n;
}

void ds_seedseq_generate(uint64_t seed, const uint64_t *key, size_t nkey, uint32_t *out,
                         size_t n)
{
    uint32_t entropy[SS_MAX_ENTROPY];
    size_t len = ss_int_words(seed, entropy);
    if (nkey > SS_MAX_KEY)
        nkey = SS_MAX_KEY; /* documented limit; the model uses 2 */
    /* With a spawn key, the run entropy is zero-padded to the pool size. */
    if (nkey > 0)
        while (len < SS_POOL_SIZE)
            entropy[len++] = 0;
    for (size_t k = 0; k < nkey; ++k)
        len += ss_int_words(key[k], entropy + len);

    uint32_t pool[SS_POOL_SIZE];
    uint32_t hash_const = SS_INIT_A;
    for (size_t i = 0; i < SS_POOL_SIZE; ++i)
        pool[i] = ss_hashmix(i < len ? entropy[i] : 0u, &hash_const);
    for (size_t src = 0; src < SS_POOL_SIZE; ++src)
        for (size_t dst = 0; dst < SS_POOL_SIZE; ++dst)
            if (src != dst)
                pool[dst] = ss_mix(pool[dst], ss_hashmix(pool[src], &hash_const));
    for (size_t src = SS_POOL_SIZE; src < len; ++src)
        for (size_t dst = 0; dst < SS_POOL_SIZE; ++dst)
            pool[dst] = ss_mix(pool[dst], ss_hashmix(entropy[src], &hash_const));

    uint32_t hc = SS_INIT_B;
    for (size_t i = 0; i < n; ++i) {
        uint32_t v = pool[i % SS_POOL_SIZE];
        v ^= hc;
        hc *= SS_MULT_B;
        v *= hc;
        v ^= v >> SS_XSHIFT;
        out[i] = v;
    }
}

/* numpy seeds PCG64DXSM with the ordinary PCG setseq procedure and the full
 * 128-bit default multiplier (pcg64_set_seed -> pcg_setseq_128_srandom_r);
 * only the generator step afterwards uses the cheap 64-bit multiplier. */
static void rng_seed_step(ds_rng *r)
{
    const ds_u128 mult = ((ds_u128)UINT64_C(2549297995355413924) << 64) |
                         UINT64_C(4865540595714422341);
    r->state = r->state * mult + r->inc;
}

void ds_rng_seed(ds_rng *r, uint64_t seed, const uint64_t *key, size_t nkey)
{
    uint32_t w[8];
    ds_seedseq_generate(seed, key, nkey, w, 8);
    /* generate_state(4, np.uint64) is the 8 words viewed little-endian. */
    uint64_t v[4];
    for (int i = 0; i < 4; ++i)
        v[i] = (uint64_t)w[2 * i] | ((uint64_t)w[2 * i + 1] << 32);
    ds_u128 initstate = ((ds_u128)v[0] << 64) | v[1];
    ds_u128 initseq = ((ds_u128)v[2] << 64) | v[3];
    r->state = 0;
    r->inc = (initseq << 1) | 1u;
    rng_seed_step(r);
    r->state += initstate;
    rng_seed_step(r);
}

void ds_rng_stream_hashed(ds_rng *r, uint64_t seed, uint64_t name_hash, uint64_t block)
{
    const uint64_t key[2] = {name_hash, block};
    ds_rng_seed(r, seed, key, 2);
}

void ds_rng_stream(ds_rng *r, uint64_t seed, const char *name, uint64_t block)
{
    ds_rng_stream_hashed(r, seed, ds_fnv1a64(name), block);
}

/* Jump-ahead of an LCG in O(log delta) (F. Brown, "Random Number Generation
 * with Arbitrary Stride", Trans. Am. Nucl. Soc. 1994), as pcg_advance_lcg_128
 * with the 64-bit multiplier widened to 128 bits. */
void ds_rng_advance(ds_rng *r, ds_u128 delta)
{
    ds_u128 cur_mult = DS_PCG_CHEAP_MULT;
    ds_u128 cur_plus = r->inc;
    ds_u128 acc_mult = 1u;
    ds_u128 acc_plus = 0u;
    while (delta > 0) {
        if (delta & 1u) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1u) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1;
    }
    r->state = acc_mult * r->state + acc_plus;
}
