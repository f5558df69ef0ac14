/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void record(void *ctx, struct event *e)
{
    struct recorder *r = ctx;
    if (r->n >= REC_MAX) return;
    r->ev[r->n] = *e;
    if (!event_to_json(e, NULL, r->json[r->n], sizeof(r->json[0])))
        strcpy(r->json[r->n], "{\"error\":\"json overflow\"}");
    r->n++;
}

void recorder_init(struct recorder *r)
{
    r->n = 0;
    event_sink_init(&r->sink, record, r);
    r->sink.net.ts_us = 1600000000000000ull;
    r->sink.net.ip_version = 4;
    r->sink.net.transport = EV_TRANSPORT_TCP;
}

size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (!isxdigit((unsigned char)*p)) continue;
        int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (hi < 0) {
            hi = v;
        } else {
            if (n < cap) out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

const char *test_data_path(const char *name)
{
    static char buf[4096];
    const char *root = getenv("OTS_SOURCE_DIR");
    snprintf(buf, sizeof(buf), "%s/tests/data/%s", root ? root : ".", name);
    return buf;
}
