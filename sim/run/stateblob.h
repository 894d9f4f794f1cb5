/* sim/run/stateblob.h
 * A saved state as one byte buffer (private to sim/run: MPI messages).
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_STATEBLOB_H
#define DEALSIM_STATEBLOB_H

#include <stddef.h>

#include "dealsim/error.h"
#include "dealsim/stats.h"

/* The whole state in one malloc'd buffer (*out, *len). */
ds_status ds_state_pack(const ds_state *st, void **out, size_t *len, ds_diag *diag);
/* Rebuilds a state from a buffer made by ds_state_pack; damaged buffers are
 * an error, never an overread. */
ds_status ds_state_unpack(const void *buf, size_t len, ds_state **out, ds_diag *diag);

#endif /* DEALSIM_STATEBLOB_H */
