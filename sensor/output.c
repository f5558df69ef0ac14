/* output.c - the output thread: the only writer of event and stats files. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "jbuf.h"
#include "log.h"

/* Where every alert goes out, after aggregation: the same text to every output. */
static void alert_emit(void *ctx, const char *json, size_t len)
{
    struct engine *e = ctx;
    if (e->alerts_out) {
        fwrite(json, 1, len, e->alerts_out);
        fputc('\n', e->alerts_out);
    }
    if (e->redis) oredis_alert(e->redis, json, len, realtime_ms());
}

void output_alert(struct engine *e, const struct alert_hdr *h, const char *json, size_t len)
{
    if (e->aggr)
        aggr_alert_hdr(e->aggr, h, json, len, alert_emit, e);
    else
        alert_emit(e, json, len);
}

static int drain(struct engine *e)
{
    int got = 0;
    for (int i = 0; i < e->n_workers; i++) {
        struct worker *w = &e->workers[i];
        size_t len;
        uint8_t *p = NULL;
        if (e->corr) corr_out_mark_begin(e->corr, i);
        for (int k = 0; k < 256 && (p = ring_peek(&w->out, &len)); k++) {
            if (len > 1 && p[0] == OUT_EVENT && e->events_out) {
                fwrite(p + 1, 1, len - 1, e->events_out);
                fputc('\n', e->events_out);
            } else if (len > 1 && p[0] == OUT_ALERT) {
                alert_emit(e, (const char *)p + 1, len - 1); /* aggregated by its worker */
            } else if (len > 1 + sizeof(struct alert_hdr) && p[0] == OUT_ALERT_L2) {
                struct alert_hdr h;
                memcpy(&h, p + 1, sizeof(h));
                output_alert(e, &h, (const char *)p + 1 + sizeof(h), len - 1 - sizeof(h));
            } else if (len > 1 && p[0] == OUT_CORR && e->corr) {
                corr_out_record(e->corr, p + 1, len - 1);
            }
            ring_release(&w->out);
            got++;
        }
        if (e->corr) corr_out_mark_end(e->corr, i, p == NULL);
    }
    if (e->corr) corr_out_step(e->corr, 0);
    return got;
}

static void write_stats(struct engine *e, int final)
{
    if (!e->stats_out) return;
    if (e->stats_out != stdout) {
        /* rewrite the file in place: it always holds the latest figures */
        FILE *f = freopen(NULL, "w", e->stats_out);
        if (!f) {
            e->stats_out = NULL;
            log_error("%s: cannot rewrite stats file", e->stats_path);
            return;
        }
        e->stats_out = f;
    }
    stats_write(e, e->stats_out, final);
    fflush(e->stats_out);
}

/* Test only (--inject-alerts N): N synthetic alerts, as if from the rule engine,
 * so the Redis path can be tested end to end before rules exist. */
static void inject_alerts(struct engine *e)
{
    char buf[512];
    for (uint32_t i = 0; i < e->inject_alerts; i++) {
        struct jbuf j;
        jbuf_init(&j, buf, sizeof(buf));
        jbuf_puts(&j, "{\"@timestamp\":");
        jbuf_ts(&j, realtime_ms() * 1000);
        jbuf_puts(&j, ",\"event\":{\"kind\":\"alert\",\"dataset\":\"otsensor.alert\","
                      "\"severity\":0},\"rule\":{\"id\":\"otsensor.test_inject\",\"name\":"
                      "\"test alert (--inject-alerts)\"},\"observer\":{\"name\":");
        jbuf_str(&j, e->cfg->sensor_name, strlen(e->cfg->sensor_name));
        jbuf_puts(&j, ",\"type\":\"sensor\"},\"otsensor\":{\"count\":1,\"inject_seq\":");
        jbuf_u64(&j, i);
        jbuf_puts(&j, "}}");
        if (jbuf_ok(&j) && e->redis) oredis_alert(e->redis, buf, j.len, realtime_ms());
        if (e->redis && i % 256 == 255) oredis_poll(e->redis);
    }
}

void *output_main(void *arg)
{
    struct engine *e = arg;
    unsigned spins = 0;
    uint64_t last_stats = wall_ms(), last_summary = 0;
    uint32_t interval_ms = e->cfg->stats_interval * 1000u;
    if (e->inject_alerts) inject_alerts(e);
    if (e->cfg->aggregate_window) {
        e->aggr = aggr_new(e->cfg->aggregate_window, e->cfg->aggregate_max);
        if (!e->aggr) log_error("alert aggregation: out of memory; alerts go out one by one");
    }
    for (;;) {
        int got = drain(e);
        /* live, windows end on the wall clock too; offline only packet time counts */
        if (e->aggr && e->live) aggr_tick(e->aggr, realtime_ms() * 1000, alert_emit, e);
        if (e->redis) {
            if (wall_ms() - last_summary >= 1000) {
                struct oredis_counters c;
                stats_summary(e, &c);
                oredis_set_counters(e->redis, &c);
                last_summary = wall_ms();
            }
            oredis_poll(e->redis);
        }
        if (interval_ms && wall_ms() - last_stats >= interval_ms) {
            last_stats = wall_ms();
            write_stats(e, 0);
        }
        if (got) {
            spins = 0;
            continue;
        }
        int all_done = 1;
        for (int i = 0; i < e->n_workers; i++)
            if (!atomic_load(&e->workers[i].done)) all_done = 0;
        if (all_done) {
            if (drain(e)) continue;
            /* the stage's last events may raise alerts: before the windows close */
            if (e->corr) corr_out_step(e->corr, 1);
            if (e->aggr) aggr_flush(e->aggr, alert_emit, e); /* the open windows' summaries */
            break;
        }
        if (spins == 100) {
            /* idle: what is written reaches readers of the files now */
            if (e->events_out) fflush(e->events_out);
            if (e->alerts_out) fflush(e->alerts_out);
        }
        ring_backoff(&spins);
    }
    if (e->events_out) fflush(e->events_out);
    if (e->alerts_out) fflush(e->alerts_out);
    if (e->redis) {
        struct oredis_counters c;
        stats_summary(e, &c);
        oredis_set_counters(e->redis, &c);
        oredis_drain(e->redis, e->cfg->redis_timeout_ms + 3000);
    }
    write_stats(e, 1);
    aggr_free(e->aggr);
    e->aggr = NULL;
    oredis_close(e->redis);
    e->redis = NULL;
    return NULL;
}
