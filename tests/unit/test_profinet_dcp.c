/* test_profinet_dcp.c - the PROFINET DCP dissector on real frames.
 *
 * Byte strings are the Ethernet payloads after the 0x8892 ethertype (frame id
 * first) from captures in tests/data (see SOURCES.md), from `tshark -x`; field
 * values in the comments are tshark 4.0's decode. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector profinet_dcp_dissector;
static const struct dissector *const D = &profinet_dcp_dissector;

static struct recorder rec;
static void *st;

/* profinet_change_ip_using_dcp.pcap frame 1: FEFE Identify request, xid
 * 0x01000001, response delay 1, data length 4, block All selector (FF/FF),
 * then Ethernet padding */
#define F_IDENT_ALL "fefe05000100000100010004ffff00000000000000000000"
/* frame 2: FEFF Identify response success, data length 94: device options
 * (2/5), type of station "INC" (2/1), name of station "X208-BORD" (2/2),
 * vendor 0x002a device 0x0a01 (2/3), role 1 IO device (2/4), IP (1/2) block
 * info 1 (IP set): 192.168.0.6 / 255.255.255.0 / 192.168.0.1 */
#define F_IDENT_RESP                                                                               \
    "feff0501010000010000005e0205001c00000101010202010202020302040205033d0501050205030504ffff0201" \
    "00050000494e43000202000b0000583230382d424f524400020300060000002a0a0102040004000001000102000e" \
    "0001c0a80006ffffff00c0a80001"
/* frame 3: FEFD Set request, data length 18: IP (1/2) qualifier 1
 * (permanent): 192.168.0.10 / 255.255.255.0 / 192.168.0.1 */
#define F_SET_IP "fefd040001000001000000120102000e0001c0a8000affffff00c0a80001000000000000"
/* frame 4: FEFD Set response success: Control response (5/4) for option 1
 * suboption 2, error 0, one padding byte */
#define F_SET_RESP "fefd0401010000010000000805040003010200000000"
/* profinet_rt_identify.pcap frame 1: Identify request filtered by name of
 * station "switch3" (odd length 7, one padding byte), delay 1 */
#define F_IDENT_NAME                                                                               \
    "fefe05000300bf9a0001000c02020007737769746368330069656d656e732c2053494d41544900000000"

static void feed(const char *hex)
{
    static uint8_t b[1600];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {1, DISS_L2, 0, 1};
    D->parse(st, &c, &info, &rec.sink);
}

static const struct event *ev(int i)
{
    ck_assert_int_gt(rec.n, i);
    return &rec.ev[i];
}

static void check_code(const struct event *e, int code, const char *op)
{
    ck_assert(e->has_code);
    ck_assert_int_eq(e->code, code);
    ck_assert_str_eq(e->op, op);
    ck_assert_str_eq(e->proto, "profinet_dcp");
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

START_TEST(test_row)
{
    ck_assert_int_eq(D->id, DISS_PROFINET_DCP);
    ck_assert_str_eq(D->name, "profinet_dcp");
    ck_assert_int_eq(D->transports, DISS_L2);
    ck_assert_int_eq(D->ethertypes[0], 0x8892);
    ck_assert(dissector_by_name("profinet_dcp") == D);
}
END_TEST

START_TEST(test_identify_all)
{
    feed(F_IDENT_ALL);
    const struct event *e = ev(0);
    check_code(e, 5, "identify_all");
    ck_assert_int_eq(e->dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "frame_id"), 0xFEFE);
    ck_assert_uint_eq(ev_u(e, "service_type"), 0);
    ck_assert_uint_eq(ev_u(e, "xid"), 0x01000001);
    ck_assert_uint_eq(ev_u(e, "response_delay"), 1);
    ck_assert_uint_eq(ev_u(e, "data_length"), 4);
}
END_TEST

START_TEST(test_identify_by_name)
{
    feed(F_IDENT_NAME);
    const struct event *e = ev(0);
    check_code(e, 5, "identify");
    ck_assert_uint_eq(ev_u(e, "xid"), 0x0300bf9a);
    ev_s(e, "name_of_station", "switch3");
}
END_TEST

START_TEST(test_identify_response)
{
    feed(F_IDENT_RESP);
    const struct event *e = ev(0);
    check_code(e, 5, "identify_response");
    ck_assert_int_eq(e->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "frame_id"), 0xFEFF);
    ck_assert_uint_eq(ev_u(e, "service_type"), 1);
    ck_assert_uint_eq(ev_u(e, "data_length"), 94);
    ev_s(e, "type_of_station", "INC");
    ev_s(e, "name_of_station", "X208-BORD");
    ck_assert_uint_eq(ev_u(e, "vendor_id"), 0x002a);
    ck_assert_uint_eq(ev_u(e, "device_id"), 0x0a01);
    ck_assert_uint_eq(ev_u(e, "device_role"), 1);
    ev_s(e, "ip", "192.168.0.6");
    ev_s(e, "netmask", "255.255.255.0");
    ev_s(e, "gateway", "192.168.0.1");
    ck_assert_ptr_null(event_find(e, "ip_conflict"));
}
END_TEST

START_TEST(test_set_ip_and_response)
{
    feed(F_SET_IP);
    feed(F_SET_RESP);
    const struct event *e = ev(0);
    check_code(e, 4, "set_ip");
    ev_s(e, "ip", "192.168.0.10");
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"qualifier\":1"));
    e = ev(1);
    check_code(e, 4, "set_response");
    ck_assert_uint_eq(ev_u(e, "response_option"), 1);
    ck_assert_uint_eq(ev_u(e, "response_suboption"), 2);
    ck_assert_uint_eq(ev_u(e, "response_error"), 0);
}
END_TEST

/* Set requests built on frame 3's header (IEC 61158-6-10 block layouts). */
START_TEST(test_set_variants)
{
    /* name of station "plc-1" (2/2), qualifier 1, padded */
    feed("fefd040001000001000000"
         "0c"
         "0202000700017"
         "06c632d3100");
    check_code(ev(0), 4, "set_name");
    ev_s(ev(0), "name_of_station", "plc-1");
    /* control reset to factory (5/6), qualifier 2 */
    feed("fefd040001000001000000"
         "06"
         "050600020002");
    check_code(ev(1), 4, "factory_reset");
    /* control signal (5/3), qualifier 0, value 0x0100 (flash once) */
    feed("fefd040001000001000000"
         "08"
         "0503000400000100");
    check_code(ev(2), 4, "signal");
}
END_TEST

/* A Hello (FEFC, service 6) built on frame 2's blocks: name of station
 * "X208-BORD" and device id, each with BlockInfo 0 (IEC 61158-6-10). */
START_TEST(test_hello)
{
    feed("fefc0600010000010000"
         "001a"
         "0202000b0000583230382d424f524400"
         "020300060000002a0a01");
    const struct event *e = ev(0);
    check_code(e, 6, "hello");
    ck_assert_int_eq(e->dir, EV_DIR_INDICATION);
    ev_s(e, "name_of_station", "X208-BORD");
    ck_assert_uint_eq(ev_u(e, "vendor_id"), 0x002a);
    ck_assert_uint_eq(ev_u(e, "device_id"), 0x0a01);
}
END_TEST

START_TEST(test_ip_conflict)
{
    /* frame 2's IP block alone with block info 0x0081 (IP set, conflict) */
    feed("feff0501010000010000"
         "0012"
         "0102000e0081c0a80006ffffff00c0a80001");
    ck_assert(event_has_anomaly(ev(0), "profinet_dcp.ip_conflict"));
    ck_assert_uint_eq(ev_u(ev(0), "ip_conflict"), 1);
}
END_TEST

START_TEST(test_rt_summary)
{
    /* cyclic RT data, frame id 0x8000: no event until the 10000th frame */
    for (int i = 0; i < 9999; i++)
        feed("8000"
             "0102030405060708");
    ck_assert_int_eq(rec.n, 0);
    feed("fc01"
         "0000"); /* an alarm frame completes the count */
    ck_assert_int_eq(rec.n, 1);
    const struct event *e = ev(0);
    ck_assert(!e->has_code);
    ck_assert_str_eq(e->op, "rt_summary");
    ck_assert_uint_eq(ev_u(e, "frames"), 10000);
    ck_assert_uint_eq(ev_u(e, "cyclic"), 9999);
    ck_assert_uint_eq(ev_u(e, "alarm"), 1);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
    static const char *const frames[] = {F_IDENT_ALL, F_IDENT_RESP, F_SET_IP, F_SET_RESP,
                                         F_IDENT_NAME};
    for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
        uint8_t b[256];
        size_t n = hex_to_bytes(frames[f], b, sizeof(b));
        for (size_t k = 0; k < n; k++) {
            uint8_t *p = malloc(k ? k : 1);
            memcpy(p, b, k);
            recorder_init(&rec);
            struct cursor c = cursor_make(p, k);
            struct pdu_info info = {1, DISS_L2, 0, 1};
            D->parse(st, &c, &info, &rec.sink);
            /* below 2 bytes there is no frame id; from 2 on, one event, and a
             * cut inside the data is flagged */
            ck_assert_int_eq(rec.n, k >= 2 ? 1 : 0);
            if (k >= 12 && k < 12 + (size_t)(b[10] << 8 | b[11]))
                ck_assert(event_has_anomaly(&rec.ev[0], "profinet_dcp.truncated"));
            free(p);
        }
    }
}
END_TEST

static Suite *pn_suite(void)
{
    Suite *s = suite_create("profinet_dcp");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_row);
    tcase_add_test(t, test_identify_all);
    tcase_add_test(t, test_identify_by_name);
    tcase_add_test(t, test_identify_response);
    tcase_add_test(t, test_set_ip_and_response);
    tcase_add_test(t, test_set_variants);
    tcase_add_test(t, test_hello);
    tcase_add_test(t, test_ip_conflict);
    tcase_add_test(t, test_rt_summary);
    tcase_add_test(t, test_truncated_everywhere);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(pn_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
