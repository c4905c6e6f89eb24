/* tests/unit/test_route_groups.c — the planner's route arithmetic without BPF: grouping, and a partly loaded VPC's changes. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "suite.h"
#include "maps/route_groups.h"
#include "maps/prefix.h"

static struct route rt(const char *prefix, __u8 len, __u8 kind)
{
	struct route r;

	memset(&r, 0, sizeof(r));
	inet_pton(AF_INET, prefix, &r.prefix);
	r.len = len;
	r.kind = kind;
	return r;
}

static void put_route(struct txn_state *st, __u32 vni, struct route r)
{
	struct txn_route tr;

	memset(&tr, 0, sizeof(tr));
	tr.k = txn_route_key(vni, r.prefix, r.len);
	tr.r = r;
	assert_non_null(table_put(&st->routes, &tr));
}

static void put_subnet(struct txn_state *st, __u32 vni, const char *prefix, __u8 len)
{
	struct txn_subnet sn;

	memset(&sn, 0, sizeof(sn));
	sn.k.vni = vni;
	inet_pton(AF_INET, prefix, &sn.k.prefix);
	sn.k.len = len;
	assert_non_null(table_put(&st->subnets, &sn));
}

/* A state's routes grouped by VPC, connected routes of its subnets in, each group in route_order. */
static void groups_are_sorted_and_complete(void **unused)
{
	struct txn_state st;
	struct table g;
	const struct vgroup *v7;

	txn_state_init(&st);
	put_route(&st, 7, rt("10.9.0.0", 16, ROUTE_BLACKHOLE));
	put_route(&st, 7, rt("10.0.0.0", 8, ROUTE_BLACKHOLE));
	put_route(&st, 8, rt("10.0.0.0", 8, ROUTE_BLACKHOLE));
	put_subnet(&st, 7, "10.1.0.0", 24);
	assert_int_equal(group_routes(&st, &g), 0);
	v7 = table_get(&g, &(__u32){ 7 });
	assert_non_null(v7);
	assert_int_equal(v7->n, 3);
	for (size_t i = 1; i < v7->n; i++)
		assert_true(route_order(&v7->r[i - 1], &v7->r[i]) < 0);
	assert_int_equal(v7->r[1].kind, ROUTE_CONNECTED); /* 10.0/8, 10.1.0/24, 10.9/16 */
	groups_free(&g);
	txn_state_free(&st);
}

/* A single command's states hold one route of a big VPC: the changes are that route and a new subnet's connected route. */
static void partial_changes_are_the_edit(void **unused)
{
	struct txn_state cur, want;
	struct table put, del;
	const struct vgroup *p, *d;

	txn_state_init(&cur);
	cur.routes_partial = true;
	put_route(&cur, 7, rt("172.16.0.0", 12, ROUTE_BLACKHOLE)); /* the one route loaded */
	put_subnet(&cur, 7, "10.1.0.0", 24);
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	assert_true(want.routes_partial);
	/* replace 172.16/12 by a via route, add a subnet, delete nothing else */
	{
		struct txn_route *r = table_get(&want.routes, &(struct txn_route_key){ .vni = 7,
						.prefix = rt("172.16.0.0", 12, 0).prefix, .len = 12 });
		assert_non_null(r);
		r->r.kind = ROUTE_VIA;
	}
	put_subnet(&want, 7, "10.2.0.0", 24);
	assert_int_equal(partial_changes(&cur, &want, 7, &put, &del), 0);
	p = table_get(&put, &(__u32){ 7 });
	d = table_get(&del, &(__u32){ 7 });
	assert_non_null(p);
	assert_int_equal(p->n, 2);
	assert_int_equal(p->r[0].kind, ROUTE_CONNECTED); /* 10.2.0.0/24 sorts first */
	assert_int_equal(p->r[1].kind, ROUTE_VIA);
	assert_null(d);
	groups_free(&put);
	groups_free(&del);
	/* and taking the subnet out again is a delete of its connected route */
	table_del(&want.subnets, &(struct subnet_key){ .vni = 7, .prefix = rt("10.1.0.0", 24, 0).prefix, .len = 24 });
	assert_int_equal(partial_changes(&cur, &want, 7, &put, &del), 0);
	d = table_get(&del, &(__u32){ 7 });
	assert_non_null(d);
	assert_int_equal(d->n, 1);
	assert_int_equal(d->r[0].len, 24);
	groups_free(&put);
	groups_free(&del);
	txn_state_free(&cur);
	txn_state_free(&want);
}

static const struct CMUnitTest route_group_tests[] = {
	cmocka_unit_test(groups_are_sorted_and_complete),
	cmocka_unit_test(partial_changes_are_the_edit),
};

SUITE(route_groups_suite, "route_groups", route_group_tests)
