/* classify.c - see classify.h. */
#include "classify.h"

#include <pthread.h>
#include <string.h>

#include <ndpi/ndpi_api.h>

/* The first nDPI module is built alone: it initialises what nDPI 4.2 keeps process-wide
 * (libgcrypt, whose initialisation is not thread-safe, and the DGA bigram tables, filled
 * once behind an unlocked flag). Everything else ndpi_init_detection_module,
 * ndpi_set_protocol_detection_bitmask2, ndpi_finalize_initialization and
 * ndpi_exit_detection_module touch belongs to the module (audited in the 4.2 sources;
 * the one other static, a patricia tree counter, is only read by debug code), so later
 * workers build theirs in parallel: each takes ~50 ms, and one at a time that made the
 * N-th worker start N x 50 ms late. Packet processing needs no lock. */
static pthread_mutex_t ndpi_setup_lock = PTHREAD_MUTEX_INITIALIZER;
static int ndpi_first_built; /* under ndpi_setup_lock */

/* otsensor keeps nDPI's protocol, category and confidence, never its risk flags,
 * so nDPI's built-in DGA heuristic (bigram/trigram automata over every DNS name
 * and TLS SNI, ~5% of the engine's CPU on the benchmark's IT share) would compute
 * a result nobody reads. nDPI calls this hook instead when it is set. */
static int dga_not_reported(const char *domain, int domain_len)
{
    (void)domain;
    (void)domain_len;
    return 0;
}

int classify_init(struct classifier *c, uint32_t max_packets)
{
    memset(c, 0, sizeof(*c));
    c->max_packets = max_packets;
    pthread_mutex_lock(&ndpi_setup_lock);
    int first = !ndpi_first_built;
    if (first)
        ndpi_dga_function = dga_not_reported;
    else
        pthread_mutex_unlock(&ndpi_setup_lock);
    c->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (c->ndpi) {
        NDPI_PROTOCOL_BITMASK all;
        NDPI_BITMASK_SET_ALL(all);
        ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);
        ndpi_finalize_initialization(c->ndpi);
    }
    if (first) {
        ndpi_first_built = c->ndpi != NULL; /* after a failure the next one goes alone */
        pthread_mutex_unlock(&ndpi_setup_lock);
    }
    return c->ndpi ? 0 : -1;
}

void classify_destroy(struct classifier *c)
{
    if (c->ndpi) ndpi_exit_detection_module(c->ndpi);
    c->ndpi = NULL;
}

static void settle(struct classifier *c, struct flow *f, ndpi_protocol p)
{
    f->ndpi_master = p.master_protocol;
    f->ndpi_app = p.app_protocol;
    f->ndpi_category = (uint16_t)p.category;
    if (f->ndpi) f->ndpi_confidence = (uint8_t)f->ndpi->confidence;
}

static void release(struct flow *f)
{
    if (f->ndpi) {
        ndpi_free_flow(f->ndpi);
        f->ndpi = NULL;
    }
    f->ndpi_done = 1;
}

void classify_packet(struct classifier *c, struct flow *f, const uint8_t *l3, uint32_t l3_len,
                     uint64_t ts_us)
{
    if (f->ndpi_done || !c->ndpi) return;
    if (!f->ndpi) {
        f->ndpi = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
        if (!f->ndpi) {
            f->ndpi_done = 1;
            return;
        }
        memset(f->ndpi, 0, SIZEOF_FLOW_STRUCT);
    }
    if (l3_len > 0xffff) l3_len = 0xffff;
    ndpi_protocol p =
        ndpi_detection_process_packet(c->ndpi, f->ndpi, l3, (unsigned short)l3_len, ts_us / 1000);
    f->ndpi_pkts++;
    settle(c, f, p);
    int known =
        p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN;
    /* We want the protocol and category, not nDPI's metadata (certificates, JA3):
     * stop at the first decision unless the master protocol is still open (e.g. TLS
     * before the SNI names the application). */
    if (known && (p.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
                  !ndpi_extra_dissection_possible(c->ndpi, f->ndpi))) {
        c->flows_detected++;
        release(f);
    } else if (f->ndpi_pkts >= c->max_packets) {
        classify_finish(c, f);
    }
}

void classify_finish(struct classifier *c, struct flow *f)
{
    if (f->ndpi_done) return;
    if (f->ndpi && c->ndpi) {
        uint8_t guessed = 0;
        ndpi_protocol p = ndpi_detection_giveup(c->ndpi, f->ndpi, 1, &guessed);
        settle(c, f, p);
        if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN)
            c->flows_detected++;
        else
            c->flows_given_up++;
    }
    release(f);
}

int classify_is_encrypted(struct classifier *c, const struct flow *f)
{
    if (!c->ndpi || (!f->ndpi_master && !f->ndpi_app)) return 0;
    ndpi_protocol p = {f->ndpi_master, f->ndpi_app, (ndpi_protocol_category_t)f->ndpi_category};
    return ndpi_is_encrypted_proto(c->ndpi, p) != 0;
}

const char *classify_name(struct classifier *c, const struct flow *f, char *buf, size_t len)
{
    if (!c->ndpi) return "Unknown";
    /* what ndpi_protocol2name() writes ("Master.App", or one name), without its
     * snprintf: this runs for every flow event and every scanned window */
    uint16_t m = f->ndpi_master, a = f->ndpi_app;
    if (m == NDPI_PROTOCOL_UNKNOWN || m == a) return ndpi_get_proto_name(c->ndpi, a);
    if (a == NDPI_PROTOCOL_UNKNOWN) return ndpi_get_proto_name(c->ndpi, m);
    if (!len) return "";
    size_t o = 0;
    for (const char *p = ndpi_get_proto_name(c->ndpi, m); *p && o + 1 < len; p++)
        buf[o++] = *p;
    if (o + 1 < len) buf[o++] = '.';
    for (const char *p = ndpi_get_proto_name(c->ndpi, a); *p && o + 1 < len; p++)
        buf[o++] = *p;
    buf[o] = '\0';
    return buf;
}

const char *classify_category(struct classifier *c, const struct flow *f)
{
    if (!c->ndpi) return "Unspecified";
    return ndpi_category_get_name(c->ndpi, (ndpi_protocol_category_t)f->ndpi_category);
}

const char *classify_confidence(const struct flow *f)
{
    return ndpi_confidence_get_name((ndpi_confidence_t)f->ndpi_confidence);
}
