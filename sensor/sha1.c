/* sha1.c - SHA-1 over one buffer (FIPS 180-4 §6.1), written for Community ID hashing. */
#include "sha1.h"

#include <string.h>

static uint32_t rol(uint32_t x, int n)
{
    return x << n | x >> (32 - n);
}

static void block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    /* four loops of twenty rounds, one function each: no branch per round */
#define ROUND(f, k, i)                                                                             \
    do {                                                                                           \
        uint32_t t = rol(a, 5) + (f) + e + (k) + w[i];                                             \
        e = d;                                                                                     \
        d = c;                                                                                     \
        c = rol(b, 30);                                                                            \
        b = a;                                                                                     \
        a = t;                                                                                     \
    } while (0)
    for (int i = 0; i < 20; i++)
        ROUND((b & c) | (~b & d), 0x5a827999u, i);
    for (int i = 20; i < 40; i++)
        ROUND(b ^ c ^ d, 0x6ed9eba1u, i);
    for (int i = 40; i < 60; i++)
        ROUND((b & c) | (b & d) | (c & d), 0x8f1bbcdcu, i);
    for (int i = 60; i < 80; i++)
        ROUND(b ^ c ^ d, 0xca62c1d6u, i);
#undef ROUND
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void sha1(const void *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    const uint8_t *p = data;
    size_t left = len;
    while (left >= 64) {
        block(h, p);
        p += 64;
        left -= 64;
    }
    uint8_t tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    block(h, tail);
    if (tl == 128) block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}
