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

#include "cip.h"
#include "dissector.h"
#include "object.h"
#include "sha256.h"
#include "testutil.h"
#include "yara_scan.h"

extern const struct dissector modbus_dissector;
extern const struct dissector bacnet_dissector;
extern const struct dissector mms_dissector;

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
    struct yara_limits lim = {stream_max, object_max, flow_b, sec_b, 0, 1024, 0, stream_max};
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
    struct yara_target t = {"modbus", "stream", NULL, 1, 0, 0, 0, NULL, NULL, 0};
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
    struct yara_target t2 = {"s7comm", "s7comm.block", "_0800001P", 1, 0, 0, 0, NULL, NULL, 0};
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

/* Flows a dissector reads keep the shorter yara.stream_max_dissected window; the
 * others the full yara.stream_max. A flow found dissected once its window is past
 * the shorter cap is cut to it, and a cap of 0 drops the window. */
START_TEST(dissected_flows_shorter_window)
{
    /* filesize: the window length; the marker sits past the dissected cap */
    struct yara_set *ys = load("rule Len { condition: ot_object_type == \"stream\" }\n"
                               "rule Deep { strings: $m = \"OTS-MARK\" condition: $m }\n");
    struct yara_limits lim = {4096, 0, 0, 0, 0, 1024, 0, 1000};
    struct yara_worker *yw = yara_worker_new(&lim);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    recorder_init(&rec);
    rec.sink.yara = yw;
    static uint8_t buf[4096];
    memset(buf, 'a', sizeof(buf));
    memcpy(buf + 2000, "OTS-MARK", 8);
    struct yara_flow plain = {0}, diss = {0}, late = {0}, off = {0};
    yara_flow_dissected(&diss);
    int full[3] = {0, 0, 0};
    uint32_t fed[3] = {0, 0, 0};
    struct yara_flow *fl[3] = {&plain, &diss, &late};
    for (uint32_t at = 0; at < sizeof(buf); at += 100)
        for (int i = 0; i < 3; i++) {
            if (full[i]) continue;
            if (i == 2 && at == 1200) yara_flow_dissected(&late); /* 1,200 bytes held */
            full[i] = yara_stream_data(yw, fl[i], 0, buf + at, 100);
            fed[i] = at + 100;
        }
    ck_assert_int_eq(full[0] && full[1] && full[2], 1);
    ck_assert_uint_eq(fed[0], 4100); /* the last piece only partly fits */
    ck_assert_uint_eq(fed[1], 1000);
    ck_assert_uint_eq(fed[2], 1300); /* the first piece after the mark is refused */
    for (int i = 0; i < 3; i++) {
        rec.n = 0;
        yara_stream_scan(yw, fl[i], 0, "", &rec.sink, 1);
        ck_assert_int_eq(count_rule("Len"), 1);
        ck_assert_int_eq(count_rule("Deep"), i == 0);
        const char *j = rule_json("Len");
        ck_assert_ptr_nonnull(strstr(j, i == 0 ? "\"scanned\":4096" : "\"scanned\":1000"));
        yara_flow_end(yw, fl[i], "", &rec.sink, 2);
    }
    yara_worker_free(yw);
    /* a cap of 0: a dissected flow's window is let go and never scanned */
    lim.dissected_max = 0;
    yw = yara_worker_new(&lim);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    rec.sink.yara = yw;
    rec.n = 0;
    ck_assert_int_eq(yara_stream_data(yw, &off, 1, buf, 100), 0);
    yara_flow_dissected(&off);
    ck_assert_int_eq(yara_stream_data(yw, &off, 1, buf, 100), 0);
    ck_assert_int_eq(yara_flow_held(&off), 0);
    yara_flow_end(yw, &off, "", &rec.sink, 3);
    ck_assert_int_eq(rec.n, 0);
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

/* yara.memory_max: window buffers never exceed it. When the slabs are used up, a
 * direction with no buffer yet is given up for good, and a window that must grow is
 * scanned at once with what it holds. */
START_TEST(memory_cap)
{
    struct yara_set *ys = load(RULES);
    struct yara_limits lim = {65536, 0, 0, 0, 0, 1024, 2u << 20, 0}; /* one 2 MiB slab */
    struct yara_worker *yw = yara_worker_new(&lim);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    recorder_init(&rec);
    rec.sink.yara = yw;
    rec.sink.net.to_server = 1;
    enum { N = 9000 };
    static struct yara_flow fs[N];
    memset(fs, 0, sizeof(fs));
    uint8_t data[1000];
    memset(data, 'a', sizeof(data));
    memcpy(data + 10, "OTS-MARK", 8);
    /* 100 bytes a flow: a 256-byte buffer each, ~8,190 fit the slab */
    int held = 0, first_out = -1;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(yara_stream_data(yw, &fs[i], 0, data, 100), 0);
        if (yara_flow_held(&fs[i]))
            held++;
        else if (first_out < 0)
            first_out = i;
    }
    ck_assert_int_gt(first_out, 8000);
    ck_assert_int_eq(held, first_out); /* once out, every later flow is out too */
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.memory_cuts, (uint64_t)(N - first_out));
    ck_assert_uint_eq(st.window_bytes, 2u << 20);
    /* buffers come back; a direction given up stays given up */
    for (int i = 0; i < first_out; i++)
        yara_flow_end(yw, &fs[i], "", &rec.sink, 1);
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.matches, (uint64_t)first_out); /* every window held was scanned */
    ck_assert_int_eq(yara_stream_data(yw, &fs[first_out], 0, data, 100), 0);
    ck_assert_int_eq(yara_flow_held(&fs[first_out]), 0);
    /* a fresh flow gets a free 256-byte buffer, but growing past it needs a new
     * slab: the window is scanned now with its 256 bytes (the marker at 10) */
    struct yara_flow g = {0};
    ck_assert_int_eq(yara_stream_data(yw, &g, 0, data, 200), 0);
    ck_assert_int_eq(yara_stream_data(yw, &g, 0, data + 200, 200), 1);
    ck_assert_uint_eq(g.len[0], 256);
    yara_stream_scan(yw, &g, 0, "", &rec.sink, 2);
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.matches, (uint64_t)first_out + 1);
    ck_assert_uint_eq(st.memory_cuts, (uint64_t)(N - first_out) + 1);
    ck_assert_uint_eq(st.window_bytes, 2u << 20);
    for (int i = first_out; i < N; i++)
        yara_flow_end(yw, &fs[i], "", &rec.sink, 3);
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.matches, (uint64_t)first_out + 1); /* nothing more scanned */
    ck_assert_uint_eq(st.streams_scanned, (uint64_t)first_out + 1);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* The buffers a window leaves behind as it grows (256 B .. 32 KiB) and its full
 * window, once let go, are halved for small windows rather than left for windows of
 * their own size: 6,000 small windows after 16 full ones take no new memory, and
 * each still holds its own bytes. */
START_TEST(pool_halves_free_buffers)
{
    struct yara_set *ys = load(RULES);
    struct yara_limits lim = {65536, 0, 0, 0, 0, 1024, 0, 0};
    struct yara_worker *yw = yara_worker_new(&lim);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    recorder_init(&rec);
    rec.sink.yara = yw;
    rec.sink.net.to_server = 1;
    uint8_t data[1024];
    memset(data, 'a', sizeof(data));
    struct yara_flow big[16];
    memset(big, 0, sizeof(big));
    for (int i = 0; i < 16; i++) {
        int full = 0;
        for (int k = 0; k < 64 && !full; k++)
            full = yara_stream_data(yw, &big[i], 0, data, sizeof(data));
        ck_assert_int_eq(full, 1);
        ck_assert_uint_eq(big[i].len[0], 65536);
    }
    for (int i = 0; i < 16; i++)
        yara_flow_end(yw, &big[i], "", &rec.sink, 1);
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    uint64_t carved = st.window_bytes;
    ck_assert_uint_eq(st.matches, 0);
    enum { N = 6000 };
    static struct yara_flow small[N];
    memset(small, 0, sizeof(small));
    memcpy(data + 10, "OTS-MARK", 8);
    for (int i = 0; i < N; i++) {
        data[0] = (uint8_t)i; /* each window its own first byte */
        ck_assert_int_eq(yara_stream_data(yw, &small[i], 0, data, 100), 0);
        ck_assert_int_eq(yara_flow_held(&small[i]), 1);
    }
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.window_bytes, carved); /* 6,000 x 256 B from the halves */
    for (int i = 0; i < N; i++) {
        ck_assert_uint_eq(small[i].buf[0][0], (uint8_t)i);
        ck_assert_mem_eq(small[i].buf[0] + 10, "OTS-MARK", 8);
    }
    for (int i = 0; i < N; i++)
        yara_flow_end(yw, &small[i], "", &rec.sink, 2);
    yara_worker_stats(yw, &st);
    ck_assert_uint_eq(st.matches, N);
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
    struct yara_target t = {"modbus", "stream", NULL, 1, 0, 0, 0, NULL, NULL, 0};
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
    struct yara_limits lim = {1024, 0, 0, 0, 1, 1024, 0, 0};
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
    struct yara_target t = {"", "stream", NULL, 1, 0, 0, 0, NULL, NULL, 0};
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
    struct yara_target t = {"", "stream", NULL, 1, 0, 0, 0, NULL, NULL, 0};
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
 * sub-requests that address the same file at the next record (record numbers
 * count 2-byte registers) are one object, across PDUs; another file, a record
 * out of line or the flow's end scans it. The response, an echo, is not scanned. */
START_TEST(modbus_write_file_record)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    void *st = modbus_dissector.state_new();
    /* file 4 record 1, 2 registers: "xOTS" */
    const char *w1 = "0001 0000 000e 01 15 0b 06 0004 0001 0002 784F5453";
    /* file 4 record 3 (= 1 + 2), 3 registers: "-MARK!" */
    const char *w2 = "0002 0000 0010 01 15 0d 06 0004 0003 0003 2D4D41524B21";
    feed_diss(&modbus_dissector, st, w1, 1, 40000, 502);
    feed_diss(&modbus_dissector, st, w1, 0, 502, 40000); /* the echo */
    feed_diss(&modbus_dissector, st, w2, 1, 40000, 502);
    feed_diss(&modbus_dissector, st, w2, 0, 502, 40000);
    ck_assert_int_eq(count_rule("Marker"), 0); /* the run is still open */
    ck_assert_uint_eq(objects_scanned(yw), 0);
    /* file 5 record 0: "zz" ends file 4's run, then "-MARK!" to file 5 record 9
     * (not 0 + 1) ends that one too */
    feed_diss(&modbus_dissector, st,
              "0003 0000 0019 01 15 16 06 0005 0000 0001 7A7A 06 0005 0009 0003 2D4D41524B21", 1,
              40000, 502);
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
    ck_assert_uint_eq(objects_scanned(yw), 2);
    /* the flow ends: file 5's second run ("-MARK!" alone) is scanned, once */
    modbus_dissector.end(st, 1, &rec.sink);
    modbus_dissector.end(st, 0, &rec.sink);
    modbus_dissector.end(st, 1, &rec.sink);
    modbus_dissector.end(st, 0, &rec.sink);
    ck_assert_uint_eq(objects_scanned(yw), 3);
    ck_assert_int_eq(count_rule("Marker"), 1);
    modbus_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* A file written over several PDUs reaches yara.object_max: scanned once, at
 * once, truncated; later PDUs of the run are counted, not scanned again. */
START_TEST(modbus_file_record_cap)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 12, 0, 0);
    void *st = modbus_dissector.state_new();
    feed_diss(&modbus_dissector, st, "0001 0000 0012 01 15 0f 06 0007 0000 0004 4f54532d4d41524b",
              1, 40000, 502); /* "OTS-MARK", records 0-3 */
    ck_assert_int_eq(count_rule("Marker"), 0);
    feed_diss(&modbus_dissector, st, "0002 0000 0012 01 15 0f 06 0007 0004 0004 3031323334353637",
              1, 40000, 502); /* records 4-7: the 12-byte cap falls inside */
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_ptr_nonnull(strstr(j, "\"size\":16,\"scanned\":12,\"truncated\":true"));
    feed_diss(&modbus_dissector, st, "0003 0000 0012 01 15 0f 06 0007 0008 0004 4f54532d4d41524b",
              1, 40000, 502);
    modbus_dissector.end(st, 1, &rec.sink);
    modbus_dissector.end(st, 0, &rec.sink);
    ck_assert_int_eq(count_rule("Marker"), 1);
    struct yara_stats ys_st;
    yara_worker_stats(yw, &ys_st);
    ck_assert_uint_eq(ys_st.objects_scanned, 1);
    ck_assert_uint_eq(ys_st.objects_truncated, 1);
    modbus_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* Modbus FC 20 (Read File Record): the response's data is named by the
 * request's sub-requests (file 4 records 1 and 3), travelling to the client;
 * the next read of record 6 continues the run. */
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
    feed_diss(&modbus_dissector, st, "0008 0000 000a 01 14 07 06 0004 0006 0001", 1, 40000, 502);
    feed_diss(&modbus_dissector, st, "0008 0000 0007 01 14 04 03 06 2121", 0, 502, 40000);
    ck_assert_int_eq(count_rule("Marker"), 0);
    /* an unmatched response: its file is unknown, which ends file 4's run */
    feed_diss(&modbus_dissector, st, "0009 0000 0009 01 14 06 05 06 784F5453", 0, 502, 40000);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_ptr_nonnull(j);
    char h[65];
    sha256_hex("xOTS-MARK!!!", 12, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"file:4\""));
    ck_assert_ptr_nonnull(strstr(j, "\"record\":\"1\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_client\""));
    ck_assert_uint_eq(objects_scanned(yw), 1);
    modbus_dissector.end(st, 1, &rec.sink);
    modbus_dissector.end(st, 0, &rec.sink);
    ck_assert_uint_eq(objects_scanned(yw), 2);
    modbus_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* UMAS program read (codes 0x33/0x34/0x35) from nDPI's umas.pcap: 53 blocks,
 * 12343 bytes, the first starting "APX". The expected sha256 and the bytes
 * around the block 1/2 boundary come from tshark 4.0 (modbus.data of the 53
 * responses, 6 header bytes each cut, joined, hashed with Python's hashlib). */
START_TEST(modbus_umas_upload_capture)
{
    struct yara_set *ys =
        load("rule Apx { strings: $a = \"APX\" condition: $a at 0 and ot_proto == \"modbus\" and "
             "ot_object_type == \"modbus.umas_upload\" and ot_direction == \"to_client\" }\n"
             "rule Split { strings: $s = { 4c c2 00 00 53 44 00 00 } condition: $s }\n");
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    ck_assert_int_gt(
        pcap_feed_file(test_data_path("modbus_umas.pcap"), &modbus_dissector, &rec.sink, 502, 0),
        0);
    ck_assert_int_eq(count_rule("Apx"), 1);
    ck_assert_int_eq(count_rule("Split"), 1);
    const char *j = rule_json("Split");
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(strstr(j, "223dfe4cb8497b9a16b23f20a369a1483f83903a85b749deb8c84f878186c5c1") !=
                      NULL,
                  "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"modbus.umas_upload\""));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"unit:0\""));
    ck_assert_ptr_nonnull(strstr(j, "\"size\":12343,\"scanned\":12343,\"truncated\":false"));
    ck_assert_ptr_nonnull(strstr(j, "\"first_block\":\"1\""));
    ck_assert_uint_eq(objects_scanned(yw), 1);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* One Modbus/TCP ADU carrying UMAS: tid, unit 1, function 0x5A, then body. */
static void umas_feed(void *st, uint16_t tid, const char *body, int to_server)
{
    uint8_t b[512];
    char hex[1200];
    size_t n = hex_to_bytes(body, b, sizeof(b));
    int k = snprintf(hex, sizeof(hex), "%04x 0000 %04x 01 5a", tid, (unsigned)(n + 2));
    for (size_t i = 0; i < n; i++)
        k += snprintf(hex + k, sizeof(hex) - (size_t)k, "%02x", b[i]);
    if (to_server)
        feed_diss(&modbus_dissector, st, hex, 1, 40000, 502);
    else
        feed_diss(&modbus_dissector, st, hex, 0, 502, 40000);
}

static int has_anomaly(const char *name)
{
    for (int i = 0; i < rec.n; i++)
        if (event_has_anomaly(&rec.ev[i], name)) return 1;
    return 0;
}

/* UMAS program write (0x30/0x31/0x32): no public capture has one, so these bytes
 * are built from the 0x31 framing public notes describe (session, code, 00 01,
 * block u16le, length u16le, data), the one modbus.c parses. */
START_TEST(modbus_umas_download_built)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    void *st = modbus_dissector.state_new();
    umas_feed(st, 1, "01 30 0001 fb00", 1);
    umas_feed(st, 1, "01 fe", 0);
    umas_feed(st, 2, "01 31 0001 0100 0400 784f5453", 1); /* block 1: "xOTS" */
    umas_feed(st, 2, "01 fe", 0);
    umas_feed(st, 3, "01 31 0001 0200 0600 2d4d41524b21", 1); /* block 2: "-MARK!" */
    umas_feed(st, 3, "01 fe", 0);
    ck_assert_int_eq(count_rule("Marker"), 0);
    umas_feed(st, 4, "01 32 0001 0200", 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"modbus.umas_download\""));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"unit:1\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_server\""));
    ck_assert_ptr_nonnull(strstr(j, "\"first_block\":\"1\""));
    /* a missing block (1 then 3) drops the transfer, counted as an anomaly */
    ck_assert(!has_anomaly("modbus.umas_block_sequence"));
    umas_feed(st, 5, "01 30 0001 fb00", 1);
    umas_feed(st, 6, "01 31 0001 0100 0400 784f5453", 1);
    umas_feed(st, 7, "01 31 0001 0300 0600 2d4d41524b21", 1);
    ck_assert(has_anomaly("modbus.umas_block_sequence"));
    umas_feed(st, 8, "01 32 0001 0300", 1);
    /* a length past the PDU (0x100 announced, 4 there) drops it too */
    umas_feed(st, 9, "01 30 0001 fb00", 1);
    umas_feed(st, 10, "01 31 0001 0100 0001 784f5453", 1);
    ck_assert(has_anomaly("modbus.invalid_byte_count"));
    umas_feed(st, 11, "01 31 0001 0200 0600 2d4d41524b21", 1);
    umas_feed(st, 12, "01 32 0001 0200", 1);
    modbus_dissector.end(st, 1, &rec.sink);
    modbus_dissector.end(st, 0, &rec.sink);
    ck_assert_int_eq(count_rule("Marker"), 1);
    ck_assert_uint_eq(objects_scanned(yw), 1);
    modbus_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* UMAS program read, built in the capture's framing: a lying block length and a
 * cap. Blocks answer the request with the same tid. */
START_TEST(modbus_umas_upload_built)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 6, 0, 0);
    void *st = modbus_dissector.state_new();
    umas_feed(st, 1, "01 33 0001 fb00", 1);
    umas_feed(st, 1, "01 fe 0001 3730 0000", 0);
    umas_feed(st, 2, "01 34 0001 0100", 1);
    umas_feed(st, 2, "01 fe 00 00 0400 784f5453", 0);
    umas_feed(st, 3, "01 34 0001 0200", 1);
    umas_feed(st, 3, "01 fe 01 00 0600 2d4d41524b21", 0); /* the last: "x" cut at 6 */
    ck_assert_uint_eq(objects_scanned(yw), 1);
    yara_worker_free(yw);
    /* a reply whose length overruns its PDU: dropped, nothing scanned */
    yw = worker(ys, 0, 1 << 20, 0, 0);
    umas_feed(st, 4, "01 33 0001 fb00", 1);
    umas_feed(st, 5, "01 34 0001 0100", 1);
    umas_feed(st, 5, "01 fe 00 00 0400 784f5453", 0);
    umas_feed(st, 6, "01 34 0001 0200", 1);
    umas_feed(st, 6, "01 fe 01 00 ff00 2d4d41524b21", 0);
    ck_assert(has_anomaly("modbus.invalid_byte_count"));
    umas_feed(st, 7, "01 35 0001 0200", 1);
    modbus_dissector.end(st, 1, &rec.sink);
    modbus_dissector.end(st, 0, &rec.sink);
    ck_assert_uint_eq(objects_scanned(yw), 0);
    /* the same, whole: one match, to the client */
    umas_feed(st, 8, "01 33 0001 fb00", 1);
    umas_feed(st, 9, "01 34 0001 0100", 1);
    umas_feed(st, 9, "01 fe 00 00 0400 784f5453", 0);
    umas_feed(st, 10, "01 34 0001 0200", 1);
    umas_feed(st, 10, "01 fe 01 00 0600 2d4d41524b21", 0);
    umas_feed(st, 11, "01 35 0001 0200", 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"modbus.umas_upload\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_client\""));
    ck_assert_uint_eq(objects_scanned(yw), 1);
    modbus_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* One CIP message (hex) through cip_parse(), paired by key as SendUnitData's
 * sequence count; to_server: the direction it travels. */
static void cip_feed(struct cip_state *cs, const char *hex, uint16_t key, int to_server)
{
    uint8_t b[512];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    struct cip_msg_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.to_server = to_server;
    ctx.key_kind = CIP_KEY_SEQ;
    ctx.key[0] = (uint8_t)key;
    ctx.key[1] = (uint8_t)(key >> 8);
    rec.sink.net.to_server = (uint8_t)to_server;
    cip_parse(cs, &c, &ctx, &rec.sink);
}

/* CIP File object (class 0x37) transfers. No public capture has one, so these
 * are built from CIP Vol 1's File object services as OpENer implements them:
 * request = service, path words, path (20 37 = class 0x37, 24 01 = instance 1),
 * data; response = service|0x80, 00, status, 00, data. Transfer data = transfer
 * number, packet type (0 first, 1 middle, 2 last, 4 first and last), file data,
 * and on the last packet a 2-byte checksum, not file data. */
START_TEST(cip_file_download)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    struct cip_state *cs = calloc(1, sizeof(*cs));
    ck_assert_ptr_nonnull(cs);
    cip_feed(cs, "4c 02 20 37 24 01 0a000000 3412 0101", 1, 1); /* initiate download */
    cip_feed(cs, "cc 00 00 00 00 00 f0", 1, 0);
    cip_feed(cs, "50 02 20 37 24 01 00 00 784f5453", 2, 1); /* first: "xOTS" */
    cip_feed(cs, "d0 00 00 00 00", 2, 0);
    cip_feed(cs, "50 02 20 37 24 01 01 01 2d4d41", 3, 1); /* middle: "-MA" */
    cip_feed(cs, "d0 00 00 00 01", 3, 0);
    cip_feed(cs, "50 02 20 37 24 01 01 01 2d4d41", 4, 1); /* asked again: skipped */
    cip_feed(cs, "d0 00 00 00 01", 4, 0);
    ck_assert_int_eq(count_rule("Marker"), 0);
    cip_feed(cs, "50 02 20 37 24 01 02 02 524b21 beef", 5, 1); /* last: "RK!" + checksum */
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"proto\":\"cip\""));
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"cip.file\""));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"instance:1\""));
    ck_assert_ptr_nonnull(strstr(j, "\"instance\":\"1\""));
    ck_assert_ptr_nonnull(strstr(j, "\"transfer\":\"download\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_server\""));
    ck_assert_ptr_nonnull(strstr(j, "\"size\":10,"));
    /* a skipped transfer number drops the transfer */
    cip_feed(cs, "50 02 20 37 24 01 00 00 784f5453", 6, 1);
    cip_feed(cs, "50 02 20 37 24 01 02 01 2d4d41", 7, 1);
    ck_assert(has_anomaly("cip.file_transfer_sequence"));
    cip_feed(cs, "50 02 20 37 24 01 03 02 524b21 beef", 8, 1);
    /* a last packet too short for its checksum drops it too */
    cip_feed(cs, "50 02 20 37 24 01 00 00 784f5453", 9, 1);
    cip_feed(cs, "50 02 20 37 24 01 01 02 2d", 10, 1);
    /* a first-and-last packet is one whole file */
    cip_feed(cs, "50 02 20 37 24 02 00 04 4f54532d4d41524b 0000", 11, 1);
    ck_assert_int_eq(count_rule("Marker"), 2);
    int named2 = 0;
    for (int i = 0; i < rec.n; i++)
        named2 += strstr(rec.json[i], "\"yara\":{\"rule\":\"Marker\"") &&
                  strstr(rec.json[i], "\"name\":\"instance:2\"");
    ck_assert_int_eq(named2, 1);
    ck_assert_uint_eq(objects_scanned(yw), 2);
    cip_state_release(cs);
    free(cs);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* Upload Transfer: the data rides in the replies, named by the paired request's
 * instance; a cap scans once; an error reply drops the transfer. */
START_TEST(cip_file_upload)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    struct cip_state *cs = calloc(1, sizeof(*cs));
    ck_assert_ptr_nonnull(cs);
    cip_feed(cs, "4b 02 20 37 24 03 f0", 1, 1); /* initiate upload, max 240 */
    cip_feed(cs, "cb 00 00 00 0a000000 f0", 1, 0);
    cip_feed(cs, "4f 02 20 37 24 03 00", 2, 1);
    cip_feed(cs, "cf 00 00 00 00 00 784f5453", 2, 0);
    cip_feed(cs, "4f 02 20 37 24 03 01", 3, 1);
    ck_assert_int_eq(count_rule("Marker"), 0);
    cip_feed(cs, "cf 00 00 00 01 02 2d4d41524b21 1234", 3, 0);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"instance:3\""));
    ck_assert_ptr_nonnull(strstr(j, "\"transfer\":\"upload\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_client\""));
    /* an error reply (0x0C object state conflict) drops the open transfer */
    cip_feed(cs, "4f 02 20 37 24 03 00", 4, 1);
    cip_feed(cs, "cf 00 00 00 00 00 784f5453", 4, 0);
    cip_feed(cs, "4f 02 20 37 24 03 01", 5, 1);
    cip_feed(cs, "cf 00 0c 00", 5, 0);
    ck_assert(has_anomaly("cip.file_transfer_sequence"));
    cip_feed(cs, "4f 02 20 37 24 03 02", 6, 1);
    cip_feed(cs, "cf 00 00 00 02 02 2d4d41524b21 1234", 6, 0);
    ck_assert_uint_eq(objects_scanned(yw), 1);
    yara_worker_free(yw);
    /* at an 8-byte cap: scanned at once, truncated, not again at the last packet */
    yw = worker(ys, 0, 8, 0, 0);
    cip_feed(cs, "4f 02 20 37 24 03 00", 7, 1);
    cip_feed(cs, "cf 00 00 00 00 00 4f54532d4d41", 7, 0);
    cip_feed(cs, "4f 02 20 37 24 03 01", 8, 1);
    cip_feed(cs, "cf 00 00 00 01 02 524b3031323334 1234", 8, 0);
    ck_assert_int_eq(count_rule("Marker"), 1);
    ck_assert_ptr_nonnull(
        strstr(rule_json("Marker"), "\"size\":13,\"scanned\":8,\"truncated\":true"));
    ck_assert_uint_eq(objects_scanned(yw), 1);
    cip_state_release(cs);
    free(cs);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* One MMS PDU (hex) in TPKT + COTP DT, without session and presentation (which
 * mms.c accepts, as tshark does); to_server from the MMS client on 102. */
static void mms_feed(void *st, const char *pdu, int to_server)
{
    uint8_t b[512];
    char hex[1200];
    size_t n = hex_to_bytes(pdu, b, sizeof(b));
    int k = snprintf(hex, sizeof(hex), "0300%04x 02f080", (unsigned)(n + 7));
    for (size_t i = 0; i < n; i++)
        k += snprintf(hex + k, sizeof(hex) - (size_t)k, "%02x", b[i]);
    if (to_server)
        feed_diss(&mms_dissector, st, hex, 1, 17648, 102);
    else
        feed_diss(&mms_dissector, st, hex, 0, 102, 17648);
}

/* MMS domain download (ISO 9506-2): the InitiateDownloadSequence request is
 * frame 16 of ICS-Security-Tools' mms-initiateDownloadSequence.pcap (domain
 * "DTLogFilesDomain", invokeID 1); the server's DownloadSegment requests
 * ([27] Identifier) and the client's replies ([27] { loadData [0] OCTET STRING,
 * moreFollows [1] }) are built from the standard's ASN.1, as no public capture
 * has them. */
START_TEST(mms_domain_download)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    void *st = mms_dissector.state_new();
    mms_feed(st,
             "a029020101ba24801044544c6f6746696c6573446f6d61696ea10d1a0b4d7553656341433830304d"
             "820100",
             1);
    mms_feed(st, "a0 15 020105 9b 10 44544c6f6746696c6573446f6d61696e", 0);
    mms_feed(st, "a1 0b 020105 bb 06 8004784f5453", 1);
    ck_assert_int_eq(count_rule("Marker"), 0);
    mms_feed(st, "a0 15 020106 9b 10 44544c6f6746696c6573446f6d61696e", 0);
    mms_feed(st, "a1 10 020106 bb 0b 80062d4d41524b21 810100", 1); /* moreFollows FALSE */
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"proto\":\"mms\""));
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"mms.domain\""));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"DTLogFilesDomain\""));
    ck_assert_ptr_nonnull(strstr(j, "\"transfer\":\"download\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_server\""));
    /* the terminate that follows scans nothing again */
    mms_feed(st, "a0 17 020107 bc 12 801044544c6f6746696c6573446f6d61696e", 0);
    ck_assert_uint_eq(objects_scanned(yw), 1);
    /* terminated with discard [1]: dropped */
    mms_feed(st, "a0 17 020101 ba 12 801044544c6f6746696c6573446f6d61696e", 1);
    mms_feed(st, "a0 15 020108 9b 10 44544c6f6746696c6573446f6d61696e", 0);
    mms_feed(st, "a1 0b 020108 bb 06 80044f54532d", 1);
    mms_feed(st, "a0 15 020109 9b 10 44544c6f6746696c6573446f6d61696e", 0);
    mms_feed(st, "a1 0b 020109 bb 06 80044d41524b", 1);
    mms_feed(st, "a0 1b 02010a bc 16 801044544c6f6746696c6573446f6d61696e a1028000", 0);
    ck_assert_uint_eq(objects_scanned(yw), 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    mms_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* MMS domain upload: InitiateUploadSequence ([29] Identifier) answered with
 * ulsmID [0]; UploadSegment ([30] ULSM) replies carry loadData; here the
 * TerminateUploadSequence ([31] ULSM) ends it. Built from ISO 9506-2's ASN.1. */
START_TEST(mms_domain_upload)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    void *st = mms_dissector.state_new();
    mms_feed(st, "a0 09 02010a 9d 04 444f4d31", 1);
    mms_feed(st, "a1 0a 02010a bd 05 800103 a100", 0);
    mms_feed(st, "a0 06 02010b 9e 01 03", 1);
    mms_feed(st, "a1 0b 02010b be 06 8004784f5453", 0);
    mms_feed(st, "a0 06 02010c 9e 01 03", 1);
    mms_feed(st, "a1 0d 02010c be 08 80062d4d41524b21", 0);
    ck_assert_int_eq(count_rule("Marker"), 0);
    mms_feed(st, "a0 07 02010d 9f1f 01 03", 1);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"mms.domain\""));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"DOM1\""));
    ck_assert_ptr_nonnull(strstr(j, "\"transfer\":\"upload\""));
    ck_assert_ptr_nonnull(strstr(j, "\"ulsm\":\"3\""));
    /* ended by the client's terminate, but the data travelled to the client */
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_client\""));
    ck_assert_uint_eq(objects_scanned(yw), 1);
    mms_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* MMS file transfer: FileOpen { fileName [0] "PROG.BIN", initialPosition [1] }
 * answered with frsmID 7; FileRead (FRSM 7) replies { fileData [0],
 * moreFollows [1] }. Built from ISO 9506-2's ASN.1 (no public capture has a
 * file read). Then a fileData whose BER length overruns its element, and a cap. */
START_TEST(mms_file_read)
{
    struct yara_set *ys = load(RULES);
    struct yara_worker *yw = worker(ys, 0, 1 << 20, 0, 0);
    void *st = mms_dissector.state_new();
    mms_feed(st, "a0 15 020101 bf48 0f a00a190850524f472e42494e 810100", 1);
    mms_feed(st, "a1 0e 020101 bf48 08 800107 a103 80010a", 0);
    mms_feed(st, "a0 07 020102 9f49 01 07", 1);
    mms_feed(st, "a1 0c 020102 bf49 06 8004784f5453", 0);
    mms_feed(st, "a0 07 020103 9f49 01 07", 1);
    ck_assert_int_eq(count_rule("Marker"), 0);
    mms_feed(st, "a1 11 020103 bf49 0b 80062d4d41524b21 810100", 0);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"mms.file\""));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"PROG.BIN\""));
    ck_assert_ptr_nonnull(strstr(j, "\"frsm\":\"7\""));
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_client\""));
    mms_feed(st, "a0 07 020104 9f4a 01 07", 1); /* close: already complete */
    ck_assert_uint_eq(objects_scanned(yw), 1);
    /* fileData claims 0x20 bytes and has 4: the file is dropped */
    mms_feed(st, "a0 15 020105 bf48 0f a00a190850524f472e42494e 810100", 1);
    mms_feed(st, "a1 0e 020105 bf48 08 800108 a103 80010a", 0);
    mms_feed(st, "a0 07 020106 9f49 01 08", 1);
    mms_feed(st, "a1 0c 020106 bf49 06 8020784f5453", 0);
    mms_feed(st, "a0 07 020107 9f49 01 08", 1);
    mms_feed(st, "a1 11 020107 bf49 0b 80062d4d41524b21 810100", 0);
    mms_feed(st, "a0 07 020108 9f4a 01 08", 1);
    ck_assert_uint_eq(objects_scanned(yw), 1);
    yara_worker_free(yw);
    /* a 4-byte cap: scanned once, at once; the close scans nothing more */
    yw = worker(ys, 0, 4, 0, 0);
    mms_feed(st, "a0 15 020109 bf48 0f a00a190850524f472e42494e 810100", 1);
    mms_feed(st, "a1 0e 020109 bf48 08 800109 a103 80010a", 0);
    mms_feed(st, "a0 07 02010a 9f49 01 09", 1);
    mms_feed(st, "a1 11 02010a bf49 0b 80062d4d41524b21 810101", 0);
    mms_feed(st, "a0 07 02010b 9f4a 01 09", 1);
    ck_assert_uint_eq(objects_scanned(yw), 1);
    struct yara_stats yst;
    yara_worker_stats(yw, &yst);
    ck_assert_uint_eq(yst.objects_truncated, 1);
    mms_dissector.state_free(st);
    yara_worker_free(yw);
    yara_set_free(ys);
}
END_TEST

/* BACnet AtomicWriteFile (ASHRAE 135 §15.2): consecutive writes to one file at
 * the next position are one object, ended by another file, a write elsewhere or
 * the flow's end. Real bytes first: the UDP payload test_bacnet.c takes from a corpus
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
    ck_assert_int_eq(count_rule("Shell"), 0); /* the run is open */
    /* built from the spec: file 5, start 32, octet string "xOTS-MARK!" */
    const char *w = "810a001f 0104 00050107 c402800005 0e 3120 650a 784f54532d4d41524b21 0f";
    feed_diss(&bacnet_dissector, st, w, 1, 47808, 47808);
    ck_assert_int_eq(count_rule("Shell"), 1); /* another file ended file 0's run */
    const char *j = rule_json("Shell");
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_nonnull(
        strstr(j, "a62f0f886cbde97c3e74979dff53ffb41e7a6d3353bbe9f024328ed4c8e5e78f"));
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"file:0\""));
    ck_assert_ptr_nonnull(strstr(j, "\"access\":\"stream\""));
    /* the same write cut before its closing tag adds nothing */
    feed_diss(&bacnet_dissector, st,
              "810a001e 0104 00050107 c402800005 0e 3120 650a 784f54532d4d41524b21", 1, 47808,
              47808);
    ck_assert_int_eq(count_rule("Marker"), 0);
    bacnet_dissector.end(st, 1, &rec.sink); /* the flow ends: file 5's run */
    bacnet_dissector.end(st, 0, &rec.sink);
    ck_assert_int_eq(count_rule("Marker"), 1);
    j = rule_json("Marker");
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"name\":\"file:5\""));
    ck_assert_ptr_nonnull(strstr(j, "\"type\":\"bacnet.file\""));
    ck_assert_ptr_nonnull(strstr(j, "\"start\":\"32\""));
    ck_assert_uint_eq(objects_scanned(yw), 2);
    /* file 6: "xOTS" at 0, then "-MARK!" at 4 (= 0 + 4): one object */
    feed_diss(&bacnet_dissector, st, "810a0019 0104 00060107 c402800006 0e 3100 6504 784f5453 0f",
              1, 47808, 47808);
    feed_diss(&bacnet_dissector, st,
              "810a001b 0104 00070107 c402800006 0e 3104 6506 2d4d41524b21 0f", 1, 47808, 47808);
    ck_assert_int_eq(count_rule("Marker"), 1);
    /* record access to file 6 ends that run: the marker, split, matches once */
    feed_diss(&bacnet_dissector, st,
              "810a001b 0104 00080107 c402800006 1e 3100 2101 6504 784f5453 1f", 1, 47808, 47808);
    ck_assert_int_eq(count_rule("Marker"), 2);
    int split = 0;
    char h6[65];
    sha256_hex("xOTS-MARK!", 10, h6);
    for (int i = 0; i < rec.n; i++)
        split += strstr(rec.json[i], "\"name\":\"file:6\"") && strstr(rec.json[i], h6) &&
                 strstr(rec.json[i], "\"start\":\"0\"");
    ck_assert_int_eq(split, 1);
    bacnet_dissector.end(st, 1, &rec.sink);
    bacnet_dissector.end(st, 0, &rec.sink);
    ck_assert_uint_eq(objects_scanned(yw), 4);
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
    tcase_add_test(tc, dissected_flows_shorter_window);
    tcase_add_test(tc, window_grows_through_pool);
    tcase_add_test(tc, memory_cap);
    tcase_add_test(tc, pool_halves_free_buffers);
    tcase_add_test(tc, externals_follow_each_scan);
    tcase_add_test(tc, encrypted_flows_skipped);
    tcase_add_test(tc, object_reassembly);
    tcase_add_test(tc, object_cap);
    tcase_add_test(tc, budgets);
    tcase_add_test(tc, switch_sets);
    tcase_add_test(tc, modbus_write_file_record);
    tcase_add_test(tc, modbus_file_record_cap);
    tcase_add_test(tc, modbus_read_file_record);
    tcase_add_test(tc, modbus_umas_upload_capture);
    tcase_add_test(tc, modbus_umas_download_built);
    tcase_add_test(tc, modbus_umas_upload_built);
    tcase_add_test(tc, cip_file_download);
    tcase_add_test(tc, cip_file_upload);
    tcase_add_test(tc, mms_domain_download);
    tcase_add_test(tc, mms_domain_upload);
    tcase_add_test(tc, mms_file_read);
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
