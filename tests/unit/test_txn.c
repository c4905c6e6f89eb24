/* tests/unit/test_txn.c — a route table built aside by a transaction equals the same routes inserted one by one. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "suite.h"
#include "env.h"
#include "maps/route_table.h"
#include "maps/store.h"
#include "maps/txn.h"
#include "maps/fib.h"

/*
 * Two code paths write a VPC's route table: maps/route_table.c rebuilds it
 * one route at a time (route add/del), maps/txn.c builds a whole table aside
 * (batch, apply). The datapath must not be able to tell them apart: for the
 * same routes, a fib index of the same shape holding the same routes (the
 * list show and save read), and the same answers.
 */
#define VNI_ONE_BY_ONE 100
#define VNI_BUILT 200
#define ROUTES 400

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static void built_aside_equals_one_by_one(void **state)
{
	struct store s;
	struct txn_state cur, want;
	struct vpc one = { 0 }, built;
	char msg[256];
	__u32 vni = VNI_ONE_BY_ONE;

	assert_int_equal(env_reset(), 0);
	assert_int_equal(bpf_map_update_elem(env.vpcs_fd, &vni, &one, BPF_NOEXIST), 0);
	/* nested prefixes of every length around a few bases, some replaced, some deleted */
	for (int i = 0; i < ROUTES; i++) {
		static const __u32 bases[] = { 0x0a000000, 0x0a010000, 0xac100000, 0xc0a80000 };
		struct route r = { 0 };
		r.len = (__u8)(rnd() % 33);
		r.prefix = htonl(bases[rnd() % 4] | (rnd() & 0x0000ffff)) & prefix_mask(r.len);
		r.kind = rnd() % 3 ? ROUTE_BLACKHOLE : ROUTE_PEER;
		r.peer_vni = r.kind == ROUTE_PEER ? 7 + rnd() % 5 : 0;
		assert_int_equal(route_table_insert(&env.rm, vni, &r), 0);
		if (rnd() % 7 == 0)
			assert_int_equal(route_table_remove(&env.rm, vni, r.prefix, r.len), 0);
	}

	/* the same routes in a new VPC, through a transaction */
	assert_int_equal(store_open(&s, env.pin_dir), 0);
	assert_int_equal(txn_state_load(&s, &cur), 0);
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	struct txn_vpc nv = { .vni = VNI_BUILT };
	assert_non_null(table_put(&want.vpcs, &nv));
	size_t n = 0;
	for (const struct txn_route *r = NULL; (r = table_next(&cur.routes, r));) {
		struct txn_route c = *r;
		c.k.vni = VNI_BUILT;
		assert_non_null(table_put(&want.routes, &c));
		n++;
	}
	assert_true(n > ROUTES / 4);
	int err = txn_commit(&s, &cur, &want, NULL, msg, sizeof(msg));
	if (err)
		print_message("# txn_commit: %s\n", msg);
	assert_int_equal(err, 0);

	print_message("# %zu routes one by one and built aside\n", n);
	vni = VNI_ONE_BY_ONE;
	assert_int_equal(bpf_map_lookup_elem(env.vpcs_fd, &vni, &one), 0);
	vni = VNI_BUILT;
	assert_int_equal(bpf_map_lookup_elem(env.vpcs_fd, &vni, &built), 0);
	/* the same index: same shape, same routes read back, same answers */
	assert_int_equal(one.route_count, built.route_count);
	assert_int_equal(one.fib_lines, built.fib_lines);
	assert_int_equal(one.fib_depth, built.fib_depth);
	struct route *ra, *rb;
	size_t na, nb;
	assert_int_equal(fib_routes(env.fib_fd, &one, &ra, &na), 0);
	assert_int_equal(fib_routes(env.fib_fd, &built, &rb, &nb), 0);
	assert_int_equal(na, nb);
	assert_memory_equal(ra, rb, na * sizeof(*ra));
	/* a single command reads one route by a binary search of that list: each is found, a missing one is not */
	for (size_t i = 0; i < na; i++) {
		struct route got;
		assert_int_equal(fib_route_get(env.fib_fd, &built, ra[i].prefix, ra[i].len, &got), 0);
		assert_memory_equal(&got, &ra[i], sizeof(got));
		if (ra[i].len < 32 && (i + 1 == na || ra[i + 1].prefix != ra[i].prefix || ra[i + 1].len != ra[i].len + 1)) {
			struct route none;
			assert_int_equal(fib_route_get(env.fib_fd, &built, ra[i].prefix, ra[i].len + 1, &none), -ENOENT);
		}
	}
	free(ra);
	free(rb);
	for (int i = 0; i < 4096; i++) {
		__be32 addr = htonl(rnd());
		struct route x, y;
		int ex = fib_lookup(env.fib_fd, &one, addr, &x), ey = fib_lookup(env.fib_fd, &built, addr, &y);
		assert_int_equal(ex, ey);
		if (!ex)
			assert_memory_equal(&x, &y, sizeof(x));
	}
	txn_state_free(&cur);
	txn_state_free(&want);
	store_close(&s);
}

static const struct CMUnitTest txn_tests[] = {
	cmocka_unit_test(built_aside_equals_one_by_one),
};

SUITE(txn_suite, "txn", txn_tests)
