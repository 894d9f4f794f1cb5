/* include/dealsim/par.h
 * MPI ranks as the rest of the program sees them: who am I, how many are
 * we, and the few collective operations a run needs.  Without MPI (the
 * default build) there is one rank and every operation is local.
 * Licence: see LICENSE at the top of the repository.
 *
 * par.c is the only file that includes <mpi.h> apart from the parallel
 * HDF5 file access in sim/io (which needs MPI_COMM_WORLD for its driver).
 * Every function here is collective unless it says otherwise: all ranks
 * call it in the same order.  MPI's default error handler is kept
 * (MPI_ERRORS_ARE_FATAL), so a rank that dies or fails inside MPI ends the
 * whole job through mpirun instead of leaving the others waiting.
 */
#ifndef DEALSIM_PAR_H
#define DEALSIM_PAR_H

#include <stddef.h>
#include <stdint.h>

#include "dealsim/error.h"

/* Starts MPI when built with it (threads: MPI_THREAD_SERIALIZED, since the
 * writer thread performs parallel HDF5 I/O while the main thread waits). */
ds_status ds_par_init(int *argc, char ***argv, ds_diag *diag);
void ds_par_finalize(void);
int ds_par_built_with_mpi(void); /* local */
int ds_par_rank(void);           /* local */
int ds_par_size(void);           /* local */

/* Max / sum over ranks. */
int ds_par_max_int(int v);
uint64_t ds_par_sum_u64(uint64_t v);
/* Rank 0's `n` bytes to every rank. */
void ds_par_bcast(void *buf, size_t n);
/* Rank 0 gets every rank's buffer (its own included) as one malloc'd array
 * of `size()` pointers with their lengths; other ranks get NULL.  Free with
 * ds_par_free_gathered.  DS_ERR_NOMEM on rank 0 is returned on every rank. */
ds_status ds_par_gather(const void *buf, size_t n, void ***bufs, size_t **lens, ds_diag *diag);
void ds_par_free_gathered(void **bufs, size_t *lens);
/* Point to point (not collective): n bytes to rank `to`; from rank `from`
 * into a new malloc'd buffer (*buf, *n; n may be 0). */
void ds_par_send(int to, const void *buf, size_t n);
ds_status ds_par_recv(int from, void **buf, size_t *n, ds_diag *diag);
/* Every rank's outcome of a step becomes everybody's: when some rank
 * failed, every rank returns the first failing rank's status and rank 0's
 * diagnostic holds its message ("rank N: ..."), so that rank 0 alone
 * prints.  One rank: st unchanged. */
ds_status ds_par_agree(ds_status st, ds_diag *diag);
/* Ends every rank now (MPI_Abort) with `code` (local; never returns). */
_Noreturn void ds_par_abort(int code);
void ds_par_barrier(void);

#endif /* DEALSIM_PAR_H */
