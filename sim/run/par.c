/* sim/run/par.c
 * MPI ranks (par.h); with one rank and no MPI in the default build.
 * Licence: see LICENSE at the top of the repository.
 */
#include "dealsim/par.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DS_HAVE_MPI
#include <mpi.h>

/* Chunks of a gather are sent as MPI_BYTE counts, which are ints. */
#define DS_PAR_MAX_MSG ((size_t)1 << 30)

ds_status ds_par_init(int *argc, char ***argv, ds_diag *diag)
{
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "MPI_Init_thread failed");
    if (provided < MPI_THREAD_SERIALIZED)
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "this MPI does not provide MPI_THREAD_SERIALIZED (got level %d)",
                           provided);
    return DS_OK;
}

void ds_par_finalize(void)
{
    int done = 0;
    MPI_Finalized(&done);
    if (!done)
        MPI_Finalize();
}

int ds_par_built_with_mpi(void) { return 1; }

int ds_par_rank(void)
{
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int ds_par_size(void)
{
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

int ds_par_max_int(int v)
{
    int out = v;
    MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

uint64_t ds_par_sum_u64(uint64_t v)
{
    uint64_t out = v;
    MPI_Allreduce(&v, &out, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return out;
}

void ds_par_bcast(void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        size_t k = n < DS_PAR_MAX_MSG ? n : DS_PAR_MAX_MSG;
        MPI_Bcast(p, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD);
        p += k;
        n -= k;
    }
}

void ds_par_barrier(void) { MPI_Barrier(MPI_COMM_WORLD); }

_Noreturn void ds_par_abort(int code)
{
    MPI_Abort(MPI_COMM_WORLD, code);
    abort(); /* MPI_Abort does not return; this says so to the compiler */
}

ds_status ds_par_gather(const void *buf, size_t n, void ***bufs, size_t **lens, ds_diag *diag)
{
    const int rank = ds_par_rank(), size = ds_par_size();
    *bufs = NULL;
    *lens = NULL;
    uint64_t mine = n;
    uint64_t *all = NULL;
    int ok = 1;
    if (rank == 0) {
        all = calloc((size_t)size, sizeof *all);
        *bufs = calloc((size_t)size, sizeof **bufs);
        *lens = calloc((size_t)size, sizeof **lens);
        ok = all && *bufs && *lens;
    }
    MPI_Gather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    for (int r = 1; rank == 0 && ok && r < size; ++r)
        if (!((*bufs)[r] = malloc(all[r] ? (size_t)all[r] : 1)))
            ok = 0;
    ok = ds_par_max_int(!ok) == 0;
    if (!ok) {
        free(all);
        ds_par_free_gathered(*bufs, *lens);
        *bufs = NULL;
        *lens = NULL;
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (gathering ranks)");
    }
    if (rank == 0) {
        if (!((*bufs)[0] = malloc(n ? n : 1))) {
            /* Cannot happen in practice after the check above; keep going
             * so the other ranks are not left waiting. */
            ok = 0;
        } else {
            memcpy((*bufs)[0], buf, n);
            (*lens)[0] = n;
        }
        for (int r = 1; r < size; ++r) {
            char *p = (*bufs)[r];
            size_t left = (size_t)all[r];
            (*lens)[r] = left;
            while (left > 0) {
                size_t k = left < DS_PAR_MAX_MSG ? left : DS_PAR_MAX_MSG;
                MPI_Recv(p, (int)k, MPI_BYTE, r, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                p += k;
                left -= k;
            }
        }
    } else {
        const char *p = buf;
        size_t left = n;
        while (left > 0) {
            size_t k = left < DS_PAR_MAX_MSG ? left : DS_PAR_MAX_MSG;
            MPI_Send(p, (int)k, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
            p += k;
            left -= k;
        }
    }
    free(all);
    if (!ok) {
        ds_par_free_gathered(*bufs, *lens);
        *bufs = NULL;
        *lens = NULL;
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (gathering ranks)");
    }
    return DS_OK;
}

void ds_par_send(int to, const void *buf, size_t n)
{
    uint64_t len = n;
    MPI_Send(&len, 1, MPI_UINT64_T, to, 11, MPI_COMM_WORLD);
    const char *p = buf;
    while (n > 0) {
        size_t k = n < DS_PAR_MAX_MSG ? n : DS_PAR_MAX_MSG;
        MPI_Send(p, (int)k, MPI_BYTE, to, 12, MPI_COMM_WORLD);
        p += k;
        n -= k;
    }
}

ds_status ds_par_recv(int from, void **buf, size_t *n, ds_diag *diag)
{
    uint64_t len = 0;
    MPI_Recv(&len, 1, MPI_UINT64_T, from, 11, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    char *p = malloc(len ? (size_t)len : 1);
    *buf = p;
    *n = (size_t)len;
    if (!p) {
        /* The sender is blocked in its send: nothing but ending the job
         * keeps it from waiting forever. */
        ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (a message from rank %d)",
                    from);
        fprintf(stderr, "dealsim: error: rank %d: %s\n", ds_par_rank(), diag ? diag->msg : "");
        ds_par_abort(1);
    }
    size_t left = (size_t)len;
    while (left > 0) {
        size_t k = left < DS_PAR_MAX_MSG ? left : DS_PAR_MAX_MSG;
        MPI_Recv(p, (int)k, MPI_BYTE, from, 12, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        p += k;
        left -= k;
    }
    ds_status st = DS_OK;
    return st;
}

#else /* one rank, no MPI */

ds_status ds_par_init(int *argc, char ***argv, ds_diag *diag)
{
    (void)argc;
    (void)argv;
    (void)diag;
    return DS_OK;
}
void ds_par_finalize(void) {}
int ds_par_built_with_mpi(void) { return 0; }
int ds_par_rank(void) { return 0; }
int ds_par_size(void) { return 1; }
int ds_par_max_int(int v) { return v; }
uint64_t ds_par_sum_u64(uint64_t v) { return v; }
void ds_par_bcast(void *buf, size_t n)
{
    (void)buf;
    (void)n;
}
void ds_par_barrier(void) {}
_Noreturn void ds_par_abort(int code)
{
    (void)code;
    abort();
}
void ds_par_send(int to, const void *buf, size_t n)
{
    (void)to;
    (void)buf;
    (void)n;
}
ds_status ds_par_recv(int from, void **buf, size_t *n, ds_diag *diag)
{
    *buf = NULL;
    *n = 0;
    return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0, "no rank %d without MPI", from);
}

ds_status ds_par_gather(const void *buf, size_t n, void ***bufs, size_t **lens, ds_diag *diag)
{
    *bufs = calloc(1, sizeof **bufs);
    *lens = calloc(1, sizeof **lens);
    if (!*bufs || !*lens || !((*bufs)[0] = malloc(n ? n : 1))) {
        ds_par_free_gathered(*bufs, *lens);
        *bufs = NULL;
        *lens = NULL;
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (gathering ranks)");
    }
    memcpy((*bufs)[0], buf, n);
    (*lens)[0] = n;
    return DS_OK;
}
#endif

ds_status ds_par_agree(ds_status st, ds_diag *diag)
{
    if (ds_par_size() == 1)
        return st;
    if (!ds_par_max_int(st != DS_OK))
        return DS_OK;
    ds_diag mine;
    if (st != DS_OK && diag)
        mine = *diag;
    else {
        ds_diag_clear(&mine);
        mine.status = st;
    }
    void **all = NULL;
    size_t *lens = NULL;
    ds_diag gd;
    ds_status gs = ds_par_gather(&mine, sizeof mine, &all, &lens, &gd);
    int code = (int)DS_ERR_INTERNAL;
    if (ds_par_rank() == 0) {
        for (int r = 0; gs == DS_OK && r < ds_par_size(); ++r) {
            ds_diag *d = all[r];
            if (lens[r] == sizeof *d && d->status != DS_OK) {
                if (diag) {
                    *diag = *d;
                    if (r > 0) {
                        char msg[DS_DIAG_MSG_MAX + 32];
                        snprintf(msg, sizeof msg, "rank %d: %s", r, d->msg);
                        snprintf(diag->msg, sizeof diag->msg, "%.*s", DS_DIAG_MSG_MAX - 1, msg);
                    }
                }
                code = (int)d->status;
                break;
            }
        }
        ds_par_free_gathered(all, lens);
    }
    ds_par_bcast(&code, sizeof code);
    if (diag)
        diag->status = (ds_status)code;
    return (ds_status)code;
}

void ds_par_free_gathered(void **bufs, size_t *lens)
{
    if (bufs) {
        const int size = ds_par_size();
        for (int r = 0; r < size; ++r)
            free(bufs[r]);
    }
    free(bufs);
    free(lens);
}
