/* test_event.c - typed events and their JSON: every field type, nesting, escaping,
 * caps, lookups, anomalies, addresses, timestamps and the event stack.
 *
 * Expected strings were derived by hand from DESIGN §2 and jbuf.c's rules; IPv6
 * forms and timestamps were checked with /usr/bin/python3 (ipaddress, datetime).
 * Every JSON output is also parsed back by the small validator below. */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "jbuf.h"
#include "testutil.h"

/* ---- a strict JSON validator (RFC 8259), including UTF-8 of raw string bytes ---- */

static const char *jv_value(const char *p, const char *end, int depth);

static const char *jv_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *jv_string(const char *p, const char *end)
{
    if (p >= end || *p != '"') return NULL;
    p++;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            if (++p >= end) return NULL;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (p + i >= end || !strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 5;
            } else if (strchr("\"\\/bfnrt", *p) && *p) {
                p++;
            } else {
                return NULL;
            }
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        /* a raw multi-byte sequence must be valid UTF-8 */
        int n = c >= 0xc2 && c <= 0xdf   ? 2
                : c >= 0xe0 && c <= 0xef ? 3
                : c >= 0xf0 && c <= 0xf4 ? 4
                                         : 0;
        if (!n || end - p < n) return NULL;
        uint32_t cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
        for (int i = 1; i < n; i++) {
            if (((unsigned char)p[i] & 0xc0) != 0x80) return NULL;
            cp = cp << 6 | ((unsigned char)p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return NULL;
        p += n;
    }
    return NULL;
}

static const char *jv_number(const char *p, const char *end)
{
    if (p < end && *p == '-') p++;
    if (p >= end || *p < '0' || *p > '9') return NULL;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *jv_value(const char *p, const char *end, int depth)
{
    if (depth > 64) return NULL;
    p = jv_ws(p, end);
    if (p >= end) return NULL;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int obj = *p == '{';
        p = jv_ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            if (obj) {
                p = jv_string(jv_ws(p, end), end);
                if (!p) return NULL;
                p = jv_ws(p, end);
                if (p >= end || *p != ':') return NULL;
                p++;
            }
            p = jv_value(p, end, depth + 1);
            if (!p) return NULL;
            p = jv_ws(p, end);
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            if (p < end && *p == close) return p + 1;
            return NULL;
        }
    }
    if (*p == '"') return jv_string(p, end);
    if (end - p >= 4 && !memcmp(p, "true", 4)) return p + 4;
    if (end - p >= 5 && !memcmp(p, "false", 5)) return p + 5;
    if (end - p >= 4 && !memcmp(p, "null", 4)) return p + 4;
    return jv_number(p, end);
}

static int json_valid(const char *s, size_t n)
{
    const char *p = jv_value(s, s + n, 0);
    return p && jv_ws(p, s + n) == s + n;
}

START_TEST(validator_self_test)
{
    /* the validator must reject what the writer must never produce */
    static const char *good[] = {"{}", "[]", "{\"a\":[1,-2.5e3,true,false,null,\"x\\u00ff\"]}",
                                 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""};
    static const char *bad[] = {"{",
                                "{\"a\"}",
                                "[1,]",
                                "\"a\x01\"",
                                "\"\xff\"",
                                "\"\xc0\xaf\"",
                                "\"\xed\xa0\x80\"",
                                "\"\\x\"",
                                "01",
                                "{\"a\":1}}",
                                "\"\\u00g0\"",
                                "\"\xe2\x82\"",
                                "{\"a\":1,}"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(json_valid(good[i], strlen(good[i])), "good %zu", i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!json_valid(bad[i], strlen(bad[i])), "bad %zu", i);
}
END_TEST

/* ---- helpers ---- */

static struct recorder rec; /* large: static */

static struct event_sink *sink(void)
{
    recorder_init(&rec);
    return &rec.sink;
}

/* JSON of e (validated), in a static buffer. */
static const char *json_of(const struct event *e)
{
    static char buf[65536];
    size_t n = event_to_json(e, NULL, buf, sizeof(buf));
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(n, strlen(buf));
    ck_assert_msg(json_valid(buf, n), "invalid JSON: %s", buf);
    return buf;
}

/* The protocol object "test":{...} cut out of the JSON line. */
static const char *proto_obj(const struct event *e)
{
    static char out[65536];
    const char *j = json_of(e);
    const char *s = strstr(j, ",\"test\":{");
    ck_assert_ptr_nonnull(s);
    s += strlen(",\"test\":");
    const char *t = strstr(s, ",\"anomalies\":[");
    ck_assert_ptr_nonnull(t);
    memcpy(out, s, (size_t)(t - s));
    out[t - s] = '\0';
    return out;
}

static struct ev_addr addr6(const char *s)
{
    struct ev_addr a;
    ck_assert_int_eq(inet_pton(AF_INET6, s, a.b), 1);
    return a;
}

/* ---- tests ---- */

START_TEST(every_field_type)
{
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    static const uint8_t hx[] = {0x00, 0xab, 0xff, 0x10};
    event_code(e, 3, "read");
    ev_uint(e, "u", UINT64_MAX);
    ev_int(e, "i", INT64_MIN);
    ev_int(e, "j", -1);
    ev_bool(e, "t", 5);
    ev_bool(e, "f", 0);
    ev_double(e, "d", 1.5);
    ev_double(e, "d2", 0.1);
    ev_double(e, "nan", NAN);
    ev_null(e, "n");
    ev_cstr(e, "s", "hi");
    ev_cstr(e, "empty", "");
    ev_cstr(e, "nul", NULL);
    ev_hex(e, "h", hx, sizeof(hx));
    ev_hex(e, "h0", hx, 0);
    ck_assert_str_eq(proto_obj(e),
                     "{\"u\":18446744073709551615,\"i\":-9223372036854775808,\"j\":-1,\"t\":true,"
                     "\"f\":false,\"d\":1.5,\"d2\":0.10000000000000001,\"nan\":null,\"n\":null,"
                     "\"s\":\"hi\",\"empty\":\"\",\"nul\":\"\",\"h\":\"00abff10\",\"h0\":\"\"}");
    ck_assert_ptr_null(strstr(json_of(e), "truncated"));
    event_emit(&rec.sink, e);
}
END_TEST

START_TEST(whole_line)
{
    struct event_sink *s = sink();
    s->net.ts_us = 1600000000123456ull;
    s->net.flow_id = 42;
    strcpy(s->net.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    s->net.ip_version = 4;
    memset(&s->net.src, 0, sizeof(s->net.src));
    s->net.src.b[10] = s->net.src.b[11] = 0xff;
    s->net.src.b[12] = 10, s->net.src.b[15] = 1;
    s->net.dst = s->net.src;
    s->net.dst.b[15] = 2;
    s->net.src_port = 1024;
    s->net.dst_port = 502;
    s->net.transport = EV_TRANSPORT_TCP;
    s->net.has_mac = 1;
    memcpy(s->net.src_mac, "\x00\x11\x22\xaa\xbb\xcc", 6);
    memcpy(s->net.dst_mac, "\xff\xff\xff\xff\xff\xff", 6);
    s->net.vlan_count = 2;
    s->net.vlan[0] = 100, s->net.vlan[1] = 4095;
    struct event *e = event_begin(s, "test", EV_DIR_RESPONSE);
    event_code(e, 6, "write");
    ev_uint(e, "x", 1);
    event_anomaly(e, "test.bad");
    event_emit(s, e);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_str_eq(rec.json[0],
                     "{\"ts\":\"2020-09-13T12:26:40.123456Z\",\"flow_id\":42,"
                     "\"community_id\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\","
                     "\"src_ip\":\"10.0.0.1\",\"src_port\":1024,\"dst_ip\":\"10.0.0.2\","
                     "\"dst_port\":502,\"transport\":\"tcp\",\"src_mac\":\"00:11:22:aa:bb:cc\","
                     "\"dst_mac\":\"ff:ff:ff:ff:ff:ff\",\"vlan\":[100,4095],\"proto\":\"test\","
                     "\"dir\":\"response\",\"code\":6,\"op\":\"write\",\"event\":\"test.write\","
                     "\"test\":{\"x\":1},\"anomalies\":[\"test.bad\"]}");
    /* layer 2, one VLAN, no code, no op, no direction, sensor name */
    s->net.ip_version = 0;
    s->net.has_mac = 0;
    s->net.vlan_count = 1;
    s->net.community_id[0] = '\0';
    s->net.transport = EV_TRANSPORT_L2;
    e = event_begin(s, "test", EV_DIR_NONE);
    char buf[1024];
    size_t n = event_to_json(e, "s\"1", buf, sizeof(buf));
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(buf, "{\"ts\":\"2020-09-13T12:26:40.123456Z\",\"flow_id\":42,"
                          "\"transport\":\"l2\",\"vlan\":100,\"proto\":\"test\",\"code\":null,"
                          "\"op\":\"unknown\",\"event\":\"test.unknown\",\"test\":{},"
                          "\"anomalies\":[],\"sensor\":\"s\\\"1\"}");
    ck_assert(json_valid(buf, n));
    /* too small a buffer gives 0; exactly length + NUL fits */
    ck_assert_uint_eq(event_to_json(e, "s\"1", buf, n), 0);
    ck_assert_uint_eq(event_to_json(e, "s\"1", buf, n + 1), n);
    ck_assert_uint_eq(event_to_json(e, NULL, buf, 0), 0);
    event_discard(s, e);
}
END_TEST

START_TEST(nesting)
{
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    ev_obj_begin(e, "o");
    ev_uint(e, "x", 1);
    ev_arr_begin(e, "a");
    ev_uint(e, NULL, 1);
    ev_cstr(e, NULL, "z");
    ev_obj_begin(e, NULL);
    ev_bool(e, "k", 1);
    ev_end(e);
    ev_arr_begin(e, NULL);
    ev_end(e);
    ev_end(e); /* a */
    ev_obj_begin(e, "empty");
    ev_end(e);
    ev_end(e); /* o */
    ev_arr_begin(e, "top");
    ev_obj_begin(e, NULL);
    ev_arr_begin(e, "in");
    ev_null(e, NULL);
    ev_end(e);
    ev_end(e);
    ev_end(e);
    ev_uint(e, "last", 2);
    ck_assert_str_eq(proto_obj(e), "{\"o\":{\"x\":1,\"a\":[1,\"z\",{\"k\":true},[]],\"empty\":{}},"
                                   "\"top\":[{\"in\":[null]}],\"last\":2}");
    event_emit(&rec.sink, e);
}
END_TEST

START_TEST(unbalanced_end)
{
    struct event_sink *s = sink();
    struct event *e = event_begin(s, "test", EV_DIR_REQUEST);
    ev_end(e); /* nothing open: ignored */
    ev_uint(e, "a", 1);
    ev_obj_begin(e, "o");
    ev_uint(e, "b", 2);
    ev_end(e);
    ev_end(e); /* one too many: ignored */
    ev_end(e);
    ev_uint(e, "c", 3);
    ev_obj_begin(e, "p");
    ev_arr_begin(e, "q");
    ev_uint(e, NULL, 4);
    /* emitted with two containers open: emit closes them */
    event_emit(s, e);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"test\":{\"a\":1,\"o\":{\"b\":2},\"c\":3,"
                                              "\"p\":{\"q\":[4]}},\"anomalies\""));
    ck_assert(json_valid(rec.json[0], strlen(rec.json[0])));
    ck_assert_uint_eq(rec.ev[0].depth, 0);
    /* an open event serialises closed too */
    e = event_begin(s, "test", EV_DIR_REQUEST);
    ev_obj_begin(e, "o");
    ev_arr_begin(e, "a");
    ck_assert_str_eq(proto_obj(e), "{\"o\":{\"a\":[]}}");
    event_discard(s, e);
}
END_TEST

START_TEST(escaping)
{
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    static const char ctl[] = "a\"b\\c\n\t\x01\x1f\x7f/";
    ev_str(e, "ctl", ctl, sizeof(ctl) - 1);
    static const char nul[] = {'x', '\0', 'y'};
    ev_str(e, "nul", nul, 3);                                     /* NUL inside a value */
    ev_str(e, "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9); /* é € 😀 kept */
    ev_str(e, "bad", "\xff\xfe(", 3);                             /* not UTF-8 */
    ev_str(e, "overlong", "\xc0\xaf", 2);                         /* overlong '/' */
    ev_str(e, "surrogate", "\xed\xa0\x80", 3);                    /* U+D800 */
    ev_str(e, "cut", "a\xe2\x82", 3);                             /* sequence cut short */
    ev_str(e, "big", "\xf4\x90\x80\x80", 4);                      /* above U+10FFFF */
    ev_str(e, "cont", "\x80\xbf", 2);                             /* lone continuations */
    ev_str(e, "mixed", "\xc3\xa9\xc3", 3);                        /* good then cut */
    ev_cstr(e, "q\"k", "v");                                      /* keys are escaped too */
    ck_assert_str_eq(proto_obj(e), "{\"ctl\":\"a\\\"b\\\\c\\u000a\\u0009\\u0001\\u001f\\u007f/\","
                                   "\"nul\":\"x\\u0000y\","
                                   "\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
                                   "\"bad\":\"\\u00ff\\u00fe(\","
                                   "\"overlong\":\"\\u00c0\\u00af\","
                                   "\"surrogate\":\"\\u00ed\\u00a0\\u0080\","
                                   "\"cut\":\"a\\u00e2\\u0082\","
                                   "\"big\":\"\\u00f4\\u0090\\u0080\\u0080\","
                                   "\"cont\":\"\\u0080\\u00bf\","
                                   "\"mixed\":\"\xc3\xa9\\u00c3\","
                                   "\"q\\\"k\":\"v\"}");
    event_discard(&rec.sink, e);
}
END_TEST

START_TEST(escaping_all_bytes)
{
    /* every byte value, and random byte strings: always valid JSON */
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    ev_str(e, "all", all, 256);
    json_of(e);
    uint32_t x = 12345;
    for (int round = 0; round < 2000; round++) {
        event_discard(&rec.sink, e);
        e = event_begin(&rec.sink, "test", EV_DIR_REQUEST);
        uint8_t b[64];
        size_t n = (size_t)(round % 64);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            b[i] = (uint8_t)(x >> 16);
            if (round & 1) /* bias to high bytes to hit UTF-8 paths */
                b[i] |= 0x80;
        }
        ev_str(e, "r", b, n);
        json_of(e);
    }
    event_discard(&rec.sink, e);
}
END_TEST

START_TEST(string_cap)
{
    char big[EVENT_STR_CAP + 50];
    memset(big, 'a', sizeof(big));
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    ev_str(e, "s", big, EVENT_STR_CAP); /* exactly the cap: kept, not truncated */
    ck_assert_uint_eq(event_find(e, "s")->len, EVENT_STR_CAP);
    ck_assert_ptr_null(strstr(json_of(e), "truncated"));
    ev_str(e, "t", big, EVENT_STR_CAP + 1);
    ck_assert_uint_eq(event_find(e, "t")->len, EVENT_STR_CAP);
    ck_assert_ptr_nonnull(strstr(json_of(e), ",\"truncated\":true"));
    ev_hex(e, "h", big, sizeof(big));
    ck_assert_uint_eq(event_find(e, "h")->len, EVENT_STR_CAP);
    event_discard(&rec.sink, e);
    /* a cut through a multi-byte character still gives valid JSON */
    e = event_begin(&rec.sink, "test", EV_DIR_REQUEST);
    memcpy(big + EVENT_STR_CAP - 1, "\xc3\xa9", 2);
    ev_str(e, "s", big, EVENT_STR_CAP + 1);
    ck_assert_ptr_nonnull(strstr(json_of(e), "aaa\\u00c3\""));
    event_discard(&rec.sink, e);
    /* the arena fills: later strings are dropped, the JSON stays valid */
    e = event_begin(&rec.sink, "test", EV_DIR_REQUEST);
    int kept = 0;
    for (int i = 0; i < 40; i++) {
        ev_str(e, "s", big, EVENT_STR_CAP);
        kept += e->nfields == (unsigned)kept + 1;
    }
    ck_assert_int_eq(kept, EVENT_STR_ARENA / EVENT_STR_CAP);
    ck_assert_ptr_nonnull(strstr(json_of(e), ",\"truncated\":true"));
    event_discard(&rec.sink, e);
}
END_TEST

static int count(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
        n++;
    return n;
}

START_TEST(field_overflow)
{
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    for (int i = 0; i < EVENT_MAX_FIELDS + 20; i++)
        ev_uint(e, "k", 7);
    ck_assert_uint_eq(e->nfields, EVENT_MAX_FIELDS);
    const char *j = json_of(e);
    ck_assert_int_eq(count(j, "\"k\":7"), EVENT_MAX_FIELDS);
    ck_assert_ptr_nonnull(strstr(j, ",\"truncated\":true"));
    event_discard(&rec.sink, e);

    /* overflow inside nested containers: room is kept to close them */
    e = event_begin(&rec.sink, "test", EV_DIR_REQUEST);
    ev_obj_begin(e, "o");
    ev_arr_begin(e, "a");
    for (int i = 0; i < EVENT_MAX_FIELDS + 20; i++)
        ev_uint(e, NULL, 7);
    ev_obj_begin(e, NULL); /* no room: dropped, its end still pairs */
    ev_uint(e, "in", 1);
    ev_end(e);
    ev_end(e);
    ev_end(e);
    ck_assert_uint_eq(e->nfields, EVENT_MAX_FIELDS);
    ck_assert_uint_eq(e->fields[EVENT_MAX_FIELDS - 1].type, EVF_END);
    ck_assert_uint_eq(e->fields[EVENT_MAX_FIELDS - 2].type, EVF_END);
    j = json_of(e);
    ck_assert_int_eq(count(j, "7"), EVENT_MAX_FIELDS - 4);
    ck_assert_ptr_null(strstr(j, "\"in\""));
    ck_assert_ptr_nonnull(strstr(j, "7]}},\"anomalies\""));
    ck_assert_ptr_nonnull(strstr(j, ",\"truncated\":true"));
    event_discard(&rec.sink, e);
}
END_TEST

START_TEST(depth_overflow)
{
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    for (int i = 0; i < EVENT_MAX_DEPTH + 3; i++)
        ev_obj_begin(e, "l");
    ev_uint(e, "deep", 1); /* inside a dropped container: dropped with it */
    ev_arr_begin(e, "deeper");
    ev_end(e);
    for (int i = 0; i < EVENT_MAX_DEPTH + 3; i++)
        ev_end(e);
    ev_uint(e, "after", 2); /* back at the top */
    char want[512] = "{";
    for (int i = 0; i < EVENT_MAX_DEPTH; i++)
        strcat(want, "\"l\":{");
    for (int i = 0; i < EVENT_MAX_DEPTH; i++)
        strcat(want, "}");
    strcat(want, ",\"after\":2}");
    ck_assert_str_eq(proto_obj(e), want);
    ck_assert_ptr_nonnull(strstr(json_of(e), ",\"truncated\":true"));
    ck_assert_ptr_null(event_find(e, "deep"));
    ck_assert_ptr_nonnull(event_find(e, "after"));
    event_discard(&rec.sink, e);

    /* a field in the deepest kept level stays there; one deeper goes */
    e = event_begin(&rec.sink, "test", EV_DIR_REQUEST);
    for (int i = 0; i < EVENT_MAX_DEPTH; i++)
        ev_obj_begin(e, "l");
    ev_uint(e, "x", 1);
    ev_obj_begin(e, "l");
    ev_uint(e, "y", 1);
    ev_end(e);
    ev_uint(e, "z", 1);
    const char *j = json_of(e);
    ck_assert_ptr_nonnull(strstr(j, "{\"x\":1,\"z\":1}"));
    ck_assert_ptr_null(strstr(j, "\"y\""));
    ck_assert_ptr_nonnull(event_find(e, "l.l.l.l.l.l.l.l.z"));
    event_discard(&rec.sink, e);

    /* very deep (past the 32-bit level mask) still pairs and stays valid */
    e = event_begin(&rec.sink, "test", EV_DIR_REQUEST);
    for (int i = 0; i < 300; i++)
        ev_arr_begin(e, "a");
    ev_uint(e, NULL, 9);
    for (int i = 0; i < 300; i++)
        ev_end(e);
    ev_uint(e, "after", 2);
    j = proto_obj(e);
    ck_assert_ptr_null(strstr(j, "9"));
    ck_assert_ptr_nonnull(strstr(j, "]]],\"after\":2}"));
    event_discard(&rec.sink, e);
}
END_TEST

START_TEST(find)
{
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    ev_uint(e, "a", 1);
    ev_obj_begin(e, "o");
    ev_uint(e, "k", 10);
    ev_arr_begin(e, "arr");
    ev_obj_begin(e, NULL);
    ev_uint(e, "k", 11);
    ev_end(e);
    ev_end(e);
    ev_obj_begin(e, "p");
    ev_cstr(e, "q", "deep");
    ev_end(e);
    ev_uint(e, "x", 12);
    ev_end(e);
    ev_uint(e, "k", 20);
    ev_uint(e, "ab", 21);

    const struct ev_field *f = event_find(e, "a");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->v.u, 1);
    ck_assert_uint_eq(event_find(e, "k")->v.u, 20); /* not the nested one */
    ck_assert_uint_eq(event_find(e, "o.k")->v.u, 10);
    ck_assert_uint_eq(event_find(e, "o.x")->v.u, 12); /* after a nested container */
    ck_assert_uint_eq(event_find(e, "ab")->v.u, 21);
    f = event_find(e, "o.p.q");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->type, EVF_STR);
    ck_assert_uint_eq(f->len, 4);
    ck_assert_mem_eq(event_field_text(e, f), "deep", 4);
    ck_assert_uint_eq(event_find(e, "o")->type, EVF_OBJ);
    ck_assert_uint_eq(event_find(e, "o.arr")->type, EVF_ARR);
    /* absent */
    ck_assert_ptr_null(event_find(e, "nope"));
    ck_assert_ptr_null(event_find(e, "x")); /* exists only inside o */
    ck_assert_ptr_null(event_find(e, "q")); /* exists only inside o.p */
    ck_assert_ptr_null(event_find(e, "o.q"));
    ck_assert_ptr_null(event_find(e, "o.nope"));
    ck_assert_ptr_null(event_find(e, "a.b"));     /* through a scalar */
    ck_assert_ptr_null(event_find(e, "o.arr.k")); /* array members are not addressable */
    ck_assert_ptr_null(event_find(e, "o.p.q.r"));
    ck_assert_ptr_null(event_find(e, ""));
    ck_assert_ptr_null(event_find(e, "o."));
    ck_assert_ptr_null(event_find(e, "o.p.")); /* prefix of a key is not a key */
    ck_assert_ptr_null(event_find(e, "o.p.qq"));
    event_discard(&rec.sink, e);
    /* an empty event */
    e = event_begin(&rec.sink, "test", EV_DIR_REQUEST);
    ck_assert_ptr_null(event_find(e, "a"));
    event_discard(&rec.sink, e);
}
END_TEST

START_TEST(anomalies)
{
    struct event *e = event_begin(sink(), "test", EV_DIR_REQUEST);
    char copy[] = "test.a";
    event_anomaly(e, "test.a");
    event_anomaly(e, copy); /* same name, other pointer: still one */
    event_anomaly(e, "test.a");
    ck_assert_uint_eq(e->nanom, 1);
    ck_assert_ptr_null(strstr(json_of(e), "truncated"));
    static const char *names[] = {"test.b", "test.c", "test.d", "test.e", "test.f",
                                  "test.g", "test.h", "test.i", "test.j"};
    for (int i = 0; i < 9; i++)
        event_anomaly(e, names[i]);
    ck_assert_uint_eq(e->nanom, EVENT_MAX_ANOMALIES);
    ck_assert_int_eq(event_has_anomaly(e, "test.a"), 1);
    ck_assert_int_eq(event_has_anomaly(e, "test.h"), 1);
    ck_assert_int_eq(event_has_anomaly(e, "test.i"), 0); /* past the cap */
    ck_assert_int_eq(event_has_anomaly(e, "test.z"), 0);
    const char *j = json_of(e);
    ck_assert_ptr_nonnull(strstr(j, ",\"anomalies\":[\"test.a\",\"test.b\",\"test.c\",\"test.d\","
                                    "\"test.e\",\"test.f\",\"test.g\",\"test.h\"],"
                                    "\"truncated\":true}"));
    event_discard(&rec.sink, e);
}
END_TEST

static const char *ip_json(const char *text)
{
    static char buf[128];
    struct ev_addr a = addr6(text);
    struct jbuf j;
    jbuf_init(&j, buf, sizeof(buf));
    jbuf_ip(&j, &a);
    ck_assert(jbuf_ok(&j));
    return buf;
}

START_TEST(ipv6_format)
{
    /* RFC 5952: lowercase, no leading zeros, longest zero run (first on a tie, at
     * least two groups) as "::"; IPv4-mapped shown as IPv4. Checked with python3
     * ipaddress.IPv6Address(...).compressed. */
    ck_assert_str_eq(ip_json("::1"), "\"::1\"");
    ck_assert_str_eq(ip_json("::"), "\"::\"");
    ck_assert_str_eq(ip_json("2001:db8::1"), "\"2001:db8::1\"");
    ck_assert_str_eq(ip_json("2001:DB8:0:0:1:0:0:1"), "\"2001:db8::1:0:0:1\"");
    ck_assert_str_eq(ip_json("2001:db8:0:1:1:1:1:1"), "\"2001:db8:0:1:1:1:1:1\"");
    ck_assert_str_eq(ip_json("1:0:0:2:0:0:0:3"), "\"1:0:0:2::3\"");
    ck_assert_str_eq(ip_json("fe80::"), "\"fe80::\"");
    ck_assert_str_eq(ip_json("2001:0db8:00ab:0:0:0:0:0"), "\"2001:db8:ab::\"");
    ck_assert_str_eq(ip_json("0:2:3:4:5:6:7:8"), "\"0:2:3:4:5:6:7:8\"");
    ck_assert_str_eq(ip_json("1:2:3:4:5:6:7:0"), "\"1:2:3:4:5:6:7:0\"");
    ck_assert_str_eq(ip_json("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                     "\"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\"");
    ck_assert_str_eq(ip_json("::ffff:192.0.2.1"), "\"192.0.2.1\"");
    ck_assert_str_eq(ip_json("::ffff:0.0.0.0"), "\"0.0.0.0\"");
    ck_assert_str_eq(ip_json("::ffff:255.255.255.255"), "\"255.255.255.255\"");
    /* IPv4-compatible (deprecated) and NAT64 are not mapped: stay IPv6 */
    ck_assert_str_eq(ip_json("::c000:201"), "\"::c000:201\"");
    ck_assert_str_eq(ip_json("64:ff9b::c000:201"), "\"64:ff9b::c000:201\"");
    ck_assert_str_eq(ip_json("::fffe:c000:201"), "\"::fffe:c000:201\"");
}
END_TEST

static const char *ts_json(uint64_t us)
{
    static char buf[64];
    struct jbuf j;
    jbuf_init(&j, buf, sizeof(buf));
    jbuf_ts(&j, us);
    ck_assert(jbuf_ok(&j));
    return buf;
}

START_TEST(timestamps)
{
    /* UTC whatever the local zone is */
    setenv("TZ", "America/New_York", 1);
    ck_assert_str_eq(ts_json(0), "\"1970-01-01T00:00:00.000000Z\"");
    ck_assert_str_eq(ts_json(1), "\"1970-01-01T00:00:00.000001Z\"");
    ck_assert_str_eq(ts_json(1600000000123456ull), "\"2020-09-13T12:26:40.123456Z\"");
    ck_assert_str_eq(ts_json(951782400000001ull), "\"2000-02-29T00:00:00.000001Z\"");
    ck_assert_str_eq(ts_json(4102444799999999ull), "\"2099-12-31T23:59:59.999999Z\"");
    unsetenv("TZ");
}
END_TEST

/* The hand-written formatters against libc's, over values spread across the
 * whole range (a fixed-seed LCG: reproducible): gmtime_r + snprintf are the
 * independent oracle for dates, %llu / %lld / %02x for the rest. */
START_TEST(formatters_match_libc)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char want[96], got[96];
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t v = x >> (i % 64); /* every magnitude */
        struct jbuf j;
        jbuf_init(&j, got, sizeof(got));
        jbuf_u64(&j, v);
        snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
        ck_assert_str_eq(got, want);
        jbuf_init(&j, got, sizeof(got));
        jbuf_i64(&j, (int64_t)v);
        snprintf(want, sizeof(want), "%lld", (long long)(int64_t)v);
        ck_assert_str_eq(got, want);
        /* times up to the year 9999 (gmtime_r's 4-digit years) */
        uint64_t us = v % 253402300800000000ull;
        time_t sec = (time_t)(us / 1000000);
        struct tm tm;
        ck_assert_ptr_nonnull(gmtime_r(&sec, &tm));
        snprintf(want, sizeof(want), "\"%04d-%02d-%02dT%02d:%02d:%02d.%06uZ\"", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (unsigned)(us % 1000000));
        ck_assert_str_eq(ts_json(us), want);
        uint8_t m[6];
        for (int k = 0; k < 6; k++)
            m[k] = (uint8_t)(x >> (8 * k));
        jbuf_init(&j, got, sizeof(got));
        jbuf_mac(&j, m);
        snprintf(want, sizeof(want), "\"%02x:%02x:%02x:%02x:%02x:%02x\"", m[0], m[1], m[2], m[3],
                 m[4], m[5]);
        ck_assert_str_eq(got, want);
        struct ev_addr a;
        memset(&a, 0, sizeof(a));
        a.b[10] = a.b[11] = 0xff;
        memcpy(a.b + 12, m, 4);
        jbuf_init(&j, got, sizeof(got));
        jbuf_ip(&j, &a);
        snprintf(want, sizeof(want), "\"%u.%u.%u.%u\"", m[0], m[1], m[2], m[3]);
        ck_assert_str_eq(got, want);
    }
    struct jbuf j;
    jbuf_init(&j, got, sizeof(got));
    jbuf_i64(&j, INT64_MIN);
    ck_assert_str_eq(got, "-9223372036854775808");
    jbuf_init(&j, got, sizeof(got));
    jbuf_u64(&j, UINT64_MAX);
    ck_assert_str_eq(got, "18446744073709551615");
    /* past 9999 the year keeps its digits (libc cannot be the oracle there) */
    ck_assert_str_eq(ts_json(253402300800000000ull), "\"10000-01-01T00:00:00.000000Z\"");
    /* a number that does not fit is an overflow, not a cut number */
    char small[4];
    jbuf_init(&j, small, sizeof(small));
    jbuf_u64(&j, 12345);
    ck_assert(!jbuf_ok(&j));
}
END_TEST

START_TEST(event_stack)
{
    struct event_sink *s = sink();
    s->net.flow_id = 7;
    struct event *outer = event_begin(s, "outer", EV_DIR_REQUEST);
    event_op(outer, "o");
    ev_uint(outer, "a", 1);
    s->net.flow_id = 8; /* the context is copied at begin */
    struct event *inner = event_begin(s, "inner", EV_DIR_REQUEST);
    ck_assert_ptr_ne(inner, outer);
    event_code(inner, 5, "i");
    ev_uint(inner, "b", 2);
    ev_uint(outer, "c", 3); /* interleaved adds go to their own events */
    event_emit(s, inner);
    ck_assert_int_eq(rec.n, 1);
    ev_uint(outer, "d", 4);
    event_emit(s, outer);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_uint_eq(s->emitted, 2);
    ck_assert_int_eq(s->top, 0);
    /* inner first, each with only its own fields */
    ck_assert_str_eq(rec.ev[0].proto, "inner");
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"flow_id\":8,"));
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"inner\":{\"b\":2}"));
    ck_assert_str_eq(rec.ev[1].proto, "outer");
    ck_assert_ptr_nonnull(strstr(rec.json[1], "\"flow_id\":7,"));
    ck_assert_ptr_nonnull(strstr(rec.json[1], "\"code\":null,\"op\":\"o\",\"event\":\"outer.o\""));
    ck_assert_ptr_nonnull(strstr(rec.json[1], "\"outer\":{\"a\":1,\"c\":3,\"d\":4}"));

    /* emitting a lower event closes those above it */
    outer = event_begin(s, "outer", EV_DIR_REQUEST);
    inner = event_begin(s, "inner", EV_DIR_REQUEST);
    ck_assert_int_eq(s->top, 2);
    event_emit(s, outer);
    ck_assert_int_eq(s->top, 0);
    ck_assert_int_eq(rec.n, 3);
    /* discard delivers nothing */
    outer = event_begin(s, "outer", EV_DIR_REQUEST);
    event_discard(s, outer);
    ck_assert_int_eq(s->top, 0);
    ck_assert_int_eq(rec.n, 3);
    /* a leak past EVENT_STACK recycles the top slot rather than overrun */
    for (int i = 0; i < EVENT_STACK + 3; i++)
        event_begin(s, "leak", EV_DIR_REQUEST);
    ck_assert_int_eq(s->top, EVENT_STACK);
    /* fresh state after begin on a recycled slot */
    struct event *e = event_begin(s, "fresh", EV_DIR_NONE);
    ck_assert_uint_eq(e->nfields, 0);
    ck_assert_uint_eq(e->nanom, 0);
    ck_assert_uint_eq(e->depth, 0);
    event_emit(s, &s->stack[0]);
    ck_assert_int_eq(s->top, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("event");
    TCase *t = tcase_create("core");
    tcase_add_test(t, validator_self_test);
    tcase_add_test(t, every_field_type);
    tcase_add_test(t, whole_line);
    tcase_add_test(t, nesting);
    tcase_add_test(t, unbalanced_end);
    tcase_add_test(t, escaping);
    tcase_add_test(t, escaping_all_bytes);
    tcase_add_test(t, string_cap);
    tcase_add_test(t, field_overflow);
    tcase_add_test(t, depth_overflow);
    tcase_add_test(t, find);
    tcase_add_test(t, anomalies);
    tcase_add_test(t, ipv6_format);
    tcase_add_test(t, timestamps);
    tcase_add_test(t, formatters_match_libc);
    tcase_add_test(t, event_stack);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
