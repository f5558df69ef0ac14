/* fuzz_rule_parse.c - libFuzzer harness: the rule and classification parsers, then the
 * matcher on a few fixed events with whatever rules survived.
 *
 * Input: [classification text NUL [zones text NUL]] rule text (no NUL: all rule text). Errors must
 * come back as text (never a crash, never an unterminated buffer); a loaded ruleset is
 * matched against Modbus, DNP3 and engine events and every alert must be valid-sized. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emit(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    if (!len || json[0] != '{' || json[len - 1] != '}') abort();
}

static void events(struct rule_ctx *ctx, const uint8_t *payload, size_t plen)
{
    static struct event_sink sink;
    event_sink_init(&sink, NULL, NULL);
    sink.net.ts_us = 1700000000000000ull;
    sink.net.ip_version = 4;
    sink.net.transport = EV_TRANSPORT_TCP;
    sink.net.src.b[10] = sink.net.src.b[11] = 0xff;
    sink.net.src.b[12] = 10;
    sink.net.src.b[15] = 1;
    sink.net.dst = sink.net.src;
    sink.net.dst.b[15] = 2;
    sink.net.src_port = 40000;
    sink.net.dst_port = 502;
    sink.net.to_server = 1;

    struct event *e = event_begin(&sink, "modbus", EV_DIR_REQUEST);
    event_code(e, 16, "write_multiple_registers");
    ev_uint(e, "unit", 1);
    ev_uint(e, "func", 16);
    ev_uint(e, "address", 100);
    ev_uint(e, "quantity", 3);
    ev_arr_begin(e, "values");
    for (int i = 0; i < 3; i++)
        ev_uint(e, NULL, (uint64_t)i * 300);
    ev_end(e);
    ev_cstr(e, "name", "\xff\"x");
    event_anomaly(e, "modbus.invalid_length");
    for (int k = 0; k < 3; k++)
        rules_match_payload(ctx, e, payload, plen, "fuzz", emit, NULL);
    event_discard(&sink, e);

    e = event_begin(&sink, "dnp3", EV_DIR_RESPONSE);
    event_code(e, 129, "response");
    ev_obj_begin(e, "al");
    ev_uint(e, "func", 129);
    ev_end(e);
    ev_uint(e, "iin", 0x9000);
    ev_arr_begin(e, "objects");
    ev_obj_begin(e, NULL);
    ev_uint(e, "group", 12);
    ev_uint(e, "variation", 1);
    ev_end(e);
    ev_end(e);
    rules_match(ctx, e, "fuzz", emit, NULL);
    event_discard(&sink, e);

    e = event_begin(&sink, "flow", EV_DIR_NONE);
    event_op(e, "new");
    rules_match(ctx, e, NULL, emit, NULL);
    event_discard(&sink, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char err[4096];
    const uint8_t *nul = memchr(data, 0, size);
    char *cls = NULL, *zones = NULL;
    const char *rules = (const char *)data;
    size_t rlen = size;
    if (nul) {
        size_t cl = (size_t)(nul - data);
        cls = malloc(cl + 1);
        if (!cls) return 0;
        memcpy(cls, data, cl);
        cls[cl] = 0;
        rules = (const char *)nul + 1;
        rlen = size - cl - 1;
        const char *nul2 = memchr(rules, 0, rlen);
        if (nul2) { /* a second NUL: zones text between the two */
            size_t zl = (size_t)(nul2 - rules);
            zones = malloc(zl + 1);
            if (!zones) {
                free(cls);
                return 0;
            }
            memcpy(zones, rules, zl);
            zones[zl] = 0;
            rules = nul2 + 1;
            rlen -= zl + 1;
        }
    }
    /* the parser gets exactly the bytes, no terminator: it must respect len */
    char *text = malloc(rlen ? rlen : 1);
    if (!text) {
        free(cls);
        free(zones);
        return 0;
    }
    memcpy(text, rules, rlen);
    err[sizeof(err) - 1] = 0x7f;
    struct ruleset *rs = ruleset_load_texts("fuzz.rules", text, rlen, cls, zones, err, sizeof(err));
    if (strnlen(err, sizeof(err)) == sizeof(err)) abort(); /* always terminated */
    if (rs) {
        struct rule_ctx *ctx = rule_ctx_new(rs);
        if (ctx) {
            events(ctx, (const uint8_t *)text, rlen);
            rule_ctx_free(ctx);
        }
        ruleset_free(rs);
    }
    free(text);
    free(cls);
    free(zones);
    return 0;
}
