/* sim/app/cmd_summary.c
 * `dealsim summary FILE [--json]`: the table `run` prints, or a documented
 * JSON document, rebuilt from a result file's saved state.
 * Licence: see LICENSE at the top of the repository.
 *
 * Nothing is recomputed from the derived groups (/summary, /investors...):
 * the summaries come from /state through ds_stats_import and
 * ds_stats_finalize, exactly as the run produced them, so the table and the
 * JSON equal what the file stores bit for bit.  The scenario (names, target,
 * cap...) is /effective_config loaded by the config layer; the run facts are
 * the root attributes.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dealsim/h5in.h"
#include "dealsim/model.h"

/* Version of the JSON documents of summary and compare (README). */
#define DS_CLI_JSON_FORMAT 1

/* ---- JSON ---- */

void ds_cli_json_num(FILE *out, double v)
{
    /* JSON has no NaN or infinity: both are null (README, JSON schema). */
    if (isfinite(v))
        fprintf(out, "%.17g", v);
    else
        fputs("null", out);
}

void ds_cli_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; ++p) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* The shortest %g form of q that reads back as q: the key of a quantile. */
static void quantile_key(double q, char *buf, size_t size)
{
    for (int prec = 1; prec <= 17; ++prec) {
        snprintf(buf, size, "%.*g", prec, q);
        if (strtod(buf, NULL) == q)
            return;
    }
}

static const char *type_name(ds_output_type t)
{
    return t == DS_OUTTYPE_BOOL ? "bool" : t == DS_OUTTYPE_COUNT ? "count" : "real";
}

/* As the file stores them: NaN where there are no finite values. */
static double mo_mean(const ds_moments *mo) { return mo->n > 0 ? mo->mean : (double)NAN; }
static double mo_min(const ds_moments *mo) { return mo->n > 0 ? mo->min : (double)NAN; }
static double mo_max(const ds_moments *mo) { return mo->n > 0 ? mo->max : (double)NAN; }

static double quantile_of(const ds_sketch *sk, const ds_moments *mo, double q)
{
    return mo->n > 0 && sk->count > 0 ? ds_sketch_quantile(sk, q, mo->min, mo->max)
                                      : (double)NAN;
}


static void json_kv_num(FILE *out, const char *key, double v, int comma)
{
    fprintf(out, "\"%s\": ", key);
    ds_cli_json_num(out, v);
    if (comma)
        fputs(", ", out);
}

static int print_json(const ds_cli_result *r)
{
    const ds_scenario *sc = r->sc;
    const ds_stats *st = r->st;
    const ds_h5_file_info *fi = &r->fi;
    FILE *o = stdout;
    fprintf(o, "{\n  \"format\": %d,\n  \"file\": ", DS_CLI_JSON_FORMAT);
    ds_cli_json_str(o, r->path);
    fprintf(o, ",\n  \"file_format_version\": [%d, %d],\n  \"software_version\": ",
            (int)fi->format_major, (int)fi->format_minor);
    ds_cli_json_str(o, fi->software_version);
    fputs(",\n  \"scenario\": ", o);
    ds_cli_json_str(o, sc->name);
    fputs(",\n  \"run_status\": ", o);
    ds_cli_json_str(o, fi->run_status);
    fputs(",\n  \"sampling\": ", o);
    ds_cli_json_str(o, ds_sampling_name(sc->sampling));
    fprintf(o, ",\n  \"trials\": %llu,\n  \"trials_requested\": %llu,\n  \"seed\": %llu,\n"
               "  \"block_size\": %llu,\n  \"threads\": %d,\n  \"mpi_ranks\": %d,\n"
               "  \"wall_seconds\": ",
            (unsigned long long)st->trials, (unsigned long long)fi->trials_requested,
            (unsigned long long)fi->seed, (unsigned long long)fi->block_size, (int)fi->threads,
            (int)fi->mpi_ranks);
    ds_cli_json_num(o, fi->wall_seconds);
    fputs(",\n  \"created_utc\": ", o);
    ds_cli_json_str(o, fi->created_utc);
    fputs(",\n  \"finished_utc\": ", o);
    ds_cli_json_str(o, fi->finished_utc);
    fputs(",\n  \"quantile_levels\": [", o);
    for (size_t j = 0; j < sc->n_quantiles; ++j) {
        ds_cli_json_num(o, sc->quantiles[j]);
        fputs(j + 1 < sc->n_quantiles ? ", " : "", o);
    }
    fputs("],\n  \"outputs\": {", o);
    for (size_t k = 0; k < st->n_outputs; ++k) {
        const ds_output_info *oi = ds_output_get_info((ds_output)k);
        const ds_moments *mo = &st->out[k];
        fprintf(o, "%s\n    ", k ? "," : "");
        ds_cli_json_str(o, oi->name);
        fputs(": {\"units\": ", o);
        ds_cli_json_str(o, oi->units);
        fprintf(o, ", \"type\": \"%s\", \"count\": %llu, \"nan_count\": %llu, ", type_name(oi->type),
                (unsigned long long)mo->n, (unsigned long long)mo->nan);
        json_kv_num(o, "mean", mo_mean(mo), 1);
        json_kv_num(o, "sd", ds_moments_sd(mo), 1);
        json_kv_num(o, "stderr", ds_stats_stderr(st, k), 1);
        fprintf(o, "\"stderr_reliable\": %s, \"stderr_block_count\": %llu, ",
                ds_stats_stderr_reliable(st, k) ? "true" : "false",
                (unsigned long long)ds_stats_stderr_block_count(st, k));
        json_kv_num(o, "stderr_blocks", ds_stats_stderr_blocks(st, k), 1);
        json_kv_num(o, "variance_reduction", ds_stats_variance_reduction(st, k), 1);
        json_kv_num(o, "min", mo_min(mo), 1);
        json_kv_num(o, "max", mo_max(mo), 1);
        fputs("\"quantiles\": {", o);
        for (size_t j = 0; j < sc->n_quantiles; ++j) {
            char key[40];
            quantile_key(sc->quantiles[j], key, sizeof key);
            json_kv_num(o, key, quantile_of(&st->sk_out[k], mo, sc->quantiles[j]),
                        j + 1 < sc->n_quantiles);
        }
        fputs("}}", o);
    }
    /* The probabilities the table shows, with the rule that defines each. */
    fputs("\n  },\n  \"probabilities\": {", o);
    static const ds_output probs[] = {DS_OUT_CLOSED, DS_OUT_TARGET_MET, DS_OUT_OVERSUBSCRIBED};
    for (size_t r2 = 0; r2 < 3; ++r2) {
        const ds_moments *mo = &st->out[probs[r2]];
        char rule[128];
        if (r2 == 0 && sc->has_minimum_close)
            snprintf(rule, sizeof rule, "total >= minimum_close = %.17g", sc->minimum_close);
        else if (r2 == 0)
            snprintf(rule, sizeof rule, "total > 0");
        else if (r2 == 1)
            snprintf(rule, sizeof rule, "total >= target = %.17g", sc->target);
        else if (sc->has_cap)
            snprintf(rule, sizeof rule, "raw total > cap = %.17g", sc->cap);
        else
            snprintf(rule, sizeof rule, "no cap: never");
        fprintf(o, "%s\n    \"%s\": {", r2 ? "," : "", ds_output_get_info(probs[r2])->name);
        json_kv_num(o, "p", mo_mean(mo), 1);
        json_kv_num(o, "stderr", ds_stats_stderr(st, probs[r2]), 1);
        fputs("\"rule\": ", o);
        ds_cli_json_str(o, rule);
        fputs("}", o);
    }
    fputs("\n  },\n  \"investors\": [", o);
    const double n = (double)st->trials;
    for (size_t i = 0; i < sc->n_investors; ++i) {
        const double p = st->trials > 0 ? (double)st->inv_joined[i] / n : (double)NAN;
        fprintf(o, "%s\n    {\"name\": ", i ? "," : "");
        ds_cli_json_str(o, sc->investors[i].name);
        fprintf(o, ", \"joined\": %llu, ", (unsigned long long)st->inv_joined[i]);
        json_kv_num(o, "join_probability", p, 1);
        json_kv_num(o, "join_stderr", ds_stats_join_stderr(st, i), 1);
        json_kv_num(o, "amount_mean", mo_mean(&st->inv_amount[i]), 1);
        json_kv_num(o, "paid_mean", mo_mean(&st->inv_paid[i]), 1);
        json_kv_num(o, "stake_mean",
                    sc->has_pre_money && st->inv_stake ? mo_mean(&st->inv_stake[i]) : (double)NAN,
                    0);
        ds_cli_json_if_joined(o, sc, st, i);
        fputs("}", o);
    }
    fputs("\n  ],\n  \"coalitions\": [", o);
    ds_coalition *co = st->n_coalitions ? ds_stats_sorted_coalitions(st) : NULL;
    if (st->n_coalitions && !co) {
        fprintf(stderr, "dealsim: error: out of memory\n");
        return 1;
    }
    for (size_t k = 0; k < st->n_coalitions; ++k) {
        char members[64 * 64];
        ds_cli_members(sc, co[k].mask, members, sizeof members);
        fprintf(o, "%s\n    {\"members\": ", k ? "," : "");
        ds_cli_json_str(o, members);
        fprintf(o, ", \"mask\": %llu, \"count\": %llu, ", (unsigned long long)co[k].mask,
                (unsigned long long)co[k].count);
        json_kv_num(o, "probability", (double)co[k].count / n, 1);
        json_kv_num(o, "mean_total", co[k].sum_total / (double)co[k].count, 0);
        ds_cli_json_coalition(o, sc, st, &co[k], 0);
        fputs("}", o);
    }
    free(co);
    fputs("\n  ]", o);
    ds_cli_json_conditional(o, sc, st);
    fputs("\n}\n", o);
    return fflush(o) == 0 ? 0 : 1;
}

/* ---- loading ---- */

/* Prints "dealsim: error: <prefix><message>" on one line; returns the exit
 * code. */
static int load_error(const char *prefix, const ds_diag *diag)
{
    char buf[DS_DIAG_MSG_MAX + DS_DIAG_FILE_MAX + 64];
    if (diag->file[0])
        ds_diag_format(diag, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "error: %s", diag->msg);
    /* HDF5 messages may carry the library's detail over several lines. */
    for (char *p = buf; *p; ++p)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (prefix && !strncmp(buf, "error: ", 7))
        fprintf(stderr, "dealsim: error: %s%s\n", prefix, buf + 7);
    else
        fprintf(stderr, "dealsim: %s\n", buf);
    /* An unusable input file is the user's input error (2), like a bad
     * scenario; only running out of memory is a runtime failure. */
    return diag->status == DS_ERR_NOMEM ? 1 : 2;
}

void ds_cli_result_free(ds_cli_result *r)
{
    ds_stats_free(r->st);
    ds_scenario_free(r->sc);
    ds_h5_file_info_clear(&r->fi);
    memset(r, 0, sizeof *r);
}

int ds_cli_result_load(const char *path, ds_cli_result *r)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    ds_diag diag;
    ds_diag_clear(&diag);
    ds_state *state = NULL;
    int rc = 0;
    int stage = 0;
    if (ds_cli_read_untrusted(path, &r->fi, &state, &stage, &diag) != DS_OK) {
        char pre[DS_DIAG_FILE_MAX + 32];
        snprintf(pre, sizeof pre, "%s: damaged /state: ", path);
        diag.file[0] = '\0';
        return load_error(stage == 1 && diag.status == DS_ERR_FORMAT &&
                                  !strstr(diag.msg, "crashed")
                              ? pre
                              : NULL,
                          &diag);
    }
    char label[DS_DIAG_FILE_MAX];
    snprintf(label, sizeof label, "%s:/effective_config", path);
    if (ds_scenario_load_string(r->fi.effective_config, strlen(r->fi.effective_config), label,
                                NULL, 0, &r->sc, &diag) != DS_OK) {
        rc = load_error(NULL, &diag);
        goto fail;
    }
    char prefix[DS_DIAG_FILE_MAX + 32];
    snprintf(prefix, sizeof prefix, "%s: damaged /state: ", path);
    if (ds_stats_import(NULL, state, &r->st, &diag) != DS_OK ||
        ds_stats_finalize(r->st, &diag) != DS_OK) {
        diag.file[0] = '\0';
        rc = load_error(prefix, &diag);
        goto fail;
    }
    /* The state must be of this scenario and this many trials; anything else
     * means the file was pieced together or damaged. */
    if (r->st->n_investors != r->sc->n_investors || r->st->horizon != (size_t)r->sc->horizon ||
        r->st->n_outputs > DS_OUT_COUNT || r->st->trials != r->fi.trials ||
        r->st->n_outputs <= (size_t)DS_OUT_OVERSUBSCRIBED) {
        ds_diag_set(&diag, DS_ERR_FORMAT, NULL, 0, 0,
                    "%s: damaged /state: it holds %llu trials, %zu investors, horizon %zu, but "
                    "the file says %llu trials and /effective_config %zu investors, horizon %d",
                    path, (unsigned long long)r->st->trials, r->st->n_investors, r->st->horizon,
                    (unsigned long long)r->fi.trials, r->sc->n_investors, r->sc->horizon);
        rc = load_error(NULL, &diag);
        goto fail;
    }
    ds_state_free(state);
    if (strcmp(r->fi.run_status, "complete") != 0)
        fprintf(stderr,
                "dealsim: warning: %s is not a complete run (run_status = %s): it holds %llu "
                "of the %llu trials requested\n",
                path, r->fi.run_status, (unsigned long long)r->st->trials,
                (unsigned long long)r->fi.trials_requested);
    return 0;
fail:
    ds_state_free(state);
    ds_cli_result_free(r);
    return rc;
}

/* ---- the command ---- */

int ds_cli_summary(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(ds_cli_usage_summary, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (a[0] == '-' && a[1]) {
            return ds_cli_usage_error("summary ", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return ds_cli_usage_error("summary ", "unexpected argument '%s' (one file at a time)",
                                      a);
        }
    }
    if (!path)
        return ds_cli_usage_error("summary ", "missing FILE");
    ds_cli_result r;
    int rc = ds_cli_result_load(path, &r);
    if (rc)
        return rc;
    if (json) {
        rc = print_json(&r);
    } else {
        /* The run facts as `run` had them, so the table is the same. */
        ds_run_info info;
        memset(&info, 0, sizeof info);
        info.seed = r.fi.seed;
        info.trials_requested = r.fi.trials_requested;
        info.trials_done = r.st->trials;
        info.interrupted = strcmp(r.fi.run_status, "complete") != 0;
        info.threads = r.fi.threads;
        info.mpi_ranks = r.fi.mpi_ranks;
        info.wall_seconds = r.fi.wall_seconds;
        ds_cli_print_summary(r.sc, r.st, &info, NULL);
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
    ds_cli_result_free(&r);
    return rc;
}
