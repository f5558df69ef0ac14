/* test_siem_format.c - CEF and RFC 5424 output of the SIEM connector
 * (sensor/siem/siem_format.c). Each record is taken apart again by an independent
 * reader written here from the specs (ArcSight CEF rev 25, RFC 5424 section 6), so a
 * hostile string is shown to come back as itself rather than just "looking escaped". */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siem_format.h"
#include "sjson.h"

static struct sjson_tok tok[1024];
static struct sjson d;
static struct sbuf b;

static void setup(void)
{
    sbuf_init(&b);
}

static void teardown(void)
{
    sbuf_free(&b);
}

/* 1 if s[0..n) is valid UTF-8 without control characters (what a one-line record is). */
static int clean_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c < 0x20 || c == 0x7f) return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t l = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (!l || c > 0xf4 || i + l > n) return 0;
        for (size_t k = 1; k < l; k++)
            if ((u[i + k] & 0xc0) != 0x80) return 0;
        i += l;
    }
    return 1;
}

/* ---- an independent CEF reader ---- */
struct cef {
    char hdr[7][512];
    char key[64][64];
    char val[64][2048];
    int nkv;
};

static int cef_read(const char *line, struct cef *c)
{
    memset(c, 0, sizeof(*c));
    if (strncmp(line, "CEF:", 4) != 0) return -1;
    const char *p = line + 4;
    for (int f = 0; f < 7; f++) {
        size_t o = 0;
        for (;; p++) {
            if (!*p) return -1;
            if (*p == '\\') {
                if (p[1] != '\\' && p[1] != '|') return -1; /* only these two in a header */
                c->hdr[f][o++] = p[1];
                p++;
                continue;
            }
            if (*p == '|') break;
            c->hdr[f][o++] = *p;
        }
        p++;
    }
    /* extension: key=value pairs separated by spaces; a value ends where the next
     * " key=" starts (an unescaped '='); '=' inside a value must be escaped */
    while (*p) {
        const char *eq = strchr(p, '=');
        if (!eq || eq == p || c->nkv == 64) return -1;
        memcpy(c->key[c->nkv], p, (size_t)(eq - p));
        for (const char *k = p; k < eq; k++)
            if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9')))
                return -1;
        const char *v = eq + 1, *end = v;
        /* find the next unescaped '=' and back up to the space before its key */
        const char *next_eq = NULL;
        for (const char *q = v; *q; q++) {
            if (*q == '\\' && q[1]) {
                q++;
                continue;
            }
            if (*q == '=') {
                next_eq = q;
                break;
            }
        }
        if (next_eq) {
            const char *sp = next_eq;
            while (sp > v && *sp != ' ')
                sp--;
            if (*sp != ' ') return -1;
            end = sp;
        } else {
            end = v + strlen(v);
        }
        size_t o = 0;
        for (const char *q = v; q < end; q++) {
            if (*q == '\\') {
                q++;
                if (q >= end) return -1;
                char r = *q == 'n' ? '\n' : *q == 'r' ? '\r' : *q;
                if (*q != 'n' && *q != 'r' && *q != '\\' && *q != '=') return -1;
                c->val[c->nkv][o++] = r;
                continue;
            }
            c->val[c->nkv][o++] = *q;
        }
        c->nkv++;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static const char *cef_get(const struct cef *c, const char *key)
{
    for (int i = 0; i < c->nkv; i++)
        if (!strcmp(c->key[i], key)) return c->val[i];
    return NULL;
}

/* ---- an independent RFC 5424 reader (HEADER SP STRUCTURED-DATA SP MSG) ---- */
struct s5424 {
    int pri;
    char ts[64], host[300], app[64], procid[200], msgid[64], sdid[64];
    char pname[32][40], pval[32][2048];
    int np;
    const char *msg;
};

static int token(const char **p, char *out, size_t max)
{
    size_t o = 0;
    while (**p && **p != ' ') {
        unsigned char c = (unsigned char)**p;
        if (c < 33 || c > 126 || o + 1 >= max) return -1;
        out[o++] = (char)c;
        (*p)++;
    }
    out[o] = '\0';
    if (**p != ' ' || !o) return -1;
    (*p)++;
    return 0;
}

static int s5424_read(const char *line, struct s5424 *m)
{
    memset(m, 0, sizeof(*m));
    const char *p = line;
    if (*p++ != '<') return -1;
    while (*p >= '0' && *p <= '9')
        m->pri = m->pri * 10 + (*p++ - '0');
    if (*p++ != '>' || m->pri > 191) return -1;
    if (*p++ != '1' || *p++ != ' ') return -1;
    if (token(&p, m->ts, sizeof(m->ts)) || token(&p, m->host, 256) || token(&p, m->app, 49) ||
        token(&p, m->procid, 129) || token(&p, m->msgid, 33))
        return -1;
    if (*p == '-') {
        p++;
    } else {
        if (*p++ != '[') return -1;
        size_t o = 0;
        while (*p && *p != ' ' && *p != ']' && *p != '=' && *p != '"')
            m->sdid[o++] = *p++;
        while (*p == ' ') {
            p++;
            o = 0;
            while (*p && *p != '=') {
                unsigned char c = (unsigned char)*p;
                if (c < 33 || c > 126 || c == ' ' || c == ']' || c == '"' || o >= 32) return -1;
                m->pname[m->np][o++] = *p++;
            }
            if (*p++ != '=' || *p++ != '"') return -1;
            o = 0;
            for (;; p++) {
                if (!*p) return -1;
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == ']')) {
                    m->pval[m->np][o++] = p[1];
                    p++;
                    continue;
                }
                if (*p == '"') break;
                if (*p == ']') return -1; /* RFC 5424: ']' MUST be escaped */
                m->pval[m->np][o++] = *p;
            }
            p++;
            m->np++;
        }
        if (*p++ != ']') return -1;
    }
    if (*p == ' ')
        m->msg = p + 1;
    else if (*p)
        return -1;
    return 0;
}

static const char *sd_get(const struct s5424 *m, const char *name)
{
    for (int i = 0; i < m->np; i++)
        if (!strcmp(m->pname[i], name)) return m->pval[i];
    return NULL;
}

/* what a hostile string must come back as: invalid bytes -> U+FFFD, control -> ' ' */
static const char *HOSTILE_RAW = "a|b=c\\d\"e]f[g\ntab\tcr\r\x01z \xff\xc3(end";
static const char *HOSTILE_JSON = "a|b=c\\\\d\\\"e]f[g\\ntab\\tcr\\r\\u0001z \\u00ff\\u00c3(end";

START_TEST(escapers_roundtrip)
{
    /* header: '|' and '\' escaped; controls become spaces; bad bytes U+FFFD */
    siem_esc_cef_header(&b, HOSTILE_RAW, strlen(HOSTILE_RAW));
    ck_assert(clean_utf8(b.buf, b.len));
    ck_assert_str_eq(b.buf, "a\\|b=c\\\\d\"e]f[g tab cr  z \xef\xbf\xbd\xef\xbf\xbd(end");
    sbuf_reset(&b);
    /* extension: '=' and '\' escaped, newlines as \n \r */
    siem_esc_cef_ext(&b, HOSTILE_RAW, strlen(HOSTILE_RAW));
    ck_assert(clean_utf8(b.buf, b.len));
    ck_assert_str_eq(b.buf, "a|b\\=c\\\\d\"e]f[g\\ntab cr\\r z \xef\xbf\xbd\xef\xbf\xbd(end");
    sbuf_reset(&b);
    /* SD-PARAM value: '"', '\' and ']' escaped */
    siem_esc_sd_value(&b, HOSTILE_RAW, strlen(HOSTILE_RAW));
    ck_assert(clean_utf8(b.buf, b.len));
    ck_assert_str_eq(b.buf, "a|b=c\\\\d\\\"e\\]f[g tab cr  z \xef\xbf\xbd\xef\xbf\xbd(end");
    sbuf_reset(&b);
    /* header tokens: PRINTUSASCII only, capped, NILVALUE when empty */
    siem_header_token(&b, "pl ant\xc3\xa9-1", 10, 255);
    ck_assert_str_eq(b.buf, "pl_ant__-1");
    sbuf_reset(&b);
    siem_header_token(&b, "", 0, 255);
    ck_assert_str_eq(b.buf, "-");
    sbuf_reset(&b);
    siem_header_token(&b, "abcdef", 6, 4);
    ck_assert_str_eq(b.buf, "abcd");
    sbuf_reset(&b);
    /* valid multi-byte UTF-8 passes untouched */
    siem_esc_cef_ext(&b, "\xe2\x82\xac\xf0\x9f\x98\x80", 7);
    ck_assert_str_eq(b.buf, "\xe2\x82\xac\xf0\x9f\x98\x80");
}
END_TEST

START_TEST(severity_and_time)
{
    ck_assert_int_eq(siem_cef_severity(0), 0);
    ck_assert_int_eq(siem_cef_severity(1), 3);
    ck_assert_int_eq(siem_cef_severity(2), 5);
    ck_assert_int_eq(siem_cef_severity(3), 8);
    ck_assert_int_eq(siem_cef_severity(4), 10);
    ck_assert_int_eq(siem_cef_severity(99), 10);
    ck_assert_int_eq(siem_cef_severity(-5), 0);
    ck_assert_int_eq(siem_syslog_severity(4), 2); /* crit */
    ck_assert_int_eq(siem_syslog_severity(0), 6); /* info */
    int64_t ms;
    /* 2016-03-30T02:23:20Z = 1459304600 (date -u -d @1459304600) */
    ck_assert_int_eq(siem_ts_ms("2016-03-30T02:23:20.294973Z", &ms), 0);
    ck_assert(ms == INT64_C(1459304600294));
    ck_assert_int_eq(siem_ts_ms("2016-03-30T02:23:20Z", &ms), 0);
    ck_assert(ms == INT64_C(1459304600000));
    ck_assert_int_eq(siem_ts_ms("2016-03-30T02:23:20.5Z", &ms), 0);
    ck_assert(ms == INT64_C(1459304600500));
    ck_assert_int_eq(siem_ts_ms("2016-03-30T02:23:20.1234567Z", &ms), -1);
    ck_assert_int_eq(siem_ts_ms("2016-03-30 02:23:20Z", &ms), -1);
    ck_assert_int_eq(siem_ts_ms("2016-03-30T02:23:20+01:00", &ms), -1);
    ck_assert_int_eq(siem_ts_ms("2016-13-30T02:23:20Z", &ms), -1);
    ck_assert_int_eq(siem_ts_ms("2016-03-30T02:23:20Z ", &ms), -1);
    ck_assert_int_eq(siem_ts_ms("", &ms), -1);
}
END_TEST

/* An alert whose strings carry the hostile string: an MQTT topic, an OPC UA URI. */
static char alert[8192];
static void make_alert(void)
{
    snprintf(alert, sizeof(alert),
             "{\"@timestamp\":\"2016-03-30T02:23:20.294973Z\","
             "\"event\":{\"kind\":\"alert\",\"severity\":3},"
             "\"rule\":{\"id\":\"9|1=2\",\"name\":\"%s\",\"category\":\"c\"},"
             "\"source\":{\"ip\":\"10.0.0.1\",\"port\":40000,\"mac\":\"00:11:22:33:44:55\"},"
             "\"destination\":{\"ip\":\"fe80::1\",\"port\":1883},"
             "\"network\":{\"transport\":\"tcp\",\"protocol\":\"mqtt\"},"
             "\"observer\":{\"name\":\"plant 1\\n\",\"type\":\"sensor\"},"
             "\"iec62443\":{\"fr\":[\"FR2\",\"FR7\"],\"sr\":[\"SR 2.1\"],"
             "\"zone\":{\"src\":\"it\",\"dst\":null},\"conduit\":\"%s\"},"
             "\"iso27032\":{\"threat\":[\"TC.HCK.CMD\"]},"
             "\"ot\":{\"mqtt\":{\"topic\":\"%s\"},\"event\":\"mqtt.publish\",\"code\":3},"
             "\"otsensor\":{\"count\":2,\"sensor\":\"s\",\"flow_id\":42},"
             "\"message\":\"%s\"}",
             HOSTILE_JSON, HOSTILE_JSON, HOSTILE_JSON, HOSTILE_JSON);
    ck_assert_int_eq(sjson_parse(&d, alert, strlen(alert), tok, 1024, NULL, 0), 0);
}

/* the hostile string as it must come back from any record */
static const char *HOSTILE_BACK_CEF = "a|b=c\\d\"e]f[g\ntab cr\r z \xc3\xbf\xc3\x83(end";
static const char *HOSTILE_BACK_SD = "a|b=c\\d\"e]f[g tab cr  z \xc3\xbf\xc3\x83(end";

START_TEST(cef_record)
{
    make_alert();
    siem_format_cef(&b, &d, "1795813710048-0");
    ck_assert(clean_utf8(b.buf, b.len));
    struct cef c;
    ck_assert_msg(cef_read(b.buf, &c) == 0, "not CEF: %s", b.buf);
    ck_assert_str_eq(c.hdr[0], "0");
    ck_assert_str_eq(c.hdr[1], "otsensor");
    ck_assert_str_eq(c.hdr[4], "9|1=2"); /* '|' escaped in the header, '=' not */
    /* the name in the header: newlines cannot be escaped there, they become spaces */
    ck_assert_str_eq(c.hdr[5], "a|b=c\\d\"e]f[g tab cr  z \xc3\xbf\xc3\x83(end");
    ck_assert_str_eq(c.hdr[6], "8"); /* severity 3 high -> 8 */
    ck_assert_str_eq(cef_get(&c, "msg"), HOSTILE_BACK_CEF);
    ck_assert_str_eq(cef_get(&c, "cs6"), HOSTILE_BACK_CEF);
    ck_assert_str_eq(cef_get(&c, "cs6Label"), "iec62443.conduit");
    ck_assert_str_eq(cef_get(&c, "src"), "10.0.0.1");
    ck_assert_ptr_null(cef_get(&c, "dst"));
    ck_assert_str_eq(cef_get(&c, "c6a3"), "fe80::1"); /* IPv6 goes to c6a3 */
    ck_assert_str_eq(cef_get(&c, "spt"), "40000");
    ck_assert_str_eq(cef_get(&c, "dpt"), "1883");
    ck_assert_str_eq(cef_get(&c, "smac"), "00:11:22:33:44:55");
    ck_assert_str_eq(cef_get(&c, "proto"), "TCP");
    ck_assert_str_eq(cef_get(&c, "app"), "mqtt");
    ck_assert_str_eq(cef_get(&c, "act"), "alert");
    ck_assert_str_eq(cef_get(&c, "rt"), "1459304600294");
    ck_assert_str_eq(cef_get(&c, "cs1"), "FR2,FR7");
    ck_assert_str_eq(cef_get(&c, "cs2"), "SR 2.1");
    ck_assert_str_eq(cef_get(&c, "cs3"), "it>-");
    ck_assert_str_eq(cef_get(&c, "cs4"), "TC.HCK.CMD");
    ck_assert_str_eq(cef_get(&c, "cs5"), "mqtt.publish");
    ck_assert_str_eq(cef_get(&c, "cnt"), "2");
    ck_assert_str_eq(cef_get(&c, "cn1"), "42");
    ck_assert_str_eq(cef_get(&c, "cn2"), "3");
    ck_assert_str_eq(cef_get(&c, "dvchost"), "plant 1\n");
    ck_assert_str_eq(cef_get(&c, "externalId"), "1795813710048-0");
}
END_TEST

START_TEST(syslog_record)
{
    make_alert();
    struct siem_fmt_opts o = {16, SIEM_MSG_JSON, "otsensor"};
    siem_format_syslog(&b, &d, alert, strlen(alert), "1-0", &o);
    ck_assert(clean_utf8(b.buf, b.len));
    struct s5424 m;
    ck_assert_msg(s5424_read(b.buf, &m) == 0, "not RFC 5424: %s", b.buf);
    ck_assert_int_eq(m.pri, 16 * 8 + 3); /* local0, severity 3 high -> err */
    ck_assert_str_eq(m.ts, "2016-03-30T02:23:20.294973Z");
    ck_assert_str_eq(m.host, "plant_1_"); /* space and newline are not PRINTUSASCII */
    ck_assert_str_eq(m.app, "otsensor");
    ck_assert_str_eq(m.sdid, "otsensor@32473");
    ck_assert_str_eq(sd_get(&m, "rule_name"), HOSTILE_BACK_SD);
    ck_assert_str_eq(sd_get(&m, "conduit"), HOSTILE_BACK_SD);
    ck_assert_str_eq(sd_get(&m, "rule_id"), "9|1=2");
    ck_assert_str_eq(sd_get(&m, "severity"), "3");
    ck_assert_str_eq(sd_get(&m, "dst"), "fe80::1");
    ck_assert_str_eq(sd_get(&m, "fr"), "FR2,FR7");
    ck_assert_str_eq(sd_get(&m, "stream_id"), "1-0");
    ck_assert_ptr_null(sd_get(&m, "zone_dst")); /* null fields are left out */
    /* MSG is the alert itself, still valid JSON with the same content */
    ck_assert_ptr_nonnull(m.msg);
    ck_assert_str_eq(m.msg, alert);

    /* MSG as CEF */
    sbuf_reset(&b);
    o.msg = SIEM_MSG_CEF;
    o.facility = 4;
    siem_format_syslog(&b, &d, alert, strlen(alert), "1-0", &o);
    ck_assert(s5424_read(b.buf, &m) == 0);
    ck_assert_int_eq(m.pri, 4 * 8 + 3);
    struct cef c;
    ck_assert(cef_read(m.msg, &c) == 0);
    ck_assert_str_eq(cef_get(&c, "msg"), HOSTILE_BACK_CEF);
}
END_TEST

START_TEST(missing_fields)
{
    /* a minimal, odd alert: wrong types and missing fields are left out, never fatal */
    const char *a = "{\"rule\":{\"id\":7},\"event\":{\"severity\":\"high\"},\"@timestamp\":\"now\","
                    "\"source\":{\"ip\":[]},\"iec62443\":{\"fr\":\"FR1\"}}";
    ck_assert_int_eq(sjson_parse(&d, a, strlen(a), tok, 1024, NULL, 0), 0);
    siem_format_cef(&b, &d, NULL);
    struct cef c;
    ck_assert_msg(cef_read(b.buf, &c) == 0, "%s", b.buf);
    ck_assert_str_eq(c.hdr[4], "7");
    ck_assert_str_eq(c.hdr[5], "alert");
    ck_assert_str_eq(c.hdr[6], "5"); /* severity not a number: medium */
    ck_assert_ptr_null(cef_get(&c, "rt"));
    ck_assert_ptr_null(cef_get(&c, "src"));
    ck_assert_str_eq(cef_get(&c, "cs1"), "FR1");
    sbuf_reset(&b);
    struct siem_fmt_opts o = {16, SIEM_MSG_JSON, "otsensor"};
    siem_format_syslog(&b, &d, a, strlen(a), NULL, &o);
    struct s5424 m;
    ck_assert_msg(s5424_read(b.buf, &m) == 0, "%s", b.buf);
    ck_assert_str_eq(m.ts, "-"); /* not RFC 3339 as we write it: NILVALUE */
    ck_assert_str_eq(m.host, "-");
    ck_assert_int_eq(m.pri, 16 * 8 + 4); /* medium -> warning */
}
END_TEST

START_TEST(bad_entries)
{
    /* raw bytes that are not JSON, with everything hostile in them */
    const char *raw = "{\"x\":\"\xff\"\n|=]\"\\";
    size_t n = strlen(raw);
    struct siem_fmt_opts o = {16, SIEM_MSG_JSON, "otsensor"};
    siem_format_bad(&b, SIEM_FMT_JSON, &o, raw, n, "5-0", "invalid UTF-8 at byte 6");
    ck_assert(clean_utf8(b.buf, b.len));
    ck_assert_int_eq(sjson_parse(&d, b.buf, b.len, tok, 1024, NULL, 0), 0);
    char s[256];
    sjson_str(&d, sjson_path(&d, "raw"), s, sizeof(s));
    ck_assert_str_eq(s, "{\"x\":\"\xef\xbf\xbd\"\n|=]\"\\");
    sjson_str(&d, sjson_path(&d, "otsensor.stream_id"), s, sizeof(s));
    ck_assert_str_eq(s, "5-0");
    sbuf_reset(&b);
    siem_format_bad(&b, SIEM_FMT_CEF, &o, raw, n, "5-0", "why");
    struct cef c;
    ck_assert(clean_utf8(b.buf, b.len));
    ck_assert_msg(cef_read(b.buf, &c) == 0, "%s", b.buf);
    ck_assert_str_eq(c.hdr[4], "otsensor.siem.bad_alert");
    ck_assert_str_eq(cef_get(&c, "rawEvent"), "{\"x\":\"\xef\xbf\xbd\"\n|=]\"\\");
    sbuf_reset(&b);
    siem_format_bad(&b, SIEM_FMT_SYSLOG, &o, raw, n, "5-0", "why ]\"");
    struct s5424 m;
    ck_assert(clean_utf8(b.buf, b.len));
    ck_assert_msg(s5424_read(b.buf, &m) == 0, "%s", b.buf);
    ck_assert_str_eq(sd_get(&m, "error"), "why ]\"");
    ck_assert_int_eq(sjson_parse(&d, m.msg, strlen(m.msg), tok, 1024, NULL, 0), 0);
}
END_TEST

START_TEST(json_line)
{
    const char *a = "{\"a\":\n1,\r\n\"b\":\"x\"}";
    siem_format_json(&b, a, strlen(a));
    ck_assert_str_eq(b.buf, "{\"a\": 1,  \"b\":\"x\"}");
    ck_assert_int_eq(sjson_parse(&d, b.buf, b.len, tok, 1024, NULL, 0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("siem_format");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, escapers_roundtrip);
    tcase_add_test(tc, severity_and_time);
    tcase_add_test(tc, cef_record);
    tcase_add_test(tc, syslog_record);
    tcase_add_test(tc, missing_fields);
    tcase_add_test(tc, bad_entries);
    tcase_add_test(tc, json_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
