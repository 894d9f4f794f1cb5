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

/* What a resumed or extended run needs to know of a result file
 * (h5meta.c): its format, status and the scenario it ran, verbatim. */
typedef struct {
    int format_major, format_minor;
    char run_status[32];  /* "complete", "interrupted", ... */
    char scenario[256];   /* the scenario's name */
    uint64_t seed;
    uint64_t trials;      /* trials in the file */
    uint64_t trials_requested;
    uint64_t block_size;
    char *config;         /* /config: the scenario file verbatim */
    char *config_path;    /* its `path` attribute, or NULL */
    char *effective;      /* /effective_config: the scenario as run */
} ds_h5_meta;

/* Reads the root attributes, /config and /effective_config.  A missing or
 * unreadable file is DS_ERR_IO; a file that is not HDF5, or an HDF5 file
 * without dealsim's attributes, is DS_ERR_FORMAT with a message that says
 * so.  Free with ds_h5_meta_clear. */
ds_status ds_h5_read_meta(const char *path, ds_h5_meta *out, ds_diag *diag);
void ds_h5_meta_clear(ds_h5_meta *meta);

#endif /* DEALSIM_H5IN_H */
