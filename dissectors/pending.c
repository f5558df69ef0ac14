/* pending.c - see pending.h. */
#include "pending.h"

/* The numbers are about to run out: renumber the used slots 1..k, oldest first. */
static void renumber(struct pend_ages *a, size_t n)
{
    uint32_t rank[PEND_MAX];
    uint32_t used = 0;
    for (size_t i = 0; i < n; i++) {
        rank[i] = 0;
        if (!a->seq[i]) continue;
        used++;
        for (size_t j = 0; j < n; j++)
            if (a->seq[j] && a->seq[j] <= a->seq[i]) rank[i]++;
    }
    for (size_t i = 0; i < n; i++)
        a->seq[i] = rank[i];
    a->last = used;
}

size_t pend_take_slot(struct pend_ages *a, size_t n)
{
    size_t slot = PEND_NONE, oldest = 0;
    if (n > PEND_MAX) n = PEND_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!a->seq[i]) {
            slot = i;
            break;
        }
        if (a->seq[i] < a->seq[oldest]) oldest = i;
    }
    if (slot == PEND_NONE) slot = oldest;
    a->seq[slot] = 0; /* taken over: not counted while renumbering */
    if (a->last == UINT32_MAX) renumber(a, n);
    a->seq[slot] = ++a->last;
    return slot;
}
