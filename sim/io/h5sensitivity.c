/* sim/io/h5sensitivity.c
 * The /sensitivity group: first-order indices, their standard errors, input
 * rank correlations and per-bin output means (probabilities for booleans),
 * and where each bin lies in the input's own units (bin_value).
 * Licence: see LICENSE at the top of the repository.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

#include <math.h>
#include <stdlib.h>

/* The bin b = floor(B u) of a uniform u, as the stats library bins U_k
 * (sensitivity.c: u <= 0 in bin 0, u >= (B - 1) / B in the last). */
static size_t value_bin(double u)
{
    if (!(u > 0.0))
        return 0;
    const double b = u * (double)DS_SENS_BINS;
    return b >= (double)(DS_SENS_BINS - 1) ? DS_SENS_BINS - 1u : (size_t)b;
}

/* The input's value in each bin, v[0..B): for a join or tranche uniform the
 * bin's centre (b + 1/2) / B itself; for a distribution x = F^-1((b + 1/2) / B)
 * (ds_dist_quantile), kept where F(x) falls back into bin b, as it does
 * wherever F is continuous.  A discrete or bernoulli input puts all the
 * trials of value x_j into the bin of F(x_j): that bin's value is the
 * smallest such x_j, and a bin no value falls in gets NaN (bin_count is 0
 * there); so does the bin of an atom inside a mixture. */
static void bin_values(const ds_input *in, double *v)
{
    const size_t B = DS_SENS_BINS;
    const ds_dist *d = in->dist;
    for (size_t b = 0; b < B; ++b) {
        const double centre = ((double)b + 0.5) / (double)B;
        v[b] = centre;
        if (in->kind != DS_INPUT_DIST)
            continue;
        const double x = ds_dist_quantile(d, centre);
        v[b] = value_bin(ds_dist_cdf(d, x)) == b ? x : (double)NAN;
    }
    if (in->kind != DS_INPUT_DIST || (d->kind != DS_DIST_DISCRETE && d->kind != DS_DIST_BERNOULLI))
        return;
    for (size_t b = 0; b < B; ++b)
        v[b] = (double)NAN;
    const size_t n = d->kind == DS_DIST_DISCRETE ? d->n : 2;
    for (size_t j = 0; j < n; ++j) {
        const int bern = d->kind == DS_DIST_BERNOULLI;
        const double x = bern ? (double)j : d->values[j];
        const double w = bern ? (j ? d->p : 1.0 - d->p) : d->weights[j];
        if (!(w > 0.0))
            continue; /* a value of weight 0 is never drawn */
        const size_t b = value_bin(ds_dist_cdf(d, x));
        if (!(v[b] <= x))
            v[b] = x;
    }
}

ds_status ds_h5_write_sensitivity(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    const ds_stats *st = s->st;
    if (!st->sens_valid || st->sens_k == 0)
        return DS_OK; /* no records (a state without them): no group */
    const size_t K = st->sens_k, O = s->no, B = DS_SENS_BINS;
    const char **names = malloc(K * sizeof *names), **kinds = malloc(K * sizeof *kinds);
    const char **units = malloc(K * sizeof *units);
    double *bv = malloc(K * DS_SENS_BINS * sizeof *bv);
    double *S = malloc(K * O * sizeof *S), *se = malloc(K * O * sizeof *se);
    double *rho = malloc(K * O * sizeof *rho), *bm = malloc(K * O * B * sizeof *bm);
    uint64_t *bn = malloc(K * O * B * sizeof *bn);
    /* The boolean outputs (closed, target_met, oversubscribed): their
     * per-bin means are probabilities, given again on their own axis with
     * binomial standard errors (the "probability of success vs input"). */
    size_t bo[DS_OUT_COUNT], nbo = 0;
    const char *bnames[DS_OUT_COUNT];
    for (size_t o = 0; o < O; ++o)
        if (ds_output_get_info((ds_output)o)->type == DS_OUTTYPE_BOOL)
            bnames[nbo] = s->out_names[o], bo[nbo++] = o;
    double *bp = malloc((K * nbo * B + 1) * sizeof *bp), *bse = malloc((K * nbo * B + 1) * sizeof *bse);
    double edges[DS_SENS_BINS + 1], centre[DS_SENS_BINS];
    ds_status r = DS_OK;
    if (!names || !kinds || !units || !bv || !S || !se || !rho || !bm || !bn || !bp || !bse) {
        r = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /sensitivity");
        goto done;
    }
    if (ds_sens_input_names(s->sc, K, names)) {
        r = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                        "h5out: sensitivity inputs do not match the scenario");
        goto done;
    }
    /* The K inputs are the scenario's drawn ones in order (ds_sens_input_names). */
    for (size_t i = 0, k = 0; i < s->sc->n_inputs && k < K; ++i) {
        const ds_input *in = &s->sc->inputs[i];
        if (in->fixed)
            continue;
        kinds[k] = ds_h5_input_kind_name(in->kind);
        units[k] = ds_h5_input_units(in);
        bin_values(in, bv + k * B);
        ++k;
    }
    const double *co = st->sens_view, *bins = st->sens_view + K * O * DS_SENS_CO;
    for (size_t k = 0; k < K; ++k)
        for (size_t o = 0; o < O; ++o) {
            const double *c = co + (k * O + o) * DS_SENS_CO;
            const double *b0 = bins + (k * B * O + o) * 2;
            ds_sens_estimate(c, b0, O, &S[k * O + o], &se[k * O + o], &rho[k * O + o]);
            for (size_t b = 0; b < B; ++b) {
                const double *rb = b0 + b * O * 2;
                bn[(k * O + o) * B + b] = (uint64_t)rb[0];
                bm[(k * O + o) * B + b] = rb[0] > 0.0 ? rb[1] : (double)NAN;
            }
        }
    for (size_t k = 0; k < K; ++k)
        for (size_t q = 0; q < nbo; ++q)
            for (size_t b = 0; b < B; ++b) {
                const size_t src = (k * O + bo[q]) * B + b, dst = (k * nbo + q) * B + b;
                const double p = bm[src], nb = (double)bn[src];
                bp[dst] = p;
                bse[dst] = nb > 0.0 ? sqrt(p * (1.0 - p) / nb) : (double)NAN;
            }
    for (size_t b = 0; b <= B; ++b)
        edges[b] = (double)b / (double)B;
    for (size_t b = 0; b < B; ++b)
        centre[b] = ((double)b + 0.5) / (double)B;

    ds_gw g;
    ds_gw_open(&g, file, "/sensitivity", diag);
    ds_gw_dim(&g, "input", K, DS_H5_STR, names, "1",
              "uncertain input (CONFIG.md input names; fixed inputs are left out)");
    ds_h5_output_dim(&g, s);
    ds_gw_dim(&g, "bin", B, DS_H5_F64, centre, "1",
              "centre of an equiprobable bin of the input's uniform U = F(x)");
    {
        const char *de[1] = {"bin_edge"};
        ds_gw_dim_index(&g, "bin_edge", B + 1, "bin edge index");
        ds_gw_var(&g, "bin_edges", DS_H5_F64, 1, de, edges, "1", "edges of the bins of U");
    }
    const char *d1[1] = {"input"}, *d2[2] = {"input", "output"};
    const char *d3[3] = {"input", "output", "bin"}, *dib[2] = {"input", "bin"};
    ds_gw_var(&g, "input_kind", DS_H5_STR, 1, d1, kinds, "1",
              "what U is: dist (U = F(x) of the value sampled), join_uniform or tranche_uniform "
              "(the uniform compared with the probability: joined / paid when U < p)");
    ds_gw_var(&g, "input_units", DS_H5_STR, 1, d1, units, "1",
              "units of bin_value (as /inputs/input_units)");
    ds_gw_var(&g, "bin_value", DS_H5_F64, 2, dib, bv, "various: per input, see input_units",
              "the input's value at the bin's centre: F^-1((b + 1/2) / B) for a distribution "
              "(discrete: the smallest value in the bin, NaN if none), U for a join or tranche");
    ds_gw_var(&g, "first_order", DS_H5_F64, 2, d2, S, "1",
              "first-order sensitivity index Var(E[y|U_k])/Var(y), binned, bias-corrected "
              "(epsilon^2)");
    ds_gw_var(&g, "first_order_stderr", DS_H5_F64, 2, d2, se, "1",
              "approximate standard error of first_order (normal-theory)");
    ds_gw_var(&g, "rank_correlation", DS_H5_F64, 2, d2, rho, "1",
              "Pearson correlation of the input's rank U_k with the output (tornado)");
    ds_gw_var(&g, "bin_mean", DS_H5_F64, 3, d3, bm, DS_H5_UNITS_MIXED,
              "mean of the output over the trials in the bin (booleans: probability)");
    ds_gw_var(&g, "bin_count", DS_H5_U64, 3, d3, bn, "1",
              "finite values of the output in the bin");
    if (nbo) {
        const char *d3b[3] = {"input", "bool_output", "bin"};
        ds_gw_dim(&g, "bool_output", nbo, DS_H5_STR, bnames, "1",
                  "the boolean outputs (closed, target_met, oversubscribed)");
        ds_gw_var(&g, "bool_probability", DS_H5_F64, 3, d3b, bp, "1",
                  "probability of the boolean output in the bin of the input");
        ds_gw_var(&g, "bool_probability_stderr", DS_H5_F64, 3, d3b, bse, "1",
                  "binomial standard error of bool_probability");
    }
    r = ds_gw_close(&g);
done:
    free(names);
    free(kinds);
    free(units);
    free(bv);
    free(S);
    free(se);
    free(rho);
    free(bm);
    free(bn);
    free(bp);
    free(bse);
    return r;
}
