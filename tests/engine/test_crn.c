/* tests/engine/test_crn.c
 * Common random numbers by name (MODEL.md 6): changing one input's
 * distribution, or adding an investor, leaves every other uncorrelated
 * input's per-trial values bit-identical.
 * Licence: see LICENSE at the top of the repository.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/config.h"
#include "dealsim/model.h"

static int failures = 0;

static ds_scenario *load(const char *path, const char *const *sets, size_t n)
{
    ds_scenario *sc = NULL;
    ds_diag d;
    if (ds_scenario_load(path, sets, n, &sc, &d) != DS_OK) {
        fprintf(stderr, "load %s: %s (line %d)\n", path, d.msg, d.line);
        exit(1);
    }
    return sc;
}

/* Runs block `b` of both scenarios and compares every input present in both
 * (by name) except `changed`; counts differing inputs. */
static void compare(const char *label, ds_scenario *a, ds_scenario *b, const char *changed,
                    uint64_t blockno, size_t expect_same_min)
{
    ds_model *ma = NULL, *mb = NULL;
    ds_diag d;
    if (ds_model_create(a, &ma, &d) != DS_OK || ds_model_create(b, &mb, &d) != DS_OK) {
        fprintf(stderr, "model: %s\n", d.msg);
        exit(1);
    }
    ds_block *ba = ds_block_alloc(ma), *bb = ds_block_alloc(mb);
    if (!ba || !bb)
        exit(1);
    ds_model_run_block(ma, blockno, DS_BLOCK_SIZE, ba);
    ds_model_run_block(mb, blockno, DS_BLOCK_SIZE, bb);
    size_t same = 0;
    int changed_differs = 0;
    for (size_t k = 0; k < a->n_inputs; ++k) {
        const ds_input *in = &a->inputs[k];
        int kb = ds_scenario_find_input(b, in->name);
        if (kb < 0)
            continue;
        int eq = 1;
        for (size_t t = 0; t < DS_BLOCK_SIZE; ++t) {
            double x = ds_block_input_value(ma, ba, k, t), y = ds_block_input_value(mb, bb, (size_t)kb, t);
            if (memcmp(&x, &y, sizeof x) != 0) {
                eq = 0;
                break;
            }
        }
        if (changed && !strcmp(in->name, changed)) {
            changed_differs = !eq;
            continue;
        }
        if (in->corr_index >= 0 || b->inputs[kb].corr_index >= 0)
            continue; /* correlated inputs share latents by design */
        if (!eq) {
            printf("FAIL %s: input %s changed\n", label, in->name);
            ++failures;
        } else {
            ++same;
        }
    }
    if (changed && !changed_differs) {
        printf("FAIL %s: the changed input %s did not change\n", label, changed);
        ++failures;
    }
    if (same < expect_same_min) {
        printf("FAIL %s: only %zu inputs compared\n", label, same);
        ++failures;
    }
    printf("%s: %zu uncorrelated inputs bit-identical\n", label, same);
    ds_block_free(ba);
    ds_block_free(bb);
    ds_model_free(ma);
    ds_model_free(mb);
}

/* Every check of main under one sampling method: `mode` is NULL (the
 * scenario's, monte_carlo) or a --set such as "sampling=latin_hypercube",
 * appended to every load (under LHS an input's stratified uniforms come
 * from its own stream too, so CRN by name must hold the same way). */
static void run_all(const char *path, const char *path2, const char *mode)
{
    const char *none[1] = {mode};
    ds_scenario *base = load(path, none, mode ? 1 : 0);

    const char *s1[] = {"investors.Microsoft.amount={dist: triangular, min: 1, mode: 9, max: 10}",
                        mode};
    ds_scenario *alt = load(path, s1, mode ? 2 : 1);
    compare("change amount.Microsoft", base, alt, "amount.Microsoft", 3, 10);
    ds_scenario_free(alt);

    const char *s2[] = {"compute.price.drift=-0.1", mode};
    alt = load(path, s2, mode ? 2 : 1);
    compare("fix price.drift", base, alt, "price.drift", 0, 10);
    ds_scenario_free(alt);

    /* Adding an investor (path2: the same scenario with one more). */
    if (path2) {
        alt = load(path2, none, mode ? 1 : 0);
        compare("add an investor", base, alt, NULL, 1, 10);
        ds_scenario_free(alt);
    }
    ds_scenario_free(base);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    /* argv[1]: configs/openai-2026.yaml; argv[2]: it with one more investor. */
    run_all(argv[1], argc > 2 ? argv[2] : NULL, NULL);
    printf("-- latin_hypercube --\n");
    run_all(argv[1], argc > 2 ? argv[2] : NULL, "sampling=latin_hypercube");
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
