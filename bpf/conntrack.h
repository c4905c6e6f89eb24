/* bpf/conntrack.h — connection tracking for security groups: one entry per (NIC, flow), states and idle timeouts. */
#ifndef VPCBPF_CONNTRACK_H
#define VPCBPF_CONNTRACK_H

#define TCP_FIN_ 0x01
#define TCP_SYN_ 0x02
#define TCP_RST_ 0x04
#define TCP_ACK_ 0x10

#define ICMP_SOURCE_QUENCH_ 4
#define ICMP_PARAMETERPROB_ 12

#define NSEC_PER_SEC_ 1000000000ULL
#define EEXIST_ 17
/* last_seen is refreshed at most this often: a busy flow does not write its entry on every packet. */
#define CT_REFRESH_NS (NSEC_PER_SEC_ / 4)
/* A full table is swept for dead entries at most this often (a sweep walks the whole map). */
#define CT_SWEEP_INTERVAL_NS NSEC_PER_SEC_

/*
 * What the filter knows of a packet, seen from the NIC whose group decides.
 * key is the conntrack key; for an ICMP error it is the key of the flow the
 * error is about (the quoted packet), with related set.
 */
struct flow {
	struct ct_key key;
	__be32 remote;   /* the peer: what a rule's CIDR matches */
	__be16 dport;    /* destination port (TCP/UDP): what a rule's port matches */
	__u8 dir;        /* SG_INGRESS / SG_EGRESS */
	__u8 proto;      /* of the packet itself */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 related;    /* an ICMP error quoting a packet of key */
	__u8 _pad;
};

/*
 * An echo flow is (identifier, who asks): the requester's side goes in
 * remote_port, so a peer's own ping that reuses the identifier of ours is
 * a different flow. type is ICMP_ECHO_ or ICMP_ECHOREPLY_, seen in dir.
 */
static __always_inline void ct_key_echo(struct ct_key *k, __u8 dir, __u8 type, __be16 id)
{
	int requester_local = (type == ICMP_ECHO_) == (dir == SG_EGRESS);

	k->local_port = id;
	k->remote_port = bpf_htons(requester_local ? 1 : 2);
}

static __always_inline int icmp_type_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH_ || type == ICMP_SOURCE_QUENCH_ || type == ICMP_TIME_EXCEEDED_ ||
	       type == ICMP_PARAMETERPROB_;
}

/* The key of a packet (saddr:sport -> daddr:dport) travelling in direction dir, seen from NIC zone. */
static __always_inline void ct_key_fill(struct ct_key *k, __u32 vni, __be32 zone, __u8 dir, __u8 proto,
					__be32 saddr, __be32 daddr, __be16 sport, __be16 dport)
{
	k->vni = vni;
	k->nic = zone;
	k->proto = proto;
	if (dir == SG_EGRESS) {
		k->local = saddr;
		k->local_port = sport;
		k->remote = daddr;
		k->remote_port = dport;
	} else {
		k->local = daddr;
		k->local_port = dport;
		k->remote = saddr;
		k->remote_port = sport;
	}
}

/*
 * An ICMP error quotes the packet that caused it, which travelled the other
 * way: look for that packet's flow. Returns 1 when the quote was readable.
 * Only the linear area is read; a quote beyond it is judged by the rules.
 */
static __always_inline int flow_parse_quote(const struct pkt *p, void *quote, __u32 vni, __be32 zone,
					     struct flow *f)
{
	struct iphdr *in = quote;
	__u8 back = f->dir == SG_EGRESS ? SG_INGRESS : SG_EGRESS;
	__u16 *l4;
	__u32 hlen;

	if ((void *)(in + 1) > p->data_end || in->version != 4 || in->ihl < 5)
		return 0;
	hlen = in->ihl * 4;
	l4 = (void *)in + hlen;
	if ((void *)(l4 + 4) > p->data_end)
		return 0;
	if (in->protocol == IPPROTO_TCP || in->protocol == IPPROTO_UDP) {
		ct_key_fill(&f->key, vni, zone, back, in->protocol, in->saddr, in->daddr, l4[0], l4[1]);
	} else if (in->protocol == IPPROTO_ICMP) {
		__u8 type = *(__u8 *)l4;

		if (type != ICMP_ECHO_ && type != ICMP_ECHOREPLY_)
			return 0;
		ct_key_fill(&f->key, vni, zone, back, IPPROTO_ICMP, in->saddr, in->daddr, 0, 0);
		ct_key_echo(&f->key, back, type, l4[2]);
	} else {
		ct_key_fill(&f->key, vni, zone, back, in->protocol, in->saddr, in->daddr, 0, 0);
	}
	f->related = 1;
	return 1;
}

/*
 * Reads the L4 facts of a first fragment (the caller passes later fragments
 * without a decision: they carry no ports). Returns DROP_NONE or
 * DROP_MALFORMED when the L4 header is cut short.
 */
static __always_inline int flow_parse(const struct pkt *p, const struct nic_key *nic, __u8 dir,
				      struct flow *f)
{
	/* masked (IHL is at most 15 words): a caller that spilled ip_hlen may have lost its bounds */
	void *l4 = (void *)p->ip + (p->ip_hlen & 0x3c);

	f->dir = dir;
	f->proto = p->ip_proto;
	f->remote = dir == SG_EGRESS ? p->daddr : p->saddr;
	switch (p->ip_proto) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > p->data_end)
			return DROP_MALFORMED;
		f->tcp_flags = ((__u8 *)tcp)[13];
		f->dport = tcp->dest;
		ct_key_fill(&f->key, nic->vni, nic->ip, dir, IPPROTO_TCP, p->saddr, p->daddr, tcp->source, tcp->dest);
		return DROP_NONE;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > p->data_end)
			return DROP_MALFORMED;
		f->dport = udp->dest;
		ct_key_fill(&f->key, nic->vni, nic->ip, dir, IPPROTO_UDP, p->saddr, p->daddr, udp->source, udp->dest);
		return DROP_NONE;
	}
	case IPPROTO_ICMP: {
		struct icmphdr *icmp = l4;

		if ((void *)(icmp + 1) > p->data_end)
			return DROP_MALFORMED;
		f->icmp_type = icmp->type;
		ct_key_fill(&f->key, nic->vni, nic->ip, dir, IPPROTO_ICMP, p->saddr, p->daddr, 0, 0);
		if (icmp->type == ICMP_ECHO_ || icmp->type == ICMP_ECHOREPLY_)
			ct_key_echo(&f->key, dir, icmp->type, icmp->un.echo.id);
		else if (icmp_type_is_error(icmp->type))
			flow_parse_quote(p, icmp + 1, nic->vni, nic->ip, f);
		return DROP_NONE;
	}
	default:
		ct_key_fill(&f->key, nic->vni, nic->ip, dir, p->ip_proto, p->saddr, p->daddr, 0, 0);
		return DROP_NONE;
	}
}

static __always_inline __u64 ct_timeout_ns(__u8 state, __u8 proto)
{
	__u64 s;

	switch (state) {
	case CT_SYN_SENT: s = CT_TIMEOUT_SYN; break;
	case CT_ESTABLISHED: s = CT_TIMEOUT_ESTABLISHED; break;
	case CT_FIN: s = CT_TIMEOUT_FIN; break;
	case CT_CLOSED: s = CT_TIMEOUT_CLOSED; break;
	case CT_REPLIED: s = proto == IPPROTO_ICMP ? CT_TIMEOUT_ICMP : CT_TIMEOUT_UDP_REPLIED; break;
	default: s = proto == IPPROTO_ICMP ? CT_TIMEOUT_ICMP : CT_TIMEOUT_UDP; break;
	}
	return s * NSEC_PER_SEC_;
}

static __always_inline int ct_expired(const struct ct_entry *e, __u8 proto, __u64 now)
{
	return now > e->last_seen && now - e->last_seen > ct_timeout_ns(e->state, proto);
}

/* TCP: the states that decide the timeout; any packet of a live entry passes. */
static __always_inline void ct_advance_tcp(struct ct_entry *e, const struct flow *f, int reply)
{
	__u8 flags = f->tcp_flags, state = e->state, fin = e->flags;

	if (flags & TCP_RST_) {
		state = CT_CLOSED;
	} else if (flags & TCP_FIN_) {
		fin |= reply ? CT_F_FIN_REPLY : CT_F_FIN_ORIGIN;
		state = fin == (CT_F_FIN_ORIGIN | CT_F_FIN_REPLY) ? CT_CLOSED : CT_FIN;
	} else if (state == CT_SYN_SENT && reply && (flags & TCP_ACK_)) {
		state = CT_ESTABLISHED;
	}
	if (fin != e->flags)
		e->flags = fin;
	if (state != e->state)
		e->state = state;
}

/*
 * The one lookup of a tracked flow. Returns 1 when a live entry decides the
 * packet (and advances it), 0 when the rules must (no entry, a dead one, or
 * a new TCP connection reusing the ports of a closed one).
 */
static __always_inline int ct_lookup(const struct flow *f, __u64 now)
{
	struct ct_entry *e = bpf_map_lookup_elem(&conntrack, &f->key);
	int reply;

	if (!e || ct_expired(e, f->key.proto, now))
		return 0;
	if (f->related)
		return 1; /* an error about the flow passes; it does not change its state */
	reply = f->dir != e->origin;
	if (f->proto == IPPROTO_TCP) {
		if ((f->tcp_flags & (TCP_SYN_ | TCP_ACK_)) == TCP_SYN_ && (e->state == CT_CLOSED || e->state == CT_FIN))
			return 0;
		ct_advance_tcp(e, f, reply);
	} else if (reply && e->state == CT_NEW) {
		e->state = CT_REPLIED;
	}
	if (now - e->last_seen > CT_REFRESH_NS)
		e->last_seen = now;
	return 1;
}

/* When the last sweep ran (per program object; a race costs at most one extra sweep). */
__u64 ct_last_sweep = 0;

struct ct_sweep_ctx {
	__u64 now;
};

/* The live-entry count of a zone (the NIC whose group tracks the flow); created at 0 when missing. */
static __always_inline __u64 *ct_count_of(__u32 vni, __be32 zone)
{
	struct nic_key k = { .vni = vni, .ip = zone };
	__u64 *cnt = bpf_map_lookup_elem(&ct_counts, &k);
	__u64 zero = 0;

	if (cnt)
		return cnt;
	bpf_map_update_elem(&ct_counts, &k, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ct_counts, &k);
}

static long ct_sweep_one(struct bpf_map *map, const struct ct_key *key, struct ct_entry *e,
			 struct ct_sweep_ctx *ctx)
{
	if (ct_expired(e, key->proto, ctx->now) && bpf_map_delete_elem(&conntrack, key) == 0) {
		struct nic_key k = { .vni = key->vni, .ip = key->nic };
		__u64 *cnt = bpf_map_lookup_elem(&ct_counts, &k);

		if (cnt && *cnt)
			__sync_fetch_and_add(cnt, -1);
	}
	return 0;
}

/* Delete the dead entries of every zone, at most once per CT_SWEEP_INTERVAL_NS. Returns 1 when it ran. */
static __always_inline int ct_sweep(__u64 now)
{
	struct ct_sweep_ctx sweep = { .now = now };

	if (now - ct_last_sweep < CT_SWEEP_INTERVAL_NS)
		return 0;
	ct_last_sweep = now;
	bpf_for_each_map_elem(&conntrack, ct_sweep_one, &sweep, 0);
	return 1;
}

#define CT_CREATE_FULL (-1)
#define CT_CREATE_QUOTA (-2)

/* Insert a new entry (counted in its zone) or reuse a dead one in place (not counted again). */
static __always_inline int ct_insert(const struct flow *f, const struct ct_entry *e, __u64 *cnt)
{
	/* int: 6.1 hands a map update's int error zero-extended (-EEXIST reads 4294967279 as a long) */
	int err = (int)bpf_map_update_elem(&conntrack, &f->key, e, BPF_NOEXIST);

	if (err == 0) {
		if (cnt)
			__sync_fetch_and_add(cnt, 1);
		return 0;
	}
	if (err == -EEXIST_)
		return bpf_map_update_elem(&conntrack, &f->key, e, BPF_EXIST) ? CT_CREATE_FULL : 0;
	return CT_CREATE_FULL;
}

/*
 * Records a flow the rules allowed. A TCP RST or an ICMP message other than
 * an echo request opens nothing. A TCP packet without SYN is picked up (the
 * flow began before the group, or before a reload) and becomes established
 * when the other side answers. quota: the most entries the flow's zone may
 * hold (maps/vpcbpf.h, CT_NIC_QUOTA_DEFAULT).
 * Returns 0, CT_CREATE_QUOTA when the zone holds its quota of live entries,
 * or CT_CREATE_FULL when the table is full; both after a sweep of dead entries.
 */
static __always_inline int ct_create(const struct flow *f, __u32 rule, __u64 now, __u32 quota)
{
	struct ct_entry e = { .last_seen = now, .origin = f->dir, .rule = rule, .state = CT_NEW };
	__u64 *cnt;
	int rc;

	if (f->related)
		return 0;
	if (f->proto == IPPROTO_TCP) {
		if (f->tcp_flags & TCP_RST_)
			return 0;
		/* A pickup stays on the short SYN timeout until the other side answers: stray ACKs
		 * must not fill the table with five-day entries. */
		e.state = CT_SYN_SENT;
		if (f->tcp_flags & TCP_FIN_) {
			e.state = CT_FIN;
			e.flags = CT_F_FIN_ORIGIN;
		}
	} else if (f->proto == IPPROTO_ICMP && f->icmp_type != ICMP_ECHO_) {
		return 0;
	}
	cnt = ct_count_of(f->key.vni, f->key.nic);
	if (cnt && *cnt >= quota && (!ct_sweep(now) || *cnt >= quota)) {
		/* at quota: only a dead entry of this very flow may be reused */
		if (bpf_map_lookup_elem(&conntrack, &f->key) &&
		    bpf_map_update_elem(&conntrack, &f->key, &e, BPF_EXIST) == 0)
			return 0;
		return CT_CREATE_QUOTA;
	}
	rc = ct_insert(f, &e, cnt);
	if (rc == 0 || !ct_sweep(now))
		return rc;
	return ct_insert(f, &e, cnt);
}

#endif
