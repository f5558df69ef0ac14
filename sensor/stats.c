/* stats.c - the statistics object (--stats): totals, per thread, per protocol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ipfrag.h"
#include "jbuf.h"

#define KV(j, name, v)                                                                             \
    do {                                                                                           \
        jbuf_puts(j, ",\"" name "\":");                                                            \
        jbuf_u64(j, (uint64_t)(v));                                                                \
    } while (0)

void stats_write(struct engine *e, FILE *f, int final)
{
    static char buf[256 * 1024];
    struct jbuf j;
    jbuf_init(&j, buf, sizeof(buf));
    struct worker_stats tot;
    memset(&tot, 0, sizeof(tot));
    struct worker_stats *per = calloc((size_t)e->n_workers, sizeof(*per));
    if (!per) return;
    for (int i = 0; i < e->n_workers; i++) {
        struct worker *w = &e->workers[i];
        pthread_mutex_lock(&w->snap_lock);
        per[i] = w->snap;
        pthread_mutex_unlock(&w->snap_lock);
        struct worker_stats *s = &per[i];
        tot.packets += s->packets;
        tot.bytes += s->bytes;
        tot.decode_bad += s->decode_bad;
        for (int k = 0; k < DEC_ANOMALY_COUNT; k++)
            tot.decode_anomalies[k] += s->decode_anomalies[k];
        tot.arp += s->arp;
        tot.l2_other += s->l2_other;
        tot.l2_dissected += s->l2_dissected;
        tot.events += s->events;
        tot.events_dropped += s->events_dropped;
        tot.alerts += s->alerts;
        tot.pdus += s->pdus;
        tot.stream_overflow += s->stream_overflow;
        tot.stream_stuck += s->stream_stuck;
        tot.nonstandard_port += s->nonstandard_port;
        const uint64_t *ya = (const uint64_t *)&s->yara;
        uint64_t *at = (uint64_t *)&tot.aggr;
        const uint64_t *as = (const uint64_t *)&s->aggr;
        for (size_t k = 0; k < sizeof(tot.aggr) / sizeof(uint64_t); k++)
            at[k] += as[k];
        uint64_t *yt = (uint64_t *)&tot.yara;
        for (size_t k = 0; k < sizeof(s->yara) / sizeof(uint64_t); k++)
            yt[k] += ya[k]; /* struct yara_stats is all uint64_t counters */
        tot.flows.created += s->flows.created;
        tot.flows.ended += s->flows.ended;
        tot.flows.expired += s->flows.expired;
        tot.flows.evicted += s->flows.evicted;
        tot.flows.active += s->flows.active;
        tot.reasm.segments += s->reasm.segments;
        tot.reasm.bytes_delivered += s->reasm.bytes_delivered;
        tot.reasm.retransmissions += s->reasm.retransmissions;
        tot.reasm.overlaps_changed += s->reasm.overlaps_changed;
        tot.reasm.out_of_order += s->reasm.out_of_order;
        tot.reasm.gaps += s->reasm.gaps;
        tot.reasm.gap_bytes += s->reasm.gap_bytes;
        tot.reasm.cap_flushes += s->reasm.cap_flushes;
        tot.reasm.garbage += s->reasm.garbage;
        tot.reasm.beyond_window += s->reasm.beyond_window;
        tot.reasm.ack_unseen += s->reasm.ack_unseen;
        tot.ndpi_detected += s->ndpi_detected;
        tot.ndpi_given_up += s->ndpi_given_up;
        for (unsigned p = 0; p < s->nproto; p++) {
            unsigned k;
            for (k = 0; k < tot.nproto; k++)
                if (strcmp(tot.proto[k].proto, s->proto[p].proto) == 0) break;
            if (k == tot.nproto && tot.nproto < MAX_PROTO_STATS)
                tot.proto[tot.nproto++] = (struct proto_count){s->proto[p].proto, 0};
            if (k < MAX_PROTO_STATS) tot.proto[k].pdus += s->proto[p].pdus;
        }
    }
    uint64_t cap_pkts = 0, cap_bytes = 0, ring_drops = 0, kdrops = 0, kifdrops = 0;
    struct ipfrag_stats frag = {0};
    for (int s = 0; s < e->n_sources; s++) {
        struct capture_source *src = &e->sources[s];
        frag.fragments += atomic_load(&src->frag_fragments);
        frag.reassembled += atomic_load(&src->frag_reassembled);
        frag.dropped_cap += atomic_load(&src->frag_dropped_cap);
        frag.timeouts += atomic_load(&src->frag_timeouts);
        frag.overlaps += atomic_load(&src->frag_overlaps);
        frag.too_large += atomic_load(&src->frag_too_large);
        frag.held += atomic_load(&src->frag_held);
        frag.held_bytes += atomic_load(&src->frag_held_bytes);
        cap_pkts += atomic_load(&src->packets);
        cap_bytes += atomic_load(&src->bytes);
        ring_drops += atomic_load(&src->ring_drops);
        kdrops += atomic_load(&src->kernel_drops);
        kifdrops += atomic_load(&src->kernel_if_drops);
    }
    jbuf_puts(&j, "{\"sensor\":");
    jbuf_str(&j, e->cfg->sensor_name, strlen(e->cfg->sensor_name));
    jbuf_puts(&j, ",\"version\":\"" OTS_VERSION "\",\"final\":");
    jbuf_puts(&j, final ? "true" : "false");
    KV(&j, "uptime_ms", wall_ms() - e->start_wall_ms);
    /* from the first read (all workers ready) to the last worker's flows ended, or
     * to now while running: uptime without start-up and shutdown */
    uint64_t p0 = atomic_load(&e->proc_start_us), p1 = atomic_load(&e->proc_end_us);
    if (!p1 || !final) p1 = mono_us();
    KV(&j, "processing_us", p0 && p1 > p0 ? p1 - p0 : 0);
    KV(&j, "packets", cap_pkts);
    KV(&j, "bytes", cap_bytes);
    KV(&j, "packets_processed", tot.packets);
    KV(&j, "kernel_drops", kdrops);
    KV(&j, "kernel_if_drops", kifdrops);
    KV(&j, "ring_drops", ring_drops);
    KV(&j, "events", tot.events);
    KV(&j, "events_dropped", tot.events_dropped);
    KV(&j, "pdus", tot.pdus);
    KV(&j, "alerts", tot.alerts);
    jbuf_puts(&j, ",\"flows\":{\"created\":");
    jbuf_u64(&j, tot.flows.created);
    KV(&j, "ended", tot.flows.ended);
    KV(&j, "active", tot.flows.active);
    KV(&j, "expired", tot.flows.expired);
    KV(&j, "evicted", tot.flows.evicted);
    KV(&j, "ndpi_detected", tot.ndpi_detected);
    KV(&j, "ndpi_unknown", tot.ndpi_given_up);
    jbuf_puts(&j, "},\"reassembly\":{\"segments\":");
    jbuf_u64(&j, tot.reasm.segments);
    KV(&j, "bytes", tot.reasm.bytes_delivered);
    KV(&j, "retransmissions", tot.reasm.retransmissions);
    KV(&j, "overlaps_changed", tot.reasm.overlaps_changed);
    KV(&j, "out_of_order", tot.reasm.out_of_order);
    KV(&j, "gaps", tot.reasm.gaps);
    KV(&j, "gap_bytes", tot.reasm.gap_bytes);
    KV(&j, "cap_flushes", tot.reasm.cap_flushes);
    KV(&j, "garbage", tot.reasm.garbage);
    KV(&j, "beyond_window", tot.reasm.beyond_window);
    KV(&j, "ack_unseen", tot.reasm.ack_unseen);
    KV(&j, "stream_buffer_overflows", tot.stream_overflow);
    KV(&j, "dissector_stalls", tot.stream_stuck);
    jbuf_puts(&j, "},\"ipfrag\":{\"fragments\":");
    jbuf_u64(&j, frag.fragments);
    KV(&j, "reassembled", frag.reassembled);
    KV(&j, "dropped_cap", frag.dropped_cap);
    KV(&j, "timeouts", frag.timeouts);
    KV(&j, "overlaps", frag.overlaps);
    KV(&j, "too_large", frag.too_large);
    KV(&j, "held", frag.held);
    KV(&j, "held_bytes", frag.held_bytes);
    jbuf_puts(&j, "},\"decoder\":{\"bad\":");
    jbuf_u64(&j, tot.decode_bad);
    KV(&j, "arp", tot.arp);
    KV(&j, "l2_dissected", tot.l2_dissected);
    KV(&j, "l2_other", tot.l2_other);
    for (int k = 1; k < DEC_ANOMALY_COUNT; k++) {
        if (!tot.decode_anomalies[k]) continue;
        const char *n = decode_anomaly_name(k);
        const char *dot = n ? strchr(n, '.') : NULL;
        jbuf_putc(&j, ',');
        jbuf_str(&j, dot ? dot + 1 : "unknown", dot ? strlen(dot + 1) : 7);
        jbuf_putc(&j, ':');
        jbuf_u64(&j, tot.decode_anomalies[k]);
    }
    jbuf_puts(&j, "},\"protocols\":{");
    for (unsigned p = 0; p < tot.nproto; p++) {
        if (p) jbuf_putc(&j, ',');
        jbuf_str(&j, tot.proto[p].proto, strlen(tot.proto[p].proto));
        jbuf_putc(&j, ':');
        jbuf_u64(&j, tot.proto[p].pdus);
    }
    jbuf_putc(&j, '}');
    KV(&j, "nonstandard_port_flows", tot.nonstandard_port);
    if (e->cfg->yara_path[0]) {
        jbuf_puts(&j, ",\"yara\":{\"rules\":");
        jbuf_u64(&j, (uint64_t)atomic_load(&e->yara_count));
        KV(&j, "scans", tot.yara.scans);
        KV(&j, "bytes_scanned", tot.yara.bytes_scanned);
        KV(&j, "streams_scanned", tot.yara.streams_scanned);
        KV(&j, "objects_scanned", tot.yara.objects_scanned);
        KV(&j, "objects_truncated", tot.yara.objects_truncated);
        KV(&j, "objects_partial", tot.yara.objects_partial);
        KV(&j, "budget_skips", tot.yara.budget_skips);
        KV(&j, "matches", tot.yara.matches);
        KV(&j, "errors", tot.yara.errors);
        KV(&j, "encrypted_skips", tot.yara.encrypted_skips);
        KV(&j, "streams_covered", tot.yara.streams_covered);
        KV(&j, "memory_cuts", tot.yara.memory_cuts);
        KV(&j, "window_bytes", tot.yara.window_bytes);
        jbuf_putc(&j, '}');
    }
    jbuf_puts(&j, ",\"threads\":{\"capture\":[");
    for (int s = 0; s < e->n_sources; s++) {
        struct capture_source *src = &e->sources[s];
        if (s) jbuf_putc(&j, ',');
        jbuf_puts(&j, "{\"source\":");
        const char *nm = src->name ? src->name : "files";
        jbuf_str(&j, nm, strlen(nm));
        KV(&j, "packets", atomic_load(&src->packets));
        KV(&j, "ring_drops", atomic_load(&src->ring_drops));
        KV(&j, "kernel_drops", atomic_load(&src->kernel_drops));
        jbuf_putc(&j, '}');
    }
    jbuf_puts(&j, "],\"workers\":[");
    for (int i = 0; i < e->n_workers; i++) {
        if (i) jbuf_putc(&j, ',');
        jbuf_puts(&j, "{\"id\":");
        jbuf_u64(&j, (uint64_t)i);
        KV(&j, "packets", per[i].packets);
        KV(&j, "flows_active", per[i].flows.active);
        KV(&j, "events", per[i].events);
        jbuf_putc(&j, '}');
    }
    jbuf_puts(&j, "]}");
    if (e->aggr || e->cfg->aggregate_window) {
        /* the workers' aggregation and the output thread's (correlation alerts) */
        struct aggr_stats as = tot.aggr;
        if (e->aggr) {
            struct aggr_stats o;
            aggr_get_stats(e->aggr, &o);
            const uint64_t *ov = (const uint64_t *)&o;
            uint64_t *av = (uint64_t *)&as;
            for (size_t k = 0; k < sizeof(as) / sizeof(uint64_t); k++)
                av[k] += ov[k];
        }
        jbuf_puts(&j, ",\"aggregate\":{\"in\":");
        jbuf_u64(&j, as.in);
        KV(&j, "passed", as.passed);
        KV(&j, "merged", as.merged);
        KV(&j, "summaries", as.summaries);
        KV(&j, "evicted", as.evicted);
        KV(&j, "unparsed", as.unparsed);
        KV(&j, "open", as.open);
        jbuf_putc(&j, '}');
    }
    if (e->redis) {
        struct oredis_stats rs;
        oredis_get_stats(e->redis, &rs);
        jbuf_puts(&j, ",\"redis\":{\"connected\":");
        jbuf_puts(&j, rs.connected ? "true" : "false");
        KV(&j, "alerts", rs.alerts);
        KV(&j, "delivered", rs.delivered);
        KV(&j, "duplicates", rs.duplicates);
        KV(&j, "spooled", rs.spooled);
        KV(&j, "replayed", rs.replayed);
        KV(&j, "errors", rs.errors);
        KV(&j, "connects", rs.connects);
        KV(&j, "keep_cut", rs.keep_cut);
        jbuf_puts(&j, ",\"spool\":{\"bytes\":");
        jbuf_u64(&j, rs.spool.bytes);
        KV(&j, "records", rs.spool.records);
        KV(&j, "found_at_open", rs.spool.found_at_open);
        KV(&j, "torn_bytes", rs.spool.torn_bytes);
        KV(&j, "dropped_full", rs.spool.dropped_full);
        KV(&j, "full_episodes", rs.spool.full_episodes);
        KV(&j, "io_errors", rs.spool.io_errors);
        jbuf_puts(&j, "}}");
    }
    if (e->corr) corr_out_stats_json(e->corr, &j);
    jbuf_putc(&j, '}');
    free(per);
    if (jbuf_ok(&j)) {
        fputs(buf, f);
        fputc('\n', f);
    }
}

void stats_summary(struct engine *e, struct oredis_counters *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < e->n_workers; i++) {
        struct worker *w = &e->workers[i];
        pthread_mutex_lock(&w->snap_lock);
        c->flows += w->snap.flows.created;
        pthread_mutex_unlock(&w->snap_lock);
    }
    for (int s = 0; s < e->n_sources; s++) {
        struct capture_source *src = &e->sources[s];
        c->packets += atomic_load(&src->packets);
        c->drops += atomic_load(&src->ring_drops) + atomic_load(&src->kernel_drops) +
                    atomic_load(&src->kernel_if_drops);
    }
}
