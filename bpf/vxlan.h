/* bpf/vxlan.h — the VXLAN wire format (RFC 7348) and the checks every received VXLAN packet passes, for XDP and tc alike. */
#ifndef VPCBPF_VXLAN_H
#define VPCBPF_VXLAN_H

/*
 * On the wire (OVERLAY_OVERHEAD = 50 bytes in front of the inner IP header):
 *   outer Ethernet 14 | outer IPv4 20 (no options) | UDP 8 | VXLAN 8 | inner Ethernet 14
 */
struct vxlanhdr_ {
	__be32 flags; /* only the I flag (0x08 in the first byte); the rest reserved, zero */
	__be32 vni;   /* VNI in the upper 24 bits, reserved low byte */
};

#define VXLAN_FLAGS_I 0x08000000U /* host order */
#define VXLAN_TTL 64
#define IP_DF_ 0x4000
#define VXLAN_HLEN (20 + 8 + 8)   /* outer IPv4 + UDP + VXLAN */
#define VXLAN_INNER_OFF (ETH_HLEN_ + VXLAN_HLEN) /* where the inner Ethernet header starts */
#define VXLAN_PARSE_LEN (VXLAN_INNER_OFF + ETH_HLEN_ + 20) /* headers a decision needs */
#define VXLAN_NOT_OURS (-1)       /* not VXLAN for this host: the kernel gets it untouched */
#define VXLAN_ARP_LEN (VXLAN_INNER_OFF + ETH_HLEN_ + 28) /* a whole VXLAN frame carrying an ARP request */

/* A received VXLAN packet, checked, and where it goes. Pointers die with the packet data. */
struct vxlan_rx {
	struct iphdr *outer_ip;
	struct ethhdr *inner_eth;
	struct iphdr *inner_ip;
	__u32 vni;
	__be32 outer_saddr;
	__be32 saddr; /* inner addresses and ports, copies kept for drop events */
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	struct nic_key dst_key; /* the local NIC it is delivered to */
	const struct nic *dst;
	__u8 arp; /* an ARP request from a peer's flood, answered for dst (bpf/vxlan_arp.h); a flag, not a packet
		   * pointer, which the verifier would not know to be non-NULL */
};

/*
 * Whether the frame in [data, data_end) (of total length len) is VXLAN to
 * this host, and if so whether it is well formed. Returns VXLAN_NOT_OURS
 * (anything else: IPv4 to another address, other UDP ports, non-first
 * fragments, which cannot be told apart from other UDP), DROP_NONE, or the
 * drop reason. An outer header we would have to interpret (IP options, a
 * first fragment) is malformed: our own senders never produce one and a
 * reassembly would be the kernel's job, not a datapath's.
 *
 * Length checks are loose on purpose for GSO aggregates (veth hands over
 * 64K super-packets whose length fields are placeholders): the headers must
 * be present and no length field may point past the packet.
 */
static __always_inline int vxlan_parse(void *data, void *data_end, __u32 len, const struct host *h,
				       struct vxlan_rx *rx)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;
	struct vxlanhdr_ *vx;
	struct ethhdr *inner_eth;
	struct iphdr *inner;
	__u16 frag, tot_len, inner_len;
	__u32 hlen;

	if ((void *)(ip + 1) > data_end)
		return VXLAN_NOT_OURS;
	if (eth->h_proto != bpf_htons(ETH_P_IP_) || ip->version != 4 || ip->protocol != IPPROTO_UDP ||
	    ip->daddr != h->underlay_ip)
		return VXLAN_NOT_OURS;
	frag = bpf_ntohs(ip->frag_off);
	if (frag & IP_OFFSET_)
		return VXLAN_NOT_OURS;
	hlen = ip->ihl * 4;
	if (hlen < 20)
		return VXLAN_NOT_OURS;
	udp = (void *)ip + hlen;
	if ((void *)(udp + 1) > data_end)
		return VXLAN_NOT_OURS;
	if (udp->dest != bpf_htons(h->vxlan_port))
		return VXLAN_NOT_OURS;

	/* From here on it is addressed to our VXLAN port: ours to accept or to drop. */
	rx->outer_saddr = ip->saddr;
	if (hlen != 20 || (frag & IP_MF_))
		return DROP_VXLAN_MALFORMED;
	tot_len = bpf_ntohs(ip->tot_len);
	if ((tot_len && tot_len < VXLAN_HLEN) || tot_len > len - ETH_HLEN_)
		return DROP_VXLAN_MALFORMED;
	vx = (void *)(udp + 1);
	inner_eth = (void *)(vx + 1);
	inner = (void *)(inner_eth + 1);
	if ((void *)(inner + 1) > data_end || len < VXLAN_PARSE_LEN)
		return DROP_VXLAN_MALFORMED;
	if (vx->flags != bpf_htonl(VXLAN_FLAGS_I))
		return DROP_VXLAN_MALFORMED;
	rx->vni = bpf_ntohl(vx->vni) >> 8;

	/*
	 * The inner frame: IPv4, or an ARP request. vpcbpf hosts answer their VMs' ARP locally and
	 * never tunnel it, but a plain Linux vxlan device floods its VMs' requests to every VTEP it
	 * knows: the host of the target NIC answers (bpf/vxlan_arp.h). Replies and the rest: unsupported.
	 */
	if (inner_eth->h_proto == bpf_htons(ETH_P_ARP_)) {
		struct arp_eth_ipv4 *arp = (void *)(inner_eth + 1);

		if ((void *)(arp + 1) > data_end)
			return DROP_MALFORMED;
		rx->outer_ip = ip;
		rx->inner_eth = inner_eth;
		rx->saddr = arp->spa;
		rx->daddr = arp->tpa;
		if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP_) || arp->hlen != ETH_ALEN_ ||
		    arp->plen != 4 || arp->op != bpf_htons(1 /* request */))
			return DROP_UNSUPPORTED;
		rx->arp = 1;
		return DROP_NONE;
	}
	if (inner_eth->h_proto != bpf_htons(ETH_P_IP_))
		return DROP_UNSUPPORTED;
	if (inner->version != 4 || inner->ihl < 5)
		return DROP_MALFORMED;
	inner_len = bpf_ntohs(inner->tot_len);
	if (inner_len > len - VXLAN_INNER_OFF - ETH_HLEN_)
		return DROP_MALFORMED;
	rx->outer_ip = ip;
	rx->inner_eth = inner_eth;
	rx->inner_ip = inner;
	rx->saddr = inner->saddr;
	rx->daddr = inner->daddr;
	rx->proto = inner->protocol;
	if (inner->ihl == 5 && !(bpf_ntohs(inner->frag_off) & IP_OFFSET_) &&
	    (inner->protocol == IPPROTO_TCP || inner->protocol == IPPROTO_UDP)) {
		__be16 *ports = (void *)(inner + 1);

		if ((void *)(ports + 2) <= data_end) {
			rx->sport = ports[0];
			rx->dport = ports[1];
		}
	}
	return DROP_NONE;
}

/*
 * The local NIC a decapsulated packet (or an ARP request: the target's NIC) is for: the NIC with the inner
 * destination address in the VPC of the VNI or, for a packet routed to an
 * appliance (a route `via` a NIC that lives here), the route's next hop,
 * exactly as the sending host resolved it. A NIC that lives elsewhere is
 * DROP_NOT_LOCAL: hosts never relay each other's traffic.
 */
static __always_inline int vxlan_find_nic(struct vxlan_rx *rx)
{
	const struct vpc *vpc;
	const struct route *r;

	/*
	 * The NIC first: a NIC exists only inside its VPC (the tool adds the VPC
	 * before and removes it after its NICs), so a hit proves the VNI, and
	 * the common packet costs one hash lookup instead of two.
	 */
	rx->dst_key.vni = rx->vni;
	rx->dst_key.ip = rx->daddr;
	rx->dst = bpf_map_lookup_elem(&nics, &rx->dst_key);
	if (!rx->dst) {
		vpc = bpf_map_lookup_elem(&vpcs, &rx->vni);
		if (!vpc)
			return DROP_UNKNOWN_VNI;
		if (rx->arp)
			return DROP_NO_NIC; /* ARP asks for an address, never for a route */
		r = route_lookup(vpc, rx->vni, rx->daddr);
		if (!r || r->kind != ROUTE_VIA)
			return DROP_NO_NIC;
		rx->dst_key.ip = r->via;
		rx->dst = bpf_map_lookup_elem(&nics, &rx->dst_key);
		if (!rx->dst)
			return DROP_NO_NIC;
	}
	if (!(rx->dst->flags & NIC_F_LOCAL))
		return DROP_NOT_LOCAL;
	return DROP_NONE;
}

/*
 * Count a dropped underlay packet by reason (and against the destination
 * NIC when it is known), with the same sampling as stats.h's drop_count.
 */
static __always_inline void vxlan_drop_count(__u32 ifindex, const struct vxlan_rx *rx, __u32 reason)
{
	__u32 idx = reason;
	__u64 *count = bpf_map_lookup_elem(&drops, &idx);
	__u64 n = 1;

	if (count)
		n = ++*count;
	if (rx->dst) {
		struct nic_drops *s = nic_drops_of(&rx->dst_key);

		if (s)
			nic_stats_drop(s, reason);
	}
	if ((n & DROP_EVENT_SAMPLE_MASK) == 1) {
		struct drop_event ev = {
			.ts_ns = bpf_ktime_get_ns(),
			.ifindex = ifindex,
			.vni = rx->vni,
			.reason = reason,
			.proto = rx->proto,
			.saddr = rx->saddr,
			.daddr = rx->daddr,
			.sport = rx->sport,
			.dport = rx->dport,
		};

		bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
	}
}

#endif
