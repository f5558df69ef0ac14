/* testutil.h - helpers shared by the Check suites: a sink that records events. */
#ifndef OTS_TESTUTIL_H
#define OTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define REC_MAX 256

/* Records every delivered event (a full copy) and its JSON line. */
struct recorder {
    struct event_sink sink;
    int n;
    struct event ev[REC_MAX];
    char json[REC_MAX][4096];
};

void recorder_init(struct recorder *r);
/* Parses a hex string ("00 01 0a..." spaces allowed) into out; returns length. */
size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap);
/* Path of a test data file under tests/data (uses $OTS_SOURCE_DIR). */
const char *test_data_path(const char *name);

#endif
