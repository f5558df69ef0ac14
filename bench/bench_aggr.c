/* bench_aggr.c - the output thread's cost of alert aggregation.
 *
 *   bench_aggr [N]     (default N = 2000000)
 *
 * Builds 4096 real alerts before the clock (rules_match on Modbus writes: 3 rules, 256
 * sources x 4 destinations; each with the header the rule engine hands out), then
 * times N of them, round robin, through the aggregator (window 60 s, 10,000 keys) as
 * the output thread does (output_alert), the lines that go out written to /dev/null.
 * The alerts share one packet time, so after the first of each key every one is merged:
 * the storm case. Prints CPU per alert and the aggregator's counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "aggregate.h"
#include "rules.h"

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

#define NA 4096 /* distinct alerts */
static char *js[NA];
static size_t jl[NA];
static struct alert_hdr hd[NA];
static int n;
static struct rule_ctx *ctx;

/* Keeps each alert the rule engine emits, with its header. */
static void on_alert(void *c, const char *json, size_t len)
{
    (void)c;
    if (n >= NA) return;
    js[n] = malloc(len);
    memcpy(js[n], json, len);
    jl[n] = len;
    hd[n] = *rules_alert_hdr(ctx);
    n++;
}

static FILE *devnull;

/* What goes out, as output.c's alert_emit writes --alerts. */
static void emit(void *c, const char *json, size_t len)
{
    (void)c;
    fwrite(json, 1, len, devnull);
    fputc('\n', devnull);
}

int main(int argc, char **argv)
{
    long N = argc > 1 ? atol(argv[1]) : 2000000;
    devnull = fopen("/dev/null", "w");
    const char *txt = "alert modbus any any -> any any (msg:\"write\"; code:6; sid:1;)\n"
                      "alert modbus any any -> any any (msg:\"write 2\"; code:6; sid:2;)\n"
                      "alert modbus any any -> any any (msg:\"write 3\"; code:6; sid:3;)\n";
    char err[1024];
    struct ruleset *rs = ruleset_load_text("b.rules", txt, strlen(txt), NULL, err, sizeof(err));
    if (!rs) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ctx = rule_ctx_new(rs);
    static struct event_sink sink;
    event_sink_init(&sink, NULL, NULL);
    for (int i = 0; n < NA; i++) {
        struct ev_net *nn = &sink.net;
        memset(nn, 0, sizeof(*nn));
        nn->ts_us = 1795802400000000ull;
        nn->ip_version = 4;
        nn->transport = EV_TRANSPORT_TCP;
        nn->src.b[10] = nn->src.b[11] = nn->dst.b[10] = nn->dst.b[11] = 0xff;
        nn->src.b[12] = 10;
        nn->src.b[15] = (uint8_t)(i % 256);
        nn->dst.b[12] = 10;
        nn->dst.b[14] = 1;
        nn->dst.b[15] = (uint8_t)(i / 256 % 4);
        nn->src_port = 40000;
        nn->dst_port = 502;
        nn->to_server = 1;
        strcpy(nn->community_id, "1:abcdefghijklmnopqrstuvwxyz0=");
        struct event *e = event_begin(&sink, "modbus", EV_DIR_REQUEST);
        event_code(e, 6, "write_single_register");
        ev_uint(e, "func", 6);
        ev_uint(e, "address", 100);
        ev_uint(e, "value", 7);
        rules_match(ctx, e, "bench", on_alert, NULL);
        event_discard(&sink, e);
    }
    size_t tot = 0;
    for (int i = 0; i < n; i++)
        tot += jl[i];
    struct aggr *a = aggr_new(60, 10000);
    double c0 = cpu_s();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < N; i++) {
        int k = (int)(i % n);
        aggr_alert_hdr(a, &hd[k], js[k], jl[k], emit, NULL);
    }
    aggr_flush(a, emit, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double c1 = cpu_s();
    struct aggr_stats st;
    aggr_get_stats(a, &st);
    double w = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%ld alerts (%d distinct, %zu B mean): %.3f s CPU, %.0f ns/alert CPU, %.0f alerts/s "
           "wall; in %llu passed %llu merged %llu summaries %llu unparsed %llu\n",
           N, n, tot / n, c1 - c0, (c1 - c0) / N * 1e9, N / w, (unsigned long long)st.in,
           (unsigned long long)st.passed, (unsigned long long)st.merged,
           (unsigned long long)st.summaries, (unsigned long long)st.unparsed);
    return 0;
}
