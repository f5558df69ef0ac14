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
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "classify.h"
#include "config.h"
#include "decode.h"
#include "event.h"
#include "flow.h"
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

enum out_rec_type { OUT_EVENT = 1, OUT_ALERT = 2 };

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
};

struct capture_source {
    struct engine *eng;
    int index;
    const char *name; /* interface name, or NULL for the file list */
    pthread_t thread;
    struct ring *rings; /* one per worker */
    void *pcap;
    atomic_uint_fast64_t packets, bytes, ring_drops, kernel_drops, kernel_if_drops;
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
    uint64_t start_wall_ms;
    char failure[1024];
    FILE *alerts_out;
    /* the rule set in force; replaced whole on SIGHUP (workers switch at their
     * next batch, the old set is freed once every worker has switched) */
    struct ruleset *_Atomic ruleset;
    atomic_uint rs_gen;
    struct yara_set *_Atomic yara_set; /* swapped with the rule set, same generation */
    atomic_int yara_count;             /* its rule count, for the stats writer */
    struct oredis *redis;   /* alerts to Redis (NULL: --redis none); output thread only */
    uint32_t inject_alerts; /* test only (--inject-alerts N): synthetic alerts at start */
};

/* Monotonic milliseconds (intervals), and the calendar time (stream ids, stamps). */
uint64_t wall_ms(void);
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
/* Writes the stats JSON object (one line) to f. */
void stats_write(struct engine *e, FILE *f, int final);
/* The few totals the Redis heartbeat hash shows (packets, drops, flows). */
void stats_summary(struct engine *e, struct oredis_counters *c);

#endif
