/* bpf/nic.bpf.c — tc ingress on a NIC's host-side interface: everything a VM sends, forwarded inside its VPC. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpf/maps.bpf.h"

#include "bpf/parsing.h"
#include "bpf/csum.h"
#include "bpf/stats.h"
#include "bpf/port.h"
#include "bpf/redirect.h"
#include "bpf/arp.h"
#include "bpf/icmp.h"
#include "bpf/dhcp.h"
#include "bpf/route.h"
#include "bpf/vxlan.h"
#include "bpf/encap.h"
#include "bpf/conntrack.h"
#include "bpf/filter.h"
#include "bpf/deliver.h"
#include "bpf/nat.h"
#include "bpf/nat_out.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * The story of a frame from a VM: parse it, find the NIC it came from,
 * answer what the virtual router answers itself (ARP, DHCP, ping to the gateway),
 * enforce port security, look the destination up in the NIC's VPC, apply
 * the NIC's security group (egress), and deliver it (the receiving NIC's
 * group applies there: ingress). Nothing a VM sends reaches the host stack: every path ends in
 * a redirect or a counted drop.
 */
SEC("tc")
int nic_ingress(struct __sk_buff *skb)
{
	struct pkt p = {};
	struct src_nic port = {};
	struct hop hop = {};
	__u32 rule;
	int reason;

	parse_pull(skb);
	reason = port_identify(skb, &port);
	if (reason)
		return drop(skb, &p, NULL, reason);
	stats_tx(port.nic, skb->len);

	reason = parse_eth(skb, &p);
	if (reason)
		return drop(skb, &p, &port.key, reason);
	reason = port_check_mac(&port, p.eth->h_source);
	if (reason)
		return drop(skb, &p, &port.key, reason);

	if (p.eth_proto == ETH_P_ARP_) {
		reason = parse_arp(&p);
		if (reason)
			return drop(skb, &p, &port.key, reason);
		return arp_respond(skb, &p, &port);
	}
	if (p.eth_proto != ETH_P_IP_)
		return drop(skb, &p, &port.key, DROP_UNSUPPORTED);

	reason = parse_ipv4(skb, &p);
	if (reason)
		return drop(skb, &p, &port.key, reason);
	if (!ipv4_csum_ok(skb, &p))
		return drop(skb, &p, &port.key, DROP_IP_CHECKSUM);
	if (dhcp_for_server(&p, &port))
		return dhcp_respond(skb, &p, &port);
	reason = port_check_ip(&port, p.saddr);
	if (reason)
		return drop(skb, &p, &port.key, reason);

	if (p.daddr == port.nic->gateway) {
		if (p.ip_proto != IPPROTO_ICMP)
			return drop(skb, &p, &port.key, DROP_UNSUPPORTED);
		return icmp_echo_reply(skb, &p, &port);
	}

	reason = route_resolve(port.key.vni, p.daddr, &hop);
	if (!reason && hop.internet) {
		bpf_tail_call(skb, &nic_tails, NIC_TAIL_INTERNET);
		reason = DROP_NO_EXTERNAL; /* dp up has not installed the internet path */
	}
	if (reason)
		return drop(skb, &p, &port.key, reason);
	reason = sg_filter(&p, &port.key, port.nic, SG_EGRESS, &rule);
	if (reason) {
		drop_count_at(&p, &port.key, skb->ifindex, reason, rule);
		return TC_ACT_SHOT_;
	}
	if (!hop.dst) /* never, but the verifier cannot see that route_resolve set it */
		return drop(skb, &p, &port.key, DROP_NO_ROUTE);
	return deliver(skb, &p, &port, &hop);
}

/*
 * A packet nic_ingress found on an internet route (bpf/nat_out.h): it was
 * parsed and port security checked there; the NIC and the headers are
 * found again here. Never to the infrastructure; the NIC's security group
 * (egress) on the packet as the VM sent it; then out of the external device.
 */
SEC("tc")
int nic_internet(struct __sk_buff *skb)
{
	struct pkt p = {};
	struct src_nic port = {};
	struct nat_out out = {};
	__u32 rule;
	int reason;

	reason = port_identify(skb, &port);
	if (reason)
		return drop(skb, &p, NULL, reason);
	reason = parse_eth(skb, &p);
	if (!reason)
		reason = parse_ipv4(skb, &p);
	if (!reason)
		reason = nat_check(skb, &p, &port, &out);
	if (reason)
		return drop(skb, &p, &port.key, reason);
	reason = sg_filter(&p, &port.key, port.nic, SG_EGRESS, &rule);
	if (reason) {
		drop_count_at(&p, &port.key, skb->ifindex, reason, rule);
		return TC_ACT_SHOT_;
	}
	return nat_egress(skb, &p, &port, &out);
}
