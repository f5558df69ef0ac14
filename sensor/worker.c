/* worker.c - one worker thread: flows, TCP state, reassembly, nDPI, dissectors, events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "community_id.h"
#include "tcp_opts.h"
#include "dissector.h"
#include "engine.h"
#include "log.h"
#include "object.h"

#define PROBE_BUFFER_MAX  4096
#define PROBE_TRIES_MAX   8
#define SWEEP_INTERVAL_US 1000000ULL
#define WORKER_BATCH      32

uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- events out ---------------------------------------------------------- */

static void count_proto(struct worker_stats *st, const char *proto)
{
    /* a dissector passes the same static string every time: look for the pointer
     * first, and compare text only for a name first seen from elsewhere */
    for (unsigned i = 0; i < st->nproto; i++)
        if (st->proto[i].proto == proto) {
            st->proto[i].pdus++;
            return;
        }
    for (unsigned i = 0; i < st->nproto; i++)
        if (strcmp(st->proto[i].proto, proto) == 0) {
            st->proto[i].pdus++;
            return;
        }
    if (st->nproto < MAX_PROTO_STATS) {
        st->proto[st->nproto].proto = proto;
        st->proto[st->nproto].pdus = 1;
        st->nproto++;
    }
}

/* Hands one line to the output thread. Offline we wait for room (no loss). Live,
 * an event line waits a bounded time, then is dropped and counted, so capture
 * never stalls behind a slow disk; an alert always waits (alerts are never
 * dropped: Redis trouble is absorbed by the spool behind the output thread). */
static void push_rec(struct worker *w, uint8_t type, const void *hdr, size_t hlen, const char *line,
                     size_t len)
{
    unsigned spins = 0;
    if (hlen + len + 17 > w->out.size / 2) {
        w->st.events_dropped++;
        return;
    }
    for (;;) {
        uint8_t *p = ring_reserve(&w->out, hlen + len + 1);
        if (p) {
            p[0] = type;
            if (hlen) memcpy(p + 1, hdr, hlen);
            memcpy(p + 1 + hlen, line, len);
            ring_commit(&w->out);
            return;
        }
        if (w->eng->live && type == OUT_EVENT && spins > 200) {
            w->st.events_dropped++;
            return;
        }
        ring_backoff(&spins);
    }
}

static void push_line(struct worker *w, uint8_t type, const char *line, size_t len)
{
    push_rec(w, type, NULL, 0, line, len);
}

/* What goes out of this worker's aggregation: alerts sent on their own and summaries. */
static void alert_push(void *ctx, const char *json, size_t len)
{
    push_rec(ctx, OUT_ALERT, NULL, 0, json, len);
}

/* Each worker aggregates its own alerts: a key (sid, addresses, VLAN) lives in the one
 * worker that sees its address pair, so nothing is split, and an alert that would only
 * be counted is never written out as text (rule_ctx_set_absorb). An alert without
 * addresses (layer 2) has a key that spans workers (MAC pairs are spread over them):
 * the output thread aggregates those. */
static void alert_out(void *ctx, const char *json, size_t len)
{
    struct worker *w = ctx;
    const struct alert_hdr *h = rules_alert_hdr(w->rctx);
    w->st.alerts++;
    if (!w->aggr)
        alert_push(w, json, len);
    else if (h->has_ip)
        aggr_alert_hdr(w->aggr, h, json, len, alert_push, w);
    else
        push_rec(w, OUT_ALERT_L2, h, sizeof(*h), json, len);
}

static int alert_absorb(void *ctx, const struct alert_hdr *h)
{
    struct worker *w = ctx;
    if (!h->has_ip || !aggr_count_only(w->aggr, h, alert_push, w)) return 0;
    w->st.alerts++;
    return 1;
}

/* Takes up a new rule set if one was published (SIGHUP). Between batches only,
 * so a packet's events all meet the same rules. */
static void rules_refresh(struct worker *w)
{
    unsigned gen = atomic_load_explicit(&w->eng->rs_gen, memory_order_acquire);
    if (gen == w->rs_gen && (w->rctx || !atomic_load(&w->eng->ruleset))) return;
    struct ruleset *rs = atomic_load_explicit(&w->eng->ruleset, memory_order_acquire);
    struct rule_ctx *fresh = rs ? rule_ctx_new(rs) : NULL;
    if (rs && !fresh) return; /* out of memory: keep matching with the old set */
    if (fresh && w->eng->rule_profile) rule_ctx_set_timing(fresh, 1);
    if (fresh && w->aggr) rule_ctx_set_absorb(fresh, alert_absorb, w);
    if (w->rctx) rule_ctx_free(w->rctx);
    w->rctx = fresh;
    /* the YARA set of the same generation: the old one is freed after this */
    if (w->yara) yara_worker_use(w->yara, atomic_load(&w->eng->yara_set), rs);
    w->rs_gen = gen;
    atomic_store_explicit(&w->rs_gen_seen, gen, memory_order_release);
}

static void deliver(void *ctx, struct event *e)
{
    struct worker *w = ctx;
    w->st.events++;
    if (e->has_code) {
        w->st.pdus++;
        count_proto(&w->st, e->proto);
    }
    if (w->rctx)
        rules_match_payload(w->rctx, e, w->sink.payload, w->sink.payload_len,
                            w->eng->cfg->sensor_name, alert_out, w);
    if (w->eng->corr) worker_corr_event(w, e);
    if (!w->eng->events_out) return;
    size_t n = event_to_json(e, NULL, w->json, w->json_cap);
    if (!n) {
        w->st.events_dropped++; /* cannot happen with the sizes below; counted anyway */
        return;
    }
    push_line(w, OUT_EVENT, w->json, n);
}

/* The flow's Community ID, computed the first time an event needs it (a SHA-1 per
 * flow that nothing reads when there are no rules and no --events). */
static const char *flow_community_id(struct flow *f)
{
    if (!f->cid_done) {
        f->cid_done = 1;
        if (f->key.ip_version) {
            const struct flow_key *k = &f->key;
            /* ICMP: type and code stand in for ports */
            int icmp = k->proto == 1 || k->proto == 58;
            community_id_v1(&k->a, &k->b, icmp ? f->icmp_type : k->ap, icmp ? f->icmp_code : k->bp,
                            k->proto, 0, f->community_id);
        }
    }
    return f->community_id;
}

/* The sink's context for a PDU travelling in direction dir of flow f. */
static void set_context(struct worker *w, struct flow *f, int dir, uint64_t ts)
{
    struct ev_net *n = &w->sink.net;
    n->ts_us = ts;
    n->flow_id = f->flow_id;
    /* only rules and --events read an event's Community ID */
    if (w->rctx || w->eng->events_out)
        memcpy(n->community_id, flow_community_id(f), sizeof(n->community_id));
    else
        n->community_id[0] = '\0';
    n->src = dir ? f->key.b : f->key.a;
    n->dst = dir ? f->key.a : f->key.b;
    n->src_port = dir ? f->key.bp : f->key.ap;
    n->dst_port = dir ? f->key.ap : f->key.bp;
    n->ip_version = f->key.ip_version;
    n->transport = f->key.ip_version == 0                      ? EV_TRANSPORT_L2
                   : f->key.proto == 6                         ? EV_TRANSPORT_TCP
                   : f->key.proto == 17                        ? EV_TRANSPORT_UDP
                   : (f->key.proto == 1 || f->key.proto == 58) ? EV_TRANSPORT_ICMP
                                                               : EV_TRANSPORT_OTHER;
    n->has_mac = f->has_mac;
    if (f->has_mac) {
        memcpy(n->src_mac, f->mac[dir], 6);
        memcpy(n->dst_mac, f->mac[!dir], 6);
    }
    n->vlan_count = f->key.vlan ? 1 : 0;
    n->vlan[0] = f->key.vlan;
    n->to_server = dir == 0;
    yara_worker_set_flow(w->yara, &f->yara);
}

/* ot_proto for stream scans: the dissector's name, else nDPI's in lower case
 * ("http"), else "". */
static const char *scan_proto(struct worker *w, struct flow *f, char *buf, size_t len)
{
    if (f->diss) return f->diss->name;
    if (!f->ndpi_done && !f->ndpi) return "";
    const char *n = classify_name(&w->cls, f, buf, len);
    if (n != buf) {
        size_t k = strnlen(n, len - 1);
        memcpy(buf, n, k);
        buf[k] = '\0';
    }
    if (!strcmp(buf, "Unknown")) return "";
    for (char *p = buf; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return buf;
}

static void emit_flow_event(struct worker *w, struct flow *f, const char *op, int reason)
{
    if (!w->eng->cfg->flow_events || !w->eng->events_out) return;
    set_context(w, f, 0, op[0] == 'n' ? f->first_us : f->last_us);
    struct event *e = event_begin(&w->sink, "flow", EV_DIR_NONE);
    event_op(e, op);
    ev_uint(e, "ip_proto", f->key.proto);
    if (op[0] == 'e') {
        static const char *reasons[] = {"timeout", "evicted", "shutdown", "reused"};
        ev_cstr(e, "reason", reasons[reason & 3]);
        ev_uint(e, "pkts_toserver", f->pkts[0]);
        ev_uint(e, "pkts_toclient", f->pkts[1]);
        ev_uint(e, "bytes_toserver", f->bytes[0]);
        ev_uint(e, "bytes_toclient", f->bytes[1]);
        ev_uint(e, "start_us", f->first_us);
        ev_uint(e, "end_us", f->last_us);
        ev_uint(e, "duration_us", f->last_us - f->first_us);
        if (f->key.ip_version) {
            char buf[64];
            ev_obj_begin(e, "ndpi");
            ev_cstr(e, "protocol", classify_name(&w->cls, f, buf, sizeof(buf)));
            ev_uint(e, "master_id", f->ndpi_master);
            ev_uint(e, "app_id", f->ndpi_app);
            ev_cstr(e, "category", classify_category(&w->cls, f));
            ev_cstr(e, "confidence", classify_confidence(f));
            ev_end(e);
        }
        if (f->diss) ev_cstr(e, "app_proto", f->diss->name);
        ev_uint(e, "pdus", f->pdus);
    }
    event_emit(&w->sink, e);
}

static void emit_engine_event(struct worker *w, const char *proto, const char *op,
                              const char *anomaly)
{
    if (!w->eng->events_out) {
        w->st.events++;
        return;
    }
    struct event *e = event_begin(&w->sink, proto, EV_DIR_NONE);
    event_op(e, op);
    if (anomaly) event_anomaly(e, anomaly);
    event_emit(&w->sink, e);
}

/* ---- dissector selection and feeding ------------------------------------- */

static int has_port(const struct dissector *d, uint16_t port)
{
    for (int i = 0; i < 4 && d->ports[i]; i++)
        if (d->ports[i] == port) return 1;
    return 0;
}

static void choose(struct worker *w, struct flow *f, const struct dissector *d, int nonstandard)
{
    f->diss_decided = 1;
    f->diss = d;
    if (d && d->state_new) {
        f->diss_state = d->state_new();
        if (!f->diss_state) f->diss = NULL; /* out of memory: counted as undissected */
    }
    /* an object-only dissector (HTTP, FTP) drops or falls back to the window: it
     * keeps the deep one */
    if (f->diss && w->yara && !f->diss->objects_only) yara_flow_dissected(&f->yara);
    if (f->diss && nonstandard) {
        f->nonstandard_port = 1;
        w->st.nonstandard_port++;
        struct event *e = event_begin(&w->sink, "protocol", EV_DIR_NONE);
        event_op(e, "nonstandard_port");
        ev_cstr(e, "detected", d->name);
        ev_uint(e, "port", f->key.bp);
        event_emit(&w->sink, e);
    }
}

/* Decides which dissector owns the flow from its ports and the first bytes of a
 * direction. Returns 1 when decided (f->diss may be NULL), 0 to wait for more. */
/* May d have a flow of this transport: enabled, and for an object-only dissector,
 * objects kept. */
static int dissector_usable(const struct worker *w, const struct dissector *d, int transport)
{
    return (d->transports & transport) && (w->eng->cfg->dissector_mask & (1u << (d->id & 31))) &&
           (!d->objects_only || object_enabled(&w->sink));
}

static int select_dissector(struct worker *w, struct flow *f, int dir, const uint8_t *data,
                            uint32_t len, int transport)
{
    int pending = 0;
    const struct dissector *const *reg = dissector_registry;
    /* by port: the server's port, as the flow is oriented, then the client's (a
     * capture that starts oddly, e.g. with the server's SYN-ACK lost, may orient a
     * flow backwards) */
    for (size_t i = 0; reg[i]; i++) {
        const struct dissector *d = reg[i];
        if (!dissector_usable(w, d, transport) ||
            !(has_port(d, f->key.bp) || has_port(d, f->key.ap)))
            continue;
        if (!d->probe) {
            choose(w, f, d, 0);
            return 1;
        }
        struct cursor c = cursor_make(data, len);
        int r = d->probe(&c, dir == 0);
        if (r == PROBE_YES) {
            choose(w, f, d, 0);
            return 1;
        }
        pending |= r == PROBE_NEED_MORE;
    }
    /* announced by another flow (an FTP data connection its control connection set up) */
    if (transport == DISS_TCP)
        for (size_t i = 0; reg[i]; i++)
            if (reg[i]->claim && dissector_usable(w, reg[i], transport) &&
                reg[i]->claim(&w->sink)) {
                choose(w, f, reg[i], 0);
                return 1;
            }
    /* by nDPI's verdict, for the few dissectors that ask for it (HTTP, FTP data) */
    for (size_t i = 0; reg[i] && (f->ndpi_master || f->ndpi_app); i++) {
        const struct dissector *d = reg[i];
        if (!dissector_usable(w, d, transport)) continue;
        for (int k = 0; k < 2 && d->ndpi_ids[k]; k++)
            if (d->ndpi_ids[k] == f->ndpi_master || d->ndpi_ids[k] == f->ndpi_app) {
                choose(w, f, d, 0);
                return 1;
            }
    }
    /* by probe on any port */
    for (size_t i = 0; reg[i]; i++) {
        const struct dissector *d = reg[i];
        if (!d->probe || !dissector_usable(w, d, transport) || has_port(d, f->key.bp) ||
            has_port(d, f->key.ap))
            continue;
        struct cursor c = cursor_make(data, len);
        int r = d->probe(&c, dir == 0);
        if (r == PROBE_YES) {
            choose(w, f, d, 1);
            return 1;
        }
        pending |= r == PROBE_NEED_MORE;
    }
    if (!pending || ++f->probe_tries >= PROBE_TRIES_MAX || len >= PROBE_BUFFER_MAX) {
        choose(w, f, NULL, 0);
        return 1;
    }
    return 0;
}

static int sbuf_append(struct stream_buf *b, const uint8_t *data, uint32_t len, uint32_t max)
{
    if ((uint64_t)b->len + len > max) return -1;
    if (b->len + len > b->cap) {
        uint32_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + len)
            cap *= 2;
        if (cap > max) cap = max;
        uint8_t *n = realloc(b->data, cap);
        if (!n) return -1;
        b->data = n;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static void sbuf_free(struct stream_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* One dissector call over data; the bytes are the payload `content` rules see for
 * the events it emits. Returns what parse() returned. */
static size_t diss_parse(struct worker *w, struct flow *f, const uint8_t *data, uint32_t len,
                         const struct pdu_info *info)
{
    struct cursor c = cursor_make(data, len);
    uint64_t before = w->sink.emitted;
    w->sink.payload = data;
    w->sink.payload_len = len;
    size_t n = f->diss->parse(f->diss_state, &c, info, &w->sink);
    w->sink.payload = NULL;
    w->sink.payload_len = 0;
    f->pdus += w->sink.emitted - before;
    return n;
}

/* Runs the dissector over data until it needs more; returns bytes consumed. */
static uint32_t parse_run(struct worker *w, struct flow *f, int dir, const uint8_t *data,
                          uint32_t len)
{
    uint32_t off = 0;
    const struct dissector *d = f->diss;
    while (off < len) {
        struct pdu_info info = {dir == 0, DISS_TCP, f->after_gap[dir], w->cur_ts};
        size_t n = diss_parse(w, f, data + off, len - off, &info);
        if (n == 0) {
            if (len - off >= d->max_pdu && d->max_pdu) {
                /* the dissector waits for more than it may buffer: skip a byte */
                w->st.stream_stuck++;
                n = 1;
            } else {
                break;
            }
        }
        f->after_gap[dir] = 0;
        if (n > len - off) n = len - off;
        off += (uint32_t)n;
    }
    return off;
}

static void stream_gap(struct worker *w, struct flow *f, int dir)
{
    f->sbuf[dir].len = 0;
    f->after_gap[dir] = 1;
    if (f->diss && f->diss->gap) f->diss->gap(f->diss_state, dir == 0);
}

/* In-order TCP bytes of direction dir (or a gap) for the flow's dissector. */
static void stream_feed(struct worker *w, struct flow *f, int dir, const uint8_t *data,
                        uint32_t len)
{
    struct stream_buf *b = &f->sbuf[dir];
    uint32_t max = w->eng->cfg->stream_buffer_max;
    if (f->diss && f->diss->max_pdu && f->diss->max_pdu * 2u < max) max = f->diss->max_pdu * 2u;
    if (b->len == 0) {
        uint32_t used = parse_run(w, f, dir, data, len);
        if (used < len && sbuf_append(b, data + used, len - used, max) != 0) {
            w->st.stream_overflow++;
            stream_gap(w, f, dir);
        }
        return;
    }
    /* the held tail plus this segment are parsed together; the cap applies to
     * what is still unparsed afterwards */
    if (sbuf_append(b, data, len, max + len) != 0) {
        w->st.stream_overflow++;
        stream_gap(w, f, dir);
        return;
    }
    uint32_t used = parse_run(w, f, dir, b->data, b->len);
    if (used) {
        memmove(b->data, b->data + used, b->len - used);
        b->len -= used;
    }
    if (b->len > max) {
        /* the dissector has not found a PDU end within its cap: drop and resync */
        w->st.stream_overflow++;
        stream_gap(w, f, dir);
    }
}

/* nDPI's word on encryption waits for the dissector's choice: a flow one of ours
 * reads is a cleartext industrial protocol whatever nDPI guessed (nDPI 4.2 takes
 * CIP I/O on UDP 2222 for SkypeCall, an encrypted protocol). At a scan (any_time)
 * it is taken with what is known, so a flow that ends before its dissector is
 * chosen (a lone TLS ClientHello) is still skipped. */
static inline void yara_classify(struct worker *w, struct flow *f, int any_time)
{
    if (yara_flow_unclassified(&f->yara) && (f->diss_decided || any_time) &&
        (f->ndpi_master || f->ndpi_app || f->ndpi_done))
        yara_flow_classified(w->yara, &f->yara, !f->diss && classify_is_encrypted(&w->cls, f));
}

/* A full window is scanned now; out of line, so that the per-segment path below
 * needs no stack frame of its own. */
static __attribute__((noinline)) void yara_stream_full(struct worker *w, struct flow *f, int dir)
{
    char pb[64];
    yara_classify(w, f, 1);
    set_context(w, f, dir, w->cur_ts);
    yara_stream_scan(w->yara, &f->yara, dir, scan_proto(w, f, pb, sizeof(pb)), &w->sink, w->cur_ts);
}

/* YARA's stream window of direction dir: every in-order byte of every TCP flow,
 * read by a dissector or not. The event context is set only when a scan is due. */
static inline void yara_stream_bytes(struct worker *w, struct flow *f, int dir, const uint8_t *data,
                                     uint32_t len)
{
    yara_classify(w, f, 0);
    if (f->yara.done[dir]) return; /* scanned, given up, or encrypted: nothing more kept */
    if (yara_stream_data(w->yara, &f->yara, dir, data, len)) yara_stream_full(w, f, dir);
}

/* A direction whose FIN has been reached in order holds all its bytes. A dissector
 * that allows it (end_on_fin) ends that direction now, and the direction's YARA
 * window is scanned (or, still covered by the dissector's objects, dropped) and let
 * go, rather than when the flow leaves the table flow.timeout.tcp_closed later: on
 * a busy network that held the windows of thousands of closed connections. A
 * covered direction of another dissector waits for the flow's end, where the
 * dissector may still hand it back (object_stream_cover). */
static __attribute__((noinline)) void stream_closed(struct worker *w, struct flow *f)
{
    for (int dir = 0; dir < 2; dir++) {
        if (!reasm_complete(&f->reasm[dir])) continue;
        if (f->diss_decided && f->diss && f->diss->end_on_fin && f->diss_state &&
            !(f->diss_ended & (1u << dir))) {
            f->diss_ended |= (uint8_t)(1u << dir);
            set_context(w, f, dir, w->cur_ts);
            f->diss->end(f->diss_state, dir == 0, &w->sink);
        }
        if (!w->yara || !yara_stream_open(&f->yara, dir)) continue;
        if (f->yara.covered[dir] == 1 && !(f->diss_ended & (1u << dir))) continue;
        yara_stream_full(w, f, dir);
    }
}

/* Reassembly output for the flow and direction in w->cur_*. */
static void on_stream_data(void *ctx, const uint8_t *data, uint32_t len, uint32_t gap_len)
{
    struct worker *w = ctx;
    struct flow *f = w->cur_flow;
    int dir = w->cur_dir;
    if (!data) {
        /* a gap ends the window: scanned now, naming this flow */
        if (yara_stream_open(&f->yara, dir)) yara_stream_full(w, f, dir);
        if (f->diss_decided && f->diss)
            stream_gap(w, f, dir);
        else if (!f->diss_decided)
            f->sbuf[dir].len = 0;
        return;
    }
    if (len == 0) return;
    if (w->yara) yara_stream_bytes(w, f, dir, data, len);
    if (f->diss_decided && !f->diss) return; /* no dissector reads this flow */
    set_context(w, f, dir, w->cur_ts);
    if (!f->diss_decided) {
        struct stream_buf *b = &f->sbuf[dir];
        if (b->len == 0) {
            if (select_dissector(w, f, dir, data, len, DISS_TCP)) {
                if (f->diss) stream_feed(w, f, dir, data, len);
                return;
            }
            sbuf_append(b, data, len, PROBE_BUFFER_MAX);
            return;
        }
        if (sbuf_append(b, data, len, PROBE_BUFFER_MAX) != 0) {
            choose(w, f, NULL, 0);
            sbuf_free(&f->sbuf[0]);
            sbuf_free(&f->sbuf[1]);
            return;
        }
        if (!select_dissector(w, f, dir, b->data, b->len, DISS_TCP)) return;
        if (!f->diss) {
            sbuf_free(&f->sbuf[0]);
            sbuf_free(&f->sbuf[1]);
            return;
        }
        /* replay what each direction buffered while undecided, this one last */
        int other = !dir;
        if (f->sbuf[other].len) {
            struct stream_buf held = f->sbuf[other];
            f->sbuf[other] = (struct stream_buf){0};
            set_context(w, f, other, w->cur_ts);
            stream_feed(w, f, other, held.data, held.len);
            free(held.data);
            set_context(w, f, dir, w->cur_ts);
        }
        struct stream_buf held = *b;
        *b = (struct stream_buf){0};
        stream_feed(w, f, dir, held.data, held.len);
        free(held.data);
        return;
    }
    if (f->diss) stream_feed(w, f, dir, data, len);
}

static void dissect_datagram(struct worker *w, struct flow *f, int dir, const uint8_t *data,
                             uint32_t len, int transport)
{
    if (len == 0) return;
    set_context(w, f, dir, w->cur_ts);
    /* the dissector first: YARA asks whether one reads the flow */
    int decided = f->diss_decided || select_dissector(w, f, dir, data, len, transport);
    if (w->yara) yara_stream_bytes(w, f, dir, data, len);
    if (!decided || !f->diss) return;
    struct pdu_info info = {dir == 0, transport, 0, w->cur_ts};
    diss_parse(w, f, data, len, &info);
}

/* ---- flows --------------------------------------------------------------- */

static void flow_release(struct worker *w, struct flow *f)
{
    w->cur_flow = f;
    for (int dir = 0; dir < 2; dir++) {
        if (f->key.proto == 6 && f->key.ip_version) {
            w->cur_dir = dir;
            w->cur_ts = f->last_us;
            unsigned ev = reasm_flush(&w->reasm, &f->reasm[dir], on_stream_data, w);
            (void)ev;
        }
    }
    if (f->diss && f->diss->end && f->diss_state) {
        /* bodies that end with the connection are complete now */
        for (int dir = 0; dir < 2; dir++) {
            if (f->diss_ended & (1u << dir)) continue; /* at its FIN (stream_closed) */
            set_context(w, f, dir, f->last_us);
            f->diss->end(f->diss_state, dir == 0, &w->sink);
        }
    }
    if (yara_flow_held(&f->yara)) {
        /* what the stream windows hold is scanned now, once */
        char pb[64];
        yara_classify(w, f, 1);
        set_context(w, f, 0, f->last_us);
        yara_flow_end(w->yara, &f->yara, scan_proto(w, f, pb, sizeof(pb)), &w->sink, f->last_us);
    }
    for (int dir = 0; dir < 2; dir++)
        sbuf_free(&f->sbuf[dir]);
    if (f->diss && f->diss->state_free && f->diss_state) f->diss->state_free(f->diss_state);
    f->diss_state = NULL;
    classify_finish(&w->cls, f);
    w->cur_flow = NULL;
}

static void on_flow_end(void *ctx, struct flow *f, int reason)
{
    struct worker *w = ctx;
    flow_release(w, f);
    emit_flow_event(w, f, "end", reason);
}

static int is_dissector_port(uint16_t port, int transport)
{
    for (size_t i = 0; dissector_registry[i]; i++)
        if ((dissector_registry[i]->transports & transport) &&
            has_port(dissector_registry[i], port))
            return 1;
    return 0;
}

/* Orients a new flow: a = client. SYN says who; otherwise ports do (mid-stream). */
static int client_is_dst(const struct decoded *d)
{
    if (d->l4proto == 6) {
        int syn = d->tcp_flags & 0x02, ack = d->tcp_flags & 0x10;
        if (syn && !ack) return 0;
        if (syn && ack) return 1;
    }
    int t = d->l4proto == 6 ? DISS_TCP : DISS_UDP;
    if (d->l4proto == 6 || d->l4proto == 17) {
        int sk = is_dissector_port(d->sport, t), dk = is_dissector_port(d->dport, t);
        if (sk != dk) return sk;        /* the known service port is the server's */
        if (d->l4proto == 17) return 0; /* first sender is the client */
        if (d->sport < 1024 && d->dport >= 1024) return 1;
    }
    return 0;
}

static struct flow *new_flow(struct worker *w, const struct pkt_rec *r, int *dir)
{
    const struct decoded *d = &r->d;
    struct flow_key k;
    int swap = client_is_dst(d);
    k.a = swap ? d->dst : d->src;
    k.b = swap ? d->src : d->dst;
    k.ap = swap ? d->dport : d->sport;
    k.bp = swap ? d->sport : d->dport;
    k.vlan = d->vlan_count ? d->vlan[d->vlan_count - 1] : 0;
    k.proto = d->l4proto;
    k.ip_version = d->ip_version;
    struct flow *f = flow_create(&w->flows, r->hash, &k, r->ts_us);
    if (!f) return NULL;
    *dir = swap;
    if (d->has_mac) {
        f->has_mac = 1;
        memcpy(f->mac[swap], d->src_mac, 6);
        memcpy(f->mac[!swap], d->dst_mac, 6);
    }
    f->icmp_type = d->icmp_type;
    f->icmp_code = d->icmp_code;
    emit_flow_event(w, f, "new", 0);
    if (w->eng->corr && d->ip_version) {
        set_context(w, f, 0, f->first_us);
        /* a bare SYN, or a UDP datagram from its sender: is it answered? (scans) */
        f->corr_wait = (k.proto == 6 && (d->tcp_flags & 0x12) == 0x02) || (k.proto == 17 && !swap);
        worker_corr_flow(w, &w->sink.net, f->corr_wait);
    }
    return f;
}

static void tcp_packet(struct worker *w, struct flow *f, int dir, const struct pkt_rec *r)
{
    const struct decoded *d = &r->d;
    uint8_t fl = d->tcp_flags;
    f->tcp_flags_seen[dir] |= fl;
    int cls = f->cls;
    if (fl & 0x04) {
        f->rst = 1;
        cls = FLOW_TCP_CLOSED;
    } else if (fl & 0x01) {
        f->closed_dirs |= (uint8_t)(1u << dir);
        if (f->closed_dirs == 3) cls = FLOW_TCP_CLOSED;
    } else if (cls == FLOW_TCP_NEW && (d->payload_len || ((f->tcp_flags_seen[0] & 0x10) &&
                                                          (f->tcp_flags_seen[1] & 0x10)))) {
        cls = FLOW_TCP_ESTABLISHED;
    }
    if (cls == FLOW_TCP_NEW && !(fl & 0x02)) cls = FLOW_TCP_ESTABLISHED; /* mid-stream pick-up */
    flow_touch(&w->flows, f, r->ts_us, cls);
    if (f->corr_wait && dir == 1 && (fl & 0x06)) {
        /* the responder's first SYN-ACK or RST: was the attempt answered? */
        f->corr_wait = 0;
        set_context(w, f, 0, r->ts_us);
        worker_corr_answer(w, &w->sink.net, fl);
    }

    w->cur_flow = f;
    w->cur_ts = r->ts_us;
    if (fl & 0x02) {
        reasm_syn(&f->reasm[dir], d->seq);
        reasm_wscale(&f->reasm[dir], &f->reasm[!dir], tcp_wscale(r->data, r->caplen, d));
    }
    /* the right edge of this side's receive window bounds the other side's data */
    if (fl & 0x10) reasm_window(&f->reasm[!dir], &f->reasm[dir], d->ack, d->window, fl & 0x02);
    if (d->payload_len) {
        w->cur_dir = dir;
        /* a SYN's own sequence number is consumed by the SYN: its data follows */
        uint32_t seq = (fl & 0x02) ? d->seq + 1 : d->seq;
        unsigned ev = reasm_data(&w->reasm, &f->reasm[dir], seq, r->data + d->payload_off,
                                 d->payload_len, on_stream_data, w);
        if (ev & REASM_EV_OVERLAP_CHANGED) {
            set_context(w, f, dir, r->ts_us);
            emit_engine_event(w, "stream", "overlap_changed", "stream.overlap_changed");
        }
        if (ev & REASM_EV_BEYOND_WINDOW) {
            set_context(w, f, dir, r->ts_us);
            emit_engine_event(w, "stream", "beyond_window", "stream.beyond_window");
        }
    }
    if ((fl & 0x10) && f->reasm[!dir].nsegs) {
        /* the peer acknowledged bytes we never saw: they are lost, move on. Only
         * when data is held behind a hole: with a TAP's two feeds merged, an ACK
         * can arrive before the data it acknowledges, and must not discard it. */
        w->cur_dir = !dir;
        reasm_ack(&w->reasm, &f->reasm[!dir], d->ack, on_stream_data, w);
    }
    if (fl & 0x01) reasm_fin(&f->reasm[dir], d->seq + d->payload_len);
    /* only after a FIN, and only when something waits for it */
    if (f->closed_dirs && (w->yara || (f->diss && f->diss->end_on_fin))) stream_closed(w, f);
    w->cur_flow = NULL;
}

static void ip_packet(struct worker *w, const struct pkt_rec *r)
{
    const struct decoded *d = &r->d;
    int dir = 0;
    uint16_t vlan = d->vlan_count ? d->vlan[d->vlan_count - 1] : 0;
    uint16_t sp = d->sport, dp = d->dport;
    struct flow *f =
        flow_find(&w->flows, r->hash, &d->src, &d->dst, sp, dp, d->l4proto, vlan, &dir);
    if (f && flow_is_expired(&w->flows, f, r->ts_us)) {
        flow_end(&w->flows, f, FLOW_END_TIMEOUT);
        f = NULL;
    }
    if (f && d->l4proto == 6 && (d->tcp_flags & 0x12) == 0x02 && (f->rst || f->closed_dirs == 3)) {
        /* a new SYN on a closed connection: the 5-tuple is reused */
        flow_end(&w->flows, f, FLOW_END_REUSED);
        f = NULL;
    }
    if (!f) {
        f = new_flow(w, r, &dir);
        if (!f) return;
    }
    if (w->yara) yara_stream_prefetch(&f->yara, dir); /* the window's end, written below */
    f->pkts[dir]++;
    f->bytes[dir] += r->wirelen;
    if (!f->ndpi_done && w->eng->cfg->ndpi_enabled)
        classify_packet(&w->cls, f, r->data + d->l3_off, d->l3_len, r->ts_us);
    else if (!f->ndpi_done)
        f->ndpi_done = 1;

    w->cur_ts = r->ts_us;
    if (d->l4proto == 6) {
        tcp_packet(w, f, dir, r);
    } else {
        flow_touch(&w->flows, f, r->ts_us, f->cls);
        if (f->corr_wait && dir == 1) { /* the first UDP datagram back */
            f->corr_wait = 0;
            set_context(w, f, 0, r->ts_us);
            worker_corr_answer(w, &w->sink.net, 0x12);
        }
        if (d->l4proto == 17) {
            w->cur_flow = f;
            dissect_datagram(w, f, dir, r->data + d->payload_off, d->payload_len, DISS_UDP);
            w->cur_flow = NULL;
        }
    }
}

/* Layer-2 protocols get a flow per (source MAC, destination MAC, ethertype, VLAN),
 * which gives publisher state (GOOSE stNum/sqNum) a home. */
static void l2_packet(struct worker *w, const struct pkt_rec *r)
{
    const struct decoded *d = &r->d;
    const struct dissector *diss = NULL;
    for (size_t i = 0; dissector_registry[i] && !diss; i++) {
        const struct dissector *x = dissector_registry[i];
        if (!(x->transports & DISS_L2) || !(w->eng->cfg->dissector_mask & (1u << (x->id & 31))))
            continue;
        for (int k = 0; k < 3 && x->ethertypes[k]; k++)
            if (x->ethertypes[k] == d->ethertype) diss = x;
    }
    if (!diss) {
        w->st.l2_other++;
        return;
    }
    w->st.l2_dissected++;
    struct ev_addr sa = {{0}}, da = {{0}};
    memcpy(sa.b + 10, d->src_mac, 6);
    memcpy(da.b + 10, d->dst_mac, 6);
    uint16_t vlan = d->vlan_count ? d->vlan[d->vlan_count - 1] : 0;
    int dir = 0;
    struct flow *f =
        flow_find(&w->flows, r->hash, &sa, &da, d->ethertype, d->ethertype, 0, vlan, &dir);
    if (f && flow_is_expired(&w->flows, f, r->ts_us)) {
        flow_end(&w->flows, f, FLOW_END_TIMEOUT);
        f = NULL;
    }
    if (!f) {
        struct flow_key k = {sa, da, d->ethertype, d->ethertype, vlan, 0, 0};
        f = flow_create(&w->flows, r->hash, &k, r->ts_us);
        if (!f) return;
        f->has_mac = 1;
        memcpy(f->mac[0], d->src_mac, 6);
        memcpy(f->mac[1], d->dst_mac, 6);
        f->ndpi_done = 1;
        choose(w, f, diss, 0);
        dir = 0;
    }
    f->pkts[dir]++;
    f->bytes[dir] += r->wirelen;
    flow_touch(&w->flows, f, r->ts_us, FLOW_OTHER);
    w->cur_ts = r->ts_us;
    set_context(w, f, dir, r->ts_us);
    if (!f->diss) return;
    struct pdu_info info = {1, DISS_L2, 0, r->ts_us};
    w->cur_flow = f;
    diss_parse(w, f, r->data + d->payload_off, d->payload_len, &info);
    w->cur_flow = NULL;
}

static void decoder_event(struct worker *w, const struct pkt_rec *r)
{
    const struct decoded *d = &r->d;
    if (d->anomaly < DEC_ANOMALY_COUNT) w->st.decode_anomalies[d->anomaly]++;
    const char *name = decode_anomaly_name(d->anomaly);
    if (!name || !w->eng->events_out) return;
    struct ev_net *n = &w->sink.net;
    memset(n, 0, sizeof(*n));
    n->ts_us = r->ts_us;
    if (d->ip_version) {
        n->ip_version = d->ip_version;
        n->src = d->src;
        n->dst = d->dst;
    }
    n->transport = EV_TRANSPORT_OTHER;
    n->has_mac = d->has_mac;
    memcpy(n->src_mac, d->src_mac, 6);
    memcpy(n->dst_mac, d->dst_mac, 6);
    const char *op = strchr(name, '.');
    emit_engine_event(w, "decoder", op ? op + 1 : name, name);
}

static void sweep(struct worker *w)
{
    if (w->now_us - w->last_sweep_us < SWEEP_INTERVAL_US) return;
    w->last_sweep_us = w->now_us;
    flow_expire(&w->flows, w->now_us);
    if (w->aggr) aggr_tick(w->aggr, w->now_us, alert_push, w);
}

void worker_handle(struct worker *w, const struct pkt_rec *r)
{
    if (r->ts_us > w->now_us) {
        w->now_us = r->ts_us;
        /* swept at a point of the packet stream, not after a batch: the flows that time
         * out (and so the room left under flow.max_flows) must not depend on batching */
        sweep(w);
    }
    if (r->type == REC_TICK) return;
    w->st.packets++;
    w->st.bytes += r->wirelen;
    switch (r->d.kind) {
    case DECODED_IP:
        if (r->d.anomaly) decoder_event(w, r);
        ip_packet(w, r);
        break;
    case DECODED_L2: l2_packet(w, r); break;
    case DECODED_ARP: w->st.arp++; break;
    case DECODED_OTHER: w->st.l2_other++; break;
    case DECODED_FRAGMENT: break; /* a fragment the capture thread could not keep */
    default:
        w->st.decode_bad++;
        decoder_event(w, r);
        break;
    }
}

static void publish_snapshot(struct worker *w)
{
    w->st.flows = w->flows.stats;
    w->st.reasm = w->reasm.stats;
    w->st.ndpi_detected = w->cls.flows_detected;
    w->st.ndpi_given_up = w->cls.flows_given_up;
    if (w->yara) yara_worker_stats(w->yara, &w->st.yara);
    if (w->aggr) {
        /* live, windows end on the wall clock too (an idle link sends no packet time) */
        if (w->eng->live) aggr_tick(w->aggr, realtime_ms() * 1000, alert_push, w);
        aggr_get_stats(w->aggr, &w->st.aggr);
    }
    pthread_mutex_lock(&w->snap_lock);
    w->snap = w->st;
    pthread_mutex_unlock(&w->snap_lock);
}

int worker_init_classifier(struct worker *w)
{
    struct config *c = w->eng->cfg;
    if (!c->ndpi_enabled || w->cls.ndpi) return 0;
    return classify_init(&w->cls, c->ndpi_max_packets);
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct engine *e = w->eng;
    rules_refresh(w);
    if (worker_init_classifier(w) != 0) {
        /* without nDPI the flows still run; flow.end says "Unknown" */
        w->eng->cfg->ndpi_enabled = 0;
    }
    atomic_fetch_add(&e->workers_ready, 1);
    unsigned spins = 0;
    uint64_t since_snap = 0;
    for (;;) {
        int got = 0;
        if (w->n_in > 1) {
            /* several sources (a TAP's two feeds): take packets in timestamp order,
             * and only once every source has passed that time (its watermark), so
             * a response does not overtake its request from the other feed */
            uint64_t mark = UINT64_MAX;
            int finishing = atomic_load(&e->capture_done);
            for (int s = 0; s < w->n_in; s++) {
                uint64_t m =
                    atomic_load_explicit(&e->sources[s].watermark_us, memory_order_acquire);
                if (m < mark) mark = m;
            }
            for (int k = 0; k < 64; k++) {
                int best = -1;
                uint64_t best_ts = 0;
                for (int s = 0; s < w->n_in; s++) {
                    size_t len;
                    struct pkt_rec *r = ring_peek(w->in[s], &len);
                    if (r && (best < 0 || r->ts_us < best_ts)) {
                        best = s;
                        best_ts = r->ts_us;
                    }
                }
                if (best < 0 || (best_ts > mark && !finishing)) break;
                size_t len;
                worker_handle(w, ring_peek(w->in[best], &len));
                ring_release(w->in[best]);
                got++;
            }
            for (int s = 0; s < w->n_in; s++)
                ring_release_publish(w->in[s]);
        }
        for (int s = 0; s < w->n_in && w->n_in == 1; s++) {
            /* take a batch from each source in turn; look up every packet's bucket
             * first, so the flow table's cache misses overlap */
            struct pkt_rec *batch[WORKER_BATCH];
            size_t len;
            int n = 0;
            uint64_t pos = ring_read_pos(w->in[s]);
            while (n < WORKER_BATCH && (batch[n] = ring_peek_at(w->in[s], &pos, &len))) {
                /* records are contiguous: fetch ahead of the length chain, which
                 * otherwise takes one cross-core miss per record */
                const uint8_t *ahead = (const uint8_t *)batch[n] + len;
                __builtin_prefetch(ahead + 256);
                __builtin_prefetch(ahead + 512);
                n++;
            }
            for (int k = 0; k < n; k++)
                __builtin_prefetch(&w->flows.buckets[batch[k]->hash & w->flows.mask]);
            for (int k = 0; k < n; k++) {
                if (k + 4 < n) {
                    struct flow *pf = w->flows.buckets[batch[k + 4]->hash & w->flows.mask];
                    if (pf) __builtin_prefetch(pf);
                }
                worker_handle(w, batch[k]);
            }
            if (n) ring_release_to(w->in[s], pos);
            got += n;
        }
        if (w->eng->corr) worker_corr_mark(w);
        rules_refresh(w);
        if (got) {
            spins = 0;
            since_snap += (uint64_t)got;
            if (since_snap >= 65536) {
                since_snap = 0;
                uint64_t now = wall_ms();
                if (now - w->snap_wall_ms >= 1000) {
                    w->snap_wall_ms = now;
                    publish_snapshot(w);
                }
            }
            continue;
        }
        ring_publish(&w->out);
        if (atomic_load(&e->capture_done)) {
            /* the sources are finished; one last look at each ring, then stop */
            int more = 0;
            for (int s = 0; s < w->n_in; s++) {
                size_t len;
                if (ring_peek(w->in[s], &len)) more = 1;
            }
            if (!more) break;
            continue;
        }
        uint64_t now = wall_ms();
        if (now - w->snap_wall_ms >= 1000) {
            w->snap_wall_ms = now;
            publish_snapshot(w);
        }
        ring_backoff(&spins);
    }
    worker_finish(w);
    ring_publish(&w->out);
    publish_snapshot(w);
    atomic_store(&w->done, 1);
    return NULL;
}

void worker_finish(struct worker *w)
{
    flow_table_destroy(&w->flows);
    if (w->eng) {
        /* this worker's share of the processing ends with its flows */
        uint64_t now = mono_us(), end = atomic_load(&w->eng->proc_end_us);
        while (end < now && !atomic_compare_exchange_weak(&w->eng->proc_end_us, &end, now))
            ;
    }
    classify_destroy(&w->cls);
    if (w->aggr) {
        /* after the flows: their last events may raise alerts */
        aggr_flush(w->aggr, alert_push, w);
        aggr_get_stats(w->aggr, &w->st.aggr);
        aggr_free(w->aggr);
        w->aggr = NULL;
    }
    if (w->rctx && w->eng && w->eng->rule_profile) {
        pthread_mutex_lock(&w->eng->rule_profile_lock);
        rule_ctx_profile_merge(w->eng->rule_profile, w->rctx);
        pthread_mutex_unlock(&w->eng->rule_profile_lock);
    }
    if (w->rctx) rule_ctx_free(w->rctx);
    w->rctx = NULL;
    if (w->yara) {
        yara_worker_stats(w->yara, &w->st.yara);
        yara_worker_free(w->yara);
    }
    w->yara = NULL;
    w->sink.yara = NULL;
    /* after the flows: their end hooks may use it */
    for (const struct dissector *const *d = dissector_registry; *d; d++) {
        if ((*d)->worker_free && w->sink.shared[(*d)->id])
            (*d)->worker_free(w->sink.shared[(*d)->id]);
        w->sink.shared[(*d)->id] = NULL;
    }
}

int worker_start(struct worker *w)
{
    struct config *c = w->eng->cfg;
    pthread_mutex_init(&w->snap_lock, NULL);
    if (ring_init(&w->out, (size_t)c->output_ring_mb << 20) != 0) return -1;
    uint32_t timeouts[FLOW_CLASSES] = {c->timeout_tcp_new, c->timeout_tcp_established,
                                       c->timeout_tcp_closed, c->timeout_udp, c->timeout_other};
    if (flow_table_init(&w->flows, c->max_flows, timeouts, on_flow_end, w) != 0) return -1;
    struct reasm_config rc = {c->reasm_per_dir_max, c->reasm_max_segments, c->reasm_global_max,
                              c->reasm_history};
    reasm_global_init(&w->reasm, &rc);
    /* nDPI's module takes tens of milliseconds to build: done by the worker
     * thread itself (worker_main), so workers start in parallel with capture */
    event_sink_init(&w->sink, deliver, w);
    w->sink.params = &c->diss;
    if (c->yara_path[0]) {
        struct yara_limits yl = {c->yara_stream_max,  c->yara_object_max,
                                 c->yara_flow_budget, c->yara_second_budget,
                                 c->yara_encrypted,   c->yara_opcua_write_min,
                                 c->yara_memory_max,  c->yara_stream_max_dissected};
        if (!(w->yara = yara_worker_new(&yl))) return -1;
        w->sink.yara = w->yara;
    }
    for (const struct dissector *const *d = dissector_registry; *d; d++)
        if ((*d)->worker_new && (!(*d)->objects_only || w->yara))
            w->sink.shared[(*d)->id] = (*d)->worker_new();
    if (c->aggregate_window && !(w->aggr = aggr_new(c->aggregate_window, c->aggregate_max)))
        return -1;
    w->json_cap = 64 * 1024;
    w->json = malloc(w->json_cap);
    if (!w->json) return -1;
    w->snap_wall_ms = wall_ms();
    return 0;
}
