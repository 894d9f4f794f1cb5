/* sim/io/h5out.c
 * The HDF5 result file of FORMAT.md (file_format_version 1.0).
 * Licence: see LICENSE at the top of the repository.
 *
 * The only file that includes HDF5.  What must stay true:
 *  - every HDF5 call is checked; a failure becomes DS_ERR_HDF5 with a message
 *    naming what was being done ("writing /summary/mean") and HDF5's own
 *    innermost error; HDF5's automatic error printing is switched off for the
 *    duration of each public call and restored afterwards;
 *  - the file is written under a private name "<file>.partial.<pid>.<random>"
 *    created exclusively (H5F_ACC_EXCL: never through a symlink, never over
 *    another file) while "<file>.lock" is held, and renamed only after a
 *    clean H5Fclose and an fsync; the target is checked before anything is
 *    created (safefile.c); any failure removes the partial, the lock file and
 *    the directories the run created;
 *  - per-trial datasets are chunked (about 1 MiB a chunk), extendible along
 *    `trial`, written block by block at their final offsets through
 *    hyperslabs (memory: one block), and shrunk to the trials done when a run
 *    is interrupted;
 *  - every group opens with xarray (engine h5netcdf): each axis of each
 *    dataset has a dimension scale of its own group (a coordinate variable
 *    named like the dimension), every dataset has `units` and `long_name`,
 *    strings are variable-length UTF-8;
 *  - no mutable static state.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

/* ----------------------------------------------------------- the writer */


int ds_h5out_wants_trials(const ds_h5out *w)
{
    return w && w->want;
}

/* Asks HDF5 not to close what is still open at process exit.  After a write
 * fails (a full disk: EFBIG, ENOSPC) H5Fclose fails too and leaves the file
 * half closed; HDF5 1.10's exit handler then crashes closing it again
 * (tests/cli: the file-size-limit case).  The writer closes everything it
 * opens on every path it can, and a failed file is unlinked, so the handler
 * has nothing useful left to do.  Effective only before the library's first
 * use, hence called first by each entry point; later calls are harmless. */
static void ds_h5_no_exit_handler(void) { (void)H5dont_atexit(); }

const char *ds_h5out_library_version(char *buf, size_t size)
{
    ds_h5_no_exit_handler();
    unsigned maj = 0, min = 0, rel = 0;
    if (H5get_libversion(&maj, &min, &rel) < 0)
        snprintf(buf, size, "unknown");
    else
        snprintf(buf, size, "%u.%u.%u", maj, min, rel);
    return buf;
}

/* Closes what is open of the file; the first failure is reported. */
ds_status ds_h5out_close_all(ds_h5out *w, ds_diag *diag)
{
    ds_status st = DS_OK;
    hid_t *ids[] = {&w->trial, &w->amount, &w->paid,     &w->joined,
                    &w->stake, &w->price,  &w->in_trial, &w->in_value};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (*ids[i] >= 0 && H5Dclose(*ids[i]) < 0 && st == DS_OK)
            st = ds_h5_fail(diag, "closing a dataset of /%s", i < 6 ? "trials" : "inputs");
        *ids[i] = H5I_INVALID_HID;
    }
    for (size_t o = 0; o < DS_OUT_COUNT; o++) {
        if (w->out[o] >= 0 && H5Dclose(w->out[o]) < 0 && st == DS_OK)
            st = ds_h5_fail(diag, "closing /trials/%s", ds_output_get_info((ds_output)o)->name);
        w->out[o] = H5I_INVALID_HID;
    }
    if (w->file >= 0 && H5Fclose(w->file) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing %s", w->partial);
    w->file = H5I_INVALID_HID;
    return st;
}

/* Frees w; its safefile must be committed or cancelled already. */
void ds_h5out_free(ds_h5out *w)
{
    if (!w)
        return;
    free(w->u64);
    free(w->effective);
    free(w->own_partial);
    free(w->u8);
    free(w->in_cols);
    free(w->in_buf);
    free(w);
}

void ds_h5out_abort(ds_h5out *w)
{
    ds_h5_quiet q;
    if (!w)
        return;
    ds_h5_quiet_begin(&q);
    (void)ds_h5out_close_all(w, NULL);
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
    ds_safefile_cancel(&w->sf); /* the partial, the lock, created directories */
    ds_h5out_free(w);
}

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

/* Creates /trials with what output.per_trial and output.price_paths ask
 * for: per_trial true writes every scalar output and the per-investor
 * datasets; a list writes the listed scalars only. */
static ds_status ds_h5out_create_trials(ds_h5out *w, ds_diag *diag)
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
        hsize_t n = (hsize_t)w->n_investors;
        hid_t space;
        names = malloc(w->n_investors * sizeof *names);
        if (!names) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < w->n_investors; i++)
            names[i] = sc->investors[i].name;
        if ((space = H5Screate_simple(1, &n, NULL)) < 0) {
            st = ds_h5_fail(diag, "making the dataspace of /trials/investor");
            goto done;
        }
        inv = H5Dcreate2(g, "investor", str, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (H5Sclose(space) < 0 || inv < 0 ||
            H5Dwrite(inv, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) < 0 ||
            H5DSset_scale(inv, "investor") < 0) {
            st = ds_h5_fail(diag, "writing /trials/investor");
            goto done;
        }
        if ((st = ds_h5_annotate(inv, "/trials/investor", "1", "investor name (file order)",
                                 diag)) != DS_OK)
            goto done;
    }
    if (sc->price_paths) {
        hsize_t n = (hsize_t)w->horizon;
        hid_t space;
        months = malloc(w->horizon * sizeof *months);
        if (!months) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
            goto done;
        }
        for (size_t m = 0; m < w->horizon; m++)
            months[m] = (int32_t)(m + 1);
        if ((space = H5Screate_simple(1, &n, NULL)) < 0) {
            st = ds_h5_fail(diag, "making the dataspace of /trials/month");
            goto done;
        }
        month = H5Dcreate2(g, "month", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT);
        if (H5Sclose(space) < 0 || month < 0 ||
            H5Dwrite(month, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, months) < 0 ||
            H5DSset_scale(month, "month") < 0) {
            st = ds_h5_fail(diag, "writing /trials/month");
            goto done;
        }
        if ((st = ds_h5_annotate(month, "/trials/month", "month",
                                 "month after the round (1..horizon)", diag)) != DS_OK)
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

/* A scalar string dataset in the root group. */
static ds_status ds_h5_write_text(hid_t file, const char *name, const char *text,
                                  const char *long_name, const char *sha256, ds_diag *diag)
{
    ds_status st = DS_OK;
    char where[64];
    hid_t str = H5I_INVALID_HID, space = H5I_INVALID_HID, d = H5I_INVALID_HID;
    const char *v = text ? text : "";
    snprintf(where, sizeof where, "/%s", name);
    if ((str = ds_h5_str_type()) < 0 || (space = H5Screate(H5S_SCALAR)) < 0) {
        st = ds_h5_fail(diag, "preparing %s", where);
        goto done;
    }
    d = H5Dcreate2(file, name, str, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) {
        st = ds_h5_fail(diag, "creating %s", where);
        goto done;
    }
    if (H5Dwrite(d, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0) {
        st = ds_h5_fail(diag, "writing %s", where);
        goto done;
    }
    if ((st = ds_h5_annotate(d, where, "1", long_name, diag)) != DS_OK)
        goto done;
    if (sha256 && (st = ds_h5_attr_str(d, where, "sha256", sha256, diag)) != DS_OK)
        goto done;
done:
    if (d >= 0 && H5Dclose(d) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing %s", where);
    if (space >= 0 && H5Sclose(space) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the dataspace of %s", where);
    if (str >= 0 && H5Tclose(str) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the string type of %s", where);
    return st;
}

/* /config (verbatim, with its sha256 and path) and /effective_config. */
static ds_status ds_h5out_write_texts(ds_h5out *w, hid_t file, ds_diag *diag)
{
    ds_status st;
    char sha[DS_SHA256_HEX];
    /* The hash of exactly the text stored (a string ends at its NUL). */
    ds_sha256_hex(w->sc->source ? w->sc->source : "", w->sc->source ? strlen(w->sc->source) : 0,
                  sha);
    if ((st = ds_h5_write_text(file, "config", w->sc->source, "the scenario file verbatim", sha,
                               diag)) != DS_OK)
        return st;
    if (w->sc->path) {
        hid_t d = H5Dopen2(file, "config", H5P_DEFAULT);
        if (d < 0)
            return ds_h5_fail(diag, "opening /config");
        st = ds_h5_attr_str(d, "/config", "path", w->sc->path, diag);
        if (H5Dclose(d) < 0 && st == DS_OK)
            st = ds_h5_fail(diag, "closing /config");
        if (st != DS_OK)
            return st;
    }
    return ds_h5_write_text(file, "effective_config", w->effective,
                            "the scenario as run: YAML with defaults filled and --set "
                            "overrides applied",
                            NULL, diag);
}

static ds_status ds_h5out_open_ex(const char *path, int force, int for_ranks, const ds_model *m,
                                  uint64_t trials, const char *effective_yaml, ds_h5out **out,
                                  ds_diag *diag);

ds_status ds_h5out_open(const char *path, int force, const ds_model *m, uint64_t trials,
                        const char *effective_yaml, ds_h5out **out, ds_diag *diag)
{
    return ds_h5out_open_ex(path, force, 0, m, trials, effective_yaml, out, diag);
}

ds_status ds_h5out_open_for_ranks(const char *path, int force, const ds_model *m, uint64_t trials,
                                  const char *effective_yaml, ds_h5out **out, ds_diag *diag)
{
    return ds_h5out_open_ex(path, force, 1, m, trials, effective_yaml, out, diag);
}

void ds_h5out_set_model(ds_h5out *w, const ds_model *m, uint64_t trials)
{
    w->file = w->trial = w->amount = w->paid = w->joined = w->stake = w->price =
        w->in_trial = w->in_value = H5I_INVALID_HID;
    for (size_t o = 0; o < DS_OUT_COUNT; o++)
        w->out[o] = H5I_INVALID_HID;
    w->model = m;
    w->sc = ds_model_scenario(m);
    w->n_outputs = (size_t)ds_model_n_outputs(m);
    w->n_investors = w->sc->n_investors;
    w->horizon = (size_t)w->sc->horizon;
    w->valuation = w->sc->has_pre_money;
    w->trials = trials;
    w->want_trials = w->sc->per_trial_kind == DS_PER_TRIAL_ALL ||
                     (w->sc->per_trial_kind == DS_PER_TRIAL_LIST && w->sc->n_per_trial > 0) ||
                     w->sc->price_paths;
    w->want_inputs = w->sc->per_trial_inputs;
    w->want = w->want_trials || w->want_inputs;
}

static ds_status ds_h5out_open_ex(const char *path, int force, int for_ranks, const ds_model *m,
                                  uint64_t trials, const char *effective_yaml, ds_h5out **out,
                                  ds_diag *diag)
{
    ds_status st = DS_OK;
    ds_h5_quiet q;
    ds_h5out *w = NULL;
    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID;

    ds_h5_no_exit_handler();
    ds_h5_quiet_begin(&q);
    if (out)
        *out = NULL;
    if (!path || !*path || !m || !out) {
        st = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "h5out: bad arguments to open");
        goto done;
    }
    if (!(w = calloc(1, sizeof *w))) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    w->sf.lock_fd = -1;
    ds_h5out_set_model(w, m, trials);
    w->for_ranks = for_ranks;
    w->u64 = malloc(DS_BLOCK_SIZE * sizeof *w->u64);
    w->u8 = malloc(DS_BLOCK_SIZE * sizeof *w->u8);
    if (!w->u64 || !w->u8) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    if ((st = ds_h5out_inputs_prepare(w, diag)) != DS_OK)
        goto done;
    /* Every refusal (exit 2) before the first trial and before anything is
     * created; then the parents, the lock and the private partial name. */
    if ((st = ds_safefile_begin(&w->sf, path, force, diag)) != DS_OK)
        goto done;
    w->path = w->sf.path;
    w->partial = w->sf.partial;

    if ((fcpl = H5Pcreate(H5P_FILE_CREATE)) < 0 ||
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        st = ds_h5_fail(diag, "preparing to create %s", w->partial);
        goto done;
    }
    /* HDF5's own lock too where it works; ours (safefile) holds regardless.
     * The default (sec2) driver is asked for: its handle is the fd whose
     * inode the rename checks. */
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 || H5Pset_fapl_sec2(fapl) < 0
#if DS_H5_HAVE_FILE_LOCKING
        || H5Pset_file_locking(fapl, 1, 1) < 0
#endif
    ) {
        st = ds_h5_fail(diag, "preparing to create %s", w->partial);
        goto done;
    }
    /* EXCL: O_CREAT|O_EXCL, which never follows a symlink and never opens a
     * file that is already there. */
    w->file = H5Fcreate(w->partial, H5F_ACC_EXCL, fcpl, fapl);
    if (w->file < 0) {
        st = ds_h5_fail(diag, "creating %s", w->partial);
        goto done;
    }
    {
        void *handle = NULL;
        if (H5Fget_vfd_handle(w->file, fapl, &handle) < 0 || !handle) {
            st = ds_h5_fail(diag, "getting the file descriptor of %s", w->partial);
            goto done;
        }
        if ((st = ds_safefile_adopt(&w->sf, *(int *)handle, diag)) != DS_OK)
            goto done;
    }
    if (!(w->effective = strdup(effective_yaml ? effective_yaml : ""))) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    if ((st = ds_h5out_write_texts(w, w->file, diag)) != DS_OK)
        goto done;

    if (w->want_trials && (st = ds_h5out_create_trials(w, diag)) != DS_OK)
        goto done;
    if (w->want_inputs && (st = ds_h5out_create_inputs(w, diag)) != DS_OK)
        goto done;
done:
    if (fcpl >= 0 && H5Pclose(fcpl) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the file creation properties");
    if (fapl >= 0 && H5Pclose(fapl) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the file access properties");
    if (st != DS_OK) {
        if (w) {
            (void)ds_h5out_close_all(w, NULL);
            ds_safefile_cancel(&w->sf);
        }
        ds_h5out_free(w);
        w = NULL;
    }
    if (out)
        *out = w;
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
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

/* -------------------------------------------------------------- finish */

static ds_status ds_h5_write_root_attrs(ds_h5out *w, hid_t f, const ds_run_info *info,
                                       ds_diag *diag)
{
    char title[256], host[256], created[32], finished[32], hv[32];
    int32_t version[2] = {DS_H5_FORMAT_MAJOR, DS_H5_FORMAT_MINOR};
    snprintf(title, sizeof title, "dealsim results: %s", w->sc->name ? w->sc->name : "");
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(created, sizeof created, "%.*s", (int)sizeof info->created_utc - 1,
             info->created_utc);
    snprintf(finished, sizeof finished, "%.*s", (int)sizeof info->finished_utc - 1,
             info->finished_utc);
    DS_TRY(ds_h5_attr_str(f, "/", "Conventions", "CF-1.8", diag));
    DS_TRY(ds_h5_attr_str(f, "/", "title", title, diag));
    if (w->sc->description)
        DS_TRY(ds_h5_attr_str(f, "/", "description", w->sc->description, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "software_version", DS_VERSION, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "git_commit", DS_GIT_COMMIT, diag));
    DS_TRY(ds_h5_attr(f, "/", "file_format_version", DS_H5_I32, 2, version, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "created_utc", created, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "finished_utc", finished, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "run_status", info->interrupted ? "interrupted" : "complete",
                          diag));
    DS_TRY(ds_h5_attr_str(f, "/", "scenario", w->sc->name, diag));
    DS_TRY(ds_h5_attr_u64(f, "/", "seed", info->seed, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "sampling", ds_sampling_name(w->sc->sampling), diag));
    DS_TRY(ds_h5_attr_u64(f, "/", "trials", info->trials_done, diag));
    DS_TRY(ds_h5_attr_u64(f, "/", "trials_requested", info->trials_requested, diag));
    DS_TRY(ds_h5_attr_u64(f, "/", "block_size", DS_BLOCK_SIZE, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "rng", "pcg64dxsm", diag));
    DS_TRY(ds_h5_attr_i32(f, "/", "threads", (int32_t)info->threads, diag));
    DS_TRY(ds_h5_attr_i32(f, "/", "mpi_ranks", (int32_t)info->mpi_ranks, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "hostname", host, diag));
    DS_TRY(ds_h5_attr_f64(f, "/", "wall_seconds", info->wall_seconds, diag));
    if (info->precision[0]) {
        DS_TRY(ds_h5_attr_str(f, "/", "precision", info->precision, diag));
        DS_TRY(ds_h5_attr_str(f, "/", "precision_outcome", info->precision_outcome, diag));
    }
    DS_TRY(ds_h5_attr_str(f, "/", "compiler", DS_COMPILER, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "build_type", DS_BUILD_TYPE, diag));
    return ds_h5_attr_str(f, "/", "hdf5_version", ds_h5out_library_version(hv, sizeof hv), diag);
}

/* Writes the summaries, /state and the root attributes into `file` (the
 * partial at finish, a checkpoint file beside it). */
static ds_status ds_h5out_write_results(ds_h5out *w, hid_t file, int checkpoint,
                                        const ds_stats *st, const ds_run_info *info,
                                        ds_diag *diag)
{
    ds_status s_ = DS_OK;
    ds_h5_sum s;
    size_t big;
    memset(&s, 0, sizeof s);
    if (st->n_outputs != w->n_outputs || st->n_investors != w->n_investors ||
        st->horizon != w->horizon)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "h5out: the summary is not shaped like the model");
    if (info->trials_done > w->trials || st->trials != info->trials_done ||
        (w->want && !checkpoint && w->next != info->trials_done))
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "h5out: %llu trials done, %llu summarized, %llu written, %llu "
                           "expected",
                           (unsigned long long)info->trials_done, (unsigned long long)st->trials,
                           (unsigned long long)w->next, (unsigned long long)w->trials);

    s.w = w;
    s.st = st;
    s.sc = w->sc;
    s.no = w->n_outputs;
    s.ni = w->n_investors;
    s.nh = w->horizon;
    s.nq = w->sc->n_quantiles;
    /* Scratch for the largest [a, b] array of the summary groups. */
    big = s.no * (s.nq + 1 + (size_t)w->sc->histogram_bins);
    if (s.ni * (s.nq + 1) > big)
        big = s.ni * (s.nq + 1);
    if (s.nh * (s.nq + 1) > big)
        big = s.nh * (s.nq + 1);
    if (st->n_checkpoints * (s.no + 1) > big)
        big = st->n_checkpoints * (s.no + 1);
    s.buf = malloc((big ? big : 1) * sizeof *s.buf);
    s.ubuf = malloc((big ? big : 1) * sizeof *s.ubuf);
    s.out_names = malloc(DS_OUT_COUNT * sizeof *s.out_names);
    s.out_units = malloc(DS_OUT_COUNT * sizeof *s.out_units);
    s.out_long = malloc(DS_OUT_COUNT * sizeof *s.out_long);
    s.out_type = malloc(DS_OUT_COUNT * sizeof *s.out_type);
    s.inv_names = malloc((s.ni ? s.ni : 1) * sizeof *s.inv_names);
    if (!s.buf || !s.ubuf || !s.out_names || !s.out_units || !s.out_long || !s.out_type ||
        !s.inv_names) {
        s_ = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing the summaries");
        goto done;
    }
    for (size_t o = 0; o < s.no; o++) {
        const ds_output_info *oi = ds_output_get_info((ds_output)o);
        s.out_names[o] = oi->name;
        s.out_units[o] = oi->units;
        s.out_long[o] = oi->long_name;
        s.out_type[o] = oi->type == DS_OUTTYPE_REAL ? "real"
                        : oi->type == DS_OUTTYPE_BOOL ? "bool"
                                                      : "count";
    }
    for (size_t i = 0; i < s.ni; i++)
        s.inv_names[i] = w->sc->investors[i].name;

    if ((s_ = ds_h5_write_summary(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_histograms(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_investors(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_coalitions(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_price_fan(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_convergence(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_sensitivity(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_conditional(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_state(file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_root_attrs(w, file, info, diag)) != DS_OK)
        goto done;
done:
    free(s.buf);
    free(s.ubuf);
    free(s.out_names);
    free(s.out_units);
    free(s.out_long);
    free(s.out_type);
    free(s.inv_names);
    return s_;
}

/* An attribute written anew: a resumed or extended file may carry the
 * previous finish's value. */
static ds_status ds_h5_attr_replace(hid_t obj, const char *where, const char *name, ds_h5_kind k,
                                    const void *value, ds_diag *diag)
{
    htri_t e = H5Aexists(obj, name);
    if (e < 0 || (e > 0 && H5Adelete(obj, name) < 0))
        return ds_h5_fail(diag, "replacing attribute %s of %s", name, where);
    return ds_h5_attr(obj, where, name, k, 0, value, diag);
}

typedef struct {
    char names[32][64];
    size_t n;
} ds_h5_groups;

static herr_t ds_h5_list_group(hid_t loc, const char *name, const H5L_info_t *li, void *data)
{
    ds_h5_groups *gs = data;
    H5O_info_t oi;
    (void)li;
    if (H5Oget_info_by_name(loc, name, &oi, H5P_DEFAULT) < 0)
        return -1;
    if (oi.type == H5O_TYPE_GROUP && gs->n < 32 && strlen(name) < sizeof gs->names[0])
        snprintf(gs->names[gs->n++], sizeof gs->names[0], "%s", name);
    return 0;
}

/* The run's facts (trials done, run_status, scenario) on every top-level
 * group, as on the root: a reader who opens one group (xarray's group=)
 * sees what it summarizes.  Known only at the end, so written then, after
 * every group exists (/trials was created at open). */
static ds_status ds_h5out_label_groups(ds_h5out *w, hid_t file, const ds_run_info *info,
                                       ds_diag *diag)
{
    ds_h5_groups gs;
    ds_status st = DS_OK;
    const char *status = info->interrupted ? "interrupted" : "complete";
    const char *scen = w->sc->name ? w->sc->name : "";
    uint64_t trials = info->trials_done;
    gs.n = 0;
    if (H5Literate(file, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, ds_h5_list_group, &gs) < 0)
        return ds_h5_fail(diag, "listing the groups of the file");
    for (size_t k = 0; k < gs.n && st == DS_OK; k++) {
        char where[80];
        hid_t g = H5Gopen2(file, gs.names[k], H5P_DEFAULT);
        snprintf(where, sizeof where, "/%s", gs.names[k]);
        if (g < 0)
            return ds_h5_fail(diag, "opening %s", where);
        if ((st = ds_h5_attr_replace(g, where, "trials", DS_H5_U64, &trials, diag)) == DS_OK &&
            (st = ds_h5_attr_replace(g, where, "run_status", DS_H5_STR, &status, diag)) == DS_OK)
            st = ds_h5_attr_replace(g, where, "scenario", DS_H5_STR, &scen, diag);
        if (H5Gclose(g) < 0 && st == DS_OK)
            st = ds_h5_fail(diag, "closing %s", where);
    }
    return st;
}

ds_status ds_h5out_finish(ds_h5out *w, const ds_stats *st, const ds_run_info *info,
                          ds_diag *diag)
{
    ds_status s_ = DS_OK;
    ds_h5_quiet q;
    if (!w || !st || !info) {
        ds_h5out_abort(w);
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "h5out: bad arguments to finish");
    }
    ds_h5_quiet_begin(&q);
    if ((s_ = ds_h5out_write_results(w, w->file, 0, st, info, diag)) != DS_OK ||
        (s_ = ds_h5out_label_groups(w, w->file, info, diag)) != DS_OK)
        goto done;
    /* Every object must be closed by now: a leak would keep the file open. */
    {
        ssize_t open = H5Fget_obj_count(w->file, H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                     H5F_OBJ_DATATYPE | H5F_OBJ_ATTR |
                                                     H5F_OBJ_LOCAL);
        size_t trial_ids = 0;
        hid_t ids[] = {w->trial, w->amount, w->paid,     w->joined,
                       w->stake, w->price,  w->in_trial, w->in_value};
        for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
            trial_ids += ids[k] >= 0;
        for (size_t o = 0; o < DS_OUT_COUNT; o++)
            trial_ids += w->out[o] >= 0;
        if (open < 0) {
            s_ = ds_h5_fail(diag, "counting the open objects of %s", w->partial);
            goto done;
        }
        if ((size_t)open != trial_ids) {
            s_ = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                             "h5out: %zd HDF5 objects open before closing, %zu expected", open,
                             trial_ids);
            goto done;
        }
    }
    if ((s_ = ds_h5out_close_all(w, diag)) != DS_OK)
        goto done;
    /* fsync, rename (without force never over a file that appeared
     * meanwhile), fsync of the directory, the lock released. */
    s_ = ds_safefile_commit(&w->sf, diag);
    w->path = w->partial = ""; /* the safefile's strings are gone */
done:
    if (s_ != DS_OK) {
        (void)ds_h5out_close_all(w, NULL);
        ds_safefile_cancel(&w->sf); /* harmless after a failed commit */
    }
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
    ds_h5out_free(w);
    return s_;
}

/* ---------------------------------------------------------- checkpoint */

ds_status ds_h5out_checkpoint(ds_h5out *w, const ds_stats *st, const ds_run_info *info,
                              ds_diag *diag)
{
    ds_status s_ = DS_OK;
    ds_h5_quiet q;
    hid_t fcpl = H5I_INVALID_HID, f = H5I_INVALID_HID;
    if (!w || !st || !info)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "h5out: bad arguments to checkpoint");
    /* Beside the target, under a name only this run uses (it holds the
     * target's lock; its partial's name is private). */
    size_t n = strlen(w->partial) + sizeof ".ckpt";
    char *tmp = malloc(n);
    if (!tmp)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    snprintf(tmp, n, "%s.ckpt", w->partial);
    ds_h5_quiet_begin(&q);
    (void)unlink(tmp); /* a leftover of this very run's failed checkpoint */
    if ((fcpl = H5Pcreate(H5P_FILE_CREATE)) < 0 ||
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        (f = H5Fcreate(tmp, H5F_ACC_EXCL, fcpl, H5P_DEFAULT)) < 0) {
        s_ = ds_h5_fail(diag, "creating the checkpoint %s", tmp);
        goto done;
    }
    if ((s_ = ds_h5out_write_texts(w, f, diag)) != DS_OK ||
        (s_ = ds_h5out_write_results(w, f, 1, st, info, diag)) != DS_OK ||
        (s_ = ds_h5out_label_groups(w, f, info, diag)) != DS_OK)
        goto done;
    if (H5Fclose(f) < 0) {
        f = H5I_INVALID_HID;
        s_ = ds_h5_fail(diag, "closing the checkpoint %s", tmp);
        goto done;
    }
    f = H5I_INVALID_HID;
    s_ = ds_safefile_publish(&w->sf, tmp, diag);
done:
    if (f >= 0)
        (void)H5Fclose(f);
    if (fcpl >= 0)
        (void)H5Pclose(fcpl);
    if (s_ != DS_OK)
        (void)unlink(tmp);
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
    free(tmp);
    return s_;
}

/* ------------------------------------------------------------ as a sink */

static ds_status ds_h5out_sink_write(void *ctx, const ds_block *blk, ds_diag *diag)
{
    return ds_h5out_write_block(ctx, blk, diag);
}

static ds_status ds_h5out_sink_finish(void *ctx, const ds_stats *st, const ds_run_info *info,
                                      ds_diag *diag)
{
    return ds_h5out_finish(ctx, st, info, diag);
}

static void ds_h5out_sink_abort(void *ctx) { ds_h5out_abort(ctx); }

static ds_status ds_h5out_sink_checkpoint(void *ctx, const ds_stats *st, const ds_run_info *info,
                                          ds_diag *diag)
{
    return ds_h5out_checkpoint(ctx, st, info, diag);
}

void ds_h5out_as_sink(ds_h5out *w, ds_sink *out)
{
    out->ctx = w;
    out->wants_blocks = ds_h5out_wants_trials(w);
    out->write_block = ds_h5out_sink_write;
    out->finish = ds_h5out_sink_finish;
    out->abort = ds_h5out_sink_abort;
    out->checkpoint = ds_h5out_sink_checkpoint;
}
