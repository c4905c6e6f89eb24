/* bpf/parsing.h — bounds-checked parsing of the frames a VM sends: Ethernet, ARP, IPv4 and the L4 ports. */
#ifndef VPCBPF_PARSING_H
#define VPCBPF_PARSING_H

/* Constants that vmlinux.h does not carry (they are #defines in uapi headers). */
#define ETH_HLEN_ 14
#define ETH_P_IP_ 0x0800
#define ETH_P_ARP_ 0x0806
#define IP_MF_ 0x2000
#define IP_OFFSET_ 0x1fff
#define TC_ACT_OK_ 0
#define TC_ACT_SHOT_ 2
#define TC_ACT_REDIRECT_ 7

/* The headers a routing decision needs, pulled into the linear area at most once. */
#define PARSE_PULL_LEN (ETH_HLEN_ + 60 + 8)

/* ARP for Ethernet/IPv4, the only kind the datapath answers (RFC 826). */
struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN_];
	__be32 spa;
	__u8 tha[ETH_ALEN_];
	__be32 tpa;
} __attribute__((packed));

/*
 * One parsed frame. Packet pointers are only valid until the next helper
 * that may move packet data (adjust_room, change_tail, store_bytes...);
 * the flow fields (addresses, ports) are copies and stay valid for drop events.
 */
struct pkt {
	void *data;
	void *data_end;
	struct ethhdr *eth;
	struct arp_eth_ipv4 *arp;
	struct iphdr *ip;
	__u16 eth_proto;    /* host order */
	__u16 ip_hlen;      /* bytes */
	__u16 ip_len;       /* total length, host order */
	__u8 ip_proto;
	__u8 first_frag;    /* fragment offset 0: the L4 header is here */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u16 arp_op;       /* host order, ARP only: for drop events */
};

/*
 * Whether a TCP or UDP frame has its IPv4 header and its L4 header (TCP's
 * fixed 20 bytes, UDP's 8) in the linear area already. No reader of such a
 * frame goes past its L4 header through a packet pointer (ports, TCP
 * flags; an ICMP error about it is built after bpf_skb_change_tail, which
 * linearizes the frame), so it needs no pull.
 */
static __always_inline int parse_l4_linear(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 l4_len;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_) || ip->ihl < 5)
		return 0;
	if (ip->protocol == IPPROTO_TCP)
		l4_len = 20;
	else if (ip->protocol == IPPROTO_UDP)
		l4_len = 8;
	else
		return 0;
	return (void *)ip + ip->ihl * 4 + l4_len <= data_end;
}

/*
 * Veth and tap frames normally arrive linear; a frame whose headers sit in
 * a fragment is pulled once so that direct packet access can see them.
 * Not a TCP or UDP frame whose headers are all linear: a VM's TCP segments
 * (GSO packets above all) carry exactly their headers in the linear area
 * and the payload in page fragments, and pulling PARSE_PULL_LEN bytes of
 * them meant, per packet, a new head, a copy, and a reference taken on
 * every fragment: 29% of nic_ingress in a TCP stream (docs/performance.md).
 */
static __always_inline void parse_pull(struct __sk_buff *skb)
{
	__u32 linear = skb->data_end - skb->data;
	__u32 want = skb->len < PARSE_PULL_LEN ? skb->len : PARSE_PULL_LEN;

	if (linear < want && !parse_l4_linear(skb))
		bpf_skb_pull_data(skb, want);
}

/* Ethernet: returns 0, or DROP_MALFORMED for a frame shorter than its header. */
static __always_inline int parse_eth(struct __sk_buff *skb, struct pkt *p)
{
	p->data = (void *)(long)skb->data;
	p->data_end = (void *)(long)skb->data_end;
	p->eth = p->data;
	if ((void *)(p->eth + 1) > p->data_end)
		return DROP_MALFORMED;
	p->eth_proto = bpf_ntohs(p->eth->h_proto);
	return DROP_NONE;
}

/* ARP: a truncated body is malformed; anything but Ethernet/IPv4 is unsupported. */
static __always_inline int parse_arp(struct pkt *p)
{
	struct arp_eth_ipv4 *arp = (void *)(p->eth + 1);

	if ((void *)(arp + 1) > p->data_end)
		return DROP_MALFORMED;
	p->arp_op = bpf_ntohs(arp->op);
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP_) ||
	    arp->hlen != ETH_ALEN_ || arp->plen != 4)
		return DROP_UNSUPPORTED;
	p->arp = arp;
	p->saddr = arp->spa;
	p->daddr = arp->tpa;
	return DROP_NONE;
}

/*
 * IPv4: version 4, IHL >= 5, the header inside the frame and the total
 * length inside the frame (Ethernet padding after it is allowed).
 * Ports are read for drop events only, from first fragments that have them.
 */
static __always_inline int parse_ipv4(struct __sk_buff *skb, struct pkt *p)
{
	struct iphdr *ip = (void *)(p->eth + 1);
	__u16 frag;

	if ((void *)(ip + 1) > p->data_end)
		return DROP_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return DROP_MALFORMED;
	p->ip_hlen = ip->ihl * 4;
	if ((void *)ip + p->ip_hlen > p->data_end)
		return DROP_MALFORMED;
	p->ip_len = bpf_ntohs(ip->tot_len);
	if (p->ip_len < p->ip_hlen || p->ip_len > skb->len - ETH_HLEN_)
		return DROP_MALFORMED;

	p->ip = ip;
	p->ip_proto = ip->protocol;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	frag = bpf_ntohs(ip->frag_off);
	p->first_frag = (frag & IP_OFFSET_) == 0;

	if (p->first_frag && (p->ip_proto == IPPROTO_TCP || p->ip_proto == IPPROTO_UDP)) {
		__be16 *ports = (void *)ip + p->ip_hlen;

		if ((void *)(ports + 2) <= p->data_end) {
			p->sport = ports[0];
			p->dport = ports[1];
		}
	}
	return DROP_NONE;
}

/*
 * Whether the IPv4 header that parse_ipv4 accepted sums to all ones (RFC 1071): a VM's stack always
 * fills it (only L4 checksums are offloaded), so a bad one is a corrupt or forged header, which the
 * datapath would otherwise route on and re-checksum incrementally, making it valid. The 20 fixed
 * bytes unrolled; options (rare) a word at a time with bpf_skb_load_bytes: reading them through the
 * packet pointer made the verifier keep one state per option length for the rest of the program
 * (nic_ingress went from 80k to 870k instructions, and past 6.1's limit).
 */
static __always_inline int ipv4_csum_ok(struct __sk_buff *skb, const struct pkt *p)
{
	const __u16 *w = (const __u16 *)p->ip;
	__u32 sum = 0, words = ((__u32)p->ip_hlen - 20) >> 2; /* parse_ipv4: 20 <= ip_hlen <= 60 */

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	for (__u32 i = 0; i < 10 && i < words; i++) {
		__u32 v;
		if (bpf_skb_load_bytes(skb, ETH_HLEN_ + 20 + i * 4, &v, sizeof(v)))
			return 0;
		sum += (v & 0xffff) + (v >> 16);
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Whether a datagram is a whole, unfragmented packet. */
static __always_inline int ipv4_is_whole(const struct iphdr *ip)
{
	return (bpf_ntohs(ip->frag_off) & (IP_MF_ | IP_OFFSET_)) == 0;
}

/* Network-order mask of a prefix length; a shift by 32 is undefined, hence len 0. */
static __always_inline __be32 prefix_mask(__u32 len)
{
	if (len == 0)
		return 0;
	if (len >= 32)
		return 0xffffffff;
	return bpf_htonl(~0U << (32 - len));
}

#endif
