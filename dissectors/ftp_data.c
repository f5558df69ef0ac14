/* ftp_data.c - FTP data connections (RFC 959), only to gather files as YARA objects.
 *
 * A data connection carries one file (or a directory listing) in one direction
 * and ends with the close: every byte of a direction is one object, type
 * ftp.data, name "ftp-data", scanned when the connection ends (or at
 * yara.object_max). The flow is claimed by its port 20 (active mode: the server
 * connects from it) or by nDPI's FTP_DATA verdict (passive mode, on any port:
 * nDPI recognises listings and common file headers, not every file).
 *
 * The file's name is in the control connection (RETR/STOR with PASV/PORT),
 * another flow that may be on another worker: not joined, so every object is
 * named "ftp-data". Raises no events. A gap drops the direction's object (what
 * follows is not the file's next byte). */
#include <stdlib.h>

#include "dissector.h"
#include "object.h"

struct ftpd_state {
    struct ots_object obj[2]; /* [0] to server */
    uint8_t started[2];       /* the direction's object was begun (once) */
};

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
    object_end(&st->obj[to_server ? 0 : 1], sink, to_server);
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
};
