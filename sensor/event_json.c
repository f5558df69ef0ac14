/* event_json.c - one event as one JSON line (DESIGN §2). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "jbuf.h"

static const char *dir_name(uint8_t dir)
{
    switch (dir) {
    case EV_DIR_REQUEST: return "request";
    case EV_DIR_RESPONSE: return "response";
    case EV_DIR_INDICATION: return "indication";
    default: return NULL;
    }
}

static const char *transport_name(uint8_t t)
{
    switch (t) {
    case EV_TRANSPORT_TCP: return "tcp";
    case EV_TRANSPORT_UDP: return "udp";
    case EV_TRANSPORT_L2: return "l2";
    case EV_TRANSPORT_ICMP: return "icmp";
    default: return "other";
    }
}

void jbuf_event_fields(struct jbuf *j, const struct event *e)
{
    /* a stack of "first member" flags per nesting level */
    int first[EVENT_MAX_DEPTH + 2] = {1};
    int is_arr[EVENT_MAX_DEPTH + 2] = {0};
    int d = 0;
    for (unsigned i = 0; i < e->nfields; i++) {
        const struct ev_field *f = &e->fields[i];
        if (f->type == EVF_END) {
            if (d == 0) break;
            jbuf_putc(j, is_arr[d] ? ']' : '}');
            d--;
            continue;
        }
        if (!first[d]) jbuf_putc(j, ',');
        first[d] = 0;
        if (!is_arr[d]) {
            jbuf_str(j, f->key ? f->key : "", f->key ? strlen(f->key) : 0);
            jbuf_putc(j, ':');
        }
        switch (f->type) {
        case EVF_UINT: jbuf_u64(j, f->v.u); break;
        case EVF_INT: jbuf_i64(j, f->v.i); break;
        case EVF_BOOL: jbuf_puts(j, f->v.u ? "true" : "false"); break;
        case EVF_DOUBLE: jbuf_double(j, f->v.d); break;
        case EVF_NULL: jbuf_puts(j, "null"); break;
        case EVF_STR: jbuf_str(j, e->str + f->v.off, f->len); break;
        case EVF_HEX: jbuf_hex(j, (const uint8_t *)e->str + f->v.off, f->len); break;
        case EVF_OBJ:
        case EVF_ARR:
            if (d + 1 >= EVENT_MAX_DEPTH + 2) return; /* cannot happen: event_* caps depth */
            d++;
            first[d] = 1;
            is_arr[d] = f->type == EVF_ARR;
            jbuf_putc(j, is_arr[d] ? '[' : '{');
            break;
        default: break;
        }
    }
    while (d > 0) {
        jbuf_putc(j, is_arr[d] ? ']' : '}');
        d--;
    }
}

void jbuf_ts(struct jbuf *j, uint64_t ts_us)
{
    time_t sec = (time_t)(ts_us / 1000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char b[40];
    int n = snprintf(b, sizeof(b), "\"%04d-%02d-%02dT%02d:%02d:%02d.%06uZ\"", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unsigned)(ts_us % 1000000));
    jbuf_put(j, b, (size_t)n);
}

void jbuf_ip(struct jbuf *j, const struct ev_addr *a)
{
    static const uint8_t v4pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char b[64];
    if (memcmp(a->b, v4pfx, 12) == 0) {
        int n = snprintf(b, sizeof(b), "\"%u.%u.%u.%u\"", a->b[12], a->b[13], a->b[14], a->b[15]);
        jbuf_put(j, b, (size_t)n);
        return;
    }
    /* RFC 5952 form: longest run of zero groups compressed */
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (uint16_t)(a->b[2 * i] << 8 | a->b[2 * i + 1]);
    int best = -1, bestlen = 1;
    for (int i = 0; i < 8;) {
        if (g[i] == 0) {
            int k = i;
            while (k < 8 && g[k] == 0)
                k++;
            if (k - i > bestlen) {
                best = i;
                bestlen = k - i;
            }
            i = k;
        } else {
            i++;
        }
    }
    int n = 0;
    b[n++] = '"';
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            b[n++] = ':';
            if (i == 0) b[n++] = ':';
            i += bestlen - 1;
            continue;
        }
        n += snprintf(b + n, sizeof(b) - (size_t)n, "%x", g[i]);
        if (i < 7) b[n++] = ':';
    }
    b[n++] = '"';
    jbuf_put(j, b, (size_t)n);
}

void jbuf_mac(struct jbuf *j, const uint8_t *m)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "\"%02x:%02x:%02x:%02x:%02x:%02x\"", m[0], m[1], m[2], m[3],
                     m[4], m[5]);
    jbuf_put(j, b, (size_t)n);
}

void jbuf_net(struct jbuf *j, const struct ev_net *n)
{
    jbuf_puts(j, "\"ts\":");
    jbuf_ts(j, n->ts_us);
    jbuf_puts(j, ",\"flow_id\":");
    jbuf_u64(j, n->flow_id);
    if (n->community_id[0]) {
        jbuf_puts(j, ",\"community_id\":");
        jbuf_str(j, n->community_id, strlen(n->community_id));
    }
    if (n->ip_version) {
        jbuf_puts(j, ",\"src_ip\":");
        jbuf_ip(j, &n->src);
        jbuf_puts(j, ",\"src_port\":");
        jbuf_u64(j, n->src_port);
        jbuf_puts(j, ",\"dst_ip\":");
        jbuf_ip(j, &n->dst);
        jbuf_puts(j, ",\"dst_port\":");
        jbuf_u64(j, n->dst_port);
    }
    jbuf_puts(j, ",\"transport\":\"");
    jbuf_puts(j, transport_name(n->transport));
    jbuf_putc(j, '"');
    if (n->has_mac) {
        jbuf_puts(j, ",\"src_mac\":");
        jbuf_mac(j, n->src_mac);
        jbuf_puts(j, ",\"dst_mac\":");
        jbuf_mac(j, n->dst_mac);
    }
    if (n->vlan_count) {
        jbuf_puts(j, ",\"vlan\":");
        if (n->vlan_count == 1) {
            jbuf_u64(j, n->vlan[0]);
        } else {
            jbuf_putc(j, '[');
            jbuf_u64(j, n->vlan[0]);
            jbuf_putc(j, ',');
            jbuf_u64(j, n->vlan[1]);
            jbuf_putc(j, ']');
        }
    }
}

size_t event_to_json(const struct event *e, const char *sensor_name, char *buf, size_t cap)
{
    struct jbuf j;
    jbuf_init(&j, buf, cap);
    jbuf_putc(&j, '{');
    jbuf_net(&j, &e->net);
    jbuf_puts(&j, ",\"proto\":");
    jbuf_str(&j, e->proto, strlen(e->proto));
    const char *dn = dir_name(e->dir);
    if (dn) {
        jbuf_puts(&j, ",\"dir\":\"");
        jbuf_puts(&j, dn);
        jbuf_putc(&j, '"');
    }
    jbuf_puts(&j, ",\"code\":");
    if (e->has_code)
        jbuf_i64(&j, e->code);
    else
        jbuf_puts(&j, "null");
    const char *op = e->op ? e->op : "unknown";
    jbuf_puts(&j, ",\"op\":");
    jbuf_str(&j, op, strlen(op));
    jbuf_puts(&j, ",\"event\":\"");
    jbuf_puts(&j, e->proto);
    jbuf_putc(&j, '.');
    jbuf_puts(&j, op);
    jbuf_puts(&j, "\",");
    jbuf_str(&j, e->proto, strlen(e->proto));
    jbuf_puts(&j, ":{");
    jbuf_event_fields(&j, e);
    jbuf_puts(&j, "},\"anomalies\":[");
    for (unsigned i = 0; i < e->nanom; i++) {
        if (i) jbuf_putc(&j, ',');
        jbuf_str(&j, e->anomalies[i], strlen(e->anomalies[i]));
    }
    jbuf_putc(&j, ']');
    if (e->overflow) jbuf_puts(&j, ",\"truncated\":true");
    if (sensor_name && *sensor_name) {
        jbuf_puts(&j, ",\"sensor\":");
        jbuf_str(&j, sensor_name, strlen(sensor_name));
    }
    jbuf_putc(&j, '}');
    return jbuf_ok(&j) ? j.len : 0;
}
