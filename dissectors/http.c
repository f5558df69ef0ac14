/* http.c - HTTP/1.x message framing, only to gather bodies as YARA objects.
 *
 * A message (RFC 9112) is a start line, header lines, an empty line and a body:
 *
 *   GET /path HTTP/1.1\r\n            HTTP/1.1 200 OK\r\n
 *   Host: x\r\n                       Transfer-Encoding: chunked\r\n
 *   Content-Length: 5\r\n             \r\n
 *   \r\n                              1a;ext\r\n <26 bytes>\r\n ... 0\r\n [trailers] \r\n
 *   <5 bytes>
 *
 * The body's length: Transfer-Encoding ending in chunked, else Content-Length,
 * else none (requests) or the rest of the connection (responses). A response to
 * HEAD, a 1xx, 204 or 304 has none; 101 and a 2xx answer to CONNECT turn the
 * connection into a tunnel (no longer read).
 *
 * Choices worth knowing:
 * - No event per message: DESIGN §2 names no http events and no rule reads them.
 *   The dissector is an object source (type http.body, named by the request
 *   URI, attributes method, status, content_type, content_encoding) and raises
 *   anomaly events (proto http, op malformed) for messages it cannot frame.
 * - Without YARA objects (no -Y, or yara.object_max 0) it reads nothing.
 * - Requests wait in a queue (HTTP_MAX_PENDING, pipelining) for their responses,
 *   which take their method (HEAD) and URI from it.
 * - Bodies are scanned as carried: chunked framing removed, content coding
 *   (gzip ...) not undone.
 * - A start line that is not HTTP, a Content-Length that is not a number, a bad
 *   chunk size or chunk end: one anomaly, the body so far is scanned, and the
 *   direction resynchronises at the next line that starts a message. A header
 *   block over HTTP_MAX_HEADER bytes or HTTP_MAX_LINES lines is one too.
 * - While a direction parses, its stream window is left to the bodies
 *   (object_stream_cover): headers are not scanned, a body matches once. A
 *   direction that never parsed, or lost its way, is stream-scanned as before. */
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "object.h"

#define HTTP_MAX_HEADER     32768u /* a header block (start line included) */
#define HTTP_MAX_LINES      128    /* header lines in one block */
#define HTTP_MAX_CHUNK_LINE 1024u
#define HTTP_MAX_PENDING    8   /* requests waiting for their response */
#define HTTP_COPY           256 /* bytes of a header line looked at */
#define HTTP_ATTR           OBJECT_ATTR_SIZE

static const char *const http_anomalies[] = {
    "http.invalid_start_line",
    "http.invalid_header",
    "http.header_too_long",
    "http.invalid_content_length",
    "http.invalid_transfer_encoding",
    "http.invalid_chunk_size",
    "http.invalid_chunk_end",
    "http.truncated_body",
    NULL,
};

enum http_mode {
    H_START = 0,  /* a start line is next */
    H_BODY_LEN,   /* left bytes of a Content-Length body */
    H_BODY_CLOSE, /* body until the connection closes */
    H_CHUNK_SIZE, /* a chunk-size line is next */
    H_CHUNK_DATA, /* left bytes of a chunk */
    H_CHUNK_END,  /* the CRLF after a chunk's data */
    H_TRAILER,    /* trailer lines, up to the empty line */
    H_RESYNC,     /* lost: skipping lines until one starts a message */
    H_TUNNEL,     /* not HTTP any more (CONNECT, Upgrade) */
};

struct http_req {
    char method[16];
    char uri[OBJECT_NAME_MAX];
    uint8_t uri_len;
};

struct http_dir {
    uint8_t mode;
    uint8_t covered; /* the stream window was left to the bodies */
    uint8_t pending; /* a header block has begun and not ended */
    uint64_t left;
    uint32_t scan_off; /* header block: bytes already known to hold no empty line */
    uint32_t scan_lines;
    uint32_t scan_to; /* header block: bytes already searched for a LF */
    struct ots_object obj;
};

struct http_state {
    struct http_dir dir[2]; /* [0] to server */
    struct http_req pend[HTTP_MAX_PENDING];
    unsigned head, count;
    uint64_t messages, bodies, anomalies, pending_lost;
};

/* ---- lines ---- */

/* The line's length without its CR LF, from its LF's offset. */
static size_t http_content_len(const struct cursor *c, size_t from, size_t lf)
{
    int ok;
    if (lf > from && cursor_peek_u8(c, lf - 1, &ok) == '\r') return lf - 1 - from;
    return lf - from;
}

/* Copies up to cap - 1 bytes of the line at `from` (content length n) as text. */
static void http_copy(const struct cursor *c, size_t from, size_t n, char *out, size_t cap)
{
    size_t m = n < cap - 1 ? n : cap - 1;
    const uint8_t *p = cursor_peek_ptr(c, from + m);
    if (!p) m = 0;
    if (m) memcpy(out, p + from, m);
    for (char *z = out; (z = memchr(z, 0, m - (size_t)(z - out))) != NULL;)
        *z = ' '; /* a NUL would end the text early */
    out[m] = '\0';
}

/* RFC 9110 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~ (a table: every byte of every
 * header name is tested) */
static const uint8_t http_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,  ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,  ['C'] = 1, ['D'] = 1,
    ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,  ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,  ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,  ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,  ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1,  ['n'] = 1, ['o'] = 1,
    ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,  ['v'] = 1, ['w'] = 1,
    ['x'] = 1, ['y'] = 1, ['z'] = 1, ['|'] = 1, ['~'] = 1};

static int http_is_tchar(int ch)
{
    return http_tchar[ch & 0xff];
}

static int http_lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Case-insensitive comparison of a header name. */
static int http_name_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n != k) return 0;
    for (size_t i = 0; i < k; i++)
        if (http_lower((unsigned char)line[i]) != name[i]) return 0;
    return 1;
}

/* "HTTP/1.x" at p (8 bytes of text). */
static int http_is_version(const char *p)
{
    return !strncmp(p, "HTTP/1.", 7) && p[7] >= '0' && p[7] <= '9';
}

/* Does the text at the cursor's offset `at` look like the start of a message? */
static int http_plausible_start(const struct cursor *c, size_t at)
{
    char b[18];
    size_t n = cursor_left(c) - at;
    http_copy(c, at, n < sizeof(b) - 1 ? n : sizeof(b) - 1, b, sizeof(b));
    if (!strncmp(b, "HTTP/1.", 7)) return 1;
    static const char *const methods[] = {"GET ",   "POST ",    "PUT ",     "HEAD ",  "DELETE ",
                                          "PATCH ", "OPTIONS ", "CONNECT ", "TRACE ", "PROPFIND ",
                                          "MKCOL ", "COPY ",    "MOVE ",    NULL};
    for (int i = 0; methods[i]; i++)
        if (!strncmp(b, methods[i], strlen(methods[i]))) return 1;
    return 0;
}

/* False when the bytes at the cursor cannot begin a start line, even before its
 * end has come: "HTTP/", or a method token (at most 15 characters) and a space. */
static int http_start_prefix(const struct cursor *c)
{
    char b[17];
    size_t n = cursor_left(c) < 16 ? cursor_left(c) : 16;
    http_copy(c, 0, n, b, sizeof(b));
    if (!strncmp(b, "HTTP/", n < 5 ? n : 5)) return 1;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == ' ') return i > 0;
        if (!http_is_tchar((unsigned char)b[i])) return 0;
    }
    return n < 16;
}

/* ---- anomalies ---- */

static void http_anomaly(struct http_state *st, struct event_sink *sink, int to_server,
                         const char *name)
{
    st->anomalies++;
    struct event *e = event_begin(sink, "http", to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    event_op(e, "malformed");
    event_anomaly(e, name);
    event_emit(sink, e);
}

/* A body is complete (or given up): scanned, and its buffer given back, since
 * most connections carry one or two small bodies and then idle until they end. */
static void http_body_end(struct http_dir *x, struct event_sink *sink, int to_server)
{
    if (!object_active(&x->obj)) return;
    object_end(&x->obj, sink, to_server);
    object_free(&x->obj);
}

/* The body so far is scanned; the direction looks for the next message. */
static void http_lost(struct http_state *st, struct http_dir *x, struct event_sink *sink,
                      int to_server, const char *name)
{
    http_anomaly(st, sink, to_server, name);
    http_body_end(x, sink, to_server);
    object_stream_cover(sink, to_server, 0); /* the stream window is scanned after all */
    x->mode = H_RESYNC;
    x->scan_off = x->scan_lines = x->scan_to = 0;
    x->pending = 0;
}

/* ---- the request queue ---- */

static void http_push(struct http_state *st, const struct http_req *r)
{
    if (st->count == HTTP_MAX_PENDING) { /* responses are not coming: forget the oldest */
        st->head = (st->head + 1) % HTTP_MAX_PENDING;
        st->count--;
        st->pending_lost++;
    }
    st->pend[(st->head + st->count) % HTTP_MAX_PENDING] = *r;
    st->count++;
}

static int http_pop(struct http_state *st, struct http_req *r)
{
    if (!st->count) return 0;
    *r = st->pend[st->head];
    st->head = (st->head + 1) % HTTP_MAX_PENDING;
    st->count--;
    return 1;
}

/* ---- header blocks ---- */

struct http_msg {
    int response;
    unsigned status;
    struct http_req req;
    int chunked, te, has_len;
    uint64_t len;
    int bad_len, bad_header;
    char ctype[HTTP_ATTR], cenc[HTTP_ATTR];
};

/* Start line of the block at 0 (content length n). Returns 0 if it is not HTTP/1.x. */
static int http_start_line(const struct cursor *c, size_t n, struct http_msg *m)
{
    char b[17]; /* what is read of the line's head: a status line's 13, a method and SP */
    http_copy(c, 0, n, b, sizeof(b));
    if (!strncmp(b, "HTTP/", 5)) {
        /* HTTP/1.x SP 3DIGIT [SP reason] */
        if (n < 12 || !http_is_version(b) || b[8] != ' ') return 0;
        for (int i = 9; i < 12; i++)
            if (b[i] < '0' || b[i] > '9') return 0;
        if (n > 12 && b[12] != ' ') return 0;
        m->response = 1;
        m->status = (unsigned)((b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0'));
        return 1;
    }
    /* method SP request-target SP HTTP/1.x; the target may be long: the version
     * is read from the line's end */
    size_t k = 0;
    while (k < n && k < sizeof(m->req.method) - 1 && http_is_tchar((unsigned char)b[k]))
        k++;
    if (k == 0 || k >= n || b[k] != ' ' || n < k + 1 + 1 + 9) return 0;
    memcpy(m->req.method, b, k);
    m->req.method[k] = '\0';
    char tail[10];
    http_copy(c, n - 9, 9, tail, sizeof(tail));
    if (tail[0] != ' ' || !http_is_version(tail + 1)) return 0;
    size_t ulen = n - 9 - (k + 1);
    if (ulen == 0) return 0;
    http_copy(c, k + 1, ulen, m->req.uri, sizeof(m->req.uri));
    m->req.uri_len = (uint8_t)strlen(m->req.uri);
    for (size_t i = 0; i < m->req.uri_len; i++)
        if (m->req.uri[i] == ' ') return 0; /* SP inside the target */
    return 1;
}

/* Value of a header line (after the colon), trimmed, as text in out. */
static void http_value(const char *line, size_t colon, size_t n, char *out, size_t cap)
{
    size_t a = colon + 1, z = n;
    while (a < z && (line[a] == ' ' || line[a] == '\t'))
        a++;
    while (z > a && (line[z - 1] == ' ' || line[z - 1] == '\t'))
        z--;
    size_t m = z - a < cap - 1 ? z - a : cap - 1;
    memcpy(out, line + a, m);
    out[m] = '\0';
}

static void http_header(const struct cursor *c, size_t from, size_t n, struct http_msg *m)
{
    char b[HTTP_COPY];
    /* the name first, read in place: most fields are none of the four we read */
    size_t bn = n < 24 ? n : 24, colon = 0;
    const uint8_t *p = cursor_peek_ptr(c, from + bn);
    if (!p) return;
    p += from;
    if (p[0] == ' ' || p[0] == '\t') return; /* obsolete line folding: ignored */
    while (colon < bn && http_is_tchar(p[colon]))
        colon++;
    if (colon == 0 || (colon >= bn && bn == n) || (colon < bn && p[colon] != ':')) {
        m->bad_header = 1;
        return;
    }
    if (colon >= bn) return; /* a long name: none of ours */
    const char *name = (const char *)p;
    int cl = 0, te = 0, ct = 0, ce = 0;
    switch (colon) { /* tchar bytes only: no NUL among them */
    case 14: cl = http_name_is(name, colon, "content-length"); break;
    case 17: te = http_name_is(name, colon, "transfer-encoding"); break;
    case 12: ct = http_name_is(name, colon, "content-type"); break;
    case 16: ce = http_name_is(name, colon, "content-encoding"); break;
    default: return;
    }
    if (!cl && !te && !ct && !ce) return;
    http_copy(c, from, n, b, sizeof(b));
    bn = strlen(b);
    char v[HTTP_ATTR + 8];
    if (cl) {
        http_value(b, colon, bn, v, sizeof(v));
        uint64_t len = 0;
        size_t i = 0;
        for (; v[i] >= '0' && v[i] <= '9' && len < (1ull << 50); i++)
            len = len * 10 + (uint64_t)(v[i] - '0');
        if (i == 0 || v[i] || (m->has_len && m->len != len) || n > HTTP_COPY - 1) m->bad_len = 1;
        m->has_len = 1;
        m->len = len;
    } else if (te) {
        /* the last coding of the (last) header decides: chunked or not */
        http_value(b, colon, bn, v, sizeof(v));
        size_t vl = strlen(v), k = vl;
        while (k > 0 && v[k - 1] != ',' && v[k - 1] != ' ')
            k--;
        m->te = 1;
        m->chunked = http_name_is(v + k, vl - k, "chunked");
    } else if (ct) {
        http_value(b, colon, bn, m->ctype, sizeof(m->ctype));
    } else {
        http_value(b, colon, bn, m->cenc, sizeof(m->cenc));
    }
}

/* Finds the block's end: returns its length (the empty line included), 0 if it
 * is not complete yet, -1 if it is over the caps, or -2 - n if its first line
 * (n bytes, LF excluded; or all there is) is no start line. When this call read
 * the start line, *started is set and m holds it (and is otherwise zero). */
static long http_block_len(struct http_dir *x, const struct cursor *c, struct http_msg *m,
                           int *started)
{
    size_t off = x->scan_off;
    for (;;) {
        /* resume where the last call stopped looking: a line that arrives a byte at
         * a time is searched once, not once per byte */
        long lf = cursor_find(c, off > x->scan_to ? off : x->scan_to, HTTP_MAX_HEADER, '\n');
        if (lf < 0) break;
        size_t len = http_content_len(c, off, (size_t)lf);
        if (x->scan_lines == 0) {
            /* the start line alone says whether this is HTTP: no waiting for a
             * header block that may never end */
            memset(m, 0, sizeof(*m));
            if (!http_start_line(c, len, m)) return -2 - lf;
            *started = 1; /* kept for http_message(): the line is read once */
        }
        off = (size_t)lf + 1;
        if (len == 0 && x->scan_lines > 0) return (long)off;
        if (++x->scan_lines > HTTP_MAX_LINES + 1) return -1;
        x->scan_off = (uint32_t)off;
    }
    x->scan_to = (uint32_t)(cursor_left(c) < HTTP_MAX_HEADER ? cursor_left(c) : HTTP_MAX_HEADER);
    if (x->scan_lines == 0 && !http_start_prefix(c)) return -2 - (long)cursor_left(c);
    return cursor_left(c) >= HTTP_MAX_HEADER ? -1 : 0;
}

static void http_attr_u(struct ots_object *o, const char *key, unsigned v)
{
    char b[12], *p = b + sizeof(b) - 1;
    *p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    object_attr(o, key, p);
}

static void http_begin_body(struct http_state *st, struct http_dir *x, struct event_sink *sink,
                            const struct http_msg *m, int have_req)
{
    st->bodies++;
    const char *name = have_req && m->req.uri_len ? m->req.uri : NULL;
    object_begin(&x->obj, sink, "http", "http.body", name, name ? m->req.uri_len : 0, 0);
    if (have_req) object_attr(&x->obj, "method", m->req.method);
    if (m->response) http_attr_u(&x->obj, "status", m->status);
    if (m->ctype[0]) object_attr(&x->obj, "content_type", m->ctype);
    if (m->cenc[0]) object_attr(&x->obj, "content_encoding", m->cenc);
}

/* A whole header block of blen bytes is at the cursor: reads it, consumes it and
 * sets the direction's mode for the body. */
static void http_message(struct http_state *st, struct http_dir *x, struct cursor *c, size_t blen,
                         int to_server, struct event_sink *sink, struct http_msg *m, int started)
{
    long lf = cursor_find(c, 0, blen, '\n');
    size_t n = http_content_len(c, 0, (size_t)lf);
    x->scan_off = x->scan_lines = x->scan_to = 0;
    if (!started) { /* http_block_len() read the start line in an earlier call */
        memset(m, 0, sizeof(*m));
        if (!http_start_line(c, n, m)) {
            cursor_skip(c, (size_t)lf + 1);
            http_lost(st, x, sink, to_server, "http.invalid_start_line");
            return;
        }
    }
    size_t off = (size_t)lf + 1;
    while (off < blen) {
        long e = cursor_find(c, off, blen, '\n');
        if (e < 0) break;
        size_t len = http_content_len(c, off, (size_t)e);
        if (len) http_header(c, off, len, m);
        off = (size_t)e + 1;
    }
    cursor_skip(c, blen);
    st->messages++;
    if (!x->covered) {
        x->covered = 1;
        object_stream_cover(sink, to_server, 1);
    }
    if (m->bad_header) http_anomaly(st, sink, to_server, "http.invalid_header");
    if (!m->response) http_push(st, &m->req);
    if (m->bad_len && !m->chunked) {
        http_lost(st, x, sink, to_server, "http.invalid_content_length");
        return;
    }
    int have_req = 1;
    if (!m->response) {
        if (!strcmp(m->req.method, "CONNECT")) {
            x->mode = H_TUNNEL;
            return;
        }
        if (m->te && !m->chunked) { /* a request must end: not chunked is not framed */
            http_lost(st, x, sink, to_server, "http.invalid_transfer_encoding");
            return;
        }
    } else {
        if (m->status >= 100 && m->status < 200) {
            /* interim: the request still waits for its final response */
            if (m->status == 101) st->dir[0].mode = st->dir[1].mode = H_TUNNEL;
            return;
        }
        have_req = http_pop(st, &m->req);
        if ((have_req && !strcmp(m->req.method, "HEAD")) || m->status == 204 || m->status == 304)
            return;
        if (have_req && !strcmp(m->req.method, "CONNECT") && m->status < 300) {
            st->dir[0].mode = st->dir[1].mode = H_TUNNEL;
            return;
        }
    }
    if (m->chunked) {
        http_begin_body(st, x, sink, m, have_req);
        x->mode = H_CHUNK_SIZE;
    } else if (m->has_len) {
        if (!m->len) return;
        http_begin_body(st, x, sink, m, have_req);
        x->mode = H_BODY_LEN;
        x->left = m->len;
    } else if (m->response) {
        http_begin_body(st, x, sink, m, have_req);
        x->mode = H_BODY_CLOSE;
    }
}

/* A chunk-size line: hex size, then optional extensions. -1: bad, 0: incomplete. */
static int http_chunk_size(struct cursor *c, uint64_t *size)
{
    long lf = cursor_find(c, 0, HTTP_MAX_CHUNK_LINE, '\n');
    if (lf < 0) return cursor_left(c) >= HTTP_MAX_CHUNK_LINE ? -1 : 0;
    size_t n = http_content_len(c, 0, (size_t)lf), i = 0;
    uint64_t v = 0;
    for (; i < n && i < 16; i++) {
        int ok;
        int ch = http_lower(cursor_peek_u8(c, i, &ok));
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) break;
        v = v << 4 | (uint64_t)d;
    }
    int ok;
    uint8_t after = i < n ? cursor_peek_u8(c, i, &ok) : ';';
    if (i == 0 || (after != ';' && after != ' ' && after != '\t')) return -1;
    *size = v;
    cursor_skip(c, (size_t)lf + 1);
    return 1;
}

static size_t http_parse(void *state, struct cursor *c, const struct pdu_info *info,
                         struct event_sink *sink)
{
    struct http_state *st = state;
    int to_server = info->to_server != 0;
    struct http_dir *x = &st->dir[to_server ? 0 : 1];
    size_t start = cursor_pos(c);
    if (!object_enabled(sink)) {
        cursor_skip(c, cursor_left(c));
        return cursor_pos(c) - start;
    }
    while (cursor_left(c) && !c->err) {
        size_t before = cursor_pos(c);
        switch (x->mode) {
        case H_START: {
            int ok;
            uint8_t b0 = cursor_peek_u8(c, 0, &ok);
            if (b0 == '\r' || b0 == '\n') { /* stray CRLF between messages */
                cursor_skip(c, 1);
                break;
            }
            struct http_msg m;
            int started = 0;
            long blen = http_block_len(x, c, &m, &started);
            if (blen <= -2) {
                /* the line and its LF (if it came) go; the rest is resynchronised */
                size_t bad = (size_t)(-2 - blen);
                cursor_skip(c, bad < cursor_left(c) ? bad + 1 : bad);
                http_lost(st, x, sink, to_server, "http.invalid_start_line");
                break;
            }
            if (blen < 0) {
                /* over the caps: the rest of the block is skipped line by line */
                http_lost(st, x, sink, to_server, "http.header_too_long");
                cursor_skip(c, 1);
                break;
            }
            if (blen == 0) {
                x->pending = 1;
                return cursor_pos(c) - start;
            }
            x->pending = 0;
            http_message(st, x, c, (size_t)blen, to_server, sink, &m, started);
            break;
        }
        case H_BODY_LEN: {
            size_t n = cursor_left(c) < x->left ? cursor_left(c) : (size_t)x->left;
            object_append(&x->obj, sink, c, n);
            x->left -= n;
            if (!x->left) {
                http_body_end(x, sink, to_server);
                x->mode = H_START;
            }
            break;
        }
        case H_BODY_CLOSE: object_append(&x->obj, sink, c, cursor_left(c)); break;
        case H_CHUNK_SIZE: {
            uint64_t size = 0;
            int r = http_chunk_size(c, &size);
            if (r == 0) return cursor_pos(c) - start;
            if (r < 0) {
                http_lost(st, x, sink, to_server, "http.invalid_chunk_size");
                break;
            }
            x->left = size;
            x->mode = size ? H_CHUNK_DATA : H_TRAILER;
            break;
        }
        case H_CHUNK_DATA: {
            size_t n = cursor_left(c) < x->left ? cursor_left(c) : (size_t)x->left;
            object_append(&x->obj, sink, c, n);
            x->left -= n;
            if (!x->left) x->mode = H_CHUNK_END;
            break;
        }
        case H_CHUNK_END: {
            int ok, ok2;
            uint8_t a = cursor_peek_u8(c, 0, &ok), b = cursor_peek_u8(c, 1, &ok2);
            if (a == '\n' || (a == '\r' && ok2 && b == '\n')) {
                cursor_skip(c, a == '\n' ? 1 : 2);
                x->mode = H_CHUNK_SIZE;
            } else if (a == '\r' && !ok2) {
                return cursor_pos(c) - start;
            } else {
                http_lost(st, x, sink, to_server, "http.invalid_chunk_end");
            }
            break;
        }
        case H_TRAILER: {
            long lf = cursor_find(c, 0, HTTP_MAX_CHUNK_LINE, '\n');
            if (lf < 0) {
                if (cursor_left(c) < HTTP_MAX_CHUNK_LINE) return cursor_pos(c) - start;
                http_lost(st, x, sink, to_server, "http.header_too_long");
                break;
            }
            size_t n = http_content_len(c, 0, (size_t)lf);
            cursor_skip(c, (size_t)lf + 1);
            if (n == 0) {
                http_body_end(x, sink, to_server);
                x->mode = H_START;
            }
            break;
        }
        case H_RESYNC: {
            if (http_plausible_start(c, 0)) {
                x->mode = H_START;
                break;
            }
            long lf = cursor_find(c, 0, cursor_left(c), '\n');
            if (lf < 0 && cursor_left(c) < 16) return cursor_pos(c) - start; /* a start? */
            cursor_skip(c, lf < 0 ? cursor_left(c) : (size_t)lf + 1);
            break;
        }
        default: cursor_skip(c, cursor_left(c)); break;
        }
        if (cursor_pos(c) == before && x->mode != H_START) break;
    }
    return cursor_pos(c) - start;
}

static void http_gap(void *state, int to_server)
{
    struct http_state *st = state;
    struct http_dir *x = &st->dir[to_server ? 0 : 1];
    object_abort(&x->obj); /* bytes are missing: what would be scanned is not the body */
    if (x->mode != H_TUNNEL) x->mode = H_RESYNC;
    x->scan_off = x->scan_lines = x->scan_to = 0;
}

static void http_end(void *state, int to_server, struct event_sink *sink)
{
    struct http_state *st = state;
    struct http_dir *x = &st->dir[to_server ? 0 : 1];
    if (x->pending && x->mode == H_START) {
        /* the connection ended inside a header block: these bytes were never
         * framed, so the stream window is scanned for them after all */
        object_stream_cover(sink, to_server, 0);
    }
    if (!object_active(&x->obj)) return;
    if (x->mode != H_BODY_CLOSE) {
        /* cut inside a Content-Length or chunked body: what came is scanned, partial */
        http_anomaly(st, sink, to_server, "http.truncated_body");
        object_partial(&x->obj, sink, to_server);
    }
    http_body_end(x, sink, to_server);
    x->mode = H_START;
}

static void *http_state_new(void)
{
    return calloc(1, sizeof(struct http_state));
}

static void http_state_free(void *state)
{
    struct http_state *st = state;
    if (!st) return;
    object_free(&st->dir[0].obj);
    object_free(&st->dir[1].obj);
    free(st);
}

const struct dissector http_dissector = {
    .id = DISS_HTTP,
    .name = "http",
    .transports = DISS_TCP,
    .ports = {80, 8080, 0},
    .probe = NULL, /* ports and nDPI: a probe would claim HTTP on every port */
    .state_new = http_state_new,
    .state_free = http_state_free,
    .parse = http_parse,
    .gap = http_gap,
    .anomalies = http_anomalies,
    .max_pdu = HTTP_MAX_HEADER,
    .ndpi_ids = {7, 0}, /* NDPI_PROTOCOL_HTTP */
    .end = http_end,
    .end_on_fin = 1, /* a body delimited by the close ends with its direction's FIN */
    .objects_only = 1,
};
