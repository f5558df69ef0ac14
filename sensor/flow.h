/* flow.h - per-worker flow table: bidirectional 5-tuple + VLAN, timeouts, a cap.
 *
 * One worker owns a table; nothing here is shared or locked. Flows sit in one LRU
 * list per timeout class, each ordered by last packet time, so expiry walks only
 * flows that are due. At max_flows the least recently seen flow of all classes is
 * evicted (ended early, counted). A flow that sees a packet after its timeout is
 * ended and a new one begins, so results do not depend on when sweeps run. */
#ifndef OTS_FLOW_H
#define OTS_FLOW_H

#include <stdint.h>

#include "event.h"
#include "reassembly.h"
#include "yara_flow.h"

enum flow_class {
    FLOW_TCP_NEW = 0,
    FLOW_TCP_ESTABLISHED,
    FLOW_TCP_CLOSED,
    FLOW_UDP,
    FLOW_OTHER,
    FLOW_CLASSES
};

/* Endpoint a is the client (initiator) once the flow exists. */
struct flow_key {
    struct ev_addr a, b;
    uint16_t ap, bp;
    uint16_t vlan;
    uint8_t proto;
    uint8_t ip_version;
};

struct stream_buf {
    uint8_t *data;
    uint32_t len, cap;
};

struct dissector;
struct ndpi_flow_struct;

struct flow {
    /* first cache line: what a lookup reads */
    struct flow *hnext;
    uint64_t hash;
    struct flow_key key;
    uint64_t last_us;
    /* second: what every packet updates */
    struct flow *prev, *next; /* LRU list of its class */
    uint64_t lru_us;          /* last_us when last moved to its list's tail */
    uint64_t flow_id;
    uint64_t first_us;
    uint64_t pkts[2], bytes[2]; /* [0] client->server, [1] server->client */
    uint8_t cls;                /* enum flow_class */
    uint8_t tcp_flags_seen[2];
    uint8_t closed_dirs; /* bit per direction: FIN seen */
    uint8_t diss_ended;  /* bit per direction: the dissector's end() ran */
    uint8_t rst;
    uint8_t end_reason;
    uint8_t has_mac;
    uint8_t mac[2][6];     /* [0] client's, [1] server's */
    char community_id[32]; /* computed on first use (flow_community_id in worker.c) */
    uint8_t cid_done;
    uint8_t icmp_type, icmp_code; /* of the first packet: Community ID's "ports" for ICMP */
    struct reasm_dir reasm[2];
    /* dissection */
    const struct dissector *diss;
    void *diss_state;
    uint8_t diss_decided; /* 0 undecided, 1 decided (diss may be NULL: none) */
    uint8_t nonstandard_port;
    uint8_t after_gap[2];
    uint8_t probe_tries;
    struct stream_buf sbuf[2];
    struct yara_flow yara; /* YARA stream windows and budget (yara_scan.h) */
    uint64_t pdus;
    /* classification */
    struct ndpi_flow_struct *ndpi;
    uint16_t ndpi_master, ndpi_app;
    uint16_t ndpi_category;
    uint8_t ndpi_confidence;
    uint8_t ndpi_done;
    uint16_t ndpi_pkts;
    /* correlation: what this flow already reported (worker_corr.c) */
    const char *corr_op[2];    /* last op seen: [0] requests, [1] others */
    const char *corr_proto[2]; /* protocols whose operation classes are reported */
    uint8_t corr_mask[2];      /* bit per operation class, per corr_proto slot */
    uint8_t corr_wait;         /* opened by a bare SYN or a UDP datagram: the answer is reported */
};

enum flow_end_reason { FLOW_END_TIMEOUT = 0, FLOW_END_EVICTED, FLOW_END_SHUTDOWN, FLOW_END_REUSED };

struct flow_stats {
    uint64_t created, ended, expired, evicted, active, max_active;
};

typedef void (*flow_end_fn)(void *ctx, struct flow *f, int reason);

struct flow_table {
    struct flow **buckets;
    uint64_t mask;
    uint32_t max_flows;
    uint64_t timeout_us[FLOW_CLASSES];
    struct flow *head[FLOW_CLASSES], *tail[FLOW_CLASSES];
    struct flow *free_list;
    struct flow_stats stats;
    flow_end_fn on_end;
    void *ctx;
};

/* Symmetric: both directions of a flow give the same value. */
uint64_t flow_hash(const struct ev_addr *src, const struct ev_addr *dst, uint16_t sport,
                   uint16_t dport, uint8_t proto, uint16_t vlan);
/* Stable id from the key and first packet time, below 2^53. */
uint64_t flow_make_id(const struct flow_key *k, uint64_t first_us);

int flow_table_init(struct flow_table *t, uint32_t max_flows,
                    const uint32_t timeouts_s[FLOW_CLASSES], flow_end_fn on_end, void *ctx);
/* Ends every flow (reason SHUTDOWN) and frees the table. */
void flow_table_destroy(struct flow_table *t);

/* Finds the flow of a packet; *dir is 0 if src is the client. NULL if none. */
struct flow *flow_find(struct flow_table *t, uint64_t hash, const struct ev_addr *src,
                       const struct ev_addr *dst, uint16_t sport, uint16_t dport, uint8_t proto,
                       uint16_t vlan, int *dir);
/* Creates a flow for key (a = client), evicting the least recently seen flow at
 * the cap. Never returns NULL unless memory is exhausted. */
struct flow *flow_create(struct flow_table *t, uint64_t hash, const struct flow_key *key,
                         uint64_t ts_us);
/* A packet was seen: update time and move to the tail of class cls. */
void flow_touch(struct flow_table *t, struct flow *f, uint64_t ts_us, int cls);
/* True when f has been idle past its class timeout at time now. */
int flow_is_expired(const struct flow_table *t, const struct flow *f, uint64_t now_us);
/* Ends f now (calls on_end) and frees it. */
void flow_end(struct flow_table *t, struct flow *f, int reason);
/* Ends flows idle past their timeout at time now; returns how many. */
uint32_t flow_expire(struct flow_table *t, uint64_t now_us);

#endif
