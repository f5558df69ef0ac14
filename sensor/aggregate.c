/* aggregate.c - see aggregate.h. */
#include "aggregate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"

#define NIL      UINT32_MAX
#define KEY_MAX  192
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

struct aent {
    uint32_t hnext;      /* hash chain, or the free list */
    uint32_t prev, next; /* open windows, oldest first */
    uint64_t h;
    uint16_t klen;
    char key[KEY_MAX];
    uint64_t t0;          /* the window's first alert (@timestamp) */
    uint64_t first_count; /* that alert's own count */
    uint64_t m_count;     /* merged since: their counts summed */
    uint64_t m_start, m_end;
    char *json; /* the first merged alert, the summary's template */
    size_t jlen;
};

struct aggr {
    uint64_t window_us;
    uint32_t window_s, max_keys;
    struct aent *ents;
    uint32_t *buckets;
    uint32_t nbuckets; /* a power of two */
    uint32_t free_head, head, tail;
    uint64_t now_us;
    char *out; /* summary being built */
    size_t out_cap;
    struct aggr_stats st;
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

/* ---- the table ---- */

static uint64_t fnv(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
    return h;
}

struct aggr *aggr_new(uint32_t window_s, uint32_t max_keys)
{
    if (!window_s || !max_keys || max_keys > (1u << 24)) return NULL;
    struct aggr *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->window_s = window_s;
    a->window_us = (uint64_t)window_s * US_PER_S;
    a->max_keys = max_keys;
    a->nbuckets = 1;
    while (a->nbuckets < 2 * max_keys)
        a->nbuckets <<= 1;
    a->ents = calloc(max_keys, sizeof(*a->ents));
    a->buckets = malloc(a->nbuckets * sizeof(*a->buckets));
    if (!a->ents || !a->buckets) {
        aggr_free(a);
        return NULL;
    }
    for (uint32_t i = 0; i < a->nbuckets; i++)
        a->buckets[i] = NIL;
    for (uint32_t i = 0; i < max_keys; i++)
        a->ents[i].hnext = i + 1 < max_keys ? i + 1 : NIL;
    a->free_head = 0;
    a->head = a->tail = NIL;
    return a;
}

void aggr_free(struct aggr *a)
{
    if (!a) return;
    if (a->ents)
        for (uint32_t i = 0; i < a->max_keys; i++)
            free(a->ents[i].json);
    free(a->ents);
    free(a->buckets);
    free(a->out);
    free(a);
}

static void fifo_unlink(struct aggr *a, uint32_t x)
{
    struct aent *e = &a->ents[x];
    if (e->prev != NIL)
        a->ents[e->prev].next = e->next;
    else
        a->head = e->next;
    if (e->next != NIL)
        a->ents[e->next].prev = e->prev;
    else
        a->tail = e->prev;
}

static void fifo_push(struct aggr *a, uint32_t x)
{
    struct aent *e = &a->ents[x];
    e->prev = a->tail;
    e->next = NIL;
    if (a->tail != NIL)
        a->ents[a->tail].next = x;
    else
        a->head = x;
    a->tail = x;
}

static uint32_t lookup(const struct aggr *a, uint64_t h, const char *k, size_t kl)
{
    for (uint32_t x = a->buckets[h & (a->nbuckets - 1)]; x != NIL; x = a->ents[x].hnext) {
        const struct aent *e = &a->ents[x];
        if (e->h == h && e->klen == kl && !memcmp(e->key, k, kl)) return x;
    }
    return NIL;
}

static int out_room(struct aggr *a, size_t n)
{
    if (n <= a->out_cap) return 0;
    char *b = realloc(a->out, n);
    if (!b) return -1;
    a->out = b;
    a->out_cap = n;
    return 0;
}

struct rep {
    struct span at;
    char txt[128];
    size_t len;
};

/* Sends the window's summary if anything was merged into it, and empties it. */
static void close_window(struct aggr *a, struct aent *e, aggr_emit_fn emit, void *ctx)
{
    if (!e->m_count || !e->json) goto out;
    struct span sp[F_N];
    scan(e->json, e->jlen, sp);
    /* replacements, in the order they appear in the text */
    struct rep rep[4];
    int nrep = 0;
    char tsb[48];
    struct jbuf tj;
    const int which[4] = {F_TS, F_START, F_END, F_COUNT};
    for (int w = 0; w < 4; w++) {
        int f = which[w];
        if (!sp[f].len) continue;
        jbuf_init(&tj, tsb, sizeof(tsb));
        if (f == F_COUNT) {
            uint64_t total = e->m_count + e->first_count;
            rep[nrep].len = (size_t)snprintf(rep[nrep].txt, sizeof(rep[nrep].txt),
                                             "%llu,\"aggregated\":{\"window_s\":%u,\"total\":%llu}",
                                             (unsigned long long)e->m_count, a->window_s,
                                             (unsigned long long)total);
        } else {
            jbuf_ts(&tj, f == F_END ? e->m_end : e->m_start);
            memcpy(rep[nrep].txt, tsb, tj.len);
            rep[nrep].len = tj.len;
        }
        rep[nrep].at = sp[f];
        nrep++;
    }
    for (int i = 1; i < nrep; i++) /* insertion sort by offset */
        for (int k = i; k > 0 && rep[k].at.off < rep[k - 1].at.off; k--) {
            struct rep t = rep[k];
            rep[k] = rep[k - 1];
            rep[k - 1] = t;
        }
    if (out_room(a, e->jlen + 4 * 128) != 0)
        goto out; /* out of memory: counts stay exact
                      in the stats */
    size_t o = 0, pos = 0;
    for (int i = 0; i < nrep; i++) {
        memcpy(a->out + o, e->json + pos, rep[i].at.off - pos);
        o += rep[i].at.off - pos;
        memcpy(a->out + o, rep[i].txt, rep[i].len);
        o += rep[i].len;
        pos = rep[i].at.off + rep[i].at.len;
    }
    memcpy(a->out + o, e->json + pos, e->jlen - pos);
    o += e->jlen - pos;
    a->st.summaries++;
    emit(ctx, a->out, o);
out:
    free(e->json);
    e->json = NULL;
    e->jlen = 0;
    e->m_count = 0;
}

/* Closes the window, unlinks it and returns its entry to the free list. */
static void retire(struct aggr *a, uint32_t x, aggr_emit_fn emit, void *ctx)
{
    struct aent *e = &a->ents[x];
    close_window(a, e, emit, ctx);
    fifo_unlink(a, x);
    uint32_t *pp = &a->buckets[e->h & (a->nbuckets - 1)];
    while (*pp != x)
        pp = &a->ents[*pp].hnext;
    *pp = e->hnext;
    e->hnext = a->free_head;
    a->free_head = x;
    a->st.open--;
}

static void expire(struct aggr *a, aggr_emit_fn emit, void *ctx)
{
    while (a->head != NIL && a->ents[a->head].t0 + a->window_us < a->now_us)
        retire(a, a->head, emit, ctx);
}

void aggr_tick(struct aggr *a, uint64_t now_us, aggr_emit_fn emit, void *ctx)
{
    if (now_us > a->now_us) a->now_us = now_us;
    expire(a, emit, ctx);
}

void aggr_flush(struct aggr *a, aggr_emit_fn emit, void *ctx)
{
    while (a->head != NIL)
        retire(a, a->head, emit, ctx);
}

void aggr_alert(struct aggr *a, const char *json, size_t len, aggr_emit_fn emit, void *ctx)
{
    a->st.in++;
    struct span sp[F_N];
    scan(json, len, sp);
    uint64_t ts;
    char key[KEY_MAX];
    size_t kl = sp[F_SID].len + sp[F_SRC].len + sp[F_DST].len + 2;
    if (!sp[F_SID].len || span_ts(json, sp[F_TS], &ts) != 0 || kl > sizeof(key)) {
        a->st.unparsed++;
        a->st.passed++;
        emit(ctx, json, len);
        return;
    }
    /* the key: the three values' JSON text, NUL-separated */
    kl = 0;
    const int kf[3] = {F_SID, F_SRC, F_DST};
    for (int i = 0; i < 3; i++) {
        if (i) key[kl++] = '\0';
        memcpy(key + kl, json + sp[kf[i]].off, sp[kf[i]].len);
        kl += sp[kf[i]].len;
    }
    uint64_t h = fnv(key, kl);
    uint64_t count = span_u64(json, sp[F_COUNT], 1);
    aggr_tick(a, ts, emit, ctx);

    uint32_t x = lookup(a, h, key, kl);
    if (x != NIL && ts > a->ents[x].t0 + a->window_us) {
        retire(a, x, emit, ctx); /* its window is over: this alert opens the next */
        x = NIL;
    }
    if (x != NIL) {
        struct aent *e = &a->ents[x];
        uint64_t s = ts, en = ts;
        span_ts(json, sp[F_START], &s);
        span_ts(json, sp[F_END], &en);
        if (!e->json) {
            e->json = malloc(len);
            if (!e->json) { /* no template for a summary: send it as it is */
                a->st.passed++;
                emit(ctx, json, len);
                return;
            }
            memcpy(e->json, json, len);
            e->jlen = len;
            e->m_start = s;
            e->m_end = en;
        }
        if (s < e->m_start) e->m_start = s;
        if (en > e->m_end) e->m_end = en;
        e->m_count += count;
        a->st.merged++;
        return;
    }
    if (a->free_head == NIL) {
        a->st.evicted++;
        retire(a, a->head, emit, ctx);
    }
    x = a->free_head;
    struct aent *e = &a->ents[x];
    a->free_head = e->hnext;
    e->h = h;
    e->klen = (uint16_t)kl;
    memcpy(e->key, key, kl);
    e->t0 = ts;
    e->first_count = count;
    e->m_count = 0;
    e->json = NULL;
    uint32_t b = (uint32_t)(h & (a->nbuckets - 1));
    e->hnext = a->buckets[b];
    a->buckets[b] = x;
    fifo_push(a, x);
    a->st.open++;
    a->st.passed++;
    emit(ctx, json, len);
}

void aggr_get_stats(const struct aggr *a, struct aggr_stats *st)
{
    *st = a->st;
}
