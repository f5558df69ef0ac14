/* test_fins.c - the Omron FINS dissector on real frames.
 *
 * Byte strings are UDP/TCP payloads from captures of cisagov/icsnpp-omron-fins
 * (omron.pcap in the corpus; omron_fins_tcp_commands_responses.pcap in
 * tests/data, see SOURCES.md), extracted with `tshark -T fields -e
 * udp.payload` / `-e tcp.payload`; field values in the comments are tshark
 * 4.0's decode of the same frames. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector fins_dissector;
static const struct dissector *const D = &fins_dissector;

static struct recorder rec;
static void *st;

/* omron.pcap frame 1: ICF 0x80 (gateway, command, response required), RSV 0,
 * GCT 2, DNA/DA1/DA2 0/0/0, SNA/SA1/SA2 0/0/0, SID 0x7a, Memory Area Read
 * (0x0101): area 0x00, address 0xcccc, bit 0xcc, 1 item */
#define U_READ "8000020000000000007a010100cccccc0001"
/* frame 20: Memory Area Write (0x0102): area 0x00, address 0xcccc, bit 0xcc,
 * 1 item, data 414243444546 */
#define U_WRITE "8000020000000000007a010200cccccc0001414243444546"

/* omron_fins_tcp_commands_responses.pcap: FINS/TCP header "FINS", length,
 * command 2 (FINS frame send), error code 0, then the FINS frame */
/* frame 4: Run (0x0401), SID 0x7a, program number 0x0000, mode 0x01 */
#define T_RUN "46494e530000001700000002000000008000020000000000007a0401000001"
/* frame 5: response (ICF 0xc1), Run, end code 0x0000 */
#define T_RUN_RESP "46494e53000000160000000200000000c100020000000000007a04010000"
/* frame 6: Stop (0x0402), no data */
#define T_STOP "46494e530000001400000002000000008000020000000000007a0402"
/* frame 8: Controller Data Read (0x0501), DA1 0xc8, SA2 0xef, SID 5, data 00 */
#define T_CDR "46494e5300000015000000020000000080000200c8000000ef05050100"
/* frame 9: response, SID 0x7a, end code 0, model "AAAA..." (20 bytes),
 * version "BBBB..." (20 bytes), then 52 more bytes */
#define T_CDR_RESP                                                                                 \
    "46494e53000000720000000200000000c100020000000000007a050100004141414141414141414141414141"     \
    "4141414141414242424242424242424242424242424242424242434343434343434343434343434343434343"     \
    "43434343434343434343434343434343434343434343000101000201020002000004"
/* frame 18: Clock Write (0x0702): 09 01 20 01 02 01 03 */
#define T_CLOCK_WRITE "46494e530000001b00000002000000008000020000000000007a070209012001020103"

static size_t feed_t(const char *hex, int transport, int to_server)
{
    static uint8_t b[2048];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {to_server, transport, 0, 1000u * (uint64_t)(rec.n + 1)};
    rec.sink.net.ts_us = info.ts_us;
    return D->parse(st, &c, &info, &rec.sink);
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
    ck_assert_str_eq(e->proto, "fins");
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

static enum probe_result probe_hex(const char *hex)
{
    uint8_t b[128];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    return D->probe(&c, 1);
}

START_TEST(test_row_and_probe)
{
    ck_assert_int_eq(D->id, DISS_FINS);
    ck_assert_str_eq(D->name, "fins");
    ck_assert_int_eq(D->transports, DISS_TCP | DISS_UDP);
    ck_assert_int_eq(D->ports[0], 9600);
    ck_assert(dissector_by_name("fins") == D);
    ck_assert_int_eq(probe_hex(T_RUN), PROBE_YES);
    ck_assert_int_eq(probe_hex("46494e"), PROBE_NEED_MORE);
    ck_assert_int_eq(probe_hex(U_READ), PROBE_YES);
    ck_assert_int_eq(probe_hex("474554202f20485454502f312e310d0a"), PROBE_NO); /* GET / HTTP/1.1 */
}
END_TEST

START_TEST(test_udp_read_write)
{
    feed_t(U_READ, DISS_UDP, 1);
    feed_t(U_WRITE, DISS_UDP, 1);
    const struct event *e = ev(0);
    check_code(e, 0x0101, "memory_area_read", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "icf"), 0x80);
    ck_assert_uint_eq(ev_u(e, "response_required"), 1);
    ck_assert_uint_eq(ev_u(e, "gct"), 2);
    ck_assert_uint_eq(ev_u(e, "dst.node"), 0);
    ck_assert_uint_eq(ev_u(e, "sid"), 0x7a);
    ck_assert_uint_eq(ev_u(e, "area"), 0);
    ck_assert_uint_eq(ev_u(e, "address"), 0xcccc);
    ck_assert_uint_eq(ev_u(e, "bit"), 0xcc);
    ck_assert_uint_eq(ev_u(e, "count"), 1);
    ck_assert_int_eq(e->nanom, 0);
    e = ev(1);
    check_code(e, 0x0102, "memory_area_write", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "data_len"), 6);
    ck_assert_ptr_nonnull(strstr(rec.json[1], "\"data\":\"414243444546\""));
}
END_TEST

START_TEST(test_tcp_run_stop)
{
    ck_assert_uint_eq(feed_t(T_RUN, DISS_TCP, 1), 31);
    ck_assert_uint_eq(feed_t(T_RUN_RESP, DISS_TCP, 0), 30);
    feed_t(T_STOP, DISS_TCP, 1);
    const struct event *e = ev(0);
    check_code(e, 0x0401, "run", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "tcp.command"), 2);
    ck_assert_uint_eq(ev_u(e, "tcp.error_code"), 0);
    ck_assert_uint_eq(ev_u(e, "program_number"), 0);
    ck_assert_uint_eq(ev_u(e, "mode"), 1);
    e = ev(1);
    check_code(e, 0x0401, "run", EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "icf"), 0xc1);
    ck_assert_uint_eq(ev_u(e, "end_code"), 0);
    ck_assert_uint_eq(ev_u(e, "latency_us"), 1000);
    ck_assert_int_eq(e->nanom, 0);
    check_code(ev(2), 0x0402, "stop", EV_DIR_REQUEST);
}
END_TEST

START_TEST(test_controller_data_read)
{
    feed_t(T_CDR, DISS_TCP, 1);
    feed_t(T_CDR_RESP, DISS_TCP, 0);
    check_code(ev(0), 0x0501, "controller_data_read", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(ev(0), "dst.node"), 0xc8);
    ck_assert_uint_eq(ev_u(ev(0), "src.unit"), 0xef);
    ck_assert_uint_eq(ev_u(ev(0), "data_kind"), 0);
    const struct event *e = ev(1);
    check_code(e, 0x0501, "controller_data_read", EV_DIR_RESPONSE);
    ev_s(e, "controller_model", "AAAAAAAAAAAAAAAAAAAA");
    ev_s(e, "controller_version", "BBBBBBBBBBBBBBBBBBBB");
    /* request SID 5, response SID 0x7a: paired by command, flagged */
    ck_assert_uint_eq(ev_u(e, "sid_mismatch"), 1);
    ck_assert(!event_has_anomaly(e, "fins.unmatched_response"));
}
END_TEST

START_TEST(test_two_frames_one_segment_and_split)
{
    ck_assert_uint_eq(feed_t(T_STOP T_CLOCK_WRITE, DISS_TCP, 1), 28 + 35);
    ck_assert_int_eq(rec.n, 2);
    check_code(ev(1), 0x0702, "clock_write", EV_DIR_REQUEST);
    /* the first 20 bytes of a frame: wait */
    uint8_t b[64];
    size_t n = hex_to_bytes(T_RUN, b, sizeof(b));
    struct cursor c = cursor_make(b, 20);
    struct pdu_info info = {1, DISS_TCP, 0, 1};
    ck_assert_uint_eq(D->parse(st, &c, &info, &rec.sink), 0);
    c = cursor_make(b, n);
    ck_assert_uint_eq(D->parse(st, &c, &info, &rec.sink), n);
    check_code(ev(2), 0x0401, "run", EV_DIR_REQUEST);
}
END_TEST

START_TEST(test_node_address_exchange)
{
    /* W421 §7: client node address data send, client node 0 (auto) */
    feed_t("46494e530000000c000000000000000000000000", DISS_TCP, 1);
    /* server reply: command 1, client node 0x22, server node 0x01 */
    feed_t("46494e53000000100000000100000000000000220000000"
           "1",
           DISS_TCP, 0);
    ck_assert(!ev(0)->has_code);
    ck_assert_str_eq(ev(0)->op, "node_address_request");
    ck_assert_str_eq(ev(1)->op, "node_address_response");
    ck_assert_uint_eq(ev_u(ev(1), "client_node"), 0x22);
    ck_assert_uint_eq(ev_u(ev(1), "server_node"), 1);
}
END_TEST

START_TEST(test_resync)
{
    feed_t("0102030405" T_STOP, DISS_TCP, 1);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(ev(0), "fins.resync"));
    check_code(ev(1), 0x0402, "stop", EV_DIR_REQUEST);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
    static const char *const tcp[] = {T_RUN, T_RUN_RESP, T_CDR, T_CDR_RESP, T_CLOCK_WRITE};
    for (size_t m = 0; m < sizeof(tcp) / sizeof(tcp[0]); m++) {
        uint8_t b[256];
        size_t n = hex_to_bytes(tcp[m], b, sizeof(b));
        for (size_t k = 0; k < n; k++) {
            uint8_t *p = malloc(k ? k : 1);
            memcpy(p, b, k);
            teardown();
            setup();
            struct cursor c = cursor_make(p, k);
            struct pdu_info info = {1, DISS_TCP, 0, 1};
            ck_assert_uint_eq(D->parse(st, &c, &info, &rec.sink), 0); /* waits */
            ck_assert_int_eq(rec.n, 0);
            if (k >= 16) { /* the length says k: the frame inside is cut */
                p[7] = (uint8_t)(k - 8);
                c = cursor_make(p, k);
                ck_assert_uint_eq(D->parse(st, &c, &info, &rec.sink), k);
                ck_assert_int_eq(rec.n, 1);
            }
            /* the FINS frame alone as a short UDP datagram */
            recorder_init(&rec);
            c = cursor_make(p + (k > 16 ? 16 : k), k > 16 ? k - 16 : 0);
            info.transport = DISS_UDP;
            D->parse(st, &c, &info, &rec.sink);
            ck_assert_int_eq(rec.n, 1);
            if (k < 28) ck_assert(event_has_anomaly(&rec.ev[0], "fins.truncated"));
            free(p);
        }
    }
}
END_TEST

static Suite *fins_suite(void)
{
    Suite *s = suite_create("fins");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_row_and_probe);
    tcase_add_test(t, test_udp_read_write);
    tcase_add_test(t, test_tcp_run_stop);
    tcase_add_test(t, test_controller_data_read);
    tcase_add_test(t, test_two_frames_one_segment_and_split);
    tcase_add_test(t, test_node_address_exchange);
    tcase_add_test(t, test_resync);
    tcase_add_test(t, test_truncated_everywhere);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(fins_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
