/* pcapfeed.h - a minimal capture driver for dissector golden tests.
 *
 * Reads a capture with libpcap, decodes Ethernet (with VLAN tags) or raw IPv4, and
 * feeds one dissector the way the engine does: TCP per direction in sequence order
 * (retransmitted bytes dropped, a hole reported as after_gap), UDP one datagram per
 * call. One dissector state per 5-tuple. Only what the tests need: IPv4, no
 * fragments, no flow timeouts. Static functions: include it from one test file. */
#ifndef OTS_PCAPFEED_H
#define OTS_PCAPFEED_H

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "event.h"

#define FEED_FLOWS 64
#define FEED_BUF   (256 * 1024)

struct feed_dir {
    int seen;
    uint32_t next_seq;
    size_t len;
    int gap;
    uint8_t *buf;
};

struct feed_flow {
    int used;
    uint32_t cli, srv;
    uint16_t cport, sport;
    uint8_t proto;
    void *state;
    struct feed_dir dir[2]; /* 0: server -> client, 1: client -> server */
};

struct feed {
    const struct dissector *d;
    struct event_sink *sink;
    uint16_t server_port;  /* which side is the server */
    uint16_t server_port2; /* second server port (0: none) */
    struct feed_flow flows[FEED_FLOWS];
};

static uint32_t feed_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t feed_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static struct feed_flow *feed_flow_get(struct feed *f, uint8_t proto, uint32_t src, uint16_t sp,
                                       uint32_t dst, uint16_t dp, int *to_server)
{
    int src_is_server = sp == f->server_port || (f->server_port2 && sp == f->server_port2);
    int dst_is_server = dp == f->server_port || (f->server_port2 && dp == f->server_port2);
    *to_server = dst_is_server || !src_is_server;
    uint32_t cli = *to_server ? src : dst, srv = *to_server ? dst : src;
    uint16_t cport = *to_server ? sp : dp, sport = *to_server ? dp : sp;
    for (int i = 0; i < FEED_FLOWS; i++) {
        struct feed_flow *fl = &f->flows[i];
        if (fl->used && fl->proto == proto && fl->cli == cli && fl->srv == srv &&
            fl->cport == cport && fl->sport == sport)
            return fl;
    }
    for (int i = 0; i < FEED_FLOWS; i++) {
        struct feed_flow *fl = &f->flows[i];
        if (!fl->used) {
            memset(fl, 0, sizeof(*fl));
            fl->used = 1;
            fl->proto = proto;
            fl->cli = cli;
            fl->srv = srv;
            fl->cport = cport;
            fl->sport = sport;
            fl->state = f->d->state_new();
            fl->dir[0].buf = malloc(FEED_BUF);
            fl->dir[1].buf = malloc(FEED_BUF);
            return fl;
        }
    }
    return NULL;
}

static void feed_set_net(struct feed *f, uint64_t ts, uint32_t src, uint16_t sp, uint32_t dst,
                         uint16_t dp, int tcp, int to_server)
{
    struct ev_net *n = &f->sink->net;
    memset(n, 0, sizeof(*n));
    n->ts_us = ts;
    n->ip_version = 4;
    n->transport = tcp ? EV_TRANSPORT_TCP : EV_TRANSPORT_UDP;
    n->src.b[10] = n->src.b[11] = 0xFF;
    n->dst.b[10] = n->dst.b[11] = 0xFF;
    memcpy(&n->src.b[12], &src, 4);
    memcpy(&n->dst.b[12], &dst, 4);
    n->src_port = sp;
    n->dst_port = dp;
    n->to_server = (uint8_t)to_server;
}

static void feed_packet(struct feed *f, const struct pcap_pkthdr *h, const uint8_t *p, int dlt)
{
    size_t n = h->caplen, off = 0;
    if (dlt == DLT_EN10MB) {
        if (n < 14) return;
        uint16_t et = feed_be16(p + 12);
        off = 14;
        while ((et == 0x8100 || et == 0x88A8) && n >= off + 4) {
            et = feed_be16(p + off + 2);
            off += 4;
        }
        if (et != 0x0800) return;
    } else if (dlt != DLT_RAW && dlt != 228 /* IPV4 */) {
        return;
    }
    if (n < off + 20 || (p[off] >> 4) != 4) return;
    size_t ihl = (size_t)(p[off] & 0x0F) * 4, tot = feed_be16(p + off + 2);
    if (tot > n - off) tot = n - off;
    uint8_t proto = p[off + 9];
    uint32_t src, dst;
    memcpy(&src, p + off + 12, 4);
    memcpy(&dst, p + off + 16, 4);
    if (ihl < 20 || tot < ihl) return;
    const uint8_t *l4 = p + off + ihl;
    size_t l4len = tot - ihl;
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    struct pdu_info info = {0};
    info.ts_us = ts;
    if (proto == 17 && l4len >= 8 && (f->d->transports & DISS_UDP)) {
        uint16_t sp = feed_be16(l4), dp = feed_be16(l4 + 2);
        int to_server;
        struct feed_flow *fl = feed_flow_get(f, proto, src, sp, dst, dp, &to_server);
        if (!fl) return;
        feed_set_net(f, ts, src, sp, dst, dp, 0, to_server);
        info.to_server = to_server;
        info.transport = DISS_UDP;
        struct cursor c = cursor_make(l4 + 8, l4len - 8);
        f->d->parse(fl->state, &c, &info, f->sink);
    } else if (proto == 6 && l4len >= 20 && (f->d->transports & DISS_TCP)) {
        uint16_t sp = feed_be16(l4), dp = feed_be16(l4 + 2);
        uint32_t seq = feed_be32(l4 + 4);
        size_t doff = (size_t)(l4[12] >> 4) * 4;
        uint8_t flags = l4[13];
        if (doff < 20 || doff > l4len) return;
        int to_server;
        struct feed_flow *fl = feed_flow_get(f, proto, src, sp, dst, dp, &to_server);
        if (!fl) return;
        struct feed_dir *d = &fl->dir[to_server];
        const uint8_t *pl = l4 + doff;
        size_t plen = l4len - doff;
        if (!d->seen) {
            d->seen = 1;
            d->next_seq = seq + ((flags & 0x02) ? 1 : 0);
        }
        if (plen == 0) return;
        int32_t delta = (int32_t)(seq - d->next_seq);
        if (delta < 0) { /* retransmission, possibly with new bytes at its end */
            if ((size_t)(-(int64_t)delta) >= plen) return;
            pl += -(int64_t)delta;
            plen -= (size_t)(-(int64_t)delta);
        } else if (delta > 0) { /* hole: bytes lost */
            d->len = 0;
            d->gap = 1;
        }
        d->next_seq = seq + (uint32_t)(l4len - doff);
        if (d->len + plen > FEED_BUF) d->len = 0;
        memcpy(d->buf + d->len, pl, plen);
        d->len += plen;
        feed_set_net(f, ts, src, sp, dst, dp, 1, to_server);
        info.to_server = to_server;
        info.transport = DISS_TCP;
        info.after_gap = d->gap;
        d->gap = 0;
        for (;;) {
            struct cursor c = cursor_make(d->buf, d->len);
            size_t used = f->d->parse(fl->state, &c, &info, f->sink);
            if (used == 0 || used > d->len) break;
            memmove(d->buf, d->buf + used, d->len - used);
            d->len -= used;
            info.after_gap = 0;
            if (d->len == 0) break;
        }
    }
}

/* Feeds every packet of path to d; returns packets read or -1. */
static int feed_file(const char *path, const struct dissector *d, struct event_sink *sink,
                     uint16_t server_port, uint16_t server_port2)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc) return -1;
    struct feed *f = calloc(1, sizeof(*f));
    f->d = d;
    f->sink = sink;
    f->server_port = server_port;
    f->server_port2 = server_port2;
    int dlt = pcap_datalink(pc), n = 0;
    struct pcap_pkthdr *h;
    const uint8_t *p;
    while (pcap_next_ex(pc, &h, &p) == 1) {
        feed_packet(f, h, p, dlt);
        n++;
    }
    for (int i = 0; i < FEED_FLOWS; i++) {
        if (f->flows[i].used) {
            d->state_free(f->flows[i].state);
            free(f->flows[i].dir[0].buf);
            free(f->flows[i].dir[1].buf);
        }
    }
    free(f);
    pcap_close(pc);
    return n;
}

#endif
