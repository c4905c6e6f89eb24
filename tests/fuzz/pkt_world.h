/* tests/fuzz/pkt_world.h — the topology the packet fuzzer runs in, and the valid frames it starts from. */
#ifndef VPCBPF_FUZZ_PKT_WORLD_H
#define VPCBPF_FUZZ_PKT_WORLD_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "tests/unit/pktbuild.h"

#define WORLD_ROUTER_MAC { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 } /* env_reset's router MAC */

/* A NIC of the world, with everything the invariants need to know about it. */
struct world_nic {
	__u32 vni;
	const char *ip, *mac, *cidr;
	int port;          /* tests/unit/env port it is bound to, -1 for a remote NIC */
	int source_check;
	const char *remote; /* underlay address of the host a remote NIC lives on */
	/* filled by world_build */
	__be32 ip_be, gateway, subnet, remote_be;
	__u8 subnet_len;
	__u8 mac_b[6];
};

/* A peering route: from VPC vni, destinations inside prefix/len go to VPC peer. */
struct world_peer {
	__u32 vni;
	__be32 prefix;
	__u8 len;
	__u32 peer;
};

extern struct world_nic world_nics[];
extern const int world_nic_count;
extern struct world_peer world_peers[];
extern const int world_peer_count;
extern const __u8 world_router_mac[6];

/* This host's underlay (device ul0 in the test netns) and its one known neighbour. */
#define WORLD_UL_MTU 1500
extern __be32 world_ul_ip, world_ul_peer;
extern __u8 world_ul_mac[6], world_ul_peer_mac[6];
extern int world_ul_ifindex;

/* A route `via` a NIC: where the underlay delivers a decapsulated packet that is not for a NIC. */
struct world_via {
	__u32 vni;
	const char *prefix_s, *via_s;
	__be32 prefix, via;
	__u8 len;
};
extern struct world_via world_vias[];
extern const int world_via_count;
/* The NIC a packet for daddr in VPC vni is handed to on this host: the NIC itself, or the longest via. */
const struct world_nic *world_resolve(__u32 vni, __be32 daddr);

/* Writes the world into the datapath maps (env_reset first). Returns 0, or -1. */
int world_build(void);
/* The NIC bound to a port, or NULL (the port with no NIC). */
const struct world_nic *world_port_nic(int port);
const struct world_nic *world_nic_by_mac(const uint8_t *mac);
const struct world_nic *world_nic_by_ip(__u32 vni, __be32 ip);
/* Whether VPC `from` may hand a packet for daddr to VPC `to` (same VPC, or a peering route). */
int world_may_reach(__u32 from, __u32 to, __be32 daddr);

/* A valid frame and the port it is sent from. */
struct fixture {
	const char *name;
	int port;
	void (*build)(struct pb *b);
};

extern const struct fixture fixtures[];
extern const int fixture_count;

/* Values that sit on the edges of what the datapath decides on (for the field mutator). */
extern __be32 world_addrs[];
extern const int world_addr_count;

#endif
