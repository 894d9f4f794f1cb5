/* tests/stats/test_stats_state.c
 * Exact merging and saved state on real blocks of a scenario (default
 * configs/openai-2026.yaml): any partition of 37 blocks (the last partial)
 * among accumulators, commit orders, merge orders and export/import round
 * trips gives the bits of the in-order serial run; the state survives a
 * real HDF5 file bit for bit; import rejects damaged states.
 * Licence: see LICENSE at the top of the repository.
 *
 * usage: test_stats_state SCENARIO.yaml SCRATCH_DIR
 *        test_stats_state --import FILE.h5   (for test_state_hostile.py: reads
 *        /state, imports and finalizes it; exit 0 ok, 3 format error, 4 any
 *        other error, the message on stderr)
 */
#include "dealsim/config.h"
#include "dealsim/h5in.h"
#include "dealsim/h5out.h"
#include "dealsim/model.h"
#include "stats_test_util.h"

/* 37 = 100101b blocks: a forest of three nodes (5, 0), (2, 8), (0, 36). */
#define NBLK 37
#define LAST_N 1234
#define PARTITIONS 40

static size_t block_n(size_t b) { return b + 1 < NBLK ? DS_BLOCK_SIZE : LAST_N; }

/* The rule of stats.h written out independently: node (l, k) of output o. */
static ds_moments tree_node(ds_stats *const *part, size_t o, unsigned l, uint64_t k)
{
    if (l == 0)
        return part[k]->out[o];
    ds_moments left = tree_node(part, o, l - 1, 2 * k);
    ds_moments right = tree_node(part, o, l - 1, 2 * k + 1);
    ds_moments_merge(&left, &right);
    return left;
}

/* Two states, array by array, bit for bit. */
static void check_same_state(const ds_state *a, const ds_state *b)
{
    CHECK(a->version == b->version && a->n == b->n);
    for (size_t k = 0; k < a->n; ++k) {
        const ds_state_array *x = &a->a[k], *y = ds_state_find(b, x->name);
        CHECK(y != NULL);
        if (!y)
            continue;
        CHECK(x->kind == y->kind && x->rank == y->rank);
        uint64_t n = 1;
        for (size_t r = 0; r < x->rank; ++r) {
            CHECK(x->dims[r] == y->dims[r]);
            n *= x->dims[r];
        }
        CHECK(memcmp(x->data, y->data, (size_t)n * ds_state_kind_size(x->kind)) == 0);
    }
}

/* Everything a result is made of: the views, the sketches, the state. */
static void check_same_result(const ds_stats *a, const ds_stats *b)
{
    tu_check_same_floating(a, b);
    tu_check_same_sketches(a, b);
    ds_state *sa = NULL, *sb = NULL;
    CHECK(ds_stats_export(a, &sa) == DS_OK && ds_stats_export(b, &sb) == DS_OK);
    check_same_state(sa, sb);
    ds_state_free(sa);
    ds_state_free(sb);
}

/* acc := import(export(acc)). */
static ds_stats *round_trip(ds_stats *acc)
{
    ds_state *st = NULL;
    ds_stats *back = NULL;
    ds_diag d;
    ds_stats_shape sh = ds_stats_shape_of(acc);
    CHECK(ds_stats_export(acc, &st) == DS_OK);
    ds_status is = ds_stats_import(&sh, st, &back, &d);
    if (is != DS_OK)
        fprintf(stderr, "import: %s\n", d.msg);
    CHECK(is == DS_OK);
    ds_state_free(st);
    ds_stats_free(acc);
    return back;
}

static ds_state_array *find_mut(ds_state *st, const char *name)
{
    for (size_t k = 0; k < st->n; ++k)
        if (strcmp(st->a[k].name, name) == 0)
            return &st->a[k];
    return NULL;
}

/* A deep copy of a state, to damage. */
static ds_state *state_copy(const ds_state *in)
{
    ds_state *st = ds_state_alloc(in->version);
    CHECK(st);
    for (size_t k = 0; k < in->n; ++k) {
        const ds_state_array *a = &in->a[k];
        const char *dn[2] = {a->dim_names[0], a->dim_names[1]};
        void *data = NULL;
        CHECK(ds_state_add(st, a->name, a->kind, a->rank, a->dims, dn, a->units, a->long_name,
                           &data) == DS_OK);
        uint64_t n = 1;
        for (size_t r = 0; r < a->rank; ++r)
            n *= a->dims[r];
        memcpy(data, a->data, (size_t)n * ds_state_kind_size(a->kind));
    }
    return st;
}

/* import must fail with DS_ERR_FORMAT, a message and no accumulators. */
static void expect_reject(const ds_stats_shape *sh, ds_state *st, const char *what)
{
    ds_stats *out = (ds_stats *)&out; /* poisoned: import must reset it */
    ds_diag d;
    ds_diag_clear(&d);
    ds_status s = ds_stats_import(sh, st, &out, &d);
    if (s != DS_ERR_FORMAT || out != NULL || d.msg[0] == '\0')
        fprintf(stderr, "import of a state with %s: status %d (%s)\n", what, (int)s, d.msg);
    CHECK(s == DS_ERR_FORMAT && out == NULL && d.msg[0] != '\0');
    ds_state_free(st);
}

static void test_rejects(const ds_stats *ref)
{
    ds_state *good = NULL;
    ds_stats_shape sh = ds_stats_shape_of(ref);
    CHECK(ds_stats_export(ref, &good) == DS_OK);
    ds_state *st;
    ds_state_array *a;

    st = state_copy(good);
    st->version++;
    expect_reject(&sh, st, "a future version");

    ds_stats_shape other = sh;
    other.horizon++;
    expect_reject(&other, state_copy(good), "another horizon");

    st = state_copy(good);
    a = find_mut(st, "node_mean");
    a->dims[1]--; /* truncated: one accumulator short */
    expect_reject(&sh, st, "a truncated node_mean");

    st = state_copy(good);
    a = find_mut(st, "bucket_counts");
    a->dims[0] /= 2;
    expect_reject(&sh, st, "truncated bucket counts");

    st = state_copy(good);
    snprintf(find_mut(st, "node_n")->name, DS_STATE_NAME_MAX, "node_x");
    expect_reject(&sh, st, "node_n missing");

    st = state_copy(good);
    find_mut(st, "node_trials")->kind = DS_STATE_F64;
    expect_reject(&sh, st, "node_trials of the wrong kind");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "node_index")->data)[1] = 0; /* (2, 0) inside (5, 0) */
    expect_reject(&sh, st, "overlapping nodes");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "node_index")->data)[2] = 8;
    ((uint64_t *)find_mut(st, "node_level")->data)[2] = 2; /* (2, 8) twice */
    expect_reject(&sh, st, "a duplicate node");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "node_level")->data)[0] = 63;
    expect_reject(&sh, st, "level 63");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "node_level")->data)[0] = 4; /* blocks no longer add up */
    expect_reject(&sh, st, "a wrong level");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "node_trials")->data)[2] += 1;
    expect_reject(&sh, st, "a wrong node trial count");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "node_coalition_offset")->data)[1] += 1;
    expect_reject(&sh, st, "misplaced coalition rows");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "checkpoint_blocks")->data)[1] = 3;
    expect_reject(&sh, st, "a checkpoint after 3 blocks");

    st = state_copy(good);
    ((double *)find_mut(st, "checkpoint_mean")->data)[5 * sh.n_outputs] += 1.0;
    expect_reject(&sh, st, "a last checkpoint that is not node (5, 0)");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "sketch_pos_offset")->data)[0] = UINT64_MAX - 1;
    expect_reject(&sh, st, "a bucket span beyond bucket_counts");

    st = state_copy(good);
    ((int32_t *)find_mut(st, "sketch_pos_lo")->data)[0] = INT32_MAX; /* beyond every key */
    expect_reject(&sh, st, "a bucket key beyond the range");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "sketch_count")->data)[0] += 1;
    expect_reject(&sh, st, "a sketch count that disagrees with its buckets");

    st = state_copy(good);
    ((uint64_t *)find_mut(st, "n_investors")->data)[0] = DS_MAX_INVESTORS + 1;
    expect_reject(NULL, st, "too many investors");

    ds_state_free(good);
}

/* --import: the whole read path on a file that may be damaged. */
static int import_file(const char *path)
{
    ds_diag d;
    ds_diag_clear(&d);
    ds_state *st = NULL;
    ds_stats *s = NULL;
    ds_status rc = ds_h5_read_state(path, &st, &d);
    if (rc == DS_OK)
        rc = ds_stats_import(NULL, st, &s, &d);
    if (rc == DS_OK)
        rc = ds_stats_finalize(s, &d);
    ds_stats_free(s);
    ds_state_free(st);
    if (rc != DS_OK) {
        fprintf(stderr, "%s: %s\n", ds_status_name(rc), d.msg);
        return rc == DS_ERR_FORMAT ? 3 : 4;
    }
    printf("ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--import") == 0)
        return import_file(argv[2]);
    if (argc != 3) {
        fprintf(stderr, "usage: test_stats_state SCENARIO.yaml SCRATCH_DIR\n");
        return 2;
    }
    ds_diag diag;
    ds_scenario *sc = NULL;
    ds_model *m = NULL;
    const char *sets[1] = {"output.per_trial=false"};
    if (ds_scenario_load(argv[1], sets, 1, &sc, &diag) != DS_OK ||
        ds_model_create(sc, &m, &diag) != DS_OK) {
        char buf[DS_DIAG_MSG_MAX + DS_DIAG_FILE_MAX + 64];
        ds_diag_format(&diag, buf, sizeof buf);
        fprintf(stderr, "%s\n", buf);
        return 1;
    }
    ds_block *blk = ds_block_alloc(m);
    CHECK(blk);

    /* Every block once: its partial and its sketches. */
    ds_stats *part[NBLK], *sk[NBLK];
    uint64_t total = 0;
    for (size_t b = 0; b < NBLK; ++b) {
        CHECK((part[b] = ds_stats_alloc(m)) != NULL && (sk[b] = ds_stats_alloc(m)) != NULL);
        ds_model_run_block(m, b, block_n(b), blk);
        CHECK(ds_stats_block_moments(part[b], blk) == DS_OK);
        CHECK(ds_stats_add_sketches(sk[b], blk) == DS_OK);
        total += block_n(b);
    }

    /* The reference: one accumulator, blocks in order. */
    ds_stats *ref = ds_stats_alloc(m);
    CHECK(ref);
    for (size_t b = 0; b < NBLK; ++b) {
        CHECK(ds_stats_commit_block(ref, part[b], b) == DS_OK);
        CHECK(ds_stats_merge(ref, sk[b]) == DS_OK);
        /* In-order commits leave the binary representation of the full
         * blocks committed; the short last block is the tail (stats.h). */
        size_t full = b + 1 < NBLK ? b + 1 : NBLK - 1;
        CHECK(ref->n_nodes == (size_t)__builtin_popcountll((unsigned long long)full));
        CHECK(ref->has_tail == (b + 1 == NBLK));
    }
    CHECK(ds_stats_finalize(ref, &diag) == DS_OK);
    CHECK(ref->trials == total && ref->blocks == NBLK && ref->n_nodes == 2 && ref->has_tail);
    /* Checkpoints after 1, 2, 4, 8, 16, 32 blocks and the final one. */
    CHECK(ref->n_checkpoints == 7 && ref->checkpoints[5].blocks == 32 &&
          ref->checkpoints[6].blocks == NBLK && ref->checkpoints[6].trials == total);
    CHECK(tu_same_bits(ref->checkpoints[0].mean[DS_OUT_TOTAL], part[0]->out[DS_OUT_TOTAL].mean));
    CHECK(tu_same_bits(ref->checkpoints[6].mean[DS_OUT_TOTAL], ref->out[DS_OUT_TOTAL].mean));
    /* The documented rule, by hand: 37 = 32 + 4 + 1, folded from the right;
     * checkpoint k is node (k, 0). */
    for (size_t o = 0; o < ref->n_outputs; ++o) {
        ds_moments acc = tree_node(part, o, 0, 36), n4 = tree_node(part, o, 2, 8);
        ds_moments_merge(&n4, &acc);
        acc = tree_node(part, o, 5, 0);
        ds_moments_merge(&acc, &n4);
        CHECK(memcmp(&acc, &ref->out[o], sizeof acc) == 0);
        for (unsigned k = 0; k <= 5; ++k) {
            ds_moments nk = tree_node(part, o, k, 0);
            CHECK(tu_same_bits(ref->checkpoints[k].mean[o], nk.mean));
            CHECK(tu_same_bits(ref->checkpoints[k].stderr_[o], ds_moments_stderr(&nk)));
        }
    }
    /* The tree's fold is the right answer too: against one pass. */
    {
        ds_moments one;
        ds_moments_init(&one);
        for (size_t b = 0; b < NBLK; ++b) {
            ds_model_run_block(m, b, block_n(b), blk);
            for (size_t t = 0; t < blk->n; ++t)
                ds_moments_add(&one, blk->out[DS_OUT_TOTAL][t]);
        }
        const ds_moments *g = &ref->out[DS_OUT_TOTAL];
        const double scale = fabs(one.mean) + ds_moments_sd(&one);
        CHECK(g->n == one.n && fabs(g->mean - one.mean) <= 1e-12 * scale); /* rounding only */
        CHECK(fabs(ds_moments_sd(g) - ds_moments_sd(&one)) <= 1e-12 * scale);
    }

    /* Random partitions: blocks in a random order, dealt to 1..5
     * accumulators, some round-tripped through export/import mid-way, the
     * accumulators merged pairwise in a random order. */
    tu_rng r = {20261201};
    for (int trial = 0; trial < PARTITIONS; ++trial) {
        size_t order[NBLK];
        for (size_t b = 0; b < NBLK; ++b)
            order[b] = b;
        for (size_t b = NBLK; b-- > 1;) {
            size_t j = tu_below(&r, b + 1), t = order[b];
            order[b] = order[j];
            order[j] = t;
        }
        size_t k = 1 + tu_below(&r, 5);
        ds_stats *acc[5];
        size_t owner[NBLK];
        for (size_t i = 0; i < k; ++i)
            CHECK((acc[i] = ds_stats_alloc(m)) != NULL);
        for (size_t j = 0; j < NBLK; ++j) {
            size_t b = order[j], i = tu_below(&r, k);
            owner[b] = i;
            CHECK(ds_stats_commit_block(acc[i], part[b], b) == DS_OK);
            CHECK(ds_stats_merge(acc[i], sk[b]) == DS_OK);
            if (tu_below(&r, 8) == 0)
                acc[i] = round_trip(acc[i]);
        }
        /* A block committed twice, or two accumulators with a block in
         * common, are refused. */
        CHECK(ds_stats_commit_block(acc[owner[order[0]]], part[order[0]], order[0]) ==
              DS_ERR_INTERNAL);
        while (k > 1) {
            size_t i = tu_below(&r, k), j = tu_below(&r, k - 1);
            if (j >= i)
                j++;
            if (tu_below(&r, 3) == 0)
                acc[j] = round_trip(acc[j]);
            CHECK(ds_stats_merge(acc[i], acc[j]) == DS_OK);
            CHECK(acc[j]->blocks == 0 || ds_stats_merge(acc[i], acc[j]) == DS_ERR_INTERNAL);
            ds_stats_free(acc[j]);
            acc[j] = acc[k - 1];
            k--;
        }
        CHECK(ds_stats_finalize(acc[0], &diag) == DS_OK);
        check_same_result(acc[0], ref);
        ds_stats_free(acc[0]);
    }

    /* An interrupted run resumed: blocks [0, 20) saved and imported, then
     * the rest committed on top. */
    {
        ds_stats *first = ds_stats_alloc(m);
        CHECK(first);
        for (size_t b = 0; b < 20; ++b) {
            CHECK(ds_stats_commit_block(first, part[b], b) == DS_OK);
            CHECK(ds_stats_merge(first, sk[b]) == DS_OK);
        }
        CHECK(ds_stats_finalize(first, &diag) == DS_OK && first->n_checkpoints == 6);
        ds_stats *resumed = round_trip(first);
        for (size_t b = 20; b < NBLK; ++b) {
            CHECK(ds_stats_commit_block(resumed, part[b], b) == DS_OK);
            CHECK(ds_stats_merge(resumed, sk[b]) == DS_OK);
        }
        CHECK(ds_stats_finalize(resumed, &diag) == DS_OK);
        check_same_result(resumed, ref);
        ds_stats_free(resumed);
    }

    /* A run that ended inside a block, extended: blocks [0, 20) full and
     * block 20 short (LAST_N trials) saved and imported; the caller
     * recomputes the short block, drops it, then commits blocks 20.. of the
     * larger run (block 20 now full): bit-identical to the straight run. */
    {
        ds_stats *first = ds_stats_alloc(m), *p20 = ds_stats_alloc(m),
                 *s20 = ds_stats_alloc(m);
        CHECK(first && p20 && s20);
        for (size_t b = 0; b < 20; ++b) {
            CHECK(ds_stats_commit_block(first, part[b], b) == DS_OK);
            CHECK(ds_stats_merge(first, sk[b]) == DS_OK);
        }
        ds_model_run_block(m, 20, LAST_N, blk);
        CHECK(ds_stats_block_moments(p20, blk) == DS_OK);
        CHECK(ds_stats_add_sketches(s20, blk) == DS_OK);
        CHECK(ds_stats_commit_block(first, p20, 20) == DS_OK);
        CHECK(ds_stats_merge(first, s20) == DS_OK);
        CHECK(first->has_tail && first->n_nodes == 2);
        CHECK(ds_stats_finalize(first, &diag) == DS_OK);
        ds_stats *ext = round_trip(first);
        CHECK(ext->has_tail && ext->blocks == 21);
        /* The wrong block, or the right one with another size, is refused. */
        ds_model_run_block(m, 19, LAST_N, blk);
        CHECK(ds_stats_drop_tail(ext, blk, &diag) == DS_ERR_FORMAT);
        ds_model_run_block(m, 20, LAST_N + 1, blk);
        CHECK(ds_stats_drop_tail(ext, blk, &diag) == DS_ERR_FORMAT);
        ds_model_run_block(m, 20, LAST_N, blk);
        CHECK(ds_stats_drop_tail(ext, blk, &diag) == DS_OK);
        CHECK(!ext->has_tail && ext->blocks == 20 && ext->trials == 20 * DS_BLOCK_SIZE);
        CHECK(ds_stats_drop_tail(ext, blk, &diag) == DS_ERR_FORMAT); /* no tail now */
        for (size_t b = 20; b < NBLK; ++b) {
            CHECK(ds_stats_commit_block(ext, part[b], b) == DS_OK);
            CHECK(ds_stats_merge(ext, sk[b]) == DS_OK);
        }
        CHECK(ds_stats_finalize(ext, &diag) == DS_OK);
        check_same_result(ext, ref);
        ds_stats_free(ext);
        ds_stats_free(p20);
        ds_stats_free(s20);
    }

    /* A state that does not hold the block's values (block 1's values
     * presented as the short block 0): a count would go below zero (the
     * continuous outputs fall in ~thousands of distinct buckets, so some
     * value of block 1 lands where block 0 has none), refused. */
    {
        ds_stats *first = ds_stats_alloc(m), *p0 = ds_stats_alloc(m), *s0 = ds_stats_alloc(m);
        CHECK(first && p0 && s0);
        ds_model_run_block(m, 0, LAST_N, blk);
        CHECK(ds_stats_block_moments(p0, blk) == DS_OK);
        CHECK(ds_stats_add_sketches(s0, blk) == DS_OK);
        CHECK(ds_stats_commit_block(first, p0, 0) == DS_OK);
        CHECK(ds_stats_merge(first, s0) == DS_OK);
        ds_model_run_block(m, 1, LAST_N, blk);
        blk->block = 0;
        CHECK(ds_stats_drop_tail(first, blk, &diag) == DS_ERR_FORMAT);
        ds_stats_free(first);
        ds_stats_free(p0);
        ds_stats_free(s0);
    }

    /* Through a real HDF5 file: the writer's /state read back imports to
     * the same bits. */
    {
        char path[4096];
        snprintf(path, sizeof path, "%s/state.h5", argv[2]);
        char *yaml = NULL;
        ds_h5out *w = NULL;
        CHECK(ds_scenario_to_yaml(sc, &yaml, &diag) == DS_OK);
        CHECK(ds_h5out_open(path, 1, m, total, yaml, &w, &diag) == DS_OK);
        ds_run_info info;
        memset(&info, 0, sizeof info);
        info.seed = sc->seed;
        info.trials_requested = total;
        info.trials_done = total;
        info.threads = 1;
        info.mpi_ranks = 1;
        snprintf(info.created_utc, sizeof info.created_utc, "2026-12-01T00:00:00Z");
        snprintf(info.finished_utc, sizeof info.finished_utc, "2026-12-01T00:00:01Z");
        ds_status fs = ds_h5out_finish(w, ref, &info, &diag);
        if (fs != DS_OK)
            fprintf(stderr, "%s\n", diag.msg);
        CHECK(fs == DS_OK);
        ds_state *read = NULL, *mine = NULL;
        ds_stats *back = NULL;
        ds_stats_shape sh = ds_stats_shape_of(ref);
        CHECK(ds_h5_read_state(path, &read, &diag) == DS_OK);
        CHECK(ds_stats_export(ref, &mine) == DS_OK);
        check_same_state(mine, read);
        const ds_state_array *u = ds_state_find(read, "node_mean");
        CHECK(u && u->units && u->long_name && strcmp(u->dim_names[0], "") == 0);
        CHECK(ds_stats_import(&sh, read, &back, &diag) == DS_OK);
        CHECK(ds_stats_finalize(back, &diag) == DS_OK);
        check_same_result(back, ref);
        ds_stats_free(back);
        ds_state_free(read);
        ds_state_free(mine);
        free(yaml);

        /* The reader's own failures: no file, not HDF5. */
        char bad[4096];
        snprintf(bad, sizeof bad, "%s/missing.h5", argv[2]);
        read = (ds_state *)&read;
        CHECK(ds_h5_read_state(bad, &read, &diag) == DS_ERR_IO && read == NULL);
        snprintf(bad, sizeof bad, "%s/text.h5", argv[2]);
        FILE *f = fopen(bad, "w");
        CHECK(f && fputs("not an HDF5 file\n", f) >= 0 && fclose(f) == 0);
        CHECK(ds_h5_read_state(bad, &read, &diag) == DS_ERR_HDF5 && read == NULL);
        CHECK(diag.msg[0] != '\0');
    }

    test_rejects(ref);

    for (size_t b = 0; b < NBLK; ++b) {
        ds_stats_free(part[b]);
        ds_stats_free(sk[b]);
    }
    ds_stats_free(ref);
    ds_block_free(blk);
    ds_model_free(m);
    ds_scenario_free(sc);
    printf("test_stats_state: ok (%d partitions of %d blocks)\n", PARTITIONS, NBLK);
    return 0;
}
