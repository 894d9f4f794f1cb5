/* sim/io/h5state.c
 * The /state group: the mergeable state of every summary, written
 * generically from ds_stats_export's named arrays (stats.h) so that this
 * file knows nothing of the accumulators' internals.
 * Licence: see LICENSE at the top of the repository.
 *
 * Every array becomes a dataset of the same name with its units and
 * long_name; every dimension a dimension scale (string labels for output,
 * investor, accumulator and sketch; 0..n-1 otherwise), so the group opens
 * with xarray (h5netcdf).  ds_h5_read_state (h5read.c) reads it back.
 */
#define _POSIX_C_SOURCE 200809L

#include "h5_internal.h"

/* ---------------------------------------------------------------- /state */

#define DS_H5_STATE_DESCRIPTION                                                                  \
    "Mergeable state of every summary (stats.h, state_version), enough to resume, extend or "    \
    "merge runs bit-identically. The floating state is a forest of merge-tree nodes: node "      \
    "(node_level l, node_index k) covers blocks [k 2^l, (k+1) 2^l); per node and accumulator "  \
    "(output/<name>, amount/<investor>, paid/<investor>, stake/<investor> with a valuation, "   \
    "price/<month>) node_n, node_nan, node_mean, node_m2, node_min, node_max; the node's "      \
    "coalitions are rows [node_coalition_offset, +node_coalition_count) of node_coalition_*. " \
    "Checkpoints: nodes (k, 0), 2^k blocks. Sketches: one row per sketch (output/<name>, "      \
    "amount/<investor>, paid/<investor>, price/<month>); counts of positive values in log "     \
    "bucket k = pos_lo + j are bucket_counts[pos_offset + j], j < pos_len; negative values "    \
    "likewise with neg_*; zero counts |x| < sketch_min_abs; gamma = (1 + a) / (1 - a), a = "    \
    "sketch_relative_accuracy. join_count: trials each investor joined. With the conditional " \
    "summaries (state version 4, output.conditional): node_cond_* per node and conditional "   \
    "record ([condition][output], conditions closed, target_met, joined.<investor>; then "     \
    "[investor][amount, paid, stake] given it joins), node_coalition_closed, "                 \
    "node_coalition_target_met, node_coalition_m2_total, node_other_closed, "                  \
    "node_other_target_met, node_other_m2_total, coalition_sketch_mask, and sketch rows "     \
    "closed/output/<name>, target_met/output/<name>, coalition/<mask>/total."

/* Labels of the moment rows (stake only with a valuation) or, with
 * sketches set, of the sketch rows, into an arena. */
static ds_status ds_h5_state_labels(const ds_h5_sum *s, int sketches, const char ***out,
                                    size_t *n_out, char **arena_out, ds_diag *diag)
{
    size_t groups = s->w->valuation && !sketches ? 3 : 2;
    /* Sketch rows: then the conditional ones, when the state has them
     * (the caller uses the first s->no + 2 ni + nh labels otherwise). */
    const size_t ncond = sketches ? DS_COND_SKETCHED * s->no + s->st->n_coal_sk : 0;
    size_t n = s->no + groups * s->ni + s->nh + ncond;
    size_t cap = 0, pos = 0, k = 0;
    for (size_t o = 0; o < s->no; o++)
        cap += (1u + (sketches ? (size_t)DS_COND_SKETCHED : 0u)) *
               (strlen(s->out_names[o]) + sizeof "target_met/output/");
    for (size_t i = 0; i < s->ni; i++)
        cap += groups * (strlen(s->inv_names[i]) + sizeof "amount/");
    cap += s->nh * (sizeof "price/" + 20);
    if (sketches)
        cap += s->st->n_coal_sk * (sizeof "coalition//total" + 20);
    const char **labels = malloc((n ? n : 1) * sizeof *labels);
    char *arena = malloc(cap + 1);
    if (!labels || !arena) {
        free(labels);
        free(arena);
        return ds_diag_set(diag, DS_ERR_NOMEM, NULL, 0, 0, "out of memory writing /state");
    }
#define DS_H5_LABEL(...)                                                        \
    do {                                                                        \
        labels[k++] = arena + pos;                                              \
        pos += (size_t)snprintf(arena + pos, cap + 1 - pos, __VA_ARGS__) + 1;   \
    } while (0)
    for (size_t o = 0; o < s->no; o++)
        DS_H5_LABEL("output/%s", s->out_names[o]);
    for (size_t i = 0; i < s->ni; i++)
        DS_H5_LABEL("amount/%s", s->inv_names[i]);
    for (size_t i = 0; i < s->ni; i++)
        DS_H5_LABEL("paid/%s", s->inv_names[i]);
    if (groups == 3)
        for (size_t i = 0; i < s->ni; i++)
            DS_H5_LABEL("stake/%s", s->inv_names[i]);
    for (size_t m = 0; m < s->nh; m++)
        DS_H5_LABEL("price/%zu", m + 1);
    for (size_t c = 0; c < (sketches ? DS_COND_SKETCHED : 0); c++)
        for (size_t o = 0; o < s->no; o++)
            DS_H5_LABEL("%s/output/%s", c == 0 ? "closed" : "target_met", s->out_names[o]);
    for (size_t j = 0; sketches && j < s->st->n_coal_sk; j++)
        DS_H5_LABEL("coalition/%llu/total", (unsigned long long)s->st->coal_sk_mask[j]);
#undef DS_H5_LABEL
    *out = labels;
    *n_out = n;
    *arena_out = arena;
    return DS_OK;
}

static ds_h5_kind ds_h5_state_kind(ds_state_kind k)
{
    switch (k) {
    case DS_STATE_U64: return DS_H5_U64;
    case DS_STATE_I64: return DS_H5_I64;
    case DS_STATE_F64: return DS_H5_F64;
    case DS_STATE_I32: return DS_H5_I32;
    }
    return DS_H5_U64;
}

/* One dimension of /state: labelled where sim/io knows the labels and the
 * length agrees, an index otherwise. */
static void ds_h5_state_dim(ds_gw *g, const ds_h5_sum *s, const char *name, uint64_t len,
                            const char **mlab, size_t nm, const char **slab, size_t ns)
{
    if (strcmp(name, "output") == 0 && len == s->no)
        ds_h5_output_dim(g, s);
    else if (strcmp(name, "investor") == 0 && len == s->ni)
        ds_gw_dim(g, name, s->ni, DS_H5_STR, s->inv_names, "1", "investor name (file order)");
    else if (strcmp(name, "accumulator") == 0 && len == nm)
        ds_gw_dim(g, name, nm, DS_H5_STR, mlab, "1", "moment accumulator label");
    else if (strcmp(name, "sketch") == 0 &&
             (len == ns || len == ns - DS_COND_SKETCHED * s->no - s->st->n_coal_sk))
        ds_gw_dim(g, name, (size_t)len, DS_H5_STR, slab, "1", "quantile sketch label");
    else
        ds_gw_dim_index(g, name, (size_t)len, "index");
}

ds_status ds_h5_write_state(hid_t file, const ds_h5_sum *s, ds_diag *diag)
{
    ds_status st = DS_OK;
    ds_state *state = NULL;
    const char **mlab = NULL, **slab = NULL;
    char *marena = NULL, *sarena = NULL;
    size_t nm = 0, ns = 0;
    ds_gw g;

    if ((st = ds_stats_export(s->st, &state)) != DS_OK) {
        st = ds_diag_set(diag, st, NULL, 0, 0, "exporting the summaries' state for /state (%s)",
                         ds_status_name(st));
        goto done;
    }
    if ((st = ds_h5_state_labels(s, 0, &mlab, &nm, &marena, diag)) != DS_OK ||
        (st = ds_h5_state_labels(s, 1, &slab, &ns, &sarena, diag)) != DS_OK)
        goto done;

    ds_gw_open(&g, file, "/state", diag);
    ds_gw_attr_str(&g, NULL, "description", DS_H5_STATE_DESCRIPTION);
    ds_gw_attr_f64(&g, NULL, "sketch_relative_accuracy", DS_SKETCH_ALPHA);
    ds_gw_attr_f64(&g, NULL, "sketch_gamma", (1.0 + DS_SKETCH_ALPHA) / (1.0 - DS_SKETCH_ALPHA));
    ds_gw_attr_f64(&g, NULL, "sketch_min_abs", DS_SKETCH_MIN_ABS);
    if (g.st == DS_OK)
        g.st = ds_h5_attr_i32(g.group, "/state", "state_version", (int32_t)state->version, diag);
    /* Dimensions, in order of first use; one length each. */
    for (size_t k = 0; k < state->n && g.st == DS_OK; k++) {
        const ds_state_array *a = &state->a[k];
        for (size_t r = 0; r < a->rank && g.st == DS_OK; r++) {
            const char *dn = a->dim_names[r];
            size_t d = 0;
            while (d < g.n_dims && strcmp(g.dim[d].name, dn) != 0)
                d++;
            if (dn[0] == '\0' || (d < g.n_dims && g.dim[d].len != (hsize_t)a->dims[r]))
                g.st = ds_diag_set(diag, DS_ERR_INTERNAL, NULL, 0, 0,
                                   "/state: dimension '%s' of %s is unnamed or has two lengths",
                                   dn, a->name);
            else if (d == g.n_dims)
                ds_h5_state_dim(&g, s, dn, a->dims[r], mlab, nm, slab, ns);
        }
    }
    for (size_t k = 0; k < state->n; k++) {
        const ds_state_array *a = &state->a[k];
        const char *dims[DS_STATE_MAX_RANK] = {a->dim_names[0], a->dim_names[1]};
        ds_gw_var(&g, a->name, ds_h5_state_kind(a->kind), a->rank, dims, a->data,
                  a->units ? a->units : "1", a->long_name ? a->long_name : a->name);
    }
    st = ds_gw_close(&g);
done:
    ds_state_free(state);
    free(mlab);
    free(slab);
    free(marena);
    free(sarena);
    return st;
}
