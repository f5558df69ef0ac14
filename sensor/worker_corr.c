/* worker_corr.c - the worker's side of the correlation stage: condenses flows,
 * operations and identity facts into small records for the output thread. */
#include <stdint.h>
#include <string.h>

#include "engine.h"

/* Correlation records are never dropped: they are few (per flow, not per packet)
 * and the stage's results must not depend on timing. */
static void corr_push(struct worker *w, const struct corr_rec *r)
{
    size_t len = corr_rec_len(r);
    unsigned spins = 0;
    for (;;) {
        uint8_t *p = ring_reserve(&w->out, len + 1);
        if (p) {
            p[0] = OUT_CORR;
            memcpy(p + 1, r, len);
            ring_commit(&w->out);
            w->st.corr_records++;
            return;
        }
        ring_backoff(&spins);
    }
}

void worker_corr_flow(struct worker *w, const struct ev_net *n, int syn)
{
    struct corr_rec r;
    memset(&r, 0, offsetof(struct corr_rec, ident));
    r.net = *n;
    r.kind = CORR_FLOW;
    r.flags = syn ? CORR_F_SYN : 0;
    corr_push(w, &r);
}

void worker_corr_answer(struct worker *w, const struct ev_net *n, uint8_t tcp_flags)
{
    struct corr_rec r;
    memset(&r, 0, offsetof(struct corr_rec, ident));
    r.net = *n;
    r.kind = CORR_ANSWER;
    r.flags = (tcp_flags & 0x04) ? CORR_F_RST : CORR_F_SYNACK;
    corr_push(w, &r);
}

static void copy_name(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap) n = cap - 1;
    memcpy(dst, s, n);
}

/* Op names are static strings: what we know of one is cached by its address, per
 * thread, so a flow alternating between ops costs a lookup, not string searches. */
#define OPC_SLOTS 1024
static _Thread_local struct {
    const char *op;
    uint8_t cls, ident;
} opc[OPC_SLOTS];

static void op_facts(const char *op, const char *proto, int *cls, int *ident)
{
    size_t i = ((uintptr_t)op >> 3) & (OPC_SLOTS - 1);
    if (opc[i].op != op) {
        opc[i].op = op;
        opc[i].cls = (uint8_t)corr_opclass(proto, op);
        opc[i].ident = (uint8_t)corr_is_identity_op(op);
    }
    *cls = opc[i].cls;
    *ident = opc[i].ident;
}

/* A valid GOOSE message: the publisher's identity and TTL, for goose_publisher.new
 * and goose_publisher.ttl_expired (a record per message: the stage's clock must see each). */
static void corr_goose(struct worker *w, const struct event *e)
{
    const struct ev_field *ref = event_find(e, "gocb_ref");
    const struct ev_field *ttl = event_find(e, "time_allowed_to_live");
    const struct ev_field *appid = event_find(e, "appid");
    if (!ref || ref->type != EVF_STR || !e->net.has_mac) return;
    struct corr_rec r;
    memset(&r, 0, offsetof(struct corr_rec, ident));
    r.net = e->net;
    r.kind = CORR_GOOSE;
    copy_name(r.proto, sizeof(r.proto), e->proto);
    r.appid = appid && appid->type == EVF_UINT ? (uint16_t)appid->v.u : 0;
    r.ttl_ms = ttl && ttl->type == EVF_UINT && ttl->v.u <= UINT32_MAX ? (uint32_t)ttl->v.u : 0;
    size_t n = ref->len < CORR_IDENT_MAX ? ref->len : CORR_IDENT_MAX;
    memcpy(r.ident, event_field_text(e, ref), n);
    r.ident_len = (uint16_t)n;
    corr_push(w, &r);
}

/* Per event: a pointer compare for the common case (the same op as last time in
 * this flow and direction); otherwise the operation class of a request, reported
 * once per (flow, protocol, class), or the identity in a response. */
void worker_corr_event(struct worker *w, const struct event *e)
{
    struct flow *f = w->cur_flow;
    if (!e->op || e->dir == EV_DIR_NONE) return;
    int req = e->dir == EV_DIR_REQUEST;
    /* every GOOSE message goes to the stage, before the per-flow op cache */
    if (e->proto[0] == 'g' && !strcmp(e->proto, "goose") &&
        (!strcmp(e->op, "message") || !strcmp(e->op, "state_change"))) {
        corr_goose(w, e);
        return;
    }
    if (req && e->proto[0] == 'm' && !strcmp(e->op, "initiate_request") &&
        !strcmp(e->proto, "mms")) {
        struct corr_rec r;
        memset(&r, 0, offsetof(struct corr_rec, ident));
        r.net = e->net;
        r.kind = CORR_ASSOC;
        copy_name(r.proto, sizeof(r.proto), e->proto);
        corr_push(w, &r);
    }
    if (f) {
        if (f->corr_op[!req] == e->op) return;
        f->corr_op[!req] = e->op;
    }
    struct corr_rec r;
    int cls, is_ident;
    op_facts(e->op, e->proto, &cls, &is_ident);
    /* a BACnet I-Am routed from another network (NPDU source) describes a device
     * behind the sender, not the sender */
    if (is_ident && !(e->proto[0] == 'b' && event_find(e, "npdu.source"))) {
        /* responses and announcements (BACnet I-Am is an unconfirmed request) */
        memset(&r, 0, sizeof(r));
        r.kind = CORR_IDENT;
        if (corr_ident_from_event(&r, e)) {
            r.net = e->net;
            copy_name(r.proto, sizeof(r.proto), e->proto);
            corr_push(w, &r);
            if (f) f->corr_op[!req] = NULL; /* identity is always looked at */
        }
    }
    if (!req) return;
    if (f) {
        int s = f->corr_proto[0] == e->proto ? 0 : f->corr_proto[1] == e->proto ? 1 : -1;
        if (s < 0) {
            s = f->corr_proto[0] ? 1 : 0;
            f->corr_proto[s] = e->proto;
            f->corr_mask[s] = 0;
        }
        if (f->corr_mask[s] & (1u << cls)) return;
        f->corr_mask[s] |= (uint8_t)(1u << cls);
    }
    memset(&r, 0, offsetof(struct corr_rec, ident));
    r.kind = CORR_OP;
    r.opclass = (uint8_t)cls;
    copy_name(r.op, sizeof(r.op), e->op);
    r.net = e->net;
    copy_name(r.proto, sizeof(r.proto), e->proto);
    corr_push(w, &r);
}

void worker_corr_mark(struct worker *w)
{
    ring_publish(&w->out);
    atomic_store_explicit(&w->corr_mark, w->now_us, memory_order_release);
}
