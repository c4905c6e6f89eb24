/* cli/metrics_datapath.h — the datapath's metric families, read from the pinned maps at each scrape. */
#ifndef VPCBPF_METRICS_DATAPATH_H
#define VPCBPF_METRICS_DATAPATH_H

#include <stdbool.h>
#include "cli/metrics.h"

/* The datapath's families (cli/metrics_datapath.c); false when the datapath is not loaded there. */
bool metrics_write_datapath(struct metrics_out *o, const char *pin_dir);
/* Whether the datapath under pin_dir is loaded and up (dp up has completed). */
bool metrics_datapath_up(const char *pin_dir);

#endif
