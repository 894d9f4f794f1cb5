/* sim/io/safefile.c
 * Target checks, the output lock, the private partial name, fsync and the
 * rename of a result file (safefile_internal.h has the life cycle).
 * Licence: see LICENSE at the top of the repository.
 *
 * What must stay true:
 *  - nothing is created before every check that can refuse has passed, so a
 *    refusal (exit 2) leaves the file system as it was;
 *  - the partial's name holds the pid and 64 random bits: no other run can
 *    share it or plant something there in advance, so a run never touches
 *    another run's partial file (a killed run's leftover stays, named by
 *    its pid, for the user to remove);
 *  - "<file>.lock" is held with flock for the whole run, independently of
 *    HDF5's own locking (HDF5_USE_FILE_LOCKING=FALSE does not weaken it);
 *    it is unlinked while still held, and a run that locks a lock file that
 *    is no longer the one at that path tries again, so unlinking is safe;
 *  - without force the rename never replaces a file (RENAME_NOREPLACE where
 *    the kernel has it), so a file that appeared meanwhile is kept;
 *  - the data are fsync'ed before the rename and the directory after it.
 */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE, getrandom */

#include "safefile_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Tries of the lock when the lock file keeps being replaced under us. */
#define DS_SAFEFILE_LOCK_TRIES 16

static char *ds_sf_printf(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", a, b);
    return p;
}

static const char *ds_sf_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISFIFO(m))
        return "a fifo";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* The target may be absent, a regular file, or a symlink to a regular file
 * (the rename then replaces the link, never its target).  *exists is set
 * when something is there. */
static ds_status ds_sf_check_target(const char *path, int *exists, ds_diag *diag)
{
    struct stat sb, tb;
    size_t n = strlen(path);
    *exists = 0;
    if (n > 0 && path[n - 1] == '/')
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                           "cannot write %s: the name ends in '/', so it names a directory", path);
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return DS_OK; /* absent; a parent that is a file is told by the parent check */
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0, "cannot examine %s: %s", path,
                           strerror(errno));
    }
    *exists = 1;
    if (S_ISLNK(sb.st_mode)) {
        if (stat(path, &tb) != 0)
            return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                               "cannot write %s: it is a symbolic link whose target cannot be "
                               "reached (%s)",
                               path, strerror(errno));
        if (!S_ISREG(tb.st_mode))
            return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                               "cannot write %s: it is a symbolic link to %s", path,
                               ds_sf_kind(tb.st_mode));
        return DS_OK;
    }
    if (!S_ISREG(sb.st_mode))
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0, "cannot write %s: it is %s", path,
                           ds_sf_kind(sb.st_mode));
    return DS_OK;
}

/* The directory part of path ("." when there is none). */
static char *ds_sf_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ds_sf_printf(".", "");
    if (slash == path)
        return ds_sf_printf("/", "");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* Checks that dir exists or can be created: each existing prefix is a
 * directory, the deepest existing one is writable.  Then creates the
 * missing ones, recording the outermost and innermost created. */
static ds_status ds_sf_parents(ds_safefile *sf, const char *dir, ds_diag *diag)
{
    ds_status st = DS_OK;
    size_t n = strlen(dir);
    size_t last_ok = 0, first_missing = 0; /* prefix lengths; 0: none */
    char *p = ds_sf_printf(dir, "");
    struct stat sb;
    if (!p)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
    /* The prefixes of dir end before each '/' (but the root's) and at its end. */
    for (size_t k = 1; k <= n; k++) {
        if (k < n && dir[k] != '/')
            continue;
        p[k] = '\0';
        int ok = stat(p, &sb) == 0;
        int e = errno;
        if (ok && !S_ISDIR(sb.st_mode)) {
            st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                             "cannot write %s: %s exists and is not a directory (it is %s)",
                             sf->path, p, S_ISREG(sb.st_mode) ? "a file" : ds_sf_kind(sb.st_mode));
            goto done;
        }
        if (!ok && e != ENOENT) {
            st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0, "cannot write %s: cannot examine %s: %s",
                             sf->path, p, strerror(e));
            goto done;
        }
        if (k < n)
            p[k] = '/';
        if (!ok) {
            first_missing = k;
            break;
        }
        last_ok = k;
    }
    /* The directory written in (or created in) must be writable. */
    {
        const char *where = p;
        if (last_ok == 0)
            where = dir[0] == '/' ? "/" : ".";
        else
            p[last_ok] = '\0';
        if (access(where, W_OK | X_OK) != 0) {
            st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0, "cannot write %s: %s %s: %s", sf->path,
                             first_missing ? "cannot create directories in" : "cannot create files in",
                             where, strerror(errno));
            goto done;
        }
        if (last_ok < n)
            p[last_ok] = dir[last_ok];
    }
    if (!first_missing)
        goto done;
    /* Create from the first missing component on. */
    for (size_t k = first_missing; k <= n; k++) {
        if (k < n && dir[k] != '/')
            continue;
        p[k] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot create directory %s: %s", p,
                             strerror(errno));
            goto done;
        }
        /* Recorded at once, so a failure further down removes them. */
        free(sf->made_leaf);
        if ((!sf->made_top && !(sf->made_top = ds_sf_printf(p, ""))) ||
            !(sf->made_leaf = ds_sf_printf(p, ""))) {
            st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
            goto done;
        }
        if (k < n)
            p[k] = '/';
    }
done:
    free(p);
    return st;
}

/* Removes the directories this run created, innermost first; stops at the
 * first that is not empty (someone else's file is there). */
static void ds_sf_remove_dirs(ds_safefile *sf)
{
    if (!sf->made_top || !sf->made_leaf)
        return;
    size_t top = strlen(sf->made_top);
    char *p = sf->made_leaf;
    for (;;) {
        if (rmdir(p) != 0 || strlen(p) <= top)
            break;
        char *slash = strrchr(p, '/');
        if (!slash || (size_t)(slash - p) < top)
            break;
        *slash = '\0';
    }
}

/* 64 random bits for the partial's name; the clock stands in when the
 * kernel has no entropy to give (the pid keeps the name unique anyway). */
static uint64_t ds_sf_random(void)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        (void)clock_gettime(CLOCK_REALTIME, &ts);
        r = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&r;
    }
    return r;
}

/* Takes "<path>.lock".  Unsupported locking (some cluster file systems
 * mount without flock) is tolerated: the private partial names and the
 * no-replace rename still keep every renamed file whole. */
static ds_status ds_sf_lock(ds_safefile *sf, ds_diag *diag)
{
    for (int tries = 0; tries < DS_SAFEFILE_LOCK_TRIES; tries++) {
        struct stat a, b;
        int fd = open(sf->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0)
            return ds_diag_set(diag, errno == ELOOP ? DS_ERR_USAGE : DS_ERR_IO, NULL, 0, 0,
                               "cannot open the lock file %s: %s", sf->lock,
                               errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            if (e == EWOULDBLOCK) {
                char other[1024];
                ssize_t n = pread(fd, other, sizeof other - 1, 0);
                other[n > 0 ? n : 0] = '\0';
                (void)close(fd);
                return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0,
                                   "another run is writing %s (its partial file: %s; lock: %s); "
                                   "wait for it to finish or choose another output",
                                   sf->path, other[0] ? other : "unknown", sf->lock);
            }
            if (e != ENOLCK && e != EOPNOTSUPP && e != ENOSYS && e != EINVAL) {
                (void)close(fd);
                return ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot lock %s: %s", sf->lock,
                                   strerror(e));
            }
            /* No locks here: keep the file open, so cancel/commit still
             * clean it up, and go on unlocked. */
        }
        /* The lock file may have been unlinked by its previous holder
         * between our open and our flock: then we locked an orphan. */
        if (fstat(fd, &a) == 0 && lstat(sf->lock, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            sf->lock_fd = fd;
            /* Who holds it, for the message of a run that finds it taken;
             * purely informative, so a failure to write it is ignored. */
            if (ftruncate(fd, 0) == 0)
                (void)!pwrite(fd, sf->partial, strlen(sf->partial), 0);
            return DS_OK;
        }
        (void)close(fd);
    }
    return ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot lock %s: it keeps being replaced",
                       sf->lock);
}

ds_status ds_safefile_begin(ds_safefile *sf, const char *path, int force, ds_diag *diag)
{
    ds_status st = DS_OK;
    int exists = 0;
    char suffix[64];
    char *dir = NULL;
    memset(sf, 0, sizeof *sf);
    sf->lock_fd = -1;
    sf->force = force;
    if (!path || !*path)
        return ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0, "the output file name is empty");
    snprintf(suffix, sizeof suffix, ".partial.%ld.%016llx", (long)getpid(),
             (unsigned long long)ds_sf_random());
    if (!(sf->path = ds_sf_printf(path, "")) || !(sf->partial = ds_sf_printf(path, suffix)) ||
        !(sf->lock = ds_sf_printf(path, ".lock")) || !(dir = ds_sf_dirname(path))) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    /* Every refusal first, before anything is created. */
    if ((st = ds_sf_check_target(path, &exists, diag)) != DS_OK)
        goto done;
    if (exists && !force) {
        st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0, "%s exists; use --force to overwrite it",
                         path);
        goto done;
    }
    if ((st = ds_sf_parents(sf, dir, diag)) != DS_OK)
        goto done;
    if ((st = ds_sf_lock(sf, diag)) != DS_OK)
        goto done;
    /* A run that held the lock until just now may have renamed its file. */
    if ((st = ds_sf_check_target(path, &exists, diag)) != DS_OK)
        goto done;
    if (exists && !force)
        st = ds_diag_set(diag, DS_ERR_USAGE, NULL, 0, 0, "%s exists; use --force to overwrite it",
                         path);
done:
    free(dir);
    if (st != DS_OK)
        ds_safefile_cancel(sf);
    return st;
}

ds_status ds_safefile_adopt(ds_safefile *sf, int fd, ds_diag *diag)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot examine %s: %s", sf->partial,
                           strerror(errno));
    sf->dev = sb.st_dev;
    sf->ino = sb.st_ino;
    sf->have_ino = 1;
    return DS_OK;
}

/* Whether the thing at sf->partial is still the file this run created. */
static int ds_sf_is_ours(const ds_safefile *sf)
{
    struct stat sb;
    return sf->have_ino && lstat(sf->partial, &sb) == 0 && S_ISREG(sb.st_mode) &&
           sb.st_dev == sf->dev && sb.st_ino == sf->ino;
}

static void ds_sf_free(ds_safefile *sf)
{
    free(sf->path);
    free(sf->partial);
    free(sf->lock);
    free(sf->made_top);
    free(sf->made_leaf);
    sf->path = sf->partial = sf->lock = sf->made_top = sf->made_leaf = NULL;
}

static void ds_sf_unlock(ds_safefile *sf)
{
    if (sf->lock_fd >= 0) {
        (void)unlink(sf->lock); /* while still held: see the top of the file */
        (void)close(sf->lock_fd);
        sf->lock_fd = -1;
    }
}

void ds_safefile_cancel(ds_safefile *sf)
{
    if (!sf)
        return;
    if (sf->partial && ds_sf_is_ours(sf))
        (void)unlink(sf->partial);
    ds_sf_unlock(sf);
    ds_sf_remove_dirs(sf);
    ds_sf_free(sf);
}

/* Renames without replacing an existing file.  EEXIST when one is there. */
static int ds_sf_rename_noreplace(const char *from, const char *to)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#endif
    /* Without kernel support: check, then rename (a narrow window). */
    struct stat sb;
    if (lstat(to, &sb) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

ds_status ds_safefile_commit(ds_safefile *sf, ds_diag *diag)
{
    ds_status st = DS_OK;
    char *dir = NULL;
    int fd = open(sf->partial, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !sf->have_ino || sb.st_dev != sf->dev ||
        sb.st_ino != sf->ino) {
        st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0,
                         "%s is no longer the file this run wrote (%s); nothing was renamed",
                         sf->partial, fd < 0 ? strerror(errno) : "it was replaced");
        goto done;
    }
    if (fsync(fd) != 0) {
        st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot flush %s to disk: %s", sf->partial,
                         strerror(errno));
        goto done;
    }
    if ((sf->force ? rename(sf->partial, sf->path) : ds_sf_rename_noreplace(sf->partial, sf->path)) !=
        0) {
        if (errno == EEXIST && !sf->force)
            st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0,
                             "%s appeared during the run; use --force to overwrite it (the results "
                             "were not kept)",
                             sf->path);
        else
            st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot rename %s to %s: %s",
                             sf->partial, sf->path, strerror(errno));
        goto done;
    }
    /* The file has its final name: nothing is to be removed from here on. */
    free(sf->made_top);
    sf->made_top = NULL;
    sf->have_ino = 0;
    if (!(dir = ds_sf_dirname(sf->path))) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* EINVAL: a file system that cannot sync directories; nothing to do. */
        if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL)) {
            st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0,
                             "%s was written, but its directory %s could not be flushed to "
                             "disk: %s",
                             sf->path, dir, strerror(errno));
        }
        if (dfd >= 0)
            (void)close(dfd);
    }
done:
    if (fd >= 0)
        (void)close(fd);
    free(dir);
    ds_safefile_cancel(sf);
    return st;
}

ds_status ds_safefile_publish(ds_safefile *sf, const char *tmp, ds_diag *diag)
{
    ds_status st = DS_OK;
    char *dir = NULL;
    int fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot flush %s to disk: %s", tmp,
                         strerror(errno));
        goto done;
    }
    if ((sf->force ? rename(tmp, sf->path) : ds_sf_rename_noreplace(tmp, sf->path)) != 0) {
        st = errno == EEXIST && !sf->force
                 ? ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0,
                               "%s appeared during the run; use --force to overwrite it",
                               sf->path)
                 : ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot rename %s to %s: %s", tmp,
                               sf->path, strerror(errno));
        goto done;
    }
    /* The target is this run's own checkpoint from now on: replacing it later
     * (the next checkpoint, the result) is no overwrite of anybody's file. */
    sf->force = 1;
    free(sf->made_top); /* a directory holding our checkpoint stays */
    sf->made_top = NULL;
    if (!(dir = ds_sf_dirname(sf->path))) {
        st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL))
            st = ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0,
                             "%s was written, but its directory %s could not be flushed: %s",
                             sf->path, dir, strerror(errno));
        if (dfd >= 0)
            (void)close(dfd);
    }
done:
    if (fd >= 0)
        (void)close(fd);
    free(dir);
    return st;
}
