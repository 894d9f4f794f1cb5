/* tests/engine/test_run_oom.c
 * Out-of-memory on the run path: the n-th allocation of a whole run
 * (session open with the scenario, model, summaries and the HDF5 writer;
 * the driver's workspaces; the rounds; finishing the file; a resume) is
 * made to fail, for every n, and the run must report DS_ERR_NOMEM (or an
 * HDF5 error wrapping it), leave no file behind and leak nothing (the
 * ASan pass checks leaks).
 * Licence: see LICENSE at the top of the repository.
 *
 * How allocations fail: linked with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc,--wrap=strdup, so the library's own calls go through the
 * __wrap_ functions; HDF5, libyaml and libgomp allocate for themselves and
 * are not made to fail (their failures are not ours to handle).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dealsim/h5in.h"
#include "dealsim/h5out.h"
#include "dealsim/session.h"

#include "../alloc_fail.h"

static int failures = 0;
#define CHECK(c)                                                                   \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

typedef struct {
    int force;
} sink_ctx;

static ds_status open_sink(void *ctx, const ds_model *m, const char *yaml, uint64_t trials,
                           ds_sink *out, ds_diag *diag)
{
    ds_h5out *w = NULL;
    ds_status st = ds_h5out_open(ds_model_scenario(m)->output_file, ((sink_ctx *)ctx)->force, m,
                                 trials, yaml, &w, diag);
    if (st == DS_OK)
        ds_h5out_as_sink(w, out);
    return st;
}

/* Entries of dir other than . and .. */
static int entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

/* One run; returns its status (and the number of allocations it made). */
static ds_status one_run(const char *scenario, const char *out_set, long fail_at, long *made)
{
    const char *sets[] = {"trials=9000", "output.per_trial=true", "output.per_trial_inputs=true",
                          out_set};
    sink_ctx sc = {1};
    ds_session_options o;
    memset(&o, 0, sizeof o);
    o.scenario_path = scenario;
    o.sets = sets;
    o.n_sets = 4;
    o.threads = 1;
    o.open_sink = open_sink;
    o.sink_ctx = &sc;
    o.checkpoint_every = 1e-9; /* a checkpoint between every two rounds */
    o.round_blocks = 1;        /* 3 blocks: 3 rounds, 2 checkpoints */
    ds_diag diag;
    ds_diag_clear(&diag);
    ds_session *s = NULL;
    allocs_seen = 0;
    allocs_left = fail_at;
    ds_status st = ds_session_open(&o, &s, &diag);
    if (st == DS_OK)
        st = ds_session_run(s, &diag);
    if (st == DS_OK)
        st = ds_session_finish(s, &diag);
    ds_session_free(s);
    allocs_left = -1;
    *made = allocs_seen;
    if (st != DS_OK && st != DS_ERR_NOMEM && st != DS_ERR_HDF5 && st != DS_ERR_SCENARIO) {
        fprintf(stderr, "allocation %ld: unexpected status %d: %s\n", fail_at, (int)st, diag.msg);
        failures++;
    }
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_run_oom SOURCE_DIR\n");
        return 2;
    }
    /* tmpfs when there is one: each run flushes its files (fsync) twice. */
    char scenario[4096], out_set[4300], out[4200];
    char dir[64];
    snprintf(dir, sizeof dir, "%s/dealsim-run-oom-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    snprintf(scenario, sizeof scenario, "%s/configs/smoke.yaml", argv[1]);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(out, sizeof out, "%s/r.h5", dir);
    snprintf(out_set, sizeof out_set, "output.file=\"%s\"", out);
    long total = 0;
    CHECK(one_run(scenario, out_set, -1, &total) == DS_OK);
    CHECK(access(out, F_OK) == 0);
    unlink(out);
    CHECK(total > 100);
    /* DS_OOM_STRIDE=s tries every s-th point (the sanitizer pass, where a
     * run is slow); the default is every one. */
    const char *stride_env = getenv("DS_OOM_STRIDE");
    long stride = stride_env ? atol(stride_env) : 1;
    if (stride < 1)
        stride = 1;
    long failed = 0;
    for (long k = 0; k < total; k += stride) {
        long made = 0;
        ds_status st = one_run(scenario, out_set, k, &made);
        if (st != DS_OK) {
            failed++;
            /* Nothing left behind but, once one was published, the last
             * checkpoint: a whole interrupted file, resumable. */
            int left = entries(dir);
            if (left == 1 && access(out, F_OK) == 0) {
                ds_h5_file_info fi;
                ds_diag d;
                allocs_left = -1;
                ds_status rs = ds_h5_read_info(out, &fi, &d);
                if (rs != DS_OK || strcmp(fi.run_status, "interrupted") != 0) {
                    fprintf(stderr, "allocation %ld: the checkpoint left is not whole (%s)\n", k,
                            rs == DS_OK ? fi.run_status : d.msg);
                    failures++;
                }
                ds_h5_file_info_clear(&fi);
                left = 0;
            }
            if (left != 0) {
                fprintf(stderr, "allocation %ld of %ld: the failed run left files in %s\n", k, total,
                        dir);
                failures++;
            }
        }
        unlink(out);
    }
    CHECK(failed > 0);
    rmdir(dir);
    printf("%ld allocation points: %ld failed cleanly; %d passed, %d failed\n", total, failed,
           failures == 0, failures != 0);
    return failures ? 1 : 0;
}
