/* fuzz_aggregate.c - libFuzzer harness: the alert aggregator fed arbitrary "alerts".
 *
 * Input: a sequence of alerts, each [u16 big-endian length][bytes] (the length's top bit
 * set: the alert is first offered without its text, as a worker does, and handed whole
 * only if it is not counted that way): the first
 * sizeof(struct alert_hdr) bytes are the alert's header as they are (spans anywhere,
 * in any order: the aggregator must check them against the text), the rest its text
 * (a shorter item is an alert without a header). A small
 * window and cap make windows close, reopen and evict. Every line that goes out is
 * checked to be one of the inputs or a summary no longer than a template plus the
 * fields it rewrites; the counts must add up. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
    uint64_t lines, bytes;
};

static void emit(void *ctx, const char *json, size_t len)
{
    struct tally *t = ctx;
    /* touch every byte so ASan sees an out-of-bounds summary */
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= (uint8_t)json[i];
    t->bytes += len + x * 0u;
    t->lines++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aggr *a = aggr_new(1, 3);
    if (!a) return 0;
    struct tally t = {0, 0};
    uint64_t in = 0;
    size_t off = 0;
    while (size - off >= 2) {
        int offer = data[off] >> 7;
        size_t n = (size_t)(data[off] & 0x7f) << 8 | data[off + 1];
        off += 2;
        if (n > size - off) n = size - off;
        struct alert_hdr h;
        size_t hl = n >= sizeof(h) ? sizeof(h) : 0;
        if (hl) memcpy(&h, data + off, hl);
        size_t tl = n - hl;
        char *al = malloc(tl ? tl : 1); /* exactly tl bytes, so ASan sees any over-read */
        if (!al) break;
        memcpy(al, data + off + hl, tl);
        if (!(offer && hl && aggr_count_only(a, &h, emit, &t)))
            aggr_alert_hdr(a, hl ? &h : NULL, al, tl, emit, &t);
        free(al);
        off += n;
        in++;
    }
    aggr_flush(a, emit, &t);
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    if (st.in != in || st.passed + st.summaries != t.lines || st.open != 0) abort();
    if (st.passed + st.merged != in) abort();
    aggr_free(a);
    return 0;
}
