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
};

const char *drop_reason_name(unsigned int reason)
{
	if (reason >= DROP__MAX || !names[reason])
		return "unknown";
	return names[reason];
}
