/* hart_ip.c - HART-IP dissector (TCP and UDP 5094).
 *
 * Every message starts with an 8-byte header (HCF_SPEC-085):
 *
 *   0    1    2    3     4       6           8
 *   +----+----+----+-----+-------+-----------+----------------------+
 *   |ver |type| id |stat | seq   | byte count| body (count - 8)     |
 *   +----+----+----+-----+-------+-----------+----------------------+
 *    type: 0 request, 1 response, 2 publish (notification), 3 error, 15 NAK
 *    id: 0 session initiate, 1 session close, 2 keep alive, 3 token-passing
 *        PDU (a HART frame), 4 discovery, 128 direct PDU (v2)
 *    byte count: the whole message, header included; big-endian.
 *
 *   session initiate body: master type u8, inactivity close time u32 (ms)
 *   token-passing PDU: delimiter, address (1 byte short / 5 bytes long),
 *     [expansion bytes], command u8, byte count u8, [response code,
 *     device status] (responses: ACK/BACK frames), data, checksum
 *     delimiter: bit 7 long address, bits 5-6 expansion bytes, bits 0-2
 *     frame type (1 BACK burst, 2 STX master->field device, 6 ACK reply)
 *
 * Choices worth knowing:
 * - One event per HART-IP message, several per segment or datagram; code =
 *   message id (tshark hart_ip.message_id), op from the id. Ids 4 (discovery),
 *   5 (read audit log) and 128 (direct PDU, HART-IP v2) are framed and named
 *   but carry code null: tshark 4.0 does not decode them (the oracle has no
 *   value for them) and `message_id` holds the id.
 * - Direction comes from the message type, not from the flow's orientation:
 *   servers answer session initiation from another port (a new UDP flow whose
 *   first packet is a response).
 * - Command 31 (expanded) carries the 16-bit command in its first data bytes;
 *   `command` is that number. `writes` marks universal and common-practice
 *   commands that change the device. */
#include <stdlib.h>
#include <string.h>

#include "dissector.h"

#define HIP_HDR     8
#define HIP_MAX_MSG 65535u

static const char *const hip_anomalies[] = {
    "hart_ip.invalid_header",
    "hart_ip.invalid_length",
    "hart_ip.truncated",
    "hart_ip.bad_checksum",
    "hart_ip.resync",
    "hart_ip.unknown_message_id",
    NULL,
};

enum { HIP_SYNCED = 0, HIP_SCAN };

struct hip_state {
    uint8_t mode[2];
    uint64_t resyncs;
};

static const char *hip_id_op(uint8_t id)
{
    switch (id) {
    case 0: return "session_initiate";
    case 1: return "session_close";
    case 2: return "keep_alive";
    case 3: return "token_passing_pdu";
    case 4: return "discovery";
    case 5: return "read_audit_log";
    case 128: return "direct_pdu";
    default: return NULL;
    }
}

static const char *hip_type_name(uint8_t t)
{
    switch (t) {
    case 0: return "request";
    case 1: return "response";
    case 2: return "publish";
    case 3: return "error";
    case 15: return "nak";
    default: return NULL;
    }
}

/* Universal and common-practice commands (HCF_SPEC-127, -151). */
static const char *hip_cmd_name(unsigned c)
{
    switch (c) {
    case 0: return "read_unique_identifier";
    case 1: return "read_primary_variable";
    case 2: return "read_loop_current_and_percent_of_range";
    case 3: return "read_dynamic_variables_and_loop_current";
    case 6: return "write_polling_address";
    case 7: return "read_loop_configuration";
    case 8: return "read_dynamic_variable_classifications";
    case 9: return "read_device_variables_with_status";
    case 11: return "read_unique_identifier_with_tag";
    case 12: return "read_message";
    case 13: return "read_tag_descriptor_date";
    case 14: return "read_primary_variable_transducer_info";
    case 15: return "read_device_information";
    case 16: return "read_final_assembly_number";
    case 17: return "write_message";
    case 18: return "write_tag_descriptor_date";
    case 19: return "write_final_assembly_number";
    case 20: return "read_long_tag";
    case 21: return "read_unique_identifier_with_long_tag";
    case 22: return "write_long_tag";
    case 38: return "reset_configuration_changed_flag";
    case 40: return "enter_exit_fixed_current_mode";
    case 41: return "perform_self_test";
    case 42: return "perform_device_reset";
    case 48: return "read_additional_device_status";
    default: return NULL;
    }
}

static int hip_cmd_writes(unsigned c)
{
    switch (c) {
    case 6:
    case 17:
    case 18:
    case 19:
    case 22:
    case 34:
    case 35:
    case 36:
    case 37:
    case 38:
    case 40:
    case 41:
    case 42:
    case 43:
    case 44:
    case 45:
    case 46:
    case 79: return 1;
    default: return 0;
    }
}

/* ---- framing ---- */

enum hip_hdr { HIP_OK, HIP_SHORT, HIP_BAD };

static enum hip_hdr hip_check(const struct cursor *c, uint16_t *count)
{
    const uint8_t *h = cursor_peek_ptr(c, HIP_HDR);
    if (!h) {
        /* reject early on what is already there */
        int ok;
        uint8_t v = cursor_peek_u8(c, 0, &ok);
        if (ok && (v < 1 || v > 2)) return HIP_BAD;
        uint8_t t = cursor_peek_u8(c, 1, &ok);
        if (ok && !hip_type_name(t)) return HIP_BAD;
        return HIP_SHORT;
    }
    uint16_t n = (uint16_t)(h[6] << 8 | h[7]);
    if (count) *count = n;
    if (h[0] < 1 || h[0] > 2 || !hip_type_name(h[1])) return HIP_BAD;
    if (!hip_id_op(h[2])) return HIP_BAD;
    if (n < HIP_HDR) return HIP_BAD;
    return HIP_OK;
}

/* ---- bodies ---- */

static void hip_session_initiate(struct cursor *b, struct event *e)
{
    if (cursor_left(b) == 0) return; /* error / NAK replies may be bare */
    ev_uint(e, "master_type", cursor_u8(b));
    ev_uint(e, "inactivity_close_ms", cursor_u32be(b));
}

/* A HART token-passing frame. */
static void hip_pdu(struct cursor *b, struct event *e)
{
    struct cursor all = *b;
    uint8_t delim = cursor_u8(b);
    if (b->err) return;
    int longaddr = (delim & 0x80) != 0;
    unsigned exp = (delim >> 5) & 3;
    unsigned ftype = delim & 7;
    ev_obj_begin(e, "pdu");
    ev_uint(e, "delimiter", delim);
    ev_cstr(e, "frame_type",
            ftype == 1   ? "back"
            : ftype == 2 ? "stx"
            : ftype == 6 ? "ack"
                         : "other");
    ev_cstr(e, "address_type", longaddr ? "long" : "short");
    if (longaddr) {
        const uint8_t *a = cursor_take(b, 5);
        if (a) {
            /* HART 7 unique address: master bit, burst bit, 14-bit
             * expanded device type, 24-bit device id */
            ev_hex(e, "address", a, 5);
            ev_bool(e, "primary_master", (a[0] & 0x80) != 0);
            ev_bool(e, "burst", (a[0] & 0x40) != 0);
            ev_uint(e, "expanded_device_type", (unsigned)(a[0] & 0x3F) << 8 | a[1]);
            ev_uint(e, "device_id", (uint32_t)a[2] << 16 | (uint32_t)a[3] << 8 | a[4]);
        }
    } else {
        uint8_t a = cursor_u8(b);
        if (!b->err) ev_uint(e, "polling_address", a & 0x3F);
    }
    cursor_skip(b, exp);
    uint8_t cmd = cursor_u8(b);
    uint8_t bc = cursor_u8(b);
    if (b->err) {
        ev_end(e);
        return;
    }
    unsigned command = cmd;
    struct cursor d = cursor_sub(b, bc);
    int reply = ftype == 6 || ftype == 1;
    ev_uint(e, "byte_count", bc);
    if (reply) {
        uint8_t rc = cursor_u8(&d);
        uint8_t ds = cursor_u8(&d);
        if (!d.err) {
            ev_uint(e, "response_code", rc);
            ev_uint(e, "device_status", ds);
            /* bit 7 of the response code alone: a communication error */
            if (rc & 0x80) ev_bool(e, "comm_error", 1);
        }
    }
    if (cmd == 31 && cursor_left(&d) >= 2) command = cursor_u16be(&d);
    ev_uint(e, "command", command);
    if (cmd == 31) ev_bool(e, "expanded", 1);
    const char *cn = hip_cmd_name(command);
    if (cn) ev_cstr(e, "command_name", cn);
    if (!reply && hip_cmd_writes(command)) ev_bool(e, "writes", 1);
    ev_uint(e, "data_len", cursor_left(&d));
    cursor_skip(&d, cursor_left(&d));
    /* checksum: XOR of every byte before it */
    int ok;
    uint8_t ck = cursor_peek_u8(b, 0, &ok);
    if (ok && !b->err) {
        size_t n = cursor_pos(b) - cursor_pos(&all);
        uint8_t x = 0;
        for (size_t i = 0; i < n; i++)
            x ^= cursor_peek_u8(&all, i, NULL);
        cursor_skip(b, 1);
        if (x != ck) {
            ev_bool(e, "checksum_ok", 0);
            event_anomaly(e, "hart_ip.bad_checksum");
        }
    }
    ev_end(e);
}

static void hip_message(struct cursor *m, struct event_sink *sink)
{
    uint8_t ver = cursor_u8(m);
    uint8_t type = cursor_u8(m);
    uint8_t id = cursor_u8(m);
    uint8_t status = cursor_u8(m);
    uint16_t seq = cursor_u16be(m);
    uint16_t count = cursor_u16be(m);
    enum ev_dir dir = type == 0 ? EV_DIR_REQUEST : type == 2 ? EV_DIR_INDICATION : EV_DIR_RESPONSE;
    struct event *e = event_begin(sink, "hart_ip", dir);
    ev_uint(e, "version", ver);
    ev_uint(e, "message_type", type);
    ev_cstr(e, "message_type_name", hip_type_name(type));
    ev_uint(e, "message_id", id);
    ev_uint(e, "status", status);
    ev_uint(e, "sequence", seq);
    ev_uint(e, "byte_count", count);
    struct cursor b = cursor_rest(m);
    if (count > HIP_HDR && cursor_left(&b) < (size_t)count - HIP_HDR)
        event_anomaly(e, "hart_ip.truncated");
    switch (id) {
    case 0: hip_session_initiate(&b, e); break;
    case 3:
    case 128:
        if (type != 3 && type != 15) hip_pdu(&b, e);
        break;
    default: break;
    }
    if (b.err == CURSOR_TRUNCATED) event_anomaly(e, "hart_ip.truncated");
    if (id <= 3)
        event_code(e, id, hip_id_op(id));
    else
        event_op(e, hip_id_op(id)); /* unknown to tshark 4.0: see the header */
    event_emit(sink, e);
}

static void hip_lost(struct hip_state *st, int d, const struct cursor *c,
                     const struct pdu_info *info, struct event_sink *sink)
{
    if (st->mode[d] == HIP_SCAN) return;
    st->resyncs++;
    struct event *e =
        event_begin(sink, "hart_ip", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    event_op(e, "malformed");
    const uint8_t *h = cursor_peek_ptr(c, cursor_left(c) < HIP_HDR ? cursor_left(c) : HIP_HDR);
    if (h) ev_hex(e, "header", h, cursor_left(c) < HIP_HDR ? cursor_left(c) : HIP_HDR);
    event_anomaly(e, "hart_ip.invalid_header");
    if (info->transport == DISS_TCP) event_anomaly(e, "hart_ip.resync");
    event_emit(sink, e);
    st->mode[d] = HIP_SCAN;
}

static size_t hip_parse(void *state, struct cursor *c, const struct pdu_info *info,
                        struct event_sink *sink)
{
    struct hip_state *st = state;
    int d = info->to_server ? 0 : 1;
    int udp = info->transport != DISS_TCP;
    size_t start = cursor_pos(c);
    if (udp) st->mode[d] = HIP_SYNCED; /* each datagram starts a message */
    for (;;) {
        uint16_t count = 0;
        enum hip_hdr h = hip_check(c, &count);
        if (h == HIP_SHORT) {
            if (udp && cursor_left(c)) { /* a datagram's tail that cannot be a header */
                hip_lost(st, d, c, info, sink);
                cursor_skip(c, cursor_left(c));
            }
            break;
        }
        if (h == HIP_OK) {
            if (!udp && cursor_left(c) < count) break;
            /* UDP: a short datagram is read in part */
            struct cursor m = cursor_left(c) < count ? cursor_rest(c) : cursor_sub(c, count);
            hip_message(&m, sink);
            st->mode[d] = HIP_SYNCED;
            continue;
        }
        hip_lost(st, d, c, info, sink);
        if (udp) {
            cursor_skip(c, cursor_left(c));
            break;
        }
        cursor_skip(c, 1);
    }
    return cursor_pos(c) - start;
}

static void hip_gap(void *state, int to_server)
{
    struct hip_state *st = state;
    st->mode[to_server ? 0 : 1] = HIP_SYNCED;
}

static enum probe_result hip_probe(struct cursor *c, int to_server)
{
    (void)to_server;
    uint16_t count = 0;
    switch (hip_check(c, &count)) {
    case HIP_SHORT: return PROBE_NEED_MORE;
    case HIP_OK: {
        /* tighter on any port: a sane size, a request of a known id, a session
         * initiate of its fixed size */
        uint8_t type = cursor_peek_u8(c, 1, NULL), id = cursor_peek_u8(c, 2, NULL);
        if (count > 4096 || (type == 0 && id == 0 && count != 13)) return PROBE_NO;
        return PROBE_YES;
    }
    default: return PROBE_NO;
    }
}

static void *hip_state_new(void)
{
    return calloc(1, sizeof(struct hip_state));
}

static void hip_state_free(void *state)
{
    free(state);
}

const struct dissector hart_ip_dissector = {
    .id = DISS_HART_IP,
    .name = "hart_ip",
    .transports = DISS_TCP | DISS_UDP,
    .ports = {5094, 0},
    .probe = hip_probe,
    .state_new = hip_state_new,
    .state_free = hip_state_free,
    .parse = hip_parse,
    .gap = hip_gap,
    .anomalies = hip_anomalies,
    .max_pdu = HIP_MAX_MSG,
};
