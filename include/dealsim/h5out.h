/* include/dealsim/h5out.h
 * The result file (FORMAT.md, file_format_version 3.0): summaries, per-trial
 * datasets written block by block, provenance, the mergeable state.
 * Licence: see LICENSE at the top of the repository.
 *
 * sim/io is the only folder that includes HDF5 (h5out.c the life cycle,
 * h5trials.c the per-trial rows).  Life cycle:
 *
 *   ds_h5out_open     checks the target, takes "<file>.lock", creates the
 *                     private "<file>.partial.<pid>.<random>" exclusively
 *                     (refusals are DS_ERR_USAGE, before anything is
 *                     created), writes /config and /effective_config,
 *                     creates the chunked per-trial datasets of /trials
 *                     and /inputs (output.per_trial_inputs: every drawn
 *                     input a trial, h5inputs.c) sized for the requested
 *                     trials;
 *   ds_h5out_write_block   writes one block's per-trial values at their final
 *                     offsets (blocks arrive in order; nothing is held whole);
 *   ds_h5out_finish   writes /summary, /histograms, /investors, /coalitions,
 *                     /price_fan, /convergence, /state and the root
 *                     attributes, shrinks /trials to the trials completed
 *                     (an interrupted run), closes, fsyncs, renames to
 *                     <file>, fsyncs the directory, drops the lock;
 *   ds_h5out_abort    on failure: closes and removes its partial, the lock
 *                     file and the directories open created, so a failed
 *                     run leaves nothing behind... and never touches an
 *                     existing <file> or another run's partial.
 *
 * Every dataset carries `units` and `long_name`; every axis has an HDF5
 * dimension scale, so xarray.open_dataset(path, engine="h5netcdf", group=G)
 * opens every group.
 */
#ifndef DEALSIM_H5OUT_H
#define DEALSIM_H5OUT_H

#include <stddef.h>
#include <stdint.h>

#include "dealsim/error.h"
#include "dealsim/model.h"
#include "dealsim/sink.h"
#include "dealsim/stats.h"

/* file_format_version of the files this build writes (and continues):
 * major changes when the layout or the results' bits change, minor for
 * additions a reader may ignore. */
#define DS_FILE_FORMAT_MAJOR 3
#define DS_FILE_FORMAT_MINOR 1

typedef struct ds_h5out ds_h5out;

/* The run facts written as root attributes are a ds_run_info (sink.h). */

/* Opens the writer.  `effective_yaml` is ds_scenario_to_yaml's text.
 * Refused with DS_ERR_USAGE (exit 2), before anything is created: a target
 * that is not absent or a regular file (or a symlink to one), a parent that
 * is not an existing-or-creatable writable directory, an existing `path`
 * with force == 0 ("exists; use --force"), another run holding
 * "<path>.lock".  Creates missing parent directories of path. */
ds_status ds_h5out_open(const char *path, int force, const ds_model *m, uint64_t trials,
                        const char *effective_yaml, ds_h5out **out, ds_diag *diag);

/* True when the scenario asks for per-trial data (so the driver calls
 * ds_h5out_write_block). */
int ds_h5out_wants_trials(const ds_h5out *w);

/* Writes one block's per-trial data; blocks must come in order. */
ds_status ds_h5out_write_block(ds_h5out *w, const ds_block *blk, ds_diag *diag);

/* Writes the summaries and attributes, closes and renames.  Frees w, also
 * on failure (then the partial file is removed). */
ds_status ds_h5out_finish(ds_h5out *w, const ds_stats *st, const ds_run_info *info,
                          ds_diag *diag);

/* A checkpoint: the summaries so far (finalized, run_status "interrupted",
 * no /trials rows) in a whole file written beside the target, flushed and
 * renamed over it, so the target always holds the last whole checkpoint
 * and the one before is replaced only once the new one is on disk.  The
 * run goes on writing its partial. */
ds_status ds_h5out_checkpoint(ds_h5out *w, const ds_stats *st, const ds_run_info *info,
                              ds_diag *diag);

/* Closes and removes the partial file; frees w.  NULL is fine. */
void ds_h5out_abort(ds_h5out *w);

/* The writer as a sink (sink.h): write_block, finish and abort forward to
 * the functions above; the sink owns w from then on. */
void ds_h5out_as_sink(ds_h5out *w, ds_sink *out);

/* MPI runs (h5mpi.c).  Rank 0 opens with ds_h5out_open_for_ranks (chunks
 * allocated as the extent grows, so ranks may write them independently),
 * suspends (closes the file, keeps the lock and the names) and tells every
 * rank ds_h5out_partial_path; every rank then attaches (parallel HDF5,
 * collective), grows the per-trial extent together before each round
 * (collective: every rank the same rows), writes its own blocks, and
 * detaches (collective); rank 0 then reopens its writer with the rows
 * written and finishes it as in a serial run.  Compression is not
 * available to MPI runs (parallel HDF5 filters need collective writes). */
ds_status ds_h5out_open_for_ranks(const char *path, int force, const ds_model *m, uint64_t trials,
                                  const char *effective_yaml, ds_h5out **out, ds_diag *diag);
const char *ds_h5out_partial_path(const ds_h5out *w);
ds_status ds_h5out_suspend(ds_h5out *w, ds_diag *diag);
ds_status ds_h5out_reopen(ds_h5out *w, uint64_t rows, ds_diag *diag);
ds_status ds_h5out_attach(const char *partial, const ds_model *m, uint64_t trials,
                          ds_h5out **out, ds_diag *diag);
ds_status ds_h5out_grow(ds_h5out *w, uint64_t rows, ds_diag *diag);
ds_status ds_h5out_detach(ds_h5out *w, ds_diag *diag); /* frees w */

/* The HDF5 library version as "1.10.8". */
const char *ds_h5out_library_version(char *buf, size_t size);

#endif /* DEALSIM_H5OUT_H */
