/* fuzz_bacnet.c - libFuzzer harness: the BACnet/IP dissector fed datagrams.
 *
 * Input: a sequence of datagrams, each [u16 big-endian length][bytes];
 * directions alternate (client, server, ...). Each datagram is probed and
 * parsed once, as the engine does for UDP, and every event is serialised to
 * JSON to exercise the field builder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct dissector bacnet_dissector;

static void deliver(void *ctx, struct event *e)
{
    static char json[65536];
    int *count = ctx;
    size_t n = event_to_json(e, "fuzz", json, sizeof(json));
    if (n == 0 || n >= sizeof(json)) abort(); /* an event must always fit a generous line */
    (*count)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct dissector *d = &bacnet_dissector;
    static struct event_sink sink;
    int count = 0;
    event_sink_init(&sink, deliver, &count);
    void *st = d->state_new();
    if (!st) return 0;
    struct cursor in = cursor_make(data, size);
    for (int dir = 0; cursor_left(&in) >= 2; dir ^= 1) {
        size_t n = cursor_u16be(&in);
        if (n > cursor_left(&in)) n = cursor_left(&in);
        /* a heap copy of exactly n bytes so ASan sees any over-read */
        uint8_t *dgram = malloc(n ? n : 1);
        if (!dgram) break;
        memcpy(dgram, cursor_take(&in, n), n);
        struct cursor pc = cursor_make(dgram, n);
        enum probe_result pr = d->probe(&pc, dir == 0);
        if (pr != PROBE_NO && pr != PROBE_YES && pr != PROBE_NEED_MORE) abort();
        struct cursor c = cursor_make(dgram, n);
        struct pdu_info info = {dir == 0, DISS_UDP, 0, 1600000000000000ull};
        int before = count;
        d->parse(st, &c, &info, &sink);
        free(dgram);
        if (count != before + 1) abort(); /* one event per datagram */
        if (sink.top != 0) abort();       /* every event begun was emitted */
    }
    d->state_free(st);
    return 0;
}
