/* bpf/nat.h — the internet: source NAT mappings (ports per flow, per VPC), elastic IPs, and the rewrites both need. */
#ifndef VPCBPF_NAT_H
#define VPCBPF_NAT_H

/*
 * A mapping is two entries of the nat map (maps/vpcbpf.h): out, keyed as
 * the VM sees the flow, and in, keyed as the internet does. Allocation
 * inserts the in entry with BPF_NOEXIST, so two CPUs never take one port
 * for two flows; a taken port whose mapping is dead on both sides is
 * reclaimed, any other is a collision and the next port is tried. Timeouts
 * are conntrack's (bpf/conntrack.h): each side refreshes its own entry, a
 * state change (TCP answered, FIN, RST; UDP/ICMP answered) is written to
 * both, and a mapping is dead once both entries are.
 */
#define NAT_TRIES 32 /* ports tried for a new flow before it is counted as exhausted */
/*
 * nat_map_out's answer "sweep dead mappings, then ask again" (not a drop reason): the sweep's
 * callback runs from nic_internet itself, not from inside the global function, so that 6.1's
 * 512 bytes for a call chain (nic_internet -> nat_map_out, nic_internet -> callback) hold.
 */
#define NAT_SWEEP 255
#define BPF_F_PSEUDO_HDR_ 0x10
#define BPF_F_MARK_MANGLED_0_ 0x20
#define EEXIST_ 17
/*
 * A map update's error as the int it is: Linux 6.1 calls the hash map's
 * update directly (an int function) and hands the program its 32 bits
 * zero-extended, so -EEXIST reads 4294967279 as a 64-bit value (6.2 made
 * map ops return long). Compare errors through this.
 */
#define MAP_ERR(x) ((int)(x))

/* What the internet path learned before the security group ran (nat_check) for nat_egress. */
struct nat_out {
	const struct nat_host *nh;
	__be32 src;        /* the external source: the NIC's EIP, or the host's external address */
	__u8 eip;          /* 1: 1:1 (no mapping, ports kept) */
	__u8 neigh;        /* 0: fib gave the MACs; 1: the kernel resolves the next hop (bpf_redirect_neigh) */
	__u8 hairpin;      /* to an EIP (or from an EIP back to a mapping): in again through the external device */
	__u8 dmac[ETH_ALEN_];
	__u8 smac[ETH_ALEN_];
	__be32 nexthop;
};

static __always_inline const struct nat_host *nat_host_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nat_host, &zero);
}

/* A mapping dies after conntrack's idle timeout for its state. */
static __always_inline int nat_dead(const struct nat_entry *e, __u8 proto, __u64 now)
{
	return now > e->last_seen && now - e->last_seen > ct_timeout_ns(e->state, proto);
}

/* The key of the other entry of e's mapping (k: e's own key). */
static __always_inline void nat_twin_key(const struct nat_key *k, const struct nat_entry *e, struct nat_key *t)
{
	t->vni = k->dir == NAT_OUT ? 0 : e->vni;
	t->addr = e->addr;
	t->remote = k->remote;
	t->port = e->port;
	t->remote_port = k->remote_port;
	t->proto = k->proto;
	t->dir = k->dir == NAT_OUT ? NAT_IN : NAT_OUT;
	t->_pad[0] = 0;
	t->_pad[1] = 0;
}

/* Whether the mapping of entry e (key k) is dead on both sides (a missing twin is dead). */
static __always_inline int nat_mapping_dead(const struct nat_key *k, const struct nat_entry *e, __u64 now,
					    struct nat_key *t)
{
	const struct nat_entry *te;

	if (!nat_dead(e, k->proto, now))
		return 0;
	nat_twin_key(k, e, t);
	te = bpf_map_lookup_elem(&nat, t);
	return !te || nat_dead(te, k->proto, now);
}

/* The state a packet moves its mapping to (reply: from the internet). RST and FIN shorten the timeout. */
static __always_inline void nat_next_state(__u8 proto, __u8 tcp_flags, int reply, __u8 *state, __u8 *flags)
{
	if (proto != IPPROTO_TCP) {
		if (reply && *state == CT_NEW)
			*state = CT_REPLIED;
		return;
	}
	if (tcp_flags & TCP_RST_) {
		*state = CT_CLOSED;
	} else if (tcp_flags & TCP_FIN_) {
		*flags |= reply ? CT_F_FIN_REPLY : CT_F_FIN_ORIGIN;
		*state = *flags == (CT_F_FIN_ORIGIN | CT_F_FIN_REPLY) ? CT_CLOSED : CT_FIN;
	} else if (!reply && (tcp_flags & (TCP_SYN_ | TCP_ACK_)) == TCP_SYN_ &&
		   (*state == CT_CLOSED || *state == CT_FIN)) {
		*state = CT_SYN_SENT; /* the ports of a closed connection, used again */
		*flags = 0;
	} else if (*state == CT_SYN_SENT && reply && (tcp_flags & TCP_ACK_)) {
		*state = CT_ESTABLISHED;
	}
}

/* A packet of the mapping (entry e under key k) went by: its state for both entries, its time for e. */
static __always_inline void nat_track(const struct nat_key *k, struct nat_entry *e, __u8 tcp_flags, __u64 now,
				      struct nat_key *t)
{
	__u8 state = e->state, flags = e->flags;

	nat_next_state(k->proto, tcp_flags, k->dir == NAT_IN, &state, &flags);
	if (state != e->state || flags != e->flags) {
		struct nat_entry *te;

		e->state = state;
		e->flags = flags;
		nat_twin_key(k, e, t);
		te = bpf_map_lookup_elem(&nat, t);
		if (te) {
			te->state = state;
			te->flags = flags;
			te->last_seen = now;
		}
		e->last_seen = now;
	} else if (now - e->last_seen > CT_REFRESH_NS) {
		e->last_seen = now;
	}
}

/*
 * What a mapping lookup for a VM's flow needs and gives: scalars only (a
 * global function's argument), and small: it lives on nic_internet's stack,
 * near the 512-byte limit (the external address and port range are read
 * from nat_host inside).
 */
struct nat_req {
	struct nat_key ok;  /* the VM's flow */
	__be16 ext_port;    /* out: the external port */
	__u8 tcp_flags;
	__u8 swept;         /* the caller has swept dead mappings (or tried: at most once a second) */
	__be32 nic;         /* the NIC sending (of ok.vni): whose quota a new mapping counts in */
	__u32 quota;        /* its quota of mappings */
};

/*
 * The keys and entries of an allocation live in a per-CPU scratch entry,
 * not on the stack: nic_ingress's own frame leaves little of the 512 bytes
 * that a call chain may use.
 */
struct nat_scratch {
	struct nat_req req; /* nat_egress's request to nat_map_out */
	struct nat_key ok;
	struct nat_key ik;
	struct nat_key t;
	__u32 _pad;
	struct nat_entry e;
	struct nic_key ck;  /* a NIC whose mappings are counted (nat_counts) */
	__u64 zero;
	struct nat_key sweep_t; /* the sweep's twin key (its callback runs inside nat_alloc: not t) */
	struct bpf_fib_lookup fib; /* nat_check's question to the kernel's FIB */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_scratch);
} nat_scratch SEC(".maps");

/* When the NAT table was last swept (per program object; a race costs one extra sweep). */
__u64 nat_last_sweep = 0;

struct nat_sweep_ctx {
	__u64 now; /* the twin's key is built in the scratch entry: this lives on nat_map_out's stack */
};

/*
 * The live mappings of NIC *k (nat_counts); created at 0 (*zero) when
 * missing. The key and the zero come from the caller (the per-CPU scratch
 * entry): on 6.1 nic_internet, nat_map_out and the sweep's callback share
 * one 512-byte stack budget, and it is nearly spent.
 */
static __always_inline __u64 *nat_count_of(const struct nic_key *k, const __u64 *zero)
{
	__u64 *cnt = bpf_map_lookup_elem(&nat_counts, k);

	if (cnt)
		return cnt;
	bpf_map_update_elem(&nat_counts, k, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&nat_counts, k);
}

/* A mapping of NIC *k is gone: one less against its quota. */
static __always_inline void nat_uncount(const struct nic_key *k)
{
	__u64 *cnt = bpf_map_lookup_elem(&nat_counts, k);

	if (cnt && *cnt)
		__sync_fetch_and_add(cnt, -1);
}

static long nat_sweep_one(struct bpf_map *map, const struct nat_key *key, struct nat_entry *e,
			  struct nat_sweep_ctx *ctx)
{
	__u32 zero = 0;
	struct nat_scratch *s = bpf_map_lookup_elem(&nat_scratch, &zero);

	if (!s)
		return 1;
	/* a mapping counts once, by its in entry (the out entry of a reclaimed port is gone already) */
	if (nat_mapping_dead(key, e, ctx->now, &s->sweep_t) && bpf_map_delete_elem(&nat, key) == 0 &&
	    key->dir == NAT_IN) {
		struct nic_key k = { .vni = e->vni, .ip = e->nic };

		nat_uncount(&k);
	}
	return 0;
}

/* Room for a new entry: dead mappings swept out, at most once a second. 0 when a sweep ran. */
static __always_inline int nat_sweep(__u64 now)
{
	struct nat_sweep_ctx sweep = { .now = now };

	if (now - nat_last_sweep < CT_SWEEP_INTERVAL_NS)
		return -1;
	nat_last_sweep = now;
	bpf_for_each_map_elem(&nat, nat_sweep_one, &sweep, 0);
	return 0;
}

/* The first state of a mapping opened by a packet of the VM. */
static __always_inline __u8 nat_first_state(__u8 proto, __u8 tcp_flags)
{
	if (proto != IPPROTO_TCP)
		return CT_NEW;
	if (tcp_flags & TCP_RST_)
		return CT_CLOSED;
	return tcp_flags & TCP_FIN_ ? CT_FIN : CT_SYN_SENT;
}


/*
 * A new mapping for the VM's flow s->ok: an external port from the host's
 * range (a hash of the flow picks where the search starts), in entry first.
 * Returns DROP_NONE with r->ext_port, DROP_NAT_NIC_QUOTA, DROP_NAT_PORTS_EXHAUSTED, DROP_NAT_FULL, or
 * NAT_SWEEP (at the quota, or the table full, and no sweep tried yet).
 */
static __always_inline int nat_alloc(struct nat_req *r, const struct nat_host *nh, struct nat_scratch *s, __u64 now)
{
	__u32 lo = nh->port_lo, hi = nh->port_hi, range, start, tries;
	struct nat_key *ok = &s->ok, *ik = &s->ik;
	__u64 *cnt;

	if (!lo || hi < lo)
		return DROP_NAT_PORTS_EXHAUSTED;
	/* the NIC's quota, as conntrack's: at it, dead mappings are swept first (at most once a second) */
	s->ck.vni = ok->vni;
	s->ck.ip = r->nic;
	s->zero = 0;
	cnt = nat_count_of(&s->ck, &s->zero);
	if (cnt && *cnt >= r->quota)
		return r->swept ? DROP_NAT_NIC_QUOTA : NAT_SWEEP;
	*ik = *ok;
	ik->vni = 0;
	ik->addr = nh->ext_ip;
	ik->dir = NAT_IN;
	s->e.last_seen = now;
	s->e.vni = ok->vni;
	s->e.addr = ok->addr;
	s->e.port = ok->port;
	s->e.state = nat_first_state(ok->proto, r->tcp_flags);
	s->e.flags = 0;
	s->e.nic = r->nic;

	range = hi - lo + 1;
	start = flow_mix(ok->vni ^ ((__u32)ok->proto << 24));
	start = flow_mix(start ^ ok->addr);
	start = flow_mix(start ^ ok->remote);
	start = flow_mix(start ^ (((__u32)ok->port << 16) | ok->remote_port));
	start %= range;
	tries = range < NAT_TRIES ? range : NAT_TRIES;

#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < NAT_TRIES; i++) {
		struct nat_entry *old;
		__u32 off;
		int err;

		if (i >= tries)
			break;
		off = start + i;
		if (off >= range)
			off -= range;
		ik->port = bpf_htons((__u16)(lo + off));
		err = MAP_ERR(bpf_map_update_elem(&nat, ik, &s->e, BPF_NOEXIST));
		if (err == -EEXIST_) {
			old = bpf_map_lookup_elem(&nat, ik);
			if (!old || !nat_mapping_dead(ik, old, now, &s->t))
				continue; /* a collision: that port serves a live flow to this peer */
			s->ck.vni = old->vni; /* the dead mapping's NIC: it loses the mapping */
			s->ck.ip = old->nic;
			nat_twin_key(ik, old, &s->t);
			bpf_map_delete_elem(&nat, &s->t);
			err = MAP_ERR(bpf_map_update_elem(&nat, ik, &s->e, BPF_EXIST));
			if (!err)
				nat_uncount(&s->ck);
		}
		if (err && !r->swept)
			return NAT_SWEEP; /* the table is full: nat_egress sweeps and asks again */
		if (err)
			return err == -EEXIST_ ? DROP_NAT_PORTS_EXHAUSTED : DROP_NAT_FULL;
		/* the out entry: the same record, naming the external side */
		s->e.addr = nh->ext_ip;
		s->e.port = ik->port;
		if (bpf_map_update_elem(&nat, ok, &s->e, BPF_ANY)) {
			bpf_map_delete_elem(&nat, ik);
			return DROP_NAT_FULL;
		}
		if (cnt)
			__sync_fetch_and_add(cnt, 1);
		r->ext_port = ik->port;
		return DROP_NONE;
	}
	return DROP_NAT_PORTS_EXHAUSTED;
}

/*
 * The external port of the VM's flow r->ok: its live mapping, the same
 * mapping revived when it died but its port was not taken since, or a new
 * one. A global function: the verifier checks it once, not once for every
 * path of nic_ingress that reaches it (the allocation loop would multiply
 * them). Returns DROP_NONE, NAT_SWEEP (sweep, set r->swept, ask again) or the drop reason.
 */
__attribute__((noinline)) int nat_map_out(struct nat_req *r)
{
	const struct nat_host *nh = nat_host_get();
	struct nat_scratch *s;
	struct nat_entry *e, *te;
	__u32 zero = 0;
	__u64 now;

	if (!r) /* a global function's pointer may be NULL for the verifier */
		return DROP_NAT_FULL;
	s = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!s || !nh)
		return DROP_NAT_FULL;
	now = bpf_ktime_get_coarse_ns();
	s->ok = r->ok;
	e = bpf_map_lookup_elem(&nat, &s->ok);
	if (!e || e->addr != nh->ext_ip) /* none, or of an older external address (dp up changed it) */
		return nat_alloc(r, nh, s, now);
	if (!nat_dead(e, s->ok.proto, now)) {
		nat_track(&s->ok, e, r->tcp_flags, now, &s->t);
		r->ext_port = e->port;
		return DROP_NONE;
	}
	nat_twin_key(&s->ok, e, &s->t);
	te = bpf_map_lookup_elem(&nat, &s->t);
	if (!te || te->vni != s->ok.vni || te->addr != s->ok.addr || te->port != s->ok.port)
		return nat_alloc(r, nh, s, now); /* its port went to another flow meanwhile */
	e->state = te->state = nat_first_state(s->ok.proto, r->tcp_flags);
	e->flags = te->flags = 0;
	e->last_seen = te->last_seen = now;
	r->ext_port = e->port;
	return DROP_NONE;
}

/* Where a rewritten field's checksum lives: TCP, UDP, ICMP offsets from the L4 header. */
static __always_inline __u32 nat_l4_csum_off(__u8 proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

/*
 * Rewrite one side of a whole (or first-fragment) IPv4 packet: the source
 * (src = 1) or destination address, and the TCP/UDP port or ICMP echo
 * identifier on that side (port_off: offset in the L4 header; old_port ==
 * new_port: no port change). With the kernel's helpers, so that a packet the
 * VM left to checksum offload (CHECKSUM_PARTIAL, GSO) stays correct. l4:
 * whether the L4 header is in this packet (first fragment). Packet
 * pointers die here. Returns 0 or -1.
 */
static __always_inline int nat_rewrite(struct __sk_buff *skb, __u32 ip_hlen, __u8 proto, int src, int l4,
				       __be32 old_addr, __be32 new_addr, __u32 port_off, __be16 old_port,
				       __be16 new_port)
{
	__u32 l4_off = ETH_HLEN_ + ip_hlen, csum_off = l4_off + nat_l4_csum_off(proto);
	__u32 addr_off = ETH_HLEN_ + (src ? 12 : 16);
	__u64 mangled = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0_ : 0;

	if (l4 && proto != IPPROTO_ICMP &&
	    bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr, BPF_F_PSEUDO_HDR_ | mangled | 4))
		return -1;
	if (bpf_l3_csum_replace(skb, ETH_HLEN_ + 10, old_addr, new_addr, 4))
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, &new_addr, 4, 0))
		return -1;
	if (!l4 || old_port == new_port)
		return 0;
	if (bpf_l4_csum_replace(skb, csum_off, old_port, new_port, mangled | 2))
		return -1;
	return bpf_skb_store_bytes(skb, l4_off + port_off, &new_port, 2, 0) ? -1 : 0;
}

/* Incremental update of a checksum for a changed 32-bit word (RFC 1624), on packet memory. */
static __always_inline void csum_replace4(__u16 *check, __be32 old, __be32 new)
{
	csum_replace2(check, (__u16)old, (__u16)new);
	csum_replace2(check, (__u16)(old >> 16), (__u16)(new >> 16));
}

/*
 * The quote inside an ICMP error, translated in place: the quoted address
 * *addr (its source or its destination: the caller's direction) from old to
 * new, the quoted IP checksum, and the quoted TCP/UDP checksum (its pseudo
 * header, and the port when it changes), each change carried into the ICMP
 * checksum. The port itself, and the ICMP checksum's share of it, are the
 * caller's: where it sits differs by direction and protocol.
 */
static __always_inline void nat_quote_rewrite(const struct pkt *p, struct icmphdr *icmp, struct iphdr *in,
					      __be32 *addr, __u16 *l4, __be32 old_addr, __be32 new_addr,
					      __be16 old_port, __be16 new_port)
{
	__u16 *l4csum = NULL, old_word = in->check;

	csum_replace4(&in->check, old_addr, new_addr);
	csum_replace4(&icmp->checksum, old_addr, new_addr);
	csum_replace2(&icmp->checksum, old_word, in->check);
	*addr = new_addr;

	if (in->protocol == IPPROTO_UDP) {
		l4csum = &l4[3];
		if (!*l4csum)
			l4csum = NULL; /* the quoted datagram carried no UDP checksum */
	} else if (in->protocol == IPPROTO_TCP) {
		if ((void *)(l4 + 9) <= p->data_end)
			l4csum = &l4[8]; /* quoted when the error carries more than 8 bytes */
	}
	if (l4csum) {
		old_word = *l4csum;
		csum_replace4(l4csum, old_addr, new_addr);
		if (old_port != new_port)
			csum_replace2(l4csum, old_port, new_port);
		csum_replace2(&icmp->checksum, old_word, *l4csum);
	}
}

/* The L4 header; the mask (IHL is at most 15 words) keeps the verifier's bounds on the offset. */
static __always_inline void *nat_l4(const struct pkt *p)
{
	return (void *)p->ip + (p->ip_hlen & 0x3c);
}

/* A VM's TCP/UDP/ICMP facts the mapping needs: ports (or the echo identifier) and the TCP flags. */
struct nat_l4 {
	__be16 port;        /* the VM's side: source port, or echo identifier */
	__be16 remote_port; /* the peer's port; 0 for ICMP */
	__u32 port_off;     /* where the VM's port sits in the L4 header */
	__u8 tcp_flags;
	__u8 icmp_type;
};

/*
 * Reads what SNAT translates. TCP and UDP of a whole datagram, ICMP echo
 * requests (and replies: a VM with an EIP answering a ping); anything else
 * cannot be mapped to a port: DROP_NAT_UNSUPPORTED.
 */
static __always_inline int nat_parse_l4(const struct pkt *p, int outbound, struct nat_l4 *l)
{
	void *l4 = nat_l4(p);

	if (!ipv4_is_whole(p->ip))
		return DROP_NAT_UNSUPPORTED;
	switch (p->ip_proto) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > p->data_end)
			return DROP_MALFORMED;
		l->tcp_flags = ((__u8 *)tcp)[13];
		l->port = outbound ? tcp->source : tcp->dest;
		l->remote_port = outbound ? tcp->dest : tcp->source;
		l->port_off = outbound ? 0 : 2;
		return DROP_NONE;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > p->data_end)
			return DROP_MALFORMED;
		l->port = outbound ? udp->source : udp->dest;
		l->remote_port = outbound ? udp->dest : udp->source;
		l->port_off = outbound ? 0 : 2;
		return DROP_NONE;
	}
	case IPPROTO_ICMP: {
		struct icmphdr *icmp = l4;

		if ((void *)(icmp + 1) > p->data_end)
			return DROP_MALFORMED;
		l->icmp_type = icmp->type;
		if (icmp->type != ICMP_ECHO_ && icmp->type != ICMP_ECHOREPLY_)
			return DROP_NAT_UNSUPPORTED;
		l->port = icmp->un.echo.id;
		l->port_off = 4;
		return DROP_NONE;
	}
	default:
		return DROP_NAT_UNSUPPORTED;
	}
}

#endif
