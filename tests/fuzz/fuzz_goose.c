/* fuzz_goose.c - libFuzzer harness: GOOSE and SV dissectors in frame mode.
 *
 * Input: frames, each [u8 flags][u16 len][len bytes] (the bytes after the
 * ethertype, as the engine hands them over). flags bit 0 selects SV instead of
 * GOOSE; the high nibble advances time. Both dissectors keep one state across the
 * input, so several frames exercise the publisher and stream rules. GOOSE must
 * emit exactly one event per frame. Every event is serialised to JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dissector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct dissector goose_dissector;
extern const struct dissector sv_dissector;

static void deliver(void *ctx, struct event *e)
{
    static char json[65536];
    (void)ctx;
    size_t n = event_to_json(e, "fuzz", json, sizeof(json));
    if (n == 0 || n >= sizeof(json)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event_sink sink;
    event_sink_init(&sink, deliver, NULL);
    void *gs = goose_dissector.state_new();
    void *ss = sv_dissector.state_new();
    if (!gs || !ss) abort();
    struct cursor in = cursor_make(data, size);
    uint64_t ts = 1600000000000000ull;
    while (cursor_left(&in) >= 3) {
        uint8_t flags = cursor_u8(&in);
        size_t n = cursor_u16be(&in);
        if (n > cursor_left(&in)) n = cursor_left(&in);
        struct cursor frame = cursor_sub(&in, n);
        ts += 1000u * (flags >> 4);
        sink.net.ts_us = ts;
        struct pdu_info info = {1, DISS_L2, 0, ts};
        uint64_t before = sink.emitted;
        if (flags & 1) {
            sv_dissector.parse(ss, &frame, &info, &sink);
        } else {
            goose_dissector.parse(gs, &frame, &info, &sink);
            if (sink.emitted != before + 1) abort(); /* the contract: one event per GOOSE frame */
        }
        if (sink.top != 0) abort();
    }
    goose_dissector.state_free(gs);
    sv_dissector.state_free(ss);
    return 0;
}
