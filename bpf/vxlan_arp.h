/* bpf/vxlan_arp.h — ARP requests that a plain Linux vxlan peer floods in VXLAN, answered for the local NICs, back to the asking VTEP. */
#ifndef VPCBPF_VXLAN_ARP_H
#define VPCBPF_VXLAN_ARP_H

/*
 * A kernel vxlan device without static neighbours resolves a VM's address
 * by flooding the VM's ARP request to every VTEP of its flood list. The
 * host where the target NIC lives (vxlan_find_nic: local, in the VPC of
 * the VNI) answers as the NIC would: the frame is turned around in place,
 * same length, and sent back out of the underlay device it came in on.
 * Outer Ethernet swapped (the asker, or the router it came through),
 * outer IPv4 from our underlay address to the asker's (DF, TTL 64, a fresh
 * checksum), UDP from the asker's source port (the flow's entropy) to our
 * VXLAN port, checksum 0; the same VNI; inner Ethernet and ARP from the
 * NIC's MAC to the asker. The kernel peer learns the NIC's MAC behind us.
 * Returns DROP_NONE once redirected, or the drop reason.
 */
static __always_inline int vxlan_arp_reply(struct __sk_buff *skb, const struct vxlan_rx *rx, const struct host *h)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct ethhdr *ieth = (void *)((char *)(udp + 1) + sizeof(struct vxlanhdr_));
	struct arp_eth_ipv4 *arp = (void *)(ieth + 1);
	__be32 asker = rx->saddr, target = rx->daddr;
	__u8 mac[ETH_ALEN_];

	/* parsed from the same bytes already (outer IPv4 without options: vxlan_parse) */
	if ((void *)(arp + 1) > data_end)
		return DROP_MALFORMED;
	mac_copy(mac, eth->h_dest);
	mac_copy(eth->h_dest, eth->h_source);
	mac_copy(eth->h_source, mac);

	ip->daddr = ip->saddr;
	ip->saddr = h->underlay_ip;
	ip->tos = 0;
	ip->id = 0;
	ip->frag_off = bpf_htons(IP_DF_);
	ip->ttl = VXLAN_TTL;
	ip->check = 0;
	ip->check = csum_ipv4_header(ip);

	udp->dest = bpf_htons(h->vxlan_port);
	udp->check = 0;

	mac_copy(ieth->h_dest, arp->sha);
	mac_copy(ieth->h_source, rx->dst->mac);
	arp->op = bpf_htons(2 /* reply */);
	mac_copy(arp->tha, arp->sha);
	arp->tpa = asker;
	mac_copy(arp->sha, rx->dst->mac);
	arp->spa = target;

	return bpf_redirect(skb->ifindex, 0) == TC_ACT_REDIRECT_ ? DROP_NONE : DROP_REDIRECT_FAILED;
}

#endif
