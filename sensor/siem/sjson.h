/* sjson.h - a small, strict, bounds-checked JSON reader for the SIEM connector.
 *
 * The alert JSON comes from our own rules/alert_json.c, but it travels through Redis, so
 * it is treated as untrusted: the reader validates the whole text (RFC 8259, UTF-8
 * included), caps nesting and token count, and never reads outside [s, s+n). It makes a
 * flat token array (like jsmn): each token knows its type, its bytes and where its
 * subtree ends, so a lookup walks siblings without recursion. */
#ifndef OTS_SJSON_H
#define OTS_SJSON_H

#include <stddef.h>
#include <stdint.h>

enum sjson_type { SJ_NULL = 1, SJ_FALSE, SJ_TRUE, SJ_NUM, SJ_STR, SJ_ARR, SJ_OBJ };

struct sjson_tok {
    uint8_t type;
    uint32_t start, end; /* bytes of the value; a string's are inside the quotes */
    uint32_t next;       /* index of the first token after this subtree */
    uint32_t size;       /* object: pairs; array: elements */
};

#define SJSON_MAX_DEPTH 32

struct sjson {
    const char *s;
    size_t n;
    struct sjson_tok *tok;
    uint32_t ntok, cap;
};

/* Parses s[0..n) with room for cap tokens (an object's key is a token too). Returns 0,
 * or -1 with a short reason in err (bad syntax, bad UTF-8, too deep, too many tokens). */
int sjson_parse(struct sjson *d, const char *s, size_t n, struct sjson_tok *tok, uint32_t cap,
                char *err, size_t errlen);

/* The value under key in object token obj, or -1 (not an object, no such key). */
int sjson_get(const struct sjson *d, int obj, const char *key);
/* A dotted path from the root ("source.ip"); -1 when any step is missing. */
int sjson_path(const struct sjson *d, const char *path);
/* Element i of array token arr, or -1. */
int sjson_at(const struct sjson *d, int arr, uint32_t i);

/* Decodes string token t into out (NUL-terminated) as valid UTF-8: escapes resolved,
 * a lone surrogate or \u0000 becomes U+FFFD. Truncates at a character boundary when out
 * is too small. Returns the length written, or -1 if t is not a string. */
int sjson_str(const struct sjson *d, int t, char *out, size_t outlen);
/* Integer value of a number token (no fraction or exponent, fits in int64); 0 or -1. */
int sjson_int(const struct sjson *d, int t, int64_t *v);
/* Any scalar as text: strings decoded, numbers/true/false as written, null as "".
 * Returns the length, or -1 for arrays, objects and t < 0. */
int sjson_text(const struct sjson *d, int t, char *out, size_t outlen);
/* Length of the valid UTF-8 sequence at s[0..n), or 0 (overlong, surrogate, > U+10FFFF,
 * cut short). */
size_t sjson_utf8_len(const unsigned char *s, size_t n);

#endif
