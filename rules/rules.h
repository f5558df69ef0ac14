/* rules.h - the rule engine's API: load a rule set, match events, write alerts.
 *
 * A ruleset is immutable once loaded and may be shared by every worker (swap the
 * pointer on reload). Each worker owns one rule_ctx: threshold state, bounded. */
#ifndef OTS_RULES_H
#define OTS_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alert_hdr.h"
#include "event.h"

struct ruleset;
struct rule_ctx;

/* Loads rule files (a path may be a directory: its *.rules files, sorted), the
 * classification file (may be NULL: no classtype inheritance) and the zone file
 * (may be NULL). On any error returns NULL and fills err with one
 * "file:line:col: message" line per error. */
struct ruleset *ruleset_load(const char *const *paths, int n, const char *classification_path,
                             const char *zones_path, char *err, size_t errlen);
/* Same, from text in memory (name is used in error messages); for tests and fuzzing. */
struct ruleset *ruleset_load_text(const char *name, const char *text, size_t len,
                                  const char *classification_text, char *err, size_t errlen);
/* Same, with a zone file's text too (NULL: none). */
struct ruleset *ruleset_load_texts(const char *name, const char *text, size_t len,
                                   const char *classification_text, const char *zones_text,
                                   char *err, size_t errlen);
/* Everything a load reads; NULL members: none. suppress is the suppression file
 * (threshold.config style, docs/rules.md), parsed after the rules. */
struct ruleset_files {
    const char *const *rules;
    int nrules;
    const char *classification, *zones, *suppress;
};
struct ruleset *ruleset_load_files(const struct ruleset_files *f, char *err, size_t errlen);
/* Same from texts (NUL-terminated; rules_len bytes of rules); names appear in errors
 * as rules_name, "classification.config", "zones.conf" and "threshold.config". */
struct ruleset_texts {
    const char *rules_name, *rules;
    size_t rules_len;
    const char *classification, *zones, *suppress;
};
struct ruleset *ruleset_load_mem(const struct ruleset_texts *t, char *err, size_t errlen);
void ruleset_free(struct ruleset *rs);
/* Name of the most specific zone holding the address, or NULL (no zones, none). */
const char *ruleset_zone_name(const struct ruleset *rs, const struct ev_addr *a);
int ruleset_count(const struct ruleset *rs);

/* Per-worker matching state (thresholds, detection filters), bounded. */
struct rule_ctx *rule_ctx_new(const struct ruleset *rs);
void rule_ctx_free(struct rule_ctx *ctx);

typedef void (*rule_emit_fn)(void *ctx, const char *json, size_t len);

/* Matches one event; for each alert calls emit(emit_ctx, json, len) with the
 * DESIGN §3 alert JSON (one object, no newline). Returns the number of alerts. */
int rules_match(struct rule_ctx *ctx, const struct event *ev, const char *sensor_name,
                rule_emit_fn emit, void *emit_ctx);
/* During emit: the aggregator's header of the alert being emitted (alert_hdr.h). */
const struct alert_hdr *rules_alert_hdr(const struct rule_ctx *ctx);
/* As rules_match, with the PDU's payload bytes for `content` (NULL: content never matches). */
int rules_match_payload(struct rule_ctx *ctx, const struct event *ev, const uint8_t *payload,
                        size_t payload_len, const char *sensor_name, rule_emit_fn emit,
                        void *emit_ctx);

/* An alert's aggregation, ahead of its text: absorb(ctx, h) sees each alert's header
 * (values, no spans) before the alert is written, and returns 1 when it counted the
 * alert without needing its text (then emit is not called for it), 0 otherwise. */
typedef int (*rule_absorb_fn)(void *ctx, const struct alert_hdr *h);
void rule_ctx_set_absorb(struct rule_ctx *ctx, rule_absorb_fn absorb, void *absorb_ctx);

/* Zones and conduits of the rule set, for the correlation stage (zones_query.c). */
int ruleset_zone_count(const struct ruleset *rs);
/* The zone holding a (most specific prefix), or -1; *name is its name (or NULL). */
int ruleset_zone_of(const struct ruleset *rs, const struct ev_addr *a, const char **name);
/* 1 if a conduit joins zones za and zb (either order), with its name and its allowed
 * protocols and operation classes as comma lists (NULL: not restricted); else 0. */
int ruleset_conduit(const struct ruleset *rs, int za, int zb, const char **name,
                    const char **protocols, const char **ops);

/* Counters of one rule_ctx. */
struct rule_stats {
    uint64_t events, candidates, matches, alerts, suppressed, thresholded, state_evictions,
        json_overflow, hits_dropped /* matches beyond 64 rules on one event */;
};
void rule_ctx_stats(const struct rule_ctx *ctx, struct rule_stats *out);

/* Per rule, in load order: times tested (dispatched to it), matched, alerted; the
 * basis of a rule impact report (--rule-profile). Sum over workers. */
typedef void (*rule_profile_fn)(void *ctx, uint32_t gid, uint32_t sid, const char *msg,
                                uint64_t checks, uint64_t matches, uint64_t alerts);
void rule_ctx_profile(const struct rule_ctx *ctx, rule_profile_fn fn, void *fn_ctx);

/* Rule impact report (--rule-profile): with timing on, each rule test is timed with a
 * monotonic clock (only then: it costs ~20 ns a test). merge adds from's per-rule and
 * total counters to into's (both of the same rule set; -1 otherwise); print writes one
 * line per rule, the costliest first: gid:sid, checks, matches, alerts, cost_ns,
 * ns/check, msg, after a "# rule profile:" line of totals. */
void rule_ctx_set_timing(struct rule_ctx *ctx, int on);
int rule_ctx_profile_merge(struct rule_ctx *into, const struct rule_ctx *from);
int rule_ctx_profile_print(const struct rule_ctx *ctx, FILE *f);

#endif
