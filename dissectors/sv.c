/* sv.c - IEC 61850-9-2 Sampled Values dissector (ethertype 0x88BA), summarised per stream.
 *
 *   0       2        4           6           8
 *   +-------+--------+-----------+-----------+--------------------------+
 *   | APPID | length | reserved1 | reserved2 | savPdu [APPLICATION 0]   |
 *   +-------+--------+-----------+-----------+--------------------------+
 *
 *   savPdu ::= [APPLICATION 0] SEQUENCE {                  -- 0x60
 *     noASDU [0] INTEGER, security [1] ANY OPTIONAL,
 *     seqASDU [2] SEQUENCE OF ASDU }                       -- 0xA2
 *   ASDU ::= SEQUENCE {                                    -- 0x30
 *     svID [0] VisibleString, datset [1] OPTIONAL, smpCnt [2] INT16U,
 *     confRev [3] INT32U, refrTm [4] OPTIONAL, smpSynch [5] INT8U,
 *     smpRate [6] OPTIONAL, sample [7] OCTET STRING, smpMod [8] OPTIONAL }
 *
 * SV runs at 4000+ frames per second per stream, so the rule is:
 * - NO event per frame. A stream is (flow, svID); the engine's flow is already per
 *   (src MAC, dst MAC, ethertype, VLAN). Streams are kept in a small table.
 * - One "new_stream" event the first time a stream is seen (taxonomy sv_anomaly
 *   covers new publishers; rules decide).
 * - One "anomaly" event per frame that raises an anomaly: sv.smpcnt_jump (smpCnt
 *   neither previous + 1 nor 0, the wrap at the sample rate), sv.smpcnt_regression
 *   (lower and not 0), sv.confrev_change, sv.malformed, sv.truncated.
 * - One "stream_summary" event every SV_SUMMARY_EVERY frames of the flow, with the
 *   counters since the previous summary (frames, asdus, first/last smpCnt,
 *   anomalies). state_free() cannot emit, so the tail (< SV_SUMMARY_EVERY frames)
 *   of a flow is not summarised: the flow.end event carries its packet count. */
#include <stdlib.h>
#include <string.h>

#include "ber.h"
#include "dissector.h"
#include "fnv.h"

#define SV_HDR_LEN       8
#define SV_MAX_STREAMS   8
#define SV_MAX_ASDU      16 /* ASDUs read per frame */
#define SV_SUMMARY_EVERY 4000
#define SV_MAX_FRAME     1518

static const char *const sv_anomalies[] = {
    "sv.malformed",         "sv.truncated",      "sv.smpcnt_jump",
    "sv.smpcnt_regression", "sv.confrev_change", NULL,
};

struct sv_stream {
    uint64_t id_hash;
    uint32_t conf_rev;
    uint16_t smp_cnt;
    uint8_t used;
    uint64_t last_us;
};

struct sv_state {
    struct sv_stream streams[SV_MAX_STREAMS];
    /* counters since the last summary */
    uint64_t frames, asdus, anomalies;
    uint32_t first_smp, last_smp;
    int have_smp;
    uint64_t total_frames;
};

/* What one ASDU said. */
struct sv_asdu {
    const uint8_t *id;
    size_t id_len;
    uint64_t smp_cnt, conf_rev, smp_synch;
    int have_id, have_cnt, have_rev, have_synch;
};

/* 9-2 encodes smpCnt, confRev and smpSynch as fixed-size unsigned values (not
 * minimal BER INTEGERs): 0x8000 is a count, not a negative number. */
static int sv_fixed_uint(const struct ber_tlv *t, size_t max, uint64_t *out)
{
    const uint8_t *p;
    size_t n;
    if (!ber_octets(t, &p, &n) || n == 0 || n > max) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    *out = v;
    return 1;
}

/* Reads one ASDU; returns 0 if its ASN.1 is broken. */
static int sv_read_asdu(struct cursor *c, struct sv_asdu *a)
{
    memset(a, 0, sizeof(*a));
    for (;;) {
        struct ber_tlv t;
        enum ber_status s = ber_read(c, &t);
        if (s == BER_EOF) return 1;
        if (s != BER_OK || t.cls != BER_CONTEXT) return 0;
        switch (t.tag) {
        case 0: a->have_id = ber_octets(&t, &a->id, &a->id_len); break;
        case 2: a->have_cnt = sv_fixed_uint(&t, 2, &a->smp_cnt); break;
        case 3: a->have_rev = sv_fixed_uint(&t, 4, &a->conf_rev); break;
        case 5: a->have_synch = sv_fixed_uint(&t, 1, &a->smp_synch); break;
        default: break;
        }
    }
}

static struct sv_stream *sv_stream_find(struct sv_state *st, uint64_t h, int *fresh)
{
    struct sv_stream *oldest = &st->streams[0];
    for (size_t i = 0; i < SV_MAX_STREAMS; i++) {
        struct sv_stream *s = &st->streams[i];
        if (s->used && s->id_hash == h) {
            *fresh = 0;
            return s;
        }
        if (!s->used) {
            oldest = s;
            break;
        }
        if (s->last_us < oldest->last_us) oldest = s;
    }
    memset(oldest, 0, sizeof(*oldest));
    oldest->used = 1;
    oldest->id_hash = h;
    *fresh = 1;
    return oldest;
}

/* Adds the frame header fields to an event we decided to emit. */
static void sv_head(struct event *e, uint16_t appid, uint16_t length, uint64_t no_asdu)
{
    ev_uint(e, "appid", appid);
    ev_uint(e, "length", length);
    ev_uint(e, "no_asdu", no_asdu);
}

static void sv_asdu_fields(struct event *e, const struct sv_asdu *a)
{
    if (a->have_id) ev_str(e, "sv_id", a->id, a->id_len);
    if (a->have_cnt) ev_uint(e, "smp_cnt", a->smp_cnt);
    if (a->have_rev) ev_uint(e, "conf_rev", a->conf_rev);
    if (a->have_synch) ev_uint(e, "smp_synch", a->smp_synch);
}

static size_t sv_parse(void *state, struct cursor *c, const struct pdu_info *info,
                       struct event_sink *sink)
{
    struct sv_state *st = state;
    uint64_t now = info->ts_us ? info->ts_us : sink->net.ts_us;
    size_t start = cursor_pos(c);
    /* the frame's verdict, turned into an event only if something is worth saying */
    const char *bad = NULL;
    uint64_t no_asdu = 0;
    uint32_t nasdu = 0;
    st->frames++;
    st->total_frames++;
    uint16_t appid = cursor_u16be(c);
    uint16_t length = cursor_u16be(c);
    cursor_skip(c, 4); /* reserved1, reserved2 */
    struct cursor apdu = cursor_make(NULL, 0);
    if (c->err) {
        bad = "sv.truncated";
    } else if (length < SV_HDR_LEN) {
        bad = "sv.malformed";
    } else {
        apdu = cursor_sub(c, length - SV_HDR_LEN);
        if (c->err) bad = "sv.truncated";
    }
    struct ber_tlv pdu, t;
    if (!bad && (ber_read(&apdu, &pdu) != BER_OK || !ber_is(&pdu, BER_APPLICATION, 1, 0)))
        bad = "sv.malformed";
    struct cursor seq = cursor_make(NULL, 0);
    while (!bad) {
        enum ber_status s = ber_read(&pdu.val, &t);
        if (s == BER_EOF) break;
        if (s != BER_OK || t.cls != BER_CONTEXT) {
            bad = "sv.malformed";
            break;
        }
        if (t.tag == 0 && !ber_uint(&t, &no_asdu)) bad = "sv.malformed";
        if (t.tag == 2 && t.constructed) seq = t.val;
    }
    while (!bad && nasdu < SV_MAX_ASDU) {
        struct ber_tlv at;
        enum ber_status s = ber_read(&seq, &at);
        if (s == BER_EOF) break;
        struct sv_asdu a;
        if (s != BER_OK || !ber_is(&at, BER_UNIVERSAL, 1, 16) || !sv_read_asdu(&at.val, &a) ||
            !a.have_id || !a.have_cnt) {
            bad = "sv.malformed";
            break;
        }
        nasdu++;
        st->asdus++;
        int fresh;
        struct sv_stream *sm = sv_stream_find(st, fnv1a64(FNV1A64_INIT, a.id, a.id_len), &fresh);
        uint16_t cnt = (uint16_t)a.smp_cnt;
        if (!st->have_smp) {
            st->first_smp = cnt;
            st->have_smp = 1;
        }
        st->last_smp = cnt;
        const char *an = NULL, *an2 = NULL;
        if (!fresh) {
            if (cnt != (uint16_t)(sm->smp_cnt + 1) && cnt != 0)
                an = cnt <= sm->smp_cnt ? "sv.smpcnt_regression" : "sv.smpcnt_jump";
            if (a.have_rev && a.conf_rev != sm->conf_rev) an2 = "sv.confrev_change";
        }
        if (fresh || an || an2) {
            struct event *e = event_begin(sink, "sv", EV_DIR_INDICATION);
            event_op(e, fresh ? "new_stream" : "anomaly");
            sv_head(e, appid, length, no_asdu);
            sv_asdu_fields(e, &a);
            if (!fresh) {
                ev_uint(e, "prev_smp_cnt", sm->smp_cnt);
                if (an2) ev_uint(e, "prev_conf_rev", sm->conf_rev);
            }
            if (an) event_anomaly(e, an);
            if (an2) event_anomaly(e, an2);
            if (an || an2) st->anomalies++;
            event_emit(sink, e);
        }
        sm->smp_cnt = cnt;
        if (a.have_rev) sm->conf_rev = (uint32_t)a.conf_rev;
        sm->last_us = now;
    }
    if (!bad && no_asdu != nasdu && nasdu < SV_MAX_ASDU)
        bad = "sv.malformed"; /* noASDU disagrees with seqASDU */
    if (bad) {
        st->anomalies++;
        struct event *e = event_begin(sink, "sv", EV_DIR_INDICATION);
        event_op(e, "anomaly");
        sv_head(e, appid, length, no_asdu);
        event_anomaly(e, bad);
        event_emit(sink, e);
    }
    if (st->frames >= SV_SUMMARY_EVERY) {
        struct event *e = event_begin(sink, "sv", EV_DIR_INDICATION);
        event_op(e, "stream_summary");
        ev_uint(e, "appid", appid);
        ev_uint(e, "frames", st->frames);
        ev_uint(e, "asdus", st->asdus);
        ev_uint(e, "first_smp_cnt", st->first_smp);
        ev_uint(e, "last_smp_cnt", st->last_smp);
        ev_uint(e, "anomalies", st->anomalies);
        ev_uint(e, "total_frames", st->total_frames);
        event_emit(sink, e);
        st->frames = st->asdus = st->anomalies = 0;
        st->have_smp = 0;
    }
    return cursor_pos(c) - start;
}

static void *sv_state_new(void)
{
    return calloc(1, sizeof(struct sv_state));
}

static void sv_state_free(void *state)
{
    free(state);
}

const struct dissector sv_dissector = {
    .id = DISS_SV,
    .name = "sv",
    .transports = DISS_L2,
    .ethertypes = {0x88BA, 0},
    .probe = NULL,
    .state_new = sv_state_new,
    .state_free = sv_state_free,
    .parse = sv_parse,
    .gap = NULL,
    .anomalies = sv_anomalies,
    .max_pdu = SV_MAX_FRAME,
};
