/* fuzz_siem.c - libFuzzer harness: the SIEM connector's JSON reader and formatters.
 *
 * Input: bytes taken as a stream entry's "alert" value. Whatever parses is formatted as
 * CEF, RFC 5424 (MSG JSON and CEF) and a JSON line; what does not is formatted as a
 * bad_alert record of each format. Every record must be one line of valid UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "siem_format.h"
#include "sjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const struct sbuf *b)
{
    const unsigned char *u = (const unsigned char *)b->buf;
    for (size_t i = 0; i < b->len;) {
        unsigned c = u[i];
        if (c == '\n' || c == '\r' || c == 0) abort();
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t l = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (!l || c > 0xf4 || i + l > b->len) abort();
        for (size_t k = 1; k < l; k++)
            if ((u[i + k] & 0xc0) != 0x80) abort();
        i += l;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sjson_tok tok[4096];
    struct sjson d;
    struct sbuf b;
    const char *raw = (const char *)data;
    struct siem_fmt_opts o = {16, SIEM_MSG_JSON, "otsensor"};
    sbuf_init(&b);
    if (sjson_parse(&d, raw, size, tok, 4096, NULL, 0) == 0) {
        siem_format_cef(&b, &d, "1-0");
        check_line(&b);
        sbuf_reset(&b);
        siem_format_syslog(&b, &d, raw, size, "1-0", &o);
        check_line(&b);
        sbuf_reset(&b);
        o.msg = SIEM_MSG_CEF;
        siem_format_syslog(&b, &d, raw, size, "1-0", &o);
        check_line(&b);
        sbuf_reset(&b);
        siem_format_json(&b, raw, size);
        check_line(&b);
    } else {
        for (int f = SIEM_FMT_JSON; f <= SIEM_FMT_SYSLOG; f++) {
            sbuf_reset(&b);
            siem_format_bad(&b, (enum siem_format)f, &o, raw, size, "1-0", "fuzz");
            check_line(&b);
        }
    }
    sbuf_free(&b);
    return 0;
}
