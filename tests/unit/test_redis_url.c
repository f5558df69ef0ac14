/* test_redis_url.c - every form of the --redis URL, its errors, and password files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "redis_url.h"

static struct redis_url u;
static char err[512];

static int parse(const char *s)
{
    err[0] = '\0';
    return redis_url_parse(s, &u, err, sizeof(err));
}

START_TEST(none_forms)
{
    ck_assert_int_eq(parse("none"), 0);
    ck_assert_int_eq(u.kind, REDIS_URL_NONE);
    ck_assert_int_eq(parse(""), 0);
    ck_assert_int_eq(u.kind, REDIS_URL_NONE);
}
END_TEST

START_TEST(tcp_forms)
{
    ck_assert_int_eq(parse("redis://127.0.0.1"), 0);
    ck_assert_int_eq(u.kind, REDIS_URL_TCP);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_int_eq(u.port, 6379); /* default port */
    ck_assert_int_eq(u.db, 0);
    ck_assert_int_eq(u.has_password, 0);
    ck_assert_str_eq(u.user, "");

    ck_assert_int_eq(parse("redis://redis.plant.local:6380"), 0);
    ck_assert_str_eq(u.host, "redis.plant.local");
    ck_assert_int_eq(u.port, 6380);

    ck_assert_int_eq(parse("redis://10.0.0.5:6379/7"), 0);
    ck_assert_int_eq(u.db, 7);
    ck_assert_int_eq(parse("redis://10.0.0.5/2"), 0); /* db without a port */
    ck_assert_int_eq(u.port, 6379);
    ck_assert_int_eq(u.db, 2);
    ck_assert_int_eq(parse("redis://10.0.0.5:6379/"), 0); /* empty db: 0 */
    ck_assert_int_eq(u.db, 0);

    /* password only (the "default" user) */
    ck_assert_int_eq(parse("redis://:s3cret@host:1234/1"), 0);
    ck_assert_str_eq(u.user, "");
    ck_assert_str_eq(u.password, "s3cret");
    ck_assert_int_eq(u.has_password, 1);
    ck_assert_str_eq(u.host, "host");
    ck_assert_int_eq(u.port, 1234);
    ck_assert_int_eq(u.db, 1);

    /* ACL user and password, percent-escaped '@' and ':' in the password */
    ck_assert_int_eq(parse("redis://alice:p%40ss%3Aw@host"), 0);
    ck_assert_str_eq(u.user, "alice");
    ck_assert_str_eq(u.password, "p@ss:w");
    /* a raw '@' in the password: the last '@' separates the host */
    ck_assert_int_eq(parse("redis://bob:a@b@host:7000"), 0);
    ck_assert_str_eq(u.user, "bob");
    ck_assert_str_eq(u.password, "a@b");
    ck_assert_str_eq(u.host, "host");
    /* user without a password (it may come from redis.password_file) */
    ck_assert_int_eq(parse("redis://carol@host"), 0);
    ck_assert_str_eq(u.user, "carol");
    ck_assert_int_eq(u.has_password, 0);

    /* IPv6 in brackets */
    ck_assert_int_eq(parse("redis://[::1]:6390/3"), 0);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_int_eq(u.port, 6390);
    ck_assert_int_eq(u.db, 3);
    ck_assert_int_eq(parse("redis://[fe80::1]"), 0);
    ck_assert_str_eq(u.host, "fe80::1");
    ck_assert_int_eq(u.port, 6379);

    char d[128];
    ck_assert_int_eq(parse("redis://:pw@[::1]:6390/3"), 0);
    redis_url_describe(&u, d, sizeof(d));
    ck_assert_str_eq(d, "[::1]:6390/3"); /* never the password */
}
END_TEST

START_TEST(unix_forms)
{
    ck_assert_int_eq(parse("unix:/run/redis/redis.sock"), 0);
    ck_assert_int_eq(u.kind, REDIS_URL_UNIX);
    ck_assert_str_eq(u.path, "/run/redis/redis.sock");
    ck_assert_int_eq(parse("unix:///tmp/r.sock"), 0);
    ck_assert_str_eq(u.path, "/tmp/r.sock");
    char d[128];
    redis_url_describe(&u, d, sizeof(d));
    ck_assert_str_eq(d, "unix:/tmp/r.sock");
}
END_TEST

START_TEST(errors)
{
    /* TLS: refused with the way out */
    ck_assert_int_eq(parse("rediss://host:6380"), -1);
    ck_assert_ptr_nonnull(strstr(err, "TLS"));
    ck_assert_ptr_nonnull(strstr(err, "stunnel"));
    ck_assert_int_eq(parse("http://host"), -1);
    ck_assert_ptr_nonnull(strstr(err, "is not redis://"));
    ck_assert_int_eq(parse("127.0.0.1:6379"), -1);
    ck_assert_int_eq(parse("redis://"), -1);
    ck_assert_ptr_nonnull(strstr(err, "no host"));
    ck_assert_int_eq(parse("redis://:pw@"), -1);
    ck_assert_ptr_nonnull(strstr(err, "no host"));
    ck_assert_int_eq(parse("redis://host:0"), -1);
    ck_assert_ptr_nonnull(strstr(err, "port"));
    ck_assert_int_eq(parse("redis://host:65536"), -1);
    ck_assert_int_eq(parse("redis://host:"), -1);
    ck_assert_int_eq(parse("redis://host:12ab"), -1);
    ck_assert_int_eq(parse("redis://host/x"), -1);
    ck_assert_ptr_nonnull(strstr(err, "database"));
    ck_assert_int_eq(parse("redis://host/-1"), -1);
    ck_assert_int_eq(parse("redis://[::1"), -1);
    ck_assert_ptr_nonnull(strstr(err, "']'"));
    ck_assert_int_eq(parse("redis://[::1]x"), -1);
    ck_assert_int_eq(parse("redis://:p%4@host"), -1); /* short escape */
    ck_assert_ptr_nonnull(strstr(err, "password"));
    ck_assert_int_eq(parse("redis://:p%zz@host"), -1);
    ck_assert_int_eq(parse("redis://:p%00@host"), -1); /* a NUL cannot be sent */
    ck_assert_int_eq(parse("redis://u%2@host"), -1);
    ck_assert_ptr_nonnull(strstr(err, "user"));
    ck_assert_int_eq(parse("unix:relative.sock"), -1);
    ck_assert_ptr_nonnull(strstr(err, "absolute"));
    char lng[700] = "unix:/";
    memset(lng + 6, 'a', 200);
    ck_assert_int_eq(parse(lng), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
    char host[400] = "redis://";
    memset(host + 8, 'h', 300);
    ck_assert_int_eq(parse(host), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

START_TEST(password_file)
{
    char path[] = "/tmp/ots_pw_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "s3cret \r\nsecond line\n", 21), 21);
    close(fd);
    char pw[64];
    ck_assert_int_eq(redis_password_file_read(path, pw, sizeof(pw), err, sizeof(err)), 0);
    ck_assert_str_eq(pw, "s3cret"); /* first line, trailing blanks and CR cut */
    char small[4];
    ck_assert_int_eq(redis_password_file_read(path, small, sizeof(small), err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "longer than 3"));
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, "\n", 1), 1);
    close(fd);
    ck_assert_int_eq(redis_password_file_read(path, pw, sizeof(pw), err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    unlink(path);
    ck_assert_int_eq(redis_password_file_read(path, pw, sizeof(pw), err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("redis_url");
    TCase *t = tcase_create("core");
    tcase_add_test(t, none_forms);
    tcase_add_test(t, tcp_forms);
    tcase_add_test(t, unix_forms);
    tcase_add_test(t, errors);
    tcase_add_test(t, password_file);
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
