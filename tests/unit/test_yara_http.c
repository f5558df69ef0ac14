/* test_yara_http.c - YARA objects from HTTP/1.x bodies, FTP data connections and
 * OPC UA Write values: framing, one scan per object, names and attributes,
 * lying lengths, caps, and the stream windows they cover.
 *
 * Bytes: HTTP messages are written here per RFC 9112 (start line, fields,
 * Content-Length / chunked framing); the one capture is nDPI's http.pcapng (a
 * real curl GET and Google's 301), whose body digest was computed with tshark's
 * "follow,tcp,raw" and Python's hashlib. OPC UA chunks are built per OPC
 * 10000-6 §6.7 (MSG header, symmetric security header, sequence header) and
 * 10000-4 §5.10.4 (WriteRequest). The EICAR digest is the published one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "object.h"
#include "testutil.h"
#include "yara_scan.h"

extern const struct dissector http_dissector;
extern const struct dissector ftp_data_dissector;
extern const struct dissector opcua_dissector;

#define EICAR     "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#define EICAR_SHA "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"

static const char *RULES =
    "rule EICAR { strings: $e = "
    "\"X5O!P%@AP[4\\\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\" "
    "condition: $e }\n"
    "rule Any { condition: ot_object_type != \"stream\" and filesize > 0 }\n"
    "rule Moved { strings: $m = \"301 Moved\" condition: $m and ot_object_type == \"http.body\" "
    "and ot_proto == \"http\" and ot_direction == \"to_client\" }\n";

static struct recorder rec;
static struct yara_set *ys;
static struct yara_worker *yw;
static struct yara_flow fs; /* the one flow's stream windows */
static char err[1024];

static void start(uint32_t stream_max, uint32_t object_max, uint32_t ua_min)
{
    ck_assert_int_eq(yara_global_init(), 0);
    ys = yara_set_load_text("t.yar", RULES, err, sizeof(err));
    ck_assert_msg(ys != NULL, "%s", err);
    struct yara_limits lim = {stream_max, object_max, 0, 0, 0, ua_min, 0, stream_max};
    yw = yara_worker_new(&lim);
    ck_assert_ptr_nonnull(yw);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    recorder_init(&rec);
    rec.sink.yara = yw;
    memset(&fs, 0, sizeof(fs));
    yara_worker_set_flow(yw, &fs);
}

static void stop(void)
{
    yara_flow_end(yw, &fs, "", &rec.sink, 0);
    yara_worker_free(yw);
    yara_set_free(ys);
    yara_global_fini();
}

static struct yara_stats stats(void)
{
    struct yara_stats s;
    yara_worker_stats(yw, &s);
    return s;
}

/* ---- a stream player like the engine's (worker.c stream_feed) ---- */

struct player {
    const struct dissector *d;
    void *st;
    uint8_t *buf[2]; /* [0] to server */
    size_t len[2];
};

static void play_start(struct player *p, const struct dissector *d)
{
    memset(p, 0, sizeof(*p));
    p->d = d;
    p->st = d->state_new();
    ck_assert_ptr_nonnull(p->st);
}

static void set_dir(int to_server)
{
    rec.sink.net.to_server = (uint8_t)to_server;
    rec.sink.net.src_port = to_server ? 40000 : 80;
    rec.sink.net.dst_port = to_server ? 80 : 40000;
}

/* n bytes in direction to_server: the stream window takes them first, then the
 * dissector sees everything it has not consumed, until it consumes nothing. */
static void play(struct player *p, int to_server, const void *data, size_t n)
{
    int k = to_server ? 0 : 1;
    set_dir(to_server);
    if (yara_stream_data(yw, &fs, k, data, (uint32_t)n))
        yara_stream_scan(yw, &fs, k, p->d->name, &rec.sink, 1);
    p->buf[k] = realloc(p->buf[k], p->len[k] + n + 1);
    ck_assert_ptr_nonnull(p->buf[k]);
    memcpy(p->buf[k] + p->len[k], data, n);
    p->len[k] += n;
    for (;;) {
        if (!p->len[k]) break;
        uint8_t *copy = malloc(p->len[k]); /* exact size: ASan sees an over-read */
        memcpy(copy, p->buf[k], p->len[k]);
        struct cursor c = cursor_make(copy, p->len[k]);
        struct pdu_info info = {to_server, DISS_TCP, 0, 1};
        size_t used = p->d->parse(p->st, &c, &info, &rec.sink);
        free(copy);
        ck_assert_uint_le(used, p->len[k]);
        if (!used) break;
        memmove(p->buf[k], p->buf[k] + used, p->len[k] - used);
        p->len[k] -= used;
    }
}

static void play_s(struct player *p, int to_server, const char *s)
{
    play(p, to_server, s, strlen(s));
}

/* Several segments of one text, cut at the given offsets. */
static void play_cut(struct player *p, int to_server, const char *s, const size_t *cuts, int n)
{
    size_t at = 0;
    for (int i = 0; i <= n; i++) {
        size_t end = i < n ? cuts[i] : strlen(s);
        play(p, to_server, s + at, end - at);
        at = end;
    }
}

static void play_gap(struct player *p, int to_server)
{
    p->len[to_server ? 0 : 1] = 0;
    if (p->d->gap) p->d->gap(p->st, to_server);
}

/* The connection ends: the dissector's end() per direction, then the windows. */
static void play_end(struct player *p)
{
    for (int k = 0; k < 2; k++) {
        set_dir(k == 0);
        if (p->d->end) p->d->end(p->st, k == 0, &rec.sink);
    }
    set_dir(1);
    yara_flow_end(yw, &fs, p->d->name, &rec.sink, 1);
    yara_worker_set_flow(yw, &fs);
    p->d->state_free(p->st);
    free(p->buf[0]);
    free(p->buf[1]);
    memset(p, 0, sizeof(*p));
}

/* ---- looking at events ---- */

static int is_match(int i, const char *rule)
{
    const struct ev_field *f = event_find(&rec.ev[i], "rule");
    return f && !strcmp(rec.ev[i].proto, "yara") && f->len == strlen(rule) &&
           !memcmp(event_field_text(&rec.ev[i], f), rule, f->len);
}

static int count_rule(const char *rule)
{
    int n = 0;
    for (int i = 0; i < rec.n; i++)
        n += is_match(i, rule);
    return n;
}

/* The k-th match of rule (0-based), as an event. */
static const struct event *match(const char *rule, int k)
{
    for (int i = 0; i < rec.n; i++)
        if (is_match(i, rule) && k-- == 0) return &rec.ev[i];
    ck_abort_msg("no match %d of %s", k, rule);
    return NULL;
}

/* The JSON line of the k-th match of rule. */
static const char *match_json(const char *rule, int k)
{
    for (int i = 0; i < rec.n; i++)
        if (is_match(i, rule) && k-- == 0) return rec.json[i];
    ck_abort_msg("no match %d of %s", k, rule);
    return NULL;
}

static int count_anomaly(const char *name)
{
    int n = 0;
    for (int i = 0; i < rec.n; i++)
        n += event_has_anomaly(&rec.ev[i], name);
    return n;
}

static int count_proto(const char *proto)
{
    int n = 0;
    for (int i = 0; i < rec.n; i++)
        n += !strcmp(rec.ev[i].proto, proto);
    return n;
}

/* ---- HTTP ---- */

static const char *GET_EICAR = "GET /files/eicar.com HTTP/1.1\r\nHost: plc.example\r\n"
                               "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

START_TEST(http_body_split_over_segments_matches_once)
{
    /* streams on: the body must match in its object and not again in a window */
    start(65536, 1 << 20, 1024);
    struct player p;
    play_start(&p, &http_dissector);
    play_s(&p, 1, GET_EICAR);
    const char *resp =
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/x-msdos-program\r\n"
        "Content-Length: 68\r\nConnection: keep-alive\r\n\r\n" EICAR;
    size_t hdr = strlen(resp) - 68;
    size_t cuts[] = {20, hdr + 10, hdr + 40}; /* in a header line, and twice in the body */
    play_cut(&p, 0, resp, cuts, 3);
    ck_assert_int_eq(count_rule("EICAR"), 1); /* complete at its last byte */
    play_end(&p);
    ck_assert_int_eq(count_rule("EICAR"), 1);
    const struct event *e = match("EICAR", 0);
    ev_s(e, "object.type", "http.body");
    ev_s(e, "object.name", "/files/eicar.com");
    ev_s(e, "object.method", "GET");
    ev_s(e, "object.status", "200");
    ev_s(e, "object.content_type", "application/x-msdos-program");
    ev_absent(e, "object.content_encoding");
    ev_s(e, "object.sha256", EICAR_SHA);
    ck_assert_uint_eq(ev_u(e, "object.size"), 68);
    ev_s(e, "direction", "to_client");
    ev_s(e, "proto", "http");
    ck_assert_ptr_nonnull(strstr(match_json("EICAR", 0), "\"offset\":0,"));
    struct yara_stats s = stats();
    ck_assert_uint_eq(s.objects_scanned, 1);
    ck_assert_uint_eq(s.streams_scanned, 0);
    ck_assert_uint_eq(s.streams_covered, 2);  /* both directions parsed as HTTP */
    ck_assert_int_eq(count_proto("http"), 0); /* no event per message */
    stop();
}
END_TEST

START_TEST(http_chunked_body_is_joined)
{
    start(65536, 1 << 20, 1024);
    struct player p;
    play_start(&p, &http_dissector);
    play_s(&p, 1, GET_EICAR);
    /* EICAR cut over two chunks (0x1e = 30, 0x26 = 38 bytes), an extension, a trailer */
    const char *eicar = EICAR;
    char resp[1024];
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Encoding: gzip\r\n"
             "\r\n1e\r\n%.30s\r\n26;ext=1\r\n%s\r\n0\r\nX-Trailer: yes\r\n\r\n",
             EICAR, eicar + 30);
    /* byte by byte for the framing, then in two halves */
    for (size_t i = 0; i < 90; i++)
        play(&p, 0, resp + i, 1);
    play_s(&p, 0, resp + 90);
    play_end(&p);
    ck_assert_int_eq(count_rule("EICAR"), 1);
    const struct event *e = match("EICAR", 0);
    ev_s(e, "object.type", "http.body");
    ev_s(e, "object.name", "/files/eicar.com");
    ev_s(e, "object.content_encoding", "gzip"); /* scanned as carried */
    ev_s(e, "object.sha256", EICAR_SHA);
    ck_assert_uint_eq(ev_u(e, "object.size"), 68);
    ck_assert_int_eq(count_anomaly("http.invalid_chunk_size"), 0);
    ck_assert_int_eq(count_anomaly("http.truncated_body"), 0);
    ck_assert_uint_eq(stats().streams_scanned, 0);
    stop();
}
END_TEST

START_TEST(http_keep_alive_and_pipelining)
{
    start(0, 1 << 20, 1024);
    struct player p;
    play_start(&p, &http_dissector);
    /* four requests at once, then a fifth; HEAD, 204 and 304 carry no body */
    play_s(&p, 1,
           "GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"
           "GET /b HTTP/1.1\r\nHost: h\r\n\r\nDELETE /d HTTP/1.1\r\nHost: h\r\n\r\n");
    play_s(&p, 0,
           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\naaaaa"
           "HTTP/1.1 200 OK\r\nContent-Length: 68\r\n\r\n"
           "HTTP/1.1 100 Continue\r\n\r\n"
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbbb\r\n0\r\n\r\n"
           "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n");
    play_s(&p, 1, "\r\nGET /c HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n");
    play_s(&p, 0, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
    play_s(&p, 1, "GET /e HTTP/1.0\r\n\r\n");
    play_s(&p, 0, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\neee");
    play_end(&p);
    ck_assert_int_eq(count_rule("Any"), 3);
    ev_s(match("Any", 0), "object.name", "/a");
    ck_assert_uint_eq(ev_u(match("Any", 0), "object.size"), 5);
    ev_s(match("Any", 1), "object.name", "/b");
    ck_assert_uint_eq(ev_u(match("Any", 1), "object.size"), 3);
    /* the last body ends with the connection: complete, not truncated */
    ev_s(match("Any", 2), "object.name", "/e");
    ev_s(match("Any", 2), "object.content_type", "text/plain");
    ck_assert_uint_eq(ev_u(match("Any", 2), "object.size"), 3);
    ck_assert_int_eq(count_proto("http"), 0); /* no anomaly */
    ck_assert_uint_eq(stats().objects_scanned, 3);
    stop();
}
END_TEST

START_TEST(http_post_upload_is_a_request_body)
{
    start(0, 1 << 20, 1024);
    struct player p;
    play_start(&p, &http_dissector);
    char req[1024];
    const char *body =
        "--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"e.com\"\r\n\r\n" EICAR
        "\r\n--x--\r\n";
    snprintf(req, sizeof(req),
             "POST /upload.cgi HTTP/1.1\r\nHost: hmi\r\nContent-Type: multipart/form-data; "
             "boundary=x\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    size_t cuts[] = {strlen(req) - 40, strlen(req) - 20};
    play_cut(&p, 1, req, cuts, 2);
    play_s(&p, 0, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    play_end(&p);
    ck_assert_int_eq(count_rule("EICAR"), 1);
    const struct event *e = match("EICAR", 0);
    ev_s(e, "object.name", "/upload.cgi");
    ev_s(e, "object.method", "POST");
    ev_absent(e, "object.status");
    ev_s(e, "object.content_type", "multipart/form-data; boundary=x");
    ev_s(e, "direction", "to_server");
    ck_assert_uint_eq(ev_u(e, "object.size"), strlen(body));
    ck_assert_int_eq(count_rule("Any"), 1); /* the 201 has no body */
    stop();
}
END_TEST

START_TEST(http_lying_lengths_are_counted)
{
    start(0, 1 << 20, 1024);
    struct player p;
    /* Content-Length says more than comes: scanned at the close, counted */
    play_start(&p, &http_dissector);
    play_s(&p, 1, "GET /big HTTP/1.1\r\n\r\n");
    play_s(&p, 0, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" EICAR);
    play_end(&p);
    ck_assert_int_eq(count_anomaly("http.truncated_body"), 1);
    ck_assert_int_eq(count_rule("EICAR"), 1);
    ck_assert_uint_eq(ev_u(match("EICAR", 0), "object.scanned"), 68);

    /* ...says less: the rest is no start line; the parser finds the next message */
    rec.n = 0;
    play_start(&p, &http_dissector);
    play_s(&p, 1, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    play_s(&p, 0,
           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello world\r\nmore junk\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz");
    play_end(&p);
    ck_assert_int_eq(count_anomaly("http.invalid_start_line"), 1);
    ck_assert_int_eq(count_rule("Any"), 2);
    ck_assert_uint_eq(ev_u(match("Any", 1), "object.size"), 3);

    /* bad and lying chunk sizes, a missing chunk end, a bad Content-Length */
    rec.n = 0;
    play_start(&p, &http_dissector);
    play_s(&p, 1, "GET /c1 HTTP/1.1\r\n\r\nGET /c2 HTTP/1.1\r\n\r\nGET /c3 HTTP/1.1\r\n\r\n");
    play_s(&p, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
    play_s(&p, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n");
    play_s(&p, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n");
    play_s(&p, 0, "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\nbody\r\n");
    play_s(&p, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffff\r\nshort");
    play_end(&p);
    ck_assert_int_eq(count_anomaly("http.invalid_chunk_size"), 2);
    ck_assert_int_eq(count_anomaly("http.invalid_chunk_end"), 1);
    ck_assert_int_eq(count_anomaly("http.invalid_content_length"), 1);
    ck_assert_int_eq(count_anomaly("http.truncated_body"), 1);
    /* what came of each body was scanned: "abc" (cut by its chunk end), "short" */
    ck_assert_int_eq(count_rule("Any"), 2);
    /* anomaly events are http events of op malformed, code null */
    for (int i = 0; i < rec.n; i++)
        if (!strcmp(rec.ev[i].proto, "http")) {
            ck_assert_str_eq(rec.ev[i].op, "malformed");
            ck_assert_int_eq(rec.ev[i].has_code, 0);
        }
    stop();
}
END_TEST

START_TEST(http_caps)
{
    start(0, 32, 1024); /* objects of 32 bytes at most */
    struct player p;
    play_start(&p, &http_dissector);
    play_s(&p, 1, "GET /x HTTP/1.1\r\n\r\n");
    play_s(&p, 0, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    char body[100];
    memset(body, 'q', sizeof(body));
    play(&p, 0, body, 50);
    ck_assert_int_eq(count_rule("Any"), 1); /* scanned at the cap, at once */
    play(&p, 0, body, 50);
    play_end(&p);
    ck_assert_int_eq(count_rule("Any"), 1);
    const struct event *e = match("Any", 0);
    ck_assert_uint_eq(ev_u(e, "object.scanned"), 32);
    ck_assert_uint_eq(ev_u(e, "object.size"), 50); /* what had come when it was scanned */
    ck_assert_uint_eq(ev_u(e, "object.truncated"), 1);
    ck_assert_int_eq(count_proto("http"), 0);

    /* a header block over 32 KiB, and one of too many lines */
    rec.n = 0;
    play_start(&p, &http_dissector);
    play_s(&p, 1, "GET /y HTTP/1.1\r\n");
    char line[1024];
    memset(line, 'a', sizeof(line));
    memcpy(line, "X-Pad: ", 7);
    line[sizeof(line) - 2] = '\r';
    line[sizeof(line) - 1] = '\n';
    for (int i = 0; i < 40; i++)
        play(&p, 1, line, sizeof(line));
    ck_assert_int_eq(count_anomaly("http.header_too_long"), 1);
    play_s(&p, 1, "\r\nGET /z HTTP/1.1\r\n");
    for (int i = 0; i < 200; i++)
        play_s(&p, 1, "A: b\r\n");
    play_s(&p, 1, "\r\n");
    ck_assert_int_eq(count_anomaly("http.header_too_long"), 2);
    /* a line longer than the whole cap, no LF at all */
    play_end(&p);
    play_start(&p, &http_dissector);
    play_s(&p, 1, "GET /");
    for (int i = 0; i < 40; i++)
        play(&p, 1, line, sizeof(line) - 2);
    ck_assert_int_eq(count_anomaly("http.header_too_long"), 3);
    play_end(&p);
    stop();
}
END_TEST

START_TEST(http_gap_drops_the_body_and_resyncs)
{
    start(0, 1 << 20, 1024);
    struct player p;
    play_start(&p, &http_dissector);
    play_s(&p, 1, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    play_s(&p, 0,
           "HTTP/1.1 200 OK\r\nContent-Length: 68\r\n\r\n"
           "X5O!P%@AP");
    play_gap(&p, 0);
    play_s(&p, 0, "ANTIVIRUS-TEST-FILE!$H+H*\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    play_end(&p);
    ck_assert_int_eq(count_rule("EICAR"), 0);
    ck_assert_int_eq(count_rule("Any"), 1);
    ev_s(match("Any", 0), "object.name", "/2");
    stop();
}
END_TEST

START_TEST(http_not_http_leaves_the_stream_scan)
{
    /* a flow on port 80 that is not HTTP: one anomaly, and its window is scanned */
    start(65536, 1 << 20, 1024);
    struct player p;
    play_start(&p, &http_dissector);
    play_s(&p, 1, "\x16\x03\x01\x02\x05" EICAR);
    play_end(&p);
    ck_assert_int_eq(count_anomaly("http.invalid_start_line"), 1);
    ck_assert_int_eq(count_rule("EICAR"), 1);
    ev_s(match("EICAR", 0), "object.type", "stream");
    ck_assert_uint_eq(stats().streams_covered, 0);
    stop();
}
END_TEST

START_TEST(http_without_yara_reads_nothing)
{
    recorder_init(&rec); /* sink.yara NULL */
    void *st = http_dissector.state_new();
    const char *m = "garbage\r\n\r\nHTTP/1.1 200 OK\r\n";
    struct cursor c = cursor_make((const uint8_t *)m, strlen(m));
    struct pdu_info info = {0, DISS_TCP, 0, 1};
    ck_assert_uint_eq(http_dissector.parse(st, &c, &info, &rec.sink), strlen(m));
    http_dissector.end(st, 0, &rec.sink);
    http_dissector.state_free(st);
    ck_assert_int_eq(rec.n, 0);
}
END_TEST

START_TEST(http_real_capture)
{
    /* nDPI's http.pcapng: curl GET / to google.com, a 301 with a 219-byte body */
    start(0, 1 << 20, 1024);
    int n = pcap_feed_file(test_data_path("ndpi_http.pcapng"), &http_dissector, &rec.sink, 80, 0);
    ck_assert_int_eq(n, 10);
    ck_assert_int_eq(count_rule("Moved"), 1);
    const struct event *e = match("Moved", 0);
    ev_s(e, "object.name", "/");
    ev_s(e, "object.method", "GET");
    ev_s(e, "object.status", "301");
    ev_s(e, "object.content_type", "text/html; charset=UTF-8");
    ck_assert_uint_eq(ev_u(e, "object.size"), 219);
    ev_s(e, "object.sha256", "2178eedd5723a6ac22e94ec59bdcd99229c87f3623753f5e199678242f0e90de");
    ck_assert_int_eq(count_proto("http"), 0);
    stop();
}
END_TEST

/* ---- FTP data ---- */

START_TEST(ftp_data_is_one_object_per_direction)
{
    start(65536, 1 << 20, 1024);
    struct player p;
    play_start(&p, &ftp_data_dissector);
    const char *file = "MZ\x90\x01 padding " EICAR " trailer";
    size_t cuts[] = {5, 30, 60};
    play_cut(&p, 0, file, cuts, 3);           /* RETR: server to client */
    ck_assert_int_eq(count_rule("EICAR"), 0); /* the close ends the file */
    play_end(&p);
    ck_assert_int_eq(count_rule("EICAR"), 1);
    const struct event *e = match("EICAR", 0);
    ev_s(e, "object.type", "ftp.data");
    ev_s(e, "object.name", "ftp-data");
    ev_s(e, "direction", "to_client");
    ev_s(e, "proto", "ftp_data");
    ck_assert_uint_eq(ev_u(e, "object.size"), strlen(file));
    ck_assert_uint_eq(stats().streams_scanned, 0);
    ck_assert_uint_eq(stats().streams_covered, 1);
    ck_assert_int_eq(count_rule("Any"), 1); /* the silent direction: nothing */

    /* a gap drops the file; the cap scans its first bytes */
    rec.n = 0;
    play_start(&p, &ftp_data_dissector);
    play_s(&p, 1, "X5O!P%@AP[4");
    play_gap(&p, 1);
    play_s(&p, 1, "more");
    play_end(&p);
    ck_assert_int_eq(rec.n, 0);
    stop();
    start(0, 16, 1024);
    play_start(&p, &ftp_data_dissector);
    play_s(&p, 1, "0123456789abcdef0123456789");
    play_end(&p);
    ck_assert_int_eq(count_rule("Any"), 1);
    ck_assert_uint_eq(ev_u(match("Any", 0), "object.truncated"), 1);
    ck_assert_uint_eq(ev_u(match("Any", 0), "object.size"), 26);
    stop();
}
END_TEST

/* ---- OPC UA Write values ---- */

static size_t put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return 4;
}

/* A WriteRequest body (type id onwards) writing value (variant encoding enc,
 * length n) to ns=1;s=the.answer. */
static size_t write_request(uint8_t *b, uint8_t enc, const uint8_t *value, uint32_t n)
{
    size_t k = 0;
    b[k++] = 0x01; /* four-byte NodeId: ns 0, i=673 WriteRequest_Encoding_DefaultBinary */
    b[k++] = 0x00;
    b[k++] = 0xa1;
    b[k++] = 0x02;
    b[k++] = 0x00; /* RequestHeader: authentication token, two-byte NodeId i=0 */
    b[k++] = 0x00;
    memset(b + k, 0, 8); /* timestamp */
    k += 8;
    k += put_u32(b + k, 22);          /* request handle */
    k += put_u32(b + k, 0);           /* return diagnostics */
    k += put_u32(b + k, 0xffffffffu); /* audit entry id: null */
    k += put_u32(b + k, 10000);       /* timeout hint */
    b[k++] = 0x00;                    /* additional header: NodeId i=0, no body */
    b[k++] = 0x00;
    b[k++] = 0x00;
    k += put_u32(b + k, 1); /* NodesToWrite: 1 */
    b[k++] = 0x03;          /* NodeId string: ns 1, "the.answer" */
    b[k++] = 0x01;
    b[k++] = 0x00;
    k += put_u32(b + k, 10);
    memcpy(b + k, "the.answer", 10);
    k += 10;
    k += put_u32(b + k, 13);          /* AttributeId Value */
    k += put_u32(b + k, 0xffffffffu); /* index range: null */
    b[k++] = 0x01;                    /* DataValue: has value */
    b[k++] = enc;                     /* Variant */
    k += put_u32(b + k, n);
    memcpy(b + k, value, n);
    return k + n;
}

/* The body as MSG chunks of at most per bytes of body each ('C' ... 'F'). */
static void send_chunked(struct player *p, const uint8_t *body, size_t n, size_t per,
                         uint32_t req_id)
{
    static uint8_t chunk[8192];
    for (size_t at = 0; at < n;) {
        size_t m = n - at < per ? n - at : per;
        int last = at + m == n;
        memcpy(chunk, "MSG", 3);
        chunk[3] = last ? 'F' : 'C';
        put_u32(chunk + 4, (uint32_t)(24 + m));
        put_u32(chunk + 8, 5);                /* secure channel id */
        put_u32(chunk + 12, 1);               /* token id */
        put_u32(chunk + 16, req_id * 10 + 1); /* sequence number */
        put_u32(chunk + 20, req_id);
        memcpy(chunk + 24, body + at, m);
        play(p, 1, chunk, 24 + m);
        at += m;
    }
}

START_TEST(opcua_write_value_over_chunks)
{
    start(65536, 1 << 20, 1024);
    struct player p;
    play_start(&p, &opcua_dissector);
    static uint8_t value[2000], body[4096];
    memset(value, 'v', sizeof(value));
    memcpy(value + 1000, EICAR, 68);
    size_t n = write_request(body, 0x0f, value, sizeof(value)); /* ByteString */
    /* two chunks, C then F: the boundary falls 30 bytes into the value's EICAR */
    size_t at_eicar = n - sizeof(value) + 1000;
    send_chunked(&p, body, n, at_eicar + 30, 7);
    ck_assert_int_eq(count_rule("EICAR"), 1);
    play_end(&p); /* the stream window cannot see it: the chunk headers cut it */
    ck_assert_int_eq(count_rule("EICAR"), 1);
    const struct event *e = match("EICAR", 0);
    ev_s(e, "object.type", "opcua.write_value");
    ev_s(e, "object.name", "ns=1;s=the.answer");
    ev_s(e, "object.value_type", "ByteString");
    ev_s(e, "object.attribute_id", "13");
    ev_s(e, "proto", "opcua");
    ev_s(e, "direction", "to_server");
    ck_assert_uint_eq(ev_u(e, "object.size"), sizeof(value));
    ck_assert_ptr_nonnull(strstr(match_json("EICAR", 0), "\"offset\":1000,"));
    /* the write event itself is still there, once, with its service code */
    int writes = 0;
    for (int i = 0; i < rec.n; i++)
        if (!strcmp(rec.ev[i].proto, "opcua") && rec.ev[i].has_code && rec.ev[i].code == 673)
            writes++;
    ck_assert_int_eq(writes, 1);
    stop();
}
END_TEST

START_TEST(opcua_write_threshold)
{
    start(0, 1 << 20, 1024);
    struct player p;
    play_start(&p, &opcua_dissector);
    static uint8_t value[1024], body[2048];
    memset(value, 'w', sizeof(value));
    size_t n = write_request(body, 0x0f, value, 1023); /* one byte short */
    send_chunked(&p, body, n, 4096, 1);
    ck_assert_int_eq(count_rule("Any"), 0);
    n = write_request(body, 0x0c, value, 1024); /* a String at the threshold */
    send_chunked(&p, body, n, 4096, 2);
    ck_assert_int_eq(count_rule("Any"), 1);
    ev_s(match("Any", 0), "object.value_type", "String");
    n = write_request(body, 0x83, value, 1024); /* an array of 1024 Bytes */
    send_chunked(&p, body, n, 300, 3);
    ck_assert_int_eq(count_rule("Any"), 2);
    ev_s(match("Any", 1), "object.value_type", "Byte[]");
    ck_assert_uint_eq(ev_u(match("Any", 1), "object.size"), 1024);
    /* a value that claims more bytes than the message holds: not scanned */
    n = write_request(body, 0x0f, value, 1024);
    put_u32(body + n - 1024 - 4, 5000);
    send_chunked(&p, body, n, 4096, 4);
    ck_assert_int_eq(count_rule("Any"), 2);
    play_end(&p);
    stop();
}
END_TEST

START_TEST(opcua_real_writes_are_not_objects)
{
    /* open62541's mainloop capture writes Int32 values: no object at any threshold */
    start(0, 1 << 20, 1);
    int n = pcap_feed_file(test_data_path("opcua_open62541_mainloop.pcap"), &opcua_dissector,
                           &rec.sink, 4840, 0);
    ck_assert_int_gt(n, 0);
    int writes = 0;
    for (int i = 0; i < rec.n; i++)
        writes += !strcmp(rec.ev[i].proto, "opcua") && rec.ev[i].has_code && rec.ev[i].code == 673;
    ck_assert_int_eq(writes, 2);
    ck_assert_uint_eq(stats().objects_scanned, 0);
    stop();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("yara_http");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, http_body_split_over_segments_matches_once);
    tcase_add_test(t, http_chunked_body_is_joined);
    tcase_add_test(t, http_keep_alive_and_pipelining);
    tcase_add_test(t, http_post_upload_is_a_request_body);
    tcase_add_test(t, http_lying_lengths_are_counted);
    tcase_add_test(t, http_caps);
    tcase_add_test(t, http_gap_drops_the_body_and_resyncs);
    tcase_add_test(t, http_not_http_leaves_the_stream_scan);
    tcase_add_test(t, http_without_yara_reads_nothing);
    tcase_add_test(t, http_real_capture);
    tcase_add_test(t, ftp_data_is_one_object_per_direction);
    tcase_add_test(t, opcua_write_value_over_chunks);
    tcase_add_test(t, opcua_write_threshold);
    tcase_add_test(t, opcua_real_writes_are_not_objects);
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
