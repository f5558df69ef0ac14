/* fuzz_opcua.c - libFuzzer harness: the OPC UA dissector fed as the engine feeds it.
 *
 * Input: fuzz_stream.h format 2, TCP only, chunk lengths u16 little-endian. */
#include "fuzz_stream.h"

extern const struct dissector opcua_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run_chunks(&opcua_dissector, data, size, FUZZ_LEN_U16LE, 0, NULL);
}
