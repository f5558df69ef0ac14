/* test_community_id.c - Community ID v1 against the spec's vectors.
 *
 * Every expected value was recomputed independently at writing time with
 * /usr/bin/python3 hashlib from the spec text (seed as 2 bytes big-endian, the two
 * addresses and ports ordered smaller first, proto, a zero pad byte, ports; ICMP
 * type/code mapped through the spec's counterpart table), and the TCP, UDP and
 * ICMP ones are the values published in the corelight community-id-spec. */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "community_id.h"

static struct ev_addr ip(const char *s)
{
    struct ev_addr a;
    memset(&a, 0, sizeof(a));
    if (strchr(s, ':')) {
        ck_assert_int_eq(inet_pton(AF_INET6, s, a.b), 1);
    } else {
        a.b[10] = a.b[11] = 0xff; /* IPv4-mapped, as the engine stores IPv4 */
        ck_assert_int_eq(inet_pton(AF_INET, s, a.b + 12), 1);
    }
    return a;
}

static const char *cid(const char *src, const char *dst, uint16_t sp, uint16_t dp, uint8_t proto,
                       uint16_t seed)
{
    static char out[32];
    struct ev_addr a = ip(src), b = ip(dst);
    memset(out, 'x', sizeof(out));
    community_id_v1(&a, &b, sp, dp, proto, seed, out);
    ck_assert_uint_lt(strlen(out), sizeof(out));
    return out;
}

START_TEST(tcp_v4_both_directions)
{
    ck_assert_str_eq(cid("128.232.110.120", "66.35.250.204", 34855, 80, 6, 0),
                     "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    ck_assert_str_eq(cid("66.35.250.204", "128.232.110.120", 80, 34855, 6, 0),
                     "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
}
END_TEST

START_TEST(udp_v4_both_directions)
{
    ck_assert_str_eq(cid("192.168.1.52", "8.8.8.8", 54585, 53, 17, 0),
                     "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    ck_assert_str_eq(cid("8.8.8.8", "192.168.1.52", 53, 54585, 17, 0),
                     "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
}
END_TEST

START_TEST(icmp_echo_pair)
{
    /* echo request (8/0) and its reply (0/0) map to the same ID */
    ck_assert_str_eq(cid("192.168.0.89", "192.168.0.1", 8, 0, 1, 0),
                     "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    ck_assert_str_eq(cid("192.168.0.1", "192.168.0.89", 0, 0, 1, 0),
                     "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
}
END_TEST

START_TEST(icmp6_echo_pair)
{
    ck_assert_str_eq(
        cid("3ffe:507:0:1:260:97ff:fe07:69ea", "3ffe:507:0:1:200:86ff:fe05:80da", 128, 0, 58, 0),
        "1:SO2grawmbz/AWVMoyg47wzmTp98=");
    ck_assert_str_eq(
        cid("3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:507:0:1:260:97ff:fe07:69ea", 129, 0, 58, 0),
        "1:SO2grawmbz/AWVMoyg47wzmTp98=");
}
END_TEST

START_TEST(tcp_v6_both_directions)
{
    ck_assert_str_eq(cid("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 64389, 23, 6, 0),
                     "1:sxxCh1TN4iOUs6gZ3yde1KOPLXQ=");
    ck_assert_str_eq(cid("fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 23, 64389, 6, 0),
                     "1:sxxCh1TN4iOUs6gZ3yde1KOPLXQ=");
}
END_TEST

START_TEST(icmp_one_way)
{
    /* destination unreachable (3/1) has no counterpart: not reordered, so the two
     * directions give different IDs */
    ck_assert_str_eq(cid("192.168.0.1", "192.168.0.89", 3, 1, 1, 0),
                     "1:o3zT92uTgnRWv/YrDVeXcWumpC4=");
    ck_assert_str_eq(cid("192.168.0.89", "192.168.0.1", 3, 1, 1, 0),
                     "1:LXCfhMUFbYXe+CEMrQuZCbiLY3o=");
}
END_TEST

START_TEST(seed)
{
    ck_assert_str_eq(cid("128.232.110.120", "66.35.250.204", 34855, 80, 6, 1),
                     "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
}
END_TEST

START_TEST(same_address_ordered_by_port)
{
    ck_assert_str_eq(cid("10.0.0.1", "10.0.0.1", 5000, 53, 17, 0),
                     "1:kg98piSbGsCrHnhtlL0FEQzKCQ4=");
    ck_assert_str_eq(cid("10.0.0.1", "10.0.0.1", 53, 5000, 17, 0),
                     "1:kg98piSbGsCrHnhtlL0FEQzKCQ4=");
}
END_TEST

START_TEST(portless_protocol)
{
    /* GRE (47): no ports in the hash input, whatever the caller passes */
    ck_assert_str_eq(cid("10.0.0.1", "10.0.0.2", 0, 0, 47, 0), "1:+KlEHDT0vJgzs/eNmzHq0aSpRYw=");
    ck_assert_str_eq(cid("10.0.0.2", "10.0.0.1", 7, 9, 47, 0), "1:+KlEHDT0vJgzs/eNmzHq0aSpRYw=");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("community_id");
    TCase *t = tcase_create("core");
    tcase_add_test(t, tcp_v4_both_directions);
    tcase_add_test(t, udp_v4_both_directions);
    tcase_add_test(t, icmp_echo_pair);
    tcase_add_test(t, icmp6_echo_pair);
    tcase_add_test(t, tcp_v6_both_directions);
    tcase_add_test(t, icmp_one_way);
    tcase_add_test(t, seed);
    tcase_add_test(t, same_address_ordered_by_port);
    tcase_add_test(t, portless_protocol);
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
