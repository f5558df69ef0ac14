/* test_config.c - configuration defaults, the key = value file, errors, validation,
 * and the shipped example deploy/otsensor.conf. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static struct config cfg;
static char err[1024];
static char path[256];

/* Writes text to a fresh temp file; returns its path. */
static const char *tmpconf(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/ots_test_config_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads text over the defaults; returns config_load's result, err holds the message. */
static int load(const char *text)
{
    config_defaults(&cfg);
    err[0] = '\0';
    int rc = config_load(&cfg, tmpconf(text), err, sizeof(err));
    unlink(path);
    return rc;
}

/* err must be "<tmp path>:line:col: " followed by msg. */
static void want_err(int line, int col, const char *msg)
{
    char want[1024];
    snprintf(want, sizeof(want), "%s:%d:%d: %s", path, line, col, msg);
    ck_assert_str_eq(err, want);
}

START_TEST(defaults)
{
    config_defaults(&cfg);
    ck_assert_int_eq(cfg.snaplen, 65535);
    ck_assert_int_eq(cfg.buffer_mb, 64);
    ck_assert_int_eq(cfg.promiscuous, 1);
    ck_assert_str_eq(cfg.bpf, "");
    ck_assert_int_ge(cfg.workers, 1);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq(cfg.workers, cpus > 1 ? cpus - 1 : 1);
    ck_assert_int_eq(cfg.ring_mb, 16);
    ck_assert_int_eq(cfg.output_ring_mb, 8);
    ck_assert_uint_eq(cfg.max_flows, 262144);
    ck_assert_uint_eq(cfg.timeout_tcp_new, 30);
    ck_assert_uint_eq(cfg.timeout_tcp_established, 3600);
    ck_assert_uint_eq(cfg.timeout_tcp_closed, 10);
    ck_assert_uint_eq(cfg.timeout_udp, 120);
    ck_assert_uint_eq(cfg.timeout_other, 60);
    ck_assert_uint_eq(cfg.reasm_per_dir_max, 262144);
    ck_assert_uint_eq(cfg.reasm_max_segments, 512);
    ck_assert_uint_eq(cfg.reasm_global_max, 268435456ull);
    ck_assert_uint_eq(cfg.reasm_history, 256);
    ck_assert_uint_eq(cfg.stream_buffer_max, 262144);
    ck_assert_uint_eq(cfg.frag_max_datagrams, 4096);
    ck_assert_uint_eq(cfg.frag_max_bytes, 16777216);
    ck_assert_uint_eq(cfg.frag_timeout, 30);
    ck_assert_uint_eq(cfg.ndpi_max_packets, 32);
    ck_assert_int_eq(cfg.ndpi_enabled, 1);
    ck_assert_uint_eq(cfg.stats_interval, 0);
    ck_assert_int_eq(cfg.flow_events, 1);
    ck_assert_uint_gt(strlen(cfg.sensor_name), 0);
    ck_assert_str_eq(cfg.redis_url, "redis://127.0.0.1:6379");
    ck_assert_str_eq(cfg.spool_dir, "/var/lib/otsensor/spool");
    ck_assert_str_eq(cfg.redis_password_file, "");
    ck_assert_str_eq(cfg.redis_prefix, "otsensor");
    ck_assert_int_eq(cfg.redis_stream, 1);
    ck_assert_int_eq(cfg.redis_list, 0);
    ck_assert_int_eq(cfg.redis_channel, 0);
    ck_assert_uint_eq(cfg.redis_stream_maxlen, 1000000);
    ck_assert_uint_eq(cfg.redis_batch, 512);
    ck_assert_uint_eq(cfg.redis_flush_ms, 5);
    ck_assert_uint_eq(cfg.redis_connect_timeout_ms, 1000);
    ck_assert_uint_eq(cfg.redis_timeout_ms, 2000);
    ck_assert_uint_eq(cfg.redis_backoff_max_ms, 30000);
    ck_assert_uint_eq(cfg.redis_heartbeat_interval, 5);
    ck_assert_uint_eq(cfg.redis_keep_ms, 10000);
    ck_assert_uint_eq(cfg.spool_max_mb, 1024);
    ck_assert_str_eq(cfg.spool_fsync, "batch");
    ck_assert_uint_eq(cfg.aggregate_window, 60);
    ck_assert_uint_eq(cfg.aggregate_max, 10000);
    ck_assert_uint_eq(cfg.diss.dnp3_select_timeout_ms, 10000);
    ck_assert_int_eq(cfg.diss.dnp3_require_sa, 0);
    ck_assert_uint_eq(cfg.diss.dnp3_learning, 3600);
    ck_assert_uint_eq(cfg.diss.iec104_sweep_ioas, 10);
    ck_assert_uint_eq(cfg.diss.iec104_sweep_window_ms, 60000);
    ck_assert_uint_eq(cfg.diss.s7p_download_min_bytes, 1024);
    /* the detectors' keys land in the settings the worker hands its dissectors */
    ck_assert_int_eq(config_set(&cfg, "dnp3.require_sa", "yes", err, sizeof(err)), 0);
    ck_assert_int_eq(cfg.diss.dnp3_require_sa, 1);
    ck_assert_int_eq(config_set(&cfg, "iec104.sweep_ioas", "65", err, sizeof(err)), -1);
    ck_assert_int_eq(config_set(&cfg, "iec104.sweep_ioas", "64", err, sizeof(err)), 0);
    ck_assert_uint_eq(cfg.diss.iec104_sweep_ioas, 64);
    config_defaults(&cfg);
    ck_assert_str_eq(cfg.events_path, "");
    ck_assert_int_eq(cfg.n_read_files, 0);
    ck_assert_int_eq(cfg.n_interfaces, 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
}
END_TEST

START_TEST(every_kind)
{
    ck_assert_int_eq(load("snaplen = 1500\n"                        /* int */
                          "flow.max_flows = 100000000\n"            /* u32 at its max */
                          "reassembly.worker_max = 1099511627776\n" /* u64 at its max */
                          "reassembly.history = 0\n"                /* u32 at its min */
                          "promiscuous = no\n"                      /* bool */
                          "ndpi.enabled = false\n"
                          "flow.events = 0\n"
                          "bpf = tcp port 502\n" /* string with spaces */
                          "events = /tmp/ev.json\n"),
                     0);
    ck_assert_int_eq(cfg.snaplen, 1500);
    ck_assert_uint_eq(cfg.max_flows, 100000000);
    ck_assert_uint_eq(cfg.reasm_global_max, 1ull << 40);
    ck_assert_uint_eq(cfg.reasm_history, 0);
    ck_assert_int_eq(cfg.promiscuous, 0);
    ck_assert_int_eq(cfg.ndpi_enabled, 0);
    ck_assert_int_eq(cfg.flow_events, 0);
    ck_assert_str_eq(cfg.bpf, "tcp port 502");
    ck_assert_str_eq(cfg.events_path, "/tmp/ev.json");
    ck_assert_uint_eq(cfg.timeout_udp, 120); /* untouched keys keep their defaults */
    ck_assert_int_eq(load("promiscuous = yes\nndpi.enabled = true\nflow.events = 1\n"), 0);
    ck_assert_int_eq(cfg.promiscuous, 1);
    ck_assert_int_eq(cfg.ndpi_enabled, 1);
    ck_assert_int_eq(cfg.flow_events, 1);
    ck_assert_str_eq(cfg.config_path, path);
    /* config_set directly, as the command line does */
    config_defaults(&cfg);
    ck_assert_int_eq(config_set(&cfg, "workers", "3", err, sizeof(err)), 0);
    ck_assert_int_eq(cfg.workers, 3);
    ck_assert_int_eq(config_set(&cfg, "workers", "0", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "'workers' wants a whole number from 1 to 256, not '0'");
    ck_assert_int_eq(cfg.workers, 3); /* a refused value changes nothing */
}
END_TEST

START_TEST(comments_blank_quotes)
{
    ck_assert_int_eq(load("# a comment\n"
                          "\n"
                          "   \t\n"
                          "  # indented comment\n"
                          "  snaplen\t=\t  2000   \r\n"    /* spaces, tabs, CRLF */
                          "sensor_name = \"plant # 1 \"\n" /* quotes keep '#', spaces */
                          "bpf = udp # trailing comment\n" /* unquoted: " #" ends it */
                          "events = \"\"\n"                /* quoted empty */
                          "stats = a=b\n"),                /* '=' in a value */
                     0);
    ck_assert_int_eq(cfg.snaplen, 2000);
    ck_assert_str_eq(cfg.sensor_name, "plant # 1 ");
    ck_assert_str_eq(cfg.bpf, "udp");
    ck_assert_str_eq(cfg.events_path, "");
    ck_assert_str_eq(cfg.stats_path, "a=b");
    /* a file with no newline at the end */
    ck_assert_int_eq(load("snaplen = 3000"), 0);
    ck_assert_int_eq(cfg.snaplen, 3000);
    /* an empty file */
    ck_assert_int_eq(load(""), 0);
    ck_assert_int_eq(cfg.snaplen, 65535);
}
END_TEST

START_TEST(errors_with_position)
{
    /* unknown key: column of the key */
    ck_assert_int_eq(load("# x\n  bogus = 1\n"), -1);
    want_err(2, 3, "unknown key 'bogus'");
    /* out of range, both ends: column of the value */
    ck_assert_int_eq(load("snaplen = 63\n"), -1);
    want_err(1, 11, "'snaplen' wants a whole number from 64 to 262144, not '63'");
    ck_assert_int_eq(load("snaplen = 262145\n"), -1);
    want_err(1, 11, "'snaplen' wants a whole number from 64 to 262144, not '262145'");
    ck_assert_int_eq(load("\n\nipfrag.timeout =   0\n"), -1);
    want_err(3, 20, "'ipfrag.timeout' wants a whole number from 1 to 3600, not '0'");
    /* not numbers */
    ck_assert_int_eq(load("snaplen = -5\n"), -1);
    want_err(1, 11, "'snaplen' wants a whole number from 64 to 262144, not '-5'");
    ck_assert_int_eq(load("snaplen = 100x\n"), -1);
    want_err(1, 11, "'snaplen' wants a whole number from 64 to 262144, not '100x'");
    ck_assert_int_eq(load("snaplen = \n"), -1); /* nothing: the column after the line */
    want_err(1, 10, "'snaplen' wants a whole number from 64 to 262144, not ''");
    ck_assert_int_eq(load("snaplen = 0x100\n"), -1);
    want_err(1, 11, "'snaplen' wants a whole number from 64 to 262144, not '0x100'");
    ck_assert_int_eq(load("reassembly.worker_max = 99999999999999999999999\n"), -1);
    want_err(1, 25,
             "'reassembly.worker_max' wants a whole number from 0 to 1099511627776, not "
             "'99999999999999999999999'");
    /* u32 keys cannot take a value that only fits 64 bits */
    ck_assert_int_eq(load("ipfrag.max_bytes = 4294967296\n"), -1);
    want_err(1, 20,
             "'ipfrag.max_bytes' wants a whole number from 65536 to 2147483648, not "
             "'4294967296'");
    /* bad boolean */
    ck_assert_int_eq(load("promiscuous = maybe\n"), -1);
    want_err(1, 15, "'promiscuous' wants yes or no, not 'maybe'");
    ck_assert_int_eq(load("promiscuous = YES\n"), -1);
    want_err(1, 15, "'promiscuous' wants yes or no, not 'YES'");
    /* no '=' */
    ck_assert_int_eq(load("snaplen = 100\nsnaplen 100\n"), -1);
    want_err(2, 1, "expected 'key = value'");
    /* string too long */
    char text[2000] = "sensor_name = ";
    memset(text + strlen(text), 'n', 128);
    ck_assert_int_eq(load(text), -1);
    want_err(1, 15, "value of 'sensor_name' is longer than 127 bytes");
    /* lines longer than the reader's buffer (2048): a comment is skipped whole, and
     * the next line keeps its number; anything else is refused */
    static char lng[4096];
    memset(lng, 0, sizeof(lng));
    strcpy(lng, "# ");
    memset(lng + 2, 'c', 3000);
    strcat(lng, "\nsnaplen = 100\nbogus = 1\n");
    ck_assert_int_eq(load(lng), -1);
    want_err(3, 1, "unknown key 'bogus'");
    ck_assert_int_eq(cfg.snaplen, 100);
    memset(lng, 0, sizeof(lng));
    strcpy(lng, "snaplen = 100\nbpf = ");
    memset(lng + strlen(lng), 'b', 3000);
    strcat(lng, "\n");
    ck_assert_int_eq(load(lng), -1);
    want_err(2, 1, "line longer than 2046 bytes");
    /* exactly filling the buffer at the end of the file is not too long */
    memset(lng, 0, sizeof(lng));
    strcpy(lng, "#");
    memset(lng + 1, 'c', 2046);
    ck_assert_int_eq(load(lng), 0);
    /* the first error stops the load; lines before it took effect */
    ck_assert_int_eq(load("snaplen = 100\nbogus = 1\nbuffer_mb = 2\n"), -1);
    ck_assert_int_eq(cfg.snaplen, 100);
    ck_assert_int_eq(cfg.buffer_mb, 64);
    /* a missing file names it */
    config_defaults(&cfg);
    ck_assert_int_eq(config_load(&cfg, "/nonexistent/ots.conf", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "/nonexistent/ots.conf: cannot open: No such file or directory");
}
END_TEST

START_TEST(validate)
{
    config_defaults(&cfg);
    ck_assert_int_eq(config_set(&cfg, "redis", "rediss://host:6380", err, sizeof(err)), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "rediss://"));
    ck_assert_int_eq(config_set(&cfg, "redis", "redis://host:6380/2", err, sizeof(err)), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&cfg, "redis", "none", err, sizeof(err)), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
    /* spool.fsync takes three words */
    ck_assert_int_eq(config_set(&cfg, "spool.fsync", "sometimes", err, sizeof(err)), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "'spool.fsync' wants always, batch or never, not 'sometimes'");
    ck_assert_int_eq(config_set(&cfg, "spool.fsync", "always", err, sizeof(err)), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
    /* at least one Redis mode */
    ck_assert_int_eq(config_set(&cfg, "redis.stream", "no", err, sizeof(err)), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no mode"));
    ck_assert_int_eq(config_set(&cfg, "redis.list", "yes", err, sizeof(err)), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
    ck_assert_int_eq(config_set(&cfg, "redis.prefix", "", err, sizeof(err)), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -1);
    config_defaults(&cfg);
    /* -r and -i together */
    cfg.read_files[cfg.n_read_files++] = "a.pcap";
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
    cfg.interfaces[cfg.n_interfaces++] = "eth0";
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "-r and -i cannot be combined");
    /* the file route to the same refusal */
    ck_assert_int_eq(load("redis = rediss://10.0.0.1\n"), 0);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -1);
}
END_TEST

/* Every key of config.c's keys[] table; table_matches_config_c fails when the two
 * differ, so a new key must be added here and (example_lists_every_key) to
 * deploy/otsensor.conf. */
static const char *all_keys[] = {
    "snaplen",
    "buffer_mb",
    "promiscuous",
    "bpf",
    "workers",
    "ring_mb",
    "output_ring_mb",
    "flow.max_flows",
    "flow.timeout.tcp_new",
    "flow.timeout.tcp_established",
    "flow.timeout.tcp_closed",
    "flow.timeout.udp",
    "flow.timeout.other",
    "flow.events",
    "reassembly.per_direction_max",
    "reassembly.max_segments",
    "reassembly.worker_max",
    "reassembly.history",
    "stream.buffer_max",
    "ipfrag.max_datagrams",
    "ipfrag.max_bytes",
    "ipfrag.timeout",
    "ndpi.enabled",
    "ndpi.max_packets",
    "dissectors",
    "sensor_name",
    "events",
    "stats",
    "stats_interval",
    "alerts",
    "redis",
    "spool",
    "redis.password_file",
    "redis.prefix",
    "redis.stream",
    "redis.list",
    "redis.channel",
    "redis.stream_maxlen",
    "redis.batch",
    "redis.flush_ms",
    "redis.connect_timeout_ms",
    "redis.timeout_ms",
    "redis.backoff_max_ms",
    "redis.heartbeat_interval",
    "redis.keep_ms",
    "spool.max_mb",
    "alerts.aggregate_window",
    "alerts.aggregate_max",
    "spool.fsync",
    "correlate.enabled",
    "correlate.scan_window",
    "correlate.scan_hosts",
    "correlate.scan_ports",
    "correlate.max_entries",
    "correlate.max_assets",
    "correlate.conduit_window",
    "correlate.asset_refresh",
    "correlate.syn_timeout_ms",
    "correlate.udp_timeout_ms",
    "correlate.learning_period",
    "correlate.goose_ttl_factor",
    "zones",
    "classification",
    "suppress",
    "yara",
    "yara.stream_max",
    "yara.stream_max_dissected",
    "yara.object_max",
    "yara.flow_budget",
    "yara.second_budget",
    "yara.encrypted",
    "yara.opcua_write_min",
    "yara.memory_max",
    "dnp3.select_timeout_ms",
    "dnp3.require_sa",
    "dnp3.outstation_learning_period",
    "iec104.sweep_ioas",
    "iec104.sweep_window_ms",
    "s7commplus.download_min_bytes",
};

static const char *example_path(void)
{
    static char p[4096];
    const char *root = getenv("OTS_SOURCE_DIR");
    snprintf(p, sizeof(p), "%s/deploy/otsensor.conf", root ? root : ".");
    return p;
}

/* The keys set or shown (commented out) in the example, one per "key =" line. */
static int example_has(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *p = l;
        if (*p == '#') p++;
        while (*p == ' ')
            p++;
        if (!strncmp(p, key, kl) && (p[kl] == ' ' || p[kl] == '=')) return 1;
    }
    return 0;
}

START_TEST(table_matches_config_c)
{
    /* every name is a key of config.c (config_set knows it)... */
    for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
        config_defaults(&cfg);
        int rc = config_set(&cfg, all_keys[i], "x", err, sizeof(err));
        ck_assert_msg(rc == 0 || strncmp(err, "unknown key", 11) != 0, "%s: %s", all_keys[i], err);
    }
    /* ...and config.c's keys[] table has no key this list lacks (the table is
     * static, so read its rows from the source) */
    const char *root = getenv("OTS_SOURCE_DIR");
    char p[4096];
    snprintf(p, sizeof(p), "%s/sensor/config.c", root ? root : ".");
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    int rows = 0, in_table = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strstr(line, "static const struct key keys[]"))
            in_table = 1;
        else if (in_table && !strncmp(line, "};", 2))
            break;
        else if (in_table && strstr(line, "{\"")) {
            rows++;
            char *q = strchr(line, '"') + 1;
            *strchr(q, '"') = '\0';
            int found = 0;
            for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++)
                found |= !strcmp(all_keys[i], q);
            ck_assert_msg(found, "key '%s' of config.c is not in this test's list", q);
        }
    }
    fclose(f);
    ck_assert_int_eq(rows, (int)(sizeof(all_keys) / sizeof(all_keys[0])));
}
END_TEST

START_TEST(example_parses_at_defaults)
{
    struct config def;
    config_defaults(&def);
    config_defaults(&cfg);
    int rc = config_load(&cfg, example_path(), err, sizeof(err));
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
    /* every value in the example is the default: the loaded config equals it */
    memcpy(def.config_path, cfg.config_path, sizeof(def.config_path));
    ck_assert_msg(memcmp(&def, &cfg, sizeof(cfg)) == 0, "a value in %s is not its default",
                  example_path());
}
END_TEST

START_TEST(example_lists_every_key)
{
    FILE *f = fopen(example_path(), "r");
    ck_assert_ptr_nonnull(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++)
        ck_assert_msg(example_has(text, all_keys[i]), "%s lacks key '%s'", example_path(),
                      all_keys[i]);
    /* each key line has a comment line above it */
    for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
        if (*l != '#' && *l != '\n' && l > text) {
            const char *prev = l - 1; /* the '\n' ending the previous line */
            while (prev > text && prev[-1] != '\n')
                prev--;
            ck_assert_msg(*prev == '#', "no comment above: %.40s", l);
        }
        if (!strchr(l, '\n')) break;
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("core");
    tcase_add_test(t, defaults);
    tcase_add_test(t, every_kind);
    tcase_add_test(t, comments_blank_quotes);
    tcase_add_test(t, errors_with_position);
    tcase_add_test(t, validate);
    tcase_add_test(t, table_matches_config_c);
    tcase_add_test(t, example_parses_at_defaults);
    tcase_add_test(t, example_lists_every_key);
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
