/* tests/config/test_config_files.c
 * Loads every scenario file the tests ship: each broken one in
 * tests/data/bad must fail where its first line says, each shipped config
 * and tests/data/good file must load, each fuzz regression must not crash.
 * Licence: see LICENSE at the top of the repository.
 *
 * A bad file starts with "# expect: LINE:SUBSTRING": loading it must give
 * DS_ERR_SCENARIO at file:LINE with SUBSTRING in the message.  Two bad files
 * are made here rather than shipped: an empty (0-byte) file and one of 10 MB
 * (past DS_MAX_SCENARIO_BYTES), written to the build directory.
 * Usage: test_config_files SOURCE_DIR BUILD_DIR
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/config.h"

/* CONFIG.md tests: at least this many broken scenarios must be shipped. */
#define MIN_BAD_FILES 35

static int failures;

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted regular-file names of dir that end with suffix (NULL: any). */
static char **list_dir(const char *dir, const char *suffix, size_t *n_out)
{
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    size_t n = 0, cap = 16;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.')
            continue;
        if (suffix && (len < strlen(suffix) || strcmp(e->d_name + len - strlen(suffix), suffix)))
            continue;
        if (n == cap) {
            cap *= 2;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        names[n] = malloc(len + 1);
        if (names[n])
            memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, cmp_str);
    *n_out = n;
    return names;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        free(names[i]);
    free(names);
}

/* Checks one bad file against its expectation. */
static void check_bad(const char *path, int line, const char *substring)
{
    ds_diag diag;
    ds_scenario *sc = NULL;
    ds_status st = ds_scenario_load(path, NULL, 0, &sc, &diag);
    char buf[2048];
    ds_diag_format(&diag, buf, sizeof buf);
    int ok = st == DS_ERR_SCENARIO && sc == NULL && diag.line == line &&
             !strcmp(diag.file, path) && strstr(diag.msg, substring) != NULL;
    if (!ok) {
        ++failures;
        fprintf(stderr, "FAIL %s\n  expected line %d and \"%s\"\n  got status %d: %s\n", path,
                line, substring, (int)st, buf);
    }
    ds_scenario_free(sc);
}

/* Reads "# expect: LINE:SUBSTRING" from the first line of path. */
static int read_expectation(const char *path, int *line, char *substring, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char first[512];
    int ok = fgets(first, sizeof first, f) != NULL;
    fclose(f);
    if (!ok || strncmp(first, "# expect: ", 10) != 0)
        return 0;
    char *end;
    long l = strtol(first + 10, &end, 10);
    if (*end != ':' || l < 1)
        return 0;
    *line = (int)l;
    snprintf(substring, size, "%s", end + 1);
    substring[strcspn(substring, "\r\n")] = '\0';
    return substring[0] != '\0';
}

static void test_bad_dir(const char *src)
{
    char *dir = path_join(src, "tests/data/bad");
    size_t n;
    char **names = list_dir(dir, ".yaml", &n);
    if (n < MIN_BAD_FILES) {
        ++failures;
        fprintf(stderr, "FAIL only %zu bad files in %s (at least %d expected)\n", n, dir,
                MIN_BAD_FILES);
    }
    for (size_t i = 0; i < n; ++i) {
        char *p = path_join(dir, names[i]);
        int line;
        char sub[512];
        if (read_expectation(p, &line, sub, sizeof sub)) {
            check_bad(p, line, sub);
        } else {
            ++failures;
            fprintf(stderr, "FAIL %s: no \"# expect: LINE:SUBSTRING\" first line\n", p);
        }
        free(p);
    }
    printf("%zu bad files checked\n", n);
    free_list(names, n);
    free(dir);
}

/* The bad files that are made, not shipped. */
static void test_generated(const char *build)
{
    char *empty = path_join(build, "config_empty.yaml");
    FILE *f = fopen(empty, "wb");
    if (f) {
        fclose(f);
        check_bad(empty, 1, "the file is empty");
        remove(empty);
    } else {
        ++failures;
        fprintf(stderr, "FAIL cannot write %s\n", empty);
    }
    free(empty);

    char *big = path_join(build, "config_10mb.yaml");
    f = fopen(big, "wb");
    if (f) {
        /* Valid-looking YAML, so that only the size can be the error. */
        fputs("# expect: 1:larger than the limit\nname: big\ndescription: \"", f);
        static char chunk[4096];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 10 * 256; ++i)
            fwrite(chunk, 1, sizeof chunk, f);
        fputs("\"\n", f);
        fclose(f);
        check_bad(big, 1, "larger than the limit");
        remove(big);
    } else {
        ++failures;
        fprintf(stderr, "FAIL cannot write %s\n", big);
    }
    free(big);

    /* Under the size limit but with a million values: bounded memory. */
    char *many = path_join(build, "config_many_values.yaml");
    f = fopen(many, "wb");
    if (f) {
        fputs("name: many\ndescription: [0", f);
        for (int i = 0; i < 1000000; ++i)
            fputs(",0", f);
        fputs("]\n", f);
        fclose(f);
        check_bad(many, 2, "more than 1000000 values");
        remove(many);
    } else {
        ++failures;
        fprintf(stderr, "FAIL cannot write %s\n", many);
    }
    free(many);
}

static void test_good_dir(const char *src, const char *rel)
{
    char *dir = path_join(src, rel);
    size_t n;
    char **names = list_dir(dir, ".yaml", &n);
    if (n == 0) {
        ++failures;
        fprintf(stderr, "FAIL no scenarios in %s\n", dir);
    }
    for (size_t i = 0; i < n; ++i) {
        char *p = path_join(dir, names[i]);
        ds_diag diag;
        ds_scenario *sc = NULL;
        if (ds_scenario_load(p, NULL, 0, &sc, &diag) != DS_OK) {
            char buf[2048];
            ds_diag_format(&diag, buf, sizeof buf);
            ++failures;
            fprintf(stderr, "FAIL %s must load: %s\n", p, buf);
        }
        ds_scenario_free(sc);
        free(p);
    }
    printf("%zu scenarios in %s load\n", n, rel);
    free_list(names, n);
    free(dir);
}

/* Inputs that once crashed or leaked: any status is fine, a crash is not
 * (the ASan build turns a regression into a failure). */
static void test_fuzz_regressions(const char *src)
{
    char *dir = path_join(src, "tests/data/fuzz");
    size_t n;
    char **names = list_dir(dir, NULL, &n);
    size_t loaded = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!strncmp(names[i], "README", 6))
            continue;
        ++loaded;
        char *p = path_join(dir, names[i]);
        ds_diag diag;
        ds_scenario *sc = NULL;
        if (ds_scenario_load(p, NULL, 0, &sc, &diag) == DS_OK) {
            char *y = NULL;
            if (ds_scenario_to_yaml(sc, &y, &diag) == DS_OK) {
                ds_scenario *again = NULL;
                if (ds_scenario_load_string(y, strlen(y), "effective", NULL, 0, &again,
                                            &diag) != DS_OK) {
                    ++failures;
                    fprintf(stderr, "FAIL %s: effective YAML does not reload: %s\n", p,
                            diag.msg);
                }
                ds_scenario_free(again);
            }
            free(y);
        }
        ds_scenario_free(sc);
        free(p);
    }
    printf("%zu fuzz regressions loaded without a crash\n", loaded);
    free_list(names, n);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOURCE_DIR BUILD_DIR\n", argv[0]);
        return 2;
    }
    test_bad_dir(argv[1]);
    test_generated(argv[2]);
    test_good_dir(argv[1], "configs");
    test_good_dir(argv[1], "tests/data/good");
    test_fuzz_regressions(argv[1]);
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
