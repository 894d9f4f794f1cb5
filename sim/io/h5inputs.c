/* sim/io/h5inputs.c
 * The /inputs group (output.per_trial_inputs): every sampled input of every
 * trial, value[trial, input], so that a notebook can regress or condition
 * an output on what was drawn.
 * Licence: see LICENSE at the top of the repository.
 *
 * A column per input that is drawn (fixed inputs are constants and are left
 * out; their names and values are the group's fixed_inputs and fixed_values
 * attributes): for a distribution the value sampled, for join.<I> and
 * tranche.<I>.<k> the uniform compared with p or q (ds_block_input_column,
 * model.h).  The rows are laid out, chunked, extended and written like
 * /trials (h5trials.c): blocks at their final offsets, grown with each block
 * (collectively in MPI runs), so an interrupted run keeps the committed
 * blocks' rows only and a resumed or extended one regenerates the rest.
 * The kernel keeps a block's inputs by column; the rows are transposed
 * through one buffer of at most DS_H5_INPUT_BUF_DOUBLES values (1 MiB),
 * a block at a time, so the memory does not grow with the trials or the
 * block's inputs beyond that.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

#define DS_H5_INPUT_BUF_DOUBLES ((size_t)1 << 17)

/* What a column of /inputs holds, by the input's kind. */
const char *ds_h5_input_kind_name(ds_input_kind k)
{
    switch (k) {
    case DS_INPUT_JOIN: return "join_uniform";
    case DS_INPUT_TRANCHE: return "tranche_uniform";
    case DS_INPUT_DIST: break;
    }
    return "dist";
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Units of input `in` (MODEL.md: money in USD billions, prices in USD per
 * GPU hour, rates per year, months whole). */
const char *ds_h5_input_units(const ds_input *in)
{
    const char *n = in->name;
    if (in->kind != DS_INPUT_DIST)
        return "1";
    if (starts_with(n, "tranche.") && ends_with(n, ".month"))
        return "month";
    if (starts_with(n, "amount.") || !strcmp(n, "round.pre_money"))
        return ds_output_get_info(DS_OUT_TOTAL)->units;
    if (!strcmp(n, "price.initial"))
        return ds_output_get_info(DS_OUT_FINAL_PRICE)->units;
    if (!strcmp(n, "price.drift") || !strcmp(n, "price.mean_reversion") ||
        !strcmp(n, "price.jumps.rate"))
        return "1/year";
    if (!strcmp(n, "price.volatility"))
        return "1/sqrt(year)";
    return "1"; /* round_trip.<I>, compute.share: fractions */
}

ds_status ds_h5out_inputs_prepare(ds_h5out *w, ds_diag *diag)
{
    const ds_scenario *sc = w->sc;
    w->n_in = 0;
    if (!w->want_inputs)
        return DS_OK;
    for (size_t k = 0; k < sc->n_inputs; ++k)
        w->n_in += !sc->inputs[k].fixed;
    if (w->n_in == 0) { /* nothing is drawn: no group (no scenario does this) */
        w->want_inputs = 0;
        w->want = w->want_trials;
        return DS_OK;
    }
    w->in_rows = DS_H5_INPUT_BUF_DOUBLES / w->n_in;
    if (w->in_rows > DS_BLOCK_SIZE)
        w->in_rows = DS_BLOCK_SIZE;
    if (w->in_rows == 0)
        w->in_rows = 1;
    w->in_cols = malloc(w->n_in * sizeof *w->in_cols);
    w->in_buf = malloc(w->in_rows * w->n_in * sizeof *w->in_buf);
    if (!w->in_cols || !w->in_buf)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory preparing /inputs");
    size_t j = 0;
    for (size_t k = 0; k < sc->n_inputs; ++k)
        if (!sc->inputs[k].fixed)
            w->in_cols[j++] = k;
    return DS_OK;
}

ds_status ds_h5out_create_inputs(ds_h5out *w, ds_diag *diag)
{
    const ds_scenario *sc = w->sc;
    const size_t nc = w->n_in, nf = sc->n_inputs - nc;
    const char **names = malloc(nc * sizeof *names), **kinds = malloc(nc * sizeof *kinds);
    const char **units = malloc(nc * sizeof *units);
    const char **fnames = malloc((nf ? nf : 1) * sizeof *fnames);
    double *fvalues = malloc((nf ? nf : 1) * sizeof *fvalues);
    const char *dim[1] = {"input"};
    ds_status st = DS_OK;
    ds_gw g;
    if (!names || !kinds || !units || !fnames || !fvalues) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory creating /inputs");
        goto done;
    }
    for (size_t j = 0; j < nc; ++j) {
        const ds_input *in = &sc->inputs[w->in_cols[j]];
        names[j] = in->name;
        kinds[j] = ds_h5_input_kind_name(in->kind);
        units[j] = ds_h5_input_units(in);
    }
    for (size_t k = 0, f = 0; k < sc->n_inputs; ++k)
        if (sc->inputs[k].fixed) {
            fnames[f] = sc->inputs[k].name;
            /* A fixed input is a distribution of one point: its median. */
            fvalues[f++] = ds_dist_quantile(sc->inputs[k].dist, 0.5);
        }

    ds_gw_open(&g, w->file, "/inputs", diag);
    ds_gw_dim(&g, "input", nc, DS_H5_STR, names, "1",
              "sampled input (CONFIG.md input names, as for common random numbers; fixed "
              "inputs are left out)");
    ds_gw_var(&g, "input_kind", DS_H5_STR, 1, dim, kinds, "1",
              "what value holds: dist (the value sampled), join_uniform or tranche_uniform "
              "(the uniform compared with join_probability or the tranche's probability)");
    ds_gw_var(&g, "input_units", DS_H5_STR, 1, dim, units, "1", "units of the input's values");
    if (g.st == DS_OK)
        g.st = ds_h5out_create_row_var(w, g.group, "inputs", H5I_INVALID_HID, g.str, "trial",
                                       DS_H5_U64, 1, H5I_INVALID_HID, "1",
                                       "trial index (0-based, global)", &w->in_trial, diag);
    if (g.st == DS_OK && H5DSset_scale(w->in_trial, "trial") < 0)
        g.st = ds_h5_fail(diag, "making /inputs/trial a dimension scale");
    if (g.st == DS_OK)
        g.st = ds_h5out_create_row_var(
            w, g.group, "inputs", w->in_trial, g.str, "value", DS_H5_F64, nc, g.dim[0].scale,
            "various: per input, see input_units",
            "the input's value in the trial: the value sampled, or the uniform a join or "
            "tranche condition compared with its probability (joined when U < p)",
            &w->in_value, diag);
    if (g.st == DS_OK)
        g.st = ds_h5_attr_str(w->in_value, "/inputs/value", "coordinates",
                              "input_kind input_units", diag);
    if (g.st == DS_OK && nf > 0) {
        g.st = ds_h5_attr(g.group, "/inputs", "fixed_inputs", DS_H5_STR, nf, fnames, diag);
        if (g.st == DS_OK)
            g.st = ds_h5_attr(g.group, "/inputs", "fixed_values", DS_H5_F64, nf, fvalues, diag);
    }
    st = ds_gw_close(&g);
done:
    free(names);
    free(kinds);
    free(units);
    free(fnames);
    free(fvalues);
    return st;
}

ds_status ds_h5out_write_inputs(ds_h5out *w, const ds_block *blk, ds_diag *diag)
{
    const size_t n = blk->n, nc = w->n_in;
    DS_TRY(ds_h5_write_rows_in(w->in_trial, "inputs", "trial", blk->first, n, 0,
                               H5T_NATIVE_UINT64, w->u64, diag));
    for (size_t r0 = 0; r0 < n; r0 += w->in_rows) {
        const size_t rows = n - r0 < w->in_rows ? n - r0 : w->in_rows;
        for (size_t j = 0; j < nc; ++j) {
            const double *col = ds_block_input_column(w->model, blk, w->in_cols[j]) + r0;
            double *dst = w->in_buf + j;
            for (size_t t = 0; t < rows; ++t)
                dst[t * nc] = col[t];
        }
        DS_TRY(ds_h5_write_rows_in(w->in_value, "inputs", "value", blk->first + r0, rows, nc,
                                   H5T_NATIVE_DOUBLE, w->in_buf, diag));
    }
    return DS_OK;
}
