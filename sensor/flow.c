/* flow.c - see flow.h. */
#include "flow.h"

#include "hugemem.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* One multiply-add per address: the hash only spreads keys over buckets (the key
 * comparison decides identity), and the final mix64 avalanches what the folds leave */
static inline uint64_t addr_fold(const struct ev_addr *a)
{
    uint64_t lo, hi;
    memcpy(&hi, a->b, 8);
    memcpy(&lo, a->b + 8, 8);
    return (lo + hi * 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;
}

uint64_t flow_hash(const struct ev_addr *src, const struct ev_addr *dst, uint16_t sport,
                   uint16_t dport, uint8_t proto, uint16_t vlan)
{
    /* order-independent combination of the two endpoints */
    uint64_t x = addr_fold(src) + ((uint64_t)sport << 1);
    uint64_t y = addr_fold(dst) + ((uint64_t)dport << 1);
    uint64_t lo = x < y ? x : y, hi = x < y ? y : x;
    return mix64(lo * 0x9e3779b97f4a7c15ULL ^ hi ^ ((uint64_t)proto << 16 | vlan));
}

uint64_t flow_make_id(const struct flow_key *k, uint64_t first_us)
{
    uint64_t h = flow_hash(&k->a, &k->b, k->ap, k->bp, k->proto, k->vlan);
    h = mix64(h ^ mix64(first_us));
    return h & ((1ULL << 53) - 1);
}

int flow_table_init(struct flow_table *t, uint32_t max_flows,
                    const uint32_t timeouts_s[FLOW_CLASSES], flow_end_fn on_end, void *ctx)
{
    memset(t, 0, sizeof(*t));
    uint64_t n = 1024;
    while (n < (uint64_t)max_flows)
        n <<= 1;
    /* looked up at random per packet: huge pages spare a TLB miss per lookup */
    t->buckets = huge_alloc(n * sizeof(*t->buckets), 1);
    if (!t->buckets) return -1;
    t->mask = n - 1;
    t->max_flows = max_flows;
    for (int i = 0; i < FLOW_CLASSES; i++)
        t->timeout_us[i] = (uint64_t)timeouts_s[i] * 1000000ULL;
    t->on_end = on_end;
    t->ctx = ctx;
    return 0;
}

static void list_remove(struct flow_table *t, struct flow *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        t->head[f->cls] = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        t->tail[f->cls] = f->prev;
    f->prev = f->next = NULL;
}

static void list_append(struct flow_table *t, struct flow *f)
{
    f->next = NULL;
    f->prev = t->tail[f->cls];
    if (f->prev)
        f->prev->next = f;
    else
        t->head[f->cls] = f;
    t->tail[f->cls] = f;
}

static void hash_remove(struct flow_table *t, struct flow *f)
{
    struct flow **pp = &t->buckets[f->hash & t->mask];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp) *pp = f->hnext;
}

void flow_end(struct flow_table *t, struct flow *f, int reason)
{
    f->end_reason = (uint8_t)reason;
    if (t->on_end) t->on_end(t->ctx, f, reason);
    hash_remove(t, f);
    list_remove(t, f);
    t->stats.ended++;
    t->stats.active--;
    if (reason == FLOW_END_TIMEOUT)
        t->stats.expired++;
    else if (reason == FLOW_END_EVICTED)
        t->stats.evicted++;
    f->hnext = t->free_list;
    t->free_list = f;
}

void flow_table_destroy(struct flow_table *t)
{
    for (int c = 0; c < FLOW_CLASSES; c++)
        while (t->head[c])
            flow_end(t, t->head[c], FLOW_END_SHUTDOWN);
    while (t->free_list) {
        struct flow *n = t->free_list->hnext;
        free(t->free_list);
        t->free_list = n;
    }
    free(t->buckets);
    t->buckets = NULL;
}

static inline int addr_eq(const struct ev_addr *x, const struct ev_addr *y)
{
    return memcmp(x->b, y->b, 16) == 0;
}

struct flow *flow_find(struct flow_table *t, uint64_t hash, const struct ev_addr *src,
                       const struct ev_addr *dst, uint16_t sport, uint16_t dport, uint8_t proto,
                       uint16_t vlan, int *dir)
{
    for (struct flow *f = t->buckets[hash & t->mask]; f; f = f->hnext) {
        if (f->hash != hash || f->key.proto != proto || f->key.vlan != vlan) continue;
        if (f->key.ap == sport && f->key.bp == dport && addr_eq(&f->key.a, src) &&
            addr_eq(&f->key.b, dst)) {
            *dir = 0;
            return f;
        }
        if (f->key.ap == dport && f->key.bp == sport && addr_eq(&f->key.a, dst) &&
            addr_eq(&f->key.b, src)) {
            *dir = 1;
            return f;
        }
    }
    return NULL;
}

static struct flow *oldest(struct flow_table *t)
{
    struct flow *o = NULL;
    for (int c = 0; c < FLOW_CLASSES; c++)
        if (t->head[c] && (!o || t->head[c]->lru_us < o->lru_us)) o = t->head[c];
    return o;
}

struct flow *flow_create(struct flow_table *t, uint64_t hash, const struct flow_key *key,
                         uint64_t ts_us)
{
    if (t->stats.active >= t->max_flows) {
        struct flow *o = oldest(t);
        if (o) flow_end(t, o, FLOW_END_EVICTED);
    }
    struct flow *f = t->free_list;
    if (f)
        t->free_list = f->hnext;
    else if (!(f = malloc(sizeof(*f))))
        return NULL;
    memset(f, 0, sizeof(*f));
    f->hash = hash;
    f->key = *key;
    f->first_us = f->last_us = f->lru_us = ts_us;
    f->flow_id = flow_make_id(key, ts_us);
    f->cls = key->proto == 6 ? FLOW_TCP_NEW : key->proto == 17 ? FLOW_UDP : FLOW_OTHER;
    struct flow **b = &t->buckets[hash & t->mask];
    f->hnext = *b;
    *b = f;
    list_append(t, f);
    t->stats.created++;
    if (++t->stats.active > t->stats.max_active) t->stats.max_active = t->stats.active;
    return f;
}

/* Moving a flow to its list's tail touches two neighbours (cache misses), so a
 * flow is moved at most once per LRU_SLACK_US of packet time; flow_expire()
 * re-files a head flow that was touched since it was placed. */
#define LRU_SLACK_US 1000000ULL

void flow_touch(struct flow_table *t, struct flow *f, uint64_t ts_us, int cls)
{
    if (ts_us > f->last_us) f->last_us = ts_us;
    if (f->cls == cls && (t->tail[cls] == f || f->last_us - f->lru_us < LRU_SLACK_US)) return;
    list_remove(t, f);
    f->cls = (uint8_t)cls;
    f->lru_us = f->last_us;
    list_append(t, f);
}

int flow_is_expired(const struct flow_table *t, const struct flow *f, uint64_t now_us)
{
    return now_us > f->last_us && now_us - f->last_us > t->timeout_us[f->cls];
}

uint32_t flow_expire(struct flow_table *t, uint64_t now_us)
{
    uint32_t n = 0;
    for (int c = 0; c < FLOW_CLASSES; c++) {
        struct flow *f;
        while ((f = t->head[c]) != NULL) {
            if (flow_is_expired(t, f, now_us)) {
                flow_end(t, f, FLOW_END_TIMEOUT);
                n++;
            } else if (f->last_us != f->lru_us && f != t->tail[c]) {
                /* seen since it was filed: move it to where its time belongs */
                list_remove(t, f);
                f->lru_us = f->last_us;
                list_append(t, f);
            } else {
                break;
            }
        }
    }
    return n;
}
