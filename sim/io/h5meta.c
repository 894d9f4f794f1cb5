/* sim/io/h5meta.c
 * Reads what a resumed or extended run needs of a result file (h5in.h):
 * root attributes, /config and /effective_config.
 * Licence: see LICENSE at the top of the repository.
 *
 * The file is untrusted: each attribute's type and size is checked before
 * it is read; every failure is a status and a message.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

#include "dealsim/h5in.h"

/* A scalar variable-length string attribute or dataset into a new string. */
static char *ds_h5m_vlen(hid_t obj, int is_attr)
{
    char *out = NULL;
    hid_t t = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
    hid_t sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0 &&
        H5Sget_simple_extent_npoints(sp) == 1) {
        hid_t mt = ds_h5_str_type();
        char *v = NULL;
        herr_t r = mt < 0 ? -1
                   : is_attr ? H5Aread(obj, mt, &v)
                             : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
        if (r >= 0 && v) {
            size_t n = strlen(v) + 1;
            if ((out = malloc(n)))
                memcpy(out, v, n);
            H5free_memory(v);
        }
        if (mt >= 0)
            H5Tclose(mt);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    return out;
}

static char *ds_h5m_attr_str(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return NULL;
    char *s = ds_h5m_vlen(a, 1);
    H5Aclose(a);
    return s;
}

/* An integer attribute with `n` elements into v[n] (as the native type). */
static int ds_h5m_attr_ints(hid_t loc, const char *name, hid_t mem, size_t n, void *v)
{
    if (H5Aexists(loc, name) <= 0)
        return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    int ok = t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER &&
             H5Sget_simple_extent_npoints(sp) == (hssize_t)n && H5Aread(a, mem, v) >= 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

static char *ds_h5m_text(hid_t f, const char *name, char **path_attr)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return NULL;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return NULL;
    char *s = ds_h5m_vlen(d, 0);
    if (path_attr)
        *path_attr = ds_h5m_attr_str(d, "path");
    H5Dclose(d);
    return s;
}

void ds_h5_meta_clear(ds_h5_meta *meta)
{
    if (!meta)
        return;
    free(meta->config);
    free(meta->config_path);
    free(meta->effective);
    memset(meta, 0, sizeof *meta);
}

ds_status ds_h5_read_meta(const char *path, ds_h5_meta *out, ds_diag *diag)
{
    memset(out, 0, sizeof *out);
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_status rc = DS_OK;
    hid_t f = H5I_INVALID_HID;
    char *status = NULL, *name = NULL;
    int32_t ver[2] = {0, 0};
    if (access(path, R_OK) != 0) {
        rc = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot read %s: %s", path,
                         strerror(errno));
        goto done;
    }
    if (H5Fis_hdf5(path) <= 0) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "%s is not an HDF5 file", path);
        goto done;
    }
    if ((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        rc = ds_h5_fail(diag, "opening %s", path);
        goto done;
    }
    if (!ds_h5m_attr_ints(f, "file_format_version", H5T_NATIVE_INT32, 2, ver) ||
        !(status = ds_h5m_attr_str(f, "run_status")) || !(name = ds_h5m_attr_str(f, "scenario")) ||
        !ds_h5m_attr_ints(f, "seed", H5T_NATIVE_UINT64, 1, &out->seed) ||
        !ds_h5m_attr_ints(f, "trials", H5T_NATIVE_UINT64, 1, &out->trials) ||
        !ds_h5m_attr_ints(f, "block_size", H5T_NATIVE_UINT64, 1, &out->block_size)) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "%s is not a dealsim result file (no file_format_version, run_status, "
                         "scenario, seed, trials or block_size attribute)",
                         path);
        goto done;
    }
    if (!ds_h5m_attr_ints(f, "trials_requested", H5T_NATIVE_UINT64, 1, &out->trials_requested))
        out->trials_requested = out->trials;
    out->format_major = ver[0];
    out->format_minor = ver[1];
    snprintf(out->run_status, sizeof out->run_status, "%s", status);
    snprintf(out->scenario, sizeof out->scenario, "%s", name);
    out->config = ds_h5m_text(f, "config", &out->config_path);
    out->effective = ds_h5m_text(f, "effective_config", NULL);
    if (!out->config || !out->effective) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "%s has no readable /config or /effective_config", path);
        goto done;
    }
done:
    free(status);
    free(name);
    if (f >= 0)
        H5Fclose(f);
    (void)H5Eclear2(H5E_DEFAULT);
    ds_h5_quiet_end(&q);
    if (rc != DS_OK)
        ds_h5_meta_clear(out);
    return rc;
}
