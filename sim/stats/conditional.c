/* sim/stats/conditional.c
 * Conditional summaries (stats.h, "Conditional"): every scalar output given
 * each boolean outcome (closed, target_met) and given each investor
 * joining; investors' amount, paid and stake "if it joins"; the coalition
 * rows' closed / target_met counts and the spread of total given the mask.
 * Licence: see LICENSE at the top of the repository.
 *
 * Reproducibility: a block's moments are computed in trial order by the
 * same shifted two-pass arithmetic as stats.c's block_column, restricted to
 * the trials where the condition holds; nodes merge by ds_moments_merge,
 * the lower block index the left operand, so the bits depend only on the
 * blocks.  The conditional sketches and the coalition counts are integers
 * (any order).  A coalition's m2_total is two-pass within a block (the
 * block's mean given the mask from its trial-order sum, then the squared
 * deviations in trial order) and merges by Chan's update along the tree.
 */
#include "stats_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ds_cond_n_conditions(const ds_stats *s) { return DS_COND_BOOLS + s->n_investors; }

size_t ds_cond_len(const ds_stats *s)
{
    return ds_cond_n_conditions(s) * s->n_outputs + 3 * s->n_investors;
}

ds_status ds_cond_setup(ds_stats *s)
{
    if (s->cond_on)
        return DS_OK;
    const size_t nsk = DS_COND_SKETCHED * s->n_outputs;
    s->cond_view = malloc((ds_cond_len(s) + 1) * sizeof *s->cond_view);
    s->crs_view = malloc((ds_cond_len(s) + 1) * sizeof *s->crs_view);
    s->sk_cond = calloc(nsk + 1, sizeof *s->sk_cond);
    s->cond_sel = malloc(DS_COND_SKETCHED * (size_t)DS_BLOCK_SIZE);
    s->cond_idx = malloc(DS_BLOCK_SIZE * sizeof *s->cond_idx);
    s->cond_buf = malloc(DS_COND_CW * (size_t)DS_BLOCK_SIZE * sizeof *s->cond_buf); /* [B][CW] */
    s->sk_coal = calloc(DS_COND_COAL_SKETCHES, sizeof *s->sk_coal);
    s->cond_work = malloc(sizeof *s->cond_work);
    s->n_coal_sk = 0;
    if (!s->cond_view || !s->crs_view || !s->sk_cond || !s->cond_sel || !s->cond_idx || !s->cond_buf ||
        !s->sk_coal || !s->cond_work) {
        ds_cond_free(s);
        return DS_ERR_NOMEM;
    }
    for (size_t k = 0; k < nsk; ++k)
        ds_sketch_init(&s->sk_cond[k]);
    for (size_t k = 0; k < DS_COND_COAL_SKETCHES; ++k)
        ds_sketch_init(&s->sk_coal[k]);
    for (size_t k = 0; k < ds_cond_len(s); ++k)
        ds_moments_init(&s->cond_view[k]);
    s->cond_on = 1;
    s->cond_valid = 0;
    return DS_OK;
}

void ds_cond_free(ds_stats *s)
{
    if (s->sk_cond)
        for (size_t k = 0; k < DS_COND_SKETCHED * s->n_outputs; ++k)
            ds_sketch_clear(&s->sk_cond[k]);
    free(s->sk_cond);
    if (s->sk_coal)
        for (size_t k = 0; k < DS_COND_COAL_SKETCHES; ++k)
            ds_sketch_clear(&s->sk_coal[k]);
    free(s->sk_coal);
    free(s->cond_work);
    s->cond_work = NULL;
    s->sk_coal = NULL;
    s->n_coal_sk = 0;
    free(s->cond_view);
    free(s->crs_view);
    s->crs_view = NULL;
    s->crs_valid = 0;
    free(s->cond_sel);
    free(s->cond_idx);
    free(s->cond_buf);
    s->cond_idx = NULL;
    s->cond_buf = NULL;
    s->sk_cond = NULL;
    s->cond_view = NULL;
    s->cond_sel = NULL;
    s->cond_on = 0;
    s->cond_valid = 0;
}

ds_status ds_cond_dup(const ds_stats *s, const ds_moments *src, ds_moments **dst)
{
    *dst = NULL;
    if (!src)
        return DS_OK;
    const size_t len = ds_cond_len(s);
    *dst = malloc((len + 1) * sizeof **dst);
    if (!*dst)
        return DS_ERR_NOMEM;
    memcpy(*dst, src, len * sizeof **dst);
    return DS_OK;
}

/* Up to CW columns are gathered side by side and summed by
 * ds_block_columns, one SIMD lane a column: each column's sums still run in
 * trial order (the bits of one column alone). */
#define CW DS_COND_CW

/* The trials t < n with sel[t * ss] != 0, in order, into idx; their count. */
static size_t cond_select(const uint8_t *sel, size_t ss, size_t n, uint32_t *idx)
{
    size_t m = 0;
    for (size_t t = 0; t < n; ++t) {
        idx[m] = (uint32_t)t;
        m += sel[t * ss] != 0; /* branch-free: the selection is unpredictable */
    }
    return m;
}

/* Moments of k <= CW columns col[c][idx[j] * vs], j < m, gathered side by
 * side into buf [m][CW], into mo[c]. */
static void cond_columns(const double *const *col, size_t vs, size_t k, const uint32_t *idx,
                         size_t m, double *buf, ds_moments *const *mo)
{
    /* Always CW columns, the unused ones 0 (ds_block_columns has a path
     * for exactly CW: one vector a row). */
    for (size_t j = 0; j < m; ++j) {
        size_t c = 0;
        for (; c < k; ++c)
            buf[j * CW + c] = col[c][(size_t)idx[j] * vs];
        for (; c < CW; ++c)
            buf[j * CW + c] = 0.0;
    }
    ds_moments tmp[CW];
    ds_block_columns(buf, m, CW, CW, tmp); /* blockcols.c: one set of 8 */
    for (size_t c = 0; c < k; ++c)
        *mo[c] = tmp[c];
}

/* Every output given the trials in idx[0..m), into the row of condition c. */
static void cond_outputs(ds_stats *s, const ds_block *blk, size_t c, size_t m)
{
    const double *col[CW];
    ds_moments *mo[CW];
    for (size_t o0 = 0; o0 < s->n_outputs; o0 += CW) {
        size_t k = 0;
        for (size_t o = o0; o < s->n_outputs && o < o0 + CW; ++o, ++k) {
            col[k] = blk->out[o];
            mo[k] = &DS_COND_OUT(s, s->cond_view, c, o);
        }
        cond_columns(col, 1, k, s->cond_idx, m, s->cond_buf, mo);
    }
}

/* The boolean conditions of a block as 0/1 bytes: [c][t]. */
static void cond_bools(const ds_stats *s, const ds_block *blk, uint8_t *sel)
{
    const double *cl = blk->out[DS_OUT_CLOSED], *tm = blk->out[DS_OUT_TARGET_MET];
    for (size_t t = 0; t < blk->n; ++t) {
        sel[t] = cl[t] != 0.0;
        sel[DS_BLOCK_SIZE + t] = tm[t] != 0.0;
    }
    (void)s;
}

void ds_cond_block(ds_stats *s, const ds_block *blk)
{
    const size_t n = blk->n, ni = s->n_investors, no = s->n_outputs;
    s->cond_valid = 0;
    if (!s->cond_on)
        return;
    cond_bools(s, blk, s->cond_sel);
    ds_moments *cv = s->cond_view;
    for (size_t c = 0; c < DS_COND_BOOLS; ++c)
        cond_outputs(s, blk, c, cond_select(s->cond_sel + c * DS_BLOCK_SIZE, 1, n, s->cond_idx));
    for (size_t i = 0; i < ni; ++i) {
        const size_t m = cond_select(blk->joined + i, ni, n, s->cond_idx);
        cond_outputs(s, blk, DS_COND_BOOLS + i, m);
        /* Investor i's column of the [n][ni] arrays. */
        const int stake = blk->stake && no == DS_OUT_COUNT;
        const double *col[3] = {blk->amount + i, blk->paid + i, stake ? blk->stake + i : NULL};
        ds_moments *mo[3] = {&DS_COND_INV(s, cv, i, 0), &DS_COND_INV(s, cv, i, 1),
                             &DS_COND_INV(s, cv, i, 2)};
        cond_columns(col, ni, stake ? 3u : 2u, s->cond_idx, m, s->cond_buf, mo);
        if (!stake)
            ds_moments_init(&DS_COND_INV(s, cv, i, 2));
    }
    /* Coalition extras: the counts and sums of the block are in place. */
    const double *total = blk->out[DS_OUT_TOTAL];
    const uint8_t *cl = s->cond_sel, *tm = s->cond_sel + DS_BLOCK_SIZE;
    for (size_t t = 0; t < n; ++t) {
        ds_coalition *c = ds_stats_coal_find(s, blk->joined_mask[t]);
        if (!c)
            c = &s->coal_other;
        c->closed += cl[t];
        c->target_met += tm[t];
        const double d = total[t] - c->sum_total / (double)c->count;
        c->m2_total += d * d;
    }
    s->cond_valid = 1;
}

void ds_cond_merge(const ds_stats *s, const ds_moments *l, const ds_moments *r, ds_moments *out)
{
    const size_t len = ds_cond_len(s);
    for (size_t k = 0; k < len; ++k) {
        out[k] = l[k];
        ds_moments_merge(&out[k], &r[k]);
    }
}

/* m2 of (nl, sl, ml) (+) (nr, sr, mr): Chan et al. (1979) with the means
 * sum / count, evaluated left to right. */
static double m2_combine(uint64_t nl, double sl, double ml, uint64_t nr, double sr, double mr)
{
    if (nr == 0)
        return ml;
    if (nl == 0)
        return mr;
    const double a = (double)nl, b = (double)nr, n = a + b;
    const double d = sr / b - sl / a;
    return ml + mr + d * d * a * b / n;
}

void ds_cond_coal_combine(ds_coalition *out, const ds_coalition *l, const ds_coalition *r)
{
    ds_coalition c = *l;
    c.count = l->count + r->count;
    c.sum_total = l->sum_total + r->sum_total;
    c.closed = l->closed + r->closed;
    c.target_met = l->target_met + r->target_met;
    c.m2_total = m2_combine(l->count, l->sum_total, l->m2_total, r->count, r->sum_total,
                            r->m2_total);
    *out = c;
}

void ds_cond_other_combine(ds_stats_node *out, const ds_stats_node *l, const ds_stats_node *r)
{
    out->other_closed = l->other_closed + r->other_closed;
    out->other_target_met = l->other_target_met + r->other_target_met;
    out->other_m2 = m2_combine(l->other_count, l->other_sum, l->other_m2, r->other_count,
                               r->other_sum, r->other_m2);
}

const struct ds_cond_sk_work *ds_cond_sketch_plan(ds_stats *s, const ds_block *blk)
{
    if (!s->cond_on)
        return NULL;
    struct ds_cond_sk_work *w = s->cond_work;
    cond_bools(s, blk, s->cond_sel);
    for (size_t c = 0; c < DS_COND_SKETCHED; ++c)
        w->m[c] = cond_select(s->cond_sel + c * DS_BLOCK_SIZE, 1, blk->n, w->idx[c]);
    for (size_t t = 0; t < blk->n; ++t) {
        const ds_sketch *sk = ds_cond_coal_sketch(s, blk->joined_mask[t]);
        w->coal[t] = sk ? (int8_t)(sk - s->sk_coal) : (int8_t)-1;
    }
    return w;
}

ds_status ds_cond_remove_sketches(ds_stats *s, const ds_block *blk)
{
    if (!s->cond_on)
        return DS_OK;
    for (size_t t = 0; t < blk->n; ++t) {
        ds_sketch *sk = ds_cond_coal_sketch(s, blk->joined_mask[t]);
        if (sk)
            DS_TRY(ds_stats_sketch_remove(sk, blk->out[DS_OUT_TOTAL][t]));
    }
    cond_bools(s, blk, s->cond_sel);
    for (size_t c = 0; c < DS_COND_SKETCHED; ++c) {
        const uint8_t *sel = s->cond_sel + c * DS_BLOCK_SIZE;
        for (size_t o = 0; o < s->n_outputs; ++o)
            for (size_t t = 0; t < blk->n; ++t)
                if (sel[t])
                    DS_TRY(ds_stats_sketch_remove(DS_COND_SKETCH(s, c, o), blk->out[o][t]));
    }
    return DS_OK;
}

ds_status ds_cond_merge_sketches(ds_stats *into, const ds_stats *from)
{
    if (!into->cond_on || !from->cond_on)
        return DS_OK;
    if (into->n_coal_sk != from->n_coal_sk ||
        memcmp(into->coal_sk_mask, from->coal_sk_mask, into->n_coal_sk * sizeof(uint64_t)))
        return DS_ERR_INTERNAL; /* not the same scenario */
    for (size_t k = 0; k < DS_COND_SKETCHED * into->n_outputs; ++k)
        DS_TRY(ds_sketch_merge(&into->sk_cond[k], &from->sk_cond[k]));
    for (size_t k = 0; k < into->n_coal_sk; ++k)
        DS_TRY(ds_sketch_merge(&into->sk_coal[k], &from->sk_coal[k]));
    return DS_OK;
}

ds_sketch *ds_cond_coal_sketch(const ds_stats *s, uint64_t mask)
{
    size_t lo = 0, hi = s->n_coal_sk;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (s->coal_sk_mask[mid] < mask)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_coal_sk && s->coal_sk_mask[lo] == mask ? &s->sk_coal[lo] : NULL;
}

/* (count, mask) by count descending, then mask ascending. */
static int cmp_count_mask(const void *pa, const void *pb)
{
    const uint64_t *a = pa, *b = pb;
    if (a[0] != b[0])
        return a[0] > b[0] ? -1 : 1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

ds_status ds_cond_set_coal_masks(ds_stats *s, const uint64_t *masks, size_t n, int chosen)
{
    if (!s->cond_on)
        return DS_ERR_INTERNAL;
    if (chosen) {
        if (n > DS_COND_COAL_SKETCHES)
            return DS_ERR_INTERNAL;
        for (size_t k = 0; k < n; ++k)
            s->coal_sk_mask[k] = masks[k];
        s->n_coal_sk = n;
        return DS_OK;
    }
    uint64_t *v = malloc((n + 1) * sizeof *v), *cm = malloc((2 * n + 2) * sizeof *cm);
    if (!v || !cm) {
        free(v);
        free(cm);
        return DS_ERR_NOMEM;
    }
    if (n)
        memcpy(v, masks, n * sizeof *v);
    qsort(v, n, sizeof *v, ds_stats_cmp_u64);
    size_t nd = 0;
    for (size_t k = 0; k < n; ++k) {
        if (nd > 0 && cm[2 * (nd - 1) + 1] == v[k]) {
            cm[2 * (nd - 1)]++;
            continue;
        }
        cm[2 * nd] = 1;
        cm[2 * nd + 1] = v[k];
        nd++;
    }
    qsort(cm, nd, 2 * sizeof *cm, cmp_count_mask);
    const size_t keep = nd < DS_COND_COAL_SKETCHES ? nd : DS_COND_COAL_SKETCHES;
    for (size_t k = 0; k < keep; ++k)
        s->coal_sk_mask[k] = cm[2 * k + 1];
    qsort(s->coal_sk_mask, keep, sizeof *s->coal_sk_mask, ds_stats_cmp_u64);
    s->n_coal_sk = keep;
    free(v);
    free(cm);
    return DS_OK;
}

ds_sketch ds_cond_joined_sketch(const ds_stats *s, size_t i, int paid)
{
    ds_sketch k = paid ? s->sk_paid[i] : s->sk_amount[i];
    const uint64_t out = s->trials - s->inv_joined[i];
    /* Every non-joiner counted exactly one zero (the kernel sets its amount
     * and payment to 0); a joiner's value below DS_SKETCH_MIN_ABS is a zero
     * of its own and stays. */
    const uint64_t drop = out < k.zero ? out : k.zero;
    k.zero -= drop;
    k.count -= drop < k.count ? drop : k.count;
    return k;
}

uint64_t ds_cond_trials(const ds_stats *s, size_t c)
{
    if (!s->n_outputs)
        return 0;
    const ds_moments *mo = &DS_COND_OUT(s, s->cond_view, c, 0);
    return mo->n + mo->nan + mo->posinf + mo->neginf;
}

void ds_cond_name(const ds_stats *s, size_t c, const char *const *inv_names, char *buf,
                  size_t size)
{
    if (c == 0)
        snprintf(buf, size, "closed");
    else if (c == 1)
        snprintf(buf, size, "target_met");
    else if (c - DS_COND_BOOLS < s->n_investors)
        snprintf(buf, size, "joined.%s", inv_names[c - DS_COND_BOOLS]);
    else if (size)
        buf[0] = '\0';
}
