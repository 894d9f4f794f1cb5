/* tests/stats/stats_sketch_tool.c
 * Test tool for the sketch alone (no model): quantiles of a file of doubles
 * for test_sketch_quantiles.py, and a timing loop for ds_sketch_add.
 * Licence: see LICENSE at the top of the repository.
 *
 *   stats_sketch_tool quantiles FILE PARTS Q...
 *       FILE: raw little-endian float64 values.  The values are split into
 *       PARTS contiguous parts, each sketched alone, and merged last part
 *       first.  Prints "count <n> zero <z> min <min> max <max>", then one
 *       line per Q: the quantile clamped to the exact [min, max], %.17g.
 *   stats_sketch_tool bench [N]
 *       Median of 5 timings of N (default 1e7) calls of ds_sketch_add and of
 *       ds_sketch_add_log on lognormal data, in ns per call.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats_test_util.h"

static int read_doubles(const char *path, double **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "stats_sketch_tool: %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t cap = 1u << 16, len = 0;
    double *x = malloc(cap * sizeof *x);
    unsigned char b[8];
    while (x && fread(b, 1, 8, f) == 8) {
        if (len == cap) {
            double *y = realloc(x, 2 * cap * sizeof *x);
            if (!y) {
                free(x);
                x = NULL;
                break;
            }
            x = y;
            cap *= 2;
        }
        uint64_t u = 0;
        for (int k = 7; k >= 0; --k)
            u = (u << 8) | b[k]; /* little-endian on any host */
        memcpy(&x[len++], &u, sizeof u);
    }
    int bad = ferror(f) != 0;
    fclose(f);
    if (!x || bad) {
        free(x);
        fprintf(stderr, "stats_sketch_tool: %s: cannot read\n", path);
        return 1;
    }
    *out = x;
    *n = len;
    return 0;
}

static int cmd_quantiles(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: stats_sketch_tool quantiles FILE PARTS Q...\n");
        return 2;
    }
    double *x;
    size_t n;
    if (read_doubles(argv[2], &x, &n))
        return 1;
    char *end;
    unsigned long parts = strtoul(argv[3], &end, 10);
    if (*end || parts == 0 || parts > 1000) {
        fprintf(stderr, "stats_sketch_tool: bad PARTS %s\n", argv[3]);
        free(x);
        return 2;
    }
    ds_sketch acc, *part = malloc(parts * sizeof *part);
    ds_moments mo;
    ds_sketch_init(&acc);
    ds_moments_init(&mo);
    int rc = part ? 0 : 1;
    for (size_t p = 0; p < parts && !rc; ++p) {
        ds_sketch_init(&part[p]);
        for (size_t i = n * p / parts; i < n * (p + 1) / parts && !rc; ++i) {
            ds_moments_add(&mo, x[i]);
            rc = ds_sketch_add(&part[p], x[i]) != DS_OK;
        }
    }
    for (size_t p = parts; p-- > 0 && !rc;)
        rc = ds_sketch_merge(&acc, &part[p]) != DS_OK;
    if (!rc) {
        printf("count %llu zero %llu min %.17g max %.17g\n", (unsigned long long)acc.count,
               (unsigned long long)acc.zero, mo.min, mo.max);
        for (int k = 4; k < argc; ++k) {
            double q = strtod(argv[k], &end);
            printf("%.17g\n", ds_sketch_quantile(&acc, q, mo.min, mo.max));
        }
    } else {
        fprintf(stderr, "stats_sketch_tool: out of memory\n");
    }
    if (part)
        for (size_t p = 0; p < parts; ++p)
            ds_sketch_clear(&part[p]);
    free(part);
    ds_sketch_clear(&acc);
    free(x);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double median5(double *v)
{
    qsort(v, 5, sizeof *v, tu_cmp_double);
    return v[2];
}

static int cmd_bench(int argc, char **argv)
{
    size_t n = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 10000000u;
    double *x = malloc(n * sizeof *x), *lx = malloc(n * sizeof *lx);
    if (!x || !lx || n == 0) {
        free(x);
        free(lx);
        return 1;
    }
    tu_rng r = {1};
    for (size_t i = 0; i < n; ++i) {
        lx[i] = 0.5 * tu_normal(&r) + 2.0; /* a price-like spread: ~2000 buckets */
        x[i] = exp(lx[i]);
    }
    double t_add[5], t_log[5];
    uint64_t check = 0;
    for (int rep = 0; rep < 5; ++rep) {
        ds_sketch s;
        ds_sketch_init(&s);
        double t0 = now_s();
        for (size_t i = 0; i < n; ++i)
            if (ds_sketch_add(&s, x[i]) != DS_OK)
                return 1;
        t_add[rep] = (now_s() - t0) / (double)n * 1e9;
        check += s.count;
        ds_sketch_clear(&s);
        t0 = now_s();
        for (size_t i = 0; i < n; ++i)
            if (ds_sketch_add_log(&s, lx[i]) != DS_OK)
                return 1;
        t_log[rep] = (now_s() - t0) / (double)n * 1e9;
        check += s.count;
        ds_sketch_clear(&s);
    }
    printf("ds_sketch_add     %.2f ns/call (median of 5, n = %zu)\n", median5(t_add), n);
    printf("ds_sketch_add_log %.2f ns/call (median of 5, n = %zu)\n", median5(t_log), n);
    free(x);
    free(lx);
    return check == 10u * n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "quantiles") == 0)
        return cmd_quantiles(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc, argv);
    fprintf(stderr, "usage: stats_sketch_tool quantiles FILE PARTS Q... | bench [N]\n");
    return 2;
}
