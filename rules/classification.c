/* classification.c - Suricata's classification.config, extended with FR, SR and TC columns:
 *
 *   config classification: name,description,priority[,FR2|FR1,SR 2.1|SR 1.2,TC.HCK.CMD]
 *
 * The three extra columns are optional ('|' separates several values, '-' or empty
 * means none), so Suricata's own file loads unchanged. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"

struct cctx {
    const char *file;
    char *err;
    size_t errlen;
    int nerr;
};

__attribute__((format(printf, 4, 5))) static void cerr(struct cctx *C, int line, int col,
                                                       const char *fmt, ...)
{
    C->nerr++;
    va_list ap;
    va_start(ap, fmt);
    rule_err_vappend(C->err, C->errlen, C->file, line, col, fmt, ap);
    va_end(ap);
}

const struct classification *ruleset_classification(const struct ruleset *rs, const char *name)
{
    for (int i = 0; i < rs->ncls; i++)
        if (!strcmp(rs->cls[i].name, name)) return &rs->cls[i];
    return NULL;
}

/* One field of a line: [b, e) with leading/trailing blanks removed. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* Parses one '|' list column into the classification. kind: 0 FR, 1 SR, 2 TC. */
static int column(struct ruleset *rs, struct cctx *C, struct classification *c, int kind,
                  const char *b, const char *e, const char *lb, int line)
{
    trim(&b, &e);
    if (b == e || (e - b == 1 && *b == '-')) return 0;
    while (b <= e) {
        const char *bar = memchr(b, '|', (size_t)(e - b));
        const char *ie = bar ? bar : e;
        const char *vb = b, *ve = ie;
        trim(&vb, &ve);
        size_t n = (size_t)(ve - vb);
        int col = (int)(vb - lb) + 1;
        if (kind == 0) {
            if (n != 3 || memcmp(vb, "FR", 2) || vb[2] < '1' || vb[2] > '7') {
                cerr(C, line, col, "FR must be FR1 to FR7");
                return -1;
            }
            c->fr |= (uint8_t)(1u << (vb[2] - '1'));
        } else if (kind == 1) {
            if (n < 6 || memcmp(vb, "SR ", 3) || vb[3] < '1' || vb[3] > '7' || vb[4] != '.' ||
                !isdigit((unsigned char)vb[5])) {
                cerr(C, line, col, "SR must look like SR 2.1");
                return -1;
            }
            if (c->nsr >= RULE_MAX_SR) {
                cerr(C, line, col, "too many SRs (at most %d)", RULE_MAX_SR);
                return -1;
            }
            c->sr[c->nsr++] = rs_strndup(rs, vb, n);
            c->fr |= (uint8_t)(1u << (vb[3] - '1'));
        } else {
            if (!rule_tc_valid(vb, n)) {
                cerr(C, line, col, "unknown ISO/IEC 27032 threat code '%.*s'", (int)n, vb);
                return -1;
            }
            if (c->ntc >= RULE_MAX_TC) {
                cerr(C, line, col, "too many threat codes (at most %d)", RULE_MAX_TC);
                return -1;
            }
            c->tc[c->ntc++] = rs_strndup(rs, vb, n);
        }
        if (!bar) break;
        b = bar + 1;
    }
    return 0;
}

static void parse_line(struct ruleset *rs, struct cctx *C, const char *lb, const char *le, int line)
{
    const char *p = lb;
    while (p < le && isspace((unsigned char)*p))
        p++;
    if (p == le || *p == '#') return;
    static const char pre[] = "config classification:";
    if ((size_t)(le - p) < sizeof(pre) - 1 || memcmp(p, pre, sizeof(pre) - 1)) {
        cerr(C, line, (int)(p - lb) + 1, "expected 'config classification:'");
        return;
    }
    p += sizeof(pre) - 1;
    const char *f[6][2];
    int n = 0;
    const char *s = p;
    for (const char *q = p;; q++) {
        if (q == le || *q == ',') {
            if (n < 6) {
                f[n][0] = s;
                f[n][1] = q;
            }
            n++;
            s = q + 1;
            if (q == le) break;
        }
    }
    if (n < 3 || n > 6) {
        cerr(C, line, (int)(p - lb) + 1,
             "expected name,description,priority[,FR,SR,TC] (%d fields)", n);
        return;
    }
    const char *nb = f[0][0], *ne = f[0][1];
    trim(&nb, &ne);
    if (nb == ne) {
        cerr(C, line, (int)(f[0][0] - lb) + 1, "empty classtype name");
        return;
    }
    for (const char *q = nb; q < ne; q++)
        if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_') {
            cerr(C, line, (int)(q - lb) + 1, "bad classtype name");
            return;
        }
    char name[128];
    size_t nl = (size_t)(ne - nb) < sizeof(name) - 1 ? (size_t)(ne - nb) : sizeof(name) - 1;
    memcpy(name, nb, nl);
    name[nl] = 0;
    if (ruleset_classification(rs, name)) {
        cerr(C, line, (int)(nb - lb) + 1, "duplicate classtype '%s'", name);
        return;
    }
    const char *pb = f[2][0], *pe = f[2][1];
    trim(&pb, &pe);
    int prio = 0;
    for (const char *q = pb; q < pe; q++) {
        if (!isdigit((unsigned char)*q) || prio > 1000) {
            prio = -1;
            break;
        }
        prio = prio * 10 + (*q - '0');
    }
    if (pb == pe || prio < 1 || prio > 255) {
        cerr(C, line, (int)(f[2][0] - lb) + 1, "priority must be 1-255");
        return;
    }
    struct classification c;
    memset(&c, 0, sizeof(c));
    for (int k = 3; k < n; k++)
        if (column(rs, C, &c, k - 3, f[k][0], f[k][1], lb, line)) return;
    const char *db = f[1][0], *de = f[1][1];
    trim(&db, &de);
    c.name = rs_strndup(rs, name, nl);
    c.desc = rs_strndup(rs, db, (size_t)(de - db));
    c.priority = prio;
    if (rs->ncls == rs->capcls) {
        int cap = rs->capcls ? rs->capcls * 2 : 64;
        struct classification *nc = realloc(rs->cls, sizeof(*nc) * (size_t)cap);
        if (!nc) {
            cerr(C, line, 1, "out of memory");
            return;
        }
        rs->cls = nc;
        rs->capcls = cap;
    }
    rs->cls[rs->ncls++] = c;
}

int classification_parse(struct ruleset *rs, const char *file, const char *text, size_t len,
                         char *err, size_t errlen)
{
    struct cctx C = {file, err, errlen, 0};
    const char *p = text, *end = text + len;
    int line = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *e2 = le;
        if (e2 > p && e2[-1] == '\r') e2--;
        parse_line(rs, &C, p, e2, line);
        line++;
        p = nl ? nl + 1 : end;
    }
    return C.nerr;
}
