/* test_cursor.c - the bounds-checked reader: exact lengths, short reads, sub-cursors. */
#include <check.h>
#include <stdlib.h>

#include "cursor.h"

static const uint8_t B[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

/* A reader at exact length succeeds; one byte short it returns 0, sets the sticky
 * TRUNCATED error and moves the offset to the end. */
#define EXACT_AND_SHORT(fn, n, want)                                                               \
    do {                                                                                           \
        struct cursor c = cursor_make(B, n);                                                       \
        ck_assert_uint_eq(fn(&c), want);                                                           \
        ck_assert_int_eq(c.err, CURSOR_OK);                                                        \
        ck_assert_uint_eq(cursor_pos(&c), n);                                                      \
        ck_assert_uint_eq(cursor_left(&c), 0);                                                     \
        struct cursor s = cursor_make(B, (n)-1);                                                   \
        ck_assert_uint_eq(fn(&s), 0);                                                              \
        ck_assert_int_eq(s.err, CURSOR_TRUNCATED);                                                 \
        ck_assert_uint_eq(cursor_pos(&s), (n)-1);                                                  \
        ck_assert_uint_eq(cursor_left(&s), 0);                                                     \
    } while (0)

START_TEST(readers_exact_and_short)
{
    EXACT_AND_SHORT(cursor_u8, 1, 0x01);
    EXACT_AND_SHORT(cursor_u16be, 2, 0x0102);
    EXACT_AND_SHORT(cursor_u16le, 2, 0x0201);
    EXACT_AND_SHORT(cursor_u24be, 3, 0x010203);
    EXACT_AND_SHORT(cursor_u24le, 3, 0x030201);
    EXACT_AND_SHORT(cursor_u32be, 4, 0x01020304u);
    EXACT_AND_SHORT(cursor_u32le, 4, 0x04030201u);
    EXACT_AND_SHORT(cursor_u64be, 8, 0x0102030405060708ull);
    EXACT_AND_SHORT(cursor_u64le, 8, 0x0807060504030201ull);
}
END_TEST

START_TEST(u64_short_after_first_half)
{
    /* 5 bytes: the first 32-bit half is there, the second is not: still 0 overall */
    struct cursor c = cursor_make(B, 5);
    ck_assert_uint_eq(cursor_u64be(&c), 0);
    ck_assert_int_eq(c.err, CURSOR_TRUNCATED);
    ck_assert_uint_eq(cursor_pos(&c), 5);
    c = cursor_make(B, 7);
    ck_assert_uint_eq(cursor_u64le(&c), 0);
    ck_assert_int_eq(c.err, CURSOR_TRUNCATED);
}
END_TEST

START_TEST(high_bit_values)
{
    static const uint8_t ff[8] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8};
    struct cursor c = cursor_make(ff, 8);
    ck_assert_uint_eq(cursor_u32be(&c), 0xfffefdfcu);
    ck_assert_uint_eq(cursor_u32le(&c), 0xf8f9fafbu);
    c = cursor_make(ff, 8);
    ck_assert_uint_eq(cursor_u64be(&c), 0xfffefdfcfbfaf9f8ull);
    c = cursor_make(ff, 3);
    ck_assert_uint_eq(cursor_u24le(&c), 0xfdfeffu);
}
END_TEST

START_TEST(sequence_of_reads)
{
    struct cursor c = cursor_make(B, 8);
    ck_assert_uint_eq(cursor_u8(&c), 0x01);
    ck_assert_uint_eq(cursor_u16be(&c), 0x0203);
    ck_assert_uint_eq(cursor_u24le(&c), 0x060504);
    ck_assert_uint_eq(cursor_left(&c), 2);
    ck_assert_uint_eq(cursor_u16le(&c), 0x0807);
    ck_assert_int_eq(c.err, CURSOR_OK);
}
END_TEST

START_TEST(sticky_error)
{
    struct cursor c = cursor_make(B, 3);
    ck_assert_uint_eq(cursor_u32be(&c), 0); /* short */
    ck_assert_int_eq(c.err, CURSOR_TRUNCATED);
    /* nothing can be read any more, even what would fit from the start */
    ck_assert_uint_eq(cursor_u8(&c), 0);
    ck_assert_ptr_null(cursor_take(&c, 0));
    ck_assert_int_eq(cursor_has(&c, 0), 0);
    ck_assert_int_eq(c.err, CURSOR_TRUNCATED);
    /* the first error sticks: INVALID does not replace TRUNCATED */
    cursor_invalid(&c);
    ck_assert_int_eq(c.err, CURSOR_TRUNCATED);

    struct cursor d = cursor_make(B, 8);
    cursor_u8(&d);
    cursor_invalid(&d);
    ck_assert_int_eq(d.err, CURSOR_INVALID);
    ck_assert_uint_eq(cursor_left(&d), 0);
    ck_assert_uint_eq(cursor_u8(&d), 0);
    ck_assert_int_eq(d.err, CURSOR_INVALID); /* a later short read does not change it */
}
END_TEST

START_TEST(peek)
{
    struct cursor c = cursor_make(B, 4);
    int ok = 7;
    cursor_u8(&c);
    ck_assert_uint_eq(cursor_peek_u8(&c, 0, &ok), 0x02);
    ck_assert_int_eq(ok, 1);
    ck_assert_uint_eq(cursor_peek_u8(&c, 2, &ok), 0x04);
    ck_assert_int_eq(ok, 1);
    ck_assert_uint_eq(cursor_peek_u8(&c, 3, &ok), 0); /* one past the end */
    ck_assert_int_eq(ok, 0);
    ck_assert_uint_eq(cursor_peek_u8(&c, (size_t)-1, NULL), 0); /* huge index, NULL ok */
    ck_assert_uint_eq(cursor_peek_u16be(&c, 1, &ok), 0x0304);
    ck_assert_int_eq(ok, 1);
    cursor_peek_u16be(&c, 2, &ok); /* half there: not ok */
    ck_assert_int_eq(ok, 0);
    /* peeks never move or fail the cursor */
    ck_assert_uint_eq(cursor_pos(&c), 1);
    ck_assert_int_eq(c.err, CURSOR_OK);
    ck_assert_ptr_eq(cursor_peek_ptr(&c, 3), B + 1);
    ck_assert_ptr_null(cursor_peek_ptr(&c, 4));
    ck_assert_int_eq(c.err, CURSOR_OK);
    /* a failed cursor peeks nothing */
    cursor_invalid(&c);
    ck_assert_uint_eq(cursor_peek_u8(&c, 0, &ok), 0);
    ck_assert_int_eq(ok, 0);
}
END_TEST

START_TEST(sub_within)
{
    struct cursor c = cursor_make(B, 8);
    cursor_u8(&c);
    struct cursor s = cursor_sub(&c, 3);
    ck_assert_int_eq(c.err, CURSOR_OK);
    ck_assert_uint_eq(cursor_pos(&c), 4); /* parent moved past the sub-PDU */
    ck_assert_uint_eq(cursor_left(&s), 3);
    ck_assert_uint_eq(cursor_u24be(&s), 0x020304);
    /* reading past the sub fails the sub only */
    ck_assert_uint_eq(cursor_u8(&s), 0);
    ck_assert_int_eq(s.err, CURSOR_TRUNCATED);
    ck_assert_int_eq(c.err, CURSOR_OK);
    ck_assert_uint_eq(cursor_u8(&c), 0x05);
    /* exactly the rest */
    struct cursor r = cursor_sub(&c, 3);
    ck_assert_int_eq(c.err, CURSOR_OK);
    ck_assert_uint_eq(cursor_left(&c), 0);
    ck_assert_uint_eq(cursor_left(&r), 3);
}
END_TEST

START_TEST(sub_beyond)
{
    struct cursor c = cursor_make(B, 8);
    cursor_u16be(&c);
    struct cursor s = cursor_sub(&c, 10); /* declares 10, only 6 are there */
    ck_assert_int_eq(c.err, CURSOR_TRUNCATED);
    ck_assert_uint_eq(cursor_left(&c), 0);
    ck_assert_int_eq(s.err, CURSOR_OK);
    ck_assert_uint_eq(cursor_left(&s), 6); /* covers what exists */
    ck_assert_uint_eq(cursor_u32be(&s), 0x03040506u);
    ck_assert_uint_eq(cursor_u16be(&s), 0x0708);
    ck_assert_int_eq(s.err, CURSOR_OK);
    /* a sub of a failed parent is empty and failed */
    struct cursor t = cursor_sub(&c, 1);
    ck_assert_int_ne(t.err, CURSOR_OK);
    ck_assert_uint_eq(cursor_left(&t), 0);
    ck_assert_uint_eq(cursor_u8(&t), 0);
}
END_TEST

START_TEST(sub_nested)
{
    struct cursor c = cursor_make(B, 8);
    struct cursor s = cursor_sub(&c, 6);
    cursor_u8(&s);
    struct cursor t = cursor_sub(&s, 2);
    ck_assert_uint_eq(cursor_u16le(&t), 0x0302);
    ck_assert_uint_eq(cursor_pos(&s), 3);
    struct cursor u = cursor_sub(&s, 4); /* 3 left in s: s truncated, not c */
    ck_assert_int_eq(s.err, CURSOR_TRUNCATED);
    ck_assert_int_eq(c.err, CURSOR_OK);
    ck_assert_uint_eq(cursor_left(&u), 3);
    ck_assert_uint_eq(cursor_u24be(&u), 0x040506);
    ck_assert_uint_eq(cursor_u16be(&c), 0x0708);
}
END_TEST

START_TEST(rest)
{
    struct cursor c = cursor_make(B, 8);
    cursor_skip(&c, 5);
    struct cursor r = cursor_rest(&c);
    ck_assert_int_eq(c.err, CURSOR_OK);
    ck_assert_uint_eq(cursor_left(&c), 0);
    ck_assert_uint_eq(cursor_left(&r), 3);
    ck_assert_uint_eq(cursor_u24be(&r), 0x060708);
}
END_TEST

START_TEST(take_skip_copy)
{
    struct cursor c = cursor_make(B, 8);
    const uint8_t *p = cursor_take(&c, 3);
    ck_assert_ptr_eq(p, B);
    ck_assert_uint_eq(cursor_pos(&c), 3);
    ck_assert_int_eq(cursor_skip(&c, 1), 1);
    uint8_t out[4] = {0};
    ck_assert_int_eq(cursor_copy(&c, out, 4), 1);
    ck_assert_mem_eq(out, B + 4, 4);
    ck_assert_uint_eq(cursor_left(&c), 0);
    /* one short: NULL, error, offset at end, destination untouched */
    struct cursor d = cursor_make(B, 8);
    cursor_u8(&d);
    ck_assert_ptr_null(cursor_take(&d, 8));
    ck_assert_int_eq(d.err, CURSOR_TRUNCATED);
    ck_assert_uint_eq(cursor_pos(&d), 8);
    struct cursor e = cursor_make(B, 3);
    uint8_t dst[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    ck_assert_int_eq(cursor_copy(&e, dst, 4), 0);
    ck_assert_uint_eq(dst[0], 0xaa);
    struct cursor f = cursor_make(B, 3);
    ck_assert_int_eq(cursor_skip(&f, 4), 0);
    ck_assert_int_eq(f.err, CURSOR_TRUNCATED);
    /* a huge length cannot wrap the check */
    struct cursor g = cursor_make(B, 8);
    cursor_u8(&g);
    ck_assert_ptr_null(cursor_take(&g, (size_t)-1));
    ck_assert_int_eq(g.err, CURSOR_TRUNCATED);
    struct cursor h = cursor_make(B, 8);
    cursor_u8(&h);
    struct cursor hs = cursor_sub(&h, (size_t)-1);
    ck_assert_uint_eq(cursor_left(&hs), 7);
    ck_assert_int_eq(h.err, CURSOR_TRUNCATED);
}
END_TEST

START_TEST(zero_length)
{
    struct cursor c = cursor_make(B, 0);
    ck_assert_uint_eq(cursor_left(&c), 0);
    ck_assert_int_eq(cursor_has(&c, 0), 1);
    ck_assert_int_eq(cursor_has(&c, 1), 0);
    /* taking nothing from nothing is fine */
    ck_assert_ptr_eq(cursor_take(&c, 0), B);
    ck_assert_int_eq(c.err, CURSOR_OK);
    struct cursor s = cursor_sub(&c, 0);
    ck_assert_int_eq(c.err, CURSOR_OK);
    ck_assert_int_eq(s.err, CURSOR_OK);
    ck_assert_uint_eq(cursor_left(&s), 0);
    ck_assert_uint_eq(cursor_u8(&c), 0);
    ck_assert_int_eq(c.err, CURSOR_TRUNCATED);
    /* a NULL buffer is an empty cursor whatever length is claimed */
    struct cursor n = cursor_make(NULL, 100);
    ck_assert_uint_eq(cursor_left(&n), 0);
    ck_assert_uint_eq(cursor_u8(&n), 0);
    ck_assert_int_eq(n.err, CURSOR_TRUNCATED);
}
END_TEST

/* cursor_find looks only at the bytes the cursor holds, from its position, within limit. */
START_TEST(find)
{
    struct cursor c = cursor_make(B, 8);
    cursor_skip(&c, 2); /* 03 04 05 06 07 08 */
    ck_assert_int_eq(cursor_find(&c, 0, 6, 0x05), 2);
    ck_assert_int_eq(cursor_find(&c, 2, 6, 0x05), 2);
    ck_assert_int_eq(cursor_find(&c, 3, 6, 0x05), -1);   /* before from */
    ck_assert_int_eq(cursor_find(&c, 0, 2, 0x05), -1);   /* beyond limit */
    ck_assert_int_eq(cursor_find(&c, 0, 100, 0x08), 5);  /* limit past the end */
    ck_assert_int_eq(cursor_find(&c, 0, 100, 0x02), -1); /* already read */
    ck_assert_int_eq(cursor_find(&c, 6, 100, 0x08), -1);
    struct cursor e = cursor_make(NULL, 5);
    ck_assert_int_eq(cursor_find(&e, 0, 5, 0), -1);
    ck_assert_uint_eq(cursor_pos(&c), 2); /* nothing moved */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cursor");
    TCase *t = tcase_create("core");
    tcase_add_test(t, readers_exact_and_short);
    tcase_add_test(t, u64_short_after_first_half);
    tcase_add_test(t, high_bit_values);
    tcase_add_test(t, sequence_of_reads);
    tcase_add_test(t, sticky_error);
    tcase_add_test(t, peek);
    tcase_add_test(t, sub_within);
    tcase_add_test(t, sub_beyond);
    tcase_add_test(t, sub_nested);
    tcase_add_test(t, rest);
    tcase_add_test(t, take_skip_copy);
    tcase_add_test(t, zero_length);
    tcase_add_test(t, find);
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
