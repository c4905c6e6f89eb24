/* tests/bench/lookup.bpf.c — one route lookup per run, by the datapath's levels or by a plain LPM trie, for `make bench`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpf/maps.bpf.h"
#include "bpf/parsing.h"
#include "bpf/route.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Each run of a program takes the next address from bench_addrs, so one
 * BPF_PROG_TEST_RUN with repeat = BENCH_ADDRS looks up that many different
 * destinations back to back (no cache flattery from one repeated key).
 * bench_base does everything but the lookup (the harness, shown apart).
 */
#define BENCH_ADDRS (1U << 16)

/* The naive design: one kernel LPM trie keyed (VPC, address). */
struct lpm_key {
	__u32 prefixlen; /* 32 (the VNI) + the route's prefix length */
	__u32 vni;
	__be32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1U << 21); /* resized by the harness */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, struct route);
} bench_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_ADDRS);
	__type(key, __u32);
	__type(value, __be32);
} bench_addrs SEC(".maps");

__u32 bench_vni;
__u32 cursor;
__u32 addr_mask = BENCH_ADDRS - 1; /* smaller: a hot set of that many destinations, cycled */

static __always_inline __be32 next_addr(void)
{
	__u32 i = cursor++ & addr_mask & (BENCH_ADDRS - 1);
	__be32 *a = bpf_map_lookup_elem(&bench_addrs, &i);

	return a ? *a : 0;
}

/* Return value: the matched route's prefix length, 255 for no match (the harness cross-checks). */
SEC("tc")
int bench_base(struct __sk_buff *skb)
{
	return next_addr() == 1 ? 1 : 255;
}

SEC("tc")
int bench_levels(struct __sk_buff *skb)
{
	__u32 vni = bench_vni;
	__be32 addr = next_addr();
	const struct vpc *vpc = bpf_map_lookup_elem(&vpcs, &vni);
	const struct route *r;

	if (!vpc)
		return 254;
	r = route_lookup(vpc, vni, addr);
	return r ? r->len : 255;
}

SEC("tc")
int bench_lpm_trie(struct __sk_buff *skb)
{
	struct lpm_key key = { .prefixlen = 64, .vni = bench_vni, .addr = next_addr() };
	const struct route *r = bpf_map_lookup_elem(&bench_lpm, &key);

	return r ? r->len : 255;
}

/*
 * One read of a line of the VPC's fib region at a place given by the address:
 * the cost of one tree level whose line is not in a cache (the memory floor
 * under every lookup design that touches memory once per step).
 */
SEC("tc")
int bench_probe(struct __sk_buff *skb)
{
	__u32 vni = bench_vni;
	__be32 addr = next_addr();
	const struct vpc *vpc = bpf_map_lookup_elem(&vpcs, &vni);
	const struct fib_line *l;
	__u32 line;

	if (!vpc || !vpc->fib_lines)
		return 254;
	line = vpc->fib_base + (addr * 2654435761U) % vpc->fib_lines;
	l = bpf_map_lookup_elem(&fib, &line);
	return l ? (l->w[0] & 1) : 255;
}
