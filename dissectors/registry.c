/* registry.c - the one table of dissectors (tcpdump print.c's printers[] pattern). */
#include <string.h>

#include "dissector.h"

extern const struct dissector modbus_dissector;
extern const struct dissector dnp3_dissector;
extern const struct dissector iec104_dissector;
extern const struct dissector s7comm_dissector;
extern const struct dissector enip_dissector;
extern const struct dissector bacnet_dissector;
extern const struct dissector mqtt_dissector;
extern const struct dissector goose_dissector;
extern const struct dissector sv_dissector;
extern const struct dissector mms_dissector;
extern const struct dissector opcua_dissector;
extern const struct dissector profinet_dcp_dissector;
extern const struct dissector hart_ip_dissector;
extern const struct dissector fins_dissector;
extern const struct dissector http_dissector;
extern const struct dissector ftp_data_dissector;
extern const struct dissector ftp_dissector;

/* One row per protocol; order is the probe order on non-standard ports. One row
 * per line (formatting off), so adding a protocol is a one-line change. */
// clang-format off
const struct dissector *const dissector_registry[] = {
    &modbus_dissector,
    &dnp3_dissector,
    &iec104_dissector,
    &s7comm_dissector,
    &enip_dissector,
    &bacnet_dissector,
    &mqtt_dissector,
    &goose_dissector,
    &sv_dissector,
    &mms_dissector,
    &opcua_dissector,
    &profinet_dcp_dissector,
    &hart_ip_dissector,
    &fins_dissector,
    &http_dissector,
    &ftp_data_dissector,
    &ftp_dissector,
    NULL,
};
// clang-format on

const struct dissector *dissector_by_id(unsigned id)
{
    for (size_t i = 0; dissector_registry[i]; i++)
        if (dissector_registry[i]->id == id) return dissector_registry[i];
    return NULL;
}

const struct dissector *dissector_by_name(const char *name)
{
    for (size_t i = 0; dissector_registry[i]; i++)
        if (strcmp(dissector_registry[i]->name, name) == 0) return dissector_registry[i];
    return NULL;
}
