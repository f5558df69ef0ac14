/* engine.h - the threads and what passes between them.
 *
 *   capture thread (one per source) --ring per worker--> worker threads
 *   worker --output ring--> the output thread (owns every file)
 *
 * A packet record carries the frame, its decode and the symmetric flow hash, so
 * a worker never decodes twice. Workers own their flows, dissector state and nDPI
 * module; nothing on the packet path takes a lock. */
#ifndef OTS_ENGINE_H
#define OTS_ENGINE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "aggregate.h"
#include "classify.h"
#include "config.h"
#include "correlate.h"
#include "decode.h"
#include "event.h"
#include "flow.h"
#include "jbuf.h"
#include "output_redis.h"
#include "reassembly.h"
#include "ring.h"
#include "rules.h"
#include "yara_scan.h"

#define MAX_WORKERS     256
#define MAX_PROTO_STATS 48

enum pkt_rec_type { REC_PACKET = 0, REC_TICK = 1 };

struct pkt_rec {
    uint64_t ts_us;
    uint64_t hash;
    uint32_t caplen, wirelen;
    uint8_t type; /* enum pkt_rec_type */
    uint8_t iface;
    uint16_t pad;
    struct decoded d;
    uint8_t data[];
};

/* OUT_CORR carries a struct corr_rec (correlate.h), for the correlation stage; OUT_ALERT
 * an alert's JSON that has been through its worker's aggregation: out as it is;
 * OUT_ALERT_L2 a struct alert_hdr (unaligned) and the JSON of an alert without
 * addresses, whose key spans workers: the output thread aggregates it. */
enum out_rec_type { OUT_EVENT = 1, OUT_ALERT = 2, OUT_CORR = 3, OUT_ALERT_L2 = 4 };

struct proto_count {
    const char *proto;
    uint64_t pdus;
};

/* Counters a worker keeps privately and publishes as a snapshot once a second. */
struct worker_stats {
    uint64_t packets, bytes;
    uint64_t decode_bad, decode_anomalies[DEC_ANOMALY_COUNT];
    uint64_t arp, l2_other, l2_dissected, ip_other;
    uint64_t events, events_dropped, pdus;
    uint64_t stream_overflow, stream_stuck, tcp_no_flow;
    uint64_t nonstandard_port;
    struct flow_stats flows;
    struct reasm_stats reasm;
    uint64_t ndpi_detected, ndpi_given_up;
    uint64_t alerts, alerts_dropped;
    uint64_t corr_records;
    struct aggr_stats aggr;
    struct yara_stats yara;
    unsigned nproto;
    struct proto_count proto[MAX_PROTO_STATS];
};

struct engine;

struct worker {
    struct engine *eng;
    int id;
    pthread_t thread;
    struct ring **in; /* one ring per capture source */
    int n_in;
    struct ring out;
    struct flow_table flows;
    struct reasm_global reasm;
    struct classifier cls;
    struct rule_ctx *rctx; /* matching state for the rule set of generation rs_gen */
    unsigned rs_gen;
    atomic_uint rs_gen_seen; /* published: the generation this worker now uses */
    struct event_sink sink;
    struct yara_worker *yara; /* NULL: no -Y; bound to the YARA set of rs_gen */
    struct aggr *aggr;        /* this worker's alert aggregation; NULL: off */
    uint64_t now_us;          /* latest packet time seen */
    uint64_t last_sweep_us;
    struct worker_stats st;
    /* current dissection context */
    struct flow *cur_flow;
    int cur_dir;
    uint64_t cur_ts;
    char *json; /* scratch for one JSON line */
    size_t json_cap;
    /* snapshot for the stats writer */
    pthread_mutex_t snap_lock;
    struct worker_stats snap;
    uint64_t snap_wall_ms;
    atomic_int done;
    /* correlation: every record this worker sends later has a packet time at or
     * after this (published after its output ring) */
    atomic_uint_fast64_t corr_mark;
};

struct capture_source {
    struct engine *eng;
    int index;
    const char *name; /* interface name, or NULL for the file list */
    pthread_t thread;
    struct ring *rings; /* one per worker */
    void *pcap;
    atomic_uint_fast64_t packets, bytes, ring_drops, kernel_drops, kernel_if_drops;
    /* the capture thread's fragment table (ipfrag.h), copied out after each change */
    atomic_uint_fast64_t frag_fragments, frag_reassembled, frag_dropped_cap, frag_timeouts,
        frag_overlaps, frag_too_large, frag_held, frag_held_bytes;
    /* live: every packet this source will still deliver has a timestamp after this
     * (its watermark, in packet-time microseconds); workers merging several
     * sources hold a packet until every source has passed its time */
    atomic_uint_fast64_t watermark_us;
    atomic_int done;
};

struct engine {
    struct config *cfg;
    int n_workers;
    struct worker *workers;
    int n_sources;
    struct capture_source *sources;
    int live;
    pthread_t output_thread;
    FILE *events_out;
    FILE *stats_out;
    char stats_path[1024];
    atomic_int stop;         /* SIGINT/SIGTERM: drain and exit */
    atomic_int capture_done; /* all sources finished */
    atomic_int capture_failed;
    /* posted when a source finishes or a signal arrives: the main loop wakes at
     * once instead of at its next 50 ms tick (a file's last packets are not kept
     * waiting) */
    sem_t wake;
    uint64_t start_wall_ms;
    /* the processing interval (monotonic µs), for throughput without start-up: from
     * the first read, once every worker is ready, to the last worker's flows ended */
    atomic_int workers_ready;
    _Atomic uint64_t proc_start_us, proc_end_us;
    char failure[1024];
    FILE *alerts_out;
    /* the rule set in force; replaced whole on SIGHUP (workers switch at their
     * next batch, the old set is freed once every worker has switched) */
    struct ruleset *_Atomic ruleset;
    atomic_uint rs_gen;
    struct yara_set *_Atomic yara_set; /* swapped with the rule set, same generation */
    atomic_int yara_count;             /* its rule count, for the stats writer */
    struct oredis *redis;         /* alerts to Redis (NULL: --redis none); output thread only */
    struct aggr *aggr;            /* alert aggregation (NULL: off); output thread only */
    uint32_t inject_alerts;       /* test only (--inject-alerts N): synthetic alerts at start */
    struct corr_out *corr;        /* the correlation stage (output_corr.c); output thread only */
    atomic_uint corr_rs_gen_seen; /* the rule set generation the correlation stage uses */
    /* --rule-profile: timed matching; workers add their counts here at exit */
    struct rule_ctx *rule_profile;
    pthread_mutex_t rule_profile_lock;
};

/* Monotonic milliseconds (intervals), and the calendar time (stream ids, stamps). */
uint64_t wall_ms(void);
uint64_t mono_us(void);
uint64_t realtime_ms(void);

int worker_start(struct worker *w);
/* Builds the worker's nDPI module (worker_main does it on its own thread). */
int worker_init_classifier(struct worker *w);
/* Processes one record on the calling thread (the worker loop, and fuzzing). */
void worker_handle(struct worker *w, const struct pkt_rec *r);
/* Ends every flow and releases what worker_start() took (the loop does this at exit). */
void worker_finish(struct worker *w);
void *worker_main(void *arg);
int capture_open_all(struct engine *e, char *err, size_t errlen);
void *capture_main(void *arg);
void *output_main(void *arg);
/* On the output thread: one alert to every output, through aggregation (h: its
 * header from the rule engine; NULL: not aggregated). */
void output_alert(struct engine *e, const struct alert_hdr *h, const char *json, size_t len);

/* The worker's side of the correlation stage (worker_corr.c). */
void worker_corr_flow(struct worker *w, const struct ev_net *n, int syn);
void worker_corr_event(struct worker *w, const struct event *e);
/* The responder's first reply (SYN-ACK or RST) to a flow opened by a bare SYN. */
void worker_corr_answer(struct worker *w, const struct ev_net *n, uint8_t tcp_flags);
/* After a batch: publishes the output ring, then the worker's watermark. */
void worker_corr_mark(struct worker *w);

/* The correlation stage on the output thread (output_corr.c). */
struct corr_out *corr_out_new(struct engine *e);
void corr_out_free(struct corr_out *co);
/* The stage's rule context (its matching counts, for --rule-profile); NULL if none. */
struct rule_ctx *corr_out_rule_ctx(const struct corr_out *co);
/* Before draining worker i's ring: reads its watermark. */
void corr_out_mark_begin(struct corr_out *co, int i);
/* After draining worker i: empty says its ring was found empty. */
void corr_out_mark_end(struct corr_out *co, int i, int empty);
void corr_out_record(struct corr_out *co, const uint8_t *p, size_t len);
/* Processes what every worker has passed; final: everything. Takes up a new rule set. */
void corr_out_step(struct corr_out *co, int final);
/* The stage's counters as a JSON member ("correlation":{...}) for the stats object. */
void corr_out_stats_json(struct corr_out *co, struct jbuf *j);
/* Writes the stats JSON object (one line) to f. */
void stats_write(struct engine *e, FILE *f, int final);
/* The few totals the Redis heartbeat hash shows (packets, drops, flows). */
void stats_summary(struct engine *e, struct oredis_counters *c);

#endif
