/* tests/unit/test_route_random.c — random route tables: route_table_lookup() and the datapath agree with a reference longest-prefix match. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "suite.h"
#include "env.h"
#include "topo.h"
#include "pktbuild.h"
#if __has_include("maps/route_table.h")
#include "maps/route_table.h"
#include "maps/fib.h"
#include "maps/prefix.h"
#define HAVE_ROUTE_TABLE 1
#endif

#ifdef HAVE_ROUTE_TABLE

/*
 * Each round builds a table by a random sequence of adds, replaces and
 * deletes, with prefixes drawn around a few base addresses so that they
 * nest and share levels (a delete must hand its slots to the next shorter
 * route of the same level, or to none). After every few edits, random
 * addresses near the prefixes are looked up three ways: a linear scan of
 * the configured routes (the reference), route_table_lookup() (the
 * user-space replica) and nic_ingress through BPF_PROG_TEST_RUN (the
 * datapath), whose verdict and output MAC say which route it took.
 */
#define VNI 4242
#define ROUNDS 16
#define EDITS 240
#define CHECK_EVERY 8
#define ADDRS_PER_CHECK 40
#define NEXTHOPS 32
#define BASES 4
#define MAX_ROUTES 4096 /* the table edited in place holds 3,000 */

#define SRC_IP "198.18.0.2"
#define SRC_MAC "02:5a:00:00:00:02"

struct ref_route {
	__be32 prefix;
	__u8 len;
	__u8 kind;   /* ROUTE_VIA or ROUTE_BLACKHOLE */
	__u8 nexthop; /* ROUTE_VIA: index of the next-hop NIC */
};

static struct ref_route table[MAX_ROUTES];
static size_t nroutes;
static __be32 bases[BASES];
static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static __be32 nexthop_ip(unsigned int i)
{
	return htonl(0xc6120100U + 1 + i); /* 198.18.1.(i+1) */
}

static void nexthop_mac(unsigned int i, char *buf, size_t n)
{
	snprintf(buf, n, "02:5a:00:00:01:%02x", i);
}

/* Addresses the test must not aim at: the NICs and their gateways (198.18.0.0/23). */
static int reserved(__be32 a)
{
	return (a & prefix_mask(23)) == htonl(0xc6120000U);
}

static unsigned int random_len(void)
{
	unsigned int x = rnd() % 100;

	if (x < 3)
		return 0;
	if (x < 10)
		return 1 + rnd() % 15;
	if (x < 80)
		return 16 + rnd() % 13; /* /16../28: the VPC-typical range, several per level */
	return 29 + rnd() % 4;
}

/* An address near the bases (so prefixes nest), now and then anywhere. */
static __be32 random_addr(void)
{
	__be32 a;

	do {
		if (rnd() % 8 == 0)
			a = rnd();
		else
			a = bases[rnd() % BASES] ^ htonl(rnd() & (rnd() % 2 ? 0xff : 0xffff));
	} while (reserved(a));
	return a;
}

static long find(__be32 prefix, __u8 len)
{
	for (size_t i = 0; i < nroutes; i++)
		if (table[i].prefix == prefix && table[i].len == len)
			return (long)i;
	return -1;
}

static const struct ref_route *reference_lookup(__be32 addr)
{
	const struct ref_route *best = NULL;

	for (size_t i = 0; i < nroutes; i++)
		if ((addr & prefix_mask(table[i].len)) == table[i].prefix && (!best || table[i].len > best->len))
			best = &table[i];
	return best;
}

static struct route to_route(const struct ref_route *r)
{
	struct route out = { .kind = r->kind, .len = r->len, .prefix = r->prefix };

	if (r->kind == ROUTE_VIA)
		out.via = nexthop_ip(r->nexthop);
	return out;
}

static void random_route(struct ref_route *r)
{
	r->len = (__u8)random_len();
	r->prefix = random_addr() & prefix_mask(r->len);
	r->kind = rnd() % 6 ? ROUTE_VIA : ROUTE_BLACKHOLE;
	r->nexthop = (__u8)(rnd() % NEXTHOPS);
}

static void edit(void)
{
	unsigned int op = rnd() % 100;
	struct ref_route r;

	if (nroutes && op < 25) { /* delete */
		size_t i = rnd() % nroutes;
		assert_int_equal(route_table_remove(&env.rm, VNI, table[i].prefix, table[i].len), 0);
		table[i] = table[--nroutes];
		return;
	}
	if (nroutes && op < 40) { /* replace: same prefix, another next hop or kind */
		size_t i = rnd() % nroutes;
		random_route(&r);
		r.prefix = table[i].prefix;
		r.len = table[i].len;
		struct route rt = to_route(&r);
		assert_int_equal(route_table_insert(&env.rm, VNI, &rt), 0);
		table[i] = r;
		return;
	}
	random_route(&r); /* add, or replace when the prefix is already there */
	struct route rt = to_route(&r);
	assert_int_equal(route_table_insert(&env.rm, VNI, &rt), 0);
	long at = find(r.prefix, r.len);
	if (at >= 0)
		table[at] = r;
	else if (nroutes < MAX_ROUTES)
		table[nroutes++] = r;
}

static void fail_at(const char *who, __be32 addr, const struct ref_route *want, const char *got)
{
	char a[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN] = "-";

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if (want)
		inet_ntop(AF_INET, &want->prefix, p, sizeof(p));
	print_message("# %s: %s expected %s/%d, got %s (%zu routes)\n", who, a, p, want ? want->len : -1, got,
		      nroutes);
	fail();
}

static void check_replica(__be32 addr, const struct ref_route *want)
{
	struct route got;
	char buf[64];
	int err = route_table_lookup(&env.rm, VNI, addr, &got);

	if (!want && err == -ENOENT)
		return;
	if (want && !err && got.len == want->len && got.prefix == want->prefix && got.kind == want->kind &&
	    (want->kind != ROUTE_VIA || got.via == nexthop_ip(want->nexthop)))
		return;
	if (err) {
		snprintf(buf, sizeof(buf), "no route (%d)", err);
	} else {
		char p[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &got.prefix, p, sizeof(p));
		snprintf(buf, sizeof(buf), "%s/%d kind %d", p, got.len, got.kind);
	}
	fail_at("route_table_lookup", addr, want, buf);
}

static void check_datapath(__be32 addr, const struct ref_route *want)
{
	static struct pb in;
	static uint8_t out[PB_MAX];
	char dst[INET_ADDRSTRLEN], mac[32], buf[64];
	size_t out_len = sizeof(out);
	uint64_t blackholes = env_drops(DROP_BLACKHOLE), noroutes = env_drops(DROP_NO_ROUTE);
	int verdict = -1;

	inet_ntop(AF_INET, &addr, dst, sizeof(dst));
	pb_init(&in);
	pb_eth(&in, ROUTER_MAC_S, SRC_MAC, 0x0800);
	pb_ipv4(&in, &(struct pb_ip){ .src = SRC_IP, .dst = dst, .proto = 17 });
	pb_udp(&in, 40000, 7);
	pb_payload(&in, 8);
	pb_done(&in);
	assert_int_equal(env_run(0, in.data, in.len, out, &out_len, &verdict), 0);

	if (!want) {
		if (verdict == 2 && env_drops(DROP_NO_ROUTE) == noroutes + 1)
			return;
	} else if (want->kind == ROUTE_BLACKHOLE) {
		if (verdict == 2 && env_drops(DROP_BLACKHOLE) == blackholes + 1)
			return;
	} else {
		uint8_t m[6];
		nexthop_mac(want->nexthop, mac, sizeof(mac));
		sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
		if (verdict == 7 && out_len >= 6 && !memcmp(out, m, 6))
			return;
	}
	snprintf(buf, sizeof(buf), "verdict %d, dst mac %02x:%02x:%02x:%02x:%02x:%02x", verdict, out[0], out[1],
		 out[2], out[3], out[4], out[5]);
	fail_at("nic_ingress", addr, want, buf);
}

static void check(void)
{
	for (int i = 0; i < ADDRS_PER_CHECK; i++) {
		__be32 addr = random_addr();
		const struct ref_route *want = reference_lookup(addr);

		check_replica(addr, want);
		check_datapath(addr, want);
	}
}

static int cmp_ref(const void *x, const void *y)
{
	const struct ref_route *a = x, *b = y;

	if (a->prefix != b->prefix)
		return ntohl(a->prefix) < ntohl(b->prefix) ? -1 : 1;
	return (int)a->len - (int)b->len;
}

/*
 * The index keeps what was configured: the routes read back from the VPC's
 * fib region are the reference table, sorted, and the record counts them; an
 * empty table has no region at all.
 */
static void check_fib_routes(void)
{
	struct ref_route sorted[MAX_ROUTES];
	struct route *got = NULL;
	size_t n = 0;
	__u32 vni = VNI;
	struct vpc v;

	assert_int_equal(bpf_map_lookup_elem(env.vpcs_fd, &vni, &v), 0);
	assert_int_equal(fib_routes(env.fib_fd, &v, &got, &n), 0);
	assert_int_equal(n, nroutes);
	assert_int_equal(v.route_count, nroutes);
	assert_int_equal(!!v.fib_base, nroutes > 0);
	memcpy(sorted, table, nroutes * sizeof(*table));
	qsort(sorted, nroutes, sizeof(*sorted), cmp_ref);
	for (size_t i = 0; i < n; i++) {
		struct route want = to_route(&sorted[i]);
		assert_int_equal(got[i].prefix, want.prefix);
		assert_int_equal(got[i].len, want.len);
		assert_int_equal(got[i].kind, want.kind);
		assert_int_equal(got[i].via, want.via);
	}
	free(got);
}

static void world(void)
{
	char mac[32];

	topo_vpc(VNI);
	topo_nic_local(VNI, SRC_IP, SRC_MAC, "198.18.0.0/24", 0, SC_ON);
	for (unsigned int i = 0; i < NEXTHOPS; i++) {
		char ip[INET_ADDRSTRLEN];
		__be32 a = nexthop_ip(i);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		nexthop_mac(i, mac, sizeof(mac));
		topo_nic_local(VNI, ip, mac, "198.18.1.0/24", 1, SC_ON);
	}
}

static void random_tables_match_reference(void **state)
{
	const char *seed = getenv("VPCBPF_TEST_SEED");
	uint64_t s = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);

	print_message("# seed %llu (VPCBPF_TEST_SEED replays it)\n", (unsigned long long)s);
	for (int round = 0; round < ROUNDS; round++) {
		rng = (s + (uint64_t)round) * 0x9E3779B97F4A7C15ULL | 1;
		assert_int_equal(env_reset(), 0);
		world();
		nroutes = 0;
		for (int i = 0; i < BASES; i++)
			bases[i] = rnd();
		for (int e = 0; e < EDITS; e++) {
			edit();
			if (e % CHECK_EVERY == CHECK_EVERY - 1)
				check();
		}
		check_fib_routes();
		/* empty the table again: every slot must go with its last route */
		while (nroutes) {
			assert_int_equal(route_table_remove(&env.rm, VNI, table[nroutes - 1].prefix,
							    table[nroutes - 1].len), 0);
			nroutes--;
			if (nroutes % 16 == 0)
				check();
		}
		check_fib_routes();
	}
}

/*
 * A table too big to edit route by route in a test: 20,000 random routes
 * built in one go (a tree four levels deep), then the replica on 20,000
 * addresses and the datapath on 400, the ends of the address space included.
 */
#define BIG_ROUTES 20000
static void big_table_matches_reference(void **state)
{
	static struct ref_route big[BIG_ROUTES];
	static struct route rts[BIG_ROUTES];
	const char *seed = getenv("VPCBPF_TEST_SEED");
	uint64_t s = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);
	__u32 vni = VNI;
	struct vpc v;
	size_t n = 0;

	print_message("# seed %llu (VPCBPF_TEST_SEED replays it)\n", (unsigned long long)s);
	rng = s * 0x9E3779B97F4A7C15ULL | 1;
	assert_int_equal(env_reset(), 0);
	world();
	for (int i = 0; i < BASES; i++)
		bases[i] = rnd();
	nroutes = 0;
	/* a cluster of host routes, so that one chunk of the direct stage needs a tree of its own */
	for (__u32 i = 0; i < 600; i++)
		big[n++] = (struct ref_route){ .prefix = htonl(0x0ac80000U + i * 3), .len = 32,
					       .kind = i % 3 ? ROUTE_VIA : ROUTE_BLACKHOLE, .nexthop = (__u8)(i % NEXTHOPS) };
	while (n < BIG_ROUTES) {
		struct ref_route r;
		random_route(&r);
		if (rnd() % 2) /* spread out: the whole address space, not only near the bases */
			r.prefix = (__be32)rnd() & prefix_mask(r.len);
		if (reserved(r.prefix) && r.len >= 23)
			continue; /* never a route inside the NICs' own subnets */
		bool dup = false;
		for (size_t j = n > 64 ? n - 64 : 0; j < n; j++)
			dup |= big[j].prefix == r.prefix && big[j].len == r.len;
		if (dup)
			continue;
		big[n++] = r;
	}
	/* exact duplicates further apart: keep the last, as the table would */
	qsort(big, n, sizeof(*big), cmp_ref);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && big[m - 1].prefix == big[i].prefix && big[m - 1].len == big[i].len)
			continue;
		big[m++] = big[i];
	}
	/* the reference scan is linear: keep it in a table of its own */
	for (size_t i = 0; i < m; i++)
		rts[i] = to_route(&big[i]);
	assert_int_equal(bpf_map_lookup_elem(env.vpcs_fd, &vni, &v), 0);
	assert_int_equal(route_table_build(&env.rm, &v, rts, m), 0);
	assert_int_equal(bpf_map_update_elem(env.vpcs_fd, &vni, &v, BPF_EXIST), 0);
	print_message("# %zu routes: %u fib lines, direct stage of %u bits\n", m, v.fib_lines, v.fib_direct_bits);
	assert_true(v.fib_direct_bits > 0);

	memcpy(table, big, sizeof(*table) * (m < MAX_ROUTES ? m : MAX_ROUTES));
	for (int i = 0; i < 20000; i++) {
		__be32 addr = i == 0 ? 0 : i == 1 ? 0xffffffffU : i % 5 == 0 ? htonl(0x0ac80000U + rnd() % 2048) :
			      i % 2 ? random_addr() : htonl(rnd());
		const struct ref_route *best = NULL;
		struct route got;
		if (reserved(addr))
			continue;
		for (size_t j = 0; j < m; j++)
			if ((addr & prefix_mask(big[j].len)) == big[j].prefix && (!best || big[j].len > best->len))
				best = &big[j];
		int err = route_table_lookup(&env.rm, vni, addr, &got);
		if (!best) {
			assert_int_equal(err, -ENOENT);
		} else {
			if (err || got.len != best->len || got.prefix != best->prefix || got.kind != best->kind)
				fail_at("route_table_lookup (big)", addr, best, err ? "no route" : "another route");
		}
		if (i % 50 == 0) {
			nroutes = 0; /* check_datapath reads want only */
			check_datapath(addr, best);
		}
	}
	nroutes = 0;
}

/*
 * A table big enough for a direct stage (3,000 random routes), then random
 * edits route by route: most are made in place, one chunk's tree rebuilt
 * and published by its direct entry (maps/fib.c fib_patch), the others
 * (a route shorter than a chunk, a full log) rebuild the region. The
 * replica and the datapath must agree with the reference after each few,
 * and the list read back (the region's list with its log merged) must be
 * the reference table.
 */
#define PATCH_ROUTES 3000
#define PATCH_EDITS 400
static void big_table_edited_in_place(void **state)
{
	static struct route rts[PATCH_ROUTES];
	const char *seed = getenv("VPCBPF_TEST_SEED");
	uint64_t s = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);
	unsigned int in_place = 0, whole = 0;
	__u32 vni = VNI;
	struct vpc v;

	print_message("# seed %llu (VPCBPF_TEST_SEED replays it)\n", (unsigned long long)s);
	rng = s * 0x9E3779B97F4A7C15ULL | 7;
	assert_int_equal(env_reset(), 0);
	world();
	for (int i = 0; i < BASES; i++)
		bases[i] = rnd();
	nroutes = 0;
	while (nroutes < PATCH_ROUTES) {
		struct ref_route r;
		random_route(&r);
		if (rnd() % 2)
			r.prefix = (__be32)rnd() & prefix_mask(r.len);
		if ((reserved(r.prefix) && r.len >= 23) || find(r.prefix, r.len) >= 0)
			continue;
		rts[nroutes] = to_route(&r);
		table[nroutes++] = r;
	}
	assert_int_equal(bpf_map_lookup_elem(env.vpcs_fd, &vni, &v), 0);
	assert_int_equal(route_table_build(&env.rm, &v, rts, nroutes), 0);
	assert_int_equal(bpf_map_update_elem(env.vpcs_fd, &vni, &v, BPF_EXIST), 0);
	assert_true(v.fib_direct_bits > 0);
	for (int e = 0; e < PATCH_EDITS; e++) {
		__u32 base = v.fib_base;
		edit();
		assert_int_equal(bpf_map_lookup_elem(env.vpcs_fd, &vni, &v), 0);
		if (v.fib_base == base)
			in_place++;
		else
			whole++;
		if (e % 25 == 24)
			check();
	}
	check();
	check_fib_routes();
	print_message("# %u edits in place, %u rebuilt whole (direct stage of %u bits)\n", in_place, whole,
		      v.fib_direct_bits);
	assert_true(in_place > PATCH_EDITS / 2);
	nroutes = 0;
}

static const struct CMUnitTest route_random_tests[] = {
	cmocka_unit_test(random_tables_match_reference),
	cmocka_unit_test(big_table_matches_reference),
	cmocka_unit_test(big_table_edited_in_place),
};

SUITE(route_random_suite, "route_random", route_random_tests)

#endif
