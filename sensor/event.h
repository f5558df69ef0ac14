/* event.h - typed protocol events: what dissectors emit, rules match and outputs write.
 *
 * A dissector builds one event per PDU with event_begin(), adds typed fields
 * (which land in the event's protocol object, e.g. "modbus": {...}), and hands it
 * back with event_emit(). Dissectors never write JSON and never decide alerts. Keys
 * and op names must be static strings; string values are copied into the event. */
#ifndef OTS_EVENT_H
#define OTS_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EVENT_MAX_FIELDS    256
#define EVENT_STR_ARENA     8192
#define EVENT_MAX_ANOMALIES 8
#define EVENT_STACK         4
#define EVENT_MAX_DEPTH     8
#define EVENT_STR_CAP       256 /* longest string value kept; longer ones are cut */

enum ev_dir { EV_DIR_NONE = 0, EV_DIR_REQUEST, EV_DIR_RESPONSE, EV_DIR_INDICATION };

enum ev_transport {
    EV_TRANSPORT_NONE = 0,
    EV_TRANSPORT_TCP,
    EV_TRANSPORT_UDP,
    EV_TRANSPORT_L2,
    EV_TRANSPORT_ICMP,
    EV_TRANSPORT_OTHER
};

enum evf_type {
    EVF_UINT,
    EVF_INT,
    EVF_BOOL,
    EVF_STR, /* text, JSON-escaped on output */
    EVF_HEX, /* bytes, written as a hex string */
    EVF_DOUBLE,
    EVF_NULL,
    EVF_OBJ, /* opens an object; closed by EVF_END */
    EVF_ARR, /* opens an array; closed by EVF_END */
    EVF_END,
};

struct ev_field {
    const char *key; /* static; NULL for array members */
    uint8_t type;
    uint32_t len; /* STR/HEX: length in the arena */
    union {
        uint64_t u;
        int64_t i;
        double d;
        uint32_t off; /* STR/HEX: offset in the arena */
    } v;
};

/* An IPv4 address is stored as ::ffff:a.b.c.d (IPv4-mapped). */
struct ev_addr {
    uint8_t b[16];
};

/* IPv4 addresses are kept IPv4-mapped (::ffff:a.b.c.d): the first 12 bytes say which. */
extern const uint8_t ev_v4_prefix[12];
static inline int ev_addr_is_v4(const struct ev_addr *a)
{
    return memcmp(a->b, ev_v4_prefix, 12) == 0;
}
static inline void ev_addr_mark_v4(struct ev_addr *a) /* the IPv4 address in b[12..15] */
{
    memcpy(a->b, ev_v4_prefix, 12);
}

/* Where and when: filled by the engine before a dissector runs. */
struct ev_net {
    uint64_t ts_us; /* packet time, microseconds since the epoch */
    uint64_t flow_id;
    char community_id[32];
    struct ev_addr src, dst; /* of this PDU */
    uint16_t src_port, dst_port;
    uint8_t ip_version; /* 4, 6, or 0 for layer 2 */
    uint8_t transport;  /* enum ev_transport */
    uint8_t has_mac;
    uint8_t vlan_count;
    uint8_t src_mac[6], dst_mac[6];
    uint16_t vlan[2];
    uint8_t iface; /* capture source index */
    uint8_t to_server;
};

struct event {
    struct ev_net net;
    uint64_t key_bits; /* ev_key_bit of every field name, at any depth */
    /* both static strings, never a buffer: the rule engine and the correlation stage
     * remember what they know of a name by its address */
    const char *proto; /* "modbus", "flow", "decoder", ... */
    const char *op;    /* stable snake_case name; the event name is proto "." op */
    uint8_t dir;       /* enum ev_dir */
    uint8_t has_code;
    uint8_t depth;
    uint8_t nanom;
    uint8_t overflow;  /* fields or text were dropped for lack of room */
    uint32_t realmask; /* which open container levels were written */
    int64_t code;
    const char *anomalies[EVENT_MAX_ANOMALIES];
    uint16_t nfields;
    uint32_t str_used;
    struct ev_field fields[EVENT_MAX_FIELDS];
    char str[EVENT_STR_ARENA];
};

struct event_sink;
struct yara_worker;
struct diss_params;
typedef void (*event_deliver_fn)(void *ctx, struct event *ev);

#define SINK_SHARED_MAX 32 /* >= DISS_MAX (dissector.h checks) */

/* One sink per worker. The engine sets `net` before each dissector call. */
struct event_sink {
    event_deliver_fn deliver;
    void *ctx;
    struct ev_net net;
    /* the bytes the dissector is parsing, from the current PDU's first byte (rules'
     * `content`); set by the engine around each parse() call, NULL otherwise */
    const uint8_t *payload;
    size_t payload_len;
    int top;
    uint64_t emitted;
    struct yara_worker *yara;         /* scans objects (object.h); NULL: objects are not kept */
    const struct diss_params *params; /* detectors' settings (diss_params.h); NULL: defaults */
    /* per dissector id: what that dissector's flows in this worker share (its
     * worker_new, dissector.h); NULL when it has none or it could not be made */
    void *shared[SINK_SHARED_MAX];
    struct event stack[EVENT_STACK];
};

void event_sink_init(struct event_sink *s, event_deliver_fn deliver, void *ctx);

/* Starts an event for proto in the sink's current context. At most EVENT_STACK
 * events may be open at once (e.g. an ENIP event and the CIP event inside it). */
struct event *event_begin(struct event_sink *s, const char *proto, enum ev_dir dir);
/* The PDU's primary operation code (DESIGN §2) and its name. */
void event_code(struct event *e, int64_t code, const char *op);
/* Name without a code (S/U frames, anomalies, engine events). */
void event_op(struct event *e, const char *op);
/* Swaps the two ends of a net (addresses, ports, MACs) and flips to_server: the same
 * flow seen from its other side. */
void ev_net_reverse(struct ev_net *n);
/* Full anomaly name, e.g. "modbus.invalid_length"; static string. */
void event_anomaly(struct event *e, const char *name);
void event_emit(struct event_sink *s, struct event *e);
void event_discard(struct event_sink *s, struct event *e);

/* A field of event e (event.c); NULL, with e->overflow set, when it cannot be had. */
struct ev_field *ev_add(struct event *e, const char *key, uint8_t type);

/* A bit standing for a field name, from its first two bytes (a multiplicative hash).
 * An event's key_bits let a matcher pass over an event that cannot hold a name
 * without walking its fields; a name sharing the bit only costs that walk. For a
 * literal name the compiler folds the bit to a constant. */
static inline uint64_t ev_key_bit(const char *key)
{
    uint32_t h = ((uint32_t)(unsigned char)key[0] << 8) | (key[0] ? (unsigned char)key[1] : 0u);
    return 1ull << ((h * 0x165667B1u) >> 26);
}

/* The next field, set empty (the caller has checked there is room). */
static inline struct ev_field *ev_take(struct event *e, const char *key, uint8_t type)
{
    if (key) e->key_bits |= ev_key_bit(key);
    struct ev_field *f = &e->fields[e->nfields++];
    f->key = key;
    f->type = type;
    f->len = 0;
    f->v.u = 0;
    return f;
}

/* The scalar setters run for every field of every PDU: their common case is inline
 * (room left, and every open container written); the rest is ev_add's. */
static inline struct ev_field *ev_add_scalar(struct event *e, const char *key, uint8_t type)
{
    unsigned d = e->depth;
    if ((d == 0 || (d <= 32 && (e->realmask & (1u << (d - 1))))) &&
        e->nfields + 1u + d <= EVENT_MAX_FIELDS)
        return ev_take(e, key, type);
    return ev_add(e, key, type);
}

static inline void ev_uint(struct event *e, const char *key, uint64_t v)
{
    struct ev_field *f = ev_add_scalar(e, key, EVF_UINT);
    if (f) f->v.u = v;
}

static inline void ev_int(struct event *e, const char *key, int64_t v)
{
    struct ev_field *f = ev_add_scalar(e, key, EVF_INT);
    if (f) f->v.i = v;
}

static inline void ev_bool(struct event *e, const char *key, int v)
{
    struct ev_field *f = ev_add_scalar(e, key, EVF_BOOL);
    if (f) f->v.u = v != 0;
}
void ev_double(struct event *e, const char *key, double v);
void ev_null(struct event *e, const char *key);
/* Copies at most EVENT_STR_CAP bytes; non-UTF-8 bytes are escaped on output. */
void ev_str(struct event *e, const char *key, const void *s, size_t len);
void ev_cstr(struct event *e, const char *key, const char *s);
/* Copies at most EVENT_STR_CAP bytes, written as lowercase hex. */
void ev_hex(struct event *e, const char *key, const void *b, size_t len);
void ev_obj_begin(struct event *e, const char *key);
void ev_arr_begin(struct event *e, const char *key);
void ev_end(struct event *e);

/* Lookup for rules and tests: path of keys inside the protocol object, "a.b.c".
 * Array members are not addressable by path. Returns NULL if absent. */
const struct ev_field *event_find(const struct event *e, const char *path);
/* Text of a STR or HEX field (not NUL-terminated). */
const char *event_field_text(const struct event *e, const struct ev_field *f);
int event_has_anomaly(const struct event *e, const char *name);

/* Serialises the event as one JSON object (no newline) into buf. Returns the
 * length, or 0 if buf is too small. */
size_t event_to_json(const struct event *e, const char *sensor_name, char *buf, size_t cap);

#endif
