/* fuzz_mqtt.c - libFuzzer harness: the MQTT dissector fed as the engine feeds it.
 *
 * Input: fuzz_stream.h format 2, TCP only, chunk lengths u16 big-endian (long chunks
 * reach the large-PUBLISH skip path). */
#include "fuzz_stream.h"

extern const struct dissector mqtt_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run_chunks(&mqtt_dissector, data, size, FUZZ_LEN_U16BE, 0, NULL);
}
