/* test_ftp.c - FTP control connections name FTP data objects (ftp.c, ftp_names.c,
 * ftp_data.c): PASV/EPSV replies and PORT/EPRT commands announce the data
 * endpoint, STOR/RETR/LIST say what travels and which way; the data connection's
 * object is named once, by the connection that was announced, from the right
 * sender, not before the command. Lines follow RFC 959 / RFC 2428. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "ftp_names.h"
#include "testutil.h"
#include "yara_scan.h"

extern const struct dissector ftp_dissector;
extern const struct dissector ftp_data_dissector;

static struct recorder rec;
static char err[4096];
static struct yara_set *ys;
static struct yara_worker *yw;

static const struct ev_addr C = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1}};
static const struct ev_addr S = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2}};

static void setup(void)
{
    ck_assert_int_eq(yara_global_init(), 0);
    ys = yara_set_load_text("t.yar", "rule Marker { strings: $m = \"OTS-MARK\" condition: $m }\n",
                            err, sizeof(err));
    ck_assert_msg(ys != NULL, "%s", err);
    struct yara_limits lim = {0, 1 << 20, 0, 0, 0, 1024, 0, 0};
    yw = yara_worker_new(&lim);
    ck_assert_int_eq(yara_worker_use(yw, ys, NULL), 0);
    recorder_init(&rec);
    rec.sink.yara = yw;
    rec.sink.shared[DISS_FTP] = ftpn_new();
    ck_assert(rec.sink.shared[DISS_FTP] != NULL);
}

static void teardown(void)
{
    ftpn_free(rec.sink.shared[DISS_FTP]);
    rec.sink.shared[DISS_FTP] = NULL;
    yara_worker_free(yw);
    yara_set_free(ys);
    yara_global_fini();
}

/* The current PDU's net: from a:ap to b:bp at time ts (seconds). */
static void net(const struct ev_addr *a, uint16_t ap, const struct ev_addr *b, uint16_t bp,
                int to_server, uint64_t ts)
{
    struct ev_net *n = &rec.sink.net;
    n->ip_version = 4;
    n->src = *a;
    n->dst = *b;
    n->src_port = ap;
    n->dst_port = bp;
    n->to_server = (uint8_t)to_server;
    n->ts_us = ts * 1000000u;
}

/* Feeds text to a dissector; returns the bytes it consumed. */
static size_t feed(const struct dissector *d, void *st, const char *text, size_t len, int to_server)
{
    struct cursor c = cursor_make((const uint8_t *)text, len);
    struct pdu_info info = {to_server, DISS_TCP, 0, rec.sink.net.ts_us};
    return d->parse(st, &c, &info, &rec.sink);
}

/* One control line: the client's (to_server) or the server's. */
static void ctl(void *st, const char *line, int to_server, uint64_t ts)
{
    if (to_server)
        net(&C, 40001, &S, 21, 1, ts);
    else
        net(&S, 21, &C, 40001, 0, ts);
    char buf[600];
    int n = snprintf(buf, sizeof(buf), "%s\r\n", line);
    ck_assert_uint_eq(feed(&ftp_dissector, st, buf, (size_t)n, to_server), (size_t)n);
}

/* A data connection from a:ap (initiator) to b:bp; sends text from the initiator
 * (to_server 1) or the acceptor, at ts, then ends. Returns the JSON of its match. */
static const char *data_conn(const struct ev_addr *a, uint16_t ap, const struct ev_addr *b,
                             uint16_t bp, int to_server, const char *text, uint64_t ts)
{
    void *st = ftp_data_dissector.state_new();
    if (to_server)
        net(a, ap, b, bp, 1, ts);
    else
        net(b, bp, a, ap, 0, ts);
    int before = rec.n;
    feed(&ftp_data_dissector, st, text, strlen(text), to_server);
    ftp_data_dissector.end(st, to_server, &rec.sink);
    ftp_data_dissector.state_free(st);
    return rec.n > before ? rec.json[rec.n - 1] : NULL;
}

START_TEST(passive_stor_and_active_retr)
{
    void *st = ftp_dissector.state_new();
    ctl(st, "220 ready", 0, 100);
    ctl(st, "PASV", 1, 101);
    /* the address in the text is not the server's (NAT): the server's is used */
    ctl(st, "227 Entering Passive Mode (192,168,9,9,195,80).", 0, 101);
    ck_assert(
        !ftpn_announced(rec.sink.shared[DISS_FTP], &S, 50000, 102000000)); /* no command yet */
    ctl(st, "stor firmware/update.bin", 1, 102);
    ck_assert(ftpn_announced(rec.sink.shared[DISS_FTP], &S, 50000, 102000000));
    ck_assert(!ftpn_announced(rec.sink.shared[DISS_FTP], &S, 50000,
                              101000000)); /* not before the command */
    ck_assert(!ftpn_announced(rec.sink.shared[DISS_FTP], &S, 50001, 102000000));
    const char *j = data_conn(&C, 40002, &S, 50000, 1, "xx OTS-MARK xx", 103);
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(strstr(j, "\"name\":\"firmware/update.bin\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"command\":\"STOR\"") != NULL, "%s", j);
    /* claimed: another connection to the same port is not named after it */
    j = data_conn(&C, 40003, &S, 50000, 1, "OTS-MARK", 104);
    ck_assert_msg(strstr(j, "\"name\":\"ftp-data\"") != NULL, "%s", j);
    /* active: PORT, RETR; the server connects from 20 to the client and sends */
    ctl(st, "PORT 10,0,0,1,157,0", 1, 105);
    ctl(st, "200 PORT command successful", 0, 105);
    ctl(st, "RETR docs/readme.txt", 1, 106);
    j = data_conn(&S, 20, &C, 40192, 1, "OTS-MARK", 107);
    ck_assert_msg(strstr(j, "\"name\":\"docs/readme.txt\"") != NULL, "%s", j);
    ck_assert_msg(strstr(j, "\"command\":\"RETR\"") != NULL, "%s", j);
    ftp_dissector.state_free(st);
}
END_TEST

/* The bytes must come from the side the command said: a RETR's file comes from
 * the server, so bytes the client sends on that connection are not named. */
START_TEST(sender_and_time_must_fit)
{
    void *st = ftp_dissector.state_new();
    ctl(st, "EPSV", 1, 200);
    ctl(st, "229 Entering Extended Passive Mode (|||50001|)", 0, 200);
    ctl(st, "RETR a.bin", 1, 201);
    const char *j = data_conn(&C, 40010, &S, 50001, 1, "OTS-MARK", 202); /* client sends */
    ck_assert_msg(strstr(j, "\"name\":\"ftp-data\"") != NULL, "%s", j);
    j = data_conn(&C, 40011, &S, 50001, 0, "OTS-MARK", 202); /* the server sends */
    ck_assert_msg(strstr(j, "\"name\":\"a.bin\"") != NULL, "%s", j);
    /* a data connection before the command that would name it */
    ctl(st, "EPSV", 1, 300);
    ctl(st, "229 Entering Extended Passive Mode (|||50002|)", 0, 300);
    j = data_conn(&C, 40012, &S, 50002, 0, "OTS-MARK", 299);
    ctl(st, "RETR b.bin", 1, 301);
    ck_assert_msg(strstr(j, "\"name\":\"ftp-data\"") != NULL, "%s", j);
    /* too old: ten minutes later nothing is named */
    j = data_conn(&C, 40013, &S, 50002, 0, "OTS-MARK", 301 + 601);
    ck_assert_msg(strstr(j, "\"name\":\"ftp-data\"") != NULL, "%s", j);
    ftp_dissector.state_free(st);
}
END_TEST

/* The control side may be late (another worker): a name published after the
 * data's first bytes is still found when the connection ends. */
START_TEST(name_found_at_the_end)
{
    void *st = ftp_dissector.state_new();
    void *ds = ftp_data_dissector.state_new();
    ctl(st, "PORT 10,0,0,1,23,112", 1, 400); /* 6000 */
    /* the server connects from 20; the client (the acceptor) sends the file */
    net(&C, 6000, &S, 20, 0, 402);
    feed(&ftp_data_dissector, ds, "more OTS-MARK", 13, 0);
    net(&S, 20, &C, 6000, 1, 402);
    feed(&ftp_data_dissector, ds, "OTS-MARK", 8, 1);
    ctl(st, "STOR late.bin", 1, 401); /* seen by its worker only now */
    net(&S, 20, &C, 6000, 1, 403);
    ftp_data_dissector.end(ds, 1, &rec.sink);
    net(&C, 6000, &S, 20, 0, 403);
    ftp_data_dissector.end(ds, 0, &rec.sink);
    ck_assert_int_eq(rec.n, 2);
    ck_assert_msg(strstr(rec.json[0], "\"name\":\"ftp-data\"") != NULL, "%s", rec.json[0]);
    ck_assert_msg(strstr(rec.json[1], "\"name\":\"late.bin\"") != NULL, "%s", rec.json[1]);
    ck_assert_msg(strstr(rec.json[1], "\"direction\":\"to_client\"") != NULL, "%s", rec.json[1]);
    ftp_data_dissector.state_free(ds);
    ftp_dissector.state_free(st);
}
END_TEST

/* EPRT for IPv4 and IPv6, LIST without argument, lines split over deliveries,
 * an overlong line skipped up to its end, junk ignored. */
START_TEST(eprt_list_and_framing)
{
    void *st = ftp_dissector.state_new();
    ctl(st, "EPRT |1|10.0.0.1|6001|", 1, 500);
    ctl(st, "LIST", 1, 500);
    const char *j = data_conn(&S, 20, &C, 6001, 1, "OTS-MARK", 501);
    ck_assert_msg(strstr(j, "\"name\":\"LIST\",") != NULL, "%s", j);
    struct ev_addr v6 = {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
    ctl(st, "EPRT |2|fd00::1|6002|", 1, 502);
    ctl(st, "NLST pub", 1, 502);
    ck_assert(ftpn_announced(rec.sink.shared[DISS_FTP], &v6, 6002, 503000000));
    /* bad announcements: nothing */
    ctl(st, "PORT 10,0,0,1,300,1", 1, 504);
    ctl(st, "RETR x", 1, 504);
    ctl(st, "EPRT |3|x|1|", 1, 504);
    ctl(st, "RETR y", 1, 504);
    ctl(st, "EPRT |1|10.0.0.1|4294967297|", 1, 504); /* not port 1 */
    ctl(st, "RETR y2", 1, 504);
    ck_assert(!ftpn_announced(rec.sink.shared[DISS_FTP], &C, 1, 504000000));
    ctl(st, "229 Entering Extended Passive Mode (|||65537|)", 0, 504);
    ctl(st, "RETR y3", 1, 504);
    ck_assert(!ftpn_announced(rec.sink.shared[DISS_FTP], &S, 1, 504000000));
    ctl(st, "227 Entering Passive Mode (1,2,3)", 0, 504);
    ctl(st, "RETR z", 1, 504);
    /* a line in two deliveries: nothing consumed until its LF */
    net(&C, 40001, &S, 21, 1, 506);
    ck_assert_uint_eq(feed(&ftp_dissector, st, "PORT 10,0,0,1,23,11", 19, 1), 0);
    ck_assert_uint_eq(feed(&ftp_dissector, st, "PORT 10,0,0,1,23,115\r\nAPPE log.txt\r\n", 36, 1),
                      36);
    ck_assert(ftpn_announced(rec.sink.shared[DISS_FTP], &C, 6003, 506000000));
    /* 1500 bytes without LF are dropped; the rest of that line too, then lines resume */
    static char big[1600];
    memset(big, 'A', sizeof(big));
    ck_assert_uint_eq(feed(&ftp_dissector, st, big, 1500, 1), 1500);
    ck_assert_uint_eq(feed(&ftp_dissector, st, "PORT 10,0,0,1,23,116\r\nRETR q\r\n", 30, 1), 30);
    ck_assert(!ftpn_announced(rec.sink.shared[DISS_FTP], &C, 6004, 506000000));
    ctl(st, "PORT 10,0,0,1,23,117", 1, 507);
    ctl(st, "RETR r", 1, 507);
    ck_assert(ftpn_announced(rec.sink.shared[DISS_FTP], &C, 6005, 507000000));
    ftp_dissector.state_free(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ftp");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, passive_stor_and_active_retr);
    tcase_add_test(tc, sender_and_time_must_fit);
    tcase_add_test(tc, name_found_at_the_end);
    tcase_add_test(tc, eprt_list_and_framing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
