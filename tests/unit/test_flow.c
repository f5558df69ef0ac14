/* test_flow.c - the per-worker flow table: hashing, lookup, timeouts, eviction, LRU. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

#define SEC 1000000ull

/* timeouts per class: tcp_new, tcp_established, tcp_closed, udp, other (seconds) */
static const uint32_t TMO[FLOW_CLASSES] = {30, 3600, 10, 120, 60};

struct ended {
    int n;
    struct {
        uint64_t flow_id;
        uint16_t ap;
        int reason;
    } e[4096];
};

static void on_end(void *ctx, struct flow *f, int reason)
{
    struct ended *x = ctx;
    ck_assert_int_lt(x->n, 4096);
    x->e[x->n].flow_id = f->flow_id;
    x->e[x->n].ap = f->key.ap;
    x->e[x->n].reason = reason;
    x->n++;
}

static struct ended ended;

static struct ev_addr v4(uint32_t a)
{
    struct ev_addr x;
    memset(&x, 0, sizeof(x));
    x.b[10] = x.b[11] = 0xff;
    x.b[12] = (uint8_t)(a >> 24), x.b[13] = (uint8_t)(a >> 16);
    x.b[14] = (uint8_t)(a >> 8), x.b[15] = (uint8_t)a;
    return x;
}

static struct flow_key key(uint32_t a, uint32_t b, uint16_t ap, uint16_t bp, uint8_t proto,
                           uint16_t vlan)
{
    struct flow_key k;
    memset(&k, 0, sizeof(k));
    k.a = v4(a);
    k.b = v4(b);
    k.ap = ap;
    k.bp = bp;
    k.proto = proto;
    k.vlan = vlan;
    k.ip_version = 4;
    return k;
}

static uint64_t khash(const struct flow_key *k)
{
    return flow_hash(&k->a, &k->b, k->ap, k->bp, k->proto, k->vlan);
}

static struct flow *mk(struct flow_table *t, const struct flow_key *k, uint64_t ts)
{
    struct flow *f = flow_create(t, khash(k), k, ts);
    ck_assert_ptr_nonnull(f);
    return f;
}

static struct flow *find(struct flow_table *t, const struct flow_key *k, int reverse, int *dir)
{
    if (reverse) return flow_find(t, khash(k), &k->b, &k->a, k->bp, k->ap, k->proto, k->vlan, dir);
    return flow_find(t, khash(k), &k->a, &k->b, k->ap, k->bp, k->proto, k->vlan, dir);
}

static void init(struct flow_table *t, uint32_t max)
{
    memset(&ended, 0, sizeof(ended));
    ck_assert_int_eq(flow_table_init(t, max, TMO, on_end, &ended), 0);
}

START_TEST(hash_symmetry)
{
    uint32_t x = 99;
    for (int i = 0; i < 10000; i++) {
        struct ev_addr a, b;
        for (int k = 0; k < 16; k++) {
            x = x * 1103515245u + 12345u;
            a.b[k] = (uint8_t)(x >> 16);
            x = x * 1103515245u + 12345u;
            b.b[k] = (uint8_t)(x >> 16);
        }
        if (i & 1) { /* IPv4-mapped half the time */
            memset(a.b, 0, 10), memset(b.b, 0, 10);
            a.b[10] = a.b[11] = b.b[10] = b.b[11] = 0xff;
        }
        x = x * 1103515245u + 12345u;
        uint16_t sp = (uint16_t)(x >> 8), dp = (uint16_t)(x >> 16);
        uint8_t proto = (uint8_t)x;
        uint16_t vlan = (uint16_t)((x >> 4) & 0xfff);
        uint64_t h1 = flow_hash(&a, &b, sp, dp, proto, vlan);
        uint64_t h2 = flow_hash(&b, &a, dp, sp, proto, vlan);
        if (h1 != h2) ck_abort_msg("asymmetric hash at %d", i);
    }
}
END_TEST

START_TEST(hash_separates)
{
    struct flow_key k = key(0x0a000001, 0x0a000002, 1024, 502, 6, 0);
    uint64_t h = khash(&k);
    /* VLANs, protocols, ports and addresses all count */
    for (uint16_t v = 1; v < 4096; v++) {
        struct flow_key o = k;
        o.vlan = v;
        if (khash(&o) == h) ck_abort_msg("vlan %u hashes like vlan 0", v);
    }
    struct flow_key o = k;
    o.proto = 17;
    ck_assert_uint_ne(khash(&o), h);
    o = k;
    o.ap = 1025;
    ck_assert_uint_ne(khash(&o), h);
    o = k;
    o.b = v4(0x0a000003);
    ck_assert_uint_ne(khash(&o), h);
    /* swapping the ports alone (not the addresses) is another flow */
    o = k;
    o.ap = 502, o.bp = 1024;
    ck_assert_uint_ne(khash(&o), h);
}
END_TEST

START_TEST(make_id)
{
    struct flow_key k = key(0x0a000001, 0x0a000002, 1024, 502, 6, 0);
    uint64_t id = flow_make_id(&k, 1600000000000000ull);
    ck_assert_uint_lt(id, 1ull << 53);                            /* exact in a JSON double */
    ck_assert_uint_eq(flow_make_id(&k, 1600000000000000ull), id); /* stable */
    ck_assert_uint_ne(flow_make_id(&k, 1600000000000001ull), id); /* time counts */
    struct flow_key r = key(0x0a000002, 0x0a000001, 502, 1024, 6, 0);
    ck_assert_uint_eq(flow_make_id(&r, 1600000000000000ull), id); /* same 5-tuple reversed */
    uint32_t x = 7;
    uint64_t or = 0;
    for (int i = 0; i < 100000; i++) {
        x = x * 1103515245u + 12345u;
        struct flow_key q = key(x, ~x, (uint16_t)x, (uint16_t)(x >> 16), (uint8_t)(x >> 8), 0);
        uint64_t v = flow_make_id(&q, (uint64_t)x * 977);
        if (v >= 1ull << 53) ck_abort_msg("id %llu too large", (unsigned long long)v);
        or |= v;
    }
    ck_assert_uint_eq(or, (1ull << 53) - 1); /* all 53 bits are used */
}
END_TEST

START_TEST(create_find_both_directions)
{
    struct flow_table t;
    init(&t, 1024);
    struct flow_key k = key(0x0a000001, 0x0a000002, 1024, 502, 6, 0);
    struct flow *f = mk(&t, &k, 5 * SEC);
    ck_assert_uint_eq(f->first_us, 5 * SEC);
    ck_assert_uint_eq(f->last_us, 5 * SEC);
    ck_assert_uint_eq(f->cls, FLOW_TCP_NEW);
    ck_assert_uint_eq(f->flow_id, flow_make_id(&k, 5 * SEC));
    int dir = -1;
    ck_assert_ptr_eq(find(&t, &k, 0, &dir), f);
    ck_assert_int_eq(dir, 0);
    ck_assert_ptr_eq(find(&t, &k, 1, &dir), f);
    ck_assert_int_eq(dir, 1);
    /* other VLAN, protocol, port: not found */
    struct flow_key o = k;
    o.vlan = 5;
    ck_assert_ptr_null(find(&t, &o, 0, &dir));
    o = k;
    o.proto = 17;
    ck_assert_ptr_null(find(&t, &o, 0, &dir));
    o = k;
    o.ap = 1025;
    ck_assert_ptr_null(find(&t, &o, 0, &dir));
    /* a flow on another VLAN is a separate flow */
    o = k;
    o.vlan = 5;
    struct flow *g = mk(&t, &o, 6 * SEC);
    ck_assert_ptr_ne(g, f);
    ck_assert_ptr_eq(find(&t, &o, 1, &dir), g);
    ck_assert_ptr_eq(find(&t, &k, 1, &dir), f);
    /* classes by protocol */
    struct flow_key u = key(1, 2, 3, 4, 17, 0), i = key(1, 2, 0, 0, 1, 0);
    ck_assert_uint_eq(mk(&t, &u, 0)->cls, FLOW_UDP);
    ck_assert_uint_eq(mk(&t, &i, 0)->cls, FLOW_OTHER);
    ck_assert_uint_eq(t.stats.created, 4);
    ck_assert_uint_eq(t.stats.active, 4);
    flow_table_destroy(&t);
}
END_TEST

START_TEST(many_flows_same_bucket_chain)
{
    /* many flows: all found in both directions after creation (chains work) */
    struct flow_table t;
    init(&t, 4096);
    for (uint32_t i = 0; i < 3000; i++) {
        struct flow_key k = key(0x0a000000 + i, 0x0a010000, (uint16_t)(1024 + i), 502, 6, 0);
        mk(&t, &k, i);
    }
    int missing = 0, dir;
    for (uint32_t i = 0; i < 3000; i++) {
        struct flow_key k = key(0x0a000000 + i, 0x0a010000, (uint16_t)(1024 + i), 502, 6, 0);
        struct flow *f = find(&t, &k, (int)(i & 1), &dir);
        missing += !f || f->key.ap != 1024 + i || dir != (int)(i & 1);
    }
    ck_assert_int_eq(missing, 0);
    ck_assert_uint_eq(t.stats.active, 3000);
    flow_table_destroy(&t);
    ck_assert_int_eq(ended.n, 3000);
}
END_TEST

START_TEST(timeouts_per_class)
{
    struct flow_table t;
    init(&t, 1024);
    /* one flow of each class, all last seen at t=100s */
    struct flow_key ks[FLOW_CLASSES];
    struct flow *fs[FLOW_CLASSES];
    for (int c = 0; c < FLOW_CLASSES; c++) {
        ks[c] = key(0x0a000001, 0x0a000002, (uint16_t)(1000 + c), 80,
                    c <= FLOW_TCP_CLOSED ? 6
                    : c == FLOW_UDP      ? 17
                                         : 47,
                    0);
        fs[c] = mk(&t, &ks[c], 100 * SEC);
        flow_touch(&t, fs[c], 100 * SEC, c);
        ck_assert_uint_eq(fs[c]->cls, c);
    }
    /* idle exactly the timeout: not yet; one microsecond more: expired */
    for (int c = 0; c < FLOW_CLASSES; c++) {
        uint64_t due = 100 * SEC + TMO[c] * SEC;
        ck_assert_int_eq(flow_is_expired(&t, fs[c], due), 0);
        ck_assert_int_eq(flow_is_expired(&t, fs[c], due + 1), 1);
        ck_assert_int_eq(flow_is_expired(&t, fs[c], 50 * SEC), 0); /* time going back */
    }
    /* sweeps at each class's due time end exactly that class's flow:
     * tcp_closed 10 s, tcp_new 30 s, other 60 s, udp 120 s, established 3600 s */
    static const int order[] = {FLOW_TCP_CLOSED, FLOW_TCP_NEW, FLOW_OTHER, FLOW_UDP,
                                FLOW_TCP_ESTABLISHED};
    for (int i = 0; i < FLOW_CLASSES; i++) {
        int c = order[i];
        uint64_t due = 100 * SEC + TMO[c] * SEC;
        ck_assert_uint_eq(flow_expire(&t, due), 0);
        ck_assert_int_eq(ended.n, i);
        ck_assert_uint_eq(flow_expire(&t, due + 1), 1);
        ck_assert_int_eq(ended.n, i + 1);
        ck_assert_uint_eq(ended.e[i].ap, 1000 + c);
        ck_assert_int_eq(ended.e[i].reason, FLOW_END_TIMEOUT);
        ck_assert_uint_eq(t.stats.active, (uint64_t)(FLOW_CLASSES - i - 1));
        int dir;
        ck_assert_ptr_null(find(&t, &ks[c], 0, &dir));
    }
    ck_assert_uint_eq(t.stats.expired, FLOW_CLASSES);
    ck_assert_uint_eq(t.stats.ended, FLOW_CLASSES);
    ck_assert_uint_eq(t.stats.evicted, 0);
    flow_table_destroy(&t);
    ck_assert_int_eq(ended.n, FLOW_CLASSES); /* nothing left to end */
}
END_TEST

START_TEST(expire_only_idle)
{
    struct flow_table t;
    init(&t, 1024);
    /* 20 UDP flows seen at 0..19 s; some touched later */
    struct flow *fs[20];
    for (int i = 0; i < 20; i++) {
        struct flow_key k = key(0x0a000001, 0x0a000002, (uint16_t)(2000 + i), 53, 17, 0);
        fs[i] = mk(&t, &k, (uint64_t)i * SEC);
    }
    flow_touch(&t, fs[5], 130 * SEC, FLOW_UDP); /* in time order, as packets come */
    flow_touch(&t, fs[2], 200 * SEC, FLOW_UDP);
    /* at 130 s, idle > 120 s means last seen before 10 s: flows 0..9 less 2 and 5 */
    ck_assert_uint_eq(flow_expire(&t, 130 * SEC), 8);
    static const uint16_t want[] = {2000, 2001, 2003, 2004, 2006, 2007, 2008, 2009};
    for (int i = 0; i < 8; i++) {
        ck_assert_uint_eq(ended.e[i].ap, want[i]);
        ck_assert_int_eq(ended.e[i].reason, FLOW_END_TIMEOUT);
    }
    int dir;
    struct flow_key k2 = key(0x0a000001, 0x0a000002, 2002, 53, 17, 0);
    struct flow_key k0 = key(0x0a000001, 0x0a000002, 2000, 53, 17, 0);
    struct flow_key k10 = key(0x0a000001, 0x0a000002, 2010, 53, 17, 0);
    ck_assert_ptr_eq(find(&t, &k2, 1, &dir), fs[2]);
    ck_assert_ptr_nonnull(find(&t, &k10, 0, &dir));
    ck_assert_ptr_null(find(&t, &k0, 0, &dir));
    ck_assert_uint_eq(flow_expire(&t, 130 * SEC), 0); /* idempotent */
    /* at 150 s: 10..19 (last seen 10..19 s), not 5 (130 s) or 2 (200 s) */
    ck_assert_uint_eq(flow_expire(&t, 150 * SEC), 10);
    ck_assert_uint_eq(t.stats.active, 2);
    ck_assert_uint_eq(flow_expire(&t, 320 * SEC), 1); /* 2 is idle exactly 120 s: stays */
    ck_assert_uint_eq(ended.e[18].ap, 2005);
    ck_assert_uint_eq(flow_expire(&t, 320 * SEC + 1), 1);
    ck_assert_uint_eq(ended.e[19].ap, 2002);
    ck_assert_uint_eq(t.stats.expired, 20);
    flow_table_destroy(&t);
    ck_assert_int_eq(ended.n, 20);
}
END_TEST

START_TEST(eviction_lru)
{
    struct flow_table t;
    init(&t, 1024); /* the cap: 1024 flows */
    struct flow *fs[1024];
    for (int i = 0; i < 1024; i++) {
        struct flow_key k =
            key(0x0a000001, 0x0a000002, (uint16_t)(3000 + i), 80, i % 3 == 0 ? 17 : 6, 0);
        fs[i] = mk(&t, &k, (uint64_t)(i + 1) * 1000);
    }
    ck_assert_uint_eq(t.stats.active, 1024);
    /* touch the oldest two: now the least recently seen is flow 2 */
    flow_touch(&t, fs[0], 2000 * 1000, fs[0]->cls);
    flow_touch(&t, fs[1], 2001 * 1000, FLOW_TCP_ESTABLISHED); /* and a class change */
    ck_assert_uint_eq(fs[1]->cls, FLOW_TCP_ESTABLISHED);
    ck_assert_ptr_eq(t.tail[FLOW_TCP_ESTABLISHED], fs[1]);
    struct flow_key n1 = key(0x0b000001, 0x0b000002, 1, 2, 6, 0);
    mk(&t, &n1, 3000 * 1000);
    ck_assert_int_eq(ended.n, 1);
    ck_assert_uint_eq(ended.e[0].ap, 3002);
    ck_assert_int_eq(ended.e[0].reason, FLOW_END_EVICTED);
    ck_assert_uint_eq(t.stats.evicted, 1);
    ck_assert_uint_eq(t.stats.active, 1024);
    /* next the oldest across classes: 3 (udp), then 4, then 5 */
    struct flow_key n2 = key(0x0b000001, 0x0b000002, 3, 4, 6, 0);
    mk(&t, &n2, 3001 * 1000);
    struct flow_key n3 = key(0x0b000001, 0x0b000002, 5, 6, 17, 0);
    mk(&t, &n3, 3002 * 1000);
    ck_assert_int_eq(ended.n, 3);
    ck_assert_uint_eq(ended.e[1].ap, 3003);
    ck_assert_uint_eq(ended.e[2].ap, 3004);
    ck_assert_uint_eq(t.stats.evicted, 3);
    ck_assert_uint_eq(t.stats.created, 1027);
    ck_assert_uint_eq(t.stats.max_active, 1024);
    ck_assert_uint_eq(t.stats.expired, 0);
    flow_table_destroy(&t);
}
END_TEST

START_TEST(lru_order_after_touch)
{
    struct flow_table t;
    init(&t, 1024);
    struct flow *a, *b, *c;
    struct flow_key ka = key(1, 2, 10, 20, 17, 0), kb = key(1, 2, 11, 20, 17, 0),
                    kc = key(1, 2, 12, 20, 17, 0);
    a = mk(&t, &ka, 1 * SEC);
    b = mk(&t, &kb, 2 * SEC);
    c = mk(&t, &kc, 3 * SEC);
    ck_assert_ptr_eq(t.head[FLOW_UDP], a);
    ck_assert_ptr_eq(t.tail[FLOW_UDP], c);
    flow_touch(&t, a, 4 * SEC, FLOW_UDP);
    ck_assert_ptr_eq(t.head[FLOW_UDP], b);
    ck_assert_ptr_eq(t.tail[FLOW_UDP], a);
    ck_assert_ptr_eq(b->next, c);
    ck_assert_ptr_eq(c->next, a);
    ck_assert_ptr_null(a->next);
    ck_assert_ptr_eq(a->prev, c);
    /* touching the tail keeps the order; an older time does not move last_us back */
    flow_touch(&t, a, 3 * SEC, FLOW_UDP);
    ck_assert_uint_eq(a->last_us, 4 * SEC);
    ck_assert_ptr_eq(t.tail[FLOW_UDP], a);
    /* class change moves to the other list */
    flow_touch(&t, b, 5 * SEC, FLOW_OTHER);
    ck_assert_ptr_eq(t.head[FLOW_UDP], c);
    ck_assert_ptr_eq(t.head[FLOW_OTHER], b);
    ck_assert_ptr_eq(t.tail[FLOW_OTHER], b);
    /* expiry now follows the new class's timeout (other: 60 s) */
    ck_assert_uint_eq(flow_expire(&t, 5 * SEC + 60 * SEC + 1), 0 + 1);
    ck_assert_uint_eq(ended.e[0].ap, 11);
    /* udp ones: c at 3 s, a at 4 s */
    ck_assert_uint_eq(flow_expire(&t, 3 * SEC + 120 * SEC + 1), 1);
    ck_assert_uint_eq(ended.e[1].ap, 12);
    /* explicit end */
    flow_end(&t, a, FLOW_END_REUSED);
    ck_assert_int_eq(ended.e[2].reason, FLOW_END_REUSED);
    ck_assert_ptr_null(t.head[FLOW_UDP]);
    ck_assert_ptr_null(t.tail[FLOW_UDP]);
    ck_assert_uint_eq(t.stats.active, 0);
    ck_assert_uint_eq(t.stats.ended, 3);
    ck_assert_uint_eq(t.stats.expired, 2);
    /* the freed flow is reused, zeroed */
    struct flow *d = mk(&t, &ka, 10 * SEC);
    ck_assert_uint_eq(d->pkts[0], 0);
    ck_assert_uint_eq(d->first_us, 10 * SEC);
    flow_table_destroy(&t);
}
END_TEST

START_TEST(destroy_ends_all)
{
    struct flow_table t;
    init(&t, 1024);
    for (int i = 0; i < 50; i++) {
        struct flow_key k =
            key(0x0a000001, 0x0a000002, (uint16_t)(4000 + i), 80, i % 2 ? 6 : 17, 0);
        struct flow *f = mk(&t, &k, (uint64_t)i);
        if (i % 5 == 0) flow_touch(&t, f, (uint64_t)i, FLOW_TCP_ESTABLISHED);
    }
    flow_table_destroy(&t);
    ck_assert_int_eq(ended.n, 50);
    int shut = 0;
    uint64_t seen = 0;
    for (int i = 0; i < ended.n; i++) {
        shut += ended.e[i].reason == FLOW_END_SHUTDOWN;
        seen |= 1ull << (ended.e[i].ap - 4000);
    }
    ck_assert_int_eq(shut, 50);
    ck_assert_uint_eq(seen, (1ull << 50) - 1); /* each flow once */
    ck_assert_uint_eq(t.stats.active, 0);
    ck_assert_uint_eq(t.stats.ended, 50);
    ck_assert_uint_eq(t.stats.expired, 0);
    ck_assert_uint_eq(t.stats.evicted, 0);
    ck_assert_ptr_null(t.buckets);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("flow");
    TCase *t = tcase_create("core");
    tcase_add_test(t, hash_symmetry);
    tcase_add_test(t, hash_separates);
    tcase_add_test(t, make_id);
    tcase_add_test(t, create_find_both_directions);
    tcase_add_test(t, many_flows_same_bucket_chain);
    tcase_add_test(t, timeouts_per_class);
    tcase_add_test(t, expire_only_idle);
    tcase_add_test(t, eviction_lru);
    tcase_add_test(t, lru_order_after_touch);
    tcase_add_test(t, destroy_ends_all);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
