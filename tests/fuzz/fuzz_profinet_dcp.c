/* fuzz_profinet_dcp.c - libFuzzer harness: the PROFINET DCP dissector, frame mode.
 *
 * Input: a sequence of frames, each [len u16le][len bytes] (the Ethernet
 * payload after the 0x8892 ethertype), all parsed with one flow state as the
 * engine does for a layer-2 flow. Each frame is copied to an exact-size heap
 * buffer so ASan sees any over-read. Every event is serialised to JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct dissector profinet_dcp_dissector;

static void deliver(void *ctx, struct event *e)
{
    static char json[65536];
    (void)ctx;
    size_t n = event_to_json(e, "fuzz", json, sizeof(json));
    if (n == 0 || n >= sizeof(json)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct dissector *d = &profinet_dcp_dissector;
    static struct event_sink sink;
    event_sink_init(&sink, deliver, NULL);
    void *st = d->state_new();
    if (!st) return 0;
    struct cursor in = cursor_make(data, size);
    uint64_t ts = 1600000000000000ull;
    while (cursor_left(&in) >= 2) {
        size_t n = cursor_u16le(&in);
        if (n > cursor_left(&in)) n = cursor_left(&in);
        uint8_t *frame = malloc(n ? n : 1);
        if (!frame) break;
        memcpy(frame, cursor_take(&in, n), n);
        struct cursor c = cursor_make(frame, n);
        struct pdu_info info = {1, DISS_L2, 0, ts++};
        sink.net.ts_us = ts;
        d->parse(st, &c, &info, &sink);
        free(frame);
        if (sink.top != 0) abort(); /* every event begun was emitted */
    }
    d->state_free(st);
    return 0;
}
