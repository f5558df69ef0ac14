/* cip.c - CIP explicit messages (requests and responses) carried by EtherNet/IP.
 *
 * Request:                          Response:
 *   +---------+-----------+------+    +-----------+-----+--------+----------+-----------+------+
 *   | service | path size | path |    | service   | rsv | general| ext size | ext status| data |
 *   |  u8     | u8 (words)|      |    | |0x80 u8  | u8  | status | u8 words | u16[n]    |      |
 *   +---------+-----------+------+    +-----------+-----+--------+----------+-----------+------+
 *   followed by service data.
 *
 * Path segments (first byte: type in bits 7-5):
 *   0x00-0x1F port      (bit 4: extended link address; port 15: 16-bit port follows)
 *   0x20-0x3F logical   (bits 4-2: class 0, instance 1, member 2, connection point 3,
 *                        attribute 4, special 5 (electronic key), service 6;
 *                        bits 1-0: 8-bit, 16-bit (pad byte), 32-bit (pad byte))
 *   0x40-0x5F network   (0x5X: size in words follows; 0x4X: one data byte)
 *   0x60-0x7F symbolic  (size in bits 4-0)
 *   0x80 simple data (size in words), 0x91 ANSI extended symbol (length, chars, pad)
 *
 * Multiple Service Packet (0x0A) data: count u16, offsets u16[count] (from the count
 * field), embedded messages. Unconnected Send (0x52 on the Connection Manager, class 6)
 * data: priority/tick u8, timeout ticks u8, message size u16, message, pad to even,
 * route path size u8 (words), reserved u8, route path. A successful Unconnected Send is
 * answered by the embedded request's own response. All multi-byte fields are
 * little-endian. */
#include "cip.h"

#include <stdio.h>
#include <string.h>

#define CIP_MAX_DEPTH 4  /* Unconnected Send in a Multiple Service Packet in ... */
#define CIP_DATA_HEX  64 /* bytes of attribute or tag data copied into an event */
/* Embedded services told per Multiple Service Packet. Real ones carry tens (they must
 * fit a connection's size); 2-byte services could make one PDU into 16,000 events. */
#define CIP_MSP_EVENTS_MAX 512

#define CIP_CLASS_IDENTITY 0x01
#define CIP_CLASS_CM       0x06
#define CIP_CLASS_FILE     0x37
#define CIP_CLASS_PCCC     0x67
#define CIP_CLASS_SYMBOL   0x6B

const char *const cip_anomalies[] = {
    "cip.truncated",
    "cip.bad_path",
    "cip.bad_msp",
    "cip.too_deep",
    "cip.too_many_services",
    "cip.file_transfer_sequence",
    NULL,
};

/* Everything a request path said. */
struct cip_path {
    uint8_t has_class, has_instance, has_attribute, has_member, has_conn_point;
    uint32_t class_id, instance, attribute, member, conn_point;
    int symbolic;
    int bad;
    size_t tag_len;
    size_t route_len;
    char tag[EVENT_STR_CAP];
    char route[96];
};

enum role { ROLE_NONE, ROLE_TOP, ROLE_MSP_CHILD };

/* ---- names ------------------------------------------------------------ */

static const char *const generic_names[0x1D] = {
    [0x01] = "get_attributes_all",
    [0x02] = "set_attributes_all",
    [0x03] = "get_attribute_list",
    [0x04] = "set_attribute_list",
    [0x05] = "reset",
    [0x06] = "start",
    [0x07] = "stop",
    [0x08] = "create",
    [0x09] = "delete",
    [0x0A] = "multiple_service_packet",
    [0x0D] = "apply_attributes",
    [0x0E] = "get_attribute_single",
    [0x10] = "set_attribute_single",
    [0x11] = "find_next_object_instance",
    [0x14] = "error_response",
    [0x15] = "restore",
    [0x16] = "save",
    [0x17] = "nop",
    [0x18] = "get_member",
    [0x19] = "set_member",
    [0x1A] = "insert_member",
    [0x1B] = "remove_member",
    [0x1C] = "group_sync",
};

/* Tag services are Rockwell's; they address tags by name or by symbol instance. */
static int is_tag_addressed(int has_class, uint32_t class_id, int symbolic)
{
    return symbolic || (has_class && class_id == CIP_CLASS_SYMBOL);
}

const char *cip_service_name(uint8_t service, int has_class, uint32_t class_id, int symbolic)
{
    service &= 0x7F;
    if (service < 0x1D && generic_names[service]) return generic_names[service];
    if (has_class && class_id == CIP_CLASS_CM) {
        switch (service) {
        case 0x4E: return "forward_close";
        case 0x52: return "unconnected_send";
        case 0x54: return "forward_open";
        case 0x56: return "get_connection_data";
        case 0x57: return "search_connection_data";
        case 0x5A: return "get_connection_owner";
        case 0x5B: return "large_forward_open";
        }
    }
    if (has_class && class_id == CIP_CLASS_FILE) {
        switch (service) {
        case 0x4B: return "initiate_upload";
        case 0x4C: return "initiate_download";
        case 0x4D: return "initiate_partial_read";
        case 0x4E: return "initiate_partial_write";
        case 0x4F: return "upload_transfer";
        case 0x50: return "download_transfer";
        case 0x51: return "clear_file";
        }
    }
    if (has_class && class_id == CIP_CLASS_PCCC && service == 0x4B) return "execute_pccc";
    if (is_tag_addressed(has_class, class_id, symbolic)) {
        switch (service) {
        case 0x4C: return "read_tag";
        case 0x4D: return "write_tag";
        case 0x4E: return "read_modify_write_tag";
        case 0x52: return "read_tag_fragmented";
        case 0x53: return "write_tag_fragmented";
        case 0x55: return "get_instance_attribute_list";
        }
    }
    return "object_specific";
}

/* The event op: the taxonomy's cip_* ids where one applies, else the service name. */
static const char *service_op(uint8_t service, int has_class, uint32_t class_id, int symbolic)
{
    service &= 0x7F;
    switch (service) {
    case 0x02:
    case 0x04:
    case 0x10:
    case 0x19: return "set_attribute";
    case 0x08:
    case 0x09:
    case 0x1A:
    case 0x1B: return "create_delete";
    case 0x0D:
    case 0x15:
    case 0x16: return "save_restore_apply";
    case 0x0A: return "multiple_service";
    }
    if (service >= 0x4B && has_class && class_id == CIP_CLASS_FILE) return "file_object_transfer";
    if (service == 0x4B && has_class && class_id == CIP_CLASS_PCCC) return "pccc_execute";
    if (has_class && class_id == CIP_CLASS_CM) {
        switch (service) {
        case 0x54:
        case 0x5B: return "forward_open";
        }
    } else if (is_tag_addressed(has_class, class_id, symbolic)) {
        switch (service) {
        case 0x4C:
        case 0x52: return "logix_read_tag";
        case 0x4D:
        case 0x53:
        case 0x4E: return "logix_write_tag";
        }
    }
    return cip_service_name(service, has_class, class_id, symbolic);
}

const char *cip_status_name(uint8_t status)
{
    switch (status) {
    case 0x00: return "success";
    case 0x01: return "connection_failure";
    case 0x02: return "resource_unavailable";
    case 0x03: return "invalid_parameter_value";
    case 0x04: return "path_segment_error";
    case 0x05: return "path_destination_unknown";
    case 0x06: return "partial_transfer";
    case 0x07: return "connection_lost";
    case 0x08: return "service_not_supported";
    case 0x09: return "invalid_attribute_value";
    case 0x0A: return "attribute_list_error";
    case 0x0B: return "already_in_requested_mode";
    case 0x0C: return "object_state_conflict";
    case 0x0D: return "object_already_exists";
    case 0x0E: return "attribute_not_settable";
    case 0x0F: return "privilege_violation";
    case 0x10: return "device_state_conflict";
    case 0x11: return "reply_data_too_large";
    case 0x13: return "not_enough_data";
    case 0x14: return "attribute_not_supported";
    case 0x15: return "too_much_data";
    case 0x16: return "object_does_not_exist";
    case 0x1E: return "embedded_service_error";
    case 0x1F: return "vendor_specific_error";
    case 0x20: return "invalid_parameter";
    case 0x26: return "invalid_path_size";
    }
    return "other";
}

/* ---- request path ----------------------------------------------------- */

static void path_append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *len + 1 < cap; i++)
        buf[(*len)++] = s[i];
}

static void path_tag_symbol(struct cip_path *p, const uint8_t *s, size_t n)
{
    if (p->tag_len) path_append(p->tag, sizeof(p->tag), &p->tag_len, ".", 1);
    path_append(p->tag, sizeof(p->tag), &p->tag_len, (const char *)s, n);
    p->symbolic = 1;
}

static void path_logical(struct cip_path *p, unsigned type, uint32_t v)
{
    char num[16];
    int n;
    switch (type) {
    case 0:
        p->has_class = 1;
        p->class_id = v;
        break;
    case 1:
        p->has_instance = 1;
        p->instance = v;
        break;
    case 2:
        p->has_member = 1;
        p->member = v;
        if (p->symbolic) { /* an element index of the tag before it */
            n = snprintf(num, sizeof(num), "[%u]", (unsigned)v);
            path_append(p->tag, sizeof(p->tag), &p->tag_len, num, (size_t)n);
        }
        break;
    case 3:
        p->has_conn_point = 1;
        p->conn_point = v;
        break;
    case 4:
        p->has_attribute = 1;
        p->attribute = v;
        break;
    }
}

/* Parses a padded EPATH; sets p->bad on an unknown or truncated segment. */
static void path_parse(struct cursor *c, struct cip_path *p)
{
    while (cursor_left(c) > 0 && !p->bad) {
        uint8_t seg = cursor_u8(c);
        switch (seg >> 5) {
        case 0: { /* port segment: [size] [port16] link [pad] */
            unsigned port = seg & 0x0F;
            size_t link_len = 1;
            if (seg & 0x10) link_len = cursor_u8(c);
            if (port == 15) port = cursor_u16le(c);
            const uint8_t *link = cursor_take(c, link_len);
            if ((seg & 0x10) && (link_len & 1)) cursor_skip(c, 1);
            if (!link) {
                p->bad = 1;
                break;
            }
            char tmp[40];
            int n;
            if (p->route_len) path_append(p->route, sizeof(p->route), &p->route_len, ",", 1);
            if (seg & 0x10) {
                n = snprintf(tmp, sizeof(tmp), "%u/", port);
                path_append(p->route, sizeof(p->route), &p->route_len, tmp, (size_t)n);
                for (size_t i = 0; i < link_len; i++) {
                    char ch = (char)link[i];
                    if (ch >= 0x20 && ch < 0x7F)
                        path_append(p->route, sizeof(p->route), &p->route_len, &ch, 1);
                }
            } else {
                n = snprintf(tmp, sizeof(tmp), "%u/%u", port, link[0]);
                path_append(p->route, sizeof(p->route), &p->route_len, tmp, (size_t)n);
            }
            break;
        }
        case 1: { /* logical segment */
            unsigned type = (seg >> 2) & 7, fmt = seg & 3;
            uint32_t v = 0;
            if (type == 5) { /* special: electronic key, format 4 = 8 bytes */
                uint8_t kf = cursor_u8(c);
                if (fmt != 0 || kf != 4 || !cursor_skip(c, 8)) p->bad = 1;
                break;
            }
            if (fmt == 0) {
                v = cursor_u8(c);
            } else if (fmt == 1) {
                cursor_skip(c, 1);
                v = cursor_u16le(c);
            } else if (fmt == 2) {
                cursor_skip(c, 1);
                v = cursor_u32le(c);
            } else {
                p->bad = 1;
                break;
            }
            if (type == 6 || type == 7) /* service id / extended: nothing to keep */
                break;
            path_logical(p, type, v);
            break;
        }
        case 2: /* network segment */
            if (seg & 0x10)
                cursor_skip(c, (size_t)cursor_u8(c) * 2);
            else
                cursor_skip(c, 1);
            break;
        case 3: { /* symbolic segment */
            size_t n = seg & 0x1F;
            if (n == 0) { /* extended formats: not tag names */
                p->bad = 1;
                break;
            }
            const uint8_t *s = cursor_take(c, n);
            if (s) path_tag_symbol(p, s, n);
            if (!(n & 1)) cursor_skip(c, 1);
            break;
        }
        case 4:
            if (seg == 0x80) { /* simple data segment */
                cursor_skip(c, (size_t)cursor_u8(c) * 2);
            } else if (seg == 0x91) { /* ANSI extended symbol */
                size_t n = cursor_u8(c);
                const uint8_t *s = cursor_take(c, n);
                if (s) path_tag_symbol(p, s, n);
                if (n & 1) cursor_skip(c, 1);
            } else {
                p->bad = 1;
            }
            break;
        default: p->bad = 1; break;
        }
        if (c->err) p->bad = 1;
    }
}

static void path_fields(struct event *e, const struct cip_path *p)
{
    if (p->has_class) ev_uint(e, "class", p->class_id);
    if (p->has_instance) ev_uint(e, "instance", p->instance);
    if (p->has_attribute) ev_uint(e, "attribute", p->attribute);
    if (p->has_member && !p->symbolic) ev_uint(e, "member", p->member);
    if (p->has_conn_point) ev_uint(e, "connection_point", p->conn_point);
    if (p->tag_len) ev_str(e, "tag", p->tag, p->tag_len);
    if (p->route_len) ev_str(e, "route", p->route, p->route_len);
}

static void req_from_path(struct cip_req *r, uint8_t service, const struct cip_path *p)
{
    memset(r, 0, sizeof(*r));
    r->service = service & 0x7F;
    r->has_class = p->has_class;
    r->has_instance = p->has_instance;
    r->has_attribute = p->has_attribute;
    r->class_id = p->class_id;
    r->instance = p->instance;
    r->attribute = p->attribute;
    r->tag_len = (uint8_t)(p->tag_len < CIP_TAG_MAX ? p->tag_len : CIP_TAG_MAX);
    memcpy(r->tag, p->tag, r->tag_len);
}

/* ---- common event parts ----------------------------------------------- */

static void ctx_fields(struct event *e, const struct cip_msg_ctx *ctx, const char *via, int index)
{
    ev_uint(e, "session", ctx->session);
    if (ctx->has_conn) ev_uint(e, "connection", ctx->conn_id);
    if (ctx->has_seq) ev_uint(e, "seq", ctx->seq);
    if (via) {
        ev_cstr(e, "via", via);
        if (index >= 0) ev_uint(e, "index", (uint64_t)index);
    }
}

static void data_hex(struct event *e, const char *key, struct cursor *d)
{
    size_t n = cursor_left(d);
    const uint8_t *p = cursor_peek_ptr(d, n < CIP_DATA_HEX ? n : CIP_DATA_HEX);
    if (p && n) ev_hex(e, key, p, n < CIP_DATA_HEX ? n : CIP_DATA_HEX);
    if (n) ev_uint(e, "data_len", n);
}

static const char *logix_type_name(uint16_t t)
{
    switch (t) {
    case 0xC1: return "BOOL";
    case 0xC2: return "SINT";
    case 0xC3: return "INT";
    case 0xC4: return "DINT";
    case 0xC5: return "LINT";
    case 0xC6: return "USINT";
    case 0xC7: return "UINT";
    case 0xC8: return "UDINT";
    case 0xC9: return "ULINT";
    case 0xCA: return "REAL";
    case 0xCB: return "LREAL";
    case 0xD0: return "STRING";
    case 0xD1: return "BYTE";
    case 0xD2: return "WORD";
    case 0xD3: return "DWORD";
    case 0xD4: return "LWORD";
    case 0x02A0: return "STRUCT";
    }
    return NULL;
}

/* Typed tag data: type u16 [struct handle u16] values. Returns the type, or -1. */
static int logix_type(struct event *e, struct cursor *d)
{
    uint16_t type = cursor_u16le(d);
    if (d->err) return -1;
    ev_uint(e, "data_type", type);
    const char *tn = logix_type_name(type);
    if (tn) ev_cstr(e, "data_type_name", tn);
    if (type == 0x02A0) ev_uint(e, "struct_handle", cursor_u16le(d));
    return type;
}

static void logix_first_value(struct event *e, uint16_t type, struct cursor *d)
{
    struct cursor v = *d;
    switch (type) {
    case 0xC1:
    case 0xC6: ev_uint(e, "value", cursor_u8(&v)); break;
    case 0xC2: ev_int(e, "value", (int8_t)cursor_u8(&v)); break;
    case 0xC3: ev_int(e, "value", (int16_t)cursor_u16le(&v)); break;
    case 0xC7:
    case 0xD2: ev_uint(e, "value", cursor_u16le(&v)); break;
    case 0xC4: ev_int(e, "value", (int32_t)cursor_u32le(&v)); break;
    case 0xC8:
    case 0xD3: ev_uint(e, "value", cursor_u32le(&v)); break;
    case 0xC5: ev_int(e, "value", (int64_t)cursor_u64le(&v)); break;
    case 0xC9:
    case 0xD4: ev_uint(e, "value", cursor_u64le(&v)); break;
    case 0xCA: {
        uint32_t u = cursor_u32le(&v);
        float f;
        memcpy(&f, &u, sizeof(f));
        if (!v.err && f == f && f - f == 0.0f) /* finite only: JSON has no NaN */
            ev_double(e, "value", (double)f);
        break;
    }
    case 0xCB: {
        uint64_t u = cursor_u64le(&v);
        double f;
        memcpy(&f, &u, sizeof(f));
        if (!v.err && f == f && f - f == 0.0) ev_double(e, "value", f);
        break;
    }
    }
}

/* A few ODVA vendor ids (the full list has over a thousand); enough to name the
 * controllers and adapters most often met. */
const char *cip_vendor_name(uint16_t id)
{
    switch (id) {
    case 1: return "Rockwell Automation/Allen-Bradley";
    case 5: return "Rockwell Automation/Reliance Electric";
    case 26: return "Festo";
    case 40: return "WAGO";
    case 46: return "ABB Industrial Systems";
    case 47: return "Omron";
    case 48: return "Turck";
    case 77: return "Rockwell Software";
    case 82: return "Mitsubishi Electric Automation";
    case 90: return "HMS Industrial Networks";
    case 108: return "Beckhoff Automation";
    case 145: return "Siemens Energy & Automation";
    case 243: return "Schneider Automation";
    case 283: return "Hilscher";
    case 309: return "Prosoft Technology";
    case 562: return "Phoenix Contact";
    }
    return NULL;
}

static const char *device_type_name(uint16_t t)
{
    switch (t) {
    case 0: return "generic_device";
    case 2: return "ac_drive";
    case 3: return "motor_overload";
    case 7: return "discrete_io";
    case 12: return "communications_adapter";
    case 14: return "plc";
    case 16: return "position_controller";
    case 19: return "dc_drive";
    case 22: return "motor_starter";
    case 24: return "hmi";
    case 34: return "encoder";
    case 35: return "safety_discrete_io";
    case 37: return "cip_motion_drive";
    case 43: return "generic_device_keyable";
    case 44: return "managed_ethernet_switch";
    }
    return NULL;
}

int cip_identity_fields(struct event *e, struct cursor *c)
{
    if (cursor_left(c) < 15) /* attributes 1-6 and the name's length */
        return 0;
    uint16_t vendor = cursor_u16le(c);
    uint16_t dev_type = cursor_u16le(c);
    uint16_t product = cursor_u16le(c);
    uint8_t major = cursor_u8(c);
    uint8_t minor = cursor_u8(c);
    uint16_t status = cursor_u16le(c);
    uint32_t serial = cursor_u32le(c);
    size_t name_len = cursor_u8(c);
    const uint8_t *name = cursor_take(c, name_len);
    ev_obj_begin(e, "identity");
    ev_uint(e, "vendor_id", vendor);
    const char *vn = cip_vendor_name(vendor);
    if (vn) ev_cstr(e, "vendor", vn);
    ev_uint(e, "device_type", dev_type);
    const char *dn = device_type_name(dev_type);
    if (dn) ev_cstr(e, "device_type_name", dn);
    ev_uint(e, "product_code", product);
    char rev[16];
    int n = snprintf(rev, sizeof(rev), "%u.%02u", major, minor);
    ev_str(e, "revision", rev, (size_t)n);
    ev_uint(e, "status", status);
    char ser[16];
    n = snprintf(ser, sizeof(ser), "0x%08x", (unsigned)serial);
    ev_str(e, "serial", ser, (size_t)n);
    if (name) ev_str(e, "product_name", name, name_len);
    ev_end(e);
    return name != NULL;
}

/* ---- service data ----------------------------------------------------- */

static void rpi_params(struct event *e, const char *pfx_rpi, const char *pfx_params,
                       const char *pfx_size, uint32_t rpi, uint32_t params, int large)
{
    ev_uint(e, pfx_rpi, rpi);
    ev_uint(e, pfx_params, params);
    ev_uint(e, pfx_size, large ? (params & 0xFFFF) : (params & 0x1FF));
}

static void forward_open_request(struct event *e, struct cursor *d, int large)
{
    uint8_t prio_tick = cursor_u8(d);
    uint8_t ticks = cursor_u8(d);
    uint32_t ot_id = cursor_u32le(d);
    uint32_t to_id = cursor_u32le(d);
    uint16_t serial = cursor_u16le(d);
    uint16_t vendor = cursor_u16le(d);
    uint32_t orig_serial = cursor_u32le(d);
    uint8_t mult = cursor_u8(d);
    cursor_skip(d, 3);
    uint32_t ot_rpi = cursor_u32le(d);
    uint32_t ot_params = large ? cursor_u32le(d) : cursor_u16le(d);
    uint32_t to_rpi = cursor_u32le(d);
    uint32_t to_params = large ? cursor_u32le(d) : cursor_u16le(d);
    uint8_t trigger = cursor_u8(d);
    size_t path_words = cursor_u8(d);
    if (d->err) {
        event_anomaly(e, "cip.truncated");
        return;
    }
    ev_obj_begin(e, "connection");
    ev_uint(e, "timeout_ms", (uint64_t)ticks << (prio_tick & 0x0F));
    ev_uint(e, "o_t_id", ot_id);
    ev_uint(e, "t_o_id", to_id);
    ev_uint(e, "serial", serial);
    ev_uint(e, "originator_vendor", vendor);
    ev_uint(e, "originator_serial", orig_serial);
    ev_uint(e, "timeout_multiplier", mult);
    rpi_params(e, "o_t_rpi_us", "o_t_params", "o_t_size", ot_rpi, ot_params, large);
    rpi_params(e, "t_o_rpi_us", "t_o_params", "t_o_size", to_rpi, to_params, large);
    ev_uint(e, "transport_class", trigger & 0x0F);
    ev_uint(e, "trigger", (trigger >> 4) & 0x07);
    struct cursor pc = cursor_sub(d, path_words * 2);
    struct cip_path path;
    memset(&path, 0, sizeof(path));
    path_parse(&pc, &path);
    ev_obj_begin(e, "path");
    path_fields(e, &path);
    ev_end(e);
    ev_end(e);
    if (path.bad || d->err)
        event_anomaly(e, path.bad && !d->err ? "cip.bad_path" : "cip.truncated");
}

static void forward_open_response(struct event *e, struct cursor *d)
{
    uint32_t ot_id = cursor_u32le(d);
    uint32_t to_id = cursor_u32le(d);
    uint16_t serial = cursor_u16le(d);
    uint16_t vendor = cursor_u16le(d);
    uint32_t orig_serial = cursor_u32le(d);
    uint32_t ot_api = cursor_u32le(d);
    uint32_t to_api = cursor_u32le(d);
    if (d->err) {
        event_anomaly(e, "cip.truncated");
        return;
    }
    ev_obj_begin(e, "connection");
    ev_uint(e, "o_t_id", ot_id);
    ev_uint(e, "t_o_id", to_id);
    ev_uint(e, "serial", serial);
    ev_uint(e, "originator_vendor", vendor);
    ev_uint(e, "originator_serial", orig_serial);
    ev_uint(e, "o_t_api_us", ot_api);
    ev_uint(e, "t_o_api_us", to_api);
    ev_end(e);
}

static void forward_close_data(struct event *e, struct cursor *d, int request)
{
    if (request) cursor_skip(d, 2); /* priority/tick, timeout ticks */
    uint16_t serial = cursor_u16le(d);
    uint16_t vendor = cursor_u16le(d);
    uint32_t orig_serial = cursor_u32le(d);
    if (d->err) {
        event_anomaly(e, "cip.truncated");
        return;
    }
    ev_obj_begin(e, "connection");
    ev_uint(e, "serial", serial);
    ev_uint(e, "originator_vendor", vendor);
    ev_uint(e, "originator_serial", orig_serial);
    ev_end(e);
}

/* Request data of services whose meaning we show (not the nesting ones). */
static void request_data(struct event *e, uint8_t service, const struct cip_path *p,
                         struct cursor *d)
{
    const char *name = cip_service_name(service, p->has_class, p->class_id, p->symbolic);
    int cm = p->has_class && p->class_id == CIP_CLASS_CM;
    int file = p->has_class && p->class_id == CIP_CLASS_FILE;
    int tag = is_tag_addressed(p->has_class, p->class_id, p->symbolic);

    if (cm && (service == 0x54 || service == 0x5B)) {
        forward_open_request(e, d, service == 0x5B);
    } else if (cm && service == 0x4E) {
        forward_close_data(e, d, 1);
    } else if (file) {
        if (service == 0x4B) { /* initiate upload: max transfer size */
            ev_uint(e, "max_transfer", cursor_u8(d));
        } else if (service == 0x4C) { /* initiate download: file size, checksum... */
            ev_uint(e, "file_size", cursor_u32le(d));
        } else if (service == 0x4F || service == 0x50) {
            ev_uint(e, "transfer_number", cursor_u8(d));
            if (service == 0x50) {
                ev_uint(e, "packet_type", cursor_u8(d));
                data_hex(e, "data", d);
            }
        }
    } else if (p->has_class && p->class_id == CIP_CLASS_PCCC && service == 0x4B) {
        size_t id_len = cursor_u8(d); /* requestor id: length includes itself */
        uint16_t vendor = cursor_u16le(d);
        uint32_t serial = cursor_u32le(d);
        if (id_len >= 7) cursor_skip(d, id_len - 7);
        uint8_t cmd = cursor_u8(d);
        cursor_u8(d); /* sts */
        uint16_t tns = cursor_u16le(d);
        if (!d->err) {
            ev_obj_begin(e, "pccc");
            ev_uint(e, "vendor", vendor);
            ev_uint(e, "serial", serial);
            ev_uint(e, "cmd", cmd);
            ev_uint(e, "tns", tns);
            uint8_t fnc = cursor_u8(d);
            if (!d->err && (cmd == 0x0F || cmd == 0x06)) ev_uint(e, "fnc", fnc);
            ev_end(e);
        }
    } else if (tag && (service == 0x4C || service == 0x52)) {
        ev_uint(e, "elements", cursor_u16le(d));
        if (service == 0x52) ev_uint(e, "offset", cursor_u32le(d));
    } else if (tag && (service == 0x4D || service == 0x53)) {
        int type = logix_type(e, d);
        if (type >= 0) {
            ev_uint(e, "elements", cursor_u16le(d));
            if (service == 0x53) ev_uint(e, "offset", cursor_u32le(d));
            logix_first_value(e, (uint16_t)type, d);
            data_hex(e, "data", d);
        }
    } else if (tag && service == 0x4E) { /* read-modify-write: mask size, OR mask, AND mask */
        size_t n = cursor_u16le(d);
        const uint8_t *or_mask = cursor_take(d, n);
        const uint8_t *and_mask = cursor_take(d, n);
        if (and_mask) {
            ev_hex(e, "or_mask", or_mask, n);
            ev_hex(e, "and_mask", and_mask, n);
        } else {
            event_anomaly(e, "cip.truncated");
        }
    } else if (service == 0x03 || service == 0x04) { /* attribute list */
        uint16_t n = cursor_u16le(d);
        if (!d->err) {
            ev_uint(e, "attribute_count", n);
            ev_arr_begin(e, "attributes");
            for (unsigned i = 0; i < n && i < 32 && cursor_left(d) >= 2; i++) {
                ev_uint(e, NULL, cursor_u16le(d));
                if (service == 0x04)
                    break; /* values follow each id; their sizes are class-specific */
            }
            ev_end(e);
        }
    } else if (service == 0x05) {
        if (cursor_left(d) >= 1) ev_uint(e, "reset_type", cursor_u8(d));
    } else if (service == 0x10 || service == 0x02 || service == 0x19) {
        data_hex(e, "data", d);
    } else if (strcmp(name, "object_specific") == 0) {
        data_hex(e, "data", d);
    }
}

static void response_data(struct event *e, uint8_t service, uint8_t status,
                          const struct cip_req *req, struct cursor *d)
{
    int cm = req ? req->has_class && req->class_id == CIP_CLASS_CM : 0;
    int tag = req ? is_tag_addressed(req->has_class, req->class_id, req->tag_len > 0) : 0;
    int file = req && req->has_class && req->class_id == CIP_CLASS_FILE;

    if (status != 0x00 && status != 0x06) {
        if (cursor_left(d)) data_hex(e, "data", d); /* e.g. Forward Open's remaining path size */
        return;
    }
    if ((service == 0x54 || service == 0x5B) && (cm || !req)) {
        forward_open_response(e, d);
    } else if (service == 0x4E && cm) {
        forward_close_data(e, d, 0);
    } else if (file) {
        if (service == 0x4B) {
            ev_uint(e, "file_size", cursor_u32le(d));
            ev_uint(e, "transfer_size", cursor_u8(d));
        } else if (service == 0x4F) {
            ev_uint(e, "transfer_number", cursor_u8(d));
            ev_uint(e, "packet_type", cursor_u8(d));
            data_hex(e, "data", d);
        }
    } else if ((service == 0x4C || service == 0x52) && (tag || !req)) {
        struct cursor v = *d;
        int type = logix_type(e, &v);
        if (type >= 0) {
            logix_first_value(e, (uint16_t)type, &v);
            data_hex(e, "data", &v);
        }
    } else if (service == 0x01 && req && req->has_class && req->class_id == CIP_CLASS_IDENTITY) {
        struct cursor v = *d;
        cip_identity_fields(e, &v);
    } else if (service == 0x0E || service == 0x01 || service == 0x03) {
        data_hex(e, "data", d);
    }
}

/* ---- File object transfers, for YARA ------------------------------------
 *
 * CIP Vol 1 §5-42 (File object, class 0x37), as OpENer implements it:
 *   Download Transfer request (0x50) / Upload Transfer response (0x4F):
 *   +-----------------+-------------+-----------+------------------------+
 *   | transfer number | packet type | file data | checksum INT (last only)|
 *   +-----------------+-------------+-----------+------------------------+
 *   packet type: 0 first, 1 middle, 2 last, 3 abort, 4 first and last.
 * A first packet starts the object (dropping an unfinished one); each later one
 * must carry the next transfer number (mod 256) for the same instance: a
 * repeat of the last is skipped (the client asks again after a lost reply),
 * anything else drops the transfer (cip.file_transfer_sequence). The last
 * packet's two checksum bytes are not file data. An error reply to a transfer
 * or an abort packet drops it too. An object is scanned when complete (or at
 * its cap); the flow's end scans an unfinished one as it stands (partial). */
static void file_drop(struct cip_state *st, struct cip_file_xfer *x, struct event *e)
{
    object_abort(&x->obj);
    x->armed = 0;
    st->file_gaps++;
    event_anomaly(e, "cip.file_transfer_sequence");
}

static void file_packet(struct cip_state *st, struct cip_file_xfer *x, struct event *e,
                        struct event_sink *sink, uint32_t instance, int upload, struct cursor d)
{
    uint8_t num = cursor_u8(&d);
    uint8_t type = cursor_u8(&d);
    if (d.err || type > 4) return; /* the event shows what is there */
    if (type == 3) {
        object_abort(&x->obj);
        x->armed = 0;
        return;
    }
    if (type == 0 || type == 4) {
        char name[24], v[12];
        snprintf(name, sizeof(name), "instance:%u", (unsigned)instance);
        object_begin(&x->obj, sink, "cip", "cip.file", name, strlen(name), 0);
        snprintf(v, sizeof(v), "%u", (unsigned)instance);
        object_attr(&x->obj, "instance", v);
        object_attr(&x->obj, "transfer", upload ? "upload" : "download");
        x->armed = 1;
        x->instance = instance;
    } else if (!x->armed) {
        return; /* the start was not seen */
    } else if (instance != x->instance || num != x->next) {
        if (instance == x->instance && num == (uint8_t)(x->next - 1u)) return; /* again */
        file_drop(st, x, e);
        return;
    }
    x->next = (uint8_t)(num + 1u);
    size_t n = cursor_left(&d);
    int last = type == 2 || type == 4;
    if (last) {
        if (n < 2) { /* no room for the checksum: not a packet we understand */
            file_drop(st, x, e);
            return;
        }
        n -= 2;
    }
    object_append(&x->obj, sink, &d, n);
    if (last) {
        object_end(&x->obj, sink, !upload);
        x->armed = 0;
    }
}

/* A request to the File object: Download Transfer carries data; a new
 * Initiate drops what was unfinished. */
static void file_request(struct cip_state *st, struct event *e, struct event_sink *sink,
                         uint8_t service, const struct cip_path *p, struct cursor d)
{
    if (!st || !p->has_class || p->class_id != CIP_CLASS_FILE) return;
    uint32_t instance = p->has_instance ? p->instance : 0;
    if (service == 0x4B || service == 0x4C) {
        struct cip_file_xfer *x = &st->file[service == 0x4B];
        object_abort(&x->obj);
        x->armed = 0;
    } else if (service == 0x50) {
        file_packet(st, &st->file[0], e, sink, instance, 0, d);
    }
}

static void file_response(struct cip_state *st, struct event *e, struct event_sink *sink,
                          uint8_t service, uint8_t status, const struct cip_req *req,
                          struct cursor d)
{
    if (!st || !req || !req->has_class || req->class_id != CIP_CLASS_FILE) return;
    if (service != 0x4F && service != 0x50) return;
    struct cip_file_xfer *x = &st->file[service == 0x4F];
    if (status != 0x00) {
        if (x->armed) file_drop(st, x, e);
        return;
    }
    if (service == 0x4F) file_packet(st, x, e, sink, req->has_instance ? req->instance : 0, 1, d);
}

void cip_state_end(struct cip_state *st, int to_server, struct event_sink *sink)
{
    if (!st) return;
    struct cip_file_xfer *x = &st->file[to_server ? 0 : 1]; /* [0] downloads, to the device */
    object_partial(&x->obj, sink, to_server);
    x->armed = 0;
}

void cip_state_release(struct cip_state *st)
{
    if (!st) return;
    object_free(&st->file[0].obj);
    object_free(&st->file[1].obj);
}

/* ---- messages --------------------------------------------------------- */

static void parse_msg(struct cip_state *st, struct cursor *c, const struct cip_msg_ctx *ctx,
                      struct event_sink *sink, int depth, const char *via, int index,
                      struct cip_pending *col, enum role role, const struct cip_req *req,
                      const struct cip_pending *pend);

/* Slices embedded message i of a Multiple Service Packet whose data starts at d0. */
static int msp_slice(const struct cursor *d0, unsigned count, unsigned i, struct cursor *out)
{
    struct cursor t = *d0;
    size_t total = cursor_left(d0);
    int ok1 = 1, ok2 = 1;
    size_t at = 2 + 2 * (size_t)i;
    size_t start = (size_t)cursor_peek_u8(&t, at, &ok1) | (size_t)cursor_peek_u8(&t, at + 1, &ok2)
                                                              << 8;
    if (!ok1 || !ok2) return 0;
    size_t end = total;
    if (i + 1 < count) {
        end = (size_t)cursor_peek_u8(&t, at + 2, &ok1) | (size_t)cursor_peek_u8(&t, at + 3, &ok2)
                                                             << 8;
        if (!ok1 || !ok2) return 0;
    }
    if (start < 2 + 2 * (size_t)count || start > total) return 0;
    if (end < start || end > total)
        end = total; /* a bad next offset is that entry's problem; this one runs to the end */
    cursor_skip(&t, start);
    *out = cursor_sub(&t, end - start);
    return !t.err;
}

/* A Multiple Service Packet's service count, on its event, which goes out now (before
 * the embedded services' events); 0 when the services cannot be read: truncated, or
 * nested too deep. */
static int msp_header(struct event *e, struct event_sink *sink, struct cursor *d, int depth,
                      uint16_t *count)
{
    *count = cursor_u16le(d);
    if (d->err) {
        event_anomaly(e, "cip.truncated");
        event_emit(sink, e);
        return 0;
    }
    ev_uint(e, "count", *count);
    if (depth + 1 >= CIP_MAX_DEPTH) {
        event_anomaly(e, "cip.too_deep");
        event_emit(sink, e);
        return 0;
    }
    event_emit(sink, e);
    return 1;
}

static void parse_msp_children(struct cip_state *st, struct cursor *d0, unsigned count,
                               const struct cip_msg_ctx *ctx, struct event_sink *sink, int depth,
                               struct cip_pending *col, enum role child_role,
                               const struct cip_pending *pend, int response)
{
    for (unsigned i = 0; i < count; i++) {
        struct cursor m;
        if (i == CIP_MSP_EVENTS_MAX) {
            struct event *e = event_begin(sink, "cip", response ? EV_DIR_RESPONSE : EV_DIR_REQUEST);
            event_op(e, "multiple_service");
            ctx_fields(e, ctx, "multiple_service", (int)i);
            ev_uint(e, "count", count);
            event_anomaly(e, "cip.too_many_services");
            event_emit(sink, e);
            return;
        }
        if (!msp_slice(d0, count, i, &m)) {
            struct event *e = event_begin(sink, "cip", response ? EV_DIR_RESPONSE : EV_DIR_REQUEST);
            event_op(e, "multiple_service");
            ctx_fields(e, ctx, "multiple_service", (int)i);
            event_anomaly(e, "cip.bad_msp");
            event_emit(sink, e);
            return;
        }
        const struct cip_req *r = NULL;
        if (pend && i < pend->nmsp && i < CIP_MSP_MAX) r = &pend->msp[i];
        /* a service that turns out to hold no request (cut, or a reply byte) leaves an
         * empty one: its reply must not pair with what the stack held there */
        if (col && child_role == ROLE_MSP_CHILD && i < CIP_MSP_MAX)
            memset(&col->msp[i], 0, sizeof(col->msp[i]));
        parse_msg(st, &m, ctx, sink, depth + 1, "multiple_service", (int)i, col, child_role, r,
                  NULL);
    }
}

static void parse_request(struct cip_state *st, uint8_t service, struct cursor *c,
                          const struct cip_msg_ctx *ctx, struct event_sink *sink, int depth,
                          const char *via, int index, struct cip_pending *col, enum role role)
{
    size_t path_words = cursor_u8(c);
    struct cursor pc = cursor_sub(c, path_words * 2);
    struct cip_path path;
    memset(&path, 0, sizeof(path));
    int path_trunc = c->err != CURSOR_OK;
    path_parse(&pc, &path);
    struct cursor d = cursor_rest(c);

    struct event *e = event_begin(sink, "cip", EV_DIR_REQUEST);
    event_code(e, service, service_op(service, path.has_class, path.class_id, path.symbolic));
    ev_uint(e, "service", service);
    ev_cstr(e, "service_name",
            cip_service_name(service, path.has_class, path.class_id, path.symbolic));
    path_fields(e, &path);
    ctx_fields(e, ctx, via, index);
    if (path_trunc)
        event_anomaly(e, "cip.truncated");
    else if (path.bad)
        event_anomaly(e, "cip.bad_path");

    struct cip_req me;
    req_from_path(&me, service, &path);
    if (role == ROLE_TOP && col) {
        col->req = me;
        col->nmsp = 0;
    } else if (role == ROLE_MSP_CHILD && col && index >= 0 && index < CIP_MSP_MAX) {
        col->msp[index] = me;
        if (col->nmsp < index + 1) col->nmsp = (uint8_t)(index + 1);
    }

    int cm = path.has_class && path.class_id == CIP_CLASS_CM;
    if (service == 0x0A) {
        struct cursor d0 = d;
        uint16_t count;
        if (!msp_header(e, sink, &d, depth, &count)) return;
        parse_msp_children(st, &d0, count, ctx, sink, depth, col,
                           role == ROLE_TOP ? ROLE_MSP_CHILD : ROLE_NONE, NULL, 0);
        return;
    }
    if (service == 0x52 && cm) {
        uint8_t prio_tick = cursor_u8(&d);
        uint8_t ticks = cursor_u8(&d);
        size_t msg_len = cursor_u16le(&d);
        struct cursor m = cursor_sub(&d, msg_len);
        int trunc = d.err != CURSOR_OK;
        if (msg_len & 1) cursor_skip(&d, 1);
        size_t route_words = cursor_u8(&d);
        cursor_skip(&d, 1);
        struct cursor rc = cursor_sub(&d, route_words * 2);
        struct cip_path route;
        memset(&route, 0, sizeof(route));
        path_parse(&rc, &route);
        if (!trunc) {
            ev_uint(e, "timeout_ms", (uint64_t)ticks << (prio_tick & 0x0F));
            if (route.route_len) ev_str(e, "route", route.route, route.route_len);
        }
        if (trunc || cursor_left(&m) == 0) event_anomaly(e, "cip.truncated");
        if (depth + 1 >= CIP_MAX_DEPTH) {
            event_anomaly(e, "cip.too_deep");
            event_emit(sink, e);
            return;
        }
        event_emit(sink, e);
        if (cursor_left(&m))
            parse_msg(st, &m, ctx, sink, depth + 1, "unconnected_send", -1, col,
                      role == ROLE_TOP ? ROLE_TOP : ROLE_NONE, NULL, NULL);
        return;
    }
    file_request(st, e, sink, service, &path, d);
    request_data(e, service, &path, &d);
    event_emit(sink, e);
}

static void parse_response(struct cip_state *st, uint8_t service, struct cursor *c,
                           const struct cip_msg_ctx *ctx, struct event_sink *sink, int depth,
                           const char *via, int index, const struct cip_req *req,
                           const struct cip_pending *pend)
{
    cursor_u8(c); /* reserved */
    uint8_t status = cursor_u8(c);
    size_t ext_words = cursor_u8(c);
    struct cursor ext = cursor_sub(c, ext_words * 2);
    int trunc = c->err != CURSOR_OK;
    struct cursor d = cursor_rest(c);

    if (req && req->service != service) req = NULL; /* e.g. an Unconnected Send's own error reply */
    struct event *e = event_begin(sink, "cip", EV_DIR_RESPONSE);
    /* What the reply answers: the paired request, else a guess from the service.
     * Connection Manager services are answered at the top level; tag services are
     * what Rockwell packs into a Multiple Service Packet. */
    int has_class = 0, symbolic = 0;
    uint32_t class_id = 0;
    if (req) {
        has_class = req->has_class;
        class_id = req->class_id;
        symbolic = req->tag_len > 0;
    } else if (service >= 0x4C && service <= 0x53 && depth > 0) {
        symbolic = 1;
    } else if (service == 0x54 || service == 0x5B || service == 0x52 || service == 0x4E) {
        has_class = 1;
        class_id = CIP_CLASS_CM;
    }
    event_code(e, service, service_op(service, has_class, class_id, symbolic));
    ev_uint(e, "service", service | 0x80u);
    ev_cstr(e, "service_name", cip_service_name(service, has_class, class_id, symbolic));
    ev_uint(e, "status", status);
    ev_cstr(e, "status_name", cip_status_name(status));
    if (ext_words && cursor_left(&ext) >= 2) ev_uint(e, "ext_status", cursor_u16le(&ext));
    if (req) {
        if (req->has_class) ev_uint(e, "class", req->class_id);
        if (req->has_instance) ev_uint(e, "instance", req->instance);
        if (req->has_attribute) ev_uint(e, "attribute", req->attribute);
        if (req->tag_len)
            ev_str(e, "tag", req->tag, req->tag_len < CIP_TAG_MAX ? req->tag_len : CIP_TAG_MAX);
    }
    if (pend && depth == 0 && ctx->ts_us >= pend->ts_us)
        ev_uint(e, "latency_us", ctx->ts_us - pend->ts_us);
    ctx_fields(e, ctx, via, index);
    if (trunc) {
        event_anomaly(e, "cip.truncated");
        event_emit(sink, e);
        return;
    }
    if (service == 0x0A && (status == 0x00 || status == 0x1E)) {
        struct cursor d0 = d;
        uint16_t count;
        if (!msp_header(e, sink, &d, depth, &count)) return;
        /* the embedded requests were remembered only for a top-level packet */
        const struct cip_pending *inner = req ? pend : NULL;
        parse_msp_children(st, &d0, count, ctx, sink, depth, NULL, ROLE_NONE, inner, 1);
        return;
    }
    file_response(st, e, sink, service, status, req, d);
    response_data(e, service, status, req, &d);
    event_emit(sink, e);
}

static void parse_msg(struct cip_state *st, struct cursor *c, const struct cip_msg_ctx *ctx,
                      struct event_sink *sink, int depth, const char *via, int index,
                      struct cip_pending *col, enum role role, const struct cip_req *req,
                      const struct cip_pending *pend)
{
    uint8_t sc = cursor_u8(c);
    if (c->err) {
        struct event *e = event_begin(sink, "cip", EV_DIR_NONE);
        event_op(e, "truncated");
        ctx_fields(e, ctx, via, index);
        event_anomaly(e, "cip.truncated");
        event_emit(sink, e);
        return;
    }
    if (sc & 0x80)
        parse_response(st, sc & 0x7F, c, ctx, sink, depth, via, index, req, pend);
    else
        parse_request(st, sc, c, ctx, sink, depth, via, index, col, role);
}

/* ---- pairing ---------------------------------------------------------- */

static struct cip_pending *pending_slot(struct cip_state *st)
{
    struct cip_pending *victim = &st->pending[0];
    for (unsigned i = 0; i < CIP_PENDING_MAX; i++) {
        if (!st->pending[i].used) return &st->pending[i];
        if (st->pending[i].age < victim->age) victim = &st->pending[i];
    }
    return victim; /* the oldest: its response is presumably lost */
}

static struct cip_pending *pending_find(struct cip_state *st, const struct cip_msg_ctx *ctx)
{
    struct cip_pending *best = NULL;
    for (unsigned i = 0; i < CIP_PENDING_MAX; i++) {
        struct cip_pending *p = &st->pending[i];
        if (p->used && p->kind == ctx->key_kind && memcmp(p->key, ctx->key, 8) == 0 &&
            (!best || p->age < best->age))
            best = p;
    }
    return best;
}

void cip_parse(struct cip_state *st, struct cursor *c, const struct cip_msg_ctx *ctx,
               struct event_sink *sink)
{
    int ok = 1;
    uint8_t first = cursor_peek_u8(c, 0, &ok);
    if (ok && !(first & 0x80)) {
        /* A request: remember what it addresses so its response can say. */
        struct cip_pending col;
        memset(&col.req, 0, sizeof(col.req));
        col.nmsp = 0;
        parse_msg(st, c, ctx, sink, 0, NULL, -1, &col, ROLE_TOP, NULL, NULL);
        if (ctx->key_kind == CIP_KEY_NONE || !st) return;
        struct cip_pending *slot = pending_slot(st);
        slot->req = col.req;
        slot->nmsp = col.nmsp;
        memcpy(slot->msp, col.msp, sizeof(col.msp[0]) * col.nmsp);
        slot->used = 1;
        slot->kind = ctx->key_kind;
        memcpy(slot->key, ctx->key, 8);
        slot->ts_us = ctx->ts_us;
        slot->age = ++st->counter;
        return;
    }
    struct cip_pending *p =
        st && ok && ctx->key_kind != CIP_KEY_NONE ? pending_find(st, ctx) : NULL;
    if (p) {
        struct cip_pending copy = *p; /* parsing below cannot touch st->pending, but be plain */
        p->used = 0;
        parse_msg(st, c, ctx, sink, 0, NULL, -1, NULL, ROLE_NONE, &copy.req, &copy);
    } else {
        parse_msg(st, c, ctx, sink, 0, NULL, -1, NULL, ROLE_NONE, NULL, NULL);
    }
}
