/* object.c - reassembly of transferred objects for YARA (see object.h). */
#include "object.h"

#include <stdlib.h>
#include <string.h>

#include "yara_scan.h"

void object_begin(struct ots_object *o, struct event_sink *s, const char *proto, const char *type,
                  const char *name, size_t name_len, uint32_t cap)
{
    o->len = 0;
    o->total = 0;
    o->scanned = o->truncated = o->partial = 0;
    o->nattrs = 0;
    o->active = 0;
    if (!s || !yara_worker_active(s->yara)) return;
    uint32_t max = yara_worker_limits(s->yara)->object_max;
    if (cap && cap < max) max = cap;
    if (!max) return;
    o->max = max;
    o->proto = proto;
    o->type = type;
    o->name[0] = '\0';
    o->active = 1;
    if (name) object_name(o, name, name_len);
}

void object_name(struct ots_object *o, const char *name, size_t name_len)
{
    if (!o->active || o->scanned) return;
    size_t n = name_len < sizeof(o->name) - 1 ? name_len : sizeof(o->name) - 1;
    memcpy(o->name, name, n);
    o->name[n] = '\0';
}

void object_attr(struct ots_object *o, const char *key, const char *value)
{
    if (!o->active || o->nattrs >= OBJECT_ATTRS || !value) return;
    o->attr_key[o->nattrs] = key;
    size_t n = strnlen(value, OBJECT_ATTR_SIZE - 1);
    memcpy(o->attr_val[o->nattrs], value, n);
    o->attr_val[o->nattrs][n] = '\0';
    o->nattrs++;
}

static void scan(struct ots_object *o, struct event_sink *s, int to_server)
{
    const char *vals[OBJECT_ATTRS];
    for (int i = 0; i < o->nattrs; i++)
        vals[i] = o->attr_val[i];
    struct yara_target t = {o->proto,  o->type,      o->name[0] ? o->name : NULL,
                            to_server, o->truncated, o->total,
                            o->nattrs, o->attr_key,  vals,
                            o->partial};
    o->scanned = 1;
    if (!o->len) return;
    if (yara_scan(s->yara, o->data, o->len, &t, s, s->net.ts_us) >= 0)
        yara_worker_count_object(s->yara, o->truncated, o->partial);
}

void object_append(struct ots_object *o, struct event_sink *s, struct cursor *c, size_t n)
{
    size_t have = cursor_left(c);
    if (n > have) n = have;
    if (!o->active) {
        cursor_skip(c, n);
        return;
    }
    o->total += n;
    if (o->scanned) {
        cursor_skip(c, n);
        return;
    }
    size_t room = o->max - o->len, take = n < room ? n : room;
    if (take && o->len + take > o->cap) {
        uint32_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + take)
            cap = cap > o->max / 2 ? o->max : cap * 2;
        uint8_t *nb = realloc(o->data, cap);
        if (!nb) {
            object_abort(o);
            cursor_skip(c, n);
            return;
        }
        o->data = nb;
        o->cap = cap;
    }
    if (take) cursor_copy(c, o->data + o->len, take);
    o->len += (uint32_t)take;
    cursor_skip(c, n - take);
    if (take < n) {
        /* past the cap: scan what we have now, count the rest */
        o->truncated = 1;
        scan(o, s, s->net.to_server);
    }
}

void object_end(struct ots_object *o, struct event_sink *s, int to_server)
{
    if (!o->active) return;
    if (!o->scanned) scan(o, s, to_server);
    object_abort(o);
}

void object_partial(struct ots_object *o, struct event_sink *s, int to_server)
{
    if (!o->active) return;
    if (!o->scanned) {
        o->partial = 1;
        scan(o, s, to_server);
    }
    object_abort(o);
}

void object_abort(struct ots_object *o)
{
    o->active = 0;
    o->len = 0;
    o->total = 0;
    o->scanned = o->truncated = o->partial = 0;
    o->nattrs = 0;
    if (o->cap > 65536) {
        /* give a big buffer back; keep a small one for the next transfer */
        free(o->data);
        o->data = NULL;
        o->cap = 0;
    }
}

void object_free(struct ots_object *o)
{
    free(o->data);
    memset(o, 0, sizeof(*o));
}

int object_enabled(const struct event_sink *s)
{
    return s && yara_worker_active(s->yara) && yara_worker_limits(s->yara)->object_max;
}

const struct yara_limits *object_limits(const struct event_sink *s)
{
    return object_enabled(s) ? yara_worker_limits(s->yara) : NULL;
}

void object_stream_cover(struct event_sink *s, int to_server, int covered)
{
    if (s && s->yara) yara_stream_cover(s->yara, to_server ? 0 : 1, covered);
}
