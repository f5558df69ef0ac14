/* test_spool.c - the alert spool: records survive reopen in order, a torn or
 * corrupt tail is cut, the size cap with its spool_full marker, trimming, the lock. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char dir[64];
static char err[512];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ots_spool_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_tmp(void)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

/* Path of the n-th segment file in name order (1-based), or NULL. */
static const char *seg_file(int n)
{
    static char p[512];
    struct dirent **list;
    int k = scandir(dir, &list, NULL, alphasort), found = 0;
    for (int i = 0; i < k; i++) {
        if (!strncmp(list[i]->d_name, "alerts-", 7) && ++found == n)
            snprintf(p, sizeof(p), "%s/%s", dir, list[i]->d_name);
        free(list[i]);
    }
    free(list);
    return found >= n ? p : NULL;
}

static int seg_count(void)
{
    int n = 0;
    while (seg_file(n + 1))
        n++;
    return n;
}

static off_t file_size(const char *p)
{
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    return st.st_size;
}

static struct spool *open_sp(uint64_t max)
{
    struct spool *s = spool_open(dir, max, SPOOL_FSYNC_BATCH, "s1", err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

/* Record i: id 1000+i, payload "alert-<i>" padded with 'x' to `pad` bytes. */
static size_t payload(int i, int pad, char *out)
{
    int n = snprintf(out, 64, "alert-%d", i);
    while (n < pad)
        out[n++] = 'x';
    out[n] = '\0';
    return (size_t)n;
}

static void append_range(struct spool *s, int from, int to, int pad)
{
    char b[4096];
    for (int i = from; i < to; i++) {
        size_t n = payload(i, pad, b);
        ck_assert_int_eq(spool_append(s, (struct spool_id){1000 + (uint64_t)i, 0}, b, n), SPOOL_OK);
    }
}

/* Reads from the cursor: expects records from..to-1 exactly, then the end. */
static void expect_range(struct spool *s, int from, int to, int pad)
{
    char want[4096];
    struct spool_id id;
    const char *d;
    size_t n;
    for (int i = from; i < to; i++) {
        ck_assert_msg(spool_next(s, &id, &d, &n) == 1, "record %d missing", i);
        ck_assert_uint_eq(id.ms, 1000 + (uint64_t)i);
        ck_assert_uint_eq(id.seq, 0);
        size_t wn = payload(i, pad, want);
        ck_assert_uint_eq(n, wn);
        ck_assert(memcmp(d, want, n) == 0);
    }
    ck_assert_int_eq(spool_next(s, &id, &d, &n), 0);
}

START_TEST(crc32_vector)
{
    /* the standard check value of CRC-32/ISO-HDLC (zlib's crc32) */
    ck_assert_uint_eq(spool_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(spool_crc32(spool_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    /* longer than one 8-byte step, and split at odd places */
    const char *fox = "The quick brown fox jumps over the lazy dog";
    ck_assert_uint_eq(spool_crc32(0, fox, 43), 0x414FA339u);
    for (size_t cut = 0; cut <= 43; cut++)
        ck_assert_uint_eq(spool_crc32(spool_crc32(0, fox, cut), fox + cut, 43 - cut), 0x414FA339u);
    enum spool_fsync f;
    ck_assert_int_eq(spool_fsync_parse("always", &f), 0);
    ck_assert_int_eq(f, SPOOL_FSYNC_ALWAYS);
    ck_assert_int_eq(spool_fsync_parse("batch", &f), 0);
    ck_assert_int_eq(f, SPOOL_FSYNC_BATCH);
    ck_assert_int_eq(spool_fsync_parse("never", &f), 0);
    ck_assert_int_eq(f, SPOOL_FSYNC_NEVER);
    ck_assert_int_eq(spool_fsync_parse("Always", &f), -1);
}
END_TEST

START_TEST(reopen_in_order)
{
    mkdir_tmp();
    struct spool *s = open_sp(1 << 20);
    struct spool_stats st;
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 0);
    ck_assert_uint_eq(spool_last_id(s).ms, 0);
    append_range(s, 0, 100, 50);
    /* reading reaches records still in the write buffer */
    expect_range(s, 0, 100, 50);
    append_range(s, 100, 110, 50);
    expect_range(s, 100, 110, 50); /* the cursor continues */
    spool_close(s);
    /* the record size is header + payload */
    ck_assert_int_eq(file_size(seg_file(1)), 110 * (SPOOL_REC_HDR + 50));
    s = open_sp(1 << 20);
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.found_at_open, 110);
    ck_assert_uint_eq(st.records, 110);
    ck_assert_uint_eq(st.torn_bytes, 0);
    ck_assert_uint_eq(spool_last_id(s).ms, 1109);
    expect_range(s, 0, 110, 50);
    spool_rewind(s);
    expect_range(s, 0, 110, 50);
    /* only one process holds a spool */
    struct spool *s2 = spool_open(dir, 1 << 20, SPOOL_FSYNC_NEVER, "s1", err, sizeof(err));
    ck_assert_ptr_null(s2);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    spool_close(s);
    rm_tmp();
}
END_TEST

/* A write cut by kill -9 or a power loss: the last record is incomplete. */
START_TEST(torn_last_record)
{
    mkdir_tmp();
    struct spool *s = open_sp(1 << 20);
    append_range(s, 0, 10, 100);
    spool_close(s);
    const char *p = seg_file(1);
    off_t full = file_size(p);
    ck_assert_int_eq(full, 10 * 124);
    /* cut 30 bytes of the last record's payload */
    ck_assert_int_eq(truncate(p, full - 30), 0);
    s = open_sp(1 << 20);
    struct spool_stats st;
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.found_at_open, 9);
    ck_assert_uint_eq(st.torn_bytes, 124 - 30);
    ck_assert_int_eq(file_size(p), 9 * 124); /* truncated on disk */
    ck_assert_uint_eq(spool_last_id(s).ms, 1008);
    /* appending continues right after the last good record */
    append_range(s, 9, 12, 100);
    expect_range(s, 0, 12, 100);
    spool_close(s);
    /* a torn header (fewer than 24 bytes) */
    int fd = open(p, O_WRONLY | O_APPEND);
    ck_assert_int_eq(write(fd, "OTS1\x05\x00", 6), 6);
    close(fd);
    s = open_sp(1 << 20);
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.found_at_open, 12);
    ck_assert_uint_eq(st.torn_bytes, 6);
    expect_range(s, 0, 12, 100);
    spool_close(s);
    rm_tmp();
}
END_TEST

/* A flipped bit in the last record's payload: the CRC catches it. */
START_TEST(corrupt_crc)
{
    mkdir_tmp();
    struct spool *s = open_sp(1 << 20);
    append_range(s, 0, 5, 40);
    spool_close(s);
    const char *p = seg_file(1);
    int fd = open(p, O_RDWR);
    char c;
    off_t at = 4 * 64 + SPOOL_REC_HDR + 3; /* 4th byte of record 4's payload */
    ck_assert_int_eq(pread(fd, &c, 1, at), 1);
    c ^= 0x20;
    ck_assert_int_eq(pwrite(fd, &c, 1, at), 1);
    /* and an impossible length in a second copy is checked below */
    close(fd);
    s = open_sp(1 << 20);
    struct spool_stats st;
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.found_at_open, 4);
    ck_assert_uint_eq(st.torn_bytes, 64);
    expect_range(s, 0, 4, 40);
    spool_close(s);
    /* bad magic in the middle: everything from there is cut */
    fd = open(p, O_RDWR);
    ck_assert_int_eq(pwrite(fd, "XXXX", 4, 2 * 64), 4);
    close(fd);
    s = open_sp(1 << 20);
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.found_at_open, 2);
    ck_assert_uint_eq(st.torn_bytes, 2 * 64);
    expect_range(s, 0, 2, 40);
    spool_close(s);
    rm_tmp();
}
END_TEST

START_TEST(full_spool_marker)
{
    mkdir_tmp();
    /* 10 records of 500+24 bytes fit in 5300 bytes, the 11th does not */
    struct spool *s = open_sp(5300);
    append_range(s, 0, 10, 500);
    char b[600];
    size_t n = payload(10, 500, b);
    ck_assert_int_eq(spool_append(s, (struct spool_id){1010, 0}, b, n), SPOOL_FULL);
    n = payload(11, 500, b);
    ck_assert_int_eq(spool_append(s, (struct spool_id){1011, 0}, b, n), SPOOL_FULL);
    ck_assert_int_eq(spool_append(s, (struct spool_id){1012, 0}, b, n), SPOOL_FULL);
    struct spool_stats st;
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.dropped_full, 3);  /* every alert not kept is counted */
    ck_assert_uint_eq(st.full_episodes, 1); /* but logged and marked once */
    ck_assert_uint_eq(st.records, 11);      /* 10 alerts + the marker */
    /* the marker comes last, under the id of the first alert it replaced */
    struct spool_id id;
    const char *d;
    for (int i = 0; i < 11; i++)
        ck_assert_int_eq(spool_next(s, &id, &d, &n), 1);
    ck_assert_uint_eq(id.ms, 1010);
    ck_assert_int_eq(spool_next(s, &id, &d, &n), 0);
    char m[2048];
    ck_assert_uint_lt(n, sizeof(m));
    memcpy(m, d, n);
    m[n] = '\0';
    ck_assert_ptr_nonnull(strstr(m, "\"rule\":{\"id\":\"sensor.spool_full\""));
    ck_assert_ptr_nonnull(
        strstr(m, "\"event\":{\"kind\":\"alert\",\"dataset\":\"otsensor.alert\""));
    ck_assert_ptr_nonnull(strstr(m, "\"observer\":{\"name\":\"s1\",\"type\":\"sensor\"}"));
    ck_assert_ptr_nonnull(strstr(m, "\"max_bytes\":5300"));
    ck_assert_int_eq(m[0], '{');
    ck_assert_int_eq(m[n - 1], '}');
    /* Redis took everything: trimming ends the episode; a new one marks again */
    spool_trim(s, (struct spool_id){1010, 0});
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 0);
    ck_assert_uint_eq(st.bytes, 0);
    append_range(s, 20, 30, 500);
    n = payload(30, 500, b);
    ck_assert_int_eq(spool_append(s, (struct spool_id){1030, 0}, b, n), SPOOL_FULL);
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.full_episodes, 2);
    ck_assert_uint_eq(st.dropped_full, 4);
    spool_close(s);
    rm_tmp();
}
END_TEST

START_TEST(trim_segments)
{
    mkdir_tmp();
    /* 4 MiB cap: 512 KiB segments; 2000 records of 1024 bytes span 4 of them */
    struct spool *s = open_sp(4u << 20);
    append_range(s, 0, 2000, 1000);
    spool_sync(s, 1000000);
    ck_assert_int_eq(seg_count(), 4);
    struct spool_stats st;
    spool_get_stats(s, &st);
    uint64_t before = st.bytes;
    ck_assert_uint_eq(before, 2000 * 1024);
    /* records up to 1000+1000 are in Redis: the segments wholly before go */
    spool_trim(s, (struct spool_id){1000 + 1000, 0});
    ck_assert_int_eq(seg_count(), 3);
    spool_get_stats(s, &st);
    ck_assert_uint_lt(st.bytes, before);
    /* after a rewind the first record is the first of the oldest segment left;
     * everything after 1000 is still there */
    spool_rewind(s);
    struct spool_id id;
    const char *d;
    size_t n;
    ck_assert_int_eq(spool_next(s, &id, &d, &n), 1);
    ck_assert_uint_eq(id.ms, 1000 + 512); /* 512 records per segment */
    expect_range(s, 513, 2000, 1000);
    /* an id between records keeps the segment that holds a later one (1535) */
    spool_trim(s, (struct spool_id){1000 + 1534, 7});
    ck_assert_int_eq(seg_count(), 2);
    /* everything: the write segment is replaced by an empty one */
    spool_trim(s, (struct spool_id){1000 + 1999, 0});
    ck_assert_int_eq(seg_count(), 1);
    spool_get_stats(s, &st);
    ck_assert_uint_eq(st.records, 0);
    ck_assert_uint_eq(spool_last_id(s).ms, 2999); /* remembered after the trim */
    spool_close(s);
    /* reopened empty, the last id is still known (from the lock file) */
    s = open_sp(4u << 20);
    ck_assert_uint_eq(spool_last_id(s).ms, 2999);
    append_range(s, 2000, 2010, 1000);
    spool_rewind(s);
    expect_range(s, 2000, 2010, 1000);
    spool_close(s);
    s = open_sp(4u << 20);
    expect_range(s, 2000, 2010, 1000);
    spool_close(s);
    rm_tmp();
}
END_TEST

START_TEST(oversized_and_fsync_always)
{
    mkdir_tmp();
    struct spool *s = spool_open(dir, 8u << 20, SPOOL_FSYNC_ALWAYS, "s1", err, sizeof(err));
    ck_assert_ptr_nonnull(s);
    static char big[SPOOL_MAX_PAYLOAD + 1];
    memset(big, 'a', sizeof(big));
    ck_assert_int_eq(spool_append(s, (struct spool_id){1, 0}, big, sizeof(big)), SPOOL_ERR);
    /* the largest payload is fine, and already on disk without a sync call */
    ck_assert_int_eq(spool_append(s, (struct spool_id){2, 0}, big, SPOOL_MAX_PAYLOAD), SPOOL_OK);
    ck_assert_int_eq(file_size(seg_file(1)), SPOOL_REC_HDR + SPOOL_MAX_PAYLOAD);
    spool_close(s);
    /* a directory that cannot be made */
    ck_assert_ptr_null(
        spool_open("/proc/ots/spool", 1 << 20, SPOOL_FSYNC_NEVER, "s", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "cannot create"));
    rm_tmp();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("spool");
    TCase *t = tcase_create("core");
    tcase_add_test(t, crc32_vector);
    tcase_add_test(t, reopen_in_order);
    tcase_add_test(t, torn_last_record);
    tcase_add_test(t, corrupt_crc);
    tcase_add_test(t, full_spool_marker);
    tcase_add_test(t, trim_segments);
    tcase_add_test(t, oversized_and_fsync_always);
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
