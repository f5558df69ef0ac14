/* fuzz_enip.c - libFuzzer harness for the EtherNet/IP and CIP dissectors.
 *
 * Input: mode byte (bit 0: UDP datagrams, else a TCP stream), then chunks
 *   flags u8  bit 7: client -> server; bit 6: TCP: bytes were lost before this chunk,
 *             UDP: the datagram is on port 2222 (class 0/1 I/O)
 *   len   u16 little-endian (cut to what is left)
 *   bytes
 * TCP chunks are buffered per direction as the engine does (fuzz_stream.h). */
#include "fuzz_stream.h"

extern const struct dissector enip_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_stream s;
    if (size < 1) return 0;
    int udp = data[0] & 1;
    size_t off = 1;
    if (fuzz_stream_init(&s, &enip_dissector, 0) != 0) return 0;
    uint64_t ts = FUZZ_T0;
    while (off + 3 <= size) {
        uint8_t flags = data[off];
        size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
        off += 3;
        if (len > size - off) len = size - off;
        const uint8_t *chunk = data + off;
        off += len;
        int to_server = (flags & 0x80) != 0;
        ts += 1000;
        s.sink.net.src_port = to_server ? 50000 : 44818;
        s.sink.net.dst_port = to_server ? 44818 : 50000;
        if (udp) {
            if (flags & 0x40) s.sink.net.src_port = s.sink.net.dst_port = 2222;
            fuzz_datagram(&s, to_server, chunk, len, ts);
            continue;
        }
        if (flags & 0x40) fuzz_stream_gap(&s, to_server);
        fuzz_stream_append(&s, to_server, chunk, len);
        fuzz_stream_parse(&s, to_server, ts);
    }
    fuzz_stream_free(&s);
    return 0;
}
