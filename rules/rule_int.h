/* rule_int.h - the compiled form of a rule set, shared by parser, matcher and alert writer. */
#ifndef OTS_RULE_INT_H
#define OTS_RULE_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "rules.h"

#define RULE_MAX_CONDS    24
#define RULE_MAX_REFS     8
#define RULE_MAX_CONTENTS 8
#define RULE_MAX_SR       16
#define RULE_MAX_TC       8
#define RULE_MAX_STRS     16 /* names in one op: list */
#define RULE_MAX_PATH     4  /* components of a field path */
#define RULE_MAX_KEYS     16 /* codes one rule is dispatched under */

enum rule_action { RULE_ALERT = 0, RULE_PASS };
/* What the header's protocol selects. */
enum rule_pkind { RP_ANY = 0, RP_IP, RP_TCP, RP_UDP, RP_APP };

struct net_item {
    uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
    uint8_t bits;     /* prefix over 128 bits */
    uint8_t neg;
};
struct addr_set {
    struct net_item *v;
    int n; /* 0: any */
};
struct port_item {
    uint16_t lo, hi;
    uint8_t neg;
};
struct port_set {
    struct port_item *v;
    int n; /* 0: any */
};

/* Suricata's integer comparisons: N, !N, <N, <=N, >N, >=N, N-M and N<>M (exclusive). */
enum im_op { IM_EQ, IM_NE, IM_LT, IM_LE, IM_GT, IM_GE, IM_RANGE };
struct intmatch {
    uint8_t op;
    int64_t a, b;
};

/* Suricata's modbus ranges: N, <N, >N, N<>M (open). */
struct mb_range {
    uint8_t set, kind; /* kind: 0 exact, 1 less, 2 greater, 3 between */
    uint32_t lo, hi;
};
enum mb_access { MBA_READ = 1, MBA_WRITE = 2 };
enum mb_table { MBT_NONE = 0, MBT_COILS, MBT_DISCRETES, MBT_INPUT, MBT_HOLDING };
struct modbus_match {
    uint8_t has_func, func_neg, has_sub, category, cat_neg, access, table;
    uint8_t func;
    uint16_t sub;
    struct mb_range unit, address, value;
};

enum cond_type {
    C_OP,      /* op name in a list */
    C_CODE,    /* integer match on code; requires has_code */
    C_EVENT,   /* event name proto.op, or an anomaly of that name */
    C_ANOMALY, /* app-layer-event: anomaly present */
    C_FIELD,   /* a field anywhere at path (suffix, arrays transparent) */
    C_MODBUS,
    C_DNP3_IND,
    C_DNP3_OBJ,
    C_CIP,
};

struct cond {
    uint8_t type, neg, is_str, prefix; /* prefix: string ends in '*' */
    uint8_t npath;
    const char *path[RULE_MAX_PATH]; /* C_FIELD */
    const char *str;                 /* C_FIELD string, C_EVENT / C_ANOMALY name */
    size_t slen;
    const char **strs; /* C_OP */
    int nstrs;
    struct intmatch im;
    union {
        struct modbus_match mb;
        uint32_t mask; /* dnp3_ind */
        struct {
            uint32_t group, variation;
        } obj;
        struct {
            uint32_t service, cls, attr;
            uint8_t has_cls, has_attr;
        } cip;
    } u;
};

struct content {
    const uint8_t *pat;
    size_t len;
    uint8_t nocase, neg, has_offset, has_depth, has_distance, has_within;
    int32_t offset, depth, distance, within;
};

enum thr_type { THR_NONE = 0, THR_LIMIT, THR_THRESHOLD, THR_BOTH, THR_DETECTION };
enum thr_track { TRACK_SRC = 0, TRACK_DST, TRACK_RULE, TRACK_BOTH };
struct threshold {
    uint8_t type, track;
    uint32_t count, seconds;
};

enum flow_flag {
    FLOW_TO_SERVER = 1,
    FLOW_TO_CLIENT = 2,
    FLOW_ESTABLISHED = 4,
    FLOW_NOT_ESTABLISHED = 8
};

struct classification {
    const char *name, *desc;
    int priority;
    uint8_t fr; /* bit n-1 = FRn */
    const char *sr[RULE_MAX_SR];
    int nsr;
    const char *tc[RULE_MAX_TC];
    int ntc;
};

/* A line of the suppression file (threshold.config style): alerts of the rule
 * (gid, sid; 0 = any) are dropped, all or only for the listed addresses. */
enum supp_track { SUPP_ALL = 0, SUPP_SRC, SUPP_DST, SUPP_EITHER };
struct suppress {
    uint32_t gid, sid;
    uint8_t track;
    struct addr_set ips;
    const struct suppress *next; /* the next entry for the same rule */
};

struct rule {
    const char *file, *ruleset; /* ruleset: file name without directory and ".rules" */
    int line;
    uint8_t action, pkind, bidir, flow;
    int proto; /* index in ruleset->protos, -1: none */
    struct addr_set src, dst;
    struct port_set sp, dp;
    uint32_t sid, gid, rev;
    int priority; /* 0: unset */
    int severity; /* -1: unset */
    const char *msg, *classtype, *metadata;
    const struct classification *cls;
    const char *refs[RULE_MAX_REFS];
    int nrefs;
    struct content *contents;
    int ncontents;
    struct threshold thr, df;
    struct cond *conds;
    int nconds;
    /* dispatch: when has_code_key, the rule can match only events whose code is one of
     * codes[] (none: it can never match) */
    uint8_t has_code_key, ncodes;
    int64_t codes[RULE_MAX_KEYS];
    /* ev_key_bit of every field name the rule's conditions need (ruleset_compile): an
     * event lacking one is passed over without testing the conditions */
    uint64_t need_keys;
    uint8_t fr;
    const char *sr[RULE_MAX_SR];
    int nsr;
    const char *tc[RULE_MAX_TC];
    int ntc;
    int eff_severity;            /* resolved at load */
    const struct suppress *supp; /* suppression entries naming this rule */
};

struct code_ent {
    int64_t code;
    uint32_t rule;
};
struct op_ent {
    uint64_t hash; /* of the op name */
    uint32_t rule;
};
struct proto_disp {
    const char *name;
    uint32_t *any; /* rules for this proto that match any code */
    int nany;
    struct code_ent *bycode; /* sorted by code */
    int nbycode;
    struct op_ent *byop; /* rules fixed to op names (no code), sorted by hash */
    int nbyop;
};

#define RS_MAX_PROTOS   64
#define RS_MAX_ZONES    256
#define RS_MAX_CONDUITS 1024
#define ZONE_MAX_NETS   64

struct zone {
    const char *name, *type, *vartext;
    struct net_item *nets;
    int nnets;
    uint8_t has_sl;
    uint8_t sl_t[7]; /* target security level per FR */
};

struct conduit {
    const char *name;            /* "A-B" */
    int a, b;                    /* zone indexes */
    const char *protocols, *ops; /* as written, comma-separated; NULL: not restricted */
};

struct arena;

struct ruleset {
    struct arena *arena;
    struct rule *rules;
    int nrules, caprules;
    struct classification *cls;
    int ncls, capcls;
    struct proto_disp protos[RS_MAX_PROTOS];
    int nprotos;
    uint32_t *generic; /* rules not bound to an application protocol */
    int ngeneric;
    struct zone *zones;
    int nzones;
    struct conduit *conduits;
    int nconduits;
    const struct suppress *supp_all; /* entries with sig_id 0: every rule */
};

/* Arena: everything a ruleset owns, freed at once. */
void *rs_alloc(struct ruleset *rs, size_t n);
const char *rs_strndup(struct ruleset *rs, const char *s, size_t n);
int rs_proto_index(struct ruleset *rs, const char *name, int create);

/* rule_match.c: builds the dispatch tables once all rules are parsed. */
int ruleset_compile(struct ruleset *rs);

/* alert_json.c; h (may be NULL) gets the aggregator's header of the alert written */
size_t alert_to_json(const struct ruleset *rs, const struct rule *r, const struct event *ev,
                     const char *sensor_name, uint32_t count, uint64_t start_us, char *buf,
                     size_t cap, struct alert_hdr *h);
/* The header alert_to_json gives, without the spans (zero): what an alert's aggregation
 * key and times are before (or instead of) writing it. */
void alert_hdr_fill(const struct rule *r, const struct event *ev, uint32_t count, uint64_t start_us,
                    struct alert_hdr *h);

/* Appends "file:line:col: message\n" to err (NUL-terminated, errlen bytes; a full buffer
 * drops the line): the error format of every parser of rules/. */
void rule_err_vappend(char *err, size_t errlen, const char *file, int line, int col,
                      const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* rule_parse.c, for the suppression parser: the parse context reports errors as
 * "file:line:col: message" for the text set by rp_begin and knows the variables. */
struct pctx;
void rp_begin(struct pctx *P, const char *file, const char *text, size_t len);
__attribute__((format(printf, 3, 4))) void rp_error(struct pctx *P, size_t off, const char *fmt,
                                                    ...);
int rp_addr_set(struct pctx *P, const char *s, size_t n, size_t off, struct addr_set *out);
struct ruleset *rp_ruleset(struct pctx *P);

/* suppress.c: parses a suppression file's text after the rules; binds its entries to
 * the rules (suppress) or replaces their threshold (threshold). */
void suppress_parse(struct pctx *P, const char *file, const char *text, size_t len);

/* zones.c */
int zones_parse(struct ruleset *rs, const char *file, const char *text, size_t len, char *err,
                size_t errlen);
const struct zone *zone_find(const struct ruleset *rs, const char *name, size_t n);
int zone_of(const struct ruleset *rs, const struct ev_addr *a);
const struct conduit *conduit_between(const struct ruleset *rs, int za, int zb);

/* Looks up a classification by name, or NULL. */
const struct classification *ruleset_classification(const struct ruleset *rs, const char *name);
/* Parses classification.config text into rs; errors appended to err. Returns error count. */
int classification_parse(struct ruleset *rs, const char *file, const char *text, size_t len,
                         char *err, size_t errlen);
/* Names the engine can raise (event_names.c): anomalies only, or also engine and
 * correlation events (event:). */
int rules_anomaly_known(const char *name);
int rules_event_known(const char *name, int anomaly_only);

/* Known ISO/IEC 27032 threat codes (iso27032.md §4). */
int rule_tc_valid(const char *s, size_t n);

#endif
