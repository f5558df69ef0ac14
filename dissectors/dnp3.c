/* dnp3.c - DNP3 (IEEE 1815) over TCP and UDP: link layer with CRCs, transport
 * reassembly of application fragments, application header and object headers.
 *
 * Link frame (all multi-byte fields little-endian):
 *
 *   +------+------+-----+------+---------+---------+---------+
 *   | 0x05 | 0x64 | LEN | CTRL | DST (2) | SRC (2) | CRC (2) |   header block, CRC over 8 bytes
 *   +------+------+-----+------+---------+---------+---------+
 *   | up to 16 bytes of user data | CRC (2) | ...               LEN - 5 user bytes in blocks
 *   +-----------------------------+---------+
 *   CTRL: DIR 0x80 | PRM 0x40 | FCB 0x20 | FCV/DFC 0x10 | function 0x0F
 *
 * User data of a primary (UN)CONFIRMED_USER_DATA frame is one transport segment:
 *
 *   +---------------------------+------------------------------+
 *   | FIN 0x80 | FIR 0x40 | SEQ | up to 249 bytes of fragment  |
 *   +---------------------------+------------------------------+
 *
 * Segments FIR..FIN with consecutive SEQ (mod 64) make one application fragment:
 *
 *   +---------------------------------------+------+------------+-----------------+
 *   | FIR 0x80 FIN 0x40 CON 0x20 UNS 0x10 SEQ | FUNC | IIN (2)*   | object headers  |
 *   +---------------------------------------+------+------------+-----------------+
 *   * responses (0x81, 0x82, 0x83) only
 *   object header: GROUP | VARIATION | QUALIFIER (prefix code << 4 | range code) | range
 *
 * One event per reassembled fragment, code = application function (tshark
 * dnp3.al.func). Link-only frames (link status, ACK, ...) give an event with a
 * null code and op "link_<function>". Frames that fail their CRC, segments out
 * of sequence and oversized fragments give a "malformed" event with a null code.
 *
 * Fields of the "dnp3" object:
 *   src, dst               link addresses (of the last frame of the fragment)
 *   link {ctrl, func, dir, prm, len}
 *   frames, len            link frames and bytes of the reassembled fragment
 *   al {fir, fin, con, uns, seq}, func, func_name (precise name, e.g. "freeze_clear")
 *   iin, iin_flags         responses: IIN1 << 8 | IIN2, and the names of the set bits
 *   request_func, latency_us   responses: the request with the same AL sequence
 *   objects [{group, variation, qualifier, start/stop | count, items [...]}]
 *     items: g12v1/2 CROB {index, code, op, tcc, queue, clear, count, on_ms, off_ms,
 *     status}; g41 {index, value, status}; g50 {time_ms, interval, units}; g70 file
 *     {name, size, mode, handle, block, last, status, ...}; g120 SA {csq|ksq, user,
 *     mac_alg, reason, key_status, error, ...}
 *   objects_partial        an object of unknown size stopped the walk
 *
 * Ops: the taxonomy's dnp3_* ids without the prefix (freeze for 7..12,
 * direct_operate for 5 and 6, time_set for 23, 24 and writes of g50,
 * clear_restart_iin for writes of g80, file_transfer, sa_exchange / sa_key_change /
 * sa_error by the g120 variation), else func_name.
 *
 * Detectors per association (this flow, master and outstation link addresses; at most
 * DNP3_MAX_ASSOC per flow, least recently used dropped), each a derived event with a
 * null code after the fragment's own (docs/events.md):
 *   operate_without_select   an OPERATE whose object bytes (headers, indexes, CROB and
 *                            setpoint values) differ from the association's last SELECT,
 *                            or that SELECT is older than dnp3.select_timeout_ms
 *   critical_without_sa      the outstation answers (0x81, same sequence) a critical
 *                            request (IEEE 1815 7.5.2.3: FC 2-6, 13-19, 21, 25-31) that
 *                            carried no g120v3 aggressive-mode object and drew no g120v1
 *                            challenge, on an association that must use SAv5: by
 *                            dnp3.require_sa, or because the outstation has sent a g120
 *                            object (or the master an aggressive-mode request) on it
 *                            before. The event describes the request (its direction and
 *                            addresses).
 *   unsolicited_unexpected   a 0x82 with objects while DISABLE_UNSOLICITED (confirmed by
 *                            the outstation's response) has switched off classes 1-3 and
 *                            no ENABLE since (reason "disabled"); or from an outstation the
 *                            master never addressed on this flow once the flow is
 *                            dnp3.outstation_learning_period old (reason
 *                            "unknown_outstation"; off once the table ever dropped one). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diss_params.h"
#include "dissector.h"
#include "dnp3.h"
#include "object.h"
#include "yara_scan.h"
#include "fnv.h"

/* Largest application fragment reassembled (bytes); IEEE 1815 suggests 2048. */
#ifndef DNP3_MAX_FRAGMENT
#define DNP3_MAX_FRAGMENT 2048
#endif
#define DNP3_HDR_LEN     10
#define DNP3_MAX_FRAME   292 /* LEN 255: 10 + 250 user bytes + 16 block CRCs */
#define DNP3_MAX_HEADERS 32  /* object headers listed per event */
#define DNP3_MAX_ITEMS   16  /* decoded objects (CROB, time, file, SA) per header */
#define DNP3_MAX_ASSOC   16  /* master/outstation pairs tracked per flow */

static const char A_BAD_CRC[] = "dnp3.bad_crc";
static const char A_BAD_LENGTH[] = "dnp3.bad_length";
static const char A_GARBAGE[] = "dnp3.garbage";
static const char A_OUT_OF_SEQ[] = "dnp3.out_of_sequence";
static const char A_TOO_LONG[] = "dnp3.fragment_too_long";
static const char A_TRUNCATED[] = "dnp3.truncated";
static const char A_BAD_QUALIFIER[] = "dnp3.bad_qualifier";
static const char A_BAD_RANGE[] = "dnp3.bad_range";
static const char A_UNKNOWN_FUNC[] = "dnp3.unknown_function";
static const char A_ABANDONED[] = "dnp3.fragment_abandoned";

static const char *const dnp3_anomalies[] = {
    A_BAD_CRC,       A_BAD_LENGTH, A_GARBAGE,      A_OUT_OF_SEQ, A_TOO_LONG, A_TRUNCATED,
    A_BAD_QUALIFIER, A_BAD_RANGE,  A_UNKNOWN_FUNC, A_ABANDONED,  NULL,
};

/* One direction's fragment under reassembly. */
struct dnp3_frag {
    uint8_t active;
    uint8_t seq; /* transport sequence of the last segment added */
    uint16_t src, dst;
    uint16_t frames;
    uint16_t len;
    uint8_t buf[DNP3_MAX_FRAGMENT];
};

/* The master's last request, so that its response can name it (DESIGN §2). */
struct dnp3_pending {
    uint8_t valid, func, seq;
    uint64_t ts_us;
};

/* A file under transfer in g70v5 blocks, for YARA (one per direction). */
struct dnp3_file_xfer {
    struct ots_object obj;
    uint32_t handle;
    uint32_t next; /* the block expected next; kept after the last for retransmissions */
};

/* What the detectors keep of one master/outstation pair. */
struct dnp3_assoc {
    uint16_t master, outstation;
    uint8_t used;
    uint8_t known;       /* the master addressed it, or it answered a request */
    uint8_t sa;          /* g120 seen: the association uses SAv5 */
    uint8_t uns_off;     /* unsolicited classes 1..3 (bits 0..2) disabled */
    uint8_t dis_pending; /* a DISABLE_UNSOLICITED awaits its response: its classes */
    uint8_t dis_seq;
    uint8_t sel_valid, crit_pending, crit_func, crit_seq;
    uint32_t sel_len;
    uint64_t sel_hash, sel_ts;
    uint64_t last_ts;
};

struct dnp3_state {
    struct dnp3_frag frag[2]; /* [1] from the master (to_server), [0] from the outstation */
    struct dnp3_pending req;
    struct dnp3_file_xfer file[2]; /* indexed like frag */
    struct dnp3_assoc assoc[DNP3_MAX_ASSOC];
    uint64_t first_ts; /* the flow's first fragment */
    uint8_t has_first;
    uint8_t assoc_evicted; /* an association was dropped: unknown is no longer sure */
};

/* Where g70v5 blocks of the fragment being walked go (NULL: nowhere). */
struct dnp3_file_ctx {
    struct dnp3_file_xfer *x;
    struct event_sink *sink;
    int to_server;
};

/* Link header fields of the frame being handled. */
struct dnp3_link {
    uint8_t len, ctrl;
    uint16_t dst, src;
};

/* ---- CRC: polynomial 0x3D65, reflected (0xA6BC), result inverted ---- */

/* dnp3_crc_table[i]: the register after shifting byte i through bit by bit, so each
 * byte costs one lookup instead of eight conditional shifts (a DNP3 frame carries a
 * CRC every 16 bytes: the bit loop was ~1.4% of the benchmark's instructions). The
 * values are that loop's output; tests/unit/test_dnp3.c builds its frames with a table
 * of its own, computed from the loop, and checks CRCs of captured frames. */
static const uint16_t dnp3_crc_table[256] = {
    0x0000, 0x365E, 0x6CBC, 0x5AE2, 0xD978, 0xEF26, 0xB5C4, 0x839A, 0xFF89, 0xC9D7, 0x9335, 0xA56B,
    0x26F1, 0x10AF, 0x4A4D, 0x7C13, 0xB26B, 0x8435, 0xDED7, 0xE889, 0x6B13, 0x5D4D, 0x07AF, 0x31F1,
    0x4DE2, 0x7BBC, 0x215E, 0x1700, 0x949A, 0xA2C4, 0xF826, 0xCE78, 0x29AF, 0x1FF1, 0x4513, 0x734D,
    0xF0D7, 0xC689, 0x9C6B, 0xAA35, 0xD626, 0xE078, 0xBA9A, 0x8CC4, 0x0F5E, 0x3900, 0x63E2, 0x55BC,
    0x9BC4, 0xAD9A, 0xF778, 0xC126, 0x42BC, 0x74E2, 0x2E00, 0x185E, 0x644D, 0x5213, 0x08F1, 0x3EAF,
    0xBD35, 0x8B6B, 0xD189, 0xE7D7, 0x535E, 0x6500, 0x3FE2, 0x09BC, 0x8A26, 0xBC78, 0xE69A, 0xD0C4,
    0xACD7, 0x9A89, 0xC06B, 0xF635, 0x75AF, 0x43F1, 0x1913, 0x2F4D, 0xE135, 0xD76B, 0x8D89, 0xBBD7,
    0x384D, 0x0E13, 0x54F1, 0x62AF, 0x1EBC, 0x28E2, 0x7200, 0x445E, 0xC7C4, 0xF19A, 0xAB78, 0x9D26,
    0x7AF1, 0x4CAF, 0x164D, 0x2013, 0xA389, 0x95D7, 0xCF35, 0xF96B, 0x8578, 0xB326, 0xE9C4, 0xDF9A,
    0x5C00, 0x6A5E, 0x30BC, 0x06E2, 0xC89A, 0xFEC4, 0xA426, 0x9278, 0x11E2, 0x27BC, 0x7D5E, 0x4B00,
    0x3713, 0x014D, 0x5BAF, 0x6DF1, 0xEE6B, 0xD835, 0x82D7, 0xB489, 0xA6BC, 0x90E2, 0xCA00, 0xFC5E,
    0x7FC4, 0x499A, 0x1378, 0x2526, 0x5935, 0x6F6B, 0x3589, 0x03D7, 0x804D, 0xB613, 0xECF1, 0xDAAF,
    0x14D7, 0x2289, 0x786B, 0x4E35, 0xCDAF, 0xFBF1, 0xA113, 0x974D, 0xEB5E, 0xDD00, 0x87E2, 0xB1BC,
    0x3226, 0x0478, 0x5E9A, 0x68C4, 0x8F13, 0xB94D, 0xE3AF, 0xD5F1, 0x566B, 0x6035, 0x3AD7, 0x0C89,
    0x709A, 0x46C4, 0x1C26, 0x2A78, 0xA9E2, 0x9FBC, 0xC55E, 0xF300, 0x3D78, 0x0B26, 0x51C4, 0x679A,
    0xE400, 0xD25E, 0x88BC, 0xBEE2, 0xC2F1, 0xF4AF, 0xAE4D, 0x9813, 0x1B89, 0x2DD7, 0x7735, 0x416B,
    0xF5E2, 0xC3BC, 0x995E, 0xAF00, 0x2C9A, 0x1AC4, 0x4026, 0x7678, 0x0A6B, 0x3C35, 0x66D7, 0x5089,
    0xD313, 0xE54D, 0xBFAF, 0x89F1, 0x4789, 0x71D7, 0x2B35, 0x1D6B, 0x9EF1, 0xA8AF, 0xF24D, 0xC413,
    0xB800, 0x8E5E, 0xD4BC, 0xE2E2, 0x6178, 0x5726, 0x0DC4, 0x3B9A, 0xDC4D, 0xEA13, 0xB0F1, 0x86AF,
    0x0535, 0x336B, 0x6989, 0x5FD7, 0x23C4, 0x159A, 0x4F78, 0x7926, 0xFABC, 0xCCE2, 0x9600, 0xA05E,
    0x6E26, 0x5878, 0x029A, 0x34C4, 0xB75E, 0x8100, 0xDBE2, 0xEDBC, 0x91AF, 0xA7F1, 0xFD13, 0xCB4D,
    0x48D7, 0x7E89, 0x246B, 0x1235,
};

static uint16_t dnp3_crc(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++)
        crc = (uint16_t)((crc >> 8) ^ dnp3_crc_table[(crc ^ p[i]) & 0xff]);
    return (uint16_t)~crc;
}

/* Total bytes on the wire of a frame whose LEN octet is len (>= 5). */
static size_t dnp3_frame_size(uint8_t len)
{
    size_t n = (size_t)len - 5;
    return DNP3_HDR_LEN + n + 2 * ((n + 15) / 16);
}

/* ---- names ---- */

static const char *dnp3_link_op(uint8_t ctrl)
{
    unsigned f = ctrl & 0x0F;
    if (ctrl & 0x40) {
        switch (f) {
        case 0: return "link_reset_link_states";
        case 1: return "link_reset_user_process";
        case 2: return "link_test_link_states";
        case 3: return "link_confirmed_user_data";
        case 4: return "link_unconfirmed_user_data";
        case 9: return "link_request_link_status";
        default: return "link_unknown";
        }
    }
    switch (f) {
    case 0: return "link_ack";
    case 1: return "link_nack";
    case 11: return "link_status";
    case 14: return "link_not_functioning";
    case 15: return "link_not_supported";
    default: return "link_unknown";
    }
}

/* The precise function name (field "func_name"); NULL for an unknown code. */
static const char *dnp3_func_name(unsigned f)
{
    static const char *const n[] = {
        "confirm",
        "read",
        "write",
        "select",
        "operate",
        "direct_operate",
        "direct_operate_no_ack",
        "immediate_freeze",
        "immediate_freeze_no_ack",
        "freeze_clear",
        "freeze_clear_no_ack",
        "freeze_at_time",
        "freeze_at_time_no_ack",
        "cold_restart",
        "warm_restart",
        "initialize_data",
        "initialize_application",
        "start_application",
        "stop_application",
        "save_configuration",
        "enable_unsolicited",
        "disable_unsolicited",
        "assign_class",
        "delay_measure",
        "record_current_time",
        "open_file",
        "close_file",
        "delete_file",
        "get_file_info",
        "authenticate_file",
        "abort_file",
        "activate_config",
        "authenticate_request",
        "authenticate_error",
    };
    if (f < sizeof(n) / sizeof(n[0])) return n[f];
    switch (f) {
    case 129: return "response";
    case 130: return "unsolicited_response";
    case 131: return "authenticate_response";
    default: return NULL;
    }
}

/* Event op: the taxonomy's dnp3_* ids without the prefix (several codes share
 * one id, e.g. all freezes); refined by the objects for write and SA. */
static const char *dnp3_func_op(unsigned f)
{
    if (f >= 7 && f <= 12) return "freeze";
    switch (f) {
    case 5:
    case 6: return "direct_operate";
    case 23:
    case 24: return "time_set";
    case 25:
    case 26:
    case 28:
    case 29:
    case 30: return "file_transfer";
    case 27: return "file_delete";
    case 32:
    case 131: return "sa_exchange";
    case 33: return "sa_error";
    default: return dnp3_func_name(f);
    }
}

static const char *const dnp3_iin_names[16] = {
    /* IIN2 bits 0..7 */
    "no_func_code_support",
    "object_unknown",
    "parameter_error",
    "event_buffer_overflow",
    "already_executing",
    "config_corrupt",
    "reserved_2",
    "reserved_1",
    /* IIN1 bits 0..7 */
    "all_stations",
    "class_1_events",
    "class_2_events",
    "class_3_events",
    "need_time",
    "local_control",
    "device_trouble",
    "device_restart",
};

const char *dnp3_iin_name(unsigned b)
{
    return b < 16 ? dnp3_iin_names[b] : "";
}

static const char *dnp3_crob_op(unsigned code)
{
    switch (code & 0x0F) {
    case 0: return "nul";
    case 1: return "pulse_on";
    case 2: return "pulse_off";
    case 3: return "latch_on";
    case 4: return "latch_off";
    default: return "undefined";
    }
}

static const char *dnp3_crob_tcc(unsigned code)
{
    static const char *const t[] = {"nul", "close", "trip", "reserved"};
    return t[(code >> 6) & 3];
}

/* ---- object sizes ---- */

/* Size of one object of group g variation v: > 0 bytes, < 0 bits (packed
 * bit strings), 0 unknown or variable (the walk stops unless the qualifier
 * carries a size prefix). */
static int dnp3_obj_size(unsigned g, unsigned v)
{
    static const signed char g20[] = {0, 5, 3, 5, 3, 4, 2, 4, 2};
    static const signed char g21[] = {0, 5, 3, 5, 3, 11, 9, 11, 9, 4, 2, 4, 2};
    static const signed char g22[] = {0, 5, 3, 5, 3, 11, 9, 11, 9};
    static const signed char g30[] = {0, 5, 3, 4, 2, 5, 9};
    static const signed char g31[] = {0, 5, 3, 11, 9, 4, 2, 5, 9};
    static const signed char g32[] = {0, 5, 3, 11, 9, 5, 9, 11, 15};
    static const signed char g40[] = {0, 5, 3, 5, 9};
    static const signed char g43[] = {0, 6, 4, 12, 10, 6, 10, 12, 16};
    static const signed char g50[] = {0, 6, 10, 6, 11};
#define PICK(tab) return v < sizeof(tab) ? tab[v] : 0
    switch (g) {
    case 1: return v == 1 ? -1 : v == 2 ? 1 : 0;
    case 2: return v == 1 ? 1 : v == 2 ? 7 : v == 3 ? 3 : 0;
    case 3: return v == 1 ? -2 : v == 2 ? 1 : 0;
    case 4: return v == 1 ? 1 : v == 2 ? 7 : v == 3 ? 3 : 0;
    case 10: return v == 1 ? -1 : v == 2 ? 1 : 0;
    case 11: return v == 1 ? 1 : v == 2 ? 7 : 0;
    case 12: return (v == 1 || v == 2) ? 11 : v == 3 ? -1 : 0;
    case 13: return v == 1 ? 1 : v == 2 ? 7 : 0;
    case 20: PICK(g20);
    case 21: PICK(g21);
    case 22:
    case 23: PICK(g22);
    case 30: PICK(g30);
    case 31: PICK(g31);
    case 32:
    case 33:
    case 42: PICK(g32);
    case 34: return v == 1 ? 2 : (v == 2 || v == 3) ? 4 : 0;
    case 40:
    case 41: PICK(g40);
    case 43: PICK(g43);
    case 50: PICK(g50);
    case 51: return (v == 1 || v == 2) ? 6 : 0;
    case 52: return (v == 1 || v == 2) ? 2 : 0;
    case 80: return v == 1 ? -1 : 0;
    case 102: return v == 1 ? 1 : 0;
    case 120: return v == 3 ? 6 : v == 4 ? 2 : 0; /* aggressive mode, key status request */
    case 110:
    case 111:
    case 112:
    case 113: return (int)v; /* octet strings: the variation is the length */
    default: return 0;
    }
#undef PICK
}

/* Functions whose requests name objects without carrying their values. */
static int dnp3_func_no_data(unsigned f)
{
    return f == 1 || (f >= 7 && f <= 12) || f == 20 || f == 21 || f == 22;
}

/* ---- decoded objects ---- */

static uint64_t dnp3_u48le(struct cursor *c)
{
    uint64_t lo = cursor_u32le(c);
    return lo | (uint64_t)cursor_u16le(c) << 32;
}

static void dnp3_crob(struct event *e, struct cursor *o)
{
    uint8_t code = cursor_u8(o);
    uint8_t count = cursor_u8(o);
    uint32_t on = cursor_u32le(o);
    uint32_t off = cursor_u32le(o);
    uint8_t status = cursor_u8(o);
    if (o->err) return;
    ev_uint(e, "code", code);
    ev_cstr(e, "op", dnp3_crob_op(code));
    ev_cstr(e, "tcc", dnp3_crob_tcc(code));
    ev_bool(e, "queue", code & 0x10);
    ev_bool(e, "clear", code & 0x20);
    ev_uint(e, "count", count);
    ev_uint(e, "on_ms", on);
    ev_uint(e, "off_ms", off);
    ev_uint(e, "status", status);
}

static void dnp3_analog_output(struct event *e, struct cursor *o, unsigned v)
{
    switch (v) {
    case 1: ev_int(e, "value", (int32_t)cursor_u32le(o)); break;
    case 2: ev_int(e, "value", (int16_t)cursor_u16le(o)); break;
    case 3: {
        uint32_t b = cursor_u32le(o);
        float f;
        memcpy(&f, &b, sizeof(f));
        ev_double(e, "value", f);
        break;
    }
    case 4: {
        uint64_t b = cursor_u64le(o);
        double d;
        memcpy(&d, &b, sizeof(d));
        ev_double(e, "value", d);
        break;
    }
    default: return;
    }
    ev_uint(e, "status", cursor_u8(o));
}

static void dnp3_time(struct event *e, struct cursor *o, unsigned v)
{
    uint64_t ms = dnp3_u48le(o);
    if (o->err) return;
    ev_uint(e, "time_ms", ms);
    if (v == 2 || v == 4) {
        uint32_t interval = cursor_u32le(o);
        if (!o->err) ev_uint(e, "interval", interval);
    }
    if (v == 4) {
        uint8_t units = cursor_u8(o);
        if (!o->err) ev_uint(e, "units", units);
    }
}

/* A string at (offset, size) counted from the object's first byte. */
static void dnp3_obj_string(struct event *e, const char *key, struct cursor obj, uint16_t at,
                            uint16_t size)
{
    if (!cursor_skip(&obj, at)) return;
    size_t n = size < cursor_left(&obj) ? size : cursor_left(&obj);
    const uint8_t *p = cursor_take(&obj, n);
    if (p) ev_str(e, key, p, n);
}

static void dnp3_file(struct event *e, struct cursor *o, unsigned v)
{
    const struct cursor whole = *o;
    switch (v) {
    case 3: { /* file command */
        uint16_t name_off = cursor_u16le(o), name_len = cursor_u16le(o);
        uint64_t created = dnp3_u48le(o);
        uint16_t perm = cursor_u16le(o);
        cursor_u32le(o); /* authentication key */
        uint32_t size = cursor_u32le(o);
        uint16_t mode = cursor_u16le(o), block = cursor_u16le(o), req = cursor_u16le(o);
        if (o->err) return;
        ev_uint(e, "created_ms", created);
        ev_uint(e, "permissions", perm);
        ev_uint(e, "size", size);
        ev_uint(e, "mode", mode);
        ev_uint(e, "max_block", block);
        ev_uint(e, "request_id", req);
        dnp3_obj_string(e, "name", whole, name_off, name_len);
        break;
    }
    case 4: { /* file command status */
        uint32_t handle = cursor_u32le(o), size = cursor_u32le(o);
        uint16_t block = cursor_u16le(o), req = cursor_u16le(o);
        uint8_t status = cursor_u8(o);
        if (o->err) return;
        ev_uint(e, "handle", handle);
        ev_uint(e, "size", size);
        ev_uint(e, "max_block", block);
        ev_uint(e, "request_id", req);
        ev_uint(e, "status", status);
        break;
    }
    case 5:   /* file transport */
    case 6: { /* file transport status */
        uint32_t handle = cursor_u32le(o), block = cursor_u32le(o);
        if (o->err) return;
        ev_uint(e, "handle", handle);
        ev_uint(e, "block", block & 0x7FFFFFFF);
        ev_bool(e, "last", block >> 31);
        if (v == 5) {
            ev_uint(e, "data_len", cursor_left(o));
        } else {
            uint8_t status = cursor_u8(o);
            if (!o->err) ev_uint(e, "status", status);
        }
        break;
    }
    case 7: { /* file descriptor */
        uint16_t name_off = cursor_u16le(o), name_len = cursor_u16le(o);
        uint16_t type = cursor_u16le(o);
        uint32_t size = cursor_u32le(o);
        uint64_t created = dnp3_u48le(o);
        uint16_t perm = cursor_u16le(o), req = cursor_u16le(o);
        if (o->err) return;
        ev_uint(e, "type", type);
        ev_uint(e, "size", size);
        ev_uint(e, "created_ms", created);
        ev_uint(e, "permissions", perm);
        ev_uint(e, "request_id", req);
        dnp3_obj_string(e, "name", whole, name_off, name_len);
        break;
    }
    case 8: { /* file specification string */
        size_t n = cursor_left(o);
        const uint8_t *p = cursor_take(o, n);
        if (p) ev_str(e, "name", p, n);
        break;
    }
    default: break;
    }
}

/* One g70v5 file transport object (handle, block with the last-block bit,
 * data; IEEE 1815-2012 §A.42.5): blocks of one handle are gathered in order
 * and the file is scanned once at its last block. A retransmitted block is
 * skipped; a hole or another handle drops the unfinished file unscanned and
 * starts over at this block (first_block says where the object began). */
static void dnp3_file_block(struct dnp3_file_ctx *fx, struct cursor o)
{
    struct dnp3_file_xfer *x = fx->x;
    uint32_t handle = cursor_u32le(&o), block = cursor_u32le(&o);
    if (o.err) return;
    uint32_t num = block & 0x7FFFFFFF;
    if (x->handle == handle && num + 1 == x->next) return; /* seen already */
    if (!object_active(&x->obj) || x->handle != handle || num != x->next) {
        char name[24], v[16];
        snprintf(name, sizeof(name), "handle:%u", (unsigned)handle);
        object_begin(&x->obj, fx->sink, "dnp3", "dnp3.file", name, strlen(name), 0);
        snprintf(v, sizeof(v), "%u", (unsigned)handle);
        object_attr(&x->obj, "handle", v);
        snprintf(v, sizeof(v), "%u", (unsigned)num);
        object_attr(&x->obj, "first_block", v);
        x->handle = handle;
    }
    object_append(&x->obj, fx->sink, &o, cursor_left(&o));
    x->next = num + 1;
    if (block >> 31) object_end(&x->obj, fx->sink, fx->to_server);
}

/* Secure Authentication (g120): the sequence numbers, user and error code. */
static void dnp3_sa(struct event *e, struct cursor *o, unsigned v)
{
    switch (v) {
    case 1:   /* challenge */
    case 2:   /* reply */
    case 3:   /* aggressive mode request */
    case 7: { /* error */
        uint32_t csq = cursor_u32le(o);
        uint16_t user = cursor_u16le(o);
        if (o->err) return;
        ev_uint(e, "csq", csq);
        ev_uint(e, "user", user);
        if (v == 1) {
            uint8_t mac = cursor_u8(o), reason = cursor_u8(o);
            if (!o->err) {
                ev_uint(e, "mac_alg", mac);
                ev_uint(e, "reason", reason);
            }
        } else if (v == 7) {
            uint16_t assoc = cursor_u16le(o);
            uint8_t err = cursor_u8(o);
            if (!o->err) {
                ev_uint(e, "assoc", assoc);
                ev_uint(e, "error", err);
            }
        }
        break;
    }
    case 4: { /* session key status request */
        uint16_t user = cursor_u16le(o);
        if (!o->err) ev_uint(e, "user", user);
        break;
    }
    case 5:   /* session key status */
    case 6: { /* session key change */
        uint32_t ksq = cursor_u32le(o);
        uint16_t user = cursor_u16le(o);
        if (o->err) return;
        ev_uint(e, "ksq", ksq);
        ev_uint(e, "user", user);
        if (v == 5) {
            uint8_t wrap = cursor_u8(o), status = cursor_u8(o), mac = cursor_u8(o);
            if (!o->err) {
                ev_uint(e, "keywrap_alg", wrap);
                ev_uint(e, "key_status", status);
                ev_uint(e, "mac_alg", mac);
            }
        }
        break;
    }
    default: break;
    }
}

/* Whether objects of (g, v) are decoded one by one. */
static int dnp3_decoded(unsigned g, unsigned v)
{
    return (g == 12 && (v == 1 || v == 2)) || (g == 41 && v >= 1 && v <= 4) ||
           (g == 50 && v >= 1 && v <= 4) || g == 70 || g == 120;
}

static void dnp3_decode_obj(struct event *e, struct cursor *o, unsigned g, unsigned v)
{
    switch (g) {
    case 12: dnp3_crob(e, o); break;
    case 41: dnp3_analog_output(e, o, v); break;
    case 50: dnp3_time(e, o, v); break;
    case 70: dnp3_file(e, o, v); break;
    case 120: dnp3_sa(e, o, v); break;
    default: break;
    }
}

/* What the object walk found, for choosing the op and for the detectors. */
struct dnp3_seen {
    int g50, g80, g120_kc, g120_err, g120;
    int g120_aggr, g120_challenge; /* g120v3 aggressive mode request, g120v1 challenge */
    unsigned g60_classes;          /* g60v2..v4: classes 1..3 as bits 0..2 */
    unsigned nhdr;                 /* object headers */
};

/* Reads an index or size prefix of the given code (1..6). */
static uint32_t dnp3_prefix(struct cursor *c, unsigned code)
{
    switch (code) {
    case 1:
    case 4: return cursor_u8(c);
    case 2:
    case 5: return cursor_u16le(c);
    case 3:
    case 6: return cursor_u32le(c);
    default: return 0;
    }
}

/* Walks the object headers of a fragment; returns 0 when it stopped early. */
static int dnp3_objects(struct event *e, struct cursor *c, unsigned func, struct dnp3_seen *seen,
                        struct dnp3_file_ctx *fx)
{
    int data = !dnp3_func_no_data(func);
    unsigned nhdr = 0;
    ev_arr_begin(e, "objects");
    while (cursor_left(c) > 0) {
        uint8_t g = cursor_u8(c), v = cursor_u8(c), q = cursor_u8(c);
        if (c->err) {
            event_anomaly(e, A_TRUNCATED);
            break;
        }
        unsigned prefix = (q >> 4) & 7, range = q & 0x0F;
        uint64_t count = 0, start = 0;
        int has_start = 0;
        switch (range) {
        case 0:
        case 3:
            start = cursor_u8(c);
            count = cursor_u8(c);
            has_start = 1;
            break;
        case 1:
        case 4:
            start = cursor_u16le(c);
            count = cursor_u16le(c);
            has_start = 1;
            break;
        case 2:
        case 5:
            start = cursor_u32le(c);
            count = cursor_u32le(c);
            has_start = 1;
            break;
        case 6: break;
        case 7:
        case 0x0B: count = cursor_u8(c); break;
        case 8: count = cursor_u16le(c); break;
        case 9: count = cursor_u32le(c); break;
        default: event_anomaly(e, A_BAD_QUALIFIER); goto stop;
        }
        if (c->err) {
            event_anomaly(e, A_TRUNCATED);
            goto stop;
        }
        if (has_start) { /* count held the stop index */
            if (count < start) {
                event_anomaly(e, A_BAD_RANGE);
                goto stop;
            }
            count = count - start + 1;
        }
        if (prefix == 7 || (range == 0x0B && prefix < 4)) {
            event_anomaly(e, A_BAD_QUALIFIER);
            goto stop;
        }
        if (g == 50) seen->g50 = 1;
        if (g == 80) seen->g80 = 1;
        if (g == 60 && v >= 2 && v <= 4) seen->g60_classes |= 1u << (v - 2);
        seen->nhdr++;
        if (g == 120) {
            seen->g120 = 1;
            if (v == 3) seen->g120_aggr = 1;
            if (v == 1) seen->g120_challenge = 1;
            if (v == 7)
                seen->g120_err = 1;
            else if (v == 4 || v == 5 || v == 6 || (v >= 10 && v <= 15))
                seen->g120_kc = 1;
        }
        int listed = nhdr < DNP3_MAX_HEADERS;
        nhdr++;
        if (listed) {
            ev_obj_begin(e, NULL);
            ev_uint(e, "group", g);
            ev_uint(e, "variation", v);
            ev_uint(e, "qualifier", q);
            if (has_start) {
                ev_uint(e, "start", start);
                ev_uint(e, "stop", start + count - 1);
            } else if (range != 6) {
                ev_uint(e, "count", count);
            }
        }
        /* Class objects and "all objects" ranges carry no values, nor do the
         * objects a read names, unless each object says its own size (a read of
         * g70 file transport carries the handle and block). */
        if ((!data && prefix < 4) || range == 6 || g == 60) {
            if (listed) ev_end(e);
            continue;
        }
        int size = dnp3_obj_size(g, v);
        int decode = listed && dnp3_decoded(g, v);
        if (prefix == 0 && size < 0) { /* packed bits */
            uint64_t bytes = (count * (uint64_t)(-size) + 7) / 8;
            if (bytes > cursor_left(c)) {
                event_anomaly(e, A_TRUNCATED);
                goto stop_obj;
            }
            cursor_skip(c, (size_t)bytes);
        } else if (prefix <= 3) {
            if (size <= 0) goto partial; /* unknown size: the rest cannot be located */
            uint64_t each = (uint64_t)size + (prefix == 3 ? 4 : prefix);
            if (count * each > cursor_left(c)) {
                event_anomaly(e, A_TRUNCATED);
                goto stop_obj;
            }
            if (decode) ev_arr_begin(e, "items");
            for (uint64_t i = 0; i < count; i++) {
                uint32_t index = prefix ? dnp3_prefix(c, prefix) : (uint32_t)(start + i);
                struct cursor o = cursor_sub(c, (size_t)size);
                if (decode && i < DNP3_MAX_ITEMS) {
                    ev_obj_begin(e, NULL);
                    ev_uint(e, "index", index);
                    dnp3_decode_obj(e, &o, g, v);
                    ev_end(e);
                }
            }
            if (decode) ev_end(e);
        } else { /* size prefix: each object says how long it is */
            if (decode) ev_arr_begin(e, "items");
            for (uint64_t i = 0; i < count; i++) {
                uint32_t len = dnp3_prefix(c, prefix - 3);
                if (c->err || len > cursor_left(c)) {
                    event_anomaly(e, A_TRUNCATED);
                    if (decode) ev_end(e);
                    goto stop_obj;
                }
                struct cursor o = cursor_sub(c, len);
                if (fx && g == 70 && v == 5) dnp3_file_block(fx, o);
                if (decode && i < DNP3_MAX_ITEMS) {
                    ev_obj_begin(e, NULL);
                    dnp3_decode_obj(e, &o, g, v);
                    ev_end(e);
                }
            }
            if (decode) ev_end(e);
        }
        if (listed) ev_end(e);
        continue;
    partial:
        if (listed) ev_end(e);
        ev_end(e);
        ev_bool(e, "objects_partial", 1);
        return 0;
    stop_obj:
        if (listed) ev_end(e);
        goto stop;
    }
    ev_end(e);
    if (nhdr > DNP3_MAX_HEADERS) ev_uint(e, "objects_total", nhdr);
    return 1;
stop:
    ev_end(e);
    return 0;
}

/* ---- events ---- */

static void dnp3_link_fields(struct event *e, const struct dnp3_link *l)
{
    ev_uint(e, "src", l->src);
    ev_uint(e, "dst", l->dst);
    ev_obj_begin(e, "link");
    ev_uint(e, "ctrl", l->ctrl);
    ev_uint(e, "func", l->ctrl & 0x0F);
    ev_bool(e, "dir", l->ctrl & 0x80);
    ev_bool(e, "prm", l->ctrl & 0x40);
    ev_uint(e, "len", l->len);
    ev_end(e);
}

/* A "malformed" event for something that never reached the application layer. */
static void dnp3_malformed(struct event_sink *sink, const struct pdu_info *info,
                           const struct dnp3_link *l, const char *anomaly)
{
    struct event *e = event_begin(sink, "dnp3", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    event_op(e, "malformed");
    if (l) dnp3_link_fields(e, l);
    event_anomaly(e, anomaly);
    event_emit(sink, e);
}

/* ---- detectors (see the header comment) ---- */

/* Critical functions of IEEE 1815-2012 7.5.2.3 (the taxonomy's list). */
static int dnp3_critical(unsigned f)
{
    return (f >= 2 && f <= 6) || (f >= 13 && f <= 19) || f == 21 || (f >= 25 && f <= 31);
}

/* The association of master m and outstation o; created (dropping the least recently
 * used) when absent. */
static struct dnp3_assoc *dnp3_assoc_get(struct dnp3_state *st, uint16_t m, uint16_t o, uint64_t ts)
{
    struct dnp3_assoc *free_slot = NULL, *lru = &st->assoc[0];
    for (int i = 0; i < DNP3_MAX_ASSOC; i++) {
        struct dnp3_assoc *a = &st->assoc[i];
        if (!a->used) {
            if (!free_slot) free_slot = a;
            continue;
        }
        if (a->master == m && a->outstation == o) {
            a->last_ts = ts;
            return a;
        }
        if (a->last_ts < lru->last_ts) lru = a;
    }
    struct dnp3_assoc *a = free_slot;
    if (!a) {
        a = lru;
        st->assoc_evicted = 1;
    }
    memset(a, 0, sizeof(*a));
    a->used = 1;
    a->master = m;
    a->outstation = o;
    a->last_ts = ts;
    return a;
}

/* FNV-1a over the fragment's object bytes (after the 2-byte request header). */
static uint64_t dnp3_objects_hash(const struct dnp3_frag *f, uint32_t *len)
{
    struct cursor c = cursor_make(f->buf, f->len);
    cursor_skip(&c, 2);
    size_t n = cursor_left(&c);
    const uint8_t *p = cursor_take(&c, n);
    *len = (uint32_t)n;
    return p ? fnv1a64(FNV1A64_INIT, p, n) : FNV1A64_INIT;
}

/* A derived event (code null) naming the association; the caller adds and emits. */
static struct event *dnp3_derived(struct event_sink *sink, enum ev_dir dir, const char *op,
                                  uint16_t src, uint16_t dst)
{
    struct event *e = event_begin(sink, "dnp3", dir);
    event_op(e, op);
    ev_uint(e, "src", src);
    ev_uint(e, "dst", dst);
    return e;
}

/* A request from the master (link src) to the outstation (link dst). */
static void dnp3_detect_request(struct dnp3_state *st, struct event_sink *sink,
                                const struct pdu_info *info, const struct dnp3_link *l,
                                const struct dnp3_frag *f, unsigned func, unsigned seq,
                                const struct dnp3_seen *seen)
{
    const struct diss_params *pr = diss_params_of(sink);
    struct dnp3_assoc *a = dnp3_assoc_get(st, l->src, l->dst, info->ts_us);
    a->known = 1;
    /* aggressive mode needs session keys: SA is in use (a key status request alone is
     * only the master trying: an outstation without SA would never be challenged) */
    if (seen->g120_aggr) a->sa = 1;
    if (func == 3 || func == 4) {
        uint32_t len;
        uint64_t h = dnp3_objects_hash(f, &len);
        if (func == 3) {
            a->sel_valid = 1;
            a->sel_hash = h;
            a->sel_len = len;
            a->sel_ts = info->ts_us;
        } else {
            uint64_t age = info->ts_us >= a->sel_ts ? info->ts_us - a->sel_ts : 0;
            const char *why = !a->sel_valid                                       ? "no_select"
                              : a->sel_hash != h || a->sel_len != len             ? "other_objects"
                              : age > (uint64_t)pr->dnp3_select_timeout_ms * 1000 ? "timeout"
                                                                                  : NULL;
            if (why) {
                struct event *e =
                    dnp3_derived(sink, EV_DIR_REQUEST, "operate_without_select", l->src, l->dst);
                ev_cstr(e, "reason", why);
                ev_uint(e, "seq", seq);
                if (a->sel_valid) ev_uint(e, "select_age_ms", age / 1000);
                event_emit(sink, e);
            }
        }
    }
    if (func == 20) a->uns_off &= (uint8_t)~seen->g60_classes;
    if (func == 21 && seen->g60_classes) {
        a->dis_pending = (uint8_t)seen->g60_classes;
        a->dis_seq = (uint8_t)seq;
    }
    if (func != 0) { /* a confirm is no new request: a pending one keeps waiting */
        a->crit_pending = 0;
        if (dnp3_critical(func) && !seen->g120_aggr && (pr->dnp3_require_sa || a->sa)) {
            a->crit_pending = 1;
            a->crit_func = (uint8_t)func;
            a->crit_seq = (uint8_t)seq;
        }
    }
}

/* A response (0x81, 0x83) or unsolicited response (0x82) from the outstation (link src). */
static void dnp3_detect_response(struct dnp3_state *st, struct event_sink *sink,
                                 const struct pdu_info *info, const struct dnp3_link *l,
                                 unsigned func, unsigned seq, int iin_ok, uint16_t iin,
                                 const struct dnp3_seen *seen)
{
    const struct diss_params *pr = diss_params_of(sink);
    struct dnp3_assoc *a = dnp3_assoc_get(st, l->dst, l->src, info->ts_us);
    int was_known = a->known;
    if (seen->g120) a->sa = 1;                     /* the outstation speaks SA */
    if (seen->g120_challenge) a->crit_pending = 0; /* the outstation authenticates it */
    if (func == 129) {
        a->known = 1;
        /* IIN2 bits 0..2: function unsupported, object unknown, parameter error */
        if (a->dis_pending && seq == a->dis_seq && iin_ok && !(iin & 0x0007))
            a->uns_off |= a->dis_pending;
        if (seq == a->dis_seq) a->dis_pending = 0;
        if (a->crit_pending && seq == a->crit_seq) {
            a->crit_pending = 0;
            struct event *e =
                dnp3_derived(sink, EV_DIR_REQUEST, "critical_without_sa", l->dst, l->src);
            ev_net_reverse(&e->net); /* the event is about the request */
            ev_uint(e, "func", a->crit_func);
            ev_cstr(e, "func_name", dnp3_func_name(a->crit_func));
            ev_uint(e, "seq", seq);
            ev_bool(e, "sa_seen", a->sa);
            if (iin_ok) ev_uint(e, "response_iin", iin);
            event_emit(sink, e);
        }
    }
    if (func != 130 || seen->nhdr == 0) return; /* a null unsolicited response is normal */
    const char *why = NULL;
    if ((a->uns_off & 7) == 7)
        why = "disabled";
    else if (!was_known && !st->assoc_evicted && pr->dnp3_learning &&
             info->ts_us >= st->first_ts + (uint64_t)pr->dnp3_learning * 1000000)
        why = "unknown_outstation";
    if (!why) return;
    struct event *e =
        dnp3_derived(sink, EV_DIR_INDICATION, "unsolicited_unexpected", l->src, l->dst);
    ev_cstr(e, "reason", why);
    ev_uint(e, "seq", seq);
    event_emit(sink, e);
}

/* One event for a reassembled application fragment. */
static void dnp3_app(struct dnp3_state *st, struct event_sink *sink, const struct pdu_info *info,
                     const struct dnp3_link *l, const struct dnp3_frag *f)
{
    struct cursor c = cursor_make(f->buf, f->len);
    uint8_t ac = cursor_u8(&c);
    uint8_t func = cursor_u8(&c);
    enum ev_dir dir = func == 130                    ? EV_DIR_INDICATION
                      : (func == 129 || func == 131) ? EV_DIR_RESPONSE
                                                     : EV_DIR_REQUEST;
    struct event *e = event_begin(sink, "dnp3", dir);
    dnp3_link_fields(e, l);
    ev_uint(e, "frames", f->frames);
    ev_uint(e, "len", f->len);
    if (c.err) {
        event_op(e, "malformed");
        event_anomaly(e, A_TRUNCATED);
        event_emit(sink, e);
        return;
    }
    const char *name = dnp3_func_name(func);
    ev_obj_begin(e, "al");
    ev_bool(e, "fir", ac & 0x80);
    ev_bool(e, "fin", ac & 0x40);
    ev_bool(e, "con", ac & 0x20);
    ev_bool(e, "uns", ac & 0x10);
    ev_uint(e, "seq", ac & 0x0F);
    ev_end(e);
    ev_uint(e, "func", func);
    /* A response carries the request it answers (same application sequence). */
    if ((func == 129 || func == 131) && st->req.valid && st->req.seq == (ac & 0x0F)) {
        ev_uint(e, "request_func", st->req.func);
        if (info->ts_us >= st->req.ts_us) ev_uint(e, "latency_us", info->ts_us - st->req.ts_us);
        st->req.valid = 0;
    } else if (dir == EV_DIR_REQUEST && func != 0) {
        st->req.valid = 1;
        st->req.func = func;
        st->req.seq = ac & 0x0F;
        st->req.ts_us = info->ts_us;
    }
    if (name)
        ev_cstr(e, "func_name", name);
    else
        event_anomaly(e, A_UNKNOWN_FUNC);
    uint16_t iin = 0;
    int iin_ok = 0;
    if (func >= 129 && func <= 131) {
        iin = cursor_u16be(&c); /* IIN1 then IIN2 */
        if (c.err) {
            event_anomaly(e, A_TRUNCATED);
        } else {
            iin_ok = 1;
            ev_uint(e, "iin", iin);
            ev_arr_begin(e, "iin_flags");
            for (int b = 15; b >= 0; b--)
                if (iin & (1u << b)) ev_cstr(e, NULL, dnp3_iin_names[b]);
            ev_end(e);
        }
    }
    struct dnp3_seen seen;
    memset(&seen, 0, sizeof(seen));
    /* file data travels in writes (to the outstation) and responses (from it) */
    struct dnp3_file_ctx fx = {&st->file[info->to_server ? 1 : 0], sink, info->to_server};
    int file_data = yara_worker_active(sink->yara) && (func == 2 || func == 129 || func == 130);
    if (!c.err) dnp3_objects(e, &c, func, &seen, file_data ? &fx : NULL);
    const char *op = name ? dnp3_func_op(func) : "unknown_function";
    if (func == 2 && seen.g50)
        op = "time_set";
    else if (func == 2 && seen.g80)
        op = "clear_restart_iin";
    else if ((func == 32 || func == 131) && seen.g120_err)
        op = "sa_error";
    else if ((func == 32 || func == 131) && seen.g120_kc)
        op = "sa_key_change";
    event_code(e, func, op);
    event_emit(sink, e);
    if (!st->has_first) {
        st->has_first = 1;
        st->first_ts = info->ts_us;
    }
    if (dir == EV_DIR_REQUEST && name)
        dnp3_detect_request(st, sink, info, l, f, func, ac & 0x0F, &seen);
    else if (dir != EV_DIR_REQUEST)
        dnp3_detect_response(st, sink, info, l, func, ac & 0x0F, iin_ok, iin, &seen);
}

/* Adds a transport segment to this direction's fragment; emits on FIN. */
static void dnp3_transport(struct dnp3_state *st, const struct pdu_info *info,
                           struct event_sink *sink, const struct dnp3_link *l, const uint8_t *data,
                           size_t n)
{
    struct dnp3_frag *f = &st->frag[info->to_server ? 1 : 0];
    uint8_t th = data[0];
    int fin = th & 0x80, fir = th & 0x40;
    uint8_t seq = th & 0x3F;
    size_t plen = n - 1;
    if (fir) {
        if (f->active) dnp3_malformed(sink, info, l, A_ABANDONED);
        f->active = 1;
        f->len = 0;
        f->frames = 0;
        f->src = l->src;
        f->dst = l->dst;
    } else if (f->active && seq == f->seq && f->src == l->src && f->dst == l->dst) {
        return; /* a repeated segment (link-layer retry): already added */
    } else if (!f->active || seq != ((f->seq + 1) & 0x3F) || f->src != l->src || f->dst != l->dst) {
        f->active = 0;
        dnp3_malformed(sink, info, l, A_OUT_OF_SEQ);
        return;
    }
    f->seq = seq;
    if (plen > DNP3_MAX_FRAGMENT - (size_t)f->len) {
        f->active = 0;
        dnp3_malformed(sink, info, l, A_TOO_LONG);
        return;
    }
    if (plen) memcpy(f->buf + f->len, data + 1, plen);
    f->len = (uint16_t)(f->len + plen);
    f->frames++;
    if (fin) {
        f->active = 0;
        dnp3_app(st, sink, info, l, f);
    }
}

/* One complete link frame: c covers exactly its bytes, header CRC verified. */
static void dnp3_frame(struct dnp3_state *st, struct cursor *c, const struct pdu_info *info,
                       struct event_sink *sink)
{
    struct dnp3_link l;
    cursor_skip(c, 2); /* 0x05 0x64 */
    l.len = cursor_u8(c);
    l.ctrl = cursor_u8(c);
    l.dst = cursor_u16le(c);
    l.src = cursor_u16le(c);
    cursor_skip(c, 2); /* header CRC, checked by the caller */
    uint8_t data[250];
    size_t n = 0, want = (size_t)l.len - 5;
    int bad = 0;
    while (n < want && !c->err) {
        size_t blk = want - n < 16 ? want - n : 16;
        const uint8_t *p = cursor_take(c, blk);
        uint16_t crc = cursor_u16le(c);
        if (c->err) break;
        if (dnp3_crc(p, blk) != crc) bad = 1;
        memcpy(data + n, p, blk);
        n += blk;
    }
    if (c->err) {
        dnp3_malformed(sink, info, &l, A_TRUNCATED);
        return;
    }
    if (bad) {
        dnp3_malformed(sink, info, &l, A_BAD_CRC);
        return;
    }
    unsigned func = l.ctrl & 0x0F;
    if ((l.ctrl & 0x40) && (func == 3 || func == 4) && n > 0) {
        dnp3_transport(st, info, sink, &l, data, n);
        return;
    }
    struct event *e = event_begin(sink, "dnp3", (l.ctrl & 0x40) ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    event_op(e, dnp3_link_op(l.ctrl));
    dnp3_link_fields(e, &l);
    event_emit(sink, e);
}

/* ---- dissector entry points ---- */

static enum probe_result dnp3_probe(struct cursor *c, int to_server)
{
    int ok0, ok1, ok2;
    uint8_t b0 = cursor_peek_u8(c, 0, &ok0), b1 = cursor_peek_u8(c, 1, &ok1);
    uint8_t len = cursor_peek_u8(c, 2, &ok2);
    if (!ok0) return PROBE_NEED_MORE;
    if (b0 != 0x05) return PROBE_NO;
    if (!ok1) return PROBE_NEED_MORE;
    if (b1 != 0x64) return PROBE_NO;
    if (!ok2) return PROBE_NEED_MORE;
    if (len < 5) return PROBE_NO;
    /* the header CRC makes the answer sure on any port */
    struct cursor hc = *c;
    const uint8_t *h = cursor_take(&hc, 8);
    uint16_t crc = cursor_u16le(&hc);
    if (!h || hc.err) return PROBE_NEED_MORE;
    return dnp3_crc(h, 8) == crc ? PROBE_YES : PROBE_NO;
}

static void *dnp3_state_new(void)
{
    return calloc(1, sizeof(struct dnp3_state));
}

static void dnp3_state_free(void *state)
{
    struct dnp3_state *st = state;
    if (st) {
        object_free(&st->file[0].obj);
        object_free(&st->file[1].obj);
    }
    free(state);
}

static void dnp3_gap(void *state, int to_server)
{
    struct dnp3_state *st = state;
    if (st) st->frag[to_server ? 1 : 0].active = 0;
}

/* Offset of the next 0x05 0x64 at or after `from`, or where a lone trailing
 * 0x05 starts, or the end. */
static size_t dnp3_find_start(const struct cursor *c, size_t from)
{
    size_t left = cursor_left(c);
    for (size_t i = from; i < left; i++) {
        int ok;
        if (cursor_peek_u8(c, i, NULL) != 0x05) continue;
        uint8_t next = cursor_peek_u8(c, i + 1, &ok);
        if (!ok || next == 0x64) return i;
    }
    return left;
}

static size_t dnp3_parse(void *state, struct cursor *c, const struct pdu_info *info,
                         struct event_sink *sink)
{
    struct dnp3_state *st = state;
    size_t start = cursor_pos(c);
    int udp = info->transport != DISS_TCP;
    if (info->after_gap && st) st->frag[info->to_server ? 1 : 0].active = 0;
    while (cursor_left(c) > 0 && !c->err) {
        size_t skip = dnp3_find_start(c, 0);
        if (skip > 0) {
            dnp3_malformed(sink, info, NULL, A_GARBAGE);
            cursor_skip(c, skip);
            continue;
        }
        if (cursor_left(c) < DNP3_HDR_LEN) break;
        /* Header fields through a copy of the cursor: nothing is consumed yet. */
        struct cursor hc = *c;
        const uint8_t *h = cursor_peek_ptr(&hc, 8);
        cursor_skip(&hc, 2);
        struct dnp3_link l;
        l.len = cursor_u8(&hc);
        l.ctrl = cursor_u8(&hc);
        l.dst = cursor_u16le(&hc);
        l.src = cursor_u16le(&hc);
        uint16_t hcrc = cursor_u16le(&hc);
        if (!h || hc.err) break;
        uint8_t len = l.len;
        if (len < 5 || dnp3_crc(h, 8) != hcrc) {
            dnp3_malformed(sink, info, &l, len < 5 ? A_BAD_LENGTH : A_BAD_CRC);
            cursor_skip(c, 2); /* resynchronise on the next start octets */
            continue;
        }
        size_t size = dnp3_frame_size(len);
        if (cursor_left(c) < size) break;
        struct cursor f = cursor_sub(c, size);
        if (st) dnp3_frame(st, &f, info, sink);
    }
    if (udp && cursor_left(c) > 0) { /* a datagram ends mid-frame */
        dnp3_malformed(sink, info, NULL, A_TRUNCATED);
        cursor_skip(c, cursor_left(c));
    }
    return cursor_pos(c) - start;
}

/* A file whose last block never came is scanned as it stands, marked partial. */
static void dnp3_end(void *state, int to_server, struct event_sink *sink)
{
    struct dnp3_state *st = state;
    object_partial(&st->file[to_server ? 1 : 0].obj, sink, to_server);
}

const struct dissector dnp3_dissector = {
    .id = DISS_DNP3,
    .name = "dnp3",
    .transports = DISS_TCP | DISS_UDP,
    .ports = {20000, 0},
    .probe = dnp3_probe,
    .state_new = dnp3_state_new,
    .state_free = dnp3_state_free,
    .parse = dnp3_parse,
    .gap = dnp3_gap,
    .anomalies = dnp3_anomalies,
    .max_pdu = DNP3_MAX_FRAME,
    .end = dnp3_end,
};
