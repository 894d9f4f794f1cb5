/* tests/rng/rng_tool.c
 * Prints values of dealsim's generator for the numpy comparison test.
 * Licence: see LICENSE at the top of the repository.
 *
 *   rng_tool raw SEED NAME BLOCK N          N raw outputs of a stream
 *   rng_tool uniform SEED NAME BLOCK N      N doubles in [0,1) (%a, exact)
 *   rng_tool uniform_pos SEED NAME BLOCK N  N doubles in (0,1)
 *   rng_tool advance SEED NAME BLOCK DELTA N   N raw outputs after advance(DELTA)
 *   rng_tool seedseq SEED NWORDS KEY...     SeedSequence(SEED, KEY).generate_state
 *   rng_tool fnv NAME                       ds_fnv1a64(NAME)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/rng.h"

static unsigned long long num(const char *s) { return strtoull(s, NULL, 10); }

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "fnv")) {
        printf("%llu\n", (unsigned long long)ds_fnv1a64(argv[2]));
        return 0;
    }
    if (!strcmp(cmd, "seedseq")) {
        if (argc < 4)
            return 2;
        uint64_t key[8];
        size_t nkey = 0;
        for (int i = 4; i < argc && nkey < 8; ++i)
            key[nkey++] = num(argv[i]);
        size_t n = (size_t)num(argv[3]);
        uint32_t *w = malloc(n * sizeof *w);
        if (!w)
            return 1;
        ds_seedseq_generate(num(argv[2]), key, nkey, w, n);
        for (size_t i = 0; i < n; ++i)
            printf("%u\n", (unsigned)w[i]);
        free(w);
        return 0;
    }
    if (argc < 6)
        return 2;
    ds_rng r;
    ds_rng_stream(&r, num(argv[2]), argv[3], num(argv[4]));
    unsigned long long n = num(argv[5]);
    if (!strcmp(cmd, "advance")) {
        if (argc < 7)
            return 2;
        /* DELTA may exceed 2^64: parse as a 128-bit decimal. */
        ds_u128 delta = 0;
        for (const char *p = argv[5]; *p; ++p)
            delta = delta * 10u + (ds_u128)(unsigned)(*p - '0');
        ds_rng_advance(&r, delta);
        n = num(argv[6]);
    }
    for (unsigned long long i = 0; i < n; ++i) {
        if (!strcmp(cmd, "uniform"))
            printf("%a\n", ds_rng_uniform(&r));
        else if (!strcmp(cmd, "uniform_pos"))
            printf("%a\n", ds_rng_uniform_pos(&r));
        else
            printf("%llu\n", (unsigned long long)ds_rng_next_u64(&r));
    }
    return 0;
}
