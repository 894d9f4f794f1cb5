/* sim/io/h5util.c
 * HDF5 helpers: quiet error handling, types, attributes, the group writer.
 * Licence: see LICENSE at the top of the repository.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

/* ------------------------------------------------------------------ errors */

/* Saved automatic error printing, restored at the end of each public call. */
void ds_h5_quiet_begin(ds_h5_quiet *q)
{
    /* These only swap a function pointer of the default error stack; their
     * failure would only mean HDF5 prints its own stack too. */
    if (H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) < 0) {
        q->func = NULL;
        q->data = NULL;
    }
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ds_h5_quiet_end(const ds_h5_quiet *q)
{
    (void)H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}


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
ds_status ds_h5_fail(ds_diag *diag, const char *fmt, ...)
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


/* The variable-length UTF-8 string type; the caller closes it. */
hid_t ds_h5_str_type(void)
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
    case DS_H5_I64: return H5T_NATIVE_INT64;
    case DS_H5_I32: return H5T_NATIVE_INT32;
    case DS_H5_U8: return H5T_NATIVE_UINT8;
    case DS_H5_STR: return str;
    }
    return H5I_INVALID_HID;
}

/* File type of kind k: little-endian, fixed width. */
hid_t ds_h5_file_type(ds_h5_kind k, hid_t str)
{
    switch (k) {
    case DS_H5_F64: return H5T_IEEE_F64LE;
    case DS_H5_U64: return H5T_STD_U64LE;
    case DS_H5_I64: return H5T_STD_I64LE;
    case DS_H5_I32: return H5T_STD_I32LE;
    case DS_H5_U8: return H5T_STD_U8LE;
    case DS_H5_STR: return str;
    }
    return H5I_INVALID_HID;
}

/* ------------------------------------------------------------- attributes */

/* Writes attribute `name` of `obj` (n == 0: scalar, else 1-D of n). `where`
 * names obj in messages. */
ds_status ds_h5_attr(hid_t obj, const char *where, const char *name, ds_h5_kind k,
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

ds_status ds_h5_attr_str(hid_t obj, const char *where, const char *name,
                                const char *value, ds_diag *diag)
{
    const char *v = value ? value : "";
    return ds_h5_attr(obj, where, name, DS_H5_STR, 0, &v, diag);
}

ds_status ds_h5_attr_u64(hid_t obj, const char *where, const char *name, uint64_t v,
                                ds_diag *diag)
{
    return ds_h5_attr(obj, where, name, DS_H5_U64, 0, &v, diag);
}

ds_status ds_h5_attr_i32(hid_t obj, const char *where, const char *name, int32_t v,
                                ds_diag *diag)
{
    return ds_h5_attr(obj, where, name, DS_H5_I32, 0, &v, diag);
}

ds_status ds_h5_attr_f64(hid_t obj, const char *where, const char *name, double v,
                                ds_diag *diag)
{
    return ds_h5_attr(obj, where, name, DS_H5_F64, 0, &v, diag);
}

/* CF's two attributes, on every dataset. */
ds_status ds_h5_annotate(hid_t obj, const char *where, const char *units,
                                const char *long_name, ds_diag *diag)
{
    DS_TRY(ds_h5_attr_str(obj, where, "units", units, diag));
    return ds_h5_attr_str(obj, where, "long_name", long_name, diag);
}

/* A group whose links remember their creation order (what netCDF-4 expects,
 * and it keeps variables in the order written). */
hid_t ds_h5_group_create(hid_t loc, const char *name)
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


void ds_gw_open(ds_gw *g, hid_t file, const char *path, ds_diag *diag)
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

ds_status ds_gw_close(ds_gw *g)
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

ds_status ds_gw_attr_str(ds_gw *g, const char *var, const char *name, const char *value)
{
    return ds_gw_attr(g, var, name, DS_H5_STR, &value);
}

ds_status ds_gw_attr_f64(ds_gw *g, const char *var, const char *name, double value)
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
    hsize_t shape[3] = {0, 0, 0}; /* rank 3: /sensitivity (input, output, bin) */
    hid_t space = H5I_INVALID_HID, d = H5I_INVALID_HID;
    hsize_t nelem = 1;
    if (g->st != DS_OK)
        return H5I_INVALID_HID;
    snprintf(where, sizeof where, "%s/%s", g->path, name);
    if (rank > 3) {
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

void ds_gw_var(ds_gw *g, const char *name, ds_h5_kind k, size_t rank,
                      const char *const *dims, const void *data, const char *units,
                      const char *long_name)
{
    (void)ds_gw_write(g, name, k, rank, dims, data, units, long_name, 0);
}

/* A dimension with its coordinate variable (a dimension scale of the same
 * name) holding `data`. */
void ds_gw_dim(ds_gw *g, const char *name, size_t len, ds_h5_kind k, const void *data,
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
void ds_gw_dim_index(ds_gw *g, const char *name, size_t len, const char *long_name)
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

char *ds_h5_attr_read_str(hid_t obj, const char *name)
{
    char *out = NULL;
    if (H5Aexists(obj, name) <= 0) {
        (void)H5Eclear2(H5E_DEFAULT);
        return NULL;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_STRING &&
        H5Sget_simple_extent_npoints(sp) == 1) {
        if (H5Tis_variable_str(t) > 0) {
            hid_t mt = ds_h5_str_type();
            char *v = NULL;
            if (mt >= 0 && H5Aread(a, mt, &v) >= 0 && v) {
                size_t n = strlen(v) + 1;
                if ((out = malloc(n)))
                    memcpy(out, v, n);
                H5free_memory(v);
            }
            if (mt >= 0)
                H5Tclose(mt);
        } else {
            /* Fixed-length: at most 1 MiB, NUL-terminated here. */
            size_t n = H5Tget_size(t);
            out = n > 0 && n < ((size_t)1 << 20) ? calloc(n + 1, 1) : NULL;
            if (out && H5Aread(a, t, out) < 0) {
                free(out);
                out = NULL;
            }
        }
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    (void)H5Eclear2(H5E_DEFAULT);
    return out;
}
