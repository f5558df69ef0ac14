/* modbus.c - Modbus/TCP dissector (MBAP framing, every public function, UMAS).
 *
 * One ADU per event. The MBAP header frames each ADU on the TCP stream:
 *
 *   0       2       4       6    7    8
 *   +-------+-------+-------+----+----+------------------------+
 *   |  tid  | proto | length|unit| fc | data (length - 2 bytes) |
 *   +-------+-------+-------+----+----+------------------------+
 *    tid: transaction id, echoed by the server; proto: always 0;
 *    length: bytes that follow it (unit + PDU), 2..254 by the spec.
 *    fc: function code; a response with bit 0x80 set is an exception and
 *    carries one byte, the exception code.
 *
 *   UMAS (Schneider, fc 90 = 0x5A), from the public descriptions of the
 *   protocol (lirasenlared.blogspot.com "The Unity (UMAS) protocol", 2017;
 *   Kaspersky ICS CERT "The secrets of Schneider Electric's UMAS protocol", 2022):
 *   +----+---------+----------------+------+
 *   | 5A | session | UMAS code      | data |  request
 *   | 5A | session | FE ok/FD error | data |  response (the code is the request's)
 *   +----+---------+----------------+------+
 *
 *   Program transfers, reassembled for YARA. Schneider names them from the
 *   PLC's side: "upload" (0x30..0x32) sends a program TO the PLC, "download"
 *   (0x33..0x35) reads it FROM the PLC. The framing of the block PDUs below is
 *   what nDPI's umas.pcap shows (a 0x33/0x34 x 53/0x35 read, block 1 starting
 *   "APX") and what public notes describe for 0x31; no vendor document exists,
 *   so fields marked ? are unexplained and every length is checked:
 *     0x31 request:  00 01? | block u16le | length u16le | data
 *     0x34 request:  00 01? | block u16le
 *     0x34 response: last u8 (1 on the final block) | 00? | length u16le | data
 *     0x35 request:  00 01? | block u16le (the last one)
 *   Blocks must come in order (the first sets the start, a repeat of the last
 *   is skipped): a missing or misplaced one drops the transfer
 *   (modbus.umas_block_sequence), as does a length that overruns the PDU
 *   or the flow's end before the last block or the end request.
 *
 * Choices worth knowing:
 * - `code` is the function code with the exception bit cleared (tshark's
 *   modbus.func_code). An exception is a field (`exception`, `exception_name`),
 *   not an anomaly: it is ordinary protocol behaviour, and bursts of them are a
 *   correlation rule's business (modbus_exception_burst).
 * - Lengths 2..255 are framed. 255 (a 254-byte PDU, one over the spec) is what
 *   UMAS tools send in practice; such ADUs are parsed with modbus.pdu_too_large.
 *   Other lengths are modbus.invalid_length and start a resync. Hence max_pdu
 *   is 261 (6 + 255), not the spec's 260.
 * - Resync: after a gap, the first byte is probably an ADU start, so it is
 *   accepted on tshark's test (protocol id 0, sane length). Once that fails, or
 *   after a bad header inside the stream, we scan one byte at a time and accept
 *   a header only if the function code is also known (or an exception of a
 *   known one), except at the start of data that arrives later (a new segment,
 *   see modbus_parse). One modbus.resync event per episode, not one per byte.
 * - Requests are remembered per flow (MODBUS_MAX_PENDING, oldest evicted and
 *   counted) so a response carries the request's function and the latency.
 * - Direction: the side on port 502 is the server when only one side uses it
 *   (as tshark decides); otherwise info->to_server. See mb_is_request().
 * - The probe takes a known function, or else whole ADUs back to back (the
 *   engine probes on port 502 too; see modbus_probe()). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "object.h"
#include "yara_scan.h"

#define MB_MIN_HEAD        8   /* MBAP + function code: what a header check needs */
#define MB_MIN_LENGTH      2   /* unit + function code */
#define MB_MAX_LENGTH      255 /* framed; above 254 is flagged pdu_too_large */
#define MB_MAX_PDU         253 /* spec limit on the PDU (function code + data) */
#define MB_MAX_ADU         (6 + MB_MAX_LENGTH)
#define MODBUS_MAX_PENDING 32
#define MB_MAX_VALUES      32 /* written/read values kept per event */
#define MB_MAX_RECORDS     16 /* file records kept per event */
#define MB_MAX_OBJECTS     16 /* device id objects kept per event */
#define MB_FILE_SUBS       36 /* file sub-requests in a PDU: (253 - 2) / 7 */

#define FC_UMAS     0x5A
#define MODBUS_PORT 502

static const char *const modbus_anomalies[] = {
    "modbus.invalid_protocol_id",
    "modbus.invalid_length",
    "modbus.pdu_too_large",
    "modbus.unknown_function",
    "modbus.unknown_subfunction",
    "modbus.unknown_mei_type",
    "modbus.umas_unknown_function",
    "modbus.unmatched_response",
    "modbus.func_mismatch",
    "modbus.exception_in_request",
    "modbus.unknown_exception",
    "modbus.truncated_pdu",
    "modbus.trailing_data",
    "modbus.invalid_byte_count",
    "modbus.invalid_quantity",
    "modbus.invalid_value",
    "modbus.resync",
    "modbus.umas_block_sequence",
    NULL,
};

/* A request waiting for its response. seq 0 marks a free slot. */
struct mb_pending {
    uint64_t ts_us;
    uint64_t seq; /* age, never wraps */
    uint16_t tid;
    uint16_t sub; /* FC 8 sub-function, FC 43 MEI type, FC 90 UMAS code */
    uint8_t unit;
    uint8_t fc;
    uint8_t has_sub;
};

/* The files the last FC 20 request asked for, so its response can name them
 * (kept once per flow, not in every pending slot: reads are rare). */
struct mb_file_req {
    uint16_t tid;
    uint8_t unit, valid, n;
    uint16_t files[MB_FILE_SUBS];
    uint16_t records[MB_FILE_SUBS];
};

enum mb_mode {
    MB_SYNCED = 0, /* the head of the buffer is an ADU boundary */
    MB_GUESS,      /* after a gap: the head is probably a boundary */
    MB_SCAN,       /* lost: looking for a plausible header byte by byte */
};

struct mb_dir {
    uint8_t mode;     /* enum mb_mode */
    uint32_t skipped; /* bytes skipped in the current resync */
    uint32_t kept;    /* bytes left unconsumed by the last parse(): new data starts there */
};

/* File records gathered for YARA, one run per direction of data ([0] FC 21
 * writes, [1] FC 20 read responses): PDUs join while they address the same file
 * at the next record. */
struct mb_fobj {
    struct ots_object obj;
    int32_t file;  /* -1: unknown (a read response without its request) */
    uint32_t next; /* the record that would continue the run */
    uint64_t adu;  /* the ADU that last extended it (unknown files join only within it) */
};

/* A UMAS program transfer ([0] to the PLC: 0x30..0x32; [1] from it: 0x33..0x35). */
struct mb_umas_xfer {
    struct ots_object obj;
    uint8_t armed;     /* an initialize was seen; blocks are checked */
    uint8_t started;   /* the first block came: next is set */
    uint8_t req_valid; /* [1]: the last DOWNLOAD_BLOCK request's block, for its reply */
    uint16_t next, req_tid, req_block;
};

struct modbus_state {
    struct mb_pending pend[MODBUS_MAX_PENDING];
    uint64_t seq;
    uint64_t evicted;   /* pending requests dropped for room */
    uint64_t unmatched; /* responses with no pending request */
    uint64_t resyncs;
    uint64_t adus;
    uint64_t umas_gaps;   /* UMAS transfers dropped for a missing or misplaced block */
    struct mb_dir dir[2]; /* [0] to server, [1] to client */
    struct mb_fobj fobj[2];
    struct mb_umas_xfer umas[2];
    struct mb_file_req fread;
};

/* ---- names ---- */

/* Public function codes (Modbus Application Protocol v1.1b3 §6). NULL: unknown. */
static const char *mb_func_op(uint8_t fc)
{
    switch (fc) {
    case 1: return "read_coils";
    case 2: return "read_discrete_inputs";
    case 3: return "read_holding_registers";
    case 4: return "read_input_registers";
    case 5: return "write_single_coil";
    case 6: return "write_single_register";
    case 7: return "read_exception_status";
    case 8: return "diag_other"; /* refined by sub-function */
    case 11: return "get_comm_event_counter";
    case 12: return "get_comm_event_log";
    case 15: return "write_multiple_coils";
    case 16: return "write_multiple_registers";
    case 17: return "report_server_id";
    case 20: return "read_file_record";
    case 21: return "write_file_record";
    case 22: return "mask_write_register";
    case 23: return "read_write_multiple_registers";
    case 24: return "read_fifo_queue";
    case 43: return "encapsulated_interface_transport"; /* refined by MEI type */
    case FC_UMAS: return "umas_response";               /* refined by UMAS code */
    default: return NULL;
    }
}

/* User-defined ranges (spec §5): named apart, still modbus.unknown_function. */
static int mb_user_defined(uint8_t fc)
{
    return (fc >= 65 && fc <= 72) || (fc >= 100 && fc <= 110);
}

/* FC 8 sub-functions: taxonomy op and public name. */
static const char *mb_diag_op(uint16_t sub, const char **name)
{
    static const char *const names[] = {
        [0x00] = "return_query_data",
        [0x01] = "restart_comm_option",
        [0x02] = "return_diagnostic_register",
        [0x03] = "change_ascii_input_delimiter",
        [0x04] = "force_listen_only_mode",
        [0x0A] = "clear_counters_and_diagnostic_register",
        [0x0B] = "return_bus_message_count",
        [0x0C] = "return_bus_comm_error_count",
        [0x0D] = "return_bus_exception_error_count",
        [0x0E] = "return_server_message_count",
        [0x0F] = "return_server_no_response_count",
        [0x10] = "return_server_nak_count",
        [0x11] = "return_server_busy_count",
        [0x12] = "return_bus_character_overrun_count",
        [0x14] = "clear_overrun_counter_and_flag",
    };
    *name = sub < sizeof(names) / sizeof(names[0]) ? names[sub] : NULL;
    switch (sub) {
    case 0x01: return "diag_restart_comm";
    case 0x04: return "diag_force_listen_only";
    case 0x0A:
    case 0x14: return "diag_clear_counters";
    default: return "diag_other";
    }
}

static const char *mb_mei_op(uint8_t mei)
{
    switch (mei) {
    case 13: return "canopen_general_reference";
    case 14: return "read_device_id";
    default: return "encapsulated_interface_transport";
    }
}

/* UMAS function codes, public name and op: the taxonomy's modbus_umas_* ids
 * where one exists, else umas_ + the name. */
static const struct {
    uint8_t code;
    const char *name;
    const char *op;
} mb_umas_codes[] = {
    {0x01, "INIT_COMM", "umas_session"},
    {0x02, "READ_ID", "umas_plc_info_read"},
    {0x03, "READ_PROJECT_INFO", "umas_plc_info_read"},
    {0x04, "READ_PLC_INFO", "umas_plc_info_read"},
    {0x06, "READ_CARD_INFO", "umas_plc_info_read"},
    {0x0A, "REPEAT", "umas_repeat"},
    {0x10, "TAKE_PLC_RESERVATION", "umas_reservation"},
    {0x11, "RELEASE_PLC_RESERVATION", "umas_reservation"},
    {0x12, "KEEP_ALIVE", "umas_reservation"},
    {0x20, "READ_MEMORY_BLOCK", "umas_read_memory"},
    {0x22, "READ_VARIABLES", "umas_read_variables"},
    {0x23, "WRITE_VARIABLES", "umas_write_variables"},
    {0x24, "READ_COILS_REGISTERS", "umas_read_coils_registers"},
    {0x25, "WRITE_COILS_REGISTERS", "umas_write_variables"},
    {0x30, "INITIALIZE_UPLOAD", "umas_program_upload"},
    {0x31, "UPLOAD_BLOCK", "umas_program_upload"},
    {0x32, "END_STRATEGY_UPLOAD", "umas_program_upload"},
    {0x33, "INITIALIZE_DOWNLOAD", "umas_program_download"},
    {0x34, "DOWNLOAD_BLOCK", "umas_program_download"},
    {0x35, "END_STRATEGY_DOWNLOAD", "umas_program_download"},
    {0x39, "READ_ETH_MASTER_DATA", "umas_read_eth_master_data"},
    {0x40, "START_PLC", "umas_plc_start"},
    {0x41, "STOP_PLC", "umas_plc_stop"},
    {0x50, "MONITOR_PLC", "umas_monitor_plc"},
    {0x58, "CHECK_PLC", "umas_check_plc"},
    {0x70, "READ_IO_OBJECT", "umas_read_io_object"},
    {0x71, "WRITE_IO_OBJECT", "umas_write_variables"},
    {0x73, "GET_STATUS_MODULE", "umas_get_status_module"},
};

static const char *mb_umas_op(uint8_t code, const char **name)
{
    for (size_t i = 0; i < sizeof(mb_umas_codes) / sizeof(mb_umas_codes[0]); i++) {
        if (mb_umas_codes[i].code == code) {
            *name = mb_umas_codes[i].name;
            return mb_umas_codes[i].op;
        }
    }
    *name = NULL;
    return "umas_unknown";
}

static const char *mb_exception_name(uint8_t x)
{
    switch (x) {
    case 0x01: return "illegal_function";
    case 0x02: return "illegal_data_address";
    case 0x03: return "illegal_data_value";
    case 0x04: return "server_device_failure";
    case 0x05: return "acknowledge";
    case 0x06: return "server_device_busy";
    case 0x07: return "negative_acknowledge";
    case 0x08: return "memory_parity_error";
    case 0x0A: return "gateway_path_unavailable";
    case 0x0B: return "gateway_target_failed_to_respond";
    default: return NULL;
    }
}

/* ---- framing ---- */

enum mb_hdr { MB_HDR_OK, MB_HDR_SHORT, MB_HDR_BAD_PROTO, MB_HDR_BAD_LEN, MB_HDR_BAD_FUNC };

/* Looks at the MBAP at the cursor without moving. strict also demands a function
 * code we know (or an exception of one), for scanning inside unknown bytes. */
static enum mb_hdr mb_check_header(const struct cursor *c, int strict, uint16_t *length)
{
    if (c->err != CURSOR_OK || cursor_left(c) < MB_MIN_HEAD) return MB_HDR_SHORT;
    uint16_t proto = cursor_peek_u16be(c, 2, NULL);
    uint16_t len = cursor_peek_u16be(c, 4, NULL);
    uint8_t fc = cursor_peek_u8(c, 7, NULL);
    if (length) *length = len;
    if (proto != 0) return MB_HDR_BAD_PROTO;
    if (len < MB_MIN_LENGTH || len > MB_MAX_LENGTH) return MB_HDR_BAD_LEN;
    if (strict && !mb_func_op(fc & 0x7F)) return MB_HDR_BAD_FUNC;
    return MB_HDR_OK;
}

/* ---- pending requests ---- */

static void mb_pending_add(struct modbus_state *st, struct event *e, uint16_t tid, uint8_t unit,
                           uint8_t fc, int has_sub, uint16_t sub, uint64_t ts)
{
    struct mb_pending *slot = NULL, *oldest = &st->pend[0];
    for (size_t i = 0; i < MODBUS_MAX_PENDING; i++) {
        struct mb_pending *p = &st->pend[i];
        if (p->seq == 0) {
            slot = p;
            break;
        }
        if (p->seq < oldest->seq) oldest = p;
    }
    if (!slot) {
        slot = oldest;
        st->evicted++;
        ev_uint(e, "pending_evicted", st->evicted);
    }
    slot->seq = ++st->seq;
    slot->tid = tid;
    slot->unit = unit;
    slot->fc = fc;
    slot->has_sub = (uint8_t)has_sub;
    slot->sub = sub;
    slot->ts_us = ts;
}

/* The oldest request with this tid and unit, preferring the same function (tid
 * 0 is often reused for every request). The slot is freed; *out gets a copy. */
static int mb_pending_take(struct modbus_state *st, uint16_t tid, uint8_t unit, uint8_t fc,
                           struct mb_pending *out)
{
    struct mb_pending *best = NULL, *any = NULL;
    for (size_t i = 0; i < MODBUS_MAX_PENDING; i++) {
        struct mb_pending *p = &st->pend[i];
        if (p->seq == 0 || p->tid != tid || p->unit != unit) continue;
        if (p->fc == fc && (!best || p->seq < best->seq)) best = p;
        if (!any || p->seq < any->seq) any = p;
    }
    if (!best) best = any;
    if (!best) return 0;
    *out = *best;
    best->seq = 0;
    return 1;
}

/* ---- PDU bodies ---- */

/* What one PDU's decoder works with. */
struct mb_pdu {
    struct event *e;
    struct modbus_state *st;
    struct event_sink *sink;
    struct cursor *p; /* after the function code */
    int req;
    uint8_t fc, unit;
    uint16_t tid;
    const struct mb_pending *rq; /* the matched request (responses), or NULL */
    const char *op;
    int has_sub;
    uint16_t sub;
    int strict;     /* the layout fixes the length: leftover bytes are trailing data */
    uint8_t nfiles; /* FC 20 requests: the files asked for, kept with the request */
    uint16_t files[MB_FILE_SUBS];
    uint16_t records[MB_FILE_SUBS];
};

/* Bytes announced by a count field; fewer present marks the PDU truncated. */
static struct cursor mb_counted(struct mb_pdu *m, size_t n)
{
    return cursor_sub(m->p, n);
}

static void mb_registers(struct mb_pdu *m, struct cursor *c, size_t count)
{
    size_t n = count < MB_MAX_VALUES ? count : MB_MAX_VALUES;
    ev_arr_begin(m->e, "values");
    for (size_t i = 0; i < n && cursor_has(c, 2); i++)
        ev_uint(m->e, NULL, cursor_u16be(c));
    ev_end(m->e);
    if (count > MB_MAX_VALUES) ev_bool(m->e, "values_truncated", 1);
}

/* Coils are packed LSB first, eight to a byte. */
static void mb_coils(struct mb_pdu *m, struct cursor *c, size_t count)
{
    size_t n = count < MB_MAX_VALUES ? count : MB_MAX_VALUES;
    uint8_t byte = 0;
    ev_arr_begin(m->e, "values");
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) {
            if (!cursor_has(c, 1)) break;
            byte = cursor_u8(c);
        }
        ev_uint(m->e, NULL, (byte >> (i % 8)) & 1u);
    }
    ev_end(m->e);
    if (count > MB_MAX_VALUES) ev_bool(m->e, "values_truncated", 1);
}

static void mb_quantity(struct mb_pdu *m, const char *key, uint16_t q, uint16_t max)
{
    ev_uint(m->e, key, q);
    if (q == 0 || q > max) event_anomaly(m->e, "modbus.invalid_quantity");
}

/* FC 1-4 */
static void mb_read(struct mb_pdu *m)
{
    int bits = m->fc <= 2;
    if (m->req) {
        uint16_t addr = cursor_u16be(m->p);
        uint16_t q = cursor_u16be(m->p);
        if (m->p->err) return;
        ev_uint(m->e, "address", addr);
        mb_quantity(m, "quantity", q, bits ? 2000 : 125);
        return;
    }
    uint8_t bc = cursor_u8(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "byte_count", bc);
    struct cursor d = mb_counted(m, bc);
    if (bits) {
        cursor_skip(&d, cursor_left(&d));
        return;
    }
    if (bc % 2) event_anomaly(m->e, "modbus.invalid_byte_count");
    mb_registers(m, &d, bc / 2u);
}

/* FC 5, 6: same layout in both directions (the response echoes). */
static void mb_write_single(struct mb_pdu *m)
{
    uint16_t addr = cursor_u16be(m->p);
    uint16_t v = cursor_u16be(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "address", addr);
    ev_uint(m->e, "value", v);
    if (m->fc == 5 && v != 0x0000 && v != 0xFF00) event_anomaly(m->e, "modbus.invalid_value");
}

/* FC 8 */
static void mb_diag(struct mb_pdu *m)
{
    uint16_t sub = cursor_u16be(m->p);
    if (m->p->err) return;
    const char *name;
    m->op = mb_diag_op(sub, &name);
    m->has_sub = 1;
    m->sub = sub;
    ev_uint(m->e, "sub_function", sub);
    if (name)
        ev_cstr(m->e, "sub_function_name", name);
    else
        event_anomaly(m->e, "modbus.unknown_subfunction");
    size_t n = cursor_left(m->p);
    ev_hex(m->e, "data", cursor_take(m->p, n), n);
    m->strict = 0;
}

/* FC 11, 12 (requests have no data) */
static void mb_comm_event(struct mb_pdu *m)
{
    if (m->req) return;
    if (m->fc == 11) {
        uint16_t status = cursor_u16be(m->p);
        uint16_t count = cursor_u16be(m->p);
        if (m->p->err) return;
        ev_uint(m->e, "status", status);
        ev_uint(m->e, "event_count", count);
        return;
    }
    uint8_t bc = cursor_u8(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "byte_count", bc);
    struct cursor d = mb_counted(m, bc);
    uint16_t status = cursor_u16be(&d);
    uint16_t events = cursor_u16be(&d);
    uint16_t messages = cursor_u16be(&d);
    if (d.err) {
        event_anomaly(m->e, "modbus.invalid_byte_count");
        return;
    }
    ev_uint(m->e, "status", status);
    ev_uint(m->e, "event_count", events);
    ev_uint(m->e, "message_count", messages);
    size_t n = cursor_left(&d);
    ev_hex(m->e, "events", cursor_take(&d, n), n);
}

/* FC 15, 16: requests carry the values; responses echo address and quantity. */
static void mb_write_multiple(struct mb_pdu *m)
{
    int coils = m->fc == 15;
    uint16_t addr = cursor_u16be(m->p);
    uint16_t q = cursor_u16be(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "address", addr);
    mb_quantity(m, "quantity", q, coils ? 0x7B0 : 0x7B);
    if (!m->req) return;
    uint8_t bc = cursor_u8(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "byte_count", bc);
    size_t want = coils ? (q + 7u) / 8u : 2u * q;
    if (bc != want) event_anomaly(m->e, "modbus.invalid_byte_count");
    struct cursor d = mb_counted(m, bc);
    if (coils)
        mb_coils(m, &d, q < (size_t)bc * 8u ? q : (size_t)bc * 8u);
    else
        mb_registers(m, &d, q < bc / 2u ? q : bc / 2u);
}

/* FC 17: server id, run indicator, device-specific data. */
static void mb_report_server_id(struct mb_pdu *m)
{
    if (m->req) return;
    uint8_t bc = cursor_u8(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "byte_count", bc);
    struct cursor d = mb_counted(m, bc);
    uint8_t id = cursor_u8(&d);
    uint8_t run = cursor_u8(&d);
    if (d.err) {
        event_anomaly(m->e, "modbus.invalid_byte_count");
        return;
    }
    /* The server id is device specific and may be longer than a byte; the
     * common layout is one byte, then the run indicator (0x00 off, 0xFF on). */
    ev_uint(m->e, "server_id", id);
    ev_uint(m->e, "run_indicator", run);
    if (run == 0x00 || run == 0xFF) ev_bool(m->e, "running", run == 0xFF);
    size_t n = cursor_left(&d);
    if (n) ev_str(m->e, "data", cursor_take(&d, n), n);
}

/* One sub-request's (or sub-response's) data for YARA: it extends the
 * direction's run if it addresses the run's file at the next record (record
 * numbers count 2-byte registers); otherwise the run is scanned and a new one
 * starts. So a file written (or read) over several PDUs is one object, ended by
 * another file, a record out of line, or the flow's end (modbus_end). */
static void mb_file_piece(struct mb_pdu *m, int32_t file, uint32_t record, struct cursor *d)
{
    struct mb_fobj *f = &m->st->fobj[m->req ? 0 : 1];
    int join = object_active(&f->obj) && f->file == file &&
               (file >= 0 ? f->next == record : f->adu == m->st->adus);
    if (!join) {
        object_end(&f->obj, m->sink, m->req);
        char name[16], v[12];
        if (file >= 0)
            snprintf(name, sizeof(name), "file:%d", (int)file);
        else
            snprintf(name, sizeof(name), "file:?");
        object_begin(&f->obj, m->sink, "modbus", "modbus.file_record", name, strlen(name), 0);
        if (file >= 0) {
            snprintf(v, sizeof(v), "%d", (int)file);
            object_attr(&f->obj, "file", v);
            snprintf(v, sizeof(v), "%u", (unsigned)record);
            object_attr(&f->obj, "record", v);
        }
        f->file = file;
    }
    f->next = record + (uint32_t)(cursor_left(d) / 2u);
    f->adu = m->st->adus;
    object_append(&f->obj, m->sink, d, cursor_left(d));
}

/* The record data of FC 21 requests and FC 20 responses, for YARA, in PDU
 * order. A response names its files from the matched request if it is the
 * flow's last FC 20 request (sub-response i answers sub-request i); else file
 * "?". span is the byte-count span, already walked without error. */
static void mb_file_objects(struct mb_pdu *m, struct cursor span)
{
    size_t n = 0;
    if (!yara_worker_active(m->sink->yara)) return;
    while (cursor_left(&span) > 0 && n < MB_FILE_SUBS) {
        size_t len;
        int32_t file;
        uint32_t record;
        if (m->fc == 21) {
            cursor_skip(&span, 1); /* reference type */
            file = cursor_u16be(&span);
            record = cursor_u16be(&span);
            len = 2u * cursor_u16be(&span);
        } else {
            uint8_t flen = cursor_u8(&span);
            if (flen < 1) return; /* the walk stopped there too */
            len = flen - 1u;
            cursor_skip(&span, 1); /* reference type */
            const struct mb_file_req *fr = &m->st->fread;
            int known = m->rq && m->rq->fc == 20 && fr->valid && fr->tid == m->rq->tid &&
                        fr->unit == m->rq->unit && n < fr->n;
            file = known ? fr->files[n] : -1;
            record = known ? fr->records[n] : 0;
        }
        if (span.err) return;
        struct cursor seg = cursor_sub(&span, len);
        mb_file_piece(m, file, record, &seg);
        n++;
    }
}

/* FC 20, 21: a byte count, then sub-requests. 20 requests are 7 bytes
 * (reference type 6, file, record, length); 21 requests and responses add the
 * record data; 20 responses are (length, reference type 6, data). */
static void mb_file_record(struct mb_pdu *m)
{
    uint8_t bc = cursor_u8(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "byte_count", bc);
    struct cursor d = mb_counted(m, bc);
    struct cursor span = d; /* for a second pass over the written values */
    int read_resp = m->fc == 20 && !m->req;
    int with_data = m->fc == 21;
    size_t nrec = 0, nval = 0, total_vals = 0;
    int bad_ref = 0;
    ev_arr_begin(m->e, "records");
    while (cursor_left(&d) > 0) {
        if (read_resp) {
            uint8_t flen = cursor_u8(&d);
            uint8_t ref = cursor_u8(&d);
            if (flen < 1 || !cursor_skip(&d, flen - 1u)) break;
            bad_ref |= ref != 6;
            if (nrec++ < MB_MAX_RECORDS) {
                ev_obj_begin(m->e, NULL);
                ev_uint(m->e, "length", (flen - 1u) / 2u);
                ev_end(m->e);
            }
            continue;
        }
        uint8_t ref = cursor_u8(&d);
        uint16_t file = cursor_u16be(&d);
        uint16_t record = cursor_u16be(&d);
        uint16_t len = cursor_u16be(&d);
        if (d.err) break;
        bad_ref |= ref != 6;
        if (m->fc == 20 && m->req && m->nfiles < MB_FILE_SUBS) {
            m->files[m->nfiles] = file;
            m->records[m->nfiles++] = record;
        }
        if (nrec++ < MB_MAX_RECORDS) {
            ev_obj_begin(m->e, NULL);
            ev_uint(m->e, "file", file);
            ev_uint(m->e, "record", record);
            ev_uint(m->e, "length", len);
            ev_end(m->e);
        }
        if (with_data) {
            if (!cursor_skip(&d, 2u * len)) break;
            total_vals += len;
        }
    }
    ev_end(m->e);
    if (nrec > MB_MAX_RECORDS) ev_bool(m->e, "records_truncated", 1);
    if (d.err) event_anomaly(m->e, "modbus.invalid_byte_count");
    if (bad_ref) event_anomaly(m->e, "modbus.invalid_value");
    if (!d.err && ((with_data && m->req) || read_resp)) mb_file_objects(m, span);
    if (with_data && !d.err) {
        /* second pass over the verified span: the written registers, capped */
        ev_arr_begin(m->e, "values");
        while (cursor_left(&span) >= 7 && nval < MB_MAX_VALUES) {
            cursor_skip(&span, 5); /* reference type, file, record */
            uint16_t len = cursor_u16be(&span);
            for (uint16_t i = 0; i < len && nval < MB_MAX_VALUES; i++, nval++)
                ev_uint(m->e, NULL, cursor_u16be(&span));
        }
        ev_end(m->e);
        if (total_vals > MB_MAX_VALUES) ev_bool(m->e, "values_truncated", 1);
    }
}

/* FC 22: same layout both ways. */
static void mb_mask_write(struct mb_pdu *m)
{
    uint16_t addr = cursor_u16be(m->p);
    uint16_t and_mask = cursor_u16be(m->p);
    uint16_t or_mask = cursor_u16be(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "address", addr);
    ev_uint(m->e, "and_mask", and_mask);
    ev_uint(m->e, "or_mask", or_mask);
}

/* FC 23 */
static void mb_read_write(struct mb_pdu *m)
{
    if (!m->req) {
        uint8_t bc = cursor_u8(m->p);
        if (m->p->err) return;
        ev_uint(m->e, "byte_count", bc);
        if (bc % 2) event_anomaly(m->e, "modbus.invalid_byte_count");
        struct cursor d = mb_counted(m, bc);
        mb_registers(m, &d, bc / 2u);
        return;
    }
    uint16_t raddr = cursor_u16be(m->p);
    uint16_t rq = cursor_u16be(m->p);
    uint16_t waddr = cursor_u16be(m->p);
    uint16_t q = cursor_u16be(m->p);
    uint8_t bc = cursor_u8(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "read_address", raddr);
    mb_quantity(m, "read_quantity", rq, 0x7D);
    ev_uint(m->e, "write_address", waddr);
    mb_quantity(m, "write_quantity", q, 0x79);
    ev_uint(m->e, "byte_count", bc);
    if (bc != 2u * q) event_anomaly(m->e, "modbus.invalid_byte_count");
    struct cursor d = mb_counted(m, bc);
    mb_registers(m, &d, q < bc / 2u ? q : bc / 2u);
}

/* FC 24 */
static void mb_fifo(struct mb_pdu *m)
{
    if (m->req) {
        uint16_t addr = cursor_u16be(m->p);
        if (!m->p->err) ev_uint(m->e, "address", addr);
        return;
    }
    uint16_t bc = cursor_u16be(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "byte_count", bc);
    struct cursor d = mb_counted(m, bc);
    uint16_t n = cursor_u16be(&d);
    if (d.err) return;
    ev_uint(m->e, "fifo_count", n);
    if (n > 31 || bc != 2u + 2u * n) event_anomaly(m->e, "modbus.invalid_byte_count");
    mb_registers(m, &d, n);
}

/* FC 43 / MEI 14 response objects: the basic and regular ones by name. */
static const char *mb_devid_key(uint8_t id)
{
    switch (id) {
    case 0: return "vendor";
    case 1: return "product_code";
    case 2: return "revision";
    case 3: return "vendor_url";
    case 4: return "product_name";
    case 5: return "model_name";
    case 6: return "user_application_name";
    default: return NULL;
    }
}

static void mb_device_id_objects(struct mb_pdu *m, struct cursor *c, uint8_t count)
{
    size_t other = 0;
    ev_obj_begin(m->e, "device_id");
    /* named objects first, then the rest in an array (keys must be static) */
    struct cursor scan = *c;
    unsigned seen = 0; /* a repeated object keeps its first value: no duplicate keys */
    for (unsigned i = 0; i < count; i++) {
        uint8_t id = cursor_u8(&scan);
        uint8_t len = cursor_u8(&scan);
        const uint8_t *v = cursor_take(&scan, len);
        if (!v) break;
        const char *key = mb_devid_key(id);
        if (!key)
            other++;
        else if (!(seen & 1u << id))
            ev_str(m->e, key, v, len);
        seen |= key ? 1u << id : 0;
    }
    if (other) {
        size_t kept = 0;
        ev_arr_begin(m->e, "other");
        for (unsigned i = 0; i < count && kept < MB_MAX_OBJECTS; i++) {
            uint8_t id = cursor_u8(c);
            uint8_t len = cursor_u8(c);
            const uint8_t *v = cursor_take(c, len);
            if (!v) break;
            if (mb_devid_key(id)) continue;
            ev_obj_begin(m->e, NULL);
            ev_uint(m->e, "id", id);
            ev_str(m->e, "value", v, len);
            ev_end(m->e);
            kept++;
        }
        ev_end(m->e);
    }
    ev_end(m->e);
    /* the caller judges truncation on the scan, which walked every object */
    *c = scan;
}

/* FC 43: MEI 14 read device identification, MEI 13 CANopen general reference. */
static void mb_mei(struct mb_pdu *m)
{
    uint8_t mei = cursor_u8(m->p);
    if (m->p->err) return;
    m->op = mb_mei_op(mei);
    m->has_sub = 1;
    m->sub = mei;
    ev_uint(m->e, "mei_type", mei);
    if (mei == 13) {
        /* CANopen: noted, body kept raw (CiA DSP 309-2) */
        ev_bool(m->e, "canopen", 1);
        size_t n = cursor_left(m->p);
        ev_hex(m->e, "data", cursor_take(m->p, n), n);
        m->strict = 0;
        return;
    }
    if (mei != 14) {
        event_anomaly(m->e, "modbus.unknown_mei_type");
        size_t n = cursor_left(m->p);
        ev_hex(m->e, "data", cursor_take(m->p, n), n);
        m->strict = 0;
        return;
    }
    uint8_t code = cursor_u8(m->p);
    if (m->req) {
        uint8_t object = cursor_u8(m->p);
        if (m->p->err) return;
        ev_uint(m->e, "read_device_id_code", code);
        ev_uint(m->e, "object_id", object);
        if (code < 1 || code > 4) event_anomaly(m->e, "modbus.invalid_value");
        return;
    }
    uint8_t conformity = cursor_u8(m->p);
    uint8_t more = cursor_u8(m->p);
    uint8_t next = cursor_u8(m->p);
    uint8_t count = cursor_u8(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "read_device_id_code", code);
    ev_uint(m->e, "conformity_level", conformity);
    ev_bool(m->e, "more_follows", more == 0xFF);
    ev_uint(m->e, "next_object_id", next);
    ev_uint(m->e, "object_count", count);
    mb_device_id_objects(m, m->p, count);
}

/* The next block of a UMAS transfer: 1 to gather it, 0 to skip it. */
static int mb_umas_block(struct mb_pdu *m, struct mb_umas_xfer *x, uint16_t block)
{
    ev_uint(m->e, "block", block);
    if (!x->armed) return 0;
    if (!x->started) {
        char v[8];
        x->started = 1;
        x->next = (uint16_t)(block + 1u);
        snprintf(v, sizeof(v), "%u", (unsigned)block);
        object_attr(&x->obj, "first_block", v);
        return 1;
    }
    if (block == x->next) {
        x->next++;
        return 1;
    }
    if (block == (uint16_t)(x->next - 1u)) return 0; /* asked again: the same data */
    object_abort(&x->obj);
    x->armed = 0;
    m->st->umas_gaps++;
    event_anomaly(m->e, "modbus.umas_block_sequence");
    return 0;
}

static void mb_umas_begin(struct mb_pdu *m, struct mb_umas_xfer *x, const char *type,
                          uint8_t session)
{
    char name[16], v[8];
    snprintf(name, sizeof(name), "unit:%u", (unsigned)m->unit);
    object_begin(&x->obj, m->sink, "modbus", type, name, strlen(name), 0);
    snprintf(v, sizeof(v), "%u", (unsigned)m->unit);
    object_attr(&x->obj, "unit", v);
    snprintf(v, sizeof(v), "%u", (unsigned)session);
    object_attr(&x->obj, "session", v);
    x->armed = 1;
    x->started = 0;
}

static void mb_umas_finish(struct mb_pdu *m, struct mb_umas_xfer *x, int to_server)
{
    object_end(&x->obj, m->sink, to_server);
    x->armed = 0;
}

/* Program transfers (see the top of the file). c: the bytes after the UMAS code
 * or status, a copy (the event's own walk is not disturbed). code: the
 * request's UMAS code (for a response, the matched request's, else 0). */
static void mb_umas_transfer(struct mb_pdu *m, uint8_t code, uint8_t session, uint8_t status,
                             struct cursor *c)
{
    struct mb_umas_xfer *to_plc = &m->st->umas[0], *from_plc = &m->st->umas[1];
    if (!m->req) {
        if (code == 0x34 && status == 0xFE && from_plc->req_valid && m->rq &&
            m->rq->tid == from_plc->req_tid) {
            from_plc->req_valid = 0;
            uint8_t last = cursor_u8(c);
            cursor_skip(c, 1);
            uint16_t len = cursor_u16le(c);
            struct cursor d = cursor_sub(c, len);
            if (c->err) {
                /* a length past the PDU: the block is not what the PLC holds */
                event_anomaly(m->e, "modbus.invalid_byte_count");
                object_abort(&from_plc->obj);
                from_plc->armed = 0;
                return;
            }
            if (mb_umas_block(m, from_plc, from_plc->req_block))
                object_append(&from_plc->obj, m->sink, &d, len);
            if (last == 1 && from_plc->armed) mb_umas_finish(m, from_plc, 0);
        } else if ((code == 0x30 || code == 0x33) && status == 0xFD) {
            struct mb_umas_xfer *x = code == 0x30 ? to_plc : from_plc;
            object_abort(&x->obj); /* refused: nothing will follow */
            x->armed = 0;
        }
        return;
    }
    switch (code) {
    case 0x30: mb_umas_begin(m, to_plc, "modbus.umas_download", session); break;
    case 0x33:
        mb_umas_begin(m, from_plc, "modbus.umas_upload", session);
        from_plc->req_valid = 0;
        break;
    case 0x31: {
        cursor_skip(c, 2);
        uint16_t block = cursor_u16le(c);
        uint16_t len = cursor_u16le(c);
        if (c->err) return;
        struct cursor d = cursor_sub(c, len);
        if (c->err) {
            event_anomaly(m->e, "modbus.invalid_byte_count");
            object_abort(&to_plc->obj);
            to_plc->armed = 0;
            return;
        }
        if (mb_umas_block(m, to_plc, block)) object_append(&to_plc->obj, m->sink, &d, len);
        break;
    }
    case 0x34:
        cursor_skip(c, 2);
        from_plc->req_block = cursor_u16le(c);
        from_plc->req_tid = m->tid;
        from_plc->req_valid = !c->err;
        break;
    case 0x32: mb_umas_finish(m, to_plc, 1); break;
    case 0x35: mb_umas_finish(m, from_plc, 0); break;
    default: break;
    }
}

/* FC 90: Schneider UMAS. The response names no function: take the request's. */
static void mb_umas(struct mb_pdu *m)
{
    uint8_t session = cursor_u8(m->p);
    uint8_t code = cursor_u8(m->p);
    if (m->p->err) return;
    const char *name = NULL;
    ev_obj_begin(m->e, "umas");
    ev_uint(m->e, "session", session);
    if (m->req) {
        m->op = mb_umas_op(code, &name);
        m->has_sub = 1;
        m->sub = code;
        ev_uint(m->e, "code", code);
        if (name)
            ev_cstr(m->e, "name", name);
        else
            event_anomaly(m->e, "modbus.umas_unknown_function");
    } else {
        ev_uint(m->e, "status", code);
        ev_bool(m->e, "ok", code == 0xFE);
        if (code != 0xFE && code != 0xFD) event_anomaly(m->e, "modbus.invalid_value");
        if (m->rq && m->rq->fc == FC_UMAS && m->rq->has_sub) {
            m->op = mb_umas_op((uint8_t)m->rq->sub, &name);
            ev_uint(m->e, "code", m->rq->sub);
            if (name) ev_cstr(m->e, "name", name);
            /* a granted reservation returns the session byte to use from now on */
            if (m->rq->sub == 0x10 && code == 0xFE && cursor_left(m->p) >= 1)
                ev_uint(m->e, "reserved_session", cursor_peek_u8(m->p, 0, NULL));
        }
    }
    struct cursor rest = *m->p;
    mb_umas_transfer(m, m->req ? code : (uint8_t)(m->rq && m->rq->fc == FC_UMAS ? m->rq->sub : 0),
                     session, code, &rest);
    ev_uint(m->e, "data_len", cursor_left(m->p));
    ev_end(m->e);
    cursor_skip(m->p, cursor_left(m->p));
    m->strict = 0;
}

static void mb_body(struct mb_pdu *m)
{
    switch (m->fc) {
    case 1:
    case 2:
    case 3:
    case 4: mb_read(m); break;
    case 5:
    case 6: mb_write_single(m); break;
    case 7:
        if (!m->req) {
            uint8_t status = cursor_u8(m->p);
            if (!m->p->err) ev_uint(m->e, "status", status);
        }
        break;
    case 8: mb_diag(m); break;
    case 11:
    case 12: mb_comm_event(m); break;
    case 15:
    case 16: mb_write_multiple(m); break;
    case 17: mb_report_server_id(m); break;
    case 20:
    case 21: mb_file_record(m); break;
    case 22: mb_mask_write(m); break;
    case 23: mb_read_write(m); break;
    case 24: mb_fifo(m); break;
    case 43: mb_mei(m); break;
    case FC_UMAS: mb_umas(m); break;
    default: {
        size_t n = cursor_left(m->p);
        ev_hex(m->e, "data", cursor_take(m->p, n), n);
        m->strict = 0;
        break;
    }
    }
}

/* An exception response names no sub-function: take the request's. */
static void mb_exception(struct mb_pdu *m)
{
    uint8_t x = cursor_u8(m->p);
    if (m->p->err) return;
    ev_uint(m->e, "exception", x);
    const char *xn = mb_exception_name(x);
    if (xn)
        ev_cstr(m->e, "exception_name", xn);
    else
        event_anomaly(m->e, "modbus.unknown_exception");
    if (m->req) event_anomaly(m->e, "modbus.exception_in_request");
    if (!m->rq || m->rq->fc != m->fc || !m->rq->has_sub) return;
    const char *name;
    if (m->fc == 8)
        m->op = mb_diag_op(m->rq->sub, &name);
    else if (m->fc == 43)
        m->op = mb_mei_op((uint8_t)m->rq->sub);
    else if (m->fc == FC_UMAS)
        m->op = mb_umas_op((uint8_t)m->rq->sub, &name);
}

/* Requests go to the server. When exactly one side uses port 502, that side is
 * the server, as tshark decides; otherwise (both or neither) the engine's view.
 * This keeps requests and responses apart on flows the engine had to orient
 * by guess (capture started mid-stream, odd handshakes). */
static int mb_is_request(const struct pdu_info *info, const struct ev_net *net)
{
    int to_502 = net->dst_port == MODBUS_PORT, from_502 = net->src_port == MODBUS_PORT;
    if (to_502 != from_502) return to_502;
    return info->to_server != 0;
}

/* One complete ADU (adu covers exactly 6 + length bytes). */
static void mb_adu(struct modbus_state *st, struct mb_dir *ds, struct cursor *adu,
                   const struct pdu_info *info, struct event_sink *sink)
{
    uint16_t tid = cursor_u16be(adu);
    cursor_skip(adu, 2); /* protocol id, checked by the caller */
    uint16_t len = cursor_u16be(adu);
    uint8_t unit = cursor_u8(adu);
    struct cursor pdu = cursor_rest(adu);
    uint8_t raw = cursor_u8(&pdu);
    int req = mb_is_request(info, &sink->net);
    struct mb_pending rq;
    struct mb_pdu m = {
        .e = event_begin(sink, "modbus", req ? EV_DIR_REQUEST : EV_DIR_RESPONSE),
        .st = st,
        .sink = sink,
        .p = &pdu,
        .req = req,
        .fc = raw & 0x7F,
        .unit = unit,
        .tid = tid,
        .rq = NULL,
        .strict = 1,
    };
    struct event *e = m.e;
    st->adus++;
    ev_uint(e, "tid", tid);
    ev_uint(e, "unit", unit);
    ev_uint(e, "func", m.fc);
    if (ds->skipped) {
        ev_uint(e, "resync_skipped", ds->skipped);
        ds->skipped = 0;
    }
    if (len - 1u > MB_MAX_PDU) event_anomaly(e, "modbus.pdu_too_large");
    m.op = mb_func_op(m.fc);
    if (!m.op) {
        m.op = mb_user_defined(m.fc) ? "user_defined_function" : "unknown_function";
        event_anomaly(e, "modbus.unknown_function");
    }
    if (!req) {
        if (mb_pending_take(st, tid, unit, m.fc, &rq)) {
            m.rq = &rq;
            ev_uint(e, "request_func", rq.fc);
            uint64_t now = info->ts_us ? info->ts_us : sink->net.ts_us;
            ev_uint(e, "latency_us", now > rq.ts_us ? now - rq.ts_us : 0);
            if (rq.fc != m.fc) event_anomaly(e, "modbus.func_mismatch");
        } else {
            st->unmatched++;
            event_anomaly(e, "modbus.unmatched_response");
        }
    }
    if (raw & 0x80)
        mb_exception(&m);
    else
        mb_body(&m);
    if (pdu.err == CURSOR_TRUNCATED)
        event_anomaly(e, "modbus.truncated_pdu");
    else if (m.strict && cursor_left(&pdu) > 0)
        event_anomaly(e, "modbus.trailing_data");
    event_code(e, m.fc, m.op);
    if (req) {
        mb_pending_add(st, e, tid, unit, m.fc, m.has_sub, m.sub,
                       info->ts_us ? info->ts_us : sink->net.ts_us);
        if (m.fc == 20) {
            struct mb_file_req *fr = &st->fread;
            fr->tid = tid;
            fr->unit = unit;
            fr->valid = 1;
            fr->n = m.nfiles;
            memcpy(fr->files, m.files, sizeof(fr->files));
            memcpy(fr->records, m.records, sizeof(fr->records));
        }
    }
    event_emit(sink, e);
}

/* A header that does not frame: one event for the episode, then scan. */
static void mb_lost(struct modbus_state *st, struct mb_dir *ds, const struct cursor *c,
                    enum mb_hdr why, const struct pdu_info *info, struct event_sink *sink)
{
    if (ds->mode == MB_SCAN) return;
    st->resyncs++;
    struct event *e = event_begin(
        sink, "modbus", mb_is_request(info, &sink->net) ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
    if (ds->mode == MB_SYNCED) {
        /* at a boundary: this was meant as a header */
        event_op(e, "malformed");
        ev_uint(e, "tid", cursor_peek_u16be(c, 0, NULL));
        ev_uint(e, "proto_id", cursor_peek_u16be(c, 2, NULL));
        ev_uint(e, "length", cursor_peek_u16be(c, 4, NULL));
        ev_uint(e, "unit", cursor_peek_u8(c, 6, NULL));
        event_anomaly(e, why == MB_HDR_BAD_PROTO ? "modbus.invalid_protocol_id"
                                                 : "modbus.invalid_length");
    } else {
        event_op(e, "resync");
    }
    event_anomaly(e, "modbus.resync");
    event_emit(sink, e);
    ds->mode = MB_SCAN;
}

/* Framing. While scanning, bytes that were buffered when sync was lost are
 * suspect (the rest of a broken message), so a header there must also name a
 * known function. Data that arrives in a later call starts a new segment, which
 * usually starts an ADU: its first byte gets the relaxed test, as after a gap.
 * This is also where tshark picks a stream up again, so counts stay comparable. */
static size_t modbus_parse(void *state, struct cursor *c, const struct pdu_info *info,
                           struct event_sink *sink)
{
    struct modbus_state *st = state;
    struct mb_dir *ds = &st->dir[info->to_server ? 0 : 1];
    size_t start = cursor_pos(c);
    size_t fresh = ds->kept; /* the engine appends after what we left */
    int lost_now = 0;
    if (info->after_gap) {
        fresh = 0;
        ds->skipped = 0; /* what was skipped went with the gap */
        if (ds->mode == MB_SYNCED) ds->mode = MB_GUESS;
    }
    for (;;) {
        uint16_t len = 0;
        int strict = ds->mode == MB_SCAN && (lost_now || cursor_pos(c) - start != fresh);
        enum mb_hdr h = mb_check_header(c, strict, &len);
        if (h == MB_HDR_SHORT) break;
        if (h == MB_HDR_OK) {
            if (cursor_left(c) < 6u + len) {
                /* wait for the rest; the head is now a presumed boundary */
                if (ds->mode == MB_SCAN) ds->mode = MB_GUESS;
                break;
            }
            struct cursor adu = cursor_sub(c, 6u + len);
            mb_adu(st, ds, &adu, info, sink);
            ds->mode = MB_SYNCED;
            continue;
        }
        lost_now |= ds->mode != MB_SCAN;
        mb_lost(st, ds, c, h, info, sink);
        cursor_skip(c, 1);
        ds->skipped++;
    }
    ds->kept = (uint32_t)cursor_left(c);
    return cursor_pos(c) - start;
}

static void modbus_gap(void *state, int to_server)
{
    struct modbus_state *st = state;
    struct mb_dir *ds = &st->dir[to_server ? 0 : 1];
    /* the engine dropped the buffer; what comes next probably starts an ADU */
    ds->kept = 0;
    ds->skipped = 0;
    if (ds->mode == MB_SYNCED) ds->mode = MB_GUESS;
}

/* The engine probes even on port 502, so the probe must not refuse real Modbus
 * with a function we do not know (user-defined codes, vendor extensions): a
 * header naming a known function is enough, otherwise the first bytes must be
 * whole ADUs back to back, which chance rarely produces. */
#define MB_PROBE_ADUS 4

static enum probe_result modbus_probe(struct cursor *c, int to_server)
{
    (void)to_server;
    struct cursor walk = *c;
    for (int n = 0; n < MB_PROBE_ADUS; n++) {
        uint16_t len = 0;
        enum mb_hdr h = mb_check_header(&walk, 1, &len);
        if (h == MB_HDR_SHORT) return PROBE_NEED_MORE;
        if (h == MB_HDR_OK && n == 0) return PROBE_YES;
        if (h != MB_HDR_OK && h != MB_HDR_BAD_FUNC) return PROBE_NO;
        if (cursor_left(&walk) < 6u + len) return PROBE_NEED_MORE;
        cursor_skip(&walk, 6u + len);
        if (cursor_left(&walk) == 0) return PROBE_YES;
    }
    return PROBE_YES;
}

static void *modbus_state_new(void)
{
    return calloc(1, sizeof(struct modbus_state));
}

/* File record runs have no end marker: the flow's end is theirs. A program
 * transfer cut by it is scanned as it stands, marked partial. */
static void modbus_end(void *state, int to_server, struct event_sink *sink)
{
    struct modbus_state *st = state;
    object_end(&st->fobj[to_server ? 0 : 1].obj, sink, to_server);
    struct mb_umas_xfer *x = &st->umas[to_server ? 0 : 1];
    object_partial(&x->obj, sink, to_server);
    x->armed = 0;
}

static void modbus_state_free(void *state)
{
    struct modbus_state *st = state;
    if (st) {
        for (int i = 0; i < 2; i++) {
            object_free(&st->fobj[i].obj);
            object_free(&st->umas[i].obj);
        }
    }
    free(state);
}

const struct dissector modbus_dissector = {
    .id = DISS_MODBUS,
    .name = "modbus",
    .transports = DISS_TCP,
    .ports = {MODBUS_PORT, 0},
    .probe = modbus_probe,
    .state_new = modbus_state_new,
    .state_free = modbus_state_free,
    .parse = modbus_parse,
    .gap = modbus_gap,
    .anomalies = modbus_anomalies,
    .max_pdu = MB_MAX_ADU,
    .end = modbus_end,
};
