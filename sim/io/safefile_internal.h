/* sim/io/safefile_internal.h
 * Private to sim/io: the checks, lock, private partial name, fsync and
 * rename that keep a result file from being damaged or misdirected.
 * Licence: see LICENSE at the top of the repository.
 *
 * The life cycle of one output (h5out.c drives it):
 *   ds_safefile_begin    checks the target (absent or a regular file, or a
 *                        symlink to one; never a directory, device, fifo,
 *                        socket or dangling symlink), checks that the parent
 *                        is an existing-or-creatable writable directory,
 *                        creates missing parents (remembering which), takes
 *                        the lock "<file>.lock" (flock, non-blocking; held
 *                        whatever HDF5_USE_FILE_LOCKING says) and chooses a
 *                        private partial name "<file>.partial.<pid>.<random>";
 *   (HDF5 creates the partial with H5F_ACC_EXCL: O_CREAT|O_EXCL, so never
 *    through a symlink and never over an existing file)
 *   ds_safefile_commit   fsyncs the closed partial, renames it to <file>
 *                        (without force: never over an existing file),
 *                        fsyncs the directory, drops the lock;
 *   ds_safefile_cancel   removes the partial, the lock file and the
 *                        directories begin created; never touches <file>.
 * Refusals (the target or the lock) are DS_ERR_USAGE: exit code 2.
 */
#ifndef DEALSIM_SAFEFILE_INTERNAL_H
#define DEALSIM_SAFEFILE_INTERNAL_H

#include <sys/types.h>

#include "dealsim/error.h"

typedef struct {
    char *path;      /* the final file */
    char *partial;   /* "<path>.partial.<pid>.<16 hex digits>" */
    char *lock;      /* "<path>.lock" */
    char *made_top;  /* the outermost directory begin created, or NULL */
    char *made_leaf; /* the innermost one (the file's directory), or NULL */
    int lock_fd;     /* -1 when not held */
    int force;
    int have_ino;    /* the partial's identity is known */
    dev_t dev;
    ino_t ino;
} ds_safefile;

/* Prepares sf for path (see above).  On failure nothing is left behind and
 * sf needs no cancel (it is safe to call anyway). */
ds_status ds_safefile_begin(ds_safefile *sf, const char *path, int force, ds_diag *diag);

/* Records the identity (st_dev, st_ino) of the partial as its creator's fd
 * sees it; commit refuses to rename a partial with another identity. */
ds_status ds_safefile_adopt(ds_safefile *sf, int fd, ds_diag *diag);

/* fsync, rename, fsync of the directory, lock released; frees sf's
 * strings.  On failure everything is cancelled (the target untouched). */
ds_status ds_safefile_commit(ds_safefile *sf, ds_diag *diag);

/* Removes the partial, the lock file and created directories; frees sf's
 * strings.  Safe on a zeroed or already finished sf. */
void ds_safefile_cancel(ds_safefile *sf);
/* Publishes `tmp` (a whole file this run wrote beside the target) under the
 * final name: fsync, rename (no-replace unless force), fsync the directory.
 * Afterwards the target is this run's own (force is set), so the next
 * checkpoint and the result replace it.  The lock and the partial stay. */
ds_status ds_safefile_publish(ds_safefile *sf, const char *tmp, ds_diag *diag);

#endif /* DEALSIM_SAFEFILE_INTERNAL_H */
