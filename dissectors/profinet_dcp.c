/* profinet_dcp.c - PROFINET DCP dissector (layer 2, ethertype 0x8892).
 *
 * Every PROFINET RT frame starts with a frame id; DCP uses 0xFEFC..0xFEFF
 * (IEC 61158-6-10, DCP PDU):
 *
 *   0        2     3     4       8        10       12
 *   +--------+-----+-----+-------+--------+--------+---------------------+
 *   |frame id| svc | type|  xid  | delay/ | data   | blocks (data length)|
 *   |        | id  |     |       | rsvd   | length |                     |
 *   +--------+-----+-----+-------+--------+--------+---------------------+
 *    frame id: FEFC Hello, FEFD Get/Set, FEFE Identify request (multicast),
 *              FEFF Identify response
 *    service id: 3 Get, 4 Set, 5 Identify, 6 Hello; type: 0 request,
 *              1 response success, 5 response "not supported"
 *    block: option u8, suboption u8, length u16, data (padded to even):
 *      responses and Hello carry BlockInfo u16 first, Set requests a
 *      BlockQualifier u16; Identify filters carry the value alone; a Get
 *      request is a bare list of option/suboption pairs.
 *
 * Choices worth knowing:
 * - One event per DCP PDU, code = service id (tshark pn_dcp.service_id); op
 *   after the taxonomy (identify_all, identify_response, hello, set_ip,
 *   set_name, factory_reset, signal, set_other), otherwise identify, get,
 *   get_response, set_response, unknown_service.
 * - Other RT frame ids (cyclic data 0x8000..0xBFFF, alarms, PTCP, ...) emit no
 *   event per frame: they are counted in the flow state and a summary event
 *   (op rt_summary, code null) is emitted every PN_SUMMARY_EVERY frames with
 *   the counts since the previous summary. */
#include <stdlib.h>
#include <string.h>

#include "dissector.h"

#define PN_SUMMARY_EVERY 10000u
#define PN_MAX_BLOCKS    32 /* blocks listed per event */

static const char *const pn_anomalies[] = {
    "profinet_dcp.truncated",         "profinet_dcp.invalid_length", "profinet_dcp.unknown_service",
    "profinet_dcp.frame_id_mismatch", "profinet_dcp.ip_conflict",    NULL,
};

struct pn_state {
    uint64_t rt_total; /* non-DCP RT frames since the last summary */
    uint64_t rt_cyclic, rt_alarm, rt_ptcp, rt_other;
    uint64_t summaries;
};

static const char *pn_service_name(uint8_t s)
{
    switch (s) {
    case 3: return "get";
    case 4: return "set";
    case 5: return "identify";
    case 6: return "hello";
    default: return NULL;
    }
}

static void pn_ip(struct event *e, const char *key, const uint8_t *p)
{
    char buf[16];
    int n = 0;
    for (int i = 0; i < 4; i++) {
        unsigned v = p[i];
        if (i) buf[n++] = '.';
        if (v >= 100) buf[n++] = (char)('0' + v / 100);
        if (v >= 10) buf[n++] = (char)('0' + v / 10 % 10);
        buf[n++] = (char)('0' + v % 10);
    }
    ev_str(e, key, buf, (size_t)n);
}

struct pn_pdu {
    struct event *e;
    uint8_t service, type;
    int response;     /* blocks carry BlockInfo */
    int set_request;  /* blocks carry BlockQualifier */
    const char *op;   /* refined by the blocks of a Set or Identify */
    int all_selector; /* Identify request with option 0xFF */
};

/* IP parameter: ip, mask, gateway (12 bytes). */
static void pn_ip_param(struct pn_pdu *m, struct cursor *b)
{
    const uint8_t *p = cursor_take(b, 12);
    if (!p) return;
    pn_ip(m->e, "ip", p);
    pn_ip(m->e, "netmask", p + 4);
    pn_ip(m->e, "gateway", p + 8);
}

/* Block data after BlockInfo / BlockQualifier. */
static void pn_block_data(struct pn_pdu *m, uint8_t opt, uint8_t sub, struct cursor *b)
{
    struct event *e = m->e;
    size_t n = cursor_left(b);
    switch (opt << 8 | sub) {
    case 0x0101: /* MAC address */
        if (n >= 6) ev_hex(e, "mac", cursor_take(b, 6), 6);
        break;
    case 0x0102: /* IP parameter */
    case 0x0103: /* full IP suite: + 4 DNS servers */ pn_ip_param(m, b); break;
    case 0x0201: ev_str(e, "type_of_station", cursor_take(b, n), n); break;
    case 0x0202: ev_str(e, "name_of_station", cursor_take(b, n), n); break;
    case 0x0203:
        ev_uint(e, "vendor_id", cursor_u16be(b));
        ev_uint(e, "device_id", cursor_u16be(b));
        break;
    case 0x0204: ev_uint(e, "device_role", cursor_u8(b)); break;
    case 0x0206: ev_str(e, "alias_name", cursor_take(b, n), n); break;
    case 0x0207:
        ev_uint(e, "instance_high", cursor_u8(b));
        ev_uint(e, "instance_low", cursor_u8(b));
        break;
    case 0x0504: /* Control response: option, suboption, error */
        ev_uint(e, "response_option", cursor_u8(b));
        ev_uint(e, "response_suboption", cursor_u8(b));
        ev_uint(e, "response_error", cursor_u8(b));
        break;
    default: break;
    }
}

/* The Set request's op from its most significant block. */
static void pn_set_op(struct pn_pdu *m, uint8_t opt, uint8_t sub)
{
    const char *op = NULL;
    if (opt == 1 && (sub == 2 || sub == 3))
        op = "set_ip";
    else if (opt == 2 && sub == 2)
        op = "set_name";
    else if (opt == 5 && (sub == 5 || sub == 6))
        op = "factory_reset";
    else if (opt == 5 && sub == 3)
        op = "signal";
    else if (opt == 5 && (sub == 1 || sub == 2))
        return; /* start / end transaction frame the real change */
    else
        op = "set_other";
    /* a reset outranks the rest; otherwise the first change names the PDU */
    if (!m->op || strcmp(op, "factory_reset") == 0) m->op = op;
}

/* One block header and its BlockInfo / BlockQualifier; b gets the rest. */
static int pn_block_head(struct pn_pdu *m, struct cursor *d, uint8_t *opt, uint8_t *sub,
                         uint16_t *len, int *has_info, uint16_t *info, struct cursor *b)
{
    *opt = cursor_u8(d);
    *sub = cursor_u8(d);
    *len = cursor_u16be(d);
    *b = cursor_sub(d, *len);
    if (*len & 1 && cursor_left(d)) cursor_skip(d, 1); /* padding */
    *has_info = 0;
    int with = (m->response && !(*opt == 5 && *sub == 4)) || m->service == 6 || m->set_request;
    if (with && cursor_left(b) >= 2) {
        *info = cursor_u16be(b);
        *has_info = 1;
    }
    return 1;
}

/* Two passes: the block list (option, suboption, length, info), then the
 * decoded values at the top of the event (name of station, ids, IP...). */
static void pn_blocks(struct pn_pdu *m, struct cursor *d)
{
    struct event *e = m->e;
    size_t nb = 0;
    int conflict = 0;
    struct cursor again = *d;
    ev_arr_begin(e, "blocks");
    if (m->service == 3 && !m->response) {
        /* Get request: option/suboption pairs */
        while (cursor_left(d) >= 2 && nb < PN_MAX_BLOCKS) {
            ev_obj_begin(e, NULL);
            ev_uint(e, "option", cursor_u8(d));
            ev_uint(e, "suboption", cursor_u8(d));
            ev_end(e);
            nb++;
        }
        ev_end(e);
        return;
    }
    while (cursor_left(d) >= 4) {
        uint8_t opt, sub;
        uint16_t len, info = 0;
        int has_info;
        struct cursor b;
        pn_block_head(m, d, &opt, &sub, &len, &has_info, &info, &b);
        if (nb++ < PN_MAX_BLOCKS) {
            ev_obj_begin(e, NULL);
            ev_uint(e, "option", opt);
            ev_uint(e, "suboption", sub);
            ev_uint(e, "length", len);
            if (has_info) ev_uint(e, m->set_request ? "qualifier" : "block_info", info);
            ev_end(e);
        }
        if (m->service == 5 && !m->response && opt == 0xFF) m->all_selector = 1;
        if (m->set_request) pn_set_op(m, opt, sub);
        if (opt == 1 && sub == 2 && has_info && !m->set_request && (info & 0x80))
            conflict = 1; /* BlockInfo 0x0080..0x0082 */
        if (d->err) break;
    }
    ev_end(e);
    if (nb > PN_MAX_BLOCKS) ev_bool(e, "blocks_truncated", 1);
    if (d->err) event_anomaly(e, "profinet_dcp.invalid_length");
    if (conflict) {
        ev_bool(e, "ip_conflict", 1);
        event_anomaly(e, "profinet_dcp.ip_conflict");
    }
    for (size_t i = 0; i < PN_MAX_BLOCKS && cursor_left(&again) >= 4; i++) {
        uint8_t opt, sub;
        uint16_t len, info = 0;
        int has_info;
        struct cursor b;
        pn_block_head(m, &again, &opt, &sub, &len, &has_info, &info, &b);
        pn_block_data(m, opt, sub, &b);
        if (again.err) break;
    }
}

static void pn_dcp(struct cursor *c, uint16_t frame_id, struct event_sink *sink)
{
    uint8_t svc = cursor_u8(c);
    uint8_t type = cursor_u8(c);
    uint32_t xid = cursor_u32be(c);
    uint16_t delay = cursor_u16be(c);
    uint16_t dlen = cursor_u16be(c);
    if (c->err) {
        struct event *e = event_begin(sink, "profinet_dcp", EV_DIR_NONE);
        ev_uint(e, "frame_id", frame_id);
        event_op(e, "malformed");
        event_anomaly(e, "profinet_dcp.truncated");
        event_emit(sink, e);
        return;
    }
    int response = type != 0;
    struct pn_pdu m = {
        .e = event_begin(sink, "profinet_dcp", response ? EV_DIR_RESPONSE : EV_DIR_REQUEST),
        .service = svc,
        .type = type,
        .response = response,
        .set_request = svc == 4 && !response,
    };
    struct event *e = m.e;
    if (svc == 6) e->dir = EV_DIR_INDICATION;
    ev_uint(e, "frame_id", frame_id);
    ev_uint(e, "service_id", svc);
    ev_uint(e, "service_type", type);
    ev_cstr(e, "service_type_name",
            type == 0   ? "request"
            : type == 1 ? "response_success"
            : type == 5 ? "response_not_supported"
                        : "unknown");
    ev_uint(e, "xid", xid);
    if (svc == 5 && !response) ev_uint(e, "response_delay", delay);
    ev_uint(e, "data_length", dlen);
    struct cursor d = cursor_sub(c, dlen);
    if (c->err) event_anomaly(e, "profinet_dcp.truncated");
    pn_blocks(&m, &d);
    const char *name = pn_service_name(svc);
    const char *op = m.op;
    switch (svc) {
    case 3: op = response ? "get_response" : "get"; break;
    case 4:
        if (response)
            op = "set_response";
        else if (!op)
            op = "set_other";
        break;
    case 5:
        op = response ? "identify_response" : m.all_selector ? "identify_all" : "identify";
        break;
    case 6: op = "hello"; break;
    default:
        op = "unknown_service";
        event_anomaly(e, "profinet_dcp.unknown_service");
        break;
    }
    if (name) ev_cstr(e, "service", name);
    /* the service must match the frame id's role */
    int ok = (frame_id == 0xFEFC && svc == 6) || (frame_id == 0xFEFD && (svc == 3 || svc == 4)) ||
             (frame_id == 0xFEFE && svc == 5 && !response) ||
             (frame_id == 0xFEFF && svc == 5 && response);
    if (!ok && name) event_anomaly(e, "profinet_dcp.frame_id_mismatch");
    event_code(e, svc, op);
    event_emit(sink, e);
}

static void pn_count_rt(struct pn_state *st, uint16_t fid, const struct pdu_info *info,
                        struct event_sink *sink)
{
    (void)info;
    if (fid >= 0x8000 && fid <= 0xBFFF)
        st->rt_cyclic++;
    else if (fid >= 0xC000 && fid <= 0xFBFF)
        st->rt_cyclic++; /* RT class 1/UDP and class 3 ranges */
    else if (fid >= 0xFC01 && fid <= 0xFE02)
        st->rt_alarm++;
    else if (fid <= 0x00FF || (fid >= 0xFF00 && fid <= 0xFF8F))
        st->rt_ptcp++;
    else
        st->rt_other++;
    if (++st->rt_total < PN_SUMMARY_EVERY) return;
    struct event *e = event_begin(sink, "profinet_dcp", EV_DIR_INDICATION);
    event_op(e, "rt_summary");
    ev_uint(e, "frames", st->rt_total);
    ev_uint(e, "cyclic", st->rt_cyclic);
    ev_uint(e, "alarm", st->rt_alarm);
    ev_uint(e, "ptcp", st->rt_ptcp);
    ev_uint(e, "other", st->rt_other);
    ev_uint(e, "last_frame_id", fid);
    event_emit(sink, e);
    st->summaries++;
    st->rt_total = st->rt_cyclic = st->rt_alarm = st->rt_ptcp = st->rt_other = 0;
}

static size_t pn_parse(void *state, struct cursor *c, const struct pdu_info *info,
                       struct event_sink *sink)
{
    struct pn_state *st = state;
    size_t n = cursor_left(c);
    uint16_t fid = cursor_u16be(c);
    if (c->err) return n;
    if (fid >= 0xFEFC && fid <= 0xFEFF)
        pn_dcp(c, fid, sink);
    else
        pn_count_rt(st, fid, info, sink);
    return n;
}

static void *pn_state_new(void)
{
    return calloc(1, sizeof(struct pn_state));
}

static void pn_state_free(void *state)
{
    free(state);
}

const struct dissector profinet_dcp_dissector = {
    .id = DISS_PROFINET_DCP,
    .name = "profinet_dcp",
    .transports = DISS_L2,
    .ethertypes = {0x8892, 0},
    .probe = NULL,
    .state_new = pn_state_new,
    .state_free = pn_state_free,
    .parse = pn_parse,
    .gap = NULL,
    .anomalies = pn_anomalies,
    .max_pdu = 1514,
};
