/* test_s7comm.c - S7comm / S7comm-plus dissector on real bytes from the corpus.
 *
 * Sources (tshark 4.0 checked every value asserted on S7comm; S7comm-plus against
 * the corpus oracle's byte-computed opcode/function and the icsnpp-s7comm Zeek
 * baseline): nDPI tests/cfgs/default/pcap/s7comm.pcap and s7comm-plus.pcap
 * (LGPL-3.0), cisagov/icsnpp-s7comm snap7.pcap, s7comm_plus.pcap (BSD-3-Clause),
 * ITI/ICS-Security-Tools S7-1200-Uploading-OB1-TIAV12.pcap (CC-BY-4.0). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "diss_params.h"
#include "dissector.h"
#include "testutil.h"

extern const struct dissector s7comm_dissector;

static struct recorder rec;
static void *st;

static void setup(void)
{
    recorder_init(&rec);
    st = s7comm_dissector.state_new();
}

static void teardown(void)
{
    s7comm_dissector.state_free(st);
    st = NULL;
}

/* Parses bytes as one call; returns what the dissector consumed. */
static size_t feed_bytes(const uint8_t *b, size_t n, int to_server, uint64_t ts)
{
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {.to_server = to_server, .transport = DISS_TCP, .ts_us = ts};
    return s7comm_dissector.parse(st, &c, &info, &rec.sink);
}

static size_t feed(const char *hex, int to_server)
{
    static uint8_t buf[4096];
    size_t n = hex_to_bytes(hex, buf, sizeof(buf));
    return feed_bytes(buf, n, to_server, 1000);
}

static uint64_t u(int i, const char *path)
{
    const struct ev_field *f = event_find(&rec.ev[i], path);
    ck_assert_msg(f != NULL, "event %d has no %s: %s", i, path, rec.json[i]);
    ck_assert_int_eq(f->type, EVF_UINT);
    return f->v.u;
}

static void str_is(int i, const char *path, const char *want)
{
    const struct ev_field *f = event_find(&rec.ev[i], path);
    ck_assert_msg(f != NULL, "event %d has no %s: %s", i, path, rec.json[i]);
    ck_assert_uint_eq(f->len, strlen(want));
    ck_assert(memcmp(event_field_text(&rec.ev[i], f), want, f->len) == 0);
}

static void has(int i, const char *needle)
{
    ck_assert_msg(strstr(rec.json[i], needle) != NULL, "event %d lacks %s: %s", i, needle,
                  rec.json[i]);
}

/* nDPI s7comm.pcap frame 1 */
#define COTP_CR                                                                                    \
    "03 00 00 16"    /* TPKT v3, length 22 */                                                      \
    "11 e0"          /* COTP LI 17, CR */                                                          \
    "00 00 00 07 00" /* dst ref 0, src ref 7, class 0 */                                           \
    "c1 02 01 00"    /* calling TSAP 0100 */                                                       \
    "c2 02 01 02"    /* called TSAP 0102 (rack 0 slot 2) */                                        \
    "c0 01 0a"       /* TPDU size 2^10 */
/* frame 2 */
#define COTP_CC "03 00 00 16 11 d0 00 07 00 03 00 c0 01 0a c1 02 01 00 c2 02 01 02"
/* frame 3: Job setup communication */
#define SETUP_JOB                                                                                  \
    "03 00 00 19 02 f0 80"    /* TPKT 25, COTP DT EOT */                                           \
    "32 01 00 00 00 02"       /* S7, Job, reserved, PDU ref 2 */                                   \
    "00 08 00 00"             /* param length 8, data length 0 */                                  \
    "f0 00 00 01 00 01 01 e0" /* setup comm, AmQ calling 1, called 1, PDU 480 */
/* frame 4: Ack_Data setup communication, PDU size 240 */
#define SETUP_ACK "03 00 00 1b 02 f0 80 32 03 00 00 00 02 00 08 00 00 00 00 f0 00 00 01 00 01 00 f0"

START_TEST(cotp_connect)
{
    ck_assert_uint_eq(feed(COTP_CR, 1), 22);
    ck_assert_uint_eq(feed(COTP_CC, 0), 22);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_str_eq(rec.ev[0].op, "cotp_cr");
    ck_assert(!rec.ev[0].has_code); /* no S7 payload: code null */
    ck_assert_uint_eq(u(0, "src_ref"), 7);
    ck_assert_uint_eq(u(0, "dst_ref"), 0);
    ck_assert_uint_eq(u(0, "class"), 0);
    ck_assert_uint_eq(u(0, "tpdu_size"), 1024);
    has(0, "\"src_tsap\":\"0100\",\"dst_tsap\":\"0102\"");
    ck_assert_str_eq(rec.ev[1].op, "cotp_cc");
    ck_assert_uint_eq(u(1, "src_ref"), 3);
    ck_assert_uint_eq(u(1, "dst_ref"), 7);
    ck_assert_int_eq(rec.ev[0].nanom + rec.ev[1].nanom, 0);
}
END_TEST

/* No COTP DR in the corpus: a disconnect request built by hand (ISO 8073 13.5). */
START_TEST(cotp_disconnect)
{
    feed("03 00 00 0b"     /* TPKT length 11 */
         "06 80"           /* COTP LI 6, DR */
         "00 07 00 03 80", /* dst ref 7, src ref 3, reason 128 (normal disconnect) */
         1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_str_eq(rec.ev[0].op, "cotp_dr");
    ck_assert(!rec.ev[0].has_code);
    ck_assert_uint_eq(u(0, "dst_ref"), 7);
    ck_assert_uint_eq(u(0, "src_ref"), 3);
    ck_assert_uint_eq(u(0, "reason"), 128);
    ck_assert_int_eq(rec.ev[0].nanom, 0);
}
END_TEST

START_TEST(setup_communication)
{
    feed(SETUP_JOB, 1);
    feed(SETUP_ACK, 0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(rec.ev[0].has_code);
    ck_assert_int_eq(rec.ev[0].code, 0xf0);
    ck_assert_str_eq(rec.ev[0].op, "setup_communication");
    ck_assert_int_eq(rec.ev[0].dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(u(0, "rosctr"), 1);
    ck_assert_uint_eq(u(0, "pdu_ref"), 2);
    ck_assert_uint_eq(u(0, "pdu_size"), 480);
    ck_assert_uint_eq(u(0, "max_amq_calling"), 1);
    ck_assert_int_eq(rec.ev[1].code, 0xf0);
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(u(1, "rosctr"), 3);
    ck_assert_uint_eq(u(1, "pdu_size"), 240);
    ck_assert_uint_eq(u(1, "error"), 0);
    ck_assert_uint_eq(u(1, "request_function"), 0xf0); /* matched by PDU ref */
}
END_TEST

/* snap7.pcap frames 51 and 52 */
START_TEST(read_var)
{
    feed("03 00 00 1f 02 f0 80"
         "32 01 00 00 19 00 00 0e 00 00" /* Job, ref 0x1900, param 14, data 0 */
         "04 01"                         /* read var, 1 item */
         "12 0a 10"                      /* var spec, 10 bytes, S7ANY */
         "08 00 01"                      /* transport size REAL, length 1 */
         "00 00 83"                      /* DB 0, area M (flags) */
         "00 00 80",                     /* address 16.0 (byte << 3 | bit) */
         1);
    feed("03 00 00 1d 02 f0 80"
         "32 03 00 00 19 00 00 02 00 08 00 00" /* Ack_Data, param 2, data 8, no error */
         "04 01"                               /* read var, 1 item */
         "ff 07 00 04 00 00 00 00",            /* success, REAL, 4 bytes */
         0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.ev[0].code, 4);
    ck_assert_str_eq(rec.ev[0].op, "read_var");
    ck_assert_uint_eq(u(0, "item_count"), 1);
    has(0, "\"syntax_id\":16,\"transport_size\":8,\"length\":1,\"db\":0,\"area\":131,"
           "\"area_name\":\"M\",\"address\":16,\"bit\":0");
    ck_assert_int_eq(rec.ev[1].code, 4);
    has(1, "\"results\":[{\"return_code\":255,\"transport_size\":7,\"length\":4}]");
    ck_assert_uint_eq(u(1, "error_items"), 0);
}
END_TEST

/* s7ident.pcap frame 32: five "object does not exist" items carry no value bytes */
START_TEST(read_var_errors)
{
    feed("03 00 00 29 02 f0 80 32 03 00 00 0a 00 00 02 00 14 00 00 04 05"
         "0a 00 00 04 0a 00 00 04 0a 00 00 04 0a 00 00 04 0a 00 00 04",
         0);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 4);
    ck_assert_uint_eq(u(0, "error_items"), 5);
    ck_assert_int_eq(rec.ev[0].nanom, 0);
}
END_TEST

/* snap7.pcap frames 49 and 50 */
START_TEST(write_var)
{
    feed("03 00 00 27 02 f0 80 32 01 00 00 18 00 00 0e 00 08"
         "05 01 12 0a 10 08 00 01 00 00 83 00 00 80" /* write var, REAL M16.0 */
         "00 07 00 04 79 e9 f6 42",                  /* reserved, REAL, 4 bytes value */
         1);
    feed("03 00 00 16 02 f0 80 32 03 00 00 18 00 00 02 00 01 00 00 05 01 ff", 0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.ev[0].code, 5);
    ck_assert_str_eq(rec.ev[0].op, "write_var");
    has(0, "\"area_name\":\"M\",\"address\":16");
    has(0, "\"values\":[{\"return_code\":0,\"transport_size\":7,\"length\":4,"
           "\"value\":\"79e9f642\"}]");
    ck_assert_int_eq(rec.ev[1].code, 5);
    has(1, "\"results\":[{\"return_code\":255}]");
}
END_TEST

/* nDPI s7comm.pcap frames 39-42: request download of DB1, then an empty COTP DT
 * fragment (EOT clear) followed by the PLC's "download block" Job. */
START_TEST(block_download)
{
    feed("03 00 00 31 02 f0 80 32 01 00 00 0e 00 00 20 00 00"
         "1a 00 01 00 00 00 00 00"                    /* request download, status, unknown */
         "09 5f 30 41 30 30 30 30 31 50"              /* "_0A00001P": DB 1, passive */
         "0d 31 30 30 30 35 30 30 30 30 30 34 30 30", /* part 2: "1" "000500" "000400" */
         1);
    feed("03 00 00 14 02 f0 80 32 03 00 00 0e 00 00 01 00 00 00 00 1a", 0);
    ck_assert_uint_eq(feed("03 00 00 07 02 f0 00", 1), 7); /* DT, EOT clear, no data */
    ck_assert_int_eq(rec.n, 2);
    feed("03 00 00 23 02 f0 80 32 01 00 00 01 00 00 12 00 00"
         "1b 00 00 00 00 00 00 00 09 5f 30 41 30 30 30 30 31 50",
         0);
    ck_assert_int_eq(rec.n, 3);
    ck_assert_int_eq(rec.ev[0].code, 0x1a);
    ck_assert_str_eq(rec.ev[0].op, "block_download");
    str_is(0, "function_name", "request_download");
    str_is(0, "block_type", "DB");
    ck_assert_uint_eq(u(0, "block_number"), 1);
    str_is(0, "filesystem", "P");
    ck_assert_int_eq(rec.ev[1].code, 0x1a);
    ck_assert_int_eq(rec.ev[2].code, 0x1b);
    ck_assert_int_eq(rec.ev[2].dir, EV_DIR_REQUEST); /* a Job, though from the PLC */
    str_is(2, "function_name", "download_block");
    str_is(2, "filename", "_0A00001P");
}
END_TEST

/* snap7.pcap frames 17, 18, 43, 44: start upload of SDB0; upload of OB0 refused */
START_TEST(block_upload)
{
    feed("03 00 00 23 02 f0 80 32 01 00 00 08 00 00 12 00 00"
         "1d 00 00 00 00 00 00 00 09 5f 30 42 30 30 30 30 30 41", /* "_0B00000A" */
         1);
    feed("03 00 00 23 02 f0 80 32 03 00 00 08 00 00 10 00 00 00 00"
         "1d 00 01 00 00 00 00 07"  /* upload id 7 */
         "07 30 30 30 30 32 31 36", /* block length "0000216" */
         0);
    feed("03 00 00 23 02 f0 80 32 01 00 00 15 00 00 12 00 00"
         "1d 00 00 00 00 00 00 00 09 5f 30 38 30 30 30 30 30 41", /* OB 0 */
         1);
    feed("03 00 00 13 02 f0 80 32 02 00 00 15 00 00 00 00 00 d2 0c", 0); /* Ack, 0xd20c */
    ck_assert_int_eq(rec.n, 4);
    ck_assert_int_eq(rec.ev[0].code, 0x1d);
    ck_assert_str_eq(rec.ev[0].op, "block_upload");
    str_is(0, "block_type", "SDB");
    ck_assert_uint_eq(u(0, "block_number"), 0);
    str_is(0, "filesystem", "A");
    ck_assert_uint_eq(u(1, "upload_id"), 7);
    str_is(1, "block_length", "0000216");
    str_is(2, "block_type", "OB");
    /* Ack (ROSCTR 2): no function, code null; it answers the start upload */
    ck_assert(!rec.ev[3].has_code);
    ck_assert_str_eq(rec.ev[3].op, "block_upload");
    ck_assert_uint_eq(u(3, "error_class"), 0xd2);
    ck_assert_uint_eq(u(3, "error_code"), 0x0c);
    ck_assert_uint_eq(u(3, "request_function"), 0x1d);
}
END_TEST

/* nDPI s7comm.pcap frames 54-55 and snap7.pcap 59, 63 */
START_TEST(pi_service)
{
    feed("03 00 00 2b 02 f0 80 32 01 00 00 0f 00 00 1a 00 00"
         "28 00 00 00 00 00 00 fd"       /* PI service, unknown bytes */
         "00 0a"                         /* parameter block length 10 */
         "01 00 30 41 30 30 30 30 31 50" /* 1 block: "0A00001P" = DB1 */
         "05 5f 49 4e 53 45",            /* "_INSE" */
         1);
    feed("03 00 00 14 02 f0 80 32 03 00 00 0f 00 00 01 00 00 00 00 28", 0);
    feed("03 00 00 23 02 f0 80 32 01 00 00 1d 00 00 12 00 00"
         "28 00 00 00 00 00 00 fd 00 02 45 50 05 5f 4d 4f 44 55", /* _MODU("EP") */
         1);
    feed("03 00 00 27 02 f0 80 32 01 00 00 1f 00 00 16 00 00"
         "28 00 00 00 00 00 00 fd 00 02 43 20 09 50 5f 50 52 4f 47 52 41 4d", /* P_PROGRAM */
         1);
    ck_assert_int_eq(rec.n, 4);
    ck_assert_int_eq(rec.ev[0].code, 0x28);
    ck_assert_str_eq(rec.ev[0].op, "pi_activate_block");
    str_is(0, "pi_service", "_INSE");
    str_is(0, "block_type", "DB");
    ck_assert_uint_eq(u(0, "block_number"), 1);
    ck_assert_int_eq(rec.ev[1].code, 0x28);
    ck_assert_str_eq(rec.ev[1].op, "pi_activate_block"); /* the ack answers _INSE */
    ck_assert_str_eq(rec.ev[2].op, "pi_copy_ram_to_rom");
    str_is(2, "argument", "EP");
    ck_assert_str_eq(rec.ev[3].op, "pi_program_control");
    str_is(3, "pi_service", "P_PROGRAM");
    str_is(3, "argument", "C ");
}
END_TEST

/* step7_s300_stop.pcapng frames 1-2 */
START_TEST(plc_stop)
{
    feed("03 00 00 21 02 f0 80 32 01 00 00 35 00 00 10 00 00"
         "29 00 00 00 00 00"              /* PLC stop, 5 unknown bytes */
         "09 50 5f 50 52 4f 47 52 41 4d", /* "P_PROGRAM" */
         1);
    feed("03 00 00 14 02 f0 80 32 03 00 00 35 00 00 01 00 00 00 00 29", 0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.ev[0].code, 0x29);
    ck_assert_str_eq(rec.ev[0].op, "plc_stop");
    str_is(0, "pi_service", "P_PROGRAM");
    ck_assert_int_eq(rec.ev[1].code, 0x29);
    ck_assert_str_eq(rec.ev[1].op, "plc_stop");
}
END_TEST

/* snap7.pcap frames 3-4: read SZL 0x0011 (module identification) */
START_TEST(szl_module_identification)
{
    feed("03 00 00 21 02 f0 80 32 07 00 00 01 00 00 08 00 08"
         "00 01 12 04 11 44 01 00"  /* userdata head, plen 4, request, type 4 group 4, SZL, seq 0 */
         "ff 09 00 04 00 11 00 00", /* rc ok, octet string, 4 bytes: SZL id 0x0011 index 0 */
         1);
    feed("03 00 00 99 02 f0 80 32 07 00 00 01 00 00 0c 00 7c"
         "00 01 12 08 12 84 01 01 00 00 00 00" /* response, group 4 sub 1, last unit, no error */
         "ff 09 00 78 00 11 00 00 00 1c 00 04" /* SZL 0x0011, 4 records of 28 bytes */
         "00 01 36 45 53 37 20 33 31 35 2d 32 45 48 31 34 2d 30 41 42 30 20 00 c0 00 03 00 01"
         "00 06 36 45 53 37 20 33 31 35 2d 32 45 48 31 34 2d 30 41 42 30 20 00 c0 00 03 00 01"
         "00 07 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 00 c0 56 03 02 07"
         "00 81 42 6f 6f 74 20 4c 6f 61 64 65 72 20 20 20 20 20 20 20 20 20 00 00 41 20 09 09",
         0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(!rec.ev[0].has_code); /* userdata: code null */
    ck_assert_str_eq(rec.ev[0].op, "ud_read_szl");
    ck_assert_uint_eq(u(0, "group"), 4);
    ck_assert_uint_eq(u(0, "subfunc"), 1);
    ck_assert_uint_eq(u(0, "szl_id"), 0x0011);
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(u(1, "szl_entry_count"), 4);
    str_is(1, "order_number", "6ES7 315-2EH14-0AB0");
    str_is(1, "firmware", "V3.2.7"); /* Ausbg 0x5603 'V' 3, Ausbe 0x0207 */
}
END_TEST

/* snap7.pcap frames 5-8: SZL 0x001C response in two data units (ref 0xd5) */
START_TEST(szl_component_identification_fragmented)
{
    feed("03 00 00 21 02 f0 80 32 07 00 00 02 00 00 08 00 08 00 01 12 04 11 44 01 00"
         "ff 09 00 04 00 1c 00 00",
         1);
    feed("030000f702f080320700000200000c00da0001120812840102d5010000ff0900d6001c00000022000a0001"
         "53373330302f45543230304d2073746174696f6e5f31000000000000000000000002504c435f3100000000"
         "00000000000000000000000000000000000000000000000003000000000000000000000000000000000000"
         "000000000000000000000000000000044f726967696e616c205369656d656e732045717569706d656e7400"
         "000000000000055320432d4231553339333134323031310000000000000000000000000000000000074350"
         "55203331352d3220504e2f445000000000000000000000000000000000000008",
         0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_find(&rec.ev[1], "module_name") == NULL); /* waits for the last unit */
    has(1, "\"fragment\":true");
    feed("03 00 00 21 02 f0 80 32 07 00 00 03 00 00 0c 00 04"
         "00 01 12 08 12 44 01 02 00 00 00 00 0a 00 00 00", /* next data unit, please */
         1);
    feed("030000a702f080320700000300000c008a0001120812840102d5000000ff0900864d4d4320344131414330"
         "313900000000000000000000000000000000000000000009002af600000100000000000000000000000000"
         "00000000000000000000000000000a00000000000000000000000000000000000000000000000000000000"
         "00000000000b0000000000000000000000000000000000000000000000000000000000000000",
         0);
    ck_assert_int_eq(rec.n, 4);
    ck_assert_uint_eq(u(3, "szl_id"), 0x001c);
    ck_assert_uint_eq(u(3, "reassembled_units"), 2);
    str_is(3, "system_name", "S7300/ET200M station_1");
    str_is(3, "module_name", "PLC_1");
    str_is(3, "serial_number", "S C-B1U393142011");
    str_is(3, "module_type", "CPU 315-2 PN/DP");
    str_is(3, "memory_serial_number", "MMC 4A1AC019"); /* split across the two units */
}
END_TEST

/* snap7.pcap frame 47: set clock (time functions group 7, sub 2) */
START_TEST(userdata_set_clock)
{
    feed("03 00 00 27 02 f0 80 32 07 00 00 17 00 00 08 00 0e 00 01 12 04 11 47 02 00"
         "ff 09 00 0a 00 19 16 02 08 23 08 10 00 02", /* BCD 2016-02-08 23:08:10.000 */
         1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_str_eq(rec.ev[0].op, "ud_set_clock");
    ck_assert_uint_eq(u(0, "group"), 7);
    ck_assert_uint_eq(u(0, "subfunc"), 2);
    str_is(0, "clock", "2016-02-08T23:08:10.000");
}
END_TEST

/* The PLC stop of step7_s300_stop.pcapng frame 1 refused: an Ack shaped like snap7.pcap
 * frame 44 carrying 0xD0A1 (not permitted at the current protection level). */
START_TEST(access_denied)
{
    feed("03 00 00 21 02 f0 80 32 01 00 00 35 00 00 10 00 00"
         "29 00 00 00 00 00 09 50 5f 50 52 4f 47 52 41 4d",
         1);
    feed("03 00 00 13 02 f0 80 32 02 00 00 35 00 00 00 00 00 d0 a1", 0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(!rec.ev[1].has_code); /* Ack: code null */
    ck_assert_str_eq(rec.ev[1].op, "access_denied");
    str_is(1, "failed_op", "plc_stop");
    ck_assert_uint_eq(u(1, "error"), 0xd0a1);
    ck_assert_uint_eq(u(1, "request_function"), 0x29);
}
END_TEST

/* snap7.pcap frame 16: list blocks response, counts per block type (tshark agrees) */
START_TEST(userdata_list_blocks)
{
    feed("03 00 00 3d 02 f0 80 32 07 00 00 07 00 00 0c 00 20"
         "00 01 12 08 12 83 01 00 00 00 00 00" /* response, block functions, list blocks */
         "ff 09 00 1c"                         /* 7 x ("0" type, count) */
         "30 38 00 01 30 45 00 01 30 43 00 00 30 41 00 02 30 42 00 08 30 44 00 4d 30 46 00 0f",
         0);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_str_eq(rec.ev[0].op, "ud_block_list");
    ck_assert_uint_eq(u(0, "block_counts.OB"), 1);
    ck_assert_uint_eq(u(0, "block_counts.FB"), 1);
    ck_assert_uint_eq(u(0, "block_counts.FC"), 0);
    ck_assert_uint_eq(u(0, "block_counts.DB"), 2);
    ck_assert_uint_eq(u(0, "block_counts.SDB"), 8);
    ck_assert_uint_eq(u(0, "block_counts.SFC"), 77);
    ck_assert_uint_eq(u(0, "block_counts.SFB"), 15);
}
END_TEST

/* step7_s300_stop.pcapng frames 3-4: the CPU pushes a diagnostic message (event
 * 0x4304, STOP by PG) and a mode transition to STOP (group 0, sub-function = mode). */
START_TEST(userdata_push_stop)
{
    feed("03 00 00 31 02 f0 80 32 07 00 00 00 00 00 08 00 18"
         "00 01 12 04 11 04 03 00" /* push (type 0), CPU functions, diagnostic message */
         "ff 09 00 14 43 04 ff 84 00 00 00 00 00 00 00 00 94 01 09 21 53 42 15 21",
         0);
    feed("03 00 00 19 02 f0 80 32 07 00 00 00 00 00 08 00 00"
         "01 00 10 10 00 00 00 00", /* mode-transition head 010010, group 0, mode 0 STOP */
         0);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_int_eq(rec.ev[0].dir, EV_DIR_INDICATION);
    ck_assert_str_eq(rec.ev[0].op, "ud_diagnostic_message");
    ck_assert_uint_eq(u(0, "diag_event_id"), 0x4304);
    ck_assert_str_eq(rec.ev[1].op, "ud_mode_transition");
    ck_assert_uint_eq(u(1, "group"), 0);
    str_is(1, "mode_name", "stop");
}
END_TEST

/* S7comm-plus: S7-1200-Uploading-OB1-TIAV12.pcap frames 11, 14 (V2 responses) and
 * icsnpp s7comm_plus.pcap frame 7 (V3 request with a 32-byte integrity digest). */
START_TEST(s7commplus)
{
    feed("03 00 00 1f 02 f0 80"
         "72 02 00 10"                /* S7comm-plus, V2, 16 data bytes */
         "32 00 00 05 42 00 00 00 02" /* response, SetMultiVariables, seq 2 */
         "34 00 00 00 00 00 00"
         "72 02 00 00", /* trailer */
         0);
    feed(
        "0300004302f08072020034310000058600000003000003c034000000322004019a7b000004e889690012000000"
        "00896a001300896b0004000000010000000072020000",
        1); /* frame 13: GetVarSubStreamed request, seq 3 */
    feed("0300002202f080720200133200000586000000033400000008010000000072020000", 0);
    feed("0300006802f0807203005920e969a95a852ab0e288480ccecb618e48779f4b68a1ce9a9c42cd6aa5368006"
         "8331000004f20000831a70000e4d7470000e5101881d000700ce000004e88969001200000000896a00"
         "1300896b000400000084eb270000000072030000",
         1);
    ck_assert_int_eq(rec.n, 4);
    ck_assert_str_eq(rec.ev[0].proto, "s7commplus");
    ck_assert_int_eq(rec.ev[0].code, 0x0542);
    ck_assert_str_eq(rec.ev[0].op, "set_variable");
    ck_assert_int_eq(rec.ev[0].dir, EV_DIR_RESPONSE);
    ck_assert_uint_eq(u(0, "version"), 2);
    ck_assert_uint_eq(u(0, "opcode"), 0x32);
    ck_assert_uint_eq(u(0, "seq"), 2);
    ck_assert(event_find(&rec.ev[0], "request_function") == NULL); /* request not seen */
    ck_assert_int_eq(rec.ev[1].code, 0x0586);
    ck_assert_int_eq(rec.ev[1].dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(u(1, "session_id"), 0x3c0);
    ck_assert_int_eq(rec.ev[2].code, 0x0586);
    ck_assert_str_eq(rec.ev[2].op, "read_variables");
    ck_assert_uint_eq(u(2, "seq"), 3);
    ck_assert_uint_eq(u(2, "request_function"), 0x0586); /* matched by sequence number */
    /* V3: opcode after the digest (the oracle's fixed offsets read 0x20 there) */
    ck_assert_int_eq(rec.ev[3].code, 0x04f2);
    ck_assert_str_eq(rec.ev[3].op, "set_variable");
    ck_assert_int_eq(rec.ev[3].dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(u(3, "version"), 3);
    ck_assert_uint_eq(u(3, "opcode"), 0x31);
    has(3, "\"integrity\":true");
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(rec.ev[i].nanom, 0);
}
END_TEST

/* A V3 notification (icsnpp s7comm_plus.pcap frame 2): code null */
START_TEST(s7commplus_notification)
{
    feed("0300007102f080720300622008c83ace381dfdbc42201789dec03b099172858efb6f3ef2e5e8ecb8bd2546"
         "653370000e51040000000000c98ec148019200000005000e41aa70aa9200000019000e417e538e9200"
         "00001a000e41467956920000001b000e4193eb85000000000072030000",
         0);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(!rec.ev[0].has_code);
    ck_assert_str_eq(rec.ev[0].op, "notification");
    ck_assert_uint_eq(u(0, "opcode"), 0x33);
    ck_assert_int_eq(rec.ev[0].dir, EV_DIR_INDICATION);
}
END_TEST

START_TEST(tpkt_split_across_calls)
{
    static uint8_t b[64];
    size_t n = hex_to_bytes(SETUP_ACK, b, sizeof(b));
    for (size_t cut = 1; cut < n; cut++) {
        recorder_init(&rec);
        ck_assert_uint_eq(feed_bytes(b, cut, 0, 1), 0); /* incomplete: nothing consumed */
        ck_assert_int_eq(rec.n, 0);
        ck_assert_uint_eq(feed_bytes(b, n, 0, 2), n); /* the engine re-offers all bytes */
        ck_assert_int_eq(rec.n, 1);
        ck_assert_int_eq(rec.ev[0].code, 0xf0);
    }
}
END_TEST

START_TEST(two_tpkts_in_one_call)
{
    ck_assert_uint_eq(feed(COTP_CR SETUP_JOB, 1), 22 + 25);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_str_eq(rec.ev[0].op, "cotp_cr");
    ck_assert_int_eq(rec.ev[1].code, 0xf0);
    /* a complete TPKT and half of the next: only the first is consumed */
    recorder_init(&rec);
    ck_assert_uint_eq(feed(SETUP_JOB "03 00 00 1b 02 f0 80 32", 1), 25);
    ck_assert_int_eq(rec.n, 1);
}
END_TEST

/* One S7 Job (write var above) cut into three COTP DT segments, EOT only on the last. */
START_TEST(cotp_segmentation)
{
    /* 8 + 9 + 15 bytes of the 32-byte S7 PDU of snap7.pcap frame 49 */
    ck_assert_uint_eq(feed("03 00 00 0f 02 f0 00 32 01 00 00 18 00 00 0e", 1), 15);
    ck_assert_uint_eq(feed("03 00 00 10 02 f0 01 00 08 05 01 12 0a 10 08 00", 1), 16);
    ck_assert_int_eq(rec.n, 0);
    ck_assert_uint_eq(feed("03 00 00 16 02 f0 82 01 00 00 83 00 00 80 00 07 00 04 79 e9 f6 42", 1),
                      22);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 5);
    has(0, "\"value\":\"79e9f642\"");
    ck_assert_int_eq(rec.ev[0].nanom, 0);
}
END_TEST

START_TEST(cotp_reassembly_cap)
{
    static uint8_t b[8 + 4000];
    memset(b, 0x41, sizeof(b));
    b[0] = 3, b[1] = 0, b[2] = sizeof(b) >> 8, b[3] = sizeof(b) & 0xff;
    b[4] = 2, b[5] = 0xf0, b[6] = 0x00; /* DT, EOT clear */
    b[7] = 0x32;
    int overflow = 0;
    for (int i = 0; i < 20; i++) /* 80 000 bytes > 64 KiB */
        feed_bytes(b, sizeof(b), 1, 1);
    for (int i = 0; i < rec.n; i++)
        overflow += event_has_anomaly(&rec.ev[i], "s7comm.reassembly_overflow");
    ck_assert_int_eq(overflow, 1); /* reported once per TSDU */
    b[6] = 0x80;                   /* the end of the oversized TSDU: dropped */
    feed_bytes(b, sizeof(b), 1, 1);
    int n = rec.n;
    feed(SETUP_JOB, 1); /* and the stream goes on */
    ck_assert_int_eq(rec.n, n + 1);
    ck_assert_int_eq(rec.ev[n].code, 0xf0);
}
END_TEST

START_TEST(resync_after_garbage)
{
    ck_assert_uint_eq(feed("de ad be ef 03 01" SETUP_JOB, 1), 6 + 25);
    ck_assert_int_eq(rec.n, 2);
    ck_assert(event_has_anomaly(&rec.ev[0], "s7comm.bad_tpkt"));
    ck_assert(!rec.ev[0].has_code);
    ck_assert_int_eq(rec.ev[1].code, 0xf0);
}
END_TEST

START_TEST(not_s7_payload)
{
    /* an ISO session (MMS) payload in a DT is not S7 */
    feed("03 00 00 0b 02 f0 80 0d 02 01 00", 1);
    ck_assert_int_eq(rec.n, 1);
    ck_assert(event_has_anomaly(&rec.ev[0], "s7comm.unknown_payload"));
    ck_assert(!rec.ev[0].has_code);
}
END_TEST

static enum probe_result probe_hex(const char *hex)
{
    static uint8_t b[512];
    size_t n = hex_to_bytes(hex, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    return s7comm_dissector.probe(&c, 1);
}

START_TEST(probe)
{
    ck_assert_int_eq(probe_hex(""), PROBE_NEED_MORE);
    ck_assert_int_eq(probe_hex("03 00"), PROBE_NEED_MORE);
    ck_assert_int_eq(probe_hex(COTP_CR), PROBE_NEED_MORE); /* MMS also starts so */
    ck_assert_int_eq(probe_hex(COTP_CR "03 00 00 19 02 f0 80"), PROBE_NEED_MORE);
    ck_assert_int_eq(probe_hex(COTP_CR SETUP_JOB), PROBE_YES);
    ck_assert_int_eq(probe_hex(SETUP_JOB), PROBE_YES);
    ck_assert_int_eq(probe_hex("03 00 00 07 02 f0 00" SETUP_JOB), PROBE_YES);
    ck_assert_int_eq(probe_hex("03 00 00 1f 02 f0 80 72 02 00 10"), PROBE_YES);
    ck_assert_int_eq(probe_hex(COTP_CR "03 00 00 0b 02 f0 80 0d 02 01 00"), PROBE_NO);
    ck_assert_int_eq(probe_hex("47 45 54 20 2f 20"), PROBE_NO); /* HTTP */
    ck_assert_int_eq(probe_hex("03 00 00 03"), PROBE_NO);       /* TPKT too short */
}
END_TEST

/* Every prefix of every sample, as a stream cut short and as a TPKT whose length
 * was patched to the cut (a truncated S7 PDU inside a complete TPKT): no crash,
 * no code on a PDU whose function byte is missing. Run under ASan+UBSan in CI. */
static const char *const samples[] = {
    COTP_CR,
    SETUP_ACK,
    "03 00 00 27 02 f0 80 32 01 00 00 18 00 00 0e 00 08 05 01 12 0a 10 08 00 01 00 00 83 00 00 "
    "80 00 07 00 04 79 e9 f6 42",
    "03 00 00 2b 02 f0 80 32 01 00 00 0f 00 00 1a 00 00 28 00 00 00 00 00 00 fd 00 0a 01 00 30 "
    "41 30 30 30 30 31 50 05 5f 49 4e 53 45",
    "03 00 00 31 02 f0 80 32 01 00 00 0e 00 00 20 00 00 1a 00 01 00 00 00 00 00 09 5f 30 41 30 "
    "30 30 30 31 50 0d 31 30 30 30 35 30 30 30 30 30 34 30 30",
    "0300002302f0803203000008000010000000001d000100000000070730303030323136",
    "0300003102f080320700000300000800180001120411040300ff0900144304ff8400000000000000009401092153"
    "421521",
    "03 00 00 27 02 f0 80 32 07 00 00 17 00 00 08 00 0e 00 01 12 04 11 47 02 00 ff 09 00 0a 00 "
    "19 16 02 08 23 08 10 00 02",
    "0300001d02f0803203000019000002000800000401ff07000400000000",
    "0300002202f080720200133200000586000000033400000008010000000072020000",
};

START_TEST(truncation_at_every_length)
{
    static uint8_t b[512], t[512];
    for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
        size_t n = hex_to_bytes(samples[s], b, sizeof(b));
        for (size_t cut = 0; cut < n; cut++) {
            teardown();
            setup();
            ck_assert_uint_eq(feed_bytes(b, cut, 1, 1), 0);
            ck_assert_int_eq(rec.n, 0);
            if (cut < 7) continue;
            memcpy(t, b, cut);
            t[2] = (uint8_t)(cut >> 8), t[3] = (uint8_t)cut;
            ck_assert_uint_eq(feed_bytes(t, cut, 1, 1), cut);
            for (int i = 0; i < rec.n; i++) {
                ck_assert(strstr(rec.json[i], "json overflow") == NULL);
                /* a Job/Ack_Data cut before its function byte has no code */
                if (rec.ev[i].has_code && strcmp(rec.ev[i].proto, "s7comm") == 0)
                    ck_assert_uint_gt(cut, 7 + 10);
            }
        }
    }
}
END_TEST

START_TEST(gap_resets_reassembly)
{
    feed("03 00 00 0f 02 f0 00 32 01 00 00 18 00 00 0e", 1); /* first segment only */
    s7comm_dissector.gap(st, 1);
    /* mid-TPKT bytes after the gap are skipped quietly */
    struct cursor c;
    static uint8_t b[64];
    size_t n = hex_to_bytes("00 83 00 00 80" SETUP_JOB, b, sizeof(b));
    c = cursor_make(b, n);
    struct pdu_info info = {.to_server = 1, .transport = DISS_TCP, .after_gap = 1};
    ck_assert_uint_eq(s7comm_dissector.parse(st, &c, &info, &rec.sink), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 0xf0);
    ck_assert_int_eq(rec.ev[0].nanom, 0);
}
END_TEST

/* After a gap, "03 00" inside data must not be taken for a TPKT that would make the
 * dissector wait for 64 KiB: while resynchronising the COTP header must fit too. */
START_TEST(gap_false_tpkt)
{
    static uint8_t b[64];
    size_t n = hex_to_bytes("03 00 ff ff 41 41 42 43" SETUP_JOB, b, sizeof(b));
    struct cursor c = cursor_make(b, n);
    struct pdu_info info = {.to_server = 1, .transport = DISS_TCP, .after_gap = 1};
    ck_assert_uint_eq(s7comm_dissector.parse(st, &c, &info, &rec.sink), n);
    ck_assert_int_eq(rec.n, 1);
    ck_assert_int_eq(rec.ev[0].code, 0xf0);
}
END_TEST

START_TEST(registry_row)
{
    ck_assert_int_eq(s7comm_dissector.id, DISS_S7COMM);
    ck_assert_str_eq(s7comm_dissector.name, "s7comm");
    ck_assert_uint_eq(s7comm_dissector.ports[0], 102);
    ck_assert(s7comm_dissector.transports & DISS_TCP);
    /* every anomaly raised above is declared */
    const char *raised[] = {"s7comm.bad_tpkt", "s7comm.unknown_payload",
                            "s7comm.reassembly_overflow"};
    for (size_t i = 0; i < 3; i++) {
        int found = 0;
        for (size_t j = 0; s7comm_dissector.anomalies[j]; j++)
            found |= strcmp(s7comm_dissector.anomalies[j], raised[i]) == 0;
        ck_assert_msg(found, "%s not declared", raised[i]);
    }
}
END_TEST

/* ---- download_suspected: S7comm-plus V2 requests built per Wireshark's s7comm_plus
 * layout: TPKT, COTP DT (EOT), 72 02 | data length | opcode 31 | 0000 | function |
 * 0000 | seq | session id | ..., the last fragment followed by the trailer 72 02 0000 ---- */

static struct diss_params params;

/* One TSDU with an S7comm-plus fragment of `len` data bytes; a request header when
 * func is not 0 (a first fragment), a trailer when last. */
static void s7p_frag(uint16_t func, uint16_t seq, uint16_t len, int last)
{
    static uint8_t b[4200];
    size_t tot = 4 + 3 + 4 + len + (last ? 4 : 0), n = 0;
    ck_assert_uint_le(tot, sizeof(b));
    b[n++] = 3; /* TPKT */
    b[n++] = 0;
    b[n++] = (uint8_t)(tot >> 8);
    b[n++] = (uint8_t)tot;
    b[n++] = 2; /* COTP DT, EOT */
    b[n++] = 0xf0;
    b[n++] = 0x80;
    b[n++] = 0x72; /* S7comm-plus V2 */
    b[n++] = 0x02;
    b[n++] = (uint8_t)(len >> 8);
    b[n++] = (uint8_t)len;
    size_t body = n;
    memset(b + n, 0xa5, len); /* object attributes: opaque here */
    if (func) {
        ck_assert_uint_ge(len, 14);
        uint8_t h[14] = {0x31,          0, 0, (uint8_t)(func >> 8),
                         (uint8_t)func, 0, 0, (uint8_t)(seq >> 8),
                         (uint8_t)seq,  0, 0, 0x03,
                         0xc0,          0};
        memcpy(b + n, h, sizeof(h)); /* request, function, seq, session 0x3c0 */
    }
    n = body + len;
    if (last) {
        b[n++] = 0x72;
        b[n++] = 0x02;
        b[n++] = 0;
        b[n++] = 0;
    }
    ck_assert_uint_eq(feed_bytes(b, n, 1, 1000), n);
}

static void s7p_req(uint16_t func, uint16_t seq, uint16_t len)
{
    s7p_frag(func, seq, len, 1);
}

static int downloads(int *at)
{
    int k = 0;
    for (int i = 0; i < rec.n; i++)
        if (!strcmp(rec.ev[i].op, "download_suspected")) {
            k++;
            if (at) *at = i;
        }
    return k;
}

START_TEST(s7p_download_suspected)
{
    int at = -1;
    s7p_req(0x04ca, 1, 200);     /* the session's own CreateObject: outside any sequence */
    s7p_req(0x0556, 2, 30);      /* BeginSequence */
    s7p_req(0x04d4, 3, 30);      /* DeleteObject */
    s7p_frag(0x04ca, 4, 800, 0); /* CreateObject of 1600 bytes in two fragments */
    s7p_frag(0, 0, 800, 1);
    s7p_req(0x04ca, 5, 100); /* a small one */
    ck_assert_int_eq(downloads(NULL), 0);
    s7p_req(0x0560, 6, 30); /* EndSequence */
    ck_assert_int_eq(downloads(&at), 1);
    ck_assert_int_eq(at, rec.n - 1);
    ck_assert_str_eq(rec.ev[at - 1].op, "end_sequence");
    ck_assert_str_eq(rec.ev[at].proto, "s7commplus");
    ck_assert(!rec.ev[at].has_code);
    ck_assert_int_eq(rec.ev[at].dir, EV_DIR_REQUEST);
    ck_assert_uint_eq(u(at, "create_objects"), 1);
    ck_assert_uint_eq(u(at, "largest"), 1600);
    /* the first-fragment events: one per PDU */
    int creates = 0;
    for (int i = 0; i < rec.n; i++)
        creates += rec.ev[i].has_code && rec.ev[i].code == 0x04ca;
    ck_assert_int_eq(creates, 3);
    /* a second EndSequence closes nothing */
    s7p_req(0x0560, 7, 30);
    ck_assert_int_eq(downloads(NULL), 1);
}
END_TEST

START_TEST(s7p_download_negatives)
{
    /* a sequence with small CreateObjects only */
    s7p_req(0x0556, 1, 30);
    s7p_req(0x04ca, 2, 1000);
    s7p_req(0x04f2, 3, 600);
    s7p_req(0x0560, 4, 30);
    ck_assert_int_eq(downloads(NULL), 0);
    /* a large CreateObject outside a sequence, then an EndSequence */
    s7p_req(0x04ca, 5, 2000);
    s7p_req(0x0560, 6, 30);
    ck_assert_int_eq(downloads(NULL), 0);
    /* a sequence that does not end raises nothing yet */
    s7p_req(0x0556, 7, 30);
    s7p_req(0x04ca, 8, 3000);
    ck_assert_int_eq(downloads(NULL), 0);
    /* s7commplus.download_min_bytes = 4000: 3000 bytes are not large */
    diss_params_defaults(&params);
    params.s7p_download_min_bytes = 4000;
    rec.sink.params = &params;
    s7p_req(0x0556, 9, 30);
    s7p_req(0x04ca, 10, 3000);
    s7p_req(0x0560, 11, 30);
    ck_assert_int_eq(downloads(NULL), 0);
    /* 1024 (the default) and exactly that size: counted */
    params.s7p_download_min_bytes = 1024;
    s7p_req(0x0556, 12, 30);
    s7p_req(0x04ca, 13, 1023);
    s7p_req(0x0560, 14, 30);
    ck_assert_int_eq(downloads(NULL), 0);
    s7p_req(0x0556, 15, 30);
    s7p_req(0x04ca, 16, 1024);
    s7p_req(0x0560, 17, 30);
    ck_assert_int_eq(downloads(NULL), 1);
}
END_TEST

/* The corpus' S7comm-plus sessions. ICS-Security-Tools S7-1200-Uploading-OB1-TIAV12.pcap
 * holds one download: BeginSequence requests in frames 121 and 124, a CreateObject in
 * three TSDUs (frames 127-129, TCP payloads 1019 + 1020 + 231 bytes: minus 3 x 7 bytes
 * TPKT/COTP, 3 x 4 bytes fragment headers and the 4-byte trailer, 2233 data bytes)
 * from the TIA station 192.168.1.10 to the PLC, carrying block "Main" ("Main Program
 * Sweep (Cycle)", OB1), then an EndSequence request in frame 130 (tshark: frame
 * numbers, times and lengths; strings(1) on the payload). OB1 is written to the PLC:
 * Siemens calls that a download, the file name says uploading. The other captures
 * (HMI polling, session setup) open no sequence. */
static int s7p_dl;
static uint64_t s7p_dl_largest, s7p_dl_creates;
static void dl_cb(void *ctx, struct event *e)
{
    (void)ctx;
    if (strcmp(e->op, "download_suspected") != 0) return;
    s7p_dl++;
    s7p_dl_largest = event_find(e, "largest")->v.u;
    s7p_dl_creates = event_find(e, "create_objects")->v.u;
}

static void play_s7p(const char *name)
{
    static struct event_sink sink;
    event_sink_init(&sink, dl_cb, NULL);
    s7p_dl = 0;
    ck_assert_int_gt(pcap_feed_file(test_data_path(name), &s7comm_dissector, &sink, 102, 0), 0);
}

START_TEST(s7p_download_captures)
{
    play_s7p("corpus/ICS-Security-Tools/s7/S7-1200-Uploading-OB1-TIAV12.pcap");
    ck_assert_int_eq(s7p_dl, 1);
    ck_assert_uint_eq(s7p_dl_creates, 1);
    ck_assert_uint_eq(s7p_dl_largest, 2233);
    play_s7p("s7comm_plus.pcap");
    ck_assert_int_eq(s7p_dl, 0);
    play_s7p("corpus/nDPI/s7comm-plus.pcap");
    ck_assert_int_eq(s7p_dl, 0);
}
END_TEST

static Suite *s7comm_suite(void)
{
    Suite *s = suite_create("s7comm");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cotp_connect);
    tcase_add_test(tc, cotp_disconnect);
    tcase_add_test(tc, setup_communication);
    tcase_add_test(tc, read_var);
    tcase_add_test(tc, read_var_errors);
    tcase_add_test(tc, write_var);
    tcase_add_test(tc, block_download);
    tcase_add_test(tc, block_upload);
    tcase_add_test(tc, pi_service);
    tcase_add_test(tc, plc_stop);
    tcase_add_test(tc, szl_module_identification);
    tcase_add_test(tc, szl_component_identification_fragmented);
    tcase_add_test(tc, userdata_set_clock);
    tcase_add_test(tc, userdata_push_stop);
    tcase_add_test(tc, access_denied);
    tcase_add_test(tc, userdata_list_blocks);
    tcase_add_test(tc, s7commplus);
    tcase_add_test(tc, s7commplus_notification);
    tcase_add_test(tc, s7p_download_suspected);
    tcase_add_test(tc, s7p_download_negatives);
    tcase_add_test(tc, s7p_download_captures);
    tcase_add_test(tc, tpkt_split_across_calls);
    tcase_add_test(tc, two_tpkts_in_one_call);
    tcase_add_test(tc, cotp_segmentation);
    tcase_add_test(tc, cotp_reassembly_cap);
    tcase_add_test(tc, resync_after_garbage);
    tcase_add_test(tc, not_s7_payload);
    tcase_add_test(tc, probe);
    tcase_add_test(tc, truncation_at_every_length);
    tcase_add_test(tc, gap_resets_reassembly);
    tcase_add_test(tc, gap_false_tpkt);
    tcase_add_test(tc, registry_row);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(s7comm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
