/* tests/stats/test_stats_model.c
 * The stats accumulators on real blocks of a scenario (default
 * configs/smoke.yaml): block commits along the merge tree give the same bits
 * whether partials are merged as computed or recomputed later, and sketches
 * accumulated by 1, 2 or 3 "threads" give identical counts.
 * Licence: see LICENSE at the top of the repository.
 *
 * usage: test_stats_model SCENARIO.yaml
 */
#include "dealsim/config.h"
#include "dealsim/model.h"
#include "stats_test_util.h"

/* Six blocks, the last one partial: checkpoints after 1, 2, 4 and 6. */
#define NBLK 6
#define LAST_N 1000

static size_t block_n(size_t b) { return b + 1 < NBLK ? DS_BLOCK_SIZE : LAST_N; }



int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_stats_model SCENARIO.yaml\n");
        return 2;
    }
    ds_diag diag;
    ds_scenario *sc = NULL;
    ds_model *m = NULL;
    if (ds_scenario_load(argv[1], NULL, 0, &sc, &diag) != DS_OK ||
        ds_model_create(sc, &m, &diag) != DS_OK) {
        char buf[DS_DIAG_MSG_MAX + DS_DIAG_FILE_MAX + 64];
        ds_diag_format(&diag, buf, sizeof buf);
        fprintf(stderr, "%s\n", buf);
        return 1;
    }
    ds_block *blk = ds_block_alloc(m);
    CHECK(blk);

    /* A: one partial, merged as each block is computed; sketches of the same
     * blocks dealt to 1, 2 and 3 "threads" (round robin, thread 0 first). */
    ds_stats *ga = ds_stats_alloc(m), *p = ds_stats_alloc(m);
    ds_stats *th[1 + 2 + 3];
    CHECK(ga && p);
    for (size_t k = 0; k < 6; ++k)
        CHECK((th[k] = ds_stats_alloc(m)) != NULL);
    uint64_t total = 0;
    for (size_t b = 0; b < NBLK; ++b) {
        ds_model_run_block(m, b, block_n(b), blk);
        total += block_n(b);
        CHECK(ds_stats_block_moments(p, blk) == DS_OK);
        CHECK(ds_stats_commit_block(ga, p, b) == DS_OK);
        CHECK(ds_stats_add_sketches(th[0], blk) == DS_OK);
        CHECK(ds_stats_add_sketches(th[1 + b % 2], blk) == DS_OK);
        CHECK(ds_stats_add_sketches(th[3 + b % 3], blk) == DS_OK);
    }
    CHECK(ds_stats_finalize(ga, NULL) == DS_OK);
    CHECK(ga->trials == total && ga->blocks == NBLK);
    CHECK(ga->n_checkpoints == 4 && ga->checkpoints[3].trials == total);

    /* B: the kernel rerun for every block, last block first (as a late
     * thread might), each into its own partial; committed in a shuffled order. */
    ds_stats *parts[NBLK], *gb = ds_stats_alloc(m);
    CHECK(gb);
    for (size_t b = NBLK; b-- > 0;) {
        CHECK((parts[b] = ds_stats_alloc(m)) != NULL);
        ds_model_run_block(m, b, block_n(b), blk);
        CHECK(ds_stats_block_moments(parts[b], blk) == DS_OK);
    }
    for (size_t b = 0; b < NBLK; ++b)
        CHECK(ds_stats_commit_block(gb, parts[(b * 5) % NBLK], (b * 5) % NBLK) == DS_OK);
    CHECK(ds_stats_finalize(gb, NULL) == DS_OK);
    tu_check_same_floating(ga, gb);

    /* Sketches: 2 and 3 threads merged (3 in reverse order) = 1 thread. */
    ds_stats *two = ds_stats_alloc(m), *three = ds_stats_alloc(m);
    CHECK(two && three);
    CHECK(ds_stats_merge(two, th[1]) == DS_OK);
    CHECK(ds_stats_merge(two, th[2]) == DS_OK);
    for (size_t k = 6; k-- > 3;)
        CHECK(ds_stats_merge(three, th[k]) == DS_OK);
    tu_check_same_sketches(two, th[0]);
    tu_check_same_sketches(three, th[0]);
    /* Sketch counts agree with the moments' finite counts. */
    for (size_t o = 0; o < ga->n_outputs; ++o) {
        CHECK(th[0]->sk_out[o].count == ga->out[o].n);
        CHECK(ga->out[o].n + ga->out[o].nan == total);
        CHECK(tu_same_bits(ds_sketch_quantile(&three->sk_out[o], 0.5, ga->out[o].min, ga->out[o].max),
                           ds_sketch_quantile(&th[0]->sk_out[o], 0.5, ga->out[o].min, ga->out[o].max)));
    }
    for (size_t mo = 0; mo < ga->horizon; ++mo)
        CHECK(th[0]->sk_price[mo].count == ga->price[mo].n);
    uint64_t seen = 0;
    ds_coalition *c = ds_stats_sorted_coalitions(ga);
    CHECK(c);
    for (size_t k = 0; k < ga->n_coalitions; ++k)
        seen += c[k].count;
    CHECK(seen == total);
    free(c);

    printf("test_stats_model: %llu trials, %zu outputs, %zu investors, %zu months, %zu "
           "coalitions: ok\n",
           (unsigned long long)total, ga->n_outputs, ga->n_investors, ga->horizon,
           ga->n_coalitions);
    ds_stats_free(two);
    ds_stats_free(three);
    for (size_t b = 0; b < NBLK; ++b)
        ds_stats_free(parts[b]);
    for (size_t k = 0; k < 6; ++k)
        ds_stats_free(th[k]);
    ds_stats_free(gb);
    ds_stats_free(ga);
    ds_stats_free(p);
    ds_block_free(blk);
    ds_model_free(m);
    ds_scenario_free(sc);
    return 0;
}
