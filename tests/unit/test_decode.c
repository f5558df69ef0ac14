/* test_decode.c - the L2-L4 decoder against real captures (expected values from
 * tshark 4.0) and hand-built frames, every anomaly path, and a truncation sweep
 * (every prefix of a frame gives the named anomaly of the header it cuts, never a
 * crash: each prefix is decoded from a heap buffer of exactly that size, so ASan
 * sees any over-read). */
#include <arpa/inet.h>
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "testutil.h"

/* One expected frame. Generated from tshark fields (frame.number, eth/sll/vlan
 * etype, vlan.id, ip/ipv6 src/dst, ip.proto/ipv6.nxt, tcp/udp ports, ip.ttl/
 * ipv6.hlim, tcp.len or udp.length-8 (ARP: 8 + 2*(hw.size+proto.size); L2: frame
 * bytes after the ethertype), tcp.flags, tcp.seq_raw, tcp.ack_raw,
 * tcp.window_size_value, icmp.type). */
struct want {
    uint32_t frame;
    uint8_t kind;
    uint16_t ethertype;
    uint8_t nvlan;
    uint16_t vlan[2];
    const char *src, *dst; /* "" when not IP */
    uint8_t l4proto;
    uint16_t sport, dport;
    uint8_t ttl;
    uint32_t payload_len;
    uint8_t tcp_flags;
    uint32_t seq, ack;
    uint16_t window;
    uint8_t icmp_type;
};

// clang-format off
static const struct want want_dnp3_padding[] = {
    {1, DECODED_IP, 0x0800, 0, {0}, "192.168.60.1", "192.168.60.130", 6, 50596, 20000, 128, 0, 0x02, 3273493503u, 0u, 8192, 0},
    {2, DECODED_IP, 0x0800, 0, {0}, "192.168.60.130", "192.168.60.1", 6, 20000, 50596, 64, 0, 0x12, 1871867126u, 3273493504u, 29200, 0},
    {3, DECODED_IP, 0x0800, 0, {0}, "192.168.60.1", "192.168.60.130", 6, 50596, 20000, 128, 0, 0x10, 3273493504u, 1871867127u, 256, 0},
    {4, DECODED_IP, 0x0800, 0, {0}, "192.168.60.130", "192.168.60.1", 6, 20000, 50596, 64, 17, 0x18, 1871867127u, 3273493504u, 229, 0},
    {5, DECODED_IP, 0x0800, 0, {0}, "192.168.60.1", "192.168.60.130", 6, 50596, 20000, 128, 15, 0x18, 3273493504u, 1871867144u, 256, 0},
    {6, DECODED_IP, 0x0800, 0, {0}, "192.168.60.130", "192.168.60.1", 6, 20000, 50596, 64, 0, 0x10, 1871867144u, 3273493519u, 229, 0},
    {7, DECODED_IP, 0x0800, 0, {0}, "192.168.60.1", "192.168.60.130", 6, 50596, 20000, 128, 0, 0x11, 3273493519u, 1871867144u, 256, 0},
    {8, DECODED_IP, 0x0800, 0, {0}, "192.168.60.130", "192.168.60.1", 6, 20000, 50596, 64, 0, 0x11, 1871867144u, 3273493520u, 229, 0},
    {9, DECODED_IP, 0x0800, 0, {0}, "192.168.60.1", "192.168.60.130", 6, 50596, 20000, 128, 0, 0x10, 3273493520u, 1871867145u, 256, 0},
};

static const struct want want_goose_vlan[] = {
    {1, DECODED_L2, 0x88b8, 1, {10}, "", "", 0, 0, 0, 0, 108, 0x00, 0u, 0u, 0, 0},
};

static const struct want want_mqtt_ipv6[] = {
    {1, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 38500, 1883, 64, 0, 0x02, 4174261741u, 0u, 65476, 0},
    {2, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 1883, 38500, 64, 0, 0x12, 1410483609u, 4174261742u, 65464, 0},
    {3, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 38500, 1883, 64, 0, 0x10, 4174261742u, 1410483610u, 512, 0},
    {4, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 38500, 1883, 64, 45, 0x18, 4174261742u, 1410483610u, 512, 0},
    {5, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 1883, 38500, 64, 0, 0x10, 1410483610u, 4174261787u, 512, 0},
    {6, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 1883, 38500, 64, 4, 0x18, 1410483610u, 4174261787u, 512, 0},
    {7, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 38500, 1883, 64, 0, 0x10, 4174261787u, 1410483614u, 512, 0},
    {8, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 38500, 1883, 64, 28, 0x18, 4174261787u, 1410483614u, 512, 0},
    {9, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 38500, 1883, 64, 2, 0x18, 4174261815u, 1410483618u, 512, 0},
    {10, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 38500, 1883, 64, 0, 0x11, 4174261817u, 1410483618u, 512, 0},
    {11, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 1883, 38500, 64, 0, 0x11, 1410483618u, 4174261818u, 512, 0},
    {12, DECODED_IP, 0x86dd, 0, {0}, "::1", "::1", 6, 38500, 1883, 64, 0, 0x10, 4174261818u, 1410483619u, 512, 0},
};

static const struct want want_dns_qinq[] = {
    {1, DECODED_IP, 0x0800, 0, {0}, "192.168.170.20", "192.168.170.8", 17, 53, 32795, 128, 34, 0x00, 0u, 0u, 0, 0},
    {2, DECODED_IP, 0x0800, 0, {0}, "192.168.170.8", "192.168.170.20", 17, 32795, 53, 64, 33, 0x00, 0u, 0u, 0, 0},
    {3, DECODED_IP, 0x0800, 0, {0}, "192.168.170.20", "192.168.170.8", 17, 53, 32795, 128, 33, 0x00, 0u, 0u, 0, 0},
    {4, DECODED_IP, 0x8864, 2, {421, 785}, "82.178.113.245", "82.178.158.181", 17, 47255, 53, 64, 33, 0x00, 0u, 0u, 0, 0},
    {5, DECODED_IP, 0x8864, 2, {421, 785}, "82.178.158.181", "82.178.113.245", 17, 53, 47255, 58, 161, 0x00, 0u, 0u, 0, 0},
};

static const struct want want_fins_ipv4[] = {
    {1, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 0, 0x02, 1000u, 0u, 8192, 0},
    {2, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 0, 0x12, 2000u, 1001u, 8192, 0},
    {3, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 0, 0x10, 1001u, 2001u, 8192, 0},
    {4, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 31, 0x18, 1001u, 2001u, 8192, 0},
    {5, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 30, 0x18, 2001u, 1032u, 8192, 0},
    {6, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 28, 0x18, 1032u, 2031u, 8192, 0},
    {7, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 30, 0x18, 2031u, 1060u, 8192, 0},
    {8, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 29, 0x18, 1060u, 2061u, 8192, 0},
    {9, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 122, 0x18, 2061u, 1089u, 8192, 0},
    {10, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 29, 0x18, 1089u, 2183u, 8192, 0},
    {11, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 122, 0x18, 2183u, 1118u, 8192, 0},
    {12, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 29, 0x18, 1118u, 2305u, 8192, 0},
    {13, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 97, 0x18, 2305u, 1147u, 8192, 0},
    {14, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 29, 0x18, 1147u, 2402u, 8192, 0},
    {15, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 189, 0x18, 2402u, 1176u, 8192, 0},
    {16, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 28, 0x18, 1176u, 2591u, 8192, 0},
    {17, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 37, 0x18, 2591u, 1204u, 8192, 0},
    {18, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 35, 0x18, 1204u, 2628u, 8192, 0},
    {19, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 30, 0x18, 2628u, 1239u, 8192, 0},
    {20, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 0, 0x11, 1239u, 2658u, 8192, 0},
    {21, DECODED_IP, 0x0000, 0, {0}, "192.168.0.1", "192.168.0.2", 6, 9600, 5000, 64, 0, 0x11, 2658u, 1240u, 8192, 0},
    {22, DECODED_IP, 0x0000, 0, {0}, "192.168.0.2", "192.168.0.1", 6, 5000, 9600, 64, 0, 0x10, 1240u, 2659u, 8192, 0},
};

static const struct want want_pn_arp[] = {
    {1, DECODED_L2, 0x8892, 0, {0}, "", "", 0, 0, 0, 0, 42, 0x00, 0u, 0u, 0, 0},
    {2, DECODED_L2, 0x8892, 0, {0}, "", "", 0, 0, 0, 0, 106, 0x00, 0u, 0u, 0, 0},
    {3, DECODED_L2, 0x8892, 0, {0}, "", "", 0, 0, 0, 0, 42, 0x00, 0u, 0u, 0, 0},
    {4, DECODED_L2, 0x8892, 0, {0}, "", "", 0, 0, 0, 0, 46, 0x00, 0u, 0u, 0, 0},
    {5, DECODED_ARP, 0x0806, 0, {0}, "", "", 0, 0, 0, 0, 28, 0x00, 0u, 0u, 0, 0},
    {6, DECODED_ARP, 0x0806, 0, {0}, "", "", 0, 0, 0, 0, 28, 0x00, 0u, 0u, 0, 0},
};

static const struct want want_opcua_null[] = {
    {1, DECODED_IP, 0x0000, 0, {0}, "::1", "::1", 6, 63145, 4840, 64, 0, 0x02, 1242813715u, 0u, 65535, 0},
    {2, DECODED_IP, 0x0000, 0, {0}, "::1", "::1", 6, 4840, 63145, 64, 0, 0x14, 0u, 1242813716u, 0, 0},
    {3, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x02, 310475380u, 0u, 65535, 0},
    {4, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x12, 1605616002u, 310475381u, 65535, 0},
    {5, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310475381u, 1605616003u, 12759, 0},
    {6, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605616003u, 310475381u, 12759, 0},
    {7, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 74, 0x18, 310475381u, 1605616003u, 12759, 0},
    {8, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605616003u, 310475455u, 12757, 0},
    {9, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 28, 0x18, 1605616003u, 310475455u, 12757, 0},
    {10, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310475455u, 1605616031u, 12758, 0},
    {11, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 132, 0x18, 310475455u, 1605616031u, 12758, 0},
    {12, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605616031u, 310475587u, 12752, 0},
    {13, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 135, 0x18, 1605616031u, 310475587u, 12752, 0},
    {14, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310475587u, 1605616166u, 12754, 0},
    {15, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 287, 0x18, 310475587u, 1605616166u, 12754, 0},
    {16, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605616166u, 310475874u, 12743, 0},
    {17, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 618, 0x18, 1605616166u, 310475874u, 12743, 0},
    {18, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310475874u, 1605616784u, 12734, 0},
    {19, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 156, 0x18, 310475874u, 1605616784u, 12734, 0},
    {20, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605616784u, 310476030u, 12739, 0},
    {21, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 96, 0x18, 1605616784u, 310476030u, 12739, 0},
    {22, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310476030u, 1605616880u, 12731, 0},
    {23, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 101, 0x18, 310476030u, 1605616880u, 12731, 0},
    {24, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605616880u, 310476131u, 12735, 0},
    {25, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 217, 0x18, 1605616880u, 310476131u, 12735, 0},
    {26, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310476131u, 1605617097u, 12725, 0},
    {27, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 127, 0x18, 310476131u, 1605617097u, 12725, 0},
    {28, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605617097u, 310476258u, 12731, 0},
    {29, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 79, 0x18, 1605617097u, 310476258u, 12731, 0},
    {30, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310476258u, 1605617176u, 12722, 0},
    {31, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 107, 0x18, 310476258u, 1605617176u, 12722, 0},
    {32, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605617176u, 310476365u, 12728, 0},
    {33, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 79, 0x18, 1605617176u, 310476365u, 12728, 0},
    {34, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310476365u, 1605617255u, 12720, 0},
    {35, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 63, 0x18, 310476365u, 1605617255u, 12720, 0},
    {36, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605617255u, 310476428u, 12726, 0},
    {37, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 52, 0x18, 1605617255u, 310476428u, 12726, 0},
    {38, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310476428u, 1605617307u, 12718, 0},
    {39, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 62, 0x18, 310476428u, 1605617307u, 12718, 0},
    {40, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x11, 310476490u, 1605617307u, 12718, 0},
    {41, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605617307u, 310476490u, 12724, 0},
    {42, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x10, 1605617307u, 310476491u, 12724, 0},
    {43, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 4840, 63146, 64, 0, 0x11, 1605617307u, 310476491u, 12724, 0},
    {44, DECODED_IP, 0x0000, 0, {0}, "127.0.0.1", "127.0.0.1", 6, 63146, 4840, 64, 0, 0x10, 310476491u, 1605617308u, 12718, 0},
};

static const struct want want_s7p_sll[] = {
    {1, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 0, 0x10, 1378466098u, 934096608u, 8192, 0},
    {2, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 113, 0x18, 1378466098u, 934096608u, 8192, 0},
    {3, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934096608u, 1378466211u, 63943, 0},
    {4, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378466211u, 934096608u, 8192, 0},
    {5, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934096608u, 1378466313u, 63841, 0},
    {6, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378466313u, 934096608u, 8192, 0},
    {7, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 104, 0x18, 934096608u, 1378466415u, 63739, 0},
    {8, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 0, 0x10, 1378466415u, 934096712u, 8192, 0},
    {9, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378466415u, 934096712u, 8192, 0},
    {10, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934096712u, 1378466517u, 63637, 0},
    {11, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378466517u, 934096712u, 8192, 0},
    {12, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49155, 64, 0, 0x10, 2518673506u, 3096526834u, 8192, 0},
    {13, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49155, 102, 128, 0, 0x10, 3096526834u, 2518673507u, 63480, 0},
    {14, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49155, 102, 128, 1, 0x10, 3096526833u, 2518673507u, 63480, 0},
    {15, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49155, 64, 0, 0x10, 2518673507u, 3096526834u, 8192, 0},
    {16, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934096712u, 1378466619u, 63535, 0},
    {17, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378466619u, 934096712u, 8192, 0},
    {18, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 104, 0x18, 934096712u, 1378466721u, 63433, 0},
    {19, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 0, 0x10, 1378466721u, 934096816u, 8192, 0},
    {20, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378466721u, 934096816u, 8192, 0},
    {21, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934096816u, 1378466823u, 63331, 0},
    {22, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378466823u, 934096816u, 8192, 0},
    {23, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934096816u, 1378466925u, 63229, 0},
    {24, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 113, 0x18, 1378466925u, 934096816u, 8192, 0},
    {25, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 104, 0x18, 934096816u, 1378467038u, 63116, 0},
    {26, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 0, 0x10, 1378467038u, 934096920u, 8192, 0},
    {27, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 91, 0x18, 1378467038u, 934096920u, 8192, 0},
    {28, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934096920u, 1378467129u, 63025, 0},
    {29, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378467129u, 934096920u, 8192, 0},
    {30, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 121, 0x18, 934096920u, 1378467231u, 62923, 0},
    {31, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 82, 0x18, 1378467231u, 934097041u, 8192, 0},
    {32, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934097041u, 1378467313u, 62841, 0},
    {33, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 113, 0x18, 1378467313u, 934097041u, 8192, 0},
    {34, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 104, 0x18, 934097041u, 1378467426u, 64240, 0},
    {35, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 0, 0x10, 1378467426u, 934097145u, 8192, 0},
    {36, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378467426u, 934097145u, 8192, 0},
    {37, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934097145u, 1378467528u, 64138, 0},
    {38, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 113, 0x18, 1378467528u, 934097145u, 8192, 0},
    {39, DECODED_IP, 0x0800, 0, {0}, "192.168.0.3", "192.168.0.1", 6, 49154, 102, 128, 0, 0x10, 934097145u, 1378467641u, 64025, 0},
    {40, DECODED_IP, 0x0800, 0, {0}, "192.168.0.1", "192.168.0.3", 6, 102, 49154, 64, 102, 0x18, 1378467641u, 934097145u, 8192, 0},
};

static const struct want want_enip_vlan[] = {
    {1, DECODED_IP, 0x0800, 1, {90}, "10.100.90.51", "10.100.40.11", 6, 37844, 44818, 64, 52, 0x18, 1448117716u, 2044067736u, 64034, 0},
};

// clang-format on

static void addr_text(const struct decoded *d, const struct ev_addr *a, char *buf, size_t cap)
{
    if (d->ip_version == 4)
        inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)cap);
    else
        inet_ntop(AF_INET6, a->b, buf, (socklen_t)cap);
}

/* Decodes every frame of a capture and compares the first n with the table. */
static void check_capture(const char *file, int want_link, const struct want *w, size_t n)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(test_data_path(file), err);
    ck_assert_msg(p != NULL, "%s: %s", file, err);
    ck_assert_int_eq(pcap_datalink(p), want_link);
    struct pcap_pkthdr *h;
    const u_char *data;
    size_t i = 0;
    while (pcap_next_ex(p, &h, &data) == 1 && i < n) {
        struct decoded d;
        memset(&d, 0xa5, sizeof(d)); /* whatever the decoder leaves unset shows */
        const struct want *x = &w[i];
        ck_assert_uint_eq(x->frame, i + 1);
        int k = decode_frame(&d, pcap_datalink(p), data, h->caplen);
        ck_assert_msg(k == x->kind && d.kind == x->kind, "%s frame %u: kind %d want %d (%s)", file,
                      x->frame, k, x->kind, decode_anomaly_name(d.anomaly));
        ck_assert_uint_eq(d.anomaly, DEC_NONE);
        ck_assert_uint_eq(d.ethertype, x->ethertype);
        ck_assert_uint_eq(d.vlan_count, x->nvlan);
        for (int v = 0; v < x->nvlan; v++)
            ck_assert_uint_eq(d.vlan[v], x->vlan[v]);
        ck_assert_uint_eq(d.payload_len, x->payload_len);
        ck_assert_uint_le((size_t)d.payload_off + d.payload_len, h->caplen);
        if (x->src[0]) {
            char s[64], t[64];
            addr_text(&d, &d.src, s, sizeof(s));
            addr_text(&d, &d.dst, t, sizeof(t));
            ck_assert_str_eq(s, x->src);
            ck_assert_str_eq(t, x->dst);
            ck_assert_uint_eq(d.ip_version, strchr(x->src, ':') ? 6 : 4);
            ck_assert_uint_eq(d.l4proto, x->l4proto);
            ck_assert_uint_eq(d.sport, x->sport);
            ck_assert_uint_eq(d.dport, x->dport);
            ck_assert_uint_eq(d.ttl, x->ttl);
            ck_assert_uint_eq(d.tcp_flags, x->tcp_flags);
            ck_assert_uint_eq(d.seq, x->seq);
            ck_assert_uint_eq(d.ack, x->ack);
            ck_assert_uint_eq(d.window, x->window);
            ck_assert_uint_eq(d.icmp_type, x->icmp_type);
            ck_assert_uint_eq(d.more_frags, 0);
            ck_assert_uint_le((size_t)d.l3_off + d.l3_len, h->caplen);
        } else {
            ck_assert_uint_eq(d.ip_version, 0);
            ck_assert_uint_eq(d.sport, 0);
        }
        i++;
    }
    pcap_close(p);
    ck_assert_uint_eq(i, n);
}

START_TEST(test_capture_null_loopback)
{
    /* BSD loopback, family 30 (macOS AF_INET6) and 2, little-endian */
    check_capture("python_opcua-client-server_minimal.pcap", LINK_NULL, want_opcua_null,
                  sizeof(want_opcua_null) / sizeof(want_opcua_null[0]));
}
END_TEST

START_TEST(test_capture_raw_ipv4)
{
    check_capture("omron_fins_tcp_commands_responses.pcap", LINK_IPV4, want_fins_ipv4,
                  sizeof(want_fins_ipv4) / sizeof(want_fins_ipv4[0]));
}
END_TEST

START_TEST(test_capture_sll)
{
    check_capture("s7comm_plus.pcap", LINK_SLL, want_s7p_sll,
                  sizeof(want_s7p_sll) / sizeof(want_s7p_sll[0]));
}
END_TEST

START_TEST(test_capture_ethernet)
{
    /* 802.1Q + GOOSE; 802.1Q + IPv4/TCP; IPv6/TCP; PROFINET + ARP with padding;
     * IPv4 with Ethernet padding; two 802.1Q tags (outer 421, inner 785) + PPPoE */
    check_capture("goose_demo.pcap", LINK_EN10MB, want_goose_vlan, 1);
    check_capture("set_attribute_single_service_cip.pcapng", LINK_EN10MB, want_enip_vlan, 1);
    check_capture("mqtt_events_invalid_qos.pcap", LINK_EN10MB, want_mqtt_ipv6,
                  sizeof(want_mqtt_ipv6) / sizeof(want_mqtt_ipv6[0]));
    check_capture("profinet_change_ip_using_dcp.pcap", LINK_EN10MB, want_pn_arp,
                  sizeof(want_pn_arp) / sizeof(want_pn_arp[0]));
    check_capture("dnp3_unsolicited_response_and_confirm.pcap", LINK_EN10MB, want_dnp3_padding,
                  sizeof(want_dnp3_padding) / sizeof(want_dnp3_padding[0]));
    check_capture("ndpi_dns_qinq.pcapng", LINK_EN10MB, want_dns_qinq,
                  sizeof(want_dns_qinq) / sizeof(want_dns_qinq[0]));
}
END_TEST

/* ---- hand-built frames ---- */

// clang-format off
/* A: Ethernet, 802.1Q, IPv4 with an option, TCP with options, 4 bytes of data */
static const char *const frame_a =
    "001122334455"     /* dst mac */
    "66778899aabb"     /* src mac */
    "8100"             /* 802.1Q */
    "2064"             /* PCP 1, VID 100 */
    "0800"             /* IPv4 */
    "46" "00" "003c"   /* v4, IHL 6 (24 bytes); TOS; total length 60 */
    "0001" "4000"      /* id 1; DF, offset 0 */
    "40" "06" "0000"   /* TTL 64; TCP; checksum (not checked) */
    "c0a80001"         /* 192.168.0.1 */
    "c0a80002"         /* 192.168.0.2 */
    "01010100"         /* options: NOP NOP NOP EOL */
    "04d2" "01f6"      /* sport 1234, dport 502 */
    "00000001"         /* seq 1 */
    "00000002"         /* ack 2 */
    "80" "18"          /* data offset 8 (32 bytes); PSH ACK */
    "1000" "0000" "0000" /* window 4096; checksum; urgent */
    "020405b4"         /* MSS 1460 */
    "01010402"         /* NOP NOP SACK-permitted */
    "01010100"         /* NOP NOP NOP EOL */
    "61626364";        /* data "abcd" */

/* B: Ethernet, IPv6, hop-by-hop (8), destination options (16), UDP, 4 bytes */
static const char *const frame_b =
    "333300000001" "66778899aabb" "86dd"
    "60000000"         /* v6, TC 0, flow 0 */
    "0024" "00" "40"   /* payload length 36; next: hop-by-hop; hop limit 64 */
    "fe800000000000000000000000000001" /* fe80::1 */
    "ff020000000000000000000000000001" /* ff02::1 */
    "3c" "00" "010400000000"           /* HBH: next dest-opts; len 0 (8 bytes); PadN 4 */
    "11" "01" "010c000000000000000000000000" /* DstOpt: next UDP; len 1 (16); PadN 12 */
    "bac0" "bac0" "000c" "0000"        /* UDP 47808 -> 47808, length 12, checksum */
    "01020304";

/* C: ARP reply from profinet_change_ip_using_dcp.pcap frame 6 (with padding) */
static const char *const frame_c =
    "ffffffffffff" "08000693cf32" "0806"
    "0001" "0800" "06" "04" "0002" /* Ethernet, IPv4, hlen 6, plen 4, reply */
    "08000693cf32" "c0a8000a"      /* sender mac, 192.168.0.10 */
    "08000693cf32" "c0a8000a"      /* target mac, 192.168.0.10 */
    "000000000000000000000000000000000000"; /* padding to 60 bytes */

/* D: BSD loopback (little-endian AF_INET), IPv4, ICMP echo request, "ping" */
static const char *const frame_d =
    "02000000"         /* family 2 */
    "45" "00" "0020"   /* v4 IHL 5; TOS; total length 32 */
    "0007" "0000"      /* id 7; no flags */
    "40" "01" "0000"   /* TTL 64; ICMP; checksum */
    "7f000001" "7f000001"
    "08" "00" "0000"   /* echo request, code 0, checksum */
    "0001" "0001"      /* id 1, seq 1 */
    "70696e67";        /* "ping" */

/* E: Linux cooked (SLL), IPv4, UDP 20000 -> 20000, 4 bytes */
static const char *const frame_e =
    "0000" "0001" "0006"  /* to us; ARPHRD_ETHER; address length 6 */
    "0011223344550000"    /* address, padded to 8 */
    "0800"                /* protocol IPv4 */
    "45" "00" "0020" "0008" "0000" "40" "11" "0000" /* total 32; UDP */
    "0a000001" "0a000002"
    "4e20" "4e20" "000c" "0000" /* ports 20000; length 12 */
    "056405c0";

/* F: Linux cooked v2 (SLL2), IPv6, ICMPv6 echo request */
static const char *const frame_f =
    "86dd" "0000"         /* protocol IPv6; reserved */
    "00000002"            /* ifindex 2 */
    "0001" "00" "06"      /* ARPHRD_ETHER; to us; address length 6 */
    "0011223344550000"
    "60000000" "0008" "3a" "40" /* payload 8; ICMPv6; hop limit 64 */
    "00000000000000000000000000000001" "00000000000000000000000000000001"
    "80" "00" "0000" "00010001"; /* echo request; checksum; id 1 seq 1 */

/* G: Ethernet, 802.1ad (VID 100), 802.1Q (VID 200), GOOSE */
static const char *const frame_g =
    "010ccd010001" "66778899aabb"
    "88a8" "0064"         /* S-tag, VID 100 */
    "8100" "00c8"         /* C-tag, VID 200 */
    "88b8"                /* GOOSE */
    "0001" "000c" "0000" "0000" /* APPID 1, length 12, reserved */
    "61028000";           /* goosePdu (start) */

/* H: raw IPv6, authentication header (24 bytes), TCP SYN */
static const char *const frame_h =
    "60000000" "002c" "33" "40" /* payload 44; next AH; hop limit 64 */
    "20010db8000000000000000000000001" "20010db8000000000000000000000002"
    "06" "04" "0000"      /* AH: next TCP; len 4 ((4+2)*4 = 24); reserved */
    "00000100" "00000001" /* SPI, sequence */
    "000000000000000000000000" /* ICV (12) */
    "0066" "c000" "00000064" "00000000" /* 102 -> 49152, seq 100, ack 0 */
    "50" "02" "2000" "0000" "0000";     /* offset 5; SYN; window 8192 */

/* I: raw IPv6 fragment (scapy fragment6: second of three): HBH, fragment hdr */
static const char *const frame_i =
    "60000000" "0020" "00" "40"  /* payload 32; next HBH */
    "fd000000000000000000000000000001" "fd000000000000000000000000000002"
    "2c" "00" "010400000000"     /* HBH: next fragment; PadN */
    "11" "00" "0011" "abcdef01"  /* fragment: next UDP; offset 2 (16 bytes), M=1; id */
    "494a4b4c4d4e4f505152535455565758";

/* J: raw IPv4 fragment (scapy fragment: second of three) */
static const char *const frame_j =
    "45" "00" "0024" "1234" "2002" /* total 36; id 0x1234; MF, offset 2 (16 bytes) */
    "40" "11" "c524" "c0a8010a" "c0a80114"
    "494a4b4c4d4e4f505152535455565758";

/* K: ndpi_dns_qinq.pcapng frame 4: two 802.1Q tags, PPPoE session, IPv4, UDP (DNS) */
static const char *const frame_k =
    "000000000001" "d494e80eadc1"
    "8100" "01a5"           /* VID 421 */
    "8100" "0311"           /* VID 785 */
    "8864"                  /* PPPoE session */
    "11" "00" "556a" "003f" /* ver 1 type 1; code 0; session 0x556a; length 63 */
    "0021"                  /* PPP: IPv4 */
    "45" "00" "003d"        /* v4 IHL 5; TOS; total length 61 */
    "0000" "4000"           /* id 0; DF */
    "40" "11" "84a1"        /* TTL 64; UDP; checksum */
    "52b271f5" "52b29eb5"   /* 82.178.113.245 -> 82.178.158.181 */
    "b897" "0035" "0029" "b67d" /* 47255 -> 53, length 41, checksum */
    "784301000001000000000000"  /* DNS header: id 0x7843, RD, 1 question */
    "026537087768617473617070036e65740000010001"; /* e7.whatsapp.net A IN */

// clang-format on

static size_t load(const char *hex, uint8_t *buf, size_t cap)
{
    size_t n = hex_to_bytes(hex, buf, cap);
    ck_assert_uint_lt(n, cap);
    return n;
}

static int decode_poisoned(struct decoded *d, int link, const uint8_t *f, size_t n)
{
    memset(d, 0xa5, sizeof(*d));
    return decode_frame(d, link, f, (uint32_t)n);
}

START_TEST(test_vlan_tcp_options)
{
    uint8_t f[256];
    size_t n = load(frame_a, f, sizeof(f));
    struct decoded d;
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_IP);
    ck_assert_uint_eq(d.anomaly, DEC_NONE);
    ck_assert_uint_eq(d.has_mac, 1);
    ck_assert_uint_eq(d.dst_mac[0], 0x00);
    ck_assert_uint_eq(d.src_mac[5], 0xbb);
    ck_assert_uint_eq(d.vlan_count, 1);
    ck_assert_uint_eq(d.vlan[0], 100);
    ck_assert_uint_eq(d.ethertype, 0x0800);
    ck_assert_uint_eq(d.l3_off, 18);
    ck_assert_uint_eq(d.l3_len, 60);
    ck_assert_uint_eq(d.ip_version, 4);
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 0, 1};
    ck_assert_mem_eq(d.src.b, mapped, 16);
    ck_assert_uint_eq(d.dst.b[15], 2);
    ck_assert_uint_eq(d.l4proto, 6);
    ck_assert_uint_eq(d.l4_off, 42);
    ck_assert_uint_eq(d.sport, 1234);
    ck_assert_uint_eq(d.dport, 502);
    ck_assert_uint_eq(d.seq, 1);
    ck_assert_uint_eq(d.ack, 2);
    ck_assert_uint_eq(d.tcp_flags, 0x18);
    ck_assert_uint_eq(d.window, 4096);
    ck_assert_uint_eq(d.payload_off, 74);
    ck_assert_uint_eq(d.payload_len, 4);
    ck_assert_uint_eq(d.icmp_type, 0);
    ck_assert_uint_eq(d.more_frags, 0);
    ck_assert_uint_eq(d.frag_offset, 0);
}
END_TEST

START_TEST(test_ethernet_padding)
{
    /* frame A with 6 bytes of trailer: IP total length still bounds the payload */
    uint8_t f[256];
    size_t n = load(frame_a, f, sizeof(f));
    memset(f + n, 0xee, 6);
    struct decoded d;
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n + 6), DECODED_IP);
    ck_assert_uint_eq(d.l3_len, 60);
    ck_assert_uint_eq(d.payload_len, 4);
    /* UDP over SLL with padding: UDP length 12 */
    n = load(frame_e, f, sizeof(f));
    memset(f + n, 0, 12);
    ck_assert_int_eq(decode_poisoned(&d, LINK_SLL, f, n + 12), DECODED_IP);
    ck_assert_uint_eq(d.l3_len, 32);
    ck_assert_uint_eq(d.payload_len, 4);
    ck_assert_uint_eq(d.sport, 20000);
    /* IPv6 payload length bounds it the same way */
    n = load(frame_b, f, sizeof(f));
    memset(f + n, 0, 8);
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n + 8), DECODED_IP);
    ck_assert_uint_eq(d.l3_len, 40 + 36);
    ck_assert_uint_eq(d.payload_len, 4);
}
END_TEST

START_TEST(test_ipv6_exthdrs)
{
    uint8_t f[256];
    size_t n = load(frame_b, f, sizeof(f));
    struct decoded d;
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_IP);
    ck_assert_uint_eq(d.ip_version, 6);
    ck_assert_uint_eq(d.ttl, 64);
    ck_assert_uint_eq(d.src.b[0], 0xfe);
    ck_assert_uint_eq(d.dst.b[1], 0x02);
    ck_assert_uint_eq(d.l4proto, 17);
    ck_assert_uint_eq(d.l4_off, 14 + 40 + 24);
    ck_assert_uint_eq(d.sport, 47808);
    ck_assert_uint_eq(d.payload_len, 4);
    ck_assert_uint_eq(d.frag_hdr_off, 0);

    /* AH over raw IPv6, under every raw link type */
    n = load(frame_h, f, sizeof(f));
    static const int raws[] = {LINK_RAW, 12, 14, LINK_IPV6};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(decode_poisoned(&d, raws[i], f, n), DECODED_IP);
        ck_assert_uint_eq(d.has_mac, 0);
        ck_assert_uint_eq(d.ethertype, 0);
        ck_assert_uint_eq(d.l4proto, 6);
        ck_assert_uint_eq(d.l4_off, 64);
        ck_assert_uint_eq(d.sport, 102);
        ck_assert_uint_eq(d.tcp_flags, 0x02);
        ck_assert_uint_eq(d.payload_len, 0);
    }
    /* LINKTYPE_IPV4 refuses IPv6 */
    ck_assert_int_eq(decode_poisoned(&d, LINK_IPV4, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV4_BAD_VERSION);

    /* ESP ends the chain: an IP packet of protocol 50 without ports */
    f[6] = 50;
    ck_assert_int_eq(decode_poisoned(&d, LINK_RAW, f, n), DECODED_IP);
    ck_assert_uint_eq(d.l4proto, 50);
    ck_assert_uint_eq(d.l4_off, 40);
    ck_assert_uint_eq(d.payload_len, 44);
    ck_assert_uint_eq(d.sport, 0);
}
END_TEST

/* IPv6 with `count` destination-options headers (8 bytes each) and then UDP */
static size_t build_v6_chain(uint8_t *f, int count)
{
    size_t n = load("60000000"
                    "0000"
                    "3c"
                    "40"
                    "00000000000000000000000000000001"
                    "00000000000000000000000000000001",
                    f, 64);
    for (int i = 0; i < count; i++) {
        f[n] = i + 1 < count ? 60 : 17; /* next */
        f[n + 1] = 0;                   /* 8 bytes */
        memcpy(f + n + 2, "\x01\x04\0\0\0\0", 6);
        n += 8;
    }
    memcpy(f + n, "\x00\x35\x00\x35\x00\x08\x00\x00", 8); /* UDP 53 -> 53, length 8 */
    n += 8;
    f[4] = (uint8_t)((n - 40) >> 8);
    f[5] = (uint8_t)(n - 40);
    return n;
}

START_TEST(test_ipv6_too_many_exthdrs)
{
    uint8_t f[512];
    struct decoded d;
    size_t n = build_v6_chain(f, 16);
    ck_assert_int_eq(decode_poisoned(&d, LINK_IPV6, f, n), DECODED_IP);
    ck_assert_uint_eq(d.sport, 53);
    ck_assert_uint_eq(d.payload_len, 0);
    n = build_v6_chain(f, 17);
    ck_assert_int_eq(decode_poisoned(&d, LINK_IPV6, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV6_TOO_MANY_EXTHDRS);
    ck_assert_str_eq(decode_anomaly_name(d.anomaly), "decoder.ipv6_too_many_exthdrs");
}
END_TEST

START_TEST(test_fragments)
{
    uint8_t f[256];
    struct decoded d;
    size_t n = load(frame_j, f, sizeof(f));
    ck_assert_int_eq(decode_poisoned(&d, LINK_IPV4, f, n), DECODED_FRAGMENT);
    ck_assert_uint_eq(d.frag_id, 0x1234);
    ck_assert_uint_eq(d.frag_offset, 16);
    ck_assert_uint_eq(d.more_frags, 1);
    ck_assert_uint_eq(d.frag_data_off, 20);
    ck_assert_uint_eq(d.frag_hdr_off, 0);
    ck_assert_uint_eq(d.payload_len, 16);
    ck_assert_uint_eq(d.l4proto, 17);
    ck_assert_uint_eq(d.sport, 0); /* ports are in the first fragment only */
    /* the last fragment: MF clear, offset 4 (32 bytes) */
    f[6] = 0x00;
    f[7] = 0x04;
    ck_assert_int_eq(decode_poisoned(&d, LINK_RAW, f, n), DECODED_FRAGMENT);
    ck_assert_uint_eq(d.more_frags, 0);
    ck_assert_uint_eq(d.frag_offset, 32);
    /* DF alone is not a fragment: the data is read as a UDP header (length 0x4d4e) */
    f[6] = 0x40;
    f[7] = 0x00;
    ck_assert_int_eq(decode_poisoned(&d, LINK_RAW, f, n), DECODED_IP);
    ck_assert_uint_eq(d.anomaly, DEC_UDP_BAD_LEN);
    ck_assert_uint_eq(d.sport, 0x494a);
    ck_assert_uint_eq(d.more_frags, 0);
    ck_assert_uint_eq(d.frag_offset, 0);

    n = load(frame_i, f, sizeof(f));
    ck_assert_int_eq(decode_poisoned(&d, LINK_IPV6, f, n), DECODED_FRAGMENT);
    ck_assert_uint_eq(d.frag_id, 0xabcdef01);
    ck_assert_uint_eq(d.frag_offset, 16);
    ck_assert_uint_eq(d.more_frags, 1);
    ck_assert_uint_eq(d.frag_hdr_off, 48);
    ck_assert_uint_eq(d.frag_data_off, 56);
    ck_assert_uint_eq(d.payload_len, 16);
    ck_assert_uint_eq(d.l4proto, 17);
    /* atomic fragment (offset 0, M=0, RFC 6946) decodes as a whole packet:
     * turn the data into a UDP header 0x494a -> 0x4b4c, length 16 */
    f[50] = 0x00;
    f[51] = 0x00;
    f[60] = 0x00;
    f[61] = 0x10;
    ck_assert_int_eq(decode_poisoned(&d, LINK_IPV6, f, n), DECODED_IP);
    ck_assert_uint_eq(d.anomaly, DEC_NONE);
    ck_assert_uint_eq(d.l4proto, 17);
    ck_assert_uint_eq(d.sport, 0x494a);
    ck_assert_uint_eq(d.payload_len, 8);
    ck_assert_uint_eq(d.frag_hdr_off, 0);
}
END_TEST

START_TEST(test_link_types)
{
    uint8_t f[256];
    struct decoded d;
    size_t n = load(frame_d, f, sizeof(f));
    ck_assert_int_eq(decode_poisoned(&d, LINK_NULL, f, n), DECODED_IP);
    ck_assert_uint_eq(d.l4proto, 1);
    ck_assert_uint_eq(d.icmp_type, 8);
    ck_assert_uint_eq(d.icmp_code, 0);
    ck_assert_uint_eq(d.sport, 0);
    ck_assert_uint_eq(d.payload_off, 4 + 20 + 4);
    ck_assert_uint_eq(d.payload_len, 8);
    ck_assert_uint_eq(d.has_mac, 0);
    ck_assert_uint_eq(d.vlan_count, 0);
    /* NULL written by a big-endian machine */
    memcpy(f, "\0\0\0\x02", 4);
    ck_assert_int_eq(decode_poisoned(&d, LINK_NULL, f, n), DECODED_IP);
    ck_assert_uint_eq(d.icmp_type, 8);
    /* LOOP is always network order */
    ck_assert_int_eq(decode_poisoned(&d, LINK_LOOP, f, n), DECODED_IP);
    memcpy(f, "\x02\0\0\0", 4);
    ck_assert_int_eq(decode_poisoned(&d, LINK_LOOP, f, n), DECODED_OTHER);
    /* unknown family (AF_APPLETALK 16) */
    memcpy(f, "\x10\0\0\0", 4);
    ck_assert_int_eq(decode_poisoned(&d, LINK_NULL, f, n), DECODED_OTHER);
    ck_assert_uint_eq(d.anomaly, DEC_NONE);
    /* IPv6 families 24, 28, 30 */
    uint8_t g[256];
    size_t m = load(frame_h, g + 4, sizeof(g) - 4) + 4;
    for (uint8_t fam = 24; fam <= 30; fam += 2) {
        memcpy(g, "\0\0\0\0", 4);
        g[0] = fam;
        int want = fam == 24 || fam == 28 || fam == 30 ? DECODED_IP : DECODED_OTHER;
        ck_assert_int_eq(decode_poisoned(&d, LINK_NULL, g, m), want);
    }

    n = load(frame_f, f, sizeof(f));
    ck_assert_int_eq(decode_poisoned(&d, LINK_SLL2, f, n), DECODED_IP);
    ck_assert_uint_eq(d.ethertype, 0x86dd);
    ck_assert_uint_eq(d.l3_off, 20);
    ck_assert_uint_eq(d.l4proto, 58);
    ck_assert_uint_eq(d.icmp_type, 128);
    ck_assert_uint_eq(d.payload_len, 4);

    n = load(frame_e, f, sizeof(f));
    ck_assert_int_eq(decode_poisoned(&d, LINK_SLL, f, n), DECODED_IP);
    ck_assert_uint_eq(d.l3_off, 16);
    ck_assert_uint_eq(d.dport, 20000);
    /* SLL protocol 0x0004: 802.2 LLC, not tracked */
    f[14] = 0x00;
    f[15] = 0x04;
    ck_assert_int_eq(decode_poisoned(&d, LINK_SLL, f, n), DECODED_OTHER);

    ck_assert_int_eq(decode_poisoned(&d, 147, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_LINK_UNSUPPORTED);
    ck_assert_str_eq(decode_anomaly_name(d.anomaly), "decoder.link_unsupported");
}
END_TEST

START_TEST(test_l2_and_qinq)
{
    uint8_t f[256];
    struct decoded d;
    size_t n = load(frame_g, f, sizeof(f));
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_L2);
    ck_assert_uint_eq(d.anomaly, DEC_NONE);
    ck_assert_uint_eq(d.vlan_count, 2);
    ck_assert_uint_eq(d.vlan[0], 100);
    ck_assert_uint_eq(d.vlan[1], 200);
    ck_assert_uint_eq(d.ethertype, 0x88b8);
    ck_assert_uint_eq(d.payload_off, 22);
    ck_assert_uint_eq(d.payload_len, 12);
    ck_assert_uint_eq(d.ip_version, 0);
    /* 0x9100 outer tag, SV */
    f[12] = 0x91;
    f[13] = 0x00;
    f[21] = 0xba;
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_L2);
    ck_assert_uint_eq(d.ethertype, 0x88ba);
    ck_assert_uint_eq(d.vlan_count, 2);

    /* three tags: two kept, the third counted, the frame still decoded */
    uint8_t g[256];
    memcpy(g, f, 16);
    memcpy(g + 16, "\x81\x00\x01\x2c", 4); /* extra tag VID 300 after the outer one */
    memcpy(g + 20, f + 16, n - 16);
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, g, n + 4), DECODED_L2);
    ck_assert_uint_eq(d.anomaly, DEC_VLAN_TOO_DEEP);
    ck_assert_str_eq(decode_anomaly_name(d.anomaly), "decoder.vlan_too_deep");
    ck_assert_uint_eq(d.vlan_count, 2);
    ck_assert_uint_eq(d.vlan[0], 100);
    ck_assert_uint_eq(d.vlan[1], 300);
    ck_assert_uint_eq(d.payload_off, 26);
    ck_assert_uint_eq(d.payload_len, 12);

    /* PROFINET */
    memcpy(g, f, 12);
    memcpy(g + 12, "\x88\x92\xfe\xfe\x05\x00", 6);
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, g, 18), DECODED_L2);
    ck_assert_uint_eq(d.vlan_count, 0);
    ck_assert_uint_eq(d.payload_off, 14);
    ck_assert_uint_eq(d.payload_len, 4);
    /* 802.3 length field (STP over LLC) */
    memcpy(g + 12, "\x00\x26\x42\x42\x03\x00", 6);
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, g, 18), DECODED_OTHER);
    ck_assert_uint_eq(d.ethertype, 0x0026);

    n = load(frame_c, f, sizeof(f));
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_ARP);
    ck_assert_uint_eq(d.payload_off, 14);
    ck_assert_uint_eq(d.payload_len, 28);
    /* hardware length 200: the addresses do not fit */
    f[18] = 200;
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_ARP_TRUNCATED);
}
END_TEST

START_TEST(test_ipv4_anomalies)
{
    uint8_t f[256];
    struct decoded d;
    size_t n = load(frame_a, f, sizeof(f));
    f[18] = 0x56; /* version 5 */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV4_BAD_VERSION);
    ck_assert_str_eq(decode_anomaly_name(d.anomaly), "decoder.ipv4_bad_version");
    ck_assert_uint_eq(d.vlan[0], 100); /* what was decoded stays */
    f[18] = 0x44;                      /* IHL 4 */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV4_BAD_HLEN);
    f[18] = 0x46;
    f[21] = 23; /* total length 23 < 24-byte header */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV4_BAD_TOTLEN);
    ck_assert_uint_eq(d.ip_version, 4); /* addresses are there for the anomaly event */
    ck_assert_uint_eq(d.src.b[15], 1);
    f[21] = 0xff; /* total length 255 > captured: the captured bytes are used, no anomaly */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_IP);
    ck_assert_uint_eq(d.anomaly, DEC_NONE);
    ck_assert_uint_eq(d.l3_len, 60);
    ck_assert_uint_eq(d.payload_len, 4);
    /* IHL 15 on a 20+ byte packet whose header is not all there */
    n = load(frame_d, f, sizeof(f));
    f[4] = 0x4f;
    ck_assert_int_eq(decode_poisoned(&d, LINK_NULL, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV4_TRUNCATED);
    /* IPv6 version check */
    n = load(frame_h, f, sizeof(f));
    ck_assert_int_eq(decode_poisoned(&d, LINK_IPV6, f, n), DECODED_IP);
    f[0] = 0x70;
    ck_assert_int_eq(decode_poisoned(&d, LINK_IPV6, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV6_BAD_VERSION);
    ck_assert_int_eq(decode_poisoned(&d, LINK_RAW, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV4_BAD_VERSION);
}
END_TEST

START_TEST(test_l4_anomalies)
{
    uint8_t f[256];
    struct decoded d;
    size_t n = load(frame_a, f, sizeof(f));
    f[54] = 0x40; /* TCP data offset 4 */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_TCP_BAD_HLEN);
    ck_assert_str_eq(decode_anomaly_name(d.anomaly), "decoder.tcp_bad_hlen");
    ck_assert_uint_eq(d.sport, 1234); /* ports are known for the anomaly event */
    f[54] = 0xf0;                     /* 60 bytes > 36 left in the IP packet */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_TCP_BAD_HLEN);
    f[54] = 0x90; /* 36 bytes: fits the IP length, but only 36 captured... exactly */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_IP);
    ck_assert_uint_eq(d.payload_len, 0);
    f[54] = 0xa0; /* 40 bytes > 36: beyond the IP length */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_TCP_BAD_HLEN);
    f[21] = 0xff; /* ...unless the IP length says more was sent: snap-length cut */
    ck_assert_int_eq(decode_poisoned(&d, LINK_EN10MB, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_TCP_TRUNCATED);

    n = load(frame_e, f, sizeof(f));
    f[40] = 0x00;
    f[41] = 0x04; /* UDP length 4 < 8: the IP length bounds the payload */
    ck_assert_int_eq(decode_poisoned(&d, LINK_SLL, f, n), DECODED_IP);
    ck_assert_uint_eq(d.anomaly, DEC_UDP_BAD_LEN);
    ck_assert_str_eq(decode_anomaly_name(d.anomaly), "decoder.udp_bad_len");
    ck_assert_uint_eq(d.payload_len, 4);
    f[41] = 0x64; /* UDP length 100 > 12 in the IP packet */
    ck_assert_int_eq(decode_poisoned(&d, LINK_SLL, f, n), DECODED_IP);
    ck_assert_uint_eq(d.anomaly, DEC_UDP_BAD_LEN);
    ck_assert_uint_eq(d.payload_len, 4);
    f[41] = 0x0a; /* UDP length 10 < 12: the datagram ends early */
    ck_assert_int_eq(decode_poisoned(&d, LINK_SLL, f, n), DECODED_IP);
    ck_assert_uint_eq(d.anomaly, DEC_NONE);
    ck_assert_uint_eq(d.payload_len, 2);
    f[41] = 0x0c;
    /* UDP header does not fit the IP total length (24 = 20 + 4) */
    f[19] = 24;
    ck_assert_int_eq(decode_poisoned(&d, LINK_SLL, f, n), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_UDP_TRUNCATED);
}
END_TEST

START_TEST(test_decode_ip_keeps_l2)
{
    uint8_t f[256];
    struct decoded d;
    size_t n = load(frame_g, f, sizeof(f));
    decode_poisoned(&d, LINK_EN10MB, f, n);
    uint8_t ip[256];
    size_t m = load(frame_h, ip, sizeof(ip));
    ck_assert_int_eq(decode_ip(&d, ip, (uint32_t)m, 0), DECODED_IP);
    ck_assert_uint_eq(d.vlan_count, 2);
    ck_assert_uint_eq(d.vlan[1], 200);
    ck_assert_uint_eq(d.has_mac, 1);
    ck_assert_uint_eq(d.ethertype, 0x88b8);
    ck_assert_uint_eq(d.ip_version, 6);
    ck_assert_uint_eq(d.sport, 102);
    ck_assert_uint_eq(d.payload_off, 84);
    /* at an offset, and past the end */
    uint8_t g[300];
    memset(g, 0, 10);
    memcpy(g + 10, ip, m);
    ck_assert_int_eq(decode_ip(&d, g, (uint32_t)m + 10, 10), DECODED_IP);
    ck_assert_uint_eq(d.l3_off, 10);
    ck_assert_uint_eq(d.l4_off, 74);
    ck_assert_int_eq(decode_ip(&d, g, 5, 10), DECODED_BAD);
    ck_assert_uint_eq(d.anomaly, DEC_IPV4_TRUNCATED);
}
END_TEST

START_TEST(test_anomaly_names)
{
    ck_assert_ptr_null(decode_anomaly_name(DEC_NONE));
    ck_assert_ptr_null(decode_anomaly_name(DEC_ANOMALY_COUNT));
    ck_assert_ptr_null(decode_anomaly_name(-1));
    ck_assert_str_eq(decode_anomaly_name(DEC_IPV4_TRUNCATED), "decoder.ipv4_truncated");
    ck_assert_str_eq(decode_anomaly_name(DEC_FRAG_OVERLAP), "decoder.frag_overlap");
    for (int i = 1; i < DEC_ANOMALY_COUNT; i++) {
        const char *s = decode_anomaly_name(i);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(strncmp(s, "decoder.", 8), 0);
        for (const char *p = s + 8; *p; p++)
            ck_assert((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        for (int j = 1; j < i; j++)
            ck_assert_str_ne(s, decode_anomaly_name(j));
    }
}
END_TEST

/* ---- truncation sweep ---- */

struct seg {
    uint32_t end; /* a prefix shorter than this... */
    int anomaly;  /* ...gives this */
};

static void sweep(const char *hex, int link, const struct seg *segs, size_t nseg, int kind)
{
    uint8_t f[512];
    size_t n = load(hex, f, sizeof(f));
    ck_assert_uint_ge(n, segs[nseg - 1].end);
    for (size_t len = 0; len <= n; len++) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, f, len);
        struct decoded d;
        int k = decode_poisoned(&d, link, p, len);
        int want = DEC_NONE;
        for (size_t i = 0; i < nseg; i++)
            if (len < segs[i].end) {
                want = segs[i].anomaly;
                break;
            }
        ck_assert_msg(d.anomaly == want, "link %d prefix %zu: %s, want %s", link, len,
                      decode_anomaly_name(d.anomaly), decode_anomaly_name(want));
        ck_assert_int_eq(k, want ? DECODED_BAD : kind);
        if (!want) ck_assert_uint_le((size_t)d.payload_off + d.payload_len, len);
        free(p);
    }
}

START_TEST(test_truncation_sweep)
{
    static const struct seg a[] = {{14, DEC_ETH_TRUNCATED},
                                   {18, DEC_VLAN_TRUNCATED},
                                   {42, DEC_IPV4_TRUNCATED},
                                   {74, DEC_TCP_TRUNCATED}};
    sweep(frame_a, LINK_EN10MB, a, 4, DECODED_IP);
    static const struct seg b[] = {{14, DEC_ETH_TRUNCATED},
                                   {54, DEC_IPV6_TRUNCATED},
                                   {78, DEC_IPV6_EXTHDR_TRUNCATED},
                                   {86, DEC_UDP_TRUNCATED}};
    sweep(frame_b, LINK_EN10MB, b, 4, DECODED_IP);
    static const struct seg c[] = {{14, DEC_ETH_TRUNCATED}, {42, DEC_ARP_TRUNCATED}};
    sweep(frame_c, LINK_EN10MB, c, 2, DECODED_ARP);
    static const struct seg dd[] = {
        {4, DEC_NULL_TRUNCATED}, {24, DEC_IPV4_TRUNCATED}, {28, DEC_ICMP_TRUNCATED}};
    sweep(frame_d, LINK_NULL, dd, 3, DECODED_IP);
    sweep(frame_d, LINK_LOOP, dd, 1, DECODED_OTHER); /* LE family 2 is not AF_INET here */
    static const struct seg e[] = {
        {16, DEC_SLL_TRUNCATED}, {36, DEC_IPV4_TRUNCATED}, {44, DEC_UDP_TRUNCATED}};
    sweep(frame_e, LINK_SLL, e, 3, DECODED_IP);
    static const struct seg f[] = {
        {20, DEC_SLL_TRUNCATED}, {60, DEC_IPV6_TRUNCATED}, {64, DEC_ICMP_TRUNCATED}};
    sweep(frame_f, LINK_SLL2, f, 3, DECODED_IP);
    static const struct seg g[] = {{14, DEC_ETH_TRUNCATED}, {22, DEC_VLAN_TRUNCATED}};
    sweep(frame_g, LINK_EN10MB, g, 2, DECODED_L2);
    /* raw: an empty frame has no version nibble and counts as a short IPv4 header */
    static const struct seg h[] = {{1, DEC_IPV4_TRUNCATED},
                                   {40, DEC_IPV6_TRUNCATED},
                                   {64, DEC_IPV6_EXTHDR_TRUNCATED},
                                   {84, DEC_TCP_TRUNCATED}};
    sweep(frame_h, LINK_RAW, h, 4, DECODED_IP);
    static const struct seg i[] = {{40, DEC_IPV6_TRUNCATED}, {56, DEC_IPV6_EXTHDR_TRUNCATED}};
    sweep(frame_i, LINK_IPV6, i, 2, DECODED_FRAGMENT);
    static const struct seg k[] = {{14, DEC_ETH_TRUNCATED},
                                   {22, DEC_VLAN_TRUNCATED},
                                   {30, DEC_PPPOE_TRUNCATED},
                                   {50, DEC_IPV4_TRUNCATED},
                                   {58, DEC_UDP_TRUNCATED}};
    sweep(frame_k, LINK_EN10MB, k, 5, DECODED_IP);
    static const struct seg j[] = {{20, DEC_IPV4_TRUNCATED}};
    sweep(frame_j, LINK_IPV4, j, 1, DECODED_FRAGMENT);
}
END_TEST

static Suite *decode_suite(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_capture_null_loopback);
    tcase_add_test(tc, test_capture_raw_ipv4);
    tcase_add_test(tc, test_capture_sll);
    tcase_add_test(tc, test_capture_ethernet);
    tcase_add_test(tc, test_vlan_tcp_options);
    tcase_add_test(tc, test_ethernet_padding);
    tcase_add_test(tc, test_ipv6_exthdrs);
    tcase_add_test(tc, test_ipv6_too_many_exthdrs);
    tcase_add_test(tc, test_fragments);
    tcase_add_test(tc, test_link_types);
    tcase_add_test(tc, test_l2_and_qinq);
    tcase_add_test(tc, test_ipv4_anomalies);
    tcase_add_test(tc, test_l4_anomalies);
    tcase_add_test(tc, test_decode_ip_keeps_l2);
    tcase_add_test(tc, test_anomaly_names);
    tcase_add_test(tc, test_truncation_sweep);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(decode_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
