/* bench_redis.c - alerts/s from the Redis output stage into a local Redis.
 *
 *   bench_redis [N [URL]]     (default N = 500000; without URL a redis-server is
 *                              started on a free loopback port, no persistence)
 *
 * Feeds N pre-built alerts (~690 bytes of DESIGN §3 JSON, 1024 different ones built
 * before the clock starts) through oredis_alert() and oredis_poll() as the output
 * thread does, and reports:
 *   down:   alerts/s taken while Redis is unreachable (spooled only), and
 *   stream: alerts/s from the first alert until Redis confirmed the last one
 *           (XADD with explicit ids, MAXLEN ~, pipelined; spool fsync = batch),
 * each with the CPU time the output stage (this process) and, for stream, Redis
 * (INFO cpu) spent per alert: on a shared machine the CPU figures say more than
 * the wall clock. BENCH_BATCH and BENCH_FSYNC set redis.batch and spool.fsync. */
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "output_redis.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Redis's own CPU seconds (user + sys), -1 if it cannot be asked. */
static double redis_cpu_s(const char *host, int port)
{
    redisContext *c = redisConnect(host, port);
    double v = -1;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "INFO cpu");
        if (r && r->type == REDIS_REPLY_STRING) {
            const char *u = strstr(r->str, "used_cpu_user:"), *y = strstr(r->str, "used_cpu_sys:");
            if (u && y) v = atof(u + 14) + atof(y + 13);
        }
        if (r) freeReplyObject(r);
    }
    if (c) redisFree(c);
    return v;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &l))
        exit(1);
    close(fd);
    return ntohs(a.sin_port);
}

static size_t make_alert(char *b, size_t cap, int i)
{
    return (size_t)snprintf(
        b, cap,
        "{\"@timestamp\":\"2026-11-27T18:00:00.%06dZ\",\"event\":{\"kind\":\"alert\","
        "\"dataset\":\"otsensor.alert\",\"severity\":3},\"rule\":{\"id\":\"9000%d\",\"name\":"
        "\"Modbus write to a safety PLC from outside its zone\",\"ruleset\":\"ot\","
        "\"category\":\"policy-violation\"},\"source\":{\"ip\":\"10.1.2.%d\",\"port\":%d},"
        "\"destination\":{\"ip\":\"10.9.0.5\",\"port\":502},\"network\":{\"transport\":\"tcp\","
        "\"protocol\":\"modbus\",\"community_id\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\"},"
        "\"observer\":{\"name\":\"bench\",\"type\":\"sensor\"},\"iec62443\":{\"fr\":[\"FR3\"],"
        "\"sr\":[\"SR 3.1\"]},\"ot\":{\"modbus\":{\"unit_id\":1,\"address\":%d,\"value\":%d},"
        "\"event\":\"modbus.write_single_register\",\"op\":\"write_single_register\",\"code\":6},"
        "\"otsensor\":{\"count\":1,\"sensor\":\"bench\"},\"message\":\"write\"}",
        i % 1000000, i % 10, i % 250, 1024 + i % 60000, i % 65536, i % 65536);
}

static void set(struct config *c, const char *k, const char *v)
{
    char e[256];
    if (config_set(c, k, v, e, sizeof(e))) {
        fprintf(stderr, "%s\n", e);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int n = argc > 1 ? atoi(argv[1]) : 500000;
    char url[256], dir[64] = "/tmp/ots_bench_XXXXXX", sp[128], port[16];
    if (!mkdtemp(dir)) return 1;
    pid_t rpid = 0;
    int p = free_port();
    snprintf(port, sizeof(port), "%d", p);
    if (argc > 2) {
        snprintf(url, sizeof(url), "%s", argv[2]);
    } else {
        snprintf(url, sizeof(url), "redis://127.0.0.1:%d", p);
    }
    static struct config cfg;
    config_defaults(&cfg);
    set(&cfg, "redis", url);
    set(&cfg, "sensor_name", "bench");
    set(&cfg, "redis.heartbeat_interval", "0");
    set(&cfg, "spool.max_mb", "4096");
    if (getenv("BENCH_BATCH")) set(&cfg, "redis.batch", getenv("BENCH_BATCH"));
    if (getenv("BENCH_FSYNC")) set(&cfg, "spool.fsync", getenv("BENCH_FSYNC"));
    enum { NPRE = 1024 };
    static char pre[NPRE][1024];
    static size_t pre_len[NPRE];
    for (int i = 0; i < NPRE; i++)
        pre_len[i] = make_alert(pre[i], sizeof(pre[i]), i * 7919);
    char err[512];

    /* 1. Redis down: the cost of spooling */
    snprintf(sp, sizeof(sp), "%s/spool-down", dir);
    set(&cfg, "spool", sp);
    set(&cfg, "redis", "redis://127.0.0.1:1");
    struct oredis *o = oredis_open(&cfg, err, sizeof(err));
    if (!o) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < n; i++) {
        oredis_alert(o, pre[i % NPRE], pre_len[i % NPRE], wall());
        if ((i & 255) == 255) oredis_poll(o);
    }
    oredis_poll(o);
    double t1 = now_s(), c1 = cpu_s();
    oredis_close(o);
    printf("down:   %d alerts spooled in %.3f s: %.0f alerts/s (%zu bytes each); "
           "output stage %.2f CPU us/alert\n",
           n, t1 - t0, n / (t1 - t0), pre_len[1], (c1 - c0) * 1e6 / n);

    /* 2. Redis up: stream mode into a local Redis */
    if (argc <= 2) {
        rpid = fork();
        if (rpid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save",
                   "", "--appendonly", "no", "--dir", dir, "--logfile", "/dev/null", (char *)NULL);
            _exit(127);
        }
        usleep(300000);
    }
    set(&cfg, "redis", url);
    snprintf(sp, sizeof(sp), "%s/spool-up", dir);
    set(&cfg, "spool", sp);
    o = oredis_open(&cfg, err, sizeof(err));
    if (!o) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    oredis_poll(o); /* connect before timing */
    double rc0 = argc <= 2 ? redis_cpu_s("127.0.0.1", p) : -1;
    t0 = now_s();
    c0 = cpu_s();
    for (int i = 0; i < n; i++) {
        oredis_alert(o, pre[i % NPRE], pre_len[i % NPRE], wall());
        if ((i & 255) == 255) oredis_poll(o);
    }
    struct oredis_stats st;
    for (;;) {
        oredis_poll(o);
        oredis_get_stats(o, &st);
        if (st.delivered >= (uint64_t)n || now_s() - t0 > 120) break;
    }
    t1 = now_s();
    c1 = cpu_s();
    double rc1 = argc <= 2 ? redis_cpu_s("127.0.0.1", p) : -1;
    printf("stream: %llu of %d alerts confirmed by Redis in %.3f s: %.0f alerts/s (errors %llu); "
           "output stage %.2f, Redis %.2f CPU us/alert\n",
           (unsigned long long)st.delivered, n, t1 - t0, st.delivered / (t1 - t0),
           (unsigned long long)st.errors, (c1 - c0) * 1e6 / n,
           rc0 >= 0 && rc1 >= 0 ? (rc1 - rc0) * 1e6 / n : -1.0);
    oredis_close(o);
    if (rpid > 0) {
        kill(rpid, SIGKILL);
        waitpid(rpid, NULL, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
