/* tests/stats/stats_test_util.h
 * Helpers shared by the stats tests: checks, a small deterministic generator,
 * sketch comparison.
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_TESTS_STATS_UTIL_H
#define DEALSIM_TESTS_STATS_UTIL_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/stats.h"

/* A failed check ends the test at once with its position. */
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

/* Test data only: SplitMix64 (Steele, Lea, Flood 2014), a fixed seed per test
 * so every run sees the same values. */
typedef struct {
    uint64_t s;
} tu_rng;

static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double tu_uniform(tu_rng *r)
{
    return ((double)(tu_next(r) >> 11) + 0.5) * 0x1p-53;
}

/* Standard normal by Box-Muller (one of the pair). */
static inline double tu_normal(tu_rng *r)
{
    double u = tu_uniform(r), v = tu_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static inline size_t tu_below(tu_rng *r, size_t n) { return (size_t)(tu_next(r) % (uint64_t)n); }

/* Count in bucket `key` of a store, 0 outside it. */
static inline uint64_t tu_store_at(const uint64_t *buf, int32_t lo, uint32_t len, int64_t key)
{
    int64_t i = key - (int64_t)lo;
    return (i >= 0 && i < (int64_t)len) ? buf[i] : 0;
}

/* 1 when two sketches hold identical counts in every bucket (their layout,
 * i.e. lo, len and capacity, may differ). */
static inline int tu_sketch_same_counts(const ds_sketch *a, const ds_sketch *b)
{
    if (a->count != b->count || a->zero != b->zero || a->gamma != b->gamma)
        return 0;
    int64_t lo = a->pos_lo < b->pos_lo ? a->pos_lo : b->pos_lo;
    int64_t hi = (int64_t)a->pos_lo + a->pos_len;
    if ((int64_t)b->pos_lo + b->pos_len > hi)
        hi = (int64_t)b->pos_lo + b->pos_len;
    for (int64_t k = lo; k < hi; ++k)
        if (tu_store_at(a->pos, a->pos_lo, a->pos_len, k) !=
            tu_store_at(b->pos, b->pos_lo, b->pos_len, k))
            return 0;
    lo = a->neg_lo < b->neg_lo ? a->neg_lo : b->neg_lo;
    hi = (int64_t)a->neg_lo + a->neg_len;
    if ((int64_t)b->neg_lo + b->neg_len > hi)
        hi = (int64_t)b->neg_lo + b->neg_len;
    for (int64_t k = lo; k < hi; ++k)
        if (tu_store_at(a->neg, a->neg_lo, a->neg_len, k) !=
            tu_store_at(b->neg, b->neg_lo, b->neg_len, k))
            return 0;
    return 1;
}

static inline int tu_same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* |a - b| <= tol |b| (and both NaN counts as equal). */
static inline int tu_rel_close(double a, double b, double tol)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return fabs(a - b) <= tol * fabs(b);
}

static inline int tu_cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The floating state of two accumulators, bit for bit. */
static inline void tu_check_same_floating(const ds_stats *a, const ds_stats *b)
{
    CHECK(a->trials == b->trials && a->blocks == b->blocks);
    CHECK(memcmp(a->out, b->out, sizeof a->out) == 0);
    CHECK(memcmp(a->inv_amount, b->inv_amount, a->n_investors * sizeof *a->inv_amount) == 0);
    CHECK(memcmp(a->inv_paid, b->inv_paid, a->n_investors * sizeof *a->inv_paid) == 0);
    if (a->inv_stake)
        CHECK(memcmp(a->inv_stake, b->inv_stake, a->n_investors * sizeof *a->inv_stake) == 0);
    CHECK(memcmp(a->price, b->price, a->horizon * sizeof *a->price) == 0);
    CHECK(a->n_coalitions == b->n_coalitions);
    ds_coalition *ca = ds_stats_sorted_coalitions(a), *cb = ds_stats_sorted_coalitions(b);
    CHECK(ca && cb);
    CHECK(memcmp(ca, cb, a->n_coalitions * sizeof *ca) == 0);
    free(ca);
    free(cb);
    CHECK(a->n_checkpoints == b->n_checkpoints);
    CHECK(memcmp(a->checkpoints, b->checkpoints, a->n_checkpoints * sizeof *a->checkpoints) == 0);
}

/* The integer state of two accumulators: every sketch count and join count. */
static inline void tu_check_same_sketches(const ds_stats *a, const ds_stats *b)
{
    for (size_t o = 0; o < a->n_outputs; ++o)
        CHECK(tu_sketch_same_counts(&a->sk_out[o], &b->sk_out[o]));
    for (size_t i = 0; i < a->n_investors; ++i) {
        CHECK(tu_sketch_same_counts(&a->sk_amount[i], &b->sk_amount[i]));
        CHECK(tu_sketch_same_counts(&a->sk_paid[i], &b->sk_paid[i]));
        CHECK(a->inv_joined[i] == b->inv_joined[i]);
    }
    for (size_t m = 0; m < a->horizon; ++m)
        CHECK(tu_sketch_same_counts(&a->sk_price[m], &b->sk_price[m]));
}

#endif /* DEALSIM_TESTS_STATS_UTIL_H */
