/* yara_flow.h - a flow's YARA stream state, kept inside struct flow (yara_scan.h
 * works on it): the per-packet checks then read the flow's own cache lines
 * rather than a separate allocation's. All zero is the state of a new flow. */
#ifndef OTS_YARA_FLOW_H
#define OTS_YARA_FLOW_H

#include <stdint.h>

struct yara_flow {
    uint8_t *buf[2];    /* each direction's window (a pooled buffer), or NULL */
    uint32_t len[2];    /* bytes in it */
    uint32_t room[2];   /* bytes it takes before the slow path (growth, full window): 0 if none */
    uint8_t cls[2];     /* the buffer's size class */
    uint8_t done[2];    /* the direction's window was scanned (or given up) */
    uint8_t classified; /* told yara_flow_classified() */
    uint8_t off;        /* encrypted: nothing is kept */
    uint8_t dissected;  /* a dissector reads the flow: windows stop at lim.dissected_max */
    uint8_t covered[2]; /* 1: a dissector's objects hold the bytes (not scanned), 2: no longer */
    uint64_t used;      /* bytes scanned for this flow (the per-flow budget) */
};

#endif
