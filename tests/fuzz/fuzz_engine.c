/* fuzz_engine.c - libFuzzer harness for the packet path: decode, IP fragments,
 * flows, TCP reassembly, nDPI and every registered dissector, with YARA on (stream
 * windows and their pool, objects, the object-only dissectors HTTP and FTP data,
 * directions finished at their FIN).
 *
 * Input: a sequence of packets, each [u8 link][u8 time step][u16 length][frame].
 * link picks the link type; the time step advances packet time (so timeouts,
 * reuse and fragment expiry run). Packets go through one worker synchronously,
 * and its event ring is drained after each, as the output thread would. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ipfrag.h"
#include "yara_scan.h"

static struct config cfg;
static struct engine eng;
static struct worker wk;
static uint8_t *rec_buf;

static const int links[] = {LINK_EN10MB, LINK_RAW,  LINK_NULL, LINK_SLL,
                            LINK_SLL2,   LINK_IPV4, LINK_IPV6, LINK_LOOP};

static void drain(void)
{
    size_t len;
    ring_publish(&wk.out);
    while (ring_peek(&wk.out, &len))
        ring_release(&wk.out);
    ring_release_publish(&wk.out);
}

static void init_once(void)
{
    config_defaults(&cfg);
    cfg.workers = 1;
    cfg.max_flows = 1024;
    cfg.reasm_per_dir_max = 16384;
    cfg.reasm_max_segments = 32;
    cfg.reasm_global_max = 1 << 20;
    cfg.stream_buffer_max = 16384;
    cfg.output_ring_mb = 1;
    cfg.ndpi_max_packets = 8;
    eng.cfg = &cfg;
    eng.n_workers = 1;
    eng.events_out = fopen("/dev/null", "w");
    /* small windows and a small cap, so that windows fill, grow through the pool's
     * classes and meet yara.memory_max within one input */
    snprintf(cfg.yara_path, sizeof(cfg.yara_path), "%s", "fuzz");
    cfg.yara_stream_max = 4096;
    cfg.yara_stream_max_dissected = 1024; /* dissected flows stop earlier, or are cut */
    cfg.yara_object_max = 8192;
    cfg.yara_memory_max = 4u << 20;
    wk.eng = &eng;
    if (yara_global_init() != 0) abort();
    if (worker_start(&wk) != 0 || worker_init_classifier(&wk) != 0) abort();
    char err[256];
    struct yara_set *ys =
        yara_set_load_text("fuzz.yar",
                           "rule M { strings: $m = \"MZ\" condition: $m }\n"
                           "rule O { condition: ot_object_type != \"stream\" and filesize > 16 }\n",
                           err, sizeof(err));
    if (!ys || yara_worker_use(wk.yara, ys, NULL) != 0) abort();
    rec_buf = malloc(sizeof(struct pkt_rec) + 70000);
}

static void feed(struct pkt_rec *r, const uint8_t *frame, uint32_t len)
{
    memcpy(r->data, frame, len);
    r->caplen = r->wirelen = len;
    worker_handle(&wk, r);
    drain();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        init_once();
        ready = 1;
    }
    struct ipfrag_table *frags = ipfrag_new(16, 1 << 18, 30000000ULL);
    uint64_t ts = 1600000000000000ULL;
    size_t off = 0;
    struct pkt_rec *r = (struct pkt_rec *)(void *)rec_buf;
    while (size - off >= 4) {
        int link = links[data[off] % (sizeof(links) / sizeof(links[0]))];
        ts += (uint64_t)data[off + 1] * 250000ULL;
        uint32_t len = (uint32_t)data[off + 2] << 8 | data[off + 3];
        off += 4;
        if (len > size - off) len = (uint32_t)(size - off);
        const uint8_t *frame = data + off;
        off += len;
        memset(r, 0, sizeof(*r));
        r->ts_us = ts;
        decode_frame(&r->d, link, frame, len);
        if (r->d.kind == DECODED_FRAGMENT) {
            const uint8_t *out;
            uint32_t out_len;
            int anomaly = 0;
            if (ipfrag_add(frags, &r->d, frame, ts, &out, &out_len, &anomaly) == 1) {
                decode_ip(&r->d, out, out_len, 0);
                r->hash = flow_hash(&r->d.src, &r->d.dst, r->d.sport, r->d.dport, r->d.l4proto, 0);
                feed(r, out, out_len);
            }
            continue;
        }
        uint16_t vlan = r->d.vlan_count ? r->d.vlan[r->d.vlan_count - 1] : 0;
        r->hash = flow_hash(&r->d.src, &r->d.dst, r->d.sport, r->d.dport, r->d.l4proto, vlan);
        feed(r, frame, len);
    }
    ipfrag_free(frags);
    /* end every flow so the next input starts clean and leaks show up */
    uint32_t timeouts[FLOW_CLASSES] = {cfg.timeout_tcp_new, cfg.timeout_tcp_established,
                                       cfg.timeout_tcp_closed, cfg.timeout_udp, cfg.timeout_other};
    flow_table_destroy(&wk.flows);
    drain();
    flow_table_init(&wk.flows, cfg.max_flows, timeouts, wk.flows.on_end, wk.flows.ctx);
    return 0;
}
