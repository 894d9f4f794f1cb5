/* sim/stats/state_import.c
 * The fully validating import of a saved state (ds_stats_import, stats.h):
 * the arrays of each part fetched in the export's table order
 * (state_internal.h), then every value checked with its own rule.
 * Licence: see LICENSE at the top of the repository.
 *
 * What must stay true (see also state.c): import trusts nothing but the
 * ds_state invariant itself (data holds prod(dims) elements of the array's
 * kind, which ds_state_add and the HDF5 reader guarantee): every length,
 * index, level, count and span is checked before it is used, with 64-bit
 * overflow checks, so a damaged or hostile file gives DS_ERR_FORMAT and a
 * message, never a crash; import of export is the identity on everything
 * mergeable (the round-trip tests compare bits).
 */
#include "state_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* The optional sensitivity records (export_inner); absent: no sensitivity
 * (the nodes keep sens NULL and the results have none). */
static ds_status import_sensitivity(const ds_state *in, ds_stats *s, ds_diag *diag);
static ds_status import_cond(const ds_state *in, ds_stats *s, ds_diag *diag);
/* The sampling method and the block spreads (version 4); the conditional
 * ratio spreads (version 6). */
static ds_status import_bspread(const ds_state *in, ds_stats *s, ds_diag *diag);
static ds_status import_crs(const ds_state *in, ds_stats *s, ds_diag *diag);

static void mo_get(const mo_cols_in *c, size_t e, ds_moments *m)
{
    m->n = c->n[e];
    m->nan = c->nan[e];
    m->posinf = c->posinf[e];
    m->neginf = c->neginf[e];
    m->mean = c->mean[e];
    m->m2 = c->m2[e];
    m->min = c->min[e];
    m->max = c->max[e];
}

/* ---------------------------------------------------------------- import */

#define ANY UINT64_MAX

/* The array `name` of kind k and rank r with dims d0, d1 (ANY: any length,
 * returned in *len0 / *len1). */
static ds_status need(const ds_state *in, const char *name, ds_state_kind k, size_t r,
                      uint64_t d0, uint64_t d1, const void **data, uint64_t *len0,
                      ds_diag *diag)
{
    const ds_state_array *a = ds_state_find(in, name);
    static const char *const kinds[] = {"uint64", "int64", "float64", "int32"};
    if (!a)
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "state: array %s is missing", name);
    if (a->kind != k || a->rank != r)
        return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                           "state: %s must be a rank-%zu %s array (found rank %zu)", name, r,
                           kinds[k], a->rank);
    uint64_t want[2] = {d0, d1};
    for (size_t i = 0; i < r; ++i)
        if (want[i] != ANY && a->dims[i] != want[i])
            return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0,
                               "state: %s has length %llu along dimension %zu, expected %llu",
                               name, (unsigned long long)a->dims[i], i,
                               (unsigned long long)want[i]);
    *data = a->data;
    if (len0)
        *len0 = r > 0 ? a->dims[0] : 1;
    return DS_OK;
}

static ds_status need_scalar(const ds_state *in, const char *name, uint64_t *v, ds_diag *diag)
{
    const void *p = NULL;
    DS_TRY(need(in, name, DS_STATE_U64, 0, 0, 0, &p, NULL, diag));
    *v = *(const uint64_t *)p;
    return DS_OK;
}

/* Fetches the arrays of a table in order (need: the first one missing or
 * of the wrong kind, rank or length is the error) and points each row's
 * slot at its data. */
static ds_status need_cols(const ds_state *in, const state_col *c, size_t n, ds_diag *diag)
{
    for (size_t k = 0; k < n; ++k) {
        const void *p = NULL;
        const col_dims *d = c[k].dims;
        DS_TRY(need(in, c[k].name, c[k].kind, d->rank, d->len[0], d->len[1], &p, NULL, diag));
        if (c[k].kind == DS_STATE_U64)
            *(const uint64_t **)c[k].slot = p;
        else if (c[k].kind == DS_STATE_F64)
            *(const double **)c[k].slot = p;
        else
            *(const int32_t **)c[k].slot = p;
    }
    return DS_OK;
}

static ds_status need_moments(const ds_state *in, const mo_names *nm, const col_dims *d,
                              mo_cols_in *c, ds_diag *diag)
{
    const char *const *a = nm->name;
    const state_col t[] = {IN_U64(a[0], d, c->n),      IN_U64(a[1], d, c->nan),
                           IN_U64(a[2], d, c->posinf), IN_U64(a[3], d, c->neginf),
                           IN_F64(a[4], d, c->mean),   IN_F64(a[5], d, c->m2),
                           IN_F64(a[6], d, c->min),    IN_F64(a[7], d, c->max)};
    return need_cols(in, t, N_COLS(t), diag);
}

#define BAD(...) return ds_diag_set(diag, DS_ERR_FORMAT, NULL, 0, 0, "state: " __VA_ARGS__)

/* a + b into *sum; 0 on overflow. */
static int add_ok(uint64_t a, uint64_t b, uint64_t *sum)
{
    if (a > UINT64_MAX - b)
        return 0;
    *sum = a + b;
    return 1;
}

static ds_status import_nodes(const ds_state *in, ds_stats *s, int has_tail, ds_diag *diag)
{
    const uint64_t na = ds_stats_n_accumulators(s);
    const uint64_t *lv, *ix, *tr, *co, *cc, *ot, *cm, *ct;
    const double *os, *cs;
    mo_cols_in mo;
    uint64_t nn, nc;
    const void *p = NULL;
    DS_TRY(need(in, "node_level", DS_STATE_U64, 1, ANY, 0, &p, &nn, diag));
    lv = p;
    const col_dims d_n = {1, {NULL}, {nn}}, d_na = {2, {NULL}, {nn, na}};
    const state_col nodes[] = {
        IN_U64("node_index", &d_n, ix),           IN_U64("node_trials", &d_n, tr),
        IN_U64("node_coalition_offset", &d_n, co), IN_U64("node_coalition_count", &d_n, cc),
        IN_U64("node_other_trials", &d_n, ot),     IN_F64("node_other_sum_total", &d_n, os)};
    DS_TRY(need_cols(in, nodes, N_COLS(nodes), diag));
    DS_TRY(need_moments(in, &ds_state_node_mo, &d_na, &mo, diag));
    DS_TRY(need(in, "node_coalition_mask", DS_STATE_U64, 1, ANY, 0, &p, &nc, diag));
    cm = p;
    const col_dims d_c = {1, {NULL}, {nc}};
    const state_col coal[] = {IN_U64("node_coalition_trials", &d_c, ct),
                              IN_F64("node_coalition_sum_total", &d_c, cs)};
    DS_TRY(need_cols(in, coal, N_COLS(coal), diag));
    if (nn > 128)
        BAD("%llu forest nodes; a canonical forest has at most 128",
            (unsigned long long)nn);
    if (has_tail && (nn == 0 || lv[nn - 1] != 0 || tr[nn - 1] == 0 ||
                     tr[nn - 1] >= s->block_size))
        BAD("the tail (last node row) must be one block of 1 to %llu trials",
            (unsigned long long)(s->block_size - 1));
    /* Structure first: levels, indices, order, overlaps, canonical form,
     * coverage of `blocks` and `trials`. */
    uint64_t blocks = 0, trials = 0, rows = 0;
    for (uint64_t j = 0; j < nn; ++j) {
        if (lv[j] > 62)
            BAD("node %llu: level %llu is beyond 62", (unsigned long long)j,
                (unsigned long long)lv[j]);
        if (ix[j] >= (UINT64_MAX >> 1) >> lv[j])
            BAD("node %llu: index %llu at level %llu is beyond the block range",
                (unsigned long long)j, (unsigned long long)ix[j], (unsigned long long)lv[j]);
        ds_stats_node a;
        memset(&a, 0, sizeof a);
        a.level = (uint32_t)lv[j];
        a.index = ix[j];
        if (j > 0) {
            ds_stats_node b;
            memset(&b, 0, sizeof b);
            b.level = (uint32_t)lv[j - 1];
            b.index = ix[j - 1];
            if (ds_stats_node_first(&a) <= ds_stats_node_last(&b))
                BAD("node %llu overlaps or precedes node %llu (nodes must be sorted and "
                    "disjoint)",
                    (unsigned long long)j, (unsigned long long)(j - 1));
            if (!(has_tail && j == nn - 1) && lv[j] == lv[j - 1] && (ix[j] ^ 1u) == ix[j - 1])
                BAD("nodes %llu and %llu are siblings (not carried)",
                    (unsigned long long)(j - 1), (unsigned long long)j);
        }
        if (!add_ok(blocks, UINT64_C(1) << lv[j], &blocks) || !add_ok(trials, tr[j], &trials))
            BAD("node %llu: block or trial count overflows", (unsigned long long)j);
        if (co[j] != rows || cc[j] > nc - rows)
            BAD("node %llu: coalitions [%llu, +%llu) are not the next rows of %llu",
                (unsigned long long)j, (unsigned long long)co[j], (unsigned long long)cc[j],
                (unsigned long long)nc);
        rows += cc[j];
        uint64_t seen = ot[j];
        if (!s->coal_pooled && ot[j] != 0)
            BAD("node %llu: %llu pooled trials, but every mask is tracked", (unsigned long long)j,
                (unsigned long long)ot[j]);
        for (uint64_t c = co[j]; c < co[j] + cc[j]; ++c) {
            if (ct[c] == 0 || (c > co[j] && cm[c] <= cm[c - 1]) ||
                (s->n_investors < 64 && cm[c] >> s->n_investors) || !add_ok(seen, ct[c], &seen) ||
                !ds_stats_coal_is_tracked(s, cm[c]))
                BAD("node %llu: coalition row %llu is empty, out of order, not a join mask or "
                    "not tracked",
                    (unsigned long long)j, (unsigned long long)c);
        }
        if (seen != tr[j])
            BAD("node %llu: coalitions count %llu trials, the node %llu", (unsigned long long)j,
                (unsigned long long)seen, (unsigned long long)tr[j]);
        for (uint64_t k = 0; k < na; ++k) {
            const uint64_t e = j * na + k;
            uint64_t sum;
            if (!add_ok(mo.n[e], mo.nan[e], &sum) || !add_ok(sum, mo.posinf[e], &sum) ||
                !add_ok(sum, mo.neginf[e], &sum) || sum != tr[j])
                BAD("node %llu, accumulator %llu: %llu finite + %llu NaN (+ infinite) values, not "
                    "the node's "
                    "%llu trials",
                    (unsigned long long)j, (unsigned long long)k, (unsigned long long)mo.n[e],
                    (unsigned long long)mo.nan[e], (unsigned long long)tr[j]);
            if (mo.n[e] > 0 && !(mo.min[e] <= mo.max[e]))
                BAD("node %llu, accumulator %llu: min > max", (unsigned long long)j,
                    (unsigned long long)k);
        }
    }
    if (rows != nc)
        BAD("%llu coalition rows, the nodes use %llu", (unsigned long long)nc,
            (unsigned long long)rows);
    /* The tail follows every forest node (the sort check above); in a
     * partial accumulator (one rank's, one thread's) blocks between them may
     * be elsewhere, so only finalize demands that it be block blocks - 1. */
    for (uint64_t j = 0; j + (has_tail ? 1u : 0u) < nn; ++j)
        if (tr[j] != s->block_size << lv[j])
            BAD("node %llu holds %llu trials, not full blocks", (unsigned long long)j,
                (unsigned long long)tr[j]);
    if (blocks != s->blocks || trials != s->trials)
        BAD("the nodes hold %llu blocks and %llu trials, the state says %llu and %llu",
            (unsigned long long)blocks, (unsigned long long)trials,
            (unsigned long long)s->blocks, (unsigned long long)s->trials);
    /* Build. */
    DS_TRY(ds_stats_reserve_nodes(s, (size_t)nn));
    for (uint64_t j = 0; j < nn; ++j) {
        const int is_tail = has_tail && j == nn - 1;
        ds_stats_node *nd = is_tail ? &s->tail : &s->nodes[j];
        DS_TRY(ds_stats_node_alloc(s, (size_t)cc[j], nd));
        if (is_tail)
            s->has_tail = 1;
        else
            s->n_nodes = (size_t)j + 1;
        nd->level = (uint32_t)lv[j];
        nd->index = ix[j];
        nd->trials = tr[j];
        for (uint64_t k = 0; k < na; ++k)
            mo_get(&mo, j * na + k, &nd->mo[k]);
        for (uint64_t c = 0; c < cc[j]; ++c) {
            nd->coal[c].mask = cm[co[j] + c];
            nd->coal[c].count = ct[co[j] + c];
            nd->coal[c].sum_total = cs[co[j] + c];
        }
        nd->n_coal = (size_t)cc[j];
        nd->other_count = ot[j];
        nd->other_sum = os[j];
    }
    return DS_OK;
}

static ds_status import_checkpoints(const ds_state *in, ds_stats *s, ds_diag *diag)
{
    const void *p = NULL;
    uint64_t nk;
    const uint64_t no = s->n_outputs;
    DS_TRY(need(in, "checkpoint_blocks", DS_STATE_U64, 1, ANY, 0, &p, &nk, diag));
    const uint64_t *kb = p;
    const uint64_t *kt;
    const double *km, *ks;
    const col_dims d_k = {1, {NULL}, {nk}}, d_ko = {2, {NULL}, {nk, no}};
    const state_col cps[] = {IN_U64("checkpoint_trials", &d_k, kt),
                             IN_F64("checkpoint_mean", &d_ko, km),
                             IN_F64("checkpoint_stderr", &d_ko, ks)};
    DS_TRY(need_cols(in, cps, N_COLS(cps), diag));
    /* Exactly the checkpoints of the node (L, 0) holding block 0 and of its
     * left spine: blocks 1, 2, ..., 2^L. */
    const ds_stats_node *first = s->n_nodes > 0 && s->nodes[0].index == 0 ? &s->nodes[0] : NULL;
    uint64_t want = first ? (uint64_t)first->level + 1 : 0;
    if (nk != want)
        BAD("%llu checkpoints; the forest implies %llu", (unsigned long long)nk,
            (unsigned long long)want);
    DS_TRY(ds_stats_reserve_cps(s, (size_t)nk));
    for (uint64_t k = 0; k < nk; ++k) {
        if (kb[k] != UINT64_C(1) << k || kt[k] > s->trials || (k > 0 && kt[k] <= kt[k - 1]))
            BAD("checkpoint %llu: %llu blocks, %llu trials (expected 2^%llu blocks, trials "
                "increasing)",
                (unsigned long long)k, (unsigned long long)kb[k], (unsigned long long)kt[k],
                (unsigned long long)k);
        ds_checkpoint *cp = &s->node_cps[k];
        cp->blocks = kb[k];
        cp->trials = kt[k];
        for (size_t o = 0; o < DS_OUT_COUNT; ++o) {
            cp->mean[o] = o < no ? km[k * no + o] : (double)NAN;
            cp->stderr_[o] = o < no ? ks[k * no + o] : (double)NAN;
        }
    }
    if (first && (kt[nk - 1] != first->trials ||
                  (no > 0 && memcmp(&km[(nk - 1) * no], &first->mo[0].mean, sizeof(double)))))
        BAD("the last checkpoint is not the value of node (%u, 0)", first->level);
    s->n_node_cps = (size_t)nk;
    return DS_OK;
}

static ds_status import_sketches(const ds_state *in, ds_stats *s, ds_diag *diag)
{
    const uint64_t ns = ds_state_n_sketches(s);
    const void *p = NULL;
    uint64_t nb;
    const uint64_t *sc, *sz, *spl, *spo, *snl, *sno, *spc, *snc, *bc, *jc;
    const int32_t *splo, *snlo, *spf, *snf;
    const col_dims d_s = {1, {NULL}, {ns}};
    const state_col rows[] = {
        IN_U64("sketch_count", &d_s, sc),          IN_U64("sketch_zero", &d_s, sz),
        IN_I32("sketch_pos_lo", &d_s, splo),       IN_U64("sketch_pos_len", &d_s, spl),
        IN_U64("sketch_pos_offset", &d_s, spo),    IN_I32("sketch_neg_lo", &d_s, snlo),
        IN_U64("sketch_neg_len", &d_s, snl),       IN_U64("sketch_neg_offset", &d_s, sno),
        IN_I32("sketch_pos_floor", &d_s, spf),     IN_I32("sketch_neg_floor", &d_s, snf),
        IN_U64("sketch_pos_collapsed", &d_s, spc), IN_U64("sketch_neg_collapsed", &d_s, snc)};
    DS_TRY(need_cols(in, rows, N_COLS(rows), diag));
    DS_TRY(need(in, "bucket_counts", DS_STATE_U64, 1, ANY, 0, &p, &nb, diag));
    bc = p;
    DS_TRY(need(in, "join_count", DS_STATE_U64, 1, s->n_investors, 0, &p, NULL, diag));
    jc = p;
    for (size_t i = 0; i < s->n_investors; ++i) {
        if (jc[i] > s->trials)
            BAD("join_count of investor %zu exceeds the trials", i);
        s->inv_joined[i] = jc[i];
    }
    for (uint64_t j = 0; j < ns; ++j) {
        ds_sketch *sk = ds_state_sketch_row(s, (size_t)j);
        uint64_t total = sz[j];
        for (int neg = 0; neg < 2; ++neg) {
            const int32_t lo = (neg ? snlo : splo)[j], fl = (neg ? snf : spf)[j];
            const uint64_t len = (neg ? snl : spl)[j], off = (neg ? sno : spo)[j];
            const uint64_t coll = (neg ? snc : spc)[j];
            if (fl < DS_SKETCH_KEY_MIN || fl > DS_SKETCH_KEY_MAX ||
                (len > 0 && (lo < fl || len > DS_SKETCH_MAX_BUCKETS)) ||
                (coll > 0 && (len == 0 || lo != fl || off >= nb || bc[off] < coll)))
                BAD("sketch %llu: floor %d, %llu collapsed values and the bucket span (key "
                    "%d, %llu buckets) disagree",
                    (unsigned long long)j, (int)fl, (unsigned long long)coll, (int)lo,
                    (unsigned long long)len);
            if (neg) {
                sk->neg_floor = fl;
                sk->neg_collapsed = coll;
            } else {
                sk->pos_floor = fl;
                sk->pos_collapsed = coll;
            }
            if (len == 0)
                continue;
            if (off > nb || len > nb - off || lo < DS_SKETCH_KEY_MIN ||
                lo > DS_SKETCH_KEY_MAX || len > (uint64_t)(DS_SKETCH_KEY_MAX - lo) + 1)
                BAD("sketch %llu: bucket span (key %d, %llu buckets at %llu) is outside the "
                    "keys or bucket_counts",
                    (unsigned long long)j, (int)lo, (unsigned long long)len,
                    (unsigned long long)off);
            for (uint64_t b = 0; b < len; ++b)
                if (!add_ok(total, bc[off + b], &total))
                    BAD("sketch %llu: bucket counts overflow", (unsigned long long)j);
            DS_TRY(ds_stats_sketch_cover(sk, neg, lo, lo + (int32_t)(len - 1)));
            uint64_t *dst = neg ? sk->neg : sk->pos;
            const int32_t base = neg ? sk->neg_lo : sk->pos_lo;
            memcpy(dst + (lo - base), bc + off, (size_t)len * sizeof *dst);
        }
        if (total != sc[j])
            BAD("sketch %llu: buckets hold %llu values, sketch_count says %llu",
                (unsigned long long)j, (unsigned long long)total, (unsigned long long)sc[j]);
        sk->count = sc[j];
        sk->zero = sz[j];
    }
    return DS_OK;
}

/* The optional conditional state (export_cond); absent: none (the nodes
 * keep cond NULL and the results have none).  Checked: every record of a
 * condition counts the same trials, at most the node's; an investor's
 * records count its joins; coalition extras at most the row's trials. */
static ds_status import_cond(const ds_state *in, ds_stats *s, ds_diag *diag)
{
    if (!ds_state_find(in, "conditional_conditions"))
        return DS_OK;
    uint64_t nconds;
    DS_TRY(need_scalar(in, "conditional_conditions", &nconds, diag));
    if (nconds != DS_COND_BOOLS + (uint64_t)s->n_investors)
        BAD("conditional_conditions %llu, the shape has %zu", (unsigned long long)nconds,
            ds_cond_n_conditions(s));
    const uint64_t nn = s->n_nodes + (s->has_tail ? 1u : 0u), len = ds_cond_len(s);
    const size_t no = s->n_outputs;
    uint64_t nc = 0;
    for (uint64_t j = 0; j < nn; ++j)
        nc += NODE_ROW(s, j)->n_coal;
    const void *p = NULL;
    const uint64_t *cc, *ct, *oc, *ot;
    const double *cm, *om;
    mo_cols_in mo;
    const col_dims d_nc = {2, {NULL}, {nn, len}};
    const col_dims d_c = {1, {NULL}, {nc}}, d_n = {1, {NULL}, {nn}};
    DS_TRY(need_moments(in, &ds_state_cond_mo, &d_nc, &mo, diag));
    /* Short names for the checks below. */
    const uint64_t *n = mo.n, *nan = mo.nan, *pi = mo.posinf, *ni = mo.neginf;
    const double *mn = mo.min, *mx = mo.max;
    const state_col extras[] = {
        IN_U64("node_coalition_closed", &d_c, cc), IN_U64("node_coalition_target_met", &d_c, ct),
        IN_F64("node_coalition_m2_total", &d_c, cm), IN_U64("node_other_closed", &d_n, oc),
        IN_U64("node_other_target_met", &d_n, ot),   IN_F64("node_other_m2_total", &d_n, om)};
    DS_TRY(need_cols(in, extras, N_COLS(extras), diag));
    uint64_t r = 0;
    for (uint64_t j = 0; j < nn; ++j) {
        const ds_stats_node *nd = NODE_ROW(s, j);
        /* Trials under condition c: the same for every record of c. */
        for (uint64_t k = 0; k < len; ++k) {
            const uint64_t e = j * len + k;
            uint64_t sum, c = k < nconds * no ? k / no : DS_COND_BOOLS + (k - nconds * no) / 3;
            uint64_t first = j * len + c * no;
            if (!add_ok(n[e], nan[e], &sum) || !add_ok(sum, pi[e], &sum) ||
                !add_ok(sum, ni[e], &sum) || sum > nd->trials)
                BAD("node %llu, conditional record %llu counts more values than trials",
                    (unsigned long long)j, (unsigned long long)k);
            /* The stake records are empty without a valuation. */
            const int empty_ok = k >= nconds * no && (k - nconds * no) % 3 == 2 &&
                                 no < DS_OUT_COUNT;
            if (no > 0 && sum != n[first] + nan[first] + pi[first] + ni[first] &&
                !(empty_ok && sum == 0))
                BAD("node %llu, conditional record %llu: %llu values, its condition %llu",
                    (unsigned long long)j, (unsigned long long)k, (unsigned long long)sum,
                    (unsigned long long)(n[first] + nan[first] + pi[first] + ni[first]));
            if (n[e] > 0 && !(mn[e] <= mx[e]))
                BAD("node %llu, conditional record %llu: min > max", (unsigned long long)j,
                    (unsigned long long)k);
        }
        for (size_t c = 0; c < nd->n_coal; ++c, ++r)
            if (cc[r] > nd->coal[c].count || ct[r] > nd->coal[c].count)
                BAD("node %llu: coalition row %llu has more closed or target-met trials than "
                    "trials",
                    (unsigned long long)j, (unsigned long long)r);
        if (oc[j] > nd->other_count || ot[j] > nd->other_count)
            BAD("node %llu: the pooled row has more closed or target-met trials than trials",
                (unsigned long long)j);
    }
    uint64_t nm;
    DS_TRY(need(in, "coalition_sketch_mask", DS_STATE_U64, 1, ANY, 0, &p, &nm, diag));
    const uint64_t *mv = p;
    if (nm > DS_COND_COAL_SKETCHES)
        BAD("%llu coalition sketches, at most %d", (unsigned long long)nm,
            DS_COND_COAL_SKETCHES);
    for (uint64_t k = 0; k < nm; ++k)
        if ((k > 0 && mv[k] <= mv[k - 1]) || (s->n_investors < 64 && mv[k] >> s->n_investors))
            BAD("coalition_sketch_mask[%llu] is out of order or not a join mask",
                (unsigned long long)k);
    DS_TRY(ds_cond_setup(s));
    DS_TRY(ds_cond_set_coal_masks(s, mv, (size_t)nm, 1));
    r = 0;
    for (uint64_t j = 0; j < nn; ++j) {
        ds_stats_node *nd = NODE_ROW(s, j);
        if (!(nd->cond = malloc((len + 1) * sizeof *nd->cond)))
            return DS_ERR_NOMEM;
        for (uint64_t k = 0; k < len; ++k)
            mo_get(&mo, j * len + k, &nd->cond[k]);
        for (size_t c = 0; c < nd->n_coal; ++c, ++r) {
            nd->coal[c].closed = cc[r];
            nd->coal[c].target_met = ct[r];
            nd->coal[c].m2_total = cm[r];
        }
        nd->other_closed = oc[j];
        nd->other_target_met = ot[j];
        nd->other_m2 = om[j];
    }
    return DS_OK;
}

/* The coalition tracking rule: pooled exactly when the shape says so, the
 * tracked masks strictly increasing join masks, at most DS_COAL_MAX_TRACKED. */
static ds_status import_tracked(const ds_state *in, ds_stats *s, ds_diag *diag)
{
    uint64_t pooled, nt;
    const void *p = NULL;
    DS_TRY(need_scalar(in, "coalition_pooled", &pooled, diag));
    DS_TRY(need(in, "coalition_tracked", DS_STATE_U64, 1, ANY, 0, &p, &nt, diag));
    const uint64_t *tv = p;
    if (pooled != (uint64_t)(s->coal_pooled != 0) || (!pooled && nt != 0) ||
        nt > DS_COAL_MAX_TRACKED)
        BAD("coalition_pooled %llu with %llu tracked masks does not fit %zu investors",
            (unsigned long long)pooled, (unsigned long long)nt, s->n_investors);
    for (uint64_t k = 0; k < nt; ++k)
        if ((k > 0 && tv[k] <= tv[k - 1]) || (s->n_investors < 64 && tv[k] >> s->n_investors))
            BAD("coalition_tracked[%llu] is out of order or not a join mask",
                (unsigned long long)k);
    if (pooled)
        return ds_stats_set_tracked(s, tv, (size_t)nt);
    return DS_OK;
}

ds_status ds_stats_import(const ds_stats_shape *shape, const ds_state *in, ds_stats **out,
                          ds_diag *diag)
{
    *out = NULL;
    if (in->version < DS_STATS_STATE_VERSION_MIN || in->version > DS_STATS_STATE_VERSION)
        BAD("version %u, this build reads versions %d to %d", (unsigned)in->version,
            DS_STATS_STATE_VERSION_MIN, DS_STATS_STATE_VERSION);
    uint64_t no, ni, h, trials, blocks, bsize, tail;
    DS_TRY(need_scalar(in, "n_outputs", &no, diag));
    DS_TRY(need_scalar(in, "n_investors", &ni, diag));
    DS_TRY(need_scalar(in, "horizon", &h, diag));
    DS_TRY(need_scalar(in, "trials", &trials, diag));
    DS_TRY(need_scalar(in, "blocks", &blocks, diag));
    DS_TRY(need_scalar(in, "block_size", &bsize, diag));
    DS_TRY(need_scalar(in, "tail", &tail, diag));
    if (tail > 1 || bsize == 0 || bsize > ((uint64_t)1 << 32))
        BAD("tail %llu or block_size %llu is not valid", (unsigned long long)tail,
            (unsigned long long)bsize);
    if (no > DS_OUT_COUNT || ni > DS_MAX_INVESTORS || h > DS_MAX_HORIZON)
        BAD("shape (%llu outputs, %llu investors, %llu months) is beyond the limits",
            (unsigned long long)no, (unsigned long long)ni, (unsigned long long)h);
    if (shape && (shape->n_outputs != no || shape->n_investors != ni || shape->horizon != h))
        BAD("shape (%llu outputs, %llu investors, %llu months) differs from the model's "
            "(%zu, %zu, %zu)",
            (unsigned long long)no, (unsigned long long)ni, (unsigned long long)h,
            shape->n_outputs, shape->n_investors, shape->horizon);
    ds_stats *s = ds_stats_alloc_shape((size_t)no, (size_t)ni, (size_t)h);
    if (!s)
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory (importing state)");
    ds_status st = import_tracked(in, s, diag);
    s->trials = trials;
    s->blocks = blocks;
    s->block_size = bsize;
    if (st == DS_OK)
        st = import_nodes(in, s, (int)tail, diag);
    if (st == DS_OK && in->version >= 5)
        st = import_cond(in, s, diag);
    if (st == DS_OK)
        st = import_checkpoints(in, s, diag);
    if (st == DS_OK)
        st = import_sketches(in, s, diag);
    if (st == DS_OK)
        st = import_sensitivity(in, s, diag);
    if (st == DS_OK)
        st = import_bspread(in, s, diag);
    if (st == DS_OK)
        st = import_crs(in, s, diag);
    if (st != DS_OK) {
        if (st == DS_ERR_NOMEM)
            ds_diag_set(diag, st, NULL, 0, 0, "out of memory (importing state)");
        ds_stats_free(s);
        return st;
    }
    *out = s;
    return DS_OK;
}

static ds_status import_sensitivity(const ds_state *in, ds_stats *s, ds_diag *diag)
{
    const ds_state_array *a = ds_state_find(in, "node_sensitivity");
    if (!a)
        return DS_OK;
    uint64_t k;
    DS_TRY(need_scalar(in, "sensitivity_inputs", &k, diag));
    const uint64_t nn = s->n_nodes + (s->has_tail ? 1u : 0u);
    if (k == 0 || k > 65536)
        BAD("sensitivity_inputs %llu is not valid", (unsigned long long)k);
    const size_t len = ds_sens_len((size_t)k, s->n_outputs);
    if (a->kind != DS_STATE_F64 || a->rank != 2 || a->dims[0] != nn || a->dims[1] != len)
        BAD("node_sensitivity is not a float64 [%llu, %zu] array", (unsigned long long)nn, len);
    s->sens_k = (size_t)k;
    s->sens_view = malloc(len * sizeof *s->sens_view);
    if (!s->sens_view)
        return DS_ERR_NOMEM;
    const double *v = a->data;
    for (uint64_t j = 0; j < nn; ++j) {
        ds_stats_node *nd = NODE_ROW(s, j);
        nd->sens = malloc(len * sizeof *nd->sens);
        if (!nd->sens)
            return DS_ERR_NOMEM;
        memcpy(nd->sens, v + j * len, len * sizeof *nd->sens);
    }
    return DS_OK;
}

static ds_status import_bspread(const ds_state *in, ds_stats *s, ds_diag *diag)
{
    uint64_t m = 0;
    if (ds_state_find(in, "sampling")) {
        DS_TRY(need_scalar(in, "sampling", &m, diag));
        if (m > 1)
            BAD("sampling %llu is neither 0 (monte_carlo) nor 1 (latin_hypercube)",
                (unsigned long long)m);
    }
    s->sampling = (int)m;
    const ds_state_array *a = ds_state_find(in, "node_block_count");
    if (!a) {
        if (ds_state_find(in, "node_block_mean") || ds_state_find(in, "node_block_m2"))
            BAD("node_block_mean or node_block_m2 without node_block_count");
        return DS_OK; /* no block spreads (a version-3 state) */
    }
    const uint64_t nn = s->n_nodes + (s->has_tail ? 1u : 0u), no = s->n_outputs;
    const uint64_t *bn;
    const double *bm, *b2;
    const col_dims d_no = {2, {NULL}, {nn, no}};
    const state_col t[] = {IN_U64("node_block_count", &d_no, bn),
                           IN_F64("node_block_mean", &d_no, bm),
                           IN_F64("node_block_m2", &d_no, b2)};
    DS_TRY(need_cols(in, t, N_COLS(t), diag));
    for (uint64_t j = 0; j < nn; ++j) {
        ds_stats_node *nd = NODE_ROW(s, j);
        const int is_tail = j >= s->n_nodes;
        /* A node of level l holds 2^l full blocks at most; the tail none. */
        const uint64_t most = is_tail ? 0 : (UINT64_C(1) << nd->level);
        for (uint64_t o = 0; o < no; ++o) {
            const uint64_t n = bn[j * no + o];
            const double mean = bm[j * no + o], m2 = b2[j * no + o];
            if (n > most)
                BAD("node_block_count[%llu][%llu] = %llu exceeds the node's %llu full blocks",
                    (unsigned long long)j, (unsigned long long)o, (unsigned long long)n,
                    (unsigned long long)most);
            if (n == 0 ? !(mean == 0.0 && m2 == 0.0)
                       : !(isfinite(mean) && isfinite(m2) && m2 >= 0.0 && (n > 1 || m2 == 0.0)))
                BAD("node_block_mean/m2[%llu][%llu] (%g, %g) are not valid for %llu blocks",
                    (unsigned long long)j, (unsigned long long)o, mean, m2,
                    (unsigned long long)n);
            nd->bsp[o].n = n;
            nd->bsp[o].mean = mean;
            nd->bsp[o].m2 = m2;
        }
        nd->has_bsp = 1;
    }
    return DS_OK;
}

static ds_status import_crs(const ds_state *in, ds_stats *s, ds_diag *diag)
{
    if (!ds_state_find(in, "node_cond_block_count")) {
        for (int a = 0; a < DS_STATE_CRS_F64; ++a)
            if (ds_state_find(in, ds_state_crs_name[a]))
                BAD("%s without node_cond_block_count", ds_state_crs_name[a]);
        return DS_OK; /* monte_carlo, or a version 5 state */
    }
    if (!ds_state_has_cond(s) || s->sampling != DS_SAMPLING_LATIN_HYPERCUBE)
        BAD("node_cond_block_count without conditional moments under latin_hypercube");
    const uint64_t nn = s->n_nodes + (s->has_tail ? 1u : 0u), len = ds_cond_len(s);
    const uint64_t *bn;
    const double *v[DS_STATE_CRS_F64];
    const col_dims d_nc = {2, {NULL}, {nn, len}};
    const state_col count[] = {IN_U64("node_cond_block_count", &d_nc, bn)};
    DS_TRY(need_cols(in, count, 1, diag));
    for (int a = 0; a < DS_STATE_CRS_F64; ++a) {
        const state_col c[] = {IN_F64(ds_state_crs_name[a], &d_nc, v[a])};
        DS_TRY(need_cols(in, c, 1, diag));
    }
    const double bsize = (double)s->block_size;
    for (uint64_t j = 0; j < nn; ++j) {
        ds_stats_node *nd = NODE_ROW(s, j);
        const uint64_t most = j >= s->n_nodes ? 0 : (UINT64_C(1) << nd->level);
        if (!(nd->crs = malloc((len + 1) * sizeof *nd->crs)))
            return DS_ERR_NOMEM;
        for (uint64_t k = 0; k < len; ++k) {
            const uint64_t e = j * len + k, n = bn[e];
            const double ms = v[0][e], mn = v[1][e], mss = v[2][e], mnn = v[3][e],
                         msn = v[4][e];
            if (n > most)
                BAD("node_cond_block_count[%llu][%llu] = %llu exceeds the node's %llu full "
                    "blocks",
                    (unsigned long long)j, (unsigned long long)k, (unsigned long long)n,
                    (unsigned long long)most);
            int ok;
            if (n == 0)
                ok = ms == 0.0 && mn == 0.0 && mss == 0.0 && mnn == 0.0 && msn == 0.0;
            else
                ok = isfinite(ms) && mn >= 0.0 && mn <= bsize && isfinite(mss) && mss >= 0.0 &&
                     isfinite(mnn) && mnn >= 0.0 && isfinite(msn) &&
                     (n > 1 || (mss == 0.0 && mnn == 0.0 && msn == 0.0));
            if (!ok)
                BAD("the ratio spread [%llu][%llu] (%g, %g, %g, %g, %g) is not valid for %llu "
                    "blocks",
                    (unsigned long long)j, (unsigned long long)k, ms, mn, mss, mnn, msn,
                    (unsigned long long)n);
            nd->crs[k] = (ds_rspread){n, ms, mn, mss, mnn, msn};
        }
    }
    return DS_OK;
}
