/* fuzz_enip.c - libFuzzer harness for the EtherNet/IP and CIP dissectors.
 *
 * Input: mode byte (bit 0: UDP datagrams, else a TCP stream), then chunks
 *   flags u8  bit 7: client -> server; bit 6: TCP: bytes were lost before this chunk,
 *             UDP: the datagram is on port 2222 (class 0/1 I/O)
 *   len   u16 little-endian (cut to what is left)
 *   bytes
 * TCP chunks are buffered per direction as the engine does: parse() sees everything
 * not yet consumed, a buffer beyond max_pdu is dropped as a gap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "event.h"

extern const struct dissector enip_dissector;

static void sink_deliver(void *ctx, struct event *e)
{
    static char json[65536];
    (void)ctx;
    event_to_json(e, "fuzz", json, sizeof(json)); /* exercise the writer on every event */
}

struct dir_buf {
    uint8_t *b;
    size_t len;
    int gap;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event_sink sink;
    if (size < 1) return 0;
    event_sink_init(&sink, sink_deliver, NULL);
    int udp = data[0] & 1;
    size_t off = 1;
    void *st = enip_dissector.state_new();
    if (!st) return 0;
    size_t cap = enip_dissector.max_pdu + 4096;
    struct dir_buf d[2] = {{malloc(cap), 0, 0}, {malloc(cap), 0, 0}};
    uint64_t ts = 1600000000000000ull;

    while (off + 3 <= size && d[0].b && d[1].b) {
        uint8_t flags = data[off];
        size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
        off += 3;
        if (len > size - off) len = size - off;
        const uint8_t *chunk = data + off;
        off += len;
        int to_server = (flags & 0x80) != 0;
        ts += 1000;
        sink.net.ts_us = ts;
        sink.net.src_port = to_server ? 50000 : 44818;
        sink.net.dst_port = to_server ? 44818 : 50000;
        struct pdu_info info = {to_server, udp ? DISS_UDP : DISS_TCP, 0, ts};
        if (udp) {
            if (flags & 0x40) {
                sink.net.src_port = 2222;
                sink.net.dst_port = 2222;
            }
            /* a private copy so ASan sees reads past the datagram */
            uint8_t *copy = malloc(len ? len : 1);
            if (!copy) break;
            memcpy(copy, chunk, len);
            struct cursor c = cursor_make(copy, len);
            enip_dissector.parse(st, &c, &info, &sink);
            free(copy);
            continue;
        }
        struct dir_buf *b = &d[to_server];
        if (flags & 0x40) {
            b->len = 0;
            b->gap = 1;
        }
        if (b->len + len > cap) {
            b->len = 0;
            b->gap = 1;
        }
        memcpy(b->b + b->len, chunk, len);
        b->len += len;
        for (;;) {
            /* parse an exact-size heap copy so reads past the end are caught */
            uint8_t *view = malloc(b->len ? b->len : 1);
            if (!view) break;
            memcpy(view, b->b, b->len);
            struct cursor c = cursor_make(view, b->len);
            info.after_gap = b->gap;
            size_t used = enip_dissector.parse(st, &c, &info, &sink);
            free(view);
            if (used > b->len) abort(); /* consumed more than it was given */
            b->gap = 0;
            if (used == 0) {
                if (b->len > enip_dissector.max_pdu) { /* the engine gives up and resyncs */
                    b->len = 0;
                    b->gap = 1;
                }
                break;
            }
            memmove(b->b, b->b + used, b->len - used);
            b->len -= used;
            if (b->len == 0) break;
        }
    }
    free(d[0].b);
    free(d[1].b);
    enip_dissector.state_free(st);
    return 0;
}
