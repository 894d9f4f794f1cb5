/* sim/io/h5out.c
 * The HDF5 result file's life cycle: open (the target checked, the private
 * partial created, /config and /effective_config written, the per-trial
 * groups created), finish (the summaries, /state and the attributes of the
 * root and of each group, then close, fsync and rename), checkpoint, abort,
 * and the writer as the driver's sink.
 * Licence: see LICENSE at the top of the repository.
 *
 * The per-trial rows are written by h5trials.c (/trials) and h5inputs.c
 * (/inputs), the summary groups by h5summary.c and its siblings.  What must
 * stay true (sim/io is the only folder that includes HDF5):
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
 *  - at finish nothing but the writer's own per-trial datasets is open
 *    when the file is closed (counted: a leaked object would keep it open),
 *    and the root and every top-level group carry the run's trials,
 *    run_status and scenario;
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

/* ---------------------------------------------------------------- open */

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
