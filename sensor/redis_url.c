/* redis_url.c - see redis_url.h. */
#include "redis_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Copies s[0..n) into out, decoding %XX; -1 on a bad escape, a NUL or no room. */
static int pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return -1;
            c = h * 16 + l;
            i += 2;
            if (c == 0) return -1;
        }
        if (o + 1 >= outlen) return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* A whole decimal number in [lo, hi] from s[0..n). */
static int parse_num(const char *s, size_t n, long lo, long hi, int *out)
{
    if (n == 0 || n > 9) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int redis_url_parse(const char *s, struct redis_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (!s[0] || !strcmp(s, "none")) {
        u->kind = REDIS_URL_NONE;
        return 0;
    }
    if (!strncmp(s, "rediss://", 9)) {
        snprintf(err, errlen,
                 "redis: TLS (rediss://) is not supported by hiredis 0.14; use a local stunnel "
                 "or a local replica (see docs/redis.md)");
        return -1;
    }
    if (!strncmp(s, "unix:", 5)) {
        const char *p = s + 5;
        /* unix:///path is the same socket as unix:/path */
        if (!strncmp(p, "//", 2)) p += 2;
        if (p[0] != '/') {
            snprintf(err, errlen, "redis: '%s': a unix socket path must be absolute (unix:/path)",
                     s);
            return -1;
        }
        if (strlen(p) >= sizeof(u->path) || strlen(p) >= 108) {
            snprintf(err, errlen, "redis: unix socket path is too long (at most 107 bytes)");
            return -1;
        }
        strcpy(u->path, p);
        u->kind = REDIS_URL_UNIX;
        return 0;
    }
    if (strncmp(s, "redis://", 8) != 0) {
        snprintf(err, errlen,
                 "redis: '%s' is not redis://[user:password@]host[:port][/db], unix:/path or none",
                 s);
        return -1;
    }
    const char *p = s + 8;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    /* credentials: the last '@' before the path (a password may hold an escaped '@') */
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@') at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ul = colon ? (size_t)(colon - p) : (size_t)(at - p);
        if (pct_decode(p, ul, u->user, sizeof(u->user)) != 0) {
            snprintf(err, errlen, "redis: bad user name in URL (too long or bad %%-escape)");
            return -1;
        }
        if (colon) {
            if (pct_decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof(u->password)) !=
                0) {
                snprintf(err, errlen, "redis: bad password in URL (too long or bad %%-escape)");
                return -1;
            }
            u->has_password = u->password[0] != '\0';
        }
        p = at + 1;
    }
    /* host, [v6] or plain, then :port */
    const char *hend, *portp = NULL;
    const char *hstart = p;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb) {
            snprintf(err, errlen, "redis: '%s': missing ']' after an IPv6 address", s);
            return -1;
        }
        hstart = p + 1;
        hend = rb;
        if (rb + 1 < end) {
            if (rb[1] != ':') {
                snprintf(err, errlen, "redis: '%s': expected ':port' after ']'", s);
                return -1;
            }
            portp = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        hend = colon ? colon : end;
        if (colon) portp = colon + 1;
    }
    size_t hl = (size_t)(hend - hstart);
    if (hl == 0) {
        snprintf(err, errlen, "redis: '%s': no host", s);
        return -1;
    }
    if (hl >= sizeof(u->host)) {
        snprintf(err, errlen, "redis: host name is too long");
        return -1;
    }
    memcpy(u->host, hstart, hl);
    u->host[hl] = '\0';
    if (portp && parse_num(portp, (size_t)(end - portp), 1, 65535, &u->port) != 0) {
        snprintf(err, errlen, "redis: '%s': the port must be a number from 1 to 65535", s);
        return -1;
    }
    if (slash && slash[1] && parse_num(slash + 1, strlen(slash + 1), 0, 1000000, &u->db) != 0) {
        snprintf(err, errlen, "redis: '%s': the database after '/' must be a number", s);
        return -1;
    }
    u->kind = REDIS_URL_TCP;
    return 0;
}

int redis_password_file_read(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read the Redis password: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    size_t n = ok ? strlen(line) : 0;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                 line[n - 1] == '\t'))
        line[--n] = '\0';
    if (!n) {
        snprintf(err, errlen, "%s: the Redis password file is empty", path);
        return -1;
    }
    if (n >= outlen) {
        snprintf(err, errlen, "%s: the Redis password is longer than %zu bytes", path, outlen - 1);
        return -1;
    }
    memcpy(out, line, n + 1);
    return 0;
}

void redis_url_describe(const struct redis_url *u, char *out, size_t outlen)
{
    switch (u->kind) {
    case REDIS_URL_TCP:
        if (strchr(u->host, ':'))
            snprintf(out, outlen, "[%s]:%d/%d", u->host, u->port, u->db);
        else
            snprintf(out, outlen, "%s:%d/%d", u->host, u->port, u->db);
        break;
    case REDIS_URL_UNIX: snprintf(out, outlen, "unix:%s", u->path); break;
    default: snprintf(out, outlen, "none"); break;
    }
}
