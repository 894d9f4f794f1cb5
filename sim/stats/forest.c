/* sim/stats/forest.c
 * The merge tree of block partials (stats.h): nodes, the forest and its
 * carries, commits and merges of accumulators, checkpoints, the final fold
 * and dropping an uncommitted tail (moved from stats.c, which keeps the
 * accumulators, coalitions and a block's moments).
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants (stats.h, STYLE.md rule 1): a node's value is a function of
 * its blocks alone, merged with the lower block index the left operand,
 * whichever accumulator formed it, and the final fold depends only on the
 * block count; a forest is sorted by first block, holds no two overlapping
 * nodes and no sibling pair (they are always carried into their parent);
 * commits and the final fold reserve their memory first, so that a
 * failure leaves the accumulator consistent.
 */
#include "stats_internal.h"
#include "sketch_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t ds_stats_n_accumulators(const ds_stats *s)
{
    return s->n_outputs + s->n_investors * (ds_stats_has_stake(s) ? 3u : 2u) + s->horizon;
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

/* Room for `need` elements of `size` bytes in *arr (capacity *cap,
 * doubling from `first`); on failure nothing changes. */
static ds_status reserve_array(void **arr, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return DS_OK;
    size_t c = *cap ? *cap : first;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size)
            return DS_ERR_NOMEM;
        c *= 2;
    }
    void *v = realloc(*arr, c * size);
    if (!v)
        return DS_ERR_NOMEM;
    *arr = v;
    *cap = c;
    return DS_OK;
}

ds_status ds_stats_reserve_nodes(ds_stats *s, size_t need)
{
    void *p = s->nodes;
    const ds_status st = reserve_array(&p, &s->cap_nodes, need, sizeof *s->nodes, 16);
    s->nodes = p;
    return st;
}

ds_status ds_stats_reserve_cps(ds_stats *s, size_t need)
{
    void *p = s->node_cps;
    const ds_status st = reserve_array(&p, &s->cap_node_cps, need, sizeof *s->node_cps, 8);
    s->node_cps = p;
    return st;
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
        if (ds_stats_has_stake(view))                                                           \
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
    if (!ds_stats_same_shape(acc, partial) || acc == partial || partial->blocks != 1 ||
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
    if (!ds_stats_same_shape(into, from) || into == from)
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
    if (ds_stats_coal_reserve(s, acc.n_coal) != DS_OK) {
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
        *ds_stats_coal_slot(s->coalitions, s->cap_coalitions, acc.coal[k].mask) = acc.coal[k];
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
