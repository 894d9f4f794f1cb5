/* tests/engine/test_precision_schedule.c
 * The --precision check schedule (ds_precision_next_check, session.h)
 * against its definition in the README:
 *  - the check points, rebuilt here independently (doubling from 8 to 64,
 *    then every c/8 blocks for c in [2^k, 2^(k+1))), up to 2^21 blocks;
 *  - next_check(n) is the first of them strictly after n, for every n up to
 *    2^21 (so strictly increasing, and every check point is reached);
 *  - the overshoot bound: a run whose targets hold from block count m on
 *    stops at the first check >= m, which is < 1.125 m for m >= 64 (and
 *    <= m itself when m is a check), < 2 m for 8 < m < 64, 8 for m <= 8;
 *  - the first points spelled out (the README's examples) and the far end
 *    (2^63 and beyond: no wrap-around).
 * Licence: see LICENSE at the top of the repository.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "dealsim/session.h"

#define LIMIT (UINT64_C(1) << 21)

static int failures = 0;

static void fail(const char *what, uint64_t n, uint64_t got, uint64_t want)
{
    if (failures < 20)
        printf("FAIL %s: n = %" PRIu64 ": got %" PRIu64 ", want %" PRIu64 "\n", what, n, got, want);
    ++failures;
}

int main(void)
{
    /* The check points by the definition: a list, not a formula. */
    size_t cap = 4096, np = 0;
    uint64_t *pts = malloc(cap * sizeof *pts);
    if (!pts)
        return 2;
    for (uint64_t c = 8; c <= 64; c *= 2)
        pts[np++] = c;
    for (uint64_t lo = 64; lo < LIMIT; lo *= 2)
        for (uint64_t j = 1; j <= 8; ++j)
            pts[np++] = lo + j * (lo / 8);
    if (pts[np - 1] != LIMIT) {
        printf("FAIL the reference list ends at %" PRIu64 "\n", pts[np - 1]);
        return 1;
    }

    /* The first points as the README lists them. */
    static const uint64_t head[] = {8,   16,  32,  64,  72,  80,  88,  96,  104, 112, 120, 128,
                                    144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384,
                                    416, 448, 480, 512, 576, 640, 704, 768, 832, 896, 960, 1024,
                                    1152};
    uint64_t c = 0;
    for (size_t i = 0; i < sizeof head / sizeof head[0]; ++i) {
        c = ds_precision_next_check(c);
        if (c != head[i])
            fail("check point in order", i, c, head[i]);
        if (pts[i] != head[i])
            fail("reference list", i, pts[i], head[i]);
    }

    /* Every n below the last point: the first point > n. */
    size_t k = 0;
    uint64_t checks_4096 = 0;
    for (uint64_t n = 0; n < LIMIT; ++n) {
        while (pts[k] <= n)
            ++k;
        uint64_t got = ds_precision_next_check(n);
        if (got != pts[k])
            fail("next_check", n, got, pts[k]);
    }
    for (size_t i = 0; i < np && pts[i] < 4096; ++i)
        ++checks_4096;

    /* The overshoot: targets met from m on stop at the first check >= m. */
    double worst = 0.0;
    for (uint64_t m = 1; m <= LIMIT; ++m) {
        uint64_t stop = ds_precision_next_check(m - 1);
        if (stop < m)
            fail("stop before m", m, stop, m);
        if (m >= 64) {
            if (8 * (stop - m) >= m) /* stop < 1.125 m, exactly in integers */
                fail("overshoot >= 12.5%", m, stop, m + m / 8);
            double r = (double)(stop - m) / (double)m;
            if (r > worst)
                worst = r;
        } else if (m > 8) {
            if (stop >= 2 * m)
                fail("overshoot below 64 blocks", m, stop, 2 * m - 1);
        } else if (stop != 8) {
            fail("first check", m, stop, 8);
        }
    }

    /* The far end: monotone to the last representable point, then saturated. */
    const uint64_t top = UINT64_C(1) << 63, step = top / 8;
    if (ds_precision_next_check(top - 1) != top)
        fail("2^63 - 1", top - 1, ds_precision_next_check(top - 1), top);
    if (ds_precision_next_check(top) != top + step)
        fail("2^63", top, ds_precision_next_check(top), top + step);
    if (ds_precision_next_check(top + 7 * step - 1) != top + 7 * step)
        fail("the last point", top + 7 * step - 1, ds_precision_next_check(top + 7 * step - 1),
             top + 7 * step);
    if (ds_precision_next_check(top + 7 * step) != UINT64_MAX)
        fail("past the last point", top + 7 * step, ds_precision_next_check(top + 7 * step),
             UINT64_MAX);
    if (ds_precision_next_check(UINT64_MAX) != UINT64_MAX)
        fail("UINT64_MAX", UINT64_MAX, ds_precision_next_check(UINT64_MAX), UINT64_MAX);

    printf("%zu check points up to %" PRIu64 " blocks; %" PRIu64
           " checks before 4096 blocks; worst overshoot from 64 blocks on %.6f\n",
           np, LIMIT, checks_4096, worst);
    free(pts);
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
