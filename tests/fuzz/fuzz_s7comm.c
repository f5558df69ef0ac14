/* fuzz_s7comm.c - libFuzzer harness for the S7comm / S7comm-plus dissector.
 *
 * The input is a sequence of chunks, each "ctl | len | len bytes": ctl bit 0 is the
 * direction, bit 1 declares a gap before the chunk. Like the engine, the harness
 * buffers each direction, probes until the probe decides, then offers all buffered
 * bytes to parse() and keeps what it did not consume; a buffer beyond max_pdu is
 * dropped (the engine resyncs). The dissector is parsed even after PROBE_NO so the
 * parser sees every input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"

extern const struct dissector s7comm_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink_deliver(void *ctx, struct event *e)
{
    char buf[8192];
    (void)ctx;
    event_to_json(e, "fuzz", buf, sizeof(buf)); /* walks every field */
}

struct dirbuf {
    uint8_t *p;
    size_t len;
    int gap;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct dissector *d = &s7comm_dissector;
    static struct event_sink sink;
    event_sink_init(&sink, sink_deliver, NULL);
    void *st = d->state_new();
    struct dirbuf dir[2] = {{0}, {0}};
    int probed = 0;
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t ctl = data[off];
        size_t n = data[off + 1];
        off += 2;
        if (n > size - off) n = size - off;
        int ds = ctl & 1;
        struct dirbuf *b = &dir[ds];
        if (ctl & 2) {
            d->gap(st, ds);
            b->len = 0;
            b->gap = 1;
        }
        uint8_t *np = realloc(b->p, b->len + n + 1);
        if (!np) abort();
        b->p = np;
        memcpy(b->p + b->len, data + off, n);
        b->len += n;
        off += n;
        if (!probed) {
            struct cursor c = cursor_make(b->p, b->len);
            enum probe_result r = d->probe(&c, ds);
            if (r == PROBE_NEED_MORE && b->len < 4096) continue;
            probed = 1;
        }
        /* deliver both directions, as the engine does once the dissector is chosen */
        for (int k = 0; k < 2; k++) {
            struct dirbuf *q = &dir[k];
            if (q->len == 0) continue;
            struct cursor c = cursor_make(q->p, q->len);
            struct pdu_info info = {
                .to_server = k, .transport = DISS_TCP, .after_gap = q->gap, .ts_us = off};
            size_t used = d->parse(st, &c, &info, &sink);
            if (used > q->len) abort(); /* contract: never more than offered */
            q->gap = 0;
            memmove(q->p, q->p + used, q->len - used);
            q->len -= used;
            if (q->len > d->max_pdu) q->len = 0;
        }
    }
    d->state_free(st);
    free(dir[0].p);
    free(dir[1].p);
    return 0;
}
