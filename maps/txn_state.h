/* maps/txn_state.h — the in-memory model of a host's state (VPCs, subnets, NICs, groups, routes, EIPs) and its loads from the maps. */
#ifndef VPCBPF_TXN_STATE_H
#define VPCBPF_TXN_STATE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include "maps/vpcbpf.h"
#include "maps/store.h"
#include "maps/table.h"

#define TXN_HOST_LEN 64 /* a host's name in cluster mode, NUL included */

struct txn_vpc {
	__u32 vni;
	struct vpc rec; /* the live record (its fib region) when loaded; the name when wanted */
};

struct txn_subnet {
	struct subnet_key k;
	struct subnet v;
	struct subnet_dhcp dhcp; /* its subnet_dhcp entry (DHCP options); all zero: no entry */
};

struct txn_nic {
	struct nic_key k;
	struct nic v; /* derived fields (subnet, gateway, ifindex) filled in */
	char dev[IF_NAMESIZE]; /* local NICs: the interface name */
	char host[TXN_HOST_LEN]; /* cluster mode: the host the NIC lives on (as dev there); "" on a host */
};

struct txn_route_key {
	__u32 vni;
	__be32 prefix;
	__u8 len;
	__u8 _pad[3];
};

struct txn_sg {
	__u32 id;              /* sgs map key; NICs refer to it (struct nic.sg_id) */
	char name[NAME_LEN];   /* what save/apply/batch call it */
};

struct txn_sg_rule_key {
	__u32 sg_id;
	__u32 priority;
};

struct txn_sg_rule {
	struct txn_sg_rule_key k;
	struct sg_rule r;
};

#define TXN_SG_KEEP 0xffffffffU /* state_nic_set: keep the NIC's group (none for a new NIC) */
#define TXN_CT_QUOTA_KEEP 0xffffffffU /* state_nic_set: keep the NIC's conntrack quota (the host's for a new NIC) */

/* An elastic IP: one external address, 1:1 to one NIC (maps eips and nic_eips). */
struct txn_eip {
	__be32 eip;
	struct nic_key nic;
};

struct txn_route {
	struct txn_route_key k;
	struct route r; /* static routes only: connected routes follow from the subnets */
};

/*
 * A whole host state. To add an object type: a table here,
 * its load in txn_state_load (maps/txn_state.c), its puts/deletes in the plan (maps/txn_plan.c,
 * plan_*), and a section in cli/save.c and cli/apply.c.
 */
struct txn_state {
	struct table vpcs;    /* struct txn_vpc */
	struct table subnets; /* struct txn_subnet */
	struct table nics;    /* struct txn_nic */
	struct table routes;  /* struct txn_route */
	struct table sgs;     /* struct txn_sg */
	struct table sg_rules; /* struct txn_sg_rule */
	struct table eips;    /* struct txn_eip */
	/*
	 * Which routes `routes` holds: all of them (routes_partial false), or,
	 * for a single command that loads lazily, those of the VPCs in
	 * route_vpcs and the single keys in route_points (present or not). The
	 * planner edits a VPC known only in part by its differences, merged
	 * into the live table (see txn_commit).
	 */
	bool routes_partial;
	struct table route_vpcs;   /* __u32 vni */
	struct table route_points; /* struct txn_route_key */
	/* Likewise: only the NICs in nic_points (present or not); no groups at all. */
	bool nics_partial, sgs_unloaded;
	struct table nic_points; /* struct nic_key */
};

void txn_state_init(struct txn_state *st);
void txn_state_free(struct txn_state *st);
int txn_state_copy(struct txn_state *dst, const struct txn_state *src);
/* Reads the live state from the maps (each VPC's routes from the list in its fib region). */
int txn_state_load(struct store *s, struct txn_state *st);

struct txn_route_key txn_route_key(__u32 vni, __be32 prefix, __u8 len);

/* The lazy load of a single command: VPCs and subnets, the NICs and groups when asked, no routes ... */
#define TXN_LOAD_NICS 1U
#define TXN_LOAD_SGS 2U
int txn_state_load_small(struct store *s, struct txn_state *st, unsigned int what);
/* ... then the NIC k if it exists (when the NICs were not loaded) ... */
int txn_state_load_nic(struct store *s, struct txn_state *st, struct nic_key k);
/* ... then the route (vni, prefix, len) if it exists (a binary search of its VPC's list) ... */
int txn_state_load_route(struct store *s, struct txn_state *st, __u32 vni, __be32 prefix, __u8 len);
/* ... or every route of VPC vni (from its fib region). */
int txn_state_load_vpc_routes(struct store *s, struct txn_state *st, __u32 vni);
/* Whether st->routes holds what the rules ask about: route (vni, *prefix, len), or all of vni's (prefix NULL). */
bool txn_routes_known(const struct txn_state *st, __u32 vni, const __be32 *prefix, __u8 len);
/* Whether st->nics holds NIC *k, or every NIC (k NULL). */
bool txn_nics_known(const struct txn_state *st, const struct nic_key *k);

#endif
