/* sim/stats/state.c
 * Saved state of the accumulators: a generic list of named arrays (ds_state)
 * and the export (stats.h); the fully validating import is state_import.c,
 * the tables both share state_internal.h.
 * Licence: see LICENSE at the top of the repository.
 *
 * What must stay true:
 *  - export depends only on the mergeable content, never on allocation
 *    history (sketch stores are written as their non-zero spans), so equal
 *    accumulators export equal arrays and a result file stays bit-identical
 *    for any thread count;
 *  - import trusts nothing but the ds_state invariant itself (data holds
 *    prod(dims) elements of the array's kind, which ds_state_add and the
 *    HDF5 reader guarantee): every length, index, level, count and span is
 *    checked before it is used, with 64-bit overflow checks, so a damaged or
 *    hostile file gives DS_ERR_FORMAT and a message, never a crash;
 *  - import of export is the identity on everything mergeable (the round
 *    trip tests compare bits).
 * The arrays of each part are rows of a table (state_col): export adds them
 * in row order, import fetches them in the same order (need_cols: the first
 * missing or misshapen array is the error) and then checks every value with
 * its own rule, written out after the fetch.
 * State version 3 arrays (dims in brackets):
 *   n_outputs, n_investors, horizon, trials, blocks,
 *   block_size, tail, coalition_pooled                       scalars (u64)
 *   coalition_tracked (u64)                                  [tracked]
 *   node_level, node_index, node_trials,
 *   node_coalition_offset, node_coalition_count,
 *   node_other_trials (u64); node_other_sum_total (f64)      [node]
 *   node_n, node_nan, node_posinf, node_neginf (u64);
 *   node_mean, node_m2, node_min,
 *   node_max (f64)                                           [node, accumulator]
 *   node_coalition_mask, node_coalition_trials (u64),
 *   node_coalition_sum_total (f64)                           [node_coalition]
 *   checkpoint_blocks, checkpoint_trials (u64)               [checkpoint]
 *   checkpoint_mean, checkpoint_stderr (f64)                 [checkpoint, output]
 *   sketch_count, sketch_zero, sketch_pos_len,
 *   sketch_pos_offset, sketch_neg_len, sketch_neg_offset (u64),
 *   sketch_pos_lo, sketch_neg_lo (i32)                       [sketch]
 *   sketch_pos_floor, sketch_neg_floor (i32),
 *   sketch_pos_collapsed, sketch_neg_collapsed (u64)         [sketch]
 *   bucket_counts (u64)                                      [bucket]
 *   join_count (u64)                                         [investor]
 * Version 5 adds, only with the conditional state (stats.h "Conditional"):
 *   conditional_conditions                                   scalar (u64)
 *   node_cond_n, node_cond_nan, node_cond_posinf,
 *   node_cond_neginf (u64); node_cond_mean, node_cond_m2,
 *   node_cond_min, node_cond_max (f64)                       [node, cond_accumulator]
 *   node_coalition_closed, node_coalition_target_met (u64),
 *   node_coalition_m2_total (f64)                            [node_coalition]
 *   node_other_closed, node_other_target_met (u64),
 *   node_other_m2_total (f64)                                [node]
 *   coalition_sketch_mask (u64)                              [coalition_sketch]
 * and DS_COND_SKETCHED * n_outputs + coalition_sketch more sketch rows
 * (after the price months: outputs given closed, given target_met, then
 * total given each coalition_sketch_mask).  A version 3 or 4 state imports without them (no conditional
 * results).
 * With tail = 1 the last node row is the short last block (stats.h).
 * Sketch rows: outputs, amount per investor, paid per investor, price per
 * month.  Accumulator columns: as ds_stats_n_accumulators.
 */
#include "state_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The sampling method and the block spreads (version 4; stats.h); the
 * conditional ratio spreads (version 6; stats.h, ds_rspread). */
static ds_status export_bspread(const ds_stats *s, ds_state *st);
static ds_status export_crs(const ds_stats *s, ds_state *st);

/* ------------------------------------------------------------- ds_state */

size_t ds_state_kind_size(ds_state_kind kind)
{
    return kind == DS_STATE_I32 ? 4u : 8u;
}

ds_state *ds_state_alloc(uint32_t version)
{
    ds_state *st = calloc(1, sizeof *st);
    if (st)
        st->version = version;
    return st;
}

void ds_state_free(ds_state *st)
{
    if (!st)
        return;
    for (size_t k = 0; k < st->n; ++k) {
        free(st->a[k].units);
        free(st->a[k].long_name);
        free(st->a[k].data);
    }
    free(st->a);
    free(st);
}

const ds_state_array *ds_state_find(const ds_state *st, const char *name)
{
    for (size_t k = 0; k < st->n; ++k)
        if (strcmp(st->a[k].name, name) == 0)
            return &st->a[k];
    return NULL;
}

static char *state_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

ds_status ds_state_add(ds_state *st, const char *name, ds_state_kind kind, size_t rank,
                       const uint64_t *dims, const char *const *dim_names, const char *units,
                       const char *long_name, void **data)
{
    if (rank > DS_STATE_MAX_RANK || (unsigned)kind > (unsigned)DS_STATE_I32 ||
        strlen(name) >= DS_STATE_NAME_MAX || ds_state_find(st, name))
        return DS_ERR_INTERNAL;
    uint64_t elems = 1;
    for (size_t r = 0; r < rank; ++r) {
        if (dims[r] != 0 && elems > DS_STATE_MAX_ELEMS / dims[r])
            return DS_ERR_INTERNAL;
        elems *= dims[r];
    }
    if (elems > DS_STATE_MAX_ELEMS)
        return DS_ERR_INTERNAL;
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 32;
        ds_state_array *v = realloc(st->a, cap * sizeof *v);
        if (!v)
            return DS_ERR_NOMEM;
        st->a = v;
        st->cap = cap;
    }
    ds_state_array *a = &st->a[st->n];
    memset(a, 0, sizeof *a);
    memcpy(a->name, name, strlen(name) + 1);
    a->kind = kind;
    a->rank = rank;
    for (size_t r = 0; r < rank; ++r) {
        a->dims[r] = dims[r];
        if (dim_names && dim_names[r] && strlen(dim_names[r]) < DS_STATE_NAME_MAX)
            memcpy(a->dim_names[r], dim_names[r], strlen(dim_names[r]) + 1);
    }
    /* +1 element: never a zero-size request. */
    a->data = calloc((size_t)elems + 1, ds_state_kind_size(kind));
    a->units = units ? state_strdup(units) : NULL;
    a->long_name = long_name ? state_strdup(long_name) : NULL;
    if (!a->data || (units && !a->units) || (long_name && !a->long_name)) {
        free(a->data);
        free(a->units);
        free(a->long_name);
        return DS_ERR_NOMEM;
    }
    st->n++;
    if (data)
        *data = a->data;
    return DS_OK;
}

ds_stats_shape ds_stats_shape_of(const ds_stats *s)
{
    ds_stats_shape sh = {s->n_outputs, s->n_investors, s->horizon};
    return sh;
}

/* ---------------------------------------------------------------- export */

/* Adds the arrays of a table (zero-filled) and points each row's slot at
 * its data; stops at the first failure. */
static ds_status add_cols(ds_state *st, const state_col *c, size_t n)
{
    for (size_t k = 0; k < n; ++k) {
        void *p = NULL;
        DS_TRY(ds_state_add(st, c[k].name, c[k].kind, c[k].dims->rank, c[k].dims->len,
                            c[k].dims->names, c[k].units, c[k].long_name, &p));
        if (c[k].kind == DS_STATE_U64)
            *(uint64_t **)c[k].slot = p;
        else if (c[k].kind == DS_STATE_F64)
            *(double **)c[k].slot = p;
        else
            *(int32_t **)c[k].slot = p;
    }
    return DS_OK;
}

static const col_dims scalar_dims = {0, {NULL, NULL}, {0, 0}};

static ds_status add_scalar(ds_state *st, const char *name, uint64_t v, const char *ln)
{
    uint64_t *d = NULL;
    const state_col c[] = {COL_U64(name, &scalar_dims, "1", ln, d)};
    DS_TRY(add_cols(st, c, 1));
    *d = v;
    return DS_OK;
}

static ds_status add_moments(ds_state *st, const mo_names *nm, const col_dims *d, mo_cols *c)
{
    const char *const *a = nm->name, *const *l = nm->desc;
    const char *mu = nm->mean_units, *m2u = nm->m2_units;
    const state_col t[] = {
        COL_U64(a[0], d, "1", l[0], c->n),       COL_U64(a[1], d, "1", l[1], c->nan),
        COL_U64(a[2], d, "1", l[2], c->posinf),  COL_U64(a[3], d, "1", l[3], c->neginf),
        COL_F64(a[4], d, mu, l[4], c->mean),     COL_F64(a[5], d, m2u, l[5], c->m2),
        COL_F64(a[6], d, mu, l[6], c->min),      COL_F64(a[7], d, mu, l[7], c->max)};
    return add_cols(st, t, N_COLS(t));
}

static void mo_put(const mo_cols *c, size_t e, const ds_moments *m)
{
    c->n[e] = m->n;
    c->nan[e] = m->nan;
    c->posinf[e] = m->posinf;
    c->neginf[e] = m->neginf;
    c->mean[e] = m->mean;
    c->m2[e] = m->m2;
    c->min[e] = m->min;
    c->max[e] = m->max;
}

int ds_state_has_cond(const ds_stats *s)
{
    if (!s->cond_on)
        return 0;
    for (size_t j = 0; j < s->n_nodes; ++j)
        if (!s->nodes[j].cond)
            return 0;
    return !s->has_tail || s->tail.cond != NULL;
}

size_t ds_state_n_sketches(const ds_stats *s)
{
    return s->n_outputs + 2 * s->n_investors + s->horizon +
           (ds_state_has_cond(s) ? DS_COND_SKETCHED * s->n_outputs + s->n_coal_sk : 0);
}

/* Which family of sketch rows row j is in (0 outputs, 1 amount, 2 paid,
 * 3 price, 4 conditional, 5 coalition: the order of ds_state_n_sketches), and
 * *j := its index there. */
static int sketch_family(const ds_stats *s, size_t *j)
{
    const size_t len[5] = {s->n_outputs, s->n_investors, s->n_investors, s->horizon,
                           DS_COND_SKETCHED * s->n_outputs};
    int f = 0;
    while (f < 5 && *j >= len[f])
        *j -= len[f++];
    return f;
}

static const ds_sketch *sketch_row_c(const ds_stats *s, size_t j)
{
    const ds_sketch *const fam[6] = {s->sk_out,   s->sk_amount, s->sk_paid,
                                     s->sk_price, s->sk_cond,   s->sk_coal};
    const int f = sketch_family(s, &j);
    return &fam[f][j];
}

ds_sketch *ds_state_sketch_row(ds_stats *s, size_t j)
{
    ds_sketch *const fam[6] = {s->sk_out,   s->sk_amount, s->sk_paid,
                               s->sk_price, s->sk_cond,   s->sk_coal};
    const int f = sketch_family(s, &j);
    return &fam[f][j];
}


/* The non-zero span [first, first + len) of one side of a sketch. */
static void sketch_span(const ds_sketch *sk, int negative, int32_t *lo, uint32_t *len,
                        const uint64_t **counts)
{
    const uint64_t *c = negative ? sk->neg : sk->pos;
    uint32_t n = negative ? sk->neg_len : sk->pos_len;
    int32_t base = negative ? sk->neg_lo : sk->pos_lo;
    uint32_t a = 0;
    while (a < n && c[a] == 0)
        ++a;
    while (n > a && c[n - 1] == 0)
        --n;
    *lo = a < n ? base + (int32_t)a : 0;
    *len = n - a;
    *counts = a < n ? c + a : NULL;
}

const mo_names ds_state_node_mo = {
    {"node_n", "node_nan", "node_posinf", "node_neginf", "node_mean", "node_m2", "node_min",
     "node_max"},
    {"number of finite values", "number of NaN values", "number of +inf values",
     "number of -inf values", "mean (Chan et al. merge along the tree)",
     "sum of squared deviations from the mean", "smallest finite value",
     "largest finite value"},
    "various: the accumulator's",
    "various: the accumulator's, squared"};
const mo_names ds_state_cond_mo = {
    {"node_cond_n", "node_cond_nan", "node_cond_posinf", "node_cond_neginf", "node_cond_mean",
     "node_cond_m2", "node_cond_min", "node_cond_max"},
    {"finite values given the condition: [condition][output] then "
     "[investor][amount, paid, stake] given it joins",
     "NaN values given the condition", "+inf values", "-inf values", "conditional mean",
     "conditional sum of squared deviations", "conditional min", "conditional max"},
    "various",
    "various, squared"};


/* The conditional state (stats.h "Conditional"), only when every node has
 * it: the conditional moments per node, the coalition rows' extras, the
 * "other" row's; the sketches are rows of sketch_*. */
static ds_status export_cond(const ds_stats *s, ds_state *st, size_t nn, size_t nc)
{
    if (!ds_state_has_cond(s))
        return DS_OK;
    const size_t len = ds_cond_len(s);
    DS_TRY(add_scalar(st, "conditional_conditions", ds_cond_n_conditions(s),
                      "conditions of the conditional moments: closed, target_met, joined.<i>"));
    const col_dims d_m = {1, {"coalition_sketch"}, {s->n_coal_sk}};
    const col_dims d_nc = {2, {"node", "cond_accumulator"}, {nn, len}};
    const col_dims d_c = {1, {"node_coalition"}, {nc}}, d_n = {1, {"node"}, {nn}};
    uint64_t *mv, *cc, *ct, *oc, *ot;
    double *cm, *om;
    mo_cols mo;
    const state_col mask[] = {
        COL_U64("coalition_sketch_mask", &d_m, "1",
                "join masks with a sketch of total (the last sketch rows), sorted", mv)};
    DS_TRY(add_cols(st, mask, N_COLS(mask)));
    if (s->n_coal_sk)
        memcpy(mv, s->coal_sk_mask, s->n_coal_sk * sizeof *mv);
    DS_TRY(add_moments(st, &ds_state_cond_mo, &d_nc, &mo));
    const state_col t[] = {
        COL_U64("node_coalition_closed", &d_c, "1", "trials with the join mask that closed",
                cc),
        COL_U64("node_coalition_target_met", &d_c, "1",
                "trials with the join mask that met the target", ct),
        COL_F64("node_coalition_m2_total", &d_c, "USD billion squared",
                "sum of squared deviations of total given the mask", cm),
        COL_U64("node_other_closed", &d_n, "1", "pooled trials that closed", oc),
        COL_U64("node_other_target_met", &d_n, "1", "pooled trials that met the target", ot),
        COL_F64("node_other_m2_total", &d_n, "USD billion squared",
                "sum of squared deviations of total over the pooled trials", om)};
    DS_TRY(add_cols(st, t, N_COLS(t)));
    size_t r = 0;
    for (size_t j = 0; j < nn; ++j) {
        const ds_stats_node *nd = NODE_ROW(s, j);
        for (size_t k = 0; k < len; ++k)
            mo_put(&mo, j * len + k, &nd->cond[k]);
        for (size_t c = 0; c < nd->n_coal; ++c, ++r) {
            cc[r] = nd->coal[c].closed;
            ct[r] = nd->coal[c].target_met;
            cm[r] = nd->coal[c].m2_total;
        }
        oc[j] = nd->other_closed;
        ot[j] = nd->other_target_met;
        om[j] = nd->other_m2;
    }
    return DS_OK;
}

static ds_status export_inner(const ds_stats *s, ds_state *st)
{
    /* The tail, when there is one, is the last node row (tail scalar 1). */
    const size_t nn = s->n_nodes + (s->has_tail ? 1u : 0u), na = ds_stats_n_accumulators(s);
    const size_t nk = s->n_node_cps;
    const size_t ns = ds_state_n_sketches(s), no = s->n_outputs;
    size_t nc = 0, nb = 0;
    for (size_t j = 0; j < nn; ++j)
        nc += NODE_ROW(s, j)->n_coal;
    for (size_t j = 0; j < ns; ++j) {
        int32_t lo;
        uint32_t lp, ln;
        const uint64_t *c;
        sketch_span(sketch_row_c(s, j), 0, &lo, &lp, &c);
        sketch_span(sketch_row_c(s, j), 1, &lo, &ln, &c);
        nb += (size_t)lp + ln;
    }
    DS_TRY(add_scalar(st, "n_outputs", s->n_outputs, "scalar outputs"));
    DS_TRY(add_scalar(st, "n_investors", s->n_investors, "investors"));
    DS_TRY(add_scalar(st, "horizon", s->horizon, "months of the price path"));
    DS_TRY(add_scalar(st, "trials", s->trials, "trials merged"));
    DS_TRY(add_scalar(st, "blocks", s->blocks, "blocks merged"));
    DS_TRY(add_scalar(st, "block_size", s->block_size, "trials of a full block"));
    DS_TRY(add_scalar(st, "tail", (uint64_t)(s->has_tail != 0),
                      "1: the last node row is the short last block (the tail), not a "
                      "forest node"));
    DS_TRY(add_scalar(st, "coalition_pooled", (uint64_t)(s->coal_pooled != 0),
                      "1: only the masks in coalition_tracked (those of block 0) have rows; "
                      "the rest are pooled as node_other_*"));
    const col_dims d_t = {1, {"tracked"}, {s->n_tracked}};
    const col_dims d_n = {1, {"node"}, {nn}}, d_na = {2, {"node", "accumulator"}, {nn, na}};
    const col_dims d_nc = {1, {"node_coalition"}, {nc}}, d_k = {1, {"checkpoint"}, {nk}};
    const col_dims d_ko = {2, {"checkpoint", "output"}, {nk, no}}, d_s = {1, {"sketch"}, {ns}};
    const col_dims d_b = {1, {"bucket"}, {nb}}, d_i = {1, {"investor"}, {s->n_investors}};

    uint64_t *tv;
    const state_col tracked[] = {COL_U64("coalition_tracked", &d_t, "1",
                                         "join masks with their own coalition row (sorted)", tv)};
    DS_TRY(add_cols(st, tracked, N_COLS(tracked)));
    if (s->n_tracked)
        memcpy(tv, s->tracked, s->n_tracked * sizeof *tv);

    uint64_t *lv, *ix, *tr, *co, *cc, *ot, *cm, *ct;
    double *os, *cs;
    mo_cols mo;
    const state_col nodes[] = {
        COL_U64("node_level", &d_n, "1", "merge-tree level l of the node", lv),
        COL_U64("node_index", &d_n, "1",
                "merge-tree index k: the node covers blocks [k 2^l, (k+1) 2^l)", ix),
        COL_U64("node_trials", &d_n, "1", "trials in the node's blocks", tr),
        COL_U64("node_coalition_offset", &d_n, "1",
                "first row of the node's coalitions in node_coalition", co),
        COL_U64("node_coalition_count", &d_n, "1",
                "number of the node's coalitions (sorted by mask)", cc),
        COL_U64("node_other_trials", &d_n, "1",
                "trials of the node with an untracked (pooled) join mask", ot),
        COL_F64("node_other_sum_total", &d_n, "USD billion",
                "sum of total over those trials (merged along the tree)", os)};
    const state_col coal[] = {
        COL_U64("node_coalition_mask", &d_nc, "1", "join mask", cm),
        COL_U64("node_coalition_trials", &d_nc, "1", "trials with the join mask in the node",
                ct),
        COL_F64("node_coalition_sum_total", &d_nc, "USD billion",
                "sum of total over those trials (merged along the tree)", cs)};
    DS_TRY(add_cols(st, nodes, N_COLS(nodes)));
    DS_TRY(add_moments(st, &ds_state_node_mo, &d_na, &mo));
    DS_TRY(add_cols(st, coal, N_COLS(coal)));
    size_t r = 0;
    for (size_t j = 0; j < nn; ++j) {
        const ds_stats_node *nd = NODE_ROW(s, j);
        lv[j] = nd->level;
        ix[j] = nd->index;
        tr[j] = nd->trials;
        co[j] = r;
        cc[j] = nd->n_coal;
        ot[j] = nd->other_count;
        os[j] = nd->other_sum;
        for (size_t k = 0; k < na; ++k)
            mo_put(&mo, j * na + k, &nd->mo[k]);
        for (size_t c = 0; c < nd->n_coal; ++c, ++r) {
            cm[r] = nd->coal[c].mask;
            ct[r] = nd->coal[c].count;
            cs[r] = nd->coal[c].sum_total;
        }
    }

    uint64_t *kb, *kt;
    double *kmean, *kse;
    const state_col cps[] = {
        COL_U64("checkpoint_blocks", &d_k, "1", "blocks of the checkpoint: 2^k, node (k, 0)",
                kb),
        COL_U64("checkpoint_trials", &d_k, "1", "trials of the checkpoint", kt),
        COL_F64("checkpoint_mean", &d_ko, "various: per output, see output_units",
                "mean at the checkpoint", kmean),
        COL_F64("checkpoint_stderr", &d_ko, "various: per output, see output_units",
                "standard error at the checkpoint", kse)};
    DS_TRY(add_cols(st, cps, N_COLS(cps)));
    for (size_t k = 0; k < nk; ++k) {
        kb[k] = s->node_cps[k].blocks;
        kt[k] = s->node_cps[k].trials;
        for (size_t o = 0; o < no; ++o) {
            kmean[k * no + o] = s->node_cps[k].mean[o];
            kse[k * no + o] = s->node_cps[k].stderr_[o];
        }
    }

    uint64_t *sc, *sz, *spl, *spo, *snl, *sno, *spc, *snc, *bc;
    int32_t *splo, *snlo, *spf, *snf;
    const state_col sketches[] = {
        COL_U64("sketch_count", &d_s, "1", "values added (NaN excluded)", sc),
        COL_U64("sketch_zero", &d_s, "1", "values with |x| below sketch_min_abs", sz),
        COL_I32("sketch_pos_lo", &d_s, "1", "log-bucket key of the first positive bucket",
                splo),
        COL_U64("sketch_pos_len", &d_s, "1", "number of positive buckets", spl),
        COL_U64("sketch_pos_offset", &d_s, "1",
                "offset of the positive buckets in bucket_counts", spo),
        COL_I32("sketch_neg_lo", &d_s, "1",
                "log-bucket key (of |x|) of the first negative bucket", snlo),
        COL_U64("sketch_neg_len", &d_s, "1", "number of negative buckets", snl),
        COL_U64("sketch_neg_offset", &d_s, "1",
                "offset of the negative buckets in bucket_counts", sno),
        COL_I32("sketch_pos_floor", &d_s, "1",
                "lowest kept positive key: smaller keys are counted in its bucket", spf),
        COL_I32("sketch_neg_floor", &d_s, "1", "lowest kept negative key (of |x|)", snf),
        COL_U64("sketch_pos_collapsed", &d_s, "1",
                "positive values below sketch_pos_floor, counted in its bucket", spc),
        COL_U64("sketch_neg_collapsed", &d_s, "1",
                "negative values below sketch_neg_floor, counted in its bucket", snc),
        COL_U64("bucket_counts", &d_b, "1",
                "sketch bucket counts, concatenated (see sketch_pos_offset, sketch_neg_offset)",
                bc)};
    DS_TRY(add_cols(st, sketches, N_COLS(sketches)));
    size_t p = 0;
    for (size_t j = 0; j < ns; ++j) {
        const ds_sketch *sk = sketch_row_c(s, j);
        sc[j] = sk->count;
        sz[j] = sk->zero;
        spf[j] = ds_stats_sketch_floor(sk, 0);
        snf[j] = ds_stats_sketch_floor(sk, 1);
        spc[j] = sk->pos_collapsed;
        snc[j] = sk->neg_collapsed;
        for (int neg = 0; neg < 2; ++neg) {
            int32_t lo;
            uint32_t len;
            const uint64_t *c;
            sketch_span(sk, neg, &lo, &len, &c);
            (neg ? snlo : splo)[j] = lo;
            (neg ? snl : spl)[j] = len;
            (neg ? sno : spo)[j] = p;
            if (len)
                memcpy(bc + p, c, len * sizeof *bc);
            p += len;
        }
    }
    uint64_t *jc;
    const state_col joins[] = {
        COL_U64("join_count", &d_i, "1", "trials in which the investor joined", jc)};
    DS_TRY(add_cols(st, joins, N_COLS(joins)));
    if (s->n_investors)
        memcpy(jc, s->inv_joined, s->n_investors * sizeof *jc);
    DS_TRY(export_cond(s, st, nn, nc));
    /* Sensitivity records (stats.h), only when every node has them. */
    int all_sens = s->sens_k > 0;
    for (size_t j = 0; j < nn && all_sens; ++j)
        all_sens = NODE_ROW(s, j)->sens != NULL;
    if (all_sens) {
        const size_t len = ds_sens_len(s->sens_k, s->n_outputs);
        const col_dims d_ns = {2, {"node", "sensitivity_record"}, {nn, len}};
        double *sv;
        const state_col sens[] = {
            COL_F64("node_sensitivity", &d_ns, "various",
                    "per node: co-moments of (U_k, output) then per-bin (n, mean, M2) "
                    "records (stats.h, Sensitivity)",
                    sv)};
        DS_TRY(add_scalar(st, "sensitivity_inputs", s->sens_k,
                          "uncertain inputs with sensitivity records"));
        DS_TRY(add_cols(st, sens, N_COLS(sens)));
        for (size_t j = 0; j < nn; ++j)
            memcpy(sv + j * len, NODE_ROW(s, j)->sens, len * sizeof *sv);
    }
    DS_TRY(export_bspread(s, st));
    return export_crs(s, st);
}

ds_status ds_stats_export(const ds_stats *s, ds_state **out)
{
    *out = NULL;
    ds_state *st = ds_state_alloc(DS_STATS_STATE_VERSION);
    if (!st)
        return DS_ERR_NOMEM;
    ds_status r = export_inner(s, st);
    if (r != DS_OK) {
        ds_state_free(st);
        return r;
    }
    *out = st;
    return DS_OK;
}

static ds_status export_bspread(const ds_stats *s, ds_state *st)
{
    DS_TRY(add_scalar(st, "sampling", (uint64_t)s->sampling,
                      "0: monte_carlo, 1: latin_hypercube (README, Sampling)"));
    const size_t nn = s->n_nodes + (s->has_tail ? 1u : 0u), no = s->n_outputs;
    int all = 1;
    for (size_t j = 0; j < nn && all; ++j)
        all = NODE_ROW(s, j)->has_bsp;
    if (!all)
        return DS_OK; /* from a version-3 state: none (stats.h) */
    const col_dims d_no = {2, {"node", "output"}, {nn, no}};
    uint64_t *bn;
    double *bm, *b2;
    const state_col t[] = {
        COL_U64("node_block_count", &d_no, "1",
                "full blocks with a finite mean of the output in the node", bn),
        COL_F64("node_block_mean", &d_no, "various: per output",
                "mean of the full blocks' means (Chan et al. merge along the tree)", bm),
        COL_F64("node_block_m2", &d_no, "various: per output, squared",
                "sum of squared deviations of the full blocks' means", b2)};
    DS_TRY(add_cols(st, t, N_COLS(t)));
    for (size_t j = 0; j < nn; ++j) {
        const ds_stats_node *nd = NODE_ROW(s, j);
        for (size_t o = 0; o < no; ++o) {
            bn[j * no + o] = nd->bsp[o].n;
            bm[j * no + o] = nd->bsp[o].mean;
            b2[j * no + o] = nd->bsp[o].m2;
        }
    }
    return DS_OK;
}

/* The ratio spreads' arrays' names (state_internal.h) and descriptions. */
const char *const ds_state_crs_name[DS_STATE_CRS_F64] = {
    "node_cond_block_sum_mean", "node_cond_block_count_mean", "node_cond_block_sum_m2",
    "node_cond_block_count_m2", "node_cond_block_cross_m2"};
static const char *const crs_desc[DS_STATE_CRS_F64] = {
    "mean over the full blocks of the sum S_b of the values given the condition",
    "mean over the full blocks of their count N_b",
    "sum of squared deviations of S_b", "sum of squared deviations of N_b",
    "sum of crossed deviations of S_b and N_b"};

static ds_status export_crs(const ds_stats *s, ds_state *st)
{
    if (!ds_state_has_cond(s))
        return DS_OK;
    const size_t nn = s->n_nodes + (s->has_tail ? 1u : 0u), len = ds_cond_len(s);
    for (size_t j = 0; j < nn; ++j)
        if (!NODE_ROW(s, j)->crs)
            return DS_OK; /* monte_carlo, or continued from a version 5 state */
    const col_dims d_nc = {2, {"node", "cond_accumulator"}, {nn, len}};
    uint64_t *bn;
    double *v[DS_STATE_CRS_F64];
    const state_col count[] = {COL_U64(
        "node_cond_block_count", &d_nc, "1",
        "full blocks in the node (latin_hypercube ratio spreads, stats.h ds_rspread)", bn)};
    DS_TRY(add_cols(st, count, 1));
    for (int a = 0; a < DS_STATE_CRS_F64; ++a) {
        const state_col c[] = {COL_F64(ds_state_crs_name[a], &d_nc, "various", crs_desc[a], v[a])};
        DS_TRY(add_cols(st, c, 1));
    }
    for (size_t j = 0; j < nn; ++j) {
        const ds_rspread *r = NODE_ROW(s, j)->crs;
        for (size_t k = 0; k < len; ++k) {
            const size_t e = j * len + k;
            bn[e] = r[k].n;
            v[0][e] = r[k].ms, v[1][e] = r[k].mn, v[2][e] = r[k].mss;
            v[3][e] = r[k].mnn, v[4][e] = r[k].msn;
        }
    }
    return DS_OK;
}
