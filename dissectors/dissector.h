/* dissector.h - the contract every protocol dissector fulfils, and the registry.
 *
 * A dissector parses one protocol with the bounds-checked cursor and emits typed
 * events to the worker's sink. It keeps per-flow state (one state object for both
 * directions). The engine picks it by port or by its probe on any port.
 *
 * TCP: the engine delivers each direction in order. parse() sees all bytes
 * buffered for that direction and returns how many it consumed; 0 means "the PDU
 * at the head is incomplete, call again with more". A dissector that cannot find
 * a PDU boundary consumes bytes to resynchronise (e.g. one byte, or up to the next
 * plausible header). After a gap in the stream (lost bytes) the engine drops what
 * was buffered, calls gap(), and sets info->after_gap on the next parse().
 * UDP and layer 2: one parse() per datagram or frame; the return value is ignored. */
#ifndef OTS_DISSECTOR_H
#define OTS_DISSECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "../sensor/cursor.h"
#include "../sensor/event.h"

/* Stable ids: append only, never renumber (they name protocols in stats). */
enum dissector_id {
    DISS_NONE = 0,
    DISS_MODBUS = 1,
    DISS_DNP3 = 2,
    DISS_IEC104 = 3,
    DISS_S7COMM = 4,
    DISS_ENIP = 5,
    DISS_BACNET = 6,
    DISS_OPCUA = 7,
    DISS_MMS = 8,
    DISS_GOOSE = 9,
    DISS_SV = 10,
    DISS_PROFINET_DCP = 11,
    DISS_MQTT = 12,
    DISS_HART_IP = 13,
    DISS_FINS = 14,
    DISS_HTTP = 15,
    DISS_FTP_DATA = 16,
    DISS_FTP = 17,
    DISS_MAX = 32,
};

#define DISS_TCP 0x1
#define DISS_UDP 0x2
#define DISS_L2  0x4

enum probe_result { PROBE_NO = 0, PROBE_YES = 1, PROBE_NEED_MORE = 2 };

struct pdu_info {
    int to_server;  /* 1: client -> server (request direction) */
    int transport;  /* DISS_TCP, DISS_UDP or DISS_L2 */
    int after_gap;  /* TCP: bytes were lost just before this data */
    uint64_t ts_us; /* time of the packet that completed the data */
};

struct dissector {
    uint16_t id; /* enum dissector_id */
    const char *name;
    uint8_t transports;     /* DISS_TCP | DISS_UDP | DISS_L2 */
    uint16_t ports[4];      /* default server ports, 0-terminated */
    uint16_t ethertypes[3]; /* for DISS_L2, 0-terminated */
    /* Looks at the first bytes of a direction; NULL means port-only. */
    enum probe_result (*probe)(struct cursor *c, int to_server);
    void *(*state_new)(void);
    void (*state_free)(void *state);
    size_t (*parse)(void *state, struct cursor *c, const struct pdu_info *info,
                    struct event_sink *sink);
    void (*gap)(void *state, int to_server); /* may be NULL */
    const char *const *anomalies;            /* NULL-terminated list of names it raises */
    uint32_t max_pdu; /* largest PDU buffered across segments; beyond it the engine resyncs */
    /* nDPI protocol ids (ndpi_protocol_ids.h, master or app) that give a flow on any
     * port to this dissector, 0-terminated; for IT protocols whose port says little */
    uint16_t ndpi_ids[2];
    /* The flow ends: direction to_server's last word (e.g. a body delimited by the
     * close). sink->net is that direction's. May be NULL. */
    void (*end)(void *state, int to_server, struct event_sink *sink);
    /* end() may run for a direction as soon as that direction's FIN is reached in
     * order (its bytes are all in), rather than when the flow leaves the table; the
     * engine calls it once per direction either way. */
    uint8_t end_on_fin;
    /* Reads nothing but YARA objects (HTTP bodies, FTP data): the engine gives it a
     * flow only while objects are kept, so without -Y such flows cost nothing. */
    uint8_t objects_only;
    /* Claims a flow on any port from what another flow announced (an FTP data
     * connection its control connection set up); net is the first data's. May be NULL. */
    int (*claim)(const struct event_sink *sink);
    /* State all of this dissector's flows in one worker share, in sink->shared[id]
     * (FTP: the transfers control connections announced, for the data connections).
     * Made when the worker starts (for an objects_only dissector: only while objects
     * are kept), freed after its last flow ended. NULL when out of memory: the
     * dissector must cope. Both may be NULL. */
    void *(*worker_new)(void);
    void (*worker_free)(void *shared);
};

_Static_assert(DISS_MAX <= SINK_SHARED_MAX, "event_sink.shared has a slot per dissector id");

/* NULL-terminated table of every dissector, in registry.c. */
extern const struct dissector *const dissector_registry[];

const struct dissector *dissector_by_id(unsigned id);
const struct dissector *dissector_by_name(const char *name);

#endif
