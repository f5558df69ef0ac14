/* event.c - building typed events and looking fields up. */
#include "event.h"

#include <string.h>

const uint8_t ev_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void event_sink_init(struct event_sink *s, event_deliver_fn deliver, void *ctx)
{
    memset(&s->net, 0, sizeof(s->net));
    s->deliver = deliver;
    s->ctx = ctx;
    s->payload = NULL;
    s->payload_len = 0;
    s->top = 0;
    s->emitted = 0;
    s->params = NULL;
    memset(s->shared, 0, sizeof(s->shared));
}

struct event *event_begin(struct event_sink *s, const char *proto, enum ev_dir dir)
{
    /* Our own invariant, not wire-driven: dissectors nest at most EVENT_STACK deep.
     * If one leaks events we recycle the top slot rather than overrun. */
    if (s->top >= EVENT_STACK) s->top = EVENT_STACK - 1;
    struct event *e = &s->stack[s->top++];
    e->net = s->net;
    e->proto = proto;
    e->op = NULL;
    e->dir = (uint8_t)dir;
    e->has_code = 0;
    e->code = 0;
    e->depth = 0;
    e->realmask = 0;
    e->nanom = 0;
    e->overflow = 0;
    e->nfields = 0;
    e->key_bits = 0;
    e->str_used = 0;
    return e;
}

void event_code(struct event *e, int64_t code, const char *op)
{
    e->has_code = 1;
    e->code = code;
    e->op = op;
}

void ev_net_reverse(struct ev_net *n)
{
    struct ev_addr a = n->src;
    n->src = n->dst;
    n->dst = a;
    uint16_t p = n->src_port;
    n->src_port = n->dst_port;
    n->dst_port = p;
    uint8_t mac[6];
    memcpy(mac, n->src_mac, 6);
    memcpy(n->src_mac, n->dst_mac, 6);
    memcpy(n->dst_mac, mac, 6);
    n->to_server = !n->to_server;
}

void event_op(struct event *e, const char *op)
{
    e->op = op;
}

void event_anomaly(struct event *e, const char *name)
{
    for (unsigned i = 0; i < e->nanom; i++)
        if (strcmp(e->anomalies[i], name) == 0) return;
    if (e->nanom < EVENT_MAX_ANOMALIES)
        e->anomalies[e->nanom++] = name;
    else
        e->overflow = 1;
}

static void pop(struct event_sink *s, struct event *e)
{
    /* events close in stack order; closing a lower one closes those above it */
    for (int i = s->top - 1; i >= 0; i--) {
        if (&s->stack[i] == e) {
            s->top = i;
            return;
        }
    }
}

void event_emit(struct event_sink *s, struct event *e)
{
    while (e->depth > 0)
        ev_end(e);
    s->emitted++;
    if (s->deliver) s->deliver(s->ctx, e);
    pop(s, e);
}

void event_discard(struct event_sink *s, struct event *e)
{
    pop(s, e);
}

/* Reserves a field; keeps room for closing every open container. */
struct ev_field *ev_add(struct event *e, const char *key, uint8_t type)
{
    /* a member of a container that was not written goes with it, rather than
     * landing in the parent (a wrong path for rules, a keyless member in an object) */
    if (type != EVF_END && e->depth > 0 &&
        (e->depth > 32 || !(e->realmask & (1u << (e->depth - 1))))) {
        e->overflow = 1;
        return NULL;
    }
    unsigned reserve = type == EVF_END ? 0 : e->depth + (type == EVF_OBJ || type == EVF_ARR);
    if (e->nfields + 1u + reserve > EVENT_MAX_FIELDS) {
        e->overflow = 1;
        return NULL;
    }
    return ev_take(e, key, type);
}

void ev_double(struct event *e, const char *key, double v)
{
    struct ev_field *f = ev_add(e, key, EVF_DOUBLE);
    if (f) f->v.d = v;
}

void ev_null(struct event *e, const char *key)
{
    ev_add(e, key, EVF_NULL);
}

static void add_bytes(struct event *e, const char *key, uint8_t type, const void *s, size_t len)
{
    if (len > EVENT_STR_CAP) {
        len = EVENT_STR_CAP;
        e->overflow = 1;
    }
    if (EVENT_STR_ARENA - e->str_used < len) {
        e->overflow = 1;
        return;
    }
    struct ev_field *f = ev_add(e, key, type);
    if (!f) return;
    if (len) memcpy(e->str + e->str_used, s, len);
    f->v.off = e->str_used;
    f->len = (uint32_t)len;
    e->str_used += (uint32_t)len;
}

void ev_str(struct event *e, const char *key, const void *s, size_t len)
{
    add_bytes(e, key, EVF_STR, s, len);
}

void ev_cstr(struct event *e, const char *key, const char *s)
{
    add_bytes(e, key, EVF_STR, s, s ? strlen(s) : 0);
}

void ev_hex(struct event *e, const char *key, const void *b, size_t len)
{
    add_bytes(e, key, EVF_HEX, b, len);
}

/* Opens a container. Levels that could not be written (too deep, or no room)
 * are still counted so that ev_end() calls pair up; realmask says which were. */
static void open_container(struct event *e, const char *key, uint8_t type)
{
    int real = e->depth < EVENT_MAX_DEPTH && ev_add(e, key, type) != NULL;
    if (!real) e->overflow = 1;
    if (e->depth < 32) {
        if (real)
            e->realmask |= 1u << e->depth;
        else
            e->realmask &= ~(1u << e->depth);
    }
    if (e->depth < 255) e->depth++;
}

void ev_obj_begin(struct event *e, const char *key)
{
    open_container(e, key, EVF_OBJ);
}

void ev_arr_begin(struct event *e, const char *key)
{
    open_container(e, key, EVF_ARR);
}

void ev_end(struct event *e)
{
    if (e->depth == 0) return;
    e->depth--;
    if (e->depth < 32 && (e->realmask & (1u << e->depth))) ev_add(e, NULL, EVF_END);
}

const char *event_field_text(const struct event *e, const struct ev_field *f)
{
    return e->str + f->v.off;
}

int event_has_anomaly(const struct event *e, const char *name)
{
    for (unsigned i = 0; i < e->nanom; i++)
        if (strcmp(e->anomalies[i], name) == 0) return 1;
    return 0;
}

/* Skips a container starting at fields[i] (an OBJ/ARR); returns the index after its END. */
static unsigned skip_container(const struct event *e, unsigned i)
{
    int depth = 0;
    for (; i < e->nfields; i++) {
        uint8_t t = e->fields[i].type;
        if (t == EVF_OBJ || t == EVF_ARR)
            depth++;
        else if (t == EVF_END && --depth == 0)
            return i + 1;
    }
    return i;
}

const struct ev_field *event_find(const struct event *e, const char *path)
{
    unsigned i = 0, end = e->nfields;
    const char *seg = path;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        const struct ev_field *hit = NULL;
        unsigned hit_i = 0;
        while (i < end) {
            const struct ev_field *f = &e->fields[i];
            if (f->type == EVF_END) break; /* end of the container we are searching */
            /* first byte before anything else: most keys differ there */
            if (f->key && f->key[0] == seg[0] && strncmp(f->key, seg, n) == 0 &&
                f->key[n] == '\0') {
                hit = f;
                hit_i = i;
                break;
            }
            i = (f->type == EVF_OBJ || f->type == EVF_ARR) ? skip_container(e, i) : i + 1;
        }
        if (!hit) return NULL;
        if (!dot) return hit;
        if (hit->type != EVF_OBJ) return NULL;
        i = hit_i + 1;
        seg = dot + 1;
    }
}
