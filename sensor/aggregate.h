/* aggregate.h - alert aggregation: identical alerts within a window become one summary.
 *
 * Identical = same rule.id (sid), source.ip, destination.ip and VLAN; ports, flows
 * and everything else are ignored. The first alert of a key goes out at once (incident
 * response never waits); later ones within `window` seconds of it (packet time) are
 * only counted. When the window ends, one summary alert goes out if anything was
 * merged: the first merged alert's JSON with otsensor.count = the merged alerts' counts
 * summed (so the counts of everything emitted add up to the raw matches), @timestamp
 * and event.start = the earliest merged time, event.end = the latest, and
 * otsensor.aggregated {window_s, total} (total includes the alert sent on its own).
 *
 * The aggregator reads no JSON: each alert comes with its header (alert_hdr.h), the
 * values the rule engine wrote, and where the summary's fields stand in the text.
 *
 * Time is the alerts' own (@timestamp, packet time): the clock is the latest alert
 * time seen, or what the owner passes to aggr_tick (a worker's packet time, and, live,
 * the wall clock). Each worker has one for its alerts with addresses (a key's address
 * pair lives in one worker), the output thread one for the others (layer 2, the
 * correlation stage's). A window [t0, t0 + window] closes when an alert of its key
 * falls after it (that alert opens the next window and goes out), when the clock
 * passes its end, or at aggr_flush(). At most `max_keys`
 * windows are open; opening one more closes the oldest early (its summary goes out
 * now, counted as evicted), so memory is bounded and no alert is ever dropped.
 * Alerts without a usable header pass through untouched. */
#ifndef OTS_AGGREGATE_H
#define OTS_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "alert_hdr.h"

struct aggr;

typedef void (*aggr_emit_fn)(void *ctx, const char *json, size_t len);

struct aggr_stats {
    uint64_t in;        /* alerts handed in */
    uint64_t passed;    /* sent on their own (first of a window, or without a header) */
    uint64_t merged;    /* counted into a window instead of being sent */
    uint64_t summaries; /* summary alerts sent */
    uint64_t evicted;   /* windows closed early because max_keys were open */
    uint64_t unparsed;  /* passed through: no usable header */
    uint64_t open;      /* windows open now */
};

/* window_s > 0, max_keys > 0. NULL when out of memory. */
struct aggr *aggr_new(uint32_t window_s, uint32_t max_keys);
void aggr_free(struct aggr *a);
/* One alert (JSON object, no newline) and its header (NULL, or not ok, or spans outside
 * the text: passed through); emit() is called for what goes out now. */
void aggr_alert_hdr(struct aggr *a, const struct alert_hdr *h, const char *json, size_t len,
                    aggr_emit_fn emit, void *ctx);
/* Counts an alert into its key's open window without its text, when that is all the
 * window would do with it (the window has its summary's template and the alert falls
 * inside it): 1 if counted, exactly as aggr_alert_hdr would have; 0 if the alert is
 * needed whole (format it and call aggr_alert_hdr). Reads h's values, not its spans. */
int aggr_count_only(struct aggr *a, const struct alert_hdr *h, aggr_emit_fn emit, void *ctx);
/* Advances the clock to now_us (if later) and closes the windows that ended. */
void aggr_tick(struct aggr *a, uint64_t now_us, aggr_emit_fn emit, void *ctx);
/* Closes every window (at exit). */
void aggr_flush(struct aggr *a, aggr_emit_fn emit, void *ctx);
void aggr_get_stats(const struct aggr *a, struct aggr_stats *st);

/* Test support only (tests/unit/aggr_json.c, not in the sensor): an alert given as JSON
 * text, its header recovered by parsing, then as aggr_alert_hdr; and an RFC 3339 UTC
 * time "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (no quotes) to microseconds, -1 if malformed. */
void aggr_alert(struct aggr *a, const char *json, size_t len, aggr_emit_fn emit, void *ctx);
int aggr_parse_ts(const char *s, size_t n, uint64_t *us);

#endif
