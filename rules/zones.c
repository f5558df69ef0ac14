/* zones.c - IEC 62443 zones and conduits (rules/zones.conf, -Z):
 *
 *   zone NAME CIDR[,CIDR...] [sl N | sl FR1=N,...,FR7=N] [type safety|control|dmz|...]
 *   conduit ZONE ZONE [protocols P[,P...]] [ops read-only|write|program|diagnostic[,...]]
 *
 * A zone's name becomes a rule variable ($NAME). Alerts name the source and destination
 * zones (the most specific prefix wins), the conduit between them, the destination's
 * SL-T vector, and the taxonomy's severity modifiers apply (zone crossing, safety
 * zone, SL-T >= 3 for an FR of the alert). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"

struct zctx {
    const char *file;
    char *err;
    size_t errlen;
    int nerr;
};

__attribute__((format(printf, 4, 5))) static void zerr(struct zctx *Z, int line, int col,
                                                       const char *fmt, ...)
{
    Z->nerr++;
    va_list ap;
    va_start(ap, fmt);
    rule_err_vappend(Z->err, Z->errlen, Z->file, line, col, fmt, ap);
    va_end(ap);
}

/* words of a line: [b, e) pairs */
#define ZMAX_WORDS 16

static int words(const char *lb, const char *le, const char *w[][2])
{
    int n = 0;
    const char *p = lb;
    while (p < le) {
        while (p < le && isspace((unsigned char)*p))
            p++;
        if (p >= le || *p == '#') break;
        const char *s = p;
        while (p < le && !isspace((unsigned char)*p))
            p++;
        if (n < ZMAX_WORDS) {
            w[n][0] = s;
            w[n][1] = p;
        }
        n++;
    }
    return n;
}

static int weq(const char *const w[2], const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(w[1] - w[0]) == n && !memcmp(w[0], lit, n);
}

const struct zone *zone_find(const struct ruleset *rs, const char *name, size_t n)
{
    for (int i = 0; i < rs->nzones; i++)
        if (strlen(rs->zones[i].name) == n && !memcmp(rs->zones[i].name, name, n))
            return &rs->zones[i];
    return NULL;
}

static int parse_nets(struct ruleset *rs, struct zctx *Z, struct zone *z, const char *const w[2],
                      const char *lb, int line)
{
    const char *p = w[0], *e = w[1];
    if (p < e && *p == '[') p++;
    if (e > p && e[-1] == ']') e--;
    struct net_item tmp[ZONE_MAX_NETS];
    int n = 0;
    while (p < e) {
        const char *c = memchr(p, ',', (size_t)(e - p));
        const char *ie = c ? c : e;
        char b[64];
        size_t l = (size_t)(ie - p);
        if (!l || l >= sizeof(b) || n >= ZONE_MAX_NETS) {
            zerr(Z, line, (int)(p - lb) + 1,
                 l ? "too many or too long addresses" : "empty address");
            return -1;
        }
        memcpy(b, p, l);
        b[l] = 0;
        struct net_item *it = &tmp[n];
        memset(it, 0, sizeof(*it));
        char *slash = strchr(b, '/');
        long bits = -1;
        if (slash) {
            *slash = 0;
            char *end;
            bits = strtol(slash + 1, &end, 10);
            if (!slash[1] || *end || bits < 0 || bits > 128) bits = -2;
        }
        unsigned char a4[4];
        if (bits != -2 && inet_pton(AF_INET, b, a4) == 1 && bits <= 32) {
            it->addr[10] = it->addr[11] = 0xff;
            memcpy(it->addr + 12, a4, 4);
            it->bits = (uint8_t)(96 + (bits < 0 ? 32 : bits));
        } else if (bits != -2 && inet_pton(AF_INET6, b, it->addr) == 1) {
            it->bits = (uint8_t)(bits < 0 ? 128 : bits);
        } else {
            zerr(Z, line, (int)(p - lb) + 1, "bad zone address '%.*s'", (int)l, p);
            return -1;
        }
        n++;
        p = c ? c + 1 : e;
    }
    if (!n) {
        zerr(Z, line, (int)(w[0] - lb) + 1, "zone needs at least one address");
        return -1;
    }
    z->nets = rs_alloc(rs, sizeof(*z->nets) * (size_t)n);
    if (!z->nets) return -1;
    memcpy(z->nets, tmp, sizeof(*z->nets) * (size_t)n);
    z->nnets = n;
    /* the text, as a rule variable value */
    z->vartext = rs_strndup(rs, w[0], (size_t)(w[1] - w[0]));
    return 0;
}

static int parse_sl(struct zctx *Z, struct zone *z, const char *const w[2], const char *lb,
                    int line)
{
    const char *p = w[0], *e = w[1];
    if (e - p == 1 && *p >= '0' && *p <= '4') {
        for (int i = 0; i < 7; i++)
            z->sl_t[i] = (uint8_t)(*p - '0');
        return 0;
    }
    while (p < e) {
        const char *c = memchr(p, ',', (size_t)(e - p));
        const char *ie = c ? c : e;
        if (ie - p != 5 || memcmp(p, "FR", 2) || p[2] < '1' || p[2] > '7' || p[3] != '=' ||
            p[4] < '0' || p[4] > '4') {
            zerr(Z, line, (int)(p - lb) + 1, "sl must be 0-4 or FRn=0-4[,...]");
            return -1;
        }
        z->sl_t[p[2] - '1'] = (uint8_t)(p[4] - '0');
        p = c ? c + 1 : e;
    }
    return 0;
}

static void parse_line(struct ruleset *rs, struct zctx *Z, const char *lb, const char *le, int line)
{
    const char *w[ZMAX_WORDS][2];
    int n = words(lb, le, w);
    if (!n) return;
    if (n > ZMAX_WORDS) {
        zerr(Z, line, 1, "too many words");
        return;
    }
    if (weq(w[0], "zone")) {
        if (n < 3) {
            zerr(Z, line, (int)(w[0][0] - lb) + 1, "zone needs a name and addresses");
            return;
        }
        for (const char *q = w[1][0]; q < w[1][1]; q++)
            if (!isalnum((unsigned char)*q) && *q != '_') {
                zerr(Z, line, (int)(q - lb) + 1, "zone names are letters, digits and _");
                return;
            }
        if (zone_find(rs, w[1][0], (size_t)(w[1][1] - w[1][0]))) {
            zerr(Z, line, (int)(w[1][0] - lb) + 1, "duplicate zone '%.*s'",
                 (int)(w[1][1] - w[1][0]), w[1][0]);
            return;
        }
        if (rs->nzones >= RS_MAX_ZONES) {
            zerr(Z, line, 1, "too many zones (at most %d)", RS_MAX_ZONES);
            return;
        }
        struct zone z;
        memset(&z, 0, sizeof(z));
        z.name = rs_strndup(rs, w[1][0], (size_t)(w[1][1] - w[1][0]));
        if (parse_nets(rs, Z, &z, w[2], lb, line)) return;
        for (int i = 3; i < n; i += 2) {
            if (i + 1 >= n) {
                zerr(Z, line, (int)(w[i][0] - lb) + 1, "'%.*s' needs a value",
                     (int)(w[i][1] - w[i][0]), w[i][0]);
                return;
            }
            if (weq(w[i], "sl")) {
                if (parse_sl(Z, &z, w[i + 1], lb, line)) return;
                z.has_sl = 1;
            } else if (weq(w[i], "type")) {
                z.type = rs_strndup(rs, w[i + 1][0], (size_t)(w[i + 1][1] - w[i + 1][0]));
            } else {
                zerr(Z, line, (int)(w[i][0] - lb) + 1, "unknown zone setting '%.*s'",
                     (int)(w[i][1] - w[i][0]), w[i][0]);
                return;
            }
        }
        rs->zones[rs->nzones++] = z;
        return;
    }
    if (weq(w[0], "conduit")) {
        if (n < 3) {
            zerr(Z, line, (int)(w[0][0] - lb) + 1, "conduit needs two zones");
            return;
        }
        const struct zone *a = zone_find(rs, w[1][0], (size_t)(w[1][1] - w[1][0]));
        const struct zone *b = zone_find(rs, w[2][0], (size_t)(w[2][1] - w[2][0]));
        int bad = !a ? 1 : !b ? 2 : 0;
        if (bad) {
            zerr(Z, line, (int)(w[bad][0] - lb) + 1, "unknown zone '%.*s'",
                 (int)(w[bad][1] - w[bad][0]), w[bad][0]);
            return;
        }
        if (rs->nconduits >= RS_MAX_CONDUITS) {
            zerr(Z, line, 1, "too many conduits (at most %d)", RS_MAX_CONDUITS);
            return;
        }
        struct conduit c;
        memset(&c, 0, sizeof(c));
        c.a = (int)(a - rs->zones);
        c.b = (int)(b - rs->zones);
        char name[160];
        snprintf(name, sizeof(name), "%s-%s", a->name, b->name);
        c.name = rs_strndup(rs, name, strlen(name));
        for (int i = 3; i < n; i += 2) {
            if (i + 1 >= n) {
                zerr(Z, line, (int)(w[i][0] - lb) + 1, "'%.*s' needs a value",
                     (int)(w[i][1] - w[i][0]), w[i][0]);
                return;
            }
            const char *v = rs_strndup(rs, w[i + 1][0], (size_t)(w[i + 1][1] - w[i + 1][0]));
            if (weq(w[i], "protocols")) {
                c.protocols = v;
            } else if (weq(w[i], "ops")) {
                static const char *const ok[] = {"read-only", "write", "program", "diagnostic"};
                const char *p = v;
                while (*p) {
                    size_t l = strcspn(p, ",");
                    int found = 0;
                    for (int k = 0; k < 4; k++)
                        if (strlen(ok[k]) == l && !memcmp(ok[k], p, l)) found = 1;
                    if (!found) {
                        zerr(Z, line, (int)(w[i + 1][0] - lb) + 1 + (int)(p - v),
                             "unknown operation class '%.*s'", (int)l, p);
                        return;
                    }
                    p += l + (p[l] == ',');
                }
                c.ops = v;
            } else {
                zerr(Z, line, (int)(w[i][0] - lb) + 1, "unknown conduit setting '%.*s'",
                     (int)(w[i][1] - w[i][0]), w[i][0]);
                return;
            }
        }
        rs->conduits[rs->nconduits++] = c;
        return;
    }
    zerr(Z, line, (int)(w[0][0] - lb) + 1, "expected 'zone' or 'conduit'");
}

int zones_parse(struct ruleset *rs, const char *file, const char *text, size_t len, char *err,
                size_t errlen)
{
    struct zctx Z = {file, err, errlen, 0};
    const char *p = text, *end = text + len;
    int line = 1;
    if (!rs->zones) {
        rs->zones = rs_alloc(rs, sizeof(*rs->zones) * RS_MAX_ZONES);
        rs->conduits = rs_alloc(rs, sizeof(*rs->conduits) * RS_MAX_CONDUITS);
        if (!rs->zones || !rs->conduits) return 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        parse_line(rs, &Z, p, le, line);
        line++;
        p = nl ? nl + 1 : end;
    }
    return Z.nerr;
}

/* The most specific zone holding the address, or -1. */
int zone_of(const struct ruleset *rs, const struct ev_addr *a)
{
    int best = -1, best_bits = -1;
    for (int i = 0; i < rs->nzones; i++)
        for (int k = 0; k < rs->zones[i].nnets; k++) {
            const struct net_item *n = &rs->zones[i].nets[k];
            unsigned bits = n->bits, j = 0;
            int in = 1;
            for (; bits >= 8 && in; bits -= 8, j++)
                if (n->addr[j] != a->b[j]) in = 0;
            if (in && bits) {
                uint8_t mask = (uint8_t)(0xFFu << (8 - bits));
                if ((n->addr[j] & mask) != (a->b[j] & mask)) in = 0;
            }
            if (in && n->bits > best_bits) {
                best = i;
                best_bits = n->bits;
            }
        }
    return best;
}

/* The conduit between two zones (either order), or NULL. */
const struct conduit *conduit_between(const struct ruleset *rs, int za, int zb)
{
    for (int i = 0; i < rs->nconduits; i++) {
        const struct conduit *c = &rs->conduits[i];
        if ((c->a == za && c->b == zb) || (c->a == zb && c->b == za)) return c;
    }
    return NULL;
}

const char *ruleset_zone_name(const struct ruleset *rs, const struct ev_addr *a)
{
    if (!rs || !rs->nzones) return NULL;
    int z = zone_of(rs, a);
    return z >= 0 ? rs->zones[z].name : NULL;
}
