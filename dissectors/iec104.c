/* iec104.c - IEC 60870-5-104 over TCP: APCI framing (I/S/U formats, sequence
 * numbers) and the ASDU of I-format APDUs (type, cause, addresses, objects).
 *
 * APDU (multi-byte fields little-endian):
 *
 *   +------+-----+--------+--------+--------+--------+----------------------+
 *   | 0x68 | LEN | CTRL 1 | CTRL 2 | CTRL 3 | CTRL 4 | ASDU (I-format only) |
 *   +------+-----+--------+--------+--------+--------+----------------------+
 *   LEN counts from CTRL 1: 4..253.
 *   I-format: CTRL1 bit 0 = 0;  N(S) = CTRL1..2 >> 1,  N(R) = CTRL3..4 >> 1
 *   S-format: CTRL1 = 0x01;     N(R) = CTRL3..4 >> 1
 *   U-format: CTRL1 = xxxxxx11: STARTDT act 0x07 / con 0x0B, STOPDT act 0x13 /
 *             con 0x23, TESTFR act 0x43 / con 0x83
 *
 * ASDU:
 *
 *   +------+-----+-----+------------+---------+------------------------------+
 *   | TYPE | VSQ | COT | ORIGINATOR | CA (2)  | information objects          |
 *   +------+-----+-----+------------+---------+------------------------------+
 *   VSQ: SQ 0x80 | number of objects 0x7F.   COT: T 0x80 | P/N 0x40 | cause 0x3F
 *   object: IOA (3) + element (+ CP24/CP56 time tag); with SQ = 1 one IOA is
 *   followed by all elements, at consecutive addresses.
 *
 * One event per APDU. I-format: code = type id (tshark iec60870_asdu.typeid).
 * S- and U-format: code null, field apci "S"/"U", U function in field u.
 *
 * Ops (the taxonomy's iec104_* ids without the prefix, else a readable name):
 *
 *   type  name        op                          type  name        op
 *   1     M_SP_NA_1   single_point                45    C_SC_NA_1   single_command
 *   2     M_SP_TA_1   single_point                46    C_DC_NA_1   double_command
 *   3     M_DP_NA_1   double_point                47    C_RC_NA_1   regulating_step
 *   4     M_DP_TA_1   double_point                48-50 C_SE_N*_1   setpoint
 *   5     M_ST_NA_1   step_position               51    C_BO_NA_1   bitstring_command
 *   6     M_ST_TA_1   step_position               58-64 C_*_TA_1    as 45-51 (time tagged)
 *   7     M_BO_NA_1   bitstring                   70    M_EI_NA_1   end_of_init
 *   8     M_BO_TA_1   bitstring                   81-86 S_*         secure_auth
 *   9-10  M_ME_NA/TA  measured_normalized         87    S_ER_NA_1   secure_auth_error
 *   11-12 M_ME_NB/TB  measured_scaled             88-95 S_*         secure_auth
 *   13-14 M_ME_NC/TC  measured_float              100   C_IC_NA_1   interrogation
 *   15-16 M_IT_NA/TA  integrated_totals           101   C_CI_NA_1   counter_interrogation
 *   17-19 M_EP_T*_1   protection_event            102   C_RD_NA_1   read
 *   20    M_PS_NA_1   packed_single_point         103   C_CS_NA_1   clock_sync
 *   21    M_ME_ND_1   measured_normalized         105   C_RP_NA_1   reset_process
 *   30    M_SP_TB_1   single_point                106   C_CD_NA_1   delay_acquisition
 *   31    M_DP_TB_1   double_point                107   C_TS_TA_1   test_command
 *   32    M_ST_TB_1   step_position               110-112 P_ME_N*_1 parameter_change
 *   33    M_BO_TB_1   bitstring                   113   P_AC_NA_1   parameter_change
 *   34-36 M_ME_T*_1   measured_* (as 9, 11, 13)   120-127 F_*       file_transfer
 *   37    M_IT_TB_1   integrated_totals           other (incl. 104 C_TS_NA_1,
 *   38-40 M_EP_T*_1   protection_event             IEC 101 only) unknown_type
 *   41    S_IT_TC_1   security_statistics
 *
 *   S-format: ack.  U-format: startdt, startdt_con, stopdt, stopdt_con, testfr,
 *   testfr_con (field u: startdt_act, startdt_con, ...).
 *
 * Fields of the "iec104" object: len, apci ("I"/"S"/"U"), ns, nr, u; I-format:
 * type (IEC name), sq, num, cot, negative (P/N), test, oa, ca, ioa (the first),
 * objects [{ioa, value, quality | qu, select | ql | qoi | qcc | time ...}] (the
 * first IEC104_MAX_OBJS), objects_partial (layout unknown or variable), and on
 * confirmations/terminations request_cot and latency_us of the activation.
 *
 * ioa_sweep (a derived event, code null, after the APDU's own): command activations
 * (type 45-64, COT 6) to iec104.sweep_ioas distinct CA/IOA pairs on this connection
 * within iec104.sweep_window_ms of packet time, as Industroyer's 104 module walked a
 * station's IOAs. One event per episode: the next needs a window without commands.
 * At most IEC104_SWEEP_MAX pairs are kept per flow. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diss_params.h"
#include "dissector.h"

#define IEC104_START    0x68
#define IEC104_MAX_LEN  253 /* largest LEN octet */
#define IEC104_MAX_OBJS 8   /* information objects listed per event */
#define IEC104_SEQ_MOD  0x7FFF

static const char A_BAD_START[] = "iec104.bad_start";
static const char A_BAD_LENGTH[] = "iec104.bad_length";
static const char A_UNKNOWN_TYPE[] = "iec104.unknown_type";
static const char A_SEQ_GAP[] = "iec104.sequence_gap";
static const char A_BAD_ACK[] = "iec104.bad_ack";
static const char A_BAD_U[] = "iec104.bad_u_format";
static const char A_TRUNCATED[] = "iec104.truncated_asdu";
static const char A_BAD_OBJECTS[] = "iec104.bad_object_count";

static const char *const iec104_anomalies[] = {
    A_BAD_START, A_BAD_LENGTH, A_UNKNOWN_TYPE, A_SEQ_GAP, A_BAD_ACK,
    A_BAD_U,     A_TRUNCATED,  A_BAD_OBJECTS,  NULL,
};

/* Element layout of a type: what the element holds and which time tag follows. */
enum iec104_elem {
    E_NONE,    /* no element (C_RD_NA_1) */
    E_SIQ,     /* single point + quality */
    E_DIQ,     /* double point + quality */
    E_VTI,     /* step position + QDS */
    E_BSI_Q,   /* 32-bit string + QDS */
    E_NVA_Q,   /* normalised value + QDS */
    E_NVA,     /* normalised value, no quality */
    E_SVA_Q,   /* scaled value + QDS */
    E_FLT_Q,   /* float + QDS */
    E_BCR,     /* binary counter reading */
    E_SCD_Q,   /* status and change detection + QDS */
    E_RAW,     /* decoded as a length only (protection, security) */
    E_SCO,     /* single command */
    E_DCO,     /* double command */
    E_RCO,     /* regulating step command */
    E_NVA_QOS, /* set-point normalised */
    E_SVA_QOS, /* set-point scaled */
    E_FLT_QOS, /* set-point float */
    E_BSI,     /* bitstring command */
    E_COI,     /* cause of initialisation */
    E_QOI,     /* interrogation qualifier */
    E_QCC,     /* counter interrogation qualifier */
    E_CP56,    /* clock sync */
    E_FBP,     /* test pattern (IEC 101 C_TS_NA_1) */
    E_QRP,     /* reset process qualifier */
    E_CP16,    /* delay (IEC 101 C_CD_NA_1) */
    E_TSC,     /* test sequence counter + CP56 */
    E_NVA_QPM, /* parameter normalised */
    E_SVA_QPM, /* parameter scaled */
    E_FLT_QPM, /* parameter float */
    E_QPA,     /* parameter activation */
    E_FILE,    /* file transfer types */
};

struct iec104_type {
    uint8_t id;
    uint8_t elem;     /* enum iec104_elem */
    uint8_t size;     /* element bytes incl. time tag; 0 with E_RAW = variable */
    uint8_t tag;      /* time tag: 0 none, 3 CP24, 7 CP56 */
    const char *name; /* IEC name */
    const char *op;
};

static const struct iec104_type iec104_types[] = {
    {1, E_SIQ, 1, 0, "M_SP_NA_1", "single_point"},
    {2, E_SIQ, 4, 3, "M_SP_TA_1", "single_point"},
    {3, E_DIQ, 1, 0, "M_DP_NA_1", "double_point"},
    {4, E_DIQ, 4, 3, "M_DP_TA_1", "double_point"},
    {5, E_VTI, 2, 0, "M_ST_NA_1", "step_position"},
    {6, E_VTI, 5, 3, "M_ST_TA_1", "step_position"},
    {7, E_BSI_Q, 5, 0, "M_BO_NA_1", "bitstring"},
    {8, E_BSI_Q, 8, 3, "M_BO_TA_1", "bitstring"},
    {9, E_NVA_Q, 3, 0, "M_ME_NA_1", "measured_normalized"},
    {10, E_NVA_Q, 6, 3, "M_ME_TA_1", "measured_normalized"},
    {11, E_SVA_Q, 3, 0, "M_ME_NB_1", "measured_scaled"},
    {12, E_SVA_Q, 6, 3, "M_ME_TB_1", "measured_scaled"},
    {13, E_FLT_Q, 5, 0, "M_ME_NC_1", "measured_float"},
    {14, E_FLT_Q, 8, 3, "M_ME_TC_1", "measured_float"},
    {15, E_BCR, 5, 0, "M_IT_NA_1", "integrated_totals"},
    {16, E_BCR, 8, 3, "M_IT_TA_1", "integrated_totals"},
    {17, E_RAW, 6, 3, "M_EP_TA_1", "protection_event"},
    {18, E_RAW, 7, 3, "M_EP_TB_1", "protection_event"},
    {19, E_RAW, 7, 3, "M_EP_TC_1", "protection_event"},
    {20, E_SCD_Q, 5, 0, "M_PS_NA_1", "packed_single_point"},
    {21, E_NVA, 2, 0, "M_ME_ND_1", "measured_normalized"},
    {30, E_SIQ, 8, 7, "M_SP_TB_1", "single_point"},
    {31, E_DIQ, 8, 7, "M_DP_TB_1", "double_point"},
    {32, E_VTI, 9, 7, "M_ST_TB_1", "step_position"},
    {33, E_BSI_Q, 12, 7, "M_BO_TB_1", "bitstring"},
    {34, E_NVA_Q, 10, 7, "M_ME_TD_1", "measured_normalized"},
    {35, E_SVA_Q, 10, 7, "M_ME_TE_1", "measured_scaled"},
    {36, E_FLT_Q, 12, 7, "M_ME_TF_1", "measured_float"},
    {37, E_BCR, 12, 7, "M_IT_TB_1", "integrated_totals"},
    {38, E_RAW, 10, 7, "M_EP_TD_1", "protection_event"},
    {39, E_RAW, 11, 7, "M_EP_TE_1", "protection_event"},
    {40, E_RAW, 11, 7, "M_EP_TF_1", "protection_event"},
    {41, E_RAW, 0, 0, "S_IT_TC_1", "security_statistics"},
    {45, E_SCO, 1, 0, "C_SC_NA_1", "single_command"},
    {46, E_DCO, 1, 0, "C_DC_NA_1", "double_command"},
    {47, E_RCO, 1, 0, "C_RC_NA_1", "regulating_step"},
    {48, E_NVA_QOS, 3, 0, "C_SE_NA_1", "setpoint"},
    {49, E_SVA_QOS, 3, 0, "C_SE_NB_1", "setpoint"},
    {50, E_FLT_QOS, 5, 0, "C_SE_NC_1", "setpoint"},
    {51, E_BSI, 4, 0, "C_BO_NA_1", "bitstring_command"},
    {58, E_SCO, 8, 7, "C_SC_TA_1", "single_command"},
    {59, E_DCO, 8, 7, "C_DC_TA_1", "double_command"},
    {60, E_RCO, 8, 7, "C_RC_TA_1", "regulating_step"},
    {61, E_NVA_QOS, 10, 7, "C_SE_TA_1", "setpoint"},
    {62, E_SVA_QOS, 10, 7, "C_SE_TB_1", "setpoint"},
    {63, E_FLT_QOS, 12, 7, "C_SE_TC_1", "setpoint"},
    {64, E_BSI, 11, 7, "C_BO_TA_1", "bitstring_command"},
    {70, E_COI, 1, 0, "M_EI_NA_1", "end_of_init"},
    {81, E_RAW, 0, 0, "S_CH_NA_1", "secure_auth"},
    {82, E_RAW, 0, 0, "S_RP_NA_1", "secure_auth"},
    {83, E_RAW, 0, 0, "S_AR_NA_1", "secure_auth"},
    {84, E_RAW, 0, 0, "S_KR_NA_1", "secure_auth"},
    {85, E_RAW, 0, 0, "S_KS_NA_1", "secure_auth"},
    {86, E_RAW, 0, 0, "S_KC_NA_1", "secure_auth"},
    {87, E_RAW, 0, 0, "S_ER_NA_1", "secure_auth_error"},
    {90, E_RAW, 0, 0, "S_US_NA_1", "secure_auth"},
    {91, E_RAW, 0, 0, "S_UQ_NA_1", "secure_auth"},
    {92, E_RAW, 0, 0, "S_UR_NA_1", "secure_auth"},
    {93, E_RAW, 0, 0, "S_UK_NA_1", "secure_auth"},
    {94, E_RAW, 0, 0, "S_UA_NA_1", "secure_auth"},
    {95, E_RAW, 0, 0, "S_UC_NA_1", "secure_auth"},
    {100, E_QOI, 1, 0, "C_IC_NA_1", "interrogation"},
    {101, E_QCC, 1, 0, "C_CI_NA_1", "counter_interrogation"},
    {102, E_NONE, 0, 0, "C_RD_NA_1", "read"},
    {103, E_CP56, 7, 0, "C_CS_NA_1", "clock_sync"},
    {105, E_QRP, 1, 0, "C_RP_NA_1", "reset_process"},
    {106, E_CP16, 2, 0, "C_CD_NA_1", "delay_acquisition"},
    {107, E_TSC, 9, 0, "C_TS_TA_1", "test_command"},
    {110, E_NVA_QPM, 3, 0, "P_ME_NA_1", "parameter_change"},
    {111, E_SVA_QPM, 3, 0, "P_ME_NB_1", "parameter_change"},
    {112, E_FLT_QPM, 5, 0, "P_ME_NC_1", "parameter_change"},
    {113, E_QPA, 1, 0, "P_AC_NA_1", "parameter_change"},
    {120, E_FILE, 6, 0, "F_FR_NA_1", "file_transfer"},
    {121, E_FILE, 7, 0, "F_SR_NA_1", "file_transfer"},
    {122, E_FILE, 4, 0, "F_SC_NA_1", "file_transfer"},
    {123, E_FILE, 5, 0, "F_LS_NA_1", "file_transfer"},
    {124, E_FILE, 4, 0, "F_AF_NA_1", "file_transfer"},
    {125, E_FILE, 0, 0, "F_SG_NA_1", "file_transfer"},
    {126, E_FILE, 13, 7, "F_DR_TA_1", "file_transfer"},
    {127, E_FILE, 16, 0, "F_SC_NB_1", "file_transfer"},
};

/* IEC 101-only types kept in the table for their names, flagged unknown in 104. */
static const struct iec104_type iec104_type_101[] = {
    {104, E_FBP, 2, 0, "C_TS_NA_1", "unknown_type"},
};

static const struct iec104_type *iec104_type_of(unsigned id)
{
    for (size_t i = 0; i < sizeof(iec104_types) / sizeof(iec104_types[0]); i++)
        if (iec104_types[i].id == id) return &iec104_types[i];
    return NULL;
}

/* Sequence tracking of one direction. */
struct iec104_dir {
    uint8_t ns_valid, nr_valid;
    uint16_t ns_next; /* N(S) the next I-format APDU should carry */
    uint16_t nr_last; /* last N(R) sent in this direction */
};

/* An activation (COT 6) or deactivation (8) awaiting its confirmation (7, 9)
 * or termination (10), so that the answer can name it (DESIGN §2). */
struct iec104_pending {
    uint8_t used, type, cot;
    uint16_t ca;
    uint32_t ioa;
    uint64_t ts_us;
};

#define IEC104_PENDING 8

/* Command activations of the current window, for ioa_sweep. */
#define IEC104_SWEEP_MAX 64 /* the most distinct CA/IOA pairs counted (iec104.sweep_ioas) */
struct iec104_sweep {
    uint64_t key[IEC104_SWEEP_MAX]; /* CA << 24 | IOA */
    uint64_t ts[IEC104_SWEEP_MAX];  /* its last command */
    uint8_t n;
    uint8_t in_episode; /* reported: quiet until a window passes without commands */
    uint8_t fire;       /* report after the APDU's event: the count it reached */
    uint64_t last_ts;   /* the last command counted or seen during the episode */
    uint64_t first_ts;  /* the oldest command of the reported window */
    uint16_t fire_ca;   /* the command that completed it */
    uint32_t fire_ioa;
};

struct iec104_state {
    struct iec104_dir d[2]; /* [1] from the client (to_server), [0] from the server */
    struct iec104_pending pend[IEC104_PENDING];
    uint8_t pend_next; /* slot to reuse when all are taken (oldest first) */
    struct iec104_sweep sweep;
};

/* One command activation to (ca, ioa) at ts: counts it, and sets sw->fire when the
 * window holds `want` distinct pairs. */
static void iec104_sweep_note(struct iec104_sweep *sw, const struct diss_params *pr, uint16_t ca,
                              uint32_t ioa, uint64_t ts)
{
    unsigned want = pr->iec104_sweep_ioas;
    if (want == 0) return;
    if (want > IEC104_SWEEP_MAX) want = IEC104_SWEEP_MAX;
    uint64_t win = (uint64_t)pr->iec104_sweep_window_ms * 1000;
    if (sw->in_episode) {
        if (ts >= sw->last_ts && ts - sw->last_ts <= win) {
            sw->last_ts = ts; /* the sweep goes on */
            return;
        }
        sw->in_episode = 0;
        sw->n = 0;
    }
    uint64_t key = (uint64_t)ca << 24 | (ioa & 0xFFFFFF);
    unsigned k = 0, oldest = 0, found = IEC104_SWEEP_MAX;
    for (unsigned i = 0; i < sw->n; i++) { /* drop what left the window, keep order */
        if (ts > sw->ts[i] && ts - sw->ts[i] > win) continue;
        sw->key[k] = sw->key[i];
        sw->ts[k] = sw->ts[i];
        if (sw->key[k] == key) found = k;
        if (sw->ts[k] < sw->ts[oldest]) oldest = k;
        k++;
    }
    sw->n = (uint8_t)k;
    if (found < IEC104_SWEEP_MAX) {
        sw->ts[found] = ts;
    } else {
        if (sw->n == IEC104_SWEEP_MAX) { /* only when want < n: replace the oldest */
            sw->key[oldest] = key;
            sw->ts[oldest] = ts;
        } else {
            sw->key[sw->n] = key;
            sw->ts[sw->n] = ts;
            sw->n++;
        }
    }
    if (sw->n >= want) {
        uint64_t first = ts;
        for (unsigned i = 0; i < sw->n; i++)
            if (sw->ts[i] < first) first = sw->ts[i];
        sw->fire = sw->n;
        sw->fire_ca = ca;
        sw->fire_ioa = ioa & 0xFFFFFF;
        sw->first_ts = first;
        sw->in_episode = 1;
        sw->last_ts = ts;
        sw->n = 0;
    }
}

/* Remembers an activation, or adds to its answer what it answers. */
static void iec104_match(struct iec104_state *st, struct event *e, uint8_t type, unsigned cot,
                         uint16_t ca, uint32_t ioa, uint64_t ts)
{
    if (cot == 6 || cot == 8) {
        struct iec104_pending *p = NULL;
        for (int i = 0; i < IEC104_PENDING && !p; i++)
            if (!st->pend[i].used ||
                (st->pend[i].type == type && st->pend[i].ca == ca && st->pend[i].ioa == ioa))
                p = &st->pend[i];
        if (!p) {
            p = &st->pend[st->pend_next];
            st->pend_next = (uint8_t)((st->pend_next + 1) % IEC104_PENDING);
        }
        *p = (struct iec104_pending){1, type, (uint8_t)cot, ca, ioa, ts};
        return;
    }
    if (cot != 7 && cot != 9 && cot != 10) return;
    for (int i = 0; i < IEC104_PENDING; i++) {
        struct iec104_pending *p = &st->pend[i];
        if (!p->used || p->type != type || p->ca != ca || p->ioa != ioa) continue;
        ev_uint(e, "request_cot", p->cot);
        if (ts >= p->ts_us) ev_uint(e, "latency_us", ts - p->ts_us);
        if (cot == 10) /* a termination ends it; a confirmation may be followed by one */
            p->used = 0;
        return;
    }
}

/* ---- element values ---- */

static void iec104_cp56(struct event *e, struct cursor *c)
{
    uint16_t ms = cursor_u16le(c);
    uint8_t min = cursor_u8(c), hour = cursor_u8(c), day = cursor_u8(c);
    uint8_t mon = cursor_u8(c), year = cursor_u8(c);
    if (c->err) return;
    /* 7-bit year: 0..69 is 2000.., 70..127 is 1970.. (as Wireshark shows it) */
    unsigned y = year & 0x7Fu;
    y += y < 70 ? 2000u : 1900u;
    char buf[40];
    int n = snprintf(buf, sizeof(buf), "%04u-%02u-%02uT%02u:%02u:%02u.%03u", y, mon & 0x0Fu,
                     day & 0x1Fu, hour & 0x1Fu, min & 0x3Fu, ms / 1000u, ms % 1000u);
    if (n > 0) ev_str(e, "time", buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    if (min & 0x80) ev_bool(e, "time_invalid", 1);
    if (hour & 0x80) ev_bool(e, "time_summer", 1);
}

static void iec104_cp24(struct event *e, struct cursor *c)
{
    uint16_t ms = cursor_u16le(c);
    uint8_t min = cursor_u8(c);
    if (c->err) return;
    ev_uint(e, "time_min", min & 0x3F);
    ev_uint(e, "time_ms", ms);
    if (min & 0x80) ev_bool(e, "time_invalid", 1);
}

static double iec104_float(struct cursor *c)
{
    uint32_t b = cursor_u32le(c);
    float f;
    memcpy(&f, &b, sizeof(f));
    return f;
}

/* Select/execute and qualifier of a command octet (SCO, DCO, RCO). */
static void iec104_cmd_qual(struct event *e, uint8_t o)
{
    ev_uint(e, "qu", (o >> 2) & 0x1F);
    ev_bool(e, "select", o & 0x80);
}

static void iec104_qos(struct event *e, uint8_t q)
{
    ev_uint(e, "ql", q & 0x7F);
    ev_bool(e, "select", q & 0x80);
}

static void iec104_qpm(struct event *e, uint8_t q)
{
    ev_uint(e, "kpa", q & 0x3F);
    ev_bool(e, "lpc", q & 0x40);
    ev_bool(e, "pop", q & 0x80);
}

/* Decodes one element (o covers exactly its bytes, time tag included). */
static void iec104_element(struct event *e, struct cursor *o, const struct iec104_type *t)
{
    uint8_t b;
    switch (t->elem) {
    case E_SIQ:
        b = cursor_u8(o);
        ev_uint(e, "value", b & 1);
        ev_uint(e, "quality", b & 0xF0);
        break;
    case E_DIQ:
        b = cursor_u8(o);
        ev_uint(e, "value", b & 3);
        ev_uint(e, "quality", b & 0xF0);
        break;
    case E_VTI:
        b = cursor_u8(o);
        ev_int(e, "value", (int8_t)(uint8_t)(b << 1) >> 1); /* 7-bit two's complement */
        ev_bool(e, "transient", b & 0x80);
        ev_uint(e, "quality", cursor_u8(o));
        break;
    case E_BSI_Q:
        ev_uint(e, "value", cursor_u32le(o));
        ev_uint(e, "quality", cursor_u8(o));
        break;
    case E_NVA_Q:
    case E_NVA:
        ev_double(e, "value", (int16_t)cursor_u16le(o) / 32768.0);
        if (t->elem == E_NVA_Q) ev_uint(e, "quality", cursor_u8(o));
        break;
    case E_SVA_Q:
        ev_int(e, "value", (int16_t)cursor_u16le(o));
        ev_uint(e, "quality", cursor_u8(o));
        break;
    case E_FLT_Q:
        ev_double(e, "value", iec104_float(o));
        ev_uint(e, "quality", cursor_u8(o));
        break;
    case E_BCR:
        ev_int(e, "value", (int32_t)cursor_u32le(o));
        ev_uint(e, "sequence", cursor_u8(o));
        break;
    case E_SCD_Q:
        ev_uint(e, "value", cursor_u32le(o));
        ev_uint(e, "quality", cursor_u8(o));
        break;
    case E_SCO:
        b = cursor_u8(o);
        ev_uint(e, "value", b & 1);
        iec104_cmd_qual(e, b);
        break;
    case E_DCO:
    case E_RCO:
        b = cursor_u8(o);
        ev_uint(e, "value", b & 3);
        iec104_cmd_qual(e, b);
        break;
    case E_NVA_QOS:
        ev_double(e, "value", (int16_t)cursor_u16le(o) / 32768.0);
        iec104_qos(e, cursor_u8(o));
        break;
    case E_SVA_QOS:
        ev_int(e, "value", (int16_t)cursor_u16le(o));
        iec104_qos(e, cursor_u8(o));
        break;
    case E_FLT_QOS:
        ev_double(e, "value", iec104_float(o));
        iec104_qos(e, cursor_u8(o));
        break;
    case E_BSI: ev_uint(e, "value", cursor_u32le(o)); break;
    case E_COI:
        b = cursor_u8(o);
        ev_uint(e, "cause", b & 0x7F);
        ev_bool(e, "local_change", b & 0x80);
        break;
    case E_QOI: ev_uint(e, "qoi", cursor_u8(o)); break;
    case E_QCC:
        b = cursor_u8(o);
        ev_uint(e, "rqt", b & 0x3F);
        ev_uint(e, "frz", b >> 6);
        break;
    case E_CP56: iec104_cp56(e, o); break;
    case E_FBP: ev_uint(e, "value", cursor_u16le(o)); break;
    case E_QRP: ev_uint(e, "qrp", cursor_u8(o)); break;
    case E_CP16: ev_uint(e, "value", cursor_u16le(o)); break;
    case E_TSC:
        ev_uint(e, "tsc", cursor_u16le(o));
        iec104_cp56(e, o);
        break;
    case E_NVA_QPM:
        ev_double(e, "value", (int16_t)cursor_u16le(o) / 32768.0);
        iec104_qpm(e, cursor_u8(o));
        break;
    case E_SVA_QPM:
        ev_int(e, "value", (int16_t)cursor_u16le(o));
        iec104_qpm(e, cursor_u8(o));
        break;
    case E_FLT_QPM:
        ev_double(e, "value", iec104_float(o));
        iec104_qpm(e, cursor_u8(o));
        break;
    case E_QPA: ev_uint(e, "qpa", cursor_u8(o)); break;
    case E_FILE:
        ev_uint(e, "file", cursor_u16le(o)); /* name of file */
        switch (t->id) {
        case 120:
        case 126: ev_uint(e, "length", cursor_u24le(o)); break;
        case 121:
            ev_uint(e, "section", cursor_u8(o));
            ev_uint(e, "length", cursor_u24le(o));
            break;
        case 122:
        case 123:
        case 124:
        case 125: ev_uint(e, "section", cursor_u8(o)); break;
        default: break;
        }
        break;
    default: break;
    }
    if (t->tag == 3 && !o->err && cursor_left(o) == 3)
        iec104_cp24(e, o);
    else if (t->tag == 7 && !o->err && cursor_left(o) == 7)
        iec104_cp56(e, o);
}

/* ---- APDUs ---- */

static enum ev_dir iec104_dir_of(unsigned cot, int to_server)
{
    if (cot == 6 || cot == 8) return EV_DIR_REQUEST;
    if (cot == 7 || cot == 9 || cot == 10 || (cot >= 44 && cot <= 47) || cot == 5 ||
        (cot >= 20 && cot <= 41))
        return EV_DIR_RESPONSE;
    return to_server ? EV_DIR_REQUEST : EV_DIR_INDICATION;
}

/* The ASDU of an I-format APDU: the event's code, addresses and objects. */
static void iec104_asdu(struct iec104_state *st, struct event *e, struct cursor *c,
                        const struct pdu_info *info, const struct diss_params *pr)
{
    int to_server = info->to_server;
    uint8_t type = cursor_u8(c);
    if (c->err) {
        event_op(e, "malformed");
        event_anomaly(e, A_TRUNCATED);
        return;
    }
    const struct iec104_type *t = iec104_type_of(type);
    if (!t) {
        event_anomaly(e, A_UNKNOWN_TYPE);
        if (type == iec104_type_101[0].id) ev_cstr(e, "type", iec104_type_101[0].name);
    } else {
        ev_cstr(e, "type", t->name);
    }
    event_code(e, type, t ? t->op : "unknown_type");
    uint8_t vsq = cursor_u8(c), cot = cursor_u8(c), oa = cursor_u8(c);
    uint16_t ca = cursor_u16le(c);
    if (c->err) {
        event_anomaly(e, A_TRUNCATED);
        return;
    }
    e->dir = (uint8_t)iec104_dir_of(cot & 0x3F, to_server);
    unsigned sq = vsq >> 7, num = vsq & 0x7F;
    ev_bool(e, "sq", sq);
    ev_uint(e, "num", num);
    ev_uint(e, "cot", cot & 0x3F);
    ev_bool(e, "negative", cot & 0x40);
    ev_bool(e, "test", cot & 0x80);
    ev_uint(e, "oa", oa);
    ev_uint(e, "ca", ca);
    struct cursor first = *c;
    uint32_t ioa0 = cursor_u24le(&first);
    iec104_match(st, e, type, cot & 0x3F, ca, first.err ? 0 : ioa0, info->ts_us);
    if (num == 0) {
        if (cursor_left(c)) event_anomaly(e, A_BAD_OBJECTS);
        return;
    }
    if (!t || (t->size == 0 && t->elem != E_NONE)) { /* unknown or variable layout */
        uint32_t ioa = cursor_u24le(c);
        if (!c->err) ev_uint(e, "ioa", ioa);
        ev_bool(e, "objects_partial", 1);
        return;
    }
    size_t size = t->size;
    size_t want = sq ? 3 + num * size : num * (3 + size);
    if (cursor_left(c) != want)
        event_anomaly(e, cursor_left(c) < want ? A_TRUNCATED : A_BAD_OBJECTS);
    struct cursor peek = *c; /* the first IOA also at top level, for rules */
    uint32_t ioa = cursor_u24le(&peek);
    if (!peek.err) ev_uint(e, "ioa", ioa);
    int command = type >= 45 && type <= 64 && (cot & 0x3F) == 6;
    ev_arr_begin(e, "objects");
    for (unsigned i = 0; i < num; i++) {
        if (i == 0 || !sq)
            ioa = cursor_u24le(c);
        else
            ioa = (ioa + 1) & 0xFFFFFF;
        struct cursor o = cursor_sub(c, size);
        if (c->err) break;
        if (command) iec104_sweep_note(&st->sweep, pr, ca, ioa, info->ts_us);
        if (i < IEC104_MAX_OBJS) {
            ev_obj_begin(e, NULL);
            ev_uint(e, "ioa", ioa);
            iec104_element(e, &o, t);
            ev_end(e);
        }
    }
    ev_end(e);
}

static const char *iec104_u_name(uint8_t c1, const char **op)
{
    switch (c1) {
    case 0x07: *op = "startdt"; return "startdt_act";
    case 0x0B: *op = "startdt_con"; return "startdt_con";
    case 0x13: *op = "stopdt"; return "stopdt_act";
    case 0x23: *op = "stopdt_con"; return "stopdt_con";
    case 0x43: *op = "testfr"; return "testfr_act";
    case 0x83: *op = "testfr_con"; return "testfr_con";
    default: *op = "u_invalid"; return NULL;
    }
}

/* Checks N(R) sent from direction `me` against what the peer has sent. */
static void iec104_check_nr(struct event *e, struct iec104_state *st, int me, uint16_t nr)
{
    struct iec104_dir *d = &st->d[me], *peer = &st->d[!me];
    /* acknowledging more than the peer has sent */
    if (peer->ns_valid && ((nr - peer->ns_next) & IEC104_SEQ_MOD) != 0 &&
        ((nr - peer->ns_next) & IEC104_SEQ_MOD) < 0x4000)
        event_anomaly(e, A_BAD_ACK);
    /* acknowledgements never go backwards */
    if (d->nr_valid && ((nr - d->nr_last) & IEC104_SEQ_MOD) >= 0x4000) event_anomaly(e, A_BAD_ACK);
    d->nr_last = nr;
    d->nr_valid = 1;
}

/* One APDU: a covers exactly START, LEN and LEN bytes. */
static void iec104_apdu(struct iec104_state *st, struct cursor *a, const struct pdu_info *info,
                        struct event_sink *sink)
{
    int me = info->to_server ? 1 : 0;
    cursor_skip(a, 1);
    uint8_t len = cursor_u8(a);
    uint8_t c1 = cursor_u8(a), c2 = cursor_u8(a), c3 = cursor_u8(a), c4 = cursor_u8(a);
    struct event *e =
        event_begin(sink, "iec104", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    ev_uint(e, "len", len);
    uint16_t nr = (uint16_t)((c3 | c4 << 8) >> 1);
    if (!(c1 & 1)) {
        uint16_t ns = (uint16_t)((c1 | c2 << 8) >> 1);
        ev_cstr(e, "apci", "I");
        ev_uint(e, "ns", ns);
        ev_uint(e, "nr", nr);
        struct iec104_dir *d = &st->d[me];
        if (d->ns_valid && ns != d->ns_next) event_anomaly(e, A_SEQ_GAP);
        d->ns_next = (ns + 1) & IEC104_SEQ_MOD;
        d->ns_valid = 1;
        iec104_check_nr(e, st, me, nr);
        iec104_asdu(st, e, a, info, diss_params_of(sink));
    } else if ((c1 & 3) == 1) {
        ev_cstr(e, "apci", "S");
        ev_uint(e, "nr", nr);
        event_op(e, "ack");
        iec104_check_nr(e, st, me, nr);
        if (len != 4) event_anomaly(e, A_BAD_LENGTH);
    } else {
        const char *op;
        const char *u = iec104_u_name(c1, &op);
        ev_cstr(e, "apci", "U");
        if (u)
            ev_cstr(e, "u", u);
        else
            event_anomaly(e, A_BAD_U);
        event_op(e, op);
        e->dir = (uint8_t)((c1 & 0x54) ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
        if (len != 4) event_anomaly(e, A_BAD_LENGTH);
    }
    event_emit(sink, e);
    if (st->sweep.fire) {
        const struct diss_params *pr = diss_params_of(sink);
        e = event_begin(sink, "iec104", EV_DIR_REQUEST);
        event_op(e, "ioa_sweep");
        ev_uint(e, "distinct_ioas", st->sweep.fire);
        ev_uint(e, "window_ms", pr->iec104_sweep_window_ms);
        ev_uint(e, "ca", st->sweep.fire_ca);
        ev_uint(e, "ioa", st->sweep.fire_ioa);
        if (info->ts_us >= st->sweep.first_ts)
            ev_uint(e, "span_ms", (info->ts_us - st->sweep.first_ts) / 1000);
        event_emit(sink, e);
        st->sweep.fire = 0;
    }
}

static void iec104_malformed(struct event_sink *sink, const struct pdu_info *info,
                             const char *anomaly)
{
    struct event *e =
        event_begin(sink, "iec104", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    event_op(e, "malformed");
    event_anomaly(e, anomaly);
    event_emit(sink, e);
}

/* ---- dissector entry points ---- */

static enum probe_result iec104_probe(struct cursor *c, int to_server)
{
    int ok0, ok1, ok2;
    const char *op;
    uint8_t b0 = cursor_peek_u8(c, 0, &ok0), len = cursor_peek_u8(c, 1, &ok1);
    uint8_t c1 = cursor_peek_u8(c, 2, &ok2);
    if (!ok0) return PROBE_NEED_MORE;
    if (b0 != IEC104_START) return PROBE_NO;
    if (!ok1) return PROBE_NEED_MORE;
    if (len < 4 || len > IEC104_MAX_LEN) return PROBE_NO;
    if (!ok2) return PROBE_NEED_MORE;
    if ((c1 & 3) == 3) /* U-format must be exactly one function, 4 bytes */
        return (len == 4 && iec104_u_name(c1, &op)) ? PROBE_YES : PROBE_NO;
    if ((c1 & 3) == 1) return len == 4 ? PROBE_YES : PROBE_NO;
    return len >= 10 ? PROBE_YES : PROBE_NO;
}

static void *iec104_state_new(void)
{
    return calloc(1, sizeof(struct iec104_state));
}

static void iec104_state_free(void *state)
{
    free(state);
}

static void iec104_gap(void *state, int to_server)
{
    struct iec104_state *st = state;
    if (st) memset(&st->d[to_server ? 1 : 0], 0, sizeof(st->d[0]));
}

static size_t iec104_parse(void *state, struct cursor *c, const struct pdu_info *info,
                           struct event_sink *sink)
{
    struct iec104_state *st = state;
    size_t start = cursor_pos(c);
    if (!st) return cursor_left(c);
    if (info->after_gap) iec104_gap(st, info->to_server);
    while (cursor_left(c) > 0 && !c->err) {
        int ok;
        if (cursor_peek_u8(c, 0, NULL) != IEC104_START) {
            size_t skip = 1;
            while (skip < cursor_left(c) && cursor_peek_u8(c, skip, &ok) != IEC104_START)
                skip++;
            iec104_malformed(sink, info, A_BAD_START);
            cursor_skip(c, skip);
            continue;
        }
        uint8_t len = cursor_peek_u8(c, 1, &ok);
        if (!ok) break;
        if (len < 4 || len > IEC104_MAX_LEN) {
            iec104_malformed(sink, info, A_BAD_LENGTH);
            cursor_skip(c, 1); /* resynchronise on the next start octet */
            continue;
        }
        if (cursor_left(c) < (size_t)len + 2) break;
        struct cursor a = cursor_sub(c, (size_t)len + 2);
        iec104_apdu(st, &a, info, sink);
    }
    return cursor_pos(c) - start;
}

const struct dissector iec104_dissector = {
    .id = DISS_IEC104,
    .name = "iec104",
    .transports = DISS_TCP,
    .ports = {2404, 0},
    .probe = iec104_probe,
    .state_new = iec104_state_new,
    .state_free = iec104_state_free,
    .parse = iec104_parse,
    .gap = iec104_gap,
    .anomalies = iec104_anomalies,
    .max_pdu = IEC104_MAX_LEN + 2,
};
