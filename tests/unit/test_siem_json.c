/* test_siem_json.c - the SIEM connector's JSON reader (sensor/siem/sjson.c): real alerts,
 * lookups, string decoding, and hostile input that must be refused without harm. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sjson.h"

static struct sjson_tok tok[256];
static struct sjson d;
static char err[128];

static int parse(const char *s)
{
    return sjson_parse(&d, s, strlen(s), tok, 256, err, sizeof(err));
}

static const char *str_at(const char *path)
{
    static char buf[512];
    if (sjson_str(&d, sjson_path(&d, path), buf, sizeof(buf)) < 0) return NULL;
    return buf;
}

/* an alert as rules/alert_json.c writes it (docs/alerts.md) */
static const char *ALERT =
    "{\"@timestamp\":\"2016-03-30T02:23:20.294973Z\",\"event\":{\"kind\":\"alert\",\"severity\":4},"
    "\"rule\":{\"id\":\"9105007\",\"name\":\"CIP stop\"},"
    "\"source\":{\"ip\":\"192.168.1.69\",\"port\":49271},"
    "\"iec62443\":{\"fr\":[\"FR2\",\"FR7\"],\"zone\":{\"src\":null,\"dst\":\"cell\"},\"conduit\":"
    "null},\"ot\":{\"cip\":{\"service\":7,\"x\":[1,{\"y\":[]}],\"z\":-1.5e3},\"code\":7},"
    "\"otsensor\":{\"flow_id\":8413336117922821}}";

START_TEST(real_alert)
{
    ck_assert_int_eq(parse(ALERT), 0);
    ck_assert_str_eq(str_at("rule.id"), "9105007");
    ck_assert_str_eq(str_at("@timestamp"), "2016-03-30T02:23:20.294973Z");
    ck_assert_str_eq(str_at("iec62443.zone.dst"), "cell");
    int64_t v;
    ck_assert_int_eq(sjson_int(&d, sjson_path(&d, "event.severity"), &v), 0);
    ck_assert_int_eq(v, 4);
    ck_assert_int_eq(sjson_int(&d, sjson_path(&d, "source.port"), &v), 0);
    ck_assert_int_eq(v, 49271);
    ck_assert_int_eq(sjson_int(&d, sjson_path(&d, "otsensor.flow_id"), &v), 0);
    ck_assert(v == INT64_C(8413336117922821));
    /* ot.code comes after a nested object with arrays: sibling skipping works */
    ck_assert_int_eq(sjson_int(&d, sjson_path(&d, "ot.code"), &v), 0);
    ck_assert_int_eq(v, 7);
    /* a fraction is not an integer */
    ck_assert_int_eq(sjson_int(&d, sjson_path(&d, "ot.cip.z"), &v), -1);
    int fr = sjson_path(&d, "iec62443.fr");
    ck_assert_int_eq(d.tok[fr].type, SJ_ARR);
    ck_assert_int_eq(d.tok[fr].size, 2);
    char b[16];
    ck_assert_int_eq(sjson_str(&d, sjson_at(&d, fr, 1), b, sizeof(b)), 3);
    ck_assert_str_eq(b, "FR7");
    ck_assert_int_eq(sjson_at(&d, fr, 2), -1);
    ck_assert_int_eq(d.tok[sjson_path(&d, "iec62443.conduit")].type, SJ_NULL);
    ck_assert_int_eq(sjson_path(&d, "iec62443.zone.src.deeper"), -1);
    ck_assert_int_eq(sjson_path(&d, "nope"), -1);
    ck_assert_int_eq(sjson_path(&d, "rule.id.x"), -1);
    /* a key is not a value: the lookup must not match a value spelled like a key */
    ck_assert_int_eq(parse("{\"a\":\"b\",\"b\":1}"), 0);
    ck_assert_int_eq(sjson_int(&d, sjson_get(&d, 0, "b"), &v), 0);
    ck_assert_int_eq(v, 1);
}
END_TEST

START_TEST(string_escapes)
{
    /* \n, \", \\, \/, a 2-byte and a 3-byte \u, a surrogate pair (U+1F600), raw UTF-8 */
    ck_assert_int_eq(parse("{\"s\":\"a\\nb\\\"c\\\\d\\/e\\u00e9\\u20ac\\ud83d\\ude00\xc3\xa9\"}"),
                     0);
    ck_assert_str_eq(str_at("s"), "a\nb\"c\\d/e\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9");
    /* a lone high or low surrogate and \u0000 become U+FFFD: the result stays valid UTF-8
     * and a C string */
    ck_assert_int_eq(parse("{\"s\":\"x\\ud800y\\udc00z\\u0000\"}"), 0);
    ck_assert_str_eq(str_at("s"), "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd");
    /* truncation never splits a character */
    ck_assert_int_eq(parse("{\"s\":\"ab\\u20ac\"}"), 0);
    char b[5];
    ck_assert_int_eq(sjson_str(&d, sjson_path(&d, "s"), b, sizeof(b)), 2);
    ck_assert_str_eq(b, "ab");
    /* sjson_text of non-strings */
    ck_assert_int_eq(parse("{\"n\":-12,\"t\":true,\"z\":null,\"o\":{}}"), 0);
    char t[16];
    ck_assert_int_eq(sjson_text(&d, sjson_path(&d, "n"), t, sizeof(t)), 3);
    ck_assert_str_eq(t, "-12");
    ck_assert_int_eq(sjson_text(&d, sjson_path(&d, "t"), t, sizeof(t)), 4);
    ck_assert_int_eq(sjson_text(&d, sjson_path(&d, "z"), t, sizeof(t)), 0);
    ck_assert_int_eq(sjson_text(&d, sjson_path(&d, "o"), t, sizeof(t)), -1);
}
END_TEST

START_TEST(hostile_refused)
{
    static const char *bad[] = {
        "",
        "{",
        "{\"a\":}",
        "{\"a\":1,}",
        "[1,]",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1}x",
        "{\"a\":1}{}",
        "\"abc",
        "\"a\x01b\"",           /* raw control character in a string */
        "\"a\nb\"",             /* raw newline in a string */
        "\"\\x\"",              /* bad escape */
        "\"\\u12g4\"",          /* bad \u */
        "\"\\u12\"",            /* \u cut short */
        "\"\xff\"",             /* invalid UTF-8 byte */
        "\"\xc0\xaf\"",         /* overlong '/' */
        "\"\xed\xa0\x80\"",     /* UTF-8 encoded surrogate */
        "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
        "\"\xe2\x82\"",         /* cut sequence */
        "01",
        "-",
        "1.",
        "1e",
        "tru",
        "nul",
        "+1",
        ".5",
        "{\"a\":[1,2}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(parse(bad[i]) == -1, "accepted: %s", bad[i]);
        ck_assert_msg(err[0] != '\0', "no reason for: %s", bad[i]);
        ck_assert_int_eq(d.ntok, 0);
        ck_assert_int_eq(sjson_path(&d, "a"), -1); /* lookups on a failed parse are safe */
    }
    /* an embedded NUL is outside any string: refused, not read as the end */
    ck_assert_int_eq(sjson_parse(&d, "{\"a\":1}\0x", 9, tok, 256, err, sizeof(err)), -1);
    /* the text is read only within its length: the closing brace is past it */
    ck_assert_int_eq(sjson_parse(&d, "{\"a\":1}", 6, tok, 256, err, sizeof(err)), -1);
}
END_TEST

START_TEST(limits)
{
    /* nesting beyond the cap is refused (no deep recursion) */
    char deep[4096];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 1000; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    ck_assert_int_eq(parse(deep), -1);
    ck_assert_ptr_nonnull(strstr(err, "deep"));
    /* exactly the cap minus one levels still parses */
    n = 0;
    for (int i = 0; i < SJSON_MAX_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < SJSON_MAX_DEPTH; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    ck_assert_int_eq(parse(deep), 0);
    /* more tokens than room: refused */
    struct sjson_tok few[4];
    ck_assert_int_eq(sjson_parse(&d, "[1,2,3,4,5]", 11, few, 4, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "tokens"));
    ck_assert_int_eq(sjson_parse(&d, "[1,2,3]", 7, few, 4, err, sizeof(err)), 0);
    /* an integer beyond int64 is not an integer */
    int64_t v;
    ck_assert_int_eq(parse("[9223372036854775807,9223372036854775808,-9223372036854775807]"), 0);
    ck_assert_int_eq(sjson_int(&d, sjson_at(&d, 0, 0), &v), 0);
    ck_assert(v == INT64_MAX);
    ck_assert_int_eq(sjson_int(&d, sjson_at(&d, 0, 1), &v), -1);
    ck_assert_int_eq(sjson_int(&d, sjson_at(&d, 0, 2), &v), 0);
    ck_assert(v == -INT64_MAX);
}
END_TEST

/* Random mutations of a real alert: the parser must never crash or read out of bounds
 * (run under ASan), and whatever it accepts must decode to valid C strings. */
START_TEST(mutations)
{
    size_t n = strlen(ALERT);
    char *buf = malloc(n);
    ck_assert_ptr_nonnull(buf);
    unsigned seed = 12345;
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, ALERT, n);
        int flips = 1 + (int)(rand_r(&seed) % 4);
        for (int k = 0; k < flips; k++)
            buf[rand_r(&seed) % n] = (char)(rand_r(&seed) & 0xff);
        size_t len = n - (rand_r(&seed) % 3 == 0 ? rand_r(&seed) % n : 0);
        if (sjson_parse(&d, buf, len, tok, 256, err, sizeof(err)) == 0) {
            accepted++;
            char s[256];
            for (uint32_t t = 0; t < d.ntok; t++)
                if (sjson_text(&d, (int)t, s, sizeof(s)) >= 0)
                    ck_assert_uint_lt(strlen(s), sizeof(s));
        }
    }
    ck_assert_int_gt(accepted, 0);
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("siem_json");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, real_alert);
    tcase_add_test(tc, string_escapes);
    tcase_add_test(tc, hostile_refused);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, mutations);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
