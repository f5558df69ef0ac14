/* test_yara.c - YARA on the wire: compiling (errors with file:line), the scanner's
 * events and externals, stream windows, object reassembly, budgets, SHA-256.
 *
 * SHA-256 vectors are FIPS 180-2's examples; object digests are compared with
 * this file's own sha256() only after that function passed those vectors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dissector.h"
#include "object.h"
#include "sha256.h"
#include "testutil.h"
#include "yara_scan.h"

extern const struct dissector modbus_dissector;
extern const struct dissector bacnet_dissector;

static struct recorder rec;
static char err[4096];

static const char *RULES =
    "rule Marker : t1 t2 { meta: fr = \"FR3\" n = 7 strings: $m = \"OTS-MARK\" condition: $m }\n"
    "rule S7Only { strings: $m = \"OTS-MARK\" condition: $m and ot_proto == \"s7comm\" and "
    "ot_object_type == \"s7comm.block\" and ot_direction == \"to_server\" }\n";

static struct yara_set *load(const char *text)
{
    struct yara_set *ys = yara_set_load_text("test.yar", text, err, sizeof(err));
    ck_assert_msg(ys != NULL, "compile: %s", err);
    return ys;
}

static struct yara_worker *worker(const struct yara_set *ys, uint32_t stream_max,
                                  uint32_t object_max, uint64_t flow_b, uint64_t sec_b)
{
    struct yara_limits lim = {stream_max, object_max, flow_b, sec_b, 0};
    struct yara_worker *yw = yara_worker_new(&lim);
    ck_assert_ptr_nonnull(yw);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    recorder_init(&rec);
    rec.sink.yara = yw;
    rec.sink.net.to_server = 1;
    rec.sink.net.ts_us = 5000000;
    return yw;
}

static int count_rule(const char *rule)
{
    int n = 0;
    for (int i = 0; i < rec.n; i++) {
        const struct ev_field *f = event_find(&rec.ev[i], "rule");
        if (f && f->len == strlen(rule) && !memcmp(event_field_text(&rec.ev[i], f), rule, f->len))
            n++;
    }
    return n;
}

/* The JSON of the first yara.match event of a rule, or NULL. */
static const char *rule_json(const char *rule)
{
    for (int i = 0; i < rec.n; i++) {
        const struct ev_field *f = event_find(&rec.ev[i], "rule");
        if (f && f->len == strlen(rule) && !memcmp(event_field_text(&rec.ev[i], f), rule, f->len))
            return rec.json[i];
    }
    return NULL;
}

static uint64_t objects_scanned(const struct yara_worker *yw)
{
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    return st.objects_scanned;
}

/* Feeds hex bytes to a dissector as one TCP delivery from sport to dport. */
static void feed_diss(const struct dissector *d, void *st, const char *hex, int to_server,
                      uint16_t sport, uint16_t dport)
{
    static uint8_t b[2048];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    ck_assert_uint_gt(n, 0);
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {.to_server = to_server,
                            .transport = (d->transports & DISS_TCP) ? DISS_TCP : DISS_UDP,
                            .ts_us = 1};
    rec.sink.net.to_server = to_server;
    rec.sink.net.src_port = sport;
    rec.sink.net.dst_port = dport;
    d->parse(st, &c, &info, &rec.sink);
}

static void setup(void)
{
    ck_assert_int_eq(yara_global_init(), 0);
}

static void teardown(void)
{
    yara_global_fini();
}

START_TEST(sha256_vectors)
{
    char h[65];
    sha256_hex("abc", 3, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, h);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    sha256_hex(m, strlen(m), h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(compile_errors_name_file_and_line)
{
    /* libyara names the line where its parser noticed: here the condition's */
    struct yara_set *ys = yara_set_load_text(
        "bad.yar", "rule ok { condition: true }\n\nrule x {\n condition: $a }\n", err, sizeof(err));
    ck_assert_ptr_null(ys);
    ck_assert_msg(strncmp(err, "bad.yar:4: ", 11) == 0, "got %s", err);
    ck_assert_ptr_nonnull(strstr(err, "$a"));
    /* a file on disk: its path and line */
    char path[] = "/tmp/ots_test_yara_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "rule a { condition: true }\nrule b { condition: nosuchthing }\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    ys = yara_set_load(path, err, sizeof(err));
    ck_assert_ptr_null(ys);
    char want[64];
    snprintf(want, sizeof(want), "%s:2: ", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got %s", err);
    unlink(path);
    /* a good set counts its rules */
    ys = load(RULES);
    ck_assert_int_eq(yara_set_count(ys), 2);
    yara_set_free(ys);
}
END_TEST

START_TEST(scan_event_and_externals)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    const char *data = "xxOTS-MARKyy";
    struct yara_target t = {"modbus", "stream", NULL, 1, 0, 0, 0, NULL, NULL};
    ck_assert_int_eq(yara_scan(yw, (const uint8_t *)data, strlen(data), &t, &rec.sink, 1), 1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_str_eq(rec.ev[0].proto, "yara");
    ck_assert_str_eq(rec.ev[0].op, "match");
    ck_assert_int_eq(count_rule("Marker"), 1);
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"tags\":[\"t1\",\"t2\"]"));
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"meta\":{\"fr\":\"FR3\",\"n\":7}"));
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"id\":\"$m\",\"offset\":2,\"length\":8"));
    char h[65];
    sha256_hex(data, strlen(data), h);
    ck_assert_ptr_nonnull(strstr(rec.json[0], h));
    /* the externals: the same bytes as an S7 block to the PLC match S7Only too */
    struct yara_target t2 = {"s7comm", "s7comm.block", "_0800001P", 1, 0, 0, 0, NULL, NULL};
    ck_assert_int_eq(yara_scan(yw, (const uint8_t *)data, strlen(data), &t2, &rec.sink, 1), 2);
    ck_assert_int_eq(count_rule("S7Only"), 1);
    /* ... but not travelling to the client */
    t2.to_server = 0;
    ck_assert_int_eq(yara_scan(yw, (const uint8_t *)data, strlen(data), &t2, &rec.sink, 1), 1);
    ck_assert_int_eq(count_rule("S7Only"), 1);
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.scans, 3);
    ck_assert_uint_eq(st.matches, 4);
    ck_assert_uint_eq(st.bytes_scanned, 3 * strlen(data));
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* A signature cut across pieces of a stream matches once, when the window fills. */
START_TEST(stream_window_once)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 64, 0, 0, 0);
    struct yara_flow fs = {0};
    yara_worker_set_flow(yw, &fs);
    const char *a = "0123456789OTS-", *b = "MARK", *c = "0123456789012345678901234567890123456789";
    ck_assert_int_eq(yara_stream_data(yw, &fs, 0, (const uint8_t *)a, (uint32_t)strlen(a)), 0);
    ck_assert_int_eq(yara_stream_data(yw, &fs, 0, (const uint8_t *)b, (uint32_t)strlen(b)), 0);
    ck_assert_int_eq(yara_stream_data(yw, &fs, 0, (const uint8_t *)c, (uint32_t)strlen(c)), 0);
    ck_assert_int_eq(rec.n, 0);
    /* 58 bytes held; this fills the 64-byte window */
    ck_assert_int_eq(yara_stream_data(yw, &fs, 0, (const uint8_t *)c, (uint32_t)strlen(c)), 1);
    yara_stream_scan(yw, &fs, 0, "", &rec.sink, 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    /* later bytes and the flow's end scan nothing again */
    ck_assert_int_eq(yara_stream_data(yw, &fs, 0, (const uint8_t *)a, (uint32_t)strlen(a)), 0);
    ck_assert_int_eq(yara_stream_open(&fs, 0), 0);
    /* the other direction holds a marker until the flow ends */
    ck_assert_int_eq(yara_stream_data(yw, &fs, 1, (const uint8_t *)"OTS-MARK", 8), 0);
    ck_assert_int_eq(yara_flow_held(&fs), 1);
    yara_flow_end(yw, &fs, "", &rec.sink, 2);
    ck_assert_int_eq(yara_flow_held(&fs), 0); /* buffers back to the pool */
    ck_assert_int_eq(count_rule("Marker"), 2);
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.streams_scanned, 2);
    ck_assert_uint_eq(st.bytes_scanned, 64 + 8);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* A window grows through the pool's size classes (256 << k bytes) and keeps
 * every byte in place; a second flow on the reused buffers sees only its own. */
START_TEST(window_grows_through_pool)
{
    /* markers at 250 and 1020 straddle the 256 and 1 KiB classes; the window
     * (100000 bytes) is not a class size, the last class is cut to it */
    struct yara_set *ys = load("rule Placed { strings: $m = \"OTS-MARK\" condition: #m == 4 and "
                               "@m[1] == 250 and @m[2] == 1020 and @m[3] == 16380 and "
                               "@m[4] == 99992 and filesize == 100000 }\n"
                               "rule Second { strings: $m = \"OTS-MARK\" condition: #m == 1 and "
                               "@m[1] == 4090 and filesize == 5000 }\n");
    struct yara_worker *yw = worker(ys, 100000, 0, 0, 0);
    static uint8_t buf[100000];
    memset(buf, 'a', sizeof(buf));
    const uint32_t at[] = {250, 1020, 16380, 99992};
    for (int i = 0; i < 4; i++)
        memcpy(buf + at[i], "OTS-MARK", 8);
    struct yara_flow fs = {0};
    uint32_t off = 0, n = 1;
    int full = 0;
    while (off < sizeof(buf) && !full) { /* pieces of 1, 2, 3 ... 700 bytes */
        uint32_t k = n < sizeof(buf) - off ? n : (uint32_t)sizeof(buf) - off;
        full = yara_stream_data(yw, &fs, 0, buf + off, k);
        off += k;
        n = n % 700 + 1;
    }
    ck_assert_int_eq(full, 1);
    ck_assert_uint_eq(off, sizeof(buf));
    yara_stream_scan(yw, &fs, 0, "", &rec.sink, 1);
    ck_assert_int_eq(count_rule("Placed"), 1);
    yara_flow_end(yw, &fs, "", &rec.sink, 1);
    /* the next flow takes the buffers back from the pool, old bytes and all */
    memset(buf, 'b', 5000);
    memcpy(buf + 4090, "OTS-MARK", 8);
    for (off = 0; off < 5000; off += 500)
        ck_assert_int_eq(yara_stream_data(yw, &fs, 1, buf + off, 500), 0);
    yara_flow_end(yw, &fs, "", &rec.sink, 2);
    ck_assert_int_eq(count_rule("Second"), 1);
    ck_assert_int_eq(count_rule("Placed"), 1);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* Externals are given to the scanner only when they change: each scan still
 * sees its own, also back to an earlier value and on a new scanner (SIGHUP). */
START_TEST(externals_follow_each_scan)
{
    const char *text =
        "rule Port { condition: ot_server_port == 502 and ot_proto == \"modbus\" and "
        "ot_direction == \"to_server\" }\n";
    struct yara_set *ys = load(text);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    const uint8_t *d = (const uint8_t *)"x";
    struct yara_target t = {"modbus", "stream", NULL, 1, 0, 0, 0, NULL, NULL};
    rec.sink.net.dst_port = 502;
    ck_assert_int_eq(yara_scan(yw, d, 1, &t, &rec.sink, 1), 1);
    t.to_server = 0; /* the direction changes: no match */
    ck_assert_int_eq(yara_scan(yw, d, 1, &t, &rec.sink, 1), 0);
    t.to_server = 1; /* and back */
    ck_assert_int_eq(yara_scan(yw, d, 1, &t, &rec.sink, 1), 1);
    rec.sink.net.dst_port = 503;
    ck_assert_int_eq(yara_scan(yw, d, 1, &t, &rec.sink, 1), 0);
    rec.sink.net.dst_port = 502;
    t.proto = "dnp3";
    ck_assert_int_eq(yara_scan(yw, d, 1, &t, &rec.sink, 1), 0);
    t.proto = "modbus";
    ck_assert_int_eq(yara_scan(yw, d, 1, &t, &rec.sink, 1), 1);
    /* a new set: its scanner starts from the compiled-in "" and 0 */
    struct yara_set *ys2 = load(text);
    ck_assert_int_eq(yara_worker_use(yw, ys2, NULL), 0);
    ck_assert_int_eq(yara_scan(yw, d, 1, &t, &rec.sink, 1), 1);
    ck_assert_int_eq(count_rule("Port"), 4);
    yara_worker_free(yw);
    yara_set_free(ys);
    yara_set_free(ys2);
}
END_TEST

/* A flow nDPI names encrypted drops its windows unscanned; others keep them. */
START_TEST(encrypted_flows_skipped)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 1024, 0, 0, 0);
    struct yara_flow enc = {0}, clear = {0};
    const uint8_t *m = (const uint8_t *)"OTS-MARK";
    yara_stream_data(yw, &enc, 0, m, 8);
    yara_stream_data(yw, &clear, 0, m, 8);
    ck_assert_int_eq(yara_flow_unclassified(&enc), 1);
    yara_flow_classified(yw, &enc, 1);
    yara_flow_classified(yw, &clear, 0);
    ck_assert_int_eq(yara_flow_held(&enc), 0); /* its bytes are let go at once */
    ck_assert_int_eq(yara_flow_held(&clear), 1);
    ck_assert_int_eq(yara_flow_unclassified(&enc), 0);
    ck_assert_int_eq(yara_flow_unclassified(&clear), 0);
    ck_assert_int_eq(yara_stream_data(yw, &enc, 1, m, 8), 0); /* nothing kept any more */
    ck_assert_int_eq(yara_stream_open(&enc, 0), 0);
    yara_flow_end(yw, &enc, "tls", &rec.sink, 1);
    yara_flow_end(yw, &clear, "", &rec.sink, 1);
    ck_assert_int_eq(yara_flow_unclassified(&enc), 1); /* zeroed for the flow's reuse */
    ck_assert_int_eq(count_rule("Marker"), 1);         /* the clear flow only */
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.encrypted_skips, 2);
    ck_assert_uint_eq(st.scans, 1);
    yara_worker_free(yw);
    /* yara.encrypted = yes: scanned like any other */
    struct yara_limits lim = {1024, 0, 0, 0, 1};
    yw = yara_worker_new(&lim);
    yara_worker_use(yw, ys, NULL);
    rec.sink.yara = yw;
    yara_stream_data(yw, &enc, 0, m, 8);
    yara_flow_classified(yw, &enc, 1);
    yara_flow_end(yw, &enc, "tls", &rec.sink, 1);
    ck_assert_int_eq(count_rule("Marker"), 2);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* An object built from several cursors is scanned once, at its end, with its name
 * and attributes; without YARA nothing is kept. */
START_TEST(object_reassembly)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    struct ots_object o;
    memset(&o, 0, sizeof(o));
    const uint8_t p1[] = "head OTS-", p2[] = "MARK tail";
    object_begin(&o, &rec.sink, "s7comm", "s7comm.block", "_0800001P", 9, 0);
    object_attr(&o, "block_type", "OB");
    struct cursor c1 = cursor_make(p1, 9), c2 = cursor_make(p2, 9);
    object_append(&o, &rec.sink, &c1, 9);
    ck_assert_int_eq(rec.n, 0);
    object_append(&o, &rec.sink, &c2, 100); /* more than there is: takes what is there */
    ck_assert_uint_eq(cursor_left(&c2), 0);
    ck_assert_int_eq(rec.n, 0);
    object_end(&o, &rec.sink, 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    ck_assert_int_eq(count_rule("S7Only"), 1);
    char h[65];
    sha256_hex("head OTS-MARK tail", 18, h);
    ck_assert_ptr_nonnull(strstr(rec.json[0], h));
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"name\":\"_0800001P\""));
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"block_type\":\"OB\""));
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"type\":\"s7comm.block\""));
    /* ended twice: still one scan */
    object_end(&o, &rec.sink, 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    /* aborted: never scanned */
    object_begin(&o, &rec.sink, "s7comm", "s7comm.block", NULL, 0, 0);
    c1 = cursor_make(p1, 9);
    c2 = cursor_make(p2, 9);
    object_append(&o, &rec.sink, &c1, 9);
    object_append(&o, &rec.sink, &c2, 9);
    object_abort(&o);
    object_end(&o, &rec.sink, 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    /* no YARA in the sink: nothing kept, the cursor still advances */
    struct yara_worker *save = rec.sink.yara;
    rec.sink.yara = NULL;
    object_begin(&o, &rec.sink, "s7comm", "s7comm.block", NULL, 0, 0);
    c1 = cursor_make(p1, 9);
    object_append(&o, &rec.sink, &c1, 9);
    ck_assert_uint_eq(cursor_left(&c1), 0);
    ck_assert_int_eq(object_active(&o), 0);
    rec.sink.yara = save;
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.objects_scanned, 1);
    object_free(&o);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* At its cap an object is scanned once, at once, marked truncated; the rest is
 * counted but not kept. */
START_TEST(object_cap)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 16, 0, 0);
    struct ots_object o;
    memset(&o, 0, sizeof(o));
    const uint8_t p[] = "OTS-MARK0123456789abcdef";
    object_begin(&o, &rec.sink, "x", "x.file", "f", 1, 0);
    struct cursor c = cursor_make(p, 24);
    object_append(&o, &rec.sink, &c, 24);
    ck_assert_int_eq(count_rule("Marker"), 1);
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"size\":24,\"scanned\":16,\"truncated\":true"));
    c = cursor_make(p, 24);
    object_append(&o, &rec.sink, &c, 24);
    object_end(&o, &rec.sink, 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.objects_scanned, 1);
    ck_assert_uint_eq(st.objects_truncated, 1);
    ck_assert_uint_eq(st.bytes_scanned, 16);
    object_free(&o);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

START_TEST(budgets)
{
    struct yara_set *ys = load(RULES);
    /* per flow: 20 bytes */
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 20, 0);
    struct yara_flow fs = {0};
    yara_worker_set_flow(yw, &fs);
    struct yara_target t = {"", "stream", NULL, 1, 0, 0, 0, NULL, NULL};
    const uint8_t *d = (const uint8_t *)"OTS-MARK OTS-MARK";
    ck_assert_int_eq(yara_scan(yw, d, 12, &t, &rec.sink, 1), 1);
    ck_assert_int_eq(yara_scan(yw, d, 12, &t, &rec.sink, 1), -1); /* 24 > 20 */
    ck_assert_int_eq(yara_scan(yw, d, 8, &t, &rec.sink, 1), 1);   /* 20: fits */
    ck_assert_uint_eq(fs.used, 20); /* the flow's state keeps its budget */
    yara_flow_end(yw, &fs, "", &rec.sink, 1);
    ck_assert_uint_eq(fs.used, 0);
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.budget_skips, 1);
    yara_worker_free(yw);
    /* per second of packet time: 20 bytes */
    yw = worker(ys, 0, 1 << 20, 0, 20);
    ck_assert_int_eq(yara_scan(yw, d, 12, &t, &rec.sink, 1000000), 1);
    ck_assert_int_eq(yara_scan(yw, d, 12, &t, &rec.sink, 1999999), -1);
    ck_assert_int_eq(yara_scan(yw, d, 12, &t, &rec.sink, 2000000), 1); /* a new second */
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.budget_skips, 1);
    ck_assert_uint_eq(st.matches, 2);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* A scanner follows its set: switching sets changes what matches. */
START_TEST(switch_sets)
{
    struct yara_set *a = load(RULES);
    struct yara_set *b = load("rule Other { strings: $o = \"OTHER\" condition: $o }");
    struct yara_worker *yw = worker(a, 0, 1 << 20, 0, 0);
    struct yara_target t = {"", "stream", NULL, 1, 0, 0, 0, NULL, NULL};
    const uint8_t *d = (const uint8_t *)"OTS-MARK OTHER";
    ck_assert_int_eq(yara_scan(yw, d, 14, &t, &rec.sink, 1), 1);
    ck_assert_int_eq(yara_worker_use(yw, b, NULL), 0);
    yara_set_free(a); /* the worker no longer uses it */
    ck_assert_int_eq(yara_scan(yw, d, 14, &t, &rec.sink, 1), 1);
    ck_assert_int_eq(count_rule("Other"), 1);
    ck_assert_int_eq(yara_worker_use(yw, NULL, NULL), 0);
    ck_assert_int_eq(yara_scan(yw, d, 14, &t, &rec.sink, 1), 0);
    ck_assert_int_eq(yara_worker_active(yw), 0);
    yara_worker_free(yw);
    yara_set_free(b);
}
END_TEST

/* Modbus FC 21 (Write File Record, MODBUS Application Protocol v1.1b3 §6.15):
 * one object per file number in the PDU, its sub-requests' record data in
 * order, so a marker split across two sub-requests to file 4 (with file 5's
 * in between) matches once; the response, an echo, is not scanned again. */
START_TEST(modbus_write_file_record)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    void *st = modbus_dissector.state_new();
    const char *req = "0001 0000 0024 01 15 21"
                      " 06 0004 0001 0002 784F5453"      /* file 4 record 1: "xOTS" */
                      " 06 0005 0000 0001 7A7A"          /* file 5 record 0: "zz" */
                      " 06 0004 0002 0003 2D4D41524B21"; /* file 4 record 2: "-MARK!" */
    feed_diss(&modbus_dissector, st, req, 1, 40000, 502);
    ck_assert_int_eq(count_rule("Marker"), 1);
    ck_assert_int_eq(count_rule("S7Only"), 0);
    const char *j = rule_json("Marker");
    ck_assert_ptr_nonnull(j);
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"file:4\""));
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"modbus.file_record\""));
    ck_assert_ptr_nonnull(strstr(j, "\"file\":\"4\""));
    ck_assert_ptr_nonnull(strstr(j, "\"record\":\"1\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_server\""));
    feed_diss(&modbus_dissector, st, req, 0, 502, 40000);
    ck_assert_int_eq(count_rule("Marker"), 1);
    /* two objects scanned per request (files 4 and 5); none for the echo */
    ck_assert_uint_eq(objects_scanned(yw), 2);
    modbus_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* Modbus FC 20 (Read File Record): the response's data is named by the
 * request's sub-requests (file 4 records 1 and 3), travelling to the client. */
START_TEST(modbus_read_file_record)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    void *st = modbus_dissector.state_new();
    feed_diss(&modbus_dissector, st, "0007 0000 0011 01 14 0E 06 0004 0001 0002 06 0004 0003 0003",
              1, 40000, 502);
    ck_assert_int_eq(count_rule("Marker"), 0);
    feed_diss(&modbus_dissector, st, "0007 0000 0011 01 14 0E 05 06 784F5453 07 06 2D4D41524B21", 0,
              502, 40000);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_ptr_nonnull(j);
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"file:4\""));
    ck_assert_ptr_nonnull(strstr(j, "\"record\":\"1\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_client\""));
    /* an unmatched response: its file is unknown */
    feed_diss(&modbus_dissector, st, "0008 0000 0009 01 14 06 05 06 784F5453", 0, 502, 40000);
    ck_assert_uint_eq(objects_scanned(yw), 2);
    modbus_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* BACnet AtomicWriteFile (ASHRAE 135 §15.2): each request's file data is one
 * object. Real bytes first: the UDP payload test_bacnet.c takes from a corpus
 * capture (its frame 8), a 448-byte stream write of a shell script to file 0
 * (the sha256 computed with Python's hashlib from the octet string). */
START_TEST(bacnet_atomic_write_file)
{
    struct yara_set *ys = load("rule Shell { strings: $s = \"#!/bin/sh\" condition: $s at 0 and "
                               "ot_proto == \"bacnet\" and ot_object_type == \"bacnet.file\" }\n"
                               "rule Marker { strings: $m = \"OTS-MARK\" condition: $m }\n");
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    void *st = bacnet_dissector.state_new();
    feed_diss(&bacnet_dissector, st,
              "810a01dc0124000d013dff00030107c4028000000e310065fe01c0"
              "23212f62696e2f73680a232055"
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
              "2064656d6f2f6f626a6563742f61690f",
              1, 47808, 47808);
    ck_assert_int_eq(count_rule("Shell"), 1);
    const char *j = rule_json("Shell");
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_nonnull(
        strstr(j, "a62f0f886cbde97c3e74979dff53ffb41e7a6d3353bbe9f024328ed4c8e5e78f"));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"file:0\""));
    ck_assert_ptr_nonnull(strstr(j, "\"access\":\"stream\""));
    /* built from the spec: file 5, start 32, octet string "xOTS-MARK!" */
    const char *w = "810a001f 0104 00050107 c402800005 0e 3120 650a 784f54532d4d41524b21 0f";
    feed_diss(&bacnet_dissector, st, w, 1, 47808, 47808);
    ck_assert_int_eq(count_rule("Marker"), 1);
    j = rule_json("Marker");
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"file:5\""));
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"bacnet.file\""));
    ck_assert_ptr_nonnull(strstr(j, "\"start\":\"32\""));
    /* the same write cut before its closing tag is not scanned */
    feed_diss(&bacnet_dissector, st,
              "810a001e 0104 00050107 c402800005 0e 3120 650a 784f54532d4d41524b21", 1, 47808,
              47808);
    ck_assert_int_eq(count_rule("Marker"), 1);
    ck_assert_uint_eq(objects_scanned(yw), 2);
    bacnet_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("yara");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, compile_errors_name_file_and_line);
    tcase_add_test(tc, scan_event_and_externals);
    tcase_add_test(tc, stream_window_once);
    tcase_add_test(tc, window_grows_through_pool);
    tcase_add_test(tc, externals_follow_each_scan);
    tcase_add_test(tc, encrypted_flows_skipped);
    tcase_add_test(tc, object_reassembly);
    tcase_add_test(tc, object_cap);
    tcase_add_test(tc, budgets);
    tcase_add_test(tc, switch_sets);
    tcase_add_test(tc, modbus_write_file_record);
    tcase_add_test(tc, modbus_read_file_record);
    tcase_add_test(tc, bacnet_atomic_write_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
