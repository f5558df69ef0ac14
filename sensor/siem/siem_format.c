/* siem_format.c - see siem_format.h. */
#include "siem_format.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sjson.h"

void sbuf_init(struct sbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void sbuf_free(struct sbuf *b)
{
    free(b->buf);
    sbuf_init(b);
}

void sbuf_reset(struct sbuf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->buf) b->buf[0] = '\0';
}

static int sbuf_room(struct sbuf *b, size_t n)
{
    if (b->oom) return -1;
    if (b->cap - b->len > n) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len <= n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->buf, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->buf = p;
    b->cap = cap;
    return 0;
}

void sbuf_put(struct sbuf *b, const char *s, size_t n)
{
    if (sbuf_room(b, n) != 0) return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
    sbuf_put(b, s, strlen(s));
}

void sbuf_putc(struct sbuf *b, char c)
{
    sbuf_put(b, &c, 1);
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(small)) {
        sbuf_put(b, small, (size_t)n);
        return;
    }
    if (sbuf_room(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* What an escaper does with one ASCII byte: NULL = copy it, else the replacement. */
typedef const char *(*esc_fn)(unsigned char c);

static void esc_walk(struct sbuf *b, const char *s, size_t n, esc_fn f)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            const char *r = f(u[i]);
            if (r)
                sbuf_puts(b, r);
            else
                sbuf_putc(b, (char)u[i]);
            i++;
            continue;
        }
        size_t l = sjson_utf8_len(u + i, n - i);
        if (l) {
            sbuf_put(b, s + i, l);
            i += l;
        } else {
            sbuf_puts(b, "\xef\xbf\xbd"); /* U+FFFD for each bad byte */
            i++;
        }
    }
}

static const char *esc_ctl(unsigned char c)
{
    return (c < 0x20 || c == 0x7f) ? " " : NULL;
}

static const char *esc_cef_header(unsigned char c)
{
    if (c == '\\') return "\\\\";
    if (c == '|') return "\\|";
    return esc_ctl(c);
}

static const char *esc_cef_ext(unsigned char c)
{
    switch (c) {
    case '\\': return "\\\\";
    case '=': return "\\=";
    case '\n': return "\\n";
    case '\r': return "\\r";
    default: return esc_ctl(c);
    }
}

static const char *esc_sd(unsigned char c)
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case ']': return "\\]";
    default: return esc_ctl(c);
    }
}

static const char *esc_json(unsigned char c)
{
    static char u[8];
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:
        if (c < 0x20 || c == 0x7f) {
            snprintf(u, sizeof(u), "\\u%04x", c);
            return u;
        }
        return NULL;
    }
}

void siem_esc_cef_header(struct sbuf *b, const char *s, size_t n)
{
    esc_walk(b, s, n, esc_cef_header);
}

void siem_esc_cef_ext(struct sbuf *b, const char *s, size_t n)
{
    esc_walk(b, s, n, esc_cef_ext);
}

void siem_esc_sd_value(struct sbuf *b, const char *s, size_t n)
{
    esc_walk(b, s, n, esc_sd);
}

static void esc_json_str(struct sbuf *b, const char *s, size_t n)
{
    sbuf_putc(b, '"');
    esc_walk(b, s, n, esc_json);
    sbuf_putc(b, '"');
}

void siem_header_token(struct sbuf *b, const char *s, size_t n, size_t maxlen)
{
    if (n > maxlen) n = maxlen;
    if (!n) {
        sbuf_putc(b, '-');
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        sbuf_putc(b, (c >= 33 && c <= 126) ? (char)c : '_');
    }
}

int siem_cef_severity(int64_t sev)
{
    static const int map[5] = {0, 3, 5, 8, 10};
    if (sev < 0) sev = 0;
    if (sev > 4) sev = 4;
    return map[sev];
}

int siem_syslog_severity(int64_t sev)
{
    if (sev < 0) sev = 0;
    if (sev > 4) sev = 4;
    return 6 - (int)sev;
}

static int num(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int siem_ts_ms(const char *s, int64_t *ms)
{
    int Y, M, D, h, m, sec;
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    if (num(s, 4, &Y) || num(s + 5, 2, &M) || num(s + 8, 2, &D) || num(s + 11, 2, &h) ||
        num(s + 14, 2, &m) || num(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970) return -1;
    size_t i = 19;
    int frac_ms = 0, digits = 0;
    if (s[i] == '.') {
        for (i++; s[i] >= '0' && s[i] <= '9'; i++, digits++)
            if (digits < 3) frac_ms = frac_ms * 10 + (s[i] - '0');
        if (digits < 1 || digits > 6) return -1;
        for (int k = digits; k < 3; k++)
            frac_ms *= 10;
    }
    if (s[i] != 'Z' || s[i + 1] != '\0') return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *ms = (int64_t)t * 1000 + frac_ms;
    return 0;
}

/* Text of the scalar at path into buf; its length, or -1 when absent, null or empty. */
static int text_at(const struct sjson *d, const char *path, char *buf, size_t len)
{
    int t = sjson_path(d, path);
    if (t < 0) return -1;
    int n = sjson_text(d, t, buf, len);
    return n > 0 ? n : -1;
}

/* The strings of the array at path joined by ','; length or -1 (absent or empty). */
static int join_at(const struct sjson *d, const char *path, char *buf, size_t len)
{
    int arr = sjson_path(d, path);
    if (arr < 0 || d->tok[arr].type != SJ_ARR) return text_at(d, path, buf, len);
    size_t o = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < d->tok[arr].size; i++) {
        char one[512];
        int n = sjson_text(d, sjson_at(d, arr, i), one, sizeof(one));
        if (n <= 0) continue;
        if (o + (size_t)n + 2 > len) break;
        if (o) buf[o++] = ',';
        memcpy(buf + o, one, (size_t)n);
        o += (size_t)n;
        buf[o] = '\0';
    }
    return o ? (int)o : -1;
}

static int64_t severity_of(const struct sjson *d)
{
    int64_t v;
    if (sjson_int(d, sjson_path(d, "event.severity"), &v) != 0) return 2; /* medium */
    return v;
}

#define FIELD_MAX 4096

static void cef_kv(struct sbuf *b, const char *key, const char *v, int n)
{
    if (n < 0) return;
    sbuf_putc(b, ' ');
    sbuf_puts(b, key);
    sbuf_putc(b, '=');
    siem_esc_cef_ext(b, v, (size_t)n);
}

/* A CEF extension pair from the alert field at path (a scalar, or an array joined). */
static void cef_field(struct sbuf *b, const struct sjson *d, const char *key, const char *path)
{
    char v[FIELD_MAX];
    cef_kv(b, key, v, join_at(d, path, v, sizeof(v)));
}

/* csN=value csNLabel=label, only when the value exists. */
static void cef_custom(struct sbuf *b, const char *key, const char *label, const char *v, int n)
{
    if (n < 0) return;
    cef_kv(b, key, v, n);
    char lk[32];
    snprintf(lk, sizeof(lk), "%sLabel", key);
    cef_kv(b, lk, label, (int)strlen(label));
}

static void cef_time(struct sbuf *b, const struct sjson *d, const char *key, const char *path)
{
    char ts[64];
    int64_t ms;
    if (text_at(d, path, ts, sizeof(ts)) > 0 && siem_ts_ms(ts, &ms) == 0)
        sbuf_printf(b, " %s=%lld", key, (long long)ms);
}

/* "src>dst" zones, "-" for an unknown side; -1 when neither is known. */
static int zones(const struct sjson *d, char *buf, size_t len)
{
    char s[256], t[256];
    int a = text_at(d, "iec62443.zone.src", s, sizeof(s));
    int c = text_at(d, "iec62443.zone.dst", t, sizeof(t));
    if (a < 0 && c < 0) return -1;
    int n = snprintf(buf, len, "%s>%s", a < 0 ? "-" : s, c < 0 ? "-" : t);
    return n < 0 ? -1 : (size_t)n >= len ? (int)len - 1 : n;
}

void siem_format_cef(struct sbuf *b, const struct sjson *d, const char *entry_id)
{
    char v[FIELD_MAX];
    int n;
    sbuf_puts(b, "CEF:0|otsensor|otsensor|");
    siem_esc_cef_header(b, OTS_VERSION, strlen(OTS_VERSION));
    sbuf_putc(b, '|');
    n = text_at(d, "rule.id", v, sizeof(v));
    siem_esc_cef_header(b, n < 0 ? "unknown" : v, n < 0 ? 7 : (size_t)n);
    sbuf_putc(b, '|');
    n = text_at(d, "rule.name", v, sizeof(v));
    if (n < 0) n = text_at(d, "message", v, sizeof(v));
    siem_esc_cef_header(b, n < 0 ? "alert" : v, n < 0 ? 5 : (size_t)n);
    sbuf_printf(b, "|%d|", siem_cef_severity(severity_of(d)));

    /* extension: first key without the leading space */
    size_t mark = b->len;
    cef_time(b, d, "rt", "@timestamp");
    n = text_at(d, "source.ip", v, sizeof(v));
    cef_kv(b, n >= 0 && strchr(v, ':') ? "c6a2" : "src", v, n);
    cef_field(b, d, "spt", "source.port");
    cef_field(b, d, "smac", "source.mac");
    n = text_at(d, "destination.ip", v, sizeof(v));
    cef_kv(b, n >= 0 && strchr(v, ':') ? "c6a3" : "dst", v, n);
    cef_field(b, d, "dpt", "destination.port");
    cef_field(b, d, "dmac", "destination.mac");
    n = text_at(d, "network.transport", v, sizeof(v));
    for (int i = 0; i < n; i++)
        if (v[i] >= 'a' && v[i] <= 'z') v[i] = (char)(v[i] - 'a' + 'A');
    cef_kv(b, "proto", v, n);
    cef_field(b, d, "app", "network.protocol");
    cef_kv(b, "act", "alert", 5);
    cef_field(b, d, "cat", "rule.category");
    cef_field(b, d, "cnt", "otsensor.count");
    cef_time(b, d, "start", "event.start");
    cef_time(b, d, "end", "event.end");
    cef_field(b, d, "dvchost", "observer.name");
    cef_field(b, d, "msg", "message");
    cef_custom(b, "cs1", "iec62443.fr", v, join_at(d, "iec62443.fr", v, sizeof(v)));
    cef_custom(b, "cs2", "iec62443.sr", v, join_at(d, "iec62443.sr", v, sizeof(v)));
    cef_custom(b, "cs3", "iec62443.zone", v, zones(d, v, sizeof(v)));
    cef_custom(b, "cs4", "iso27032.threat", v, join_at(d, "iso27032.threat", v, sizeof(v)));
    cef_custom(b, "cs5", "ot.event", v, text_at(d, "ot.event", v, sizeof(v)));
    cef_custom(b, "cs6", "iec62443.conduit", v, text_at(d, "iec62443.conduit", v, sizeof(v)));
    int64_t x;
    if (sjson_int(d, sjson_path(d, "otsensor.flow_id"), &x) == 0)
        sbuf_printf(b, " cn1=%lld cn1Label=flow_id", (long long)x);
    if (sjson_int(d, sjson_path(d, "ot.code"), &x) == 0)
        sbuf_printf(b, " cn2=%lld cn2Label=ot.code", (long long)x);
    cef_custom(b, "flexString1", "network.community_id", v,
               text_at(d, "network.community_id", v, sizeof(v)));
    cef_field(b, d, "deviceExternalId", "otsensor.sensor");
    if (entry_id) cef_kv(b, "externalId", entry_id, (int)strlen(entry_id));
    if (!b->oom && b->len > mark && b->buf[mark] == ' ') {
        memmove(b->buf + mark, b->buf + mark + 1, b->len - mark - 1);
        b->buf[--b->len] = '\0';
    }
}

/* RFC 5424 HEADER up to and including the space before STRUCTURED-DATA. */
static void syslog_header(struct sbuf *b, const struct sjson *d, const struct siem_fmt_opts *o,
                          int sev)
{
    char v[512];
    int64_t ms;
    int fac = o->facility >= 0 && o->facility <= 23 ? o->facility : 16;
    sbuf_printf(b, "<%d>1 ", fac * 8 + sev);
    int n = d ? text_at(d, "@timestamp", v, sizeof(v)) : -1;
    /* only the exact form validated by siem_ts_ms goes out; anything else is NILVALUE */
    if (n > 0 && siem_ts_ms(v, &ms) == 0)
        sbuf_put(b, v, (size_t)n);
    else
        sbuf_putc(b, '-');
    sbuf_putc(b, ' ');
    n = d ? text_at(d, "observer.name", v, sizeof(v)) : -1;
    siem_header_token(b, v, n < 0 ? 0 : (size_t)n, 255);
    sbuf_putc(b, ' ');
    const char *app = o->app_name ? o->app_name : "otsensor";
    siem_header_token(b, app, strlen(app), 48);
    sbuf_puts(b, " - alert "); /* PROCID, MSGID */
}

static void sd_param(struct sbuf *b, const char *name, const char *v, int n)
{
    if (n < 0) return;
    sbuf_printf(b, " %s=\"", name);
    siem_esc_sd_value(b, v, (size_t)n);
    sbuf_putc(b, '"');
}

static void sd_field(struct sbuf *b, const struct sjson *d, const char *name, const char *path)
{
    char v[FIELD_MAX];
    sd_param(b, name, v, join_at(d, path, v, sizeof(v)));
}

/* The SD-ID: our name @ the private enterprise number RFC 5612 reserves for examples;
 * docs/siem.md says how to change it. */
#define SIEM_SD_ID "otsensor@32473"

void siem_format_syslog(struct sbuf *b, const struct sjson *d, const char *raw, size_t rawlen,
                        const char *entry_id, const struct siem_fmt_opts *o)
{
    char v[FIELD_MAX];
    int64_t sev = severity_of(d);
    syslog_header(b, d, o, siem_syslog_severity(sev));
    sbuf_puts(b, "[" SIEM_SD_ID);
    sd_field(b, d, "rule_id", "rule.id");
    sd_field(b, d, "rule_name", "rule.name");
    sd_param(b, "severity", v, snprintf(v, sizeof(v), "%lld", (long long)sev));
    sd_field(b, d, "category", "rule.category");
    sd_field(b, d, "src", "source.ip");
    sd_field(b, d, "spt", "source.port");
    sd_field(b, d, "dst", "destination.ip");
    sd_field(b, d, "dpt", "destination.port");
    sd_field(b, d, "transport", "network.transport");
    sd_field(b, d, "protocol", "network.protocol");
    sd_field(b, d, "event", "ot.event");
    sd_field(b, d, "fr", "iec62443.fr");
    sd_field(b, d, "sr", "iec62443.sr");
    sd_field(b, d, "zone_src", "iec62443.zone.src");
    sd_field(b, d, "zone_dst", "iec62443.zone.dst");
    sd_field(b, d, "conduit", "iec62443.conduit");
    sd_field(b, d, "threat", "iso27032.threat");
    sd_field(b, d, "count", "otsensor.count");
    sd_field(b, d, "sensor", "otsensor.sensor");
    sd_field(b, d, "community_id", "network.community_id");
    if (entry_id) sd_param(b, "stream_id", entry_id, (int)strlen(entry_id));
    sbuf_puts(b, "] ");
    if (o->msg == SIEM_MSG_CEF)
        siem_format_cef(b, d, entry_id);
    else
        siem_format_json(b, raw, rawlen);
}

void siem_format_json(struct sbuf *b, const char *raw, size_t rawlen)
{
    size_t start = b->len;
    sbuf_put(b, raw, rawlen);
    if (b->oom) return;
    for (size_t i = start; i < b->len; i++)
        if (b->buf[i] == '\n' || b->buf[i] == '\r') b->buf[i] = ' ';
}

void siem_format_bad(struct sbuf *b, enum siem_format f, const struct siem_fmt_opts *o,
                     const char *raw, size_t rawlen, const char *entry_id, const char *why)
{
    const char *id = entry_id ? entry_id : "";
    switch (f) {
    case SIEM_FMT_JSON:
        sbuf_puts(b, "{\"event\":{\"kind\":\"pipeline_error\"},\"error\":{\"message\":");
        esc_json_str(b, why, strlen(why));
        sbuf_puts(b, "},\"otsensor\":{\"stream_id\":");
        esc_json_str(b, id, strlen(id));
        sbuf_puts(b, "},\"raw\":");
        esc_json_str(b, raw, rawlen);
        sbuf_putc(b, '}');
        break;
    case SIEM_FMT_SYSLOG:
        syslog_header(b, NULL, o, 3);
        sbuf_puts(b, "[" SIEM_SD_ID);
        sd_param(b, "error", why, (int)strlen(why));
        sd_param(b, "stream_id", id, (int)strlen(id));
        sbuf_puts(b, "] ");
        siem_format_bad(b, o->msg == SIEM_MSG_CEF ? SIEM_FMT_CEF : SIEM_FMT_JSON, o, raw, rawlen,
                        entry_id, why);
        break;
    case SIEM_FMT_CEF:
        sbuf_puts(b, "CEF:0|otsensor|otsensor|");
        siem_esc_cef_header(b, OTS_VERSION, strlen(OTS_VERSION));
        sbuf_puts(b, "|otsensor.siem.bad_alert|unreadable alert in the stream|5|");
        sbuf_puts(b, "reason=");
        siem_esc_cef_ext(b, why, strlen(why));
        sbuf_puts(b, " externalId=");
        siem_esc_cef_ext(b, id, strlen(id));
        sbuf_puts(b, " rawEvent=");
        siem_esc_cef_ext(b, raw, rawlen);
        break;
    }
}
