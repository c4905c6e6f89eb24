/* bpf/icmp.h — ICMP from the virtual router: echo replies for the gateway and errors (time exceeded, fragmentation needed). */
#ifndef VPCBPF_ICMP_H
#define VPCBPF_ICMP_H

#define ICMP_ECHOREPLY_ 0
#define ICMP_DEST_UNREACH_ 3
#define ICMP_FRAG_NEEDED_ 4 /* code of ICMP_DEST_UNREACH_ */
#define ICMP_ECHO_ 8
#define ICMP_TIME_EXCEEDED_ 11
#define ICMP_EXC_TTL_ 0     /* code of ICMP_TIME_EXCEEDED_ */

#define ICMP_ROUTER_TTL 64
/*
 * An error quotes as much of the offending datagram as fits in 576 bytes
 * (RFC 1812 4.3.2.3), rounded down to whole 32-bit words so that the quote
 * can be summed with bpf_csum_diff; never less than the IP header + 8 bytes
 * that RFC 792 asks for when the datagram has them.
 */
#define ICMP_ERR_HLEN (ETH_HLEN_ + 20 + 8)
#define ICMP_QUOTE_MAX (576 - 20 - 8)

/* Answer an echo request to the gateway in place: same id, sequence and data. */
static __always_inline int icmp_echo_reply(struct __sk_buff *skb, struct pkt *p, const struct src_nic *port)
{
	struct iphdr *ip = p->ip;
	struct icmphdr *icmp = (void *)ip + p->ip_hlen;
	__u16 old_word, new_word;

	/* the ICMP header must be inside the datagram, not just inside the frame (Ethernet padding) */
	if ((void *)(icmp + 1) > p->data_end || p->ip_len < p->ip_hlen + sizeof(*icmp) || !ipv4_is_whole(ip))
		return drop(skb, p, &port->key, DROP_MALFORMED);
	if (icmp->type != ICMP_ECHO_ || icmp->code != 0)
		return drop(skb, p, &port->key, DROP_UNSUPPORTED);

	/* type/code share one 16-bit word of the checksum */
	old_word = csum_word_at(icmp);
	icmp->type = ICMP_ECHOREPLY_;
	new_word = csum_word_at(icmp);
	csum_replace2(&icmp->checksum, old_word, new_word);

	/* swapping the addresses leaves the header sum unchanged; the TTL does not */
	old_word = csum_word_at(&ip->ttl);
	ip->ttl = ICMP_ROUTER_TTL;
	new_word = csum_word_at(&ip->ttl);
	csum_replace2(&ip->check, old_word, new_word);
	ip->daddr = ip->saddr;
	ip->saddr = port->nic->gateway;

	mac_copy(p->eth->h_dest, p->eth->h_source);
	mac_copy(p->eth->h_source, port->host->router_mac);

	stats_rx(port->nic, skb->len);
	if (redirect_back(skb, port->nic) != TC_ACT_REDIRECT_)
		return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);
	return TC_ACT_REDIRECT_;
}

/*
 * RFC 1122 3.2.2: no error about an ICMP error, about a non-first fragment,
 * or about a datagram that was not sent to one host.
 */
static __always_inline int icmp_error_allowed(const struct pkt *p)
{
	__u8 *type = (void *)p->ip + (p->ip_hlen & 0x3c); /* masked: see flow_parse */

	if (!p->first_frag)
		return 0;
	if ((bpf_ntohl(p->daddr) >> 28) >= 0xe || p->daddr == 0xffffffff)
		return 0;
	if (p->ip_proto == IPPROTO_ICMP) {
		if ((void *)(type + 1) > p->data_end)
			return 0;
		if (*type != ICMP_ECHO_ && *type != ICMP_ECHOREPLY_ && *type != 13 &&
		    *type != 14 && *type != 15 && *type != 16)
			return 0;
	}
	return 1;
}

/* One's-complement sum of `len` bytes (a multiple of 4, <= ICMP_QUOTE_MAX) at `off`. */
static __always_inline __s64 icmp_sum_quote(struct __sk_buff *skb, __u32 off, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__s64 sum = 0;

	/* fixed-size chunks, one per bit of len: every access has a constant size */
#pragma unroll
	for (int bit = 9; bit >= 2; bit--) {
		__u32 n = 1U << bit;
		void *chunk;

		if (!(len & n))
			continue;
		if (off > ICMP_ERR_HLEN + ICMP_QUOTE_MAX)
			return -1;
		chunk = data + off;
		if (chunk + n > data_end)
			return -1;
		sum = bpf_csum_diff(NULL, 0, chunk, n, sum);
		if (sum < 0)
			return -1;
		off += n;
	}
	return sum;
}

/*
 * Turn the frame into an ICMP error about itself, addressed back to its
 * sender from `from` (the gateway of the sender's subnet), with the router
 * MAC as Ethernet source. `mtu` is the next-hop MTU for "fragmentation
 * needed" and 0 otherwise. The caller sends the result back out of
 * skb->ifindex. Returns 0, or -1 when no error may or can be sent (the
 * frame is then unusable only if the caller goes on; it drops it anyway).
 *
 * Layout: the frame is cut to Ethernet + quote, then 28 bytes are opened
 * after the Ethernet header for the new IP and ICMP headers, so the quote
 * (the original IP header and what follows) never moves. A quoted TCP/UDP
 * datagram that the VM left to checksum offload keeps its partial L4
 * checksum inside the quote; the error goes back to that VM's own veth,
 * which does not complete it, so our ICMP checksum stays right.
 */
static __always_inline int icmp_send_error(struct __sk_buff *skb, struct pkt *p, __u8 type,
					   __u8 code, __u16 mtu, __be32 from, const __u8 *router_mac)
{
	/* the leading pad puts the IP header on a 4-byte boundary for summing */
	struct {
		__u16 pad;
		struct ethhdr eth;
		struct iphdr ip;
		struct icmphdr icmp;
	} hdr = {};
	__u32 quote = p->ip_len;
	__s64 sum;

	if (!icmp_error_allowed(p))
		return -1;
	if (quote > ICMP_QUOTE_MAX)
		quote = ICMP_QUOTE_MAX;
	quote &= ~3U;
	if (quote < 20)
		return -1;

	mac_copy(hdr.eth.h_dest, p->eth->h_source);
	mac_copy(hdr.eth.h_source, router_mac);
	hdr.eth.h_proto = bpf_htons(ETH_P_IP_);
	hdr.ip.version = 4;
	hdr.ip.ihl = 5;
	hdr.ip.tos = 0xc0; /* precedence: internetwork control, as routers send errors */
	hdr.ip.tot_len = bpf_htons(20 + 8 + quote);
	hdr.ip.ttl = ICMP_ROUTER_TTL;
	hdr.ip.protocol = IPPROTO_ICMP;
	hdr.ip.saddr = from;
	hdr.ip.daddr = p->saddr;
	hdr.ip.check = csum_ipv4_header(&hdr.ip);
	hdr.icmp.type = type;
	hdr.icmp.code = code;
	if (type == ICMP_DEST_UNREACH_ && code == ICMP_FRAG_NEEDED_)
		hdr.icmp.un.frag.mtu = bpf_htons(mtu);

	/* p's packet pointers die here */
	if (bpf_skb_change_tail(skb, ETH_HLEN_ + quote, 0))
		return -1;
	if (bpf_skb_adjust_room(skb, 20 + 8, BPF_ADJ_ROOM_MAC, 0))
		return -1;

	sum = icmp_sum_quote(skb, ICMP_ERR_HLEN, quote);
	if (sum < 0)
		return -1;
	hdr.icmp.checksum = ~csum_fold32(csum_words(&hdr.icmp, sizeof(hdr.icmp), 0) +
					 csum_fold32((__u32)sum));
	if (bpf_skb_store_bytes(skb, 0, &hdr.eth, ICMP_ERR_HLEN, 0))
		return -1;
	return 0;
}

#endif
