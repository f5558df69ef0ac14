/* test_mqtt.c - the MQTT dissector on real control packets.
 *
 * Byte strings are TCP payloads from the corpus captures under
 * tests/data/corpus (nDPI mqtt.pcap: LGPL-3.0; suricata-verify mqtt311-pub-qos1,
 * mqtt5-pub-mosquittoprops, mqtt-events-invalid-qos: MIT; see MANIFEST.md),
 * extracted with `tshark -T fields -e tcp.payload`; field values in the
 * comments are tshark 4.0's decode. Packet types absent from the corpus
 * (PUBREC/PUBREL/PUBCOMP, UNSUBSCRIBE/UNSUBACK, PINGREQ/PINGRESP, AUTH) were
 * built from the MQTT 5.0 spec and checked with text2pcap + tshark. */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector mqtt_dissector;
static const struct dissector *const D = &mqtt_dissector;

static struct recorder rec;
static void *st;
/* per direction: what parse() left, as the engine keeps it */
static uint8_t sbuf[2][200000];
static size_t slen[2];

static void setup(void)
{
    recorder_init(&rec);
    st = D->state_new();
    slen[0] = slen[1] = 0;
}

static void teardown(void)
{
    D->state_free(st);
}

static void feed_bytes(const uint8_t *b, size_t n, int to_server, uint64_t ts, int gap)
{
    int d = to_server ? 0 : 1;
    if (gap) {
        slen[d] = 0;
        D->gap(st, to_server);
    }
    ck_assert_uint_le(slen[d] + n, sizeof(sbuf[d]));
    memcpy(sbuf[d] + slen[d], b, n);
    slen[d] += n;
    rec.sink.net.ts_us = ts;
    for (;;) {
        struct cursor c = cursor_make(sbuf[d], slen[d]);
        struct pdu_info info = {to_server, DISS_TCP, gap, ts};
        size_t used = D->parse(st, &c, &info, &rec.sink);
        ck_assert_uint_le(used, slen[d]);
        if (used == 0) break;
        gap = 0;
        memmove(sbuf[d], sbuf[d] + used, slen[d] - used);
        slen[d] -= used;
        if (slen[d] == 0) break;
    }
}

static void feed_ts(const char *hex, int to_server, uint64_t ts)
{
    static uint8_t buf[4096];
    size_t n = hex_to_bytes(hex, buf, sizeof(buf));
    feed_bytes(buf, n, to_server, ts, 0);
}

/* One segment that must produce exactly one event. */
static const struct event *feed1(const char *hex, int to_server)
{
    int before = rec.n;
    feed_ts(hex, to_server, 1600000000000000ull);
    ck_assert_int_eq(rec.n, before + 1);
    return &rec.ev[rec.n - 1];
}

static void code_op(const struct event *e, int64_t code, const char *op)
{
    ck_assert(e->has_code);
    ck_assert_int_eq(e->code, code);
    ck_assert_str_eq(e->op, op);
}

/* suricata-verify mqtt311-pub-qos1 frame 4: CONNECT 0x10 len 43; "MQTT" level 4;
 * flags 0xc2 (username, password, clean session); keepalive 60; client id
 * "myvoiceismypassport"; username "user"; password "pass" */
#define CONNECT_311                                                                                \
    "102b00044d51545404c2003c00136d79766f69636569736d7970617373706f7274000475736572000470617373"

START_TEST(test_row)
{
    ck_assert_ptr_eq(dissector_by_name("mqtt"), D);
    ck_assert_ptr_eq(dissector_by_id(DISS_MQTT), D);
    ck_assert_int_eq(D->transports, DISS_TCP);
    ck_assert_int_eq(D->ports[0], 1883);
    ck_assert_int_eq(D->ports[1], 8883);
    for (const char *const *a = D->anomalies; *a; a++)
        ck_assert(strncmp(*a, "mqtt.", 5) == 0);
}
END_TEST

START_TEST(test_probe)
{
    static const struct {
        const char *hex;
        enum probe_result want;
    } cases[] = {
        {"", PROBE_NEED_MORE},
        {"10", PROBE_NEED_MORE},
        {"102b0004", PROBE_NEED_MORE},
        {CONNECT_311, PROBE_YES},
        {"104000064d5149736470", PROBE_YES}, /* MQIsdp (nDPI mqtt.pcap frame 2) */
        {"102b00044d515454", PROBE_YES},
        {"102b00044d515458", PROBE_NO}, /* wrong protocol name */
        /* mid-stream: well-formed packets without a PUBLISH are not enough yet */
        {"20020000", PROBE_NEED_MORE},
        {"e000", PROBE_NEED_MORE},
        {"c000d000e0", PROBE_NEED_MORE},
        /* mqtt311-pub-qos1 frame 8: a PUBLISH with a printable topic, exactly framed */
        {"321a0006746f706963580001626161626161626c61636b7368656570", PROBE_YES},
        {"c000321a0006746f706963580001626161626161626c61636b7368656570", PROBE_YES},
        {"321a0006746f7069", PROBE_NEED_MORE},               /* topic still arriving */
        {"321a0006746f706963580001626161626161", PROBE_YES}, /* payload still arriving */
        {"30050003610062", PROBE_NO},                        /* NUL in the topic */
        {"30050000616263", PROBE_NO},                        /* empty topic */
        {"3605000161626364", PROBE_NO},                      /* QoS 3 */
        {"00000000", PROBE_NO},
        {"c001ff", PROBE_NO},                 /* PINGREQ with a body */
        {"1603010200010001fc0303", PROBE_NO}, /* TLS ClientHello (port 8883) */
        {"474554202f20485454502f312e310d0a", PROBE_NO},
        {"10ffffffff01", PROBE_NO}, /* overlong length */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[64];
        size_t n = hex_to_bytes(cases[i].hex, b, sizeof(b));
        struct cursor c = cursor_make(n ? b : NULL, n);
        ck_assert_msg(D->probe(&c, 1) == cases[i].want, "case %zu", i);
    }
}
END_TEST

START_TEST(test_connect_311_password_never_logged)
{
    const struct event *e = feed1(CONNECT_311, 1);
    code_op(e, 1, "connect");
    ck_assert_int_eq(e->dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "remaining_length"), 43);
    ev_s(e, "protocol_name", "MQTT");
    ck_assert_uint_eq(ev_u(e, "protocol_level"), 4);
    ck_assert_uint_eq(ev_u(e, "connect_flags"), 0xc2);
    ck_assert_uint_eq(ev_u(e, "clean_session"), 1);
    ck_assert_uint_eq(ev_u(e, "keepalive"), 60);
    ck_assert_uint_eq(ev_u(e, "will"), 0);
    ev_s(e, "client_id", "myvoiceismypassport");
    ck_assert_uint_eq(ev_u(e, "username_present"), 1);
    ck_assert_uint_eq(ev_u(e, "password_present"), 1);
    ev_s(e, "username", "user");
    ck_assert_int_eq(e->nanom, 0);
    /* "pass" appears only inside the key password_present and the client id */
    const char *j = rec.json[rec.n - 1];
    ck_assert_ptr_null(strstr(j, "\"pass\""));
    ck_assert_ptr_null(strstr(j, "70617373"));
    for (const char *p = strstr(j, "pass"); p; p = strstr(p + 1, "pass"))
        ck_assert(strncmp(p, "password_present", 16) == 0 || strncmp(p - 2, "mypassport", 10) == 0);
}
END_TEST

START_TEST(test_connect_azure_password_never_logged)
{
    /* nDPI mqtt.pcap frame 9: CONNECT len 282 (9a 02); "MQTT" 4; flags 0xc0; keepalive 600;
     * client id "P47775ID170W2120"; username "iotazewpmlithub.azure-devices.net/..."; password
     * "SharedAccessSignature sr=...&sig=KU4uiBTfWe%2Fxs%2BgTG5WQDLvzrPx4U62HTpSlfkfxrfQ%3D..." */
    const struct event *e = feed1(
        "109a0200044d51545404c00258001050343737373549443137305732313230004a696f74617a6577706d6c"
        "69746875622e617a7572652d646576696365732e6e65742f503437373735494431373057323132302f3f61"
        "70692d76657273696f6e3d323031382d30362d333000b05368617265644163636573735369676e61747572"
        "65207369673d4b5534556942546657652532467873253242675447355751444c767a72507834553632485470"
        "536c666b66787266512533442673653d313634333031373934372673723d696f74617a6577706d6c69746875"
        "622e617a7572652d646576696365732e6e65742532465034373737354944313730573231323025324625334661"
        "70"
        "692d76657273696f6e253344323031382d30362d3330",
        1);
    code_op(e, 1, "connect");
    ck_assert_uint_eq(ev_u(e, "keepalive"), 600);
    ev_s(e, "client_id", "P47775ID170W2120");
    ev_s(e, "username",
         "iotazewpmlithub.azure-devices.net/P47775ID170W2120/?api-version=2018-06-30");
    ck_assert_uint_eq(ev_u(e, "password_present"), 1);
    ck_assert_int_eq(e->nanom, 0);
    const char *j = rec.json[rec.n - 1];
    ck_assert_ptr_null(strstr(j, "SharedAccess"));
    ck_assert_ptr_null(strstr(j, "KU4uiBTfWe"));
    ck_assert_ptr_null(strstr(j, "sig="));
    ck_assert_ptr_null(strstr(j, "536861726564")); /* nor as hex */
}
END_TEST

START_TEST(test_connect_31_username_is_password)
{
    /* nDPI mqtt.pcap frame 2: CONNECT len 64; "MQIsdp" level 3; flags 0xc2; keepalive
     * 20; client id "cbaabcbabacbbbbbaaaaab"; username and password both "02D5050223D3" */
    const struct event *e =
        feed1("104000064d514973647003c20014001663626161626362616261636262626262"
              "616161616162000c303244353035303232334433000c303244353035303232334433",
              1);
    code_op(e, 1, "connect");
    ev_s(e, "protocol_name", "MQIsdp");
    ck_assert_uint_eq(ev_u(e, "protocol_level"), 3);
    ck_assert_uint_eq(ev_u(e, "keepalive"), 20);
    ev_s(e, "client_id", "cbaabcbabacbbbbbaaaaab");
    ck_assert_uint_eq(ev_u(e, "username_is_password"), 1);
    ev_absent(e, "username");
    ck_assert_ptr_null(strstr(rec.json[rec.n - 1], "02D5050223D3"));
    ck_assert_int_eq(e->nanom, 0);
    /* frame 4 (server): CONNACK 20 02, flags 0, return code 0 accepted; pairs with CONNECT */
    e = feed1("20020000", 0);
    code_op(e, 2, "connack");
    ck_assert_int_eq(e->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "session_present"), 0);
    ck_assert_uint_eq(ev_u(e, "return_code"), 0);
    ck_assert_uint_eq(ev_u(e, "request_type"), 1);
    /* frame 3: SUBSCRIBE 0x82 len 30, id 1, topic "astr/s720/02D5050223D3/99" QoS 0 */
    e = feed1("821e00010019617374722f733732302f3032443530353032323344332f393900", 1);
    code_op(e, 8, "subscribe");
    ck_assert_uint_eq(ev_u(e, "packet_id"), 1);
    ck_assert_uint_eq(ev_u(e, "topic_count"), 1);
    ev_absent(e, "wildcard");
    ck_assert_ptr_nonnull(strstr(
        rec.json[rec.n - 1], "\"topics\":[{\"topic\":\"astr/s720/02D5050223D3/99\",\"qos\":0}]"));
    /* frame 5: SUBACK id 1, granted QoS 0 */
    e = feed1("9003000100", 0);
    code_op(e, 9, "suback");
    ck_assert_uint_eq(ev_u(e, "packet_id"), 1);
    ck_assert_uint_eq(ev_u(e, "request_type"), 8);
    ck_assert_ptr_nonnull(strstr(rec.json[rec.n - 1], "\"return_codes\":[0]"));
    /* frame 8: DISCONNECT e0 00 */
    e = feed1("e000", 1);
    code_op(e, 14, "disconnect");
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_publish_qos1_pairing)
{
    feed1(CONNECT_311, 1);
    feed_ts("20020000", 0, 1600000000000000ull);
    /* mqtt311-pub-qos1 frame 8: PUBLISH 0x32 (QoS 1) len 26, topic "topicX", id 1,
     * payload "baabaablacksheep" (16 bytes) */
    feed_ts("321a0006746f706963580001626161626161626c61636b7368656570", 1, 1600000000100000ull);
    const struct event *e = &rec.ev[rec.n - 1];
    code_op(e, 3, "publish");
    ck_assert_uint_eq(ev_u(e, "qos"), 1);
    ck_assert_uint_eq(ev_u(e, "retain"), 0);
    ck_assert_uint_eq(ev_u(e, "dup"), 0);
    ev_s(e, "topic", "topicX");
    ck_assert_uint_eq(ev_u(e, "packet_id"), 1);
    ck_assert_uint_eq(ev_u(e, "payload_size"), 16);
    ck_assert_int_eq(e->nanom, 0);
    /* frame 9: PUBACK id 1, 250 ms later */
    feed_ts("40020001", 0, 1600000000350000ull);
    e = &rec.ev[rec.n - 1];
    code_op(e, 4, "puback");
    ck_assert_uint_eq(ev_u(e, "packet_id"), 1);
    ck_assert_uint_eq(ev_u(e, "request_type"), 3);
    ck_assert_uint_eq(ev_u(e, "latency_us"), 250000);
    /* a second PUBACK for the same id answers nothing */
    e = feed1("40020001", 0);
    ev_absent(e, "request_type");
}
END_TEST

START_TEST(test_mid_stream)
{
    /* no CONNECT seen: packets are read as v3.1.1 (mqtt311-pub-qos1 frames 8, 9) */
    const struct event *e = feed1("321a0006746f706963580001626161626161626c61636b7368656570", 1);
    code_op(e, 3, "publish");
    ev_s(e, "topic", "topicX");
    ck_assert_uint_eq(ev_u(e, "payload_size"), 16);
    e = feed1("40020001", 0);
    code_op(e, 4, "puback");
    ck_assert_uint_eq(ev_u(e, "request_type"), 3);
    /* a v5 PUBACK with a reason code is not called trailing data while the level is unknown */
    e = feed1("4003000210", 0);
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_invalid_qos)
{
    /* suricata-verify mqtt-events-invalid-qos frame 8: PUBLISH 0x36, QoS 3 */
    feed1(CONNECT_311, 1);
    const struct event *e = feed1("361a0006746f706963580001626161626161626c61636b7368656570", 1);
    code_op(e, 3, "publish");
    ck_assert_uint_eq(ev_u(e, "qos"), 3);
    ck_assert(event_has_anomaly(e, "mqtt.invalid_qos"));
    ck_assert_uint_eq(ev_u(e, "packet_id"), 1); /* tshark reads an id as well */
}
END_TEST

START_TEST(test_v5)
{
    /* mqtt5-pub-mosquittoprops frame 4: CONNECT len 204 (cc 01) "MQTT" v5, flags 0xc6
     * (user, password, will QoS 0, will, clean); keepalive 60; properties 60; client id
     * "myvoiceismypassport"; will properties 75, will topic "willtopic", will message 11
     * bytes; username "user", password "pass" */
    const struct event *e = feed1(
        "10cc0100044d51545405c6003c3c2700002b672100de110000022b22029a2600097573657270726f703100"
        "087573657276616c312600097573657270726f703200087573657276616c3200136d79766f6963656973"
        "6d7970617373706f72744b03000a6d7977696c6c74797065090007313233343536370200000085019008"
        "000f726573706f6e73655f746f706963312600097573657270726f703500087573657276616c35180000"
        "00c8000977696c6c746f706963000b77696c6c6d657373616765000475736572000470617373",
        1);
    code_op(e, 1, "connect");
    ck_assert_uint_eq(ev_u(e, "protocol_level"), 5);
    ck_assert_uint_eq(ev_u(e, "remaining_length"), 204);
    ck_assert_uint_eq(ev_u(e, "properties_len"), 60);
    ev_s(e, "client_id", "myvoiceismypassport");
    ck_assert_uint_eq(ev_u(e, "will_properties_len"), 75);
    ev_s(e, "will_msg.topic", "willtopic");
    ck_assert_uint_eq(ev_u(e, "will_msg.qos"), 0);
    ck_assert_uint_eq(ev_u(e, "will_msg.payload_size"), 11);
    ev_s(e, "username", "user");
    ck_assert_int_eq(e->nanom, 0);
    /* frame 6: CONNACK len 6, reason 0, properties 3 (topic alias maximum 10) */
    e = feed1("200600000322000a", 0);
    code_op(e, 2, "connack");
    ck_assert_uint_eq(ev_u(e, "reason_code"), 0);
    ck_assert_uint_eq(ev_u(e, "properties_len"), 3);
    ck_assert_int_eq(e->nanom, 0);
    /* frame 8: PUBLISH QoS 1 len 94, topic "topicX", id 1, properties 67, payload 16 */
    e = feed1("325e0006746f706963580001430300066d79747970650900053132333435020000004d015808000f7265"
              "73706f6e73655f746f706963312300052600097573657270726f703300087573657276616c33626161"
              "626161626c61636b7368656570",
              1);
    code_op(e, 3, "publish");
    ck_assert_uint_eq(ev_u(e, "properties_len"), 67);
    ck_assert_uint_eq(ev_u(e, "payload_size"), 16);
    /* frame 9: PUBACK id 1 reason 0x10 (no matching subscribers) */
    e = feed1("4003000110", 0);
    code_op(e, 4, "puback");
    ck_assert_uint_eq(ev_u(e, "reason_code"), 0x10);
    ck_assert_uint_eq(ev_u(e, "request_type"), 3);
    ck_assert_int_eq(e->nanom, 0);
    /* frame 10: DISCONNECT len 29, reason 0, properties 27 */
    e = feed1("e01d001b110000007a2600097573657270726f703400087573657276616c34", 1);
    code_op(e, 14, "disconnect");
    ck_assert_uint_eq(ev_u(e, "reason_code"), 0);
    ck_assert_uint_eq(ev_u(e, "properties_len"), 27);
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_v5_every_other_type)
{
    /* v5 CONNECT (len 13, "MQTT" 5, clean, keepalive 60, no properties, empty id) */
    feed1("100d00044d5154540502003c000000", 1);
    feed1("2003000000", 0); /* CONNACK, reason 0, no properties */
    /* PUBLISH 0x34 QoS 2, "a/b", id 2, no properties, "hi" */
    const struct event *e = feed1("340a0003612f620002006869", 1);
    code_op(e, 3, "publish");
    ck_assert_uint_eq(ev_u(e, "qos"), 2);
    ck_assert_uint_eq(ev_u(e, "payload_size"), 2);
    e = feed1("50020002", 0); /* PUBREC id 2 */
    code_op(e, 5, "pubrec");
    ck_assert_uint_eq(ev_u(e, "request_type"), 3);
    e = feed1("62020002", 1); /* PUBREL id 2 */
    code_op(e, 6, "pubrel");
    ck_assert_int_eq(e->dir, EV_DIR_REQUEST);
    e = feed1("70020002", 0); /* PUBCOMP id 2 */
    code_op(e, 7, "pubcomp");
    ck_assert_uint_eq(ev_u(e, "request_type"), 6);
    /* SUBSCRIBE id 3, no properties, "#" QoS 1, "a/+/c" QoS 2 */
    e = feed1("820f000300000123010005612f2b2f6302", 1);
    code_op(e, 8, "subscribe");
    ck_assert_uint_eq(ev_u(e, "topic_count"), 2);
    ck_assert_uint_eq(ev_u(e, "wildcard"), 1);
    ck_assert_ptr_nonnull(strstr(
        rec.json[rec.n - 1], "\"topics\":[{\"topic\":\"#\",\"wildcard\":true,\"qos\":1,"
                             "\"options\":1},{\"topic\":\"a/+/c\",\"wildcard\":true,\"qos\":2"));
    e = feed1("90050003000102", 0); /* SUBACK id 3, no properties: granted 1, 2 */
    code_op(e, 9, "suback");
    ck_assert_ptr_nonnull(strstr(rec.json[rec.n - 1], "\"return_codes\":[1,2]"));
    e = feed1("a206000400000123", 1); /* UNSUBSCRIBE id 4, no properties, "#" */
    code_op(e, 10, "unsubscribe");
    e = feed1("b004000400"
              "00",
              0); /* UNSUBACK id 4, reason 0 */
    code_op(e, 11, "unsuback");
    ck_assert_uint_eq(ev_u(e, "request_type"), 10);
    e = feed1("c000", 1);
    code_op(e, 12, "pingreq");
    e = feed1("d000", 0);
    code_op(e, 13, "pingresp");
    ck_assert_uint_eq(ev_u(e, "request_type"), 12);
    e = feed1("f0021800", 1); /* AUTH reason 0x18 continue authentication */
    code_op(e, 15, "auth");
    ck_assert_uint_eq(ev_u(e, "reason_code"), 0x18);
    ck_assert_int_eq(e->nanom, 0);
}
END_TEST

START_TEST(test_segments)
{
    /* three packets in one segment, then one packet byte by byte */
    feed1(CONNECT_311, 1);
    int before = rec.n;
    feed_ts("c000"
            "40020009"
            "e000",
            1, 1600000000000000ull);
    ck_assert_int_eq(rec.n, before + 3);
    ck_assert_int_eq(rec.ev[before].code, 12);
    ck_assert_int_eq(rec.ev[before + 1].code, 4);
    ck_assert_int_eq(rec.ev[before + 2].code, 14);
    static const char pub[] = "321a0006746f706963580001626161626161626c61636b7368656570";
    uint8_t b[64];
    size_t n = hex_to_bytes(pub, b, sizeof(b));
    before = rec.n;
    for (size_t i = 0; i < n; i++) {
        feed_bytes(b + i, 1, 1, 1600000000000000ull, 0);
        ck_assert_int_eq(rec.n, before + (i + 1 == n));
    }
    ev_s(&rec.ev[rec.n - 1], "topic", "topicX");
}
END_TEST

START_TEST(test_overlong_and_resync)
{
    feed1(CONNECT_311, 1);
    /* a fifth length byte: framing is lost; the scan finds the PINGREQ after it */
    int before = rec.n;
    feed_ts("30ffffffff7f"
            "0102"
            "c000",
            1, 1600000000000000ull);
    ck_assert_int_ge(rec.n, before + 2);
    ck_assert(event_has_anomaly(&rec.ev[before], "mqtt.overlong_length"));
    ck_assert(event_has_anomaly(&rec.ev[before], "mqtt.resync"));
    ck_assert(!rec.ev[before].has_code);
    const struct event *e = &rec.ev[rec.n - 1];
    code_op(e, 12, "pingreq");
    ck_assert_uint_gt(ev_u(e, "resync_skipped"), 0);
    /* after a gap: bytes in the middle of a packet are skipped, the next header found */
    before = rec.n;
    uint8_t b[16];
    size_t n = hex_to_bytes("6f6f6f"
                            "e000",
                            b, sizeof(b));
    feed_bytes(b, n, 1, 1600000000000000ull, 1);
    ck_assert_int_eq(rec.ev[rec.n - 1].code, 14);
}
END_TEST

START_TEST(test_malformed)
{
    feed1(CONNECT_311, 1);
    const struct event *e = feed1("0000", 1); /* type 0 is reserved */
    ck_assert(event_has_anomaly(e, "mqtt.reserved_type"));
    e = feed1("83050001000100", 1); /* SUBSCRIBE with flags 3 */
    ck_assert(event_has_anomaly(e, "mqtt.bad_flags"));
    e = feed1("82020001", 1); /* SUBSCRIBE with no topic */
    ck_assert(event_has_anomaly(e, "mqtt.empty_subscription"));
    e = feed1("820600010001230"
              "3",
              1); /* requested QoS 3 */
    ck_assert(event_has_anomaly(e, "mqtt.invalid_qos"));
    e = feed1("4003000100", 0); /* v3.1.1 PUBACK with a stray byte */
    ck_assert(event_has_anomaly(e, "mqtt.trailing_data"));
    e = feed1("300400106162", 1); /* PUBLISH whose topic length overruns the packet */
    ck_assert(event_has_anomaly(e, "mqtt.truncated_packet"));
    e = feed1("100c00044d51545404030000"
              "0000",
              1); /* reserved connect flag */
    ck_assert(event_has_anomaly(e, "mqtt.bad_connect_flags"));
}
END_TEST

START_TEST(test_large_publish)
{
    /* a 100000-byte PUBLISH (len a0 8d 06): one event after the head, the tail skipped */
    feed1(CONNECT_311, 1);
    static uint8_t big[100010];
    size_t n = 0;
    big[n++] = 0x30;
    big[n++] = 0xa0;
    big[n++] = 0x8d;
    big[n++] = 0x06; /* 0x20 + 0x0d << 7 + 0x06 << 14 = 100000 */
    big[n++] = 0x00;
    big[n++] = 0x01;
    big[n++] = 't';
    memset(big + n, 'x', 100000 - 3);
    n += 100000 - 3;
    int before = rec.n;
    for (size_t off = 0; off < n; off += 1460) {
        size_t k = n - off < 1460 ? n - off : 1460;
        feed_bytes(big + off, k, 1, 1600000000000000ull, 0);
    }
    ck_assert_int_eq(rec.n, before + 1);
    const struct event *e = &rec.ev[before];
    code_op(e, 3, "publish");
    ck_assert_uint_eq(ev_u(e, "payload_size"), 100000 - 3);
    ck_assert_uint_eq(ev_u(e, "partial"), 1);
    ck_assert_int_eq(e->nanom, 0);
    /* framing holds: the next packet is read */
    e = feed1("c000", 1);
    code_op(e, 12, "pingreq");
}
END_TEST

/* Every packet cut short, announced as shorter: one event, no crash. */
START_TEST(test_truncated_everywhere)
{
    static const char *const pkts[] = {
        CONNECT_311,
        ("10cc0100044d51545405c6003c3c2700002b672100de110000022b22029a2600097573657270726f703100"
         "087573657276616c312600097573657270726f703200087573657276616c3200136d79766f6963656973"
         "6d7970617373706f72744b03000a6d7977696c6c74797065090007313233343536370200000085019008"
         "000f726573706f6e73655f746f706963312600097573657270726f703500087573657276616c35180000"
         "00c8000977696c6c746f706963000b77696c6c6d657373616765000475736572000470617373"),
        ("325e0006746f706963580001430300066d79747970650900053132333435020000004d015808000f7265"
         "73706f6e73655f746f706963312300052600097573657270726f703300087573657276616c33626161"
         "626161626c61636b7368656570"),
        "820f000300000123010005612f2b2f6302",
        "200600000322000a",
        "e01d001b110000007a2600097573657270726f703400087573657276616c34",
    };
    for (size_t p = 0; p < sizeof(pkts) / sizeof(pkts[0]); p++) {
        uint8_t full[512];
        size_t n = hex_to_bytes(pkts[p], full, sizeof(full));
        size_t hl = (full[1] & 0x80) ? 3 : 2;
        for (size_t v5 = 0; v5 < 2; v5++) {
            for (size_t body = 0; body + hl < n && body < 128; body++) {
                /* header announcing `body` bytes, then those bytes */
                uint8_t *pkt = malloc(2 + body);
                pkt[0] = full[0];
                pkt[1] = (uint8_t)body;
                memcpy(pkt + 2, full + hl, body);
                teardown();
                setup();
                if (v5) feed1("100d00044d5154540502003c000000", 1);
                int before = rec.n;
                feed_bytes(pkt, 2 + body, 1, 1600000000000000ull, 0);
                free(pkt);
                ck_assert_int_eq(rec.n, before + 1);
                /* and the prefix alone waits for more */
                size_t used;
                {
                    struct cursor c = cursor_make(full, hl + body);
                    struct pdu_info info = {1, DISS_TCP, 0, 0};
                    void *s2 = D->state_new();
                    used = D->parse(s2, &c, &info, &rec.sink);
                    D->state_free(s2);
                }
                ck_assert_uint_eq(used, 0);
                if (rec.n > REC_MAX - 4) recorder_init(&rec);
            }
        }
    }
}
END_TEST

/* ---- whole captures: packet types against the tshark oracle ---- */

struct count_ctx {
    unsigned codes[16];
    unsigned events;
    unsigned anomalies;
    int json_has_secret;
};

static const char *secret;

static void count_event(void *ctx, struct event *e)
{
    static char json[65536];
    struct count_ctx *k = ctx;
    k->events++;
    k->anomalies += e->nanom;
    if (e->has_code && e->code >= 0 && e->code < 16) k->codes[e->code]++;
    ck_assert_uint_gt(event_to_json(e, NULL, json, sizeof(json)), 0);
    if (secret && strstr(json, secret)) k->json_has_secret = 1;
}

/* Plays a capture into the dissector the way the engine does (testutil.c). */
static void play_pcap(const char *name, struct count_ctx *k)
{
    static struct event_sink sink;
    event_sink_init(&sink, count_event, k);
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), D, &sink, 1883, 0), 0);
}

START_TEST(test_pcap_ndpi)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    secret = "SharedAccessSignature";
    play_pcap("corpus/nDPI/mqtt.pcap", &k);
    secret = NULL;
    /* tshark mqtt.msgtype: 1:2 3:2 14:1 2:1 8:1 9:1 */
    ck_assert_uint_eq(k.codes[1], 2);
    ck_assert_uint_eq(k.codes[3], 2);
    ck_assert_uint_eq(k.codes[14], 1);
    ck_assert_uint_eq(k.codes[2], 1);
    ck_assert_uint_eq(k.codes[8], 1);
    ck_assert_uint_eq(k.codes[9], 1);
    ck_assert_uint_eq(k.events, 8);
    ck_assert_uint_eq(k.anomalies, 0);
    ck_assert(!k.json_has_secret);
}
END_TEST

START_TEST(test_pcap_suricata)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("mqtt_events_invalid_qos.pcap", &k);
    /* tshark: 1:1 2:1 3:1 14:1; one invalid QoS */
    ck_assert_uint_eq(k.codes[1], 1);
    ck_assert_uint_eq(k.codes[2], 1);
    ck_assert_uint_eq(k.codes[3], 1);
    ck_assert_uint_eq(k.codes[14], 1);
    ck_assert_uint_eq(k.events, 4);
    ck_assert_uint_eq(k.anomalies, 1);
    memset(&k, 0, sizeof(k));
    play_pcap("corpus/suricata-verify/mqtt5-pub-mosquittoprops/input.pcap", &k);
    /* tshark: 1 2 3 4 14 once each */
    ck_assert_uint_eq(k.events, 5);
    ck_assert_uint_eq(k.codes[4], 1);
    ck_assert_uint_eq(k.anomalies, 0);
}
END_TEST

/* ---- state_spoof: Sparkplug B topics, packets built per MQTT 3.1.1 §3.1 and §3.3 ---- */

/* Appends a 2-byte length and the text. */
static size_t put_str(uint8_t *b, const char *t)
{
    size_t n = strlen(t);
    b[0] = (uint8_t)(n >> 8);
    b[1] = (uint8_t)n;
    memcpy(b + 2, t, n);
    return 2 + n;
}

/* CONNECT v3.1.1, clean session, keepalive 60; with a Will (QoS 0, payload "x") when
 * will_topic is not NULL. */
static void connect_as(const char *client_id, const char *will_topic)
{
    uint8_t body[512], pkt[520];
    size_t n = put_str(body, "MQTT");
    body[n++] = 4;                        /* protocol level 3.1.1 */
    body[n++] = will_topic ? 0x06 : 0x02; /* will flag, clean session */
    body[n++] = 0;
    body[n++] = 60; /* keepalive */
    n += put_str(body + n, client_id);
    if (will_topic) {
        n += put_str(body + n, will_topic);
        n += put_str(body + n, "x");
    }
    ck_assert_uint_lt(n, 128); /* one-byte remaining length */
    pkt[0] = 0x10;
    pkt[1] = (uint8_t)n;
    memcpy(pkt + 2, body, n);
    int before = rec.n;
    feed_bytes(pkt, n + 2, 1, 1600000000000000ull, 0);
    ck_assert_int_eq(rec.n, before + 1);
    ck_assert_str_eq(rec.ev[rec.n - 1].op, "connect");
}

/* PUBLISH QoS 0 of a 2-byte payload; returns how many events it gave. */
static int publish(const char *topic, int to_server)
{
    uint8_t pkt[300];
    size_t n = put_str(pkt + 2, topic);
    pkt[2 + n++] = 0x08; /* two payload bytes (a protobuf varint field) */
    pkt[2 + n++] = 0x01;
    ck_assert_uint_lt(n, 128);
    pkt[0] = 0x30;
    pkt[1] = (uint8_t)n;
    int before = rec.n;
    feed_bytes(pkt, n + 2, to_server, 1600000000000000ull, 0);
    ck_assert_str_eq(rec.ev[before].op, "publish");
    return rec.n - before;
}

/* The last event must be a state_spoof of topic, kind and target. */
static void spoofed(const char *topic, const char *kind, const char *target)
{
    const struct event *e = &rec.ev[rec.n - 1];
    ck_assert_str_eq(e->op, "state_spoof");
    ck_assert_str_eq(e->proto, "mqtt");
    ck_assert(!e->has_code);
    ck_assert_int_eq(e->dir, EV_DIR_REQUEST);
    ev_s(e, "topic", topic);
    ev_s(e, "kind", kind);
    ev_s(e, "target", target);
}

START_TEST(test_state_spoof_edge_node)
{
    connect_as("edge-client-1", "spBv1.0/plant/NDEATH/line1");
    /* its own birth and deaths: one event each (the PUBLISH) */
    ck_assert_int_eq(publish("spBv1.0/plant/NBIRTH/line1", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/DBIRTH/line1/pump", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/DDEATH/line1/pump", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/NDATA/line1", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line1", 1), 1);
    /* another edge node's death, in its group and in another */
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line2", 1), 2);
    spoofed("spBv1.0/plant/NDEATH/line2", "ndeath", "line2");
    ck_assert_int_eq(publish("spBv1.0/other/NDEATH/line1", 1), 2);
    spoofed("spBv1.0/other/NDEATH/line1", "ndeath", "line1");
    /* a device of another node */
    ck_assert_int_eq(publish("spBv1.0/plant/DDEATH/line2/pump", 1), 2);
    spoofed("spBv1.0/plant/DDEATH/line2/pump", "ddeath", "line2");
    /* a host application's state, both topic forms */
    ck_assert_int_eq(publish("spBv1.0/STATE/scada1", 1), 2);
    spoofed("spBv1.0/STATE/scada1", "state", "scada1");
    ck_assert_int_eq(publish("STATE/scada1", 1), 2);
    spoofed("STATE/scada1", "state", "scada1");
    /* commands and data of others are other rules' business; near misses are no
     * Sparkplug state topics */
    ck_assert_int_eq(publish("spBv1.0/plant/NCMD/line2", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line2/extra", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/STATE/", 1), 1);
    ck_assert_int_eq(publish("plant/NDEATH/line2", 1), 1);
    /* what the broker delivers to this client is someone else's publication */
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line9", 0), 1);
}
END_TEST

START_TEST(test_state_spoof_host_and_client_id)
{
    /* a host application: its Will is its STATE topic */
    connect_as("scada-primary", "spBv1.0/STATE/scada1");
    ck_assert_int_eq(publish("spBv1.0/STATE/scada1", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/STATE/scada2", 1), 2);
    spoofed("spBv1.0/STATE/scada2", "state", "scada2");
    /* a host application announces no edge node: any NDEATH is another's */
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line1", 1), 2);
    /* a new CONNECT (a new identity): the client id names the node */
    connect_as("line7", NULL);
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line7", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/STATE/line7", 1), 1); /* B 2.2 hosts: id = client id */
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line8", 1), 2);
}
END_TEST

START_TEST(test_state_spoof_mid_stream)
{
    /* no CONNECT seen: nobody knows who this client is */
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line1", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/STATE/scada1", 1), 1);
    /* it announces itself with an NBIRTH: then other nodes' deaths are spoofs */
    ck_assert_int_eq(publish("spBv1.0/plant/NBIRTH/line3", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line3", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line4", 1), 2);
    spoofed("spBv1.0/plant/NDEATH/line4", "ndeath", "line4");
    /* a second NBIRTH does not make another node its own */
    ck_assert_int_eq(publish("spBv1.0/plant/NBIRTH/line4", 1), 1);
    ck_assert_int_eq(publish("spBv1.0/plant/NDEATH/line4", 1), 2);
    /* host state stays unknown without a CONNECT */
    ck_assert_int_eq(publish("spBv1.0/STATE/scada1", 1), 1);
}
END_TEST

static Suite *mqtt_suite(void)
{
    Suite *s = suite_create("mqtt");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_row);
    tcase_add_test(t, test_probe);
    tcase_add_test(t, test_connect_311_password_never_logged);
    tcase_add_test(t, test_connect_azure_password_never_logged);
    tcase_add_test(t, test_connect_31_username_is_password);
    tcase_add_test(t, test_publish_qos1_pairing);
    tcase_add_test(t, test_mid_stream);
    tcase_add_test(t, test_invalid_qos);
    tcase_add_test(t, test_v5);
    tcase_add_test(t, test_v5_every_other_type);
    tcase_add_test(t, test_segments);
    tcase_add_test(t, test_overlong_and_resync);
    tcase_add_test(t, test_malformed);
    tcase_add_test(t, test_large_publish);
    tcase_add_test(t, test_truncated_everywhere);
    tcase_add_test(t, test_pcap_ndpi);
    tcase_add_test(t, test_pcap_suricata);
    tcase_add_test(t, test_state_spoof_edge_node);
    tcase_add_test(t, test_state_spoof_host_and_client_id);
    tcase_add_test(t, test_state_spoof_mid_stream);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(mqtt_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
