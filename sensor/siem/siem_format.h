/* siem_format.h - an alert (DESIGN §3 JSON) as ArcSight CEF, RFC 5424 syslog or a JSON line.
 *
 * Everything here is a pure function from bytes to bytes, so the escaping can be tested
 * with hostile strings: whatever the alert holds (invalid UTF-8, control characters,
 * quotes, '|', '=', ']'), the result is valid UTF-8, one line, and parses as one CEF
 * record / one RFC 5424 message. Field mapping: docs/siem.md. */
#ifndef OTS_SIEM_FORMAT_H
#define OTS_SIEM_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "sjson.h"

/* A growing byte buffer; an allocation failure is sticky (oom) and checked once. */
struct sbuf {
    char *buf;
    size_t len, cap;
    int oom;
};

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_put(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_putc(struct sbuf *b, char c);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Escapers. All replace invalid UTF-8 with U+FFFD. */
/* CEF header field: '\' -> "\\", '|' -> "\|", control characters -> ' '. */
void siem_esc_cef_header(struct sbuf *b, const char *s, size_t n);
/* CEF extension value: '\' -> "\\", '=' -> "\=", LF -> "\n", CR -> "\r", other control
 * characters -> ' '. */
void siem_esc_cef_ext(struct sbuf *b, const char *s, size_t n);
/* RFC 5424 PARAM-VALUE: '"', '\' and ']' get a backslash; control characters -> ' '. */
void siem_esc_sd_value(struct sbuf *b, const char *s, size_t n);
/* RFC 5424 header token (HOSTNAME, APP-NAME, MSGID): PRINTUSASCII only (others -> '_'),
 * at most maxlen bytes, "-" (NILVALUE) when empty. */
void siem_header_token(struct sbuf *b, const char *s, size_t n, size_t maxlen);

/* event.severity 0..4 -> CEF 0..10 (0, 3, 5, 8, 10); out of range is clamped. */
int siem_cef_severity(int64_t sev);
/* event.severity 0..4 -> syslog severity (6 info, 5 notice, 4 warning, 3 err, 2 crit). */
int siem_syslog_severity(int64_t sev);
/* "YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z" -> milliseconds since the epoch; 0, or -1 if not in
 * that form (the only one rules/alert_json.c writes). */
int siem_ts_ms(const char *s, int64_t *ms);

enum siem_syslog_msg { SIEM_MSG_JSON = 0, SIEM_MSG_CEF };

struct siem_fmt_opts {
    int facility;             /* 0..23, default 16 (local0) */
    enum siem_syslog_msg msg; /* what MSG holds */
    const char *app_name;     /* "otsensor" */
};

/* Formats one alert. raw/rawlen is the alert JSON as read from the stream, d its parse;
 * entry_id the stream entry id (written as externalId / stream_id). No trailing newline.
 * The alert's JSON is untrusted: missing or mistyped fields are left out. */
void siem_format_cef(struct sbuf *b, const struct sjson *d, const char *entry_id);
void siem_format_syslog(struct sbuf *b, const struct sjson *d, const char *raw, size_t rawlen,
                        const char *entry_id, const struct siem_fmt_opts *o);
/* The alert as is, on one line (the raw CR and LF a valid JSON text can hold only as
 * whitespace become spaces). */
void siem_format_json(struct sbuf *b, const char *raw, size_t rawlen);

/* An entry that is not a parsable alert (no "alert" field, bad JSON): a record of the
 * same format that says so and carries the raw bytes, escaped, so nothing vanishes. */
enum siem_format { SIEM_FMT_JSON = 0, SIEM_FMT_CEF, SIEM_FMT_SYSLOG };
void siem_format_bad(struct sbuf *b, enum siem_format f, const struct siem_fmt_opts *o,
                     const char *raw, size_t rawlen, const char *entry_id, const char *why);

#endif
