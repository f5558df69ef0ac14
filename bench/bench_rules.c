/* bench_rules.c - events/s through the rule matcher: N synthetic rules, optionally
 * plus a rule directory, on 2,000,000 Modbus requests (90% reads of holding registers,
 * 10% writes; READS=1 in the environment: reads only).
 *
 * The synthetic rules are 5/6 `code:` rules for DNP3, IEC-104, S7comm, CIP and BACnet
 * and 1/6 `modbus: access write holding, address N` rules, so a read is related to none
 * of them and a write to every Modbus one: matching cost must follow the related rules
 * only. Not built by CMake yet (the lead's bench/CMakeLists.txt decides); by hand:
 *   cc -O2 -I sensor -I rules bench/bench_rules.c build/libotscore.a \
 *      $(pkg-config --libs libndpi libpcap hiredis yara) -lm -lpthread -o bench_rules
 *   ./bench_rules 10000 [rules/otsensor rules/classification.config] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules.h"

static unsigned long n_alerts;

static void emit(void *c, const char *j, size_t l)
{
    (void)c;
    (void)j;
    (void)l;
    n_alerts++;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int nsyn = argc > 1 ? atoi(argv[1]) : 10000;
    static char err[65536];
    size_t cap = (size_t)nsyn * 200 + 4096, len = 0;
    char *text = malloc(cap);
    if (!text) return 1;
    static const char *const protos[] = {"dnp3", "iec104", "s7comm", "cip", "bacnet"};
    for (int i = 0; i < nsyn; i++) {
        if (i % 6 == 5)
            len += (size_t)snprintf(text + len, cap - len,
                                    "alert modbus 10.%d.0.0/16 any -> any 502 (msg:\"syn %d\"; "
                                    "modbus: access write holding, address %d; sid:%d;)\n",
                                    i % 250, i, 1000 + i, 2000000 + i);
        else
            len += (size_t)snprintf(text + len, cap - len,
                                    "alert %s any any -> any any (msg:\"syn %d\"; code:%d; "
                                    "sid:%d;)\n",
                                    protos[i % 5], i, i % 200, 2000000 + i);
    }
    struct ruleset *rs = ruleset_load_text("syn.rules", text, len, NULL, err, sizeof(err));
    free(text);
    if (!rs) {
        fprintf(stderr, "%s", err);
        return 1;
    }
    struct ruleset *def = NULL;
    if (argc > 2) {
        const char *paths[] = {argv[2]};
        def = ruleset_load(paths, 1, argc > 3 ? argv[3] : NULL, NULL, err, sizeof(err));
        if (!def) {
            fprintf(stderr, "%s", err);
            return 1;
        }
    }
    struct rule_ctx *ctx = rule_ctx_new(rs), *dctx = def ? rule_ctx_new(def) : NULL;
    static struct event_sink sink;
    event_sink_init(&sink, NULL, NULL);
    sink.net.ip_version = 4;
    sink.net.transport = EV_TRANSPORT_TCP;
    sink.net.src.b[10] = sink.net.src.b[11] = 0xff;
    sink.net.src.b[12] = 192;
    sink.net.dst = sink.net.src;
    sink.net.src_port = 40000;
    sink.net.dst_port = 502;
    sink.net.to_server = 1;
    const int n = 2000000;
    int reads_only = getenv("READS") != NULL;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        sink.net.ts_us = 1700000000000000ull + (uint64_t)i * 100;
        struct event *e = event_begin(&sink, "modbus", EV_DIR_REQUEST);
        unsigned fc = (reads_only || i % 10) ? 3 : 16;
        event_code(e, fc, fc == 16 ? "write_multiple_registers" : "read_holding_registers");
        ev_uint(e, "tid", (uint64_t)i & 0xffff);
        ev_uint(e, "unit", 1);
        ev_uint(e, "func", fc);
        ev_uint(e, "address", 100);
        ev_uint(e, "quantity", 10);
        rules_match(ctx, e, "bench", emit, NULL);
        if (dctx) rules_match(dctx, e, "bench", emit, NULL);
        event_discard(&sink, e);
    }
    double dt = now() - t0;
    struct rule_stats st;
    rule_ctx_stats(ctx, &st);
    printf("rules=%d%s events=%d time=%.3fs events/s=%.0f candidates/event=%.2f alerts=%lu\n",
           ruleset_count(rs), def ? "+default" : "", n, dt, n / dt, (double)st.candidates / n,
           n_alerts);
    rule_ctx_free(ctx);
    rule_ctx_free(dctx);
    ruleset_free(rs);
    ruleset_free(def);
    return 0;
}
