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

/* Civil date (proleptic Gregorian) of a day count since 1970-01-01, by the
 * era arithmetic of H. Hinnant's "chrono-compatible low-level date algorithms";
 * exact for every uint64_t microsecond time. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void jbuf_ts(struct jbuf *j, uint64_t ts_us)
{
    uint64_t sec = ts_us / 1000000;
    unsigned us = (unsigned)(ts_us % 1000000);
    unsigned sod = (unsigned)(sec % 86400);
    int64_t y;
    unsigned mo, d;
    civil_from_days((int64_t)(sec / 86400), &y, &mo, &d);
    /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ"; years past 9999 keep all their digits */
    char b[48], *p = b;
    *p++ = '"';
    if (y > 9999) {
        char t[20];
        char *q = t + sizeof(t);
        uint64_t yy = (uint64_t)y;
        do {
            *--q = (char)('0' + yy % 10);
            yy /= 10;
        } while (yy);
        memcpy(p, q, (size_t)(t + sizeof(t) - q));
        p += t + sizeof(t) - q;
    } else {
        p = put_digits(p, (unsigned)y, 4);
    }
    *p++ = '-';
    p = put_digits(p, mo, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    *p++ = '.';
    p = put_digits(p, us, 6);
    *p++ = 'Z';
    *p++ = '"';
    jbuf_put(j, b, (size_t)(p - b));
}

static char *put_dec_u8(char *p, unsigned v)
{
    if (v >= 100) *p++ = (char)('0' + v / 100);
    if (v >= 10) *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static const char hexdig[] = "0123456789abcdef";

void jbuf_ip(struct jbuf *j, const struct ev_addr *a)
{
    char b[64], *p = b;
    *p++ = '"';
    if (ev_addr_is_v4(a)) {
        for (int i = 12; i < 16; i++) {
            if (i > 12) *p++ = '.';
            p = put_dec_u8(p, a->b[i]);
        }
        *p++ = '"';
        jbuf_put(j, b, (size_t)(p - b));
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
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            *p++ = ':';
            if (i == 0) *p++ = ':';
            i += bestlen - 1;
            continue;
        }
        /* lower-case hex without leading zeros */
        int started = 0;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned nib = (g[i] >> sh) & 15;
            if (nib || started || sh == 0) {
                *p++ = hexdig[nib];
                started = 1;
            }
        }
        if (i < 7) *p++ = ':';
    }
    *p++ = '"';
    jbuf_put(j, b, (size_t)(p - b));
}

void jbuf_mac(struct jbuf *j, const uint8_t *m)
{
    char b[19], *p = b;
    *p++ = '"';
    for (int i = 0; i < 6; i++) {
        if (i) *p++ = ':';
        *p++ = hexdig[m[i] >> 4];
        *p++ = hexdig[m[i] & 15];
    }
    *p++ = '"';
    jbuf_put(j, b, (size_t)(p - b));
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
