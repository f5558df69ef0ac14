/* test_iec104.c - IEC 60870-5-104 dissector: APCI formats, sequence numbers,
 * ASDU fields and values, TCP stream buffering, golden counts from captures.
 * Byte strings come from corpus captures (tshark -x); expected values were read
 * from tshark -V on the same frames. */
#include <check.h>
#include <pcap.h>
#include <stdlib.h>
#include <string.h>

#include "diss_params.h"
#include "dissector.h"
#include "testutil.h"

extern const struct dissector iec104_dissector;

static struct recorder rec;

static uint64_t now_us; /* packet time handed to parse() */

static size_t parse_once(void *st, const uint8_t *p, size_t n, int to_server)
{
    struct cursor c = cursor_make(p, n);
    struct pdu_info info = {to_server, DISS_TCP, 0, now_us};
    return iec104_dissector.parse(st, &c, &info, &rec.sink);
}

/* Engine-like TCP buffering (testutil.c). */
static void stream_push(struct tcp_buf *s, void *st, const uint8_t *p, size_t n, int to_server)
{
    tcp_push(s, &iec104_dissector, st, &rec.sink, p, n, to_server, now_us);
}

static uint64_t u(int i, const char *path)
{
    const struct ev_field *f = event_find(&rec.ev[i], path);
    ck_assert_msg(f != NULL, "event %d has no %s: %s", i, path, rec.json[i]);
    return f->v.u;
}

static const char *s_(int i, const char *path)
{
    static char buf[300];
    const struct ev_field *f = event_find(&rec.ev[i], path);
    ck_assert_msg(f != NULL, "event %d has no %s: %s", i, path, rec.json[i]);
    snprintf(buf, sizeof(buf), "%.*s", (int)f->len, event_field_text(&rec.ev[i], f));
    return buf;
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

/* ---- ICS-Security-Tools IEC60870-5-104/090813_diverse.pcap ---- */

/* frame 3: server -> client TESTFR act */
static const char *U_TESTFR_ACT = "68"           /* start */
                                  "04"           /* APDU length 4 */
                                  "43 00 00 00"; /* U-format, TESTFR act */

/* frame 7: client -> server S-format */
static const char *S_ACK = "68 04"  /* start, length 4 */
                           "01 00"  /* S-format */
                           "9c 00"; /* N(R) = 0x009c >> 1 = 78 */

/* frame 25: client -> server C_SC_NA_1 select */
static const char *C_SC_NA_1 = "68 0e"    /* start, length 14 */
                               "2c 00"    /* I-format, N(S) = 0x2c >> 1 = 22 */
                               "a2 00"    /* N(R) = 0xa2 >> 1 = 81 */
                               "2d"       /* type 45 C_SC_NA_1 */
                               "01"       /* SQ 0, 1 object */
                               "06"       /* COT 6 activation, P/N 0, T 0 */
                               "00"       /* originator 0 */
                               "03 00"    /* common address 3 */
                               "94 11 00" /* IOA 4500 */
                               "81";      /* SCO: ON, QU 0, S/E select */

/* frame 9: client -> server C_SC_TA_1 with CP56Time2a */
static const char *C_SC_TA_1 = "68 15"       /* start, length 21 */
                               "28 00 9c 00" /* I-format N(S) 20, N(R) 78 */
                               "3a 01 06 00" /* type 58 C_SC_TA_1, 1 object, COT 6, OA 0 */
                               "03 00"       /* common address 3 */
                               "95 11 00"    /* IOA 4501 */
                               "81"          /* SCO: ON, select */
                               "08 00"       /* CP56: 8 ms */
                               "17 13 0d 08" /* minute 23, hour 19, day 13, month 8 */
                               "6d";         /* year 109: tshark shows 2009 */

/* frame 1: server -> client M_ME_NC_1, two objects */
static const char *M_ME_NC_1 = "68 1a 9a 00 28 00" /* start, length 26, I N(S) 77 N(R) 20 */
                               "0d 02 01 00"       /* type 13 float, 2 objects, COT 1 periodic */
                               "03 00"             /* common address 3 */
                               "14 05 00"          /* IOA 1300 */
                               "00 00 f0 41 00"    /* 30.0, QDS 0 */
                               "15 05 00"          /* IOA 1301 */
                               "00 00 31 44 00";   /* 708.0, QDS 0 */

/* ---- nDPI iec60780-5-104.pcap frame 139: C_CS_NA_1 clock sync ---- */
static const char *C_CS_NA_1 = "68 14"       /* start, length 20 */
                               "0c 00 16 00" /* I-format N(S) 6, N(R) 11 */
                               "67"          /* type 103 C_CS_NA_1 */
                               "01 06 04"    /* 1 object, COT 6 activation, originator 4 */
                               "0d 91"       /* common address 37133 */
                               "00 00 00"    /* IOA 0 */
                               "c8 32"       /* 13000 ms */
                               "39 08 1d 08" /* minute 57, hour 8, day 29, month 8 */
                               "08";         /* year 8: 2008 */

START_TEST(test_u_format)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[16];
    size_t n = hex_to_bytes(U_TESTFR_ACT, b, sizeof(b));
    ck_assert_uint_eq(parse_once(st, b, n, 0), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(!rec.ev[0].has_code);
    ck_assert_str_eq(s_(0, "apci"), "U");
    ck_assert_str_eq(s_(0, "u"), "testfr_act");
    ck_assert_str_eq(rec.ev[0].op, "testfr");
    ck_assert_int_eq(rec.ev[0].dir, EV_DIR_REQUEST);
    ck_assert_int_eq(rec.ev[0].nanom, 0);
    /* STARTDT con: 68 04 0b 00 00 00 */
    n = hex_to_bytes("68 04 0b 00 00 00", b, sizeof(b));
    parse_once(st, b, n, 0);
    ck_assert_str_eq(s_(1, "u"), "startdt_con");
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_RESPONSE);
    /* two function bits at once (0x0f) is not a valid U-format */
    n = hex_to_bytes("68 04 0f 00 00 00", b, sizeof(b));
    parse_once(st, b, n, 1);
    ck_assert(event_has_anomaly(&rec.ev[2], "iec104.bad_u_format"));
    iec104_dissector.state_free(st);
}
END_TEST

START_TEST(test_s_format)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[16];
    size_t n = hex_to_bytes(S_ACK, b, sizeof(b));
    ck_assert_uint_eq(parse_once(st, b, n, 1), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(!rec.ev[0].has_code);
    ck_assert_str_eq(s_(0, "apci"), "S");
    ck_assert_uint_eq(u(0, "nr"), 78);
    ck_assert_str_eq(rec.ev[0].op, "ack");
    iec104_dissector.state_free(st);
}
END_TEST

START_TEST(test_single_command)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[32];
    size_t n = hex_to_bytes(C_SC_NA_1, b, sizeof(b));
    ck_assert_uint_eq(parse_once(st, b, n, 1), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(rec.ev[0].has_code);
    ck_assert_int_eq(rec.ev[0].code, 45);
    ck_assert_str_eq(rec.ev[0].op, "single_command");
    ck_assert_int_eq(rec.ev[0].dir, EV_DIR_REQUEST);
    ck_assert_str_eq(s_(0, "apci"), "I");
    ck_assert_str_eq(s_(0, "type"), "C_SC_NA_1");
    ck_assert_uint_eq(u(0, "ns"), 22);
    ck_assert_uint_eq(u(0, "nr"), 81);
    ck_assert_uint_eq(u(0, "cot"), 6);
    ck_assert_uint_eq(u(0, "oa"), 0);
    ck_assert_uint_eq(u(0, "ca"), 3);
    ck_assert_uint_eq(u(0, "ioa"), 4500);
    ck_assert(has(0, "\"objects\":[{\"ioa\":4500,\"value\":1,\"qu\":0,\"select\":true}]"));
    ck_assert_int_eq(rec.ev[0].nanom, 0);

    /* frame 27, 40.9 ms later: the outstation's activation confirmation */
    n = hex_to_bytes("68 0e"       /* start, length 14 */
                     "a2 00 2e 00" /* I-format N(S) 81, N(R) 23 */
                     "2d 01 07 00" /* C_SC_NA_1, 1 object, COT 7 act-con, OA 0 */
                     "03 00"       /* common address 3 */
                     "94 11 00"    /* IOA 4500 */
                     "81",         /* SCO: ON, select */
                     b, sizeof(b));
    now_us += 40938;
    ck_assert_uint_eq(parse_once(st, b, n, 0), n);
    ck_assert_int_eq(rec.ev[1].code, 45);
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(u(1, "request_cot"), 6);
    ck_assert_uint_eq(u(1, "latency_us"), 40938);
    ck_assert_int_eq(rec.ev[1].nanom, 0); /* N(R) 23 acknowledges the command (N(S) 22) */
    iec104_dissector.state_free(st);
}
END_TEST

START_TEST(test_time_tagged_command_and_clock_sync)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[32];
    size_t n = hex_to_bytes(C_SC_TA_1, b, sizeof(b));
    parse_once(st, b, n, 1);
    ck_assert_int_eq(rec.ev[0].code, 58);
    ck_assert_str_eq(rec.ev[0].op, "single_command");
    ck_assert(has(0, "{\"ioa\":4501,\"value\":1,\"qu\":0,\"select\":true,"
                     "\"time\":\"2009-08-13T19:23:00.008\"}"));

    void *st2 = iec104_dissector.state_new();
    n = hex_to_bytes(C_CS_NA_1, b, sizeof(b));
    ck_assert_uint_eq(parse_once(st2, b, n, 1), n);
    ck_assert_int_eq(rec.ev[1].code, 103);
    ck_assert_str_eq(rec.ev[1].op, "clock_sync");
    ck_assert_uint_eq(u(1, "ca"), 37133);
    ck_assert_uint_eq(u(1, "oa"), 4);
    ck_assert(has(1, "{\"ioa\":0,\"time\":\"2008-08-29T08:57:13.000\"}"));
    iec104_dissector.state_free(st);
    iec104_dissector.state_free(st2);
}
END_TEST

START_TEST(test_monitor_values)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[64];
    size_t n = hex_to_bytes(M_ME_NC_1, b, sizeof(b));
    parse_once(st, b, n, 0);
    ck_assert_int_eq(rec.ev[0].code, 13);
    ck_assert_str_eq(rec.ev[0].op, "measured_float");
    ck_assert_int_eq(rec.ev[0].dir, EV_DIR_INDICATION); /* COT 1 periodic */
    ck_assert_uint_eq(u(0, "num"), 2);
    ck_assert(has(0, "{\"ioa\":1300,\"value\":30"));
    ck_assert(has(0, "{\"ioa\":1301,\"value\":708"));
    iec104_dissector.state_free(st);
}
END_TEST

/* nDPI IEC104.pcap frame 13 starts with two APDUs of M_ME_TF_1 in one segment;
 * nDPI iec60780-5-104.pcap frame 140 holds an S-format then an I-format APDU. */
START_TEST(test_several_apdus_per_segment)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[64];
    size_t n = hex_to_bytes("680401000e00"                                  /* S, N(R) 7 */
                            "681416000e00670107040d91000000c83239081d0808", /* I C_CS act-con */
                            b, sizeof(b));
    ck_assert_uint_eq(n, 28);
    ck_assert_uint_eq(parse_once(st, b, n, 0), n);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_str_eq(s_(0, "apci"), "S");
    ck_assert_uint_eq(u(0, "nr"), 7);
    ck_assert_int_eq(rec.ev[1].code, 103);
    ck_assert_uint_eq(u(1, "cot"), 7);
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_RESPONSE);
    iec104_dissector.state_free(st);
}
END_TEST

START_TEST(test_apdu_split_everywhere)
{
    uint8_t all[256];
    size_t n = hex_to_bytes(U_TESTFR_ACT, all, sizeof(all));
    n += hex_to_bytes(C_SC_NA_1, all + n, sizeof(all) - n);
    n += hex_to_bytes(S_ACK, all + n, sizeof(all) - n);
    n += hex_to_bytes(C_SC_TA_1, all + n, sizeof(all) - n);
    for (size_t cut = 0; cut <= n; cut++) {
        static struct tcp_buf s;
        s.len = 0;
        recorder_init(&rec);
        void *st = iec104_dissector.state_new();
        stream_push(&s, st, all, cut, 1);
        stream_push(&s, st, all + cut, n - cut, 1);
        ck_assert_msg(rec.n == 4, "cut %zu: %d events", cut, rec.n);
        ck_assert_str_eq(s_(0, "u"), "testfr_act");
        ck_assert_int_eq(rec.ev[1].code, 45);
        ck_assert_str_eq(s_(2, "apci"), "S");
        ck_assert_int_eq(rec.ev[3].code, 58);
        ck_assert_uint_eq(s.len, 0);
        iec104_dissector.state_free(st);
    }
}
END_TEST

START_TEST(test_sequence_gap)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[32];
    size_t n = hex_to_bytes(C_SC_NA_1, b, sizeof(b)); /* N(S) 22 */
    parse_once(st, b, n, 1);
    parse_once(st, b, n, 1); /* N(S) 22 again where 23 is due */
    ck_assert_int_eq(rec.n, 2);
    ck_assert(!event_has_anomaly(&rec.ev[0], "iec104.sequence_gap"));
    ck_assert(event_has_anomaly(&rec.ev[1], "iec104.sequence_gap"));
    b[2] = 0x2e; /* N(S) 23 */
    parse_once(st, b, n, 1);
    ck_assert(!event_has_anomaly(&rec.ev[2], "iec104.sequence_gap"));
    iec104_dissector.state_free(st);
}
END_TEST

START_TEST(test_bad_start_and_length)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[64] = {0x00, 0x11, 0x68, 0x02}; /* garbage, then start with length 2 */
    size_t n = 4 + hex_to_bytes(S_ACK, b + 4, sizeof(b) - 4);
    static struct tcp_buf s;
    s.len = 0;
    stream_push(&s, st, b, n, 1);
    /* 00 11: not a start; 68 02: length below 4, skip the start octet; 02: not a
     * start again; then the S-format APDU */
    ck_assert_int_eq(rec.n, 4);
    ck_assert(event_has_anomaly(&rec.ev[0], "iec104.bad_start"));
    ck_assert(event_has_anomaly(&rec.ev[1], "iec104.bad_length"));
    ck_assert(event_has_anomaly(&rec.ev[2], "iec104.bad_start"));
    ck_assert_str_eq(s_(3, "apci"), "S");
    iec104_dissector.state_free(st);
}
END_TEST

START_TEST(test_unknown_type)
{
    void *st = iec104_dissector.state_new();
    uint8_t b[32];
    size_t n = hex_to_bytes(C_SC_NA_1, b, sizeof(b));
    b[6] = 104; /* C_TS_NA_1: IEC 101 only */
    parse_once(st, b, n, 1);
    ck_assert_int_eq(rec.ev[0].code, 104);
    ck_assert_str_eq(rec.ev[0].op, "unknown_type");
    ck_assert(event_has_anomaly(&rec.ev[0], "iec104.unknown_type"));
    iec104_dissector.state_free(st);
}
END_TEST

/* Every truncation: the stream asks for more (returns 0) and emits nothing. */
START_TEST(test_truncation_every_length)
{
    const char *apdus[] = {U_TESTFR_ACT, S_ACK, C_SC_NA_1, C_SC_TA_1, M_ME_NC_1, C_CS_NA_1};
    for (size_t k = 0; k < sizeof(apdus) / sizeof(apdus[0]); k++) {
        uint8_t b[64];
        size_t n = hex_to_bytes(apdus[k], b, sizeof(b));
        for (size_t len = 0; len < n; len++) {
            recorder_init(&rec);
            void *st = iec104_dissector.state_new();
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, b, len);
            ck_assert_uint_eq(parse_once(st, copy, len, 1), 0);
            ck_assert_int_eq(rec.n, 0);
            free(copy);
            iec104_dissector.state_free(st);
        }
        /* and an APDU whose LEN claims fewer bytes than its ASDU needs */
        for (size_t cut = 6; cut < n; cut++) {
            recorder_init(&rec);
            void *st = iec104_dissector.state_new();
            uint8_t *copy = malloc(cut);
            memcpy(copy, b, cut);
            copy[1] = (uint8_t)(cut - 2);
            ck_assert_uint_eq(parse_once(st, copy, cut, 1), cut);
            ck_assert_int_eq(rec.n, 1);
            free(copy);
            iec104_dissector.state_free(st);
        }
    }
}
END_TEST

START_TEST(test_probe)
{
    uint8_t b[32];
    size_t n = hex_to_bytes(C_SC_NA_1, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    ck_assert_int_eq(iec104_dissector.probe(&c, 1), PROBE_YES);
    n = hex_to_bytes(U_TESTFR_ACT, b, sizeof(b));
    c = cursor_make(b, n);
    ck_assert_int_eq(iec104_dissector.probe(&c, 1), PROBE_YES);
    c = cursor_make(b, 1);
    ck_assert_int_eq(iec104_dissector.probe(&c, 1), PROBE_NEED_MORE);
    uint8_t tls[] = {0x16, 0x03, 0x01, 0x00};
    c = cursor_make(tls, sizeof(tls));
    ck_assert_int_eq(iec104_dissector.probe(&c, 1), PROBE_NO);
}
END_TEST

/* ---- golden counts from whole captures (tshark iec60870_asdu.typeid) ---- */

struct counts {
    int code[256];
    int s, u;
};

static void count_cb(void *ctx, struct event *e)
{
    struct counts *k = ctx;
    if (e->has_code && e->code >= 0 && e->code < 256) k->code[e->code]++;
    const struct ev_field *f = event_find(e, "apci");
    if (f && f->len == 1 && event_field_text(e, f)[0] == 'S') k->s++;
    if (f && f->len == 1 && event_field_text(e, f)[0] == 'U') k->u++;
}

/* Plays a capture into the dissector the way the engine does (testutil.c). */
static void run_pcap(const char *name, struct counts *k)
{
    static struct event_sink sink;
    event_sink_init(&sink, count_cb, k);
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), &iec104_dissector, &sink, 2404, 0), 0);
}

START_TEST(test_golden_diverse)
{
    static struct counts k;
    memset(&k, 0, sizeof(k));
    run_pcap("iec104-090813-diverse.pcap", &k);
    /* tshark: typeid 13 x14, 50 x10, 59 x10, 30 x8, 46 x6, 45 x5, 58 x5, 61 x5,
     * 63 x5, 100 x3, 1 x1; iec60870_104.type S x10, U x4 */
    static const int want[][2] = {{13, 14}, {50, 10}, {59, 10}, {30, 8},  {46, 6}, {45, 5},
                                  {58, 5},  {61, 5},  {63, 5},  {100, 3}, {1, 1}};
    int total = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_int_eq(k.code[want[i][0]], want[i][1]);
        total += want[i][1];
    }
    int ours = 0;
    for (int i = 0; i < 256; i++)
        ours += k.code[i];
    ck_assert_int_eq(ours, total);
    ck_assert_int_eq(k.s, 10);
    ck_assert_int_eq(k.u, 4);
}
END_TEST

START_TEST(test_golden_malformed_capture)
{
    static struct counts k;
    memset(&k, 0, sizeof(k));
    run_pcap("iec104-ndpi-malformed.pcap", &k);
    /* tshark: 45 x7, 100 x3, 103 x2, 24 x2, 26 x2, 46 x2, 70 x2, 1, 3, 30 x1 */
    ck_assert_int_eq(k.code[45], 7);
    ck_assert_int_eq(k.code[100], 3);
    ck_assert_int_eq(k.code[103], 2);
    ck_assert_int_eq(k.code[24], 2);
    ck_assert_int_eq(k.code[26], 2);
    ck_assert_int_eq(k.code[46], 2);
    ck_assert_int_eq(k.code[70], 2);
    ck_assert_int_eq(k.code[1], 1);
    ck_assert_int_eq(k.code[3], 1);
    ck_assert_int_eq(k.code[30], 1);
}
END_TEST

/* ---- ioa_sweep ---- */

static struct diss_params params;

/* Sends C_SC_NA_1 (single command, activation) to IOA ioa of CA 3, with N(S) ns. */
static void command(void *st, unsigned ns, uint32_t ioa, uint8_t cot)
{
    uint8_t b[16] = {0x68,
                     0x0e, /* start, length 14 */
                     (uint8_t)(ns << 1),
                     (uint8_t)(ns >> 7),
                     0,
                     0, /* I-format N(S), N(R) 0 */
                     45,
                     1,
                     cot,
                     0, /* C_SC_NA_1, 1 object */
                     3,
                     0, /* common address 3 */
                     (uint8_t)ioa,
                     (uint8_t)(ioa >> 8),
                     (uint8_t)(ioa >> 16), /* IOA */
                     0x01};                /* SCO: ON, execute */
    ck_assert_uint_eq(parse_once(st, b, sizeof(b), 1), sizeof(b));
}

static int sweeps(int *at)
{
    int k = 0;
    for (int i = 0; i < rec.n; i++)
        if (!strcmp(rec.ev[i].op, "ioa_sweep")) {
            k++;
            if (at) *at = i;
        }
    return k;
}

START_TEST(test_ioa_sweep)
{
    void *st = iec104_dissector.state_new();
    int at = -1;
    /* 9 distinct IOAs, each commanded twice (select-like repeats), 1 s apart: quiet
     * with the default N = 10 */
    unsigned ns = 0;
    for (uint32_t i = 0; i < 9; i++) {
        command(st, ns++, 1000 + i, 6);
        command(st, ns++, 1000 + i, 6);
        now_us += 1000000;
    }
    ck_assert_int_eq(sweeps(NULL), 0);
    /* confirmations (COT 7) from the client side count for nothing */
    command(st, ns++, 2000, 7);
    ck_assert_int_eq(sweeps(NULL), 0);
    /* the 10th distinct activation completes the sweep: one event after its APDU */
    command(st, ns++, 1009, 6);
    ck_assert_int_eq(sweeps(&at), 1);
    ck_assert_int_eq(at, rec.n - 1);
    ck_assert_str_eq(rec.ev[at - 1].op, "single_command");
    ck_assert(!rec.ev[at].has_code);
    ck_assert_int_eq(rec.ev[at].dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(u(at, "distinct_ioas"), 10);
    ck_assert_uint_eq(u(at, "ca"), 3);
    ck_assert_uint_eq(u(at, "ioa"), 1009);
    ck_assert_uint_eq(u(at, "window_ms"), 60000);
    ck_assert_uint_eq(u(at, "span_ms"), 9000); /* IOA 1000's last command, 9 s before */
    /* the sweep goes on (20 more IOAs): still the same episode */
    for (uint32_t i = 0; i < 20; i++) {
        now_us += 2000000;
        command(st, ns++, 3000 + i, 6);
    }
    ck_assert_int_eq(sweeps(NULL), 1);
    /* a window without commands ends it; a new sweep is a new event */
    now_us += 61000000;
    for (uint32_t i = 0; i < 10; i++)
        command(st, ns++, 4000 + i, 6);
    ck_assert_int_eq(sweeps(NULL), 2);
    iec104_dissector.state_free(st);
}
END_TEST

START_TEST(test_ioa_sweep_window)
{
    void *st = iec104_dissector.state_new();
    /* 10 IOAs, one every 7 s: the window (60 s) never holds 10 */
    for (uint32_t i = 0; i < 10; i++) {
        command(st, i, 500 + i, 6);
        now_us += 7000000;
    }
    ck_assert_int_eq(sweeps(NULL), 0);
    /* the same CA/IOA repeated is one point */
    void *st2 = iec104_dissector.state_new();
    for (unsigned i = 0; i < 40; i++)
        command(st2, i, 77, 6);
    ck_assert_int_eq(sweeps(NULL), 0);
    /* iec104.sweep_ioas = 0: off */
    diss_params_defaults(&params);
    params.iec104_sweep_ioas = 0;
    rec.sink.params = &params;
    void *st3 = iec104_dissector.state_new();
    for (uint32_t i = 0; i < 64; i++)
        command(st3, i, i, 6);
    ck_assert_int_eq(sweeps(NULL), 0);
    iec104_dissector.state_free(st);
    iec104_dissector.state_free(st2);
    iec104_dissector.state_free(st3);
}
END_TEST

static int sweep_events;
static int sweep_distinct;
static uint64_t sweep_span;

static void sweep_cb(void *ctx, struct event *e)
{
    (void)ctx;
    if (strcmp(e->op, "ioa_sweep") != 0) return;
    sweep_events++;
    sweep_distinct = (int)event_find(e, "distinct_ioas")->v.u;
    sweep_span = event_find(e, "span_ms")->v.u;
}

/* ICS-Security-Tools 090813_diverse.pcap: tshark shows command activations (type 45-64,
 * COT 6) to 7 distinct IOAs of CA 3, the last new one (4821) at 1250184373.582071; IOA
 * 4501's last activation is at 1250184233.851148, 139.73 s before. */
static void sweep_capture(uint32_t n, uint32_t window_ms)
{
    static struct event_sink sink;
    sweep_events = 0;
    event_sink_init(&sink, sweep_cb, NULL);
    diss_params_defaults(&params);
    params.iec104_sweep_ioas = n;
    params.iec104_sweep_window_ms = window_ms;
    sink.params = &params;
    ck_assert_int_gt(pcap_feed_file(test_data_path("iec104-090813-diverse.pcap"), &iec104_dissector,
                                    &sink, 2404, 0),
                     0);
}

START_TEST(test_ioa_sweep_capture)
{
    sweep_capture(10, 60000); /* the defaults: an operator's session, no sweep */
    ck_assert_int_eq(sweep_events, 0);
    sweep_capture(7, 140000);
    ck_assert_int_eq(sweep_events, 1);
    ck_assert_int_eq(sweep_distinct, 7);
    ck_assert_uint_eq(sweep_span, 139730);
    sweep_capture(7, 139000); /* 4501 has left the window */
    ck_assert_int_eq(sweep_events, 0);
    sweep_capture(8, 600000);
    ck_assert_int_eq(sweep_events, 0);
}
END_TEST

static Suite *iec104_suite(void)
{
    Suite *s = suite_create("iec104");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_u_format);
    tcase_add_test(tc, test_s_format);
    tcase_add_test(tc, test_single_command);
    tcase_add_test(tc, test_time_tagged_command_and_clock_sync);
    tcase_add_test(tc, test_monitor_values);
    tcase_add_test(tc, test_several_apdus_per_segment);
    tcase_add_test(tc, test_apdu_split_everywhere);
    tcase_add_test(tc, test_sequence_gap);
    tcase_add_test(tc, test_bad_start_and_length);
    tcase_add_test(tc, test_unknown_type);
    tcase_add_test(tc, test_truncation_every_length);
    tcase_add_test(tc, test_probe);
    tcase_add_test(tc, test_golden_diverse);
    tcase_add_test(tc, test_golden_malformed_capture);
    tcase_add_test(tc, test_ioa_sweep);
    tcase_add_test(tc, test_ioa_sweep_window);
    tcase_add_test(tc, test_ioa_sweep_capture);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(iec104_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
