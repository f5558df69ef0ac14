/* alert_hdr.h - what the alert aggregator needs of an alert, in a small fixed header.
 *
 * The rule engine knows these values when it writes the alert JSON (alert_to_json),
 * so it hands them over beside the text (rules_alert_hdr; in OUT_ALERT records the
 * header precedes the JSON) and the output thread never parses its own JSON back.
 * The spans say where the values that a summary rewrites stand in the JSON text. */
#ifndef OTS_ALERT_HDR_H
#define OTS_ALERT_HDR_H

#include <stdint.h>

#include "event.h"

/* The JSON values a summary rewrites, in the order alert_to_json writes them. */
enum { ALERT_SPAN_TS, ALERT_SPAN_START, ALERT_SPAN_END, ALERT_SPAN_COUNT, ALERT_SPANS };

struct alert_span {
    uint32_t off, len; /* the value's text in the JSON; len 0: absent */
};

struct alert_hdr {
    uint64_t ts_us;          /* @timestamp */
    uint64_t start_us;       /* event.start */
    uint64_t end_us;         /* event.end */
    uint64_t count;          /* otsensor.count (at least 1) */
    uint32_t sid;            /* rule.id */
    uint8_t ok;              /* 0: aggregate nothing, pass the alert through untouched */
    uint8_t has_ip;          /* source.ip and destination.ip are written */
    uint16_t vlan;           /* innermost VLAN id, 0 without: part of the key */
    struct ev_addr src, dst; /* source.ip, destination.ip (zero without has_ip) */
    struct alert_span span[ALERT_SPANS];
};

#endif
