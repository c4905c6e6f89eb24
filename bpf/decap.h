/* bpf/decap.h — underlay ingress in tc: strip VXLAN from a checked packet and hand it to its local NIC. */
#ifndef VPCBPF_DECAP_H
#define VPCBPF_DECAP_H

/*
 * Ingress security group of the destination NIC, on the decapsulated frame
 * (p parsed from it). The single call point for bpf/filter.h. Returns
 * non-zero when the packet must be dropped; the drop is already counted,
 * against the NIC whose group decided and with the rule that did.
 */
static __always_inline int decap_filter_ingress(struct pkt *p, const struct nic_key *dst_key, const struct nic *dst)
{
	__u32 rule;
	int reason = sg_filter(p, dst_key, dst, SG_INGRESS, &rule);

	if (reason)
		drop_count_at(p, dst_key, dst->ifindex, reason, rule);
	return reason;
}

/*
 * The inner frame's Ethernet source as the VM sees it: a sender in the
 * destination NIC's subnet keeps its own MAC (the same one ARP gave for
 * it), anything routed comes from the virtual router.
 */
static __always_inline void decap_src_mac(__u8 *out, const struct vxlan_rx *rx, const struct host *h)
{
	if ((rx->saddr & prefix_mask(rx->dst->subnet_len)) == rx->dst->subnet)
		mac_copy(out, rx->inner_eth->h_source);
	else
		mac_copy(out, h->router_mac);
}

#define ECN_MASK_ 3
#define ECN_CE_ 3

/*
 * Congestion experienced on the underlay reaches the VM (RFC 6040 normal
 * mode): an outer CE mark is copied into an ECN-capable inner header, with
 * the inner checksum fixed. Not-ECT inner packets are left as they are.
 * Returns the first 16 bits of the inner IPv4 header as they must become.
 */
static __always_inline __u16 decap_ecn_word(const struct vxlan_rx *rx, int *changed)
{
	__u16 word = *(__u16 *)rx->inner_ip;
	__u8 inner_ecn = rx->inner_ip->tos & ECN_MASK_;

	*changed = (rx->outer_ip->tos & ECN_MASK_) == ECN_CE_ && inner_ecn && inner_ecn != ECN_CE_;
	if (*changed)
		((__u8 *)&word)[1] |= ECN_CE_;
	return word;
}

/*
 * Remove the 50 bytes between the outer Ethernet header and the inner IP
 * header (outer IP, UDP, VXLAN, inner Ethernet) and write the inner frame's
 * Ethernet header in place of the outer one. FIXED_GSO: a GSO aggregate
 * keeps the segment size its sender chose for the inner flow.
 */
static __always_inline int decap_vxlan(struct __sk_buff *skb, struct vxlan_rx *rx, const struct host *h)
{
	__u16 old_word = *(__u16 *)rx->inner_ip, new_word;
	struct ethhdr eth;
	int ecn;

	new_word = decap_ecn_word(rx, &ecn);
	mac_copy(eth.h_dest, rx->dst->mac);
	decap_src_mac(eth.h_source, rx, h);
	eth.h_proto = bpf_htons(ETH_P_IP_);
	/* rx's packet pointers die here */
	if (bpf_skb_adjust_room(skb, -OVERLAY_OVERHEAD, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO))
		return DROP_VXLAN_MALFORMED;
	if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0))
		return DROP_VXLAN_MALFORMED;
	if (ecn && (bpf_l3_csum_replace(skb, ETH_HLEN_ + 10, old_word, new_word, 2) ||
		    bpf_skb_store_bytes(skb, ETH_HLEN_, &new_word, 2, 0)))
		return DROP_VXLAN_MALFORMED;
	return DROP_NONE;
}

/*
 * The tc half of underlay ingress: check (again, when XDP ran first: the
 * maps may have changed in between and tc must stand alone with xdp off),
 * decapsulate, filter, deliver. Not VXLAN for us: TC_ACT_OK, untouched.
 */
static __always_inline int underlay_tc(struct __sk_buff *skb)
{
	struct vxlan_rx rx = {};
	struct pkt p = {};
	const struct host *h;
	__u32 zero = 0, len, linear;
	int reason;

	h = bpf_map_lookup_elem(&host, &zero);
	if (!h || !(h->flags & HOST_F_UP))
		return TC_ACT_OK_;
	linear = skb->data_end - skb->data;
	if (linear < VXLAN_ARP_LEN && skb->len > linear)
		bpf_skb_pull_data(skb, skb->len < VXLAN_ARP_LEN ? skb->len : VXLAN_ARP_LEN);
	/* keep clang from merging the ctx reads of both paths into one computed access */
	asm volatile("" : "+r"(skb));
	reason = vxlan_parse((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, h, &rx);
	if (reason == VXLAN_NOT_OURS)
		return TC_ACT_OK_;
	if (!reason)
		reason = vxlan_find_nic(&rx);
	if (!reason && rx.arp) {
		reason = vxlan_arp_reply(skb, &rx, h);
		if (!reason)
			return TC_ACT_REDIRECT_;
		vxlan_drop_count(skb->ifindex, &rx, reason);
		return TC_ACT_SHOT_;
	}
	if (!reason)
		reason = decap_vxlan(skb, &rx, h);
	if (reason) {
		vxlan_drop_count(skb->ifindex, &rx, reason);
		return TC_ACT_SHOT_;
	}

	len = skb->len;
	if (parse_eth(skb, &p) || parse_ipv4(skb, &p)) {
		vxlan_drop_count(skb->ifindex, &rx, DROP_MALFORMED);
		return TC_ACT_SHOT_;
	}
	if (decap_filter_ingress(&p, &rx.dst_key, rx.dst))
		return TC_ACT_SHOT_;
	if (redirect_nic(skb, rx.dst->ifindex, rx.dst->flags) != TC_ACT_REDIRECT_) {
		vxlan_drop_count(skb->ifindex, &rx, DROP_REDIRECT_FAILED);
		return TC_ACT_SHOT_;
	}
	stats_rx(rx.dst, len);
	return TC_ACT_REDIRECT_;
}

#endif
