/* bench_rules.c - events/s through the rule matcher, with the default ruleset and with
 * 10,000 synthetic rules added to it, on 2,000,000 Modbus requests (90% FC 3 reads of
 * holding registers, 10% FC 16 writes; READS=1 in the environment: reads only; EVENTS=N
 * changes the count).
 *
 * One row per rule set, each loaded as one set (the default directory plus a synthetic
 * file), so dispatch sees them together as the sensor would:
 *   default                   the shipped rules
 *   default+N unrelated       N rules that cannot concern these events: code rules of
 *                             DNP3, IEC-104, S7comm, CIP, BACnet, OPC UA and MMS, and
 *                             Modbus rules on other function codes
 *   default+N mixed           the same, except 1% on Modbus FC 3 / FC 16 from other
 *                             addresses (they are tested: same protocol and code)
 * candidates/event shows what dispatch hands the matcher: unrelated rules add none, so
 * events/s must stay that of the default set.
 *   bench_rules [N [RULES_DIR [CLASSIFICATION]]]   (default 10000 rules/otsensor none) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Writes n synthetic rules to a temporary file; related: how many concern the events. */
static int write_synthetic(char *path, int n, int related)
{
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) return -1;
    static const char *const protos[] = {"dnp3",   "iec104", "s7comm", "cip",
                                         "bacnet", "opcua",  "mms"};
    static const int mb_other[] = {1, 2, 4, 5, 6, 15, 22, 23, 43};
    int every = related ? n / related : 0;
    for (int i = 0; i < n; i++) {
        int sid = 2000000 + i;
        if (every && i % every == every - 1) {
            /* related: the events' protocol and function, another network */
            if ((i / every) % 2)
                fprintf(f,
                        "alert modbus 10.%d.0.0/16 any -> any 502 (msg:\"syn %d\"; "
                        "modbus: access write holding, address %d; sid:%d;)\n",
                        i % 250, i, 1000 + i, sid);
            else
                fprintf(f,
                        "alert modbus 10.%d.0.0/16 any -> any 502 (msg:\"syn %d\"; "
                        "modbus: function 3; sid:%d;)\n",
                        i % 250, i, sid);
        } else if (i % 8 == 7) {
            fprintf(f,
                    "alert modbus any any -> any any (msg:\"syn %d\"; modbus: function %d; "
                    "sid:%d;)\n",
                    i, mb_other[i % 9], sid);
        } else {
            fprintf(f, "alert %s any any -> any any (msg:\"syn %d\"; code:%d; sid:%d;)\n",
                    protos[i % 7], i, i % 200, sid);
        }
    }
    return fclose(f);
}

/* Runs the event mix through one rule set and prints its row. */
static int run(const char *label, const char *dir, const char *cls, const char *syn, int n)
{
    static char err[65536];
    const char *paths[] = {dir, syn};
    struct ruleset *rs = ruleset_load(paths, syn ? 2 : 1, cls, NULL, err, sizeof(err));
    if (!rs) {
        fprintf(stderr, "%s", err);
        return -1;
    }
    struct rule_ctx *ctx = rule_ctx_new(rs);
    static struct event_sink sink;
    event_sink_init(&sink, NULL, NULL);
    sink.net.ip_version = 4;
    sink.net.transport = EV_TRANSPORT_TCP;
    sink.net.src.b[10] = sink.net.src.b[11] = 0xff;
    sink.net.src.b[12] = 192;
    sink.net.dst = sink.net.src;
    sink.net.dst.b[15] = 1;
    sink.net.src_port = 40000;
    sink.net.dst_port = 502;
    sink.net.to_server = 1;
    int reads_only = getenv("READS") != NULL;
    n_alerts = 0;
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
        event_discard(&sink, e);
    }
    double dt = now() - t0;
    struct rule_stats st;
    rule_ctx_stats(ctx, &st);
    printf("ruleset=%s rules=%d events=%d time=%.3fs events/s=%.0f candidates/event=%.2f "
           "alerts=%lu\n",
           label, ruleset_count(rs), n, dt, n / dt, (double)st.candidates / n, n_alerts);
    fflush(stdout);
    rule_ctx_free(ctx);
    ruleset_free(rs);
    return 0;
}

int main(int argc, char **argv)
{
    int nsyn = argc > 1 ? atoi(argv[1]) : 10000;
    const char *dir = argc > 2 ? argv[2] : "rules/otsensor";
    const char *cls = argc > 3 ? argv[3] : NULL;
    int n = getenv("EVENTS") ? atoi(getenv("EVENTS")) : 2000000;
    if (nsyn < 100 || n < 1) {
        fprintf(stderr, "usage: bench_rules [N>=100 [RULES_DIR [CLASSIFICATION]]]\n");
        return 2;
    }
    char unrel[] = "/tmp/bench_rules_unrelated_XXXXXX";
    char mixed[] = "/tmp/bench_rules_mixed_XXXXXX";
    if (write_synthetic(unrel, nsyn, 0) || write_synthetic(mixed, nsyn, nsyn / 100)) {
        perror("bench_rules: temporary rule file");
        return 1;
    }
    char l1[64], l2[64];
    snprintf(l1, sizeof(l1), "default+%d_unrelated", nsyn);
    snprintf(l2, sizeof(l2), "default+%d_mixed", nsyn);
    int rc = run("default", dir, cls, NULL, n) || run(l1, dir, cls, unrel, n) ||
             run(l2, dir, cls, mixed, n);
    unlink(unrel);
    unlink(mixed);
    return rc ? 1 : 0;
}
