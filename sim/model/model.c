/* sim/model/model.c
 * The trial kernel: MODEL.md sections 3-4 for one block of trials.
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants that must stay true (the reproducibility contract, MODEL.md 6):
 *  - every named random source draws only from its own stream
 *    PCG64DXSM(SeedSequence(seed, (fnv1a64(name), block))), in trial order
 *    within the block; an input's values therefore depend only on its own
 *    distribution (and, when correlated, on the latents it is tied to);
 *  - fixed inputs draw nothing;
 *  - a stream is consumed the same way whatever other inputs are, so a run of
 *    N trials is a prefix of a run of M > N;
 *  - ds_model_run_block allocates nothing, does no I/O and cannot fail.
 *
 * Order of work in a block: (1) every input for all trials of the block, one
 * stream at a time (cache friendly, and it makes the per-input independence
 * evident); (2) the Gaussian copula Z = L eps, input = F^-1(Phi(Z)); (3) for
 * DS_MODEL_LANES trials at a time, side by side, each with a lone trial's
 * bits: the price paths, then joins, amounts, cap, tranches, outcomes.
 */
#include "dealsim/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/dist.h"
#include "dealsim/rng.h"
#include "lhs_internal.h"
#include "dealsim/dsmath.h"

#define DT (1.0 / 12.0) /* one month in years */


typedef struct {
    int cond;  /* input index of tranche.<I>.<k> */
    int month; /* input index of tranche.<I>.<k>.month */
    double share;
    double probability;
} model_tranche;

typedef struct {
    int join, amount, round_trip;
    double p;
    size_t n_tranches;
    model_tranche *tranches;
} model_investor;

struct ds_model {
    const ds_scenario *sc;
    size_t n_inputs, n_corr, n_inv, horizon;
    int n_outputs;
    int pre_money, share, p0, drift, vol, kappa, rate; /* input indices (-1: absent) */
    model_investor *inv;
    double *w;       /* schedule w_1..w_H at [m-1] */
    double *wsuffix; /* W_s = sum_{m>s} w_m, s = 0..H */
    double *fixed;   /* per input: the constant of a fixed input */
    uint64_t hash_path, hash_jumps;
};

/* Index of input "<prefix><investor>[.<k>][<suffix>]" (k = 0: none). */
static int find_input(const ds_scenario *sc, const char *prefix, const char *investor, size_t k,
                      const char *suffix)
{
    char name[256];
    if (k)
        snprintf(name, sizeof name, "%s%s.%zu%s", prefix, investor, k, suffix);
    else
        snprintf(name, sizeof name, "%s%s%s", prefix, investor ? investor : "", suffix);
    return ds_scenario_find_input(sc, name);
}

void ds_model_free(ds_model *m)
{
    if (!m)
        return;
    if (m->inv)
        for (size_t i = 0; i < m->n_inv; ++i)
            free(m->inv[i].tranches);
    free(m->inv);
    free(m->w);
    free(m->wsuffix);
    free(m->fixed);
    free(m);
}

ds_status ds_model_create(const ds_scenario *sc, ds_model **out, ds_diag *diag)
{
    *out = NULL;
    ds_model *m = calloc(1, sizeof *m);
    if (!m)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory creating the model");
    m->sc = sc;
    m->n_inputs = sc->n_inputs;
    m->n_corr = sc->n_corr_inputs;
    m->n_inv = sc->n_investors;
    m->horizon = (size_t)sc->horizon;
    m->n_outputs = sc->has_pre_money ? DS_OUT_COUNT : DS_OUT_POST_MONEY;
    m->hash_path = ds_fnv1a64("price.path");
    m->hash_jumps = ds_fnv1a64("price.jumps");
    m->inv = calloc(m->n_inv, sizeof *m->inv);
    m->w = malloc(m->horizon * sizeof *m->w);
    m->wsuffix = malloc((m->horizon + 1) * sizeof *m->wsuffix);
    m->fixed = calloc(m->n_inputs ? m->n_inputs : 1, sizeof *m->fixed);
    if (!m->inv || !m->w || !m->wsuffix || !m->fixed)
        goto nomem;

    m->pre_money = sc->has_pre_money ? find_input(sc, "round.pre_money", NULL, 0, "") : -1;
    m->share = find_input(sc, "compute.share", NULL, 0, "");
    m->p0 = find_input(sc, "price.initial", NULL, 0, "");
    m->drift = find_input(sc, "price.drift", NULL, 0, "");
    m->vol = find_input(sc, "price.volatility", NULL, 0, "");
    m->kappa = find_input(sc, "price.mean_reversion", NULL, 0, "");
    m->rate = sc->has_jumps ? find_input(sc, "price.jumps.rate", NULL, 0, "") : -1;
    int missing = m->share < 0 || m->p0 < 0 || m->drift < 0 || m->vol < 0 || m->kappa < 0 ||
                  (sc->has_pre_money && m->pre_money < 0) || (sc->has_jumps && m->rate < 0);

    for (size_t i = 0; i < m->n_inv && !missing; ++i) {
        const ds_investor *iv = &sc->investors[i];
        model_investor *mi = &m->inv[i];
        mi->join = find_input(sc, "join.", iv->name, 0, "");
        mi->amount = find_input(sc, "amount.", iv->name, 0, "");
        mi->round_trip = find_input(sc, "round_trip.", iv->name, 0, "");
        mi->p = iv->join_probability;
        mi->n_tranches = iv->n_tranches;
        mi->tranches = calloc(iv->n_tranches, sizeof *mi->tranches);
        if (!mi->tranches)
            goto nomem;
        missing |= mi->join < 0 || mi->amount < 0 || mi->round_trip < 0;
        for (size_t k = 0; k < iv->n_tranches; ++k) {
            model_tranche *tr = &mi->tranches[k];
            tr->cond = find_input(sc, "tranche.", iv->name, k + 1, "");
            tr->month = find_input(sc, "tranche.", iv->name, k + 1, ".month");
            tr->share = iv->tranches[k].share;
            tr->probability = iv->tranches[k].probability;
            missing |= tr->cond < 0 || tr->month < 0;
        }
    }
    if (missing) {
        ds_model_free(m);
        return ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                           "the scenario lacks an input the model needs (a loader bug)");
    }

    for (size_t k = 0; k < m->n_inputs; ++k) {
        const ds_input *in = &sc->inputs[k];
        /* A fixed distribution is a constant: its quantile anywhere. */
        m->fixed[k] = (in->kind == DS_INPUT_DIST && in->fixed) ? ds_dist_quantile(in->dist, 0.5)
                                                               : (double)NAN;
    }
    for (size_t j = 0; j < m->horizon; ++j)
        m->w[j] = sc->schedule[j];
    m->wsuffix[m->horizon] = 0.0;
    for (size_t s = m->horizon; s-- > 0;)
        m->wsuffix[s] = m->wsuffix[s + 1] + m->w[s];
    *out = m;
    return DS_OK;
nomem:
    ds_model_free(m);
    return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory creating the model");
}

const ds_scenario *ds_model_scenario(const ds_model *m) { return m->sc; }

int ds_model_n_outputs(const ds_model *m) { return m->n_outputs; }

void ds_block_free(ds_block *blk)
{
    if (!blk)
        return;
    ds_block_clear(blk);
    free(blk);
}

void ds_block_clear(ds_block *blk)
{
    for (int o = 0; o < DS_OUT_COUNT; ++o)
        free(blk->out[o]);
    free(blk->joined_mask);
    free(blk->amount);
    free(blk->paid);
    free(blk->joined);
    free(blk->stake);
    free(blk->log_price);
    free(blk->price);
    free(blk->ws_inputs);
    free(blk->ws_eps);
    free(blk->ws_lanes);
    memset(blk, 0, sizeof *blk);
}

ds_block *ds_block_alloc(const ds_model *m)
{
    const size_t B = DS_BLOCK_SIZE;
    ds_block *blk = calloc(1, sizeof *blk);
    if (!blk)
        return NULL;
    blk->n_investors = m->n_inv;
    blk->horizon = m->horizon;
    int ok = 1;
    for (int o = 0; o < m->n_outputs; ++o)
        ok &= (blk->out[o] = malloc(B * sizeof(double))) != NULL;
    ok &= (blk->joined_mask = malloc(B * sizeof(uint64_t))) != NULL;
    ok &= (blk->amount = malloc(B * m->n_inv * sizeof(double))) != NULL;
    ok &= (blk->paid = malloc(B * m->n_inv * sizeof(double))) != NULL;
    ok &= (blk->joined = malloc(B * m->n_inv)) != NULL;
    if (m->sc->has_pre_money)
        ok &= (blk->stake = malloc(B * m->n_inv * sizeof(double))) != NULL;
    ok &= (blk->log_price = malloc(B * m->horizon * sizeof(double))) != NULL;
    ok &= (blk->price = malloc(B * m->horizon * sizeof(double))) != NULL;
    ok &= (blk->ws_inputs = malloc(B * (m->n_inputs ? m->n_inputs : 1) * sizeof(double))) != NULL;
    ok &= (blk->ws_eps = malloc(B * (m->n_corr ? m->n_corr : 1) * sizeof(double))) != NULL;
    ok &= (blk->ws_lanes = calloc(DS_MODEL_LANES * (4 * m->horizon + 1), sizeof(double))) != NULL;
    if (!ok) {
        ds_block_free(blk);
        return NULL;
    }
    return blk;
}

/* Input k's column of the block (element t: trial t). */
static inline const double *input_col(const ds_block *blk, int k)
{
    return blk->ws_inputs + (size_t)k * DS_BLOCK_SIZE;
}

static inline double input_at(const ds_block *blk, int k, size_t t) { return input_col(blk, k)[t]; }

double ds_block_input_value(const ds_model *m, const ds_block *blk, size_t k, size_t t)
{
    (void)m;
    return input_at(blk, (int)k, t);
}

const double *ds_block_input_column(const ds_model *m, const ds_block *blk, size_t k)
{
    (void)m;
    return input_col(blk, (int)k);
}

/* Step (1) under Latin hypercube sampling (README, "Sampling"): the
 * source's stratified uniforms U_j (lhs.c), then a correlated input's latent
 * eps = Phi^-1(U), a distribution's value F^-1(U), a join or tranche
 * condition's uniform U itself. */
static void sample_input_lhs(const ds_input *in, ds_rng *r, size_t n, ds_block *blk, double *v)
{
    if (in->corr_index >= 0) {
        double *e = blk->ws_eps + (size_t)in->corr_index * DS_BLOCK_SIZE;
        ds_lhs_uniforms(r, n, e);
        for (size_t t = 0; t < n; ++t)
            e[t] = ds_norm_ppf(e[t]);
    } else {
        ds_lhs_uniforms(r, n, v);
        if (in->kind == DS_INPUT_DIST)
            for (size_t t = 0; t < n; ++t)
                v[t] = ds_dist_quantile(in->dist, v[t]);
    }
}

/* Step (1): every input of the block from its own stream. */
static void sample_inputs(const ds_model *m, uint64_t block, size_t n, ds_block *blk)
{
    const ds_scenario *sc = m->sc;
    for (size_t k = 0; k < m->n_inputs; ++k) {
        const ds_input *in = &sc->inputs[k];
        double *v = blk->ws_inputs + k * DS_BLOCK_SIZE;
        if (in->fixed) {
            for (size_t t = 0; t < n; ++t)
                v[t] = m->fixed[k];
            continue;
        }
        ds_rng r;
        ds_rng_stream_hashed(&r, sc->seed, in->hash, block);
        if (sc->sampling == DS_SAMPLING_LATIN_HYPERCUBE) {
            sample_input_lhs(in, &r, n, blk, v);
            continue;
        }
        if (in->corr_index >= 0) {
            double *e = blk->ws_eps + (size_t)in->corr_index * DS_BLOCK_SIZE;
            for (size_t t = 0; t < n; ++t)
                e[t] = ds_rand_normal(&r);
        } else if (in->kind == DS_INPUT_DIST) {
            ds_dist_sample_n(in->dist, &r, v, n);
        } else {
            for (size_t t = 0; t < n; ++t)
                v[t] = ds_rng_uniform(&r);
        }
    }
}

/* Step (2): the Gaussian copula.  Z = L eps with L the lower Cholesky factor
 * of R; a join or tranche condition uses U = Phi(Z) as its uniform, a
 * distribution is inverted at Phi(Z) (MODEL.md 2). */
static void apply_copula(const ds_model *m, size_t n, ds_block *blk)
{
    const ds_scenario *sc = m->sc;
    const size_t nc = m->n_corr;
    /* Input by input (no trial depends on another): Z into the input's
     * column, then U = Phi(Z) over the column in SIMD lanes. */
    for (size_t i = 0; i < nc; ++i) {
        const size_t k = (size_t)sc->corr_inputs[i];
        const ds_input *in = &sc->inputs[k];
        const double *row = sc->chol + i * nc;
        double *v = blk->ws_inputs + k * DS_BLOCK_SIZE;
        for (size_t t = 0; t < n; ++t) {
            double z = 0.0;
            for (size_t j = 0; j <= i; ++j)
                z += row[j] * blk->ws_eps[j * DS_BLOCK_SIZE + t];
            v[t] = z;
        }
        ds_vec_norm_cdf(v, v, n);
        if (in->kind == DS_INPUT_DIST)
            for (size_t t = 0; t < n; ++t)
                v[t] = ds_dist_quantile(in->dist, v[t]);
    }
}

/* Step (3a), side by side: the recurrences of L = DS_MODEL_LANES trials
 * in lanes, month-major ([j * L + k] is month j + 1 of lane k): trial k's
 * log prices (MODEL.md 3.6) d_j = decay d_{j-1} + sdt eps_j + J_j,
 * ln p_j = ln p_0 + mu t_j + d_j; the prices p_j = exp(ln p_j); the suffix
 * sums S_s = sum_{m>s} w_m / p_m, at [s * L + k], s = 0 .. H.  Each lane
 * is one trial's operations in month order, so the bits are a lone trial's
 * on every SIMD path (no FMA: -ffp-contract=off; ds_exp gives the same bits
 * in every lane width). */
#define L DS_MODEL_LANES
typedef struct {
    double lp0[L], mu[L], sdt[L], decay[L];
    const double *shock, *w; /* [H][L], [H] */
    double *jump;            /* [H][L], put back to 0 as it is read */
    double *lpl;                    /* [H][L] the log prices: the block's tile */
    double *pl;                     /* [H][L] the lanes' prices */
    double *p;                      /* trial-major [L][H]: the block's rows */
    double *S;                      /* [H + 1][L] */
} model_lanes;

/* Four doubles (dsmath.h's ds_v4: element-wise IEEE arithmetic, the same
 * bits in any register width it is lowered to); a group's L lanes are NV
 * of them.  Loads and stores are memcpy (no alignment assumed), as
 * macros: a function passing v4 by value would change its ABI per target. */
typedef ds_v4 v4;
#define NV (L / 4)
#if DS_MODEL_LANES % 4
#error "the lanes run as vectors of four"
#endif
#define V4_LOAD(v, p) memcpy(&(v), (p), sizeof(v4))
#define V4_STORE(p, v) memcpy((p), &(v), sizeof(v4))

/* The month-major lanes in[j * L + k] to trial-major rows out[k * H + j]:
 * by 4 x 4 tiles, the months past the last whole tile one by one. */
static inline __attribute__((always_inline)) void lanes_to_rows(const double *restrict in,
                                                                double *restrict out, size_t H)
{
    size_t j = 0;
    for (; j + 4 <= H; j += 4)
        for (size_t k = 0; k < L; k += 4)
            ds_transpose4(in + j * L + k, L, out + k * H + j, H);
    for (; j < H; ++j)
        for (size_t k = 0; k < L; ++k)
            out[k * H + j] = in[j * L + k];
}

static inline __attribute__((always_inline)) void lanes_impl(const model_lanes *x, size_t H)
{
    v4 lp0[NV], mu[NV], sdt[NV], decay[NV], d[NV];
    const v4 zero = {0};
    for (size_t h = 0; h < NV; ++h) {
        V4_LOAD(lp0[h], x->lp0 + 4 * h);
        V4_LOAD(mu[h], x->mu + 4 * h);
        V4_LOAD(sdt[h], x->sdt + 4 * h);
        V4_LOAD(decay[h], x->decay + 4 * h);
        d[h] = zero;
    }
    for (size_t j = 0; j < H; ++j) {
        const v4 month_end = zero + (double)(j + 1) * DT;
        for (size_t h = 0; h < NV; ++h) {
            const size_t at = j * L + 4 * h;
            v4 eps, jump;
            V4_LOAD(eps, x->shock + at);
            V4_LOAD(jump, x->jump + at);
            V4_STORE(x->jump + at, zero); /* the next group's jumps start at 0 */
            d[h] = decay[h] * d[h] + sdt[h] * eps + jump;
            const v4 v = lp0[h] + mu[h] * month_end + d[h];
            V4_STORE(x->lpl + at, v);
        }
    }
    ds_vec_exp(x->lpl, x->pl, H * L);
    v4 S[NV];
    for (size_t h = 0; h < NV; ++h) {
        S[h] = zero;
        V4_STORE(x->S + H * L + 4 * h, S[h]);
    }
    for (size_t s = H; s-- > 0;) {
        const v4 w = zero + x->w[s];
        for (size_t h = 0; h < NV; ++h) {
            v4 v;
            V4_LOAD(v, x->pl + s * L + 4 * h);
            S[h] = S[h] + w / v;
            V4_STORE(x->S + s * L + 4 * h, S[h]);
        }
    }
    lanes_to_rows(x->pl, x->p, H);
}

DS_SIMD_DISPATCH(lanes, (const model_lanes *x, size_t H), (x, H))

/* Step (3a): the price paths of trials t0 .. t0 + g - 1 (g <= L), drawing
 * each trial's month shocks from price.path and its jumps from
 * price.jumps, trial after trial, as one trial at a time would.  Jumps
 * form a Poisson process of rate lambda per year: exponential waiting
 * times, counted in the month (m-1, m]*dt that contains them, which gives
 * N_m ~ Poisson(lambda dt) independent across months, exactly.  Then the
 * g paths run side by side (lanes; unused lanes hold zeros) and go to
 * the block's trial-major arrays.  Trial t0 + k's suffix sum S_s is left
 * at blk->ws_lanes' S[s * L + k]. */
static const double *price_paths(const ds_model *m, size_t t0, size_t g, ds_rng *rpath,
                                 ds_rng *rjump, int draw_shocks, ds_block *blk)
{
    const ds_scenario *sc = m->sc;
    const size_t H = m->horizon;
    /* ws_lanes: the shocks [H][L], the jumps [H][L], the suffix sums
     * [H + 1][L], the prices [H][L]; the log prices go straight to the
     * block's tile of these trials (ds_block_lp_at). */
    double *ws = blk->ws_lanes;
    double *shock = ws, *jump = ws + H * L;
    /* The lanes past the block's n write the rows of trials >= n: there
     * is room, as B is a multiple of L (model.h). */
    model_lanes x = {.shock = shock, .jump = jump, .w = m->w, .lpl = blk->log_price + t0 * H,
                     .p = blk->price + t0 * H, .S = ws + 2 * H * L, .pl = ws + (3 * H + 1) * L};
    /* The shocks and jumps are 0 on entry (ds_block_alloc's calloc, and
     * lanes_impl zeroes the jumps it reads): the shocks are drawn over
     * them, lanes past g (the block's last group only) cleared. */
    if (draw_shocks) { /* trial after trial, in the stream's order, as lane columns */
        if (g < L)
            memset(shock, 0, H * L * sizeof *shock);
        for (size_t k = 0; k < g; ++k)
            ds_rand_normals_strided(rpath, shock + k, H, L);
    }
    for (size_t k = 0; k < L; ++k)
        x.lp0[k] = x.mu[k] = x.sdt[k] = x.decay[k] = 0.0;
    for (size_t k = 0; k < g; ++k)
        x.lp0[k] = input_at(blk, m->p0, t0 + k);
    ds_vec_log(x.lp0, x.lp0, g); /* ds_log's bits, in lanes */
    for (size_t k = 0; k < g; ++k) {
        const size_t t = t0 + k;
        x.mu[k] = input_at(blk, m->drift, t);
        x.sdt[k] = input_at(blk, m->vol, t) * sqrt(DT);
        x.decay[k] = 1.0 - input_at(blk, m->kappa, t) * DT;
        /* The jumps of month j + 1 at jump[j * L + k] (none drawn at a
         * rate of 0). */
        const double lambda = m->rate >= 0 ? input_at(blk, m->rate, t) : 0.0;
        ds_rand_compound_poisson(rjump, lambda, &sc->jump_size, H, DT, jump + k, L);
    }
    lanes(&x, H);
    return x.S;
}

/* v = the column's four values at t, the lanes at or past `valid` 0. */
#define V4_INPUT(v, col, t, valid)                                                                 \
    do {                                                                                           \
        if ((valid) >= 4) {                                                                        \
            V4_LOAD(v, (col) + (t));                                                               \
        } else {                                                                                   \
            (v) = (v4){0};                                                                         \
            for (size_t q_ = 0; q_ < (valid); ++q_)                                                \
                (v)[q_] = (col)[(t) + q_];                                                         \
        }                                                                                          \
    } while (0)
#define V4_COLUMN(v, blk, k, t, valid) V4_INPUT(v, input_col(blk, k), t, valid)
/* row[(t + q) * ni + i] = v[q] for the four lanes (the trial-major
 * per-investor arrays). */
#define V4_SCATTER(row, ni, i, t, v)                                                               \
    do {                                                                                           \
        for (size_t q_ = 0; q_ < 4; ++q_)                                                          \
            (row)[((t) + q_) * (ni) + (i)] = (v)[q_];                                              \
    } while (0)

/* Steps (3.1)-(3.7) for the trials t0 .. t0 + g - 1 of a lane group
 * (g <= L), four at a time in the lanes of a v4: every trial's operations
 * are those of MODEL.md 3 for it alone, in the same order (the sums over
 * investors and tranches in file order), and a branch becomes a select
 * between the value updated and the value kept, which is the same bits.
 * So no join or tranche condition is a branch (they are random: the
 * branches mispredicted), and the divisions run four at a time.  The
 * inputs of lanes past g are read as 0 (nothing is read past the block's
 * n trials); what they compute goes to rows of trials >= n, which nothing
 * reads (there is room: B is a multiple of L). */
static inline __attribute__((always_inline)) void deal_impl(const ds_model *m, ds_block *blk,
                                                            size_t t0, size_t g, const double *S)
{
    const ds_scenario *sc = m->sc;
    const size_t ni = m->n_inv, H = m->horizon;
    const v4 zero = {0}, one = zero + 1.0, nan = zero + (double)NAN, hd = zero + (double)H;
    for (size_t h = 0; 4 * h < g; ++h) {
        const size_t t = t0 + 4 * h, valid = g - 4 * h; /* lanes t .. t + 3 */

        /* 3.1 joins, amounts, cap */
        v4 a[DS_MAX_INVESTORS];
        v4 raw_total = zero, n_joined = zero;
        ds_v4i mask = {0};
        for (size_t i = 0; i < ni; ++i) {
            const model_investor *mi = &m->inv[i];
            v4 u, ask;
            V4_COLUMN(u, blk, mi->join, t, valid);
            V4_COLUMN(ask, blk, mi->amount, t, valid);
            const ds_v4i j = u < mi->p;
            for (size_t q = 0; q < 4; ++q)
                blk->joined[(t + q) * ni + i] = (uint8_t)(j[q] & 1);
            a[i] = DS_SELECT4(j, ask, zero);
            raw_total = raw_total + a[i];
            mask |= j & (int64_t)(UINT64_C(1) << i);
            n_joined = n_joined + DS_SELECT4(j, one, zero);
        }
        v4 total = raw_total;
        ds_v4i over = {0};
        if (sc->has_cap) {
            over = raw_total > sc->cap;
            for (size_t i = 0; i < ni; ++i)
                a[i] = DS_SELECT4(over, a[i] * sc->cap / raw_total, a[i]);
            total = DS_SELECT4(over, zero + sc->cap, raw_total);
        }
        const ds_v4i positive = total > 0.0;

        /* 3.2 tranches, 3.4 circular financing, 3.7 compute bought */
        v4 paid = zero, unpaid = zero, round_trip = zero, spent = zero, gpu = zero;
        v4 hhi = zero, top = zero;
        for (size_t i = 0; i < ni; ++i) {
            const model_investor *mi = &m->inv[i];
            v4 pi = zero;
            for (size_t k = 0; k < mi->n_tranches; ++k) {
                const model_tranche *tr = &mi->tranches[k];
                const v4 amt = a[i] * tr->share;
                v4 u, month;
                V4_COLUMN(u, blk, tr->cond, t, valid);
                V4_COLUMN(month, blk, tr->month, t, valid);
                const ds_v4i pays = u < tr->probability;
                pi = DS_SELECT4(pays, pi + amt, pi);
                unpaid = DS_SELECT4(pays, unpaid, unpaid + amt);
                /* The month: the sample floored and clamped to [0, H]
                 * (NaN to 0); a truncation is the floor of a positive
                 * value below H. */
                const v4 mc = DS_SELECT4(month > 0.0, DS_SELECT4(month >= hd, hd, month), zero);
                v4 suffix, ws;
                for (size_t q = 0; q < 4; ++q) {
                    const size_t s = (size_t)(int32_t)mc[q];
                    suffix[q] = S[s * L + 4 * h + q];
                    ws[q] = m->wsuffix[s]; /* W_H = 0: s = H spends nothing */
                }
                const ds_v4i spends = pays & (ws > 0.0);
                spent = DS_SELECT4(spends, spent + amt, spent);
                gpu = DS_SELECT4(spends, gpu + amt * (suffix / ws), gpu);
            }
            V4_SCATTER(blk->paid, ni, i, t, pi);
            paid = paid + pi;
            v4 rt;
            V4_COLUMN(rt, blk, mi->round_trip, t, valid);
            round_trip = round_trip + pi * rt;
            const v4 sh = a[i] / total;
            hhi = DS_SELECT4(positive, hhi + sh * sh, hhi);
            top = DS_SELECT4(positive & (sh > top), sh, top);
            V4_SCATTER(blk->amount, ni, i, t, a[i]);
        }
        v4 share;
        V4_COLUMN(share, blk, m->share, t, valid);
        const v4 compute_spend = share * spent;
        const v4 gpu_hours = share * gpu;

        double **o = blk->out;
        const ds_v4i closed = sc->has_minimum_close ? total >= sc->minimum_close : positive;
        const v4 target = zero + sc->target;
        v4 mask_d, final_price;
        for (size_t q = 0; q < 4; ++q) {
            blk->joined_mask[t + q] = (uint64_t)mask[q];
            mask_d[q] = (double)(uint64_t)mask[q];
            final_price[q] = blk->price[(t + q) * H + H - 1];
        }
        const v4 outs[] = {
            [DS_OUT_TOTAL] = total,
            [DS_OUT_RAW_TOTAL] = raw_total,
            [DS_OUT_PAID] = paid,
            [DS_OUT_UNPAID] = unpaid,
            [DS_OUT_INVESTORS_JOINED] = n_joined,
            [DS_OUT_JOINED_MASK] = mask_d,
            [DS_OUT_CLOSED] = DS_SELECT4(closed, one, zero),
            [DS_OUT_TARGET_MET] = DS_SELECT4(total >= target, one, zero),
            [DS_OUT_OVERSUBSCRIBED] = DS_SELECT4(over, one, zero),
            [DS_OUT_SHORTFALL] = DS_SELECT4(total < target, target - total, zero),
            [DS_OUT_HHI] = DS_SELECT4(positive, hhi, nan),
            [DS_OUT_TOP_SHARE] = DS_SELECT4(positive, top, nan),
            [DS_OUT_ROUND_TRIP] = round_trip,
            [DS_OUT_NET_NEW] = paid - round_trip,
            [DS_OUT_ROUND_TRIP_SHARE] = DS_SELECT4(paid > 0.0, round_trip / paid, nan),
            [DS_OUT_COMPUTE_SPEND] = compute_spend,
            [DS_OUT_GPU_HOURS] = gpu_hours,
            [DS_OUT_AVG_PRICE] = DS_SELECT4(gpu_hours > 0.0, compute_spend / gpu_hours, nan),
            [DS_OUT_FINAL_PRICE] = final_price,
        };
        for (size_t k = 0; k < sizeof outs / sizeof outs[0]; ++k)
            V4_STORE(o[k] + t, outs[k]);

        /* 3.5 valuation */
        if (m->pre_money >= 0) {
            v4 pre;
            V4_COLUMN(pre, blk, m->pre_money, t, valid);
            const v4 post = pre + total;
            V4_STORE(o[DS_OUT_POST_MONEY] + t, post);
            const v4 stake_total = total / post;
            V4_STORE(o[DS_OUT_STAKE_TOTAL] + t, stake_total);
            for (size_t i = 0; i < ni; ++i) {
                const v4 stake = a[i] / post;
                V4_SCATTER(blk->stake, ni, i, t, stake);
            }
        }
    }
}

DS_SIMD_DISPATCH(deal, (const ds_model *m, ds_block *blk, size_t t0, size_t g, const double *S),
                 (m, blk, t0, g, S))

void ds_model_run_block(const ds_model *m, uint64_t block, size_t n, ds_block *blk)
{
    const ds_scenario *sc = m->sc;
    blk->block = block;
    blk->first = block * DS_BLOCK_SIZE;
    blk->n = n;

    sample_inputs(m, block, n, blk);
    if (m->n_corr)
        apply_copula(m, n, blk);

    ds_rng rpath, rjump;
    ds_rng_stream_hashed(&rpath, sc->seed, m->hash_path, block);
    ds_rng_stream_hashed(&rjump, sc->seed, m->hash_jumps, block);
    /* A volatility fixed at 0 draws no shocks (the same for every trial, so
     * the streams stay aligned). */
    const int draw_shocks = !(sc->inputs[m->vol].fixed && m->fixed[m->vol] == 0.0);

    for (size_t t0 = 0; t0 < n; t0 += L) {
        const size_t g = n - t0 < L ? n - t0 : L;
        /* the lanes' suffix sums, [s * L + lane] */
        const double *S = price_paths(m, t0, g, &rpath, &rjump, draw_shocks, blk);
        deal(m, blk, t0, g, S);
    }
}
