/* tests/fuzz/fuzz_config.c
 * libFuzzer harness for the scenario loader: arbitrary bytes as a scenario
 * (with optional --set lines), and as a single distribution.
 * Licence: see LICENSE at the top of the repository.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks a property:
 * whatever loads must give effective YAML that loads again and prints the
 * same text (the contract of ds_scenario_to_yaml); a difference aborts.
 * Input format: the scenario text, optionally followed by a line "#SET" and
 * then one --set KEY=VALUE per line (the marker is a YAML comment, so the
 * scenario part stays ordinary YAML).  Build and run: tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "dealsim/config.h"

/* Where describe() writes: opened once, the harness's only state. */
static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sink = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    /* Split off the --set lines after a "#SET" line. */
    size_t scenario_len = size;
    const char *sets[16];
    size_t n_sets = 0;
    char *marker = strstr(text, "\n#SET\n");
    if (marker && (size_t)(marker - text) < size) {
        scenario_len = (size_t)(marker - text) + 1;
        n_sets = ds_test_split_lines(marker + 6, sets, 16);
    }

    ds_diag diag;
    ds_scenario *sc = NULL;
    if (ds_scenario_load_string(text, scenario_len, "fuzz", sets, n_sets, &sc, &diag) == DS_OK) {
        if (ds_test_roundtrip(sc, stderr) == 0)
            abort();
        if (sink)
            ds_scenario_describe(sc, sink);
        (void)ds_scenario_find_input(sc, "price.initial");
    }
    ds_scenario_free(sc);

    /* The same bytes as a single distribution (`dealsim sample --dist`). */
    if (memchr(data, '\0', size) == NULL) {
        ds_dist d;
        if (ds_dist_from_yaml(text, &d, &diag) == DS_OK)
            (void)ds_dist_mean(&d);
        ds_dist_clear(&d);
    }
    free(text);
    return 0;
}
