/* reassembly.h - TCP stream reassembly, one direction at a time.
 *
 * Delivers each direction's bytes in order, exactly once, to a callback.
 * Out-of-order segments are held (sorted, non-overlapping); retransmissions and
 * overlaps resolve "first copy wins"; a later copy whose bytes differ is reported
 * (REASM_EV_OVERLAP_CHANGED), also against a short history of bytes already
 * delivered. Sequence numbers wrap (serial arithmetic). With no SYN seen the first
 * data segment starts the stream (mid-stream pick-up). Lost bytes are reported to
 * the callback as a gap so the dissector can resynchronise. Memory is capped per
 * direction and per worker; at a cap the held data is flushed with a gap (counted).
 *
 * Receive window: a segment that starts ahead of the stream and beyond the right edge
 * of the window its receiver advertised (ack + window, scaled as the SYNs agreed; an
 * unknown scale counts as the largest, 14) is not taken (REASM_EV_BEYOND_WINDOW,
 * counted), as Suricata does: one forged far-off segment cannot make a direction hold
 * data or declare the real bytes lost. */
#ifndef OTS_REASSEMBLY_H
#define OTS_REASSEMBLY_H

#include <stddef.h>
#include <stdint.h>

struct reasm_config {
    uint32_t per_dir_max;  /* out-of-order bytes held per direction */
    uint32_t max_segments; /* out-of-order segments held per direction */
    uint64_t global_max;   /* out-of-order bytes held per worker (all flows) */
    uint32_t history;      /* delivered bytes kept per direction to check overlaps; 0 = off */
};

/* segments: calls with data. retransmissions: segments made only of bytes already
 * delivered or held; overlaps: segments partly old, partly new; overlaps_changed: either
 * of those whose old part differed from the first copy. out_of_order: segments of which
 * some part was held. garbage: segments dropped as outside any plausible window.
 * beyond_window: segments dropped as starting beyond the receiver's advertised window.
 * ack_unseen: ACKs for bytes this direction never showed (taken only up to what it did). */
struct reasm_stats {
    uint64_t segments, bytes_delivered, retransmissions, overlaps, overlaps_changed;
    uint64_t out_of_order, gaps, gap_bytes, cap_flushes, held_bytes;
    uint64_t garbage, beyond_window, ack_unseen;
};

/* Per worker: caps and counters shared by all of its streams. */
struct reasm_global {
    struct reasm_config cfg;
    struct reasm_stats stats;
};

struct reasm_seg;

enum reasm_state { REASM_NONE = 0, REASM_STARTED = 1 };

/* One direction of one TCP connection. Zeroed memory is a valid initial state. */
struct reasm_dir {
    uint32_t next_seq; /* next byte to deliver */
    uint8_t state;     /* enum reasm_state */
    uint8_t fin_seen;
    uint8_t data_seen; /* a data segment has arrived (not just a SYN) */
    uint32_t fin_seq;
    uint32_t held_bytes;
    uint32_t nsegs;
    struct reasm_seg *segs; /* held out-of-order data, sorted by seq */
    uint8_t *hist;          /* ring of the last cfg.history delivered bytes (lazy) */
    uint32_t hist_len;      /* valid bytes in hist (<= cfg.history) */
    uint32_t hist_pos;      /* where the next delivered byte goes in hist */
    uint32_t hist_cap;      /* size of hist as allocated */
    struct reasm_seg *tail; /* last held segment (appending is the common out-of-order case) */
    uint32_t win_edge;      /* right edge of the receiver's window: no data starts after it */
    uint8_t win_known;      /* win_edge is set (the receiver has acknowledged something) */
    uint8_t ws_opt;         /* this direction's SYN: 0 not seen, 1 no window scale, 2 + shift */
    uint8_t win_shift_x;    /* the scale of the windows this direction advertises, XOR 14:
                               zeroed memory is the unknown scale, taken as 14 */
};

/* What happened while handling a segment (bitmask, for engine events). */
enum reasm_event {
    REASM_EV_RETRANSMIT = 0x1,      /* bytes already delivered or held, identical */
    REASM_EV_OVERLAP_CHANGED = 0x2, /* an overlapping copy had different bytes */
    REASM_EV_GAP = 0x4,             /* bytes were declared lost */
    REASM_EV_CAP = 0x8,             /* a memory cap forced a flush */
    REASM_EV_OUT_OF_ORDER = 0x10,   /* a segment was held */
    REASM_EV_GARBAGE = 0x20,        /* dropped: far outside any plausible window */
    REASM_EV_BEYOND_WINDOW = 0x40,  /* dropped: starts beyond the receiver's window */
};

/* In-order output. data == NULL with gap_len > 0 means gap_len bytes are missing
 * here (the next call continues after the hole). */
typedef void (*reasm_out_fn)(void *ctx, const uint8_t *data, uint32_t len, uint32_t gap_len);

void reasm_global_init(struct reasm_global *g, const struct reasm_config *cfg);

/* A SYN (or SYN-ACK) with this sequence number: data starts at isn + 1. */
void reasm_syn(struct reasm_dir *d, uint32_t isn);
/* A segment carrying data (len > 0). Returns a mask of enum reasm_event. */
unsigned reasm_data(struct reasm_global *g, struct reasm_dir *d, uint32_t seq, const uint8_t *data,
                    uint32_t len, reasm_out_fn out, void *ctx);
/* The Window Scale option of d's SYN (shift, or -1: none); peer is the other direction.
 * Scaling holds only when both SYNs carry the option (RFC 7323). */
void reasm_wscale(struct reasm_dir *d, struct reasm_dir *peer, int shift);

/* A segment from the receiver of d's data (rcv, the other direction) acknowledging
 * `ack` with window field `win` (syn: a SYN's window, never scaled). Per packet with
 * ACK set: a shift and a compare. The edge only moves forward. */
static inline void reasm_window(struct reasm_dir *d, const struct reasm_dir *rcv, uint32_t ack,
                                uint16_t win, int syn)
{
    uint32_t edge = ack + ((uint32_t)win << (syn ? 0 : rcv->win_shift_x ^ 14));
    if (!d->win_known || (int32_t)(edge - d->win_edge) > 0) {
        d->win_edge = edge;
        d->win_known = 1;
    }
}

/* FIN at seq (after any data in the same segment): remembered so flush knows the end. */
void reasm_fin(struct reasm_dir *d, uint32_t seq);
/* Every byte up to the FIN has been delivered and nothing is held: the direction's
 * stream is complete. */
static inline int reasm_complete(const struct reasm_dir *d)
{
    return d->fin_seen && d->next_seq == d->fin_seq && !d->nsegs;
}
/* The peer acknowledged everything before `ack`. If this direction holds data
 * beyond a hole the peer has acknowledged, the hole is lost: deliver a gap and
 * what follows. Returns a mask of enum reasm_event. */
unsigned reasm_ack(struct reasm_global *g, struct reasm_dir *d, uint32_t ack, reasm_out_fn out,
                   void *ctx);
/* End of the stream (FIN/RST/timeout/eviction): deliver everything held, with
 * gaps for the holes, then free. Returns a mask of enum reasm_event. */
unsigned reasm_flush(struct reasm_global *g, struct reasm_dir *d, reasm_out_fn out, void *ctx);
/* Frees held segments and history without delivering. */
void reasm_dir_free(struct reasm_global *g, struct reasm_dir *d);

/* Checks d's internal invariants (held list sorted, non-overlapping, after next_seq,
 * counts and tail consistent). Returns 0 if sound. For tests and fuzzing. */
int reasm_dir_check(const struct reasm_dir *d);

#endif
