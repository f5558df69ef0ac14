/* bacnet.c - BACnet/IP dissector (BVLC, NPDU, APDU and the common services).
 *
 * One datagram per event. ASHRAE 135 Annex J (BVLC), clause 6 (NPDU), 20 (APDU):
 *
 *   BVLC  +------+------+---------+------------------------------+
 *         | 0x81 | func | length  | func data / NPDU              |
 *         +------+------+---------+------------------------------+
 *          length covers the whole BVLC message. Forwarded-NPDU (0x04) puts
 *          the original source B/IP address (4 + 2 bytes) before the NPDU.
 *   NPDU  | ver 1 | control | [DNET DLEN DADR] | [SNET SLEN SADR] | [hops] |
 *          control: 0x80 network-layer message, 0x20 DNET, 0x08 SNET,
 *          0x04 expecting reply, 0x03 priority. A network message has a
 *          type byte (and a vendor id for types >= 0x80); else an APDU follows.
 *   APDU  | type<<4 | flags | ... : 0 Confirmed-Request (SEG MOR SA; max segs/
 *          max APDU; invoke id; [seq, window]; service), 1 Unconfirmed-Request
 *          (service), 2 SimpleACK (invoke, service), 3 ComplexACK (SEG MOR;
 *          invoke; [seq, window]; service), 4 SegmentACK (NAK SRV; invoke, seq,
 *          window), 5 Error (invoke, service, class, code), 6 Reject (invoke,
 *          reason), 7 Abort (SRV; invoke, reason).
 *   Tags  | number(4) | class(1) | LVT(3) | [ext number] [ext length] value |
 *          number 15: the next byte is the number; LVT 5: the next byte is the
 *          length (254: next 2 bytes, 255: next 4); LVT 6/7 with the context
 *          class are opening/closing tags; application Boolean keeps its value
 *          in LVT.
 *
 * Choices worth knowing:
 * - `code` is the service choice of Confirmed-Request, Unconfirmed-Request,
 *   SimpleACK, ComplexACK (every segment) and Error PDUs (tshark's
 *   bacapp.confirmed_service / bacapp.unconfirmed_service); Reject, Abort,
 *   SegmentACK, network-layer messages and BVLC-only messages have none.
 * - Service bodies are decoded only when the APDU is not segmented: a segment
 *   carries a slice of an encoding we would need to reassemble.
 * - A BVLC length that disagrees with the datagram is bacnet.bad_bvlc_length; the
 *   message is still parsed over the whole datagram (devices in the wild send
 *   a fixed wrong length, with data before and after it).
 * - Passwords (ReinitializeDevice, DeviceCommunicationControl) are reported
 *   as present or absent only; their bytes never enter an event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "object.h"
#include "pending.h"

#define BACNET_PORT     47808
#define BVLC_TYPE_BIP   0x81
#define BVLC_HDR        4
#define BACNET_MAX_PDU  1497 /* largest BVLC message over Ethernet (Annex J) */
#define BAC_MAX_ENTRIES 16   /* BDT/FDT entries and list items kept per event */
#define BAC_MAX_DEPTH   16   /* nested opening tags we follow when skipping */
#define BAC_MAX_PENDING 32   /* confirmed requests awaiting an answer, per flow */

static const char *const bacnet_anomalies[] = {
    "bacnet.bad_bvlc_type",
    "bacnet.bad_bvlc_function",
    "bacnet.bad_bvlc_length",
    "bacnet.bad_npdu",
    "bacnet.truncated_npdu",
    "bacnet.truncated_apdu",
    "bacnet.bad_apdu_type",
    "bacnet.bad_tag",
    "bacnet.unknown_service",
    "bacnet.missing_apdu",
    NULL,
};

/* ---- names ---- */

static const char *bvlc_func_name(uint8_t f)
{
    switch (f) {
    case 0x00: return "bvlc_result";
    case 0x01: return "write_bdt";
    case 0x02: return "read_bdt";
    case 0x03: return "read_bdt_ack";
    case 0x04: return "forwarded_npdu";
    case 0x05: return "register_foreign_device";
    case 0x06: return "read_fdt";
    case 0x07: return "read_fdt_ack";
    case 0x08: return "delete_fdt_entry";
    case 0x09: return "distribute_broadcast_to_network";
    case 0x0A: return "original_unicast_npdu";
    case 0x0B: return "original_broadcast_npdu";
    case 0x0C: return "secure_bvll";
    default: return NULL;
    }
}

static const char *bac_confirmed_name(uint8_t s)
{
    static const char *const names[] = {
        "acknowledge_alarm",
        "confirmed_cov_notification",
        "confirmed_event_notification",
        "get_alarm_summary",
        "get_enrollment_summary",
        "subscribe_cov",
        "atomic_read_file",
        "atomic_write_file",
        "add_list_element",
        "remove_list_element",
        "create_object",
        "delete_object",
        "read_property",
        "read_property_conditional",
        "read_property_multiple",
        "write_property",
        "write_property_multiple",
        "device_communication_control",
        "confirmed_private_transfer",
        "confirmed_text_message",
        "reinitialize_device",
        "vt_open",
        "vt_close",
        "vt_data",
        "authenticate",
        "request_key",
        "read_range",
        "life_safety_operation",
        "subscribe_cov_property",
        "get_event_information",
        "subscribe_cov_property_multiple",
        "confirmed_cov_notification_multiple",
        "confirmed_audit_notification",
        "audit_log_query",
    };
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

static const char *bac_unconfirmed_name(uint8_t s)
{
    static const char *const names[] = {
        "i_am",
        "i_have",
        "unconfirmed_cov_notification",
        "unconfirmed_event_notification",
        "unconfirmed_private_transfer",
        "unconfirmed_text_message",
        "time_synchronization",
        "who_has",
        "who_is",
        "utc_time_synchronization",
        "write_group",
        "unconfirmed_cov_notification_multiple",
        "unconfirmed_audit_notification",
        "who_am_i",
        "you_are",
    };
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/* Taxonomy op (bacnet_* ids) for a confirmed service, else its own name. */
static const char *bac_confirmed_op(uint8_t s)
{
    switch (s) {
    case 6: return "atomic_read_file";
    case 7: return "atomic_write_file";
    case 8:
    case 9: return "list_element_change";
    case 10:
    case 11: return "create_delete_object";
    case 15:
    case 16: return "write_property";
    case 17: return "device_comm_control";
    case 18: return "private_transfer";
    case 20: return "reinitialize_device";
    default: return bac_confirmed_name(s);
    }
}

static const char *bac_unconfirmed_op(uint8_t s)
{
    switch (s) {
    case 0: return "i_am";
    case 1:
    case 7: return "who_has";
    case 4: return "private_transfer";
    case 6:
    case 9: return "time_sync";
    case 8: return "who_is";
    default: return bac_unconfirmed_name(s);
    }
}

static const char *bac_nl_name(uint8_t t)
{
    static const char *const names[] = {
        "who_is_router_to_network",
        "i_am_router_to_network",
        "i_could_be_router_to_network",
        "reject_message_to_network",
        "router_busy_to_network",
        "router_available_to_network",
        "initialize_routing_table",
        "initialize_routing_table_ack",
        "establish_connection_to_network",
        "disconnect_connection_to_network",
        "challenge_request",
        "security_payload",
        "security_response",
        "request_key_update",
        "update_key_set",
        "update_distribution_key",
        "request_master_key",
        "set_master_key",
        "what_is_network_number",
        "network_number_is",
    };
    if (t >= 0x80) return "proprietary_network_message";
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "reserved_network_message";
}

static const char *bac_pdu_type_name(uint8_t t)
{
    static const char *const names[] = {"confirmed_request",
                                        "unconfirmed_request",
                                        "simple_ack",
                                        "complex_ack",
                                        "segment_ack",
                                        "error",
                                        "reject",
                                        "abort"};
    return t < 8 ? names[t] : NULL;
}

/* ---- tags ---- */

enum bac_tag_kind { BT_VALUE, BT_OPEN, BT_CLOSE };

struct bac_tag {
    uint32_t number;
    uint8_t ctx;       /* 1: context class */
    uint8_t kind;      /* enum bac_tag_kind */
    uint32_t len;      /* value length (BT_VALUE) */
    uint8_t lvt;       /* raw LVT: the value of an application Boolean */
    struct cursor val; /* the value bytes (BT_VALUE) */
};

/* Reads one tag and its value span. Returns 0 on a bad or truncated tag. */
static int bac_tag_read(struct cursor *c, struct bac_tag *t)
{
    memset(t, 0, sizeof(*t));
    uint8_t b = cursor_u8(c);
    if (c->err) return 0;
    t->number = b >> 4;
    t->ctx = (b >> 3) & 1;
    t->lvt = b & 7;
    if (t->number == 15) {
        t->number = cursor_u8(c);
        if (c->err) return 0;
    }
    if (t->ctx && t->lvt == 6) {
        t->kind = BT_OPEN;
        return 1;
    }
    if (t->ctx && t->lvt == 7) {
        t->kind = BT_CLOSE;
        return 1;
    }
    if (!t->ctx && t->number == 1) { /* application Boolean: value in LVT */
        t->val = cursor_sub(c, 0);
        return !c->err;
    }
    uint32_t len = t->lvt;
    if (len == 5) {
        len = cursor_u8(c);
        if (len == 254)
            len = cursor_u16be(c);
        else if (len == 255)
            len = cursor_u32be(c);
    }
    if (c->err) return 0;
    if (len > cursor_left(c)) {
        cursor_fail(c, CURSOR_TRUNCATED);
        return 0;
    }
    t->len = len;
    t->val = cursor_sub(c, len);
    return 1;
}

/* Unsigned of 1..4 bytes (5..8 are kept modulo 2^64 as read). */
static uint64_t bac_unsigned(struct bac_tag *t)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < t->len && i < 8; i++)
        v = v << 8 | cursor_u8(&t->val);
    return v;
}

static int64_t bac_signed(struct bac_tag *t)
{
    if (t->len == 0 || t->len > 8) return 0;
    uint64_t v = bac_unsigned(t);
    unsigned bits = t->len * 8u;
    if (bits < 64 && (v >> (bits - 1)) & 1) v |= ~0ull << bits;
    return (int64_t)v;
}

/* AtomicWriteFile data gathered for YARA: consecutive writes to one file, in
 * one direction, each at the position where the last ended (stream access: the
 * byte offset; record access: the record number), are one object. BACnet marks
 * no last write, so another file, a write elsewhere or the flow's end
 * (bacnet_end) ends it. A malformed or cut request adds nothing. */
struct bac_frun {
    struct ots_object obj;
    uint32_t file;
    uint64_t next; /* start of the write that would continue the run */
    uint8_t rec, to_server;
};

/* Walks a tagged sequence state: where it failed is reported once. */
struct bac_svc {
    struct event *e;
    struct cursor *c;
    int bad;                 /* a tag was malformed or out of place */
    int truncated;           /* the data ended inside a tag */
    struct event_sink *sink; /* for file data objects (requests only), or NULL */
    struct bac_frun *run;
};

static int bac_next(struct bac_svc *s, struct bac_tag *t)
{
    if (cursor_left(s->c) == 0) return 0;
    if (!bac_tag_read(s->c, t)) {
        if (s->c->err == CURSOR_TRUNCATED)
            s->truncated = 1;
        else
            s->bad = 1;
        return 0;
    }
    return 1;
}

/* Looks at the next tag without moving; a bad or cut tag is noted. */
static int bac_peek(struct bac_svc *s, struct bac_tag *t)
{
    struct cursor p = *s->c;
    if (cursor_left(&p) == 0) return 0;
    if (!bac_tag_read(&p, t)) {
        if (p.err == CURSOR_TRUNCATED)
            s->truncated = 1;
        else
            s->bad = 1;
        return 0;
    }
    return 1;
}

/* True if the next tag is context tag n (value, or opening when open). */
static int bac_is_ctx(struct bac_svc *s, uint32_t n, int open)
{
    struct bac_tag t;
    if (!bac_peek(s, &t)) return 0;
    return t.ctx && t.number == n && t.kind == (open ? BT_OPEN : BT_VALUE);
}

static int bac_is_app(struct bac_svc *s, uint32_t n)
{
    struct bac_tag t;
    if (!bac_peek(s, &t)) return 0;
    return !t.ctx && t.number == n && t.kind == BT_VALUE;
}

/* Reads context tag n with an unsigned/enumerated value; 0 if not there. */
static int bac_ctx_uint(struct bac_svc *s, uint32_t n, uint64_t *v)
{
    struct bac_tag t;
    if (!bac_is_ctx(s, n, 0)) return 0;
    if (!bac_next(s, &t)) return 0;
    if (t.len == 0 || t.len > 8) s->bad = 1;
    *v = bac_unsigned(&t);
    return 1;
}

/* Reads application tag n; 0 if not there. */
static int bac_app(struct bac_svc *s, uint32_t n, struct bac_tag *t)
{
    if (!bac_is_app(s, n)) return 0;
    return bac_next(s, t);
}

/* Skips a value: one tag, or an opening tag through its matching closing tag. */
static void bac_skip_value(struct bac_svc *s)
{
    struct bac_tag t;
    int depth = 0;
    do {
        if (!bac_next(s, &t)) {
            if (depth && !s->bad) s->truncated = 1;
            return;
        }
        if (t.kind == BT_OPEN) {
            if (++depth > BAC_MAX_DEPTH) {
                s->bad = 1;
                return;
            }
        } else if (t.kind == BT_CLOSE) {
            if (depth == 0) {
                s->bad = 1;
                return;
            }
            depth--;
        }
    } while (depth > 0);
}

static int bac_closing(struct bac_svc *s, uint32_t n)
{
    struct bac_tag t;
    if (!bac_peek(s, &t) || !t.ctx || t.kind != BT_CLOSE || t.number != n) return 0;
    return bac_next(s, &t);
}

static void bac_object_id(struct event *e, const char *key, uint32_t v)
{
    ev_obj_begin(e, key);
    ev_uint(e, "type", v >> 22);
    ev_uint(e, "instance", v & 0x3FFFFFu);
    ev_end(e);
}

/* Context tag n holding a 4-byte object identifier. */
static int bac_ctx_object(struct bac_svc *s, uint32_t n, const char *key, uint32_t *out)
{
    struct bac_tag t;
    if (!bac_is_ctx(s, n, 0)) return 0;
    if (!bac_next(s, &t)) return 0;
    if (t.len != 4) s->bad = 1;
    uint32_t v = (uint32_t)bac_unsigned(&t);
    bac_object_id(s->e, key, v);
    if (out) *out = v;
    return 1;
}

static int bac_app_object(struct bac_svc *s, const char *key, uint32_t *out)
{
    struct bac_tag t;
    if (!bac_app(s, 12, &t)) return 0;
    if (t.len != 4) s->bad = 1;
    uint32_t v = (uint32_t)bac_unsigned(&t);
    bac_object_id(s->e, key, v);
    if (out) *out = v;
    return 1;
}

/* A character string (first byte: character set); text kept when UTF-8/ANSI. */
static void bac_charstring(struct bac_svc *s, struct bac_tag *t, const char *key)
{
    uint8_t set = cursor_u8(&t->val);
    if (t->val.err) {
        s->bad = 1;
        return;
    }
    size_t n = cursor_left(&t->val);
    const uint8_t *p = cursor_take(&t->val, n);
    if (set == 0)
        ev_str(s->e, key, p, n);
    else
        ev_hex(s->e, key, p, n);
}

/* Property reference: ctx 0/1 property id, optional array index (ReadProperty
 * and WriteProperty use tags base, base + 1). */
static void bac_property(struct bac_svc *s, uint32_t ptag)
{
    uint64_t v;
    if (bac_ctx_uint(s, ptag, &v))
        ev_uint(s->e, "property", v);
    else
        s->bad = 1;
    if (bac_ctx_uint(s, ptag + 1, &v)) ev_uint(s->e, "array_index", v);
}

/* ---- services ---- */

/* Who-Is: optional device instance range. */
static void bac_who_is(struct bac_svc *s)
{
    uint64_t lo, hi;
    if (bac_ctx_uint(s, 0, &lo)) ev_uint(s->e, "low_limit", lo);
    if (bac_ctx_uint(s, 1, &hi)) ev_uint(s->e, "high_limit", hi);
}

/* I-Am: the device's identity, for the asset inventory. */
static void bac_i_am(struct bac_svc *s)
{
    struct bac_tag t;
    uint32_t dev = 0;
    ev_obj_begin(s->e, "identity");
    if (!bac_app_object(s, "device", &dev)) {
        s->bad = 1;
    } else {
        ev_uint(s->e, "device_instance", dev & 0x3FFFFFu);
        if (bac_app(s, 2, &t))
            ev_uint(s->e, "max_apdu", bac_unsigned(&t));
        else
            s->bad = 1;
        if (bac_app(s, 9, &t))
            ev_uint(s->e, "segmentation", bac_unsigned(&t));
        else
            s->bad = 1;
        if (bac_app(s, 2, &t))
            ev_uint(s->e, "vendor_id", bac_unsigned(&t));
        else
            s->bad = 1;
    }
    ev_end(s->e);
}

static void bac_who_has(struct bac_svc *s)
{
    uint64_t v;
    struct bac_tag t;
    if (bac_ctx_uint(s, 0, &v)) ev_uint(s->e, "low_limit", v);
    if (bac_ctx_uint(s, 1, &v)) ev_uint(s->e, "high_limit", v);
    if (bac_ctx_object(s, 2, "object", NULL)) return;
    if (bac_is_ctx(s, 3, 0) && bac_next(s, &t)) {
        bac_charstring(s, &t, "object_name");
        return;
    }
    s->bad = 1;
}

static void bac_i_have(struct bac_svc *s)
{
    struct bac_tag t;
    if (!bac_app_object(s, "device", NULL) || !bac_app_object(s, "object", NULL)) {
        s->bad = 1;
        return;
    }
    if (bac_app(s, 7, &t))
        bac_charstring(s, &t, "object_name");
    else
        s->bad = 1;
}

/* ReadProperty request and ACK, WriteProperty request. */
/* One primitive application value as a typed field (`value`, `value_type`). */
static void bac_primitive(struct bac_svc *s, struct bac_tag *v)
{
    struct event *e = s->e;
    switch (v->number) {
    case 0: ev_cstr(e, "value_type", "null"); break;
    case 1:
        ev_cstr(e, "value_type", "boolean");
        ev_bool(e, "value", v->lvt != 0);
        break;
    case 2:
    case 9:
        ev_cstr(e, "value_type", v->number == 2 ? "unsigned" : "enumerated");
        if (v->len >= 1 && v->len <= 8) ev_uint(e, "value", bac_unsigned(v));
        break;
    case 3:
        ev_cstr(e, "value_type", "signed");
        if (v->len >= 1 && v->len <= 8) ev_int(e, "value", bac_signed(v));
        break;
    case 4: {
        ev_cstr(e, "value_type", "real");
        if (v->len != 4) break;
        uint32_t bits = cursor_u32be(&v->val);
        float f;
        memcpy(&f, &bits, sizeof(f));
        ev_double(e, "value", (double)f);
        break;
    }
    case 5: {
        ev_cstr(e, "value_type", "double");
        if (v->len != 8) break;
        uint64_t bits = cursor_u64be(&v->val);
        double d;
        memcpy(&d, &bits, sizeof(d));
        ev_double(e, "value", d);
        break;
    }
    case 7: bac_charstring(s, v, "value"); break;
    case 12:
        if (v->len == 4) bac_object_id(e, "value", (uint32_t)bac_unsigned(v));
        break;
    default: ev_uint(e, "value_tag", v->number); break;
    }
}

/* The value enclosed in opening/closing tag n: a single primitive is reported,
 * anything else (lists, constructed values) is skipped. */
static int bac_enclosed_value(struct bac_svc *s, uint32_t n)
{
    struct bac_tag t;
    if (!bac_is_ctx(s, n, 1) || !bac_next(s, &t)) return 0;
    struct bac_tag v;
    if (bac_peek(s, &v) && !v.ctx && v.kind == BT_VALUE) {
        struct cursor before = *s->c;
        bac_next(s, &v);
        if (bac_closing(s, n)) {
            bac_primitive(s, &v);
            return 1;
        }
        *s->c = before;
    }
    /* skip to the closing tag that matches, nesting bounded */
    int depth = 0;
    for (;;) {
        if (!bac_next(s, &t)) {
            if (!s->bad) s->truncated = 1;
            return 1;
        }
        if (t.kind == BT_OPEN && ++depth > BAC_MAX_DEPTH) {
            s->bad = 1;
            return 1;
        }
        if (t.kind == BT_CLOSE) {
            if (depth == 0) {
                if (t.number != n) s->bad = 1;
                return 1;
            }
            depth--;
        }
    }
}

static void bac_rw_property(struct bac_svc *s, int with_value, int write)
{
    if (!bac_ctx_object(s, 0, "object", NULL)) {
        s->bad = 1;
        return;
    }
    bac_property(s, 1);
    if (!with_value) return;
    if (!bac_enclosed_value(s, 3)) {
        s->bad = 1;
        return;
    }
    uint64_t prio;
    if (write && bac_ctx_uint(s, 4, &prio)) {
        ev_uint(s->e, "priority", prio);
        if (prio < 1 || prio > 16) s->bad = 1;
    }
}

/* ReadPropertyMultiple / WritePropertyMultiple: counts and the first object.
 * req: (ctx0 object, ctx1 { properties }) ...; ack: (ctx0 object, ctx1 { results }). */
static void bac_multiple(struct bac_svc *s)
{
    unsigned objects = 0, props = 0;
    while (cursor_left(s->c) > 0 && !s->bad && !s->truncated) {
        struct bac_tag ot;
        if (objects == 0) {
            if (!bac_ctx_object(s, 0, "object", NULL)) {
                s->bad = 1;
                break;
            }
        } else if (!bac_is_ctx(s, 0, 0) || !bac_next(s, &ot)) {
            s->bad = 1;
            break;
        }
        objects++;
        struct bac_tag t;
        if (!bac_is_ctx(s, 1, 1) || !bac_next(s, &t)) {
            s->bad = 1;
            break;
        }
        /* inside: property ids (context 0 request / 2 ack) and enclosed values */
        for (unsigned guard = 0; guard < 4096; guard++) {
            if (bac_closing(s, 1)) break;
            struct bac_tag in;
            if (!bac_peek(s, &in)) {
                s->truncated |= !s->bad;
                break;
            }
            if (in.kind == BT_OPEN) {
                bac_skip_value(s);
            } else if (in.kind == BT_CLOSE) {
                s->bad = 1;
                break;
            } else {
                if (!bac_next(s, &in)) break;
                if (in.ctx && (in.number == 0 || in.number == 2)) props++;
            }
            if (s->bad || s->truncated) break;
        }
    }
    ev_uint(s->e, "object_count", objects);
    ev_uint(s->e, "property_count", props);
}

/* A password parameter: report presence, never the bytes. */
static void bac_password(struct bac_svc *s, uint32_t n)
{
    struct bac_tag t;
    int present = bac_is_ctx(s, n, 0) && bac_next(s, &t);
    ev_bool(s->e, "password_present", present);
}

static void bac_reinitialize(struct bac_svc *s)
{
    uint64_t state;
    if (bac_ctx_uint(s, 0, &state))
        ev_uint(s->e, "state", state);
    else
        s->bad = 1;
    bac_password(s, 1);
}

static void bac_dcc(struct bac_svc *s)
{
    uint64_t v;
    if (bac_ctx_uint(s, 0, &v)) ev_uint(s->e, "duration_min", v);
    if (bac_ctx_uint(s, 1, &v))
        ev_uint(s->e, "enable_disable", v);
    else
        s->bad = 1;
    bac_password(s, 2);
}

/* One well-formed AtomicWriteFile request's data (w: at its first octet
 * string) joins the run, or ends it and starts the next. */
static void bac_file_piece(struct bac_svc *s, uint32_t file, int rec, int64_t start,
                           struct cursor w)
{
    struct bac_frun *r = s->run;
    int to_server = s->sink->net.to_server != 0;
    if (!object_active(&r->obj) || r->file != file || r->rec != rec || r->to_server != to_server ||
        r->next != (uint64_t)start) {
        char name[24], v[24];
        object_end(&r->obj, s->sink, r->to_server);
        snprintf(name, sizeof(name), "file:%u", (unsigned)(file & 0x3FFFFFu));
        object_begin(&r->obj, s->sink, "bacnet", "bacnet.file", name, strlen(name), 0);
        snprintf(v, sizeof(v), "%u", (unsigned)(file & 0x3FFFFFu));
        object_attr(&r->obj, "file", v);
        object_attr(&r->obj, "access", rec ? "record" : "stream");
        snprintf(v, sizeof(v), "%lld", (long long)start);
        object_attr(&r->obj, "start", v);
        r->file = file;
        r->rec = (uint8_t)rec;
        r->to_server = (uint8_t)to_server;
    }
    uint64_t n = 0;
    struct bac_tag t;
    while (cursor_left(&w) && bac_tag_read(&w, &t) && !t.ctx && t.number == 6 &&
           t.kind == BT_VALUE) {
        n += rec ? 1u : t.len;
        object_append(&r->obj, s->sink, &t.val, t.len);
        if (!rec) break;
    }
    r->next = (uint64_t)start + n;
}

/* AtomicReadFile / AtomicWriteFile requests and ACKs. */
static void bac_atomic_file(struct bac_svc *s, int write, int ack)
{
    struct bac_tag t;
    uint32_t file = 0;
    if (ack && !write) { /* read ACK: end-of-file, then the access choice */
        if (bac_app(s, 1, &t))
            ev_bool(s->e, "end_of_file", t.lvt != 0);
        else
            s->bad = 1;
    } else if (!ack) {
        if (!bac_app_object(s, "file", &file)) {
            s->bad = 1;
            return;
        }
    }
    if (ack && write) { /* write ACK: ctx0 start position or ctx1 start record */
        if (bac_is_ctx(s, 0, 0) || bac_is_ctx(s, 1, 0)) {
            int rec = bac_is_ctx(s, 1, 0);
            if (bac_next(s, &t)) {
                ev_cstr(s->e, "access", rec ? "record" : "stream");
                ev_int(s->e, "start", bac_signed(&t));
            }
        } else {
            s->bad = 1;
        }
        return;
    }
    int rec = bac_is_ctx(s, 1, 1);
    if (!rec && !bac_is_ctx(s, 0, 1)) {
        s->bad = 1;
        return;
    }
    bac_next(s, &t); /* opening tag */
    ev_cstr(s->e, "access", rec ? "record" : "stream");
    int64_t start = 0;
    if (bac_app(s, 3, &t))
        ev_int(s->e, "start", start = bac_signed(&t));
    else
        s->bad = 1;
    int gather = write && !ack && s->sink && s->run;
    struct cursor data = *s->c;
    if (!write && !ack) { /* requested count */
        if (bac_app(s, 2, &t))
            ev_uint(s->e, "length", bac_unsigned(&t));
        else
            s->bad = 1;
    } else if (rec) { /* record count, then that many octet strings */
        if (bac_app(s, 2, &t))
            ev_uint(s->e, "length", bac_unsigned(&t));
        else
            s->bad = 1;
        data = *s->c;
        uint64_t bytes = 0;
        while (bac_app(s, 6, &t))
            bytes += t.len;
        ev_uint(s->e, "data_len", bytes);
    } else { /* stream data: its size is the length */
        if (bac_app(s, 6, &t)) {
            ev_uint(s->e, "length", t.len);
        } else {
            s->bad = 1;
        }
    }
    if (!s->bad && !s->truncated && !bac_closing(s, rec ? 1 : 0)) {
        if (cursor_left(s->c) == 0)
            s->truncated = 1;
        else
            s->bad = 1;
    }
    /* a malformed write is not what the device stores */
    if (gather && !s->bad && !s->truncated) bac_file_piece(s, file, rec, start, data);
}

/* TimeSynchronization / UTCTimeSynchronization: application date and time. */
static void bac_time_sync(struct bac_svc *s)
{
    struct bac_tag d, t;
    if (!bac_app(s, 10, &d) || d.len != 4 || !bac_app(s, 11, &t) || t.len != 4) {
        s->bad = 1;
        return;
    }
    uint8_t y = cursor_u8(&d.val), mo = cursor_u8(&d.val), dd = cursor_u8(&d.val);
    uint8_t dow = cursor_u8(&d.val);
    uint8_t h = cursor_u8(&t.val), mi = cursor_u8(&t.val), se = cursor_u8(&t.val);
    uint8_t hs = cursor_u8(&t.val);
    ev_obj_begin(s->e, "time");
    /* 0xFF is "unspecified" in every field */
    if (y != 0xFF) ev_uint(s->e, "year", 1900u + y);
    if (mo != 0xFF) ev_uint(s->e, "month", mo);
    if (dd != 0xFF) ev_uint(s->e, "day", dd);
    if (dow != 0xFF) ev_uint(s->e, "weekday", dow);
    if (h != 0xFF) ev_uint(s->e, "hour", h);
    if (mi != 0xFF) ev_uint(s->e, "minute", mi);
    if (se != 0xFF) ev_uint(s->e, "second", se);
    if (hs != 0xFF) ev_uint(s->e, "hundredths", hs);
    ev_end(s->e);
}

/* Private transfer: vendor and service number. */
static void bac_private_transfer(struct bac_svc *s)
{
    uint64_t v;
    if (bac_ctx_uint(s, 0, &v))
        ev_uint(s->e, "vendor_id", v);
    else
        s->bad = 1;
    if (bac_ctx_uint(s, 1, &v)) ev_uint(s->e, "service_number", v);
}

/* CreateObject (ctx0 { object type ctx0 | object id ctx1 }) and DeleteObject. */
static void bac_create_delete(struct bac_svc *s, int create)
{
    struct bac_tag t;
    if (!create) {
        if (!bac_app_object(s, "object", NULL)) s->bad = 1;
        return;
    }
    if (!bac_is_ctx(s, 0, 1) || !bac_next(s, &t)) {
        s->bad = 1;
        return;
    }
    uint64_t type;
    if (bac_ctx_uint(s, 0, &type))
        ev_uint(s->e, "object_type", type);
    else if (!bac_ctx_object(s, 1, "object", NULL))
        s->bad = 1;
    if (!s->bad && !bac_closing(s, 0)) s->truncated |= cursor_left(s->c) == 0;
}

/* The error in an Error PDU: two application enumerations, possibly inside
 * an opening tag 0 (services whose error type is a sequence). */
static void bac_error(struct bac_svc *s)
{
    struct bac_tag t;
    if (bac_is_ctx(s, 0, 1)) bac_next(s, &t);
    uint64_t cls = 0, code = 0;
    if (bac_app(s, 9, &t))
        cls = bac_unsigned(&t);
    else
        s->bad = 1;
    if (!s->bad && bac_app(s, 9, &t))
        code = bac_unsigned(&t);
    else
        s->bad = 1;
    if (!s->bad) {
        ev_uint(s->e, "error_class", cls);
        ev_uint(s->e, "error_code", code);
    }
}

static void bac_confirmed_body(struct bac_svc *s, uint8_t svc, int ack)
{
    switch (svc) {
    case 6: bac_atomic_file(s, 0, ack); break;
    case 7: bac_atomic_file(s, 1, ack); break;
    case 8:
    case 9:
        if (!ack && bac_ctx_object(s, 0, "object", NULL)) bac_property(s, 1);
        break;
    case 10: bac_create_delete(s, 1); break;
    case 11: bac_create_delete(s, 0); break;
    case 12: bac_rw_property(s, ack, 0); break;
    case 14:
    case 16: bac_multiple(s); break;
    case 15: bac_rw_property(s, 1, 1); break;
    case 17: bac_dcc(s); break;
    case 18: bac_private_transfer(s); break;
    case 20: bac_reinitialize(s); break;
    default: break;
    }
}

static void bac_unconfirmed_body(struct bac_svc *s, uint8_t svc)
{
    switch (svc) {
    case 0: bac_i_am(s); break;
    case 1: bac_i_have(s); break;
    case 4: bac_private_transfer(s); break;
    case 6:
    case 9: bac_time_sync(s); break;
    case 7: bac_who_has(s); break;
    case 8: bac_who_is(s); break;
    default: break;
    }
}

/* ---- APDU ---- */

/* A confirmed request waiting for its answer (its slot's age in bacnet_state.ages). */
struct bac_pending {
    uint64_t ts_us;
    uint8_t invoke;
    uint8_t service;
    uint8_t dir; /* 0: sent to the server side of the flow */
};

_Static_assert(BAC_MAX_PENDING <= PEND_MAX, "pending table too large");

struct bacnet_state {
    struct bac_pending pend[BAC_MAX_PENDING];
    struct pend_ages ages;
    struct bac_frun run; /* AtomicWriteFile data */
};

static void bac_pending_add(struct bacnet_state *st, uint8_t invoke, uint8_t service, int dir,
                            uint64_t ts)
{
    struct bac_pending *slot = &st->pend[pend_take_slot(&st->ages, BAC_MAX_PENDING)];
    slot->invoke = invoke;
    slot->service = service;
    slot->dir = (uint8_t)dir;
    slot->ts_us = ts;
}

/* The oldest request with this invoke id sent the other way; freed if `done`. */
static int bac_pending_find(struct bacnet_state *st, uint8_t invoke, int dir, int done,
                            struct bac_pending *out)
{
    size_t best = PEND_NONE;
    for (size_t i = 0; i < BAC_MAX_PENDING; i++) {
        const struct bac_pending *p = &st->pend[i];
        if (!pend_used(&st->ages, i) || p->invoke != invoke || p->dir == dir) continue;
        if (pend_older(&st->ages, i, best)) best = i;
    }
    if (best == PEND_NONE) return 0;
    *out = st->pend[best];
    if (done) pend_free(&st->ages, best);
    return 1;
}

struct bac_pdu {
    struct event *e;
    const char *op;
    int has_code;
    uint8_t code;
    uint8_t dir;
    struct bacnet_state *st;
    int flow_dir;    /* 0: to the server side */
    uint64_t now_us; /* packet time */
    struct event_sink *sink;
};

/* A reply names the request's service and the latency. */
static void bac_answer(struct bac_pdu *m, uint8_t invoke, int done)
{
    struct bac_pending rq;
    if (!bac_pending_find(m->st, invoke, m->flow_dir, done, &rq)) return;
    ev_uint(m->e, "request_service", rq.service);
    ev_uint(m->e, "latency_us", m->now_us > rq.ts_us ? m->now_us - rq.ts_us : 0);
}

static void bac_service_body(struct bac_pdu *m, struct cursor *c, uint8_t svc, int confirmed,
                             int ack)
{
    struct bac_svc s = {m->e, c, 0, 0, NULL, NULL};
    if (confirmed && !ack) {
        s.sink = m->sink;
        s.run = &m->st->run;
    }
    if (confirmed)
        bac_confirmed_body(&s, svc, ack);
    else
        bac_unconfirmed_body(&s, svc);
    /* a cut PDU also misses what follows the cut: report only the cut */
    if (s.truncated)
        event_anomaly(m->e, "bacnet.truncated_apdu");
    else if (s.bad)
        event_anomaly(m->e, "bacnet.bad_tag");
}

static void bac_service(struct bac_pdu *m, uint8_t svc, int confirmed)
{
    const char *name = confirmed ? bac_confirmed_name(svc) : bac_unconfirmed_name(svc);
    m->has_code = 1;
    m->code = svc;
    ev_uint(m->e, "service", svc);
    if (name) {
        ev_cstr(m->e, "service_name", name);
        m->op = confirmed ? bac_confirmed_op(svc) : bac_unconfirmed_op(svc);
    } else {
        m->op = confirmed ? "unknown_confirmed_service" : "unknown_unconfirmed_service";
        event_anomaly(m->e, "bacnet.unknown_service");
    }
}

static void bac_apdu(struct bac_pdu *m, struct cursor *c)
{
    struct event *e = m->e;
    uint8_t b0 = cursor_u8(c);
    if (c->err) {
        event_anomaly(e, "bacnet.missing_apdu");
        return;
    }
    uint8_t type = b0 >> 4;
    const char *tn = bac_pdu_type_name(type);
    ev_obj_begin(e, "apdu");
    ev_uint(e, "type", type);
    if (tn) ev_cstr(e, "type_name", tn);
    int seg = 0, more = 0;
    uint8_t invoke = 0, seqno = 0;
    switch (type) {
    case 0: { /* Confirmed-Request */
        seg = (b0 >> 3) & 1;
        more = (b0 >> 2) & 1;
        ev_bool(e, "segmented", seg);
        ev_bool(e, "more_follows", more);
        ev_bool(e, "segmented_accepted", (b0 >> 1) & 1);
        uint8_t mx = cursor_u8(c);
        ev_uint(e, "max_segments", (mx >> 4) & 7);
        ev_uint(e, "max_apdu", mx & 15);
        invoke = cursor_u8(c);
        ev_uint(e, "invoke_id", invoke);
        if (seg) {
            seqno = cursor_u8(c);
            ev_uint(e, "sequence", seqno);
            ev_uint(e, "window", cursor_u8(c));
        }
        m->dir = EV_DIR_REQUEST;
        break;
    }
    case 1: m->dir = EV_DIR_REQUEST; break;
    case 2:
    case 5:
        invoke = cursor_u8(c);
        ev_uint(e, "invoke_id", invoke);
        m->dir = EV_DIR_RESPONSE;
        break;
    case 3:
        seg = (b0 >> 3) & 1;
        more = (b0 >> 2) & 1;
        ev_bool(e, "segmented", seg);
        ev_bool(e, "more_follows", more);
        invoke = cursor_u8(c);
        ev_uint(e, "invoke_id", invoke);
        if (seg) {
            seqno = cursor_u8(c);
            ev_uint(e, "sequence", seqno);
            ev_uint(e, "window", cursor_u8(c));
        }
        m->dir = EV_DIR_RESPONSE;
        break;
    case 4:
        ev_bool(e, "nak", (b0 >> 1) & 1);
        ev_bool(e, "server", b0 & 1);
        ev_uint(e, "invoke_id", cursor_u8(c));
        ev_uint(e, "sequence", cursor_u8(c));
        ev_uint(e, "window", cursor_u8(c));
        m->dir = (b0 & 1) ? EV_DIR_RESPONSE : EV_DIR_REQUEST;
        m->op = "segment_ack";
        break;
    case 6:
        invoke = cursor_u8(c);
        ev_uint(e, "invoke_id", invoke);
        ev_uint(e, "reason", cursor_u8(c));
        m->dir = EV_DIR_RESPONSE;
        m->op = "reject";
        break;
    case 7:
        ev_bool(e, "server", b0 & 1);
        invoke = cursor_u8(c);
        ev_uint(e, "invoke_id", invoke);
        ev_uint(e, "reason", cursor_u8(c));
        m->dir = (b0 & 1) ? EV_DIR_RESPONSE : EV_DIR_REQUEST;
        m->op = "abort";
        break;
    default:
        event_anomaly(e, "bacnet.bad_apdu_type");
        m->op = "unknown_apdu";
        ev_end(e);
        return;
    }
    ev_end(e);
    if (type == 4 || type == 6 || type == 7) {
        if (c->err)
            event_anomaly(e, "bacnet.truncated_apdu");
        else if (type == 6 || (type == 7 && (b0 & 1)))
            bac_answer(m, invoke, 1);
        return;
    }
    uint8_t svc = cursor_u8(c);
    if (c->err) {
        event_anomaly(e, "bacnet.truncated_apdu");
        return;
    }
    int confirmed = type != 1;
    bac_service(m, svc, confirmed);
    if (type == 0 && (!seg || seqno == 0))
        bac_pending_add(m->st, invoke, svc, m->flow_dir, m->now_us);
    else if (type == 2 || type == 5 || type == 3)
        bac_answer(m, invoke, !more); /* a segmented answer ends with its last segment */
    if (type == 2) return;            /* SimpleACK: nothing follows */
    if (seg) {
        ev_uint(e, "segment_len", cursor_left(c));
        return;
    }
    if (type == 5) {
        struct bac_svc s = {e, c, 0, 0, NULL, NULL};
        bac_error(&s);
        if (s.truncated)
            event_anomaly(e, "bacnet.truncated_apdu");
        else if (s.bad)
            event_anomaly(e, "bacnet.bad_tag");
        return;
    }
    bac_service_body(m, c, svc, confirmed, type == 3);
}

/* ---- NPDU ---- */

static void bac_address(struct event *e, struct cursor *c, const char *key)
{
    uint16_t net = cursor_u16be(c);
    uint8_t len = cursor_u8(c);
    const uint8_t *a = cursor_take(c, len);
    if (c->err) return;
    ev_obj_begin(e, key);
    ev_uint(e, "network", net);
    if (len)
        ev_hex(e, "address", a, len);
    else
        ev_bool(e, "broadcast", 1);
    ev_end(e);
}

static void bac_network_message(struct bac_pdu *m, struct cursor *c)
{
    struct event *e = m->e;
    uint8_t t = cursor_u8(c);
    if (c->err) {
        event_anomaly(e, "bacnet.truncated_npdu");
        return;
    }
    m->op = bac_nl_name(t);
    m->dir = EV_DIR_INDICATION;
    ev_obj_begin(e, "network_message");
    ev_uint(e, "type", t);
    if (t >= 0x80) ev_uint(e, "vendor_id", cursor_u16be(c));
    switch (t) {
    case 0x00: /* Who-Is-Router: optional network */
    case 0x12:
        if (cursor_left(c) >= 2) ev_uint(e, "network", cursor_u16be(c));
        break;
    case 0x01: /* I-Am-Router, Router-Busy/Available: list of networks */
    case 0x04:
    case 0x05: {
        unsigned n = 0;
        ev_arr_begin(e, "networks");
        while (cursor_left(c) >= 2 && n++ < BAC_MAX_ENTRIES)
            ev_uint(e, NULL, cursor_u16be(c));
        ev_end(e);
        break;
    }
    case 0x03:
        ev_uint(e, "reason", cursor_u8(c));
        ev_uint(e, "network", cursor_u16be(c));
        break;
    case 0x13:
        ev_uint(e, "network", cursor_u16be(c));
        ev_uint(e, "learned", cursor_u8(c));
        break;
    default: break;
    }
    ev_end(e);
    if (c->err) event_anomaly(e, "bacnet.truncated_npdu");
}

static void bac_npdu(struct bac_pdu *m, struct cursor *c)
{
    struct event *e = m->e;
    uint8_t ver = cursor_u8(c);
    uint8_t ctl = cursor_u8(c);
    if (c->err) {
        event_anomaly(e, "bacnet.truncated_npdu");
        return;
    }
    ev_obj_begin(e, "npdu");
    ev_uint(e, "version", ver);
    ev_uint(e, "control", ctl);
    ev_uint(e, "priority", ctl & 3);
    if (ctl & 0x04) ev_bool(e, "expecting_reply", 1);
    if (ctl & 0x20) bac_address(e, c, "destination");
    if (ctl & 0x08) {
        size_t at = cursor_pos(c);
        bac_address(e, c, "source");
        /* SLEN 0 is invalid (source is never a broadcast) */
        int ok = 0;
        if (cursor_pos(c) >= at + 3) {
            struct cursor probe = *c;
            probe.off = at + 2;
            ok = cursor_u8(&probe) != 0;
        }
        if (!ok && !c->err) event_anomaly(e, "bacnet.bad_npdu");
    }
    if (ctl & 0x20) ev_uint(e, "hop_count", cursor_u8(c));
    ev_end(e);
    if (c->err) {
        event_anomaly(e, "bacnet.truncated_npdu");
        return;
    }
    /* reserved control bits 6 and 4, and versions other than 1 */
    if (ver != 1 || (ctl & 0x50)) event_anomaly(e, "bacnet.bad_npdu");
    if (ver != 1) return;
    if (ctl & 0x80)
        bac_network_message(m, c);
    else
        bac_apdu(m, c);
}

/* ---- BVLC ---- */

/* B/IP address: 4-byte IPv4, 2-byte port. */
static void bvlc_bip(struct event *e, struct cursor *c, const char *key)
{
    const uint8_t *a = cursor_take(c, 6);
    if (!a) return;
    ev_obj_begin(e, key);
    ev_hex(e, "ip", a, 4);
    ev_uint(e, "port", (uint32_t)a[4] << 8 | a[5]);
    ev_end(e);
}

/* BDT (ip, port, mask) and FDT (ip, port, ttl, remaining) entries: 10 bytes. */
static void bvlc_table(struct event *e, struct cursor *c, int fdt)
{
    unsigned n = 0;
    ev_arr_begin(e, fdt ? "fdt" : "bdt");
    while (cursor_left(c) >= 10) {
        struct cursor ent = cursor_sub(c, 10);
        if (n++ >= BAC_MAX_ENTRIES) continue;
        ev_obj_begin(e, NULL);
        const uint8_t *a = cursor_take(&ent, 6);
        ev_hex(e, "ip", a, 4);
        ev_uint(e, "port", (uint32_t)a[4] << 8 | a[5]);
        if (fdt) {
            ev_uint(e, "ttl", cursor_u16be(&ent));
            ev_uint(e, "remaining", cursor_u16be(&ent));
        } else {
            ev_hex(e, "mask", cursor_take(&ent, 4), 4);
        }
        ev_end(e);
    }
    ev_end(e);
    ev_uint(e, "entries", n);
    if (cursor_left(c)) event_anomaly(e, "bacnet.bad_bvlc_length");
}

static void bacnet_datagram(struct bacnet_state *st, struct cursor *c, const struct pdu_info *info,
                            struct event_sink *sink)
{
    struct event *e =
        event_begin(sink, "bacnet", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    struct bac_pdu m = {e,
                        NULL,
                        0,
                        0,
                        EV_DIR_NONE,
                        st,
                        info->to_server ? 0 : 1,
                        info->ts_us ? info->ts_us : sink->net.ts_us,
                        sink};
    size_t dlen = cursor_left(c);
    uint8_t type = cursor_u8(c);
    uint8_t func = cursor_u8(c);
    uint16_t blen = cursor_u16be(c);
    if (c->err) {
        event_anomaly(e, "bacnet.bad_bvlc_length");
        event_op(e, "malformed");
        event_emit(sink, e);
        return;
    }
    ev_obj_begin(e, "bvlc");
    ev_uint(e, "type", type);
    ev_uint(e, "function", func);
    const char *fname = bvlc_func_name(func);
    if (fname) ev_cstr(e, "function_name", fname);
    ev_uint(e, "length", blen);
    ev_end(e);
    if (type != BVLC_TYPE_BIP) {
        event_anomaly(e, "bacnet.bad_bvlc_type");
        event_op(e, "malformed");
        event_emit(sink, e);
        return;
    }
    if (blen != dlen) event_anomaly(e, "bacnet.bad_bvlc_length");
    /* every byte of the datagram: devices send wrong BVLC lengths both ways
     * (bacnet_example.pcap), and a password past the declared end must still
     * be seen as present */
    struct cursor body = cursor_rest(c);
    m.op = fname;
    m.dir = EV_DIR_REQUEST;
    switch (func) {
    case 0x00:
        ev_uint(e, "result", cursor_u16be(&body));
        m.dir = EV_DIR_RESPONSE;
        break;
    case 0x01: bvlc_table(e, &body, 0); break;
    case 0x03:
        bvlc_table(e, &body, 0);
        m.dir = EV_DIR_RESPONSE;
        break;
    case 0x05: ev_uint(e, "ttl", cursor_u16be(&body)); break;
    case 0x07:
        bvlc_table(e, &body, 1);
        m.dir = EV_DIR_RESPONSE;
        break;
    case 0x08: bvlc_bip(e, &body, "entry"); break;
    case 0x04:
        bvlc_bip(e, &body, "original_source");
        /* fall through */
    case 0x09:
    case 0x0A:
    case 0x0B:
        if (body.err) break;
        m.op = NULL;
        bac_npdu(&m, &body);
        if (!m.op) m.op = "npdu";
        break;
    case 0x02:
    case 0x06: break;
    default:
        event_anomaly(e, "bacnet.bad_bvlc_function");
        m.op = "unknown_bvlc_function";
        break;
    }
    if (body.err && (func < 0x09 && func != 0x04)) event_anomaly(e, "bacnet.bad_bvlc_length");
    if (body.err && func == 0x04) event_anomaly(e, "bacnet.truncated_npdu");
    e->dir = m.dir;
    if (m.has_code)
        event_code(e, m.code, m.op);
    else
        event_op(e, m.op ? m.op : "malformed");
    event_emit(sink, e);
}

static size_t bacnet_parse(void *state, struct cursor *c, const struct pdu_info *info,
                           struct event_sink *sink)
{
    size_t n = cursor_left(c);
    bacnet_datagram(state, c, info, sink);
    return n;
}

/* BVLC for BACnet/IP, a known function, a length that can hold its header,
 * and NPDU version 1 where the function carries an NPDU. */
static enum probe_result bacnet_probe(struct cursor *c, int to_server)
{
    (void)to_server;
    int ok = 1;
    uint8_t type = cursor_peek_u8(c, 0, &ok);
    if (!ok) return PROBE_NEED_MORE;
    if (type != BVLC_TYPE_BIP) return PROBE_NO;
    uint8_t func = cursor_peek_u8(c, 1, &ok);
    uint16_t len = cursor_peek_u16be(c, 2, &ok);
    if (!ok) return cursor_left(c) < 4 ? PROBE_NEED_MORE : PROBE_NO;
    if (!bvlc_func_name(func) || len < BVLC_HDR || len > BACNET_MAX_PDU) return PROBE_NO;
    size_t npdu = func == 0x04 ? 10 : (func >= 0x09 && func <= 0x0B) ? 4 : 0;
    if (npdu) {
        uint8_t ver = cursor_peek_u8(c, npdu, &ok);
        if (ok && ver != 1) return PROBE_NO;
    }
    return PROBE_YES;
}

static void *bacnet_state_new(void)
{
    return calloc(1, sizeof(struct bacnet_state));
}

static void bacnet_state_free(void *state)
{
    struct bacnet_state *st = state;
    if (st) object_free(&st->run.obj);
    free(state);
}

static void bacnet_end(void *state, int to_server, struct event_sink *sink)
{
    struct bacnet_state *st = state;
    if (st->run.to_server == to_server) object_end(&st->run.obj, sink, to_server);
}

const struct dissector bacnet_dissector = {
    .id = DISS_BACNET,
    .name = "bacnet",
    .transports = DISS_UDP,
    .ports = {BACNET_PORT, 0},
    .probe = bacnet_probe,
    .state_new = bacnet_state_new,
    .state_free = bacnet_state_free,
    .parse = bacnet_parse,
    .gap = NULL,
    .anomalies = bacnet_anomalies,
    .max_pdu = BACNET_MAX_PDU,
    .end = bacnet_end,
};
