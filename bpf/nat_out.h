/* bpf/nat_out.h — a VM's packet on an internet route: never to the infrastructure, then out of the external device as its EIP or SNATed. */
#ifndef VPCBPF_NAT_OUT_H
#define VPCBPF_NAT_OUT_H

/*
 * Hairpin, the way back: a NIC with an EIP answering a VM that reached it
 * through SNAT (its packet came from the external address and a mapped
 * port). True when the translated packet (from src, the EIP, to the
 * external address: proto, ports or echo identifier) is a reply to a live
 * mapping, as external_ingress will find it (nat_in_reply). A global
 * function of scalars, verified once: inlined, its reads of the packet
 * record cost nic_internet the bounds the verifier kept on the rest.
 */
__attribute__((noinline)) int nat_hairpin_reply(__be32 src, __u32 proto, __u32 port, __u32 remote_port)
{
	const struct nat_host *nh = nat_host_get();
	__u32 zero = 0;
	struct nat_scratch *s = bpf_map_lookup_elem(&nat_scratch, &zero);
	const struct nat_entry *e;

	if (!s || !nh)
		return 0;
	__builtin_memset(&s->ik, 0, sizeof(s->ik));
	s->ik.addr = nh->ext_ip;
	s->ik.remote = src;
	s->ik.port = (__be16)port;
	s->ik.remote_port = (__be16)remote_port;
	s->ik.proto = (__u8)proto;
	s->ik.dir = NAT_IN;
	e = bpf_map_lookup_elem(&nat, &s->ik);
	return e && !nat_mapping_dead(&s->ik, e, bpf_ktime_get_coarse_ns(), &s->t);
}

/* The flow of a packet to the external address, for nat_hairpin_reply: 0 when it has none. */
static __always_inline int nat_hairpin_back(const struct pkt *p, __be32 src)
{
	if (!p->first_frag)
		return 0;
	if (p->ip_proto == IPPROTO_TCP || p->ip_proto == IPPROTO_UDP)
		return nat_hairpin_reply(src, p->ip_proto, p->dport, p->sport);
	if (p->ip_proto == IPPROTO_ICMP) {
		struct icmphdr *icmp = nat_l4(p);

		if ((void *)(icmp + 1) > p->data_end || icmp->type != ICMP_ECHOREPLY_)
			return 0;
		return nat_hairpin_reply(src, IPPROTO_ICMP, icmp->un.echo.id, 0);
	}
	return 0;
}

/*
 * Before the security group sees the packet: whether it may go at all.
 * The host's own addresses and the underlay network are refused by name;
 * then the kernel's FIB, asked as if the packet came in on the external
 * device, must send it back out of that device: a destination the host
 * reaches another way (another host's underlay address behind a router, a
 * management network, an address of the host itself) is infrastructure,
 * whatever the VPC's routes say. The FIB also gives the next hop's MACs.
 * Returns DROP_NONE with *o filled, or the drop reason.
 */
static __always_inline int nat_check(struct __sk_buff *skb, const struct pkt *p, const struct src_nic *port,
				     struct nat_out *o)
{
	const struct nat_host *nh = nat_host_get();
	__u32 zero = 0;
	struct nat_scratch *s = bpf_map_lookup_elem(&nat_scratch, &zero);
	struct bpf_fib_lookup *fib;
	const __be32 *eip;
	int rc;

	if (!nh || !nh->ext_ifindex || !nh->ext_ip)
		return DROP_NO_EXTERNAL;
	eip = bpf_map_lookup_elem(&nic_eips, &port->key);
	o->nh = nh;
	o->eip = eip != NULL;
	o->src = eip ? *eip : nh->ext_ip;
	o->hairpin = 0;
	/*
	 * Hairpin: to an EIP (another NIC's, or its own), or from an EIP back to a live mapping of
	 * the external address. The packet leaves translated as for the internet, then comes in again
	 * through the external device (nat_egress), where external_ingress takes it into its VPC as
	 * any packet from the internet; nothing of it reaches the host's stack.
	 */
	if (bpf_map_lookup_elem(&eips, &p->daddr) ||
	    (o->eip && p->daddr == nh->ext_ip && nat_hairpin_back(p, o->src))) {
		o->hairpin = 1;
		return DROP_NONE;
	}
	if (p->daddr == nh->ext_ip || p->daddr == port->host->underlay_ip ||
	    (nh->underlay_len && (p->daddr & prefix_mask(nh->underlay_len)) == nh->underlay_net))
		return DROP_TO_INFRASTRUCTURE;

	if (!s)
		return DROP_NO_ROUTE;
	/* in the scratch entry, not on the stack (6.1's 512 bytes for the call chain, see nat_egress) */
	fib = &s->fib;
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET_;
	fib->l4_protocol = p->ip_proto;
	fib->ipv4_src = o->src;
	fib->ipv4_dst = p->daddr;
	fib->ifindex = nh->ext_ifindex;
	rc = bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		if (fib->ifindex != nh->ext_ifindex)
			return DROP_TO_INFRASTRUCTURE;
		mac_copy(o->smac, fib->smac);
		mac_copy(o->dmac, fib->dmac);
		o->neigh = 0;
		return DROP_NONE;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		if (fib->ifindex != nh->ext_ifindex)
			return DROP_TO_INFRASTRUCTURE;
		o->neigh = 1;
		o->nexthop = fib->ipv4_dst;
		return DROP_NONE;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		/* forwarding off on the external device: no FIB answer; the checks by name stand alone */
		o->neigh = 2;
		return DROP_NONE;
	case BPF_FIB_LKUP_RET_NOT_FWDED: /* local (or broadcast) on this host */
		return DROP_TO_INFRASTRUCTURE;
	default:
		return DROP_NO_ROUTE;
	}
}

/* An ICMP message other than echo: an error, whose quote names the VM as the peer reached it. */
static __always_inline int nat_out_icmp_error(const struct pkt *p)
{
	struct icmphdr *icmp = nat_l4(p);

	if (p->ip_proto != IPPROTO_ICMP || !p->first_frag)
		return 0;
	if ((void *)(icmp + 1) > p->data_end)
		return 1;
	return icmp->type != ICMP_ECHO_ && icmp->type != ICMP_ECHOREPLY_;
}

/*
 * An ICMP error the VM sends about a packet that reached it through its
 * EIP or a mapping (port unreachable to an outside client, ...). The quote
 * is that packet as the VM got it: from the peer to the VM's address (and
 * port); it becomes the packet the peer sent: to the EIP, or to the
 * external address and port of the mapping. The quoted destination, the
 * quoted IP checksum, the quoted TCP/UDP checksum (its pseudo header and
 * port) and the ICMP checksum over all of it are rewritten in place
 * (incrementally: the VM's stack computed them in full); the outer source
 * is nat_rewrite's, as for any packet. An error about nothing that came in
 * (no mapping, a quote from someone else, IP options in the quote) is
 * DROP_NAT_UNSUPPORTED: it would name the VM's private address outside.
 */
static __always_inline int nat_out_icmp_quote(const struct pkt *p, const struct src_nic *port,
					      const struct nat_out *o)
{
	struct icmphdr *icmp = nat_l4(p);
	struct iphdr *in;
	__u16 *l4;
	__be32 old_addr = p->saddr, new_addr = o->src;
	__be16 old_port = 0, new_port = 0;

	if ((void *)(icmp + 1) > p->data_end || !icmp_type_is_error(icmp->type))
		return DROP_NAT_UNSUPPORTED;
	in = (void *)(icmp + 1);
	if ((void *)(in + 1) > p->data_end || in->version != 4 || in->ihl != 5)
		return DROP_NAT_UNSUPPORTED;
	l4 = (void *)(in + 1);
	if ((void *)(l4 + 4) > p->data_end)
		return DROP_NAT_UNSUPPORTED;
	/* the quoted packet came from the peer this error goes to, to the VM's own address */
	if (in->daddr != old_addr || in->saddr != p->daddr)
		return DROP_NAT_UNSUPPORTED;
	if (!o->eip) {
		/* the mapping, found by its out key (as the VM sees the flow); the key in the scratch entry */
		__u32 zero = 0;
		struct nat_scratch *s = bpf_map_lookup_elem(&nat_scratch, &zero);
		const struct nat_entry *e;

		if (!s || (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
			return DROP_NAT_UNSUPPORTED;
		__builtin_memset(&s->ok, 0, sizeof(s->ok));
		s->ok.vni = port->key.vni;
		s->ok.addr = old_addr;
		s->ok.remote = in->saddr;
		s->ok.port = l4[1];
		s->ok.remote_port = l4[0];
		s->ok.proto = in->protocol;
		s->ok.dir = NAT_OUT;
		e = bpf_map_lookup_elem(&nat, &s->ok);
		if (!e || e->addr != new_addr)
			return DROP_NAT_UNSUPPORTED;
		old_port = l4[1];
		new_port = e->port;
	}

	/* the quoted header: its destination, and the checksums that cover it */
	nat_quote_rewrite(p, icmp, in, &in->daddr, l4, old_addr, new_addr, old_port, new_port);
	if (old_port != new_port) {
		csum_replace2(&icmp->checksum, old_port, new_port);
		l4[1] = new_port;
	}
	return DROP_NONE;
}

/*
 * Out of the external device, after the security group allowed it (it saw
 * the VM's own addresses). A NIC with an EIP leaves as the EIP, ports
 * kept (1:1, no mapping); any other is SNATed to the host's external
 * address with a port of its flow's mapping. A routed hop: TTL - 1, and
 * time exceeded from the gateway when it runs out.
 */
static __always_inline int nat_egress(struct __sk_buff *skb, struct pkt *p, const struct src_nic *port,
				      const struct nat_out *o)
{
	struct nat_l4 l = {};
	__be32 old_src = p->saddr;
	__be16 ext_port = 0;
	__u32 ip_hlen = p->ip_hlen;
	__u8 proto = p->ip_proto;
	int reason, l4;

	if (p->ip->ttl <= 1) {
		drop_count(skb, p, &port->key, DROP_TTL_EXCEEDED);
		if (icmp_send_error(skb, p, ICMP_TIME_EXCEEDED_, ICMP_EXC_TTL_, 0, port->nic->gateway,
				    port->host->router_mac))
			return TC_ACT_SHOT_;
		stats_rx(port->nic, skb->len);
		if (redirect_back(skb, port->nic) != TC_ACT_REDIRECT_)
			return TC_ACT_SHOT_;
		return TC_ACT_REDIRECT_;
	}
	if (nat_out_icmp_error(p)) {
		/* the quote translated here; the outer source below (ICMP: no port, no pseudo header).
		 * Not on a hairpin: external_ingress would judge the error again, about the outside */
		reason = o->hairpin ? DROP_NAT_UNSUPPORTED : nat_out_icmp_quote(p, port, o);
		if (reason)
			return drop(skb, p, &port->key, reason);
		l4 = 0;
	} else if (o->eip) {
		/* stateless: the address alone; TCP/UDP checksums cover it through the pseudo header */
		l4 = p->first_frag && (proto == IPPROTO_TCP || proto == IPPROTO_UDP);
	} else {
		/* the request lives in the per-CPU scratch entry, not on this stack (6.1 counts 512 bytes
		 * for nic_internet, nat_map_out and the sweep's callback together) */
		__u32 zero = 0;
		struct nat_scratch *s = bpf_map_lookup_elem(&nat_scratch, &zero);
		struct nat_req *r;

		if (!s)
			return drop(skb, p, &port->key, DROP_NAT_FULL);
		r = &s->req;
		reason = nat_parse_l4(p, 1, &l);
		if (!reason && proto == IPPROTO_ICMP && l.icmp_type != ICMP_ECHO_)
			reason = DROP_NAT_UNSUPPORTED;
		if (reason)
			return drop(skb, p, &port->key, reason);
		__builtin_memset(r, 0, sizeof(*r));
		r->ok.vni = port->key.vni;
		r->ok.addr = p->saddr;
		r->ok.remote = p->daddr;
		r->ok.port = l.port;
		r->ok.remote_port = l.remote_port;
		r->ok.proto = proto;
		r->ok.dir = NAT_OUT;
		r->tcp_flags = l.tcp_flags;
		r->nic = port->key.ip;
		r->quota = ct_quota_of(port->nic);
		reason = nat_map_out(r);
		if (reason == NAT_SWEEP) {
			nat_sweep(bpf_ktime_get_coarse_ns());
			r->swept = 1;
			reason = nat_map_out(r);
		}
		if (reason)
			return drop(skb, p, &port->key, reason);
		ext_port = r->ext_port;
		l4 = 1;
	}

	deliver_decrement_ttl(p->ip);
	if (o->hairpin) {
		mac_copy(p->eth->h_source, port->host->router_mac);
		mac_copy(p->eth->h_dest, o->nh->ext_mac);
	} else if (o->neigh == 0) {
		mac_copy(p->eth->h_source, o->smac);
		mac_copy(p->eth->h_dest, o->dmac);
	}
	/* p's packet pointers die here */
	if (nat_rewrite(skb, ip_hlen, proto, 1, l4, old_src, o->src, l.port_off, l.port, o->eip ? l.port : ext_port))
		return drop(skb, p, &port->key, DROP_MALFORMED);

	if (o->hairpin)
		reason = bpf_redirect(o->nh->ext_ifindex, BPF_F_INGRESS);
	else if (o->neigh == 0)
		reason = bpf_redirect(o->nh->ext_ifindex, 0);
	else if (o->neigh == 1) {
		struct bpf_redir_neigh nh = { .nh_family = AF_INET_, .ipv4_nh = o->nexthop };

		reason = bpf_redirect_neigh(o->nh->ext_ifindex, &nh, sizeof(nh), 0);
	} else {
		reason = bpf_redirect_neigh(o->nh->ext_ifindex, NULL, 0, 0);
	}
	if (reason != TC_ACT_REDIRECT_)
		return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);
	return TC_ACT_REDIRECT_;
}

#endif
