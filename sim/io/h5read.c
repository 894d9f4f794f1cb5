/* sim/io/h5read.c
 * Reads /state of a result file back into a generic ds_state (h5in.h).
 * Licence: see LICENSE at the top of the repository.
 *
 * The file is untrusted: every type, rank and size is checked before
 * anything is allocated or read, and every HDF5 failure becomes a status and
 * a message (never a crash, never HDF5's own error printout).
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

#include "dealsim/h5in.h"


/* One dataset into st (scales are skipped). */
static ds_status ds_h5r_dataset(hid_t g, const char *name, ds_state *st, ds_diag *diag)
{
    ds_status rc = DS_OK;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    hid_t t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    if (d < 0)
        return ds_h5_fail(diag, "opening /state/%s", name);
    htri_t scale = H5DSis_scale(d);
    if (scale < 0) {
        rc = ds_h5_fail(diag, "inspecting /state/%s", name);
        goto done;
    }
    if (scale > 0)
        goto done;
    t = H5Dget_type(d);
    sp = H5Dget_space(d);
    if (t < 0 || sp < 0) {
        rc = ds_h5_fail(diag, "reading the type of /state/%s", name);
        goto done;
    }
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    ds_state_kind kind;
    hid_t mem;
    if (cls == H5T_FLOAT && size == 8) {
        kind = DS_STATE_F64;
        mem = H5T_NATIVE_DOUBLE;
    } else if (cls == H5T_INTEGER && size == 8) {
        int sign = H5Tget_sign(t) == H5T_SGN_2;
        kind = sign ? DS_STATE_I64 : DS_STATE_U64;
        mem = sign ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
    } else if (cls == H5T_INTEGER && size == 4 && H5Tget_sign(t) == H5T_SGN_2) {
        kind = DS_STATE_I32;
        mem = H5T_NATIVE_INT32;
    } else {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "/state/%s: not a 4/8-byte integer or 8-byte float dataset", name);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[DS_STATE_MAX_RANK] = {0, 0};
    if (rank < 0 || rank > DS_STATE_MAX_RANK ||
        H5Sget_simple_extent_type(sp) == H5S_NULL ||
        H5Sget_simple_extent_dims(sp, dims, NULL) != rank) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "/state/%s: rank %d (at most %d)", name, rank, DS_STATE_MAX_RANK);
        goto done;
    }
    uint64_t u[DS_STATE_MAX_RANK] = {0, 0}, elems = 1;
    for (int r = 0; r < rank; r++) {
        u[r] = (uint64_t)dims[r];
        if (u[r] != 0 && elems > DS_STATE_MAX_ELEMS / u[r]) {
            elems = DS_STATE_MAX_ELEMS + 1;
            break;
        }
        elems *= u[r];
    }
    if (elems > DS_STATE_MAX_ELEMS) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "/state/%s: more than %llu elements", name,
                         (unsigned long long)DS_STATE_MAX_ELEMS);
        goto done;
    }
    /* Memory follows the file: a dataset must store every byte it declares
     * (dealsim writes /state uncompressed), so a tiny hostile file cannot
     * make the reader allocate gigabytes of fill values. */
    if (elems > 0 && (uint64_t)H5Dget_storage_size(d) < elems * (uint64_t)size) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "/state/%s: declares %llu elements but stores only %llu bytes "
                         "(unwritten or compressed)",
                         name, (unsigned long long)elems,
                         (unsigned long long)H5Dget_storage_size(d));
        goto done;
    }
    char *units = ds_h5_attr_read_str(d, "units"), *ln = ds_h5_attr_read_str(d, "long_name");
    void *data = NULL;
    rc = ds_state_add(st, name, kind, (size_t)rank, u, NULL, units, ln, &data);
    free(units);
    free(ln);
    if (rc == DS_ERR_INTERNAL)
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "/state/%s: a duplicate or bad array",
                         name);
    else if (rc != DS_OK)
        rc = ds_diag_set(diag, rc, NULL, 0, 0, "out of memory reading /state/%s", name);
    else if (elems > 0 && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        rc = ds_h5_fail(diag, "reading /state/%s", name);
done:
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    H5Dclose(d);
    return rc;
}

static ds_status ds_h5r_group(hid_t file, ds_state **out, ds_diag *diag)
{
    ds_status rc = DS_OK;
    ds_state *st = NULL;
    htri_t has = H5Lexists(file, "/state", H5P_DEFAULT);
    if (has <= 0)
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "the file has no /state group");
    hid_t g = H5Gopen2(file, "/state", H5P_DEFAULT);
    if (g < 0)
        return ds_h5_fail(diag, "opening /state");
    int32_t version = -1;
    hid_t a = H5Aexists(g, "state_version") > 0 ? H5Aopen(g, "state_version", H5P_DEFAULT)
                                                : H5I_INVALID_HID;
    hid_t as = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    hid_t at = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    int ok = a >= 0 && as >= 0 && at >= 0 && H5Tget_class(at) == H5T_INTEGER &&
             H5Sget_simple_extent_npoints(as) == 1 &&
             H5Aread(a, H5T_NATIVE_INT32, &version) >= 0 && version >= 0;
    if (at >= 0)
        H5Tclose(at);
    if (as >= 0)
        H5Sclose(as);
    if (a >= 0)
        H5Aclose(a);
    (void)H5Eclear2(H5E_DEFAULT);
    if (!ok) {
        rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "/state has no integer state_version attribute");
        goto done;
    }
    if (!(st = ds_state_alloc((uint32_t)version))) {
        rc = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory reading /state");
        goto done;
    }
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0) {
        rc = ds_h5_fail(diag, "listing /state");
        goto done;
    }
    for (hsize_t i = 0; i < info.nlinks && rc == DS_OK; i++) {
        char name[DS_STATE_NAME_MAX + 1];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                         sizeof name, H5P_DEFAULT);
        if (len < 0) {
            rc = ds_h5_fail(diag, "listing /state");
            break;
        }
        if ((size_t)len >= sizeof name - 1) {
            rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                             "/state: a member name is too long (%zd bytes)", len);
            break;
        }
        H5O_info_t oi;
#if H5_VERS_MAJOR > 1 || H5_VERS_MINOR >= 12
        herr_t e = H5Oget_info_by_name3(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT);
#else
        herr_t e = H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT);
#endif
        if (e < 0) {
            rc = ds_h5_fail(diag, "inspecting /state/%s", name);
            break;
        }
        if (oi.type != H5O_TYPE_DATASET) {
            rc = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "/state/%s is not a dataset",
                             name);
            break;
        }
        rc = ds_h5r_dataset(g, name, st, diag);
    }
done:
    H5Gclose(g);
    if (rc != DS_OK) {
        ds_state_free(st);
        return rc;
    }
    *out = st;
    return DS_OK;
}

ds_status ds_h5_read_state(const char *path, ds_state **out, ds_diag *diag)
{
    *out = NULL;
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    ds_status rc;
    hid_t f = H5I_INVALID_HID;
    if (access(path, R_OK) != 0) {
        rc = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot read %s: %s", path,
                         strerror(errno));
        goto done;
    }
    if ((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        rc = ds_h5_fail(diag, "opening %s (not an HDF5 file?)", path);
        goto done;
    }
    rc = ds_h5r_group(f, out, diag);
done:
    if (f >= 0)
        H5Fclose(f);
    ds_h5_quiet_end(&q);
    return rc;
}
