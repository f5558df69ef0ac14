/* fuzz_iec104.c - libFuzzer harness for the IEC 60870-5-104 dissector: a TCP
 * stream with both directions, chunked as the engine would deliver it. */
#include "fuzz_stream.h"

extern const struct dissector iec104_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(&iec104_dissector, data, size, 0, NULL);
}
