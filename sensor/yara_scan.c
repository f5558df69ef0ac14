/* yara_scan.c - YARA on the wire: compiling, per-worker scanners, budgets, yara.match events. */
#include "yara_scan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yara.h>

#include "hugemem.h"
#include "rules.h"
#include "sha256.h"

#define YARA_MAX_STRINGS  16         /* matched strings listed per rule in one event */
#define YARA_MATCH_DATA   32         /* bytes of each matched string shown (hex) */
#define YARA_TIMEOUT_S    1          /* libyara's own timeout: a backstop, the budgets come first */
#define YARA_STREAM_CHUNK 256        /* first window buffer; doubles as it fills */
#define YARA_POOL_CLASSES 25         /* window sizes 256 << k, k < 25, cover any uint32 */
#define YARA_SLAB         (2u << 20) /* window buffers are carved from slabs this big */
#define YARA_EXT_LEN      64         /* external values up to this long are remembered */

struct yara_set {
    YR_RULES *rules;
    int count;
};

/* The worker's window buffers: carved from 2 MiB slabs (huge pages where the kernel
 * offers them: one page fault per slab, not 512), and kept in free lists per size
 * class when a window is done, for the next flows: no malloc, realloc or free per
 * window. The memory is the worker's until it ends. A free buffer's first bytes
 * link it to the next; a slab's first 64 bytes link it to the previous slab. */
struct yara_pool {
    void *free[YARA_POOL_CLASSES];
    uint32_t size[YARA_POOL_CLASSES]; /* bytes of a buffer of each class */
    int nclass;
    uint8_t *slab; /* the slab being carved, and what is left of it */
    size_t slab_left;
    void *slabs;     /* every slab */
    uint64_t carved; /* bytes of slabs taken: buffers never go back to the system */
    uint64_t max;    /* yara.memory_max; 0: no cap */
};

/* The externals last given to the scanner: set again only when they change. */
struct yara_ext {
    int valid;
    char str[4][YARA_EXT_LEN];
    int64_t port;
};

/* Two scanners, one per direction (ot_direction): a flow's two windows are
 * scanned one after the other, and with one scanner every scan of a DNS or NTP
 * flow would set ot_direction (and often ot_zone) again. Both or neither exist. */
struct yara_worker {
    struct yara_limits lim;
    struct yara_pool pool;
    struct yara_ext ext[2];
    const struct yara_set *set;
    const struct ruleset *rs;
    YR_SCANNER *scanner[2]; /* [0] to_server, [1] to_client */
    struct yara_stats st;
    uint64_t sec, sec_used; /* the per-second budget, by packet time */
    struct yara_flow *cur;  /* the flow dissectors are working on */
    /* the scan in progress, for the callback */
    const uint8_t *data;
    size_t len;
    const struct yara_target *t;
    struct event_sink *sink;
    char sha[65];
    int nmatch;
};

static const char *const externals[] = {"ot_proto", "ot_object_type", "ot_direction", "ot_zone"};

int yara_global_init(void)
{
    if (yr_initialize() != ERROR_SUCCESS) return -1;
    /* events show a match's first YARA_MATCH_DATA bytes: libyara need keep no more
     * (its default, 512, sizes the ~600 KiB match notebook it allocates per scan) */
    yr_set_configuration_uint32(YR_CONFIG_MAX_MATCH_DATA, YARA_MATCH_DATA);
    return 0;
}

void yara_global_fini(void)
{
    yr_finalize();
}

/* ---- compiling ----------------------------------------------------------- */

struct errbuf {
    char *buf;
    size_t cap, len;
    int errors;
    const char *name; /* stands for the file when libyara has none (text) */
};

static void add_err(struct errbuf *e, const char *file, int line, const char *msg)
{
    if (!e->buf || e->len >= e->cap) return;
    int n;
    if (line > 0)
        n = snprintf(e->buf + e->len, e->cap - e->len, "%s:%d: %s\n", file ? file : e->name, line,
                     msg);
    else
        n = snprintf(e->buf + e->len, e->cap - e->len, "%s: %s\n", file ? file : e->name, msg);
    if (n > 0) e->len += (size_t)n < e->cap - e->len ? (size_t)n : e->cap - e->len - 1;
}

static void compile_cb(int level, const char *file, int line, const YR_RULE *rule, const char *msg,
                       void *ctx)
{
    (void)rule;
    if (level != YARA_ERROR_LEVEL_ERROR) return; /* warnings (slow strings) are not fatal */
    struct errbuf *e = ctx;
    e->errors++;
    add_err(e, file, line, msg);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int yar_filter(const struct dirent *d)
{
    return d->d_name[0] != '.' && has_suffix(d->d_name, ".yar");
}

/* Adds one file; returns its error count (the compiler is unusable after one). */
static int add_file(YR_COMPILER *c, const char *path, struct errbuf *e)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        add_err(e, path, 0, strerror(errno));
        e->errors++;
        return 1;
    }
    int n = yr_compiler_add_file(c, f, NULL, path);
    fclose(f);
    return n;
}

static YR_COMPILER *new_compiler(struct errbuf *e)
{
    YR_COMPILER *c = NULL;
    if (yr_compiler_create(&c) != ERROR_SUCCESS) return NULL;
    yr_compiler_set_callback(c, compile_cb, e);
    for (size_t i = 0; i < sizeof(externals) / sizeof(externals[0]); i++)
        if (yr_compiler_define_string_variable(c, externals[i], "") != ERROR_SUCCESS) {
            yr_compiler_destroy(c);
            return NULL;
        }
    if (yr_compiler_define_integer_variable(c, "ot_server_port", 0) != ERROR_SUCCESS) {
        yr_compiler_destroy(c);
        return NULL;
    }
    return c;
}

static struct yara_set *finish(YR_COMPILER *c, struct errbuf *e)
{
    YR_RULES *rules = NULL;
    if (e->errors || yr_compiler_get_rules(c, &rules) != ERROR_SUCCESS) {
        if (!e->errors) add_err(e, NULL, 0, "cannot build the compiled rules (out of memory)");
        yr_compiler_destroy(c);
        return NULL;
    }
    yr_compiler_destroy(c);
    struct yara_set *ys = calloc(1, sizeof(*ys));
    if (!ys) {
        yr_rules_destroy(rules);
        return NULL;
    }
    ys->rules = rules;
    const YR_RULE *r;
    yr_rules_foreach(rules, r) ys->count++;
    return ys;
}

struct yara_set *yara_set_load(const char *path, char *err, size_t errlen)
{
    struct errbuf e = {err, errlen, 0, 0, path};
    if (err && errlen) err[0] = '\0';
    YR_COMPILER *c = new_compiler(&e);
    if (!c) {
        add_err(&e, path, 0, "cannot create the YARA compiler");
        return NULL;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
        add_err(&e, path, 0, strerror(errno));
        yr_compiler_destroy(c);
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        struct dirent **list = NULL;
        int n = scandir(path, &list, yar_filter, alphasort);
        if (n < 0) {
            add_err(&e, path, 0, strerror(errno));
            yr_compiler_destroy(c);
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            char full[4096];
            snprintf(full, sizeof(full), "%s/%s", path, list[i]->d_name);
            if (!e.errors) add_file(c, full, &e);
            free(list[i]);
        }
        free(list);
    } else {
        add_file(c, path, &e);
    }
    return finish(c, &e);
}

struct yara_set *yara_set_load_text(const char *name, const char *text, char *err, size_t errlen)
{
    struct errbuf e = {err, errlen, 0, 0, name ? name : "yara"};
    if (err && errlen) err[0] = '\0';
    YR_COMPILER *c = new_compiler(&e);
    if (!c) return NULL;
    yr_compiler_add_string(c, text, NULL);
    return finish(c, &e);
}

void yara_set_free(struct yara_set *ys)
{
    if (!ys) return;
    yr_rules_destroy(ys->rules);
    free(ys);
}

int yara_set_count(const struct yara_set *ys)
{
    return ys ? ys->count : 0;
}

/* ---- the worker's scanner ------------------------------------------------ */

struct yara_worker *yara_worker_new(const struct yara_limits *lim)
{
    struct yara_worker *yw = calloc(1, sizeof(*yw));
    if (!yw) return NULL;
    yw->lim = *lim;
    if (yw->lim.dissected_max > lim->stream_max) yw->lim.dissected_max = lim->stream_max;
    yw->pool.max = lim->memory_max;
    /* size classes 256, 512, 1 KiB ... up to the window, the last one the window */
    struct yara_pool *p = &yw->pool;
    uint64_t sz = YARA_STREAM_CHUNK;
    do {
        p->size[p->nclass++] = sz < lim->stream_max ? (uint32_t)sz : lim->stream_max;
        sz <<= 1;
    } while (p->size[p->nclass - 1] < lim->stream_max && p->nclass < YARA_POOL_CLASSES);
    return yw;
}

static void scanners_drop(struct yara_worker *yw)
{
    for (int k = 0; k < 2; k++) {
        if (yw->scanner[k]) yr_scanner_destroy(yw->scanner[k]);
        yw->scanner[k] = NULL;
    }
}

static void pool_drain(struct yara_pool *p)
{
    while (p->slabs) {
        void *s = p->slabs;
        memcpy(&p->slabs, s, sizeof(void *));
        free(s);
    }
    memset(p->free, 0, sizeof(p->free));
    p->slab = NULL;
    p->slab_left = 0;
}

void yara_worker_free(struct yara_worker *yw)
{
    if (!yw) return;
    scanners_drop(yw);
    pool_drain(&yw->pool);
    free(yw);
}

/* n bytes (64-byte aligned) from the current slab, or a new one; a window larger
 * than a slab gets a slab of its own. */
static uint8_t *slab_carve(struct yara_pool *p, size_t n)
{
    n = (n + 63) & ~(size_t)63;
    if (n > p->slab_left) {
        size_t sz = n + 64 > YARA_SLAB ? n + 64 : YARA_SLAB;
        if (p->max && p->carved + sz > p->max) return NULL; /* yara.memory_max */
        uint8_t *s = huge_alloc(sz, 0);
        if (!s) return NULL;
        memcpy(s, &p->slabs, sizeof(void *));
        p->slabs = s;
        p->carved += sz;
        if (sz > YARA_SLAB) return s + 64;
        p->slab = s + 64;
        p->slab_left = sz - 64;
    }
    uint8_t *b = p->slab;
    p->slab += n;
    p->slab_left -= n;
    return b;
}

/* A buffer of class k (at least a pointer wide: the free list lives in it): from its
 * free list, else halved down from the smallest larger free buffer, else carved. A
 * window grows through the classes and leaves a buffer of each behind; without the
 * halving those waited for windows of their own size while new ones took new
 * memory (on the bench capture the long-lived flows' 8-32 KiB buffers were as much
 * memory as their full windows). Halves are not joined again: a free list never
 * holds more than its class's most buffers in use at once, as without halving. */
static uint8_t *pool_get(struct yara_pool *p, int k)
{
    void *b = p->free[k];
    if (b) {
        memcpy(&p->free[k], b, sizeof(void *));
        return b;
    }
    /* the smallest larger free buffer, through classes that double */
    for (int j = k + 1; j < p->nclass && p->size[j] == 2 * p->size[j - 1]; j++) {
        uint8_t *big = p->free[j];
        if (!big) continue;
        memcpy(&p->free[j], big, sizeof(void *));
        for (; j > k; j--) { /* keep the first half, free the second */
            uint8_t *half = big + p->size[j - 1];
            memcpy(half, &p->free[j - 1], sizeof(void *));
            p->free[j - 1] = half;
        }
        return big;
    }
    return slab_carve(p, p->size[k] < sizeof(void *) ? sizeof(void *) : p->size[k]);
}

/* Back to its free list (yw NULL: dropped, the worker's slabs hold it). */
static void pool_put(struct yara_worker *yw, uint8_t *b, int k)
{
    if (!b || !yw) return;
    struct yara_pool *p = &yw->pool;
    memcpy(b, &p->free[k], sizeof(void *));
    p->free[k] = b;
}

/* Lets a flow's buffers go and zeroes its state. */
static void flow_reset(struct yara_worker *yw, struct yara_flow *fs)
{
    for (int dir = 0; dir < 2; dir++)
        pool_put(yw, fs->buf[dir], fs->cls[dir]);
    memset(fs, 0, sizeof(*fs));
}

static int scan_cb(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *user);

int yara_worker_use(struct yara_worker *yw, const struct yara_set *set, const struct ruleset *rs)
{
    yw->rs = rs;
    if (set == yw->set && (yw->scanner[0] || !set)) return 0;
    scanners_drop(yw);
    yw->set = NULL;
    if (!set) return 0;
    for (int k = 0; k < 2; k++) {
        if (yr_scanner_create(set->rules, &yw->scanner[k]) != ERROR_SUCCESS) {
            yw->scanner[k] = NULL;
            scanners_drop(yw);
            yw->st.errors++;
            return -1;
        }
        yr_scanner_set_timeout(yw->scanner[k], YARA_TIMEOUT_S);
        /* we scan our own heap buffers, never mapped files: no SIGBUS to catch, so no
         * signal handler set up and torn down around every scan (two syscalls each);
         * only matching rules are reported (not a callback per rule per scan) */
        yr_scanner_set_flags(yw->scanner[k], SCAN_FLAGS_FAST_MODE | SCAN_FLAGS_NO_TRYCATCH |
                                                 SCAN_FLAGS_REPORT_RULES_MATCHING);
        yr_scanner_set_callback(yw->scanner[k], scan_cb, yw);
        yw->ext[k].valid = 0; /* a new scanner holds the compiled-in defaults */
    }
    yw->set = set;
    return 0;
}

int yara_worker_active(const struct yara_worker *yw)
{
    return yw && yw->scanner[0];
}

const struct yara_limits *yara_worker_limits(const struct yara_worker *yw)
{
    return &yw->lim;
}

void yara_worker_stats(const struct yara_worker *yw, struct yara_stats *out)
{
    *out = yw->st;
    out->window_bytes = yw->pool.carved;
}

void yara_worker_count_object(struct yara_worker *yw, int truncated, int partial)
{
    yw->st.objects_scanned++;
    if (truncated) yw->st.objects_truncated++;
    if (partial) yw->st.objects_partial++;
}

void yara_worker_set_flow(struct yara_worker *yw, struct yara_flow *fs)
{
    if (yw) yw->cur = fs;
}

/* ---- events ---------------------------------------------------------------- */

/* Engine events carry the flow as seen from its initiator (DESIGN §2). */
static void orient(struct event *e)
{
    if (!e->net.to_server) ev_net_reverse(&e->net);
}

/* Rule identifiers, tags and meta keys live in the compiled set, which outlives
 * the event: delivery is synchronous, within the scan. */
static void emit_match(struct yara_worker *yw, YR_SCAN_CONTEXT *ctx, const YR_RULE *rule)
{
    const struct yara_target *t = yw->t;
    struct event *e = event_begin(yw->sink, "yara", EV_DIR_NONE);
    event_op(e, "match");
    orient(e);
    ev_cstr(e, "rule", rule->identifier);
    if (rule->ns && rule->ns->name && strcmp(rule->ns->name, "default") != 0)
        ev_cstr(e, "namespace", rule->ns->name);
    const char *tag;
    ev_arr_begin(e, "tags");
    yr_rule_tags_foreach(rule, tag) ev_cstr(e, NULL, tag);
    ev_end(e);
    const YR_META *meta;
    ev_obj_begin(e, "meta");
    yr_rule_metas_foreach(rule, meta)
    {
        if (meta->type == META_TYPE_INTEGER)
            ev_int(e, meta->identifier, meta->integer);
        else if (meta->type == META_TYPE_BOOLEAN)
            ev_bool(e, meta->identifier, meta->integer != 0);
        else
            ev_cstr(e, meta->identifier, meta->string ? meta->string : "");
    }
    ev_end(e);
    const YR_STRING *s;
    int listed = 0;
    ev_arr_begin(e, "strings");
    yr_rule_strings_foreach(rule, s)
    {
        /* libyara 4.2 keeps matches unaligned in its notebook: each is copied out
         * before it is read (yr_string_matches_foreach would read in place) */
        const YR_MATCH *mp = ctx->matches[s->idx].head;
        while (mp && listed < YARA_MAX_STRINGS) {
            YR_MATCH m;
            memcpy(&m, mp, sizeof(m));
            mp = m.next;
            if (m.is_private) continue;
            listed++;
            ev_obj_begin(e, NULL);
            ev_cstr(e, "id", s->identifier);
            ev_uint(e, "offset", (uint64_t)(m.base + m.offset));
            ev_uint(e, "length", (uint64_t)m.match_length);
            size_t dl = (size_t)m.data_length;
            ev_hex(e, "data", m.data, dl < YARA_MATCH_DATA ? dl : YARA_MATCH_DATA);
            ev_end(e);
        }
    }
    ev_end(e);
    ev_cstr(e, "proto", t->proto ? t->proto : "");
    ev_cstr(e, "direction", t->to_server ? "to_server" : "to_client");
    ev_obj_begin(e, "object");
    ev_cstr(e, "type", t->object_type);
    if (t->name) ev_cstr(e, "name", t->name);
    if (!yw->sha[0]) sha256_hex(yw->data, yw->len, yw->sha);
    ev_cstr(e, "sha256", yw->sha);
    ev_uint(e, "size", t->total_len > yw->len ? t->total_len : yw->len);
    ev_uint(e, "scanned", yw->len);
    ev_bool(e, "truncated", t->truncated);
    if (strcmp(t->object_type, "stream") != 0) ev_bool(e, "partial", t->partial);
    for (int i = 0; i < t->nattrs; i++)
        if (t->attr_keys[i] && t->attr_vals[i]) ev_cstr(e, t->attr_keys[i], t->attr_vals[i]);
    ev_end(e);
    event_emit(yw->sink, e);
}

static int scan_cb(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *user)
{
    struct yara_worker *yw = user;
    if (msg == CALLBACK_MSG_RULE_MATCHING) {
        yw->nmatch++;
        yw->st.matches++;
        emit_match(yw, ctx, data);
    }
    return CALLBACK_CONTINUE;
}

static const char *zone_name(const struct yara_worker *yw, const struct ev_net *n, int to_server)
{
    if (!yw->rs || !n->ip_version) return "";
    /* the receiving end: where the bytes go */
    const struct ev_addr *a = (n->to_server == to_server) ? &n->dst : &n->src;
    const char *z = ruleset_zone_name(yw->rs, a);
    return z ? z : "";
}

/* Takes len bytes from the budgets, or says no (and counts it). */
static int budget_take(struct yara_worker *yw, size_t len, uint64_t now_us)
{
    struct yara_flow *fs = yw->cur && yw->lim.flow_budget && !yw->cur->off ? yw->cur : NULL;
    uint64_t sec = now_us / 1000000u;
    if (sec != yw->sec) {
        yw->sec = sec;
        yw->sec_used = 0;
    }
    if ((yw->lim.second_budget && yw->sec_used + len > yw->lim.second_budget) ||
        (yw->lim.flow_budget && fs && fs->used + len > yw->lim.flow_budget)) {
        yw->st.budget_skips++;
        return 0;
    }
    yw->sec_used += len;
    if (fs) fs->used += len;
    return 1;
}

/* Sets string external i (externals[i]) unless the scanner has it already: each
 * define is a hash lookup, a strlen and a free and malloc of the value in libyara. */
static void ext_string(YR_SCANNER *s, struct yara_ext *x, int i, const char *v)
{
    char *c = x->str[i];
    if (x->valid && c[0] != '\x01' && strcmp(c, v) == 0) return;
    int rc = yr_scanner_define_string_variable(s, externals[i], v);
    size_t l = strlen(v);
    if (rc == ERROR_SUCCESS && l < YARA_EXT_LEN && (l == 0 || v[0] != '\x01'))
        memcpy(c, v, l + 1);
    else
        c[0] = '\x01'; /* not remembered: set it every time */
}

int yara_scan(struct yara_worker *yw, const uint8_t *data, size_t len, const struct yara_target *t,
              struct event_sink *sink, uint64_t now_us)
{
    if (!yw || !yw->scanner[0] || !len) return 0;
    if (!budget_take(yw, len, now_us)) return -1;
    int k = t->to_server ? 0 : 1;
    YR_SCANNER *s = yw->scanner[k];
    struct yara_ext *x = &yw->ext[k];
    const struct ev_net *n = &sink->net;
    const char *ext[4] = {t->proto ? t->proto : "", t->object_type,
                          t->to_server ? "to_server" : "to_client", zone_name(yw, n, t->to_server)};
    for (int i = 0; i < 4; i++)
        if (i != 2 || !x->valid || x->str[2][0] == '\x01') /* the scanner's direction is fixed */
            ext_string(s, x, i, ext[i]);
    int64_t port = n->to_server ? n->dst_port : n->src_port;
    if (!x->valid || x->port != port)
        x->port = yr_scanner_define_integer_variable(s, "ot_server_port", port) == ERROR_SUCCESS
                      ? port
                      : -1; /* not a port: set again next time */
    x->valid = 1;
    yw->data = data;
    yw->len = len;
    yw->t = t;
    yw->sink = sink;
    yw->sha[0] = '\0';
    yw->nmatch = 0;
    yw->st.scans++;
    yw->st.bytes_scanned += len;
    int rc = yr_scanner_scan_mem(s, data, len);
    yw->data = NULL;
    yw->sink = NULL;
    if (rc != ERROR_SUCCESS) {
        yw->st.errors++;
        return -2;
    }
    return yw->nmatch;
}

/* ---- streams ---------------------------------------------------------------- */

/* Scans a direction's window once and lets its buffer go. */
static void stream_scan(struct yara_worker *yw, struct yara_flow *fs, int dir, const char *proto,
                        struct event_sink *sink, uint64_t now_us)
{
    if (fs->done[dir]) return;
    fs->done[dir] = 1;
    if (fs->covered[dir] == 1) {
        if (yw) yw->st.streams_covered++;
    } else if (fs->len[dir] && yw && yw->scanner[0]) {
        struct yara_target t = {proto, "stream", NULL, dir == 0, 0, fs->len[dir], 0, NULL, NULL, 0};
        struct yara_flow *save = yw->cur;
        yw->cur = fs;
        if (yara_scan(yw, fs->buf[dir], fs->len[dir], &t, sink, now_us) >= 0)
            yw->st.streams_scanned++;
        yw->cur = save;
    }
    pool_put(yw, fs->buf[dir], fs->cls[dir]);
    fs->buf[dir] = NULL;
    fs->len[dir] = 0;
    fs->room[dir] = 0;
}

int yara_stream_grow(struct yara_worker *yw, struct yara_flow *fs, int dir, const uint8_t *data,
                     uint32_t len)
{
    if (!yw || !yw->scanner[0] || !yw->lim.stream_max || !len) return 0;
    if (fs->done[dir]) return 0; /* also when off */
    uint32_t max = fs->dissected ? yw->lim.dissected_max : yw->lim.stream_max;
    uint32_t have = fs->len[dir];
    if (have >= max) {
        /* the dissector was chosen after the window passed its cap: what is beyond
         * the cap is not part of the window (with a cap of 0 there is none) */
        if (!max) {
            pool_put(yw, fs->buf[dir], fs->cls[dir]);
            fs->buf[dir] = NULL;
            fs->len[dir] = 0;
            fs->done[dir] = 1;
            return 0;
        }
        fs->len[dir] = max;
        fs->room[dir] = 0;
        return 1;
    }
    uint32_t room = max - have;
    uint32_t n = len < room ? len : room;
    const struct yara_pool *p = &yw->pool;
    if (!fs->buf[dir] || have + n > p->size[fs->cls[dir]]) {
        int k = fs->buf[dir] ? fs->cls[dir] + 1 : 0;
        while (p->size[k] < have + n)
            k++; /* the last class is stream_max: it always fits */
        uint8_t *nb = pool_get(&yw->pool, k);
        if (!nb) {
            /* at yara.memory_max (or out of memory): the window is scanned with what it
             * holds; one that holds nothing yet is given up (its first bytes are gone) */
            yw->st.memory_cuts++;
            if (!fs->buf[dir]) {
                fs->done[dir] = 1;
                return 0;
            }
            uint32_t fit = p->size[fs->cls[dir]] - have; /* fill what it has first */
            memcpy(fs->buf[dir] + have, data, fit < n ? fit : n);
            fs->len[dir] = have + (fit < n ? fit : n);
            fs->room[dir] = 0;
            return 1;
        }
        if (have) memcpy(nb, fs->buf[dir], have);
        pool_put(yw, fs->buf[dir], fs->cls[dir]);
        fs->buf[dir] = nb;
        fs->cls[dir] = (uint8_t)k;
    }
    memcpy(fs->buf[dir] + have, data, n);
    fs->len[dir] = have + n;
    /* the fast path takes what fits the buffer short of filling the window */
    uint32_t cap = p->size[fs->cls[dir]];
    fs->room[dir] = cap < max ? cap - fs->len[dir] : max - fs->len[dir];
    return fs->len[dir] >= max;
}

void yara_stream_scan(struct yara_worker *yw, struct yara_flow *fs, int dir, const char *proto,
                      struct event_sink *sink, uint64_t now_us)
{
    stream_scan(yw, fs, dir, proto, sink, now_us);
}

void yara_flow_classified(struct yara_worker *yw, struct yara_flow *fs, int encrypted)
{
    if (!yw || fs->classified) return;
    fs->classified = 1;
    if (!encrypted || yw->lim.encrypted) return;
    for (int dir = 0; dir < 2; dir++)
        if (!fs->done[dir]) yw->st.encrypted_skips++;
    if (yw->cur == fs) yw->cur = NULL;
    flow_reset(yw, fs);
    /* nothing is kept or scanned for it from now on */
    fs->classified = fs->off = 1;
    fs->done[0] = fs->done[1] = 1;
}

void yara_stream_cover(struct yara_worker *yw, int dir, int covered)
{
    if (!yw || !yw->lim.stream_max || !yw->cur || yw->cur->off) return;
    struct yara_flow *fs = yw->cur;
    if (fs->covered[dir] == 2) return;
    fs->covered[dir] = covered ? 1 : 2;
}

void yara_flow_end(struct yara_worker *yw, struct yara_flow *fs, const char *proto,
                   struct event_sink *sink, uint64_t now_us)
{
    for (int dir = 0; dir < 2; dir++)
        stream_scan(yw, fs, dir, proto, sink, now_us);
    if (yw && yw->cur == fs) yw->cur = NULL;
    flow_reset(yw, fs);
}
