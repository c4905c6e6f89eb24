/* bpf/filter.h — security groups: a tracked flow passes on one conntrack lookup, a new one meets the rules. */
#ifndef VPCBPF_FILTER_H
#define VPCBPF_FILTER_H

/*
 * The rule a new flow meets, through the classifier the tool compiled
 * (maps/vpcbpf.h, "security groups"): the port trie names the set of rules
 * that cover (direction, protocol, port), the address trie the first of them
 * whose CIDR holds the remote address. Two lookups for any number of rules.
 * No rule: ingress is denied, egress allowed. Returns SG_ALLOW or SG_DENY.
 */
static __always_inline int sg_classify(__u32 sg_id, __u16 gen, const struct flow *f, __u32 *rule)
{
	struct sg_port_key pk = {
		.prefixlen = SG_KEY_FIXED_BITS + 16,
		.sg_id = sg_id,
		.gen = gen,
		.dir = f->dir,
	};
	struct sg_addr_key ak = {
		.prefixlen = SG_KEY_FIXED_BITS + 32,
		.sg_id = sg_id,
		.gen = gen,
		.addr = f->remote,
	};
	const struct sg_verdict *v;
	const __u32 *cls;

	*rule = 0;
	if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) {
		pk.proto = f->proto;
		pk.port = f->dport;
	} else if (f->proto == IPPROTO_ICMP) {
		pk.proto = IPPROTO_ICMP;
	} else {
		pk.proto = SG_PROTO_ANY;
	}
	cls = bpf_map_lookup_elem(&sg_ports, &pk);
	if (!cls)
		goto nomatch;
	ak.cls = (__u16)*cls;
	v = bpf_map_lookup_elem(&sg_addrs, &ak);
	if (!v)
		goto nomatch;
	*rule = v->priority;
	return v->action;
nomatch:
	return f->dir == SG_INGRESS ? SG_DENY : SG_ALLOW;
}

/* The conntrack quota of a NIC's zone: its own, else the host's, else the default. */
static __always_inline __u32 ct_quota_of(const struct nic *nic)
{
	const struct host *h;
	__u32 zero = 0;

	if (nic->ct_quota)
		return nic->ct_quota;
	h = bpf_map_lookup_elem(&host, &zero);
	return h && h->ct_quota ? h->ct_quota : CT_NIC_QUOTA_DEFAULT;
}

/*
 * The security group of NIC `nic` (key `nk`) decides a packet travelling in
 * direction dir (SG_EGRESS: sent by the NIC; SG_INGRESS: delivered to it).
 * Returns DROP_NONE, DROP_SG_INGRESS / DROP_SG_EGRESS (*rule = the priority
 * of the deny rule, 0 for the default), DROP_CT_FULL, DROP_CT_NIC_QUOTA, or DROP_MALFORMED.
 *
 * A NIC without a group is open. Later fragments pass: they carry no ports,
 * and the first fragment, which does, was judged. Replies and ICMP errors
 * of a tracked flow pass whatever the rules say now.
 */
static __always_inline int sg_filter(const struct pkt *p, const struct nic_key *nk, const struct nic *nic,
				     __u8 dir, __u32 *rule)
{
	struct flow f = {};
	const struct sg *g;
	__u32 sg_id = nic->sg_id;
	__u64 now;
	int reason, action;

	*rule = 0;
	if (!sg_id || !p->first_frag)
		return DROP_NONE;
	reason = flow_parse(p, nk, dir, &f);
	if (reason)
		return reason;
	now = bpf_ktime_get_coarse_ns();
	if (ct_lookup(&f, now))
		return DROP_NONE;

	/* A group the NIC names but that is gone (never left so by the tool) has no rules. */
	g = bpf_map_lookup_elem(&sgs, &sg_id);
	if (g)
		action = sg_classify(sg_id, g->gen, &f, rule);
	else
		action = dir == SG_INGRESS ? SG_DENY : SG_ALLOW;
	if (action != SG_ALLOW)
		return dir == SG_INGRESS ? DROP_SG_INGRESS : DROP_SG_EGRESS;
	reason = ct_create(&f, *rule, now, ct_quota_of(nic));
	if (reason == CT_CREATE_QUOTA)
		return DROP_CT_NIC_QUOTA;
	return reason ? DROP_CT_FULL : DROP_NONE;
}

#endif
