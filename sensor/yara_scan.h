/* yara_scan.h - YARA on the wire: the compiled rule set, per-worker scanners, budgets.
 *
 * One yara_set (a compiled YR_RULES) is shared read-only by every worker and
 * replaced whole on SIGHUP, like the rule set. Each worker owns a yara_worker: a
 * YR_SCANNER bound to one set, the scan budgets and counters. What is scanned:
 * the first bytes of each direction of a flow (yara_stream_*: TCP after
 * reassembly, UDP datagrams in order) and objects the dissectors reassemble
 * (object.h). A match becomes a yara.match event in the worker's event sink. */
#ifndef OTS_YARA_SCAN_H
#define OTS_YARA_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "event.h"
#include "yara_flow.h"

struct yara_set;
struct yara_worker;
struct ruleset;

/* Process-wide libyara start and end (main only). */
int yara_global_init(void);
void yara_global_fini(void);

/* Compiles a .yar file, or every *.yar of a directory (sorted). On error returns
 * NULL and fills err with one "file:line: message" line per error. */
struct yara_set *yara_set_load(const char *path, char *err, size_t errlen);
/* Same, from text (name stands for the file in messages); tests and fuzzing. */
struct yara_set *yara_set_load_text(const char *name, const char *text, char *err, size_t errlen);
void yara_set_free(struct yara_set *ys);
int yara_set_count(const struct yara_set *ys);

struct yara_limits {
    uint32_t stream_max;    /* bytes of each flow direction scanned; 0: no stream scanning */
    uint32_t object_max;    /* bytes of one object kept and scanned; 0: objects off */
    uint64_t flow_budget;   /* bytes scanned per flow, all scans together; 0: no limit */
    uint64_t second_budget; /* bytes scanned per worker per second of packet time; 0: none */
    int encrypted;          /* scan stream windows of encrypted flows (TLS, SSH ...) too */
    uint32_t ua_write_min;  /* OPC UA Write values of this many bytes or more are objects */
    uint64_t memory_max;    /* bytes of stream windows a worker may hold; 0: no cap */
    uint32_t dissected_max; /* stream_max for flows a dissector reads (at most stream_max) */
};

struct yara_stats {
    uint64_t scans, bytes_scanned, streams_scanned, objects_scanned, objects_truncated;
    uint64_t budget_skips, matches, errors, encrypted_skips;
    uint64_t streams_covered; /* windows dropped: the dissector's objects held their bytes */
    uint64_t objects_partial; /* objects scanned unfinished (flow end, restart) */
    uint64_t memory_cuts;     /* windows scanned early or given up at memory_max */
    uint64_t window_bytes;    /* bytes of window buffers carved (what memory_max caps) */
};

/* Per-flow scanning state: struct yara_flow (yara_flow.h), inside struct flow. */

struct yara_worker *yara_worker_new(const struct yara_limits *lim);
void yara_worker_free(struct yara_worker *yw);
/* Binds the worker to set (NULL: scanning off) and to the rule set whose zones
 * give ot_zone (may be NULL). Call only where the previous set is still alive.
 * Returns -1 if no scanner could be made (scanning is then off). */
int yara_worker_use(struct yara_worker *yw, const struct yara_set *set, const struct ruleset *rs);
int yara_worker_active(const struct yara_worker *yw);
const struct yara_limits *yara_worker_limits(const struct yara_worker *yw);
void yara_worker_stats(const struct yara_worker *yw, struct yara_stats *out);
/* Counts an object scan (object.c). */
void yara_worker_count_object(struct yara_worker *yw, int truncated, int partial);
/* The flow the next scans belong to (its per-flow budget), set before dissection. */
void yara_worker_set_flow(struct yara_worker *yw, struct yara_flow *fs);

/* What a scan covers, for the externals and the event. */
struct yara_target {
    const char *proto;       /* ot_proto: the dissector's name, or "" */
    const char *object_type; /* ot_object_type: "stream" or e.g. "s7comm.block" */
    const char *name;        /* the object's name, or NULL */
    int to_server;           /* ot_direction: "to_server" / "to_client" */
    int truncated;           /* the object was cut at its cap */
    uint64_t total_len;      /* bytes the object had on the wire (>= scanned) */
    int nattrs;              /* extra string fields for the event's object */
    const char *const *attr_keys;
    const char *const *attr_vals;
    int partial; /* the transfer's end was never seen: what came was scanned */
};

/* Scans data once; each matching rule emits a yara.match event through sink
 * (whose net must describe the flow). Returns the matches, -1 when the budget
 * said no (counted), -2 on a scanner error. */
int yara_scan(struct yara_worker *yw, const uint8_t *data, size_t len, const struct yara_target *t,
              struct event_sink *sink, uint64_t now_us);

/* The slow path of yara_stream_data(): a first or bigger buffer, the window's end,
 * and the checks (scanning on, stream_max, the direction still open). */
int yara_stream_grow(struct yara_worker *yw, struct yara_flow *fs, int dir, const uint8_t *data,
                     uint32_t len);
/* Stream bytes (in order) of direction dir, kept up to stream_max. Returns 1
 * when the window is full: the caller then scans it with yara_stream_scan(). */
static inline int yara_stream_data(struct yara_worker *yw, struct yara_flow *fs, int dir,
                                   const uint8_t *data, uint32_t len)
{
    /* most segments fit the buffer and do not fill the window: one copy, no call
     * (room is 0 until yara_stream_grow() has given the direction a buffer) */
    if (len < fs->room[dir]) {
        memcpy(fs->buf[dir] + fs->len[dir], data, len);
        fs->len[dir] += len;
        fs->room[dir] -= len;
        return 0;
    }
    return yara_stream_grow(yw, fs, dir, data, len);
}
/* Scans direction dir's window now, once (a full window, or a gap ends it). */
void yara_stream_scan(struct yara_worker *yw, struct yara_flow *fs, int dir, const char *proto,
                      struct event_sink *sink, uint64_t now_us);
/* The flow is read by one of otsensor's protocol dissectors: its windows stop at
 * lim.dissected_max (the dissector hands its transfers over as objects, scanned
 * whole). The fast path is closed so that the next segment meets the new cap. */
static inline void yara_flow_dissected(struct yara_flow *fs)
{
    fs->dissected = 1;
    fs->room[0] = fs->room[1] = 0;
}
/* Encrypted flows: nDPI's verdict comes after the first packets, so the worker
 * asks yara_flow_unclassified() (true for a new flow) and then
 * tells yara_flow_classified() once; an
 * encrypted flow's windows are dropped unscanned (counted) unless
 * yara.encrypted is set. */
static inline int yara_flow_unclassified(const struct yara_flow *fs)
{
    return !fs->classified;
}
void yara_flow_classified(struct yara_worker *yw, struct yara_flow *fs, int encrypted);
/* Starts loading the end of direction dir's window, which the next
 * yara_stream_data() writes: call when the packet's flow is known. */
static inline void yara_stream_prefetch(const struct yara_flow *fs, int dir)
{
    if (fs->buf[dir]) __builtin_prefetch(fs->buf[dir] + fs->len[dir], 1);
}
/* Direction dir of the current flow (yara_worker_set_flow) is covered by a
 * dissector's objects (covered 1): its window is dropped unscanned, counted in
 * streams_covered. covered 0: not (any more); a direction once uncovered stays so. */
void yara_stream_cover(struct yara_worker *yw, int dir, int covered);
/* True while direction dir still collects stream bytes. */
static inline int yara_stream_open(const struct yara_flow *fs, int dir)
{
    return !fs->done[dir] && fs->len[dir];
}
/* True while the flow holds window bytes (yara_flow_end() has work). */
static inline int yara_flow_held(const struct yara_flow *fs)
{
    return fs->buf[0] || fs->buf[1];
}
/* The flow ends: scans what each direction holds, lets the buffers go and zeroes
 * the state. sink->net must be the flow's. yw may be NULL (nothing scanned; the
 * buffers stay in the slabs of the worker that gave them, freed with it). */
void yara_flow_end(struct yara_worker *yw, struct yara_flow *fs, const char *proto,
                   struct event_sink *sink, uint64_t now_us);

#endif
