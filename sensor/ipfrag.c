/* ipfrag.c - IPv4 and IPv6 fragment reassembly (see ipfrag.h).
 *
 * One datagram = key (src, dst, id, IPv4 protocol or 0, version), a byte buffer
 * indexed by fragment offset, and the sorted list of byte ranges received. The
 * policy is Suricata's "first": a byte, once held, is never replaced; a later
 * fragment that covers it with a different value raises DEC_FRAG_OVERLAP. The
 * header comes from the offset-0 fragment (IPv4: its header with options; IPv6:
 * the unfragmentable part, i.e. everything before the fragment header).
 *
 * Output: IPv4 - total length set, MF and offset cleared (DF and the reserved
 * bit kept), header checksum recomputed. IPv6 - fragment header removed, payload
 * length set, the next-header byte that named it now names what followed it.
 *
 * Bounds: max_datagrams and max_bytes (buffers, headers and per-datagram state)
 * evict the oldest incomplete datagram; a datagram whose fragments leave more
 * than IPFRAG_MAX_RANGES holes is dropped; anything over 65535 is dropped. The
 * only allocations are per datagram, never per ordinary packet. */
#include "ipfrag.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"

#define IPFRAG_MAX_RANGES 64
#define IPFRAG_DATA_MAX   65535u
#define IPFRAG_OUT_MAX    (65535u + 40u) /* IPv6: 40-byte header + payload length */

struct ipfrag_range {
    uint32_t start, end;
};

struct ipfrag_key {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t proto; /* IPv4 protocol; 0 for IPv6, whose key has none (RFC 8200) */
    uint8_t version;
    uint8_t pad[2];
};

struct ipfrag_dgram {
    struct ipfrag_key key;
    uint32_t hash;
    struct ipfrag_dgram *hnext;         /* hash chain */
    struct ipfrag_dgram *older, *newer; /* age list, oldest at the table's head */
    uint64_t first_ts;
    uint8_t *data; /* payload bytes by offset */
    uint32_t cap;
    uint8_t *hdr; /* header of the offset-0 fragment */
    uint32_t hdr_len;
    uint32_t nh_at;   /* IPv6: offset in hdr of the next-header byte that said 44 */
    uint8_t nh_value; /* IPv6: what it must say after reassembly */
    uint8_t have_total;
    uint32_t total; /* payload length, once the last fragment came */
    size_t bytes;   /* accounted against max_bytes */
    uint16_t nranges;
    struct ipfrag_range ranges[IPFRAG_MAX_RANGES];
};

struct ipfrag_table {
    size_t max_datagrams, max_bytes;
    uint64_t timeout_us;
    struct ipfrag_dgram **buckets;
    size_t mask;
    struct ipfrag_dgram *oldest, *newest;
    size_t count, bytes;
    uint8_t *out;     /* the reassembled packet handed back */
    uint8_t *scratch; /* a copy of the fragment being added */
    struct ipfrag_stats stats;
};

struct ipfrag_table *ipfrag_new(size_t max_datagrams, size_t max_bytes, uint64_t timeout_us)
{
    struct ipfrag_table *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->max_datagrams = max_datagrams ? max_datagrams : 1;
    t->max_bytes = max_bytes;
    t->timeout_us = timeout_us;
    size_t n = 16;
    while (n < t->max_datagrams && n < ((size_t)1 << 20))
        n <<= 1;
    t->mask = n - 1;
    t->buckets = calloc(n, sizeof(*t->buckets));
    t->out = malloc(IPFRAG_OUT_MAX);
    t->scratch = malloc(IPFRAG_OUT_MAX);
    if (!t->buckets || !t->out || !t->scratch) {
        ipfrag_free(t);
        return NULL;
    }
    return t;
}

static void ipfrag_dgram_free(struct ipfrag_dgram *g)
{
    free(g->data);
    free(g->hdr);
    free(g);
}

void ipfrag_free(struct ipfrag_table *t)
{
    if (!t) return;
    struct ipfrag_dgram *g = t->oldest;
    while (g) {
        struct ipfrag_dgram *next = g->newer;
        ipfrag_dgram_free(g);
        g = next;
    }
    free(t->buckets);
    free(t->out);
    free(t->scratch);
    free(t);
}

const struct ipfrag_stats *ipfrag_stats(struct ipfrag_table *t)
{
    t->stats.held = t->count;
    t->stats.held_bytes = t->bytes;
    return &t->stats;
}

static uint32_t ipfrag_hash(const struct ipfrag_key *k)
{
    const uint8_t *p = (const uint8_t *)k; /* our own key, not packet bytes */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < sizeof(*k); i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static struct ipfrag_dgram *ipfrag_lookup(struct ipfrag_table *t, const struct ipfrag_key *k,
                                          uint32_t hash)
{
    for (struct ipfrag_dgram *g = t->buckets[hash & t->mask]; g; g = g->hnext)
        if (g->hash == hash && memcmp(&g->key, k, sizeof(*k)) == 0) return g;
    return NULL;
}

static void ipfrag_remove(struct ipfrag_table *t, struct ipfrag_dgram *g)
{
    struct ipfrag_dgram **pp = &t->buckets[g->hash & t->mask];
    while (*pp != g)
        pp = &(*pp)->hnext;
    *pp = g->hnext;
    if (g->older)
        g->older->newer = g->newer;
    else
        t->oldest = g->newer;
    if (g->newer)
        g->newer->older = g->older;
    else
        t->newest = g->older;
    t->count--;
    t->bytes -= g->bytes;
    ipfrag_dgram_free(g);
}

size_t ipfrag_expire(struct ipfrag_table *t, uint64_t now_us)
{
    size_t n = 0;
    while (t->oldest && now_us - t->oldest->first_ts > t->timeout_us &&
           now_us > t->oldest->first_ts) {
        ipfrag_remove(t, t->oldest);
        n++;
    }
    t->stats.timeouts += n;
    return n;
}

/* Makes room for `need` more bytes by dropping the oldest datagrams other than
 * `keep`. Returns 0 if even that is not enough. */
static int ipfrag_make_room(struct ipfrag_table *t, size_t need, struct ipfrag_dgram *keep,
                            int *anomaly)
{
    while (t->bytes + need > t->max_bytes) {
        struct ipfrag_dgram *victim = t->oldest;
        if (victim && victim == keep) victim = victim->newer;
        if (!victim) return 0;
        ipfrag_remove(t, victim);
        t->stats.dropped_cap++;
        *anomaly = DEC_FRAG_CAP;
    }
    return 1;
}

static struct ipfrag_dgram *ipfrag_create(struct ipfrag_table *t, const struct ipfrag_key *k,
                                          uint32_t hash, uint64_t ts, int *anomaly)
{
    if (t->count >= t->max_datagrams) {
        ipfrag_remove(t, t->oldest);
        t->stats.dropped_cap++;
        *anomaly = DEC_FRAG_CAP;
    }
    if (!ipfrag_make_room(t, sizeof(struct ipfrag_dgram), NULL, anomaly)) return NULL;
    struct ipfrag_dgram *g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    g->key = *k;
    g->hash = hash;
    g->first_ts = ts;
    g->bytes = sizeof(*g);
    g->hnext = t->buckets[hash & t->mask];
    t->buckets[hash & t->mask] = g;
    g->older = t->newest;
    if (t->newest)
        t->newest->newer = g;
    else
        t->oldest = g;
    t->newest = g;
    t->count++;
    t->bytes += g->bytes;
    return g;
}

/* Grows g->data to hold `end` bytes. */
static int ipfrag_reserve(struct ipfrag_table *t, struct ipfrag_dgram *g, uint32_t end,
                          int *anomaly)
{
    if (end <= g->cap) return 1;
    uint32_t cap = g->cap ? g->cap : 2048;
    while (cap < end)
        cap *= 2;
    if (cap > IPFRAG_DATA_MAX) cap = IPFRAG_DATA_MAX;
    if (!ipfrag_make_room(t, cap - g->cap, g, anomaly)) return 0;
    uint8_t *p = realloc(g->data, cap);
    if (!p) return 0;
    t->bytes += cap - g->cap;
    g->bytes += cap - g->cap;
    g->data = p;
    g->cap = cap;
    return 1;
}

/* IPv6: finds the next-header byte in the unfragmentable part that names the
 * fragment header. The chain was checked by the decoder; this re-reads our copy. */
static int ipfrag_find_nh(const uint8_t *hdr, uint32_t len, uint32_t *at)
{
    struct cursor c = cursor_make(hdr, len);
    cursor_skip(&c, 6);
    uint8_t nh = cursor_u8(&c);
    uint32_t nh_at = 6;
    cursor_skip(&c, 33);
    while (c.err == CURSOR_OK && cursor_left(&c) > 0) {
        nh_at = (uint32_t)cursor_pos(&c);
        uint8_t next = cursor_u8(&c);
        size_t l = cursor_u8(&c);
        cursor_skip(&c, (nh == 51 ? (l + 2) * 4 : nh == 44 ? 8 : (l + 1) * 8) - 2);
        nh = next;
    }
    *at = nh_at;
    return c.err == CURSOR_OK && nh == 44;
}

/* Copies the bytes of [s, e) not held yet from src (indexed from s) and compares
 * those already held; then records the range. Returns 1 if a held byte differed. */
static int ipfrag_merge(struct ipfrag_dgram *g, uint32_t s, uint32_t e, const uint8_t *src)
{
    int differ = 0;
    uint32_t pos = s;
    uint16_t i;
    for (i = 0; i < g->nranges && pos < e; i++) {
        const struct ipfrag_range *r = &g->ranges[i];
        if (r->end <= pos) continue;
        if (r->start >= e) break;
        if (r->start > pos) {
            memcpy(g->data + pos, src + (pos - s), r->start - pos);
            pos = r->start;
        }
        uint32_t oe = r->end < e ? r->end : e;
        if (memcmp(g->data + pos, src + (pos - s), oe - pos) != 0) differ = 1;
        pos = oe;
    }
    if (pos < e) memcpy(g->data + pos, src + (pos - s), e - pos);

    /* replace the ranges that overlap or touch [s, e] by their union */
    uint16_t lo = 0;
    while (lo < g->nranges && g->ranges[lo].end < s)
        lo++;
    uint16_t hi = lo;
    while (hi < g->nranges && g->ranges[hi].start <= e)
        hi++;
    struct ipfrag_range u = {s, e};
    if (hi > lo) {
        if (g->ranges[lo].start < u.start) u.start = g->ranges[lo].start;
        if (g->ranges[hi - 1].end > u.end) u.end = g->ranges[hi - 1].end;
    }
    /* hi - lo ranges become one; the caller checked there is room when hi == lo */
    memmove(&g->ranges[lo + 1], &g->ranges[hi], (size_t)(g->nranges - hi) * sizeof(u));
    g->ranges[lo] = u;
    g->nranges = (uint16_t)(g->nranges - (hi - lo) + 1);
    return differ;
}

/* Whether [s, e] would need a new range slot. */
static int ipfrag_needs_slot(const struct ipfrag_dgram *g, uint32_t s, uint32_t e)
{
    for (uint16_t i = 0; i < g->nranges; i++)
        if (g->ranges[i].end >= s && g->ranges[i].start <= e) return 0;
    return 1;
}

static uint16_t ipfrag_ip_checksum(const uint8_t *h, uint32_t len)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)h[i] << 8 | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void ipfrag_drop(struct ipfrag_table *t, struct ipfrag_dgram *g)
{
    if (g) ipfrag_remove(t, g);
}

int ipfrag_add(struct ipfrag_table *t, const struct decoded *d, const uint8_t *frame,
               uint64_t ts_us, const uint8_t **out, uint32_t *out_len, int *anomaly)
{
    *anomaly = DEC_NONE;
    *out = NULL;
    *out_len = 0;
    if (d->kind != DECODED_FRAGMENT || (d->ip_version != 4 && d->ip_version != 6)) return -1;
    t->stats.fragments++;

    /* Re-read the declared length: a fragment cut by the snap length cannot be
     * placed (its end, and for the last one the datagram's size, would be wrong). */
    struct cursor c = cursor_make(frame, (size_t)d->l3_off + d->l3_len);
    uint32_t hdr_len, declared;
    if (d->ip_version == 4) {
        cursor_skip(&c, (size_t)d->l3_off + 2);
        declared = cursor_u16be(&c);
        hdr_len = d->frag_data_off - d->l3_off;
    } else {
        cursor_skip(&c, (size_t)d->l3_off + 4);
        declared = 40u + cursor_u16be(&c);
        hdr_len = d->frag_hdr_off - d->l3_off;
    }
    if (c.err || declared > d->l3_len || d->frag_data_off > d->l3_off + d->l3_len ||
        hdr_len > d->l3_len) {
        *anomaly = d->ip_version == 4 ? DEC_IPV4_TRUNCATED : DEC_IPV6_TRUNCATED;
        return -1;
    }
    uint32_t data_len = d->l3_off + d->l3_len - d->frag_data_off;
    c = cursor_make(frame, (size_t)d->l3_off + d->l3_len);
    cursor_skip(&c, d->frag_data_off);
    if (!cursor_copy(&c, t->scratch, data_len)) {
        *anomaly = d->ip_version == 4 ? DEC_IPV4_TRUNCATED : DEC_IPV6_TRUNCATED;
        return -1;
    }

    struct ipfrag_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.src, d->src.b, 16);
    memcpy(k.dst, d->dst.b, 16);
    k.id = d->frag_id;
    k.proto = d->ip_version == 4 ? d->l4proto : 0;
    k.version = d->ip_version;
    uint32_t hash = ipfrag_hash(&k);
    struct ipfrag_dgram *g = ipfrag_lookup(t, &k, hash);
    if (g && ts_us - g->first_ts > t->timeout_us && ts_us > g->first_ts) {
        ipfrag_remove(t, g);
        t->stats.timeouts++;
        *anomaly = DEC_FRAG_TIMEOUT;
        g = NULL;
    }
    ipfrag_expire(t, ts_us);

    uint32_t s = d->frag_offset, e = s + data_len;
    /* bytes the reassembled packet's length field must count besides the data */
    uint32_t extra = d->ip_version == 4 ? hdr_len : hdr_len - 40;
    if (e + extra > IPFRAG_DATA_MAX) {
        ipfrag_drop(t, g);
        t->stats.too_large++;
        *anomaly = DEC_FRAG_TOO_LARGE;
        return -1;
    }
    if (g) {
        uint32_t max_end = g->nranges ? g->ranges[g->nranges - 1].end : 0;
        if ((g->have_total && (e > g->total || (!d->more_frags && e != g->total))) ||
            (!g->have_total && !d->more_frags && max_end > e)) {
            /* contradicts the datagram's size: the first word stands */
            t->stats.overlaps++;
            *anomaly = DEC_FRAG_OVERLAP;
            return -1;
        }
    } else {
        g = ipfrag_create(t, &k, hash, ts_us, anomaly);
        if (!g) {
            t->stats.dropped_cap++;
            *anomaly = DEC_FRAG_CAP;
            return -1;
        }
    }

    if (s < e && g->nranges >= IPFRAG_MAX_RANGES && ipfrag_needs_slot(g, s, e)) {
        ipfrag_drop(t, g);
        t->stats.dropped_cap++;
        *anomaly = DEC_FRAG_CAP;
        return -1;
    }
    if (!ipfrag_reserve(t, g, e, anomaly)) {
        ipfrag_drop(t, g);
        t->stats.dropped_cap++;
        *anomaly = DEC_FRAG_CAP;
        return -1;
    }
    if (s == 0 && !g->hdr) {
        if (!ipfrag_make_room(t, hdr_len, g, anomaly) || !(g->hdr = malloc(hdr_len))) {
            ipfrag_drop(t, g);
            t->stats.dropped_cap++;
            *anomaly = DEC_FRAG_CAP;
            return -1;
        }
        c = cursor_make(frame, (size_t)d->l3_off + d->l3_len);
        cursor_skip(&c, d->l3_off);
        cursor_copy(&c, g->hdr, hdr_len); /* hdr_len <= l3_len, checked above */
        g->hdr_len = hdr_len;
        g->bytes += hdr_len;
        t->bytes += hdr_len;
        if (d->ip_version == 6) {
            g->nh_value = d->l4proto;
            if (!ipfrag_find_nh(g->hdr, hdr_len, &g->nh_at)) {
                ipfrag_drop(t, g);
                *anomaly = DEC_IPV6_EXTHDR_TRUNCATED;
                return -1;
            }
        }
    }
    if (!d->more_frags) {
        g->have_total = 1;
        g->total = e;
    }
    if (s < e && ipfrag_merge(g, s, e, t->scratch)) {
        t->stats.overlaps++;
        *anomaly = DEC_FRAG_OVERLAP;
    }

    if (!g->have_total || !g->hdr || g->nranges != 1 || g->ranges[0].start != 0 ||
        g->ranges[0].end != g->total)
        return 0;

    uint32_t len = g->hdr_len + g->total;
    if ((g->key.version == 4 ? len : len - 40) > IPFRAG_DATA_MAX) {
        ipfrag_drop(t, g);
        t->stats.too_large++;
        *anomaly = DEC_FRAG_TOO_LARGE;
        return -1;
    }
    uint8_t *o = t->out;
    memcpy(o, g->hdr, g->hdr_len);
    memcpy(o + g->hdr_len, g->data, g->total);
    if (g->key.version == 4) {
        o[2] = (uint8_t)(len >> 8);
        o[3] = (uint8_t)len;
        o[6] &= 0xc0; /* keep reserved and DF, clear MF and the offset */
        o[7] = 0;
        o[10] = o[11] = 0;
        uint16_t sum = ipfrag_ip_checksum(o, g->hdr_len);
        o[10] = (uint8_t)(sum >> 8);
        o[11] = (uint8_t)sum;
    } else {
        o[4] = (uint8_t)((len - 40) >> 8);
        o[5] = (uint8_t)(len - 40);
        o[g->nh_at] = g->nh_value;
    }
    ipfrag_remove(t, g);
    t->stats.reassembled++;
    *out = o;
    *out_len = len;
    return 1;
}
