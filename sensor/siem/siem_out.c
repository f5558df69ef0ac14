/* siem_out.c - see siem_out.h. */
#include "siem_out.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The largest UDP payload over IPv4; longer syslog messages are cut (and counted). */
#define UDP_MAX 65507

int siem_out_parse(struct siem_out *o, const char *spec, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    const char *rest = NULL;
    if (!strncmp(spec, "udp://", 6))
        o->kind = SIEM_OUT_UDP, rest = spec + 6;
    else if (!strncmp(spec, "tcp://", 6))
        o->kind = SIEM_OUT_TCP, rest = spec + 6;
    if (!rest) {
        if (!spec[0] || strlen(spec) >= sizeof(o->path)) {
            snprintf(err, errlen, "--output: empty or too long file name");
            return -1;
        }
        o->kind = SIEM_OUT_FILE;
        strcpy(o->path, spec);
        return 0;
    }
    const char *hs = rest, *he, *colon;
    if (*rest == '[') {
        hs = rest + 1;
        he = strchr(hs, ']');
        colon = he && he[1] == ':' ? he + 1 : NULL;
    } else {
        colon = strrchr(rest, ':');
        he = colon;
    }
    if (!he || !colon || he == hs || (size_t)(he - hs) >= sizeof(o->host)) {
        snprintf(err, errlen, "--output '%s': expected udp://host:port or tcp://host:port", spec);
        return -1;
    }
    memcpy(o->host, hs, (size_t)(he - hs));
    o->host[he - hs] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535 || colon[1] == '\0') {
        snprintf(err, errlen, "--output '%s': the port must be a number from 1 to 65535", spec);
        return -1;
    }
    snprintf(o->port, sizeof(o->port), "%ld", port);
    return 0;
}

static int net_open(struct siem_out *o, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = o->kind == SIEM_OUT_TCP ? SOCK_STREAM : SOCK_DGRAM;
    int rc = getaddrinfo(o->host, o->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s:%s: %s", o->host, o->port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        /* a receiver that stops reading must not stall us forever (applies to connect too) */
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        /* UDP is connected too, so send() needs no address; ICMP errors are ignored below */
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        snprintf(err, errlen, "%s:%s: %s", o->host, o->port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return -1;
    o->fd = fd;
    return 0;
}

int siem_out_open(struct siem_out *o, char *err, size_t errlen)
{
    sbuf_reset(&o->pend);
    if (o->kind != SIEM_OUT_FILE) return net_open(o, err, errlen);
    if (!strcmp(o->path, "-")) {
        o->f = stdout;
        return 0;
    }
    o->f = fopen(o->path, "a+e");
    if (!o->f) {
        snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
        return -1;
    }
    /* A crash mid-write can leave a torn last line; its alerts were not acknowledged and
     * come again, so end the torn line here rather than glue the next record to it. */
    if (fseek(o->f, -1, SEEK_END) == 0) {
        int last = fgetc(o->f);
        fseek(o->f, 0, SEEK_END);
        if (last != '\n' && last != EOF) {
            fprintf(stderr,
                    "otsensor-siem: %s did not end with a newline (a record torn by a "
                    "crash; it is sent again): ended it\n",
                    o->path);
            if (fputc('\n', o->f) == EOF || fflush(o->f) != 0) {
                snprintf(err, errlen, "%s: write: %s", o->path, strerror(errno));
                fclose(o->f);
                o->f = NULL;
                return -1;
            }
        }
    }
    return 0;
}

static int send_all(struct siem_out *o, const char *p, size_t n, char *err, size_t errlen)
{
    while (n) {
        ssize_t w = send(o->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, errlen, "%s:%s: send: %s", o->host, o->port,
                     w < 0 ? strerror(errno) : "nothing sent");
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int siem_out_write(struct siem_out *o, const char *rec, size_t n, char *err, size_t errlen)
{
    switch (o->kind) {
    case SIEM_OUT_FILE:
        /* the batch goes to the file in one fwrite at the flush, so a crash seldom
         * leaves half of it (stdio alone would write every 4 KiB) */
        sbuf_put(&o->pend, rec, n);
        sbuf_putc(&o->pend, '\n');
        if (o->pend.oom) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (o->pend.len >= 256 * 1024) return siem_out_flush(o, err, errlen);
        return 0;
    case SIEM_OUT_UDP:
        if (n > UDP_MAX) {
            n = UDP_MAX;
            o->truncated++;
        }
        for (int tries = 0;; tries++) {
            ssize_t w = send(o->fd, rec, n, MSG_NOSIGNAL);
            if (w >= 0) return 0;
            /* a port-unreachable from an earlier datagram: UDP syslog has no receipt, so
             * it does not make this one fail */
            if ((errno == ECONNREFUSED || errno == EINTR) && tries < 3) continue;
            snprintf(err, errlen, "%s:%s: send: %s", o->host, o->port, strerror(errno));
            return -1;
        }
    case SIEM_OUT_TCP:
        if (o->octet_count) sbuf_printf(&o->pend, "%zu ", n);
        sbuf_put(&o->pend, rec, n);
        if (!o->octet_count) sbuf_putc(&o->pend, '\n');
        if (o->pend.oom) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        /* keep batches moderate: send once 256 KiB wait */
        if (o->pend.len >= 256 * 1024) return siem_out_flush(o, err, errlen);
        return 0;
    }
    return -1;
}

int siem_out_flush(struct siem_out *o, char *err, size_t errlen)
{
    switch (o->kind) {
    case SIEM_OUT_FILE: {
        size_t n = o->pend.len;
        int bad = n && fwrite(o->pend.buf, 1, n, o->f) != n;
        sbuf_reset(&o->pend);
        if (bad || fflush(o->f) != 0) {
            snprintf(err, errlen, "%s: write: %s", o->path, strerror(errno));
            return -1;
        }
        return 0;
    }
    case SIEM_OUT_UDP: return 0;
    case SIEM_OUT_TCP: {
        int rc = send_all(o, o->pend.buf, o->pend.len, err, errlen);
        sbuf_reset(&o->pend);
        return rc;
    }
    }
    return -1;
}

void siem_out_close(struct siem_out *o)
{
    if (o->f && o->f != stdout) fclose(o->f);
    o->f = NULL;
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    sbuf_reset(&o->pend);
}
