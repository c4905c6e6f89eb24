/* bpf/encap.h — VM egress to a NIC on another host: the MTU check, VXLAN encapsulation and the underlay next hop. */
#ifndef VPCBPF_ENCAP_H
#define VPCBPF_ENCAP_H

#define AF_INET_ 2
#define ENCAP_SPORT_BASE 49152 /* IANA ephemeral range 49152-65535 ... */
#define ENCAP_SPORT_MASK 0x3fff /* ... 16384 ports */
/* uapi macros vmlinux.h cannot carry: the inner L2 length for bpf_skb_adjust_room */
#define BPF_F_ADJ_ROOM_ENCAP_L2_(len) (((__u64)(len)&0xff) << 56)

#define READ_ONCE_U32(x) (*(volatile __u32 *)&(x))

/* A 32-bit avalanche mixer (the murmur3 finaliser): every input bit moves every output bit. */
static __always_inline __u32 flow_mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/*
 * The outer UDP source port: a hash of the inner flow, so that underlay
 * ECMP and RSS spread flows while every packet of one flow takes one path
 * (RFC 7348 section 5). The ports are left out for fragments, so all the
 * fragments of a datagram hash alike. Our own hash rather than the
 * kernel's skb hash: it is the same on every host and every boot, and a
 * test can predict it.
 */
static __always_inline __u16 encap_sport(const struct pkt *p, __u32 vni)
{
	__u32 ports = 0, h;

	if (ipv4_is_whole(p->ip))
		ports = ((__u32)p->sport << 16) | p->dport;
	h = flow_mix(vni ^ ((__u32)p->ip_proto << 24));
	h = flow_mix(h ^ p->saddr);
	h = flow_mix(h ^ p->daddr);
	h = flow_mix(h ^ ports);
	return ENCAP_SPORT_BASE + (h & ENCAP_SPORT_MASK);
}

/*
 * The largest inner IP packet that one underlay frame will carry: the
 * packet itself, or for a GSO packet one segment (its headers + gso_size),
 * since the kernel cuts it up after the encapsulation.
 */
static __always_inline __u32 encap_segment_len(struct __sk_buff *skb, const struct pkt *p)
{
	/* read once: the compiler must not turn two ctx reads into one computed access */
	__u32 gso_size = READ_ONCE_U32(skb->gso_size);
	__u32 l4_hlen = 0;

	if (!gso_size)
		return p->ip_len;
	if (p->ip_proto == IPPROTO_TCP) {
		__u8 doff = 0;

		if (bpf_skb_load_bytes(skb, ETH_HLEN_ + p->ip_hlen + 12, &doff, 1) == 0)
			l4_hlen = (doff >> 4) * 4;
	} else if (p->ip_proto == IPPROTO_UDP) {
		l4_hlen = 8;
	}
	return p->ip_hlen + l4_hlen + gso_size;
}

/*
 * Too big for the overlay: the sender learns the overlay MTU (underlay MTU
 * - 50) from ICMP "fragmentation needed", sent back from its gateway. We
 * cannot fragment, so a packet without DF gets the same answer rather than
 * a silent loss. deliver() has already put the destination's MACs on the
 * frame; the error goes back to the sender's own MAC.
 */
static __always_inline int encap_frag_needed(struct __sk_buff *skb, struct pkt *p, const struct src_nic *port)
{
	const struct host *h = port->host;

	drop_count(skb, p, &port->key, DROP_FRAG_NEEDED);
	mac_copy(p->eth->h_source, port->nic->mac);
	if (icmp_send_error(skb, p, ICMP_DEST_UNREACH_, ICMP_FRAG_NEEDED_, h->underlay_mtu - OVERLAY_OVERHEAD,
			    port->nic->gateway, h->router_mac))
		return TC_ACT_SHOT_;
	stats_rx(port->nic, skb->len);
	if (redirect_back(skb, port->nic) != TC_ACT_REDIRECT_)
		return TC_ACT_SHOT_;
	return TC_ACT_REDIRECT_;
}

/* The headers put in front of the VM's frame; the inner Ethernet header is the frame's own, moved. */
struct encap_hdr {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	struct vxlanhdr_ vx;
	struct ethhdr inner;
} __attribute__((packed));
_Static_assert(sizeof(struct encap_hdr) == ETH_HLEN_ + OVERLAY_OVERHEAD, "VXLAN encapsulation is 50 bytes + Ethernet");

#define EALREADY_ 114

/*
 * Make the 50 bytes of room. The kernel refuses the encap flags (-EALREADY)
 * on an skb that still has skb->encapsulation set: a packet an appliance
 * forwards (VXLAN in, decapsulated here, forwarded by the VM, back to us)
 * over a veth underlay is the very skb that arrived encapsulated, and no
 * adjust_room flag clears the bit on decap (BPF_F_ADJ_ROOM_DECAP_L3_* does
 * not). Plain room then does the job. Without GSO the flags only describe
 * how to segment. A GSO packet still carries what our first encapsulation
 * set: gso_type UDP_TUNNEL, inner protocol TEB, and inner header offsets
 * that still point at its inner frame (decap, forwarding and this push move
 * only the bytes in front of it), so it describes this encapsulation too,
 * and software segmentation takes the outer headers from the packet itself.
 * Real NIC underlays build fresh skbs and never get here (docs/overlay.md).
 */
static __always_inline int encap_room(struct __sk_buff *skb, __u64 flags)
{
	int err = bpf_skb_adjust_room(skb, OVERLAY_OVERHEAD, BPF_ADJ_ROOM_MAC, flags);

	if (err == -EALREADY_)
		err = bpf_skb_adjust_room(skb, OVERLAY_OVERHEAD, BPF_ADJ_ROOM_MAC, 0);
	return err;
}

/*
 * VXLAN to the host the NIC lives on (hop->dst->remote), VNI = the VPC of
 * the destination NIC. The kernel chooses the underlay next hop: a FIB
 * lookup from the underlay address, then either the neighbour it already
 * knows (MACs written here, plain redirect) or bpf_redirect_neigh, which
 * resolves it. bpf_fib_lookup insists on IPv4 forwarding being enabled on
 * the underlay device; where it is not, bpf_redirect_neigh does the route
 * lookup itself (an unreachable remote is then dropped by the kernel
 * rather than counted here). The room is made with the encap flags so that a GSO packet
 * stays one GSO packet (the kernel segments it as UDP tunnel GSO, with
 * each segment as large as the VM made it: FIXED_GSO, since the MTU check
 * already covered the 50 bytes).
 */
static __always_inline int encap_vxlan(struct __sk_buff *skb, struct pkt *p, const struct src_nic *port,
				       const struct hop *hop)
{
	const struct host *h = port->host;
	struct bpf_fib_lookup fib = {};
	struct encap_hdr hdr = {};
	struct iphdr ip = {};
	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
		      BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2_(ETH_HLEN_);
	__u32 frame_len = skb->len, outer_len;
	__u16 sport;
	int rc;

	if (!h->underlay_ifindex || !h->underlay_ip)
		return drop(skb, p, &port->key, DROP_UNDERLAY_UNREACHABLE);
	if (encap_segment_len(skb, p) + OVERLAY_OVERHEAD > h->underlay_mtu)
		return encap_frag_needed(skb, p, port);

	sport = encap_sport(p, hop->dst_key.vni);
	fib.family = AF_INET_;
	fib.l4_protocol = IPPROTO_UDP;
	fib.sport = bpf_htons(sport);
	fib.dport = bpf_htons(h->vxlan_port);
	fib.ipv4_src = h->underlay_ip;
	fib.ipv4_dst = hop->dst->remote;
	fib.ifindex = h->underlay_ifindex;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH && rc != BPF_FIB_LKUP_RET_FWD_DISABLED)
		return drop(skb, p, &port->key, DROP_UNDERLAY_UNREACHABLE);

	/* Outer IPv4: DF, since the check above guarantees the fit; TOS copied from the inner packet. */
	outer_len = frame_len + VXLAN_HLEN;
	ip.version = 4;
	ip.ihl = 5;
	ip.tos = p->ip->tos;
	/* a GSO packet's lengths are placeholders the segmentation rewrites; keep them in range */
	ip.tot_len = bpf_htons(outer_len > 0xffff ? 0xffff : outer_len);
	ip.frag_off = bpf_htons(IP_DF_);
	ip.ttl = VXLAN_TTL;
	ip.protocol = IPPROTO_UDP;
	ip.saddr = h->underlay_ip;
	ip.daddr = hop->dst->remote;
	ip.check = csum_ipv4_header(&ip);

	__builtin_memcpy(&hdr.inner, p->eth, sizeof(hdr.inner));
	hdr.eth.h_proto = bpf_htons(ETH_P_IP_);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		mac_copy(hdr.eth.h_source, fib.smac);
		mac_copy(hdr.eth.h_dest, fib.dmac);
	}
	hdr.ip = ip;
	hdr.udp.source = bpf_htons(sport);
	hdr.udp.dest = bpf_htons(h->vxlan_port);
	hdr.udp.len = bpf_htons(outer_len - 20 > 0xffff ? 0xffff : outer_len - 20);
	hdr.udp.check = 0; /* allowed for IPv4 (RFC 7348 section 5) */
	hdr.vx.flags = bpf_htonl(VXLAN_FLAGS_I);
	hdr.vx.vni = bpf_htonl(hop->dst_key.vni << 8);

	/* p's packet pointers die here */
	if (encap_room(skb, flags))
		return drop(skb, p, &port->key, DROP_ENCAP_FAILED);
	if (bpf_skb_store_bytes(skb, 0, &hdr, sizeof(hdr), 0))
		return drop(skb, p, &port->key, DROP_ENCAP_FAILED);

	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		if (bpf_redirect(fib.ifindex, 0) != TC_ACT_REDIRECT_)
			return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);
	} else if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = { .nh_family = AF_INET_, .ipv4_nh = fib.ipv4_dst };

		if (bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0) != TC_ACT_REDIRECT_)
			return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);
	} else if (bpf_redirect_neigh(h->underlay_ifindex, NULL, 0, 0) != TC_ACT_REDIRECT_) {
		return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);
	}
	stats_rx(hop->dst, frame_len);
	return TC_ACT_REDIRECT_;
}

#endif
