/* tests/bench/bound.bpf.c — each datapath path reduced to the work no design can avoid, its answer precomputed: the lower bound make bench measures beside the real programs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps/vpcbpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * What is left when everything a design could precompute is precomputed
 * (tests/bench/bound.sh writes it): no parsing but the few loads that tell
 * the benchmark's flow from anything else (ARP, the real programs' other
 * traffic: those go on, TC_ACT_UNSPEC, to the real program behind this
 * one), no hash lookup, no counter, no policy, no route lookup. What
 * remains is what moves the packet: the header writes and the helpers the
 * real programs call for it (bpf/deliver.h, bpf/encap.h, bpf/decap.h,
 * bpf/redirect.h), with the same flags.
 */

#define ETH_HLEN_B 14
#define ENCAP_HDR_B (ETH_HLEN_B + OVERLAY_OVERHEAD) /* the 50 bytes and the inner Ethernet header behind them */
#define ETH_P_IP_B 0x0800
#define TC_ACT_UNSPEC_B (-1)
#define TC_ACT_SHOT_B 2
#define PACKET_HOST_B 0
#define BOUND_F_PEER 0x1          /* the destination is a veth whose peer is the VM: bpf_redirect_peer */
#define BPF_F_ADJ_ROOM_ENCAP_L2_B(len) (((__u64)(len)&0xff) << 56)

/* The answer for the one flow of a turn; byte layout written by tests/bench/bound.sh (keep both in step). */
struct bound_answer {
	__u32 ifindex;          /* 0: where the frame goes (VM's host-side device, or the underlay) */
	__be32 daddr;           /* 4: the flow: IPv4 destination (the inner one for decap) */
	__u32 flags;            /* 8: BOUND_F_PEER */
	__u32 frame_max;        /* 12: encap: the largest inner frame that fits the underlay MTU */
	__be32 vni;             /* 16: decap: the VNI word as on the wire (VNI << 8) */
	__be16 vxlan_port;      /* 20: decap: the underlay's VXLAN UDP port */
	__u8 pad[10];           /* 22 */
	__u8 eth[16];           /* 32: local, decap: the frame's Ethernet header (14 bytes) */
	__u8 hdr[ENCAP_HDR_B];  /* 48: encap: outer Ethernet, IPv4 (tot_len 0, checksum over that), UDP (len 0), VXLAN, inner Ethernet */
};
_Static_assert(sizeof(struct bound_answer) == 112, "bound.sh writes 112 bytes");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bound_answer);
} bound_answer SEC(".maps");

static __always_inline const struct bound_answer *answer(void)
{
	__u32 zero = 0;
	const struct bound_answer *a = bpf_map_lookup_elem(&bound_answer, &zero);

	return a && a->ifindex ? a : NULL;
}

/* The frame when it is IPv4 to daddr with its IPv4 header linear, else NULL. */
static __always_inline void *flow_frame(struct __sk_buff *skb, __be32 daddr)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN_B;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_B) || ip->daddr != daddr)
		return NULL;
	return data;
}

/* Word copies (the compiler does bytes for a memcpy to a packet, whose alignment it cannot know) */
static __always_inline void copy_words(void *dst, const void *src, int words)
{
	for (int i = 0; i < words; i++)
		((__u32 *)dst)[i] = ((const __u32 *)src)[i];
}

/* Into the VM as bpf/redirect.h does it: the peer path, with the packet type its older kernels need. */
static __always_inline long to_vm(struct __sk_buff *skb, const struct bound_answer *a)
{
	if (!(a->flags & BOUND_F_PEER))
		return bpf_redirect(a->ifindex, 0);
	if (skb->pkt_type != PACKET_HOST_B)
		bpf_skb_change_type(skb, PACKET_HOST_B);
	return bpf_redirect_peer(a->ifindex, 0);
}

/* VM -> local NIC, same subnet (TTL kept): the two MACs, then into the destination VM. */
SEC("tc/local")
int bound_local(struct __sk_buff *skb)
{
	const struct bound_answer *a = answer();
	void *frame;

	if (!a || !(frame = flow_frame(skb, a->daddr)))
		return TC_ACT_UNSPEC_B;
	copy_words(frame, a->eth, 3);
	return to_vm(skb, a);
}

/*
 * VM -> remote NIC: the MTU check, 50 bytes of room with bpf/encap.h's
 * flags (a GSO packet stays one UDP-tunnel GSO packet; the inner checksum
 * offload keeps its offsets), the 64 bytes of headers from the template,
 * the two lengths and the outer checksum patched in, and the redirect to
 * the underlay with the next hop's MACs known (bpf/encap.h's path when the
 * neighbour is resolved). The UDP source port is the template's: the
 * flow hash is a choice, not a cost every design pays.
 */
SEC("tc/encap")
int bound_encap(struct __sk_buff *skb)
{
	const __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
			    BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2_B(ETH_HLEN_B);
	const struct bound_answer *a = answer();
	__u32 len = skb->len, outer, sum;
	void *data, *data_end;
	struct iphdr *ip;
	struct udphdr *udp;

	if (!a || !flow_frame(skb, a->daddr))
		return TC_ACT_UNSPEC_B;
	if (!skb->gso_size && len > a->frame_max)
		return TC_ACT_SHOT_B;
	if (bpf_skb_adjust_room(skb, OVERLAY_OVERHEAD, BPF_ADJ_ROOM_MAC, flags))
		return TC_ACT_SHOT_B;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ENCAP_HDR_B > data_end)
		return TC_ACT_SHOT_B;
	copy_words(data, a->hdr, ENCAP_HDR_B / 4);
	ip = data + ETH_HLEN_B;
	udp = (void *)(ip + 1);
	/* a GSO packet's lengths are placeholders the segmentation rewrites: keep them in range */
	outer = len + OVERLAY_OVERHEAD - ETH_HLEN_B;
	if (outer > 0xffff)
		outer = 0xffff;
	ip->tot_len = bpf_htons(outer);
	udp->len = bpf_htons(outer - sizeof(*ip));
	/* the template's checksum covers tot_len 0: add tot_len in one's complement */
	sum = (__u16)~ip->check + (__u32)ip->tot_len;
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = ~(__u16)(sum + (sum >> 16));
	return bpf_redirect(a->ifindex, 0);
}

/*
 * The same for a frame that is not a GSO aggregate, with the cheaper helper
 * such a frame allows: bpf_skb_change_head puts 50 bytes in front of the
 * frame without the tunnel metadata (inner offsets, encapsulation bit, GSO
 * type) only segmentation needs; the frame's own Ethernet header becomes
 * the inner one, so only its MACs are written after the template's 50 bytes.
 * A GSO aggregate goes on to the real program (a design would take
 * bpf_skb_adjust_room for it, as bound_encap does).
 */
SEC("tc/encap_head")
int bound_encap_head(struct __sk_buff *skb)
{
	const struct bound_answer *a = answer();
	__u32 len = skb->len, outer, sum;
	void *data, *data_end;
	struct iphdr *ip;
	struct udphdr *udp;

	if (!a || !flow_frame(skb, a->daddr) || skb->gso_size)
		return TC_ACT_UNSPEC_B;
	if (len > a->frame_max)
		return TC_ACT_SHOT_B;
	if (bpf_skb_change_head(skb, OVERLAY_OVERHEAD, 0))
		return TC_ACT_SHOT_B;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ENCAP_HDR_B > data_end)
		return TC_ACT_SHOT_B;
	copy_words(data, a->hdr, 15);   /* bytes 0-59 of the 62: outer headers and the inner destination MAC ... */
	*(__u16 *)(data + 60) = *(const __u16 *)(a->hdr + 60); /* ... and the end of the inner source MAC */
	ip = data + ETH_HLEN_B;
	udp = (void *)(ip + 1);
	outer = len + OVERLAY_OVERHEAD - ETH_HLEN_B;
	ip->tot_len = bpf_htons(outer);
	udp->len = bpf_htons(outer - sizeof(*ip));
	sum = (__u16)~ip->check + (__u32)ip->tot_len;
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = ~(__u16)(sum + (sum >> 16));
	return bpf_redirect(a->ifindex, 0);
}

/* The frame at data is VXLAN for the answer's NIC: outer UDP port, VNI and inner destination, what any design reads to find the NIC. */
static __always_inline int vxlan_for(const struct bound_answer *a, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN_B;
	struct udphdr *udp = (void *)(ip + 1);
	__be32 *vni = (void *)(udp + 1) + 4;
	struct iphdr *inner = data + ETH_HLEN_B + OVERLAY_OVERHEAD;

	return (void *)(inner + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP_B) && ip->ihl == 5 &&
	       ip->protocol == IPPROTO_UDP && udp->dest == a->vxlan_port && *vni == a->vni && inner->daddr == a->daddr;
}

/*
 * Underlay -> local NIC (tc): VXLAN for the answer's NIC, 50 bytes out
 * with bpf/decap.h's flag, the inner frame's Ethernet header written, into
 * the VM. Frames whose headers are not linear go on to the real program.
 */
SEC("tc/decap")
int bound_decap(struct __sk_buff *skb)
{
	const struct bound_answer *a = answer();
	void *data, *data_end;

	if (!a || !vxlan_for(a, (void *)(long)skb->data, (void *)(long)skb->data_end))
		return TC_ACT_UNSPEC_B;
	if (bpf_skb_adjust_room(skb, -OVERLAY_OVERHEAD, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO))
		return TC_ACT_SHOT_B;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ETH_HLEN_B > data_end)
		return TC_ACT_SHOT_B;
	copy_words(data, a->eth, 3);
	*(__u16 *)(data + 12) = *(const __u16 *)(a->eth + 12);
	return to_vm(skb, a);
}

/*
 * The other split, for frames XDP sees whole: XDP strips the 50 bytes
 * (bpf_xdp_adjust_head moves a pointer) and writes the inner Ethernet
 * header, and tc only redirects into the VM (bound_local, with the NIC a
 * real design would pass from XDP in the packet's metadata precomputed).
 * Not frags-aware (a section iproute2 types itself): for the UDP turn only.
 */
SEC("xdp_decap")
int bound_xdp_decap(struct xdp_md *ctx)
{
	const struct bound_answer *a = answer();
	void *data, *data_end;

	if (!a || !vxlan_for(a, (void *)(long)ctx->data, (void *)(long)ctx->data_end))
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, OVERLAY_OVERHEAD))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN_B > data_end)
		return XDP_ABORTED;
	copy_words(data, a->eth, 3);
	*(__u16 *)(data + 12) = *(const __u16 *)(a->eth + 12);
	return XDP_PASS;
}

/* Underlay XDP: nothing is unavoidable there (with xdp off it does not run), so pass, frags-aware like underlay_xdp. */
SEC("xdp.frags")
int bound_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}
