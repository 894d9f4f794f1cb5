/* sim/stats/sketch.c
 * The quantile sketch (stats.h, ds_sketch): bucket stores, their growth and
 * collapse, adds, removes, merges, quantiles and histograms.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants that must stay true (stats.h, STYLE.md rule 1):
 *  - sketch state is integer counts indexed by a bucket key that depends only
 *    on the value, so any grouping of adds and merges gives the same counts.
 *  - a sketch's dense bucket array covers keys [lo, lo + len); every slot in
 *    it is a valid count (0 where nothing landed).  Growth never loses counts
 *    and a failed allocation leaves the counts unchanged.
 *  - ds_sketch_merge reserves its memory first: a failure leaves `into`'s
 *    counts unchanged.
 * The per-value fast path of an add is inline in sketch_internal.h, shared
 * with the chunked adds of ds_stats_add_sketches (sketchadd.c).
 */
#include "sketch_internal.h"
#include "stats_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dealsim/dsmath.h"

/* Sketch: DDSketch (Masson, Rim, Lee, VLDB 2019) with dense, unbounded
 * (growable) stores and no collapsing: with |x| >= DS_SKETCH_MIN_ABS and
 * |x| <= DBL_MAX there are at most ~369 000 keys, so memory stays bounded. */

/* The key range (stats_internal.h). */
#define SKETCH_KEY_MIN DS_SKETCH_KEY_MIN
#define SKETCH_KEY_MAX DS_SKETCH_KEY_MAX
/* First allocation: keys around the first value (a decade is ~1151 keys). */
#define SKETCH_INIT_HALF 64

void ds_sketch_init(ds_sketch *s)
{
    memset(s, 0, sizeof *s);
    s->gamma = (1.0 + DS_SKETCH_ALPHA) / (1.0 - DS_SKETCH_ALPHA);
    s->inv_log_gamma = 1.0 / ds_log(s->gamma);
    s->pos_floor = DS_SKETCH_KEY_MIN;
    s->neg_floor = DS_SKETCH_KEY_MIN;
}

void ds_sketch_clear(ds_sketch *s)
{
    free(s->pos);
    free(s->neg);
    ds_sketch_init(s);
}

/* One side (sign) of a sketch, by reference. */
typedef struct {
    uint64_t **buf;
    int32_t *lo;
    uint32_t *len, *cap;
    int32_t *floor;
    uint64_t *coll;
} sketch_side;

static sketch_side side_of(ds_sketch *s, int negative)
{
    sketch_side d;
    if (negative) {
        d.buf = &s->neg, d.lo = &s->neg_lo, d.len = &s->neg_len, d.cap = &s->neg_cap;
        d.floor = &s->neg_floor, d.coll = &s->neg_collapsed;
    } else {
        d.buf = &s->pos, d.lo = &s->pos_lo, d.len = &s->pos_len, d.cap = &s->pos_cap;
        d.floor = &s->pos_floor, d.coll = &s->pos_collapsed;
    }
    return d;
}

#define SKETCH_W ((int64_t)DS_SKETCH_MAX_BUCKETS)

/* Nonzero key range [*a, *b] of a store; 0 if it holds nothing. */
static int side_span(const uint64_t *buf, int32_t lo, uint32_t len, int32_t *a, int32_t *b)
{
    uint32_t i = 0;
    while (i < len && buf[i] == 0)
        i++;
    if (i == len)
        return 0;
    uint32_t j = len - 1;
    while (buf[j] == 0)
        j--;
    *a = lo + (int32_t)i;
    *b = lo + (int32_t)j;
    return 1;
}

/* The floor in force: the stored one (it never goes down) or the top key
 * minus W - 1, whichever is higher.  Adds inside the store do not update
 * the stored floor (a store of at most W keys never needs collapsing), so
 * it is refreshed here whenever it matters. */
static int32_t side_floor(const uint64_t *buf, int32_t lo, uint32_t len, int32_t floor)
{
    int32_t a, b;
    if (side_span(buf, lo, len, &a, &b) && (int64_t)b - SKETCH_W + 1 > floor)
        return (int32_t)((int64_t)b - SKETCH_W + 1);
    return floor;
}

int32_t ds_stats_sketch_floor(const ds_sketch *sk, int negative)
{
    return negative ? side_floor(sk->neg, sk->neg_lo, sk->neg_len, sk->neg_floor)
                    : side_floor(sk->pos, sk->pos_lo, sk->pos_len, sk->pos_floor);
}

/* Raises the floor to f: counts of keys below f move to f's bucket.  The
 * values already collapsed sit in the old floor's bucket, the lowest
 * nonzero one, so when anything moves they move too: collapsed = moved.
 * Needs no memory (the store only shrinks from below). */
static void side_collapse_to(sketch_side d, int32_t f)
{
    if (f <= *d.floor)
        return;
    *d.floor = f;
    if (*d.len == 0 || f <= *d.lo)
        return;
    uint64_t *b = *d.buf;
    uint64_t moved = 0;
    uint32_t shift = (int64_t)f - *d.lo >= (int64_t)*d.len ? *d.len : (uint32_t)(f - *d.lo);
    for (uint32_t i = 0; i < shift; ++i)
        moved += b[i];
    if (shift == *d.len) { /* f above the store: everything moves to f */
        *d.lo = f;
        *d.len = 1;
        b[0] = moved;
        if (moved)
            *d.coll = moved;
        return;
    }
    memmove(b, b + shift, (size_t)(*d.len - shift) * sizeof *b);
    *d.lo = f;
    *d.len -= shift;
    if (moved) {
        b[0] += moved;
        *d.coll = moved;
    }
}

/* Makes the store cover [kmin, kmax] (kmin >= floor; together with the
 * nonzero keys a span of at most W).  Extends geometrically on the side that
 * needs it (by at least half the current length, amortised O(1) for a
 * drift) but never beyond W slots.  On failure nothing changes. */
static ds_status side_cover(sketch_side d, int32_t kmin, int32_t kmax)
{
    const int64_t old_lo = *d.lo, old_hi = (int64_t)*d.lo + (int64_t)*d.len;
    int64_t new_lo, new_hi, need_lo = kmin, need_hi = (int64_t)kmax + 1;
    int32_t a, b;
    int has = *d.len > 0 && side_span(*d.buf, *d.lo, *d.len, &a, &b);
    if (has) {
        need_lo = a < need_lo ? a : need_lo;
        need_hi = (int64_t)b + 1 > need_hi ? (int64_t)b + 1 : need_hi;
    }
    if (*d.len > 0 && kmin >= old_lo && kmax < old_hi)
        return DS_OK;
    if (need_hi - need_lo > SKETCH_W || need_lo < *d.floor)
        return DS_ERR_INTERNAL;
    if (*d.len == 0) {
        new_lo = (int64_t)kmin - SKETCH_INIT_HALF;
        new_hi = (int64_t)kmax + SKETCH_INIT_HALF + 1;
    } else {
        int64_t grow = (int64_t)(*d.len / 2u);
        new_lo = old_lo;
        new_hi = old_hi;
        if (kmin < old_lo)
            new_lo = kmin < old_lo - grow ? kmin : old_lo - grow;
        if (kmax >= old_hi)
            new_hi = kmax >= old_hi + grow ? (int64_t)kmax + 1 : old_hi + grow;
    }
    if (new_lo < *d.floor)
        new_lo = *d.floor;
    if (new_lo < SKETCH_KEY_MIN)
        new_lo = SKETCH_KEY_MIN;
    if (new_hi > (int64_t)SKETCH_KEY_MAX + 1)
        new_hi = (int64_t)SKETCH_KEY_MAX + 1;
    if (new_hi - new_lo > SKETCH_W) { /* keep [need_lo, need_hi) inside W slots */
        if (new_lo < need_hi - SKETCH_W)
            new_lo = need_hi - SKETCH_W;
        if (new_hi > new_lo + SKETCH_W)
            new_hi = new_lo + SKETCH_W;
    }
    if (kmin < new_lo || kmax >= new_hi)
        return DS_ERR_INTERNAL; /* a key outside every finite value's range */
    uint32_t new_len = (uint32_t)(new_hi - new_lo);
    uint64_t *buf = *d.buf;
    if (new_len > *d.cap) {
        buf = realloc(*d.buf, (size_t)new_len * sizeof *buf);
        if (!buf)
            return DS_ERR_NOMEM;
        *d.buf = buf;
        *d.cap = new_len;
    }
    if (!has) {
        memset(buf, 0, (size_t)new_len * sizeof *buf);
    } else {
        /* Move the nonzero span [a, b] to its place in the new layout. */
        size_t n = (size_t)(b - a) + 1, src = (size_t)(a - old_lo), dst = (size_t)(a - new_lo);
        memmove(buf + dst, buf + src, n * sizeof *buf);
        memset(buf, 0, dst * sizeof *buf);
        memset(buf + dst + n, 0, (new_len - dst - n) * sizeof *buf);
    }
    *d.lo = (int32_t)new_lo;
    *d.len = new_len;
    return DS_OK;
}

/* For the importer: the store covers [kmin, kmax] (validated by the caller
 * against the floor and W). */
ds_status ds_stats_sketch_cover(ds_sketch *sk, int negative, int32_t kmin, int32_t kmax)
{
    if (kmin > kmax || kmin < SKETCH_KEY_MIN || kmax > SKETCH_KEY_MAX)
        return DS_ERR_INTERNAL;
    return side_cover(side_of(sk, negative), kmin, kmax);
}

static ds_status side_reserve(sketch_side d)
{
    if (*d.cap >= (uint32_t)SKETCH_W)
        return DS_OK;
    uint64_t *b = realloc(*d.buf, (size_t)SKETCH_W * sizeof *b);
    if (!b)
        return DS_ERR_NOMEM;
    *d.buf = b;
    *d.cap = (uint32_t)SKETCH_W;
    return DS_OK;
}

/* The slow path of an add (sketch_internal.h). */
ds_status ds_sketch_add_grow(ds_sketch *s, int negative, int32_t key)
{
    sketch_side d = side_of(s, negative);
    int32_t a = 0, b;
    int32_t top = key;
    int has = *d.len > 0 && side_span(*d.buf, *d.lo, *d.len, &a, &b);
    if (has && b > top)
        top = b;
    const int64_t f64 = (int64_t)top - SKETCH_W + 1;
    int32_t f = f64 > *d.floor ? (int32_t)f64 : *d.floor;
    int raise_later = 0;
    if (f > *d.floor) {
        if (has && a < f) {
            /* Counts move: reserve W slots first, so that the cover below
             * cannot fail and a failure leaves the counts unchanged. */
            DS_TRY(side_reserve(d));
            side_collapse_to(d, f);
        } else {
            /* Nothing below f yet: only the floor rises, after the cover
             * (which may fail), so that small sketches stay small. */
            raise_later = 1;
        }
    }
    int below = key < f;
    if (below)
        key = f;
    DS_TRY(side_cover(d, key, key));
    if (raise_later)
        side_collapse_to(d, f); /* moves no counts: none lies below f */
    (*d.buf)[(uint32_t)(key - *d.lo)]++;
    if (below)
        (*d.coll)++;
    s->count++;
    return DS_OK;
}

ds_status ds_sketch_add(ds_sketch *s, double x)
{
    /* ln|x| only where the add uses it (finite, not below DS_SKETCH_MIN_ABS). */
    const double ax = fabs(x);
    return sketch_add_with_log(s, x, ax <= DBL_MAX && ax >= DS_SKETCH_MIN_ABS ? ds_log(ax) : 0.0);
}

ds_status ds_sketch_add_log(ds_sketch *s, double log_x) { return sketch_add_pos_log(s, log_x); }

/* Merging one side.  With M the top key of both and F = max(both floors,
 * M - W + 1): collapse `into` to F, then add from's counts at max(key, F).
 * Collapsed values of `from` sit at its floor's bucket: they are among
 * those moved when its floor is below F, else they stay collapsed.  So the
 * result is the raw counts of both collapsed at F, and F only depends on the
 * union of the values (and the floors, which only a drop_tail raises above
 * M - W + 1): any partition gives the same counts.  Memory is reserved by
 * the caller (W slots), so nothing here fails. */
static void side_merge(sketch_side d, const uint64_t *fb, int32_t flo, uint32_t flen,
                       int32_t ffloor, uint64_t fcoll)
{
    int32_t fa, fz, ia, iz;
    int fhas = side_span(fb, flo, flen, &fa, &fz);
    int ihas = *d.len > 0 && side_span(*d.buf, *d.lo, *d.len, &ia, &iz);
    int32_t f = side_floor(*d.buf, *d.lo, *d.len, *d.floor);
    int32_t f2 = side_floor(fb, flo, flen, ffloor);
    if (f2 > f)
        f = f2;
    if (!fhas) {
        side_collapse_to(d, f);
        *d.coll += fcoll; /* 0: a side without counts has nothing collapsed */
        return;
    }
    int32_t top = ihas && iz > fz ? iz : fz;
    if ((int64_t)top - SKETCH_W + 1 > f)
        f = (int32_t)((int64_t)top - SKETCH_W + 1);
    side_collapse_to(d, f);
    int32_t lo = fa < f ? f : fa;
    (void)side_cover(d, lo, fz); /* capacity reserved: cannot fail */
    uint64_t moved = 0;
    for (int32_t k = fa; k <= fz; ++k) {
        uint64_t c = fb[(uint32_t)(k - flo)];
        if (!c)
            continue;
        if (k < f)
            moved += c;
        (*d.buf)[(uint32_t)((k < f ? f : k) - *d.lo)] += c;
    }
    *d.coll += moved + (f2 >= f ? fcoll : 0);
}

ds_status ds_sketch_merge(ds_sketch *into, const ds_sketch *from)
{
    if (into->gamma != from->gamma)
        return DS_ERR_INTERNAL;
    /* Reserve both stores before adding anything: a failure then leaves the
     * counts unchanged (only capacity may have grown). */
    if (from->pos_len)
        DS_TRY(side_reserve(side_of(into, 0)));
    if (from->neg_len)
        DS_TRY(side_reserve(side_of(into, 1)));
    side_merge(side_of(into, 0), from->pos, from->pos_lo, from->pos_len, from->pos_floor,
               from->pos_collapsed);
    side_merge(side_of(into, 1), from->neg, from->neg_lo, from->neg_len, from->neg_floor,
               from->neg_collapsed);
    into->zero += from->zero;
    into->count += from->count;
    return DS_OK;
}

/* Takes one value out again (ds_stats_drop_tail); DS_ERR_FORMAT when it is
 * not there. */
static ds_status sketch_remove_key(ds_sketch *s, int negative, int32_t key)
{
    sketch_side d = side_of(s, negative);
    /* Fix the floor in force before the top key may go away. */
    *d.floor = side_floor(*d.buf, *d.lo, *d.len, *d.floor);
    int below = key < *d.floor;
    if (below)
        key = *d.floor;
    if (*d.len == 0 || key < *d.lo || key >= *d.lo + (int32_t)*d.len ||
        (*d.buf)[(uint32_t)(key - *d.lo)] == 0 || (below && *d.coll == 0) || s->count == 0 ||
        (!below && key == *d.floor && (*d.buf)[(uint32_t)(key - *d.lo)] <= *d.coll))
        return DS_ERR_FORMAT;
    (*d.buf)[(uint32_t)(key - *d.lo)]--;
    if (below)
        (*d.coll)--;
    s->count--;
    return DS_OK;
}

static ds_status sketch_remove(ds_sketch *s, double x, int is_log)
{
    double ax, la;
    if (is_log) {
        if (isnan(x) || x > SKETCH_LN_MAX)
            return DS_OK;
        if (!(x >= SKETCH_LN_MIN_ABS))
            goto zero;
        return sketch_remove_key(s, 0, sketch_key(x, s->inv_log_gamma));
    }
    ax = fabs(x);
    if (!(ax <= DBL_MAX))
        return DS_OK;
    if (ax < DS_SKETCH_MIN_ABS)
        goto zero;
    la = ds_log(ax);
    return sketch_remove_key(s, x < 0.0, sketch_key(la, s->inv_log_gamma));
zero:
    if (s->zero == 0 || s->count == 0)
        return DS_ERR_FORMAT;
    s->zero--;
    s->count--;
    return DS_OK;
}

/* The estimate 2 gamma^k / (gamma + 1) of bucket k: within relative accuracy
 * alpha of every value in (gamma^(k-1), gamma^k] (DDSketch, section 2). */
static double sketch_estimate(double log_gamma, double scale, int32_t key)
{
    double v = ds_exp((double)key * log_gamma) * scale;
    /* Only the top bucket, which holds DBL_MAX, has an estimate beyond the
     * double range; DBL_MAX is then within 2 alpha of its values. */
    return v <= DBL_MAX ? v : DBL_MAX;
}

static double sketch_quantile_rank(const ds_sketch *s, uint64_t rank, double min, double max);

/* The rank numpy's quantile(method="lower") uses: floor(q (n - 1)), n > 0. */
static uint64_t quantile_rank(uint64_t n, double q)
{
    if (q < 0.0)
        q = 0.0;
    if (q > 1.0)
        q = 1.0;
    uint64_t rank = (uint64_t)floor((double)(n - 1) * q);
    return rank > n - 1 ? n - 1 : rank;
}

double ds_sketch_quantile(const ds_sketch *s, double q, double min, double max)
{
    if (s->count == 0 || isnan(q))
        return (double)NAN;
    return sketch_quantile_rank(s, quantile_rank(s->count, q), min, max);
}

double ds_stats_quantile(const ds_sketch *sk, const ds_moments *mo, double q)
{
    const uint64_t fin = sk->count, total = mo->neginf + fin + mo->posinf;
    if (total == 0 || isnan(q))
        return (double)NAN;
    const uint64_t rank = quantile_rank(total, q);
    if (rank < mo->neginf)
        return -(double)INFINITY;
    if (rank >= mo->neginf + fin)
        return (double)INFINITY;
    return mo->n > 0 ? sketch_quantile_rank(sk, rank - mo->neginf, mo->min, mo->max)
                     : (double)NAN;
}

static double sketch_quantile_rank(const ds_sketch *s, uint64_t rank, double min, double max)
{
    /* The extreme ranks are the exact min and max when the caller has them
     * (a clamp alone would not lift an estimate that falls short of max). */
    if (rank == 0 && !isnan(min))
        return min;
    if (rank == s->count - 1 && !isnan(max))
        return max;
    double log_gamma = ds_log(s->gamma), scale = 2.0 / (s->gamma + 1.0);
    double est = (double)NAN;
    uint64_t seen = 0;
    int found = 0;
    /* Ascending order of value: negatives from the largest |x| down, then
     * zeros, then positives from the smallest up. */
    for (uint32_t i = s->neg_len; i-- > 0 && !found;) {
        seen += s->neg[i];
        if (seen > rank) {
            est = -sketch_estimate(log_gamma, scale, s->neg_lo + (int32_t)i);
            found = 1;
        }
    }
    if (!found) {
        seen += s->zero;
        if (seen > rank) {
            est = 0.0;
            found = 1;
        }
    }
    for (uint32_t i = 0; i < s->pos_len && !found; ++i) {
        seen += s->pos[i];
        if (seen > rank) {
            est = sketch_estimate(log_gamma, scale, s->pos_lo + (int32_t)i);
            found = 1;
        }
    }
    /* The exact extremes bound every value, so clamping only moves the
     * estimate toward the truth. */
    if (!isnan(min) && est < min)
        est = min;
    if (!isnan(max) && est > max)
        est = max;
    return est;
}

/* The bin of value v: the last j < bins with edges[j] <= v, v first clamped
 * into [edges[0], edges[bins]] (a NaN edge or value lands in bin 0). */
static size_t histogram_bin(const double *edges, size_t bins, double v)
{
    if (v < edges[0])
        v = edges[0];
    if (v > edges[bins])
        v = edges[bins];
    size_t lo = 0, hi = bins; /* answer in [lo, hi) */
    if (!(edges[0] <= v))
        return 0;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (edges[mid] <= v)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void ds_sketch_histogram(const ds_sketch *s, const double *edges, size_t bins,
                         uint64_t *counts)
{
    if (bins == 0)
        return;
    memset(counts, 0, bins * sizeof *counts);
    double log_gamma = ds_log(s->gamma), scale = 2.0 / (s->gamma + 1.0);
    for (uint32_t i = 0; i < s->neg_len; ++i)
        if (s->neg[i])
            counts[histogram_bin(edges, bins,
                                 -sketch_estimate(log_gamma, scale, s->neg_lo + (int32_t)i))] +=
                s->neg[i];
    if (s->zero)
        counts[histogram_bin(edges, bins, 0.0)] += s->zero;
    for (uint32_t i = 0; i < s->pos_len; ++i)
        if (s->pos[i])
            counts[histogram_bin(edges, bins,
                                 sketch_estimate(log_gamma, scale, s->pos_lo + (int32_t)i))] +=
                s->pos[i];
}

ds_status ds_stats_sketch_remove(ds_sketch *sk, double x) { return sketch_remove(sk, x, 0); }

ds_status ds_stats_sketch_remove_log(ds_sketch *sk, double log_x)
{
    return sketch_remove(sk, log_x, 1);
}
