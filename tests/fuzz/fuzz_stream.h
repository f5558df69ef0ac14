/* fuzz_stream.h - drives one dissector the way the engine does, for libFuzzer.
 *
 * Input: a flags byte, then chunks of [header, bytes]. Header bit 7 is the
 * direction (1 = to server), bits 0..6 the chunk length (cut to what is left);
 * length 0x7F means "bytes were lost here" (a gap in that direction). TCP mode
 * buffers each direction and calls parse() until it consumes nothing, as the
 * engine does, with a copy of exactly the buffered bytes so ASan sees any
 * over-read; UDP mode hands each chunk over as one datagram. A harness may
 * pass a fixup that rewrites each copy first (e.g. to repair checksums, so
 * that mutations reach the layers behind them). */
#ifndef OTS_FUZZ_STREAM_H
#define OTS_FUZZ_STREAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "event.h"

static char fuzz_json[65536];

static void fuzz_deliver(void *ctx, struct event *e)
{
    (void)ctx;
    event_to_json(e, "fuzz", fuzz_json, sizeof(fuzz_json));
}

struct fuzz_dir {
    uint8_t buf[4096];
    size_t len;
    int after_gap;
};

typedef void (*fuzz_fixup_fn)(uint8_t *p, size_t n);

static void fuzz_feed_tcp(const struct dissector *d, void *st, struct fuzz_dir *fd, int to_server,
                          struct event_sink *sink, fuzz_fixup_fn fixup)
{
    while (fd->len > 0) {
        uint8_t *copy = malloc(fd->len);
        if (!copy) return;
        memcpy(copy, fd->buf, fd->len);
        if (fixup) fixup(copy, fd->len);
        struct cursor c = cursor_make(copy, fd->len);
        struct pdu_info info = {to_server, DISS_TCP, fd->after_gap, 0};
        size_t used = d->parse(st, &c, &info, sink);
        free(copy);
        fd->after_gap = 0;
        if (used > fd->len) abort(); /* contract: never more than offered */
        if (used == 0) {
            /* the engine resyncs when a PDU outgrows max_pdu */
            if (fd->len > d->max_pdu) {
                fd->len = 0;
                if (d->gap) d->gap(st, to_server);
                fd->after_gap = 1;
            }
            return;
        }
        memmove(fd->buf, fd->buf + used, fd->len - used);
        fd->len -= used;
    }
}

/* flags bit 0: UDP datagrams (if allow_udp); bit 1: apply the fixup. */
static int fuzz_run(const struct dissector *d, const uint8_t *data, size_t size, int allow_udp,
                    fuzz_fixup_fn fixup)
{
    if (size < 1) return 0;
    int udp = allow_udp && (data[0] & 1);
    if (!(data[0] & 2)) fixup = NULL;
    size_t off = 1;
    struct event_sink sink;
    event_sink_init(&sink, fuzz_deliver, NULL);
    void *st = d->state_new();
    if (!st) return 0;
    static struct fuzz_dir dirs[2];
    dirs[0].len = dirs[1].len = 0;
    dirs[0].after_gap = dirs[1].after_gap = 0;
    int probed = 0;
    while (off < size) {
        uint8_t h = data[off++];
        int to_server = h >> 7;
        size_t n = h & 0x7F;
        if (n == 0x7F) {
            dirs[to_server].len = 0;
            dirs[to_server].after_gap = 1;
            if (d->gap) d->gap(st, to_server);
            continue;
        }
        if (n > size - off) n = size - off;
        if (!probed && d->probe) {
            struct cursor pc = cursor_make(data + off, n);
            d->probe(&pc, to_server);
            probed = 1;
        }
        if (udp) {
            uint8_t *copy = malloc(n ? n : 1);
            if (copy) {
                memcpy(copy, data + off, n);
                if (fixup) fixup(copy, n);
                struct cursor c = cursor_make(copy, n);
                struct pdu_info info = {to_server, DISS_UDP, 0, 0};
                d->parse(st, &c, &info, &sink);
                free(copy);
            }
        } else {
            struct fuzz_dir *fd = &dirs[to_server];
            if (fd->len + n > sizeof(fd->buf)) { /* engine cap: drop and resync */
                fd->len = 0;
                fd->after_gap = 1;
                if (d->gap) d->gap(st, to_server);
            }
            memcpy(fd->buf + fd->len, data + off, n);
            fd->len += n;
            fuzz_feed_tcp(d, st, fd, to_server, &sink, fixup);
        }
        off += n;
    }
    d->state_free(st);
    return 0;
}

#endif
