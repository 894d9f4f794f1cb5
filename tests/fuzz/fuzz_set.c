/* tests/fuzz/fuzz_set.c
 * libFuzzer harness for the --set path: arbitrary bytes as up to 16
 * KEY=VALUE overrides (one a line) grafted into a fixed valid scenario.
 * Licence: see LICENSE at the top of the repository.
 *
 * The scenario stays fixed (set_base.h) so that every input exercises the
 * key-path walk, the brackets, the grafting and the re-validation rather
 * than the YAML parser (fuzz_config.c covers that).  Beyond "no crash, no
 * leak, no undefined behaviour": whatever loads must give effective YAML
 * that loads again to the same text, and an error must carry a message
 * and the position of one of the overrides or of the file.
 * Build and run: FUZZ_TARGET=set tests/fuzz/run.sh SECONDS.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "dealsim/config.h"
#include "set_base.h"

#define FUZZ_SET_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* One override a line; an embedded NUL ends the input, as it would end
     * a command-line argument. */
    const char *sets[FUZZ_SET_MAX];
    size_t n_sets = ds_test_split_lines(text, sets, FUZZ_SET_MAX);
    ds_diag diag;
    ds_scenario *sc = NULL;
    ds_status st = ds_scenario_load_string(ds_test_set_base, sizeof ds_test_set_base - 1,
                                           "base", sets, n_sets, &sc, &diag);
    if (st == DS_OK) {
        if (ds_test_roundtrip(sc, stderr) == 0)
            abort();
    } else if (st == DS_ERR_SCENARIO) {
        /* An error names where: an override (--set:N, N in 1..n_sets) or the
         * file; and it says something. */
        int from_set = strcmp(diag.file, "--set") == 0;
        if (diag.msg[0] == '\0' || (from_set && (diag.line < 1 || (size_t)diag.line > n_sets)) ||
            (!from_set && strcmp(diag.file, "base") != 0)) {
            fprintf(stderr, "bad diagnostic: %s:%d:%d: %s\n", diag.file, diag.line, diag.col,
                    diag.msg);
            abort();
        }
    }
    ds_scenario_free(sc);
    free(text);
    return 0;
}
