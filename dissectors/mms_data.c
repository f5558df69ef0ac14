/* mms_data.c - see mms_data.h. */
#include "mms_data.h"

void mms_data_value(struct event *e, const struct ber_tlv *t)
{
    int b;
    int64_t i;
    uint64_t u;
    const uint8_t *p;
    size_t n;
    unsigned unused;
    if (t->cls == BER_CONTEXT) {
        switch (t->tag) {
        case 3: /* boolean */
            if (ber_bool(t, &b)) {
                ev_bool(e, NULL, b);
                return;
            }
            break;
        case 5: /* integer */
            if (ber_int(t, &i)) {
                ev_int(e, NULL, i);
                return;
            }
            break;
        case 6: /* unsigned */
            if (ber_uint(t, &u)) {
                ev_uint(e, NULL, u);
                return;
            }
            break;
        case 4: /* bit-string */
            if (ber_bitstring(t, &unused, &p, &n)) {
                ev_hex(e, NULL, p, n);
                return;
            }
            break;
        case 9: /* octet-string: a constructed one would show its inner TLVs as data */
            if (!t->constructed && ber_octets(t, &p, &n)) {
                ev_hex(e, NULL, p, n);
                return;
            }
            break;
        case 10: /* visible-string */
        case 16: /* mMSString */
            if (!t->constructed && ber_octets(t, &p, &n)) {
                ev_str(e, NULL, p, n);
                return;
            }
            break;
        default: break;
        }
    }
    ev_null(e, NULL);
}
