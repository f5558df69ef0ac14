/* test_aggregate.c - alert aggregation: the window's edges in packet time, the key
 * (sid, source, destination, VLAN; ports ignored), the summary's fields, the cap and what
 * it evicts, the order of what goes out, and that counts always add up. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"

#define T0  1795802400000000ull /* 2026-11-27T18:00:00Z in µs (calendar.timegm) */
#define SEC 1000000ull

struct out {
    int n;
    char *line[4096];
    size_t len[4096];
};

static struct out out;

static void emit(void *ctx, const char *json, size_t len)
{
    struct out *o = ctx;
    ck_assert_int_lt(o->n, 4096);
    o->line[o->n] = strndup(json, len);
    o->len[o->n] = len;
    o->n++;
}

static void out_reset(void)
{
    for (int i = 0; i < out.n; i++)
        free(out.line[i]);
    out.n = 0;
}

/* An alert shaped as rules/alert_json.c writes it (the fields the aggregator reads,
 * with nested objects and strings holding braces around them). */
static void alert(struct aggr *a, uint64_t ts, const char *sid, const char *src, int sport,
                  const char *dst, unsigned count)
{
    char tsb[64];
    unsigned long long s = ts / SEC;
    /* T0 is midnight-aligned to 18:00:00; the tests stay within the same day */
    unsigned long long d = s - T0 / SEC;
    snprintf(tsb, sizeof(tsb), "2026-11-27T%02llu:%02llu:%02llu.%06lluZ", 18 + d / 3600,
             d / 60 % 60, d % 60, (unsigned long long)(ts % SEC));
    char b[1024];
    int n = snprintf(b, sizeof(b),
                     "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"alert\",\"severity\":2,"
                     "\"start\":\"%s\",\"end\":\"%s\"},\"rule\":{\"id\":\"%s\",\"name\":"
                     "\"a {tricky} \\\"name\\\"\"},\"source\":{\"ip\":\"%s\",\"port\":%d},"
                     "\"destination\":{\"ip\":\"%s\",\"port\":502},\"ot\":{\"modbus\":{\"x\":"
                     "[1,{\"id\":\"not the rule\"}]}},\"otsensor\":{\"count\":%u,\"sensor\":"
                     "\"t\"},\"message\":\"m\"}",
                     tsb, tsb, tsb, sid, src, sport, dst, count);
    aggr_alert(a, b, (size_t)n, emit, &out);
}

static int has(int i, const char *s)
{
    return i < out.n && strstr(out.line[i], s) != NULL;
}

/* otsensor.count of line i (the first "count": after "otsensor"). */
static unsigned long count_of(int i)
{
    const char *p = strstr(out.line[i], "\"otsensor\":{\"count\":");
    ck_assert_ptr_nonnull(p);
    return strtoul(p + strlen("\"otsensor\":{\"count\":"), NULL, 10);
}

START_TEST(parse_ts)
{
    uint64_t us;
    ck_assert_int_eq(aggr_parse_ts("1970-01-01T00:00:00Z", 20, &us), 0);
    ck_assert_uint_eq(us, 0);
    ck_assert_int_eq(aggr_parse_ts("2026-11-27T18:00:00.123456Z", 27, &us), 0);
    ck_assert_uint_eq(us, T0 + 123456);
    ck_assert_int_eq(aggr_parse_ts("2000-02-29T23:59:59.000005Z", 27, &us), 0);
    ck_assert_uint_eq(us, 951868799000005ull); /* a leap day (calendar.timegm) */
    ck_assert_int_eq(aggr_parse_ts("2000-02-29T23:59:59.5Z", 22, &us), 0);
    ck_assert_uint_eq(us, 951868799500000ull);
    ck_assert_int_eq(aggr_parse_ts("2000-02-29 23:59:59Z", 20, &us), -1);
    ck_assert_int_eq(aggr_parse_ts("2000-13-01T00:00:00Z", 20, &us), -1);
    ck_assert_int_eq(aggr_parse_ts("2000-01-01T00:00:00.1234567Z", 28, &us), -1);
    ck_assert_int_eq(aggr_parse_ts("2000-01-01T00:00:0xZ", 20, &us), -1);
}
END_TEST

/* t0 and t0 + window (inclusive) merge; t0 + window + 1 µs opens the next window,
 * after the summary of the first. */
START_TEST(window_edges)
{
    struct aggr *a = aggr_new(60, 100);
    alert(a, T0, "1", "10.0.0.1", 1000, "10.0.0.2", 1);
    ck_assert_int_eq(out.n, 1); /* the first goes out at once, unchanged */
    ck_assert(has(0, "\"count\":1,\"sensor\""));
    alert(a, T0 + 30 * SEC, "1", "10.0.0.1", 1001, "10.0.0.2", 1); /* other port: same key */
    alert(a, T0 + 60 * SEC, "1", "10.0.0.1", 1000, "10.0.0.2", 1);
    ck_assert_int_eq(out.n, 1);
    alert(a, T0 + 60 * SEC + 1, "1", "10.0.0.1", 1000, "10.0.0.2", 1);
    ck_assert_int_eq(out.n, 3);
    /* the summary: two merged, first and last time, @timestamp = first merged */
    ck_assert_uint_eq(count_of(1), 2);
    ck_assert(has(1, "\"aggregated\":{\"window_s\":60,\"total\":3}"));
    ck_assert(has(1, "{\"@timestamp\":\"2026-11-27T18:00:30.000000Z\""));
    ck_assert(has(
        1, "\"start\":\"2026-11-27T18:00:30.000000Z\",\"end\":\"2026-11-27T18:01:00.000000Z\""));
    ck_assert(has(1, "\"port\":1001"));           /* the first merged alert is the template */
    ck_assert(has(1, "\"id\":\"not the rule\"")); /* nested look-alikes untouched */
    /* then the new window's first alert, as it came */
    ck_assert(has(2, "\"@timestamp\":\"2026-11-27T18:01:00.000001Z\""));
    ck_assert_uint_eq(count_of(2), 1);
    ck_assert(!has(2, "aggregated"));
    /* a lone alert in a window gets no summary */
    aggr_tick(a, T0 + 200 * SEC, emit, &out);
    ck_assert_int_eq(out.n, 3);
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    ck_assert_uint_eq(st.in, 4);
    ck_assert_uint_eq(st.passed, 2);
    ck_assert_uint_eq(st.merged, 2);
    ck_assert_uint_eq(st.summaries, 1);
    ck_assert_uint_eq(st.open, 0);
    aggr_free(a);
    out_reset();
}
END_TEST

/* The clock (latest alert time, or aggr_tick) closes windows of other keys too. */
START_TEST(clock_closes)
{
    struct aggr *a = aggr_new(10, 100);
    alert(a, T0, "1", "10.0.0.1", 1, "10.0.0.2", 1);
    alert(a, T0 + 1 * SEC, "1", "10.0.0.1", 1, "10.0.0.2", 1);
    alert(a, T0 + 2 * SEC, "2", "10.0.0.1", 1, "10.0.0.2", 1); /* other sid */
    alert(a, T0 + 3 * SEC, "1", "10.0.0.9", 1, "10.0.0.2", 1); /* other source */
    alert(a, T0 + 4 * SEC, "1", "10.0.0.1", 1, "10.0.0.8", 1); /* other destination */
    ck_assert_int_eq(out.n, 4);
    aggr_tick(a, T0 + 10 * SEC, emit, &out); /* the end itself: still open */
    ck_assert_int_eq(out.n, 4);
    /* an alert of another key at t0 + 10 s + 1 µs moves the clock past the first window */
    alert(a, T0 + 10 * SEC + 1, "3", "10.0.0.1", 1, "10.0.0.2", 1);
    ck_assert_int_eq(out.n, 6);
    ck_assert(has(4, "\"aggregated\":{\"window_s\":10,\"total\":2}")); /* summary first */
    ck_assert(has(5, "\"id\":\"3\""));
    aggr_free(a);
    out_reset();
}
END_TEST

/* At the cap the oldest window closes early (summary now), counted; nothing is lost. */
START_TEST(cap_evicts_oldest)
{
    struct aggr *a = aggr_new(60, 2);
    alert(a, T0, "1", "10.0.0.1", 1, "10.0.0.2", 1);
    alert(a, T0 + 1, "1", "10.0.0.1", 1, "10.0.0.2", 4);
    alert(a, T0 + 2, "2", "10.0.0.1", 1, "10.0.0.2", 1);
    alert(a, T0 + 3, "2", "10.0.0.1", 1, "10.0.0.2", 1);
    ck_assert_int_eq(out.n, 2);
    alert(a, T0 + 4, "3", "10.0.0.1", 1, "10.0.0.2", 1); /* a third key: sid 1 evicted */
    ck_assert_int_eq(out.n, 4);
    ck_assert(has(2, "\"id\":\"1\""));
    ck_assert_uint_eq(count_of(2), 4); /* a merged alert's own count is summed */
    ck_assert(has(3, "\"id\":\"3\""));
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    ck_assert_uint_eq(st.evicted, 1);
    ck_assert_uint_eq(st.open, 2);
    /* sid 1 again within what would have been its window: a new window, sent at once */
    alert(a, T0 + 5, "1", "10.0.0.1", 1, "10.0.0.2", 1);
    ck_assert_int_eq(out.n, 6); /* sid 2's summary (evicted), then it */
    ck_assert(has(4, "\"id\":\"2\""));
    ck_assert(has(5, "\"id\":\"1\""));
    aggr_flush(a, emit, &out);
    ck_assert_int_eq(out.n, 6); /* sid 3 and sid 1 windows hold one alert each */
    aggr_get_stats(a, &st);
    ck_assert_uint_eq(st.evicted, 2);
    ck_assert_uint_eq(st.open, 0);
    aggr_free(a);
    out_reset();
}
END_TEST

/* Counts what goes out without keeping it: lines and the otsensor.count sum. */
struct tally {
    unsigned long lines, counts;
};

static void emit_tally(void *ctx, const char *json, size_t len)
{
    struct tally *t = ctx;
    char *z = strndup(json, len);
    const char *p = strstr(z, "\"otsensor\":{\"count\":");
    ck_assert_ptr_nonnull(p);
    t->counts += strtoul(p + strlen("\"otsensor\":{\"count\":"), NULL, 10);
    t->lines++;
    free(z);
}

/* One storm alert as text: at ts, of sid 1-3, from 10.0.0.<host> (1-4) to 10.0.0.200. */
static int storm_alert(char *b, size_t cap, uint64_t ts, int sid, int host, int port,
                       unsigned count)
{
    int m = (int)((ts - T0) / SEC / 60), s = (int)((ts - T0) / SEC % 60), us = (int)(ts % SEC);
    return snprintf(b, cap,
                    "{\"@timestamp\":\"2026-11-27T18:%02d:%02d.%06dZ\",\"event\":{\"start\":"
                    "\"2026-11-27T18:%02d:%02d.%06dZ\"},\"rule\":{\"id\":\"%d\"},\"source\":"
                    "{\"ip\":\"10.0.0.%d\",\"port\":%d},\"destination\":{\"ip\":"
                    "\"10.0.0.200\"},\"otsensor\":{\"count\":%u}}",
                    m, s, us, m, s, us, sid, host, port, count);
}

static unsigned long storm(uint32_t cap, struct tally *t)
{
    struct aggr *a = aggr_new(60, cap);
    unsigned long want = 0;
    srand(7);
    for (int i = 0; i < 100000; i++) {
        char b[512];
        int sid = 1 + rand() % 3, host = 1 + rand() % 4; /* 12 keys */
        unsigned c = 1 + (unsigned)(rand() % 3);
        want += c;
        int n = storm_alert(b, sizeof(b), T0 + (uint64_t)i * 3000, sid, host, rand() % 65536, c);
        aggr_alert(a, b, (size_t)n, emit_tally, t);
    }
    aggr_flush(a, emit_tally, t);
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    ck_assert_uint_eq(st.in, 100000);
    ck_assert_uint_eq(st.passed + st.summaries, t->lines);
    if (cap < 12) ck_assert_uint_gt(st.evicted, 0);
    aggr_free(a);
    return want;
}

/* Whatever the pattern, the counts of what goes out add up to the counts that came
 * in (also when the cap evicts all the time), and a storm becomes a few lines. */
START_TEST(storm_counts_add_up)
{
    struct tally t = {0, 0};
    unsigned long want = storm(16, &t);
    ck_assert_uint_eq(t.counts, want);
    /* 12 keys, 300 s, 60 s windows: at most 5 windows x (first + summary) each */
    ck_assert_uint_le(t.lines, 12 * 5 * 2);
    struct tally t2 = {0, 0};
    want = storm(5, &t2); /* 12 keys through 5 slots: evictions all the time */
    ck_assert_uint_eq(t2.counts, want);
    ck_assert_uint_gt(t2.lines, t.lines);

    /* one key, 100k alerts 1 ms apart (100 s): 2 windows, 4 lines */
    struct aggr *a = aggr_new(60, 8);
    for (int i = 0; i < 100000; i++)
        alert(a, T0 + (uint64_t)i * 1000, "9100002", "10.0.0.1", 40000, "10.0.0.2", 1);
    aggr_flush(a, emit, &out);
    ck_assert_int_eq(out.n, 4);
    ck_assert_uint_eq(count_of(0), 1);     /* t0 */
    ck_assert_uint_eq(count_of(1), 60000); /* t0 + 1 ms .. t0 + 60 s */
    ck_assert_uint_eq(count_of(2), 1);     /* t0 + 60.001 s opens the next */
    ck_assert_uint_eq(count_of(3), 39998);
    aggr_free(a);
    out_reset();
}
END_TEST

/* The header the rule engine gives (tests/unit/aggr_json.c recovers it from the text). */
int aggr_json_hdr(const char *json, size_t len, struct alert_hdr *h);

/* What goes out, in order, as one hash (and how many lines). */
struct seq {
    uint64_t h;
    unsigned long lines;
};

static void emit_seq(void *ctx, const char *json, size_t len)
{
    struct seq *q = ctx;
    for (size_t i = 0; i < len; i++)
        q->h = (q->h ^ (uint8_t)json[i]) * 1099511628211ull;
    q->h = (q->h ^ '\n') * 1099511628211ull;
    q->lines++;
}

/* 12 keys, 300 s; with absorb, each alert is first offered without its text. */
static void storm_seq(uint32_t cap, int absorb, struct seq *q, unsigned long *absorbed)
{
    struct aggr *a = aggr_new(60, cap);
    srand(11);
    for (int i = 0; i < 50000; i++) {
        char b[512];
        int sid = 1 + rand() % 3, host = 1 + rand() % 4, port = rand() % 65536;
        unsigned c = 1 + (unsigned)(rand() % 3);
        int n = storm_alert(b, sizeof(b), T0 + (uint64_t)i * 6000, sid, host, port, c);
        struct alert_hdr h;
        if (absorb && aggr_json_hdr(b, (size_t)n, &h) == 0 && aggr_count_only(a, &h, emit_seq, q)) {
            (*absorbed)++;
            continue;
        }
        aggr_alert(a, b, (size_t)n, emit_seq, q);
    }
    aggr_flush(a, emit_seq, q);
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    ck_assert_uint_eq(st.in, 50000);
    ck_assert_uint_eq(st.passed + st.summaries, q->lines);
    aggr_free(a);
}

/* Counting an alert without its text (what a worker does before writing it) gives
 * exactly the lines, in the same order, that handing every alert whole gives: with
 * room for every key, and with the cap evicting all the time. */
START_TEST(count_only_same_as_whole)
{
    uint32_t caps[] = {16, 5};
    for (int k = 0; k < 2; k++) {
        struct seq whole = {1469598103934665603ull, 0}, part = whole;
        unsigned long none = 0, absorbed = 0;
        storm_seq(caps[k], 0, &whole, &none);
        storm_seq(caps[k], 1, &part, &absorbed);
        ck_assert_uint_eq(part.lines, whole.lines);
        ck_assert_uint_eq(part.h, whole.h);
        ck_assert_uint_eq(none, 0);
        /* most of a storm is counted without text (the first alert of a window and the
         * summary's template are not) */
        ck_assert_uint_gt(absorbed, k == 0 ? 49000 : 1000);
    }
}
END_TEST

/* The key holds the VLAN: one address pair on two VLANs is two pairs of hosts. */
START_TEST(vlan_in_key)
{
    struct aggr *a = aggr_new(60, 8);
    const char *j = "{\"@timestamp\":\"2026-11-27T18:00:00Z\",\"rule\":{\"id\":\"7\"},\"source\":"
                    "{\"ip\":\"10.0.0.1\"},\"destination\":{\"ip\":\"10.0.0.2\"},"
                    "\"otsensor\":{\"count\":1}}";
    struct alert_hdr h;
    ck_assert_int_eq(aggr_json_hdr(j, strlen(j), &h), 0);
    for (int v = 0; v < 3; v++) {
        h.vlan = (uint16_t)(10 * v);
        aggr_alert_hdr(a, &h, j, strlen(j), emit, &out);
    }
    ck_assert_int_eq(out.n, 3); /* three keys: each the first of its window */
    ck_assert_int_eq(aggr_count_only(a, &h, emit, &out), 0); /* no template yet */
    aggr_alert_hdr(a, &h, j, strlen(j), emit, &out);         /* becomes the template */
    ck_assert_int_eq(aggr_count_only(a, &h, emit, &out), 1);
    h.vlan = 5; /* a fourth key */
    ck_assert_int_eq(aggr_count_only(a, &h, emit, &out), 0);
    ck_assert_int_eq(out.n, 3);
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    ck_assert_uint_eq(st.open, 3);
    ck_assert_uint_eq(st.merged, 2);
    aggr_flush(a, emit, &out);
    ck_assert_int_eq(out.n, 4); /* vlan 20's summary, count 2 */
    ck_assert_uint_eq(count_of(3), 2);
    aggr_free(a);
    out_reset();
}
END_TEST

START_TEST(unparsed_pass)
{
    struct aggr *a = aggr_new(60, 8);
    const char *bad[] = {"{\"rule\":{\"id\":\"1\"}}", "not json", "{\"@timestamp\":\"x\"}",
                         "{\"@timestamp\":\"2026-11-27T18:00:00Z\",\"rule\":{\"id\""};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++)
            aggr_alert(a, bad[i], strlen(bad[i]), emit, &out);
    ck_assert_int_eq(out.n, 8);
    ck_assert_str_eq(out.line[1], "not json");
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    ck_assert_uint_eq(st.unparsed, 8);
    aggr_free(a);
    out_reset();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("aggregate");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 120); /* 300,000 alerts in the storm test, also under ASan */
    tcase_add_test(t, parse_ts);
    tcase_add_test(t, window_edges);
    tcase_add_test(t, clock_closes);
    tcase_add_test(t, cap_evicts_oldest);
    tcase_add_test(t, storm_counts_add_up);
    tcase_add_test(t, unparsed_pass);
    tcase_add_test(t, count_only_same_as_whole);
    tcase_add_test(t, vlan_in_key);
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
