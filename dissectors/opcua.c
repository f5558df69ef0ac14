/* opcua.c - OPC UA binary (UA TCP / UA SecureConversation) dissector.
 *
 * Every chunk starts with an 8-byte header (OPC 10000-6 §7.1.2):
 *
 *   0     3  4          8
 *   +-----+--+----------+----------------------------------------+
 *   | MSG |F | size u32 | body (size - 8 bytes), little-endian     |
 *   +-----+--+----------+----------------------------------------+
 *    type: HEL ACK ERR RHE (connection protocol), OPN MSG CLO (secure channel)
 *    chunk: F final, C intermediate, A abort; size counts the header.
 *
 *   HEL: version, recv buf, send buf, max msg, max chunks, String endpoint url
 *   ACK: version, recv buf, send buf, max msg, max chunks
 *   ERR: StatusCode error, String reason       RHE: String server uri, String url
 *   OPN: channel id, String policy uri, ByteString sender cert, ByteString thumbprint,
 *        | seq no, request id | body
 *   MSG/CLO: channel id, token id | seq no, request id | body
 *   body: NodeId type id (the service's binary encoding id), then the service
 *        structure, starting with a RequestHeader or ResponseHeader.
 *
 * Choices worth knowing:
 * - One event per message: HEL/ACK/ERR/RHE (code null), each final OPN/MSG/CLO
 *   chunk (code = numeric service type id, tshark opcua.servicenodeid.numeric,
 *   after reassembling the intermediate chunks of the same request id), each
 *   abort chunk (code null). Intermediate chunks emit nothing; their bodies are
 *   kept per request id (UA_MAX_ASM at once, UA_MAX_MSG bytes each).
 * - A channel whose OPN names a policy other than None has encrypted or signed
 *   bodies: its OPN/MSG/CLO events carry the envelope only (code null,
 *   `encrypted`: true). Without a handshake we try to decode and fall back to the
 *   envelope when the body does not parse.
 * - op: the service's snake_case name for request and response alike (dir says
 *   which); `category` adds the taxonomy's class (discovery, node_management,
 *   subscription, ...). Responses pair with requests by request id (latency).
 * - ActivateSession: the user name is logged, the password never (only whether
 *   one is present and its encryption algorithm).
 * - Chunks above UA_MAX_CHUNK are reported from their header and skipped.
 * - YARA: a WriteRequest value (ByteString, String, XmlElement, or an array of
 *   Byte/SByte) of yara.opcua_write_min bytes or more is an object,
 *   opcua.write_value, named by its NodeId, taken from the reassembled message
 *   (so a value cut over chunks is whole). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "object.h"
#include "yara_scan.h"

#define UA_HDR        8
#define UA_MIN_SIZE   8
#define UA_MAX_CHUNK  (128u * 1024u) /* buffered by the engine; larger ones are skipped */
#define UA_MAX_MSG    (256u * 1024u) /* reassembled message cap */
#define UA_MAX_ASM    4              /* concurrent chunked messages per direction */
#define UA_MAX_PEND   32
#define UA_MAX_ITEMS  16 /* node ids / values kept per event */
#define UA_NODEID_TXT 160

static const char *const opcua_anomalies[] = {
    "opcua.invalid_header",
    "opcua.invalid_chunk_type",
    "opcua.chunk_too_large",
    "opcua.truncated",
    "opcua.malformed_body",
    "opcua.reassembly_overflow",
    "opcua.unmatched_response",
    "opcua.resync",
    "opcua.abort",
    NULL,
};

/* ---- state ---- */

struct ua_asm {
    uint32_t req_id;
    uint32_t chunks;
    uint32_t len, cap;
    uint8_t used;
    uint8_t *buf;
};

struct ua_pending {
    uint64_t ts_us;
    uint32_t req_id;
    uint32_t handle;
    uint32_t service;
    uint8_t used;
};

enum ua_mode { UA_SYNCED = 0, UA_SCAN };

struct ua_dir {
    uint8_t mode;
    uint32_t skipped;   /* bytes skipped in the current resync */
    uint64_t skip_left; /* rest of an oversized chunk still to skip */
    struct ua_asm as[UA_MAX_ASM];
};

struct opcua_state {
    struct ua_dir dir[2]; /* [0] to server */
    struct ua_pending pend[UA_MAX_PEND];
    uint32_t channel_id;
    uint8_t policy_known; /* an OPN named the policy */
    uint8_t secured;      /* policy other than None */
    uint8_t mode_known;
    uint32_t sec_mode; /* MessageSecurityMode from an OPN request */
    uint64_t unmatched, resyncs, overflow;
    struct ots_object wobj; /* a Write value being scanned (begun and ended at once) */
};

/* ---- names ---- */

struct ua_service {
    uint32_t req, resp;
    const char *op;
    const char *category; /* taxonomy class, or NULL */
};

/* Binary encoding ids of the service request/response types (OPC 10000-4, NodeIds.csv). */
static const struct ua_service ua_services[] = {
    {422, 425, "find_servers", "discovery"},
    {12208, 12209, "find_servers_on_network", "discovery"},
    {428, 431, "get_endpoints", "discovery"},
    {437, 440, "register_server", "register_server"},
    {12211, 12212, "register_server2", "register_server"},
    {446, 449, "open_secure_channel", NULL},
    {452, 455, "close_secure_channel", NULL},
    {461, 464, "create_session", "create_session"},
    {467, 470, "activate_session", NULL},
    {473, 476, "close_session", NULL},
    {479, 482, "cancel", NULL},
    {488, 491, "add_nodes", "node_management"},
    {494, 497, "add_references", "node_management"},
    {500, 503, "delete_nodes", "node_management"},
    {506, 509, "delete_references", "node_management"},
    {527, 530, "browse", "browse"},
    {533, 536, "browse_next", "browse"},
    {554, 557, "translate_browse_paths_to_node_ids", "browse"},
    {560, 563, "register_nodes", NULL},
    {566, 569, "unregister_nodes", NULL},
    {613, 616, "query_first", NULL},
    {619, 622, "query_next", NULL},
    {631, 634, "read", NULL},
    {664, 667, "history_read", NULL},
    {673, 676, "write", "write"},
    {700, 703, "history_update", "history_update"},
    {712, 715, "call", "call"},
    {751, 754, "create_monitored_items", "subscription"},
    {763, 766, "modify_monitored_items", "subscription"},
    {769, 772, "set_monitoring_mode", "subscription"},
    {775, 778, "set_triggering", "subscription"},
    {781, 784, "delete_monitored_items", "subscription"},
    {787, 790, "create_subscription", "subscription"},
    {793, 796, "modify_subscription", "subscription"},
    {799, 802, "set_publishing_mode", "subscription"},
    {826, 829, "publish", NULL},
    {832, 835, "republish", NULL},
    {841, 844, "transfer_subscriptions", "subscription"},
    {847, 850, "delete_subscriptions", "subscription"},
};

#define UA_SERVICE_FAULT 397

/* Service of an id; *is_req says which side. NULL: unknown. */
static const struct ua_service *ua_service(uint32_t id, int *is_req)
{
    for (size_t i = 0; i < sizeof(ua_services) / sizeof(ua_services[0]); i++) {
        if (ua_services[i].req == id || ua_services[i].resp == id) {
            *is_req = ua_services[i].req == id;
            return &ua_services[i];
        }
    }
    return NULL;
}

/* Common status codes (OPC 10000-6 StatusCode.csv). */
static const char *ua_status_name(uint32_t s)
{
    switch (s) {
    case 0x00000000: return "Good";
    case 0x80010000: return "BadUnexpectedError";
    case 0x80020000: return "BadInternalError";
    case 0x80030000: return "BadOutOfMemory";
    case 0x80040000: return "BadResourceUnavailable";
    case 0x80050000: return "BadCommunicationError";
    case 0x80060000: return "BadEncodingError";
    case 0x80070000: return "BadDecodingError";
    case 0x80080000: return "BadEncodingLimitsExceeded";
    case 0x800A0000: return "BadTimeout";
    case 0x800B0000: return "BadServiceUnsupported";
    case 0x800C0000: return "BadShutdown";
    case 0x800D0000: return "BadServerNotConnected";
    case 0x800E0000: return "BadServerHalted";
    case 0x800F0000: return "BadNothingToDo";
    case 0x80100000: return "BadTooManyOperations";
    case 0x80120000: return "BadCertificateInvalid";
    case 0x80130000: return "BadSecurityChecksFailed";
    case 0x801F0000: return "BadUserAccessDenied";
    case 0x80200000: return "BadIdentityTokenInvalid";
    case 0x80210000: return "BadIdentityTokenRejected";
    case 0x80220000: return "BadSecureChannelIdInvalid";
    case 0x80250000: return "BadSessionIdInvalid";
    case 0x80260000: return "BadSessionClosed";
    case 0x80270000: return "BadSessionNotActivated";
    default: return NULL;
    }
}

static const char *ua_policy_name(const uint8_t *p, size_t n)
{
    static const char prefix[] = "http://opcfoundation.org/UA/SecurityPolicy#";
    size_t k = sizeof(prefix) - 1;
    if (n <= k || memcmp(p, prefix, k) != 0) return NULL;
    static const char *const names[] = {
        "None",           "Basic128Rsa15",         "Basic256",
        "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (n - k == strlen(names[i]) && memcmp(p + k, names[i], n - k) == 0) return names[i];
    return NULL;
}

static const char *ua_mode_name(uint32_t m)
{
    switch (m) {
    case 1: return "None";
    case 2: return "Sign";
    case 3: return "SignAndEncrypt";
    default: return NULL;
    }
}

static const char *ua_attr_name(uint32_t a)
{
    static const char *const names[] = {
        NULL,
        "NodeId",
        "NodeClass",
        "BrowseName",
        "DisplayName",
        "Description",
        "WriteMask",
        "UserWriteMask",
        "IsAbstract",
        "Symmetric",
        "InverseName",
        "ContainsNoLoops",
        "EventNotifier",
        "Value",
        "DataType",
        "ValueRank",
        "ArrayDimensions",
        "AccessLevel",
        "UserAccessLevel",
        "MinimumSamplingInterval",
        "Historizing",
        "Executable",
        "UserExecutable",
    };
    return a < sizeof(names) / sizeof(names[0]) ? names[a] : NULL;
}

/* ---- primitive decoding ---- */

/* String / ByteString: i32 length, -1 null. Returns the bytes (NULL for null or
 * error); *n gets the length. */
static const uint8_t *ua_bytes(struct cursor *c, size_t *n)
{
    uint32_t raw = cursor_u32le(c);
    *n = 0;
    if (c->err) return NULL;
    int32_t len = (int32_t)raw;
    if (len < 0) {
        if (len != -1) cursor_invalid(c);
        return NULL;
    }
    const uint8_t *p = cursor_take(c, (size_t)len);
    if (p) *n = (size_t)len;
    return p;
}

static void ua_ev_string(struct cursor *c, struct event *e, const char *key)
{
    size_t n;
    const uint8_t *p = ua_bytes(c, &n);
    if (p) ev_str(e, key, p, n);
}

/* Array length: i32, -1 null (0). Absurd counts are invalid. */
static uint32_t ua_count(struct cursor *c)
{
    int32_t n = (int32_t)cursor_u32le(c);
    if (c->err) return 0;
    if (n < -1 || (n > 0 && (size_t)n > cursor_left(c))) {
        cursor_invalid(c);
        return 0;
    }
    return n < 0 ? 0 : (uint32_t)n;
}

struct ua_nodeid {
    uint8_t form; /* encoding byte, flags cleared */
    uint16_t ns;
    uint32_t num; /* numeric forms */
    int numeric;
    char txt[UA_NODEID_TXT];
};

/* NodeId (expanded: also the namespace uri / server index flags). */
static void ua_nodeid(struct cursor *c, struct ua_nodeid *id)
{
    uint8_t enc = cursor_u8(c);
    const uint8_t *p = NULL;
    size_t n = 0;
    memset(id, 0, sizeof(*id));
    id->form = enc & 0x3F;
    switch (id->form) {
    case 0: /* two-byte */
        id->num = cursor_u8(c);
        id->numeric = 1;
        break;
    case 1: /* four-byte */
        id->ns = cursor_u8(c);
        id->num = cursor_u16le(c);
        id->numeric = 1;
        break;
    case 2: /* numeric */
        id->ns = cursor_u16le(c);
        id->num = cursor_u32le(c);
        id->numeric = 1;
        break;
    case 3: /* string */
    case 5: /* opaque */
        id->ns = cursor_u16le(c);
        p = ua_bytes(c, &n);
        break;
    case 4: /* guid */
        id->ns = cursor_u16le(c);
        p = cursor_take(c, 16);
        n = 16;
        break;
    default: cursor_invalid(c); return;
    }
    if (enc & 0x80) { /* namespace uri */
        size_t un;
        ua_bytes(c, &un);
    }
    if (enc & 0x40) cursor_skip(c, 4); /* server index */
    if (c->err) return;
    int k = id->ns ? snprintf(id->txt, sizeof(id->txt), "ns=%u;", id->ns) : 0;
    size_t room = sizeof(id->txt) - (size_t)k;
    char *o = id->txt + k;
    if (id->numeric) {
        snprintf(o, room, "i=%u", id->num);
    } else if (id->form == 3) {
        size_t m = n < room - 3 ? n : room - 3;
        o[0] = 's';
        o[1] = '=';
        if (m) memcpy(o + 2, p, m);
        o[2 + m] = 0;
    } else {
        size_t m = n < (room - 3) / 2 ? n : (room - 3) / 2;
        o[0] = id->form == 4 ? 'g' : 'b';
        o[1] = '=';
        for (size_t i = 0; i < m; i++)
            snprintf(o + 2 + 2 * i, 3, "%02x", p[i]);
        o[2 + 2 * m] = 0;
    }
}

static void ua_ev_nodeid(struct cursor *c, struct event *e, const char *key)
{
    struct ua_nodeid id;
    ua_nodeid(c, &id);
    if (!c->err) ev_cstr(e, key, id.txt);
}

/* DateTime (100 ns since 1601) as microseconds since 1970; 0 stays 0. */
static uint64_t ua_datetime_us(int64_t ft)
{
    const int64_t epoch = 116444736000000000LL;
    return ft > epoch ? (uint64_t)((ft - epoch) / 10) : 0;
}

static void ua_ev_status(struct event *e, const char *key, const char *name_key, uint32_t s)
{
    ev_uint(e, key, s);
    const char *n = ua_status_name(s);
    if (n) ev_cstr(e, name_key, n);
}

/* LocalizedText: mask, [locale], [text]; the text goes to key. */
static void ua_ev_loctext(struct cursor *c, struct event *e, const char *key)
{
    uint8_t m = cursor_u8(c);
    size_t n;
    if (m & 1) ua_bytes(c, &n);
    if (m & 2) ua_ev_string(c, e, key);
}

static void ua_skip_diag(struct cursor *c, int depth)
{
    uint8_t m = cursor_u8(c);
    if (m & 0x01) cursor_skip(c, 4);
    if (m & 0x02) cursor_skip(c, 4);
    if (m & 0x04) cursor_skip(c, 4);
    if (m & 0x08) cursor_skip(c, 4);
    if (m & 0x10) {
        size_t n;
        ua_bytes(c, &n);
    }
    if (m & 0x20) cursor_skip(c, 4);
    if (m & 0x40) {
        if (depth > 4)
            cursor_invalid(c);
        else
            ua_skip_diag(c, depth + 1);
    }
}

/* ExtensionObject: type NodeId, encoding, body. Returns the body (binary) as a
 * sub-cursor; *type gets the type id. */
static struct cursor ua_extobj(struct cursor *c, struct ua_nodeid *type, int *has_body)
{
    struct cursor none = {c->base, c->off, c->off, CURSOR_OK};
    ua_nodeid(c, type);
    uint8_t enc = cursor_u8(c);
    *has_body = 0;
    if (c->err) return none;
    if (enc == 0) return none;
    if (enc > 2) {
        cursor_invalid(c);
        return none;
    }
    uint32_t raw = cursor_u32le(c);
    int32_t len = (int32_t)raw;
    if (len < 0) return none;
    *has_body = enc == 1;
    return cursor_sub(c, (size_t)len);
}

/* Variant: a summary of scalars of the simple types; others by type only.
 * Returns 0 when the value could not be walked (the caller stops). */
static int ua_variant(struct cursor *c, struct event *e, int keep)
{
    uint8_t enc = cursor_u8(c);
    uint8_t t = enc & 0x3F;
    if (c->err) return 0;
    if (keep) ev_uint(e, "type", t);
    if (enc & 0x80) { /* array */
        uint32_t n = ua_count(c);
        if (keep) ev_uint(e, "array_length", n);
        static const uint8_t fixed[] = {0, 1, 1, 1, 2,  2, 4, 4, 8, 8,
                                        4, 8, 0, 8, 16, 0, 0, 0, 0, 4};
        for (uint32_t i = 0; i < n && !c->err; i++) {
            if (t >= 1 && t < sizeof(fixed) && fixed[t]) {
                cursor_skip(c, fixed[t]);
            } else if (t == 12 || t == 15 || t == 16) {
                size_t m;
                ua_bytes(c, &m);
            } else {
                return 0;
            }
        }
        if (enc & 0x40) { /* dimensions */
            uint32_t d = ua_count(c);
            cursor_skip(c, 4u * d);
        }
        return !c->err;
    }
    switch (t) {
    case 0: break;
    case 1: {
        uint8_t v = cursor_u8(c);
        if (keep) ev_bool(e, "value", v != 0);
        break;
    }
    case 2: {
        int8_t v = (int8_t)cursor_u8(c);
        if (keep) ev_int(e, "value", v);
        break;
    }
    case 3: {
        uint8_t v = cursor_u8(c);
        if (keep) ev_uint(e, "value", v);
        break;
    }
    case 4: {
        int16_t v = (int16_t)cursor_u16le(c);
        if (keep) ev_int(e, "value", v);
        break;
    }
    case 5: {
        uint16_t v = cursor_u16le(c);
        if (keep) ev_uint(e, "value", v);
        break;
    }
    case 6: {
        int32_t v = (int32_t)cursor_u32le(c);
        if (keep) ev_int(e, "value", v);
        break;
    }
    case 7:
    case 19: {
        uint32_t v = cursor_u32le(c);
        if (keep) ev_uint(e, "value", v);
        break;
    }
    case 8: {
        int64_t v = (int64_t)cursor_u64le(c);
        if (keep) ev_int(e, "value", v);
        break;
    }
    case 9: {
        uint64_t v = cursor_u64le(c);
        if (keep) ev_uint(e, "value", v);
        break;
    }
    case 10: {
        uint32_t u = cursor_u32le(c);
        float f;
        memcpy(&f, &u, 4);
        if (keep && !c->err) ev_double(e, "value", f);
        break;
    }
    case 11: {
        uint64_t u = cursor_u64le(c);
        double d;
        memcpy(&d, &u, 8);
        if (keep && !c->err) ev_double(e, "value", d);
        break;
    }
    case 12:
    case 16: {
        size_t n;
        const uint8_t *p = ua_bytes(c, &n);
        if (keep && p) ev_str(e, "value", p, n < 64 ? n : 64);
        break;
    }
    case 13: {
        int64_t v = (int64_t)cursor_u64le(c);
        if (keep) ev_uint(e, "value", ua_datetime_us(v));
        break;
    }
    case 14: cursor_skip(c, 16); break;
    case 15: {
        size_t n;
        const uint8_t *p = ua_bytes(c, &n);
        if (keep && p) ev_hex(e, "value", p, n < 32 ? n : 32);
        break;
    }
    case 17:
    case 18: {
        struct ua_nodeid id;
        ua_nodeid(c, &id);
        if (keep && !c->err) ev_cstr(e, "value", id.txt);
        break;
    }
    case 20: {
        size_t n;
        cursor_skip(c, 2);
        ua_bytes(c, &n);
        break;
    }
    case 21: {
        uint8_t m = cursor_u8(c);
        size_t n;
        if (m & 1) ua_bytes(c, &n);
        if (m & 2) ua_bytes(c, &n);
        break;
    }
    case 22: {
        struct ua_nodeid ty;
        int hb;
        ua_extobj(c, &ty, &hb);
        break;
    }
    default: return 0;
    }
    return !c->err;
}

/* DataValue: mask, [variant], [status], [source ts], [source ps], [server ts], [server ps]. */
static int ua_datavalue(struct cursor *c, struct event *e, int keep)
{
    uint8_t m = cursor_u8(c);
    if (m & 0x01 && !ua_variant(c, e, keep)) return 0;
    if (m & 0x02) {
        uint32_t s = cursor_u32le(c);
        if (keep) ev_uint(e, "status", s);
    }
    if (m & 0x04) cursor_skip(c, 8);
    if (m & 0x10) cursor_skip(c, 2);
    if (m & 0x08) cursor_skip(c, 8);
    if (m & 0x20) cursor_skip(c, 2);
    return !c->err;
}

/* ---- pending requests ---- */

static void ua_pending_add(struct opcua_state *st, uint32_t req_id, uint32_t handle,
                           uint32_t service, uint64_t ts)
{
    struct ua_pending *slot = &st->pend[0];
    for (size_t i = 0; i < UA_MAX_PEND; i++) {
        if (!st->pend[i].used) {
            slot = &st->pend[i];
            break;
        }
        if (st->pend[i].ts_us < slot->ts_us) slot = &st->pend[i];
    }
    slot->used = 1;
    slot->req_id = req_id;
    slot->handle = handle;
    slot->service = service;
    slot->ts_us = ts;
}

static int ua_pending_take(struct opcua_state *st, uint32_t req_id, struct ua_pending *out)
{
    for (size_t i = 0; i < UA_MAX_PEND; i++) {
        if (st->pend[i].used && st->pend[i].req_id == req_id) {
            *out = st->pend[i];
            st->pend[i].used = 0;
            return 1;
        }
    }
    return 0;
}

/* ---- service bodies ---- */

struct ua_msg {
    struct opcua_state *st;
    struct event *e;
    struct cursor *b; /* after the RequestHeader / ResponseHeader */
    uint32_t handle;
    struct event_sink *sink;
};

static void ua_request_header(struct cursor *c, struct event *e, uint32_t *handle)
{
    struct ua_nodeid tok;
    ua_nodeid(c, &tok); /* authentication token: a secret, not logged */
    int64_t ts = (int64_t)cursor_u64le(c);
    *handle = cursor_u32le(c);
    cursor_skip(c, 4); /* return diagnostics */
    size_t n;
    ua_bytes(c, &n); /* audit entry id */
    uint32_t timeout = cursor_u32le(c);
    struct ua_nodeid ty;
    int hb;
    ua_extobj(c, &ty, &hb);
    if (c->err) return;
    ev_uint(e, "request_handle", *handle);
    ev_uint(e, "timestamp_us", ua_datetime_us(ts));
    ev_uint(e, "timeout_hint", timeout);
}

static void ua_response_header(struct cursor *c, struct event *e, uint32_t *handle)
{
    int64_t ts = (int64_t)cursor_u64le(c);
    *handle = cursor_u32le(c);
    uint32_t result = cursor_u32le(c);
    ua_skip_diag(c, 0);
    uint32_t n = ua_count(c);
    for (uint32_t i = 0; i < n && !c->err; i++) {
        size_t m;
        ua_bytes(c, &m);
    }
    struct ua_nodeid ty;
    int hb;
    ua_extobj(c, &ty, &hb);
    if (c->err) return;
    ev_uint(e, "request_handle", *handle);
    ev_uint(e, "timestamp_us", ua_datetime_us(ts));
    ua_ev_status(e, "service_result", "service_result_name", result);
}

static void ua_open_req(struct ua_msg *m)
{
    struct cursor *b = m->b;
    ev_uint(m->e, "client_protocol_version", cursor_u32le(b));
    uint32_t type = cursor_u32le(b);
    uint32_t mode = cursor_u32le(b);
    size_t n;
    ua_bytes(b, &n); /* client nonce */
    uint32_t life = cursor_u32le(b);
    if (b->err) return;
    ev_cstr(m->e, "request_type", type == 0 ? "issue" : type == 1 ? "renew" : "unknown");
    ev_uint(m->e, "security_mode", mode);
    const char *mn = ua_mode_name(mode);
    if (mn) ev_cstr(m->e, "security_mode_name", mn);
    ev_uint(m->e, "requested_lifetime", life);
    m->st->mode_known = 1;
    m->st->sec_mode = mode;
}

static void ua_open_resp(struct ua_msg *m)
{
    struct cursor *b = m->b;
    ev_uint(m->e, "server_protocol_version", cursor_u32le(b));
    uint32_t ch = cursor_u32le(b);
    uint32_t tok = cursor_u32le(b);
    cursor_skip(b, 8);
    uint32_t life = cursor_u32le(b);
    size_t n;
    ua_bytes(b, &n);
    if (b->err) return;
    ev_uint(m->e, "channel_id", ch);
    ev_uint(m->e, "token_id", tok);
    ev_uint(m->e, "revised_lifetime", life);
    m->st->channel_id = ch;
}

static void ua_create_session_req(struct ua_msg *m)
{
    struct cursor *b = m->b;
    struct event *e = m->e;
    ev_obj_begin(e, "client");
    ua_ev_string(b, e, "application_uri");
    ua_ev_string(b, e, "product_uri");
    ua_ev_loctext(b, e, "application_name");
    uint32_t at = cursor_u32le(b);
    if (!b->err) ev_uint(e, "application_type", at);
    ev_end(e);
    size_t n;
    ua_bytes(b, &n); /* gateway server uri */
    ua_bytes(b, &n); /* discovery profile uri */
    uint32_t urls = ua_count(b);
    for (uint32_t i = 0; i < urls && !b->err; i++)
        ua_bytes(b, &n);
    ua_ev_string(b, e, "server_uri");
    ua_ev_string(b, e, "endpoint_url");
    ua_ev_string(b, e, "session_name");
    ua_bytes(b, &n); /* client nonce */
    const uint8_t *cert = ua_bytes(b, &n);
    if (!b->err) ev_bool(e, "client_certificate", cert != NULL && n > 0);
    cursor_skip(b, 8); /* requested session timeout (double) */
    cursor_skip(b, 4); /* max response message size */
}

static void ua_create_session_resp(struct ua_msg *m)
{
    struct cursor *b = m->b;
    ua_ev_nodeid(b, m->e, "session_id");
    struct ua_nodeid tok;
    ua_nodeid(b, &tok); /* authentication token: a secret */
    uint64_t u = cursor_u64le(b);
    double d;
    memcpy(&d, &u, 8);
    if (!b->err) ev_double(m->e, "revised_session_timeout", d);
    cursor_skip(b, cursor_left(b)); /* nonce, certificate, endpoints... */
}

/* User identity token types (binary encoding ids). */
static const char *ua_token_name(uint32_t id)
{
    switch (id) {
    case 321: return "anonymous";
    case 324: return "username";
    case 327: return "x509";
    case 940: return "issued";
    default: return NULL;
    }
}

static void ua_activate_req(struct ua_msg *m)
{
    struct cursor *b = m->b;
    struct event *e = m->e;
    size_t n;
    ua_bytes(b, &n); /* signature algorithm */
    ua_bytes(b, &n); /* signature */
    uint32_t certs = ua_count(b);
    for (uint32_t i = 0; i < certs && !b->err; i++) {
        ua_bytes(b, &n);
        ua_bytes(b, &n);
    }
    uint32_t locales = ua_count(b);
    for (uint32_t i = 0; i < locales && !b->err; i++)
        ua_bytes(b, &n);
    struct ua_nodeid ty;
    int hb;
    struct cursor tok = ua_extobj(b, &ty, &hb);
    if (b->err) return;
    ev_obj_begin(e, "identity");
    const char *tn = ty.numeric ? ua_token_name(ty.num) : NULL;
    ev_cstr(e, "token_type", tn ? tn : "unknown");
    if (ty.numeric) ev_uint(e, "token_type_id", ty.num);
    if (hb && tn) {
        ua_ev_string(&tok, e, "policy_id");
        if (ty.num == 324) {
            ua_ev_string(&tok, e, "user_name");
            const uint8_t *pw = ua_bytes(&tok, &n); /* the password: never logged */
            ev_bool(e, "password_present", pw != NULL && n > 0);
            size_t an;
            const uint8_t *alg = ua_bytes(&tok, &an);
            if (alg) ev_str(e, "encryption_algorithm", alg, an);
            /* no algorithm: the password travels as plain text inside the body */
            if (!tok.err) ev_bool(e, "password_encrypted", alg != NULL && an > 0);
        } else if (ty.num == 327) {
            const uint8_t *cert = ua_bytes(&tok, &n);
            if (cert) ev_uint(e, "certificate_len", n);
        } else if (ty.num == 940) {
            ua_bytes(&tok, &n); /* token data: a secret */
            ua_ev_string(&tok, e, "encryption_algorithm");
        }
    }
    ev_end(e);
    ua_bytes(b, &n); /* user token signature algorithm */
    ua_bytes(b, &n);
}

/* ReadRequest: max age, timestamps, ReadValueId[]. */
static void ua_read_req(struct ua_msg *m)
{
    struct cursor *b = m->b;
    struct event *e = m->e;
    cursor_skip(b, 8);
    ev_uint(e, "timestamps_to_return", cursor_u32le(b));
    uint32_t n = ua_count(b);
    ev_uint(e, "count", n);
    ev_arr_begin(e, "nodes");
    for (uint32_t i = 0; i < n && !b->err; i++) {
        struct ua_nodeid id;
        ua_nodeid(b, &id);
        uint32_t attr = cursor_u32le(b);
        size_t k;
        ua_bytes(b, &k); /* index range */
        cursor_skip(b, 2);
        ua_bytes(b, &k); /* data encoding name */
        if (b->err || i >= UA_MAX_ITEMS) continue;
        ev_obj_begin(e, NULL);
        ev_cstr(e, "node_id", id.txt);
        ev_uint(e, "attribute_id", attr);
        const char *an = ua_attr_name(attr);
        if (an) ev_cstr(e, "attribute", an);
        ev_end(e);
    }
    ev_end(e);
    if (n > UA_MAX_ITEMS) ev_bool(e, "nodes_truncated", 1);
}

/* A Write value long enough to be a file (yara.opcua_write_min) becomes an object.
 * v is a copy of the body cursor at the value's DataValue; the caller walks the
 * original. */
static void ua_write_object(struct ua_msg *m, struct cursor v, const struct ua_nodeid *id,
                            uint32_t attr)
{
    const struct yara_limits *lim = object_limits(m->sink);
    if (!lim) return;
    uint8_t mask = cursor_u8(&v);
    if (!(mask & 0x01)) return;
    uint8_t enc = cursor_u8(&v);
    uint8_t t = enc & 0x3F;
    const char *tn = NULL;
    int32_t n = (int32_t)cursor_u32le(&v); /* a string's length, or an array's count */
    if (v.err || n < 0) return;
    if (!(enc & 0x80) && (t == 12 || t == 15 || t == 16))
        tn = t == 12 ? "String" : t == 15 ? "ByteString" : "XmlElement";
    else if ((enc & 0x80) && (t == 2 || t == 3))
        tn = t == 3 ? "Byte[]" : "SByte[]";
    /* a value longer than its message is malformed: the walker reports it */
    if (!tn || (uint32_t)n < lim->ua_write_min || cursor_left(&v) < (size_t)n) return;
    char a[12];
    object_begin(&m->st->wobj, m->sink, "opcua", "opcua.write_value", id->txt, strlen(id->txt), 0);
    object_attr(&m->st->wobj, "value_type", tn);
    snprintf(a, sizeof(a), "%u", attr);
    object_attr(&m->st->wobj, "attribute_id", a);
    object_append(&m->st->wobj, m->sink, &v, (size_t)n);
    object_end(&m->st->wobj, m->sink, m->sink->net.to_server);
}

/* WriteRequest: WriteValue[] {node, attribute, index range, DataValue}. */
static void ua_write_req(struct ua_msg *m)
{
    struct cursor *b = m->b;
    struct event *e = m->e;
    uint32_t n = ua_count(b);
    ev_uint(e, "count", n);
    ev_arr_begin(e, "nodes");
    uint32_t i;
    for (i = 0; i < n && !b->err; i++) {
        struct ua_nodeid id;
        ua_nodeid(b, &id);
        uint32_t attr = cursor_u32le(b);
        size_t k;
        ua_bytes(b, &k);
        if (b->err) break;
        int keep = i < UA_MAX_ITEMS;
        ua_write_object(m, *b, &id, attr);
        if (keep) {
            ev_obj_begin(e, NULL);
            ev_cstr(e, "node_id", id.txt);
            ev_uint(e, "attribute_id", attr);
            const char *an = ua_attr_name(attr);
            if (an) ev_cstr(e, "attribute", an);
        }
        int ok = ua_datavalue(b, e, keep);
        if (keep) ev_end(e);
        if (!ok) break; /* a value we cannot walk: the rest is unknown */
    }
    ev_end(e);
    if (n > UA_MAX_ITEMS || i < n) ev_bool(e, "nodes_truncated", 1);
    cursor_skip(b, cursor_left(b));
}

/* CallRequest: CallMethodRequest[] {object, method, Variant[] args}. */
static void ua_call_req(struct ua_msg *m)
{
    struct cursor *b = m->b;
    struct event *e = m->e;
    uint32_t n = ua_count(b);
    ev_uint(e, "count", n);
    ev_arr_begin(e, "methods");
    uint32_t i;
    for (i = 0; i < n && !b->err; i++) {
        struct ua_nodeid obj, meth;
        ua_nodeid(b, &obj);
        ua_nodeid(b, &meth);
        uint32_t args = ua_count(b);
        if (b->err) break;
        if (i < UA_MAX_ITEMS) {
            ev_obj_begin(e, NULL);
            ev_cstr(e, "object_id", obj.txt);
            ev_cstr(e, "method_id", meth.txt);
            ev_uint(e, "argument_count", args);
            ev_end(e);
        }
        int ok = 1;
        for (uint32_t a = 0; a < args && ok; a++)
            ok = ua_variant(b, e, 0);
        if (!ok) break;
    }
    ev_end(e);
    if (n > UA_MAX_ITEMS || i < n) ev_bool(e, "methods_truncated", 1);
    cursor_skip(b, cursor_left(b));
}

/* BrowseRequest: view, max refs, BrowseDescription[]: node ids summarised. */
static void ua_browse_req(struct ua_msg *m)
{
    struct cursor *b = m->b;
    struct event *e = m->e;
    struct ua_nodeid v;
    ua_nodeid(b, &v);
    cursor_skip(b, 12); /* view timestamp, version */
    ev_uint(e, "max_references", cursor_u32le(b));
    uint32_t n = ua_count(b);
    ev_uint(e, "count", n);
    ev_arr_begin(e, "nodes");
    for (uint32_t i = 0; i < n && !b->err; i++) {
        struct ua_nodeid id, ref;
        ua_nodeid(b, &id);
        cursor_skip(b, 4); /* direction */
        ua_nodeid(b, &ref);
        cursor_skip(b, 9); /* include subtypes, class mask, result mask */
        if (!b->err && i < UA_MAX_ITEMS) ev_cstr(e, NULL, id.txt);
    }
    ev_end(e);
    if (n > UA_MAX_ITEMS) ev_bool(e, "nodes_truncated", 1);
}

/* A response's first array (results) as a count; status codes listed for Write. */
static void ua_results(struct ua_msg *m, int statuses)
{
    struct cursor *b = m->b;
    if (statuses) {
        uint32_t n = ua_count(b);
        ev_uint(m->e, "count", n);
        ev_arr_begin(m->e, "results");
        for (uint32_t i = 0; i < n && !b->err; i++) {
            uint32_t s = cursor_u32le(b);
            if (!b->err && i < UA_MAX_ITEMS) ev_uint(m->e, NULL, s);
        }
        ev_end(m->e);
    } else {
        int32_t n = (int32_t)cursor_u32le(b);
        if (!b->err && n >= 0) ev_uint(m->e, "count", (uint32_t)n);
    }
    cursor_skip(b, cursor_left(b));
}

/* The service structure after the header; unknown services are left as they are. */
static void ua_service_body(struct ua_msg *m, uint32_t id)
{
    switch (id) {
    case 446: ua_open_req(m); break;
    case 449: ua_open_resp(m); break;
    case 461: ua_create_session_req(m); break;
    case 464: ua_create_session_resp(m); break;
    case 467: ua_activate_req(m); break;
    case 631: ua_read_req(m); break;
    case 673: ua_write_req(m); break;
    case 676: ua_results(m, 1); break;
    case 712: ua_call_req(m); break;
    case 527: ua_browse_req(m); break;
    case 634:
    case 715:
    case 530:
    case 536: ua_results(m, 0); break;
    default: cursor_skip(m->b, cursor_left(m->b)); break;
    }
}

/* ---- messages ---- */

struct ua_env {
    char type[4];
    uint8_t chunk;
    uint32_t size;
    uint32_t channel;
    uint32_t token; /* MSG/CLO */
    uint32_t seq, req_id;
    int has_seq;
};

static void ua_ev_envelope(struct event *e, const struct ua_env *v)
{
    ev_str(e, "msg_type", v->type, 3);
    ev_str(e, "chunk", &v->chunk, 1);
    ev_uint(e, "size", v->size);
}

static int ua_is_request_dir(const struct pdu_info *info)
{
    return info->to_server != 0;
}

/* A complete message body (cursor at the type id), decoded into e. Returns 1 if
 * the type id was read. */
static void ua_body(struct opcua_state *st, struct event *e, struct cursor *b,
                    const struct ua_env *v, const struct pdu_info *info, uint64_t now,
                    struct event_sink *sink)
{
    struct ua_nodeid ty;
    ua_nodeid(b, &ty);
    if (b->err) {
        event_op(e, "undecodable");
        event_anomaly(e, "opcua.malformed_body");
        return;
    }
    int is_req = ua_is_request_dir(info);
    const struct ua_service *sv = NULL;
    const char *op = "unknown_service";
    if (ty.numeric) {
        int side = 0;
        sv = ua_service(ty.num, &side);
        if (sv) {
            op = sv->op;
            is_req = side;
        } else if (ty.num == UA_SERVICE_FAULT) {
            op = "service_fault";
            is_req = 0;
        }
        ev_uint(e, "service_id", ty.num);
    } else {
        ev_cstr(e, "service_node", ty.txt);
    }
    e->dir = is_req ? EV_DIR_REQUEST : EV_DIR_RESPONSE;
    if (sv && sv->category) ev_cstr(e, "category", sv->category);
    struct ua_msg m = {st, e, b, 0, sink};
    if (is_req)
        ua_request_header(b, e, &m.handle);
    else
        ua_response_header(b, e, &m.handle);
    if (!b->err && ty.numeric) ua_service_body(&m, ty.num);
    if (b->err) event_anomaly(e, "opcua.malformed_body");
    if (v->has_seq) {
        if (is_req) {
            ua_pending_add(st, v->req_id, m.handle, ty.numeric ? ty.num : 0, now);
        } else {
            struct ua_pending p;
            if (ua_pending_take(st, v->req_id, &p)) {
                ev_uint(e, "request_service_id", p.service);
                ev_uint(e, "latency_us", now > p.ts_us ? now - p.ts_us : 0);
            } else {
                st->unmatched++;
                event_anomaly(e, "opcua.unmatched_response");
            }
        }
    }
    if (ty.numeric)
        event_code(e, ty.num, op);
    else
        event_op(e, op);
}

/* Reassembly slot of a request id, allocated when create is set. */
static struct ua_asm *ua_asm_find(struct ua_dir *d, uint32_t req_id, int create)
{
    for (size_t i = 0; i < UA_MAX_ASM; i++)
        if (d->as[i].used && d->as[i].req_id == req_id) return &d->as[i];
    if (!create) return NULL;
    for (size_t i = 0; i < UA_MAX_ASM; i++) {
        if (!d->as[i].used) {
            d->as[i].used = 1;
            d->as[i].req_id = req_id;
            d->as[i].len = 0;
            d->as[i].chunks = 0;
            return &d->as[i];
        }
    }
    return NULL;
}

static void ua_asm_drop(struct ua_asm *a)
{
    a->used = 0;
    a->len = 0;
    a->chunks = 0;
}

static int ua_asm_add(struct ua_asm *a, struct cursor *body)
{
    size_t n = cursor_left(body);
    if (a->len + n > UA_MAX_MSG) return 0;
    if (a->len + n > a->cap) {
        uint32_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n)
            cap *= 2;
        uint8_t *p = realloc(a->buf, cap);
        if (!p) return 0;
        a->buf = p;
        a->cap = cap;
    }
    const uint8_t *src = cursor_take(body, n);
    if (n && src) memcpy(a->buf + a->len, src, n);
    a->len += (uint32_t)n;
    a->chunks++;
    return 1;
}

/* OPN / MSG / CLO chunk (c covers exactly the chunk). */
static void ua_secure(struct opcua_state *st, struct ua_dir *ds, struct cursor *c, struct ua_env *v,
                      const struct pdu_info *info, struct event_sink *sink)
{
    uint64_t now = info->ts_us ? info->ts_us : sink->net.ts_us;
    int opn = memcmp(v->type, "OPN", 3) == 0;
    struct event *e =
        event_begin(sink, "opcua", ua_is_request_dir(info) ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    ua_ev_envelope(e, v);
    v->channel = cursor_u32le(c);
    ev_uint(e, "secure_channel_id", v->channel);
    int secured = st->secured;
    if (opn) {
        size_t n, cn, tn;
        const uint8_t *pol = ua_bytes(c, &n);
        const uint8_t *cert = ua_bytes(c, &cn);
        ua_bytes(c, &tn);
        if (!c->err) {
            if (pol) ev_str(e, "security_policy_uri", pol, n);
            const char *pn = pol ? ua_policy_name(pol, n) : NULL;
            if (pn) ev_cstr(e, "security_policy", pn);
            ev_bool(e, "sender_certificate", cert != NULL && cn > 0);
            st->policy_known = 1;
            secured = !(pn && strcmp(pn, "None") == 0);
            st->secured = (uint8_t)secured;
        }
    } else {
        v->token = cursor_u32le(c);
        ev_uint(e, "token_id", v->token);
    }
    if (!c->err) ev_bool(e, "encrypted", secured);
    if (secured || c->err) {
        /* envelope only: the rest is ciphertext (or the header is cut) */
        if (c->err) event_anomaly(e, "opcua.truncated");
        event_op(e, opn                 ? "open_secure_channel"
                    : v->type[0] == 'C' ? "close_secure_channel"
                                        : "secure_message");
        event_emit(sink, e);
        return;
    }
    v->seq = cursor_u32le(c);
    v->req_id = cursor_u32le(c);
    if (c->err) {
        event_anomaly(e, "opcua.truncated");
        event_op(e, "secure_message");
        event_emit(sink, e);
        return;
    }
    v->has_seq = 1;
    ev_uint(e, "sequence_number", v->seq);
    ev_uint(e, "request_id", v->req_id);
    if (v->chunk == 'C') {
        struct ua_asm *a = ua_asm_find(ds, v->req_id, 1);
        if (!a || !ua_asm_add(a, c)) {
            st->overflow++;
            if (a) ua_asm_drop(a);
            event_op(e, "secure_message");
            event_anomaly(e, "opcua.reassembly_overflow");
            event_emit(sink, e);
            return;
        }
        event_discard(sink, e); /* reported with the final chunk */
        return;
    }
    struct ua_asm *a = ua_asm_find(ds, v->req_id, 0);
    if (v->chunk == 'A') {
        uint32_t err = cursor_u32le(c);
        event_op(e, "abort");
        if (!c->err) ua_ev_status(e, "error", "error_name", err);
        ua_ev_string(c, e, "reason");
        if (a) {
            ev_uint(e, "chunks_dropped", a->chunks);
            ua_asm_drop(a);
        }
        event_anomaly(e, "opcua.abort");
        event_emit(sink, e);
        return;
    }
    struct cursor body = *c;
    if (a) {
        if (!ua_asm_add(a, c)) {
            st->overflow++;
            ua_asm_drop(a);
            event_op(e, "secure_message");
            event_anomaly(e, "opcua.reassembly_overflow");
            event_emit(sink, e);
            return;
        }
        ev_uint(e, "chunks", a->chunks);
        body = cursor_make(a->buf, a->len);
    }
    ua_body(st, e, &body, v, info, now, sink);
    if (a) ua_asm_drop(a);
    event_emit(sink, e);
}

/* HEL / ACK / ERR / RHE */
static void ua_connection(struct cursor *c, struct ua_env *v, const struct pdu_info *info,
                          struct event_sink *sink)
{
    struct event *e =
        event_begin(sink, "opcua", ua_is_request_dir(info) ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    ua_ev_envelope(e, v);
    if (memcmp(v->type, "HEL", 3) == 0 || memcmp(v->type, "ACK", 3) == 0) {
        int hel = v->type[0] == 'H';
        event_op(e, hel ? "hello" : "acknowledge");
        e->dir = hel ? EV_DIR_REQUEST : EV_DIR_RESPONSE;
        ev_uint(e, "protocol_version", cursor_u32le(c));
        ev_uint(e, "receive_buffer_size", cursor_u32le(c));
        ev_uint(e, "send_buffer_size", cursor_u32le(c));
        ev_uint(e, "max_message_size", cursor_u32le(c));
        ev_uint(e, "max_chunk_count", cursor_u32le(c));
        if (hel) ua_ev_string(c, e, "endpoint_url");
    } else if (v->type[0] == 'E') {
        event_op(e, "error");
        e->dir = EV_DIR_RESPONSE;
        uint32_t err = cursor_u32le(c);
        if (!c->err) ua_ev_status(e, "error", "error_name", err);
        ua_ev_string(c, e, "reason");
    } else {
        event_op(e, "reverse_hello");
        e->dir = EV_DIR_REQUEST;
        ua_ev_string(c, e, "server_uri");
        ua_ev_string(c, e, "endpoint_url");
    }
    if (c->err) event_anomaly(e, "opcua.truncated");
    event_emit(sink, e);
}

/* ---- framing ---- */

enum ua_hdr { UA_HDR_OK, UA_HDR_SHORT, UA_HDR_BAD_TYPE, UA_HDR_BAD_CHUNK, UA_HDR_BAD_SIZE };

static int ua_known_type(const uint8_t *t)
{
    static const char *const types[] = {"HEL", "ACK", "ERR", "RHE", "OPN", "MSG", "CLO"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (memcmp(t, types[i], 3) == 0) return 1;
    return 0;
}

static enum ua_hdr ua_check_header(const struct cursor *c, uint32_t *size)
{
    const uint8_t *h = cursor_peek_ptr(c, UA_HDR);
    if (!h) {
        /* a known type prefix that is still short: wait; else reject early */
        size_t n = cursor_left(c);
        if (n >= 3) {
            uint8_t t[3];
            for (int i = 0; i < 3; i++)
                t[i] = cursor_peek_u8(c, (size_t)i, NULL);
            if (!ua_known_type(t)) return UA_HDR_BAD_TYPE;
        }
        return UA_HDR_SHORT;
    }
    uint32_t sz =
        (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
    if (size) *size = sz;
    if (!ua_known_type(h)) return UA_HDR_BAD_TYPE;
    int secure = h[0] == 'O' || h[0] == 'M' || h[0] == 'C';
    if (secure ? (h[3] != 'F' && h[3] != 'C' && h[3] != 'A') : h[3] != 'F') return UA_HDR_BAD_CHUNK;
    if (sz < UA_MIN_SIZE + (secure ? 4u : 0u) || sz > (1u << 24)) return UA_HDR_BAD_SIZE;
    return UA_HDR_OK;
}

static void ua_lost(struct opcua_state *st, struct ua_dir *ds, const struct cursor *c,
                    enum ua_hdr why, const struct pdu_info *info, struct event_sink *sink)
{
    if (ds->mode == UA_SCAN) return;
    st->resyncs++;
    struct event *e =
        event_begin(sink, "opcua", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    event_op(e, "malformed");
    const uint8_t *h = cursor_peek_ptr(c, 4);
    if (h) ev_hex(e, "header", h, 4);
    event_anomaly(e, why == UA_HDR_BAD_CHUNK ? "opcua.invalid_chunk_type" : "opcua.invalid_header");
    event_anomaly(e, "opcua.resync");
    event_emit(sink, e);
    ds->mode = UA_SCAN;
}

/* A chunk too large to buffer: report the header, skip the rest as it comes. */
static void ua_oversized(struct ua_dir *ds, struct cursor *c, uint32_t size,
                         const struct pdu_info *info, struct event_sink *sink)
{
    struct ua_env v = {{0}, 0, size, 0, 0, 0, 0, 0};
    const uint8_t *h = cursor_take(c, UA_HDR);
    if (!h) return;
    memcpy(v.type, h, 3);
    v.chunk = h[3];
    struct event *e =
        event_begin(sink, "opcua", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    ua_ev_envelope(e, &v);
    event_op(e, "oversized_chunk");
    event_anomaly(e, "opcua.chunk_too_large");
    event_emit(sink, e);
    ds->skip_left = size - UA_HDR;
}

static size_t opcua_parse(void *state, struct cursor *c, const struct pdu_info *info,
                          struct event_sink *sink)
{
    struct opcua_state *st = state;
    struct ua_dir *ds = &st->dir[info->to_server ? 0 : 1];
    size_t start = cursor_pos(c);
    if (info->after_gap) {
        ds->skip_left = 0;
        for (size_t i = 0; i < UA_MAX_ASM; i++)
            ua_asm_drop(&ds->as[i]);
    }
    for (;;) {
        if (ds->skip_left) {
            size_t n = cursor_left(c);
            if (n == 0) break;
            if (n > ds->skip_left) n = (size_t)ds->skip_left;
            cursor_skip(c, n);
            ds->skip_left -= n;
            continue;
        }
        uint32_t size = 0;
        enum ua_hdr h = ua_check_header(c, &size);
        if (h == UA_HDR_SHORT) break;
        if (h == UA_HDR_OK) {
            if (size > UA_MAX_CHUNK) {
                ua_oversized(ds, c, size, info, sink);
                ds->mode = UA_SYNCED;
                continue;
            }
            if (cursor_left(c) < size) break;
            struct cursor ch = cursor_sub(c, size);
            const uint8_t *hdr = cursor_take(&ch, UA_HDR);
            struct ua_env v = {{0}, hdr[3], size, 0, 0, 0, 0, 0};
            memcpy(v.type, hdr, 3);
            if (ds->skipped) ds->skipped = 0;
            if (hdr[0] == 'O' || hdr[0] == 'M' || hdr[0] == 'C')
                ua_secure(st, ds, &ch, &v, info, sink);
            else
                ua_connection(&ch, &v, info, sink);
            ds->mode = UA_SYNCED;
            continue;
        }
        ua_lost(st, ds, c, h, info, sink);
        cursor_skip(c, 1);
        ds->skipped++;
    }
    return cursor_pos(c) - start;
}

static void opcua_gap(void *state, int to_server)
{
    struct opcua_state *st = state;
    struct ua_dir *ds = &st->dir[to_server ? 0 : 1];
    ds->skip_left = 0;
    for (size_t i = 0; i < UA_MAX_ASM; i++)
        ua_asm_drop(&ds->as[i]);
    /* the next byte is probably a chunk start; if not, one resync episode */
    ds->mode = UA_SYNCED;
}

static enum probe_result opcua_probe(struct cursor *c, int to_server)
{
    (void)to_server;
    uint32_t size = 0;
    switch (ua_check_header(c, &size)) {
    case UA_HDR_SHORT: return PROBE_NEED_MORE;
    case UA_HDR_OK: return PROBE_YES;
    default: return PROBE_NO;
    }
}

static void *opcua_state_new(void)
{
    return calloc(1, sizeof(struct opcua_state));
}

static void opcua_state_free(void *state)
{
    struct opcua_state *st = state;
    if (!st) return;
    for (int d = 0; d < 2; d++)
        for (size_t i = 0; i < UA_MAX_ASM; i++)
            free(st->dir[d].as[i].buf);
    object_free(&st->wobj);
    free(st);
}

const struct dissector opcua_dissector = {
    .id = DISS_OPCUA,
    .name = "opcua",
    .transports = DISS_TCP,
    .ports = {4840, 0},
    .probe = opcua_probe,
    .state_new = opcua_state_new,
    .state_free = opcua_state_free,
    .parse = opcua_parse,
    .gap = opcua_gap,
    .anomalies = opcua_anomalies,
    .max_pdu = UA_MAX_CHUNK,
};
