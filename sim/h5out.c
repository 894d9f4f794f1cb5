/* sim/h5out.c
 * The HDF5 result file of FORMAT.md (file_format_version 1.0).
 * Licence: see LICENSE at the top of the repository.
 *
 * The only file that includes HDF5.  What must stay true:
 *  - every HDF5 call is checked; a failure becomes DS_ERR_HDF5 with a message
 *    naming what was being done ("writing /summary/mean") and HDF5's own
 *    innermost error; HDF5's automatic error printing is switched off for the
 *    duration of each public call and restored afterwards;
 *  - the file is written as "<file>.partial" and renamed only after a clean
 *    H5Fclose; an existing <file> is refused without force (checked at open
 *    and again just before the rename); any failure removes the partial;
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

#include "dealsim/h5out.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "dealsim/config.h"
#include "dealsim/sha256.h"

#ifndef DS_VERSION
#define DS_VERSION "unknown"
#endif
#ifndef DS_GIT_COMMIT
#define DS_GIT_COMMIT "unknown"
#endif
#ifndef DS_COMPILER
#define DS_COMPILER "unknown"
#endif
#ifndef DS_BUILD_TYPE
#define DS_BUILD_TYPE "unknown"
#endif

/* file_format_version: major (incompatible layout change), minor (additions). */
#define DS_H5_FORMAT_MAJOR 1
#define DS_H5_FORMAT_MINOR 0

/* H5Pset_file_locking: HDF5 1.10.7+, 1.12.1+. */
#if H5_VERS_MAJOR > 1 || H5_VERS_MINOR >= 13 || (H5_VERS_MINOR == 12 && H5_VERS_RELEASE >= 1) || \
    (H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7)
#define DS_H5_HAVE_FILE_LOCKING 1
#else
#define DS_H5_HAVE_FILE_LOCKING 0
#endif

/* Target bytes of one chunk of a per-trial dataset (FORMAT.md: about 1 MiB). */
#define DS_H5_CHUNK_BYTES ((size_t)1 << 20)
#define DS_H5_MAX_DIMS 12 /* dimensions of one group */
#define DS_H5_NAN ((double)NAN)

#define DS_H5_ESTIMATOR "DDSketch log-bucket sketch, rank floor(q*(n-1))"
#define DS_H5_UNITS_MIXED "various: per output, see output_units"

/* ------------------------------------------------------------------ errors */

/* Saved automatic error printing, restored at the end of each public call. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} ds_h5_quiet;

static void ds_h5_quiet_begin(ds_h5_quiet *q)
{
    /* These only swap a function pointer of the default error stack; their
     * failure would only mean HDF5 prints its own stack too. */
    if (H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) < 0) {
        q->func = NULL;
        q->data = NULL;
    }
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void ds_h5_quiet_end(const ds_h5_quiet *q)
{
    (void)H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

typedef struct {
    char text[256];
} ds_h5_detail;

/* The innermost entry of HDF5's error stack: the most specific reason. */
static herr_t ds_h5_walk(unsigned n, const H5E_error2_t *err, void *data)
{
    ds_h5_detail *d = data;
    if (n != 0 || !err || !err->desc)
        return 0;
    /* A failed system call comes as "file write failed: time = ..., errno =
     * 27, error message = 'File too large', buf = ...": keep what it is
     * and the system's reason, on one line. */
    const char *desc = err->desc;
    size_t head = strcspn(desc, ":\n");
    const char *why = strstr(desc, "error message = '");
    if (why) {
        why += strlen("error message = '");
        int wlen = (int)strcspn(why, "'");
        snprintf(d->text, sizeof d->text, "%.*s: %.*s (%s)", (int)head, desc, wlen, why,
                 err->func_name ? err->func_name : "?");
    } else {
        snprintf(d->text, sizeof d->text, "%.*s (%s)", (int)strcspn(desc, "\n"), desc,
                 err->func_name ? err->func_name : "?");
    }
    return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static ds_status ds_h5_fail(ds_diag *diag, const char *fmt, ...)
{
    char what[512];
    ds_h5_detail d;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    d.text[0] = '\0';
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, ds_h5_walk, &d);
    (void)H5Eclear2(H5E_DEFAULT);
    return ds_diag_set(diag, DS_ERR_HDF5, NULL, 0, 0, "HDF5 error %s%s%s", what,
                       d.text[0] ? ": " : "", d.text);
}

/* ------------------------------------------------------------------ types */

typedef enum { DS_H5_F64 = 0, DS_H5_U64, DS_H5_I32, DS_H5_U8, DS_H5_STR } ds_h5_kind;

/* The variable-length UTF-8 string type; the caller closes it. */
static hid_t ds_h5_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0 ||
        H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Memory type of kind k (strings: `str`, a ds_h5_str_type). */
static hid_t ds_h5_mem_type(ds_h5_kind k, hid_t str)
{
    switch (k) {
    case DS_H5_F64: return H5T_NATIVE_DOUBLE;
    case DS_H5_U64: return H5T_NATIVE_UINT64;
    case DS_H5_I32: return H5T_NATIVE_INT32;
    case DS_H5_U8: return H5T_NATIVE_UINT8;
    case DS_H5_STR: return str;
    }
    return H5I_INVALID_HID;
}

/* File type of kind k: little-endian, fixed width. */
static hid_t ds_h5_file_type(ds_h5_kind k, hid_t str)
{
    switch (k) {
    case DS_H5_F64: return H5T_IEEE_F64LE;
    case DS_H5_U64: return H5T_STD_U64LE;
    case DS_H5_I32: return H5T_STD_I32LE;
    case DS_H5_U8: return H5T_STD_U8LE;
    case DS_H5_STR: return str;
    }
    return H5I_INVALID_HID;
}

/* ------------------------------------------------------------- attributes */

/* Writes attribute `name` of `obj` (n == 0: scalar, else 1-D of n). `where`
 * names obj in messages. */
static ds_status ds_h5_attr(hid_t obj, const char *where, const char *name, ds_h5_kind k,
                            size_t n, const void *value, ds_diag *diag)
{
    ds_status st = DS_OK;
    hid_t str = H5I_INVALID_HID, space = H5I_INVALID_HID, a = H5I_INVALID_HID;
    hsize_t dims[1] = {(hsize_t)n};
    if (k == DS_H5_STR && (str = ds_h5_str_type()) < 0) {
        st = ds_h5_fail(diag, "making the string type for attribute %s of %s", name, where);
        goto done;
    }
    space = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    if (space < 0) {
        st = ds_h5_fail(diag, "making the dataspace of attribute %s of %s", name, where);
        goto done;
    }
    a = H5Acreate2(obj, name, ds_h5_file_type(k, str), space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        st = ds_h5_fail(diag, "creating attribute %s of %s", name, where);
        goto done;
    }
    if (H5Awrite(a, ds_h5_mem_type(k, str), value) < 0) {
        st = ds_h5_fail(diag, "writing attribute %s of %s", name, where);
        goto done;
    }
done:
    if (a >= 0 && H5Aclose(a) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing attribute %s of %s", name, where);
    if (space >= 0 && H5Sclose(space) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the dataspace of attribute %s of %s", name, where);
    if (str >= 0 && H5Tclose(str) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the string type of attribute %s of %s", name, where);
    return st;
}

static ds_status ds_h5_attr_str(hid_t obj, const char *where, const char *name,
                                const char *value, ds_diag *diag)
{
    const char *v = value ? value : "";
    return ds_h5_attr(obj, where, name, DS_H5_STR, 0, &v, diag);
}

static ds_status ds_h5_attr_u64(hid_t obj, const char *where, const char *name, uint64_t v,
                                ds_diag *diag)
{
    return ds_h5_attr(obj, where, name, DS_H5_U64, 0, &v, diag);
}

static ds_status ds_h5_attr_i32(hid_t obj, const char *where, const char *name, int32_t v,
                                ds_diag *diag)
{
    return ds_h5_attr(obj, where, name, DS_H5_I32, 0, &v, diag);
}

static ds_status ds_h5_attr_f64(hid_t obj, const char *where, const char *name, double v,
                                ds_diag *diag)
{
    return ds_h5_attr(obj, where, name, DS_H5_F64, 0, &v, diag);
}

/* CF's two attributes, on every dataset. */
static ds_status ds_h5_annotate(hid_t obj, const char *where, const char *units,
                                const char *long_name, ds_diag *diag)
{
    DS_TRY(ds_h5_attr_str(obj, where, "units", units, diag));
    return ds_h5_attr_str(obj, where, "long_name", long_name, diag);
}

/* A group whose links remember their creation order (what netCDF-4 expects,
 * and it keeps variables in the order written). */
static hid_t ds_h5_group_create(hid_t loc, const char *name)
{
    hid_t g = H5I_INVALID_HID;
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0)
        return H5I_INVALID_HID;
    if (H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (H5Pclose(gcpl) < 0 && g >= 0) {
        H5Gclose(g);
        g = H5I_INVALID_HID;
    }
    return g;
}

/* ---------------------------------------------------------- group writer */

/* Builds one summary group: dimension scales first (kept open for
 * attaching), then variables.  The first failure sticks in `st`; later
 * calls do nothing, so a group reads as a list of calls and one check. */
typedef struct {
    const char *name;
    hsize_t len;
    hid_t scale;
} ds_gw_axis;

typedef struct {
    hid_t group;
    hid_t str; /* the vlen UTF-8 string type */
    char path[64];
    size_t n_dims;
    ds_gw_axis dim[DS_H5_MAX_DIMS];
    ds_diag *diag;
    ds_status st;
} ds_gw;

static void ds_gw_open(ds_gw *g, hid_t file, const char *path, ds_diag *diag)
{
    g->n_dims = 0;
    g->diag = diag;
    g->st = DS_OK;
    snprintf(g->path, sizeof g->path, "%s", path);
    g->str = H5I_INVALID_HID;
    g->group = ds_h5_group_create(file, path);
    if (g->group < 0) {
        g->st = ds_h5_fail(diag, "creating group %s", path);
        return;
    }
    g->str = ds_h5_str_type();
    if (g->str < 0)
        g->st = ds_h5_fail(diag, "making the string type for %s", path);
}

static ds_status ds_gw_close(ds_gw *g)
{
    for (size_t i = 0; i < g->n_dims; i++)
        if (g->dim[i].scale >= 0 && H5Dclose(g->dim[i].scale) < 0 && g->st == DS_OK)
            g->st = ds_h5_fail(g->diag, "closing %s/%s", g->path, g->dim[i].name);
    if (g->str >= 0 && H5Tclose(g->str) < 0 && g->st == DS_OK)
        g->st = ds_h5_fail(g->diag, "closing the string type of %s", g->path);
    if (g->group >= 0 && H5Gclose(g->group) < 0 && g->st == DS_OK)
        g->st = ds_h5_fail(g->diag, "closing group %s", g->path);
    g->group = H5I_INVALID_HID;
    g->str = H5I_INVALID_HID;
    g->n_dims = 0;
    return g->st;
}

static size_t ds_gw_find(ds_gw *g, const char *name)
{
    for (size_t i = 0; i < g->n_dims; i++)
        if (strcmp(g->dim[i].name, name) == 0)
            return i;
    g->st = ds_diag_set(g->diag, DS_ERR_INTERNAL, NULL, 0, 0,
                        "h5out: no dimension %s in %s", name, g->path);
    return 0;
}

/* A scalar attribute of the group (var NULL) or of its dataset `var`. */
static ds_status ds_gw_attr(ds_gw *g, const char *var, const char *name, ds_h5_kind k,
                            const void *value)
{
    char where[128];
    hid_t obj = g->group;
    if (g->st != DS_OK)
        return g->st;
    snprintf(where, sizeof where, "%s%s%s", g->path, var ? "/" : "", var ? var : "");
    if (var && (obj = H5Oopen(g->group, var, H5P_DEFAULT)) < 0)
        return g->st = ds_h5_fail(g->diag, "opening %s", where);
    g->st = ds_h5_attr(obj, where, name, k, 0, value, g->diag);
    if (var && H5Oclose(obj) < 0 && g->st == DS_OK)
        g->st = ds_h5_fail(g->diag, "closing %s", where);
    return g->st;
}

static ds_status ds_gw_attr_str(ds_gw *g, const char *var, const char *name, const char *value)
{
    return ds_gw_attr(g, var, name, DS_H5_STR, &value);
}

static ds_status ds_gw_attr_f64(ds_gw *g, const char *var, const char *name, double value)
{
    return ds_gw_attr(g, var, name, DS_H5_F64, &value);
}

/* Creates, writes and annotates a contiguous dataset over the named
 * dimensions (rank 0: a scalar); attaches the scales unless it is a scale
 * itself.  Returns the open dataset when keep is set. */
static hid_t ds_gw_write(ds_gw *g, const char *name, ds_h5_kind k, size_t rank,
                         const char *const *dims, const void *data, const char *units,
                         const char *long_name, int keep)
{
    char where[128];
    hsize_t shape[2] = {0, 0};
    hid_t space = H5I_INVALID_HID, d = H5I_INVALID_HID;
    hsize_t nelem = 1;
    if (g->st != DS_OK)
        return H5I_INVALID_HID;
    snprintf(where, sizeof where, "%s/%s", g->path, name);
    if (rank > 2) {
        g->st = ds_diag_set(g->diag, DS_ERR_INTERNAL, NULL, 0, 0, "h5out: rank %zu of %s",
                            rank, where);
        return H5I_INVALID_HID;
    }
    for (size_t i = 0; i < rank; i++) {
        size_t j = ds_gw_find(g, dims[i]);
        if (g->st != DS_OK)
            return H5I_INVALID_HID;
        shape[i] = g->dim[j].len;
        nelem *= shape[i];
    }
    space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple((int)rank, shape, NULL);
    if (space < 0) {
        g->st = ds_h5_fail(g->diag, "making the dataspace of %s", where);
        goto done;
    }
    d = H5Dcreate2(g->group, name, ds_h5_file_type(k, g->str), space, H5P_DEFAULT, H5P_DEFAULT,
                   H5P_DEFAULT);
    if (d < 0) {
        g->st = ds_h5_fail(g->diag, "creating %s", where);
        goto done;
    }
    if (nelem > 0 && data &&
        H5Dwrite(d, ds_h5_mem_type(k, g->str), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        g->st = ds_h5_fail(g->diag, "writing %s", where);
        goto done;
    }
    if ((g->st = ds_h5_annotate(d, where, units, long_name, g->diag)) != DS_OK)
        goto done;
    for (size_t i = 0; i < rank; i++) {
        size_t j = ds_gw_find(g, dims[i]);
        if (g->dim[j].scale < 0)
            continue; /* the scale being made */
        if (H5DSattach_scale(d, g->dim[j].scale, (unsigned)i) < 0) {
            g->st = ds_h5_fail(g->diag, "attaching dimension scale %s to %s", dims[i], where);
            goto done;
        }
    }
done:
    if (space >= 0 && H5Sclose(space) < 0 && g->st == DS_OK)
        g->st = ds_h5_fail(g->diag, "closing the dataspace of %s", where);
    if (d >= 0 && (!keep || g->st != DS_OK)) {
        if (H5Dclose(d) < 0 && g->st == DS_OK)
            g->st = ds_h5_fail(g->diag, "closing %s", where);
        d = H5I_INVALID_HID;
    }
    return d;
}

static void ds_gw_var(ds_gw *g, const char *name, ds_h5_kind k, size_t rank,
                      const char *const *dims, const void *data, const char *units,
                      const char *long_name)
{
    (void)ds_gw_write(g, name, k, rank, dims, data, units, long_name, 0);
}

/* A dimension with its coordinate variable (a dimension scale of the same
 * name) holding `data`. */
static void ds_gw_dim(ds_gw *g, const char *name, size_t len, ds_h5_kind k, const void *data,
                      const char *units, const char *long_name)
{
    if (g->st != DS_OK)
        return;
    if (g->n_dims == DS_H5_MAX_DIMS) {
        g->st = ds_diag_set(g->diag, DS_ERR_INTERNAL, NULL, 0, 0,
                            "h5out: too many dimensions in %s", g->path);
        return;
    }
    ds_gw_axis *dm = &g->dim[g->n_dims++];
    dm->name = name;
    dm->len = (hsize_t)len;
    dm->scale = H5I_INVALID_HID;
    const char *dims[1] = {name};
    hid_t d = ds_gw_write(g, name, k, 1, dims, data, units, long_name, 1);
    if (d < 0)
        return;
    dm->scale = d;
    if (H5DSset_scale(d, name) < 0)
        g->st = ds_h5_fail(g->diag, "making %s/%s a dimension scale", g->path, name);
}

/* A dimension without a natural coordinate: the scale holds 0..len-1. */
static void ds_gw_dim_index(ds_gw *g, const char *name, size_t len, const char *long_name)
{
    if (g->st != DS_OK)
        return;
    uint64_t *idx = malloc((len ? len : 1) * sizeof *idx);
    if (!idx) {
        g->st = ds_diag_set(g->diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing %s/%s",
                            g->path, name);
        return;
    }
    for (size_t i = 0; i < len; i++)
        idx[i] = (uint64_t)i;
    ds_gw_dim(g, name, len, DS_H5_U64, idx, "1", long_name);
    free(idx);
}

/* ----------------------------------------------------------- the writer */

struct ds_h5out {
    char *path;    /* the final file */
    char *partial; /* path + ".partial" */
    int force;
    hid_t file;
    const ds_model *model;
    const ds_scenario *sc;
    size_t n_outputs, n_investors, horizon;
    int valuation;

    /* /trials */
    uint64_t trials; /* requested: the initial extent along `trial` */
    uint64_t next;   /* first trial of the next block expected */
    int want;        /* any per-trial data */
    hid_t trial;     /* the `trial` scale */
    hid_t out[DS_OUT_COUNT];
    hid_t amount, paid, joined, stake, price;
    uint64_t *u64;   /* [DS_BLOCK_SIZE] conversion buffers */
    uint8_t *u8;
};

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

static char *ds_h5_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int ds_h5_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* mkdir -p of the directory part of path. */
static ds_status ds_h5_make_parents(const char *path, ds_diag *diag)
{
    ds_status st = DS_OK;
    char *p = ds_h5_strdup(path);
    if (!p)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        struct stat sb;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot create directory %s: %s", p,
                             strerror(errno));
            goto done;
        }
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0,
                             "cannot create %s: %s exists and is not a directory", path, p);
            goto done;
        }
        *s = '/';
    }
done:
    free(p);
    return st;
}

/* Closes what is open of the file; the first failure is reported. */
static ds_status ds_h5out_close_all(ds_h5out *w, ds_diag *diag)
{
    ds_status st = DS_OK;
    hid_t *ids[] = {&w->trial, &w->amount, &w->paid, &w->joined, &w->stake, &w->price};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (*ids[i] >= 0 && H5Dclose(*ids[i]) < 0 && st == DS_OK)
            st = ds_h5_fail(diag, "closing a dataset of /trials");
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

static void ds_h5out_free(ds_h5out *w)
{
    if (!w)
        return;
    free(w->path);
    free(w->partial);
    free(w->u64);
    free(w->u8);
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
    if (w->partial)
        (void)remove(w->partial); /* nothing more to do when it fails */
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

/* Creates a per-trial dataset /trials/<name> of kind k: [trial] when
 * col_scale < 0, else [trial, cols]; chunked, extendible along trial,
 * optionally compressed. */
static ds_status ds_h5out_create_trial_var(ds_h5out *w, hid_t group, hid_t str,
                                           const char *name, ds_h5_kind k, size_t cols,
                                           hid_t col_scale, const char *units,
                                           const char *long_name, hid_t *out, ds_diag *diag)
{
    ds_status st = DS_OK;
    char where[128];
    int rank = col_scale >= 0 ? 2 : 1;
    size_t elem = k == DS_H5_U8 ? 1 : 8;
    hsize_t dims[2] = {(hsize_t)w->trials, (hsize_t)cols};
    hsize_t maxdims[2] = {H5S_UNLIMITED, (hsize_t)cols};
    hsize_t chunk[2] = {ds_h5_chunk_rows(elem, rank == 2 ? cols : 1, w->trials), (hsize_t)cols};
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID;
    hid_t d = H5I_INVALID_HID;
    size_t chunk_bytes = (size_t)chunk[0] * elem * (rank == 2 ? cols : 1);

    snprintf(where, sizeof where, "/trials/%s", name);
    if ((space = H5Screate_simple(rank, dims, maxdims)) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0) {
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
    if (w->trial >= 0 && H5DSattach_scale(d, w->trial, 0) < 0) {
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

ds_status ds_h5out_open(const char *path, int force, const ds_model *m, uint64_t trials,
                        const char *effective_yaml, ds_h5out **out, ds_diag *diag)
{
    ds_status st = DS_OK;
    ds_h5_quiet q;
    ds_h5out *w = NULL;
    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    char sha[DS_SHA256_HEX];

    ds_h5_no_exit_handler();
    ds_h5_quiet_begin(&q);
    if (out)
        *out = NULL;
    if (!path || !*path || !m || !out) {
        st = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "h5out: bad arguments to open");
        goto done;
    }
    if (!force && ds_h5_exists(path)) {
        st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "%s exists; use --force to overwrite it",
                         path);
        goto done;
    }
    if (!(w = calloc(1, sizeof *w))) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    w->file = w->trial = w->amount = w->paid = w->joined = w->stake = w->price =
        H5I_INVALID_HID;
    for (size_t o = 0; o < DS_OUT_COUNT; o++)
        w->out[o] = H5I_INVALID_HID;
    w->force = force;
    w->model = m;
    w->sc = ds_model_scenario(m);
    w->n_outputs = (size_t)ds_model_n_outputs(m);
    w->n_investors = w->sc->n_investors;
    w->horizon = (size_t)w->sc->horizon;
    w->valuation = w->sc->has_pre_money;
    w->trials = trials;
    w->path = ds_h5_strdup(path);
    w->partial = malloc(strlen(path) + sizeof ".partial");
    w->u64 = malloc(DS_BLOCK_SIZE * sizeof *w->u64);
    w->u8 = malloc(DS_BLOCK_SIZE * sizeof *w->u8);
    if (!w->path || !w->partial || !w->u64 || !w->u8) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    snprintf(w->partial, strlen(path) + sizeof ".partial", "%s.partial", path);
    if ((st = ds_h5_make_parents(path, diag)) != DS_OK)
        goto done;

    if ((fcpl = H5Pcreate(H5P_FILE_CREATE)) < 0 ||
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        st = ds_h5_fail(diag, "preparing to create %s", w->partial);
        goto done;
    }
    /* Lock the file while writing, but do not fail on file systems without
     * locks (some network file systems). */
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0
#if DS_H5_HAVE_FILE_LOCKING
        || H5Pset_file_locking(fapl, 1, 1) < 0
#endif
    ) {
        st = ds_h5_fail(diag, "preparing to create %s", w->partial);
        goto done;
    }
    w->file = H5Fcreate(w->partial, H5F_ACC_TRUNC, fcpl, fapl);
    if (w->file < 0) {
        st = ds_h5_fail(diag, "creating %s", w->partial);
        goto done;
    }
    /* The hash of exactly the text stored (a string ends at its NUL). */
    ds_sha256_hex(w->sc->source ? w->sc->source : "", w->sc->source ? strlen(w->sc->source) : 0,
                  sha);
    if ((st = ds_h5_write_text(w->file, "config", w->sc->source,
                               "the scenario file verbatim", sha, diag)) != DS_OK)
        goto done;
    if (w->sc->path) {
        hid_t d = H5Dopen2(w->file, "config", H5P_DEFAULT);
        if (d < 0) {
            st = ds_h5_fail(diag, "opening /config");
            goto done;
        }
        st = ds_h5_attr_str(d, "/config", "path", w->sc->path, diag);
        if (H5Dclose(d) < 0 && st == DS_OK)
            st = ds_h5_fail(diag, "closing /config");
        if (st != DS_OK)
            goto done;
    }
    if ((st = ds_h5_write_text(w->file, "effective_config", effective_yaml,
                               "the scenario as run: YAML with defaults filled and --set "
                               "overrides applied",
                               NULL, diag)) != DS_OK)
        goto done;

    w->want = w->sc->per_trial_kind == DS_PER_TRIAL_ALL ||
              (w->sc->per_trial_kind == DS_PER_TRIAL_LIST && w->sc->n_per_trial > 0) ||
              w->sc->price_paths;
    if (w->want && (st = ds_h5out_create_trials(w, diag)) != DS_OK)
        goto done;
done:
    if (fcpl >= 0 && H5Pclose(fcpl) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the file creation properties");
    if (fapl >= 0 && H5Pclose(fapl) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing the file access properties");
    if (st != DS_OK) {
        if (w && w->file >= 0) {
            (void)ds_h5out_close_all(w, NULL);
            (void)remove(w->partial);
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

/* Writes rows [first, first + n) of a per-trial dataset from buf. */
static ds_status ds_h5_write_rows(hid_t d, const char *name, uint64_t first, size_t n,
                                  size_t cols, hid_t mem_type, const void *buf, ds_diag *diag)
{
    ds_status st = DS_OK;
    int rank = cols > 0 ? 2 : 1;
    hsize_t start[2] = {(hsize_t)first, 0};
    hsize_t count[2] = {(hsize_t)n, (hsize_t)cols};
    hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    if ((fspace = H5Dget_space(d)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (mspace = H5Screate_simple(rank, count, NULL)) < 0) {
        st = ds_h5_fail(diag, "selecting trials %llu..%llu of /trials/%s",
                        (unsigned long long)first, (unsigned long long)(first + n - 1), name);
        goto done;
    }
    if (H5Dwrite(d, mem_type, mspace, fspace, H5P_DEFAULT, buf) < 0) {
        st = ds_h5_fail(diag, "writing trials %llu..%llu of /trials/%s",
                        (unsigned long long)first, (unsigned long long)(first + n - 1), name);
        goto done;
    }
done:
    if (mspace >= 0 && H5Sclose(mspace) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing a dataspace of /trials/%s", name);
    if (fspace >= 0 && H5Sclose(fspace) < 0 && st == DS_OK)
        st = ds_h5_fail(diag, "closing a dataspace of /trials/%s", name);
    return st;
}

static ds_status ds_h5out_write_block_inner(ds_h5out *w, const ds_block *blk, ds_diag *diag)
{
    size_t n = blk->n;
    uint64_t first = blk->first;
    for (size_t t = 0; t < n; t++)
        w->u64[t] = first + t;
    DS_TRY(ds_h5_write_rows(w->trial, "trial", first, n, 0, H5T_NATIVE_UINT64, w->u64, diag));
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
    if (blk->first != w->next || blk->n == 0 || blk->n > DS_BLOCK_SIZE ||
        blk->n_investors != w->n_investors || blk->horizon != w->horizon ||
        blk->first + blk->n > w->trials)
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

/* ----------------------------------------------------------- summaries */

/* The moments' mean/min/max, NaN when there are no finite values. */
static double ds_h5_mean(const ds_moments *mo)
{
    return mo->n > 0 ? mo->mean : DS_H5_NAN;
}
static double ds_h5_min(const ds_moments *mo)
{
    return mo->n > 0 ? mo->min : DS_H5_NAN;
}
static double ds_h5_max(const ds_moments *mo)
{
    return mo->n > 0 ? mo->max : DS_H5_NAN;
}

/* q-quantiles of a sketch into row[nq], clamped to the exact range. */
static void ds_h5_quantiles(const ds_sketch *sk, const ds_moments *mo, const double *q, size_t nq,
                            double *row)
{
    for (size_t j = 0; j < nq; j++)
        row[j] = mo->n > 0 && sk->count > 0 ? ds_sketch_quantile(sk, q[j], mo->min, mo->max)
                                            : DS_H5_NAN;
}

typedef struct {
    const ds_h5out *w;
    const ds_stats *st;
    const ds_scenario *sc;
    size_t no, ni, nh, nq;
    const char **out_names;  /* [no] */
    const char **out_units;  /* [no] */
    const char **out_long;   /* [no] */
    const char **out_type;   /* [no] */
    const char **inv_names;  /* [ni] */
    double *buf;             /* scratch, big enough for every [a, b] array below */
    uint64_t *ubuf;          /* scratch */
} ds_h5_sum;

static void ds_h5_output_dim(ds_gw *g, const ds_h5_sum *s)
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

static ds_status ds_h5_write_summary(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
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
        u[o] = st->out[o].n;
    ds_gw_var(&g, "count", DS_H5_U64, 1, d1, u, "1", "number of finite values");
    for (size_t o = 0; o < s->no; o++)
        u[o] = st->out[o].nan;
    ds_gw_var(&g, "nan_count", DS_H5_U64, 1, d1, u, "1", "number of NaN (undefined) values");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_h5_mean(&st->out[o]);
    ds_gw_var(&g, "mean", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "mean of the finite values (a probability for booleans)");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_moments_sd(&st->out[o]);
    ds_gw_var(&g, "sd", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "sample standard deviation (n - 1) of the finite values");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_moments_stderr(&st->out[o]);
    ds_gw_var(&g, "stderr", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED,
              "standard error of the mean (sd / sqrt(count))");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_h5_min(&st->out[o]);
    ds_gw_var(&g, "min", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED, "smallest finite value");
    for (size_t o = 0; o < s->no; o++)
        b[o] = ds_h5_max(&st->out[o]);
    ds_gw_var(&g, "max", DS_H5_F64, 1, d1, b, DS_H5_UNITS_MIXED, "largest finite value");
    for (size_t o = 0; o < s->no; o++)
        ds_h5_quantiles(&st->sk_out[o], &st->out[o], s->sc->quantiles, s->nq, b + o * s->nq);
    ds_gw_var(&g, "quantiles", DS_H5_F64, 2, d2, b, DS_H5_UNITS_MIXED,
              "quantiles of the finite values, estimated from a sketch");
    ds_h5_estimator_attrs(&g, "quantiles");
    return ds_gw_close(&g);
}

/* Equal-width edges from the exact min to max (widened by 0.5 on each side
 * when they are equal; NaN without finite values). */
static void ds_h5_edges(const ds_moments *mo, size_t bins, double *edges)
{
    double lo = mo->min, hi = mo->max;
    if (mo->n == 0) {
        for (size_t k = 0; k <= bins; k++)
            edges[k] = DS_H5_NAN;
        return;
    }
    if (lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    for (size_t k = 0; k < bins; k++)
        edges[k] = lo + (hi - lo) * ((double)k / (double)bins);
    edges[bins] = hi;
}

static ds_status ds_h5_write_histograms(hid_t file, const ds_h5_sum *s, ds_diag *diag)
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
    return ds_gw_close(&g);
}

static ds_status ds_h5_write_investors(hid_t file, const ds_h5_sum *s, ds_diag *diag)
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
    for (size_t i = 0; i < s->ni; i++) {
        double p = st->trials > 0 ? (double)st->inv_joined[i] / n : DS_H5_NAN;
        b[i] = sqrt(p * (1.0 - p) / n);
    }
    ds_gw_var(&g, "join_stderr", DS_H5_F64, 1, d1, b, "1",
              "standard error of join_probability, sqrt(p (1 - p) / trials)");
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

static ds_status ds_h5_write_coalitions(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    ds_gw g;
    ds_status st = DS_OK;
    const ds_stats *stats = s->st;
    size_t nc = stats->n_coalitions;
    ds_coalition *c = NULL;
    const char **names = NULL;
    char *arena = NULL;
    uint64_t *u = NULL;
    double *b = NULL;
    const char *d1[1] = {"coalition"};

    if (nc > 0 && !(c = ds_stats_sorted_coalitions(stats)))
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory sorting coalitions");
    u = malloc((nc ? nc : 1) * sizeof *u);
    b = malloc((nc ? nc : 1) * sizeof *b);
    if (!u || !b) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /coalitions");
        goto done;
    }
    if ((st = ds_h5_members(s, c, nc, &names, &arena, diag)) != DS_OK)
        goto done;
    ds_gw_open(&g, file, "/coalitions", diag);
    ds_gw_dim_index(&g, "coalition", nc, "coalition rank, most probable first");
    for (size_t k = 0; k < nc; k++)
        u[k] = c[k].mask;
    ds_gw_var(&g, "mask", DS_H5_U64, 1, d1, u, "1",
              "join mask: bit i-1 set when investor i (file order) joined");
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
        b[k] = c[k].sum_total / (double)c[k].count;
    ds_gw_var(&g, "mean_total", DS_H5_F64, 1, d1, b, ds_output_get_info(DS_OUT_TOTAL)->units,
              "mean total given this join mask");
    st = ds_gw_close(&g);
done:
    free(c);
    free(names);
    free(arena);
    free(u);
    free(b);
    return st;
}

static ds_status ds_h5_write_price_fan(hid_t file, const ds_h5_sum *s, ds_diag *diag)
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
    st = ds_gw_close(&g);
    free(months);
    return st;
}

static ds_status ds_h5_write_convergence(hid_t file, const ds_h5_sum *s, ds_diag *diag)
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

static ds_status ds_h5_write_state(hid_t file, const ds_h5_sum *s, ds_diag *diag)
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

/* -------------------------------------------------------------- finish */

static ds_status ds_h5_write_root_attrs(ds_h5out *w, const ds_run_info *info, ds_diag *diag)
{
    hid_t f = w->file;
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
    DS_TRY(ds_h5_attr_u64(f, "/", "trials", info->trials_done, diag));
    DS_TRY(ds_h5_attr_u64(f, "/", "trials_requested", info->trials_requested, diag));
    DS_TRY(ds_h5_attr_u64(f, "/", "block_size", DS_BLOCK_SIZE, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "rng", "pcg64dxsm", diag));
    DS_TRY(ds_h5_attr_i32(f, "/", "threads", (int32_t)info->threads, diag));
    DS_TRY(ds_h5_attr_i32(f, "/", "mpi_ranks", (int32_t)info->mpi_ranks, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "hostname", host, diag));
    DS_TRY(ds_h5_attr_f64(f, "/", "wall_seconds", info->wall_seconds, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "compiler", DS_COMPILER, diag));
    DS_TRY(ds_h5_attr_str(f, "/", "build_type", DS_BUILD_TYPE, diag));
    return ds_h5_attr_str(f, "/", "hdf5_version", ds_h5out_library_version(hv, sizeof hv), diag);
}

/* Shrinks every /trials dataset to `done` trials (an interrupted run). */
static ds_status ds_h5out_shrink(ds_h5out *w, uint64_t done, ds_diag *diag)
{
    struct {
        hid_t id;
        size_t cols; /* 0: 1-D */
    } v[DS_OUT_COUNT + 6];
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
    for (size_t k = 0; k < n; k++) {
        hsize_t dims[2] = {(hsize_t)done, (hsize_t)v[k].cols};
        if (v[k].id >= 0 && H5Dset_extent(v[k].id, dims) < 0)
            return ds_h5_fail(diag, "shrinking /trials to %llu trials", (unsigned long long)done);
    }
    return DS_OK;
}

static ds_status ds_h5out_finish_inner(ds_h5out *w, const ds_stats *st, const ds_run_info *info,
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
        (w->want && w->next != info->trials_done))
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "h5out: %llu trials done, %llu summarized, %llu written, %llu "
                           "expected",
                           (unsigned long long)info->trials_done, (unsigned long long)st->trials,
                           (unsigned long long)w->next, (unsigned long long)w->trials);
    if (w->want && info->trials_done < w->trials)
        DS_TRY(ds_h5out_shrink(w, info->trials_done, diag));

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

    if ((s_ = ds_h5_write_summary(w->file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_histograms(w->file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_investors(w->file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_coalitions(w->file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_price_fan(w->file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_convergence(w->file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_state(w->file, &s, diag)) != DS_OK ||
        (s_ = ds_h5_write_root_attrs(w, info, diag)) != DS_OK)
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
    if ((s_ = ds_h5out_finish_inner(w, st, info, diag)) != DS_OK)
        goto done;
    /* Every object must be closed by now: a leak would keep the file open. */
    {
        ssize_t open = H5Fget_obj_count(w->file, H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                     H5F_OBJ_DATATYPE | H5F_OBJ_ATTR |
                                                     H5F_OBJ_LOCAL);
        size_t trial_ids = 0;
        hid_t ids[] = {w->trial, w->amount, w->paid, w->joined, w->stake, w->price};
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
    if (!w->force && ds_h5_exists(w->path)) {
        s_ = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0,
                         "%s appeared during the run; use --force to overwrite it (the results "
                         "were not kept)",
                         w->path);
        goto done;
    }
    if (rename(w->partial, w->path) != 0) {
        s_ = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot rename %s to %s: %s", w->partial,
                         w->path, strerror(errno));
        goto done;
    }
done:
    if (s_ != DS_OK) {
        (void)ds_h5out_close_all(w, NULL);
        (void)remove(w->partial);
    }
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
    ds_h5out_free(w);
    return s_;
}
