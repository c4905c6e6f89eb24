/* maps/route_groups.h — a VPC's routes in memory (no maps touched): grouped, sorted, compared, and a partial edit's changes. */
#ifndef VPCBPF_ROUTE_GROUPS_H
#define VPCBPF_ROUTE_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include "maps/txn_state.h"

/* A VPC's configured routes (static and connected), sorted by prefix then length. */
struct vgroup {
	__u32 vni;
	__u32 _pad;
	struct route *r;
	size_t n, cap;
};

int group_add(struct table *groups, __u32 vni, const struct route *r);
/* By route_order (maps/prefix.h): a radix sort for large groups. */
void sort_routes(struct route *r, size_t n);
void groups_free(struct table *groups);
/* Groups the routes of a state by VPC, connected routes of its subnets included, each group sorted. */
int group_routes(const struct txn_state *st, struct table *groups);
bool same_route(const struct route *a, const struct route *b);
bool same_routes(const struct vgroup *a, const struct vgroup *b);
/* The connected route of a subnet. */
struct route connected_route(const struct txn_subnet *sn);
/* What differs for VPC vni between two states that hold only part of its routes: groups keyed by vni. */
int partial_changes(const struct txn_state *cur, const struct txn_state *want, __u32 vni, struct table *put,
		    struct table *del);

#endif
