/* bpf/external.bpf.c — tc ingress on the host's external device: what comes back from the internet into the VPCs. */
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
#include "bpf/route.h"
#include "bpf/vxlan.h"
#include "bpf/encap.h"
#include "bpf/conntrack.h"
#include "bpf/filter.h"
#include "bpf/deliver.h"
#include "bpf/nat.h"
#include "bpf/nat_in.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Into a VPC goes only what is for an EIP, or a reply (or an ICMP error)
 * to a mapping this host made; everything else on the external device is
 * the host's own traffic and goes to its stack untouched (TC_ACT_OK), never
 * into a VPC.
 */
SEC("tc")
int external_ingress(struct __sk_buff *skb)
{
	const struct nat_host *nh = nat_host_get();
	const struct nic_key *k;
	const struct host *h;
	struct pkt p = {};
	__u32 zero = 0;

	h = bpf_map_lookup_elem(&host, &zero);
	if (!h || !(h->flags & HOST_F_UP) || !nh || !nh->ext_ifindex)
		return TC_ACT_OK_;
	parse_pull(skb);
	/* keep clang from merging the ctx reads of both paths into one computed access */
	asm volatile("" : "+r"(skb));
	if (parse_eth(skb, &p))
		return TC_ACT_OK_;
	if (p.eth_proto == ETH_P_ARP_) {
		if (parse_arp(&p))
			return TC_ACT_OK_;
		return nat_arp(skb, &p, nh);
	}
	if (p.eth_proto != ETH_P_IP_ || parse_ipv4(skb, &p))
		return TC_ACT_OK_;

	k = bpf_map_lookup_elem(&eips, &p.daddr);
	if (!k && p.daddr != nh->ext_ip)
		return TC_ACT_OK_;
	if (p.ip_proto == IPPROTO_ICMP && p.first_frag) {
		struct icmphdr *icmp = nat_l4(&p);

		if ((void *)(icmp + 1) > p.data_end)
			return TC_ACT_OK_;
		if (icmp_type_is_error(icmp->type))
			return nat_in_icmp_error(skb, &p, h);
	}
	if (k)
		return nat_in_eip(skb, &p, h, k);
	return nat_in_reply(skb, &p, h, nh);
}

/* A packet external_ingress translated, into the NIC named in skb->cb[0..1] (bpf/nat_in.h nat_to_nic). */
SEC("tc")
int external_deliver(struct __sk_buff *skb)
{
	struct nic_key dk = { .vni = skb->cb[0], .ip = skb->cb[1] };
	const struct host *h;
	__u32 zero = 0;

	h = bpf_map_lookup_elem(&host, &zero);
	if (!h)
		return TC_ACT_SHOT_;
	return nat_deliver(skb, h, &dk);
}
