/* test_enip.c - EtherNet/IP encapsulation: real PDUs from the corpus, framing,
 * truncation, I/O summaries, and whole captures scored against tshark. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cip.h"
#include "dissector.h"
#include "testutil.h"

extern const struct dissector enip_dissector;

static struct recorder rec;
static void *state;

static void setup(void)
{
    recorder_init(&rec);
    rec.sink.net.src_port = 50000;
    rec.sink.net.dst_port = 44818;
    state = enip_dissector.state_new();
}

static void teardown(void)
{
    enip_dissector.state_free(state);
}

/* One parse() call over bytes given as hex; returns what it consumed. */
static size_t feed_hex(const char *hex, int to_server, int transport, int after_gap)
{
    static uint8_t buf[4096];
    size_t n = hex_to_bytes(hex, buf, sizeof(buf));
    struct cursor c = cursor_make(buf, n);
    struct pdu_info info = {to_server, transport, after_gap, 1600000000000000ull};
    return enip_dissector.parse(state, &c, &info, &rec.sink);
}

static size_t feed_bytes(const uint8_t *b, size_t n, int to_server, int transport)
{
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {to_server, transport, 0, 1600000000000000ull};
    return enip_dissector.parse(state, &c, &info, &rec.sink);
}

static const struct event *nth(const char *proto, int k)
{
    for (int i = 0; i < rec.n; i++)
        if (strcmp(rec.ev[i].proto, proto) == 0 && k-- == 0) return &rec.ev[i];
    return NULL;
}

static int count(const char *proto)
{
    int n = 0;
    for (int i = 0; i < rec.n; i++)
        n += strcmp(rec.ev[i].proto, proto) == 0;
    return n;
}

static uint64_t u(const struct event *e, const char *path)
{
    const struct ev_field *f = event_find(e, path);
    ck_assert_msg(f != NULL, "missing field %s", path);
    return f->v.u;
}

/* A STR field's text, or a HEX field's bytes written as lowercase hex. */
static void str_is(const struct event *e, const char *path, const char *want)
{
    const struct ev_field *f = event_find(e, path);
    ck_assert_msg(f != NULL, "missing field %s", path);
    char text[2 * EVENT_STR_CAP + 1];
    const char *t = event_field_text(e, f);
    size_t n = f->len;
    if (f->type == EVF_HEX) {
        for (size_t i = 0; i < f->len; i++)
            snprintf(text + 2 * i, 3, "%02x", (unsigned char)t[i]);
        t = text;
        n = 2 * f->len;
    }
    ck_assert_msg(n == strlen(want) && memcmp(t, want, n) == 0, "%s: got %.*s", path, (int)n, t);
}

/* suricata-verify enip-alert/enip_test1.pcap frame 4: ListIdentity request over TCP */
static const char LIST_IDENTITY_REQ[] = "6300"             /* command 0x0063 ListIdentity */
                                        "0000"             /* length 0 */
                                        "00000000"         /* session handle */
                                        "00000000"         /* status success */
                                        "00000000c1debed1" /* sender context */
                                        "00000000";        /* options */

/* frame 6: its reply, one CIP Identity item */
static const char LIST_IDENTITY_RSP[] =
    "6300"
    "3300"
    "00000000"
    "00000000"
    "00000000c1debed1"
    "00000000" /* header, length 51 */
    "0100"     /* item count 1 */
    "0c00"
    "2d00" /* item 0x000C CIP Identity, length 45 */
    "0100" /* encapsulation protocol version 1 */
    "0002"
    "af12"
    "0a0101a4"
    "0000000000000000" /* sockaddr (BE): AF_INET, 44818, 10.1.1.164 */
    "0100"             /* vendor 1 (Rockwell Automation/Allen-Bradley) */
    "0c00"             /* device type 12 (communications adapter) */
    "3a00"             /* product code 58 */
    "04"
    "03"       /* revision 4.03 */
    "3000"     /* status 0x0030 */
    "8e4d5200" /* serial 0x00524d8e */
    "0b"
    "313735362d454e42542f41" /* product name "1756-ENBT/A" */
    "03";                    /* state 3 */

START_TEST(list_identity)
{
    ck_assert_uint_eq(feed_hex(LIST_IDENTITY_REQ, 1, DISS_TCP, 0), 24);
    ck_assert_uint_eq(feed_hex(LIST_IDENTITY_RSP, 0, DISS_TCP, 0), 75);
    ck_assert_int_eq(rec.n, 2);
    const struct event *q = &rec.ev[0], *r = &rec.ev[1];
    ck_assert_str_eq(q->proto, "enip");
    ck_assert_int_eq(q->code, 0x63);
    ck_assert_str_eq(q->op, "list_identity");
    ck_assert_int_eq(q->dir, EV_DIR_REQUEST);
    str_is(q, "context", "00000000c1debed1");
    ck_assert_int_eq(r->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(u(r, "identity.vendor_id"), 1);
    ck_assert_uint_eq(u(r, "identity.device_type"), 12);
    str_is(r, "identity.vendor", "Rockwell Automation/Allen-Bradley");
    str_is(r, "identity.device_type_name", "communications_adapter");
    ck_assert_uint_eq(u(r, "identity.product_code"), 58);
    str_is(r, "identity.revision", "4.03");
    str_is(r, "identity.serial", "0x00524d8e");
    str_is(r, "identity.product_name", "1756-ENBT/A");
    str_is(r, "device.addr", "10.1.1.164:44818");
    ck_assert_uint_eq(u(r, "state"), 3);
    ck_assert_int_eq(r->nanom, 0);
}
END_TEST

/* No corpus capture holds RegisterSession, so these follow the specification
 * (CIP Vol. 2 §2-4.4) with the session handle of EIP-SoftwareUpload.pcap. */
START_TEST(register_session)
{
    feed_hex("6500"
             "0400"
             "00000000"
             "00000000"
             "0000000000000000"
             "00000000" /* header */
             "0100"     /* protocol version 1 */
             "0000",    /* option flags */
             1, DISS_TCP, 0);
    feed_hex("6500"
             "0400"
             "00010211"
             "00000000"
             "0000000000000000"
             "00000000"
             "0100"
             "0000",
             0, DISS_TCP, 0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.ev[0].code, 0x65);
    ck_assert_str_eq(rec.ev[0].op, "register_session");
    ck_assert_uint_eq(u(&rec.ev[0], "protocol_version"), 1);
    ck_assert_uint_eq(u(&rec.ev[1], "session"), 0x11020100);
    /* UnRegisterSession carries no data */
    feed_hex("6600"
             "0000"
             "00010211"
             "00000000"
             "0000000000000000"
             "00000000",
             1, DISS_TCP, 0);
    ck_assert_str_eq(rec.ev[2].op, "unregister_session");
    ck_assert_int_eq(rec.ev[2].nanom, 0);
}
END_TEST

/* EIP-SoftwareUpload.pcap frame 10: SendRRData, Unconnected Send carrying Get_Attributes_All */
static const char UCS_REQ[] = "6f00"
                              "2400"
                              "00010211"
                              "00000000"
                              "22a902002008e100"
                              "00000000" /* SendRRData, length 36 */
                              "00000000" /* interface handle: CIP */
                              "2000"     /* timeout 32 */
                              "0200"     /* item count 2 */
                              "0000"
                              "0000" /* null address item */
                              "b200"
                              "1400" /* unconnected data item, length 20 */
                              "52"   /* service 0x52 Unconnected Send */
                              "02"
                              "2006"
                              "2401" /* path: class 6 (Connection Manager), instance 1 */
                              "07"
                              "f9"   /* priority/tick 7, timeout ticks 249 */
                              "0600" /* embedded message size 6 */
                              "01"
                              "02"
                              "2001"
                              "2401" /* Get_Attributes_All, class 1 (Identity), instance 1 */
                              "01"
                              "00"    /* route path size 1 word, reserved */
                              "0100"; /* port 1 (backplane), link 0 */

/* frame 12: the reply is the embedded request's own response */
static const char UCS_RSP[] =
    "6f00"
    "3700"
    "00010211"
    "00000000"
    "22a902002008e100"
    "00000000"
    "00000000"
    "2000"
    "0200"
    "0000"
    "0000"
    "b200"
    "2700" /* unconnected data item, length 39 */
    "81"
    "00"
    "00"
    "00" /* Get_Attributes_All response, reserved, status 0, no ext status */
    "0100"
    "0e00"
    "3600"
    "10"
    "14"
    "6030"
    "3f825100" /* vendor 1, type 14, code 54, rev 16.20, status, serial */
    "14"
    "313735362d4c36312f42204c4f47495835353631"; /* "1756-L61/B LOGIX5561" */

START_TEST(send_rr_data_unconnected_send)
{
    ck_assert_uint_eq(feed_hex(UCS_REQ, 1, DISS_TCP, 0), 60);
    ck_assert_int_eq(count("enip"), 1);
    ck_assert_int_eq(count("cip"), 2); /* the Unconnected Send and the request it carries */
    const struct event *e = nth("enip", 0);
    ck_assert_int_eq(e->code, 0x6f);
    ck_assert_str_eq(e->op, "send_rr_data");
    ck_assert_uint_eq(u(e, "item_count"), 2);
    const struct event *ucs = nth("cip", 0), *inner = nth("cip", 1);
    ck_assert_int_eq(ucs->code, 0x52);
    ck_assert_str_eq(ucs->op, "unconnected_send");
    ck_assert_uint_eq(u(ucs, "class"), 6);
    str_is(ucs, "route", "1/0");
    ck_assert_int_eq(inner->code, 0x01);
    ck_assert_str_eq(inner->op, "get_attributes_all");
    ck_assert_uint_eq(u(inner, "class"), 1);
    ck_assert_uint_eq(u(inner, "instance"), 1);
    str_is(inner, "via", "unconnected_send");

    ck_assert_uint_eq(feed_hex(UCS_RSP, 0, DISS_TCP, 0), 79);
    ck_assert_int_eq(count("cip"), 3); /* tshark: one cip.sc (0x01) for the reply */
    const struct event *r = nth("cip", 2);
    ck_assert_int_eq(r->dir, EV_DIR_RESPONSE);
    ck_assert_int_eq(r->code, 0x01);
    ck_assert_uint_eq(u(r, "status"), 0);
    ck_assert_uint_eq(u(r, "class"), 1); /* from the paired request */
    ck_assert(event_find(r, "latency_us") != NULL);
    str_is(r, "identity.product_name", "1756-L61/B LOGIX5561");
    str_is(r, "identity.revision", "16.20");
}
END_TEST

/* EIP-SoftwareUpload.pcap frames 23, 24: Forward Open and its reply */
static const char FWD_OPEN_REQ[] =
    "6f00"
    "4000"
    "00010211"
    "00000000"
    "35a902002008e100"
    "00000000"
    "00000000"
    "2000"
    "0200"
    "0000"
    "0000"
    "b200"
    "3000"
    "54"
    "02"
    "2006"
    "2401" /* Forward Open to the Connection Manager */
    "07"
    "f9"       /* priority/tick, timeout ticks */
    "19000080" /* O->T connection id 0x80000019 */
    "1800fe80" /* T->O connection id 0x80fe0018 */
    "1900"     /* connection serial 0x0019 */
    "4d00"     /* originator vendor 0x004d */
    "f32b9532" /* originator serial 0x32952bf3 */
    "00"
    "000000" /* timeout multiplier, reserved */
    "00127a00"
    "f443" /* O->T RPI 8,000,000 us, params 0x43f4 (variable, 500 bytes) */
    "00127a00"
    "f443" /* T->O RPI, params */
    "a3"   /* transport: server, application trigger, class 3 */
    "03"
    "0100"
    "2002"
    "2401"; /* connection path: port 1 link 0, class 2, instance 1 */

static const char FWD_OPEN_RSP[] = "6f00"
                                   "2e00"
                                   "00010211"
                                   "00000000"
                                   "35a902002008e100"
                                   "00000000"
                                   "00000000"
                                   "2000"
                                   "0200"
                                   "0000"
                                   "0000"
                                   "b200"
                                   "1e00"
                                   "d4"
                                   "00"
                                   "00"
                                   "00"       /* Forward Open reply, success */
                                   "010d7900" /* O->T connection id 0x00790d01 */
                                   "1800fe80" /* T->O connection id */
                                   "1900"
                                   "4d00"
                                   "f32b9532" /* serial, vendor, originator serial */
                                   "00127a00"
                                   "00127a00" /* O->T, T->O API */
                                   "00"
                                   "00"; /* application reply size, reserved */

START_TEST(forward_open)
{
    feed_hex(FWD_OPEN_REQ, 1, DISS_TCP, 0);
    const struct event *q = nth("cip", 0);
    ck_assert_int_eq(q->code, 0x54);
    ck_assert_str_eq(q->op, "forward_open");
    ck_assert_uint_eq(u(q, "connection.o_t_id"), 0x80000019);
    ck_assert_uint_eq(u(q, "connection.t_o_id"), 0x80fe0018);
    ck_assert_uint_eq(u(q, "connection.serial"), 0x19);
    ck_assert_uint_eq(u(q, "connection.originator_vendor"), 0x4d);
    ck_assert_uint_eq(u(q, "connection.o_t_rpi_us"), 8000000);
    ck_assert_uint_eq(u(q, "connection.o_t_size"), 500);
    ck_assert_uint_eq(u(q, "connection.transport_class"), 3);
    ck_assert_uint_eq(u(q, "connection.path.class"), 2);
    ck_assert_int_eq(q->nanom, 0);
    feed_hex(FWD_OPEN_RSP, 0, DISS_TCP, 0);
    const struct event *r = nth("cip", 1);
    ck_assert_int_eq(r->code, 0x54);
    ck_assert_str_eq(r->op, "forward_open");
    ck_assert_uint_eq(u(r, "connection.o_t_id"), 0x00790d01);
    ck_assert_uint_eq(u(r, "connection.t_o_api_us"), 8000000);
    /* frame 33: Forward Close */
    feed_hex("6f00"
             "2800"
             "00010211"
             "00000000"
             "49a902002008e100"
             "00000000"
             "00000000"
             "2000"
             "0200"
             "0000"
             "0000"
             "b200"
             "1800"
             "4e"
             "02"
             "2006"
             "2401" /* Forward Close */
             "07"
             "f9"
             "1900"
             "4d00"
             "f32b9532" /* tick, ticks, serial, vendor, orig serial */
             "03"
             "00"
             "0100"
             "2002"
             "2401", /* connection path */
             1, DISS_TCP, 0);
    const struct event *c = nth("cip", 2);
    ck_assert_int_eq(c->code, 0x4e);
    ck_assert_str_eq(c->op, "forward_close");
    ck_assert_uint_eq(u(c, "connection.serial"), 0x19);
}
END_TEST

/* ICS-Security-Tools EthernetIP/cip_stop_plc.pcap: the one frame */
START_TEST(stop_plc)
{
    feed_hex("7000"
             "1c00"
             "01002a00"
             "00000000"
             "0000000000000000"
             "00000000" /* SendUnitData */
             "00000000"
             "0100"
             "0200" /* interface CIP, timeout 1, 2 items */
             "a100"
             "0400"
             "224095ff" /* connected address item: connection 0xff954022 */
             "b100"
             "0800"
             "0600" /* connected data item, sequence count 6 */
             "07"
             "02"
             "208e"
             "2401", /* Stop, class 0x8e, instance 1 */
             1, DISS_TCP, 0);
    ck_assert_int_eq(rec.n, 2);
    const struct event *e = nth("enip", 0), *c = nth("cip", 0);
    ck_assert_int_eq(e->code, 0x70);
    ck_assert_uint_eq(u(e, "connection"), 0xff954022);
    ck_assert_uint_eq(u(e, "cip_seq"), 6);
    ck_assert_int_eq(c->code, 0x07);
    ck_assert_str_eq(c->op, "stop");
    ck_assert_uint_eq(u(c, "class"), 0x8e);
    ck_assert_uint_eq(u(c, "seq"), 6);
}
END_TEST

/* ICS-Security-Tools EthernetIP/cip-multiple-1.pcap: Multiple Service Packet, 11 services */
static const char MSP_REQ[] =
    "7000"
    "ba00"
    "00010211"
    "00000000"
    "0000000000000000"
    "00000000" /* SendUnitData */
    "00000000"
    "0100"
    "0200" /* interface, timeout, 2 items */
    "a100"
    "0400"
    "010b7c00" /* connected address: connection 0x007c0b01 */
    "b100"
    "a600"
    "8907" /* connected data, 166 bytes, sequence count 1929 */
    "0a"
    "02"
    "2002"
    "2401" /* Multiple Service Packet to the Message Router */
    "0b00" /* 11 services at these offsets: */
    "1800"
    "2200"
    "2c00"
    "3600"
    "4c00"
    "5800"
    "6400"
    "7200"
    "7c00"
    "8a00"
    "9400"
    "03022001240101000500" /* Get_Attribute_List class 1 inst 1: 1 attribute (5) */
    "03022069240001000b00" /* class 0x69 inst 0: attribute 11 */
    "03022073240101000200" /* class 0x73 inst 1: attribute 2 */
    "030220ac240107000100020003000500070009000a00" /* class 0xac inst 1: 7 attributes */
    "030320682500202401001300"     /* class 0x68, 16-bit instance 0x2420: attribute 19 */
    "030220702401020012001300"     /* class 0x70 inst 1: attributes 18, 19 */
    "0302208e24010300030008001000" /* class 0x8e inst 1: attributes 3, 8, 16 */
    "03022069240001000900"         /* class 0x69 inst 0: attribute 9 */
    "03022068240003000f0018001900" /* class 0x68 inst 0: attributes 15, 24, 25 */
    "03022077240101000200"         /* class 0x77 inst 1: attribute 2 */
    "0302208b240101000600";        /* class 0x8b inst 1: attribute 6 */

START_TEST(multiple_service_packet)
{
    feed_hex(MSP_REQ, 1, DISS_TCP, 0);
    ck_assert_int_eq(count("enip"), 1);
    ck_assert_int_eq(count("cip"), 12); /* the packet and its 11 services */
    const struct event *m = nth("cip", 0);
    ck_assert_int_eq(m->code, 0x0a);
    ck_assert_str_eq(m->op, "multiple_service");
    ck_assert_uint_eq(u(m, "count"), 11);
    /* classes as tshark lists them: 01 69 73 ac 68 70 8e 69 68 77 8b */
    static const uint32_t cls[11] = {0x01, 0x69, 0x73, 0xac, 0x68, 0x70,
                                     0x8e, 0x69, 0x68, 0x77, 0x8b};
    for (int i = 0; i < 11; i++) {
        const struct event *s = nth("cip", i + 1);
        ck_assert_int_eq(s->code, 0x03);
        ck_assert_str_eq(s->op, "get_attribute_list");
        ck_assert_uint_eq(u(s, "class"), cls[i]);
        ck_assert_uint_eq(u(s, "index"), (uint64_t)i);
        ck_assert_int_eq(s->nanom, 0);
    }
    ck_assert_uint_eq(u(nth("cip", 5), "instance"), 0x2420); /* 16-bit instance segment */
}
END_TEST

/* nDPI ethernetIP.pcap frame 4: a Multiple Service Packet reply with two Read replies */
START_TEST(multiple_service_reply)
{
    feed_hex("7000300000050213000000000000000000000000000000000000000000000200"
             "a10004009dc60080" /* connected address 0x8000c69d */
             "b1001c003335"     /* connected data, sequence count 0x3533 */
             "8a000000"         /* MSP reply, success */
             "0200"
             "0600"
             "0e00" /* 2 replies at 6 and 14 */
             "cc000000"
             "01000000" /* service 0x4c reply, success, 4 data bytes */
             "cc000000"
             "05000000",
             0, DISS_TCP, 0);
    ck_assert_int_eq(count("cip"), 3);
    ck_assert_int_eq(nth("cip", 0)->code, 0x0a);
    ck_assert_int_eq(nth("cip", 1)->code, 0x4c);
    ck_assert_int_eq(nth("cip", 2)->code, 0x4c);
    ck_assert_int_eq(nth("cip", 2)->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(u(nth("cip", 2), "index"), 1);
}
END_TEST

/* EIP-SoftwareUpload.pcap frames 346/347 and 621/622: error replies */
START_TEST(error_status)
{
    feed_hex("7000240000010211000000000000000000000000000000000000000001000200a1000400010f7900"
             "b1001000"
             "8400"
             "03032100340324010200030004 00",
             1, DISS_TCP, 0);
    feed_hex("70001a0000010211000000000000000000000000000000000000000000000200a10004001900fe80"
             "b1000600"
             "8400"
             "83"
             "00"
             "05"
             "00", /* Get_Attribute_List reply, status 0x05 path destination unknown */
             0, DISS_TCP, 0);
    const struct event *r = nth("cip", 1);
    ck_assert_int_eq(r->code, 0x03);
    ck_assert_uint_eq(u(r, "status"), 5);
    str_is(r, "status_name", "path_destination_unknown");
    ck_assert_uint_eq(u(r, "class"), 0x334); /* paired by sequence count 0x84 */
    feed_hex("70001c0000010211000000000000000000000000000000000000000000000200a10004001900fe80"
             "b1000800"
             "0101"
             "cc"
             "00"
             "ff"
             "01"
             "0521", /* status 0xff, one ext status word 0x2105 */
             0, DISS_TCP, 0);
    r = nth("cip", 2);
    ck_assert_int_eq(r->code, 0x4c);
    ck_assert_uint_eq(u(r, "status"), 0xff);
    ck_assert_uint_eq(u(r, "ext_status"), 0x2105);
    ck_assert(event_find(r, "latency_us") == NULL); /* its request was not seen */
    /* an encapsulation error status (constructed: 0x69 unsupported protocol) */
    feed_hex("6500"
             "0400"
             "00000000"
             "69000000"
             "0000000000000000"
             "00000000"
             "0100"
             "0000",
             0, DISS_TCP, 0);
    const struct event *e = nth("enip", 3);
    ck_assert_uint_eq(u(e, "status"), 0x69);
    str_is(e, "status_name", "unsupported_protocol_version");
}
END_TEST

/* icsnpp-enip set_attribute_single_service_cip.pcapng */
START_TEST(set_attribute_single)
{
    feed_hex("7000"
             "1c00"
             "f4ffcab4"
             "00000000"
             "5f7079636f6d6d5f"
             "00000000" /* context "_pycomm_" */
             "000000000a00"
             "0200"
             "a1000400ba629ada"
             "b1000800"
             "0d00"
             "10"
             "02"
             "2001"
             "2400", /* Set_Attribute_Single, Identity, instance 0 */
             1, DISS_TCP, 0);
    const struct event *c = nth("cip", 0);
    ck_assert_int_eq(c->code, 0x10);
    ck_assert_str_eq(c->op, "set_attribute");
    str_is(c, "service_name", "set_attribute_single");
    ck_assert_uint_eq(u(c, "class"), 1);
    ck_assert_uint_eq(u(c, "instance"), 0);
}
END_TEST

/* SendRRData pairs replies by sender context: two requests outstanding, answered in
 * the other order (no corpus capture has Get_Attribute_Single; built per CIP Vol. 1). */
static const char GAS_HDR[] = "6f00"
                              "1a00"
                              "00010211"
                              "00000000"; /* SendRRData, length 26 */
static const char GAS_CPF[] = "00000000"
                              "0000"
                              "0200"
                              "0000"
                              "0000"
                              "b200"
                              "0a00"; /* 10 bytes */

START_TEST(send_rr_data_pairing_by_context)
{
    char buf[512];
    /* context 1: Get_Attribute_Single TCP/IP Interface (0xf5) instance 1 attribute 5 */
    snprintf(buf, sizeof(buf),
             "%s%s00000000%s"
             "0e03"
             "20f5"
             "2401"
             "3005"
             "0000",
             GAS_HDR, "0100000000000000", GAS_CPF);
    ck_assert_uint_eq(feed_hex(buf, 1, DISS_TCP, 0), 50);
    /* context 2: Identity (1) instance 1 attribute 7 (product name) */
    snprintf(buf, sizeof(buf),
             "%s%s00000000%s"
             "0e03"
             "2001"
             "2401"
             "3007"
             "0000",
             GAS_HDR, "0200000000000000", GAS_CPF);
    feed_hex(buf, 1, DISS_TCP, 0);
    ck_assert_str_eq(nth("cip", 0)->op, "get_attribute_single");
    ck_assert_uint_eq(u(nth("cip", 0), "class"), 0xf5);
    /* reply to context 2 first: status 0, data "PLC" as a short string */
    snprintf(buf, sizeof(buf),
             "6f00"
             "1a00"
             "00010211"
             "00000000"
             "%s00000000"
             "00000000"
             "0000"
             "0200"
             "0000"
             "0000"
             "b200"
             "0a00"
             "8e000000"
             "03"
             "504c43"
             "0000",
             "0200000000000000");
    feed_hex(buf, 0, DISS_TCP, 0);
    const struct event *r = nth("cip", 2);
    ck_assert_int_eq(r->code, 0x0e);
    ck_assert_uint_eq(u(r, "class"), 1);
    ck_assert_uint_eq(u(r, "attribute"), 7);
    snprintf(buf, sizeof(buf),
             "6f00"
             "1a00"
             "00010211"
             "00000000"
             "%s00000000"
             "00000000"
             "0000"
             "0200"
             "0000"
             "0000"
             "b200"
             "0a00"
             "8e000000"
             "c0a80a78"
             "0000",
             "0100000000000000");
    feed_hex(buf, 0, DISS_TCP, 0);
    r = nth("cip", 3);
    ck_assert_uint_eq(u(r, "class"), 0xf5);
    ck_assert_uint_eq(u(r, "attribute"), 5);
    str_is(r, "data", "c0a80a780000");
}
END_TEST

/* TCP: a PDU cut anywhere waits for the rest; as a datagram it is reported truncated. */
START_TEST(truncation_every_length)
{
    uint8_t full[256];
    size_t n = hex_to_bytes(UCS_REQ, full, sizeof(full));
    for (size_t k = 0; k < n; k++) {
        recorder_init(&rec);
        ck_assert_uint_eq(feed_bytes(full, k, 1, DISS_TCP), 0);
        ck_assert_int_eq(rec.n, 0);
        if (k == 0) continue;
        recorder_init(&rec);
        feed_bytes(full, k, 1, DISS_UDP);
        ck_assert_int_ge(rec.n, 1);
        ck_assert_msg(event_has_anomaly(&rec.ev[0], "enip.truncated"), "k=%zu", k);
    }
    /* the CIP message cut at every length inside a well-formed encapsulation */
    for (size_t k = 0; k <= 20; k++) {
        uint8_t b[256];
        memcpy(b, full, n);
        size_t cut = 20 - k;           /* bytes removed from the 20-byte CIP message */
        b[2] = (uint8_t)(0x24 - cut);  /* encapsulation length */
        b[38] = (uint8_t)(0x14 - cut); /* data item length */
        recorder_init(&rec);
        ck_assert_uint_eq(feed_bytes(b, n - cut, 1, DISS_TCP), n - cut);
        ck_assert_int_ge(count("enip"), 1);
        if (k > 0 && k < 20) ck_assert_int_ge(count("cip"), 1);
    }
}
END_TEST

START_TEST(two_pdus_one_call)
{
    char two[sizeof(UCS_REQ) + sizeof(FWD_OPEN_REQ)];
    strcpy(two, UCS_REQ);
    strcat(two, FWD_OPEN_REQ);
    ck_assert_uint_eq(feed_hex(two, 1, DISS_TCP, 0), 60 + 88);
    ck_assert_int_eq(count("enip"), 2);
    ck_assert_int_eq(count("cip"), 3);
    ck_assert_int_eq(nth("cip", 2)->code, 0x54);
}
END_TEST

START_TEST(one_pdu_two_calls)
{
    uint8_t full[256];
    size_t n = hex_to_bytes(FWD_OPEN_REQ, full, sizeof(full));
    for (size_t k = 1; k < n; k++) {
        recorder_init(&rec);
        ck_assert_uint_eq(feed_bytes(full, k, 1, DISS_TCP), 0); /* the engine keeps the bytes */
        ck_assert_uint_eq(feed_bytes(full, n, 1, DISS_TCP), n);
        ck_assert_int_eq(count("enip"), 1);
        ck_assert_int_eq(nth("cip", 0)->code, 0x54);
    }
}
END_TEST

START_TEST(resync_after_gap)
{
    char buf[512] = "00112233445566778899"; /* tail of a lost PDU */
    strcat(buf, LIST_IDENTITY_REQ);
    ck_assert_uint_eq(feed_hex(buf, 1, DISS_TCP, 1), 10 + 24);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(&rec.ev[0], "enip.resync"));
    ck_assert_uint_eq(u(&rec.ev[0], "skipped"), 10);
    ck_assert_int_eq(rec.ev[1].code, 0x63);
    /* only garbage: dropped except a possible header start */
    recorder_init(&rec);
    size_t used = feed_hex("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 1,
                           DISS_TCP, 1);
    ck_assert_uint_eq(used, 32 - 23);
    ck_assert_uint_eq(feed_hex("ffffffffffffffffffffffffffffffffffffffffffffff", 1, DISS_TCP, 0),
                      0);
}
END_TEST

START_TEST(unknown_command)
{
    feed_hex("9900"
             "0200"
             "00000000"
             "00000000"
             "0000000000000000"
             "00000000"
             "abcd",
             1, DISS_TCP, 0);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 0x99);
    ck_assert_str_eq(rec.ev[0].op, "unknown_command");
    ck_assert(event_has_anomaly(&rec.ev[0], "enip.unknown_command"));
    /* non-zero options on TCP: not a boundary we trust; hunt for the next header */
    char buf[512] = "6300"
                    "0000"
                    "00000000"
                    "00000000"
                    "0000000000000000"
                    "01000000";
    strcat(buf, LIST_IDENTITY_REQ);
    ck_assert_uint_eq(feed_hex(buf, 1, DISS_TCP, 0), 48);
    ck_assert_int_eq(rec.n, 3);
    ck_assert(event_has_anomaly(&rec.ev[1], "enip.resync"));
    ck_assert_uint_eq(u(&rec.ev[1], "skipped"), 24);
    ck_assert_int_eq(rec.ev[2].code, 0x63);
    /* on UDP the datagram is the boundary: parsed, and flagged */
    feed_hex("6300"
             "0000"
             "00000000"
             "00000000"
             "0000000000000000"
             "01000000",
             1, DISS_UDP, 0);
    ck_assert_int_eq(rec.ev[3].code, 0x63);
    ck_assert(event_has_anomaly(&rec.ev[3], "enip.nonzero_options"));
}
END_TEST

START_TEST(udp_datagram)
{
    char buf[256];
    strcpy(buf, LIST_IDENTITY_REQ);
    strcat(buf, "00112233"); /* bytes after the PDU */
    feed_hex(buf, 1, DISS_UDP, 0);
    ck_assert_int_eq(rec.n, 1); /* one PDU per datagram, as tshark reads it */
    ck_assert_int_eq(rec.ev[0].code, 0x63);
    ck_assert(event_has_anomaly(&rec.ev[0], "enip.trailing_bytes"));
    feed_hex(LIST_IDENTITY_RSP, 0, DISS_UDP, 0);
    ck_assert_int_eq(rec.ev[1].nanom, 0);
    str_is(&rec.ev[1], "identity.product_name", "1756-ENBT/A");
}
END_TEST

/* nDPI cip_io.pcap frame 1: class 1 I/O on UDP 2222 */
static const char IO_DGRAM[] = "0200" /* item count 2 */
                               "0280"
                               "0800" /* sequenced address item */
                               "787b3a00"
                               "e8cb5e04" /* connection 0x003a7b78, seq 0x045ecbe8 */
                               "b100"
                               "0c00" /* connected data item, 12 bytes */
                               "0300fdffffffffffffff0000";

START_TEST(io_summary)
{
    rec.sink.net.src_port = 2222;
    rec.sink.net.dst_port = 2222;
    uint8_t b[64];
    size_t n = hex_to_bytes(IO_DGRAM, b, sizeof(b));
    for (int i = 0; i < 1000; i++) {
        uint32_t seq = 0x045ecbe8u + (uint32_t)i + (i >= 500 ? 1u : 0u); /* one lost at 500 */
        b[10] = (uint8_t)seq;
        b[11] = (uint8_t)(seq >> 8);
        b[12] = (uint8_t)(seq >> 16);
        b[13] = (uint8_t)(seq >> 24);
        feed_bytes(b, n, 1, DISS_UDP);
    }
    ck_assert_int_eq(rec.n, 2); /* the first datagram, then a summary at 1000 */
    ck_assert_str_eq(rec.ev[0].op, "io_connection");
    ck_assert_int_eq(rec.ev[0].has_code, 0); /* tshark has no enip.command for I/O */
    ck_assert_uint_eq(u(&rec.ev[0], "connection"), 0x003a7b78);
    ck_assert_uint_eq(u(&rec.ev[0], "data_len"), 12);
    ck_assert_str_eq(rec.ev[1].op, "io_summary");
    ck_assert_uint_eq(u(&rec.ev[1], "packets"), 1000);
    ck_assert_uint_eq(u(&rec.ev[1], "seq_gaps"), 1);
    /* icsnpp enip_cip_example.pcap multiplexes 24 connections on one 2222 5-tuple;
     * 70 connections round-robin overflow the table: churn is summarised, not echoed */
    enip_dissector.state_free(state);
    state = enip_dissector.state_new();
    recorder_init(&rec);
    rec.sink.net.src_port = 2222;
    rec.sink.net.dst_port = 2222;
    for (int i = 0; i < 700; i++) {
        b[6] = (uint8_t)(i % 70); /* connection id low byte */
        feed_bytes(b, n, 1, DISS_UDP);
    }
    ck_assert_int_eq(rec.n, 64 + 1); /* one per connection that fit, one for the churn */
    ck_assert_uint_eq(u(&rec.ev[64], "evicted"), 1);
    /* not a CPF list */
    recorder_init(&rec);
    rec.sink.net.dst_port = 2222;
    feed_hex("0000", 1, DISS_UDP, 0);
    ck_assert(event_has_anomaly(&rec.ev[0], "enip.io_malformed"));
}
END_TEST

START_TEST(probe)
{
    uint8_t b[64];
    size_t n = hex_to_bytes(LIST_IDENTITY_REQ, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    ck_assert_int_eq(enip_dissector.probe(&c, 1), PROBE_YES);
    c = cursor_make(b, 10);
    ck_assert_int_eq(enip_dissector.probe(&c, 1), PROBE_NEED_MORE);
    b[20] = 1; /* options must be 0 */
    c = cursor_make(b, n);
    ck_assert_int_eq(enip_dissector.probe(&c, 1), PROBE_NO);
    n = hex_to_bytes(IO_DGRAM, b, sizeof(b));
    c = cursor_make(b, n);
    ck_assert_int_eq(enip_dissector.probe(&c, 1), PROBE_YES);
    n = hex_to_bytes("474554202f20485454502f312e310d0a0d0a", b, sizeof(b)); /* HTTP */
    c = cursor_make(b, n);
    ck_assert_int_eq(enip_dissector.probe(&c, 1), PROBE_NO);
}
END_TEST

/* ---- whole captures against the tshark oracle (corpus/oracle, per capture) ---- */

struct tally {
    int enip[256], cip[128], other, io;
};

static void tally_event(void *ctx, struct event *e)
{
    struct tally *t = ctx;
    if (strcmp(e->proto, "enip") == 0 && e->has_code && e->code >= 0 && e->code < 256)
        t->enip[e->code]++;
    else if (strcmp(e->proto, "cip") == 0 && e->has_code && e->code >= 0 && e->code < 128)
        t->cip[e->code]++;
    else if (strcmp(e->proto, "enip") == 0 && !e->has_code && strncmp(e->op, "io_", 3) == 0)
        t->io++;
    else
        t->other++;
}

static struct tally *run_capture(const char *name)
{
    static struct tally t;
    static struct event_sink s;
    memset(&t, 0, sizeof(t));
    event_sink_init(&s, tally_event, &t);
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), &enip_dissector, &s, 44818, 2222), 0);
    return &t;
}

START_TEST(golden_ethernetip)
{
    struct tally *t = run_capture("ethernetIP.pcap");
    ck_assert_int_eq(t->enip[0x70], 71);
    ck_assert_int_eq(t->enip[0x6f], 4);
    ck_assert_int_eq(t->cip[0x4c], 568);
    ck_assert_int_eq(t->cip[0x0a], 71);
    ck_assert_int_eq(t->cip[0x4e], 34);
    ck_assert_int_eq(t->cip[0x01], 4);
    ck_assert_int_eq(t->cip[0x52], 2);
    ck_assert_int_eq(t->other, 0);
}
END_TEST

START_TEST(golden_software_upload)
{
    struct tally *t = run_capture("EIP-SoftwareUpload.pcap");
    ck_assert_int_eq(t->enip[0x70], 729);
    ck_assert_int_eq(t->enip[0x6f], 62);
    static const struct {
        int sc, n;
    } want[] = {
        {0x03, 1131}, {0x0a, 73}, {0x4b, 50}, {0x4f, 38}, {0x01, 36},
        {0x52, 18},   {0x54, 14}, {0x4e, 12}, {0x4c, 4},  {0x04, 2},
    };
    int total = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_msg(t->cip[want[i].sc] == want[i].n, "sc 0x%02x: %d, tshark %d", want[i].sc,
                      t->cip[want[i].sc], want[i].n);
        total += want[i].n;
    }
    int ours = 0;
    for (int i = 0; i < 128; i++)
        ours += t->cip[i];
    ck_assert_int_eq(ours, total);
    ck_assert_int_eq(t->other, 0);
}
END_TEST

START_TEST(golden_small)
{
    struct tally *t = run_capture("enip_test1.pcap");
    ck_assert_int_eq(t->enip[0x63], 2);
    t = run_capture("cip_stop_plc.pcap");
    ck_assert_int_eq(t->enip[0x70], 1);
    ck_assert_int_eq(t->cip[0x07], 1);
    t = run_capture("cip-multiple-1.pcap");
    ck_assert_int_eq(t->cip[0x0a], 1);
    ck_assert_int_eq(t->cip[0x03], 11);
    t = run_capture("set_attribute_single_service_cip.pcapng");
    ck_assert_int_eq(t->cip[0x10], 1);
    t = run_capture("cip_io.pcap");
    ck_assert_int_eq(t->io, 2); /* two connections, one per direction */
    ck_assert_int_eq(t->other, 0);
}
END_TEST

static Suite *enip_suite(void)
{
    Suite *s = suite_create("enip");
    TCase *tc = tcase_create("pdu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, list_identity);
    tcase_add_test(tc, register_session);
    tcase_add_test(tc, send_rr_data_unconnected_send);
    tcase_add_test(tc, send_rr_data_pairing_by_context);
    tcase_add_test(tc, forward_open);
    tcase_add_test(tc, stop_plc);
    tcase_add_test(tc, multiple_service_packet);
    tcase_add_test(tc, multiple_service_reply);
    tcase_add_test(tc, error_status);
    tcase_add_test(tc, set_attribute_single);
    tcase_add_test(tc, truncation_every_length);
    tcase_add_test(tc, two_pdus_one_call);
    tcase_add_test(tc, one_pdu_two_calls);
    tcase_add_test(tc, resync_after_gap);
    tcase_add_test(tc, unknown_command);
    tcase_add_test(tc, udp_datagram);
    tcase_add_test(tc, io_summary);
    tcase_add_test(tc, probe);
    suite_add_tcase(s, tc);
    TCase *g = tcase_create("golden");
    tcase_add_test(g, golden_ethernetip);
    tcase_add_test(g, golden_software_upload);
    tcase_add_test(g, golden_small);
    suite_add_tcase(s, g);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(enip_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
