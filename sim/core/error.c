/* sim/core/error.c
 * Diagnostics: formatting and the status -> exit code mapping.
 * Licence: see LICENSE at the top of the repository.
 */
#include "dealsim/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ds_diag_clear(ds_diag *diag)
{
    if (!diag)
        return;
    diag->status = DS_OK;
    diag->file[0] = '\0';
    diag->line = 0;
    diag->col = 0;
    diag->msg[0] = '\0';
}

ds_status ds_diag_set(ds_diag *diag, ds_status status, const char *file, int line, int col,
                      const char *fmt, ...)
{
    if (!diag)
        return status;
    diag->status = status;
    snprintf(diag->file, sizeof diag->file, "%s", file ? file : "");
    diag->line = line;
    diag->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
    va_end(ap);
    return status;
}

void ds_diag_format(const ds_diag *diag, char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    if (!diag) {
        snprintf(buf, size, "error: (no diagnostic)");
        return;
    }
    if (diag->file[0] && diag->line > 0)
        snprintf(buf, size, "%s:%d:%d: error: %s", diag->file, diag->line,
                 diag->col > 0 ? diag->col : 1, diag->msg);
    else if (diag->file[0])
        snprintf(buf, size, "%s: error: %s", diag->file, diag->msg);
    else
        snprintf(buf, size, "error: %s", diag->msg);
}

const char *ds_status_name(ds_status status)
{
    switch (status) {
    case DS_OK: return "ok";
    case DS_ERR_USAGE: return "usage error";
    case DS_ERR_SCENARIO: return "scenario error";
    case DS_ERR_NOMEM: return "out of memory";
    case DS_ERR_IO: return "I/O error";
    case DS_ERR_HDF5: return "HDF5 error";
    case DS_ERR_INTERRUPTED: return "interrupted";
    case DS_ERR_INTERNAL: return "internal error";
    case DS_ERR_FORMAT: return "format error";
    }
    return "unknown error";
}

int ds_status_exit_code(ds_status status)
{
    switch (status) {
    case DS_OK: return 0;
    case DS_ERR_USAGE:
    case DS_ERR_SCENARIO: return 2;
    case DS_ERR_INTERRUPTED: return 130;
    case DS_ERR_NOMEM:
    case DS_ERR_IO:
    case DS_ERR_HDF5:
    case DS_ERR_INTERNAL:
    case DS_ERR_FORMAT: return 1;
    }
    return 1;
}
