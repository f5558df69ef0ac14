/* testutil.h - helpers shared by the Check suites: a sink that records events, hex
 * input, test data paths, and a capture player that feeds one dissector. */
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

/* The number in field `path` of e (UINT, BOOL or a non-negative INT; it must exist). */
uint64_t ev_u(const struct event *e, const char *path);
/* Asserts that field `path` of e is the text want (STR), or bytes whose hex is want (HEX). */
void ev_s(const struct event *e, const char *path, const char *want);
/* Asserts that e has no field `path`. */
void ev_absent(const struct event *e, const char *path);

struct dissector;
/* Plays every TCP and UDP packet of a capture (any link type the sensor decodes) into
 * dissector d, as the engine does: one state per connection, TCP per direction in
 * sequence order (retransmitted bytes dropped, first copy wins; a hole drops the
 * buffer, calls gap() and sets after_gap), parse() until it consumes nothing; UDP one
 * datagram per call. sink->net is set per packet. A side on server_port or
 * server_port2 (0: none) is the server. Returns packets read, or -1. */
/* One direction of a TCP stream as the engine buffers it (zero it to start). */
struct tcp_buf {
    size_t len;
    uint8_t buf[8192];
};
/* Appends n bytes and calls d->parse() on everything buffered until it consumes nothing. */
void tcp_push(struct tcp_buf *s, const struct dissector *d, void *st, struct event_sink *sink,
              const uint8_t *p, size_t n, int to_server, uint64_t ts);

int pcap_feed_file(const char *path, const struct dissector *d, struct event_sink *sink,
                   uint16_t server_port, uint16_t server_port2);

#endif
