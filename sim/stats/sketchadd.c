/* sim/stats/sketchadd.c
 * A block's values into an accumulator's quantile sketches: the outputs,
 * the investors' amounts and payments, the price fan, and the conditional
 * and coalition sketches, in chunks whose logarithms, bucket keys and codes
 * run in SIMD lanes (dsmath.h's DS_SIMD_DISPATCH).
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants: every sketch receives exactly the counts ds_sketch_add would
 * give, value by value in trial order (the counts are integers, so the
 * chunking and the branch-free counting change nothing; the store grows
 * through the same slow path in the same order); tests/stats/
 * test_stats_block.c compares the two over edge values on every SIMD path.
 */
#include "stats_internal.h"
#include "sketch_internal.h"

#include <float.h>
#include <math.h>
#include "dealsim/dsmath.h"

/* Sketch logs in chunks: ln|x| of a chunk in one loop that vectorises
 * (ds_log is branch-free), then the bucket bumps. */
#define SKETCH_CHUNK 512

static void sketch_logs(const double *x, size_t n, double *la) { ds_vec_log_abs(x, la, n); }

/* Keys buffer of the price fan (int32: 64 KiB on the stack): a chunk of
 * 16384 / horizon trials (whole lane tiles), whose bumps of one month run
 * together in that month's store (2 to 4 thousand buckets for
 * configs/openai-2026.yaml: the bumps are cache-miss bound; 2 to 8 times
 * larger chunks measured no faster). */
#define PRICE_KEYS 16384
#if PRICE_KEYS < DS_MAX_HORIZON * DS_MODEL_LANES
#error "PRICE_KEYS must hold a lane tile's months"
#endif
/* The key of a log price outside [SKETCH_LN_MIN_ABS, SKETCH_LN_MAX] (or
 * NaN): below every store's range (lo >= DS_SKETCH_KEY_MIN), so that one
 * unsigned range check sends it to the slow path. */
#define PRICE_KEY_OUT INT32_MIN

/* keys[m c + t] = sketch_key(l, inv[m]) of trial t's log price l of month
 * m for the c trials of a chunk (month-major, so that each month's bumps
 * read their keys in a row), PRICE_KEY_OUT for a value out of the sketch's
 * range.  The log prices are the block's lane tiles (ds_block_lp_at, the
 * chunk starting a tile): a month's L values side by side, read tile by
 * tile in memory order.  No branches (sketch_key_lanes), the same
 * operations in every lane, so that gcc 12 vectorises it (sketch_key's int
 * compare kept it scalar). */
static inline __attribute__((always_inline)) int32_t price_key(double l, double inv)
{
    const int32_t key = sketch_key_lanes(l, inv);
    const int in = (l >= SKETCH_LN_MIN_ABS) & (l <= SKETCH_LN_MAX);
    return in ? key : PRICE_KEY_OUT;
}

static inline __attribute__((always_inline)) void
price_keys_impl(const double *lp, size_t c, size_t h, const double *inv, int32_t *keys)
{
    /* Tile after tile, so that the log prices are read in memory order. */
    const size_t L = DS_MODEL_LANES, full = c / L * L;
    for (size_t t = 0; t < full; t += L) {
        const double *restrict tile = lp + t * h;
        for (size_t m = 0; m < h; ++m) {
            const double im = inv[m];
            int32_t *restrict k = keys + m * c + t;
            for (size_t j = 0; j < L; ++j)
                k[j] = price_key(tile[m * L + j], im);
        }
    }
    for (size_t m = 0; m < h; ++m)
        for (size_t t = full; t < c; ++t)
            keys[m * c + t] = price_key(lp[ds_block_lp_at(h, t, m)], inv[m]);
}

DS_SIMD_DISPATCH(price_keys,
                 (const double *lp, size_t c, size_t h, const double *inv, int32_t *keys),
                 (lp, c, h, inv, keys))

/* code[t] = sketch_code(x[t], la[t]) (sketch_internal.h) for a chunk, la =
 * ln|x|: the same selects in every lane and no branch (sketch_key_lanes),
 * so that the loop vectorises. */
static inline __attribute__((always_inline)) void
sketch_codes_impl(const double *x, const double *la, size_t c, double inv, int32_t *code)
{
    for (size_t t = 0; t < c; ++t) {
        const double ax = fabs(x[t]);
        const int32_t key = 2 * sketch_key_lanes(la[t], inv) + (x[t] < 0.0);
        const int32_t special = ax < DS_SKETCH_MIN_ABS ? SKETCH_CODE_ZERO : SKETCH_CODE_SKIP;
        code[t] = ax <= DBL_MAX && ax >= DS_SKETCH_MIN_ABS ? key : special;
    }
}

DS_SIMD_DISPATCH(sketch_codes,
                 (const double *x, const double *la, size_t c, double inv, int32_t *code),
                 (x, la, c, inv, code))

/* sketch_add_code(sk, code[sel[j]]) for j < n in order (code[j * stride]
 * when sel is NULL), with the same counts: the common case without a branch on the
 * value (booleans and outputs that are often 0 would mispredict one), a
 * zero or skipped value bumping a scratch slot instead of the store.  The
 * store's buffers and ranges are kept in locals (a bump could alias them
 * otherwise) and reloaded after the slow path, which may grow them. */
static ds_status sketch_add_codes(ds_sketch *sk, const int32_t *code, const uint32_t *sel,
                                  size_t stride, size_t n)
{
    uint64_t *pos = sk->pos, *neg = sk->neg, scratch[4] = {0};
    int32_t pos_lo = sk->pos_lo, neg_lo = sk->neg_lo;
    uint32_t pos_len = sk->pos_len, neg_len = sk->neg_len;
    uint64_t zero = 0, count = 0;
    for (size_t j = 0; j < n; ++j) {
        const int32_t cd = sel ? code[sel[j]] : code[j * stride];
        const int special = cd <= SKETCH_CODE_SKIP;
        const int32_t sign = cd & 1;
        const int32_t key = (cd - sign) / 2;
        const uint32_t idx = (uint32_t)((int64_t)key - (sign ? neg_lo : pos_lo));
        if (!special && idx >= (sign ? neg_len : pos_len)) {
            sk->zero += zero;
            sk->count += count;
            zero = count = 0;
            DS_TRY(ds_sketch_add_grow(sk, sign, key));
            pos = sk->pos, neg = sk->neg;
            pos_lo = sk->pos_lo, neg_lo = sk->neg_lo;
            pos_len = sk->pos_len, neg_len = sk->neg_len;
            continue;
        }
        uint64_t *slot = special ? &scratch[j & 3] : sign ? &neg[idx] : &pos[idx];
        ++*slot;
        zero += cd == SKETCH_CODE_ZERO;
        count += cd != SKETCH_CODE_SKIP;
    }
    sk->zero += zero;
    sk->count += count;
    return DS_OK;
}

ds_status ds_stats_add_sketches(ds_stats *local, const ds_block *blk)
{
    if (!ds_stats_block_fits(local, blk))
        return DS_ERR_INTERNAL;
    const size_t n = blk->n, ni = local->n_investors, h = local->horizon;
    double la[SKETCH_CHUNK];
    int32_t chunk_code[SKETCH_CHUNK];
    const struct ds_cond_sk_work *w = ds_cond_sketch_plan(local, blk); /* conditional.c */
    for (size_t o = 0; o < local->n_outputs; ++o) {
        const double *v = blk->out[o];
        ds_sketch *sk = &local->sk_out[o];
        /* With conditional sketches each value's bucket code is kept and
         * reused for the trials of each condition and total's coalition
         * sketch (conditional.c): counted exactly as sketch_add would. */
        int32_t *code = w ? local->cond_work->code : NULL;
        for (size_t t0 = 0; t0 < n; t0 += SKETCH_CHUNK) {
            const size_t c = n - t0 < SKETCH_CHUNK ? n - t0 : SKETCH_CHUNK;
            int32_t *cc = code ? code + t0 : chunk_code;
            sketch_logs(v + t0, c, la);
            sketch_codes(v + t0, la, c, sk->inv_log_gamma, cc);
            DS_TRY(sketch_add_codes(sk, cc, NULL, 1, c));
        }
        if (!code)
            continue;
        for (size_t c = 0; c < DS_COND_SKETCHED; ++c)
            DS_TRY(sketch_add_codes(DS_COND_SKETCH(local, c, o), code, w->idx[c], 0, w->m[c]));
        if (o == DS_OUT_TOTAL)
            for (size_t t = 0; t < n; ++t)
                if (w->coal[t] >= 0)
                    DS_TRY(sketch_add_code(&local->sk_coal[w->coal[t]], code[t]));
    }
    /* amount and paid are trial-major (t * ni + i): chunks of whole trials,
     * their codes in one pass (every sketch has the same gamma,
     * ds_sketch_init), then each investor's column in trial order. */
    const size_t per = ni ? SKETCH_CHUNK / ni : 0; /* trials a chunk */
    for (size_t t0 = 0; per && t0 < n; t0 += per) {
        const size_t c = n - t0 < per ? n - t0 : per;
        const double *a = blk->amount + t0 * ni, *p = blk->paid + t0 * ni;
        const double inv = local->sk_amount[0].inv_log_gamma;
        int32_t code_paid[SKETCH_CHUNK];
        sketch_logs(a, c * ni, la);
        sketch_codes(a, la, c * ni, inv, chunk_code);
        sketch_logs(p, c * ni, la);
        sketch_codes(p, la, c * ni, inv, code_paid);
        for (size_t i = 0; i < ni; ++i) {
            DS_TRY(sketch_add_codes(&local->sk_amount[i], chunk_code + i, NULL, ni, c));
            DS_TRY(sketch_add_codes(&local->sk_paid[i], code_paid + i, NULL, ni, c));
            const uint8_t *j = blk->joined + t0 * ni + i;
            uint64_t joined = 0;
            for (size_t t = 0; t < c; ++t)
                joined += j[t * ni] != 0;
            local->inv_joined[i] += joined;
        }
    }
    /* The price fan: the bucket keys of a chunk of trials in one loop that
     * vectorises, then each month's bumps in trial order (as
     * sketch_add_pos_log would: the keys are the same). */
    if (h == 0)
        return DS_OK;
    double inv[DS_MAX_HORIZON];
    int32_t keys[PRICE_KEYS];
    for (size_t m = 0; m < h; ++m)
        inv[m] = local->sk_price[m].inv_log_gamma;
    /* Chunks start at lane tiles. */
    const size_t per_chunk = PRICE_KEYS / h / DS_MODEL_LANES * DS_MODEL_LANES;
    for (size_t t0 = 0; t0 < n; t0 += per_chunk) {
        const size_t c = n - t0 < per_chunk ? n - t0 : per_chunk;
        const double *lp = blk->log_price + t0 * h;
        price_keys(lp, c, h, inv, keys);
        for (size_t m = 0; m < h; ++m) {
            ds_sketch *sk = &local->sk_price[m];
            /* sketch_bump with the buffer, range and count in locals (a
             * bucket store could alias sk->count otherwise); flushed
             * before any slow path, which may grow the buffer. */
            const int32_t *km = keys + m * c;
            uint64_t *buf = sk->pos, added = 0;
            int32_t lo = sk->pos_lo;
            uint32_t len = sk->pos_len;
            for (size_t t = 0; t < c; ++t) {
                const uint32_t idx = (uint32_t)((int64_t)km[t] - lo);
                if (idx < len) {
                    buf[idx]++;
                    added++;
                    continue;
                }
                sk->count += added;
                added = 0;
                DS_TRY(sketch_add_pos_log(sk, lp[ds_block_lp_at(h, t, m)]));
                buf = sk->pos;
                lo = sk->pos_lo;
                len = sk->pos_len;
            }
            sk->count += added;
        }
    }
    return DS_OK;
}
