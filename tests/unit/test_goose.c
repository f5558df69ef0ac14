/* test_goose.c - the GOOSE dissector on real frames and crafted publisher sequences.
 *
 * Real frames are read from captures in tests/data (see SOURCES.md); field values
 * in comments are tshark 4.0's decode of the same frames (`tshark -V`). Crafted
 * sequences reuse goose_demo.pcap's frame with stNum, sqNum, confRev, simulation
 * and the first allData boolean changed (IEC 61850-8-1 §18.1.2.5 rules). */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector goose_dissector;
static const struct dissector *const D = &goose_dissector;

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

static void feed(void *st, const uint8_t *b, size_t n, uint64_t ts)
{
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {1, DISS_L2, 0, ts};
    rec.sink.net.ts_us = ts;
    D->parse(st, &c, &info, &rec.sink);
}

/* Feeds every 0x88B8 frame of a capture (Ethernet, VLAN tags skipped) as the
 * engine does: the bytes after the ethertype. Returns the frame count. */
static int feed_pcap(void *st, const char *name)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(test_data_path(name), err);
    ck_assert_msg(p != NULL, "%s", err);
    struct pcap_pkthdr *h;
    const u_char *data;
    int frames = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        struct cursor c = cursor_make(data, h->caplen);
        cursor_skip(&c, 12); /* MACs */
        uint16_t et = cursor_u16be(&c);
        while (et == 0x8100 || et == 0x88A8) {
            cursor_skip(&c, 2);
            et = cursor_u16be(&c);
        }
        if (c.err || et != 0x88B8) continue;
        size_t n = cursor_left(&c);
        feed(st, cursor_take(&c, n), n,
             (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec);
        frames++;
    }
    pcap_close(p);
    return frames;
}

/* goose_demo.pcap frame 1 after the ethertype, with values substituted. */
static size_t demo_frame(uint8_t *out, size_t cap, uint64_t st_num, uint64_t sq_num,
                         uint64_t conf_rev, int sim, int bool0)
{
    char hex[1024];
    snprintf(hex, sizeof(hex),
             "20 00 00 6c 00 00 00 00"       /* APPID 0x2000, length 108, reserved 0, 0 */
             "61 62"                         /* goosePdu, 98 bytes */
             "80 03 31 31 31"                /* gocbRef "111" */
             "81 05 00 00 00 27 10"          /* timeAllowedtoLive 10000 */
             "82 03 32 32 32"                /* datSet "222" */
             "83 03 33 33 33"                /* goID "333" */
             "84 08 4d dd a5 1a db e7 6d 00" /* t 2011-05-26 00:55:54.859 UTC */
             "85 05 %010llx"                 /* stNum */
             "86 05 %010llx"                 /* sqNum */
             "87 01 %02x"                    /* simulation */
             "88 05 %010llx"                 /* confRev */
             "89 01 00"                      /* ndsCom FALSE */
             "8a 05 00 00 00 00 0a"          /* numDatSetEntries 10 */
             "ab 1e 83 01 %02x"              /* allData: first boolean */
             "83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00 83 01 00",
             (unsigned long long)st_num, (unsigned long long)sq_num, sim ? 1 : 0,
             (unsigned long long)conf_rev, bool0 ? 1 : 0);
    return hex_to_bytes(hex, out, cap);
}

START_TEST(test_demo_fields)
{
    void *st = D->state_new();
    ck_assert_int_eq(feed_pcap(st, "goose_demo.pcap"), 1);
    ck_assert_int_eq(rec.n, 1);
    const struct event *e = ev(0);
    ck_assert_str_eq(e->proto, "goose");
    ck_assert(!e->has_code); /* contract: code null */
    ck_assert_str_eq(e->op, "message");
    ck_assert_int_eq(e->dir, EV_DIR_INDICATION);
    ck_assert_int_eq(e->nanom, 0);
    ck_assert_uint_eq(ev_u(e, "appid"), 0x2000); /* APPID: 0x2000 */
    ck_assert_uint_eq(ev_u(e, "length"), 108);   /* Length: 108 */
    ev_s(e, "gocb_ref", "111");                  /* gocbRef: 111 */
    ck_assert_uint_eq(ev_u(e, "time_allowed_to_live"), 10000);
    ev_s(e, "dat_set", "222");                   /* datSet: 222 */
    ev_s(e, "go_id", "333");                     /* goID: 333 */
    ck_assert_uint_eq(ev_u(e, "st_num"), 1);     /* stNum: 1 */
    ck_assert_uint_eq(ev_u(e, "sq_num"), 1);     /* sqNum: 1 */
    ck_assert_uint_eq(ev_u(e, "simulation"), 0); /* simulation: False */
    ck_assert_uint_eq(ev_u(e, "conf_rev"), 1);   /* confRev: 1 */
    ck_assert_uint_eq(ev_u(e, "nds_com"), 0);    /* ndsCom: False */
    ck_assert_uint_eq(ev_u(e, "num_dat_set_entries"), 10);
    ck_assert_uint_eq(ev_u(e, "all_data.count"), 10);         /* allData: 10 items */
    ck_assert_uint_eq(ev_u(e, "all_data.types.boolean"), 10); /* all boolean */
    const struct ev_field *t = event_find(e, "t");
    ck_assert(t && t->type == EVF_DOUBLE);
    ck_assert(t->v.d > 1306371354.858 && t->v.d < 1306371354.860);
    D->state_free(st);
}
END_TEST

/* icsnpp GOOSE.pcap: 8 frames of one publisher, stNum 1 throughout, sqNum 10, 11,
 * 12, then 1, 2, 3, 4, 5 (tshark goose.sqNum): the drop back to 1 without a new
 * stNum is exactly one goose.sqnum_anomaly, on frame 4. */
START_TEST(test_icsnpp_sequence)
{
    void *st = D->state_new();
    ck_assert_int_eq(feed_pcap(st, "goose_icsnpp.pcap"), 8);
    ck_assert_int_eq(rec.n, 8);
    static const uint64_t sq[8] = {10, 11, 12, 1, 2, 3, 4, 5};
    for (int i = 0; i < 8; i++) {
        const struct event *e = ev(i);
        ev_s(e, "gocb_ref", "GEDeviceF650/LLN0$GO$gcb01");
        ck_assert_uint_eq(ev_u(e, "appid"), 1);
        ck_assert_uint_eq(ev_u(e, "st_num"), 1);
        ck_assert_uint_eq(ev_u(e, "sq_num"), sq[i]);
        ck_assert_uint_eq(ev_u(e, "num_dat_set_entries"), 8);
        ck_assert_str_eq(e->op, "message");
        ck_assert_int_eq(event_has_anomaly(e, "goose.sqnum_anomaly"), i == 3);
        ck_assert(!event_has_anomaly(e, "goose.stnum_regression"));
        ck_assert(!event_has_anomaly(e, "goose.malformed"));
    }
    /* tshark: timeAllowedtoLive 40000 on frame 1, 1000 on frame 4 */
    ck_assert_uint_eq(ev_u(ev(0), "time_allowed_to_live"), 40000);
    ck_assert_uint_eq(ev_u(ev(3), "time_allowed_to_live"), 1000);
    D->state_free(st);
}
END_TEST

/* GOOSE_all_data_primitives_fallbacks.pcap: tshark lists 12 allData items:
 * boolean True, bit-string 80, integer -1, unsigned 500, floating-point 1,
 * octet-string deadbe, visible-string "OK", real, bcd, booleanArray, objId, mMSString. */
START_TEST(test_all_data_primitives)
{
    void *st = D->state_new();
    ck_assert_int_eq(feed_pcap(st, "goose_icsnpp_all_data_primitives_fallbacks.pcap"), 1);
    const struct event *e = ev(0);
    ck_assert_int_eq(e->nanom, 0);
    ck_assert_uint_eq(ev_u(e, "num_dat_set_entries"), 12);
    ck_assert_uint_eq(ev_u(e, "all_data.count"), 12);
    ck_assert_uint_eq(ev_u(e, "all_data.types.boolean"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.bit_string"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.integer"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.unsigned"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.floating_point"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.octet_string"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.visible_string"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.real"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.bcd"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.boolean_array"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.obj_id"), 1);
    ck_assert_uint_eq(ev_u(e, "all_data.types.mms_string"), 1);
    /* values array, JSON: true, "80", -1, 500, null, "deadbe", "OK", ... */
    ck_assert_ptr_nonnull(
        strstr(rec.json[0], "\"values\":[true,\"80\",-1,500,null,\"deadbe\",\"OK\""));
    D->state_free(st);
}
END_TEST

/* The deliberately broken captures: one event each, anomalies, no crash. */
START_TEST(test_malformed_captures)
{
    void *st = D->state_new();
    /* gocbRef's tag byte is 0x1f (high-tag-number form) with "1a" as the digit and
     * 0x47 as a length running past the PDU: tshark shows no gocbRef */
    ck_assert_int_eq(feed_pcap(st, "goose_icsnpp_malformed_asn1.pcap"), 1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_str_eq(ev(0)->op, "malformed");
    ck_assert(event_has_anomaly(ev(0), "goose.malformed"));
    ck_assert_ptr_null(event_find(ev(0), "gocb_ref"));
    ck_assert_uint_eq(ev_u(ev(0), "appid"), 1);
    D->state_free(st);

    /* GOOSE length 145 but the frame ends inside allData (0x93 bytes after the
     * ethertype): fields up to numDatSetEntries are read */
    recorder_init(&rec);
    st = D->state_new();
    ck_assert_int_eq(feed_pcap(st, "goose_icsnpp_truncated.pcap"), 1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_str_eq(ev(0)->op, "malformed");
    ck_assert(event_has_anomaly(ev(0), "goose.truncated"));
    ev_s(ev(0), "gocb_ref", "GEDeviceF650/LLN0$GO$gcb01");
    ck_assert_uint_eq(ev_u(ev(0), "num_dat_set_entries"), 8);
    D->state_free(st);

    /* no allData at all: a readable frame missing a mandatory field */
    recorder_init(&rec);
    st = D->state_new();
    ck_assert_int_eq(feed_pcap(st, "goose_icsnpp_missing_all_data.pcap"), 1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(event_has_anomaly(ev(0), "goose.missing_field"));
    ck_assert(!event_has_anomaly(ev(0), "goose.malformed"));
    ck_assert_ptr_null(event_find(ev(0), "all_data"));
    D->state_free(st);
}
END_TEST

/* Every prefix of a frame (and every shorter GOOSE length) gives exactly one event. */
START_TEST(test_truncated_everywhere)
{
    uint8_t b[256];
    size_t n = demo_frame(b, sizeof(b), 1, 1, 1, 0, 0);
    ck_assert_uint_eq(n, 108);
    for (size_t k = 0; k < n; k++) {
        recorder_init(&rec);
        void *st = D->state_new();
        feed(st, b, k, 1);
        ck_assert_int_eq(rec.n, 1);
        ck_assert_str_eq(ev(0)->op, "malformed");
        ck_assert(event_has_anomaly(ev(0), "goose.truncated") ||
                  event_has_anomaly(ev(0), "goose.malformed"));
        D->state_free(st);
    }
    /* the full frame with its GOOSE length cut: never a "message" */
    for (unsigned len = 0; len < 108; len++) {
        recorder_init(&rec);
        void *st = D->state_new();
        b[2] = (uint8_t)(len >> 8);
        b[3] = (uint8_t)len;
        feed(st, b, n, 1);
        ck_assert_int_eq(rec.n, 1);
        ck_assert_str_ne(ev(0)->op, "message");
        D->state_free(st);
    }
}
END_TEST

/* Ethernet padding after the GOOSE length is not part of the PDU. */
START_TEST(test_padding_ignored)
{
    uint8_t b[256];
    size_t n = demo_frame(b, sizeof(b), 1, 1, 1, 0, 0);
    memset(b + n, 0, 20);
    void *st = D->state_new();
    feed(st, b, n + 20, 1);
    ck_assert_str_eq(ev(0)->op, "message");
    ck_assert_int_eq(ev(0)->nanom, 0);
    D->state_free(st);
}
END_TEST

struct step {
    uint64_t st, sq, cr;
    int sim, b0;
    const char *op;
    const char *anomaly; /* NULL: none expected */
};

static void run_steps(const struct step *s, int n)
{
    void *st = D->state_new();
    uint8_t b[256];
    for (int i = 0; i < n; i++) {
        size_t len = demo_frame(b, sizeof(b), s[i].st, s[i].sq, s[i].cr, s[i].sim, s[i].b0);
        feed(st, b, len, 1000000u * (uint64_t)(i + 1));
        const struct event *e = ev(i);
        ck_assert_msg(strcmp(e->op, s[i].op) == 0, "step %d: op %s", i, e->op);
        if (s[i].anomaly)
            ck_assert_msg(event_has_anomaly(e, s[i].anomaly), "step %d: no %s", i, s[i].anomaly);
        else
            ck_assert_msg(e->nanom == 0, "step %d: %d anomalies, first %s", i, e->nanom,
                          e->nanom ? e->anomalies[0] : "");
    }
    ck_assert_int_eq(rec.n, n);
    D->state_free(st);
}

START_TEST(test_rule_normal_and_state_change)
{
    const struct step s[] = {
        {5, 7, 1, 0, 0, "message", NULL},      /* first frame: baseline */
        {5, 8, 1, 0, 0, "message", NULL},      /* sqNum + 1 */
        {6, 0, 1, 0, 1, "state_change", NULL}, /* event: stNum + 1, sqNum 0, data changed */
        {6, 1, 1, 0, 1, "message", NULL},      {0xffffffff, 0, 1, 0, 0, "state_change", NULL},
        {1, 0, 1, 0, 1, "state_change", NULL}, /* stNum rolls over to 1 */
    };
    run_steps(s, 6);
}
END_TEST

START_TEST(test_rule_stnum_regression)
{
    const struct step s[] = {
        {10, 0, 1, 0, 0, "message", NULL},
        {9, 0, 1, 0, 1, "message", "goose.stnum_regression"}, /* replayed older state */
    };
    run_steps(s, 2);
}
END_TEST

START_TEST(test_rule_sqnum)
{
    const struct step s[] = {
        {3, 4, 1, 0, 0, "message", NULL},
        {3, 4, 1, 0, 0, "message", "goose.sqnum_anomaly"},      /* repeated */
        {3, 9, 1, 0, 0, "message", "goose.sqnum_anomaly"},      /* jump */
        {4, 5, 1, 0, 1, "state_change", "goose.sqnum_anomaly"}, /* new stNum, sqNum not 0 */
        {4, 6, 1, 0, 1, "message", NULL},
    };
    run_steps(s, 5);
}
END_TEST

START_TEST(test_rule_sqnum_wrap)
{
    const struct step s[] = {
        {3, 0xffffffff, 1, 0, 0, "message", NULL},
        {3, 1, 1, 0, 0, "message", NULL}, /* sqNum rolls over to 1 */
    };
    run_steps(s, 2);
}
END_TEST

START_TEST(test_rule_data_change_without_stnum)
{
    const struct step s[] = {
        {2, 0, 1, 0, 0, "message", NULL},
        {2, 1, 1, 0, 1, "message", "goose.data_change_without_stnum"}, /* allData differs */
        {2, 2, 1, 0, 1, "message", NULL},
    };
    run_steps(s, 3);
}
END_TEST

START_TEST(test_rule_confrev_and_simulation)
{
    const struct step s[] = {
        {2, 0, 1, 0, 0, "message", NULL},
        {2, 1, 2, 0, 0, "message", "goose.confrev_change"},
        {2, 2, 2, 1, 0, "message", "goose.simulation_set"},
    };
    run_steps(s, 3);
    ck_assert_uint_eq(ev_u(ev(1), "prev_conf_rev"), 1);
}
END_TEST

/* Two publishers in one flow (two gocbRefs behind one MAC pair) keep their own
 * sequence state. */
START_TEST(test_publishers_apart)
{
    void *st = D->state_new();
    uint8_t a[256], b[256];
    size_t na = demo_frame(a, sizeof(a), 7, 0, 1, 0, 0);
    size_t nb = demo_frame(b, sizeof(b), 3, 0, 1, 0, 0);
    b[12] = '9'; /* gocbRef "911": another control block */
    feed(st, a, na, 1);
    feed(st, b, nb, 2);
    b[55] = 1; /* sqNum 1 for publisher b (last byte of sqNum, offset 51..55) */
    a[55] = 1;
    feed(st, b, nb, 3);
    feed(st, a, na, 4);
    ck_assert_int_eq(rec.n, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(ev(i)->nanom == 0, "event %d: %s", i, ev(i)->anomalies[0]);
    ck_assert_uint_eq(ev_u(ev(2), "sq_num"), 1);
    D->state_free(st);
}
END_TEST

static Suite *goose_suite(void)
{
    Suite *s = suite_create("goose");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_demo_fields);
    tcase_add_test(t, test_icsnpp_sequence);
    tcase_add_test(t, test_all_data_primitives);
    tcase_add_test(t, test_malformed_captures);
    tcase_add_test(t, test_truncated_everywhere);
    tcase_add_test(t, test_padding_ignored);
    tcase_add_test(t, test_rule_normal_and_state_change);
    tcase_add_test(t, test_rule_stnum_regression);
    tcase_add_test(t, test_rule_sqnum);
    tcase_add_test(t, test_rule_sqnum_wrap);
    tcase_add_test(t, test_rule_data_change_without_stnum);
    tcase_add_test(t, test_rule_confrev_and_simulation);
    tcase_add_test(t, test_publishers_apart);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(goose_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
