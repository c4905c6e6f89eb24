/* bpf/route.h — where a destination lives in a VPC: its NIC, or the longest matching route. */
#ifndef VPCBPF_ROUTE_H
#define VPCBPF_ROUTE_H

/* Where a packet goes after the lookup. */
struct hop {
	struct nic_key dst_key; /* the NIC that receives the packet */
	const struct nic *dst;
	__u8 exact;             /* the destination address is that NIC's own, in the source VPC */
	__u8 internet;          /* an internet route: out of the external device (bpf/nat_out.h), no dst */
};

/* How many of the n first words of a line are <= a: the child (or pair) to follow. */
static __always_inline __u32 fib_rank(const struct fib_line *l, __u32 a, const int n)
{
	__u32 rank = 0;

	/* w <= a exactly when w - a - 1 borrows: no branch per key (BPF has no conditional move) */
#pragma unroll
	for (int i = 0; i < n; i++)
		rank += ((__u64)l->w[i] - a - 1) >> 63;
	return rank;
}

/*
 * Longest-prefix match in the VPC's fib region (see struct fib_line in
 * maps/vpcbpf.h): the direct entry of the address's chunk (big tables), one
 * line per tree level, the leaf, the result; 3 or 4 lines whatever the size
 * of the table, the prefix lengths or how routes nest. Links are relative to
 * the region's first line. maps/fib.c fib_lookup() is the same walk in user
 * space. The result's prefix field is not set: callers use kind, len, via and
 * peer_vni.
 */
static __always_inline const struct route *route_lookup(const struct vpc *vpc, __u32 vni, __be32 daddr)
{
	__u32 a = bpf_ntohl(daddr), base = vpc->fib_base, line = vpc->fib_root, depth = vpc->fib_depth;
	__u32 bits = vpc->fib_direct_bits, rank, res;
	const struct fib_line *l;
	const struct route *r;

	if (!base)
		return NULL;
	if (bits) {
		__u32 c, e;

		if (bits > FIB_DIRECT_MAX_BITS)
			return NULL;
		c = a >> (32 - bits);
		line += c / FIB_LINE_WORDS;
		l = bpf_map_lookup_elem(&fib, &line);
		if (!l)
			return NULL;
		e = l->w[c & (FIB_LINE_WORDS - 1)];
		line = base + (e & FIB_CHILD_MASK);
		depth = e >> FIB_CHILD_SHIFT;
	}
	/* a bounded loop (not unrolled): the verifier walks it once per level instead of once per path */
#pragma clang loop unroll(disable)
	for (__u32 d = 0; d < FIB_MAX_DEPTH && d < depth; d++) {
		__u32 link, last;

		l = bpf_map_lookup_elem(&fib, &line);
		if (!l)
			return NULL;
		link = l->w[FIB_FANOUT - 1];
		last = link >> FIB_CHILD_SHIFT;
		rank = fib_rank(l, a, FIB_FANOUT - 1);
		line = base + (link & FIB_CHILD_MASK) + (rank < last ? rank : last);
	}
	l = bpf_map_lookup_elem(&fib, &line);
	if (!l)
		return NULL;
	rank = fib_rank(l, a, FIB_LEAF_PAIRS); /* >= 1: a leaf's first start is <= every address routed to it */
	res = l->w[FIB_LEAF_PAIRS + ((rank - 1) & (FIB_LEAF_PAIRS - 1))];
	line = vpc->fib_results + res / FIB_RESULTS_PER_LINE;
	l = bpf_map_lookup_elem(&fib, &line);
	if (!l)
		return NULL;
	r = (const struct route *)l->w + (res & (FIB_RESULTS_PER_LINE - 1));
	return r->kind ? r : NULL;
}

/* The NIC (vni, ip), if the VPC has one. */
static __always_inline int hop_to_nic(struct hop *hop, __u32 vni, __be32 ip)
{
	hop->dst_key.vni = vni;
	hop->dst_key.ip = ip;
	hop->dst = bpf_map_lookup_elem(&nics, &hop->dst_key);
	return hop->dst != NULL;
}

/*
 * Resolve daddr within one VPC: a NIC with that address first, then the
 * route table. *peer_vni is set (and DROP_NONE returned with no dst) when
 * the route says to look again in a peer VPC.
 */
static __always_inline int route_resolve_in(__u32 vni, __be32 daddr, struct hop *hop,
					    __u32 *peer_vni, int vpc_missing_reason)
{
	const struct route *r;
	const struct vpc *vpc;

	if (hop_to_nic(hop, vni, daddr))
		return DROP_NONE;
	vpc = bpf_map_lookup_elem(&vpcs, &vni);
	if (!vpc)
		return vpc_missing_reason;
	r = route_lookup(vpc, vni, daddr);
	if (!r)
		return DROP_NO_ROUTE;

	switch (r->kind) {
	case ROUTE_VIA:
		return hop_to_nic(hop, vni, r->via) ? DROP_NONE : DROP_NEXTHOP_UNKNOWN;
	case ROUTE_PEER:
		*peer_vni = r->peer_vni;
		return DROP_NONE;
	case ROUTE_INTERNET:
		hop->internet = 1;
		return DROP_NONE;
	case ROUTE_BLACKHOLE:
		return DROP_BLACKHOLE;
	case ROUTE_CONNECTED:
		return DROP_NO_NIC;
	default:
		return DROP_NO_ROUTE;
	}
}

/*
 * Resolve daddr from a NIC of VPC vni. Peering is followed once: a peer
 * VPC that is missing, or whose route points at yet another peer, is
 * DROP_PEER_UNKNOWN (peering is not transitive).
 */
static __always_inline int route_resolve(__u32 vni, __be32 daddr, struct hop *hop)
{
	__u32 peer_vni = 0;
	int reason;

	hop->dst = NULL;
	hop->internet = 0;
	reason = route_resolve_in(vni, daddr, hop, &peer_vni, DROP_NO_ROUTE);
	if (reason || hop->dst || hop->internet) {
		hop->exact = !reason && hop->dst_key.ip == daddr;
		return reason;
	}

	reason = route_resolve_in(peer_vni, daddr, hop, &peer_vni, DROP_PEER_UNKNOWN);
	if (reason)
		return reason;
	/* a peer's internet route is not ours to use (no transit through a peering) */
	hop->internet = 0;
	if (!hop->dst)
		return DROP_PEER_UNKNOWN;
	hop->exact = 0;
	return DROP_NONE;
}

#endif
