/* zones_query.c - read access to a rule set's zones and conduits, for the correlation stage. */
#include "rule_int.h"

int ruleset_zone_count(const struct ruleset *rs)
{
    return rs ? rs->nzones : 0;
}

int ruleset_zone_of(const struct ruleset *rs, const struct ev_addr *a, const char **name)
{
    int z = rs ? zone_of(rs, a) : -1;
    if (name) *name = z >= 0 ? rs->zones[z].name : NULL;
    return z;
}

int ruleset_conduit(const struct ruleset *rs, int za, int zb, const char **name,
                    const char **protocols, const char **ops)
{
    const struct conduit *c = rs ? conduit_between(rs, za, zb) : NULL;
    if (name) *name = c ? c->name : NULL;
    if (protocols) *protocols = c ? c->protocols : NULL;
    if (ops) *ops = c ? c->ops : NULL;
    return c != NULL;
}
