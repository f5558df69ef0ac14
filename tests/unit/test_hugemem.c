/* test_hugemem.c - huge_alloc: small and large buffers, zeroing, alignment, use. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hugemem.h"

START_TEST(small_zeroed)
{
    uint8_t *p = huge_alloc(1000, 1);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < 1000; i++)
        ck_assert_uint_eq(p[i], 0);
    memset(p, 0xab, 1000);
    free(p);
}
END_TEST

/* A large buffer (not a multiple of 2 MiB) is 2 MiB-aligned, zeroed when asked,
 * and every byte of it is usable. */
START_TEST(large_aligned_zeroed)
{
    size_t n = (size_t)3 << 20 | 12345;
    uint8_t *p = huge_alloc(n, 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % ((uintptr_t)2 << 20), 0);
    for (size_t i = 0; i < n; i += 4096)
        ck_assert_uint_eq(p[i], 0);
    ck_assert_uint_eq(p[n - 1], 0);
    memset(p, 0x5a, n);
    ck_assert_uint_eq(p[n - 1], 0x5a);
    free(p);
    uint8_t *q = huge_alloc((size_t)2 << 20, 0); /* not zeroed: still usable */
    ck_assert_ptr_nonnull(q);
    q[0] = 1;
    q[((size_t)2 << 20) - 1] = 2;
    free(q);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hugemem");
    TCase *t = tcase_create("core");
    tcase_add_test(t, small_zeroed);
    tcase_add_test(t, large_aligned_zeroed);
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
