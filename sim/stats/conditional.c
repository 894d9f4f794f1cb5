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
    s->sk_cond = calloc(nsk + 1, sizeof *s->sk_cond);
    s->cond_sel = malloc(DS_COND_SKETCHED * (size_t)DS_BLOCK_SIZE);
    if (!s->cond_view || !s->sk_cond || !s->cond_sel) {
        ds_cond_free(s);
        return DS_ERR_NOMEM;
    }
    for (size_t k = 0; k < nsk; ++k)
        ds_sketch_init(&s->sk_cond[k]);
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
    free(s->cond_view);
    free(s->cond_sel);
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

/* Moments of v[t * vs] over the trials t with sel[t * ss] != 0, in trial
 * order: the sum and count of x - K (K the first selected finite value),
 * then the squared deviations from S/n; mean = K + S/n (stats.c's
 * block_column restricted to the selection). */
static void cond_column(const double *v, size_t vs, const uint8_t *sel, size_t ss, size_t n,
                        ds_moments *mo)
{
    double shift = 0.0;
    for (size_t t = 0; t < n; ++t)
        if (sel[t * ss] && isfinite(v[t * vs])) {
            shift = v[t * vs];
            break;
        }
    uint64_t cnt = 0, nan = 0, pinf = 0, ninf = 0;
    double sum = 0.0, lo = (double)INFINITY, hi = -(double)INFINITY;
    for (size_t t = 0; t < n; ++t) {
        if (!sel[t * ss])
            continue;
        const double x = v[t * vs];
        if (isfinite(x)) {
            cnt++;
            sum += x - shift;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        } else if (isnan(x)) {
            nan++;
        } else if (x > 0.0) {
            pinf++;
        } else {
            ninf++;
        }
    }
    mo->n = cnt;
    mo->nan = nan;
    mo->posinf = pinf;
    mo->neginf = ninf;
    if (cnt == 0) {
        mo->mean = mo->m2 = mo->min = mo->max = (double)NAN;
        return;
    }
    const double ms = sum / (double)cnt;
    double m2 = 0.0;
    for (size_t t = 0; t < n; ++t)
        if (sel[t * ss] && isfinite(v[t * vs])) {
            const double d = (v[t * vs] - shift) - ms;
            m2 += d * d;
        }
    mo->mean = shift + ms;
    mo->m2 = m2;
    mo->min = lo;
    mo->max = hi;
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
        for (size_t o = 0; o < no; ++o)
            cond_column(blk->out[o], 1, s->cond_sel + c * DS_BLOCK_SIZE, 1, n,
                        &DS_COND_OUT(s, cv, c, o));
    for (size_t i = 0; i < ni; ++i) {
        const uint8_t *j = blk->joined + i;
        for (size_t o = 0; o < no; ++o)
            cond_column(blk->out[o], 1, j, ni, n, &DS_COND_OUT(s, cv, DS_COND_BOOLS + i, o));
        cond_column(blk->amount + i, ni, j, ni, n, &DS_COND_INV(s, cv, i, 0));
        cond_column(blk->paid + i, ni, j, ni, n, &DS_COND_INV(s, cv, i, 1));
        if (blk->stake && no == DS_OUT_COUNT)
            cond_column(blk->stake + i, ni, j, ni, n, &DS_COND_INV(s, cv, i, 2));
        else
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

ds_status ds_cond_add_sketches(ds_stats *s, const ds_block *blk)
{
    if (!s->cond_on)
        return DS_OK;
    cond_bools(s, blk, s->cond_sel);
    for (size_t c = 0; c < DS_COND_SKETCHED; ++c) {
        const uint8_t *sel = s->cond_sel + c * DS_BLOCK_SIZE;
        for (size_t o = 0; o < s->n_outputs; ++o) {
            ds_sketch *sk = DS_COND_SKETCH(s, c, o);
            const double *v = blk->out[o];
            for (size_t t = 0; t < blk->n; ++t)
                if (sel[t])
                    DS_TRY(ds_sketch_add(sk, v[t]));
        }
    }
    return DS_OK;
}

ds_status ds_cond_remove_sketches(ds_stats *s, const ds_block *blk)
{
    if (!s->cond_on)
        return DS_OK;
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
    for (size_t k = 0; k < DS_COND_SKETCHED * into->n_outputs; ++k)
        DS_TRY(ds_sketch_merge(&into->sk_cond[k], &from->sk_cond[k]));
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
