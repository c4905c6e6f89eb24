/* bpf/dhcp.h — the virtual router's DHCP server: a VM learns its NIC's address, router, MTU, routes and DNS from the datapath. */
#ifndef VPCBPF_DHCP_H
#define VPCBPF_DHCP_H

/*
 * Every answer is already known: a NIC's address is configured, not leased
 * from a pool, so the server keeps no state and every host answers its own
 * NICs from the maps (RFC 2131 messages, RFC 2132 options, RFC 3442 option
 * 121). A reply is built whole in a per-CPU scratch buffer, written over the
 * request and sent back out of the interface it came in on, from the
 * gateway's address and the router MAC: nothing is flooded, and another
 * NIC never sees it. docs/dhcp.md says what each message gets.
 */

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_BOOTREQUEST 1
#define DHCP_BOOTREPLY 2
#define DHCP_HTYPE_ETHER 1
#define DHCP_MAGIC 0x63825363
#define DHCP_FLAG_BROADCAST 0x8000

#define DHCPDISCOVER 1
#define DHCPOFFER 2
#define DHCPREQUEST 3
#define DHCPDECLINE 4
#define DHCPACK 5
#define DHCPNAK 6
#define DHCPRELEASE 7
#define DHCPINFORM 8

#define DHCP_OPT_PAD 0
#define DHCP_OPT_SUBNET_MASK 1
#define DHCP_OPT_ROUTER 3
#define DHCP_OPT_DNS 6
#define DHCP_OPT_DOMAIN 15
#define DHCP_OPT_MTU 26
#define DHCP_OPT_REQUESTED_IP 50
#define DHCP_OPT_LEASE_TIME 51
#define DHCP_OPT_MSG_TYPE 53
#define DHCP_OPT_SERVER_ID 54
#define DHCP_OPT_T1 58
#define DHCP_OPT_T2 59
#define DHCP_OPT_CLASSLESS_ROUTES 121
#define DHCP_OPT_END 255

/* BOOTP's fixed part up to chaddr: what a reply copies from the request. */
struct dhcp_head {
	__u8 op;
	__u8 htype;
	__u8 hlen;
	__u8 hops;
	__be32 xid;
	__be16 secs;
	__be16 flags;
	__be32 ciaddr;
	__be32 yiaddr;
	__be32 siaddr;
	__be32 giaddr;
	__u8 chaddr[16];
};

#define DHCP_FIXED_LEN 236 /* op .. file */
#define DHCP_COOKIE_OFF DHCP_FIXED_LEN
#define DHCP_OPTIONS_OFF (DHCP_FIXED_LEN + 4)

/*
 * The reply is one 576-byte IP datagram, the size every client must take
 * (RFC 2131 2), padded with zeros after the END option, as ISC's and
 * busybox's servers do.
 */
#define DHCP_REPLY_IP_LEN 576
#define DHCP_REPLY_UDP_LEN (DHCP_REPLY_IP_LEN - 20)
#define DHCP_REPLY_OPT_LEN (DHCP_REPLY_IP_LEN - 20 - 8 - DHCP_OPTIONS_OFF)

struct dhcp_reply {
	struct iphdr ip;
	struct udphdr udp;
	struct dhcp_head head;
	__u8 sname[64];
	__u8 file[128];
	__be32 cookie;
	__u8 options[DHCP_REPLY_OPT_LEN];
};
_Static_assert(sizeof(struct dhcp_reply) == DHCP_REPLY_IP_LEN, "a DHCP reply is one 576-byte datagram");

/* The longest option list a reply carries: 53, 54, 51, 58, 59, 1, 3, 26, 6, 15, 121, END. */
#define DHCP_REPLY_OPT_MAX (3 + 6 * 6 + 4 + (2 + 4 * DHCP_MAX_DNS) + (2 + DHCP_DOMAIN_LEN) + \
			    (2 + 9 * DHCP_MAX_ROUTES) + 1)
_Static_assert(DHCP_REPLY_OPT_MAX <= DHCP_REPLY_OPT_LEN, "every option fits the reply");

/* Options of a request read at most this far (a request that needs more is malformed). */
#define DHCP_REQ_OPT_MAX 320
#define DHCP_OPTIONS_WALK 128 /* options (pads included) walked at most */

/*
 * Options are written at a cursor masked to DHCP_OPT_MASK, so the verifier
 * sees one range instead of one constant offset per combination of DNS
 * servers, domain length and routes (which it could not prune); `spill`
 * keeps what a masked write past the reply could reach inside the value.
 */
#define DHCP_OPT_MASK 511

/* What the walk of a request's options found. */
struct dhcp_walk {
	__u32 off;
	__u32 len;
	__be32 requested_ip;
	__be32 server_id;
	__u8 type;
	__u8 bad;
	__u8 end;
	__u8 _pad;
};

struct dhcp_scratch {
	struct dhcp_reply reply;
	__u8 spill[DHCP_OPT_MASK + 1 - DHCP_REPLY_OPT_LEN];
	__u8 req_opts[DHCP_REQ_OPT_MAX + 8]; /* + room for a 4-byte read at the last offset */
	__u32 cursor;
	/*
	 * The walk's results live in the map value, not on the stack: 6.1's verifier
	 * checks a bpf_loop callback once and would take stack fields it saw
	 * untouched (requested IP, server id) for constants, hard-wiring the
	 * branches that read them.
	 */
	struct dhcp_walk walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dhcp_scratch);
} dhcp_scratch SEC(".maps");

/* A datagram for the server: UDP to port 67, broadcast or to the gateway (a renewing client unicasts). */
static __always_inline int dhcp_for_server(const struct pkt *p, const struct src_nic *port)
{
	return p->ip_proto == IPPROTO_UDP && p->dport == bpf_htons(DHCP_SERVER_PORT) &&
	       (p->daddr == 0xffffffff || p->daddr == port->nic->gateway) &&
	       !(port->nic->flags & NIC_F_NO_DHCP);
}

/* One option per call of bpf_loop: the verifier checks the body once, whatever the number of options. */
static long dhcp_walk_option(__u32 i, void *ctx)
{
	struct dhcp_scratch *sc;
	struct dhcp_walk *w;
	__u32 zero = 0, off;
	__u8 code, len;
	const __u8 *v;

	sc = bpf_map_lookup_elem(&dhcp_scratch, &zero);
	if (!sc)
		return 1;
	w = &sc->walk;
	off = w->off;
	if (off >= w->len || off >= DHCP_REQ_OPT_MAX)
		return 1;
	code = sc->req_opts[off];
	if (code == DHCP_OPT_PAD) {
		w->off = off + 1;
		return 0;
	}
	if (code == DHCP_OPT_END) {
		w->end = 1;
		return 1;
	}
	len = sc->req_opts[off + 1];
	if (off + 2 + len > w->len) {
		w->bad = 1;
		return 1;
	}
	v = &sc->req_opts[off + 2];
	if (code == DHCP_OPT_MSG_TYPE) {
		if (len != 1)
			goto bad;
		w->type = v[0];
	} else if (code == DHCP_OPT_REQUESTED_IP) {
		if (len != 4)
			goto bad;
		__builtin_memcpy(&w->requested_ip, v, 4);
	} else if (code == DHCP_OPT_SERVER_ID) {
		if (len != 4)
			goto bad;
		__builtin_memcpy(&w->server_id, v, 4);
	}
	w->off = off + 2 + len;
	return 0;
bad:
	w->bad = 1;
	return 1;
}

/*
 * One byte of the reply's options at cursor `at`; returns the next cursor.
 * Cursors stay masked to DHCP_OPT_MASK: a cursor past the reply (a bug)
 * lands in spill, never outside the buffer.
 */
static __always_inline __u32 dhcp_put(struct dhcp_reply *r, __u32 at, __u8 v)
{
	__u8 *opts = r->options;

	opts[at & DHCP_OPT_MASK] = v;
	return (at + 1) & DHCP_OPT_MASK;
}

static __always_inline __u32 dhcp_put_addr(struct dhcp_reply *r, __u32 at, __be32 v)
{
	const __u8 *b = (const __u8 *)&v;

	at = dhcp_put(r, at, b[0]);
	at = dhcp_put(r, at, b[1]);
	at = dhcp_put(r, at, b[2]);
	return dhcp_put(r, at, b[3]);
}

static __always_inline __u32 dhcp_put_u32(struct dhcp_reply *r, __u32 at, __u8 code, __be32 v)
{
	at = dhcp_put(r, at, code);
	at = dhcp_put(r, at, 4);
	return dhcp_put_addr(r, at, v);
}

/*
 * The options of an OFFER/ACK (lease: not for INFORM, RFC 2131 3.4) or a NAK:
 * the NIC's subnet gives mask, router and MTU; the subnet's DHCP record (if
 * any) DNS servers, domain and classless routes, all through the gateway.
 */
static __always_inline void dhcp_put_options(struct dhcp_scratch *sc, __u8 type, int lease,
					     const struct src_nic *port, const struct subnet_dhcp *cfg)
{
	struct dhcp_reply *r = &sc->reply;
	const struct nic *nic = port->nic;
	__u32 mtu = port->host->underlay_mtu;
	__u32 at;

	/* read back from memory: an unknown cursor for the verifier (see DHCP_OPT_MASK) */
	*(volatile __u32 *)&sc->cursor = 0;
	at = *(volatile __u32 *)&sc->cursor & DHCP_OPT_MASK;

	at = dhcp_put(r, at, DHCP_OPT_MSG_TYPE);
	at = dhcp_put(r, at, 1);
	at = dhcp_put(r, at, type);
	at = dhcp_put_u32(r, at, DHCP_OPT_SERVER_ID, nic->gateway);
	if (type == DHCPNAK)
		goto end;
	if (lease) {
		at = dhcp_put_u32(r, at, DHCP_OPT_LEASE_TIME, bpf_htonl(DHCP_LEASE_SECONDS));
		at = dhcp_put_u32(r, at, DHCP_OPT_T1, bpf_htonl(DHCP_LEASE_SECONDS / 2));
		at = dhcp_put_u32(r, at, DHCP_OPT_T2, bpf_htonl(DHCP_LEASE_SECONDS * 7 / 8));
	}
	at = dhcp_put_u32(r, at, DHCP_OPT_SUBNET_MASK, prefix_mask(nic->subnet_len));
	at = dhcp_put_u32(r, at, DHCP_OPT_ROUTER, nic->gateway);
	/* the NIC's MTU leaves room for the overlay (RFC 2132: 68 at least) */
	if (mtu >= OVERLAY_OVERHEAD + 68 && mtu <= 0xffff) {
		mtu -= OVERLAY_OVERHEAD;
		at = dhcp_put(r, at, DHCP_OPT_MTU);
		at = dhcp_put(r, at, 2);
		at = dhcp_put(r, at, mtu >> 8);
		at = dhcp_put(r, at, mtu & 0xff);
	}
	if (!cfg)
		goto end;

	if (cfg->dns_count) {
		__u8 n = cfg->dns_count > DHCP_MAX_DNS ? DHCP_MAX_DNS : cfg->dns_count;

		at = dhcp_put(r, at, DHCP_OPT_DNS);
		at = dhcp_put(r, at, 4 * n);
#pragma unroll
		for (int i = 0; i < DHCP_MAX_DNS; i++)
			if (i < n)
				at = dhcp_put_addr(r, at, cfg->dns[i]);
	}
	if (cfg->domain_len) {
		__u8 n = cfg->domain_len > DHCP_DOMAIN_LEN ? DHCP_DOMAIN_LEN : cfg->domain_len;

		at = dhcp_put(r, at, DHCP_OPT_DOMAIN);
		at = dhcp_put(r, at, n);
#pragma unroll
		for (int i = 0; i < DHCP_DOMAIN_LEN; i++)
			if (i < n)
				at = dhcp_put(r, at, cfg->domain[i]);
	}
	if (cfg->route_count) {
		__u8 n = cfg->route_count > DHCP_MAX_ROUTES ? DHCP_MAX_ROUTES : cfg->route_count;
		__u8 len = 0;
		__u32 len_at;

		/* RFC 3442: width, the significant octets of the destination, the router */
		at = dhcp_put(r, at, DHCP_OPT_CLASSLESS_ROUTES);
		len_at = at;
		at = dhcp_put(r, at, 0);
#pragma unroll
		for (int i = 0; i < DHCP_MAX_ROUTES; i++) {
			__u8 width = cfg->route_len[i];
			const __u8 *dst = (const __u8 *)&cfg->route_prefix[i];

			if (i >= n || width > 32)
				continue;
			at = dhcp_put(r, at, width);
			len += 5;
#pragma unroll
			for (int j = 0; j < 4; j++)
				if (j * 8 < width) {
					at = dhcp_put(r, at, dst[j]);
					len++;
				}
			at = dhcp_put_addr(r, at, nic->gateway);
		}
		dhcp_put(r, len_at, len);
	}
end:
	dhcp_put(r, at, DHCP_OPT_END);
}

/* UDP checksum of the reply (pseudo header included); bpf_csum_diff takes 512 bytes at most per call. */
static __always_inline __u16 dhcp_udp_csum(struct dhcp_reply *r)
{
	__u32 pseudo = (r->ip.saddr & 0xffff) + (r->ip.saddr >> 16) + (r->ip.daddr & 0xffff) +
		       (r->ip.daddr >> 16) + bpf_htons(IPPROTO_UDP) + bpf_htons(DHCP_REPLY_UDP_LEN);
	__s64 sum;
	__u16 c;

	sum = bpf_csum_diff(NULL, 0, (void *)&r->udp, 512, pseudo);
	if (sum < 0)
		return 0;
	sum = bpf_csum_diff(NULL, 0, (void *)&r->udp + 512, DHCP_REPLY_UDP_LEN - 512, sum);
	if (sum < 0)
		return 0;
	c = ~csum_fold32((__u32)sum);
	return c ? c : 0xffff; /* 0 would mean "no checksum" */
}

/*
 * Answer a DHCP request from the NIC's VM. DISCOVER gets an OFFER, REQUEST
 * an ACK for the NIC's own address (selecting, init-reboot, renewing or
 * rebinding) and a NAK for any other, INFORM an ACK without a lease;
 * RELEASE and DECLINE are taken without a reply (the address stays the
 * NIC's). A request that is not well formed is a counted drop.
 */
static __always_inline int dhcp_respond(struct __sk_buff *skb, struct pkt *p, const struct src_nic *port)
{
	const struct nic *nic = port->nic;
	struct subnet_key sk = { .vni = port->key.vni, .prefix = nic->subnet, .len = nic->subnet_len };
	struct dhcp_walk *w;
	struct dhcp_head head;
	struct dhcp_scratch *sc;
	struct dhcp_reply *r;
	struct udphdr udp;
	struct ethhdr eth;
	__u32 zero = 0, l4, end, opt_len;
	__be32 cookie, dst_ip, yiaddr = 0, want;
	__u8 type;
	int reason, lease = 1, bcast;

	/* a renewing client speaks from its address; a new one from 0.0.0.0 */
	if (p->saddr) {
		reason = port_check_ip(port, p->saddr);
		if (reason)
			return drop(skb, p, &port->key, reason);
	}
	sc = bpf_map_lookup_elem(&dhcp_scratch, &zero);
	if (!sc)
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	if (!ipv4_is_whole(p->ip))
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	l4 = ETH_HLEN_ + p->ip_hlen;
	if (bpf_skb_load_bytes(skb, l4, &udp, sizeof(udp)))
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	end = l4 + bpf_ntohs(udp.len);
	if (bpf_ntohs(udp.len) < sizeof(udp) + DHCP_OPTIONS_OFF + 1 || end > ETH_HLEN_ + (__u32)p->ip_len)
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	if (bpf_skb_load_bytes(skb, l4 + sizeof(udp), &head, sizeof(head)) ||
	    bpf_skb_load_bytes(skb, l4 + sizeof(udp) + DHCP_COOKIE_OFF, &cookie, sizeof(cookie)))
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	if (head.op != DHCP_BOOTREQUEST || head.htype != DHCP_HTYPE_ETHER || head.hlen != ETH_ALEN_ ||
	    cookie != bpf_htonl(DHCP_MAGIC))
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	/* the client hardware address names the NIC: only its own */
	if (!mac_equal(head.chaddr, nic->mac))
		return drop(skb, p, &port->key, DROP_SPOOF_MAC);

	/* Signed bounds: 6.1's verifier learns no minimum from "!= 0", which clang makes of "< 1" unsigned. */
	__s32 n = (__s32)(end - (l4 + sizeof(udp) + DHCP_OPTIONS_OFF));
	if (n < 1)
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	if (n > DHCP_REQ_OPT_MAX)
		n = DHCP_REQ_OPT_MAX;
	opt_len = n;
	if (bpf_skb_load_bytes(skb, l4 + sizeof(udp) + DHCP_OPTIONS_OFF, sc->req_opts, opt_len))
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	w = &sc->walk;
	__builtin_memset(w, 0, sizeof(*w));
	w->len = opt_len;
	bpf_loop(DHCP_OPTIONS_WALK, dhcp_walk_option, NULL, 0);
	if (w->bad || !w->type)
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);

	switch (w->type) {
	case DHCPDISCOVER:
		type = DHCPOFFER;
		yiaddr = port->key.ip;
		break;
	case DHCPREQUEST:
		/* selecting names us (option 54); init-reboot says which address; renewing/rebinding uses ciaddr */
		if (w->server_id && w->server_id != nic->gateway)
			return drop(skb, p, &port->key, DROP_UNSUPPORTED); /* it chose another server */
		want = w->requested_ip ? w->requested_ip : head.ciaddr;
		if (!want)
			return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
		if (want == port->key.ip) {
			type = DHCPACK;
			yiaddr = want;
		} else {
			type = DHCPNAK;
		}
		break;
	case DHCPINFORM:
		type = DHCPACK;
		lease = 0;
		break;
	case DHCPRELEASE:
	case DHCPDECLINE:
		return TC_ACT_SHOT_; /* taken: no reply (RFC 2131 4.3.3, 4.3.4); the NIC keeps its address */
	default:
		return drop(skb, p, &port->key, DROP_DHCP_MALFORMED);
	}

	/* RFC 2131 4.1: NAK broadcast; to ciaddr when the client has one; else as the broadcast bit asks */
	if (type == DHCPNAK)
		bcast = 1;
	else if (head.ciaddr)
		bcast = 0;
	else
		bcast = !!(head.flags & bpf_htons(DHCP_FLAG_BROADCAST));
	dst_ip = bcast ? 0xffffffff : (head.ciaddr ? head.ciaddr : yiaddr);

	r = &sc->reply;
	__builtin_memset(r, 0, sizeof(*r));
	r->ip.version = 4;
	r->ip.ihl = 5;
	r->ip.tot_len = bpf_htons(DHCP_REPLY_IP_LEN);
	r->ip.ttl = ICMP_ROUTER_TTL;
	r->ip.protocol = IPPROTO_UDP;
	r->ip.saddr = nic->gateway;
	r->ip.daddr = dst_ip;
	r->ip.check = csum_ipv4_header(&r->ip);
	r->udp.source = bpf_htons(DHCP_SERVER_PORT);
	r->udp.dest = bpf_htons(DHCP_CLIENT_PORT);
	r->udp.len = bpf_htons(DHCP_REPLY_UDP_LEN);
	r->head.op = DHCP_BOOTREPLY;
	r->head.htype = DHCP_HTYPE_ETHER;
	r->head.hlen = ETH_ALEN_;
	r->head.xid = head.xid;
	r->head.flags = head.flags;
	r->head.ciaddr = type == DHCPNAK ? 0 : head.ciaddr;
	r->head.yiaddr = yiaddr;
	r->head.giaddr = head.giaddr;
	__builtin_memcpy(r->head.chaddr, head.chaddr, sizeof(head.chaddr));
	r->cookie = bpf_htonl(DHCP_MAGIC);
	dhcp_put_options(sc, type, lease, port, bpf_map_lookup_elem(&subnet_dhcp, &sk));
	r->udp.check = dhcp_udp_csum(r);

	__builtin_memset(eth.h_dest, 0xff, ETH_ALEN_);
	if (!bcast)
		mac_copy(eth.h_dest, nic->mac);
	mac_copy(eth.h_source, port->host->router_mac);
	eth.h_proto = bpf_htons(ETH_P_IP_);

	/* p's packet pointers die here */
	if (bpf_skb_change_tail(skb, ETH_HLEN_ + DHCP_REPLY_IP_LEN, 0) ||
	    bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN_, r, DHCP_REPLY_IP_LEN, 0))
		return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);

	stats_rx(port->nic, skb->len);
	if (redirect_back(skb, nic) != TC_ACT_REDIRECT_)
		return drop(skb, p, &port->key, DROP_REDIRECT_FAILED);
	return TC_ACT_REDIRECT_;
}

#endif
