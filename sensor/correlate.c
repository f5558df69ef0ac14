/* correlate.c - the correlation stage: assets, scans and conduit policy across flows. */
#include "correlate.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"
#include "rules.h"

const char *const corr_event_names[] = {"asset.new",           "asset.identity_changed",
                                        "asset.unknown_zone",  "scan.horizontal",
                                        "scan.vertical",       "conduit.unlisted",
                                        "conduit.operation",   "flow.new_intra_zone",
                                        "goose_publisher.new", "goose_publisher.ttl_expired",
                                        "mms.new_client",      NULL};

/* ---- worker side ---------------------------------------------------------- */

size_t corr_rec_len(const struct corr_rec *r)
{
    return offsetof(struct corr_rec, ident) + r->ident_len;
}

static int has_word(const char *op, const char *w)
{
    return strstr(op, w) != NULL;
}

/* By the op's name: the dissectors name ops after the taxonomy, whose words are
 * stable (read_, write_, download, stop, ...). Diagnostics first (Modbus FC 8's
 * diag_restart_comm is not a program change), then program changes (downloads,
 * uploads, start/stop, restarts, deletes), then writes (writes, sets, selects,
 * operates, forces, commands), then reads, then bad PDUs; -1 if none matched. */
/* Ops whose names carry no class word, by protocol: sessions, transports and
 * acknowledgements are diagnostic; notifications deliver data (read-only); setting
 * the clock, (un)solicited reporting, alarm acknowledgement and memory fills are
 * writes; reservations and access rights, restarts and communication control are
 * program changes. tests/unit/test_opclass.c finds ops that are in neither. */
static const struct {
    const char *op;
    uint8_t cls;
} opclass_exact[] = {
    /* modbus (UMAS) */
    {"umas_repeat", OPC_DIAG},
    {"umas_session", OPC_DIAG},
    {"umas_reservation", OPC_PROGRAM},
    {"umas_monitor_plc", OPC_READ},
    {"umas_check_plc", OPC_READ},
    {"encapsulated_interface_transport", OPC_DIAG},
    {"user_defined_function", OPC_DIAG},
    /* dnp3 */
    {"confirm", OPC_DIAG},
    {"sa_error", OPC_DIAG},
    {"sa_key_change", OPC_WRITE},
    {"enable_unsolicited", OPC_WRITE},
    {"disable_unsolicited", OPC_WRITE},
    /* iec104 */
    {"startdt", OPC_DIAG},
    {"testfr", OPC_DIAG},
    {"ack", OPC_DIAG},
    {"clock_sync", OPC_WRITE},
    /* s7comm, s7commplus */
    {"cotp_cr", OPC_DIAG},
    {"ud_password", OPC_DIAG},
    {"ud_enable_job", OPC_DIAG},
    {"ud_message_service", OPC_DIAG},
    {"begin_sequence", OPC_DIAG},
    {"end_sequence", OPC_DIAG},
    {"session_start", OPC_DIAG},
    {"job", OPC_DIAG},
    {"userdata", OPC_DIAG},
    {"ud_security", OPC_DIAG},
    /* enip, cip: the carried request has its own class */
    {"register_session", OPC_DIAG},
    {"unregister_session", OPC_DIAG},
    {"start_dtls", OPC_DIAG},
    {"nop", OPC_DIAG},
    {"indicate_status", OPC_DIAG},
    {"cancel", OPC_DIAG},
    {"send_rr_data", OPC_DIAG},
    {"send_unit_data", OPC_DIAG},
    {"multiple_service", OPC_DIAG},
    {"unconnected_send", OPC_DIAG},
    {"object_specific", OPC_DIAG},
    {"forward_open", OPC_DIAG},
    {"forward_close", OPC_DIAG},
    /* bacnet */
    {"acknowledge_alarm", OPC_WRITE},
    {"confirmed_cov_notification", OPC_READ},
    {"confirmed_cov_notification_multiple", OPC_READ},
    {"unconfirmed_cov_notification", OPC_READ},
    {"unconfirmed_cov_notification_multiple", OPC_READ},
    {"confirmed_event_notification", OPC_READ},
    {"unconfirmed_event_notification", OPC_READ},
    {"unconfirmed_text_message", OPC_DIAG},
    {"device_comm_control", OPC_PROGRAM},
    {"reinitialize_device", OPC_PROGRAM},
    {"life_safety_operation", OPC_WRITE},
    {"private_transfer", OPC_DIAG},
    {"segment_ack", OPC_DIAG},
    {"time_sync", OPC_WRITE},
    {"you_are", OPC_WRITE},
    {"vt_open", OPC_DIAG},
    {"vt_close", OPC_DIAG},
    {"vt_data", OPC_DIAG},
    /* opcua */
    {"call", OPC_WRITE},
    {"hello", OPC_DIAG},
    {"reverse_hello", OPC_DIAG},
    {"open_secure_channel", OPC_DIAG},
    {"close_secure_channel", OPC_DIAG},
    {"close_session", OPC_DIAG},
    {"secure_message", OPC_DIAG},
    /* mms */
    {"enumeration", OPC_READ},
    {"take_control", OPC_WRITE},
    {"initiate_request", OPC_DIAG},
    {"conclude_request", OPC_DIAG},
    {"cancel_request", OPC_DIAG},
    {"confirmed_request", OPC_DIAG},
    {"unconfirmed", OPC_DIAG},
    {"abort", OPC_DIAG},
    /* mqtt */
    {"connect", OPC_DIAG},
    /* hart_ip */
    {"discovery", OPC_READ},
    {"keep_alive", OPC_DIAG},
    {"session_initiate", OPC_DIAG},
    {"session_close", OPC_DIAG},
    {"token_passing_pdu", OPC_DIAG},
    /* fins */
    {"access_right_acquire", OPC_PROGRAM},
    {"access_right_release", OPC_PROGRAM},
    {"parameter_area_clear", OPC_PROGRAM},
    {"memory_area_fill", OPC_WRITE},
    {"memory_area_transfer", OPC_WRITE},
    {"error_clear", OPC_WRITE},
    {"error_log_clear", OPC_WRITE},
    {"broadcast_test_data_send", OPC_DIAG},
    {"loopback_test", OPC_DIAG},
    {"node_address_request", OPC_DIAG},
    {"other", OPC_DIAG},
    /* profinet_dcp: a Set of the signal (flash the LED) */
    {"signal", OPC_WRITE},
};

int corr_opclass_mapped(const char *op)
{
    if (!op) return -1;
    for (size_t i = 0; i < sizeof(opclass_exact) / sizeof(opclass_exact[0]); i++)
        if (op[0] == opclass_exact[i].op[0] && !strcmp(op, opclass_exact[i].op))
            return opclass_exact[i].cls;
    if (!strncmp(op, "diag", 4)) return OPC_DIAG;
    static const char *const program[] = {
        "download", "upload",   "program", "stop",     "start_",   "restart",     "reset",
        "delete",   "firmware", "block",   "activate", "compress", "copy_ram",    "file_",
        "pi_",      "run",      "insert",  "mode",     "init_",    "save_restore"};
    for (size_t i = 0; i < sizeof(program) / sizeof(program[0]); i++)
        if (has_word(op, program[i])) return strstr(op, "startdt") ? OPC_DIAG : OPC_PROGRAM;
    static const char *const write[] = {"write",   "set",      "select", "operate", "force",
                                        "command", "setpoint", "modify", "freeze",  "latch",
                                        "pulse",   "publish",  "create", "add_"};
    for (size_t i = 0; i < sizeof(write) / sizeof(write[0]); i++)
        if (has_word(op, write[i])) return OPC_WRITE;
    static const char *const read[] = {"read",  "get",    "list",      "browse",        "who_",
                                       "i_am",  "i_have", "identify",  "interrogation", "report",
                                       "query", "search", "subscribe", "explore"};
    for (size_t i = 0; i < sizeof(read) / sizeof(read[0]); i++)
        if (has_word(op, read[i])) return OPC_READ;
    /* what is left of a bad or unknown PDU is diagnostic */
    static const char *const diag[] = {"malformed",   "unknown",   "invalid", "resync",
                                       "undecodable", "truncated", "cotp_"};
    for (size_t i = 0; i < sizeof(diag) / sizeof(diag[0]); i++)
        if (has_word(op, diag[i])) return OPC_DIAG;
    return -1;
}

/* Unmapped names are diagnostic (tests/unit/test_opclass.c keeps the list empty). */
int corr_opclass(const char *proto, const char *op)
{
    (void)proto;
    int c = corr_opclass_mapped(op);
    return c < 0 ? OPC_DIAG : c;
}

static const char *const opclass_names[OPC_COUNT] = {"read-only", "write", "program", "diagnostic"};

/* Identity keys we keep, in the order they are written. */
static const char *const ident_keys[] = {
    "vendor",
    "vendor_id",
    "product_name",
    "model_name",
    "product_code",
    "device_type_name",
    "device_type",
    "device_id",
    "device_instance",
    "revision",
    "firmware",
    "serial",
    "serial_number",
    "order_number",
    "hardware_order_number",
    "module_type",
    "module_name",
    "system_name",
    "plant_id",
    "location",
    "name_of_station",
    "type_of_station",
    "user_application_name",
    "vendor_url",
};
#define N_IDENT_KEYS (sizeof(ident_keys) / sizeof(ident_keys[0]))

const char *corr_ident_key(unsigned k)
{
    return k < N_IDENT_KEYS ? ident_keys[k] : NULL;
}

int corr_is_identity_op(const char *op)
{
    static const char *const ops[] = {
        "list_identity", "get_attributes_all", "read_device_id", "ud_read_szl",
        "i_am",          "identify_response",  "hello",          "report_server_id"};
    if (!op) return 0;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (op[0] == ops[i][0] && !strcmp(op, ops[i])) return 1;
    return 0;
}

static int ident_key_index(const char *k)
{
    for (size_t i = 0; i < N_IDENT_KEYS; i++)
        if (k[0] == ident_keys[i][0] && !strcmp(k, ident_keys[i])) return (int)i;
    return -1;
}

static int ident_add(struct corr_rec *r, int k, const char *v, size_t n)
{
    /* a key appears once: the first value wins */
    for (size_t o = 0; o + 2 <= r->ident_len; o += 2u + r->ident[o + 1])
        if (r->ident[o] == k) return 0;
    if (n > CORR_IDENT_VMAX) n = CORR_IDENT_VMAX;
    if (r->ident_len + 2 + n > CORR_IDENT_MAX) return 0;
    r->ident[r->ident_len] = (uint8_t)k;
    r->ident[r->ident_len + 1] = (uint8_t)n;
    memcpy(r->ident + r->ident_len + 2, v, n);
    r->ident_len = (uint16_t)(r->ident_len + 2 + n);
    return 1;
}

/* Walks the event's fields: inside an "identity" or "device_id" object every known
 * key counts; S7 SZL and PROFINET DCP write their identity keys at the top. */
int corr_ident_from_event(struct corr_rec *r, const struct event *e)
{
    int n = 0, depth = 0, in_ident = 0;
    int anywhere = !strcmp(e->proto, "s7comm") || !strcmp(e->proto, "profinet_dcp");
    for (unsigned i = 0; i < e->nfields; i++) {
        const struct ev_field *f = &e->fields[i];
        if (f->type == EVF_OBJ || f->type == EVF_ARR) {
            depth++;
            if (!in_ident && f->type == EVF_OBJ && f->key &&
                (!strcmp(f->key, "identity") || !strcmp(f->key, "device_id")))
                in_ident = depth;
            continue;
        }
        if (f->type == EVF_END) {
            if (in_ident == depth) in_ident = 0;
            depth--;
            continue;
        }
        if (!f->key || (!in_ident && !anywhere)) continue;
        int k = ident_key_index(f->key);
        if (k < 0) continue;
        char num[24];
        if (f->type == EVF_STR) {
            const char *t = event_field_text(e, f);
            size_t len = f->len;
            while (len && (t[len - 1] == ' ' || t[len - 1] == 0))
                len--; /* fixed-width text (S7 SZL) is padded */
            if (len) n += ident_add(r, k, t, len);
        } else if (f->type == EVF_UINT) {
            int l = snprintf(num, sizeof(num), "%llu", (unsigned long long)f->v.u);
            n += ident_add(r, k, num, (size_t)l);
        } else if (f->type == EVF_INT) {
            int l = snprintf(num, sizeof(num), "%lld", (long long)f->v.i);
            n += ident_add(r, k, num, (size_t)l);
        }
    }
    return n;
}

/* ---- bounded tables: hash + LRU, fixed capacity ------------------------------ */

#define NIL UINT32_MAX

struct ckey {
    uint8_t tag; /* table-specific kind */
    uint8_t transport;
    uint16_t port;
    uint32_t aux;
    struct ev_addr a, b;
};

/* The key of one flow's endpoints as the record sees them: tag, transport, source,
 * destination, destination port (padding zeroed: keys are hashed and compared whole). */
static struct ckey net_key(uint8_t tag, const struct ev_net *n)
{
    struct ckey k;
    memset(&k, 0, sizeof(k));
    k.tag = tag;
    k.transport = n->transport;
    k.a = n->src;
    k.b = n->dst;
    k.port = n->dst_port;
    return k;
}

struct asset;
struct gpub;

union cval {
    struct {
        uint64_t start;
        uint32_t count;
        uint32_t alerted;
    } win;
    uint64_t last;
    struct asset *asset;
    struct gpub *pub;
};

struct centry {
    uint32_t hnext, prev, next;
    uint32_t used;
    uint64_t h;
    struct ckey k;
    union cval v;
};

/* Entries are calloc'd and never initialised in a loop: a table's memory is touched
 * only as far as it is used (e[0..hw) have been handed out). The buckets (each holds
 * its first entry's index + 1, 0 when empty) start small and double as entries come,
 * up to twice the cap: a plant of a few thousand hosts keeps its buckets in cache
 * rather than spreading its lookups over 512 KiB per table. */
#define CTAB_MIN_BUCKETS 1024u
struct ctab {
    struct centry *e;
    uint32_t *buckets;
    uint32_t mask, cap, n;
    uint32_t max_buckets;    /* the buckets' final size: cap * 2, a power of two */
    uint32_t hw;             /* entries ever handed out */
    uint32_t free_head;      /* removed entries, linked through hnext */
    uint32_t oldest, newest; /* LRU list */
    uint64_t evictions;
    void (*on_evict)(void *ctx, struct centry *x);
    void *ctx;
};

static int ctab_init(struct ctab *t, uint32_t cap)
{
    memset(t, 0, sizeof(*t));
    if (cap < 16) cap = 16;
    uint32_t nb = 16;
    while (nb < cap * 2u && nb < (1u << 30))
        nb <<= 1;
    t->max_buckets = nb;
    if (nb > CTAB_MIN_BUCKETS) nb = CTAB_MIN_BUCKETS;
    t->e = calloc(cap, sizeof(*t->e));
    t->buckets = calloc(nb, sizeof(*t->buckets));
    if (!t->e || !t->buckets) return -1;
    t->mask = nb - 1;
    t->cap = cap;
    t->hw = 0;
    t->free_head = NIL;
    t->oldest = t->newest = NIL;
    return 0;
}

/* Doubles the buckets when entries outnumber half of them. Without memory for it
 * the table keeps its buckets: longer chains, nothing lost. */
static void ctab_grow(struct ctab *t)
{
    uint32_t nb = (t->mask + 1) * 2;
    if (t->n < (t->mask + 1) / 2 || nb > t->max_buckets) return;
    uint32_t *b = calloc(nb, sizeof(*b));
    if (!b) return;
    for (uint32_t i = 0; i < t->hw; i++) {
        struct centry *x = &t->e[i];
        if (!x->used) continue;
        x->hnext = b[x->h & (nb - 1)] - 1;
        b[x->h & (nb - 1)] = i + 1;
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = nb - 1;
}

static void ctab_destroy(struct ctab *t)
{
    if (t->on_evict)
        for (uint32_t i = 0; i < t->hw; i++)
            if (t->e[i].used) t->on_evict(t->ctx, &t->e[i]);
    free(t->e);
    free(t->buckets);
}

static uint64_t ckey_hash(const struct ckey *k)
{
    uint64_t w[5];
    memcpy(w, k, sizeof(w));
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 5; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

static void lru_unlink(struct ctab *t, uint32_t i)
{
    struct centry *x = &t->e[i];
    if (x->prev != NIL)
        t->e[x->prev].next = x->next;
    else
        t->oldest = x->next;
    if (x->next != NIL)
        t->e[x->next].prev = x->prev;
    else
        t->newest = x->prev;
}

static void lru_append(struct ctab *t, uint32_t i)
{
    struct centry *x = &t->e[i];
    x->prev = t->newest;
    x->next = NIL;
    if (t->newest != NIL)
        t->e[t->newest].next = i;
    else
        t->oldest = i;
    t->newest = i;
}

static void ctab_remove(struct ctab *t, uint32_t i)
{
    struct centry *x = &t->e[i];
    uint32_t *head = &t->buckets[x->h & t->mask];
    if (*head - 1 == i) {
        *head = x->hnext + 1; /* NIL + 1 == 0: empty */
    } else {
        uint32_t *pp = &t->e[*head - 1].hnext;
        while (*pp != i)
            pp = &t->e[*pp].hnext;
        *pp = x->hnext;
    }
    lru_unlink(t, i);
    if (t->on_evict) t->on_evict(t->ctx, x);
    x->used = 0;
    x->hnext = t->free_head;
    t->free_head = i;
    t->n--;
}

/* The entry for k (moved to the newest end), created zeroed if absent and create
 * is set (the oldest entry is evicted when full); *fresh says it was created. */
static struct centry *ctab_get(struct ctab *t, const struct ckey *k, int create, int *fresh)
{
    uint64_t h = ckey_hash(k);
    if (fresh) *fresh = 0;
    for (uint32_t i = t->buckets[h & t->mask] - 1; i != NIL; i = t->e[i].hnext) {
        struct centry *x = &t->e[i];
        if (x->h == h && !memcmp(&x->k, k, sizeof(*k))) {
            lru_unlink(t, i);
            lru_append(t, i);
            return x;
        }
    }
    if (!create) return NULL;
    uint32_t i;
    if (t->free_head == NIL && t->hw < t->cap) {
        i = t->hw++; /* never used yet */
    } else {
        if (t->free_head == NIL) { /* full: the least recently used makes room */
            ctab_remove(t, t->oldest);
            t->evictions++;
        }
        i = t->free_head;
        t->free_head = t->e[i].hnext;
    }
    struct centry *x = &t->e[i];
    x->used = 1;
    x->h = h;
    x->k = *k;
    memset(&x->v, 0, sizeof(x->v));
    x->hnext = t->buckets[h & t->mask] - 1;
    t->buckets[h & t->mask] = i + 1;
    lru_append(t, i);
    t->n++;
    ctab_grow(t);
    if (fresh) *fresh = 1;
    return x;
}

/* ---- the correlator ------------------------------------------------------ */

#define MAX_PROTOS 64

struct asset {
    struct ev_addr addr;
    uint8_t is_mac, has_mac, dirty;
    uint8_t mac[6];
    uint64_t first_us, last_us, written_us;
    uint64_t protos;   /* bit per interned protocol */
    uint64_t roles[2]; /* [0] client, [1] server: bit per interned protocol */
    uint16_t ident_len;
    uint8_t *ident;
    struct asset *dprev, *dnext; /* pending Redis write */
};

#define GOCB_MAX 129 /* IEC 61850 ObjectReference: up to 129 characters */

/* A GOOSE publisher: its last message, for the TTL check and the event's context. */
struct gpub {
    struct ev_net net; /* of the last message */
    uint64_t deadline; /* 0: no TTL known */
    uint32_t ttl_ms;
    uint16_t appid;
    uint8_t expired; /* reported since the last message */
    uint8_t reflen;
    char ref[GOCB_MAX];
};

struct correlator {
    struct corr_config cfg;
    struct event_sink sink;
    const struct ruleset *rs;
    struct ctab scans, conduits, assets;
    struct ctab pending;     /* SYNs not answered yet: (src, dst, port) -> time */
    struct ctab pending_udp; /* UDP flows not answered yet, the same way */
    struct ctab pubs;        /* GOOSE publishers: (MAC, APPID, gocbRef) -> struct gpub */
    struct ctab seen;        /* first sights: gocbRef -> MAC, MMS (client, server),
                                intra-zone (src, dst, transport, port) */
    uint64_t first_us;       /* the first record's time: the learning period starts */
    uint64_t goose_next;     /* no GOOSE deadline falls before this */
    int closing;             /* corr_free: evicted pending attempts are not counted */
    struct asset *dirty_head, *dirty_tail;
    char protos[MAX_PROTOS][CORR_PROTO_MAX];
    int nprotos;
    uint64_t now_us;
    struct corr_stats st;
};

static void dirty_unlink(struct correlator *c, struct asset *a)
{
    if (!a->dirty) return;
    if (a->dprev)
        a->dprev->dnext = a->dnext;
    else
        c->dirty_head = a->dnext;
    if (a->dnext)
        a->dnext->dprev = a->dprev;
    else
        c->dirty_tail = a->dprev;
    a->dprev = a->dnext = NULL;
    a->dirty = 0;
}

static void dirty_mark(struct correlator *c, struct asset *a)
{
    if (a->dirty) return;
    a->dirty = 1;
    a->dnext = NULL;
    a->dprev = c->dirty_tail;
    if (c->dirty_tail)
        c->dirty_tail->dnext = a;
    else
        c->dirty_head = a;
    c->dirty_tail = a;
}

static void asset_evict(void *ctx, struct centry *x)
{
    struct correlator *c = ctx;
    struct asset *a = x->v.asset;
    if (!a) return;
    dirty_unlink(c, a);
    free(a->ident);
    free(a);
}

static void pending_evict(void *ctx, struct centry *x);

static void pub_evict(void *ctx, struct centry *x)
{
    (void)ctx;
    free(x->v.pub);
    x->v.pub = NULL;
}

struct correlator *corr_new(const struct corr_config *cfg, event_deliver_fn deliver, void *ctx)
{
    struct correlator *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->cfg = *cfg;
    if (!c->cfg.scan_window_s) c->cfg.scan_window_s = 60;
    if (!c->cfg.conduit_window_s) c->cfg.conduit_window_s = 300;
    if (!c->cfg.syn_timeout_ms) c->cfg.syn_timeout_ms = 3000;
    if (!c->cfg.udp_timeout_ms) c->cfg.udp_timeout_ms = 3000;
    if (!c->cfg.goose_ttl_factor) c->cfg.goose_ttl_factor = 2;
    c->goose_next = UINT64_MAX;
    event_sink_init(&c->sink, deliver, ctx);
    if (ctab_init(&c->scans, cfg->max_entries) || ctab_init(&c->conduits, cfg->max_entries) ||
        ctab_init(&c->assets, cfg->max_assets) || ctab_init(&c->pending, cfg->max_entries) ||
        ctab_init(&c->pending_udp, cfg->max_entries) || ctab_init(&c->pubs, cfg->max_entries) ||
        ctab_init(&c->seen, cfg->max_entries)) {
        corr_free(c);
        return NULL;
    }
    c->pubs.on_evict = pub_evict;
    c->pending_udp.on_evict = pending_evict;
    c->pending_udp.ctx = c;
    c->assets.on_evict = asset_evict;
    c->assets.ctx = c;
    c->pending.on_evict = pending_evict;
    c->pending.ctx = c;
    return c;
}

void corr_free(struct correlator *c)
{
    if (!c) return;
    c->closing = 1;
    ctab_destroy(&c->pending);
    ctab_destroy(&c->pending_udp);
    ctab_destroy(&c->pubs);
    ctab_destroy(&c->seen);
    ctab_destroy(&c->scans);
    ctab_destroy(&c->conduits);
    ctab_destroy(&c->assets);
    free(c);
}

void corr_set_ruleset(struct correlator *c, const struct ruleset *rs)
{
    c->rs = rs;
}

void corr_get_stats(const struct correlator *c, struct corr_stats *st)
{
    *st = c->st;
    st->assets = c->assets.n;
    st->scan_entries = c->scans.n;
    st->conduit_entries = c->conduits.n;
    st->pending_syns = c->pending.n;
    st->pending_udp = c->pending_udp.n;
    st->goose_publishers = c->pubs.n;
    st->seen_entries = c->seen.n;
    st->goose_evictions = c->pubs.evictions;
    st->seen_evictions = c->seen.evictions;
    st->asset_evictions = c->assets.evictions;
    st->scan_evictions = c->scans.evictions;
    st->conduit_evictions = c->conduits.evictions;
}

static int proto_index(struct correlator *c, const char *p)
{
    for (int i = 0; i < c->nprotos; i++)
        if (!strcmp(c->protos[i], p)) return i;
    if (c->nprotos >= MAX_PROTOS || !p[0]) return -1;
    snprintf(c->protos[c->nprotos], CORR_PROTO_MAX, "%s", p);
    return c->nprotos++;
}

static int addr_is_v4(const struct ev_addr *a)
{
    return ev_addr_is_v4(a);
}

static void addr_text(const struct ev_addr *a, int is_mac, char *buf, size_t n)
{
    if (is_mac) {
        const uint8_t *m = a->b + 10;
        snprintf(buf, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    } else if (addr_is_v4(a)) {
        inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)n);
    } else {
        inet_ntop(AF_INET6, a->b, buf, (socklen_t)n);
    }
}

static int zone_of(const struct correlator *c, const struct ev_addr *a, const char **name)
{
    *name = NULL;
    if (!c->rs || !ruleset_zone_count(c->rs)) return -1;
    return ruleset_zone_of(c->rs, a, name);
}

/* Starts an engine event in net's context. */
static struct event *ev_start(struct correlator *c, const struct ev_net *net, const char *proto,
                              const char *op)
{
    c->sink.net = *net;
    struct event *e = event_begin(&c->sink, proto, EV_DIR_NONE);
    event_op(e, op);
    return e;
}

static void ev_emit(struct correlator *c, struct event *e)
{
    c->st.events++;
    event_emit(&c->sink, e);
}

static void ev_ip(struct event *e, const char *key, const struct ev_addr *a, int is_mac)
{
    char t[64];
    addr_text(a, is_mac, t, sizeof(t));
    ev_cstr(e, key, t);
}

static void ident_fields(struct event *e, const char *key, const uint8_t *id, size_t len)
{
    ev_obj_begin(e, key);
    for (size_t o = 0; o + 2 <= len && o + 2u + id[o + 1] <= len; o += 2u + id[o + 1]) {
        const char *k = corr_ident_key(id[o]);
        if (k) ev_str(e, k, id + o + 2, id[o + 1]);
    }
    ev_end(e);
}

/* The net of an event about asset a, from a record in which it was src (as_src) or dst. */
static struct ev_net asset_net(const struct corr_rec *r, int as_src)
{
    struct ev_net n = r->net;
    if (!as_src) {
        ev_net_reverse(&n);
        n.to_server = 0;
    }
    return n;
}

/* The asset at the record's source (as_src) or destination: found or created
 * (asset.new, asset.unknown_zone), its last_seen and MAC updated. */
static struct asset *asset_touch(struct correlator *c, const struct corr_rec *r, int as_src)
{
    int is_mac = r->net.ip_version == 0;
    struct ckey k;
    memset(&k, 0, sizeof(k));
    k.tag = is_mac ? 2 : 1;
    k.a = as_src ? r->net.src : r->net.dst;
    int fresh;
    struct centry *x = ctab_get(&c->assets, &k, 1, &fresh);
    struct asset *a = x->v.asset;
    uint64_t ts = r->net.ts_us;
    if (fresh || !a) {
        a = calloc(1, sizeof(*a));
        if (!a) {
            ctab_remove(&c->assets, (uint32_t)(x - c->assets.e));
            return NULL;
        }
        x->v.asset = a;
        a->addr = k.a;
        a->is_mac = (uint8_t)is_mac;
        a->first_us = ts;
        c->st.asset_new++;
        struct ev_net n = asset_net(r, as_src);
        const char *zname = NULL;
        int z = is_mac ? -1 : zone_of(c, &a->addr, &zname);
        struct event *e = ev_start(c, &n, "asset", "new");
        ev_ip(e, is_mac ? "mac" : "ip", &a->addr, is_mac);
        if (!is_mac && r->net.has_mac) {
            char m[24];
            const uint8_t *mm = as_src ? r->net.src_mac : r->net.dst_mac;
            snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mm[0], mm[1], mm[2], mm[3],
                     mm[4], mm[5]);
            ev_cstr(e, "mac", m);
        }
        if (zname) ev_cstr(e, "zone", zname);
        if (r->kind != CORR_FLOW) ev_cstr(e, "seen_by", r->proto);
        ev_emit(c, e);
        if (!is_mac && z < 0 && c->rs && ruleset_zone_count(c->rs)) {
            c->st.unknown_zone++;
            e = ev_start(c, &n, "asset", "unknown_zone");
            ev_ip(e, "ip", &a->addr, 0);
            ev_emit(c, e);
        }
        dirty_mark(c, a);
    }
    if (ts > a->last_us) a->last_us = ts;
    if (!is_mac && r->net.has_mac) {
        const uint8_t *mm = as_src ? r->net.src_mac : r->net.dst_mac;
        if (!a->has_mac || memcmp(a->mac, mm, 6)) {
            memcpy(a->mac, mm, 6);
            a->has_mac = 1;
            dirty_mark(c, a);
        }
    } else if (is_mac && !a->has_mac) {
        memcpy(a->mac, a->addr.b + 10, 6);
        a->has_mac = 1;
    }
    if (c->cfg.asset_refresh_s && a->last_us - a->written_us >= c->cfg.asset_refresh_s * 1000000ull)
        dirty_mark(c, a);
    return a;
}

/* A scan counter keyed (tag, src, dst or none, port): counts a new contact, says
 * when it reaches the threshold (once per window). */
static int scan_count(struct correlator *c, const struct ckey *k, uint64_t ts, uint32_t thr,
                      uint32_t *count)
{
    struct centry *x = ctab_get(&c->scans, k, 1, NULL);
    uint64_t win = (uint64_t)c->cfg.scan_window_s * 1000000ull;
    if (!x->v.win.start || ts - x->v.win.start >= win) {
        x->v.win.start = ts ? ts : 1;
        x->v.win.count = 0;
        x->v.win.alerted = 0;
    }
    x->v.win.count++;
    *count = x->v.win.count;
    if (thr && x->v.win.count >= thr && !x->v.win.alerted) {
        x->v.win.alerted = 1;
        return 1;
    }
    return 0;
}

/* A failed connection attempt (answered by RST, or not at all): counts towards
 * scan.horizontal (distinct hosts on a port) and scan.vertical (distinct ports on
 * a host), each distinct (source, host, port) once per window. */
static void scan_attempt(struct correlator *c, const struct ev_net *net)
{
    uint64_t ts = net->ts_us, win = (uint64_t)c->cfg.scan_window_s * 1000000ull;
    struct ckey k;
    memset(&k, 0, sizeof(k));
    k.tag = 'C';
    k.a = net->src;
    k.b = net->dst;
    k.port = net->dst_port;
    struct centry *x = ctab_get(&c->scans, &k, 1, NULL);
    if (x->v.last && ts - x->v.last < win) return;
    x->v.last = ts ? ts : 1;
    uint32_t n;
    memset(&k, 0, sizeof(k));
    k.tag = 'H';
    k.a = net->src;
    k.port = net->dst_port;
    if (scan_count(c, &k, ts, c->cfg.scan_hosts, &n)) {
        c->st.scan_horizontal++;
        struct event *e = ev_start(c, net, "scan", "horizontal");
        ev_uint(e, "port", net->dst_port);
        ev_uint(e, "hosts", n);
        ev_uint(e, "window_s", c->cfg.scan_window_s);
        ev_emit(c, e);
    }
    memset(&k, 0, sizeof(k));
    k.tag = 'V';
    k.a = net->src;
    k.b = net->dst;
    if (scan_count(c, &k, ts, c->cfg.scan_ports, &n)) {
        c->st.scan_vertical++;
        struct event *e = ev_start(c, net, "scan", "vertical");
        ev_uint(e, "ports", n);
        ev_uint(e, "window_s", c->cfg.scan_window_s);
        ev_emit(c, e);
    }
}

/* The attempt a pending entry stands for, as an event context. No flow_id or
 * community_id: the scan events it may raise stand for many flows (docs/events.md). */
static void pending_failed(struct correlator *c, const struct centry *x)
{
    struct ev_net n;
    memset(&n, 0, sizeof(n));
    n.ts_us = x->v.win.start;
    n.src = x->k.a;
    n.dst = x->k.b;
    n.dst_port = x->k.port;
    n.src_port = (uint16_t)x->v.win.count;
    n.ip_version = addr_is_v4(&x->k.a) ? 4 : 6;
    n.transport = x->k.transport ? x->k.transport : EV_TRANSPORT_TCP;
    n.to_server = 1;
    scan_attempt(c, &n);
}

static void pending_evict(void *ctx, struct centry *x)
{
    struct correlator *c = ctx;
    if (!c->closing) pending_failed(c, x); /* no room to wait: counts as unanswered */
}

/* Attempts unanswered for their timeout (packet time) have failed. */
static void pending_expire_tab(struct correlator *c, struct ctab *t, uint32_t timeout_ms,
                               uint64_t now)
{
    uint64_t to = (uint64_t)timeout_ms * 1000ull;
    while (t->oldest != NIL) {
        struct centry *x = &t->e[t->oldest];
        if (now != UINT64_MAX && x->v.win.start + to > now) break;
        ctab_remove(t, t->oldest); /* counts it (pending_evict) */
    }
}

static void pending_expire(struct correlator *c, uint64_t now)
{
    pending_expire_tab(c, &c->pending, c->cfg.syn_timeout_ms, now);
    pending_expire_tab(c, &c->pending_udp, c->cfg.udp_timeout_ms, now);
}

/* Broadcast and multicast get no answer by design: they are no probes. */
static int addr_is_group(const struct ev_addr *a)
{
    if (addr_is_v4(a)) {
        const uint8_t *v4 = a->b + 12;
        return (v4[0] & 0xf0) == 0xe0 ||
               (v4[0] == 255 && v4[1] == 255 && v4[2] == 255 && v4[3] == 255);
    }
    return a->b[0] == 0xff;
}

/* A connection attempt waits for its answer: a TCP bare SYN for a SYN-ACK (a RST
 * refuses it), a UDP flow for the first datagram back (an ICMP port-unreachable is
 * no UDP answer, so the probe fails at the timeout like a silent one). Answered
 * attempts are ordinary connections. */
static void scans(struct correlator *c, const struct corr_rec *r)
{
    if (!(r->flags & CORR_F_SYN)) return;
    struct ctab *t;
    if (r->net.transport == EV_TRANSPORT_TCP)
        t = &c->pending;
    else if (r->net.transport == EV_TRANSPORT_UDP && !addr_is_group(&r->net.dst))
        t = &c->pending_udp;
    else
        return;
    struct ckey k = net_key('P', &r->net);
    int fresh;
    struct centry *x = ctab_get(t, &k, 1, &fresh);
    if (fresh) {
        x->v.win.start = r->net.ts_us;
        x->v.win.count = r->net.src_port; /* for the event's context */
    }
}

static void answer(struct correlator *c, const struct corr_rec *r)
{
    struct ckey k = net_key('P', &r->net);
    struct ctab *t = r->net.transport == EV_TRANSPORT_UDP ? &c->pending_udp : &c->pending;
    struct centry *x = ctab_get(t, &k, 0, NULL);
    if (!x) return;
    if (r->flags & CORR_F_RST) {
        ctab_remove(t, (uint32_t)(x - t->e)); /* refused: counts */
    } else {
        c->closing = 1; /* answered: remove without counting */
        ctab_remove(t, (uint32_t)(x - t->e));
        c->closing = 0;
    }
}

/* Once per key per conduit window: 1 if this one is due (count in *n). */
static int conduit_due(struct correlator *c, const struct ckey *k, uint64_t ts)
{
    struct centry *x = ctab_get(&c->conduits, k, 1, NULL);
    uint64_t win = (uint64_t)c->cfg.conduit_window_s * 1000000ull;
    if (x->v.last && ts - x->v.last < win) return 0;
    x->v.last = ts ? ts : 1;
    return 1;
}

static int list_has(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        if (l == n && !memcmp(p, w, n)) return 1;
        p += l + (p[l] == ',');
    }
    return 0;
}

static void conduit_flow(struct correlator *c, const struct corr_rec *r)
{
    const char *zs, *zd, *cname, *protos, *ops;
    int a = zone_of(c, &r->net.src, &zs), b = zone_of(c, &r->net.dst, &zd);
    if (a < 0 || b < 0 || a == b) return;
    if (ruleset_conduit(c->rs, a, b, &cname, &protos, &ops)) return;
    struct ckey k = net_key('U', &r->net);
    if (!conduit_due(c, &k, r->net.ts_us)) return;
    c->st.conduit_unlisted++;
    struct event *e = ev_start(c, &r->net, "conduit", "unlisted");
    ev_cstr(e, "src_zone", zs);
    ev_cstr(e, "dst_zone", zd);
    ev_emit(c, e);
}

static void conduit_op(struct correlator *c, const struct corr_rec *r)
{
    const char *zs, *zd, *cname, *protos, *ops;
    int a = zone_of(c, &r->net.src, &zs), b = zone_of(c, &r->net.dst, &zd);
    if (a < 0 || b < 0 || a == b) return;
    if (!ruleset_conduit(c->rs, a, b, &cname, &protos, &ops)) return; /* conduit.unlisted */
    const char *why = NULL;
    if (protos && !list_has(protos, r->proto))
        why = "protocol";
    else if (ops && r->opclass < OPC_COUNT && !list_has(ops, opclass_names[r->opclass]))
        why = "operation";
    if (!why) return;
    struct ckey k;
    memset(&k, 0, sizeof(k));
    k.tag = 'O';
    k.a = r->net.src;
    k.b = r->net.dst;
    k.aux = (uint32_t)proto_index(c, r->proto);
    k.port = r->opclass;
    if (!conduit_due(c, &k, r->net.ts_us)) return;
    c->st.conduit_operation++;
    struct event *e = ev_start(c, &r->net, "conduit", "operation");
    ev_cstr(e, "src_zone", zs);
    ev_cstr(e, "dst_zone", zd);
    ev_cstr(e, "conduit", cname);
    ev_cstr(e, "reason", why);
    ev_cstr(e, "protocol", r->proto);
    ev_cstr(e, "op", r->op);
    ev_cstr(e, "op_class", r->opclass < OPC_COUNT ? opclass_names[r->opclass] : "diagnostic");
    if (protos) ev_cstr(e, "allowed_protocols", protos);
    if (ops) ev_cstr(e, "allowed_ops", ops);
    ev_emit(c, e);
}

static const uint8_t *ident_find(const uint8_t *id, size_t len, int k, size_t *vl)
{
    for (size_t o = 0; o + 2 <= len && o + 2u + id[o + 1] <= len; o += 2u + id[o + 1])
        if (id[o] == k) {
            *vl = id[o + 1];
            return id + o + 2;
        }
    return NULL;
}

/* New identity facts for an asset: a change of a key it already had is
 * asset.identity_changed; new keys are merged in. */
static void identity(struct correlator *c, struct asset *a, const struct corr_rec *r)
{
    uint8_t merged[CORR_IDENT_MAX * 2];
    size_t ml = 0;
    int changed = 0, added = 0;
    const char *which[N_IDENT_KEYS];
    int nwhich = 0;
    /* the new record's values first, then old keys it lacks */
    for (size_t o = 0; o + 2 <= r->ident_len && o + 2u + r->ident[o + 1] <= r->ident_len;
         o += 2u + r->ident[o + 1]) {
        size_t ol;
        const uint8_t *old = a->ident ? ident_find(a->ident, a->ident_len, r->ident[o], &ol) : NULL;
        if (!old)
            added = 1;
        else if (ol != r->ident[o + 1] || memcmp(old, r->ident + o + 2, ol)) {
            changed = 1;
            if (nwhich < (int)N_IDENT_KEYS && corr_ident_key(r->ident[o]))
                which[nwhich++] = corr_ident_key(r->ident[o]);
        }
        memcpy(merged + ml, r->ident + o, 2u + r->ident[o + 1]);
        ml += 2u + r->ident[o + 1];
    }
    for (size_t o = 0;
         a->ident && o + 2 <= a->ident_len && o + 2u + a->ident[o + 1] <= a->ident_len;
         o += 2u + a->ident[o + 1]) {
        size_t nl;
        if (ident_find(r->ident, r->ident_len, a->ident[o], &nl)) continue;
        if (ml + 2u + a->ident[o + 1] > sizeof(merged)) break;
        memcpy(merged + ml, a->ident + o, 2u + a->ident[o + 1]);
        ml += 2u + a->ident[o + 1];
    }
    if (changed) {
        c->st.identity_changed++;
        struct event *e = ev_start(c, &r->net, "asset", "identity_changed");
        ev_ip(e, a->is_mac ? "mac" : "ip", &a->addr, a->is_mac);
        ev_cstr(e, "seen_by", r->proto);
        ev_arr_begin(e, "changed");
        for (int i = 0; i < nwhich; i++)
            ev_cstr(e, NULL, which[i]);
        ev_end(e);
        if (a->ident) ident_fields(e, "old", a->ident, a->ident_len);
        ident_fields(e, "new", r->ident, r->ident_len);
        ev_emit(c, e);
    }
    if (!changed && !added) return;
    uint8_t *n = malloc(ml ? ml : 1);
    if (!n) return;
    memcpy(n, merged, ml);
    free(a->ident);
    a->ident = n;
    a->ident_len = (uint16_t)ml;
    dirty_mark(c, a);
}

static void add_role(struct correlator *c, struct asset *a, const char *proto, int server)
{
    int p = proto_index(c, proto);
    if (!a || p < 0) return;
    uint64_t bit = 1ull << p;
    if ((a->protos & bit) && (a->roles[server] & bit)) return;
    a->protos |= bit;
    a->roles[server] |= bit;
    dirty_mark(c, a);
}

/* ---- first sights and GOOSE liveness ---------------------------------------- */

/* Inside the learning period what is new is remembered, not reported. */
static int learning(const struct correlator *c, uint64_t ts)
{
    return c->cfg.learning_s && ts < c->first_us + (uint64_t)c->cfg.learning_s * 1000000ull;
}

/* 1 if k was not in the table of first sights (it is now). */
static int first_sight(struct correlator *c, const struct ckey *k, struct centry **out)
{
    int fresh;
    struct centry *x = ctab_get(&c->seen, k, 1, &fresh);
    if (out) *out = x;
    return fresh;
}

/* A new (source, destination, transport, port) inside one zone. */
static void intra_zone(struct correlator *c, const struct corr_rec *r)
{
    const char *zs, *zd;
    int a = zone_of(c, &r->net.src, &zs), b = zone_of(c, &r->net.dst, &zd);
    if (a < 0 || a != b) return;
    struct ckey k = net_key('I', &r->net);
    if (!first_sight(c, &k, NULL) || learning(c, r->net.ts_us)) return;
    c->st.new_intra_zone++;
    struct event *e = ev_start(c, &r->net, "flow", "new_intra_zone");
    ev_cstr(e, "zone", zs);
    ev_uint(e, "port", r->net.dst_port);
    ev_emit(c, e);
}

/* An association request (MMS initiate) from a client never seen with that server. */
static void assoc(struct correlator *c, const struct corr_rec *r)
{
    struct ckey k;
    memset(&k, 0, sizeof(k));
    k.tag = 'M';
    k.a = r->net.src;
    k.b = r->net.dst;
    if (!first_sight(c, &k, NULL) || learning(c, r->net.ts_us)) return;
    c->st.mms_new_client++;
    struct event *e = ev_start(c, &r->net, "mms", "new_client");
    ev_ip(e, "client", &r->net.src, 0);
    ev_ip(e, "server", &r->net.dst, 0);
    ev_uint(e, "server_port", r->net.dst_port);
    ev_emit(c, e);
}

static void gocb_hash(const uint8_t *p, size_t n, struct ev_addr *out)
{
    uint64_t h1 = 1469598103934665603ull, h2 = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        h1 = (h1 ^ p[i]) * 1099511628211ull;
        h2 = (h2 ^ p[i]) * 0xff51afd7ed558ccdull;
        h2 ^= h2 >> 29;
    }
    memcpy(out->b, &h1, 8);
    memcpy(out->b + 8, &h2, 8);
}

static void mac_text(const uint8_t *m, char *buf, size_t n)
{
    snprintf(buf, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* Publishers whose deadline passed before now: goose_publisher.ttl_expired, once per silence,
 * at the deadline. A linear pass, only when the earliest deadline has passed. */
static void goose_expire(struct correlator *c, uint64_t now)
{
    if (now <= c->goose_next) return;
    uint64_t next = UINT64_MAX;
    for (uint32_t i = 0; i < c->pubs.hw; i++) {
        struct centry *x = &c->pubs.e[i];
        struct gpub *p = x->used ? x->v.pub : NULL;
        if (!p || p->expired || !p->deadline) continue;
        if (p->deadline >= now) {
            if (p->deadline < next) next = p->deadline;
            continue;
        }
        p->expired = 1;
        c->st.goose_ttl_expired++;
        struct ev_net n = p->net;
        n.ts_us = p->deadline;
        struct event *e = ev_start(c, &n, "goose_publisher", "ttl_expired");
        ev_str(e, "gocb_ref", p->ref, p->reflen);
        ev_uint(e, "appid", p->appid);
        ev_uint(e, "time_allowed_to_live", p->ttl_ms);
        ev_uint(e, "ttl_factor", c->cfg.goose_ttl_factor);
        ev_uint(e, "last_message_us", p->net.ts_us);
        ev_emit(c, e);
    }
    c->goose_next = next;
}

/* One GOOSE message: a new (MAC, APPID, gocbRef) is goose_publisher.new (with
 * known_mac when the gocbRef was seen from another MAC: reported even while
 * learning); the message moves the publisher's TTL deadline. */
static void goose(struct correlator *c, const struct corr_rec *r)
{
    size_t rl = r->ident_len < GOCB_MAX ? r->ident_len : GOCB_MAX;
    struct ckey k;
    memset(&k, 0, sizeof(k));
    k.tag = 'R';
    gocb_hash(r->ident, rl, &k.b);
    struct centry *rx;
    int spoof = 0;
    uint8_t known[6];
    if (first_sight(c, &k, &rx)) {
        memcpy(&rx->v.last, r->net.src_mac, 6);
    } else {
        memcpy(known, &rx->v.last, 6);
        spoof = memcmp(known, r->net.src_mac, 6) != 0;
    }
    k.tag = 'G'; /* the publisher: b keeps the gocbRef's hash */
    memcpy(k.a.b + 10, r->net.src_mac, 6);
    k.port = r->appid;
    int fresh;
    struct centry *x = ctab_get(&c->pubs, &k, 1, &fresh);
    struct gpub *p = x->v.pub;
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p) {
            ctab_remove(&c->pubs, (uint32_t)(x - c->pubs.e));
            return;
        }
        x->v.pub = p;
        p->appid = r->appid;
        p->reflen = (uint8_t)rl;
        memcpy(p->ref, r->ident, rl);
    }
    if (fresh && (spoof || !learning(c, r->net.ts_us))) {
        c->st.goose_new_publisher++;
        struct event *e = ev_start(c, &r->net, "goose_publisher", "new");
        ev_str(e, "gocb_ref", r->ident, rl);
        ev_uint(e, "appid", r->appid);
        char m[24];
        mac_text(r->net.src_mac, m, sizeof(m));
        ev_cstr(e, "mac", m);
        ev_bool(e, "spoof", spoof);
        if (spoof) {
            mac_text(known, m, sizeof(m));
            ev_cstr(e, "known_mac", m);
        }
        ev_emit(c, e);
    }
    p->net = r->net;
    p->ttl_ms = r->ttl_ms;
    p->expired = 0;
    p->deadline =
        r->ttl_ms ? r->net.ts_us + (uint64_t)r->ttl_ms * 1000ull * c->cfg.goose_ttl_factor : 0;
    if (p->deadline && p->deadline < c->goose_next) c->goose_next = p->deadline;
}

void corr_process(struct correlator *c, const struct corr_rec *r)
{
    c->st.records++;
    if (!c->first_us) c->first_us = r->net.ts_us ? r->net.ts_us : 1;
    if (r->net.ts_us > c->now_us) c->now_us = r->net.ts_us;
    pending_expire(c, c->now_us);
    goose_expire(c, c->now_us);
    switch (r->kind) {
    case CORR_ANSWER: answer(c, r); break;
    case CORR_FLOW:
        if (!r->net.ip_version) return;
        asset_touch(c, r, 1);
        asset_touch(c, r, 0);
        scans(c, r);
        conduit_flow(c, r);
        intra_zone(c, r);
        break;
    case CORR_GOOSE: goose(c, r); break;
    case CORR_ASSOC:
        if (r->net.ip_version) assoc(c, r);
        break;
    case CORR_OP:
        if (r->net.ip_version) {
            add_role(c, asset_touch(c, r, 1), r->proto, 0);
            add_role(c, asset_touch(c, r, 0), r->proto, 1);
            conduit_op(c, r);
        }
        break;
    case CORR_IDENT: {
        struct asset *a = asset_touch(c, r, 1);
        if (!a) return;
        if (r->net.ip_version) add_role(c, a, r->proto, 1);
        identity(c, a, r);
        break;
    }
    default: break;
    }
}

void corr_finish(struct correlator *c)
{
    pending_expire(c, UINT64_MAX);
}

/* ---- Redis view of assets ---------------------------------------------------- */

static void list_names(const struct correlator *c, uint64_t bits, const char *suffix,
                       struct jbuf *j, int *first)
{
    for (int i = 0; i < c->nprotos; i++)
        if (bits & (1ull << i)) {
            if (!*first) jbuf_putc(j, ',');
            *first = 0;
            jbuf_puts(j, c->protos[i]);
            if (suffix) jbuf_puts(j, suffix);
        }
}

static int write_asset(struct correlator *c, struct asset *a, corr_asset_fn fn, void *ctx)
{
    char id[64], mac[24] = "", vendor[CORR_IDENT_VMAX + 1] = "", product[CORR_IDENT_VMAX + 1] = "";
    char protos[1024], roles[2048], ident[4096];
    addr_text(&a->addr, a->is_mac, id, sizeof(id));
    if (a->has_mac)
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", a->mac[0], a->mac[1], a->mac[2],
                 a->mac[3], a->mac[4], a->mac[5]);
    size_t vl;
    const uint8_t *v;
    static const char *const vkeys[] = {"vendor", "vendor_id"};
    static const char *const pkeys[] = {"product_name",    "model_name",       "order_number",
                                        "type_of_station", "device_type_name", "product_code"};
    for (size_t i = 0; i < 2 && !vendor[0]; i++)
        if ((v = ident_find(a->ident, a->ident_len, ident_key_index(vkeys[i]), &vl)))
            snprintf(vendor, sizeof(vendor), "%.*s", (int)vl, (const char *)v);
    for (size_t i = 0; i < 6 && !product[0]; i++)
        if ((v = ident_find(a->ident, a->ident_len, ident_key_index(pkeys[i]), &vl)))
            snprintf(product, sizeof(product), "%.*s", (int)vl, (const char *)v);
    struct jbuf j;
    int first = 1;
    jbuf_init(&j, protos, sizeof(protos) - 1);
    list_names(c, a->protos, NULL, &j, &first);
    protos[j.overflow ? 0 : j.len] = 0;
    first = 1;
    jbuf_init(&j, roles, sizeof(roles) - 1);
    list_names(c, a->roles[0], "_client", &j, &first);
    list_names(c, a->roles[1], "_server", &j, &first);
    roles[j.overflow ? 0 : j.len] = 0;
    jbuf_init(&j, ident, sizeof(ident) - 1);
    jbuf_putc(&j, '{');
    first = 1;
    for (size_t o = 0;
         a->ident && o + 2 <= a->ident_len && o + 2u + a->ident[o + 1] <= a->ident_len;
         o += 2u + a->ident[o + 1]) {
        const char *k = corr_ident_key(a->ident[o]);
        if (!k) continue;
        if (!first) jbuf_putc(&j, ',');
        first = 0;
        jbuf_str(&j, k, strlen(k));
        jbuf_putc(&j, ':');
        jbuf_str(&j, (const char *)a->ident + o + 2, a->ident[o + 1]);
    }
    jbuf_putc(&j, '}');
    if (j.overflow)
        strcpy(ident, "{}");
    else
        ident[j.len] = 0;
    const char *zname = NULL;
    if (!a->is_mac) zone_of(c, &a->addr, &zname);
    /* vendor and product come from the wire: keep them printable */
    for (char *p = vendor; *p; p++)
        if ((unsigned char)*p < 0x20) *p = '?';
    for (char *p = product; *p; p++)
        if ((unsigned char)*p < 0x20) *p = '?';
    struct corr_asset_view view = {id,          mac,       vendor, product,
                                   protos,      roles,     ident,  zname ? zname : "",
                                   a->first_us, a->last_us};
    if (fn(ctx, &view) != 0) {
        c->st.asset_write_fails++;
        return -1;
    }
    c->st.asset_writes++;
    a->written_us = a->last_us;
    return 0;
}

void corr_flush_assets(struct correlator *c, corr_asset_fn fn, void *ctx, int all)
{
    int budget = all ? -1 : 256;
    while (c->dirty_head && budget) {
        struct asset *a = c->dirty_head;
        if (write_asset(c, a, fn, ctx) != 0) return; /* Redis away: try again later */
        dirty_unlink(c, a);
        if (budget > 0) budget--;
    }
}

/* ---- merge ------------------------------------------------------------------- */

struct merge_item {
    struct corr_rec *r;
    size_t len;
};

struct corr_merge {
    struct merge_item *heap;
    size_t n, cap, max;
};

struct corr_merge *corr_merge_new(size_t max)
{
    struct corr_merge *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->max = max ? max : 1;
    return m;
}

void corr_merge_free(struct corr_merge *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++)
        free(m->heap[i].r);
    free(m->heap);
    free(m);
}

size_t corr_merge_size(const struct corr_merge *m)
{
    return m->n;
}

/* Time, then kind, then the bytes: a total order that does not depend on which
 * worker sent what. */
static int item_less(const struct merge_item *x, const struct merge_item *y)
{
    if (x->r->net.ts_us != y->r->net.ts_us) return x->r->net.ts_us < y->r->net.ts_us;
    if (x->r->kind != y->r->kind) return x->r->kind < y->r->kind;
    size_t l = x->len < y->len ? x->len : y->len;
    int d = memcmp(x->r, y->r, l);
    if (d) return d < 0;
    return x->len < y->len;
}

int corr_merge_push(struct corr_merge *m, const void *r, size_t len)
{
    if (len < offsetof(struct corr_rec, ident) || len > sizeof(struct corr_rec)) return -1;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 1024;
        struct merge_item *h = realloc(m->heap, nc * sizeof(*h));
        if (!h) return -1;
        m->heap = h;
        m->cap = nc;
    }
    /* only the bytes that travelled: the identity part is mostly empty */
    struct corr_rec *copy = calloc(1, len);
    if (!copy) return -1;
    memcpy(copy, r, len);
    copy->ident_len = (uint16_t)(len - offsetof(struct corr_rec, ident));
    size_t i = m->n++;
    m->heap[i] = (struct merge_item){copy, len};
    while (i) {
        size_t p = (i - 1) / 2;
        if (!item_less(&m->heap[i], &m->heap[p])) break;
        struct merge_item t = m->heap[i];
        m->heap[i] = m->heap[p];
        m->heap[p] = t;
        i = p;
    }
    return 0;
}

static struct corr_rec *merge_pop(struct corr_merge *m)
{
    struct corr_rec *r = m->heap[0].r;
    m->heap[0] = m->heap[--m->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, s = i;
        if (l < m->n && item_less(&m->heap[l], &m->heap[s])) s = l;
        if (l + 1 < m->n && item_less(&m->heap[l + 1], &m->heap[s])) s = l + 1;
        if (s == i) break;
        struct merge_item t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
    return r;
}

void corr_merge_run(struct corr_merge *m, struct correlator *c, uint64_t limit)
{
    while (m->n) {
        int forced = m->n > m->max;
        if (m->heap[0].r->net.ts_us >= limit && !forced) break;
        if (m->heap[0].r->net.ts_us >= limit) c->st.forced++;
        struct corr_rec *r = merge_pop(m);
        corr_process(c, r);
        free(r);
    }
}
