/* sim/app/print.c
 * The summary table: what `run` prints to stdout after a run.
 * Licence: see LICENSE at the top of the repository.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "dealsim/model.h"

#ifndef DS_VERSION
#define DS_VERSION "unknown"
#endif

static double q_of(const ds_stats *st, ds_output o, double q)
{
    return ds_sketch_quantile(&st->sk_out[o], q, st->out[o].min, st->out[o].max);
}

/* "Alpha+Beta" for a mask into buf ("" for nobody). */
void ds_cli_members(const ds_scenario *sc, uint64_t mask, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc->n_investors && i < 64 && len + 1 < size; ++i) {
        if (!(mask >> i & 1u))
            continue;
        int w = snprintf(buf + len, size - len, "%s%s", len ? "+" : "", sc->investors[i].name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* The same for the table: "(none)" when empty. */
static void mask_members(const ds_scenario *sc, uint64_t mask, char *buf, size_t size)
{
    ds_cli_members(sc, mask, buf, size);
    if (!mask)
        snprintf(buf, size, "(none)");
}

/* The five inputs with the largest first-order index for output o (from
 * /sensitivity's numbers, when the run computed them). */
static void print_drivers(const ds_scenario *sc, const ds_stats *st, ds_output o)
{
    const size_t K = st->sens_k, O = st->n_outputs, B = DS_SENS_BINS;
    if (!st->sens_valid || K == 0 || (size_t)o >= O)
        return;
    enum { TOP = 5 };
    size_t best[TOP];
    double bs[TOP], bse[TOP], brho[TOP];
    size_t nb = 0;
    const double *co = st->sens_view, *bins = st->sens_view + K * O * DS_SENS_CO;
    for (size_t k = 0; k < K; ++k) {
        double S, se, rho;
        ds_sens_estimate(co + (k * O + (size_t)o) * DS_SENS_CO, bins + (k * B * O + (size_t)o) * 2,
                         O, &S, &se, &rho);
        if (!(S == S))
            continue; /* NaN: undefined */
        size_t at = nb < TOP ? nb++ : TOP;
        if (at == TOP && !(S > bs[TOP - 1]))
            continue;
        if (at == TOP)
            at = TOP - 1;
        while (at > 0 && bs[at - 1] < S) {
            best[at] = best[at - 1];
            bs[at] = bs[at - 1];
            bse[at] = bse[at - 1];
            brho[at] = brho[at - 1];
            --at;
        }
        best[at] = k;
        bs[at] = S;
        bse[at] = se;
        brho[at] = rho;
    }
    /* By name from the scenario: an accumulator read from a file keeps no
     * model, so no input indices. */
    const char **names = malloc(K * sizeof *names);
    if (nb == 0 || !names || ds_sens_input_names(sc, K, names)) {
        free(names);
        return;
    }
    printf("\nWhat drives %s (first-order index S +- se; corr of the input's rank U with it;\n"
           "a join or tranche happens when U < p, so a negative corr means it raises %s):\n",
           ds_output_get_info(o)->name, ds_output_get_info(o)->name);
    for (size_t i = 0; i < nb; ++i)
        printf("  %-32s S = %6.3f +- %.3f   corr = %+.3f\n",
               names[best[i]], bs[i], bse[i], brho[i]);
    free(names);
}

/* Under Latin hypercube sampling: what the +- rest on (stats.h, "Standard
 * errors"), the variance reduction against plain MC, and a warning below
 * DS_STDERR_MIN_BLOCKS full blocks.  Nothing under monte_carlo. */
static void print_stderr_note(const ds_stats *st)
{
    if (st->sampling != DS_SAMPLING_LATIN_HYPERCUBE)
        return;
    const unsigned long long nb = ds_stats_stderr_block_count(st, DS_OUT_TOTAL);
    printf("Standard errors (latin_hypercube): from the spread of %llu full blocks' means", nb);
    if (!ds_stats_stderr_reliable(st, DS_OUT_TOTAL))
        printf("  [UNRELIABLE: fewer than %d]", DS_STDERR_MIN_BLOCKS);
    printf("\n");
    printf("Variance reduction vs plain MC: total %.3g, closed %.3g, target_met %.3g, "
           "gpu_hours %.3g\n",
           ds_stats_variance_reduction(st, DS_OUT_TOTAL),
           ds_stats_variance_reduction(st, DS_OUT_CLOSED),
           ds_stats_variance_reduction(st, DS_OUT_TARGET_MET),
           ds_stats_variance_reduction(st, DS_OUT_GPU_HOURS));
}

void ds_cli_print_summary(const ds_scenario *sc, const ds_stats *st, const ds_run_info *info,
                          const char *path)
{
    const double rate = info->wall_seconds > 0 ? (double)info->trials_done / info->wall_seconds : 0;
    printf("dealsim %s: scenario %s, %llu trials, seed %llu, %d thread%s, %.2f s (%.3g "
           "trials/s)%s\n\n",
           DS_VERSION, sc->name, (unsigned long long)info->trials_done,
           (unsigned long long)sc->seed, info->threads, info->threads == 1 ? "" : "s",
           info->wall_seconds, rate, info->interrupted ? "  [INTERRUPTED]" : "");
    if (info->precision[0])
        printf("Precision targets %s: %s\n\n", info->precision, info->precision_outcome);
    static const ds_output rows[] = {DS_OUT_TOTAL,       DS_OUT_PAID,        DS_OUT_UNPAID,
                                     DS_OUT_ROUND_TRIP,  DS_OUT_NET_NEW,     DS_OUT_SHORTFALL,
                                     DS_OUT_HHI,         DS_OUT_TOP_SHARE,   DS_OUT_COMPUTE_SPEND,
                                     DS_OUT_GPU_HOURS,   DS_OUT_AVG_PRICE,   DS_OUT_FINAL_PRICE,
                                     DS_OUT_POST_MONEY,  DS_OUT_STAKE_TOTAL};
    printf("%-18s %-17s %11s %11s %11s %11s %9s\n", "output", "units", "mean", "p5", "p50",
           "p95", "NaN");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; ++r) {
        const ds_output o = rows[r];
        if ((size_t)o >= st->n_outputs)
            continue;
        const ds_output_info *oi = ds_output_get_info(o);
        printf("%-18s %-17s %11.4g %11.4g %11.4g %11.4g %9llu\n", oi->name, oi->units,
               st->out[o].mean, q_of(st, o, 0.05), q_of(st, o, 0.5), q_of(st, o, 0.95),
               (unsigned long long)st->out[o].nan);
    }
    printf("\n");
    /* Each probability with the rule that defines it in this scenario. */
    char rule[3][96];
    if (sc->has_minimum_close)
        snprintf(rule[0], sizeof rule[0], "total >= minimum_close = %g", sc->minimum_close);
    else
        snprintf(rule[0], sizeof rule[0], "total > 0");
    snprintf(rule[1], sizeof rule[1], "total >= target = %g", sc->target);
    snprintf(rule[2], sizeof rule[2], "raw total > cap = %g", sc->cap);
    static const ds_output probs[] = {DS_OUT_CLOSED, DS_OUT_TARGET_MET, DS_OUT_OVERSUBSCRIBED};
    for (size_t r = 0; r < sizeof probs / sizeof probs[0]; ++r) {
        const ds_output o = probs[r];
        if (o == DS_OUT_OVERSUBSCRIBED && !sc->has_cap)
            continue; /* no cap: never oversubscribed */
        printf("P(%s) = %.4f +- %.4f   (%s)\n", ds_output_get_info(o)->name, st->out[o].mean,
               ds_stats_stderr(st, o), rule[r]);
    }
    print_stderr_note(st);
    printf("\nInvestors          P(join)      mean amount   mean paid\n");
    for (size_t i = 0; i < sc->n_investors; ++i) {
        const double n = (double)st->trials;
        printf("  %-16s %7.4f %14.3f %11.3f\n", sc->investors[i].name,
               n > 0 ? (double)st->inv_joined[i] / n : (double)NAN, st->inv_amount[i].mean,
               st->inv_paid[i].mean);
    }
    ds_cli_print_if_joined(sc, st);
    ds_coalition *co = ds_stats_sorted_coalitions(st);
    if (co) {
        printf("\nMost likely coalitions              probability   mean total ($B)\n");
        for (size_t k = 0; k < st->n_coalitions && k < 6; ++k) {
            char members[512];
            mask_members(sc, co[k].mask, members, sizeof members);
            printf("  %-34s %10.4f   %12.3f\n", members,
                   (double)co[k].count / (double)st->trials,
                   co[k].count ? co[k].sum_total / (double)co[k].count : (double)NAN);
        }
        if (st->n_coalitions > 6)
            printf("  (%zu coalitions in all; see /coalitions in the file)\n", st->n_coalitions);
        free(co);
    }
    printf("\nCompute bought: %.4g billion GPU hours on average (p5 %.4g, p95 %.4g) at %.4g "
           "$/GPUh on average\n",
           st->out[DS_OUT_GPU_HOURS].mean, q_of(st, DS_OUT_GPU_HOURS, 0.05),
           q_of(st, DS_OUT_GPU_HOURS, 0.95), st->out[DS_OUT_AVG_PRICE].mean);
    print_drivers(sc, st, DS_OUT_TOTAL);
    print_drivers(sc, st, DS_OUT_GPU_HOURS);
    /* `summary` passes no path: it reprints a file, it writes none. */
    if (path)
        printf("\nWrote %s\n", path);
}
