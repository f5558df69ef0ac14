/* enip.c - EtherNet/IP encapsulation (TCP/UDP 44818) and class 0/1 I/O (UDP 2222).
 *
 * Encapsulation header, 24 bytes, little-endian:
 *   +---------+--------+----------------+--------+----------------+---------+
 *   | command | length | session handle | status | sender context | options |
 *   |   u16   |  u16   |      u32       |  u32   |    8 bytes     |   u32   |
 *   +---------+--------+----------------+--------+----------------+---------+
 *   followed by `length` bytes of command data.
 *
 * SendRRData (0x6F) / SendUnitData (0x70) data: interface handle u32, timeout u16,
 * then a Common Packet Format (CPF) list: item count u16, items {type u16, length u16,
 * data}. Address items: 0x0000 null, 0x00A1 connected (connection id u32), 0x8002
 * sequenced (connection id u32, sequence u32). Data items: 0x00B2 unconnected (a CIP
 * message), 0x00B1 connected (sequence count u16, then a CIP message). 0x8000/0x8001
 * socket address info (O->T / T->O: family, port, address, big-endian).
 * ListIdentity replies carry item 0x000C (encapsulation version, socket address,
 * Identity object attributes, state); ListServices replies item 0x0100.
 *
 * Class 0/1 I/O on UDP 2222 is a bare CPF list (sequenced address + connected data),
 * sent at the connection's RPI: it is counted per connection and summarised, not
 * reported per datagram. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cip.h"
#include "dissector.h"

#define ENIP_HDR         24
#define ENIP_PORT        44818
#define ENIP_IO_PORT     2222
#define ENIP_IO_CONNS    64    /* I/O connections tracked per flow: one 5-tuple carries many */
#define ENIP_IO_SUMMARY  1000  /* datagrams per connection between summaries */
#define ENIP_RESYNC_SCAN 65536 /* bytes searched for a header after a gap */

enum {
    CMD_NOP = 0x0000,
    CMD_LIST_SERVICES = 0x0004,
    CMD_LIST_IDENTITY = 0x0063,
    CMD_LIST_INTERFACES = 0x0064,
    CMD_REGISTER_SESSION = 0x0065,
    CMD_UNREGISTER_SESSION = 0x0066,
    CMD_SEND_RR_DATA = 0x006F,
    CMD_SEND_UNIT_DATA = 0x0070,
    CMD_INDICATE_STATUS = 0x0072,
    CMD_CANCEL = 0x0073,
    CMD_START_DTLS = 0x00C8,
};

enum {
    ITEM_NULL = 0x0000,
    ITEM_IDENTITY = 0x000C,
    ITEM_CONN_ADDR = 0x00A1,
    ITEM_CONN_DATA = 0x00B1,
    ITEM_UNCONN_DATA = 0x00B2,
    ITEM_SERVICES = 0x0100,
    ITEM_SOCK_OT = 0x8000,
    ITEM_SOCK_TO = 0x8001,
    ITEM_SEQ_ADDR = 0x8002,
};

static const char *const enip_anomalies[] = {
    "enip.unknown_command",
    "enip.truncated",
    "enip.nonzero_options",
    "enip.bad_cpf",
    "enip.resync",
    "enip.io_malformed",
    "enip.trailing_bytes",
    /* from cip.c, which enip.c drives */
    "cip.truncated",
    "cip.bad_path",
    "cip.bad_msp",
    "cip.too_deep",
    "cip.too_many_services",
    "cip.file_transfer_sequence",
    NULL,
};

struct io_conn {
    uint32_t id;
    uint32_t last_seq;
    uint64_t packets, bytes, gaps;
    uint64_t lru;
};

struct enip_state {
    /* Allocated on first use (about 16 KB and 3 KB): most flows to 44818 are
     * scans or ListIdentity and need neither. */
    struct cip_state *cip;
    struct io_conn *io; /* ENIP_IO_CONNS */
    uint64_t io_clock;
    uint8_t hunting[2];  /* per direction: looking for a header after a gap */
    uint64_t io_bad;     /* datagrams on 2222 that were not a CPF list */
    uint64_t io_evicted; /* connections pushed out of the table by newer ones */
};

/* ---- helpers ---------------------------------------------------------- */

static const char *command_op(uint16_t cmd)
{
    switch (cmd) {
    case CMD_NOP: return "nop";
    case CMD_LIST_SERVICES: return "list_services_interfaces";
    case CMD_LIST_IDENTITY: return "list_identity";
    case CMD_LIST_INTERFACES: return "list_services_interfaces";
    case CMD_REGISTER_SESSION: return "register_session";
    case CMD_UNREGISTER_SESSION: return "unregister_session";
    case CMD_SEND_RR_DATA: return "send_rr_data";
    case CMD_SEND_UNIT_DATA: return "send_unit_data";
    case CMD_INDICATE_STATUS: return "indicate_status";
    case CMD_CANCEL: return "cancel";
    case CMD_START_DTLS: return "start_dtls";
    }
    return NULL;
}

static const char *status_name(uint32_t st)
{
    switch (st) {
    case 0x00: return "success";
    case 0x01: return "invalid_command";
    case 0x02: return "insufficient_memory";
    case 0x03: return "incorrect_data";
    case 0x64: return "invalid_session";
    case 0x65: return "invalid_length";
    case 0x69: return "unsupported_protocol_version";
    case 0x6A: return "encapsulated_cip_service_not_allowed";
    }
    return "other";
}

static uint16_t peek_u16le(const struct cursor *c, size_t at, int *ok)
{
    int a = 1, b = 1;
    uint16_t v = (uint16_t)(cursor_peek_u8(c, at, &a) | cursor_peek_u8(c, at + 1, &b) << 8);
    *ok = a && b;
    return v;
}

/* A header worth trusting when hunting for a boundary: known command, options 0,
 * a sane status. */
static int header_plausible(const struct cursor *c, size_t at)
{
    int ok1, ok2, ok3, ok4;
    uint16_t cmd = peek_u16le(c, at, &ok1);
    uint16_t st_hi = peek_u16le(c, at + 10, &ok2);
    uint16_t opt_lo = peek_u16le(c, at + 20, &ok3);
    uint16_t opt_hi = peek_u16le(c, at + 22, &ok4);
    return ok1 && ok2 && ok3 && ok4 && command_op(cmd) && cmd != CMD_NOP && st_hi == 0 &&
           opt_lo == 0 && opt_hi == 0;
}

/* Socket address (big-endian): family, port, IPv4 address, 8 zero bytes. */
static void sockaddr_fields(struct event *e, const char *key, struct cursor *c)
{
    uint16_t family = cursor_u16be(c);
    uint16_t port = cursor_u16be(c);
    uint32_t a = cursor_u32be(c);
    cursor_skip(c, 8);
    if (c->err) return;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%u.%u.%u.%u:%u", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF,
                     a & 0xFF, port);
    ev_obj_begin(e, key);
    ev_uint(e, "family", family);
    ev_str(e, "addr", buf, (size_t)n);
    ev_end(e);
}

/* ---- command data ----------------------------------------------------- */

static void list_identity(struct event *e, struct cursor *d)
{
    uint16_t count = cursor_u16le(d);
    for (unsigned i = 0; i < count && !d->err; i++) {
        uint16_t type = cursor_u16le(d);
        size_t len = cursor_u16le(d);
        struct cursor it = cursor_sub(d, len);
        if (d->err) {
            event_anomaly(e, "enip.truncated");
            break;
        }
        if (type != ITEM_IDENTITY || i > 0)
            continue; /* one identity per reply; others are unusual */
        ev_uint(e, "encap_version", cursor_u16le(&it));
        sockaddr_fields(e, "device", &it);
        if (!cip_identity_fields(e, &it)) event_anomaly(e, "enip.truncated");
        if (cursor_left(&it) >= 1) ev_uint(e, "state", cursor_u8(&it));
        if (it.err) event_anomaly(e, "enip.truncated");
    }
    if (d->err && count) event_anomaly(e, "enip.truncated");
}

static void list_services(struct event *e, struct cursor *d)
{
    uint16_t count = cursor_u16le(d);
    if (d->err) return;
    ev_uint(e, "item_count", count);
    for (unsigned i = 0; i < count && !d->err; i++) {
        uint16_t type = cursor_u16le(d);
        size_t len = cursor_u16le(d);
        struct cursor it = cursor_sub(d, len);
        if (d->err) {
            event_anomaly(e, "enip.truncated");
            break;
        }
        if (type != ITEM_SERVICES || i > 0) continue;
        ev_uint(e, "service_version", cursor_u16le(&it));
        ev_uint(e, "capabilities", cursor_u16le(&it));
        const uint8_t *name = cursor_take(&it, 16);
        if (name) {
            size_t n = 0;
            while (n < 16 && name[n])
                n++;
            ev_str(e, "service_name", name, n);
        }
    }
}

/* What the CPF list of SendRRData/SendUnitData held. */
struct cpf {
    int has_conn, has_seq_addr, has_data, connected;
    uint32_t conn_id, seq_addr;
    uint16_t cip_seq;
    struct cursor data;
};

static void cpf_parse(struct event *e, struct cursor *d, struct cpf *out)
{
    uint16_t count = cursor_u16le(d);
    if (d->err) {
        event_anomaly(e, "enip.truncated");
        return;
    }
    ev_uint(e, "item_count", count);
    for (unsigned i = 0; i < count; i++) {
        uint16_t type = cursor_u16le(d);
        size_t len = cursor_u16le(d);
        struct cursor it = cursor_sub(d, len);
        if (d->err) {
            event_anomaly(e, "enip.truncated");
            /* keep what there is of a data item: its CIP may still be told */
            if (type != ITEM_CONN_DATA && type != ITEM_UNCONN_DATA) return;
        }
        switch (type) {
        case ITEM_NULL:
            if (len != 0) event_anomaly(e, "enip.bad_cpf");
            break;
        case ITEM_CONN_ADDR:
            out->conn_id = cursor_u32le(&it);
            out->has_conn = !it.err;
            break;
        case ITEM_SEQ_ADDR:
            out->conn_id = cursor_u32le(&it);
            out->seq_addr = cursor_u32le(&it);
            out->has_conn = out->has_seq_addr = !it.err;
            break;
        case ITEM_CONN_DATA:
            out->cip_seq = cursor_u16le(&it);
            out->data = cursor_rest(&it);
            out->has_data = !it.err || cursor_left(&out->data) > 0;
            out->connected = 1;
            break;
        case ITEM_UNCONN_DATA:
            out->data = it;
            out->has_data = 1;
            out->connected = 0;
            break;
        case ITEM_SOCK_OT: sockaddr_fields(e, "sockaddr_o_t", &it); break;
        case ITEM_SOCK_TO: sockaddr_fields(e, "sockaddr_t_o", &it); break;
        default: event_anomaly(e, "enip.bad_cpf"); break;
        }
        if (it.err && !d->err) event_anomaly(e, "enip.bad_cpf");
        if (d->err) return;
    }
}

/* ---- one encapsulation PDU -------------------------------------------- */

/* trailing: bytes of a datagram after the PDU (UDP only) */
static void parse_pdu(struct enip_state *st, struct cursor *pdu, const struct pdu_info *info,
                      size_t trailing, struct event_sink *sink)
{
    uint16_t cmd = cursor_u16le(pdu);
    uint16_t len = cursor_u16le(pdu);
    uint32_t session = cursor_u32le(pdu);
    uint32_t status = cursor_u32le(pdu);
    const uint8_t *ctx_bytes = cursor_take(pdu, 8);
    uint32_t options = cursor_u32le(pdu);
    struct cursor d = cursor_sub(pdu, len);

    struct event *e = event_begin(sink, "enip", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    const char *op = command_op(cmd);
    event_code(e, cmd, op ? op : "unknown_command");
    if (!op) event_anomaly(e, "enip.unknown_command");
    ev_uint(e, "command", cmd);
    ev_uint(e, "length", len);
    ev_uint(e, "session", session);
    ev_uint(e, "status", status);
    if (status) ev_cstr(e, "status_name", status_name(status));
    if (ctx_bytes) ev_hex(e, "context", ctx_bytes, 8);
    ev_uint(e, "options", options);
    if (options) event_anomaly(e, "enip.nonzero_options");
    if (pdu->err) event_anomaly(e, "enip.truncated");
    if (trailing) event_anomaly(e, "enip.trailing_bytes");

    struct cpf cpf;
    memset(&cpf, 0, sizeof(cpf));
    switch (cmd) {
    case CMD_LIST_IDENTITY:
        if (cursor_left(&d)) list_identity(e, &d);
        break;
    case CMD_LIST_SERVICES:
    case CMD_LIST_INTERFACES:
        if (cursor_left(&d)) list_services(e, &d);
        break;
    case CMD_REGISTER_SESSION: {
        uint16_t ver = cursor_u16le(&d);
        uint16_t flags = cursor_u16le(&d);
        if (!d.err) {
            ev_uint(e, "protocol_version", ver);
            ev_uint(e, "option_flags", flags);
        } else {
            event_anomaly(e, "enip.truncated");
        }
        break;
    }
    case CMD_SEND_RR_DATA:
    case CMD_SEND_UNIT_DATA: {
        uint32_t iface = cursor_u32le(&d);
        uint16_t timeout = cursor_u16le(&d);
        if (d.err) {
            event_anomaly(e, "enip.truncated");
            break;
        }
        ev_uint(e, "interface", iface);
        ev_uint(e, "timeout", timeout);
        cpf_parse(e, &d, &cpf);
        if (cpf.has_conn) ev_uint(e, "connection", cpf.conn_id);
        if (cpf.has_seq_addr) ev_uint(e, "seq", cpf.seq_addr);
        if (cpf.has_data && cpf.connected) ev_uint(e, "cip_seq", cpf.cip_seq);
        break;
    }
    default: break;
    }
    event_emit(sink, e);

    if (!cpf.has_data) return;
    struct cip_msg_ctx cctx;
    memset(&cctx, 0, sizeof(cctx));
    cctx.to_server = info->to_server;
    cctx.ts_us = info->ts_us ? info->ts_us : sink->net.ts_us;
    cctx.session = session;
    cctx.has_conn = cpf.has_conn;
    cctx.conn_id = cpf.conn_id;
    if (cpf.connected) {
        cctx.has_seq = 1;
        cctx.seq = cpf.cip_seq;
        cctx.key_kind = CIP_KEY_SEQ;
        cctx.key[0] = (uint8_t)(cpf.cip_seq & 0xFF);
        cctx.key[1] = (uint8_t)(cpf.cip_seq >> 8);
    } else if (ctx_bytes) {
        cctx.key_kind = CIP_KEY_CONTEXT;
        memcpy(cctx.key, ctx_bytes, 8);
    }
    if (!st->cip) st->cip = calloc(1, sizeof(*st->cip)); /* on failure: no pairing, still parsed */
    cip_parse(st->cip, &cpf.data, &cctx, sink);
}

/* ---- class 0/1 I/O ---------------------------------------------------- */

static struct io_conn *io_lookup(struct enip_state *st, uint32_t id, int *fresh)
{
    struct io_conn *victim = &st->io[0];
    for (unsigned i = 0; i < ENIP_IO_CONNS; i++) {
        struct io_conn *c = &st->io[i];
        if (c->packets && c->id == id) {
            *fresh = 0;
            return c;
        }
        if (!c->packets || c->lru < victim->lru) victim = c;
        if (!c->packets) break;
    }
    *fresh = victim->packets ? 2 : 1; /* 2: it took the place of another */
    memset(victim, 0, sizeof(*victim));
    victim->id = id;
    return victim;
}

static void parse_io(struct enip_state *st, struct cursor *c, const struct pdu_info *info,
                     struct event_sink *sink)
{
    size_t total = cursor_left(c);
    uint16_t count = cursor_u16le(c);
    int have_id = 0, have_seq = 0;
    uint32_t id = 0, seq = 0;
    size_t data_len = 0;
    int bad = c->err != CURSOR_OK || count == 0 || count > 8;
    for (unsigned i = 0; i < count && !bad; i++) {
        uint16_t type = cursor_u16le(c);
        size_t len = cursor_u16le(c);
        struct cursor it = cursor_sub(c, len);
        if (c->err) {
            bad = 1;
            break;
        }
        if (type == ITEM_SEQ_ADDR) {
            id = cursor_u32le(&it);
            seq = cursor_u32le(&it);
            have_id = have_seq = !it.err;
        } else if (type == ITEM_CONN_ADDR) {
            id = cursor_u32le(&it);
            have_id = !it.err;
        } else if (type == ITEM_CONN_DATA) {
            data_len = len;
        }
    }
    if (bad || !have_id) {
        if (st->io_bad++ % ENIP_IO_SUMMARY != 0)
            return; /* another protocol on 2222 must not flood the event stream */
        struct event *e = event_begin(sink, "enip", EV_DIR_INDICATION);
        event_op(e, "io_malformed");
        ev_uint(e, "length", total);
        ev_uint(e, "malformed", st->io_bad);
        event_anomaly(e, "enip.io_malformed");
        event_emit(sink, e);
        return;
    }
    if (!st->io) st->io = calloc(ENIP_IO_CONNS, sizeof(*st->io));
    if (!st->io) return; /* out of memory: the datagram is not counted */
    int fresh;
    struct io_conn *ic = io_lookup(st, id, &fresh);
    if (!fresh && have_seq && seq != ic->last_seq + 1 && seq != ic->last_seq) ic->gaps++;
    if (have_seq) ic->last_seq = seq;
    ic->packets++;
    ic->bytes += total;
    ic->lru = ++st->io_clock;
    if (fresh == 2 && st->io_evicted++ % ENIP_IO_SUMMARY != 0)
        return; /* more connections than slots: report the churn, not every datagram */
    if (!fresh && ic->packets % ENIP_IO_SUMMARY != 0) return;
    struct event *e = event_begin(sink, "enip", EV_DIR_INDICATION);
    event_op(e, fresh ? "io_connection" : "io_summary");
    ev_uint(e, "connection", id);
    if (have_seq) ev_uint(e, "seq", seq);
    ev_uint(e, "data_len", data_len);
    ev_uint(e, "packets", ic->packets);
    ev_uint(e, "bytes", ic->bytes);
    ev_uint(e, "seq_gaps", ic->gaps);
    if (st->io_evicted) ev_uint(e, "evicted", st->io_evicted);
    (void)info;
    event_emit(sink, e);
}

/* ---- dissector interface ---------------------------------------------- */

static void *enip_state_new(void)
{
    return calloc(1, sizeof(struct enip_state));
}

static void enip_state_free(void *state)
{
    struct enip_state *st = state;
    if (!st) return;
    cip_state_release(st->cip);
    free(st->cip);
    free(st->io);
    free(st);
}

static void enip_end(void *state, int to_server, struct event_sink *sink)
{
    struct enip_state *st = state;
    cip_state_end(st->cip, to_server, sink);
}

static int is_io_datagram(const struct event_sink *sink)
{
    return sink->net.src_port == ENIP_IO_PORT || sink->net.dst_port == ENIP_IO_PORT;
}

static size_t parse_udp(struct enip_state *st, struct cursor *c, const struct pdu_info *info,
                        struct event_sink *sink)
{
    size_t n = cursor_left(c);
    if (is_io_datagram(sink) &&
        !(sink->net.src_port == ENIP_PORT || sink->net.dst_port == ENIP_PORT)) {
        parse_io(st, c, info, sink);
        return n;
    }
    /* one encapsulation PDU per datagram; bytes after it are reported, not parsed */
    int ok;
    uint16_t len = peek_u16le(c, 2, &ok);
    struct cursor pdu = cursor_sub(c, ENIP_HDR + (size_t)len);
    parse_pdu(st, &pdu, info, cursor_left(c), sink);
    return n;
}

/* Looks for the next header worth believing; drops (and reports) what precedes it.
 * Returns 1 when one starts the cursor, 0 when more bytes are needed to judge. */
static int hunt(struct enip_state *st, int dir, struct cursor *c, size_t *consumed,
                struct event_sink *sink)
{
    size_t left = cursor_left(c), at = 0;
    while (at + ENIP_HDR <= left && !header_plausible(c, at))
        at++;
    if (at > 0) {
        struct event *e = event_begin(sink, "enip", dir ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
        event_op(e, "resync");
        ev_uint(e, "skipped", at);
        event_anomaly(e, "enip.resync");
        event_emit(sink, e);
        cursor_skip(c, at);
        *consumed += at;
    }
    if (!header_plausible(c, 0)) return 0; /* fewer than a header's bytes left: judge them later */
    st->hunting[dir] = 0;
    return 1;
}

static size_t enip_parse(void *state, struct cursor *c, const struct pdu_info *info,
                         struct event_sink *sink)
{
    struct enip_state *st = state;
    if (info->transport != DISS_TCP) return parse_udp(st, c, info, sink);

    size_t consumed = 0;
    int dir = info->to_server ? 1 : 0;
    if (info->after_gap) st->hunting[dir] = 1;
    for (;;) {
        if (st->hunting[dir] && !hunt(st, dir, c, &consumed, sink)) break;
        int ok1, ok2, ok3;
        uint16_t len = peek_u16le(c, 2, &ok1);
        uint16_t opt_lo = peek_u16le(c, 20, &ok2);
        uint16_t opt_hi = peek_u16le(c, 22, &ok3);
        if (!ok1 || !ok2 || !ok3) break;
        if (opt_lo || opt_hi) {
            /* Options are always 0 (receivers discard such PDUs); here it more
             * likely means we are not at a PDU boundary (mid-stream start). */
            st->hunting[dir] = 1;
            continue;
        }
        if (cursor_left(c) < ENIP_HDR + (size_t)len) break; /* wait for the rest */
        struct cursor pdu = cursor_sub(c, ENIP_HDR + (size_t)len);
        parse_pdu(st, &pdu, info, 0, sink);
        consumed += ENIP_HDR + (size_t)len;
    }
    return consumed;
}

static enum probe_result enip_probe(struct cursor *c, int to_server)
{
    int ok;
    uint16_t w0 = peek_u16le(c, 0, &ok);
    if (!ok) return PROBE_NEED_MORE;
    if (command_op(w0) && w0 != CMD_NOP) {
        if (cursor_left(c) < ENIP_HDR) return PROBE_NEED_MORE;
        return header_plausible(c, 0) ? PROBE_YES : PROBE_NO;
    }
    /* class 0/1 I/O: a CPF list that starts with an address item */
    uint16_t type = peek_u16le(c, 2, &ok);
    if (!ok) return PROBE_NEED_MORE;
    int ok2;
    uint16_t len = peek_u16le(c, 4, &ok2);
    if (w0 >= 1 && w0 <= 4 &&
        ((type == ITEM_SEQ_ADDR && len == 8) || (type == ITEM_CONN_ADDR && len == 4)))
        return ok2 ? PROBE_YES : PROBE_NEED_MORE;
    return PROBE_NO;
}

const struct dissector enip_dissector = {
    .id = DISS_ENIP,
    .name = "enip",
    .transports = DISS_TCP | DISS_UDP,
    .ports = {ENIP_PORT, ENIP_IO_PORT, 0},
    .probe = enip_probe,
    .state_new = enip_state_new,
    .state_free = enip_state_free,
    .parse = enip_parse,
    .gap = NULL,
    .anomalies = enip_anomalies,
    .max_pdu = ENIP_HDR + 65535,
    .end = enip_end,
};
