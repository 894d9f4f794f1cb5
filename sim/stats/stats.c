/* sim/stats/stats.c
 * Mergeable summaries: Welford/Chan moments, coalitions, the accumulators and
 * their merge tree, a block's moments, the price fan and convergence (the
 * quantile sketch itself is sketch.c, a block's sketch adds sketchadd.c,
 * the column moments a block's partial is made of blockcols.c).
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

static ds_coalition *coal_slot(ds_coalition *tab, size_t cap, uint64_t mask)
{
    size_t i = coal_hash(mask, cap);
    while (tab[i].count != 0 && tab[i].mask != mask)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* Ensures room for `need` coalitions at load <= 1/2.  On failure nothing
 * changes. */
static ds_status coal_reserve(ds_stats *s, size_t need)
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
            *coal_slot(tab, cap, s->coalitions[i].mask) = s->coalitions[i];
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
    ds_coalition *c = coal_slot(s->coalitions, s->cap_coalitions, mask);
    return c->count ? c : NULL;
}

/* ------------------------------------------------------------------------ */
/* The accumulators. */

static int stats_has_stake(const ds_stats *s) { return s->n_outputs == DS_OUT_COUNT; }

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
    s->scratch = calloc((horizon > n_investors ? horizon : n_investors) + 1, sizeof *s->scratch);
    int ok = s->inv_amount && s->inv_paid && s->price && s->inv_joined && s->sk_amount &&
             s->sk_paid && s->sk_price && s->scratch;
    if (ok && stats_has_stake(s)) {
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
    free(s->scratch);
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
                       (stats_has_stake(s) && s->n_investors > 0 && !blk->stake)))
        return 0;
    return 1;
}

static int stats_same_shape(const ds_stats *a, const ds_stats *b)
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

    /* Every accumulator sees its values in trial order. */
    for (size_t o = 0; o < partial->n_outputs; ++o)
        ds_block_column(blk->out[o], n, 1, &partial->out[o]);
    for (size_t i = 0; i < ni; ++i) {
        ds_block_column(blk->amount + i, n, ni, &partial->inv_amount[i]);
        ds_block_column(blk->paid + i, n, ni, &partial->inv_paid[i]);
        if (partial->inv_stake)
            ds_block_column(blk->stake + i, n, ni, &partial->inv_stake[i]);
    }
    /* The price months: many columns, so interleaved accumulators in memory
     * do not stall (each is touched once a row). */
    ds_block_columns(blk->price, n, h, h, partial->price, partial->scratch);
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
            c = coal_slot(partial->coalitions, partial->cap_coalitions, mask);
            if (c->count == 0)
                c = NULL;
        }
        if (!c) {
            DS_TRY(coal_reserve(partial, partial->n_coalitions + 1));
            c = coal_slot(partial->coalitions, partial->cap_coalitions, mask);
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
/* The merge tree (stats.h): nodes, the forest, carries, the final fold. */

size_t ds_stats_n_accumulators(const ds_stats *s)
{
    return s->n_outputs + s->n_investors * (stats_has_stake(s) ? 3u : 2u) + s->horizon;
}

ds_status ds_stats_node_alloc(const ds_stats *s, size_t n_coal, ds_stats_node *nd)
{
    memset(nd, 0, sizeof *nd);
    /* +1: never a zero-size request, whose NULL would read as failure. */
    nd->mo = malloc((ds_stats_n_accumulators(s) + 1) * sizeof *nd->mo);
    nd->coal = malloc((n_coal + 1) * sizeof *nd->coal);
    if (!nd->mo || !nd->coal) {
        ds_stats_node_free(nd);
        return DS_ERR_NOMEM;
    }
    return DS_OK;
}

void ds_stats_node_free(ds_stats_node *nd)
{
    free(nd->mo);
    free(nd->coal);
    free(nd->sens);
    free(nd->cond);
    free(nd->crs);
    nd->cond = NULL;
    nd->crs = NULL;
    nd->mo = NULL;
    nd->coal = NULL;
    nd->sens = NULL;
    nd->n_coal = 0;
}

uint64_t ds_stats_node_first(const ds_stats_node *nd) { return nd->index << nd->level; }

uint64_t ds_stats_node_last(const ds_stats_node *nd)
{
    return (nd->index << nd->level) + ((UINT64_C(1) << nd->level) - 1);
}

static int node_overlap(const ds_stats_node *a, const ds_stats_node *b)
{
    return ds_stats_node_first(a) <= ds_stats_node_last(b) &&
           ds_stats_node_first(b) <= ds_stats_node_last(a);
}

ds_status ds_stats_reserve_nodes(ds_stats *s, size_t need)
{
    if (need <= s->cap_nodes)
        return DS_OK;
    size_t cap = s->cap_nodes ? s->cap_nodes : 16;
    while (cap < need)
        cap *= 2;
    ds_stats_node *v = realloc(s->nodes, cap * sizeof *v);
    if (!v)
        return DS_ERR_NOMEM;
    s->nodes = v;
    s->cap_nodes = cap;
    return DS_OK;
}

ds_status ds_stats_reserve_cps(ds_stats *s, size_t need)
{
    if (need <= s->cap_node_cps)
        return DS_OK;
    size_t cap = s->cap_node_cps ? s->cap_node_cps : 8;
    while (cap < need)
        cap *= 2;
    ds_checkpoint *v = realloc(s->node_cps, cap * sizeof *v);
    if (!v)
        return DS_ERR_NOMEM;
    s->node_cps = v;
    s->cap_node_cps = cap;
    return DS_OK;
}

/* The accumulators of a view in node order (outputs, amount, paid, stake,
 * price): X(view member) for each, k counting. */
#define DS_VIEW_EACH(view, X)                                                                \
    do {                                                                                     \
        size_t k = 0;                                                                        \
        for (size_t o = 0; o < (view)->n_outputs; ++o, ++k)                                  \
            X((view)->out[o]);                                                               \
        for (size_t i = 0; i < (view)->n_investors; ++i, ++k)                                \
            X((view)->inv_amount[i]);                                                        \
        for (size_t i = 0; i < (view)->n_investors; ++i, ++k)                                \
            X((view)->inv_paid[i]);                                                          \
        if (stats_has_stake(view))                                                           \
            for (size_t i = 0; i < (view)->n_investors; ++i, ++k)                            \
                X((view)->inv_stake[i]);                                                     \
        for (size_t m = 0; m < (view)->horizon; ++m, ++k)                                    \
            X((view)->price[m]);                                                             \
    } while (0)

static void view_get(const ds_stats *view, ds_moments *mo)
{
#define DS_GET(x) mo[k] = (x)
    DS_VIEW_EACH(view, DS_GET);
#undef DS_GET
}

static void view_put(ds_stats *view, const ds_moments *mo)
{
#define DS_PUT(x) (x) = mo[k]
    DS_VIEW_EACH(view, DS_PUT);
#undef DS_PUT
}

static int coal_mask_compare(const void *pa, const void *pb)
{
    const ds_coalition *a = pa, *b = pb;
    return a->mask < b->mask ? -1 : (a->mask > b->mask);
}

/* out := merge(l, r), l the lower-index (left) operand: moments by Chan's
 * update from a copy of l, coalitions by a merge-join on the mask (sums
 * l + r).  Allocates out; on failure nothing is allocated. */
static ds_status node_merge(const ds_stats *s, const ds_stats_node *l, const ds_stats_node *r,
                            ds_stats_node *out)
{
    DS_TRY(ds_stats_node_alloc(s, l->n_coal + r->n_coal, out));
    const size_t na = ds_stats_n_accumulators(s);
    for (size_t k = 0; k < na; ++k) {
        out->mo[k] = l->mo[k];
        ds_moments_merge(&out->mo[k], &r->mo[k]);
    }
    size_t i = 0, j = 0, n = 0;
    while (i < l->n_coal || j < r->n_coal) {
        if (j == r->n_coal || (i < l->n_coal && l->coal[i].mask < r->coal[j].mask)) {
            out->coal[n++] = l->coal[i++];
        } else if (i == l->n_coal || r->coal[j].mask < l->coal[i].mask) {
            out->coal[n++] = r->coal[j++];
        } else {
            ds_cond_coal_combine(&out->coal[n], &l->coal[i], &r->coal[j]);
            n++, i++, j++;
        }
    }
    out->n_coal = n;
    ds_cond_other_combine(out, l, r);
    out->other_count = l->other_count + r->other_count;
    out->other_sum = l->other_sum + r->other_sum;
    if (l->cond && r->cond) {
        if (!(out->cond = malloc((ds_cond_len(s) + 1) * sizeof *out->cond))) {
            ds_stats_node_free(out);
            return DS_ERR_NOMEM;
        }
        ds_cond_merge(s, l->cond, r->cond, out->cond);
    }
    if (l->crs && r->crs) {
        const size_t len = ds_cond_len(s);
        if (!(out->crs = malloc(len * sizeof *out->crs))) {
            ds_stats_node_free(out);
            return DS_ERR_NOMEM;
        }
        for (size_t k = 0; k < len; ++k)
            ds_rspread_merge(&out->crs[k], &l->crs[k], &r->crs[k]);
    }
    if (s->sens_k > 0 && l->sens && r->sens) {
        out->sens = malloc(ds_sens_len(s->sens_k, s->n_outputs) * sizeof *out->sens);
        if (!out->sens) {
            ds_stats_node_free(out);
            return DS_ERR_NOMEM;
        }
        ds_sens_merge(s->sens_k, s->n_outputs, l->sens, r->sens, out->sens);
    }
    out->has_bsp = l->has_bsp && r->has_bsp;
    for (size_t o = 0; o < s->n_outputs && out->has_bsp; ++o)
        ds_bspread_merge(&out->bsp[o], &l->bsp[o], &r->bsp[o]);
    out->level = l->level + 1;
    out->index = l->index >> 1;
    out->trials = l->trials + r->trials;
    return DS_OK;
}

static ds_status node_copy(const ds_stats *s, const ds_stats_node *src, ds_stats_node *dst)
{
    DS_TRY(ds_stats_node_alloc(s, src->n_coal, dst));
    memcpy(dst->mo, src->mo, ds_stats_n_accumulators(s) * sizeof *dst->mo);
    if (src->n_coal)
        memcpy(dst->coal, src->coal, src->n_coal * sizeof *dst->coal);
    dst->n_coal = src->n_coal;
    dst->other_count = src->other_count;
    dst->other_sum = src->other_sum;
    dst->other_closed = src->other_closed;
    dst->other_target_met = src->other_target_met;
    dst->other_m2 = src->other_m2;
    if (ds_cond_dup(s, src->cond, &dst->cond) != DS_OK) {
        ds_stats_node_free(dst);
        return DS_ERR_NOMEM;
    }
    if (src->crs) {
        const size_t len = ds_cond_len(s);
        if (!(dst->crs = malloc(len * sizeof *dst->crs))) {
            ds_stats_node_free(dst);
            return DS_ERR_NOMEM;
        }
        memcpy(dst->crs, src->crs, len * sizeof *dst->crs);
    }
    if (s->sens_k > 0 && src->sens) {
        const size_t len = ds_sens_len(s->sens_k, s->n_outputs);
        dst->sens = malloc(len * sizeof *dst->sens);
        if (!dst->sens) {
            ds_stats_node_free(dst);
            return DS_ERR_NOMEM;
        }
        memcpy(dst->sens, src->sens, len * sizeof *dst->sens);
    }
    dst->has_bsp = src->has_bsp;
    memcpy(dst->bsp, src->bsp, sizeof dst->bsp);
    dst->level = src->level;
    dst->index = src->index;
    dst->trials = src->trials;
    return DS_OK;
}

/* The checkpoint of a node's (or the fold's) value after `blocks` blocks. */
static void node_checkpoint(const ds_stats *s, const ds_stats_node *nd, uint64_t blocks,
                            ds_checkpoint *cp)
{
    cp->blocks = blocks;
    cp->trials = nd->trials;
    for (size_t o = 0; o < DS_OUT_COUNT; ++o) {
        int have = o < s->n_outputs;
        cp->mean[o] = have ? nd->mo[o].mean : (double)NAN;
        cp->stderr_[o] = have ? ds_stats_node_stderr(s, nd, o) : (double)NAN;
    }
}

/* Adds a node checkpoint keeping node_cps sorted by blocks (room reserved). */
static void cps_insert(ds_stats *s, const ds_checkpoint *cp)
{
    size_t k = s->n_node_cps;
    while (k > 0 && s->node_cps[k - 1].blocks > cp->blocks) {
        s->node_cps[k] = s->node_cps[k - 1];
        k--;
    }
    s->node_cps[k] = *cp;
    s->n_node_cps++;
}

/* Inserts *nd (not overlapping the forest) with carries.  On success the
 * forest owns nd's arrays (or they were freed into a parent); on failure s
 * is unchanged and the caller still owns *nd.  `self_cp`: record nd's own
 * checkpoint too (a committed leaf 0). */
static ds_status forest_insert(ds_stats *s, ds_stats_node *nd, int self_cp)
{
    /* A chain carries at most 64 levels; each forms at most one node (k, 0). */
    DS_TRY(ds_stats_reserve_nodes(s, s->n_nodes + 1));
    DS_TRY(ds_stats_reserve_cps(s, s->n_node_cps + 66));
    size_t gone[64];
    size_t n_gone = 0;
    ds_checkpoint cps[65];
    size_t n_cps = 0;
    ds_stats_node cur = *nd;
    int own = 0; /* cur is a parent this call allocated */
    if (self_cp && cur.index == 0)
        node_checkpoint(s, &cur, UINT64_C(1) << cur.level, &cps[n_cps++]);
    while (cur.level < 63) {
        size_t j = 0;
        while (j < s->n_nodes &&
               !(s->nodes[j].level == cur.level && s->nodes[j].index == (cur.index ^ 1u)))
            ++j;
        if (j == s->n_nodes)
            break;
        const ds_stats_node *sib = &s->nodes[j];
        ds_stats_node parent;
        ds_status st = sib->index < cur.index ? node_merge(s, sib, &cur, &parent)
                                              : node_merge(s, &cur, sib, &parent);
        if (st != DS_OK) {
            if (own)
                ds_stats_node_free(&cur);
            return st;
        }
        if (own)
            ds_stats_node_free(&cur);
        cur = parent;
        own = 1;
        gone[n_gone++] = j;
        if (cur.index == 0)
            node_checkpoint(s, &cur, UINT64_C(1) << cur.level, &cps[n_cps++]);
    }
    /* Nothing can fail from here on. */
    if (own)
        ds_stats_node_free(nd);
    size_t w = 0;
    for (size_t j = 0; j < s->n_nodes; ++j) {
        int drop = 0;
        for (size_t g = 0; g < n_gone; ++g)
            drop |= gone[g] == j;
        if (drop)
            ds_stats_node_free(&s->nodes[j]);
        else
            s->nodes[w++] = s->nodes[j];
    }
    s->n_nodes = w;
    size_t at = 0;
    while (at < s->n_nodes && ds_stats_node_first(&s->nodes[at]) < ds_stats_node_first(&cur))
        ++at;
    memmove(s->nodes + at + 1, s->nodes + at, (s->n_nodes - at) * sizeof *s->nodes);
    s->nodes[at] = cur;
    s->n_nodes++;
    for (size_t k = 0; k < n_cps; ++k)
        cps_insert(s, &cps[k]);
    return DS_OK;
}

ds_status ds_stats_commit_block(ds_stats *acc, const ds_stats *partial, uint64_t block)
{
    if (!stats_same_shape(acc, partial) || acc == partial || partial->blocks != 1 ||
        partial->n_nodes != 0 || block > (UINT64_MAX >> 1))
        return DS_ERR_INTERNAL;
    ds_stats_node leaf;
    leaf.level = 0;
    leaf.index = block;
    const int is_tail = partial->trials < acc->block_size;
    for (size_t j = 0; j < acc->n_nodes; ++j)
        if (node_overlap(&acc->nodes[j], &leaf))
            return DS_ERR_INTERNAL; /* committed twice */
    if (acc->has_tail && (is_tail || acc->tail.index == block))
        return DS_ERR_INTERNAL; /* a second short block, or the tail twice */
    DS_TRY(ds_stats_node_alloc(acc, partial->n_coalitions, &leaf));
    leaf.level = 0;
    leaf.index = block;
    leaf.trials = partial->trials;
    view_get(partial, leaf.mo);
    size_t n = 0;
    for (size_t k = 0; k < partial->cap_coalitions; ++k)
        if (partial->coalitions[k].count != 0)
            leaf.coal[n++] = partial->coalitions[k];
    qsort(leaf.coal, n, sizeof *leaf.coal, coal_mask_compare);
    leaf.n_coal = n;
    leaf.other_count = partial->coal_other.count;
    leaf.other_sum = partial->coal_other.sum_total;
    leaf.other_closed = partial->coal_other.closed;
    leaf.other_target_met = partial->coal_other.target_met;
    leaf.other_m2 = partial->coal_other.m2_total;
    if (acc->cond_on && partial->cond_on && partial->cond_valid &&
        ds_cond_dup(acc, partial->cond_view, &leaf.cond) != DS_OK) {
        ds_stats_node_free(&leaf);
        return DS_ERR_NOMEM;
    }
    /* Block spread (blockspread.c): a full block is one replicate. */
    leaf.has_bsp = 1;
    for (size_t o = 0; o < acc->n_outputs; ++o)
        ds_bspread_leaf(&leaf.bsp[o], &partial->out[o], !is_tail);
    if (leaf.cond && acc->sampling == DS_SAMPLING_LATIN_HYPERCUBE) {
        const size_t len = ds_cond_len(acc);
        if (!(leaf.crs = malloc(len * sizeof *leaf.crs))) {
            ds_stats_node_free(&leaf);
            return DS_ERR_NOMEM;
        }
        for (size_t k = 0; k < len; ++k)
            ds_rspread_leaf(&leaf.crs[k], &leaf.cond[k], !is_tail);
    }
    if (acc->sens_k > 0 && partial->sens_k == acc->sens_k && partial->sens_valid) {
        const size_t len = ds_sens_len(acc->sens_k, acc->n_outputs);
        leaf.sens = malloc(len * sizeof *leaf.sens);
        if (!leaf.sens) {
            ds_stats_node_free(&leaf);
            return DS_ERR_NOMEM;
        }
        memcpy(leaf.sens, partial->sens_view, len * sizeof *leaf.sens);
    }
    if (is_tail) {
        /* Kept apart (stats.h): only full blocks enter the forest. */
        acc->tail = leaf;
        acc->has_tail = 1;
        acc->trials += partial->trials;
        acc->blocks += 1;
        return DS_OK;
    }
    ds_status st = forest_insert(acc, &leaf, 1);
    if (st != DS_OK) {
        ds_stats_node_free(&leaf);
        return st;
    }
    acc->trials += partial->trials;
    acc->blocks += 1;
    return DS_OK;
}

ds_status ds_stats_merge(ds_stats *into, const ds_stats *from)
{
    if (!stats_same_shape(into, from) || into == from)
        return DS_ERR_INTERNAL;
    /* Refuse overlaps before changing anything. */
    for (size_t i = 0; i < from->n_nodes; ++i)
        for (size_t j = 0; j < into->n_nodes; ++j)
            if (node_overlap(&from->nodes[i], &into->nodes[j]))
                return DS_ERR_INTERNAL;
    for (size_t i = 0; i < from->n_node_cps; ++i)
        for (size_t j = 0; j < into->n_node_cps; ++j)
            if (from->node_cps[i].blocks == into->node_cps[j].blocks)
                return DS_ERR_INTERNAL;
    if (from->has_tail && into->has_tail)
        return DS_ERR_INTERNAL;
    for (size_t j = 0; j < into->n_nodes && from->has_tail; ++j)
        if (node_overlap(&into->nodes[j], &from->tail))
            return DS_ERR_INTERNAL;
    for (size_t j = 0; j < from->n_nodes && into->has_tail; ++j)
        if (node_overlap(&from->nodes[j], &into->tail))
            return DS_ERR_INTERNAL;
    ds_stats_node tail_copy;
    if (from->has_tail)
        DS_TRY(node_copy(into, &from->tail, &tail_copy));
    if (ds_stats_reserve_cps(into, into->n_node_cps + from->n_node_cps) != DS_OK) {
        if (from->has_tail)
            ds_stats_node_free(&tail_copy);
        return DS_ERR_NOMEM;
    }
    if (from->has_tail) {
        into->tail = tail_copy;
        into->has_tail = 1;
    }
    for (size_t i = 0; i < from->n_node_cps; ++i)
        cps_insert(into, &from->node_cps[i]);
    for (size_t i = 0; i < from->n_nodes; ++i) {
        ds_stats_node nd;
        DS_TRY(node_copy(into, &from->nodes[i], &nd));
        ds_status st = forest_insert(into, &nd, 0);
        if (st != DS_OK) {
            ds_stats_node_free(&nd);
            return st;
        }
    }
    for (size_t o = 0; o < into->n_outputs; ++o)
        DS_TRY(ds_sketch_merge(&into->sk_out[o], &from->sk_out[o]));
    for (size_t i = 0; i < into->n_investors; ++i) {
        DS_TRY(ds_sketch_merge(&into->sk_amount[i], &from->sk_amount[i]));
        DS_TRY(ds_sketch_merge(&into->sk_paid[i], &from->sk_paid[i]));
        into->inv_joined[i] += from->inv_joined[i];
    }
    for (size_t m = 0; m < into->horizon; ++m)
        DS_TRY(ds_sketch_merge(&into->sk_price[m], &from->sk_price[m]));
    DS_TRY(ds_cond_merge_sketches(into, from));
    into->trials += from->trials;
    into->blocks += from->blocks;
    return DS_OK;
}

ds_status ds_stats_finalize(ds_stats *s, ds_diag *diag)
{
    /* The forest must be the binary decomposition of s->blocks. */
    uint64_t next = 0, trials = 0;
    for (size_t j = 0; j < s->n_nodes; ++j) {
        const ds_stats_node *nd = &s->nodes[j];
        if (ds_stats_node_first(nd) != next || (j > 0 && nd->level >= s->nodes[j - 1].level))
            return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                               "stats: blocks merged are not exactly [0, %llu): a gap or "
                               "misplaced node before block %llu",
                               (unsigned long long)s->blocks,
                               (unsigned long long)ds_stats_node_first(nd));
        next = ds_stats_node_last(nd) + 1;
        trials += nd->trials;
    }
    if (s->has_tail) {
        if (s->tail.index != next)
            return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                               "stats: the short block %llu is not the last (the full blocks "
                               "end at %llu)",
                               (unsigned long long)s->tail.index, (unsigned long long)next);
        next += 1;
        trials += s->tail.trials;
    }
    if (next != s->blocks || trials != s->trials)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "stats: the forest covers %llu blocks and %llu trials, but %llu "
                           "blocks and %llu trials were merged",
                           (unsigned long long)next, (unsigned long long)trials,
                           (unsigned long long)s->blocks, (unsigned long long)s->trials);
    const size_t na = ds_stats_n_accumulators(s);
    ds_stats_node acc;
    memset(&acc, 0, sizeof acc);
    if (s->n_nodes > 0 || s->has_tail) {
        /* The rightmost element: the tail when there is one (stats.h). */
        size_t j0 = s->has_tail ? s->n_nodes : s->n_nodes - 1;
        if (node_copy(s, s->has_tail ? &s->tail : &s->nodes[s->n_nodes - 1], &acc) != DS_OK)
            goto nomem;
        for (size_t j = j0; j-- > 0;) {
            ds_stats_node nx;
            if (node_merge(s, &s->nodes[j], &acc, &nx) != DS_OK) {
                ds_stats_node_free(&acc);
                goto nomem;
            }
            ds_stats_node_free(&acc);
            acc = nx;
        }
    } else if (ds_stats_node_alloc(s, 0, &acc) != DS_OK) {
        goto nomem;
    } else {
        for (size_t k = 0; k < na; ++k)
            ds_moments_init(&acc.mo[k]);
    }
    /* Reserve the views' memory before touching them. */
    size_t ncp = s->n_node_cps + 1;
    if (ncp > s->cap_checkpoints) {
        ds_checkpoint *cp = realloc(s->checkpoints, ncp * sizeof *cp);
        if (!cp) {
            ds_stats_node_free(&acc);
            goto nomem;
        }
        s->checkpoints = cp;
        s->cap_checkpoints = ncp;
    }
    if (coal_reserve(s, acc.n_coal) != DS_OK) {
        ds_stats_node_free(&acc);
        goto nomem;
    }
    view_put(s, acc.mo);
    s->bsp_valid = acc.has_bsp;
    memcpy(s->bsp, acc.bsp, sizeof s->bsp);
    s->sens_valid = 0;
    if (s->sens_k > 0 && acc.sens && s->sens_view) {
        memcpy(s->sens_view, acc.sens, ds_sens_len(s->sens_k, s->n_outputs) * sizeof *s->sens_view);
        s->sens_valid = 1;
    }
    if (s->coalitions)
        memset(s->coalitions, 0, s->cap_coalitions * sizeof *s->coalitions);
    for (size_t k = 0; k < acc.n_coal; ++k)
        *coal_slot(s->coalitions, s->cap_coalitions, acc.coal[k].mask) = acc.coal[k];
    s->n_coalitions = acc.n_coal;
    memset(&s->coal_other, 0, sizeof s->coal_other);
    s->coal_other.count = acc.other_count;
    s->coal_other.sum_total = acc.other_sum;
    s->coal_other.closed = acc.other_closed;
    s->coal_other.target_met = acc.other_target_met;
    s->coal_other.m2_total = acc.other_m2;
    s->cond_valid = 0;
    if (s->cond_on && acc.cond) {
        memcpy(s->cond_view, acc.cond, ds_cond_len(s) * sizeof *s->cond_view);
        s->cond_valid = 1;
    }
    s->crs_valid = 0;
    if (s->cond_valid && acc.crs && s->crs_view) {
        memcpy(s->crs_view, acc.crs, ds_cond_len(s) * sizeof *s->crs_view);
        s->crs_valid = 1;
    }
    if (s->n_node_cps)
        memcpy(s->checkpoints, s->node_cps, s->n_node_cps * sizeof *s->checkpoints);
    s->n_checkpoints = s->n_node_cps;
    /* The final checkpoint, unless node (k, 0) already is the whole run
     * (with a tail that node is never formed: the fold is its value). */
    if (s->blocks > 0 &&
        (s->n_checkpoints == 0 || s->checkpoints[s->n_checkpoints - 1].blocks != s->blocks))
        node_checkpoint(s, &acc, s->blocks, &s->checkpoints[s->n_checkpoints++]);
    ds_stats_node_free(&acc);
    return DS_OK;
nomem:
    return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (final summaries)");
}

ds_status ds_stats_drop_tail(ds_stats *s, const ds_block *blk, ds_diag *diag)
{
    if (!s->has_tail)
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                           "stats: no short last block to take out (the run ended on a "
                           "block boundary)");
    if (blk->block != s->tail.index || blk->n != s->tail.trials || !ds_stats_block_fits(s, blk))
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                           "stats: block %llu with %zu trials is not the saved last block "
                           "(%llu with %llu trials)",
                           (unsigned long long)blk->block, blk->n,
                           (unsigned long long)s->tail.index,
                           (unsigned long long)s->tail.trials);
    const size_t n = blk->n, ni = s->n_investors, h = s->horizon;
    ds_status st = DS_OK;
    for (size_t o = 0; o < s->n_outputs && st == DS_OK; ++o)
        for (size_t t = 0; t < n && st == DS_OK; ++t)
            st = ds_stats_sketch_remove(&s->sk_out[o], blk->out[o][t]);
    for (size_t t = 0; t < n && st == DS_OK; ++t) {
        for (size_t i = 0; i < ni && st == DS_OK; ++i) {
            st = ds_stats_sketch_remove(&s->sk_amount[i], blk->amount[t * ni + i]);
            if (st == DS_OK)
                st = ds_stats_sketch_remove(&s->sk_paid[i], blk->paid[t * ni + i]);
            if (st == DS_OK && blk->joined[t * ni + i]) {
                if (s->inv_joined[i] == 0)
                    st = DS_ERR_FORMAT;
                else
                    s->inv_joined[i]--;
            }
        }
        for (size_t m = 0; m < h && st == DS_OK; ++m)
            st = ds_stats_sketch_remove_log(&s->sk_price[m],
                                            blk->log_price[ds_block_lp_at(h, t, m)]);
    }
    if (st == DS_OK)
        st = ds_cond_remove_sketches(s, blk);
    if (st != DS_OK || s->trials < n || s->blocks < 1)
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                           "stats: the saved summaries do not contain block %llu's values "
                           "(a count would go below zero): the state does not belong to "
                           "this scenario and seed",
                           (unsigned long long)blk->block);
    ds_stats_node_free(&s->tail);
    s->has_tail = 0;
    s->trials -= n;
    s->blocks -= 1;
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
