/* bpf/stats.h — counters by drop reason and by NIC, and sampled drop events for `vpcbpf monitor`. */
#ifndef VPCBPF_STATS_H
#define VPCBPF_STATS_H

/*
 * Drop events are sampled per CPU and per reason: the first drop of a
 * reason on a CPU and then every 16th (count & 15 == 1) is reported, so a
 * flood of one kind of drop costs one ring-buffer write in 16 while a rare
 * drop is always seen. The counters themselves are exact.
 */
#define DROP_EVENT_SAMPLE_MASK 15

/* A NIC's drop counters (nic_stats): created by the tool with the NIC; a missing one is skipped. */
static __always_inline struct nic_drops *nic_drops_of(const struct nic_key *key)
{
	return bpf_map_lookup_elem(&nic_stats, key);
}

/*
 * A NIC's traffic counters: the slot its record names (maps/vpcbpf.h, nic_counters), so the
 * packet pays an array lookup where it paid a hash lookup. Slot 0 is given to no NIC.
 */
static __always_inline struct nic_counters *nic_counters_of(const struct nic *nic)
{
	__u32 slot = nic->stats_slot;

	return bpf_map_lookup_elem(&nic_counters, &slot);
}

/* A drop charged to a NIC: its total and its reason (maps/vpcbpf.h, struct nic_drops). */
static __always_inline void nic_stats_drop(struct nic_drops *s, __u32 reason)
{
	s->drops++;
	if (reason < NIC_DROP_REASONS)
		s->drop_reason[reason]++;
}

/* A frame the VM sent into the datapath (src: its NIC's record). */
static __always_inline void stats_tx(const struct nic *src, __u32 bytes)
{
	struct nic_counters *s = nic_counters_of(src);

	if (s) {
		s->tx_packets++;
		s->tx_bytes += bytes;
	}
}

/* A frame handed to a VM (forwarded, or a reply from the datapath; dst: its NIC's record). */
static __always_inline void stats_rx(const struct nic *dst, __u32 bytes)
{
	struct nic_counters *s = nic_counters_of(dst);

	if (s) {
		s->rx_packets++;
		s->rx_bytes += bytes;
	}
}

/* ifindex: the interface of the NIC the drop concerns; rule: the security-group rule, 0 = none. */
static __always_inline void drop_event(const struct pkt *p, __u32 ifindex, __u32 vni, __u32 reason, __u32 rule)
{
	struct drop_event ev = {
		.ts_ns = bpf_ktime_get_ns(),
		.ifindex = ifindex,
		.vni = vni,
		.reason = reason,
		.proto = p->ip_proto,
		.rule = rule,
		.saddr = p->saddr,
		.daddr = p->daddr,
		.sport = p->sport,
		.dport = p->dport,
		.eth_proto = p->eth_proto,
		.arp_op = p->arp_op,
	};

	bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
}

/*
 * Account a drop: by reason, against the NIC (nic may be NULL before the
 * NIC is known), and as a sampled event. Needs no program context, so
 * tc and XDP programs share it.
 */
static __always_inline void drop_count_at(const struct pkt *p, const struct nic_key *nic, __u32 ifindex,
					  __u32 reason, __u32 rule)
{
	__u32 idx = reason;
	__u64 *count = bpf_map_lookup_elem(&drops, &idx);
	__u64 n = 1;

	if (count)
		n = ++*count;
	if (nic) {
		struct nic_drops *s = nic_drops_of(nic);

		if (s)
			nic_stats_drop(s, reason);
	}
	if ((n & DROP_EVENT_SAMPLE_MASK) == 1)
		drop_event(p, ifindex, nic ? nic->vni : 0, reason, rule);
}

/* A drop seen on the interface the frame arrived on, charged to the source NIC src. */
static __always_inline void drop_count(struct __sk_buff *skb, const struct pkt *p,
				       const struct nic_key *src, __u32 reason)
{
	drop_count_at(p, src, skb->ifindex, reason, 0);
}

/* Count a drop and discard the frame: `return drop(...)`. */
static __always_inline int drop(struct __sk_buff *skb, const struct pkt *p,
				const struct nic_key *src, __u32 reason)
{
	drop_count(skb, p, src, reason);
	return TC_ACT_SHOT_;
}

#endif
