/* sim/core/sha256.c
 * SHA-256 as specified in FIPS 180-4 (Secure Hash Standard, NIST, 2015), sec. 6.2.
 * Licence: see LICENSE at the top of the repository.
 *
 * Straight from the standard: the round constants K are those of FIPS 180-4
 * sec. 4.2.2 (the first 32 bits of the fractional parts of the cube roots of
 * the first 64 primes), the initial hash value that of sec. 5.3.3 (square
 * roots of the first 8 primes); padding per sec. 5.1.1 (a 1 bit, zeros, the
 * 64-bit big-endian message length in bits).  Checked against the standard's
 * examples and Python's hashlib by tests/h5.
 */
#include "dealsim/sha256.h"

#include <string.h>

static const uint32_t ds_sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

static uint32_t ds_sha256_rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

/* Processes one 512-bit block (FIPS 180-4 sec. 6.2.2). */
static void ds_sha256_compress(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (unsigned t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (unsigned t = 16; t < 64; t++) {
        uint32_t x = w[t - 15], y = w[t - 2];
        uint32_t s0 = ds_sha256_rotr(x, 7) ^ ds_sha256_rotr(x, 18) ^ (x >> 3);
        uint32_t s1 = ds_sha256_rotr(y, 17) ^ ds_sha256_rotr(y, 19) ^ (y >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (unsigned t = 0; t < 64; t++) {
        uint32_t S1 = ds_sha256_rotr(e, 6) ^ ds_sha256_rotr(e, 11) ^ ds_sha256_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + ds_sha256_k[t] + w[t];
        uint32_t S0 = ds_sha256_rotr(a, 2) ^ ds_sha256_rotr(a, 13) ^ ds_sha256_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void ds_sha256_init(ds_sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
    s->fill = 0;
}

void ds_sha256_update(ds_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->bytes += (uint64_t)n;
    if (s->fill > 0) {
        size_t take = 64 - s->fill < n ? 64 - s->fill : n;
        memcpy(s->block + s->fill, p, take);
        s->fill += take;
        p += take;
        n -= take;
        if (s->fill < 64)
            return;
        ds_sha256_compress(s->h, s->block);
        s->fill = 0;
    }
    for (; n >= 64; p += 64, n -= 64)
        ds_sha256_compress(s->h, p);
    if (n > 0)
        memcpy(s->block, p, n);
    s->fill = n;
}

void ds_sha256_final(ds_sha256 *s, uint8_t digest[DS_SHA256_DIGEST])
{
    uint64_t bits = s->bytes * 8u;
    s->block[s->fill++] = 0x80u;
    if (s->fill > 56) {
        memset(s->block + s->fill, 0, 64 - s->fill);
        ds_sha256_compress(s->h, s->block);
        s->fill = 0;
    }
    memset(s->block + s->fill, 0, 56 - s->fill);
    for (unsigned i = 0; i < 8; i++)
        s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    ds_sha256_compress(s->h, s->block);
    for (unsigned i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(s->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)s->h[i];
    }
    s->fill = 0;
}

void ds_sha256_hex(const void *data, size_t n, char hex[DS_SHA256_HEX])
{
    static const char digits[] = "0123456789abcdef";
    ds_sha256 s;
    uint8_t d[DS_SHA256_DIGEST];
    ds_sha256_init(&s);
    ds_sha256_update(&s, data, n);
    ds_sha256_final(&s, d);
    for (unsigned i = 0; i < DS_SHA256_DIGEST; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15u];
    }
    hex[64] = '\0';
}
