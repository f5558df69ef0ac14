/* goose.c - IEC 61850-8-1 GOOSE dissector (ethertype 0x88B8), one event per frame.
 *
 * The engine hands us the bytes after the ethertype (VLAN tags already removed):
 *
 *   0       2        4           6           8
 *   +-------+--------+-----------+-----------+---------------------------+
 *   | APPID | length | reserved1 | reserved2 | goosePdu [APPLICATION 1]  |
 *   +-------+--------+-----------+-----------+---------------------------+
 *    length counts from APPID to the end of the PDU (Ethernet padding follows);
 *    reserved1 bit 15 is the Ed2 "simulated" bit.
 *
 *   goosePdu ::= [APPLICATION 1] IMPLICIT SEQUENCE {        -- 0x61
 *     gocbRef [0] VisibleString, timeAllowedtoLive [1] INTEGER, datSet [2] VisibleString,
 *     goID [3] VisibleString OPTIONAL, t [4] UtcTime, stNum [5] INTEGER,
 *     sqNum [6] INTEGER, simulation [7] BOOLEAN (test in Ed1), confRev [8] INTEGER,
 *     ndsCom [9] BOOLEAN, numDatSetEntries [10] INTEGER,
 *     allData [11] SEQUENCE OF Data, security [12] OCTET STRING OPTIONAL }
 *
 * Choices worth knowing:
 * - Event contract: code null, ONE event per frame, malformed ones included. op is
 *   "state_change" (taxonomy goose_state_change: stNum differs from the publisher's
 *   previous one), "message" for every other well-formed frame, "malformed" when
 *   the PDU could not be read (bad ASN.1, truncation, missing mandatory fields).
 * - Publisher state: the engine gives one flow per (src MAC, dst MAC, ethertype,
 *   VLAN); inside it we key by (APPID, gocbRef) in a small table (GOOSE_MAX_PUBS,
 *   oldest replaced). Sequence rules apply only to well-formed frames, and only
 *   from the second frame of a publisher on.
 * - stNum/sqNum rules (IEC 61850-8-1 §18.1.2.5): on a state change stNum += 1 and
 *   sqNum restarts at 0; between changes sqNum += 1. Both roll over (stNum to 1,
 *   sqNum to 1). goose.stnum_regression: stNum lower than before and not a roll
 *   over; goose.sqnum_anomaly: same stNum but sqNum != previous + 1, or a new stNum
 *   with sqNum != 0 (Ed1 publishers that restart at 1 are flagged too).
 * - goose.data_change_without_stnum compares a 64-bit FNV-1a hash of the allData
 *   bytes; goose.confrev_change compares confRev; goose.simulation_set is raised on
 *   every frame whose simulation/test flag (or the reserved1 simulated bit) is set.
 * - allData: entries are counted and typed (top level), the first GOOSE_MAX_VALUES
 *   scalar values are copied; nesting is walked only to validate it (BER_MAX_DEPTH). */
#include <stdlib.h>
#include <string.h>

#include "ber.h"
#include "mms_data.h"
#include "dissector.h"
#include "fnv.h"

#define GOOSE_HDR_LEN    8
#define GOOSE_MAX_PUBS   16
#define GOOSE_MAX_VALUES 16
#define GOOSE_MAX_FRAME  1518

static const char *const goose_anomalies[] = {
    "goose.malformed",
    "goose.truncated",
    "goose.missing_field",
    "goose.entries_mismatch",
    "goose.stnum_regression",
    "goose.sqnum_anomaly",
    "goose.data_change_without_stnum",
    "goose.confrev_change",
    "goose.simulation_set",
    NULL,
};

struct goose_pub {
    uint64_t ref_hash; /* FNV-1a of gocbRef */
    uint64_t data_hash;
    uint64_t last_us;
    uint32_t st_num, sq_num, conf_rev;
    uint16_t appid;
    uint8_t used;
};

struct goose_state {
    struct goose_pub pubs[GOOSE_MAX_PUBS];
    uint64_t frames, malformed;
};

/* What one goosePdu said; have bits mark fields present. */
enum {
    G_GOCBREF = 1 << 0,
    G_TTL = 1 << 1,
    G_DATSET = 1 << 2,
    G_T = 1 << 4,
    G_STNUM = 1 << 5,
    G_SQNUM = 1 << 6,
    G_SIM = 1 << 7,
    G_CONFREV = 1 << 8,
    G_NDSCOM = 1 << 9,
    G_NUMENT = 1 << 10,
    G_ALLDATA = 1 << 11,
};
#define G_MANDATORY                                                                                \
    (G_GOCBREF | G_TTL | G_DATSET | G_T | G_STNUM | G_SQNUM | G_SIM | G_CONFREV | G_NDSCOM |       \
     G_NUMENT | G_ALLDATA)

struct goose_pdu {
    unsigned have;
    int bad; /* ASN.1 could not be read */
    uint64_t ref_hash, data_hash;
    uint64_t st_num, sq_num, conf_rev, num_entries;
    int simulation;
    uint32_t entries;
};

/* Data ::= CHOICE (IEC 61850-8-1 / MMS): context tag -> name. */
static const char *goose_data_type(uint32_t tag)
{
    switch (tag) {
    case 1: return "array";
    case 2: return "structure";
    case 3: return "boolean";
    case 4: return "bit_string";
    case 5: return "integer";
    case 6: return "unsigned";
    case 7: return "floating_point";
    case 8: return "real";
    case 9: return "octet_string";
    case 10: return "visible_string";
    case 11: return "generalized_time";
    case 12: return "binary_time";
    case 13: return "bcd";
    case 14: return "boolean_array";
    case 15: return "obj_id";
    case 16: return "mms_string";
    case 17: return "utc_time";
    default: return NULL;
    }
}

#define GOOSE_NTYPES 18

/* allData: count, type summary, first values; validates nesting. */
static void goose_all_data(struct event *e, struct ber_tlv *ad, struct goose_pdu *g)
{
    uint32_t types[GOOSE_NTYPES + 1] = {0};
    struct cursor c = ad->val;
    {
        struct cursor whole = ad->val;
        size_t n = cursor_left(&whole);
        g->data_hash = fnv1a64(FNV1A64_INIT, cursor_take(&whole, n), n);
    }
    ev_obj_begin(e, "all_data");
    ev_arr_begin(e, "values");
    for (;;) {
        struct ber_tlv t;
        enum ber_status s = ber_read(&c, &t);
        if (s == BER_EOF) break;
        if (s != BER_OK) {
            g->bad = 1;
            break;
        }
        g->entries++;
        const char *name = t.cls == BER_CONTEXT ? goose_data_type(t.tag) : NULL;
        types[name ? t.tag : GOOSE_NTYPES]++;
        if (t.constructed) {
            struct ber_walk_stats ws;
            if (ber_walk(t.val, BER_MAX_DEPTH - 3, &ws) != BER_OK) g->bad = 1;
        }
        if (g->entries <= GOOSE_MAX_VALUES) mms_data_value(e, &t);
    }
    ev_end(e);
    ev_uint(e, "count", g->entries);
    ev_obj_begin(e, "types");
    for (uint32_t k = 0; k < GOOSE_NTYPES; k++)
        if (types[k] && goose_data_type(k)) ev_uint(e, goose_data_type(k), types[k]);
    if (types[GOOSE_NTYPES]) ev_uint(e, "other", types[GOOSE_NTYPES]);
    ev_end(e);
    ev_end(e);
}

static void goose_string(struct event *e, const char *key, const struct ber_tlv *t,
                         struct goose_pdu *g)
{
    const uint8_t *p;
    size_t n;
    if (t->constructed || !ber_octets(t, &p, &n)) {
        g->bad = 1;
        return;
    }
    ev_str(e, key, p, n);
    if (strcmp(key, "gocb_ref") == 0) g->ref_hash = fnv1a64(FNV1A64_INIT, p, n);
}

static int goose_unsigned(struct event *e, const char *key, const struct ber_tlv *t,
                          struct goose_pdu *g, uint64_t *out)
{
    uint64_t v;
    if (t->constructed || !ber_uint(t, &v)) {
        g->bad = 1;
        return 0;
    }
    ev_uint(e, key, v);
    if (out) *out = v;
    return 1;
}

static int goose_boolean(struct event *e, const char *key, const struct ber_tlv *t,
                         struct goose_pdu *g, int *out)
{
    int v;
    if (t->constructed || !ber_bool(t, &v)) {
        g->bad = 1;
        return 0;
    }
    ev_bool(e, key, v);
    if (out) *out = v;
    return 1;
}

/* The goosePdu's fields, in any order, each at most once. */
static void goose_fields(struct event *e, struct cursor *c, struct goose_pdu *g)
{
    for (;;) {
        struct ber_tlv t;
        enum ber_status s = ber_read(c, &t);
        if (s == BER_EOF) return;
        if (s == BER_BAD || (s == BER_TRUNCATED && cursor_left(&t.val) == 0)) {
            g->bad = 1;
            return;
        }
        if (s == BER_TRUNCATED) g->bad = 1; /* read what is there, then stop */
        unsigned bit = t.cls == BER_CONTEXT && t.tag <= 12 ? 1u << t.tag : 0;
        if (!bit || (g->have & bit)) {
            g->bad = 1; /* unknown or repeated field */
            if (s != BER_OK) return;
            continue;
        }
        g->have |= bit;
        int ok = 1;
        switch (t.tag) {
        case 0: goose_string(e, "gocb_ref", &t, g); break;
        case 1: ok = goose_unsigned(e, "time_allowed_to_live", &t, g, NULL); break;
        case 2: goose_string(e, "dat_set", &t, g); break;
        case 3: goose_string(e, "go_id", &t, g); break;
        case 4: {
            uint32_t secs, frac;
            uint8_t q;
            if (!ber_utc_time(&t, &secs, &frac, &q)) {
                g->bad = 1;
                ok = 0;
                break;
            }
            ev_double(e, "t", secs + frac / 16777216.0);
            ev_uint(e, "t_quality", q);
            break;
        }
        case 5: ok = goose_unsigned(e, "st_num", &t, g, &g->st_num); break;
        case 6: ok = goose_unsigned(e, "sq_num", &t, g, &g->sq_num); break;
        case 7: ok = goose_boolean(e, "simulation", &t, g, &g->simulation); break;
        case 8: ok = goose_unsigned(e, "conf_rev", &t, g, &g->conf_rev); break;
        case 9: ok = goose_boolean(e, "nds_com", &t, g, NULL); break;
        case 10: ok = goose_unsigned(e, "num_dat_set_entries", &t, g, &g->num_entries); break;
        case 11:
            if (!t.constructed) {
                g->bad = 1;
                ok = 0;
                break;
            }
            goose_all_data(e, &t, g);
            break;
        case 12: {
            const uint8_t *p;
            size_t n;
            if (ber_octets(&t, &p, &n)) ev_uint(e, "security_len", n);
            break;
        }
        default: break;
        }
        if (!ok) g->have &= ~bit; /* present but unreadable: not usable for state */
        if (s != BER_OK) return;
    }
}

static struct goose_pub *goose_pub_find(struct goose_state *st, uint16_t appid, uint64_t ref_hash,
                                        uint64_t now, int *fresh)
{
    struct goose_pub *oldest = &st->pubs[0];
    for (size_t i = 0; i < GOOSE_MAX_PUBS; i++) {
        struct goose_pub *p = &st->pubs[i];
        if (p->used && p->appid == appid && p->ref_hash == ref_hash) {
            *fresh = 0;
            return p;
        }
        if (!p->used) {
            oldest = p;
            break;
        }
        if (p->last_us < oldest->last_us) oldest = p;
    }
    memset(oldest, 0, sizeof(*oldest));
    oldest->used = 1;
    oldest->appid = appid;
    oldest->ref_hash = ref_hash;
    oldest->last_us = now;
    *fresh = 1;
    return oldest;
}

/* The publisher rules; returns 1 if this frame is a state change. */
static int goose_rules(struct goose_state *st, struct event *e, uint16_t appid,
                       const struct goose_pdu *g, uint64_t now)
{
    int fresh;
    struct goose_pub *p = goose_pub_find(st, appid, g->ref_hash, now, &fresh);
    uint32_t stn = (uint32_t)g->st_num, sqn = (uint32_t)g->sq_num;
    uint32_t cr = (uint32_t)g->conf_rev;
    int change = 0;
    if (!fresh) {
        if (stn == p->st_num) {
            int next = sqn == p->sq_num + 1u || (p->sq_num == UINT32_MAX && sqn == 1);
            if (!next) event_anomaly(e, "goose.sqnum_anomaly");
            if (g->data_hash != p->data_hash) event_anomaly(e, "goose.data_change_without_stnum");
        } else {
            int rollover = p->st_num == UINT32_MAX && stn <= 1;
            if (stn < p->st_num && !rollover)
                event_anomaly(e, "goose.stnum_regression");
            else
                change = 1;
            if (sqn != 0) event_anomaly(e, "goose.sqnum_anomaly");
            ev_uint(e, "prev_st_num", p->st_num);
        }
        if (cr != p->conf_rev) {
            event_anomaly(e, "goose.confrev_change");
            ev_uint(e, "prev_conf_rev", p->conf_rev);
        }
        ev_uint(e, "since_prev_us", now > p->last_us ? now - p->last_us : 0);
    }
    p->st_num = stn;
    p->sq_num = sqn;
    p->conf_rev = cr;
    p->data_hash = g->data_hash;
    p->last_us = now;
    return change;
}

static size_t goose_parse(void *state, struct cursor *c, const struct pdu_info *info,
                          struct event_sink *sink)
{
    struct goose_state *st = state;
    uint64_t now = info->ts_us ? info->ts_us : sink->net.ts_us;
    size_t start = cursor_pos(c);
    struct event *e = event_begin(sink, "goose", EV_DIR_INDICATION);
    struct goose_pdu g;
    memset(&g, 0, sizeof(g));
    const char *op = "malformed";
    st->frames++;
    uint16_t appid = cursor_u16be(c);
    uint16_t length = cursor_u16be(c);
    uint16_t res1 = cursor_u16be(c);
    uint16_t res2 = cursor_u16be(c);
    if (c->err) {
        event_anomaly(e, "goose.truncated");
        goto out;
    }
    ev_uint(e, "appid", appid);
    ev_uint(e, "length", length);
    ev_uint(e, "reserved1", res1);
    ev_uint(e, "reserved2", res2);
    if (length < GOOSE_HDR_LEN) {
        event_anomaly(e, "goose.malformed");
        goto out;
    }
    /* the APDU is what length covers; less than that on the wire is truncation */
    struct cursor apdu = cursor_sub(c, length - GOOSE_HDR_LEN);
    if (c->err) event_anomaly(e, "goose.truncated");
    struct ber_tlv pdu;
    enum ber_status s = ber_read(&apdu, &pdu);
    if (s == BER_EOF || s == BER_BAD || !ber_is(&pdu, BER_APPLICATION, 1, 1)) {
        event_anomaly(e, "goose.malformed");
        goto out;
    }
    if (s == BER_TRUNCATED) event_anomaly(e, "goose.truncated");
    goose_fields(e, &pdu.val, &g);
    if (g.bad) event_anomaly(e, "goose.malformed");
    if ((g.have & G_MANDATORY) != G_MANDATORY) event_anomaly(e, "goose.missing_field");
    if ((g.have & (G_NUMENT | G_ALLDATA)) == (G_NUMENT | G_ALLDATA) && g.num_entries != g.entries)
        event_anomaly(e, "goose.entries_mismatch");
    if (g.simulation || (res1 & 0x8000)) event_anomaly(e, "goose.simulation_set");
    if (g.bad || s != BER_OK ||
        (g.have & (G_GOCBREF | G_STNUM | G_SQNUM)) != (G_GOCBREF | G_STNUM | G_SQNUM)) {
        goto out; /* no trustworthy sequence numbers: state untouched */
    }
    op = goose_rules(st, e, appid, &g, now) ? "state_change" : "message";
out:
    if (strcmp(op, "malformed") == 0) st->malformed++;
    event_op(e, op);
    event_emit(sink, e);
    return cursor_pos(c) - start;
}

static void *goose_state_new(void)
{
    return calloc(1, sizeof(struct goose_state));
}

static void goose_state_free(void *state)
{
    free(state);
}

const struct dissector goose_dissector = {
    .id = DISS_GOOSE,
    .name = "goose",
    .transports = DISS_L2,
    .ethertypes = {0x88B8, 0},
    .probe = NULL,
    .state_new = goose_state_new,
    .state_free = goose_state_free,
    .parse = goose_parse,
    .gap = NULL,
    .anomalies = goose_anomalies,
    .max_pdu = GOOSE_MAX_FRAME,
};
