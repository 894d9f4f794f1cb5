/* tests/fuzz/set_base.h
 * The scenario the --set fuzzer (fuzz_set.c) and its regression test
 * (tests/config/test_set_regressions.c) graft overrides into.
 * Licence: see LICENSE at the top of the repository.
 *
 * Small but with every kind of node a path can reach: nested mappings, a
 * list of named mappings (investors, one named "1"), lists of unnamed
 * mappings (tranches), lists of scalars (quantiles, per_trial), a list of
 * lists (correlations) and distributions.
 */
#ifndef DEALSIM_TESTS_SET_BASE_H
#define DEALSIM_TESTS_SET_BASE_H

static const char ds_test_set_base[] =
    "name: fuzzset\n"
    "trials: 1000\n"
    "seed: 7\n"
    "round:\n"
    "  target: 10\n"
    "  cap: 12\n"
    "  pre_money: {dist: triangular, min: 50, mode: 60, max: 80}\n"
    "investors:\n"
    "  - name: Alpha\n"
    "    join_probability: 0.8\n"
    "    amount: {dist: uniform, min: 4, max: 8}\n"
    "    tranches:\n"
    "      - {share: 0.5, month: 0}\n"
    "      - {share: 0.5, month: {dist: uniform, min: 3, max: 9}, probability: 0.8}\n"
    "  - name: \"1\"\n"
    "    join_probability: 0.6\n"
    "    amount: {dist: normal, mean: 5, sd: 2, min: 0}\n"
    "correlations:\n"
    "  - [join.Alpha, join.1, 0.5]\n"
    "compute:\n"
    "  share: 0.8\n"
    "  horizon_months: 12\n"
    "  schedule: front_loaded\n"
    "  price:\n"
    "    initial: 2.0\n"
    "    drift: -0.3\n"
    "    volatility: 0.3\n"
    "    jumps:\n"
    "      rate: 1\n"
    "      size: {dist: mixture, components: [{weight: 1, dist: normal, mean: 0, sd: 0.1}]}\n"
    "output:\n"
    "  per_trial: [total, paid]\n"
    "  quantiles: [0.05, 0.5, 0.95]\n"
    "  histogram_bins: 50\n";

#endif /* DEALSIM_TESTS_SET_BASE_H */
