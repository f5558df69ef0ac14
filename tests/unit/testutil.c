/* testutil.c - helpers shared by the Check suites (see testutil.h). */
#include "testutil.h"

#include "decode.h"
#include "dissector.h"

#include <check.h>
#include <ctype.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void record(void *ctx, struct event *e)
{
    struct recorder *r = ctx;
    if (r->n >= REC_MAX) return;
    r->ev[r->n] = *e;
    if (!event_to_json(e, NULL, r->json[r->n], sizeof(r->json[0])))
        strcpy(r->json[r->n], "{\"error\":\"json overflow\"}");
    r->n++;
}

void recorder_init(struct recorder *r)
{
    r->n = 0;
    event_sink_init(&r->sink, record, r);
    r->sink.net.ts_us = 1600000000000000ull;
    r->sink.net.ip_version = 4;
    r->sink.net.transport = EV_TRANSPORT_TCP;
}

size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (!isxdigit((unsigned char)*p)) continue;
        int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (hi < 0) {
            hi = v;
        } else {
            if (n < cap) out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

const char *test_data_path(const char *name)
{
    static char buf[4096];
    const char *root = getenv("OTS_SOURCE_DIR");
    snprintf(buf, sizeof(buf), "%s/tests/data/%s", root ? root : ".", name);
    return buf;
}

/* ---- pcap_feed_file ---- */

#define FEED_FLOWS 1024
#define FEED_BUF   (256 * 1024)

struct feed_dir {
    int seen, gap;
    uint32_t next_seq;
    size_t len;
    uint8_t *buf;
};

struct feed_flow {
    int used;
    uint8_t proto;
    struct ev_addr cli, srv;
    uint16_t cport, sport;
    void *state;
    struct feed_dir dir[2]; /* indexed by to_server */
};

struct feed {
    const struct dissector *d;
    struct event_sink *sink;
    uint16_t port[2];
    struct feed_flow flows[FEED_FLOWS];
};

static int feed_is_server(const struct feed *f, uint16_t port)
{
    return port == f->port[0] || (f->port[1] && port == f->port[1]);
}

static struct feed_flow *feed_flow(struct feed *f, const struct decoded *k, int to_server)
{
    const struct ev_addr *cli = to_server ? &k->src : &k->dst, *srv = to_server ? &k->dst : &k->src;
    uint16_t cport = to_server ? k->sport : k->dport, sport = to_server ? k->dport : k->sport;
    struct feed_flow *fl, *free_fl = NULL;
    for (int i = 0; i < FEED_FLOWS; i++) {
        fl = &f->flows[i];
        if (!fl->used) {
            if (!free_fl) free_fl = fl;
            continue;
        }
        if (fl->proto == k->l4proto && fl->cport == cport && fl->sport == sport &&
            !memcmp(&fl->cli, cli, sizeof(*cli)) && !memcmp(&fl->srv, srv, sizeof(*srv)))
            return fl;
    }
    ck_assert_msg(free_fl != NULL, "more than %d flows", FEED_FLOWS);
    fl = free_fl;
    memset(fl, 0, sizeof(*fl));
    fl->used = 1;
    fl->proto = k->l4proto;
    fl->cli = *cli;
    fl->srv = *srv;
    fl->cport = cport;
    fl->sport = sport;
    fl->state = f->d->state_new();
    ck_assert_ptr_nonnull(fl->state);
    return fl;
}

/* In-order TCP bytes of one direction: buffer and parse until the dissector waits. */
static void feed_tcp(struct feed *f, struct feed_flow *fl, int to_server, const uint8_t *p,
                     size_t n, uint32_t seq, int syn, uint64_t ts)
{
    struct feed_dir *d = &fl->dir[to_server];
    if (!d->seen) {
        d->seen = 1;
        d->next_seq = seq + (syn ? 1u : 0u);
        d->buf = malloc(FEED_BUF);
        ck_assert_ptr_nonnull(d->buf);
    }
    if (syn) seq++;
    if (n == 0) return;
    int32_t delta = (int32_t)(seq - d->next_seq);
    if (delta < 0) { /* a retransmission, maybe with new bytes at its end: first copy wins */
        if ((size_t)(-(int64_t)delta) >= n) return;
        p += -(int64_t)delta;
        n -= (size_t)(-(int64_t)delta);
        seq = d->next_seq;
    } else if (delta > 0) { /* a hole: the bytes are lost */
        d->len = 0;
        d->gap = 1;
        if (f->d->gap) f->d->gap(fl->state, to_server);
    }
    d->next_seq = seq + (uint32_t)n;
    ck_assert_uint_le(d->len + n, FEED_BUF);
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    while (d->len > 0) {
        struct cursor c = cursor_make(d->buf, d->len);
        struct pdu_info info = {to_server, DISS_TCP, d->gap, ts};
        size_t used = f->d->parse(fl->state, &c, &info, f->sink);
        ck_assert_uint_le(used, d->len);
        if (used == 0) break;
        d->gap = 0;
        memmove(d->buf, d->buf + used, d->len - used);
        d->len -= used;
    }
}

int pcap_feed_file(const char *path, const struct dissector *d, struct event_sink *sink,
                   uint16_t server_port, uint16_t server_port2)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc) return -1;
    struct feed *f = calloc(1, sizeof(*f));
    ck_assert_ptr_nonnull(f);
    f->d = d;
    f->sink = sink;
    f->port[0] = server_port;
    f->port[1] = server_port2;
    int dlt = pcap_datalink(pc), n = 0;
    struct pcap_pkthdr *h;
    const uint8_t *p;
    while (pcap_next_ex(pc, &h, &p) == 1) {
        struct decoded k;
        n++;
        if (decode_frame(&k, dlt, p, h->caplen) != DECODED_IP) continue;
        int tcp = k.l4proto == 6, udp = k.l4proto == 17;
        if (!(tcp && (d->transports & DISS_TCP)) && !(udp && (d->transports & DISS_UDP))) continue;
        int to_server = feed_is_server(f, k.dport) || !feed_is_server(f, k.sport);
        struct feed_flow *fl = feed_flow(f, &k, to_server);
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        struct ev_net *net = &sink->net;
        memset(net, 0, sizeof(*net));
        net->ts_us = ts;
        net->ip_version = k.ip_version;
        net->transport = tcp ? EV_TRANSPORT_TCP : EV_TRANSPORT_UDP;
        net->src = k.src;
        net->dst = k.dst;
        net->src_port = k.sport;
        net->dst_port = k.dport;
        net->to_server = (uint8_t)to_server;
        if (tcp) {
            feed_tcp(f, fl, to_server, p + k.payload_off, k.payload_len, k.seq,
                     (k.tcp_flags & 0x02) != 0, ts);
        } else {
            struct cursor c = cursor_make(p + k.payload_off, k.payload_len);
            struct pdu_info info = {to_server, DISS_UDP, 0, ts};
            d->parse(fl->state, &c, &info, sink);
        }
    }
    for (int i = 0; i < FEED_FLOWS; i++) {
        if (!f->flows[i].used) continue;
        /* as the engine does: each direction's last word */
        for (int k = 0; k < 2 && d->end; k++)
            d->end(f->flows[i].state, k == 0, sink);
        d->state_free(f->flows[i].state);
        free(f->flows[i].dir[0].buf);
        free(f->flows[i].dir[1].buf);
    }
    free(f);
    pcap_close(pc);
    return n;
}

/* ---- event field checks ---- */

uint64_t ev_u(const struct event *e, const char *path)
{
    const struct ev_field *f = event_find(e, path);
    ck_assert_msg(f != NULL, "field %s missing", path);
    ck_assert_msg(f->type == EVF_UINT || f->type == EVF_BOOL || (f->type == EVF_INT && f->v.i >= 0),
                  "field %s not a non-negative number", path);
    return f->v.u;
}

void ev_s(const struct event *e, const char *path, const char *want)
{
    const struct ev_field *f = event_find(e, path);
    ck_assert_msg(f != NULL, "field %s missing", path);
    ck_assert_msg(f->type == EVF_STR || f->type == EVF_HEX, "field %s not text", path);
    const char *t = event_field_text(e, f);
    if (f->type == EVF_STR) {
        ck_assert_msg(f->len == strlen(want) && memcmp(t, want, f->len) == 0,
                      "field %s is \"%.*s\", not \"%s\"", path, (int)f->len, t, want);
        return;
    }
    /* HEX is stored raw: compare its hex text */
    char hex[1024] = "";
    ck_assert_msg(f->len * 2 < sizeof(hex), "field %s too long to compare", path);
    for (uint32_t i = 0; i < f->len; i++)
        snprintf(hex + 2 * i, 3, "%02x", (const uint8_t)t[i]);
    ck_assert_msg(strcmp(hex, want) == 0, "field %s is %s, not %s", path, hex, want);
}

void ev_absent(const struct event *e, const char *path)
{
    ck_assert_msg(event_find(e, path) == NULL, "field %s present", path);
}

/* ---- tcp_push ---- */

void tcp_push(struct tcp_buf *s, const struct dissector *d, void *st, struct event_sink *sink,
              const uint8_t *p, size_t n, int to_server, uint64_t ts)
{
    ck_assert_uint_le(s->len + n, sizeof(s->buf));
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    while (s->len > 0) {
        struct cursor c = cursor_make(s->buf, s->len);
        struct pdu_info info = {to_server, DISS_TCP, 0, ts};
        size_t used = d->parse(st, &c, &info, sink);
        ck_assert_uint_le(used, s->len);
        if (!used) break;
        memmove(s->buf, s->buf + used, s->len - used);
        s->len -= used;
    }
}
