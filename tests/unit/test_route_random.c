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
#define MAX_ROUTES EDITS

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

static __be32 mask(unsigned int len)
{
	return len ? htonl(~0U << (32 - len)) : 0;
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
	return (a & mask(23)) == htonl(0xc6120000U);
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
		if ((addr & mask(table[i].len)) == table[i].prefix && (!best || table[i].len > best->len))
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
	r->prefix = random_addr() & mask(r->len);
	r->kind = rnd() % 6 ? ROUTE_VIA : ROUTE_BLACKHOLE;
	r->nexthop = (__u8)(rnd() % NEXTHOPS);
}

static void edit(void)
{
	unsigned int op = rnd() % 100;
	struct ref_route r;

	if (nroutes && op < 25) { /* delete */
		size_t i = rnd() % nroutes;
		assert_int_equal(route_table_remove(env.routes_fd, env.vpcs_fd, VNI, table[i].prefix, table[i].len), 0);
		table[i] = table[--nroutes];
		return;
	}
	if (nroutes && op < 40) { /* replace: same prefix, another next hop or kind */
		size_t i = rnd() % nroutes;
		random_route(&r);
		r.prefix = table[i].prefix;
		r.len = table[i].len;
		struct route rt = to_route(&r);
		assert_int_equal(route_table_insert(env.routes_fd, env.vpcs_fd, VNI, &rt), 0);
		table[i] = r;
		return;
	}
	random_route(&r); /* add, or replace when the prefix is already there */
	struct route rt = to_route(&r);
	assert_int_equal(route_table_insert(env.routes_fd, env.vpcs_fd, VNI, &rt), 0);
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
	int err = route_table_lookup(env.routes_fd, env.vpcs_fd, VNI, addr, &got);

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

static size_t entries_of_vpc(void)
{
	struct route_key k, next;
	size_t n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(env.routes_fd, prev, &next) == 0) {
		n += next.vni == VNI;
		k = next;
		prev = &k;
	}
	return n;
}

/*
 * The pivot's bookkeeping is exact: each /24 hint counts the slots longer than
 * the pivot under it, such a /24 always has a pivot slot (a marker when no
 * route of the level covers it), markers exist only there, and a route's
 * pivot slot is a leaf exactly when there are none (a missed leaf flag only
 * costs probes, so the lookups above could not see it).
 */
static void check_pivot_flags(void)
{
	struct route_key k, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(env.routes_fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (k.vni != VNI || (k.type != ROUTE_KEY_HINT && !(k.type == ROUTE_KEY_SLOT && k.len == 24)))
			continue;
		/* count the longer slots under this /24 by probing all of them */
		__u32 deeper = 0;
		for (unsigned int len = 28; len <= 32; len += 4)
			for (__u32 i = 0; i < (1U << (len - 24)); i++) {
				struct route_key dk = { .vni = VNI, .gen = k.gen, .type = ROUTE_KEY_SLOT, .len = (__u8)len,
							.addr = k.addr | htonl(i << (32 - len)) };
				struct route r;
				deeper += bpf_map_lookup_elem(env.routes_fd, &dk, &r) == 0;
			}
		struct route v;
		assert_int_equal(bpf_map_lookup_elem(env.routes_fd, &k, &v), 0);
		if (k.type == ROUTE_KEY_HINT) {
			struct route_key pk = k;
			pk.type = ROUTE_KEY_SLOT;
			assert_int_equal(v.peer_vni, deeper);
			/* a /24 with longer slots always has a pivot slot (a marker at least) */
			assert_int_equal(bpf_map_lookup_elem(env.routes_fd, &pk, &v), 0);
		} else if (v.slot_flags & ROUTE_SLOT_MARKER) {
			assert_true(deeper > 0);
			assert_int_equal(v.kind, 0);
		} else {
			assert_int_equal(!!(v.slot_flags & ROUTE_SLOT_LEAF), deeper == 0);
		}
	}
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
		check_pivot_flags();
		/* empty the table again: every slot must go with its last route */
		while (nroutes) {
			assert_int_equal(route_table_remove(env.routes_fd, env.vpcs_fd, VNI, table[nroutes - 1].prefix,
							    table[nroutes - 1].len), 0);
			nroutes--;
			if (nroutes % 16 == 0)
				check();
		}
		assert_int_equal(entries_of_vpc(), 0);
	}
}

static const struct CMUnitTest route_random_tests[] = {
	cmocka_unit_test(random_tables_match_reference),
};

SUITE(route_random_suite, "route_random", route_random_tests)

#endif
