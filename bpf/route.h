/* bpf/route.h — where a destination lives in a VPC: its NIC, or the longest matching route. */
#ifndef VPCBPF_ROUTE_H
#define VPCBPF_ROUTE_H

/* Where a packet goes after the lookup. */
struct hop {
	struct nic_key dst_key; /* the NIC that receives the packet */
	const struct nic *dst;
	__u8 exact;             /* the destination address is that NIC's own, in the source VPC */
};

/* One exact-match probe: the slot of `level` that covers daddr. */
static __always_inline const struct route *route_probe(struct route_key *key, __be32 daddr, int level)
{
	key->len = ROUTE_LEVEL_LEN(level);
	key->addr = daddr & prefix_mask(ROUTE_LEVEL_LEN(level));
	return bpf_map_lookup_elem(&routes, key);
}

/*
 * Longest-prefix match by levels (see struct vpc in maps/vpcbpf.h): at most
 * ROUTE_LEVELS exact-match probes, skipping levels the VPC does not use. The
 * pivot level (/24) goes first: a pivot slot marked ROUTE_SLOT_LEAF has no
 * longer slot under it, so most lookups end after one probe; no pivot slot
 * at all means nothing longer either, so the walk skips to the shorter
 * levels. Otherwise the levels go longest first, the pivot's route in its
 * place. Every probe of a large table is a cache (and TLB) miss, so the
 * number of probes is the cost; maps/route_table.c route_table_lookup() is
 * the same walk in user space.
 */
static __always_inline const struct route *route_lookup(const struct vpc *vpc, __u32 vni, __be32 daddr)
{
	struct route_key key = {
		.vni = vni,
		.gen = vpc->route_gen,
		.type = ROUTE_KEY_SLOT,
	};
	const struct route *pivot = NULL;
	__u32 levels = vpc->levels;

	if (levels & ~0U << ROUTE_PIVOT_LEVEL) {
		pivot = route_probe(&key, daddr, ROUTE_PIVOT_LEVEL);
		if (pivot && (pivot->slot_flags & ROUTE_SLOT_LEAF))
			return pivot;
	}
#pragma unroll
	for (int i = ROUTE_LEVELS - 1; i >= 0; i--) {
		const struct route *r;

		if (i > ROUTE_PIVOT_LEVEL && !pivot)
			continue; /* no pivot slot: nothing longer under this /24 */
		if (i == ROUTE_PIVOT_LEVEL) {
			if (pivot && !(pivot->slot_flags & ROUTE_SLOT_MARKER))
				return pivot;
			continue;
		}
		if (!(levels & (1U << i)))
			continue;
		r = route_probe(&key, daddr, i);
		if (r)
			return r;
	}
	return NULL;
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
	reason = route_resolve_in(vni, daddr, hop, &peer_vni, DROP_NO_ROUTE);
	if (reason || hop->dst) {
		hop->exact = !reason && hop->dst_key.ip == daddr;
		return reason;
	}

	reason = route_resolve_in(peer_vni, daddr, hop, &peer_vni, DROP_PEER_UNKNOWN);
	if (reason)
		return reason;
	if (!hop->dst)
		return DROP_PEER_UNKNOWN;
	hop->exact = 0;
	return DROP_NONE;
}

#endif
