/* sim/io/h5conditional.c
 * Conditional summaries in the file (stats.h "Conditional"): the
 * /conditional group, the investors' "if it joins" variables of
 * /investors and the per-coalition variables of /coalitions.
 * Licence: see LICENSE at the top of the repository.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define COND_NAME_MAX 96

ds_status ds_h5_write_conditional(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    const ds_stats *st = s->st;
    if (!st->cond_on || !st->cond_valid)
        return DS_OK; /* off, or continued from a state without it: no group */
    const size_t C = ds_cond_n_conditions(st), O = s->no, Q = s->nq;
    const char **names = malloc(C * sizeof *names);
    char *arena = malloc(C * COND_NAME_MAX);
    uint64_t *cnt = malloc(C * sizeof *cnt);
    double *p = malloc(C * sizeof *p), *pse = malloc(C * sizeof *pse);
    double *mean = malloc(C * O * sizeof *mean), *sd = malloc(C * O * sizeof *sd);
    double *se = malloc(C * O * sizeof *se), *qv = malloc((C * O * Q + 1) * sizeof *qv);
    uint64_t *nan = malloc(C * O * sizeof *nan);
    ds_status r = DS_OK;
    if (!names || !arena || !cnt || !p || !pse || !mean || !sd || !se || !qv || !nan) {
        r = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /conditional");
        goto done;
    }
    const double n = (double)st->trials;
    for (size_t c = 0; c < C; ++c) {
        ds_cond_name(st, c, s->inv_names, arena + c * COND_NAME_MAX, COND_NAME_MAX);
        names[c] = arena + c * COND_NAME_MAX;
        cnt[c] = ds_cond_trials(st, c);
        p[c] = st->trials ? (double)cnt[c] / n : (double)NAN;
        pse[c] = ds_cond_share_stderr(st, c);
        for (size_t o = 0; o < O; ++o) {
            const ds_moments *mo = &DS_COND_OUT(st, st->cond_view, c, o);
            mean[c * O + o] = ds_moments_mean_all(mo);
            sd[c * O + o] = ds_moments_sd(mo);
            se[c * O + o] = ds_cond_stderr(st, mo);
            nan[c * O + o] = mo->nan;
            for (size_t q = 0; q < Q; ++q)
                qv[(c * O + o) * Q + q] =
                    c < DS_COND_SKETCHED
                        ? ds_stats_quantile(DS_COND_SKETCH(st, c, o), mo, s->sc->quantiles[q])
                        : (double)NAN;
        }
    }
    ds_gw g;
    ds_gw_open(&g, file, "/conditional", diag);
    ds_gw_dim(&g, "condition", C, DS_H5_STR, names, "1",
              "the condition: closed, target_met, joined.<investor>");
    ds_h5_output_dim(&g, s);
    ds_gw_dim(&g, "quantile", Q, DS_H5_F64, s->sc->quantiles, "1",
              "probability of the quantile (output.quantiles)");
    const char *d1[1] = {"condition"}, *d2[2] = {"condition", "output"};
    const char *d3[3] = {"condition", "output", "quantile"};
    ds_gw_var(&g, "count", DS_H5_U64, 1, d1, cnt, "1", "trials where the condition holds");
    ds_gw_var(&g, "probability", DS_H5_F64, 1, d1, p, "1",
              "fraction of trials where the condition holds");
    const int lhs = st->sampling == DS_SAMPLING_LATIN_HYPERCUBE;
    ds_gw_var(&g, "probability_stderr", DS_H5_F64, 1, d1, pse, "1",
              lhs ? "standard error of probability from the spread of the full blocks' "
                    "fractions (latin_hypercube)"
                  : "binomial standard error of probability");
    ds_gw_var(&g, "mean", DS_H5_F64, 2, d2, mean, DS_H5_UNITS_MIXED,
              "mean of the output given the condition (booleans: conditional probability)");
    ds_gw_var(&g, "sd", DS_H5_F64, 2, d2, sd, DS_H5_UNITS_MIXED,
              "sample standard deviation of the output given the condition");
    ds_gw_var(&g, "stderr", DS_H5_F64, 2, d2, se, DS_H5_UNITS_MIXED,
              lhs ? "standard error of mean, the ratio estimator's over the full blocks "
                    "(latin_hypercube; README, Sampling)"
                  : "standard error of mean, sd / sqrt(finite values)");
    ds_gw_var(&g, "nan_count", DS_H5_U64, 2, d2, nan, "1",
              "NaN values of the output given the condition");
    ds_gw_var(&g, "quantiles", DS_H5_F64, 3, d3, qv, DS_H5_UNITS_MIXED,
              "quantiles of the output given the condition, estimated from a sketch "
              "(closed and target_met; NaN given joined.<investor>)");
    ds_gw_attr_str(&g, "quantiles", "estimator", DS_H5_ESTIMATOR);
    ds_gw_attr_f64(&g, "quantiles", "relative_accuracy", DS_SKETCH_ALPHA);
    r = ds_gw_close(&g);
done:
    free(names);
    free(arena);
    free(cnt);
    free(p);
    free(pse);
    free(mean);
    free(sd);
    free(se);
    free(qv);
    free(nan);
    return r;
}

void ds_h5_investors_if_joined(ds_gw *g, const ds_h5_sum *s)
{
    const ds_stats *st = s->st;
    if (!st->cond_on || !st->cond_valid)
        return;
    const char *d1[1] = {"investor"}, *d2[2] = {"investor", "quantile"};
    const char *usd = ds_output_get_info(DS_OUT_TOTAL)->units;
    static const char *const what[3] = {"amount", "paid", "stake"};
    static const char *const desc[3] = {"commitment a_i", "money paid paid_i",
                                        "stake a_i / post_money (NaN without a valuation)"};
    double *b = s->buf;
    char name[64], ln[160];
    for (int q = 0; q < 3; ++q) {
        const char *u = q == 2 ? "1" : usd;
        for (int k = 0; k < 3; ++k) {
            for (size_t i = 0; i < s->ni; i++) {
                const ds_moments *mo = &DS_COND_INV(st, st->cond_view, i, q);
                b[i] = k == 0 ? ds_moments_mean_all(mo)
                       : k == 1 ? ds_moments_sd(mo)
                                : ds_cond_stderr(st, mo);
            }
            static const char *const stat[3] = {"mean", "sd", "stderr"};
            static const char *const sdesc[3] = {"mean", "sample standard deviation",
                                                 "standard error of the mean"};
            snprintf(name, sizeof name, "%s_if_joined_%s", what[q], stat[k]);
            snprintf(ln, sizeof ln, "%s of the %s given the investor joins", sdesc[k],
                     desc[q]);
            ds_gw_var(g, name, DS_H5_F64, 1, d1, b, u, ln);
        }
        if (q == 2)
            break; /* no stake sketch */
        for (size_t i = 0; i < s->ni; i++) {
            const ds_sketch sk = ds_cond_joined_sketch(st, i, q == 1);
            const ds_moments *mo = &DS_COND_INV(st, st->cond_view, i, q);
            for (size_t j = 0; j < s->nq; j++)
                b[i * s->nq + j] = ds_stats_quantile(&sk, mo, s->sc->quantiles[j]);
        }
        snprintf(name, sizeof name, "%s_if_joined_quantiles", what[q]);
        snprintf(ln, sizeof ln,
                 "quantiles of the %s given the investor joins (the unconditional sketch "
                 "without the non-joiners' zeros)",
                 desc[q]);
        ds_gw_var(g, name, DS_H5_F64, 2, d2, b, usd, ln);
        ds_gw_attr_str(g, name, "estimator", DS_H5_ESTIMATOR);
        ds_gw_attr_f64(g, name, "relative_accuracy", DS_SKETCH_ALPHA);
    }
}

ds_status ds_h5_coalitions_cond(ds_gw *g, const ds_h5_sum *s, const ds_coalition *c, size_t nc)
{
    const ds_stats *st = s->st;
    if (!st->cond_on || !st->cond_valid)
        return DS_OK;
    const char *d1[1] = {"coalition"};
    const char *usd = ds_output_get_info(DS_OUT_TOTAL)->units;
    double *b = malloc((nc ? nc : 1) * sizeof *b);
    if (!b)
        return ds_diag_set(g->diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /coalitions");
    for (int which = 0; which < 2; ++which) {
        for (size_t k = 0; k < nc; k++)
            b[k] = c[k].count ? (double)(which ? c[k].target_met : c[k].closed) /
                                    (double)c[k].count
                              : (double)NAN;
        ds_gw_var(g, which ? "p_target_met" : "p_closed", DS_H5_F64, 1, d1, b, "1",
                  which ? "probability that the target is met given the coalition"
                        : "probability that the round closes given the coalition");
        for (size_t k = 0; k < nc; k++)
            b[k] = sqrt(b[k] * (1.0 - b[k]) / (double)c[k].count);
        ds_gw_var(g, which ? "p_target_met_stderr" : "p_closed_stderr", DS_H5_F64, 1, d1, b,
                  "1", "binomial standard error, sqrt(p (1 - p) / count)");
    }
    {
        const char *d2[2] = {"coalition", "quantile"};
        double *qb = malloc((nc * s->nq + 1) * sizeof *qb);
        if (!qb) {
            free(b);
            return ds_diag_set(g->diag, DS_ERR_NOMEM, NULL, 0, 0,
                               "out of memory writing /coalitions");
        }
        ds_gw_dim(g, "quantile", s->nq, DS_H5_F64, s->sc->quantiles, "1",
                  "probability of the quantile (output.quantiles)");
        for (size_t k = 0; k < nc; k++) {
            /* The pooled row has mask 0 but is not the empty coalition. */
            const ds_sketch *sk =
                k + 1 == nc && st->coal_pooled ? NULL : ds_cond_coal_sketch(st, c[k].mask);
            for (size_t j = 0; j < s->nq; j++)
                qb[k * s->nq + j] =
                    sk ? ds_sketch_quantile(sk, s->sc->quantiles[j], (double)NAN, (double)NAN)
                       : (double)NAN;
        }
        ds_gw_var(g, "total_quantiles", DS_H5_F64, 2, d2, qb, usd,
                  "quantiles of total given the coalition, estimated from a sketch (the 16 "
                  "coalitions most frequent in block 0; NaN for the others)");
        ds_gw_attr_str(g, "total_quantiles", "estimator", DS_H5_ESTIMATOR);
        ds_gw_attr_f64(g, "total_quantiles", "relative_accuracy", DS_SKETCH_ALPHA);
        free(qb);
    }
    for (size_t k = 0; k < nc; k++)
        b[k] = c[k].count > 1 ? sqrt(c[k].m2_total / (double)(c[k].count - 1)) : (double)NAN;
    ds_gw_var(g, "total_sd", DS_H5_F64, 1, d1, b, usd,
              "sample standard deviation of total given the coalition");
    for (size_t k = 0; k < nc; k++)
        b[k] = b[k] / sqrt((double)c[k].count);
    ds_gw_var(g, "mean_total_stderr", DS_H5_F64, 1, d1, b, usd,
              "standard error of mean_total, total_sd / sqrt(count)");
    free(b);
    return g->st;
}
