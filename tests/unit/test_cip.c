/* test_cip.c - CIP messages on their own: request paths, tag services, nesting and
 * request/response pairing. The corpus has no Logix tag reads by name, no Reset and
 * no file object traffic, so those messages are built from the specifications (CIP
 * Vol. 1 appendix C for paths; Rockwell 1756-PM020 for tag services); the rest
 * reuse corpus bytes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cip.h"
#include "testutil.h"

static struct recorder rec;
static struct cip_state st;

static void setup(void)
{
    recorder_init(&rec);
    memset(&st, 0, sizeof(st));
}

/* One CIP message; key = the pairing key (sequence count). */
static void cip_bytes(const uint8_t *buf, size_t n, uint16_t key, uint64_t ts)
{
    struct cursor c = cursor_make(buf, n);
    struct cip_msg_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.ts_us = ts;
    ctx.key_kind = CIP_KEY_SEQ;
    ctx.key[0] = (uint8_t)key;
    ctx.key[1] = (uint8_t)(key >> 8);
    ctx.has_seq = 1;
    ctx.seq = key;
    cip_parse(&st, &c, &ctx, &rec.sink);
}

/* The same, given as hex. */
static void cip_hex(const char *hex, uint16_t key, uint64_t ts)
{
    static uint8_t buf[1024];
    cip_bytes(buf, hex_to_bytes(hex, buf, sizeof(buf)), key, ts);
}

static const struct ev_field *fld(int i, const char *path)
{
    ck_assert_int_lt(i, rec.n);
    const struct ev_field *f = event_find(&rec.ev[i], path);
    ck_assert_msg(f != NULL, "event %d: missing %s", i, path);
    return f;
}

static uint64_t u(int i, const char *path)
{
    return fld(i, path)->v.u;
}

static void str_is(int i, const char *path, const char *want)
{
    const struct ev_field *f = fld(i, path);
    ck_assert_msg(f->len == strlen(want) &&
                      memcmp(event_field_text(&rec.ev[i], f), want, f->len) == 0,
                  "%s: got %.*s", path, (int)f->len, event_field_text(&rec.ev[i], f));
}

START_TEST(logical_segment_formats)
{
    cip_hex("0e" /* Get_Attribute_Single */
            "06" /* path: 6 words */
            "21"
            "00"
            "3412" /* 16-bit class 0x1234 (pad byte) */
            "26"
            "00"
            "78563412" /* 32-bit instance 0x12345678 (pad byte) */
            "30"
            "07", /* 8-bit attribute 7 */
            1, 0);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 0x0e);
    ck_assert_str_eq(rec.ev[0].op, "get_attribute_single");
    ck_assert_uint_eq(u(0, "class"), 0x1234);
    ck_assert_uint_eq(u(0, "instance"), 0x12345678);
    ck_assert_uint_eq(u(0, "attribute"), 7);
    ck_assert_int_eq(rec.ev[0].nanom, 0);
    /* its reply: the attribute value, and what it answers */
    cip_hex("8e"
            "00"
            "00"
            "00"
            "2a00",
            1, 1500);
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(u(1, "class"), 0x1234);
    ck_assert_uint_eq(u(1, "attribute"), 7);
    ck_assert_uint_eq(u(1, "latency_us"), 1500);
    ck_assert_uint_eq(u(1, "data_len"), 2);
}
END_TEST

START_TEST(read_tag_symbolic)
{
    cip_hex("4c" /* Read Tag */
            "0c" /* path: 12 words */
            "91"
            "0c"
            "50726f6772616d3a4d61696e" /* ANSI symbol "Program:Main" */
            "91"
            "06"
            "436f756e7473" /* ANSI symbol "Counts" */
            "28"
            "03"    /* member (element) 3 */
            "0100", /* 1 element */
            7, 100);
    ck_assert_int_eq(rec.ev[0].code, 0x4c);
    ck_assert_str_eq(rec.ev[0].op, "logix_read_tag");
    str_is(0, "service_name", "read_tag");
    str_is(0, "tag", "Program:Main.Counts[3]");
    ck_assert_uint_eq(u(0, "elements"), 1);
    cip_hex("cc"
            "00"
            "00"
            "00"        /* Read Tag reply, success */
            "c400"      /* DINT */
            "2a000000", /* 42 */
            7, 200);
    ck_assert_str_eq(rec.ev[1].op, "logix_read_tag");
    str_is(1, "tag", "Program:Main.Counts[3]");
    str_is(1, "data_type_name", "DINT");
    ck_assert_int_eq(fld(1, "value")->v.i, 42);
}
END_TEST

START_TEST(write_tag_symbolic)
{
    cip_hex("4d" /* Write Tag */
            "03"
            "91"
            "03"
            "546167"
            "00"        /* "Tag", padded */
            "ca00"      /* REAL */
            "0100"      /* 1 element */
            "0000c03f", /* 1.5 */
            9, 0);
    ck_assert_int_eq(rec.ev[0].code, 0x4d);
    ck_assert_str_eq(rec.ev[0].op, "logix_write_tag");
    str_is(0, "tag", "Tag");
    ck_assert(fld(0, "value")->v.d == 1.5);
    ck_assert_int_eq(rec.ev[0].nanom, 0);
}
END_TEST

START_TEST(reset_start_file)
{
    cip_hex("05"
            "02"
            "2001"
            "2401"
            "01",
            1, 0); /* Reset Identity/1, type 1 (factory) */
    ck_assert_str_eq(rec.ev[0].op, "reset");
    ck_assert_uint_eq(u(0, "reset_type"), 1);
    cip_hex("06"
            "02"
            "208e"
            "2401",
            2, 0); /* Start */
    ck_assert_str_eq(rec.ev[1].op, "start");
    cip_hex("4b"
            "02"
            "2037"
            "2401"
            "f0",
            3, 0); /* File object: Initiate Upload, 240 bytes */
    ck_assert_str_eq(rec.ev[2].op, "file_object_transfer");
    str_is(2, "service_name", "initiate_upload");
    ck_assert_uint_eq(u(2, "max_transfer"), 0xf0);
    cip_hex("4b"
            "02"
            "2067"
            "2401"
            "07"
            "0100"
            "78563412"
            "0f"
            "00"
            "3412"
            "a2",
            4, 0);
    ck_assert_str_eq(rec.ev[3].op, "pccc_execute"); /* PCCC: cmd 0x0f, fnc 0xa2 */
    ck_assert_uint_eq(u(3, "pccc.cmd"), 0x0f);
    ck_assert_uint_eq(u(3, "pccc.fnc"), 0xa2);
}
END_TEST

/* nDPI ethernetIP.pcap frame 37: a Multiple Service Packet of Read-Modify-Write tags */
START_TEST(msp_pairing)
{
    cip_hex("0a022002240104000a00280046006a00"
            "4e0c91164c4d535f44495341424c455f32445343414e4e455231010001ff"
            "4e0c91164c4d535f44495341424c455f32445343414e4e455232010001ff"
            "4e0f911b4c4d535f44495341424c455f424152434f44455f5343414e4e455200010000fe"
            "4e0f911b4c4d535f534554504f494e544348414e47455f524543454956454400010000fe",
            0xec71, 10);
    ck_assert_int_eq(rec.n, 5);
    str_is(3, "tag", "LMS_DISABLE_BARCODE_SCANNER");
    str_is(1, "or_mask", "\x01");
    /* frame 38: the reply; inner replies learn their tags from the request */
    cip_hex("8a00000004000a000e0012001600ce000000ce000000ce000000ce000000", 0xec71, 20);
    ck_assert_int_eq(rec.n, 10);
    ck_assert_int_eq(rec.ev[5].code, 0x0a);
    ck_assert_uint_eq(u(5, "latency_us"), 10);
    for (int i = 6; i < 10; i++) {
        ck_assert_int_eq(rec.ev[i].code, 0x4e);
        ck_assert_str_eq(rec.ev[i].op, "logix_write_tag");
    }
    str_is(9, "tag", "LMS_SETPOINTCHANGE_RECEIVED");
    /* a second reply with the same key finds nothing left to pair with */
    cip_hex("8a00000004000a000e0012001600ce000000ce000000ce000000ce000000", 0xec71, 30);
    ck_assert(event_find(&rec.ev[10], "latency_us") == NULL);
    ck_assert(event_find(&rec.ev[11], "tag") == NULL);
}
END_TEST

START_TEST(bad_input)
{
    cip_hex("0e"
            "02"
            "e0"
            "01"
            "2401",
            1, 0); /* reserved segment type */
    ck_assert(event_has_anomaly(&rec.ev[0], "cip.bad_path"));
    cip_hex("0e"
            "05"
            "2001",
            2, 0); /* path longer than the message */
    ck_assert(event_has_anomaly(&rec.ev[1], "cip.truncated"));
    recorder_init(&rec);
    cip_hex("0a"
            "02"
            "2002"
            "2401"
            "0200"
            "0600"
            "ff00"
            "0e022001240130",
            3, 0); /* offset past end */
    ck_assert_int_eq(rec.n, 3);
    ck_assert_int_eq(rec.ev[1].code, 0x0e); /* the first service is still told */
    ck_assert(event_has_anomaly(&rec.ev[2], "cip.bad_msp"));
    /* Unconnected Sends nested past the limit */
    recorder_init(&rec);
    static const char inner[] = "0e022001240101";
    char msg[1024] = "";
    size_t len = strlen(inner) / 2;
    char tmp[1100];
    strcpy(msg, inner);
    for (int i = 0; i < 5; i++) {
        snprintf(tmp, sizeof(tmp),
                 "5202200624010af9%02x00%s%s0100"
                 "0100",
                 (unsigned)len, msg, (len & 1) ? "00" : "");
        len = strlen(tmp) / 2;
        strcpy(msg, tmp);
    }
    cip_hex(msg, 4, 0);
    ck_assert_int_eq(rec.n, 4); /* stops at the depth limit */
    ck_assert(event_has_anomaly(&rec.ev[3], "cip.too_deep"));
    /* without pairing state (enip.c could not allocate it): parsed, not paired */
    recorder_init(&rec);
    uint8_t q[] = {0x0e, 0x02, 0x20, 0x01, 0x24, 0x01}, r[] = {0x8e, 0, 0, 0};
    struct cip_msg_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.key_kind = CIP_KEY_SEQ;
    struct cursor qc = cursor_make(q, sizeof(q)), rc = cursor_make(r, sizeof(r));
    cip_parse(NULL, &qc, &ctx, &rec.sink);
    cip_parse(NULL, &rc, &ctx, &rec.sink);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_find(&rec.ev[1], "class") == NULL);
    recorder_init(&rec);
    cip_hex("", 5, 0);
    ck_assert(event_has_anomaly(&rec.ev[0], "cip.truncated"));
}
END_TEST

static int big_n, big_flagged;

static void big_count(void *ctx, struct event *e)
{
    (void)ctx;
    big_n++;
    big_flagged += event_has_anomaly(e, "cip.too_many_services");
}

START_TEST(msp_event_cap)
{
    /* 600 two-byte services (Get_Attribute_Single, empty path): a cheap way to ask
     * for thousands of events; the packet, 512 services and one anomaly are told */
    enum { N = 600 };
    static uint8_t b[6 + 2 + 2 * N + 2 * N];
    size_t at = 0;
    memcpy(b, "\x0a\x02\x20\x02\x24\x01", 6);
    at = 6;
    b[at++] = N & 0xFF;
    b[at++] = N >> 8;
    for (unsigned i = 0; i < N; i++) {
        unsigned off = 2 + 2 * N + 2 * i;
        b[at++] = (uint8_t)off;
        b[at++] = (uint8_t)(off >> 8);
    }
    for (unsigned i = 0; i < N; i++) {
        b[at++] = 0x0e;
        b[at++] = 0x00;
    }
    struct event_sink s;
    event_sink_init(&s, big_count, NULL);
    struct cip_msg_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    struct cursor c = cursor_make(b, at);
    cip_parse(&st, &c, &ctx, &s);
    ck_assert_int_eq(big_n, 1 + 512 + 1);
    ck_assert_int_eq(big_flagged, 1);
}
END_TEST

/* A Multiple Service Packet of n services: header, offsets, then each child's bytes. */
static size_t msp_build(uint8_t *b, int response, unsigned n, const uint8_t *const *kid,
                        const size_t *klen)
{
    size_t at = 0;
    if (response) {
        memcpy(b, "\x8a\x00\x00\x00", 4);
        at = 4;
    } else {
        memcpy(b, "\x0a\x02\x20\x02\x24\x01", 6);
        at = 6;
    }
    b[at++] = (uint8_t)n;
    b[at++] = (uint8_t)(n >> 8);
    size_t off = 2 + 2 * (size_t)n;
    for (unsigned i = 0; i < n; i++) {
        b[at++] = (uint8_t)off;
        b[at++] = (uint8_t)(off >> 8);
        off += klen[i];
    }
    for (unsigned i = 0; i < n; i++) {
        memcpy(b + at, kid[i], klen[i]);
        at += klen[i];
    }
    return at;
}

static void msp_send(int response, unsigned n, const uint8_t *const *kid, const size_t *klen,
                     uint16_t key, uint64_t ts)
{
    static uint8_t b[4096];
    cip_bytes(b, msp_build(b, response, n, kid, klen), key, ts);
}

/* Fills the stack below this frame with byte v, where the next call's locals will be:
 * memory a parser forgot to initialise then reads as v, not as whatever ran last. */
static __attribute__((noinline)) void paint_stack(uint8_t v)
{
    volatile uint8_t pad[16384];
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = v;
}

/* An embedded service that says no request (here a reply byte inside a request packet)
 * leaves no remembered request behind it. Its reply used to pair with whatever the
 * stack held there: painted 0x70, that is a request of service 0x70 with a "tag" of
 * 112 bytes read from a 40-byte field, past the end of the remembered requests for the
 * 31st service (the stack-buffer-overflow the fuzzer found on 2026-11-29). */
START_TEST(msp_unparsed_child_pairs_with_nothing)
{
    enum { N = 32, K = 30, P = 0x70 };
    static const uint8_t get[] = {0x0e, 0x01, 0x20, 0x01}; /* Get_Attribute_Single, class 1 */
    static const uint8_t reply_byte[] = {0x80 | P};
    static const uint8_t get_reply[] = {0x8e, 0x00, 0x00, 0x00};
    static const uint8_t p_reply[] = {0x80 | P, 0x00, 0x00, 0x00};
    const uint8_t *kid[N];
    size_t klen[N];
    for (int i = 0; i < N; i++) {
        kid[i] = get;
        klen[i] = sizeof(get);
    }
    kid[K] = reply_byte;
    klen[K] = sizeof(reply_byte);
    paint_stack(P);
    msp_send(0, N, kid, klen, 2, 20); /* nothing at K, a service after it */
    for (int i = 0; i < N; i++) {
        kid[i] = get_reply;
        klen[i] = sizeof(get_reply);
    }
    kid[K] = p_reply;
    klen[K] = sizeof(p_reply);
    int before = rec.n;
    msp_send(1, N, kid, klen, 2, 30);
    ck_assert_int_eq(rec.n - before, 1 + N);
    int seen = 0;
    for (int i = before; i < rec.n; i++) {
        const struct ev_field *ix = event_find(&rec.ev[i], "index");
        if (!ix || ix->v.u != K) continue;
        seen = 1;
        ck_assert_msg(event_find(&rec.ev[i], "tag") == NULL, "reply %d took a stale tag", K);
        ck_assert(event_find(&rec.ev[i], "class") == NULL);
        /* the service after it is paired (class 1 from its request) */
        ck_assert_uint_eq(u(i + 1, "class"), 1);
    }
    ck_assert(seen);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(cip_service_name(0x54, 1, 6, 0), "forward_open");
    ck_assert_str_eq(cip_service_name(0xd4, 1, 6, 0), "forward_open");
    ck_assert_str_eq(cip_service_name(0x52, 0, 0, 1), "read_tag_fragmented");
    ck_assert_str_eq(cip_service_name(0x4c, 1, 0x72, 0), "object_specific");
    ck_assert_str_eq(cip_status_name(0x0f), "privilege_violation");
}
END_TEST

static Suite *cip_suite(void)
{
    Suite *s = suite_create("cip");
    TCase *tc = tcase_create("msg");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, logical_segment_formats);
    tcase_add_test(tc, read_tag_symbolic);
    tcase_add_test(tc, write_tag_symbolic);
    tcase_add_test(tc, reset_start_file);
    tcase_add_test(tc, msp_pairing);
    tcase_add_test(tc, msp_unparsed_child_pairs_with_nothing);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, msp_event_cap);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cip_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
