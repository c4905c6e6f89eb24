/* bpf/redirect.h — hand a frame to a local NIC's VM: straight into the peer's netns where the device allows it. */
#ifndef VPCBPF_REDIRECT_H
#define VPCBPF_REDIRECT_H

#define PACKET_HOST_ 0

/*
 * Every caller runs at tc ingress (a NIC's host side, the underlay), the
 * only place bpf_redirect_peer works. On a NIC bound with NIC_F_PEER (the
 * tool found a veth or netkit whose peer lives in another netns: the VM's)
 * the frame enters the VM's eth0 in the same softirq, as if it had arrived
 * there: no host-side egress, no veth_xmit, no trip through the per-CPU
 * backlog queue. The kernel drops it silently when the device is not such
 * a pair (no peer, or a peer in this very netns), hence the flag instead
 * of trying. Anything else (a tap, a veth of an older record) takes
 * bpf_redirect to the host side's egress, which works for every device.
 *
 * The peer path skips eth_type_trans: a kernel that does not reset the
 * packet type there would hand the VM the type the frame had here,
 * PACKET_OTHERHOST for a VM's frame to another MAC, which the VM's IP stack
 * discards. 6.18 resets it (the check then costs a load); older kernels get
 * it set here. The destination MAC is the VM's own by now.
 */
static __always_inline long redirect_nic(struct __sk_buff *skb, __u32 ifindex, __u8 nic_flags)
{
	if (!(nic_flags & NIC_F_PEER))
		return bpf_redirect(ifindex, 0);
	if (skb->pkt_type != PACKET_HOST_)
		bpf_skb_change_type(skb, PACKET_HOST_);
	return bpf_redirect_peer(ifindex, 0);
}

/* Back to the VM a frame came from (replies of the virtual router, ICMP errors): its own interface. */
static __always_inline long redirect_back(struct __sk_buff *skb, const struct nic *src)
{
	/* a NIC being moved to another device may already name it: the frame came in here */
	if (src->ifindex != skb->ifindex)
		return bpf_redirect(skb->ifindex, 0);
	return redirect_nic(skb, skb->ifindex, src->flags);
}

#endif
