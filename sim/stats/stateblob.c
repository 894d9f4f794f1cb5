/* sim/stats/stateblob.c
 * A saved state (stats.h ds_state) as one byte buffer, to send between MPI
 * ranks, and back.
 * Licence: see LICENSE at the top of the repository.
 *
 * Layout (native byte order: ranks of one job share it): the magic
 * "DSSTATE1", the state version and the array count (u64 each), then per
 * array: name, dim names, units and long name as length-prefixed strings,
 * kind and rank (u64), dims (u64 x DS_STATE_MAX_RANK), the data.  Unpacking
 * checks every length against the buffer, so a short or damaged buffer is
 * an error, never an overread.
 */
#include "dealsim/stats.h"

#include <stdlib.h>
#include <string.h>

static const char ds_blob_magic[8] = {'D', 'S', 'S', 'T', 'A', 'T', 'E', '1'};

typedef struct {
    unsigned char *p;
    size_t len, cap;
    int failed;
} blob_writer;

static void bw_put(blob_writer *w, const void *data, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        unsigned char *q = realloc(w->p, cap);
        if (!q) {
            w->failed = 1;
            return;
        }
        w->p = q;
        w->cap = cap;
    }
    memcpy(w->p + w->len, data, n);
    w->len += n;
}

static void bw_u64(blob_writer *w, uint64_t v) { bw_put(w, &v, sizeof v); }

static void bw_str(blob_writer *w, const char *s)
{
    uint64_t n = s ? (uint64_t)strlen(s) : UINT64_MAX; /* UINT64_MAX: NULL */
    bw_u64(w, n);
    if (s)
        bw_put(w, s, (size_t)n);
}

static size_t array_elems(const ds_state_array *a)
{
    size_t n = 1;
    for (size_t r = 0; r < a->rank; ++r)
        n *= (size_t)a->dims[r];
    return n;
}

ds_status ds_state_pack(const ds_state *st, void **out, size_t *len, ds_diag *diag)
{
    blob_writer w = {NULL, 0, 0, 0};
    bw_put(&w, ds_blob_magic, sizeof ds_blob_magic);
    bw_u64(&w, st->version);
    bw_u64(&w, (uint64_t)st->n);
    for (size_t i = 0; i < st->n; ++i) {
        const ds_state_array *a = &st->a[i];
        bw_str(&w, a->name);
        for (size_t r = 0; r < DS_STATE_MAX_RANK; ++r)
            bw_str(&w, a->dim_names[r]);
        bw_str(&w, a->units);
        bw_str(&w, a->long_name);
        bw_u64(&w, (uint64_t)a->kind);
        bw_u64(&w, (uint64_t)a->rank);
        for (size_t r = 0; r < DS_STATE_MAX_RANK; ++r)
            bw_u64(&w, a->dims[r]);
        bw_put(&w, a->data, array_elems(a) * ds_state_kind_size(a->kind));
    }
    if (w.failed) {
        free(w.p);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (packing a state)");
    }
    *out = w.p;
    *len = w.len;
    return DS_OK;
}

typedef struct {
    const unsigned char *p;
    size_t len, pos;
} blob_reader;

static int br_get(blob_reader *r, void *data, size_t n)
{
    if (n > r->len - r->pos)
        return 0;
    memcpy(data, r->p + r->pos, n);
    r->pos += n;
    return 1;
}

static int br_u64(blob_reader *r, uint64_t *v) { return br_get(r, v, sizeof *v); }

/* A string into buf[size] (NULL strings give *is_null); 0 when damaged. */
static int br_str(blob_reader *r, char *buf, size_t size, int *is_null)
{
    uint64_t n;
    if (!br_u64(r, &n))
        return 0;
    *is_null = n == UINT64_MAX;
    if (*is_null) {
        buf[0] = '\0';
        return 1;
    }
    if (n >= size || !br_get(r, buf, (size_t)n))
        return 0;
    buf[n] = '\0';
    return 1;
}

/* Longest units / long_name string accepted from a buffer. */
#define DS_BLOB_TEXT_MAX 4096

ds_status ds_state_unpack(const void *buf, size_t len, ds_state **out, ds_diag *diag)
{
    *out = NULL;
    blob_reader r = {buf, len, 0};
    char magic[sizeof ds_blob_magic];
    uint64_t version, n;
    if (!br_get(&r, magic, sizeof magic) || memcmp(magic, ds_blob_magic, sizeof magic) != 0 ||
        !br_u64(&r, &version) || !br_u64(&r, &n) || version > UINT32_MAX)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "a packed state is damaged");
    ds_state *st = ds_state_alloc((uint32_t)version);
    char *units = malloc(DS_BLOB_TEXT_MAX), *longn = malloc(DS_BLOB_TEXT_MAX);
    ds_status s = DS_OK;
    if (!st || !units || !longn) {
        s = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (unpacking a state)");
        goto done;
    }
    for (uint64_t i = 0; i < n; ++i) {
        char name[DS_STATE_NAME_MAX];
        char dn[DS_STATE_MAX_RANK][DS_STATE_NAME_MAX];
        const char *dnp[DS_STATE_MAX_RANK];
        int null_name, null_dn, null_units, null_long;
        uint64_t kind, rank, dims[DS_STATE_MAX_RANK];
        int ok = br_str(&r, name, sizeof name, &null_name) && !null_name;
        for (size_t d = 0; ok && d < DS_STATE_MAX_RANK; ++d) {
            ok = br_str(&r, dn[d], sizeof dn[d], &null_dn);
            dnp[d] = dn[d];
        }
        ok = ok && br_str(&r, units, DS_BLOB_TEXT_MAX, &null_units) &&
             br_str(&r, longn, DS_BLOB_TEXT_MAX, &null_long) && br_u64(&r, &kind) &&
             br_u64(&r, &rank) && kind <= (uint64_t)DS_STATE_I32 && rank <= DS_STATE_MAX_RANK;
        for (size_t d = 0; ok && d < DS_STATE_MAX_RANK; ++d)
            ok = br_u64(&r, &dims[d]);
        if (!ok) {
            s = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "a packed state is damaged");
            goto done;
        }
        void *data = NULL;
        s = ds_state_add(st, name, (ds_state_kind)kind, (size_t)rank, dims, dnp,
                         null_units ? NULL : units, null_long ? NULL : longn, &data);
        if (s != DS_OK) {
            ds_diag_set(diag, s, NULL, 0, 0, "cannot rebuild array %s of a packed state", name);
            goto done;
        }
        size_t elems = array_elems(&st->a[st->n - 1]);
        if (!br_get(&r, data, elems * ds_state_kind_size((ds_state_kind)kind))) {
            s = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "a packed state is truncated");
            goto done;
        }
    }
    if (r.pos != r.len)
        s = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "a packed state has trailing bytes");
done:
    free(units);
    free(longn);
    if (s != DS_OK) {
        ds_state_free(st);
        return s;
    }
    *out = st;
    return DS_OK;
}
