/* sim/io/h5_internal.h
 * Private to sim/io: the shared HDF5 helpers, the writer's state and the
 * summary writers' context.  Nothing here is public API (h5out.h is).
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_H5_INTERNAL_H
#define DEALSIM_H5_INTERNAL_H


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
#include "safefile_internal.h"

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
#define DS_H5_FORMAT_MAJOR DS_FILE_FORMAT_MAJOR
#define DS_H5_FORMAT_MINOR DS_FILE_FORMAT_MINOR

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

/* Saved automatic error printing, restored at the end of each public call. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} ds_h5_quiet;

typedef struct {
    char text[256];
} ds_h5_detail;

typedef enum { DS_H5_F64 = 0, DS_H5_U64, DS_H5_I32, DS_H5_U8, DS_H5_STR, DS_H5_I64 } ds_h5_kind;


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

/* The writer (h5out.c; its /trials in h5trials.c, /inputs in h5inputs.c). */
struct ds_h5out {
    char *effective; /* /effective_config, kept for checkpoints */
    ds_safefile sf; /* the final name, the private partial, the lock */
    const char *path;    /* sf.path: the final file */
    const char *partial; /* sf.partial: "<file>.partial.<pid>.<random>" */
    hid_t file;
    const ds_model *model;
    const ds_scenario *sc;
    size_t n_outputs, n_investors, horizon;
    int valuation;

    /* /trials */
    uint64_t trials; /* requested: the initial extent along `trial` */
    uint64_t next;   /* first trial of the next block expected */
    int want;        /* any per-trial data: /trials or /inputs */
    int want_trials; /* /trials */
    hid_t trial;     /* the `trial` scale */
    hid_t out[DS_OUT_COUNT];
    hid_t amount, paid, joined, stake, price;
    uint64_t *u64;   /* [DS_BLOCK_SIZE] conversion buffers */
    uint8_t *u8;

    /* /inputs (h5inputs.c): output.per_trial_inputs */
    int want_inputs;
    hid_t in_trial, in_value; /* its `trial` scale and value[trial, input] */
    size_t n_in;     /* columns: the inputs that are drawn (fixed ones left out) */
    size_t *in_cols; /* [n_in] their indices into the scenario's inputs */
    double *in_buf;  /* [in_rows * n_in]: rows of a block, row-major */
    size_t in_rows;

    /* MPI runs (h5mpi.c). */
    int for_ranks;   /* datasets allocated early, as parallel writes need */
    int shared;      /* opened by every rank: rows grow collectively */
    uint64_t rows;   /* shared: the extent every rank agreed on */
    char *own_partial; /* shared: this rank's copy of the partial's name */
};

/* What the summary and state writers read (h5out.c fills it at finish). */
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

/* h5util.c */
void ds_h5_quiet_begin(ds_h5_quiet *q);
void ds_h5_quiet_end(const ds_h5_quiet *q);
ds_status ds_h5_fail(ds_diag *diag, const char *fmt, ...);
hid_t ds_h5_str_type(void);
hid_t ds_h5_file_type(ds_h5_kind k, hid_t str);
ds_status ds_h5_attr(hid_t obj, const char *where, const char *name, ds_h5_kind k,
        size_t n, const void *value, ds_diag *diag);
ds_status ds_h5_attr_str(hid_t obj, const char *where, const char *name,
        const char *value, ds_diag *diag);
ds_status ds_h5_attr_u64(hid_t obj, const char *where, const char *name, uint64_t v,
        ds_diag *diag);
ds_status ds_h5_attr_i32(hid_t obj, const char *where, const char *name, int32_t v,
        ds_diag *diag);
ds_status ds_h5_attr_f64(hid_t obj, const char *where, const char *name, double v,
        ds_diag *diag);
ds_status ds_h5_annotate(hid_t obj, const char *where, const char *units,
        const char *long_name, ds_diag *diag);
hid_t ds_h5_group_create(hid_t loc, const char *name);
void ds_gw_open(ds_gw *g, hid_t file, const char *path, ds_diag *diag);
ds_status ds_gw_close(ds_gw *g);
ds_status ds_gw_attr_str(ds_gw *g, const char *var, const char *name, const char *value);
ds_status ds_gw_attr_f64(ds_gw *g, const char *var, const char *name, double value);
void ds_gw_var(ds_gw *g, const char *name, ds_h5_kind k, size_t rank,
                      const char *const *dims, const void *data, const char *units,
                      const char *long_name);
void ds_gw_dim(ds_gw *g, const char *name, size_t len, ds_h5_kind k, const void *data,
                      const char *units, const char *long_name);
/* A string attribute (variable- or fixed-length, one element) as a new
 * string; NULL when absent, not a string or out of memory (readers treat
 * such attributes as optional or say what is missing). */
char *ds_h5_attr_read_str(hid_t obj, const char *name);
void ds_gw_dim_index(ds_gw *g, const char *name, size_t len, const char *long_name);
/* h5out.c, for h5mpi.c */
ds_status ds_h5out_close_all(ds_h5out *w, ds_diag *diag);
void ds_h5out_free(ds_h5out *w);
/* The model's facts a writer keeps (sizes, per-trial wanted). */
void ds_h5out_set_model(ds_h5out *w, const ds_model *m, uint64_t trials);
/* h5mpi.c: opens the existing /trials datasets of w->file by name. */
ds_status ds_h5out_open_trial_vars(ds_h5out *w, ds_diag *diag);

/* h5trials.c: /trials and the per-trial row layout /inputs shares. */
/* Creates /trials with what output.per_trial and output.price_paths ask for
 * (at open, after ds_h5out_set_model; w->file open). */
ds_status ds_h5out_create_trials(ds_h5out *w, ds_diag *diag);
/* Sets the extent of every per-trial dataset (/trials and /inputs) to
 * `done` trials. */
ds_status ds_h5out_set_rows(ds_h5out *w, uint64_t done, ds_diag *diag);
/* The per-trial dataset /<gname>/<name>: chunked, extendible along trial
 * (axis 0 gets trial_scale unless < 0), [trial] when col_scale < 0, else
 * [trial, cols]; optionally compressed. */
ds_status ds_h5out_create_row_var(ds_h5out *w, hid_t group, const char *gname, hid_t trial_scale,
                                  hid_t str, const char *name, ds_h5_kind k, size_t cols,
                                  hid_t col_scale, const char *units, const char *long_name,
                                  hid_t *out, ds_diag *diag);
/* Rows [first, first + n) of /<gname>/<name> from buf (cols 0: 1-D). */
ds_status ds_h5_write_rows_in(hid_t d, const char *gname, const char *name, uint64_t first,
                              size_t n, size_t cols, hid_t mem_type, const void *buf,
                              ds_diag *diag);

/* h5inputs.c: /inputs.  prepare sizes it and allocates its buffers (after
 * ds_h5out_set_model); create makes the group at open; write_inputs writes
 * one block's rows (w->u64 holding the block's trial indices). */
ds_status ds_h5out_inputs_prepare(ds_h5out *w, ds_diag *diag);
ds_status ds_h5out_create_inputs(ds_h5out *w, ds_diag *diag);
ds_status ds_h5out_write_inputs(ds_h5out *w, const ds_block *blk, ds_diag *diag);
/* An input's input_kind ("dist", "join_uniform", "tranche_uniform") and
 * input_units, as /inputs and /sensitivity label it. */
const char *ds_h5_input_kind_name(ds_input_kind k);
const char *ds_h5_input_units(const ds_input *in);

/* h5summary.c */
void ds_h5_output_dim(ds_gw *g, const ds_h5_sum *s);
ds_status ds_h5_write_summary(hid_t file, const ds_h5_sum *s, ds_diag *diag);
/* The attributes "rule" and the threshold it compares with (minimum_close,
 * target, cap) of output o on obj; nothing for outputs without one. */
ds_status ds_h5_threshold_attrs(hid_t obj, const char *where, const ds_scenario *sc, ds_output o,
                                ds_diag *diag);
ds_status ds_h5_write_histograms(hid_t file, const ds_h5_sum *s, ds_diag *diag);
ds_status ds_h5_write_investors(hid_t file, const ds_h5_sum *s, ds_diag *diag);
ds_status ds_h5_write_coalitions(hid_t file, const ds_h5_sum *s, ds_diag *diag);
ds_status ds_h5_write_price_fan(hid_t file, const ds_h5_sum *s, ds_diag *diag);
ds_status ds_h5_write_convergence(hid_t file, const ds_h5_sum *s, ds_diag *diag);
/* h5sensitivity.c: the /sensitivity group (absent when the state has no records). */
ds_status ds_h5_write_sensitivity(hid_t file, const ds_h5_sum *s, ds_diag *diag);
/* h5conditional.c: the /conditional group (absent without the conditional
 * state), the "if it joins" variables of /investors and the per-coalition
 * ones of /coalitions (rows c[0..nc)), written into an open group. */
ds_status ds_h5_write_conditional(hid_t file, const ds_h5_sum *s, ds_diag *diag);
void ds_h5_investors_if_joined(ds_gw *g, const ds_h5_sum *s);
ds_status ds_h5_coalitions_cond(ds_gw *g, const ds_h5_sum *s, const ds_coalition *c, size_t nc);
/* h5state.c */
ds_status ds_h5_write_state(hid_t file, const ds_h5_sum *s, ds_diag *diag);

#endif /* DEALSIM_H5_INTERNAL_H */
