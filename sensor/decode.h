/* decode.h - layer 2 to layer 4 decoding of one captured frame.
 *
 * decode_frame() reads a frame of a given libpcap link type through the cursor
 * and fills a `struct decoded` of offsets into the frame (never pointers, so the
 * result can travel with a copy of the bytes through a ring). Malformed headers
 * give a DECODED_BAD kind and a named, counted anomaly; nothing is trusted. */
#ifndef OTS_DECODE_H
#define OTS_DECODE_H

#include <stdint.h>

#include "event.h"

/* libpcap link types we accept (values of DLT_* / LINKTYPE_*). */
#define LINK_NULL   0
#define LINK_EN10MB 1
#define LINK_RAW    101 /* LINKTYPE_RAW; DLT_RAW is 12 or 14 on some systems */
#define LINK_LOOP   108
#define LINK_SLL    113
#define LINK_IPV4   228
#define LINK_IPV6   229
#define LINK_SLL2   276

enum decoded_kind {
    DECODED_BAD = 0,  /* malformed: see anomaly */
    DECODED_IP,       /* IPv4/IPv6 with a transport we track (TCP, UDP, ICMP, other) */
    DECODED_FRAGMENT, /* an IP fragment: hand to ipfrag */
    DECODED_L2,       /* an ethertype for a layer-2 dissector (GOOSE, SV, PROFINET) */
    DECODED_ARP,
    DECODED_OTHER, /* well-formed but nothing we track (LLDP, STP, ...) */
};

/* Every malformed-header case the decoder can name. Appended only. */
enum decode_anomaly {
    DEC_NONE = 0,
    DEC_LINK_UNSUPPORTED,
    DEC_ETH_TRUNCATED,
    DEC_VLAN_TRUNCATED,
    DEC_VLAN_TOO_DEEP,
    DEC_NULL_TRUNCATED,
    DEC_SLL_TRUNCATED,
    DEC_ARP_TRUNCATED,
    DEC_IPV4_TRUNCATED,
    DEC_IPV4_BAD_VERSION,
    DEC_IPV4_BAD_HLEN,
    DEC_IPV4_BAD_TOTLEN,
    DEC_IPV6_TRUNCATED,
    DEC_IPV6_BAD_VERSION,
    DEC_IPV6_EXTHDR_TRUNCATED,
    DEC_IPV6_TOO_MANY_EXTHDRS,
    DEC_TCP_TRUNCATED,
    DEC_TCP_BAD_HLEN,
    DEC_UDP_TRUNCATED,
    DEC_UDP_BAD_LEN,
    DEC_ICMP_TRUNCATED,
    DEC_FRAG_TOO_LARGE, /* reassembled size over 65535 */
    DEC_FRAG_OVERLAP,   /* overlapping fragment with different bytes */
    DEC_FRAG_CAP,       /* reassembly cap reached, datagram dropped */
    DEC_FRAG_TIMEOUT,   /* incomplete datagram expired */
    DEC_PPPOE_TRUNCATED,
    DEC_ANOMALY_COUNT
};

/* "decoder.ipv4_truncated" etc. */
const char *decode_anomaly_name(int anomaly);

struct decoded {
    uint8_t kind;    /* enum decoded_kind */
    uint8_t anomaly; /* enum decode_anomaly; may be set with a non-BAD kind for soft issues */
    uint8_t has_mac;
    uint8_t vlan_count;
    uint8_t src_mac[6], dst_mac[6];
    uint16_t vlan[2];        /* outer first; QinQ keeps two, deeper tags are counted as anomaly */
    uint16_t ethertype;      /* innermost */
    uint32_t l3_off, l3_len; /* IP header start and IP length (bounded by caplen) */
    uint8_t ip_version;      /* 4 or 6 */
    uint8_t l4proto;         /* IPPROTO_* (after IPv6 extension headers) */
    uint8_t ttl;
    uint8_t tcp_flags;
    struct ev_addr src, dst; /* IPv4 as ::ffff:a.b.c.d */
    uint16_t sport, dport;   /* 0 for protocols without ports; ICMP: type/code in icmp_* */
    uint32_t seq, ack;
    uint16_t window;
    uint8_t icmp_type, icmp_code;
    uint32_t l4_off;
    uint32_t payload_off, payload_len; /* TCP/UDP payload, or L2 payload after the ethertype */
    /* fragments */
    uint8_t more_frags;
    uint32_t frag_id;       /* IPv4 id or IPv6 fragment identification */
    uint32_t frag_offset;   /* bytes */
    uint32_t frag_hdr_off;  /* IPv6: offset of the fragment extension header */
    uint32_t frag_data_off; /* where the fragment's data starts */
};

/* Decodes a frame of link type `linktype`. Returns the kind (also in d->kind). */
int decode_frame(struct decoded *d, int linktype, const uint8_t *data, uint32_t caplen);
/* Decodes from an IP header at `off` (used for reassembled datagrams); keeps the
 * layer-2 fields already in d. */
int decode_ip(struct decoded *d, const uint8_t *data, uint32_t caplen, uint32_t off);

#endif
