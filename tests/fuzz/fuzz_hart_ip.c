/* fuzz_hart_ip.c - libFuzzer harness: the HART-IP dissector fed as the engine feeds it.
 *
 * Input: fuzz_stream.h format 2 with a mode byte (bit 0: UDP datagrams, else a TCP
 * stream), chunk lengths u16 little-endian. */
#include "fuzz_stream.h"

extern const struct dissector hart_ip_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run_chunks(&hart_ip_dissector, data, size, FUZZ_LEN_U16LE, 1, NULL);
}
