/* otgen: writes a deterministic benchmark capture of a plant network, as seen from a TAP.
 *
 * DESIGN §6. Long-lived OT polling over TCP (Modbus/TCP, DNP3, IEC 60870-5-104, S7comm,
 * EtherNet/IP explicit messaging), cyclic EtherNet/IP class-1 I/O over UDP, and about 30%
 * of packets of IT background made of many short flows (DNS, NTP, TLS 1.3, HTTP/1.1).
 * Every TCP session has a real 3-way handshake and consistent seq/ack; short flows end
 * with a FIN exchange; long OT sessions are cut by the end of the capture, as in a real one.
 *
 * Everything comes from one seeded PRNG (splitmix64) and a simulated clock, so one seed
 * gives a byte-identical file. It only WRITES a file (pcap_open_dead + pcap_dump):
 * nothing is ever sent on a network.
 *
 * The simulation is a min-heap of actors (one per flow, plus the IT flow arrival process)
 * keyed by the time of their next packet; each step emits at most one frame.
 */
#include <math.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EPOCH_S      1767600000ull /* 2026-01-05 08:00:00 UTC */
#define NS           1000000000ull
#define US           1000ull
#define MS           1000000ull
#define DONE         UINT64_MAX
#define N_IT_CLIENTS 2000
#define N_MASTERS    6

/* Packet shares the generator aims at (the rest is TCP OT polling). */
#define SHARE_IT    0.30
#define SHARE_IO    0.15
#define SHARE_OTTCP (1.0 - SHARE_IT - SHARE_IO)

/* ---- PRNG: splitmix64, our own so the file does not depend on libc's rand() ---- */

static uint64_t g_rng;

static uint64_t rnd64(void)
{
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
    return (uint32_t)(((rnd64() >> 32) * (uint64_t)n) >> 32);
}
static uint32_t rnd_range(uint32_t lo, uint32_t hi)
{
    return lo + rnd_below(hi - lo + 1);
}
static double rnd_unit(void)
{
    return (double)(rnd64() >> 11) * 0x1.0p-53;
}

static void rnd_fill(uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint64_t v = rnd64();
        memcpy(p, &v, 8);
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t v = rnd64();
        memcpy(p, &v, n);
    }
}

/* v +- pct percent */
static uint64_t jitter(uint64_t v, unsigned pct)
{
    uint64_t span = v * pct / 100;
    if (span == 0) return v;
    return v - span + (rnd64() % (2 * span + 1));
}

static uint64_t rnd_exp(double mean)
{
    return (uint64_t)(-log(1.0 - rnd_unit()) * mean);
}

/* ---- byte writers ---- */

static void put16be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32be(uint8_t *p, uint32_t v)
{
    put16be(p, v >> 16);
    put16be(p + 2, v);
}
static void put16le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put24le(uint8_t *p, uint32_t v)
{
    put16le(p, v);
    p[2] = (uint8_t)(v >> 16);
}
static void put32le(uint8_t *p, uint32_t v)
{
    put16le(p, v);
    put16le(p + 2, v >> 16);
}

/* ---- flows ---- */

enum kind {
    K_MODBUS,
    K_DNP3,
    K_IEC104,
    K_S7,
    K_ENIP,
    K_ENIP_IO,
    K_DNS,
    K_NTP,
    K_TLS,
    K_HTTP,
    K_NKIND,
    K_ARRIVAL = K_NKIND, /* not a flow: spawns IT flows */
};

static const char *const kind_name[K_NKIND] = {
    "modbus", "dnp3", "iec104", "s7comm", "enip_tcp", "enip_io_udp", "dns", "ntp", "tls", "http",
};

enum { C2S = 0, S2C = 1 };
enum { T_SYN, T_SYNACK, T_HSACK, T_APP, T_PACK, T_FIN2, T_FIN3 };
enum { F_FIN = 0x01, F_SYN = 0x02, F_PSH = 0x08, F_ACK = 0x10 };

struct flow {
    uint64_t t; /* time of the next step, ns since capture start */
    uint8_t kind, st, ext, phase;
    uint32_t ip[2]; /* [C2S] client, [S2C] server */
    uint16_t port[2];
    uint32_t seq[2]; /* next sequence number each side sends */
    uint16_t ipid[2], win[2];
    uint8_t ttl[2];
    uint32_t step, txn, total;
    uint64_t interval, rtt, saved;
    /* protocol state */
    uint16_t tid, addr, qty, val, ca, unacked;
    uint8_t unit, fc, exc, nitems, wr, aseq;
    uint8_t tseq[2];
    uint16_t ns[2], daddr[2], cseq[2], ilen[4];
    uint32_t handle, conn[2], eseq[2];
    uint64_t ctx, ts64, t0; /* t0: when the current poll started */
    char name[64];
};

struct msg {
    int dir;
    size_t len;
    uint64_t delay; /* until the next application step */
    int ack;        /* the client answers this server segment with a pure ACK */
};

/* ---- global generator state ---- */

static pcap_dumper_t *g_dump;
static uint64_t g_now;
static uint64_t g_pkts, g_max_pkts, g_bytes, g_small;
static uint64_t g_kpkts[K_NKIND], g_kflows[K_NKIND], g_flows;
static uint8_t g_frame[2048];
static uint8_t g_pl[1600];
static uint16_t g_cport[N_IT_CLIENTS], g_mport[N_MASTERS];
static uint32_t g_loss; /* -L: TCP data segments lost, per million */
static int g_wide;      /* -A: IT clients and off-site servers from wide ranges */
static uint32_t g_frag; /* -F: UDP datagrams sent as two IPv4 fragments, per million */
static uint16_t g_crc_tab[256];

/* IT mix parameters, computed in main() from the packet and flow targets */
static double g_it_mean_gap;
static uint32_t g_tls_k;

static struct flow **g_heap;
static size_t g_hn, g_hcap;

static void heap_push(struct flow *f)
{
    if (g_hn == g_hcap) {
        g_hcap = g_hcap ? 2 * g_hcap : 1024;
        g_heap = realloc(g_heap, g_hcap * sizeof(*g_heap));
        if (!g_heap) {
            fprintf(stderr, "otgen: out of memory\n");
            exit(1);
        }
    }
    size_t i = g_hn++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (g_heap[up]->t <= f->t) break;
        g_heap[i] = g_heap[up];
        i = up;
    }
    g_heap[i] = f;
}

static struct flow *heap_pop(void)
{
    struct flow *top = g_heap[0], *last = g_heap[--g_hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= g_hn) break;
        if (c + 1 < g_hn && g_heap[c + 1]->t < g_heap[c]->t) c++;
        if (last->t <= g_heap[c]->t) break;
        g_heap[i] = g_heap[c];
        i = c;
    }
    if (g_hn) g_heap[i] = last;
    return top;
}

/* ---- frame assembly ---- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (; n > 1; p += 2, n -= 2)
        s += (uint32_t)p[0] << 8 | p[1];
    if (n) s += (uint32_t)p[0] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Hosts on the local segments get 02:00:<ip>; off-site hosts are behind the gateway. */
static void put_mac(uint8_t *p, uint32_t ip, int via_gw)
{
    static const uint8_t gw[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 0x01};
    if (via_gw) {
        memcpy(p, gw, 6);
        return;
    }
    p[0] = 0x02;
    p[1] = 0x00;
    put32be(p + 2, ip);
}

static size_t put_eth_ip(struct flow *f, int dir, uint8_t proto, size_t l4len)
{
    uint8_t *b = g_frame, *ip = g_frame + 14;
    put_mac(b, f->ip[!dir], f->ext && dir == C2S);
    put_mac(b + 6, f->ip[dir], f->ext && dir == S2C);
    put16be(b + 12, 0x0800);
    ip[0] = 0x45;
    ip[1] = 0;
    put16be(ip + 2, (uint32_t)(20 + l4len));
    put16be(ip + 4, f->ipid[dir]++);
    put16be(ip + 6, proto == 6 ? 0x4000 : 0); /* DF on TCP */
    ip[8] = f->ttl[dir];
    ip[9] = proto;
    put16be(ip + 10, 0);
    put32be(ip + 12, f->ip[dir]);
    put32be(ip + 16, f->ip[!dir]);
    put16be(ip + 10, fold(sum16(ip, 20, 0)));
    return 34;
}

static void out_frame(size_t len, enum kind k)
{
    if (len < 60) { /* Ethernet minimum as seen on the wire (FCS stripped) */
        memset(g_frame + len, 0, 60 - len);
        len = 60;
    }
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(EPOCH_S + g_now / NS);
    h.ts.tv_usec = (suseconds_t)((g_now % NS) / US);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)g_dump, &h, g_frame);
    g_pkts++;
    g_bytes += len;
    g_small += len <= 300;
    g_kpkts[k]++;
}

static uint32_t l4_csum(uint8_t proto, const uint8_t *l4, size_t len)
{
    const uint8_t *ip = g_frame + 14;
    uint32_t s = sum16(ip + 12, 8, 0) + proto + (uint32_t)len;
    return fold(sum16(l4, len, s));
}

static void emit_tcp(struct flow *f, int dir, uint8_t flags, size_t plen)
{
    size_t optlen = (flags & F_SYN) ? 4 : 0, l4 = 20 + optlen + plen;
    size_t off = put_eth_ip(f, dir, 6, l4);
    uint8_t *t = g_frame + off;
    put16be(t, f->port[dir]);
    put16be(t + 2, f->port[!dir]);
    put32be(t + 4, f->seq[dir]);
    put32be(t + 8, (flags & F_ACK) ? f->seq[!dir] : 0);
    t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
    t[13] = flags;
    put16be(t + 14, f->win[dir]);
    put32be(t + 16, 0); /* checksum, urgent */
    if (optlen) {       /* MSS 1460 */
        t[20] = 2;
        t[21] = 4;
        put16be(t + 22, 1460);
    }
    memcpy(t + 20 + optlen, g_pl, plen);
    put16be(t + 16, l4_csum(6, t, l4));
    f->seq[dir] += (uint32_t)plen + !!(flags & F_SYN) + !!(flags & F_FIN);
    /* -L: a data segment the TAP missed; the sender's seq moves on, the peer ACKs it anyway.
     * No draw at all when off, so the default file is unchanged. */
    if (g_loss && plen && !(flags & (F_SYN | F_FIN)) && rnd_below(1000000) < g_loss) return;
    out_frame(off + l4, (enum kind)f->kind);
}

/* -F: the datagram now in g_frame (Ethernet, a 20-byte IPv4 header, l4 bytes) as two
 * fragments, the first ending on an 8-byte boundary; one time in four the second is lost
 * before the TAP, so the sensor holds an incomplete datagram until its cap or timeout. */
static void emit_udp_fragments(size_t l4, enum kind k)
{
    static uint8_t rest[2048];
    uint8_t *ip = g_frame + 14;
    size_t first = (l4 / 2 + 7) & ~(size_t)7;
    if (l4 - first > sizeof(rest)) return;
    memcpy(rest, ip + 20 + first, l4 - first);
    put16be(ip + 2, (uint32_t)(20 + first));
    put16be(ip + 6, 0x2000); /* MF, offset 0 */
    put16be(ip + 10, 0);
    put16be(ip + 10, fold(sum16(ip, 20, 0)));
    out_frame(34 + first, k);
    if (rnd_below(4) == 0) return;
    put16be(ip + 2, (uint32_t)(20 + l4 - first));
    put16be(ip + 6, (uint32_t)(first / 8));
    put16be(ip + 10, 0);
    put16be(ip + 10, fold(sum16(ip, 20, 0)));
    memcpy(ip + 20, rest, l4 - first);
    out_frame(34 + l4 - first, k);
}

static void emit_udp(struct flow *f, int dir, size_t plen)
{
    size_t l4 = 8 + plen;
    size_t off = put_eth_ip(f, dir, 17, l4);
    uint8_t *u = g_frame + off;
    put16be(u, f->port[dir]);
    put16be(u + 2, f->port[!dir]);
    put16be(u + 4, (uint32_t)l4);
    put16be(u + 6, 0);
    memcpy(u + 8, g_pl, plen);
    uint16_t c = (uint16_t)l4_csum(17, u, l4);
    put16be(u + 6, c ? c : 0xffff);
    /* -F: no draw at all when off, so the default file is unchanged */
    if (g_frag && plen >= 16 && rnd_below(1000000) < g_frag) {
        emit_udp_fragments(l4, (enum kind)f->kind);
        return;
    }
    out_frame(off + l4, (enum kind)f->kind);
}

static struct flow *flow_new(enum kind k, uint32_t cip, uint16_t cport, uint32_t sip,
                             uint16_t sport, int ext)
{
    struct flow *f = calloc(1, sizeof(*f));
    if (!f) {
        fprintf(stderr, "otgen: out of memory\n");
        exit(1);
    }
    f->kind = (uint8_t)k;
    f->ext = (uint8_t)ext;
    f->ip[C2S] = cip;
    f->ip[S2C] = sip;
    f->port[C2S] = cport;
    f->port[S2C] = sport;
    f->seq[C2S] = (uint32_t)rnd64();
    f->seq[S2C] = (uint32_t)rnd64();
    f->ipid[C2S] = (uint16_t)rnd64();
    f->ipid[S2C] = (uint16_t)rnd64();
    f->win[C2S] = 64240;
    f->win[S2C] = k <= K_ENIP ? 8192 : 65160; /* PLC stacks advertise small windows */
    f->ttl[C2S] = k <= K_ENIP_IO ? 64 : 128;
    f->ttl[S2C] = ext ? (uint8_t)rnd_range(48, 58) : 64;
    f->rtt = ext ? rnd_range(8, 60) * MS : rnd_range(150, 900) * US;
    g_flows++;
    g_kflows[k]++;
    return f;
}

/* Delay from now to the next poll, which starts one (jittered) interval after this one. */
static uint64_t next_poll(struct flow *f)
{
    uint64_t due = f->t0 + jitter(f->interval, 10), min = 50 * US;
    return due > g_now + min ? due - g_now : min;
}

/* ---- Modbus/TCP (port 502) ----
 * MBAP: tid(2) proto=0(2) len(2) unit(1) | PDU: fc(1) data
 *   FC1/3/4 req: addr(2) qty(2)        resp: bytecount(1) data
 *   FC6     req: addr(2) value(2)      resp: echo
 *   FC16    req: addr qty bc values    resp: addr(2) qty(2)
 *   exception resp: fc|0x80 code(1)
 */
static int app_modbus(struct flow *f, struct msg *m)
{
    uint8_t *p = g_pl;
    size_t n = 0;
    if ((f->step++ & 1) == 0) {
        uint32_t r = rnd_below(100);
        f->t0 = g_now;
        f->tid++;
        f->exc = rnd_below(200) == 0 ? 2 : 0; /* illegal data address, now and then */
        f->addr = (uint16_t)rnd_below(4000);
        f->val = (uint16_t)rnd_below(1000);
        if (r < 50) {
            f->fc = 3, f->qty = (uint16_t)rnd_range(1, 40);
        } else if (r < 70) {
            f->fc = 4, f->qty = (uint16_t)rnd_range(1, 40);
        } else if (r < 84) {
            f->fc = 1, f->qty = (uint16_t)rnd_range(8, 128);
        } else if (r < 92) {
            f->fc = 16, f->qty = (uint16_t)rnd_range(1, 10);
        } else {
            f->fc = 6, f->qty = 1;
        }
        p[7] = f->fc;
        put16be(p + 8, f->addr);
        if (f->fc == 6) {
            put16be(p + 10, f->val);
            n = 12;
        } else if (f->fc == 16) {
            put16be(p + 10, f->qty);
            p[12] = (uint8_t)(2 * f->qty);
            for (unsigned i = 0; i < f->qty; i++)
                put16be(p + 13 + 2 * i, rnd_below(1000));
            n = 13 + 2u * f->qty;
        } else {
            put16be(p + 10, f->qty);
            n = 12;
        }
        m->dir = C2S;
        m->delay = rnd_range(300, 3000) * US; /* PLC scan time */
    } else {
        p[7] = f->fc;
        if (f->exc) {
            p[7] |= 0x80;
            p[8] = f->exc;
            n = 9;
        } else if (f->fc == 1) {
            unsigned bc = (f->qty + 7u) / 8;
            p[8] = (uint8_t)bc;
            rnd_fill(p + 9, bc);
            n = 9 + bc;
        } else if (f->fc == 3 || f->fc == 4) {
            p[8] = (uint8_t)(2 * f->qty);
            for (unsigned i = 0; i < f->qty; i++)
                put16be(p + 9 + 2 * i, 100 + rnd_below(400));
            n = 9 + 2u * f->qty;
        } else {
            put16be(p + 8, f->addr);
            put16be(p + 10, f->fc == 6 ? f->val : f->qty);
            n = 12;
        }
        m->dir = S2C;
        m->ack = 1;
        m->delay = next_poll(f);
    }
    put16be(p, f->tid);
    put16be(p + 2, 0);
    put16be(p + 4, (uint32_t)(n - 6));
    p[6] = f->unit;
    m->len = n;
    return 1;
}

/* ---- DNP3 over TCP (port 20000) ----
 * link: 05 64 len ctrl dst(2,LE) src(2,LE) crc(2) | user data in 16-byte blocks, each + crc
 * user data: transport(1: FIN|FIR|seq) | app ctrl(1) fc(1) [IIN(2) in responses] objects
 */
static uint16_t crc_dnp(const uint8_t *p, size_t n)
{
    uint16_t c = 0;
    while (n--)
        c = (uint16_t)((c >> 8) ^ g_crc_tab[(c ^ *p++) & 0xff]);
    return (uint16_t)~c;
}

static void crc_dnp_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)i;
        for (int b = 0; b < 8; b++)
            c = (c & 1) ? (uint16_t)((c >> 1) ^ 0xA6BC) : (uint16_t)(c >> 1);
        g_crc_tab[i] = c;
    }
}

static size_t dnp3_frame(uint8_t *out, uint8_t ctrl, uint16_t dst, uint16_t src, const uint8_t *ud,
                         size_t ulen)
{
    out[0] = 0x05;
    out[1] = 0x64;
    out[2] = (uint8_t)(5 + ulen);
    out[3] = ctrl;
    put16le(out + 4, dst);
    put16le(out + 6, src);
    put16le(out + 8, crc_dnp(out, 8));
    size_t o = 10;
    for (size_t i = 0; i < ulen; i += 16) {
        size_t b = ulen - i < 16 ? ulen - i : 16;
        memcpy(out + o, ud + i, b);
        put16le(out + o + b, crc_dnp(out + o, b));
        o += b + 2;
    }
    return o;
}

static int app_dnp3(struct flow *f, struct msg *m)
{
    uint8_t ud[256];
    size_t u = 0;
    int req = (f->step++ & 1) == 0, dir = req ? C2S : S2C;
    ud[u++] = (uint8_t)(0xC0 | (f->tseq[dir]++ & 0x3f));
    if (req) {
        f->t0 = g_now;
        f->aseq = (f->aseq + 1) & 0x0f;
        f->fc = f->txn % 20 == 0; /* integrity poll, else class 1 event poll */
        ud[u++] = (uint8_t)(0xC0 | f->aseq);
        ud[u++] = 0x01; /* READ */
        static const uint8_t integrity[] = {0x3C, 0x02, 0x06, 0x3C, 0x03, 0x06,
                                            0x3C, 0x04, 0x06, 0x3C, 0x01, 0x06};
        static const uint8_t class1[] = {0x3C, 0x02, 0x06};
        const uint8_t *o = f->fc ? integrity : class1;
        size_t on = f->fc ? sizeof(integrity) : sizeof(class1);
        memcpy(ud + u, o, on);
        u += on;
        m->delay = rnd_range(500, 5000) * US;
    } else {
        ud[u++] = (uint8_t)(0xC0 | f->aseq);
        ud[u++] = 0x81; /* RESPONSE */
        ud[u++] = 0;    /* IIN */
        ud[u++] = 0;
        if (f->fc) {
            unsigned nb = rnd_range(4, 16), na = rnd_range(4, 24);
            ud[u++] = 1; /* g1v2 binary input with flags, start-stop 8 bit */
            ud[u++] = 2;
            ud[u++] = 0x00;
            ud[u++] = 0;
            ud[u++] = (uint8_t)(nb - 1);
            for (unsigned i = 0; i < nb; i++)
                ud[u++] = rnd_below(2) ? 0x81 : 0x01;
            ud[u++] = 30; /* g30v2 16-bit analog input with flag */
            ud[u++] = 2;
            ud[u++] = 0x00;
            ud[u++] = 0;
            ud[u++] = (uint8_t)(na - 1);
            for (unsigned i = 0; i < na; i++) {
                ud[u++] = 0x01;
                put16le(ud + u, 1000 + rnd_below(3000));
                u += 2;
            }
        } else if (rnd_below(2)) {
            unsigned ne = rnd_range(1, 5);
            ud[u++] = 2; /* g2v1 binary input event, 1-byte count and index */
            ud[u++] = 1;
            ud[u++] = 0x17;
            ud[u++] = (uint8_t)ne;
            for (unsigned i = 0; i < ne; i++) {
                ud[u++] = (uint8_t)rnd_below(16);
                ud[u++] = rnd_below(2) ? 0x81 : 0x01;
            }
        }
        f->txn++;
        m->ack = 1;
        m->delay = next_poll(f);
    }
    m->dir = dir;
    m->len = dnp3_frame(g_pl, req ? 0xC4 : 0x44, req ? f->daddr[1] : f->daddr[0],
                        req ? f->daddr[0] : f->daddr[1], ud, u);
    return 1;
}

/* ---- IEC 60870-5-104 (port 2404) ----
 * APCI: 68 len ctl1 ctl2 ctl3 ctl4
 *   I: N(S)<<1 (2,LE) N(R)<<1 (2,LE)   S: 01 00 N(R)<<1   U: code 00 00 00
 * ASDU: type vsq cot oa ca(2,LE) then objects: IOA(3,LE) element
 */
static size_t iec_u(uint8_t *p, uint8_t code)
{
    p[0] = 0x68;
    p[1] = 4;
    put32le(p + 2, code);
    return 6;
}

static size_t iec_s(uint8_t *p, struct flow *f)
{
    p[0] = 0x68;
    p[1] = 4;
    put16le(p + 2, 0x0001);
    put16le(p + 4, (uint32_t)(f->ns[S2C] << 1));
    f->unacked = 0;
    return 6;
}

static size_t iec_i(uint8_t *p, struct flow *f, int dir, uint8_t type, uint8_t nobj, uint8_t cot)
{
    p[0] = 0x68;
    put16le(p + 2, (uint32_t)(f->ns[dir] << 1));
    put16le(p + 4, (uint32_t)(f->ns[!dir] << 1));
    f->ns[dir] = (f->ns[dir] + 1) & 0x7fff;
    if (dir == C2S) f->unacked = 0; /* an I-frame carries N(R) too */
    p[6] = type;
    p[7] = nobj;
    p[8] = cot;
    p[9] = 0;
    put16le(p + 10, f->ca);
    return 12;
}

/* M_ME_NC_1 (13): IOA + short float + QDS */
static size_t iec_floats(uint8_t *p, struct flow *f, int n, uint8_t cot)
{
    size_t o = iec_i(p, f, S2C, 13, (uint8_t)n, cot);
    uint32_t base = 1000 + rnd_below(50) * 10;
    for (int i = 0; i < n; i++) {
        float v = (float)(20.0 + 80.0 * rnd_unit());
        uint32_t w;
        memcpy(&w, &v, 4);
        put24le(p + o, base + (uint32_t)i);
        put32le(p + o + 3, w);
        p[o + 7] = 0;
        o += 8;
    }
    p[1] = (uint8_t)(o - 2);
    return o;
}

static int app_iec104(struct flow *f, struct msg *m)
{
    uint8_t *p = g_pl;
    size_t n = 0;
    int dir = S2C;
    uint64_t d = rnd_range(100, 600) * US;
    switch (f->step < 8 ? f->step : 8) {
    case 0: dir = C2S, n = iec_u(p, 0x07); break;  /* STARTDT act */
    case 1: n = iec_u(p, 0x0B), m->ack = 1; break; /* STARTDT con */
    case 2:                                        /* C_IC_NA_1 act: general interrogation */
    case 3:                                        /* C_IC_NA_1 actcon */
    case 6:                                        /* C_IC_NA_1 actterm */
        dir = f->step == 2 ? C2S : S2C;
        n = iec_i(p, f, dir, 100, 1, f->step == 2 ? 6 : f->step == 3 ? 7 : 10);
        put24le(p + n, 0);
        p[n + 3] = 20; /* QOI: station interrogation */
        n += 4;
        p[1] = (uint8_t)(n - 2);
        break;
    case 4: n = iec_floats(p, f, (int)rnd_range(8, 20), 20); break;
    case 5: { /* M_SP_NA_1 (1): IOA + SIQ */
        unsigned k = rnd_range(8, 32);
        n = iec_i(p, f, S2C, 1, (uint8_t)k, 20);
        for (unsigned i = 0; i < k; i++) {
            put24le(p + n, 2000 + i);
            p[n + 3] = (uint8_t)rnd_below(2);
            n += 4;
        }
        p[1] = (uint8_t)(n - 2);
        break;
    }
    case 7:
        f->t0 = g_now;
        dir = C2S, n = iec_s(p, f);
        d = next_poll(f);
        break;
    default:
        if (f->phase == 1) { /* S-frame after w I-frames */
            dir = C2S, n = iec_s(p, f);
            f->phase = 0;
            d = next_poll(f);
        } else if (f->phase == 2) { /* TESTFR con */
            n = iec_u(p, 0x83), m->ack = 1;
            f->phase = 0;
            d = next_poll(f);
        } else if (f->t0 = g_now, ++f->txn % 50 == 0) { /* TESTFR act */
            dir = C2S, n = iec_u(p, 0x43);
            f->phase = 2;
        } else { /* spontaneous measurands */
            n = iec_floats(p, f, (int)rnd_range(1, 6), 3);
            if (++f->unacked >= 8) {
                f->phase = 1;
            } else {
                m->ack = 1;
                d = next_poll(f);
            }
        }
    }
    f->step++;
    m->dir = dir;
    m->len = n;
    m->delay = d;
    return 1;
}

/* ---- S7comm over TPKT/COTP (port 102) ----
 * TPKT: 03 00 len(2) | COTP CR/CC: li E0|D0 dst(2) src(2) class params | COTP DT: 02 F0 80
 * S7: 32 rosctr 00 00 pduref(2) parlen(2) datalen(2) [errclass errcode in ack_data]
 *   params: setup F0 00 amq(2) amq(2) pdu(2) | read/write 04|05 count items*12
 *   item: 12 0A 10 tsize len(2) db(2) area addr(3)
 */
static size_t s7_cotp_conn(uint8_t *p, uint8_t type, uint16_t dref, uint16_t sref)
{
    static const uint8_t params[] = {0xC0, 0x01, 0x0A, 0xC1, 0x02, 0x01,
                                     0x00, 0xC2, 0x02, 0x01, 0x02};
    p[0] = 3;
    p[1] = 0;
    put16be(p + 2, 22);
    p[4] = 17; /* COTP length indicator */
    p[5] = type;
    put16be(p + 6, dref);
    put16be(p + 8, sref);
    p[10] = 0;
    memcpy(p + 11, params, sizeof(params));
    return 22;
}

static size_t s7_hdr(uint8_t *p, uint8_t rosctr, uint16_t ref, unsigned plen, unsigned dlen)
{
    p[0] = 3;
    p[1] = 0;
    p[4] = 2;
    p[5] = 0xF0;
    p[6] = 0x80;
    p[7] = 0x32;
    p[8] = rosctr;
    put16be(p + 9, 0);
    put16be(p + 11, ref);
    put16be(p + 13, plen);
    put16be(p + 15, dlen);
    size_t o = 17;
    if (rosctr == 3) {
        p[17] = 0;
        p[18] = 0;
        o = 19;
    }
    put16be(p + 2, (uint32_t)(o + plen + dlen));
    return o;
}

static int app_s7(struct flow *f, struct msg *m)
{
    uint8_t *p = g_pl;
    size_t n;
    static const uint8_t setup[] = {0xF0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xE0};
    m->delay = rnd_range(300, 3000) * US;
    m->dir = (f->step & 1) ? S2C : C2S;
    m->ack = m->dir == S2C;
    if (f->step == 0) {
        n = s7_cotp_conn(p, 0xE0, 0, f->ca);
    } else if (f->step == 1) {
        n = s7_cotp_conn(p, 0xD0, f->ca, (uint16_t)(f->ca ^ 0x4400));
    } else if (f->step == 2 || f->step == 3) {
        n = s7_hdr(p, f->step == 2 ? 1 : 3, ++f->tid, sizeof(setup), 0);
        memcpy(p + n, setup, sizeof(setup));
        n += sizeof(setup);
    } else if ((f->step & 1) == 0) { /* read var or write var job */
        f->t0 = g_now;
        f->wr = rnd_below(10) == 0;
        f->nitems = (uint8_t)rnd_range(1, 4);
        unsigned plen = 2 + 12u * f->nitems, dlen = 0;
        for (unsigned i = 0; i < f->nitems; i++) {
            f->ilen[i] = (uint16_t)(f->wr ? rnd_range(2, 8) : rnd_range(2, 32));
            if (f->wr) dlen += 4 + f->ilen[i] + ((f->ilen[i] & 1) && i + 1 < f->nitems);
        }
        n = s7_hdr(p, 1, ++f->tid, plen, dlen);
        p[n++] = f->wr ? 0x05 : 0x04;
        p[n++] = f->nitems;
        for (unsigned i = 0; i < f->nitems; i++) {
            p[n++] = 0x12;
            p[n++] = 0x0A;
            p[n++] = 0x10;
            p[n++] = 0x02; /* BYTE */
            put16be(p + n, f->ilen[i]);
            put16be(p + n + 2, 1 + rnd_below(20)); /* DB number */
            p[n + 4] = 0x84;                       /* area: data blocks */
            uint32_t bit = rnd_below(512) * 8;
            p[n + 5] = (uint8_t)(bit >> 16);
            put16be(p + n + 6, bit);
            n += 8;
        }
        for (unsigned i = 0; f->wr && i < f->nitems; i++) {
            p[n++] = 0x00;
            p[n++] = 0x04; /* BYTE/WORD/DWORD, length in bits */
            put16be(p + n, f->ilen[i] * 8u);
            n += 2;
            rnd_fill(p + n, f->ilen[i]);
            n += f->ilen[i];
            if ((f->ilen[i] & 1) && i + 1 < f->nitems) p[n++] = 0;
        }
    } else if (f->wr) { /* write var ack_data: one return code per item */
        n = s7_hdr(p, 3, f->tid, 2, f->nitems);
        p[n++] = 0x05;
        p[n++] = f->nitems;
        for (unsigned i = 0; i < f->nitems; i++)
            p[n++] = 0xFF;
        m->delay = next_poll(f);
    } else { /* read var ack_data */
        unsigned dlen = 0;
        for (unsigned i = 0; i < f->nitems; i++)
            dlen += 4 + f->ilen[i] + ((f->ilen[i] & 1) && i + 1 < f->nitems);
        n = s7_hdr(p, 3, f->tid, 2, dlen);
        p[n++] = 0x04;
        p[n++] = f->nitems;
        for (unsigned i = 0; i < f->nitems; i++) {
            p[n++] = 0xFF;
            p[n++] = 0x04;
            put16be(p + n, f->ilen[i] * 8u);
            n += 2;
            rnd_fill(p + n, f->ilen[i]);
            n += f->ilen[i];
            if ((f->ilen[i] & 1) && i + 1 < f->nitems) p[n++] = 0;
        }
        m->delay = next_poll(f);
    }
    f->step++;
    m->len = n;
    return 1;
}

/* ---- EtherNet/IP explicit messaging (TCP 44818) ----
 * encapsulation: cmd(2) len(2) session(4) status(4) context(8) options(4), all LE
 * SendRRData: iface(4) timeout(2) count(2) | null addr item 0000 0000 | B2 00 len | CIP
 * CIP Get_Attribute_Single: 0E 03 20 class 24 instance 30 attribute -> 8E 00 status 00 data
 */
static size_t enip_hdr(uint8_t *p, uint16_t cmd, size_t len, uint32_t handle, uint64_t ctx)
{
    put16le(p, cmd);
    put16le(p + 2, (uint32_t)len);
    put32le(p + 4, handle);
    put32le(p + 8, 0);
    put32le(p + 12, (uint32_t)ctx);
    put32le(p + 16, (uint32_t)(ctx >> 32));
    put32le(p + 20, 0);
    return 24;
}

static size_t enip_rr(uint8_t *p, struct flow *f, const uint8_t *cip, size_t clen, int req)
{
    size_t n = enip_hdr(p, 0x6F, 16 + clen, f->handle, f->ctx);
    put32le(p + n, 0);
    put16le(p + n + 4, req ? 10 : 0);
    put16le(p + n + 6, 2);
    put32le(p + n + 8, 0); /* null address item */
    put16le(p + n + 12, 0xB2);
    put16le(p + n + 14, (uint32_t)clen);
    memcpy(p + n + 16, cip, clen);
    return n + 16 + clen;
}

static int app_enip(struct flow *f, struct msg *m)
{
    uint8_t *p = g_pl, cip[80];
    size_t n, c = 0;
    m->dir = (f->step & 1) ? S2C : C2S;
    m->delay = rnd_range(300, 3000) * US;
    if (f->step < 2) { /* RegisterSession: protocol version 1, options 0 */
        f->ctx++;
        n = enip_hdr(p, 0x65, 4, f->step ? f->handle : 0, f->ctx);
        put32le(p + n, 1);
        n += 4;
        m->ack = f->step == 1;
    } else if ((f->step & 1) == 0) {
        f->t0 = g_now;
        f->ctx++;
        if (rnd_below(10) < 6) { /* assembly data */
            f->fc = 4;
            f->addr = 3;
            f->val = (uint16_t)(100 + rnd_below(8));
            f->qty = (uint16_t)(2 * rnd_range(4, 32));
        } else { /* identity object */
            f->fc = 1;
            f->addr = (uint16_t)rnd_range(1, 7);
            f->val = 1;
        }
        cip[c++] = 0x0E;
        cip[c++] = 3;
        cip[c++] = 0x20;
        cip[c++] = f->fc;
        cip[c++] = 0x24;
        cip[c++] = (uint8_t)f->val;
        cip[c++] = 0x30;
        cip[c++] = (uint8_t)f->addr;
        n = enip_rr(p, f, cip, c, 1);
    } else {
        static const char pname[] = "1756-L83E/B";
        cip[c++] = 0x8E;
        cip[c++] = 0;
        cip[c++] = 0; /* general status: success */
        cip[c++] = 0;
        if (f->fc == 4) {
            rnd_fill(cip + c, f->qty);
            c += f->qty;
        } else {
            switch (f->addr) {
            case 1: put16le(cip + c, 1), c += 2; break;      /* vendor */
            case 2: put16le(cip + c, 0x0E), c += 2; break;   /* device type: PLC */
            case 3: put16le(cip + c, 166), c += 2; break;    /* product code */
            case 4: cip[c++] = 33, cip[c++] = 11; break;     /* revision */
            case 5: put16le(cip + c, 0x0060), c += 2; break; /* status */
            case 6: put32le(cip + c, 0x60000000u | f->ip[S2C]), c += 4; break; /* serial */
            default:
                cip[c++] = (uint8_t)(sizeof(pname) - 1);
                memcpy(cip + c, pname, sizeof(pname) - 1);
                c += sizeof(pname) - 1;
            }
        }
        n = enip_rr(p, f, cip, c, 0);
        m->ack = 1;
        m->delay = next_poll(f);
    }
    f->step++;
    m->len = n;
    return 1;
}

/* ---- TLS 1.3 on 443: ClientHello with SNI, ServerHello, then encrypted records ---- */
static size_t tls_record(uint8_t *p, uint8_t type, size_t len)
{
    p[0] = type;
    p[1] = 3;
    p[2] = 3;
    put16be(p + 3, (uint32_t)len);
    if (type == 0x17) rnd_fill(p + 5, len);
    return 5 + len;
}

static size_t tls_client_hello(uint8_t *p, const char *sni)
{
    static const uint8_t suites[] = {0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b, 0xc0,
                                     0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8};
    static const uint8_t ext_fixed[] = {
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,                         /* ec_point_formats */
        0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, /* supported_groups */
        0x00, 0x18,                                                 /* */
        0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, /* ALPN h2 http/1.1 */
        0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31,             /* */
        0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04, 0x03, 0x08, 0x04, /* signature_algorithms */
        0x04, 0x01, 0x05, 0x01,                                     /* */
        0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,       /* supported_versions */
        0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,                         /* psk_key_exchange_modes */
    };
    size_t sl = strlen(sni), n = 9; /* record(5) + handshake header(4) */
    p[n++] = 3;
    p[n++] = 3;
    rnd_fill(p + n, 32); /* random */
    n += 32;
    p[n++] = 32; /* legacy session id */
    rnd_fill(p + n, 32);
    n += 32;
    put16be(p + n, sizeof(suites));
    memcpy(p + n + 2, suites, sizeof(suites));
    n += 2 + sizeof(suites);
    p[n++] = 1; /* compression: null */
    p[n++] = 0;
    size_t extl = n;
    n += 2;
    put16be(p + n, 0x0000); /* server_name */
    put16be(p + n + 2, (uint32_t)(sl + 5));
    put16be(p + n + 4, (uint32_t)(sl + 3));
    p[n + 6] = 0;
    put16be(p + n + 7, (uint32_t)sl);
    memcpy(p + n + 9, sni, sl);
    n += 9 + sl;
    memcpy(p + n, ext_fixed, sizeof(ext_fixed));
    n += sizeof(ext_fixed);
    put16be(p + n, 0x0033); /* key_share: x25519 */
    put16be(p + n + 2, 38);
    put16be(p + n + 4, 36);
    put16be(p + n + 6, 0x001d);
    put16be(p + n + 8, 32);
    rnd_fill(p + n + 10, 32);
    n += 42;
    put16be(p + extl, (uint32_t)(n - extl - 2));
    p[0] = 0x16;
    p[1] = 3;
    p[2] = 1;
    put16be(p + 3, (uint32_t)(n - 5));
    p[5] = 1; /* ClientHello */
    p[6] = 0;
    put16be(p + 7, (uint32_t)(n - 9));
    return n;
}

static size_t tls_server_hello(uint8_t *p)
{
    size_t n = 9;
    p[n++] = 3;
    p[n++] = 3;
    rnd_fill(p + n, 32);
    n += 32;
    p[n++] = 32;
    rnd_fill(p + n, 32);
    n += 32;
    put16be(p + n, 0x1301); /* TLS_AES_128_GCM_SHA256 */
    p[n + 2] = 0;
    put16be(p + n + 3, 46);
    n += 5;
    static const uint8_t ext[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, /* supported_versions */
                                  0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20};
    memcpy(p + n, ext, sizeof(ext));
    n += sizeof(ext);
    rnd_fill(p + n, 32);
    n += 32;
    p[0] = 0x16;
    p[1] = 3;
    p[2] = 3;
    put16be(p + 3, (uint32_t)(n - 5));
    p[5] = 2;
    p[6] = 0;
    put16be(p + 7, (uint32_t)(n - 9));
    n += tls_record(p + n, 0x14, 1);
    p[n - 1] = 1; /* change_cipher_spec */
    return n;
}

static size_t size_skewed(void)
{
    return rnd_below(10) < 7 ? rnd_range(40, 250) : rnd_range(250, 1350);
}

static int app_tls(struct flow *f, struct msg *m)
{
    uint8_t *p = g_pl;
    uint32_t s = f->step++;
    m->dir = C2S;
    m->delay = f->rtt + rnd_range(100, 2000) * US;
    if (s == 0) {
        m->len = tls_client_hello(p, f->name);
    } else if (s == 1) { /* ServerHello, CCS, first encrypted flight, back to back */
        size_t n = tls_server_hello(p);
        m->len = n + tls_record(p + n, 0x17, rnd_range(600, 1200));
        m->dir = S2C;
        m->delay = rnd_range(20, 100) * US;
    } else if (s == 2) {
        m->len = tls_record(p, 0x17, rnd_range(300, 1350));
        m->dir = S2C;
        m->ack = 1;
        m->delay = f->rtt / 2 + rnd_range(200, 3000) * US;
    } else if (s == 3) { /* client CCS + Finished */
        size_t n = tls_record(p, 0x14, 1);
        p[n - 1] = 1;
        m->len = n + tls_record(p + n, 0x17, 53);
        m->delay = rnd_range(50, 500) * US;
    } else {
        uint32_t k = (s - 4) / 2;
        if (k >= f->total) return 0;
        if ((s & 1) == 0) {
            m->len = tls_record(p, 0x17, rnd_range(40, 600));
        } else {
            m->len = tls_record(p, 0x17, size_skewed());
            m->dir = S2C;
            m->ack = 1;
            m->delay = rnd_exp(40.0 * MS);
        }
    }
    return 1;
}

/* ---- HTTP/1.1 on 80 ---- */
static int app_http(struct flow *f, struct msg *m)
{
    static const char *const paths[] = {"/",       "/index.html",     "/api/v1/status",
                                        "/login",  "/static/app.js",  "/static/site.css",
                                        "/health", "/data/trend.json"};
    static const char *const types[] = {
        "text/html", "text/html",  "application/json", "text/html", "application/javascript",
        "text/css",  "text/plain", "application/json"};
    static const char filler[] = "<p>plant status ok; line 3 running, tank level nominal.</p>\n";
    uint32_t s = f->step++, k = s / 2;
    char *c = (char *)g_pl;
    if (k >= f->total) return 0;
    if ((s & 1) == 0) {
        f->fc = (uint8_t)rnd_below(8);
        int n = snprintf(c, 600,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0 (Windows NT "
                         "10.0; Win64; x64) AppleWebKit/537.36\r\nAccept: */*\r\n"
                         "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
                         paths[f->fc], f->name);
        m->len = (size_t)n;
        m->dir = C2S;
        m->delay = f->rtt + rnd_range(200, 5000) * US;
    } else {
        size_t body = size_skewed();
        int n = snprintf(c, 300,
                         "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: %s\r\n"
                         "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n",
                         types[f->fc], body);
        char *b = c + n;
        if (f->fc == 2 || f->fc == 7) { /* a JSON array of readings, exactly body bytes */
            b[0] = '[';
            for (size_t i = 1; i + 1 < body; i++)
                b[i] = (i % 4 == 0) ? ',' : (char)('1' + (i % 4));
            b[body - 1] = ']';
            if (body > 2 && b[body - 2] == ',') b[body - 2] = '0';
        } else {
            for (size_t i = 0; i < body; i++)
                b[i] = filler[i % (sizeof(filler) - 1)];
        }
        m->len = (size_t)n + body;
        m->dir = S2C;
        m->ack = 1;
        m->delay = rnd_exp(60.0 * MS);
    }
    return 1;
}

typedef int (*app_fn)(struct flow *, struct msg *);
static const app_fn g_app[] = {
    [K_MODBUS] = app_modbus, [K_DNP3] = app_dnp3, [K_IEC104] = app_iec104, [K_S7] = app_s7,
    [K_ENIP] = app_enip,     [K_TLS] = app_tls,   [K_HTTP] = app_http,
};

static uint64_t step_tcp(struct flow *f)
{
    struct msg m;
    uint64_t d;
    switch (f->st) {
    case T_SYN:
        emit_tcp(f, C2S, F_SYN, 0);
        f->st = T_SYNACK;
        return f->rtt / 2;
    case T_SYNACK:
        emit_tcp(f, S2C, F_SYN | F_ACK, 0);
        f->st = T_HSACK;
        return f->rtt / 2;
    case T_HSACK:
        emit_tcp(f, C2S, F_ACK, 0);
        f->st = T_APP;
        return rnd_range(20, 300) * US;
    case T_APP:
        memset(&m, 0, sizeof(m));
        if (!g_app[f->kind](f, &m)) {
            emit_tcp(f, C2S, F_FIN | F_ACK, 0);
            f->st = T_FIN2;
            return f->rtt / 2;
        }
        emit_tcp(f, m.dir, F_PSH | F_ACK, m.len);
        if (m.dir == S2C && m.ack) {
            d = rnd_range(30, 200) * US;
            if (d > m.delay / 2) d = m.delay / 2;
            f->saved = m.delay - d;
            f->st = T_PACK;
            return d;
        }
        return m.delay;
    case T_PACK:
        emit_tcp(f, C2S, F_ACK, 0);
        f->st = T_APP;
        return f->saved;
    case T_FIN2:
        emit_tcp(f, S2C, F_FIN | F_ACK, 0);
        f->st = T_FIN3;
        return f->rtt / 2;
    default: emit_tcp(f, C2S, F_ACK, 0); return DONE;
    }
}

/* ---- EtherNet/IP class-1 I/O (UDP 2222 <-> 2222), scanner (client) <-> adapter ----
 * CPF: count=2 | 8002 len=8 conn_id(4) seq(4) | 00B1 len cip_seq(2) [run/idle(4) O->T] data
 */
static uint64_t step_enip_io(struct flow *f)
{
    int dir = (f->step++ & 1) ? S2C : C2S;
    uint8_t *p = g_pl;
    size_t dlen = dir == C2S ? f->qty : f->val, hdr = dir == C2S ? 6 : 2;
    put16le(p, 2);
    put16le(p + 2, 0x8002);
    put16le(p + 4, 8);
    put32le(p + 6, f->conn[dir]);
    put32le(p + 10, ++f->eseq[dir]);
    put16le(p + 14, 0x00B1);
    put16le(p + 16, (uint32_t)(hdr + dlen));
    put16le(p + 18, ++f->cseq[dir]);
    if (dir == C2S) put32le(p + 20, 1); /* run */
    /* an I/O image changes a few bits at a time */
    uint8_t *img = p + 18 + hdr;
    memset(img, 0, dlen);
    for (size_t i = 0; i < dlen; i += 4)
        img[i] = (uint8_t)((f->eseq[dir] >> 6) + i);
    emit_udp(f, dir, 18 + hdr + dlen);
    return jitter(f->interval / 2, 3);
}

/* ---- DNS (UDP 53) ---- */
static size_t dns_qname(uint8_t *p, const char *name)
{
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        p[n++] = (uint8_t)l;
        memcpy(p + n, name, l);
        n += l;
        name += l + (dot != NULL);
    }
    p[n++] = 0;
    return n;
}

static uint64_t step_dns(struct flow *f)
{
    uint8_t *p = g_pl;
    int resp = f->step++ != 0;
    unsigned an = 0;
    int nx = resp && f->exc;
    put16be(p, f->tid);
    put16be(p + 2, resp ? (nx ? 0x8183 : 0x8180) : 0x0100);
    put16be(p + 4, 1);
    if (resp && !nx) an = f->fc == 1 ? rnd_range(1, 3) : 1;
    put16be(p + 6, an);
    put32be(p + 8, 0);
    size_t n = 12 + dns_qname(p + 12, f->name);
    put16be(p + n, f->fc);
    put16be(p + n + 2, 1);
    n += 4;
    for (unsigned i = 0; i < an; i++) {
        put16be(p + n, 0xC00C);
        put16be(p + n + 2, f->fc);
        put16be(p + n + 4, 1);
        put32be(p + n + 6, rnd_range(30, 3600));
        size_t rl = f->fc == 1 ? 4 : 16;
        put16be(p + n + 10, (uint32_t)rl);
        if (f->fc == 1) {
            put32be(p + n + 12, 0xC6336400u | rnd_range(1, 254)); /* 198.51.100.0/24 */
        } else {
            memset(p + n + 12, 0, 16);
            put32be(p + n + 12, 0x20010db8);
            put16be(p + n + 26, rnd_range(1, 0xfffe));
        }
        n += 12 + rl;
    }
    emit_udp(f, resp ? S2C : C2S, n);
    return resp ? DONE : f->rtt;
}

/* ---- NTP (UDP 123): client mode 3, server mode 4 ---- */
static void put_ntp_ts(uint8_t *p, uint64_t t_ns)
{
    uint64_t sec = EPOCH_S + t_ns / NS + 2208988800ull;
    uint64_t frac = ((t_ns % NS) << 32) / NS;
    put32be(p, (uint32_t)sec);
    put32be(p + 4, (uint32_t)frac);
}

static uint64_t step_ntp(struct flow *f)
{
    uint8_t *p = g_pl;
    memset(p, 0, 48);
    if (f->step++ == 0) {
        p[0] = 0x23; /* LI 0, VN 4, mode 3 */
        p[2] = 6;
        p[3] = 0xEC;
        f->ts64 = g_now;
        put_ntp_ts(p + 40, g_now);
        emit_udp(f, C2S, 48);
        return f->rtt;
    }
    p[0] = 0x24; /* mode 4 */
    p[1] = 2;    /* stratum */
    p[2] = 6;
    p[3] = 0xE9;
    put32be(p + 4, 0x00000120);
    put32be(p + 8, 0x00000340);
    put32be(p + 12, 0xC0000201); /* reference: 192.0.2.1 */
    put_ntp_ts(p + 16, g_now - 30 * NS);
    put_ntp_ts(p + 24, f->ts64);
    put_ntp_ts(p + 32, g_now - 20 * US);
    put_ntp_ts(p + 40, g_now);
    emit_udp(f, S2C, 48);
    return DONE;
}

/* ---- the IT flow arrival process ---- */
static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static const char *const g_domains[] = {
    "corp.example.com", "example.net",        "cdn.example.org",        "updates.example.com",
    "mail.example.com", "example.org",        "sharepoint.example.com", "vendor.example.net",
    "api.example.com",  "portal.example.org",
};
static const char *const g_words[] = {"www",   "intranet", "wiki", "files", "app",  "static",
                                      "login", "metrics",  "docs", "img",   "edge", "assets"};

static void pick_name(struct flow *f)
{
    unsigned w = rnd_below(sizeof(g_words) / sizeof(g_words[0]));
    unsigned d = rnd_below(sizeof(g_domains) / sizeof(g_domains[0]));
    if (rnd_below(3) == 0)
        snprintf(f->name, sizeof(f->name), "%s%u.%s", g_words[w], rnd_below(40), g_domains[d]);
    else
        snprintf(f->name, sizeof(f->name), "%s.%s", g_words[w], g_domains[d]);
}

static void spawn_it(void)
{
    unsigned c = rnd_below(N_IT_CLIENTS), r = rnd_below(100);
    uint32_t cip = ip4(10, 20, 1 + c / 250, 1 + c % 250);
    uint16_t cport = g_cport[c]++;
    if (g_cport[c] == 0) g_cport[c] = 49152;
    if (g_wide && rnd_below(2)) { /* -A: half the time a client never seen (10.128/9) */
        cip = ip4(10, 128 + rnd_below(128), rnd_below(256), rnd_range(1, 254));
        cport = (uint16_t)rnd_range(49152, 65535);
    }
    struct flow *f;
    if (r < 45) {
        f = flow_new(K_DNS, cip, cport, ip4(10, 20, 0, 2), 53, 0);
        f->rtt = rnd_range(200, 20000) * US; /* cache hit or recursion */
        f->tid = (uint16_t)rnd64();
        f->fc = rnd_below(4) ? 1 : 28; /* A or AAAA */
        f->exc = rnd_below(30) == 0;   /* NXDOMAIN */
        pick_name(f);
    } else if (r < 50) {
        int ext = rnd_below(2);
        f = flow_new(K_NTP, cip, cport, ext ? ip4(203, 0, 113, 123) : ip4(10, 20, 0, 3), 123, ext);
    } else {
        int tls = r >= 65, ext = rnd_below(10) < 7;
        /* off-site servers live in the documentation ranges 198.51.100/24 and 203.0.113/24 */
        uint32_t sip = !ext           ? ip4(10, 20, 0, rnd_range(80, 89))
                       : rnd_below(2) ? ip4(198, 51, 100, rnd_range(1, 254))
                                      : ip4(203, 0, 113, rnd_range(1, 254));
        /* -A: off-site servers from the benchmarking range 198.18.0.0/15 */
        if (g_wide && ext) sip = ip4(198, 18 + rnd_below(2), rnd_below(256), rnd_range(1, 254));
        f = flow_new(tls ? K_TLS : K_HTTP, cip, cport, sip, tls ? 443 : 80, ext);
        pick_name(f);
        if (tls)
            f->total = g_tls_k > 1 ? rnd_range(1, 2 * g_tls_k - 1) : 1;
        else
            f->total = rnd_range(1, 3);
    }
    f->t = g_now;
    heap_push(f);
}

static uint64_t step(struct flow *f)
{
    switch (f->kind) {
    case K_ARRIVAL: spawn_it(); return rnd_exp(g_it_mean_gap) + 1;
    case K_ENIP_IO: return step_enip_io(f);
    case K_DNS: return step_dns(f);
    case K_NTP: return step_ntp(f);
    default: return step_tcp(f);
    }
}

/* ---- set-up of the long-lived OT population ---- */

/* -P: every session of this kind, no I/O and no IT (per-dissector benchmark); -1: the mix */
static int g_only = -1;

/* Per-session poll weights: 30% slow, 50% normal, 20% fast pollers. */
static unsigned poll_weight(void)
{
    unsigned r = rnd_below(10);
    return r < 3 ? 1 : r < 8 ? 2 : 4;
}

static void setup_ot(unsigned nsess, unsigned nio, double pps, uint64_t stagger)
{
    /* protocol by session index: 6 Modbus, 4 S7, 3 DNP3, 3 IEC-104, 4 EtherNet/IP of 20 */
    static const uint8_t mix[20] = {K_MODBUS, K_S7,     K_DNP3,   K_IEC104, K_ENIP,
                                    K_MODBUS, K_S7,     K_MODBUS, K_DNP3,   K_ENIP,
                                    K_IEC104, K_MODBUS, K_S7,     K_ENIP,   K_MODBUS,
                                    K_DNP3,   K_IEC104, K_S7,     K_ENIP,   K_MODBUS};
    static const uint16_t ports[] = {
        [K_MODBUS] = 502, [K_DNP3] = 20000, [K_IEC104] = 2404, [K_S7] = 102, [K_ENIP] = 44818};
    static const uint8_t master_of[] = {
        [K_MODBUS] = 2, [K_DNP3] = 0, [K_IEC104] = 1, [K_S7] = 4, [K_ENIP] = 5};
    struct flow **fs = calloc(nsess + nio + 1, sizeof(*fs));
    unsigned *w = calloc(nsess + nio + 1, sizeof(*w));
    double wsum = 0, iosum = 0;
    if (!fs || !w) {
        fprintf(stderr, "otgen: out of memory\n");
        exit(1);
    }
    for (unsigned i = 0; i < nsess; i++) {
        enum kind k = g_only >= 0 ? (enum kind)g_only : (enum kind)mix[i % 20];
        unsigned m = master_of[k] + (k == K_MODBUS && (i & 1)); /* two Modbus HMIs */
        uint32_t mip = ip4(10, 10, 1, 10 + m);
        uint32_t plc = ip4(10, 10, 2 + i / 200, 10 + i % 200);
        struct flow *f = flow_new(k, mip, g_mport[m]++, plc, ports[k], 0);
        f->unit = (uint8_t)(1 + i % 247);
        f->ca = (uint16_t)(1 + i);
        f->daddr[0] = (uint16_t)(1 + m); /* DNP3 master / outstation addresses */
        f->daddr[1] = (uint16_t)(10 + i);
        f->handle = (uint32_t)rnd64() | 1;
        f->ctx = rnd64() & 0xffffffffull;
        w[i] = poll_weight();
        wsum += w[i] * 3.0; /* ~3 frames per poll: request, response, ACK */
        f->t = rnd64() % stagger;
        fs[i] = f;
    }
    for (unsigned j = 0; j < nio; j++) {
        uint32_t scanner = ip4(10, 10, 1, 20 + j % 2);
        struct flow *f = flow_new(K_ENIP_IO, scanner, 2222, ip4(10, 10, 8, 10 + j), 2222, 0);
        f->conn[C2S] = 0x10000000u | (uint32_t)rnd_below(0x10000) << 8 | j;
        f->conn[S2C] = 0x20000000u | (uint32_t)rnd_below(0x10000) << 8 | j;
        f->qty = (uint16_t)(4 * rnd_range(1, 8));  /* O->T output image */
        f->val = (uint16_t)(4 * rnd_range(2, 24)); /* T->O input image */
        w[nsess + j] = poll_weight();
        iosum += w[nsess + j];
        f->t = rnd64() % stagger;
        fs[nsess + j] = f;
    }
    /* intervals so that TCP OT and cyclic I/O take their shares of the target packet rate */
    double r0 = (g_only >= 0 ? 1.0 : SHARE_OTTCP) * pps / wsum,
           r1 = nio ? SHARE_IO * pps / (2.0 * iosum) : 0;
    for (unsigned i = 0; i < nsess + nio; i++) {
        double rate = i < nsess ? w[i] * r0 : w[i] * r1;
        fs[i]->interval = (uint64_t)(1e9 / rate);
        heap_push(fs[i]);
    }
    free(fs);
    free(w);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: otgen -o FILE [-n PACKETS] [-s SEED] [-f FLOWS_HINT] [-p PPS] [-P PROTO]\n"
            "             [-L PPM] [-A] [-F PPM]\n"
            "  writes a deterministic OT/IT benchmark capture (pcap, Ethernet)\n"
            "  -n  packets to write (default 2000000)\n"
            "  -s  PRNG seed (default 1)\n"
            "  -f  total flows to aim at (default packets/50, at least the OT flows)\n"
            "  -p  capture packet rate for the timestamps (default 150000)\n"
            "  -P  one protocol only: modbus, dnp3, iec104, s7comm or enip_tcp sessions,\n"
            "      no cyclic I/O and no IT background (per-dissector benchmark)\n"
            "  -L  TCP data segments lost before the TAP, per million (default 0): the\n"
            "      sensor sees holes the peer acknowledges (soak test: gaps, reassembly caps)\n"
            "  -A  half the IT clients from 10.128.0.0/9, off-site servers from 198.18.0.0/15:\n"
            "      most flows meet a new host (soak test: per-host tables at their caps)\n"
            "  -F  UDP datagrams sent as two IPv4 fragments, per million (default 0); one in\n"
            "      four loses its second fragment (soak test: the fragment table's caps)\n");
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    uint64_t seed = 1, hint = 0;
    double pps = 150000;
    int c;
    g_max_pkts = 2000000;
    while ((c = getopt(argc, argv, "o:n:s:f:p:P:L:F:Ah")) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': g_max_pkts = strtoull(optarg, NULL, 0); break;
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 'f': hint = strtoull(optarg, NULL, 0); break;
        case 'p': pps = strtod(optarg, NULL); break;
        case 'L': g_loss = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'A': g_wide = 1; break;
        case 'F': g_frag = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'P':
            for (int k = K_MODBUS; k <= K_ENIP; k++)
                if (strcmp(optarg, kind_name[k]) == 0) g_only = k;
            if (g_only < 0) {
                fprintf(stderr, "otgen: -P %s: not one of modbus dnp3 iec104 s7comm enip_tcp\n",
                        optarg);
                return 1;
            }
            break;
        default: usage(); return c == 'h' ? 0 : 1;
        }
    }
    if (!out || optind != argc || g_max_pkts == 0 || !(pps >= 1)) {
        usage();
        return 1;
    }
    g_rng = seed;
    crc_dnp_init();
    for (unsigned i = 0; i < N_IT_CLIENTS; i++)
        g_cport[i] = (uint16_t)rnd_range(49152, 60000);
    for (unsigned i = 0; i < N_MASTERS; i++)
        g_mport[i] = (uint16_t)rnd_range(49152, 60000);

    double dur = (double)g_max_pkts / pps; /* seconds */
    uint64_t nsess = g_max_pkts / 5000;
    nsess = nsess < 25 ? 25 : nsess > 400 ? 400 : nsess;
    uint64_t nio = g_only >= 0 ? 0 : nsess / 10, ot_flows = nsess + nio;
    if (!hint) hint = g_max_pkts / 50;
    /* IT flows: what the hint leaves, but not so few that they must be very long */
    double it_pkts = SHARE_IT * (double)g_max_pkts;
    double it_flows = hint > ot_flows ? (double)(hint - ot_flows) : 0;
    if (it_flows < it_pkts / 60) it_flows = it_pkts / 60;
    g_it_mean_gap = dur * 1e9 / it_flows;
    /* mean frames per IT flow by the mix: DNS 45% x2, NTP 5% x2, HTTP 15% x(6+3h, h~2),
     * TLS 35% x(11+3k); pick k, the mean of TLS exchanges, to fill the IT packet share */
    double per_flow = it_pkts / it_flows, kk = (per_flow - 6.65) / 1.05;
    g_tls_k = kk < 1 ? 1 : (uint32_t)(kk + 0.5);

    pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
    FILE *fp = fopen(out, "wb");
    if (!pd || !fp) {
        fprintf(stderr, "otgen: cannot open %s\n", out);
        return 1;
    }
    static char iobuf[1 << 20];
    setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
    g_dump = pcap_dump_fopen(pd, fp);
    if (!g_dump) {
        fprintf(stderr, "otgen: %s\n", pcap_geterr(pd));
        return 1;
    }

    uint64_t stagger = (uint64_t)(dur * 1e9 / 20);
    if (stagger > 500 * MS) stagger = 500 * MS;
    if (stagger == 0) stagger = 1;
    setup_ot((unsigned)nsess, (unsigned)nio, pps, stagger);
    struct flow arrival = {.kind = K_ARRIVAL, .t = 0};
    if (g_only < 0) heap_push(&arrival);

    while (g_pkts < g_max_pkts && g_hn) {
        struct flow *f = heap_pop();
        g_now = f->t;
        uint64_t d = step(f);
        if (d == DONE) {
            free(f);
            continue;
        }
        f->t = g_now + d;
        heap_push(f);
    }
    while (g_hn) {
        struct flow *f = heap_pop();
        if (f != &arrival) free(f);
    }
    free(g_heap);
    pcap_dump_close(g_dump);
    pcap_close(pd);

    uint64_t it = 0;
    for (int k = K_DNS; k < K_NKIND; k++)
        it += g_kpkts[k];
    printf("file: %s\nseed: %llu\npackets: %llu\nflows: %llu\nbytes: %llu\n", out,
           (unsigned long long)seed, (unsigned long long)g_pkts, (unsigned long long)g_flows,
           (unsigned long long)g_bytes);
    printf("duration_s: %.3f\nframes_le_300B_pct: %.1f\nmean_frame_B: %.1f\nit_pct: %.1f\n",
           (double)g_now / 1e9, 100.0 * (double)g_small / (double)(g_pkts ? g_pkts : 1),
           (double)g_bytes / (double)(g_pkts ? g_pkts : 1),
           100.0 * (double)it / (double)(g_pkts ? g_pkts : 1));
    printf("%-12s %10s %7s %8s\n", "protocol", "packets", "share%", "flows");
    for (int k = 0; k < K_NKIND; k++)
        printf("%-12s %10llu %7.2f %8llu\n", kind_name[k], (unsigned long long)g_kpkts[k],
               100.0 * (double)g_kpkts[k] / (double)(g_pkts ? g_pkts : 1),
               (unsigned long long)g_kflows[k]);
    return 0;
}
