/* test_ber.c - the shared BER reader: identifiers, lengths, value helpers, depth.
 *
 * Real encodings come from tests/data/goose_demo.pcap (the goosePdu after the
 * 8-byte GOOSE header) and the MMS captures; hand-built ones cite X.690. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ber.h"
#include "testutil.h"

/* goose_demo.pcap frame 1, goosePdu: tshark -V says gocbRef "111",
 * timeAllowedtoLive 10000, datSet "222", goID "333", t May 26 2011 00:55:54.859 UTC,
 * stNum 1, sqNum 1, simulation False, confRev 1, ndsCom False, numDatSetEntries 10,
 * allData 10 x boolean False. */
static const char *DEMO_PDU =
    "61 62"                         /* [APPLICATION 1] constructed, 98 bytes */
    "80 03 31 31 31"                /* [0] gocbRef "111" */
    "81 05 00 00 00 27 10"          /* [1] timeAllowedtoLive 10000 (non-minimal, legal) */
    "82 03 32 32 32"                /* [2] datSet "222" */
    "83 03 33 33 33"                /* [3] goID "333" */
    "84 08 4d dd a5 1a db e7 6d 00" /* [4] t: secs 0x4ddda51a, fraction, quality 0 */
    "85 05 00 00 00 00 01"          /* [5] stNum 1 */
    "86 05 00 00 00 00 01"          /* [6] sqNum 1 */
    "87 01 00"                      /* [7] simulation FALSE */
    "88 05 00 00 00 00 01"          /* [8] confRev 1 */
    "89 01 00"                      /* [9] ndsCom FALSE */
    "8a 05 00 00 00 00 0a"          /* [10] numDatSetEntries 10 */
    "ab 1e"                         /* [11] allData, constructed, 30 bytes */
    "83 01 00 83 01 00 83 01 00 83 01 00 83 01 00"  /* 5 x boolean FALSE */
    "83 01 00 83 01 00 83 01 00 83 01 00 83 01 00"; /* 5 more */

static struct cursor hc(const char *hex, uint8_t *buf, size_t cap)
{
    size_t n = hex_to_bytes(hex, buf, cap);
    return cursor_make(buf, n);
}

START_TEST(test_demo_pdu_fields)
{
    uint8_t b[256];
    struct cursor c = hc(DEMO_PDU, b, sizeof(b));
    struct ber_tlv pdu, t;
    ck_assert_int_eq(ber_read(&c, &pdu), BER_OK);
    ck_assert(ber_is(&pdu, BER_APPLICATION, 1, 1));
    ck_assert_uint_eq(pdu.len, 98);
    ck_assert_uint_eq(cursor_left(&c), 0);
    /* gocbRef */
    ck_assert_int_eq(ber_read(&pdu.val, &t), BER_OK);
    ck_assert(ber_is(&t, BER_CONTEXT, 0, 0));
    const uint8_t *p;
    size_t n;
    ck_assert(ber_octets(&t, &p, &n));
    ck_assert_uint_eq(n, 3);
    ck_assert(memcmp(p, "111", 3) == 0);
    /* timeAllowedtoLive: 5-byte INTEGER 10000 */
    ck_assert_int_eq(ber_read(&pdu.val, &t), BER_OK);
    uint64_t u;
    int64_t i;
    ck_assert(ber_uint(&t, &u));
    ck_assert_uint_eq(u, 10000);
    ck_assert(ber_int(&t, &i));
    ck_assert_int_eq(i, 10000);
    ber_read(&pdu.val, &t); /* datSet */
    ber_read(&pdu.val, &t); /* goID */
    ck_assert_int_eq(ber_read(&pdu.val, &t), BER_OK);
    ck_assert_uint_eq(t.tag, 4);
    uint32_t secs, frac;
    uint8_t q;
    ck_assert(ber_utc_time(&t, &secs, &frac, &q));
    ck_assert_uint_eq(secs, 1306371354u); /* 2011-05-26 00:55:54 UTC, as tshark */
    ck_assert_uint_eq(frac, 0xdbe76d);    /* .859 s */
    ck_assert_uint_eq(q, 0);
    for (int k = 5; k <= 6; k++) { /* stNum, sqNum = 1 */
        ck_assert_int_eq(ber_read(&pdu.val, &t), BER_OK);
        ck_assert(ber_uint(&t, &u));
        ck_assert_uint_eq(u, 1);
    }
    ck_assert_int_eq(ber_read(&pdu.val, &t), BER_OK); /* simulation */
    int bv = 1;
    ck_assert(ber_bool(&t, &bv));
    ck_assert_int_eq(bv, 0);
    for (int k = 8; k <= 10; k++)
        ck_assert_int_eq(ber_read(&pdu.val, &t), BER_OK);
    ck_assert_int_eq(ber_read(&pdu.val, &t), BER_OK); /* allData */
    ck_assert(ber_is(&t, BER_CONTEXT, 1, 11));
    ck_assert_uint_eq(t.len, 30);
    ck_assert_int_eq(ber_read(&pdu.val, &t), BER_EOF);
}
END_TEST

START_TEST(test_demo_pdu_walk)
{
    uint8_t b[256];
    struct cursor c = hc(DEMO_PDU, b, sizeof(b));
    struct ber_walk_stats st;
    ck_assert_int_eq(ber_walk(c, BER_MAX_DEPTH, &st), BER_OK);
    ck_assert_uint_eq(st.elements, 1 + 12 + 10); /* goosePdu, 12 fields, 10 booleans */
    ck_assert_uint_eq(st.max_depth, 3);
    /* a depth limit of 2 refuses the booleans inside allData */
    ck_assert_int_eq(ber_walk(c, 2, &st), BER_BAD);
}
END_TEST

/* Every proper prefix is truncated, never OK, never a crash. */
START_TEST(test_truncated_everywhere)
{
    uint8_t b[256];
    struct cursor full = hc(DEMO_PDU, b, sizeof(b));
    size_t len = cursor_left(&full);
    for (size_t k = 0; k < len; k++) {
        struct cursor c = cursor_make(b, k);
        struct ber_walk_stats st;
        enum ber_status s = ber_walk(c, BER_MAX_DEPTH, &st);
        if (k == 0)
            ck_assert_int_eq(s, BER_OK); /* nothing to read */
        else
            ck_assert_msg(s == BER_TRUNCATED, "prefix %zu gave %d", k, s);
    }
}
END_TEST

START_TEST(test_high_tag_number)
{
    uint8_t b[64];
    /* mms-stopRequest.pcap: the stop service [41] is "bf 29": context, constructed,
     * high-tag-number form, one digit 0x29 = 41; then 25 bytes */
    struct cursor c = hc("bf 29 19 80 17 52 33 39 35 30 32 34 33 39 37 41 70 70 6c 69 63 61 "
                         "74 69 6f 6e 5f 31",
                         b, sizeof(b));
    struct ber_tlv t;
    ck_assert_int_eq(ber_read(&c, &t), BER_OK);
    ck_assert(ber_is(&t, BER_CONTEXT, 1, 41));
    ck_assert_uint_eq(t.len, 25);
    /* two digits: 0x81 0x00 = 128 (X.690 8.1.2.4) */
    c = hc("9f 81 00 01 ff", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_OK);
    ck_assert(ber_is(&t, BER_CONTEXT, 0, 128));
    ck_assert_uint_eq(t.len, 1);
    /* a leading 0x80 digit is not minimal: refused */
    c = hc("9f 80 01 01 00", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_BAD);
    /* five digits overflow our 28-bit limit */
    c = hc("9f 81 81 81 81 01 00", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_BAD);
    /* the tag ends before its last digit */
    c = hc("9f 81", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_TRUNCATED);
}
END_TEST

START_TEST(test_lengths)
{
    uint8_t b[300];
    struct ber_tlv t;
    /* long form 0x81: one length byte (iec61850_read.pcap: "31 81 99" CP-type SET) */
    struct cursor c = hc("04 81 02 aa bb", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_OK);
    ck_assert_uint_eq(t.len, 2);
    /* long form 0x82: two bytes, 0x0100 = 256 */
    char hex[1200] = "04 82 01 00";
    for (int k = 0; k < 256; k++)
        strcat(hex, " 00");
    c = hc(hex, b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_OK);
    ck_assert_uint_eq(t.len, 256);
    ck_assert_uint_eq(cursor_left(&t.val), 256);
    /* indefinite length (0x80) is refused, as are 0x85.. and reserved 0xFF */
    c = hc("30 80 02 01 00 00 00", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_BAD);
    ck_assert_int_eq(c.err, CURSOR_INVALID);
    c = hc("04 85 00 00 00 00 01 00", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_BAD);
    c = hc("04 ff 00", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_BAD);
    /* 4-byte long form up to 2^32-1 is read, then found truncated */
    c = hc("04 84 ff ff ff ff 01 02", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_TRUNCATED);
    ck_assert_uint_eq(t.len, 0xffffffffu);
    ck_assert_uint_eq(cursor_left(&t.val), 2); /* what is there stays readable */
    ck_assert_uint_eq(cursor_left(&c), 0);
    /* the length bytes themselves cut short */
    c = hc("04 82 01", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_TRUNCATED);
    /* empty input */
    c = cursor_make(b, 0);
    ck_assert_int_eq(ber_read(&c, &t), BER_EOF);
}
END_TEST

START_TEST(test_value_helpers)
{
    uint8_t b[64];
    struct ber_tlv t;
    int64_t i;
    uint64_t u;
    int bv;
    /* GOOSE_all_data_primitives_fallbacks.pcap allData: integer [5] "85 01 ff" = -1,
     * unsigned [6] "86 02 01 f4" = 500 (tshark: integer -1, unsigned 500) */
    struct cursor c = hc("85 01 ff", b, sizeof(b));
    ber_read(&c, &t);
    ck_assert(ber_int(&t, &i));
    ck_assert_int_eq(i, -1);
    ck_assert(!ber_uint(&t, &u)); /* negative */
    c = hc("86 02 01 f4", b, sizeof(b));
    ber_read(&c, &t);
    ck_assert(ber_uint(&t, &u));
    ck_assert_uint_eq(u, 500);
    /* 9-byte unsigned with a leading zero: 2^64-1 */
    c = hc("02 09 00 ff ff ff ff ff ff ff ff", b, sizeof(b));
    ber_read(&c, &t);
    ck_assert(ber_uint(&t, &u));
    ck_assert_uint_eq(u, UINT64_MAX);
    ck_assert(!ber_int(&t, &i)); /* does not fit int64 */
    /* empty INTEGER is invalid */
    c = hc("02 00", b, sizeof(b));
    ber_read(&c, &t);
    ck_assert(!ber_int(&t, &i));
    ck_assert(!ber_uint(&t, &u));
    /* boolean: exactly one byte; any non-zero is TRUE ("83 01 01" in the capture) */
    c = hc("83 01 01", b, sizeof(b));
    ber_read(&c, &t);
    ck_assert(ber_bool(&t, &bv));
    ck_assert_int_eq(bv, 1);
    c = hc("83 02 01 01", b, sizeof(b));
    ber_read(&c, &t);
    ck_assert(!ber_bool(&t, &bv));
    /* bit-string [4] "84 02 07 80": 7 unused bits, one bit set (tshark: 80) */
    c = hc("84 02 07 80", b, sizeof(b));
    ber_read(&c, &t);
    unsigned unused;
    const uint8_t *p;
    size_t n;
    ck_assert(ber_bitstring(&t, &unused, &p, &n));
    ck_assert_uint_eq(unused, 7);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(p[0], 0x80);
    c = hc("84 02 08 80", b, sizeof(b)); /* 8 unused bits is impossible */
    ber_read(&c, &t);
    ck_assert(!ber_bitstring(&t, &unused, &p, &n));
    /* UtcTime must be exactly 8 bytes */
    uint32_t s, f;
    uint8_t q;
    c = hc("91 07 00 00 00 00 00 00 00", b, sizeof(b));
    ber_read(&c, &t);
    ck_assert(!ber_utc_time(&t, &s, &f, &q));
    /* a truncated value gives no helper result */
    c = hc("8a 05 4f 4b", b, sizeof(b));
    ck_assert_int_eq(ber_read(&c, &t), BER_TRUNCATED);
    ck_assert(!ber_octets(&t, &p, &n));
}
END_TEST

START_TEST(test_depth_limit)
{
    /* 17 nested SEQUENCEs: one more than BER_MAX_DEPTH */
    uint8_t b[64];
    size_t n = 0;
    for (int k = 0; k < 17; k++) {
        b[n++] = 0x30;
        b[n++] = (uint8_t)(2 * (16 - k));
    }
    struct ber_walk_stats st;
    ck_assert_int_eq(ber_walk(cursor_make(b, n), BER_MAX_DEPTH, &st), BER_BAD);
    ck_assert_uint_le(st.max_depth, BER_MAX_DEPTH);
    /* 16 levels are fine */
    ck_assert_int_eq(ber_walk(cursor_make(b + 2, n - 2), BER_MAX_DEPTH, &st), BER_OK);
    ck_assert_uint_eq(st.max_depth, 16);
    /* a caller's larger limit is capped */
    ck_assert_int_eq(ber_walk(cursor_make(b, n), 100, &st), BER_BAD);
}
END_TEST

static Suite *ber_suite(void)
{
    Suite *s = suite_create("ber");
    TCase *t = tcase_create("core");
    tcase_add_test(t, test_demo_pdu_fields);
    tcase_add_test(t, test_demo_pdu_walk);
    tcase_add_test(t, test_truncated_everywhere);
    tcase_add_test(t, test_high_tag_number);
    tcase_add_test(t, test_lengths);
    tcase_add_test(t, test_value_helpers);
    tcase_add_test(t, test_depth_limit);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(ber_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
