/* bpf/arp.h — the ARP responder: a VPC is routed, not bridged, so every answer comes from the datapath. */
#ifndef VPCBPF_ARP_H
#define VPCBPF_ARP_H

#define ARPOP_REQUEST_ 1
#define ARPOP_REPLY_ 2

/*
 * Which MAC answers `who-has target` from this port: the router MAC for the
 * subnet's gateway, a NIC's own MAC for another NIC of the same VPC inside
 * the asker's subnet. Returns DROP_NONE and the MAC, or why not.
 */
static __always_inline int arp_resolve(const struct src_nic *port, __be32 target, const __u8 **mac)
{
	const struct nic *src = port->nic;
	struct nic_key key = { .vni = port->key.vni, .ip = target };
	const struct nic *nic;

	if (target == src->gateway) {
		*mac = port->host->router_mac;
		return DROP_NONE;
	}
	/* Gratuitous ARP for its own address: answering would look like a conflict. */
	if (target == port->key.ip)
		return DROP_UNSUPPORTED;
	if ((target & prefix_mask(src->subnet_len)) != src->subnet)
		return DROP_NO_NIC;
	nic = bpf_map_lookup_elem(&nics, &key);
	if (!nic)
		return DROP_NO_NIC;
	*mac = nic->mac;
	return DROP_NONE;
}

/*
 * Answer an ARP request in place and send it back out of the interface it
 * came in on. Anything unanswerable is dropped and counted, never flooded.
 */
static __always_inline int arp_respond(struct __sk_buff *skb, struct pkt *p, const struct src_nic *port)
{
	struct arp_eth_ipv4 *arp = p->arp;
	const __u8 *mac = NULL;
	__be32 target;
	int reason;

	if (arp->op != bpf_htons(ARPOP_REQUEST_))
		return drop(skb, p, &port->key, DROP_UNSUPPORTED);
	/* A DAD probe (sender 0.0.0.0) must go unanswered or the VM sees a conflict. */
	if (arp->spa == 0)
		return drop(skb, p, &port->key, DROP_UNSUPPORTED);
	if (!mac_equal(arp->sha, port->nic->mac))
		return drop(skb, p, &port->key, DROP_SPOOF_MAC);
	reason = port_check_ip(port, arp->spa);
	if (reason)
		return drop(skb, p, &port->key, reason);

	target = arp->tpa;
	reason = arp_resolve(port, target, &mac);
	if (reason || !mac)
		return drop(skb, p, &port->key, reason ? reason : DROP_NO_NIC);

	arp->op = bpf_htons(ARPOP_REPLY_);
	mac_copy(arp->tha, arp->sha);
	arp->tpa = arp->spa;
	mac_copy(arp->sha, mac);
	arp->spa = target;
	mac_copy(p->eth->h_dest, p->eth->h_source);
	mac_copy(p->eth->h_source, mac);

	stats_rx(port->nic, skb->len);
	if (redirect_back(skb, port->nic) != TC_ACT_REDIRECT_)
		return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);
	return TC_ACT_REDIRECT_;
}

#endif
