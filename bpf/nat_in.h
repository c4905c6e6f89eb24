/* bpf/nat_in.h — the external device's ingress: ARP for local EIPs, traffic to an EIP, replies to SNAT mappings and ICMP errors about both. */
#ifndef VPCBPF_NAT_IN_H
#define VPCBPF_NAT_IN_H

/*
 * Answer `who-has EIP` on the external device when the EIP's NIC lives
 * here: the host holding the NIC receives its traffic. Anything else
 * (another host's EIP, the host's own addresses) is the kernel's.
 */
static __always_inline int nat_arp(struct __sk_buff *skb, struct pkt *p, const struct nat_host *nh)
{
	struct arp_eth_ipv4 *arp = p->arp;
	const struct nic_key *k;
	const struct nic *n;
	__be32 target;

	if (arp->op != bpf_htons(ARPOP_REQUEST_))
		return TC_ACT_OK_;
	target = arp->tpa;
	k = bpf_map_lookup_elem(&eips, &target);
	if (!k)
		return TC_ACT_OK_;
	n = bpf_map_lookup_elem(&nics, k);
	if (!n || !(n->flags & NIC_F_LOCAL))
		return TC_ACT_OK_;
	arp->op = bpf_htons(ARPOP_REPLY_);
	mac_copy(arp->tha, arp->sha);
	arp->tpa = arp->spa;
	mac_copy(arp->sha, nh->ext_mac);
	arp->spa = target;
	mac_copy(p->eth->h_dest, p->eth->h_source);
	mac_copy(p->eth->h_source, nh->ext_mac);
	return bpf_redirect(skb->ifindex, 0);
}

/*
 * A translated packet to NIC dk: a routed hop from the internet (TTL - 1,
 * the router MAC as source). A local NIC's security group decides on the
 * packet as the VM will see it; a NIC on another host (moved, its EIP's ARP
 * not yet followed) is reached over VXLAN, its host's group deciding there.
 */
static __always_inline int nat_deliver(struct __sk_buff *skb, const struct host *h, const struct nic_key *dk)
{
	const struct nic *dst = bpf_map_lookup_elem(&nics, dk);
	struct pkt p = {};
	__u32 len = skb->len, rule;
	int reason;

	asm volatile("" : "+r"(skb));
	if (parse_eth(skb, &p) || parse_ipv4(skb, &p))
		return drop(skb, &p, dk, DROP_MALFORMED);
	if (!dst)
		return drop(skb, &p, NULL, DROP_NO_NIC);
	if (deliver_decrement_ttl(p.ip))
		return drop(skb, &p, dk, DROP_TTL_EXCEEDED);
	mac_copy(p.eth->h_source, h->router_mac);
	mac_copy(p.eth->h_dest, dst->mac);

	if (dst->flags & NIC_F_LOCAL) {
		reason = sg_filter(&p, dk, dst, SG_INGRESS, &rule);
		if (reason) {
			drop_count_at(&p, dk, dst->ifindex, reason, rule);
			return TC_ACT_SHOT_;
		}
		if (redirect_nic(skb, dst->ifindex, dst->flags) != TC_ACT_REDIRECT_)
			return drop(skb, &p, dk, DROP_REDIRECT_FAILED);
		stats_rx(dst, len);
		return TC_ACT_REDIRECT_;
	}
	if (dst->flags & NIC_F_REMOTE) {
		struct src_nic from = { .key = *dk, .nic = dst, .host = h };
		struct hop hop = { .dst_key = *dk, .dst = dst };

		/* too big for the overlay: no ICMP toward the internet from a private gateway address */
		if (encap_segment_len(skb, &p) + OVERLAY_OVERHEAD > h->underlay_mtu)
			return drop(skb, &p, dk, DROP_FRAG_NEEDED);
		return encap_vxlan(skb, &p, &from, &hop);
	}
	return drop(skb, &p, dk, DROP_NO_NIC);
}

/*
 * Into NIC dk, through the program external_deliver (a tail call with the
 * NIC's key in skb->cb): the security group and the delivery get a stack
 * frame of their own.
 */
static __always_inline int nat_to_nic(struct __sk_buff *skb, const struct pkt *p, const struct nic_key *dk)
{
	skb->cb[0] = dk->vni;
	skb->cb[1] = dk->ip;
	bpf_tail_call(skb, &external_tails, EXT_TAIL_DELIVER);
	return drop(skb, p, dk, DROP_NO_EXTERNAL); /* dp up has not installed external_deliver */
}

/*
 * An ICMP error (frag needed, port unreachable, time exceeded...) about a
 * packet that left as an EIP or through a mapping: the outer destination,
 * and inside the quote the source address, the port or echo identifier and
 * the quoted checksums, all as the VM sent them, so its PMTU discovery and
 * traceroute work. Rewritten in place with incremental checksums (errors
 * come from the wire with complete checksums). Quotes with IP options are
 * the kernel's. Returns TC_ACT_OK_ when the error is about no flow of ours.
 */
static __always_inline int nat_in_icmp_error(struct __sk_buff *skb, struct pkt *p, const struct host *h)
{
	struct icmphdr *icmp = nat_l4(p);
	struct iphdr *ip = p->ip, *in;
	struct nat_key ik = { .dir = NAT_IN };
	struct nic_key dk;
	const struct nic_key *ek;
	__be32 old_addr, new_addr;
	__be16 old_port = 0, new_port = 0;
	__u16 *l4, old_word;

	in = (void *)(icmp + 1);
	if ((void *)(in + 1) > p->data_end || in->version != 4 || in->ihl != 5)
		return TC_ACT_OK_;
	l4 = (void *)(in + 1);
	if ((void *)(l4 + 4) > p->data_end)
		return TC_ACT_OK_;
	old_addr = in->saddr;
	if (old_addr != p->daddr)
		return TC_ACT_OK_; /* the quoted packet did not come from the address the error is sent to */

	ek = bpf_map_lookup_elem(&eips, &old_addr);
	if (ek) {
		dk = *ek;
		new_addr = dk.ip;
	} else {
		const struct nat_entry *e;

		ik.addr = old_addr;
		ik.remote = in->daddr;
		ik.proto = in->protocol;
		if (in->protocol == IPPROTO_TCP || in->protocol == IPPROTO_UDP) {
			ik.port = l4[0];
			ik.remote_port = l4[1];
		} else if (in->protocol == IPPROTO_ICMP && *(__u8 *)l4 == ICMP_ECHO_) {
			ik.port = l4[2];
		} else {
			return TC_ACT_OK_;
		}
		e = bpf_map_lookup_elem(&nat, &ik);
		if (!e)
			return TC_ACT_OK_;
		dk.vni = e->vni;
		dk.ip = e->addr;
		new_addr = e->addr;
		old_port = ik.port;
		new_port = e->port;
	}

	/* outer destination: the IP header only (ICMP has no pseudo header) */
	csum_replace4(&ip->check, ip->daddr, new_addr);
	ip->daddr = new_addr;
	/* the quoted header: its source, and the checksums that cover it */
	nat_quote_rewrite(p, icmp, in, &in->saddr, l4, old_addr, new_addr, old_port, new_port);
	if (old_port != new_port) {
		if (in->protocol == IPPROTO_ICMP) {
			/* the quoted echo's identifier, and the quoted echo's own checksum */
			old_word = l4[1];
			csum_replace2(&l4[1], old_port, new_port);
			csum_replace2(&icmp->checksum, old_word, l4[1]);
			csum_replace2(&icmp->checksum, old_port, new_port);
			l4[2] = new_port;
		} else {
			csum_replace2(&icmp->checksum, old_port, new_port);
			l4[0] = new_port;
		}
	}
	return nat_to_nic(skb, p, &dk);
}

/* Traffic to an EIP: 1:1 to its NIC, ports kept. */
static __always_inline int nat_in_eip(struct __sk_buff *skb, struct pkt *p, const struct host *h,
				      const struct nic_key *k)
{
	struct nic_key dk = *k;
	__u8 proto = p->ip_proto;
	int l4 = p->first_frag && (proto == IPPROTO_TCP || proto == IPPROTO_UDP);

	if (nat_rewrite(skb, p->ip_hlen, proto, 0, l4, p->daddr, dk.ip, 0, 0, 0))
		return drop(skb, p, &dk, DROP_MALFORMED);
	return nat_to_nic(skb, p, &dk);
}

/* A reply to a SNAT mapping: back to the VM's address and port. No mapping: the host's own traffic. */
static __always_inline int nat_in_reply(struct __sk_buff *skb, struct pkt *p, const struct host *h,
					const struct nat_host *nh)
{
	struct nat_key ik = { .dir = NAT_IN }, t;
	struct nat_l4 l = {};
	struct nat_entry *e;
	struct nic_key dk;
	__be16 vm_port;
	__u64 now;

	if (nat_parse_l4(p, 0, &l))
		return TC_ACT_OK_;
	if (p->ip_proto == IPPROTO_ICMP && l.icmp_type != ICMP_ECHOREPLY_)
		return TC_ACT_OK_;
	ik.addr = p->daddr;
	ik.remote = p->saddr;
	ik.port = l.port;
	ik.remote_port = l.remote_port;
	ik.proto = p->ip_proto;
	e = bpf_map_lookup_elem(&nat, &ik);
	if (!e)
		return TC_ACT_OK_;
	now = bpf_ktime_get_coarse_ns();
	if (nat_mapping_dead(&ik, e, now, &t))
		return TC_ACT_OK_;
	nat_track(&ik, e, l.tcp_flags, now, &t);
	dk.vni = e->vni;
	dk.ip = e->addr;
	vm_port = e->port;
	if (nat_rewrite(skb, p->ip_hlen, p->ip_proto, 0, 1, p->daddr, dk.ip, l.port_off, l.port, vm_port))
		return drop(skb, p, &dk, DROP_MALFORMED);
	return nat_to_nic(skb, p, &dk);
}

#endif
