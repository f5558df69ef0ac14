/* output_redis.c - see output_redis.h. */
#include "output_redis.h"

#include <hiredis/hiredis.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "redis_url.h"

#define BACKOFF_START_MS 100
#define POLL_BUDGET_MS   50

struct oredis {
    struct redis_url url;
    char where[600]; /* for log lines, without the password */
    char sensor[128];
    char k_stream[512], k_list[512], k_channel[512], k_sensors[512], k_hb[512];
    int m_stream, m_list, m_channel;
    char maxlen[24];
    uint32_t batch, flush_ms, connect_ms, timeout_ms, backoff_max_ms, hb_ms, keep_ms;
    char spool_dir[1024];
    struct spool *sp;
    redisContext *c;
    int connecting; /* c exists, its TCP connect is still in progress */
    uint64_t connect_deadline_ms;
    uint64_t next_try_ms, backoff_ms;
    int down_logged;
    char last_err[256];
    struct spool_id next;        /* last id given to an alert */
    struct spool_id resume;      /* records up to here are not sent again */
    struct spool_id acked;       /* Redis confirmed everything up to here */
    struct spool_id replay_upto; /* backlog at the last connect */
    uint64_t oldest_unsent_ms;   /* 0: nothing waits */
    uint32_t unsent;
    uint64_t last_hb_ms;
    struct spool_id trim_cand; /* trimmed at trim_at_ms */
    struct spool_id trimmed;   /* the spool was last trimmed up to here */
    uint64_t trim_at_ms;
    struct oredis_counters ctr;
    uint64_t start_ms;
    /* sent, replies not read yet: a ring of up to two batches, oldest at pend_head */
    struct spool_id *inflight;
    uint32_t pend_head, pend_n, pend_cap;
    int pend_bad;       /* an error reply was read: disconnect once they are read */
    char pend_why[200]; /* its text */
    /* each alert's commands as Redis protocol (RESP), built here without hiredis's
     * argv formatting: the fixed head of each command is made once at open */
    char *pre_list, *pre_chan, *pre_xadd, *pre_xtrim; /* pre_xtrim: XADD with MAXLEN ~ */
    size_t pre_list_len, pre_chan_len, pre_xadd_len, pre_xtrim_len;
    char *wb; /* one batch of commands */
    size_t wb_len, wb_cap;
    struct oredis_stats st;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int live(const struct oredis *o)
{
    return o->c && !o->connecting;
}

static struct timeval tv_ms(uint32_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* "*<argc>\r\n" and the leading arguments of a command (cmd, key, and for XADD with
 * trimming "MAXLEN ~ <maxlen>") in RESP; the caller appends the rest. */
static char *resp_head(int argc, const char *cmd, const char *key, const char *maxlen, size_t *len)
{
    size_t cap = 64 + strlen(key) + (maxlen ? strlen(maxlen) : 0) + strlen(cmd);
    char *b = malloc(cap);
    if (!b) return NULL;
    int n = snprintf(b, cap, "*%d\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", argc, strlen(cmd), cmd,
                     strlen(key), key);
    if (maxlen)
        n += snprintf(b + n, cap - (size_t)n, "$6\r\nMAXLEN\r\n$1\r\n~\r\n$%zu\r\n%s\r\n",
                      strlen(maxlen), maxlen);
    *len = (size_t)n;
    return b;
}

static void free_bufs(struct oredis *o)
{
    free(o->inflight);
    free(o->pre_list);
    free(o->pre_chan);
    free(o->pre_xadd);
    free(o->pre_xtrim);
    free(o->wb);
}

struct oredis *oredis_open(const struct config *cfg, char *err, size_t errlen)
{
    struct oredis *o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(err, errlen, "redis: out of memory");
        return NULL;
    }
    if (redis_url_parse(cfg->redis_url, &o->url, err, errlen) != 0) goto fail;
    if (o->url.kind == REDIS_URL_NONE) {
        snprintf(err, errlen, "redis: output is off (--redis none)");
        goto fail;
    }
    if (!o->url.has_password && cfg->redis_password_file[0]) {
        if (redis_password_file_read(cfg->redis_password_file, o->url.password,
                                     sizeof(o->url.password), err, errlen) != 0)
            goto fail;
        o->url.has_password = 1;
    }
    if (o->url.user[0] && !o->url.has_password) {
        snprintf(err, errlen,
                 "redis: user '%s' has no password (in the URL or redis.password_file)",
                 o->url.user);
        goto fail;
    }
    redis_url_describe(&o->url, o->where, sizeof(o->where));
    snprintf(o->sensor, sizeof(o->sensor), "%s", cfg->sensor_name);
    const char *px = cfg->redis_prefix;
    snprintf(o->k_stream, sizeof(o->k_stream), "%s:alerts:%s", px, cfg->sensor_name);
    snprintf(o->k_list, sizeof(o->k_list), "%s:alerts:list", px);
    snprintf(o->k_channel, sizeof(o->k_channel), "%s:alerts", px);
    snprintf(o->k_sensors, sizeof(o->k_sensors), "%s:sensors", px);
    snprintf(o->k_hb, sizeof(o->k_hb), "%s:sensor:%s", px, cfg->sensor_name);
    o->m_stream = cfg->redis_stream;
    o->m_list = cfg->redis_list;
    o->m_channel = cfg->redis_channel;
    snprintf(o->maxlen, sizeof(o->maxlen), "%" PRIu32, cfg->redis_stream_maxlen);
    o->batch = cfg->redis_batch ? cfg->redis_batch : 1;
    o->flush_ms = cfg->redis_flush_ms;
    o->connect_ms = cfg->redis_connect_timeout_ms;
    o->timeout_ms = cfg->redis_timeout_ms;
    o->backoff_max_ms = cfg->redis_backoff_max_ms;
    o->hb_ms = cfg->redis_heartbeat_interval * 1000u;
    o->keep_ms = cfg->redis_keep_ms;
    snprintf(o->spool_dir, sizeof(o->spool_dir), "%s", cfg->spool_dir);
    enum spool_fsync fp;
    if (spool_fsync_parse(cfg->spool_fsync, &fp) != 0) {
        snprintf(err, errlen, "'spool.fsync' wants always, batch or never, not '%s'",
                 cfg->spool_fsync);
        goto fail;
    }
    o->sp = spool_open(cfg->spool_dir, (uint64_t)cfg->spool_max_mb << 20, fp, cfg->sensor_name, err,
                       errlen);
    if (!o->sp) goto fail;
    o->pend_cap = 2 * o->batch;
    o->inflight = calloc(o->pend_cap, sizeof(*o->inflight));
    o->pre_list = resp_head(3, "RPUSH", o->k_list, NULL, &o->pre_list_len);
    o->pre_chan = resp_head(3, "PUBLISH", o->k_channel, NULL, &o->pre_chan_len);
    o->pre_xadd = resp_head(5, "XADD", o->k_stream, NULL, &o->pre_xadd_len);
    o->pre_xtrim = strcmp(o->maxlen, "0")
                       ? resp_head(8, "XADD", o->k_stream, o->maxlen, &o->pre_xtrim_len)
                       : resp_head(5, "XADD", o->k_stream, NULL, &o->pre_xtrim_len);
    if (!o->inflight || !o->pre_list || !o->pre_chan || !o->pre_xadd || !o->pre_xtrim) {
        snprintf(err, errlen, "redis: out of memory");
        goto fail;
    }
    o->next = spool_last_id(o->sp);
    o->start_ms = mono_ms();
    struct spool_stats ss;
    spool_get_stats(o->sp, &ss);
    if (ss.records) {
        o->oldest_unsent_ms = 1; /* a backlog from an earlier run: send it first */
        log_info("spool %s: %" PRIu64 " alerts from an earlier run (%" PRIu64
                 " bytes) are sent before new ones",
                 cfg->spool_dir, ss.records, ss.bytes);
    }
    return o;
fail:
    if (o->sp) spool_close(o->sp);
    free_bufs(o);
    free(o);
    return NULL;
}

int oredis_alert(struct oredis *o, const char *json, size_t len, uint64_t now_ms)
{
    struct spool_id id;
    if (now_ms > o->next.ms)
        id = (struct spool_id){now_ms, 0};
    else if (o->next.seq < UINT32_MAX)
        id = (struct spool_id){o->next.ms, o->next.seq + 1};
    else
        id = (struct spool_id){o->next.ms + 1, 0};
    o->next = id;
    o->st.alerts++;
    if (!live(o)) o->st.spooled++;
    if (!spool_has_room(o->sp, len) && spool_id_cmp(o->acked, o->trimmed) > 0) {
        /* full of alerts Redis confirmed: cut their keep window short, not new ones */
        spool_trim(o->sp, o->acked);
        o->trimmed = o->acked;
        o->st.keep_cut++;
    }
    int rc = spool_append(o->sp, id, json, len);
    if (rc == SPOOL_ERR) return -1;
    /* SPOOL_FULL may have stored the spool_full marker under this id */
    if (!o->oldest_unsent_ms) o->oldest_unsent_ms = mono_ms();
    o->unsent++;
    return rc == SPOOL_OK ? 0 : -1;
}

static void disconnect(struct oredis *o, const char *what, const char *detail)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    o->st.errors++;
    if (!o->down_logged || strcmp(msg, o->last_err) != 0)
        log_warn("Redis %s: %s; alerts wait in the spool %s (retrying, backoff up to %u ms)",
                 o->where, msg, o->spool_dir, o->backoff_max_ms);
    o->down_logged = 1;
    snprintf(o->last_err, sizeof(o->last_err), "%s", msg);
    if (o->c) redisFree(o->c);
    o->c = NULL;
    o->connecting = 0;
    o->pend_n = 0; /* unconfirmed: resent after the stream's top at the next connect */
    o->pend_bad = 0;
    o->backoff_ms = o->backoff_ms ? o->backoff_ms * 2 : BACKOFF_START_MS;
    if (o->backoff_ms > o->backoff_max_ms) o->backoff_ms = o->backoff_max_ms;
    o->next_try_ms = mono_ms() + o->backoff_ms;
}

/* One command, waiting for its reply (set-up only). NULL on an I/O error. */
static redisReply *command(redisContext *c, int argc, const char **argv)
{
    return redisCommandArgv(c, argc, argv, NULL);
}

static int parse_id(const char *s, struct spool_id *id)
{
    char *end;
    unsigned long long ms = strtoull(s, &end, 10);
    if (*end != '-') return -1;
    unsigned long long seq = strtoull(end + 1, &end, 10);
    if (*end || seq > UINT32_MAX) return -1;
    *id = (struct spool_id){ms, (uint32_t)seq};
    return 0;
}

/* The stream's last-generated id (0-0 when it does not exist). -1 on failure. */
static int stream_top(struct oredis *o, struct spool_id *top)
{
    const char *argv[] = {"XINFO", "STREAM", o->k_stream};
    redisReply *r = command(o->c, 3, argv);
    if (!r) {
        disconnect(o, "XINFO STREAM", o->c->errstr);
        return -1;
    }
    int rc = -1;
    *top = (struct spool_id){0, 0};
    if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key")) {
        rc = 0;
    } else if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            redisReply *k = r->element[i], *v = r->element[i + 1];
            if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, "last-generated-id") &&
                v->type == REDIS_REPLY_STRING && parse_id(v->str, top) == 0)
                rc = 0;
        }
    }
    if (rc != 0) {
        char d[200];
        snprintf(d, sizeof(d), "unexpected reply%s%s", r->type == REDIS_REPLY_ERROR ? ": " : "",
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
        freeReplyObject(r);
        disconnect(o, "XINFO STREAM", d);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* A set-up command that must not fail. */
static int must(struct oredis *o, int argc, const char **argv, const char *what)
{
    redisReply *r = command(o->c, argc, argv);
    if (!r) {
        disconnect(o, what, o->c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        char d[200];
        snprintf(d, sizeof(d), "%s", r->str);
        freeReplyObject(r);
        disconnect(o, what, d);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

static void setup_session(struct oredis *o);

/* The TCP connect runs in the background (a Redis that drops SYNs must not stall
 * the output thread for redis.connect_timeout_ms); check_connect() finishes it. */
static void start_connect(struct oredis *o)
{
    if (o->url.kind == REDIS_URL_UNIX)
        o->c = redisConnectUnixNonBlock(o->url.path);
    else
        o->c = redisConnectNonBlock(o->url.host, o->url.port);
    if (!o->c || o->c->err) {
        disconnect(o, "cannot connect", o->c ? o->c->errstr : "out of memory");
        return;
    }
    o->connecting = 1;
    o->connect_deadline_ms = mono_ms() + o->connect_ms;
}

/* Waits up to wait_ms for the connect to complete; on success the context is
 * made blocking (with redis.timeout_ms) and the session set up. */
static void check_connect(struct oredis *o, int wait_ms)
{
    struct pollfd pfd = {.fd = o->c->fd, .events = POLLOUT};
    int r = poll(&pfd, 1, wait_ms);
    if (r < 0 && errno == EINTR) return;
    if (r == 0) {
        if (mono_ms() >= o->connect_deadline_ms)
            disconnect(o, "cannot connect", "connect timed out");
        return;
    }
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (r < 0 || getsockopt(o->c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
        disconnect(o, "cannot connect", strerror(soerr ? soerr : errno));
        return;
    }
    int fl = fcntl(o->c->fd, F_GETFL);
    if (fl < 0 || fcntl(o->c->fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        disconnect(o, "cannot connect", strerror(errno));
        return;
    }
    o->c->flags |= REDIS_BLOCK; /* hiredis reads and writes blocking from here on */
    o->connecting = 0;
    setup_session(o);
}

/* Connects now, waiting up to redis.connect_timeout_ms (at exit only). */
static void connect_blocking(struct oredis *o)
{
    if (!o->c) start_connect(o);
    while (o->c && o->connecting)
        check_connect(o, 50);
}

static void setup_session(struct oredis *o)
{
    redisSetTimeout(o->c, tv_ms(o->timeout_ms));
    if (o->url.kind == REDIS_URL_TCP) redisEnableKeepAlive(o->c);
    if (o->url.has_password) {
        const char *a2[] = {"AUTH", o->url.password};
        const char *a3[] = {"AUTH", o->url.user, o->url.password};
        if (o->url.user[0] ? must(o, 3, a3, "AUTH") : must(o, 2, a2, "AUTH")) return;
    }
    if (o->url.db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", o->url.db);
        const char *a[] = {"SELECT", db};
        if (must(o, 2, a, "SELECT")) return;
    }
    struct spool_id top = {0, 0};
    if (o->m_stream && stream_top(o, &top) != 0) return;
    const char *sa[] = {"SADD", o->k_sensors, o->sensor};
    if (must(o, 3, sa, "SADD")) return;
    if (o->m_stream) {
        if (spool_id_cmp(top, o->acked) < 0)
            log_warn("Redis %s: stream %s ends at %" PRIu64 "-%u, before alerts it had "
                     "confirmed (up to %" PRIu64 "-%u): Redis lost them; sending them again",
                     o->where, o->k_stream, top.ms, top.seq, o->acked.ms, o->acked.seq);
        /* Redis's stream is the truth: what is after its top must be (re)sent */
        o->acked = top;
        if (spool_id_cmp(o->trim_cand, top) > 0) o->trim_cand = top;
        if (spool_id_cmp(o->next, top) < 0)
            o->next = top; /* new ids above anything in the stream */
    }
    o->resume = o->acked;
    spool_rewind(o->sp);
    o->replay_upto = spool_last_id(o->sp);
    o->oldest_unsent_ms = 1;
    o->backoff_ms = 0;
    o->st.connects++;
    if (o->down_logged || o->st.connects == 1)
        log_info("Redis %s connected; stream %s at %" PRIu64 "-%u", o->where,
                 o->m_stream ? o->k_stream : "(off)", top.ms, top.seq);
    o->down_logged = 0;
}

static int append(struct oredis *o, int argc, const char **argv, const size_t *lens)
{
    return redisAppendCommandArgv(o->c, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

static int wb_room(struct oredis *o, size_t more)
{
    if (o->wb_len + more <= o->wb_cap) return 0;
    size_t nc = o->wb_cap ? o->wb_cap : 64 * 1024;
    while (nc < o->wb_len + more)
        nc *= 2;
    char *b = realloc(o->wb, nc);
    if (!b) return -1;
    o->wb = b;
    o->wb_cap = nc;
    return 0;
}

/* Decimal digits of v at p (no NUL); returns the length. */
static size_t put_u64(char *p, uint64_t v)
{
    char t[20];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    for (size_t i = 0; i < n; i++)
        p[i] = t[n - 1 - i];
    return n;
}

/* "$<len>\r\n" */
static size_t put_bulk_len(char *p, size_t len)
{
    p[0] = '$';
    size_t n = 1 + put_u64(p + 1, len);
    p[n++] = '\r';
    p[n++] = '\n';
    return n;
}

/* Appends one alert's commands (RPUSH, PUBLISH, then XADD) to the batch buffer. Only
 * an XADD with `trim` (the first of each batch) carries MAXLEN ~ N: Redis spends about
 * a fifth more CPU on an XADD with MAXLEN (measured, docs/redis.md), and it trims whole
 * nodes anyway, so once per batch keeps the stream as bounded (N + one batch). */
static int build(struct oredis *o, struct spool_id id, const char *data, size_t len, int trim)
{
    size_t modes = (size_t)(o->m_list + o->m_channel + o->m_stream);
    if (wb_room(o, o->pre_list_len + o->pre_chan_len + o->pre_xtrim_len + modes * (len + 32) + 64))
        return -1;
    char *p = o->wb + o->wb_len;
    const char *pre[2] = {o->m_list ? o->pre_list : NULL, o->m_channel ? o->pre_chan : NULL};
    const size_t pl[2] = {o->pre_list_len, o->pre_chan_len};
    for (int m = 0; m < 2; m++) {
        if (!pre[m]) continue;
        memcpy(p, pre[m], pl[m]);
        p += pl[m];
        p += put_bulk_len(p, len);
        memcpy(p, data, len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    if (o->m_stream) {
        char ids[48];
        size_t il = put_u64(ids, id.ms);
        ids[il++] = '-';
        il += put_u64(ids + il, id.seq);
        memcpy(p, trim ? o->pre_xtrim : o->pre_xadd, trim ? o->pre_xtrim_len : o->pre_xadd_len);
        p += trim ? o->pre_xtrim_len : o->pre_xadd_len;
        p += put_bulk_len(p, il);
        memcpy(p, ids, il);
        p += il;
        memcpy(p, "\r\n$5\r\nalert\r\n", 13);
        p += 13;
        p += put_bulk_len(p, len);
        memcpy(p, data, len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    o->wb_len = (size_t)(p - o->wb);
    return 0;
}

/* Reads replies until at most `keep` alerts await theirs. An alert is confirmed when
 * every mode's reply for it (and for everything before it) was read without error.
 * Returns 0, or -1 after a failure (disconnected). */
static int collect(struct oredis *o, uint32_t keep)
{
    int modes = o->m_list + o->m_channel + o->m_stream;
    while (o->pend_n > keep) {
        int ok = 1;
        for (int m = 0; m < modes; m++) {
            void *rv = NULL;
            if (redisGetReply(o->c, &rv) != REDIS_OK) goto io;
            redisReply *r = rv;
            int is_xadd = o->m_stream && m == modes - 1;
            if (r->type == REDIS_REPLY_ERROR) {
                if (is_xadd && strstr(r->str, "equal or smaller")) {
                    o->st.duplicates++;
                } else {
                    ok = 0;
                    if (!o->pend_why[0]) snprintf(o->pend_why, sizeof(o->pend_why), "%s", r->str);
                }
            }
            freeReplyObject(r);
        }
        if (!ok) o->pend_bad = 1;
        if (!o->pend_bad) { /* confirmed, and everything before it */
            o->acked = o->inflight[o->pend_head];
            o->resume = o->acked;
            o->st.delivered++;
        }
        o->pend_head = (o->pend_head + 1) % o->pend_cap;
        o->pend_n--;
    }
    if (o->pend_bad) { /* what is still unread is resent after the stream's top */
        char why[200];
        snprintf(why, sizeof(why), "%s", o->pend_why);
        o->pend_why[0] = '\0';
        disconnect(o, "error reply", why);
        return -1;
    }
    return 0;
io:
    disconnect(o, "I/O error", o->c->errstr[0] ? o->c->errstr : "connection lost");
    return -1;
}

/* Sends up to `batch` alerts from the spool cursor as one pipelined write, then reads
 * the replies of the batch before it: one batch is always on its way while the next
 * is built, so Redis and the sensor work at the same time. Returns the number sent,
 * 0 when caught up (every reply read), -1 after a failure (disconnected). */
static int send_batch(struct oredis *o)
{
    uint32_t n = 0;
    struct spool_id id;
    const char *data;
    size_t len;
    int caught_up = 0;
    o->wb_len = 0;
    while (n < o->batch) {
        if (!spool_next(o->sp, &id, &data, &len)) {
            caught_up = 1;
            break;
        }
        if (spool_id_cmp(id, o->resume) <= 0) continue; /* Redis has it already */
        if (build(o, id, data, len, n == 0) != 0) {
            disconnect(o, "out of memory", NULL);
            return -1;
        }
        if (spool_id_cmp(id, o->replay_upto) <= 0) o->st.replayed++;
        o->inflight[(o->pend_head + o->pend_n + n) % o->pend_cap] = id;
        n++;
    }
    if (n) {
        if (redisAppendFormattedCommand(o->c, o->wb, o->wb_len) != REDIS_OK) goto io;
        int done = 0;
        while (!done)
            if (redisBufferWrite(o->c, &done) != REDIS_OK) goto io;
        o->pend_n += n;
    }
    if (collect(o, caught_up ? 0 : n) != 0) return -1;
    if (caught_up) {
        o->oldest_unsent_ms = 0;
        o->unsent = 0;
    } else {
        o->unsent = o->unsent > n ? o->unsent - n : 0;
    }
    return (int)n;
io:
    disconnect(o, "I/O error", o->c->errstr[0] ? o->c->errstr : "connection lost");
    return -1;
}

static void heartbeat(struct oredis *o)
{
    if (o->pend_n && collect(o, 0) != 0) return; /* the alerts' replies come first */
    struct spool_stats ss;
    spool_get_stats(o->sp, &ss);
    char v[10][24];
    uint64_t nums[10] = {o->ctr.packets,  o->ctr.drops,    o->ctr.flows,
                         o->st.alerts,    o->st.delivered, ss.bytes,
                         ss.dropped_full, o->st.errors,    (mono_ms() - o->start_ms) / 1000,
                         o->st.replayed};
    const char *names[10] = {"packets",          "drops",          "flows",         "alerts",
                             "alerts_delivered", "spool_bytes",    "spool_dropped", "redis_errors",
                             "uptime",           "alerts_replayed"};
    const char *argv[2 + 2 * 10 + 2];
    int argc = 0;
    argv[argc++] = "HSET";
    argv[argc++] = o->k_hb;
    for (int i = 0; i < 10; i++) {
        snprintf(v[i], sizeof(v[i]), "%" PRIu64, nums[i]);
        argv[argc++] = names[i];
        argv[argc++] = v[i];
    }
    argv[argc++] = "version";
    argv[argc++] = OTS_VERSION;
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%u", 3 * (o->hb_ms ? o->hb_ms / 1000 : 5));
    const char *ex[] = {"EXPIRE", o->k_hb, ttl};
    if (append(o, argc, argv, NULL) || append(o, 3, ex, NULL)) goto io;
    for (int i = 0; i < 2; i++) {
        void *r = NULL;
        if (redisGetReply(o->c, &r) != REDIS_OK) goto io;
        int err = ((redisReply *)r)->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (err) o->st.errors++;
    }
    return;
io:
    disconnect(o, "I/O error", o->c->errstr[0] ? o->c->errstr : "connection lost");
}

static void send_due(struct oredis *o, int drain, uint64_t until)
{
    while (live(o) && o->oldest_unsent_ms) {
        uint64_t now = mono_ms();
        if (!drain && o->unsent < o->batch && now - o->oldest_unsent_ms < o->flush_ms) break;
        if (send_batch(o) <= 0 || now >= until) break;
    }
}

void oredis_poll(struct oredis *o)
{
    uint64_t now = mono_ms();
    spool_sync(o->sp, now);
    if (!o->c && now >= o->next_try_ms) start_connect(o);
    if (o->c && o->connecting) check_connect(o, 0);
    send_due(o, 0, now + POLL_BUDGET_MS);
    if (live(o) && o->pend_n && !o->oldest_unsent_ms) collect(o, 0);
    if (live(o) && o->hb_ms && now - o->last_hb_ms >= o->hb_ms) {
        o->last_hb_ms = now;
        heartbeat(o);
    }
    /* trim what Redis confirmed at least keep_ms ago */
    if (now >= o->trim_at_ms) {
        spool_trim(o->sp, o->trim_cand);
        if (spool_id_cmp(o->trim_cand, o->trimmed) > 0) o->trimmed = o->trim_cand;
        o->trim_cand = o->acked;
        o->trim_at_ms = now + o->keep_ms;
    }
}

void oredis_set_counters(struct oredis *o, const struct oredis_counters *c)
{
    o->ctr = *c;
}

void oredis_get_stats(const struct oredis *o, struct oredis_stats *st)
{
    *st = o->st;
    st->connected = live(o);
    spool_get_stats(o->sp, &st->spool);
}

void oredis_drain(struct oredis *o, uint32_t budget_ms)
{
    uint64_t until = mono_ms() + budget_ms;
    spool_sync(o->sp, mono_ms());
    if (!live(o)) connect_blocking(o);
    send_due(o, 1, until);
    if (live(o) && o->hb_ms) heartbeat(o);
    if (live(o) && !o->oldest_unsent_ms && !o->m_stream)
        spool_trim(o->sp, o->acked); /* no stream top to dedupe against next time */
    if (o->oldest_unsent_ms)
        log_warn("Redis %s: alerts it has not confirmed stay in the spool %s for the next "
                 "start",
                 o->where, o->spool_dir);
}

int oredis_asset(struct oredis *o, const char *id, const char *const *fields,
                 const char *const *values, int n, uint64_t score_ms, int wait)
{
    if (!live(o) && wait) connect_blocking(o);
    if (!live(o) || n > 16) return -1;
    /* <prefix>:sensors without its last part is the prefix */
    size_t plen = strlen(o->k_sensors) - strlen(":sensors");
    char key[800], zkey[800], score[24];
    snprintf(key, sizeof(key), "%.*s:%s:asset:%s", (int)plen, o->k_sensors, o->sensor, id);
    snprintf(zkey, sizeof(zkey), "%.*s:%s:assets", (int)plen, o->k_sensors, o->sensor);
    snprintf(score, sizeof(score), "%" PRIu64, score_ms);
    const char *argv[2 + 2 * 16];
    int argc = 0;
    argv[argc++] = "HSET";
    argv[argc++] = key;
    for (int i = 0; i < n; i++) {
        argv[argc++] = fields[i];
        argv[argc++] = values[i];
    }
    const char *z[] = {"ZADD", zkey, score, key};
    if (append(o, argc, argv, NULL) || append(o, 4, z, NULL)) goto io;
    int err = 0;
    for (int i = 0; i < 2; i++) {
        void *r = NULL;
        if (redisGetReply(o->c, &r) != REDIS_OK) goto io;
        err |= ((redisReply *)r)->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
    }
    if (err) o->st.errors++;
    return err ? -1 : 0;
io:
    disconnect(o, "I/O error", o->c->errstr[0] ? o->c->errstr : "connection lost");
    return -1;
}

void oredis_close(struct oredis *o)
{
    if (!o) return;
    if (o->c) redisFree(o->c);
    spool_close(o->sp);
    free_bufs(o);
    free(o);
}
