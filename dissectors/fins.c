/* fins.c - Omron FINS dissector (UDP 9600, and FINS/TCP on TCP 9600).
 *
 * FINS/TCP wraps each frame in a 16-byte header (Omron W421 §7):
 *
 *   0      4         8          12          16
 *   +------+---------+----------+-----------+------------------------+
 *   |"FINS"| length  | command  | error code| data (length - 8)       |
 *   +------+---------+----------+-----------+------------------------+
 *    length: bytes after the length field; big-endian throughout.
 *    command: 0 node address data send (client), 1 node address data send
 *    (server), 2 FINS frame send, 3 FINS frame send error notification.
 *
 * A FINS frame (UDP payload, or FINS/TCP command 2 data):
 *
 *   0    1    2    3    4    5    6    7    8    9    10   11   12   13
 *   +----+----+----+----+----+----+----+----+----+----+----+----+----+----+-----
 *   |ICF |RSV |GCT |DNA |DA1 |DA2 |SNA |SA1 |SA2 |SID |MRC |SRC |MRES|SRES| data
 *   +----+----+----+----+----+----+----+----+----+----+----+----+----+----+-----
 *    ICF: bit 7 gateway, bit 6 response, bit 0 no response required.
 *    MRES/SRES (end code) only in responses.
 *
 * Choices worth knowing:
 * - One event per FINS frame, code = MRC << 8 | SRC (tshark omron.command),
 *   for commands and responses alike. FINS/TCP node-address exchanges and
 *   error notifications are events with code null (tshark has no command).
 * - op: snake_case command name (run, stop, memory_area_read, ...), "other"
 *   for codes not in the table. Responses pair with commands by SID and
 *   command code (latency).
 * - FINS/TCP: several frames per segment; a lost header is found again by
 *   scanning for "FINS" (one resync event per episode). */
#include <stdlib.h>
#include <string.h>

#include "dissector.h"

#define FT_HDR       16
#define FT_MAX_LEN   4096u /* FINS frames are at most ~2 KB */
#define FINS_HDR     10
#define FINS_PENDING 16
#define FINS_MAX_VAL 16

static const char *const fins_anomalies[] = {
    "fins.invalid_header", "fins.truncated",          "fins.resync",
    "fins.tcp_error",      "fins.unmatched_response", NULL,
};

struct fins_pending {
    uint64_t ts_us;
    uint16_t cmd;
    uint8_t sid;
    uint8_t kind; /* 0x0501 data kind asked for, 0xFF none */
    uint8_t used;
};

enum { FINS_SYNCED = 0, FINS_SCAN };

struct fins_state {
    struct fins_pending pend[FINS_PENDING];
    uint8_t mode[2];
    uint64_t resyncs, unmatched;
};

static const char *fins_cmd_op(uint16_t c)
{
    switch (c) {
    case 0x0101: return "memory_area_read";
    case 0x0102: return "memory_area_write";
    case 0x0103: return "memory_area_fill";
    case 0x0104: return "multiple_memory_area_read";
    case 0x0105: return "memory_area_transfer";
    case 0x0201: return "parameter_area_read";
    case 0x0202: return "parameter_area_write";
    case 0x0203: return "parameter_area_clear";
    case 0x0304: return "program_area_protect";
    case 0x0305: return "program_area_protect_clear";
    case 0x0306: return "program_area_read";
    case 0x0307: return "program_area_write";
    case 0x0308: return "program_area_clear";
    case 0x0401: return "run";
    case 0x0402: return "stop";
    case 0x0501: return "controller_data_read";
    case 0x0502: return "connection_data_read";
    case 0x0601: return "controller_status_read";
    case 0x0620: return "cycle_time_read";
    case 0x0701: return "clock_read";
    case 0x0702: return "clock_write";
    case 0x0801: return "loopback_test";
    case 0x0802: return "broadcast_test_results_read";
    case 0x0803: return "broadcast_test_data_send";
    case 0x0920: return "message_read";
    case 0x0C01: return "access_right_acquire";
    case 0x0C02: return "access_right_forced_acquire";
    case 0x0C03: return "access_right_release";
    case 0x2101: return "error_clear";
    case 0x2102: return "error_log_read";
    case 0x2103: return "error_log_clear";
    case 0x2201: return "file_name_read";
    case 0x2202: return "single_file_read";
    case 0x2203: return "single_file_write";
    case 0x2204: return "file_memory_format";
    case 0x2205: return "file_delete";
    case 0x2206: return "volume_label_create_delete";
    case 0x2207: return "file_copy";
    case 0x2208: return "file_name_change";
    case 0x2209: return "file_data_check";
    case 0x220A: return "memory_area_file_transfer";
    case 0x220B: return "parameter_area_file_transfer";
    case 0x220C: return "program_area_file_transfer";
    case 0x220F: return "file_memory_index_read";
    case 0x2210: return "file_memory_read";
    case 0x2211: return "file_memory_write";
    case 0x2301: return "forced_set_reset";
    case 0x2302: return "forced_set_reset_cancel";
    default: return NULL;
    }
}

static const char *fins_area_name(uint8_t a)
{
    switch (a) {
    case 0x30: return "CIO_bit";
    case 0x31: return "WR_bit";
    case 0x32: return "HR_bit";
    case 0x33: return "AR_bit";
    case 0xB0: return "CIO";
    case 0xB1: return "WR";
    case 0xB2: return "HR";
    case 0xB3: return "AR";
    case 0x82: return "DM";
    case 0x02: return "DM_bit";
    case 0x09: return "TIM_CNT_flag";
    case 0x89: return "TIM_CNT_PV";
    default: return NULL;
    }
}

/* Trims trailing spaces and NULs of a fixed-width ASCII field. */
static void fins_ascii(struct event *e, const char *key, const uint8_t *p, size_t n)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == 0))
        n--;
    ev_str(e, key, p, n);
}

/* area code, address word, bit, [count] */
static void fins_address(struct cursor *b, struct event *e, int with_count)
{
    uint8_t area = cursor_u8(b);
    uint16_t addr = cursor_u16be(b);
    uint8_t bit = cursor_u8(b);
    if (b->err) return;
    ev_uint(e, "area", area);
    const char *an = fins_area_name(area);
    if (an) ev_cstr(e, "area_name", an);
    ev_uint(e, "address", addr);
    ev_uint(e, "bit", bit);
    if (with_count) {
        uint16_t n = cursor_u16be(b);
        if (!b->err) ev_uint(e, "count", n);
    }
}

static void fins_command_body(struct cursor *b, struct event *e, uint16_t cmd)
{
    switch (cmd) {
    case 0x0101: fins_address(b, e, 1); break;
    case 0x0102: {
        fins_address(b, e, 1);
        size_t n = cursor_left(b);
        ev_uint(e, "data_len", n);
        size_t k = n < 2u * FINS_MAX_VAL ? n : 2u * FINS_MAX_VAL;
        ev_hex(e, "data", cursor_take(b, k), k);
        if (k < n) ev_bool(e, "data_truncated", 1);
        cursor_skip(b, cursor_left(b));
        break;
    }
    case 0x0103:
        fins_address(b, e, 1);
        ev_uint(e, "fill_value", cursor_u16be(b));
        break;
    case 0x0104: {
        size_t items = cursor_left(b) / 4;
        ev_uint(e, "items", items);
        ev_arr_begin(e, "addresses");
        for (size_t i = 0; i < items && i < FINS_MAX_VAL; i++) {
            ev_obj_begin(e, NULL);
            fins_address(b, e, 0);
            ev_end(e);
        }
        ev_end(e);
        cursor_skip(b, cursor_left(b));
        break;
    }
    case 0x0105:
        ev_obj_begin(e, "source");
        fins_address(b, e, 0);
        ev_end(e);
        ev_obj_begin(e, "destination");
        fins_address(b, e, 0);
        ev_end(e);
        ev_uint(e, "count", cursor_u16be(b));
        break;
    case 0x0401:
        if (cursor_left(b) >= 2) ev_uint(e, "program_number", cursor_u16be(b));
        if (cursor_left(b) >= 1) {
            uint8_t mode = cursor_u8(b);
            ev_uint(e, "mode", mode);
            ev_cstr(e, "mode_name", mode == 2 ? "monitor" : mode == 4 ? "run" : "other");
        }
        break;
    case 0x0402:
        if (cursor_left(b) >= 2) ev_uint(e, "program_number", cursor_u16be(b));
        break;
    case 0x0501:
        if (cursor_left(b) >= 1) ev_uint(e, "data_kind", cursor_u8(b));
        break;
    default: break;
    }
}

static void fins_response_body(struct cursor *b, struct event *e, uint16_t cmd, uint8_t kind)
{
    /* data kind 0 or none: model and version lead; 1: area data only */
    if (cmd == 0x0501 && (kind == 0 || kind == 0xFF) && cursor_left(b) >= 40) {
        fins_ascii(e, "controller_model", cursor_take(b, 20), 20);
        fins_ascii(e, "controller_version", cursor_take(b, 20), 20);
    }
    ev_uint(e, "data_len", cursor_left(b));
    cursor_skip(b, cursor_left(b));
}

static void fins_pending_add(struct fins_state *st, uint8_t sid, uint16_t cmd, uint8_t kind,
                             uint64_t ts)
{
    struct fins_pending *slot = &st->pend[0];
    for (size_t i = 0; i < FINS_PENDING; i++) {
        if (!st->pend[i].used) {
            slot = &st->pend[i];
            break;
        }
        if (st->pend[i].ts_us < slot->ts_us) slot = &st->pend[i];
    }
    slot->used = 1;
    slot->sid = sid;
    slot->cmd = cmd;
    slot->kind = kind;
    slot->ts_us = ts;
}

/* The command with this SID and code; failing that the oldest with the code
 * (returns 2: some stacks do not echo the SID). */
static int fins_pending_take(struct fins_state *st, uint8_t sid, uint16_t cmd,
                             struct fins_pending *out)
{
    struct fins_pending *any = NULL;
    for (size_t i = 0; i < FINS_PENDING; i++) {
        struct fins_pending *p = &st->pend[i];
        if (!p->used || p->cmd != cmd) continue;
        if (p->sid == sid) {
            *out = *p;
            p->used = 0;
            return 1;
        }
        if (!any || p->ts_us < any->ts_us) any = p;
    }
    if (!any) return 0;
    *out = *any;
    any->used = 0;
    return 2;
}

/* One FINS frame; e is already begun (FINS/TCP fields may be in it). */
static void fins_frame(struct fins_state *st, struct cursor *f, struct event *e, uint64_t now)
{
    uint8_t icf = cursor_u8(f);
    uint8_t rsv = cursor_u8(f);
    uint8_t gct = cursor_u8(f);
    uint8_t dna = cursor_u8(f), da1 = cursor_u8(f), da2 = cursor_u8(f);
    uint8_t sna = cursor_u8(f), sa1 = cursor_u8(f), sa2 = cursor_u8(f);
    uint8_t sid = cursor_u8(f);
    uint8_t mrc = cursor_u8(f), src = cursor_u8(f);
    if (f->err) {
        event_op(e, "malformed");
        event_anomaly(e, "fins.truncated");
        return;
    }
    int resp = (icf & 0x40) != 0;
    uint16_t cmd = (uint16_t)(mrc << 8 | src);
    e->dir = resp ? EV_DIR_RESPONSE : EV_DIR_REQUEST;
    ev_uint(e, "icf", icf);
    ev_bool(e, "response", resp);
    if (!resp) ev_bool(e, "response_required", !(icf & 1));
    if (rsv) ev_uint(e, "rsv", rsv);
    ev_uint(e, "gct", gct);
    ev_obj_begin(e, "dst");
    ev_uint(e, "net", dna);
    ev_uint(e, "node", da1);
    ev_uint(e, "unit", da2);
    ev_end(e);
    ev_obj_begin(e, "src");
    ev_uint(e, "net", sna);
    ev_uint(e, "node", sa1);
    ev_uint(e, "unit", sa2);
    ev_end(e);
    ev_uint(e, "sid", sid);
    ev_uint(e, "command", cmd);
    const char *op = fins_cmd_op(cmd);
    if (resp) {
        struct fins_pending p;
        int m = fins_pending_take(st, sid, cmd, &p);
        uint8_t mres = cursor_u8(f), sres = cursor_u8(f);
        if (!f->err) {
            ev_uint(e, "end_code", (unsigned)(mres & 0x7F) << 8 | (sres & 0x3F));
            if (mres & 0x80) ev_bool(e, "relay_error", 1);
            if (sres & 0x80) ev_bool(e, "non_fatal_cpu_error", 1);
            if (sres & 0x40) ev_bool(e, "fatal_cpu_error", 1);
            fins_response_body(f, e, cmd, m ? p.kind : 0xFF);
        }
        if (m) {
            ev_uint(e, "latency_us", now > p.ts_us ? now - p.ts_us : 0);
            if (m == 2) ev_bool(e, "sid_mismatch", 1);
        } else {
            st->unmatched++;
            event_anomaly(e, "fins.unmatched_response");
        }
    } else {
        int ok;
        uint8_t kind = cmd == 0x0501 ? cursor_peek_u8(f, 0, &ok) : 0xFF;
        if (cmd == 0x0501 && !ok) kind = 0xFF;
        fins_command_body(f, e, cmd);
        if (!(icf & 1)) fins_pending_add(st, sid, cmd, kind, now);
    }
    if (f->err == CURSOR_TRUNCATED) event_anomaly(e, "fins.truncated");
    event_code(e, cmd, op ? op : "other");
}

/* ---- FINS/TCP ---- */

enum ft_hdr { FT_OK, FT_SHORT, FT_BAD };

static enum ft_hdr ft_check(const struct cursor *c, uint32_t *len)
{
    static const uint8_t magic[4] = {'F', 'I', 'N', 'S'};
    for (size_t i = 0; i < 4; i++) {
        int ok;
        uint8_t b = cursor_peek_u8(c, i, &ok);
        if (!ok) return FT_SHORT;
        if (b != magic[i]) return FT_BAD;
    }
    const uint8_t *h = cursor_peek_ptr(c, 8);
    if (!h) return FT_SHORT;
    uint32_t n = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    if (n < 8 || n > FT_MAX_LEN) return FT_BAD;
    *len = n;
    return FT_OK;
}

static void ft_message(struct fins_state *st, struct cursor *m, const struct pdu_info *info,
                       struct event_sink *sink, uint64_t now)
{
    cursor_skip(m, 8); /* magic, length */
    uint32_t command = cursor_u32be(m);
    uint32_t error = cursor_u32be(m);
    struct event *e = event_begin(sink, "fins", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    ev_obj_begin(e, "tcp");
    ev_uint(e, "command", command);
    ev_uint(e, "error_code", error);
    ev_end(e);
    if (error) event_anomaly(e, "fins.tcp_error");
    switch (command) {
    case 0:
        event_op(e, "node_address_request");
        e->dir = EV_DIR_REQUEST;
        ev_uint(e, "client_node", cursor_u32be(m));
        break;
    case 1:
        event_op(e, "node_address_response");
        e->dir = EV_DIR_RESPONSE;
        ev_uint(e, "client_node", cursor_u32be(m));
        ev_uint(e, "server_node", cursor_u32be(m));
        break;
    case 2: fins_frame(st, m, e, now); break;
    case 3: event_op(e, "frame_send_error"); break;
    default: event_op(e, "unknown_tcp_command"); break;
    }
    if (m->err == CURSOR_TRUNCATED && !event_has_anomaly(e, "fins.truncated"))
        event_anomaly(e, "fins.truncated");
    event_emit(sink, e);
}

static size_t fins_parse(void *state, struct cursor *c, const struct pdu_info *info,
                         struct event_sink *sink)
{
    struct fins_state *st = state;
    uint64_t now = info->ts_us ? info->ts_us : sink->net.ts_us;
    size_t start = cursor_pos(c);
    if (info->transport != DISS_TCP) {
        struct event *e =
            event_begin(sink, "fins", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
        fins_frame(st, c, e, now);
        event_emit(sink, e);
        cursor_skip(c, cursor_left(c));
        return cursor_pos(c) - start;
    }
    int d = info->to_server ? 0 : 1;
    for (;;) {
        uint32_t len = 0;
        enum ft_hdr h = ft_check(c, &len);
        if (h == FT_SHORT) break;
        if (h == FT_OK) {
            if (cursor_left(c) < 8u + len) break;
            struct cursor m = cursor_sub(c, 8u + len);
            ft_message(st, &m, info, sink, now);
            st->mode[d] = FINS_SYNCED;
            continue;
        }
        if (st->mode[d] != FINS_SCAN) {
            st->resyncs++;
            struct event *e =
                event_begin(sink, "fins", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
            event_op(e, "malformed");
            event_anomaly(e, "fins.invalid_header");
            event_anomaly(e, "fins.resync");
            event_emit(sink, e);
            st->mode[d] = FINS_SCAN;
        }
        cursor_skip(c, 1);
    }
    return cursor_pos(c) - start;
}

static void fins_gap(void *state, int to_server)
{
    struct fins_state *st = state;
    st->mode[to_server ? 0 : 1] = FINS_SYNCED;
}

/* "FINS" for TCP; a plausible FINS header (ICF with only its defined bits,
 * RSV 0, GCT small) otherwise. */
static enum probe_result fins_probe(struct cursor *c, int to_server)
{
    (void)to_server;
    uint32_t len;
    switch (ft_check(c, &len)) {
    case FT_OK: return PROBE_YES;
    case FT_SHORT:
        if (cursor_left(c) < 4) return PROBE_NEED_MORE;
        break;
    default: break;
    }
    const uint8_t *h = cursor_peek_ptr(c, 12);
    if (!h) return cursor_left(c) < 4 ? PROBE_NEED_MORE : PROBE_NO;
    if ((h[0] & 0x3E) != 0 || h[1] != 0 || h[2] > 7) return PROBE_NO;
    switch (h[10]) { /* main request codes in use (W227 §5) */
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0C:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x26:
    case 0x28: return PROBE_YES;
    default: return PROBE_NO;
    }
}

static void *fins_state_new(void)
{
    return calloc(1, sizeof(struct fins_state));
}

static void fins_state_free(void *state)
{
    free(state);
}

const struct dissector fins_dissector = {
    .id = DISS_FINS,
    .name = "fins",
    .transports = DISS_TCP | DISS_UDP,
    .ports = {9600, 0},
    .probe = fins_probe,
    .state_new = fins_state_new,
    .state_free = fins_state_free,
    .parse = fins_parse,
    .gap = fins_gap,
    .anomalies = fins_anomalies,
    .max_pdu = 8u + FT_MAX_LEN,
};
