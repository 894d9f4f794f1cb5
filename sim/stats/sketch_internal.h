/* sim/stats/sketch_internal.h
 * Private to sim/stats: the hot per-value adds of the quantile sketch
 * (sketch.c), static inline so that the chunked adds of ds_stats_add_sketches
 * (sketchadd.c) stay inlined in their loops.
 * Licence: see LICENSE at the top of the repository.
 *
 * A value's bucket key depends only on the value (and gamma), so every add
 * here counts a value exactly as ds_sketch_add / ds_sketch_add_log do; only
 * the fast path (the key inside the store) is inline, the store's growth is
 * ds_sketch_add_grow in sketch.c.
 */
#ifndef DEALSIM_SKETCH_INTERNAL_H
#define DEALSIM_SKETCH_INTERNAL_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include "dealsim/stats.h"

/* ln(DS_SKETCH_MIN_ABS) and ln(DBL_MAX): add_log compares with these instead
 * of exponentiating, so that ds_sketch_add_log(s, l) treats l as
 * ds_sketch_add(s, exp(l)) would (up to rounding at the two thresholds). */
#define SKETCH_LN_MIN_ABS (-27.631021115928547)
#define SKETCH_LN_MAX 709.782712893384

/* The slow path of an add (sketch.c): the key is outside the store.  Raises
 * the floor to what the new top key implies, redirects a key below it, then
 * grows; on failure the counts are unchanged. */
ds_status ds_sketch_add_grow(ds_sketch *s, int negative, int32_t key);

/* ceil(t) for |t| < 2^31 without a libm call (without SSE4.1 ceil is a call
 * under the default -ftrapping-math). */
static inline int32_t sketch_key(double log_abs, double inv_log_gamma)
{
    double t = log_abs * inv_log_gamma;
    int32_t k = (int32_t)t; /* truncation toward zero */
    if ((double)k < t)
        k++;
    return k;
}

/* sketch_key written for SIMD lanes: selects and ceil, no branch, and no
 * undefined conversion for the values a lane computes but does not use
 * (NaN, +-inf: the product is clamped to +-1e9, NaN taken as 0); equal to
 * sketch_key wherever |log_abs inv_log_gamma| <= 1e9, i.e. for every
 * finite value's key. */
static inline int32_t sketch_key_lanes(double log_abs, double inv_log_gamma)
{
    double x = log_abs * inv_log_gamma;
    x = x > 1e9 ? 1e9 : x;
    x = x < -1e9 ? -1e9 : x;
    x = x == x ? x : 0.0;
    return (int32_t)ceil(x);
}

/* Counts a value in bucket `key` of one side: one unsigned range check
 * (keys below lo wrap to a large index) and an increment; the store grows
 * on the slow path. */
static inline ds_status sketch_bump(ds_sketch *s, int negative, int32_t key)
{
    uint64_t *buf = negative ? s->neg : s->pos;
    const uint32_t idx = (uint32_t)(key - (negative ? s->neg_lo : s->pos_lo));
    if (idx < (negative ? s->neg_len : s->pos_len)) {
        buf[idx]++;
        s->count++;
        return DS_OK;
    }
    return ds_sketch_add_grow(s, negative, key);
}

/* The adds: zeros and non-finite values apart, then one multiply, a
 * truncation and sketch_bump.  This one takes ln x of a positive x. */
static inline ds_status sketch_add_pos_log(ds_sketch *s, double log_x)
{
    if (!(log_x >= SKETCH_LN_MIN_ABS)) {
        if (isnan(log_x))
            return DS_OK;
        s->zero++; /* x < DS_SKETCH_MIN_ABS, including log_x = -inf */
        s->count++;
        return DS_OK;
    }
    if (log_x > SKETCH_LN_MAX)
        return DS_OK; /* exp(log_x) is not finite: ignored like ds_sketch_add(inf) */
    return sketch_bump(s, 0, sketch_key(log_x, s->inv_log_gamma));
}

/* ds_sketch_add(s, x) given la = ln|x| (ds_vec_log_abs of a chunk). */
static inline ds_status sketch_add_with_log(ds_sketch *s, double x, double la)
{
    double ax = fabs(x);
    if (!(ax <= DBL_MAX))
        return DS_OK; /* NaN or +-inf: counted by ds_moments, not sketched */
    if (ax < DS_SKETCH_MIN_ABS) {
        s->zero++;
        s->count++;
        return DS_OK;
    }
    return sketch_bump(s, x < 0.0, sketch_key(la, s->inv_log_gamma));
}

/* A value's bucket code for the sketches that share it (the conditional
 * ones, conditional.c): 2 key + (x < 0), or SKETCH_CODE_ZERO (|x| below
 * DS_SKETCH_MIN_ABS), SKETCH_CODE_SKIP (NaN, +-inf); sketch_add_code then
 * counts it exactly as ds_sketch_add counts x.  la = ln|x|. */
#define SKETCH_CODE_ZERO INT32_MIN
#define SKETCH_CODE_SKIP (INT32_MIN + 1)

static inline int32_t sketch_code(const ds_sketch *s, double x, double la)
{
    double ax = fabs(x);
    if (!(ax <= DBL_MAX))
        return SKETCH_CODE_SKIP;
    if (ax < DS_SKETCH_MIN_ABS)
        return SKETCH_CODE_ZERO;
    return 2 * sketch_key(la, s->inv_log_gamma) + (x < 0.0);
}

static inline ds_status sketch_add_code(ds_sketch *s, int32_t code)
{
    if (code <= SKETCH_CODE_SKIP) {
        if (code == SKETCH_CODE_ZERO)
            s->zero++, s->count++;
        return DS_OK;
    }
    const int32_t neg = code & 1;
    return sketch_bump(s, neg, (code - neg) / 2);
}

#endif /* DEALSIM_SKETCH_INTERNAL_H */
