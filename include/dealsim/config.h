/* include/dealsim/config.h
 * Scenario files (CONFIG.md): loading with libyaml, validation, --set
 * overrides, the effective scenario as YAML, the list of named inputs and the
 * Gaussian-copula Cholesky factor.
 * Licence: see LICENSE at the top of the repository.
 *
 * config_yaml.c is the only file that includes libyaml.  A ds_scenario is an
 * immutable value once loaded: every ds_dist in it is prepared, every name
 * resolved, every rule of CONFIG.md checked.  Errors come back as
 * DS_ERR_SCENARIO with file:line:col of the offending node, the key path,
 * what was expected and what was found, e.g.
 *
 *   configs/x.yaml:12:15: error: investors[1].amount.min: expected a number
 *   >= 0 (an amount cannot be negative), found -3
 *
 * --set overrides report the position "--set:N:col" (N = the n-th --set).
 */
#ifndef DEALSIM_CONFIG_H
#define DEALSIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dealsim/dist.h"
#include "dealsim/error.h"

#define DS_MAX_INVESTORS 64
#define DS_MAX_HORIZON 600
#define DS_MAX_QUANTILES 64
/* Tranches per investor (a bound for fixed-size model workspaces). */
#define DS_MAX_TRANCHES 64
/* Inputs that may take part in correlations (R is n x n, its eigenvalues
 * are computed by Jacobi in O(n^3)). */
#define DS_MAX_CORR_INPUTS 256
/* Files larger than this are rejected before parsing. */
#define DS_MAX_SCENARIO_BYTES (4u * 1024u * 1024u)

/* Limits that keep every draw and sum finite and a trial's work bounded
 * (README "Limits"; each rejection names the key and the limit):
 *  - the reach of a distribution (its support where that end is finite, else
 *    its DS_TAIL_PROBABILITY / 1 - DS_TAIL_PROBABILITY quantile) lies within
 *    +-DS_MAX_MAGNITUDE, which keeps max - min finite too;
 *  - the investors' amounts reach a sum of at most DS_MAX_MAGNITUDE;
 *  - the jump rate's upper reach allows at most DS_MAX_JUMPS_PER_MONTH
 *    expected jumps a month (rate / 12);
 *  - the log price stays within +-DS_MAX_LOG_PRICE:
 *      |ln initial| + |drift| H/12 + DS_PRICE_SDS volatility sqrt(H/12)
 *      + max|jump size| (N + DS_TAIL_SDS sqrt(N) + 2 DS_TAIL_SDS),
 *    N = rate H/12 the expected jumps of the horizon (the count's term is
 *    about its 1 - DS_TAIL_PROBABILITY quantile), every term at its reach;
 *    and ln(sum of amounts) + that bound too, so money / price stays
 *    finite. */
#define DS_MAX_MAGNITUDE 1e300
#define DS_TAIL_PROBABILITY 1e-15
#define DS_MAX_JUMPS_PER_MONTH 1000.0
#define DS_MAX_LOG_PRICE 700.0
#define DS_PRICE_SDS 40.0
#define DS_TAIL_SDS 8.0

typedef struct {
    double share;       /* phi_k, >= 0, shares of an investor sum to 1 */
    ds_dist month;      /* uncertain; sample floored and clamped to [0, H] */
    double probability; /* q_k in [0, 1] */
} ds_tranche;

typedef struct {
    char *name;              /* [A-Za-z0-9_]+ */
    double join_probability; /* p_i in [0, 1] */
    ds_dist amount;          /* support >= 0 */
    ds_dist round_trip;      /* support in [0, 1]; default fixed 0 */
    size_t n_tranches;       /* >= 1 (default one tranche: share 1, month 0, q 1) */
    ds_tranche *tranches;
} ds_investor;

typedef enum {
    DS_INPUT_DIST = 0, /* sampled from a ds_dist (fixed or uncertain) */
    DS_INPUT_JOIN,     /* join.<I>: uniform U compared with join_probability */
    DS_INPUT_TRANCHE   /* tranche.<I>.<k>: uniform U compared with q_k */
} ds_input_kind;

/* One named input (CONFIG.md "Input names"), in a fixed canonical order:
 * round.pre_money (if a valuation), then per investor in file order join.<I>,
 * amount.<I>, round_trip.<I>, then per tranche k tranche.<I>.<k> and
 * tranche.<I>.<k>.month, then compute.share, price.initial, price.drift,
 * price.volatility, price.mean_reversion, price.jumps.rate (if jumps). */
typedef struct {
    char *name;            /* e.g. "amount.Nvidia" */
    uint64_t hash;         /* ds_fnv1a64(name): the stream key */
    ds_input_kind kind;
    const ds_dist *dist;   /* DS_INPUT_DIST: points into the scenario */
    int fixed;             /* a constant: never drawn, cannot be correlated */
    int corr_index;        /* index into the copula (0..n_corr_inputs-1) or -1 */
} ds_input;

typedef struct {
    char *a, *b; /* input names as written */
    int ia, ib;  /* indices into ds_scenario.inputs */
    double rho;  /* in (-1, 1) */
} ds_correlation;

typedef enum { DS_SCHEDULE_EVEN = 0, DS_SCHEDULE_FRONT_LOADED, DS_SCHEDULE_LIST } ds_schedule_kind;

/* The top-level key `sampling` (README, "Sampling"). */
typedef enum { DS_SAMPLING_MONTE_CARLO = 0, DS_SAMPLING_LATIN_HYPERCUBE = 1 } ds_sampling;
/* "monte_carlo" / "latin_hypercube"; NULL for anything else. */
const char *ds_sampling_name(ds_sampling m);
/* The method named `text`, or -1. */
int ds_sampling_parse(const char *text);

typedef enum { DS_PER_TRIAL_NONE = 0, DS_PER_TRIAL_ALL, DS_PER_TRIAL_LIST } ds_per_trial_kind;

typedef struct {
    /* Top level */
    char *path;        /* the file it was loaded from */
    char *source;      /* the file verbatim (NUL-terminated) */
    size_t source_len;
    char *name;        /* [A-Za-z0-9_.-]+ */
    char *description; /* may be NULL */
    uint64_t trials;   /* >= 1 */
    uint64_t seed;

    /* round */
    double target;
    int has_cap;
    double cap;
    int has_minimum_close;
    double minimum_close;
    int has_pre_money;
    ds_dist pre_money;

    size_t n_investors;
    ds_investor *investors;

    size_t n_correlations;
    ds_correlation *correlations;

    /* compute */
    ds_dist compute_share;
    int horizon;             /* H in 1..600 */
    ds_schedule_kind schedule_kind;
    double *schedule;        /* H weights w_1..w_H (index m-1), always filled */
    ds_dist price_initial;
    ds_dist price_drift;
    ds_dist price_volatility;
    ds_dist price_mean_reversion;
    int has_jumps;
    ds_dist jump_rate;
    ds_dist jump_size;

    /* sampling (README, "Sampling"): how each block's uniforms are drawn */
    ds_sampling sampling;

    /* output */
    char *output_file;       /* default results/<name>.h5 */
    ds_per_trial_kind per_trial_kind;
    size_t n_per_trial;
    char **per_trial;        /* output names when DS_PER_TRIAL_LIST */
    int price_paths;
    int sensitivity;         /* output.sensitivity: the /sensitivity indices (default off) */
    int per_trial_inputs;    /* output.per_trial_inputs: /inputs, every sampled input a trial */
    int conditional;         /* output.conditional: /conditional and the "if it joins" and
                              * per-coalition statistics (default on) */
    size_t n_quantiles;
    double *quantiles;       /* strictly increasing, in (0, 1) */
    int histogram_bins;      /* >= 1 */
    int compression;         /* -1 none, else deflate level 1..9 */

    /* Derived: the named inputs and the copula. */
    size_t n_inputs;
    ds_input *inputs;
    size_t n_corr_inputs;    /* inputs that take part in a correlation */
    int *corr_inputs;        /* their indices into inputs[], in input order */
    double *chol;            /* lower Cholesky factor of R, n_corr_inputs^2, row-major */
    double min_eigenvalue;   /* smallest eigenvalue of R (1 when no correlations) */
} ds_scenario;

/* Loads, overrides and validates a scenario.  `sets` are "KEY=VALUE" strings
 * (CONFIG.md: dotted keys, investors addressed by name only, e.g.
 * "investors.Nvidia.join_probability=0.9", a list entry by position only in
 * brackets, "investors[1].amount=5"; VALUE is YAML, so "trials=1e7" and
 * "round.cap={dist: uniform, min: 1, max: 2}" work).  A UTF-8 byte-order
 * mark at the start of the file is skipped.  On success *out owns a new
 * scenario; on failure *out is NULL and diag says why (a file that cannot be
 * opened: DS_ERR_IO with the reason). */
ds_status ds_scenario_load(const char *path, const char *const *sets, size_t n_sets,
                           ds_scenario **out, ds_diag *diag);

/* A whole number in [lo, hi] written as a scenario file writes one (YAML
 * 1.2 core decimal: "1000000", "1e6", "+5"; never "0x10", "0x1p4", " 5" or
 * "5 "), so command-line options and scenario keys share one grammar.
 * Texts of 128 characters or more are refused.  Allocates nothing.
 * Returns 1 and sets *out when text is one. */
int ds_config_parse_uint(const char *text, uint64_t lo, uint64_t hi, uint64_t *out);

/* Same, from text in memory; `label` names it in diagnostics. */
ds_status ds_scenario_load_string(const char *text, size_t len, const char *label,
                                  const char *const *sets, size_t n_sets, ds_scenario **out,
                                  ds_diag *diag);

/* Frees a scenario; NULL is fine. */
void ds_scenario_free(ds_scenario *sc);

/* The effective scenario (defaults filled, overrides applied) as YAML that
 * ds_scenario_load_string accepts and that loads to the same scenario.  The
 * caller frees *yaml with free(). */
ds_status ds_scenario_to_yaml(const ds_scenario *sc, char **yaml, ds_diag *diag);

/* Writes the short description `dealsim check` prints after the effective
 * YAML: investors (join probability, amount mean and support, tranches), the
 * uncertain inputs, the correlations with the smallest eigenvalue of R, and
 * the random sources (inputs that are drawn, plus price.path and price.jumps
 * when used), as plain text to `out`. */
void ds_scenario_describe(const ds_scenario *sc, FILE *out);

/* Index of the input called `name`, or -1. */
int ds_scenario_find_input(const ds_scenario *sc, const char *name);

/* Parses a single distribution given as YAML text (flow or block mapping, or
 * a bare number), as `dealsim sample --dist` needs; the result is prepared.
 * The caller clears it with ds_dist_clear. */
ds_status ds_dist_from_yaml(const char *text, ds_dist *out, ds_diag *diag);

#endif /* DEALSIM_CONFIG_H */
