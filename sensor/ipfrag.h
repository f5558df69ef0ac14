/* ipfrag.h - IPv4 and IPv6 fragment reassembly, bounded by configuration.
 *
 * Held per capture thread, before dispatch, so a reassembled datagram is hashed
 * to the worker that owns its flow like any other packet. At the caps the oldest
 * incomplete datagram is dropped and counted. */
#ifndef OTS_IPFRAG_H
#define OTS_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

struct ipfrag_stats {
    uint64_t fragments, reassembled, dropped_cap, timeouts, overlaps, too_large;
    uint64_t held, held_bytes; /* incomplete datagrams now, and their bytes (the caps) */
};

struct ipfrag_table;

/* max_datagrams: incomplete datagrams held at once; max_bytes: their bytes in all;
 * timeout_us: how long an incomplete datagram waits (packet time). */
struct ipfrag_table *ipfrag_new(size_t max_datagrams, size_t max_bytes, uint64_t timeout_us);
void ipfrag_free(struct ipfrag_table *t);

/* Feeds one fragment (d decoded from frame, kind DECODED_FRAGMENT).
 * Returns 1 when the datagram is complete: *out is a whole IP packet (header with
 * corrected length and fragment fields cleared, then the payload), valid until the
 * next call; decode it with decode_ip(d, *out, *out_len, 0).
 * Returns 0 while the datagram is incomplete, -1 if the fragment was dropped;
 * *anomaly is set (enum decode_anomaly) when something was wrong. */
int ipfrag_add(struct ipfrag_table *t, const struct decoded *d, const uint8_t *frame,
               uint64_t ts_us, const uint8_t **out, uint32_t *out_len, int *anomaly);
/* Drops incomplete datagrams older than the timeout; returns how many. */
size_t ipfrag_expire(struct ipfrag_table *t, uint64_t now_us);
/* The counters, with held and held_bytes as of now. */
const struct ipfrag_stats *ipfrag_stats(struct ipfrag_table *t);

#endif
