/* test_dnp3.c - DNP3 dissector: link CRCs, transport reassembly, application
 * header and objects, TCP stream buffering, and golden counts from captures.
 * Byte strings come from corpus captures (tshark -x); expected values were read
 * from tshark -V on the same frames. */
#include <check.h>
#include <pcap.h>
#include <stdlib.h>
#include <string.h>

#include "diss_params.h"
#include "dissector.h"
#include "testutil.h"
#include "yara_scan.h"

extern const struct dissector dnp3_dissector;

static struct recorder rec;

/* ---- helpers ---- */

/* DNP3 CRC written independently of the dissector (table-driven); checked
 * against captured frames in test_crc_matches_capture. */
static uint16_t crc_dnp(const uint8_t *p, size_t n)
{
    static uint16_t tab[256];
    if (!tab[1]) {
        for (unsigned i = 0; i < 256; i++) {
            uint16_t c = (uint16_t)i;
            for (int b = 0; b < 8; b++)
                c = (c & 1) ? (uint16_t)((c >> 1) ^ 0xA6BC) : (uint16_t)(c >> 1);
            tab[i] = c;
        }
    }
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++)
        crc = (uint16_t)((crc >> 8) ^ tab[(crc ^ p[i]) & 0xFF]);
    return (uint16_t)~crc;
}

/* Builds a link frame around user data (header and block CRCs computed). */
static size_t make_frame(uint8_t *out, uint8_t ctrl, uint16_t dst, uint16_t src,
                         const uint8_t *data, size_t n)
{
    size_t o = 0;
    out[o++] = 0x05;
    out[o++] = 0x64;
    out[o++] = (uint8_t)(n + 5);
    out[o++] = ctrl;
    out[o++] = (uint8_t)dst;
    out[o++] = (uint8_t)(dst >> 8);
    out[o++] = (uint8_t)src;
    out[o++] = (uint8_t)(src >> 8);
    uint16_t c = crc_dnp(out, 8);
    out[o++] = (uint8_t)c;
    out[o++] = (uint8_t)(c >> 8);
    for (size_t i = 0; i < n; i += 16) {
        size_t blk = n - i < 16 ? n - i : 16;
        memcpy(out + o, data + i, blk);
        c = crc_dnp(data + i, blk);
        o += blk;
        out[o++] = (uint8_t)c;
        out[o++] = (uint8_t)(c >> 8);
    }
    return o;
}

static uint64_t now_us; /* packet time handed to parse() */

static size_t parse_once(void *st, const uint8_t *p, size_t n, int to_server, int transport)
{
    struct cursor c = cursor_make(p, n);
    struct pdu_info info = {to_server, transport, 0, now_us};
    return dnp3_dissector.parse(st, &c, &info, &rec.sink);
}

/* Engine-like TCP buffering (testutil.c). */
static void stream_push(struct tcp_buf *s, void *st, const uint8_t *p, size_t n, int to_server)
{
    tcp_push(s, &dnp3_dissector, st, &rec.sink, p, n, to_server, now_us);
}

static uint64_t u(int i, const char *path)
{
    const struct ev_field *f = event_find(&rec.ev[i], path);
    ck_assert_msg(f != NULL, "event %d has no %s: %s", i, path, rec.json[i]);
    return f->v.u;
}

static int has(int i, const char *text)
{
    return strstr(rec.json[i], text) != NULL;
}

static void setup(void)
{
    recorder_init(&rec);
    now_us = 1600000000000000ull;
}

/* ---- frames from ICS-Security-Tools dnp3/cold_restart_and_response.pcap ---- */

/* frame 4: master 1 -> outstation 10, cold restart */
static const char *COLD_RESTART = "05 64"  /* start octets */
                                  "08"     /* LEN: 5 + 3 user bytes */
                                  "c4"     /* DIR, PRM, func 4 unconfirmed user data */
                                  "0a 00"  /* destination 10 */
                                  "01 00"  /* source 1 */
                                  "fc 42"  /* header CRC 0x42fc (tshark: correct) */
                                  "c0"     /* transport: FIN FIR seq 0 */
                                  "c0"     /* application control: FIR FIN seq 0 */
                                  "0d"     /* function 13 cold restart */
                                  "9c 86"; /* block CRC 0x869c */

/* frame 6: outstation 10 -> master 1, response with IIN 0x0001 */
static const char *COLD_RESPONSE = "05 64 0a"    /* start, LEN 10 */
                                   "44"          /* PRM, func 4 (DIR clear: from outstation) */
                                   "01 00 0a 00" /* destination 1, source 10 */
                                   "6e 25"       /* header CRC */
                                   "c0"          /* transport FIN FIR seq 0 */
                                   "c0 81"       /* FIR FIN seq 0, function 129 response */
                                   "00 01"  /* IIN1 0x00, IIN2 0x01: no function code support */
                                   "c2 de"; /* block CRC */

START_TEST(test_crc_matches_capture)
{
    uint8_t b[64];
    size_t n = hex_to_bytes(COLD_RESTART, b, sizeof(b));
    ck_assert_uint_eq(n, 15);
    ck_assert_uint_eq(crc_dnp(b, 8), 0x42fc);      /* header block */
    ck_assert_uint_eq(crc_dnp(b + 10, 3), 0x869c); /* data block */
}
END_TEST

START_TEST(test_cold_restart_good_crc)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b[64];
    size_t n = hex_to_bytes(COLD_RESTART, b, sizeof(b));
    ck_assert_uint_eq(parse_once(st, b, n, 1, DISS_TCP), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(rec.ev[0].has_code);
    ck_assert_int_eq(rec.ev[0].code, 13);
    ck_assert_str_eq(rec.ev[0].op, "cold_restart");
    ck_assert_int_eq(rec.ev[0].dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(u(0, "src"), 1);
    ck_assert_uint_eq(u(0, "dst"), 10);
    ck_assert_uint_eq(u(0, "al.seq"), 0);
    ck_assert_int_eq(rec.ev[0].nanom, 0);

    n = hex_to_bytes(COLD_RESPONSE, b, sizeof(b));
    now_us += 1500; /* the response 1.5 ms after the request */
    ck_assert_uint_eq(parse_once(st, b, n, 0, DISS_TCP), n);
    ck_assert_uint_eq(u(1, "request_func"), 13); /* same AL sequence 0 */
    ck_assert_uint_eq(u(1, "latency_us"), 1500);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.ev[1].code, 129);
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(u(1, "iin"), 0x0001);
    ck_assert(has(1, "\"iin_flags\":[\"no_func_code_support\"]"));
    dnp3_dissector.state_free(st);
}
END_TEST

START_TEST(test_bad_data_crc)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b[64];
    size_t n = hex_to_bytes(COLD_RESTART, b, sizeof(b));
    b[n - 1] ^= 0xFF; /* break the data block CRC */
    ck_assert_uint_eq(parse_once(st, b, n, 1, DISS_TCP), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(!rec.ev[0].has_code);
    ck_assert_str_eq(rec.ev[0].op, "malformed");
    ck_assert(event_has_anomaly(&rec.ev[0], "dnp3.bad_crc"));
    dnp3_dissector.state_free(st);
}
END_TEST

START_TEST(test_bad_header_crc_resyncs)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b[64];
    size_t n = hex_to_bytes(COLD_RESTART, b, sizeof(b));
    uint8_t two[128];
    memcpy(two, b, n);
    two[8] ^= 0x01; /* first copy: header CRC wrong */
    memcpy(two + n, b, n);
    ck_assert_uint_eq(parse_once(st, two, 2 * n, 1, DISS_TCP), 2 * n);
    /* bad header, then the bytes up to the next 0x05 0x64 as garbage, then the frame */
    ck_assert_int_ge(rec.n, 2);
    ck_assert(event_has_anomaly(&rec.ev[0], "dnp3.bad_crc"));
    ck_assert_int_eq(rec.ev[rec.n - 1].code, 13);
    dnp3_dissector.state_free(st);
}
END_TEST

/* ---- suricata-verify dnp3-select-operate frame 4: CROB ---- */
static const char *SELECT_CROB =
    "05 64 1a c4" /* start, LEN 26, DIR PRM unconfirmed user data */
    "02 00 03 00" /* destination 2, source 3 */
    "40 f2"       /* header CRC */
    "c6"          /* transport FIN FIR seq 6 */
    "c7 03"       /* FIR FIN seq 7, function 3 select */
    "0c 01 28"    /* g12v1 CROB, qualifier 0x28: 2-octet index, 2-octet count */
    "01 00"       /* count 1 */
    "01 00"       /* index 1 */
    "03"          /* control code: latch on, queue/clear 0, TCC NUL */
    "01"          /* count 1 */
    "64 00 00 00" /* on time 100 ms */
    "8f da"       /* CRC of the first 16-byte block */
    "64 00 00 00" /* off time 100 ms */
    "00"          /* status 0 */
    "00 5b";      /* CRC of the last block */

START_TEST(test_crob_select)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b[64];
    size_t n = hex_to_bytes(SELECT_CROB, b, sizeof(b));
    ck_assert_uint_eq(n, 35);
    ck_assert_uint_eq(parse_once(st, b, n, 1, DISS_TCP), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 3);
    ck_assert_str_eq(rec.ev[0].op, "select");
    ck_assert_uint_eq(u(0, "al.seq"), 7);
    ck_assert(has(0, "\"group\":12,\"variation\":1,\"qualifier\":40,\"count\":1"));
    ck_assert(has(0, "\"index\":1,\"code\":3,\"op\":\"latch_on\",\"tcc\":\"nul\""));
    ck_assert(has(0, "\"count\":1,\"on_ms\":100,\"off_ms\":100,\"status\":0"));
    ck_assert_int_eq(rec.ev[0].nanom, 0);
    dnp3_dissector.state_free(st);
}
END_TEST

/* ---- ICS-Security-Tools dnp3/auth_change_session_keys.pcap frame 5: IIN + g120v5 ---- */
static const char *SA_KEY_STATUS = "05 64 1f 44" /* start, LEN 31, PRM unconfirmed user data */
                                   "03 00 04 00" /* destination 3, source 4 */
                                   "34 2e"       /* header CRC */
                                   "c0"          /* transport FIN FIR seq 0 */
                                   "c1 83"       /* FIR FIN seq 1, function 131 auth response */
                                   "90 00"       /* IIN1 0x90: device restart, need time */
                                   "78 05 5b 01" /* g120v5 key status, qualifier 0x5b, count 1 */
                                   "0f 00"       /* object size 15 */
                                   "01 00 00 00" /* key change sequence number 1 */
                                   "01"          /* user number 1 (low byte) */
                                   "89 26"       /* CRC of the first block */
                                   "00"          /* user number (high byte) */
                                   "01 02 00"    /* key wrap alg 1, key status 2, MAC alg 0 */
                                   "04 00"       /* challenge data length 4 */
                                   "73 74 65 76" /* challenge data */
                                   "6e 8d";      /* CRC of the last block */

START_TEST(test_iin_and_sa)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b[64];
    size_t n = hex_to_bytes(SA_KEY_STATUS, b, sizeof(b));
    ck_assert_uint_eq(n, 40);
    ck_assert_uint_eq(parse_once(st, b, n, 0, DISS_TCP), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 131);
    ck_assert_str_eq(rec.ev[0].op, "sa_key_change"); /* g120v5 session key status */
    ck_assert_uint_eq(u(0, "iin"), 0x9000);
    ck_assert(has(0, "\"iin_flags\":[\"device_restart\",\"need_time\"]"));
    ck_assert(has(0, "\"ksq\":1,\"user\":1,\"keywrap_alg\":1,\"key_status\":2,\"mac_alg\":0"));
    dnp3_dissector.state_free(st);
}
END_TEST

/* ---- link-only frames: ICS-Security-Tools bro/dnp3/dnp3_link_only.pcap 1, 2 ---- */
START_TEST(test_link_only)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b[32];
    /* 05 64, LEN 5, ctrl 0x49 (PRM, func 9 request link status), dst 100, src 1, CRC */
    size_t n = hex_to_bytes("05 64 05 49 64 00 01 00 7e 5f", b, sizeof(b));
    ck_assert_uint_eq(parse_once(st, b, n, 1, DISS_TCP), n);
    /* 05 64, LEN 5, ctrl 0x8b (DIR, secondary func 11 link status), dst 1, src 100, CRC */
    n = hex_to_bytes("05 64 05 8b 01 00 64 00 a0 97", b, sizeof(b));
    ck_assert_uint_eq(parse_once(st, b, n, 0, DISS_TCP), n);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(!rec.ev[0].has_code);
    ck_assert_str_eq(rec.ev[0].op, "link_request_link_status");
    ck_assert_uint_eq(u(0, "dst"), 100);
    ck_assert(!rec.ev[1].has_code);
    ck_assert_str_eq(rec.ev[1].op, "link_status");
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_RESPONSE);
    dnp3_dissector.state_free(st);
}
END_TEST

/* ---- icsnpp-dnp3 dnp3_example.pcap frames 2 and 3: one response in two segments ---- */
static const char *RESP_SEG1 =
    "0564ff4464000500351875c38100000102000077810101010101f77601010101010101010101010101010101"
    "bbc301010101010101010101010101010101bbc3010101010101010101010000000000001a13000000000000"
    "00000000000000000000ffff00000000000000000000000000000000ffff0000000000000000000000000000"
    "0000ffff00000000000000000000000000000000ffff00000a02000021000000000000000000857700000000"
    "000000000000000000000000ffff0000000000000000001e0200001300c088fc0300df0400d30400e7040070"
    "03004605720e00660300000000000000000000000000a49d00000000000000000000000000000000ffff0000"
    "00000000000000002802000013002ebd00000000000000000000ffff";
static const char *RESP_SEG2 =
    "0564374464000500173db60000000000000000000000000000003c85000000000000"
    "00000000000000000000ffff00000000000000000000000000000000ffff0000ff"
    "ff";

START_TEST(test_reassembly_two_segments)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b1[400], b2[100];
    size_t n1 = hex_to_bytes(RESP_SEG1, b1, sizeof(b1));
    size_t n2 = hex_to_bytes(RESP_SEG2, b2, sizeof(b2));
    ck_assert_uint_eq(n1, 292); /* LEN 255: a full frame, transport 0x75 = FIR seq 53 */
    ck_assert_uint_eq(n2, 68);  /* LEN 55, transport 0xb6 = FIN seq 54 */
    ck_assert_uint_eq(parse_once(st, b1, n1, 0, DISS_TCP), n1);
    ck_assert_int_eq(rec.n, 0); /* first segment alone: no event yet */
    ck_assert_uint_eq(parse_once(st, b2, n2, 0, DISS_TCP), n2);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 129);
    ck_assert_uint_eq(u(0, "frames"), 2);
    ck_assert_uint_eq(u(0, "len"), 249 + 49); /* 250 - 1 and 50 - 1 transport bytes */
    ck_assert_uint_eq(u(0, "src"), 5);
    ck_assert(has(0, "\"group\":1,\"variation\":2")); /* first object: binary input g1v2 */
    dnp3_dissector.state_free(st);
}
END_TEST

START_TEST(test_out_of_sequence)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b1[400], b2[100];
    size_t n1 = hex_to_bytes(RESP_SEG1, b1, sizeof(b1));
    hex_to_bytes(RESP_SEG2, b2, sizeof(b2));
    /* rebuild the second frame with transport seq 60 instead of 54 */
    uint8_t data[64];
    /* user data of segment 2: three 16-byte blocks and 2 bytes, each after its CRC */
    memcpy(data, b2 + 10, 16);
    memcpy(data + 16, b2 + 28, 16);
    memcpy(data + 32, b2 + 46, 16);
    memcpy(data + 48, b2 + 64, 2);
    ck_assert_uint_eq(data[0], 0xb6);
    data[0] = 0x80 | 60;
    uint8_t f[100];
    size_t fn = make_frame(f, 0x44, 100, 5, data, 50);
    ck_assert_uint_eq(fn, 68);
    parse_once(st, b1, n1, 0, DISS_TCP);
    parse_once(st, f, fn, 0, DISS_TCP);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(!rec.ev[0].has_code);
    ck_assert(event_has_anomaly(&rec.ev[0], "dnp3.out_of_sequence"));
    dnp3_dissector.state_free(st);
}
END_TEST

/* Several frames in one segment and a frame split at every offset. */
START_TEST(test_stream_split_everywhere)
{
    uint8_t all[600];
    size_t n = hex_to_bytes(COLD_RESTART, all, sizeof(all));
    n += hex_to_bytes(RESP_SEG1, all + n, sizeof(all) - n);
    n += hex_to_bytes(RESP_SEG2, all + n, sizeof(all) - n);
    n += hex_to_bytes(SELECT_CROB, all + n, sizeof(all) - n);
    for (size_t cut = 0; cut <= n; cut++) {
        static struct tcp_buf s;
        s.len = 0;
        recorder_init(&rec);
        void *st = dnp3_dissector.state_new();
        stream_push(&s, st, all, cut, 1);
        stream_push(&s, st, all + cut, n - cut, 1);
        ck_assert_msg(rec.n == 3, "cut %zu: %d events", cut, rec.n);
        ck_assert_int_eq(rec.ev[0].code, 13);
        ck_assert_int_eq(rec.ev[1].code, 129);
        ck_assert_int_eq(rec.ev[2].code, 3);
        ck_assert_uint_eq(s.len, 0);
        dnp3_dissector.state_free(st);
    }
}
END_TEST

START_TEST(test_garbage_then_frame)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b[64] = {0xde, 0xad, 0x05, 0x00, 0x64};
    size_t n = 5 + hex_to_bytes(COLD_RESTART, b + 5, sizeof(b) - 5);
    static struct tcp_buf s;
    s.len = 0;
    stream_push(&s, st, b, n, 1);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(&rec.ev[0], "dnp3.garbage"));
    ck_assert_int_eq(rec.ev[1].code, 13);
    dnp3_dissector.state_free(st);
}
END_TEST

/* Every truncation of every frame: TCP asks for more, UDP flags it; no crash. */
START_TEST(test_truncation_every_length)
{
    const char *frames[] = {COLD_RESTART, COLD_RESPONSE, SELECT_CROB, RESP_SEG1, RESP_SEG2};
    for (size_t k = 0; k < sizeof(frames) / sizeof(frames[0]); k++) {
        uint8_t b[400];
        size_t n = hex_to_bytes(frames[k], b, sizeof(b));
        for (size_t len = 0; len < n; len++) {
            recorder_init(&rec);
            void *st = dnp3_dissector.state_new();
            uint8_t *copy = malloc(len ? len : 1); /* exact size so ASan sees over-reads */
            memcpy(copy, b, len);
            ck_assert_uint_eq(parse_once(st, copy, len, 1, DISS_TCP), 0);
            ck_assert_int_eq(rec.n, 0);
            parse_once(st, copy, len, 1, DISS_UDP);
            if (len > 0) {
                ck_assert_int_ge(rec.n, 1);
                ck_assert(event_has_anomaly(&rec.ev[rec.n - 1], "dnp3.truncated"));
            }
            free(copy);
            dnp3_dissector.state_free(st);
        }
    }
}
END_TEST

START_TEST(test_udp_two_frames_one_datagram)
{
    void *st = dnp3_dissector.state_new();
    uint8_t b[128];
    size_t n = hex_to_bytes(COLD_RESTART, b, sizeof(b));
    n += hex_to_bytes(COLD_RESPONSE, b + n, sizeof(b) - n);
    parse_once(st, b, n, 1, DISS_UDP);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.ev[0].code, 13);
    ck_assert_int_eq(rec.ev[1].code, 129);
    dnp3_dissector.state_free(st);
}
END_TEST

START_TEST(test_probe)
{
    uint8_t b[16];
    size_t n = hex_to_bytes(COLD_RESTART, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    ck_assert_int_eq(dnp3_dissector.probe(&c, 1), PROBE_YES);
    c = cursor_make(b, 1);
    ck_assert_int_eq(dnp3_dissector.probe(&c, 1), PROBE_NEED_MORE);
    c = cursor_make(b, 9); /* start octets and LEN fit, the header CRC not yet */
    ck_assert_int_eq(dnp3_dissector.probe(&c, 1), PROBE_NEED_MORE);
    b[8] ^= 1; /* header CRC wrong: not DNP3 */
    c = cursor_make(b, n);
    ck_assert_int_eq(dnp3_dissector.probe(&c, 1), PROBE_NO);
    uint8_t http[] = {'G', 'E', 'T', ' '};
    c = cursor_make(http, sizeof(http));
    ck_assert_int_eq(dnp3_dissector.probe(&c, 1), PROBE_NO);
}
END_TEST

/* ---- where tshark 4.0 is wrong (icsnpp-dnp3 dnp3_example.pcap) ----
 *
 * IEEE 1815-2012 8.2.1.3: the transport sequence number is 6 bits and counts modulo
 * 64, so 63 is followed by 0. tshark 4.0 reassembles with the sequence number as a
 * plain integer and never joins a 0 to the 63 before it: the fragment is left
 * "Unreassembled fragment 0" and the response is not counted (in this capture 3
 * responses on the 20000 <-> 20000 connection and one unsolicited response on the
 * 55370 connection). Its reassembly table is also keyed on IP addresses and the
 * sequence number, not on the TCP connection, so the orphan FIN segment of one
 * connection (frame 210, seq 0) is later merged with a FIR+FIN segment of another
 * connection (frame 311, seq 0): the "reassembled" fragment is 49 bytes of zeros
 * that tshark reads as a Confirm (func 0), while frame 311 is, alone, a complete
 * CROB response (func 129). A segment with FIR set starts a new fragment (8.2.1.2).
 * These are 6 of tshark's counts in the oracle; the tests pin our readings. */

/* frame 17 (and, byte for byte, 209): FIR, seq 63, the head of a read response */
static const char *WRAP_SEQ63 =
    "0564ff446400050035187fc881000001020000778101010101011e0e01010101010101010101010101010101"
    "bbc301010101010101010101010101010101bbc3010101010101010101010000000000001a13000000000000"
    "00000000000000000000ffff00000000000000000000000000000000ffff0000000000000000000000000000"
    "0000ffff00000000000000000000000000000000ffff00000a02000021000000000000000000857700000000"
    "000000000000000000000000ffff0000000000000000001e0200001300c088fc0300df0400d30400e7040070"
    "03004605720e00660300000000000000000000000000a49d00000000000000000000000000000000ffff0000"
    "00000000000000002802000013002ebd00000000000000000000ffff";
/* frame 18 (and 210): FIN, seq 0, the rest of it */
static const char *WRAP_SEQ0 =
    "0564374464000500173d80000000000000000000000000000000f3c800000000000000000000000000000000"
    "ffff00000000000000000000000000000000ffff0000ffff";
/* frame 311, the 55355 connection: FIR+FIN seq 0, a CROB response (g12v1 index 2) */
static const char *CROB_RESP_SEQ0 =
    "05641a4464000500c0aec0c88100000c011701024201f4010000513c0000000000ffff";

START_TEST(test_tshark_seq_wrap_63_to_0)
{
    void *st = dnp3_dissector.state_new();
    static struct tcp_buf s;
    s.len = 0;
    uint8_t b1[400], b2[100];
    size_t n1 = hex_to_bytes(WRAP_SEQ63, b1, sizeof(b1));
    size_t n2 = hex_to_bytes(WRAP_SEQ0, b2, sizeof(b2));
    ck_assert_uint_eq(b1[10], 0x7f); /* transport: FIR, seq 63 */
    ck_assert_uint_eq(b2[10], 0x80); /* transport: FIN, seq 0 */
    stream_push(&s, st, b1, n1, 0);
    ck_assert_int_eq(rec.n, 0);
    stream_push(&s, st, b2, n2, 0);
    ck_assert_int_eq(rec.n, 1); /* tshark: none (fragment 0 left unreassembled) */
    ck_assert_int_eq(rec.ev[0].code, 129);
    ck_assert_int_eq(rec.ev[0].nanom, 0);
    ck_assert_uint_eq(u(0, "frames"), 2);
    ck_assert_uint_eq(u(0, "len"), 249 + 49);
    ck_assert_uint_eq(u(0, "al.seq"), 8); /* application control 0xc8 */
    dnp3_dissector.state_free(st);
}
END_TEST

/* frames 808-810, the 55370 connection: an unsolicited response in segments 62, 63, 0 */
static const char *UNSOL_SEQ62 =
    "0564ff446400050035187ef78200000202175a0481ab0fbcc47069cc010581ad0fbcc4700106810a10bcc470"
    "d915010181f010bcc4700103815411bcc47089440102815611bcc4700104010917bcc47092300106010b17bc"
    "c4700105013a18bcc470e3120100011e19bcc470010101e819bcc470f7e4010201ae1abcc4700103010e1bbc"
    "c4703762010681e21ebcc470010481e61ebcc470b124010581e81ebcc4700100812a20bcc47016b60101813020"
    "bcc4700102813120bcc470e8ce0103818b20bcc4700105019a21bcc470a30c0101014523bcc4700102010a24"
    "bcc4704dd70103016f24bcc4700105814828bcc470d1940101818b29bcc4700102818d29bcc4702182010401"
    "c929bcc470010601ca29bcc4707618010381eb29bcc4700105dab9";
static const char *UNSOL_SEQ63 =
    "0564ff446400050035183f01fc2abcc4700100013d2cbcc47001a4f50101a42cbcc4700102016e2dbcc47001"
    "8aeb0301ce2dbcc470010681a231bcc4700102c40481a631bcc470010581a931bcc4700135f801818832bcc4"
    "700102818a32bcc47001d4070081ea32bcc4700103814a33bcc47001682e05015a34bcc4700101010436bcc4"
    "7001876802016636bcc4700103012e37bcc4700143310581e249bcc470010381824bbcc47001731b0181874b"
    "bcc470010281894bbcc47001d8970401c54bbcc470010601c64bbcc47001316f0501f54cbcc470010001dd4d"
    "bcc47001cd7401019f4ebcc470010201694fbcc47001575a0301cd4fbcc470010681a053bcc47001327e0481"
    "a353bcc470010581a653bcc4700170a600818154bcc4700102815f9a";
static const char *UNSOL_SEQ0 =
    "0564ec4464000500a4f380e954bcc470010181eb54bcc4700103d9c0814655bcc4700105015556bcc4700101"
    "e19801ff57bcc4700102016558bcc47001032e16012e59bcc470010581055dbcc47001019f7c81475ebcc470"
    "010281485ebcc47001045b1a01855ebcc470010601865ebcc4700103042a81ab5ebcc470010501b65fbcc470"
    "0100be5c019960bcc4700101015f61bcc470010227ae012962bcc4700103018e62bcc47001062fca815e66bc"
    "c4700104816166bcc470010547ae816666bcc4700100814167bcc4700101dc0781a667bcc470010281a867bc"
    "c47001030a65810668bcc4700105011669bcc4700101955501bf6abcc470010201896bbcc4700103e38a01ee"
    "6bbcc47001d488";

START_TEST(test_tshark_seq_wrap_three_segments)
{
    void *st = dnp3_dissector.state_new();
    static struct tcp_buf s;
    s.len = 0;
    const char *seg[3] = {UNSOL_SEQ62, UNSOL_SEQ63, UNSOL_SEQ0};
    const uint8_t tc[3] = {0x40 | 62, 63, 0x80 | 0}; /* FIR 62, 63, FIN 0 */
    for (int i = 0; i < 3; i++) {
        uint8_t b[400];
        size_t n = hex_to_bytes(seg[i], b, sizeof(b));
        ck_assert_uint_eq(b[10], tc[i]);
        stream_push(&s, st, b, n, 0);
        ck_assert_int_eq(rec.n, i == 2); /* tshark: none */
    }
    ck_assert_int_eq(rec.ev[0].code, 130); /* unsolicited response */
    ck_assert_int_eq(rec.ev[0].nanom, 0);
    ck_assert_uint_eq(u(0, "frames"), 3);
    ck_assert_uint_eq(u(0, "len"), 249 + 249 + 230);
    ck_assert(has(0, "\"uns\":true"));
    ck_assert(has(0, "\"group\":2,\"variation\":2")); /* binary input events with time */
    dnp3_dissector.state_free(st);
}
END_TEST

START_TEST(test_tshark_fir_starts_new_fragment)
{
    uint8_t orphan[100], crob[64];
    size_t no = hex_to_bytes(WRAP_SEQ0, orphan, sizeof(orphan));
    size_t nc = hex_to_bytes(CROB_RESP_SEQ0, crob, sizeof(crob));
    ck_assert_uint_eq(crob[10], 0xc0); /* FIR+FIN, seq 0 */
    /* as captured: the orphan and the CROB response are on two connections */
    void *a = dnp3_dissector.state_new(), *b = dnp3_dissector.state_new();
    static struct tcp_buf sa, sb;
    sa.len = sb.len = 0;
    stream_push(&sa, a, orphan, no, 0);
    for (int i = 0; i < rec.n; i++)
        ck_assert(!rec.ev[i].has_code); /* a FIN without its FIR is not a fragment */
    int before = rec.n;
    stream_push(&sb, b, crob, nc, 0);
    ck_assert_int_eq(rec.n, before + 1);
    ck_assert_int_eq(rec.ev[before].code, 129); /* tshark: 0 (Confirm) */
    ck_assert(has(before, "\"group\":12,\"variation\":1"));
    ck_assert(has(before, "\"index\":2"));
    dnp3_dissector.state_free(a);
    dnp3_dissector.state_free(b);
    /* even on one connection, FIR discards the pending partial fragment */
    void *c = dnp3_dissector.state_new();
    static struct tcp_buf sc;
    sc.len = 0;
    uint8_t head[400];
    size_t nh = hex_to_bytes(WRAP_SEQ63, head, sizeof(head));
    recorder_init(&rec);
    stream_push(&sc, c, head, nh, 0);
    stream_push(&sc, c, crob, nc, 0);
    int coded = 0;
    for (int i = 0; i < rec.n; i++) {
        if (!rec.ev[i].has_code) continue;
        coded++;
        ck_assert_int_eq(rec.ev[i].code, 129);
        ck_assert(has(i, "\"group\":12,\"variation\":1"));
    }
    ck_assert_int_eq(coded, 1);
    dnp3_dissector.state_free(c);
}
END_TEST

/* ---- golden counts from whole captures (tshark dnp3.al.func distribution) ---- */

struct counts {
    int code[256];
    int nocode;
    int anomalies;
    char last_op[64];
};

static void count_cb(void *ctx, struct event *e)
{
    struct counts *k = ctx;
    if (e->has_code && e->code >= 0 && e->code < 256)
        k->code[e->code]++;
    else
        k->nocode++;
    k->anomalies += e->nanom;
    snprintf(k->last_op, sizeof(k->last_op), "%s", e->op ? e->op : "");
}

/* Plays a capture into the dissector the way the engine does (testutil.c). */
static void run_pcap(const char *name, struct counts *k)
{
    static struct event_sink sink;
    event_sink_init(&sink, count_cb, k);
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), &dnp3_dissector, &sink, 20000, 0), 0);
}

START_TEST(test_golden_select_operate)
{
    static struct counts k;
    memset(&k, 0, sizeof(k));
    run_pcap("dnp3-select-operate.pcap", &k);
    /* tshark: dnp3.al.func 129 x2, 3 x1, 4 x1 */
    ck_assert_int_eq(k.code[129], 2);
    ck_assert_int_eq(k.code[3], 1);
    ck_assert_int_eq(k.code[4], 1);
    ck_assert_int_eq(k.nocode, 0);
    ck_assert_int_eq(k.anomalies, 0);
}
END_TEST

START_TEST(test_golden_file_transfer)
{
    static struct counts k;
    memset(&k, 0, sizeof(k));
    run_pcap("dnp3-file-list-directory.pcap", &k);
    /* tshark: 129 x4, 1 x2, 25 x1, 26 x1; one response spans 5 link frames */
    ck_assert_int_eq(k.code[129], 4);
    ck_assert_int_eq(k.code[1], 2);
    ck_assert_int_eq(k.code[25], 1);
    ck_assert_int_eq(k.code[26], 1);
    ck_assert_int_eq(k.anomalies, 0);
}
END_TEST

START_TEST(test_golden_too_long)
{
    static struct counts k;
    memset(&k, 0, sizeof(k));
    run_pcap("dnp3-too-long-reassembly.pcap", &k);
    /* tshark reassembles no application fragment here (no FIN ever comes) */
    for (int i = 0; i < 256; i++)
        ck_assert_int_eq(k.code[i], 0);
    ck_assert_int_ge(k.nocode, 1);
    ck_assert_str_eq(k.last_op, "malformed"); /* dnp3.fragment_too_long / out_of_sequence */
}
END_TEST

/* g70v5 file transport blocks reach YARA as one object per handle: in the
 * directory listing above, the outstation's two blocks (handle 0x12345678,
 * block 0 of 993 bytes, block 1 of 266 with the last-block bit; tshark's
 * dnp3.al.file.data) are scanned once, at the last block, so a string made
 * of block 0's last 8 bytes and block 1's first 8 matches exactly once. The
 * expected sha256 is Python hashlib's over tshark's two data fields. */
START_TEST(test_yara_file_transport)
{
    static char err[1024];
    ck_assert_int_eq(yara_global_init(), 0);
    struct yara_set *ys = yara_set_load_text(
        "t.yar",
        "rule Split { strings: $s = { 62 4B 65 79 2E 70 65 6D 14 00 17 00 01 00 8F 06 } "
        "condition: $s and ot_proto == \"dnp3\" and ot_object_type == \"dnp3.file\" and "
        "ot_direction == \"to_client\" }\n",
        err, sizeof(err));
    ck_assert_msg(ys != NULL, "%s", err);
    struct yara_limits lim = {0, 1 << 20, 0, 0, 0, 1024, 0, 0};
    struct yara_worker *yw = yara_worker_new(&lim);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    rec.sink.yara = yw;
    ck_assert_int_gt(pcap_feed_file(test_data_path("dnp3-file-list-directory.pcap"),
                                    &dnp3_dissector, &rec.sink, 20000, 0),
                     0);
    int hits = 0, at = -1;
    for (int i = 0; i < rec.n; i++)
        if (strcmp(rec.ev[i].proto, "yara") == 0) {
            hits++;
            at = i;
        }
    ck_assert_int_eq(hits, 1);
    ck_assert(has(at, "\"rule\":\"Split\""));
    ck_assert(has(at, "\"name\":\"handle:305419896\""));
    ck_assert(has(at, "\"first_block\":\"0\""));
    ck_assert(has(at, "f5f26059f2461b2fd69fb73dadef92614ff4f6aa3bfb297e9dfda931e635bec6"));
    struct yara_stats stats;
    yara_worker_stats(yw, &stats);
    ck_assert_uint_eq(stats.objects_scanned, 1);
    ck_assert_uint_eq(stats.bytes_scanned, 993 + 266);
    rec.sink.yara = NULL;
    yara_worker_free(yw);
    yara_set_free(ys);
    yara_global_fini();
}
END_TEST

/* ---- detectors: operate_without_select, critical_without_sa, unsolicited_unexpected ----
 * Fragments are built byte by byte per IEEE 1815 (one transport segment each, link CRCs
 * by crc_dnp); master 3, outstation 2 unless said otherwise. */

static struct diss_params params;

/* Sends one application fragment (hex) in one link frame: from the master (to_server)
 * or from the outstation. */
static void app(void *st, int from_master, uint16_t master, uint16_t outstation, const char *hex)
{
    uint8_t a[256], fr[320];
    a[0] = 0xC0; /* transport FIN FIR seq 0 */
    size_t n = 1 + hex_to_bytes(hex, a + 1, sizeof(a) - 1);
    size_t m = from_master ? make_frame(fr, 0xC4, outstation, master, a, n)
                           : make_frame(fr, 0x44, master, outstation, a, n);
    rec.sink.net.to_server = (uint8_t)from_master;
    ck_assert_uint_eq(parse_once(st, fr, m, from_master, DISS_TCP), m);
}

/* Events named op recorded since `from`; the last one's index in *at. */
static int count_op(int from, const char *op, int *at)
{
    int k = 0;
    for (int i = from; i < rec.n; i++)
        if (!strcmp(rec.ev[i].op, op)) {
            k++;
            if (at) *at = i;
        }
    return k;
}

/* g12v1 CROB, qualifier 0x28, one object at index `idx`: latch on, 100 ms on/off */
#define CROB(idx) "0c 01 28 01 00 " idx " 00 03 01 64 00 00 00 64 00 00 00 00"

START_TEST(test_select_then_operate_is_quiet)
{
    void *st = dnp3_dissector.state_new();
    app(st, 1, 3, 2, "c7 03" CROB("01")); /* select, seq 7 */
    app(st, 0, 3, 2, "c7 81 00 00" CROB("01"));
    now_us += 2000000;                    /* 2 s later */
    app(st, 1, 3, 2, "c8 04" CROB("01")); /* operate, seq 8, same objects */
    app(st, 0, 3, 2, "c8 81 00 00" CROB("01"));
    ck_assert_int_eq(rec.n, 4);
    ck_assert_int_eq(count_op(0, "operate_without_select", NULL), 0);
    ck_assert_int_eq(count_op(0, "operate", NULL), 1);
    dnp3_dissector.state_free(st);
}
END_TEST

START_TEST(test_operate_without_select)
{
    void *st = dnp3_dissector.state_new();
    int at = -1;
    /* no select at all */
    app(st, 1, 3, 2, "c1 04" CROB("01"));
    ck_assert_int_eq(rec.n, 2); /* the operate, then the derived event */
    ck_assert_int_eq(count_op(0, "operate_without_select", &at), 1);
    ck_assert_int_eq(at, 1);
    ck_assert(!rec.ev[at].has_code);
    ck_assert_int_eq(rec.ev[at].dir, EV_DIR_REQUEST);
    ck_assert_str_eq(rec.ev[at].proto, "dnp3");
    ck_assert_uint_eq(u(at, "src"), 3);
    ck_assert_uint_eq(u(at, "dst"), 2);
    ev_s(&rec.ev[at], "reason", "no_select");
    /* a select of index 1, an operate of index 2 */
    app(st, 1, 3, 2, "c2 03" CROB("01"));
    app(st, 1, 3, 2, "c3 04" CROB("02"));
    ck_assert_int_eq(count_op(0, "operate_without_select", &at), 2);
    ev_s(&rec.ev[at], "reason", "other_objects");
    /* the same CROB with another control code (latch off) is another command */
    app(st, 1, 3, 2, "c4 03" CROB("05"));
    app(st, 1, 3, 2, "c5 04 0c 01 28 01 00 05 00 04 01 64 00 00 00 64 00 00 00 00");
    ck_assert_int_eq(count_op(0, "operate_without_select", &at), 3);
    /* the right objects 11 s after the select: past the default 10 s timeout */
    app(st, 1, 3, 2, "c6 03" CROB("01"));
    now_us += 11000000;
    app(st, 1, 3, 2, "c7 04" CROB("01"));
    ck_assert_int_eq(count_op(0, "operate_without_select", &at), 4);
    ev_s(&rec.ev[at], "reason", "timeout");
    ck_assert_uint_eq(u(at, "select_age_ms"), 11000);
    /* with dnp3.select_timeout_ms = 20000 the same exchange is fine */
    diss_params_defaults(&params);
    params.dnp3_select_timeout_ms = 20000;
    rec.sink.params = &params;
    app(st, 1, 3, 2, "c8 03" CROB("01"));
    now_us += 11000000;
    app(st, 1, 3, 2, "c9 04" CROB("01"));
    ck_assert_int_eq(count_op(0, "operate_without_select", NULL), 4);
    /* a select on another association (outstation 4) does not cover outstation 2 */
    app(st, 1, 3, 4, "ca 03" CROB("01"));
    app(st, 1, 3, 2, "cb 04" CROB("01"));
    ck_assert_int_eq(count_op(0, "operate_without_select", NULL), 4); /* 2's select holds */
    app(st, 1, 3, 4, "cc 04" CROB("01"));
    ck_assert_int_eq(count_op(0, "operate_without_select", NULL), 4);
    app(st, 1, 3, 5, "cd 04" CROB("01"));
    ck_assert_int_eq(count_op(0, "operate_without_select", NULL), 5);
    dnp3_dissector.state_free(st);
}
END_TEST

/* direct operate (FC 5) of CROB index 1, seq 1; the outstation executes it */
#define DIRECT_OP "c1 05" CROB("01")
#define DIRECT_OK "c1 81 00 00" CROB("01")

START_TEST(test_critical_without_sa_policy)
{
    void *st = dnp3_dissector.state_new();
    int at = -1;
    /* default policy, no SA ever seen: nothing */
    app(st, 1, 3, 2, DIRECT_OP);
    app(st, 0, 3, 2, DIRECT_OK);
    ck_assert_int_eq(count_op(0, "critical_without_sa", NULL), 0);
    /* dnp3.require_sa = yes: executed without challenge nor aggressive mode */
    diss_params_defaults(&params);
    params.dnp3_require_sa = 1;
    rec.sink.params = &params;
    int from = rec.n;
    app(st, 1, 3, 2, DIRECT_OP);
    ck_assert_int_eq(count_op(from, "critical_without_sa", NULL), 0); /* not before the answer */
    app(st, 0, 3, 2, DIRECT_OK);
    ck_assert_int_eq(count_op(from, "critical_without_sa", &at), 1);
    ck_assert_int_eq(rec.ev[at].dir, EV_DIR_REQUEST);
    ck_assert_int_eq(rec.ev[at].net.to_server, 1); /* it describes the request */
    ck_assert_uint_eq(u(at, "src"), 3);
    ck_assert_uint_eq(u(at, "dst"), 2);
    ck_assert_uint_eq(u(at, "func"), 5);
    ev_s(&rec.ev[at], "func_name", "direct_operate");
    /* a read is not critical */
    from = rec.n;
    app(st, 1, 3, 2, "c2 01 3c 01 06");
    app(st, 0, 3, 2, "c2 81 00 00");
    ck_assert_int_eq(count_op(from, "critical_without_sa", NULL), 0);
    /* challenge-response: the outstation challenges (0x83 g120v1), the master replies
     * (0x20 g120v2), then the outstation executes: authenticated */
    from = rec.n;
    app(st, 1, 3, 2, "c3 05" CROB("01"));
    app(st, 0, 3, 2,
        "c3 83 00 00 78 01 5b 01 0c 00"         /* g120v1, size 12 */
        "01 00 00 00 01 00 04 01 aa bb cc dd"); /* csq 1, user 1, HMAC 4, reason 1 */
    app(st, 1, 3, 2, "c4 20 78 02 5b 01 0a 00 01 00 00 00 01 00 11 22 33 44"); /* g120v2 */
    app(st, 0, 3, 2, "c3 81 00 00" CROB("01"));
    ck_assert_int_eq(count_op(from, "critical_without_sa", NULL), 0);
    /* aggressive mode: g120v3 before and g120v9 after the CROB */
    from = rec.n;
    app(st, 1, 3, 2,
        "c5 05 78 03 07 01 02 00 00 00 01 00" CROB("01") " 78 09 5b 01 04 00 de ad be ef");
    app(st, 0, 3, 2, "c5 81 00 00" CROB("01"));
    ck_assert_int_eq(count_op(from, "critical_without_sa", NULL), 0);
    dnp3_dissector.state_free(st);
}
END_TEST

START_TEST(test_critical_without_sa_after_sa_seen)
{
    void *st = dnp3_dissector.state_new();
    /* the master asks for the session key status (FC 32, g120v4 user 1); the outstation
     * knows no SA (IIN2 0x01): no SA on this association, so no policy either */
    app(st, 1, 3, 2, "c5 20 78 04 07 01 01 00");
    app(st, 0, 3, 2, "c5 81 00 01");
    app(st, 1, 3, 2, "c6 0d");
    app(st, 0, 3, 2, "c6 81 00 00");
    ck_assert_int_eq(count_op(0, "critical_without_sa", NULL), 0);
    /* require_sa stays no; the association first authenticates a command */
    app(st, 1, 3, 2, "c1 05" CROB("01"));
    app(st, 0, 3, 2, "c1 83 00 00 78 01 5b 01 0c 00 01 00 00 00 01 00 04 01 aa bb cc dd");
    app(st, 1, 3, 2, "c2 20 78 02 5b 01 0a 00 01 00 00 00 01 00 11 22 33 44");
    app(st, 0, 3, 2, "c1 81 00 00" CROB("01"));
    ck_assert_int_eq(count_op(0, "critical_without_sa", NULL), 0);
    /* then a cold restart the outstation performs unchallenged: a downgrade */
    int at = -1;
    app(st, 1, 3, 2, "c3 0d");
    app(st, 0, 3, 2, "c3 81 00 00 34 01 07 01 e8 03"); /* g52v1 time delay 1000 */
    ck_assert_int_eq(count_op(0, "critical_without_sa", &at), 1);
    ck_assert_uint_eq(u(at, "func"), 13);
    ck_assert_uint_eq(u(at, "sa_seen"), 1);
    /* another association of the flow has used no SA: its commands are its own */
    app(st, 1, 3, 4, "c4 0d");
    app(st, 0, 3, 4, "c4 81 00 00");
    ck_assert_int_eq(count_op(0, "critical_without_sa", NULL), 1);
    dnp3_dissector.state_free(st);
}
END_TEST

/* g60v2..v4: classes 1, 2, 3 (qualifier 0x06: all objects) */
#define CLASSES_123 "3c 02 06 3c 03 06 3c 04 06"
/* unsolicited response, CON UNS, with one g2v1 binary input event (index 5, flags 0x81) */
#define UNS_DATA(seq) "f" seq " 82 00 00 02 01 17 01 05 81"

START_TEST(test_unsolicited_while_disabled)
{
    void *st = dnp3_dissector.state_new();
    int at = -1;
    /* enabled (the default): unsolicited data is expected */
    app(st, 0, 3, 2, UNS_DATA("1"));
    /* DISABLE_UNSOLICITED not yet confirmed by the outstation: an event in flight is fine */
    app(st, 1, 3, 2, "c1 15 " CLASSES_123);
    app(st, 0, 3, 2, UNS_DATA("2"));
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 0);
    app(st, 0, 3, 2, "c1 81 00 00"); /* disable confirmed */
    /* a null unsolicited response (restart announcement) is allowed while disabled */
    app(st, 0, 3, 2, "f3 82 80 00");
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 0);
    app(st, 0, 3, 2, UNS_DATA("4"));
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", &at), 1);
    ck_assert_int_eq(rec.ev[at].dir, EV_DIR_INDICATION);
    ev_s(&rec.ev[at], "reason", "disabled");
    ck_assert_uint_eq(u(at, "src"), 2);
    ck_assert_uint_eq(u(at, "dst"), 3);
    ck_assert_uint_eq(u(at, "seq"), 4);
    /* ENABLE_UNSOLICITED for class 1 only: the outstation may report class 1 again,
     * and which class an event is in is the outstation's configuration */
    app(st, 1, 3, 2, "c2 14 3c 02 06");
    app(st, 0, 3, 2, "c2 81 00 00");
    app(st, 0, 3, 2, UNS_DATA("5"));
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 1);
    /* a disable the outstation rejects (IIN2 0x04 parameter error) changes nothing */
    app(st, 1, 3, 2, "c3 15 3c 02 06");
    app(st, 0, 3, 2, "c3 81 00 04");
    app(st, 0, 3, 2, UNS_DATA("6"));
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 1);
    dnp3_dissector.state_free(st);
}
END_TEST

START_TEST(test_unsolicited_unknown_outstation)
{
    void *st = dnp3_dissector.state_new();
    int at = -1;
    diss_params_defaults(&params);
    params.dnp3_learning = 60;
    rec.sink.params = &params;
    app(st, 1, 3, 2, "c1 01 3c 01 06"); /* the master polls outstation 2 */
    app(st, 0, 3, 2, "c1 81 00 00");
    app(st, 0, 3, 7, UNS_DATA("1")); /* outstation 7, while still learning */
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 0);
    now_us += 61000000;
    app(st, 0, 3, 2, UNS_DATA("2")); /* known */
    app(st, 0, 3, 7, UNS_DATA("2")); /* seen in learning, never addressed: still unknown */
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 1);
    app(st, 0, 3, 9, UNS_DATA("1")); /* new after learning */
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", &at), 2);
    ev_s(&rec.ev[at], "reason", "unknown_outstation");
    ck_assert_uint_eq(u(at, "src"), 9);
    /* once per outstation: the second event of 9 is still unknown, but reported */
    app(st, 0, 3, 9, UNS_DATA("2"));
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 3);
    /* the master confirms it: from then on it is known */
    app(st, 1, 3, 9, "c2 00");
    app(st, 0, 3, 9, UNS_DATA("3"));
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 3);
    /* learning 0: never */
    params.dnp3_learning = 0;
    app(st, 0, 3, 11, UNS_DATA("1"));
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 3);
    dnp3_dissector.state_free(st);
}
END_TEST

/* Bounded: more associations than slots keeps working, and stops unknown-outstation. */
START_TEST(test_associations_bounded)
{
    void *st = dnp3_dissector.state_new();
    diss_params_defaults(&params);
    params.dnp3_learning = 1;
    rec.sink.params = &params;
    now_us += 2000000;
    char hex[64];
    for (int o = 100; o < 140; o++) { /* 40 outstations, select + operate each */
        snprintf(hex, sizeof(hex), "c1 03" CROB("01"));
        app(st, 1, 3, (uint16_t)o, hex);
        snprintf(hex, sizeof(hex), "c2 04" CROB("01"));
        app(st, 1, 3, (uint16_t)o, hex);
    }
    ck_assert_int_eq(count_op(0, "operate_without_select", NULL), 0);
    ck_assert_int_eq(count_op(0, "select", NULL), 40);
    app(st, 0, 3, 500, UNS_DATA("1")); /* unknown, but an association was dropped */
    ck_assert_int_eq(count_op(0, "unsolicited_unexpected", NULL), 0);
    dnp3_dissector.state_free(st);
}
END_TEST

/* Real captures: 133 SELECT/OPERATE pairs (icsnpp-dnp3) and masters that disable then
 * enable unsolicited responses (suricata-verify dnp3-eve, nDPI dnp3.pcap) raise none. */
struct op_counts {
    int ops[3];
    int total;
};

static void op_cb(void *ctx, struct event *e)
{
    static const char *const names[3] = {"operate_without_select", "critical_without_sa",
                                         "unsolicited_unexpected"};
    struct op_counts *k = ctx;
    k->total++;
    for (int i = 0; i < 3; i++)
        if (!strcmp(e->op, names[i])) k->ops[i]++;
}

START_TEST(test_detectors_quiet_on_captures)
{
    static const char *const caps[] = {"corpus/icsnpp-dnp3/dnp3_example.pcap",
                                       "corpus/suricata-verify/dnp3-eve/input.pcap",
                                       "corpus/nDPI/dnp3.pcap", "dnp3-select-operate.pcap"};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        static struct op_counts k;
        static struct event_sink sink;
        memset(&k, 0, sizeof(k));
        event_sink_init(&sink, op_cb, &k);
        ck_assert_int_gt(pcap_feed_file(test_data_path(caps[i]), &dnp3_dissector, &sink, 20000, 0),
                         0);
        ck_assert_int_gt(k.total, 3);
        ck_assert_msg(k.ops[0] + k.ops[1] + k.ops[2] == 0, "%s: %d %d %d", caps[i], k.ops[0],
                      k.ops[1], k.ops[2]);
    }
}
END_TEST

static Suite *dnp3_suite(void)
{
    Suite *s = suite_create("dnp3");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_crc_matches_capture);
    tcase_add_test(tc, test_cold_restart_good_crc);
    tcase_add_test(tc, test_bad_data_crc);
    tcase_add_test(tc, test_bad_header_crc_resyncs);
    tcase_add_test(tc, test_crob_select);
    tcase_add_test(tc, test_iin_and_sa);
    tcase_add_test(tc, test_link_only);
    tcase_add_test(tc, test_reassembly_two_segments);
    tcase_add_test(tc, test_out_of_sequence);
    tcase_add_test(tc, test_stream_split_everywhere);
    tcase_add_test(tc, test_garbage_then_frame);
    tcase_add_test(tc, test_truncation_every_length);
    tcase_add_test(tc, test_udp_two_frames_one_datagram);
    tcase_add_test(tc, test_probe);
    tcase_add_test(tc, test_tshark_seq_wrap_63_to_0);
    tcase_add_test(tc, test_tshark_seq_wrap_three_segments);
    tcase_add_test(tc, test_tshark_fir_starts_new_fragment);
    tcase_add_test(tc, test_golden_select_operate);
    tcase_add_test(tc, test_golden_file_transfer);
    tcase_add_test(tc, test_golden_too_long);
    tcase_add_test(tc, test_yara_file_transport);
    tcase_add_test(tc, test_select_then_operate_is_quiet);
    tcase_add_test(tc, test_operate_without_select);
    tcase_add_test(tc, test_critical_without_sa_policy);
    tcase_add_test(tc, test_critical_without_sa_after_sa_seen);
    tcase_add_test(tc, test_unsolicited_while_disabled);
    tcase_add_test(tc, test_unsolicited_unknown_outstation);
    tcase_add_test(tc, test_associations_bounded);
    tcase_add_test(tc, test_detectors_quiet_on_captures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dnp3_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
