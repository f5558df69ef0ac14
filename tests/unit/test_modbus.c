/* test_modbus.c - the Modbus/TCP dissector on real ADUs.
 *
 * Byte strings are TCP payloads from captures in tests/data (see SOURCES.md),
 * extracted with `tshark -T fields -e frame.time_epoch -e tcp.payload`; the
 * field values in the comments are tshark 4.0's decode of the same frames.
 * Hand-built ADUs say where their layout comes from. */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "reassembly.h"
#include "testutil.h"

extern const struct dissector modbus_dissector;
static const struct dissector *const D = &modbus_dissector;

static struct recorder rec;

/* modbus_example.pcap, stream 0 (client 47785 -> server 502) starts here */
#define T0 1595660608000000ull

static size_t feed_bytes(void *st, const uint8_t *b, size_t n, int to_server, uint64_t ts,
                         int after_gap)
{
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {to_server, DISS_TCP, after_gap, ts};
    rec.sink.net.ts_us = ts;
    return D->parse(st, &c, &info, &rec.sink);
}

static size_t feed(void *st, const char *hex, int to_server, uint64_t ts)
{
    uint8_t buf[2048];
    size_t n = hex_to_bytes(hex, buf, sizeof(buf));
    return feed_bytes(st, buf, n, to_server, ts, 0);
}

/* The first data after a gap (info->after_gap). */
static size_t feed_gap(void *s, const char *hex, int to_server, uint64_t ts)
{
    uint8_t buf[2048];
    size_t n = hex_to_bytes(hex, buf, sizeof(buf));
    return feed_bytes(s, buf, n, to_server, ts, 1);
}

static const struct event *ev(int i)
{
    ck_assert_int_gt(rec.n, i);
    return &rec.ev[i];
}

/* Members of an array field, in order (a nested container counts as one, with
 * value 0); returns how many. */
static int arr(const struct event *e, const char *path, uint64_t *out, int max)
{
    const struct ev_field *f = event_find(e, path);
    ck_assert_msg(f != NULL && f->type == EVF_ARR, "array %s missing", path);
    int n = 0, depth = 0;
    for (const struct ev_field *m = f + 1; m < e->fields + e->nfields; m++) {
        if (m->type == EVF_END) {
            if (depth-- == 0) break;
            continue;
        }
        int box = m->type == EVF_OBJ || m->type == EVF_ARR;
        if (depth == 0) {
            if (n < max) out[n] = box ? 0 : m->v.u;
            n++;
        }
        depth += box;
    }
    return n;
}

static void check_code(const struct event *e, int code, const char *op, int dir)
{
    ck_assert(e->has_code);
    ck_assert_int_eq(e->code, code);
    ck_assert_str_eq(e->op, op);
    ck_assert_int_eq(e->dir, dir);
    ck_assert_str_eq(e->proto, "modbus");
}

static void *st;

static void setup(void)
{
    recorder_init(&rec);
    st = D->state_new();
}

static void teardown(void)
{
    D->state_free(st);
}

/* ---- registry row and probe ---- */

START_TEST(test_row)
{
    ck_assert_int_eq(D->id, DISS_MODBUS);
    ck_assert_str_eq(D->name, "modbus");
    ck_assert_int_eq(D->transports, DISS_TCP);
    ck_assert_int_eq(D->ports[0], 502);
    ck_assert(dissector_by_name("modbus") == D);
    /* a 255-byte length (UMAS in the wild) must fit the engine's buffer */
    ck_assert_uint_ge(D->max_pdu, 261);
    int found = 0;
    for (const char *const *a = D->anomalies; *a; a++)
        found += strcmp(*a, "modbus.resync") == 0 || strcmp(*a, "modbus.invalid_length") == 0;
    ck_assert_int_eq(found, 2);
}
END_TEST

static enum probe_result probe_hex(const char *hex)
{
    uint8_t b[64];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    return D->probe(&c, 1);
}

START_TEST(test_probe)
{
    /* frame 4: tid 1, proto 0, len 6, unit 4, fc 1 read coils */
    ck_assert_int_eq(probe_hex("000100000006040100010001"), PROBE_YES);
    /* the same, cut to 7 bytes: the function code is not there yet */
    ck_assert_int_eq(probe_hex("00010000000604"), PROBE_NEED_MORE);
    /* protocol id 1 */
    ck_assert_int_eq(probe_hex("000100010006040100010001"), PROBE_NO);
    /* length 1 (no room for a function code) and length 0x0300 */
    ck_assert_int_eq(probe_hex("000100000001040100010001"), PROBE_NO);
    ck_assert_int_eq(probe_hex("000100000300040100010001"), PROBE_NO);
    /* function 29, not a public code (fuzz-72.pcap frame 3): taken only because
     * the bytes are exactly one whole ADU */
    ck_assert_int_eq(probe_hex("000000000006011d00000000"), PROBE_YES);
    ck_assert_int_eq(probe_hex("000000000006011d0000"), PROBE_NEED_MORE);
    /* ... followed by a second header with protocol id 0x2300 */
    ck_assert_int_eq(probe_hex("000000000006011d00000000 0101230000050a2a"), PROBE_NO);
    /* ... followed by the start of a second ADU */
    ck_assert_int_eq(probe_hex("000000000006011d00000000 000100"), PROBE_NEED_MORE);
    /* ASCII (an HTTP request line) */
    ck_assert_int_eq(probe_hex("474554202f20485454502f312e310d0a"), PROBE_NO);
    /* exception of read holding registers (modbus_example frame 100) */
    ck_assert_int_eq(probe_hex("000100000003008302"), PROBE_YES);
    /* UMAS request (umas.pcap frame 4) */
    ck_assert_int_eq(probe_hex("000000000004005a0002"), PROBE_YES);
}
END_TEST

/* ---- every ADU of modbus_example.pcap ---- */

struct frame {
    int no;
    uint64_t ts; /* microseconds after T0 */
    int to_server;
    const char *hex;
    int code;
    const char *op;
};

static const struct frame example[] = {
    {4, 237928, 1, "000100000006040100010001", 1, "read_coils"},
    {6, 238144, 0, "00010000000404010101", 1, "read_coils"},
    {8, 238305, 1, "000200000006050100010008", 1, "read_coils"},
    {10, 238399, 0, "000200000004050101e9", 1, "read_coils"},
    {12, 238539, 1, "000300000006040200010001", 2, "read_discrete_inputs"},
    {14, 238641, 0, "00030000000404020100", 2, "read_discrete_inputs"},
    {16, 238776, 1, "000400000006050200010008", 2, "read_discrete_inputs"},
    {18, 238881, 0, "0004000000040502012c", 2, "read_discrete_inputs"},
    {20, 238966, 1, "000500000006040300010001", 3, "read_holding_registers"},
    {22, 239062, 0, "00050000000504030200aa", 3, "read_holding_registers"},
    {24, 239139, 1, "000600000006050300010008", 3, "read_holding_registers"},
    {26, 239231, 0, "00060000001305031000aa00aa00bb00ccef84e3eb9f8be4c1", 3,
     "read_holding_registers"},
    {28, 239315, 1, "000700000006040400010001", 4, "read_input_registers"},
    {30, 239359, 0, "0007000000050404028e2b", 4, "read_input_registers"},
    {32, 239434, 1, "000800000006050400010008", 4, "read_input_registers"},
    {34, 239474, 0, "0008000000130504108e2b1f7b9b4b82511bfadb8f026bae97", 4,
     "read_input_registers"},
    {36, 239550, 1, "00090000000606050001ff00", 5, "write_single_coil"},
    {38, 239597, 0, "00090000000606050001ff00", 5, "write_single_coil"},
    {40, 239736, 1, "000a0000000607060001abcd", 6, "write_single_register"},
    {42, 239781, 0, "000a0000000607060001abcd", 6, "write_single_register"},
    {44, 239863, 1, "000b000000020207", 7, "read_exception_status"},
    {46, 239904, 0, "000b00000003020700", 7, "read_exception_status"},
    {48, 240048, 1, "000c00000006020800020000", 8, "diag_other"},
    {50, 240094, 0, "000c00000006020800020000", 8, "diag_other"},
    {52, 240198, 1, "000d00000008070f000100040109", 15, "write_multiple_coils"},
    {54, 240247, 0, "000d00000006070f00010004", 15, "write_multiple_coils"},
    {56, 240329, 1, "000e0000000f0710000100040800aa00bb00cc00dd", 16, "write_multiple_registers"},
    {58, 240411, 0, "000e00000006071000010004", 16, "write_multiple_registers"},
    {60, 240484, 1, "000f000000020211", 17, "report_server_id"},
    {62, 240535, 0,
     "000f000000350211325a65656b204d6f6462757320546573742d50726f746f636f6c2050617273696e67206973"
     "2066756e212d312e322e332e36ff",
     17, "report_server_id"},
    {64, 240619, 1, "001000000003081400", 20, "read_file_record"},
    {66, 240659, 0, "001000000003081400", 20, "read_file_record"},
    {68, 240736, 1, "001100000003081500", 21, "write_file_record"},
    {70, 240825, 0, "001100000003081500", 21, "write_file_record"},
    {72, 240903, 1, "0012000000080416000adead0000", 22, "mask_write_register"},
    {74, 240958, 0, "0012000000080416000adead0000", 22, "mask_write_register"},
    {76, 241027, 1, "0013000000080416000affffdead", 22, "mask_write_register"},
    {78, 241074, 0, "0013000000080416000affffdead", 22, "mask_write_register"},
    {80, 241140, 1, "00140000000d061700010001000200010200ff", 23, "read_write_multiple_registers"},
    {82, 241198, 0, "00140000000506170200aa", 23, "read_write_multiple_registers"},
    {84, 241271, 1, "001500000011061700010004000200030600aa00bb00cc", 23,
     "read_write_multiple_registers"},
    {86, 241321, 0, "00150000000b06170800aa00aa00bb00cc", 23, "read_write_multiple_registers"},
    {88, 241397, 1, "0016000000040a180000", 24, "read_fifo_queue"},
    {90, 241435, 0, "0016000000060a1800020000", 24, "read_fifo_queue"},
    {92, 241506, 1, "001700000005012b0e0100", 43, "read_device_id"},
    {94, 241562, 0,
     "00170000003d012b0e018300000300105a65656b204d6f646275732054657374011850726f746f636f6c205061"
     "7273696e672069732066756e210207312e322e332e36",
     43, "read_device_id"},
};
#define NEXAMPLE ((int)(sizeof(example) / sizeof(example[0])))

/* Feeds example frames [from, to] (frame numbers) and returns the index of the
 * first event they produced. */
static int play(int from, int to)
{
    int first = rec.n;
    for (int i = 0; i < NEXAMPLE; i++) {
        const struct frame *f = &example[i];
        if (f->no < from || f->no > to) continue;
        uint8_t b[256];
        size_t n = hex_to_bytes(f->hex, b, sizeof(b));
        ck_assert_uint_eq(feed_bytes(st, b, n, f->to_server, T0 + f->ts, 0), n);
    }
    return first;
}

START_TEST(test_example_every_function)
{
    play(0, 1000);
    ck_assert_int_eq(rec.n, NEXAMPLE);
    for (int i = 0; i < NEXAMPLE; i++) {
        const struct event *e = ev(i);
        check_code(e, example[i].code, example[i].op,
                   example[i].to_server ? EV_DIR_REQUEST : EV_DIR_RESPONSE);
        ck_assert_uint_eq(ev_u(e, "func"), (uint64_t)example[i].code);
        /* every response pairs with the request just before it */
        if (!example[i].to_server) {
            ck_assert_uint_eq(ev_u(e, "request_func"), (uint64_t)example[i].code);
            ck_assert_uint_eq(ev_u(e, "latency_us"), example[i].ts - example[i - 1].ts);
        }
        /* a clean capture: nothing to flag */
        ck_assert_msg(e->nanom == 0, "frame %d: %s", example[i].no, rec.json[i]);
    }
}
END_TEST

START_TEST(test_read_coils)
{
    int i = play(4, 6);
    const struct event *q = ev(i), *r = ev(i + 1);
    ck_assert_uint_eq(ev_u(q, "tid"), 1);      /* Transaction Identifier: 1 */
    ck_assert_uint_eq(ev_u(q, "unit"), 4);     /* Unit Identifier: 4 */
    ck_assert_uint_eq(ev_u(q, "address"), 1);  /* Reference Number: 1 */
    ck_assert_uint_eq(ev_u(q, "quantity"), 1); /* Bit Count: 1 */
    ck_assert_uint_eq(ev_u(r, "tid"), 1);
    ck_assert_uint_eq(ev_u(r, "byte_count"), 1);   /* Byte Count: 1 */
    ck_assert_uint_eq(ev_u(r, "request_func"), 1); /* the request's function */
    ck_assert_uint_eq(ev_u(r, "latency_us"), 216); /* 238144 - 237928 */
    ck_assert(strstr(rec.json[i + 1], "\"dir\":\"response\"") != NULL);
}
END_TEST

START_TEST(test_read_registers)
{
    int i = play(24, 34);
    const struct event *q = ev(i), *r = ev(i + 1);
    uint64_t v[40];
    ck_assert_uint_eq(ev_u(q, "address"), 1);  /* Reference Number: 1 */
    ck_assert_uint_eq(ev_u(q, "quantity"), 8); /* Word Count: 8 */
    ck_assert_uint_eq(ev_u(r, "byte_count"), 16);
    /* Register 1..8: 170 170 187 204 61316 58347 40843 58561 */
    ck_assert_int_eq(arr(r, "values", v, 40), 8);
    ck_assert_uint_eq(v[0], 170);
    ck_assert_uint_eq(v[3], 204);
    ck_assert_uint_eq(v[4], 61316);
    ck_assert_uint_eq(v[7], 58561);
    ev_absent(r, "values_truncated");
    /* frame 30, FC 4: Register 1: 36395 */
    ck_assert_int_eq(arr(ev(i + 3), "values", v, 40), 1);
    ck_assert_uint_eq(v[0], 36395);
    /* frame 34, FC 4: Register 8: 44695 */
    ck_assert_int_eq(arr(ev(i + 5), "values", v, 40), 8);
    ck_assert_uint_eq(v[7], 44695);
}
END_TEST

START_TEST(test_write_single)
{
    int i = play(36, 42);
    const struct event *c = ev(i), *r = ev(i + 2);
    ck_assert_uint_eq(ev_u(c, "unit"), 6);               /* Unit Identifier: 6 */
    ck_assert_uint_eq(ev_u(c, "address"), 1);            /* Reference Number: 1 */
    ck_assert_uint_eq(ev_u(c, "value"), 0xFF00);         /* Data: ff00 (coil on) */
    ck_assert_uint_eq(ev_u(ev(i + 1), "value"), 0xFF00); /* the response echoes */
    ck_assert_uint_eq(ev_u(r, "unit"), 7);
    ck_assert_uint_eq(ev_u(r, "address"), 1);    /* Reference Number: 1 */
    ck_assert_uint_eq(ev_u(r, "value"), 0xABCD); /* Data: abcd */
}
END_TEST

START_TEST(test_exception_status_and_diag)
{
    int i = play(44, 50);
    ev_absent(ev(i), "status");                      /* request: no data */
    ck_assert_uint_eq(ev_u(ev(i + 1), "status"), 0); /* Data: 00 */
    const struct event *d = ev(i + 2);
    ck_assert_uint_eq(ev_u(d, "sub_function"), 2); /* Diagnostic Code: Return Diagnostic Register */
    ev_s(d, "sub_function_name", "return_diagnostic_register");
    ev_s(d, "data", "0000");         /* Data: 0000 */
    ev_s(ev(i + 3), "data", "0000"); /* Diagnostic Register Contents: 0x0000 */
}
END_TEST

START_TEST(test_write_multiple)
{
    int i = play(52, 58);
    uint64_t v[40];
    const struct event *c = ev(i);
    ck_assert_uint_eq(ev_u(c, "address"), 1);    /* Reference Number: 1 */
    ck_assert_uint_eq(ev_u(c, "quantity"), 4);   /* Bit Count: 4 */
    ck_assert_uint_eq(ev_u(c, "byte_count"), 1); /* Byte Count: 1 */
    /* Data: 09 = coils 1 and 4 on, LSB first */
    ck_assert_int_eq(arr(c, "values", v, 40), 4);
    ck_assert(v[0] == 1 && v[1] == 0 && v[2] == 0 && v[3] == 1);
    ck_assert_uint_eq(ev_u(ev(i + 1), "quantity"), 4); /* response: Bit Count: 4 */
    const struct event *r = ev(i + 2);
    ck_assert_uint_eq(ev_u(r, "quantity"), 4);   /* Word Count: 4 */
    ck_assert_uint_eq(ev_u(r, "byte_count"), 8); /* Byte Count: 8 */
    /* Register 1..4: 170 187 204 221 */
    ck_assert_int_eq(arr(r, "values", v, 40), 4);
    ck_assert(v[0] == 170 && v[1] == 187 && v[2] == 204 && v[3] == 221);
    ev_absent(r, "values_truncated");
}
END_TEST

START_TEST(test_values_capped)
{
    /* hand-built FC 16 (spec §6.12 layout): 40 registers 0..39 at address 0x100 */
    char hex[512];
    int n = snprintf(hex, sizeof(hex), "0001 0000 0057 01 10 0100 0028 50");
    for (int k = 0; k < 40; k++)
        n += snprintf(hex + n, sizeof(hex) - (size_t)n, "%04x", k);
    ck_assert_uint_eq(feed(st, hex, 1, T0), 6 + 0x57);
    uint64_t v[40];
    ck_assert_int_eq(arr(ev(0), "values", v, 40), 32); /* capped */
    ck_assert_uint_eq(v[31], 31);
    ck_assert_uint_eq(ev_u(ev(0), "values_truncated"), 1);
    ck_assert_int_eq(ev(0)->nanom, 0);
}
END_TEST

START_TEST(test_report_server_id)
{
    int i = play(60, 62);
    const struct event *r = ev(i + 1);
    /* Zeek's trace fills the body with text: byte count 0x32, first byte 'Z' */
    ck_assert_uint_eq(ev_u(r, "byte_count"), 0x32);
    ck_assert_uint_eq(ev_u(r, "server_id"), 0x5A);
    ev_absent(r, "running"); /* 'e' is no run indicator */
    /* modbus_testdata_part1.pcap frame 41: byte count 0x12, server id 0,
     * run indicator 0xff (on), "Wingpath Limited" */
    ck_assert_uint_eq(
        feed(st, "0000000000150a111200ff57696e6770617468204c696d69746564", 0, 1093521997919380ull),
        27);
    r = ev(i + 2);
    check_code(r, 17, "report_server_id", EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(r, "unit"), 10);
    ck_assert_uint_eq(ev_u(r, "server_id"), 0);
    ck_assert_uint_eq(ev_u(r, "run_indicator"), 0xFF);
    ck_assert_uint_eq(ev_u(r, "running"), 1);
    ev_s(r, "data", "Wingpath Limited");
    ck_assert(event_has_anomaly(r, "modbus.unmatched_response")); /* no request fed */
}
END_TEST

START_TEST(test_file_records)
{
    int i = play(64, 70);
    uint64_t v[8];
    /* the trace's FC 20/21 carry byte count 0 and no records */
    ck_assert_uint_eq(ev_u(ev(i), "byte_count"), 0);
    ck_assert_int_eq(arr(ev(i), "records", v, 8), 0);
    ck_assert_uint_eq(ev_u(ev(i + 2), "byte_count"), 0);
    /* Modbus Application Protocol v1.1b3 §6.14 example: read two records,
     * file 4 record 1 length 2, file 3 record 9 length 2 */
    ck_assert_uint_eq(
        feed(st, "0020 0000 0011 01 14 0e 06 0004 0001 0002 06 0003 0009 0002", 1, T0), 6 + 0x11);
    const struct event *e = ev(i + 4);
    check_code(e, 20, "read_file_record", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(e, "byte_count"), 14);
    ck_assert_int_eq(arr(e, "records", v, 8), 2);
    ck_assert_int_eq(e->nanom, 0);
    /* §6.14 response: two sub-responses of 2 registers */
    ck_assert_uint_eq(
        feed(st, "0020 0000 000f 01 14 0c 05 06 0df8 0020 05 06 33cd 0040", 0, T0 + 9), 6 + 0x0f);
    e = ev(i + 5);
    check_code(e, 20, "read_file_record", EV_DIR_RESPONSE);
    ck_assert_int_eq(arr(e, "records", v, 8), 2);
    ck_assert_int_eq(e->nanom, 0);
    ck_assert_uint_eq(ev_u(e, "latency_us"), 9);
    /* §6.15 example: write file 4 record 7, 3 registers 06af 04be 100d */
    ck_assert_uint_eq(feed(st, "0021 0000 0010 01 15 0d 06 0004 0007 0003 06af 04be 100d", 1, T0),
                      6 + 0x10);
    e = ev(i + 6);
    check_code(e, 21, "write_file_record", EV_DIR_REQUEST);
    ck_assert_int_eq(e->nanom, 0);
    ck_assert_uint_eq(ev_u(e, "byte_count"), 13);
    ck_assert_int_eq(arr(e, "values", v, 8), 3);
    ck_assert(v[0] == 0x06af && v[1] == 0x04be && v[2] == 0x100d);
    const struct ev_field *f = event_find(e, "records");
    ck_assert_ptr_nonnull(f);
    /* records[0] = {file 4, record 7, length 3} */
    ck_assert_int_eq(f[1].type, EVF_OBJ);
    ck_assert_str_eq(f[2].key, "file");
    ck_assert_uint_eq(f[2].v.u, 4);
    ck_assert_str_eq(f[3].key, "record");
    ck_assert_uint_eq(f[3].v.u, 7);
    ck_assert_str_eq(f[4].key, "length");
    ck_assert_uint_eq(f[4].v.u, 3);
}
END_TEST

START_TEST(test_mask_write_and_read_write)
{
    int i = play(72, 86);
    const struct event *m = ev(i);
    ck_assert_uint_eq(ev_u(m, "address"), 10);      /* Reference Number: 10 */
    ck_assert_uint_eq(ev_u(m, "and_mask"), 0xDEAD); /* AND mask: 0xdead */
    ck_assert_uint_eq(ev_u(m, "or_mask"), 0);       /* OR mask: 0x0000 */
    ck_assert_uint_eq(ev_u(ev(i + 2), "or_mask"), 0xDEAD);
    const struct event *q = ev(i + 6); /* frame 84 */
    uint64_t v[8];
    ck_assert_uint_eq(ev_u(q, "read_address"), 1);   /* Read Reference Number: 1 */
    ck_assert_uint_eq(ev_u(q, "read_quantity"), 4);  /* Read Word Count: 4 */
    ck_assert_uint_eq(ev_u(q, "write_address"), 2);  /* Write Reference Number: 2 */
    ck_assert_uint_eq(ev_u(q, "write_quantity"), 3); /* Write Word Count: 3 */
    ck_assert_uint_eq(ev_u(q, "byte_count"), 6);     /* Byte Count: 6 */
    ck_assert_int_eq(arr(q, "values", v, 8), 3);     /* Data: 00aa00bb00cc */
    ck_assert(v[0] == 0xaa && v[1] == 0xbb && v[2] == 0xcc);
    const struct event *r = ev(i + 7); /* frame 86: Data: 00aa00aa00bb00cc */
    ck_assert_int_eq(arr(r, "values", v, 8), 4);
    ck_assert(v[0] == 0xaa && v[1] == 0xaa && v[2] == 0xbb && v[3] == 0xcc);
}
END_TEST

START_TEST(test_fifo)
{
    int i = play(88, 90);
    ck_assert_uint_eq(ev_u(ev(i), "address"), 0);        /* Reference Number: 0 */
    ck_assert_uint_eq(ev_u(ev(i + 1), "byte_count"), 2); /* Byte Count (16-bit): 2 */
    ck_assert_uint_eq(ev_u(ev(i + 1), "fifo_count"), 0); /* Word Count: 0 */
}
END_TEST

START_TEST(test_device_id)
{
    int i = play(92, 94);
    const struct event *q = ev(i), *r = ev(i + 1);
    ck_assert_uint_eq(ev_u(q, "mei_type"), 14);           /* Read Device Identification */
    ck_assert_uint_eq(ev_u(q, "read_device_id_code"), 1); /* Basic Device Identification */
    ck_assert_uint_eq(ev_u(q, "object_id"), 0);           /* VendorName */
    ck_assert_uint_eq(ev_u(r, "conformity_level"), 0x83);
    ck_assert_uint_eq(ev_u(r, "more_follows"), 0); /* More Follows: 0x00 */
    ck_assert_uint_eq(ev_u(r, "next_object_id"), 0);
    ck_assert_uint_eq(ev_u(r, "object_count"), 3);
    ev_s(r, "device_id.vendor", "Zeek Modbus Test");               /* object 0 */
    ev_s(r, "device_id.product_code", "Protocol Parsing is fun!"); /* object 1 */
    ev_s(r, "device_id.revision", "1.2.3.6");                      /* object 2 */
    ck_assert(strstr(rec.json[i + 1], "\"device_id\":{\"vendor\":\"Zeek Modbus Test\"") != NULL);
}
END_TEST

START_TEST(test_device_id_private_objects)
{
    /* hand-built (spec §6.21 layout): objects 4 ProductName "P", 0x80 private "xy" */
    ck_assert_uint_eq(feed(st, "0001 0000 000f 01 2b 0e 03 83 00 00 02 04 01 50 80 02 7879", 0, T0),
                      6 + 0x0f);
    const struct event *e = ev(0);
    ev_s(e, "device_id.product_name", "P");
    const struct ev_field *f = event_find(e, "device_id.other");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f[1].type, EVF_OBJ);
    ck_assert_uint_eq(f[2].v.u, 0x80); /* id */
    ck_assert_int_eq(f[3].len, 2);     /* value "xy" */
    ck_assert_int_eq(e->nanom, 1);     /* only: no request fed */
    ck_assert(event_has_anomaly(e, "modbus.unmatched_response"));
    /* hand-built: VendorName twice; the first is kept, the key appears once */
    ck_assert_uint_eq(feed(st, "0003 0000 000e 01 2b 0e 01 01 00 00 02 00 01 41 00 01 42", 0, T0),
                      20);
    ev_s(ev(1), "device_id.vendor", "A");
    ck_assert(strstr(rec.json[1], "\"vendor\":\"B\"") == NULL);
    D->state_free(st);
    st = D->state_new();
    recorder_init(&rec);
    /* an object whose length runs past the PDU */
    ck_assert_uint_eq(feed(st, "0002 0000 000b 01 2b 0e 01 83 00 00 01 00 09 41", 0, T0), 17);
    ck_assert(event_has_anomaly(ev(0), "modbus.truncated_pdu"));
}
END_TEST

START_TEST(test_exception_response)
{
    /* modbus_example.pcap stream 1: read holding registers 600 x10, unit 0 */
    ck_assert_uint_eq(feed(st, "00010000000600030258000a", 1, 1595890833306976ull), 12);
    /* response: fc 0x83, Exception Code: Illegal data address (2) */
    ck_assert_uint_eq(feed(st, "000100000003008302", 0, 1595890833407055ull), 9);
    const struct event *r = ev(1);
    check_code(r, 3, "read_holding_registers", EV_DIR_RESPONSE); /* 0x80 cleared */
    ck_assert_uint_eq(ev_u(r, "exception"), 2);
    ev_s(r, "exception_name", "illegal_data_address");
    ck_assert_uint_eq(ev_u(r, "request_func"), 3);
    ck_assert_uint_eq(ev_u(r, "latency_us"), 100079);
    ck_assert_int_eq(r->nanom, 0); /* an exception is a field, not an anomaly */
    ev_absent(r, "byte_count");
}
END_TEST

START_TEST(test_diag_force_listen_only)
{
    /* modbus_testdata_part1.pcap frame 8: unit 10, FC 8 sub 4 Force Listen Only Mode */
    ck_assert_uint_eq(feed(st, "0000000000060a0800040000", 1, 1093521694211940ull), 12);
    const struct event *q = ev(0);
    check_code(q, 8, "diag_force_listen_only", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(q, "sub_function"), 4);
    ev_s(q, "sub_function_name", "force_listen_only_mode");
    ev_s(q, "data", "0000");
    /* frame 9: fc 0x88, exception 11 gateway target failed to respond; the op
     * comes from the request's sub-function */
    ck_assert_uint_eq(feed(st, "0000000000030a880b", 0, 1093521694213852ull), 9);
    const struct event *r = ev(1);
    check_code(r, 8, "diag_force_listen_only", EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(r, "exception"), 11);
    ev_s(r, "exception_name", "gateway_target_failed_to_respond");
    ck_assert_uint_eq(ev_u(r, "latency_us"), 1912);
    /* frame 15: sub 1 restart communications; frame 23: sub 10 clear counters */
    feed(st, "0000000000060a0800010000", 1, 1);
    check_code(ev(2), 8, "diag_restart_comm", EV_DIR_REQUEST);
    feed(st, "0000000000060a08000a0000", 1, 1);
    check_code(ev(3), 8, "diag_clear_counters", EV_DIR_REQUEST);
    /* hand-built: sub 0x0015 is not a public sub-function */
    feed(st, "0000000000060a0800150000", 1, 1);
    check_code(ev(4), 8, "diag_other", EV_DIR_REQUEST);
    ck_assert(event_has_anomaly(ev(4), "modbus.unknown_subfunction"));
}
END_TEST

START_TEST(test_device_id_trailing_byte)
{
    /* modbus_testdata_part1.pcap frame 32: MEI 14, code 3 (extended), object 1,
     * and one byte more than the request has */
    ck_assert_uint_eq(feed(st, "0001000000060a2b0e030100", 1, 1093521958375300ull), 12);
    const struct event *q = ev(0);
    check_code(q, 43, "read_device_id", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(q, "read_device_id_code"), 3);
    ck_assert_uint_eq(ev_u(q, "object_id"), 1);
    ck_assert(event_has_anomaly(q, "modbus.trailing_data"));
    /* hand-built: MEI 13 CANopen general reference is noted, body kept raw */
    feed(st, "0002000000070a2b0d00010203", 1, 2);
    check_code(ev(1), 43, "canopen_general_reference", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(ev(1), "canopen"), 1);
    ev_s(ev(1), "data", "00010203");
}
END_TEST

/* ---- UMAS (umas.pcap) ---- */

START_TEST(test_umas)
{
    /* frame 4: session 0, UMAS 0x02 READ_ID */
    ck_assert_uint_eq(feed(st, "000000000004005a0002", 1, 1427906557270030ull), 10);
    const struct event *q = ev(0);
    check_code(q, 90, "umas_plc_info_read", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(q, "umas.session"), 0);
    ck_assert_uint_eq(ev_u(q, "umas.code"), 2);
    ev_s(q, "umas.name", "READ_ID");
    ck_assert_int_eq(q->nanom, 0);
    /* frame 6: 5a 00 fe = ok, with 46 bytes of PLC identity */
    ck_assert_uint_eq(
        feed(st,
             "000000000032005a00fe10ff5a010100000070020000270009000800000000000e313430204350552033"
             "31312031300101010000000011 00",
             0, 1427906557275615ull),
        56);
    const struct event *r = ev(1);
    check_code(r, 90, "umas_plc_info_read", EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(r, "umas.status"), 0xFE);
    ck_assert_uint_eq(ev_u(r, "umas.ok"), 1);
    ck_assert_uint_eq(ev_u(r, "umas.code"), 2); /* from the request */
    ev_s(r, "umas.name", "READ_ID");
    ck_assert_uint_eq(ev_u(r, "umas.data_len"), 46);
    ck_assert_uint_eq(ev_u(r, "latency_us"), 5585);
    /* frame 49: 0x10 TAKE_PLC_RESERVATION; frame 50 grants session 1 */
    feed(st, "001600000018005a0010434c00000f555345522d37313445373446323142", 1, 10);
    check_code(ev(2), 90, "umas_reservation", EV_DIR_REQUEST);
    feed(st, "001600000005005a00fe01", 0, 11);
    check_code(ev(3), 90, "umas_reservation", EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(ev(3), "umas.reserved_session"), 1); /* later requests use 01 */
    /* frame 76: session 1, 0x33 INITIALIZE_DOWNLOAD (program download) */
    feed(st, "002300000008005a01330001fb00", 1, 12);
    check_code(ev(4), 90, "umas_program_download", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(ev(4), "umas.session"), 1);
    ev_s(ev(4), "umas.name", "INITIALIZE_DOWNLOAD");
    /* frame 186: 0x35 END_STRATEGY_DOWNLOAD, frame 187 its ok */
    feed(st, "005900000008005a013500013500", 1, 13);
    ev_s(ev(5), "umas.name", "END_STRATEGY_DOWNLOAD");
    feed(st, "005900000004005a01fe", 0, 14);
    check_code(ev(6), 90, "umas_program_download", EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(ev(6), "umas.data_len"), 0);
    /* hand-built: 0x41 STOP_PLC, from the public UMAS description (session
     * byte, code; lirasenlared.blogspot.com 2017, Kaspersky ICS CERT 2022) */
    feed(st, "005a00000004005a0141", 1, 15);
    check_code(ev(7), 90, "umas_plc_stop", EV_DIR_REQUEST);
    ev_s(ev(7), "umas.name", "STOP_PLC");
    feed(st, "005b00000004005a0140", 1, 16);
    check_code(ev(8), 90, "umas_plc_start", EV_DIR_REQUEST);
    /* hand-built: an unlisted UMAS code */
    feed(st, "005c00000004005a01ee", 1, 17);
    check_code(ev(9), 90, "umas_unknown", EV_DIR_REQUEST);
    ck_assert(event_has_anomaly(ev(9), "modbus.umas_unknown_function"));
}
END_TEST

START_TEST(test_umas_length_255)
{
    /* umas.pcap frame 19: length 0xff (a 254-byte PDU, one over the spec),
     * UMAS 0x0A REPEAT; tshark decodes it, so do we, with an anomaly */
    uint8_t b[300];
    size_t n = hex_to_bytes("0007000000ff005a000a00", b, sizeof(b));
    for (size_t k = 0; n < 261; k++)
        b[n++] = (uint8_t)k; /* the frame's payload counts 00 01 02 ... */
    ck_assert_uint_eq(feed_bytes(st, b, n, 1, 1427906557314428ull, 0), 261);
    check_code(ev(0), 90, "umas_repeat", EV_DIR_REQUEST);
    ck_assert(event_has_anomaly(ev(0), "modbus.pdu_too_large"));
    ck_assert_uint_eq(ev_u(ev(0), "umas.data_len"), 251); /* 254 - fc, session, code */
}
END_TEST

/* ---- framing ---- */

START_TEST(test_two_adus_one_call)
{
    /* frames 4 and 8 back to back in one segment */
    ck_assert_uint_eq(feed(st, "000100000006040100010001 000200000006050100010008", 1, T0), 24);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_uint_eq(ev_u(ev(0), "tid"), 1);
    ck_assert_uint_eq(ev_u(ev(1), "tid"), 2);
    ck_assert_uint_eq(ev_u(ev(1), "quantity"), 8);
    /* one and a half: the whole one is consumed, the half waits */
    ck_assert_uint_eq(feed(st, "000300000006040200010001 00040000", 1, T0), 12);
    ck_assert_int_eq(rec.n, 3);
}
END_TEST

START_TEST(test_split_adu)
{
    /* frame 26 (25 bytes) arriving as 10 + 15: the engine keeps the 10 */
    const char *full = "00060000001305031000aa00aa00bb00ccef84e3eb9f8be4c1";
    uint8_t b[64];
    size_t n = hex_to_bytes(full, b, sizeof(b));
    ck_assert_uint_eq(feed_bytes(st, b, 10, 0, T0, 0), 0);
    ck_assert_int_eq(rec.n, 0);
    ck_assert_uint_eq(feed_bytes(st, b, n, 0, T0, 0), n);
    ck_assert_int_eq(rec.n, 1);
    uint64_t v[8];
    ck_assert_int_eq(arr(ev(0), "values", v, 8), 8);
    /* split inside the MBAP header too */
    ck_assert_uint_eq(feed_bytes(st, b, 5, 0, T0, 0), 0);
    ck_assert_uint_eq(feed_bytes(st, b, n, 0, T0, 0), n);
    ck_assert_int_eq(rec.n, 2);
}
END_TEST

START_TEST(test_unmatched_response)
{
    /* frame 6 with no request before it */
    ck_assert_uint_eq(feed(st, "00010000000404010101", 0, T0), 10);
    const struct event *r = ev(0);
    check_code(r, 1, "read_coils", EV_DIR_RESPONSE);
    ck_assert(event_has_anomaly(r, "modbus.unmatched_response"));
    ev_absent(r, "request_func");
    ev_absent(r, "latency_us");
    /* a response to another function than the request with that tid */
    feed(st, "000200000006050100010008", 1, T0);
    feed(st, "00020000000505030200aa", 0, T0 + 5);
    ck_assert(event_has_anomaly(ev(2), "modbus.func_mismatch"));
    ck_assert_uint_eq(ev_u(ev(2), "request_func"), 1);
    /* a response answers once */
    feed(st, "00020000000505030200aa", 0, T0 + 6);
    ck_assert(event_has_anomaly(ev(3), "modbus.unmatched_response"));
}
END_TEST

START_TEST(test_pending_eviction)
{
    char hex[64];
    /* 33 requests, tids 0..32, no responses: the 33rd evicts tid 0 */
    for (int t = 0; t <= 32; t++) {
        snprintf(hex, sizeof(hex), "%04x00000006040100010001", t);
        ck_assert_uint_eq(feed(st, hex, 1, T0 + (uint64_t)t), 12);
    }
    ev_absent(ev(31), "pending_evicted");
    ck_assert_uint_eq(ev_u(ev(32), "pending_evicted"), 1);
    feed(st, "00000000000404010101", 0, T0 + 100); /* tid 0: evicted */
    ck_assert(event_has_anomaly(ev(33), "modbus.unmatched_response"));
    feed(st, "00010000000404010101", 0, T0 + 100); /* tid 1: still there */
    ck_assert_uint_eq(ev_u(ev(34), "latency_us"), 99);
}
END_TEST

START_TEST(test_tid_reuse_fifo)
{
    /* modbus_testdata_part1.pcap uses tid 0 for everything: FC 8 then FC 17
     * outstanding; the FC 17 response takes the FC 17 request */
    feed(st, "0000000000060a0800040000", 1, 100);
    feed(st, "0000000000020a11", 1, 200);
    feed(st, "0000000000150a111200ff57696e6770617468204c696d69746564", 0, 250);
    ck_assert_uint_eq(ev_u(ev(2), "request_func"), 17);
    ck_assert_uint_eq(ev_u(ev(2), "latency_us"), 50);
    ck_assert_int_eq(ev(2)->nanom, 0);
}
END_TEST

START_TEST(test_invalid_protocol_id)
{
    /* frame 4, then frame 8 with protocol id 1, then frame 12 */
    feed(st, "000100000006040100010001", 1, T0);
    size_t used = feed(st, "000200010006050100010008 000300000006040200010001", 1, T0);
    ck_assert_uint_eq(used, 24);
    ck_assert_int_eq(rec.n, 3);
    const struct event *bad = ev(1);
    ck_assert(!bad->has_code); /* not a Modbus PDU: code null */
    ck_assert_str_eq(bad->op, "malformed");
    ck_assert(event_has_anomaly(bad, "modbus.invalid_protocol_id"));
    ck_assert(event_has_anomaly(bad, "modbus.resync"));
    ck_assert_uint_eq(ev_u(bad, "proto_id"), 1);
    ck_assert(strstr(rec.json[1], "\"code\":null") != NULL);
    /* back in step after skipping the 12 bad bytes */
    check_code(ev(2), 2, "read_discrete_inputs", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(ev(2), "resync_skipped"), 12);
}
END_TEST

START_TEST(test_invalid_length)
{
    /* length 1: no room for a function code */
    ck_assert_uint_eq(feed(st, "000100000001040100010001", 1, T0), 5);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(event_has_anomaly(ev(0), "modbus.invalid_length"));
    ck_assert_uint_eq(ev_u(ev(0), "length"), 1);
    D->state_free(st);
    st = D->state_new();
    /* length 0x0300: beyond any ADU */
    feed(st, "000100000300040100010001", 1, T0);
    ck_assert(event_has_anomaly(ev(1), "modbus.invalid_length"));
    ck_assert_int_eq(rec.n, 2);
}
END_TEST

START_TEST(test_resync_after_gap)
{
    /* after a gap: 50 bytes of garbage, then frame 8 */
    char hex[256] = "";
    for (int k = 0; k < 50; k++)
        strcat(hex, "aa");
    strcat(hex, "000200000006050100010008");
    uint8_t b[128];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    ck_assert_uint_eq(feed_bytes(st, b, n, 1, T0, 1), n);
    ck_assert_int_eq(rec.n, 2); /* one resync event, not one per byte */
    ck_assert_str_eq(ev(0)->op, "resync");
    ck_assert(!ev(0)->has_code);
    ck_assert(event_has_anomaly(ev(0), "modbus.resync"));
    ck_assert_int_eq(ev(0)->nanom, 1);
    check_code(ev(1), 1, "read_coils", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(ev(1), "resync_skipped"), 50);
    /* garbage in the middle of the next call: scanning stays quiet until sync */
    ck_assert_uint_eq(feed(st, "000300000006040200010001", 1, T0), 12);
    ck_assert_int_eq(rec.n, 3);
}
END_TEST

START_TEST(test_gap_then_unknown_function)
{
    /* fuzz-72.pcap frame 3 after a gap: proto 0, length 6, function 29. The
     * first byte after a gap is taken as an ADU start, as tshark does */
    ck_assert_uint_eq(feed_gap(st, "000000000006011d00000000", 1, T0), 12);
    ck_assert_int_eq(rec.n, 1);
    check_code(ev(0), 29, "unknown_function", EV_DIR_REQUEST);
    ck_assert(event_has_anomaly(ev(0), "modbus.unknown_function"));
    ev_s(ev(0), "data", "00000000");
    /* user-defined range: named apart */
    feed(st, "000100000002014100", 1, T0);
    check_code(ev(1), 65, "user_defined_function", EV_DIR_REQUEST);
}
END_TEST

START_TEST(test_scan_needs_known_function)
{
    /* modbus_testdata_part1.pcap frames 111 and 113 (server -> client): an
     * 11-byte ADU (function 42) plus 3 stray bytes, then the same 14 bytes
     * again. tshark counts function 42 once: the stray bytes break framing and
     * the second copy is only found by scanning, which needs a known function */
    const char *seg = "0001000000050a2a0e0401010123";
    ck_assert_uint_eq(feed(st, seg, 0, T0), 11);
    ck_assert_int_eq(rec.n, 1);
    check_code(ev(0), 42, "unknown_function", EV_DIR_RESPONSE);
    char both[64];
    snprintf(both, sizeof(both), "010123%s", seg);
    size_t used = feed(st, both, 0, T0);
    ck_assert_uint_eq(used, 17 - 7); /* scanned up to the last 7 bytes */
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(ev(1), "modbus.invalid_protocol_id"));
    ck_assert(!ev(1)->has_code);
}
END_TEST

START_TEST(test_new_segment_after_loss)
{
    /* fuzz-72.pcap, client -> server, frames 6, 7 and 9. Frame 6 declares
     * length 4 (function 33) and leaves 2 bytes; with frame 7 they make a
     * header of length 0: sync is lost, and frame 7's own ADU (function 34)
     * sits in bytes buffered with the bad header, so it needs a known
     * function. Frame 9 arrives later, a new segment: its first byte gets the
     * relaxed test (function 35 accepted). tshark counts 33 and 35, not 34 */
    ck_assert_uint_eq(feed(st, "000000000004012100000000", 1, T0), 10);
    check_code(ev(0), 33, "unknown_function", EV_DIR_REQUEST);
    ck_assert_uint_eq(feed(st, "0000 000000000006012200000000", 1, T0), 14 - 7);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(ev(1), "modbus.invalid_length"));
    /* the engine hands back the 7 unconsumed bytes with frame 9 appended */
    ck_assert_uint_eq(feed(st, "06012200000000 540000000006012300000000", 1, T0), 19);
    ck_assert_int_eq(rec.n, 3);
    check_code(ev(2), 35, "unknown_function", EV_DIR_REQUEST);
    ck_assert_uint_eq(ev_u(ev(2), "tid"), 0x5400);
    ck_assert_uint_eq(ev_u(ev(2), "resync_skipped"), 14);
    /* a relaxed candidate split across calls is still taken when complete */
    ck_assert_uint_eq(feed(st, "0001 0001 0006 01 01 00", 1, T0), 2); /* protocol id 1 */
    ck_assert(event_has_anomaly(ev(3), "modbus.invalid_protocol_id"));
    /* the 7 kept bytes, then the first 8 of a 12-byte ADU (function 37) */
    ck_assert_uint_eq(feed(st, "00010006010100 0002000000060125", 1, T0), 7);
    ck_assert_uint_eq(feed(st, "0002000000060125 00000000", 1, T0), 12);
    ck_assert_int_eq(rec.n, 5);
    check_code(ev(4), 37, "unknown_function", EV_DIR_REQUEST);
}
END_TEST

/* ---- where tshark 4.0 is wrong: fuzz-72.pcap, server (502) -> client ----
 *
 * The capture is fuzzed at the TCP layer too. Frame 12 carries sequence number
 * ISN + 131153 (bit 17 flipped: the bytes belong at ISN + 81, where the client's
 * ACK of frame 13, ISN + 90, puts them). RFC 9293 3.10.7.4: a receiver accepts only
 * segments inside its window (RCV.NXT .. RCV.NXT + RCV.WND, here about 64 KB), so
 * frame 12 is dropped by the client, which goes on acknowledging the real stream:
 * frame 22 acknowledges frame 21, frame 31 (ISN + 339) frames 26 and 27. tshark
 * has no window check: frame 12 raises its "next expected sequence" to ISN + 131162
 * and every later server segment below it (frames 19, 21, 25-27, 32, 34) is called a
 * retransmission and not dissected, so the exception responses to functions 47,
 * 51, 58 and 59 are not counted (4 mismatches in the oracle); with frame 12's
 * sequence number set to ISN + 81, tshark decodes those frames as we do. Agreeing with tshark
 * would let one injected segment with a far sequence number blind the sensor to a
 * connection. We deliver what the client acknowledged; frame 12 itself (protocol
 * id 0x0041) is malformed for us and not Modbus for tshark, frame 25 arrives after
 * the client acknowledged past it (frame 24) and is dropped by both. */
struct fz_pkt {
    int server; /* 1: sent by port 502 */
    uint16_t flags;
    uint32_t seq, ack;
    const char *payload;
};

/* frames 1-28, tcp.flags, tcp.seq_raw, tcp.ack_raw, tcp.payload */
static const struct fz_pkt FZ72[] = {
    {1, 0xeb, 2322986688u, 4058832554u, "000000000000"}, /* SYN+FIN+... with data */
    {1, 0x18, 1886779072u, 4058832554u, "000000000003019c01"},
    {0, 0x18, 4058832554u, 2322986697u, ""},
    {0, 0x10, 4058832578u, 2322986715u, ""},
    {1, 0x18, 2322986724u, 4058832602u, "00000000000301a001"}, /* 5: exception to 32 */
    {0, 0x18, 4058832602u, 2322986733u, ""},
    {0, 0x18, 4058832614u, 2322986742u, ""},
    {1, 0x18, 2322986742u, 4058832626u, "00000200000301a201"}, /* 8: protocol id 2 */
    {0, 0x18, 4058832626u, 2322986751u, ""},
    {0, 0x18, 4058832638u, 2322986760u, ""},
    {0, 0x08, 4058832650u, 2322986769u, ""},                   /* no ACK flag */
    {1, 0x18, 2323117841u, 4058832662u, "00000041000301a501"}, /* 12: out of window */
    {0, 0x10, 4058832662u, 2322986778u, ""},
    {0, 0x18, 4058832662u, 2322986778u, ""},
    {1, 0x10, 2322986778u, 4058832674u, ""},
    {0, 0x18, 4058832722u, 2322986829u, ""},
    {0, 0x18, 4058832758u, 2322933864u, ""},
    {0, 0x18, 4058832770u, 2289432433u, ""},
    {1, 0x58, 2322986865u, 4058832270u, "00000000000301af01"}, /* 19: exception to 47 */
    {0, 0x18, 4058832806u, 947255180u, ""},
    {1, 0x18, 2322986901u, 4058832830u, "00000000000301b301"}, /* 21: exception to 51 */
    {0, 0x118, 4058832830u, 2322986910u, ""},
    {0, 0x18, 4058832677u, 7731111u, ""},
    {0, 0x18, 4058832854u, 2322986964u, ""},
    {1, 0x18, 2322986928u, 4058832866u, "00000000000301b601"},  /* 25: already acked */
    {1, 0x118, 2322986964u, 4058832914u, "00000000000301ba01"}, /* 26: exception to 58 */
    {1, 0x18, 2322986973u, 2850873374u, "00000000000301bb01"},  /* 27: exception to 59 */
    {0, 0x18, 4058832926u, 2321676262u, ""},
};

/* The server direction's in-order output, buffered and parsed as the engine does. */
struct fz_sink {
    void *st;
    uint8_t buf[1024];
    size_t len;
    int after_gap;
};

static void fz_out(void *ctx, const uint8_t *data, uint32_t len, uint32_t gap_len)
{
    struct fz_sink *k = ctx;
    if (!data) {
        ck_assert_uint_gt(gap_len, 0);
        k->len = 0;
        k->after_gap = 1;
        D->gap(k->st, 0);
        return;
    }
    ck_assert_uint_le(k->len + len, sizeof(k->buf));
    memcpy(k->buf + k->len, data, len);
    k->len += len;
    while (k->len > 0) {
        size_t used = feed_bytes(k->st, k->buf, k->len, 0, T0, k->after_gap);
        if (used == 0) break;
        k->after_gap = 0;
        memmove(k->buf, k->buf + used, k->len - used);
        k->len -= used;
    }
}

START_TEST(test_tshark_out_of_window_segment)
{
    static struct reasm_global g;
    static struct reasm_dir dir[2]; /* [1]: server -> client */
    static struct fz_sink k;
    struct reasm_config cfg = {1u << 20, 64, 1u << 24, 4096};
    reasm_global_init(&g, &cfg);
    memset(dir, 0, sizeof(dir));
    memset(&k, 0, sizeof(k));
    k.st = st;
    /* the worker's order per packet: SYN, data, the ACK for the other side, FIN */
    for (size_t i = 0; i < sizeof(FZ72) / sizeof(FZ72[0]); i++) {
        const struct fz_pkt *p = &FZ72[i];
        struct reasm_dir *mine = &dir[p->server], *peer = &dir[!p->server];
        uint8_t b[64];
        size_t n = hex_to_bytes(p->payload, b, sizeof(b));
        if (p->flags & 0x02) reasm_syn(mine, p->seq);
        if (n && p->server)
            reasm_data(&g, mine, (p->flags & 0x02) ? p->seq + 1 : p->seq, b, (uint32_t)n, fz_out,
                       &k);
        if ((p->flags & 0x10) && !p->server && peer->nsegs) reasm_ack(&g, peer, p->ack, fz_out, &k);
        if (p->flags & 0x01) reasm_fin(mine, p->seq + (uint32_t)n);
    }
    reasm_flush(&g, &dir[1], fz_out, &k);
    /* the server's Modbus events, in order */
    int codes[16], nc = 0, malformed = 0;
    for (int i = 0; i < rec.n; i++) {
        if (rec.ev[i].has_code) {
            ck_assert_int_lt(nc, 16);
            ck_assert_int_eq(rec.ev[i].dir, EV_DIR_RESPONSE);
            ck_assert_uint_eq(ev_u(&rec.ev[i], "exception"), 1);
            codes[nc++] = (int)rec.ev[i].code;
        } else {
            ck_assert(event_has_anomaly(&rec.ev[i], "modbus.resync"));
            malformed++;
        }
    }
    /* tshark: 32 only */
    ck_assert_int_eq(nc, 5);
    ck_assert_int_eq(codes[0], 32);
    ck_assert_int_eq(codes[1], 47);
    ck_assert_int_eq(codes[2], 51);
    ck_assert_int_eq(codes[3], 58);
    ck_assert_int_eq(codes[4], 59);
    ck_assert_int_eq(malformed, 2); /* frames 8 and 12 (protocol ids 0x0200, 0x0041): resync */
    reasm_dir_free(&g, &dir[0]);
    reasm_dir_free(&g, &dir[1]);
}
END_TEST

START_TEST(test_exception_in_request)
{
    /* hand-built: the exception bit in the request direction */
    feed(st, "000100000003008302", 1, T0);
    check_code(ev(0), 3, "read_holding_registers", EV_DIR_REQUEST);
    ck_assert(event_has_anomaly(ev(0), "modbus.exception_in_request"));
    /* modbus_testdata_part1.pcap stream 5: the side on port 502 opened the
     * connection, so the engine calls its bytes "to server"; frame 91 is an
     * exception response (read coils, 6 server busy). Port 502 names the server */
    rec.sink.net.src_port = 502;
    rec.sink.net.dst_port = 4446;
    feed(st, "0001000000040a810600", 1, T0);
    check_code(ev(1), 1, "read_coils", EV_DIR_RESPONSE);
    ck_assert_uint_eq(ev_u(ev(1), "exception"), 6);
    ck_assert(!event_has_anomaly(ev(1), "modbus.exception_in_request"));
    /* both sides on 502: the engine's view stands */
    rec.sink.net.dst_port = 502;
    feed(st, "000200000006010100000001", 1, T0);
    ck_assert_int_eq(ev(2)->dir, EV_DIR_REQUEST);
}
END_TEST

START_TEST(test_bad_values)
{
    /* hand-built: write single coil with 0x1234 (only 0x0000/0xFF00 are valid) */
    feed(st, "000100000006010500011234", 1, T0);
    ck_assert(event_has_anomaly(ev(0), "modbus.invalid_value"));
    /* read coils, quantity 0 */
    feed(st, "000200000006010100010000", 1, T0);
    ck_assert(event_has_anomaly(ev(1), "modbus.invalid_quantity"));
    /* write multiple registers, quantity 2 but byte count 3 */
    feed(st, "00030000000a01100001000203aabbcc", 1, T0);
    ck_assert(event_has_anomaly(ev(2), "modbus.invalid_byte_count"));
    /* read holding registers response, byte count 4 but 2 bytes present */
    feed(st, "00040000000501030400aa", 0, T0);
    ck_assert(event_has_anomaly(ev(3), "modbus.truncated_pdu"));
}
END_TEST

/* Every ADU of the example cut at every length: a prefix is "need more" (0,
 * no event); an ADU whose MBAP length is cut short is consumed whole and
 * gives one event with the right code. */
START_TEST(test_truncated_everywhere)
{
    for (int i = 0; i < NEXAMPLE; i++) {
        uint8_t b[256];
        size_t n = hex_to_bytes(example[i].hex, b, sizeof(b));
        for (size_t cut = 0; cut < n; cut++) {
            void *s = D->state_new();
            recorder_init(&rec);
            ck_assert_uint_eq(feed_bytes(s, b, cut, example[i].to_server, T0, 0), 0);
            ck_assert_int_eq(rec.n, 0);
            D->state_free(s);
        }
        for (size_t len = 2; len < n - 6u; len++) {
            uint8_t t[256];
            memcpy(t, b, 6 + len);
            t[4] = (uint8_t)(len >> 8);
            t[5] = (uint8_t)len;
            void *s = D->state_new();
            recorder_init(&rec);
            ck_assert_uint_eq(feed_bytes(s, t, 6 + len, example[i].to_server, T0, 0), 6 + len);
            ck_assert_int_eq(rec.n, 1);
            ck_assert_int_eq(rec.ev[0].code, example[i].code);
            D->state_free(s);
        }
    }
}
END_TEST

/* ---- whole captures: per-function counts against the tshark oracle ---- */

struct count_ctx {
    unsigned codes[256];
    unsigned events;
    unsigned nocode;
};

static void count_event(void *ctx, struct event *e)
{
    struct count_ctx *k = ctx;
    k->events++;
    if (e->has_code && e->code >= 0 && e->code < 256)
        k->codes[e->code]++;
    else
        k->nocode++;
}

/* Plays a capture into the dissector the way the engine does (testutil.c). */
static void play_pcap(const char *name, struct count_ctx *k)
{
    static struct event_sink sink;
    event_sink_init(&sink, count_event, k);
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), D, &sink, 502, 0), 0);
}

START_TEST(test_pcap_example_counts)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("modbus_example.pcap", &k);
    /* tshark: modbus.func_code counts from the corpus oracle */
    static const unsigned want[][2] = {{3, 6},  {1, 4},  {2, 4},  {22, 4}, {23, 4}, {4, 4},
                                       {15, 2}, {16, 2}, {17, 2}, {20, 2}, {21, 2}, {24, 2},
                                       {43, 2}, {5, 2},  {6, 2},  {7, 2},  {8, 2}};
    unsigned total = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_uint_eq(k.codes[want[i][0]], want[i][1]);
        total += want[i][1];
    }
    ck_assert_uint_eq(k.events, total);
    ck_assert_uint_eq(k.nocode, 0);
}
END_TEST

START_TEST(test_pcap_umas_counts)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("modbus_umas.pcap", &k);
    ck_assert_uint_eq(k.codes[90], 180); /* tshark: 180 x function 90 */
    ck_assert_uint_eq(k.events, 180);
}
END_TEST

START_TEST(test_pcap_testdata_counts)
{
    static struct count_ctx k;
    memset(&k, 0, sizeof(k));
    play_pcap("modbus_testdata_part1.pcap", &k);
    /* tshark: 8:16 1:14 17:4 5:4 3:2 43:2 6:2 42:1 */
    ck_assert_uint_eq(k.codes[8], 16);
    ck_assert_uint_eq(k.codes[1], 14);
    ck_assert_uint_eq(k.codes[17], 4);
    ck_assert_uint_eq(k.codes[5], 4);
    ck_assert_uint_eq(k.codes[3], 2);
    ck_assert_uint_eq(k.codes[43], 2);
    ck_assert_uint_eq(k.codes[6], 2);
    ck_assert_uint_eq(k.codes[42], 1);
    ck_assert_uint_eq(k.events - k.nocode, 45);
}
END_TEST

static Suite *modbus_suite(void)
{
    Suite *s = suite_create("modbus");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_row);
    tcase_add_test(t, test_probe);
    tcase_add_test(t, test_example_every_function);
    tcase_add_test(t, test_read_coils);
    tcase_add_test(t, test_read_registers);
    tcase_add_test(t, test_write_single);
    tcase_add_test(t, test_exception_status_and_diag);
    tcase_add_test(t, test_write_multiple);
    tcase_add_test(t, test_values_capped);
    tcase_add_test(t, test_report_server_id);
    tcase_add_test(t, test_file_records);
    tcase_add_test(t, test_mask_write_and_read_write);
    tcase_add_test(t, test_fifo);
    tcase_add_test(t, test_device_id);
    tcase_add_test(t, test_device_id_private_objects);
    tcase_add_test(t, test_exception_response);
    tcase_add_test(t, test_diag_force_listen_only);
    tcase_add_test(t, test_device_id_trailing_byte);
    tcase_add_test(t, test_umas);
    tcase_add_test(t, test_umas_length_255);
    tcase_add_test(t, test_two_adus_one_call);
    tcase_add_test(t, test_split_adu);
    tcase_add_test(t, test_unmatched_response);
    tcase_add_test(t, test_pending_eviction);
    tcase_add_test(t, test_tid_reuse_fifo);
    tcase_add_test(t, test_invalid_protocol_id);
    tcase_add_test(t, test_invalid_length);
    tcase_add_test(t, test_resync_after_gap);
    tcase_add_test(t, test_gap_then_unknown_function);
    tcase_add_test(t, test_scan_needs_known_function);
    tcase_add_test(t, test_new_segment_after_loss);
    tcase_add_test(t, test_tshark_out_of_window_segment);
    tcase_add_test(t, test_exception_in_request);
    tcase_add_test(t, test_bad_values);
    tcase_add_test(t, test_truncated_everywhere);
    tcase_add_test(t, test_pcap_example_counts);
    tcase_add_test(t, test_pcap_umas_counts);
    tcase_add_test(t, test_pcap_testdata_counts);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(modbus_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
