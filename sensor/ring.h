/* ring.h - bounded lock-free single-producer single-consumer ring of variable-size records.
 *
 * Records are contiguous (a record never wraps: a skip marker pads to the end), so
 * the consumer reads them in place. Publication is batched: the producer makes its
 * records visible every RING_BATCH records or on ring_publish(); the consumer
 * returns space likewise. Head and tail live on separate cache lines. */
#ifndef OTS_RING_H
#define OTS_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RING_BATCH 32

struct ring {
    /* producer side */
    alignas(64) _Atomic uint64_t head; /* published end of written records */
    uint64_t p_head;                   /* producer's private head */
    uint64_t p_tail_cache;
    unsigned p_pending;
    /* consumer side */
    alignas(64) _Atomic uint64_t tail; /* published end of consumed records */
    uint64_t c_tail;
    uint64_t c_head_cache;
    uint64_t c_fetched; /* lines before this position are prefetched */
    unsigned c_pending;
    /* shared, read-only after init */
    alignas(64) uint8_t *buf;
    uint64_t size; /* power of two */
};

/* size is rounded up to a power of two (at least 64 KiB). Returns 0 or -1. */
int ring_init(struct ring *r, size_t size);
void ring_destroy(struct ring *r);

/* Producer: room for len bytes, contiguous, or NULL if full now. */
void *ring_reserve(struct ring *r, size_t len);
/* Producer: the record reserved last is complete. */
void ring_commit(struct ring *r);
/* Producer: make every committed record visible now. */
void ring_publish(struct ring *r);

/* Consumer: the next record (and its length), or NULL if none is visible. */
void *ring_peek(struct ring *r, size_t *len);
/* Consumer: done with the record returned by ring_peek. */
void ring_release(struct ring *r);
/* Consumer: reads ahead without releasing. *pos starts at ring_read_pos(); each
 * call returns the record at *pos and moves *pos past it, or NULL. */
uint64_t ring_read_pos(const struct ring *r);
void *ring_peek_at(struct ring *r, uint64_t *pos, size_t *len);
/* Consumer: everything before pos (from ring_peek_at) is consumed. */
void ring_release_to(struct ring *r, uint64_t pos);
/* Consumer: return consumed space to the producer now. */
void ring_release_publish(struct ring *r);

/* Bytes in use as the producer last saw it (approximate; for stats). */
uint64_t ring_used(struct ring *r);

/* Spin briefly, then yield, then sleep longer: threads may outnumber cores. */
void ring_backoff(unsigned *spins);

#endif
