/* tests/config/test_config_oom.c
 * Out-of-memory paths of the scenario loader: the n-th allocation is made to
 * fail, for every n until loading succeeds (after Lua's allocator tests, as
 * tests/stats/test_stats_oom.c does for stats), and every failure must be
 * DS_ERR_NOMEM with no scenario returned and nothing leaked.
 * Licence: see LICENSE at the top of the repository.
 *
 * How allocations fail: this test is linked with -Wl,--wrap=malloc,
 * --wrap=calloc, --wrap=realloc, --wrap=free (tests/config/CMakeLists.txt),
 * so every call that sim/ (linked statically) makes goes through the
 * __wrap_ functions below; they also count live blocks, so a leak shows up
 * without ASan.  libyaml is a shared library: its own allocations are not
 * wrapped (they cannot be made to fail here), and it frees only what it
 * allocates, so the count stays exact.
 * Usage: test_config_oom SOURCE_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/config.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);

/* Test-only state (single-threaded): allocations left before one fails
 * (negative: never fail), and blocks allocated and not yet freed. */
static long allocs_left = -1;
static long live;
static int failures;

#define CHECK(cond, ...)                                       \
    do {                                                       \
        if (!(cond)) {                                         \
            fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                      \
            fputc('\n', stderr);                               \
            failures++;                                        \
        }                                                      \
    } while (0)

static int alloc_fails(void)
{
    if (allocs_left < 0)
        return 0;
    if (allocs_left == 0)
        return 1;
    allocs_left--;
    return 0;
}

void *__wrap_malloc(size_t size)
{
    void *p = alloc_fails() ? NULL : __real_malloc(size);
    live += p != NULL;
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p = alloc_fails() ? NULL : __real_calloc(n, size);
    live += p != NULL;
    return p;
}

void *__wrap_realloc(void *p, size_t size)
{
    if (alloc_fails())
        return NULL; /* p stays valid, as realloc promises */
    void *q = __real_realloc(p, size);
    if (!p && q)
        live++;
    return q;
}

void __wrap_free(void *p)
{
    live -= p != NULL;
    __real_free(p);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = __real_malloc(n);
    if (!p)
        exit(1);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* Loads path (with sets) failing the 0th, 1st, ... allocation until the
 * load succeeds; then the same for the effective YAML.  Returns how many
 * failures were provoked. */
static long sweep_file(const char *path, const char *const *sets, size_t n_sets)
{
    long k = 0;
    for (;; ++k) {
        ds_diag diag;
        ds_scenario *sc = (ds_scenario *)&diag; /* a stale value load must reset */
        long before = live;
        allocs_left = k;
        ds_status st = ds_scenario_load(path, sets, n_sets, &sc, &diag);
        allocs_left = -1;
        if (st == DS_OK) {
            CHECK(sc != NULL, "%s: loaded without a scenario", path);
            /* The effective YAML, failing each of its allocations too. */
            for (long j = 0;; ++j) {
                char *y = (char *)&diag;
                long b2 = live;
                allocs_left = j;
                ds_status ys = ds_scenario_to_yaml(sc, &y, &diag);
                allocs_left = -1;
                if (ys == DS_OK) {
                    free(y);
                    break;
                }
                CHECK(ys == DS_ERR_NOMEM && y == NULL,
                      "%s: to_yaml with allocation %ld failing: status %d (%s)", path, j,
                      (int)ys, diag.msg);
                CHECK(live == b2, "%s: to_yaml leaked %ld blocks at allocation %ld", path,
                      live - b2, j);
                if (ys != DS_ERR_NOMEM)
                    break;
            }
            ds_scenario_free(sc);
            CHECK(live == before, "%s: %ld blocks left after a successful load and free",
                  path, live - before);
            break;
        }
        CHECK(st == DS_ERR_NOMEM, "%s: allocation %ld failing gave status %d, not NOMEM: %s:%d: %s",
              path, k, (int)st, diag.file, diag.line, diag.msg);
        CHECK(sc == NULL, "%s: a failed load returned a scenario", path);
        CHECK(live == before, "%s: %ld blocks leaked with allocation %ld failing", path,
              live - before, k);
        if (st != DS_ERR_NOMEM)
            break; /* a real error: the sweep would never end */
    }
    return k;
}

/* A distribution given on the command line (`sample --dist`). */
static long sweep_dist(const char *text)
{
    long k = 0;
    for (;; ++k) {
        ds_diag diag;
        ds_dist d;
        long before = live;
        allocs_left = k;
        ds_status st = ds_dist_from_yaml(text, &d, &diag);
        allocs_left = -1;
        ds_dist_clear(&d);
        CHECK(live == before, "dist %s: %ld blocks leaked at allocation %ld", text,
              live - before, k);
        if (st == DS_OK)
            break;
        CHECK(st == DS_ERR_NOMEM, "dist %s: allocation %ld failing gave status %d: %s", text, k,
              (int)st, diag.msg);
        if (st != DS_ERR_NOMEM)
            break;
    }
    return k;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
        return 2;
    }
    const char *const sets[] = {"trials=1e4",
                                "investors.Nvidia.join_probability=0.9",
                                "investors[1].amount={dist: uniform, min: 1, max: 2}",
                                "investors.Amazon.tranches[0].share=0.4",
                                "compute.price.jumps={rate: 2, size: {dist: normal, mean: 0, sd: 0.1}}",
                                "output.per_trial=[total, paid]"};
    struct {
        const char *rel;
        const char *const *sets;
        size_t n_sets;
    } cases[] = {
        {"configs/openai-2026.yaml", sets, sizeof sets / sizeof sets[0]},
        {"configs/openai-2026-wide.yaml", NULL, 0},
        {"configs/smoke.yaml", NULL, 0},
        {"tests/data/good/every_distribution.yaml", NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char *p = path_join(argv[1], cases[i].rel);
        long k = sweep_file(p, cases[i].sets, cases[i].n_sets);
        /* Every scenario makes many allocations: a sweep that ends at once
         * means the wrapping does not reach the library. */
        CHECK(k >= 20, "%s: only %ld allocations to fail", p, k);
        printf("%s: %ld allocation failures, each DS_ERR_NOMEM without a leak\n", cases[i].rel,
               k);
        __real_free(p);
    }
    long k = sweep_dist("{dist: mixture, components: [{weight: 1, dist: normal, mean: 0, sd: 1}, "
                        "{weight: 2, dist: discrete, values: [1, 2], weights: [1, 1]}]}");
    CHECK(k >= 3, "dist: only %ld allocations to fail", k);
    printf("dist: %ld allocation failures\n", k);
    /* The CLI's number parser needs no memory: no refusal is "out of memory". */
    uint64_t v = 0;
    allocs_left = 0;
    CHECK(ds_config_parse_uint("1e3", 0, 1000, &v) && v == 1000, "parse_uint without memory");
    allocs_left = -1;
    CHECK(live == 0, "%ld blocks live at the end", live);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
