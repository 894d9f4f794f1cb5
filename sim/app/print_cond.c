/* sim/app/print_cond.c
 * The conditional summaries in `run`'s and `summary`'s table and in
 * `summary --json` (stats.h "Conditional"; README "JSON").
 * Licence: see LICENSE at the top of the repository.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/stats.h"

static int cond_ok(const ds_stats *st) { return st->cond_on && st->cond_valid; }

/* Investor i's amount quantile q "if it joins". */
static double if_joined_q(const ds_stats *st, size_t i, double q)
{
    const ds_sketch sk = ds_cond_joined_sketch(st, i, 0);
    return ds_stats_quantile(&sk, &DS_COND_INV(st, st->cond_view, i, 0), q);
}

void ds_cli_print_if_joined(const ds_scenario *sc, const ds_stats *st)
{
    if (!cond_ok(st) || sc->n_investors == 0)
        return;
    printf("\nIf they join ($B)  mean amount         p10         p50         p90   P(target "
           "met)\n");
    const size_t tm = DS_COND_BOOLS; /* joined.<first investor> */
    for (size_t i = 0; i < sc->n_investors; ++i) {
        const ds_moments *mo = &DS_COND_INV(st, st->cond_view, i, 0);
        const ds_moments *t = &DS_COND_OUT(st, st->cond_view, tm + i, DS_OUT_TARGET_MET);
        printf("  %-16s %11.3f %11.3f %11.3f %11.3f %13.4f\n", sc->investors[i].name,
               ds_moments_mean_all(mo), if_joined_q(st, i, 0.1), if_joined_q(st, i, 0.5),
               if_joined_q(st, i, 0.9), ds_moments_mean_all(t));
    }
}

static void kv(FILE *o, const char *key, double v, int comma)
{
    fprintf(o, "\"%s\": ", key);
    ds_cli_json_num(o, v);
    if (comma)
        fputs(", ", o);
}

/* The shortest decimal form of q that reads back as it ("0.05"). */
static void quantile_key(double q, char *key, size_t size)
{
    for (int prec = 1; prec <= 17; ++prec) {
        snprintf(key, size, "%.*g", prec, q);
        if (strtod(key, NULL) == q)
            return;
    }
}

/* {"mean", "sd", "stderr", "quantiles": {...}} of moments (and a sketch,
 * NULL: no quantiles). */
static void json_stats(FILE *o, const ds_scenario *sc, const ds_stats *st, const ds_moments *mo,
                       const ds_sketch *sk)
{
    fprintf(o, "{\"count\": %llu, ", (unsigned long long)mo->n);
    kv(o, "mean", ds_moments_mean_all(mo), 1);
    kv(o, "sd", ds_moments_sd(mo), 1);
    kv(o, "stderr", ds_cond_stderr(st, mo), sk != NULL);
    if (sk) {
        fputs("\"quantiles\": {", o);
        for (size_t j = 0; j < sc->n_quantiles; ++j) {
            char key[40];
            quantile_key(sc->quantiles[j], key, sizeof key);
            kv(o, key, ds_stats_quantile(sk, mo, sc->quantiles[j]), j + 1 < sc->n_quantiles);
        }
        fputs("}", o);
    }
    fputs("}", o);
}

void ds_cli_json_if_joined(FILE *o, const ds_scenario *sc, const ds_stats *st, size_t i)
{
    if (!cond_ok(st))
        return;
    static const char *const key[3] = {"amount_if_joined", "paid_if_joined", "stake_if_joined"};
    for (int q = 0; q < 3; ++q) {
        const ds_sketch sk = ds_cond_joined_sketch(st, i, q == 1);
        fprintf(o, ", \"%s\": ", key[q]);
        json_stats(o, sc, st, &DS_COND_INV(st, st->cond_view, i, q), q < 2 ? &sk : NULL);
    }
}

void ds_cli_json_coalition(FILE *o, const ds_scenario *sc, const ds_stats *st,
                           const ds_coalition *c, int pooled)
{
    if (!cond_ok(st))
        return;
    const double n = (double)c->count;
    const double pc = c->count ? (double)c->closed / n : (double)NAN;
    const double pt = c->count ? (double)c->target_met / n : (double)NAN;
    const double sd = c->count > 1 ? sqrt(c->m2_total / (n - 1.0)) : (double)NAN;
    fputs(", ", o);
    kv(o, "p_closed", pc, 1);
    kv(o, "p_closed_stderr", sqrt(pc * (1.0 - pc) / n), 1);
    kv(o, "p_target_met", pt, 1);
    kv(o, "p_target_met_stderr", sqrt(pt * (1.0 - pt) / n), 1);
    kv(o, "total_sd", sd, 1);
    kv(o, "mean_total_stderr", sd / sqrt(n), 0);
    const ds_sketch *sk = pooled ? NULL : ds_cond_coal_sketch(st, c->mask);
    if (!sk)
        return;
    fputs(", \"total_quantiles\": {", o);
    for (size_t j = 0; j < sc->n_quantiles; ++j) {
        char key[40];
        quantile_key(sc->quantiles[j], key, sizeof key);
        kv(o, key, ds_sketch_quantile(sk, sc->quantiles[j], (double)NAN, (double)NAN),
           j + 1 < sc->n_quantiles);
    }
    fputs("}", o);
}

void ds_cli_json_conditional(FILE *o, const ds_scenario *sc, const ds_stats *st)
{
    if (st->coal_pooled) {
        const ds_coalition *c = &st->coal_other;
        fprintf(o, ",\n  \"coalition_other\": {\"count\": %llu, ", (unsigned long long)c->count);
        kv(o, "probability", st->trials ? (double)c->count / (double)st->trials : (double)NAN,
           1);
        kv(o, "mean_total", c->count ? c->sum_total / (double)c->count : (double)NAN, 0);
        ds_cli_json_coalition(o, sc, st, c, 1);
        fputs("}", o);
    }
    if (!cond_ok(st))
        return;
    fputs(",\n  \"conditional\": {", o);
    const size_t C = ds_cond_n_conditions(st);
    const char *inv_names[DS_MAX_INVESTORS];
    for (size_t i = 0; i < sc->n_investors && i < DS_MAX_INVESTORS; ++i)
        inv_names[i] = sc->investors[i].name;
    for (size_t c = 0; c < C; ++c) {
        char name[96];
        ds_cond_name(st, c, inv_names, name, sizeof name);
        const uint64_t cnt = ds_cond_trials(st, c);
        fprintf(o, "%s\n    ", c ? "," : "");
        ds_cli_json_str(o, name);
        fprintf(o, ": {\"count\": %llu, ", (unsigned long long)cnt);
        kv(o, "probability", st->trials ? (double)cnt / (double)st->trials : (double)NAN, 1);
        kv(o, "probability_stderr", ds_cond_share_stderr(st, c), 1);
        fputs("\"outputs\": {", o);
        for (size_t k = 0; k < st->n_outputs; ++k) {
            fprintf(o, "%s\n      ", k ? "," : "");
            ds_cli_json_str(o, ds_output_get_info((ds_output)k)->name);
            fputs(": ", o);
            json_stats(o, sc, st, &DS_COND_OUT(st, st->cond_view, c, k),
                       c < DS_COND_SKETCHED ? DS_COND_SKETCH(st, c, k) : NULL);
        }
        fputs("}}", o);
    }
    fputs("\n  }", o);
}
