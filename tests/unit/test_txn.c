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
 * same routes, the same config entries, a fib index of the same shape holding
 * the same routes, and the same answers.
 */
#define VNI_ONE_BY_ONE 100
#define VNI_BUILT 200
#define ROUTES 400

struct entry {
	struct route_key k;
	struct route v;
};

struct dump {
	struct entry *e;
	size_t n;
	__u32 vni;
	__u16 gen;
};

static int collect(const void *key, const void *value, void *ctx)
{
	const struct route_key *k = key;
	struct dump *d = ctx;
	if (k->vni != d->vni || k->gen != d->gen)
		return 0;
	d->e[d->n].k = *k;
	d->e[d->n].k.vni = 0;
	d->e[d->n].k.gen = 0;
	d->e[d->n].v = *(const struct route *)value;
	d->n++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct entry));
}

static void dump_table(__u32 vni, struct dump *d)
{
	struct vpc v;
	assert_int_equal(bpf_map_lookup_elem(env.vpcs_fd, &vni, &v), 0);
	d->vni = vni;
	d->gen = v.route_gen;
	d->n = 0;
	d->e = calloc(ROUTES * 10 + 64, sizeof(*d->e));
	assert_non_null(d->e);
	assert_int_equal(store_foreach(env.routes_fd, sizeof(struct route_key), sizeof(struct route), collect, d), 0);
	qsort(d->e, d->n, sizeof(*d->e), cmp_entry);
}

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
	struct dump a, b;
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

	dump_table(VNI_ONE_BY_ONE, &a);
	dump_table(VNI_BUILT, &b);
	print_message("# %zu routes: %zu entries one by one, %zu built aside\n", n, a.n, b.n);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++)
		if (memcmp(&a.e[i], &b.e[i], sizeof(a.e[i]))) {
			print_message("# entry %zu differs: type %u len %u addr %08x: len %u/%u peer %u/%u\n", i,
				      a.e[i].k.type, a.e[i].k.len, ntohl(a.e[i].k.addr), a.e[i].v.len, b.e[i].v.len,
				      a.e[i].v.peer_vni, b.e[i].v.peer_vni);
			fail();
		}
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
	free(a.e);
	free(b.e);
	txn_state_free(&cur);
	txn_state_free(&want);
	store_close(&s);
}

static const struct CMUnitTest txn_tests[] = {
	cmocka_unit_test(built_aside_equals_one_by_one),
};

SUITE(txn_suite, "txn", txn_tests)
