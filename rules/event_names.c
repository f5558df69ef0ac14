/* event_names.c - the names `event:` and `app-layer-event:` may use: every anomaly a
 * dissector (its registry row's list) or the decoder raises, and every event of the
 * engine and of the correlation stage. A rule naming anything else could never match,
 * so the loader rejects it (as Suricata rejects an unknown app-layer event). */
#include <string.h>

#include "correlate.h"
#include "decode.h"
#include "dissector.h"
#include "rule_int.h"

/* Events the workers raise themselves (sensor/worker.c, sensor/yara_scan.c);
 * tests/integration/rule_names_check.py checks each is emitted in sensor/. */
static const char *const engine_events[] = {
    "flow.new",   "flow.end", "stream.overlap_changed", "protocol.nonstandard_port",
    "yara.match", NULL};

/* Derived events the dissectors raise from per-flow state (docs/events.md): rules match
 * them with op: like any protocol event, and `event:` may name them too. */
static const char *const derived_events[] = {"dnp3.operate_without_select",
                                             "dnp3.critical_without_sa",
                                             "dnp3.unsolicited_unexpected",
                                             "iec104.ioa_sweep",
                                             "mqtt.state_spoof",
                                             "s7commplus.download_suspected",
                                             NULL};

/* Suricata event names otsensor accepts but never raises (docs/rules.md, Suricata
 * compatibility): a rule written for Suricata loads, and does not match. */
static const char *const suricata_only[] = {"dnp3.flooded", NULL};

static int in_list(const char *const *l, const char *name)
{
    for (; l && *l; l++)
        if (!strcmp(*l, name)) return 1;
    return 0;
}

int rules_anomaly_known(const char *name)
{
    for (size_t i = 0; dissector_registry[i]; i++)
        if (in_list(dissector_registry[i]->anomalies, name)) return 1;
    for (int a = 1; a < DEC_ANOMALY_COUNT; a++) {
        const char *n = decode_anomaly_name(a);
        if (n && !strcmp(n, name)) return 1;
    }
    return !strcmp(name, "stream.overlap_changed");
}

int rules_event_known(const char *name, int anomaly_only)
{
    if (rules_anomaly_known(name) || in_list(suricata_only, name)) return 1;
    if (anomaly_only) return 0;
    return in_list(engine_events, name) || in_list(corr_event_names, name) ||
           in_list(derived_events, name);
}
