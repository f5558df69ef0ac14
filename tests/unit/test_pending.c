/* test_pending.c - the ages of a pending-request table: free slots first, then the
 * oldest; freed slots reused; the order kept when the numbers run out. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

/* The used slot the oldest-first scan of the dissectors would pick. */
static size_t oldest(const struct pend_ages *a, size_t n)
{
    size_t best = PEND_NONE;
    for (size_t i = 0; i < n; i++)
        if (pend_used(a, i) && pend_older(a, i, best)) best = i;
    return best;
}

START_TEST(free_slots_then_oldest)
{
    struct pend_ages a;
    memset(&a, 0, sizeof(a));
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(pend_take_slot(&a, 4), i);
    ck_assert_uint_eq(oldest(&a, 4), 0);
    /* full: the oldest (slot 0) is taken over, then slot 1 is the oldest */
    ck_assert_uint_eq(pend_take_slot(&a, 4), 0);
    ck_assert_uint_eq(oldest(&a, 4), 1);
    /* a freed slot is reused before any used one */
    pend_free(&a, 2);
    ck_assert(!pend_used(&a, 2));
    ck_assert_uint_eq(pend_take_slot(&a, 4), 2);
    ck_assert_uint_eq(oldest(&a, 4), 1);
    /* nothing used: no oldest */
    memset(&a, 0, sizeof(a));
    ck_assert_uint_eq(oldest(&a, 4), PEND_NONE);
}
END_TEST

START_TEST(renumbering_keeps_order)
{
    struct pend_ages a;
    memset(&a, 0, sizeof(a));
    /* slots in index order 0..3 but ages out of order: slot 2 oldest, then 0, 3, 1 */
    a.seq[0] = UINT32_MAX - 30;
    a.seq[1] = UINT32_MAX - 1;
    a.seq[2] = UINT32_MAX - 40;
    a.seq[3] = UINT32_MAX - 20;
    a.last = UINT32_MAX;
    /* the table is full: slot 2 (oldest) is taken over; the rest keep their order */
    ck_assert_uint_eq(pend_take_slot(&a, 4), 2);
    ck_assert(a.last < 8);
    ck_assert_uint_eq(oldest(&a, 4), 0);
    pend_free(&a, 0);
    ck_assert_uint_eq(oldest(&a, 4), 3);
    pend_free(&a, 3);
    ck_assert_uint_eq(oldest(&a, 4), 1);
    pend_free(&a, 1);
    ck_assert_uint_eq(oldest(&a, 4), 2); /* the newest, alone */
    for (size_t i = 0; i < 4; i++)
        ck_assert(a.seq[i] < a.last + 1);
}
END_TEST

START_TEST(size_is_capped)
{
    struct pend_ages a;
    memset(&a, 0, sizeof(a));
    for (size_t i = 0; i < 3 * PEND_MAX; i++)
        ck_assert_uint_lt(pend_take_slot(&a, 1000), PEND_MAX);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pending");
    TCase *t = tcase_create("core");
    tcase_add_test(t, free_slots_then_oldest);
    tcase_add_test(t, renumbering_keeps_order);
    tcase_add_test(t, size_is_capped);
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
