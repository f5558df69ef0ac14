/* test_yara_objects.c - YARA objects a transfer leaves unfinished (scanned once at
 * the flow's end or when replaced, marked partial) and MMS ObtainFile naming.
 *
 * The dissectors' end hooks are called as the worker calls them when a flow
 * ends (each direction once). The PDUs are built from the protocols' framing as
 * in test_yara.c; the MMS ObtainFile bytes are the ones tests/data/mms_obtain_file.pcap
 * holds, which tshark decodes as obtainFile (46) with sourceFile / destinationFile. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cip.h"
#include "dissector.h"
#include "object.h"
#include "sha256.h"
#include "testutil.h"
#include "yara_scan.h"

extern const struct dissector modbus_dissector;
extern const struct dissector mms_dissector;
extern const struct dissector s7comm_dissector;

static struct recorder rec;
static char err[4096];

static const char *RULES =
    "rule Marker { strings: $m = \"OTS-MARK\" condition: $m }\n"
    "rule Any { condition: filesize > 0 and ot_object_type != \"stream\" }\n";

static struct yara_set *ys;
static struct yara_worker *yw;

static void setup(void)
{
    ck_assert_int_eq(yara_global_init(), 0);
    ys = yara_set_load_text("test.yar", RULES, err, sizeof(err));
    ck_assert_msg(ys != NULL, "compile: %s", err);
    struct yara_limits lim = {0, 1 << 20, 0, 0, 0, 1024, 0, 0};
    yw = yara_worker_new(&lim);
    ck_assert_ptr_nonnull(yw);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    recorder_init(&rec);
    rec.sink.yara = yw;
    rec.sink.net.to_server = 1;
    rec.sink.net.ts_us = 5000000;
}

static void teardown(void)
{
    yara_worker_free(yw);
    yara_set_free(ys);
    yara_global_fini();
}

static int count_rule(const char *rule)
{
    int n = 0;
    for (int i = 0; i < rec.n; i++) {
        const struct ev_field *f = event_find(&rec.ev[i], "rule");
        if (f && f->len == strlen(rule) && !memcmp(event_field_text(&rec.ev[i], f), rule, f->len))
            n++;
    }
    return n;
}

static const char *rule_json(const char *rule)
{
    for (int i = 0; i < rec.n; i++) {
        const struct ev_field *f = event_find(&rec.ev[i], "rule");
        if (f && f->len == strlen(rule) && !memcmp(event_field_text(&rec.ev[i], f), rule, f->len))
            return rec.json[i];
    }
    return NULL;
}

static struct yara_stats stats(void)
{
    struct yara_stats st;
    yara_worker_stats(yw, &st);
    return st;
}

static void feed_diss(const struct dissector *d, void *st, const char *hex, int to_server,
                      uint16_t sport, uint16_t dport)
{
    static uint8_t b[2048];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    ck_assert_uint_gt(n, 0);
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {.to_server = to_server, .transport = DISS_TCP, .ts_us = 1};
    rec.sink.net.to_server = to_server;
    rec.sink.net.src_port = sport;
    rec.sink.net.dst_port = dport;
    d->parse(st, &c, &info, &rec.sink);
}

/* The worker's flow end: each direction's end hook, to_server first. */
static void flow_end(const struct dissector *d, void *st)
{
    for (int dir = 0; dir < 2; dir++) {
        rec.sink.net.to_server = dir == 0;
        d->end(st, dir == 0, &rec.sink);
    }
}

static void umas_feed(void *st, uint16_t tid, const char *body, int to_server)
{
    uint8_t b[512];
    char hex[1200];
    size_t n = hex_to_bytes(body, b, sizeof(b));
    int k = snprintf(hex, sizeof(hex), "%04x 0000 %04x 01 5a", tid, (unsigned)(n + 2));
    for (size_t i = 0; i < n; i++)
        k += snprintf(hex + k, sizeof(hex) - (size_t)k, "%02x", b[i]);
    if (to_server)
        feed_diss(&modbus_dissector, st, hex, 1, 40000, 502);
    else
        feed_diss(&modbus_dissector, st, hex, 0, 502, 40000);
}

/* A UMAS program write cut after two blocks: the flow's end scans them once,
 * partial; without the signature nothing matches; a finished one is not scanned
 * again at the end. */
START_TEST(umas_cut_by_flow_end)
{
    void *st = modbus_dissector.state_new();
    umas_feed(st, 1, "01 30 0001 fb00", 1);
    umas_feed(st, 1, "01 fe", 0);
    umas_feed(st, 2, "01 31 0001 0100 0400 784f5453", 1); /* block 1: "xOTS" */
    umas_feed(st, 2, "01 fe", 0);
    umas_feed(st, 3, "01 31 0001 0200 0600 2d4d41524b21", 1); /* block 2: "-MARK!" */
    umas_feed(st, 3, "01 fe", 0);
    ck_assert_int_eq(count_rule("Marker"), 0);
    ck_assert_uint_eq(stats().objects_scanned, 0);
    flow_end(&modbus_dissector, st);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    char h[65];
    sha256_hex("xOTS-MARK!", 10, h);
    ck_assert_msg(strstr(j, h) != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"type\":\"modbus.umas_download\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"truncated\":false,\"partial\":true") != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_server\""));
    ck_assert_uint_eq(stats().objects_scanned, 1);
    ck_assert_uint_eq(stats().objects_partial, 1);
    flow_end(&modbus_dissector, st); /* once */
    ck_assert_uint_eq(stats().objects_scanned, 1);
    modbus_dissector.state_free(st);

    /* no signature in what came: scanned, no match */
    st = modbus_dissector.state_new();
    umas_feed(st, 1, "01 30 0001 fb00", 1);
    umas_feed(st, 2, "01 31 0001 0100 0400 784f5453", 1);
    flow_end(&modbus_dissector, st);
    ck_assert_int_eq(count_rule("Marker"), 1);
    ck_assert_uint_eq(stats().objects_partial, 2);
    modbus_dissector.state_free(st);

    /* complete: scanned at END_STRATEGY_UPLOAD, not partial, not again at the end */
    st = modbus_dissector.state_new();
    umas_feed(st, 1, "01 30 0001 fb00", 1);
    umas_feed(st, 2, "01 31 0001 0100 0400 784f5453", 1);
    umas_feed(st, 3, "01 31 0001 0200 0600 2d4d41524b21", 1);
    umas_feed(st, 4, "01 32 0001 0200", 1);
    ck_assert_int_eq(count_rule("Marker"), 2);
    ck_assert_uint_eq(stats().objects_scanned, 3);
    flow_end(&modbus_dissector, st);
    ck_assert_int_eq(count_rule("Marker"), 2);
    ck_assert_uint_eq(stats().objects_scanned, 3);
    ck_assert_uint_eq(stats().objects_partial, 2);
    int complete = 0;
    for (int i = 0; i < rec.n; i++)
        complete +=
            strstr(rec.json[i], "\"rule\":\"Marker\"") && strstr(rec.json[i], "\"partial\":false");
    ck_assert_int_eq(complete, 1);
    modbus_dissector.state_free(st);
}
END_TEST

static void cip_feed(struct cip_state *cs, const char *hex, uint16_t key, int to_server)
{
    uint8_t b[512];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    struct cip_msg_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.to_server = to_server;
    ctx.key_kind = CIP_KEY_SEQ;
    ctx.key[0] = (uint8_t)key;
    ctx.key[1] = (uint8_t)(key >> 8);
    rec.sink.net.to_server = (uint8_t)to_server;
    cip_parse(cs, &c, &ctx, &rec.sink);
}

/* A CIP File object download whose last packet never comes (framing as in
 * test_yara.c's cip_file_download). */
START_TEST(cip_cut_by_flow_end)
{
    struct cip_state *cs = calloc(1, sizeof(*cs));
    ck_assert_ptr_nonnull(cs);
    cip_feed(cs, "50 02 20 37 24 01 00 00 784f5453", 1, 1);   /* first: "xOTS" */
    cip_feed(cs, "50 02 20 37 24 01 01 01 2d4d41524b", 2, 1); /* middle: "-MARK" */
    cip_state_end(cs, 0, &rec.sink);                          /* the other way: nothing */
    ck_assert_uint_eq(stats().objects_scanned, 0);
    cip_state_end(cs, 1, &rec.sink);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_msg(strstr(j, "\"type\":\"cip.file\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"partial\":true") != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"size\":9,"));
    cip_state_end(cs, 1, &rec.sink);
    ck_assert_uint_eq(stats().objects_scanned, 1);
    /* the next first packet starts afresh: packets of the old transfer do not join */
    cip_feed(cs, "50 02 20 37 24 01 02 02 2d4d41 beef", 3, 1);
    ck_assert_uint_eq(stats().objects_scanned, 1);
    cip_state_release(cs);
    free(cs);
}
END_TEST

/* One MMS PDU in TPKT + COTP DT (no session / presentation, as test_yara.c). */
static void mms_feed(void *st, const char *pdu, int to_server)
{
    uint8_t b[512];
    char hex[1200];
    size_t n = hex_to_bytes(pdu, b, sizeof(b));
    int k = snprintf(hex, sizeof(hex), "0300%04x 02f080", (unsigned)(n + 7));
    for (size_t i = 0; i < n; i++)
        k += snprintf(hex + k, sizeof(hex) - (size_t)k, "%02x", b[i]);
    if (to_server)
        feed_diss(&mms_dissector, st, hex, 1, 17648, 102);
    else
        feed_diss(&mms_dissector, st, hex, 0, 102, 17648);
}

/* An MMS file read cut by the flow's end, and one replaced by a new FileOpen of
 * the same FRSM: each scanned once, partial. */
START_TEST(mms_cut_and_replaced)
{
    void *st = mms_dissector.state_new();
    mms_feed(st, "a0 15 020101 bf48 0f a00a190850524f472e42494e 810100", 1);
    mms_feed(st, "a1 0e 020101 bf48 08 800107 a103 80010a", 0);
    mms_feed(st, "a0 07 020102 9f49 01 07", 1);
    mms_feed(st, "a1 11 020102 bf49 0b 80094f54532d4d41524b21", 0); /* moreFollows: TRUE */
    ck_assert_uint_eq(stats().objects_scanned, 0);
    /* opened again: the unfinished read is scanned as it stands */
    mms_feed(st, "a0 15 020103 bf48 0f a00a190850524f472e42494e 810100", 1);
    mms_feed(st, "a1 0e 020103 bf48 08 800107 a103 80010a", 0);
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_msg(strstr(j, "\"name\":\"PROG.BIN\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"partial\":true") != NULL, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"direction\":\"to_client\""));
    mms_feed(st, "a0 07 020104 9f49 01 07", 1);
    mms_feed(st, "a1 0d 020104 bf49 07 80054f54532d4d", 0);
    ck_assert_int_eq(count_rule("Marker"), 1);
    flow_end(&mms_dissector, st);
    ck_assert_uint_eq(stats().objects_scanned, 2);
    ck_assert_uint_eq(stats().objects_partial, 2);
    ck_assert_int_eq(count_rule("Marker"), 1); /* "OTS-M" alone does not match */
    ck_assert_int_eq(count_rule("Any"), 2);
    flow_end(&mms_dissector, st);
    ck_assert_uint_eq(stats().objects_scanned, 2);
    mms_dissector.state_free(st);
}
END_TEST

/* ObtainFile: the client asks the server to fetch SRC.BIN as /PROG/NEW.BIN; the
 * server opens and reads it from the client over the same association, with
 * invokeIDs of its own (1 again: pairing keeps the directions apart). */
START_TEST(mms_obtain_file)
{
    void *st = mms_dissector.state_new();
    mms_feed(st, "a022020101bf2e1ca10919075352432e42494ea20f190d2f50524f472f4e45572e42494e", 1);
    mms_feed(st, "a014020101bf480ea00919075352432e42494e810100", 0); /* server: fileOpen */
    mms_feed(st, "a10e020101bf4808800105a10380010a", 1);             /* frsmID 5 */
    mms_feed(st, "a0070201029f490105", 0);                           /* fileRead 5 */
    ck_assert_int_eq(count_rule("Marker"), 0);
    mms_feed(st, "a115020102bf490f800a784f54532d4d41524b21810100", 1); /* last data */
    ck_assert_int_eq(count_rule("Marker"), 1);
    const char *j = rule_json("Marker");
    ck_assert_msg(strstr(j, "\"type\":\"mms.file\",\"name\":\"SRC.BIN\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"destination\":\"/PROG/NEW.BIN\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"frsm\":\"5\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"direction\":\"to_server\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"partial\":false") != NULL, "%s", j);
    mms_feed(st, "a1060201019f2e00", 0); /* obtainFile answered */
    /* every reply found its request, each by its own direction */
    int unmatched = 0, paired46 = 0, paired72 = 0;
    for (int i = 0; i < rec.n; i++) {
        unmatched += event_has_anomaly(&rec.ev[i], "mms.unmatched_response") ||
                     event_has_anomaly(&rec.ev[i], "mms.service_mismatch");
        const struct ev_field *f = event_find(&rec.ev[i], "request_service");
        if (f && f->v.u == 46) paired46++;
        if (f && f->v.u == 72) paired72++;
    }
    ck_assert_int_eq(unmatched, 0);
    ck_assert_int_eq(paired46, 1);
    ck_assert_int_eq(paired72, 1);
    /* after the answer, a file the client reads has no destination */
    mms_feed(st, "a0 15 020102 bf48 0f a00a190850524f472e42494e 810100", 1);
    mms_feed(st, "a1 0e 020102 bf48 08 800107 a103 80010a", 0);
    mms_feed(st, "a0 07 020103 9f49 01 07", 1);
    mms_feed(st, "a1 14 020103 bf49 0e 80094f54532d4d41524b21 810100", 0);
    ck_assert_int_eq(count_rule("Marker"), 2);
    int dest = 0;
    for (int i = 0; i < rec.n; i++)
        dest +=
            strstr(rec.json[i], "\"rule\":\"Marker\"") && strstr(rec.json[i], "\"destination\"");
    ck_assert_int_eq(dest, 1);
    mms_dissector.state_free(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("yara_objects");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, umas_cut_by_flow_end);
    tcase_add_test(tc, cip_cut_by_flow_end);
    tcase_add_test(tc, mms_cut_and_replaced);
    tcase_add_test(tc, mms_obtain_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
