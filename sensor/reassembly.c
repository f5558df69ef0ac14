/* reassembly.c - TCP stream reassembly, one direction at a time (see reassembly.h).
 *
 * Held data is a singly linked list of segments, sorted by sequence number and
 * non-overlapping, every one starting strictly after next_seq. A new segment is cut
 * into the pieces the held list does not already cover ("first copy wins"); a piece
 * at next_seq is delivered straight from the caller's buffer, a later one is copied
 * into one malloc'd segment. Everything kept stays within REASM_WINDOW of next_seq,
 * so serial comparisons (RFC 1982 style) are never ambiguous.
 *
 * At a cap (or when malloc fails) nothing more is held for the rest of the call: the
 * held data and the rest of the new segment are delivered in sequence order, with
 * gaps for the holes, so a new segment that falls before held data is not lost.
 * Bytes arriving behind next_seq after a gap was declared are dropped (and counted as
 * retransmissions: there is nothing left to compare them with).
 *
 * Not re-entrant: the output callback must not call back into the same direction. */
#include "reassembly.h"

#include <stdlib.h>
#include <string.h>

/* TCP windows are at most 2^30 bytes (window scale 14): data further ahead or behind
 * than this cannot belong to the connection. */
#define REASM_WINDOW (UINT32_C(1) << 30)

struct reasm_seg {
    struct reasm_seg *next;
    uint32_t seq;
    uint32_t len;
    uint8_t data[];
};

/* a - b as a signed distance on the 2^32 circle */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static inline int seq_lt(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) < 0;
}

static inline int seq_le(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) <= 0;
}

/* The difference of two overlapping byte ranges, for counting and flags. */
struct reasm_cmp {
    uint32_t seen;   /* bytes of the segment already delivered or held */
    uint32_t differ; /* bytes (of those compared) that differ from the first copy */
};

void reasm_global_init(struct reasm_global *g, const struct reasm_config *cfg)
{
    memset(g, 0, sizeof(*g));
    g->cfg = *cfg;
}

void reasm_syn(struct reasm_dir *d, uint32_t isn)
{
    /* A SYN once the stream has started (port reuse, a forged SYN) is the engine's call. */
    if (d->state != REASM_NONE) return;
    d->state = REASM_STARTED;
    d->next_seq = isn + 1;
}

/* The scale of the windows x advertises, from what the two SYNs said. */
static void wscale_set(struct reasm_dir *x, const struct reasm_dir *other)
{
    unsigned shift = 14; /* unknown: the largest */
    if (x->ws_opt == 1 || other->ws_opt == 1)
        shift = 0; /* a SYN without the option: no scaling */
    else if (x->ws_opt >= 2)
        shift = x->ws_opt - 2u; /* its own; if the peer's SYN was missed, a bound */
    x->win_shift_x = (uint8_t)(shift ^ 14);
}

void reasm_wscale(struct reasm_dir *d, struct reasm_dir *peer, int shift)
{
    d->ws_opt = shift < 0 ? 1 : (uint8_t)(2 + (shift > 14 ? 14 : shift));
    wscale_set(d, peer);
    wscale_set(peer, d);
}

void reasm_fin(struct reasm_dir *d, uint32_t seq)
{
    /* first FIN wins, as for data */
    if (d->fin_seen) return;
    d->fin_seen = 1;
    d->fin_seq = seq;
}

/* ---- history of delivered bytes ---- */

static void hist_add(const struct reasm_global *g, struct reasm_dir *d, const uint8_t *p,
                     uint32_t n)
{
    uint32_t cap = d->hist_cap, first;

    if (!d->hist) {
        if (g->cfg.history == 0) return;
        d->hist = malloc(g->cfg.history);
        if (!d->hist) return; /* no history for this direction: overlaps go unchecked */
        d->hist_cap = cap = g->cfg.history;
        d->hist_pos = d->hist_len = 0;
    }
    if (n >= cap) {
        memcpy(d->hist, p + (n - cap), cap);
        d->hist_pos = 0;
        d->hist_len = cap;
        return;
    }
    first = cap - d->hist_pos;
    if (first > n) first = n;
    memcpy(d->hist + d->hist_pos, p, first);
    memcpy(d->hist, p + first, n - first);
    d->hist_pos = (uint32_t)(((uint64_t)d->hist_pos + n) % cap);
    d->hist_len = (uint64_t)d->hist_len + n >= cap ? cap : d->hist_len + n;
}

/* Compares [seq, seq + n), all before next_seq, with the history; counts bytes that
 * could be compared and differ. Bytes older than the history cannot be checked. */
static void hist_compare(const struct reasm_dir *d, uint32_t seq, const uint8_t *p, uint32_t n,
                         struct reasm_cmp *c)
{
    uint32_t back = d->next_seq - seq; /* >= n: distance back from next_seq to seq */
    uint32_t skip, idx, chunk, i;

    c->seen += n;
    if (!d->hist || d->hist_len == 0) return;
    skip = back > d->hist_len ? back - d->hist_len : 0;
    if (skip >= n) return;
    p += skip;
    n -= skip;
    back -= skip;
    idx = (uint32_t)(((uint64_t)d->hist_pos + d->hist_cap - back) % d->hist_cap);
    while (n > 0) {
        chunk = d->hist_cap - idx;
        if (chunk > n) chunk = n;
        if (memcmp(d->hist + idx, p, chunk) != 0) {
            for (i = 0; i < chunk; i++)
                c->differ += d->hist[idx + i] != p[i];
        }
        p += chunk;
        n -= chunk;
        idx = 0;
    }
}

/* ---- output ---- */

static void emit_data(struct reasm_global *g, struct reasm_dir *d, const uint8_t *p, uint32_t n,
                      reasm_out_fn out, void *ctx)
{
    out(ctx, p, n, 0);
    d->next_seq += n;
    g->stats.bytes_delivered += n;
    if (d->hist || g->cfg.history) hist_add(g, d, p, n);
}

/* Declares [next_seq, to) lost. */
static unsigned emit_gap_to(struct reasm_global *g, struct reasm_dir *d, uint32_t to,
                            reasm_out_fn out, void *ctx)
{
    uint32_t n = to - d->next_seq;

    if (!seq_lt(d->next_seq, to)) return 0;
    out(ctx, NULL, 0, n);
    d->next_seq = to;
    g->stats.gaps++;
    g->stats.gap_bytes += n;
    d->hist_len = 0; /* the history must end at next_seq */
    return REASM_EV_GAP;
}

static struct reasm_seg *seg_pop(struct reasm_global *g, struct reasm_dir *d)
{
    struct reasm_seg *s = d->segs;

    d->segs = s->next;
    if (!d->segs) d->tail = NULL;
    d->nsegs--;
    d->held_bytes -= s->len;
    g->stats.held_bytes -= s->len;
    return s;
}

/* Delivers held segments that start before `limit` (all of them if all != 0), with
 * gaps for the holes before them. */
static unsigned flush_held(struct reasm_global *g, struct reasm_dir *d, int all, uint32_t limit,
                           reasm_out_fn out, void *ctx)
{
    unsigned ev = 0;
    struct reasm_seg *s;

    while (d->segs && (all || seq_lt(d->segs->seq, limit))) {
        s = seg_pop(g, d);
        ev |= emit_gap_to(g, d, s->seq, out, ctx);
        emit_data(g, d, s->data, s->len, out, ctx);
        free(s);
    }
    return ev;
}

/* Delivers the held segments that now continue the stream. */
static void drain(struct reasm_global *g, struct reasm_dir *d, reasm_out_fn out, void *ctx)
{
    struct reasm_seg *s;

    while (d->segs && d->segs->seq == d->next_seq) {
        s = seg_pop(g, d);
        emit_data(g, d, s->data, s->len, out, ctx);
        free(s);
    }
}

static int over_cap(const struct reasm_global *g, const struct reasm_dir *d, uint32_t n)
{
    return d->nsegs >= g->cfg.max_segments || (uint64_t)d->held_bytes + n > g->cfg.per_dir_max ||
           g->stats.held_bytes + n > g->cfg.global_max;
}

/* [seq, seq + len), starting at or after next_seq: compare with what is held, deliver or
 * hold the rest. */
static unsigned place(struct reasm_global *g, struct reasm_dir *d, uint32_t seq,
                      const uint8_t *data, uint32_t len, reasm_out_fn out, void *ctx,
                      struct reasm_cmp *c)
{
    uint32_t end = seq + len, pos = seq, pend, lo, hi;
    struct reasm_seg *h, *prev = NULL, *s = NULL;
    unsigned ev = 0;
    int flushing = 0;

    /* First copy wins: compare the parts already held before anything is delivered. */
    if (d->tail && seq_le(d->tail->seq + d->tail->len, seq)) {
        prev = d->tail; /* appending past everything held: nothing to compare */
    } else {
        for (h = d->segs; h && seq_lt(h->seq, end); h = h->next) {
            lo = seq_lt(h->seq, seq) ? seq : h->seq;
            hi = seq_lt(h->seq + h->len, end) ? h->seq + h->len : end;
            if (!seq_lt(lo, hi)) continue;
            c->seen += hi - lo;
            if (memcmp(h->data + (lo - h->seq), data + (lo - seq), hi - lo) != 0) {
                for (uint32_t i = 0; i < hi - lo; i++)
                    c->differ += h->data[lo - h->seq + i] != data[lo - seq + i];
            }
        }
    }

    /* Then walk the pieces not covered. (prev, h) are consecutive in the list. */
    h = prev ? prev->next : d->segs;
    while (seq_lt(pos, end)) {
        while (h && seq_le(h->seq + h->len, pos)) {
            prev = h;
            h = h->next;
        }
        if (h && seq_le(h->seq, pos)) { /* covered by a held copy (compared above) */
            pos = h->seq + h->len;
            continue;
        }
        pend = h && seq_lt(h->seq, end) ? h->seq : end;
        if (pos == d->next_seq) {
            emit_data(g, d, data + (pos - seq), pend - pos, out, ctx);
            drain(g, d, out, ctx);
            /* what was drained covered [pend, next_seq), compared above */
            pos = d->next_seq;
            prev = NULL;
            h = d->segs;
            continue;
        }
        if (!flushing && over_cap(g, d, pend - pos)) {
            flushing = 1;
            g->stats.cap_flushes++;
            ev |= REASM_EV_CAP;
        }
        if (!flushing) {
            s = malloc(sizeof(*s) + (pend - pos));
            if (!s) {
                flushing = 1; /* out of memory behaves as a cap */
                g->stats.cap_flushes++;
                ev |= REASM_EV_CAP;
            }
        }
        if (flushing) {
            /* At a cap nothing more is held: deliver what is held and the rest of this
             * segment in sequence order, with gaps for the holes. */
            ev |= flush_held(g, d, 0, pos, out, ctx);
            ev |= emit_gap_to(g, d, pos, out, ctx);
            emit_data(g, d, data + (pos - seq), pend - pos, out, ctx);
            drain(g, d, out, ctx);
            pos = d->next_seq;
            prev = NULL;
            h = d->segs;
            continue;
        }
        s->seq = pos;
        s->len = pend - pos;
        memcpy(s->data, data + (pos - seq), s->len);
        s->next = h;
        if (prev)
            prev->next = s;
        else
            d->segs = s;
        if (!h) d->tail = s;
        d->nsegs++;
        d->held_bytes += s->len;
        g->stats.held_bytes += s->len;
        ev |= REASM_EV_OUT_OF_ORDER;
        prev = s;
        pos = pend;
    }
    if (flushing) ev |= flush_held(g, d, 1, 0, out, ctx);
    return ev;
}

unsigned reasm_data(struct reasm_global *g, struct reasm_dir *d, uint32_t seq, const uint8_t *data,
                    uint32_t len, reasm_out_fn out, void *ctx)
{
    struct reasm_cmp c = {0, 0};
    uint32_t orig_len = len, k;
    int64_t rel;
    unsigned ev = 0;

    if (len == 0 || !data) return 0;
    g->stats.segments++;
    /* The common case: the next bytes, nothing held. No copy but into the history. */
    if (seq == d->next_seq && d->state == REASM_STARTED && !d->segs) {
        d->data_seen = 1;
        emit_data(g, d, data, len, out, ctx);
        return 0;
    }
    if (len > REASM_WINDOW) {
        g->stats.garbage++;
        return REASM_EV_GARBAGE;
    }
    if (d->state == REASM_NONE) { /* mid-stream pick-up */
        d->state = REASM_STARTED;
        d->next_seq = seq;
    }
    rel = seq_diff(seq, d->next_seq);
    if (!d->data_seen) {
        /* Only a SYN so far. Data before its ISN + 1, or beyond any window of it, means
         * the SYN was not this stream's (stale, or forged to blind us): start from the
         * data, as in a mid-stream pick-up. A keepalive's junk byte is not data. */
        if (len == 1 && rel == -1) {
            g->stats.retransmissions++;
            return REASM_EV_RETRANSMIT;
        }
        if (rel < 0 || rel + len > (int64_t)REASM_WINDOW) {
            d->next_seq = seq;
            rel = 0;
        }
        d->data_seen = 1;
    } else if (rel + len > (int64_t)REASM_WINDOW || rel < -(int64_t)REASM_WINDOW) {
        g->stats.garbage++;
        return REASM_EV_GARBAGE;
    } else if (rel > 0 && d->win_known && seq_lt(d->win_edge, seq)) {
        /* starts after the right edge of the receiver's window: not this stream's */
        g->stats.beyond_window++;
        return REASM_EV_BEYOND_WINDOW;
    }
    if (rel < 0) {
        k = (uint32_t)-rel;
        if (k > len) k = len;
        if (len == 1 && rel == -1)
            c.seen += 1; /* keepalive: one junk byte before next_seq, by design */
        else
            hist_compare(d, seq, data, k, &c);
        seq += k;
        data += k;
        len -= k;
    }
    if (len > 0) ev |= place(g, d, seq, data, len, out, ctx, &c);
    if (ev & REASM_EV_OUT_OF_ORDER) g->stats.out_of_order++;
    if (c.seen) {
        if (c.seen == orig_len)
            g->stats.retransmissions++;
        else
            g->stats.overlaps++;
        if (c.differ) {
            g->stats.overlaps_changed++;
            ev |= REASM_EV_OVERLAP_CHANGED;
        } else {
            ev |= REASM_EV_RETRANSMIT;
        }
    }
    return ev;
}

unsigned reasm_ack(struct reasm_global *g, struct reasm_dir *d, uint32_t ack, reasm_out_fn out,
                   void *ctx)
{
    int32_t rel;
    unsigned ev;

    /* Before any data the ISN alone is too weak a reason to declare bytes lost. */
    if (d->state != REASM_STARTED || !d->data_seen) return 0;
    rel = seq_diff(ack, d->next_seq);
    if (rel <= 0 || (uint32_t)rel > REASM_WINDOW) return 0;
    /* The FIN takes one sequence number: acknowledging it loses no data. */
    if (d->fin_seen && seq_le(d->next_seq, d->fin_seq) && seq_lt(d->fin_seq, ack)) ack = d->fin_seq;
    /* Bytes are declared lost only up to the last byte the sender showed us (held data
     * or its FIN): an ACK beyond that acknowledges nothing we know of, and one forged
     * ACK must not make us skip the connection's next bytes (Suricata: "ACK for unseen
     * data"). A lost tail is declared when the sender's next segment arrives. */
    uint32_t seen = d->segs ? d->tail->seq + d->tail->len : d->next_seq;
    if (d->fin_seen && seq_lt(seen, d->fin_seq)) seen = d->fin_seq;
    if (seq_lt(seen, ack)) {
        g->stats.ack_unseen++;
        ack = seen;
        if (!seq_lt(d->next_seq, ack)) return 0;
    }
    ev = flush_held(g, d, 0, ack, out, ctx);
    ev |= emit_gap_to(g, d, ack, out, ctx);
    drain(g, d, out, ctx);
    return ev;
}

unsigned reasm_flush(struct reasm_global *g, struct reasm_dir *d, reasm_out_fn out, void *ctx)
{
    unsigned ev = flush_held(g, d, 1, 0, out, ctx);
    int32_t rel = seq_diff(d->fin_seq, d->next_seq);

    /* data missing before a FIN we saw */
    if (d->data_seen && d->fin_seen && rel > 0 && (uint32_t)rel <= REASM_WINDOW)
        ev |= emit_gap_to(g, d, d->fin_seq, out, ctx);
    free(d->hist);
    d->hist = NULL;
    d->hist_len = d->hist_pos = d->hist_cap = 0;
    return ev;
}

void reasm_dir_free(struct reasm_global *g, struct reasm_dir *d)
{
    while (d->segs)
        free(seg_pop(g, d));
    free(d->hist);
    d->hist = NULL;
    d->hist_len = d->hist_pos = d->hist_cap = 0;
}

int reasm_dir_check(const struct reasm_dir *d)
{
    const struct reasm_seg *s, *last = NULL;
    uint64_t bytes = 0;
    uint32_t n = 0, after = d->next_seq;

    for (s = d->segs; s; s = s->next) {
        if (d->state != REASM_STARTED || s->len == 0) return -1;
        /* strictly after next_seq, at or after the previous segment's end */
        if (last ? seq_lt(s->seq, after) : !seq_lt(after, s->seq)) return -1;
        if ((uint32_t)seq_diff(s->seq + s->len, d->next_seq) > REASM_WINDOW ||
            seq_diff(s->seq + s->len, d->next_seq) <= 0)
            return -1;
        after = s->seq + s->len;
        bytes += s->len;
        n++;
        last = s;
    }
    if (n != d->nsegs || bytes != d->held_bytes || last != d->tail) return -1;
    if (d->hist_len > d->hist_cap || (d->hist_cap && d->hist_pos >= d->hist_cap) ||
        (!d->hist && d->hist_len))
        return -1;
    return 0;
}
