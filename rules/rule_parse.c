/* rule_parse.c - the Suricata/Snort rule subset of DESIGN §5, parsed into struct rule.
 *
 *   action proto src sport dir dst dport (keyword:value; keyword; ...)
 *
 * A rule may span lines (options continue until the closing parenthesis outside a
 * quoted string); `var`/`ipvar`/`portvar NAME value` lines define variables used after
 * them. Every error is reported as "file:line:col: message" (col: 1-based byte). */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "dnp3.h"
#include "rule_int.h"

/* ---- arena ---- */

struct arena {
    struct arena *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *rs_alloc(struct ruleset *rs, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    struct arena *a = rs->arena;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        struct arena *na = malloc(sizeof(*na) + cap);
        if (!na) return NULL;
        na->next = a;
        na->used = 0;
        na->cap = cap;
        rs->arena = na;
        a = na;
    }
    void *p = a->data + a->used;
    a->used += n;
    memset(p, 0, n);
    return p;
}

const char *rs_strndup(struct ruleset *rs, const char *s, size_t n)
{
    char *d = rs_alloc(rs, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

int rs_proto_index(struct ruleset *rs, const char *name, int create)
{
    for (int i = 0; i < rs->nprotos; i++)
        if (!strcmp(rs->protos[i].name, name)) return i;
    if (!create || rs->nprotos >= RS_MAX_PROTOS) return -1;
    rs->protos[rs->nprotos].name = rs_strndup(rs, name, strlen(name));
    return rs->nprotos++;
}

/* ---- parse context and errors ---- */

#define MAX_VARS      256
#define MAX_VAR_DEPTH 8

struct var {
    const char *name, *value;
    int is_port; /* -1 either (var), 0 address (ipvar), 1 port (portvar) */
};

struct pctx {
    struct ruleset *rs;
    const char *file, *ruleset_name;
    const char *buf;
    size_t len;
    char *err;
    size_t errlen, errused;
    int nerr;
    struct var vars[MAX_VARS];
    int nvars;
    int depth;
    size_t var_off; /* where the variable being expanded was named */
    int in_var;
    size_t lc_pos, lc_ls; /* line_col's position and the start of its line */
    int lc_line;
};

/* Line and column of a byte offset; incremental, as rules are parsed in order. */
static void line_col(struct pctx *P, size_t off, int *line, int *col)
{
    if (off > P->len) off = P->len;
    if (off < P->lc_pos) {
        P->lc_pos = 0;
        P->lc_line = 1;
        P->lc_ls = 0;
    }
    for (size_t i = P->lc_pos; i < off; i++)
        if (P->buf[i] == '\n') {
            P->lc_line++;
            P->lc_ls = i + 1;
        }
    P->lc_pos = off;
    *line = P->lc_line;
    *col = (int)(off - P->lc_ls) + 1;
}

static void set_buf(struct pctx *P, const char *buf, size_t len)
{
    P->buf = buf;
    P->len = len;
    P->lc_pos = 0;
    P->lc_line = 1;
    P->lc_ls = 0;
}

void rule_err_vappend(char *err, size_t errlen, const char *file, int line, int col,
                      const char *fmt, va_list ap)
{
    if (!err || !errlen) return;
    size_t used = strnlen(err, errlen);
    if (used + 1 >= errlen) return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    snprintf(err + used, errlen - used, "%s:%d:%d: %s\n", file, line, col, msg);
}

__attribute__((format(printf, 3, 4))) static void perr(struct pctx *P, size_t off, const char *fmt,
                                                       ...)
{
    P->nerr++;
    if (!P->err || P->errlen == 0 || P->errused + 1 >= P->errlen) return;
    if (P->in_var) off = P->var_off;
    int line, col;
    line_col(P, off, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    rule_err_vappend(P->err, P->errlen, P->file, line, col, fmt, ap);
    va_end(ap);
    P->errused = strnlen(P->err, P->errlen);
}

void rp_begin(struct pctx *P, const char *file, const char *text, size_t len)
{
    P->file = rs_strndup(P->rs, file, strlen(file));
    set_buf(P, text, len);
}

void rp_error(struct pctx *P, size_t off, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    perr(P, off, "%s", msg);
}

struct ruleset *rp_ruleset(struct pctx *P)
{
    return P->rs;
}

/* A slice of the file: text and where it starts. */
struct sv {
    const char *p;
    size_t n, off;
};

static struct sv sv_trim(struct sv s)
{
    while (s.n && isspace((unsigned char)s.p[0])) {
        s.p++;
        s.n--;
        s.off++;
    }
    while (s.n && isspace((unsigned char)s.p[s.n - 1]))
        s.n--;
    return s;
}

static int sv_eq(struct sv s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && !memcmp(s.p, lit, n);
}

static struct sv sv_sub(struct sv s, size_t from, size_t n)
{
    struct sv r = {s.p + from, n, s.off + from};
    return r;
}

/* Splits s at the first top-level sep (outside quotes and brackets). */
static int sv_split(struct sv s, char sep, struct sv *head, struct sv *rest)
{
    int q = 0, br = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (q) {
            if (c == '\\' && i + 1 < s.n)
                i++;
            else if (c == '"')
                q = 0;
            continue;
        }
        if (c == '"')
            q = 1;
        else if (c == '[')
            br++;
        else if (c == ']' && br)
            br--;
        else if (c == sep && !br) {
            *head = sv_sub(s, 0, i);
            *rest = sv_sub(s, i + 1, s.n - i - 1);
            return 1;
        }
    }
    *head = s;
    rest->p = s.p + s.n;
    rest->n = 0;
    rest->off = s.off + s.n;
    return 0;
}

/* First whitespace-separated word of s; rest after it. */
static struct sv sv_word(struct sv s, struct sv *rest)
{
    s = sv_trim(s);
    size_t i = 0;
    while (i < s.n && !isspace((unsigned char)s.p[i]))
        i++;
    *rest = sv_trim(sv_sub(s, i, s.n - i));
    return sv_sub(s, 0, i);
}

static int parse_u64(struct sv s, uint64_t max, uint64_t *out)
{
    if (!s.n || s.n > 20) return 0;
    char tmp[24];
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = 0;
    if (!isdigit((unsigned char)tmp[0])) return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 0);
    if (errno || *end || v > max) return 0;
    *out = v;
    return 1;
}

/* A quoted string: "..." with \" \\ \; escapes; or a bare word. */
static const char *unquote(struct pctx *P, struct sv s, size_t *outlen)
{
    s = sv_trim(s);
    if (!s.n || s.p[0] != '"') {
        *outlen = s.n;
        return rs_strndup(P->rs, s.p, s.n);
    }
    if (s.n < 2 || s.p[s.n - 1] != '"') {
        perr(P, s.off, "unterminated string");
        return NULL;
    }
    char *d = rs_alloc(P->rs, s.n);
    if (!d) return NULL;
    size_t k = 0;
    for (size_t i = 1; i + 1 < s.n; i++) {
        char c = s.p[i];
        if (c == '\\' && i + 2 < s.n)
            c = s.p[++i];
        else if (c == '"') {
            perr(P, s.off + i, "unescaped '\"' inside a string");
            return NULL;
        }
        d[k++] = c;
    }
    d[k] = 0;
    *outlen = k;
    return d;
}

/* ---- variables ---- */

static const struct {
    const char *name, *value;
} default_vars[] = {
    {"HOME_NET", "any"},
    {"EXTERNAL_NET", "any"},
    {"HTTP_SERVERS", "$HOME_NET"},
    {"SMTP_SERVERS", "$HOME_NET"},
    {"SQL_SERVERS", "$HOME_NET"},
    {"DNS_SERVERS", "$HOME_NET"},
    {"TELNET_SERVERS", "$HOME_NET"},
    {"DNP3_SERVER", "$HOME_NET"},
    {"DNP3_CLIENT", "$HOME_NET"},
    {"MODBUS_CLIENT", "$HOME_NET"},
    {"MODBUS_SERVER", "$HOME_NET"},
    {"ENIP_CLIENT", "$HOME_NET"},
    {"ENIP_SERVER", "$HOME_NET"},
    {"PLC_NET", "$HOME_NET"},
    {"ENGINEERING", "$HOME_NET"},
    {"HTTP_PORTS", "80"},
    {"SHELLCODE_PORTS", "!80"},
    {"ORACLE_PORTS", "1521"},
    {"SSH_PORTS", "22"},
    {"DNP3_PORTS", "20000"},
    {"MODBUS_PORTS", "502"},
    {"FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"},
    {"FTP_PORTS", "21"},
    {"IEC104_PORTS", "2404"},
    {"S7_PORTS", "102"},
    {"ENIP_PORTS", "44818"},
};

static const char *var_get(struct pctx *P, const char *name, size_t n)
{
    for (int i = P->nvars - 1; i >= 0; i--)
        if (strlen(P->vars[i].name) == n && !memcmp(P->vars[i].name, name, n))
            return P->vars[i].value;
    for (size_t i = 0; i < sizeof(default_vars) / sizeof(default_vars[0]); i++)
        if (strlen(default_vars[i].name) == n && !memcmp(default_vars[i].name, name, n))
            return default_vars[i].value;
    return NULL;
}

/* ---- addresses ---- */

#define MAX_LIST 64

struct net_buf {
    struct net_item v[MAX_LIST];
    int n;
};

/* An address or port parser: one item (or compound) into out (a net_buf or port_buf). */
typedef int (*item_fn)(struct pctx *P, struct sv s, int neg, void *out);

/* The forms addresses and ports share: "!x", "$VAR" (expanded in place, errors at the
 * variable's name), "[a, b, ...]". Trims *s; returns 1 when *s is a plain item left to
 * the caller, else the compound's result (0 or -1). what: "address" or "port". */
static int parse_compound(struct pctx *P, struct sv *sp, int neg, void *out, item_fn self,
                          const char *what)
{
    struct sv s = sv_trim(*sp);
    *sp = s;
    if (!s.n) {
        perr(P, s.off, "empty %s", what);
        return -1;
    }
    if (s.p[0] == '!') return self(P, sv_sub(s, 1, s.n - 1), !neg, out);
    if (s.p[0] == '$') {
        const char *val = var_get(P, s.p + 1, s.n - 1);
        if (!val) {
            perr(P, s.off, "unknown variable '%.*s'", (int)s.n, s.p);
            return -1;
        }
        if (P->depth >= MAX_VAR_DEPTH) {
            perr(P, s.off, "variable '%.*s' nests too deep", (int)s.n, s.p);
            return -1;
        }
        int outer = !P->in_var;
        if (outer) {
            P->in_var = 1;
            P->var_off = s.off;
        }
        P->depth++;
        struct sv vs = {val, strlen(val), s.off};
        int rc = self(P, vs, neg, out);
        P->depth--;
        if (outer) P->in_var = 0;
        return rc;
    }
    if (s.p[0] == '[') {
        if (s.p[s.n - 1] != ']') {
            perr(P, s.off, "unterminated %s list", what);
            return -1;
        }
        struct sv in = sv_sub(s, 1, s.n - 2), head, rest;
        if (!sv_trim(in).n) {
            perr(P, s.off, "empty %s list", what);
            return -1;
        }
        for (;;) {
            int more = sv_split(in, ',', &head, &rest);
            if (self(P, head, neg, out) < 0) return -1;
            if (!more) break;
            in = rest;
        }
        return 0;
    }
    return 1;
}

static int parse_addr(struct pctx *P, struct sv s, int neg, void *outv)
{
    struct net_buf *out = outv;
    int rc = parse_compound(P, &s, neg, out, parse_addr, "address");
    if (rc != 1) return rc;
    if (sv_eq(s, "any")) {
        if (neg) {
            perr(P, s.off, "'!any' matches nothing");
            return -1;
        }
        if (out->n >= MAX_LIST) {
            perr(P, s.off, "address list longer than %d", MAX_LIST);
            return -1;
        }
        struct net_item *it = &out->v[out->n++];
        memset(it, 0, sizeof(*it));
        return 0;
    }
    char tmp[64];
    if (s.n >= sizeof(tmp)) {
        perr(P, s.off, "bad address '%.*s'", (int)(s.n > 40 ? 40 : s.n), s.p);
        return -1;
    }
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = 0;
    char *slash = strchr(tmp, '/');
    int bits = -1;
    if (slash) {
        *slash = 0;
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > 128) {
            perr(P, s.off + (size_t)(slash - tmp) + 1, "bad prefix length '%s'", slash + 1);
            return -1;
        }
        bits = (int)b;
    }
    struct net_item it;
    memset(&it, 0, sizeof(it));
    it.neg = (uint8_t)neg;
    unsigned char a4[4];
    if (inet_pton(AF_INET, tmp, a4) == 1) {
        if (bits > 32) {
            perr(P, s.off, "prefix length %d is longer than 32", bits);
            return -1;
        }
        it.addr[10] = it.addr[11] = 0xff;
        memcpy(it.addr + 12, a4, 4);
        it.bits = (uint8_t)(96 + (bits < 0 ? 32 : bits));
    } else if (inet_pton(AF_INET6, tmp, it.addr) == 1) {
        it.bits = (uint8_t)(bits < 0 ? 128 : bits);
    } else {
        perr(P, s.off, "bad address '%s'", tmp);
        return -1;
    }
    if (out->n >= MAX_LIST) {
        perr(P, s.off, "address list longer than %d", MAX_LIST);
        return -1;
    }
    out->v[out->n++] = it;
    return 0;
}

static int addr_set_build(struct pctx *P, struct sv s, struct addr_set *as)
{
    struct net_buf b;
    b.n = 0;
    if (parse_addr(P, s, 0, &b) < 0) return -1;
    /* a positive "any" among the items makes the positives irrelevant */
    int any = 0;
    for (int i = 0; i < b.n; i++)
        if (!b.v[i].neg && b.v[i].bits == 0) any = 1;
    int k = 0;
    for (int i = 0; i < b.n; i++)
        if (!(any && !b.v[i].neg)) b.v[k++] = b.v[i];
    as->n = k;
    if (k) {
        as->v = rs_alloc(P->rs, sizeof(*as->v) * (size_t)k);
        if (!as->v) return -1;
        memcpy(as->v, b.v, sizeof(*as->v) * (size_t)k);
    }
    return 0;
}

int rp_addr_set(struct pctx *P, const char *p, size_t n, size_t off, struct addr_set *out)
{
    struct sv s = {p, n, off};
    return addr_set_build(P, s, out);
}

/* ---- ports ---- */

struct port_buf {
    struct port_item v[MAX_LIST];
    int n;
};

static int parse_port(struct pctx *P, struct sv s, int neg, void *outv)
{
    struct port_buf *out = outv;
    int rc = parse_compound(P, &s, neg, out, parse_port, "port");
    if (rc != 1) return rc;
    struct port_item it = {0, 65535, (uint8_t)neg};
    if (sv_eq(s, "any")) {
        if (neg) {
            perr(P, s.off, "'!any' matches nothing");
            return -1;
        }
    } else {
        struct sv lo = s, hi = {0};
        size_t colon = s.n;
        for (size_t i = 0; i < s.n; i++)
            if (s.p[i] == ':') {
                colon = i;
                break;
            }
        uint64_t a = 0, b = 65535;
        if (colon < s.n) {
            lo = sv_sub(s, 0, colon);
            hi = sv_sub(s, colon + 1, s.n - colon - 1);
            if ((lo.n && !parse_u64(lo, 65535, &a)) || (hi.n && !parse_u64(hi, 65535, &b)) ||
                (!lo.n && !hi.n)) {
                perr(P, s.off, "bad port range '%.*s'", (int)s.n, s.p);
                return -1;
            }
            if (a > b) {
                perr(P, s.off, "port range '%.*s' is empty", (int)s.n, s.p);
                return -1;
            }
        } else {
            if (!parse_u64(s, 65535, &a)) {
                perr(P, s.off, "bad port '%.*s'", (int)(s.n > 40 ? 40 : s.n), s.p);
                return -1;
            }
            b = a;
        }
        it.lo = (uint16_t)a;
        it.hi = (uint16_t)b;
    }
    if (out->n >= MAX_LIST) {
        perr(P, s.off, "port list longer than %d", MAX_LIST);
        return -1;
    }
    out->v[out->n++] = it;
    return 0;
}

static int port_set_build(struct pctx *P, struct sv s, struct port_set *ps)
{
    struct port_buf b;
    b.n = 0;
    if (parse_port(P, s, 0, &b) < 0) return -1;
    int any = 0;
    for (int i = 0; i < b.n; i++)
        if (!b.v[i].neg && b.v[i].lo == 0 && b.v[i].hi == 65535) any = 1;
    int k = 0;
    for (int i = 0; i < b.n; i++)
        if (!(any && !b.v[i].neg)) b.v[k++] = b.v[i];
    ps->n = k;
    if (k) {
        ps->v = rs_alloc(P->rs, sizeof(*ps->v) * (size_t)k);
        if (!ps->v) return -1;
        memcpy(ps->v, b.v, sizeof(*ps->v) * (size_t)k);
    }
    return 0;
}

/* ---- the rule being built ---- */

struct rtmp {
    struct rule r;
    struct cond conds[RULE_MAX_CONDS];
    struct content contents[RULE_MAX_CONTENTS];
    const char *implied; /* application protocol a keyword binds to */
    size_t implied_off;
    const char *implied_kw;
    int has_sid, has_msg;
};

static struct cond *cond_add(struct pctx *P, struct rtmp *t, size_t off, enum cond_type type)
{
    if (t->r.nconds >= RULE_MAX_CONDS) {
        perr(P, off, "too many conditions (at most %d)", RULE_MAX_CONDS);
        return NULL;
    }
    struct cond *c = &t->conds[t->r.nconds++];
    memset(c, 0, sizeof(*c));
    c->type = (uint8_t)type;
    return c;
}

/* A keyword that only makes sense for one application protocol. */
static int bind_proto(struct pctx *P, struct rtmp *t, size_t off, const char *kw, const char *proto)
{
    /* CIP rides in EtherNet/IP: Suricata's cip_service goes with an enip header */
    if (t->implied && !strcmp(t->implied, "enip") && !strcmp(proto, "cip") &&
        !strcmp(t->implied_kw, "the rule header"))
        t->implied = NULL;
    if (t->implied && strcmp(t->implied, proto)) {
        perr(P, off, "'%s' matches %s events but '%s' already binds the rule to %s", kw, proto,
             t->implied_kw, t->implied);
        return -1;
    }
    t->implied = proto;
    t->implied_off = off;
    t->implied_kw = kw;
    return 0;
}

/* Narrows the codes the rule can match (keywords AND together: the sets intersect). */
static void code_keys(struct rtmp *t, const int64_t *v, int n)
{
    if (n <= 0 || n > RULE_MAX_KEYS) return; /* too wide to be worth a key */
    if (!t->r.has_code_key) {
        t->r.has_code_key = 1;
        t->r.ncodes = (uint8_t)n;
        memcpy(t->r.codes, v, sizeof(*v) * (size_t)n);
        return;
    }
    int k = 0;
    for (int i = 0; i < t->r.ncodes; i++)
        for (int j = 0; j < n; j++)
            if (t->r.codes[i] == v[j]) {
                t->r.codes[k++] = t->r.codes[i];
                break;
            }
    t->r.ncodes = (uint8_t)k;
}

static void code_key(struct rtmp *t, int64_t code)
{
    code_keys(t, &code, 1);
}

/* An integer match on the code: keys for N and for short ranges. */
static void code_key_im(struct rtmp *t, const struct intmatch *im)
{
    if (im->op == IM_EQ) {
        code_key(t, im->a);
    } else if (im->op == IM_RANGE && im->b - im->a - 1 <= RULE_MAX_KEYS) {
        int64_t v[RULE_MAX_KEYS];
        int n = 0;
        for (int64_t c = im->a + 1; c < im->b; c++)
            v[n++] = c;
        code_keys(t, v, n);
    }
}

/* Suricata's unsigned integer forms. */
static int parse_intmatch(struct pctx *P, struct sv s, const char *what, struct intmatch *im)
{
    s = sv_trim(s);
    uint64_t a, b;
    im->op = IM_EQ;
    size_t skip = 0;
    if (s.n >= 2 && s.p[0] == '<' && s.p[1] == '=')
        im->op = IM_LE, skip = 2;
    else if (s.n >= 2 && s.p[0] == '>' && s.p[1] == '=')
        im->op = IM_GE, skip = 2;
    else if (s.n >= 1 && s.p[0] == '<')
        im->op = IM_LT, skip = 1;
    else if (s.n >= 1 && s.p[0] == '>')
        im->op = IM_GT, skip = 1;
    else if (s.n >= 1 && s.p[0] == '!')
        im->op = IM_NE, skip = 1;
    struct sv v = sv_trim(sv_sub(s, skip, s.n - skip));
    if (im->op == IM_EQ) {
        for (size_t i = 1; i < v.n; i++) {
            size_t seplen = 0;
            if (v.p[i] == '-')
                seplen = 1;
            else if (v.p[i] == '<' && i + 1 < v.n && v.p[i + 1] == '>')
                seplen = 2;
            if (!seplen) continue;
            if (!parse_u64(sv_trim(sv_sub(v, 0, i)), UINT32_MAX * 65536ull, &a) ||
                !parse_u64(sv_trim(sv_sub(v, i + seplen, v.n - i - seplen)), UINT32_MAX * 65536ull,
                           &b) ||
                a >= b) {
                perr(P, s.off, "bad %s range '%.*s'", what, (int)s.n, s.p);
                return -1;
            }
            im->op = IM_RANGE;
            im->a = (int64_t)a;
            im->b = (int64_t)b;
            return 0;
        }
    }
    if (!parse_u64(v, UINT32_MAX * 65536ull, &a)) {
        perr(P, s.off, "bad %s value '%.*s'", what, (int)(s.n > 40 ? 40 : s.n), s.p);
        return -1;
    }
    im->a = (int64_t)a;
    return 0;
}

/* ---- option handlers ---- */

typedef int (*kw_fn)(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val);

static int need_val(struct pctx *P, struct sv val, size_t kwoff, int has_val, const char *kw)
{
    if (!has_val || !sv_trim(val).n) {
        perr(P, kwoff, "'%s' needs a value", kw);
        return -1;
    }
    return 0;
}

static int kw_msg(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "msg")) return -1;
    size_t n;
    t->r.msg = unquote(P, val, &n);
    t->has_msg = 1;
    return t->r.msg ? 0 : -1;
}

static int kw_u32(struct pctx *P, struct sv val, size_t kwoff, int has_val, const char *kw,
                  uint32_t min, uint32_t max, uint32_t *out)
{
    if (need_val(P, val, kwoff, has_val, kw)) return -1;
    uint64_t v;
    val = sv_trim(val);
    if (!parse_u64(val, max, &v) || v < min) {
        perr(P, val.off, "'%s' must be an integer from %u to %u", kw, min, max);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int kw_sid(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    t->has_sid = 1;
    return kw_u32(P, val, kwoff, has_val, "sid", 1, UINT32_MAX, &t->r.sid);
}
static int kw_rev(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    return kw_u32(P, val, kwoff, has_val, "rev", 0, UINT32_MAX, &t->r.rev);
}
static int kw_gid(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    return kw_u32(P, val, kwoff, has_val, "gid", 0, UINT32_MAX, &t->r.gid);
}
static int kw_priority(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    uint32_t v;
    if (kw_u32(P, val, kwoff, has_val, "priority", 1, 255, &v)) return -1;
    t->r.priority = (int)v;
    return 0;
}

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

static int kw_severity(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "severity")) return -1;
    val = sv_trim(val);
    for (int i = 0; i < 5; i++)
        if (sv_eq(val, sev_names[i])) {
            t->r.severity = i;
            return 0;
        }
    uint64_t v;
    if (!parse_u64(val, 4, &v)) {
        perr(P, val.off, "'severity' must be 0-4 or info, low, medium, high, critical");
        return -1;
    }
    t->r.severity = (int)v;
    return 0;
}

static int kw_classtype(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "classtype")) return -1;
    val = sv_trim(val);
    for (size_t i = 0; i < val.n; i++)
        if (!isalnum((unsigned char)val.p[i]) && val.p[i] != '-' && val.p[i] != '_') {
            perr(P, val.off + i, "bad classtype name");
            return -1;
        }
    t->r.classtype = rs_strndup(P->rs, val.p, val.n);
    if (P->rs->ncls) {
        t->r.cls = ruleset_classification(P->rs, t->r.classtype);
        if (!t->r.cls) {
            perr(P, val.off, "unknown classtype '%.*s'", (int)val.n, val.p);
            return -1;
        }
    }
    return 0;
}

static int kw_reference(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "reference")) return -1;
    val = sv_trim(val);
    struct sv type, rest;
    if (!sv_split(val, ',', &type, &rest) || !sv_trim(type).n || !sv_trim(rest).n) {
        perr(P, val.off, "'reference' must be <type>,<id>");
        return -1;
    }
    if (t->r.nrefs >= RULE_MAX_REFS) {
        perr(P, kwoff, "too many references (at most %d)", RULE_MAX_REFS);
        return -1;
    }
    t->r.refs[t->r.nrefs++] = rs_strndup(P->rs, val.p, val.n);
    return 0;
}

static int kw_metadata(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "metadata")) return -1;
    val = sv_trim(val);
    if (t->r.metadata) {
        /* several metadata keywords accumulate */
        size_t a = strlen(t->r.metadata);
        char *m = rs_alloc(P->rs, a + 2 + val.n + 1);
        if (!m) return -1;
        memcpy(m, t->r.metadata, a);
        memcpy(m + a, ", ", 2);
        memcpy(m + a + 2, val.p, val.n);
        t->r.metadata = m;
    } else {
        t->r.metadata = rs_strndup(P->rs, val.p, val.n);
    }
    return 0;
}

static int kw_flow(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "flow")) return -1;
    struct sv head, rest, in = val;
    for (;;) {
        int more = sv_split(in, ',', &head, &rest);
        head = sv_trim(head);
        if (sv_eq(head, "to_server") || sv_eq(head, "from_client"))
            t->r.flow |= FLOW_TO_SERVER;
        else if (sv_eq(head, "to_client") || sv_eq(head, "from_server"))
            t->r.flow |= FLOW_TO_CLIENT;
        else if (sv_eq(head, "established"))
            t->r.flow |= FLOW_ESTABLISHED;
        else if (sv_eq(head, "not_established"))
            t->r.flow |= FLOW_NOT_ESTABLISHED;
        else if (sv_eq(head, "stateless") || sv_eq(head, "no_stream") || sv_eq(head, "only_stream"))
            ; /* events come from reassembled streams; nothing to select */
        else {
            perr(P, head.off, "unknown flow option '%.*s'", (int)head.n, head.p);
            return -1;
        }
        if (!more) break;
        in = rest;
    }
    if ((t->r.flow & FLOW_TO_SERVER) && (t->r.flow & FLOW_TO_CLIENT)) {
        perr(P, val.off, "flow cannot be both to_server and to_client");
        return -1;
    }
    if ((t->r.flow & FLOW_ESTABLISHED) && (t->r.flow & FLOW_NOT_ESTABLISHED)) {
        perr(P, val.off, "flow cannot be both established and not_established");
        return -1;
    }
    return 0;
}

/* content:"text|41 42|text"; with optional leading '!' */
static int kw_content(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "content")) return -1;
    if (t->r.ncontents >= RULE_MAX_CONTENTS) {
        perr(P, kwoff, "too many content keywords (at most %d)", RULE_MAX_CONTENTS);
        return -1;
    }
    val = sv_trim(val);
    int neg = 0;
    if (val.n && val.p[0] == '!') {
        neg = 1;
        val = sv_trim(sv_sub(val, 1, val.n - 1));
    }
    if (val.n < 2 || val.p[0] != '"' || val.p[val.n - 1] != '"') {
        perr(P, val.off, "content must be a quoted string");
        return -1;
    }
    uint8_t *pat = rs_alloc(P->rs, val.n);
    if (!pat) return -1;
    size_t k = 0;
    int hex = 0, nib = -1;
    for (size_t i = 1; i + 1 < val.n; i++) {
        unsigned char c = (unsigned char)val.p[i];
        if (c == '|') {
            if (hex && nib >= 0) {
                perr(P, val.off + i, "odd number of hex digits in content");
                return -1;
            }
            hex = !hex;
            continue;
        }
        if (hex) {
            if (c == ' ') continue;
            if (!isxdigit(c)) {
                perr(P, val.off + i, "bad hex digit '%c' in content", c);
                return -1;
            }
            int v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
            if (nib < 0) {
                nib = v;
            } else {
                pat[k++] = (uint8_t)(nib << 4 | v);
                nib = -1;
            }
            continue;
        }
        if (c == '\\' && i + 2 < val.n)
            c = (unsigned char)val.p[++i];
        else if (c == '"' || c == ';') {
            perr(P, val.off + i, "'%c' in content must be escaped", c);
            return -1;
        }
        pat[k++] = c;
    }
    if (hex) {
        perr(P, val.off, "unterminated hex block in content");
        return -1;
    }
    if (!k) {
        perr(P, val.off, "empty content");
        return -1;
    }
    struct content *c = &t->contents[t->r.ncontents++];
    memset(c, 0, sizeof(*c));
    c->pat = pat;
    c->len = k;
    c->neg = (uint8_t)neg;
    return 0;
}

static struct content *last_content(struct pctx *P, struct rtmp *t, size_t kwoff, const char *kw)
{
    if (!t->r.ncontents) {
        perr(P, kwoff, "'%s' needs a preceding content", kw);
        return NULL;
    }
    return &t->contents[t->r.ncontents - 1];
}

static int kw_nocase(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    struct content *c = last_content(P, t, kwoff, "nocase");
    if (!c) return -1;
    if (has_val) {
        perr(P, kwoff, "'nocase' takes no value");
        return -1;
    }
    c->nocase = 1;
    return 0;
}

static int kw_modifier(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val,
                       const char *kw)
{
    struct content *c = last_content(P, t, kwoff, kw);
    if (!c) return -1;
    if (need_val(P, val, kwoff, has_val, kw)) return -1;
    val = sv_trim(val);
    int neg = val.n && val.p[0] == '-';
    uint64_t v;
    if (!parse_u64(neg ? sv_sub(val, 1, val.n - 1) : val, 65535, &v) ||
        (neg && strcmp(kw, "distance"))) {
        perr(P, val.off, "'%s' must be an integer%s", kw,
             strcmp(kw, "distance") ? " from 0 to 65535" : "");
        return -1;
    }
    int32_t x = neg ? -(int32_t)v : (int32_t)v;
    if (!strcmp(kw, "offset"))
        c->offset = x, c->has_offset = 1;
    else if (!strcmp(kw, "depth"))
        c->depth = x, c->has_depth = 1;
    else if (!strcmp(kw, "distance"))
        c->distance = x, c->has_distance = 1;
    else
        c->within = x, c->has_within = 1;
    if (c->has_depth && c->depth < (int32_t)c->len) {
        perr(P, val.off, "depth %d is shorter than the content (%zu bytes)", c->depth, c->len);
        return -1;
    }
    if (c->has_within && c->within < (int32_t)c->len) {
        perr(P, val.off, "within %d is shorter than the content (%zu bytes)", c->within, c->len);
        return -1;
    }
    return 0;
}

static int kw_offset(struct pctx *P, struct rtmp *t, struct sv v, size_t o, int h)
{
    return kw_modifier(P, t, v, o, h, "offset");
}
static int kw_depth(struct pctx *P, struct rtmp *t, struct sv v, size_t o, int h)
{
    return kw_modifier(P, t, v, o, h, "depth");
}
static int kw_distance(struct pctx *P, struct rtmp *t, struct sv v, size_t o, int h)
{
    return kw_modifier(P, t, v, o, h, "distance");
}
static int kw_within(struct pctx *P, struct rtmp *t, struct sv v, size_t o, int h)
{
    return kw_modifier(P, t, v, o, h, "within");
}

/* threshold: type limit|threshold|both, track by_src|by_dst|by_rule|by_both, count N, seconds T */
static int parse_threshold(struct pctx *P, struct sv val, size_t kwoff, int has_val, const char *kw,
                           int is_df, struct threshold *th)
{
    if (need_val(P, val, kwoff, has_val, kw)) return -1;
    struct sv in = val, head, rest;
    int got_type = is_df, got_track = 0, got_count = 0, got_seconds = 0;
    th->type = is_df ? THR_DETECTION : THR_NONE;
    for (;;) {
        int more = sv_split(in, ',', &head, &rest);
        struct sv arg, name = sv_word(head, &arg);
        uint64_t v;
        if (sv_eq(name, "type") && !is_df) {
            if (sv_eq(arg, "limit"))
                th->type = THR_LIMIT;
            else if (sv_eq(arg, "threshold"))
                th->type = THR_THRESHOLD;
            else if (sv_eq(arg, "both"))
                th->type = THR_BOTH;
            else {
                perr(P, arg.off, "%s type must be limit, threshold or both", kw);
                return -1;
            }
            got_type = 1;
        } else if (sv_eq(name, "track")) {
            if (sv_eq(arg, "by_src"))
                th->track = TRACK_SRC;
            else if (sv_eq(arg, "by_dst"))
                th->track = TRACK_DST;
            else if (sv_eq(arg, "by_rule"))
                th->track = TRACK_RULE;
            else if (sv_eq(arg, "by_both"))
                th->track = TRACK_BOTH;
            else {
                perr(P, arg.off, "%s track must be by_src, by_dst, by_rule or by_both", kw);
                return -1;
            }
            got_track = 1;
        } else if (sv_eq(name, "count")) {
            if (!parse_u64(arg, UINT32_MAX, &v) || v == 0) {
                perr(P, arg.off, "%s count must be a positive integer", kw);
                return -1;
            }
            th->count = (uint32_t)v;
            got_count = 1;
        } else if (sv_eq(name, "seconds")) {
            if (!parse_u64(arg, 86400u * 365u, &v) || v == 0) {
                perr(P, arg.off, "%s seconds must be a positive integer", kw);
                return -1;
            }
            th->seconds = (uint32_t)v;
            got_seconds = 1;
        } else {
            perr(P, name.off, "unknown %s setting '%.*s'", kw, (int)name.n, name.p);
            return -1;
        }
        if (!more) break;
        in = rest;
    }
    if (!got_type || !got_track || !got_count || !got_seconds) {
        perr(P, val.off, "%s needs %stype, track, count and seconds", kw, is_df ? "" : "");
        return -1;
    }
    return 0;
}

static int kw_threshold(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (t->r.thr.type) {
        perr(P, kwoff, "only one threshold per rule");
        return -1;
    }
    return parse_threshold(P, val, kwoff, has_val, "threshold", 0, &t->r.thr);
}
static int kw_detection_filter(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff,
                               int has_val)
{
    if (t->r.df.type) {
        perr(P, kwoff, "only one detection_filter per rule");
        return -1;
    }
    return parse_threshold(P, val, kwoff, has_val, "detection_filter", 1, &t->r.df);
}

/* "proto.name": returns the proto part (arena copy) */
static const char *event_name(struct pctx *P, struct sv val, const char *kw, struct sv *name)
{
    val = sv_trim(val);
    size_t dot = 0;
    for (size_t i = 0; i < val.n; i++) {
        char c = val.p[i];
        if (c == '.' && !dot && i) {
            dot = i;
            continue;
        }
        if (!islower((unsigned char)c) && !isdigit((unsigned char)c) && c != '_') {
            perr(P, val.off + i, "%s name must be <proto>.<name> in lower case", kw);
            return NULL;
        }
    }
    if (!dot || dot + 1 >= val.n) {
        perr(P, val.off, "%s name must be <proto>.<name>", kw);
        return NULL;
    }
    *name = val;
    return rs_strndup(P->rs, val.p, dot);
}

/* Suricata's event names mapped onto ours where they differ and mean the same check
 * (DNP3: application data reassembled beyond the transport bound; MQTT: QoS 3). */
static const char *const anomaly_alias[][2] = {
    {"modbus.invalid_function_code", "modbus.unknown_function"},
    {"modbus.invalid_exception_code", "modbus.unknown_exception"},
    {"modbus.unsolicited_response", "modbus.unmatched_response"},
    {"dnp3.too_long_reassembly", "dnp3.fragment_too_long"},
    {"mqtt.invalid_qos_level", "mqtt.invalid_qos"},
};

static int kw_app_event(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val,
                        int is_event)
{
    const char *kw = is_event ? "event" : "app-layer-event";
    if (need_val(P, val, kwoff, has_val, kw)) return -1;
    struct sv name;
    int neg = 0;
    val = sv_trim(val);
    if (val.n && val.p[0] == '!') {
        neg = 1;
        val = sv_sub(val, 1, val.n - 1);
    }
    const char *proto = event_name(P, val, kw, &name);
    if (!proto) return -1;
    if (!neg && bind_proto(P, t, val.off, kw, proto)) return -1;
    struct cond *c = cond_add(P, t, kwoff, is_event ? C_EVENT : C_ANOMALY);
    if (!c) return -1;
    c->neg = (uint8_t)neg;
    c->str = rs_strndup(P->rs, name.p, name.n);
    for (size_t i = 0; i < sizeof(anomaly_alias) / sizeof(anomaly_alias[0]); i++)
        if (!strcmp(c->str, anomaly_alias[i][0])) c->str = anomaly_alias[i][1];
    c->slen = strlen(c->str);
    /* a name nothing raises could never match: an error, as in Suricata */
    if (!rules_event_known(c->str, !is_event)) {
        int pdu = is_event && dissector_by_name(proto) != NULL;
        perr(P, name.off, "unknown %s name '%.*s'%s", kw, (int)name.n, name.p,
             pdu ? " (a protocol operation is matched with op:)" : "");
        return -1;
    }
    return 0;
}
static int kw_app_layer_event(struct pctx *P, struct rtmp *t, struct sv v, size_t o, int h)
{
    return kw_app_event(P, t, v, o, h, 0);
}
static int kw_event(struct pctx *P, struct rtmp *t, struct sv v, size_t o, int h)
{
    return kw_app_event(P, t, v, o, h, 1);
}

/* ---- modbus: Suricata's grammar ---- */

static int mb_range(struct pctx *P, struct sv s, const char *what, uint32_t max, struct mb_range *r)
{
    s = sv_trim(s);
    uint64_t a, b;
    r->set = 1;
    for (size_t i = 0; i + 1 < s.n; i++)
        if (s.p[i] == '<' && s.p[i + 1] == '>') {
            if (!parse_u64(sv_sub(s, 0, i), max, &a) ||
                !parse_u64(sv_sub(s, i + 2, s.n - i - 2), max, &b) || a >= b) {
                perr(P, s.off, "bad modbus %s range '%.*s'", what, (int)s.n, s.p);
                return -1;
            }
            /* Suricata keeps N<>M as min..max and reads a range that starts at 0 as <M
             * and one that ends at 65535 as >N (rust/src/modbus/detect.rs check_match):
             * "address 0<>2" matches address 0. */
            r->kind = a == 0 ? 1 : b == 65535 ? 2 : 3;
            r->lo = a == 0 ? (uint32_t)b : (uint32_t)a;
            r->hi = (uint32_t)b;
            return 0;
        }
    r->kind = 0;
    size_t skip = 0;
    if (s.n && s.p[0] == '<')
        r->kind = 1, skip = 1;
    else if (s.n && s.p[0] == '>')
        r->kind = 2, skip = 1;
    if (!parse_u64(sv_sub(s, skip, s.n - skip), max, &a)) {
        perr(P, s.off, "bad modbus %s '%.*s'", what, (int)(s.n > 40 ? 40 : s.n), s.p);
        return -1;
    }
    r->lo = r->hi = (uint32_t)a;
    return 0;
}

enum { MBC_ASSIGNED = 1, MBC_UNASSIGNED = 2, MBC_USER = 4, MBC_RESERVED = 8 };

static int mb_function(struct pctx *P, struct rtmp *t, struct sv arg, struct sv rest,
                       struct modbus_match *m)
{
    arg = sv_trim(arg);
    int neg = 0;
    struct sv w = arg;
    if (w.n && w.p[0] == '!') {
        neg = 1;
        w = sv_trim(sv_sub(w, 1, w.n - 1));
    }
    uint64_t v;
    if (w.n && isdigit((unsigned char)w.p[0])) {
        if (!parse_u64(w, 255, &v) || v == 0) {
            perr(P, w.off, "modbus function must be 1-255");
            return -1;
        }
        m->has_func = 1;
        m->func = (uint8_t)v;
        m->func_neg = (uint8_t)neg;
        if (!neg) code_key(t, (int64_t)v);
    } else {
        static const struct {
            const char *n;
            uint8_t c;
        } cats[] = {{"assigned", MBC_ASSIGNED},
                    {"unassigned", MBC_UNASSIGNED},
                    {"public", MBC_ASSIGNED | MBC_UNASSIGNED},
                    {"user", MBC_USER},
                    {"reserved", MBC_RESERVED},
                    {"all", MBC_ASSIGNED | MBC_UNASSIGNED | MBC_USER | MBC_RESERVED}};
        int found = 0;
        for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
            if (sv_eq(w, cats[i].n)) {
                m->category = cats[i].c;
                m->cat_neg = (uint8_t)neg;
                found = 1;
            }
        if (!found) {
            perr(P, w.off, "unknown modbus function '%.*s'", (int)w.n, w.p);
            return -1;
        }
    }
    if (rest.n) {
        struct sv a2, name = sv_word(rest, &a2);
        if (!sv_eq(name, "subfunction")) {
            perr(P, name.off, "expected 'subfunction' after the modbus function");
            return -1;
        }
        if (!m->has_func || m->func_neg) {
            perr(P, name.off, "modbus subfunction needs a function number");
            return -1;
        }
        if (!parse_u64(a2, 65535, &v)) {
            perr(P, a2.off, "modbus subfunction must be 0-65535");
            return -1;
        }
        m->has_sub = 1;
        m->sub = (uint16_t)v;
    }
    return 0;
}

static int mb_access(struct pctx *P, struct sv arg, struct sv rest, struct modbus_match *m)
{
    struct sv tbl, w = sv_word(arg, &tbl);
    if (sv_eq(w, "read"))
        m->access = MBA_READ;
    else if (sv_eq(w, "write"))
        m->access = MBA_WRITE;
    else {
        perr(P, w.off, "modbus access must be read or write");
        return -1;
    }
    if (tbl.n) {
        if (sv_eq(tbl, "coils"))
            m->table = MBT_COILS;
        else if (sv_eq(tbl, "holding"))
            m->table = MBT_HOLDING;
        else if (sv_eq(tbl, "discretes"))
            m->table = MBT_DISCRETES;
        else if (sv_eq(tbl, "input"))
            m->table = MBT_INPUT;
        else {
            perr(P, tbl.off, "unknown modbus table '%.*s'", (int)tbl.n, tbl.p);
            return -1;
        }
        if (m->access == MBA_WRITE && (m->table == MBT_DISCRETES || m->table == MBT_INPUT)) {
            perr(P, tbl.off, "%s access is only read access",
                 m->table == MBT_INPUT ? "input" : "discretes");
            return -1;
        }
    }
    struct sv head, more;
    while (rest.n) {
        int m2 = sv_split(rest, ',', &head, &more);
        struct sv a2, name = sv_word(head, &a2);
        if (sv_eq(name, "address") && !m->address.set) {
            if (mb_range(P, a2, "address", 65535, &m->address)) return -1;
        } else if (sv_eq(name, "value") && m->address.set && !m->value.set) {
            if (m->address.kind != 0) {
                perr(P, name.off, "modbus value needs a single address, not a range");
                return -1;
            }
            if (m->access == MBA_READ) {
                perr(P, name.off, "modbus value only works with write access");
                return -1;
            }
            if (mb_range(P, a2, "value", 65535, &m->value)) return -1;
        } else {
            perr(P, name.off, "unexpected '%.*s' in modbus access", (int)name.n, name.p);
            return -1;
        }
        if (!m2) break;
        rest = more;
    }
    return 0;
}

static int kw_modbus(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "modbus")) return -1;
    if (bind_proto(P, t, kwoff, "modbus", "modbus")) return -1;
    struct cond *c = cond_add(P, t, kwoff, C_MODBUS);
    if (!c) return -1;
    struct modbus_match *m = &c->u.mb;
    struct sv head, rest, arg;
    sv_split(sv_trim(val), ',', &head, &rest);
    struct sv name = sv_word(head, &arg);
    if (sv_eq(name, "unit")) {
        if (mb_range(P, arg, "unit", 255, &m->unit)) return -1;
        if (!rest.n) return 0;
        sv_split(sv_trim(rest), ',', &head, &rest);
        name = sv_word(head, &arg);
    }
    if (sv_eq(name, "function")) return mb_function(P, t, arg, sv_trim(rest), m);
    if (sv_eq(name, "access")) {
        if (mb_access(P, arg, sv_trim(rest), m)) return -1;
        /* the function codes that read or write that table (as the matcher's table) */
        static const int64_t rd[] = {1, 2, 3, 4, 20, 23, 24}, wr[] = {5, 6, 15, 16, 21, 22, 23};
        static const int64_t coils_r[] = {1}, disc[] = {2}, input[] = {4}, hold_r[] = {3, 23, 24};
        static const int64_t coils_w[] = {5, 15}, hold_w[] = {6, 16, 22, 23};
        int rdw = m->access == MBA_READ;
        switch (m->table) {
        case MBT_COILS: rdw ? code_keys(t, coils_r, 1) : code_keys(t, coils_w, 2); break;
        case MBT_DISCRETES: code_keys(t, disc, 1); break;
        case MBT_INPUT: code_keys(t, input, 1); break;
        case MBT_HOLDING: rdw ? code_keys(t, hold_r, 3) : code_keys(t, hold_w, 4); break;
        default: rdw ? code_keys(t, rd, 7) : code_keys(t, wr, 7); break;
        }
        return 0;
    }
    perr(P, name.off, "modbus needs function, access or unit");
    return -1;
}

/* ---- DNP3, ENIP, CIP: Suricata's keywords ---- */

static const char *const dnp3_funcs[] = {"confirm",
                                         "read",
                                         "write",
                                         "select",
                                         "operate",
                                         "direct_operate",
                                         "direct_operate_nr",
                                         "immed_freeze",
                                         "immed_freeze_nr",
                                         "freeze_clear",
                                         "freeze_clear_nr",
                                         "freeze_at_time",
                                         "freeze_at_time_nr",
                                         "cold_restart",
                                         "warm_restart",
                                         "initialize_data",
                                         "initialize_appl",
                                         "start_appl",
                                         "stop_appl",
                                         "save_config",
                                         "enable_unsolicited",
                                         "disable_unsolicited",
                                         "assign_class",
                                         "delay_measure",
                                         "record_current_time",
                                         "open_file",
                                         "close_file",
                                         "delete_file",
                                         "get_file_info",
                                         "authenticate_file",
                                         "abort_file",
                                         "activate_config",
                                         "authenticate_req",
                                         "authenticate_err"};

static int kw_dnp3_func(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "dnp3_func")) return -1;
    if (bind_proto(P, t, kwoff, "dnp3_func", "dnp3")) return -1;
    val = sv_trim(val);
    int64_t code = -1;
    uint64_t v;
    for (size_t i = 0; i < sizeof(dnp3_funcs) / sizeof(dnp3_funcs[0]); i++)
        if (sv_eq(val, dnp3_funcs[i])) code = (int64_t)i;
    if (sv_eq(val, "response")) code = 129;
    if (sv_eq(val, "unsolicited_response")) code = 130;
    if (sv_eq(val, "authenticate_resp")) code = 131;
    if (code < 0) {
        if (!parse_u64(val, 255, &v)) {
            perr(P, val.off, "unknown dnp3 function '%.*s'", (int)val.n, val.p);
            return -1;
        }
        code = (int64_t)v;
    }
    struct cond *c = cond_add(P, t, kwoff, C_CODE);
    if (!c) return -1;
    c->im.op = IM_EQ;
    c->im.a = code;
    code_key(t, code);
    return 0;
}

static int kw_dnp3_ind(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    /* IIN1 << 8 | IIN2, named as the dnp3 event's "iin" field names them */
    if (need_val(P, val, kwoff, has_val, "dnp3_ind")) return -1;
    if (bind_proto(P, t, kwoff, "dnp3_ind", "dnp3")) return -1;
    struct cond *c = cond_add(P, t, kwoff, C_DNP3_IND);
    if (!c) return -1;
    struct sv in = val, head, rest;
    for (;;) {
        int more = sv_split(in, ',', &head, &rest);
        head = sv_trim(head);
        int found = 0;
        for (int b = 0; b < 16; b++)
            if (sv_eq(head, dnp3_iin_name((unsigned)b))) {
                c->u.mask |= 1u << b;
                found = 1;
            }
        if (!found) {
            perr(P, head.off, "unknown dnp3 indicator '%.*s'", (int)head.n, head.p);
            return -1;
        }
        if (!more) break;
        in = rest;
    }
    return 0;
}

static int kw_dnp3_obj(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "dnp3_obj")) return -1;
    if (bind_proto(P, t, kwoff, "dnp3_obj", "dnp3")) return -1;
    struct sv g, v;
    uint64_t a, b;
    if (!sv_split(sv_trim(val), ',', &g, &v) || !parse_u64(sv_trim(g), 255, &a) ||
        !parse_u64(sv_trim(v), 255, &b)) {
        perr(P, val.off, "dnp3_obj must be <group>,<variation> (0-255 each)");
        return -1;
    }
    struct cond *c = cond_add(P, t, kwoff, C_DNP3_OBJ);
    if (!c) return -1;
    c->u.obj.group = (uint32_t)a;
    c->u.obj.variation = (uint32_t)b;
    return 0;
}

static int kw_enip_command(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    static const struct {
        const char *n;
        int c;
    } cmds[] = {{"nop", 0x00},
                {"list_services", 0x04},
                {"list_identity", 0x63},
                {"list_interfaces", 0x64},
                {"register_session", 0x65},
                {"unregister_session", 0x66},
                {"send_rr_data", 0x6f},
                {"send_unit_data", 0x70},
                {"indicate_status", 0x72},
                {"cancel", 0x73},
                {"start_dtls", 0xc8}};
    if (need_val(P, val, kwoff, has_val, "enip_command")) return -1;
    if (bind_proto(P, t, kwoff, "enip_command", "enip")) return -1;
    struct cond *c = cond_add(P, t, kwoff, C_CODE);
    if (!c) return -1;
    val = sv_trim(val);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (sv_eq(val, cmds[i].n)) {
            c->im.op = IM_EQ;
            c->im.a = cmds[i].c;
            code_key(t, cmds[i].c);
            return 0;
        }
    if (parse_intmatch(P, val, "enip_command", &c->im)) return -1;
    if (c->im.a > 65535 || c->im.b > 65535) {
        perr(P, val.off, "enip_command must be 0-65535");
        return -1;
    }
    code_key_im(t, &c->im);
    return 0;
}

static int kw_cip_service(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "cip_service")) return -1;
    if (bind_proto(P, t, kwoff, "cip_service", "cip")) return -1;
    struct cond *c = cond_add(P, t, kwoff, C_CIP);
    if (!c) return -1;
    struct sv parts[4], in = sv_trim(val), rest;
    int n = 0;
    for (;;) {
        if (n >= 3) {
            perr(P, in.off, "cip_service takes at most service,class,attribute");
            return -1;
        }
        int more = sv_split(in, ',', &parts[n], &rest);
        n++;
        if (!more) break;
        in = rest;
    }
    uint64_t v[3];
    static const uint64_t max[3] = {127, UINT32_MAX, UINT32_MAX};
    static const char *const what[3] = {"service", "class", "attribute"};
    for (int i = 0; i < n; i++)
        if (!parse_u64(sv_trim(parts[i]), max[i], &v[i])) {
            perr(P, sv_trim(parts[i]).off, "bad cip %s '%.*s'", what[i], (int)sv_trim(parts[i]).n,
                 sv_trim(parts[i]).p);
            return -1;
        }
    c->u.cip.service = (uint32_t)v[0];
    if (n > 1) c->u.cip.has_cls = 1, c->u.cip.cls = (uint32_t)v[1];
    if (n > 2) c->u.cip.has_attr = 1, c->u.cip.attr = (uint32_t)v[2];
    code_key(t, (int64_t)v[0]);
    return 0;
}

/* ---- our protocol keywords: "name value, name value" over the event's fields ---- */

#define F_CODE "\x01" /* the setting matches the event's code when given a number */

struct fdef {
    const char *name, *path, *alt; /* alt: path tried for strings when path is F_CODE */
};

static const struct fdef f_iec104[] = {{"type", F_CODE, "type"}, {"cot", "cot", NULL},
                                       {"ca", "ca", NULL},       {"ioa", "ioa", NULL},
                                       {"apci", "apci", NULL},   {"u", "u", NULL},
                                       {"oa", "oa", NULL},       {"negative", "negative", NULL},
                                       {"test", "test", NULL},   {"select", "select", NULL},
                                       {NULL, NULL, NULL}};
static const struct fdef f_s7comm[] = {{"rosctr", "rosctr", NULL},
                                       {"function", "function", NULL},
                                       {"group", "group", NULL},
                                       {"subfunction", "subfunc", NULL},
                                       {"block_type", "block_type", NULL},
                                       {"area", "area", NULL},
                                       {"db", "db", NULL},
                                       {"pi_service", "pi_service", NULL},
                                       {"error_class", "error_class", NULL},
                                       {"error_code", "error_code", NULL},
                                       {"szl_id", "szl_id", NULL},
                                       {NULL, NULL, NULL}};
static const struct fdef f_s7commplus[] = {{"function", F_CODE, NULL},
                                           {"opcode", "opcode", NULL},
                                           {"session_id", "session_id", NULL},
                                           {NULL, NULL, NULL}};
static const struct fdef f_bacnet[] = {{"service", F_CODE, NULL},
                                       {"type", "type", NULL},
                                       {"object_type", "object_type", NULL},
                                       {"instance", "instance", NULL},
                                       {"property", "property", NULL},
                                       {"priority", "priority", NULL},
                                       {"state", "state", NULL},
                                       {"enable_disable", "enable_disable", NULL},
                                       {"password_present", "password_present", NULL},
                                       {"function", "function", NULL},
                                       {NULL, NULL, NULL}};
static const struct fdef f_opcua[] = {{"service", F_CODE, NULL},
                                      {"security_mode", "security_mode", NULL},
                                      {"security_policy", "security_policy", NULL},
                                      {"token_type", "token_type", NULL},
                                      {"msg_type", "msg_type", NULL},
                                      {NULL, NULL, NULL}};
static const struct fdef f_mms[] = {{"service", F_CODE, "service"}, {"domain", "domain", NULL},
                                    {"item", "item", NULL},         {"vmd", "vmd", NULL},
                                    {"file", "file_name", NULL},    {NULL, NULL, NULL}};
static const struct fdef f_goose[] = {{"gocb_ref", "gocb_ref", NULL},
                                      {"appid", "appid", NULL},
                                      {"st_num", "st_num", NULL},
                                      {"sq_num", "sq_num", NULL},
                                      {"simulation", "simulation", NULL},
                                      {"conf_rev", "conf_rev", NULL},
                                      {"dataset", "dat_set", NULL},
                                      {"go_id", "go_id", NULL},
                                      {NULL, NULL, NULL}};
static const struct fdef f_mqtt[] = {{"type", F_CODE, NULL},
                                     {"topic", "topic", NULL},
                                     {"client_id", "client_id", NULL},
                                     {"username", "username", NULL},
                                     {"qos", "qos", NULL},
                                     {"retain", "retain", NULL},
                                     {"password_present", "password_present", NULL},
                                     {"username_present", "username_present", NULL},
                                     {"wildcard", "wildcard", NULL},
                                     {"topic_wildcard", "topic_wildcard", NULL},
                                     {"reason_code", "reason_code", NULL},
                                     {NULL, NULL, NULL}};
static const struct fdef f_pndcp[] = {{"service", F_CODE, NULL},
                                      {"frame_id", "frame_id", NULL},
                                      {"option", "option", NULL},
                                      {"suboption", "suboption", NULL},
                                      {"service_type", "service_type", NULL},
                                      {NULL, NULL, NULL}};
static const struct fdef f_sv[] = {{"appid", "appid", NULL},         {"sv_id", "sv_id", NULL},
                                   {"conf_rev", "conf_rev", NULL},   {"smp_cnt", "smp_cnt", NULL},
                                   {"smp_synch", "smp_synch", NULL}, {NULL, NULL, NULL}};
static const struct fdef f_hart_ip[] = {{"message_id", F_CODE, NULL},
                                        {"message_type", "message_type", NULL},
                                        {"command", "command", NULL},
                                        {"writes", "writes", NULL},
                                        {"frame_type", "frame_type", NULL},
                                        {"status", "status", NULL},
                                        {NULL, NULL, NULL}};
static const struct fdef f_fins[] = {{"command", F_CODE, NULL},        {"area", "area", NULL},
                                     {"area_name", "area_name", NULL}, {"address", "address", NULL},
                                     {"response", "response", NULL},   {NULL, NULL, NULL}};
static const struct fdef f_cip[] = {{"service", F_CODE, NULL},
                                    {"class", "class", NULL},
                                    {"instance", "instance", NULL},
                                    {"attribute", "attribute", NULL},
                                    {"status", "status", NULL},
                                    {"tag", "tag", NULL},
                                    {NULL, NULL, NULL}};
static const struct fdef f_enip[] = {{"command", F_CODE, NULL},
                                     {"status", "status", NULL},
                                     {"session", "session", NULL},
                                     {NULL, NULL, NULL}};
static const struct fdef f_dnp3[] = {{"func", F_CODE, NULL},   {"iin", "iin", NULL},
                                     {"src", "src", NULL},     {"dst", "dst", NULL},
                                     {"group", "group", NULL}, {"variation", "variation", NULL},
                                     {NULL, NULL, NULL}};

static int split_path(struct pctx *P, struct cond *c, const char *path, size_t off)
{
    c->npath = 0;
    const char *s = path;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!n || c->npath >= RULE_MAX_PATH) {
            perr(P, off, "bad field path '%s'", path);
            return -1;
        }
        c->path[c->npath++] = rs_strndup(P->rs, s, n);
        s += n + (dot ? 1 : 0);
    }
    if (!c->npath) {
        perr(P, off, "empty field path");
        return -1;
    }
    return 0;
}

/* A value for a field: integer forms, true/false, or a string (quoted or bare). */
static int field_value(struct pctx *P, struct cond *c, struct sv v, const char *what)
{
    v = sv_trim(v);
    if (!v.n) {
        perr(P, v.off, "%s needs a value", what);
        return -1;
    }
    if (v.p[0] == '!' && v.n > 1 && (v.p[1] == '"' || isalpha((unsigned char)v.p[1]))) {
        c->neg = 1;
        v = sv_trim(sv_sub(v, 1, v.n - 1));
    }
    if (sv_eq(v, "true") || sv_eq(v, "false")) {
        c->im.op = IM_EQ;
        c->im.a = sv_eq(v, "true");
        return 0;
    }
    int numeric = isdigit((unsigned char)v.p[0]) || v.p[0] == '<' || v.p[0] == '>' ||
                  (v.p[0] == '!' && v.n > 1 && isdigit((unsigned char)v.p[1]));
    if (numeric) return parse_intmatch(P, v, what, &c->im);
    size_t n;
    const char *s = unquote(P, v, &n);
    if (!s) return -1;
    c->is_str = 1;
    if (n && s[n - 1] == '*') {
        c->prefix = 1;
        n--;
    }
    c->str = s;
    c->slen = n;
    return 0;
}

static int kw_ot(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val,
                 const char *kw, const char *proto, const struct fdef *defs)
{
    if (need_val(P, val, kwoff, has_val, kw)) return -1;
    if (bind_proto(P, t, kwoff, kw, proto)) return -1;
    struct sv in = sv_trim(val), head, rest;
    for (;;) {
        int more = sv_split(in, ',', &head, &rest);
        struct sv arg, name = sv_word(head, &arg);
        const struct fdef *d = NULL;
        for (const struct fdef *x = defs; x->name; x++)
            if (sv_eq(name, x->name)) d = x;
        if (!d || !d->path) {
            perr(P, name.off, "unknown %s setting '%.*s'", kw, (int)name.n, name.p);
            return -1;
        }
        struct cond *c = cond_add(P, t, name.off, C_FIELD);
        if (!c) return -1;
        char what[64];
        snprintf(what, sizeof(what), "%s %s", kw, d->name);
        if (field_value(P, c, arg, what)) return -1;
        if (!strcmp(d->path, F_CODE)) {
            if (c->is_str) {
                if (!d->alt) {
                    perr(P, arg.off, "%s needs a number", what);
                    return -1;
                }
                if (split_path(P, c, d->alt, name.off)) return -1;
            } else {
                c->type = C_CODE;
                if (!c->neg) code_key_im(t, &c->im);
            }
        } else if (split_path(P, c, d->path, name.off)) {
            return -1;
        }
        if (!more) break;
        in = rest;
    }
    return 0;
}

#define OT_KW(fn, kw, proto, defs)                                                                 \
    static int fn(struct pctx *P, struct rtmp *t, struct sv v, size_t o, int h)                    \
    {                                                                                              \
        return kw_ot(P, t, v, o, h, kw, proto, defs);                                              \
    }
OT_KW(kw_iec104, "iec104", "iec104", f_iec104)
OT_KW(kw_s7comm, "s7comm", "s7comm", f_s7comm)
OT_KW(kw_s7commplus, "s7commplus", "s7commplus", f_s7commplus)
OT_KW(kw_bacnet, "bacnet", "bacnet", f_bacnet)
OT_KW(kw_opcua, "opcua", "opcua", f_opcua)
OT_KW(kw_mms, "mms", "mms", f_mms)
OT_KW(kw_goose, "goose", "goose", f_goose)
OT_KW(kw_mqtt, "mqtt", "mqtt", f_mqtt)
OT_KW(kw_pndcp, "profinet_dcp", "profinet_dcp", f_pndcp)
OT_KW(kw_sv, "sv", "sv", f_sv)
OT_KW(kw_hart_ip, "hart_ip", "hart_ip", f_hart_ip)
OT_KW(kw_fins, "fins", "fins", f_fins)
OT_KW(kw_cip, "cip", "cip", f_cip)
OT_KW(kw_enip, "enip", "enip", f_enip)
OT_KW(kw_dnp3, "dnp3", "dnp3", f_dnp3)

/* field: <path> <value> - any field of the event's protocol object */
static int kw_field(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "field")) return -1;
    struct sv arg, path = sv_word(val, &arg);
    for (size_t i = 0; i < path.n; i++)
        if (!islower((unsigned char)path.p[i]) && !isdigit((unsigned char)path.p[i]) &&
            path.p[i] != '_' && path.p[i] != '.') {
            perr(P, path.off + i, "bad field path");
            return -1;
        }
    struct cond *c = cond_add(P, t, kwoff, C_FIELD);
    if (!c) return -1;
    const char *p = rs_strndup(P->rs, path.p, path.n);
    if (split_path(P, c, p, path.off)) return -1;
    return field_value(P, c, arg, "field");
}

static int kw_op(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "op")) return -1;
    struct cond *c = cond_add(P, t, kwoff, C_OP);
    if (!c) return -1;
    val = sv_trim(val);
    if (val.p[0] == '!') {
        c->neg = 1;
        val = sv_trim(sv_sub(val, 1, val.n - 1));
    }
    const char *names[RULE_MAX_STRS];
    int n = 0;
    struct sv in = val, head, rest;
    for (;;) {
        int more = sv_split(in, ',', &head, &rest);
        head = sv_trim(head);
        if (!head.n) {
            perr(P, head.off, "empty op name");
            return -1;
        }
        for (size_t i = 0; i < head.n; i++)
            if (!islower((unsigned char)head.p[i]) && !isdigit((unsigned char)head.p[i]) &&
                head.p[i] != '_') {
                perr(P, head.off + i, "op names are lower-case snake_case");
                return -1;
            }
        if (n >= RULE_MAX_STRS) {
            perr(P, head.off, "too many op names (at most %d)", RULE_MAX_STRS);
            return -1;
        }
        names[n++] = rs_strndup(P->rs, head.p, head.n);
        if (!more) break;
        in = rest;
    }
    c->strs = rs_alloc(P->rs, sizeof(*c->strs) * (size_t)n);
    if (!c->strs) return -1;
    memcpy(c->strs, names, sizeof(*c->strs) * (size_t)n);
    c->nstrs = n;
    return 0;
}

static int kw_code(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "code")) return -1;
    struct cond *c = cond_add(P, t, kwoff, C_CODE);
    if (!c) return -1;
    if (parse_intmatch(P, val, "code", &c->im)) return -1;
    code_key_im(t, &c->im);
    return 0;
}

/* iec62443: fr FR2, sr "SR 2.1" */
static int sr_valid(const char *s, size_t n)
{
    if (n < 6 || memcmp(s, "SR ", 3) || s[3] < '1' || s[3] > '7' || s[4] != '.') return 0;
    size_t i = 5;
    if (i >= n || !isdigit((unsigned char)s[i])) return 0;
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    /* an optional requirement enhancement: "SR 2.11 RE2" or "SR 2.11 (RE 2)" */
    return i == n || s[i] == ' ';
}

static int add_sr(struct pctx *P, struct rtmp *t, const char *s, size_t n, size_t off)
{
    for (int i = 0; i < t->r.nsr; i++)
        if (!strcmp(t->r.sr[i], s)) return 0;
    if (t->r.nsr >= RULE_MAX_SR) {
        perr(P, off, "too many SRs (at most %d)", RULE_MAX_SR);
        return -1;
    }
    t->r.sr[t->r.nsr++] = rs_strndup(P->rs, s, n);
    t->r.fr |= (uint8_t)(1u << (s[3] - '1')); /* an SR is evidence against its FR */
    return 0;
}

static int kw_iec62443(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "iec62443")) return -1;
    struct sv in = sv_trim(val), head, rest;
    for (;;) {
        int more = sv_split(in, ',', &head, &rest);
        struct sv arg, name = sv_word(head, &arg);
        size_t n;
        if (sv_eq(name, "fr")) {
            if (arg.n != 3 || memcmp(arg.p, "FR", 2) || arg.p[2] < '1' || arg.p[2] > '7') {
                perr(P, arg.off, "iec62443 fr must be FR1 to FR7");
                return -1;
            }
            t->r.fr |= (uint8_t)(1u << (arg.p[2] - '1'));
        } else if (sv_eq(name, "sr")) {
            const char *s = unquote(P, arg, &n);
            if (!s) return -1;
            if (!sr_valid(s, n)) {
                perr(P, arg.off, "iec62443 sr must look like \"SR 2.1\"");
                return -1;
            }
            if (add_sr(P, t, s, n, arg.off)) return -1;
        } else {
            perr(P, name.off, "unknown iec62443 setting '%.*s' (fr or sr)", (int)name.n, name.p);
            return -1;
        }
        if (!more) break;
        in = rest;
    }
    return 0;
}

static const char *const tc_codes[] = {
    "TC.SOC",         "TC.ZDE",       "TC.ZDE.MALFORMED", "TC.ZDE.EXPLOIT", "TC.PRV",
    "TC.PRV.CRED",    "TC.PRV.EXFIL", "TC.HCK",           "TC.HCK.RECON",   "TC.HCK.ACCESS",
    "TC.HCK.BRUTE",   "TC.HCK.CMD",   "TC.HCK.MODIFY",    "TC.HCK.SPOOF",   "TC.HCK.TIME",
    "TC.MAL",         "TC.MAL.SIG",   "TC.MAL.ICS",       "TC.MAL.C2",      "TC.DOS",
    "TC.DOS.FLOOD",   "TC.DOS.HALT",  "TC.VUL",           "TC.VUL.CLEAR",   "TC.VUL.WEAKSEC",
    "TC.VUL.EXPOSED", "TC.OBS",       "TC.OBS.INV",       "TC.OBS.STATE",   "TC.OBS.HEALTH"};

int rule_tc_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(tc_codes) / sizeof(tc_codes[0]); i++)
        if (strlen(tc_codes[i]) == n && !memcmp(tc_codes[i], s, n)) return 1;
    return 0;
}

static int kw_iso27032(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    if (need_val(P, val, kwoff, has_val, "iso27032")) return -1;
    struct sv in = sv_trim(val), head, rest;
    for (;;) {
        int more = sv_split(in, ',', &head, &rest);
        head = sv_trim(head);
        if (!rule_tc_valid(head.p, head.n)) {
            perr(P, head.off, "unknown ISO/IEC 27032 threat code '%.*s'", (int)head.n, head.p);
            return -1;
        }
        int dup = 0;
        for (int i = 0; i < t->r.ntc; i++)
            if (strlen(t->r.tc[i]) == head.n && !memcmp(t->r.tc[i], head.p, head.n)) dup = 1;
        if (!dup) {
            if (t->r.ntc >= RULE_MAX_TC) {
                perr(P, head.off, "too many threat codes (at most %d)", RULE_MAX_TC);
                return -1;
            }
            t->r.tc[t->r.ntc++] = rs_strndup(P->rs, head.p, head.n);
        }
        if (!more) break;
        in = rest;
    }
    return 0;
}

static int kw_noop(struct pctx *P, struct rtmp *t, struct sv val, size_t kwoff, int has_val)
{
    return 0;
}

static const struct {
    const char *name;
    kw_fn fn;
} keywords[] = {
    {"msg", kw_msg},
    {"sid", kw_sid},
    {"rev", kw_rev},
    {"gid", kw_gid},
    {"classtype", kw_classtype},
    {"priority", kw_priority},
    {"severity", kw_severity},
    {"reference", kw_reference},
    {"metadata", kw_metadata},
    {"flow", kw_flow},
    {"content", kw_content},
    {"nocase", kw_nocase},
    {"offset", kw_offset},
    {"depth", kw_depth},
    {"distance", kw_distance},
    {"within", kw_within},
    {"rawbytes", kw_noop}, /* events carry no normalised buffer; content is raw already */
    {"threshold", kw_threshold},
    {"detection_filter", kw_detection_filter},
    {"app-layer-event", kw_app_layer_event},
    {"event", kw_event},
    {"modbus", kw_modbus},
    {"dnp3_func", kw_dnp3_func},
    {"dnp3.func", kw_dnp3_func},
    {"dnp3_ind", kw_dnp3_ind},
    {"dnp3.ind", kw_dnp3_ind},
    {"dnp3_obj", kw_dnp3_obj},
    {"dnp3.obj", kw_dnp3_obj},
    {"enip_command", kw_enip_command},
    {"enip.command", kw_enip_command},
    {"cip_service", kw_cip_service},
    {"iec104", kw_iec104},
    {"s7comm", kw_s7comm},
    {"s7commplus", kw_s7commplus},
    {"bacnet", kw_bacnet},
    {"opcua", kw_opcua},
    {"mms", kw_mms},
    {"goose", kw_goose},
    {"mqtt", kw_mqtt},
    {"profinet_dcp", kw_pndcp},
    {"sv", kw_sv},
    {"hart_ip", kw_hart_ip},
    {"fins", kw_fins},
    {"cip", kw_cip},
    {"enip", kw_enip},
    {"dnp3", kw_dnp3},
    {"field", kw_field},
    {"op", kw_op},
    {"code", kw_code},
    {"iec62443", kw_iec62443},
    {"iso27032", kw_iso27032},
};

/* ---- header ---- */

static const char *const app_protos[] = {
    "modbus", "dnp3",  "iec104", "s7comm", "s7commplus",   "enip",    "cip",  "bacnet", "opcua",
    "mms",    "goose", "sv",     "mqtt",   "profinet_dcp", "hart_ip", "fins", NULL};

/* Splits the header into words, keeping [...] lists whole. */
static int header_words(struct sv h, struct sv *w, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < h.n) {
        while (i < h.n && (isspace((unsigned char)h.p[i]) ||
                           (h.p[i] == '\\' && i + 1 < h.n && h.p[i + 1] == '\n')))
            i++;
        if (i >= h.n) break;
        size_t st = i;
        int br = 0;
        while (i < h.n && (br || !isspace((unsigned char)h.p[i])) &&
               !(h.p[i] == '\\' && i + 1 < h.n && h.p[i + 1] == '\n')) {
            if (h.p[i] == '[')
                br++;
            else if (h.p[i] == ']' && br)
                br--;
            i++;
        }
        if (n < max) w[n] = sv_sub(h, st, i - st);
        n++;
    }
    return n;
}

static int parse_header(struct pctx *P, struct rtmp *t, struct sv h)
{
    struct sv w[8];
    int n = header_words(h, w, 8);
    if (n < 1) {
        perr(P, h.off, "empty rule header");
        return -1;
    }
    if (sv_eq(w[0], "alert"))
        t->r.action = RULE_ALERT;
    else if (sv_eq(w[0], "pass"))
        t->r.action = RULE_PASS;
    else {
        perr(P, w[0].off, "unknown action '%.*s' (alert or pass)", (int)w[0].n, w[0].p);
        return -1;
    }
    if (n != 7) {
        size_t off = n < 7 ? h.off + h.n : w[7].off;
        perr(P, off,
             "rule header needs: action proto src_addr src_port direction dst_addr "
             "dst_port");
        return -1;
    }
    t->r.proto = -1;
    if (sv_eq(w[1], "any"))
        t->r.pkind = RP_ANY;
    else if (sv_eq(w[1], "ip"))
        t->r.pkind = RP_IP;
    else if (sv_eq(w[1], "tcp"))
        t->r.pkind = RP_TCP;
    else if (sv_eq(w[1], "udp"))
        t->r.pkind = RP_UDP;
    else {
        int ok = 0;
        for (int i = 0; app_protos[i]; i++)
            if (sv_eq(w[1], app_protos[i])) {
                t->r.pkind = RP_APP;
                t->implied = app_protos[i];
                t->implied_off = w[1].off;
                t->implied_kw = "the rule header";
                ok = 1;
            }
        if (!ok) {
            perr(P, w[1].off, "unknown protocol '%.*s'", (int)w[1].n, w[1].p);
            return -1;
        }
    }
    if (addr_set_build(P, w[2], &t->r.src) || port_set_build(P, w[3], &t->r.sp)) return -1;
    if (sv_eq(w[4], "->"))
        t->r.bidir = 0;
    else if (sv_eq(w[4], "<>"))
        t->r.bidir = 1;
    else {
        perr(P, w[4].off, "direction must be -> or <>");
        return -1;
    }
    if (addr_set_build(P, w[5], &t->r.dst) || port_set_build(P, w[6], &t->r.dp)) return -1;
    return 0;
}

/* ---- options ---- */

/* Parses "kw[:value];" items from s (inside the parentheses). */
static int parse_options(struct pctx *P, struct rtmp *t, struct sv s)
{
    size_t i = 0;
    int rc = 0;
    while (i < s.n) {
        while (i < s.n && (isspace((unsigned char)s.p[i]) ||
                           (s.p[i] == '\\' && i + 1 < s.n && s.p[i + 1] == '\n')))
            i++;
        if (i >= s.n) break;
        size_t kst = i;
        while (i < s.n &&
               (isalnum((unsigned char)s.p[i]) || s.p[i] == '_' || s.p[i] == '-' || s.p[i] == '.'))
            i++;
        struct sv kw = sv_sub(s, kst, i - kst);
        if (!kw.n) {
            perr(P, s.off + i, "expected a keyword");
            return -1;
        }
        while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
            i++;
        int has_val = 0;
        struct sv val = {s.p + i, 0, s.off + i};
        if (i < s.n && s.p[i] == ':') {
            has_val = 1;
            i++;
            size_t vst = i;
            int q = 0;
            while (i < s.n) {
                char c = s.p[i];
                if (c == '\\' && i + 1 < s.n) {
                    i += 2;
                    continue;
                }
                if (c == '"')
                    q = !q;
                else if (c == ';' && !q)
                    break;
                i++;
            }
            if (q) {
                perr(P, s.off + vst, "unterminated string");
                return -1;
            }
            val = sv_sub(s, vst, i - vst);
        }
        if (i >= s.n || s.p[i] != ';') {
            perr(P, s.off + i, "expected ';' after '%.*s'", (int)kw.n, kw.p);
            return -1;
        }
        i++;
        kw_fn fn = NULL;
        for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
            if (sv_eq(kw, keywords[k].name)) fn = keywords[k].fn;
        if (!fn) {
            perr(P, kw.off, "unknown keyword '%.*s'", (int)kw.n, kw.p);
            rc = -1;
            continue;
        }
        if (fn(P, t, val, kw.off, has_val)) rc = -1;
    }
    return rc;
}

static int finish_rule(struct pctx *P, struct rtmp *t, size_t start)
{
    struct ruleset *rs = P->rs;
    if (!t->has_sid) {
        perr(P, start, "rule has no sid");
        return -1;
    }
    if (!t->r.gid) t->r.gid = 1;
    for (int i = 0; i < rs->nrules; i++)
        if (rs->rules[i].sid == t->r.sid && rs->rules[i].gid == t->r.gid) {
            perr(P, start, "duplicate sid %u (first defined at %s:%d)", t->r.sid, rs->rules[i].file,
                 rs->rules[i].line);
            return -1;
        }
    if (t->implied) {
        if (t->r.pkind == RP_TCP || t->r.pkind == RP_UDP || t->r.pkind == RP_IP ||
            t->r.pkind == RP_ANY) {
            /* keyword binds a generic header to its protocol; the transport still applies */
        }
        t->r.proto = rs_proto_index(rs, t->implied, 1);
        if (t->r.proto < 0) {
            perr(P, start, "too many protocols");
            return -1;
        }
    }
    if (t->r.has_code_key && t->r.proto < 0) t->r.has_code_key = 0;
    if (t->r.nconds) {
        t->r.conds = rs_alloc(rs, sizeof(struct cond) * (size_t)t->r.nconds);
        if (!t->r.conds) return -1;
        memcpy(t->r.conds, t->conds, sizeof(struct cond) * (size_t)t->r.nconds);
    }
    if (t->r.ncontents) {
        t->r.contents = rs_alloc(rs, sizeof(struct content) * (size_t)t->r.ncontents);
        if (!t->r.contents) return -1;
        memcpy(t->r.contents, t->contents, sizeof(struct content) * (size_t)t->r.ncontents);
    }
    if (rs->nrules == rs->caprules) {
        int cap = rs->caprules ? rs->caprules * 2 : 64;
        struct rule *nr = realloc(rs->rules, sizeof(*nr) * (size_t)cap);
        if (!nr) {
            perr(P, start, "out of memory");
            return -1;
        }
        rs->rules = nr;
        rs->caprules = cap;
    }
    rs->rules[rs->nrules++] = t->r;
    return 0;
}

/* var NAME value | ipvar NAME value | portvar NAME value (one line) */
static void parse_var(struct pctx *P, struct sv line, int is_port)
{
    struct sv rest, kw = sv_word(line, &rest);
    struct sv value, name = sv_word(rest, &value);
    if (!name.n || !value.n) {
        perr(P, kw.off, "'%.*s' needs a name and a value", (int)kw.n, kw.p);
        return;
    }
    for (size_t i = 0; i < name.n; i++)
        if (!isalnum((unsigned char)name.p[i]) && name.p[i] != '_') {
            perr(P, name.off + i, "bad variable name");
            return;
        }
    if (P->nvars >= MAX_VARS) {
        perr(P, kw.off, "too many variables (at most %d)", MAX_VARS);
        return;
    }
    /* validate now, so errors point at the definition */
    if (is_port == 1) {
        struct port_buf b;
        b.n = 0;
        if (parse_port(P, value, 0, &b)) return;
    } else if (is_port == 0) {
        struct net_buf b;
        b.n = 0;
        if (parse_addr(P, value, 0, &b)) return;
    }
    P->vars[P->nvars].name = rs_strndup(P->rs, name.p, name.n);
    P->vars[P->nvars].value = rs_strndup(P->rs, value.p, value.n);
    P->vars[P->nvars].is_port = is_port;
    P->nvars++;
}

static int is_word(struct sv s, size_t i, const char *w)
{
    size_t n = strlen(w);
    return s.n - i > n && !memcmp(s.p + i, w, n) && (s.p[i + n] == ' ' || s.p[i + n] == '\t');
}

static void parse_text(struct pctx *P)
{
    struct sv all = {P->buf, P->len, 0};
    size_t i = 0;
    while (i < all.n) {
        char c = all.p[i];
        if (isspace((unsigned char)c)) {
            i++;
            continue;
        }
        if (c == '#') {
            while (i < all.n && all.p[i] != '\n')
                i++;
            continue;
        }
        size_t start = i;
        if (is_word(all, i, "var") || is_word(all, i, "ipvar") || is_word(all, i, "portvar")) {
            size_t e = i;
            while (e < all.n && all.p[e] != '\n')
                e++;
            int kind = is_word(all, i, "var") ? -1 : is_word(all, i, "ipvar") ? 0 : 1;
            parse_var(P, sv_sub(all, i, e - i), kind);
            i = e;
            continue;
        }
        /* header: up to '(' on the same logical line */
        size_t e = i;
        while (e < all.n && all.p[e] != '(' && all.p[e] != '#') {
            if (all.p[e] == '\n' && !(e > i && all.p[e - 1] == '\\')) break;
            e++;
        }
        if (e >= all.n || all.p[e] != '(') {
            perr(P, e < all.n ? e : all.n, "expected '(' after the rule header");
            while (e < all.n && all.p[e] != '\n')
                e++;
            i = e;
            continue;
        }
        struct rtmp *t = calloc(1, sizeof(*t));
        if (!t) {
            perr(P, start, "out of memory");
            return;
        }
        t->r.file = P->file;
        t->r.ruleset = P->ruleset_name;
        t->r.severity = -1;
        int l, col;
        line_col(P, start, &l, &col);
        t->r.line = l;
        /* header text with backslash-newlines as spaces: the words split on isspace */
        struct sv hdr = sv_sub(all, i, e - i);
        int ok = parse_header(P, t, hdr);
        /* options: to the matching ')' outside quotes */
        size_t o = e + 1;
        int q = 0;
        while (o < all.n) {
            char ch = all.p[o];
            if (ch == '\\' && o + 1 < all.n) {
                o += 2;
                continue;
            }
            if (ch == '"')
                q = !q;
            else if (ch == ')' && !q)
                break;
            o++;
        }
        if (o >= all.n) {
            perr(P, e, "rule options are not closed with ')'");
            free(t);
            return;
        }
        int okopt = parse_options(P, t, sv_sub(all, e + 1, o - e - 1));
        size_t after = o + 1;
        while (after < all.n &&
               (all.p[after] == ' ' || all.p[after] == '\t' || all.p[after] == '\r'))
            after++;
        if (after < all.n && all.p[after] != '\n' && all.p[after] != '#') {
            perr(P, after, "unexpected text after the rule");
            ok = -1;
        }
        if (ok == 0 && okopt == 0) finish_rule(P, t, start);
        free(t);
        while (after < all.n && all.p[after] != '\n')
            after++;
        i = after;
    }
}

/* ---- loading ---- */

static char *read_file(const char *path, size_t *len, char *err, size_t errlen, size_t *used)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int n = snprintf(err + *used, errlen - *used, "%s:0:0: cannot open: %s\n", path,
                         strerror(errno));
        if (n > 0) *used += (size_t)n < errlen - *used ? (size_t)n : errlen - *used - 1;
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap) break;
        cap *= 2;
        char *nb = realloc(b, cap + 1);
        if (!nb) {
            free(b);
            b = NULL;
        }
        b = nb;
    }
    fclose(f);
    if (!b) return NULL;
    b[n] = 0;
    *len = n;
    return b;
}

static const char *ruleset_name_of(struct ruleset *rs, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 6 && !strcmp(base + n - 6, ".rules")) n -= 6;
    return rs_strndup(rs, base, n);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_one(struct pctx *P, const char *path)
{
    size_t len = 0;
    char *text = read_file(path, &len, P->err, P->errlen, &P->errused);
    if (!text) {
        P->nerr++;
        return;
    }
    P->file = rs_strndup(P->rs, path, strlen(path));
    P->ruleset_name = ruleset_name_of(P->rs, path);
    set_buf(P, text, len);
    parse_text(P);
    free(text);
}

static void load_path(struct pctx *P, const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        load_one(P, path);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= 6 || strcmp(de->d_name + l - 6, ".rules")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (!nn) break;
            names = nn;
        }
        size_t pl = strlen(path) + 1 + l + 1;
        names[n] = malloc(pl);
        if (!names[n]) break;
        snprintf(names[n], pl, "%s/%s", path, de->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        load_one(P, names[i]);
        free(names[i]);
    }
    free(names);
}

static void resolve(struct ruleset *rs)
{
    static const int prio_sev[] = {2, 4, 3, 2, 1}; /* priority 1..4 -> severity */
    for (int i = 0; i < rs->nrules; i++) {
        struct rule *r = &rs->rules[i];
        if (!r->cls && r->classtype) r->cls = ruleset_classification(rs, r->classtype);
        int prio = r->priority ? r->priority : r->cls ? r->cls->priority : 3;
        r->eff_severity = r->severity >= 0 ? r->severity : prio <= 4 ? prio_sev[prio] : 1;
    }
}

static struct ruleset *finish(struct pctx *P, int zones_err)
{
    if (P->nerr || zones_err) {
        ruleset_free(P->rs);
        return NULL;
    }
    resolve(P->rs);
    if (ruleset_compile(P->rs)) {
        if (P->err && P->errlen) snprintf(P->err, P->errlen, "out of memory\n");
        ruleset_free(P->rs);
        return NULL;
    }
    return P->rs;
}

/* Zones first: their names are variables for the rules. */
static void load_zones(struct pctx *P, const char *file, const char *text, size_t len)
{
    P->nerr += zones_parse(P->rs, file, text, len, P->err ? P->err + P->errused : NULL,
                           P->errlen > P->errused ? P->errlen - P->errused : 0);
    if (P->err) P->errused = strlen(P->err);
    for (int i = 0; i < P->rs->nzones && P->nvars < MAX_VARS; i++) {
        P->vars[P->nvars].name = P->rs->zones[i].name;
        P->vars[P->nvars].value = P->rs->zones[i].vartext;
        P->vars[P->nvars].is_port = 0;
        P->nvars++;
    }
}

static struct pctx *pctx_new(char *err, size_t errlen)
{
    struct pctx *P = calloc(1, sizeof(*P));
    if (!P) return NULL;
    P->rs = calloc(1, sizeof(*P->rs));
    if (!P->rs) {
        free(P);
        return NULL;
    }
    P->err = err;
    P->errlen = errlen;
    if (err && errlen) err[0] = 0;
    return P;
}

/* Reads path into P's error-reporting load; NULL (counted as an error) when it cannot. */
static char *load_text(struct pctx *P, const char *path, size_t *len)
{
    char *text = read_file(path, len, P->err, P->errlen, &P->errused);
    if (!text) P->nerr++;
    return text;
}

static void load_classification(struct pctx *P, const char *file, const char *text, size_t len)
{
    P->nerr +=
        classification_parse(P->rs, file, text, len, P->err + P->errused, P->errlen - P->errused);
    P->errused = strlen(P->err);
}

struct ruleset *ruleset_load_files(const struct ruleset_files *f, char *err, size_t errlen)
{
    char none[1];
    if (!err || !errlen) { /* callers may not want the text; we still need a buffer */
        err = none;
        errlen = sizeof(none);
    }
    struct pctx *P = pctx_new(err, errlen);
    if (!P) return NULL;
    size_t len = 0;
    char *text;
    if (f->classification && (text = load_text(P, f->classification, &len))) {
        load_classification(P, f->classification, text, len);
        free(text);
    }
    if (f->zones && (text = load_text(P, f->zones, &len))) {
        load_zones(P, f->zones, text, len);
        free(text);
    }
    for (int i = 0; i < f->nrules; i++)
        load_path(P, f->rules[i]);
    if (f->suppress && (text = load_text(P, f->suppress, &len))) {
        suppress_parse(P, f->suppress, text, len);
        free(text);
    }
    struct ruleset *rs = finish(P, 0);
    free(P);
    return rs;
}

struct ruleset *ruleset_load(const char *const *paths, int n, const char *classification_path,
                             const char *zones_path, char *err, size_t errlen)
{
    struct ruleset_files f = {paths, n, classification_path, zones_path, NULL};
    return ruleset_load_files(&f, err, errlen);
}

struct ruleset *ruleset_load_mem(const struct ruleset_texts *t, char *err, size_t errlen)
{
    char none[1];
    if (!err || !errlen) {
        err = none;
        errlen = sizeof(none);
    }
    struct pctx *P = pctx_new(err, errlen);
    if (!P) return NULL;
    if (t->classification)
        load_classification(P, "classification.config", t->classification,
                            strlen(t->classification));
    if (t->zones) load_zones(P, "zones.conf", t->zones, strlen(t->zones));
    P->file = rs_strndup(P->rs, t->rules_name, strlen(t->rules_name));
    P->ruleset_name = ruleset_name_of(P->rs, t->rules_name);
    set_buf(P, t->rules, t->rules_len);
    parse_text(P);
    if (t->suppress) suppress_parse(P, "threshold.config", t->suppress, strlen(t->suppress));
    struct ruleset *rs = finish(P, 0);
    free(P);
    return rs;
}

struct ruleset *ruleset_load_text(const char *name, const char *text, size_t len,
                                  const char *classification_text, char *err, size_t errlen)
{
    return ruleset_load_texts(name, text, len, classification_text, NULL, err, errlen);
}

struct ruleset *ruleset_load_texts(const char *name, const char *text, size_t len,
                                   const char *classification_text, const char *zones_text,
                                   char *err, size_t errlen)
{
    struct ruleset_texts t = {name, text, len, classification_text, zones_text, NULL};
    return ruleset_load_mem(&t, err, errlen);
}

void ruleset_free(struct ruleset *rs)
{
    if (!rs) return;
    free(rs->rules);
    free(rs->cls);
    for (int i = 0; i < rs->nprotos; i++) {
        free(rs->protos[i].any);
        free(rs->protos[i].bycode);
        free(rs->protos[i].byop);
    }
    free(rs->generic);
    struct arena *a = rs->arena;
    while (a) {
        struct arena *n = a->next;
        free(a);
        a = n;
    }
    free(rs);
}

int ruleset_count(const struct ruleset *rs)
{
    return rs ? rs->nrules : 0;
}
