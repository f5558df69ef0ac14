/* jbuf.c - JSON text writer into a fixed buffer. */
#include "jbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void jbuf_init(struct jbuf *j, char *buf, size_t cap)
{
    j->buf = buf;
    j->cap = cap;
    j->len = 0;
    j->overflow = 0;
}

/* Decimal digits of v at the end of b[20]; returns where they start. Written out
 * by hand: alerts and events carry a dozen numbers each, and snprintf's format
 * machinery cost more than the rest of the JSON writer together. */
static char *u64_digits(char *end, uint64_t v)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

void jbuf_u64(struct jbuf *j, uint64_t v)
{
    char b[20];
    char *p = u64_digits(b + sizeof(b), v);
    jbuf_put(j, p, (size_t)(b + sizeof(b) - p));
}

void jbuf_i64(struct jbuf *j, int64_t v)
{
    char b[21];
    /* the magnitude as unsigned, so INT64_MIN needs no special case */
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = u64_digits(b + sizeof(b), m);
    if (v < 0) *--p = '-';
    jbuf_put(j, p, (size_t)(b + sizeof(b) - p));
}

void jbuf_double(struct jbuf *j, double v)
{
    if (!isfinite(v)) {
        jbuf_puts(j, "null");
        return;
    }
    char b[40];
    int n = snprintf(b, sizeof(b), "%.17g", v);
    jbuf_put(j, b, (size_t)n);
}

/* Length of a valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void jbuf_str(struct jbuf *j, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    jbuf_putc(j, '"');
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            char b[2] = {'\\', (char)c};
            jbuf_put(j, b, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char b[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            jbuf_put(j, b, 6);
            i++;
        } else if (c < 0x80) {
            /* copy a run of plain ASCII at once */
            size_t k = i;
            while (k < n && p[k] >= 0x20 && p[k] < 0x7f && p[k] != '"' && p[k] != '\\')
                k++;
            jbuf_put(j, s + i, k - i);
            i = k;
        } else {
            size_t l = utf8_len(p + i, n - i);
            if (l) {
                jbuf_put(j, s + i, l);
                i += l;
            } else {
                char b[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                jbuf_put(j, b, 6);
                i++;
            }
        }
    }
    jbuf_putc(j, '"');
}

void jbuf_hex(struct jbuf *j, const uint8_t *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    jbuf_putc(j, '"');
    char tmp[64];
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        tmp[t++] = hex[b[i] >> 4];
        tmp[t++] = hex[b[i] & 15];
        if (t == sizeof(tmp)) {
            jbuf_put(j, tmp, t);
            t = 0;
        }
    }
    jbuf_put(j, tmp, t);
    jbuf_putc(j, '"');
}
