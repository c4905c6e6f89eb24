/* maps/route_groups.h — a VPC's routes in memory (no maps touched): grouped, sorted, compared, diffed. */
#ifndef VPCBPF_ROUTE_GROUPS_H
#define VPCBPF_ROUTE_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include "maps/txn.h"

/* A VPC's configured routes (static and connected), sorted by prefix then length. */
struct vgroup {
	__u32 vni;
	__u32 _pad;
	struct route *r;
	size_t n, cap;
};

/* The config entries of one generation of a VPC's table. */
struct gen_entries {
	__u32 vni;
	__u16 gen;
	struct route_key *keys;
	struct route *vals;
	size_t n;
};

int group_add(struct table *groups, __u32 vni, const struct route *r);
/* By route_order (maps/prefix.h): a radix sort for large groups. */
void sort_routes(struct route *r, size_t n);
void groups_free(struct table *groups);
/* Groups the routes of a state by VPC, connected routes of its subnets included, each group sorted. */
int group_routes(const struct txn_state *st, struct table *groups);
bool same_route(const struct route *a, const struct route *b);
bool same_routes(const struct vgroup *a, const struct vgroup *b);
/* The config key of a route (the routes hash). */
struct route_key rkey(__u32 vni, __u16 gen, __u8 type, __u8 len, __be32 addr);
void entries_free(struct gen_entries *e);
/* Config entries that turn sorted table a into b: put (new or changed), del (gone). */
int route_diff(const struct vgroup *a, const struct vgroup *b, __u32 vni, __u16 gen, struct gen_entries *put,
	       struct gen_entries *del);
/* The connected route of a subnet. */
struct route connected_route(const struct txn_subnet *sn);
/* What differs for VPC vni between two states that hold only part of its routes: groups keyed by vni. */
int partial_changes(const struct txn_state *cur, const struct txn_state *want, __u32 vni, struct table *put,
		    struct table *del);
/* The config entries of sorted routes g. */
int entries_of(const struct vgroup *g, __u32 vni, __u16 gen, struct gen_entries *e);

#endif
