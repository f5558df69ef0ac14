/* fuzz_stream.h - drives one dissector the way the engine does, for libFuzzer.
 *
 * The core, struct fuzz_stream, is what every stream harness shares: per direction
 * the bytes parse() has not consumed yet, and a feed loop like the engine's
 * (sensor/worker.c stream_feed/parse_run): parse() sees everything buffered, from
 * an exact-size heap copy so ASan sees any over-read; it is called until it
 * consumes nothing; a chunk that would overflow the buffer (2 * max_pdu, the
 * engine's cap) drops it as a gap, and a gap calls the dissector's gap() and sets
 * after_gap. A dissector that waits on max_pdu or more buffered bytes is a
 * contract violation (abort) in strict mode, else dropped as the engine resyncs.
 * After each feed every event begun must have been emitted, and every event must
 * serialise into the engine's 64 KiB line.
 *
 * Two input formats are built on it:
 * - fuzz_run(): a flags byte, then chunks of [header, bytes]. Header bit 7 is the
 *   direction (1 = to server), bits 0..6 the chunk length (cut to what is left);
 *   length 0x7F means "bytes were lost here". flags bit 0: UDP (each chunk one
 *   datagram), bit 1: apply the harness's fixup to each copy (e.g. to repair
 *   checksums, so that mutations reach the layers behind them).
 * - fuzz_run_chunks(): [mode byte if UDP is allowed] then chunks [len][flags][bytes]
 *   alternating direction (client first); flags bit 0: bytes were lost before the
 *   chunk, bits 4..7 advance the clock by that many ms. Mode bit 0: UDP, each chunk
 *   [len][bytes] one datagram.
 * Harnesses with their own format (enip, s7comm) use fuzz_stream_* directly. */
#ifndef OTS_FUZZ_STREAM_H
#define OTS_FUZZ_STREAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_T0 1600000000000000ull

static char fuzz_json[65536];

static inline void fuzz_deliver(void *ctx, struct event *e)
{
    (void)ctx;
    size_t n = event_to_json(e, "fuzz", fuzz_json, sizeof(fuzz_json));
    if (n == 0 || n >= sizeof(fuzz_json)) abort(); /* the engine's line is 64 KiB */
}

typedef void (*fuzz_fixup_fn)(uint8_t *p, size_t n);

struct fuzz_dir {
    uint8_t *buf;
    size_t len;
    int after_gap;
};

struct fuzz_stream {
    const struct dissector *d;
    void *st;
    struct event_sink sink;
    struct fuzz_dir dir[2]; /* indexed by to_server */
    size_t cap;             /* bytes held per direction before a forced gap */
    int strict;             /* waiting on max_pdu bytes or more aborts */
    fuzz_fixup_fn fixup;    /* rewrites each copy before parse(), or NULL */
};

/* Buffers live across runs (one harness, one dissector): no 2 * max_pdu malloc per input. */
static uint8_t *fuzz_bufs[2];
static size_t fuzz_bufs_cap;

/* Starts a stream for d; returns 0, or -1 if the dissector gave no state. */
static inline int fuzz_stream_init(struct fuzz_stream *s, const struct dissector *d, int strict)
{
    memset(s, 0, sizeof(*s));
    s->d = d;
    s->strict = strict;
    s->cap = 2u * (size_t)d->max_pdu;
    if (s->cap > fuzz_bufs_cap) {
        for (int i = 0; i < 2; i++) {
            free(fuzz_bufs[i]);
            fuzz_bufs[i] = malloc(s->cap);
            if (!fuzz_bufs[i]) abort();
        }
        fuzz_bufs_cap = s->cap;
    }
    s->dir[0].buf = fuzz_bufs[0];
    s->dir[1].buf = fuzz_bufs[1];
    event_sink_init(&s->sink, fuzz_deliver, NULL);
    s->st = d->state_new();
    return s->st ? 0 : -1;
}

static inline void fuzz_stream_free(struct fuzz_stream *s)
{
    s->d->state_free(s->st);
}

/* Bytes were lost in this direction: drop what is buffered, as the engine does. */
static inline void fuzz_stream_gap(struct fuzz_stream *s, int to_server)
{
    s->dir[to_server].len = 0;
    s->dir[to_server].after_gap = 1;
    if (s->d->gap) s->d->gap(s->st, to_server);
}

/* Checks the probe on a chunk: any result but the three defined ones is a bug. */
static inline void fuzz_probe(const struct dissector *d, const uint8_t *p, size_t n, int to_server)
{
    if (!d->probe) return;
    struct cursor c = cursor_make(p, n);
    enum probe_result r = d->probe(&c, to_server);
    if (r != PROBE_NO && r != PROBE_YES && r != PROBE_NEED_MORE) abort();
}

/* Appends in-order bytes to a direction (a gap first if the buffer would overflow). */
static inline void fuzz_stream_append(struct fuzz_stream *s, int to_server, const uint8_t *p,
                                      size_t n)
{
    struct fuzz_dir *fd = &s->dir[to_server];
    if (n > s->cap) { /* more than the engine ever holds: only the tail can matter */
        fuzz_stream_gap(s, to_server);
        p += n - s->cap;
        n = s->cap;
    }
    if (fd->len + n > s->cap) fuzz_stream_gap(s, to_server);
    memcpy(fd->buf + fd->len, p, n);
    fd->len += n;
}

/* Offers a direction's buffered bytes to parse() until it needs more: one exact-size
 * copy per call, parsed at advancing offsets, as the engine's parse_run() does. */
static inline void fuzz_stream_parse(struct fuzz_stream *s, int to_server, uint64_t ts)
{
    struct fuzz_dir *fd = &s->dir[to_server];
    const struct dissector *d = s->d;
    size_t off = 0;
    s->sink.net.ts_us = ts;
    s->sink.net.to_server = (uint8_t)to_server;
    if (fd->len == 0) return;
    uint8_t *copy = malloc(fd->len);
    if (!copy) abort();
    memcpy(copy, fd->buf, fd->len);
    if (s->fixup) s->fixup(copy, fd->len);
    while (off < fd->len) {
        struct cursor c = cursor_make(copy + off, fd->len - off);
        struct pdu_info info = {to_server, DISS_TCP, fd->after_gap, ts};
        size_t used = d->parse(s->st, &c, &info, &s->sink);
        if (used > fd->len - off) abort(); /* contract: never more than offered */
        if (used == 0) {
            if (fd->len - off >= d->max_pdu) {
                /* waiting for more than the engine may buffer */
                if (s->strict) abort();
                off = fd->len;
                free(copy);
                fuzz_stream_gap(s, to_server);
                copy = NULL;
            }
            break;
        }
        fd->after_gap = 0;
        off += used;
    }
    if (copy) {
        /* keep what was not consumed, as the engine does (unfixed bytes) */
        memmove(fd->buf, fd->buf + off, fd->len - off);
        fd->len -= off;
        free(copy);
    }
    if (s->sink.top != 0) abort(); /* every event begun was emitted */
}

/* One datagram, from an exact-size heap copy. */
static inline void fuzz_datagram(struct fuzz_stream *s, int to_server, const uint8_t *p, size_t n,
                                 uint64_t ts)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) abort();
    memcpy(copy, p, n);
    if (s->fixup) s->fixup(copy, n);
    struct cursor c = cursor_make(copy, n);
    struct pdu_info info = {to_server, DISS_UDP, 0, ts};
    s->sink.net.ts_us = ts;
    s->sink.net.to_server = (uint8_t)to_server;
    s->d->parse(s->st, &c, &info, &s->sink);
    free(copy);
    if (s->sink.top != 0) abort();
}

/* Format 1 (see the top): flags bit 0 UDP (if allow_udp); bit 1 apply fixup. */
static inline int fuzz_run(const struct dissector *d, const uint8_t *data, size_t size,
                           int allow_udp, fuzz_fixup_fn fixup)
{
    static struct fuzz_stream s;
    if (size < 1) return 0;
    int udp = allow_udp && (data[0] & 1);
    if (fuzz_stream_init(&s, d, 0) != 0) return 0;
    if (data[0] & 2) s.fixup = fixup;
    size_t off = 1;
    int probed = 0;
    while (off < size) {
        uint8_t h = data[off++];
        int to_server = h >> 7;
        size_t n = h & 0x7F;
        if (n == 0x7F) {
            fuzz_stream_gap(&s, to_server);
            continue;
        }
        if (n > size - off) n = size - off;
        if (!probed) {
            fuzz_probe(d, data + off, n, to_server);
            probed = 1;
        }
        if (udp) {
            fuzz_datagram(&s, to_server, data + off, n, 0);
        } else {
            fuzz_stream_append(&s, to_server, data + off, n);
            fuzz_stream_parse(&s, to_server, 0);
        }
        off += n;
    }
    fuzz_stream_free(&s);
    return 0;
}

/* How fuzz_run_chunks reads a chunk's length. */
enum fuzz_len { FUZZ_LEN_U8, FUZZ_LEN_U16LE, FUZZ_LEN_U16BE };

static inline size_t fuzz_read_len(struct cursor *in, enum fuzz_len lf)
{
    switch (lf) {
    case FUZZ_LEN_U8: return cursor_u8(in);
    case FUZZ_LEN_U16LE: return cursor_u16le(in);
    default: return cursor_u16be(in);
    }
}

/* Sets the sink's network context for a chunk (e.g. ports a dissector looks at). */
typedef void (*fuzz_net_fn)(struct ev_net *net, int to_server, uint8_t flags);

/* Format 2 (see the top), strict: a dissector may not wait on max_pdu bytes. */
static inline int fuzz_run_chunks(const struct dissector *d, const uint8_t *data, size_t size,
                                  enum fuzz_len lf, int allow_udp, fuzz_net_fn net)
{
    static struct fuzz_stream s;
    size_t lsz = lf == FUZZ_LEN_U8 ? 1 : 2;
    if (fuzz_stream_init(&s, d, 1) != 0) return 0;
    struct cursor in = cursor_make(data, size);
    uint64_t ts = FUZZ_T0;
    if (allow_udp && (cursor_u8(&in) & 1)) {
        for (int dir = 0; cursor_left(&in) >= lsz; dir ^= 1) {
            size_t n = fuzz_read_len(&in, lf);
            if (n > cursor_left(&in)) n = cursor_left(&in);
            const uint8_t *p = cursor_take(&in, n);
            fuzz_probe(d, p, n, dir == 0);
            fuzz_datagram(&s, dir == 0, p, n, ts++);
        }
        fuzz_stream_free(&s);
        return 0;
    }
    for (int dir = 0; cursor_left(&in) >= lsz + 1; dir ^= 1) {
        size_t n = fuzz_read_len(&in, lf);
        uint8_t flags = cursor_u8(&in);
        if (n > cursor_left(&in)) n = cursor_left(&in);
        const uint8_t *chunk = cursor_take(&in, n);
        ts += 1000u * (flags >> 4);
        if (flags & 1) fuzz_stream_gap(&s, dir == 0);
        if (n == 0) continue;
        fuzz_probe(d, chunk, n, dir == 0);
        fuzz_stream_append(&s, dir == 0, chunk, n);
        if (net) net(&s.sink.net, dir == 0, flags);
        fuzz_stream_parse(&s, dir == 0, ts);
    }
    fuzz_stream_free(&s);
    return 0;
}

#endif
