/* decode.c - layer 2 to layer 4 decoding of one captured frame (see decode.h).
 *
 * Runs on the capture thread for every packet, so: no allocation, no memset of
 * the result, every field set explicitly, one pass through the frame. All reads
 * go through the cursor; a header that does not fit gives DECODED_BAD and names
 * the first header that failed.
 *
 * Link headers handled:
 *   EN10MB  | dst(6) | src(6) | type(2) | [tci(2) type(2)]* |
 *   NULL    | family(4, host order of the capturing machine) |
 *   LOOP    | family(4, network order) |
 *   SLL     | pkttype(2) | hatype(2) | halen(2) | addr(8) | protocol(2) |
 *   SLL2    | protocol(2) | rsv(2) | ifindex(4) | hatype(2) | pkttype(1) | halen(1) | addr(8) |
 *   RAW     | IPv4 or IPv6 header (by version nibble) |
 *
 * Which fields are valid: kind, anomaly, has_mac, vlan_count, ethertype always
 * (ethertype 0 when the link has none); src_mac/dst_mac when has_mac; vlan[i]
 * for i < vlan_count; src, dst, ttl, l3_off, l3_len once ip_version is non-zero
 * (it is set only after the addresses were read); the rest is zero unless the
 * layer that sets it was reached.
 *
 * payload_off/len by kind: TCP/UDP data; ICMP/ICMPv6: after type, code and
 * checksum; other IP protocols: everything after the IP (extension) headers;
 * FRAGMENT: the fragment's data (= frag_data_off); L2 and OTHER: after the
 * innermost ethertype; ARP: the ARP message (8 + 2 * (hlen + plen) bytes).
 * An 802.3 frame (LLC: STP, ...) is DECODED_OTHER with its length field
 * (< 0x0600) in ethertype.
 * All bounded by the IP length, so link padding is never payload.
 *
 * Judgement calls: an IP length beyond the captured bytes is a snap-length cut,
 * not an anomaly (the captured part is decoded); a TCP header longer than the
 * IP length says is DEC_TCP_BAD_HLEN, one cut by the capture DEC_TCP_TRUNCATED.
 * A UDP length under 8 or over the IP length is DEC_UDP_BAD_LEN, soft: the
 * packet still decodes, its payload bounded by the IP length. An empty raw-IP
 * frame is DEC_IPV4_TRUNCATED. PPPoE sessions carrying IPv4/IPv6 are opened;
 * MPLS, GRE and IP-in-IP are not (DECODED_OTHER, or DECODED_IP with l4proto
 * 47/4/41). */
#include "decode.h"

#include <string.h>

#include "cursor.h"

#define ETH_P_IPV4          0x0800
#define ETH_P_ARP           0x0806
#define ETH_P_8021Q         0x8100
#define ETH_P_IPV6          0x86dd
#define ETH_P_PROFINET      0x8892
#define ETH_P_8021AD        0x88a8
#define ETH_P_GOOSE         0x88b8
#define ETH_P_SV            0x88ba
#define ETH_P_QINQ_OLD      0x9100
#define ETH_P_PPPOE_SESSION 0x8864
#define PPP_IPV4            0x0021
#define PPP_IPV6            0x0057

#define DEC_MAX_EXTHDRS 16

static const char *const dec_anomaly_names[DEC_ANOMALY_COUNT] = {
    [DEC_NONE] = NULL,
    [DEC_LINK_UNSUPPORTED] = "decoder.link_unsupported",
    [DEC_ETH_TRUNCATED] = "decoder.eth_truncated",
    [DEC_VLAN_TRUNCATED] = "decoder.vlan_truncated",
    [DEC_VLAN_TOO_DEEP] = "decoder.vlan_too_deep",
    [DEC_NULL_TRUNCATED] = "decoder.null_truncated",
    [DEC_SLL_TRUNCATED] = "decoder.sll_truncated",
    [DEC_ARP_TRUNCATED] = "decoder.arp_truncated",
    [DEC_IPV4_TRUNCATED] = "decoder.ipv4_truncated",
    [DEC_IPV4_BAD_VERSION] = "decoder.ipv4_bad_version",
    [DEC_IPV4_BAD_HLEN] = "decoder.ipv4_bad_hlen",
    [DEC_IPV4_BAD_TOTLEN] = "decoder.ipv4_bad_totlen",
    [DEC_IPV6_TRUNCATED] = "decoder.ipv6_truncated",
    [DEC_IPV6_BAD_VERSION] = "decoder.ipv6_bad_version",
    [DEC_IPV6_EXTHDR_TRUNCATED] = "decoder.ipv6_exthdr_truncated",
    [DEC_IPV6_TOO_MANY_EXTHDRS] = "decoder.ipv6_too_many_exthdrs",
    [DEC_TCP_TRUNCATED] = "decoder.tcp_truncated",
    [DEC_TCP_BAD_HLEN] = "decoder.tcp_bad_hlen",
    [DEC_UDP_TRUNCATED] = "decoder.udp_truncated",
    [DEC_UDP_BAD_LEN] = "decoder.udp_bad_len",
    [DEC_ICMP_TRUNCATED] = "decoder.icmp_truncated",
    [DEC_FRAG_TOO_LARGE] = "decoder.frag_too_large",
    [DEC_FRAG_OVERLAP] = "decoder.frag_overlap",
    [DEC_FRAG_CAP] = "decoder.frag_cap",
    [DEC_FRAG_TIMEOUT] = "decoder.frag_timeout",
    [DEC_PPPOE_TRUNCATED] = "decoder.pppoe_truncated",
};

const char *decode_anomaly_name(int anomaly)
{
    if (anomaly <= DEC_NONE || anomaly >= DEC_ANOMALY_COUNT) return NULL;
    return dec_anomaly_names[anomaly];
}

static inline int dec_bad(struct decoded *d, int anomaly)
{
    d->anomaly = (uint8_t)anomaly;
    d->kind = DECODED_BAD;
    return DECODED_BAD;
}

/* A soft anomaly keeps the packet decodable; the first one named stays. */
static inline void dec_soft(struct decoded *d, int anomaly)
{
    if (d->anomaly == DEC_NONE) d->anomaly = (uint8_t)anomaly;
}

static inline int dec_done(struct decoded *d, int kind)
{
    d->kind = (uint8_t)kind;
    return kind;
}

/* Everything from layer 3 up; the layer-2 fields are left alone. */
static inline void dec_reset_l3(struct decoded *d)
{
    d->l3_off = 0;
    d->l3_len = 0;
    d->ip_version = 0;
    d->l4proto = 0;
    d->ttl = 0;
    d->tcp_flags = 0;
    d->sport = 0;
    d->dport = 0;
    d->seq = 0;
    d->ack = 0;
    d->window = 0;
    d->icmp_type = 0;
    d->icmp_code = 0;
    d->l4_off = 0;
    d->payload_off = 0;
    d->payload_len = 0;
    d->more_frags = 0;
    d->frag_id = 0;
    d->frag_offset = 0;
    d->frag_hdr_off = 0;
    d->frag_data_off = 0;
}

/* A cursor over the next n bytes of c, which must all be there (c does not
 * move). Its bounds are constants, so once inlined its reads need no checks:
 * a fixed header is tested once, then read field by field through the cursor. */
static inline int dec_view(const struct cursor *c, size_t n, struct cursor *v)
{
    const uint8_t *p = cursor_peek_ptr(c, n);
    if (!p) return 0;
    *v = cursor_make(p, n);
    return 1;
}

static inline void dec_payload(struct decoded *d, const struct cursor *c)
{
    d->payload_off = (uint32_t)cursor_pos(c);
    d->payload_len = (uint32_t)cursor_left(c);
}

/* Layer 4. `c` covers the IP payload as bounded by the IP length and the capture;
 * `declared` is what the IP header says is left (may exceed the captured bytes
 * when the snap length cut the packet, which is not an anomaly). */
static inline int dec_l4(struct decoded *d, struct cursor *c, uint8_t proto, size_t declared)
{
    d->l4proto = proto;
    d->l4_off = (uint32_t)cursor_pos(c);
    switch (proto) {
    case 6: { /* TCP */
        /* | sport | dport | seq | ack | doff:4 rsv:3 flags:9 | window | csum | urg | opts */
        struct cursor h;
        if (!dec_view(c, 20, &h)) {
            d->sport = cursor_u16be(c); /* what is there, for the anomaly event */
            d->dport = cursor_u16be(c);
            return dec_bad(d, DEC_TCP_TRUNCATED);
        }
        d->sport = cursor_u16be(&h);
        d->dport = cursor_u16be(&h);
        d->seq = cursor_u32be(&h);
        d->ack = cursor_u32be(&h);
        uint8_t doff = cursor_u8(&h);
        d->tcp_flags = cursor_u8(&h);
        d->window = cursor_u16be(&h);
        size_t thl = (size_t)(doff >> 4) * 4;
        if (thl < 20 || thl > declared) return dec_bad(d, DEC_TCP_BAD_HLEN);
        if (!cursor_skip(c, thl)) return dec_bad(d, DEC_TCP_TRUNCATED);
        dec_payload(d, c);
        return dec_done(d, DECODED_IP);
    }
    case 17: { /* UDP: | sport | dport | length | csum | */
        struct cursor h;
        if (!dec_view(c, 8, &h)) {
            d->sport = cursor_u16be(c);
            d->dport = cursor_u16be(c);
            return dec_bad(d, DEC_UDP_TRUNCATED);
        }
        d->sport = cursor_u16be(&h);
        d->dport = cursor_u16be(&h);
        size_t ulen = cursor_u16be(&h);
        cursor_skip(c, 8);
        d->payload_off = (uint32_t)cursor_pos(c);
        size_t left = cursor_left(c);
        if (ulen < 8 || ulen > declared) {
            dec_soft(d, DEC_UDP_BAD_LEN);
            if (ulen < 8) ulen = left + 8; /* meaningless length: the IP length bounds it */
        }
        d->payload_len = (uint32_t)(ulen - 8 < left ? ulen - 8 : left);
        return dec_done(d, DECODED_IP);
    }
    case 1:    /* ICMP */
    case 58: { /* ICMPv6: | type | code | csum | */
        struct cursor h;
        if (!dec_view(c, 4, &h)) return dec_bad(d, DEC_ICMP_TRUNCATED);
        d->icmp_type = cursor_u8(&h);
        d->icmp_code = cursor_u8(&h);
        cursor_skip(c, 4);
        dec_payload(d, c);
        return dec_done(d, DECODED_IP);
    }
    default: dec_payload(d, c); return dec_done(d, DECODED_IP);
    }
}

/* | ver:4 ihl:4 | tos | totlen | id | flags:3 off:13 | ttl | proto | csum | src | dst | opts */
static int dec_ipv4(struct decoded *d, struct cursor *c)
{
    size_t l3_off = cursor_pos(c);
    size_t avail = cursor_left(c);
    struct cursor h; /* the fixed header; `c` is cut to the IP length below */
    if (!dec_view(c, 20, &h)) {
        int ok;
        uint8_t v = cursor_peek_u8(c, 0, &ok);
        if (ok && v >> 4 != 4) return dec_bad(d, DEC_IPV4_BAD_VERSION);
        if (ok && (v & 0x0f) < 5) return dec_bad(d, DEC_IPV4_BAD_HLEN);
        return dec_bad(d, DEC_IPV4_TRUNCATED);
    }
    uint8_t vihl = cursor_u8(&h);
    if (vihl >> 4 != 4) return dec_bad(d, DEC_IPV4_BAD_VERSION);
    size_t hlen = (size_t)(vihl & 0x0f) * 4;
    if (hlen < 20) return dec_bad(d, DEC_IPV4_BAD_HLEN);
    cursor_skip(&h, 1);
    size_t totlen = cursor_u16be(&h);
    uint16_t id = cursor_u16be(&h);
    uint16_t frag = cursor_u16be(&h);
    uint8_t ttl = cursor_u8(&h);
    uint8_t proto = cursor_u8(&h);
    cursor_skip(&h, 2);
    cursor_copy(&h, d->src.b + 12, 4);
    cursor_copy(&h, d->dst.b + 12, 4);
    if (avail < hlen) return dec_bad(d, DEC_IPV4_TRUNCATED);
    ev_addr_mark_v4(&d->src);
    ev_addr_mark_v4(&d->dst);
    d->ip_version = 4;
    d->ttl = ttl;
    d->l4proto = proto;
    d->l3_off = (uint32_t)l3_off;
    if (totlen < hlen) {
        d->l3_len = (uint32_t)hlen;
        return dec_bad(d, DEC_IPV4_BAD_TOTLEN);
    }
    /* Bytes past totlen are link padding, not payload; a snap-length cut keeps
     * what was captured. */
    size_t l3_len = totlen < avail ? totlen : avail;
    d->l3_len = (uint32_t)l3_len;
    struct cursor ip = cursor_sub(c, l3_len);
    cursor_skip(&ip, hlen);
    if (frag & 0x3fff) { /* MF or a non-zero offset */
        d->more_frags = (frag & 0x2000) != 0;
        d->frag_id = id;
        d->frag_offset = (uint32_t)(frag & 0x1fff) * 8;
        d->frag_data_off = (uint32_t)cursor_pos(&ip);
        dec_payload(d, &ip);
        return dec_done(d, DECODED_FRAGMENT);
    }
    return dec_l4(d, &ip, proto, totlen - hlen);
}

/* | ver:4 tc:8 flow:20 | plen(2) | next(1) | hlim(1) | src(16) | dst(16) | ext hdrs | */
static int dec_ipv6(struct decoded *d, struct cursor *c)
{
    size_t l3_off = cursor_pos(c);
    struct cursor h;
    if (!dec_view(c, 40, &h)) {
        int ok;
        uint8_t v = cursor_peek_u8(c, 0, &ok);
        return dec_bad(d, ok && v >> 4 != 6 ? DEC_IPV6_BAD_VERSION : DEC_IPV6_TRUNCATED);
    }
    uint8_t v = cursor_u8(&h);
    if (v >> 4 != 6) return dec_bad(d, DEC_IPV6_BAD_VERSION);
    cursor_skip(&h, 3);
    size_t plen = cursor_u16be(&h);
    uint8_t nh = cursor_u8(&h);
    uint8_t hlim = cursor_u8(&h);
    cursor_copy(&h, d->src.b, 16);
    cursor_copy(&h, d->dst.b, 16);
    d->ip_version = 6;
    d->ttl = hlim;
    d->l3_off = (uint32_t)l3_off;
    size_t avail = cursor_left(c) - 40;
    size_t l3_len = 40 + (plen < avail ? plen : avail);
    d->l3_len = (uint32_t)l3_len;
    struct cursor ip = cursor_sub(c, l3_len);
    cursor_skip(&ip, 40);
    size_t declared = plen;
    for (int n = 0;; n++) {
        size_t start = cursor_pos(&ip);
        uint8_t next;
        switch (nh) {
        case 0:    /* hop-by-hop options */
        case 43:   /* routing */
        case 60:   /* destination options: | next | len (8-octet units, minus 1) | ... */
        case 51: { /* AH: | next | len (4-octet units, minus 2) | ... */
            if (n >= DEC_MAX_EXTHDRS) return dec_bad(d, DEC_IPV6_TOO_MANY_EXTHDRS);
            next = cursor_u8(&ip);
            size_t len = cursor_u8(&ip);
            size_t ehl = nh == 51 ? (len + 2) * 4 : (len + 1) * 8;
            if (!cursor_skip(&ip, ehl - 2)) return dec_bad(d, DEC_IPV6_EXTHDR_TRUNCATED);
            break;
        }
        case 44: { /* fragment: | next | rsv | offset:13 rsv:2 M:1 | id(4) | */
            if (n >= DEC_MAX_EXTHDRS) return dec_bad(d, DEC_IPV6_TOO_MANY_EXTHDRS);
            next = cursor_u8(&ip);
            cursor_skip(&ip, 1);
            uint16_t offm = cursor_u16be(&ip);
            uint32_t id = cursor_u32be(&ip);
            if (ip.err) return dec_bad(d, DEC_IPV6_EXTHDR_TRUNCATED);
            if (offm & 0xfff9) { /* not an atomic fragment (RFC 6946) */
                d->l4proto = next;
                d->more_frags = offm & 1;
                d->frag_id = id;
                d->frag_offset = offm & 0xfff8;
                d->frag_hdr_off = (uint32_t)start;
                d->frag_data_off = (uint32_t)cursor_pos(&ip);
                dec_payload(d, &ip);
                return dec_done(d, DECODED_FRAGMENT);
            }
            break;
        }
        default: return dec_l4(d, &ip, nh, declared);
        }
        declared -= cursor_pos(&ip) - start; /* the header fit in ip, which is <= plen */
        nh = next;
    }
}

/* | htype(2) | ptype(2) | hlen(1) | plen(1) | oper(2) | sha | spa | tha | tpa | */
static int dec_arp(struct decoded *d, struct cursor *c)
{
    size_t start = cursor_pos(c);
    cursor_skip(c, 4);
    size_t hl = cursor_u8(c);
    size_t pl = cursor_u8(c);
    cursor_skip(c, 2);
    cursor_skip(c, 2 * (hl + pl));
    if (c->err) return dec_bad(d, DEC_ARP_TRUNCATED);
    d->payload_off = (uint32_t)start;
    d->payload_len = (uint32_t)(cursor_pos(c) - start);
    return dec_done(d, DECODED_ARP);
}

/* An ethertype and what follows it: VLAN tags first (outer first), then the
 * network layer. Shared by Ethernet and the Linux cooked headers. */
static inline int dec_ethertype(struct decoded *d, struct cursor *c, uint16_t type)
{
    while (type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ_OLD) {
        struct cursor h;
        if (!dec_view(c, 4, &h)) return dec_bad(d, DEC_VLAN_TRUNCATED);
        uint16_t tci = cursor_u16be(&h);
        type = cursor_u16be(&h);
        cursor_skip(c, 4);
        if (d->vlan_count < 2)
            d->vlan[d->vlan_count++] = tci & 0x0fff;
        else
            dec_soft(d, DEC_VLAN_TOO_DEEP);
    }
    d->ethertype = type;
    switch (type) {
    case ETH_P_IPV4: return dec_ipv4(d, c);
    case ETH_P_IPV6: return dec_ipv6(d, c);
    case ETH_P_ARP: return dec_arp(d, c);
    case ETH_P_PPPOE_SESSION: {
        /* | ver/type(1) | code(1) | session(2) | length(2) | PPP protocol(2) | */
        struct cursor h;
        if (!dec_view(c, 8, &h)) return dec_bad(d, DEC_PPPOE_TRUNCATED);
        cursor_skip(&h, 6);
        uint16_t ppp = cursor_u16be(&h);
        cursor_skip(c, 8);
        if (ppp == PPP_IPV4) return dec_ipv4(d, c);
        if (ppp == PPP_IPV6) return dec_ipv6(d, c);
        dec_payload(d, c);
        return dec_done(d, DECODED_OTHER);
    }
    case ETH_P_GOOSE:
    case ETH_P_SV:
    case ETH_P_PROFINET: dec_payload(d, c); return dec_done(d, DECODED_L2);
    default: dec_payload(d, c); return dec_done(d, DECODED_OTHER);
    }
}

/* BSD loopback address family: 2 is AF_INET everywhere; AF_INET6 is 24 (NetBSD,
 * OpenBSD), 28 (FreeBSD), 30 (macOS). */
static inline int dec_family(struct decoded *d, struct cursor *c, uint32_t family)
{
    switch (family) {
    case 2: return dec_ipv4(d, c);
    case 24:
    case 28:
    case 30: return dec_ipv6(d, c);
    default: dec_payload(d, c); return dec_done(d, DECODED_OTHER);
    }
}

/* Raw IP: the version nibble decides. An empty frame is a truncated IPv4 header. */
static inline int dec_raw(struct decoded *d, struct cursor *c)
{
    int ok;
    uint8_t v = cursor_peek_u8(c, 0, &ok);
    if (ok && v >> 4 == 6) return dec_ipv6(d, c);
    return dec_ipv4(d, c);
}

int decode_frame(struct decoded *d, int linktype, const uint8_t *data, uint32_t caplen)
{
    struct cursor c = cursor_make(data, caplen);
    d->anomaly = DEC_NONE;
    d->has_mac = 0;
    d->vlan_count = 0;
    d->ethertype = 0;
    dec_reset_l3(d);
    switch (linktype) {
    case LINK_EN10MB: {
        struct cursor h;
        if (!dec_view(&c, 14, &h)) return dec_bad(d, DEC_ETH_TRUNCATED);
        cursor_copy(&h, d->dst_mac, 6);
        cursor_copy(&h, d->src_mac, 6);
        uint16_t type = cursor_u16be(&h);
        cursor_skip(&c, 14);
        d->has_mac = 1;
        return dec_ethertype(d, &c, type);
    }
    case LINK_NULL: {
        uint32_t family = cursor_u32le(&c);
        if (c.err) return dec_bad(d, DEC_NULL_TRUNCATED);
        if (family > 0xffff) /* written by a machine of the other byte order */
            family =
                (family >> 24) | (family >> 8 & 0xff00) | (family << 8 & 0xff0000) | family << 24;
        return dec_family(d, &c, family);
    }
    case LINK_LOOP: {
        uint32_t family = cursor_u32be(&c);
        if (c.err) return dec_bad(d, DEC_NULL_TRUNCATED);
        return dec_family(d, &c, family);
    }
    case LINK_RAW:
    case 12: /* DLT_RAW on most systems, and what pcap_datalink() reports for LINKTYPE_RAW */
    case 14: /* DLT_RAW on OpenBSD */ return dec_raw(d, &c);
    case LINK_IPV4: return dec_ipv4(d, &c);
    case LINK_IPV6: return dec_ipv6(d, &c);
    case LINK_SLL: {
        cursor_skip(&c, 14);
        uint16_t proto = cursor_u16be(&c);
        if (c.err) return dec_bad(d, DEC_SLL_TRUNCATED);
        return dec_ethertype(d, &c, proto);
    }
    case LINK_SLL2: {
        uint16_t proto = cursor_u16be(&c);
        cursor_skip(&c, 18);
        if (c.err) return dec_bad(d, DEC_SLL_TRUNCATED);
        return dec_ethertype(d, &c, proto);
    }
    default: return dec_bad(d, DEC_LINK_UNSUPPORTED);
    }
}

int decode_ip(struct decoded *d, const uint8_t *data, uint32_t caplen, uint32_t off)
{
    struct cursor c = cursor_make(data, caplen);
    d->anomaly = DEC_NONE;
    dec_reset_l3(d);
    if (!cursor_skip(&c, off)) return dec_bad(d, DEC_IPV4_TRUNCATED);
    return dec_raw(d, &c);
}
