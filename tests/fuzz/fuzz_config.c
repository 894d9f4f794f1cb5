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

/* The effective YAML must reload to itself. */
static void check_roundtrip(const ds_scenario *sc)
{
    ds_diag diag;
    char *y1 = NULL, *y2 = NULL;
    ds_scenario *again = NULL;
    if (ds_scenario_to_yaml(sc, &y1, &diag) != DS_OK)
        return; /* out of memory only */
    if (ds_scenario_load_string(y1, strlen(y1), "effective", NULL, 0, &again, &diag) != DS_OK) {
        fprintf(stderr, "effective YAML does not reload: %d:%d: %s\n%s\n", diag.line, diag.col,
                diag.msg, y1);
        abort();
    }
    if (ds_scenario_to_yaml(again, &y2, &diag) == DS_OK && strcmp(y1, y2) != 0) {
        fprintf(stderr, "effective YAML changed on reload:\n%s\n----\n%s\n", y1, y2);
        abort();
    }
    free(y1);
    free(y2);
    ds_scenario_free(again);
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
        char *p = marker + 6;
        while (*p && n_sets < 16) {
            char *nl = strchr(p, '\n');
            if (nl)
                *nl = '\0';
            sets[n_sets++] = p;
            if (!nl)
                break;
            p = nl + 1;
        }
    }

    ds_diag diag;
    ds_scenario *sc = NULL;
    if (ds_scenario_load_string(text, scenario_len, "fuzz", sets, n_sets, &sc, &diag) == DS_OK) {
        check_roundtrip(sc);
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
