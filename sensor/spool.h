/* spool.h - the alert spool: an append-only, crash-safe queue of alerts on disk.
 *
 * Every alert bound for Redis is appended here first, with its stream id; the Redis
 * output reads it back in order and trims it once Redis holds the alerts (see
 * output_redis.h). So alerts wait here while Redis is away or slow, and a spool left
 * by a crash or kill -9 is replayed at the next start.
 *
 * On disk: a directory with a lock file (which also notes the last id, written
 * before segments are deleted) and numbered segment files
 * "alerts-<20 digits>.spool", each a sequence of records (little-endian):
 *
 *   0      4      8              16     20     24
 *   +------+------+--------------+------+------+----------------+
 *   |magic | len  |   id ms      |id seq| crc  | payload (len)  |
 *   +------+------+--------------+------+------+----------------+
 *   magic "OTS1"; crc = CRC-32 (IEEE) of bytes 0..19 and the payload.
 *
 * At open each segment is read through; the first record that is short, has a bad
 * magic, an impossible length or a bad CRC ends the segment: the file is truncated
 * there (a torn write after kill -9 or power loss) and the bytes cut are counted. */
#ifndef OTS_SPOOL_H
#define OTS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_REC_HDR     24
#define SPOOL_MAX_PAYLOAD (1u << 20)

enum spool_fsync {
    SPOOL_FSYNC_ALWAYS, /* fdatasync after every record */
    SPOOL_FSYNC_BATCH,  /* fdatasync at most every SPOOL_BATCH_MS, and at close */
    SPOOL_FSYNC_NEVER,  /* the kernel writes back when it likes */
};
#define SPOOL_BATCH_MS 100

/* A Redis stream id <ms>-<seq>. */
struct spool_id {
    uint64_t ms;
    uint32_t seq;
};

static inline int spool_id_cmp(struct spool_id a, struct spool_id b)
{
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

struct spool_stats {
    uint64_t bytes;         /* on disk now (every segment) */
    uint64_t records;       /* records on disk now */
    uint64_t found_at_open; /* records found at open (left by an earlier run) */
    uint64_t torn_bytes;    /* bytes cut at open (torn or corrupt records) */
    uint64_t appended;      /* records appended by this run */
    uint64_t dropped_full;  /* alerts not kept because the spool was full */
    uint64_t full_episodes; /* times it became full (each logged, with a marker) */
    uint64_t io_errors;
};

enum { SPOOL_OK = 0, SPOOL_FULL = 1, SPOOL_ERR = -1 };

struct spool;

int spool_fsync_parse(const char *s, enum spool_fsync *out);

/* Opens (creating the directory if needed) and recovers the spool. max_bytes bounds
 * the files on disk. sensor names the sensor in the spool_full marker. Only one
 * process may hold a spool directory (flock). NULL with a message in err. */
struct spool *spool_open(const char *dir, uint64_t max_bytes, enum spool_fsync fsync_policy,
                         const char *sensor, char *err, size_t errlen);
/* Writes and syncs what is buffered, closes. */
void spool_close(struct spool *s);

/* Appends one record; ids must increase. SPOOL_OK; SPOOL_FULL when it did not fit
 * (counted; the first time in an episode it logs an error and stores a
 * sensor.spool_full alert under this id instead, even past the cap; the episode
 * ends when the spool is back under half its size); SPOOL_ERR on an I/O error
 * (logged, counted; the record is lost) or a payload over SPOOL_MAX_PAYLOAD. */
int spool_append(struct spool *s, struct spool_id id, const char *data, size_t len);
/* Whether a payload of len bytes fits under the cap now. */
int spool_has_room(const struct spool *s, size_t len);
/* Writes buffered records to the file and applies the fsync policy (now_ms paces
 * the batch policy). */
void spool_sync(struct spool *s, uint64_t now_ms);
/* The highest id in the spool or ever appended to it (0-0 if none). */
struct spool_id spool_last_id(const struct spool *s);

/* Reading: a cursor that starts at the oldest record. */
void spool_rewind(struct spool *s);
/* The record at the cursor, then moves past it: 1, with *data valid until the next
 * call; 0 when the cursor is at the end. */
int spool_next(struct spool *s, struct spool_id *id, const char **data, size_t *len);
/* Drops every segment whose records all have ids <= upto (they are in Redis). */
void spool_trim(struct spool *s, struct spool_id upto);

void spool_get_stats(const struct spool *s, struct spool_stats *st);

/* CRC-32 (IEEE 802.3, as zlib's crc32), continuing from crc (0 to start). */
uint32_t spool_crc32(uint32_t crc, const void *data, size_t len);

/* The sensor.spool_full alert (DESIGN §3 fields), NUL-terminated, into out. Returns
 * its length, or 0 if out is too small. */
size_t spool_full_alert(char *out, size_t outlen, const char *sensor, uint64_t ms,
                        uint64_t max_bytes);

#endif
