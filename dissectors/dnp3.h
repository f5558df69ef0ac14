/* dnp3.h - what other modules need of the DNP3 dissector: the names of the internal
 * indication (IIN) bits, shared by the dnp3 events and the dnp3_ind rule keyword. */
#ifndef OTS_DNP3_H
#define OTS_DNP3_H

/* The name of IIN bit b of (IIN1 << 8 | IIN2), b < 16 (e.g. 15: "device_restart"). */
const char *dnp3_iin_name(unsigned b);

#endif
