/* test_sv.c - the Sampled Values dissector: per-stream summary, anomalies only.
 *
 * Real frames: tests/data/sv_normal_first40.pcap (see SOURCES.md); tshark 4.0
 * reads svID "4001", smpCnt 280..319, confRev 1, smpSynch 2, noASDU 1. Crafted
 * frames reuse frame 1 with smpCnt / confRev substituted. */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "testutil.h"

extern const struct dissector sv_dissector;
static const struct dissector *const D = &sv_dissector;

static struct recorder rec;

static void setup(void)
{
    recorder_init(&rec);
}

static void feed(void *st, const uint8_t *b, size_t n, uint64_t ts)
{
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {1, DISS_L2, 0, ts};
    rec.sink.net.ts_us = ts;
    D->parse(st, &c, &info, &rec.sink);
}

/* sv_normal_first40.pcap frame 1 after the ethertype (VLAN removed). */
static size_t sv_frame(uint8_t *out, size_t cap, unsigned smp_cnt, unsigned conf_rev)
{
    char hex[1024];
    snprintf(hex, sizeof(hex),
             "40 01 00 66 00 00 00 00" /* APPID 0x4001, length 102, reserved */
             "60 5c"                   /* savPdu, 92 bytes */
             "80 01 01"                /* noASDU 1 */
             "a2 57 30 55"             /* seqASDU, one ASDU of 85 bytes */
             "80 04 34 30 30 31"       /* svID "4001" */
             "82 02 %04x"              /* smpCnt (tshark: 280 in frame 1) */
             "83 04 %08x"              /* confRev (1) */
             "85 01 02"                /* smpSynch 2 (global) */
             "87 40"                   /* sample: 8 x (value, quality) */
             "ff fe 59 82 00 00 00 00 00 04 3d dc 00 00 00 00 ff fd 6f 5c 00 00 00 00"
             "00 00 06 ba 00 00 20 00 ff 8d f4 00 00 00 00 00 01 1d fb c2 00 00 00 00"
             "ff 55 60 0c 00 00 00 00 00 01 4f ce 00 00 20 00",
             smp_cnt & 0xFFFF, conf_rev);
    return hex_to_bytes(hex, out, cap);
}

START_TEST(test_capture_one_event)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(test_data_path("sv_normal_first40.pcap"), err);
    ck_assert_msg(p != NULL, "%s", err);
    void *st = D->state_new();
    struct pcap_pkthdr *h;
    const u_char *data;
    int frames = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        struct cursor c = cursor_make(data, h->caplen);
        cursor_skip(&c, 12);
        uint16_t et = cursor_u16be(&c);
        while (et == 0x8100) {
            cursor_skip(&c, 2);
            et = cursor_u16be(&c);
        }
        ck_assert_uint_eq(et, 0x88BA);
        size_t n = cursor_left(&c);
        feed(st, cursor_take(&c, n), n, 1000u * (uint64_t)(++frames));
    }
    pcap_close(p);
    ck_assert_int_eq(frames, 40);
    /* a continuous stream: only the new_stream event */
    ck_assert_int_eq(rec.n, 1);
    const struct event *e = &rec.ev[0];
    ck_assert_str_eq(e->proto, "sv");
    ck_assert_str_eq(e->op, "new_stream");
    ck_assert(!e->has_code);
    ck_assert_uint_eq(ev_u(e, "appid"), 0x4001); /* sv.appid 0x4001 */
    ck_assert_uint_eq(ev_u(e, "smp_cnt"), 280);  /* sv.smpCnt */
    ck_assert_uint_eq(ev_u(e, "conf_rev"), 1);   /* sv.confRev */
    ck_assert_uint_eq(ev_u(e, "smp_synch"), 2);  /* sv.smpSynch */
    ck_assert_uint_eq(ev_u(e, "no_asdu"), 1);    /* sv.noASDU */
    ck_assert_ptr_nonnull(strstr(rec.json[0], "\"sv_id\":\"4001\""));
    D->state_free(st);
}
END_TEST

START_TEST(test_smpcnt_rules)
{
    void *st = D->state_new();
    uint8_t b[256];
    static const unsigned cnt[] = {4798, 4799, 0, 1, 9, 3, 4};
    for (int i = 0; i < 7; i++)
        feed(st, b, sv_frame(b, sizeof(b), cnt[i], 1), (uint64_t)i + 1);
    /* new_stream, then 4798->4799->0 (wrap)->1 fine, 1->9 jump, 9->3 regression */
    ck_assert_int_eq(rec.n, 3);
    ck_assert_str_eq(rec.ev[0].op, "new_stream");
    ck_assert_str_eq(rec.ev[1].op, "anomaly");
    ck_assert(event_has_anomaly(&rec.ev[1], "sv.smpcnt_jump"));
    ck_assert_uint_eq(ev_u(&rec.ev[1], "prev_smp_cnt"), 1);
    ck_assert_uint_eq(ev_u(&rec.ev[1], "smp_cnt"), 9);
    ck_assert(event_has_anomaly(&rec.ev[2], "sv.smpcnt_regression"));
    D->state_free(st);
}
END_TEST

START_TEST(test_confrev_change)
{
    void *st = D->state_new();
    uint8_t b[256];
    feed(st, b, sv_frame(b, sizeof(b), 10, 1), 1);
    feed(st, b, sv_frame(b, sizeof(b), 11, 2), 2);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(&rec.ev[1], "sv.confrev_change"));
    ck_assert_uint_eq(ev_u(&rec.ev[1], "prev_conf_rev"), 1);
    D->state_free(st);
}
END_TEST

/* The documented rule: one stream_summary per 4000 frames of the flow. */
START_TEST(test_summary_every_4000)
{
    void *st = D->state_new();
    uint8_t b[256];
    for (unsigned i = 0; i < 8001; i++)
        feed(st, b, sv_frame(b, sizeof(b), (100 + i) % 4800, 1), (uint64_t)i + 1);
    ck_assert_int_eq(rec.n, 3); /* new_stream + 2 summaries */
    const struct event *s = &rec.ev[1];
    ck_assert_str_eq(s->op, "stream_summary");
    ck_assert_uint_eq(ev_u(s, "frames"), 4000);
    ck_assert_uint_eq(ev_u(s, "asdus"), 4000);
    ck_assert_uint_eq(ev_u(s, "first_smp_cnt"), 100);
    ck_assert_uint_eq(ev_u(s, "last_smp_cnt"), 4099);
    ck_assert_uint_eq(ev_u(s, "anomalies"), 0);
    s = &rec.ev[2];
    ck_assert_uint_eq(ev_u(s, "first_smp_cnt"), 4100);
    ck_assert_uint_eq(ev_u(s, "last_smp_cnt"), (100 + 7999) % 4800);
    ck_assert_uint_eq(ev_u(s, "total_frames"), 8000);
    D->state_free(st);
}
END_TEST

/* Every prefix of a frame is an anomaly event (truncated or malformed), no crash. */
START_TEST(test_truncated_everywhere)
{
    uint8_t b[256];
    size_t n = sv_frame(b, sizeof(b), 5, 1);
    ck_assert_uint_eq(n, 102);
    for (size_t k = 0; k < n; k++) {
        recorder_init(&rec);
        void *st = D->state_new();
        feed(st, b, k, 1);
        ck_assert_int_eq(rec.n, 1);
        ck_assert_str_eq(rec.ev[0].op, "anomaly");
        ck_assert(event_has_anomaly(&rec.ev[0], "sv.truncated") ||
                  event_has_anomaly(&rec.ev[0], "sv.malformed"));
        D->state_free(st);
    }
}
END_TEST

static Suite *sv_suite(void)
{
    Suite *s = suite_create("sv");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_add_test(t, test_capture_one_event);
    tcase_add_test(t, test_smpcnt_rules);
    tcase_add_test(t, test_confrev_change);
    tcase_add_test(t, test_summary_every_4000);
    tcase_add_test(t, test_truncated_everywhere);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(sv_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
