/* cli/commands.c — the table of every object the command line knows: the one place that names them all. */
#include "cli/commands.h"

const struct object *const commands[] = {
	&obj_dp, &obj_vpc, &obj_subnet, &obj_nic, &obj_route, &obj_stats, &obj_sg, &obj_save, &obj_apply, &obj_monitor, &obj_topology,
	&obj_agent, &obj_metrics, &obj_eip, &obj_help, NULL,
};
