/* fuzz_decode.c - libFuzzer harness for the L2-L4 decoder and IP reassembly.
 *
 * Input: byte 0 picks the link type (low 7 bits, modulo the table below). If its
 * high bit is clear, the rest is one frame; if set, the rest is a run of frames,
 * each as | length (2, big-endian) | bytes |, so that fragments of one datagram
 * can meet in the reassembly table. Every frame is decoded from a heap copy of
 * exactly its size (so ASan sees any over-read); fragments go to a small table
 * (4 datagrams, 16 KiB, 1 ms timeout, 100 us between frames) and what comes out
 * is decoded again, fed back if it is still a fragment (nested IPv6 fragment
 * headers), a few times at most. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ipfrag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int fuzz_links[] = {LINK_NULL, LINK_EN10MB, LINK_LOOP, LINK_RAW,  12, 14,
                                 LINK_IPV4, LINK_IPV6,   LINK_SLL,  LINK_SLL2, 147};
#define FUZZ_NLINKS (sizeof(fuzz_links) / sizeof(fuzz_links[0]))

/* Checks what the decoder promises about offsets. */
static void fuzz_check(const struct decoded *d, uint32_t len)
{
    if (d->kind == DECODED_BAD && (d->anomaly == DEC_NONE || d->anomaly >= DEC_ANOMALY_COUNT))
        abort();
    if (d->anomaly && !decode_anomaly_name(d->anomaly)) abort();
    if (d->kind != DECODED_BAD && (uint64_t)d->payload_off + d->payload_len > len) abort();
    if (d->ip_version && (uint64_t)d->l3_off + d->l3_len > len) abort();
    if (d->vlan_count > 2) abort();
}

static void fuzz_frame(struct ipfrag_table *t, int link, const uint8_t *bytes, size_t n,
                       uint64_t ts)
{
    uint8_t *p = malloc(n ? n : 1);
    if (!p) return;
    memcpy(p, bytes, n);
    struct decoded d;
    decode_frame(&d, link, p, (uint32_t)n);
    fuzz_check(&d, (uint32_t)n);
    for (int depth = 0; depth < 4 && d.kind == DECODED_FRAGMENT; depth++) {
        const uint8_t *out;
        uint32_t out_len;
        int anomaly;
        int r = ipfrag_add(t, &d, p, ts, &out, &out_len, &anomaly);
        if (anomaly < 0 || anomaly >= DEC_ANOMALY_COUNT) abort();
        if (r != 1) break;
        uint8_t *q = malloc(out_len ? out_len : 1);
        if (!q) break;
        memcpy(q, out, out_len);
        free(p);
        p = q;
        decode_ip(&d, p, out_len, 0);
        fuzz_check(&d, out_len);
    }
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int link = fuzz_links[(data[0] & 0x7f) % FUZZ_NLINKS];
    struct ipfrag_table *t = ipfrag_new(4, 16 * 1024, 1000);
    if (!t) return 0;
    if (!(data[0] & 0x80)) {
        fuzz_frame(t, link, data + 1, size - 1, 0);
    } else {
        size_t off = 1;
        uint64_t ts = 0;
        while (size - off >= 2) {
            size_t n = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            if (n > size - off) n = size - off;
            fuzz_frame(t, link, data + off, n, ts);
            off += n;
            ts += 100;
        }
    }
    ipfrag_expire(t, UINT64_MAX);
    ipfrag_free(t);
    return 0;
}
