/* output_corr.c - the correlation stage on the output thread: merges the workers'
 * correlation records in packet-time order, runs the correlator, matches its events
 * against the rules (its own rule_ctx, swapped on SIGHUP like a worker's), writes
 * events, alerts and the asset inventory (Redis). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "log.h"

#define MERGE_MAX (1u << 18) /* records held back waiting for a slow worker (~40 MB) */

struct corr_out {
    struct engine *e;
    struct correlator *c;
    struct corr_merge *m;
    struct rule_ctx *rctx;
    unsigned rs_gen;
    uint64_t *safe_mark, *pending_mark;
    uint8_t *finished, *pending_done;
    char *json;
    size_t json_cap;
    uint64_t alerts, last_flush_ms;
    int final;
};

static void corr_alert(void *ctx, const char *json, size_t len)
{
    struct corr_out *co = ctx;
    struct engine *e = co->e;
    co->alerts++;
    output_alert(e, rules_alert_hdr(co->rctx), json, len); /* aggregated like the workers' */
}

static void corr_deliver(void *ctx, struct event *ev)
{
    struct corr_out *co = ctx;
    struct engine *e = co->e;
    if (co->rctx) rules_match(co->rctx, ev, e->cfg->sensor_name, corr_alert, co);
    if (!e->events_out) return;
    size_t n = event_to_json(ev, NULL, co->json, co->json_cap);
    if (!n) return;
    fwrite(co->json, 1, n, e->events_out);
    fputc('\n', e->events_out);
}

struct corr_out *corr_out_new(struct engine *e)
{
    const struct config *cf = e->cfg;
    struct corr_out *co = calloc(1, sizeof(*co));
    if (!co) return NULL;
    co->e = e;
    struct corr_config cc = {
        cf->corr_scan_window,   cf->corr_scan_hosts,      cf->corr_scan_ports,
        cf->corr_max_entries,   cf->corr_max_assets,      cf->corr_conduit_window,
        cf->corr_asset_refresh, cf->corr_syn_timeout_ms,  cf->corr_udp_timeout_ms,
        cf->corr_learning,      cf->corr_goose_ttl_factor};
    size_t n = (size_t)e->n_workers;
    co->c = corr_new(&cc, corr_deliver, co);
    co->m = corr_merge_new(MERGE_MAX);
    co->safe_mark = calloc(n, sizeof(uint64_t));
    co->pending_mark = calloc(n, sizeof(uint64_t));
    co->finished = calloc(n, 1);
    co->pending_done = calloc(n, 1);
    co->json_cap = 64 * 1024;
    co->json = malloc(co->json_cap);
    if (!co->c || !co->m || !co->safe_mark || !co->pending_mark || !co->finished ||
        !co->pending_done || !co->json) {
        corr_out_free(co);
        return NULL;
    }
    return co;
}

void corr_out_free(struct corr_out *co)
{
    if (!co) return;
    corr_free(co->c);
    corr_merge_free(co->m);
    if (co->rctx) rule_ctx_free(co->rctx);
    free(co->safe_mark);
    free(co->pending_mark);
    free(co->finished);
    free(co->pending_done);
    free(co->json);
    free(co);
}

struct rule_ctx *corr_out_rule_ctx(const struct corr_out *co)
{
    return co ? co->rctx : NULL;
}

void corr_out_mark_begin(struct corr_out *co, int i)
{
    struct worker *w = &co->e->workers[i];
    co->pending_done[i] = (uint8_t)atomic_load(&w->done);
    co->pending_mark[i] = atomic_load_explicit(&w->corr_mark, memory_order_acquire);
}

void corr_out_mark_end(struct corr_out *co, int i, int empty)
{
    /* the mark read before the drain holds only if the drain took everything */
    if (!empty) return;
    if (co->pending_mark[i] > co->safe_mark[i]) co->safe_mark[i] = co->pending_mark[i];
    if (co->pending_done[i]) co->finished[i] = 1;
}

void corr_out_record(struct corr_out *co, const uint8_t *p, size_t len)
{
    corr_merge_push(co->m, p, len);
}

/* Takes up a new rule set if one was published; the old one may be freed once
 * the workers and this stage have all moved (main.c). */
static void rules_refresh(struct corr_out *co)
{
    struct engine *e = co->e;
    unsigned gen = atomic_load_explicit(&e->rs_gen, memory_order_acquire);
    if (gen == co->rs_gen && (co->rctx || !atomic_load(&e->ruleset))) return;
    struct ruleset *rs = atomic_load_explicit(&e->ruleset, memory_order_acquire);
    struct rule_ctx *fresh = rs ? rule_ctx_new(rs) : NULL;
    if (rs && !fresh) return;
    if (fresh && e->rule_profile) rule_ctx_set_timing(fresh, 1);
    if (co->rctx) rule_ctx_free(co->rctx);
    co->rctx = fresh;
    corr_set_ruleset(co->c, rs);
    co->rs_gen = gen;
    atomic_store_explicit(&e->corr_rs_gen_seen, gen, memory_order_release);
}

static void rfc3339(uint64_t us, char *buf, size_t n)
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t l = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + l, n - l, ".%06uZ", (unsigned)(us % 1000000));
}

static int asset_write(void *ctx, const struct corr_asset_view *a)
{
    struct corr_out *co = ctx;
    char first[40], last[40];
    rfc3339(a->first_seen_us, first, sizeof(first));
    rfc3339(a->last_seen_us, last, sizeof(last));
    const char *f[] = {"mac",      "vendor", "product",    "protocols", "roles",
                       "identity", "zone",   "first_seen", "last_seen"};
    const char *v[] = {a->mac,      a->vendor, a->product, a->protocols, a->roles,
                       a->identity, a->zone,   first,      last};
    return oredis_asset(co->e->redis, a->id, f, v, 9, a->last_seen_us / 1000, co->final);
}

void corr_out_step(struct corr_out *co, int final)
{
    rules_refresh(co);
    uint64_t limit = UINT64_MAX;
    if (!final)
        for (int i = 0; i < co->e->n_workers; i++)
            if (!co->finished[i] && co->safe_mark[i] < limit) limit = co->safe_mark[i];
    corr_merge_run(co->m, co->c, limit);
    if (final) corr_finish(co->c);
    if (co->e->redis) {
        uint64_t now = wall_ms();
        if (final || now - co->last_flush_ms >= 1000) {
            co->last_flush_ms = now;
            co->final = final;
            corr_flush_assets(co->c, asset_write, co, final);
        }
    }
}

#define KV(j, name, v)                                                                             \
    do {                                                                                           \
        jbuf_puts(j, ",\"" name "\":");                                                            \
        jbuf_u64(j, (uint64_t)(v));                                                                \
    } while (0)

void corr_out_stats_json(struct corr_out *co, struct jbuf *j)
{
    struct corr_stats s;
    corr_get_stats(co->c, &s);
    jbuf_puts(j, ",\"correlation\":{\"records\":");
    jbuf_u64(j, s.records);
    KV(j, "pending", corr_merge_size(co->m));
    KV(j, "forced", s.forced);
    KV(j, "events", s.events);
    KV(j, "alerts", co->alerts);
    KV(j, "asset_new", s.asset_new);
    KV(j, "asset_identity_changed", s.identity_changed);
    KV(j, "asset_unknown_zone", s.unknown_zone);
    KV(j, "scan_horizontal", s.scan_horizontal);
    KV(j, "scan_vertical", s.scan_vertical);
    KV(j, "conduit_unlisted", s.conduit_unlisted);
    KV(j, "conduit_operation", s.conduit_operation);
    KV(j, "flow_new_intra_zone", s.new_intra_zone);
    KV(j, "goose_new_publisher", s.goose_new_publisher);
    KV(j, "goose_ttl_expired", s.goose_ttl_expired);
    KV(j, "mms_new_client", s.mms_new_client);
    KV(j, "assets", s.assets);
    KV(j, "scan_entries", s.scan_entries);
    KV(j, "conduit_entries", s.conduit_entries);
    KV(j, "pending_syns", s.pending_syns);
    KV(j, "pending_udp", s.pending_udp);
    KV(j, "goose_publishers", s.goose_publishers);
    KV(j, "seen_entries", s.seen_entries);
    KV(j, "asset_evictions", s.asset_evictions);
    KV(j, "scan_evictions", s.scan_evictions);
    KV(j, "conduit_evictions", s.conduit_evictions);
    KV(j, "goose_evictions", s.goose_evictions);
    KV(j, "seen_evictions", s.seen_evictions);
    KV(j, "asset_writes", s.asset_writes);
    KV(j, "asset_write_fails", s.asset_write_fails);
    jbuf_putc(j, '}');
}
