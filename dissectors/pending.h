/* pending.h - the ages of a fixed table of requests awaiting their answers (BACnet
 * invoke ids, MQTT packet ids ...): which slot a new request takes (a free one, else
 * the oldest, whose answer is presumably lost) and which of several candidates is the
 * oldest. The requests themselves stay in the dissector's own array, indexed alike. */
#ifndef OTS_PENDING_H
#define OTS_PENDING_H

#include <stddef.h>
#include <stdint.h>

#define PEND_MAX  32
#define PEND_NONE SIZE_MAX

struct pend_ages {
    uint32_t seq[PEND_MAX]; /* 0: free; a larger number is a newer request */
    uint32_t last;          /* the newest number given */
};

/* The slot for a new request among the first n (n <= PEND_MAX), marked newest. */
size_t pend_take_slot(struct pend_ages *a, size_t n);

static inline int pend_used(const struct pend_ages *a, size_t i)
{
    return a->seq[i] != 0;
}

/* Whether used slot i is older than best (PEND_NONE: no candidate yet). */
static inline int pend_older(const struct pend_ages *a, size_t i, size_t best)
{
    return best == PEND_NONE || a->seq[i] < a->seq[best];
}

static inline void pend_free(struct pend_ages *a, size_t i)
{
    a->seq[i] = 0;
}

#endif
