/* config.c - defaults and the "key = value" configuration file. */
#include "config.h"

#include "dissector.h"
#include "redis_url.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->snaplen = 65535;
    c->buffer_mb = 64;
    c->promiscuous = 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = cpus > 1 ? (int)cpus - 1 : 1;
    c->ring_mb = 16;
    c->output_ring_mb = 8;
    c->max_flows = 262144;
    c->timeout_tcp_new = 30;
    c->timeout_tcp_established = 3600;
    c->timeout_tcp_closed = 10;
    c->timeout_udp = 120;
    c->timeout_other = 60;
    c->reasm_per_dir_max = 256 * 1024;
    c->reasm_max_segments = 512;
    c->reasm_global_max = 256ull * 1024 * 1024;
    c->reasm_history = 256;
    c->stream_buffer_max = 256 * 1024;
    c->frag_max_datagrams = 4096;
    c->frag_max_bytes = 16 * 1024 * 1024;
    c->frag_timeout = 30;
    c->ndpi_max_packets = 32;
    c->ndpi_enabled = 1;
    strcpy(c->dissectors, "all");
    c->dissector_mask = 0xffffffffu;
    c->stats_interval = 0;
    c->flow_events = 1;
    if (gethostname(c->sensor_name, sizeof(c->sensor_name) - 1) != 0 || !c->sensor_name[0])
        strcpy(c->sensor_name, "sensor");
    strcpy(c->redis_url, "redis://127.0.0.1:6379");
    strcpy(c->spool_dir, "/var/lib/otsensor/spool");
    strcpy(c->redis_prefix, "otsensor");
    c->redis_stream = 1;
    c->redis_stream_maxlen = 1000000;
    c->redis_batch = 512;
    c->redis_flush_ms = 5;
    c->redis_connect_timeout_ms = 1000;
    c->redis_timeout_ms = 2000;
    c->redis_backoff_max_ms = 30000;
    c->redis_heartbeat_interval = 5;
    c->redis_keep_ms = 10000;
    c->spool_max_mb = 1024;
    strcpy(c->spool_fsync, "batch");
    c->corr_enabled = 1;
    c->corr_scan_window = 60;
    c->corr_scan_hosts = 20;
    c->corr_scan_ports = 20;
    c->corr_max_entries = 65536;
    c->corr_max_assets = 65536;
    c->corr_conduit_window = 300;
    c->corr_asset_refresh = 60;
    c->corr_syn_timeout_ms = 3000;
    c->corr_udp_timeout_ms = 3000;
    c->corr_learning = 0;
    c->corr_goose_ttl_factor = 2;
    c->aggregate_window = 60;
    c->aggregate_max = 10000;
    c->yara_stream_max = 64 * 1024;
    c->yara_stream_max_dissected = 8 * 1024;
    c->yara_object_max = 1024 * 1024;
    c->yara_flow_budget = 4ull * 1024 * 1024;
    c->yara_second_budget = 64ull * 1024 * 1024;
    c->yara_opcua_write_min = 1024;
    c->yara_memory_max = 256ull << 20;
    diss_params_defaults(&c->diss);
}

enum kind { K_INT, K_U32, K_U64, K_BOOL, K_STR };

struct key {
    const char *name;
    enum kind kind;
    size_t off;
    size_t size; /* K_STR: buffer size */
    uint64_t min, max;
};

#define F(field) offsetof(struct config, field)
static const struct key keys[] = {
    {"snaplen", K_INT, F(snaplen), 0, 64, 262144},
    {"buffer_mb", K_INT, F(buffer_mb), 0, 1, 65536},
    {"promiscuous", K_BOOL, F(promiscuous), 0, 0, 1},
    {"bpf", K_STR, F(bpf), sizeof(((struct config *)0)->bpf), 0, 0},
    {"workers", K_INT, F(workers), 0, 1, 256},
    {"ring_mb", K_INT, F(ring_mb), 0, 1, 4096},
    {"output_ring_mb", K_INT, F(output_ring_mb), 0, 1, 4096},
    {"flow.max_flows", K_U32, F(max_flows), 0, 1024, 100000000},
    {"flow.timeout.tcp_new", K_U32, F(timeout_tcp_new), 0, 1, 4000000000u},
    {"flow.timeout.tcp_established", K_U32, F(timeout_tcp_established), 0, 1, 4000000000u},
    {"flow.timeout.tcp_closed", K_U32, F(timeout_tcp_closed), 0, 1, 4000000000u},
    {"flow.timeout.udp", K_U32, F(timeout_udp), 0, 1, 4000000000u},
    {"flow.timeout.other", K_U32, F(timeout_other), 0, 1, 4000000000u},
    {"flow.events", K_BOOL, F(flow_events), 0, 0, 1},
    {"reassembly.per_direction_max", K_U32, F(reasm_per_dir_max), 0, 0, 1u << 30},
    {"reassembly.max_segments", K_U32, F(reasm_max_segments), 0, 1, 1u << 20},
    {"reassembly.worker_max", K_U64, F(reasm_global_max), 0, 0, 1ull << 40},
    {"reassembly.history", K_U32, F(reasm_history), 0, 0, 65536},
    {"stream.buffer_max", K_U32, F(stream_buffer_max), 0, 1024, 1u << 26},
    {"ipfrag.max_datagrams", K_U32, F(frag_max_datagrams), 0, 1, 1u << 24},
    {"ipfrag.max_bytes", K_U32, F(frag_max_bytes), 0, 65536, 1u << 31},
    {"ipfrag.timeout", K_U32, F(frag_timeout), 0, 1, 3600},
    {"ndpi.enabled", K_BOOL, F(ndpi_enabled), 0, 0, 1},
    {"dissectors", K_STR, F(dissectors), sizeof(((struct config *)0)->dissectors), 0, 0},
    {"ndpi.max_packets", K_U32, F(ndpi_max_packets), 0, 1, 1000},
    {"sensor_name", K_STR, F(sensor_name), sizeof(((struct config *)0)->sensor_name), 0, 0},
    {"events", K_STR, F(events_path), sizeof(((struct config *)0)->events_path), 0, 0},
    {"stats", K_STR, F(stats_path), sizeof(((struct config *)0)->stats_path), 0, 0},
    {"stats_interval", K_U32, F(stats_interval), 0, 0, 86400},
    {"alerts", K_STR, F(alerts_path), sizeof(((struct config *)0)->alerts_path), 0, 0},
    {"redis", K_STR, F(redis_url), sizeof(((struct config *)0)->redis_url), 0, 0},
    {"spool", K_STR, F(spool_dir), sizeof(((struct config *)0)->spool_dir), 0, 0},
    {"redis.password_file", K_STR, F(redis_password_file),
     sizeof(((struct config *)0)->redis_password_file), 0, 0},
    {"redis.prefix", K_STR, F(redis_prefix), sizeof(((struct config *)0)->redis_prefix), 0, 0},
    {"redis.stream", K_BOOL, F(redis_stream), 0, 0, 1},
    {"redis.list", K_BOOL, F(redis_list), 0, 0, 1},
    {"redis.channel", K_BOOL, F(redis_channel), 0, 0, 1},
    {"redis.stream_maxlen", K_U32, F(redis_stream_maxlen), 0, 0, 4000000000u},
    {"redis.batch", K_U32, F(redis_batch), 0, 1, 100000},
    {"redis.flush_ms", K_U32, F(redis_flush_ms), 0, 0, 10000},
    {"redis.connect_timeout_ms", K_U32, F(redis_connect_timeout_ms), 0, 1, 600000},
    {"redis.timeout_ms", K_U32, F(redis_timeout_ms), 0, 1, 600000},
    {"redis.backoff_max_ms", K_U32, F(redis_backoff_max_ms), 0, 100, 3600000},
    {"redis.heartbeat_interval", K_U32, F(redis_heartbeat_interval), 0, 0, 3600},
    {"redis.keep_ms", K_U32, F(redis_keep_ms), 0, 0, 3600000},
    {"spool.max_mb", K_U32, F(spool_max_mb), 0, 1, 1048576},
    {"alerts.aggregate_window", K_U32, F(aggregate_window), 0, 0, 86400},
    {"alerts.aggregate_max", K_U32, F(aggregate_max), 0, 1, 1000000},
    {"spool.fsync", K_STR, F(spool_fsync), sizeof(((struct config *)0)->spool_fsync), 0, 0},
    {"correlate.enabled", K_BOOL, F(corr_enabled), 0, 0, 1},
    {"correlate.scan_window", K_U32, F(corr_scan_window), 0, 1, 86400},
    {"correlate.scan_hosts", K_U32, F(corr_scan_hosts), 0, 0, 1000000},
    {"correlate.scan_ports", K_U32, F(corr_scan_ports), 0, 0, 65536},
    {"correlate.max_entries", K_U32, F(corr_max_entries), 0, 16, 100000000},
    {"correlate.max_assets", K_U32, F(corr_max_assets), 0, 16, 100000000},
    {"correlate.conduit_window", K_U32, F(corr_conduit_window), 0, 1, 86400},
    {"correlate.asset_refresh", K_U32, F(corr_asset_refresh), 0, 0, 86400},
    {"correlate.syn_timeout_ms", K_U32, F(corr_syn_timeout_ms), 0, 1, 600000},
    {"correlate.udp_timeout_ms", K_U32, F(corr_udp_timeout_ms), 0, 1, 600000},
    {"correlate.learning_period", K_U32, F(corr_learning), 0, 0, 31536000},
    {"correlate.goose_ttl_factor", K_U32, F(corr_goose_ttl_factor), 0, 1, 100},
    {"zones", K_STR, F(zones_path), sizeof(((struct config *)0)->zones_path), 0, 0},
    {"classification", K_STR, F(classification_path),
     sizeof(((struct config *)0)->classification_path), 0, 0},
    {"suppress", K_STR, F(suppress_path), sizeof(((struct config *)0)->suppress_path), 0, 0},
    {"yara", K_STR, F(yara_path), sizeof(((struct config *)0)->yara_path), 0, 0},
    {"yara.stream_max", K_U32, F(yara_stream_max), 0, 0, 1u << 26},
    {"yara.stream_max_dissected", K_U32, F(yara_stream_max_dissected), 0, 0, 1u << 26},
    {"yara.object_max", K_U32, F(yara_object_max), 0, 0, 1u << 28},
    {"yara.flow_budget", K_U64, F(yara_flow_budget), 0, 0, 1ull << 40},
    {"yara.second_budget", K_U64, F(yara_second_budget), 0, 0, 1ull << 40},
    {"yara.encrypted", K_BOOL, F(yara_encrypted), 0, 0, 1},
    {"yara.opcua_write_min", K_U32, F(yara_opcua_write_min), 0, 1, 1u << 28},
    {"yara.memory_max", K_U64, F(yara_memory_max), 0, 0, 1ull << 40},
    {"dnp3.select_timeout_ms", K_U32, F(diss.dnp3_select_timeout_ms), 0, 1, 3600000},
    {"dnp3.require_sa", K_BOOL, F(diss.dnp3_require_sa), 0, 0, 1},
    {"dnp3.outstation_learning_period", K_U32, F(diss.dnp3_learning), 0, 0, 31536000},
    {"iec104.sweep_ioas", K_U32, F(diss.iec104_sweep_ioas), 0, 0, 64},
    {"iec104.sweep_window_ms", K_U32, F(diss.iec104_sweep_window_ms), 0, 1, 86400000},
    {"s7commplus.download_min_bytes", K_U32, F(diss.s7p_download_min_bytes), 0, 1, 1u << 24},
};
#undef F

static int parse_u64(const char *v, uint64_t *out)
{
    if (!isdigit((unsigned char)*v)) return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end) return -1;
    *out = x;
    return 0;
}

/* "all" or "modbus,dnp3,...": which dissectors may claim flows. */
static int set_dissectors(struct config *c, const char *value, char *err, size_t errlen)
{
    uint32_t mask = 0;
    if (!strcmp(value, "all")) {
        mask = 0xffffffffu;
    } else {
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", value);
        for (char *save = NULL, *n = strtok_r(buf, ", ", &save); n;
             n = strtok_r(NULL, ", ", &save)) {
            const struct dissector *d = dissector_by_name(n);
            if (!d) {
                snprintf(err, errlen, "'dissectors': no dissector named '%s'", n);
                return -1;
            }
            mask |= 1u << (d->id & 31);
        }
    }
    snprintf(c->dissectors, sizeof(c->dissectors), "%s", value);
    c->dissector_mask = mask;
    return 0;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct key *k = &keys[i];
        if (strcmp(k->name, key) != 0) continue;
        char *base = (char *)c + k->off;
        if (k->kind == K_STR) {
            if (strlen(value) >= k->size) {
                snprintf(err, errlen, "value of '%s' is longer than %zu bytes", key, k->size - 1);
                return -1;
            }
            if (!strcmp(key, "dissectors")) return set_dissectors(c, value, err, errlen);
            strcpy(base, value);
            return 0;
        }
        uint64_t x;
        if (k->kind == K_BOOL) {
            if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1"))
                x = 1;
            else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0"))
                x = 0;
            else {
                snprintf(err, errlen, "'%s' wants yes or no, not '%s'", key, value);
                return -1;
            }
        } else if (parse_u64(value, &x) != 0 || x < k->min || x > k->max) {
            snprintf(err, errlen, "'%s' wants a whole number from %llu to %llu, not '%s'", key,
                     (unsigned long long)k->min, (unsigned long long)k->max, value);
            return -1;
        }
        switch (k->kind) {
        case K_INT: *(int *)(void *)base = (int)x; break;
        case K_BOOL: *(int *)(void *)base = (int)x; break;
        case K_U32: *(uint32_t *)(void *)base = (uint32_t)x; break;
        case K_U64: *(uint64_t *)(void *)base = x; break;
        default: break;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown key '%s'", key);
    return -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    snprintf(c->config_path, sizeof(c->config_path), "%s", path);
    char line[2048];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        /* a line longer than the buffer: drop its rest rather than read it as a
         * line of its own (fine for a comment, an error otherwise) */
        int overlong = 0;
        size_t ll = strlen(line);
        if (ll == sizeof(line) - 1 && line[ll - 1] != '\n') {
            int ch = fgetc(f);
            overlong = ch != EOF && ch != '\n';
            while (ch != EOF && ch != '\n')
                ch = fgetc(f);
        }
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        if (overlong) {
            snprintf(err, errlen, "%s:%d:1: line longer than %zu bytes", path, lineno,
                     sizeof(line) - 2);
            rc = -1;
            break;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d:1: expected 'key = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        size_t col = (size_t)(value - line) + 1;
        /* a value may be quoted to keep spaces or a '#' */
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        } else {
            char *hash = strstr(value, " #");
            if (hash) *hash = '\0', value = trim(value);
        }
        char msg[512];
        if (config_set(c, key, value, msg, sizeof(msg)) != 0) {
            if (strncmp(msg, "unknown key", 11) == 0) col = (size_t)(key - line) + 1;
            snprintf(err, errlen, "%s:%d:%zu: %s", path, lineno, col, msg);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
    if (c->n_read_files && c->n_interfaces) {
        snprintf(err, errlen, "-r and -i cannot be combined");
        return -1;
    }
    if (!strncmp(c->redis_url, "rediss://", 9)) {
        snprintf(err, errlen,
                 "redis: TLS (rediss://) is not supported by hiredis 0.14; use a local stunnel "
                 "or a local replica (see docs/redis.md)");
        return -1;
    }
    struct redis_url u;
    if (redis_url_parse(c->redis_url, &u, err, errlen) != 0) return -1;
    if (strcmp(c->spool_fsync, "always") && strcmp(c->spool_fsync, "batch") &&
        strcmp(c->spool_fsync, "never")) {
        snprintf(err, errlen, "'spool.fsync' wants always, batch or never, not '%s'",
                 c->spool_fsync);
        return -1;
    }
    if (!c->redis_prefix[0]) {
        snprintf(err, errlen, "'redis.prefix' must not be empty");
        return -1;
    }
    if (!c->redis_stream && !c->redis_list && !c->redis_channel) {
        snprintf(err, errlen,
                 "redis: no mode on: set redis.stream, redis.list or "
                 "redis.channel to yes (or --redis none)");
        return -1;
    }
    return 0;
}
