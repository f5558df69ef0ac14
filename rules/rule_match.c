/* rule_match.c - dispatch of events to the rules that can match them, matching, thresholds.
 *
 * At load, each rule lands in one list: the generic list (header tcp/udp/ip/any and no
 * protocol keyword), or its protocol's list - by code when the rule fixes one
 * (sorted, binary-searched), else the protocol's any-code list. An event is tested
 * only against the generic list, its protocol's any-code list and the rules with its
 * code, so unrelated rules cost nothing. Threshold state lives in a fixed-size table
 * per worker. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rule_int.h"

#define THR_SLOTS 16384 /* per worker; a power of two */
#define THR_PROBE 8
#define MAX_HITS  64     /* rules matching one event */
#define ALERT_BUF 131072 /* the largest event (8 KiB of text, all escaped) fits */

/* ---- compile ---- */

static int cmp_code(const void *a, const void *b)
{
    const struct code_ent *x = a, *y = b;
    if (x->code != y->code) return x->code < y->code ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static uint64_t op_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

/* The op: condition that fixes a rule to op names, if any (then the rule is only
 * tested against events with one of those ops). */
static const struct cond *op_key(const struct rule *r)
{
    for (int k = 0; k < r->nconds; k++)
        if (r->conds[k].type == C_OP && !r->conds[k].neg && r->conds[k].nstrs > 0)
            return &r->conds[k];
    return NULL;
}

static int cmp_op(const void *a, const void *b)
{
    const struct op_ent *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* The field names a condition cannot match without (none for a negated one, which
 * matches where the name is absent). */
static uint64_t cond_keys(const struct cond *c)
{
    if (c->neg) return 0;
    switch (c->type) {
    case C_FIELD: return ev_key_bit(c->path[c->npath - 1]);
    case C_DNP3_IND: return ev_key_bit("iin");
    case C_DNP3_OBJ: return ev_key_bit("objects") | ev_key_bit("group") | ev_key_bit("variation");
    case C_CIP:
        return (c->u.cip.has_cls ? ev_key_bit("class") : 0) |
               (c->u.cip.has_attr ? ev_key_bit("attribute") : 0);
    default: return 0;
    }
}

int ruleset_compile(struct ruleset *rs)
{
    int ngen = 0;
    for (int i = 0; i < rs->nrules; i++) {
        struct rule *r = &rs->rules[i];
        r->need_keys = 0;
        for (int k = 0; k < r->nconds; k++)
            r->need_keys |= cond_keys(&r->conds[k]);
        if (r->proto < 0) {
            ngen++;
            continue;
        }
        struct proto_disp *d = &rs->protos[r->proto];
        const struct cond *ok = op_key(r);
        if (r->has_code_key)
            d->nbycode += r->ncodes; /* none: it can never match */
        else if (ok)
            d->nbyop += ok->nstrs;
        else
            d->nany++;
    }
    rs->generic = ngen ? malloc(sizeof(uint32_t) * (size_t)ngen) : NULL;
    if (ngen && !rs->generic) return -1;
    for (int p = 0; p < rs->nprotos; p++) {
        struct proto_disp *d = &rs->protos[p];
        d->any = d->nany ? malloc(sizeof(uint32_t) * (size_t)d->nany) : NULL;
        d->bycode = d->nbycode ? malloc(sizeof(struct code_ent) * (size_t)d->nbycode) : NULL;
        d->byop = d->nbyop ? malloc(sizeof(struct op_ent) * (size_t)d->nbyop) : NULL;
        if ((d->nany && !d->any) || (d->nbycode && !d->bycode) || (d->nbyop && !d->byop)) return -1;
        d->nany = d->nbycode = d->nbyop = 0;
    }
    rs->ngeneric = 0;
    for (int i = 0; i < rs->nrules; i++) {
        struct rule *r = &rs->rules[i];
        if (r->proto < 0) {
            rs->generic[rs->ngeneric++] = (uint32_t)i;
            continue;
        }
        struct proto_disp *d = &rs->protos[r->proto];
        if (r->has_code_key) {
            for (int k = 0; k < r->ncodes; k++) {
                d->bycode[d->nbycode].code = r->codes[k];
                d->bycode[d->nbycode].rule = (uint32_t)i;
                d->nbycode++;
            }
        } else if (op_key(r)) {
            const struct cond *ok = op_key(r);
            for (int k = 0; k < ok->nstrs; k++) {
                d->byop[d->nbyop].hash = op_hash(ok->strs[k]);
                d->byop[d->nbyop].rule = (uint32_t)i;
                d->nbyop++;
            }
        } else {
            d->any[d->nany++] = (uint32_t)i;
        }
    }
    for (int p = 0; p < rs->nprotos; p++) {
        if (rs->protos[p].nbycode)
            qsort(rs->protos[p].bycode, (size_t)rs->protos[p].nbycode, sizeof(struct code_ent),
                  cmp_code);
        if (rs->protos[p].nbyop)
            qsort(rs->protos[p].byop, (size_t)rs->protos[p].nbyop, sizeof(struct op_ent), cmp_op);
    }
    return 0;
}

/* ---- per-worker context ---- */

struct thr_ent {
    uint32_t rule; /* rule index + 1; 0: free */
    uint8_t kind;  /* 0 threshold, 1 detection_filter */
    uint8_t key[32];
    uint64_t first_us;
    uint32_t count;
    uint32_t total; /* matches merged into the current window */
};

/* per rule: how often it was tested, matched and alerted (for --rule-profile) */
struct rule_prof {
    uint64_t checks, matches, alerts, ns;
};

/* An event's proto and op are static strings (event.h), so what the dispatch needs
 * of them, the protocol's index and the op's hash, is remembered by address: without
 * it, hashing the op and comparing protocol names took a third of the matching. */
#define MEMO_BITS  8
#define MEMO_SLOTS (1u << MEMO_BITS)

/* The slot of a name's address in a memo of 2^bits entries (Fibonacci hashing: the
 * top bits of the product, which depend on every bit of the address). */
static size_t addr_slot(const void *p, unsigned bits)
{
    return (size_t)(((uintptr_t)p * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

struct name_memo {
    const char *name;
    uint64_t val;
};

struct rule_ctx {
    const struct ruleset *rs;
    struct name_memo proto_memo[MEMO_SLOTS];
    struct name_memo op_memo[MEMO_SLOTS];
    struct thr_ent *thr;
    struct rule_prof *prof;
    struct rule_stats st;
    int timing; /* --rule-profile: time each rule test */
    char buf[ALERT_BUF];
    struct alert_hdr hdr;  /* of the alert in buf */
    rule_absorb_fn absorb; /* aggregation ahead of the text, or NULL */
    void *absorb_ctx;
};

void rule_ctx_set_absorb(struct rule_ctx *c, rule_absorb_fn absorb, void *absorb_ctx)
{
    c->absorb = absorb;
    c->absorb_ctx = absorb_ctx;
}

struct rule_ctx *rule_ctx_new(const struct ruleset *rs)
{
    struct rule_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->rs = rs;
    c->thr = calloc(THR_SLOTS, sizeof(*c->thr));
    c->prof = calloc(rs->nrules ? (size_t)rs->nrules : 1, sizeof(*c->prof));
    if (!c->thr || !c->prof) {
        free(c->thr);
        free(c->prof);
        free(c);
        return NULL;
    }
    return c;
}

void rule_ctx_free(struct rule_ctx *c)
{
    if (!c) return;
    free(c->prof);
    free(c->thr);
    free(c);
}

void rule_ctx_stats(const struct rule_ctx *c, struct rule_stats *out)
{
    *out = c->st;
}

/* ---- addresses and ports ---- */

static int net_has(const struct net_item *n, const struct ev_addr *a)
{
    unsigned bits = n->bits, i = 0;
    for (; bits >= 8; bits -= 8, i++)
        if (n->addr[i] != a->b[i]) return 0;
    if (bits) {
        uint8_t mask = (uint8_t)(0xFFu << (8 - bits));
        if ((n->addr[i] & mask) != (a->b[i] & mask)) return 0;
    }
    return 1;
}

static int addr_match(const struct addr_set *s, const struct ev_net *net, const struct ev_addr *a)
{
    if (!s->n) return 1;
    if (!net->ip_version) return 0;
    int pos = 0, hit = 0;
    for (int i = 0; i < s->n; i++) {
        const struct net_item *n = &s->v[i];
        int in = n->bits == 0 || net_has(n, a);
        if (n->neg) {
            if (in) return 0;
        } else {
            pos = 1;
            if (in) hit = 1;
        }
    }
    return !pos || hit;
}

static int port_match(const struct port_set *s, const struct ev_net *net, uint16_t p)
{
    if (!s->n) return 1;
    if (net->transport != EV_TRANSPORT_TCP && net->transport != EV_TRANSPORT_UDP) return 0;
    int pos = 0, hit = 0;
    for (int i = 0; i < s->n; i++) {
        int in = p >= s->v[i].lo && p <= s->v[i].hi;
        if (s->v[i].neg) {
            if (in) return 0;
        } else {
            pos = 1;
            if (in) hit = 1;
        }
    }
    return !pos || hit;
}

static int header_match(const struct rule *r, const struct event *ev)
{
    const struct ev_net *n = &ev->net;
    switch (r->pkind) {
    case RP_TCP:
        if (n->transport != EV_TRANSPORT_TCP) return 0;
        break;
    case RP_UDP:
        if (n->transport != EV_TRANSPORT_UDP) return 0;
        break;
    case RP_IP:
        if (!n->ip_version) return 0;
        break;
    default: break;
    }
    if (addr_match(&r->src, n, &n->src) && addr_match(&r->dst, n, &n->dst) &&
        port_match(&r->sp, n, n->src_port) && port_match(&r->dp, n, n->dst_port))
        return 1;
    if (r->bidir && addr_match(&r->src, n, &n->dst) && addr_match(&r->dst, n, &n->src) &&
        port_match(&r->sp, n, n->dst_port) && port_match(&r->dp, n, n->src_port))
        return 1;
    return 0;
}

/* PDU events ride an established session; engine events (flow.*, decoder.*) do not. */
static int flow_match(const struct rule *r, const struct event *ev)
{
    if (!r->flow) return 1;
    if ((r->flow & FLOW_TO_SERVER) && !ev->net.to_server) return 0;
    if ((r->flow & FLOW_TO_CLIENT) && ev->net.to_server) return 0;
    int established = ev->dir != EV_DIR_NONE;
    if ((r->flow & FLOW_ESTABLISHED) && !established) return 0;
    if ((r->flow & FLOW_NOT_ESTABLISHED) && established) return 0;
    return 1;
}

/* ---- field access ---- */

static int im_match(const struct intmatch *m, int64_t v)
{
    switch (m->op) {
    case IM_EQ: return v == m->a;
    case IM_NE: return v != m->a;
    case IM_LT: return v < m->a;
    case IM_LE: return v <= m->a;
    case IM_GT: return v > m->a;
    case IM_GE: return v >= m->a;
    case IM_RANGE: return v > m->a && v < m->b;
    }
    return 0;
}

static int field_int(const struct ev_field *f, int64_t *v)
{
    switch (f->type) {
    case EVF_UINT: *v = f->v.u > INT64_MAX ? INT64_MAX : (int64_t)f->v.u; return 1;
    case EVF_INT: *v = f->v.i; return 1;
    case EVF_BOOL: *v = f->v.u ? 1 : 0; return 1;
    default: return 0;
    }
}

static int str_match(const struct cond *c, const char *s, size_t n)
{
    if (c->prefix) return n >= c->slen && !memcmp(s, c->str, c->slen);
    return n == c->slen && !memcmp(s, c->str, n);
}

static int leaf_match(const struct cond *c, const struct event *ev, const struct ev_field *f)
{
    if (c->is_str) {
        if (f->type != EVF_STR) return 0;
        return str_match(c, event_field_text(ev, f), f->len);
    }
    int64_t v;
    return field_int(f, &v) && im_match(&c->im, v);
}

/* Any field whose key path ends with c->path (array levels are transparent; a keyless
 * array member counts under its array's key) satisfies leaf_match. */
static int field_any(const struct cond *c, const struct event *ev)
{
    const char *stack[EVENT_MAX_DEPTH + 2];
    int d = 0;
    const char *last = c->path[c->npath - 1];
    for (unsigned i = 0; i < ev->nfields; i++) {
        const struct ev_field *f = &ev->fields[i];
        if (f->type == EVF_END) {
            if (d == 0) break;
            d--;
            continue;
        }
        if (f->type == EVF_OBJ || f->type == EVF_ARR) {
            if (d >= EVENT_MAX_DEPTH + 2) return 0; /* cannot happen: events cap depth */
            stack[d++] = f->key;
            continue;
        }
        const char *key = f->key;
        int s = d - 1;
        if (!key) { /* a keyless array member is named by its array */
            while (s >= 0 && !stack[s])
                s--;
            if (s < 0) continue;
            key = stack[s--];
        }
        if (key[0] != last[0] || strcmp(key, last)) continue; /* most differ at once */
        int ok = 1;
        for (int k = c->npath - 2; k >= 0; k--) {
            while (s >= 0 && !stack[s])
                s--;
            if (s < 0 || strcmp(stack[s], c->path[k])) {
                ok = 0;
                break;
            }
            s--;
        }
        if (ok && leaf_match(c, ev, f)) return 1;
    }
    return 0;
}

/* Several rules often read the same field of one event (the two DNP3 IIN rules, the
 * four IEC-104 APCI rules): what a lookup found is remembered, by the key's address,
 * for the event being matched (find_gen moves on with every rules_match_payload call). */
#define FIND_BITS  4
#define FIND_SLOTS (1u << FIND_BITS)
static _Thread_local struct {
    uint32_t gen;
    const char *key;
    const struct ev_field *f;
} find_memo[FIND_SLOTS];
static _Thread_local uint32_t find_gen;

static void find_memo_next(void)
{
    if (++find_gen == 0) { /* wrapped: forget everything */
        memset(find_memo, 0, sizeof(find_memo));
        find_gen = 1;
    }
}

static const struct ev_field *top_field(const struct event *ev, const char *key)
{
    size_t i = addr_slot(key, FIND_BITS);
    if (find_memo[i].gen != find_gen || find_memo[i].key != key) {
        find_memo[i].gen = find_gen;
        find_memo[i].key = key;
        find_memo[i].f = event_find(ev, key);
    }
    return find_memo[i].f;
}

static int top_uint(const struct event *ev, const char *key, uint32_t *out)
{
    const struct ev_field *f = top_field(ev, key);
    int64_t v;
    if (!f || !field_int(f, &v) || v < 0) return 0;
    *out = (uint32_t)v;
    return 1;
}

/* ---- modbus (Suricata semantics: requests only) ---- */

static int mb_range_match(const struct mb_range *r, uint32_t v)
{
    switch (r->kind) {
    case 0: return v == r->lo;
    case 1: return v < r->lo;
    case 2: return v > r->lo;
    default: return v > r->lo && v < r->hi;
    }
}

/* the rule's range intersects [lo, hi] */
static int mb_range_hits(const struct mb_range *r, uint32_t lo, uint32_t hi)
{
    switch (r->kind) {
    case 0: return r->lo >= lo && r->lo <= hi;
    case 1: return r->lo > lo;
    case 2: return r->lo < hi || (lo == hi && r->lo < lo);
    default: return r->lo < hi && lo < r->hi;
    }
}

enum { MBC_ASSIGNED = 1, MBC_UNASSIGNED = 2, MBC_USER = 4, MBC_RESERVED = 8 };

static int mb_category(unsigned fc)
{
    switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 11:
    case 12:
    case 15:
    case 16:
    case 17:
    case 20:
    case 21:
    case 22:
    case 23:
    case 24:
    case 43: return MBC_ASSIGNED;
    case 9:
    case 10:
    case 13:
    case 14:
    case 41:
    case 42:
    case 90:
    case 91:
    case 125:
    case 126:
    case 127: return MBC_RESERVED;
    }
    if ((fc >= 65 && fc <= 72) || (fc >= 100 && fc <= 110)) return MBC_USER;
    if (fc >= 1 && fc <= 127) return MBC_UNASSIGNED;
    return 0;
}

/* access bits and table of a function code */
static int mb_access_of(unsigned fc, int *table)
{
    switch (fc) {
    case 1: *table = MBT_COILS; return MBA_READ;
    case 2: *table = MBT_DISCRETES; return MBA_READ;
    case 3: *table = MBT_HOLDING; return MBA_READ;
    case 4: *table = MBT_INPUT; return MBA_READ;
    case 5:
    case 15: *table = MBT_COILS; return MBA_WRITE;
    case 6:
    case 16:
    case 22: *table = MBT_HOLDING; return MBA_WRITE;
    case 23: *table = MBT_HOLDING; return MBA_READ | MBA_WRITE;
    case 24: *table = MBT_HOLDING; return MBA_READ;
    case 20: *table = MBT_NONE; return MBA_READ;
    case 21: *table = MBT_NONE; return MBA_WRITE;
    }
    *table = MBT_NONE;
    return 0;
}

/* the n-th member of the top-level "values" array */
static int mb_value_at(const struct event *ev, uint32_t n, uint32_t *out)
{
    int d = 0, in = 0;
    uint32_t k = 0;
    for (unsigned i = 0; i < ev->nfields; i++) {
        const struct ev_field *f = &ev->fields[i];
        if (f->type == EVF_END) {
            if (d == 0) break;
            d--;
            if (in && d == 0) return 0;
            continue;
        }
        if (d == 1 && in) {
            if (k++ == n) {
                int64_t v;
                if (!field_int(f, &v)) return 0;
                *out = (uint32_t)v;
                return 1;
            }
        }
        if (f->type == EVF_OBJ || f->type == EVF_ARR) {
            if (d == 0 && f->type == EVF_ARR && f->key && !strcmp(f->key, "values")) in = 1;
            d++;
        }
    }
    return 0;
}

static int modbus_match(const struct modbus_match *m, const struct event *ev)
{
    if (ev->dir != EV_DIR_REQUEST || !ev->has_code) return 0;
    uint32_t fc;
    if (!top_uint(ev, "func", &fc)) fc = (uint32_t)ev->code;
    if (m->unit.set) {
        uint32_t unit;
        if (!top_uint(ev, "unit", &unit) || !mb_range_match(&m->unit, unit)) return 0;
    }
    if (m->access) {
        int table;
        int acc = mb_access_of(fc, &table);
        if (!(acc & m->access)) return 0;
        if (m->table && m->table != table) return 0;
        if (!m->address.set) return 1;
        uint32_t addr, qty = 1;
        const char *ak = "address", *qk = "quantity";
        if (fc == 23) {
            ak = m->access == MBA_WRITE ? "write_address" : "read_address";
            qk = m->access == MBA_WRITE ? "write_quantity" : "read_quantity";
        }
        if (!top_uint(ev, ak, &addr)) return 0;
        if (!top_uint(ev, qk, &qty) || qty == 0) qty = 1;
        uint32_t hi = addr + qty - 1;
        if (!mb_range_hits(&m->address, addr, hi)) return 0;
        if (!m->value.set) return 1;
        uint32_t v;
        if (fc == 5 || fc == 6) {
            if (!top_uint(ev, "value", &v)) return 0;
        } else if (!mb_value_at(ev, m->address.lo - addr, &v)) {
            return 0;
        }
        return mb_range_match(&m->value, v);
    }
    if (m->category) {
        int in = (mb_category(fc) & m->category) != 0;
        return m->cat_neg ? !in : in;
    }
    if (m->has_func) {
        int eq = fc == m->func;
        if (m->func_neg) return !eq;
        if (!eq) return 0;
        if (m->has_sub) {
            uint32_t sub;
            return top_uint(ev, "sub_function", &sub) && sub == m->sub;
        }
    }
    return 1;
}

/* ---- DNP3 and CIP ---- */

static int dnp3_iin(const struct event *ev, uint32_t *iin)
{
    /* only responses carry IIN (function 129 response, 130 unsolicited, 131
     * authentication response): for the others, no walk through their objects */
    if (ev->has_code && (ev->code < 129 || ev->code > 131)) return 0;
    const struct ev_field *f = top_field(ev, "al.iin");
    if (!f) f = top_field(ev, "iin");
    int64_t v;
    if (!f || !field_int(f, &v)) return 0;
    *iin = (uint32_t)v;
    return 1;
}

/* Some object (an object inside an array named "objects") with this group and variation. */
static int dnp3_obj(const struct event *ev, uint32_t g, uint32_t v)
{
    int d = 0, in_obj = -1;
    int arr_depth[EVENT_MAX_DEPTH + 2];
    int nar = 0;
    int has_g = 0, has_v = 0;
    for (unsigned i = 0; i < ev->nfields; i++) {
        const struct ev_field *f = &ev->fields[i];
        if (f->type == EVF_END) {
            if (d == 0) break;
            d--;
            if (in_obj == d) {
                if (has_g && has_v) return 1;
                in_obj = -1;
            }
            if (nar && arr_depth[nar - 1] == d) nar--;
            continue;
        }
        if (f->type == EVF_ARR) {
            if (f->key && !strcmp(f->key, "objects") && nar < EVENT_MAX_DEPTH + 2)
                arr_depth[nar++] = d;
            d++;
            continue;
        }
        if (f->type == EVF_OBJ) {
            if (!f->key && nar && arr_depth[nar - 1] == d - 1 && in_obj < 0) {
                in_obj = d;
                has_g = has_v = 0;
            }
            d++;
            continue;
        }
        if (in_obj >= 0 && d == in_obj + 1 && f->key) {
            int64_t x;
            if (!field_int(f, &x)) continue;
            if (!strcmp(f->key, "group") && x == g) has_g = 1;
            if (!strcmp(f->key, "variation") && x == v) has_v = 1;
        }
    }
    return 0;
}

static int cip_match(const struct cond *c, const struct event *ev)
{
    if (!ev->has_code || ev->code != c->u.cip.service) return 0;
    uint32_t x;
    if (c->u.cip.has_cls) {
        if (!top_uint(ev, "path.class", &x) || x != c->u.cip.cls) return 0;
    }
    if (c->u.cip.has_attr) {
        if (!top_uint(ev, "path.attribute", &x) || x != c->u.cip.attr) return 0;
    }
    return 1;
}

/* ---- conditions ---- */

static int event_named(const struct event *ev, const char *name, size_t n)
{
    size_t pl = strlen(ev->proto);
    const char *op = ev->op ? ev->op : "";
    return n == pl + 1 + strlen(op) && !memcmp(name, ev->proto, pl) && name[pl] == '.' &&
           !strcmp(name + pl + 1, op);
}

static int cond_match(const struct cond *c, const struct event *ev)
{
    int m = 0;
    switch (c->type) {
    case C_OP:
        for (int i = 0; i < c->nstrs && !m; i++)
            m = ev->op && !strcmp(ev->op, c->strs[i]);
        break;
    case C_CODE: return ev->has_code && im_match(&c->im, ev->code) ? !c->neg : c->neg;
    case C_EVENT: m = event_named(ev, c->str, c->slen) || event_has_anomaly(ev, c->str); break;
    case C_ANOMALY: m = event_has_anomaly(ev, c->str); break;
    case C_FIELD: m = field_any(c, ev); break;
    case C_MODBUS: m = modbus_match(&c->u.mb, ev); break;
    case C_DNP3_IND: {
        uint32_t iin;
        m = dnp3_iin(ev, &iin) && (iin & c->u.mask);
        break;
    }
    case C_DNP3_OBJ: m = dnp3_obj(ev, c->u.obj.group, c->u.obj.variation); break;
    case C_CIP: m = cip_match(c, ev); break;
    }
    return c->neg ? !m : m;
}

/* ---- content (Snort/Suricata relative matching on the PDU payload) ---- */

static int bytes_eq(const uint8_t *a, const uint8_t *b, size_t n, int nocase)
{
    if (!nocase) return !memcmp(a, b, n);
    for (size_t i = 0; i < n; i++)
        if (tolower(a[i]) != tolower(b[i])) return 0;
    return 1;
}

/* Finds pattern c in p within [from, to); returns the end offset or -1. */
static long find_in(const struct content *c, const uint8_t *p, long from, long to)
{
    if (from < 0) from = 0;
    for (long i = from; i + (long)c->len <= to; i++)
        if (bytes_eq(p + i, c->pat, c->len, c->nocase)) return i + (long)c->len;
    return -1;
}

/* Greedy left-to-right, as a simple engine would do without backtracking over
 * earlier contents: each content's window follows from the previous match. */
static int contents_match(const struct rule *r, const uint8_t *p, size_t n)
{
    if (!r->ncontents) return 1;
    if (!p) return 0;
    long prev_end = 0;
    for (int i = 0; i < r->ncontents; i++) {
        const struct content *c = &r->contents[i];
        long from = 0, to = (long)n;
        if (c->has_distance || c->has_within) {
            from = prev_end + (c->has_distance ? c->distance : 0);
            if (c->has_within) to = from + c->within < to ? from + c->within : to;
        } else {
            if (c->has_offset) from = c->offset;
            if (c->has_depth) to = from + c->depth < to ? from + c->depth : to;
        }
        long end = find_in(c, p, from, to);
        if (c->neg) {
            if (end >= 0) return 0;
            continue;
        }
        if (end < 0) return 0;
        prev_end = end;
    }
    return 1;
}

static int rule_match(const struct rule *r, const struct event *ev, const uint8_t *payload,
                      size_t plen)
{
    if (!header_match(r, ev) || !flow_match(r, ev)) return 0;
    if ((ev->key_bits & r->need_keys) != r->need_keys) return 0;
    for (int i = 0; i < r->nconds; i++)
        if (!cond_match(&r->conds[i], ev)) return 0;
    return contents_match(r, payload, plen);
}

/* ---- thresholds ---- */

static uint64_t hash_key(uint32_t rule, uint8_t kind, const uint8_t *key)
{
    uint64_t h = 1469598103934665603ull ^ rule ^ ((uint64_t)kind << 40);
    for (int i = 0; i < 32; i++) {
        h ^= key[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static struct thr_ent *thr_slot(struct rule_ctx *c, uint32_t rule, uint8_t kind, const uint8_t *key,
                                uint64_t now)
{
    uint64_t h = hash_key(rule, kind, key);
    struct thr_ent *oldest = NULL;
    for (int p = 0; p < THR_PROBE; p++) {
        struct thr_ent *e = &c->thr[(h + (uint64_t)p) & (THR_SLOTS - 1)];
        if (e->rule == rule + 1 && e->kind == kind && !memcmp(e->key, key, 32)) return e;
        if (!e->rule) {
            oldest = e;
            break;
        }
        if (!oldest || e->first_us < oldest->first_us) oldest = e;
    }
    if (oldest->rule) c->st.state_evictions++;
    memset(oldest, 0, sizeof(*oldest));
    oldest->rule = rule + 1;
    oldest->kind = kind;
    memcpy(oldest->key, key, 32);
    oldest->first_us = now;
    return oldest;
}

static void track_key(const struct threshold *t, const struct event *ev, uint8_t key[32])
{
    memset(key, 0, 32);
    switch (t->track) {
    case TRACK_SRC: memcpy(key, ev->net.src.b, 16); break;
    case TRACK_DST: memcpy(key, ev->net.dst.b, 16); break;
    case TRACK_BOTH:
        memcpy(key, ev->net.src.b, 16);
        memcpy(key + 16, ev->net.dst.b, 16);
        break;
    default: break;
    }
}

/* Suricata's semantics, on packet time. Returns 1 to alert; *count and *start
 * describe what the alert stands for. */
static int thr_apply(struct rule_ctx *c, uint32_t ri, const struct threshold *t, uint8_t kind,
                     const struct event *ev, uint32_t *count, uint64_t *start)
{
    uint8_t key[32];
    track_key(t, ev, key);
    uint64_t now = ev->net.ts_us;
    struct thr_ent *e = thr_slot(c, ri, kind, key, now);
    uint64_t win = (uint64_t)t->seconds * 1000000u;
    if (e->count == 0 || now < e->first_us || now - e->first_us >= win) {
        e->first_us = now;
        e->count = 0;
        e->total = 0;
    }
    e->count++;
    e->total++;
    *start = e->first_us;
    switch (t->type) {
    case THR_LIMIT: *count = 1; return e->count <= t->count;
    case THR_THRESHOLD:
        if (e->count >= t->count) {
            *count = e->count;
            e->count = 0; /* the next match opens a new window */
            return 1;
        }
        return 0;
    case THR_BOTH: *count = e->count; return e->count == t->count;
    case THR_DETECTION: *count = 1; return e->count > t->count;
    }
    return 1;
}

/* ---- matching ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Tests rule ri, timing the test in profile mode only (the clock costs ~20 ns). */
static int timed_match(struct rule_ctx *c, uint32_t ri, const struct event *ev,
                       const uint8_t *payload, size_t plen)
{
    if (!c->timing) return rule_match(&c->rs->rules[ri], ev, payload, plen);
    uint64_t t0 = now_ns();
    int m = rule_match(&c->rs->rules[ri], ev, payload, plen);
    c->prof[ri].ns += now_ns() - t0;
    return m;
}

static void test_rule(struct rule_ctx *c, uint32_t ri, const struct event *ev, uint32_t *hits,
                      int *nh, const uint8_t *payload, size_t plen)
{
    c->st.candidates++;
    c->prof[ri].checks++;
    if (timed_match(c, ri, ev, payload, plen)) {
        c->prof[ri].matches++;
        if (*nh < MAX_HITS)
            hits[(*nh)++] = ri;
        else
            c->st.hits_dropped++;
    }
}

static void collect(struct rule_ctx *c, const struct event *ev, uint32_t *hits, int *nh,
                    const uint8_t *payload, size_t plen, const uint32_t *list, int n)
{
    for (int i = 0; i < n; i++)
        test_rule(c, list[i], ev, hits, nh, payload, plen);
}

void rule_ctx_profile(const struct rule_ctx *c, rule_profile_fn fn, void *ctx)
{
    for (int i = 0; i < c->rs->nrules; i++) {
        const struct rule *r = &c->rs->rules[i];
        fn(ctx, r->gid, r->sid, r->msg, c->prof[i].checks, c->prof[i].matches, c->prof[i].alerts);
    }
}

static int supp_one(const struct suppress *s, const struct rule *r, const struct event *ev)
{
    if (s->gid && s->gid != r->gid) return 0;
    const struct ev_net *n = &ev->net;
    switch (s->track) {
    case SUPP_SRC: return s->ips.n ? addr_match(&s->ips, n, &n->src) : 1;
    case SUPP_DST: return s->ips.n ? addr_match(&s->ips, n, &n->dst) : 1;
    case SUPP_EITHER:
        return s->ips.n ? addr_match(&s->ips, n, &n->src) || addr_match(&s->ips, n, &n->dst) : 1;
    default: return 1;
    }
}

/* The suppression file drops this alert (before thresholds count it). */
static int suppressed(const struct ruleset *rs, const struct rule *r, const struct event *ev)
{
    for (const struct suppress *s = r->supp; s; s = s->next)
        if (supp_one(s, r, ev)) return 1;
    for (const struct suppress *s = rs->supp_all; s; s = s->next)
        if (supp_one(s, r, ev)) return 1;
    return 0;
}

void rule_ctx_set_timing(struct rule_ctx *c, int on)
{
    c->timing = on;
}

int rule_ctx_profile_merge(struct rule_ctx *into, const struct rule_ctx *from)
{
    if (into->rs != from->rs) return -1;
    for (int i = 0; i < into->rs->nrules; i++) {
        into->prof[i].checks += from->prof[i].checks;
        into->prof[i].matches += from->prof[i].matches;
        into->prof[i].alerts += from->prof[i].alerts;
        into->prof[i].ns += from->prof[i].ns;
    }
    const struct rule_stats *f = &from->st;
    struct rule_stats *t = &into->st;
    t->events += f->events;
    t->candidates += f->candidates;
    t->matches += f->matches;
    t->alerts += f->alerts;
    t->suppressed += f->suppressed;
    t->thresholded += f->thresholded;
    t->state_evictions += f->state_evictions;
    t->json_overflow += f->json_overflow;
    t->hits_dropped += f->hits_dropped;
    return 0;
}

static const struct rule_ctx *prof_sort_ctx; /* qsort has no context argument */

static int cmp_cost(const void *a, const void *b)
{
    const struct rule_prof *p = prof_sort_ctx->prof;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (p[x].ns != p[y].ns) return p[x].ns < p[y].ns ? 1 : -1;
    if (p[x].checks != p[y].checks) return p[x].checks < p[y].checks ? 1 : -1;
    return x < y ? -1 : x > y;
}

int rule_ctx_profile_print(const struct rule_ctx *c, FILE *f)
{
    int n = c->rs->nrules;
    uint32_t *order = malloc(sizeof(*order) * (size_t)(n ? n : 1));
    if (!order) return -1;
    uint64_t ns = 0;
    for (int i = 0; i < n; i++) {
        order[i] = (uint32_t)i;
        ns += c->prof[i].ns;
    }
    prof_sort_ctx = c;
    qsort(order, (size_t)n, sizeof(*order), cmp_cost);
    prof_sort_ctx = NULL;
    fprintf(f,
            "# rule profile: %d rules, %llu events, %llu checks, %llu matches, %llu alerts, "
            "%.3f ms matching\n",
            n, (unsigned long long)c->st.events, (unsigned long long)c->st.candidates,
            (unsigned long long)c->st.matches, (unsigned long long)c->st.alerts, (double)ns / 1e6);
    fprintf(f, "%-16s %12s %10s %10s %12s %9s  %s\n", "gid:sid", "checks", "matches", "alerts",
            "cost_ns", "ns/check", "msg");
    for (int k = 0; k < n; k++) {
        const struct rule *r = &c->rs->rules[order[k]];
        const struct rule_prof *p = &c->prof[order[k]];
        char id[32];
        snprintf(id, sizeof(id), "%u:%u", (unsigned)r->gid, (unsigned)r->sid);
        fprintf(f, "%-16s %12llu %10llu %10llu %12llu %9llu  %s\n", id,
                (unsigned long long)p->checks, (unsigned long long)p->matches,
                (unsigned long long)p->alerts, (unsigned long long)p->ns,
                (unsigned long long)(p->checks ? p->ns / p->checks : 0), r->msg ? r->msg : "");
    }
    free(order);
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int proto_of(const struct ruleset *rs, const char *name)
{
    for (int i = 0; i < rs->nprotos; i++)
        if (rs->protos[i].name[0] == name[0] && !strcmp(rs->protos[i].name, name)) return i;
    return -1;
}

static struct name_memo *memo_slot(struct name_memo *m, const char *name)
{
    return &m[addr_slot(name, MEMO_BITS)];
}

static int proto_of_memo(struct rule_ctx *c, const char *name)
{
    struct name_memo *m = memo_slot(c->proto_memo, name);
    if (m->name != name) {
        m->name = name;
        m->val = (uint64_t)(int64_t)proto_of(c->rs, name);
    }
    return (int)(int64_t)m->val;
}

static uint64_t op_hash_memo(struct rule_ctx *c, const char *op)
{
    struct name_memo *m = memo_slot(c->op_memo, op);
    if (m->name != op) {
        m->name = op;
        m->val = op_hash(op);
    }
    return m->val;
}

int rules_match_payload(struct rule_ctx *c, const struct event *ev, const uint8_t *payload,
                        size_t plen, const char *sensor_name, rule_emit_fn emit, void *emit_ctx)
{
    const struct ruleset *rs = c->rs;
    uint32_t hits[MAX_HITS];
    int nh = 0;
    c->st.events++;
    find_memo_next();
    collect(c, ev, hits, &nh, payload, plen, rs->generic, rs->ngeneric);
    int p = ev->proto ? proto_of_memo(c, ev->proto) : -1;
    if (p >= 0) {
        const struct proto_disp *d = &rs->protos[p];
        collect(c, ev, hits, &nh, payload, plen, d->any, d->nany);
        if (ev->has_code && d->nbycode) {
            int lo = 0, hi = d->nbycode;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (d->bycode[mid].code < ev->code)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (int i = lo; i < d->nbycode && d->bycode[i].code == ev->code; i++) {
                test_rule(c, d->bycode[i].rule, ev, hits, &nh, payload, plen);
            }
        }
        if (ev->op && d->nbyop) {
            uint64_t h = op_hash_memo(c, ev->op);
            int lo = 0, hi = d->nbyop;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (d->byop[mid].hash < h)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            /* a rule listing several ops that hash alike appears once per op: skip repeats */
            uint32_t last = UINT32_MAX;
            for (int i = lo; i < d->nbyop && d->byop[i].hash == h; i++) {
                if (d->byop[i].rule == last) continue;
                last = d->byop[i].rule;
                test_rule(c, d->byop[i].rule, ev, hits, &nh, payload, plen);
            }
        }
    }
    if (!nh) return 0;
    c->st.matches += (uint64_t)nh;
    for (int i = 0; i < nh; i++)
        if (rs->rules[hits[i]].action == RULE_PASS) {
            c->st.suppressed += (uint64_t)nh;
            return 0;
        }
    qsort(hits, (size_t)nh, sizeof(hits[0]), cmp_u32);
    int alerts = 0;
    for (int i = 0; i < nh; i++) {
        const struct rule *r = &rs->rules[hits[i]];
        uint32_t count = 1;
        uint64_t start = ev->net.ts_us;
        if ((r->supp || rs->supp_all) && suppressed(rs, r, ev)) {
            c->st.suppressed++;
            continue;
        }
        if (r->df.type && !thr_apply(c, hits[i], &r->df, 1, ev, &count, &start)) {
            c->st.thresholded++;
            continue;
        }
        if (r->thr.type && !thr_apply(c, hits[i], &r->thr, 0, ev, &count, &start)) {
            c->st.thresholded++;
            continue;
        }
        if (!r->df.type && !r->thr.type) start = ev->net.ts_us;
        if (c->absorb) {
            /* most alerts of a storm are only counted: no text for those */
            alert_hdr_fill(r, ev, count, start, &c->hdr);
            if (c->absorb(c->absorb_ctx, &c->hdr)) {
                c->st.alerts++;
                c->prof[hits[i]].alerts++;
                alerts++;
                continue;
            }
        }
        size_t n =
            alert_to_json(rs, r, ev, sensor_name, count, start, c->buf, sizeof(c->buf), &c->hdr);
        if (!n) {
            c->st.json_overflow++;
            continue;
        }
        c->st.alerts++;
        c->prof[hits[i]].alerts++;
        alerts++;
        if (emit) emit(emit_ctx, c->buf, n);
    }
    return alerts;
}

const struct alert_hdr *rules_alert_hdr(const struct rule_ctx *c)
{
    return &c->hdr;
}

int rules_match(struct rule_ctx *c, const struct event *ev, const char *sensor_name,
                rule_emit_fn emit, void *emit_ctx)
{
    return rules_match_payload(c, ev, NULL, 0, sensor_name, emit, emit_ctx);
}
