/* main.c - command line, start-up checks, threads, signals, exit status. */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ndpi/ndpi_api.h>

#include "config.h"
#include "dissector.h"
#include "engine.h"
#include "log.h"
#include "rules.h"
#include "yara_scan.h"

static struct engine *g_engine;
static volatile sig_atomic_t g_reload;

static void usage(FILE *f)
{
    fputs("usage: otsensor [options]\n"
          "  -r, --read FILE         read a pcap or pcapng file (repeatable, in order)\n"
          "  -i, --interface IF      capture live (repeatable: a TAP's two feeds merge)\n"
          "  -c, --config FILE       configuration file (default /etc/otsensor/otsensor.conf)\n"
          "  -w, --workers N         worker threads (default: online CPUs - 1, at least 1)\n"
          "  -R, --rules PATH        rule file or directory of *.rules (repeatable)\n"
          "  -Z, --zones FILE        zone and conduit policy\n"
          "      --suppress FILE     suppression file (threshold.config style)\n"
          "  -Y, --yara PATH         YARA rule file or directory of *.yar\n"
          "      --redis URL         redis://[user:password@]host[:port][/db] | unix:/path | none\n"
          "      --alerts FILE|-     also write alerts as JSON lines\n"
          "      --events FILE|-     write every protocol event (one per PDU) as JSON lines\n"
          "      --stats FILE|-      write statistics as JSON (at exit, and every --stats-interval "
          "s)\n"
          "      --stats-interval S  seconds between statistics (0: only at exit)\n"
          "      --spool DIR         where alerts wait while Redis is unreachable\n"
          "      --sensor-name NAME  this sensor's name (default: hostname)\n"
          "  -f, --bpf EXPR          capture filter\n"
          "      --snaplen N         bytes captured per packet (live)\n"
          "      --buffer-mb N       kernel capture buffer in MiB (live)\n"
          "      --no-flow-events    leave flow.new/flow.end out of --events\n"
          "      --check             validate configuration, rules, zones and YARA rules; exit 0 "
          "or 1\n"
          "      --rule-profile      with -R and -r: run the capture and print per rule its "
          "checks,\n"
          "                          matches, alerts and matching time (with --check: no Redis)\n"
          "  -V, --version\n"
          "  -h, --help\n",
          f);
}

static void on_stop(int sig)
{
    (void)sig;
    if (g_engine) {
        atomic_store(&g_engine->stop, 1);
        sem_post(&g_engine->wake); /* async-signal-safe */
    }
}

static void on_hup(int sig)
{
    (void)sig;
    g_reload = 1;
    if (g_engine) sem_post(&g_engine->wake);
}

enum {
    OPT_REDIS = 256,
    OPT_ALERTS,
    OPT_EVENTS,
    OPT_STATS,
    OPT_STATS_INTERVAL,
    OPT_SPOOL,
    OPT_SENSOR_NAME,
    OPT_CHECK,
    OPT_SNAPLEN,
    OPT_BUFFER_MB,
    OPT_NO_FLOW_EVENTS,
    OPT_INJECT_ALERTS,
    OPT_SUPPRESS,
    OPT_RULE_PROFILE,
};

static const struct option long_opts[] = {
    {"read", required_argument, NULL, 'r'},
    {"interface", required_argument, NULL, 'i'},
    {"config", required_argument, NULL, 'c'},
    {"workers", required_argument, NULL, 'w'},
    {"rules", required_argument, NULL, 'R'},
    {"zones", required_argument, NULL, 'Z'},
    {"suppress", required_argument, NULL, OPT_SUPPRESS},
    {"yara", required_argument, NULL, 'Y'},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"alerts", required_argument, NULL, OPT_ALERTS},
    {"events", required_argument, NULL, OPT_EVENTS},
    {"stats", required_argument, NULL, OPT_STATS},
    {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"sensor-name", required_argument, NULL, OPT_SENSOR_NAME},
    {"bpf", required_argument, NULL, 'f'},
    {"snaplen", required_argument, NULL, OPT_SNAPLEN},
    {"buffer-mb", required_argument, NULL, OPT_BUFFER_MB},
    {"no-flow-events", no_argument, NULL, OPT_NO_FLOW_EVENTS},
    /* test only, not in --help: N synthetic alerts at start (tests/integration/test_redis.sh) */
    {"inject-alerts", required_argument, NULL, OPT_INJECT_ALERTS},
    {"check", no_argument, NULL, OPT_CHECK},
    {"rule-profile", no_argument, NULL, OPT_RULE_PROFILE},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Command-line settings are applied after the config file, so they win. */
struct cli_set {
    const char *key;
    const char *value;
};

static FILE *open_out(const char *path, const char *what)
{
    if (!strcmp(path, "-")) return stdout;
    FILE *f = fopen(path, "w");
    if (!f) log_error("%s: cannot open %s output: %s", path, what, strerror(errno));
    return f;
}

static int check_paths(const struct config *c)
{
    int bad = 0;
    for (int i = 0; i < c->n_rule_paths; i++)
        if (access(c->rule_paths[i], R_OK) != 0) {
            log_error("%s: cannot read rules: %s", c->rule_paths[i], strerror(errno));
            bad = 1;
        }
    if (c->zones_path[0] && access(c->zones_path, R_OK) != 0) {
        log_error("%s: cannot read zones: %s", c->zones_path, strerror(errno));
        bad = 1;
    }
    if (c->suppress_path[0] && access(c->suppress_path, R_OK) != 0) {
        log_error("%s: cannot read suppression file: %s", c->suppress_path, strerror(errno));
        bad = 1;
    }
    if (c->yara_path[0] && access(c->yara_path, R_OK) != 0) {
        log_error("%s: cannot read YARA rules: %s", c->yara_path, strerror(errno));
        bad = 1;
    }
    return bad;
}

/* The classification file: the configured one, else /etc/otsensor's, else the
 * one in the source tree beside the binary (build/otsensor -> rules/). */
static const char *find_classification(const struct config *c, char *buf, size_t len)
{
    if (c->classification_path[0]) return c->classification_path;
    if (access("/etc/otsensor/classification.config", R_OK) == 0)
        return "/etc/otsensor/classification.config";
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        const char *cands[] = {"/../rules/classification.config",
                               "/../share/otsensor/classification.config"};
        for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
            snprintf(buf, len, "%s%s", exe, cands[i]);
            if (access(buf, R_OK) == 0) return buf;
        }
    }
    return NULL;
}

/* Loads rules, classification and zones; prints every error. NULL on error or
 * when no rules are configured (*failed tells which). */
static struct ruleset *load_rules(const struct config *c, int *failed)
{
    *failed = 0;
    if (!c->n_rule_paths) return NULL;
    char cbuf[4096];
    const char *cls = find_classification(c, cbuf, sizeof(cbuf));
    if (!cls)
        log_warn("no classification.config found: rules without iec62443/iso27032 tags get "
                 "the fallback FR6/TC.HCK");
    static char err[64 * 1024];
    err[0] = '\0';
    struct ruleset_files files = {c->rule_paths, c->n_rule_paths, cls,
                                  c->zones_path[0] ? c->zones_path : NULL,
                                  c->suppress_path[0] ? c->suppress_path : NULL};
    struct ruleset *rs = ruleset_load_files(&files, err, sizeof(err));
    if (!rs) {
        *failed = 1;
        for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
            log_error("%s", line);
    }
    return rs;
}

/* Compiles the YARA rules (-Y); prints every error as file:line: message. NULL
 * on error or when none are configured (*failed tells which). */
static struct yara_set *load_yara(const struct config *c, int *failed)
{
    *failed = 0;
    if (!c->yara_path[0]) return NULL;
    static char err[16 * 1024];
    struct yara_set *ys = yara_set_load(c->yara_path, err, sizeof(err));
    if (!ys) {
        *failed = 1;
        for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
            log_error("%s", line);
    }
    return ys;
}

int main(int argc, char **argv)
{
    static struct config cfg;
    config_defaults(&cfg);
    /* a SIGHUP while rules load and sources open (seconds on a big rule set or a
     * sanitizer build) is remembered, not fatal: the main loop reloads once it runs */
    struct sigaction hup;
    memset(&hup, 0, sizeof(hup));
    hup.sa_handler = on_hup;
    sigaction(SIGHUP, &hup, NULL);
    struct cli_set sets[64];
    int nsets = 0, check_only = 0, rule_profile = 0;
    uint32_t inject_alerts = 0;
    const char *config_path = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "r:i:c:w:R:Z:Y:f:Vh", long_opts, NULL)) != -1) {
        const char *key = NULL;
        switch (opt) {
        case 'r':
            if (cfg.n_read_files >= CONFIG_MAX_SOURCES) {
                log_error("too many -r files (at most %d)", CONFIG_MAX_SOURCES);
                return 1;
            }
            cfg.read_files[cfg.n_read_files++] = optarg;
            break;
        case 'i':
            if (cfg.n_interfaces >= CONFIG_MAX_SOURCES) {
                log_error("too many -i interfaces (at most %d)", CONFIG_MAX_SOURCES);
                return 1;
            }
            cfg.interfaces[cfg.n_interfaces++] = optarg;
            break;
        case 'c': config_path = optarg; break;
        case 'w': key = "workers"; break;
        case 'R':
            if (cfg.n_rule_paths >= CONFIG_MAX_RULE_PATHS) {
                log_error("too many -R paths (at most %d)", CONFIG_MAX_RULE_PATHS);
                return 1;
            }
            cfg.rule_paths[cfg.n_rule_paths++] = optarg;
            break;
        case 'Z': key = "zones"; break;
        case OPT_SUPPRESS: key = "suppress"; break;
        case 'Y': key = "yara"; break;
        case 'f': key = "bpf"; break;
        case OPT_REDIS: key = "redis"; break;
        case OPT_ALERTS: key = "alerts"; break;
        case OPT_EVENTS: key = "events"; break;
        case OPT_STATS: key = "stats"; break;
        case OPT_STATS_INTERVAL: key = "stats_interval"; break;
        case OPT_SPOOL: key = "spool"; break;
        case OPT_SENSOR_NAME: key = "sensor_name"; break;
        case OPT_SNAPLEN: key = "snaplen"; break;
        case OPT_BUFFER_MB: key = "buffer_mb"; break;
        case OPT_NO_FLOW_EVENTS: sets[nsets++] = (struct cli_set){"flow.events", "no"}; break;
        case OPT_CHECK: check_only = 1; break;
        case OPT_RULE_PROFILE: rule_profile = 1; break;
        case OPT_INJECT_ALERTS: inject_alerts = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'V':
            printf("otsensor %s (libpcap: %s; nDPI %s)\n", OTS_VERSION, pcap_lib_version(),
                   ndpi_revision());
            return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
        if (key) {
            if (nsets >= (int)(sizeof(sets) / sizeof(sets[0]))) {
                log_error("too many options");
                return 1;
            }
            sets[nsets++] = (struct cli_set){key, optarg};
        }
    }
    if (optind < argc) {
        log_error("unexpected argument '%s' (see --help)", argv[optind]);
        return 1;
    }
    char err[1024];
    if (!config_path && access("/etc/otsensor/otsensor.conf", R_OK) == 0)
        config_path = "/etc/otsensor/otsensor.conf";
    if (config_path && config_load(&cfg, config_path, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return 1;
    }
    for (int i = 0; i < nsets; i++) {
        if (config_set(&cfg, sets[i].key, sets[i].value, err, sizeof(err)) != 0) {
            log_error("command line: %s", err);
            return 1;
        }
    }
    if (config_validate(&cfg, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return 1;
    }
    if (check_paths(&cfg)) return 1;
    int rules_failed;
    struct ruleset *rules = load_rules(&cfg, &rules_failed);
    if (rules_failed) return 1;
    if (rule_profile && (!rules || !cfg.n_read_files)) {
        log_error("--rule-profile needs rules (-R) and a capture (-r)");
        ruleset_free(rules);
        return 1;
    }
    if (cfg.yara_path[0] && yara_global_init() != 0) {
        log_error("libyara failed to initialise");
        ruleset_free(rules);
        return 1;
    }
    struct yara_set *yara = load_yara(&cfg, &rules_failed);
    if (rules_failed) {
        ruleset_free(rules);
        return 1;
    }
    /* a check with a capture (rule impact report) writes only where asked, never to Redis */
    if (check_only && rule_profile) snprintf(cfg.redis_url, sizeof(cfg.redis_url), "none");
    if (check_only && !rule_profile) {
        printf("otsensor: configuration OK%s%s; %d rules; %d YARA rules\n", config_path ? ": " : "",
               config_path ? config_path : " (defaults)", rules ? ruleset_count(rules) : 0,
               yara_set_count(yara));
        ruleset_free(rules);
        yara_set_free(yara);
        if (cfg.yara_path[0]) yara_global_fini();
        return 0;
    }
    if (!cfg.n_read_files && !cfg.n_interfaces) {
        log_error("nothing to read: give -r FILE or -i INTERFACE (see --help)");
        return 1;
    }
    static struct engine eng;
    eng.inject_alerts = inject_alerts;
    if (rule_profile) {
        pthread_mutex_init(&eng.rule_profile_lock, NULL);
        if (!(eng.rule_profile = rule_ctx_new(rules))) {
            log_error("out of memory");
            return 2;
        }
    }
    if (strcmp(cfg.redis_url, "none") != 0 && cfg.redis_url[0]) {
        /* opens and recovers the spool; connecting is the output thread's job */
        eng.redis = oredis_open(&cfg, err, sizeof(err));
        if (!eng.redis) {
            log_error("%s", err);
            return 1;
        }
    }

    eng.cfg = &cfg;
    eng.n_workers = cfg.workers;
    eng.start_wall_ms = wall_ms();
    sem_init(&eng.wake, 0, 0);
    atomic_init(&eng.stop, 0);
    atomic_init(&eng.capture_done, 0);
    atomic_init(&eng.capture_failed, 0);
    atomic_init(&eng.workers_ready, 0);
    atomic_init(&eng.proc_start_us, 0);
    atomic_init(&eng.proc_end_us, 0);
    atomic_init(&eng.ruleset, rules);
    atomic_init(&eng.rs_gen, 1);
    atomic_init(&eng.yara_set, yara);
    atomic_init(&eng.yara_count, yara_set_count(yara));
    g_engine = &eng;
    if (cfg.alerts_path[0] && !(eng.alerts_out = open_out(cfg.alerts_path, "alerts"))) return 1;

    if (cfg.events_path[0] && !(eng.events_out = open_out(cfg.events_path, "events"))) return 1;
    if (eng.events_out) setvbuf(eng.events_out, NULL, _IOFBF, 1 << 20);
    if (cfg.stats_path[0]) {
        snprintf(eng.stats_path, sizeof(eng.stats_path), "%s", cfg.stats_path);
        if (!(eng.stats_out = open_out(cfg.stats_path, "stats"))) return 1;
    }

    /* the correlation stage only runs for someone: its events go to --events, to
     * the rules (which -R may fill on SIGHUP) and its asset hashes to Redis */
    int corr_read = eng.events_out || cfg.n_rule_paths > 0 || eng.redis;
    eng.workers = calloc((size_t)eng.n_workers, sizeof(struct worker));
    if (!eng.workers || (cfg.corr_enabled && corr_read && !(eng.corr = corr_out_new(&eng)))) {
        log_error("out of memory");
        return 2;
    }
    if (capture_open_all(&eng, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return 2;
    }
    for (int i = 0; i < eng.n_workers; i++) {
        struct worker *w = &eng.workers[i];
        w->eng = &eng;
        w->id = i;
        w->n_in = eng.n_sources;
        w->in = calloc((size_t)eng.n_sources, sizeof(struct ring *));
        if (!w->in || worker_start(w) != 0) {
            log_error("worker %d: cannot start (out of memory, or nDPI failed to load)", i);
            return 2;
        }
        for (int s = 0; s < eng.n_sources; s++)
            w->in[s] = &eng.sources[s].rings[i];
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_create(&eng.output_thread, NULL, output_main, &eng);
    for (int i = 0; i < eng.n_workers; i++)
        pthread_create(&eng.workers[i].thread, NULL, worker_main, &eng.workers[i]);
    for (int s = 0; s < eng.n_sources; s++)
        pthread_create(&eng.sources[s].thread, NULL, capture_main, &eng.sources[s]);

    struct ruleset *retired = NULL;
    struct yara_set *retired_yara = NULL;
    int pending = 0; /* a replaced set waits until every worker has switched */
    for (;;) {
        int done = 1;
        for (int s = 0; s < eng.n_sources; s++)
            if (!atomic_load(&eng.sources[s].done)) done = 0;
        if (done) break;
        if (atomic_load(&eng.stop) && eng.live)
            for (int s = 0; s < eng.n_sources; s++)
                pcap_breakloop(eng.sources[s].pcap);
        if (pending) {
            /* free the replaced rule set once every worker uses the new one */
            unsigned gen = atomic_load(&eng.rs_gen);
            int all = 1;
            for (int i = 0; i < eng.n_workers; i++)
                if (atomic_load(&eng.workers[i].rs_gen_seen) != gen &&
                    !atomic_load(&eng.workers[i].done))
                    all = 0;
            if (eng.corr && atomic_load(&eng.corr_rs_gen_seen) != gen) all = 0;
            if (all) {
                ruleset_free(retired);
                yara_set_free(retired_yara);
                retired = NULL;
                retired_yara = NULL;
                pending = 0;
            }
        }
        if (g_reload && !pending) {
            g_reload = 0;
            int failed, yfailed = 0;
            struct ruleset *fresh = load_rules(&cfg, &failed);
            struct yara_set *fresh_yara = failed ? NULL : load_yara(&cfg, &yfailed);
            if (failed || yfailed) {
                ruleset_free(fresh);
                log_error("SIGHUP: reload failed; the running rules stay in force");
            } else {
                retired = atomic_exchange(&eng.ruleset, fresh);
                retired_yara = atomic_exchange(&eng.yara_set, fresh_yara);
                atomic_store(&eng.yara_count, yara_set_count(fresh_yara));
                atomic_fetch_add(&eng.rs_gen, 1);
                pending = 1;
                log_info("SIGHUP: %d rules loaded", fresh ? ruleset_count(fresh) : 0);
                if (fresh_yara)
                    log_info("SIGHUP: %d YARA rules loaded", yara_set_count(fresh_yara));
            }
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (sem_timedwait(&eng.wake, &ts) != 0 && errno == EINTR)
            ;
    }
    for (int s = 0; s < eng.n_sources; s++)
        pthread_join(eng.sources[s].thread, NULL);
    atomic_store(&eng.capture_done, 1);
    for (int i = 0; i < eng.n_workers; i++)
        pthread_join(eng.workers[i].thread, NULL);
    pthread_join(eng.output_thread, NULL);
    if (eng.rule_profile) {
        /* the correlation stage's rules count too (asset.*, scan.*, conduit.*) */
        struct rule_ctx *corr_rctx = corr_out_rule_ctx(eng.corr);
        if (corr_rctx) rule_ctx_profile_merge(eng.rule_profile, corr_rctx);
        fflush(stdout);
        rule_ctx_profile_print(eng.rule_profile, stdout);
        fflush(stdout);
        rule_ctx_free(eng.rule_profile);
        eng.rule_profile = NULL;
    }

    int rc = 0;
    if (atomic_load(&eng.capture_failed)) {
        log_error("%s", eng.failure);
        rc = 2;
    }
    if (eng.events_out && eng.events_out != stdout)
        fclose(eng.events_out);
    else if (eng.events_out)
        fflush(stdout);
    if (eng.stats_out && eng.stats_out != stdout) fclose(eng.stats_out);
    if (eng.alerts_out && eng.alerts_out != stdout)
        fclose(eng.alerts_out);
    else if (eng.alerts_out)
        fflush(stdout);
    corr_out_free(eng.corr);
    eng.corr = NULL;
    ruleset_free(retired);
    ruleset_free(atomic_load(&eng.ruleset));
    yara_set_free(retired_yara);
    yara_set_free(atomic_load(&eng.yara_set));
    if (cfg.yara_path[0]) yara_global_fini();
    for (int s = 0; s < eng.n_sources; s++) {
        if (eng.sources[s].pcap) pcap_close(eng.sources[s].pcap);
        for (int i = 0; i < eng.n_workers; i++)
            ring_destroy(&eng.sources[s].rings[i]);
        free(eng.sources[s].rings);
    }
    for (int i = 0; i < eng.n_workers; i++) {
        ring_destroy(&eng.workers[i].out);
        free(eng.workers[i].in);
        free(eng.workers[i].json);
        pthread_mutex_destroy(&eng.workers[i].snap_lock);
    }
    free(eng.workers);
    free(eng.sources);
    return rc;
}
