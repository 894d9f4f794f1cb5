/* tests/config/test_set_regressions.c
 * Every input kept for the --set fuzzer (tests/data/fuzz_set and the seed
 * corpus tests/fuzz/corpus_set) goes through the fuzzer's own checks.
 * Licence: see LICENSE at the top of the repository.
 *
 * Each file is up to 16 KEY=VALUE lines grafted into set_base.h's scenario.
 * A load may fail; it must not crash or leak (ASan), an error must carry a
 * message and a position in an override or the file, and a success must
 * give effective YAML that reloads to the same text.
 * Usage: test_set_regressions SOURCE_DIR
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz_common.h"
#include "../fuzz/set_base.h"
#include "dealsim/config.h"

#define MAX_SETS 16

static int failures;

static void check_one(const char *path)
{
    FILE *f = fopen(path, "rb");
    char text[16384 + 1];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    if (!f) {
        fprintf(stderr, "FAIL cannot read %s\n", path);
        failures++;
        return;
    }
    text[n] = '\0';
    const char *sets[MAX_SETS];
    size_t n_sets = ds_test_split_lines(text, sets, MAX_SETS);
    ds_diag diag;
    ds_scenario *sc = NULL;
    ds_status st = ds_scenario_load_string(ds_test_set_base, sizeof ds_test_set_base - 1, "base",
                                           sets, n_sets, &sc, &diag);
    if (st == DS_OK) {
        if (ds_test_roundtrip(sc, stderr) != 1) {
            fprintf(stderr, "FAIL %s: the effective YAML does not reload to itself\n", path);
            failures++;
        }
    } else {
        int from_set = strcmp(diag.file, "--set") == 0;
        if (st != DS_ERR_SCENARIO || !diag.msg[0] ||
            (from_set && (diag.line < 1 || (size_t)diag.line > n_sets)) ||
            (!from_set && strcmp(diag.file, "base") != 0)) {
            fprintf(stderr, "FAIL %s: bad diagnostic (status %d) %s:%d:%d: %s\n", path, (int)st,
                    diag.file, diag.line, diag.col, diag.msg);
            failures++;
        }
    }
    ds_scenario_free(sc);
}

static size_t check_dir(const char *src, const char *rel)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", src, rel);
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    if (!d) {
        fprintf(stderr, "FAIL cannot list %s\n", dir);
        failures++;
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !strncmp(e->d_name, "README", 6))
            continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        check_one(p);
        n++;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
        return 2;
    }
    /* The base itself loads: otherwise every input would test nothing. */
    ds_diag diag;
    ds_scenario *sc = NULL;
    if (ds_scenario_load_string(ds_test_set_base, sizeof ds_test_set_base - 1, "base", NULL, 0,
                                &sc, &diag) != DS_OK) {
        fprintf(stderr, "FAIL the base scenario does not load: %d:%d: %s\n", diag.line, diag.col,
                diag.msg);
        return 1;
    }
    ds_scenario_free(sc);
    size_t n = check_dir(argv[1], "tests/data/fuzz_set") + check_dir(argv[1], "tests/fuzz/corpus_set");
    printf("%zu --set inputs checked, %d failure(s)\n", n, failures);
    return failures ? 1 : 0;
}
