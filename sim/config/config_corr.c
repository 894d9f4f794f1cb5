/* sim/config/config_corr.c
 * The correlations of a scenario: entries [A, B, rho] checked against the
 * named inputs, the correlation matrix R, its smallest eigenvalue and its
 * Cholesky factor for the Gaussian copula (MODEL.md section 2).
 * Licence: see LICENSE at the top of the repository.
 *
 * Invariants of a loaded scenario: corr_inputs lists, in input order, every
 * input that appears in some correlation; inputs[corr_inputs[k]].corr_index
 * == k; chol is the lower factor L of R (R = L L^T, row-major, zeros above
 * the diagonal); min_eigenvalue is R's smallest eigenvalue (1 with no
 * correlations).  R is rejected unless that eigenvalue exceeds
 * DS_CFG_MIN_EIGENVALUE.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

/* Smallest eigenvalue accepted.  Jacobi's eigenvalues are accurate to about
 * n * eps * ||R||_2 <= 256 * 2.2e-16 * 256 ~ 1.5e-11 for the largest allowed
 * R, so below 1e-10 a matrix cannot be told from a singular one, and its
 * Cholesky factor would amplify rounding in every trial. */
#define DS_CFG_MIN_EIGENVALUE 1e-10
/* Cyclic Jacobi converges quadratically; 60 sweeps is far more than any
 * matrix needs (under 15 for n = 256), kept as a hard stop. */
#define DS_CFG_JACOBI_MAX_SWEEPS 60

double ds_config_min_eigenvalue(double *a, size_t n)
{
    /* Cyclic Jacobi (Golub & Van Loan, Matrix Computations, 4th ed.,
     * Algorithms 8.5.2 and 8.5.3) with Rutishauser's safeguards (as in
     * Numerical Recipes' jacobi): in the first sweeps only entries above a
     * threshold are rotated, and an entry too small to change either diagonal
     * entry is set to zero rather than rotated.  Without the latter, rounding
     * noise of order eps keeps the off-diagonal mass from ever reaching zero
     * and every sweep up to the limit runs. */
    if (n == 0)
        return 1;
    for (int sweep = 0; sweep < DS_CFG_JACOBI_MAX_SWEEPS; ++sweep) {
        double off = 0;
        for (size_t p = 0; p < n; ++p)
            for (size_t q = p + 1; q < n; ++q)
                off += fabs(a[p * n + q]);
        if (off == 0)
            break;
        double thresh = sweep < 3 ? 0.2 * off / (double)(n * n) : 0;
        for (size_t p = 0; p < n; ++p) {
            for (size_t q = p + 1; q < n; ++q) {
                double apq = a[p * n + q], app = a[p * n + p], aqq = a[q * n + q];
                double g = 100 * fabs(apq);
                if (sweep > 3 && fabs(app) + g == fabs(app) && fabs(aqq) + g == fabs(aqq)) {
                    a[p * n + q] = a[q * n + p] = 0;
                    continue;
                }
                if (fabs(apq) <= thresh)
                    continue;
                double tau = (aqq - app) / (2 * apq);
                double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1 + tau * tau));
                if (!isfinite(tau))
                    t = 0;
                double c = 1 / sqrt(1 + t * t), s = t * c;
                for (size_t k = 0; k < n; ++k) {
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < n; ++k) {
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                /* The rotation annihilates (p, q) exactly in exact arithmetic. */
                a[p * n + q] = a[q * n + p] = 0;
            }
        }
    }
    double m = a[0];
    for (size_t i = 1; i < n; ++i)
        if (a[i * n + i] < m)
            m = a[i * n + i];
    return m;
}

int ds_config_cholesky(const double *a, size_t n, double *l)
{
    memset(l, 0, n * n * sizeof *l);
    for (size_t j = 0; j < n; ++j) {
        double s = a[j * n + j];
        for (size_t k = 0; k < j; ++k)
            s -= l[j * n + k] * l[j * n + k];
        if (!(s > 0))
            return 0;
        double d = sqrt(s);
        l[j * n + j] = d;
        for (size_t i = j + 1; i < n; ++i) {
            double v = a[i * n + j];
            for (size_t k = 0; k < j; ++k)
                v -= l[i * n + k] * l[j * n + k];
            l[i * n + j] = v / d;
        }
    }
    return 1;
}

/* Input names by hash, sorted, so that a scenario with thousands of inputs
 * and correlations resolves each name in O(log n) rather than O(n). */
typedef struct {
    uint64_t hash;
    int index;
} ds_cfg_name_ref;

static int config_name_ref_cmp(const void *pa, const void *pb)
{
    const ds_cfg_name_ref *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static int config_corr_find(const ds_scenario *sc, const ds_cfg_name_ref *refs,
                            const char *name)
{
    uint64_t h = ds_fnv1a64(name);
    size_t lo = 0, hi = sc->n_inputs;
    while (lo < hi) { /* first ref with hash >= h */
        size_t mid = lo + (hi - lo) / 2;
        if (refs[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < sc->n_inputs && refs[lo].hash == h; ++lo)
        if (strcmp(sc->inputs[refs[lo].index].name, name) == 0)
            return refs[lo].index;
    return -1;
}

typedef struct {
    int *tmp_id;           /* per input: its provisional copula slot, or -1 */
    int *pair_seen;        /* slots x slots: 1 + the entry that gave the pair, or 0 */
    int n_slots;
    ds_cfg_name_ref *refs; /* n_inputs, sorted by hash */
} ds_cfg_corr_work;

/* Resolves one input name of an entry; reports unknown and fixed inputs. */
static ds_status config_corr_input(const ds_cfg_ctx *ctx, const ds_scenario *sc,
                                   const ds_cfg_corr_work *w, const ds_cfg_node *node,
                                   const char *path, int *index)
{
    const char *name = NULL;
    DS_TRY(ds_config_get_string(ctx, node, path, &name));
    int i = config_corr_find(sc, w->refs, name);
    char q[96];
    ds_config_quote(node->text, node->len, q, sizeof q);
    if (i < 0) {
        const char **names = malloc(sc->n_inputs * sizeof *names);
        if (!names)
            return ds_config_nomem(ctx);
        for (size_t k = 0; k < sc->n_inputs; ++k)
            names[k] = sc->inputs[k].name;
        const char *best = ds_config_closest(name, names, sc->n_inputs);
        char hint[160] = "";
        if (best)
            snprintf(hint, sizeof hint, "; did you mean \"%s\"?", best);
        free(names);
        return ds_config_error(ctx, node,
                               "%s: expected the name of an input (join.<investor>, "
                               "amount.<investor>, price.initial, ...), found %s, which is "
                               "not an input of this scenario%s",
                               path, q, hint);
    }
    if (sc->inputs[i].fixed) {
        char v[40] = "";
        if (sc->inputs[i].dist)
            ds_config_format_double(ds_dist_mean(sc->inputs[i].dist), v, sizeof v);
        return ds_config_error(ctx, node,
                               "%s: expected an uncertain input, found %s, which is fixed "
                               "(%s): a constant cannot be correlated",
                               path, q, v);
    }
    *index = i;
    return DS_OK;
}

static ds_status config_corr_slot(const ds_cfg_ctx *ctx, const ds_cfg_node *at,
                                  const char *path, ds_cfg_corr_work *w, int input, int *slot)
{
    if (w->tmp_id[input] < 0) {
        if (w->n_slots >= DS_MAX_CORR_INPUTS)
            return ds_config_error(ctx, at,
                                   "%s: expected at most %d correlated inputs, found more",
                                   path, DS_MAX_CORR_INPUTS);
        w->tmp_id[input] = w->n_slots++;
    }
    *slot = w->tmp_id[input];
    return DS_OK;
}

static ds_status config_corr_entry(const ds_cfg_ctx *ctx, ds_scenario *sc, ds_cfg_corr_work *w,
                                   const ds_cfg_node *e, size_t idx)
{
    char path[DS_CFG_PATH_MAX], ipath[DS_CFG_PATH_MAX];
    ds_config_path_index(path, sizeof path, "correlations", idx);
    if (e->type != DS_CFG_SEQ || e->n != 3)
        return ds_config_expected(ctx, e, path, "a list [input, input, rho]");
    int ia = -1, ib = -1, sa = 0, sb = 0;
    ds_config_path_index(ipath, sizeof ipath, path, 0);
    DS_TRY(config_corr_input(ctx, sc, w, e->items[0], ipath, &ia));
    ds_config_path_index(ipath, sizeof ipath, path, 1);
    DS_TRY(config_corr_input(ctx, sc, w, e->items[1], ipath, &ib));
    if (ia == ib) {
        char q[96];
        ds_config_quote(e->items[1]->text, e->items[1]->len, q, sizeof q);
        return ds_config_error(ctx, e->items[1],
                               "%s: expected an input other than the first, found %s again "
                               "(an input is fully correlated with itself)",
                               ipath, q);
    }
    double rho = 0;
    ds_config_path_index(ipath, sizeof ipath, path, 2);
    DS_TRY(ds_config_get_number_in(ctx, e->items[2], ipath, -1, 1, 1, 1, "a correlation",
                                   &rho));
    DS_TRY(config_corr_slot(ctx, e, path, w, ia, &sa));
    DS_TRY(config_corr_slot(ctx, e, path, w, ib, &sb));
    int lo = sa < sb ? sa : sb, hi = sa < sb ? sb : sa;
    int *seen = &w->pair_seen[(size_t)lo * DS_MAX_CORR_INPUTS + (size_t)hi];
    if (*seen)
        return ds_config_error(ctx, e,
                               "%s: expected each pair of inputs once, found %s and %s again "
                               "(correlations[%d] gives them)",
                               path, sc->inputs[ia].name, sc->inputs[ib].name, *seen - 1);
    *seen = (int)idx + 1;
    ds_correlation *c = &sc->correlations[sc->n_correlations];
    c->a = ds_config_strdup(sc->inputs[ia].name);
    c->b = ds_config_strdup(sc->inputs[ib].name);
    c->ia = ia;
    c->ib = ib;
    c->rho = rho;
    sc->n_correlations++;
    if (!c->a || !c->b)
        return ds_config_nomem(ctx);
    return DS_OK;
}

/* R from the entries, its smallest eigenvalue and its Cholesky factor. */
static ds_status config_corr_matrix(const ds_cfg_ctx *ctx, const ds_cfg_node *at,
                                    ds_scenario *sc)
{
    size_t n = sc->n_corr_inputs;
    double *r = calloc(n * n, sizeof *r), *work = calloc(n * n, sizeof *work);
    sc->chol = calloc(n * n, sizeof *sc->chol);
    ds_status st = DS_OK;
    if (!r || !work || !sc->chol) {
        st = ds_config_nomem(ctx);
        goto done;
    }
    for (size_t i = 0; i < n; ++i)
        r[i * n + i] = 1;
    for (size_t k = 0; k < sc->n_correlations; ++k) {
        const ds_correlation *c = &sc->correlations[k];
        size_t i = (size_t)sc->inputs[c->ia].corr_index, j = (size_t)sc->inputs[c->ib].corr_index;
        r[i * n + j] = r[j * n + i] = c->rho;
    }
    memcpy(work, r, n * n * sizeof *r);
    sc->min_eigenvalue = ds_config_min_eigenvalue(work, n);
    if (!(sc->min_eigenvalue > DS_CFG_MIN_EIGENVALUE) || !ds_config_cholesky(r, n, sc->chol)) {
        char e[40];
        snprintf(e, sizeof e, "%.6g", sc->min_eigenvalue);
        st = ds_config_error(ctx, at,
                             "correlations: expected a positive definite correlation matrix, "
                             "found one whose smallest eigenvalue is %s (it must exceed "
                             "%g; weaken some of the correlations)",
                             e, DS_CFG_MIN_EIGENVALUE);
    }
done:
    free(r);
    free(work);
    return st;
}

ds_status ds_config_read_correlations(const ds_cfg_ctx *ctx, const ds_cfg_node *key,
                                      const ds_cfg_node *node, ds_scenario *sc)
{
    sc->min_eigenvalue = 1;
    if (!node || ds_config_is_null(node))
        return DS_OK;
    if (node->type != DS_CFG_SEQ)
        return ds_config_expected(ctx, node, "correlations",
                                  "a list of [input, input, rho] entries");
    if (node->n == 0)
        return DS_OK;
    ds_cfg_corr_work w = {NULL, NULL, 0, NULL};
    ds_status st = DS_OK;
    sc->correlations = calloc(node->n, sizeof *sc->correlations);
    w.tmp_id = malloc(sc->n_inputs * sizeof *w.tmp_id);
    w.pair_seen = calloc((size_t)DS_MAX_CORR_INPUTS * DS_MAX_CORR_INPUTS, sizeof *w.pair_seen);
    w.refs = malloc(sc->n_inputs * sizeof *w.refs);
    if (!sc->correlations || !w.tmp_id || !w.pair_seen || !w.refs) {
        st = ds_config_nomem(ctx);
        goto done;
    }
    for (size_t i = 0; i < sc->n_inputs; ++i) {
        w.tmp_id[i] = -1;
        w.refs[i].hash = sc->inputs[i].hash;
        w.refs[i].index = (int)i;
    }
    qsort(w.refs, sc->n_inputs, sizeof *w.refs, config_name_ref_cmp);
    for (size_t k = 0; k < node->n && st == DS_OK; ++k)
        st = config_corr_entry(ctx, sc, &w, node->items[k], k);
    if (st != DS_OK)
        goto done;

    /* Copula slots in input order, so that the layout does not depend on the
     * order of the entries. */
    sc->corr_inputs = malloc((size_t)w.n_slots * sizeof *sc->corr_inputs);
    if (!sc->corr_inputs) {
        st = ds_config_nomem(ctx);
        goto done;
    }
    for (size_t i = 0; i < sc->n_inputs; ++i) {
        if (w.tmp_id[i] >= 0) {
            sc->inputs[i].corr_index = (int)sc->n_corr_inputs;
            sc->corr_inputs[sc->n_corr_inputs++] = (int)i;
        }
    }
    st = config_corr_matrix(ctx, ds_config_anchor(key, node), sc);
done:
    free(w.tmp_id);
    free(w.pair_seen);
    free(w.refs);
    return st;
}
