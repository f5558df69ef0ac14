/* fuzz_http.c - libFuzzer harness: the HTTP (or FTP data) object source fed as the
 * engine feeds it, in strict mode (waiting on max_pdu buffered bytes aborts), with
 * YARA on so bodies are gathered, scanned and their stream windows covered.
 *
 * Input: a mode byte (bit 0: FTP data, else HTTP; bits 1-7: yara.object_max =
 * 16 + 4 * value), then chunks [header, bytes]: header bit 7 the direction (1 = to
 * server), bits 0..6 the length (cut to what is left); 0x7F / 0xFF mean "bytes were
 * lost here". The flow ends with the dissector's end() for both directions. */
#include "fuzz_stream.h"
#include "yara_scan.h"

extern const struct dissector http_dissector;
extern const struct dissector ftp_data_dissector;

static struct yara_set *rules(void)
{
    static struct yara_set *ys;
    if (!ys) {
        char err[1024];
        if (yara_global_init() != 0) abort();
        ys = yara_set_load_text("fuzz.yar",
                                "rule Get { strings: $a = \"GET\" condition: $a }\n"
                                "rule Obj { condition: ot_object_type == \"http.body\" and "
                                "filesize > 8 }\n",
                                err, sizeof(err));
        if (!ys) abort();
    }
    return ys;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_stream s;
    if (size < 1) return 0;
    const struct dissector *d = (data[0] & 1) ? &ftp_data_dissector : &http_dissector;
    struct yara_limits lim = {256, 16u + 4u * (data[0] >> 1), 0, 0, 0, 16, 0, 256};
    struct yara_worker *yw = yara_worker_new(&lim);
    if (!yw || yara_worker_use(yw, rules(), NULL) != 0) abort();
    static int warm;
    if (!warm) { /* the shared buffers sized for HTTP (2 * max_pdu), once */
        if (fuzz_stream_init(&s, &http_dissector, 1) != 0) abort();
        fuzz_stream_free(&s);
        warm = 1;
    }
    if (fuzz_stream_init(&s, d, d->max_pdu != 0) != 0) abort();
    if (!d->max_pdu) s.cap = fuzz_bufs_cap; /* FTP data consumes all it is given */
    s.sink.yara = yw;
    struct yara_flow fs = {0};
    yara_worker_set_flow(yw, &fs);
    uint64_t ts = FUZZ_T0;
    size_t off = 1;
    while (off < size) {
        uint8_t h = data[off++];
        int to_server = h >> 7;
        size_t n = h & 0x7F;
        ts += 1000;
        if (n == 0x7F) {
            fuzz_stream_gap(&s, to_server);
            continue;
        }
        if (n > size - off) n = size - off;
        s.sink.net.to_server = (uint8_t)to_server;
        if (yara_stream_data(yw, &fs, to_server ? 0 : 1, data + off, (uint32_t)n))
            yara_stream_scan(yw, &fs, to_server ? 0 : 1, d->name, &s.sink, ts);
        fuzz_stream_append(&s, to_server, data + off, n);
        fuzz_stream_parse(&s, to_server, ts);
        off += n;
    }
    for (int k = 0; k < 2; k++) {
        s.sink.net.to_server = (uint8_t)k;
        d->end(s.st, k, &s.sink);
        if (s.sink.top != 0) abort();
    }
    yara_flow_end(yw, &fs, d->name, &s.sink, ts);
    fuzz_stream_free(&s);
    yara_worker_free(yw);
    return 0;
}
