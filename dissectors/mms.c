/* mms.c - ISO 9506 MMS dissector over the OSI stack on TCP 102 (IEC 61850-8-1).
 *
 *   TPKT (RFC 1006)        | 03 | 00 | length (2, whole TPKT) |
 *   COTP (ISO 8073) class 0| LI | type | ... |   DT: LI=2, F0, nr|EOT(0x80), user data
 *   Session (ISO 8327)     CN 0x0D / AC 0x0E: | SI | LI | parameters (PGI 0xC1 user data) |
 *                          data: | 01 00 (give tokens) | 01 00 (data transfer) | user data |
 *                          LI is one byte, or 0xFF and two bytes
 *   Presentation (8823)    CP/CPA: SET 0x31 { [0] mode, [2] normal-mode { ...,
 *                            fully-encoded-data [APPLICATION 1] 0x61 } }
 *                          data: fully-encoded-data 0x61 directly
 *                          fully-encoded-data: SEQUENCE OF PDV-list 0x30 { transfer syntax
 *                            06?, context id 02, [0] single-ASN1-type | [1] octet-aligned }
 *   ACSE (8650)            AARQ 0x60 / AARE 0x61: user-information [30] 0xBE {
 *                            EXTERNAL 0x28 { 06?, 02?, [0] single-ASN1-type = MMS PDU } }
 *   MMS (9506)             PDU CHOICE: [0] confirmed-Request, [1] confirmed-Response,
 *                          [2] confirmed-Error, [3] unconfirmed, [4] reject, [5..7] cancel,
 *                          [8..10] initiate, [11..13] conclude
 *                          confirmed-Request ::= SEQUENCE { invokeID INTEGER,
 *                            listOfModifier SEQUENCE OPTIONAL, service [n] ... }
 *
 * Choices worth knowing:
 * - One event per MMS PDU. code = the confirmed service choice (tag number of the
 *   service element) of confirmed-Request and confirmed-Response PDUs, as tshark's
 *   mms.confirmedServiceRequest/Response; null for every other PDU. A response
 *   without a service element gets a null code (tshark shows none either).
 * - op follows the taxonomy (mms_read -> "read", mms_enumeration -> "enumeration",
 *   mms_domain_download -> "domain_download", ...); services outside it use their
 *   snake_case name. `service` always holds the precise snake_case service name.
 * - MMS carried straight in COTP DT without session/presentation (some tools and
 *   test captures do it; tshark decodes it) is accepted.
 * - Responses and errors carry the request's service and the latency, paired by
 *   invokeID (MMS_MAX_PENDING per flow, oldest evicted).
 * - COTP connection management, session SPDUs without MMS (finish, disconnect,
 *   abort) and ACSE release give no event. Unreadable framing gives one
 *   "malformed" event per resync episode (code null).
 * - The probe says YES only when the bytes lead, through TPKT, COTP DT and the
 *   session/presentation layers (or straight), to a readable MMS PDU; NEED_MORE
 *   while only COTP CR/CC (or an unfinished DT) is seen; NO for S7comm (0x32) and
 *   S7comm-plus (0x72) payloads and anything else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ber.h"
#include "mms_data.h"
#include "dissector.h"
#include "object.h"

#define TPKT_HDR        4
#define TPKT_MIN        7 /* TPKT + smallest COTP DT header */
#define MMS_MAX_TPKT    65535
#define MMS_MAX_SDU     65536 /* reassembled COTP DT sequence */
#define MMS_MAX_PENDING 32
#define MMS_MAX_NAMES   16 /* variable / file names kept per event */
#define MMS_MAX_VALUES  16 /* written values kept per event */
#define MMS_XFERS       4  /* file and domain transfers gathered at once, per flow */
#define MMS_XNAME       48 /* file / domain name kept with a request for its reply */

static const char *const mms_anomalies[] = {
    "mms.tpkt_invalid",    "mms.cotp_malformed",   "mms.sdu_too_large", "mms.session_malformed",
    "mms.pres_malformed",  "mms.malformed",        "mms.unknown_pdu",   "mms.unmatched_response",
    "mms.missing_service", "mms.service_mismatch", "mms.resync",        NULL,
};

struct mms_pending {
    uint64_t ts_us;
    uint32_t seq; /* 0: free */
    uint32_t invoke;
    uint16_t service;
    uint8_t to_server; /* the request's direction: either side may ask (ObtainFile) */
    /* transfers: the FRSM / ULSM id a request names, or the file / domain name */
    uint8_t has_id, name_len;
    uint32_t id;
    char name[MMS_XNAME];
};

/* A file or domain transfer gathered for YARA (see mms_xfer_*). */
enum { MMS_X_FILE = 1, MMS_X_UPLOAD, MMS_X_DOWNLOAD };
struct mms_xfer {
    struct ots_object obj;
    uint8_t kind; /* 0: free */
    uint8_t name_len;
    uint8_t to_server; /* the way its data travels (a close or terminate may come the other) */
    uint32_t id;       /* FRSM (file) or ULSM (upload) id */
    uint64_t age;
    char name[MMS_XNAME]; /* download: the domain it is keyed by */
};

struct mms_dir {
    uint8_t *sdu; /* DT user data waiting for EOT */
    uint32_t sdu_len;
    uint8_t lost; /* scanning for a TPKT header */
    uint8_t sdu_overflow;
};

struct mms_state {
    struct mms_dir dir[2];
    struct mms_pending pend[MMS_MAX_PENDING];
    uint32_t seq;
    uint64_t pdus, unmatched;
    struct mms_xfer xfer[MMS_XFERS];
    uint64_t xfer_clock;
    /* the last ObtainFile not yet answered: the server pulls sourceFile from its
     * requester with FileOpen/FileRead, over this association */
    struct {
        uint8_t active, to_server; /* to_server: the way the file's bytes will go */
        uint8_t src_len, dst_len;
        char src[MMS_XNAME], dst[MMS_XNAME];
    } obtain;
};

/* Where a decode runs: dry for the probe (no state, no events). */
struct mms_ctx {
    struct mms_state *st;
    const struct pdu_info *info;
    struct event_sink *sink;
    int dry;
    int found; /* dry: an MMS PDU was reached */
};

/* ---- names ---- */

/* ConfirmedServiceRequest/Response choice (ISO 9506-2) -> snake_case name. */
static const char *mms_service_name(uint32_t s)
{
    static const char *const names[] = {
        "status",
        "get_name_list",
        "identify",
        "rename",
        "read",
        "write",
        "get_variable_access_attributes",
        "define_named_variable",
        "define_scattered_access",
        "get_scattered_access_attributes",
        "delete_variable_access",
        "define_named_variable_list",
        "get_named_variable_list_attributes",
        "delete_named_variable_list",
        "define_named_type",
        "get_named_type_attributes",
        "delete_named_type",
        "input",
        "output",
        "take_control",
        "relinquish_control",
        "define_semaphore",
        "delete_semaphore",
        "report_semaphore_status",
        "report_pool_semaphore_status",
        "report_semaphore_entry_status",
        "initiate_download_sequence",
        "download_segment",
        "terminate_download_sequence",
        "initiate_upload_sequence",
        "upload_segment",
        "terminate_upload_sequence",
        "request_domain_download",
        "request_domain_upload",
        "load_domain_content",
        "store_domain_content",
        "delete_domain",
        "get_domain_attributes",
        "create_program_invocation",
        "delete_program_invocation",
        "start",
        "stop",
        "resume",
        "reset",
        "kill",
        "get_program_invocation_attributes",
        "obtain_file",
        "define_event_condition",
        "delete_event_condition",
        "get_event_condition_attributes",
        "report_event_condition_status",
        "alter_event_condition_monitoring",
        "trigger_event",
        "define_event_action",
        "delete_event_action",
        "get_event_action_attributes",
        "report_event_action_status",
        "define_event_enrollment",
        "delete_event_enrollment",
        "alter_event_enrollment",
        "report_event_enrollment_status",
        "get_event_enrollment_attributes",
        "acknowledge_event_notification",
        "get_alarm_summary",
        "get_alarm_enrollment_summary",
        "read_journal",
        "write_journal",
        "initialize_journal",
        "report_journal_status",
        "create_journal",
        "delete_journal",
        "get_capability_list",
        "file_open",
        "file_read",
        "file_close",
        "file_rename",
        "file_delete",
        "file_directory",
    };
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/* Taxonomy op (mms_* ids) for a service, else its own name. */
static const char *mms_service_op(uint32_t s)
{
    switch (s) {
    case 1:
    case 2:
    case 6:
    case 12: return "enumeration";
    case 4: return "read";
    case 5: return "write";
    case 11:
    case 13: return "dataset_change";
    case 26:
    case 27:
    case 28:
    case 32:
    case 34: return "domain_download";
    case 29:
    case 30:
    case 31:
    case 33:
    case 35: return "domain_upload";
    case 36: return "delete_domain";
    case 38:
    case 39:
    case 40:
    case 41:
    case 42:
    case 43:
    case 44: return "program_invocation";
    case 46: return "file_push";
    case 72:
    case 73:
    case 74: return "file_read";
    case 75:
    case 76: return "file_delete_rename";
    case 77: return "file_directory";
    default: {
        const char *n = mms_service_name(s);
        return n ? n : "unknown_service";
    }
    }
}

/* ---- small BER helpers ---- */

/* Reads the next TLV of c; 0 at the end or on error (*bad set on error). */
static int mms_next(struct cursor *c, struct ber_tlv *t, int *bad)
{
    enum ber_status s = ber_read(c, t);
    if (s == BER_OK) return 1;
    if (s != BER_EOF && bad) *bad = 1;
    return 0;
}

static void mms_text(struct event *e, const char *key, const struct ber_tlv *t)
{
    const uint8_t *p;
    size_t n;
    if (!t->constructed && ber_octets(t, &p, &n)) ev_str(e, key, p, n);
}

static void mms_unsigned(struct event *e, const char *key, const struct ber_tlv *t)
{
    uint64_t v;
    if (!t->constructed && ber_uint(t, &v)) ev_uint(e, key, v);
}

/* ObjectName ::= CHOICE { vmd-specific [0] Identifier, domain-specific [1] SEQUENCE {
 * domainId, itemId }, aa-specific [2] Identifier } -> one object {domain, item} or
 * {vmd} / {aa}. key NULL inside arrays. */
static void mms_object_name(struct event *e, const char *key, const struct ber_tlv *t)
{
    ev_obj_begin(e, key);
    if (t->cls == BER_CONTEXT && t->tag == 1 && t->constructed) {
        struct cursor c = t->val;
        struct ber_tlv d, i;
        if (mms_next(&c, &d, NULL)) mms_text(e, "domain", &d);
        if (mms_next(&c, &i, NULL)) mms_text(e, "item", &i);
    } else if (t->cls == BER_CONTEXT && t->tag == 0) {
        mms_text(e, "vmd", t);
    } else if (t->cls == BER_CONTEXT && t->tag == 2) {
        mms_text(e, "aa", t);
    }
    ev_end(e);
}

/* FileName ::= SEQUENCE OF GraphicString: joined with '/'. */
static void mms_file_name(struct event *e, const char *key, const struct ber_tlv *t)
{
    char buf[EVENT_STR_CAP];
    size_t used = 0;
    struct cursor c = t->val;
    struct ber_tlv s;
    while (mms_next(&c, &s, NULL)) {
        const uint8_t *p;
        size_t n;
        if (s.constructed || !ber_octets(&s, &p, &n)) continue;
        if (used && used < sizeof(buf)) buf[used++] = '/';
        if (n > sizeof(buf) - used) n = sizeof(buf) - used;
        memcpy(buf + used, p, n);
        used += n;
    }
    ev_str(e, key, buf, used);
}

/* VariableAccessSpecification: listOfVariable [0] or variableListName [1]. */
static void mms_var_spec(struct event *e, const struct ber_tlv *t)
{
    if (t->cls != BER_CONTEXT) return;
    if (t->tag == 1 && t->constructed) {
        struct cursor c = t->val;
        struct ber_tlv n;
        if (mms_next(&c, &n, NULL)) mms_object_name(e, "variable_list", &n);
        return;
    }
    if (t->tag != 0 || !t->constructed) return;
    struct cursor c = t->val;
    struct ber_tlv item;
    uint32_t count = 0;
    ev_arr_begin(e, "variables");
    while (mms_next(&c, &item, NULL)) {
        count++;
        if (count > MMS_MAX_NAMES) continue;
        /* SEQUENCE { variableSpecification CHOICE { name [0] ObjectName, ... }, ... } */
        struct cursor ic = item.val;
        struct ber_tlv spec, name;
        if (mms_next(&ic, &spec, NULL) && spec.cls == BER_CONTEXT && spec.tag == 0 &&
            spec.constructed && mms_next(&spec.val, &name, NULL))
            mms_object_name(e, NULL, &name);
        else
            ev_null(e, NULL);
    }
    ev_end(e);
    ev_uint(e, "variable_count", count);
}

/* listOfData / listOfAccessResult: count and the first values. */
static void mms_data_list(struct event *e, const char *key, const char *count_key,
                          const struct ber_tlv *t)
{
    struct cursor c = t->val;
    struct ber_tlv d;
    uint32_t count = 0;
    ev_arr_begin(e, key);
    while (mms_next(&c, &d, NULL)) {
        if (++count <= MMS_MAX_VALUES) mms_data_value(e, &d);
    }
    ev_end(e);
    ev_uint(e, count_key, count);
}

/* The fields of one confirmed service request we know how to summarise. */
static void mms_request_body(struct event *e, uint32_t svc, const struct ber_tlv *t)
{
    struct cursor c = t->val;
    struct ber_tlv x;
    switch (svc) {
    case 1: /* getNameList { objectClass [0], objectScope [1], continueAfter [2] } */
        while (mms_next(&c, &x, NULL)) {
            struct ber_tlv y;
            struct cursor yc = x.val;
            if (x.tag == 0 && x.constructed && mms_next(&yc, &y, NULL))
                mms_unsigned(e, "object_class", &y);
            else if (x.tag == 1 && x.constructed && mms_next(&yc, &y, NULL)) {
                ev_cstr(e, "object_scope", y.tag == 0 ? "vmd" : y.tag == 1 ? "domain" : "aa");
                if (y.tag == 1) mms_text(e, "domain", &y);
            } else if (x.tag == 2)
                mms_text(e, "continue_after", &x);
        }
        break;
    case 4: /* read { specificationWithResult [0], variableAccessSpecification [1] } */
        while (mms_next(&c, &x, NULL)) {
            struct ber_tlv y;
            if (x.tag == 1 && x.constructed && mms_next(&x.val, &y, NULL)) mms_var_spec(e, &y);
        }
        break;
    case 5: /* write { variableAccessSpecification, listOfData [0] } */
        if (mms_next(&c, &x, NULL)) mms_var_spec(e, &x);
        if (mms_next(&c, &x, NULL) && x.constructed) mms_data_list(e, "values", "value_count", &x);
        break;
    case 6:              /* getVariableAccessAttributes: name [0] ObjectName */
    case 12:             /* getNamedVariableListAttributes: ObjectName */
    case 13:             /* deleteNamedVariableList */
    case 19:             /* takeControl { semaphoreName [0] ObjectName, ... } */
        if (svc == 12) { /* the ObjectName CHOICE inside the explicit [12] */
            if (mms_next(&c, &x, NULL)) mms_object_name(e, "name", &x);
            break;
        }
        if (mms_next(&c, &x, NULL)) {
            struct ber_tlv y;
            if (x.constructed && mms_next(&x.val, &y, NULL)) mms_object_name(e, "name", &y);
        }
        break;
    case 11: /* defineNamedVariableList { variableListName, listOfVariable [0] } */
        if (mms_next(&c, &x, NULL)) mms_object_name(e, "name", &x);
        break;
    case 26: /* initiateDownloadSequence { domainName [0], capabilities [1], sharable [2] } */
    case 28: /* terminateDownloadSequence { domainName [0], discard [1] } */
    case 32: /* requestDomainDownload { domainName [0], ... fileName [4] } */
    case 33: /* requestDomainUpload { domainName [0], fileName [1] } */
    case 34: /* loadDomainContent { domainName [0], ... fileName [4] } */
    case 35: /* storeDomainContent { domainName [0], fileName [1] } */
    case 38: /* createProgramInvocation { programInvocationName [0], domains [1] } */
    case 40: /* start { programInvocationName [0], ... } */
    case 41: /* stop */
    case 42: /* resume */
    case 43: /* reset */
    case 44: /* kill */
        while (mms_next(&c, &x, NULL)) {
            if (x.cls != BER_CONTEXT) continue;
            if (x.tag == 0 && svc >= 38)
                mms_text(e, "program_invocation", &x);
            else if (x.tag == 0)
                mms_text(e, "domain", &x);
            else if (x.tag == 1 && svc == 26 && x.constructed) {
                struct ber_tlv cap;
                struct cursor cc = x.val;
                if (mms_next(&cc, &cap, NULL)) mms_text(e, "capability", &cap);
            } else if (x.constructed && ((x.tag == 4 && (svc == 32 || svc == 34)) ||
                                         (x.tag == 1 && (svc == 33 || svc == 35))))
                mms_file_name(e, "file_name", &x);
        }
        break;
    case 27: /* downloadSegment: Identifier (domain) */
    case 29: /* initiateUploadSequence: Identifier */
    case 36: /* deleteDomain */
    case 37: /* getDomainAttributes */ mms_text(e, "domain", t); break;
    case 39: /* deleteProgramInvocation: Identifier */
    case 45: /* getProgramInvocationAttributes */ mms_text(e, "program_invocation", t); break;
    case 30: /* uploadSegment: ULSM id */
    case 31: mms_unsigned(e, "ulsm_id", t); break;
    case 46: /* obtainFile { sourceFileServer [0], sourceFile [1], destinationFile [2] } */
    case 75: /* fileRename { currentFileName [0], newFileName [1] } */
        while (mms_next(&c, &x, NULL)) {
            if (!x.constructed) continue;
            if ((svc == 46 && x.tag == 1) || (svc == 75 && x.tag == 0))
                mms_file_name(e, "file_name", &x);
            else if ((svc == 46 && x.tag == 2) || (svc == 75 && x.tag == 1))
                mms_file_name(e, "new_file_name", &x);
        }
        break;
    case 72: /* fileOpen { fileName [0], initialPosition [1] } */
    case 77: /* fileDirectory { fileSpecification [0], continueAfter [1] } */
        while (mms_next(&c, &x, NULL)) {
            if (x.tag == 0 && x.constructed)
                mms_file_name(e, "file_name", &x);
            else if (x.tag == 1 && svc == 72)
                mms_unsigned(e, "initial_position", &x);
            else if (x.tag == 1 && x.constructed)
                mms_file_name(e, "continue_after", &x);
        }
        break;
    case 73: /* fileRead: FRSM id */
    case 74: /* fileClose */ mms_unsigned(e, "frsm_id", t); break;
    case 76: /* fileDelete: FileName */ mms_file_name(e, "file_name", t); break;
    default: break;
    }
}

/* What we say about a response body. */
static void mms_response_body(struct event *e, uint32_t svc, const struct ber_tlv *t)
{
    struct cursor c = t->val;
    struct ber_tlv x;
    switch (svc) {
    case 1: { /* getNameList { listOfIdentifier [0], moreFollows [1] } */
        while (mms_next(&c, &x, NULL)) {
            int b;
            if (x.tag == 0 && x.constructed) {
                struct cursor ic = x.val;
                struct ber_tlv id;
                uint32_t n = 0;
                ev_arr_begin(e, "identifiers");
                while (mms_next(&ic, &id, NULL))
                    if (++n <= MMS_MAX_NAMES) {
                        const uint8_t *p;
                        size_t len;
                        if (!id.constructed && ber_octets(&id, &p, &len))
                            ev_str(e, NULL, p, len);
                        else
                            ev_null(e, NULL);
                    }
                ev_end(e);
                ev_uint(e, "identifier_count", n);
            } else if (x.tag == 1 && ber_bool(&x, &b)) {
                ev_bool(e, "more_follows", b);
            }
        }
        break;
    }
    case 4: /* read { variableAccessSpecification [0] OPTIONAL, listOfAccessResult [1] } */
        while (mms_next(&c, &x, NULL))
            if (x.tag == 1 && x.constructed) mms_data_list(e, "results", "result_count", &x);
        break;
    case 5: { /* write: SEQUENCE OF CHOICE { failure [0] DataAccessError, success [1] } */
        uint32_t ok = 0, fail = 0;
        while (mms_next(&c, &x, NULL)) {
            if (x.tag == 1)
                ok++;
            else
                fail++;
        }
        ev_uint(e, "success_count", ok);
        ev_uint(e, "failure_count", fail);
        break;
    }
    case 72: /* fileOpen { frsmID [0], fileAttributes [1] } */
        while (mms_next(&c, &x, NULL))
            if (x.tag == 0) mms_unsigned(e, "frsm_id", &x);
        break;
    case 73: /* fileRead { fileData [0], moreFollows [1] } */
        while (mms_next(&c, &x, NULL))
            if (x.tag == 0) ev_uint(e, "data_len", x.len);
        break;
    default: break;
    }
}

/* ---- pending requests ---- */

static void mms_pending_add(struct mms_state *st, uint32_t invoke, int to_server, uint32_t svc,
                            uint64_t ts, const struct mms_pending *key)
{
    struct mms_pending *slot = NULL, *oldest = &st->pend[0];
    for (size_t i = 0; i < MMS_MAX_PENDING; i++) {
        struct mms_pending *p = &st->pend[i];
        if (p->seq == 0 || (p->invoke == invoke && p->to_server == to_server)) {
            slot = p;
            break;
        }
        if (p->seq < oldest->seq) oldest = p;
    }
    if (!slot) slot = oldest;
    if (st->seq == UINT32_MAX) { /* renumber so 0 stays "free" */
        for (size_t i = 0; i < MMS_MAX_PENDING; i++)
            if (st->pend[i].seq) st->pend[i].seq = 1 + (uint32_t)i;
        st->seq = MMS_MAX_PENDING;
    }
    slot->seq = ++st->seq;
    slot->invoke = invoke;
    slot->to_server = (uint8_t)to_server;
    slot->service = (uint16_t)svc;
    slot->ts_us = ts;
    slot->has_id = key->has_id;
    slot->id = key->id;
    slot->name_len = key->name_len;
    memcpy(slot->name, key->name, key->name_len);
}

/* The request a reply travelling to_server's way answers (it went the other way). */
static int mms_pending_take(struct mms_state *st, uint32_t invoke, int to_server,
                            struct mms_pending *out)
{
    for (size_t i = 0; i < MMS_MAX_PENDING; i++) {
        struct mms_pending *p = &st->pend[i];
        if (p->seq && p->invoke == invoke && p->to_server != to_server) {
            *out = *p;
            p->seq = 0;
            return 1;
        }
    }
    return 0;
}

/* ---- MMS PDUs ---- */

static uint64_t mms_now(const struct mms_ctx *x)
{
    return x->info->ts_us ? x->info->ts_us : x->sink->net.ts_us;
}

/* Attaches the paired request (if any) to a response or error event. */
static int mms_pair(struct mms_ctx *x, struct event *e, uint32_t invoke, uint32_t *svc,
                    struct mms_pending *out)
{
    struct mms_pending rq;
    if (!mms_pending_take(x->st, invoke, x->info->to_server, &rq)) {
        x->st->unmatched++;
        event_anomaly(e, "mms.unmatched_response");
        return 0;
    }
    ev_uint(e, "request_service", rq.service);
    uint64_t now = mms_now(x);
    ev_uint(e, "latency_us", now > rq.ts_us ? now - rq.ts_us : 0);
    *svc = rq.service;
    if (out) *out = rq;
    return 1;
}

/* ---- file and domain transfers, for YARA ----
 *
 * ISO 9506-2 services, each object scanned once when complete (or at its cap):
 *  - mms.file, named by the file: FileOpen request { fileName [0] } and its reply
 *    { frsmID [0] } start it; FileRead replies { fileData [0] OCTET STRING,
 *    moreFollows [1] BOOLEAN DEFAULT TRUE } to requests naming that FRSM add to it;
 *    moreFollows FALSE, or FileClose of the FRSM, ends it. Either side may be the
 *    reader: after ObtainFile { sourceFileServer [0] OPTIONAL, sourceFile [1],
 *    destinationFile [2] } the server opens and reads sourceFile from its
 *    requester, over this association (as libiec61850 does); that file gets the
 *    attribute destination (destinationFile), and sourceFile as its name when
 *    the FileOpen request was not seen.
 *  - mms.domain upload, named by the domain: InitiateUploadSequence request
 *    (Identifier) and its reply { ulsmID [0] } start it; UploadSegment replies
 *    { loadData, moreFollows [1] } to requests naming that ULSM add to it;
 *    moreFollows FALSE or TerminateUploadSequence ends it.
 *  - mms.domain download: the client's InitiateDownloadSequence { domainName [0] }
 *    starts it; the server then asks with DownloadSegment requests (the domain's
 *    Identifier) and the client's replies { loadData, moreFollows [1] } carry the
 *    content; moreFollows FALSE or TerminateDownloadSequence { domainName [0] }
 *    ends it, unless that carries discard [1] (dropped).
 * A transfer's data travels the way of the PDU that starts it (the FileOpen or
 * InitiateUpload reply, the InitiateDownload request); its segment requests
 * and terminations come the other way. Transfers are keyed by that direction
 * too, as both sides number FRSMs. loadData is taken in its non-coded form
 * ([0] OCTET STRING); a coded (EXTERNAL) segment, a data element cut short by
 * its BER length, or a confirmed-Error answer to a segment drops the transfer.
 * One left unfinished when a new one takes its slot, or when the flow ends, is
 * scanned as it stands (partial). Replies are paired with requests by invokeID
 * and direction, like the events. */

static struct mms_xfer *mms_xfer_find(struct mms_state *st, int kind, int to_server, uint32_t id,
                                      const char *name, size_t name_len)
{
    for (size_t i = 0; i < MMS_XFERS; i++) {
        struct mms_xfer *t = &st->xfer[i];
        if (t->kind != kind || t->to_server != to_server) continue;
        if (kind == MMS_X_DOWNLOAD ? t->name_len == name_len && !memcmp(t->name, name, name_len)
                                   : t->id == id)
            return t;
    }
    return NULL;
}

static void mms_xfer_drop(struct mms_xfer *t)
{
    object_abort(&t->obj);
    t->kind = 0;
}

static void mms_xfer_end(struct mms_ctx *x, struct mms_xfer *t)
{
    object_end(&t->obj, x->sink, t->to_server);
    t->kind = 0;
}

/* Starts a transfer whose data travel the current PDU's way. */
static void mms_xfer_begin(struct mms_ctx *x, int kind, uint32_t id, const char *name,
                           size_t name_len)
{
    struct mms_state *st = x->st;
    int to_server = x->info->to_server;
    struct mms_xfer *t = mms_xfer_find(st, kind, to_server, id, name, name_len);
    if (!t) { /* a free slot, else the least recently started */
        t = &st->xfer[0];
        for (size_t i = 0; i < MMS_XFERS; i++) {
            if (!st->xfer[i].kind) {
                t = &st->xfer[i];
                break;
            }
            if (st->xfer[i].age < t->age) t = &st->xfer[i];
        }
    }
    /* an unfinished transfer it replaces is scanned as it stands: opening a fifth
     * file, or the same FRSM again, must not hide what the first one carried */
    if (t->kind) object_partial(&t->obj, x->sink, t->to_server);
    t->kind = 0;
    int obtained = kind == MMS_X_FILE && st->obtain.active && st->obtain.to_server == to_server;
    if (obtained && !name_len) {
        name = st->obtain.src;
        name_len = st->obtain.src_len;
    }
    char v[MMS_XNAME + 1];
    object_begin(&t->obj, x->sink, "mms", kind == MMS_X_FILE ? "mms.file" : "mms.domain", name,
                 name_len, 0);
    if (kind != MMS_X_FILE)
        object_attr(&t->obj, "transfer", kind == MMS_X_UPLOAD ? "upload" : "download");
    if (kind != MMS_X_DOWNLOAD) {
        snprintf(v, sizeof(v), "%u", (unsigned)id);
        object_attr(&t->obj, kind == MMS_X_FILE ? "frsm" : "ulsm", v);
    }
    if (obtained) {
        memcpy(v, st->obtain.dst, st->obtain.dst_len);
        v[st->obtain.dst_len] = '\0';
        object_attr(&t->obj, "destination", v);
    }
    t->kind = (uint8_t)kind;
    t->to_server = (uint8_t)to_server;
    t->id = id;
    t->name_len = (uint8_t)(name_len < MMS_XNAME ? name_len : MMS_XNAME);
    memcpy(t->name, name, t->name_len);
    t->age = ++st->xfer_clock;
}

/* Copies a FileName (SEQUENCE OF GraphicString, joined with '/') or an
 * Identifier into out (MMS_XNAME bytes); returns its length. */
static uint8_t mms_name_copy(char *out, const struct ber_tlv *t)
{
    const uint8_t *p;
    size_t n;
    if (!t->constructed) {
        if (!ber_octets(t, &p, &n)) return 0;
        if (n > MMS_XNAME) n = MMS_XNAME;
        memcpy(out, p, n);
        return (uint8_t)n;
    }
    struct cursor c = t->val;
    struct ber_tlv s;
    size_t used = 0;
    while (mms_next(&c, &s, NULL)) {
        if (s.constructed || !ber_octets(&s, &p, &n)) continue;
        if (used && used < MMS_XNAME) out[used++] = '/';
        if (n > MMS_XNAME - used) n = MMS_XNAME - used;
        memcpy(out + used, p, n);
        used += n;
    }
    return (uint8_t)used;
}

static void mms_key_name(struct mms_pending *k, const struct ber_tlv *t)
{
    k->name_len = mms_name_copy(k->name, t);
}

/* ObtainFile { sourceFileServer [0] OPTIONAL, sourceFile [1], destinationFile [2] }:
 * the file's bytes will come from the requester (this PDU's sender), unless
 * another file server is named (then over another association: nothing here). */
static void mms_obtain_request(struct mms_ctx *x, const struct ber_tlv *t)
{
    struct mms_state *st = x->st;
    struct cursor c = t->val;
    struct ber_tlv y;
    int other_server = 0, have_src = 0;
    st->obtain.src_len = st->obtain.dst_len = 0;
    while (mms_next(&c, &y, NULL)) {
        if (y.cls != BER_CONTEXT || !y.constructed) continue;
        if (y.tag == 0) other_server = 1;
        if (y.tag == 1) {
            st->obtain.src_len = mms_name_copy(st->obtain.src, &y);
            have_src = 1;
        }
        if (y.tag == 2) st->obtain.dst_len = mms_name_copy(st->obtain.dst, &y);
    }
    st->obtain.active = have_src && !other_server;
    st->obtain.to_server = (uint8_t)x->info->to_server;
}

/* A request: what its reply will need (k), and the transfers it starts or ends. */
static void mms_xfer_request(struct mms_ctx *x, uint32_t svc, const struct ber_tlv *t,
                             struct mms_pending *k)
{
    struct cursor c = t->val;
    struct ber_tlv y;
    uint64_t v;
    int data_dir = !x->info->to_server; /* a segment request's data come back */
    switch (svc) {
    case 46: mms_obtain_request(x, t); break;
    case 72: /* fileOpen { fileName [0], ... } */
        if (mms_next(&c, &y, NULL) && y.tag == 0 && y.constructed) mms_key_name(k, &y);
        break;
    case 27: /* downloadSegment: the domain */
    case 29: /* initiateUploadSequence: the domain */ mms_key_name(k, t); break;
    case 73: /* fileRead, fileClose: FRSM; uploadSegment, terminateUpload: ULSM */
    case 74:
    case 30:
    case 31:
        if (t->constructed || !ber_uint(t, &v) || v > UINT32_MAX) break;
        k->has_id = 1;
        k->id = (uint32_t)v;
        if (svc == 74 || svc == 31) {
            struct mms_xfer *f = mms_xfer_find(x->st, svc == 74 ? MMS_X_FILE : MMS_X_UPLOAD,
                                               data_dir, k->id, NULL, 0);
            if (f) mms_xfer_end(x, f);
        }
        break;
    case 26: /* initiateDownloadSequence { domainName [0], ... } */
    case 28: /* terminateDownloadSequence { domainName [0], discard [1] OPTIONAL } */
        if (!mms_next(&c, &y, NULL) || y.tag != 0) break;
        mms_key_name(k, &y);
        if (svc == 26) {
            mms_xfer_begin(x, MMS_X_DOWNLOAD, 0, k->name, k->name_len);
        } else {
            struct mms_xfer *f =
                mms_xfer_find(x->st, MMS_X_DOWNLOAD, data_dir, 0, k->name, k->name_len);
            if (f && mms_next(&c, &y, NULL) && y.tag == 1)
                mms_xfer_drop(f);
            else if (f)
                mms_xfer_end(x, f);
        }
        break;
    default: break;
    }
}

/* The transfer a segment reply (or error) travelling this PDU's way belongs to. */
static struct mms_xfer *mms_xfer_of(struct mms_ctx *x, const struct mms_pending *rq)
{
    int dir = x->info->to_server;
    if (rq->service == 73 && rq->has_id)
        return mms_xfer_find(x->st, MMS_X_FILE, dir, rq->id, NULL, 0);
    if (rq->service == 30 && rq->has_id)
        return mms_xfer_find(x->st, MMS_X_UPLOAD, dir, rq->id, NULL, 0);
    if (rq->service == 27)
        return mms_xfer_find(x->st, MMS_X_DOWNLOAD, dir, 0, rq->name, rq->name_len);
    return NULL;
}

/* A reply paired with its request rq: start a transfer, or add a segment. */
static void mms_xfer_response(struct mms_ctx *x, const struct mms_pending *rq,
                              const struct ber_tlv *t)
{
    struct cursor c = t->val;
    struct ber_tlv y;
    uint64_t v;
    if (rq->service == 46) { /* obtainFile answered: the pull is over */
        x->st->obtain.active = 0;
        return;
    }
    if (rq->service == 72 || rq->service == 29) {
        /* fileOpen { frsmID [0] } / initiateUploadSequence { ulsmID [0] } */
        if (mms_next(&c, &y, NULL) && y.tag == 0 && !y.constructed && ber_uint(&y, &v) &&
            v <= UINT32_MAX)
            mms_xfer_begin(x, rq->service == 72 ? MMS_X_FILE : MMS_X_UPLOAD, (uint32_t)v, rq->name,
                           rq->name_len);
        return;
    }
    struct mms_xfer *f = mms_xfer_of(x, rq);
    if (!f) return;
    /* { fileData [0] | loadData, moreFollows [1] DEFAULT TRUE } */
    int bad = 0, more = 1, got = 0;
    while (mms_next(&c, &y, &bad)) {
        if (y.cls == BER_CONTEXT && y.tag == 0 && !y.constructed) {
            object_append(&f->obj, x->sink, &y.val, cursor_left(&y.val));
            got = 1;
        } else if (y.cls == BER_CONTEXT && y.tag == 1) {
            if (!ber_bool(&y, &more)) bad = 1;
        } else if (!got) {
            bad = 1; /* coded loadData (EXTERNAL): not the bytes the device stores */
        }
    }
    if (bad || !got)
        mms_xfer_drop(f);
    else if (!more)
        mms_xfer_end(x, f);
}

/* A confirmed-Error answering a segment request: the transfer is incomplete. */
static void mms_xfer_error(struct mms_ctx *x, const struct mms_pending *rq)
{
    if (rq->service == 46) x->st->obtain.active = 0;
    struct mms_xfer *f = mms_xfer_of(x, rq);
    if (f) mms_xfer_drop(f);
}

/* confirmed-Request [0] / confirmed-Response [1]. */
static void mms_confirmed(struct mms_ctx *x, struct event *e, struct cursor *c, int req)
{
    struct ber_tlv t;
    int bad = 0;
    uint64_t invoke = 0;
    if (!mms_next(c, &t, &bad) || !ber_is(&t, BER_UNIVERSAL, 0, 2) || !ber_uint(&t, &invoke) ||
        invoke > UINT32_MAX) {
        event_anomaly(e, "mms.malformed");
        event_op(e, req ? "confirmed_request" : "confirmed_response");
        return;
    }
    ev_uint(e, "invoke_id", invoke);
    /* skip listOfModifier (universal SEQUENCE) up to the context-tagged service */
    int have = 0;
    while (mms_next(c, &t, &bad)) {
        if (t.cls == BER_CONTEXT) {
            have = 1;
            break;
        }
    }
    uint32_t rsvc = 0;
    struct mms_pending rq;
    int paired = !req && mms_pair(x, e, (uint32_t)invoke, &rsvc, &rq);
    if (!have) {
        if (bad)
            event_anomaly(e, "mms.malformed");
        else
            event_anomaly(e, "mms.missing_service");
        event_op(e, req ? "confirmed_request" : "confirmed_response");
        return;
    }
    uint32_t svc = t.tag;
    const char *name = mms_service_name(svc);
    ev_cstr(e, "service", name ? name : "unknown");
    if (!name) event_anomaly(e, "mms.unknown_pdu");
    if (req) {
        struct mms_pending key;
        key.has_id = key.name_len = 0;
        key.id = 0;
        mms_request_body(e, svc, &t);
        mms_xfer_request(x, svc, &t, &key);
        mms_pending_add(x->st, (uint32_t)invoke, x->info->to_server, svc, mms_now(x), &key);
    } else {
        if (paired && rsvc != svc) /* answers another service */
            event_anomaly(e, "mms.service_mismatch");
        else if (paired)
            mms_xfer_response(x, &rq, &t);
        mms_response_body(e, svc, &t);
    }
    if (bad) event_anomaly(e, "mms.malformed");
    event_code(e, svc, mms_service_op(svc));
}

/* confirmed-Error [2] { invokeID [0], modifierPosition [1], serviceError [2] }. */
static void mms_confirmed_error(struct mms_ctx *x, struct event *e, struct cursor *c)
{
    struct ber_tlv t;
    event_op(e, "confirmed_error");
    while (mms_next(c, &t, NULL)) {
        uint64_t v;
        if (t.tag == 0 && ber_uint(&t, &v) && v <= UINT32_MAX) {
            uint32_t svc;
            struct mms_pending rq;
            ev_uint(e, "invoke_id", v);
            if (mms_pair(x, e, (uint32_t)v, &svc, &rq)) {
                mms_xfer_error(x, &rq);
                const char *n = mms_service_name(svc);
                if (n) ev_cstr(e, "service", n);
            }
        } else if (t.tag == 2 && t.constructed) {
            /* ServiceError { errorClass [0] CHOICE { [n] INTEGER } ... } */
            struct ber_tlv cls, code;
            if (mms_next(&t.val, &cls, NULL) && cls.constructed &&
                mms_next(&cls.val, &code, NULL)) {
                ev_uint(e, "error_class", code.tag);
                mms_unsigned(e, "error_code", &code);
            }
        }
    }
}

/* unconfirmed [3]: informationReport [0] { variableAccessSpecification,
 * listOfAccessResult [0] }, unsolicitedStatus [1], eventNotification [2]. */
static void mms_unconfirmed(struct event *e, struct cursor *c)
{
    struct ber_tlv t;
    if (!mms_next(c, &t, NULL) || t.cls != BER_CONTEXT) {
        event_op(e, "unconfirmed");
        event_anomaly(e, "mms.malformed");
        return;
    }
    switch (t.tag) {
    case 0: {
        event_op(e, "information_report");
        struct ber_tlv spec, res;
        if (mms_next(&t.val, &spec, NULL)) mms_var_spec(e, &spec);
        if (mms_next(&t.val, &res, NULL) && res.constructed)
            mms_data_list(e, "values", "value_count", &res);
        break;
    }
    case 1: event_op(e, "unsolicited_status"); break;
    case 2: event_op(e, "event_notification"); break;
    default: event_op(e, "unconfirmed"); break;
    }
}

/* reject [4] { originalInvokeID [0], rejectReason CHOICE { [1..] INTEGER } }. */
static void mms_reject(struct event *e, struct cursor *c)
{
    struct ber_tlv t;
    event_op(e, "reject");
    while (mms_next(c, &t, NULL)) {
        if (t.tag == 0)
            mms_unsigned(e, "invoke_id", &t);
        else {
            ev_uint(e, "reject_type", t.tag);
            mms_unsigned(e, "reject_code", &t);
        }
    }
}

/* initiate-Request [8] / -Response [9]: negotiated limits. */
static void mms_initiate(struct event *e, struct cursor *c)
{
    struct ber_tlv t;
    while (mms_next(c, &t, NULL)) {
        switch (t.tag) {
        case 0: mms_unsigned(e, "local_detail", &t); break;
        case 1: mms_unsigned(e, "max_serv_outstanding_calling", &t); break;
        case 2: mms_unsigned(e, "max_serv_outstanding_called", &t); break;
        case 3: mms_unsigned(e, "data_structure_nesting_level", &t); break;
        case 4: {
            struct ber_tlv v;
            if (t.constructed && mms_next(&t.val, &v, NULL) && v.tag == 0)
                mms_unsigned(e, "version", &v);
            break;
        }
        default: break;
        }
    }
}

/* One MMS PDU (its outer TLV already read): exactly one event. */
static void mms_pdu(struct mms_ctx *x, struct ber_tlv *pdu)
{
    if (x->dry) {
        x->found = 1;
        return;
    }
    struct mms_state *st = x->st;
    enum ev_dir dir;
    switch (pdu->tag) {
    case 0:
    case 5:
    case 8:
    case 11: dir = EV_DIR_REQUEST; break;
    case 3: dir = EV_DIR_INDICATION; break;
    default: dir = EV_DIR_RESPONSE; break;
    }
    struct event *e = event_begin(x->sink, "mms", dir);
    st->pdus++;
    struct cursor c = pdu->val;
    switch (pdu->tag) {
    case 0: mms_confirmed(x, e, &c, 1); break;
    case 1: mms_confirmed(x, e, &c, 0); break;
    case 2: mms_confirmed_error(x, e, &c); break;
    case 3: mms_unconfirmed(e, &c); break;
    case 4: mms_reject(e, &c); break;
    case 5: event_op(e, "cancel_request"); break;
    case 6: event_op(e, "cancel_response"); break;
    case 7: event_op(e, "cancel_error"); break;
    case 8:
        event_op(e, "initiate_request");
        mms_initiate(e, &c);
        break;
    case 9:
        event_op(e, "initiate_response");
        mms_initiate(e, &c);
        break;
    case 10: event_op(e, "initiate_error"); break;
    case 11: event_op(e, "conclude_request"); break;
    case 12: event_op(e, "conclude_response"); break;
    case 13: event_op(e, "conclude_error"); break;
    default:
        event_op(e, "unknown");
        event_anomaly(e, "mms.unknown_pdu");
        break;
    }
    if (pdu->val.err == CURSOR_TRUNCATED) event_anomaly(e, "mms.malformed");
    event_emit(x->sink, e);
}

static int mms_pdu_tag(const struct ber_tlv *t)
{
    return t->cls == BER_CONTEXT && t->tag <= 13;
}

static struct event *mms_malformed_event(struct mms_ctx *x, const char *anomaly)
{
    if (x->dry) return NULL;
    struct event *e =
        event_begin(x->sink, "mms", x->info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    event_op(e, "malformed");
    event_anomaly(e, anomaly);
    return e;
}

static void mms_malformed_emit(struct mms_ctx *x, const char *anomaly)
{
    struct event *e = mms_malformed_event(x, anomaly);
    if (e) event_emit(x->sink, e);
}

/* A presentation data value: ACSE (APPLICATION class) or MMS (CONTEXT class). */
static void mms_pdv_value(struct mms_ctx *x, struct cursor *c)
{
    struct ber_tlv t;
    if (!mms_next(c, &t, NULL)) return;
    if (mms_pdu_tag(&t)) {
        mms_pdu(x, &t);
        return;
    }
    /* AARQ [APPLICATION 0] / AARE [APPLICATION 1]: user-information [30] */
    if (t.cls != BER_APPLICATION || t.tag > 1 || !t.constructed) return;
    struct ber_tlv f;
    while (mms_next(&t.val, &f, NULL)) {
        if (!(f.cls == BER_CONTEXT && f.tag == 30 && f.constructed)) continue;
        struct ber_tlv ext, enc;
        while (mms_next(&f.val, &ext, NULL)) {
            if (!ber_is(&ext, BER_UNIVERSAL, 1, 8)) continue;
            while (mms_next(&ext.val, &enc, NULL)) {
                if (enc.cls == BER_CONTEXT && enc.tag <= 1) {
                    struct ber_tlv inner;
                    if (mms_next(&enc.val, &inner, NULL) && mms_pdu_tag(&inner)) mms_pdu(x, &inner);
                    return;
                }
            }
        }
    }
}

/* fully-encoded-data [APPLICATION 1]: SEQUENCE OF PDV-list. */
static void mms_fully_encoded(struct mms_ctx *x, const struct ber_tlv *fed)
{
    struct cursor c = fed->val;
    struct ber_tlv pdv;
    while (mms_next(&c, &pdv, NULL)) {
        if (!ber_is(&pdv, BER_UNIVERSAL, 1, 16)) continue;
        struct ber_tlv f;
        while (mms_next(&pdv.val, &f, NULL)) {
            if (f.cls == BER_CONTEXT && f.tag <= 1) mms_pdv_value(x, &f.val);
        }
    }
}

/* Presentation user data of a DT SPDU, or a CP/CPA PPDU of CN/AC. */
static void mms_presentation(struct mms_ctx *x, struct cursor *c)
{
    struct ber_tlv t;
    if (!mms_next(c, &t, NULL) ||
        (!ber_is(&t, BER_APPLICATION, 1, 1) && !ber_is(&t, BER_UNIVERSAL, 1, 17))) {
        mms_malformed_emit(x, "mms.pres_malformed"); /* neither user data nor CP/CPA SET */
        return;
    }
    if (ber_is(&t, BER_APPLICATION, 1, 1)) {
        mms_fully_encoded(x, &t);
        return;
    }
    struct ber_tlv f, u;
    while (mms_next(&t.val, &f, NULL)) {
        if (!(f.cls == BER_CONTEXT && f.tag == 2 && f.constructed))
            continue; /* normal-mode-parameters */
        while (mms_next(&f.val, &u, NULL))
            if (ber_is(&u, BER_APPLICATION, 1, 1)) mms_fully_encoded(x, &u);
    }
}

/* Session SPDU length: one byte, or 0xFF and two bytes. */
static uint32_t mms_spdu_len(struct cursor *c)
{
    uint8_t l = cursor_u8(c);
    return l == 0xFF ? cursor_u16be(c) : l;
}

/* One complete session SDU (COTP DT data up to EOT). */
static void mms_session(struct mms_ctx *x, struct cursor *c)
{
    int ok = 1;
    uint8_t si = cursor_peek_u8(c, 0, &ok);
    if (!ok) return;
    if (si >= 0x80) { /* no session layer: an MMS PDU straight in COTP */
        struct ber_tlv t;
        if (mms_next(c, &t, NULL) && mms_pdu_tag(&t)) mms_pdu(x, &t);
        return;
    }
    if (si == 0x01) { /* give tokens (category 0), then data transfer */
        cursor_skip(c, 1);
        cursor_skip(c, mms_spdu_len(c));
        uint8_t dt = cursor_u8(c);       /* DT SPDU */
        cursor_skip(c, mms_spdu_len(c)); /* its parameters; user data follows */
        if (dt != 0x01 || c->err) {
            mms_malformed_emit(x, "mms.session_malformed");
            return;
        }
        mms_presentation(x, c);
        return;
    }
    if (si != 0x0D && si != 0x0E) /* CN / AC carry the association; others none */
        return;
    cursor_skip(c, 1);
    uint32_t li = mms_spdu_len(c);
    struct cursor params = cursor_sub(c, li);
    while (cursor_left(&params) >= 2) {
        uint8_t pi = cursor_u8(&params);
        uint32_t plen = mms_spdu_len(&params);
        if (params.err) break;
        if (pi == 0xC1 || pi == 0xC2) { /* user data / extended user data */
            struct cursor ud = cursor_sub(&params, plen);
            if (plen == 0 || params.err) /* length 0 seen in the wild: data follows */
                ud = cursor_rest(&params);
            mms_presentation(x, &ud);
            return;
        }
        cursor_skip(&params, plen); /* PGIs are skipped whole */
    }
}

/* ---- framing ---- */

/* One TPKT (header already checked, cursor over the whole TPKT). */
static void mms_tpkt(struct mms_ctx *x, struct mms_dir *ds, struct cursor *tp)
{
    cursor_skip(tp, TPKT_HDR);
    uint8_t li = cursor_u8(tp);
    struct cursor hdr = cursor_sub(tp, li);
    uint8_t type = cursor_u8(&hdr);
    if (li == 0 || tp->err || hdr.err) {
        struct event *e = mms_malformed_event(x, "mms.cotp_malformed");
        if (e) event_emit(x->sink, e);
        return;
    }
    if ((type & 0xF0) != 0xF0) return; /* CR, CC, DR, DC, ER...: connection management, no MMS */
    uint8_t nr = cursor_u8(&hdr);
    if (hdr.err) {
        struct event *e = mms_malformed_event(x, "mms.cotp_malformed");
        if (e) event_emit(x->sink, e);
        return;
    }
    struct cursor data = cursor_rest(tp);
    size_t n = cursor_left(&data);
    int eot = (nr & 0x80) != 0;
    if (!ds) { /* probe: unfinished DT sequences are judged on their first part */
        mms_session(x, &data);
        return;
    }
    if (!eot || ds->sdu_len) {
        if (ds->sdu_overflow || ds->sdu_len + n > MMS_MAX_SDU) {
            if (!ds->sdu_overflow) {
                struct event *e = mms_malformed_event(x, "mms.sdu_too_large");
                if (e) event_emit(x->sink, e);
            }
            ds->sdu_overflow = 1;
        } else {
            if (!ds->sdu) ds->sdu = malloc(MMS_MAX_SDU);
            if (!ds->sdu) {
                ds->sdu_overflow = 1;
            } else {
                cursor_copy(&data, ds->sdu + ds->sdu_len, n);
                ds->sdu_len += (uint32_t)n;
            }
        }
        if (!eot) return;
        if (!ds->sdu_overflow) {
            struct cursor sdu = cursor_make(ds->sdu, ds->sdu_len);
            mms_session(x, &sdu);
        }
        ds->sdu_len = 0;
        ds->sdu_overflow = 0;
        return;
    }
    mms_session(x, &data);
}

/* A TPKT header at the cursor? 1 yes, 0 no, -1 need more bytes. */
static int mms_tpkt_header(const struct cursor *c, uint16_t *len)
{
    int ok = 1;
    uint8_t v = cursor_peek_u8(c, 0, &ok);
    if (!ok) return -1;
    if (v != 3) return 0;
    uint8_t r = cursor_peek_u8(c, 1, &ok);
    if (!ok) return -1;
    if (r != 0) return 0;
    uint16_t l = cursor_peek_u16be(c, 2, &ok);
    if (!ok) return -1;
    if (l < TPKT_MIN) return 0;
    *len = l;
    return 1;
}

static size_t mms_parse(void *state, struct cursor *c, const struct pdu_info *info,
                        struct event_sink *sink)
{
    struct mms_state *st = state;
    struct mms_dir *ds = &st->dir[info->to_server ? 0 : 1];
    struct mms_ctx x = {st, info, sink, 0, 0};
    size_t start = cursor_pos(c);
    if (info->after_gap) {
        ds->sdu_len = 0; /* a DT sequence cut by the gap cannot be completed */
        ds->sdu_overflow = 0;
    }
    for (;;) {
        uint16_t len = 0;
        int h = mms_tpkt_header(c, &len);
        if (h < 0) break;
        if (h == 0) {
            if (!ds->lost) {
                struct event *e = mms_malformed_event(&x, "mms.tpkt_invalid");
                event_anomaly(e, "mms.resync");
                event_emit(sink, e);
                ds->lost = 1;
            }
            cursor_skip(c, 1);
            continue;
        }
        if (cursor_left(c) < len) break;
        ds->lost = 0;
        struct cursor tp = cursor_sub(c, len);
        mms_tpkt(&x, ds, &tp);
    }
    return cursor_pos(c) - start;
}

static void mms_gap(void *state, int to_server)
{
    struct mms_state *st = state;
    struct mms_dir *ds = &st->dir[to_server ? 0 : 1];
    ds->sdu_len = 0;
    ds->sdu_overflow = 0;
}

/* Walks the direction's first TPKTs: CR/CC are passed over, the first DT decides. */
static enum probe_result mms_probe(struct cursor *c, int to_server)
{
    struct cursor p = *c;
    struct pdu_info info = {to_server, DISS_TCP, 0, 0};
    for (int i = 0; i < 4; i++) {
        uint16_t len = 0;
        int h = mms_tpkt_header(&p, &len);
        if (h < 0) return PROBE_NEED_MORE;
        if (h == 0) return PROBE_NO;
        int ok = 1;
        uint8_t li = cursor_peek_u8(&p, 4, &ok);
        uint8_t type = cursor_peek_u8(&p, 5, NULL);
        if (!ok) return PROBE_NEED_MORE;
        if (li == 0) return PROBE_NO;
        if ((type & 0xF0) == 0xE0 || (type & 0xF0) == 0xD0) { /* CR, CC: look further */
            if (cursor_left(&p) < len) return PROBE_NEED_MORE;
            cursor_skip(&p, len);
            continue;
        }
        if ((type & 0xF0) != 0xF0) return PROBE_NO;
        /* DT: the first user byte tells S7 from the OSI upper layers */
        uint8_t first = cursor_peek_u8(&p, 5u + li, &ok);
        if (!ok) return cursor_left(&p) < len ? PROBE_NEED_MORE : PROBE_NO;
        if (first == 0x32 || first == 0x72) return PROBE_NO; /* S7comm / S7comm-plus */
        if (cursor_left(&p) < len) return PROBE_NEED_MORE;
        uint8_t nr = cursor_peek_u8(&p, 6, NULL);
        if (li >= 2 && !(nr & 0x80)) {
            /* a DT sequence's first part cannot be decoded alone: accept an OSI
             * session connect/accept or give-tokens + data-transfer header */
            uint8_t second = cursor_peek_u8(&p, 6u + li, NULL);
            uint8_t third = cursor_peek_u8(&p, 7u + li, NULL);
            int session = first == 0x0D || first == 0x0E ||
                          (first == 0x01 && second == 0x00 && third == 0x01);
            return session ? PROBE_YES : PROBE_NO;
        }
        struct cursor tp = cursor_sub(&p, len);
        struct mms_ctx x = {NULL, &info, NULL, 1, 0};
        mms_tpkt(&x, NULL, &tp);
        return x.found ? PROBE_YES : PROBE_NO;
    }
    return PROBE_NO;
}

static void *mms_state_new(void)
{
    return calloc(1, sizeof(struct mms_state));
}

static void mms_state_free(void *state)
{
    struct mms_state *st = state;
    if (!st) return;
    free(st->dir[0].sdu);
    free(st->dir[1].sdu);
    for (size_t i = 0; i < MMS_XFERS; i++)
        object_free(&st->xfer[i].obj);
    free(st);
}

/* Transfers whose data travelled to_server's way and never finished are scanned
 * as they stand (partial): a sender who never ends one is seen all the same. */
static void mms_end(void *state, int to_server, struct event_sink *sink)
{
    struct mms_state *st = state;
    for (size_t i = 0; i < MMS_XFERS; i++) {
        struct mms_xfer *t = &st->xfer[i];
        if (!t->kind || t->to_server != to_server) continue;
        object_partial(&t->obj, sink, to_server);
        t->kind = 0;
    }
}

const struct dissector mms_dissector = {
    .id = DISS_MMS,
    .name = "mms",
    .transports = DISS_TCP,
    .ports = {102, 0},
    .probe = mms_probe,
    .state_new = mms_state_new,
    .state_free = mms_state_free,
    .parse = mms_parse,
    .gap = mms_gap,
    .anomalies = mms_anomalies,
    .max_pdu = MMS_MAX_TPKT,
    .end = mms_end,
};
