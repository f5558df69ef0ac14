/* tcp_opts.c - the TCP options the engine reads (see tcp_opts.h). Only SYNs are read. */
#include "tcp_opts.h"

#include "cursor.h"

int tcp_wscale(const uint8_t *pkt, uint32_t caplen, const struct decoded *d)
{
    /* the options lie between the fixed 20 bytes of the header and the payload */
    if (d->payload_off < d->l4_off + 20 || d->payload_off > caplen) return -1;
    struct cursor all = cursor_make(pkt, caplen);
    if (!cursor_skip(&all, d->l4_off + 20)) return -1;
    struct cursor c = cursor_sub(&all, d->payload_off - d->l4_off - 20);
    while (cursor_left(&c)) {
        uint8_t kind = cursor_u8(&c);
        if (kind == 0) break;    /* end of options */
        if (kind == 1) continue; /* no-operation */
        uint8_t len = cursor_u8(&c);
        if (len < 2 || !cursor_has(&c, (size_t)len - 2)) return -1;
        if (kind == 3 && len == 3) {
            uint8_t shift = cursor_u8(&c);
            return shift > 14 ? 14 : shift;
        }
        cursor_skip(&c, (size_t)len - 2);
    }
    return -1;
}
