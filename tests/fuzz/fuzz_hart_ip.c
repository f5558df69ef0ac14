/* fuzz_hart_ip.c - libFuzzer harness: the HART-IP dissector fed as the engine feeds it.
 *
 * Input: a mode byte (bit 0 set: UDP, each chunk one datagram in an exact-size
 * heap buffer, directions alternating; clear: TCP as below), then a sequence of chunks, each [len
 * u16le][flags][len bytes]; chunks alternate direction (client, server, client, ...). flags bit 0:
 * bytes were lost before this chunk (the engine drops the direction's buffer, calls gap() and sets
 * after_gap). Per direction we keep what parse() did not consume and append the
 * next chunk, dropping the buffer (as a gap) beyond 2 * max_pdu, as the engine
 * does. Every event is serialised to JSON to exercise the field builder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct dissector hart_ip_dissector;

#define BUF_CAP (2u * 65535u)

static void deliver(void *ctx, struct event *e)
{
    static char json[65536];
    (void)ctx;
    size_t n = event_to_json(e, "fuzz", json, sizeof(json));
    if (n == 0 || n >= sizeof(json)) abort(); /* an event must always fit a generous line */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct dissector *d = &hart_ip_dissector;
    static uint8_t buf[2][BUF_CAP];
    size_t len[2] = {0, 0};
    int after_gap[2] = {0, 0};
    size_t cap = 2u * d->max_pdu;
    static struct event_sink sink;
    event_sink_init(&sink, deliver, NULL);
    void *st = d->state_new();
    if (!st) return 0;
    struct cursor in = cursor_make(data, size);
    uint64_t ts = 1600000000000000ull;
    if (cursor_u8(&in) & 1) {
        for (int dir = 0; cursor_left(&in) >= 2; dir ^= 1) {
            size_t n = cursor_u16le(&in);
            if (n > cursor_left(&in)) n = cursor_left(&in);
            uint8_t *dg = malloc(n ? n : 1);
            if (!dg) break;
            memcpy(dg, cursor_take(&in, n), n);
            struct cursor c = cursor_make(dg, n);
            struct cursor pc = c;
            d->probe(&pc, dir == 0);
            struct pdu_info info = {dir == 0, DISS_UDP, 0, ts++};
            sink.net.ts_us = ts;
            d->parse(st, &c, &info, &sink);
            free(dg);
            if (sink.top != 0) abort();
        }
        d->state_free(st);
        return 0;
    }
    for (int dir = 0; cursor_left(&in) >= 3; dir ^= 1) {
        size_t n = cursor_u16le(&in);
        uint8_t flags = cursor_u8(&in);
        if (n > cursor_left(&in)) n = cursor_left(&in);
        const uint8_t *chunk = cursor_take(&in, n);
        ts += 1000u * (flags >> 4);
        if (flags & 1) {
            len[dir] = 0;
            if (d->gap) d->gap(st, dir == 0);
            after_gap[dir] = 1;
        }
        if (n == 0) continue;
        {
            struct cursor pc = cursor_make(chunk, n);
            enum probe_result pr = d->probe(&pc, dir == 0);
            if (pr != PROBE_NO && pr != PROBE_YES && pr != PROBE_NEED_MORE) abort();
        }
        if (len[dir] + n > cap) { /* the engine's cap: drop and resync */
            len[dir] = 0;
            if (d->gap) d->gap(st, dir == 0);
            after_gap[dir] = 1;
        }
        memcpy(buf[dir] + len[dir], chunk, n);
        len[dir] += n;
        sink.net.ts_us = ts;
        sink.net.to_server = (uint8_t)(dir == 0);
        for (;;) {
            struct pdu_info info = {dir == 0, DISS_TCP, after_gap[dir], ts};
            struct cursor c = cursor_make(buf[dir], len[dir]);
            size_t used = d->parse(st, &c, &info, &sink);
            if (used > len[dir]) abort(); /* consumed more than it was given */
            if (used == 0) {
                /* waiting is only allowed for a PDU that could still fit */
                if (len[dir] >= d->max_pdu) abort();
                break;
            }
            after_gap[dir] = 0;
            memmove(buf[dir], buf[dir] + used, len[dir] - used);
            len[dir] -= used;
            if (len[dir] == 0) break;
        }
        if (sink.top != 0) abort(); /* every event begun was emitted */
    }
    d->state_free(st);
    return 0;
}
