/* sim/io/h5summary.c
 * The summary groups: /summary, /histograms, /investors, /coalitions,
 * /price_fan, /convergence.
 * Licence: see LICENSE at the top of the repository.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

#include <math.h>

/* ----------------------------------------------------------- summaries */

/* The moments' mean/min/max over every non-NaN value, infinities included
 * (stats.h ds_moments_mean_all); NaN when there is none. */
static double ds_h5_mean(const ds_moments *mo) { return ds_moments_mean_all(mo); }
static double ds_h5_min(const ds_moments *mo) { return ds_moments_min_all(mo); }
static double ds_h5_max(const ds_moments *mo) { return ds_moments_max_all(mo); }

/* q-quantiles into row[nq], over every non-NaN value (ds_stats_quantile:
 * infinities at the ends, the finite ones clamped to the exact range). */
static void ds_h5_quantiles(const ds_sketch *sk, const ds_moments *mo, const double *q, size_t nq,
                            double *row)
{
    for (size_t j = 0; j < nq; j++)
        row[j] = ds_stats_quantile(sk, mo, q[j]);
}


void ds_h5_output_dim(ds_gw *g, const ds_h5_sum *s)
{
    ds_gw_dim(g, "output", s->no, DS_H5_STR, s->out_names, "1", "scalar output (MODEL.md 4)");
}

static void ds_h5_output_meta(ds_gw *g, const ds_h5_sum *s)
{
    const char *d[1] = {"output"};
    ds_gw_var(g, "output_units", DS_H5_STR, 1, d, s->out_units, "1", "units of each output");
    ds_gw_var(g, "output_long_name", DS_H5_STR, 1, d, s->out_long, "1",
              "description of each output");
}

static void ds_h5_quantile_dim(ds_gw *g, const ds_h5_sum *s)
{
    ds_gw_dim(g, "quantile", s->nq, DS_H5_F64, s->sc->quantiles, "1",
              "probability of the quantile (output.quantiles)");
}

static void ds_h5_estimator_attrs(ds_gw *g, const char *var)
{
    ds_gw_attr_str(g, var, "estimator", DS_H5_ESTIMATOR);
    ds_gw_attr_f64(g, var, "relative_accuracy", DS_SKETCH_ALPHA);
}

/* The rule an output's value follows from its threshold (MODEL.md 3.3),
 * into buf; "" for outputs without one.  Readers of /summary and /trials
 * see the number a probability is about, not only the output's name. */
static const char *ds_h5_rule(const ds_scenario *sc, ds_output o, char *buf, size_t size)
{
    buf[0] = '\0';
    if (o == DS_OUT_CLOSED) {
        if (sc->has_minimum_close)
            snprintf(buf, size, "total >= %.17g", sc->minimum_close);
        else
            snprintf(buf, size, "total > 0");
    } else if (o == DS_OUT_TARGET_MET) {
        snprintf(buf, size, "total >= %.17g", sc->target);
    } else if (o == DS_OUT_SHORTFALL) {
        snprintf(buf, size, "max(0, %.17g - total)", sc->target);
    } else if (o == DS_OUT_OVERSUBSCRIBED) {
        if (sc->has_cap)
            snprintf(buf, size, "raw_total > %.17g", sc->cap);
        else
            snprintf(buf, size, "false (no round.cap)");
    }
    return buf;
}

ds_status ds_h5_threshold_attrs(hid_t obj, const char *where, const ds_scenario *sc, ds_output o,
                                ds_diag *diag)
{
    char rule[96];
    ds_h5_rule(sc, o, rule, sizeof rule);
    if (!rule[0])
        return DS_OK;
    DS_TRY(ds_h5_attr_str(obj, where, "rule", rule, diag));
    if (o == DS_OUT_CLOSED && sc->has_minimum_close)
        return ds_h5_attr_f64(obj, where, "minimum_close", sc->minimum_close, diag);
    if (o == DS_OUT_TARGET_MET || o == DS_OUT_SHORTFALL)
        return ds_h5_attr_f64(obj, where, "target", sc->target, diag);
    if (o == DS_OUT_OVERSUBSCRIBED && sc->has_cap)
        return ds_h5_attr_f64(obj, where, "cap", sc->cap, diag);
    return DS_OK;
}

/* The block-spread standard errors (stats.h, "Standard errors") of
 * /summary: written for both sampling methods. */
static void write_block_spread(ds_gw *g, const ds_h5_sum *s, const char *const *d1)
{
    const ds_stats *st = s->st;
    double *b = s->buf;
    uint64_t *u = s->ubuf;
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_stats_stderr_blocks(st, o);
    ds_gw_var(g, "stderr_blocks", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "standard error of the mean from the spread of the full blocks' means: "
              "sd(block means) / sqrt(stderr_block_count); a short last block is not in it");
    for (size_t o = 0; o < s->no; o++)
        u[o] = ds_stats_stderr_block_count(st, o);
    ds_gw_var(g, "stderr_block_count", DS_H5_U64, 1, d1, u, "1",
              "full blocks (with a finite mean) that stderr_blocks rests on");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_stats_variance_reduction(st, o);
    ds_gw_var(g, "variance_reduction", DS_H5_F64, 1, d1, b, "1",
              "variance-reduction factor observed against plain MC: (sd^2 / count) / "
              "stderr_blocks^2 (about 1 under monte_carlo)");
    uint8_t rel[DS_OUT_COUNT];
    for (size_t o = 0; o < s->no; o++)
        rel[o] = (uint8_t)ds_stats_stderr_reliable(st, o);
    ds_gw_var(g, "stderr_reliable", DS_H5_U8, 1, d1, rel, "1",
              "1 when stderr is reliable: at least 2 values (monte_carlo), at least 10 full "
              "blocks (latin_hypercube)");
}

ds_status ds_h5_write_summary(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    char rules[DS_OUT_COUNT][96];
    const char *rule[DS_OUT_COUNT];
    ds_gw g;
    const ds_stats *st = s->st;
    const char *d1[1] = {"output"};
    const char *d2[2] = {"output", "quantile"};
    double *b = s->buf;
    uint64_t *u = s->ubuf;
    ds_gw_open(&g, file, "/summary", diag);
    ds_h5_output_dim(&g, s);
    ds_h5_quantile_dim(&g, s);
    ds_gw_var(&g, "type", DS_H5_STR, 1, d1, s->out_type, "1",
              "kind of output: real, bool (summaries give its probability) or count");
    ds_h5_output_meta(&g, s);
    for (size_t o = 0; o < s->no; o++)
        rule[o] = ds_h5_rule(s->sc, (ds_output)o, rules[o], sizeof rules[o]);
    ds_gw_var(&g, "rule", DS_H5_STR, 1, d1, rule, "1",
              "how the output follows from the round's thresholds (\"\" for none): "
              "closed, target_met, shortfall, oversubscribed");
    /* The thresholds themselves, as numbers (absent when not set). */
    if (s->sc->has_minimum_close)
        ds_gw_attr_f64(&g, NULL, "minimum_close", s->sc->minimum_close);
    ds_gw_attr_f64(&g, NULL, "target", s->sc->target);
    if (s->sc->has_cap)
        ds_gw_attr_f64(&g, NULL, "cap", s->sc->cap);
    for (size_t o = 0; o < s->no; o++)
        u[o] = st->out[o].n;
    ds_gw_var(&g, "count", DS_H5_U64, 1, d1, u, "1", "number of finite values");
    for (size_t o = 0; o < s->no; o++)
        u[o] = st->out[o].nan;
    ds_gw_var(&g, "nan_count", DS_H5_U64, 1, d1, u, "1", "number of NaN (undefined) values");
    for (size_t o = 0; o < s->no; o++)
        u[o] = st->out[o].posinf;
    ds_gw_var(&g, "posinf_count", DS_H5_U64, 1, d1, u, "1", "number of +inf values");
    for (size_t o = 0; o < s->no; o++)
        u[o] = st->out[o].neginf;
    ds_gw_var(&g, "neginf_count", DS_H5_U64, 1, d1, u, "1", "number of -inf values");
    for (size_t o = 0; o < s->no; o++)
        u[o] = st->sk_out[o].pos_collapsed + st->sk_out[o].neg_collapsed;
    ds_gw_var(&g, "quantiles_collapsed", DS_H5_U64, 1, d1, u, "1",
              "values counted in the lowest kept bucket of their sign's sketch (more than "
              "4096 buckets below the largest): quantiles at their ranks are upper bounds "
              "of |x|");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_h5_mean(&st->out[o]);
    ds_gw_var(&g, "mean", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "mean of the finite values (a probability for booleans); +-inf when such "
              "values occurred (NaN when both signs did)");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_moments_sd(&st->out[o]);
    ds_gw_var(&g, "sd", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "sample standard deviation (n - 1) of the finite values");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_stats_stderr(st, o);
    ds_gw_var(&g, "stderr", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "standard error of the mean: sd / sqrt(count) under monte_carlo, "
              "stderr_blocks under latin_hypercube (root attribute sampling)");
    write_block_spread(&g, s, d1);
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_h5_min(&st->out[o]);
    ds_gw_var(&g, "min", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "smallest value (-inf when one occurred), NaN excluded");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_h5_max(&st->out[o]);
    ds_gw_var(&g, "max", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "largest value (+inf when one occurred), NaN excluded");
    for (size_t o = 0; o < s->no; o++)
        ds_h5_quantiles(&st->sk_out[o], &st->out[o], s->sc->quantiles, s->nq, b + o * s->nq);
    ds_gw_var(&g, "quantiles", DS_H5_F64, 2, d2, b, DS_H5_UNITS_MIXED,
              "quantiles of the non-NaN values (infinities at the ends), estimated from a "
              "sketch");
    ds_h5_estimator_attrs(&g, "quantiles");
    return ds_gw_close(&g);
}

/* Equal-width edges from the exact min to max of the finite values (NaN
 * without any).  A near-constant output (a fixed price makes avg_price vary
 * by ulps) would give edges that round to a few distinct values: when
 * max - min <= 1e-9 max(|min|, |max|) the range becomes mean +- alpha
 * max(|min|, |max|) -- alpha (DS_SKETCH_ALPHA) being the resolution of the
 * sketch the counts come from, so every value's estimate lies inside and
 * the edges are distinct and increasing -- and [-0.5, 0.5] for all zeros. */
static void ds_h5_edges(const ds_moments *mo, size_t bins, double *edges)
{
    double lo = mo->min, hi = mo->max;
    if (mo->n == 0) {
        for (size_t k = 0; k <= bins; k++)
            edges[k] = DS_H5_NAN;
        return;
    }
    const double scale = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
    if (scale == 0.0) {
        lo = -0.5;
        hi = 0.5;
    } else if (hi - lo <= 1e-9 * scale) {
        const double w = DS_SKETCH_ALPHA * scale;
        lo = mo->mean - w;
        hi = mo->mean + w;
    }
    for (size_t k = 0; k < bins; k++)
        edges[k] = lo + (hi - lo) * ((double)k / (double)bins);
    edges[bins] = hi;
}

ds_status ds_h5_write_histograms(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    ds_gw g;
    const ds_stats *st = s->st;
    size_t bins = (size_t)s->sc->histogram_bins;
    const char *dc[2] = {"output", "bin"};
    const char *de[2] = {"output", "edge"};
    double *e = s->buf;
    uint64_t *c = s->ubuf;
    ds_gw_open(&g, file, "/histograms", diag);
    ds_h5_output_dim(&g, s);
    ds_gw_dim_index(&g, "bin", bins, "histogram bin index");
    ds_gw_dim_index(&g, "edge", bins + 1, "histogram edge index");
    ds_h5_output_meta(&g, s);
    for (size_t o = 0; o < s->no; o++) {
        ds_h5_edges(&st->out[o], bins, e + o * (bins + 1));
        if (st->out[o].n == 0)
            memset(c + o * bins, 0, bins * sizeof *c);
        else
            ds_sketch_histogram(&st->sk_out[o], e + o * (bins + 1), bins, c + o * bins);
    }
    ds_gw_var(&g, "counts", DS_H5_U64, 2, dc, c, "1",
              "number of finite values in each bin (placed by their sketch bucket)");
    ds_gw_var(&g, "edges", DS_H5_F64, 2, de, e, DS_H5_UNITS_MIXED,
              "bin edges: equal width from the exact min to max");
    /* Bin centres and P(y > x) at the edges, so that a reader plots a
     * histogram or a risk curve without recomputing them (e keeps the edges,
     * v holds one [output, edge] array at a time). */
    {
        double *v = malloc((s->no ? s->no : 1) * (bins + 1) * sizeof *v);
        if (!v) {
            (void)ds_gw_close(&g);
            return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /histograms");
        }
        for (size_t o = 0; o < s->no; o++)
            for (size_t k = 0; k < bins; k++) {
                const double *eo = e + o * (bins + 1);
                v[o * bins + k] = 0.5 * eo[k] + 0.5 * eo[k + 1];
            }
        ds_gw_var(&g, "centre", DS_H5_F64, 2, dc, v, DS_H5_UNITS_MIXED,
                  "bin centres, (edges[k] + edges[k + 1]) / 2");
        for (size_t o = 0; o < s->no; o++) {
            const uint64_t *co = c + o * bins;
            double n = (double)st->out[o].n;
            uint64_t above = 0;
            v[o * (bins + 1) + bins] = st->out[o].n ? 0.0 : DS_H5_NAN;
            for (size_t k = bins; k-- > 0;) {
                above += co[k];
                v[o * (bins + 1) + k] = st->out[o].n ? (double)above / n : DS_H5_NAN;
            }
        }
        ds_gw_var(&g, "exceedance", DS_H5_F64, 2, de, v, "1",
                  "fraction of the finite values above each edge, from the counts (the "
                  "values of the bins right of the edge; 0 at the last edge)");
        free(v);
    }
    return ds_gw_close(&g);
}

ds_status ds_h5_write_investors(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    ds_gw g;
    const ds_stats *st = s->st;
    const char *d1[1] = {"investor"};
    const char *d2[2] = {"investor", "quantile"};
    const char *usd = ds_output_get_info(DS_OUT_TOTAL)->units;
    double n = (double)st->trials;
    double *b = s->buf;
    ds_gw_open(&g, file, "/investors", diag);
    ds_gw_dim(&g, "investor", s->ni, DS_H5_STR, s->inv_names, "1", "investor name (file order)");
    ds_h5_quantile_dim(&g, s);
    for (size_t i = 0; i < s->ni; i++)
        b[i] = st->trials > 0 ? (double)st->inv_joined[i] / n : DS_H5_NAN;
    ds_gw_var(&g, "join_probability", DS_H5_F64, 1, d1, b, "1",
              "fraction of trials in which the investor joined");
    for (size_t i = 0; i < s->ni; i++)
        b[i] = ds_stats_join_stderr(st, i);
    ds_gw_var(&g, "join_stderr", DS_H5_F64, 1, d1, b, "1",
              "standard error of join_probability: sqrt(p (1 - p) / trials), or under "
              "latin_hypercube with conditional summaries the spread of the full blocks' "
              "join fractions");
    for (size_t i = 0; i < s->ni; i++)
        b[i] = ds_h5_mean(&st->inv_amount[i]);
    ds_gw_var(&g, "amount_mean", DS_H5_F64, 1, d1, b, usd, "mean commitment a_i");
    for (size_t i = 0; i < s->ni; i++)
        b[i] = ds_h5_mean(&st->inv_paid[i]);
    ds_gw_var(&g, "paid_mean", DS_H5_F64, 1, d1, b, usd, "mean money paid paid_i");
    for (size_t i = 0; i < s->ni; i++)
        b[i] = s->w->valuation && st->inv_stake ? ds_h5_mean(&st->inv_stake[i]) : DS_H5_NAN;
    ds_gw_var(&g, "stake_mean", DS_H5_F64, 1, d1, b, "1",
              "mean stake a_i / post_money (NaN without a valuation)");
    for (size_t i = 0; i < s->ni; i++)
        ds_h5_quantiles(&st->sk_amount[i], &st->inv_amount[i], s->sc->quantiles, s->nq,
                        b + i * s->nq);
    ds_gw_var(&g, "amount_quantiles", DS_H5_F64, 2, d2, b, usd,
              "quantiles of the commitment a_i, estimated from a sketch");
    ds_h5_estimator_attrs(&g, "amount_quantiles");
    for (size_t i = 0; i < s->ni; i++)
        ds_h5_quantiles(&st->sk_paid[i], &st->inv_paid[i], s->sc->quantiles, s->nq,
                        b + i * s->nq);
    ds_gw_var(&g, "paid_quantiles", DS_H5_F64, 2, d2, b, usd,
              "quantiles of the money paid paid_i, estimated from a sketch");
    ds_h5_estimator_attrs(&g, "paid_quantiles");
    ds_h5_investors_if_joined(&g, s);
    return ds_gw_close(&g);
}

/* "Nvidia+Amazon" (file order) for each coalition, in one arena. */
static ds_status ds_h5_members(const ds_h5_sum *s, const ds_coalition *c, size_t nc,
                               const char ***names_out, char **arena_out, ds_diag *diag)
{
    size_t total = 0, pos = 0;
    const char **names = malloc((nc ? nc : 1) * sizeof *names);
    char *arena = NULL;
    for (size_t k = 0; k < nc; k++)
        for (size_t i = 0; i < s->ni && i < 64; i++)
            if (c[k].mask >> i & 1u)
                total += strlen(s->inv_names[i]) + 1;
    arena = malloc(total + nc + 1);
    if (!names || !arena) {
        free(names);
        free(arena);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /coalitions");
    }
    for (size_t k = 0; k < nc; k++) {
        names[k] = arena + pos;
        int first = 1;
        for (size_t i = 0; i < s->ni && i < 64; i++) {
            if (!(c[k].mask >> i & 1u))
                continue;
            if (!first)
                arena[pos++] = '+';
            size_t len = strlen(s->inv_names[i]);
            memcpy(arena + pos, s->inv_names[i], len);
            pos += len;
            first = 0;
        }
        arena[pos++] = '\0';
    }
    *names_out = names;
    *arena_out = arena;
    return DS_OK;
}

ds_status ds_h5_write_coalitions(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    ds_gw g;
    ds_status st = DS_OK;
    const ds_stats *stats = s->st;
    /* The rows: the tracked masks sorted, then (with pooling) "other". */
    const int pooled = stats->coal_pooled != 0;
    size_t nc = stats->n_coalitions + (size_t)pooled;
    ds_coalition *c = NULL;
    uint8_t *pool = NULL;
    const char **names = NULL, **labels = NULL;
    char *arena = NULL;
    uint64_t *u = NULL;
    double *b = NULL;
    const char *d1[1] = {"coalition"};

    if (!(c = ds_stats_sorted_coalitions(stats)) ||
        !(pool = calloc(nc + 1, sizeof *pool))) {
        free(c);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory sorting coalitions");
    }
    if (pooled) {
        /* sorted_coalitions allocates n_coalitions (>= 1) rows: one more. */
        ds_coalition *c2 = realloc(c, nc * sizeof *c2);
        if (!c2) {
            free(c);
            free(pool);
            return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory sorting coalitions");
        }
        c = c2;
        c[nc - 1] = stats->coal_other;
        c[nc - 1].mask = 0;
        pool[nc - 1] = 1;
    }
    u = malloc((nc ? nc : 1) * sizeof *u);
    b = malloc((nc ? nc : 1) * sizeof *b);
    labels = malloc((nc ? nc : 1) * sizeof *labels);
    if (!u || !b || !labels) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /coalitions");
        goto done;
    }
    if ((st = ds_h5_members(s, c, nc, &names, &arena, diag)) != DS_OK)
        goto done;
    /* The coalition axis is labelled by its members, so that a reader
     * selects "Nvidia+Amazon" (or "nobody") by name; members keeps "" for
     * the empty set.  "nobody" is a valid investor name ([A-Za-z0-9_]+): a
     * scenario with such an investor labels the empty set "-" instead. */
    {
        const char *none = "nobody";
        for (size_t i = 0; i < s->ni; i++)
            if (strcmp(s->inv_names[i], none) == 0)
                none = "-";
        const char *other = "other";
        for (size_t i = 0; i < s->ni; i++)
            if (strcmp(s->inv_names[i], other) == 0)
                other = "(other)";
        for (size_t k = 0; k < nc; k++)
            labels[k] = pool[k] ? other : names[k][0] ? names[k] : none;
        if (pooled)
            names[nc - 1] = "";
    }
    ds_gw_open(&g, file, "/coalitions", diag);
    ds_gw_dim(&g, "coalition", nc, DS_H5_STR, labels, "1",
              "investors who joined, '+'-separated in file order (\"nobody\" for none); "
              "most probable first; with pooling the last row is \"other\"");
    for (size_t k = 0; k < nc; k++)
        u[k] = c[k].mask;
    ds_gw_var(&g, "mask", DS_H5_U64, 1, d1, u, "1",
              "join mask: bit i-1 set when investor i (file order) joined (0 on the "
              "pooled row)");
    ds_gw_var(&g, "pooled", DS_H5_U8, 1, d1, pool, "1",
              "1 on the \"other\" row: the trials whose join mask has no row of its own");
    ds_gw_var(&g, "members", DS_H5_STR, 1, d1, names, "1",
              "investors who joined, '+'-separated in file order (\"\" for none)");
    for (size_t k = 0; k < nc; k++)
        u[k] = c[k].count;
    ds_gw_var(&g, "count", DS_H5_U64, 1, d1, u, "1", "trials with this join mask");
    for (size_t k = 0; k < nc; k++)
        b[k] = (double)c[k].count / (double)stats->trials;
    ds_gw_var(&g, "probability", DS_H5_F64, 1, d1, b, "1",
              "fraction of trials with this join mask");
    for (size_t k = 0; k < nc; k++)
        b[k] = c[k].count ? c[k].sum_total / (double)c[k].count : (double)NAN;
    ds_gw_var(&g, "mean_total", DS_H5_F64, 1, d1, b, ds_output_get_info(DS_OUT_TOTAL)->units,
              "mean total given this join mask");
    ds_h5_coalitions_cond(&g, s, c, nc);
    /* The bounded table (stats.h): which masks have rows. */
    ds_gw_attr_str(&g, NULL, "tracking", stats->coal_pooled ? "block0" : "all");
    st = ds_gw_close(&g);
done:
    free(c);
    free(pool);
    free(names);
    free(labels);
    free(arena);
    free(u);
    free(b);
    return st;
}

ds_status ds_h5_write_price_fan(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    ds_gw g;
    ds_status st;
    const ds_stats *stats = s->st;
    const char *d1[1] = {"month"};
    const char *d2[2] = {"month", "quantile"};
    const char *units = ds_output_get_info(DS_OUT_FINAL_PRICE)->units;
    int32_t *months = malloc((s->nh ? s->nh : 1) * sizeof *months);
    double *b = s->buf;
    if (!months)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /price_fan");
    for (size_t m = 0; m < s->nh; m++)
        months[m] = (int32_t)(m + 1);
    ds_gw_open(&g, file, "/price_fan", diag);
    ds_gw_dim(&g, "month", s->nh, DS_H5_I32, months, "month",
              "month after the round (1..horizon)");
    ds_h5_quantile_dim(&g, s);
    for (size_t m = 0; m < s->nh; m++)
        ds_h5_quantiles(&stats->sk_price[m], &stats->price[m], s->sc->quantiles, s->nq,
                        b + m * s->nq);
    ds_gw_var(&g, "price_quantiles", DS_H5_F64, 2, d2, b, units,
              "quantiles of the compute price p_m, estimated from a sketch");
    ds_h5_estimator_attrs(&g, "price_quantiles");
    for (size_t m = 0; m < s->nh; m++)
        b[m] = ds_h5_mean(&stats->price[m]);
    ds_gw_var(&g, "price_mean", DS_H5_F64, 1, d1, b, units, "mean compute price p_m");
    /* Month 0, the initial price p0, is an input (price.initial): its
     * quantiles and mean are those of the input's distribution, exact, so
     * they are kept beside the month axis (1..H, the prices the trials
     * bought at, as in /trials/price_path) rather than as a row of it. */
    {
        const char *dq[1] = {"quantile"};
        double mean0 = ds_dist_mean(&s->sc->price_initial);
        for (size_t j = 0; j < s->nq; j++)
            b[j] = ds_dist_quantile(&s->sc->price_initial, s->sc->quantiles[j]);
        ds_gw_var(&g, "initial_quantiles", DS_H5_F64, 1, dq, b, units,
                  "quantiles of the initial price p0 (month 0): the inverse CDF of the input "
                  "price.initial, exact");
        ds_gw_var(&g, "initial_mean", DS_H5_F64, 0, NULL, &mean0, units,
                  "mean initial price p0 (month 0): the mean of the input price.initial");
    }
    st = ds_gw_close(&g);
    free(months);
    return st;
}

ds_status ds_h5_write_convergence(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    ds_gw g;
    const ds_stats *st = s->st;
    size_t nk = st->n_checkpoints;
    const char *d2[2] = {"checkpoint", "output"};
    double *b = s->buf;
    uint64_t *u = s->ubuf;
    for (size_t k = 0; k < nk; k++)
        u[k] = st->checkpoints[k].trials;
    ds_gw_open(&g, file, "/convergence", diag);
    ds_gw_dim(&g, "checkpoint", nk, DS_H5_U64, u, "1",
              "trials merged at the checkpoint (after 2^k blocks, and at the last block)");
    ds_h5_output_dim(&g, s);
    ds_h5_output_meta(&g, s);
    for (size_t k = 0; k < nk; k++)
        for (size_t o = 0; o < s->no; o++)
            b[k * s->no + o] = st->checkpoints[k].mean[o];
    ds_gw_var(&g, "mean", DS_H5_F64, 2, d2, b, DS_H5_UNITS_MIXED,
              "mean of each output after the checkpoint's trials");
    for (size_t k = 0; k < nk; k++)
        for (size_t o = 0; o < s->no; o++)
            b[k * s->no + o] = st->checkpoints[k].stderr_[o];
    ds_gw_var(&g, "stderr", DS_H5_F64, 2, d2, b, DS_H5_UNITS_MIXED,
              "standard error of the mean after the checkpoint's trials");
    return ds_gw_close(&g);
}
