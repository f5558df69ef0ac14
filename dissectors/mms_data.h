/* mms_data.h - one value of the MMS Data CHOICE (ISO 9506-2) as an event value: MMS
 * read/write/report data and GOOSE allData (IEC 61850-8-1 carries MMS Data) share it. */
#ifndef OTS_MMS_DATA_H
#define OTS_MMS_DATA_H

#include "../sensor/event.h"
#include "ber.h"

/* Appends t as a keyless value (the caller has an array open): booleans, integers and
 * unsigned as numbers, bit and octet strings as hex, visible and MMS strings as text;
 * anything else, or a malformed or constructed scalar, as null. */
void mms_data_value(struct event *e, const struct ber_tlv *t);

#endif
