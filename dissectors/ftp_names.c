/* ftp_names.c - a worker's table of announced FTP transfers (see ftp_names.h). */
#include "ftp_names.h"

#include <stdlib.h>
#include <string.h>

#include "fnv.h"

struct ftpn_slot {
    uint8_t used, claimed;
    struct ftpn_entry e;
};

struct ftpn_table {
    /* packet time of the last publication (0: never): where no FTP runs, a new flow's
     * question costs one load */
    uint64_t last_publish_us;
    struct ftpn_slot slots[FTPN_SLOTS];
};

struct ftpn_table *ftpn_new(void)
{
    return calloc(1, sizeof(struct ftpn_table));
}

void ftpn_free(struct ftpn_table *t)
{
    free(t);
}

static struct ftpn_slot *slot_of(struct ftpn_table *t, const struct ev_addr *a, uint16_t port)
{
    uint8_t pb[2] = {(uint8_t)(port >> 8), (uint8_t)port};
    uint64_t h = fnv1a64(fnv1a64(FNV1A64_INIT, a->b, sizeof(a->b)), pb, sizeof(pb));
    return &t->slots[h % FTPN_SLOTS];
}

void ftpn_publish(struct ftpn_table *t, const struct ftpn_entry *e)
{
    if (!t) return;
    struct ftpn_slot *s = slot_of(t, &e->addr, e->port);
    s->e = *e;
    s->used = 1;
    s->claimed = 0;
    uint64_t ts = e->ts_us ? e->ts_us : 1;
    if (t->last_publish_us < ts) t->last_publish_us = ts;
}

static int waiting(const struct ftpn_slot *s, const struct ev_addr *addr, uint16_t port,
                   uint64_t now_us)
{
    return s->used && !s->claimed && s->e.port == port &&
           !memcmp(&s->e.addr, addr, sizeof(*addr)) && s->e.ts_us <= now_us &&
           now_us - s->e.ts_us <= FTPN_MAX_AGE;
}

int ftpn_claim(struct ftpn_table *t, const struct ev_addr *addr, uint16_t port,
               const struct ev_addr *sender, uint64_t now_us, struct ftpn_entry *out)
{
    if (!t) return 0;
    struct ftpn_slot *s = slot_of(t, addr, port);
    if (!waiting(s, addr, port, now_us) || memcmp(&s->e.sender, sender, sizeof(*sender))) return 0;
    *out = s->e;
    s->claimed = 1;
    return 1;
}

int ftpn_announced(const struct ftpn_table *t, const struct ev_addr *addr, uint16_t port,
                   uint64_t now_us)
{
    if (!t || !t->last_publish_us || now_us > t->last_publish_us + FTPN_MAX_AGE) return 0;
    return waiting(slot_of((struct ftpn_table *)t, addr, port), addr, port, now_us);
}
