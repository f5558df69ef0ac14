/* jbuf.h - a fixed buffer for writing JSON text; overflow is sticky and checked once. */
#ifndef OTS_JBUF_H
#define OTS_JBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "event.h"

struct jbuf {
    char *buf;
    size_t cap, len;
    int overflow;
};

void jbuf_init(struct jbuf *j, char *buf, size_t cap);
/* Inline: alerts and events are written a few bytes at a time (millions of calls on a
 * busy sensor); a literal's strlen and memcpy then fold into a few moves. */
static inline void jbuf_put(struct jbuf *j, const char *s, size_t n)
{
    if (j->overflow || j->cap - j->len < n + 1) {
        j->overflow = 1;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}
static inline void jbuf_puts(struct jbuf *j, const char *s)
{
    jbuf_put(j, s, strlen(s));
}
static inline void jbuf_putc(struct jbuf *j, char c)
{
    jbuf_put(j, &c, 1);
}
void jbuf_u64(struct jbuf *j, uint64_t v);
void jbuf_i64(struct jbuf *j, int64_t v);
void jbuf_double(struct jbuf *j, double v);
/* A JSON string: escapes control characters, quotes, backslashes and bytes that
 * are not valid UTF-8 (as \u00XX), so hostile bytes always yield valid JSON. */
void jbuf_str(struct jbuf *j, const char *s, size_t n);
void jbuf_hex(struct jbuf *j, const uint8_t *b, size_t n);
void jbuf_ts(struct jbuf *j, uint64_t ts_us);
void jbuf_ip(struct jbuf *j, const struct ev_addr *a);
void jbuf_mac(struct jbuf *j, const uint8_t *m);
/* An event's protocol fields as the body of one JSON object (no braces): the same
 * text in --events and in an alert's ot.<proto>. */
void jbuf_event_fields(struct jbuf *j, const struct event *e);
/* The common network fields of an event, without braces. */
void jbuf_net(struct jbuf *j, const struct ev_net *n);
static inline int jbuf_ok(const struct jbuf *j)
{
    return !j->overflow;
}

#endif
