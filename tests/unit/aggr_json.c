/* aggr_json.c - test support (not in the sensor): alerts given as JSON text.
 *
 * The sensor's aggregator reads the header the rule engine writes beside each alert
 * (alert_hdr.h). The aggregation tests written against JSON text, and the header
 * test that checks the rule engine's header against its own text, recover the header
 * here by parsing the JSON, independently of alert_json.c. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "aggregate.h"

#define US_PER_S 1000000ull

/* The fields the aggregator reads or rewrites, by (parent object, key). */
enum { F_TS, F_SID, F_SRC, F_DST, F_START, F_END, F_COUNT, F_N };
static const struct {
    const char *parent, *key;
} fields[F_N] = {
    {NULL, "@timestamp"}, {"rule", "id"},   {"source", "ip"},      {"destination", "ip"},
    {"event", "start"},   {"event", "end"}, {"otsensor", "count"},
};

struct span {
    size_t off, len; /* of the value's text; len 0: absent */
};

/* ---- a small scanner for our own alert JSON (jbuf-written, but never trusted) ---- */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* s[i] is '"': the index after the closing quote, or n if unterminated. */
static size_t skip_str(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

/* The index after the value starting at s[i] (iterative: no recursion on nesting). */
static size_t skip_val(const char *s, size_t i, size_t n)
{
    if (i >= n) return n;
    if (s[i] == '"') return skip_str(s, i, n);
    if (s[i] != '{' && s[i] != '[') {
        while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ')
            i++;
        return i;
    }
    size_t depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = skip_str(s, i, n);
            continue;
        }
        if (c == '{' || c == '[') depth++;
        if (c == '}' || c == ']') {
            if (--depth == 0) return i + 1;
        }
        i++;
    }
    return n;
}

static int key_is(const char *s, size_t ks, size_t kl, const char *want)
{
    return want && strlen(want) == kl && memcmp(s + ks, want, kl) == 0;
}

/* Walks the object at s[i] ('{'), one level into the parents named in fields[]. */
static size_t scan_obj(const char *s, size_t i, size_t n, const char *parent, struct span sp[F_N])
{
    i++; /* '{' */
    for (;;) {
        i = skip_ws(s, i, n);
        if (i >= n || s[i] == '}') return i + 1;
        if (s[i] != '"') return n;
        size_t ks = i + 1, ke = skip_str(s, i, n);
        if (ke >= n) return n;
        size_t kl = ke - 1 - ks;
        i = skip_ws(s, ke, n);
        if (i >= n || s[i] != ':') return n;
        i = skip_ws(s, i + 1, n);
        size_t v = i;
        int descend = 0;
        if (!parent && v < n && s[v] == '{')
            for (int f = 0; f < F_N; f++)
                if (key_is(s, ks, kl, fields[f].parent)) descend = 1;
        if (descend) {
            /* the key text is in s; fields[] holds the same name */
            const char *pname = NULL;
            for (int f = 0; f < F_N && !pname; f++)
                if (key_is(s, ks, kl, fields[f].parent)) pname = fields[f].parent;
            i = scan_obj(s, v, n, pname, sp);
        } else {
            i = skip_val(s, v, n);
            for (int f = 0; f < F_N; f++) {
                int pm = parent ? (fields[f].parent && !strcmp(parent, fields[f].parent))
                                : !fields[f].parent;
                if (pm && key_is(s, ks, kl, fields[f].key) && !sp[f].len)
                    sp[f] = (struct span){v, i - v};
            }
        }
        if (i > n) return n;
        i = skip_ws(s, i, n);
        if (i < n && s[i] == ',') i++;
    }
}

static void scan(const char *s, size_t n, struct span sp[F_N])
{
    memset(sp, 0, sizeof(struct span) * F_N);
    size_t i = skip_ws(s, 0, n);
    if (i < n && s[i] == '{') scan_obj(s, i, n, NULL, sp);
}

static int digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int aggr_parse_ts(const char *s, size_t n, uint64_t *us)
{
    unsigned y, mo, d, h, mi, se, frac = 0;
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[n - 1] != 'Z')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    if (n > 20) {
        size_t fl = n - 21; /* ".ffffff" between the seconds and 'Z' */
        if (s[19] != '.' || fl < 1 || fl > 6 || digits(s + 20, fl, &frac)) return -1;
        for (size_t k = fl; k < 6; k++)
            frac *= 10;
    }
    int64_t days = days_from_civil(y, mo, d);
    *us = ((uint64_t)days * 86400 + h * 3600u + mi * 60u + se) * US_PER_S + frac;
    return 0;
}

/* A JSON string value's time (the span includes the quotes). */
static int span_ts(const char *s, struct span sp, uint64_t *us)
{
    if (sp.len < 2 || s[sp.off] != '"') return -1;
    return aggr_parse_ts(s + sp.off + 1, sp.len - 2, us);
}

static uint64_t span_u64(const char *s, struct span sp, uint64_t dflt)
{
    uint64_t v = 0;
    if (!sp.len) return dflt;
    for (size_t i = 0; i < sp.len; i++) {
        char c = s[sp.off + i];
        if (c < '0' || c > '9' || v > UINT64_MAX / 20) return dflt;
        v = v * 10 + (uint64_t)(c - '0');
    }
    return v ? v : dflt;
}

/* A JSON string holding an IP address, as jbuf_ip writes it, to the sensor's form. */
static int span_ip(const char *s, struct span sp, struct ev_addr *a)
{
    char t[64];
    memset(a, 0, sizeof(*a));
    if (sp.len < 2 || sp.len - 2 >= sizeof(t) || s[sp.off] != '"') return -1;
    memcpy(t, s + sp.off + 1, sp.len - 2);
    t[sp.len - 2] = '\0';
    if (inet_pton(AF_INET, t, a->b + 12) == 1) {
        a->b[10] = a->b[11] = 0xff;
        return 0;
    }
    return inet_pton(AF_INET6, t, a->b) == 1 ? 0 : -1;
}

/* The header of an alert's JSON text; -1 where the aggregator would pass it through. */
int aggr_json_hdr(const char *json, size_t len, struct alert_hdr *h);
int aggr_json_hdr(const char *json, size_t len, struct alert_hdr *h)
{
    struct span sp[F_N];
    scan(json, len, sp);
    memset(h, 0, sizeof(*h));
    if (!sp[F_SID].len || span_ts(json, sp[F_TS], &h->ts_us) != 0) return -1;
    /* rule.id: the sensor writes the sid as a decimal string */
    uint64_t sid = 0;
    struct span ids = sp[F_SID];
    if (ids.len < 3 || json[ids.off] != '"') return -1;
    for (size_t i = ids.off + 1; i < ids.off + ids.len - 1; i++) {
        if (json[i] < '0' || json[i] > '9' || sid > UINT32_MAX / 10) return -1;
        sid = sid * 10 + (uint64_t)(json[i] - '0');
    }
    if (sid > UINT32_MAX) return -1;
    h->sid = (uint32_t)sid;
    if (sp[F_SRC].len || sp[F_DST].len) {
        if (span_ip(json, sp[F_SRC], &h->src) || span_ip(json, sp[F_DST], &h->dst)) return -1;
        h->has_ip = 1;
    }
    h->start_us = h->end_us = h->ts_us;
    if (sp[F_START].len) span_ts(json, sp[F_START], &h->start_us);
    if (sp[F_END].len) span_ts(json, sp[F_END], &h->end_us);
    h->count = span_u64(json, sp[F_COUNT], 1);
    const int which[ALERT_SPANS] = {F_TS, F_START, F_END, F_COUNT};
    for (int i = 0; i < ALERT_SPANS; i++)
        h->span[i] = (struct alert_span){(uint32_t)sp[which[i]].off, (uint32_t)sp[which[i]].len};
    h->ok = 1;
    return 0;
}

void aggr_alert(struct aggr *a, const char *json, size_t len, aggr_emit_fn emit, void *ctx)
{
    struct alert_hdr h;
    aggr_alert_hdr(a, aggr_json_hdr(json, len, &h) == 0 ? &h : NULL, json, len, emit, ctx);
}
