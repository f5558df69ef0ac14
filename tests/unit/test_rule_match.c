/* test_rule_match.c - matching: each keyword on hand-built events (matches and
 * non-matches), header addresses/ports/direction, flow, content, thresholds on packet
 * time, pass rules, dispatch, severity and FR/SR/TC inheritance, and the alert JSON,
 * parsed back with /usr/bin/python3.
 *
 * Events are built as the dissectors build them (field names from dissectors/modbus.c
 * and the dnp3/iec104/enip/s7comm branches); expected outcomes follow Suricata's
 * documented semantics (modbus: requests only, open ranges for N<>M). */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rule_int.h"
#include "rules.h"
#include "testutil.h"

#define MAX_ALERTS 32

static struct recorder rec;
static char err[8192];
static char alerts[MAX_ALERTS][131072];
static int nalerts;

static void emit(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    if (nalerts < MAX_ALERTS && len < sizeof(alerts[0])) {
        memcpy(alerts[nalerts], json, len);
        alerts[nalerts][len] = 0;
        nalerts++;
    }
}

static const char *cls_text =
    "config classification: ot-write,OT write,2,FR1|FR2,SR 1.2|SR 2.1,TC.HCK.CMD\n"
    "config classification: misc-activity,Misc activity,3\n"
    "config classification: attempted-recon,Attempted Information Leak,2,FR7,,TC.HCK.RECON\n";

static struct ruleset *rs;
static struct rule_ctx *ctx;

static void load(const char *text)
{
    rs = ruleset_load_text("ot.rules", text, strlen(text), cls_text, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ctx = rule_ctx_new(rs);
    ck_assert_ptr_nonnull(ctx);
    nalerts = 0;
}

static void unload(void)
{
    rule_ctx_free(ctx);
    ruleset_free(rs);
    ctx = NULL;
    rs = NULL;
}

static void set_v4(struct ev_addr *a, const char *s)
{
    memset(a->b, 0, 16);
    a->b[10] = a->b[11] = 0xff;
    ck_assert_int_eq(inet_pton(AF_INET, s, a->b + 12), 1);
}

/* client 10.0.0.1:40000 -> server 10.0.0.2:502, request direction */
static void net_default(void)
{
    recorder_init(&rec);
    rec.sink.net.ts_us = 1700000000000000ull;
    rec.sink.net.ip_version = 4;
    rec.sink.net.transport = EV_TRANSPORT_TCP;
    set_v4(&rec.sink.net.src, "10.0.0.1");
    set_v4(&rec.sink.net.dst, "10.0.0.2");
    rec.sink.net.src_port = 40000;
    rec.sink.net.dst_port = 502;
    rec.sink.net.to_server = 1;
    rec.sink.net.flow_id = 42;
    strcpy(rec.sink.net.community_id, "1:abcdefghijklmnopqrstuvwxyz0=");
}

static void swap_dir(void)
{
    struct ev_net *n = &rec.sink.net;
    struct ev_addr a = n->src;
    n->src = n->dst;
    n->dst = a;
    uint16_t p = n->src_port;
    n->src_port = n->dst_port;
    n->dst_port = p;
    n->to_server = !n->to_server;
}

static int run(struct event *e)
{
    int before = nalerts;
    rules_match(ctx, e, "sensor-1", emit, NULL);
    event_discard(&rec.sink, e);
    return nalerts - before;
}

/* A Modbus request as dissectors/modbus.c writes it. */
static struct event *mb_req(unsigned fc, const char *op, unsigned unit)
{
    struct event *e = event_begin(&rec.sink, "modbus", EV_DIR_REQUEST);
    event_code(e, fc, op);
    ev_uint(e, "tid", 7);
    ev_uint(e, "unit", unit);
    ev_uint(e, "func", fc);
    return e;
}

static int mb_write_single(unsigned fc, unsigned addr, unsigned value)
{
    struct event *e = mb_req(fc, fc == 5 ? "write_single_coil" : "write_single_register", 1);
    ev_uint(e, "address", addr);
    ev_uint(e, "value", value);
    return run(e);
}

static int mb_read(unsigned fc, unsigned addr, unsigned qty, unsigned unit)
{
    struct event *e = mb_req(fc, "read_holding_registers", unit);
    ev_uint(e, "address", addr);
    ev_uint(e, "quantity", qty);
    return run(e);
}

static int mb_write_multi(unsigned addr, const unsigned *v, unsigned n)
{
    struct event *e = mb_req(16, "write_multiple_registers", 1);
    ev_uint(e, "address", addr);
    ev_uint(e, "quantity", n);
    ev_uint(e, "byte_count", 2 * n);
    ev_arr_begin(e, "values");
    for (unsigned i = 0; i < n; i++)
        ev_uint(e, NULL, v[i]);
    ev_end(e);
    return run(e);
}

START_TEST(modbus_function)
{
    net_default();
    load("alert modbus any any -> any any (modbus: function 6; sid:1;)\n"
         "alert modbus any any -> any any (modbus: function 8, subfunction 4; sid:2;)\n"
         "alert modbus any any -> any any (modbus: function user; sid:3;)\n"
         "alert modbus any any -> any any (modbus: function !assigned; sid:4;)\n"
         "alert modbus any any -> any any (modbus: function !3; sid:5;)\n"
         "alert modbus any any -> any any (modbus: unit 10<>20, function 3; sid:6;)\n");
    ck_assert_int_eq(mb_write_single(6, 1, 2), 2); /* sid 1 and 5 */
    ck_assert_int_eq(mb_read(3, 0, 1, 1), 0);      /* fc 3, unit 1 */
    ck_assert_int_eq(mb_read(3, 0, 1, 15), 1);     /* sid 6 */
    ck_assert_int_eq(mb_read(3, 0, 1, 20), 0);     /* 10<>20 is open */
    struct event *e = mb_req(8, "diag_force_listen_only", 1);
    ev_uint(e, "sub_function", 4);
    ck_assert_int_eq(run(e), 2); /* sid 2, 5 */
    e = mb_req(8, "diag_restart_comm", 1);
    ev_uint(e, "sub_function", 1);
    ck_assert_int_eq(run(e), 1); /* sid 5 only */
    e = mb_req(65, "user_defined_function", 1);
    ck_assert_int_eq(run(e), 3); /* user, !assigned, !3 */
    /* a response never matches modbus: (Suricata inspects requests) */
    swap_dir();
    e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
    event_code(e, 6, "write_single_register");
    ev_uint(e, "func", 6);
    ck_assert_int_eq(run(e), 0);
    unload();
}
END_TEST

/* Suricata reads N<>M as min..max and treats min 0 as "<M", max 65535 as ">N"
 * (rust/src/modbus/detect.rs); suricata-verify's modbus test (sid 5, address 0<>2)
 * expects the read of coil 0 to match. */
START_TEST(modbus_range_bounds)
{
    net_default();
    load("alert modbus any any -> any any (modbus: access read coils, address 0<>2; sid:1;)\n"
         "alert modbus any any -> any any (modbus: unit 0<>2; sid:2;)\n"
         "alert modbus any any -> any any (modbus: access read, address 100<>65535; sid:3;)\n");
    ck_assert_int_eq(mb_read(1, 0, 1, 5), 1);     /* coil 0: 0<>2 is <2 */
    ck_assert_int_eq(mb_read(1, 2, 2, 5), 0);     /* coils 2..3 */
    ck_assert_int_eq(mb_read(1, 1, 1, 0), 2);     /* coil 1, unit 0 (<2) */
    ck_assert_int_eq(mb_read(3, 65535, 1, 5), 1); /* 100<>65535 is >100 */
    ck_assert_int_eq(mb_read(3, 100, 1, 5), 0);
    unload();
}
END_TEST

START_TEST(modbus_access)
{
    net_default();
    load("alert modbus any any -> any any (modbus: access write; sid:1;)\n"
         "alert modbus any any -> any any (modbus: access read holding; sid:2;)\n"
         "alert modbus any any -> any any (modbus: access write coils; sid:3;)\n"
         "alert modbus any any -> any any (modbus: access read holding, address <100; sid:4;)\n"
         "alert modbus any any -> any any (modbus: access write holding, address 500, value "
         ">200; sid:5;)\n"
         "alert modbus any any -> any any (modbus: access read holding, address 10<>20; "
         "sid:6;)\n");
    ck_assert_int_eq(mb_write_single(5, 3, 0xFF00), 2); /* write, write coils */
    ck_assert_int_eq(mb_write_single(6, 500, 300), 2);  /* write, sid 5 */
    ck_assert_int_eq(mb_write_single(6, 500, 200), 1);  /* >200 is strict */
    ck_assert_int_eq(mb_write_single(6, 501, 300), 1);  /* other address */
    ck_assert_int_eq(mb_read(3, 50, 10, 1), 2);         /* holding, <100 */
    ck_assert_int_eq(mb_read(3, 99, 10, 1), 2);         /* 99..108 starts below 100 */
    ck_assert_int_eq(mb_read(3, 100, 10, 1), 1);        /* only sid 2 */
    ck_assert_int_eq(mb_read(3, 15, 1, 1), 3);          /* 10<>20 */
    ck_assert_int_eq(mb_read(3, 0, 5, 1), 2);           /* 0..4: not 10<>20 */
    ck_assert_int_eq(mb_read(3, 5, 10, 1), 3);          /* 5..14 overlaps 10<>20 */
    ck_assert_int_eq(mb_read(4, 5, 1, 1), 0);           /* input registers */
    unsigned v[3] = {1, 250, 3};
    ck_assert_int_eq(mb_write_multi(499, v, 3), 2); /* value at 500 is 250 */
    v[1] = 5;
    ck_assert_int_eq(mb_write_multi(499, v, 3), 1);
    unload();
}
END_TEST

START_TEST(dnp3_keywords)
{
    net_default();
    load("alert dnp3 any any -> any any (dnp3_func:cold_restart; sid:1;)\n"
         "alert dnp3 any any -> any any (dnp3_func:direct_operate; sid:2;)\n"
         "alert dnp3 any any -> any any (dnp3_ind:device_restart,need_time; sid:3;)\n"
         "alert dnp3 any any -> any any (dnp3_obj:12,1; sid:4;)\n"
         "alert dnp3 any any -> any any (dnp3_func:response; sid:5;)\n");
    struct event *e = event_begin(&rec.sink, "dnp3", EV_DIR_REQUEST);
    event_code(e, 13, "cold_restart");
    ev_obj_begin(e, "al");
    ev_bool(e, "fir", 1);
    ev_end(e);
    ev_uint(e, "func", 13);
    ck_assert_int_eq(run(e), 1);
    /* direct operate with a CROB g12v1 and a g41v2 */
    e = event_begin(&rec.sink, "dnp3", EV_DIR_REQUEST);
    event_code(e, 5, "direct_operate");
    ev_uint(e, "func", 5);
    ev_arr_begin(e, "objects");
    ev_obj_begin(e, NULL);
    ev_uint(e, "group", 41);
    ev_uint(e, "variation", 1);
    ev_end(e);
    ev_obj_begin(e, NULL);
    ev_uint(e, "group", 12);
    ev_uint(e, "variation", 1);
    ev_end(e);
    ev_end(e);
    ck_assert_int_eq(run(e), 2); /* sid 2, 4 */
    /* group and variation must be of the same object */
    e = event_begin(&rec.sink, "dnp3", EV_DIR_REQUEST);
    event_code(e, 5, "direct_operate");
    ev_arr_begin(e, "objects");
    ev_obj_begin(e, NULL);
    ev_uint(e, "group", 12);
    ev_uint(e, "variation", 2);
    ev_end(e);
    ev_obj_begin(e, NULL);
    ev_uint(e, "group", 41);
    ev_uint(e, "variation", 1);
    ev_end(e);
    ev_end(e);
    ck_assert_int_eq(run(e), 1); /* sid 2 only */
    /* a response with IIN1.7 device restart */
    swap_dir();
    e = event_begin(&rec.sink, "dnp3", EV_DIR_RESPONSE);
    event_code(e, 129, "response");
    ev_uint(e, "iin", 0x8000);
    ck_assert_int_eq(run(e), 2); /* sid 3, 5 */
    e = event_begin(&rec.sink, "dnp3", EV_DIR_RESPONSE);
    event_code(e, 129, "response");
    ev_uint(e, "iin", 0x0100); /* all stations only */
    ck_assert_int_eq(run(e), 1);
    /* IIN belongs to responses (129-131): dnp3_ind never looks into other functions */
    e = event_begin(&rec.sink, "dnp3", EV_DIR_RESPONSE);
    event_code(e, 130, "unsolicited_response");
    ev_uint(e, "iin", 0x8000);
    ck_assert_int_eq(run(e), 1); /* sid 3 */
    e = event_begin(&rec.sink, "dnp3", EV_DIR_RESPONSE);
    event_code(e, 1, "read");
    ev_uint(e, "iin", 0x8000);
    ck_assert_int_eq(run(e), 0);
    unload();
}
END_TEST

START_TEST(enip_cip_keywords)
{
    net_default();
    rec.sink.net.dst_port = 44818;
    load("alert enip any any -> any any (enip_command:list_identity; sid:1;)\n"
         "alert enip any any -> any any (enip_command:>0x64; sid:2;)\n"
         "alert enip any any -> any any (cip_service:16,246,6; sid:3;)\n"
         "alert enip any any -> any any (cip_service:7; sid:4;)\n"
         "alert cip any any -> any any (cip: service 0x4d, tag \"Motor*\"; sid:5;)\n");
    struct event *e = event_begin(&rec.sink, "enip", EV_DIR_REQUEST);
    event_code(e, 0x63, "list_identity");
    ck_assert_int_eq(run(e), 1);
    e = event_begin(&rec.sink, "enip", EV_DIR_REQUEST);
    event_code(e, 0x65, "register_session");
    ck_assert_int_eq(run(e), 1); /* sid 2 */
    e = event_begin(&rec.sink, "cip", EV_DIR_REQUEST);
    event_code(e, 0x10, "set_attribute_single");
    ev_obj_begin(e, "path");
    ev_uint(e, "class", 0xF6);
    ev_uint(e, "instance", 1);
    ev_uint(e, "attribute", 6);
    ev_end(e);
    ck_assert_int_eq(run(e), 1); /* sid 3 */
    e = event_begin(&rec.sink, "cip", EV_DIR_REQUEST);
    event_code(e, 0x10, "set_attribute_single");
    ev_obj_begin(e, "path");
    ev_uint(e, "class", 0xF6);
    ev_uint(e, "attribute", 7);
    ev_end(e);
    ck_assert_int_eq(run(e), 0);
    e = event_begin(&rec.sink, "cip", EV_DIR_REQUEST);
    event_code(e, 7, "stop");
    ck_assert_int_eq(run(e), 1);
    e = event_begin(&rec.sink, "cip", EV_DIR_REQUEST);
    event_code(e, 0x4d, "logix_write_tag");
    ev_obj_begin(e, "path");
    ev_cstr(e, "tag", "Motor_Speed");
    ev_end(e);
    ck_assert_int_eq(run(e), 1);
    e = event_begin(&rec.sink, "cip", EV_DIR_REQUEST);
    event_code(e, 0x4d, "logix_write_tag");
    ev_obj_begin(e, "path");
    ev_cstr(e, "tag", "Moto");
    ev_end(e);
    ck_assert_int_eq(run(e), 0);
    unload();
}
END_TEST

START_TEST(our_keywords)
{
    net_default();
    load("alert iec104 any any -> any any (iec104: type 45, cot 6; sid:1;)\n"
         "alert iec104 any any -> any any (iec104: ioa 1000-2000; sid:2;)\n"
         "alert iec104 any any -> any any (iec104: apci U, u stopdt_act; sid:3;)\n"
         "alert s7comm any any -> any any (s7comm: pi_service \"_N_*\"; sid:4;)\n"
         "alert s7comm any any -> any any (s7comm: rosctr 7, group 5, subfunction 1; sid:5;)\n"
         "alert any any any -> any any (op:write_single_coil,single_command; sid:6;)\n"
         "alert iec104 any any -> any any (code:>=45; code:<=64; sid:7;)\n"
         "alert iec104 any any -> any any (field: objects.ioa 1500; sid:8;)\n"
         "alert iec104 any any -> any any (iec104: select !true; code:45; sid:9;)\n");
    struct event *e = event_begin(&rec.sink, "iec104", EV_DIR_REQUEST);
    event_code(e, 45, "single_command");
    ev_cstr(e, "apci", "I");
    ev_uint(e, "cot", 6);
    ev_uint(e, "ca", 1);
    ev_arr_begin(e, "objects");
    ev_obj_begin(e, NULL);
    ev_uint(e, "ioa", 1500);
    ev_bool(e, "select", 1);
    ev_end(e);
    ev_end(e);
    ck_assert_int_eq(run(e), 5); /* 1, 2, 6, 7, 8 */
    e = event_begin(&rec.sink, "iec104", EV_DIR_REQUEST);
    event_code(e, 45, "single_command");
    ev_uint(e, "cot", 8);
    ev_uint(e, "ioa", 2000); /* 1000-2000 is open */
    ev_bool(e, "select", 0);
    ck_assert_int_eq(run(e), 3); /* 6, 7, 9 */
    e = event_begin(&rec.sink, "iec104", EV_DIR_REQUEST);
    event_op(e, "stopdt_act");
    ev_cstr(e, "apci", "U");
    ev_cstr(e, "u", "stopdt_act");
    ck_assert_int_eq(run(e), 1); /* 3; code: needs a code */
    e = event_begin(&rec.sink, "s7comm", EV_DIR_REQUEST);
    event_code(e, 0x28, "pi_service");
    ev_uint(e, "rosctr", 1);
    ev_str(e, "pi_service", "_N_LOGIN_", 9);
    ck_assert_int_eq(run(e), 1);
    e = event_begin(&rec.sink, "s7comm", EV_DIR_REQUEST);
    event_code(e, 0x28, "pi_service");
    ev_str(e, "pi_service", "_INSE", 5);
    ck_assert_int_eq(run(e), 0);
    e = event_begin(&rec.sink, "s7comm", EV_DIR_REQUEST);
    event_op(e, "ud_password");
    ev_uint(e, "rosctr", 7);
    ev_uint(e, "group", 5);
    ev_uint(e, "subfunc", 1);
    ck_assert_int_eq(run(e), 1);
    ck_assert_int_eq(mb_write_single(5, 1, 0), 1); /* op: on any protocol */
    unload();
}
END_TEST

/* field: through arrays: a keyless member goes by its array's name (or its nearest
 * named ancestor's), and every named level of the path must match. */
START_TEST(field_through_arrays)
{
    net_default();
    load("alert modbus any any -> any any (field: exception >0; sid:1;)\n"
         "alert modbus any any -> any any (field: registers 7; sid:2;)\n"
         "alert modbus any any -> any any (field: x.values 5; sid:3;)\n");
    struct event *e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
    event_code(e, 3, "read_holding_registers");
    ev_arr_begin(e, "registers");
    for (int v = 1; v <= 3; v++)
        ev_uint(e, NULL, (uint64_t)v);
    ev_end(e);
    ev_uint(e, "exception", 2);  /* after the array */
    ck_assert_int_eq(run(e), 1); /* 1 */
    e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
    event_code(e, 3, "read_holding_registers");
    ev_arr_begin(e, "registers");
    ev_uint(e, NULL, 5);
    ev_uint(e, NULL, 7);
    ev_end(e);
    ck_assert_int_eq(run(e), 1); /* 2 */
    /* a keyless array inside "registers": its members go by "registers" */
    e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
    event_code(e, 3, "read_holding_registers");
    ev_arr_begin(e, "registers");
    ev_arr_begin(e, NULL);
    ev_uint(e, NULL, 7);
    ev_end(e);
    ev_end(e);
    ck_assert_int_eq(run(e), 1); /* 2 */
    /* the parent must match too: y.values is not x.values */
    e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
    event_code(e, 3, "read_holding_registers");
    ev_obj_begin(e, "y");
    ev_arr_begin(e, "values");
    ev_uint(e, NULL, 5);
    ev_end(e);
    ev_end(e);
    ev_obj_begin(e, "x");
    ev_arr_begin(e, "values");
    ev_uint(e, NULL, 4);
    ev_end(e);
    ev_end(e);
    ck_assert_int_eq(run(e), 0);
    e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
    event_code(e, 3, "read_holding_registers");
    ev_obj_begin(e, "x");
    ev_arr_begin(e, "values");
    ev_uint(e, NULL, 4);
    ev_uint(e, NULL, 5);
    ev_end(e);
    ev_end(e);
    ck_assert_int_eq(run(e), 1); /* 3 */
    unload();
}
END_TEST

static int alerted(const char *sid);

/* The rules pass over an event whose field-name bits (ev_key_bit) lack a name a
 * condition needs. The bits must never hide a match: a name at any depth counts, a
 * negated condition needs no name, and a name sharing the bit is still compared. */
START_TEST(field_name_prefilter)
{
    char twin[3] = {0};
    for (int a = 'a'; a <= 'z' && !twin[0]; a++)
        for (int b = 'a'; b <= 'z'; b++) {
            char k[3] = {(char)a, (char)b, 0};
            if (strcmp(k, "ex") && ev_key_bit(k) == ev_key_bit("exception")) {
                memcpy(twin, k, 3);
                break;
            }
        }
    ck_assert_msg(twin[0], "no two-letter name shares the bit of \"exception\"");
    net_default();
    load("alert modbus any any -> any any (field: exception >0; sid:1;)\n"
         "alert modbus any any -> any any (field: mode !\"run\"; sid:2;)\n");
    struct event *e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
    event_code(e, 3, "read_holding_registers");
    ev_uint(e, twin, 4);         /* same bit, other name: compared, and no match */
    ck_assert_int_eq(run(e), 1); /* 2 only: no "mode" at all */
    ck_assert_int_eq(alerted("2"), 1);
    ck_assert_int_eq(alerted("1"), 0);
    e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
    event_code(e, 3, "read_holding_registers");
    ev_obj_begin(e, "detail");
    ev_cstr(e, "mode", "run");
    ev_obj_begin(e, "inner");
    ev_uint(e, "exception", 2); /* two levels down */
    ev_end(e);
    ev_end(e);
    ck_assert_int_eq(run(e), 1); /* 1 only: mode is "run" */
    ck_assert_int_eq(alerted("1"), 1);
    unload();
}
END_TEST

START_TEST(events_and_anomalies)
{
    net_default();
    load("alert modbus any any -> any any (app-layer-event:modbus.invalid_length; sid:1;)\n"
         "alert ip any any -> any any (event:flow.new; sid:2;)\n"
         "alert any any any -> any any (event:modbus.invalid_length; sid:3;)\n"
         "alert modbus any any -> any any (app-layer-event:modbus.invalid_function_code; "
         "sid:4;)\n"
         "alert dnp3 any any -> any any (app-layer-event:dnp3.too_long_reassembly; sid:5;)\n"
         "alert mqtt any any -> any any (app-layer-event:mqtt.invalid_qos_level; sid:6;)\n");
    struct event *e = mb_req(3, "read_holding_registers", 1);
    event_anomaly(e, "modbus.invalid_length");
    ck_assert_int_eq(run(e), 2);
    e = mb_req(99, "unknown_function", 1);
    event_anomaly(e, "modbus.unknown_function"); /* Suricata's name is an alias */
    ck_assert_int_eq(run(e), 1);
    e = event_begin(&rec.sink, "dnp3", EV_DIR_REQUEST); /* Suricata's DNP3/MQTT names */
    event_anomaly(e, "dnp3.fragment_too_long");
    ck_assert_int_eq(run(e), 1);
    e = event_begin(&rec.sink, "mqtt", EV_DIR_REQUEST);
    event_anomaly(e, "mqtt.invalid_qos");
    ck_assert_int_eq(run(e), 1);
    e = event_begin(&rec.sink, "mqtt", EV_DIR_REQUEST);
    event_anomaly(e, "mqtt.bad_flags");
    ck_assert_int_eq(run(e), 0);
    e = event_begin(&rec.sink, "flow", EV_DIR_NONE);
    event_op(e, "new");
    ck_assert_int_eq(run(e), 1);
    e = event_begin(&rec.sink, "flow", EV_DIR_NONE);
    event_op(e, "end");
    ck_assert_int_eq(run(e), 0);
    unload();
}
END_TEST

START_TEST(header_matching)
{
    net_default();
    load("var PLC [10.0.0.0/24,!10.0.0.9]\n"
         "alert modbus $PLC any -> 10.0.0.2 502 (code:6; sid:1;)\n"
         "alert modbus 10.0.0.2 any -> 10.0.0.1 any (code:6; sid:2;)\n"
         "alert modbus 10.0.0.2 any <> 10.0.0.1 any (code:6; sid:3;)\n"
         "alert modbus any [1:1023,!22] -> any any (code:6; sid:4;)\n"
         "alert udp any any -> any any (code:6; sid:5;)\n"
         "alert modbus ::1 any -> any any (code:6; sid:6;)\n"
         "alert modbus any 40000: -> any !502 (code:6; sid:7;)\n");
    ck_assert_int_eq(mb_write_single(6, 0, 0), 2); /* 1, 3 */
    set_v4(&rec.sink.net.src, "10.0.0.9");
    ck_assert_int_eq(mb_write_single(6, 0, 0), 0); /* negated out of $PLC */
    net_default();
    rec.sink.net.src_port = 80;
    ck_assert_int_eq(mb_write_single(6, 0, 0), 3); /* 1, 3, 4 */
    net_default();
    swap_dir();
    ck_assert_int_eq(mb_write_single(6, 0, 0), 3); /* 2, 3, and 4 (source port 502) */
    net_default();
    rec.sink.net.transport = EV_TRANSPORT_UDP;
    ck_assert_int_eq(mb_write_single(6, 0, 0), 3); /* 1, 3, 5 */
    net_default();
    rec.sink.net.ip_version = 6;
    memset(&rec.sink.net.src, 0, sizeof(rec.sink.net.src));
    rec.sink.net.src.b[15] = 1;
    ck_assert_int_eq(mb_write_single(6, 0, 0), 1); /* 6 */
    unload();
}
END_TEST

START_TEST(flow_keyword)
{
    net_default();
    load("alert modbus any any -> any any (flow:to_server,established; code:6; sid:1;)\n"
         "alert modbus any any -> any any (flow:to_client; code:6; sid:2;)\n"
         "alert ip any any -> any any (flow:not_established; event:flow.new; sid:3;)\n");
    ck_assert_int_eq(mb_write_single(6, 0, 0), 1);
    rec.sink.net.to_server = 0;
    ck_assert_int_eq(mb_write_single(6, 0, 0), 1);
    struct event *e = event_begin(&rec.sink, "flow", EV_DIR_NONE);
    event_op(e, "new");
    ck_assert_int_eq(run(e), 1);
    unload();
}
END_TEST

START_TEST(content_payload)
{
    net_default();
    load("alert tcp any any -> any any (content:\"PASS\"; nocase; sid:1;)\n"
         "alert tcp any any -> any any (content:\"|00 01|\"; offset:2; depth:2; sid:2;)\n"
         "alert tcp any any -> any any (content:\"USER\"; content:\"root\"; distance:1; "
         "within:5; sid:3;)\n"
         "alert tcp any any -> any any (content:\"USER\"; content:!\"admin\"; sid:4;)\n");
    const uint8_t p1[] = "xx\x00\x01USER root\r\npass x";
    struct event *e = mb_req(6, "write_single_register", 1);
    rules_match_payload(ctx, e, p1, sizeof(p1) - 1, "s", emit, NULL);
    ck_assert_int_eq(nalerts, 4);
    nalerts = 0;
    const uint8_t p2[] = "\x00\x01xxUSER  admin root";
    rules_match_payload(ctx, e, p2, sizeof(p2) - 1, "s", emit, NULL);
    ck_assert_int_eq(nalerts, 0);
    /* without a payload, content never matches */
    rules_match(ctx, e, "s", emit, NULL);
    ck_assert_int_eq(nalerts, 0);
    event_discard(&rec.sink, e);
    unload();
}
END_TEST

static int write_at(uint64_t ts, const char *src)
{
    rec.sink.net.ts_us = ts;
    set_v4(&rec.sink.net.src, src);
    return mb_write_single(6, 0, 0);
}

#define S  1000000ull
#define T0 1700000000000000ull

START_TEST(thresholds)
{
    net_default();
    load("alert modbus any any -> any any (code:6; threshold: type limit, track by_src, count "
         "2, seconds 60; sid:1;)\n");
    ck_assert_int_eq(write_at(T0, "10.0.0.1"), 1);
    ck_assert_int_eq(write_at(T0 + 1 * S, "10.0.0.1"), 1);
    ck_assert_int_eq(write_at(T0 + 2 * S, "10.0.0.1"), 0);  /* third in 60 s */
    ck_assert_int_eq(write_at(T0 + 3 * S, "10.0.0.7"), 1);  /* other source */
    ck_assert_int_eq(write_at(T0 + 61 * S, "10.0.0.1"), 1); /* new window */
    unload();

    load("alert modbus any any -> any any (code:6; threshold: type threshold, track by_src, "
         "count 3, seconds 60; sid:1;)\n");
    ck_assert_int_eq(write_at(T0, "10.0.0.1"), 0);
    ck_assert_int_eq(write_at(T0 + S, "10.0.0.1"), 0);
    ck_assert_int_eq(write_at(T0 + 2 * S, "10.0.0.1"), 1); /* every 3rd */
    ck_assert_int_eq(strstr(alerts[0], "\"count\":3") != NULL, 1);
    ck_assert_int_eq(write_at(T0 + 3 * S, "10.0.0.1"), 0);
    ck_assert_int_eq(write_at(T0 + 4 * S, "10.0.0.1"), 0);
    ck_assert_int_eq(write_at(T0 + 5 * S, "10.0.0.1"), 1);
    unload();

    load("alert modbus any any -> any any (code:6; threshold: type both, track by_dst, count "
         "2, seconds 10; sid:1;)\n");
    ck_assert_int_eq(write_at(T0, "10.0.0.1"), 0);
    ck_assert_int_eq(write_at(T0 + S, "10.0.0.5"), 1);     /* by_dst: same destination */
    ck_assert_int_eq(write_at(T0 + 2 * S, "10.0.0.1"), 0); /* once per window */
    ck_assert_int_eq(write_at(T0 + 11 * S, "10.0.0.1"), 0);
    ck_assert_int_eq(write_at(T0 + 12 * S, "10.0.0.1"), 1);
    unload();

    load("alert modbus any any -> any any (code:6; detection_filter: track by_src, count 2, "
         "seconds 10; sid:1;)\n");
    ck_assert_int_eq(write_at(T0, "10.0.0.1"), 0);
    ck_assert_int_eq(write_at(T0 + S, "10.0.0.1"), 0);
    ck_assert_int_eq(write_at(T0 + 2 * S, "10.0.0.1"), 1); /* after the 2nd */
    ck_assert_int_eq(write_at(T0 + 3 * S, "10.0.0.1"), 1);
    ck_assert_int_eq(write_at(T0 + 20 * S, "10.0.0.1"), 0); /* window expired */
    unload();
}
END_TEST

static int alerted(const char *sid)
{
    char key[64];
    snprintf(key, sizeof(key), "\"id\":\"%s\"", sid);
    for (int i = 0; i < nalerts; i++)
        if (strstr(alerts[i], key)) return 1;
    return 0;
}

START_TEST(suppression)
{
    net_default();
    const char *r = "alert modbus any any -> any any (code:6; sid:1;)\n"
                    "alert modbus any any -> any any (code:6; sid:2;)\n"
                    "alert modbus any any -> any any (code:6; sid:3;)\n"
                    "alert modbus any any -> any any (code:6; sid:4;)\n"
                    "alert modbus any any -> any any (code:6; sid:5; gid:7;)\n";
    const char *sup = "suppress gen_id 1, sig_id 1\n"
                      "suppress gen_id 1, sig_id 2, track by_src, ip 10.0.0.0/24\n"
                      "suppress gen_id 1, sig_id 3, track by_dst, ip [10.0.0.9,10.0.0.2]\n"
                      "threshold gen_id 1, sig_id 4, type limit, track by_src, count 1, "
                      "seconds 60\n"
                      "suppress gen_id 7, sig_id 0, track by_either, ip 10.5.5.5\n";
    struct ruleset_texts t = {"ot.rules", r, strlen(r), cls_text, NULL, sup};
    rs = ruleset_load_mem(&t, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ctx = rule_ctx_new(rs);
    nalerts = 0;
    /* 10.0.0.1 -> 10.0.0.2: 1 always, 2 by source, 3 by destination suppressed */
    ck_assert_int_eq(write_at(T0, "10.0.0.1"), 2);
    ck_assert(alerted("4") && alerted("5"));
    nalerts = 0;
    ck_assert_int_eq(write_at(T0 + S, "10.9.0.1"), 3); /* 2 alerts for this source */
    ck_assert(alerted("2") && alerted("4") && alerted("5") && !alerted("3"));
    nalerts = 0;
    /* the file's threshold limits sid 4 to 1 alert per source and minute */
    ck_assert_int_eq(write_at(T0 + 2 * S, "10.9.0.1"), 2);
    ck_assert(!alerted("4"));
    nalerts = 0;
    /* by_either with sig_id 0 of gen_id 7: either end 10.5.5.5 */
    ck_assert_int_eq(write_at(T0 + 3 * S, "10.5.5.5"), 2);
    ck_assert(alerted("2") && alerted("4") && !alerted("5"));
    nalerts = 0;
    swap_dir(); /* 10.0.0.2 -> 10.5.5.5 */
    ck_assert_int_eq(mb_write_single(6, 0, 0), 2);
    ck_assert(alerted("3") && alerted("4") && !alerted("2") && !alerted("5"));
    struct rule_stats st;
    rule_ctx_stats(ctx, &st);
    /* sid 1 x5, sid 2 x2 (sources 10.0.0.1, 10.0.0.2), sid 3 x4, sid 5 x2 */
    ck_assert_uint_eq(st.suppressed, 13);
    unload();
}
END_TEST

START_TEST(threshold_state_bounded)
{
    net_default();
    load("alert modbus any any -> any any (code:6; threshold: type limit, track by_src, count "
         "1, seconds 60; sid:1;)\n");
    char ip[32];
    /* more sources than slots: old entries are evicted, nothing grows */
    for (int i = 0; i < 20000; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        nalerts = 0;
        ck_assert_int_eq(write_at(T0 + (uint64_t)i, ip), 1);
    }
    struct rule_stats st;
    rule_ctx_stats(ctx, &st);
    ck_assert_uint_gt(st.state_evictions, 0);
    ck_assert_uint_eq(st.alerts, 20000);
    unload();
}
END_TEST

static uint64_t prof[8][3];

static void prof_cb(void *c, uint32_t gid, uint32_t sid, const char *msg, uint64_t checks,
                    uint64_t matches, uint64_t nalert)
{
    (void)c;
    (void)msg;
    ck_assert_uint_eq(gid, 1);
    if (sid < 8) {
        prof[sid][0] = checks;
        prof[sid][1] = matches;
        prof[sid][2] = nalert;
    }
}

START_TEST(pass_and_dispatch)
{
    net_default();
    load("alert modbus any any -> any any (code:6; sid:1;)\n"
         "pass modbus 10.0.0.1 any -> any any (modbus: function 6; sid:2;)\n"
         "alert dnp3 any any -> any any (dnp3_func:1; sid:3;)\n"
         "alert dnp3 any any -> any any (dnp3_ind:need_time; sid:4;)\n"
         "alert modbus any any -> any any (code:3; sid:5;)\n");
    ck_assert_int_eq(mb_write_single(6, 0, 0), 0); /* passed */
    set_v4(&rec.sink.net.src, "10.0.0.3");
    ck_assert_int_eq(mb_write_single(6, 0, 0), 1);
    struct rule_stats st;
    rule_ctx_stats(ctx, &st);
    /* each write was tested against the two code-6 rules only */
    ck_assert_uint_eq(st.events, 2);
    ck_assert_uint_eq(st.candidates, 4);
    ck_assert_uint_eq(st.suppressed, 2);
    /* the per-rule profile: tested, matched, alerted */
    memset(prof, 0, sizeof(prof));
    rule_ctx_profile(ctx, prof_cb, NULL);
    ck_assert_uint_eq(prof[1][0], 2);
    ck_assert_uint_eq(prof[1][1], 2);
    ck_assert_uint_eq(prof[1][2], 1);
    ck_assert_uint_eq(prof[2][0], 2);
    ck_assert_uint_eq(prof[2][1], 1); /* pass rule: only 10.0.0.1 */
    ck_assert_uint_eq(prof[2][2], 0);
    ck_assert_uint_eq(prof[3][0], 0); /* dnp3 rules never tested */
    ck_assert_uint_eq(prof[5][0], 0);
    unload();
}
END_TEST

START_TEST(many_matches_counted)
{
    /* more rules match one event than it can alert for: the rest is counted */
    char text[70 * 64];
    size_t len = 0;
    for (int i = 0; i < 70; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len,
                                "alert modbus any any -> any any (code:6; sid:%d;)\n", i + 1);
    net_default();
    load(text);
    ck_assert_int_eq(mb_write_single(6, 0, 0), 32); /* the recorder keeps MAX_ALERTS */
    struct rule_stats st;
    rule_ctx_stats(ctx, &st);
    ck_assert_uint_eq(st.alerts, 64);
    ck_assert_uint_eq(st.hits_dropped, 6);
    unload();
}
END_TEST

START_TEST(dispatch_scales)
{
    /* 10,000 rules for other protocols and other Modbus codes: a read is tested
     * against none of them, a write of holding registers only against its own */
    size_t cap = 10000 * 160, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    static const char *const protos[] = {"dnp3", "iec104", "s7comm", "cip", "modbus"};
    for (int i = 0; i < 10000; i++) {
        const char *p = protos[i % 5];
        if (i % 5 == 4)
            len += (size_t)snprintf(text + len, cap - len,
                                    "alert modbus any any -> any any (modbus: access write "
                                    "coils, address %d; sid:%d;)\n",
                                    i, i + 1);
        else
            len += (size_t)snprintf(text + len, cap - len,
                                    "alert %s any any -> any any (code:%d; sid:%d;)\n", p, i % 200,
                                    i + 1);
    }
    len += (size_t)snprintf(text + len, cap - len,
                            "alert modbus any any -> any any (modbus: access write holding, "
                            "address 100; sid:20000;)\n");
    rs = ruleset_load_text("big.rules", text, len, NULL, err, sizeof(err));
    free(text);
    ck_assert_msg(rs != NULL, "%s", err);
    ctx = rule_ctx_new(rs);
    nalerts = 0;
    net_default();
    ck_assert_int_eq(mb_read(3, 100, 1, 1), 0);
    struct rule_stats st;
    rule_ctx_stats(ctx, &st);
    ck_assert_uint_eq(st.candidates, 0);
    ck_assert_int_eq(mb_write_single(6, 100, 1), 1);
    rule_ctx_stats(ctx, &st);
    ck_assert_uint_eq(st.candidates, 1);
    unload();
}
END_TEST

/* ---- alert JSON, checked by Python's json module ---- */

static void py_check(const char *json, const char *script)
{
    char path[] = "/tmp/ots_alertXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import json,sys\nd=json.load(open(\"%s\"))\n%s' 2>&1", path,
             script);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[4096] = "";
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    int rc = pclose(p);
    unlink(path);
    ck_assert_msg(rc == 0, "python: %s\n%s", out, json);
}

START_TEST(alert_json_fields)
{
    net_default();
    rec.sink.net.has_mac = 1;
    memcpy(rec.sink.net.src_mac, "\x00\x11\x22\x33\x44\x55", 6);
    memcpy(rec.sink.net.dst_mac, "\x66\x77\x88\x99\xaa\xbb", 6);
    load("alert modbus any any -> any any (msg:\"Modbus write \\\"x\\\"\"; modbus: function 6; "
         "iec62443: fr FR2, sr \"SR 2.1\"; iso27032: TC.HCK.CMD; classtype:misc-activity; "
         "priority:2; reference:url,example.com/x; sid:1000001; rev:3;)\n");
    ck_assert_int_eq(mb_write_single(6, 40, 0x1234), 1);
    py_check(
        alerts[0],
        "assert d[\"@timestamp\"]==\"2023-11-14T22:13:20.000000Z\"\n"
        "e=d[\"event\"]; assert e[\"kind\"]==\"alert\" and e[\"dataset\"]==\"otsensor.alert\"\n"
        "assert e[\"severity\"]==3 and e[\"start\"]==e[\"end\"]==d[\"@timestamp\"]\n"
        "r=d[\"rule\"]; assert r[\"id\"]==\"1000001\" and r[\"name\"]==\"Modbus write "
        "\\\"x\\\"\"\n"
        "assert r[\"ruleset\"]==\"ot\" and r[\"category\"]==\"misc-activity\"\n"
        "assert r[\"reference\"]==\"http://example.com/x\" and r[\"version\"]==\"3\"\n"
        "assert d[\"source\"]=={\"ip\":\"10.0.0.1\",\"port\":40000,\"mac\":"
        "\"00:11:22:33:44:55\"}\n"
        "assert d[\"destination\"][\"ip\"]==\"10.0.0.2\" and "
        "d[\"destination\"][\"port\"]==502\n"
        "n=d[\"network\"]; assert n[\"transport\"]==\"tcp\" and n[\"protocol\"]==\"modbus\"\n"
        "assert n[\"community_id\"]==\"1:abcdefghijklmnopqrstuvwxyz0=\"\n"
        "assert d[\"observer\"]=={\"name\":\"sensor-1\",\"type\":\"sensor\"}\n"
        "i=d[\"iec62443\"]; assert i[\"fr\"]==[\"FR2\"] and i[\"sr\"]==[\"SR 2.1\"]\n"
        "assert i[\"zone\"]=={\"src\":None,\"dst\":None} and i[\"conduit\"] is None\n"
        "assert d[\"iso27032\"]=={\"threat\":[\"TC.HCK.CMD\"]}\n"
        "o=d[\"ot\"]; assert o[\"event\"]==\"modbus.write_single_register\"\n"
        "assert o[\"op\"]==\"write_single_register\" and o[\"code\"]==6\n"
        "assert o[\"modbus\"]=={\"tid\":7,\"unit\":1,\"func\":6,\"address\":40,"
        "\"value\":4660}\n"
        "assert d[\"otsensor\"][\"count\"]==1 and d[\"otsensor\"][\"sensor\"]==\"sensor-1\"\n"
        "assert d[\"message\"]==r[\"name\"] and d[\"related\"]=={\"ip\":[\"10.0.0.1\","
        "\"10.0.0.2\"]}\n"
        "assert not any(\".\" in k for k in d)\n");
    unload();
}
END_TEST

START_TEST(alert_tags_and_severity)
{
    net_default();
    load("alert modbus any any -> any any (code:5; classtype:ot-write; sid:1;)\n"
         "alert modbus any any -> any any (code:5; sid:2;)\n"
         "alert modbus any any -> any any (code:5; classtype:attempted-recon; iso27032: "
         "TC.DOS.HALT; severity:critical; sid:3;)\n"
         "alert modbus any any -> any any (code:5; priority:4; iec62443: sr \"SR 7.1\"; "
         "sid:4;)\n"
         "alert modbus any any -> any any (code:5; classtype:misc-activity; severity:0; "
         "sid:5;)\n");
    ck_assert_int_eq(mb_write_single(5, 0, 0xFF00), 5);
    /* inherited from ot-write: FR1 FR2, SR 1.2 2.1, TC.HCK.CMD; priority 2 -> high */
    py_check(alerts[0], "i=d[\"iec62443\"]; assert i[\"fr\"]==[\"FR1\",\"FR2\"]\n"
                        "assert i[\"sr\"]==[\"SR 1.2\",\"SR 2.1\"]\n"
                        "assert d[\"iso27032\"][\"threat\"]==[\"TC.HCK.CMD\"]\n"
                        "assert d[\"event\"][\"severity\"]==3\n");
    /* nothing to inherit: the documented fallback, default priority 3 -> medium */
    py_check(alerts[1], "assert d[\"iec62443\"][\"fr\"]==[\"FR6\"]\n"
                        "assert d[\"iec62443\"][\"sr\"]==[\"SR 6.2\"]\n"
                        "assert d[\"iso27032\"][\"threat\"]==[\"TC.HCK\"]\n"
                        "assert d[\"event\"][\"severity\"]==2\n"
                        "assert \"category\" not in d[\"rule\"]\n");
    /* own TC wins, FR from the classtype (FR7 without SR), severity by name */
    py_check(alerts[2], "assert d[\"iec62443\"][\"fr\"]==[\"FR7\"]\n"
                        "assert d[\"iec62443\"][\"sr\"]==[]\n"
                        "assert d[\"iso27032\"][\"threat\"]==[\"TC.DOS.HALT\"]\n"
                        "assert d[\"event\"][\"severity\"]==4\n");
    /* an SR implies its FR; priority 4 -> low; no TC anywhere -> fallback TC */
    py_check(alerts[3], "assert d[\"iec62443\"][\"fr\"]==[\"FR7\"]\n"
                        "assert d[\"iec62443\"][\"sr\"]==[\"SR 7.1\"]\n"
                        "assert d[\"iso27032\"][\"threat\"]==[\"TC.HCK\"]\n"
                        "assert d[\"event\"][\"severity\"]==1\n");
    py_check(alerts[4], "assert d[\"event\"][\"severity\"]==0\n"
                        "assert d[\"iec62443\"][\"fr\"]==[\"FR6\"]\n");
    unload();
}
END_TEST

START_TEST(alert_json_hostile_bytes)
{
    net_default();
    load("alert s7comm any any -> any any (msg:\"caf\xc3\xa9 \\\\ \\; ok\"; code:0x28; "
         "sid:1;)\n");
    struct event *e = event_begin(&rec.sink, "s7comm", EV_DIR_REQUEST);
    event_code(e, 0x28, "pi_service");
    ev_str(e, "pi_service", "\xff\xfe\"\\\x01\n\xc3", 7);
    ev_hex(e, "raw", "\x00\xff", 2);
    ev_arr_begin(e, "items");
    ev_obj_begin(e, NULL);
    ev_uint(e, "area", 0x84);
    ev_end(e);
    ev_end(e);
    event_anomaly(e, "s7comm.truncated");
    ck_assert_int_eq(run(e), 1);
    py_check(
        alerts[0],
        "assert d[\"rule\"][\"name\"]==\"caf\\u00e9 \\\\ ; ok\"\n"
        "s=d[\"ot\"][\"s7comm\"]; assert s[\"raw\"]==\"00ff\" and s[\"items\"]==[{\"area\":132}]\n"
        "assert s[\"pi_service\"].endswith(\"\\n\\u00c3\")\n"
        "assert d[\"ot\"][\"anomalies\"]==[\"s7comm.truncated\"]\n");
    unload();
}
END_TEST

START_TEST(zones_in_alerts)
{
    const char *zones = "zone ENG 10.0.0.0/24 sl 2\n"
                        "zone PLC 10.0.1.0/24 sl FR1=3,FR2=1,FR3=0,FR4=0,FR5=0,FR6=0,FR7=4\n"
                        "zone SIS 10.0.9.0/24 sl 1 type safety\n"
                        "zone PLC_HOST 10.0.1.5 sl 0\n"
                        "conduit ENG PLC protocols modbus ops read-only,write\n";
    const char *rules = "alert modbus $ENG any -> $PLC any (code:6; iec62443: fr FR2; sid:1;)\n"
                        "alert modbus any any -> any any (code:5; iec62443: fr FR1; sid:2;)\n";
    rs = ruleset_load_texts("z.rules", rules, strlen(rules), cls_text, zones, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ctx = rule_ctx_new(rs);
    nalerts = 0;
    net_default();
    set_v4(&rec.sink.net.src, "10.0.0.7");
    set_v4(&rec.sink.net.dst, "10.0.1.7");
    /* ENG -> PLC in a conduit: +1 for crossing; FR2's SL-T is 1: no more. base 2 */
    ck_assert_int_eq(mb_write_single(6, 0, 0), 1);
    py_check(alerts[0], "i=d[\"iec62443\"]\n"
                        "assert i[\"zone\"]=={\"src\":\"ENG\",\"dst\":\"PLC\"}\n"
                        "assert i[\"conduit\"]==\"ENG-PLC\"\n"
                        "assert i[\"sl_t\"]=={\"FR1\":3,\"FR2\":1,\"FR3\":0,\"FR4\":0,\"FR5\":0,"
                        "\"FR6\":0,\"FR7\":4}\n"
                        "assert d[\"event\"][\"severity\"]==3\n");
    /* FR1 with SL-T 3 at the destination: +1 more */
    nalerts = 0;
    ck_assert_int_eq(mb_write_single(5, 0, 0xFF00), 1);
    py_check(alerts[0], "assert d[\"event\"][\"severity\"]==4\n");
    /* the most specific zone wins; no conduit ENG-PLC_HOST */
    nalerts = 0;
    set_v4(&rec.sink.net.dst, "10.0.1.5");
    ck_assert_int_eq(mb_write_single(5, 0, 0xFF00), 1);
    py_check(alerts[0], "i=d[\"iec62443\"]\n"
                        "assert i[\"zone\"][\"dst\"]==\"PLC_HOST\" and i[\"conduit\"] is None\n"
                        "assert d[\"event\"][\"severity\"]==3\n");
    /* into a safety zone from nowhere known: +1 for safety only */
    nalerts = 0;
    set_v4(&rec.sink.net.src, "192.168.1.1");
    set_v4(&rec.sink.net.dst, "10.0.9.1");
    ck_assert_int_eq(mb_write_single(5, 0, 0xFF00), 1);
    py_check(alerts[0], "i=d[\"iec62443\"]\n"
                        "assert i[\"zone\"]=={\"src\":None,\"dst\":\"SIS\"}\n"
                        "assert d[\"event\"][\"severity\"]==3\n");
    unload();
}
END_TEST

START_TEST(alert_json_largest_event)
{
    /* an event filled to its caps with bytes that all need escaping still alerts */
    net_default();
    load("alert s7comm any any -> any any (code:1; sid:1;)\n");
    struct event *e = event_begin(&rec.sink, "s7comm", EV_DIR_REQUEST);
    event_code(e, 1, "x");
    uint8_t junk[EVENT_STR_CAP];
    memset(junk, 0xff, sizeof(junk));
    for (int i = 0; i < EVENT_STR_ARENA / EVENT_STR_CAP + 1; i++)
        ev_str(e, "s", junk, sizeof(junk));
    for (int i = 0; i < EVENT_MAX_FIELDS; i++)
        ev_uint(e, "n", UINT64_MAX);
    ck_assert_int_eq(run(e), 1);
    ck_assert_uint_gt(strlen(alerts[0]), 8192 * 6);
    py_check(alerts[0], "assert d[\"ot\"][\"code\"]==1\n");
    unload();
}
END_TEST

START_TEST(default_modbus_ruleset)
{
    /* the shipped Modbus rules raise the taxonomy's tags on the events modbus.c emits */
    char rules[4096], cls[4096];
    const char *root = getenv("OTS_SOURCE_DIR");
    snprintf(rules, sizeof(rules), "%s/rules/otsensor/modbus.rules", root ? root : ".");
    snprintf(cls, sizeof(cls), "%s/rules/classification.config", root ? root : ".");
    const char *paths[] = {rules};
    rs = ruleset_load(paths, 1, cls, NULL, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ctx = rule_ctx_new(rs);
    nalerts = 0;
    net_default();
    struct event *e = mb_req(8, "diag_force_listen_only", 1);
    ev_uint(e, "sub_function", 4);
    ck_assert_int_eq(run(e), 1);
    py_check(alerts[0], "assert d[\"rule\"][\"id\"]==\"9100008\"\n"
                        "assert d[\"event\"][\"severity\"]==4\n"
                        "assert d[\"iec62443\"][\"fr\"]==[\"FR2\",\"FR7\"]\n"
                        "assert d[\"iec62443\"][\"sr\"]==[\"SR 7.1\",\"SR 2.1\"]\n"
                        "assert d[\"iso27032\"][\"threat\"]==[\"TC.DOS.HALT\"]\n"
                        "assert d[\"rule\"][\"ruleset\"]==\"modbus\"\n");
    ck_assert_int_eq(mb_write_single(6, 1, 1), 1);
    ck_assert_int_eq(mb_read(3, 0, 10, 1), 0); /* polling raises nothing */
    e = mb_req(90, "umas_program_download", 1);
    ev_obj_begin(e, "umas");
    ev_uint(e, "code", 0x34);
    ev_end(e);
    ck_assert_int_eq(run(e), 1);
    /* 10 exception responses to one client in 60 s: one burst alert */
    swap_dir();
    int n = 0;
    for (int i = 0; i < 12; i++) {
        rec.sink.net.ts_us = T0 + (uint64_t)i * S;
        e = event_begin(&rec.sink, "modbus", EV_DIR_RESPONSE);
        event_code(e, 3, "read_holding_registers");
        ev_uint(e, "func", 0x83);
        ev_uint(e, "exception", 2);
        n += run(e);
    }
    ck_assert_int_eq(n, 1);
    unload();
}
END_TEST

static void load_default(void)
{
    char rules[4096], cls[4096];
    const char *root = getenv("OTS_SOURCE_DIR");
    snprintf(rules, sizeof(rules), "%s/rules/otsensor", root ? root : ".");
    snprintf(cls, sizeof(cls), "%s/rules/classification.config", root ? root : ".");
    const char *paths[] = {rules};
    rs = ruleset_load(paths, 1, cls, NULL, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ctx = rule_ctx_new(rs);
    nalerts = 0;
}

/* The only alert is from this sid, with this severity and these FR and TC. */
static void expect_one(struct event *e, const char *sid, int sev, const char *fr, const char *tc)
{
    nalerts = 0;
    ck_assert_int_eq(run(e), 1);
    char script[1024];
    snprintf(script, sizeof(script),
             "assert d[\"rule\"][\"id\"]==\"%s\", d[\"rule\"]\n"
             "assert d[\"event\"][\"severity\"]==%d\n"
             "assert d[\"iec62443\"][\"fr\"]==%s, d[\"iec62443\"]\n"
             "assert d[\"iso27032\"][\"threat\"]==%s\n",
             sid, sev, fr, tc);
    py_check(alerts[0], script);
}

START_TEST(default_other_rulesets)
{
    /* events as the dnp3/iec104/s7comm/enip branches emit them (op = taxonomy id
     * without its prefix); FR/TC/severity from the taxonomy tables */
    load_default();
    net_default();
    struct event *e = event_begin(&rec.sink, "dnp3", EV_DIR_REQUEST);
    event_code(e, 13, "cold_restart");
    expect_one(e, "9101009", 3, "[\"FR2\",\"FR7\"]", "[\"TC.DOS.HALT\"]");
    e = event_begin(&rec.sink, "s7comm", EV_DIR_REQUEST);
    event_code(e, 0x29, "plc_stop");
    ev_uint(e, "rosctr", 1);
    expect_one(e, "9103012", 4, "[\"FR2\",\"FR7\"]", "[\"TC.DOS.HALT\"]");
    e = event_begin(&rec.sink, "s7comm", EV_DIR_REQUEST);
    event_op(e, "ud_password");
    expect_one(e, "9103019", 2, "[\"FR1\",\"FR4\"]", "[\"TC.PRV.CRED\"]");
    e = event_begin(&rec.sink, "cip", EV_DIR_REQUEST);
    event_code(e, 7, "stop");
    expect_one(e, "9105007", 4, "[\"FR2\",\"FR7\"]", "[\"TC.DOS.HALT\"]");
    e = event_begin(&rec.sink, "iec104", EV_DIR_REQUEST);
    event_op(e, "stopdt");
    ev_cstr(e, "apci", "U");
    ev_cstr(e, "u", "stopdt_act");
    expect_one(e, "9102002", 2, "[\"FR7\"]", "[\"TC.DOS.HALT\"]");
    /* the taxonomy gives iec104_read no FR: the classtype's (ot-inventory: FR7) */
    e = event_begin(&rec.sink, "iec104", EV_DIR_REQUEST);
    event_code(e, 102, "read");
    expect_one(e, "9102011", 0, "[\"FR7\"]", "[\"TC.OBS.INV\"]");
    swap_dir();
    e = event_begin(&rec.sink, "dnp3", EV_DIR_RESPONSE);
    event_code(e, 129, "response");
    ev_uint(e, "iin", 0x8000);
    expect_one(e, "9101027", 2, "[\"FR7\"]", "[\"TC.OBS.STATE\"]");
    e = event_begin(&rec.sink, "cip", EV_DIR_RESPONSE);
    event_code(e, 0x4d, "logix_write_tag");
    ev_uint(e, "status", 15);
    expect_one(e, "9105018", 1, "[\"FR1\",\"FR2\"]", "[\"TC.HCK.ACCESS\"]");
    net_default(); /* client to server again */
    /* MQTT CONNECT with a password (the event exists only for cleartext sessions) */
    e = event_begin(&rec.sink, "mqtt", EV_DIR_REQUEST);
    event_code(e, 1, "connect");
    ev_bool(e, "username_present", 1);
    ev_bool(e, "password_present", 1);
    expect_one(e, "9110002", 3, "[\"FR1\",\"FR4\"]", "[\"TC.PRV.CRED\"]");
    e = event_begin(&rec.sink, "bacnet", EV_DIR_REQUEST);
    event_code(e, 20, "reinitialize_device");
    expect_one(e, "9106005", 3, "[\"FR2\",\"FR3\",\"FR7\"]", "[\"TC.DOS.HALT\"]");
    /* an engine event the engine emits today */
    e = event_begin(&rec.sink, "protocol", EV_DIR_NONE);
    event_op(e, "nonstandard_port");
    expect_one(e, "9190007", 2, "[\"FR5\",\"FR7\"]", "[\"TC.VUL.EXPOSED\"]");
    /* a write's response does not alert again (the command rules are flow:to_server) */
    swap_dir();
    e = event_begin(&rec.sink, "dnp3", EV_DIR_RESPONSE);
    event_code(e, 129, "write");
    ck_assert_int_eq(run(e), 0);
    unload();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rule_match");
    TCase *tc = tcase_create("keywords");
    tcase_add_test(tc, modbus_function);
    tcase_add_test(tc, modbus_access);
    tcase_add_test(tc, modbus_range_bounds);
    tcase_add_test(tc, dnp3_keywords);
    tcase_add_test(tc, enip_cip_keywords);
    tcase_add_test(tc, our_keywords);
    tcase_add_test(tc, field_through_arrays);
    tcase_add_test(tc, field_name_prefilter);
    tcase_add_test(tc, events_and_anomalies);
    tcase_add_test(tc, header_matching);
    tcase_add_test(tc, flow_keyword);
    tcase_add_test(tc, content_payload);
    tcase_add_test(tc, thresholds);
    tcase_add_test(tc, threshold_state_bounded);
    tcase_add_test(tc, suppression);
    tcase_add_test(tc, pass_and_dispatch);
    tcase_add_test(tc, dispatch_scales);
    tcase_add_test(tc, many_matches_counted);
    suite_add_tcase(s, tc);
    TCase *tj = tcase_create("alerts");
    tcase_add_test(tj, alert_json_fields);
    tcase_add_test(tj, alert_tags_and_severity);
    tcase_add_test(tj, alert_json_hostile_bytes);
    tcase_add_test(tj, alert_json_largest_event);
    tcase_add_test(tj, default_modbus_ruleset);
    tcase_add_test(tj, zones_in_alerts);
    tcase_add_test(tj, default_other_rulesets);
    suite_add_tcase(s, tj);
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
