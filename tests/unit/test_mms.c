/* test_mms.c - the MMS dissector (TPKT, COTP, session, presentation, ACSE, MMS).
 *
 * TCP payloads come from captures in tests/data (see SOURCES.md), fed per
 * direction with engine-like buffering; `tshark -V` 4.0 decodes of the same frames
 * are quoted in comments (the codes are also the corpus oracle's). Hand-built
 * PDUs say where their layout comes from. */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector mms_dissector;
static const struct dissector *const D = &mms_dissector;

static struct recorder rec;

static void setup(void)
{
    recorder_init(&rec);
}

static const struct event *ev(int i)
{
    ck_assert_int_gt(rec.n, i);
    return &rec.ev[i];
}

static int has(const struct event *e, const char *json_part, int i)
{
    (void)e;
    return strstr(rec.json[i], json_part) != NULL;
}

/* Per-direction buffering as the engine does it. */
struct feeder {
    void *st;
    uint8_t buf[2][70000];
    size_t len[2];
};

static void feeder_push(struct feeder *f, int to_server, const uint8_t *b, size_t n, uint64_t ts)
{
    int d = to_server ? 0 : 1;
    ck_assert_uint_le(f->len[d] + n, sizeof(f->buf[d]));
    memcpy(f->buf[d] + f->len[d], b, n);
    f->len[d] += n;
    rec.sink.net.ts_us = ts;
    for (;;) {
        struct cursor c = cursor_make(f->buf[d], f->len[d]);
        struct pdu_info info = {to_server, DISS_TCP, 0, ts};
        size_t used = D->parse(f->st, &c, &info, &rec.sink);
        ck_assert_uint_le(used, f->len[d]);
        if (used == 0) break;
        memmove(f->buf[d], f->buf[d] + used, f->len[d] - used);
        f->len[d] -= used;
        if (f->len[d] == 0) break;
    }
}

static void feeder_hex(struct feeder *f, int to_server, const char *hex, uint64_t ts)
{
    uint8_t b[4096];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    feeder_push(f, to_server, b, n, ts);
}

/* Every TCP payload of an Ethernet/IPv4 capture, to_server = towards port 102. */
/* Plays a capture into the dissector the way the engine does (testutil.c). */
static void feed_pcap(const char *name)
{
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), &mms_dissector, &rec.sink, 102, 0), 0);
}

static struct feeder *feeder_new(void)
{
    struct feeder *f = calloc(1, sizeof(*f));
    f->st = D->state_new();
    return f;
}

static void feeder_free(struct feeder *f)
{
    D->state_free(f->st);
    free(f);
}

/* Events with a code, in order, as "code,code,..." ("-" for null) over all. */
static void codes(char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 0; i < rec.n; i++) {
        char one[16];
        if (rec.ev[i].has_code)
            snprintf(one, sizeof(one), "%s%lld", i ? "," : "", (long long)rec.ev[i].code);
        else
            snprintf(one, sizeof(one), "%s-", i ? "," : "");
        strncat(out, one, cap - strlen(out) - 1);
    }
}

START_TEST(test_read_capture)
{
    feed_pcap("mms_iec61850_read.pcap");
    char c[256];
    codes(c, sizeof(c));
    /* initiate-Request, initiate-Response, read request (4), read response (4),
     * conclude-Request, and a confirmed-ResponsePDU without a service (tshark
     * "confirmedServiceResponse" absent: oracle has one request and one response) */
    ck_assert_str_eq(c, "-,-,4,4,-,-");
    ck_assert_str_eq(ev(0)->op, "initiate_request");
    ck_assert_int_eq(ev(0)->dir, EV_DIR_REQUEST);
    /* initiate-RequestPDU: localDetailCalling 30000, proposedMaxServOutstanding 1000/1000,
     * proposedDataStructureNestingLevel 5, proposedVersionNumber 1 */
    ck_assert_uint_eq(ev_u(ev(0), "local_detail"), 30000);
    ck_assert_uint_eq(ev_u(ev(0), "max_serv_outstanding_calling"), 1000);
    ck_assert_uint_eq(ev_u(ev(0), "data_structure_nesting_level"), 5);
    ck_assert_uint_eq(ev_u(ev(0), "version"), 1);
    ck_assert_str_eq(ev(1)->op, "initiate_response");
    /* read: invokeID 0, listOfVariable: vmd-specific "mu" */
    const struct event *e = ev(2);
    ck_assert_str_eq(e->op, "read");
    ev_s(e, "service", "read");
    ck_assert_uint_eq(ev_u(e, "invoke_id"), 0);
    ck_assert_uint_eq(ev_u(e, "variable_count"), 1);
    ck_assert(has(e, "\"variables\":[{\"vmd\":\"mu\"}]", 2));
    /* read response: paired, empty listOfAccessResult */
    e = ev(3);
    ck_assert_int_eq(e->dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(e, "request_service"), 4);
    ck_assert_uint_eq(ev_u(e, "result_count"), 0);
    ck_assert_ptr_nonnull(event_find(e, "latency_us"));
    ck_assert_str_eq(ev(4)->op, "conclude_request");
    ck_assert(event_has_anomaly(ev(5), "mms.missing_service"));
}
END_TEST

START_TEST(test_write_capture)
{
    feed_pcap("mms_iec61850_write.pcap");
    char c[256];
    codes(c, sizeof(c));
    /* the write response "a1 05 02 01 00 30 00" names no service: tshark counts none */
    ck_assert_str_eq(c, "-,-,5,-,-,-");
    const struct event *e = ev(2);
    ck_assert_str_eq(e->op, "write");
    /* write: variable vmd-specific "mu", listOfData: integer 0 ("a0 03 85 01 00") */
    ck_assert(has(e, "\"variables\":[{\"vmd\":\"mu\"}]", 2));
    ck_assert(has(e, "\"values\":[0]", 2));
    ck_assert_uint_eq(ev_u(e, "value_count"), 1);
    ck_assert_uint_eq(ev_u(ev(3), "request_service"), 5);
}
END_TEST

START_TEST(test_get_name_list_capture)
{
    feed_pcap("mms_iec61850_get_name_list.pcap");
    char c[256];
    codes(c, sizeof(c));
    ck_assert_str_eq(c, "-,-,1,-,-,-");
    /* getNameList: objectClass basicObjectClass namedVariable (0), objectScope vmdSpecific */
    const struct event *e = ev(2);
    ck_assert_str_eq(e->op, "enumeration");
    ev_s(e, "service", "get_name_list");
    ck_assert_uint_eq(ev_u(e, "object_class"), 0);
    ev_s(e, "object_scope", "vmd");
}
END_TEST

/* MMS straight in COTP (no session/presentation), and a server that answers with
 * broken TPKT/COTP headers (tshark: "Continuation"; no MMS counted). */
START_TEST(test_download_capture)
{
    feed_pcap("mms_initiate_download_sequence.pcap");
    int coded = 0;
    for (int i = 0; i < rec.n; i++) {
        if (!rec.ev[i].has_code) continue;
        coded++;
        ck_assert_int_eq(rec.ev[i].dir, EV_DIR_REQUEST);
    }
    ck_assert_int_eq(coded, 2); /* oracle: takeControl 19, initiateDownloadSequence 26 */
    const struct event *tc = NULL, *ids = NULL;
    for (int i = 0; i < rec.n; i++) {
        if (rec.ev[i].has_code && rec.ev[i].code == 19) tc = &rec.ev[i];
        if (rec.ev[i].has_code && rec.ev[i].code == 26) ids = &rec.ev[i];
    }
    ck_assert_ptr_nonnull(tc);
    ck_assert_ptr_nonnull(ids);
    ev_s(tc, "service", "take_control");
    ck_assert_str_eq(ids->op, "domain_download");
    ev_s(ids, "service", "initiate_download_sequence");
    ev_s(ids, "domain", "DTLogFilesDomain"); /* domainName: DTLogFilesDomain */
    ev_s(ids, "capability", "MuSecAC800M");  /* listOfCapabilities item: MuSecAC800M */
    ck_assert_uint_eq(ev_u(ids, "invoke_id"), 1);
}
END_TEST

START_TEST(test_program_invocation_capture)
{
    feed_pcap("mms_stop_request.pcap");
    const struct event *start = NULL, *stop = NULL;
    for (int i = 0; i < rec.n; i++) {
        if (rec.ev[i].has_code && rec.ev[i].code == 40) start = &rec.ev[i];
        if (rec.ev[i].has_code && rec.ev[i].code == 41) stop = &rec.ev[i];
    }
    ck_assert_ptr_nonnull(start); /* confirmedServiceRequest: start (40) */
    ck_assert_ptr_nonnull(stop);  /* confirmedServiceRequest: stop (41) */
    ck_assert_str_eq(start->op, "program_invocation");
    ev_s(start, "program_invocation", "R395024397Application_1");
    ev_s(stop, "service", "stop");
    ev_s(stop, "program_invocation", "R395024397Application_1");
}
END_TEST

START_TEST(test_ndpi_capture)
{
    feed_pcap("mms_ndpi_iso9506_1.pcap");
    char c[256];
    codes(c, sizeof(c));
    /* initiate req/resp, getVariableAccessAttributes (6), its confirmed-ErrorPDU,
     * read (4), read response (4), conclude req/resp; ACSE release gives none */
    ck_assert_str_eq(c, "-,-,6,-,4,4,-,-");
    const struct event *e = ev(2);
    /* name: domain-specific AA1E1Q01FP2LD0 / LLN0$BR$rcb_B02, invokeID 303731 */
    ck_assert_uint_eq(ev_u(e, "invoke_id"), 303731);
    ck_assert(has(e, "\"name\":{\"domain\":\"AA1E1Q01FP2LD0\",\"item\":\"LLN0$BR$rcb_B02\"}", 2));
    e = ev(3);
    ck_assert_str_eq(e->op, "confirmed_error");
    ck_assert_uint_eq(ev_u(e, "request_service"), 6);
    ev_s(e, "service", "get_variable_access_attributes");
    ck_assert_uint_eq(ev_u(e, "error_class"), 7); /* serviceError errorClass access (7) */
    ck_assert_uint_eq(ev_u(e, "error_code"), 2);
    ck_assert_uint_eq(ev_u(ev(5), "invoke_id"), 303732);
    ck_assert_uint_eq(ev_u(ev(5), "result_count"), 1);
    ck_assert_str_eq(ev(7)->op, "conclude_response");
}
END_TEST

/* iec61850_read.pcap frames 4 (CR), 6 (CC), 8 (DT with CN SPDU, AARQ, initiate). */
static const char *CR = "03 00 00 13 0e e0 00 00 00 06 00 c1 02 00 02 c2 02 00 01";
static const char *CC = "03 00 00 16 11 d0 18 01 00 04 00 c1 02 00 02 c2 02 02 00 c0 01 0a";
/* frame 12: TPKT 42, COTP DT EOT, give tokens + data transfer, fully-encoded-data,
 * PDV context 3, MMS confirmed-RequestPDU read "mu" */
static const char *READ_REQ = "03 00 00 2a"             /* TPKT, length 42 */
                              "02 f0 80"                /* COTP DT, EOT */
                              "01 00 01 00"             /* session GT, DT */
                              "61 1d 30 1b 02 01 03"    /* fully-encoded, PDV, context 3 */
                              "a0 16"                   /* single-ASN1-type */
                              "a0 14 02 01 00"          /* confirmed-Request, invokeID 0 */
                              "a4 0f 80 01 00"          /* read, specWithResult FALSE */
                              "a1 0a a0 08 30 06 a0 04" /* listOfVariable, name */
                              "80 02 6d 75";            /* vmd-specific "mu" */

static enum probe_result probe_hex(const char *hex, int to_server)
{
    uint8_t b[4096];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    return D->probe(&c, to_server);
}

START_TEST(test_probe)
{
    char two[2048];
    ck_assert_int_eq(probe_hex(CR, 1), PROBE_NEED_MORE); /* only COTP CR */
    ck_assert_int_eq(probe_hex(CC, 0), PROBE_NEED_MORE); /* only COTP CC */
    ck_assert_int_eq(probe_hex("03 00", 1), PROBE_NEED_MORE);
    snprintf(two, sizeof(two), "%s %s", CR, READ_REQ);
    ck_assert_int_eq(probe_hex(two, 1), PROBE_YES); /* CR then DT leading to MMS */
    ck_assert_int_eq(probe_hex(READ_REQ, 1), PROBE_YES);
    /* the first DT of a segmented SDU (no EOT) starting a session connect: MMS */
    ck_assert_int_eq(probe_hex("03 00 00 0c 02 f0 00 0d b2 05 06 13", 1), PROBE_YES);
    /* ... but a segmented S7 DT is not, nor unknown data */
    ck_assert_int_eq(probe_hex("03 00 00 0c 02 f0 00 32 01 00 00 02", 1), PROBE_NO);
    ck_assert_int_eq(probe_hex("03 00 00 0c 02 f0 00 99 01 00 00 02", 1), PROBE_NO);
    /* a DT not yet complete: wait */
    snprintf(two, sizeof(two), "%s 03 00 00 2a 02 f0 80 01 00 01 00 61", CR);
    ck_assert_int_eq(probe_hex(two, 1), PROBE_NEED_MORE);
    /* MMS straight in COTP: mms-stopRequest.pcap frame 8, initiate-RequestPDU */
    ck_assert_int_eq(probe_hex("03 00 00 2f 02 f0 80 a8 26 80 02 00 1f 81 01 03 82 01 03 83 "
                               "02 08 08 a4 16 80 01 01 81 03 05 e8 00 82 0c 03 ff ff ff ff "
                               "ff ff ff ff ff ff ff",
                               1),
                     PROBE_YES);
    /* S7comm: s7comm_reading_plc_status.pcap (corpus) CR, then setup communication
     * (COTP DT, protocol id 0x32): never MMS */
    ck_assert_int_eq(probe_hex("03 00 00 16 11 e0 00 00 00 0f 00 c1 02 01 00 c2 02 01 02 c0 01 "
                               "0a 03 00 00 19 02 f0 80 32 01 00 00 02 00 00 08 00 00 f0 00 "
                               "00 01 00 01 01 e0",
                               1),
                     PROBE_NO);
    /* S7comm-plus (0x72): s7comm_plus.pcap frame 7, first 16 bytes of the TPKT */
    ck_assert_int_eq(probe_hex("03 00 00 68 02 f0 80 72 03 00 59 20 e9 69 a9 5a", 1), PROBE_NO);
    /* the broken server answer of mms-stopRequest.pcap (TPKT length 5) */
    ck_assert_int_eq(probe_hex("03 00 00 05 00 d0 80", 0), PROBE_NO);
    /* not TPKT */
    ck_assert_int_eq(probe_hex("47 45 54 20 2f 20", 1), PROBE_NO);
    /* DT carrying a session DT whose presentation data is no MMS */
    ck_assert_int_eq(probe_hex("03 00 00 0f 02 f0 80 01 00 01 00 04 02 00 00", 1), PROBE_NO);
}
END_TEST

/* One SDU split over two DT TPKTs (first without EOT) gives the same event. */
START_TEST(test_dt_segmentation)
{
    struct feeder *f = feeder_new();
    feeder_hex(f, 1,
               "03 00 00 14 02 f0 00" /* DT, no EOT: 13 bytes of SDU */
               "01 00 01 00 61 1d 30 1b 02 01 03 a0 16",
               1);
    ck_assert_int_eq(rec.n, 0);
    feeder_hex(f, 1,
               "03 00 00 1d 02 f0 80" /* DT, EOT: the remaining 22 bytes */
               "a0 14 02 01 00 a4 0f 80 01 00 a1 0a a0 08 30 06 a0 04 80 02 6d 75",
               2);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(ev(0)->code, 4);
    ck_assert(has(ev(0), "\"vmd\":\"mu\"", 0));
    feeder_free(f);
}
END_TEST

/* Every prefix waits; every inner truncation is survived with at most one event. */
START_TEST(test_truncated_everywhere)
{
    uint8_t b[256];
    size_t n = hex_to_bytes(READ_REQ, b, sizeof(b));
    for (size_t k = 0; k < n; k++) {
        recorder_init(&rec);
        void *st = D->state_new();
        struct cursor c = cursor_make(b, k);
        struct pdu_info info = {1, DISS_TCP, 0, 1};
        size_t used = D->parse(st, &c, &info, &rec.sink);
        ck_assert_uint_eq(used, 0); /* waiting for the rest of the TPKT */
        ck_assert_int_eq(rec.n, 0);
        D->state_free(st);
    }
    /* the TPKT length cut to k: the layers inside see a short SDU */
    for (size_t k = 7; k < n; k++) {
        recorder_init(&rec);
        void *st = D->state_new();
        b[2] = 0;
        b[3] = (uint8_t)k;
        struct cursor c = cursor_make(b, k);
        struct pdu_info info = {1, DISS_TCP, 0, 1};
        ck_assert_uint_eq(D->parse(st, &c, &info, &rec.sink), k);
        ck_assert_int_le(rec.n, 1);
        if (rec.n) ck_assert(!rec.ev[0].has_code || rec.ev[0].code == 4);
        D->state_free(st);
    }
}
END_TEST

START_TEST(test_unmatched_and_resync)
{
    struct feeder *f = feeder_new();
    /* nDPI capture frame 14 alone: a read response with no request seen */
    feeder_hex(f, 0,
               "03 00 00 22 02 f0 80 01 00 01 00 61 15 30 13 02 01 03 a0 0e a1 0c 02 03 04 a2 "
               "74 a4 05 a1 03 80 01 0a",
               1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(ev(0)->code, 4);
    ck_assert(event_has_anomaly(ev(0), "mms.unmatched_response"));
    /* garbage, then a good TPKT: one resync event, then the PDU */
    feeder_hex(f, 1, "ff ff ff 03 01", 2);
    feeder_hex(f, 1, READ_REQ, 3);
    ck_assert_int_eq(rec.n, 3);
    ck_assert(event_has_anomaly(ev(1), "mms.resync"));
    ck_assert(!ev(1)->has_code);
    ck_assert_int_eq(ev(2)->code, 4);
    feeder_free(f);
}
END_TEST

/* Layers that do not lead to MMS, and a response answering another service. */
START_TEST(test_layer_anomalies)
{
    struct feeder *f = feeder_new();
    /* session GT + DT, then an OCTET STRING where presentation user data belongs */
    feeder_hex(f, 1, "03 00 00 0f 02 f0 80 01 00 01 00 04 02 00 00", 1);
    /* give tokens followed by a finish SPDU (0x09) instead of data transfer */
    feeder_hex(f, 1, "03 00 00 0b 02 f0 80 01 00 09 00", 2);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(ev(0), "mms.pres_malformed"));
    ck_assert(event_has_anomaly(ev(1), "mms.session_malformed"));
    ck_assert(!ev(0)->has_code && !ev(1)->has_code);
    /* READ_REQ (invokeID 0, read) answered by a getNameList response [1] for invokeID 0:
     * "a1 07 02 01 00 a1 02 a0 00" (confirmed-Response, invokeID 0, getNameList
     * { listOfIdentifier [0] empty }) */
    feeder_hex(f, 1, READ_REQ, 3);
    feeder_hex(f, 0,
               "03 00 00 1d 02 f0 80 01 00 01 00 61 10 30 0e 02 01 03 a0 09 a1 07 02 01 00 a1 "
               "02 a0 00",
               4);
    ck_assert_int_eq(rec.n, 4);
    ck_assert_int_eq(ev(3)->code, 1);
    ck_assert_uint_eq(ev_u(ev(3), "request_service"), 4);
    ck_assert(event_has_anomaly(ev(3), "mms.service_mismatch"));
    ck_assert_uint_eq(ev_u(ev(3), "identifier_count"), 0);
    feeder_free(f);
}
END_TEST

/* getNamedVariableListAttributes [12] (ISO 9506-2: the request is an ObjectName, so
 * the CHOICE tag is explicit): domain-specific "LD0" / "DS1", invokeID 5. */
START_TEST(test_named_variable_list_attributes)
{
    struct feeder *f = feeder_new();
    feeder_hex(f, 1,
               "03 00 00 27 02 f0 80 01 00 01 00" /* TPKT 39, COTP DT EOT, session GT DT */
               "61 1a 30 18 02 01 03 a0 13"       /* presentation, context 3 */
               "a0 11 02 01 05"                   /* confirmed-Request, invokeID 5 */
               "ac 0c a1 0a"                      /* [12], domain-specific */
               "1a 03 4c 44 30 1a 03 44 53 31",   /* "LD0", "DS1" */
               1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(ev(0)->code, 12);
    ck_assert_str_eq(ev(0)->op, "enumeration");
    ev_s(ev(0), "name.domain", "LD0");
    ev_s(ev(0), "name.item", "DS1");
    feeder_free(f);
}
END_TEST

static Suite *mms_suite(void)
{
    Suite *s = suite_create("mms");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_read_capture);
    tcase_add_test(t, test_write_capture);
    tcase_add_test(t, test_get_name_list_capture);
    tcase_add_test(t, test_download_capture);
    tcase_add_test(t, test_program_invocation_capture);
    tcase_add_test(t, test_ndpi_capture);
    tcase_add_test(t, test_probe);
    tcase_add_test(t, test_dt_segmentation);
    tcase_add_test(t, test_truncated_everywhere);
    tcase_add_test(t, test_unmatched_and_resync);
    tcase_add_test(t, test_layer_anomalies);
    tcase_add_test(t, test_named_variable_list_attributes);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(mms_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
