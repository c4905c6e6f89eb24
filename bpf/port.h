/* bpf/port.h — which NIC a frame came from, and port security: a VM may only send as its own NIC. */
#ifndef VPCBPF_PORT_H
#define VPCBPF_PORT_H

/* The NIC behind the interface a frame arrived on, and the host it lives on. */
struct src_nic {
	struct nic_key key;       /* (VPC, IP) of the source NIC */
	const struct nic *nic;
	const struct host *host;  /* router_mac: every gateway answers with it */
};

/*
 * Which NIC an interface is, remembered per CPU: a direct-mapped array by
 * ifindex (an array lookup costs a few ns, the ifindex_nics hash lookup it
 * saves tens: docs/performance.md). Private to the program (not pinned:
 * a reload starts empty). A memo is only a hint: it is used when the NIC
 * record it names is still a local NIC on this very interface, which the
 * tool's rules make equivalent to ifindex_nics naming it (one local NIC per
 * device, cli/state.c); a NIC deleted, moved or replaced fails that check
 * and the hash lookup decides, as before.
 */
#define PORT_MEMO_SLOTS 256
struct port_memo {
	__u32 ifindex;
	struct nic_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PORT_MEMO_SLOTS);
	__type(key, __u32);
	__type(value, struct port_memo);
} port_memo SEC(".maps");

static __always_inline int port_is_on(const struct nic *nic, __u32 ifindex)
{
	return nic && (nic->flags & NIC_F_LOCAL) && nic->ifindex == ifindex;
}

/* ifindex_nics -> nics; a frame from an interface with no NIC is never ours to forward. */
static __always_inline int port_identify(struct __sk_buff *skb, struct src_nic *port)
{
	__u32 ifindex = skb->ifindex;
	__u32 slot = ifindex & (PORT_MEMO_SLOTS - 1);
	struct port_memo *memo;
	__u32 zero = 0;
	struct nic_key *key;

	memo = bpf_map_lookup_elem(&port_memo, &slot);
	if (memo && memo->ifindex == ifindex) {
		port->key = memo->key;
		port->nic = bpf_map_lookup_elem(&nics, &port->key);
		if (port_is_on(port->nic, ifindex))
			goto found;
	}
	key = bpf_map_lookup_elem(&ifindex_nics, &ifindex);
	if (!key)
		return DROP_UNKNOWN_PORT;
	port->key = *key;
	port->nic = bpf_map_lookup_elem(&nics, &port->key);
	if (!port->nic)
		return DROP_UNKNOWN_PORT;
	if (memo && port_is_on(port->nic, ifindex)) {
		memo->ifindex = ifindex;
		memo->key = port->key;
	}
found:
	port->host = bpf_map_lookup_elem(&host, &zero);
	if (!port->host)
		return DROP_NO_HOST;
	return DROP_NONE;
}

static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		(a[3] ^ b[3]) | (a[4] ^ b[4]) | (a[5] ^ b[5])) == 0;
}

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, ETH_ALEN_);
}

/* The source MAC is checked whatever source-check says: it identifies the port. */
static __always_inline int port_check_mac(const struct src_nic *port, const __u8 *mac)
{
	return mac_equal(mac, port->nic->mac) ? DROP_NONE : DROP_SPOOF_MAC;
}

/* Source check off is how an appliance (a vCPE) sends traffic of other addresses. */
static __always_inline int port_check_ip(const struct src_nic *port, __be32 saddr)
{
	if (!(port->nic->flags & NIC_F_SOURCE_CHECK))
		return DROP_NONE;
	return saddr == port->key.ip ? DROP_NONE : DROP_SPOOF_IP;
}

#endif
