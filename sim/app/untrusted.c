/* sim/app/untrusted.c
 * Reading a result file a user hands us (summary, compare, --resume,
 * extend) in a child process, so that a damaged or hostile file that makes
 * the HDF5 library itself crash is reported as a damaged file (exit 2)
 * instead of killing dealsim.
 * Licence: see LICENSE at the top of the repository.
 *
 * Why a process: the mutation test (tests/h5/test_hostile_files.py) found
 * files on which HDF5 1.10's own link-table code frees a garbage pointer
 * (H5Lget_name_by_idx on damaged dense link storage); no check of ours can
 * run before that.  The child reads the root attributes, /effective_config,
 * /config and /state, and sends them back through a pipe (the state
 * packed, stats.h); the parent rebuilds them.  Under MPI (where fork is
 * discouraged) the file is read in-process.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "dealsim/par.h"

/* What the child sends: a header, three strings, the packed state. */
typedef struct {
    int32_t status;
    int32_t stage; /* 0: reading the run facts failed; 1: reading /state */
    ds_diag diag;
    ds_h5_file_info fi; /* pointers zeroed */
    uint64_t len[4];    /* effective_config, config, config_path, packed state; UINT64_MAX: NULL */
} untrusted_msg;

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The whole pipe into a malloc'd buffer. */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

static ds_status read_here(const char *path, ds_h5_file_info *fi, ds_state **state, int *stage,
                           ds_diag *diag)
{
    *stage = 0;
    ds_status st = ds_h5_read_info(path, fi, diag);
    if (st != DS_OK)
        return st;
    *stage = 1;
    st = ds_h5_read_state(path, state, diag);
    if (st != DS_OK)
        ds_h5_file_info_clear(fi);
    return st;
}

static void child(const char *path, int fd)
{
    untrusted_msg m;
    memset(&m, 0, sizeof m);
    ds_state *state = NULL;
    int stage = 0;
    ds_diag_clear(&m.diag);
    m.status = (int32_t)read_here(path, &m.fi, &state, &stage, &m.diag);
    m.stage = stage;
    const char *str[3] = {m.fi.effective_config, m.fi.config, m.fi.config_path};
    void *blob = NULL;
    size_t blen = 0;
    if (m.status == DS_OK && ds_state_pack(state, &blob, &blen, &m.diag) != DS_OK)
        m.status = DS_ERR_NOMEM;
    for (int i = 0; i < 3; ++i)
        m.len[i] = m.status == DS_OK && str[i] ? strlen(str[i]) : UINT64_MAX;
    m.len[3] = m.status == DS_OK ? blen : UINT64_MAX;
    ds_h5_file_info copy = m.fi;
    m.fi.effective_config = m.fi.config = m.fi.config_path = NULL;
    int bad = write_all(fd, &m, sizeof m);
    for (int i = 0; !bad && i < 3; ++i)
        if (m.len[i] != UINT64_MAX)
            bad = write_all(fd, str[i], (size_t)m.len[i]);
    if (!bad && m.len[3] != UINT64_MAX)
        bad = write_all(fd, blob, blen);
    (void)copy;
    _exit(bad ? 3 : 0);
}

/* A string of `n` bytes at *p (advanced), malloc'd; NULL for UINT64_MAX. */
static int take_str(const char **p, const char *end, uint64_t n, char **out)
{
    *out = NULL;
    if (n == UINT64_MAX)
        return 1;
    if (n > (uint64_t)(end - *p) || !(*out = malloc((size_t)n + 1)))
        return 0;
    memcpy(*out, *p, (size_t)n);
    (*out)[n] = '\0';
    *p += n;
    return 1;
}

ds_status ds_cli_read_untrusted(const char *path, ds_h5_file_info *fi, ds_state **state,
                                int *stage, ds_diag *diag)
{
    memset(fi, 0, sizeof *fi);
    *state = NULL;
    *stage = 0;
    if (ds_par_size() > 1)
        return read_here(path, fi, state, stage, diag);
    int fds[2];
    if (pipe(fds) != 0)
        return ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot make a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return ds_diag_set(diag, DS_ERR_IO, NULL, 0, 0, "cannot fork to read %s: %s", path,
                           strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        /* The child's messages travel through the pipe; what a crash inside
         * HDF5 would print (a sanitizer's report of the library's fault) is
         * not the user's business: the parent says the file is damaged. */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
        child(path, fds[1]);
    }
    close(fds[1]);
    size_t len = 0;
    char *buf = read_all(fds[0], &len);
    close(fds[0]);
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    ds_status st = DS_OK;
    if (WIFSIGNALED(wst)) {
        *stage = 1;
        st = ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                         "%s is damaged: the HDF5 library crashed reading it (signal %d)", path,
                         WTERMSIG(wst));
    } else if (!buf || len < sizeof(untrusted_msg) || !WIFEXITED(wst) || WEXITSTATUS(wst) != 0) {
        st = ds_diag_set(diag, buf ? DS_ERR_IO : DS_ERR_NOMEM, NULL, 0, 0,
                         "cannot read %s (its reader process failed)", path);
    } else {
        untrusted_msg m;
        memcpy(&m, buf, sizeof m);
        *stage = m.stage;
        if (m.status != DS_OK) {
            if (diag)
                *diag = m.diag;
            st = (ds_status)m.status;
        } else {
            const char *p = buf + sizeof m, *end = buf + len;
            *fi = m.fi;
            fi->effective_config = fi->config = fi->config_path = NULL;
            if (!take_str(&p, end, m.len[0], &fi->effective_config) ||
                !take_str(&p, end, m.len[1], &fi->config) ||
                !take_str(&p, end, m.len[2], &fi->config_path) || m.len[3] == UINT64_MAX ||
                m.len[3] > (uint64_t)(end - p)) {
                st = ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory reading %s",
                                 path);
            } else {
                st = ds_state_unpack(p, (size_t)m.len[3], state, diag);
            }
            if (st != DS_OK)
                ds_h5_file_info_clear(fi);
        }
    }
    free(buf);
    return st;
}
