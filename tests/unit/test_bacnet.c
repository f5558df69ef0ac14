/* test_bacnet.c - the BACnet/IP dissector on real datagrams.
 *
 * Byte strings are UDP payloads from the corpus captures under
 * tests/data/corpus (icsnpp-bacnet: BSD-3-Clause, Battelle Energy Alliance;
 * nDPI: LGPL-3.0; see tests/data/corpus/MANIFEST.md), extracted with
 * `tshark -T fields -e udp.payload`; field values in the comments are tshark
 * 4.0's decode of the same frames. BVLC messages absent from the corpus are
 * built from ASHRAE 135 Annex J and were checked with text2pcap + tshark. */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector bacnet_dissector;
static const struct dissector *const D = &bacnet_dissector;

static struct recorder rec;
static void *st;

static void setup(void)
{
    recorder_init(&rec);
    rec.sink.net.transport = EV_TRANSPORT_UDP;
    st = D->state_new();
}

static void teardown(void)
{
    D->state_free(st);
}

static void feed_bytes(const uint8_t *b, size_t n, int to_server)
{
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {to_server, DISS_UDP, 0, 1600000000000000ull};
    D->parse(st, &c, &info, &rec.sink);
}

/* One datagram; returns the event it produced. */
static const struct event *feed(const char *hex)
{
    uint8_t buf[2048];
    size_t n = hex_to_bytes(hex, buf, sizeof(buf));
    int before = rec.n;
    feed_bytes(buf, n, 1);
    ck_assert_int_eq(rec.n, before + 1); /* one event per datagram */
    return &rec.ev[rec.n - 1];
}

/* One datagram in a given direction at a given time. */
static const struct event *feed_at(const char *hex, int to_server, uint64_t ts)
{
    uint8_t buf[2048];
    size_t n = hex_to_bytes(hex, buf, sizeof(buf));
    struct cursor c = cursor_make(buf, n);
    struct pdu_info info = {to_server, DISS_UDP, 0, ts};
    int before = rec.n;
    D->parse(st, &c, &info, &rec.sink);
    ck_assert_int_eq(rec.n, before + 1);
    return &rec.ev[rec.n - 1];
}

static const char *last_json(void)
{
    return rec.json[rec.n - 1];
}

static int64_t fi(const struct event *e, const char *path)
{
    const struct ev_field *f = event_find(e, path);
    ck_assert_msg(f != NULL, "field %s missing", path);
    ck_assert_msg(f->type == EVF_INT, "field %s not signed", path);
    return f->v.i;
}

static void code_op(const struct event *e, int64_t code, const char *op)
{
    ck_assert(e->has_code);
    ck_assert_int_eq(e->code, code);
    ck_assert_str_eq(e->op, op);
}

static void nocode_op(const struct event *e, const char *op)
{
    ck_assert(!e->has_code);
    ck_assert_str_eq(e->op, op);
}

START_TEST(test_row)
{
    ck_assert_ptr_eq(dissector_by_name("bacnet"), D);
    ck_assert_ptr_eq(dissector_by_id(DISS_BACNET), D);
    ck_assert_int_eq(D->transports, DISS_UDP);
    ck_assert_int_eq(D->ports[0], 47808);
    for (const char *const *a = D->anomalies; *a; a++)
        ck_assert(strncmp(*a, "bacnet.", 7) == 0);
}
END_TEST

START_TEST(test_probe)
{
    static const struct {
        const char *hex;
        enum probe_result want;
    } cases[] = {
        {"", PROBE_NEED_MORE},
        {"81", PROBE_NEED_MORE},
        {"810a00", PROBE_NEED_MORE},
        {"810b000c0120ffff00ff1008", PROBE_YES}, /* who-is (nDPI bacnet.pcap frame 10) */
        {"810a0011", PROBE_YES},
        {"820a0011", PROBE_NO}, /* not BACnet/IP */
        {"810d0011", PROBE_NO}, /* function 0x0d undefined */
        {"810a0003", PROBE_NO}, /* length shorter than the header */
        {"810affff", PROBE_NO}, /* longer than any B/IP frame */
        {"474554202f20485454502f312e310d0a", PROBE_NO},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[64];
        size_t n = hex_to_bytes(cases[i].hex, b, sizeof(b));
        struct cursor c = cursor_make(n ? b : NULL, n);
        ck_assert_msg(D->probe(&c, 1) == cases[i].want, "case %zu", i);
    }
}
END_TEST

/* ---- unconfirmed services ---- */

START_TEST(test_who_is_i_am)
{
    /* nDPI bacnet.pcap frame 10: BVLC 81 0b (Original-Broadcast) len 12; NPDU
     * v1 control 0x20 DNET 65535 DLEN 0 hop 255; APDU 10 unconfirmed, 08 who-Is */
    const struct event *e = feed("810b000c0120ffff00ff1008");
    code_op(e, 8, "who_is");
    ck_assert_int_eq(e->dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "bvlc.function"), 0x0b);
    ck_assert_uint_eq(ev_u(e, "bvlc.length"), 12);
    ck_assert_uint_eq(ev_u(e, "npdu.version"), 1);
    ck_assert_uint_eq(ev_u(e, "npdu.control"), 0x20);
    ck_assert_uint_eq(ev_u(e, "npdu.destination.network"), 65535);
    ck_assert_uint_eq(ev_u(e, "npdu.destination.broadcast"), 1);
    ck_assert_uint_eq(ev_u(e, "npdu.hop_count"), 255);
    ck_assert_uint_eq(ev_u(e, "apdu.type"), 1);
    ev_s(e, "service_name", "who_is");
    ev_absent(e, "low_limit");
    ck_assert_int_eq(e->nanom, 0);

    /* nDPI bacnet.pcap frame 19: who-Is with range: 09 6f low 111, 19 6f high 111 */
    e = feed("810b00100120ffff00ff1008096f196f");
    code_op(e, 8, "who_is");
    ck_assert_uint_eq(ev_u(e, "low_limit"), 111);
    ck_assert_uint_eq(ev_u(e, "high_limit"), 111);

    /* bacnet_error_reject_abort.pcap frame 29: i-Am: c4 02000065 device,101;
     * 22 0400 max APDU 1024; 91 00 segmented-both (0); 22 0539 vendor 1337 */
    e = feed("810a001501001000c4020000652204009100220539");
    code_op(e, 0, "i_am");
    ck_assert_uint_eq(ev_u(e, "identity.device.type"), 8);
    ck_assert_uint_eq(ev_u(e, "identity.device.instance"), 101);
    ck_assert_uint_eq(ev_u(e, "identity.device_instance"), 101);
    ck_assert_uint_eq(ev_u(e, "identity.max_apdu"), 1024);
    ck_assert_uint_eq(ev_u(e, "identity.segmentation"), 0);
    ck_assert_uint_eq(ev_u(e, "identity.vendor_id"), 1337);
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_who_has_i_have)
{
    /* bacnet_error_reject_abort.pcap frame 36: who-Has (7), 3d 08 00 "SYNERGY":
     * context 3 object name, charset 0 */
    const struct event *e = feed("810a00160120ffff00ff10073d080053594e45524759");
    code_op(e, 7, "who_has");
    ev_s(e, "service_name", "who_has");
    ev_s(e, "object_name", "SYNERGY");

    /* bacnet_segmented_data.pcap frame 2: who-Has 2c 05c00005 object accumulator,5 */
    e = feed("810b000d010010072c05c00005");
    code_op(e, 7, "who_has");
    ck_assert_uint_eq(ev_u(e, "object.type"), 23);
    ck_assert_uint_eq(ev_u(e, "object.instance"), 5);

    /* frame 30 of bacnet_error_reject_abort: i-Have (1) with SNET 13 SADR 3d:
     * device,61  device,61  object name "SYNERGY" */
    e = feed("810a00200108000d013d1001c40200003dc40200003d75080053594e45524759");
    code_op(e, 1, "who_has");
    ev_s(e, "service_name", "i_have");
    ck_assert_uint_eq(ev_u(e, "npdu.source.network"), 13);
    ev_s(e, "npdu.source.address", "3d");
    ck_assert_uint_eq(ev_u(e, "device.instance"), 61);
    ck_assert_uint_eq(ev_u(e, "object.type"), 8);
    ev_s(e, "object_name", "SYNERGY");
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_time_sync)
{
    /* frame 35: timeSynchronization (6) via Distribute-Broadcast-To-Network (0x09):
     * a4 d90a0101 = October 1, 2117, Monday; b4 0a2c2f33 = 10:44:47.51 */
    const struct event *e = feed("810900160120ffff00ff1006a4d90a0101b40a2c2f33");
    code_op(e, 6, "time_sync");
    ck_assert_uint_eq(ev_u(e, "bvlc.function"), 0x09);
    ck_assert_uint_eq(ev_u(e, "time.year"), 2117);
    ck_assert_uint_eq(ev_u(e, "time.month"), 10);
    ck_assert_uint_eq(ev_u(e, "time.day"), 1);
    ck_assert_uint_eq(ev_u(e, "time.weekday"), 1);
    ck_assert_uint_eq(ev_u(e, "time.hour"), 10);
    ck_assert_uint_eq(ev_u(e, "time.minute"), 44);
    ck_assert_uint_eq(ev_u(e, "time.second"), 47);
    ck_assert_uint_eq(ev_u(e, "time.hundredths"), 51);
    /* frame 38: utcTimeSynchronization (9): January 1, 1900, Monday, 12:45:56.27 */
    e = feed("810900160120ffff00ff1009a400010101b40c2d381b");
    code_op(e, 9, "time_sync");
    ev_s(e, "service_name", "utc_time_synchronization");
    ck_assert_uint_eq(ev_u(e, "time.year"), 1900);
    ck_assert_uint_eq(ev_u(e, "time.hour"), 12);
    ck_assert_uint_eq(ev_u(e, "time.minute"), 45);
    ck_assert_uint_eq(ev_u(e, "time.second"), 56);
    ck_assert_uint_eq(ev_u(e, "time.hundredths"), 27);
}
END_TEST

START_TEST(test_unconfirmed_others)
{
    /* frame 33: unconfirmedPrivateTransfer (4): 09 00 vendor 0, 19 00 service 0 */
    const struct event *e = feed("810a000f01001004090019002e112f");
    code_op(e, 4, "private_transfer");
    ck_assert_uint_eq(ev_u(e, "vendor_id"), 0);
    ck_assert_uint_eq(ev_u(e, "service_number"), 0);
    /* every other unconfirmed service of the capture: named, coded, no anomaly */
    static const struct {
        const char *hex;
        int code;
        const char *op;
    } cases[] = {
        {"810a00250120ffff00ff100209011c020000022c00c0000439054e09552e4442c800002f4f", 2,
         "unconfirmed_cov_notification"},
        {"81090031010010030a04d21c004000012c004000013e19013f49015901690189009900a900b900ce1e0e1900"
         "0f19001fcf",
         3, "unconfirmed_event_notification"},
        {"810b002d0120ffff00ff10050c0200000529003d1800504d20726571756972656420666f722050554d5033"
         "3437",
         5, "unconfirmed_text_message"},
        {"810900140100100a0a04d219012e0900002f3900", 10, "write_group"},
        {"810b00270120ffff00ff100b09121c02000004291b4e0c0000000a1e09552e44428200002f1f4f", 11,
         "unconfirmed_cov_notification_multiple"},
        {"810b00200120ffff00ff100d22022b7507004c4d435032347506003132333435", 13, "who_am_i"},
        {"810b00270120ffff00ff100e22022b7507004c4d435032347506003132333435c402000003612a", 14,
         "you_are"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e = feed(cases[i].hex);
        code_op(e, cases[i].code, cases[i].op);
        ck_assert_int_eq(e->nanom, 0);
    }
}
END_TEST

/* ---- confirmed services ---- */

START_TEST(test_read_property)
{
    /* bacnet_example.pcap frame 1: Confirmed-REQ (0x00), flags 0, 05 max APDU
     * 1476, invoke 1, service 0c readProperty; 0c 00000001 analog-input,1;
     * 19 4d property 77 (object-name) */
    const struct event *e = feed("810a001101040005010c0c00000001194d");
    code_op(e, 12, "read_property");
    ck_assert_int_eq(e->dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "apdu.type"), 0);
    ck_assert_uint_eq(ev_u(e, "apdu.segmented"), 0);
    ck_assert_uint_eq(ev_u(e, "apdu.max_segments"), 0);
    ck_assert_uint_eq(ev_u(e, "apdu.max_apdu"), 5);
    ck_assert_uint_eq(ev_u(e, "apdu.invoke_id"), 1);
    ck_assert_uint_eq(ev_u(e, "npdu.expecting_reply"), 1);
    ck_assert_uint_eq(ev_u(e, "object.type"), 0);
    ck_assert_uint_eq(ev_u(e, "object.instance"), 1);
    ck_assert_uint_eq(ev_u(e, "property"), 77);
    ev_absent(e, "array_index");
    /* frame 2: Complex-ACK (0x30) invoke 1 readProperty, value {[3] "Sensor_45312"}[3] */
    e = feed("810a0021010030010c0c00000001194d3e750d0053656e736f725f34353331323f");
    code_op(e, 12, "read_property");
    ck_assert_int_eq(e->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "apdu.type"), 3);
    ck_assert_uint_eq(ev_u(e, "apdu.invoke_id"), 1);
    ck_assert_uint_eq(ev_u(e, "property"), 77);
    ev_s(e, "value", "Sensor_45312");
    ck_assert_int_eq(e->nanom, 0);
    /* bacnet_segmented_data.pcap frame 12: readProperty device,254 object-list
     * (76) array index 0 (29 00) */
    e = feed("810a0013010402345d0c0c020000fe194c2900");
    ck_assert_uint_eq(ev_u(e, "object.type"), 8);
    ck_assert_uint_eq(ev_u(e, "object.instance"), 254);
    ck_assert_uint_eq(ev_u(e, "property"), 76);
    ck_assert_uint_eq(ev_u(e, "array_index"), 0);
    ck_assert_uint_eq(ev_u(e, "apdu.max_segments"), 3); /* 0x34: up to 16 segments */
    ck_assert_uint_eq(ev_u(e, "apdu.max_apdu"), 4);     /* up to 1024 octets */
}
END_TEST

START_TEST(test_write_property)
{
    /* bacnet_error_reject_abort.pcap frame 15: writeProperty (15) analog-output,0
     * present-value (85) {[3] real 80 }[3] 49 05 priority 5 */
    const struct event *e = feed("810a001a01040005010f0c0040000019553e4442a000003f4905");
    code_op(e, 15, "write_property");
    ck_assert_uint_eq(ev_u(e, "object.type"), 1);
    ck_assert_uint_eq(ev_u(e, "object.instance"), 0);
    ck_assert_uint_eq(ev_u(e, "property"), 85);
    ck_assert_uint_eq(ev_u(e, "priority"), 5);
    ev_s(e, "value_type", "real");
    const struct ev_field *v = event_find(e, "value");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, EVF_DOUBLE);
    ck_assert(v->v.d == 80.0); /* 42a00000 */
    ck_assert_int_eq(e->nanom, 0);
    /* built, checked with tshark: invoke 10, analog-input,0 out-of-service (81)
     * {[3] 11 Boolean TRUE }[3], priority 1 (life safety) */
    e = feed("810a0016010400050a0f0c0000000019513e113f4901");
    code_op(e, 15, "write_property");
    ck_assert_uint_eq(ev_u(e, "property"), 81);
    ev_s(e, "value_type", "boolean");
    ck_assert_uint_eq(ev_u(e, "value"), 1);
    ck_assert_uint_eq(ev_u(e, "priority"), 1);
    ck_assert_int_eq(e->nanom, 0);
    /* frame 16: writePropertyMultiple (16): two objects, one property each */
    e = feed("810a002e0104000501100c010000001e09552e44000000002f39051f0c010000011e09552e4400000000"
             "2f39051f");
    code_op(e, 16, "write_property");
    ev_s(e, "service_name", "write_property_multiple");
    ck_assert_uint_eq(ev_u(e, "object.type"), 4); /* binary-output,0 first */
    ck_assert_uint_eq(ev_u(e, "object_count"), 2);
    ck_assert_uint_eq(ev_u(e, "property_count"), 2);
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_read_property_multiple)
{
    /* frame 14: readPropertyMultiple (14): device,101 { 121 70 28 76 } */
    const struct event *e = feed("810a001901040005010e0c020000651e09790946091c094c1f");
    code_op(e, 14, "read_property_multiple");
    ck_assert_uint_eq(ev_u(e, "object.type"), 8);
    ck_assert_uint_eq(ev_u(e, "object.instance"), 101);
    ck_assert_uint_eq(ev_u(e, "object_count"), 1);
    ck_assert_uint_eq(ev_u(e, "property_count"), 4);
    ck_assert_int_eq(e->nanom, 0);
    /* its ACK (built, checked with tshark): Complex-ACK invoke 1 RPM, device,101
     * {[1] 29 4d object-name {[4] "Dev1" }[4] 29 79 vendor-name {[4] 5 }[4] }[1] */
    e = feed("810a0021010030010e0c020000651e294d4e750500446576314f29794e21054f1f");
    code_op(e, 14, "read_property_multiple");
    ck_assert_uint_eq(ev_u(e, "object.instance"), 101);
    ck_assert_uint_eq(ev_u(e, "object_count"), 1);
    ck_assert_uint_eq(ev_u(e, "property_count"), 2);
    ck_assert_int_eq(e->nanom, 0);
    /* the same with the closing tag 1f missing */
    e = feed("810a0020010030010e0c020000651e294d4e750500446576314f29794e21054f");
    ck_assert(event_has_anomaly(e, "bacnet.truncated_apdu"));
}
END_TEST

START_TEST(test_dcc_password_never_logged)
{
    /* frame 17: deviceCommunicationControl (17): 09 3c duration 60 min;
     * 19 01 disable (1); 2d 09 00 "filister" password, UTF-8 */
    const struct event *e = feed("810a0019010400050111093c19012d090066696c6973746572");
    code_op(e, 17, "device_comm_control");
    ck_assert_uint_eq(ev_u(e, "duration_min"), 60);
    ck_assert_uint_eq(ev_u(e, "enable_disable"), 1);
    ck_assert_uint_eq(ev_u(e, "password_present"), 1);
    const char *j = last_json();
    ck_assert_ptr_null(strstr(j, "filister"));
    ck_assert_ptr_null(strstr(j, "66696c6973746572"));
    ck_assert_ptr_null(strstr(j, "ilist"));
}
END_TEST

START_TEST(test_reinitialize_password_never_logged)
{
    /* bacnet_example.pcap frame 572: reinitializeDevice (20): 09 06 state 6
     * (abort-restore); 1d 0b 00 "Delcatty70" password */
    const struct event *e = feed("810a001101040005011409061d0b0044656c63617474793730");
    code_op(e, 20, "reinitialize_device");
    ck_assert_uint_eq(ev_u(e, "state"), 6);
    ck_assert_uint_eq(ev_u(e, "password_present"), 1);
    /* the BVLC says 17 bytes, the datagram has 25 */
    ck_assert(event_has_anomaly(e, "bacnet.bad_bvlc_length"));
    const char *j = last_json();
    ck_assert_ptr_null(strstr(j, "Delcatty"));
    ck_assert_ptr_null(strstr(j, "44656c6361747479"));
    /* bacnet_error_reject_abort.pcap frame 19: coldstart (0), no password */
    e = feed("810a000c0104000501140900");
    code_op(e, 20, "reinitialize_device");
    ck_assert_uint_eq(ev_u(e, "state"), 0);
    ck_assert_uint_eq(ev_u(e, "password_present"), 0);
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_atomic_file)
{
    /* frame 7: atomicReadFile (6), SNET 13 SADR 3d, invoke 54: c4 02800000 file,0;
     * {[0] stream: 31 00 start 0; 22 01b8 count 440 }[0] */
    const struct event *e = feed("810a001a010c000d013d02033606c4028000000e31002201b80f");
    code_op(e, 6, "atomic_read_file");
    ck_assert_uint_eq(ev_u(e, "apdu.invoke_id"), 54);
    ck_assert_uint_eq(ev_u(e, "file.type"), 10);
    ck_assert_uint_eq(ev_u(e, "file.instance"), 0);
    ev_s(e, "access", "stream");
    ck_assert_int_eq(fi(e, "start"), 0);
    ck_assert_uint_eq(ev_u(e, "length"), 440);
    ck_assert_int_eq(e->nanom, 0);
    /* frame 8: atomicWriteFile (7) file,0, {[0] start 0, octet string 448 bytes }[0],
     * DNET 13 DADR 3d hop 255 */
    e = feed("810a01dc0124000d013dff00030107c4028000000e310065fe01c023212f62696e2f73680a232055"
             "6e6974207465737473206275696c646572202f2072756e6e657220666f7220746869732070726f6a6563"
             "740a0a726d20746573742e6c6f670a746f75636820746573742e6c6f670a0a6d616b65202d662061626f"
             "72742e6d616b20636c65616e0a6d616b65202d662061626f72742e6d616b0a2e2f61626f7274203e3e20"
             "746573742e6c6f670a6d616b65202d662061626f72742e6d616b20636c65616e0a0a6d616b65202d6620"
             "616464726573732e6d616b20636c65616e0a6d616b65202d6620616464726573732e6d616b0a2e2f6164"
             "6472657373203e3e20746573742e6c6f670a6d616b65202d6620616464726573732e6d616b20636c6561"
             "6e0a0a6d616b65202d6620636f762e6d616b20636c65616e0a6d616b65202d6620636f762e6d616b0a2e"
             "2f636f76203e3e20746573742e6c6f670a6d616b65202d6620636f762e6d616b20636c65616e0a0a6d61"
             "6b65202d66206463632e6d616b20636c65616e0a6d616b65202d66206463632e6d616b0a2e2f64636320"
             "3e3e20746573742e6c6f670a6d616b65202d66206463632e6d616b20636c65616e0a0a6d616b65202d66"
             "2064656d6f2f6f626a6563742f61690f");
    ck_assert_int_eq(e->nanom, 0);
    code_op(e, 7, "atomic_write_file");
    ck_assert_uint_eq(ev_u(e, "npdu.destination.network"), 13);
    ev_s(e, "npdu.destination.address", "3d");
    ck_assert_uint_eq(ev_u(e, "file.type"), 10);
    ev_s(e, "access", "stream");
    ck_assert_int_eq(fi(e, "start"), 0);
    ck_assert_uint_eq(ev_u(e, "length"), 448); /* 65 fe 01c0: octet string of 448 */
}
END_TEST

START_TEST(test_other_confirmed)
{
    /* frames 9-12: add/removeListElement, createObject, deleteObject */
    const struct event *e = feed("810a00180104000501080c03c0000119663e4442c800003f");
    code_op(e, 8, "list_element_change");
    ev_s(e, "service_name", "add_list_element");
    ck_assert_uint_eq(ev_u(e, "object.type"), 15); /* 03c00001: notification-class,1 */
    ck_assert_uint_eq(ev_u(e, "property"), 102);   /* recipient-list */
    e = feed("810a00180104000501090c03c0000119663e4442c800003f");
    code_op(e, 9, "list_element_change");
    e = feed("810a001101040005010a0e1c000000010f");
    code_op(e, 10, "create_delete_object");
    ck_assert_uint_eq(ev_u(e, "object.type"), 0); /* analog-input,1 */
    ck_assert_uint_eq(ev_u(e, "object.instance"), 1);
    e = feed("810a000f01040005010bc400000001");
    code_op(e, 11, "create_delete_object");
    ev_s(e, "service_name", "delete_object");
    ck_assert_uint_eq(ev_u(e, "object.instance"), 1);
    /* frame 18: confirmedPrivateTransfer (18): V=7 SN=511 */
    e = feed("810a009001040205341209071a01ff2e0000007f000000380004f2570043494d45545249435320444e"
             "45543138003730310043494d45545249435320444e45543138003731313100463400000003f663000401"
             "000d2470616e656c64656661756c740000001001000437313131000001dd010004373131320000"
             "44b5010008746f7765723333330003dbf6000000002f");
    code_op(e, 18, "private_transfer");
    ck_assert_uint_eq(ev_u(e, "vendor_id"), 7);
    ck_assert_uint_eq(ev_u(e, "service_number"), 511);
    /* the remaining confirmed services of the capture: coded and named */
    static const struct {
        const char *hex;
        int code;
        const char *op;
    } cases[] = {
        {"810a00370104020518000a02581c010027d029023e2ea46d041e04b40b121c632f3f4d050041444d4e5e2ea4"
         "6d051d05b407311e152f5f",
         0, "acknowledge_alarm"},
        {"810a002b01000005010109011c020004d22c004000013a02574e09552e44000000002f096f2e8204002f4f",
         1, "confirmed_cov_notification"},
        {"810a000a010402440103", 3, "get_alarm_summary"},
        {"810a000c0104024401040900", 4, "get_enrollment_summary"},
        {"810b00120120ffff00ff0001501591012105", 21, "vt_open"},
        {"810b00100120ffff00ff00015516211d", 22, "vt_close"},
        {"810a001701040005011a0c0500000219833e2101310a3f", 26, "read_range"},
        {"810b001c0120ffff00ff00020f1b09121c004d444c29043c05400001", 27, "life_safety_operation"},
        {"810b00220120ffff00ff00020f1c09121c0000000a2901393c4e09554f5c3f800000", 28,
         "subscribe_cov_property"},
        {"810a000a01040204021d", 29, "get_event_information"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e = feed(cases[i].hex);
        code_op(e, cases[i].code, cases[i].op);
        ck_assert_int_eq(e->nanom, 0);
    }
}
END_TEST

/* ---- ACKs, errors, rejects, aborts, segmentation ---- */

START_TEST(test_acks_and_errors)
{
    /* bacnet_example.pcap frame 579: Simple-ACK (0x20) invoke 4 reinitializeDevice */
    const struct event *e = feed("810a00110104200414");
    code_op(e, 20, "reinitialize_device");
    ck_assert_int_eq(e->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "apdu.type"), 2);
    ck_assert_uint_eq(ev_u(e, "apdu.invoke_id"), 4);
    /* frame 573: Error (0x50) invoke 1 reinitializeDevice: 91 05 class services,
     * 91 1a code password-failure (26); BVLC claims 17 bytes of 13 */
    e = feed("810a001101045001149105911a");
    code_op(e, 20, "reinitialize_device");
    ck_assert_uint_eq(ev_u(e, "apdu.type"), 5);
    ck_assert_uint_eq(ev_u(e, "error_class"), 5);
    ck_assert_uint_eq(ev_u(e, "error_code"), 26);
    ck_assert(event_has_anomaly(e, "bacnet.bad_bvlc_length"));
    /* nDPI bacnet.pcap frame 18: Error readProperty, class 0 (device), code 0 */
    e = feed("810b000d010050010c91009100");
    code_op(e, 12, "read_property");
    ck_assert_uint_eq(ev_u(e, "error_class"), 0);
    ck_assert_uint_eq(ev_u(e, "error_code"), 0);
    ck_assert_int_eq(e->nanom, 0);
    /* bacnet_error_reject_abort.pcap frame 44: Reject invoke 58 reason 9
     * (unrecognized-service): no code */
    e = feed("810a000e0120000d013dff603a09");
    nocode_op(e, "reject");
    ck_assert_uint_eq(ev_u(e, "apdu.invoke_id"), 58);
    ck_assert_uint_eq(ev_u(e, "apdu.reason"), 9);
    /* frame 45: Abort SRV=1 invoke 1 reason 0 (other) */
    e = feed("810b00090100710100");
    nocode_op(e, "abort");
    ck_assert_int_eq(e->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "apdu.server"), 1);
    ck_assert_uint_eq(ev_u(e, "apdu.reason"), 0);
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_pairing)
{
    /* bacnet_example.pcap frames 1 and 2: readProperty invoke 1, its Complex-ACK 5 ms on */
    feed_at("810a001101040005010c0c00000001194d", 1, 1000000);
    const struct event *e =
        feed_at("810a0021010030010c0c00000001194d3e750d0053656e736f725f34353331323f", 0, 1005000);
    ck_assert_uint_eq(ev_u(e, "request_service"), 12);
    ck_assert_uint_eq(ev_u(e, "latency_us"), 5000);
    /* answered once: a repeated ACK matches nothing */
    e = feed_at("810a0021010030010c0c00000001194d3e750d0053656e736f725f34353331323f", 0, 1006000);
    ev_absent(e, "request_service");
    /* a reply in the request's own direction answers nothing */
    feed_at("810a001101040005020c0c00000001194d", 1, 1007000);
    e = feed_at("810a00110104200214", 1, 1008000);
    ev_absent(e, "request_service");
    /* Reject (frame 44 of bacnet_error_reject_abort, invoke 58) after a request with
     * invoke 58: the reject names the request's service */
    feed_at("810a001101040005"
            "3a"
            "0c0c00000001194d",
            1, 2000000);
    e = feed_at("810a000e0120000d013dff603a09", 0, 2000100);
    ck_assert_uint_eq(ev_u(e, "request_service"), 12);
    ck_assert_uint_eq(ev_u(e, "latency_us"), 100);
}
END_TEST

START_TEST(test_segmentation)
{
    /* bacnet_segmented_data.pcap frame 16: Segment-ACK NAK 0 SRV 0 invoke 94 seq 0
     * window 3 */
    const struct event *e = feed("810a000a0100405e0003");
    nocode_op(e, "segment_ack");
    ck_assert_uint_eq(ev_u(e, "apdu.type"), 4);
    ck_assert_uint_eq(ev_u(e, "apdu.nak"), 0);
    ck_assert_uint_eq(ev_u(e, "apdu.server"), 0);
    ck_assert_uint_eq(ev_u(e, "apdu.invoke_id"), 94);
    ck_assert_uint_eq(ev_u(e, "apdu.sequence"), 0);
    ck_assert_uint_eq(ev_u(e, "apdu.window"), 3);
    /* frame 18 (the last segment): Complex-ACK 0x38 SEG=1 MOR=0 invoke 94 seq 2
     * window 3 readProperty; a segment's body is not decoded */
    e = feed("810a00700104385e02030cc404400181c404400182c404400183c404400184c404400185c404400186"
             "c404400187c404400188c404400189c40440018ac40440018bc40440018cc40440018dc40440018ec404"
             "40018fc405c00001c405c00002c405c00003c405c00004c405c000053f");
    code_op(e, 12, "read_property");
    ck_assert_uint_eq(ev_u(e, "apdu.segmented"), 1);
    ck_assert_uint_eq(ev_u(e, "apdu.more_follows"), 0);
    ck_assert_uint_eq(ev_u(e, "apdu.sequence"), 2);
    ck_assert_uint_eq(ev_u(e, "apdu.window"), 3);
    ck_assert_uint_eq(ev_u(e, "segment_len"), 101); /* 112 - BVLC 4 - NPDU 2 - APDU 5 */
    ev_absent(e, "object");
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

/* ---- network layer and BVLC ---- */

START_TEST(test_network_messages)
{
    /* nDPI bacnet.pcap frame 22: NPDU control 0xa0 (network message, DNET),
     * DNET 65535, hop 255, type 0x01 I-Am-Router-To-Network, network 0 */
    const struct event *e = feed("810b000d01a0ffff00ff010000");
    nocode_op(e, "i_am_router_to_network");
    ck_assert_int_eq(e->dir, EV_DIR_INDICATION);
    ck_assert_uint_eq(ev_u(e, "network_message.type"), 1);
    ck_assert_int_eq(e->nanom, 0);
    /* frame 23: type 0x13 Network-Number-Is, network 0, status 11 */
    e = feed("810b000e01a0ffff00ff1300000b");
    nocode_op(e, "network_number_is");
    ck_assert_uint_eq(ev_u(e, "network_message.network"), 0);
    ck_assert_uint_eq(ev_u(e, "network_message.learned"), 11);
}
END_TEST

START_TEST(test_bvlc_functions)
{
    /* Write-BDT (Annex J.2.2): 192.168.1.1:47808 mask ffffffff, 192.168.2.1 ffffff00 */
    const struct event *e = feed("81010018c0a80101bac0ffffffffc0a80201bac0ffffff00");
    nocode_op(e, "write_bdt");
    ck_assert_uint_eq(ev_u(e, "entries"), 2);
    ck_assert_int_eq(e->nanom, 0);
    ck_assert_ptr_nonnull(strstr(last_json(), "\"bdt\":[{\"ip\":\"c0a80101\",\"port\":47808,"
                                              "\"mask\":\"ffffffff\"}"));
    /* Register-Foreign-Device (J.2.6) TTL 60 */
    e = feed("81050006003c");
    nocode_op(e, "register_foreign_device");
    ck_assert_uint_eq(ev_u(e, "ttl"), 60);
    /* BVLC-Result 0x0030: Register-Foreign-Device NAK */
    e = feed("810000060030");
    nocode_op(e, "bvlc_result");
    ck_assert_int_eq(e->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "result"), 0x30);
    /* Read-FDT-Ack: 192.168.1.10:47808 TTL 60 remaining 48 */
    e = feed("8107000ec0a8010abac0003c0030");
    nocode_op(e, "read_fdt_ack");
    ck_assert_ptr_nonnull(strstr(last_json(), "\"ttl\":60,\"remaining\":48"));
    /* Delete-FDT-Entry 192.168.1.10:47808 */
    e = feed("8108000ac0a8010abac0");
    nocode_op(e, "delete_fdt_entry");
    ev_s(e, "entry.ip", "c0a8010a");
    ck_assert_uint_eq(ev_u(e, "entry.port"), 47808);
    /* Forwarded-NPDU from 192.168.1.10:47808 carrying who-Is 5..5 */
    e = feed("81040012c0a8010abac00100100809051905");
    code_op(e, 8, "who_is");
    ev_s(e, "bvlc.function_name", "forwarded_npdu");
    ev_s(e, "original_source.ip", "c0a8010a");
    ck_assert_uint_eq(ev_u(e, "original_source.port"), 47808);
    ck_assert_uint_eq(ev_u(e, "low_limit"), 5);
    ck_assert_uint_eq(ev_u(e, "high_limit"), 5);
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

/* ---- malformed ---- */

START_TEST(test_malformed)
{
    const struct event *e = feed("820a000c0120ffff00ff1008"); /* BVLC type 0x82 */
    nocode_op(e, "malformed");
    ck_assert(event_has_anomaly(e, "bacnet.bad_bvlc_type"));
    e = feed("810d0004"); /* undefined function */
    ck_assert(event_has_anomaly(e, "bacnet.bad_bvlc_function"));
    e = feed("810b000c0220ffff00ff1008"); /* NPDU version 2 */
    ck_assert(event_has_anomaly(e, "bacnet.bad_npdu"));
    ck_assert(!e->has_code);
    e = feed("810b000b01080005001008"); /* SNET 5 with SLEN 0 */
    ck_assert(event_has_anomaly(e, "bacnet.bad_npdu"));
    e = feed("810b00070100a0"); /* APDU type 10 */
    ck_assert(event_has_anomaly(e, "bacnet.bad_apdu_type"));
    e = feed("810b0007010010"); /* unconfirmed with no service choice */
    ck_assert(event_has_anomaly(e, "bacnet.truncated_apdu"));
    e = feed("810b000801001040"); /* unconfirmed service 64 */
    ck_assert(event_has_anomaly(e, "bacnet.unknown_service"));
    ck_assert_int_eq(e->code, 64);
    e = feed("810b00060100"); /* NPDU without APDU */
    ck_assert(event_has_anomaly(e, "bacnet.missing_apdu"));
    /* writeProperty whose value opens with a closing tag 3f */
    e = feed("810a001a01040005010f0c0040000019553f4442a000003f4905");
    ck_assert(event_has_anomaly(e, "bacnet.bad_tag"));
    /* readProperty whose object id claims 254 + 2-byte extended length */
    e = feed("810a001101040005010c0dfe0100020000651979");
    ck_assert(event_has_anomaly(e, "bacnet.truncated_apdu"));
    /* deeply nested opening tags in a WriteProperty value */
    e = feed("810a003001040005010f0c004000001955"
             "3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e");
    ck_assert(event_has_anomaly(e, "bacnet.bad_tag"));
    e = feed("81"); /* one byte */
    ck_assert(event_has_anomaly(e, "bacnet.bad_bvlc_length"));
}
END_TEST

START_TEST(test_truncated_everywhere)
{
    static const char *const frames[] = {
        "810a001501001000c4020000652204009100220539",
        "810a001a010c000d013d02033606c4028000000e31002201b80f",
        "810a0019010400050111093c19012d090066696c6973746572",
        ("810a002e0104000501100c010000001e09552e44000000002f39051f0c010000011e09552e44000000002f"
         "39051f"),
        "810a001901040005010e0c020000651e09790946091c094c1f",
        "81040012c0a8010abac00100100809051905",
        "81010018c0a80101bac0ffffffffc0a80201bac0ffffff00",
        "810b000e01a0ffff00ff1300000b",
        "810a001a01040005010f0c0040000019553e4442a000003f4905",
        "810900160120ffff00ff1006a4d90a0101b40a2c2f33",
        "810a0021010030010c0c00000001194d3e750d0053656e736f725f34353331323f",
        "810a00200108000d013d1001c40200003dc40200003d75080053594e45524759",
        "810a000a0100405e0003",
        "810a001101045001149105911a",
    };
    for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
        uint8_t buf[256];
        size_t n = hex_to_bytes(frames[f], buf, sizeof(buf));
        for (size_t cut = 0; cut <= n; cut++) {
            /* a fresh heap copy so ASan catches any read past the cut */
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, buf, cut);
            int before = rec.n;
            feed_bytes(cut ? p : NULL, cut, 1);
            free(p);
            ck_assert_int_eq(rec.n, before + 1);
            const struct event *e = &rec.ev[rec.n - 1];
            if (cut < n) ck_assert_msg(e->nanom > 0, "frame %zu cut %zu: no anomaly", f, cut);
            if (rec.n >= REC_MAX - 1) recorder_init(&rec);
        }
    }
}
END_TEST

/* ---- whole captures: service counts against the tshark oracle ---- */

struct count_ctx {
    unsigned codes[256];
    unsigned events;
    unsigned nocode;
    unsigned anomalies;
};

static void count_event(void *ctx, struct event *e)
{
    struct count_ctx *k = ctx;
    k->events++;
    k->anomalies += e->nanom;
    if (e->has_code && e->code >= 0 && e->code < 256)
        k->codes[e->code]++;
    else
        k->nocode++;
}

/* Feeds every UDP/47808 payload of a capture (Ethernet, optional VLAN, IPv4). */
/* Plays a capture into the dissector the way the engine does (testutil.c). */
static void play_pcap(const char *name, struct count_ctx *k)
{
    static struct event_sink sink;
    event_sink_init(&sink, count_event, k);
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), D, &sink, 47808, 0), 0);
}

START_TEST(test_pcap_error_reject_abort)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("corpus/icsnpp-bacnet/bacnet_error_reject_abort.pcap", &k);
    /* tshark: 45 BACnet frames; confirmed 20:2 28:2 and 23 others once (one of
     * them service 20 is an Error); unconfirmed 0..14 minus 12 once each */
    ck_assert_uint_eq(k.events, 45);
    ck_assert_uint_eq(k.nocode, 2);    /* Reject, Abort */
    ck_assert_uint_eq(k.codes[20], 2); /* the request and its Error */
    ck_assert_uint_eq(k.codes[28], 2);
    ck_assert_uint_eq(k.codes[0], 2); /* acknowledgeAlarm, i-Am */
    ck_assert_uint_eq(k.codes[12], 1);
    ck_assert_uint_eq(k.codes[13], 1); /* unconfirmed who-am-I */
    ck_assert_uint_eq(k.codes[31], 1);
}
END_TEST

START_TEST(test_pcap_example)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("corpus/icsnpp-bacnet/bacnet_example.pcap", &k);
    /* tshark: confirmed 12:2800 20:240, unconfirmed 0:210 8:7 */
    ck_assert_uint_eq(k.codes[12], 2800);
    ck_assert_uint_eq(k.codes[20], 240);
    ck_assert_uint_eq(k.codes[0], 210);
    ck_assert_uint_eq(k.codes[8], 7);
    ck_assert_uint_eq(k.events, 3257);
    ck_assert_uint_eq(k.nocode, 0);
    /* all 240 reinitializeDevice frames (requests and replies) have a BVLC
     * length that disagrees with the datagram */
    ck_assert_uint_eq(k.anomalies, 240);
}
END_TEST

START_TEST(test_pcap_segmented_and_ndpi)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("corpus/icsnpp-bacnet/bacnet_segmented_data.pcap", &k);
    /* tshark: confirmed 12:6; unconfirmed 0:7 1:2 6:1 7:1 8:1; 2 Segment-ACKs */
    ck_assert_uint_eq(k.codes[12], 6);
    ck_assert_uint_eq(k.codes[0], 7);
    ck_assert_uint_eq(k.codes[1], 2);
    ck_assert_uint_eq(k.codes[6], 1);
    ck_assert_uint_eq(k.codes[7], 1);
    ck_assert_uint_eq(k.codes[8], 1);
    ck_assert_uint_eq(k.events, 20);
    ck_assert_uint_eq(k.nocode, 2);
    memset(&k, 0, sizeof(k));
    play_pcap("corpus/nDPI/bacnet.pcap", &k);
    /* tshark: 23 BVLC frames, bacapp 12:10 8:6 0:5, 2 network-layer messages */
    ck_assert_uint_eq(k.codes[12], 10);
    ck_assert_uint_eq(k.codes[8], 6);
    ck_assert_uint_eq(k.codes[0], 5);
    ck_assert_uint_eq(k.events, 23);
    ck_assert_uint_eq(k.nocode, 2);
    ck_assert_uint_eq(k.anomalies, 0);
}
END_TEST

static Suite *bacnet_suite(void)
{
    Suite *s = suite_create("bacnet");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_row);
    tcase_add_test(t, test_probe);
    tcase_add_test(t, test_who_is_i_am);
    tcase_add_test(t, test_who_has_i_have);
    tcase_add_test(t, test_time_sync);
    tcase_add_test(t, test_unconfirmed_others);
    tcase_add_test(t, test_read_property);
    tcase_add_test(t, test_write_property);
    tcase_add_test(t, test_read_property_multiple);
    tcase_add_test(t, test_dcc_password_never_logged);
    tcase_add_test(t, test_reinitialize_password_never_logged);
    tcase_add_test(t, test_atomic_file);
    tcase_add_test(t, test_other_confirmed);
    tcase_add_test(t, test_acks_and_errors);
    tcase_add_test(t, test_pairing);
    tcase_add_test(t, test_segmentation);
    tcase_add_test(t, test_network_messages);
    tcase_add_test(t, test_bvlc_functions);
    tcase_add_test(t, test_malformed);
    tcase_add_test(t, test_truncated_everywhere);
    tcase_add_test(t, test_pcap_error_reject_abort);
    tcase_add_test(t, test_pcap_example);
    tcase_add_test(t, test_pcap_segmented_and_ndpi);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(bacnet_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
