/* diss_params.h - settings of the detectors that live in dissectors (per-flow state
 * machines such as DNP3 select-before-operate or the IEC-104 IOA sweep), from the
 * configuration file (sensor/config.c) to the worker's event sink. */
#ifndef OTS_DISS_PARAMS_H
#define OTS_DISS_PARAMS_H

#include <stdint.h>

struct event_sink;

struct diss_params {
    /* DNP3 (dissectors/dnp3.c) */
    uint32_t dnp3_select_timeout_ms; /* an OPERATE needs its SELECT this recent */
    int dnp3_require_sa;             /* every association must use SAv5 */
    uint32_t dnp3_learning;          /* seconds of a flow before unknown outstations count */
    /* IEC 60870-5-104 (dissectors/iec104.c); sweep_ioas 0: off */
    uint32_t iec104_sweep_ioas, iec104_sweep_window_ms;
    /* S7comm-plus (dissectors/s7comm.c): a CreateObject this large inside a sequence */
    uint32_t s7p_download_min_bytes;
};

void diss_params_defaults(struct diss_params *p);
/* The sink's settings, or the defaults when it has none (unit tests, fuzzers). */
const struct diss_params *diss_params_of(const struct event_sink *s);

#endif
