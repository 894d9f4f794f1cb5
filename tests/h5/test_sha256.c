/* tests/h5/test_sha256.c
 * SHA-256 against the examples of FIPS 180-4 (NIST's "Example Algorithms" for SHA-256).
 * Licence: see LICENSE at the top of the repository.
 *
 * Also hashes the same message in pieces of every size 1..130, so that the
 * streaming update is checked across every block boundary; Python's hashlib
 * checks many more lengths in test_sha256_hashlib.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealsim/sha256.h"

static int failures = 0;

static void expect(const char *label, const void *data, size_t n, const char *want)
{
    char hex[DS_SHA256_HEX];
    ds_sha256_hex(data, n, hex);
    if (strcmp(hex, want) != 0) {
        fprintf(stderr, "%s: got %s, want %s\n", label, hex, want);
        failures++;
    }
}

int main(void)
{
    static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const char long_msg[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                                   "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    expect("empty", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect("abc", "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect("448 bits", two_blocks, strlen(two_blocks),
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect("896 bits", long_msg, strlen(long_msg),
           "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

    /* One million 'a', fed in pieces of every size 1..130. */
    char *a = malloc(1000000);
    if (!a)
        return 1;
    memset(a, 'a', 1000000);
    expect("million a", a, 1000000,
           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    for (size_t piece = 1; piece <= 130; piece++) {
        ds_sha256 s;
        unsigned char d[DS_SHA256_DIGEST], whole[DS_SHA256_DIGEST];
        ds_sha256_init(&s);
        for (size_t off = 0; off < 1000; off += piece)
            ds_sha256_update(&s, a + off, off + piece <= 1000 ? piece : 1000 - off);
        ds_sha256_final(&s, d);
        ds_sha256_init(&s);
        ds_sha256_update(&s, a, 1000);
        ds_sha256_final(&s, whole);
        if (memcmp(d, whole, sizeof d) != 0) {
            fprintf(stderr, "pieces of %zu differ from one update\n", piece);
            failures++;
        }
    }
    free(a);
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
