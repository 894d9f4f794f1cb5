/* sim/io/h5state.c
 * The /state group: the mergeable state of every summary.
 * Licence: see LICENSE at the top of the repository.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

/* ---------------------------------------------------------------- /state */

#define DS_H5_STATE_DESCRIPTION                                                                  \
    "Mergeable state of every summary (stats.h), enough to resume or merge runs bit-"          \
    "identically. Moments: one row per accumulator (labels output/<name>, amount/<investor>, " \
    "paid/<investor>, stake/<investor> with a valuation, price/<month>), fields n (finite "    \
    "values), nan, mean, m2 (sum of squared deviations), min, max. Sketches: one row per "     \
    "sketch (output/<name>, amount/<investor>, paid/<investor>, price/<month>); counts of "    \
    "positive values in log bucket k = pos_lo + j are bucket_counts[pos_offset + j], j < "     \
    "pos_len; negative values likewise with neg_*; zero counts |x| < sketch_min_abs; "         \
    "gamma = (1 + a) / (1 - a), a = sketch_relative_accuracy. join_count: trials each "        \
    "investor joined. Coalitions: join mask, trials, sum of total (block order), most "        \
    "probable first. Checkpoints: as /convergence."

/* Labels of the moment rows (stake only with a valuation) or, with
 * sketches set, of the sketch rows, into an arena. */
static ds_status ds_h5_state_labels(const ds_h5_sum *s, int sketches, const char ***out,
                                    size_t *n_out, char **arena_out, ds_diag *diag)
{
    size_t groups = s->w->valuation && !sketches ? 3 : 2;
    size_t n = s->no + groups * s->ni + s->nh;
    size_t cap = 0, pos = 0, k = 0;
    for (size_t o = 0; o < s->no; o++)
        cap += strlen(s->out_names[o]) + sizeof "output/";
    for (size_t i = 0; i < s->ni; i++)
        cap += groups * (strlen(s->inv_names[i]) + sizeof "amount/");
    cap += s->nh * (sizeof "price/" + 20);
    const char **labels = malloc((n ? n : 1) * sizeof *labels);
    char *arena = malloc(cap + 1);
    if (!labels || !arena) {
        free(labels);
        free(arena);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /state");
    }
#define DS_H5_LABEL(...)                                                        \
    do {                                                                        \
        labels[k++] = arena + pos;                                              \
        pos += (size_t)snprintf(arena + pos, cap + 1 - pos, __VA_ARGS__) + 1;   \
    } while (0)
    for (size_t o = 0; o < s->no; o++)
        DS_H5_LABEL("output/%s", s->out_names[o]);
    for (size_t i = 0; i < s->ni; i++)
        DS_H5_LABEL("amount/%s", s->inv_names[i]);
    for (size_t i = 0; i < s->ni; i++)
        DS_H5_LABEL("paid/%s", s->inv_names[i]);
    if (groups == 3)
        for (size_t i = 0; i < s->ni; i++)
            DS_H5_LABEL("stake/%s", s->inv_names[i]);
    for (size_t m = 0; m < s->nh; m++)
        DS_H5_LABEL("price/%zu", m + 1);
#undef DS_H5_LABEL
    *out = labels;
    *n_out = n;
    *arena_out = arena;
    return DS_OK;
}

/* The non-zero span of one side of a sketch.  The dense arrays' extents
 * depend on the order values arrived in (hence on the thread count); the
 * span of non-zero buckets does not, so /state stays bit-identical. */
typedef struct {
    int32_t lo;
    uint32_t len;
    const uint64_t *counts;
} ds_h5_span;

static ds_h5_span ds_h5_sketch_span(const ds_sketch *sk, int negative)
{
    const uint64_t *c = negative ? sk->neg : sk->pos;
    uint32_t n = negative ? sk->neg_len : sk->pos_len;
    int32_t lo = negative ? sk->neg_lo : sk->pos_lo;
    uint32_t a = 0;
    while (a < n && c[a] == 0)
        ++a;
    while (n > a && c[n - 1] == 0)
        --n;
    ds_h5_span sp = {a < n ? lo + (int32_t)a : 0, n - a, a < n ? c + a : NULL};
    return sp;
}

ds_status ds_h5_write_state(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    ds_status st = DS_OK;
    ds_gw g;
    const ds_stats *stats = s->st;
    const char **mlab = NULL, **slab = NULL;
    char *marena = NULL, *sarena = NULL;
    size_t nm = 0, ns = 0, nb = 0, nc = stats->n_coalitions, nk = stats->n_checkpoints;
    const ds_moments **mo = NULL;
    const ds_sketch **sk = NULL;
    ds_coalition *c = NULL;
    uint64_t *u = NULL, *off = NULL;
    double *b = NULL;
    int32_t *lo = NULL;
    ds_h5_span *span = NULL; /* [2 ns]: positive then negative span of each sketch */
    const char *dm[1] = {"accumulator"};
    const char *ds[1] = {"sketch"};
    const char *db[1] = {"bucket"};
    const char *di[1] = {"investor"};
    const char *dc[1] = {"coalition"};
    const char *dk2[2] = {"checkpoint", "output"};

    if ((st = ds_h5_state_labels(s, 0, &mlab, &nm, &marena, diag)) != DS_OK ||
        (st = ds_h5_state_labels(s, 1, &slab, &ns, &sarena, diag)) != DS_OK)
        goto done;
    mo = malloc((nm ? nm : 1) * sizeof *mo);
    sk = malloc((ns ? ns : 1) * sizeof *sk);
    span = malloc((ns ? ns : 1) * 2 * sizeof *span);
    if (!mo || !sk || !span) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /state");
        goto done;
    }
    {
        size_t k = 0, j = 0;
        for (size_t o = 0; o < s->no; o++) {
            mo[k++] = &stats->out[o];
            sk[j++] = &stats->sk_out[o];
        }
        for (size_t i = 0; i < s->ni; i++) {
            mo[k++] = &stats->inv_amount[i];
            sk[j++] = &stats->sk_amount[i];
        }
        for (size_t i = 0; i < s->ni; i++) {
            mo[k++] = &stats->inv_paid[i];
            sk[j++] = &stats->sk_paid[i];
        }
        if (s->w->valuation)
            for (size_t i = 0; i < s->ni; i++)
                mo[k++] = &stats->inv_stake[i];
        for (size_t m = 0; m < s->nh; m++) {
            mo[k++] = &stats->price[m];
            sk[j++] = &stats->sk_price[m];
        }
    }
    for (size_t j = 0; j < ns; j++) {
        span[2 * j] = ds_h5_sketch_span(sk[j], 0);
        span[2 * j + 1] = ds_h5_sketch_span(sk[j], 1);
        nb += (size_t)span[2 * j].len + (size_t)span[2 * j + 1].len;
    }
    {
        size_t big = nm;
        if (ns > big)
            big = ns;
        if (nb > big)
            big = nb;
        if (nc > big)
            big = nc;
        if (nk * s->no > big)
            big = nk * s->no;
        u = malloc((big ? big : 1) * sizeof *u);
        b = malloc((big ? big : 1) * sizeof *b);
        off = malloc((ns ? ns : 1) * 2 * sizeof *off);
        lo = malloc((ns ? ns : 1) * sizeof *lo);
    }
    if (!u || !b || !off || !lo || (nc > 0 && !(c = ds_stats_sorted_coalitions(stats)))) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /state");
        goto done;
    }

    ds_gw_open(&g, file, "/state", diag);
    ds_gw_attr_str(&g, NULL, "description", DS_H5_STATE_DESCRIPTION);
    ds_gw_attr_f64(&g, NULL, "sketch_relative_accuracy", DS_SKETCH_ALPHA);
    ds_gw_attr_f64(&g, NULL, "sketch_gamma", ns > 0 ? sk[0]->gamma : DS_H5_NAN);
    ds_gw_attr_f64(&g, NULL, "sketch_min_abs", DS_SKETCH_MIN_ABS);
    ds_gw_dim(&g, "accumulator", nm, DS_H5_STR, mlab, "1", "moment accumulator label");
    ds_gw_dim(&g, "sketch", ns, DS_H5_STR, slab, "1", "quantile sketch label");
    ds_gw_dim_index(&g, "bucket", nb, "index into the concatenated sketch buckets");
    ds_gw_dim(&g, "investor", s->ni, DS_H5_STR, s->inv_names, "1", "investor name (file order)");
    ds_gw_dim_index(&g, "coalition", nc, "coalition rank, most probable first");
    for (size_t k = 0; k < nk; k++)
        u[k] = stats->checkpoints[k].trials;
    ds_gw_dim(&g, "checkpoint", nk, DS_H5_U64, u, "1", "trials merged at the checkpoint");
    ds_h5_output_dim(&g, s);

    ds_gw_var(&g, "trials", DS_H5_U64, 0, NULL, &stats->trials, "1", "trials merged");
    ds_gw_var(&g, "blocks", DS_H5_U64, 0, NULL, &stats->blocks, "1", "blocks merged");

    /* Moments. */
    for (size_t k = 0; k < nm; k++)
        u[k] = mo[k]->n;
    ds_gw_var(&g, "moments_n", DS_H5_U64, 1, dm, u, "1", "number of finite values");
    for (size_t k = 0; k < nm; k++)
        u[k] = mo[k]->nan;
    ds_gw_var(&g, "moments_nan", DS_H5_U64, 1, dm, u, "1", "number of NaN values");
    for (size_t k = 0; k < nm; k++)
        b[k] = mo[k]->mean;
    ds_gw_var(&g, "moments_mean", DS_H5_F64, 1, dm, b, "various: the accumulator's",
              "running mean (Welford/Chan)");
    for (size_t k = 0; k < nm; k++)
        b[k] = mo[k]->m2;
    ds_gw_var(&g, "moments_m2", DS_H5_F64, 1, dm, b, "various: the accumulator's, squared",
              "sum of squared deviations from the mean");
    for (size_t k = 0; k < nm; k++)
        b[k] = mo[k]->min;
    ds_gw_var(&g, "moments_min", DS_H5_F64, 1, dm, b, "various: the accumulator's",
              "smallest finite value (as stored)");
    for (size_t k = 0; k < nm; k++)
        b[k] = mo[k]->max;
    ds_gw_var(&g, "moments_max", DS_H5_F64, 1, dm, b, "various: the accumulator's",
              "largest finite value (as stored)");

    /* Sketches: bucket counts concatenated, positive then negative of each. */
    {
        size_t p = 0;
        for (size_t j = 0; j < ns; j++) {
            const ds_h5_span ps = span[2 * j], ns_ = span[2 * j + 1];
            off[2 * j] = (uint64_t)p;
            if (ps.len)
                memcpy(u + p, ps.counts, ps.len * sizeof *u);
            p += ps.len;
            off[2 * j + 1] = (uint64_t)p;
            if (ns_.len)
                memcpy(u + p, ns_.counts, ns_.len * sizeof *u);
            p += ns_.len;
        }
    }
    ds_gw_var(&g, "bucket_counts", DS_H5_U64, 1, db, u, "1",
              "sketch bucket counts, concatenated (see sketch_pos_offset, sketch_neg_offset)");
    for (size_t j = 0; j < ns; j++)
        u[j] = sk[j]->count;
    ds_gw_var(&g, "sketch_count", DS_H5_U64, 1, ds, u, "1", "values added (NaN excluded)");
    for (size_t j = 0; j < ns; j++)
        u[j] = sk[j]->zero;
    ds_gw_var(&g, "sketch_zero", DS_H5_U64, 1, ds, u, "1",
              "values with |x| below sketch_min_abs");
    for (size_t j = 0; j < ns; j++)
        lo[j] = span[2 * j].lo;
    ds_gw_var(&g, "sketch_pos_lo", DS_H5_I32, 1, ds, lo, "1",
              "log-bucket index of the first positive bucket");
    for (size_t j = 0; j < ns; j++)
        u[j] = span[2 * j].len;
    ds_gw_var(&g, "sketch_pos_len", DS_H5_U64, 1, ds, u, "1", "number of positive buckets");
    for (size_t j = 0; j < ns; j++)
        u[j] = off[2 * j];
    ds_gw_var(&g, "sketch_pos_offset", DS_H5_U64, 1, ds, u, "1",
              "offset of the positive buckets in bucket_counts");
    for (size_t j = 0; j < ns; j++)
        lo[j] = span[2 * j + 1].lo;
    ds_gw_var(&g, "sketch_neg_lo", DS_H5_I32, 1, ds, lo, "1",
              "log-bucket index (of |x|) of the first negative bucket");
    for (size_t j = 0; j < ns; j++)
        u[j] = span[2 * j + 1].len;
    ds_gw_var(&g, "sketch_neg_len", DS_H5_U64, 1, ds, u, "1", "number of negative buckets");
    for (size_t j = 0; j < ns; j++)
        u[j] = off[2 * j + 1];
    ds_gw_var(&g, "sketch_neg_offset", DS_H5_U64, 1, ds, u, "1",
              "offset of the negative buckets in bucket_counts");

    ds_gw_var(&g, "join_count", DS_H5_U64, 1, di, stats->inv_joined, "1",
              "trials in which the investor joined");

    for (size_t k = 0; k < nc; k++)
        u[k] = c[k].mask;
    ds_gw_var(&g, "coalition_mask", DS_H5_U64, 1, dc, u, "1", "join mask");
    for (size_t k = 0; k < nc; k++)
        u[k] = c[k].count;
    ds_gw_var(&g, "coalition_count", DS_H5_U64, 1, dc, u, "1", "trials with the join mask");
    for (size_t k = 0; k < nc; k++)
        b[k] = c[k].sum_total;
    ds_gw_var(&g, "coalition_sum_total", DS_H5_F64, 1, dc, b,
              ds_output_get_info(DS_OUT_TOTAL)->units,
              "sum of total over the trials with the mask, in block order");

    for (size_t k = 0; k < nk; k++)
        for (size_t o = 0; o < s->no; o++)
            b[k * s->no + o] = stats->checkpoints[k].mean[o];
    ds_gw_var(&g, "checkpoint_mean", DS_H5_F64, 2, dk2, b, DS_H5_UNITS_MIXED,
              "mean at the checkpoint");
    for (size_t k = 0; k < nk; k++)
        for (size_t o = 0; o < s->no; o++)
            b[k * s->no + o] = stats->checkpoints[k].stderr_[o];
    ds_gw_var(&g, "checkpoint_stderr", DS_H5_F64, 2, dk2, b, DS_H5_UNITS_MIXED,
              "standard error at the checkpoint");
    st = ds_gw_close(&g);
done:
    free(mlab);
    free(slab);
    free(marena);
    free(sarena);
    free(mo);
    free(sk);
    free(c);
    free(u);
    free(b);
    free(off);
    free(lo);
    free(span);
    return st;
}
