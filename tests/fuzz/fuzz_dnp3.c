/* fuzz_dnp3.c - libFuzzer harness for the DNP3 dissector: a TCP stream with
 * both directions, or (flags bit 0) a series of UDP datagrams; flags bit 1
 * repairs CRCs so mutations reach the transport and application layers. */
#include "fuzz_stream.h"

extern const struct dissector dnp3_dissector;

/* DNP3 CRC (polynomial 0x3D65 reflected, inverted), for the fix-up below. */
static uint16_t fuzz_crc(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA6BC) : (uint16_t)(crc >> 1);
    }
    return (uint16_t)~crc;
}

/* Rewrites the header and block CRCs of every frame that starts in p, so that
 * mutated frames pass the link layer and exercise transport and application. */
static void fuzz_dnp3_fix_crcs(uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 10 <= n; i++) {
        if (p[i] != 0x05 || p[i + 1] != 0x64 || p[i + 2] < 5) continue;
        uint16_t c = fuzz_crc(p + i, 8);
        p[i + 8] = (uint8_t)c;
        p[i + 9] = (uint8_t)(c >> 8);
        size_t left = (size_t)p[i + 2] - 5, j = i + 10;
        while (left > 0) {
            size_t blk = left < 16 ? left : 16;
            if (j + blk + 2 > n) break;
            c = fuzz_crc(p + j, blk);
            p[j + blk] = (uint8_t)c;
            p[j + blk + 1] = (uint8_t)(c >> 8);
            j += blk + 2;
            left -= blk;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(&dnp3_dissector, data, size, 1, fuzz_dnp3_fix_crcs);
}
