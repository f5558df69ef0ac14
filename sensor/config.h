/* config.h - the sensor's configuration: defaults, the config file, and checks. */
#ifndef OTS_CONFIG_H
#define OTS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diss_params.h"

#define CONFIG_MAX_SOURCES    8
#define CONFIG_MAX_RULE_PATHS 16

struct config {
    /* sources */
    const char *read_files[CONFIG_MAX_SOURCES];
    int n_read_files;
    const char *interfaces[CONFIG_MAX_SOURCES];
    int n_interfaces;
    char bpf[1024];
    int snaplen;
    int buffer_mb;
    int promiscuous;
    /* threads and queues */
    int workers;
    int ring_mb;        /* packet ring per (source, worker) */
    int output_ring_mb; /* event ring per worker */
    /* flows */
    uint32_t max_flows; /* per worker */
    uint32_t timeout_tcp_new, timeout_tcp_established, timeout_tcp_closed;
    uint32_t timeout_udp, timeout_other; /* seconds */
    /* reassembly */
    uint32_t reasm_per_dir_max, reasm_max_segments, reasm_history;
    uint64_t reasm_global_max;
    uint32_t stream_buffer_max; /* dissector-side buffer per direction */
    /* fragments */
    uint32_t frag_max_datagrams, frag_max_bytes, frag_timeout;
    /* nDPI */
    uint32_t ndpi_max_packets;
    char dissectors[512];    /* "all", or a comma list of dissector names */
    uint32_t dissector_mask; /* bit per dissector id, from `dissectors` */
    int ndpi_enabled;
    /* outputs */
    char sensor_name[128];
    char events_path[1024];
    char stats_path[1024];
    char alerts_path[1024];
    char redis_url[1024];
    char spool_dir[1024];
    uint32_t stats_interval;
    int flow_events; /* flow.new / flow.end in --events */
    /* Redis output and alert spool (docs/redis.md) */
    char redis_password_file[1024];
    char redis_prefix[64];
    int redis_stream, redis_list, redis_channel; /* modes */
    uint32_t redis_stream_maxlen;                /* XADD MAXLEN ~ N; 0: no trimming */
    uint32_t redis_batch;                        /* alerts per pipelined batch */
    uint32_t redis_flush_ms;                     /* longest wait before a batch is sent */
    uint32_t redis_connect_timeout_ms, redis_timeout_ms, redis_backoff_max_ms;
    uint32_t redis_heartbeat_interval; /* seconds; 0: no heartbeat hash */
    uint32_t redis_keep_ms;            /* confirmed alerts kept in the spool this long */
    uint32_t spool_max_mb;
    char spool_fsync[16]; /* always | batch | never */
    /* correlation stage: assets, scans, conduits (docs/events.md) */
    int corr_enabled;
    uint32_t corr_scan_window, corr_scan_hosts, corr_scan_ports; /* seconds, counts */
    uint32_t corr_max_entries, corr_max_assets;                  /* table caps */
    uint32_t corr_conduit_window, corr_asset_refresh;            /* seconds */
    uint32_t corr_syn_timeout_ms, corr_udp_timeout_ms;
    uint32_t corr_learning, corr_goose_ttl_factor; /* seconds; multiple of the TTL */
    /* alert aggregation (sensor/aggregate.h) */
    uint32_t aggregate_window; /* seconds; 0: off */
    uint32_t aggregate_max;    /* open windows at most */
    /* rules (later issues) */
    const char *rule_paths[CONFIG_MAX_RULE_PATHS];
    int n_rule_paths;
    char zones_path[1024];
    char classification_path[1024];
    char suppress_path[1024];
    char yara_path[1024];
    uint32_t yara_stream_max, yara_object_max;     /* bytes scanned per direction / object */
    uint32_t yara_stream_max_dissected;            /* the same for flows a dissector reads */
    uint64_t yara_flow_budget, yara_second_budget; /* bytes scanned per flow / per second */
    int yara_encrypted;                            /* also scan stream windows of encrypted flows */
    uint32_t yara_opcua_write_min;                 /* OPC UA Write values scanned from this size */
    uint64_t yara_memory_max;                      /* stream window bytes per worker; 0: no cap */
    struct diss_params diss; /* detectors inside dissectors (dnp3.*, iec104.*, s7commplus.*) */
    char config_path[1024];
};

void config_defaults(struct config *c);
/* Reads "key = value" lines. On error fills err ("file:line:col: message") and
 * returns -1. Keys already set on the command line win (see main.c). */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
/* Sets one key from text (shared by the file parser and tests). Returns 0, or -1
 * with a message in err. */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen);
/* Cross-field checks after everything is read. */
int config_validate(const struct config *c, char *err, size_t errlen);

#endif
