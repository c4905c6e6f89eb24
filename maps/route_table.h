/* maps/route_table.h — a VPC's route table: configured routes and the level slots the datapath probes. */
#ifndef VPCBPF_ROUTE_TABLE_H
#define VPCBPF_ROUTE_TABLE_H

#include <linux/types.h>
#include <stdbool.h>
#include "maps/vpcbpf.h"

/* Network-order mask of a prefix length 0..32. */
__be32 prefix_mask(unsigned int len);

/*
 * Adds or replaces the configured route r (r->prefix masked, r->len 0..32) in
 * the live table of VPC vni. Order keeps every packet on a whole route: the
 * VPC's level bitmap grows first, then the slots, then the config entry.
 */
int route_table_insert(int routes_fd, int vpcs_fd, __u32 vni, const struct route *r);
/* Removes a configured route: its slots fall back to the next shorter route of the level. */
int route_table_remove(int routes_fd, int vpcs_fd, __u32 vni, __be32 prefix, __u8 len);
/* The configured route for exactly (prefix, len): 0, or -ENOENT. */
int route_table_get(int routes_fd, int vpcs_fd, __u32 vni, __be32 prefix, __u8 len, struct route *out);
/* The same longest-prefix lookup as the datapath: 0 and *out, or -ENOENT. */
int route_table_lookup(int routes_fd, int vpcs_fd, __u32 vni, __be32 addr, struct route *out);

/* Same operations on an explicit generation gen of VPC vni, with the VPC
 * record *v kept by the caller (for building a table aside). */
int route_table_insert_gen(int routes_fd, __u32 vni, __u16 gen, struct vpc *v, const struct route *r,
			   bool *vpc_changed);
int route_table_remove_gen(int routes_fd, __u32 vni, __u16 gen, struct vpc *v, __be32 prefix, __u8 len,
			   bool *vpc_changed);

#endif
