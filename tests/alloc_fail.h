/* tests/alloc_fail.h
 * Making the n-th allocation fail (after Lua's allocator tests), for the
 * out-of-memory tests: include in exactly one file of a test program linked
 * with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (and --wrap=strdup
 * when the code under test uses it).  Only the statically linked library's
 * calls are wrapped: HDF5, libyaml and libgomp allocate for themselves.
 * Licence: see LICENSE at the top of the repository.
 */
#ifndef DEALSIM_TESTS_ALLOC_FAIL_H
#define DEALSIM_TESTS_ALLOC_FAIL_H

#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);

/* Allocations left before one fails (negative: never) and allocations seen.
 * Test-only state: the allocating code runs on one thread at a time. */
static long allocs_left = -1;
static long allocs_seen = 0;

static int alloc_fails(void)
{
    allocs_seen++;
    if (allocs_left < 0)
        return 0;
    if (allocs_left == 0)
        return 1;
    allocs_left--;
    return 0;
}

void *__wrap_malloc(size_t size) { return alloc_fails() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t n, size_t size) { return alloc_fails() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t size) { return alloc_fails() ? NULL : __real_realloc(p, size); }
char *__wrap_strdup(const char *s) { return alloc_fails() ? NULL : __real_strdup(s); }

#endif /* DEALSIM_TESTS_ALLOC_FAIL_H */
