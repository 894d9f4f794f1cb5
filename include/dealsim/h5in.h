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

#include "dealsim/error.h"
#include "dealsim/stats.h"

ds_status ds_h5_read_state(const char *path, ds_state **out, ds_diag *diag);

#endif /* DEALSIM_H5IN_H */
