/* ftp_names.c - the process-wide table of announced FTP transfers (see ftp_names.h). */
#include "ftp_names.h"

#include <stdatomic.h>
#include <string.h>

struct ftpn_slot {
    atomic_uchar lock; /* zero (static storage) is a valid, open lock */
    uint8_t used, claimed;
    struct ftpn_entry e;
};

static struct ftpn_slot slots[FTPN_SLOTS];
/* packet time of the last publication (0: never): where no FTP runs, a new flow's
 * question costs one load of a line nobody writes */
static _Atomic uint64_t last_publish_us;

static unsigned slot_of(const struct ev_addr *a, uint16_t port)
{
    uint32_t h = 2166136261u; /* FNV-1a over address and port */
    for (int i = 0; i < 16; i++)
        h = (h ^ a->b[i]) * 16777619u;
    h = (h ^ (port & 0xff)) * 16777619u;
    h = (h ^ (port >> 8)) * 16777619u;
    return h % FTPN_SLOTS;
}

static void lock(struct ftpn_slot *s)
{
    while (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire))
        ; /* held for a copy of ~150 bytes */
}

static void unlock(struct ftpn_slot *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

void ftpn_publish(const struct ftpn_entry *e)
{
    struct ftpn_slot *s = &slots[slot_of(&e->addr, e->port)];
    lock(s);
    s->e = *e;
    s->used = 1;
    s->claimed = 0;
    unlock(s);
    uint64_t t = e->ts_us ? e->ts_us : 1;
    if (atomic_load_explicit(&last_publish_us, memory_order_relaxed) < t)
        atomic_store_explicit(&last_publish_us, t, memory_order_relaxed);
}

int ftpn_claim(const struct ev_addr *addr, uint16_t port, const struct ev_addr *sender,
               uint64_t now_us, struct ftpn_entry *out)
{
    struct ftpn_slot *s = &slots[slot_of(addr, port)];
    int found = 0;
    lock(s);
    if (s->used && !s->claimed && s->e.port == port && !memcmp(&s->e.addr, addr, sizeof(*addr)) &&
        !memcmp(&s->e.sender, sender, sizeof(*sender)) && s->e.ts_us <= now_us &&
        now_us - s->e.ts_us <= FTPN_MAX_AGE) {
        *out = s->e;
        s->claimed = 1;
        found = 1;
    }
    unlock(s);
    return found;
}

int ftpn_announced(const struct ev_addr *addr, uint16_t port, uint64_t now_us)
{
    uint64_t last = atomic_load_explicit(&last_publish_us, memory_order_relaxed);
    if (!last || now_us > last + FTPN_MAX_AGE) return 0;
    struct ftpn_slot *s = &slots[slot_of(addr, port)];
    lock(s);
    int found = s->used && !s->claimed && s->e.port == port &&
                !memcmp(&s->e.addr, addr, sizeof(*addr)) && s->e.ts_us <= now_us &&
                now_us - s->e.ts_us <= FTPN_MAX_AGE;
    unlock(s);
    return found;
}

void ftpn_reset(void)
{
    atomic_store_explicit(&last_publish_us, 0, memory_order_relaxed);
    for (unsigned i = 0; i < FTPN_SLOTS; i++) {
        lock(&slots[i]);
        slots[i].used = slots[i].claimed = 0;
        unlock(&slots[i]);
    }
}
