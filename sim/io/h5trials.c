/* sim/io/h5trials.c
 * The per-trial datasets of the result file: /trials (output.per_trial,
 * output.price_paths) created at open, and every block's rows written as
 * the run commits it; the row layout /inputs (h5inputs.c) shares.
 * Licence: see LICENSE at the top of the repository.
 *
 * What must stay true:
 *  - per-trial datasets are chunked (about DS_H5_CHUNK_BYTES a chunk, a whole
 *    number of blocks when that large), extendible along `trial`, start
 *    empty and grow before each block is written, so that an interrupted
 *    run holds exactly the trials done and no extent is ever sized by the
 *    trials asked for;
 *  - each block is written at its final offset through hyperslabs (memory:
 *    one block, in the writer's conversion buffers), in order unless the
 *    ranks share the file (h5mpi.c), which grows the extent collectively;
 *  - each dataset carries `units` and `long_name`, axis 0 the `trial` scale
 *    and axis 1 its own (investor, month), so xarray opens /trials;
 *  - a boolean or count output that is not an exact integer in range is an
 *    internal error, never a silent conversion.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

/* Rows of a chunk of a per-trial dataset with `cols` values of `elem` bytes
 * a row: about DS_H5_CHUNK_BYTES, a whole number of blocks when that large,
 * and no more than the trials. */
static hsize_t ds_h5_chunk_rows(size_t elem, size_t cols, uint64_t trials)
{
    size_t rows = DS_H5_CHUNK_BYTES / elem / (cols ? cols : 1);
    if (rows >= DS_BLOCK_SIZE)
        rows -= rows % DS_BLOCK_SIZE;
    if (rows == 0)
        rows = 1;
    if ((uint64_t)rows > trials)
        rows = trials > 0 ? (size_t)trials : 1;
    return (hsize_t)rows;
}

/* Creates a per-trial dataset /<gname>/<name> of kind k: [trial] when
 * col_scale < 0, else [trial, cols]; chunked, extendible along trial,
 * optionally compressed; axis 0 gets trial_scale (none when < 0). */
ds_status ds_h5out_create_row_var(ds_h5out *w, hid_t group, const char *gname, hid_t trial_scale,
                                  hid_t str, const char *name, ds_h5_kind k, size_t cols,
                                  hid_t col_scale, const char *units, const char *long_name,
                                  hid_t *out, ds_diag *diag)
{
    ds_status st = DS_OK;
    char where[128];
    int rank = col_scale >= 0 ? 2 : 1;
    size_t elem = k == DS_H5_U8 ? 1 : 8;
    /* The extent starts empty and grows with each block written (so a run
     * asked for 10^13 trials neither allocates nor later shrinks an index of
     * that size: an interruption costs nothing). */
    hsize_t dims[2] = {0, (hsize_t)cols};
    hsize_t maxdims[2] = {H5S_UNLIMITED, (hsize_t)cols};
    hsize_t chunk[2] = {ds_h5_chunk_rows(elem, rank == 2 ? cols : 1, w->trials), (hsize_t)cols};
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID;
    hid_t d = H5I_INVALID_HID;
    size_t chunk_bytes = (size_t)chunk[0] * elem * (rank == 2 ? cols : 1);

    snprintf(where, sizeof where, "/%s/%s", gname, name);
    if ((space = H5Screate_simple(rank, dims, maxdims)) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0 ||
        /* Ranks write chunks independently: they must exist before (they
         * are allocated as the extent grows, collectively). */
        (w->for_ranks && H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0)) {
        st = ds_h5_fail(diag, "preparing the layout of %s", where);
        goto done;
    }
    if (w->sc->compression >= 0) {
        if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0) {
            st = ds_diag_set(diag, DS_ERR_HDF5, NULL, 0, 0,
                             "HDF5 error: the deflate filter is not available for %s", where);
            goto done;
        }
        if (H5Pset_shuffle(dcpl) < 0 ||
            H5Pset_deflate(dcpl, (unsigned)w->sc->compression) < 0) {
            st = ds_h5_fail(diag, "setting compression of %s", where);
            goto done;
        }
    }
    /* A chunk receives several blocks: keep the current chunk in the cache so
     * that each is compressed and written once.  When chunks are not whole
     * blocks a block ends inside one, so keep two; w0 = 1 evicts fully
     * written chunks first. */
    size_t cached = chunk[0] % DS_BLOCK_SIZE == 0 || chunk[0] >= w->trials ? 1 : 2;
    if ((dapl = H5Pcreate(H5P_DATASET_ACCESS)) < 0 ||
        H5Pset_chunk_cache(dapl, 521, cached * chunk_bytes + 4096, 1.0) < 0) {
        st = ds_h5_fail(diag, "setting the chunk cache of %s", where);
        goto done;
    }
    d = H5Dcreate2(group, name, ds_h5_file_type(k, str), space, H5P_DEFAULT, dcpl, dapl);
    if (d < 0) {
        st = ds_h5_fail(diag, "creating %s", where);
        goto done;
    }
    if ((st = ds_h5_annotate(d, where, units, long_name, diag)) != DS_OK)
        goto done;
    if (trial_scale >= 0 && H5DSattach_scale(d, trial_scale, 0) < 0) {
        st = ds_h5_fail(diag, "attaching dimension scale trial to %s", where);
        goto done;
    }
    if (col_scale >= 0 && H5DSattach_scale(d, col_scale, 1) < 0) {
        st = ds_h5_fail(diag, "attaching the second dimension scale to %s", where);
        goto done;
    }
done:
    if (space >= 0 && H5Sclose(space) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the dataspace of %s", where);
    if (dcpl >= 0 && H5Pclose(dcpl) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the creation properties of %s", where);
    if (dapl >= 0 && H5Pclose(dapl) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the access properties of %s", where);
    if (st != DS_OK && d >= 0) {
        H5Dclose(d); /* already failing */
        d = H5I_INVALID_HID;
    }
    *out = d;
    return st;
}

static ds_status ds_h5out_create_trial_var(ds_h5out *w, hid_t group, hid_t str,
                                           const char *name, ds_h5_kind k, size_t cols,
                                           hid_t col_scale, const char *units,
                                           const char *long_name, hid_t *out, ds_diag *diag)
{
    return ds_h5out_create_row_var(w, group, "trials", w->trial, str, name, k, cols, col_scale,
                                   units, long_name, out, diag);
}

/* A coordinate of /trials (investor, month): the 1-D dataset /trials/<name>
 * of n values from data, made a dimension scale and annotated; *out gets it
 * (the caller closes it, after attaching it to the datasets it labels). */
static ds_status ds_h5_trials_coord(hid_t g, const char *name, hid_t file_type, hid_t mem_type,
                                    size_t n, const void *data, const char *units,
                                    const char *long_name, hid_t *out, ds_diag *diag)
{
    char where[64];
    hsize_t len = (hsize_t)n;
    hid_t space;
    snprintf(where, sizeof where, "/trials/%s", name);
    if ((space = H5Screate_simple(1, &len, NULL)) < 0)
        return ds_h5_fail(diag, "making the dataspace of %s", where);
    *out = H5Dcreate2(g, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (H5Sclose(space) < 0 || *out < 0 ||
        H5Dwrite(*out, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0 ||
        H5DSset_scale(*out, name) < 0)
        return ds_h5_fail(diag, "writing %s", where);
    return ds_h5_annotate(*out, where, units, long_name, diag);
}

/* Creates /trials with what output.per_trial and output.price_paths ask
 * for: per_trial true writes every scalar output and the per-investor
 * datasets; a list writes the listed scalars only. */
ds_status ds_h5out_create_trials(ds_h5out *w, ds_diag *diag)
{
    ds_status st = DS_OK;
    const ds_scenario *sc = w->sc;
    int all = sc->per_trial_kind == DS_PER_TRIAL_ALL;
    int per_inv = all && w->n_investors > 0;
    hid_t g = H5I_INVALID_HID, str = H5I_INVALID_HID;
    hid_t inv = H5I_INVALID_HID, month = H5I_INVALID_HID;
    const char **names = NULL;
    int32_t *months = NULL;
    const ds_output_info *tot = ds_output_get_info(DS_OUT_TOTAL);

    if ((g = ds_h5_group_create(w->file, "/trials")) < 0) {
        st = ds_h5_fail(diag, "creating group /trials");
        goto done;
    }
    if ((str = ds_h5_str_type()) < 0) {
        st = ds_h5_fail(diag, "making the string type for /trials");
        goto done;
    }
    /* The trial scale: global trial indices, written with each block. */
    if ((st = ds_h5out_create_trial_var(w, g, str, "trial", DS_H5_U64, 1, H5I_INVALID_HID, "1",
                                        "trial index (0-based, global)", &w->trial, diag)) !=
        DS_OK)
        goto done;
    if (H5DSset_scale(w->trial, "trial") < 0) {
        st = ds_h5_fail(diag, "making /trials/trial a dimension scale");
        goto done;
    }
    if (per_inv) {
        names = malloc(w->n_investors * sizeof *names);
        if (!names) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < w->n_investors; i++)
            names[i] = sc->investors[i].name;
        if ((st = ds_h5_trials_coord(g, "investor", str, str, w->n_investors, names, "1",
                                     "investor name (file order)", &inv, diag)) != DS_OK)
            goto done;
    }
    if (sc->price_paths) {
        months = malloc(w->horizon * sizeof *months);
        if (!months) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
            goto done;
        }
        for (size_t m = 0; m < w->horizon; m++)
            months[m] = (int32_t)(m + 1);
        if ((st = ds_h5_trials_coord(g, "month", H5T_STD_I32LE, H5T_NATIVE_INT32, w->horizon,
                                     months, "month", "month after the round (1..horizon)",
                                     &month, diag)) != DS_OK)
            goto done;
    }
    /* Scalar outputs. */
    for (size_t j = 0; j < (all ? w->n_outputs : sc->n_per_trial); j++) {
        ds_output o = (ds_output)j;
        if (!all && !ds_output_from_name(sc->per_trial[j], &o)) {
            st = ds_diag_set(diag, DS_ERR_SCENARIO, NULL, 0, 0,
                             "output.per_trial: unknown output %s", sc->per_trial[j]);
            goto done;
        }
        if ((size_t)o >= w->n_outputs) {
            st = ds_diag_set(diag, DS_ERR_SCENARIO, NULL, 0, 0,
                             "output.per_trial: %s needs round.pre_money (a valuation)",
                             ds_output_get_info(o)->name);
            goto done;
        }
        if (w->out[o] >= 0)
            continue; /* listed twice */
        const ds_output_info *info = ds_output_get_info(o);
        ds_h5_kind k = info->type == DS_OUTTYPE_REAL   ? DS_H5_F64
                       : info->type == DS_OUTTYPE_BOOL ? DS_H5_U8
                                                       : DS_H5_U64;
        if ((st = ds_h5out_create_trial_var(w, g, str, info->name, k, 1, H5I_INVALID_HID,
                                            info->units, info->long_name, &w->out[o], diag)) !=
            DS_OK)
            goto done;
        {
            char where[128];
            snprintf(where, sizeof where, "/trials/%s", info->name);
            if ((st = ds_h5_threshold_attrs(w->out[o], where, sc, o, diag)) != DS_OK)
                goto done;
        }
    }
    if (per_inv) {
        struct {
            hid_t *id;
            const char *name;
            ds_h5_kind k;
            const char *units, *long_name;
        } v[4] = {
            {&w->amount, "investor_amount", DS_H5_F64, tot->units,
             "commitment a_i of each investor (0 when not joined; after any cap)"},
            {&w->paid, "investor_paid", DS_H5_F64, tot->units,
             "money paid by each investor in tranches whose conditions were met"},
            {&w->joined, "investor_joined", DS_H5_U8, "1", "1 when the investor joined"},
            {&w->stake, "investor_stake", DS_H5_F64, "1",
             "stake a_i / post_money of each investor"},
        };
        for (size_t j = 0; j < (w->valuation ? 4u : 3u); j++) {
            if ((st = ds_h5out_create_trial_var(w, g, str, v[j].name, v[j].k, w->n_investors,
                                                inv, v[j].units, v[j].long_name, v[j].id,
                                                diag)) != DS_OK)
                goto done;
        }
    }
    if (sc->price_paths) {
        if ((st = ds_h5out_create_trial_var(w, g, str, "price_path", DS_H5_F64, w->horizon,
                                            month, ds_output_get_info(DS_OUT_FINAL_PRICE)->units,
                                            "compute price p_m bought in month m of each trial",
                                            &w->price, diag)) != DS_OK)
            goto done;
    }
done:
    if (inv >= 0 && H5Dclose(inv) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing /trials/investor");
    if (month >= 0 && H5Dclose(month) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing /trials/month");
    if (str >= 0 && H5Tclose(str) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the string type of /trials");
    if (g >= 0 && H5Gclose(g) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing group /trials");
    free(names);
    free(months);
    return st;
}

/* Writes rows [first, first + n) of the per-trial dataset /<gname>/<name> from buf. */
ds_status ds_h5_write_rows_in(hid_t d, const char *gname, const char *name, uint64_t first,
                              size_t n, size_t cols, hid_t mem_type, const void *buf,
                              ds_diag *diag)
{
    ds_status st = DS_OK;
    int rank = cols > 0 ? 2 : 1;
    hsize_t start[2] = {(hsize_t)first, 0};
    hsize_t count[2] = {(hsize_t)n, (hsize_t)cols};
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    if ((fspace = H5Dget_space(d)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (mspace = H5Screate_simple(rank, count, NULL)) < 0) {
        st = ds_h5_fail(diag, "selecting trials %llu..%llu of /%s/%s",
                        (unsigned long long)first, (unsigned long long)(first + n - 1), gname,
                        name);
        goto done;
    }
    if (H5Dwrite(d, mem_type, mspace, fspace, H5P_DEFAULT, buf) < 0) {
        st = ds_h5_fail(diag, "writing trials %llu..%llu of /%s/%s",
                        (unsigned long long)first, (unsigned long long)(first + n - 1), gname,
                        name);
        goto done;
    }
done:
    if (mspace >= 0 && H5Sclose(mspace) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing a dataspace of /%s/%s", gname, name);
    if (fspace >= 0 && H5Sclose(fspace) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing a dataspace of /%s/%s", gname, name);
    return st;
}

static ds_status ds_h5_write_rows(hid_t d, const char *name, uint64_t first, size_t n,
                                  size_t cols, hid_t mem_type, const void *buf, ds_diag *diag)
{
    return ds_h5_write_rows_in(d, "trials", name, first, n, cols, mem_type, buf, diag);
}

/* Sets the extent of every /trials dataset to `done` trials (grown before
 * each block is written). */
ds_status ds_h5out_set_rows(ds_h5out *w, uint64_t done, ds_diag *diag)
{
    struct {
        hid_t id;
        size_t cols; /* 0: 1-D */
    } v[DS_OUT_COUNT + 8];
    size_t n = 0;
    v[n].id = w->trial;
    v[n++].cols = 0;
    for (size_t o = 0; o < DS_OUT_COUNT; o++) {
        v[n].id = w->out[o];
        v[n++].cols = 0;
    }
    hid_t per_inv[4] = {w->amount, w->paid, w->joined, w->stake};
    for (size_t k = 0; k < 4; k++) {
        v[n].id = per_inv[k];
        v[n++].cols = w->n_investors;
    }
    v[n].id = w->price;
    v[n++].cols = w->horizon;
    v[n].id = w->in_trial;
    v[n++].cols = 0;
    v[n].id = w->in_value;
    v[n++].cols = w->n_in;
    for (size_t k = 0; k < n; k++) {
        hsize_t dims[2] = {(hsize_t)done, (hsize_t)v[k].cols};
        if (v[k].id >= 0 && H5Dset_extent(v[k].id, dims) < 0)
            return ds_h5_fail(diag, "extending /%s to %llu trials", k < n - 2 ? "trials" : "inputs",
                              (unsigned long long)done);
    }
    return DS_OK;
}

static ds_status ds_h5out_write_block_inner(ds_h5out *w, const ds_block *blk, ds_diag *diag)
{
    size_t n = blk->n;
    uint64_t first = blk->first;
    if (!w->shared)
        DS_TRY(ds_h5out_set_rows(w, first + n, diag));
    for (size_t t = 0; t < n; t++)
        w->u64[t] = first + t;
    if (w->trial >= 0)
        DS_TRY(ds_h5_write_rows(w->trial, "trial", first, n, 0, H5T_NATIVE_UINT64, w->u64, diag));
    if (w->in_value >= 0)
        DS_TRY(ds_h5out_write_inputs(w, blk, diag)); /* after w->u64 holds the trial indices */
    for (size_t j = 0; j < w->n_outputs; j++) {
        if (w->out[j] < 0)
            continue;
        const ds_output_info *info = ds_output_get_info((ds_output)j);
        const double *x = blk->out[j];
        if (!x && !(j == DS_OUT_JOINED_MASK && blk->joined_mask))
            return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                               "h5out: block %llu has no values of %s",
                               (unsigned long long)blk->block, info->name);
        if (info->type == DS_OUTTYPE_REAL) {
            DS_TRY(ds_h5_write_rows(w->out[j], info->name, first, n, 0, H5T_NATIVE_DOUBLE, x,
                                    diag));
            continue;
        }
        if (j == DS_OUT_JOINED_MASK && blk->joined_mask) {
            DS_TRY(ds_h5_write_rows(w->out[j], info->name, first, n, 0, H5T_NATIVE_UINT64,
                                    blk->joined_mask, diag));
            continue;
        }
        /* Booleans and counts arrive as doubles holding exact integers. */
        for (size_t t = 0; t < n; t++) {
            double v = x[t];
            if (!(v >= 0.0 && v < 18446744073709551616.0 && v == floor(v)) ||
                (info->type == DS_OUTTYPE_BOOL && v > 1.0))
                return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                                   "h5out: trial %llu: %s = %g is not a%s",
                                   (unsigned long long)(first + t), info->name, v,
                                   info->type == DS_OUTTYPE_BOOL ? " boolean" : " count");
            if (info->type == DS_OUTTYPE_BOOL)
                w->u8[t] = (uint8_t)v;
            else
                w->u64[t] = (uint64_t)v;
        }
        if (info->type == DS_OUTTYPE_BOOL)
            DS_TRY(ds_h5_write_rows(w->out[j], info->name, first, n, 0, H5T_NATIVE_UINT8, w->u8,
                                    diag));
        else
            DS_TRY(ds_h5_write_rows(w->out[j], info->name, first, n, 0, H5T_NATIVE_UINT64,
                                    w->u64, diag));
    }
    size_t ni = w->n_investors;
    if (w->amount >= 0)
        DS_TRY(ds_h5_write_rows(w->amount, "investor_amount", first, n, ni, H5T_NATIVE_DOUBLE,
                                blk->amount, diag));
    if (w->paid >= 0)
        DS_TRY(ds_h5_write_rows(w->paid, "investor_paid", first, n, ni, H5T_NATIVE_DOUBLE,
                                blk->paid, diag));
    if (w->joined >= 0)
        DS_TRY(ds_h5_write_rows(w->joined, "investor_joined", first, n, ni, H5T_NATIVE_UINT8,
                                blk->joined, diag));
    if (w->stake >= 0) {
        if (!blk->stake)
            return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                               "h5out: block %llu has no stakes", (unsigned long long)blk->block);
        DS_TRY(ds_h5_write_rows(w->stake, "investor_stake", first, n, ni, H5T_NATIVE_DOUBLE,
                                blk->stake, diag));
    }
    if (w->price >= 0)
        DS_TRY(ds_h5_write_rows(w->price, "price_path", first, n, w->horizon, H5T_NATIVE_DOUBLE,
                                blk->price, diag));
    return DS_OK;
}

ds_status ds_h5out_write_block(ds_h5out *w, const ds_block *blk, ds_diag *diag)
{
    ds_status st;
    ds_h5_quiet q;
    if (!w || !blk)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "h5out: no writer or block");
    if (!w->want)
        return DS_OK;
    if ((w->shared ? blk->first + blk->n > w->rows : blk->first != w->next) || blk->n == 0 ||
        blk->n > DS_BLOCK_SIZE || blk->n_investors != w->n_investors ||
        blk->horizon != w->horizon || blk->first + blk->n > w->trials)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "h5out: block %llu (trials %llu..+%zu) out of order or out of range "
                           "(expected trial %llu of %llu)",
                           (unsigned long long)blk->block, (unsigned long long)blk->first, blk->n,
                           (unsigned long long)w->next, (unsigned long long)w->trials);
    ds_h5_quiet_begin(&q);
    st = ds_h5out_write_block_inner(w, blk, diag);
    if (st == DS_OK)
        w->next += blk->n;
    ds_h5_quiet_end(&q);
    return st;
}
