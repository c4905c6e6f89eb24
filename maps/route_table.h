/* maps/route_table.h — a VPC's route table edited directly (tests and benchmarks; the CLI commits through maps/txn.h). */
#ifndef VPCBPF_ROUTE_TABLE_H
#define VPCBPF_ROUTE_TABLE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "maps/vpcbpf.h"
#include "maps/prefix.h"

/* The maps a route table lives in. */
struct route_maps {
	int vpcs_fd; /* the VPC records that point at fib regions */
	int fib_fd;  /* the fib arena: each region, the index and the list of its routes */
};

/*
 * Adds or replaces the configured route r (r->prefix masked, r->len 0..32) in
 * the live table of VPC vni: the VPC's region is rebuilt aside with it and
 * swapped in by one update of the VPC record, so every packet sees the old
 * table or the new one. Not journaled.
 */
int route_table_insert(const struct route_maps *m, __u32 vni, const struct route *r);
/* Removes a configured route, the same way: 0, or -ENOENT. */
int route_table_remove(const struct route_maps *m, __u32 vni, __be32 prefix, __u8 len);
/* The same longest-prefix lookup as the datapath: 0 and *out, or -ENOENT. */
int route_table_lookup(const struct route_maps *m, __u32 vni, __be32 addr, struct route *out);

/*
 * The whole table routes[0..n) of VPC vni, built aside: a new region with *v's
 * fib fields and route_count pointing at it. Nothing changes for the datapath
 * until the caller stores *v in the vpcs map.
 */
int route_table_build(const struct route_maps *m, struct vpc *v, const struct route *routes, size_t n);

#endif
