/* sim/io/h5summary_read.c
 * Reads what `dealsim summary` and `dealsim compare` need beyond /state: the
 * root attributes, /effective_config and per-trial datasets (h5in.h).
 * Licence: see LICENSE at the top of the repository.
 *
 * Like h5read.c the file is untrusted: every attribute is checked for class
 * and size before it is read, HDF5's own error printout is silenced, and a
 * file that is not ours says so in one line instead of an HDF5 stack.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

#include "dealsim/h5in.h"

/* Longest /effective_config accepted (a scenario is at most 4 MiB, and its
 * effective form is of the same order). */
#define DS_H5I_MAX_YAML ((size_t)64 << 20)

struct ds_h5_trials {
    hid_t file;
    hid_t dset;
    hid_t space;
    uint64_t len;
};

/* A string attribute (variable- or fixed-length, one element) into buf;
 * 1 when read. */
static int ds_h5i_attr_str(hid_t obj, const char *name, char *buf, size_t size)
{
    char *v = ds_h5_attr_read_str(obj, name);
    buf[0] = '\0';
    if (!v)
        return 0;
    snprintf(buf, size, "%s", v);
    free(v);
    return 1;
}

/* A numeric attribute of `n` elements of class `cls`, converted to `mem`;
 * 1 when read. */
static int ds_h5i_attr_num(hid_t obj, const char *name, H5T_class_t cls, hid_t mem, size_t n,
                           void *out)
{
    int ok = 0;
    if (H5Aexists(obj, name) <= 0)
        return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == cls &&
        H5Sget_simple_extent_npoints(sp) == (hssize_t)n)
        ok = H5Aread(a, mem, out) >= 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    (void)H5Eclear2(H5E_DEFAULT);
    return ok;
}

/* The scalar string dataset /effective_config, malloc'd. */
static ds_status ds_h5i_text(hid_t f, const char *name, char **out, ds_diag *diag)
{
    ds_status rc = DS_OK;
    *out = NULL;
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) {
        (void)H5Eclear2(H5E_DEFAULT);
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "the file has no /%s", name);
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    hid_t sp = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    if (t < 0 || sp < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) <= 0 ||
        H5Sget_simple_extent_npoints(sp) != 1) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "/%s is not a scalar string", name);
    } else {
        hid_t mt = ds_h5_str_type();
        char *v = NULL;
        if (mt < 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0 || !v) {
            rc = ds_h5_fail(diag, "reading /%s", name);
        } else {
            size_t n = strlen(v);
            if (n > DS_H5I_MAX_YAML)
                rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "/%s is too long", name);
            else if (!(*out = malloc(n + 1)))
                rc = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory reading /%s",
                                 name);
            else
                memcpy(*out, v, n + 1);
            H5free_memory(v);
        }
        if (mt >= 0)
            H5Tclose(mt);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (d >= 0)
        H5Dclose(d);
    (void)H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* The `path` attribute of /config, malloc'd, or NULL (absent, unreadable). */
static char *ds_h5i_config_path(hid_t f)
{
    char *out = NULL;
    hid_t d = H5Dopen2(f, "config", H5P_DEFAULT);
    if (d >= 0)
        out = ds_h5_attr_read_str(d, "path");
    if (d >= 0)
        H5Dclose(d);
    (void)H5Eclear2(H5E_DEFAULT);
    return out;
}

/* Opens a file read-only after the checks every reader shares: it exists,
 * is readable and is HDF5.  *f is the open file on DS_OK. */
static ds_status ds_h5i_open(const char *path, hid_t *f, ds_diag *diag)
{
    *f = H5I_INVALID_HID;
    if (access(path, R_OK) != 0)
        return ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot read %s: %s", path,
                           strerror(errno));
    htri_t is = H5Fis_hdf5(path);
    (void)H5Eclear2(H5E_DEFAULT);
    if (is <= 0)
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "%s is not an HDF5 file", path);
    if ((*f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        return ds_h5_fail(diag, "opening %s", path);
    return DS_OK;
}

void ds_h5_file_info_clear(ds_h5_file_info *fi)
{
    if (!fi)
        return;
    free(fi->effective_config);
    free(fi->config);
    free(fi->config_path);
    memset(fi, 0, sizeof *fi);
}

ds_status ds_h5_read_info(const char *path, ds_h5_file_info *out, ds_diag *diag)
{
    memset(out, 0, sizeof *out);
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    hid_t f;
    ds_status rc = ds_h5i_open(path, &f, diag);
    if (rc != DS_OK)
        goto done;
    int32_t ver[2] = {0, 0};
    /* file_format_version, run_status and block_size mark a dealsim file:
     * without them it belongs to another program. */
    if (!ds_h5i_attr_num(f, "file_format_version", H5T_INTEGER, H5T_NATIVE_INT32, 2, ver) ||
        !ds_h5i_attr_str(f, "run_status", out->run_status, sizeof out->run_status) ||
        !ds_h5i_attr_num(f, "block_size", H5T_INTEGER, H5T_NATIVE_UINT64, 1,
                         &out->block_size)) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "%s is an HDF5 file but not a dealsim result file (no "
                         "file_format_version, run_status or block_size attribute)",
                         path);
        goto done;
    }
    out->format_major = ver[0];
    out->format_minor = ver[1];
    if (ver[0] > DS_H5_FORMAT_MAJOR) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "%s has file_format_version %d.%d; this dealsim (%s) reads %d.x "
                         "and older: use a newer dealsim",
                         path, (int)ver[0], (int)ver[1], DS_VERSION, DS_H5_FORMAT_MAJOR);
        goto done;
    }
    if (!ds_h5i_attr_num(f, "seed", H5T_INTEGER, H5T_NATIVE_UINT64, 1, &out->seed) ||
        !ds_h5i_attr_num(f, "trials", H5T_INTEGER, H5T_NATIVE_UINT64, 1, &out->trials)) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "%s: the seed or trials attribute is missing or not an integer", path);
        goto done;
    }
    /* The rest is descriptive: absent values stay 0 or "". */
    (void)ds_h5i_attr_num(f, "trials_requested", H5T_INTEGER, H5T_NATIVE_UINT64, 1,
                          &out->trials_requested);
    (void)ds_h5i_attr_num(f, "threads", H5T_INTEGER, H5T_NATIVE_INT32, 1, &out->threads);
    (void)ds_h5i_attr_num(f, "mpi_ranks", H5T_INTEGER, H5T_NATIVE_INT32, 1, &out->mpi_ranks);
    (void)ds_h5i_attr_num(f, "wall_seconds", H5T_FLOAT, H5T_NATIVE_DOUBLE, 1,
                          &out->wall_seconds);
    (void)ds_h5i_attr_str(f, "scenario", out->scenario, sizeof out->scenario);
    (void)ds_h5i_attr_str(f, "software_version", out->software_version,
                          sizeof out->software_version);
    (void)ds_h5i_attr_str(f, "created_utc", out->created_utc, sizeof out->created_utc);
    (void)ds_h5i_attr_str(f, "precision", out->precision, sizeof out->precision);
    (void)ds_h5i_attr_str(f, "finished_utc", out->finished_utc, sizeof out->finished_utc);
    rc = ds_h5i_text(f, "effective_config", &out->effective_config, diag);
    /* /config verbatim and where it came from: what a resumed or extended
     * run writes again, byte for byte. */
    if (rc == DS_OK)
        rc = ds_h5i_text(f, "config", &out->config, diag);
    if (rc == DS_OK)
        out->config_path = ds_h5i_config_path(f);
done:
    if (f >= 0)
        H5Fclose(f);
    ds_h5_quiet_end(&q);
    if (rc != DS_OK)
        ds_h5_file_info_clear(out);
    return rc;
}

ds_status ds_h5_trials_open(const char *path, const char *name, ds_h5_trials **out,
                            ds_diag *diag)
{
    *out = NULL;
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_h5_trials *t = NULL;
    hid_t f;
    char where[96];
    ds_status rc = ds_h5i_open(path, &f, diag);
    if (rc != DS_OK)
        goto done;
    snprintf(where, sizeof where, "/trials/%s", name);
    if (H5Lexists(f, "/trials", H5P_DEFAULT) <= 0 || H5Lexists(f, where, H5P_DEFAULT) <= 0)
        goto done; /* absent: DS_OK, *out NULL */
    if (!(t = calloc(1, sizeof *t))) {
        rc = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    t->file = f;
    t->space = H5I_INVALID_HID;
    f = H5I_INVALID_HID;
    t->dset = H5Dopen2(t->file, where, H5P_DEFAULT);
    hid_t ty = t->dset >= 0 ? H5Dget_type(t->dset) : H5I_INVALID_HID;
    H5T_class_t cls = ty >= 0 ? H5Tget_class(ty) : H5T_NO_CLASS;
    if (ty >= 0)
        H5Tclose(ty);
    t->space = t->dset >= 0 ? H5Dget_space(t->dset) : H5I_INVALID_HID;
    hsize_t dim = 0;
    if (t->space < 0 || (cls != H5T_FLOAT && cls != H5T_INTEGER) ||
        H5Sget_simple_extent_ndims(t->space) != 1 ||
        H5Sget_simple_extent_dims(t->space, &dim, NULL) != 1) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "%s: %s is not a 1-D numeric dataset", path, where);
        goto done;
    }
    t->len = (uint64_t)dim;
done:
    if (f >= 0)
        H5Fclose(f);
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
    if (rc != DS_OK) {
        ds_h5_trials_close(t);
        t = NULL;
    }
    *out = t;
    return rc;
}

uint64_t ds_h5_trials_length(const ds_h5_trials *t) { return t ? t->len : 0; }

ds_status ds_h5_trials_read(ds_h5_trials *t, uint64_t first, size_t n, double *buf,
                            ds_diag *diag)
{
    if (first > t->len || n > t->len - first)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "per-trial read [%llu, +%zu) beyond %llu trials",
                           (unsigned long long)first, n, (unsigned long long)t->len);
    if (n == 0)
        return DS_OK;
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_status rc = DS_OK;
    hsize_t start = first, count = n;
    hid_t mem = H5Screate_simple(1, &count, NULL);
    /* HDF5 converts uint8 booleans and uint64 counts to double on read. */
    if (mem < 0 ||
        H5Sselect_hyperslab(t->space, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        H5Dread(t->dset, H5T_NATIVE_DOUBLE, mem, t->space, H5P_DEFAULT, buf) < 0)
        rc = ds_h5_fail(diag, "reading trials [%llu, %llu)", (unsigned long long)first,
                        (unsigned long long)(first + n));
    if (mem >= 0)
        H5Sclose(mem);
    ds_h5_quiet_end(&q);
    return rc;
}

void ds_h5_trials_close(ds_h5_trials *t)
{
    if (!t)
        return;
    if (t->space >= 0)
        H5Sclose(t->space);
    if (t->dset >= 0)
        H5Dclose(t->dset);
    if (t->file >= 0)
        H5Fclose(t->file);
    free(t);
}
