/* ber.h - bounds-checked, depth-limited BER (ASN.1 X.690) reader over a cursor.
 *
 * Shared by the IEC 61850 dissectors (GOOSE, SV, MMS and its ISO presentation/ACSE
 * wrapping). One TLV at a time:
 *
 *   identifier: [class:2][constructed:1][tag:5]  tag 31 = high-tag-number form,
 *               then base-128 digits, bit 8 = "more" (we accept up to 4 digits)
 *   length:     0..127 short form | 0x8N then N bytes (N = 1..4) long form |
 *               0x80 indefinite (refused: BER_BAD) | 0xFF reserved (BER_BAD)
 *   value:      `length` bytes, always opened as a sub-cursor (t->val)
 *
 * The reader never recurses; callers that descend count their own depth against
 * BER_MAX_DEPTH (ber_walk does it for a whole tree). */
#ifndef OTS_BER_H
#define OTS_BER_H

#include <stddef.h>
#include <stdint.h>

#include "../sensor/cursor.h"

#define BER_MAX_DEPTH 16

enum ber_class { BER_UNIVERSAL = 0, BER_APPLICATION = 1, BER_CONTEXT = 2, BER_PRIVATE = 3 };

enum ber_status {
    BER_OK = 0,
    BER_EOF = 1,       /* the cursor was empty: no element */
    BER_TRUNCATED = 2, /* header or value cut short; val holds what is there */
    BER_BAD = 3,       /* impossible encoding (indefinite length, huge tag/length) */
};

struct ber_tlv {
    uint8_t cls;         /* enum ber_class */
    uint8_t constructed; /* 1: the value is a series of TLVs */
    uint32_t tag;        /* tag number */
    uint32_t len;        /* declared length */
    struct cursor val;   /* the value (shorter than len if truncated) */
};

/* Reads one TLV at the cursor and advances past it. On BER_TRUNCATED the parent
 * cursor is consumed and marked truncated; on BER_BAD it is marked invalid. */
enum ber_status ber_read(struct cursor *c, struct ber_tlv *t);

/* True when t is (cls, constructed, tag). */
int ber_is(const struct ber_tlv *t, unsigned cls, int constructed, uint32_t tag);

/* Value helpers. Each returns 1 on success, 0 if the value does not fit or is empty. */
int ber_int(const struct ber_tlv *t, int64_t *out);   /* two's complement, 1..8 bytes */
int ber_uint(const struct ber_tlv *t, uint64_t *out); /* 1..9 bytes, non-negative */
int ber_bool(const struct ber_tlv *t, int *out);      /* exactly 1 byte */
/* BIT STRING: first byte = unused bits (0..7), then the bits. */
int ber_bitstring(const struct ber_tlv *t, unsigned *unused, const uint8_t **bits, size_t *n);
/* OCTET / Visible / any string: the verified value bytes. */
int ber_octets(const struct ber_tlv *t, const uint8_t **p, size_t *n);
/* IEC 61850 UtcTime (8 bytes): seconds since 1970, 24-bit fraction, quality. */
int ber_utc_time(const struct ber_tlv *t, uint32_t *secs, uint32_t *frac, uint8_t *quality);

/* What ber_walk found. */
struct ber_walk_stats {
    uint32_t elements;  /* TLVs seen */
    uint32_t max_depth; /* deepest TLV seen (1 = top level, 0 = none) */
};

/* Walks every TLV of c recursively (constructed values are descended into, up to
 * max_depth <= BER_MAX_DEPTH levels). Returns BER_OK when the whole input parsed,
 * else the first error (BER_BAD also when nesting is deeper than max_depth). */
enum ber_status ber_walk(struct cursor c, unsigned max_depth, struct ber_walk_stats *st);

#endif
