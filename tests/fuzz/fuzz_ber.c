/* fuzz_ber.c - libFuzzer harness: the BER reader on any input.
 *
 * Walks the input recursively twice: with ber_walk (depth-limited) and by hand,
 * calling every value helper on every TLV, so each helper sees hostile lengths. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ber.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink_v;

static void walk(struct cursor c, unsigned depth)
{
    if (depth > BER_MAX_DEPTH) return;
    for (;;) {
        struct ber_tlv t;
        enum ber_status s = ber_read(&c, &t);
        if (s == BER_EOF || s == BER_BAD) return;
        if (cursor_left(&t.val) > t.len) abort(); /* a value never exceeds its declared length */
        int64_t i;
        uint64_t u;
        int b;
        unsigned unused;
        const uint8_t *p;
        size_t n;
        uint32_t secs, frac;
        uint8_t q;
        if (ber_int(&t, &i)) sink_v += (uint64_t)i;
        if (ber_uint(&t, &u)) sink_v += u;
        if (ber_bool(&t, &b)) sink_v += (uint64_t)b;
        if (ber_bitstring(&t, &unused, &p, &n) && n) sink_v += p[n - 1] + unused;
        if (ber_octets(&t, &p, &n) && n) sink_v += p[0] + p[n - 1];
        if (ber_utc_time(&t, &secs, &frac, &q)) sink_v += secs + frac + q;
        if (t.constructed) walk(t.val, depth + 1);
        if (s == BER_TRUNCATED) return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = cursor_make(data, size);
    struct ber_walk_stats st;
    enum ber_status s = ber_walk(c, BER_MAX_DEPTH, &st);
    if (st.max_depth > BER_MAX_DEPTH || (s != BER_OK && s != BER_TRUNCATED && s != BER_BAD))
        abort();
    walk(c, 1);
    return 0;
}
