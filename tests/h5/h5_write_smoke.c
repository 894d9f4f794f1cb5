/* tests/h5/h5_write_smoke.c
 * Test helper: writes real result files through the h5out API; checks its error paths.
 * Licence: see LICENSE at the top of the repository.
 *
 * Usage:
 *   h5_write_smoke write SCENARIO OUT TRIALS STOP_BLOCKS [KEY=VALUE...]
 *       loads SCENARIO with the --set overrides, runs TRIALS trials block by
 *       block the way the driver does (block partial -> merge in block
 *       order, sketches per "thread" merged at the end), writing each block;
 *       STOP_BLOCKS > 0 stops after that many blocks (an interrupted run).
 *   h5_write_smoke errors SCENARIO DIR
 *       the writer's error paths: refusing an existing file (at open and at
 *       the rename), --force, abort, mkdir -p, HDF5 failures, misuse.
 *   h5_write_smoke sha256 MAXLEN
 *       prints the SHA-256 of bytes (i * 7 + 3) & 255, i < n, for every n <= MAXLEN.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dealsim/config.h"
#include "dealsim/h5out.h"
#include "dealsim/model.h"
#include "dealsim/sha256.h"
#include "dealsim/stats.h"

static int failures = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static void now_utc(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "unknown");
}

/* A loaded scenario with its model and the effective YAML. */
typedef struct {
    ds_scenario *sc;
    ds_model *m;
    char *yaml;
} fixture;

static int fixture_load(fixture *fx, const char *path, const char *const *sets, size_t n_sets)
{
    ds_diag d;
    char msg[2048];
    memset(fx, 0, sizeof *fx);
    ds_diag_clear(&d);
    if (ds_scenario_load(path, sets, n_sets, &fx->sc, &d) != DS_OK ||
        ds_model_create(fx->sc, &fx->m, &d) != DS_OK ||
        ds_scenario_to_yaml(fx->sc, &fx->yaml, &d) != DS_OK) {
        ds_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        return 0;
    }
    return 1;
}

static void fixture_free(fixture *fx)
{
    free(fx->yaml);
    ds_model_free(fx->m);
    ds_scenario_free(fx->sc);
}

/* Runs `trials` trials (stopping after stop_blocks blocks when > 0) into a
 * new summary, writing every block to w when w is given.  Returns the
 * summary (NULL on failure) and the trials done. */
static ds_stats *run(const fixture *fx, uint64_t trials, uint64_t stop_blocks, ds_h5out *w,
                     uint64_t *done, ds_diag *d)
{
    ds_stats *global = ds_stats_alloc(fx->m), *partial = ds_stats_alloc(fx->m);
    ds_stats *local = ds_stats_alloc(fx->m);
    ds_block *blk = ds_block_alloc(fx->m);
    ds_status st = DS_OK;
    uint64_t nblocks = (trials + DS_BLOCK_SIZE - 1) / DS_BLOCK_SIZE;
    *done = 0;
    if (!global || !partial || !local || !blk) {
        st = DS_ERR_NOMEM;
        goto out;
    }
    if (stop_blocks > 0 && stop_blocks < nblocks)
        nblocks = stop_blocks;
    for (uint64_t b = 0; b < nblocks && st == DS_OK; b++) {
        uint64_t first = b * DS_BLOCK_SIZE;
        size_t n = (size_t)(trials - first < DS_BLOCK_SIZE ? trials - first : DS_BLOCK_SIZE);
        ds_model_run_block(fx->m, b, n, blk);
        if ((st = ds_stats_block_moments(partial, blk)) != DS_OK ||
            (st = ds_stats_commit_block(global, partial, b)) != DS_OK ||
            (st = ds_stats_add_sketches(local, blk)) != DS_OK)
            break;
        if (w && ds_h5out_wants_trials(w) && (st = ds_h5out_write_block(w, blk, d)) != DS_OK)
            break;
        *done = first + n;
    }
    if (st == DS_OK)
        st = ds_stats_merge(global, local);
    if (st == DS_OK)
        st = ds_stats_finalize(global, d);
out:
    if (st != DS_OK) {
        if (d->status == DS_OK)
            ds_diag_set(d, st, NULL, 0, 0, "running the trials failed (%s)", ds_status_name(st));
        ds_stats_free(global);
        global = NULL;
    }
    ds_stats_free(partial);
    ds_stats_free(local);
    ds_block_free(blk);
    return global;
}

static void fill_info(ds_run_info *info, const fixture *fx, uint64_t requested, uint64_t done)
{
    memset(info, 0, sizeof *info);
    info->seed = fx->sc->seed;
    info->trials_requested = requested;
    info->trials_done = done;
    info->interrupted = done < requested;
    info->threads = 1;
    info->mpi_ranks = 1;
    info->wall_seconds = 0.25;
    now_utc(info->created_utc, sizeof info->created_utc);
    now_utc(info->finished_utc, sizeof info->finished_utc);
}

/* Opens, runs and finishes one file; returns the final status. */
static ds_status write_file(const fixture *fx, const char *path, int force, uint64_t trials,
                            uint64_t stop_blocks, ds_diag *d)
{
    ds_h5out *w = NULL;
    ds_run_info info;
    uint64_t done = 0;
    ds_status st = ds_h5out_open(path, force, fx->m, trials, fx->yaml, &w, d);
    if (st != DS_OK)
        return st;
    ds_stats *s = run(fx, trials, stop_blocks, w, &done, d);
    if (!s) {
        ds_h5out_abort(w);
        return d->status;
    }
    fill_info(&info, fx, trials, done);
    st = ds_h5out_finish(w, s, &info, d);
    ds_stats_free(s);
    return st;
}

static int cmd_write(int argc, char **argv)
{
    fixture fx;
    ds_diag d;
    char msg[2048];
    if (argc < 6) {
        fprintf(stderr, "usage: %s write SCENARIO OUT TRIALS STOP_BLOCKS [KEY=VALUE...]\n",
                argv[0]);
        return 2;
    }
    uint64_t trials = strtoull(argv[4], NULL, 10), stop = strtoull(argv[5], NULL, 10);
    if (!fixture_load(&fx, argv[2], (const char *const *)(argv + 6), (size_t)(argc - 6)))
        return 1;
    ds_diag_clear(&d);
    ds_status st = write_file(&fx, argv[3], 1, trials, stop, &d);
    if (st != DS_OK) {
        ds_diag_format(&d, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
    }
    fixture_free(&fx);
    return st == DS_OK ? 0 : 1;
}

static int file_equals(const char *path, const char *text)
{
    char buf[256];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* The partial of path ("<path>.partial.<pid>.<random>") into buf; 1 when
 * one exists.  The name is private to the run, so the test looks it up. */
static int find_partial(const char *path, char *buf, size_t size)
{
    char dir[700];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t nb = strlen(base);
    int found = 0;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    DIR *dd = opendir(dir);
    struct dirent *e;
    if (!dd)
        return 0;
    while ((e = readdir(dd)) != NULL)
        if (!strncmp(e->d_name, base, nb) && !strncmp(e->d_name + nb, ".partial.", 9)) {
            snprintf(buf, size, "%s/%s", dir, e->d_name);
            found = 1;
        }
    closedir(dd);
    return found;
}

static int has_partial(const char *path)
{
    char buf[1200];
    return find_partial(path, buf, sizeof buf);
}

static int is_hdf5(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char buf[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n == 8 && memcmp(buf, sig, 8) == 0;
}

static int cmd_errors(int argc, char **argv)
{
    fixture fx;
    ds_diag d;
    ds_h5out *w = NULL;
    char dir[512], path[700], partial[1200], other[700];
    const char *precious = "precious: not an HDF5 file\n";
    if (argc < 4) {
        fprintf(stderr, "usage: %s errors SCENARIO DIR\n", argv[0]);
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[3]);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s\n", dir);
        return 1;
    }
    const char *sets[] = {"output.per_trial=true", "output.price_paths=true"};
    if (!fixture_load(&fx, argv[2], sets, 2))
        return 1;
    const uint64_t trials = DS_BLOCK_SIZE + 100;

    /* 1. An existing file without force: a refusal (DS_ERR_USAGE, exit 2)
     * at open, file untouched. */
    snprintf(path, sizeof path, "%s/exists.h5", dir);
    write_text(path, precious);
    ds_diag_clear(&d);
    w = (ds_h5out *)(void *)&d; /* a stale value open() must reset to NULL */
    CHECK(ds_h5out_open(path, 0, fx.m, trials, fx.yaml, &w, &d) == DS_ERR_USAGE);
    CHECK(w == NULL);
    CHECK(d.status == DS_ERR_USAGE && strstr(d.msg, "exists") && strstr(d.msg, "--force"));
    CHECK(file_equals(path, precious));
    CHECK(!has_partial(path));

    /* 2. With force it is replaced by a complete HDF5 file. */
    ds_diag_clear(&d);
    CHECK(write_file(&fx, path, 1, trials, 0, &d) == DS_OK);
    CHECK(is_hdf5(path));
    CHECK(!has_partial(path));

    /* 3. The file appears while the run goes on: refused at the rename, the
     * newcomer untouched, the partial removed. */
    snprintf(path, sizeof path, "%s/late.h5", dir);
    remove(path);
    ds_diag_clear(&d);
    CHECK(ds_h5out_open(path, 0, fx.m, trials, fx.yaml, &w, &d) == DS_OK);
    CHECK(w && find_partial(path, partial, sizeof partial) && is_hdf5(partial));
    write_text(path, precious);
    {
        uint64_t done = 0;
        ds_run_info info;
        ds_stats *s = run(&fx, trials, 0, w, &done, &d);
        CHECK(s != NULL);
        fill_info(&info, &fx, trials, done);
        CHECK(ds_h5out_finish(w, s, &info, &d) == DS_ERR_IO);
        CHECK(strstr(d.msg, "--force") != NULL);
        ds_stats_free(s);
    }
    CHECK(file_equals(path, precious));
    CHECK(!has_partial(path));

    /* 4. Abort removes the partial and leaves nothing behind. */
    snprintf(path, sizeof path, "%s/aborted.h5", dir);
    ds_diag_clear(&d);
    CHECK(ds_h5out_open(path, 0, fx.m, trials, fx.yaml, &w, &d) == DS_OK);
    {
        ds_block *blk = ds_block_alloc(fx.m);
        CHECK(blk != NULL);
        ds_model_run_block(fx.m, 0, DS_BLOCK_SIZE, blk);
        CHECK(ds_h5out_write_block(w, blk, &d) == DS_OK);
        CHECK(has_partial(path));
        /* 5. Blocks must come in order: block 0 again is refused. */
        CHECK(ds_h5out_write_block(w, blk, &d) == DS_ERR_INTERNAL);
        CHECK(strstr(d.msg, "out of order") != NULL);
        ds_block_free(blk);
    }
    ds_h5out_abort(w);
    CHECK(!has_partial(path));
    CHECK(!exists(path));
    ds_h5out_abort(NULL);

    /* 6. Missing parent directories are created. */
    snprintf(path, sizeof path, "%s/a/b/c/nested.h5", dir);
    remove(path); /* from an earlier run */
    ds_diag_clear(&d);
    CHECK(write_file(&fx, path, 0, 100, 0, &d) == DS_OK);
    CHECK(is_hdf5(path));

    /* 7. A parent that is a file: a refusal naming it. */
    snprintf(other, sizeof other, "%s/plainfile", dir);
    write_text(other, precious);
    snprintf(path, sizeof path, "%s/plainfile/x.h5", dir);
    ds_diag_clear(&d);
    CHECK(ds_h5out_open(path, 0, fx.m, trials, fx.yaml, &w, &d) == DS_ERR_USAGE);
    CHECK(w == NULL && strstr(d.msg, "plainfile") != NULL);
    CHECK(file_equals(other, precious));

    /* 8. A symlink planted at the lock's name is refused, its target kept
     * (the partial's own name is private to the run: nothing to plant). */
    snprintf(path, sizeof path, "%s/blocked.h5", dir);
    snprintf(partial, sizeof partial, "%s.lock", path);
    snprintf(other, sizeof other, "%s/victim", dir);
    write_text(other, precious);
    remove(partial);
    CHECK(symlink("victim", partial) == 0);
    ds_diag_clear(&d);
    CHECK(ds_h5out_open(path, 0, fx.m, trials, fx.yaml, &w, &d) == DS_ERR_USAGE);
    CHECK(w == NULL && strstr(d.msg, "lock") && strstr(d.msg, "symbolic link"));
    CHECK(file_equals(other, precious));
    CHECK(!exists(path) && !has_partial(path));
    remove(partial);

    /* 9. finish with blocks missing from /trials: refused, nothing left. */
    snprintf(path, sizeof path, "%s/short.h5", dir);
    ds_diag_clear(&d);
    CHECK(ds_h5out_open(path, 0, fx.m, trials, fx.yaml, &w, &d) == DS_OK);
    {
        uint64_t done = 0;
        ds_run_info info;
        ds_stats *s = run(&fx, trials, 0, NULL, &done, &d); /* nothing written */
        CHECK(s != NULL);
        fill_info(&info, &fx, trials, done);
        CHECK(ds_h5out_finish(w, s, &info, &d) == DS_ERR_INTERNAL);
        ds_stats_free(s);
    }
    CHECK(!has_partial(path) && !exists(path));

    /* 10. The library version reads like "1.10.8". */
    {
        char v[32];
        unsigned a, b, c;
        CHECK(sscanf(ds_h5out_library_version(v, sizeof v), "%u.%u.%u", &a, &b, &c) == 3);
    }

    fixture_free(&fx);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}

static int cmd_sha256(int argc, char **argv)
{
    size_t max = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 300;
    unsigned char *buf = malloc(max + 1);
    char hex[DS_SHA256_HEX];
    if (!buf)
        return 1;
    for (size_t i = 0; i <= max; i++)
        buf[i] = (unsigned char)((i * 7 + 3) & 255);
    for (size_t n = 0; n <= max; n++) {
        ds_sha256_hex(buf, n, hex);
        printf("%zu %s\n", n, hex);
    }
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "write"))
        return cmd_write(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "errors"))
        return cmd_errors(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "sha256"))
        return cmd_sha256(argc, argv);
    fprintf(stderr, "usage: %s write|errors|sha256 ...\n", argv[0]);
    return 2;
}
