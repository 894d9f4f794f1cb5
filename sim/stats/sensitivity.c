/* sim/stats/sensitivity.c
 * First-order sensitivity indices, per-bin outcome probabilities and input
 * rank correlations, accumulated per block and merged along the merge tree.
 * Licence: see LICENSE at the top of the repository.
 *
 * State of one node (stats.h, "Sensitivity"): for each uncertain input k
 * (scenario inputs that are not fixed, in scenario order) and each output o:
 *  - a co-moment record [n, mean U, mean y, M2 of U, M2 of y, C(U, y)] over
 *    the trials where y is finite;
 *  - DS_SENS_BINS bin records [n, mean y] for the trials whose U_k
 *    falls in bin b = floor(B U_k) (equiprobable bins of the uniform).
 * U_k is the input's uniform: the kernel's uniform for join and tranche
 * inputs, F(x) (the distribution's CDF) for distribution inputs -- by the
 * tables of dist_cdftab.h (within 2e-11 of the exact CDF, the same bits
 * everywhere), built once per model's first accumulator by ds_sens_setup and
 * borrowed by the accumulators made like it (ds_stats_alloc_like).
 * A block's record is computed in trial order from sums shifted by the
 * block's first finite value of y (and U - 1/2), converted to (n, mean, M2)
 * records at the end of the block; nodes merge by Chan et al. (1979), the lower
 * block index the left operand, as ds_moments do: so the bits depend only
 * on the blocks, never on the partition.
 */
#include "stats_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/dist.h"
#include "dealsim/dist_cdftab.h"
#include "dealsim/dsmath.h"

size_t ds_sens_len(size_t n_inputs, size_t n_outputs)
{
    return n_inputs * n_outputs * (DS_SENS_CO + 2u * DS_SENS_BINS);
}

int ds_sens_input_names(const ds_scenario *sc, size_t K, const char **names)
{
    size_t k = 0;
    for (size_t i = 0; i < sc->n_inputs; ++i)
        if (!sc->inputs[i].fixed) {
            if (k == K)
                return -1;
            names[k++] = sc->inputs[i].name;
        }
    return k == K ? 0 : -1;
}

ds_status ds_sens_setup(ds_stats *s, const ds_model *m, const ds_stats *proto)
{
    const ds_scenario *sc = ds_model_scenario(m);
    size_t k = 0;
    /* output.sensitivity off: no input is followed, and nothing is added,
     * merged, saved or written (sens_k = 0). */
    for (size_t i = 0; sc->sensitivity && i < sc->n_inputs; ++i)
        k += !sc->inputs[i].fixed;
    s->sens_inputs = malloc((k + 1) * sizeof *s->sens_inputs);
    s->sens_view = malloc((ds_sens_len(k, s->n_outputs) + 1) * sizeof *s->sens_view);
    s->sens_scratch =
        malloc((ds_sens_scratch_len(k) + 1) * sizeof *s->sens_scratch);
    if (!s->sens_inputs || !s->sens_view || !s->sens_scratch)
        return DS_ERR_NOMEM;
    k = 0;
    for (size_t i = 0; sc->sensitivity && i < sc->n_inputs; ++i)
        if (!sc->inputs[i].fixed)
            s->sens_inputs[k++] = i;
    s->sens_k = k;
    s->sens_model = m;
    s->sens_valid = 0;
    /* The CDFs of the distribution inputs: by table where it serves
     * (dist_cdftab.h; the same bits for every thread, CPU and partition),
     * else ds_dist_cdf (the table's fallback). */
    if (proto && proto->sens_model == m && proto->sens_cdf && proto->sens_cdf_n == k) {
        s->sens_cdf = proto->sens_cdf;
        s->sens_cdf_n = k;
        s->sens_cdf_borrowed = 1;
        return DS_OK;
    }
    s->sens_cdf = calloc(k + 1, sizeof *s->sens_cdf);
    if (!s->sens_cdf)
        return DS_ERR_NOMEM;
    s->sens_cdf_n = k;
    for (size_t j = 0; j < k; ++j) {
        const ds_input *in = &sc->inputs[s->sens_inputs[j]];
        if (in->kind == DS_INPUT_DIST && ds_cdftab_build(&s->sens_cdf[j], in->dist) != DS_OK)
            return DS_ERR_NOMEM;
    }
    return DS_OK;
}

void ds_sens_free(ds_stats *s)
{
    if (s->sens_cdf && !s->sens_cdf_borrowed) {
        for (size_t j = 0; j < s->sens_cdf_n; ++j)
            ds_cdftab_free(&s->sens_cdf[j]);
        free(s->sens_cdf);
    }
    s->sens_cdf_borrowed = 0;
    free(s->sens_inputs);
    free(s->sens_view);
    free(s->sens_scratch);
    s->sens_cdf = NULL;
    s->sens_cdf_n = 0;
    s->sens_inputs = NULL;
    s->sens_view = s->sens_scratch = NULL;
}

size_t ds_sens_table_bytes(const ds_scenario *sc)
{
    size_t n = 0;
    for (size_t i = 0; sc->sensitivity && i < sc->n_inputs; ++i) {
        const ds_input *in = &sc->inputs[i];
        n += !in->fixed && in->kind == DS_INPUT_DIST && ds_cdftab_applies(in->dist);
    }
    return n * ds_cdftab_bytes();
}

/* U's bin floor(B U) in [0, B), as a double; 0 for U <= 0 or NaN (the
 * kernel never gives one).  Selects and an int32 truncation, so that the
 * chunk's loop vectorises. */
static inline __attribute__((always_inline)) double sens_bin(double u)
{
    const double b = u * (double)DS_SENS_BINS, top = (double)(DS_SENS_BINS - 1);
    const double c = b >= top ? top : b;
    return u > 0.0 ? (double)(int32_t)c : 0.0;
}

/* Trials are taken in chunks of SENS_CHUNK: first the uniforms and bins of
 * every input for the chunk (a column of the block at a time) and the
 * chunk's y rows, then the sums input by input (sens_block_impl). */
#define SENS_CHUNK 128
/* The per-output rows of the scratch sums are padded to a multiple of
 * SENS_LANES (one AVX-512 vector, two AVX2 ones), so that the loops over
 * outputs run whole vectors with no scalar remainder; the padding lanes sum
 * zeros and are never read.  Each real lane's sum is the same sequence of
 * operations as unpadded, so the bits are too. */
#define SENS_LANES 8
#define SENS_PAD(o) (((o) + SENS_LANES - 1) / SENS_LANES * SENS_LANES)
/* Every row has room for all outputs (a constant, so that the loops over a
 * row unroll into a few vectors kept in registers: SENS_V of four). */
#define SENS_ROW SENS_PAD(DS_OUT_COUNT)
#define SENS_V (SENS_ROW / 4)
#define SENS_HALF (SENS_V / 2) /* the k-free sums: 3 x 3 accumulators at a time */
_Static_assert(SENS_V % 2 == 0, "SENS_ROW must be a multiple of 8");
/* A row's sums as SENS_V named vectors (gcc 12 kept an array of them on
 * the stack, chaining each trial's adds through a store and a load). */
_Static_assert(SENS_V == 6, "SENS_EACH names six vectors");
#define SENS_EACH(F) F(0) F(1) F(2) F(3) F(4) F(5)
#define SENS_ROW_VARS(a) ds_v4 a##0, a##1, a##2, a##3, a##4, a##5
#define SENS_LD1(a, p, i) memcpy(&a##i, (p) + 4 * (i), sizeof a##i)
#define SENS_ST1(a, p, i) memcpy((p) + 4 * (i), &a##i, sizeof a##i)
#define SENS_ROW_LOAD(a, p)                                                                        \
    (SENS_LD1(a, p, 0), SENS_LD1(a, p, 1), SENS_LD1(a, p, 2), SENS_LD1(a, p, 3),                   \
     SENS_LD1(a, p, 4), SENS_LD1(a, p, 5))
#define SENS_ROW_STORE(a, p)                                                                       \
    (SENS_ST1(a, p, 0), SENS_ST1(a, p, 1), SENS_ST1(a, p, 2), SENS_ST1(a, p, 3),                   \
     SENS_ST1(a, p, 4), SENS_ST1(a, p, 5))

size_t ds_sens_scratch_len(size_t n_inputs)
{
    /* raw [K][3][R], raw bins [K][B][2][R] (R = SENS_ROW, room for every
     * output), bin counts [K][B], per-k sums [K][2], the chunk's du [K][C]
     * and bins [K][C] (as doubles), its y rows [C][R]. */
    return n_inputs * SENS_ROW * (3u + 2u * DS_SENS_BINS) + n_inputs * (DS_SENS_BINS + 2u) +
           2u * n_inputs * SENS_CHUNK + (size_t)SENS_CHUNK * SENS_ROW;
}

/* The n <= SENS_CHUNK trials of a chunk by bin, stably (a counting sort):
 * order[start[b] .. start[b + 1]) are bin b's trials in increasing order.
 * The chunk goes in SENS_SPLIT interleaved parts, each with its own counts
 * and cursors, so that a bin's repeated count or cursor is not one chain of
 * stores and loads through the whole chunk; bin b's trials of part q come
 * after those of the parts before it, so the order is the same. */
#define SENS_SPLIT 2
static inline __attribute__((always_inline)) void sens_order(const double *bin, size_t n,
                                                             size_t *start, uint16_t *order)
{
    enum { B = DS_SENS_BINS, S = SENS_SPLIT };
    uint8_t bk[SENS_CHUNK];
    for (size_t j = 0; j < n; ++j)
        bk[j] = (uint8_t)(int32_t)bin[j];
    const size_t qn = (n + S - 1) / S; /* part q: trials [q qn, min((q + 1) qn, n)) */
    size_t cnt[S][B], end[S];
    memset(cnt, 0, sizeof cnt);
    for (size_t q = 0; q < S; ++q)
        end[q] = (q + 1) * qn < n ? (q + 1) * qn : n;
    for (size_t i = 0; i < qn; ++i)
        for (size_t q = 0; q < S; ++q) {
            const size_t j = q * qn + i;
            if (j < end[q])
                cnt[q][bk[j]]++;
        }
    size_t pos = 0;
    for (size_t b = 0; b < B; ++b) {
        start[b] = pos;
        for (size_t q = 0; q < S; ++q) {
            const size_t c = cnt[q][b];
            cnt[q][b] = pos; /* now part q's cursor in bin b */
            pos += c;
        }
    }
    start[B] = pos;
    for (size_t i = 0; i < qn; ++i)
        for (size_t q = 0; q < S; ++q) {
            const size_t j = q * qn + i;
            if (j < end[q])
                order[cnt[q][bk[j]]++] = (uint16_t)j;
        }
}

/* The work per trial (the run-time cost): for each input k and output o two
 * multiply-adds into contiguous rows of O (a vector loop): sum du y and, in
 * k's bin, sum y; y shifted by the block's first finite value, du = U - 1/2.
 * What does not depend on o is kept per k (bin counts, sum du, sum du^2) and
 * what does not depend on k per o (count, sum y, sum y^2).  A non-finite
 * value enters as y = 0, and its trial's count, du and du^2 are summed apart
 * per (k, o) and subtracted from the per-k sums at the end: the slower
 * path, only for such trials.  All sums run in trial order: for each k,
 * sum du y over a chunk's trials with the row in registers, then sum y bin
 * by bin, each bin's trials in their order (a stable counting sort of the
 * chunk by bin), its row in registers too.  The chunk's y rows (SENS_CHUNK
 * of them, 24 KiB) stay in L1 for the 2 K passes; 256 trials (48 KiB) did
 * not and measured slower than the trial-major loop it replaced. */
static inline __attribute__((always_inline)) void sens_block_impl(const ds_stats *s,
                                                             const ds_block *blk, double *out,
                                                             double *scratch)
{
    const size_t K = s->sens_k, O = s->n_outputs, n = blk->n, B = DS_SENS_BINS;
    const size_t OP = SENS_ROW; /* the rows' stride */
    const ds_scenario *sc = ds_model_scenario(s->sens_model);
    double *raw = scratch;                     /* [K][3][OP]: du w, du^2 w, du y */
    double *rbin = raw + K * 3 * OP;           /* [K][B][2][OP]: w, y */
    double *kbin = rbin + K * B * 2 * OP;      /* [K][B] counts */
    double *ksum = kbin + K * B;               /* [K][2] sum du, sum du^2 */
    double *cdu = ksum + K * 2;                /* [K][C] */
    double *cbin = cdu + K * SENS_CHUNK;       /* [K][C] */
    double *ych = cbin + K * SENS_CHUNK;       /* [C][OP]: the chunk's y */
    memset(scratch, 0, ds_sens_scratch_len(K) * sizeof *scratch);
    double shift[SENS_ROW] = {0}; /* the padding lanes' 0: y = 0 there */
    unsigned char bad_t[SENS_CHUNK];           /* a trial with a non-finite output */
    uint16_t order[SENS_CHUNK];                /* the chunk's trials by bin */
    double on[SENS_ROW] = {0}, osy[SENS_ROW] = {0}, osy2[SENS_ROW] = {0};
    size_t part[DS_OUT_COUNT], np = 0;
    for (size_t o = 0; o < O; ++o) {
        const double *v = blk->out[o];
        for (size_t t = 0; t < n; ++t)
            if (isfinite(v[t])) {
                shift[o] = v[t];
                break;
            }
        size_t nonfinite = 0; /* a reduction that vectorises */
        for (size_t t = 0; t < n; ++t)
            nonfinite += (v[t] - v[t]) != 0.0;
        if (nonfinite)
            part[np++] = o;
    }
    for (size_t t0 = 0; t0 < n; t0 += SENS_CHUNK) {
        const size_t tn = n - t0 < SENS_CHUNK ? n - t0 : SENS_CHUNK;
        for (size_t k = 0; k < K; ++k) {
            const ds_input *in = &sc->inputs[s->sens_inputs[k]];
            const double *col = ds_block_input_column(s->sens_model, blk, s->sens_inputs[k]);
            /* U = F(x) for a distribution input, the kernel's uniform
             * itself otherwise; first into cdu, then shifted by 1/2. */
            double *restrict cu = cdu + k * SENS_CHUNK, *restrict cb = cbin + k * SENS_CHUNK;
            const double *u = col + t0;
            if (in->kind == DS_INPUT_DIST) {
                ds_cdftab_eval(&s->sens_cdf[k], col + t0, tn, cu);
                u = cu;
            }
            for (size_t j = 0; j < tn; ++j) {
                const double uj = u[j];
                cb[j] = sens_bin(uj);
                cu[j] = uj - 0.5;
            }
        }
        /* The chunk's y rows: the values, output by output (the padding
         * lanes 0); then, row by row in vectors, y = v - shift where v is
         * finite (else 0) and the k-free sums, half a row's accumulators
         * at a time in registers. */
        for (size_t o = 0; o < OP; ++o) {
            const double *col = o < O ? blk->out[o] + t0 : NULL;
            for (size_t j = 0; j < tn; ++j)
                ych[j * OP + o] = col ? col[j] : 0.0;
        }
        memset(bad_t, 0, sizeof bad_t);
        for (size_t h0 = 0; h0 < SENS_V; h0 += SENS_HALF) {
            ds_v4 a_n[SENS_HALF], a_s[SENS_HALF], a_s2[SENS_HALF], sh[SENS_HALF];
            memcpy(a_n, on + 4 * h0, sizeof a_n);
            memcpy(a_s, osy + 4 * h0, sizeof a_s);
            memcpy(a_s2, osy2 + 4 * h0, sizeof a_s2);
            memcpy(sh, shift + 4 * h0, sizeof sh);
            const ds_v4 one = {1.0, 1.0, 1.0, 1.0}, zero = {0.0, 0.0, 0.0, 0.0};
            for (size_t j = 0; j < tn; ++j) {
                ds_v4i nb = {0, 0, 0, 0};
                for (size_t v = 0; v < SENS_HALF; ++v) {
                    double *yp = ych + j * OP + 4 * (h0 + v);
                    ds_v4 x;
                    memcpy(&x, yp, sizeof x);
                    const ds_v4i fin = (x - x) == zero;
                    const ds_v4 y = DS_SELECT4(fin, x - sh[v], zero);
                    nb |= ~fin;
                    a_n[v] = a_n[v] + DS_SELECT4(fin, one, zero);
                    a_s[v] = a_s[v] + y;
                    a_s2[v] = a_s2[v] + y * y;
                    memcpy(yp, &y, sizeof y);
                }
                bad_t[j] |= (unsigned char)((nb[0] | nb[1] | nb[2] | nb[3]) != 0);
            }
            memcpy(on + 4 * h0, a_n, sizeof a_n);
            memcpy(osy + 4 * h0, a_s, sizeof a_s);
            memcpy(osy2 + 4 * h0, a_s2, sizeof a_s2);
        }
        for (size_t k = 0; k < K; ++k) {
            const double *du_k = cdu + k * SENS_CHUNK, *bin_k = cbin + k * SENS_CHUNK;
            /* sum du y over the trials in order, the row's sums in
             * registers through the chunk. */
            SENS_ROW_VARS(acc);
            double *restrict r2 = raw + (k * 3 + 2) * OP;
            SENS_ROW_LOAD(acc, r2);
            double s1 = ksum[2 * k], s2 = ksum[2 * k + 1]; /* in registers */
            for (size_t j = 0; j < tn; ++j) {
                const double du = du_k[j];
                s1 += du;
                s2 += du * du;
                const ds_v4 d = (ds_v4){0} + du;
                const double *y = ych + j * OP;
#define SENS_DUY(i)                                                                                \
    do {                                                                                           \
        ds_v4 yv;                                                                                  \
        memcpy(&yv, y + 4 * (i), sizeof yv);                                                       \
        acc##i = acc##i + d * yv;                                                                  \
    } while (0);
                SENS_EACH(SENS_DUY)
#undef SENS_DUY
            }
            SENS_ROW_STORE(acc, r2);
            ksum[2 * k] = s1;
            ksum[2 * k + 1] = s2;
            /* The rare trials with a non-finite output: what their missing
             * values leave out, subtracted at the end (in trial order). */
            for (size_t j = 0; np && j < tn; ++j) {
                if (!bad_t[j])
                    continue;
                const double du = du_k[j];
                const size_t b = (size_t)(int32_t)bin_k[j];
                for (size_t q = 0; q < np; ++q) {
                    const size_t o = part[q];
                    if (isfinite(blk->out[o][t0 + j]))
                        continue;
                    raw[k * 3 * OP + o] += du;
                    raw[(k * 3 + 1) * OP + o] += du * du;
                    rbin[(k * B + b) * 2 * OP + o] += 1.0;
                }
            }
            /* sum y in each bin: the trials of a bin in their order (a
             * stable counting sort), so that each bin's row stays in
             * registers while its trials are added. */
            size_t start[DS_SENS_BINS + 1];
            sens_order(bin_k, tn, start, order);
            /* The bin counts (exact integers: a chunk's count at once is the
             * sum of its ones). */
            for (size_t b = 0; b < B; ++b)
                kbin[k * B + b] += (double)(start[b + 1] - start[b]);
            for (size_t b = 0; b < B; ++b) {
                if (start[b] == start[b + 1])
                    continue;
                double *restrict b1 = rbin + ((k * B + b) * 2 + 1) * OP;
                SENS_ROW_LOAD(acc, b1);
                for (size_t i = start[b]; i < start[b + 1]; ++i) {
                    const double *y = ych + (size_t)order[i] * OP;
#define SENS_Y(i)                                                                                  \
    do {                                                                                           \
        ds_v4 yv;                                                                                  \
        memcpy(&yv, y + 4 * (i), sizeof yv);                                                       \
        acc##i = acc##i + yv;                                                                      \
    } while (0);
                    SENS_EACH(SENS_Y)
#undef SENS_Y
                }
                SENS_ROW_STORE(acc, b1);
            }
        }
    }
    /* The weighted sums: the per-k ones, less those of the trials where the
     * output was not finite (zero for outputs finite throughout). */
    for (size_t o = 0; o < O; ++o)
        for (size_t k = 0; k < K; ++k) {
            raw[k * 3 * OP + o] = ksum[2 * k] - raw[k * 3 * OP + o];
            raw[(k * 3 + 1) * OP + o] = ksum[2 * k + 1] - raw[(k * 3 + 1) * OP + o];
            for (size_t b = 0; b < B; ++b)
                rbin[(k * B + b) * 2 * OP + o] =
                    kbin[k * B + b] - rbin[(k * B + b) * 2 * OP + o];
        }
    /* Shifted sums to the records (stats.h layout). */
    double *bins = out + K * O * DS_SENS_CO;
    for (size_t k = 0; k < K; ++k)
        for (size_t o = 0; o < O; ++o) {
            double cn = 0.0, sy = 0.0;
            for (size_t b = 0; b < B; ++b) {
                const double *rb = rbin + (k * B + b) * 2 * OP + o;
                double *r = bins + ((k * B + b) * O + o) * 2;
                const double bn = rb[0], bs = rb[OP];
                cn += bn;
                sy += bs;
                r[0] = bn;
                r[1] = bn > 0.0 ? shift[o] + bs / bn : 0.0;
            }
            const double *rk = raw + k * 3 * OP + o;
            double *c = out + (k * O + o) * DS_SENS_CO;
            const double su = rk[0], su2 = rk[OP], suy = rk[2 * OP];
            /* cn, sy equal on[o], osy[o] (the same values); the k-free sums
             * are used for y so that M2 of y is the same for every k. */
            (void)sy;
            c[0] = cn;
            if (cn > 0.0) {
                c[1] = 0.5 + su / cn;
                c[2] = shift[o] + osy[o] / on[o];
                c[3] = fmax(su2 - su * su / cn, 0.0);
                c[4] = fmax(osy2[o] - osy[o] * osy[o] / on[o], 0.0);
                c[5] = suy - su * osy[o] / on[o];
            } else {
                c[1] = c[2] = c[3] = c[4] = c[5] = 0.0;
            }
        }
}

/* One copy of the block's work per instruction set, picked as dsmath.h's
 * arrays are (DEALSIM_SIMD): the loops over outputs keep one sum a lane, in
 * trial order, with no FMA, so every copy gives the same bits. */
DS_SIMD_DISPATCH(sens_block,
                 (const ds_stats *s, const ds_block *blk, double *out, double *scratch),
                 (s, blk, out, scratch))

void ds_sens_block(const ds_stats *s, const ds_block *blk, double *out, double *scratch)
{
    sens_block(s, blk, out, scratch);
}

/* (n, mean) := merge of a (left) and b. */
static void pair_merge(const double *a, const double *b, double *out)
{
    if (b[0] == 0.0) {
        out[0] = a[0], out[1] = a[1];
        return;
    }
    if (a[0] == 0.0) {
        out[0] = b[0], out[1] = b[1];
        return;
    }
    const double n = a[0] + b[0];
    out[0] = n;
    out[1] = a[1] + (b[1] - a[1]) * b[0] / n;
}

void ds_sens_merge(size_t K, size_t O, const double *l, const double *r, double *out)
{
    for (size_t j = 0; j < K * O; ++j) {
        const double *a = l + j * DS_SENS_CO, *b = r + j * DS_SENS_CO;
        double *c = out + j * DS_SENS_CO;
        if (b[0] == 0.0 || a[0] == 0.0) {
            memcpy(c, b[0] == 0.0 ? a : b, DS_SENS_CO * sizeof *c);
            continue;
        }
        /* Chan et al. (1979), with the co-moment C like M2. */
        const double n = a[0] + b[0], du = b[1] - a[1], dy = b[2] - a[2];
        const double wt = a[0] * b[0] / n;
        c[0] = n;
        c[1] = a[1] + du * b[0] / n;
        c[2] = a[2] + dy * b[0] / n;
        c[3] = a[3] + b[3] + du * du * wt;
        c[4] = a[4] + b[4] + dy * dy * wt;
        c[5] = a[5] + b[5] + du * dy * wt;
    }
    const size_t off = K * O * DS_SENS_CO;
    for (size_t j = 0; j < K * O * DS_SENS_BINS; ++j)
        pair_merge(l + off + 2 * j, r + off + 2 * j, out + off + 2 * j);
}

/* Estimator (see README, "Sensitivity"): with n finite values of y in
 * bins of n_b values and means m_b, grand mean m and
 *   SST = sum (y - m)^2,  SSB = sum_b n_b (m_b - m)^2,  SSW = SST - SSB,
 * the correlation ratio eta^2 = SSB / SST (K. Pearson 1905) estimates
 * Var(E[y | bin]) / Var(y), the first-order index S_k of the binned input
 * (Saltelli et al. 2008, "Global Sensitivity Analysis: The Primer", 1.2.3;
 * with equiprobable bins of U_k it approaches S_k as B grows: for a linear
 * effect the binned index is S_k (1 - 1/B^2)).  Under no effect E[SSB] =
 * (G - 1) sigma^2 over the G non-empty bins and E[SSW] = (n - G) sigma^2, so
 * the bias-corrected estimate (Kelley's epsilon^2, 1935) is
 *   S = (SSB - (G - 1) SSW / (n - G)) / SST.
 * Standard error: the large-sample normal-theory variance of a squared
 * correlation ratio with G - 1 degrees of freedom,
 *   Var(S) ~ 4 S (1 - S)^2 / n + 2 (G - 1) (1 - S)^2 / n^2
 * (the first term: Olkin and Finn's delta-method variance of R^2; the second:
 * the variance of eta^2 under no effect, Beta((G-1)/2, (n-G)/2)); it is
 * approximate for strongly non-normal outputs. */
void ds_sens_estimate(const double *co, const double *bins, size_t O, double *S, double *se,
                      double *rho)
{
    const double n = co[0];
    *S = *se = *rho = (double)NAN;
    if (n < 3.0)
        return;
    const double sst = co[4];
    double ssb = 0.0, g = 0.0;
    for (size_t b = 0; b < DS_SENS_BINS; ++b) {
        const double *r = bins + b * O * 2;
        if (r[0] > 0.0) {
            const double d = r[1] - co[2];
            ssb += r[0] * d * d;
            g += 1.0;
        }
    }
    if (co[3] > 0.0 && sst > 0.0)
        *rho = co[5] / sqrt(co[3] * sst);
    if (!(sst > 0.0) || g < 2.0 || n <= g)
        return;
    const double ssw = fmax(sst - ssb, 0.0);
    const double s = (ssb - (g - 1.0) * ssw / (n - g)) / sst;
    const double sp = s > 0.0 ? s : 0.0, q = 1.0 - sp;
    *S = s;
    *se = sqrt(4.0 * sp * q * q / n + 2.0 * (g - 1.0) * q * q / (n * n));
}
