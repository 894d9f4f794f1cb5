/* include/dealsim/error.h
 * The one error model of dealsim: a status enum plus a diagnostic.
 * Licence: see LICENSE at the top of the repository.
 *
 * Every function that can fail returns a ds_status and, where the caller
 * passes one, fills a ds_diag with a human-readable message.  When the error
 * points into an input file the diagnostic carries file:line:col (1-based);
 * line 0 means "no position".  Only main() turns a status into an exit code
 * (ds_status_exit_code): 0 ok, 2 usage or scenario error, 1 runtime failure,
 * 130 interrupted.
 */
#ifndef DEALSIM_ERROR_H
#define DEALSIM_ERROR_H

#include <stddef.h>

typedef enum {
    DS_OK = 0,
    DS_ERR_USAGE,       /* bad command line */
    DS_ERR_SCENARIO,    /* the scenario (or a --set) is invalid */
    DS_ERR_NOMEM,       /* an allocation failed */
    DS_ERR_IO,          /* a file could not be read or written */
    DS_ERR_HDF5,        /* the HDF5 library reported an error */
    DS_ERR_INTERRUPTED, /* SIGINT/SIGTERM: stopped at a block boundary */
    DS_ERR_INTERNAL,    /* a broken invariant: a bug */
    DS_ERR_FORMAT       /* saved state or a result file is damaged or inconsistent */
} ds_status;

#define DS_DIAG_MSG_MAX 1024
#define DS_DIAG_FILE_MAX 512

typedef struct {
    ds_status status;
    char file[DS_DIAG_FILE_MAX]; /* "" when the error has no input file */
    int line;                    /* 1-based; 0 when unknown */
    int col;                     /* 1-based; 0 when unknown */
    char msg[DS_DIAG_MSG_MAX];
} ds_diag;

/* Clears a diagnostic (status DS_OK, empty message). diag may be NULL. */
void ds_diag_clear(ds_diag *diag);

/* Sets status, position and a printf-style message; returns status so that
 * callers can write `return ds_diag_set(...)`.  diag may be NULL. */
ds_status ds_diag_set(ds_diag *diag, ds_status status, const char *file, int line, int col,
                      const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Formats "file:line:col: error: message" (or "error: message" without a
 * position) into buf. */
void ds_diag_format(const ds_diag *diag, char *buf, size_t size);

/* A short constant name for a status ("scenario error", ...). */
const char *ds_status_name(ds_status status);

/* The process exit code for a status: 0, 1, 2 or 130. */
int ds_status_exit_code(ds_status status);

/* Forwarding macro: evaluate an expression returning ds_status and return
 * it from the calling function when it is not DS_OK. */
#define DS_TRY(expr)                      \
    do {                                  \
        ds_status ds_try_st_ = (expr);    \
        if (ds_try_st_ != DS_OK)          \
            return ds_try_st_;            \
    } while (0)

#endif /* DEALSIM_ERROR_H */
