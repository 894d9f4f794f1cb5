/* sim/app/cmd_compare.c
 * `dealsim compare A.h5 B.h5 [--json]`: the difference B - A of every
 * summary, with its standard error; paired trial by trial when the two runs
 * share their random numbers.
 * Licence: see LICENSE at the top of the repository.
 *
 * Two runs with the same seed and trial count draw the same random numbers
 * for the same named input in the same trial (streams are keyed by seed,
 * input name and block), so a change that touches one investor leaves most
 * of a trial as it was: the per-trial difference b_t - a_t then has a much
 * smaller variance than two independent runs, and its standard error is the
 * honest one.  When /trials/<output> exists in both files the difference is
 * computed from it in chunks (memory does not grow with the trials);
 * otherwise, or with different seeds or trial counts, the unpaired
 * sqrt(se_A^2 + se_B^2) is the standard error.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dealsim/h5in.h"
#include "dealsim/model.h"

#define DS_CMP_JSON_FORMAT 1
/* Trials read at a time from each file (2 x 512 KiB of doubles). */
#define DS_CMP_CHUNK ((size_t)65536)

typedef struct {
    int paired;          /* per-trial pairing was used */
    uint64_t pairs;      /* trials where both values are finite (paired) */
    double mean_a, mean_b, se_a, se_b;
    double diff, se;     /* B - A and its standard error (paired or not) */
    double se_unpaired;  /* sqrt(se_a^2 + se_b^2) */
} ds_cmp_row;

static double mo_mean(const ds_moments *mo) { return mo->n > 0 ? mo->mean : (double)NAN; }

/* The paired difference of output `name` from the per-trial datasets; sets
 * row->paired when both files have them (of `trials` values).  Returns an
 * exit code (0 ok, also when not paired). */
static int pair_output(const ds_cli_result *a, const ds_cli_result *b, const char *name,
                       uint64_t trials, double *buf, ds_cmp_row *row)
{
    /* Under Latin hypercube sampling (either file) trials within a block are
     * not independent, so the paired difference's standard error comes from
     * the spread of the full blocks' mean differences (stats.h, "Standard
     * errors"); blocks are independent under both methods. */
    const int by_blocks = a->st->sampling == DS_SAMPLING_LATIN_HYPERCUBE ||
                          b->st->sampling == DS_SAMPLING_LATIN_HYPERCUBE;
    const uint64_t bsize = a->fi.block_size ? a->fi.block_size : DS_BLOCK_SIZE;
    ds_moments blocks, cur;
    ds_moments_init(&blocks);
    ds_moments_init(&cur);
    ds_diag diag;
    ds_diag_clear(&diag);
    ds_h5_trials *ta = NULL, *tb = NULL;
    int rc = 0;
    if (ds_h5_trials_open(a->path, name, &ta, &diag) != DS_OK ||
        ds_h5_trials_open(b->path, name, &tb, &diag) != DS_OK)
        goto fail;
    if (!ta || !tb || ds_h5_trials_length(ta) != trials || ds_h5_trials_length(tb) != trials)
        goto done; /* not paired: no per-trial data (or not of every trial) */
    ds_moments d;
    ds_moments_init(&d);
    double *va = buf, *vb = buf + DS_CMP_CHUNK;
    for (uint64_t first = 0; first < trials; first += DS_CMP_CHUNK) {
        size_t n = trials - first < DS_CMP_CHUNK ? (size_t)(trials - first) : DS_CMP_CHUNK;
        if (ds_h5_trials_read(ta, first, n, va, &diag) != DS_OK ||
            ds_h5_trials_read(tb, first, n, vb, &diag) != DS_OK)
            goto fail;
        /* A trial where either value is undefined (NaN) has no difference. */
        for (size_t t = 0; t < n; ++t) {
            if (isfinite(va[t]) && isfinite(vb[t])) {
                ds_moments_add(&d, vb[t] - va[t]);
                ds_moments_add(&cur, vb[t] - va[t]);
            }
            if ((first + t + 1) % bsize == 0) { /* a full block ends */
                if (cur.n > 0)
                    ds_moments_add(&blocks, cur.mean);
                ds_moments_init(&cur);
            }
        }
    }
    row->paired = 1;
    row->pairs = d.n;
    row->diff = mo_mean(&d);
    row->se = by_blocks ? ds_moments_stderr(&blocks) : ds_moments_stderr(&d);
    goto done;
fail:
    fprintf(stderr, "dealsim: error: %s\n", diag.msg);
    rc = diag.status == DS_ERR_NOMEM ? 1 : 2;
done:
    ds_h5_trials_close(ta);
    ds_h5_trials_close(tb);
    return rc;
}

static void json_num_kv(FILE *o, const char *key, double v, int comma)
{
    fprintf(o, "\"%s\": ", key);
    ds_cli_json_num(o, v);
    if (comma)
        fputs(", ", o);
}

static void json_file(FILE *o, const char *key, const ds_cli_result *r)
{
    fprintf(o, "  \"%s\": {\"file\": ", key);
    ds_cli_json_str(o, r->path);
    fputs(", \"scenario\": ", o);
    ds_cli_json_str(o, r->sc->name);
    fputs(", \"run_status\": ", o);
    ds_cli_json_str(o, r->fi.run_status);
    fprintf(o, ", \"trials\": %llu, \"seed\": %llu},\n", (unsigned long long)r->st->trials,
            (unsigned long long)r->fi.seed);
}

/* Index of investor `name` in sc, or -1. */
static long find_investor(const ds_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->n_investors; ++i)
        if (!strcmp(sc->investors[i].name, name))
            return (long)i;
    return -1;
}

int ds_cli_compare(int argc, char **argv)
{
    const char *pa = NULL, *pb = NULL;
    int json = 0;
    for (int i = 0; i < argc; ++i) {
        const char *x = argv[i];
        if (!strcmp(x, "-h") || !strcmp(x, "--help")) {
            fputs(ds_cli_usage_compare, stdout);
            return 0;
        } else if (!strcmp(x, "--json")) {
            json = 1;
        } else if (x[0] == '-' && x[1]) {
            return ds_cli_usage_error("compare ", "unknown option '%s'", x);
        } else if (!pa) {
            pa = x;
        } else if (!pb) {
            pb = x;
        } else {
            return ds_cli_usage_error("compare ", "unexpected argument '%s' (two files)", x);
        }
    }
    if (!pb)
        return ds_cli_usage_error("compare ", "needs two files, A.h5 and B.h5");
    ds_cli_result a, b;
    int rc = ds_cli_result_load(pa, &a);
    if (rc)
        return rc;
    if ((rc = ds_cli_result_load(pb, &b))) {
        ds_cli_result_free(&a);
        return rc;
    }
    ds_cmp_row *rows = NULL;
    double *buf = NULL;
    /* Different block sizes or layouts are different experiments: refuse. */
    if (a.fi.block_size != b.fi.block_size) {
        fprintf(stderr, "dealsim: error: %s has block_size %llu but %s has %llu: runs of "
                        "different block sizes cannot be compared\n",
                pa, (unsigned long long)a.fi.block_size, pb, (unsigned long long)b.fi.block_size);
        rc = 2;
        goto done;
    }
    if (a.fi.format_major != b.fi.format_major || a.fi.format_minor != b.fi.format_minor) {
        fprintf(stderr, "dealsim: error: %s has file_format_version %d.%d but %s has %d.%d: "
                        "files of different format versions cannot be compared\n",
                pa, (int)a.fi.format_major, (int)a.fi.format_minor, pb, (int)b.fi.format_major,
                (int)b.fi.format_minor);
        rc = 2;
        goto done;
    }
    const size_t no = a.st->n_outputs < b.st->n_outputs ? a.st->n_outputs : b.st->n_outputs;
    const uint64_t trials = a.st->trials;
    const int crn = a.fi.seed == b.fi.seed && a.st->trials == b.st->trials && trials > 0;
    rows = calloc(no ? no : 1, sizeof *rows);
    buf = crn ? malloc(2 * DS_CMP_CHUNK * sizeof *buf) : NULL;
    if (!rows || (crn && !buf)) {
        fprintf(stderr, "dealsim: error: out of memory\n");
        rc = 1;
        goto done;
    }
    size_t n_paired = 0;
    for (size_t k = 0; k < no; ++k) {
        ds_cmp_row *r = &rows[k];
        const ds_moments *ma = &a.st->out[k], *mb = &b.st->out[k];
        r->mean_a = mo_mean(ma);
        r->mean_b = mo_mean(mb);
        r->se_a = ds_stats_stderr(a.st, k);
        r->se_b = ds_stats_stderr(b.st, k);
        r->se_unpaired = sqrt(r->se_a * r->se_a + r->se_b * r->se_b);
        r->diff = r->mean_b - r->mean_a;
        r->se = r->se_unpaired;
        if (crn &&
            (rc = pair_output(&a, &b, ds_output_get_info((ds_output)k)->name, trials, buf, r)))
            goto done;
        n_paired += (size_t)r->paired;
    }
    char why[256];
    if (crn && n_paired)
        snprintf(why, sizeof why,
                 "common random numbers (same seed %llu, same %llu trials): %zu of %zu outputs "
                 "paired trial by trial from /trials%s",
                 (unsigned long long)a.fi.seed, (unsigned long long)trials, n_paired, no,
                 n_paired < no ? ", the rest unpaired (no per-trial data)" : "");
    else if (crn)
        snprintf(why, sizeof why,
                 "same seed and trials, but no per-trial data in both files "
                 "(output.per_trial): unpaired");
    else if (a.fi.seed != b.fi.seed)
        snprintf(why, sizeof why, "different seeds (%llu, %llu): independent runs, unpaired",
                 (unsigned long long)a.fi.seed, (unsigned long long)b.fi.seed);
    else
        snprintf(why, sizeof why, "different trial counts (%llu, %llu): unpaired",
                 (unsigned long long)a.st->trials, (unsigned long long)b.st->trials);

    FILE *o = stdout;
    if (json) {
        fprintf(o, "{\n  \"format\": %d,\n", DS_CMP_JSON_FORMAT);
        json_file(o, "a", &a);
        json_file(o, "b", &b);
        fprintf(o, "  \"common_random_numbers\": %s,\n  \"pairing\": ", crn ? "true" : "false");
        ds_cli_json_str(o, why);
        fputs(",\n  \"outputs\": {", o);
        for (size_t k = 0; k < no; ++k) {
            const ds_cmp_row *r = &rows[k];
            const ds_output_info *oi = ds_output_get_info((ds_output)k);
            fprintf(o, "%s\n    ", k ? "," : "");
            ds_cli_json_str(o, oi->name);
            fputs(": {\"units\": ", o);
            ds_cli_json_str(o, oi->units);
            fprintf(o, ", \"method\": \"%s\", ", r->paired ? "paired" : "unpaired");
            json_num_kv(o, "mean_a", r->mean_a, 1);
            json_num_kv(o, "mean_b", r->mean_b, 1);
            json_num_kv(o, "stderr_a", r->se_a, 1);
            json_num_kv(o, "stderr_b", r->se_b, 1);
            json_num_kv(o, "diff", r->diff, 1);
            json_num_kv(o, "stderr", r->se, 1);
            json_num_kv(o, "stderr_unpaired", r->se_unpaired, 1);
            json_num_kv(o, "stderr_ratio", r->se_unpaired / r->se, 1);
            if (r->paired)
                fprintf(o, "\"pairs\": %llu}", (unsigned long long)r->pairs);
            else
                fputs("\"pairs\": null}", o);
        }
        fputs("\n  },\n  \"investors\": [", o);
    } else {
        printf("dealsim compare: B - A\n  A: %s (scenario %s, %llu trials, seed %llu%s)\n"
               "  B: %s (scenario %s, %llu trials, seed %llu%s)\n  %s\n\n",
               pa, a.sc->name, (unsigned long long)a.st->trials, (unsigned long long)a.fi.seed,
               strcmp(a.fi.run_status, "complete") ? ", INTERRUPTED" : "", pb, b.sc->name,
               (unsigned long long)b.st->trials, (unsigned long long)b.fi.seed,
               strcmp(b.fi.run_status, "complete") ? ", INTERRUPTED" : "", why);
        printf("%-18s %11s %11s %11s %10s %-8s %11s %8s\n", "output", "mean A", "mean B",
               "B - A", "se(B-A)", "method", "se unpaired", "se ratio");
        for (size_t k = 0; k < no; ++k) {
            const ds_cmp_row *r = &rows[k];
            printf("%-18s %11.4g %11.4g %11.4g %10.3g %-8s %11.3g",
                   ds_output_get_info((ds_output)k)->name, r->mean_a, r->mean_b, r->diff, r->se,
                   r->paired ? "paired" : "unpaired", r->se_unpaired);
            if (r->paired)
                printf(" %8.3g\n", r->se_unpaired / r->se);
            else
                printf(" %8s\n", "-");
        }
        printf("\nInvestors (unpaired)   P(join) A  P(join) B      B - A    se   "
               "mean amount B - A      se\n");
    }
    /* Investors by name; those in one file only are skipped. */
    size_t shown = 0;
    for (size_t i = 0; i < a.sc->n_investors; ++i) {
        long j = find_investor(b.sc, a.sc->investors[i].name);
        if (j < 0)
            continue;
        const double na = (double)a.st->trials, nb = (double)b.st->trials;
        const double p_a = (double)a.st->inv_joined[i] / na;
        const double p_b = (double)b.st->inv_joined[j] / nb;
        const double se_p = sqrt(p_a * (1 - p_a) / na + p_b * (1 - p_b) / nb);
        const ds_moments *aa = &a.st->inv_amount[i], *ab = &b.st->inv_amount[j];
        const double d_am = mo_mean(ab) - mo_mean(aa);
        const double se_a1 = ds_moments_stderr(aa), se_b1 = ds_moments_stderr(ab);
        const double se_am = sqrt(se_a1 * se_a1 + se_b1 * se_b1);
        if (json) {
            fprintf(o, "%s\n    {\"name\": ", shown ? "," : "");
            ds_cli_json_str(o, a.sc->investors[i].name);
            fputs(", \"method\": \"unpaired\", ", o);
            json_num_kv(o, "join_probability_a", p_a, 1);
            json_num_kv(o, "join_probability_b", p_b, 1);
            json_num_kv(o, "join_probability_diff", p_b - p_a, 1);
            json_num_kv(o, "join_probability_stderr", se_p, 1);
            json_num_kv(o, "amount_mean_a", mo_mean(aa), 1);
            json_num_kv(o, "amount_mean_b", mo_mean(ab), 1);
            json_num_kv(o, "amount_mean_diff", d_am, 1);
            json_num_kv(o, "amount_mean_stderr", se_am, 0);
            fputs("}", o);
        } else {
            printf("  %-20s %10.4f %10.4f %10.4f %7.4f %19.3f %7.3f\n", a.sc->investors[i].name,
                   p_a, p_b, p_b - p_a, se_p, d_am, se_am);
        }
        ++shown;
    }
    if (json)
        fputs("\n  ]\n}\n", o);
    rc = fflush(o) == 0 ? 0 : 1;
done:
    free(rows);
    free(buf);
    ds_cli_result_free(&a);
    ds_cli_result_free(&b);
    return rc;
}
