/* sha1.h - SHA-1 (FIPS 180-4), for Community ID only; not for security. */
#ifndef OTS_SHA1_H
#define OTS_SHA1_H

#include <stddef.h>
#include <stdint.h>

void sha1(const void *data, size_t len, uint8_t out[20]);

#endif
