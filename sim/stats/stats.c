/* sim/stats/stats.c
 * Mergeable summaries: Welford/Chan moments, coalitions, the accumulators,
 * a block's moments and the memory bound (the merge tree of block partials
 * is forest.c, the quantile sketch itself sketch.c, a block's sketch adds
 * sketchadd.c, the column moments a block's partial is made of
 * blockcols.c).
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants that must stay true (stats.h, STYLE.md rule 1):
 *  - floating-point state is only ever combined in a fixed order: a block's
 *    values in trial order (ds_stats_block_moments), block partials along
 *    the merge tree fixed by block index (stats.h): a node's value is a
 *    function of its blocks alone, whichever accumulator formed it, and the
 *    final fold depends only on the block count.  Nothing here depends on
 *    how many threads there are; the functions are pure apart from their
 *    arguments (no static mutable state, no OpenMP, no I/O).
 *  - a forest is sorted by first block, holds no two overlapping nodes and
 *    no sibling pair (they are always carried into their parent).
 *  - sketch state is integer counts indexed by a bucket key that depends only
 *    on the value (sketch.c), so any grouping of adds and merges gives the
 *    same counts.
 *  - functions that may fail part-way through reserve their memory first
 *    where the result must stay consistent (ds_sketch_merge,
 *    ds_stats_commit_block, ds_stats_finalize); ds_stats_block_moments and
 *    ds_stats_add_sketches leave an incomplete accumulator on DS_ERR_NOMEM
 *    and the run is expected to fail.
 */
#include "stats_internal.h"
#include "sketch_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dealsim/dsmath.h"

/* ------------------------------------------------------------------------ */
/* Moments: B. P. Welford (1962) for one value; T. F. Chan, G. H. Golub,
 * R. J. LeVeque, "Updating formulae and a pairwise algorithm for computing
 * sample variances" (1979) for merging two summaries. */

void ds_moments_init(ds_moments *mo)
{
    mo->n = 0;
    mo->nan = 0;
    mo->posinf = 0;
    mo->neginf = 0;
    /* An empty summary reports NaN rather than a misleading 0 or +-inf. */
    mo->mean = (double)NAN;
    mo->m2 = (double)NAN;
    mo->min = (double)NAN;
    mo->max = (double)NAN;
}

void ds_moments_add(ds_moments *mo, double x)
{
    /* NaN and +-inf (which would poison the mean) are counted apart. */
    if (!isfinite(x)) {
        if (isnan(x))
            mo->nan++;
        else if (x > 0.0)
            mo->posinf++;
        else
            mo->neginf++;
        return;
    }
    if (mo->n == 0) {
        mo->n = 1;
        mo->mean = x;
        mo->m2 = 0.0;
        mo->min = x;
        mo->max = x;
        return;
    }
    mo->n++;
    double delta = x - mo->mean;
    mo->mean += delta / (double)mo->n;
    mo->m2 += delta * (x - mo->mean);
    if (x < mo->min)
        mo->min = x;
    if (x > mo->max)
        mo->max = x;
}

void ds_moments_merge(ds_moments *into, const ds_moments *from)
{
    into->nan += from->nan;
    into->posinf += from->posinf;
    into->neginf += from->neginf;
    if (from->n == 0)
        return;
    if (into->n == 0) {
        into->n = from->n;
        into->mean = from->mean;
        into->m2 = from->m2;
        into->min = from->min;
        into->max = from->max;
        return;
    }
    double na = (double)into->n, nb = (double)from->n;
    into->n += from->n;
    double n = (double)into->n;
    double delta = from->mean - into->mean;
    /* Chan et al. (1979), eq. 2.1b; evaluated left to right as written so the
     * result is fixed for a fixed merge order. */
    into->mean = into->mean + delta * nb / n;
    into->m2 = into->m2 + from->m2 + delta * delta * na * nb / n;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

double ds_moments_mean_all(const ds_moments *mo)
{
    if (mo->posinf && mo->neginf)
        return (double)NAN;
    if (mo->posinf)
        return (double)INFINITY;
    if (mo->neginf)
        return -(double)INFINITY;
    return mo->n ? mo->mean : (double)NAN;
}

double ds_moments_min_all(const ds_moments *mo)
{
    if (mo->neginf)
        return -(double)INFINITY;
    if (mo->n)
        return mo->min;
    return mo->posinf ? (double)INFINITY : (double)NAN;
}

double ds_moments_max_all(const ds_moments *mo)
{
    if (mo->posinf)
        return (double)INFINITY;
    if (mo->n)
        return mo->max;
    return mo->neginf ? -(double)INFINITY : (double)NAN;
}

double ds_moments_sd(const ds_moments *mo)
{
    if (mo->n < 2)
        return (double)NAN;
    /* m2 can be a hair below 0 only through cancellation in a merge of
     * identical values; never report a NaN sd for that. */
    double var = mo->m2 / (double)(mo->n - 1);
    return var > 0.0 ? sqrt(var) : 0.0;
}

double ds_moments_stderr(const ds_moments *mo)
{
    if (mo->n < 2)
        return (double)NAN;
    return ds_moments_sd(mo) / sqrt((double)mo->n);
}

/* ------------------------------------------------------------------------ */
/* Coalitions: an open-addressing table (linear probing, load <= 1/2, capacity
 * a power of two).  A slot with count 0 is empty: a stored coalition was seen
 * at least once.  Slot order is irrelevant to results: each mask's sums are
 * independent of the others. */

#define COAL_MIN_CAP 16u

static size_t coal_hash(uint64_t mask, size_t cap)
{
    /* Fibonacci hashing (Knuth, TAOCP 6.4): the multiply spreads masks that
     * differ in a few bits over the whole table. */
    uint64_t h = mask * UINT64_C(0x9E3779B97F4A7C15);
    h ^= h >> 29;
    return (size_t)(h & (uint64_t)(cap - 1));
}

ds_coalition *ds_stats_coal_slot(ds_coalition *tab, size_t cap, uint64_t mask)
{
    size_t i = coal_hash(mask, cap);
    while (tab[i].count != 0 && tab[i].mask != mask)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* Ensures room for `need` coalitions at load <= 1/2.  On failure nothing
 * changes. */
ds_status ds_stats_coal_reserve(ds_stats *s, size_t need)
{
    if (need <= s->cap_coalitions / 2)
        return DS_OK;
    size_t cap = s->cap_coalitions ? s->cap_coalitions : COAL_MIN_CAP;
    while (need > cap / 2) {
        if (cap > SIZE_MAX / 2 / sizeof(ds_coalition))
            return DS_ERR_NOMEM;
        cap *= 2;
    }
    ds_coalition *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return DS_ERR_NOMEM;
    for (size_t i = 0; i < s->cap_coalitions; ++i)
        if (s->coalitions[i].count != 0)
            *ds_stats_coal_slot(tab, cap, s->coalitions[i].mask) = s->coalitions[i];
    free(s->coalitions);
    s->coalitions = tab;
    s->cap_coalitions = cap;
    return DS_OK;
}

static int coal_compare(const void *pa, const void *pb)
{
    const ds_coalition *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return a->mask < b->mask ? -1 : (a->mask > b->mask);
}

ds_coalition *ds_stats_sorted_coalitions(const ds_stats *s)
{
    ds_coalition *v = malloc((s->n_coalitions ? s->n_coalitions : 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < s->cap_coalitions; ++i)
        if (s->coalitions[i].count != 0)
            v[n++] = s->coalitions[i];
    qsort(v, n, sizeof *v, coal_compare);
    return v;
}

ds_coalition *ds_stats_coal_find(ds_stats *s, uint64_t mask)
{
    if (!s->cap_coalitions || !ds_stats_coal_is_tracked(s, mask))
        return NULL;
    ds_coalition *c = ds_stats_coal_slot(s->coalitions, s->cap_coalitions, mask);
    return c->count ? c : NULL;
}

/* ------------------------------------------------------------------------ */
/* The accumulators. */

int ds_stats_has_stake(const ds_stats *s) { return s->n_outputs == DS_OUT_COUNT; }

static void stats_reset_moments(ds_stats *s)
{
    s->trials = 0;
    s->blocks = 0;
    for (size_t o = 0; o < DS_OUT_COUNT; ++o)
        ds_moments_init(&s->out[o]);
    for (size_t i = 0; i < s->n_investors; ++i) {
        ds_moments_init(&s->inv_amount[i]);
        ds_moments_init(&s->inv_paid[i]);
        if (s->inv_stake)
            ds_moments_init(&s->inv_stake[i]);
    }
    for (size_t m = 0; m < s->horizon; ++m)
        ds_moments_init(&s->price[m]);
    if (s->coalitions)
        memset(s->coalitions, 0, s->cap_coalitions * sizeof *s->coalitions);
    s->n_coalitions = 0;
    memset(&s->coal_other, 0, sizeof s->coal_other);
    s->n_checkpoints = 0;
}

ds_stats *ds_stats_alloc_shape(size_t n_outputs, size_t n_investors, size_t horizon)
{
    if (n_outputs > DS_OUT_COUNT || n_investors > DS_MAX_INVESTORS || horizon > DS_MAX_HORIZON)
        return NULL;
    ds_stats *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n_outputs = n_outputs;
    s->n_investors = n_investors;
    s->horizon = horizon;
    s->block_size = DS_BLOCK_SIZE;
    s->coal_pooled = n_investors > DS_COAL_ALL_INVESTORS;
    for (size_t o = 0; o < DS_OUT_COUNT; ++o)
        ds_sketch_init(&s->sk_out[o]);
    /* calloc(n + 1): never a zero-size request, whose NULL would read as
     * failure. */
    s->inv_amount = calloc(n_investors + 1, sizeof *s->inv_amount);
    s->inv_paid = calloc(n_investors + 1, sizeof *s->inv_paid);
    s->price = calloc(horizon + 1, sizeof *s->price);
    s->inv_joined = calloc(n_investors + 1, sizeof *s->inv_joined);
    s->sk_amount = calloc(n_investors + 1, sizeof *s->sk_amount);
    s->sk_paid = calloc(n_investors + 1, sizeof *s->sk_paid);
    s->sk_price = calloc(horizon + 1, sizeof *s->sk_price);
    int ok = s->inv_amount && s->inv_paid && s->price && s->inv_joined && s->sk_amount &&
             s->sk_paid && s->sk_price;
    if (ok && ds_stats_has_stake(s)) {
        s->inv_stake = calloc(n_investors + 1, sizeof *s->inv_stake);
        ok = s->inv_stake != NULL;
    }
    if (!ok) {
        ds_stats_free(s);
        return NULL;
    }
    for (size_t i = 0; i < n_investors; ++i) {
        ds_sketch_init(&s->sk_amount[i]);
        ds_sketch_init(&s->sk_paid[i]);
    }
    for (size_t m = 0; m < horizon; ++m)
        ds_sketch_init(&s->sk_price[m]);
    stats_reset_moments(s);
    return s;
}

/* ds_stats_alloc and ds_stats_alloc_like: the coalition choices come from
 * proto when given, else from block 0. */
static ds_stats *stats_alloc_model(const ds_model *m, const ds_stats *proto)
{
    const ds_scenario *sc = ds_model_scenario(m);
    int n_outputs = ds_model_n_outputs(m);
    if (n_outputs < 0 || sc->horizon < 0)
        return NULL;
    ds_stats *s = ds_stats_alloc_shape((size_t)n_outputs, sc->n_investors, (size_t)sc->horizon);
    if (s && (ds_sens_setup(s, m, proto) != DS_OK || (sc->conditional && ds_cond_setup(s) != DS_OK))) {
        ds_stats_free(s);
        return NULL;
    }
    if (s)
        s->sampling = (int)sc->sampling;
    if (!s || (!s->coal_pooled && !s->cond_on))
        return s;
    ds_status st = DS_ERR_NOMEM;
    if (proto) {
        /* Made from the same model: the same choices, without block 0. */
        st = proto->coal_pooled == s->coal_pooled && proto->cond_on == s->cond_on
                 ? DS_OK
                 : DS_ERR_INTERNAL;
        if (st == DS_OK && s->coal_pooled)
            st = ds_stats_set_tracked(s, proto->tracked, proto->n_tracked);
        if (st == DS_OK && s->cond_on)
            st = ds_cond_set_coal_masks(s, proto->coal_sk_mask, proto->n_coal_sk, 1);
    } else {
        /* The tracked coalitions (stats.h) and the coalition sketches
         * (conditional.c): from the masks of block 0 at full size, whatever
         * this run's length, so every accumulator of every run of the
         * scenario and seed gets the same set. */
        ds_block *blk = ds_block_alloc(m);
        if (blk) {
            ds_model_run_block(m, 0, DS_BLOCK_SIZE, blk);
            st = s->coal_pooled ? ds_stats_set_tracked(s, blk->joined_mask, DS_BLOCK_SIZE)
                                : DS_OK;
            if (st == DS_OK && s->cond_on)
                st = ds_cond_set_coal_masks(s, blk->joined_mask, DS_BLOCK_SIZE, 0);
        }
        ds_block_free(blk);
    }
    if (st != DS_OK) {
        ds_stats_free(s);
        return NULL;
    }
    return s;
}

ds_stats *ds_stats_alloc(const ds_model *m) { return stats_alloc_model(m, NULL); }

ds_stats *ds_stats_alloc_like(const ds_model *m, const ds_stats *proto)
{
    return stats_alloc_model(m, proto);
}

int ds_stats_cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

ds_status ds_stats_set_tracked(ds_stats *s, const uint64_t *masks, size_t n)
{
    if (!s->coal_pooled || s->blocks != 0 || s->n_nodes != 0 || s->has_tail)
        return DS_ERR_INTERNAL;
    uint64_t *v = malloc((n + 1) * sizeof *v);
    if (!v)
        return DS_ERR_NOMEM;
    if (n)
        memcpy(v, masks, n * sizeof *v);
    qsort(v, n, sizeof *v, ds_stats_cmp_u64);
    size_t w = 0;
    for (size_t k = 0; k < n; ++k)
        if (w == 0 || v[k] != v[w - 1])
            v[w++] = v[k];
    if (w > DS_COAL_MAX_TRACKED) {
        free(v);
        return DS_ERR_INTERNAL;
    }
    free(s->tracked);
    s->tracked = v;
    s->n_tracked = w;
    return DS_OK;
}

/* Whether a mask has its own row (stats.h): binary search of the sorted
 * tracked set, 12 steps at most. */
int ds_stats_coal_is_tracked(const ds_stats *s, uint64_t mask)
{
    if (!s->coal_pooled)
        return 1;
    size_t lo = 0, hi = s->n_tracked;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->tracked[mid] < mask)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_tracked && s->tracked[lo] == mask;
}

void ds_stats_free(ds_stats *s)
{
    if (!s)
        return;
    for (size_t o = 0; o < DS_OUT_COUNT; ++o)
        ds_sketch_clear(&s->sk_out[o]);
    /* The sketch arrays were zeroed by calloc, so clearing every slot is
     * safe even when init never ran on them (free(NULL)). */
    for (size_t i = 0; i < s->n_investors; ++i) {
        if (s->sk_amount)
            ds_sketch_clear(&s->sk_amount[i]);
        if (s->sk_paid)
            ds_sketch_clear(&s->sk_paid[i]);
    }
    if (s->sk_price)
        for (size_t m = 0; m < s->horizon; ++m)
            ds_sketch_clear(&s->sk_price[m]);
    free(s->inv_amount);
    free(s->inv_paid);
    free(s->inv_stake);
    free(s->price);
    free(s->coalitions);
    free(s->tracked);
    free(s->checkpoints);
    for (size_t j = 0; j < s->n_nodes; ++j)
        ds_stats_node_free(&s->nodes[j]);
    if (s->has_tail)
        ds_stats_node_free(&s->tail);
    free(s->nodes);
    free(s->node_cps);
    free(s->inv_joined);
    free(s->sk_amount);
    free(s->sk_paid);
    free(s->sk_price);
    ds_sens_free(s);
    ds_cond_free(s);
    free(s);
}

/* A block must have the shape of the accumulator (stats_internal.h). */
int ds_stats_block_fits(const ds_stats *s, const ds_block *blk)
{
    if (blk->n_investors != s->n_investors || blk->horizon != s->horizon)
        return 0;
    for (size_t o = 0; o < s->n_outputs; ++o)
        if (!blk->out[o])
            return 0;
    if (blk->n > 0 && (!blk->joined_mask || !blk->price || !blk->log_price ||
                       (s->n_investors > 0 && (!blk->amount || !blk->paid || !blk->joined)) ||
                       (ds_stats_has_stake(s) && s->n_investors > 0 && !blk->stake)))
        return 0;
    return 1;
}

int ds_stats_same_shape(const ds_stats *a, const ds_stats *b)
{
    return a->n_outputs == b->n_outputs && a->n_investors == b->n_investors &&
           a->horizon == b->horizon && a->block_size == b->block_size &&
           a->coal_pooled == b->coal_pooled && a->n_tracked == b->n_tracked &&
           a->sampling == b->sampling &&
           (a->sens_k == b->sens_k || a->sens_k == 0 || b->sens_k == 0) &&
           (a->n_tracked == 0 || a->tracked == b->tracked ||
            memcmp(a->tracked, b->tracked, a->n_tracked * sizeof *a->tracked) == 0);
}

ds_status ds_stats_block_moments(ds_stats *partial, const ds_block *blk)
{
    if (!ds_stats_block_fits(partial, blk))
        return DS_ERR_INTERNAL;
    stats_reset_moments(partial);
    partial->trials = blk->n;
    partial->blocks = 1;
    const size_t n = blk->n, ni = partial->n_investors, h = partial->horizon;

    /* Every accumulator sees its values in trial order.  The outputs, then
     * the investors' amounts, payments and stakes (one stride), four
     * columns at a time (blockcols.c). */
    const double *col[3 * DS_MAX_INVESTORS > DS_OUT_COUNT ? 3 * DS_MAX_INVESTORS : DS_OUT_COUNT];
    ds_moments *mo[sizeof col / sizeof *col];
    for (size_t o = 0; o < partial->n_outputs; ++o) {
        col[o] = blk->out[o];
        mo[o] = &partial->out[o];
    }
    ds_block_lone_columns(col, mo, partial->n_outputs, n, 1);
    size_t k = 0;
    for (size_t i = 0; i < ni; ++i) {
        col[k] = blk->amount + i;
        mo[k++] = &partial->inv_amount[i];
        col[k] = blk->paid + i;
        mo[k++] = &partial->inv_paid[i];
        if (partial->inv_stake) {
            col[k] = blk->stake + i;
            mo[k++] = &partial->inv_stake[i];
        }
    }
    ds_block_lone_columns(col, mo, k, n, ni);
    /* The price months: interleaved columns, in sets of eight. */
    ds_block_columns(blk->price, n, h, h, partial->price);
    partial->sens_valid = 0;
    if (partial->sens_model && partial->sens_k > 0) {
        ds_sens_block(partial, blk, partial->sens_view, partial->sens_scratch);
        partial->sens_valid = 1;
    }
    const double *total = blk->out[DS_OUT_TOTAL];
    for (size_t t = 0; t < n; ++t) {
        uint64_t mask = blk->joined_mask[t];
        if (!ds_stats_coal_is_tracked(partial, mask)) {
            /* Pooled, summed in trial order like the tracked rows. */
            partial->coal_other.count++;
            partial->coal_other.sum_total += total[t];
            continue;
        }
        ds_coalition *c = NULL;
        if (partial->cap_coalitions) {
            c = ds_stats_coal_slot(partial->coalitions, partial->cap_coalitions, mask);
            if (c->count == 0)
                c = NULL;
        }
        if (!c) {
            DS_TRY(ds_stats_coal_reserve(partial, partial->n_coalitions + 1));
            c = ds_stats_coal_slot(partial->coalitions, partial->cap_coalitions, mask);
            c->mask = mask;
            c->count = 0;
            c->sum_total = 0.0;
            partial->n_coalitions++;
        }
        c->count++;
        c->sum_total += total[t];
    }
    ds_cond_block(partial, blk);
    return DS_OK;
}

/* ------------------------------------------------------------------------ */
/* The memory bound (stats.h): each term is the largest its structure can
 * grow to, by the caps above, never a measurement. */

ds_stats_memory ds_stats_memory_bound(const ds_model *m, int threads)
{
    const ds_scenario *sc = ds_model_scenario(m);
    const uint64_t B = DS_BLOCK_SIZE, ni = sc->n_investors;
    const uint64_t h = sc->horizon > 0 ? (uint64_t)sc->horizon : 0;
    const uint64_t nin = sc->n_inputs, T = threads > 0 ? (uint64_t)threads : 1;
    const uint64_t d = sizeof(double);
    /* ds_block_alloc: outputs, mask, amount, paid, stake, joined, price
     * and log price, inputs and copula normals; the kernel's lanes of
     * shocks, jumps and suffix sums. */
    const uint64_t block = B * d * (DS_OUT_COUNT + 1 + 3 * ni + 2 * h + 2 * nin) + B * ni +
                           d * DS_MODEL_LANES * (4 * h + 1);
    /* Sensitivity records (stats.h): one array a node, the view and a block
     * partial's. */
    const uint64_t sens = (uint64_t)ds_sens_len(nin, DS_OUT_COUNT) * d + (nin + 1) * d;
    /* Conditional (stats.h "Conditional"): moments a node and a view,
     * their sketches an accumulator, the selection scratch a view. */
    /* (with their ratio spreads under latin_hypercube: the view always) */
    const uint64_t cond_n = (DS_COND_BOOLS + ni) * DS_OUT_COUNT + 3 * ni + 1;
    const uint64_t cond_mo =
        sc->conditional
            ? cond_n * ((uint64_t)sizeof(ds_moments) +
                        (sc->sampling == DS_SAMPLING_LATIN_HYPERCUBE ? sizeof(ds_rspread) : 0))
            : 0;
    const uint64_t cond_sk =
        sc->conditional ? (uint64_t)DS_COND_SKETCHED * DS_OUT_COUNT + DS_COND_COAL_SKETCHES : 0;
    const uint64_t cond_view =
        cond_mo + (sc->conditional ? cond_n * (uint64_t)sizeof(ds_rspread) : 0) +
        (sc->conditional ? (DS_COND_SKETCHED + 4 + 8 * DS_COND_CW) * B +
                                         sizeof(struct ds_cond_sk_work)
                                   : 0);
    const uint64_t n_mo = DS_OUT_COUNT + 3 * ni + h;       /* moments of a view */
    const uint64_t n_sk = DS_OUT_COUNT + 2 * ni + h + cond_sk; /* sketches */
    const uint64_t sketch = 2 * (uint64_t)DS_SKETCH_MAX_BUCKETS * sizeof(uint64_t);
    const uint64_t coal_table = 2 * (uint64_t)DS_COAL_MAX_TRACKED * sizeof(ds_coalition);
    const uint64_t tracked = (uint64_t)DS_COAL_MAX_TRACKED * sizeof(uint64_t);
    /* ... and, in each accumulator with a model, the CDF tables and the
     * block's sensitivity scratch. */
    const uint64_t sens_acc = (uint64_t)ds_sens_table_bytes(sc) +
                              (uint64_t)(ds_sens_scratch_len(nin) + 1) * d;
    const uint64_t view = sens + sens_acc + cond_view + sizeof(ds_stats) +
                          n_mo * sizeof(ds_moments) + n_sk * sizeof(ds_sketch) + ni * sizeof(uint64_t) +
                          (h > ni ? h : ni) * d + coal_table + tracked;
    /* A merged node's coalition array is sized for both children's rows
     * (node_merge), so up to twice the tracked cap.  The block spreads
     * (blockspread.c) live inside ds_stats_node and ds_stats, so their
     * sizeof counts them. */
    const uint64_t node = sens + cond_mo + n_mo * sizeof(ds_moments) +
                          2 * (uint64_t)DS_COAL_MAX_TRACKED * sizeof(ds_coalition) +
                          sizeof(ds_stats_node);
    const uint64_t accumulator = view + n_sk * sketch;
    ds_stats_memory r;
    r.per_thread = block + view + accumulator;
    /* The global one, its forest (64 levels, the tail, a gap per block in
     * flight) and the fold's two temporaries; checkpoints are tiny. */
    r.shared = accumulator + (64 + 1 + T + 2) * node +
               66 * 2 * (uint64_t)sizeof(ds_checkpoint);
    r.total = r.shared + T * r.per_thread;
    /* /state: the forest's 65 node rows and the sketches' buckets (as
     * u64 counts), the summaries a small multiple of the views. */
    r.file_state = 65 * node + n_sk * sketch + 4 * n_mo * sizeof(ds_moments);
    return r;
}
