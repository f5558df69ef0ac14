/* fuzz_zones.c - libFuzzer harness: the zone/conduit parser and the suppression parser,
 * then zone labelling in alerts.
 *
 * Input: zones text [NUL suppression text [NUL rule text]]. Without rule text a fixed set
 * of rules is used (one of them on a zone variable, which exists only if the zones name
 * it). Errors must come back as terminated text; a loaded set is matched against events
 * from addresses inside and outside the example zones, IPv4 and IPv6, so zone_of() and
 * conduit_between() run and every alert is a JSON object. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_rules[] =
    "alert tcp any any -> any any (msg:\"any\"; sid:1;)\n"
    "alert modbus any any -> any 502 (msg:\"write\"; modbus: access write; sid:2; "
    "classtype:ot-write;)\n"
    "alert tcp $PLC_NET any <> any any (msg:\"zone var\"; sid:3;)\n";

static void emit(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    if (!len || json[0] != '{' || json[len - 1] != '}') abort();
}

/* addresses: 10.20.2.x (PLC_NET of rules/zones.conf), 10.10.x, 192.0.2.1, fd00:20:2::5 */
static void set_addr(struct ev_addr *a, int which)
{
    memset(a->b, 0, sizeof(a->b));
    static const uint8_t v4[][4] = {{10, 20, 2, 7}, {10, 10, 1, 1}, {192, 0, 2, 1}};
    if (which < 3) {
        a->b[10] = a->b[11] = 0xff;
        memcpy(a->b + 12, v4[which], 4);
    } else {
        a->b[0] = 0xfd;
        a->b[2] = 0x00;
        a->b[3] = 0x20;
        a->b[5] = 0x02;
        a->b[15] = 5;
    }
}

static void events(struct rule_ctx *ctx)
{
    static struct event_sink sink;
    event_sink_init(&sink, NULL, NULL);
    sink.net.ts_us = 1700000000000000ull;
    sink.net.transport = EV_TRANSPORT_TCP;
    sink.net.src_port = 40000;
    sink.net.dst_port = 502;
    sink.net.to_server = 1;
    for (int s = 0; s < 4; s++)
        for (int d = 0; d < 4; d++) {
            sink.net.ip_version = (s == 3 || d == 3) ? 6 : 4;
            set_addr(&sink.net.src, s);
            set_addr(&sink.net.dst, d);
            struct event *e = event_begin(&sink, "modbus", EV_DIR_REQUEST);
            event_code(e, 6, "write_single_register");
            ev_uint(e, "unit", 1);
            ev_uint(e, "func", 6);
            ev_uint(e, "address", 1);
            ev_uint(e, "value", 2);
            rules_match(ctx, e, "fuzz", emit, NULL);
            event_discard(&sink, e);
        }
}

/* The next NUL-terminated part of [*p, end), as a fresh string; NULL when none is left. */
static char *part(const uint8_t **p, const uint8_t *end, int *more)
{
    if (!*more) return NULL;
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, *p, n);
    s[n] = 0;
    *more = nul != NULL;
    *p = nul ? nul + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char err[4096];
    const uint8_t *p = data, *end = data + size;
    int more = 1;
    char *zones = part(&p, end, &more);
    char *supp = part(&p, end, &more);
    char *rules = part(&p, end, &more);
    if (!zones) goto out;
    const char *rtext = rules ? rules : fixed_rules;
    struct ruleset_texts t = {"fuzz.rules", rtext, strlen(rtext), NULL, zones, supp};
    err[sizeof(err) - 1] = 0x7f;
    struct ruleset *rs = ruleset_load_mem(&t, err, sizeof(err));
    if (strnlen(err, sizeof(err)) == sizeof(err)) abort(); /* always terminated */
    if (rs) {
        struct rule_ctx *ctx = rule_ctx_new(rs);
        if (ctx) {
            events(ctx);
            rule_ctx_free(ctx);
        }
        ruleset_free(rs);
    }
out:
    free(zones);
    free(supp);
    free(rules);
    return 0;
}
