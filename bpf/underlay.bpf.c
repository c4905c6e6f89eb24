/* bpf/underlay.bpf.c — underlay ingress: VXLAN from other hosts, checked in XDP and decapsulated and delivered in tc. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpf/maps.bpf.h"

#include "bpf/parsing.h"
#include "bpf/csum.h"
#include "bpf/stats.h"
#include "bpf/port.h"
#include "bpf/redirect.h"
#include "bpf/route.h"
#include "bpf/vxlan.h"
#include "bpf/icmp.h"
#include "bpf/conntrack.h"
#include "bpf/filter.h"
#include "bpf/vxlan_arp.h"
#include "bpf/decap.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Why the work is split between XDP and tc (measured on veth, see
 * docs/overlay.md): delivering from XDP means XDP_REDIRECT into the NIC's
 * veth, which fails unless the VM-side peer runs an XDP program or has GRO
 * enabled (NAPI), and an XDP program without frags support makes veth take
 * GSO away from the sending side, cutting TCP throughput by several times.
 * So XDP does what it is best at: it runs first and drops everything that
 * is addressed to our VXLAN port but is malformed, for an unknown VNI or
 * for a NIC that is not here, before the kernel spends more on it. In
 * native mode it is loaded frags-aware (the tool sets the flag), so veth
 * keeps GSO on the sending side; in generic mode it is not: on 6.18 a
 * frags-aware generic program made the kernel hand tc a frame shifted by
 * 18 bytes. Good packets pass on
 * (XDP_PASS) to underlay_ingress at tc, which decapsulates with
 * bpf_skb_adjust_room (GSO-correct) and redirects into the NIC: straight
 * into the VM's netns (bpf_redirect_peer) on a veth, through the host
 * side's egress (bpf_redirect) on anything else, such as a tap. With
 * `xdp off` the tc program alone does all of it.
 */
SEC("xdp")
int underlay_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct vxlan_rx rx = {};
	const struct host *h;
	__u32 zero = 0;
	int reason;

	h = bpf_map_lookup_elem(&host, &zero);
	if (!h || !(h->flags & HOST_F_UP))
		return XDP_PASS;
	reason = vxlan_parse(data, data_end, bpf_xdp_get_buff_len(ctx), h, &rx);
	if (reason == VXLAN_NOT_OURS)
		return XDP_PASS;
	if (!reason)
		reason = vxlan_find_nic(&rx);
	if (reason) {
		vxlan_drop_count(ctx->ingress_ifindex, &rx, reason);
		return XDP_DROP;
	}
	return XDP_PASS;
}

SEC("tc")
int underlay_ingress(struct __sk_buff *skb)
{
	return underlay_tc(skb);
}
