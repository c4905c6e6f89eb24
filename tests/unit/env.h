/* tests/unit/env.h — the private world unit tests run in: a netns with veth ports, a bpffs, the loaded datapath. */
#ifndef VPCBPF_TEST_ENV_H
#define VPCBPF_TEST_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "maps/vpcbpf.h"
#include "maps/route_table.h"

#define ENV_PORTS 8 /* local interfaces a fixture can bind NICs to */

struct nic_bpf;

struct env {
	char pin_dir[64];          /* private bpffs mount, pin root of the skeleton */
	int port_ifindex[ENV_PORTS];
	struct nic_bpf *skel;
	int prog_fd;
	int host_fd, vpcs_fd, subnets_fd, nics_fd, ifindex_nics_fd, fib_fd;
	struct route_maps rm; /* routes, vpcs and fib, for maps/route_table.h */
	int drops_fd, nic_stats_fd, nic_counters_fd, events_fd;
	__u32 next_slot;           /* the counter slot topo gives the next NIC (1 after env_reset) */
	int nr_cpus;
	unsigned int verified_insns; /* "processed N insns" from the verifier log */
};

extern struct env env;

/* Enter a fresh network and mount namespace, mount bpffs, create ports, load nic.bpf.o. */
int env_setup(void);
void env_teardown(void);
/* Empty every map (host gets the test router MAC), so fixtures never see each other. */
int env_reset(void);

/* BPF_PROG_TEST_RUN of nic_ingress as if the frame arrived on port `port`. */
int env_run(int port, const void *in, size_t in_len, void *out, size_t *out_len, int *verdict);

/* Per-CPU counters summed over CPUs. */
uint64_t env_drops(__u32 reason);
uint64_t env_drops_total(void);
int env_nic_stats(__u32 vni, const char *ip, struct nic_stats *sum);

#endif
