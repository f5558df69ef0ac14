/* capture.c - capture threads: read with libpcap (never transmit), decode, reassemble
 * IP fragments, hash each flow symmetrically and hand the packet to its worker. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "ipfrag.h"
#include "log.h"

#define TICK_US 1000000ULL
/* libpcap's read timeout: also how long a packet may wait in the kernel's buffer,
 * hence the margin of a live source's watermark */
#define LIVE_TIMEOUT_MS 20
/* stdio buffer for a capture file: glibc ignores setvbuf's size without a buffer of
 * ours (and reads 4 KiB at a time: 70,000 read calls for the 300 MB bench capture) */
#define FILE_BUFFER ((size_t)1 << 20)

static uint64_t packet_hash(const struct decoded *d)
{
    uint16_t vlan = d->vlan_count ? d->vlan[d->vlan_count - 1] : 0;
    if (d->kind == DECODED_L2) {
        struct ev_addr sa = {{0}}, da = {{0}};
        memcpy(sa.b + 10, d->src_mac, 6);
        memcpy(da.b + 10, d->dst_mac, 6);
        return flow_hash(&sa, &da, d->ethertype, d->ethertype, 0, vlan);
    }
    if (d->kind == DECODED_IP)
        return flow_hash(&d->src, &d->dst, d->sport, d->dport, d->l4proto, vlan);
    return 0;
}

/* The worker of a packet: by its address pair (MAC pair for layer 2), not its flow, so
 * every connection between two hosts meets in one worker, in packet order: an FTP
 * data connection and the control connection that names it, a DNP3 master's several
 * connections to one outstation, IP fragments and the flow they belong to (the
 * 2-tuple balancing Zeek clusters use). The flow hash still indexes the worker's table. */
static uint64_t addr_fold(const struct ev_addr *a)
{
    uint64_t hi, lo;
    memcpy(&hi, a->b, 8);
    memcpy(&lo, a->b + 8, 8);
    return lo ^ (hi * 0x9e3779b97f4a7c15ull);
}

static uint64_t pair_hash(const struct decoded *d)
{
    if (d->kind != DECODED_IP && d->kind != DECODED_FRAGMENT && d->kind != DECODED_BAD) return 0;
    uint16_t vlan = d->vlan_count ? d->vlan[d->vlan_count - 1] : 0;
    /* a sum is the same both ways; then a 64-bit finaliser (splitmix64's) */
    uint64_t h = addr_fold(&d->src) + addr_fold(&d->dst) + vlan;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

static int worker_of(uint64_t pair, int n)
{
    return (int)(((pair >> 32) * (uint64_t)n) >> 32);
}

/* Room for len bytes in ring r. Offline waits for it (no loss); live (or stopping)
 * gives up at once with NULL: capture must not stall. */
static void *reserve_or_wait(struct engine *e, struct ring *r, size_t len)
{
    void *rec;
    unsigned spins = 0;
    while (!(rec = ring_reserve(r, len))) {
        if (e->live || atomic_load_explicit(&e->stop, memory_order_relaxed)) return NULL;
        ring_backoff(&spins);
    }
    return rec;
}

/* Copies a packet into its worker's ring; a packet the ring cannot take is counted. */
static void dispatch(struct capture_source *src, const struct decoded *d, uint64_t hash,
                     uint64_t ts_us, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    struct engine *e = src->eng;
    int wi = d->kind == DECODED_L2 ? worker_of(hash, e->n_workers)
                                   : worker_of(pair_hash(d), e->n_workers);
    struct ring *r = &src->rings[wi];
    size_t len = sizeof(struct pkt_rec) + caplen;
    if (len + 16 > r->size / 2) {
        /* can never fit (ring_mb far below snaplen): count it rather than wait forever */
        atomic_fetch_add_explicit(&src->ring_drops, 1, memory_order_relaxed);
        return;
    }
    struct pkt_rec *rec = reserve_or_wait(e, r, len);
    if (!rec) {
        atomic_fetch_add_explicit(&src->ring_drops, 1, memory_order_relaxed);
        return;
    }
    rec->ts_us = ts_us;
    rec->hash = hash;
    rec->caplen = caplen;
    rec->wirelen = wirelen;
    rec->type = REC_PACKET;
    rec->iface = (uint8_t)src->index;
    rec->pad = 0;
    rec->d = *d;
    memcpy(rec->data, data, caplen);
    ring_commit(r);
}

/* A tick advances an idle worker's packet clock. Offline it waits for room as packets
 * do: where a tick falls in a worker's stream decides which flows time out before
 * the next packet, and that must not depend on how fast the worker ran. */
static void tick_all(struct capture_source *src, uint64_t ts_us)
{
    struct engine *e = src->eng;
    for (int i = 0; i < e->n_workers; i++) {
        struct pkt_rec *rec = reserve_or_wait(e, &src->rings[i], sizeof(struct pkt_rec));
        if (!rec) continue; /* live: a full ring has packets to advance its clock anyway */
        memset(rec, 0, sizeof(*rec));
        rec->type = REC_TICK;
        rec->ts_us = ts_us;
        ring_commit(&src->rings[i]);
        ring_publish(&src->rings[i]);
    }
}

struct cap_state {
    struct capture_source *src;
    pcap_t *file; /* the capture file being read */
    struct ipfrag_table *frags;
    char *iobuf; /* the capture file's stdio buffer (FILE_BUFFER bytes), or NULL */
    int linktype;
    uint64_t next_tick;
};

/* Copies the fragment table's counters out for the stats thread (this thread is their
 * only writer); only when a fragment came or the table was expired, so rarely. */
static void publish_frag_stats(struct cap_state *cs)
{
    struct capture_source *src = cs->src;
    const struct ipfrag_stats *s = ipfrag_stats(cs->frags);
    atomic_store_explicit(&src->frag_fragments, s->fragments, memory_order_relaxed);
    atomic_store_explicit(&src->frag_reassembled, s->reassembled, memory_order_relaxed);
    atomic_store_explicit(&src->frag_dropped_cap, s->dropped_cap, memory_order_relaxed);
    atomic_store_explicit(&src->frag_timeouts, s->timeouts, memory_order_relaxed);
    atomic_store_explicit(&src->frag_overlaps, s->overlaps, memory_order_relaxed);
    atomic_store_explicit(&src->frag_too_large, s->too_large, memory_order_relaxed);
    atomic_store_explicit(&src->frag_held, s->held, memory_order_relaxed);
    atomic_store_explicit(&src->frag_held_bytes, s->held_bytes, memory_order_relaxed);
}

static void on_packet(struct cap_state *cs, const struct pcap_pkthdr *h, const uint8_t *bytes)
{
    struct capture_source *src = cs->src;
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec;
    /* this thread is the counters' only writer: a plain load and store, no locked
     * read-modify-write per packet */
    atomic_store_explicit(&src->packets,
                          atomic_load_explicit(&src->packets, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&src->bytes,
                          atomic_load_explicit(&src->bytes, memory_order_relaxed) + h->len,
                          memory_order_relaxed);
    struct decoded d;
    decode_frame(&d, cs->linktype, bytes, h->caplen);
    if (d.kind == DECODED_FRAGMENT) {
        const uint8_t *out;
        uint32_t out_len;
        int anomaly = 0;
        int rc = ipfrag_add(cs->frags, &d, bytes, ts, &out, &out_len, &anomaly);
        if (rc == 1) {
            decode_ip(&d, out, out_len, 0);
            dispatch(src, &d, packet_hash(&d), ts, out, out_len, out_len);
        } else if (anomaly) {
            /* report the fragment problem through the worker that owns the pair */
            d.kind = DECODED_BAD;
            d.anomaly = (uint8_t)anomaly;
            dispatch(src, &d, flow_hash(&d.src, &d.dst, 0, 0, 0, 0), ts, bytes, h->caplen, h->len);
        }
        publish_frag_stats(cs);
    } else {
        dispatch(src, &d, packet_hash(&d), ts, bytes, h->caplen, h->len);
    }
    if (ts >= cs->next_tick) {
        if (cs->next_tick && ipfrag_expire(cs->frags, ts)) publish_frag_stats(cs);
        cs->next_tick = ts + TICK_US;
        tick_all(src, ts);
    }
}

static void live_stats(struct capture_source *src)
{
    struct pcap_stat ps;
    if (src->pcap && pcap_stats(src->pcap, &ps) == 0) {
        atomic_store(&src->kernel_drops, ps.ps_drop);
        atomic_store(&src->kernel_if_drops, ps.ps_ifdrop);
    }
}

static void publish_all(struct capture_source *src)
{
    for (int i = 0; i < src->eng->n_workers; i++)
        ring_publish(&src->rings[i]);
}

/* One packet of a capture file; every 1024 packets, a look at the stop flag. */
static void file_handler(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct cap_state *cs = (struct cap_state *)(void *)user;
    on_packet(cs, h, bytes);
    struct capture_source *src = cs->src;
    if ((atomic_load_explicit(&src->packets, memory_order_relaxed) & 1023) == 0 &&
        atomic_load_explicit(&src->eng->stop, memory_order_relaxed))
        pcap_breakloop(cs->file);
}

/* Reads the files in order. Returns 0, or -1 after recording a damaged file. */
static int read_files(struct cap_state *cs)
{
    struct capture_source *src = cs->src;
    struct engine *e = src->eng;
    for (int i = 0; i < e->cfg->n_read_files && !atomic_load(&e->stop); i++) {
        const char *path = e->cfg->read_files[i];
        char errbuf[PCAP_ERRBUF_SIZE];
        /* our own FILE with a large buffer: far fewer read() calls than stdio's default */
        FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
        if (!fp) {
            snprintf(e->failure, sizeof(e->failure), "%s: cannot read capture: %s", path,
                     strerror(errno));
            return -1;
        }
        /* (not for stdin: it outlives this thread and the buffer) */
        if (cs->iobuf && fp != stdin) setvbuf(fp, cs->iobuf, _IOFBF, FILE_BUFFER);
        /* only this thread reads the stream: no stdio lock per fread (libpcap does
         * two per packet) */
        __fsetlocking(fp, FSETLOCKING_BYCALLER);
        pcap_t *p =
            pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
        if (!p) {
            snprintf(e->failure, sizeof(e->failure), "%s: cannot read capture: %s", path, errbuf);
            if (fp != stdin) fclose(fp);
            return -1;
        }
        if (e->cfg->bpf[0]) {
            struct bpf_program prog;
            if (pcap_compile(p, &prog, e->cfg->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
                pcap_setfilter(p, &prog) != 0) {
                snprintf(e->failure, sizeof(e->failure), "%s: bad capture filter: %s", path,
                         pcap_geterr(p));
                pcap_close(p);
                return -1;
            }
            pcap_freecode(&prog);
        }
        cs->linktype = pcap_datalink(p);
        cs->file = p;
        /* the whole file in one call: libpcap's loop calls us per packet, without
         * pcap_next_ex's per-packet entry and header copy (~40 instructions) */
        int rc = pcap_dispatch(p, -1, file_handler, (u_char *)cs);
        if (rc == PCAP_ERROR) {
            long off = -1;
            FILE *pf = pcap_file(p);
            if (pf) off = ftell(pf);
            snprintf(e->failure, sizeof(e->failure),
                     "%s: capture damaged at byte offset %ld after %llu packets: %s", path, off,
                     (unsigned long long)atomic_load(&src->packets), pcap_geterr(p));
            pcap_close(p);
            return -1;
        }
        pcap_close(p);
    }
    return 0;
}

static void live_handler(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    on_packet((struct cap_state *)(void *)user, h, bytes);
}

static int read_live(struct cap_state *cs)
{
    struct capture_source *src = cs->src;
    struct engine *e = src->eng;
    pcap_t *p = src->pcap;
    cs->linktype = pcap_datalink(p);
    uint64_t last_stats = 0;
    while (!atomic_load(&e->stop)) {
        int n = pcap_dispatch(p, 256, live_handler, (u_char *)cs);
        if (n < 0 && n != PCAP_ERROR_BREAK) {
            snprintf(e->failure, sizeof(e->failure), "%s: capture failed: %s", src->name,
                     pcap_geterr(p));
            return -1;
        }
        /* live: make what arrived visible now (no waiting for a full batch), so
         * the two feeds of a TAP reach the workers with little skew */
        if (n >= 0) publish_all(src);
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        uint64_t now_us = (uint64_t)rt.tv_sec * 1000000ULL + (uint64_t)rt.tv_nsec / 1000;
        uint64_t mark = now_us - 2ULL * LIVE_TIMEOUT_MS * 1000ULL;
        if (mark > atomic_load_explicit(&src->watermark_us, memory_order_relaxed))
            atomic_store_explicit(&src->watermark_us, mark, memory_order_release);
        uint64_t now = wall_ms();
        if (now - last_stats >= 1000) {
            last_stats = now;
            live_stats(src);
            publish_all(src);
        }
    }
    live_stats(src);
    return 0;
}

void *capture_main(void *arg)
{
    struct capture_source *src = arg;
    struct engine *e = src->eng;
    struct config *c = e->cfg;
    struct cap_state cs = {src, NULL, NULL, NULL, 0, 0};
    cs.frags = ipfrag_new(c->frag_max_datagrams, c->frag_max_bytes,
                          (uint64_t)c->frag_timeout * 1000000ULL);
    /* every file is closed (pcap_close) before read_files returns, so one buffer
     * serves them in turn; without it stdio's default is used */
    if (!src->name) cs.iobuf = malloc(FILE_BUFFER);
    /* A file is read as soon as one worker has its nDPI module: nDPI 4.2 builds the
     * first one alone (~17 ms), and while the others build theirs the capture thread
     * and the first worker already run, their packets waiting in their rings (offline
     * nothing is lost). Live, a ring that fills would drop: every worker first. */
    int wait_for = src->name ? e->n_workers : 1;
    while (atomic_load(&e->workers_ready) < wait_for && !atomic_load(&e->stop)) {
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
    uint64_t unset = 0;
    atomic_compare_exchange_strong(&e->proc_start_us, &unset, mono_us());
    int rc = -1;
    if (cs.frags)
        rc = src->name ? read_live(&cs) : read_files(&cs);
    else
        snprintf(e->failure, sizeof(e->failure), "out of memory for fragment reassembly");
    if (rc != 0) atomic_store(&e->capture_failed, 1);
    publish_all(src);
    ipfrag_free(cs.frags);
    free(cs.iobuf);
    atomic_store(&src->done, 1);
    sem_post(&e->wake);
    return NULL;
}

static pcap_t *open_live(const struct config *c, const char *ifname, char *err, size_t errlen)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_create(ifname, errbuf);
    if (!p) {
        snprintf(err, errlen, "%s: %s", ifname, errbuf);
        return NULL;
    }
    pcap_set_snaplen(p, c->snaplen);
    pcap_set_promisc(p, c->promiscuous);
    pcap_set_buffer_size(p, c->buffer_mb << 20);
    pcap_set_timeout(p, LIVE_TIMEOUT_MS);
    int rc = pcap_activate(p);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot capture: %s", ifname, pcap_geterr(p));
        pcap_close(p);
        return NULL;
    }
    /* a passive sensor only listens: receive direction is all a TAP port has */
    if (c->bpf[0]) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, c->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
            pcap_setfilter(p, &prog) != 0) {
            snprintf(err, errlen, "%s: bad capture filter '%s': %s", ifname, c->bpf,
                     pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
        pcap_freecode(&prog);
    }
    return p;
}

int capture_open_all(struct engine *e, char *err, size_t errlen)
{
    struct config *c = e->cfg;
    e->live = c->n_interfaces > 0;
    e->n_sources = e->live ? c->n_interfaces : 1;
    e->sources = calloc((size_t)e->n_sources, sizeof(*e->sources));
    if (!e->sources) return -1;
    for (int s = 0; s < e->n_sources; s++) {
        struct capture_source *src = &e->sources[s];
        src->eng = e;
        src->index = s;
        src->name = e->live ? c->interfaces[s] : NULL;
        src->rings = calloc((size_t)e->n_workers, sizeof(struct ring));
        if (!src->rings) return -1;
        for (int w = 0; w < e->n_workers; w++)
            if (ring_init(&src->rings[w], (size_t)c->ring_mb << 20) != 0) {
                snprintf(err, errlen, "out of memory for packet rings");
                return -1;
            }
        if (e->live && !(src->pcap = open_live(c, src->name, err, errlen))) return -1;
    }
    return 0;
}
