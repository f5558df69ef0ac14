/* sjson.c - see sjson.h. Recursive descent with a depth cap; positions are offsets
 * checked against n before every read. */
#include "sjson.h"

#include <stdio.h>
#include <string.h>

struct parser {
    struct sjson *d;
    size_t pos;
    const char *why;
};

static int peek(const struct parser *p)
{
    return p->pos < p->d->n ? (unsigned char)p->d->s[p->pos] : -1;
}

static void skip_ws(struct parser *p)
{
    for (int c = peek(p); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(p))
        p->pos++;
}

static int fail(struct parser *p, const char *why)
{
    if (!p->why) p->why = why;
    return -1;
}

static int new_tok(struct parser *p, uint8_t type)
{
    if (p->d->ntok >= p->d->cap) return fail(p, "too many tokens");
    int i = (int)p->d->ntok++;
    struct sjson_tok *t = &p->d->tok[i];
    memset(t, 0, sizeof(*t));
    t->type = type;
    t->start = (uint32_t)p->pos;
    return i;
}

size_t sjson_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    unsigned cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

static int hex4(const struct parser *p, size_t at, unsigned *v)
{
    if (p->d->n - at < 4 || at > p->d->n) return -1;
    unsigned x = 0;
    for (size_t i = 0; i < 4; i++) {
        char c = p->d->s[at + i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *v = x;
    return 0;
}

static int parse_string(struct parser *p)
{
    p->pos++; /* the opening quote */
    int t = new_tok(p, SJ_STR);
    if (t < 0) return -1;
    const unsigned char *s = (const unsigned char *)p->d->s;
    while (p->pos < p->d->n) {
        unsigned c = s[p->pos];
        if (c == '"') {
            p->d->tok[t].end = (uint32_t)p->pos;
            p->pos++;
            return t;
        }
        if (c < 0x20) return fail(p, "control character in a string");
        if (c == '\\') {
            if (p->pos + 1 >= p->d->n) break;
            char e = (char)s[p->pos + 1];
            if (e == 'u') {
                unsigned v;
                if (hex4(p, p->pos + 2, &v) != 0) return fail(p, "bad \\u escape");
                p->pos += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                p->pos += 2;
            } else {
                return fail(p, "bad escape");
            }
            continue;
        }
        size_t l = sjson_utf8_len(s + p->pos, p->d->n - p->pos);
        if (!l) return fail(p, "invalid UTF-8");
        p->pos += l;
    }
    return fail(p, "unterminated string");
}

static int digits(struct parser *p)
{
    size_t start = p->pos;
    while (peek(p) >= '0' && peek(p) <= '9')
        p->pos++;
    return p->pos > start ? 0 : -1;
}

static int parse_number(struct parser *p)
{
    int t = new_tok(p, SJ_NUM);
    if (t < 0) return -1;
    if (peek(p) == '-') p->pos++;
    if (peek(p) == '0')
        p->pos++;
    else if (digits(p) != 0)
        return fail(p, "bad number");
    if (peek(p) == '.') {
        p->pos++;
        if (digits(p) != 0) return fail(p, "bad number");
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (digits(p) != 0) return fail(p, "bad number");
    }
    p->d->tok[t].end = (uint32_t)p->pos;
    return t;
}

static int parse_word(struct parser *p, const char *w, uint8_t type)
{
    size_t l = strlen(w);
    if (p->d->n - p->pos < l || memcmp(p->d->s + p->pos, w, l) != 0)
        return fail(p, "unexpected character");
    int t = new_tok(p, type);
    if (t < 0) return -1;
    p->pos += l;
    p->d->tok[t].end = (uint32_t)p->pos;
    return t;
}

static int parse_value(struct parser *p, int depth);

static int parse_container(struct parser *p, int depth, int is_obj)
{
    if (depth >= SJSON_MAX_DEPTH) return fail(p, "nested too deep");
    int t = new_tok(p, is_obj ? SJ_OBJ : SJ_ARR);
    if (t < 0) return -1;
    char close = is_obj ? '}' : ']';
    p->pos++;
    skip_ws(p);
    uint32_t size = 0;
    if (peek(p) == close) {
        p->pos++;
    } else {
        for (;;) {
            skip_ws(p);
            if (is_obj) {
                if (peek(p) != '"') return fail(p, "expected a key");
                if (parse_string(p) < 0) return -1;
                skip_ws(p);
                if (peek(p) != ':') return fail(p, "expected ':'");
                p->pos++;
                /* a key is a leaf: its subtree ends right after it */
                p->d->tok[p->d->ntok - 1].next = p->d->ntok;
            }
            if (parse_value(p, depth + 1) < 0) return -1;
            size++;
            skip_ws(p);
            int c = peek(p);
            p->pos++;
            if (c == close) break;
            if (c != ',') return fail(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    p->d->tok[t].end = (uint32_t)p->pos;
    p->d->tok[t].size = size;
    return t;
}

static int parse_value(struct parser *p, int depth)
{
    skip_ws(p);
    int c = peek(p), t;
    switch (c) {
    case '{': t = parse_container(p, depth, 1); break;
    case '[': t = parse_container(p, depth, 0); break;
    case '"': t = parse_string(p); break;
    case 't': t = parse_word(p, "true", SJ_TRUE); break;
    case 'f': t = parse_word(p, "false", SJ_FALSE); break;
    case 'n': t = parse_word(p, "null", SJ_NULL); break;
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            t = parse_number(p);
        else
            return fail(p, c < 0 ? "unexpected end" : "unexpected character");
    }
    if (t >= 0) p->d->tok[t].next = p->d->ntok;
    return t;
}

int sjson_parse(struct sjson *d, const char *s, size_t n, struct sjson_tok *tok, uint32_t cap,
                char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    d->s = s;
    d->n = n;
    d->tok = tok;
    d->cap = cap;
    struct parser p = {d, 0, NULL};
    if (n >= UINT32_MAX) {
        p.why = "too long";
    } else if (parse_value(&p, 0) >= 0) {
        skip_ws(&p);
        if (p.pos != n) fail(&p, "text after the value");
    }
    if (p.why) {
        if (err) snprintf(err, errlen, "%s at byte %zu", p.why, p.pos);
        d->ntok = 0;
        return -1;
    }
    return 0;
}

static int tok_ok(const struct sjson *d, int t)
{
    return t >= 0 && (uint32_t)t < d->ntok;
}

int sjson_get(const struct sjson *d, int obj, const char *key)
{
    if (!tok_ok(d, obj) || d->tok[obj].type != SJ_OBJ) return -1;
    size_t kl = strlen(key);
    uint32_t i = (uint32_t)obj + 1;
    for (uint32_t k = 0; k < d->tok[obj].size && i + 1 < d->ntok; k++) {
        const struct sjson_tok *kt = &d->tok[i];
        /* keys with escapes never match: ours are plain ASCII */
        if (kt->end - kt->start == kl && memcmp(d->s + kt->start, key, kl) == 0) return (int)i + 1;
        i = d->tok[i + 1].next;
    }
    return -1;
}

int sjson_path(const struct sjson *d, const char *path)
{
    int t = d->ntok ? 0 : -1;
    char key[64];
    while (t >= 0 && *path) {
        const char *dot = strchr(path, '.');
        size_t l = dot ? (size_t)(dot - path) : strlen(path);
        if (l >= sizeof(key)) return -1;
        memcpy(key, path, l);
        key[l] = '\0';
        t = sjson_get(d, t, key);
        path += l + (dot ? 1 : 0);
    }
    return t;
}

int sjson_at(const struct sjson *d, int arr, uint32_t idx)
{
    if (!tok_ok(d, arr) || d->tok[arr].type != SJ_ARR || idx >= d->tok[arr].size) return -1;
    uint32_t i = (uint32_t)arr + 1;
    for (uint32_t k = 0; k < idx; k++)
        i = d->tok[i].next;
    return tok_ok(d, (int)i) ? (int)i : -1;
}

/* Appends code point cp as UTF-8 if it fits whole; 0 or -1 (no room). */
static int put_cp(char *out, size_t outlen, size_t *o, unsigned cp)
{
    char b[4];
    size_t l;
    if (cp < 0x80)
        b[0] = (char)cp, l = 1;
    else if (cp < 0x800)
        b[0] = (char)(0xc0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3f)), l = 2;
    else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        l = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        l = 4;
    }
    if (*o + l >= outlen) return -1;
    memcpy(out + *o, b, l);
    *o += l;
    return 0;
}

int sjson_str(const struct sjson *d, int t, char *out, size_t outlen)
{
    if (!outlen) return -1;
    out[0] = '\0';
    if (!tok_ok(d, t) || d->tok[t].type != SJ_STR) return -1;
    const unsigned char *s = (const unsigned char *)d->s;
    size_t i = d->tok[t].start, end = d->tok[t].end, o = 0;
    struct parser p = {(struct sjson *)d, 0, NULL};
    while (i < end) {
        unsigned cp;
        if (s[i] == '\\' && i + 1 < end) {
            char e = (char)s[i + 1];
            i += 2;
            switch (e) {
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (hex4(&p, i, &cp) != 0) cp = 0xfffd; /* validated at parse: cannot happen */
                i += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    if (i + 6 <= end && s[i] == '\\' && s[i + 1] == 'u' &&
                        hex4(&p, i + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        i += 6;
                    } else {
                        cp = 0xfffd;
                    }
                } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
                    cp = 0xfffd;
                }
                break;
            default: cp = (unsigned char)e; break; /* \" \\ \/ */
            }
            if (put_cp(out, outlen, &o, cp) != 0) break;
            continue;
        }
        size_t l = sjson_utf8_len(s + i, end - i);
        if (!l) { /* validated at parse; kept safe anyway */
            if (put_cp(out, outlen, &o, 0xfffd) != 0) break;
            i++;
            continue;
        }
        if (o + l >= outlen) break;
        memcpy(out + o, s + i, l);
        o += l;
        i += l;
    }
    out[o] = '\0';
    return (int)o;
}

int sjson_int(const struct sjson *d, int t, int64_t *v)
{
    if (!tok_ok(d, t) || d->tok[t].type != SJ_NUM) return -1;
    const char *s = d->s + d->tok[t].start;
    size_t n = d->tok[t].end - d->tok[t].start, i = 0;
    int neg = 0;
    if (n && s[0] == '-') neg = 1, i = 1;
    if (i >= n) return -1;
    uint64_t x = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1; /* a fraction or an exponent */
        if (x > (UINT64_C(1) << 62) / 5) return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
        if (x > (uint64_t)INT64_MAX) return -1;
    }
    *v = neg ? -(int64_t)x : (int64_t)x;
    return 0;
}

int sjson_text(const struct sjson *d, int t, char *out, size_t outlen)
{
    if (!outlen) return -1;
    out[0] = '\0';
    if (!tok_ok(d, t)) return -1;
    const struct sjson_tok *k = &d->tok[t];
    switch (k->type) {
    case SJ_STR: return sjson_str(d, t, out, outlen);
    case SJ_NULL: return 0;
    case SJ_NUM:
    case SJ_TRUE:
    case SJ_FALSE: {
        size_t l = k->end - k->start;
        if (l >= outlen) l = outlen - 1;
        memcpy(out, d->s + k->start, l);
        out[l] = '\0';
        return (int)l;
    }
    default: return -1;
    }
}
