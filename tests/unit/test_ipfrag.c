/* test_ipfrag.c - IPv4 and IPv6 fragment reassembly.
 *
 * The fragments were made with scapy at test-writing time:
 *   p4 = IP(src="192.168.1.10", dst="192.168.1.20", id=0x1234, ttl=64) /
 *        UDP(sport=20000, dport=502) / Raw(bytes(range(0x41, 0x69)))
 *   fragment(p4, fragsize=16)                       -> V4_F1..V4_F3
 *   p6 = IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrHopByHop() /
 *        IPv6ExtHdrFragment(id=0xabcdef01) / UDP(sport=20000, dport=502) / Raw(same)
 *   fragment6(p6, 72)                               -> V6_F1..V6_F3
 * and the reassembled packet must equal the unfragmented one byte for byte
 * (V4_ORIG = raw(p4); V6_ORIG = the same IPv6 packet built without the fragment
 * header), checksum included. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ipfrag.h"
#include "testutil.h"

// clang-format off
static const char *const V4_ORIG =
    "45" "00" "0044"       /* v4 IHL 5; TOS; total length 68 */
    "1234" "0000"          /* id 0x1234; no flags, offset 0 */
    "40" "11" "e506"       /* TTL 64; UDP; header checksum */
    "c0a8010a" "c0a80114"  /* 192.168.1.10 -> 192.168.1.20 */
    "4e20" "01f6" "0030" "955e" /* UDP 20000 -> 502, length 48, checksum */
    "4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768";
static const char *const V4_F1 =
    "45" "00" "0024"       /* total length 36 */
    "1234" "2000"          /* id; MF, offset 0 */
    "40" "11" "c526" "c0a8010a" "c0a80114"
    "4e2001f60030955e"     /* the UDP header... */
    "4142434445464748";    /* ...and "ABCDEFGH" */
static const char *const V4_F2 =
    "45" "00" "0024"
    "1234" "2002"          /* MF, offset 2 (16 bytes) */
    "40" "11" "c524" "c0a8010a" "c0a80114"
    "494a4b4c4d4e4f505152535455565758"; /* "IJKLMNOPQRSTUVWX" */
static const char *const V4_F3 =
    "45" "00" "0024"
    "1234" "0004"          /* last, offset 4 (32 bytes) */
    "40" "11" "e522" "c0a8010a" "c0a80114"
    "595a5b5c5d5e5f606162636465666768"; /* "YZ[\\]^_`abcdefgh" */
/* offset 1 (8 bytes), MF: straddles F1 and F2 with the same bytes "ABCDEFGHIJKLMNOP" */
static const char *const V4_MID =
    "45" "00" "0024"
    "1234" "2001"          /* MF, offset 1 (8 bytes) */
    "40" "11" "0000" "c0a8010a" "c0a80114"
    "4142434445464748" "494a4b4c4d4e4f50";

static const char *const V6_ORIG =
    "60000000"             /* v6, TC 0, flow 0 */
    "0038" "00" "40"       /* payload 56; next HBH; hop limit 64 */
    "fd000000000000000000000000000001" "fd000000000000000000000000000002"
    "11" "00" "010400000000" /* HBH: next UDP; len 0; PadN 4 */
    "4e20" "01f6" "0030" "1ec9" /* UDP 20000 -> 502, length 48, checksum */
    "4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768";
#define V6_HDR                                                                      \
    "60000000" "0020" "00" "40" /* payload 32; next HBH */                         \
    "fd000000000000000000000000000001" "fd000000000000000000000000000002"          \
    "2c" "00" "010400000000"    /* HBH: next fragment */
static const char *const V6_F1 = V6_HDR
    "11" "00" "0001" "abcdef01" /* fragment: next UDP; offset 0, M; id */
    "4e2001f600301ec9" "4142434445464748";
static const char *const V6_F2 = V6_HDR
    "11" "00" "0011" "abcdef01" /* offset 2 (16 bytes), M */
    "494a4b4c4d4e4f505152535455565758";
static const char *const V6_F3 = V6_HDR
    "11" "00" "0020" "abcdef01" /* offset 4 (32 bytes), last */
    "595a5b5c5d5e5f606162636465666768";
// clang-format on

struct feed {
    const uint8_t *out;
    uint32_t out_len;
    int anomaly;
};

/* Decodes a raw IP fragment (its IPv4 id replaced by `id` when non-zero) and adds it. */
static int add(struct ipfrag_table *t, const char *hex, uint16_t id, uint64_t ts, struct feed *r)
{
    uint8_t f[256];
    size_t n = hex_to_bytes(hex, f, sizeof(f));
    if (id) {
        f[4] = (uint8_t)(id >> 8);
        f[5] = (uint8_t)id;
    }
    struct decoded d;
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(decode_frame(&d, LINK_RAW, f, (uint32_t)n), DECODED_FRAGMENT);
    return ipfrag_add(t, &d, f, ts, &r->out, &r->out_len, &r->anomaly);
}

static void assert_packet(const struct feed *r, const char *hex)
{
    uint8_t want[256];
    size_t n = hex_to_bytes(hex, want, sizeof(want));
    ck_assert_uint_eq(r->out_len, n);
    ck_assert_mem_eq(r->out, want, n);
}

static struct ipfrag_table *table(void)
{
    struct ipfrag_table *t = ipfrag_new(64, 1 << 20, 30 * 1000000ull);
    ck_assert_ptr_nonnull(t);
    return t;
}

START_TEST(test_v4_in_order)
{
    struct ipfrag_table *t = table();
    struct feed r;
    ck_assert_int_eq(add(t, V4_F1, 0, 1, &r), 0);
    ck_assert_int_eq(r.anomaly, DEC_NONE);
    ck_assert_ptr_null(r.out);
    ck_assert_int_eq(add(t, V4_F2, 0, 2, &r), 0);
    ck_assert_int_eq(add(t, V4_F3, 0, 3, &r), 1);
    ck_assert_int_eq(r.anomaly, DEC_NONE);
    /* total length 68, MF/offset cleared, checksum recomputed: = the original */
    assert_packet(&r, V4_ORIG);
    struct decoded d;
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(decode_ip(&d, r.out, r.out_len, 0), DECODED_IP);
    ck_assert_uint_eq(d.sport, 20000);
    ck_assert_uint_eq(d.dport, 502);
    ck_assert_uint_eq(d.payload_len, 40);
    const struct ipfrag_stats *s = ipfrag_stats(t);
    ck_assert_uint_eq(s->fragments, 3);
    ck_assert_uint_eq(s->reassembled, 1);
    ck_assert_uint_eq(s->overlaps + s->dropped_cap + s->timeouts + s->too_large, 0);
    /* the datagram is gone: the same fragment starts a new one */
    ck_assert_int_eq(add(t, V4_F3, 0, 4, &r), 0);
    ipfrag_free(t);
}
END_TEST

START_TEST(test_v4_reverse_and_duplicate)
{
    struct ipfrag_table *t = table();
    struct feed r;
    ck_assert_int_eq(add(t, V4_F3, 0, 1, &r), 0);
    ck_assert_int_eq(add(t, V4_F3, 0, 1, &r), 0); /* duplicate: no anomaly */
    ck_assert_int_eq(r.anomaly, DEC_NONE);
    ck_assert_int_eq(add(t, V4_F2, 0, 2, &r), 0);
    ck_assert_int_eq(add(t, V4_MID, 0, 2, &r), 0); /* overlaps F2 with equal bytes */
    ck_assert_int_eq(r.anomaly, DEC_NONE);
    ck_assert_int_eq(add(t, V4_F1, 0, 3, &r), 1);
    assert_packet(&r, V4_ORIG);
    ck_assert_uint_eq(ipfrag_stats(t)->overlaps, 0);
    ipfrag_free(t);
}
END_TEST

START_TEST(test_v4_overlap_first_wins)
{
    struct ipfrag_table *t = table();
    struct feed r;
    char changed[256];
    strcpy(changed, V4_MID);
    size_t n = strlen(changed);
    changed[n - 1] = 'f'; /* last data byte 'P' (0x50) -> 0x5f */
    ck_assert_int_eq(add(t, V4_F1, 0, 1, &r), 0);
    ck_assert_int_eq(add(t, V4_F2, 0, 1, &r), 0);
    ck_assert_int_eq(add(t, changed, 0, 2, &r), 0);
    ck_assert_int_eq(r.anomaly, DEC_FRAG_OVERLAP);
    ck_assert_str_eq(decode_anomaly_name(r.anomaly), "decoder.frag_overlap");
    ck_assert_int_eq(add(t, V4_F3, 0, 3, &r), 1);
    assert_packet(&r, V4_ORIG); /* the first copy stands */
    ck_assert_uint_eq(ipfrag_stats(t)->overlaps, 1);

    /* the changed copy first: it stands, the honest one is the overlap */
    ck_assert_int_eq(add(t, changed, 0, 4, &r), 0);
    ck_assert_int_eq(add(t, V4_F1, 0, 4, &r), 0);
    ck_assert_int_eq(r.anomaly, DEC_NONE); /* F1's bytes 8..15 equal */
    ck_assert_int_eq(add(t, V4_F2, 0, 4, &r), 0);
    ck_assert_int_eq(r.anomaly, DEC_FRAG_OVERLAP);
    ck_assert_int_eq(add(t, V4_F3, 0, 5, &r), 1);
    ck_assert_uint_eq(r.out[20 + 23], 0x5f);
    ck_assert_uint_eq(r.out[20 + 22], 0x4f);

    /* a second "last" fragment ending elsewhere contradicts the size: ignored */
    ck_assert_int_eq(add(t, V4_F3, 0, 6, &r), 0);
    char last2[256];
    strcpy(last2, V4_F2);
    last2[12] = '0'; /* flags/offset 2002 -> 0002: last fragment at 16, ends at 32 */
    ck_assert_int_eq(add(t, last2, 0, 6, &r), -1);
    ck_assert_int_eq(r.anomaly, DEC_FRAG_OVERLAP);
    ck_assert_int_eq(add(t, V4_F1, 0, 7, &r), 0);
    ck_assert_int_eq(add(t, V4_F2, 0, 7, &r), 1);
    assert_packet(&r, V4_ORIG);
    ipfrag_free(t);
}
END_TEST

START_TEST(test_cap_datagrams)
{
    struct ipfrag_table *t = ipfrag_new(2, 1 << 20, 30 * 1000000ull);
    struct feed r;
    ck_assert_int_eq(add(t, V4_F1, 1, 1, &r), 0);
    ck_assert_int_eq(add(t, V4_F1, 2, 2, &r), 0);
    ck_assert_int_eq(r.anomaly, DEC_NONE);
    ck_assert_int_eq(add(t, V4_F1, 3, 3, &r), 0); /* evicts id 1, the oldest */
    ck_assert_int_eq(r.anomaly, DEC_FRAG_CAP);
    ck_assert_str_eq(decode_anomaly_name(r.anomaly), "decoder.frag_cap");
    ck_assert_uint_eq(ipfrag_stats(t)->dropped_cap, 1);
    ck_assert_uint_eq(ipfrag_stats(t)->held, 2); /* never above the cap */
    ck_assert_uint_gt(ipfrag_stats(t)->held_bytes, 0);
    ck_assert_int_eq(add(t, V4_F2, 3, 4, &r), 0);
    ck_assert_int_eq(add(t, V4_F3, 3, 4, &r), 1);
    ck_assert_uint_eq(r.out[5], 3);
    ck_assert_uint_eq(ipfrag_stats(t)->held, 1); /* a complete datagram leaves the table */
    ck_assert_int_eq(add(t, V4_F2, 2, 5, &r), 0);
    ck_assert_int_eq(add(t, V4_F3, 2, 5, &r), 1);
    ck_assert_int_eq(r.anomaly, DEC_NONE);
    /* id 1 lost its first fragment: never completes */
    ck_assert_int_eq(add(t, V4_F2, 1, 6, &r), 0);
    ck_assert_int_eq(add(t, V4_F3, 1, 6, &r), 0);
    ck_assert_uint_eq(ipfrag_stats(t)->reassembled, 2);
    ck_assert_uint_eq(ipfrag_stats(t)->held, 1);
    ipfrag_free(t);
}
END_TEST

START_TEST(test_cap_bytes)
{
    /* room for about one datagram (state + a 2 KiB buffer) */
    struct ipfrag_table *t = ipfrag_new(64, 4000, 30 * 1000000ull);
    struct feed r;
    ck_assert_int_eq(add(t, V4_F1, 1, 1, &r), 0);
    ck_assert_int_eq(r.anomaly, DEC_NONE);
    ck_assert_int_eq(add(t, V4_F1, 2, 2, &r), 0);
    ck_assert_int_eq(r.anomaly, DEC_FRAG_CAP);
    ck_assert_uint_eq(ipfrag_stats(t)->dropped_cap, 1);
    ck_assert_uint_eq(ipfrag_stats(t)->held, 1);
    ck_assert_uint_le(ipfrag_stats(t)->held_bytes, 4000);
    ck_assert_int_eq(add(t, V4_F2, 2, 3, &r), 0);
    ck_assert_int_eq(add(t, V4_F3, 2, 3, &r), 1);
    ipfrag_free(t);

    /* no room at all: the fragment itself is dropped */
    t = ipfrag_new(64, 100, 30 * 1000000ull);
    ck_assert_int_eq(add(t, V4_F1, 0, 1, &r), -1);
    ck_assert_int_eq(r.anomaly, DEC_FRAG_CAP);
    ipfrag_free(t);
}
END_TEST

START_TEST(test_cap_holes)
{
    /* 8-byte fragments at every other 8-byte slot: each leaves a hole, and after
     * 64 of them the datagram is given up rather than tracked further */
    struct ipfrag_table *t = table();
    struct feed r;
    uint8_t f[64];
    size_t n = hex_to_bytes(V4_F2, f, sizeof(f)) - 8; /* header + 8 data bytes */
    f[3] = (uint8_t)n;                                /* total length 28 */
    struct decoded d;
    int ret = 0;
    for (uint16_t i = 0; i < 65; i++) {
        uint16_t units = (uint16_t)(2 * i + 1); /* offsets 8, 24, 40, ... */
        f[6] = (uint8_t)(0x20 | units >> 8);    /* MF */
        f[7] = (uint8_t)units;
        ck_assert_int_eq(decode_frame(&d, LINK_RAW, f, (uint32_t)n), DECODED_FRAGMENT);
        ret = ipfrag_add(t, &d, f, 1, &r.out, &r.out_len, &r.anomaly);
        if (i < 64) {
            ck_assert_int_eq(ret, 0);
            ck_assert_int_eq(r.anomaly, DEC_NONE);
        }
    }
    ck_assert_int_eq(ret, -1);
    ck_assert_int_eq(r.anomaly, DEC_FRAG_CAP);
    ck_assert_uint_eq(ipfrag_stats(t)->dropped_cap, 1);
    ipfrag_free(t);
}
END_TEST

START_TEST(test_timeout)
{
    struct ipfrag_table *t = ipfrag_new(64, 1 << 20, 1000000);
    struct feed r;
    ck_assert_int_eq(add(t, V4_F1, 0, 0, &r), 0);
    ck_assert_int_eq(add(t, V4_F2, 0, 500000, &r), 0);
    ck_assert_int_eq(add(t, V4_F1, 7, 600000, &r), 0); /* another datagram */
    ck_assert_uint_eq(ipfrag_expire(t, 1000000), 0);   /* not older than the timeout yet */
    /* 2 s after the first fragment: that datagram expired, F3 starts a new one */
    ck_assert_int_eq(add(t, V4_F3, 0, 2000000, &r), 0);
    ck_assert_int_eq(r.anomaly, DEC_FRAG_TIMEOUT);
    ck_assert_str_eq(decode_anomaly_name(r.anomaly), "decoder.frag_timeout");
    /* ...and the add expired id 7 (first seen at 0.6 s) as well */
    ck_assert_uint_eq(ipfrag_stats(t)->timeouts, 2);
    ck_assert_uint_eq(ipfrag_expire(t, 2500000), 0);
    ck_assert_uint_eq(ipfrag_expire(t, 3000001), 1);
    ck_assert_uint_eq(ipfrag_stats(t)->timeouts, 3);
    ck_assert_int_eq(add(t, V4_F1, 0, 3000002, &r), 0); /* nothing left to complete */
    ipfrag_free(t);
}
END_TEST

START_TEST(test_too_large)
{
    struct ipfrag_table *t = table();
    struct feed r;
    char big[256];
    strcpy(big, V4_F3);
    memcpy(big + 12, "1fff", 4); /* last fragment at 8191 * 8 = 65528: ends past 65535 */
    ck_assert_int_eq(add(t, V4_F1, 0, 1, &r), 0);
    ck_assert_int_eq(add(t, big, 0, 2, &r), -1);
    ck_assert_int_eq(r.anomaly, DEC_FRAG_TOO_LARGE);
    ck_assert_str_eq(decode_anomaly_name(r.anomaly), "decoder.frag_too_large");
    ck_assert_uint_eq(ipfrag_stats(t)->too_large, 1);
    /* the datagram was dropped with it */
    ck_assert_int_eq(add(t, V4_F2, 0, 3, &r), 0);
    ck_assert_int_eq(add(t, V4_F3, 0, 3, &r), 0);
    ipfrag_free(t);
}
END_TEST

START_TEST(test_truncated_fragment)
{
    struct ipfrag_table *t = table();
    struct feed r;
    uint8_t f[256];
    size_t n = hex_to_bytes(V4_F2, f, sizeof(f));
    struct decoded d;
    memset(&d, 0, sizeof(d));
    /* captured 4 bytes short of the IP total length: cannot be placed */
    ck_assert_int_eq(decode_frame(&d, LINK_IPV4, f, (uint32_t)n - 4), DECODED_FRAGMENT);
    ck_assert_int_eq(ipfrag_add(t, &d, f, 1, &r.out, &r.out_len, &r.anomaly), -1);
    ck_assert_int_eq(r.anomaly, DEC_IPV4_TRUNCATED);
    /* not a fragment */
    n = hex_to_bytes(V4_ORIG, f, sizeof(f));
    ck_assert_int_eq(decode_frame(&d, LINK_IPV4, f, (uint32_t)n), DECODED_IP);
    ck_assert_int_eq(ipfrag_add(t, &d, f, 1, &r.out, &r.out_len, &r.anomaly), -1);
    ipfrag_free(t);
}
END_TEST

START_TEST(test_v6)
{
    struct ipfrag_table *t = table();
    struct feed r;
    ck_assert_int_eq(add(t, V6_F1, 0, 1, &r), 0);
    ck_assert_int_eq(add(t, V6_F2, 0, 2, &r), 0);
    ck_assert_int_eq(add(t, V6_F3, 0, 3, &r), 1);
    /* fragment header removed, HBH next header 44 -> 17, payload length 56 */
    assert_packet(&r, V6_ORIG);
    struct decoded d;
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(decode_ip(&d, r.out, r.out_len, 0), DECODED_IP);
    ck_assert_uint_eq(d.ip_version, 6);
    ck_assert_uint_eq(d.l4proto, 17);
    ck_assert_uint_eq(d.l4_off, 48);
    ck_assert_uint_eq(d.dport, 502);
    ck_assert_uint_eq(d.payload_len, 40);

    /* reverse order; an IPv4 datagram with the same id and addresses does not mix */
    ck_assert_int_eq(add(t, V6_F3, 0, 4, &r), 0);
    ck_assert_int_eq(add(t, V6_F2, 0, 4, &r), 0);
    ck_assert_int_eq(add(t, V4_F1, 0, 4, &r), 0);
    ck_assert_int_eq(add(t, V6_F1, 0, 5, &r), 1);
    assert_packet(&r, V6_ORIG);
    ipfrag_free(t);
}
END_TEST

static Suite *ipfrag_suite(void)
{
    Suite *s = suite_create("ipfrag");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_v4_in_order);
    tcase_add_test(tc, test_v4_reverse_and_duplicate);
    tcase_add_test(tc, test_v4_overlap_first_wins);
    tcase_add_test(tc, test_cap_datagrams);
    tcase_add_test(tc, test_cap_bytes);
    tcase_add_test(tc, test_cap_holes);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_truncated_fragment);
    tcase_add_test(tc, test_v6);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ipfrag_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
