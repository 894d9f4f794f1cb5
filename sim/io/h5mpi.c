/* sim/io/h5mpi.c
 * The result file of an MPI run: rank 0 creates it as in a serial run; then
 * every rank opens it with parallel HDF5 and writes its own blocks'
 * per-trial rows at their final offsets; then rank 0 reopens it alone and
 * finishes it as in a serial run.
 * Licence: see LICENSE at the top of the repository.
 *
 * Why this shape (issue "Cluster scale" §3, the known risks of Open MPI 4.1
 * with HDF5 1.10): every HDF5 call that changes metadata must be collective
 * in parallel HDF5, and collective writes must be called by every rank the
 * same number of times.  Here the only collective calls are the open, one
 * H5Dset_extent a dataset a round (every rank with the same extent) and the
 * close; the rows themselves are independent writes (each rank its own
 * blocks, never the same bytes), into chunks allocated when the extent grows
 * (H5D_ALLOC_TIME_EARLY), so no rank ever waits for another inside a write.
 * Summaries, /state and attributes are written by rank 0 alone, with the
 * file opened serially, after every rank has closed it.  Compression needs
 * collective writes in parallel HDF5 and is refused for MPI runs.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

#ifdef DS_HAVE_MPI
#include <mpi.h>
#endif

/* A per-trial dataset /<gname>/<name>, when there. */
static ds_status ds_h5m_open_var_in(hid_t g, const char *gname, const char *name, hid_t *id,
                                    ds_diag *diag)
{
    *id = H5I_INVALID_HID;
    htri_t e = H5Lexists(g, name, H5P_DEFAULT);
    if (e < 0)
        return ds_h5_fail(diag, "looking for /%s/%s", gname, name);
    if (e == 0)
        return DS_OK;
    if ((*id = H5Dopen2(g, name, H5P_DEFAULT)) < 0)
        return ds_h5_fail(diag, "opening /%s/%s", gname, name);
    return DS_OK;
}

static ds_status ds_h5m_open_var(hid_t g, const char *name, hid_t *id, ds_diag *diag)
{
    return ds_h5m_open_var_in(g, "trials", name, id, diag);
}

/* /inputs' trial scale and values. */
static ds_status ds_h5m_open_inputs(ds_h5out *w, ds_diag *diag)
{
    if (!w->want_inputs)
        return DS_OK;
    hid_t g = H5Gopen2(w->file, "/inputs", H5P_DEFAULT);
    if (g < 0)
        return ds_h5_fail(diag, "opening /inputs");
    ds_status st = ds_h5m_open_var_in(g, "inputs", "trial", &w->in_trial, diag);
    if (st == DS_OK)
        st = ds_h5m_open_var_in(g, "inputs", "value", &w->in_value, diag);
    if (H5Gclose(g) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing /inputs");
    return st;
}

ds_status ds_h5out_open_trial_vars(ds_h5out *w, ds_diag *diag)
{
    if (!w->want)
        return DS_OK;
    if (!w->want_trials)
        return ds_h5m_open_inputs(w, diag);
    hid_t g = H5Gopen2(w->file, "/trials", H5P_DEFAULT);
    if (g < 0)
        return ds_h5_fail(diag, "opening /trials");
    ds_status st = ds_h5m_open_var(g, "trial", &w->trial, diag);
    for (size_t o = 0; st == DS_OK && o < w->n_outputs; o++)
        st = ds_h5m_open_var(g, ds_output_get_info((ds_output)o)->name, &w->out[o], diag);
    if (st == DS_OK)
        st = ds_h5m_open_var(g, "investor_amount", &w->amount, diag);
    if (st == DS_OK)
        st = ds_h5m_open_var(g, "investor_paid", &w->paid, diag);
    if (st == DS_OK)
        st = ds_h5m_open_var(g, "investor_joined", &w->joined, diag);
    if (st == DS_OK)
        st = ds_h5m_open_var(g, "investor_stake", &w->stake, diag);
    if (st == DS_OK)
        st = ds_h5m_open_var(g, "price_path", &w->price, diag);
    if (H5Gclose(g) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing /trials");
    return st == DS_OK ? ds_h5m_open_inputs(w, diag) : st;
}

const char *ds_h5out_partial_path(const ds_h5out *w) { return w->partial; }

ds_status ds_h5out_suspend(ds_h5out *w, ds_diag *diag)
{
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_status st = ds_h5out_close_all(w, diag);
    ds_h5_quiet_end(&q);
    return st;
}

ds_status ds_h5out_reopen(ds_h5out *w, uint64_t rows, ds_diag *diag)
{
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_status st = DS_OK;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_sec2(fapl) < 0 ||
        (w->file = H5Fopen(w->partial, H5F_ACC_RDWR, fapl)) < 0)
        st = ds_h5_fail(diag, "reopening %s", w->partial);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (st == DS_OK)
        st = ds_h5out_open_trial_vars(w, diag);
    if (st == DS_OK)
        w->next = rows;
    ds_h5_quiet_end(&q);
    return st;
}

#ifdef DS_HAVE_MPI
ds_status ds_h5out_attach(const char *partial, const ds_model *m, uint64_t trials,
                          ds_h5out **out, ds_diag *diag)
{
    *out = NULL;
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_status st = DS_OK;
    hid_t fapl = H5I_INVALID_HID;
    ds_h5out *w = calloc(1, sizeof *w);
    if (!w) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    w->sf.lock_fd = -1;
    ds_h5out_set_model(w, m, trials);
    w->shared = 1;
    w->own_partial = strdup(partial);
    w->partial = w->own_partial;
    w->u64 = malloc(DS_BLOCK_SIZE * sizeof *w->u64);
    w->u8 = malloc(DS_BLOCK_SIZE * sizeof *w->u8);
    if (!w->own_partial || !w->u64 || !w->u8) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    if ((st = ds_h5out_inputs_prepare(w, diag)) != DS_OK)
        goto done;
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL) < 0) {
        st = ds_h5_fail(diag, "preparing parallel access to %s", partial);
        goto done;
    }
    if ((w->file = H5Fopen(partial, H5F_ACC_RDWR, fapl)) < 0) {
        st = ds_h5_fail(diag, "opening %s on every rank", partial);
        goto done;
    }
    st = ds_h5out_open_trial_vars(w, diag);
done:
    if (fapl >= 0)
        H5Pclose(fapl);
    if (st != DS_OK && w) {
        (void)ds_h5out_close_all(w, NULL);
        ds_h5out_free(w);
        w = NULL;
    }
    *out = w;
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
    return st;
}
#else
ds_status ds_h5out_attach(const char *partial, const ds_model *m, uint64_t trials,
                          ds_h5out **out, ds_diag *diag)
{
    (void)partial;
    (void)m;
    (void)trials;
    *out = NULL;
    return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                       "h5out: this build has no parallel HDF5 (configure with -DDEALSIM_MPI=ON)");
}
#endif

ds_status ds_h5out_grow(ds_h5out *w, uint64_t rows, ds_diag *diag)
{
    if (!w->want || rows <= w->rows)
        return DS_OK;
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_status st = ds_h5out_set_rows(w, rows, diag);
    if (st == DS_OK)
        w->rows = rows;
    ds_h5_quiet_end(&q);
    return st;
}

ds_status ds_h5out_detach(ds_h5out *w, ds_diag *diag)
{
    if (!w)
        return DS_OK;
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_status st = ds_h5out_close_all(w, diag);
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
    ds_h5out_free(w);
    return st;
}
