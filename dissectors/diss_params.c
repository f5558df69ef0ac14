/* diss_params.c - defaults of the dissectors' detector settings. */
#include "diss_params.h"

#include "event.h"

/* deploy/otsensor.conf documents each (keys dnp3.*, iec104.*, s7commplus.*) */
static const struct diss_params diss_defaults = {
    .dnp3_select_timeout_ms = 10000,
    .dnp3_require_sa = 0,
    .dnp3_learning = 3600,
    .iec104_sweep_ioas = 10,
    .iec104_sweep_window_ms = 60000,
    .s7p_download_min_bytes = 1024,
};

void diss_params_defaults(struct diss_params *p)
{
    *p = diss_defaults;
}

const struct diss_params *diss_params_of(const struct event_sink *s)
{
    return s && s->params ? s->params : &diss_defaults;
}
