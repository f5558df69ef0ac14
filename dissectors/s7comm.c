/* s7comm.c - Siemens S7comm (id 0x32) and S7comm-plus (id 0x72) over ISO-on-TCP.
 *
 * Both ride RFC 1006 TPKT + ISO 8073 COTP on TCP 102 and share this file: one
 * dissector, events with proto "s7comm" (COTP and classic S7) or "s7commplus".
 *
 *  TPKT                 COTP (LI = bytes after LI)       payload (DT only)
 *  +----+----+------+   +----+------+---------------+    +--------------------+
 *  | 03 | 00 | len  |   | LI | type | LI - 1 bytes  |    | 32 S7 / 72 S7-plus |
 *  +----+----+------+   +----+------+---------------+    +--------------------+
 *    1    1     2         1    1     DT: nr|EOT(0x80)     COTP DT with EOT clear:
 *                                    CR/CC: dref sref      the TSDU continues in the
 *                                    class, TLV params     next DT (reassembled here)
 *
 *  S7 header: 32 | rosctr | 0000 | pdu ref(2) | param len(2) | data len(2)
 *             [| error class | error code]  (Ack 2 / Ack_Data 3 only)
 *  then param_len bytes of parameters (Job/Ack_Data: first byte = function) and
 *  data_len bytes of data. Userdata (7) parameters:
 *    00 01 12 | plen | method 11/12 | type<<4|group | subfunc | seq
 *    [| data unit ref | last data unit | error code(2)]      (plen 8)
 *  Userdata data: return code | transport size | length(2) | bytes
 *
 *  S7comm-plus: 72 | version | data len(2) | [V3: 20 + 32-byte digest]
 *    | opcode (31 req, 32 res, 33 notification) | 0000 | function(2) | 0000
 *    | seq(2) | [req: session id(4)] ... | trailer 72 version 0000 (last fragment)
 *
 * Events (DESIGN §2): one per S7 PDU, after COTP reassembly. Job and Ack_Data carry
 * code = parameter function (tshark s7comm.param.func); Ack and Userdata have code
 * null, Userdata with group/subfunc. Connection management (COTP CR, CC, DR, DC, ER)
 * gives an event too, op "cotp_cr" etc. with code null: the TSAPs name rack/slot
 * and the S7comm-plus peer. Empty DT fragments give none. S7comm-plus: one event per
 * PDU (not per fragment), proto "s7commplus", code = function of requests and
 * responses, null for notifications.
 *
 * download_suspected (S7comm-plus, a derived event with code null after the PDU's own):
 * a BeginSequence (0x0556) request, then CreateObject (0x04ca) requests of which at
 * least one is s7commplus.download_min_bytes long (all its fragments), then an
 * EndSequence (0x0560) request on the same connection. The function codes are those
 * of Wireshark's s7comm_plus dissector; the sequence itself is the taxonomy's
 * heuristic (newer firmware protects the session, and no public capture of a TIA
 * download backs it).
 *
 * Block transfers are reassembled for YARA (object.h): the data of the Ack_Data
 * PDUs of download_block (0x1b, engineering station -> PLC) and upload (0x1e,
 * PLC -> station) is gathered until the function status says no more follows
 * (or download_ended / end_upload), then scanned once as "s7comm.block" with the
 * file name, block type and number the matching job named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diss_params.h"
#include "dissector.h"
#include "object.h"

#define S7_TPKT_MAX       65535u /* TPKT length is 16 bits */
#define S7_COTP_REASM_MAX 65536u /* COTP DT reassembly per direction */
#define S7_UD_REASM_MAX   16384u /* userdata fragment reassembly per direction */
#define S7_PENDING        8      /* jobs awaiting their ack, per flow */
#define S7_MAX_ITEMS      12     /* read/write var items written into one event */
#define S7_VALUE_MAX      32     /* bytes of a written value kept in the event */

static const char *const s7_anomalies[] = {
    "s7comm.bad_tpkt",        "s7comm.bad_cotp",
    "s7comm.bad_header",      "s7comm.bad_length",
    "s7comm.bad_item",        "s7comm.unknown_function",
    "s7comm.unknown_payload", "s7comm.reassembly_overflow",
    "s7commplus.bad_header",  NULL,
};

/* A growable byte buffer for reassembly, capped. */
struct s7_buf {
    uint8_t *p;
    uint32_t len, cap;
    uint8_t dropping; /* over the cap: discard until the unit ends */
    uint16_t parts;
};

struct s7_dir {
    struct s7_buf cotp; /* COTP DT segments until EOT */
    struct s7_buf ud;   /* userdata fragments until the last data unit */
    uint8_t ud_group, ud_subfunc, ud_ref;
    uint8_t desync;    /* resynchronising: bad_tpkt already reported (or after a gap) */
    uint8_t s7p_more;  /* an S7comm-plus PDU continues in the next DT */
    uint8_t s7p_req;   /* the PDU under way is a request ... */
    uint16_t s7p_func; /* ... of this function ... */
    uint32_t s7p_len;  /* ... and has this many data bytes so far (all fragments) */
};

struct s7_pending {
    uint8_t used, job_dir;
    uint16_t func;
    uint16_t ref;
    uint64_t ts;
    const char *op;
};

struct s7_state {
    struct s7_dir dir[2];                   /* [0] to client, [1] to server */
    struct s7_pending pend[S7_PENDING];     /* S7 jobs by PDU reference */
    struct s7_pending s7p_pend[S7_PENDING]; /* S7comm-plus requests by sequence number */
    unsigned pend_next, s7p_pend_next;
    /* download_suspected: a BeginSequence is open, with this many large CreateObjects */
    uint8_t s7p_in_seq;
    uint32_t s7p_big, s7p_big_max;
    /* block transfers for YARA, by the direction the block's bytes travel */
    struct ots_object blk[2];
    uint8_t blk_name[2][16];
    uint8_t blk_name_len[2];
};

/* ---------------------------------------------------------------- helpers */

static void buf_reset(struct s7_buf *b)
{
    b->len = 0;
    b->parts = 0;
    b->dropping = 0;
}

static void buf_free(struct s7_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* A unit is complete: keep a small buffer for the next one, give back a big one. */
static void buf_done(struct s7_buf *b)
{
    if (b->cap > 8192)
        buf_free(b);
    else
        buf_reset(b);
}

/* Appends n verified bytes; returns 0 if the cap is hit (the buffer then drops). */
static int buf_append(struct s7_buf *b, const uint8_t *src, size_t n, uint32_t max)
{
    if (b->dropping) return 0;
    if (n > max - b->len) {
        b->dropping = 1;
        b->len = 0;
        return 0;
    }
    if (b->len + n > b->cap) {
        uint32_t ncap = b->cap ? b->cap : 1024;
        while (ncap < b->len + n)
            ncap = ncap > max / 2 ? max : ncap * 2;
        uint8_t *np = realloc(b->p, ncap);
        if (!np) {
            b->dropping = 1;
            b->len = 0;
            return 0;
        }
        b->p = np;
        b->cap = ncap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += (uint32_t)n;
    b->parts++;
    return 1;
}

/* Text field from a fixed-size span, without trailing NULs and spaces. */
static void ev_text(struct event *e, const char *key, const uint8_t *s, size_t n)
{
    while (n > 0 && (s[n - 1] == 0 || s[n - 1] == ' '))
        n--;
    ev_str(e, key, s, n);
}

/* Reads a fixed-size text field through the cursor. */
static void ev_text_take(struct event *e, const char *key, struct cursor *c, size_t n)
{
    const uint8_t *p = cursor_take(c, n);
    if (p) ev_text(e, key, p, n);
}

static unsigned bcd(uint8_t b)
{
    return (unsigned)(b >> 4) * 10 + (b & 0x0f);
}

/* ---------------------------------------------------------------- names */

static const char *s7_area_name(unsigned a)
{
    switch (a) {
    case 0x03: return "SI";
    case 0x05: return "SF";
    case 0x06: return "AI";
    case 0x07: return "AQ";
    case 0x1c: return "C";
    case 0x1d: return "T";
    case 0x1e: return "IEC_C";
    case 0x1f: return "IEC_T";
    case 0x80: return "P";
    case 0x81: return "I";
    case 0x82: return "Q";
    case 0x83: return "M";
    case 0x84: return "DB";
    case 0x85: return "DI";
    case 0x86: return "L";
    case 0x87: return "V";
    default: return NULL;
    }
}

/* Block type as written in file names: two hex digits ("08" OB, "0A" DB ...). */
static const char *s7_block_type_name(const uint8_t t[2])
{
    if (t[0] != '0') return NULL;
    switch (t[1]) {
    case '8': return "OB";
    case 'A': return "DB";
    case 'B': return "SDB";
    case 'C': return "FC";
    case 'D': return "SFC";
    case 'E': return "FB";
    case 'F': return "SFB";
    default: return NULL;
    }
}

static const char *s7_function_name(unsigned f)
{
    switch (f) {
    case 0x00: return "cpu_services";
    case 0x04: return "read_var";
    case 0x05: return "write_var";
    case 0x1a: return "request_download";
    case 0x1b: return "download_block";
    case 0x1c: return "download_ended";
    case 0x1d: return "start_upload";
    case 0x1e: return "upload";
    case 0x1f: return "end_upload";
    case 0x28: return "pi_service";
    case 0x29: return "plc_stop";
    case 0xf0: return "setup_communication";
    default: return NULL;
    }
}

/* The event op of a function (taxonomy ids s7_* without the prefix). */
static const char *s7_function_op(unsigned f)
{
    switch (f) {
    case 0x1a:
    case 0x1b:
    case 0x1c: return "block_download";
    case 0x1d:
    case 0x1e:
    case 0x1f: return "block_upload";
    default: return s7_function_name(f);
    }
}

static const char *s7_pi_op(const uint8_t *name, size_t n)
{
    if (n == 5 && (memcmp(name, "_INSE", 5) == 0 || memcmp(name, "_INS2", 5) == 0))
        return "pi_activate_block";
    if (n == 5 && memcmp(name, "_DELE", 5) == 0) return "pi_delete_block";
    if (n == 9 && memcmp(name, "P_PROGRAM", 9) == 0) return "pi_program_control";
    if (n == 5 && memcmp(name, "_MODU", 5) == 0) return "pi_copy_ram_to_rom";
    if (n == 5 && memcmp(name, "_GARB", 5) == 0) return "pi_compress_memory";
    if (n >= 3 && memcmp(name, "_N_", 3) == 0) return "pi_nc_service";
    return "pi_service";
}

static const char *s7_ud_op(unsigned group, unsigned sub)
{
    switch (group) {
    case 0x0: return "ud_mode_transition";
    case 0x1:
        switch (sub) {
        case 0x01: return "ud_block_status";
        case 0x02: return "ud_variable_status";
        case 0x03: return "ud_output_istack";
        case 0x04: return "ud_output_bstack";
        case 0x05: return "ud_output_lstack";
        case 0x06: return "ud_time_measurement";
        case 0x07:
        case 0x09: return "ud_force";
        case 0x08: return "ud_modify_variable";
        case 0x0a:
        case 0x0b: return "ud_debug_control";
        case 0x0c: return "ud_memory_reset";
        case 0x0d: return "ud_disable_job";
        case 0x0e: return "ud_enable_job";
        case 0x0f: return "ud_delete_job";
        case 0x10: return "ud_read_job_list";
        case 0x11: return "ud_read_job";
        case 0x12: return "ud_replace_job";
        case 0x13: return "ud_block_status_v2";
        case 0x16: return "ud_flash_led";
        default: return "ud_programmer_command";
        }
    case 0x2:
        switch (sub) {
        case 0x01: return "ud_cyclic_memory";
        case 0x04: return "ud_cyclic_unsubscribe";
        case 0x05:
        case 0x07: return "ud_cyclic_change_driven";
        default: return "ud_cyclic_data";
        }
    case 0x3:
        if (sub >= 0x01 && sub <= 0x03) return "ud_block_list";
        return "ud_block_function";
    case 0x4:
        switch (sub) {
        case 0x01: return "ud_read_szl";
        case 0x02: return "ud_message_service";
        case 0x03: return "ud_diagnostic_message";
        case 0x0b:
        case 0x0e: return "ud_alarm_ack";
        case 0x0d: return "ud_alarm_query";
        default: return "ud_cpu_alarm";
        }
    case 0x5: return sub == 0x01 ? "ud_password" : "ud_security";
    case 0x6: return "ud_pbc";
    case 0x7:
        switch (sub) {
        case 0x01:
        case 0x03: return "ud_read_clock";
        case 0x02:
        case 0x04: return "ud_set_clock";
        default: return "ud_time_function";
        }
    case 0xf: return "ud_nc_programming";
    default: return "ud_unknown";
    }
}

static const char *s7p_function_op(unsigned f)
{
    switch (f) {
    case 0x04bb: return "explore";
    case 0x04ca: return "session_start"; /* CreateObject: a session opens with it */
    case 0x04d4: return "delete_object";
    case 0x04f2:
    case 0x0542: return "set_variable";
    case 0x04fc: return "get_variable";
    case 0x0506: return "add_link";
    case 0x051d: return "remove_link";
    case 0x0524: return "get_link";
    case 0x054c:
    case 0x0586: return "read_variables";
    case 0x0556: return "begin_sequence";
    case 0x0560: return "end_sequence";
    case 0x056b: return "invoke";
    case 0x057c: return "set_var_sub_streamed";
    case 0x0590: return "get_variables_address";
    case 0x059a: return "abort";
    case 0x05a9: return "error";
    case 0x05b3: return "init_ssl";
    default: return "unknown_function";
    }
}

/* Error codes the taxonomy names as events of their own (s7_auth_failure,
 * s7_access_denied): such a response takes that op, the one it answers goes to
 * "failed_op". */
static const char *s7_error_kind(unsigned err)
{
    if (err == 0x0119 || err == 0xd602) return "auth_failure";
    if (err == 0xd0a1 || err == 0xd241 || err == 0x8703) return "access_denied";
    return NULL;
}

static void s7_error_op(struct event *e, const char *kind)
{
    if (!kind) return;
    ev_cstr(e, "error_kind", kind);
    if (e->op) ev_cstr(e, "failed_op", e->op);
    event_op(e, kind);
}

/* ---------------------------------------------------------------- pending jobs */

static struct s7_pending *pend_find(struct s7_state *st, uint16_t ref, int resp_dir)
{
    for (unsigned i = 0; i < S7_PENDING; i++)
        if (st->pend[i].used && st->pend[i].ref == ref && st->pend[i].job_dir != resp_dir)
            return &st->pend[i];
    return NULL;
}

static void pend_add(struct s7_state *st, uint16_t ref, int dir, uint8_t func, const char *op,
                     uint64_t ts)
{
    struct s7_pending *p = NULL;
    for (unsigned i = 0; i < S7_PENDING && !p; i++)
        if (st->pend[i].used && st->pend[i].ref == ref && st->pend[i].job_dir == dir)
            p = &st->pend[i];
    if (!p) {
        p = &st->pend[st->pend_next];
        st->pend_next = (st->pend_next + 1) % S7_PENDING;
    }
    p->used = 1;
    p->ref = ref;
    p->job_dir = (uint8_t)dir;
    p->func = func;
    p->op = op;
    p->ts = ts;
}

/* ---------------------------------------------------------------- S7 Job / Ack_Data */

/* One S7ANY address item (syntax id 0x10) of a read/write var request. */
static void s7_any_item(struct event *e, struct cursor *it)
{
    ev_uint(e, "transport_size", cursor_u8(it));
    ev_uint(e, "length", cursor_u16be(it));
    ev_uint(e, "db", cursor_u16be(it));
    uint8_t area = cursor_u8(it);
    uint32_t addr = cursor_u24be(it);
    if (it->err) return;
    ev_uint(e, "area", area);
    const char *an = s7_area_name(area);
    if (an) ev_cstr(e, "area_name", an);
    ev_uint(e, "address", addr >> 3);
    ev_uint(e, "bit", addr & 7);
}

/* Parameters of a read/write var Job: count, then 0x12 | len | syntax id | ... */
static unsigned s7_var_items(struct event *e, struct cursor *par)
{
    unsigned count = cursor_u8(par);
    ev_uint(e, "item_count", count);
    ev_arr_begin(e, "items");
    unsigned i;
    for (i = 0; i < count && cursor_left(par) > 0; i++) {
        uint8_t spec = cursor_u8(par);
        uint8_t len = cursor_u8(par);
        struct cursor it = cursor_sub(par, len);
        if (par->err || spec != 0x12 || len < 1) {
            event_anomaly(e, "s7comm.bad_item");
            break;
        }
        if (i >= S7_MAX_ITEMS) continue;
        uint8_t syntax = cursor_u8(&it);
        ev_obj_begin(e, NULL);
        ev_uint(e, "syntax_id", syntax);
        if (syntax == 0x10) s7_any_item(e, &it);
        if (it.err) event_anomaly(e, "s7comm.bad_item");
        ev_end(e);
    }
    ev_end(e);
    if (i < count) event_anomaly(e, "s7comm.bad_item");
    return count;
}

/* Bytes of an item's value: transport sizes 3 (bit), 4 (byte/word), 5 (int) count bits. */
static size_t s7_value_bytes(uint8_t tsize, uint16_t len)
{
    if (tsize == 0x03 || tsize == 0x04 || tsize == 0x05) return ((size_t)len + 7) / 8;
    return len;
}

/* Data items: return code | transport size | length | value [| fill byte]. */
static void s7_data_items(struct event *e, struct cursor *dat, unsigned count, int values)
{
    ev_arr_begin(e, values ? "values" : "results");
    unsigned errors = 0;
    for (unsigned i = 0; i < count && cursor_left(dat) > 0; i++) {
        uint8_t rc = cursor_u8(dat);
        uint8_t tsize = cursor_u8(dat);
        uint16_t len = cursor_u16be(dat);
        /* only "reserved" (requests) and "success" items carry a value */
        size_t n = rc == 0x00 || rc == 0xff ? s7_value_bytes(tsize, len) : 0;
        const uint8_t *v = cursor_take(dat, n);
        if (dat->err) {
            event_anomaly(e, "s7comm.bad_item");
            break;
        }
        if (n & 1 && i + 1 < count)
            cursor_skip(dat, 1); /* fill byte; may be absent after the last item */
        if (!values && rc != 0xff) errors++;
        if (i >= S7_MAX_ITEMS) continue;
        ev_obj_begin(e, NULL);
        ev_uint(e, "return_code", rc);
        ev_uint(e, "transport_size", tsize);
        ev_uint(e, "length", n);
        if (values && n) ev_hex(e, "value", v, n < S7_VALUE_MAX ? n : S7_VALUE_MAX);
        ev_end(e);
    }
    ev_end(e);
    if (!values) ev_uint(e, "error_items", errors);
}

/* File name of a block: "_" type(2) number(5) filesystem(1), e.g. "_0A00001P". */
static void s7_block_name(struct event *e, const uint8_t *p, size_t n)
{
    ev_str(e, "filename", p, n);
    if (n != 9) return;
    uint8_t f[9]; /* a local copy: the parts below are indexed, not the packet */
    memcpy(f, p, sizeof(f));
    if (f[0] != '_') return;
    const char *bt = s7_block_type_name(f + 1);
    if (bt) ev_cstr(e, "block_type", bt);
    unsigned num = 0;
    for (size_t i = 3; i < 8; i++) {
        if (f[i] < '0' || f[i] > '9') return;
        num = num * 10 + (unsigned)(f[i] - '0');
    }
    ev_uint(e, "block_number", num);
    ev_str(e, "filesystem", f + 8, 1);
}

/* 0x1a..0x1f: function | status | 2 unknown | 4 bytes (upload id) | [name len | name]. */
static void s7_updownload(struct event *e, struct cursor *par, uint8_t func, int job)
{
    cursor_skip(par, 1); /* status */
    cursor_skip(par, 2);
    if (job && (func == 0x1e || func == 0x1f)) {
        ev_uint(e, "upload_id", cursor_u32be(par));
        return;
    }
    uint32_t id = cursor_u32be(par);
    if (par->err) return;
    if (!job) {
        if (func == 0x1d) {
            ev_uint(e, "upload_id", id);
            uint8_t n = cursor_u8(par);
            const uint8_t *p = cursor_take(par, n);
            if (p) ev_str(e, "block_length", p, n);
        }
        return;
    }
    uint8_t n = cursor_u8(par);
    const uint8_t *p = cursor_take(par, n);
    if (!p) {
        event_anomaly(e, "s7comm.bad_length");
        return;
    }
    s7_block_name(e, p, n);
}

/* 0x28 PI service: func | 7 unknown | param block len(2) | param block | len | name.
 * 0x29 PLC stop:   func | 5 unknown | len | name. Returns the op. */
static const char *s7_pi(struct event *e, struct cursor *par, uint8_t func)
{
    struct cursor blk = {0};
    if (func == 0x28) {
        cursor_skip(par, 7);
        uint16_t bl = cursor_u16be(par);
        blk = cursor_sub(par, bl);
    } else {
        cursor_skip(par, 5);
    }
    uint8_t n = cursor_u8(par);
    const uint8_t *name = cursor_take(par, n);
    if (!name) {
        event_anomaly(e, "s7comm.bad_length");
        return s7_function_op(func);
    }
    ev_str(e, "pi_service", name, n);
    if (func == 0x29) return "plc_stop";
    const char *op = s7_pi_op(name, n);
    if (strcmp(op, "pi_activate_block") == 0 || strcmp(op, "pi_delete_block") == 0) {
        /* block count | unknown | then per block type(2) number(5) filesystem(1) */
        ev_uint(e, "block_count", cursor_u8(&blk));
        cursor_skip(&blk, 1);
        const uint8_t *b = cursor_take(&blk, 8);
        if (b) {
            uint8_t fname[9] = {'_'};
            memcpy(fname + 1, b, 8);
            s7_block_name(e, fname, sizeof(fname));
        }
    } else if (cursor_left(&blk) > 0) {
        size_t bl = cursor_left(&blk);
        const uint8_t *a = cursor_take(&blk, bl);
        if (a) ev_str(e, "argument", a, bl);
    }
    return op;
}

static const char *s7_job_ackdata(struct event *e, struct cursor *par, struct cursor *dat,
                                  uint8_t rosctr)
{
    uint8_t func = cursor_u8(par);
    int job = rosctr == 1;
    const char *op = s7_function_op(func);
    const char *fname = s7_function_name(func);
    ev_uint(e, "function", func);
    if (fname) ev_cstr(e, "function_name", fname);
    switch (func) {
    case 0xf0:
        cursor_skip(par, 1);
        ev_uint(e, "max_amq_calling", cursor_u16be(par));
        ev_uint(e, "max_amq_called", cursor_u16be(par));
        ev_uint(e, "pdu_size", cursor_u16be(par));
        break;
    case 0x04:
    case 0x05:
        if (job) {
            unsigned count = s7_var_items(e, par);
            if (func == 0x05) s7_data_items(e, dat, count, 1);
        } else {
            unsigned count = cursor_u8(par);
            ev_uint(e, "item_count", count);
            if (func == 0x04) {
                s7_data_items(e, dat, count, 0);
            } else {
                ev_arr_begin(e, "results");
                unsigned errors = 0;
                for (unsigned i = 0; i < count && cursor_left(dat) > 0; i++) {
                    uint8_t rc = cursor_u8(dat);
                    if (rc != 0xff) errors++;
                    if (i < S7_MAX_ITEMS) {
                        ev_obj_begin(e, NULL);
                        ev_uint(e, "return_code", rc);
                        ev_end(e);
                    }
                }
                ev_end(e);
                ev_uint(e, "error_items", errors);
            }
        }
        break;
    case 0x1a:
    case 0x1b:
    case 0x1c:
    case 0x1d:
    case 0x1e:
    case 0x1f:
        s7_updownload(e, par, func, job);
        if (!job && func == 0x1e)
            ev_uint(e, "block_data_length", cursor_left(dat));
        else if (job && func == 0x1b)
            ev_uint(e, "block_data_length", cursor_left(dat));
        break;
    case 0x28:
    case 0x29:
        if (job) op = s7_pi(e, par, func);
        break;
    case 0x00: break;
    default:
        event_anomaly(e, "s7comm.unknown_function");
        op = "unknown_function";
        break;
    }
    return op;
}

/* ---------------------------------------------------------------- Userdata */

/* BCD timestamp: reserved | year hi | year lo | month | day | hour | min | sec | ms+wday(2). */
static void s7_clock(struct event *e, struct cursor *c)
{
    const uint8_t *t = cursor_take(c, 10);
    if (!t) return;
    char buf[40];
    unsigned ms = bcd(t[8]) * 10 + (t[9] >> 4);
    unsigned y = bcd(t[2]);
    y += y < 90 ? 2000 : 1900;
    snprintf(buf, sizeof(buf), "%04u-%02u-%02uT%02u:%02u:%02u.%03u", y, bcd(t[3]), bcd(t[4]),
             bcd(t[5]), bcd(t[6]), bcd(t[7]), ms);
    ev_cstr(e, "clock", buf);
}

/* Identity records of SZL 0x0011 (module identification) and 0x001C (component ids). */
static void s7_szl_entries(struct event *e, struct cursor *c, uint16_t id, uint16_t elen,
                           uint16_t count)
{
    uint16_t base = id & 0x00ff;
    for (unsigned i = 0; i < count && cursor_left(c) >= elen && elen >= 2; i++) {
        struct cursor r = cursor_sub(c, elen);
        uint16_t idx = cursor_u16be(&r);
        if (base == 0x11 && elen == 28) {
            const uint8_t *mlfb = cursor_take(&r, 20);
            cursor_skip(&r, 2); /* BGTyp */
            uint16_t ausbg = cursor_u16be(&r);
            uint16_t ausbe = cursor_u16be(&r);
            if (r.err || !mlfb) break;
            if (idx == 0x0001)
                ev_text(e, "order_number", mlfb, 20);
            else if (idx == 0x0006)
                ev_text(e, "hardware_order_number", mlfb, 20);
            else if (idx == 0x0007 && (ausbg >> 8) == 'V') {
                char v[24];
                snprintf(v, sizeof(v), "V%u.%u.%u", ausbg & 0xff, ausbe >> 8, ausbe & 0xff);
                ev_cstr(e, "firmware", v);
            }
        } else if (base == 0x1c && elen == 34) {
            static const char *const keys[] = {
                NULL,       "system_name", "module_name",
                "plant_id", "copyright",   "serial_number",
                NULL,       "module_type", "memory_serial_number",
                NULL,       NULL,          "location",
            };
            if (idx < sizeof(keys) / sizeof(keys[0]) && keys[idx])
                ev_text_take(e, keys[idx], &r, 32);
        }
    }
}

/* Read SZL data: request szl id | index; response id | index | entry len | count | entries. */
static void s7_szl(struct event *e, struct cursor *c, int response)
{
    uint16_t id = cursor_u16be(c);
    uint16_t idx = cursor_u16be(c);
    if (c->err) return;
    ev_uint(e, "szl_id", id);
    ev_uint(e, "szl_index", idx);
    if (!response) return;
    uint16_t elen = cursor_u16be(c);
    uint16_t count = cursor_u16be(c);
    if (c->err) return;
    ev_uint(e, "szl_entry_length", elen);
    ev_uint(e, "szl_entry_count", count);
    s7_szl_entries(e, c, id, elen, count);
}

static void s7_ud_data(struct event *e, struct cursor *d, uint8_t type, uint8_t group, uint8_t sub)
{
    int req = type == 0x4, res = type == 0x8;
    if (group == 0x4 && sub == 0x01) {
        s7_szl(e, d, res);
    } else if (group == 0x4 && sub == 0x03 && type == 0x0) {
        /* diagnostic message push: event id | priority | OB | ... (diagnostic buffer entry) */
        uint16_t id = cursor_u16be(d);
        if (!d->err) ev_uint(e, "diag_event_id", id);
    } else if (group == 0x7 &&
               ((res && (sub == 0x01 || sub == 0x03)) || (req && (sub == 0x02 || sub == 0x04)))) {
        s7_clock(e, d);
    } else if (group == 0x3 && res && sub == 0x01) {
        /* list blocks: per type "0" type-char | count(2) */
        ev_obj_begin(e, "block_counts");
        while (cursor_left(d) >= 4) {
            const uint8_t *t = cursor_take(d, 2);
            uint16_t n = cursor_u16be(d);
            const char *bt = t ? s7_block_type_name(t) : NULL;
            if (bt && !d->err) ev_uint(e, bt, n);
        }
        ev_end(e);
    } else if (group == 0x3 && req && sub == 0x02) {
        const uint8_t *t = cursor_take(d, 2);
        const char *bt = t ? s7_block_type_name(t) : NULL;
        if (bt) ev_cstr(e, "block_type", bt);
    } else if (group == 0x3 && req && sub == 0x03) {
        const uint8_t *b = cursor_take(d, 8);
        if (b) {
            uint8_t fname[9] = {'_'};
            memcpy(fname + 1, b, 8);
            s7_block_name(e, fname, sizeof(fname));
        }
    }
}

static void s7_userdata(struct s7_dir *dir, struct event *e, struct cursor *par, struct cursor *dat,
                        const char **kind)
{
    cursor_skip(par, 3); /* 00 01 12 */
    uint8_t plen = cursor_u8(par);
    uint8_t method = cursor_u8(par);
    uint8_t tg = cursor_u8(par);
    uint8_t sub = cursor_u8(par);
    uint8_t seq = cursor_u8(par);
    if (par->err) {
        event_anomaly(e, "s7comm.bad_header");
        event_op(e, "userdata");
        return;
    }
    uint8_t type = tg >> 4, group = tg & 0x0f;
    uint8_t ref = 0, last = 0;
    e->dir = type == 0x4      ? EV_DIR_REQUEST
             : type == 0x8    ? EV_DIR_RESPONSE
             : type == 0x0    ? EV_DIR_INDICATION
             : method == 0x11 ? EV_DIR_REQUEST
                              : EV_DIR_RESPONSE;
    event_op(e, s7_ud_op(group, sub));
    ev_uint(e, "group", group);
    ev_uint(e, "subfunc", sub);
    ev_uint(e, "type", type);
    ev_uint(e, "seq", seq);
    if (plen >= 8) {
        ref = cursor_u8(par);
        last = cursor_u8(par);
        uint16_t err = cursor_u16be(par);
        if (!par->err) {
            ev_uint(e, "data_unit_ref", ref);
            ev_uint(e, "last_data_unit", last == 0);
            ev_uint(e, "error_code", err);
            *kind = s7_error_kind(err);
        }
    }
    if (group == 0x0) {
        /* mode-transition push: the sub-function is the CPU's new mode */
        static const char *const modes[] = {"stop", "warm_restart", "run",   "hot_restart", "hold",
                                            NULL,   "cold_restart", NULL,    NULL,          "run_r",
                                            NULL,   "link_up",      "update"};
        ev_uint(e, "mode", sub);
        if (sub < sizeof(modes) / sizeof(modes[0]) && modes[sub])
            ev_cstr(e, "mode_name", modes[sub]);
    }

    /* data: return code | transport size | length | bytes */
    uint8_t rc = cursor_u8(dat);
    cursor_skip(dat, 1);
    uint16_t dlen = cursor_u16be(dat);
    if (dat->err) return;
    ev_uint(e, "return_code", rc);
    struct cursor body = cursor_sub(dat, dlen);
    if (dat->err) event_anomaly(e, "s7comm.bad_length");

    /* A response split in data units: collect them, decode once the last arrives. */
    struct s7_buf *b = &dir->ud;
    int keyed =
        b->parts > 0 && dir->ud_ref == ref && dir->ud_group == group && dir->ud_subfunc == sub;
    if (b->parts > 0 && !keyed) buf_reset(b);
    if (plen >= 8 && last != 0) {
        if (!keyed) {
            buf_reset(b);
            dir->ud_ref = ref;
            dir->ud_group = group;
            dir->ud_subfunc = sub;
        }
        size_t n = cursor_left(&body);
        const uint8_t *p = cursor_take(&body, n);
        if (p && !buf_append(b, p, n, S7_UD_REASM_MAX)) {
            event_anomaly(e, "s7comm.reassembly_overflow");
            buf_reset(b);
        }
        ev_bool(e, "fragment", 1);
        return;
    }
    if (keyed) {
        size_t n = cursor_left(&body);
        const uint8_t *p = cursor_take(&body, n);
        int ok = p && buf_append(b, p, n, S7_UD_REASM_MAX);
        if (ok) {
            struct cursor whole = cursor_make(b->p, b->len);
            ev_uint(e, "reassembled_units", b->parts);
            s7_ud_data(e, &whole, type, group, sub);
        } else {
            event_anomaly(e, "s7comm.reassembly_overflow");
        }
        buf_done(b);
        return;
    }
    s7_ud_data(e, &body, type, group, sub);
}

/* ---------------------------------------------------------------- block objects */

/* Name and attributes of the block a transfer carries ("_0A00890P": DB 890). */
static void s7_block_begin(struct s7_state *st, int di, struct event_sink *sink)
{
    struct ots_object *o = &st->blk[di];
    uint8_t n = st->blk_name_len[di];
    const uint8_t *f = st->blk_name[di];
    object_begin(o, sink, "s7comm", "s7comm.block", (const char *)f, n, 0);
    if (n != 9 || f[0] != '_') return;
    object_attr(o, "block_type", s7_block_type_name(f + 1));
    char num[8];
    size_t k = 0;
    for (size_t i = 3; i < 8 && f[i] >= '0' && f[i] <= '9'; i++)
        if (k || f[i] != '0' || i == 7) num[k++] = (char)f[i];
    num[k] = '\0';
    if (k) object_attr(o, "block_number", num);
}

/* Feeds block transfers to YARA: jobs name the block, Ack_Data carry its bytes.
 * par and dat are the PDU's parameter and data, unread. */
static void s7_block_object(struct s7_state *st, int di, uint8_t rosctr, int failed,
                            struct cursor par, struct cursor dat, struct event_sink *sink)
{
    uint8_t func = cursor_u8(&par);
    int other = !di; /* a job's block travels the other way */
    if (rosctr == 1 && (func == 0x1b || func == 0x1d)) {
        /* status | 2 unknown | 4 unknown or upload id | name length | name */
        cursor_skip(&par, 7);
        uint8_t n = cursor_u8(&par);
        if (n > sizeof(st->blk_name[0])) n = sizeof(st->blk_name[0]);
        if (par.err || !cursor_copy(&par, st->blk_name[other], n)) return;
        st->blk_name_len[other] = n;
    } else if (rosctr == 1 && (func == 0x1c || func == 0x1f)) {
        object_end(&st->blk[other], sink, other == 1);
    } else if (rosctr == 3 && (func == 0x1b || func == 0x1e)) {
        struct ots_object *o = &st->blk[di];
        if (failed) {
            object_abort(o);
            return;
        }
        uint8_t status = cursor_u8(&par);
        /* data: length(2) | 2 unknown | block bytes */
        uint16_t len = cursor_u16be(&dat);
        cursor_skip(&dat, 2);
        if (dat.err) return;
        if (!object_active(o)) s7_block_begin(st, di, sink);
        object_append(o, sink, &dat, len);
        if (!par.err && !(status & 0x01)) object_end(o, sink, di == 1);
    }
}

/* ---------------------------------------------------------------- S7 PDU */

static void s7_pdu(struct s7_state *st, int di, struct cursor *c, const struct pdu_info *info,
                   struct event_sink *sink)
{
    struct s7_dir *dir = &st->dir[di];
    const char *kind = NULL;
    struct cursor blk_par = {0}, blk_dat = {0};
    int blk = 0, hdr_err = 0;
    struct event *e =
        event_begin(sink, "s7comm", info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    /* Wireshark's heuristic: 10 bytes at least, ROSCTR 1..7. */
    uint8_t rosctr = cursor_peek_u8(c, 1, NULL);
    if (cursor_left(c) < 10 || rosctr < 1 || rosctr > 7) {
        event_op(e, "invalid");
        event_anomaly(e, "s7comm.bad_header");
        ev_uint(e, "length", cursor_left(c));
        event_emit(sink, e);
        return;
    }
    cursor_skip(c, 2);
    cursor_skip(c, 2); /* redundancy id */
    uint16_t ref = cursor_u16be(c);
    uint16_t plen = cursor_u16be(c);
    uint16_t dlen = cursor_u16be(c);
    ev_uint(e, "rosctr", rosctr);
    ev_uint(e, "pdu_ref", ref);
    ev_uint(e, "param_length", plen);
    ev_uint(e, "data_length", dlen);
    if (rosctr == 2 || rosctr == 3) {
        uint8_t ecl = cursor_u8(c);
        uint8_t eco = cursor_u8(c);
        if (c->err) {
            event_op(e, "invalid");
            event_anomaly(e, "s7comm.bad_header");
            event_emit(sink, e);
            return;
        }
        ev_uint(e, "error_class", ecl);
        ev_uint(e, "error_code", eco);
        ev_uint(e, "error", (unsigned)ecl << 8 | eco);
        kind = s7_error_kind((unsigned)ecl << 8 | eco);
        hdr_err = ecl || eco;
    }
    struct cursor par = cursor_sub(c, plen);
    struct cursor dat = cursor_sub(c, dlen);
    if (c->err) event_anomaly(e, "s7comm.bad_length");

    switch (rosctr) {
    case 1:
    case 3: {
        e->dir = rosctr == 1 ? EV_DIR_REQUEST : EV_DIR_RESPONSE;
        struct s7_pending *p = rosctr == 3 ? pend_find(st, ref, di) : NULL;
        if (plen == 0 || cursor_left(&par) == 0) {
            /* no function byte: tshark has no s7comm.param.func either */
            event_op(e, p && p->op ? p->op : rosctr == 1 ? "job" : "ack_data");
            if (plen) event_anomaly(e, "s7comm.bad_length");
        } else {
            uint8_t func = cursor_peek_u8(&par, 0, NULL);
            if (sink->yara && func >= 0x1b && func <= 0x1f) {
                blk_par = par;
                blk_dat = dat;
                blk = 1;
            }
            const char *op = s7_job_ackdata(e, &par, &dat, rosctr);
            if (p && p->func == func && p->op)
                op = p->op; /* the ack of a PI service answers e.g. _INSE */
            event_code(e, func, op);
            if (rosctr == 1) pend_add(st, ref, di, func, op, info->ts_us);
        }
        if (p) {
            ev_uint(e, "request_function", p->func);
            if (info->ts_us >= p->ts) ev_uint(e, "latency_us", info->ts_us - p->ts);
            p->used = 0;
        }
        break;
    }
    case 2: {
        e->dir = EV_DIR_RESPONSE;
        struct s7_pending *p = pend_find(st, ref, di);
        event_op(e, p && p->op ? p->op : "ack");
        if (p) {
            ev_uint(e, "request_function", p->func);
            if (info->ts_us >= p->ts) ev_uint(e, "latency_us", info->ts_us - p->ts);
            p->used = 0;
        }
        break;
    }
    case 7: s7_userdata(dir, e, &par, &dat, &kind); break;
    default:
        event_op(e, "unknown_rosctr");
        event_anomaly(e, "s7comm.bad_header");
        break;
    }
    s7_error_op(e, kind);
    event_emit(sink, e);
    if (blk) s7_block_object(st, di, rosctr, hdr_err, blk_par, blk_dat, sink);
}

/* ---------------------------------------------------------------- S7comm-plus */

/* An S7comm-plus PDU is complete (its last fragment seen): a large CreateObject
 * inside a sequence counts towards download_suspected. */
static void s7p_pdu_done(struct s7_state *st, struct s7_dir *dir, struct event_sink *sink)
{
    if (!dir->s7p_req || dir->s7p_func != 0x04ca || !st->s7p_in_seq) return;
    if (dir->s7p_len < diss_params_of(sink)->s7p_download_min_bytes) return;
    st->s7p_big++;
    if (dir->s7p_len > st->s7p_big_max) st->s7p_big_max = dir->s7p_len;
}

/* Requests that open and close a sequence; emits after the PDU's own event. */
static void s7p_sequence(struct s7_state *st, struct event_sink *sink, uint16_t func)
{
    if (func == 0x0556) {
        st->s7p_in_seq = 1;
        st->s7p_big = st->s7p_big_max = 0;
    } else if (func == 0x0560) {
        if (st->s7p_in_seq && st->s7p_big) {
            struct event *e = event_begin(sink, "s7commplus", EV_DIR_REQUEST);
            event_op(e, "download_suspected");
            ev_uint(e, "create_objects", st->s7p_big);
            ev_uint(e, "largest", st->s7p_big_max);
            event_emit(sink, e);
        }
        st->s7p_in_seq = 0;
        st->s7p_big = st->s7p_big_max = 0;
    }
}

static void s7p_pdu(struct s7_state *st, int di, struct cursor *c, uint64_t ts,
                    struct event_sink *sink)
{
    struct s7_dir *dir = &st->dir[di];
    cursor_skip(c, 1);
    uint8_t ver = cursor_u8(c);
    uint16_t len = cursor_u16be(c);
    struct cursor body = cursor_sub(c, len);
    int trunc = c->err != CURSOR_OK;
    /* The last fragment of a PDU ends with the trailer 72 | version | 0000. */
    int trailer = !trunc && cursor_left(c) >= 4 && cursor_peek_u8(c, 0, NULL) == 0x72 &&
                  cursor_peek_u16be(c, 2, NULL) == 0;
    int continuation = dir->s7p_more;
    dir->s7p_more = !trailer && !trunc;
    if (continuation) { /* the rest of a PDU already reported */
        dir->s7p_len += len;
        if (!dir->s7p_more) s7p_pdu_done(st, dir, sink);
        return;
    }
    dir->s7p_req = 0;
    dir->s7p_len = len;

    struct event *e = event_begin(sink, "s7commplus", EV_DIR_NONE);
    ev_uint(e, "version", ver);
    ev_uint(e, "data_length", len);
    if (trunc) {
        event_anomaly(e, "s7commplus.bad_header");
        dir->s7p_more = 0;
    }
    if (ver == 3 && cursor_peek_u8(&body, 0, NULL) == 0x20 && cursor_left(&body) > 33) {
        cursor_skip(&body, 33); /* integrity part: digest length 32 + digest */
        ev_bool(e, "integrity", 1);
    }
    if (!trailer) ev_bool(e, "fragmented", 1);
    uint8_t opcode = cursor_u8(&body);
    if (body.err) {
        event_op(e, "identified");
        event_anomaly(e, "s7commplus.bad_header");
        event_emit(sink, e);
        return;
    }
    ev_uint(e, "opcode", opcode);
    if (opcode == 0x31 || opcode == 0x32) {
        e->dir = opcode == 0x31 ? EV_DIR_REQUEST : EV_DIR_RESPONSE;
        cursor_skip(&body, 2);
        uint16_t func = cursor_u16be(&body);
        if (body.err) {
            event_op(e, "identified");
            event_anomaly(e, "s7commplus.bad_header");
            event_emit(sink, e);
            return;
        }
        event_code(e, func, s7p_function_op(func));
        ev_uint(e, "function", func);
        dir->s7p_req = opcode == 0x31;
        dir->s7p_func = func;
        cursor_skip(&body, 2);
        uint16_t seq = cursor_u16be(&body);
        if (!body.err) {
            ev_uint(e, "seq", seq);
            /* a response answers the request with its sequence number */
            struct s7_pending *p = NULL;
            for (unsigned i = 0; i < S7_PENDING && !p; i++)
                if (st->s7p_pend[i].used && st->s7p_pend[i].ref == seq &&
                    (st->s7p_pend[i].job_dir == di) == (opcode == 0x31))
                    p = &st->s7p_pend[i];
            if (opcode == 0x31) {
                if (!p) {
                    p = &st->s7p_pend[st->s7p_pend_next];
                    st->s7p_pend_next = (st->s7p_pend_next + 1) % S7_PENDING;
                }
                p->used = 1;
                p->ref = seq;
                p->job_dir = (uint8_t)di;
                p->func = func;
                p->ts = ts;
            } else if (p) {
                ev_uint(e, "request_function", p->func);
                if (ts >= p->ts) ev_uint(e, "latency_us", ts - p->ts);
                p->used = 0;
            }
        }
        if (opcode == 0x31) {
            uint32_t sid = cursor_u32be(&body);
            if (!body.err) ev_uint(e, "session_id", sid);
        }
    } else if (opcode == 0x33) {
        e->dir = EV_DIR_INDICATION;
        event_op(e, "notification");
    } else {
        event_op(e, "identified");
    }
    event_emit(sink, e);
    if (!dir->s7p_more) s7p_pdu_done(st, dir, sink);
    if (dir->s7p_req) s7p_sequence(st, sink, dir->s7p_func);
}

/* ---------------------------------------------------------------- COTP */

static void s7_payload(struct s7_state *st, int di, struct cursor *c, unsigned parts,
                       const struct pdu_info *info, struct event_sink *sink)
{
    int ok;
    uint8_t id = cursor_peek_u8(c, 0, &ok);
    if (!ok) return; /* empty DT */
    if (id == 0x32) {
        (void)parts;
        s7_pdu(st, di, c, info, sink);
    } else if (id == 0x72) {
        s7p_pdu(st, di, c, info->ts_us, sink);
    } else {
        struct event *e = event_begin(sink, "s7comm", EV_DIR_NONE);
        event_op(e, "cotp_dt");
        ev_uint(e, "protocol_id", id);
        ev_uint(e, "length", cursor_left(c));
        event_anomaly(e, "s7comm.unknown_payload");
        event_emit(sink, e);
    }
}

static void cotp_dt(struct s7_state *st, int di, struct cursor *hdr, struct cursor *tp,
                    const struct pdu_info *info, struct event_sink *sink)
{
    struct s7_buf *b = &st->dir[di].cotp;
    uint8_t nr = cursor_u8(hdr);
    int eot = (nr & 0x80) != 0;
    size_t n = cursor_left(tp);
    const uint8_t *p = cursor_take(tp, n);
    if (!p) return;
    if (!eot) {
        if (!buf_append(b, p, n, S7_COTP_REASM_MAX) && b->dropping == 1) {
            b->dropping = 2; /* report once per TSDU */
            struct event *e = event_begin(sink, "s7comm", EV_DIR_NONE);
            event_op(e, "cotp_dt");
            event_anomaly(e, "s7comm.reassembly_overflow");
            event_emit(sink, e);
        }
        return;
    }
    if (b->dropping) {
        buf_done(b);
        return;
    }
    if (b->len == 0) {
        unsigned parts = b->parts + 1u;
        buf_reset(b);
        struct cursor pc = cursor_make(p, n);
        s7_payload(st, di, &pc, parts, info, sink);
        return;
    }
    if (!buf_append(b, p, n, S7_COTP_REASM_MAX)) {
        struct event *e = event_begin(sink, "s7comm", EV_DIR_NONE);
        event_op(e, "cotp_dt");
        event_anomaly(e, "s7comm.reassembly_overflow");
        event_emit(sink, e);
        buf_done(b);
        return;
    }
    struct cursor pc = cursor_make(b->p, b->len);
    s7_payload(st, di, &pc, b->parts, info, sink);
    buf_done(b);
}

/* CR/CC: dst ref | src ref | class | params (code | len | value): c0 TPDU size,
 * c1 calling TSAP, c2 called TSAP. DR: dst ref | src ref | reason. */
static void cotp_connect(struct cursor *hdr, uint8_t type, struct event *e)
{
    ev_uint(e, "cotp_type", type);
    ev_uint(e, "dst_ref", cursor_u16be(hdr));
    ev_uint(e, "src_ref", cursor_u16be(hdr));
    if (type == 0x80) {
        ev_uint(e, "reason", cursor_u8(hdr));
        return;
    }
    if (type == 0xc0) return;
    uint8_t cls = cursor_u8(hdr);
    if (hdr->err) {
        event_anomaly(e, "s7comm.bad_cotp");
        return;
    }
    ev_uint(e, "class", cls >> 4);
    while (cursor_left(hdr) >= 2) {
        uint8_t code = cursor_u8(hdr);
        uint8_t len = cursor_u8(hdr);
        const uint8_t *v = cursor_take(hdr, len);
        if (!v) {
            event_anomaly(e, "s7comm.bad_cotp");
            return;
        }
        if (code == 0xc0 && len == 1 && v[0] >= 7 && v[0] <= 13)
            ev_uint(e, "tpdu_size", 1u << v[0]);
        else if (code == 0xc1)
            ev_hex(e, "src_tsap", v, len);
        else if (code == 0xc2)
            ev_hex(e, "dst_tsap", v, len);
    }
}

static void s7_tpkt(struct s7_state *st, int di, struct cursor *tp, const struct pdu_info *info,
                    struct event_sink *sink)
{
    cursor_skip(tp, 4);
    uint8_t li = cursor_u8(tp);
    struct cursor hdr = cursor_sub(tp, li);
    uint8_t type = cursor_peek_u8(&hdr, 0, NULL);
    if (tp->err || li < 2) {
        struct event *e = event_begin(sink, "s7comm", EV_DIR_NONE);
        event_op(e, "cotp_invalid");
        ev_uint(e, "li", li);
        event_anomaly(e, "s7comm.bad_cotp");
        event_emit(sink, e);
        return;
    }
    cursor_skip(&hdr, 1);
    const char *op = NULL;
    enum ev_dir dir = info->to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE;
    switch (type & 0xf0) {
    case 0xf0: cotp_dt(st, di, &hdr, tp, info, sink); return;
    case 0xe0:
        op = "cotp_cr";
        dir = EV_DIR_REQUEST;
        break;
    case 0xd0:
        op = "cotp_cc";
        dir = EV_DIR_RESPONSE;
        break;
    case 0x80:
        op = "cotp_dr";
        dir = EV_DIR_REQUEST;
        break;
    case 0xc0:
        op = "cotp_dc";
        dir = EV_DIR_RESPONSE;
        break;
    case 0x70: op = "cotp_er"; break;
    case 0x10: op = "cotp_ed"; break;
    case 0x20: op = "cotp_ea"; break;
    case 0x50: op = "cotp_rj"; break;
    case 0x60: op = "cotp_ak"; break;
    default: break;
    }
    struct event *e = event_begin(sink, "s7comm", dir);
    if (!op) {
        event_op(e, "cotp_invalid");
        ev_uint(e, "cotp_type", type);
        event_anomaly(e, "s7comm.bad_cotp");
    } else {
        event_op(e, op);
        uint8_t t = type & 0xf0;
        if (t == 0xe0 || t == 0xd0 || t == 0x80 || t == 0xc0)
            cotp_connect(&hdr, t, e);
        else
            ev_uint(e, "cotp_type", t);
    }
    event_emit(sink, e);
}

/* ---------------------------------------------------------------- contract */

/* Bytes to skip to the next plausible TPKT start (03 00), at least 1. */
static size_t s7_resync(const struct cursor *c)
{
    size_t left = cursor_left(c);
    for (size_t i = 1; i < left; i++) {
        int ok;
        if (cursor_peek_u8(c, i, NULL) != 0x03) continue;
        uint8_t r = cursor_peek_u8(c, i + 1, &ok);
        if (!ok || r == 0x00) return i;
    }
    return left;
}

static size_t s7_parse(void *state, struct cursor *c, const struct pdu_info *info,
                       struct event_sink *sink)
{
    struct s7_state *st = state;
    int di = info->to_server ? 1 : 0;
    struct s7_dir *d = &st->dir[di];
    size_t used = 0;
    if (info->after_gap) {
        object_abort(&st->blk[di]);
        buf_reset(&d->cotp);
        buf_reset(&d->ud);
        d->s7p_more = 0;
        d->desync = 1;
    }
    while (cursor_left(c) >= 4 && c->err == CURSOR_OK) {
        uint8_t ver = cursor_peek_u8(c, 0, NULL);
        uint8_t res = cursor_peek_u8(c, 1, NULL);
        uint16_t len = cursor_peek_u16be(c, 2, NULL);
        int bad = ver != 3 || res != 0 || len < 7;
        if (!bad && d->desync && cursor_left(c) >= 6) {
            /* resynchronising: "03 00" may be data, so want a plausible COTP header too */
            uint8_t li = cursor_peek_u8(c, 4, NULL);
            uint8_t type = cursor_peek_u8(c, 5, NULL) & 0xf0;
            bad = li < 2 || li > len - 5 ||
                  !(type == 0xf0 || type == 0xe0 || type == 0xd0 || type == 0x80 || type == 0xc0);
        }
        if (bad) {
            if (!d->desync) {
                struct event *e = event_begin(sink, "s7comm", EV_DIR_NONE);
                event_op(e, "tpkt_invalid");
                event_anomaly(e, "s7comm.bad_tpkt");
                event_emit(sink, e);
                d->desync = 1;
            }
            size_t skip = s7_resync(c);
            cursor_skip(c, skip);
            used += skip;
            continue;
        }
        if (cursor_left(c) < len) break;
        d->desync = 0;
        struct cursor tp = cursor_sub(c, len);
        used += len;
        s7_tpkt(st, di, &tp, info, sink);
    }
    return used;
}

/* YES only for TPKT + COTP DT carrying S7 (0x32) or S7comm-plus (0x72); CR/CC and
 * empty DTs are skipped (NEED_MORE), anything else (e.g. MMS's session layer) is NO. */
static enum probe_result s7_probe(struct cursor *c, int to_server)
{
    size_t off = 0, left = cursor_left(c);
    (void)to_server;
    for (;;) {
        int ok;
        if (left - off < 1) return PROBE_NEED_MORE;
        if (cursor_peek_u8(c, off, NULL) != 0x03) return PROBE_NO;
        uint8_t res = cursor_peek_u8(c, off + 1, &ok);
        if (!ok) return PROBE_NEED_MORE;
        if (res != 0x00) return PROBE_NO;
        uint16_t len = cursor_peek_u16be(c, off + 2, &ok);
        if (!ok) return PROBE_NEED_MORE;
        if (len < 7) return PROBE_NO;
        uint8_t li = cursor_peek_u8(c, off + 4, &ok);
        if (ok && (li < 2 || li > len - 5)) return PROBE_NO;
        uint8_t type = cursor_peek_u8(c, off + 5, &ok);
        if (!ok) return PROBE_NEED_MORE;
        switch (type & 0xf0) {
        case 0xe0:
        case 0xd0: break; /* connection set-up: look at the next TPKT */
        case 0xf0:
            if (li != 2) return PROBE_NO;
            if (len > 7) {
                uint8_t id = cursor_peek_u8(c, off + 7, &ok);
                if (!ok) return PROBE_NEED_MORE;
                return id == 0x32 || id == 0x72 ? PROBE_YES : PROBE_NO;
            }
            break; /* empty DT fragment */
        default: return PROBE_NO;
        }
        if (left - off < len) return PROBE_NEED_MORE;
        off += len;
    }
}

static void *s7_state_new(void)
{
    return calloc(1, sizeof(struct s7_state));
}

static void s7_state_free(void *state)
{
    struct s7_state *st = state;
    if (!st) return;
    for (int i = 0; i < 2; i++) {
        buf_free(&st->dir[i].cotp);
        buf_free(&st->dir[i].ud);
        object_free(&st->blk[i]);
    }
    free(st);
}

static void s7_gap(void *state, int to_server)
{
    struct s7_state *st = state;
    struct s7_dir *d = &st->dir[to_server ? 1 : 0];
    buf_reset(&d->cotp);
    buf_reset(&d->ud);
    object_abort(&st->blk[to_server ? 1 : 0]); /* a block with a hole is not scanned */
    d->s7p_more = 0;
    d->desync = 1; /* landing mid-TPKT after a gap is expected: no bad_tpkt for it */
}

/* A block whose last Ack_Data never came is scanned as it stands, marked partial. */
static void s7_end(void *state, int to_server, struct event_sink *sink)
{
    struct s7_state *st = state;
    object_partial(&st->blk[to_server ? 1 : 0], sink, to_server);
}

const struct dissector s7comm_dissector = {
    .id = DISS_S7COMM,
    .name = "s7comm",
    .transports = DISS_TCP,
    .ports = {102, 0},
    .probe = s7_probe,
    .state_new = s7_state_new,
    .state_free = s7_state_free,
    .parse = s7_parse,
    .gap = s7_gap,
    .anomalies = s7_anomalies,
    .max_pdu = S7_TPKT_MAX,
    .end = s7_end,
};
