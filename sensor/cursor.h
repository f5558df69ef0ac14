/* cursor.h - bounds-checked reader over untrusted bytes.
 *
 * Every packet byte is read through a cursor {base, off, end, err}. Reads test
 * `end - off >= n` on offsets, never on pointers. A short read returns 0 and sets
 * a sticky error, so a forgotten check between test and read cannot over-read:
 * the caller tests `c->err` once after a run of reads. TRUNCATED (more bytes
 * would be needed) and INVALID (an impossible value) are different outcomes. */
#ifndef OTS_CURSOR_H
#define OTS_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum cursor_err { CURSOR_OK = 0, CURSOR_TRUNCATED = 1, CURSOR_INVALID = 2 };

struct cursor {
    const uint8_t *base;
    size_t off;
    size_t end;
    int err;
};

static inline struct cursor cursor_make(const uint8_t *p, size_t len)
{
    struct cursor c = {p, 0, p ? len : 0, CURSOR_OK};
    return c;
}

static inline size_t cursor_left(const struct cursor *c)
{
    return c->end - c->off;
}

static inline size_t cursor_pos(const struct cursor *c)
{
    return c->off;
}

static inline int cursor_has(const struct cursor *c, size_t n)
{
    return c->err == CURSOR_OK && c->end - c->off >= n;
}

/* Marks the cursor failed; the first error sticks. */
static inline void cursor_fail(struct cursor *c, int err)
{
    if (c->err == CURSOR_OK) c->err = err;
    c->off = c->end;
}

static inline void cursor_invalid(struct cursor *c)
{
    cursor_fail(c, CURSOR_INVALID);
}

/* Returns a pointer to n verified bytes and advances past them, or NULL. */
static inline const uint8_t *cursor_take(struct cursor *c, size_t n)
{
    if (!cursor_has(c, n)) {
        cursor_fail(c, CURSOR_TRUNCATED);
        return NULL;
    }
    const uint8_t *p = c->base + c->off;
    c->off += n;
    return p;
}

static inline int cursor_skip(struct cursor *c, size_t n)
{
    return cursor_take(c, n) != NULL;
}

static inline int cursor_copy(struct cursor *c, void *dst, size_t n)
{
    const uint8_t *p = cursor_take(c, n);
    if (!p) return 0;
    memcpy(dst, p, n);
    return 1;
}

static inline uint8_t cursor_u8(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 1);
    return p ? p[0] : 0;
}

static inline uint16_t cursor_u16be(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline uint16_t cursor_u16le(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 2);
    return p ? (uint16_t)(p[1] << 8 | p[0]) : 0;
}

static inline uint32_t cursor_u24be(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 3);
    return p ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2] : 0;
}

static inline uint32_t cursor_u24le(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 3);
    return p ? (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0] : 0;
}

static inline uint32_t cursor_u32be(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 4);
    return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static inline uint32_t cursor_u32le(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 4);
    return p ? (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0] : 0;
}

/* One take of 8 bytes, so a short read returns 0 rather than a half-read value. */
static inline uint64_t cursor_u64be(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline uint64_t cursor_u64le(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 8);
    uint64_t v = 0;
    for (int i = 7; p && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Peeks without moving; out of range reads 0 and sets *ok = 0 (ok may be NULL). */
static inline uint8_t cursor_peek_u8(const struct cursor *c, size_t at, int *ok)
{
    if (c->err != CURSOR_OK || at >= c->end - c->off) {
        if (ok) *ok = 0;
        return 0;
    }
    if (ok) *ok = 1;
    return c->base[c->off + at];
}

static inline uint16_t cursor_peek_u16be(const struct cursor *c, size_t at, int *ok)
{
    int a = 1, b = 1;
    uint16_t v = (uint16_t)(cursor_peek_u8(c, at, &a) << 8 | cursor_peek_u8(c, at + 1, &b));
    if (ok) *ok = a && b;
    return v;
}

/* Confines a nested PDU of declared length n. The parent advances past it. If the
 * parent holds fewer than n bytes, the sub-cursor covers the bytes that are there
 * (so a truncated PDU can still be read in part) and the parent is marked
 * TRUNCATED. */
static inline struct cursor cursor_sub(struct cursor *c, size_t n)
{
    struct cursor s = {c->base, c->off, c->off, c->err};
    if (c->err != CURSOR_OK) return s;
    if (c->end - c->off >= n) {
        s.end = c->off + n;
        c->off += n;
    } else {
        s.end = c->end;
        c->off = c->end;
        c->err = CURSOR_TRUNCATED;
    }
    return s;
}

/* The rest of the cursor as a sub-cursor; the parent is consumed. */
static inline struct cursor cursor_rest(struct cursor *c)
{
    return cursor_sub(c, cursor_left(c));
}

/* A view of the remaining bytes (for copying strings into events). */
static inline const uint8_t *cursor_peek_ptr(const struct cursor *c, size_t n)
{
    if (!cursor_has(c, n) || !c->base) return NULL; /* NULL + 0 is undefined too */
    return c->base + c->off;
}

/* Offset, from the current position, of the first byte ch at or after from within the
 * next limit bytes (fewer if fewer are left), or -1. Moves nothing. */
static inline long cursor_find(const struct cursor *c, size_t from, size_t limit, uint8_t ch)
{
    size_t end = cursor_left(c) < limit ? cursor_left(c) : limit;
    if (from >= end) return -1;
    const uint8_t *p = cursor_peek_ptr(c, end); /* end bytes the cursor vouches for */
    if (!p) return -1;
    const uint8_t *hit = memchr(p + from, ch, end - from); /* stays inside them */
    return hit ? (long)(hit - p) : -1;
}

#endif
