/* ring.c - see ring.h. Record layout: u32 length, u32 reserved, payload, padded to 8. */
#include "ring.h"

#include "hugemem.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HDR  8
#define SKIP 0xffffffffu
/* How far the consumer fetches ahead of the record it reads. Each record's place
 * follows from the length stored in the one before, so without it the consumer
 * waits, record after record, for a line the producer's core wrote (a tenth of
 * the worker's time on the bench capture). Only published lines: one the producer
 * is still writing would only bounce between the cores. */
#define PREFETCH_AHEAD 4096u

static inline uint64_t align8(uint64_t v)
{
    return (v + 7) & ~(uint64_t)7;
}

int ring_init(struct ring *r, size_t size)
{
    uint64_t s = 65536;
    while (s < size)
        s <<= 1;
    memset(r, 0, sizeof(*r));
    r->buf = huge_alloc(s, 0);
    if (!r->buf) return -1;
    r->size = s;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void ring_destroy(struct ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

void *ring_reserve(struct ring *r, size_t len)
{
    uint64_t need = align8(HDR + len);
    if (need > r->size / 2) return NULL; /* a record never exceeds half the ring */
    uint64_t off = r->p_head & (r->size - 1);
    uint64_t pad = (off + need > r->size) ? r->size - off : 0;
    uint64_t want = r->p_head + pad + need;
    if (want - r->p_tail_cache > r->size) {
        r->p_tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (want - r->p_tail_cache > r->size) {
            ring_publish(r); /* let the consumer see what we have while we wait */
            return NULL;
        }
    }
    if (pad) {
        uint32_t m = SKIP;
        memcpy(r->buf + off, &m, 4);
        r->p_head += pad;
        off = 0;
    }
    uint32_t l = (uint32_t)len;
    memcpy(r->buf + off, &l, 4);
    return r->buf + off + HDR;
}

void ring_commit(struct ring *r)
{
    uint32_t l;
    memcpy(&l, r->buf + (r->p_head & (r->size - 1)), 4);
    r->p_head += align8(HDR + l);
    if (++r->p_pending >= RING_BATCH) ring_publish(r);
}

void ring_publish(struct ring *r)
{
    r->p_pending = 0;
    atomic_store_explicit(&r->head, r->p_head, memory_order_release);
}

static inline void fetch_ahead(struct ring *r, uint64_t pos)
{
    if (r->c_fetched >= pos + PREFETCH_AHEAD / 2) return; /* most calls: half a window ahead */
    uint64_t end = pos + PREFETCH_AHEAD;
    if (end > r->c_head_cache) end = r->c_head_cache;
    if (r->c_fetched < pos) r->c_fetched = pos & ~(uint64_t)63;
    for (; r->c_fetched < end; r->c_fetched += 64)
        __builtin_prefetch(r->buf + (r->c_fetched & (r->size - 1)));
}

void *ring_peek(struct ring *r, size_t *len)
{
    for (;;) {
        if (r->c_tail == r->c_head_cache) {
            r->c_head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
            if (r->c_tail == r->c_head_cache) {
                ring_release_publish(r);
                return NULL;
            }
        }
        fetch_ahead(r, r->c_tail);
        uint64_t off = r->c_tail & (r->size - 1);
        uint32_t l;
        memcpy(&l, r->buf + off, 4);
        if (l == SKIP) {
            r->c_tail += r->size - off;
            continue;
        }
        *len = l;
        return r->buf + off + HDR;
    }
}

uint64_t ring_read_pos(const struct ring *r)
{
    return r->c_tail;
}

void *ring_peek_at(struct ring *r, uint64_t *pos, size_t *len)
{
    for (;;) {
        if (*pos == r->c_head_cache) {
            r->c_head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
            if (*pos == r->c_head_cache) return NULL;
        }
        fetch_ahead(r, *pos);
        uint64_t off = *pos & (r->size - 1);
        uint32_t l;
        memcpy(&l, r->buf + off, 4);
        if (l == SKIP) {
            *pos += r->size - off;
            continue;
        }
        *len = l;
        *pos += align8(HDR + l);
        return r->buf + off + HDR;
    }
}

void ring_release_to(struct ring *r, uint64_t pos)
{
    r->c_tail = pos;
    ring_release_publish(r);
}

void ring_release(struct ring *r)
{
    uint32_t l;
    memcpy(&l, r->buf + (r->c_tail & (r->size - 1)), 4);
    r->c_tail += align8(HDR + l);
    if (++r->c_pending >= RING_BATCH) ring_release_publish(r);
}

void ring_release_publish(struct ring *r)
{
    r->c_pending = 0;
    atomic_store_explicit(&r->tail, r->c_tail, memory_order_release);
}

uint64_t ring_used(struct ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_relaxed) -
           atomic_load_explicit(&r->tail, memory_order_relaxed);
}

void ring_backoff(unsigned *spins)
{
    unsigned s = (*spins)++;
    if (s < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else if (s < 80) {
        sched_yield();
    } else {
        /* 50 us .. 1 ms: a sleeping consumer costs nothing, and batches are
         * published often enough that this bounds added latency */
        long ns = 50000L << (s - 80 < 4 ? s - 80 : 4);
        struct timespec ts = {0, ns > 1000000 ? 1000000 : ns};
        nanosleep(&ts, NULL);
    }
}
