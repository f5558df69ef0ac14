/* fuzz_mms.c - libFuzzer harness: the MMS dissector (TPKT, COTP, session, presentation,
 * ACSE, MMS) fed as the engine feeds it.
 *
 * Input: fuzz_stream.h format 2, TCP only, one-byte chunk lengths. */
#include "fuzz_stream.h"

extern const struct dissector mms_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run_chunks(&mms_dissector, data, size, FUZZ_LEN_U8, 0, NULL);
}
