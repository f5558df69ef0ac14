/* fuzz_object.c - libFuzzer harness for the object reassembly path into YARA.
 *
 * The first byte picks the mode:
 *  - even: a dissector with YARA on, picked by bits 1-3: S7comm (block
 *    download/upload), Modbus (file record runs, UMAS program transfers), DNP3
 *    (g70v5 file transport), BACnet (AtomicWriteFile runs, one datagram per
 *    chunk), MMS (file reads, domain uploads/downloads), EtherNet/IP (CIP File
 *    object transfers), HTTP (bodies), FTP data, FTP control (which names FTP
 *    data objects through a table that outlives the run) or OPC UA (Write
 *    values, from 16 bytes), picked by bits 1-4; the rest is chunks "ctl | len | bytes" as
 *    in fuzz_s7comm.c (ctl bit 0: direction, bit 1: a gap before the chunk).
 *    Stream windows run beside the dissector as in the engine, and the flow
 *    ends with its end() hook;
 *  - odd: the object and stream API driven directly by opcodes
 *    "op | arg | [arg bytes]": begin (cap = arg), attr, append (arg bytes),
 *    end, abort or partial (arg bit 0), stream data, stream scan, flow end.
 * A tiny object_max (64..319 bytes, from the second byte) makes the cap path
 * common. Rules match short strings so events and alerts are built too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "object.h"
#include "yara_scan.h"

extern const struct dissector s7comm_dissector;
extern const struct dissector modbus_dissector;
extern const struct dissector dnp3_dissector;
extern const struct dissector bacnet_dissector;
extern const struct dissector mms_dissector;
extern const struct dissector enip_dissector;
extern const struct dissector http_dissector;
extern const struct dissector ftp_data_dissector;
extern const struct dissector ftp_dissector;
extern const struct dissector opcua_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink_deliver(void *ctx, struct event *e)
{
    static char buf[65536];
    (void)ctx;
    event_to_json(e, "fuzz", buf, sizeof(buf));
}

static struct yara_set *rules(void)
{
    static struct yara_set *ys;
    if (!ys) {
        char err[1024];
        if (yara_global_init() != 0) abort();
        ys = yara_set_load_text("fuzz.yar",
                                "rule PP { strings: $a = { 70 70 } condition: $a }\n"
                                "rule Blk { meta: severity = 3 fr = \"FR3\" strings: $b = \"AB\" "
                                "condition: $b and ot_object_type == \"s7comm.block\" }\n"
                                "rule Any { condition: filesize > 200 }\n"
                                "rule Ots { strings: $o = \"OTS\" condition: $o }\n",
                                err, sizeof(err));
        if (!ys) abort();
    }
    return ys;
}

struct dirbuf {
    uint8_t *p;
    size_t len;
    int gap;
};

static void run_diss(const struct dissector *d, struct yara_worker *yw, struct event_sink *sink,
                     const uint8_t *data, size_t size)
{
    int udp = !(d->transports & DISS_TCP);
    void *st = d->state_new();
    struct yara_flow fs = {0};
    yara_worker_set_flow(yw, &fs);
    struct dirbuf dir[2] = {{0}, {0}};
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t ctl = data[off];
        size_t n = data[off + 1];
        off += 2;
        if (n > size - off) n = size - off;
        int ds = ctl & 1;
        struct dirbuf *b = &dir[ds];
        if (ctl & 2) {
            if (d->gap) d->gap(st, ds);
            b->len = 0;
            b->gap = 1;
        }
        sink->net.to_server = (uint8_t)ds;
        if (yara_stream_data(yw, &fs, ds ? 0 : 1, data + off, (uint32_t)n))
            yara_stream_scan(yw, &fs, ds ? 0 : 1, d->name, sink, sink->net.ts_us);
        uint8_t *np = realloc(b->p, b->len + n + 1);
        if (!np) abort();
        b->p = np;
        memcpy(b->p + b->len, data + off, n);
        b->len += n;
        off += n;
        for (int k = 0; k < 2; k++) {
            struct dirbuf *q = &dir[k];
            if (q->len == 0) continue;
            /* an exact-size copy, so ASan sees any over-read */
            uint8_t *copy = malloc(q->len);
            if (!copy) abort();
            memcpy(copy, q->p, q->len);
            struct cursor c = cursor_make(copy, q->len);
            struct pdu_info info = {.to_server = k,
                                    .transport = udp ? DISS_UDP : DISS_TCP,
                                    .after_gap = q->gap,
                                    .ts_us = off};
            sink->net.to_server = (uint8_t)k;
            size_t used = d->parse(st, &c, &info, sink);
            free(copy);
            if (used > q->len) abort();
            q->gap = 0;
            memmove(q->p, q->p + used, q->len - used);
            q->len -= used;
            if (q->len > d->max_pdu || udp) q->len = 0; /* a datagram is used once */
        }
    }
    for (int k = 0; k < 2 && d->end; k++) {
        sink->net.to_server = (uint8_t)k;
        d->end(st, k, sink);
    }
    yara_flow_end(yw, &fs, d->name, sink, sink->net.ts_us);
    d->state_free(st);
    free(dir[0].p);
    free(dir[1].p);
}

static void run_api(struct yara_worker *yw, struct event_sink *sink, const uint8_t *data,
                    size_t size)
{
    struct ots_object o;
    memset(&o, 0, sizeof(o));
    struct yara_flow fs = {0};
    yara_worker_set_flow(yw, &fs);
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t op = data[off] & 7, arg = data[off + 1];
        off += 2;
        size_t n = arg;
        if (n > size - off) n = size - off;
        struct cursor c = cursor_make(data + off, n);
        sink->net.ts_us += 1000;
        switch (op) {
        case 0:
            object_begin(&o, sink, "fuzz", "s7comm.block", (const char *)data + off, n, arg * 4u);
            break;
        case 1: object_attr(&o, "k", arg & 1 ? "v" : "value"); break;
        case 2:
        case 3: object_append(&o, sink, &c, arg & 1 ? n : n + 7); break;
        case 4: object_end(&o, sink, arg & 1); break;
        case 5:
            if (arg & 1)
                object_partial(&o, sink, arg & 2);
            else
                object_abort(&o);
            break;
        case 6:
            if (yara_stream_data(yw, &fs, arg & 1, data + off, (uint32_t)n))
                yara_stream_scan(yw, &fs, arg & 1, "fuzz", sink, sink->net.ts_us);
            break;
        default:
            if (arg & 4)
                yara_flow_dissected(&fs);
            else if (arg & 1)
                yara_stream_scan(yw, &fs, arg & 2 ? 1 : 0, "fuzz", sink, sink->net.ts_us);
            else
                yara_flow_end(yw, &fs, "fuzz", sink, sink->net.ts_us);
            break;
        }
        if (op == 2 || op == 3 || op == 6 || op == 0) off += n;
    }
    object_end(&o, sink, 1);
    object_free(&o);
    yara_flow_end(yw, &fs, "fuzz", sink, sink->net.ts_us);
}

static const struct dissector *const diss[16] = {
    &s7comm_dissector, &modbus_dissector,   &dnp3_dissector,   &bacnet_dissector,
    &mms_dissector,    &enip_dissector,     &modbus_dissector, &mms_dissector,
    &http_dissector,   &ftp_data_dissector, &opcua_dissector,  &http_dissector,
    &s7comm_dissector, &dnp3_dissector,     &enip_dissector,   &ftp_dissector};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    /* windows of flows a dissector reads stop earlier (none at all with bit 1) */
    struct yara_limits lim = {64u + data[1],
                              64u + data[1],
                              4096,
                              8192,
                              data[1] & 1,
                              16,
                              0,
                              data[1] & 2 ? 0 : 16u + data[1] / 4u};
    struct yara_worker *yw = yara_worker_new(&lim);
    if (!yw || yara_worker_use(yw, rules(), NULL) != 0) abort();
    static struct event_sink sink;
    event_sink_init(&sink, sink_deliver, NULL);
    sink.yara = yw;
    /* one input's FTP announcements, not the last input's */
    sink.shared[DISS_FTP] = ftp_dissector.worker_new();
    sink.net.ts_us = 1000000;
    if (data[0] & 1)
        run_api(yw, &sink, data + 2, size - 2);
    else
        run_diss(diss[(data[0] >> 1) & 15], yw, &sink, data + 2, size - 2);
    ftp_dissector.worker_free(sink.shared[DISS_FTP]);
    yara_worker_free(yw);
    return 0;
}
