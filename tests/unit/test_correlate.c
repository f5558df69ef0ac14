/* test_correlate.c - the correlation stage: scans, windows, table caps, conduits,
 * identity changes, operation classes and the time-ordered merge. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "rules.h"
#include "testutil.h"

static struct recorder rec;
static struct correlator *C;
static struct ruleset *RS;

#define T0  1600000000000000ull
#define SEC 1000000ull

static struct corr_config cfg_default(void)
{
    struct corr_config c = {60, 5, 4, 4096, 4096, 300, 60, 3000, 3000, 0, 2};
    return c;
}

static void setup_with(const struct corr_config *cfg)
{
    recorder_init(&rec);
    C = corr_new(cfg, rec.sink.deliver, rec.sink.ctx);
    ck_assert_ptr_nonnull(C);
}

static void setup(void)
{
    struct corr_config c = cfg_default();
    setup_with(&c);
}

static void teardown(void)
{
    corr_free(C);
    C = NULL;
    ruleset_free(RS);
    RS = NULL;
}

static struct ev_addr v4(const char *s)
{
    struct ev_addr a;
    memset(&a, 0, sizeof(a));
    a.b[10] = a.b[11] = 0xff;
    inet_pton(AF_INET, s, a.b + 12);
    return a;
}

static struct corr_rec flow(uint64_t ts, const char *src, const char *dst, uint16_t dport, int syn)
{
    struct corr_rec r;
    memset(&r, 0, sizeof(r));
    r.kind = CORR_FLOW;
    r.flags = syn ? CORR_F_SYN : 0;
    r.net.ts_us = ts;
    r.net.src = v4(src);
    r.net.dst = v4(dst);
    r.net.src_port = 40000;
    r.net.dst_port = dport;
    r.net.ip_version = 4;
    r.net.transport = EV_TRANSPORT_TCP;
    return r;
}

static struct corr_rec op(uint64_t ts, const char *src, const char *dst, const char *proto,
                          const char *opname)
{
    struct corr_rec r = flow(ts, src, dst, 502, 0);
    r.kind = CORR_OP;
    r.opclass = (uint8_t)corr_opclass(proto, opname);
    strcpy(r.proto, proto);
    strcpy(r.op, opname);
    return r;
}

/* Events named proto.op recorded so far. */
static int count(const char *name)
{
    int n = 0;
    for (int i = 0; i < rec.n; i++) {
        char full[64];
        snprintf(full, sizeof(full), "%s.%s", rec.ev[i].proto, rec.ev[i].op);
        if (!strcmp(full, name)) n++;
    }
    return n;
}

static const struct event *last(const char *name)
{
    for (int i = rec.n - 1; i >= 0; i--) {
        char full[64];
        snprintf(full, sizeof(full), "%s.%s", rec.ev[i].proto, rec.ev[i].op);
        if (!strcmp(full, name)) return &rec.ev[i];
    }
    return NULL;
}

/* The text of a string field, NUL-terminated (one buffer: use before the next call). */
static const char *text(const struct event *e, const char *path)
{
    static char buf[256];
    const struct ev_field *f = event_find(e, path);
    if (!f) return "(absent)";
    snprintf(buf, sizeof(buf), "%.*s", (int)f->len, event_field_text(e, f));
    return buf;
}

static void feed(struct corr_rec r)
{
    corr_process(C, &r);
}

/* The responder's answer to a SYN: a RST (refused) or a SYN-ACK. */
static void answer(uint64_t ts, const char *src, const char *dst, uint16_t dport, int rst)
{
    struct corr_rec r = flow(ts, src, dst, dport, 0);
    r.kind = CORR_ANSWER;
    r.flags = rst ? CORR_F_RST : CORR_F_SYNACK;
    corr_process(C, &r);
}

/* A refused connection attempt. */
static void refused(uint64_t ts, const char *src, const char *dst, uint16_t dport)
{
    feed(flow(ts, src, dst, dport, 1));
    answer(ts + 100, src, dst, dport, 1);
}

START_TEST(vertical_scan_threshold_and_window)
{
    /* threshold 4 ports: the 4th refused port raises it, once per window */
    for (int p = 1; p <= 3; p++)
        refused(T0 + (uint64_t)p * 1000, "10.0.0.1", "10.0.0.2", (uint16_t)p);
    ck_assert_int_eq(count("scan.vertical"), 0);
    refused(T0 + 4000, "10.0.0.1", "10.0.0.2", 4);
    ck_assert_int_eq(count("scan.vertical"), 1);
    const struct event *e = last("scan.vertical");
    ck_assert_uint_eq(event_find(e, "ports")->v.u, 4);
    ck_assert_uint_eq(e->net.ts_us, T0 + 4000); /* the attempt's time */
    for (int p = 5; p <= 30; p++)
        refused(T0 + (uint64_t)p * 1000, "10.0.0.1", "10.0.0.2", (uint16_t)p);
    ck_assert_int_eq(count("scan.vertical"), 1);
    /* a new window: counting starts again */
    for (int p = 1; p <= 4; p++)
        refused(T0 + 61 * SEC + (uint64_t)p * 1000, "10.0.0.1", "10.0.0.2", (uint16_t)(100 + p));
    ck_assert_int_eq(count("scan.vertical"), 2);
    ck_assert_int_eq(count("scan.horizontal"), 0);
}
END_TEST

START_TEST(repeats_and_non_syn_do_not_count)
{
    /* the same (host, port) again, and mid-stream flows (no SYN) */
    for (int i = 0; i < 50; i++)
        refused(T0 + (uint64_t)i * 1000, "10.0.0.1", "10.0.0.2", 502);
    for (int p = 1; p <= 50; p++)
        feed(flow(T0 + 100000 + (uint64_t)p, "10.0.0.1", "10.0.0.2", (uint16_t)p, 0));
    corr_finish(C);
    ck_assert_int_eq(count("scan.vertical"), 0);
    /* spread over windows: 3 ports per window never reach 4 */
    for (int w = 0; w < 5; w++)
        for (int p = 0; p < 3; p++)
            refused(T0 + (uint64_t)w * 61 * SEC + (uint64_t)p * 1000, "10.0.0.9", "10.0.0.2",
                    (uint16_t)(1000 + w * 3 + p));
    ck_assert_int_eq(count("scan.vertical"), 0);
}
END_TEST

START_TEST(horizontal_scan_unanswered)
{
    char dst[32];
    for (int h = 1; h <= 5; h++) {
        snprintf(dst, sizeof(dst), "10.1.0.%d", h);
        feed(flow(T0 + (uint64_t)h, "10.0.0.1", dst, 502, 1));
    }
    /* not yet: the SYNs may still be answered */
    ck_assert_int_eq(count("scan.horizontal"), 0);
    feed(flow(T0 + 2 * SEC, "10.0.0.50", "10.0.0.51", 80, 0));
    ck_assert_int_eq(count("scan.horizontal"), 0);
    /* 3 s of packet time later they have failed */
    feed(flow(T0 + 4 * SEC, "10.0.0.50", "10.0.0.51", 80, 0));
    ck_assert_int_eq(count("scan.horizontal"), 1);
    const struct event *e = last("scan.horizontal");
    ck_assert_uint_eq(event_find(e, "port")->v.u, 502);
    ck_assert_uint_eq(event_find(e, "hosts")->v.u, 5);
    ck_assert_uint_eq(e->net.dst_port, 502);
    ck_assert_uint_eq(e->net.ts_us, T0 + 5);
    /* another source, fewer hosts: nothing */
    for (int h = 1; h <= 4; h++) {
        snprintf(dst, sizeof(dst), "10.1.0.%d", h);
        feed(flow(T0 + 10 * SEC + (uint64_t)h, "10.0.0.7", dst, 502, 1));
    }
    corr_finish(C);
    ck_assert_int_eq(count("scan.horizontal"), 1);
}
END_TEST

START_TEST(answered_attempts_are_no_scan)
{
    /* a master connecting to 30 PLCs at once: every SYN is answered */
    char dst[32];
    for (int h = 1; h <= 30; h++) {
        snprintf(dst, sizeof(dst), "10.1.0.%d", h);
        feed(flow(T0 + (uint64_t)h, "10.0.0.1", dst, 502, 1));
        answer(T0 + 500 + (uint64_t)h, "10.0.0.1", dst, 502, 0);
    }
    feed(flow(T0 + 10 * SEC, "10.0.0.50", "10.0.0.51", 80, 0));
    corr_finish(C);
    ck_assert_int_eq(count("scan.horizontal"), 0);
    struct corr_stats st;
    corr_get_stats(C, &st);
    ck_assert_uint_eq(st.pending_syns, 0);
    /* the same without answers, seen only at the end of input */
    for (int h = 1; h <= 5; h++) {
        snprintf(dst, sizeof(dst), "10.2.0.%d", h);
        feed(flow(T0 + 20 * SEC + (uint64_t)h, "10.0.0.1", dst, 502, 1));
    }
    ck_assert_int_eq(count("scan.horizontal"), 0);
    corr_finish(C);
    ck_assert_int_eq(count("scan.horizontal"), 1);
}
END_TEST

START_TEST(table_cap_evicts_and_counts)
{
    teardown();
    struct corr_config c = cfg_default();
    c.max_entries = 16;
    c.max_assets = 16;
    setup_with(&c);
    /* 40 ports: more scan entries than the cap; the scanner's own counter is the
     * most recently used and survives, so the scan is still seen */
    for (int p = 1; p <= 40; p++)
        refused(T0 + (uint64_t)p * 1000, "10.0.0.1", "10.0.0.2", (uint16_t)p);
    ck_assert_int_eq(count("scan.vertical"), 1);
    struct corr_stats st;
    corr_get_stats(C, &st);
    ck_assert_uint_eq(st.scan_entries, 16);
    ck_assert_uint_gt(st.scan_evictions, 0);
    /* assets: 1 + 40 hosts seen through a cap of 16 */
    char dst[32];
    for (int h = 1; h <= 40; h++) {
        snprintf(dst, sizeof(dst), "10.2.0.%d", h);
        feed(flow(T0 + 100000 + (uint64_t)h, "10.0.0.1", dst, 80, 0));
    }
    corr_get_stats(C, &st);
    ck_assert_uint_eq(st.assets, 16);
    ck_assert_uint_eq(st.asset_new, 42); /* 10.0.0.1, 10.0.0.2, 40 hosts */
    ck_assert_uint_eq(st.asset_evictions, 42 - 16);
    ck_assert_int_eq(count("asset.new"), 42);
    /* an evicted asset seen again is new again */
    feed(flow(T0 + 200000, "10.0.0.1", "10.2.0.1", 80, 0));
    ck_assert_int_eq(count("asset.new"), 43);
}
END_TEST

/* The buckets grow with the entries (1,024 at first, doubled at half full): every
 * entry must still be found after each doubling. */
START_TEST(tables_grow_and_keep_entries)
{
    char dst[32];
    for (int pass = 0; pass < 2; pass++)
        for (int h = 0; h < 3000; h++) {
            snprintf(dst, sizeof(dst), "10.3.%d.%d", h / 250, 1 + h % 250);
            feed(flow(T0 + (uint64_t)pass * SEC + (uint64_t)h, "10.0.0.1", dst, 80, 0));
        }
    struct corr_stats st;
    corr_get_stats(C, &st);
    ck_assert_uint_eq(st.assets, 3001);
    ck_assert_uint_eq(st.asset_new, 3001); /* the second pass finds them all */
    ck_assert_uint_eq(st.asset_evictions, 0);
}
END_TEST

static const char *zones_text = "zone ENG 10.20.1.0/24\n"
                                "zone PLC 10.20.2.0/24\n"
                                "zone DMZ 10.10.0.0/16\n"
                                "zone IT 10.30.0.0/16\n"
                                "conduit DMZ PLC protocols modbus ops read-only\n"
                                "conduit ENG PLC protocols modbus,s7comm\n";

static void load_zones(void)
{
    char err[1024] = "";
    RS = ruleset_load_texts("t.rules", "", 0, NULL, zones_text, err, sizeof(err));
    ck_assert_msg(RS != NULL, "%s", err);
    corr_set_ruleset(C, RS);
}

START_TEST(conduit_unlisted_once_per_window)
{
    load_zones();
    /* IT and PLC have no conduit */
    feed(flow(T0, "10.30.0.5", "10.20.2.10", 502, 1));
    ck_assert_int_eq(count("conduit.unlisted"), 1);
    const struct event *e = last("conduit.unlisted");
    ck_assert_str_eq(text(e, "src_zone"), "IT");
    ck_assert_str_eq(text(e, "dst_zone"), "PLC");
    feed(flow(T0 + 10 * SEC, "10.30.0.5", "10.20.2.10", 502, 1));
    ck_assert_int_eq(count("conduit.unlisted"), 1);
    feed(flow(T0 + 301 * SEC, "10.30.0.5", "10.20.2.10", 502, 1));
    ck_assert_int_eq(count("conduit.unlisted"), 2);
    /* a conduit exists; same zone; outside every zone: no conduit.unlisted */
    feed(flow(T0, "10.10.0.5", "10.20.2.10", 502, 1));
    feed(flow(T0, "10.20.2.11", "10.20.2.10", 502, 1));
    feed(flow(T0, "192.168.1.1", "10.20.2.10", 502, 1));
    ck_assert_int_eq(count("conduit.unlisted"), 2);
    /* the address in no zone is reported */
    ck_assert_int_eq(count("asset.unknown_zone"), 1);
    e = last("asset.unknown_zone");
    ck_assert_str_eq(text(e, "ip"), "192.168.1.1");
}
END_TEST

/* A record's flow: its Community ID and flow id, as the worker's set_context fills them. */
static struct corr_rec with_flow(struct corr_rec r, const char *cid, uint64_t flow_id)
{
    snprintf(r.net.community_id, sizeof(r.net.community_id), "%s", cid);
    r.net.flow_id = flow_id;
    return r;
}

/* Events about one flow (asset.new from its first packet, asset.unknown_zone,
 * conduit.*, asset.identity_changed from one PDU) carry that flow's Community ID and
 * flow id; scan.* sum up attempts of many flows and carry neither. */
START_TEST(community_id_of_the_flow)
{
    load_zones();
    feed(with_flow(flow(T0, "10.30.0.5", "192.168.1.1", 502, 0), "1:flow-A=", 11));
    ck_assert_int_eq(count("asset.new"), 2);
    ck_assert_int_eq(count("asset.unknown_zone"), 1);
    for (int i = 0; i < rec.n; i++) {
        ck_assert_str_eq(rec.ev[i].net.community_id, "1:flow-A=");
        ck_assert_uint_eq(rec.ev[i].net.flow_id, 11);
    }
    /* the destination's asset.new: the flow's addresses turned round, same flow */
    ck_assert_str_eq(text(last("asset.new"), "ip"), "192.168.1.1");
    feed(with_flow(flow(T0 + 1, "10.30.0.5", "10.20.2.10", 502, 0), "1:flow-B=", 12));
    ck_assert_str_eq(last("conduit.unlisted")->net.community_id, "1:flow-B=");
    ck_assert_uint_eq(last("conduit.unlisted")->net.flow_id, 12);
    ck_assert_str_eq(last("asset.new")->net.community_id, "1:flow-B=");
    feed(with_flow(op(T0 + 2, "10.10.0.5", "10.20.2.10", "modbus", "write_single_register"),
                   "1:flow-C=", 13));
    ck_assert_str_eq(last("conduit.operation")->net.community_id, "1:flow-C=");
    ck_assert_uint_eq(last("conduit.operation")->net.flow_id, 13);

    /* a vertical scan: five refused attempts, five flows */
    int before = count("scan.vertical");
    for (int p = 1; p <= 5; p++) {
        char cid[32];
        snprintf(cid, sizeof(cid), "1:scan-%d=", p);
        feed(with_flow(
            flow(T0 + 10 * SEC + (uint64_t)p * 1000, "10.30.0.9", "10.30.0.10", (uint16_t)p, 1),
            cid, 100 + (uint64_t)p));
        struct corr_rec a = with_flow(flow(T0 + 10 * SEC + (uint64_t)p * 1000 + 100, "10.30.0.9",
                                           "10.30.0.10", (uint16_t)p, 0),
                                      cid, 100 + (uint64_t)p);
        a.kind = CORR_ANSWER;
        a.flags = CORR_F_RST;
        corr_process(C, &a);
    }
    ck_assert_int_eq(count("scan.vertical"), before + 1);
    const struct event *e = last("scan.vertical");
    ck_assert_str_eq(e->net.community_id, "");
    ck_assert_uint_eq(e->net.flow_id, 0);
    /* unanswered attempts (the timeout's path) neither */
    for (int h = 1; h <= 5; h++) {
        char dst[32], cid[32];
        snprintf(dst, sizeof(dst), "10.30.1.%d", h);
        snprintf(cid, sizeof(cid), "1:h-%d=", h);
        feed(with_flow(flow(T0 + 20 * SEC + (uint64_t)h, "10.30.0.9", dst, 102, 1), cid, 200));
    }
    corr_finish(C);
    e = last("scan.horizontal");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->net.community_id, "");
    ck_assert_uint_eq(e->net.flow_id, 0);
}
END_TEST

START_TEST(conduit_operation_decisions)
{
    load_zones();
    /* DMZ -> PLC: modbus read-only */
    feed(op(T0, "10.10.0.5", "10.20.2.10", "modbus", "read_holding_registers"));
    ck_assert_int_eq(count("conduit.operation"), 0);
    feed(op(T0 + 1, "10.10.0.5", "10.20.2.10", "modbus", "write_single_register"));
    ck_assert_int_eq(count("conduit.operation"), 1);
    const struct event *e = last("conduit.operation");
    ck_assert_str_eq(text(e, "reason"), "operation");
    ck_assert_str_eq(text(e, "op_class"), "write");
    ck_assert_str_eq(text(e, "conduit"), "DMZ-PLC");
    /* the same key within the window: once */
    feed(op(T0 + 2, "10.10.0.5", "10.20.2.10", "modbus", "write_multiple_registers"));
    ck_assert_int_eq(count("conduit.operation"), 1);
    /* a protocol the conduit does not carry */
    feed(op(T0 + 3, "10.10.0.5", "10.20.2.10", "s7comm", "read_var"));
    ck_assert_int_eq(count("conduit.operation"), 2);
    e = last("conduit.operation");
    ck_assert_str_eq(text(e, "reason"), "protocol");
    /* ENG -> PLC: no ops restriction; either direction of a conduit */
    feed(op(T0 + 4, "10.20.1.5", "10.20.2.10", "s7comm", "plc_stop"));
    feed(op(T0 + 5, "10.20.2.10", "10.20.1.5", "modbus", "write_single_coil"));
    ck_assert_int_eq(count("conduit.operation"), 2);
    /* roles follow the requests */
    ck_assert_int_eq(count("conduit.unlisted"), 0);
}
END_TEST

static struct corr_rec ident(uint64_t ts, const char *src, const char *vendor, const char *product)
{
    struct corr_rec r = flow(ts, src, "10.0.0.100", 44818, 0);
    r.kind = CORR_IDENT;
    strcpy(r.proto, "enip");
    /* build through the event walker, as a worker does */
    struct event_sink s;
    event_sink_init(&s, NULL, NULL);
    struct event *e = event_begin(&s, "enip", EV_DIR_RESPONSE);
    event_code(e, 99, "list_identity");
    ev_uint(e, "command", 99);
    ev_cstr(e, "product_name", "not inside identity: ignored");
    ev_obj_begin(e, "identity");
    ev_uint(e, "vendor_id", 1);
    ev_cstr(e, "vendor", vendor);
    ev_cstr(e, "product_name", product);
    ev_end(e);
    r.ident_len = 0;
    ck_assert_int_eq(corr_ident_from_event(&r, e), 3);
    event_discard(&s, e);
    return r;
}

START_TEST(identity_changes)
{
    feed(ident(T0, "10.0.0.1", "Rockwell", "1756-ENBT/A"));
    ck_assert_int_eq(count("asset.identity_changed"), 0);
    feed(ident(T0 + 1, "10.0.0.1", "Rockwell", "1756-ENBT/A"));
    ck_assert_int_eq(count("asset.identity_changed"), 0);
    feed(ident(T0 + 2, "10.0.0.1", "Rockwell", "1756-EN2T/B"));
    ck_assert_int_eq(count("asset.identity_changed"), 1);
    const struct event *e = last("asset.identity_changed");
    ck_assert_str_eq(text(e, "old.product_name"), "1756-ENBT/A");
    ck_assert_str_eq(text(e, "new.product_name"), "1756-EN2T/B");
    ck_assert_ptr_null(event_find(e, "new.command"));
    /* another device: its first identity is no change */
    feed(ident(T0 + 3, "10.0.0.2", "Siemens", "X"));
    ck_assert_int_eq(count("asset.identity_changed"), 1);
}
END_TEST

/* A UDP flow from its sender (awaits an answer) and, if answered, the first datagram back. */
static void udp_probe(uint64_t ts, const char *src, const char *dst, uint16_t dport, int answered)
{
    struct corr_rec r = flow(ts, src, dst, dport, 1);
    r.net.transport = EV_TRANSPORT_UDP;
    feed(r);
    if (!answered) return;
    r.kind = CORR_ANSWER;
    r.flags = CORR_F_SYNACK;
    r.net.ts_us = ts + 2000;
    feed(r);
}

START_TEST(udp_unanswered_probes_are_scans)
{
    char dst[32];
    /* polling 30 outstations that answer: no scan */
    for (int h = 1; h <= 30; h++) {
        snprintf(dst, sizeof(dst), "10.1.0.%d", h);
        udp_probe(T0 + (uint64_t)h * 1000, "10.0.0.1", dst, 20000, 1);
    }
    /* broadcasts and multicast are never answered and are no probes */
    for (int p = 1; p <= 10; p++) {
        udp_probe(T0 + SEC + (uint64_t)p, "10.0.0.2", "255.255.255.255", (uint16_t)(47808 + p), 0);
        udp_probe(T0 + SEC + (uint64_t)p, "10.0.0.2", "239.1.1.1", (uint16_t)(5000 + p), 0);
    }
    feed(flow(T0 + 10 * SEC, "10.0.0.50", "10.0.0.51", 80, 0)); /* time passes */
    ck_assert_int_eq(count("scan.horizontal") + count("scan.vertical"), 0);
    /* a sweep of 4 ports on one host, unanswered: fails after udp_timeout_ms */
    for (int p = 1; p <= 4; p++)
        udp_probe(T0 + 20 * SEC + (uint64_t)p, "10.0.0.9", "10.1.0.1", (uint16_t)(160 + p), 0);
    feed(flow(T0 + 22 * SEC, "10.0.0.50", "10.0.0.51", 80, 0));
    ck_assert_int_eq(count("scan.vertical"), 0); /* 2 s < 3 s: still waiting */
    feed(flow(T0 + 24 * SEC, "10.0.0.50", "10.0.0.51", 80, 0));
    ck_assert_int_eq(count("scan.vertical"), 1);
    const struct event *e = last("scan.vertical");
    ck_assert_int_eq(e->net.transport, EV_TRANSPORT_UDP);
    ck_assert_uint_eq(ev_u(e, "ports"), 4);
    /* five unanswered hosts on one port: horizontal */
    for (int h = 1; h <= 5; h++) {
        snprintf(dst, sizeof(dst), "10.3.0.%d", h);
        udp_probe(T0 + 30 * SEC + (uint64_t)h, "10.0.0.8", dst, 161, 0);
    }
    corr_finish(C);
    ck_assert_int_eq(count("scan.horizontal"), 1);
    ck_assert_uint_eq(ev_u(last("scan.horizontal"), "port"), 161);
}
END_TEST

static struct corr_rec goose_msg(uint64_t ts, uint8_t mac_last, uint16_t appid, const char *ref,
                                 uint32_t ttl_ms)
{
    struct corr_rec r;
    memset(&r, 0, sizeof(r));
    r.kind = CORR_GOOSE;
    r.net.ts_us = ts;
    r.net.transport = EV_TRANSPORT_L2;
    r.net.has_mac = 1;
    uint8_t src[6] = {0x00, 0xa0, 0xf4, 0x08, 0x2f, mac_last};
    uint8_t dst[6] = {0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01};
    memcpy(r.net.src_mac, src, 6);
    memcpy(r.net.dst_mac, dst, 6);
    strcpy(r.proto, "goose");
    r.appid = appid;
    r.ttl_ms = ttl_ms;
    r.ident_len = (uint16_t)strlen(ref);
    memcpy(r.ident, ref, r.ident_len);
    return r;
}

START_TEST(goose_publishers_and_ttl)
{
    const char *ref = "IED1LD0/LLN0$GO$gcb01";
    feed(goose_msg(T0, 0x77, 1, ref, 1000));
    ck_assert_int_eq(count("goose_publisher.new"), 1);
    const struct event *e = last("goose_publisher.new");
    ck_assert_str_eq(text(e, "gocb_ref"), ref);
    ck_assert_str_eq(text(e, "mac"), "00:a0:f4:08:2f:77");
    ev_absent(e, "known_mac");
    ck_assert_uint_eq(ev_u(e, "spoof"), 0);
    /* on time (within 2 x 1 s, the deadline itself included): nothing */
    feed(goose_msg(T0 + 2 * SEC, 0x77, 1, ref, 1000));
    feed(goose_msg(T0 + 4 * SEC, 0x77, 1, ref, 40000));
    ck_assert_int_eq(count("goose_publisher.ttl_expired") + count("goose_publisher.new"), 1);
    /* TTL now 40 s: silence until 85 s is one expiry at 4 + 80 s, reported once */
    feed(flow(T0 + 84 * SEC, "10.0.0.1", "10.0.0.2", 80, 0));
    ck_assert_int_eq(count("goose_publisher.ttl_expired"), 0);
    feed(flow(T0 + 85 * SEC, "10.0.0.1", "10.0.0.2", 80, 0));
    feed(flow(T0 + 95 * SEC, "10.0.0.1", "10.0.0.2", 80, 0));
    ck_assert_int_eq(count("goose_publisher.ttl_expired"), 1);
    e = last("goose_publisher.ttl_expired");
    ck_assert_uint_eq(e->net.ts_us, T0 + 84 * SEC);
    ck_assert_uint_eq(ev_u(e, "time_allowed_to_live"), 40000);
    ck_assert_uint_eq(ev_u(e, "last_message_us"), T0 + 4 * SEC);
    ck_assert_str_eq(text(e, "gocb_ref"), ref);
    /* the publisher comes back, then its own late message is the clock */
    feed(goose_msg(T0 + 100 * SEC, 0x77, 1, ref, 1000));
    feed(goose_msg(T0 + 103 * SEC, 0x77, 1, ref, 1000));
    ck_assert_int_eq(count("goose_publisher.ttl_expired"), 2);
    ck_assert_uint_eq(last("goose_publisher.ttl_expired")->net.ts_us, T0 + 102 * SEC);
    ck_assert_int_eq(count("goose_publisher.new"), 1);
    /* the same gocbRef from another MAC: a new publisher with the MAC it had */
    feed(goose_msg(T0 + 103 * SEC + 1, 0x66, 1, ref, 1000));
    ck_assert_int_eq(count("goose_publisher.new"), 2);
    ck_assert_str_eq(text(last("goose_publisher.new"), "known_mac"), "00:a0:f4:08:2f:77");
    ck_assert_uint_eq(ev_u(last("goose_publisher.new"), "spoof"), 1);
    /* a new APPID of the first MAC is a new publisher too, without known_mac */
    feed(goose_msg(T0 + 103 * SEC + 2, 0x77, 2, ref, 1000));
    ck_assert_int_eq(count("goose_publisher.new"), 3);
    ev_absent(last("goose_publisher.new"), "known_mac");
}
END_TEST

START_TEST(learning_period_and_first_sights)
{
    teardown();
    struct corr_config c = cfg_default();
    c.learning_s = 60;
    setup_with(&c);
    RS = ruleset_load_texts("t", "", 0, NULL, "zone PLANT 10.0.0.0/16 sl 2\n", NULL, 0);
    ck_assert_ptr_nonnull(RS);
    corr_set_ruleset(C, RS);
    /* inside the learning period: learned silently (a second MAC still counts) */
    feed(goose_msg(T0, 0x77, 1, "A/LLN0$GO$g", 1000));
    feed(goose_msg(T0 + 1, 0x66, 1, "A/LLN0$GO$g", 1000));
    ck_assert_int_eq(count("goose_publisher.new"), 1);
    struct corr_rec a = flow(T0 + 2, "10.0.0.9", "10.0.0.3", 102, 0);
    a.kind = CORR_ASSOC;
    strcpy(a.proto, "mms");
    feed(a);
    feed(flow(T0 + 3, "10.0.0.9", "10.0.0.3", 102, 0));
    ck_assert_int_eq(count("mms.new_client") + count("flow.new_intra_zone"), 0);
    /* after it: only what was not seen */
    a.net.ts_us = T0 + 61 * SEC;
    feed(a);
    feed(flow(T0 + 61 * SEC, "10.0.0.9", "10.0.0.3", 102, 0));
    ck_assert_int_eq(count("mms.new_client") + count("flow.new_intra_zone"), 0);
    a.net.src = v4("10.0.0.10");
    feed(a);
    ck_assert_int_eq(count("mms.new_client"), 1);
    ck_assert_str_eq(text(last("mms.new_client"), "client"), "10.0.0.10");
    ck_assert_str_eq(text(last("mms.new_client"), "server"), "10.0.0.3");
    feed(a);
    ck_assert_int_eq(count("mms.new_client"), 1);
    feed(flow(T0 + 62 * SEC, "10.0.0.9", "10.0.0.3", 502, 0));
    feed(flow(T0 + 62 * SEC, "10.0.0.9", "10.0.0.3", 502, 0));
    feed(flow(T0 + 62 * SEC, "10.0.0.9", "192.168.0.3", 502, 0)); /* leaves the zone */
    ck_assert_int_eq(count("flow.new_intra_zone"), 1);
    const struct event *e = last("flow.new_intra_zone");
    ck_assert_str_eq(text(e, "zone"), "PLANT");
    ck_assert_uint_eq(ev_u(e, "port"), 502);
    feed(goose_msg(T0 + 62 * SEC, 0x55, 1, "B/LLN0$GO$g", 1000));
    ck_assert_int_eq(count("goose_publisher.new"), 2);
}
END_TEST

START_TEST(goose_publisher_cap)
{
    teardown();
    struct corr_config c = cfg_default();
    c.max_entries = 16;
    setup_with(&c);
    char ref[32];
    for (int i = 0; i < 40; i++) {
        snprintf(ref, sizeof(ref), "LD%d/LLN0$GO$g", i);
        feed(goose_msg(T0 + (uint64_t)i, (uint8_t)i, 1, ref, 1000));
    }
    struct corr_stats st;
    corr_get_stats(C, &st);
    ck_assert_uint_eq(st.goose_publishers, 16);
    ck_assert_uint_eq(st.goose_evictions, 24);
    ck_assert_uint_eq(st.seen_entries, 16);
    /* the 16 kept are the last ones: each expires once */
    feed(flow(T0 + 10 * SEC, "10.0.0.1", "10.0.0.2", 80, 0));
    ck_assert_int_eq(count("goose_publisher.ttl_expired"), 16);
}
END_TEST

START_TEST(operation_classes)
{
    ck_assert_int_eq(corr_opclass("modbus", "read_holding_registers"), OPC_READ);
    ck_assert_int_eq(corr_opclass("modbus", "write_single_register"), OPC_WRITE);
    ck_assert_int_eq(corr_opclass("modbus", "read_write_multiple_registers"), OPC_WRITE);
    ck_assert_int_eq(corr_opclass("modbus", "diag_restart_comm"), OPC_DIAG);
    ck_assert_int_eq(corr_opclass("s7comm", "plc_stop"), OPC_PROGRAM);
    ck_assert_int_eq(corr_opclass("s7comm", "request_download"), OPC_PROGRAM);
    ck_assert_int_eq(corr_opclass("s7comm", "read_var"), OPC_READ);
    ck_assert_int_eq(corr_opclass("s7comm", "write_var"), OPC_WRITE);
    ck_assert_int_eq(corr_opclass("iec104", "startdt_act"), OPC_DIAG);
    ck_assert_int_eq(corr_opclass("dnp3", "direct_operate"), OPC_WRITE);
    ck_assert_int_eq(corr_opclass("dnp3", "cold_restart"), OPC_PROGRAM);
    ck_assert_int_eq(corr_opclass("enip", "list_identity"), OPC_READ);
    ck_assert_int_eq(corr_opclass("cip", "set_attribute_single"), OPC_WRITE);
    ck_assert_int_eq(corr_opclass("cip", "get_attributes_all"), OPC_READ);
}
END_TEST

START_TEST(merge_orders_by_time_and_holds_back)
{
    struct corr_merge *m = corr_merge_new(1000);
    /* two "workers" send out of order; the limit holds the newest back */
    struct corr_rec a = flow(T0 + 30, "10.0.0.1", "10.0.0.2", 3, 1);
    struct corr_rec b = flow(T0 + 10, "10.0.0.1", "10.0.0.2", 1, 1);
    struct corr_rec c = flow(T0 + 20, "10.0.0.1", "10.0.0.2", 2, 1);
    corr_merge_push(m, &a, corr_rec_len(&a));
    corr_merge_push(m, &b, corr_rec_len(&b));
    corr_merge_push(m, &c, corr_rec_len(&c));
    corr_merge_run(m, C, T0 + 25);
    ck_assert_uint_eq(corr_merge_size(m), 1);
    /* asset.new of both ends came with the first (oldest) record */
    ck_assert_int_eq(rec.n, 2);
    ck_assert_uint_eq(rec.ev[0].net.ts_us, T0 + 10);
    corr_merge_run(m, C, UINT64_MAX);
    ck_assert_uint_eq(corr_merge_size(m), 0);
    struct corr_stats st;
    corr_get_stats(C, &st);
    ck_assert_uint_eq(st.records, 3);
    ck_assert_uint_eq(st.forced, 0);
    corr_merge_free(m);
    /* beyond the capacity the oldest go out anyway, counted */
    m = corr_merge_new(2);
    for (int i = 0; i < 5; i++) {
        struct corr_rec r = flow(T0 + 100 + (uint64_t)i, "10.0.0.3", "10.0.0.4", 9, 0);
        corr_merge_push(m, &r, corr_rec_len(&r));
    }
    corr_merge_run(m, C, 0);
    ck_assert_uint_eq(corr_merge_size(m), 2);
    corr_get_stats(C, &st);
    ck_assert_uint_eq(st.forced, 3);
    corr_merge_free(m);
}
END_TEST

static int writes;
static char last_roles[256], last_vendor[128];
static int fail_writes;

static int asset_cb(void *ctx, const struct corr_asset_view *a)
{
    (void)ctx;
    if (fail_writes) return -1;
    writes++;
    if (!strcmp(a->id, "10.0.0.2")) {
        snprintf(last_roles, sizeof(last_roles), "%s", a->roles);
        snprintf(last_vendor, sizeof(last_vendor), "%s", a->vendor);
    }
    return 0;
}

START_TEST(asset_writes_pending_until_accepted)
{
    feed(op(T0, "10.0.0.1", "10.0.0.2", "modbus", "read_coils"));
    feed(ident(T0 + 1, "10.0.0.2", "Acme", "PLC-1"));
    fail_writes = 1;
    corr_flush_assets(C, asset_cb, NULL, 1);
    ck_assert_int_eq(writes, 0);
    fail_writes = 0;
    corr_flush_assets(C, asset_cb, NULL, 1);
    ck_assert_int_eq(writes, 2);
    ck_assert_str_eq(last_roles, "modbus_server,enip_server");
    ck_assert_str_eq(last_vendor, "Acme");
    /* nothing changed: nothing written */
    corr_flush_assets(C, asset_cb, NULL, 1);
    ck_assert_int_eq(writes, 2);
    /* last_seen moves on past asset_refresh: written again */
    feed(flow(T0 + 61 * SEC, "10.0.0.1", "10.0.0.2", 502, 0));
    corr_flush_assets(C, asset_cb, NULL, 1);
    ck_assert_int_eq(writes, 4);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("correlate");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, vertical_scan_threshold_and_window);
    tcase_add_test(t, repeats_and_non_syn_do_not_count);
    tcase_add_test(t, horizontal_scan_unanswered);
    tcase_add_test(t, answered_attempts_are_no_scan);
    tcase_add_test(t, table_cap_evicts_and_counts);
    tcase_add_test(t, tables_grow_and_keep_entries);
    tcase_add_test(t, conduit_unlisted_once_per_window);
    tcase_add_test(t, conduit_operation_decisions);
    tcase_add_test(t, identity_changes);
    tcase_add_test(t, operation_classes);
    tcase_add_test(t, udp_unanswered_probes_are_scans);
    tcase_add_test(t, goose_publishers_and_ttl);
    tcase_add_test(t, learning_period_and_first_sights);
    tcase_add_test(t, goose_publisher_cap);
    tcase_add_test(t, merge_orders_by_time_and_holds_back);
    tcase_add_test(t, asset_writes_pending_until_accepted);
    tcase_add_test(t, community_id_of_the_flow);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
