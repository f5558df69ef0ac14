/* community_id.h - Community ID v1 flow hash ("1:<base64 sha1>"), as Zeek and Suricata. */
#ifndef OTS_COMMUNITY_ID_H
#define OTS_COMMUNITY_ID_H

#include <stdint.h>

#include "event.h"

/* proto is the IP protocol number; for ICMP/ICMPv6, sport/dport carry type/code.
 * out must hold 32 bytes. seed is 0 by convention. */
void community_id_v1(const struct ev_addr *src, const struct ev_addr *dst, uint16_t sport,
                     uint16_t dport, uint8_t proto, uint16_t seed, char out[32]);

#endif
