/* classify.h - nDPI glue: one detection module per worker, each flow classified
 * until nDPI decides or a packet limit, the result kept on the flow. */
#ifndef OTS_CLASSIFY_H
#define OTS_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

struct ndpi_detection_module_struct;

struct classifier {
    struct ndpi_detection_module_struct *ndpi;
    uint32_t max_packets;
    uint64_t flows_detected, flows_given_up;
};

int classify_init(struct classifier *c, uint32_t max_packets);
void classify_destroy(struct classifier *c);
/* Feeds one packet (IP header at l3) of flow f, if f is still being classified. */
void classify_packet(struct classifier *c, struct flow *f, const uint8_t *l3, uint32_t l3_len,
                     uint64_t ts_us);
/* Settles the result (gives up with a guess if undecided) and frees nDPI's state. */
void classify_finish(struct classifier *c, struct flow *f);
/* "Modbus", "TLS.Google", ...; buf holds at least 64 bytes. */
/* True when nDPI has named the flow's protocol and it is an encrypted one (TLS,
 * QUIC, SSH ...): its payload is ciphertext, not worth a YARA scan. */
int classify_is_encrypted(struct classifier *c, const struct flow *f);
const char *classify_name(struct classifier *c, const struct flow *f, char *buf, size_t len);
const char *classify_category(struct classifier *c, const struct flow *f);
const char *classify_confidence(const struct flow *f);

#endif
