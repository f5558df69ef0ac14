/* suppress.c - the suppression file (--suppress, Suricata's threshold.config subset):
 *
 *   suppress gen_id G, sig_id S
 *   suppress gen_id G, sig_id S, track by_src|by_dst|by_either, ip ADDR|CIDR|[list]|$VAR
 *   threshold gen_id G, sig_id S, type limit|threshold|both, track by_src|by_dst|by_rule|by_both,
 *             count N, seconds T
 *
 * sig_id 0 names every rule (of gen_id G, or of any gen_id when G is 0). Parsed after the
 * rules, so variables and zone names are known and each line must name a loaded rule.
 * A threshold line replaces the rule's own threshold. Errors: "file:line:col: message". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"

/* One "name value" setting of a line, with offsets into the file text. */
struct setting {
    size_t name_off, name_len, val_off, val_len;
};

#define SUPP_MAX_SETTINGS 8

struct sline {
    const char *text;
    struct setting set[SUPP_MAX_SETTINGS];
    int nset;
};

static int is_sp(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Narrows [*a, *b) of t to its text without surrounding blanks. */
static void trim(const char *t, size_t *a, size_t *b)
{
    while (*a < *b && is_sp(t[*a]))
        (*a)++;
    while (*b > *a && is_sp(t[*b - 1]))
        (*b)--;
}

/* Splits [from, to) at commas outside [...] into settings; returns -1 on error. */
static int split_settings(struct pctx *P, struct sline *L, size_t from, size_t to)
{
    const char *t = L->text;
    L->nset = 0;
    size_t i = from;
    while (i <= to) {
        size_t start = i;
        int depth = 0;
        while (i < to && (t[i] != ',' || depth > 0)) {
            if (t[i] == '[') depth++;
            if (t[i] == ']' && depth > 0) depth--;
            i++;
        }
        size_t a = start, b = i;
        trim(t, &a, &b);
        if (a == b) {
            rp_error(P, a, "empty setting");
            return -1;
        }
        if (L->nset >= SUPP_MAX_SETTINGS) {
            rp_error(P, a, "too many settings (at most %d)", SUPP_MAX_SETTINGS);
            return -1;
        }
        struct setting *s = &L->set[L->nset++];
        size_t n = a;
        while (n < b && !is_sp(t[n]))
            n++;
        s->name_off = a;
        s->name_len = n - a;
        while (n < b && is_sp(t[n]))
            n++;
        s->val_off = n;
        s->val_len = b - n;
        i++; /* past the comma (or the end) */
    }
    return 0;
}

static int name_is(const struct sline *L, const struct setting *s, const char *name)
{
    return s->name_len == strlen(name) && !memcmp(L->text + s->name_off, name, s->name_len);
}

static int val_is(const struct sline *L, const struct setting *s, const char *v)
{
    return s->val_len == strlen(v) && !memcmp(L->text + s->val_off, v, s->val_len);
}

static int val_u32(struct pctx *P, const struct sline *L, const struct setting *s, uint32_t *out)
{
    const char *v = L->text + s->val_off;
    uint64_t x = 0;
    if (!s->val_len) {
        rp_error(P, s->name_off, "%.*s needs a value", (int)s->name_len, L->text + s->name_off);
        return -1;
    }
    for (size_t i = 0; i < s->val_len; i++) {
        if (!isdigit((unsigned char)v[i]) || (x = x * 10 + (uint64_t)(v[i] - '0')) > UINT32_MAX) {
            rp_error(P, s->val_off, "%.*s must be a number from 0 to 4294967295", (int)s->name_len,
                     L->text + s->name_off);
            return -1;
        }
    }
    *out = (uint32_t)x;
    return 0;
}

/* What one line says, before it is bound to rules. */
struct sdesc {
    int is_thr;
    uint32_t gid, sid;
    int has_gid, has_sid, has_track, has_ip, has_type, has_count, has_seconds;
    uint8_t track;
    struct addr_set ips;
    struct threshold thr;
};

static int parse_setting(struct pctx *P, const struct sline *L, const struct setting *s,
                         struct sdesc *d)
{
    int *seen = NULL;
    if (name_is(L, s, "gen_id"))
        seen = &d->has_gid;
    else if (name_is(L, s, "sig_id"))
        seen = &d->has_sid;
    else if (name_is(L, s, "track"))
        seen = &d->has_track;
    else if (name_is(L, s, "ip") && !d->is_thr)
        seen = &d->has_ip;
    else if (name_is(L, s, "type") && d->is_thr)
        seen = &d->has_type;
    else if (name_is(L, s, "count") && d->is_thr)
        seen = &d->has_count;
    else if (name_is(L, s, "seconds") && d->is_thr)
        seen = &d->has_seconds;
    if (!seen) {
        rp_error(P, s->name_off, "unknown %s setting '%.*s'", d->is_thr ? "threshold" : "suppress",
                 (int)s->name_len, L->text + s->name_off);
        return -1;
    }
    if (*seen) {
        rp_error(P, s->name_off, "%.*s given twice", (int)s->name_len, L->text + s->name_off);
        return -1;
    }
    *seen = 1;
    if (seen == &d->has_gid) return val_u32(P, L, s, &d->gid);
    if (seen == &d->has_sid) return val_u32(P, L, s, &d->sid);
    if (seen == &d->has_count) return val_u32(P, L, s, &d->thr.count);
    if (seen == &d->has_seconds) return val_u32(P, L, s, &d->thr.seconds);
    if (seen == &d->has_ip) {
        if (!s->val_len) {
            rp_error(P, s->name_off, "ip needs an address, CIDR, list or $VAR");
            return -1;
        }
        return rp_addr_set(P, L->text + s->val_off, s->val_len, s->val_off, &d->ips);
    }
    if (seen == &d->has_type) {
        if (val_is(L, s, "limit"))
            d->thr.type = THR_LIMIT;
        else if (val_is(L, s, "threshold"))
            d->thr.type = THR_THRESHOLD;
        else if (val_is(L, s, "both"))
            d->thr.type = THR_BOTH;
        else {
            rp_error(P, s->val_off, "threshold type must be limit, threshold or both");
            return -1;
        }
        return 0;
    }
    /* track */
    if (d->is_thr) {
        static const char *const tn[] = {"by_src", "by_dst", "by_rule", "by_both"};
        static const uint8_t tv[] = {TRACK_SRC, TRACK_DST, TRACK_RULE, TRACK_BOTH};
        for (int i = 0; i < 4; i++)
            if (val_is(L, s, tn[i])) {
                d->thr.track = tv[i];
                return 0;
            }
        rp_error(P, s->val_off, "track must be by_src, by_dst, by_rule or by_both");
        return -1;
    }
    if (val_is(L, s, "by_src"))
        d->track = SUPP_SRC;
    else if (val_is(L, s, "by_dst"))
        d->track = SUPP_DST;
    else if (val_is(L, s, "by_either"))
        d->track = SUPP_EITHER;
    else {
        rp_error(P, s->val_off, "track must be by_src, by_dst or by_either");
        return -1;
    }
    return 0;
}

static int rule_named(const struct rule *r, const struct sdesc *d)
{
    return (d->gid == 0 || r->gid == d->gid) && (d->sid == 0 || r->sid == d->sid);
}

/* Binds a parsed line to the rules it names. */
static void apply(struct pctx *P, const struct sdesc *d, size_t off)
{
    struct ruleset *rs = rp_ruleset(P);
    int named = 0;
    for (int i = 0; i < rs->nrules; i++)
        if (rule_named(&rs->rules[i], d)) named++;
    if (!named) {
        rp_error(P, off, "no loaded rule has gen_id %u, sig_id %u", (unsigned)d->gid,
                 (unsigned)d->sid);
        return;
    }
    if (d->is_thr) {
        for (int i = 0; i < rs->nrules; i++)
            if (rule_named(&rs->rules[i], d)) rs->rules[i].thr = d->thr;
        return;
    }
    struct suppress proto = {d->gid, d->sid, d->track, d->ips, NULL};
    for (int i = -1; i < rs->nrules; i++) {
        /* i == -1: a sig_id 0 entry, on the every-rule list */
        if (i < 0 ? d->sid != 0 : d->sid == 0 || !rule_named(&rs->rules[i], d)) continue;
        struct suppress *s = rs_alloc(rs, sizeof(*s));
        if (!s) {
            rp_error(P, off, "out of memory");
            return;
        }
        *s = proto;
        const struct suppress **head = i < 0 ? &rs->supp_all : &rs->rules[i].supp;
        s->next = *head;
        *head = s;
    }
}

static void parse_line(struct pctx *P, const char *text, size_t ls, size_t le)
{
    size_t w = ls;
    while (w < le && !is_sp(text[w]))
        w++;
    struct sdesc d;
    memset(&d, 0, sizeof(d));
    d.gid = 1;
    size_t n = w - ls;
    if (n == 8 && !memcmp(text + ls, "suppress", 8)) {
        d.is_thr = 0;
    } else if (n == 9 && !memcmp(text + ls, "threshold", 9)) {
        d.is_thr = 1;
    } else if ((n == 11 && !memcmp(text + ls, "rate_filter", 11)) ||
               (n == 12 && !memcmp(text + ls, "event_filter", 12))) {
        rp_error(P, ls, "%.*s is not supported (use suppress or threshold)", (int)n, text + ls);
        return;
    } else {
        rp_error(P, ls, "unknown directive '%.*s' (expected suppress or threshold)", (int)n,
                 text + ls);
        return;
    }
    struct sline L = {.text = text};
    while (w < le && is_sp(text[w]))
        w++;
    if (w < le && split_settings(P, &L, w, le)) return;
    for (int i = 0; i < L.nset; i++)
        if (parse_setting(P, &L, &L.set[i], &d)) return;
    const char *what = d.is_thr ? "threshold" : "suppress";
    if (!d.has_gid || !d.has_sid) {
        rp_error(P, ls, "%s needs gen_id and sig_id", what);
        return;
    }
    if (!d.is_thr && d.has_track != d.has_ip) {
        rp_error(P, ls, "suppress: track and ip go together");
        return;
    }
    if (d.is_thr && !(d.has_type && d.has_track && d.has_count && d.has_seconds)) {
        rp_error(P, ls, "threshold needs type, track, count and seconds");
        return;
    }
    if (d.is_thr && (d.thr.count == 0 || d.thr.seconds == 0)) {
        rp_error(P, ls, "threshold count and seconds must be at least 1");
        return;
    }
    apply(P, &d, ls);
}

void suppress_parse(struct pctx *P, const char *file, const char *text, size_t len)
{
    rp_begin(P, file, text, len);
    size_t i = 0;
    while (i < len) {
        size_t le = i;
        while (le < len && text[le] != '\n')
            le++;
        size_t a = i, b = le;
        trim(text, &a, &b);
        if (a < b && text[a] != '#') parse_line(P, text, a, b);
        i = le + 1;
    }
}
