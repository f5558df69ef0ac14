/* mqtt.c - MQTT dissector (v3.1, v3.1.1 and v5 control packets).
 *
 * One control packet per event. Every packet opens with a fixed header:
 *
 *   +-----------+-----------+------------------------------------------+
 *   | type|flags| remaining length (varint, 1..4 bytes, 7 bits each)   |
 *   +-----------+-----------+------------------------------------------+
 *   | variable header and payload: remaining length bytes              |
 *   +------------------------------------------------------------------+
 *    type: 1 CONNECT 2 CONNACK 3 PUBLISH 4 PUBACK 5 PUBREC 6 PUBREL
 *    7 PUBCOMP 8 SUBSCRIBE 9 SUBACK 10 UNSUBSCRIBE 11 UNSUBACK 12 PINGREQ
 *    13 PINGRESP 14 DISCONNECT 15 AUTH (v5). flags: PUBLISH dup(3) qos(2-1)
 *    retain(0); PUBREL, SUBSCRIBE, UNSUBSCRIBE 0010; every other type 0000.
 *    Strings are a 2-byte length and UTF-8; v5 adds a property block (varint
 *    length + properties) after most variable headers, which we skip.
 *
 * Choices worth knowing:
 * - `code` is the control packet type (tshark's mqtt.msgtype); the op is the
 *   packet's name (the taxonomy's mqtt_* ids are detections over these fields).
 * - The protocol level comes from CONNECT and applies to the whole flow; until
 *   one is seen (mid-stream), packets are read as v3.1.1.
 * - A remaining length of more than 4 bytes is mqtt.overlong_length: the stream
 *   has lost its framing, so we scan byte by byte for a header whose type and
 *   flags are valid (one mqtt.resync event per episode).
 * - A packet larger than MQTT_MAX_PDU is not buffered: once its first
 *   MQTT_BIG_HEAD bytes are in, the event is built from them (`partial`) and
 *   the rest is skipped as it arrives.
 * - CONNECT reports whether a username and password are present and the
 *   username; the password bytes never enter an event (nor the username when
 *   it equals the password, as some devices send it).
 * - Requests carrying a packet id (PUBLISH QoS 1/2, PUBREL, SUBSCRIBE,
 *   UNSUBSCRIBE) and CONNECT/PINGREQ are remembered so the response carries the
 *   request type and the latency.
 * - state_spoof (a derived event, code null, after the PUBLISH's own): the client
 *   publishes a Sparkplug B death certificate or host state of a node that is not its
 *   own: spBv1.0/<group>/NDEATH/<edge node>, .../DDEATH/<edge node>/<device>,
 *   spBv1.0/STATE/<host id> (Sparkplug 3.0) or STATE/<host id> (B 2.2). Its own edge
 *   node is the one of its Will topic (NDEATH), else of the NBIRTH it published, or
 *   the edge node id equal to its client id; its own host is the one of its Will topic
 *   (STATE) or its client id. A flow picked up after its CONNECT has no identity and
 *   raises nothing. Only hashes of the names are kept per flow. */
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "pending.h"
#include "fnv.h"

#define MQTT_MAX_PDU     65536 /* buffered whole; larger packets are skipped through */
#define MQTT_BIG_HEAD    1024  /* bytes of a large packet we wait for before skipping */
#define MQTT_MAX_PENDING 32
#define MQTT_MAX_TOPICS  16 /* topics kept per SUBSCRIBE/UNSUBSCRIBE event */
#define MQTT_MAX_CODES   16 /* return codes kept per SUBACK/UNSUBACK event */

enum {
    MQ_CONNECT = 1,
    MQ_CONNACK,
    MQ_PUBLISH,
    MQ_PUBACK,
    MQ_PUBREC,
    MQ_PUBREL,
    MQ_PUBCOMP,
    MQ_SUBSCRIBE,
    MQ_SUBACK,
    MQ_UNSUBSCRIBE,
    MQ_UNSUBACK,
    MQ_PINGREQ,
    MQ_PINGRESP,
    MQ_DISCONNECT,
    MQ_AUTH,
};

static const char *const mqtt_anomalies[] = {
    "mqtt.overlong_length",
    "mqtt.invalid_qos",
    "mqtt.bad_flags",
    "mqtt.reserved_type",
    "mqtt.bad_protocol_name",
    "mqtt.bad_protocol_level",
    "mqtt.bad_connect_flags",
    "mqtt.truncated_packet",
    "mqtt.trailing_data",
    "mqtt.bad_properties",
    "mqtt.empty_subscription",
    "mqtt.resync",
    NULL,
};

/* A request waiting for its answer (its slot's age in mqtt_state.ages). */
struct mq_pending {
    uint64_t ts_us;
    uint16_t pid;
    uint8_t req;  /* request type */
    uint8_t resp; /* the type that answers it */
    uint8_t dir;  /* 0 client -> server */
};

enum mq_mode { MQ_SYNCED = 0, MQ_SCAN };

struct mq_dir {
    uint8_t mode;
    uint32_t skipped;   /* bytes skipped while scanning */
    uint64_t skip_left; /* rest of a large packet still to pass over */
};

/* Who the client is, for state_spoof: FNV-1a hashes of Sparkplug names. */
struct mq_ident {
    uint8_t connected; /* its CONNECT was seen */
    uint8_t has_will_node, has_birth_node, has_will_host;
    uint64_t client_id;
    uint64_t will_node;  /* group/edge node of an NDEATH Will topic */
    uint64_t birth_node; /* group/edge node of the first NBIRTH it published */
    uint64_t will_host;  /* host id of a STATE Will topic */
};

struct mqtt_state {
    uint8_t version; /* protocol level from CONNECT; 0 unknown */
    struct mq_pending pend[MQTT_MAX_PENDING];
    struct pend_ages ages;
    struct mq_dir dir[2];
    struct mq_ident id;
};

static const char *mq_type_op(uint8_t t)
{
    static const char *const names[] = {
        "reserved", "connect",  "connack",    "publish", "puback",      "pubrec",
        "pubrel",   "pubcomp",  "subscribe",  "suback",  "unsubscribe", "unsuback",
        "pingreq",  "pingresp", "disconnect", "auth",
    };
    return names[t & 15];
}

/* The fixed-header flags the spec requires for each type (-1: any, PUBLISH). */
static int mq_required_flags(uint8_t t)
{
    switch (t) {
    case MQ_PUBLISH: return -1;
    case MQ_PUBREL:
    case MQ_SUBSCRIBE:
    case MQ_UNSUBSCRIBE: return 2;
    default: return 0;
    }
}

static uint8_t mq_dir_of(uint8_t t, int to_server)
{
    switch (t) {
    case MQ_CONNECT:
    case MQ_PUBLISH:
    case MQ_PUBREL:
    case MQ_SUBSCRIBE:
    case MQ_UNSUBSCRIBE:
    case MQ_PINGREQ: return EV_DIR_REQUEST;
    case MQ_CONNACK:
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBCOMP:
    case MQ_SUBACK:
    case MQ_UNSUBACK:
    case MQ_PINGRESP: return EV_DIR_RESPONSE;
    case MQ_AUTH: return to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE;
    default: return EV_DIR_INDICATION;
    }
}

/* ---- framing ---- */

enum mq_hdr { MQ_HDR_OK, MQ_HDR_SHORT, MQ_HDR_OVERLONG };

/* Reads a variable byte integer (at most 4 bytes) without moving c. */
static enum mq_hdr mq_peek_varint(const struct cursor *c, size_t at, uint32_t *v, size_t *n)
{
    uint32_t val = 0;
    for (size_t i = 0; i < 4; i++) {
        int ok = 1;
        uint8_t b = cursor_peek_u8(c, at + i, &ok);
        if (!ok) return MQ_HDR_SHORT;
        val |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = val;
            *n = i + 1;
            return MQ_HDR_OK;
        }
    }
    return MQ_HDR_OVERLONG;
}

static enum mq_hdr mq_header(const struct cursor *c, uint8_t *b0, uint32_t *rem, size_t *hlen)
{
    int ok = 1;
    *b0 = cursor_peek_u8(c, 0, &ok);
    if (!ok) return MQ_HDR_SHORT;
    size_t n = 0;
    enum mq_hdr h = mq_peek_varint(c, 1, rem, &n);
    *hlen = 1 + n;
    return h;
}

/* While scanning: a header we would believe is a packet start. */
static int mq_plausible(uint8_t b0, uint32_t rem)
{
    uint8_t t = b0 >> 4, fl = b0 & 15;
    int req = mq_required_flags(t);
    if (t == 0 || rem > MQTT_MAX_PDU) return 0;
    if (req >= 0 && fl != req) return 0;
    if (t == MQ_PUBLISH && ((fl >> 1) & 3) == 3) return 0;
    if ((t == MQ_PINGREQ || t == MQ_PINGRESP) && rem != 0) return 0;
    if ((t == MQ_PUBACK || t == MQ_PUBREC || t == MQ_PUBREL || t == MQ_PUBCOMP ||
         t == MQ_CONNACK) &&
        rem < 2)
        return 0;
    return 1;
}

/* ---- pending requests ---- */

_Static_assert(MQTT_MAX_PENDING <= PEND_MAX, "pending table too large");

static void mq_pending_add(struct mqtt_state *st, uint8_t req, uint8_t resp, uint16_t pid, int dir,
                           uint64_t ts)
{
    struct mq_pending *slot = &st->pend[pend_take_slot(&st->ages, MQTT_MAX_PENDING)];
    slot->req = req;
    slot->resp = resp;
    slot->pid = pid;
    slot->dir = (uint8_t)dir;
    slot->ts_us = ts;
}

static int mq_pending_take(struct mqtt_state *st, uint8_t resp, uint16_t pid, int dir,
                           struct mq_pending *out)
{
    size_t best = PEND_NONE;
    for (size_t i = 0; i < MQTT_MAX_PENDING; i++) {
        const struct mq_pending *p = &st->pend[i];
        if (!pend_used(&st->ages, i) || p->resp != resp || p->pid != pid || p->dir == dir) continue;
        if (pend_older(&st->ages, i, best)) best = i;
    }
    if (best == PEND_NONE) return 0;
    *out = st->pend[best];
    pend_free(&st->ages, best);
    return 1;
}

/* ---- Sparkplug B topics (state_spoof) ---- */

enum spb_kind { SPB_OTHER = 0, SPB_NBIRTH, SPB_NDEATH, SPB_DDEATH, SPB_STATE };

struct spb_topic {
    enum spb_kind kind;
    uint64_t node;       /* hash of "<group>/<edge node>" */
    uint64_t edge;       /* hash of "<edge node>" alone (compared with the client id) */
    uint64_t host;       /* STATE: hash of "<host id>" */
    const uint8_t *name; /* the edge node or host id, for the event */
    size_t name_len;
};

static int mq_level_is(const uint8_t *p, size_t n, const char *w)
{
    size_t wl = strlen(w);
    return n == wl && memcmp(p, w, wl) == 0;
}

/* Splits a topic (a verified span of the packet) into its Sparkplug parts. */
static void spb_parse(const uint8_t *t, size_t n, struct spb_topic *out)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *lv[6];
    size_t ll[6];
    size_t nl = 0, from = 0;
    for (size_t i = 0; i <= n && nl < 6; i++) {
        if (i == n || t[i] == '/') {
            lv[nl] = t + from;
            ll[nl] = i - from;
            nl++;
            from = i + 1;
        }
    }
    if (nl == 2 && mq_level_is(lv[0], ll[0], "STATE") && ll[1]) { /* B 2.2 */
        out->kind = SPB_STATE;
        out->name = lv[1];
        out->name_len = ll[1];
    } else if (nl == 3 && mq_level_is(lv[0], ll[0], "spBv1.0") &&
               mq_level_is(lv[1], ll[1], "STATE") && ll[2]) { /* Sparkplug 3.0 */
        out->kind = SPB_STATE;
        out->name = lv[2];
        out->name_len = ll[2];
    } else if (nl >= 4 && mq_level_is(lv[0], ll[0], "spBv1.0") && ll[1] && ll[3]) {
        if (nl == 4 && mq_level_is(lv[2], ll[2], "NBIRTH"))
            out->kind = SPB_NBIRTH;
        else if (nl == 4 && mq_level_is(lv[2], ll[2], "NDEATH"))
            out->kind = SPB_NDEATH;
        else if (nl == 5 && mq_level_is(lv[2], ll[2], "DDEATH"))
            out->kind = SPB_DDEATH;
        else
            return;
        out->node = fnv1a64(fnv1a64(fnv1a64(FNV1A64_INIT, lv[1], ll[1]), "/", 1), lv[3], ll[3]);
        out->edge = fnv1a64(FNV1A64_INIT, lv[3], ll[3]);
        out->name = lv[3];
        out->name_len = ll[3];
        return;
    } else {
        return;
    }
    out->host = fnv1a64(FNV1A64_INIT, out->name, out->name_len);
}

/* Whether the client publishing topic tp may: 1 yes, 0 a spoof, -1 unknown. */
static int mq_owns(const struct mq_ident *id, const struct spb_topic *tp)
{
    if (tp->kind == SPB_STATE) {
        if (!id->connected) return -1;
        return (id->has_will_host && id->will_host == tp->host) || id->client_id == tp->host;
    }
    if (!id->connected && !id->has_birth_node) return -1;
    if (id->connected && id->client_id == tp->edge) return 1;
    if (id->has_will_node) return id->will_node == tp->node;
    return id->has_birth_node && id->birth_node == tp->node;
}

/* ---- fields ---- */

struct mq_pkt {
    struct mqtt_state *st;
    struct event *e;
    struct cursor *c; /* after the fixed header */
    uint8_t type, flags;
    int to_server;
    int v5;
    const uint8_t *spoof; /* state_spoof: the topic (a span of the packet) */
    size_t spoof_len;
    struct spb_topic spoof_tp;
    int has_pid;
    uint16_t pid;
    int strict; /* the layout fixes the length: leftover bytes are trailing data */
    int bad_props;
};

/* A length-prefixed string; returns 0 (cursor failed) when truncated. */
static int mq_string(struct cursor *c, const uint8_t **p, size_t *n)
{
    uint16_t len = cursor_u16be(c);
    const uint8_t *s = cursor_take(c, len);
    if (!s && c->err) return 0;
    *p = s;
    *n = len;
    return 1;
}

static int mq_varint(struct cursor *c, uint32_t *v)
{
    size_t n = 0;
    enum mq_hdr h = mq_peek_varint(c, 0, v, &n);
    if (h == MQ_HDR_SHORT) {
        cursor_fail(c, CURSOR_TRUNCATED);
        return 0;
    }
    if (h == MQ_HDR_OVERLONG) {
        cursor_invalid(c);
        return 0;
    }
    cursor_skip(c, n);
    return 1;
}

/* v5 property block: its length is reported, the properties skipped. */
static void mq_props(struct mq_pkt *m, const char *key)
{
    if (!m->v5) return;
    uint32_t len = 0;
    if (!mq_varint(m->c, &len)) {
        if (m->c->err == CURSOR_INVALID) m->bad_props = 1;
        return;
    }
    ev_uint(m->e, key, len);
    cursor_sub(m->c, len);
}

static void mq_pid(struct mq_pkt *m)
{
    m->pid = cursor_u16be(m->c);
    if (m->c->err) return;
    m->has_pid = 1;
    ev_uint(m->e, "packet_id", m->pid);
}

static int mq_has_wildcard(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '#' || p[i] == '+') return 1;
    return 0;
}

/* ---- packets ---- */

static void mq_connect(struct mq_pkt *m)
{
    struct event *e = m->e;
    const uint8_t *name;
    size_t nlen;
    if (!mq_string(m->c, &name, &nlen)) return;
    ev_str(e, "protocol_name", name, nlen);
    uint8_t level = cursor_u8(m->c);
    uint8_t fl = cursor_u8(m->c);
    uint16_t keepalive = cursor_u16be(m->c);
    if (m->c->err) return;
    int mqtt = nlen == 4 && memcmp(name, "MQTT", 4) == 0;
    int mqisdp = nlen == 6 && memcmp(name, "MQIsdp", 6) == 0;
    if (!mqtt && !mqisdp) event_anomaly(e, "mqtt.bad_protocol_name");
    if (level < 3 || level > 5 || (mqisdp && level != 3) || (mqtt && level == 3))
        event_anomaly(e, "mqtt.bad_protocol_level");
    m->st->version = level;
    m->v5 = level == 5;
    ev_uint(e, "protocol_level", level);
    ev_uint(e, "connect_flags", fl);
    int will = (fl >> 2) & 1, will_qos = (fl >> 3) & 3, will_retain = (fl >> 5) & 1;
    int has_pw = (fl >> 6) & 1, has_user = (fl >> 7) & 1;
    ev_bool(e, "clean_session", (fl >> 1) & 1);
    ev_uint(e, "keepalive", keepalive);
    ev_bool(e, "will", will);
    ev_bool(e, "username_present", has_user);
    ev_bool(e, "password_present", has_pw);
    if ((fl & 1) || (!will && (will_qos || will_retain)))
        event_anomaly(e, "mqtt.bad_connect_flags");
    if (will_qos == 3) event_anomaly(e, "mqtt.invalid_qos");
    mq_props(m, "properties_len");
    const uint8_t *s;
    size_t n;
    struct mq_ident *id = &m->st->id;
    memset(id, 0, sizeof(*id)); /* one CONNECT per connection: a new one starts over */
    if (!mq_string(m->c, &s, &n)) return;
    ev_str(e, "client_id", s, n);
    id->connected = 1;
    id->client_id = fnv1a64(FNV1A64_INIT, s, n);
    if (will) {
        mq_props(m, "will_properties_len");
        if (!mq_string(m->c, &s, &n)) return;
        struct spb_topic tp;
        spb_parse(s, n, &tp);
        if (tp.kind == SPB_NDEATH) {
            id->has_will_node = 1;
            id->will_node = tp.node;
        } else if (tp.kind == SPB_STATE) {
            id->has_will_host = 1;
            id->will_host = tp.host;
        }
        ev_obj_begin(e, "will_msg");
        ev_str(e, "topic", s, n);
        ev_uint(e, "qos", (unsigned)will_qos);
        ev_bool(e, "retain", will_retain);
        uint16_t plen = cursor_u16be(m->c);
        cursor_skip(m->c, plen);
        ev_uint(e, "payload_size", plen);
        ev_end(e);
        if (m->c->err) return;
    }
    const uint8_t *user = NULL;
    size_t ulen = 0;
    if (has_user && !mq_string(m->c, &user, &ulen)) return;
    const uint8_t *pw = NULL;
    size_t pwlen = 0;
    /* the password is read as a verified span, compared, and never copied */
    if (has_pw && !mq_string(m->c, &pw, &pwlen)) has_pw = 0;
    if (has_user) {
        /* some clients send the secret in both fields: then neither is logged */
        if (has_pw && pwlen == ulen && (ulen == 0 || memcmp(user, pw, ulen) == 0))
            ev_bool(e, "username_is_password", 1);
        else
            ev_str(e, "username", user, ulen);
    }
}

/* CONNACK: v3 return code, v5 reason code and properties. */
static void mq_connack(struct mq_pkt *m)
{
    uint8_t ack = cursor_u8(m->c);
    uint8_t rc = cursor_u8(m->c);
    if (m->c->err) return;
    ev_bool(m->e, "session_present", ack & 1);
    if (ack & 0xFE) event_anomaly(m->e, "mqtt.bad_flags");
    ev_uint(m->e, m->v5 ? "reason_code" : "return_code", rc);
    if (cursor_left(m->c)) mq_props(m, "properties_len");
}

static void mq_publish(struct mq_pkt *m, uint32_t rem, int partial)
{
    struct event *e = m->e;
    int qos = (m->flags >> 1) & 3;
    ev_uint(e, "qos", (unsigned)qos);
    ev_bool(e, "retain", m->flags & 1);
    ev_bool(e, "dup", (m->flags >> 3) & 1);
    if (qos == 3) event_anomaly(e, "mqtt.invalid_qos");
    if (qos == 0 && (m->flags & 8)) event_anomaly(e, "mqtt.bad_flags");
    size_t start = cursor_left(m->c);
    const uint8_t *s;
    size_t n;
    if (!mq_string(m->c, &s, &n)) return;
    ev_str(e, "topic", s, n);
    if (mq_has_wildcard(s, n)) ev_bool(e, "topic_wildcard", 1); /* not allowed in PUBLISH */
    if (m->to_server && n > 6) { /* a client publishes: is it a Sparkplug state of another? */
        struct spb_topic tp;
        spb_parse(s, n, &tp);
        struct mq_ident *id = &m->st->id;
        if (tp.kind == SPB_NBIRTH && !id->has_birth_node) {
            id->has_birth_node = 1;
            id->birth_node = tp.node;
        } else if (tp.kind != SPB_OTHER && tp.kind != SPB_NBIRTH && mq_owns(id, &tp) == 0) {
            m->spoof = s;
            m->spoof_len = n;
            m->spoof_tp = tp;
        }
    }
    if (qos) mq_pid(m);
    mq_props(m, "properties_len");
    if (m->c->err) return;
    /* the payload is what the remaining length leaves after the headers */
    size_t used = start - cursor_left(m->c);
    ev_uint(e, "payload_size", rem >= used ? rem - used : 0);
    if (partial) ev_bool(e, "partial", 1);
    cursor_skip(m->c, cursor_left(m->c));
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK (v3): packet id; v5 adds a reason
 * code and properties when the length allows. */
static void mq_ack(struct mq_pkt *m)
{
    mq_pid(m);
    if (m->c->err || !m->v5 || cursor_left(m->c) == 0) return;
    ev_uint(m->e, "reason_code", cursor_u8(m->c));
    if (cursor_left(m->c)) mq_props(m, "properties_len");
}

static void mq_subscribe(struct mq_pkt *m, int sub)
{
    struct event *e = m->e;
    mq_pid(m);
    mq_props(m, "properties_len");
    if (m->c->err) return;
    unsigned count = 0;
    int wildcard = 0;
    ev_arr_begin(e, "topics");
    while (cursor_left(m->c) > 0) {
        const uint8_t *s;
        size_t n;
        if (!mq_string(m->c, &s, &n)) break;
        uint8_t opt = sub ? cursor_u8(m->c) : 0;
        if (m->c->err) break;
        int wc = mq_has_wildcard(s, n);
        wildcard |= wc;
        if (count++ < MQTT_MAX_TOPICS) {
            ev_obj_begin(e, NULL);
            ev_str(e, "topic", s, n);
            if (wc) ev_bool(e, "wildcard", 1);
            if (sub) {
                ev_uint(e, "qos", opt & 3u);
                if (m->v5) ev_uint(e, "options", opt);
            }
            ev_end(e);
        }
        if (sub && (opt & 3) == 3) event_anomaly(e, "mqtt.invalid_qos");
        if (sub && (opt & (m->v5 ? 0xC0 : 0xFC))) event_anomaly(e, "mqtt.bad_flags");
    }
    ev_end(e);
    ev_uint(e, "topic_count", count);
    if (wildcard) ev_bool(e, "wildcard", 1);
    if (count == 0 && !m->c->err) event_anomaly(e, "mqtt.empty_subscription");
}

/* SUBACK and v5 UNSUBACK: packet id, properties, one code per topic. */
static void mq_suback(struct mq_pkt *m)
{
    mq_pid(m);
    mq_props(m, "properties_len");
    if (m->c->err) return;
    unsigned n = 0;
    ev_arr_begin(m->e, "return_codes");
    while (cursor_left(m->c) > 0) {
        uint8_t rc = cursor_u8(m->c);
        if (n++ < MQTT_MAX_CODES) ev_uint(m->e, NULL, rc);
    }
    ev_end(m->e);
}

/* DISCONNECT and AUTH (v5): optional reason code and properties. */
static void mq_reason(struct mq_pkt *m)
{
    if (!m->v5 || cursor_left(m->c) == 0) return;
    ev_uint(m->e, "reason_code", cursor_u8(m->c));
    if (cursor_left(m->c)) mq_props(m, "properties_len");
}

/* One packet: pkt holds the fixed header and what is present of the rest. */
static void mq_packet(struct mqtt_state *st, struct mq_dir *ds, struct cursor *pkt,
                      const struct pdu_info *info, struct event_sink *sink, int partial)
{
    uint8_t b0 = cursor_u8(pkt);
    uint32_t rem = 0;
    mq_varint(pkt, &rem);
    int dirn = info->to_server ? 0 : 1;
    struct mq_pkt m = {
        .st = st,
        .c = pkt,
        .type = b0 >> 4,
        .flags = b0 & 15,
        .to_server = info->to_server,
        .v5 = st->version == 5,
        .strict = 1,
    };
    struct event *e = event_begin(sink, "mqtt", mq_dir_of(m.type, info->to_server));
    m.e = e;
    if (m.flags) ev_uint(e, "flags", m.flags);
    ev_uint(e, "remaining_length", rem);
    if (ds->skipped) {
        ev_uint(e, "resync_skipped", ds->skipped);
        ds->skipped = 0;
    }
    int req = mq_required_flags(m.type);
    if (req >= 0 && m.flags != req) event_anomaly(e, "mqtt.bad_flags");
    switch (m.type) {
    case MQ_CONNECT: mq_connect(&m); break;
    case MQ_CONNACK: mq_connack(&m); break;
    case MQ_PUBLISH:
        mq_publish(&m, rem, partial);
        m.strict = 0;
        break;
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBREL:
    case MQ_PUBCOMP: mq_ack(&m); break;
    case MQ_SUBSCRIBE: mq_subscribe(&m, 1); break;
    case MQ_SUBACK: mq_suback(&m); break;
    case MQ_UNSUBSCRIBE: mq_subscribe(&m, 0); break;
    case MQ_UNSUBACK:
        if (m.v5)
            mq_suback(&m);
        else
            mq_ack(&m);
        break;
    case MQ_PINGREQ:
    case MQ_PINGRESP: break;
    case MQ_DISCONNECT:
    case MQ_AUTH:
        if (m.type == MQ_AUTH && st->version && !m.v5) event_anomaly(e, "mqtt.reserved_type");
        mq_reason(&m);
        break;
    default:
        event_anomaly(e, "mqtt.reserved_type");
        m.strict = 0;
        break;
    }
    if (m.bad_props) event_anomaly(e, "mqtt.bad_properties");
    if (pkt->err == CURSOR_TRUNCATED && !partial)
        event_anomaly(e, "mqtt.truncated_packet");
    else if (pkt->err == CURSOR_OK && m.strict && st->version && cursor_left(pkt) > 0)
        event_anomaly(e, "mqtt.trailing_data");
    /* pairing: responses name their request and its latency */
    uint64_t now = info->ts_us ? info->ts_us : sink->net.ts_us;
    uint8_t resp = 0;
    switch (m.type) {
    case MQ_CONNECT: resp = MQ_CONNACK; break;
    case MQ_PINGREQ: resp = MQ_PINGRESP; break;
    case MQ_PUBLISH: {
        int qos = (m.flags >> 1) & 3;
        resp = qos == 1 ? MQ_PUBACK : qos == 2 ? MQ_PUBREC : 0;
        break;
    }
    case MQ_PUBREL: resp = MQ_PUBCOMP; break;
    case MQ_SUBSCRIBE: resp = MQ_SUBACK; break;
    case MQ_UNSUBSCRIBE: resp = MQ_UNSUBACK; break;
    default: break;
    }
    int keyed = m.type != MQ_CONNECT && m.type != MQ_PINGREQ && m.type != MQ_CONNACK &&
                m.type != MQ_PINGRESP;
    if (resp && (m.has_pid || !keyed)) mq_pending_add(st, m.type, resp, m.pid, dirn, now);
    if (mq_dir_of(m.type, info->to_server) == EV_DIR_RESPONSE && m.type != MQ_AUTH &&
        (m.has_pid || !keyed)) {
        struct mq_pending rq;
        if (mq_pending_take(st, m.type, m.pid, dirn, &rq)) {
            ev_uint(e, "request_type", rq.req);
            ev_uint(e, "latency_us", now > rq.ts_us ? now - rq.ts_us : 0);
        }
    }
    event_code(e, m.type, mq_type_op(m.type));
    event_emit(sink, e);
    if (m.spoof) {
        static const char *const kinds[] = {"", "nbirth", "ndeath", "ddeath", "state"};
        e = event_begin(sink, "mqtt", EV_DIR_REQUEST);
        event_op(e, "state_spoof");
        ev_str(e, "topic", m.spoof, m.spoof_len);
        ev_cstr(e, "kind", kinds[m.spoof_tp.kind]);
        ev_str(e, "target", m.spoof_tp.name, m.spoof_tp.name_len);
        ev_bool(e, "client_known", st->id.connected);
        event_emit(sink, e);
    }
}

/* A header we cannot frame on: one event per episode, then scan. */
static void mq_lost(struct mq_dir *ds, const char *why, const struct pdu_info *info,
                    struct event_sink *sink)
{
    if (ds->mode == MQ_SCAN) return;
    struct event *e = event_begin(sink, "mqtt", EV_DIR_INDICATION);
    event_op(e, why ? "malformed" : "resync");
    if (why) event_anomaly(e, why);
    event_anomaly(e, "mqtt.resync");
    (void)info;
    event_emit(sink, e);
    ds->mode = MQ_SCAN;
}

static size_t mqtt_parse(void *state, struct cursor *c, const struct pdu_info *info,
                         struct event_sink *sink)
{
    struct mqtt_state *st = state;
    struct mq_dir *ds = &st->dir[info->to_server ? 0 : 1];
    size_t start = cursor_pos(c);
    if (info->after_gap) {
        ds->skip_left = 0;
        ds->mode = MQ_SCAN;
    }
    for (;;) {
        if (ds->skip_left) { /* the tail of a large packet */
            size_t n = cursor_left(c);
            if (n > ds->skip_left) n = (size_t)ds->skip_left;
            cursor_skip(c, n);
            ds->skip_left -= n;
            if (ds->skip_left) break;
            continue;
        }
        uint8_t b0 = 0;
        uint32_t rem = 0;
        size_t hlen = 0;
        enum mq_hdr h = mq_header(c, &b0, &rem, &hlen);
        if (h == MQ_HDR_SHORT) break;
        if (h == MQ_HDR_OVERLONG || (ds->mode == MQ_SCAN && !mq_plausible(b0, rem))) {
            mq_lost(ds, h == MQ_HDR_OVERLONG ? "mqtt.overlong_length" : NULL, info, sink);
            cursor_skip(c, 1);
            ds->skipped++;
            continue;
        }
        size_t total = hlen + rem;
        size_t left = cursor_left(c);
        if (total > left) {
            if (total <= MQTT_MAX_PDU || left < MQTT_BIG_HEAD) break; /* wait for more */
            struct cursor pkt = cursor_sub(c, left);
            mq_packet(st, ds, &pkt, info, sink, 1);
            ds->skip_left = total - left;
            ds->mode = MQ_SYNCED;
            break;
        }
        struct cursor pkt = cursor_sub(c, total);
        mq_packet(st, ds, &pkt, info, sink, 0);
        ds->mode = MQ_SYNCED;
    }
    return cursor_pos(c) - start;
}

static void mqtt_gap(void *state, int to_server)
{
    struct mqtt_state *st = state;
    struct mq_dir *ds = &st->dir[to_server ? 0 : 1];
    ds->skip_left = 0;
    ds->mode = MQ_SCAN;
}

/* CONNECT's protocol name: 1 MQTT/MQIsdp, 0 not, -1 not enough bytes yet. */
static int mq_probe_connect(const struct cursor *c, size_t hlen)
{
    static const uint8_t v4[] = {0, 4, 'M', 'Q', 'T', 'T'};
    static const uint8_t v3[] = {0, 6, 'M', 'Q', 'I', 's', 'd', 'p'};
    int m4 = 1, m3 = 1;
    for (size_t i = 0; i < sizeof(v3); i++) {
        int ok = 1;
        uint8_t b = cursor_peek_u8(c, hlen + i, &ok);
        if (!ok) return (m4 || m3) ? -1 : 0;
        if (i < sizeof(v4) && b != v4[i]) m4 = 0;
        if (b != v3[i]) m3 = 0;
        if (i + 1 == sizeof(v4) && m4) return 1;
        if (!m4 && !m3) return 0;
    }
    return m3;
}

/* A PUBLISH topic of printable ASCII: 1 yes, 0 no, -1 not enough bytes yet. */
static int mq_probe_topic(const struct cursor *c, size_t at, uint32_t rem)
{
    int ok = 1;
    uint16_t n = cursor_peek_u16be(c, at, &ok);
    if (!ok) return -1;
    if (n == 0 || n + 2u > rem) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = cursor_peek_u8(c, at + 2 + i, &ok);
        if (!ok) return -1;
        if (b < 0x20 || b > 0x7E) return 0;
    }
    return 1;
}

/* A client's CONNECT (a new connection) or, mid-stream, bytes that tile into
 * well-formed packets one of which is a PUBLISH with a printable topic. */
static enum probe_result mqtt_probe(struct cursor *c, int to_server)
{
    (void)to_server;
    size_t off = 0;
    int seen = 0;
    if (cursor_left(c) == 0) return PROBE_NEED_MORE;
    for (int i = 0; i < 16; i++) {
        struct cursor at = *c;
        if (!cursor_skip(&at, off)) break;
        uint8_t b0 = 0;
        uint32_t rem = 0;
        size_t hlen = 0;
        enum mq_hdr h = mq_header(&at, &b0, &rem, &hlen);
        if (h == MQ_HDR_SHORT) {
            /* a header cut short: worth waiting for if its first byte is valid */
            uint8_t t = b0 >> 4;
            int req = mq_required_flags(t);
            if (cursor_left(&at) > 0 && (t == 0 || (req >= 0 && (b0 & 15) != req))) return PROBE_NO;
            return seen ? PROBE_YES : PROBE_NEED_MORE;
        }
        if (h != MQ_HDR_OK) return PROBE_NO;
        if (b0 == 0x10 && off == 0) {
            if (rem < 10 || rem > MQTT_MAX_PDU) return PROBE_NO;
            int r = mq_probe_connect(&at, hlen);
            return r > 0 ? PROBE_YES : r < 0 ? PROBE_NEED_MORE : PROBE_NO;
        }
        if (!mq_plausible(b0, rem) || b0 >> 4 == MQ_CONNECT || b0 >> 4 == MQ_AUTH) return PROBE_NO;
        if (b0 >> 4 == MQ_PUBLISH) {
            int r = mq_probe_topic(&at, hlen, rem);
            if (r == 0) return PROBE_NO;
            if (r < 0) return PROBE_NEED_MORE;
            seen = 1;
        }
        size_t total = hlen + rem;
        if (total > cursor_left(&at)) return seen ? PROBE_YES : PROBE_NEED_MORE;
        off += total;
        if (off == cursor_left(c)) return seen ? PROBE_YES : PROBE_NEED_MORE;
    }
    return seen ? PROBE_YES : PROBE_NO;
}

static void *mqtt_state_new(void)
{
    return calloc(1, sizeof(struct mqtt_state));
}

static void mqtt_state_free(void *state)
{
    free(state);
}

const struct dissector mqtt_dissector = {
    .id = DISS_MQTT,
    .name = "mqtt",
    .transports = DISS_TCP,
    .ports = {1883, 8883, 0},
    .probe = mqtt_probe,
    .state_new = mqtt_state_new,
    .state_free = mqtt_state_free,
    .parse = mqtt_parse,
    .gap = mqtt_gap,
    .anomalies = mqtt_anomalies,
    .max_pdu = MQTT_MAX_PDU,
};
