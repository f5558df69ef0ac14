/* correlate.h - the correlation stage: state that spans flows (assets, scans, conduits).
 *
 * Workers condense what they see into small fixed records (struct corr_rec): a flow's
 * start, the first request of each operation class per flow and protocol, and device
 * identity facts. They push them to the output thread, which merges the records of
 * all workers in packet-time order (so the result does not depend on how flows were
 * spread over workers) and feeds them to one correlator. The correlator keeps bounded
 * tables (capped, least recently used evicted, counted) and emits engine events:
 * asset.new, asset.identity_changed, asset.unknown_zone, scan.horizontal,
 * scan.vertical, conduit.unlisted, conduit.operation, flow.new_intra_zone,
 * goose_publisher.new, goose_publisher.ttl_expired and mms.new_client (corr_event_names). */
#ifndef OTS_CORRELATE_H
#define OTS_CORRELATE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct ruleset;

enum corr_kind {
    CORR_FLOW = 1,
    CORR_OP = 2,
    CORR_IDENT = 3,
    CORR_ANSWER = 4,
    CORR_GOOSE = 5, /* one per valid GOOSE message: ident holds the gocbRef */
    CORR_ASSOC = 6, /* an association request (MMS initiate): net of the request */
};

/* Names of the events the correlation stage raises (NULL-terminated), for the rule
 * loader's check of event: names. */
extern const char *const corr_event_names[];

/* Operation classes, as zones.conf names them (conduit ... ops read-only,...). */
enum corr_opclass { OPC_READ = 0, OPC_WRITE, OPC_PROGRAM, OPC_DIAG, OPC_COUNT };

#define CORR_F_SYN      0x01 /* flow: awaits an answer (TCP bare SYN, UDP from its sender) */
#define CORR_F_SYNACK   0x02 /* answer: the responder's first reply (SYN-ACK, UDP datagram) */
#define CORR_F_RST      0x04 /* answer: ... was a RST */
#define CORR_PROTO_MAX  16
#define CORR_OP_MAX     40
#define CORR_IDENT_MAX  480 /* identity: entries [key index][len][bytes] */
#define CORR_IDENT_VMAX 64  /* longest identity value kept */

/* One fact for the correlator. FLOW: net as seen from the initiator. OP: net of the
 * request (src = client). IDENT: net of the PDU (src = the device that described
 * itself). ANSWER: net of the flow as seen from its initiator, at the responder's
 * first reply to a bare SYN. Only the first corr_rec_len() bytes travel. */
struct corr_rec {
    struct ev_net net;
    uint8_t kind; /* enum corr_kind */
    uint8_t flags;
    uint8_t opclass;
    uint8_t pad;
    uint16_t appid;             /* GOOSE */
    uint32_t ttl_ms;            /* GOOSE: timeAllowedtoLive */
    char proto[CORR_PROTO_MAX]; /* OP, IDENT, ASSOC */
    char op[CORR_OP_MAX];       /* OP: the request that opened the class */
    uint16_t ident_len;
    uint8_t ident[CORR_IDENT_MAX];
};

size_t corr_rec_len(const struct corr_rec *r);

/* ---- worker side: cheap, no state ---- */

/* The operation class of a request (proto, op); by name, see correlate.c. */
int corr_opclass(const char *proto, const char *op);
/* The same, or -1 when no word of the op's name says its class (corr_opclass then
 * calls it diagnostic). */
int corr_opclass_mapped(const char *op);
/* Whether an event of this op may carry device identity (checked before the walk). */
int corr_is_identity_op(const char *op);
/* Fills r's identity from the event's fields; returns the number of entries. */
int corr_ident_from_event(struct corr_rec *r, const struct event *e);
/* The name of identity key index k ("vendor", "product_name", ...), or NULL. */
const char *corr_ident_key(unsigned k);

/* ---- output side: the correlator ---- */

struct corr_config {
    uint32_t scan_window_s;    /* tumbling window of a scan counter */
    uint32_t scan_hosts;       /* scan.horizontal: distinct hosts on one port */
    uint32_t scan_ports;       /* scan.vertical: distinct ports on one host */
    uint32_t max_entries;      /* scan and conduit state entries (each table) */
    uint32_t max_assets;       /* assets kept */
    uint32_t conduit_window_s; /* one conduit event per key per window */
    uint32_t asset_refresh_s;  /* an asset's last_seen is written again after this */
    uint32_t syn_timeout_ms;   /* a SYN unanswered this long is a failed attempt */
    uint32_t udp_timeout_ms;   /* a UDP flow unanswered this long is a failed probe */
    uint32_t learning_s;       /* new_* events stay silent this long after the first record */
    uint32_t goose_ttl_factor; /* goose_publisher.ttl_expired: silence longer than factor x TTL */
};

struct corr_stats {
    uint64_t records, forced, events;
    uint64_t asset_new, identity_changed, unknown_zone, scan_horizontal, scan_vertical,
        conduit_unlisted, conduit_operation, new_intra_zone, goose_new_publisher, goose_ttl_expired,
        mms_new_client;
    uint64_t assets, scan_entries, conduit_entries, pending_syns, pending_udp, goose_publishers,
        seen_entries;
    uint64_t asset_evictions, scan_evictions, conduit_evictions, goose_evictions, seen_evictions;
    uint64_t asset_writes, asset_write_fails;
};

/* What the Redis writer needs of one asset (DESIGN §4). Strings are NUL-terminated
 * and valid only during the callback. */
struct corr_asset_view {
    const char *id;        /* "10.0.0.1", "fe80::1" or "00:11:22:33:44:55" */
    const char *mac;       /* "" if unknown */
    const char *vendor;    /* "" if unknown */
    const char *product;   /* "" if unknown */
    const char *protocols; /* "modbus,enip" */
    const char *roles;     /* "modbus_server,enip_client" */
    const char *identity;  /* JSON object text */
    const char *zone;      /* "" if none */
    uint64_t first_seen_us, last_seen_us;
};
/* Returns 0 when written, -1 to try again later. */
typedef int (*corr_asset_fn)(void *ctx, const struct corr_asset_view *a);

struct correlator;

struct correlator *corr_new(const struct corr_config *cfg, event_deliver_fn deliver, void *ctx);
void corr_free(struct correlator *c);
/* Zones and conduits come from this rule set (NULL: none); call on every reload. */
void corr_set_ruleset(struct correlator *c, const struct ruleset *rs);
/* One record, in packet-time order. Emits events through the deliver callback. */
void corr_process(struct correlator *c, const struct corr_rec *r);
/* At the end of input: attempts still waiting for an answer have failed. */
void corr_finish(struct correlator *c);
/* Hands changed assets (new, changed, or last_seen older than asset_refresh_s in the
 * last write) to fn; those fn refuses stay pending. all: every pending one, else at
 * most a few hundred. */
void corr_flush_assets(struct correlator *c, corr_asset_fn fn, void *ctx, int all);
void corr_get_stats(const struct correlator *c, struct corr_stats *st);

/* ---- the merge: records of several workers, in time order ---- */

struct corr_merge;
struct corr_merge *corr_merge_new(size_t cap);
void corr_merge_free(struct corr_merge *m);
/* Takes a copy of the record (len bytes). */
int corr_merge_push(struct corr_merge *m, const void *r, size_t len);
/* Processes, in (time, kind, content) order, every record older than `limit` (the
 * smallest watermark of the workers still running; UINT64_MAX: everything), and the
 * oldest ones beyond the capacity (counted as forced). */
void corr_merge_run(struct corr_merge *m, struct correlator *c, uint64_t limit);
size_t corr_merge_size(const struct corr_merge *m);

#endif
