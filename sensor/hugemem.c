/* hugemem.c - see hugemem.h. */
#include "hugemem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *huge_alloc(size_t size, int zero)
{
    if (size < HUGE_PAGE) return zero ? calloc(1, size) : malloc(size);
    size_t rounded = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, rounded);
    if (!p) return NULL;
#ifdef MADV_HUGEPAGE
    /* advice only: where THP is off (or "never") this fails and 4 KiB pages serve */
    (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    if (zero) memset(p, 0, rounded);
    return p;
}
