/* tests/dist/ds_dist_tool.c
 * Command-line access to the dist module, for the statistical tests and the benchmark.
 * Licence: see LICENSE at the top of the repository.
 *
 * A test tool: not installed, not part of the dealsim program.
 * Usage: ds_dist_tool COMMAND [options] [DIST] [-- NUMBERS...]
 *   sample   DIST            n draws by ds_dist_sample
 *   qsample  DIST            n draws by ds_dist_quantile(uniform in (0,1))
 *   quantile DIST -- u...    ds_dist_quantile at each u
 *   cdf      DIST -- x...    ds_dist_cdf at each x
 *   info     DIST            support, mean, is_fixed
 *   check    DIST            "ok", or the validation message (exit 2)
 *   rand normal | exponential | gamma SHAPE | beta A B | poisson MEAN
 *                            n draws of a building block
 *   special FN A B -- x...   FN: betainc, betaincinv (A, B shapes),
 *                            normcdf, normsf, normppf (A, B ignored: pass 0 0)
 *   bench                    ns per draw, median of 5 repeats of 10^7 draws
 * Options (before "--"): -n N (draws, default 10), --seed S (default 1),
 *   --binary (raw native doubles on stdout instead of %.17g lines).
 * DIST: KIND key=value ...  with keys value min max mode lambda alpha beta
 *   mean sd median sigma p, and for discrete values=v1,v2,... weights=w1,...;
 *   a mixture is  mixture [ WEIGHT DIST ] [ WEIGHT DIST ] ...  (nestable).
 * Draws come from ds_rng_stream(seed, "ds_dist_tool", 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dealsim/dist.h"

#define TOOL_BENCH_DRAWS 10000000L
#define TOOL_BENCH_REPEATS 5

typedef struct {
    long n;
    unsigned long long seed;
    int binary;
} tool_opts;

static int parse_double(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && *end == '\0';
}

/* "1,2,3" into a fresh array. */
static int parse_list(const char *s, double **out, size_t *n)
{
    size_t cap = 1;
    for (const char *p = s; *p; ++p)
        cap += *p == ',';
    double *v = malloc(cap * sizeof *v);
    if (!v)
        return 0;
    size_t k = 0;
    const char *p = s;
    for (;;) {
        char *end;
        v[k++] = strtod(p, &end);
        if (end == p || (*end != ',' && *end != '\0')) {
            free(v);
            return 0;
        }
        if (*end == '\0')
            break;
        p = end + 1;
    }
    *out = v;
    *n = k;
    return 1;
}

static int set_field(ds_dist *d, const char *key, const char *val)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"value", offsetof(ds_dist, value)},   {"min", offsetof(ds_dist, min)},
        {"max", offsetof(ds_dist, max)},       {"mode", offsetof(ds_dist, mode)},
        {"lambda", offsetof(ds_dist, lambda)}, {"alpha", offsetof(ds_dist, alpha)},
        {"beta", offsetof(ds_dist, beta)},     {"mean", offsetof(ds_dist, mean)},
        {"sd", offsetof(ds_dist, sd)},         {"median", offsetof(ds_dist, median)},
        {"sigma", offsetof(ds_dist, sigma)},   {"p", offsetof(ds_dist, p)},
    };
    if (strcmp(key, "values") == 0 || strcmp(key, "weights") == 0) {
        double *v;
        size_t n;
        if (!parse_list(val, &v, &n))
            return 0;
        if (d->n != 0 && d->n != n) {
            free(v);
            return 0;
        }
        d->n = n;
        double **slot = key[0] == 'v' ? &d->values : &d->weights;
        free(*slot);
        *slot = v;
        return 1;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; ++i) {
        if (strcmp(key, fields[i].name) == 0) {
            double x;
            if (!parse_double(val, &x))
                return 0;
            memcpy((char *)d + fields[i].off, &x, sizeof x);
            return 1;
        }
    }
    return 0;
}

/* Parses DIST from argv[*pos..end) into d (initialised here). */
static int parse_dist(char **argv, int *pos, int end, ds_dist *d)
{
    ds_dist_kind kind;
    if (*pos >= end || !ds_dist_kind_from_name(argv[*pos], &kind)) {
        fprintf(stderr, "ds_dist_tool: expected a distribution kind at '%s'\n",
                *pos < end ? argv[*pos] : "(end)");
        ds_dist_init(d, DS_DIST_FIXED);
        return 0;
    }
    ds_dist_init(d, kind);
    ++*pos;
    if (kind == DS_DIST_MIXTURE) {
        while (*pos < end && strcmp(argv[*pos], "[") == 0) {
            ++*pos;
            double w;
            if (*pos >= end || !parse_double(argv[*pos], &w)) {
                fprintf(stderr, "ds_dist_tool: expected a component weight\n");
                return 0;
            }
            ++*pos;
            ds_dist *comps = realloc(d->components, (d->n + 1) * sizeof *comps);
            double *ws = realloc(d->weights, (d->n + 1) * sizeof *ws);
            if (comps)
                d->components = comps;
            if (ws)
                d->weights = ws;
            if (!comps || !ws)
                return 0;
            ws[d->n] = w;
            ++d->n;
            int ok = parse_dist(argv, pos, end, &comps[d->n - 1]);
            if (!ok)
                return 0;
            if (*pos >= end || strcmp(argv[*pos], "]") != 0) {
                fprintf(stderr, "ds_dist_tool: expected ']'\n");
                return 0;
            }
            ++*pos;
        }
        return 1;
    }
    while (*pos < end && strchr(argv[*pos], '=')) {
        const char *arg = argv[*pos];
        const char *eq = strchr(arg, '=');
        size_t klen = (size_t)(eq - arg);
        char key[32];
        int ok = klen < sizeof key;
        if (ok) {
            memcpy(key, arg, klen);
            key[klen] = '\0';
            ok = set_field(d, key, eq + 1);
        }
        if (!ok) {
            fprintf(stderr, "ds_dist_tool: bad parameter '%s'\n", argv[*pos]);
            return 0;
        }
        ++*pos;
    }
    return 1;
}

static void emit(const tool_opts *o, double x)
{
    if (o->binary)
        fwrite(&x, sizeof x, 1, stdout);
    else
        printf("%.17g\n", x);
}

static double now_ns(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum {
    B_NORMAL,
    B_EXPONENTIAL,
    B_GAMMA_HALF,
    B_GAMMA_4,
    B_BETA,
    B_UNIFORM,
    B_TRIANGULAR,
    B_TRUNC_CENTRE,
    B_TRUNC_TAIL,
    B_LOGNORMAL,
    B_PERT,
    B_POISSON,
    B_COUNT
} bench_kind;

static const char *const bench_names[B_COUNT] = {
    "normal",
    "exponential",
    "gamma(0.5)",
    "gamma(4)",
    "beta(4,1.5)",
    "uniform(2,5)",
    "triangular(0,1,4)",
    "truncnormal(0,1)[-1,0]",
    "truncnormal(0,1)[4,5]",
    "lognormal(1,0.5)",
    "pert(0,1,4)",
    "poisson(0.0833)",
};

static double bench_draw(bench_kind k, const ds_dist *dists, ds_rng *r)
{
    switch (k) {
    case B_NORMAL: return ds_rand_normal(r);
    case B_EXPONENTIAL: return ds_rand_exponential(r);
    case B_GAMMA_HALF: return ds_rand_gamma(r, 0.5);
    case B_GAMMA_4: return ds_rand_gamma(r, 4.0);
    case B_BETA: return ds_rand_beta(r, 4.0, 1.5);
    case B_POISSON: return (double)ds_rand_poisson(r, 0.0833);
    default: return ds_dist_sample(&dists[k], r);
    }
}

static int bench(void)
{
    ds_dist dists[B_COUNT];
    for (int k = 0; k < B_COUNT; ++k)
        ds_dist_init(&dists[k], DS_DIST_FIXED);
    ds_dist *d = &dists[B_UNIFORM];
    d->kind = DS_DIST_UNIFORM, d->min = 2, d->max = 5;
    d = &dists[B_TRIANGULAR];
    d->kind = DS_DIST_TRIANGULAR, d->min = 0, d->mode = 1, d->max = 4;
    d = &dists[B_TRUNC_CENTRE];
    d->kind = DS_DIST_NORMAL, d->mean = 0, d->sd = 1, d->min = -1, d->max = 0;
    d = &dists[B_TRUNC_TAIL];
    d->kind = DS_DIST_NORMAL, d->mean = 0, d->sd = 1, d->min = 4, d->max = 5;
    d = &dists[B_LOGNORMAL];
    d->kind = DS_DIST_LOGNORMAL, d->median = 1, d->sigma = 0.5;
    d = &dists[B_PERT];
    d->kind = DS_DIST_PERT, d->min = 0, d->mode = 1, d->max = 4;
    for (int k = 0; k < B_COUNT; ++k) {
        ds_diag diag;
        if (ds_dist_prepare(&dists[k], &diag) != DS_OK) {
            fprintf(stderr, "ds_dist_tool: bench setup: %s\n", diag.msg);
            return 1;
        }
    }
    printf("%-24s %10s\n", "draw", "ns/draw");
    volatile double sink = 0.0;
    for (int k = 0; k < B_COUNT; ++k) {
        ds_rng r;
        ds_rng_stream(&r, 1, "bench", (uint64_t)k);
        double t[TOOL_BENCH_REPEATS];
        for (int rep = 0; rep < TOOL_BENCH_REPEATS; ++rep) {
            double acc = 0.0;
            double t0 = now_ns();
            for (long i = 0; i < TOOL_BENCH_DRAWS; ++i)
                acc += bench_draw((bench_kind)k, dists, &r);
            t[rep] = (now_ns() - t0) / (double)TOOL_BENCH_DRAWS;
            sink = sink + acc;
        }
        qsort(t, TOOL_BENCH_REPEATS, sizeof t[0], cmp_double);
        printf("%-24s %10.2f\n", bench_names[k], t[TOOL_BENCH_REPEATS / 2]);
        fflush(stdout);
    }
    (void)sink;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: ds_dist_tool sample|qsample|quantile|cdf|info|check|rand|special|bench "
                    "[-n N] [--seed S] [--binary] [DIST] [-- NUMBERS...]\n");
    return 2;
}

static int run_rand(const tool_opts *o, char **argv, int pos, int end)
{
    if (pos >= end)
        return usage();
    const char *what = argv[pos++];
    double a = 0.0, b = 0.0;
    int need = strcmp(what, "gamma") == 0 || strcmp(what, "poisson") == 0 ? 1
               : strcmp(what, "beta") == 0                                 ? 2
                                                                           : 0;
    if (need >= 1 && (pos >= end || !parse_double(argv[pos++], &a)))
        return usage();
    if (need >= 2 && (pos >= end || !parse_double(argv[pos++], &b)))
        return usage();
    ds_rng r;
    ds_rng_stream(&r, o->seed, "ds_dist_tool", 0);
    for (long i = 0; i < o->n; ++i) {
        double x;
        if (strcmp(what, "normal") == 0)
            x = ds_rand_normal(&r);
        else if (strcmp(what, "exponential") == 0)
            x = ds_rand_exponential(&r);
        else if (strcmp(what, "gamma") == 0)
            x = ds_rand_gamma(&r, a);
        else if (strcmp(what, "beta") == 0)
            x = ds_rand_beta(&r, a, b);
        else if (strcmp(what, "poisson") == 0)
            x = (double)ds_rand_poisson(&r, a);
        else
            return usage();
        emit(o, x);
    }
    return 0;
}

static int run_special(const tool_opts *o, char **args, int pos, int end, char **argv, int nums,
                       int argc)
{
    double a, b;
    if (end - pos != 3 || !parse_double(args[pos + 1], &a) || !parse_double(args[pos + 2], &b))
        return usage();
    const char *fn = args[pos];
    for (int i = nums; i < argc; ++i) {
        double x, y;
        if (!parse_double(argv[i], &x))
            return usage();
        if (strcmp(fn, "betainc") == 0)
            y = ds_beta_inc(a, b, x);
        else if (strcmp(fn, "betaincinv") == 0)
            y = ds_beta_inc_inv(a, b, x);
        else if (strcmp(fn, "normcdf") == 0)
            y = ds_norm_cdf(x);
        else if (strcmp(fn, "normsf") == 0)
            y = ds_norm_sf(x);
        else if (strcmp(fn, "normppf") == 0)
            y = ds_norm_ppf(x);
        else
            return usage();
        emit(o, y);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    tool_opts o = {10, 1, 0};
    /* Gather options (before "--") and move positional arguments forward. */
    char **pos_args = malloc((size_t)argc * sizeof *pos_args);
    if (!pos_args)
        return 1;
    int npos = 0, nums = argc;
    for (int i = 2; i < argc; ++i) {
        if (strcmp(argv[i], "--") == 0) {
            nums = i + 1;
            break;
        }
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            o.n = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            o.seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--binary") == 0) {
            o.binary = 1;
        } else {
            pos_args[npos++] = argv[i];
        }
    }
    int rc = 0;
    if (strcmp(cmd, "bench") == 0) {
        rc = bench();
    } else if (strcmp(cmd, "rand") == 0) {
        rc = run_rand(&o, pos_args, 0, npos);
    } else if (strcmp(cmd, "special") == 0) {
        rc = run_special(&o, pos_args, 0, npos, argv, nums, argc);
    } else {
        ds_dist d;
        int p = 0;
        int parsed = parse_dist(pos_args, &p, npos, &d);
        if (!parsed || p != npos) {
            if (parsed)
                fprintf(stderr, "ds_dist_tool: unexpected '%s'\n", pos_args[p]);
            ds_dist_clear(&d);
            free(pos_args);
            return 2;
        }
        ds_diag diag;
        ds_diag_clear(&diag);
        ds_status st = ds_dist_prepare(&d, &diag);
        if (strcmp(cmd, "check") == 0) {
            printf("%s\n", st == DS_OK ? "ok" : diag.msg);
            rc = st == DS_OK ? 0 : 2;
        } else if (st != DS_OK) {
            fprintf(stderr, "ds_dist_tool: %s\n", diag.msg);
            rc = 2;
        } else if (strcmp(cmd, "sample") == 0 || strcmp(cmd, "qsample") == 0) {
            ds_rng r;
            ds_rng_stream(&r, o.seed, "ds_dist_tool", 0);
            int inv = cmd[0] == 'q';
            for (long i = 0; i < o.n; ++i) {
                if (inv)
                    emit(&o, ds_dist_quantile(&d, ds_rng_uniform_pos(&r)));
                else
                    emit(&o, ds_dist_sample(&d, &r));
            }
        } else if (strcmp(cmd, "quantile") == 0 || strcmp(cmd, "cdf") == 0) {
            for (int i = nums; i < argc; ++i) {
                double x;
                if (!parse_double(argv[i], &x)) {
                    rc = usage();
                    break;
                }
                emit(&o, cmd[0] == 'q' ? ds_dist_quantile(&d, x) : ds_dist_cdf(&d, x));
            }
        } else if (strcmp(cmd, "info") == 0) {
            double lo, hi;
            ds_dist_support(&d, &lo, &hi);
            printf("support %.17g %.17g\nmean %.17g\nfixed %d\n", lo, hi, ds_dist_mean(&d),
                   ds_dist_is_fixed(&d));
        } else {
            rc = usage();
        }
        ds_dist_clear(&d);
    }
    free(pos_args);
    return rc;
}
