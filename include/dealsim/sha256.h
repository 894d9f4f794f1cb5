/* include/dealsim/sha256.h
 * SHA-256 (FIPS 180-4): the checksum of the scenario text stored in result files.
 * Licence: see LICENSE at the top of the repository.
 *
 * A small streaming implementation: the context is a value the caller owns
 * (no allocation, no global state).  Used by h5out.c for the `sha256`
 * attribute of /config, so that anyone can check with
 * hashlib.sha256(f["config"][()]).hexdigest().
 */
#ifndef DEALSIM_SHA256_H
#define DEALSIM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define DS_SHA256_DIGEST 32 /* bytes */
#define DS_SHA256_HEX 65    /* 64 hex digits and the NUL */

typedef struct {
    uint32_t h[8];      /* the hash value H(i) */
    uint64_t bytes;     /* message length so far */
    uint8_t block[64];  /* the partial message block */
    size_t fill;        /* bytes in block */
} ds_sha256;

void ds_sha256_init(ds_sha256 *s);
void ds_sha256_update(ds_sha256 *s, const void *data, size_t n);
/* Pads, writes the digest and leaves s unusable until ds_sha256_init. */
void ds_sha256_final(ds_sha256 *s, uint8_t digest[DS_SHA256_DIGEST]);
/* One-shot: the lower-case hex digest of data[0..n) into hex. */
void ds_sha256_hex(const void *data, size_t n, char hex[DS_SHA256_HEX]);

#endif /* DEALSIM_SHA256_H */
