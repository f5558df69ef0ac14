/* aggregate.c - see aggregate.h. */
#include "aggregate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"

#define NIL      UINT32_MAX
#define KEY_LEN  39 /* sid, has_ip, VLAN, source, destination */
#define US_PER_S 1000000ull

struct aent {
    uint32_t hnext;      /* hash chain, or the free list */
    uint32_t prev, next; /* open windows, oldest first */
    uint64_t h;
    uint8_t key[KEY_LEN];
    uint64_t t0;          /* the window's first alert (@timestamp) */
    uint64_t first_count; /* that alert's own count */
    uint64_t m_count;     /* merged since: their counts summed */
    uint64_t m_start, m_end;
    char *json; /* the first merged alert, the summary's template */
    size_t jlen;
    struct alert_span span[ALERT_SPANS]; /* the template's fields */
};

struct aggr {
    uint64_t window_us;
    uint32_t window_s, max_keys;
    struct aent *ents;
    uint32_t *buckets; /* entry index + 1; 0: empty (calloc: pages touched as used) */
    uint32_t nbuckets; /* a power of two */
    uint32_t hw;       /* entries ever used: those above are untouched */
    uint32_t free_head, head, tail;
    uint64_t now_us;
    char *out; /* summary being built */
    size_t out_cap;
    struct aggr_stats st;
};

/* The header's spans: in the text, in order, not overlapping (absent ones skipped). */
static int spans_ok(const struct alert_hdr *h, size_t len)
{
    size_t end = 0;
    for (int f = 0; f < ALERT_SPANS; f++) {
        const struct alert_span *sp = &h->span[f];
        if (!sp->len) continue;
        if (sp->off < end || sp->len > len || sp->off > len - sp->len) return 0;
        end = (size_t)sp->off + sp->len;
    }
    return 1;
}

/* ---- the table ---- */

static uint64_t fnv(const uint8_t *k, size_t n)
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
    /* every worker has a table: entries and buckets cost memory only once used */
    a->ents = calloc(max_keys, sizeof(*a->ents));
    a->buckets = calloc(a->nbuckets, sizeof(*a->buckets));
    if (!a->ents || !a->buckets) {
        aggr_free(a);
        return NULL;
    }
    a->free_head = NIL;
    a->head = a->tail = NIL;
    return a;
}

void aggr_free(struct aggr *a)
{
    if (!a) return;
    if (a->ents)
        for (uint32_t i = 0; i < a->hw; i++)
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

static uint32_t lookup(const struct aggr *a, uint64_t h, const uint8_t *k)
{
    for (uint32_t x = a->buckets[h & (a->nbuckets - 1)] - 1; x != NIL; x = a->ents[x].hnext) {
        const struct aent *e = &a->ents[x];
        if (e->h == h && !memcmp(e->key, k, KEY_LEN)) return x;
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
    struct alert_span at;
    char txt[128];
    size_t len;
};

/* Sends the window's summary if anything was merged into it, and empties it. */
static void close_window(struct aggr *a, struct aent *e, aggr_emit_fn emit, void *ctx)
{
    if (!e->m_count || !e->json) goto out;
    /* replacements, in the order they appear in the text (spans_ok) */
    struct rep rep[ALERT_SPANS];
    int nrep = 0;
    char tsb[48];
    struct jbuf tj;
    for (int f = 0; f < ALERT_SPANS; f++) {
        if (!e->span[f].len) continue;
        jbuf_init(&tj, tsb, sizeof(tsb));
        if (f == ALERT_SPAN_COUNT) {
            uint64_t total = e->m_count + e->first_count;
            rep[nrep].len = (size_t)snprintf(rep[nrep].txt, sizeof(rep[nrep].txt),
                                             "%llu,\"aggregated\":{\"window_s\":%u,\"total\":%llu}",
                                             (unsigned long long)e->m_count, a->window_s,
                                             (unsigned long long)total);
        } else {
            jbuf_ts(&tj, f == ALERT_SPAN_END ? e->m_end : e->m_start);
            memcpy(rep[nrep].txt, tsb, tj.len);
            rep[nrep].len = tj.len;
        }
        rep[nrep].at = e->span[f];
        nrep++;
    }
    if (out_room(a, e->jlen + ALERT_SPANS * 128) != 0)
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
    uint32_t *bucket = &a->buckets[e->h & (a->nbuckets - 1)];
    if (*bucket - 1 == x) {
        *bucket = e->hnext + 1; /* NIL + 1 is 0: empty */
    } else {
        uint32_t p = *bucket - 1;
        while (a->ents[p].hnext != x)
            p = a->ents[p].hnext;
        a->ents[p].hnext = e->hnext;
    }
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

/* The key: sid, whether there are addresses, the VLAN and the two addresses. */
static uint64_t make_key(const struct alert_hdr *h, uint8_t key[KEY_LEN])
{
    static const uint8_t zero[16];
    memcpy(key, &h->sid, 4);
    key[4] = h->has_ip != 0;
    memcpy(key + 5, &h->vlan, 2);
    memcpy(key + 7, h->has_ip ? h->src.b : zero, 16);
    memcpy(key + 23, h->has_ip ? h->dst.b : zero, 16);
    return fnv(key, KEY_LEN);
}

/* Folds an alert into window e, whose template is set. */
static void merge(struct aggr *a, struct aent *e, uint64_t start, uint64_t end, uint64_t count)
{
    if (start < e->m_start) e->m_start = start;
    if (end > e->m_end) e->m_end = end;
    e->m_count += count;
    a->st.merged++;
}

int aggr_count_only(struct aggr *a, const struct alert_hdr *h, aggr_emit_fn emit, void *ctx)
{
    if (!h->ok) return 0;
    uint8_t key[KEY_LEN];
    uint64_t hash = make_key(h, key);
    aggr_tick(a, h->ts_us, emit, ctx);
    uint32_t x = lookup(a, hash, key);
    if (x == NIL || !a->ents[x].json || h->ts_us > a->ents[x].t0 + a->window_us) return 0;
    a->st.in++;
    merge(a, &a->ents[x], h->start_us, h->end_us, h->count ? h->count : 1);
    return 1;
}

void aggr_alert_hdr(struct aggr *a, const struct alert_hdr *h, const char *json, size_t len,
                    aggr_emit_fn emit, void *ctx)
{
    a->st.in++;
    if (!h || !h->ok || !spans_ok(h, len)) {
        a->st.unparsed++;
        a->st.passed++;
        emit(ctx, json, len);
        return;
    }
    uint8_t key[KEY_LEN];
    uint64_t hash = make_key(h, key);
    uint64_t ts = h->ts_us;
    uint64_t count = h->count ? h->count : 1;
    aggr_tick(a, ts, emit, ctx);

    uint32_t x = lookup(a, hash, key);
    if (x != NIL && ts > a->ents[x].t0 + a->window_us) {
        retire(a, x, emit, ctx); /* its window is over: this alert opens the next */
        x = NIL;
    }
    if (x != NIL) {
        struct aent *e = &a->ents[x];
        uint64_t s = h->span[ALERT_SPAN_START].len ? h->start_us : ts;
        uint64_t en = h->span[ALERT_SPAN_END].len ? h->end_us : ts;
        if (!e->json) {
            e->json = malloc(len);
            if (!e->json) { /* no template for a summary: send it as it is */
                a->st.passed++;
                emit(ctx, json, len);
                return;
            }
            memcpy(e->json, json, len);
            e->jlen = len;
            memcpy(e->span, h->span, sizeof(e->span));
            e->m_start = s;
            e->m_end = en;
        }
        merge(a, e, s, en, count);
        return;
    }
    if (a->free_head == NIL && a->hw == a->max_keys) {
        a->st.evicted++;
        retire(a, a->head, emit, ctx);
    }
    if (a->free_head != NIL) {
        x = a->free_head;
        a->free_head = a->ents[x].hnext;
    } else {
        x = a->hw++;
    }
    struct aent *e = &a->ents[x];
    e->h = hash;
    memcpy(e->key, key, KEY_LEN);
    e->t0 = ts;
    e->first_count = count;
    e->m_count = 0;
    e->json = NULL;
    uint32_t b = (uint32_t)(hash & (a->nbuckets - 1));
    e->hnext = a->buckets[b] - 1;
    a->buckets[b] = x + 1;
    fifo_push(a, x);
    a->st.open++;
    a->st.passed++;
    emit(ctx, json, len);
}

void aggr_get_stats(const struct aggr *a, struct aggr_stats *st)
{
    *st = a->st;
}
