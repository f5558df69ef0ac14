/* ftp.c - FTP control connections (RFC 959, RFC 2428), only to name FTP data objects.
 *
 * Reads the command lines (client) and reply lines (server) of TCP 21 (or what
 * nDPI calls FTP) and publishes, for each transfer, where its data connection
 * will be accepted and what it carries (ftp_names.h); ftp_data.c names its
 * objects from that. The data endpoint:
 *   PORT h1,h2,h3,h4,p1,p2 / EPRT |1|a.b.c.d|port| / |2|v6|port|: the client's;
 *   227 reply to PASV (..h1,h2,h3,h4,p1,p2..) / 229 reply to EPSV (|||port|):
 *   the control connection's server address (not the 227 text's, which NAT
 *   often makes wrong; clients such as curl ignore it too) and that port.
 * The command that uses it: STOR / STOU / APPE (the client sends the bytes),
 * RETR, LIST, NLST, MLSD (the server does); its argument is the object's name.
 * Raises no events: with YARA objects off it takes no flows (objects_only).
 * Credentials (USER / PASS) are not looked at. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "ftp_names.h"
#include "object.h"

#define FTP_LINE_MAX 1024 /* RFC 959 has no limit; a longer line is skipped */
#define FTP_TEXT_MAX 320  /* bytes of a line read */

struct ftp_state {
    uint8_t skip[2]; /* inside an overlong line: ignore up to its LF */
    uint8_t ep_valid;
    struct ev_addr ep_addr; /* the announced data endpoint, for the next transfer command */
    uint16_t ep_port;
};

/* Offset of the next LF at or after from, within limit bytes of the cursor, or -1. */

static void v4_mapped(struct ev_addr *a, const uint8_t v4[4])
{
    ev_addr_mark_v4(a);
    memcpy(a->b + 12, v4, 4);
}

/* Reads n decimal numbers separated by non-digits from s (each <= 255 except the
 * last two may make a port); returns 1 when all were there. */
static int ftp_numbers(const char *s, unsigned *v, int n)
{
    int k = 0;
    while (*s && k < n) {
        if (*s < '0' || *s > '9') {
            s++;
            continue;
        }
        unsigned x = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            if (++digits > 3) return 0;
            x = x * 10 + (unsigned)(*s++ - '0');
        }
        if (x > 255) return 0;
        v[k++] = x;
        if (k < n && *s != ',') return 0;
    }
    return k == n;
}

static void ftp_endpoint(struct ftp_state *st, const struct ev_addr *a, unsigned long port)
{
    if (!port || port > 65535) return;
    st->ep_addr = *a;
    st->ep_port = (uint16_t)port;
    st->ep_valid = 1;
}

/* EPRT |af|address|port| (RFC 2428): the delimiter is the first character. */
static void ftp_eprt(struct ftp_state *st, const char *arg)
{
    char d = arg[0], buf[64];
    if (d < 33 || d > 126) return;
    const char *af = arg + 1, *addr = strchr(af, d);
    if (!addr) return;
    const char *port = strchr(++addr, d);
    if (!port || (size_t)(port - addr) >= sizeof(buf)) return;
    memcpy(buf, addr, (size_t)(port - addr));
    buf[port - addr] = '\0';
    char *end;
    unsigned long p = strtoul(port + 1, &end, 10);
    if (*end != d) return;
    struct ev_addr a;
    uint8_t v4[4];
    if (af[0] == '1' && af[1] == d && inet_pton(AF_INET, buf, v4) == 1)
        v4_mapped(&a, v4);
    else if (af[0] != '2' || af[1] != d || inet_pton(AF_INET6, buf, a.b) != 1)
        return;
    ftp_endpoint(st, &a, p);
}

static void ftp_command(struct ftp_state *st, const char *line, const struct event_sink *sink)
{
    char verb[8];
    size_t n = 0;
    while (n < sizeof(verb) - 1 && line[n] && line[n] != ' ') {
        char ch = line[n];
        verb[n++] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    }
    verb[n] = '\0';
    const char *arg = line[n] == ' ' ? line + n + 1 : line + n;
    const struct ev_net *net = &sink->net;
    if (!strcmp(verb, "PORT")) {
        unsigned v[6];
        if (!ftp_numbers(arg, v, 6)) return;
        uint8_t v4[4] = {(uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2], (uint8_t)v[3]};
        struct ev_addr a;
        v4_mapped(&a, v4);
        ftp_endpoint(st, &a, v[4] * 256 + v[5]);
        return;
    }
    if (!strcmp(verb, "EPRT")) {
        ftp_eprt(st, arg);
        return;
    }
    if (!strcmp(verb, "PASV") || !strcmp(verb, "EPSV")) {
        st->ep_valid = 0; /* the reply says where */
        return;
    }
    int upload = !strcmp(verb, "STOR") || !strcmp(verb, "STOU") || !strcmp(verb, "APPE");
    int download = !strcmp(verb, "RETR") || !strcmp(verb, "LIST") || !strcmp(verb, "NLST") ||
                   !strcmp(verb, "MLSD");
    if ((!upload && !download) || !st->ep_valid) return;
    struct ftpn_entry e;
    memset(&e, 0, sizeof(e));
    e.addr = st->ep_addr;
    e.port = st->ep_port;
    e.sender = upload ? net->src : net->dst; /* a command goes client -> server */
    e.ts_us = net->ts_us;
    memcpy(e.cmd, verb, n + 1);
    size_t al = strlen(arg);
    if (al >= sizeof(e.name)) al = sizeof(e.name) - 1;
    memcpy(e.name, arg, al);
    ftpn_publish(sink->shared[DISS_FTP], &e);
    st->ep_valid = 0; /* one transfer per announcement */
}

static void ftp_reply(struct ftp_state *st, const char *line, const struct event_sink *sink)
{
    const struct ev_net *net = &sink->net; /* a reply goes server -> client: src is the server */
    if (!strncmp(line, "227 ", 4)) {
        unsigned v[6];
        const char *p = line + 4;
        while (*p && (*p < '0' || *p > '9'))
            p++;
        if (ftp_numbers(p, v, 6)) ftp_endpoint(st, &net->src, v[4] * 256 + v[5]);
    } else if (!strncmp(line, "229 ", 4)) {
        const char *p = strchr(line, '(');
        if (!p || !p[1] || p[2] != p[1] || p[3] != p[1]) return;
        char *end;
        unsigned long port = strtoul(p + 4, &end, 10);
        if (end != p + 4 && *end == p[1]) ftp_endpoint(st, &net->src, port);
    }
}

static size_t ftp_parse(void *state, struct cursor *c, const struct pdu_info *info,
                        struct event_sink *sink)
{
    struct ftp_state *st = state;
    int d = info->to_server ? 0 : 1;
    size_t left = cursor_left(c), used = 0;
    if (!object_enabled(sink)) return left;
    if (info->after_gap) {
        st->skip[d] = 1; /* mid-line: resynchronise at the next LF */
        st->ep_valid = 0;
    }
    while (used < left) {
        long lf = cursor_find(c, used, used + FTP_LINE_MAX, '\n');
        if (lf < 0) {
            if (left - used >= FTP_LINE_MAX) { /* overlong: drop it up to its LF */
                st->skip[d] = 1;
                used = left;
            }
            break;
        }
        size_t n = (size_t)lf - used;
        if (n && cursor_peek_u8(c, (size_t)lf - 1, NULL) == '\r') n--;
        if (st->skip[d]) {
            st->skip[d] = 0;
        } else {
            char line[FTP_TEXT_MAX];
            size_t m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
            const uint8_t *p = cursor_peek_ptr(c, used + m);
            for (size_t i = 0; p && i < m; i++)
                line[i] = p[used + i] ? (char)p[used + i] : ' ';
            line[p ? m : 0] = '\0';
            if (info->to_server)
                ftp_command(st, line, sink);
            else
                ftp_reply(st, line, sink);
        }
        used = (size_t)lf + 1;
    }
    return used;
}

static void ftp_gap(void *state, int to_server)
{
    struct ftp_state *st = state;
    st->skip[to_server ? 0 : 1] = 1;
    st->ep_valid = 0;
}

static void *ftp_state_new(void)
{
    return calloc(1, sizeof(struct ftp_state));
}

static void ftp_state_free(void *state)
{
    free(state);
}

static const char *const ftp_anomalies[] = {NULL};

static void *ftp_worker_new(void)
{
    return ftpn_new();
}

static void ftp_worker_free(void *shared)
{
    ftpn_free(shared);
}

const struct dissector ftp_dissector = {
    .id = DISS_FTP,
    .name = "ftp",
    .transports = DISS_TCP,
    .ports = {21, 0},
    .probe = NULL,
    .state_new = ftp_state_new,
    .state_free = ftp_state_free,
    .parse = ftp_parse,
    .gap = ftp_gap,
    .anomalies = ftp_anomalies,
    .max_pdu = 2 * FTP_LINE_MAX,
    .ndpi_ids = {1, 0}, /* NDPI_PROTOCOL_FTP_CONTROL */
    .objects_only = 1,
    .worker_new = ftp_worker_new, /* the announced transfers (ftp_names.h) */
    .worker_free = ftp_worker_free,
};
