/* test_hart_ip.c - the HART-IP dissector on real messages.
 *
 * Byte strings are UDP/TCP payloads from captures of cisagov/icsnpp-hart-ip
 * (see tests/data/corpus/MANIFEST.md, BSD-3-Clause), extracted with
 * `tshark -T fields -e udp.payload` / `-e tcp.payload`; the field values in
 * the comments are tshark 4.0's decode of the same frames. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector hart_ip_dissector;
static const struct dissector *const D = &hart_ip_dissector;

static struct recorder rec;
static void *st;

/* hart-ip.pcap frame 1: v1, request, session initiate, status 0, seq 2,
 * length 13, host type primary (1), inactivity close timer 30000 */
#define H_INIT "010000000002000d0100007530"
/* frame 3: request, pass through (3), seq 3, length 17: STX, long address
 * 264e0000d2, command 0, length 0, checksum 0x38 */
#define H_CMD0_REQ "010003000003001182264e0000d2000038"
/* frame 4: response, seq 3, length 41: ACK, long address 264e0000d2,
 * command 0, length 24, response code 0, device status 0xd0, checksum 0xe4 */
#define H_CMD0_RESP                                                                                \
    "010103000003002986264e0000d2001800d0fe264e050704010e0c0000d205020002d00026002684e4"
/* frame 23: keep alive request, seq 12, length 8 */
#define H_KEEPALIVE "01000200000c0008"
/* frame 25: session close request, seq 13 */
#define H_CLOSE "01000100000d0008"
/* hart-ip_all_messageIDs.pcapng frame 12: discovery (id 4, not decoded by
 * tshark 4.0), length 14 */
#define H_DISCOVERY "010004000004000e000000360100"

static void feed_t(const char *hex, int transport)
{
    static uint8_t b[2048];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {1, transport, 0, 1};
    size_t used = D->parse(st, &c, &info, &rec.sink);
    if (transport == DISS_TCP) ck_assert_uint_eq(used, n);
}

static void feed(const char *hex)
{
    feed_t(hex, DISS_UDP);
}

static const struct event *ev(int i)
{
    ck_assert_int_gt(rec.n, i);
    return &rec.ev[i];
}

static void check_code(const struct event *e, int code, const char *op, int dir)
{
    ck_assert(e->has_code);
    ck_assert_int_eq(e->code, code);
    ck_assert_str_eq(e->op, op);
    ck_assert_int_eq(e->dir, dir);
    ck_assert_int_eq(e->nanom, 0);
}

static void setup(void)
{
    recorder_init(&rec);
    st = D->state_new();
}

static void teardown(void)
{
    D->state_free(st);
}

START_TEST(test_row_and_probe)
{
    ck_assert_int_eq(D->id, DISS_HART_IP);
    ck_assert_str_eq(D->name, "hart_ip");
    ck_assert_int_eq(D->transports, DISS_TCP | DISS_UDP);
    ck_assert_int_eq(D->ports[0], 5094);
    ck_assert(dissector_by_name("hart_ip") == D);
    uint8_t b[64];
    size_t n = hex_to_bytes(H_CMD0_RESP, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    ck_assert_int_eq(D->probe(&c, 0), PROBE_YES);
    c = cursor_make(b, 3);
    ck_assert_int_eq(D->probe(&c, 0), PROBE_NEED_MORE);
    b[0] = 3; /* version 3 */
    c = cursor_make(b, n);
    ck_assert_int_eq(D->probe(&c, 0), PROBE_NO);
}
END_TEST

START_TEST(test_session_initiate)
{
    feed(H_INIT);
    const struct event *e = ev(0);
    check_code(e, 0, "session_initiate", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "version"), 1);
    ck_assert_uint_eq(ev_u(e, "message_type"), 0);
    ck_assert_uint_eq(ev_u(e, "sequence"), 2);
    ck_assert_uint_eq(ev_u(e, "byte_count"), 13);
    ck_assert_uint_eq(ev_u(e, "master_type"), 1);
    ck_assert_uint_eq(ev_u(e, "inactivity_close_ms"), 30000);
}
END_TEST

START_TEST(test_pass_through)
{
    feed(H_CMD0_REQ);
    feed(H_CMD0_RESP);
    const struct event *e = ev(0);
    check_code(e, 3, "token_passing_pdu", EV_DIR_REQUEST);
    ev_s(e, "pdu.frame_type", "stx");
    ev_s(e, "pdu.address_type", "long");
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"address\":\"264e0000d2\""));
    ck_assert_uint_eq(ev_u(e, "pdu.expanded_device_type"), 0x264e);
    ck_assert_uint_eq(ev_u(e, "pdu.device_id"), 0xd2);
    ck_assert_uint_eq(ev_u(e, "pdu.command"), 0);
    ev_s(e, "pdu.command_name", "read_unique_identifier");
    ck_assert_uint_eq(ev_u(e, "pdu.byte_count"), 0);
    ck_assert_ptr_null(event_find(e, "pdu.checksum_ok")); /* 0x38 verified */
    e = ev(1);
    check_code(e, 3, "token_passing_pdu", EV_DIR_RESPONSE);
    ev_s(e, "pdu.frame_type", "ack");
    ck_assert_uint_eq(ev_u(e, "pdu.byte_count"), 24);
    ck_assert_uint_eq(ev_u(e, "pdu.response_code"), 0);
    ck_assert_uint_eq(ev_u(e, "pdu.device_status"), 0xd0);
    ck_assert_uint_eq(ev_u(e, "pdu.data_len"), 22);
}
END_TEST

/* Frame 3's header with a short-frame PDU (HCF_SPEC-081 token-passing
 * layout): delimiter 0x02 (STX, short address), address 0x80 (primary
 * master, polling address 0), command 0, byte count 0, checksum 0x82 (XOR). */
START_TEST(test_short_frame)
{
    feed("010003000003000d"
         "0280000082");
    const struct event *e = ev(0);
    check_code(e, 3, "token_passing_pdu", EV_DIR_REQUEST);
    ev_s(e, "pdu.address_type", "short");
    ck_assert_uint_eq(ev_u(e, "pdu.polling_address"), 0);
    ck_assert_uint_eq(ev_u(e, "pdu.command"), 0);
    /* the same with expanded command 31 carrying 0x0400 (1024) and a write
     * command number 6 as a plain request: writes flagged */
    feed("010003000004000f"
         "02801f0204009b");
    ck_assert_uint_eq(ev_u(ev(1), "pdu.command"), 1024);
    ck_assert_uint_eq(ev_u(ev(1), "pdu.expanded"), 1);
    feed("010003000005000e"
         "0280060100"
         "85");
    ck_assert_uint_eq(ev_u(ev(2), "pdu.command"), 6);
    ck_assert_uint_eq(ev_u(ev(2), "pdu.writes"), 1);
    ck_assert_int_eq(ev(1)->nanom + ev(2)->nanom, 0);
}
END_TEST

START_TEST(test_bad_checksum)
{
    feed("010003000003001182264e0000d2000039"); /* frame 3, checksum + 1 */
    ck_assert(event_has_anomaly(ev(0), "hart_ip.bad_checksum"));
}
END_TEST

/* Keep alive, close and discovery, the three back to back in one TCP segment. */
START_TEST(test_several_per_segment)
{
    feed_t(H_KEEPALIVE H_CLOSE H_DISCOVERY, DISS_TCP);
    ck_assert_int_eq(rec.n, 3);
    check_code(ev(0), 2, "keep_alive", EV_DIR_REQUEST);
    check_code(ev(1), 1, "session_close", EV_DIR_REQUEST);
    /* id 4: named, code null (tshark 4.0 has no decode for it) */
    ck_assert(!ev(2)->has_code);
    ck_assert_str_eq(ev(2)->op, "discovery");
    ck_assert_uint_eq(ev_u(ev(2), "message_id"), 4);
}
END_TEST

START_TEST(test_tcp_split_and_resync)
{
    uint8_t b[64];
    size_t n = hex_to_bytes(H_CMD0_RESP, b, sizeof(b));
    struct pdu_info info = {0, DISS_TCP, 0, 1};
    struct cursor c = cursor_make(b, 20);
    ck_assert_uint_eq(D->parse(st, &c, &info, &rec.sink), 0); /* waits */
    c = cursor_make(b, n);
    ck_assert_uint_eq(D->parse(st, &c, &info, &rec.sink), n);
    ck_assert_int_eq(rec.n, 1);
    /* three junk bytes, then a keep alive: one malformed event, then it */
    feed_t("ffffff" H_KEEPALIVE, DISS_TCP);
    ck_assert_int_eq(rec.n, 3);
    ck_assert(event_has_anomaly(ev(1), "hart_ip.resync"));
    check_code(ev(2), 2, "keep_alive", EV_DIR_REQUEST);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
    static const char *const msgs[] = {H_INIT, H_CMD0_REQ, H_CMD0_RESP, H_KEEPALIVE, H_DISCOVERY};
    for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
        uint8_t b[128];
        size_t n = hex_to_bytes(msgs[m], b, sizeof(b));
        for (size_t k = 0; k < n; k++) {
            uint8_t *p = malloc(k ? k : 1);
            memcpy(p, b, k);
            recorder_init(&rec);
            /* TCP: an incomplete message waits */
            struct cursor c = cursor_make(p, k);
            struct pdu_info info = {1, DISS_TCP, 0, 1};
            ck_assert_uint_eq(D->parse(st, &c, &info, &rec.sink), 0);
            ck_assert_int_eq(rec.n, 0);
            /* UDP: a short datagram gives one event, flagged */
            c = cursor_make(p, k);
            info.transport = DISS_UDP;
            D->parse(st, &c, &info, &rec.sink);
            if (k >= 8) {
                ck_assert_int_eq(rec.n, 1);
                ck_assert(event_has_anomaly(&rec.ev[0], "hart_ip.truncated"));
            }
            free(p);
        }
    }
}
END_TEST

static Suite *hip_suite(void)
{
    Suite *s = suite_create("hart_ip");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_row_and_probe);
    tcase_add_test(t, test_session_initiate);
    tcase_add_test(t, test_pass_through);
    tcase_add_test(t, test_short_frame);
    tcase_add_test(t, test_bad_checksum);
    tcase_add_test(t, test_several_per_segment);
    tcase_add_test(t, test_tcp_split_and_resync);
    tcase_add_test(t, test_truncated_everywhere);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(hip_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
