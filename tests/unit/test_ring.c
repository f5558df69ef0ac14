/* test_ring.c - the SPSC ring: single-thread behaviour, wrap, caps, batching, and
 * a two-thread run of 2 million variable-size records checked in order. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

#define RSZ 65536 /* the smallest ring */

static void put(struct ring *r, const void *p, size_t n)
{
    void *d = ring_reserve(r, n);
    ck_assert_ptr_nonnull(d);
    memcpy(d, p, n);
    ring_commit(r);
}

START_TEST(basic)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, 1), 0);
    ck_assert_uint_eq(r.size, RSZ); /* rounded up to 64 KiB */
    size_t len = 99;
    ck_assert_ptr_null(ring_peek(&r, &len)); /* empty */
    put(&r, "hello", 5);
    ck_assert_ptr_null(ring_peek(&r, &len)); /* not published yet */
    ring_publish(&r);
    const char *p = ring_peek(&r, &len);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(p, "hello", 5);
    /* peeking again gives the same record until it is released */
    ck_assert_ptr_eq(ring_peek(&r, &len), p);
    ring_release(&r);
    ck_assert_ptr_null(ring_peek(&r, &len));
    /* a zero-length record is a record */
    ck_assert_ptr_nonnull(ring_reserve(&r, 0));
    ring_commit(&r);
    ring_publish(&r);
    ck_assert_ptr_nonnull(ring_peek(&r, &len));
    ck_assert_uint_eq(len, 0);
    ring_release(&r);
    ring_release_publish(&r);
    ck_assert_uint_eq(ring_used(&r), 0);
    ring_destroy(&r);
}
END_TEST

START_TEST(size_rounding)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, 65537), 0);
    ck_assert_uint_eq(r.size, 131072);
    ring_destroy(&r);
    ck_assert_int_eq(ring_init(&r, 262144), 0);
    ck_assert_uint_eq(r.size, 262144);
    ring_destroy(&r);
}
END_TEST

START_TEST(variable_sizes_in_order)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, RSZ), 0);
    uint8_t buf[300];
    for (int i = 0; i < 100; i++) {
        size_t n = (size_t)(i * 3) % 300;
        memset(buf, i, n);
        put(&r, buf, n);
    }
    ring_publish(&r);
    for (int i = 0; i < 100; i++) {
        size_t len;
        const uint8_t *p = ring_peek(&r, &len);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(len, (size_t)(i * 3) % 300);
        size_t badb = 0;
        for (size_t k = 0; k < len; k++)
            badb += p[k] != (uint8_t)i;
        ck_assert_uint_eq(badb, 0);
        ring_release(&r);
    }
    size_t rest;
    ck_assert_ptr_null(ring_peek(&r, &rest));
    ring_destroy(&r);
}
END_TEST

START_TEST(full_and_too_large)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, RSZ), 0);
    /* the header is 8 bytes: half the ring less 8 is the largest record */
    ck_assert_ptr_null(ring_reserve(&r, RSZ / 2 - 7));
    ck_assert_ptr_null(ring_reserve(&r, RSZ));
    ck_assert_ptr_nonnull(ring_reserve(&r, RSZ / 2 - 8));
    ring_commit(&r);
    /* 1000-byte records (1008 with header) until full */
    int n = 0;
    void *p;
    while ((p = ring_reserve(&r, 1000)) != NULL) {
        memset(p, 0xab, 1000);
        ring_commit(&r);
        n++;
    }
    ck_assert_int_eq(n, (RSZ / 2) / 1008); /* 32 */
    /* a full ring publishes what it has so the consumer can drain */
    size_t len;
    ck_assert_ptr_nonnull(ring_peek(&r, &len));
    ck_assert_uint_eq(len, RSZ / 2 - 8);
    ring_release(&r);
    /* released but not yet returned to the producer: still full */
    ck_assert_ptr_null(ring_reserve(&r, 1000));
    ring_release_publish(&r);
    ck_assert_ptr_nonnull(ring_reserve(&r, 1000));
    ring_commit(&r);
    ring_destroy(&r);
}
END_TEST

START_TEST(wrap_with_skip)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, RSZ), 0);
    /* fill to 65536-1008*2 = 63520, then a record that does not fit before the end */
    uint8_t buf[20000];
    size_t lens[] = {20000, 20000, 20000, 1500, 10000, 3000};
    int seq = 0;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            memset(buf, seq & 0xff, lens[i]);
            void *d;
            while ((d = ring_reserve(&r, lens[i])) == NULL) {
                /* drain everything visible */
                size_t len;
                const uint8_t *p;
                ck_assert_ptr_nonnull(p = ring_peek(&r, &len));
                ring_release(&r);
                ring_release_publish(&r);
                (void)p;
            }
            /* records are contiguous: never cross the end of the buffer */
            if ((uint8_t *)d < r.buf || (uint8_t *)d + lens[i] > r.buf + r.size)
                ck_abort_msg("record %d crosses the end of the buffer", seq);
            memcpy(d, buf, lens[i]);
            ring_commit(&r);
            seq++;
        }
    }
    ring_destroy(&r);
}
END_TEST

/* Content check across the wrap, with one consumer lagging the producer. */
START_TEST(wrap_content)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, RSZ), 0);
    uint32_t wseq = 0, rseq = 0;
    uint8_t buf[9000];
    int wrapped = 0;
    uint64_t last_off = 0;
    while (rseq < 2000) {
        size_t n = 4 + (wseq * 7919u) % 8996u;
        void *d = wseq < 2000 ? ring_reserve(&r, n) : NULL;
        if (d) {
            memcpy(buf, &wseq, 4);
            for (size_t k = 4; k < n; k++)
                buf[k] = (uint8_t)(wseq + k);
            memcpy(d, buf, n);
            ring_commit(&r);
            uint64_t off = (uint64_t)((uint8_t *)d - r.buf);
            if (off < last_off) wrapped++;
            last_off = off;
            wseq++;
            continue;
        }
        ring_publish(&r);
        size_t len;
        const uint8_t *p;
        while ((p = ring_peek(&r, &len)) != NULL) {
            uint32_t s;
            memcpy(&s, p, 4);
            ck_assert_uint_eq(s, rseq);
            ck_assert_uint_eq(len, 4 + (rseq * 7919u) % 8996u);
            size_t badb = 0;
            for (size_t k = 4; k < len; k++)
                badb += p[k] != (uint8_t)(rseq + k);
            ck_assert_uint_eq(badb, 0);
            ring_release(&r);
            rseq++;
        }
    }
    ck_assert_int_gt(wrapped, 10);
    ring_destroy(&r);
}
END_TEST

START_TEST(batching)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, RSZ), 0);
    size_t len;
    for (int i = 0; i < RING_BATCH - 1; i++) {
        put(&r, &i, sizeof(i));
        ck_assert_ptr_null(ring_peek(&r, &len)); /* invisible until the batch fills */
    }
    put(&r, &(int){RING_BATCH - 1}, sizeof(int)); /* the RING_BATCH-th commit publishes */
    for (int i = 0; i < RING_BATCH; i++) {
        const int *p = ring_peek(&r, &len);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(*p, i);
        ring_release(&r);
    }
    ck_assert_ptr_null(ring_peek(&r, &len));
    /* one more record: invisible, then visible after ring_publish */
    put(&r, "x", 1);
    ck_assert_ptr_null(ring_peek(&r, &len));
    ring_publish(&r);
    ck_assert_ptr_nonnull(ring_peek(&r, &len));
    ring_release(&r);
    /* consumer side: released space returns to the producer after RING_BATCH
     * releases or when the consumer finds the ring empty */
    ck_assert_ptr_null(ring_peek(&r, &len));
    ck_assert_uint_eq(atomic_load(&r.tail), atomic_load(&r.head));
    for (int i = 0; i < RING_BATCH + 1; i++)
        put(&r, "y", 1);
    ring_publish(&r);
    uint64_t t0 = atomic_load(&r.tail);
    for (int i = 0; i < RING_BATCH - 1; i++) {
        ck_assert_ptr_nonnull(ring_peek(&r, &len));
        ring_release(&r);
    }
    ck_assert_uint_eq(atomic_load(&r.tail), t0);
    ck_assert_ptr_nonnull(ring_peek(&r, &len));
    ring_release(&r);
    ck_assert_uint_gt(atomic_load(&r.tail), t0);
    ring_destroy(&r);
}
END_TEST

/* Two threads. Each record: u32 sequence, u32 checksum of the payload, payload of a
 * length and content derived from the sequence. */
#define MT_RECORDS 2000000u

static uint32_t payload_len(uint32_t seq)
{
    uint32_t x = seq * 2654435761u;
    return (x >> 7) % ((x & 0xf00) == 0 ? 1500u : 64u); /* mostly small, 1 in 16 large */
}

static uint32_t checksum(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void *producer(void *arg)
{
    struct ring *r = arg;
    uint8_t buf[1600];
    for (uint32_t seq = 0; seq < MT_RECORDS; seq++) {
        uint32_t n = payload_len(seq);
        for (uint32_t k = 0; k < n; k++)
            buf[k] = (uint8_t)(seq * 31 + k);
        uint32_t sum = checksum(buf, n);
        uint8_t *d;
        unsigned spins = 0;
        while ((d = ring_reserve(r, 8 + n)) == NULL)
            ring_backoff(&spins);
        memcpy(d, &seq, 4);
        memcpy(d + 4, &sum, 4);
        memcpy(d + 8, buf, n);
        ring_commit(r);
    }
    ring_publish(r);
    return NULL;
}

START_TEST(two_threads)
{
    struct ring r;
    /* 1 MiB as the engine's rings are (MiBs): fewer full/empty hand-offs on a busy box */
    ck_assert_int_eq(ring_init(&r, 1u << 20), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, producer, &r), 0);
    uint32_t want = 0, bad = 0;
    unsigned spins = 0;
    while (want < MT_RECORDS) {
        size_t len;
        const uint8_t *p = ring_peek(&r, &len);
        if (!p) {
            ring_backoff(&spins);
            continue;
        }
        spins = 0;
        uint32_t seq, sum;
        memcpy(&seq, p, 4);
        memcpy(&sum, p + 4, 4);
        if (seq != want || len != 8 + payload_len(seq) || checksum(p + 8, (uint32_t)len - 8) != sum)
            bad++;
        for (uint32_t k = 0; k < len - 8 && !bad; k++)
            if (p[8 + k] != (uint8_t)(seq * 31 + k)) bad++;
        if (bad) ck_abort_msg("record %u: got seq %u len %zu", want, seq, len);
        ring_release(&r);
        want++;
    }
    ring_release_publish(&r);
    pthread_join(t, NULL);
    size_t len;
    ck_assert_ptr_null(ring_peek(&r, &len));
    ck_assert_uint_eq(ring_used(&r), 0);
    ring_destroy(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ring");
    TCase *t = tcase_create("single");
    tcase_add_test(t, basic);
    tcase_add_test(t, size_rounding);
    tcase_add_test(t, variable_sizes_in_order);
    tcase_add_test(t, full_and_too_large);
    tcase_add_test(t, wrap_with_skip);
    tcase_add_test(t, wrap_content);
    tcase_add_test(t, batching);
    suite_add_tcase(s, t);
    TCase *m = tcase_create("threads");
    tcase_set_timeout(m, 300);
    tcase_add_test(m, two_threads);
    suite_add_tcase(s, m);
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
