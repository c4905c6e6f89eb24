/* cli/state.h — the domain rules of vpcbpf applied to an in-memory state (batch and apply edit one, then commit it). */
#ifndef VPCBPF_CLI_STATE_H
#define VPCBPF_CLI_STATE_H

#include <stdio.h>
#include "maps/txn.h"
#include "maps/sg_table.h"

/*
 * Each edit checks what the single command checks and prints the same one-line
 * error (through fail(), so err_context names the batch line or JSON object).
 * They return 0, or 1 after printing; the state is unchanged on error.
 */
/* table: the kernel table of its advertised routes, 0 for the default (cli/advertise.h). */
int state_vpc_add(struct txn_state *st, __u32 vni, const char name[NAME_LEN], __u32 table);
int state_vpc_del(struct txn_state *st, __u32 vni);
/* dhcp: its DHCP options (cli/dhcp.c), NULL or all zero for none. */
int state_subnet_add(struct txn_state *st, struct subnet_key k, bool have_gateway, __be32 gateway,
		     const char name[NAME_LEN], const struct subnet_dhcp *dhcp);
/* subnet set: the options of d that have (DHCP_HAVE_*, cli/dhcp.h) names; the others are kept. */
int state_subnet_set_dhcp(struct txn_state *st, struct subnet_key k, const struct subnet_dhcp *d, unsigned int have);
/* vpc add/set ... table N: the kernel table of the VPC's advertised routes (0: the default, cli/advertise.h). */
int state_vpc_set_table(struct txn_state *st, __u32 vni, __u32 table);
int state_subnet_del(struct txn_state *st, struct subnet_key k);
/* n: key, mac, flags (LOCAL or REMOTE, SOURCE_CHECK), dev or v.remote, v.sg_id (or TXN_SG_KEEP); derived fields
 * are filled in. sg: the group's name ("" or "none": none), or NULL for v.sg_id. */
int state_nic_set(struct txn_state *st, struct txn_nic n, const char *sg, bool replace);
/* The order save and topology list rows in: table_sorted comparators over record pointers (cli/save.c). */
int row_cmp_vpc(const void *a, const void *b);
int row_cmp_subnet(const void *a, const void *b);
int row_cmp_nic(const void *a, const void *b);
int row_cmp_route(const void *a, const void *b);
/* The addresses a subnet of this prefix length gives NICs: all but the network, gateway and broadcast addresses. */
__u64 subnet_usable(__u8 len);
int state_nic_del(struct txn_state *st, struct nic_key k);
/* Security groups, by name. */
int state_sg_add(struct txn_state *st, const char name[NAME_LEN]);
int state_sg_del(struct txn_state *st, const char *name);
/* e->priority 0: after the last rule (+10). */
int state_sg_rule_add(struct txn_state *st, const char *name, struct sg_rule_entry e);
int state_sg_rule_del(struct txn_state *st, const char *name, __u32 priority);
/* "NAME" -> its id; "none" -> 0. */
int state_sg_id(const struct txn_state *st, const char *name, __u32 *id);
/* nic set: a new group (sg: a name, "" or "none"; NULL: unchanged) and/or source check for an existing NIC. */
int state_nic_update(struct txn_state *st, struct nic_key k, const char *sg, bool set_sc, bool sc);
/* nic set ... dhcp on|off: whether the datapath answers the NIC's DHCP. */
int state_nic_set_dhcp(struct txn_state *st, struct nic_key k, bool on);
/* nic set ... ct-quota: the NIC's conntrack quota (0: the host's). */
int state_nic_set_ct_quota(struct txn_state *st, struct nic_key k, __u32 quota);
int state_route_set(struct txn_state *st, __u32 vni, const struct route *r, bool replace);
int state_route_del(struct txn_state *st, __u32 vni, __be32 prefix, __u8 len);
int state_route_flush(struct txn_state *st, __u32 vni);
/* Elastic IPs: unicast, not used twice, not one of this host's addresses, on an existing NIC without another. */
int state_eip_add(struct txn_state *st, __be32 eip, struct nic_key nic);
int state_eip_del(struct txn_state *st, __be32 eip);
/* The EIP of a NIC in st, or NULL. */
const struct txn_eip *state_eip_of_nic(const struct txn_state *st, const struct nic_key *k);

/* Under the lock: finishes a transaction a killed command left, then loads the live state. */
int state_load(struct store *s, struct txn_state *st);
/* What an edit's rules read, for a single command's lazy load (VPCs and subnets are always read). */
struct state_need {
	enum { NEED_ROUTES_NONE, NEED_ROUTE_ONE, NEED_ROUTES_VPC, NEED_ALL } routes; /* NEED_ALL: everything */
	bool nics; /* every NIC; else only nic, when nic.vni is set */
	bool sgs;  /* the groups and their rules */
	__u32 vni; /* NEED_ROUTE_ONE: (vni, prefix, len); NEED_ROUTES_VPC: vni */
	__be32 prefix;
	__u8 len;
	struct nic_key nic;
};
/* Under the lock: finishes a killed transaction, then loads what need says. */
int state_load_for(struct store *s, struct txn_state *st, const struct state_need *need);
/* Makes the host equal to want (cur: what state_load returned); prints errors. */
int state_commit(struct store *s, const struct txn_state *cur, const struct txn_state *want);

/* Cluster mode (cli/cluster.c): NICs say "host NAME dev IFNAME"; devices are not looked up here. */
extern bool state_cluster;

/* Reads batch commands (cli/batch.c) from f into st, naming errors "name:line: "; 0, or 1 after printing. */
int read_batch(FILE *f, const char *name, struct txn_state *st, unsigned int *ncmds);

/* What the map layer may call back (attach programs, progress on a terminal). */
extern const struct txn_hooks cli_txn_hooks;
/* The progress bar of cli_txn_hooks (cli/session.c): on a terminal, for a phase lasting 300 ms or more. */
void hook_progress(const char *phase, size_t done, size_t total);

#endif
