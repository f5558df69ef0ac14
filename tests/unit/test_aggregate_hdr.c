/* test_aggregate_hdr.c - the alert header (alert_hdr.h): what the rule engine hands the
 * aggregator beside each alert's JSON.
 *
 * The header of real alerts (rules_match on hand-built events: IPv4, IPv6, layer 2, a
 * threshold's count and start) is checked against the alert's own text, parsed by an
 * independent JSON reader (aggr_json.c: a scanner and an RFC 3339 parser); the
 * aggregator fed headers gives byte for byte what it gives fed the text; headers that
 * do not fit their text are passed through untouched. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "rules.h"
#include "testutil.h"

int aggr_json_hdr(const char *json, size_t len, struct alert_hdr *h); /* aggr_json.c */

#define MAXA 64
#define S    1000000ull
#define T0   1795802400000000ull /* 2026-11-27T18:00:00Z */

static struct recorder rec;
static struct ruleset *rs;
static struct rule_ctx *ctx;
static char err[4096];

/* the alerts emitted, each with the header the rule engine gave during emit */
static struct {
    char json[8192];
    size_t len;
    struct alert_hdr h;
} al[MAXA];
static int nal;

static void on_alert(void *c, const char *json, size_t len)
{
    (void)c;
    ck_assert_int_lt(nal, MAXA);
    ck_assert_uint_lt(len, sizeof(al[0].json));
    memcpy(al[nal].json, json, len);
    al[nal].len = len;
    al[nal].h = *rules_alert_hdr(ctx);
    nal++;
}

static void load(const char *text)
{
    rs = ruleset_load_text("t.rules", text, strlen(text), NULL, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ctx = rule_ctx_new(rs);
    ck_assert_ptr_nonnull(ctx);
    nal = 0;
}

static void unload(void)
{
    rule_ctx_free(ctx);
    ruleset_free(rs);
}

static void addr(struct ev_addr *a, const char *s)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, s, a->b + 12) == 1) {
        a->b[10] = a->b[11] = 0xff;
        return;
    }
    ck_assert_int_eq(inet_pton(AF_INET6, s, a->b), 1);
}

/* A Modbus write (FC 6) from src to dst at ts; ip NULL: layer 2 (no addresses). */
static void write_at(uint64_t ts, const char *src, const char *dst)
{
    struct ev_net *n = &rec.sink.net;
    n->ts_us = ts;
    n->ip_version = 0;
    n->transport = EV_TRANSPORT_L2;
    if (src) {
        n->ip_version = strchr(src, ':') ? 6 : 4;
        n->transport = EV_TRANSPORT_TCP;
        addr(&n->src, src);
        addr(&n->dst, dst);
    }
    n->src_port = 40000;
    n->dst_port = 502;
    n->to_server = 1;
    struct event *e = event_begin(&rec.sink, "modbus", EV_DIR_REQUEST);
    event_code(e, 6, "write_single_register");
    ev_uint(e, "func", 6);
    /* a string with braces and quotes, ahead of otsensor.count in the text */
    ev_cstr(e, "note", "{\"count\":99}");
    rules_match(ctx, e, "sensor \"x\"", on_alert, NULL);
    event_discard(&rec.sink, e);
}

/* The header against the text: every field equals what the JSON says, and each span
 * holds exactly the value's text. */
static void check_hdr(int i)
{
    struct alert_hdr want;
    const struct alert_hdr *h = &al[i].h;
    ck_assert_int_eq(aggr_json_hdr(al[i].json, al[i].len, &want), 0);
    ck_assert_int_eq(h->ok, 1);
    ck_assert_uint_eq(h->sid, want.sid);
    ck_assert_uint_eq(h->ts_us, want.ts_us);
    ck_assert_uint_eq(h->start_us, want.start_us);
    ck_assert_uint_eq(h->end_us, want.end_us);
    ck_assert_uint_eq(h->count, want.count);
    ck_assert_int_eq(h->has_ip, want.has_ip);
    ck_assert_mem_eq(h->src.b, want.src.b, 16);
    ck_assert_mem_eq(h->dst.b, want.dst.b, 16);
    for (int f = 0; f < ALERT_SPANS; f++) {
        ck_assert_uint_eq(h->span[f].off, want.span[f].off);
        ck_assert_uint_eq(h->span[f].len, want.span[f].len);
        ck_assert_uint_gt(h->span[f].len, 0);
    }
}

START_TEST(header_matches_text)
{
    recorder_init(&rec);
    load("alert modbus any any -> any any (msg:\"w {\\\"x\\\"}\"; code:6; sid:9100007;)\n"
         "alert modbus any any -> any any (msg:\"every 3rd\"; code:6; threshold: type "
         "threshold, track by_src, count 3, seconds 60; sid:4000000000;)\n");
    write_at(T0 + 123456, "10.0.0.1", "10.0.0.2");
    write_at(T0 + 2 * S, "10.0.0.1", "10.0.0.2");
    write_at(T0 + 5 * S + 7, "10.0.0.1", "10.0.0.2"); /* the third: the threshold's alert */
    write_at(T0 + 6 * S, "fe80::1", "2001:db8::2");
    write_at(T0 + 7 * S, NULL, NULL);
    ck_assert_int_eq(nal, 6); /* 5 x sid 9100007, 1 x the threshold's */
    for (int i = 0; i < nal; i++)
        check_hdr(i);
    /* what the independent parse says, spelled out for a few */
    ck_assert_uint_eq(al[0].h.sid, 9100007);
    ck_assert_uint_eq(al[0].h.ts_us, T0 + 123456);
    ck_assert_uint_eq(al[0].h.count, 1);
    const struct alert_span *sp = al[0].h.span;
    ck_assert_int_eq(strncmp(al[0].json + sp[ALERT_SPAN_TS].off, "\"2026-11-27T18:00:00.123456Z\"",
                             sp[ALERT_SPAN_TS].len),
                     0);
    ck_assert_int_eq(strncmp(al[0].json + sp[ALERT_SPAN_COUNT].off, "1,", 2), 0);
    /* the threshold's alert: sid above 2^31, count 3, start at the first of the three */
    int thr = -1;
    for (int i = 0; i < nal; i++)
        if (al[i].h.sid == 4000000000u) thr = i;
    ck_assert_int_ge(thr, 0);
    ck_assert_uint_eq(al[thr].h.count, 3);
    ck_assert_uint_eq(al[thr].h.start_us, T0 + 123456);
    ck_assert_uint_eq(al[thr].h.end_us, al[thr].h.ts_us);
    ck_assert_uint_lt(al[thr].h.start_us, al[thr].h.ts_us);
    ck_assert_int_eq(al[nal - 1].h.has_ip, 0); /* layer 2: no source.ip */
    unload();
}
END_TEST

struct out {
    int n;
    char *line[256];
    size_t len[256];
};

static void emit(void *c, const char *json, size_t len)
{
    struct out *o = c;
    ck_assert_int_lt(o->n, 256);
    o->line[o->n] = strndup(json, len);
    o->len[o->n] = len;
    o->n++;
}

static void out_free(struct out *o)
{
    for (int i = 0; i < o->n; i++)
        free(o->line[i]);
    o->n = 0;
}

/* Real alerts through the aggregator, once by header and once by text: the same lines. */
START_TEST(header_path_same_as_text)
{
    recorder_init(&rec);
    load("alert modbus any any -> any any (msg:\"w\"; code:6; sid:1;)\n"
         "alert modbus any any -> any any (msg:\"w2\"; code:6; sid:2;)\n");
    static const char *const src[] = {"10.0.0.1", "10.0.0.3", "fe80::1", NULL};
    for (int i = 0; i < 24; i++) /* 4 sources x 2 rules, 3 s apart: 72 s, two windows */
        write_at(T0 + (uint64_t)i * 3 * S + (uint64_t)i, src[i % 4], src[i % 4] ? "10.0.0.2" : 0);
    ck_assert_int_eq(nal, 48);
    struct aggr *a = aggr_new(60, 8), *b = aggr_new(60, 8);
    static struct out oa, ob;
    for (int i = 0; i < nal; i++) {
        aggr_alert_hdr(a, &al[i].h, al[i].json, al[i].len, emit, &oa);
        aggr_alert(b, al[i].json, al[i].len, emit, &ob);
    }
    aggr_flush(a, emit, &oa);
    aggr_flush(b, emit, &ob);
    struct aggr_stats sa, sb;
    aggr_get_stats(a, &sa);
    aggr_get_stats(b, &sb);
    ck_assert_uint_eq(sa.unparsed, 0);
    ck_assert_uint_gt(sa.summaries, 0);
    ck_assert_mem_eq(&sa, &sb, sizeof(sa));
    ck_assert_int_eq(oa.n, ob.n);
    for (int i = 0; i < oa.n; i++) {
        ck_assert_uint_eq(oa.len[i], ob.len[i]);
        ck_assert_mem_eq(oa.line[i], ob.line[i], oa.len[i]);
    }
    /* a summary: the window's count, its first merged time, the aggregation object */
    int sum = -1;
    for (int i = 0; i < oa.n && sum < 0; i++)
        if (strstr(oa.line[i], "\"aggregated\":{\"window_s\":60,")) sum = i;
    ck_assert_int_ge(sum, 0);
    aggr_free(a);
    aggr_free(b);
    out_free(&oa);
    out_free(&ob);
    unload();
}
END_TEST

/* Headers that do not fit their text, or say no: the alert goes out as it is. */
START_TEST(bad_headers_pass)
{
    recorder_init(&rec);
    load("alert modbus any any -> any any (msg:\"w\"; code:6; sid:1;)\n");
    write_at(T0, "10.0.0.1", "10.0.0.2");
    write_at(T0 + S, "10.0.0.1", "10.0.0.2");
    ck_assert_int_eq(nal, 2);
    struct aggr *a = aggr_new(60, 8);
    static struct out o;
    struct alert_hdr h = al[1].h;
    aggr_alert_hdr(a, &h, al[0].json, al[0].len, emit, &o); /* opens the window */
    h.span[ALERT_SPAN_COUNT].off = (uint32_t)al[1].len;     /* past the end */
    aggr_alert_hdr(a, &h, al[1].json, al[1].len, emit, &o);
    h = al[1].h;
    h.span[ALERT_SPAN_COUNT].len = UINT32_MAX; /* off + len wraps */
    aggr_alert_hdr(a, &h, al[1].json, al[1].len, emit, &o);
    h = al[1].h;
    struct alert_span t = h.span[ALERT_SPAN_START]; /* out of order */
    h.span[ALERT_SPAN_START] = h.span[ALERT_SPAN_END];
    h.span[ALERT_SPAN_END] = t;
    aggr_alert_hdr(a, &h, al[1].json, al[1].len, emit, &o);
    h = al[1].h;
    h.ok = 0;
    aggr_alert_hdr(a, &h, al[1].json, al[1].len, emit, &o);
    aggr_alert_hdr(a, NULL, al[1].json, al[1].len, emit, &o);
    aggr_flush(a, emit, &o); /* nothing was merged: no summary */
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    ck_assert_uint_eq(st.unparsed, 5);
    ck_assert_uint_eq(st.merged, 0);
    ck_assert_int_eq(o.n, 6);
    for (int i = 1; i < 6; i++)
        ck_assert_mem_eq(o.line[i], al[1].json, al[1].len);
    aggr_free(a);
    out_free(&o);
    unload();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("aggregate_hdr");
    TCase *t = tcase_create("core");
    tcase_add_test(t, header_matches_text);
    tcase_add_test(t, header_path_same_as_text);
    tcase_add_test(t, bad_headers_pass);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
