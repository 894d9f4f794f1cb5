/* include/dealsim/rng.h
 * PCG64-DXSM and numpy's SeedSequence, bit-identical to numpy.
 * Licence: see LICENSE at the top of the repository.
 *
 * The generator is a small value struct passed explicitly to every call (no
 * hidden state, so it is thread-safe by construction).  Every random source of
 * the model gets, in every block of trials, its own stream:
 *
 *     PCG64DXSM(SeedSequence(seed, spawn_key=(fnv1a64(name), block)))
 *
 * in numpy notation (MODEL.md section 6).  ds_rng_stream() builds exactly that
 * state, so anyone can regenerate any stream with numpy:
 *
 *     import numpy as np
 *     ss = np.random.SeedSequence(seed, spawn_key=(fnv1a64(name), block))
 *     g = np.random.PCG64DXSM(ss)
 *     g.random_raw(n)          # == ds_rng_next_u64 called n times
 *
 * References: M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation" (2014); the DXSM
 * output function and the "cheap multiplier" 0xda942042e4dd58b5 as adopted by
 * numpy 1.21 (numpy/random/src/pcg64); numpy's SeedSequence (bit_generator.pyx,
 * after M. E. O'Neill's randutils seed_seq_fe).
 */
#ifndef DEALSIM_RNG_H
#define DEALSIM_RNG_H

#include <stddef.h>
#include <stdint.h>

/* 128-bit unsigned integer (a GCC/Clang extension, marked so that
 * -Wpedantic accepts it). */
__extension__ typedef unsigned __int128 ds_u128;

typedef struct {
    ds_u128 state;
    ds_u128 inc; /* always odd */
} ds_rng;

/* The multiplier of the DXSM output function and of the LCG step. */
#define DS_PCG_CHEAP_MULT UINT64_C(0xda942042e4dd58b5)

/* 64-bit FNV-1a hash of a NUL-terminated byte string (UTF-8 names). */
uint64_t ds_fnv1a64(const char *s);

/* numpy SeedSequence: mixes the entropy `seed` (an unsigned integer) and the
 * spawn key `key[0..nkey)` (each an unsigned 64-bit integer) into a pool and
 * writes n 32-bit words of generate_state(n, np.uint32) to out. */
void ds_seedseq_generate(uint64_t seed, const uint64_t *key, size_t nkey, uint32_t *out,
                         size_t n);

/* Seeds as numpy's PCG64DXSM(SeedSequence(seed, spawn_key=key)). */
void ds_rng_seed(ds_rng *r, uint64_t seed, const uint64_t *key, size_t nkey);

/* The stream of random source `name` in block `block` for `seed`. */
void ds_rng_stream(ds_rng *r, uint64_t seed, const char *name, uint64_t block);

/* Same, with the name already hashed by ds_fnv1a64 (for hot loops). */
void ds_rng_stream_hashed(ds_rng *r, uint64_t seed, uint64_t name_hash, uint64_t block);

/* Advances the state by delta steps, as numpy's PCG64DXSM.advance(delta). */
void ds_rng_advance(ds_rng *r, ds_u128 delta);

/* The next raw 64-bit output (numpy's random_raw()). */
static inline uint64_t ds_rng_next_u64(ds_rng *r)
{
    uint64_t hi = (uint64_t)(r->state >> 64);
    uint64_t lo = (uint64_t)r->state | 1u;
    hi ^= hi >> 32;
    hi *= DS_PCG_CHEAP_MULT;
    hi ^= hi >> 48;
    hi *= lo;
    r->state = r->state * DS_PCG_CHEAP_MULT + r->inc;
    return hi;
}

/* A uniform double in [0, 1) with 53 random bits: (x >> 11) * 2^-53, the same
 * as numpy's Generator.random(). */
static inline double ds_rng_uniform(ds_rng *r)
{
    return (double)(ds_rng_next_u64(r) >> 11) * 0x1.0p-53;
}

/* A uniform double in (0, 1): ((x >> 11) + 0.5) * 2^-53, never 0 or 1. */
static inline double ds_rng_uniform_pos(ds_rng *r)
{
    return ((double)(ds_rng_next_u64(r) >> 11) + 0.5) * 0x1.0p-53;
}

#endif /* DEALSIM_RNG_H */
