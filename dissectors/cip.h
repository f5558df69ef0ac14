/* cip.h - CIP (Common Industrial Protocol) explicit messages, as carried by EtherNet/IP.
 *
 * enip.c hands cip_parse() the CIP bytes of an unconnected data item (SendRRData) or
 * of a connected data item (SendUnitData, after its sequence count). cip_parse() emits
 * proto "cip" events: one per service, with a Multiple Service Packet giving one for
 * itself and one per embedded service, and an Unconnected Send one for itself and one
 * for the request it carries. Requests are remembered per flow (struct cip_state) so
 * that a response can say what it answers: class, instance, attribute, tag, latency. */
#ifndef OTS_CIP_H
#define OTS_CIP_H

#include <stddef.h>
#include <stdint.h>

#include "../sensor/cursor.h"
#include "../sensor/event.h"
#include "../sensor/object.h"

#define CIP_TAG_MAX     40 /* tag names kept for pairing (events keep the full name) */
#define CIP_MSP_MAX     32 /* embedded services remembered per Multiple Service Packet */
#define CIP_PENDING_MAX 8  /* outstanding requests remembered per flow */

/* What a request addressed: enough to describe the response. */
struct cip_req {
    uint8_t service; /* request service code (bit 7 clear) */
    uint8_t has_class, has_instance, has_attribute;
    uint32_t class_id, instance, attribute;
    uint8_t tag_len;
    char tag[CIP_TAG_MAX];
};

/* A request waiting for its response. Keys: SendRRData pairs by sender context,
 * SendUnitData by the connected sequence count (connection ids differ by direction). */
struct cip_pending {
    uint8_t used;
    uint8_t kind; /* CIP_KEY_* */
    uint8_t key[8];
    uint8_t nmsp; /* embedded requests remembered when req is a Multiple Service Packet */
    uint64_t ts_us;
    uint64_t age; /* insertion order, to evict the oldest */
    struct cip_req req;
    struct cip_req msp[CIP_MSP_MAX];
};

enum { CIP_KEY_NONE = 0, CIP_KEY_CONTEXT = 1, CIP_KEY_SEQ = 2 };

/* A File object (class 0x37) transfer gathered for YARA: [0] Download Transfer
 * (to the device), [1] Upload Transfer (from it). */
struct cip_file_xfer {
    struct ots_object obj;
    uint8_t armed; /* a first packet came; next is the transfer number due */
    uint8_t next;
    uint32_t instance;
};

struct cip_state {
    uint64_t counter;
    struct cip_pending pending[CIP_PENDING_MAX];
    struct cip_file_xfer file[2];
    uint64_t file_gaps; /* transfers dropped for a missing or misplaced packet */
};

/* Where a CIP message came from (filled by enip.c). */
struct cip_msg_ctx {
    int to_server;
    uint64_t ts_us;
    uint8_t key_kind; /* CIP_KEY_* */
    uint8_t key[8];
    uint32_t session;
    int has_conn;
    uint32_t conn_id;
    int has_seq;
    uint16_t seq; /* connected data sequence count */
};

/* Parses one CIP message that fills c; emits its events to sink. st may be NULL
 * (no pairing: replies then lack what they answer). */
void cip_parse(struct cip_state *st, struct cursor *c, const struct cip_msg_ctx *ctx,
               struct event_sink *sink);

/* The flow ends: a File object transfer travelling to_server's way whose last
 * packet never came is scanned as it stands, marked partial (st may be NULL). */
void cip_state_end(struct cip_state *st, int to_server, struct event_sink *sink);
/* Frees what a cip_state holds (not the state itself; st may be NULL). */
void cip_state_release(struct cip_state *st);

/* Reads an Identity object's attributes 1-7 (vendor, device type, product code,
 * revision, status, serial, product name) from c into an "identity" object of e.
 * Returns 1 if all were present. Used for ListIdentity and Get_Attributes_All. */
int cip_identity_fields(struct event *e, struct cursor *c);

/* Names, for enip.c and tests. */
const char *cip_service_name(uint8_t service, int has_class, uint32_t class_id, int symbolic);
const char *cip_status_name(uint8_t status);
const char *cip_vendor_name(uint16_t id); /* NULL when not in our short list */

/* Anomaly names cip_parse() can raise (NULL-terminated). */
extern const char *const cip_anomalies[];

#endif
