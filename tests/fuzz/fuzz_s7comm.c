/* fuzz_s7comm.c - libFuzzer harness for the S7comm / S7comm-plus dissector.
 *
 * The input is a sequence of chunks, each "ctl | len | len bytes": ctl bit 0 is the
 * direction (1: to server), bit 1 declares a gap before the chunk. Like the engine,
 * the harness buffers each direction (fuzz_stream.h), probes until the probe
 * decides, then offers both directions' buffered bytes to parse() after every
 * chunk. The dissector is parsed even after PROBE_NO so the parser sees every input. */
#include "fuzz_stream.h"

extern const struct dissector s7comm_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_stream s;
    const struct dissector *d = &s7comm_dissector;
    if (fuzz_stream_init(&s, d, 0) != 0) return 0;
    int probed = 0;
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t ctl = data[off];
        size_t n = data[off + 1];
        off += 2;
        if (n > size - off) n = size - off;
        int ds = ctl & 1;
        if (ctl & 2) fuzz_stream_gap(&s, ds);
        fuzz_stream_append(&s, ds, data + off, n);
        off += n;
        if (!probed) {
            struct cursor c = cursor_make(s.dir[ds].buf, s.dir[ds].len);
            enum probe_result r = d->probe(&c, ds);
            if (r == PROBE_NEED_MORE && s.dir[ds].len < 4096) continue;
            probed = 1;
        }
        /* both directions, as the engine does once the dissector is chosen */
        for (int k = 0; k < 2; k++)
            fuzz_stream_parse(&s, k, off);
    }
    fuzz_stream_free(&s);
    return 0;
}
