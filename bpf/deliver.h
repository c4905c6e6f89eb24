/* bpf/deliver.h — hand a forwarded packet to its NIC: rewrite the hop, then a local redirect or the overlay. */
#ifndef VPCBPF_DELIVER_H
#define VPCBPF_DELIVER_H

/*
 * A routed hop decrements the TTL (RFC 1812 5.3.1), fixing the header
 * checksum incrementally. Returns DROP_NONE, or DROP_TTL_EXCEEDED when the
 * packet may go no further.
 */
static __always_inline int deliver_decrement_ttl(struct iphdr *ip)
{
	__u16 old_word, new_word;

	if (ip->ttl <= 1)
		return DROP_TTL_EXCEEDED;
	old_word = csum_word_at(&ip->ttl);
	ip->ttl--;
	new_word = csum_word_at(&ip->ttl);
	csum_replace2(&ip->check, old_word, new_word);
	return DROP_NONE;
}

/* Local NIC: its security group (ingress) decides, then into the VM (bpf/redirect.h: the peer path where it can). */
static __always_inline int deliver_local(struct __sk_buff *skb, struct pkt *p,
					 const struct src_nic *port, const struct hop *hop)
{
	__u32 len = skb->len;
	__u32 rule;
	int reason;

	reason = sg_filter(p, &hop->dst_key, hop->dst, SG_INGRESS, &rule);
	if (reason) {
		drop_count_at(p, &hop->dst_key, hop->dst->ifindex, reason, rule);
		return TC_ACT_SHOT_;
	}

	if (redirect_nic(skb, hop->dst->ifindex, hop->dst->flags) != TC_ACT_REDIRECT_)
		return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);
	stats_rx(hop->dst, len);
	return TC_ACT_REDIRECT_;
}

/*
 * Remote NIC: VXLAN to the host it lives on (bpf/encap.h). This is the
 * single place the overlay plugs in.
 */
static __always_inline int deliver_remote(struct __sk_buff *skb, struct pkt *p,
					  const struct src_nic *port, const struct hop *hop)
{
	return encap_vxlan(skb, p, port, hop);
}

/*
 * Deliver an IPv4 packet to hop->dst. Same subnet is bridged-like (TTL
 * kept, the source NIC's MAC as source); anything else is a routed hop
 * through the virtual router (TTL - 1, router MAC as source). A TTL that
 * runs out turns the packet into ICMP time exceeded back to the sender.
 */
static __always_inline int deliver(struct __sk_buff *skb, struct pkt *p, const struct src_nic *port,
				   const struct hop *hop)
{
	const struct nic *src = port->nic;
	int same_subnet = hop->exact && (p->daddr & prefix_mask(src->subnet_len)) == src->subnet;
	const __u8 *eth_src = src->mac;

	if (!same_subnet) {
		if (deliver_decrement_ttl(p->ip)) {
			drop_count(skb, p, &port->key, DROP_TTL_EXCEEDED);
			if (icmp_send_error(skb, p, ICMP_TIME_EXCEEDED_, ICMP_EXC_TTL_, 0,
					    src->gateway, port->host->router_mac))
				return TC_ACT_SHOT_;
			stats_rx(port->nic, skb->len);
			if (redirect_back(skb, src) != TC_ACT_REDIRECT_)
				return TC_ACT_SHOT_;
			return TC_ACT_REDIRECT_;
		}
		eth_src = port->host->router_mac;
	}
	mac_copy(p->eth->h_source, eth_src);
	mac_copy(p->eth->h_dest, hop->dst->mac);

	if (hop->dst->flags & NIC_F_LOCAL)
		return deliver_local(skb, p, port, hop);
	if (hop->dst->flags & NIC_F_REMOTE)
		return deliver_remote(skb, p, port, hop);
	return drop(skb, p, &port->key, DROP_NO_NIC);
}

#endif
