/* tests/config/test_config_unit.c
 * Unit tests of the scenario loader: defaults, input order and names, the
 * copula's Cholesky factor and eigenvalue, --set overrides, YAML round trip.
 * Licence: see LICENSE at the top of the repository.
 *
 * Run with the source tree as argv[1] (CMake passes it).  Every check prints
 * what failed; the exit status is the number of failures (capped at 1).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/config.h"
#include "dealsim/rng.h"

#include "../../sim/config/config_internal.h"

static int failures;
static const char *source_dir = ".";

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            ++failures;                                                   \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fputc('\n', stderr);                                          \
        }                                                                 \
    } while (0)

static const char *const k_minimal = "name: mini\n"
                                     "round:\n"
                                     "  target: 10\n"
                                     "investors:\n"
                                     "  - name: A\n"
                                     "    join_probability: 0.5\n"
                                     "    amount: {dist: uniform, min: 1, max: 2}\n"
                                     "compute:\n"
                                     "  horizon_months: 6\n"
                                     "  price:\n"
                                     "    initial: 2\n";

static ds_scenario *load_text(const char *text, const char *const *sets, size_t n_sets,
                              ds_diag *diag)
{
    ds_scenario *sc = NULL;
    ds_status st = ds_scenario_load_string(text, strlen(text), "test.yaml", sets, n_sets, &sc,
                                           diag);
    if (st != DS_OK) {
        char buf[2048];
        ds_diag_format(diag, buf, sizeof buf);
        fprintf(stderr, "  (load failed: %s)\n", buf);
    }
    return sc;
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* ---- defaults ---- */

static void test_defaults(void)
{
    ds_diag diag;
    ds_scenario *sc = load_text(k_minimal, NULL, 0, &diag);
    CHECK(sc != NULL, "minimal scenario must load");
    if (!sc)
        return;
    CHECK(sc->trials == 1000000, "trials default %llu", (unsigned long long)sc->trials);
    CHECK(sc->seed == 0, "seed default");
    CHECK(sc->description == NULL, "no description");
    CHECK(!sc->has_cap && !sc->has_minimum_close && !sc->has_pre_money, "round defaults");
    CHECK(sc->target == 10, "target");
    CHECK(sc->n_investors == 1, "one investor");
    const ds_investor *a = &sc->investors[0];
    CHECK(!strcmp(a->name, "A"), "name");
    CHECK(a->join_probability == 0.5, "join p");
    CHECK(a->round_trip.kind == DS_DIST_FIXED && a->round_trip.value == 0, "round_trip 0");
    CHECK(a->n_tranches == 1 && a->tranches[0].share == 1 &&
              a->tranches[0].probability == 1 && ds_dist_is_fixed(&a->tranches[0].month) &&
              ds_dist_mean(&a->tranches[0].month) == 0,
          "default tranche {share 1, month 0, probability 1}");
    CHECK(ds_dist_is_fixed(&sc->compute_share) && ds_dist_mean(&sc->compute_share) == 1,
          "compute.share 1");
    CHECK(ds_dist_mean(&sc->price_drift) == 0 && ds_dist_mean(&sc->price_volatility) == 0 &&
              ds_dist_mean(&sc->price_mean_reversion) == 0,
          "price defaults 0");
    CHECK(!sc->has_jumps, "no jumps");
    CHECK(sc->horizon == 6 && sc->schedule_kind == DS_SCHEDULE_EVEN, "horizon, schedule");
    for (int m = 0; m < sc->horizon; ++m)
        CHECK(sc->schedule[m] == 1, "even weight %d", m);
    CHECK(!strcmp(sc->output_file, "results/mini.h5"), "output file %s", sc->output_file);
    static const double q[] = {0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99};
    CHECK(sc->n_quantiles == 9, "9 quantiles");
    for (size_t i = 0; i < 9 && i < sc->n_quantiles; ++i)
        CHECK(sc->quantiles[i] == q[i], "quantile %zu", i);
    CHECK(sc->histogram_bins == 100, "bins");
    CHECK(sc->compression == -1, "compression none");
    CHECK(sc->per_trial_kind == DS_PER_TRIAL_NONE && sc->n_per_trial == 0, "per_trial");
    CHECK(sc->price_paths == 0, "price_paths");
    CHECK(sc->per_trial_inputs == 0, "per_trial_inputs off by default");
    CHECK(sc->n_correlations == 0 && sc->n_corr_inputs == 0 && sc->min_eigenvalue == 1,
          "no correlations");
    CHECK(!strcmp(sc->path, "test.yaml"), "path");
    CHECK(sc->source_len == strlen(k_minimal) && !strcmp(sc->source, k_minimal),
          "source verbatim");
    ds_scenario_free(sc);

    /* front_loaded: w_m = H - m + 1 */
    const char *set = "compute.schedule=front_loaded";
    sc = load_text(k_minimal, &set, 1, &diag);
    CHECK(sc && sc->schedule_kind == DS_SCHEDULE_FRONT_LOADED, "front_loaded");
    if (sc)
        for (int m = 1; m <= sc->horizon; ++m)
            CHECK(sc->schedule[m - 1] == (double)(sc->horizon - m + 1), "front weight %d", m);
    ds_scenario_free(sc);
}

/* ---- inputs ---- */

static void test_inputs(void)
{
    char *path = path_join(source_dir, "configs/openai-2026.yaml");
    ds_scenario *sc = NULL;
    ds_diag diag;
    ds_status st = ds_scenario_load(path, NULL, 0, &sc, &diag);
    CHECK(st == DS_OK, "openai-2026 loads: %s", diag.msg);
    free(path);
    if (!sc)
        return;
    static const char *const names[] = {
        "round.pre_money",   "join.Nvidia",          "amount.Nvidia",
        "round_trip.Nvidia", "tranche.Nvidia.1",     "tranche.Nvidia.1.month",
        "tranche.Nvidia.2",  "tranche.Nvidia.2.month", "tranche.Nvidia.3",
        "tranche.Nvidia.3.month", "join.Microsoft",  "amount.Microsoft",
        "round_trip.Microsoft", "tranche.Microsoft.1", "tranche.Microsoft.1.month",
        "join.Amazon",       "amount.Amazon",        "round_trip.Amazon",
        "tranche.Amazon.1",  "tranche.Amazon.1.month", "tranche.Amazon.2",
        "tranche.Amazon.2.month", "compute.share",   "price.initial",
        "price.drift",       "price.volatility",     "price.mean_reversion",
        "price.jumps.rate"};
    static const int fixed[] = {0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0,
                                1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1};
    size_t n = sizeof names / sizeof names[0];
    CHECK(sc->n_inputs == n, "input count %zu", sc->n_inputs);
    for (size_t i = 0; i < n && i < sc->n_inputs; ++i) {
        const ds_input *in = &sc->inputs[i];
        CHECK(!strcmp(in->name, names[i]), "input %zu is %s, expected %s", i, in->name,
              names[i]);
        CHECK(in->hash == ds_fnv1a64(names[i]), "hash of %s", names[i]);
        CHECK(in->fixed == fixed[i], "fixed flag of %s", names[i]);
        CHECK(ds_scenario_find_input(sc, names[i]) == (int)i, "find %s", names[i]);
        ds_input_kind want = !strncmp(names[i], "join.", 5) ? DS_INPUT_JOIN
                             : (!strncmp(names[i], "tranche.", 8) &&
                                strstr(names[i], ".month") == NULL)
                                 ? DS_INPUT_TRANCHE
                                 : DS_INPUT_DIST;
        CHECK(in->kind == want, "kind of %s", names[i]);
        CHECK((in->kind == DS_INPUT_DIST) == (in->dist != NULL), "dist pointer of %s",
              names[i]);
    }
    CHECK(ds_scenario_find_input(sc, "join.Nobody") == -1, "unknown input");
    CHECK(sc->inputs[2].dist == &sc->investors[0].amount, "amount.Nvidia points at amount");
    /* Joins are correlated: copula slots in input order. */
    CHECK(sc->n_corr_inputs == 3, "3 correlated inputs");
    int want_slots[] = {1, 10, 15};
    for (int k = 0; k < 3 && (size_t)k < sc->n_corr_inputs; ++k) {
        CHECK(sc->corr_inputs[k] == want_slots[k], "corr slot %d", k);
        CHECK(sc->inputs[want_slots[k]].corr_index == k, "corr_index");
    }
    CHECK(sc->inputs[2].corr_index == -1, "uncorrelated input has -1");
    /* Equicorrelation rho: eigenvalues 1 + 2 rho, 1 - rho (twice). */
    CHECK(fabs(sc->min_eigenvalue - 0.6) < 1e-12, "min eigenvalue %.17g", sc->min_eigenvalue);
    ds_scenario_free(sc);
}

/* ---- correlations ---- */

/* L L^T == R within 1e-12, R rebuilt from the scenario's entries. */
static void check_cholesky(const ds_scenario *sc)
{
    size_t n = sc->n_corr_inputs;
    double *r = calloc(n * n, sizeof *r);
    if (!r)
        return;
    for (size_t i = 0; i < n; ++i)
        r[i * n + i] = 1;
    for (size_t k = 0; k < sc->n_correlations; ++k) {
        size_t i = (size_t)sc->inputs[sc->correlations[k].ia].corr_index;
        size_t j = (size_t)sc->inputs[sc->correlations[k].ib].corr_index;
        r[i * n + j] = r[j * n + i] = sc->correlations[k].rho;
    }
    double worst = 0;
    for (size_t i = 0; i < n; ++i) {
        for (size_t j = 0; j < n; ++j) {
            double s = 0;
            for (size_t k = 0; k < n; ++k)
                s += sc->chol[i * n + k] * sc->chol[j * n + k];
            worst = fmax(worst, fabs(s - r[i * n + j]));
            if (j > i)
                CHECK(sc->chol[i * n + j] == 0, "upper triangle zero at %zu,%zu", i, j);
        }
    }
    CHECK(worst <= 1e-12, "|L L^T - R| = %g", worst);
    free(r);
}

static void test_correlations(void)
{
    /* A chain of 6 joins with rho on neighbours: R is tridiagonal Toeplitz,
     * eigenvalues 1 + 2 rho cos(k pi / (n + 1)), k = 1..n. */
    char text[4096];
    size_t o = (size_t)snprintf(text, sizeof text, "name: chain\nround: {target: 1}\ninvestors:\n");
    for (int i = 0; i < 6; ++i)
        o += (size_t)snprintf(text + o, sizeof text - o,
                              "  - {name: I%d, join_probability: 0.5, amount: 1}\n", i);
    o += (size_t)snprintf(text + o, sizeof text - o, "correlations:\n");
    /* Entries listed backwards: the copula order must still be input order. */
    for (int i = 4; i >= 0; --i)
        o += (size_t)snprintf(text + o, sizeof text - o, "  - [join.I%d, join.I%d, 0.45]\n",
                              i + 1, i);
    snprintf(text + o, sizeof text - o,
             "compute: {horizon_months: 3, price: {initial: 1}}\n");
    ds_diag diag;
    ds_scenario *sc = load_text(text, NULL, 0, &diag);
    CHECK(sc != NULL, "chain loads");
    if (!sc)
        return;
    const double pi = 3.14159265358979323846;
    double want = 1 - 2 * 0.45 * cos(pi / 7);
    CHECK(fabs(sc->min_eigenvalue - want) < 1e-12, "chain min eigenvalue %.17g vs %.17g",
          sc->min_eigenvalue, want);
    CHECK(sc->n_corr_inputs == 6, "6 correlated");
    for (int k = 0; k < 6 && (size_t)k < sc->n_corr_inputs; ++k)
        CHECK(!strncmp(sc->inputs[sc->corr_inputs[k]].name, "join.I", 6) &&
                  sc->inputs[sc->corr_inputs[k]].name[6] == (char)('0' + k),
              "slot %d in input order", k);
    check_cholesky(sc);
    ds_scenario_free(sc);

    /* The shipped scenarios' factors. */
    static const char *const files[] = {"configs/openai-2026.yaml",
                                        "configs/openai-2026-wide.yaml", "configs/smoke.yaml",
                                        "tests/data/good/sixty_four_investors.yaml"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; ++f) {
        char *p = path_join(source_dir, files[f]);
        if (ds_scenario_load(p, NULL, 0, &sc, &diag) == DS_OK) {
            check_cholesky(sc);
            ds_scenario_free(sc);
        } else {
            CHECK(0, "%s loads: %s", files[f], diag.msg);
        }
        free(p);
    }

    /* The eigenvalue routine on a matrix with known spectrum: Q diag(d) Q^T
     * with Q a Householder reflection. */
    enum { N = 5 };
    double d[N] = {3.5, -0.25, 1, 0.125, 2}, v[N] = {1, -2, 0.5, 3, 1}, vv = 0, a[N * N];
    for (int i = 0; i < N; ++i)
        vv += v[i] * v[i];
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) {
            double s = 0;
            for (int k = 0; k < N; ++k) {
                double qik = (i == k) - 2 * v[i] * v[k] / vv;
                double qjk = (j == k) - 2 * v[j] * v[k] / vv;
                s += qik * d[k] * qjk;
            }
            a[i * N + j] = s;
        }
    double m = ds_config_min_eigenvalue(a, N);
    CHECK(fabs(m - (-0.25)) < 1e-13, "Householder test min eigenvalue %.17g", m);
}

/* ---- --set ---- */

typedef struct {
    const char *sets[3];
    size_t n;
    int line, col; /* --set:line:col */
    const char *msg;
} bad_set;

static void test_sets(void)
{
    char *path = path_join(source_dir, "configs/openai-2026.yaml");
    ds_diag diag;
    ds_scenario *sc = NULL;
    const char *good[] = {"trials=1e7",
                          "seed=18446744073709551615",
                          "round.cap=80",
                          "investors.Nvidia.join_probability=0.9",
                          "investors[1].amount=5",
                          "compute.price.drift={dist: normal, mean: -0.3, sd: 0.05}",
                          "investors.Amazon.tranches[1].probability=0.25",
                          "output.per_trial=true",
                          "output.compression=deflate:4",
                          "round.cap=90"};
    ds_status st = ds_scenario_load(path, good, sizeof good / sizeof good[0], &sc, &diag);
    CHECK(st == DS_OK, "good sets load: %s:%d:%d %s", diag.file, diag.line, diag.col, diag.msg);
    if (sc) {
        CHECK(sc->trials == 10000000, "trials=1e7");
        CHECK(sc->seed == UINT64_MAX, "seed max");
        CHECK(sc->has_cap && sc->cap == 90, "later --set wins: cap %g", sc->cap);
        CHECK(sc->investors[0].join_probability == 0.9, "Nvidia join");
        CHECK(ds_dist_is_fixed(&sc->investors[1].amount) &&
                  ds_dist_mean(&sc->investors[1].amount) == 5,
              "investors[1].amount");
        CHECK(sc->price_drift.kind == DS_DIST_NORMAL && sc->price_drift.mean == -0.3 &&
                  sc->price_drift.sd == 0.05,
              "drift replaced");
        CHECK(sc->investors[2].tranches[1].probability == 0.25, "tranche probability");
        CHECK(sc->per_trial_kind == DS_PER_TRIAL_ALL, "per_trial true");
        CHECK(sc->compression == 4, "deflate:4");
        CHECK(!strcmp(sc->source, sc->source) && sc->source_len > 0, "source kept");
        /* The effective YAML carries the overrides and loads back alike. */
        char *y1 = NULL, *y2 = NULL;
        ds_scenario *sc2 = NULL;
        CHECK(ds_scenario_to_yaml(sc, &y1, &diag) == DS_OK, "to_yaml");
        if (y1 && ds_scenario_load_string(y1, strlen(y1), "eff", NULL, 0, &sc2, &diag) == DS_OK) {
            CHECK(ds_scenario_to_yaml(sc2, &y2, &diag) == DS_OK, "to_yaml 2");
            CHECK(y2 && !strcmp(y1, y2), "effective YAML round trip after --set");
            CHECK(sc2->cap == 90 && sc2->trials == 10000000, "overrides survive");
        } else {
            CHECK(0, "effective YAML reloads: %s", diag.msg);
        }
        free(y1);
        free(y2);
        ds_scenario_free(sc2);
        ds_scenario_free(sc);
    }

    /* A --set creating a whole section. */
    const char *jumps[] = {"compute.price.jumps={rate: 2, size: {dist: normal, mean: 0, sd: 0.1}}"};
    sc = load_text(k_minimal, jumps, 1, &diag);
    CHECK(sc && sc->has_jumps && ds_dist_mean(&sc->jump_rate) == 2, "jumps created");
    CHECK(sc && ds_scenario_find_input(sc, "price.jumps.rate") >= 0, "jump rate input");
    ds_scenario_free(sc);

    static const bad_set bad[] = {
        {{"round.cpa=80"}, 1, 1, 7, "did you mean \"cap\""},
        {{"trials=1e7", "rund.cap=3"}, 2, 2, 1, "did you mean \"round\""},
        {{"investors.Nvdia.join_probability=0.9"}, 1, 1, 11, "did you mean \"Nvidia\""},
        {{"investors[7].amount=1"}, 1, 1, 10, "an index 0..2"},
        {{"investors.1.amount=1"}, 1, 1, 11, "expected an entry name"},
        {{"investors[x].amount=1"}, 1, 1, 10, "an index in brackets"},
        {{"investors[1.amount=1"}, 1, 1, 10, "an index in brackets"},
        {{"round[0]=1"}, 1, 1, 6, "expected a list"},
        {{"investors.Nvidia.join_probability=1.5"}, 1, 1, 35, "expected a number in [0, 1]"},
        {{"trials=0"}, 1, 1, 8, "expected an integer from 1"},
        {{"seed=18446744073709551616"}, 1, 1, 6, "past 2^64-1"},
        {{"seed="}, 1, 1, 6, "expected a YAML value"},
        {{"noequals"}, 1, 1, 1, "expected KEY=VALUE"},
        {{"=5"}, 1, 1, 1, "nothing before '='"},
        {{"round..cap=5"}, 1, 1, 7, "empty key part"},
        {{"round.target={dist: uniform"}, 1, 1, 28, "YAML syntax error"},
        {{"trials.x=1"}, 1, 1, 8, "override trials as a whole"},
        {{"compute.price.volatility.mean=1"}, 1, 1, 26, "override compute.price.volatility"},
        {{"round.cap=&a 5"}, 1, 1, 11, "anchors"},
        {{"round.cap=.nan"}, 1, 1, 11, "NaN and infinity"},
        {{"correlations=[[join.Nvidia, price.volatility, 0.2]]"}, 1, 1, 29, "fixed"},
        {{"round.cap=80", "round.target={a: 1, a: 2}"}, 2, 2, 21, "duplicate key"},
        {{"round.pre_money={min: 1}"}, 1, 1, 17, "missing required key \"dist\""},
        {{"output.per_trial=[total, totl]"}, 1, 1, 26, "did you mean \"total\""},
        {{"investors.Amazon.amount={dist: normal, mean: 1, sd: 1}"}, 1, 1, 25, "support >= 0"},
        {{"name=b\xff"}, 1, 1, 7, "invalid UTF-8"},
        {{"round={cap: 5}"}, 1, 1, 7, "missing required key \"target\""},
        {{"round$=5"}, 1, 1, 6, "letters, digits"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        ds_diag_clear(&diag);
        st = ds_scenario_load(path, bad[i].sets, bad[i].n, &sc, &diag);
        CHECK(st == DS_ERR_SCENARIO && sc == NULL, "bad set %zu (%s) must fail", i,
              bad[i].sets[bad[i].n - 1]);
        CHECK(!strcmp(diag.file, "--set") && diag.line == bad[i].line && diag.col == bad[i].col,
              "bad set %zu (%s): position %s:%d:%d, expected --set:%d:%d (%s)", i,
              bad[i].sets[bad[i].n - 1], diag.file, diag.line, diag.col, bad[i].line,
              bad[i].col, diag.msg);
        CHECK(strstr(diag.msg, bad[i].msg) != NULL, "bad set %zu: message \"%s\" lacks \"%s\"",
              i, diag.msg, bad[i].msg);
        char buf[2048];
        ds_diag_format(&diag, buf, sizeof buf);
        char want[64];
        snprintf(want, sizeof want, "--set:%d:%d: error: ", bad[i].line, bad[i].col);
        CHECK(!strncmp(buf, want, strlen(want)), "formatted: %s", buf);
        ds_scenario_free(sc);
    }
    free(path);
}

/* ---- to_yaml round trip ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void roundtrip_file(const char *path)
{
    ds_diag diag;
    ds_scenario *a = NULL, *b = NULL;
    char *y1 = NULL, *y2 = NULL;
    if (ds_scenario_load(path, NULL, 0, &a, &diag) != DS_OK) {
        CHECK(0, "%s loads: %s:%d:%d: %s", path, diag.file, diag.line, diag.col, diag.msg);
        return;
    }
    CHECK(ds_scenario_to_yaml(a, &y1, &diag) == DS_OK, "%s: to_yaml", path);
    if (y1 && ds_scenario_load_string(y1, strlen(y1), "effective", NULL, 0, &b, &diag) == DS_OK) {
        CHECK(ds_scenario_to_yaml(b, &y2, &diag) == DS_OK, "%s: to_yaml again", path);
        CHECK(y2 && !strcmp(y1, y2), "%s: effective YAML differs after a reload", path);
        /* Same scenario, field by field where it matters. */
        CHECK(a->n_inputs == b->n_inputs && a->trials == b->trials && a->seed == b->seed &&
                  a->n_correlations == b->n_correlations &&
                  a->min_eigenvalue == b->min_eigenvalue && a->horizon == b->horizon &&
                  !strcmp(a->output_file, b->output_file),
              "%s: reloaded scenario differs", path);
        for (size_t i = 0; i < a->n_inputs && i < b->n_inputs; ++i)
            CHECK(!strcmp(a->inputs[i].name, b->inputs[i].name) &&
                      a->inputs[i].fixed == b->inputs[i].fixed,
                  "%s: input %zu", path, i);
        if (a->description && b->description)
            CHECK(!strcmp(a->description, b->description), "%s: description", path);
    } else {
        CHECK(0, "%s: effective YAML reloads: %s:%d:%d: %s\n%s", path, diag.file, diag.line,
              diag.col, diag.msg, y1 ? y1 : "");
    }
    free(y1);
    free(y2);
    ds_scenario_free(a);
    ds_scenario_free(b);
}

static void roundtrip_dir(const char *rel)
{
    char *dir = path_join(source_dir, rel);
    DIR *d = dir ? opendir(dir) : NULL;
    int n = 0;
    CHECK(d != NULL, "cannot open %s", dir ? dir : rel);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!ends_with(e->d_name, ".yaml"))
                continue;
            char *p = path_join(dir, e->d_name);
            if (p)
                roundtrip_file(p);
            free(p);
            ++n;
        }
        closedir(d);
    }
    CHECK(n > 0, "no scenarios in %s", rel);
    free(dir);
}

/* An investor named "1": investors.1 is that investor, never the one at
 * index 1 (which is investors[1]). */
static void test_set_by_name_not_index(void)
{
    static const char *const text = "name: mini\n"
                                    "round:\n"
                                    "  target: 10\n"
                                    "investors:\n"
                                    "  - name: A\n"
                                    "    join_probability: 0.5\n"
                                    "    amount: 1\n"
                                    "  - name: B\n"
                                    "    join_probability: 0.5\n"
                                    "    amount: 2\n"
                                    "  - name: \"1\"\n"
                                    "    join_probability: 0.5\n"
                                    "    amount: 3\n"
                                    "compute:\n"
                                    "  horizon_months: 6\n"
                                    "  price:\n"
                                    "    initial: 2\n";
    ds_diag diag;
    const char *by_name[] = {"investors.1.amount=7"};
    ds_scenario *sc = load_text(text, by_name, 1, &diag);
    CHECK(sc && ds_dist_mean(&sc->investors[2].amount) == 7 &&
              ds_dist_mean(&sc->investors[1].amount) == 2,
          "investors.1 is the investor named 1");
    ds_scenario_free(sc);
    const char *by_index[] = {"investors[1].amount=7"};
    sc = load_text(text, by_index, 1, &diag);
    CHECK(sc && ds_dist_mean(&sc->investors[1].amount) == 7 &&
              ds_dist_mean(&sc->investors[2].amount) == 3,
          "investors[1] is the second investor");
    ds_scenario_free(sc);
}

/* A UTF-8 byte-order mark before a valid scenario is accepted, positions
 * still count from the first real character, and /config keeps the text
 * verbatim (the mark included). */
static void test_bom(void)
{
    char text[1024];
    ds_diag diag;
    snprintf(text, sizeof text, "\xEF\xBB\xBF%s", k_minimal);
    ds_scenario *sc = load_text(text, NULL, 0, &diag);
    CHECK(sc != NULL, "a BOM is accepted");
    CHECK(sc && sc->source_len == strlen(text) && !memcmp(sc->source, text, strlen(text)),
          "the source is kept verbatim");
    ds_scenario_free(sc);
    snprintf(text, sizeof text, "\xEF\xBB\xBFname: [\n");
    sc = load_text(text, NULL, 0, &diag);
    CHECK(!sc && diag.line >= 1, "a BOM then a syntax error still fails: %s", diag.msg);
    /* Only at the very start: a second one is a character like any other. */
    snprintf(text, sizeof text, "\xEF\xBB\xBF\xEF\xBB\xBF%s", k_minimal);
    sc = load_text(text, NULL, 0, &diag);
    CHECK(!sc, "two BOMs are refused");
    ds_scenario_free(sc);
}

static void test_roundtrip(void)
{
    roundtrip_dir("configs");
    roundtrip_dir("tests/data/good");

    /* Strings that must be quoted survive exactly. */
    ds_diag diag;
    const char *set = "description=\"a \\\"quote\\\", \\\\, \\t, \\n, \\x01, \\u2028, caf\\u00e9\"";
    ds_scenario *sc = load_text(k_minimal, &set, 1, &diag);
    CHECK(sc && sc->description && !strcmp(sc->description,
                                            "a \"quote\", \\, \t, \n, \x01, \xe2\x80\xa8, caf\xc3\xa9"),
          "escaped description");
    ds_scenario_free(sc);
}

/* ---- a single distribution ---- */

static void test_dist_from_yaml(void)
{
    ds_dist d;
    ds_diag diag;
    CHECK(ds_dist_from_yaml("3.5", &d, &diag) == DS_OK && d.kind == DS_DIST_FIXED &&
              d.value == 3.5 && d.prepared,
          "bare number");
    ds_dist_clear(&d);
    CHECK(ds_dist_from_yaml("{dist: uniform, min: 1, max: 2}", &d, &diag) == DS_OK &&
              d.kind == DS_DIST_UNIFORM && d.min == 1 && d.max == 2,
          "flow mapping");
    ds_dist_clear(&d);
    CHECK(ds_dist_from_yaml("dist: mixture\ncomponents:\n  - {weight: 1, dist: normal, mean: 0, "
                            "sd: 1}\n  - {weight: 3, dist: fixed, value: 2}\n",
                            &d, &diag) == DS_OK &&
              d.kind == DS_DIST_MIXTURE && d.n == 2,
          "block mapping");
    ds_dist_clear(&d);
    ds_status st = ds_dist_from_yaml("{dist: uniform, min: 3, max: 2}", &d, &diag);
    CHECK(st == DS_ERR_SCENARIO && diag.line == 1 && diag.col == 30 &&
              strstr(diag.msg, "greater than min"),
          "bad dist: %d:%d %s", diag.line, diag.col, diag.msg);
    ds_dist_clear(&d);
    st = ds_dist_from_yaml("", &d, &diag);
    CHECK(st == DS_ERR_SCENARIO, "empty dist");
    ds_dist_clear(&d);
}

/* ---- odds and ends ---- */

static void test_misc(void)
{
    ds_diag diag;
    ds_scenario *sc = (ds_scenario *)(void *)&diag; /* must be reset to NULL */
    CHECK(ds_scenario_load("/nonexistent/dir/x.yaml", NULL, 0, &sc, &diag) == DS_ERR_IO &&
              sc == NULL,
          "missing file is an I/O error");
    ds_scenario_free(NULL);
    CHECK(ds_scenario_find_input(NULL, "x") == -1, "find on NULL");

    /* Integers are read exactly, beyond 2^53. */
    const char *set = "seed=9007199254740993";
    sc = load_text(k_minimal, &set, 1, &diag);
    CHECK(sc && sc->seed == UINT64_C(9007199254740993), "2^53 + 1 exact");
    ds_scenario_free(sc);

    /* Edit distance with transpositions. */
    CHECK(ds_config_edit_distance("tragte", "target") == 2, "OSA distance");
    CHECK(ds_config_edit_distance("", "abc") == 3, "distance to empty");

    /* Shortest round-trip numbers. */
    char b[40];
    ds_config_format_double(60, b, sizeof b);
    CHECK(!strcmp(b, "60"), "60 -> %s", b);
    ds_config_format_double(0.1, b, sizeof b);
    CHECK(!strcmp(b, "0.1"), "0.1 -> %s", b);
    ds_config_format_double(1.0 / 3.0, b, sizeof b);
    CHECK(strtod(b, NULL) == 1.0 / 3.0, "1/3 -> %s", b);
    ds_config_format_double(1e300, b, sizeof b);
    CHECK(strtod(b, NULL) == 1e300, "1e300 -> %s", b);

    /* describe() writes something sensible. */
    sc = load_text(k_minimal, NULL, 0, &diag);
    if (sc) {
        FILE *f = tmpfile();
        if (f) {
            ds_scenario_describe(sc, f);
            long n = ftell(f);
            CHECK(n > 100, "describe wrote %ld bytes", n);
            char text[4096] = "";
            rewind(f);
            size_t got = fread(text, 1, sizeof text - 1, f);
            text[got] = '\0';
            CHECK(strstr(text, "join.A") && strstr(text, "amount.A") &&
                      strstr(text, "smallest eigenvalue"),
                  "describe content:\n%s", text);
            fclose(f);
        }
        ds_scenario_free(sc);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        source_dir = argv[1];
    test_defaults();
    test_inputs();
    test_correlations();
    test_sets();
    test_set_by_name_not_index();
    test_bom();
    test_roundtrip();
    test_dist_from_yaml();
    test_misc();
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    else
        printf("config unit tests passed\n");
    return failures ? 1 : 0;
}
