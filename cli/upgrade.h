/* cli/upgrade.h — dp up on a running host: the pinned maps must have the layout the new programs expect. */
#ifndef VPCBPF_UPGRADE_H
#define VPCBPF_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;

/* 0 when every pinned map of obj that exists under pin_dir matches its definition; else prints which does not. */
int dp_check_layout(struct bpf_object *obj, const char *pin_dir);

/*
 * The one layout change dp up migrates itself: NIC records of 32 bytes and their counters in a
 * per-CPU hash (vpcbpf before counter slots) become records with a counter slot, traffic counters
 * in the nic_counters array and drops in nic_stats (maps/vpcbpf.h), every counter carried over.
 */
struct v1_nic;
struct migration {
	struct v1_nic *nics;
	size_t n;
	int ncpu;
	bool active; /* the old maps are read and their pins set aside (NAME_v1) */
};

/* Before the layout check: finds an old layout, reads it, sets its pins aside. 0 (active or not), else 1 after printing. */
int dp_migrate_prepare(const char *pin_dir, struct migration *m);
/* After the load created the new maps: writes every NIC and its counters, drops the old pins. 0, else 1 after printing. */
int dp_migrate_finish(const char *pin_dir, struct migration *m, int nics_fd, int stats_fd, int counters_fd);
/* The load failed: the old pins go back where they were. */
void dp_migrate_abort(const char *pin_dir, struct migration *m);
void dp_migrate_free(struct migration *m);

#endif
