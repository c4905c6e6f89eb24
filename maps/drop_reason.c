/* maps/drop_reason.c — the stable names of enum drop_reason, as shown by stats and monitor. */
#include "maps/store.h"

static const char *const names[DROP__MAX] = {
	[DROP_NONE] = "none",
	[DROP_MALFORMED] = "malformed",
	[DROP_UNSUPPORTED] = "unsupported",
	[DROP_UNKNOWN_PORT] = "unknown-port",
	[DROP_SPOOF_MAC] = "spoofed-mac",
	[DROP_SPOOF_IP] = "spoofed-ip",
	[DROP_NO_ROUTE] = "no-route",
	[DROP_NO_NIC] = "no-nic",
	[DROP_BLACKHOLE] = "blackhole",
	[DROP_TTL_EXCEEDED] = "ttl-exceeded",
	[DROP_NEXTHOP_UNKNOWN] = "nexthop-unknown",
	[DROP_PEER_UNKNOWN] = "peer-unknown",
	[DROP_REDIRECT_FAILED] = "redirect-failed",
	[DROP_FRAG_NEEDED] = "frag-needed",
	[DROP_UNKNOWN_VNI] = "unknown-vni",
	[DROP_VXLAN_MALFORMED] = "vxlan-malformed",
	[DROP_SG_INGRESS] = "sg-ingress",
	[DROP_SG_EGRESS] = "sg-egress",
	[DROP_CT_FULL] = "conntrack-full",
	[DROP_ENCAP_FAILED] = "encap-failed",
	[DROP_UNDERLAY_UNREACHABLE] = "underlay-unreachable",
	[DROP_NO_HOST] = "no-host",
	[DROP_NOT_LOCAL] = "not-local",
	[DROP_CT_NIC_QUOTA] = "conntrack-nic-quota",
	[DROP_IP_CHECKSUM] = "ip-checksum",
	[DROP_DHCP_MALFORMED] = "dhcp-malformed",
	[DROP_NAT_PORTS_EXHAUSTED] = "nat-ports-exhausted",
	[DROP_TO_INFRASTRUCTURE] = "to-infrastructure",
	[DROP_NAT_FULL] = "nat-full",
	[DROP_NAT_UNSUPPORTED] = "nat-unsupported",
	[DROP_NO_EXTERNAL] = "no-external",
	[DROP_NAT_NIC_QUOTA] = "nat-nic-quota",
};

const char *drop_reason_name(unsigned int reason)
{
	if (reason >= DROP__MAX || !names[reason])
		return "unknown";
	return names[reason];
}

/* One line each for `vpcbpf stats help`: what happened to the packet, in an operator's words. */
static const char *const meanings[DROP__MAX] = {
	[DROP_MALFORMED] = "truncated or invalid headers",
	[DROP_UNSUPPORTED] = "a packet the datapath does not handle: IPv6, ARP other than a request, DAD probes, non-ICMP to the gateway",
	[DROP_UNKNOWN_PORT] = "a frame from an interface with no NIC bound to it",
	[DROP_SPOOF_MAC] = "the source MAC is not the sending NIC's",
	[DROP_SPOOF_IP] = "the source IP is not the sending NIC's (source-check on)",
	[DROP_NO_ROUTE] = "no NIC and no route in the VPC for the destination",
	[DROP_NO_NIC] = "the destination is in a subnet of the VPC but no NIC has that address",
	[DROP_BLACKHOLE] = "the destination's route is a blackhole",
	[DROP_TTL_EXCEEDED] = "the TTL ran out (ICMP time exceeded sent back when possible)",
	[DROP_NEXTHOP_UNKNOWN] = "a route's via address is not a NIC of the VPC",
	[DROP_PEER_UNKNOWN] = "a peer route's VPC has no table, or peerings loop",
	[DROP_REDIRECT_FAILED] = "the kernel refused to redirect the packet to its device",
	[DROP_FRAG_NEEDED] = "DF set and too big for the path (ICMP fragmentation needed sent back)",
	[DROP_UNKNOWN_VNI] = "VXLAN for a VNI this host does not know",
	[DROP_VXLAN_MALFORMED] = "bad VXLAN flags, outer IP options or fragments, or too short",
	[DROP_SG_INGRESS] = "denied by the receiving NIC's security group",
	[DROP_SG_EGRESS] = "denied by the sending NIC's security group",
	[DROP_CT_FULL] = "the connection tracking table is full: a new flow was refused",
	[DROP_ENCAP_FAILED] = "the packet could not be grown for its VXLAN header",
	[DROP_UNDERLAY_UNREACHABLE] = "no underlay route or neighbour to the remote host",
	[DROP_NO_HOST] = "the host is not configured (dp up missing or unfinished)",
	[DROP_NOT_LOCAL] = "decapsulated for a NIC that does not live on this host",
	[DROP_CT_NIC_QUOTA] = "the NIC holds its quota of tracked flows: a new one was refused",
	[DROP_IP_CHECKSUM] = "the IPv4 header checksum from a VM does not verify",
	[DROP_DHCP_MALFORMED] = "DHCP to the datapath's server that is not a well-formed request",
	[DROP_NAT_PORTS_EXHAUSTED] = "no free external port (or echo identifier) for a new flow to the internet",
	[DROP_TO_INFRASTRUCTURE] = "a VM's internet-bound packet to a host's address or the underlay network",
	[DROP_NAT_FULL] = "the NAT table is full: a new flow to the internet was refused",
	[DROP_NAT_UNSUPPORTED] = "what SNAT cannot translate: fragments, other protocols, ICMP errors from a VM",
	[DROP_NO_EXTERNAL] = "an internet route on a host without an external device",
	[DROP_NAT_NIC_QUOTA] = "the NIC holds its quota of NAT mappings (its ct-quota): a new flow to the internet was refused",
};

const char *drop_reason_meaning(unsigned int reason)
{
	if (reason >= DROP__MAX || !meanings[reason])
		return NULL;
	return meanings[reason];
}
