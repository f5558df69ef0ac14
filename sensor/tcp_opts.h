/* tcp_opts.h - the TCP options the engine reads: a SYN's window scale (RFC 7323). */
#ifndef OTS_TCP_OPTS_H
#define OTS_TCP_OPTS_H

#include <stdint.h>

#include "decode.h"

/* The shift count of the Window Scale option in the TCP header of the decoded frame
 * `pkt` (caplen bytes), capped at 14 as RFC 7323 2.3 says; -1 if there is none (or
 * the options are malformed). */
int tcp_wscale(const uint8_t *pkt, uint32_t caplen, const struct decoded *d);

#endif
