/* fnv.h - FNV-1a, 64-bit: a cheap hash of short names and byte runs (GOOSE control
 * block references, Sparkplug topics, DNP3 object bytes ...), for equality checks and
 * small tables, never for anything an attacker must not collide. */
#ifndef OTS_FNV_H
#define OTS_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT 0xcbf29ce484222325ull

/* Continues hash h over n bytes at p (start with FNV1A64_INIT). */
static inline uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

#endif
