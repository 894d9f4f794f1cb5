/* tests/fuzz/fuzz_common.h
 * What the scenario fuzzers (fuzz_config.c, fuzz_set.c) and the --set
 * regression test (tests/config/test_set_regressions.c) share: splitting
 * override lines, and the check that the effective YAML reloads to itself.
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_TESTS_FUZZ_COMMON_H
#define DEALSIM_TESTS_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/config.h"

/* Splits `text` in place into at most `max` lines (one --set override a
 * line); the first NUL ends it, as it would end a command-line argument. */
static size_t ds_test_split_lines(char *text, const char **lines, size_t max)
{
    size_t n = 0;
    for (char *p = text; *p && n < max;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        lines[n++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    return n;
}

/* The effective YAML of sc must reload to a scenario whose effective YAML is
 * the same text: 1 when it does, 0 when not (said on `report`), -1 when
 * memory ran out before it could be told. */
static int ds_test_roundtrip(const ds_scenario *sc, FILE *report)
{
    ds_diag diag;
    char *y1 = NULL, *y2 = NULL;
    ds_scenario *again = NULL;
    int ok = 1;
    if (ds_scenario_to_yaml(sc, &y1, &diag) != DS_OK) {
        ok = -1;
    } else if (ds_scenario_load_string(y1, strlen(y1), "effective", NULL, 0, &again, &diag) !=
               DS_OK) {
        fprintf(report, "effective YAML does not reload: %d:%d: %s\n%s\n", diag.line, diag.col,
                diag.msg, y1);
        ok = 0;
    } else if (ds_scenario_to_yaml(again, &y2, &diag) != DS_OK) {
        ok = -1;
    } else if (strcmp(y1, y2) != 0) {
        fprintf(report, "effective YAML changed on reload:\n%s\n----\n%s\n", y1, y2);
        ok = 0;
    }
    free(y1);
    free(y2);
    ds_scenario_free(again);
    return ok;
}

#endif /* DEALSIM_TESTS_FUZZ_COMMON_H */
