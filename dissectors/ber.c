/* ber.c - bounds-checked, depth-limited BER reader (see ber.h for the encoding). */
#include "ber.h"

#define BER_MAX_TAG_DIGITS 4 /* high-tag-number form: up to 28-bit tag numbers */
#define BER_MAX_LEN_BYTES  4 /* long-form length: up to 2^32 - 1 */

enum ber_status ber_read(struct cursor *c, struct ber_tlv *t)
{
    t->cls = 0;
    t->constructed = 0;
    t->tag = 0;
    t->len = 0;
    t->val = cursor_make(NULL, 0);
    if (c->err != CURSOR_OK) return c->err == CURSOR_INVALID ? BER_BAD : BER_TRUNCATED;
    if (cursor_left(c) == 0) return BER_EOF;
    uint8_t id = cursor_u8(c);
    t->cls = (uint8_t)(id >> 6);
    t->constructed = (uint8_t)((id >> 5) & 1);
    t->tag = id & 0x1F;
    if (t->tag == 0x1F) { /* high-tag-number form */
        uint32_t tag = 0;
        int digits = 0;
        uint8_t b;
        do {
            b = cursor_u8(c);
            if (c->err) return BER_TRUNCATED;
            if (++digits > BER_MAX_TAG_DIGITS || (digits == 1 && b == 0x80)) {
                cursor_invalid(c); /* too large, or a non-minimal leading zero digit */
                return BER_BAD;
            }
            tag = tag << 7 | (b & 0x7F);
        } while (b & 0x80);
        t->tag = tag;
    }
    uint8_t l0 = cursor_u8(c);
    if (c->err) return BER_TRUNCATED;
    uint32_t len = l0;
    if (l0 & 0x80) {
        unsigned n = l0 & 0x7F;
        if (n == 0 || n > BER_MAX_LEN_BYTES) { /* indefinite, reserved 0xFF, or huge */
            cursor_invalid(c);
            return BER_BAD;
        }
        len = 0;
        for (unsigned i = 0; i < n; i++)
            len = len << 8 | cursor_u8(c);
        if (c->err) return BER_TRUNCATED;
    }
    t->len = len;
    t->val = cursor_sub(c, len);
    return c->err ? BER_TRUNCATED : BER_OK;
}

int ber_is(const struct ber_tlv *t, unsigned cls, int constructed, uint32_t tag)
{
    return t->cls == cls && t->constructed == (constructed != 0) && t->tag == tag;
}

/* The value's bytes, if the whole declared value is there. */
static const uint8_t *ber_value(const struct ber_tlv *t, size_t *n)
{
    struct cursor v = t->val;
    size_t len = cursor_left(&v);
    if (v.err || len != t->len) return NULL;
    *n = len;
    return len ? cursor_take(&v, len) : (const uint8_t *)"";
}

int ber_int(const struct ber_tlv *t, int64_t *out)
{
    size_t n;
    const uint8_t *p = ber_value(t, &n);
    if (!p || n == 0 || n > 8) return 0;
    uint64_t v = (p[0] & 0x80) ? UINT64_MAX : 0; /* sign extension */
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    *out = (int64_t)v;
    return 1;
}

int ber_uint(const struct ber_tlv *t, uint64_t *out)
{
    size_t n;
    const uint8_t *p = ber_value(t, &n);
    if (!p || n == 0 || n > 9 || (p[0] & 0x80)) return 0; /* empty, too large, or negative */
    if (n == 9 && p[0] != 0) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    *out = v;
    return 1;
}

int ber_bool(const struct ber_tlv *t, int *out)
{
    size_t n;
    const uint8_t *p = ber_value(t, &n);
    if (!p || n != 1) return 0;
    *out = p[0] != 0;
    return 1;
}

int ber_bitstring(const struct ber_tlv *t, unsigned *unused, const uint8_t **bits, size_t *n)
{
    size_t len;
    const uint8_t *p = ber_value(t, &len);
    if (!p || len == 0 || p[0] > 7 || (len == 1 && p[0] != 0)) return 0;
    *unused = p[0];
    *bits = p + 1; /* verified: len bytes were taken from the cursor */
    *n = len - 1;
    return 1;
}

int ber_octets(const struct ber_tlv *t, const uint8_t **p, size_t *n)
{
    const uint8_t *v = ber_value(t, n);
    if (!v) return 0;
    *p = v;
    return 1;
}

int ber_utc_time(const struct ber_tlv *t, uint32_t *secs, uint32_t *frac, uint8_t *quality)
{
    struct cursor v = t->val;
    if (t->len != 8 || cursor_left(&v) != 8) return 0;
    *secs = cursor_u32be(&v);
    *frac = cursor_u24be(&v);
    *quality = cursor_u8(&v);
    return v.err == CURSOR_OK;
}

static enum ber_status ber_walk_level(struct cursor *c, unsigned depth, unsigned max_depth,
                                      struct ber_walk_stats *st)
{
    for (;;) {
        struct ber_tlv t;
        enum ber_status s = ber_read(c, &t);
        if (s == BER_EOF) return BER_OK;
        if (depth > max_depth) return BER_BAD; /* a TLV nested deeper than allowed */
        if (depth > st->max_depth) st->max_depth = depth;
        if (s != BER_OK) return s;
        st->elements++;
        if (t.constructed) {
            s = ber_walk_level(&t.val, depth + 1, max_depth, st);
            if (s != BER_OK) return s;
        }
    }
}

enum ber_status ber_walk(struct cursor c, unsigned max_depth, struct ber_walk_stats *st)
{
    st->elements = 0;
    st->max_depth = 0;
    if (max_depth > BER_MAX_DEPTH) max_depth = BER_MAX_DEPTH;
    return ber_walk_level(&c, 1, max_depth, st);
}
