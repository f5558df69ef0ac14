/* test_output_redis.c - the Redis output against a REAL redis-server (no mock).
 *
 * Each test starts its own redis-server (Debian's) on a free loopback port and a
 * unix socket in a temp dir, with appendonly yes + appendfsync always, and kills it
 * at the end (PR_SET_PDEATHSIG also kills it if the test dies). Alerts are fed
 * straight into the module, as the output thread does with OUT_ALERT records. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "output_redis.h"

struct rsrv {
    pid_t pid;
    int port;
    char dir[64];
    char sock[128];
};

static uint64_t now_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A fresh temp dir and port; the server is not started. */
static void rs_init(struct rsrv *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/ots_redis_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(r->dir));
    snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
    r->port = free_port();
}

static int ready_lines(const char *logf)
{
    FILE *f = fopen(logf, "r");
    if (!f) return 0;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "Ready to accept connections")) n++;
    fclose(f);
    return n;
}

/* Starts redis-server with extra arguments (NULL-terminated) and waits for it. */
static void rs_start(struct rsrv *r, const char *const *extra)
{
    char port[16], logf[128], data[128];
    snprintf(port, sizeof(port), "%d", r->port);
    snprintf(logf, sizeof(logf), "%s/redis.log", r->dir);
    snprintf(data, sizeof(data), "%s/data", r->dir);
    mkdir(data, 0700);
    const char *argv[64] = {
        "redis-server", "--port",           port,     "--bind", "127.0.0.1", "--unixsocket",
        r->sock,        "--unixsocketperm", "700",    "--save", "",          "--appendonly",
        "yes",          "--appendfsync",    "always", "--dir",  data,        "--daemonize",
        "no",           "--logfile",        logf};
    int n = 21;
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int before = ready_lines(logf);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    r->pid = pid;
    /* ready once the AOF is loaded: the log says so (a PING may answer NOAUTH
     * while still loading); each start appends such a line */
    for (int i = 0; i < 400; i++) {
        if (ready_lines(logf) > before) return;
        sleep_ms(25);
    }
    ck_abort_msg("redis-server did not start (see %s)", logf);
}

static void rs_kill(struct rsrv *r, int sig)
{
    if (r->pid > 0) {
        kill(r->pid, sig);
        waitpid(r->pid, NULL, 0);
    }
    r->pid = 0;
    unlink(r->sock);
}

static void rs_cleanup(struct rsrv *r)
{
    rs_kill(r, SIGKILL);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A checking client on the unix socket (password may be NULL). */
static redisContext *client(struct rsrv *r, const char *user, const char *pw)
{
    redisContext *c = redisConnectUnix(r->sock);
    ck_assert(c && !c->err);
    if (pw) {
        redisReply *rep =
            user ? redisCommand(c, "AUTH %s %s", user, pw) : redisCommand(c, "AUTH %s", pw);
        ck_assert(rep && rep->type == REDIS_REPLY_STATUS);
        freeReplyObject(rep);
    }
    return c;
}

static long long cmd_int(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *rep = redisCommand(c, fmt, arg);
    ck_assert_ptr_nonnull(rep);
    ck_assert_msg(rep->type == REDIS_REPLY_INTEGER, "%s: type %d %s", fmt, rep->type,
                  rep->type == REDIS_REPLY_ERROR ? rep->str : "");
    long long v = rep->integer;
    freeReplyObject(rep);
    return v;
}

static void base_config(struct config *cfg, struct rsrv *r, const char *spool)
{
    char e[256];
    config_defaults(cfg);
    char url[160];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", r->port);
    ck_assert_int_eq(config_set(cfg, "redis", url, e, sizeof(e)), 0);
    ck_assert_int_eq(config_set(cfg, "spool", spool, e, sizeof(e)), 0);
    ck_assert_int_eq(config_set(cfg, "sensor_name", "t1", e, sizeof(e)), 0);
    ck_assert_int_eq(config_set(cfg, "redis.backoff_max_ms", "200", e, sizeof(e)), 0);
    ck_assert_int_eq(config_set(cfg, "redis.keep_ms", "60000", e, sizeof(e)), 0);
    ck_assert_int_eq(config_set(cfg, "redis.heartbeat_interval", "1", e, sizeof(e)), 0);
    ck_assert_int_eq(config_set(cfg, "redis.connect_timeout_ms", "500", e, sizeof(e)), 0);
    ck_assert_int_eq(config_set(cfg, "redis.timeout_ms", "1000", e, sizeof(e)), 0);
    ck_assert_int_eq(config_set(cfg, "spool.fsync", "never", e, sizeof(e)), 0);
}

static void set(struct config *cfg, const char *k, const char *v)
{
    char e[256];
    ck_assert_int_eq(config_set(cfg, k, v, e, sizeof(e)), 0);
}

static struct oredis *open_o(const struct config *cfg)
{
    char e[512];
    struct oredis *o = oredis_open(cfg, e, sizeof(e));
    ck_assert_msg(o != NULL, "%s", e);
    return o;
}

/* Alert i: a JSON object with hostile characters, so framing is exercised. */
static size_t alert_json(int i, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap,
                            "{\"n\":%d,\"rule\":{\"id\":\"9%d\"},\"message\":\"quote \\\" "
                            "back\\\\slash \\u0000 \xc3\xa9 end\"}",
                            i, i % 7);
}

static void feed(struct oredis *o, int from, int to)
{
    char b[256];
    for (int i = from; i < to; i++) {
        size_t n = alert_json(i, b, sizeof(b));
        ck_assert_int_eq(oredis_alert(o, b, n, now_wall_ms()), 0);
        if (i % 50 == 0) oredis_poll(o);
    }
}

static void pump(struct oredis *o, int ms)
{
    for (int t = 0; t < ms; t += 5) {
        oredis_poll(o);
        sleep_ms(5);
    }
}

static long long xlen(redisContext *c, const char *key)
{
    return cmd_int(c, "XLEN %s", key);
}

/* Polls until the stream holds n entries (or 10 s pass). */
static void pump_until_xlen(struct oredis *o, redisContext *c, const char *key, long long n)
{
    for (int t = 0; t < 10000 && xlen(c, key) < n; t += 5) {
        oredis_poll(o);
        sleep_ms(5);
    }
}

/* The stream holds alerts from..to-1, each once, in order, with increasing ids. */
static void check_stream(redisContext *c, const char *key, int from, int to)
{
    redisReply *rep = redisCommand(c, "XRANGE %s - +", key);
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
    ck_assert_int_eq((int)rep->elements, to - from);
    unsigned long long pms = 0, pseq = 0;
    char want[256];
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *e = rep->element[i];
        unsigned long long ms, seq;
        ck_assert_int_eq(sscanf(e->element[0]->str, "%llu-%llu", &ms, &seq), 2);
        ck_assert_msg(i == 0 || ms > pms || (ms == pms && seq > pseq), "ids not increasing");
        pms = ms, pseq = seq;
        redisReply *f = e->element[1];
        ck_assert_int_eq((int)f->elements, 2);
        ck_assert_str_eq(f->element[0]->str, "alert");
        size_t wn = alert_json(from + (int)i, want, sizeof(want));
        ck_assert_msg(f->element[1]->len == wn && !memcmp(f->element[1]->str, want, wn),
                      "entry %zu: %s", i, f->element[1]->str);
    }
    freeReplyObject(rep);
}

static void spool_path(struct rsrv *r, char *out, size_t n)
{
    snprintf(out, n, "%s/spool", r->dir);
}

START_TEST(stream_delivery)
{
    struct rsrv r;
    rs_init(&r);
    rs_start(&r, NULL);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    struct oredis *o = open_o(&cfg);
    redisContext *c = client(&r, NULL, NULL);
    feed(o, 0, 3000);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 3000);
    pump(o, 100);
    check_stream(c, "otsensor:alerts:t1", 0, 3000);
    struct oredis_stats st;
    oredis_get_stats(o, &st);
    ck_assert_uint_eq(st.alerts, 3000);
    ck_assert_uint_eq(st.delivered, 3000);
    ck_assert_uint_eq(st.duplicates, 0);
    ck_assert_uint_eq(st.connects, 1);
    ck_assert_int_eq(st.connected, 1);
    /* the sensors set, and the heartbeat hash with a TTL of 3 intervals */
    ck_assert_int_eq(cmd_int(c, "SISMEMBER otsensor:sensors %s", "t1"), 1);
    struct oredis_counters k = {.packets = 1234, .drops = 5, .flows = 67};
    oredis_set_counters(o, &k);
    pump(o, 1100);
    redisReply *h = redisCommand(c, "HGET otsensor:sensor:t1 packets");
    ck_assert_str_eq(h->str, "1234");
    freeReplyObject(h);
    h = redisCommand(c, "HGET otsensor:sensor:t1 alerts");
    ck_assert_str_eq(h->str, "3000");
    freeReplyObject(h);
    h = redisCommand(c, "HGET otsensor:sensor:t1 version");
    ck_assert_str_eq(h->str, OTS_VERSION);
    freeReplyObject(h);
    long long ttl = cmd_int(c, "TTL %s", "otsensor:sensor:t1");
    ck_assert(ttl > 0 && ttl <= 3);
    oredis_drain(o, 2000);
    oredis_close(o);
    /* a second run with the same spool sends nothing twice, continues the ids */
    o = open_o(&cfg);
    pump(o, 100);
    feed(o, 3000, 3010);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 3010);
    pump(o, 100);
    check_stream(c, "otsensor:alerts:t1", 0, 3010);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

START_TEST(redis_down_at_start)
{
    struct rsrv r;
    rs_init(&r);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    struct oredis *o = open_o(&cfg);
    feed(o, 0, 1000);
    pump(o, 300); /* several refused connects */
    struct oredis_stats st;
    oredis_get_stats(o, &st);
    ck_assert_uint_eq(st.spooled, 1000);
    ck_assert_uint_eq(st.delivered, 0);
    ck_assert_uint_ge(st.errors, 2);
    ck_assert_uint_eq(st.spool.records, 1000);
    rs_start(&r, NULL);
    redisContext *c = client(&r, NULL, NULL);
    feed(o, 1000, 1500); /* new alerts queue behind the spooled ones */
    pump_until_xlen(o, c, "otsensor:alerts:t1", 1500);
    pump(o, 300);
    check_stream(c, "otsensor:alerts:t1", 0, 1500);
    oredis_get_stats(o, &st);
    ck_assert_uint_ge(st.replayed, 1000);
    ck_assert_uint_eq(st.duplicates, 0);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

START_TEST(redis_killed_mid_run)
{
    struct rsrv r;
    rs_init(&r);
    rs_start(&r, NULL);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    struct oredis *o = open_o(&cfg);
    redisContext *c = client(&r, NULL, NULL);
    feed(o, 0, 2000);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 1000);
    redisFree(c);
    /* kill -9 in the middle of the run; alerts keep coming */
    rs_kill(&r, SIGKILL);
    feed(o, 2000, 4000);
    pump(o, 300);
    struct oredis_stats st;
    oredis_get_stats(o, &st);
    ck_assert_uint_ge(st.errors, 1);
    ck_assert_int_eq(st.connected, 0);
    /* Redis comes back with its AOF */
    rs_start(&r, NULL);
    c = client(&r, NULL, NULL);
    feed(o, 4000, 5000);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 5000);
    pump(o, 300);
    check_stream(c, "otsensor:alerts:t1", 0, 5000); /* no loss, no duplicate */
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

/* Redis restarts without the data it had confirmed (as a crash with appendfsync
 * everysec can do): the alerts kept in the spool (redis.keep_ms) are sent again. */
START_TEST(redis_lost_confirmed_alerts)
{
    struct rsrv r;
    rs_init(&r);
    rs_start(&r, NULL);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    struct oredis *o = open_o(&cfg);
    redisContext *c = client(&r, NULL, NULL);
    feed(o, 0, 800);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 800);
    redisFree(c);
    rs_kill(&r, SIGKILL);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/data'", r.dir);
    ck_assert_int_eq(system(cmd), 0);
    rs_start(&r, NULL); /* empty */
    c = client(&r, NULL, NULL);
    feed(o, 800, 900);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 900);
    pump(o, 300);
    check_stream(c, "otsensor:alerts:t1", 0, 900);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

/* A writer process that feeds n alerts, says so on fd, and waits to be killed. */
static void writer_child(const struct config *cfg, int from, int to, int want_delivered, int fd)
{
    char e[256];
    struct oredis *o = oredis_open(cfg, e, sizeof(e));
    if (!o) _exit(3);
    char b[256];
    for (int i = from; i < to; i++) {
        size_t n = alert_json(i, b, sizeof(b));
        oredis_alert(o, b, n, now_wall_ms());
    }
    for (int t = 0; t < 10000; t += 5) {
        oredis_poll(o);
        struct oredis_stats st;
        oredis_get_stats(o, &st);
        if (!want_delivered || st.delivered >= (uint64_t)(to - from)) break;
        sleep_ms(5);
    }
    oredis_poll(o);
    if (write(fd, "k", 1) != 1) _exit(4);
    for (;;)
        pause();
}

static void run_and_kill(const struct config *cfg, int from, int to, int want_delivered)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        writer_child(cfg, from, to, want_delivered, p[1]);
    }
    close(p[1]);
    char ch;
    ck_assert_int_eq(read(p[0], &ch, 1), 1);
    close(p[0]);
    kill(pid, SIGKILL);
    int stt;
    waitpid(pid, &stt, 0);
    ck_assert(WIFSIGNALED(stt) && WTERMSIG(stt) == SIGKILL);
}

START_TEST(writer_killed)
{
    struct rsrv r;
    rs_init(&r);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    /* killed while Redis is down: everything it took is in the spool */
    run_and_kill(&cfg, 0, 600, 0);
    rs_start(&r, NULL);
    redisContext *c = client(&r, NULL, NULL);
    struct oredis *o = open_o(&cfg);
    struct oredis_stats st;
    oredis_get_stats(o, &st);
    ck_assert_uint_eq(st.spool.found_at_open, 600);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 600);
    pump(o, 200);
    check_stream(c, "otsensor:alerts:t1", 0, 600);
    oredis_drain(o, 2000);
    oredis_close(o);
    /* killed after Redis confirmed: the replay at the next start sends nothing twice */
    run_and_kill(&cfg, 600, 900, 1);
    ck_assert_int_eq(xlen(c, "otsensor:alerts:t1"), 900);
    o = open_o(&cfg);
    pump(o, 300);
    feed(o, 900, 950);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 950);
    pump(o, 200);
    check_stream(c, "otsensor:alerts:t1", 0, 950);
    oredis_get_stats(o, &st);
    ck_assert_uint_eq(st.duplicates, 0);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

START_TEST(auth_password_unix_db)
{
    struct rsrv r;
    rs_init(&r);
    const char *extra[] = {"--requirepass", "s3cret", NULL};
    rs_start(&r, extra);
    static struct config cfg;
    char sp[128], url[200], pwf[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    redisContext *c = client(&r, NULL, "s3cret");
    /* unix socket, password from redis.password_file */
    snprintf(pwf, sizeof(pwf), "%s/pw", r.dir);
    FILE *f = fopen(pwf, "w");
    fputs("s3cret\n", f);
    fclose(f);
    snprintf(url, sizeof(url), "unix:%s", r.sock);
    set(&cfg, "redis", url);
    set(&cfg, "redis.password_file", pwf);
    struct oredis *o = open_o(&cfg);
    feed(o, 0, 100);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 100);
    check_stream(c, "otsensor:alerts:t1", 0, 100);
    oredis_drain(o, 2000);
    oredis_close(o);
    /* a wrong password in the URL wins over the file: refused, alerts wait */
    snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d/3", r.port);
    set(&cfg, "redis", url);
    o = open_o(&cfg);
    feed(o, 100, 150);
    pump(o, 300);
    struct oredis_stats st;
    oredis_get_stats(o, &st);
    ck_assert_uint_eq(st.delivered, 0);
    ck_assert_uint_ge(st.errors, 1);
    oredis_drain(o, 500);
    oredis_close(o);
    /* the right one, TCP, database 3: the spool's backlog goes there */
    snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d/3", r.port);
    set(&cfg, "redis", url);
    o = open_o(&cfg);
    redisReply *rep = redisCommand(c, "SELECT 3");
    freeReplyObject(rep);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 50);
    /* db 3's stream starts empty, so the whole spool window is sent there */
    ck_assert_int_eq(xlen(c, "otsensor:alerts:t1"), 150);
    check_stream(c, "otsensor:alerts:t1", 0, 150);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

START_TEST(auth_acl_user)
{
    struct rsrv r;
    rs_init(&r);
    /* the default user is off: only alice, limited to otsensor:* keys */
    const char *extra[] = {"--user", "default",     "off",         "--user", "alice", "on",
                           ">pw",    "~otsensor:*", "&otsensor:*", "+@all",  NULL};
    rs_start(&r, extra);
    static struct config cfg;
    char sp[128], url[200];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    snprintf(url, sizeof(url), "redis://alice:pw@127.0.0.1:%d", r.port);
    set(&cfg, "redis", url);
    redisContext *c = client(&r, "alice", "pw");
    struct oredis *o = open_o(&cfg);
    feed(o, 0, 200);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 200);
    check_stream(c, "otsensor:alerts:t1", 0, 200);
    oredis_drain(o, 2000);
    oredis_close(o);
    /* a user without a password anywhere is refused at open */
    snprintf(url, sizeof(url), "redis://alice@127.0.0.1:%d", r.port);
    set(&cfg, "redis", url);
    char e[256];
    ck_assert_ptr_null(oredis_open(&cfg, e, sizeof(e)));
    ck_assert_ptr_nonnull(strstr(e, "no password"));
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

START_TEST(list_and_channel)
{
    struct rsrv r;
    rs_init(&r);
    rs_start(&r, NULL);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    set(&cfg, "redis.list", "yes");
    set(&cfg, "redis.channel", "yes");
    set(&cfg, "redis.prefix", "plant7");
    redisContext *c = client(&r, NULL, NULL);
    redisContext *sub = client(&r, NULL, NULL);
    redisReply *rep = redisCommand(sub, "SUBSCRIBE plant7:alerts");
    ck_assert_ptr_nonnull(rep);
    freeReplyObject(rep);
    struct oredis *o = open_o(&cfg);
    feed(o, 0, 300);
    pump_until_xlen(o, c, "plant7:alerts:t1", 300);
    check_stream(c, "plant7:alerts:t1", 0, 300);
    /* the list holds the same alerts in the same order */
    rep = redisCommand(c, "LRANGE plant7:alerts:list 0 -1");
    ck_assert_int_eq((int)rep->elements, 300);
    char want[256];
    for (int i = 0; i < 300; i++) {
        size_t wn = alert_json(i, want, sizeof(want));
        ck_assert(rep->element[i]->len == wn && !memcmp(rep->element[i]->str, want, wn));
    }
    freeReplyObject(rep);
    /* and every one was published, in order */
    for (int i = 0; i < 300; i++) {
        void *m = NULL;
        ck_assert_int_eq(redisGetReply(sub, &m), REDIS_OK);
        redisReply *msg = m;
        ck_assert_int_eq((int)msg->elements, 3);
        ck_assert_str_eq(msg->element[0]->str, "message");
        size_t wn = alert_json(i, want, sizeof(want));
        ck_assert(msg->element[2]->len == wn && !memcmp(msg->element[2]->str, want, wn));
        freeReplyObject(msg);
    }
    oredis_drain(o, 2000);
    oredis_close(o);
    /* list mode alone (its own spool): at-least-once, and a clean close leaves
     * nothing to resend */
    char sp2[160];
    snprintf(sp2, sizeof(sp2), "%s/spool2", r.dir);
    set(&cfg, "spool", sp2);
    set(&cfg, "redis.stream", "no");
    set(&cfg, "redis.channel", "no");
    o = open_o(&cfg);
    feed(o, 300, 310);
    for (int t = 0; t < 5000 && cmd_int(c, "LLEN %s", "plant7:alerts:list") < 310; t += 5)
        pump(o, 5);
    oredis_drain(o, 2000);
    oredis_close(o);
    o = open_o(&cfg);
    pump(o, 200);
    ck_assert_int_eq(cmd_int(c, "LLEN %s", "plant7:alerts:list"), 310);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(sub);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

/* Redis away long enough to fill the spool: a sensor.spool_full alert reaches the
 * stream once Redis returns, and every dropped alert is counted. */
START_TEST(spool_full_reaches_stream)
{
    struct rsrv r;
    rs_init(&r);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    set(&cfg, "spool.max_mb", "1");
    struct oredis *o = open_o(&cfg);
    char b[1200];
    memset(b, 'x', sizeof(b));
    int kept = 0, refused = 0;
    for (int i = 0; i < 1500; i++) {
        int n = snprintf(b, sizeof(b), "{\"n\":%d,\"pad\":\"", i);
        memset(b + n, 'p', 1000);
        memcpy(b + n + 1000, "\"}", 3);
        if (oredis_alert(o, b, (size_t)n + 1002, now_wall_ms()) == 0)
            kept++;
        else
            refused++;
    }
    struct oredis_stats st;
    oredis_get_stats(o, &st);
    ck_assert_int_gt(refused, 0);
    ck_assert_uint_eq(st.spool.dropped_full, (uint64_t)refused);
    ck_assert_uint_eq(st.spool.full_episodes, 1);
    rs_start(&r, NULL);
    redisContext *c = client(&r, NULL, NULL);
    pump_until_xlen(o, c, "otsensor:alerts:t1", kept + 1);
    pump(o, 200);
    ck_assert_int_eq(xlen(c, "otsensor:alerts:t1"), kept + 1);
    redisReply *rep = redisCommand(c, "XREVRANGE otsensor:alerts:t1 + - COUNT 1");
    ck_assert_ptr_nonnull(
        strstr(rep->element[0]->element[1]->element[1]->str, "\"id\":\"sensor.spool_full\""));
    freeReplyObject(rep);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

/* Redis is up but the spool is small: alerts Redis confirmed are dropped from it
 * before their keep window ends, so no new alert is refused. */
START_TEST(small_spool_keeps_flowing)
{
    struct rsrv r;
    rs_init(&r);
    rs_start(&r, NULL);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    set(&cfg, "spool.max_mb", "1");
    redisContext *c = client(&r, NULL, NULL);
    struct oredis *o = open_o(&cfg);
    char b[1200];
    for (int i = 0; i < 4000; i++) {
        int n = snprintf(b, sizeof(b), "{\"n\":%d,\"pad\":\"", i);
        memset(b + n, 'p', 1000);
        memcpy(b + n + 1000, "\"}", 3);
        int arc = oredis_alert(o, b, (size_t)n + 1002, now_wall_ms());
        if (arc) {
            struct oredis_stats x;
            oredis_get_stats(o, &x);
            ck_abort_msg("alert %d refused: spool %llu bytes %llu records, delivered %llu cut %llu",
                         i, (unsigned long long)x.spool.bytes, (unsigned long long)x.spool.records,
                         (unsigned long long)x.delivered, (unsigned long long)x.keep_cut);
        }
        if (i % 100 == 99) pump_until_xlen(o, c, "otsensor:alerts:t1", i + 1);
    }
    struct oredis_stats st;
    oredis_get_stats(o, &st);
    ck_assert_uint_eq(st.spool.dropped_full, 0);
    ck_assert_uint_gt(st.keep_cut, 0);
    ck_assert_uint_le(st.spool.bytes, 1u << 20);
    ck_assert_int_eq(xlen(c, "otsensor:alerts:t1"), 4000);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

/* MAXLEN off and on; a lone alert waits redis.flush_ms for company, then goes. */
START_TEST(maxlen_and_flush_interval)
{
    struct rsrv r;
    rs_init(&r);
    rs_start(&r, NULL);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    set(&cfg, "redis.stream_maxlen", "0");
    redisContext *c = client(&r, NULL, NULL);
    struct oredis *o = open_o(&cfg);
    feed(o, 0, 2000);
    pump_until_xlen(o, c, "otsensor:alerts:t1", 2000);
    check_stream(c, "otsensor:alerts:t1", 0, 2000);
    oredis_drain(o, 2000);
    oredis_close(o);
    /* MAXLEN ~ 100: Redis trims whole nodes, so about 100 stay */
    set(&cfg, "redis.stream_maxlen", "100");
    set(&cfg, "sensor_name", "t2");
    set(&cfg, "redis.flush_ms", "300");
    char sp2[160];
    snprintf(sp2, sizeof(sp2), "%s/spool2", r.dir);
    set(&cfg, "spool", sp2);
    o = open_o(&cfg);
    oredis_poll(o); /* connected */
    char b[256];
    size_t n = alert_json(0, b, sizeof(b));
    ck_assert_int_eq(oredis_alert(o, b, n, now_wall_ms()), 0);
    oredis_poll(o);
    ck_assert_int_eq(xlen(c, "otsensor:alerts:t2"), 0); /* waits for its batch */
    sleep_ms(350);
    oredis_poll(o);
    ck_assert_int_eq(xlen(c, "otsensor:alerts:t2"), 1); /* flush_ms passed */
    feed(o, 1, 3000);
    for (int t = 0; t < 5000; t += 5) {
        struct oredis_stats st;
        oredis_get_stats(o, &st);
        if (st.delivered >= 3000) break;
        pump(o, 5);
    }
    long long len = xlen(c, "otsensor:alerts:t2");
    ck_assert_msg(len >= 100 && len < 1000, "XLEN %lld with MAXLEN ~ 100", len);
    oredis_drain(o, 2000);
    oredis_close(o);
    redisFree(c);
    rs_cleanup(&r);
}
END_TEST

/* A server that takes the connection but never answers: the read timeout drops
 * it, the poll comes back, and the alerts wait in the spool. */
START_TEST(silent_server_times_out)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 16), 0); /* the kernel completes connects; nobody reads */
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &l), 0);
    struct rsrv r;
    rs_init(&r);
    r.port = ntohs(a.sin_port);
    static struct config cfg;
    char sp[128];
    spool_path(&r, sp, sizeof(sp));
    base_config(&cfg, &r, sp);
    set(&cfg, "redis.timeout_ms", "300");
    set(&cfg, "redis.stream", "no"); /* no XINFO: the first command is the batch */
    set(&cfg, "redis.list", "yes");
    struct oredis *o = open_o(&cfg);
    feed(o, 0, 10);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 5; i++) /* connect completes, SADD waits 300 ms, dropped */
        oredis_poll(o);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    struct oredis_stats st;
    oredis_get_stats(o, &st);
    ck_assert_uint_ge(st.errors, 1);
    ck_assert_int_eq(st.connected, 0);
    ck_assert_uint_eq(st.spool.records, 10);
    ck_assert_msg(el < 1.5, "polls took %.3f s", el);
    oredis_close(o);
    close(lfd);
    rs_cleanup(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("output_redis");
    TCase *t = tcase_create("real_redis");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, stream_delivery);
    tcase_add_test(t, redis_down_at_start);
    tcase_add_test(t, redis_killed_mid_run);
    tcase_add_test(t, redis_lost_confirmed_alerts);
    tcase_add_test(t, writer_killed);
    tcase_add_test(t, auth_password_unix_db);
    tcase_add_test(t, auth_acl_user);
    tcase_add_test(t, list_and_channel);
    tcase_add_test(t, spool_full_reaches_stream);
    tcase_add_test(t, small_spool_keeps_flowing);
    tcase_add_test(t, maxlen_and_flush_interval);
    tcase_add_test(t, silent_server_times_out);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
