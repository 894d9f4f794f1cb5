/* include/dealsim/h5in.h
 * Reading a result file back: the saved state of /state (FORMAT.md,
 * file_format_version 2.0).
 * Licence: see LICENSE at the top of the repository.
 *
 * ds_h5_read_state opens a result file read-only and returns every dataset
 * of /state that is not a dimension scale as a ds_state array (name, kind,
 * dims, data; units and long_name from the attributes), with the group's
 * state_version attribute as the version.  It knows nothing of the arrays'
 * meaning: ds_stats_import validates them.  Only 1-, 2- and 0-dimensional
 * 4- or 8-byte integer and 8-byte float datasets are accepted; anything else
 * (another type, rank > 2, more than DS_STATE_MAX_ELEMS elements, fewer
 * bytes stored than declared (unwritten chunks, compression: memory never
 * exceeds what the file holds), a name too long) is DS_ERR_FORMAT.  A file that cannot be opened is DS_ERR_IO;
 * other HDF5 failures are DS_ERR_HDF5 with the library's message.
 */
#ifndef DEALSIM_H5IN_H
#define DEALSIM_H5IN_H

#include <stdint.h>

#include "dealsim/error.h"
#include "dealsim/stats.h"

ds_status ds_h5_read_state(const char *path, ds_state **out, ds_diag *diag);

/* ---- h5summary_read.c: the rest of a result file, for summary and compare */

/* The run facts of a result file (root attributes, README "Root
 * attributes") and its /effective_config. */
typedef struct {
    int32_t format_major, format_minor; /* file_format_version */
    char run_status[32];                /* "complete", "interrupted", ... */
    char scenario[256];
    char software_version[64];
    char created_utc[32], finished_utc[32];
    uint64_t seed, trials, trials_requested, block_size;
    int32_t threads, mpi_ranks;
    double wall_seconds;
    char *effective_config; /* the scenario as run (YAML), malloc'd */
    char *config;           /* /config: the scenario file verbatim, malloc'd (NULL if absent) */
    char *config_path;      /* its `path` attribute, malloc'd, or NULL */
    char precision[256];    /* the run's --precision targets ("total:0.05;..."), or "" */
} ds_h5_file_info;

/* Reads the root attributes and /effective_config.  Errors, each one line:
 * DS_ERR_IO the file cannot be read; DS_ERR_FORMAT not HDF5, HDF5 without
 * dealsim's attributes (file_format_version, run_status, block_size), a
 * file_format_version major newer than this build writes, no seed/trials or
 * no /effective_config; DS_ERR_HDF5 other library failures.  Optional
 * attributes that are absent read as 0 or "".  On failure *out is cleared. */
ds_status ds_h5_read_info(const char *path, ds_h5_file_info *out, ds_diag *diag);
void ds_h5_file_info_clear(ds_h5_file_info *fi); /* frees the strings */

/* A per-trial dataset /trials/<name> open for reading in chunks. */
typedef struct ds_h5_trials ds_h5_trials;
/* Opens it (the file stays open until ds_h5_trials_close); DS_OK with *out
 * NULL when the file has no such dataset.  Not 1-D numeric: DS_ERR_FORMAT. */
ds_status ds_h5_trials_open(const char *path, const char *name, ds_h5_trials **out,
                            ds_diag *diag);
uint64_t ds_h5_trials_length(const ds_h5_trials *t);
/* Trials [first, first + n) as doubles (booleans and counts converted). */
ds_status ds_h5_trials_read(ds_h5_trials *t, uint64_t first, size_t n, double *buf,
                            ds_diag *diag);
void ds_h5_trials_close(ds_h5_trials *t); /* NULL is fine */

#endif /* DEALSIM_H5IN_H */
