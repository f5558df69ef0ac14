/* output_redis.h - alerts into Redis (DESIGN §4), used only by the output thread.
 *
 * Every alert gets an explicit, increasing stream id <ms>-<seq> (wall-clock ms, seq
 * counting within the ms, never below the stream's last id nor the spool's) and is
 * appended to the disk spool (spool.h) first; the sender reads the spool in order
 * and pipelines, per alert, RPUSH (list mode), PUBLISH (channel mode) and last XADD
 * <prefix>:alerts:<sensor> <id> alert <json> (stream mode; the first XADD of each
 * batch with MAXLEN ~ N), flushing when `redis.batch` alerts wait or the oldest has
 * waited `redis.flush_ms`.
 *
 * Exactly-once into the stream: on every (re)connect the sensor reads the stream's
 * last-generated id (XINFO STREAM), rewinds the spool and sends only what comes after
 * it; an XADD refused as "equal or smaller than the target stream top item" counts as
 * already delivered. Alerts stay in the spool after Redis confirmed them for
 * `redis.keep_ms` more (so alerts a crashed Redis lost from its last second of AOF
 * are sent again), then the spool is trimmed; if the spool fills up with confirmed
 * alerts first, they are dropped early (counted as keep_cut) rather than new ones.
 * List and channel modes get the same resends: at-least-once. XADD goes last so
 * that an alert in the stream implies its RPUSH was applied before it.
 *
 * Connects are non-blocking (finished by a later poll); reconnects back off
 * exponentially (100 ms doubling to `redis.backoff_max_ms`). A stats/heartbeat hash
 * <prefix>:sensor:<name> is written every `redis.heartbeat_interval` seconds with a
 * TTL of three intervals. */
#ifndef OTS_OUTPUT_REDIS_H
#define OTS_OUTPUT_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "spool.h"

struct oredis;

/* Engine numbers shown in the heartbeat hash (filled by the output thread). */
struct oredis_counters {
    uint64_t packets, drops, flows;
};

struct oredis_stats {
    uint64_t alerts;     /* handed to the Redis output */
    uint64_t delivered;  /* confirmed by Redis (each mode's reply) */
    uint64_t duplicates; /* XADD refused as <= the stream top: already there */
    uint64_t spooled;    /* arrived while Redis was not connected */
    uint64_t replayed;   /* sent after a (re)connect or start from the spool's backlog */
    uint64_t errors;     /* failed connects, I/O errors, error replies */
    uint64_t connects;   /* successful connections */
    uint64_t keep_cut;   /* times the spool filled with confirmed alerts and dropped them
                            before redis.keep_ms passed, to make room */
    int connected;
    struct spool_stats spool;
};

/* Parses the URL and password file, opens (and recovers) the spool. Does not
 * connect: the first oredis_poll() does. NULL with a message in err. */
struct oredis *oredis_open(const struct config *cfg, char *err, size_t errlen);
/* One alert (JSON, no newline). now_ms: wall clock, for its stream id. Returns 0,
 * or -1 if it could not be kept (spool full or failing: counted in the spool stats). */
int oredis_alert(struct oredis *o, const char *json, size_t len, uint64_t now_ms);
/* Connects when due, sends what waits, writes the heartbeat, trims the spool.
 * Call it every loop of the output thread; it returns within about 50 ms unless
 * Redis stalls (then within redis.timeout_ms). */
void oredis_poll(struct oredis *o);
void oredis_set_counters(struct oredis *o, const struct oredis_counters *c);
void oredis_get_stats(const struct oredis *o, struct oredis_stats *st);
/* The asset inventory (DESIGN §4): HSET <prefix>:<sensor>:asset:<id> with the n
 * field/value pairs, and ZADD <prefix>:<sensor>:assets score_ms <that key>. Not
 * spooled: the caller keeps the asset pending and tries again. wait: connect first
 * if not connected (at exit). Returns 0, or -1 (not connected, or an error). */
int oredis_asset(struct oredis *o, const char *id, const char *const *fields,
                 const char *const *values, int n, uint64_t score_ms, int wait);
/* At exit: sends what is left for up to budget_ms (one connect attempt if
 * disconnected) and writes a last heartbeat. What Redis has not confirmed stays in
 * the spool for the next start (logged). */
void oredis_drain(struct oredis *o, uint32_t budget_ms);
/* Syncs the spool, disconnects, frees everything. */
void oredis_close(struct oredis *o);

#endif
