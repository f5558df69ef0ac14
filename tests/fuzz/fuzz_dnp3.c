/* fuzz_dnp3.c - libFuzzer harness for the DNP3 dissector: a TCP stream with
 * both directions, or (flags bit 0) a series of UDP datagrams; flags bit 1
 * repairs CRCs so mutations reach the transport and application layers. */
#include "fuzz_stream.h"

/* The dissector is compiled into the harness so that it carries libFuzzer's
 * coverage instrumentation (otscore is built without -fsanitize=fuzzer-no-link);
 * the linker then takes no dnp3.o from otscore. */
#include "../../dissectors/dnp3.c"

/* Rewrites the header and block CRCs of every frame that starts in p, so that
 * mutated frames pass the link layer and exercise transport and application. */
static void fuzz_dnp3_fix_crcs(uint8_t *p, size_t n)
{
    for (size_t i = 0; i + DNP3_HDR_LEN <= n; i++) {
        if (p[i] != 0x05 || p[i + 1] != 0x64 || p[i + 2] < 5) continue;
        uint16_t c = dnp3_crc(p + i, 8);
        p[i + 8] = (uint8_t)c;
        p[i + 9] = (uint8_t)(c >> 8);
        size_t left = (size_t)p[i + 2] - 5, j = i + DNP3_HDR_LEN;
        while (left > 0) {
            size_t blk = left < 16 ? left : 16;
            if (j + blk + 2 > n) break;
            c = dnp3_crc(p + j, blk);
            p[j + blk] = (uint8_t)c;
            p[j + blk + 1] = (uint8_t)(c >> 8);
            j += blk + 2;
            left -= blk;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(&dnp3_dissector, data, size, 1, fuzz_dnp3_fix_crcs);
}
