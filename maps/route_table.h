/* maps/route_table.h — a VPC's route table: its configured routes and the fib index the datapath searches. */
#ifndef VPCBPF_ROUTE_TABLE_H
#define VPCBPF_ROUTE_TABLE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "maps/vpcbpf.h"
#include "maps/prefix.h"

/* The maps a route table lives in. */
struct route_maps {
	int routes_fd; /* configured routes (ROUTE_KEY_CONFIG) */
	int vpcs_fd;   /* the VPC records that point at fib regions */
	int fib_fd;    /* the fib arena */
};


/*
 * Adds or replaces the configured route r (r->prefix masked, r->len 0..32) in
 * the live table of VPC vni: the VPC's fib index is rebuilt aside with it and
 * swapped in by one update of the VPC record, so every packet sees the old
 * table or the new one. Not journaled: the CLI goes through maps/txn.h.
 */
int route_table_insert(const struct route_maps *m, __u32 vni, const struct route *r);
/* Removes a configured route, the same way: 0, or -ENOENT. */
int route_table_remove(const struct route_maps *m, __u32 vni, __be32 prefix, __u8 len);
/* The configured route for exactly (prefix, len): 0, or -ENOENT. */
int route_table_get(const struct route_maps *m, __u32 vni, __be32 prefix, __u8 len, struct route *out);
/* The same longest-prefix lookup as the datapath: 0 and *out, or -ENOENT. */
int route_table_lookup(const struct route_maps *m, __u32 vni, __be32 addr, struct route *out);

/*
 * The live table of vni with r put in (r NULL: (prefix, len) taken out),
 * built aside: *v is the VPC record that swaps it in, *ck the config key to
 * write (or delete). Nothing is visible until the caller stores *v.
 * -ENOENT: removing a route the table does not have.
 */
int route_table_edit_aside(const struct route_maps *m, __u32 vni, const struct route *r, __be32 prefix, __u8 len,
			   struct vpc *v, struct route_key *ck);

/*
 * The whole table routes[0..n) of VPC vni as generation gen, built aside: its
 * config entries (BPF_MAP_UPDATE_BATCH) and a new fib region, with *v's fib
 * fields and route_count pointing at it. Nothing changes for the datapath
 * until the caller stores *v (with route_gen = gen) in the vpcs map.
 */
int route_table_build(const struct route_maps *m, __u32 vni, __u16 gen, struct vpc *v, const struct route *routes,
		      size_t n);

#endif
