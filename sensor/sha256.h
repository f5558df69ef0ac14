/* sha256.h - SHA-256 (FIPS 180-4), for the digest of scanned objects. */
#ifndef OTS_SHA256_H
#define OTS_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);
/* Lowercase hex of the digest, NUL-terminated (65 bytes). */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
