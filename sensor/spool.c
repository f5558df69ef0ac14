/* spool.c - see spool.h. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jbuf.h"
#include "log.h"

#define SPOOL_MAGIC 0x3153544Fu /* "OTS1" read as little-endian */
#define WBUF_MIN    (256u * 1024)
#define RBUF_MIN    (256u * 1024)

struct seg {
    uint64_t no;
    int fd;
    uint64_t size; /* bytes, including any still in the write buffer */
    uint64_t records;
    struct spool_id last;
};

struct spool {
    char dir[1024];
    char sensor[128];
    int lock_fd;
    uint64_t max_bytes, seg_max;
    enum spool_fsync policy;
    struct seg *segs; /* oldest first; the last one is written */
    size_t nsegs, capsegs;
    uint64_t next_no;
    uint64_t bytes; /* sum of the segments' sizes */
    /* write buffer: the last wlen bytes of the last segment */
    uint8_t *wbuf;
    size_t wlen, wcap;
    int dirty; /* written since the last fdatasync */
    uint64_t last_sync_ms;
    struct spool_id last_id;
    int full; /* in a full episode */
    int io_err_logged;
    /* read cursor and read-ahead buffer */
    uint64_t r_no, r_off;
    uint8_t *rbuf;
    size_t rcap, rb_len;
    uint64_t rb_no, rb_off;
    struct spool_stats st;
};

/* CRC-32 slicing-by-8: eight bytes per step (a third of the spool's CPU otherwise) */
static uint32_t crc_tab[8][256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

static uint32_t get32(const uint8_t *p);

uint32_t spool_crc32(uint32_t crc, const void *data, size_t len)
{
    if (!crc_tab[0][1]) crc_init();
    const uint8_t *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint32_t one = get32(p) ^ crc, two = get32(p + 4);
        crc = crc_tab[7][one & 0xff] ^ crc_tab[6][(one >> 8) & 0xff] ^
              crc_tab[5][(one >> 16) & 0xff] ^ crc_tab[4][one >> 24] ^ crc_tab[3][two & 0xff] ^
              crc_tab[2][(two >> 8) & 0xff] ^ crc_tab[1][(two >> 16) & 0xff] ^
              crc_tab[0][two >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

int spool_fsync_parse(const char *s, enum spool_fsync *out)
{
    if (!strcmp(s, "always"))
        *out = SPOOL_FSYNC_ALWAYS;
    else if (!strcmp(s, "batch"))
        *out = SPOOL_FSYNC_BATCH;
    else if (!strcmp(s, "never"))
        *out = SPOOL_FSYNC_NEVER;
    else
        return -1;
    return 0;
}

static void seg_path(const struct spool *s, uint64_t no, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/alerts-%020llu.spool", s->dir, (unsigned long long)no);
}

static void io_error(struct spool *s, const char *what)
{
    s->st.io_errors++;
    if (!s->io_err_logged)
        log_error("spool %s: %s: %s (alerts may be lost)", s->dir, what, strerror(errno));
    s->io_err_logged = 1;
}

static int seg_push(struct spool *s, uint64_t no, int fd)
{
    if (s->nsegs == s->capsegs) {
        size_t nc = s->capsegs ? s->capsegs * 2 : 16;
        struct seg *n = realloc(s->segs, nc * sizeof(*n));
        if (!n) return -1;
        s->segs = n;
        s->capsegs = nc;
    }
    s->segs[s->nsegs++] = (struct seg){.no = no, .fd = fd};
    if (no >= s->next_no) s->next_no = no + 1;
    return 0;
}

static void sync_dir(struct spool *s)
{
    int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int seg_new(struct spool *s)
{
    char p[1100];
    seg_path(s, s->next_no, p, sizeof(p));
    int fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || seg_push(s, s->next_no, fd) != 0) {
        io_error(s, "cannot create a segment");
        if (fd >= 0) close(fd);
        return -1;
    }
    if (s->policy != SPOOL_FSYNC_NEVER) sync_dir(s);
    return 0;
}

/* Writes the buffered bytes at the end of the last segment. */
static void flush_wbuf(struct spool *s)
{
    if (!s->wlen) return;
    struct seg *g = &s->segs[s->nsegs - 1];
    uint64_t off = g->size - s->wlen;
    size_t done = 0;
    while (done < s->wlen) {
        ssize_t n = pwrite(g->fd, s->wbuf + done, s->wlen - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            io_error(s, "cannot write");
            /* the unwritten records are lost; keep the size honest */
            uint64_t lost = s->wlen - done;
            g->size -= lost;
            s->bytes -= lost;
            break;
        }
        done += (size_t)n;
    }
    s->wlen = 0;
    s->dirty = 1;
}

static void do_fsync(struct spool *s, int fd)
{
    if (fdatasync(fd) != 0) io_error(s, "fdatasync failed");
}

void spool_sync(struct spool *s, uint64_t now_ms)
{
    flush_wbuf(s);
    if (!s->dirty || s->policy == SPOOL_FSYNC_NEVER) return;
    if (s->policy == SPOOL_FSYNC_BATCH && now_ms - s->last_sync_ms < SPOOL_BATCH_MS) return;
    do_fsync(s, s->segs[s->nsegs - 1].fd);
    s->dirty = 0;
    s->last_sync_ms = now_ms;
}

/* Bytes [off, off+n) of segment g, from the read-ahead buffer; NULL if short. */
static const uint8_t *rd(struct spool *s, const struct seg *g, uint64_t off, size_t n)
{
    if (s->rb_no == g->no && off >= s->rb_off && off + n <= s->rb_off + s->rb_len)
        return s->rbuf + (off - s->rb_off);
    size_t want = n > RBUF_MIN ? n : RBUF_MIN;
    if (want > s->rcap) {
        uint8_t *b = realloc(s->rbuf, want);
        if (!b) return NULL;
        s->rbuf = b;
        s->rcap = want;
    }
    size_t got = 0;
    while (got < s->rcap) {
        ssize_t r = pread(g->fd, s->rbuf + got, s->rcap - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    s->rb_no = g->no;
    s->rb_off = off;
    s->rb_len = got;
    return got >= n ? s->rbuf : NULL;
}

static void rb_forget(struct spool *s)
{
    s->rb_len = 0;
    s->rb_no = 0;
}

/* Reads a segment through at open; truncates it at the first bad record. */
static int seg_scan(struct spool *s, struct seg *g, uint64_t disk_size)
{
    uint64_t off = 0;
    const char *why = NULL;
    g->size = disk_size; /* rd() reads up to here */
    while (off < disk_size) {
        if (disk_size - off < SPOOL_REC_HDR) {
            why = "short header";
            break;
        }
        const uint8_t *h = rd(s, g, off, SPOOL_REC_HDR);
        if (!h) {
            why = "unreadable";
            break;
        }
        uint32_t len = get32(h + 4);
        if (get32(h) != SPOOL_MAGIC || len > SPOOL_MAX_PAYLOAD) {
            why = "bad header";
            break;
        }
        if (disk_size - off - SPOOL_REC_HDR < len) {
            why = "short record";
            break;
        }
        const uint8_t *r = rd(s, g, off, SPOOL_REC_HDR + len);
        if (!r) {
            why = "unreadable";
            break;
        }
        uint32_t crc = spool_crc32(0, r, 20);
        crc = spool_crc32(crc, r + SPOOL_REC_HDR, len);
        if (crc != get32(r + 20)) {
            why = "bad CRC";
            break;
        }
        g->records++;
        g->last = (struct spool_id){get64(r + 8), get32(r + 16)};
        off += SPOOL_REC_HDR + len;
    }
    if (why) {
        log_warn("spool: %s/alerts-%020llu.spool: %s at byte %llu; cut %llu bytes (a write torn "
                 "by a crash)",
                 s->dir, (unsigned long long)g->no, why, (unsigned long long)off,
                 (unsigned long long)(disk_size - off));
        s->st.torn_bytes += disk_size - off;
        if (ftruncate(g->fd, (off_t)off) != 0) return -1;
        if (s->policy != SPOOL_FSYNC_NEVER) do_fsync(s, g->fd);
    }
    g->size = off;
    rb_forget(s);
    return 0;
}

static int mkdirs(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) return -1;
        *q = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, enum spool_fsync fsync_policy,
                         const char *sensor, char *err, size_t errlen)
{
    uint64_t *nos = NULL;
    size_t nn = 0, capn = 0;
    DIR *d = NULL;
    struct spool *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "spool: out of memory");
        return NULL;
    }
    s->lock_fd = -1;
    if (strlen(dir) >= sizeof(s->dir) - 40) {
        snprintf(err, errlen, "spool: directory name is too long");
        goto fail;
    }
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(s->sensor, sizeof(s->sensor), "%s", sensor ? sensor : "");
    s->max_bytes = max_bytes;
    s->seg_max = max_bytes / 8;
    if (s->seg_max < 64 * 1024) s->seg_max = 64 * 1024;
    if (s->seg_max > 64 * 1024 * 1024) s->seg_max = 64 * 1024 * 1024;
    s->policy = fsync_policy;
    s->next_no = 1;
    if (mkdirs(dir) != 0) {
        snprintf(err, errlen, "spool: cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    char p[1100];
    snprintf(p, sizeof(p), "%s/lock", dir);
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        snprintf(err, errlen, "spool: cannot open %s: %s", p, strerror(errno));
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "spool: %s is in use by another otsensor (%s)", dir, strerror(errno));
        goto fail;
    }
    /* the lock file remembers the last id when trimming emptied the spool */
    char idtxt[64] = "";
    ssize_t il = pread(s->lock_fd, idtxt, sizeof(idtxt) - 1, 0);
    unsigned long long lms;
    unsigned lseq;
    if (il > 0 && (idtxt[il] = '\0', sscanf(idtxt, "%llu-%u", &lms, &lseq) == 2))
        s->last_id = (struct spool_id){lms, lseq};
    d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "spool: cannot read %s: %s", dir, strerror(errno));
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        unsigned long long no;
        char tail[8];
        if (strlen(de->d_name) != 33 || sscanf(de->d_name, "alerts-%20llu.%7s", &no, tail) != 2 ||
            strcmp(tail, "spool") != 0)
            continue;
        if (nn == capn) {
            capn = capn ? capn * 2 : 16;
            uint64_t *n = realloc(nos, capn * sizeof(*n));
            if (!n) {
                snprintf(err, errlen, "spool: out of memory");
                goto fail;
            }
            nos = n;
        }
        nos[nn++] = no;
    }
    closedir(d);
    d = NULL;
    if (nn) qsort(nos, nn, sizeof(*nos), cmp_u64);
    for (size_t i = 0; i < nn; i++) {
        seg_path(s, nos[i], p, sizeof(p));
        int fd = open(p, O_RDWR | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0 || seg_push(s, nos[i], fd) != 0) {
            snprintf(err, errlen, "spool: cannot open %s: %s", p, strerror(errno));
            if (fd >= 0) close(fd);
            goto fail;
        }
        struct seg *g = &s->segs[s->nsegs - 1];
        if (seg_scan(s, g, (uint64_t)sb.st_size) != 0) {
            snprintf(err, errlen, "spool: cannot repair %s: %s", p, strerror(errno));
            goto fail;
        }
        if (g->records == 0 && i + 1 < nn) {
            /* an empty segment in the middle (cut to nothing): drop it */
            close(g->fd);
            unlink(p);
            s->nsegs--;
            continue;
        }
        s->bytes += g->size;
        s->st.found_at_open += g->records;
        if (g->records && spool_id_cmp(g->last, s->last_id) > 0) s->last_id = g->last;
    }
    free(nos);
    nos = NULL;
    if (!s->nsegs && seg_new(s) != 0) {
        snprintf(err, errlen, "spool: cannot create a segment in %s: %s", dir, strerror(errno));
        goto fail;
    }
    s->wcap = WBUF_MIN;
    s->wbuf = malloc(s->wcap);
    if (!s->wbuf) {
        snprintf(err, errlen, "spool: out of memory");
        goto fail;
    }
    spool_rewind(s);
    return s;
fail:
    if (d) closedir(d);
    free(nos);
    spool_close(s);
    return NULL;
}

void spool_close(struct spool *s)
{
    if (!s) return;
    if (s->nsegs) {
        flush_wbuf(s);
        if (s->dirty && s->policy != SPOOL_FSYNC_NEVER) do_fsync(s, s->segs[s->nsegs - 1].fd);
    }
    for (size_t i = 0; i < s->nsegs; i++)
        close(s->segs[i].fd);
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    free(s->segs);
    free(s->wbuf);
    free(s->rbuf);
    free(s);
}

/* Closes the last segment and starts the next one. */
static int roll(struct spool *s)
{
    flush_wbuf(s);
    if (s->dirty && s->policy != SPOOL_FSYNC_NEVER) do_fsync(s, s->segs[s->nsegs - 1].fd);
    s->dirty = 0;
    return seg_new(s);
}

static int append_raw(struct spool *s, struct spool_id id, const char *data, size_t len)
{
    size_t rec = SPOOL_REC_HDR + len;
    struct seg *g = &s->segs[s->nsegs - 1];
    if (g->size && g->size + rec > s->seg_max) {
        if (roll(s) != 0) return SPOOL_ERR;
        g = &s->segs[s->nsegs - 1];
    }
    if (s->wlen + rec > s->wcap) {
        flush_wbuf(s);
        if (rec > s->wcap) {
            uint8_t *b = realloc(s->wbuf, rec);
            if (!b) return SPOOL_ERR;
            s->wbuf = b;
            s->wcap = rec;
        }
    }
    uint8_t *h = s->wbuf + s->wlen;
    put32(h, SPOOL_MAGIC);
    put32(h + 4, (uint32_t)len);
    put64(h + 8, id.ms);
    put32(h + 16, id.seq);
    memcpy(h + SPOOL_REC_HDR, data, len);
    uint32_t crc = spool_crc32(0, h, 20);
    put32(h + 20, spool_crc32(crc, data, len));
    s->wlen += rec;
    g->size += rec;
    g->records++;
    g->last = id;
    s->bytes += rec;
    s->last_id = id;
    s->st.appended++;
    if (s->policy == SPOOL_FSYNC_ALWAYS) {
        flush_wbuf(s);
        do_fsync(s, g->fd);
        s->dirty = 0;
    }
    return SPOOL_OK;
}

size_t spool_full_alert(char *out, size_t outlen, const char *sensor, uint64_t ms,
                        uint64_t max_bytes)
{
    struct jbuf j;
    jbuf_init(&j, out, outlen);
    jbuf_puts(&j, "{\"@timestamp\":");
    jbuf_ts(&j, ms * 1000);
    jbuf_puts(&j, ",\"event\":{\"kind\":\"alert\",\"dataset\":\"otsensor.alert\",\"severity\":4}"
                  ",\"rule\":{\"id\":\"sensor.spool_full\",\"name\":\"alert spool full: alerts "
                  "are being dropped\",\"ruleset\":\"otsensor\",\"category\":\"sensor-health\"}"
                  ",\"observer\":{\"name\":");
    jbuf_str(&j, sensor, strlen(sensor));
    jbuf_puts(&j, ",\"type\":\"sensor\"},\"otsensor\":{\"count\":1,\"sensor\":");
    jbuf_str(&j, sensor, strlen(sensor));
    jbuf_puts(&j, ",\"spool\":{\"max_bytes\":");
    jbuf_u64(&j, max_bytes);
    jbuf_puts(&j, "}},\"message\":\"the alert spool is full (Redis unreachable for too long); "
                  "further alerts are counted in the stats and dropped until it drains\"}");
    jbuf_putc(&j, '\0');
    if (!jbuf_ok(&j)) return 0;
    return j.len - 1;
}

int spool_append(struct spool *s, struct spool_id id, const char *data, size_t len)
{
    if (len > SPOOL_MAX_PAYLOAD) {
        log_error("spool: an alert of %zu bytes is over the %u-byte limit; dropped", len,
                  SPOOL_MAX_PAYLOAD);
        s->st.io_errors++;
        return SPOOL_ERR;
    }
    if (!spool_has_room(s, len)) {
        s->st.dropped_full++;
        if (!s->full) {
            s->full = 1;
            s->st.full_episodes++;
            log_error("spool %s is full (%llu of %llu bytes): alerts are being DROPPED until "
                      "Redis takes them (counted as spool_dropped)",
                      s->dir, (unsigned long long)s->bytes, (unsigned long long)s->max_bytes);
            char m[1024];
            size_t ml = spool_full_alert(m, sizeof(m), s->sensor, id.ms, s->max_bytes);
            if (ml) append_raw(s, id, m, ml);
        }
        return SPOOL_FULL;
    }
    return append_raw(s, id, data, len);
}

int spool_has_room(const struct spool *s, size_t len)
{
    return s->bytes + SPOOL_REC_HDR + len <= s->max_bytes;
}

struct spool_id spool_last_id(const struct spool *s)
{
    return s->last_id;
}

void spool_rewind(struct spool *s)
{
    s->r_no = s->segs[0].no;
    s->r_off = 0;
}

int spool_next(struct spool *s, struct spool_id *id, const char **data, size_t *len)
{
    for (;;) {
        size_t i = 0;
        while (i < s->nsegs && s->segs[i].no < s->r_no)
            i++;
        if (i == s->nsegs) return 0;
        struct seg *g = &s->segs[i];
        if (g->no != s->r_no) { /* the cursor's segment was trimmed */
            s->r_no = g->no;
            s->r_off = 0;
        }
        if (s->r_off >= g->size) {
            if (i + 1 == s->nsegs) return 0;
            s->r_no = s->segs[i + 1].no;
            s->r_off = 0;
            continue;
        }
        if (i + 1 == s->nsegs && s->wlen)
            flush_wbuf(s); /* the cursor reached bytes still in memory */
        const uint8_t *h = rd(s, g, s->r_off, SPOOL_REC_HDR);
        if (!h) return 0;
        uint32_t l = get32(h + 4);
        if (get32(h) != SPOOL_MAGIC || l > SPOOL_MAX_PAYLOAD)
            return 0; /* cannot happen: every segment was checked or written by us */
        const uint8_t *r = rd(s, g, s->r_off, SPOOL_REC_HDR + l);
        if (!r) return 0;
        id->ms = get64(r + 8);
        id->seq = get32(r + 16);
        *data = (const char *)r + SPOOL_REC_HDR;
        *len = l;
        s->r_off += SPOOL_REC_HDR + l;
        return 1;
    }
}

/* Notes the last id in the lock file, so ids keep increasing across a restart even
 * when every segment was trimmed. */
static void save_last_id(struct spool *s)
{
    char t[64];
    int n = snprintf(t, sizeof(t), "%llu-%u\n", (unsigned long long)s->last_id.ms, s->last_id.seq);
    if (pwrite(s->lock_fd, t, (size_t)n, 0) != n || ftruncate(s->lock_fd, n) != 0)
        io_error(s, "cannot write the lock file");
}

void spool_trim(struct spool *s, struct spool_id upto)
{
    if (s->nsegs && (s->segs[0].records == 0 || spool_id_cmp(s->segs[0].last, upto) <= 0))
        save_last_id(s); /* something will be deleted */
    while (s->nsegs) {
        struct seg *g = &s->segs[0];
        if (g->records && spool_id_cmp(g->last, upto) > 0) break;
        int last = s->nsegs == 1;
        if (last && !g->records) break; /* the empty write segment stays */
        if (last) {
            if (roll(s) != 0) break;
            g = &s->segs[0]; /* roll() may have moved the array */
        }
        char p[1100];
        seg_path(s, g->no, p, sizeof(p));
        close(g->fd);
        if (unlink(p) != 0) io_error(s, "cannot remove a segment");
        s->bytes -= g->size;
        if (s->rb_no == g->no) rb_forget(s);
        memmove(&s->segs[0], &s->segs[1], (s->nsegs - 1) * sizeof(*g));
        s->nsegs--;
    }
    if (s->full && s->bytes < s->max_bytes / 2) {
        s->full = 0;
        log_info("spool %s has room again (%llu bytes); %llu alerts were dropped so far", s->dir,
                 (unsigned long long)s->bytes, (unsigned long long)s->st.dropped_full);
    }
}

void spool_get_stats(const struct spool *s, struct spool_stats *st)
{
    *st = s->st;
    st->bytes = s->bytes;
    st->records = 0;
    for (size_t i = 0; i < s->nsegs; i++)
        st->records += s->segs[i].records;
}
