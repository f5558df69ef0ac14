/* test_opclass.c - the names dissectors give their requests and anomalies, on the
 * corpus captures: every request op maps to a conduit operation class by a word of
 * its name (corr_opclass_mapped, not the diagnostic fallback), and every anomaly is a
 * name the rule loader accepts for app-layer-event:. Unmapped or unknown names are
 * listed in the failure message. */
#include <check.h>
#include <glob.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "dissector.h"
#include "rule_int.h"
#include "testutil.h"

#define MAX_NAMES 256

struct seen {
    const char *dissector;
    int requests, events;
    int nbad;
    char bad[MAX_NAMES][96];
};

static struct seen S;

static void add_bad(const char *what, const char *proto, const char *name)
{
    char t[96];
    snprintf(t, sizeof(t), "%s %s.%s", what, proto, name);
    for (int i = 0; i < S.nbad; i++)
        if (!strcmp(S.bad[i], t)) return;
    if (S.nbad < MAX_NAMES) snprintf(S.bad[S.nbad++], sizeof(S.bad[0]), "%s", t);
}

static void on_event(void *ctx, struct event *e)
{
    (void)ctx;
    S.events++;
    if (e->dir == EV_DIR_REQUEST && e->op) {
        S.requests++;
        if (corr_opclass_mapped(e->op) < 0) add_bad("op", e->proto, e->op);
    }
    for (int i = 0; i < e->nanom; i++)
        if (!rules_anomaly_known(e->anomalies[i])) add_bad("anomaly", "", e->anomalies[i]);
}

/* Feeds every frame of ethertype et (VLAN tags skipped), the bytes after it. */
static int feed_l2(const char *path, const struct dissector *d, struct event_sink *sink,
                   uint16_t et)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) return -1;
    void *st = d->state_new ? d->state_new() : NULL;
    struct pcap_pkthdr *h;
    const u_char *data;
    int n = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        struct cursor c = cursor_make(data, h->caplen);
        cursor_skip(&c, 12);
        uint16_t t = cursor_u16be(&c);
        while (t == 0x8100 || t == 0x88A8) {
            cursor_skip(&c, 2);
            t = cursor_u16be(&c);
        }
        if (c.err || t != et) continue;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        struct pdu_info info = {1, DISS_L2, 0, ts};
        sink->net.ts_us = ts;
        size_t left = cursor_left(&c);
        struct cursor pc = cursor_make(cursor_take(&c, left), left);
        d->parse(st, &pc, &info, sink);
        n++;
    }
    if (d->state_free) d->state_free(st);
    pcap_close(p);
    return n;
}

struct feed {
    const char *dissector;
    uint16_t port, port2; /* server ports; 0 with et: layer 2 */
    uint16_t et;
    const char *globs[6]; /* under tests/data */
};

static const struct feed feeds[] = {
    {"modbus", 502, 0, 0, {"modbus_*.pcap", "corpus/ICS-Security-Tools/bro/modbus/*", NULL}},
    {"dnp3",
     20000,
     0,
     0,
     {"dnp3*.pcap", "corpus/ICS-Security-Tools/dnp3/*.pcap", "corpus/icsnpp-dnp3/*.pcap",
      "corpus/nDPI/dnp3.pcap", NULL}},
    {"iec104", 2404, 0, 0, {"iec104-*.pcap", "corpus/nDPI/IEC104.pcap", NULL}},
    {"s7comm",
     102,
     0,
     0,
     {"corpus/ICS-Security-Tools/s7/*", "corpus/icsnpp-s7comm/*.pcap", "corpus/nDPI/s7comm*.pcap",
      "s7comm_plus.pcap", NULL}},
    {"enip",
     44818,
     2222,
     0,
     {"corpus/ICS-Security-Tools/EthernetIP/*.pcap", "corpus/ICS-Security-Tools/openics/EIP-*",
      "corpus/icsnpp-enip/*.pcap*", "enip_test1.pcap", "cip_io.pcap", NULL}},
    {"bacnet", 47808, 0, 0, {"corpus/icsnpp-bacnet/*.pcap", "corpus/nDPI/bacnet.pcap", NULL}},
    {"opcua", 4840, 0, 0, {"corpus/icsnpp-opcua-binary/*.pcap", NULL}},
    {"mms",
     102,
     0,
     0,
     {"corpus/ICS-Security-Tools/IEC61850/MMS - Specific Commands/*.pcap", "mms_*.pcap", NULL}},
    {"mqtt", 1883, 0, 0, {"corpus/nDPI/mqtt.pcap", "mqtt_events_invalid_qos.pcap", NULL}},
    {"hart_ip", 5094, 0, 0, {"corpus/icsnpp-hart-ip/*", NULL}},
    {"fins", 9600, 0, 0, {"corpus/icsnpp-omron-fins/*.pcap", NULL}},
    {"profinet_dcp", 0, 0, 0x8892, {"corpus/ICS-Security-Tools/profinet/PROFINET-RT-DCP/*", NULL}},
};

START_TEST(request_ops_have_a_class_and_anomalies_are_known)
{
    const struct feed *f = &feeds[_i];
    const struct dissector *d = dissector_by_name(f->dissector);
    ck_assert_ptr_nonnull(d);
    memset(&S, 0, sizeof(S));
    struct event_sink sink;
    event_sink_init(&sink, on_event, NULL);
    int files = 0;
    for (int g = 0; f->globs[g]; g++) {
        char pat[4096];
        snprintf(pat, sizeof(pat), "%s", test_data_path(f->globs[g]));
        glob_t gl;
        if (glob(pat, 0, NULL, &gl) != 0) continue;
        for (size_t k = 0; k < gl.gl_pathc; k++) {
            if (strstr(gl.gl_pathv[k], "SOURCE")) continue;
            int n = f->et ? feed_l2(gl.gl_pathv[k], d, &sink, f->et)
                          : pcap_feed_file(gl.gl_pathv[k], d, &sink, f->port, f->port2);
            ck_assert_msg(n > 0, "%s: no packets", gl.gl_pathv[k]);
            files++;
        }
        globfree(&gl);
    }
    ck_assert_msg(files > 0 && S.requests > 0, "%s: %d files, %d requests", f->dissector, files,
                  S.requests);
    char msg[8192] = "";
    for (int i = 0; i < S.nbad; i++) {
        strncat(msg, " ", sizeof(msg) - strlen(msg) - 1);
        strncat(msg, S.bad[i], sizeof(msg) - strlen(msg) - 1);
    }
    ck_assert_msg(S.nbad == 0, "%s (%d files, %d requests): unmapped or unknown:%s", f->dissector,
                  files, S.requests, msg);
}
END_TEST

/* The names of ops no corpus capture holds, from the dissectors' sources and the
 * taxonomy, with the class each must get. */
START_TEST(known_classes)
{
    static const struct {
        const char *op;
        int cls;
    } t[] = {
        {"initiate_request", OPC_DIAG},
        {"conclude_request", OPC_DIAG},
        {"register_session", OPC_DIAG},
        {"startdt", OPC_DIAG},
        {"testfr", OPC_DIAG},
        {"set_ip", OPC_WRITE},
        {"factory_reset", OPC_PROGRAM},
        {"identify_all", OPC_READ},
        {"domain_download", OPC_PROGRAM},
        {"program_invocation", OPC_PROGRAM},
        {"file_read", OPC_PROGRAM},
        {"write", OPC_WRITE},
        {"read", OPC_READ},
        {"frobnicate", -1},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        ck_assert_msg(corr_opclass_mapped(t[i].op) == t[i].cls, "%s: %d, want %d", t[i].op,
                      corr_opclass_mapped(t[i].op), t[i].cls);
}
END_TEST

static Suite *opclass_suite(void)
{
    Suite *s = suite_create("opclass");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, request_ops_have_a_class_and_anomalies_are_known, 0,
                        (int)(sizeof(feeds) / sizeof(feeds[0])));
    tcase_add_test(tc, known_classes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(opclass_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
