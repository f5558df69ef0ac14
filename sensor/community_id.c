/* community_id.c - Community ID v1 (corelight community-id-spec). */
#include "community_id.h"

#include <string.h>

#include "sha1.h"

/* ICMP types with a reverse type, so both directions hash alike (spec table). */
static int icmp_counterpart(uint8_t proto, uint8_t type, uint8_t *other)
{
    static const uint8_t v4[][2] = {{8, 0},   {0, 8},  {13, 14}, {14, 13}, {15, 16},
                                    {16, 15}, {10, 9}, {9, 10},  {17, 18}, {18, 17}};
    static const uint8_t v6[][2] = {{128, 129}, {129, 128}, {133, 134}, {134, 133}, {135, 136},
                                    {136, 135}, {130, 131}, {131, 130}, {144, 145}, {145, 144}};
    const uint8_t(*t)[2] = proto == 1 ? v4 : v6;
    size_t n = proto == 1 ? sizeof(v4) / sizeof(v4[0]) : sizeof(v6) / sizeof(v6[0]);
    for (size_t i = 0; i < n; i++)
        if (t[i][0] == type) {
            *other = t[i][1];
            return 1;
        }
    return 0;
}

void community_id_v1(const struct ev_addr *src, const struct ev_addr *dst, uint16_t sport,
                     uint16_t dport, uint8_t proto, uint16_t seed, char out[32])
{
    int v4 = ev_addr_is_v4(src) && ev_addr_is_v4(dst);
    size_t alen = v4 ? 4 : 16;
    const uint8_t *a = v4 ? src->b + 12 : src->b, *b = v4 ? dst->b + 12 : dst->b;
    int one_way = 0;
    if (proto == 1 || proto == 58) {
        uint8_t type = (uint8_t)sport, code = (uint8_t)dport, other;
        if (icmp_counterpart(proto, type, &other)) {
            dport = other;
        } else {
            one_way = 1;
            dport = code;
        }
        sport = type;
    }
    int cmp = memcmp(a, b, alen);
    if (!one_way && (cmp > 0 || (cmp == 0 && sport > dport))) {
        const uint8_t *t = a;
        a = b;
        b = t;
        uint16_t tp = sport;
        sport = dport;
        dport = tp;
    }
    uint8_t buf[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    buf[n++] = (uint8_t)(seed >> 8);
    buf[n++] = (uint8_t)seed;
    memcpy(buf + n, a, alen);
    n += alen;
    memcpy(buf + n, b, alen);
    n += alen;
    buf[n++] = proto;
    buf[n++] = 0;
    int ports = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
    if (ports) {
        buf[n++] = (uint8_t)(sport >> 8);
        buf[n++] = (uint8_t)sport;
        buf[n++] = (uint8_t)(dport >> 8);
        buf[n++] = (uint8_t)dport;
    }
    uint8_t d[20];
    sha1(buf, n, d);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = out;
    *o++ = '1';
    *o++ = ':';
    for (int i = 0; i < 20; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < 20 ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < 20 ? d[i + 2] : 0);
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < 20 ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < 20 ? b64[v & 63] : '=';
    }
    *o = '\0';
}
