/* ftp_data.c - FTP data connections (RFC 959), only to gather files as YARA objects.
 *
 * A data connection carries one file (or a directory listing) in one direction
 * and ends with the close: every byte of a direction is one object, type
 * ftp.data, scanned when the connection ends (or at yara.object_max). The flow
 * is taken by its port 20 (active mode: the server connects from it), by its
 * accepting end when the control connection announced it (ftpd_claim: passive
 * mode, any port), or by nDPI's FTP_DATA verdict (listings and common file
 * headers, when the control connection was not seen).
 *
 * The file's name is in the control connection (ftp.c), another flow that may
 * be on another worker: it publishes each transfer's data endpoint, command and
 * argument (ftp_names.h), which a direction looks up by the connection's
 * accepting end and its own sender when its first bytes come, and again when
 * it ends if that found nothing (the control flow's worker may lag). Found: the
 * object is named by the argument (or the command, for a bare LIST) with the
 * attribute command; else "ftp-data". Raises no events. A gap drops the
 * direction's object (what follows is not the file's next byte). */
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "ftp_names.h"
#include "object.h"

struct ftpd_state {
    struct ots_object obj[2]; /* [0] to server */
    uint8_t started[2];       /* the direction's object was begun (once) */
    uint8_t named[2];         /* ... and named from the control connection */
};

/* Names direction d's object from the control connection, when it said. */
static void ftpd_name(struct ftpd_state *st, int d, const struct event_sink *sink)
{
    const struct ev_net *n = &sink->net; /* this direction's: src sends */
    int to_server = n->to_server;
    struct ftpn_entry e;
    if (st->named[d] || !object_active(&st->obj[d])) return;
    if (!ftpn_claim(sink->shared[DISS_FTP], to_server ? &n->dst : &n->src,
                    to_server ? n->dst_port : n->src_port, &n->src, n->ts_us, &e))
        return;
    st->named[d] = 1;
    const char *name = e.name[0] ? e.name : e.cmd;
    object_name(&st->obj[d], name, strlen(name));
    object_attr(&st->obj[d], "command", e.cmd);
}

static size_t ftpd_parse(void *state, struct cursor *c, const struct pdu_info *info,
                         struct event_sink *sink)
{
    struct ftpd_state *st = state;
    int d = info->to_server ? 0 : 1;
    size_t n = cursor_left(c);
    if (!st->started[d] && object_enabled(sink)) {
        st->started[d] = 1;
        object_begin(&st->obj[d], sink, "ftp_data", "ftp.data", "ftp-data", 8, 0);
        object_stream_cover(sink, info->to_server, 1);
        if (n) ftpd_name(st, d, sink);
    }
    object_append(&st->obj[d], sink, c, n); /* skips when no object is active */
    return n;
}

static void ftpd_gap(void *state, int to_server)
{
    struct ftpd_state *st = state;
    object_abort(&st->obj[to_server ? 0 : 1]);
}

static void ftpd_end(void *state, int to_server, struct event_sink *sink)
{
    struct ftpd_state *st = state;
    int d = to_server ? 0 : 1;
    if (st->obj[d].len) ftpd_name(st, d, sink); /* the control side may have been late */
    object_end(&st->obj[d], sink, to_server);
}

static void *ftpd_state_new(void)
{
    return calloc(1, sizeof(struct ftpd_state));
}

static void ftpd_state_free(void *state)
{
    struct ftpd_state *st = state;
    if (!st) return;
    object_free(&st->obj[0]);
    object_free(&st->obj[1]);
    free(st);
}

/* A flow on any port whose accepting end the control connection announced. */
static int ftpd_claim(const struct event_sink *sink)
{
    const struct ev_net *n = &sink->net;
    return ftpn_announced(sink->shared[DISS_FTP], n->to_server ? &n->dst : &n->src,
                          n->to_server ? n->dst_port : n->src_port, n->ts_us);
}

static const char *const ftpd_anomalies[] = {NULL};

const struct dissector ftp_data_dissector = {
    .id = DISS_FTP_DATA,
    .name = "ftp_data",
    .transports = DISS_TCP,
    .ports = {20, 0},
    .probe = NULL,
    .state_new = ftpd_state_new,
    .state_free = ftpd_state_free,
    .parse = ftpd_parse,
    .gap = ftpd_gap,
    .anomalies = ftpd_anomalies,
    .max_pdu = 0,
    .ndpi_ids = {175, 0}, /* NDPI_PROTOCOL_FTP_DATA */
    .end = ftpd_end,
    .objects_only = 1,
    .claim = ftpd_claim,
};
