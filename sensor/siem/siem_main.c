/* siem_main.c - otsensor-siem: reads the alert streams as a consumer-group member and
 * forwards each alert to a SIEM as CEF, RFC 5424 syslog or a JSON line.
 *
 * Delivery is at least once: an entry is XACKed only after the output accepted it
 * (siem_out.h); entries read but not acknowledged (a crash, a lost output) are read
 * again from this consumer's pending list at the next start or reconnect, and those of
 * a consumer that died for good are taken over with XAUTOCLAIM. docs/siem.md. */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis_url.h"
#include "siem_format.h"
#include "siem_out.h"
#include "sjson.h"

#define MAX_STREAMS 256
#define TOK_MAX     65536 /* a 128 KiB alert cannot hold more */

struct siem_cfg {
    char redis[1024];
    char password[256];
    char password_file[512];
    char prefix[128];
    char sensors[2048]; /* comma-separated; empty: SMEMBERS prefix:sensors */
    char group[128];
    char consumer[128];
    enum siem_format format;
    struct siem_fmt_opts fmt;
    char output[1024];
    char start[64]; /* where a new group starts: "0" (all kept) or "$" (new only) */
    long count, block_ms, min_idle_ms, claim_interval, backoff_max_ms, delay_us;
    int once;
};

struct siem_stats {
    unsigned long read, written, acked, claimed, bad, trimmed, redis_errors, output_errors;
};

static volatile sig_atomic_t stop_flag;
static struct siem_cfg cfg;
static struct siem_stats st;
static struct siem_out sout;
static struct redis_url url;
static char keys[MAX_STREAMS][256];
static int nkeys;
static struct sbuf rec;
static struct sjson_tok toks[TOK_MAX];

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("otsensor-siem: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: otsensor-siem [options]\n"
            "  -r, --redis URL          redis://[user:password@]host[:port][/db] | unix:/path\n"
            "                           (default redis://127.0.0.1:6379)\n"
            "  -c, --config FILE        key = value file with any long option below, e.g.\n"
            "                           password_file = /etc/otsensor/redis.pw\n"
            "  -s, --sensor NAME[,...]  stream(s) PREFIX:alerts:NAME (default: every member\n"
            "                           of PREFIX:sensors, re-read every --claim-interval)\n"
            "      --prefix P           key prefix (default otsensor)\n"
            "  -g, --group NAME         consumer group (default siem)\n"
            "  -C, --consumer NAME      this member's name (default: the host name); keep it\n"
            "                           stable so a restart gets back its pending alerts\n"
            "  -f, --format F           cef | syslog | json (default json)\n"
            "      --syslog-msg M       syslog MSG: json | cef (default json)\n"
            "      --facility N         syslog facility 0..23 (default 16, local0)\n"
            "  -o, --output OUT         - | FILE | udp://host:port | tcp://host:port (default -)\n"
            "      --start ID           where a new group starts: 0 (all) or $ (new only)\n"
            "      --count N            entries per read (default 100)\n"
            "      --block-ms N         XREADGROUP BLOCK (default 2000)\n"
            "      --min-idle-ms N      take over another member's pending entries idle this\n"
            "                           long (XAUTOCLAIM; default 60000)\n"
            "      --claim-interval S   how often to look for them (default 30)\n"
            "      --backoff-max-ms N   reconnect backoff cap (default 30000)\n"
            "      --once               read everything there is, then exit (tests, batch use)\n"
            "  -h, --help\n"
            "  -V, --version\n"
            "The password never has to be on the command line: put it in a file named by\n"
            "password_file in --config (or password = ... in that file).\n");
}

static int set_long(const char *name, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi) {
        logmsg("%s: '%s' is not a number from %ld to %ld", name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int set_str(const char *name, const char *v, char *dst, size_t size)
{
    if (strlen(v) >= size) {
        logmsg("%s: value too long (at most %zu bytes)", name, size - 1);
        return -1;
    }
    strcpy(dst, v);
    return 0;
}

/* One option by its long name, from the command line or the config file. */
static int set_opt(const char *name, const char *v)
{
    long x;
    if (!strcmp(name, "redis")) return set_str(name, v, cfg.redis, sizeof(cfg.redis));
    if (!strcmp(name, "password")) return set_str(name, v, cfg.password, sizeof(cfg.password));
    if (!strcmp(name, "password_file") || !strcmp(name, "password-file"))
        return set_str(name, v, cfg.password_file, sizeof(cfg.password_file));
    if (!strcmp(name, "prefix")) return set_str(name, v, cfg.prefix, sizeof(cfg.prefix));
    if (!strcmp(name, "sensor")) return set_str(name, v, cfg.sensors, sizeof(cfg.sensors));
    if (!strcmp(name, "group")) return set_str(name, v, cfg.group, sizeof(cfg.group));
    if (!strcmp(name, "consumer")) return set_str(name, v, cfg.consumer, sizeof(cfg.consumer));
    if (!strcmp(name, "output")) return set_str(name, v, cfg.output, sizeof(cfg.output));
    if (!strcmp(name, "start")) return set_str(name, v, cfg.start, sizeof(cfg.start));
    if (!strcmp(name, "format")) {
        if (!strcmp(v, "json"))
            cfg.format = SIEM_FMT_JSON;
        else if (!strcmp(v, "cef"))
            cfg.format = SIEM_FMT_CEF;
        else if (!strcmp(v, "syslog"))
            cfg.format = SIEM_FMT_SYSLOG;
        else
            return logmsg("format: '%s' is not cef, syslog or json", v), -1;
        return 0;
    }
    if (!strcmp(name, "syslog-msg") || !strcmp(name, "syslog_msg")) {
        if (!strcmp(v, "json"))
            cfg.fmt.msg = SIEM_MSG_JSON;
        else if (!strcmp(v, "cef"))
            cfg.fmt.msg = SIEM_MSG_CEF;
        else
            return logmsg("syslog-msg: '%s' is not json or cef", v), -1;
        return 0;
    }
    if (!strcmp(name, "facility")) {
        if (set_long(name, v, 0, 23, &x) != 0) return -1;
        cfg.fmt.facility = (int)x;
        return 0;
    }
    if (!strcmp(name, "count")) return set_long(name, v, 1, 100000, &cfg.count);
    if (!strcmp(name, "block-ms") || !strcmp(name, "block_ms"))
        return set_long(name, v, 1, 600000, &cfg.block_ms);
    if (!strcmp(name, "min-idle-ms") || !strcmp(name, "min_idle_ms"))
        return set_long(name, v, 0, 86400000, &cfg.min_idle_ms);
    if (!strcmp(name, "claim-interval") || !strcmp(name, "claim_interval"))
        return set_long(name, v, 1, 86400, &cfg.claim_interval);
    if (!strcmp(name, "backoff-max-ms") || !strcmp(name, "backoff_max_ms"))
        return set_long(name, v, 10, 3600000, &cfg.backoff_max_ms);
    if (!strcmp(name, "delay-us")) return set_long(name, v, 0, 10000000, &cfg.delay_us);
    logmsg("unknown option '%s'", name);
    return -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int load_config(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        logmsg("%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int ln = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        ln++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            logmsg("%s:%d: expected key = value", path, ln);
            rc = -1;
            break;
        }
        *eq = '\0';
        if (set_opt(trim(s), trim(eq + 1)) != 0) {
            logmsg("%s:%d: bad line", path, ln);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms, waking early on a signal. */
static void nap(long ms)
{
    while (ms > 0 && !stop_flag) {
        long step = ms > 100 ? 100 : ms;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* ---- Redis ------------------------------------------------------------------------- */

static redisContext *rc_connect(char *err, size_t errlen)
{
    struct timeval tv = {2, 0};
    redisContext *c = url.kind == REDIS_URL_UNIX ? redisConnectUnixWithTimeout(url.path, tv)
                                                 : redisConnectWithTimeout(url.host, url.port, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "connect: %s", c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    /* replies may take the whole BLOCK time, plus a margin */
    struct timeval rt = {(cfg.block_ms + 5000) / 1000, ((cfg.block_ms + 5000) % 1000) * 1000};
    redisSetTimeout(c, rt);
    redisReply *r = NULL;
    if (url.has_password) {
        if (url.user[0])
            r = redisCommand(c, "AUTH %s %s", url.user, url.password);
        else
            r = redisCommand(c, "AUTH %s", url.password);
        if (!r || r->type == REDIS_REPLY_ERROR) goto fail;
        freeReplyObject(r);
    }
    if (url.db) {
        r = redisCommand(c, "SELECT %d", url.db);
        if (!r || r->type == REDIS_REPLY_ERROR) goto fail;
        freeReplyObject(r);
    }
    return c;
fail:
    snprintf(err, errlen, "%s", r ? r->str : c->errstr);
    if (r) freeReplyObject(r);
    redisFree(c);
    return NULL;
}

/* An error reply or a lost connection: NULL, with the reason logged once per change. */
static redisReply *cmd_check(redisContext *c, redisReply *r, const char *what)
{
    static char last[256];
    char why[256];
    if (r && r->type != REDIS_REPLY_ERROR) return r;
    snprintf(why, sizeof(why), "%s: %s", what, r ? r->str : c->errstr);
    if (strcmp(why, last) != 0) logmsg("redis: %s", why);
    snprintf(last, sizeof(last), "%s", why);
    st.redis_errors++;
    if (r) freeReplyObject(r);
    return NULL;
}

/* The streams to read: --sensor, or every member of PREFIX:sensors. 0 or -1. */
static int discover(redisContext *c)
{
    char names[sizeof(cfg.sensors)];
    int n = 0;
    if (cfg.sensors[0]) {
        strcpy(names, cfg.sensors);
        for (char *save = NULL, *t = strtok_r(names, ",", &save); t && n < MAX_STREAMS;
             t = strtok_r(NULL, ",", &save))
            snprintf(keys[n++], sizeof(keys[0]), "%s:alerts:%s", cfg.prefix, trim(t));
        nkeys = n;
        return 0;
    }
    redisReply *r = cmd_check(c, redisCommand(c, "SMEMBERS %s:sensors", cfg.prefix), "SMEMBERS");
    if (!r) return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && n < MAX_STREAMS; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            snprintf(keys[n++], sizeof(keys[0]), "%s:alerts:%s", cfg.prefix, r->element[i]->str);
    freeReplyObject(r);
    if (n != nkeys) logmsg("reading %d stream(s) listed in %s:sensors", n, cfg.prefix);
    nkeys = n;
    return 0;
}

static int ensure_groups(redisContext *c)
{
    for (int i = 0; i < nkeys; i++) {
        redisReply *r =
            redisCommand(c, "XGROUP CREATE %s %s %s MKSTREAM", keys[i], cfg.group, cfg.start);
        if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "BUSYGROUP", 9)) {
            freeReplyObject(r);
            continue;
        }
        r = cmd_check(c, r, "XGROUP CREATE");
        if (!r) return -1;
        freeReplyObject(r);
    }
    return 0;
}

/* ---- one batch --------------------------------------------------------------------- */

enum { OK = 0, ERR_REDIS = -1, ERR_OUTPUT = -2 };

/* Formats one entry into rec. fields may be NULL (the entry was trimmed from the stream
 * while it was pending). Returns 1 if rec holds a record, 0 if there is nothing to write. */
static int format_entry(const char *key, const char *id, const redisReply *fields)
{
    sbuf_reset(&rec);
    if (!fields || fields->type != REDIS_REPLY_ARRAY) {
        st.trimmed++;
        logmsg("%s %s: entry was trimmed from the stream before it was forwarded: LOST", key, id);
        return 0;
    }
    const redisReply *alert = NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            !strcmp(fields->element[i]->str, "alert") &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            alert = fields->element[i + 1];
    char why[128];
    struct sjson d;
    if (!alert) {
        snprintf(why, sizeof(why), "no 'alert' field");
    } else if (sjson_parse(&d, alert->str, alert->len, toks, TOK_MAX, why, sizeof(why)) != 0) {
    } else if (d.tok[0].type != SJ_OBJ) {
        snprintf(why, sizeof(why), "the alert is not a JSON object");
    } else {
        switch (cfg.format) {
        case SIEM_FMT_JSON: siem_format_json(&rec, alert->str, alert->len); break;
        case SIEM_FMT_CEF: siem_format_cef(&rec, &d, id); break;
        case SIEM_FMT_SYSLOG:
            siem_format_syslog(&rec, &d, alert->str, alert->len, id, &cfg.fmt);
            break;
        }
        return 1;
    }
    st.bad++;
    logmsg("%s %s: not a readable alert (%s); forwarded as otsensor.siem.bad_alert", key, id, why);
    siem_format_bad(&rec, cfg.format, &cfg.fmt, alert ? alert->str : "", alert ? alert->len : 0, id,
                    why);
    return 1;
}

/* Writes every entry of one stream's reply to the output, flushes it, then XACKs them. */
static int handle_entries(redisContext *c, const char *key, const redisReply *entries, char *lastid,
                          size_t lastlen)
{
    if (!entries || entries->type != REDIS_REPLY_ARRAY || !entries->elements) return OK;
    size_t n = entries->elements;
    const char **argv = calloc(n + 3, sizeof(*argv));
    size_t *argl = calloc(n + 3, sizeof(*argl));
    int rc = OK;
    char err[512];
    if (!argv || !argl) {
        rc = ERR_OUTPUT;
        goto out;
    }
    argv[0] = "XACK";
    argv[1] = key;
    argv[2] = cfg.group;
    size_t na = 3;
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        const char *id = e->element[0]->str;
        st.read++;
        if (format_entry(key, id, e->elements > 1 ? e->element[1] : NULL)) {
            if (rec.oom) {
                logmsg("out of memory formatting %s %s", key, id);
                rc = ERR_OUTPUT;
                goto out;
            }
            if (siem_out_write(&sout, rec.buf, rec.len, err, sizeof(err)) != 0) {
                logmsg("output: %s", err);
                st.output_errors++;
                rc = ERR_OUTPUT;
                goto out;
            }
            st.written++;
            if (cfg.delay_us) usleep((useconds_t)cfg.delay_us);
        }
        argv[na] = id;
        argl[na] = e->element[0]->len;
        na++;
        if (lastid) snprintf(lastid, lastlen, "%s", id);
    }
    /* the output has them: only now may Redis forget them */
    if (siem_out_flush(&sout, err, sizeof(err)) != 0) {
        logmsg("output: %s", err);
        st.output_errors++;
        rc = ERR_OUTPUT;
        goto out;
    }
    for (size_t i = 0; i < 3; i++)
        argl[i] = strlen(argv[i]);
    if (na > 3) {
        redisReply *r = cmd_check(c, redisCommandArgv(c, (int)na, argv, argl), "XACK");
        if (!r) {
            rc = ERR_REDIS;
            goto out;
        }
        if (r->type == REDIS_REPLY_INTEGER) st.acked += (unsigned long)r->integer;
        freeReplyObject(r);
    }
out:
    free(argv);
    free(argl);
    return rc;
}

/* What this consumer read before and never acknowledged (a crash, a lost output). */
static int drain_own_pending(redisContext *c)
{
    for (int k = 0; k < nkeys && !stop_flag; k++) {
        char last[64] = "0";
        for (;;) {
            redisReply *r =
                cmd_check(c,
                          redisCommand(c, "XREADGROUP GROUP %s %s COUNT %ld STREAMS %s %s",
                                       cfg.group, cfg.consumer, cfg.count, keys[k], last),
                          "XREADGROUP (pending)");
            if (!r) return ERR_REDIS;
            const redisReply *entries = NULL;
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
                entries = r->element[0]->element[1];
            int rc = handle_entries(c, keys[k], entries, last, sizeof(last));
            int done = !entries || !entries->elements;
            freeReplyObject(r);
            if (rc != OK) return rc;
            if (done) break;
        }
    }
    return OK;
}

/* Entries another member read and left idle for min-idle-ms: that member is gone. */
static int no_autoclaim;

static int autoclaim(redisContext *c)
{
    if (no_autoclaim) return OK;
    for (int k = 0; k < nkeys && !stop_flag; k++) {
        char cursor[64] = "0-0";
        do {
            redisReply *r =
                redisCommand(c, "XAUTOCLAIM %s %s %s %ld %s COUNT %ld", keys[k], cfg.group,
                             cfg.consumer, cfg.min_idle_ms, cursor, cfg.count);
            /* Redis before 6.2: no XAUTOCLAIM; say so once and live without takeover */
            if (r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "unknown command")) {
                logmsg("redis has no XAUTOCLAIM (Redis < 6.2): entries of dead consumers "
                       "are not taken over");
                freeReplyObject(r);
                no_autoclaim = 1;
                return OK;
            }
            r = cmd_check(c, r, "XAUTOCLAIM");
            if (!r) return ERR_REDIS;
            int rc = OK;
            if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
                r->element[0]->type == REDIS_REPLY_STRING) {
                snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
                const redisReply *e = r->element[1];
                if (e->type == REDIS_REPLY_ARRAY && e->elements) {
                    st.claimed += e->elements;
                    logmsg("%s: took over %zu pending alert(s) of another consumer", keys[k],
                           e->elements);
                }
                /* Redis 7 drops trimmed entries itself and lists them third */
                if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY &&
                    r->element[2]->elements) {
                    st.trimmed += r->element[2]->elements;
                    logmsg("%s: %zu pending alert(s) were trimmed from the stream before they "
                           "were forwarded: LOST",
                           keys[k], r->element[2]->elements);
                }
                rc = handle_entries(c, keys[k], e, NULL, 0);
            } else {
                strcpy(cursor, "0-0");
            }
            freeReplyObject(r);
            if (rc != OK) return rc;
        } while (strcmp(cursor, "0-0") != 0 && !stop_flag);
    }
    return OK;
}

/* One XREADGROUP of new entries on every stream. 1 if something came, 0 if not. */
static int read_new(redisContext *c)
{
    const char *argv[9 + 2 * MAX_STREAMS]; /* 9 fixed words, then keys and ids */
    char count[24], block[24];
    int a = 0;
    snprintf(count, sizeof(count), "%ld", cfg.count);
    snprintf(block, sizeof(block), "%ld", cfg.block_ms);
    argv[a++] = "XREADGROUP";
    argv[a++] = "GROUP";
    argv[a++] = cfg.group;
    argv[a++] = cfg.consumer;
    argv[a++] = "COUNT";
    argv[a++] = count;
    if (!cfg.once) {
        argv[a++] = "BLOCK";
        argv[a++] = block;
    }
    argv[a++] = "STREAMS";
    for (int k = 0; k < nkeys; k++)
        argv[a++] = keys[k];
    for (int k = 0; k < nkeys; k++)
        argv[a++] = ">";
    redisReply *r = cmd_check(c, redisCommandArgv(c, a, argv, NULL), "XREADGROUP");
    if (!r) return ERR_REDIS;
    int got = 0, rc = OK;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && rc == OK; i++) {
        const redisReply *s = r->element[i];
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[0]->type != REDIS_REPLY_STRING)
            continue;
        if (s->element[1]->type == REDIS_REPLY_ARRAY && s->element[1]->elements) got = 1;
        rc = handle_entries(c, s->element[0]->str, s->element[1], NULL, 0);
    }
    freeReplyObject(r);
    return rc != OK ? rc : got;
}

/* ---- main loop --------------------------------------------------------------------- */

static int run(void)
{
    redisContext *c = NULL;
    int out_open = 0, recover = 1, exit_rc = 0;
    long backoff = 100, last_claim = 0;
    char err[512], where[600], lasterr[512] = "";
    redis_url_describe(&url, where, sizeof(where));
    while (!stop_flag) {
        if (!c) {
            c = rc_connect(err, sizeof(err));
            if (!c) {
                st.redis_errors++;
                /* once per kind of failure, not at every retry */
                if (strcmp(err, lasterr) != 0)
                    logmsg("redis %s: %s (retrying, backoff up to %ld ms)", where, err,
                           cfg.backoff_max_ms);
                snprintf(lasterr, sizeof(lasterr), "%s", err);
                if (cfg.once) return 2;
                goto backoff;
            }
            logmsg("connected to redis %s as %s/%s", where, cfg.group, cfg.consumer);
            lasterr[0] = '\0';
            recover = 1;
        }
        if (!out_open) {
            if (siem_out_open(&sout, err, sizeof(err)) != 0) {
                st.output_errors++;
                logmsg("output: %s (retry in %ld ms)", err, backoff);
                if (cfg.once) {
                    exit_rc = 2;
                    break;
                }
                goto backoff;
            }
            out_open = 1;
            recover = 1;
        }
        int rc = OK;
        if (recover || now_ms() - last_claim >= cfg.claim_interval * 1000) {
            rc = discover(c);
            if (rc == OK) rc = ensure_groups(c);
            if (rc == OK && recover) rc = drain_own_pending(c);
            if (rc == OK) rc = autoclaim(c);
            if (rc == OK) {
                recover = 0;
                last_claim = now_ms();
            }
        }
        if (rc == OK && !nkeys) {
            if (cfg.once) {
                logmsg("no stream to read (%s:sensors is empty; or give --sensor)", cfg.prefix);
                break;
            }
            nap(cfg.block_ms);
            last_claim = 0; /* look for sensors again */
            continue;
        }
        if (rc == OK) {
            rc = read_new(c);
            if (rc == 0 && cfg.once) break; /* drained */
            if (rc >= 0) {
                backoff = 100;
                continue;
            }
        }
        if (rc == ERR_REDIS) {
            redisFree(c);
            c = NULL;
        } else if (rc == ERR_OUTPUT) {
            siem_out_close(&sout);
            out_open = 0;
        }
        if (cfg.once && rc == ERR_OUTPUT) {
            exit_rc = 2;
            break;
        }
    backoff:
        nap(backoff);
        backoff = backoff * 2 > cfg.backoff_max_ms ? cfg.backoff_max_ms : backoff * 2;
    }
    if (out_open) {
        if (siem_out_flush(&sout, err, sizeof(err)) != 0) logmsg("output: %s", err);
        siem_out_close(&sout);
    }
    if (c) redisFree(c);
    return exit_rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"redis", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"sensor", required_argument, NULL, 's'},
        {"prefix", required_argument, NULL, 0},
        {"group", required_argument, NULL, 'g'},
        {"consumer", required_argument, NULL, 'C'},
        {"format", required_argument, NULL, 'f'},
        {"syslog-msg", required_argument, NULL, 0},
        {"facility", required_argument, NULL, 0},
        {"output", required_argument, NULL, 'o'},
        {"start", required_argument, NULL, 0},
        {"count", required_argument, NULL, 0},
        {"block-ms", required_argument, NULL, 0},
        {"min-idle-ms", required_argument, NULL, 0},
        {"claim-interval", required_argument, NULL, 0},
        {"backoff-max-ms", required_argument, NULL, 0},
        /* test only, not in --help: sleep after each alert written (a slow output) */
        {"delay-us", required_argument, NULL, 0},
        {"once", no_argument, NULL, 1},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    strcpy(cfg.redis, "redis://127.0.0.1:6379");
    strcpy(cfg.prefix, "otsensor");
    strcpy(cfg.group, "siem");
    strcpy(cfg.output, "-");
    strcpy(cfg.start, "0");
    cfg.fmt.facility = 16;
    cfg.fmt.app_name = "otsensor";
    cfg.count = 100;
    cfg.block_ms = 2000;
    cfg.min_idle_ms = 60000;
    cfg.claim_interval = 30;
    cfg.backoff_max_ms = 30000;
    if (gethostname(cfg.consumer, sizeof(cfg.consumer) - 1) != 0 || !cfg.consumer[0])
        strcpy(cfg.consumer, "siem");

    /* the config file first, so the command line wins */
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            v = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9))
            v = argv[i] + 9;
        if (v && load_config(v) != 0) return 1;
    }
    int ch, li;
    while ((ch = getopt_long(argc, argv, "r:c:s:g:C:f:o:hV", opts, &li)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'r': bad = set_opt("redis", optarg); break;
        case 'c': break;
        case 's': bad = set_opt("sensor", optarg); break;
        case 'g': bad = set_opt("group", optarg); break;
        case 'C': bad = set_opt("consumer", optarg); break;
        case 'f': bad = set_opt("format", optarg); break;
        case 'o': bad = set_opt("output", optarg); break;
        case 0: bad = set_opt(opts[li].name, optarg); break;
        case 1: cfg.once = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("otsensor-siem %s\n", OTS_VERSION); return 0;
        default: usage(stderr); return 1;
        }
        if (bad) return 1;
    }
    if (optind < argc) {
        logmsg("unexpected argument '%s'", argv[optind]);
        return 1;
    }
    char err[512];
    if (redis_url_parse(cfg.redis, &url, err, sizeof(err)) != 0) {
        logmsg("%s", err);
        return 1;
    }
    if (url.kind == REDIS_URL_NONE) {
        logmsg("--redis: a Redis URL is needed");
        return 1;
    }
    if (!url.has_password && cfg.password[0]) {
        strcpy(url.password, cfg.password);
        url.has_password = 1;
    }
    if (!url.has_password && cfg.password_file[0]) {
        if (redis_password_file_read(cfg.password_file, url.password, sizeof(url.password), err,
                                     sizeof(err)) != 0) {
            logmsg("%s", err);
            return 1;
        }
        url.has_password = 1;
    }
    if (url.user[0] && !url.has_password) {
        logmsg("redis: user '%s' given with no password (URL, password or password_file)",
               url.user);
        return 1;
    }
    if (strcmp(cfg.start, "0") != 0 && strcmp(cfg.start, "$") != 0) {
        logmsg("--start: '%s' is not 0 or $", cfg.start);
        return 1;
    }
    if (siem_out_parse(&sout, cfg.output, err, sizeof(err)) != 0) {
        logmsg("%s", err);
        return 1;
    }
    sout.octet_count = cfg.format == SIEM_FMT_SYSLOG;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sbuf_init(&rec);

    int rc = run();
    logmsg("read %lu, written %lu, acknowledged %lu, claimed %lu, bad %lu, trimmed %lu, "
           "redis errors %lu, output errors %lu, udp truncated %lu",
           st.read, st.written, st.acked, st.claimed, st.bad, st.trimmed, st.redis_errors,
           st.output_errors, sout.truncated);
    sbuf_free(&rec);
    sbuf_free(&sout.pend);
    return rc;
}
