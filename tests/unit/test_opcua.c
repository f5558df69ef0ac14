/* test_opcua.c - the OPC UA binary dissector on real chunks.
 *
 * Byte strings are TCP payloads from captures in tests/data (see SOURCES.md),
 * extracted with `tshark -T fields -e tcp.payload`; the field values in the
 * comments are tshark 4.0's decode of the same frames. Hand-built chunks say
 * how they were derived. */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector opcua_dissector;
static const struct dissector *const D = &opcua_dissector;

static struct recorder rec;
static void *st;

/* python_opcua-client-server_minimal.pcap */
/* frame 7 HEL: version 0, recv 65536, send 65536, max msg 0, max chunks 0,
 * endpoint opc.tcp://localhost:4840/freeopcua/server/ */
#define PY_HEL                                                                                     \
    "48454c464a00000000000000000001000000010000000000000000002a0000006f70632e7463703a2f2f6c6f6361" \
    "6c686f73743a343834302f667265656f706375612f7365727665722f"
/* frame 11 OPN: channel 0, policy #None, no certificate, no thumbprint, seq 1,
 * request id 1, OpenSecureChannelRequest (446), handle 1, client version 0,
 * request type issue (0), security mode None (1), nonce empty, lifetime 3600000 */
#define PY_OPN                                                                                     \
    "4f504e4684000000000000002f000000687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365" \
    "637572697479506f6c696379234e6f6e65ffffffffffffffff01000000010000000100be010000647cf1a8e973d5" \
    "010100000000000000ffffffffe80300000000000000000000000000010000000000000080ee3600"
/* frame 15 MSG: channel 9, token 14, seq 2, request id 2, CreateSessionRequest
 * (461), handle 2, application uri urn:freeopcua:client, product uri
 * urn:freeopcua.github.io:client, application name "Pure Python Client", type
 * client (1), endpoint opc.tcp://localhost:4840/freeopcua/server/, session name
 * "Pure Python Client Session1", client certificate null */
#define PY_CREATE                                                                                  \
    "4d5347461f010000090000000e00000002000000020000000100cd01000038b2f1a8e973d50102000000000000"   \
    "00ffffffffe80300000000001400000075726e3a667265656f706375613a636c69656e741e00000075726e3a66"   \
    "7265656f706375612e6769746875622e696f3a636c69656e7402120000005075726520507974686f6e20436c69"   \
    "656e7401000000ffffffffffffffff00000000ffffffff2a0000006f70632e7463703a2f2f6c6f63616c686f73"   \
    "743a343834302f667265656f706375612f7365727665722f1b0000005075726520507974686f6e20436c69656e"   \
    "742053657373696f6e3120000000c544de7293e5170aaeadb0abec732f035e0b82fed67c1c4728b2a9b3953f0a"   \
    "88ffffffff0000000040774b4100000000"
/* frame 19 MSG: ActivateSessionRequest (467), seq 3, request id 3, handle 3,
 * signature algorithm rsa-sha1, locale "en", identity AnonymousIdentityToken
 * (ExtensionObject type 321, binary body, policy id "anonymous"), then a null
 * user token signature. Split where the identity token starts. */
#define PY_ACT_HEAD                                                                                \
    "4d5347469c000000090000000e00000003000000030000000100d301020000ec030000e004f2a8e973d5010300"   \
    "000000000000ffffffffe80300000000002a000000687474703a2f2f7777772e77332e6f72672f323030302f30"   \
    "392f786d6c64736967237273612d7368613100000000000000000100000002000000656e"
#define PY_ACT_ANON "01004101010d00000009000000616e6f6e796d6f7573"
#define PY_ACT_TAIL "ffffffffffffffff"
/* frame 21 MSG: ActivateSessionResponse (470), request id 3, handle 3, Good */
#define PY_ACT_RESP                                                                                \
    "4d53474660000000090000000e00000003000000030000000100d6018618f2a8e973d501030000000000000000"   \
    "0000000000000020000000448b41864440644ca4dba5d422e19e3242261b36ccc8e41600461782d19439e30000"   \
    "000000000000"
/* frame 39 CLO: CloseSecureChannelRequest (452), request id 8 */
#define PY_CLO                                                                                     \
    "434c4f463e000000090000000e00000008000000080000000100c401020000ec0300006ef3f2a8e973d5010800"   \
    "000000000000ffffffffe8030000000000"

/* open62541_client-server_mainloop.pcap */
/* frame 89 MSG: ReadRequest (631), channel 4, token 4, seq 20, request id 20,
 * one ReadValueId: ns=1;s=the.answer, attribute Value (13) */
#define O_READ                                                                                     \
    "4d5347467900000004000000040000001400000014000000010077020401003912161546f36d34fecffcbfbacb4c" \
    "14bed68b4f2dd1d5011500000000000000ffffffff00000000000000000000000000000000000000010000000301" \
    "000a0000007468652e616e737765720d000000ffffffff0000ffffffff"
/* frame 93 MSG: WriteRequest (673), request id 21, one WriteValue:
 * ns=1;s=the.answer, attribute Value (13), Variant Int32 (6) = 1 */
#define O_WRITE                                                                                    \
    "4d5347466d000000040000000400000015000000150000000100a1020401003912161546f36d34fecffcbfbacb4c" \
    "14b28f934f2dd1d5011600000000000000ffffffff00000000000000010000000301000a0000007468652e616e73" \
    "7765720d000000ffffffff010601000000"
/* frame 125 MSG: CallRequest (712), request id 24, object i=85 (two-byte),
 * method ns=1;i=62541 (four-byte), one input argument String "Hello Server" */
#define O_CALL                                                                                     \
    "4d53474669000000040000000400000018000000180000000100c8020401003912161546f36d34fecffcbfbacb4c" \
    "149279ba4f2dd1d5011900000000000000ffffffff0000000000000001000000005501014df4010000000c0c0000" \
    "0048656c6c6f20536572766572"

static size_t feed_bytes(const uint8_t *b, size_t n, int to_server, int after_gap)
{
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {to_server, DISS_TCP, after_gap, 1000000u * (uint64_t)(rec.n + 1)};
    rec.sink.net.ts_us = info.ts_us;
    return D->parse(st, &c, &info, &rec.sink);
}

static size_t feed(const char *hex, int to_server)
{
    static uint8_t buf[8192];
    size_t n = hex_to_bytes(hex, buf, sizeof(buf));
    return feed_bytes(buf, n, to_server, 0);
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
    ck_assert_str_eq(e->proto, "opcua");
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
    ck_assert_int_eq(D->id, DISS_OPCUA);
    ck_assert_str_eq(D->name, "opcua");
    ck_assert_int_eq(D->transports, DISS_TCP);
    ck_assert_int_eq(D->ports[0], 4840);
    ck_assert(dissector_by_name("opcua") == D);
}
END_TEST

static enum probe_result probe_hex(const char *hex)
{
    uint8_t b[64];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    return D->probe(&c, 1);
}

START_TEST(test_probe)
{
    ck_assert_int_eq(probe_hex("48454c464a000000"), PROBE_YES);  /* HEL F size 74 */
    ck_assert_int_eq(probe_hex("4d5347466d000000"), PROBE_YES);  /* MSG F size 109 */
    ck_assert_int_eq(probe_hex("4d534743"), PROBE_NEED_MORE);    /* MSG C, size not yet */
    ck_assert_int_eq(probe_hex("4d53474a6d000000"), PROBE_NO);   /* chunk type J */
    ck_assert_int_eq(probe_hex("48454c434a000000"), PROBE_NO);   /* HEL is never chunked */
    ck_assert_int_eq(probe_hex("4d53474602000000"), PROBE_NO);   /* size 2 < header */
    ck_assert_int_eq(probe_hex("474554202f20485454"), PROBE_NO); /* "GET / HTT" */
}
END_TEST

START_TEST(test_hello)
{
    ck_assert_uint_eq(feed(PY_HEL, 1), 74);
    const struct event *e = ev(0);
    ck_assert(!e->has_code);
    ck_assert_str_eq(e->op, "hello");
    ev_s(e, "msg_type", "HEL");
    ev_s(e, "chunk", "F");
    ck_assert_uint_eq(ev_u(e, "size"), 74);
    ck_assert_uint_eq(ev_u(e, "protocol_version"), 0);
    ck_assert_uint_eq(ev_u(e, "receive_buffer_size"), 65536);
    ck_assert_uint_eq(ev_u(e, "send_buffer_size"), 65536);
    ev_s(e, "endpoint_url", "opc.tcp://localhost:4840/freeopcua/server/");
}
END_TEST

START_TEST(test_open_secure_channel)
{
    ck_assert_uint_eq(feed(PY_OPN, 1), 132);
    const struct event *e = ev(0);
    check_code(e, 446, "open_secure_channel", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "secure_channel_id"), 0);
    ev_s(e, "security_policy", "None");
    ck_assert_uint_eq(ev_u(e, "sender_certificate"), 0);
    ck_assert_uint_eq(ev_u(e, "encrypted"), 0);
    ck_assert_uint_eq(ev_u(e, "sequence_number"), 1);
    ck_assert_uint_eq(ev_u(e, "request_id"), 1);
    ck_assert_uint_eq(ev_u(e, "request_handle"), 1);
    ev_s(e, "request_type", "issue");
    ck_assert_uint_eq(ev_u(e, "security_mode"), 1);
    ev_s(e, "security_mode_name", "None");
    ck_assert_uint_eq(ev_u(e, "requested_lifetime"), 3600000);
}
END_TEST

START_TEST(test_create_session)
{
    ck_assert_uint_eq(feed(PY_CREATE, 1), 287);
    const struct event *e = ev(0);
    check_code(e, 461, "create_session", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "secure_channel_id"), 9);
    ck_assert_uint_eq(ev_u(e, "token_id"), 14);
    ck_assert_uint_eq(ev_u(e, "request_handle"), 2);
    ev_s(e, "client.application_uri", "urn:freeopcua:client");
    ev_s(e, "client.product_uri", "urn:freeopcua.github.io:client");
    ev_s(e, "client.application_name", "Pure Python Client");
    ck_assert_uint_eq(ev_u(e, "client.application_type"), 1);
    ev_s(e, "endpoint_url", "opc.tcp://localhost:4840/freeopcua/server/");
    ev_s(e, "session_name", "Pure Python Client Session1");
    ck_assert_uint_eq(ev_u(e, "client_certificate"), 0);
    ck_assert(!event_has_anomaly(e, "opcua.malformed_body"));
}
END_TEST

START_TEST(test_activate_anonymous_and_response)
{
    feed(PY_ACT_HEAD PY_ACT_ANON PY_ACT_TAIL, 1);
    feed(PY_ACT_RESP, 0);
    const struct event *e = ev(0);
    check_code(e, 467, "activate_session", EV_DIR_REQUEST);
    ev_s(e, "identity.token_type", "anonymous");
    ck_assert_uint_eq(ev_u(e, "identity.token_type_id"), 321);
    ev_s(e, "identity.policy_id", "anonymous");
    e = ev(1);
    check_code(e, 470, "activate_session", EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "request_handle"), 3);
    ck_assert_uint_eq(ev_u(e, "service_result"), 0);
    ev_s(e, "service_result_name", "Good");
    ck_assert_uint_eq(ev_u(e, "request_service_id"), 467);
    ck_assert_uint_eq(ev_u(e, "latency_us"), 1000000); /* fed one "second" apart */
}
END_TEST

/* Frame 19 with the anonymous token replaced by a UserNameIdentityToken (type
 * 324, four-byte node id 01 00 44 01; body: policy id "username", user name
 * "operator", password ByteString "S3cretPw!", encryption algorithm null), the
 * chunk size patched. The password must not appear anywhere in the event. */
START_TEST(test_activate_username_password_never_logged)
{
    static const char tok[] = "01004401"                 /* type id 324 */
                              "01"                       /* binary body */
                              "29000000"                 /* body length 41 */
                              "08000000757365726e616d65" /* "username" */
                              "080000006f70657261746f72" /* "operator" */
                              "0900000053336372657450772"
                              "1"         /* "S3cretPw!" */
                              "ffffffff"; /* encryption algorithm null */
    char hex[2048];
    snprintf(hex, sizeof(hex), "%s%s%s", PY_ACT_HEAD, tok, PY_ACT_TAIL);
    static uint8_t b[1024];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    b[4] = (uint8_t)n; /* size, little-endian, < 256 */
    b[5] = 0;
    ck_assert_uint_eq(feed_bytes(b, n, 1, 0), n);
    const struct event *e = ev(0);
    check_code(e, 467, "activate_session", EV_DIR_REQUEST);
    ev_s(e, "identity.token_type", "username");
    ev_s(e, "identity.policy_id", "username");
    ev_s(e, "identity.user_name", "operator");
    ck_assert_uint_eq(ev_u(e, "identity.password_present"), 1);
    ck_assert_uint_eq(ev_u(e, "identity.password_encrypted"), 0); /* algorithm null */
    ck_assert(!event_has_anomaly(e, "opcua.malformed_body"));
    ck_assert_ptr_null(strstr(rec.json[0], "S3cret"));
    ck_assert_ptr_null(strstr(rec.json[0], "533363726574")); /* nor as hex */
    for (uint32_t i = 0; i + 6 <= e->str_used; i++)
        ck_assert(memcmp(e->str + i, "S3cret", 6) != 0);
}
END_TEST

START_TEST(test_read_write_call)
{
    feed(O_READ, 1);
    feed(O_WRITE, 1);
    feed(O_CALL, 1);
    const struct event *e = ev(0);
    check_code(e, 631, "read", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "request_id"), 20);
    ck_assert_uint_eq(ev_u(e, "count"), 1);
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"node_id\":\"ns=1;s=the.answer\""));
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"attribute_id\":13,\"attribute\":\"Value\""));
    e = ev(1);
    check_code(e, 673, "write", EV_DIR_REQUEST);
    ev_s(e, "category", "write");
    ck_assert_ptr_nonnull(strstr(rec.json[1], "\"node_id\":\"ns=1;s=the.answer\""));
    ck_assert_ptr_nonnull(strstr(rec.json[1], "\"type\":6,\"value\":1"));
    e = ev(2);
    check_code(e, 712, "call", EV_DIR_REQUEST);
    ck_assert_ptr_nonnull(strstr(rec.json[2], "\"object_id\":\"i=85\""));
    ck_assert_ptr_nonnull(strstr(rec.json[2], "\"method_id\":\"ns=1;i=62541\""));
    ck_assert_ptr_nonnull(strstr(rec.json[2], "\"argument_count\":1"));
}
END_TEST

START_TEST(test_close_secure_channel)
{
    feed(PY_CLO, 1);
    check_code(ev(0), 452, "close_secure_channel", EV_DIR_REQUEST);
}
END_TEST

/* O_READ cut into an intermediate chunk (C) holding the first 20 body bytes and
 * a final chunk (F) with the rest, each with its own 24-byte header. */
static size_t split_read(uint8_t *c1, uint8_t *c2, size_t *n2, char last)
{
    uint8_t b[256];
    size_t n = hex_to_bytes(O_READ, b, sizeof(b));
    size_t body = n - 24;
    memcpy(c1, b, 24 + 20);
    c1[3] = 'C';
    c1[4] = 44;
    memcpy(c2, b, 24);
    memcpy(c2 + 24, b + 44, body - 20);
    c2[3] = (uint8_t)last;
    c2[4] = (uint8_t)(24 + body - 20);
    c2[12] = 21; /* next sequence number */
    *n2 = 24 + body - 20;
    return 44;
}

START_TEST(test_chunk_reassembly)
{
    uint8_t c1[64], c2[256];
    size_t n2, n1 = split_read(c1, c2, &n2, 'F');
    ck_assert_uint_eq(feed_bytes(c1, n1, 1, 0), n1);
    ck_assert_int_eq(rec.n, 0); /* nothing until the final chunk */
    ck_assert_uint_eq(feed_bytes(c2, n2, 1, 0), n2);
    const struct event *e = ev(0);
    check_code(e, 631, "read", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "chunks"), 2);
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"node_id\":\"ns=1;s=the.answer\""));
}
END_TEST

START_TEST(test_abort_chunk)
{
    uint8_t c1[64], c2[256];
    size_t n2, n1 = split_read(c1, c2, &n2, 'A');
    /* an abort body is error u32 + reason String: BadTimeout, null reason */
    static const uint8_t abort_body[] = {0x00, 0x00, 0x0a, 0x80, 0xff, 0xff, 0xff, 0xff};
    memcpy(c2 + 24, abort_body, sizeof(abort_body));
    c2[4] = 32;
    feed_bytes(c1, n1, 1, 0);
    ck_assert_uint_eq(feed_bytes(c2, 32, 1, 0), 32);
    const struct event *e = ev(0);
    ck_assert(!e->has_code);
    ck_assert_str_eq(e->op, "abort");
    ev_s(e, "error_name", "BadTimeout");
    ck_assert_uint_eq(ev_u(e, "chunks_dropped"), 1);
    ck_assert(event_has_anomaly(e, "opcua.abort"));
}
END_TEST

START_TEST(test_resync)
{
    /* junk, then a HEL: one malformed event, then the hello */
    feed("000102030405060708" PY_HEL, 1);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_str_eq(ev(0)->op, "malformed");
    ck_assert(event_has_anomaly(ev(0), "opcua.resync"));
    ck_assert_str_eq(ev(1)->op, "hello");
}
END_TEST

/* A MSG chunk announcing 200000 bytes (above what is buffered): reported from
 * its header, its body skipped as it arrives, then the next chunk parses. */
START_TEST(test_oversized_chunk)
{
    static uint8_t big[4096];
    memset(big, 0xAB, sizeof(big));
    memcpy(big, "MSGF", 4);
    big[4] = 0x40; /* 200000 = 0x030d40, little-endian */
    big[5] = 0x0d;
    big[6] = 0x03;
    big[7] = 0x00;
    ck_assert_uint_eq(feed_bytes(big, sizeof(big), 1, 0), sizeof(big));
    ck_assert_int_eq(rec.n, 1);
    ck_assert_str_eq(ev(0)->op, "oversized_chunk");
    ck_assert(event_has_anomaly(ev(0), "opcua.chunk_too_large"));
    memset(big, 0xAB, sizeof(big));
    size_t left = 200000 - 4096;
    while (left) {
        size_t n = left < sizeof(big) ? left : sizeof(big);
        ck_assert_uint_eq(feed_bytes(big, n, 1, 0), n);
        left -= n;
    }
    ck_assert_int_eq(rec.n, 1); /* the body made no event */
    feed(O_READ, 1);
    check_code(ev(1), 631, "read", EV_DIR_REQUEST);
}
END_TEST

/* After a gap the data starts mid-chunk: one malformed event, then the next
 * chunk header is found and decoded. */
START_TEST(test_gap_resync)
{
    uint8_t b[512];
    size_t n = hex_to_bytes(O_WRITE O_READ, b, sizeof(b));
    D->gap(st, 1);
    ck_assert_uint_eq(feed_bytes(b + 30, n - 30, 1, 1), n - 30);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(ev(0), "opcua.resync"));
    check_code(ev(1), 631, "read", EV_DIR_REQUEST);
}
END_TEST

/* Every prefix, as a short stream and as a chunk whose size says so. */
START_TEST(test_truncated_everywhere)
{
    static const char *const msgs[] = {
        PY_HEL, PY_OPN,  PY_CREATE, PY_ACT_HEAD PY_ACT_ANON PY_ACT_TAIL, PY_ACT_RESP, PY_CLO,
        O_READ, O_WRITE, O_CALL};
    for (size_t m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
        uint8_t b[512];
        size_t n = hex_to_bytes(msgs[m], b, sizeof(b));
        for (size_t k = 0; k < n; k++) {
            uint8_t *p = malloc(k ? k : 1); /* exact size so ASan sees over-reads */
            memcpy(p, b, k);
            teardown();
            setup();
            ck_assert_uint_eq(feed_bytes(p, k, 1, 0), 0); /* incomplete: wait */
            ck_assert_int_eq(rec.n, 0);
            if (k >= 8) {
                /* OPN/MSG/CLO need 12 bytes (header + channel id): below that
                 * the size is invalid and the bytes are resync'd over */
                int secure = b[0] != 'H';
                p[4] = (uint8_t)k;
                p[5] = (uint8_t)(k >> 8);
                size_t used = feed_bytes(p, k, 1, 0);
                ck_assert_uint_le(used, k);
                if (!secure || k >= 12) {
                    ck_assert_uint_eq(used, k);
                    ck_assert_int_eq(rec.n, 1);
                }
            }
            free(p);
        }
    }
}
END_TEST

/* ---- whole captures against the tshark oracle ---- */

struct count_ctx {
    unsigned events, coded, codes[1024];
};

static void count_event(void *ctx, struct event *e)
{
    struct count_ctx *k = ctx;
    k->events++;
    if (e->has_code) {
        k->coded++;
        if (e->code >= 0 && e->code < 1024) k->codes[e->code]++;
    }
}

/* Plays a capture into the dissector the way the engine does (testutil.c). */
static void play_pcap(const char *name, struct count_ctx *k)
{
    static struct event_sink sink;
    event_sink_init(&sink, count_event, k);
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), D, &sink, 4840, 0), 0);
}

START_TEST(test_pcap_minimal)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("python_opcua-client-server_minimal.pcap", &k);
    /* tshark: 17 OPC UA frames; servicenodeid.numeric 554 x2, 557 x2 and one
     * each of 446 449 452 461 464 467 470 473 476 527 530 */
    ck_assert_uint_eq(k.events, 17);
    ck_assert_uint_eq(k.coded, 15);
    ck_assert_uint_eq(k.codes[554], 2);
    ck_assert_uint_eq(k.codes[557], 2);
    static const int one[] = {446, 449, 452, 461, 464, 467, 470, 473, 476, 527, 530};
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
        ck_assert_uint_eq(k.codes[one[i]], 1);
}
END_TEST

START_TEST(test_pcap_encrypted)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("opcua_open62541_encrypted.pcap", &k);
    /* tshark: 20 frames; codes only on the policy-None channel (stream 0):
     * 446 449 428 431 452. Stream 1 (Basic128Rsa15): envelopes, no code. */
    ck_assert_uint_eq(k.events, 20);
    ck_assert_uint_eq(k.coded, 5);
    ck_assert_uint_eq(k.codes[428], 1);
    ck_assert_uint_eq(k.codes[431], 1);
}
END_TEST

START_TEST(test_pcap_mainloop)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("opcua_open62541_mainloop.pcap", &k);
    /* tshark opcua.servicenodeid.numeric: 826/829 x11, 488/491 x4, 428 431
     * 446 449 452 527 530 673 676 x2, 16 more services x1: 64 in all */
    ck_assert_uint_eq(k.coded, 64);
    ck_assert_uint_eq(k.codes[826], 11);
    ck_assert_uint_eq(k.codes[829], 11);
    ck_assert_uint_eq(k.codes[488], 4);
    ck_assert_uint_eq(k.codes[673], 2);
    ck_assert_uint_eq(k.codes[712], 1);
}
END_TEST

static Suite *opcua_suite(void)
{
    Suite *s = suite_create("opcua");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_row);
    tcase_add_test(t, test_probe);
    tcase_add_test(t, test_hello);
    tcase_add_test(t, test_open_secure_channel);
    tcase_add_test(t, test_create_session);
    tcase_add_test(t, test_activate_anonymous_and_response);
    tcase_add_test(t, test_activate_username_password_never_logged);
    tcase_add_test(t, test_read_write_call);
    tcase_add_test(t, test_close_secure_channel);
    tcase_add_test(t, test_chunk_reassembly);
    tcase_add_test(t, test_abort_chunk);
    tcase_add_test(t, test_resync);
    tcase_add_test(t, test_oversized_chunk);
    tcase_add_test(t, test_gap_resync);
    tcase_add_test(t, test_truncated_everywhere);
    tcase_add_test(t, test_pcap_minimal);
    tcase_add_test(t, test_pcap_encrypted);
    tcase_add_test(t, test_pcap_mainloop);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(opcua_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
