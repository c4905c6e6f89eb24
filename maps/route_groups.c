/* maps/route_groups.c — a VPC's routes in memory: grouped by VPC, sorted, compared, and what a partial edit changes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maps/route_groups.h"
#include "maps/prefix.h"

int group_add(struct table *groups, __u32 vni, const struct route *r)
{
	struct vgroup *g = table_get(groups, &vni);
	if (!g) {
		struct vgroup ng = { .vni = vni };
		g = table_put(groups, &ng);
		if (!g)
			return -ENOMEM;
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct route *nr = realloc(g->r, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		g->r = nr;
		g->cap = cap;
	}
	g->r[g->n++] = *r;
	return 0;
}

/*
 * Sorts routes by route_order with an LSD radix sort on (prefix, len)
 * (four passes of 10 bits over 40 bits, index in the low 24 bits): a table of
 * a million routes sorts in a few tens of milliseconds where qsort took
 * hundreds. Larger groups, or no memory for the scratch arrays: qsort.
 */
void sort_routes(struct route *r, size_t n)
{
	uint64_t *a, *b;
	struct route *tmp;
	size_t count[1024];

	if (n < 256 || n >= (1U << 24) || !(a = malloc(n * sizeof(*a)))) {
		qsort(r, n, sizeof(*r), route_order_qsort);
		return;
	}
	b = malloc(n * sizeof(*b));
	tmp = malloc(n * sizeof(*tmp));
	if (!b || !tmp) {
		free(a);
		free(b);
		free(tmp);
		qsort(r, n, sizeof(*r), route_order_qsort);
		return;
	}
	for (size_t i = 0; i < n; i++)
		a[i] = ((uint64_t)ntohl(r[i].prefix) << 32) | ((uint64_t)r[i].len << 24) | i;
	for (unsigned int shift = 24; shift < 64; shift += 10) {
		uint64_t *t;
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(a[i] >> shift) & 1023]++;
		for (size_t d = 0, sum = 0; d < 1024; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[count[(a[i] >> shift) & 1023]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++)
		tmp[i] = r[a[i] & 0xffffff];
	memcpy(r, tmp, n * sizeof(*r));
	free(a);
	free(b);
	free(tmp);
}

void groups_free(struct table *groups)
{
	for (struct vgroup *g = NULL; (g = table_next(groups, g));)
		free(g->r);
	table_free(groups);
}

/* Groups the routes of a state by VPC, connected routes of its subnets included. */
int group_routes(const struct txn_state *st, struct table *groups)
{
	table_init(groups, sizeof(__u32), sizeof(struct vgroup));
	for (const struct txn_route *r = NULL; (r = table_next(&st->routes, r));)
		if (group_add(groups, r->k.vni, &r->r))
			goto nomem;
	for (const struct txn_subnet *sn = NULL; (sn = table_next(&st->subnets, sn));) {
		struct route c = connected_route(sn);
		if (group_add(groups, sn->k.vni, &c))
			goto nomem;
	}
	for (struct vgroup *g = NULL; (g = table_next(groups, g));)
		sort_routes(g->r, g->n);
	return 0;
nomem:
	groups_free(groups);
	return -ENOMEM;
}

bool same_route(const struct route *a, const struct route *b)
{
	return a->kind == b->kind && a->len == b->len && a->flags == b->flags && a->prefix == b->prefix &&
	       a->via == b->via && a->peer_vni == b->peer_vni;
}

bool same_routes(const struct vgroup *a, const struct vgroup *b)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_route(&a->r[i], &b->r[i]))
			return false;
	return true;
}

struct route connected_route(const struct txn_subnet *sn)
{
	struct route c;
	memset(&c, 0, sizeof(c));
	c.kind = ROUTE_CONNECTED;
	c.len = sn->k.len;
	c.prefix = sn->k.prefix;
	return c;
}

/*
 * A VPC whose routes were loaded only in part (a single command): what
 * differs between cur and want, static routes and subnets' connected routes,
 * as routes to put (new or changed) and routes to take out, each sorted.
 */
int partial_changes(const struct txn_state *cur, const struct txn_state *want, __u32 vni, struct table *put,
			   struct table *del)
{
	struct route c;

	table_init(put, sizeof(__u32), sizeof(struct vgroup));
	table_init(del, sizeof(__u32), sizeof(struct vgroup));
	for (const struct txn_route *w = NULL; (w = table_next(&want->routes, w));) {
		const struct txn_route *o = table_get(&cur->routes, &w->k);
		if (w->k.vni == vni && (!o || !same_route(&o->r, &w->r)) && group_add(put, vni, &w->r))
			return -ENOMEM;
	}
	for (const struct txn_route *o = NULL; (o = table_next(&cur->routes, o));)
		if (o->k.vni == vni && !table_get(&want->routes, &o->k) && group_add(del, vni, &o->r))
			return -ENOMEM;
	for (const struct txn_subnet *sn = NULL; (sn = table_next(&want->subnets, sn));)
		if (sn->k.vni == vni && !table_get(&cur->subnets, &sn->k) && (c = connected_route(sn), group_add(put, vni, &c)))
			return -ENOMEM;
	for (const struct txn_subnet *sn = NULL; (sn = table_next(&cur->subnets, sn));)
		if (sn->k.vni == vni && !table_get(&want->subnets, &sn->k) && (c = connected_route(sn), group_add(del, vni, &c)))
			return -ENOMEM;
	for (struct vgroup *g = NULL; (g = table_next(put, g));)
		sort_routes(g->r, g->n);
	for (struct vgroup *g = NULL; (g = table_next(del, g));)
		sort_routes(g->r, g->n);
	return 0;
}
