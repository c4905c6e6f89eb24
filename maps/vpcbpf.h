/* maps/vpcbpf.h — every map's name, key and value, shared by the datapath (bpf/) and the vpcbpf tool. */
#ifndef VPCBPF_MAPS_H
#define VPCBPF_MAPS_H

/*
 * This header is the single definition of every struct that crosses the
 * kernel/user boundary. BPF code includes it after vmlinux.h; user space
 * includes it after <linux/types.h>. Only __u8/__u16/__u32/__u64/__be16/__be32
 * are used, every struct has explicit padding, and every size is asserted.
 *
 * Every key carries the VPC (its VNI) or is scoped by something that does,
 * so two VPCs with the same addresses never share an entry.
 */

#define VPCBPF_VERSION "0.1.0"

/* ---- constants of the domain ---- */
#define VNI_MIN 1
#define VNI_MAX 0xffffffU /* 24-bit VXLAN network identifier */
#define VXLAN_PORT 4789
#define OVERLAY_OVERHEAD 50 /* outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 */
#define NAME_LEN 16         /* VPC, subnet and security-group names, NUL included */
#define ETH_ALEN_ 6

/* ---- map names: the pinned file names under the pin dir ---- */
#define MAP_HOST "host"
#define MAP_VPCS "vpcs"
#define MAP_SUBNETS "subnets"
#define MAP_NICS "nics"
#define MAP_IFINDEX_NICS "ifindex_nics"
#define MAP_FIB "fib"
#define MAP_DROPS "drops"
#define MAP_NIC_STATS "nic_stats"
#define MAP_EVENTS "events"
#define MAP_SGS "sgs"
#define MAP_SG_RULES "sg_rules"
#define MAP_SG_PORTS "sg_ports"
#define MAP_SG_ADDRS "sg_addrs"
#define MAP_CONNTRACK "conntrack"
#define MAP_SUBNET_DHCP "subnet_dhcp"
#define MAP_CT_COUNTS "ct_counts"
#define MAP_NAT_HOST "nat_host"
#define MAP_NAT "nat"
#define MAP_EIPS "eips"
#define MAP_NIC_EIPS "nic_eips"
#define MAP_NIC_TAILS "nic_tails"
#define MAP_NAT_COUNTS "nat_counts"
#define MAP_EXTERNAL_TAILS "external_tails"
#define MAP_NIC_COUNTERS "nic_counters"

/* ---- capacities (max_entries); hash maps are allocated on demand ---- */
#define MAX_VPCS 16384
#define MAX_SUBNETS 65536
#define MAX_NICS 262144
#define MAX_SGS 4096
#define MAX_SG_RULES (1U << 18)      /* configured rules, all groups, both generations */
#define MAX_SG_CLASSIFIER (1U << 20) /* compiled port (resp. address) entries, all groups, both generations */
#define MAX_CONNTRACK (1U << 18)     /* tracked connections, all NICs with a group */
#define MAX_NAT (1U << 18)           /* NAT mappings, two entries each (out and in) */
#define MAX_EIPS 65536
/*
 * NICs per host (local and remote): one counter slot each in nic_counters, a per-CPU array the
 * kernel allocates whole at dp up (32 bytes per slot per CPU: 8 MiB per CPU). Slot 0 is never
 * given, so a host holds at most NIC_SLOTS - 1 NICs; the planner refuses the next one.
 */
#define NIC_SLOTS MAX_NICS

/* ---- host: this vpcbpf instance (array map, one entry at key 0) ---- */
#define HOST_F_UP 0x1 /* dp up has completed */
#define HOST_F_BPFFS_MOUNTED 0x2 /* dp up mounted the bpffs the pin dir is on: dp down unmounts it */

struct host {
	__u32 underlay_ifindex; /* 0 until dp up names a device */
	__be32 underlay_ip;     /* outer source address of VXLAN packets */
	__u32 underlay_mtu;
	__u16 flags;            /* HOST_F_* */
	__u8 router_mac[ETH_ALEN_]; /* the virtual router: every subnet gateway answers with it */
	__u8 underlay_mac[ETH_ALEN_];
	__u16 vxlan_port;       /* network order is not used: host order, default VXLAN_PORT */
	__u32 xdp_mode;         /* enum xdp_mode_cfg, for dp show */
	__u32 ct_quota;         /* conntrack entries a NIC may hold unless it says otherwise; 0: CT_NIC_QUOTA_DEFAULT */
	__u32 _pad;
};
_Static_assert(sizeof(struct host) == 40, "struct host layout");

enum xdp_mode_cfg {
	XDP_MODE_CFG_OFF = 0,
	XDP_MODE_CFG_NATIVE = 1,
	XDP_MODE_CFG_GENERIC = 2,
	XDP_MODE_CFG_AUTO = 3, /* dp up's default: chosen from the device's driver; never stored */
};

/* ---- VPC: keyed by VNI (__u32 in host order) ---- */
/*
 * A VPC's route table lives in one place: a region of the fib arena (see
 * struct fib_line), its forwarding index that the datapath searches followed
 * by the sorted list of its configured routes, which show, save and every
 * edit read. The record points at the region; replacing the table is one
 * update of this record.
 */
struct vpc {
	__u16 _reserved;   /* 0 (was a generation of the configured routes, when they lived in a hash) */
	__u16 flags;
	__u32 fib_base;    /* first line of the VPC's fib region; 0: no routes, no region */
	__u32 fib_lines;   /* lines in the region (what the allocator keeps) */
	__u32 fib_root;    /* the search tree's root, or the direct table when fib_direct_bits (absolute line) */
	__u32 fib_results; /* first line of the region's results (absolute) */
	__u8 fib_depth;    /* internal levels above the leaves: 0..FIB_MAX_DEPTH (no direct stage) */
	__u8 fib_direct_bits; /* 0, or FIB_DIRECT_MIN_BITS..FIB_DIRECT_MAX_BITS: the direct stage's index width */
	__u8 _pad[2];
	__u32 route_count; /* configured routes, connected ones included */
	char name[NAME_LEN];
	__u32 advertise_table; /* kernel table of its advertised routes (cli/advertise.c); 0: the default */
};
_Static_assert(sizeof(struct vpc) == 48, "struct vpc layout");

/* ---- fib: the forwarding index of every VPC, in one mmapable array of cache lines ---- */
/*
 * A VPC's routes become the sorted starts of the address ranges over which
 * the longest match does not change (two ranges at most per route, fewer
 * after merging neighbours with the same result). The starts are searched as
 * a tree of 64-byte lines, one line per level: an internal line holds up to 15
 * separator keys and points at its (contiguous) children; a leaf line holds
 * 8 (start, result) pairs. Keys are addresses in host byte order. A big
 * table starts with a direct stage: the top bits of the address index a
 * table of 2^bits entries (16 per line), each the root and depth of the tree
 * of the ranges in that chunk, so that a chunk holds about 8 ranges. A
 * lookup reads the direct entry (if any), one line per tree level, the leaf
 * and the result: 3 lines for a small table, 3 or 4 for 1M routes.
 *
 * A region is [header][direct table or tree][trees...][results][routes]
 * [log][spare lines], its links (child links, direct entries) relative to
 * its first line: results are struct route (4 per line; result 0 is "no
 * route"), routes are the configured routes sorted by (prefix, len), which
 * the tool reads back to edit the table. A single route edit is made in the
 * region (maps/fib.c fib_patch): the tree of the one chunk it touches (or the
 * whole tree of a table without a direct stage) is rebuilt in spare lines
 * and published by one 32-bit store of its direct entry (or by the VPC
 * record), the edit itself is appended to the log, which readers merge into
 * the sorted list, until the next whole build. Regions are written by maps/fib.c into lines that no VPC
 * record points at, then published by the record; the first lines hold the
 * tool's bookkeeping (fib_base 0 means no region).
 */
#define FIB_LINE_WORDS 16
#define FIB_LEAF_PAIRS 8      /* leaf: w[0..7] starts (ascending, padded by repeating the last), w[8..15] results */
#define FIB_FANOUT 16         /* internal: w[0..14] separators (ascending, unused ones ~0), w[15] child link */
#define FIB_CHILD_SHIFT 28    /* child link: first child line | (children - 1) << 28 */
#define FIB_CHILD_MASK 0x0fffffffU
#define FIB_MAX_DEPTH 6       /* 16^6 leaves of 8: far beyond any arena */
#define FIB_DIRECT_THRESHOLD 128 /* ranges: above, a direct stage (below, a tree of depth 1 at most) */
#define FIB_DIRECT_MIN_BITS 4
#define FIB_DIRECT_MAX_BITS 18  /* 256K entries, 1 MiB */
#define FIB_DIRECT_CHUNK 8      /* ranges per chunk the direct stage aims at: one leaf */
#define FIB_RESULTS_PER_LINE 4
#define FIB_MAGIC 0x31424946U /* "FIB1" */
#define FIB_MAGIC_EDITABLE 0x32424946U /* "FIB2": a FIB1 region with an edit log and spare lines (header below) */
#define FIB_LINES_DEFAULT (1U << 21) /* 128 MiB: a 1M-route VPC replaced while the old table still serves */
#define FIB_FIRST_LINE 17     /* lines 0-16: the quarantine of regions released less than a grace period ago */

struct fib_line {
	__u32 w[FIB_LINE_WORDS];
};
_Static_assert(sizeof(struct fib_line) == 64, "struct fib_line layout");

/* Line 0 of a region. Offsets are relative to the region's first line. */
struct fib_header {
	__u32 magic;
	__u32 lines;
	__u32 routes;   /* configured routes, at line `routes_at` */
	__u32 ranges;
	__u32 results;
	__u32 depth;       /* no direct stage: the tree's internal levels */
	__u32 root_at;     /* the tree's root, or the direct table */
	__u32 direct_bits;
	__u32 results_at;
	__u32 routes_at;
	/* FIB_MAGIC_EDITABLE only (zero in a "FIB1" region): room for edits in place (maps/fib.c fib_patch) */
	__u32 log_at;      /* route edits since the last whole build, in order: struct route (kind 0: deleted) */
	__u32 log_count;
	__u32 spare_at;    /* [spare_at, lines): lines for chunk trees rebuilt by edits ... */
	__u32 spare_next;  /* ... used up to here (never reused: the region is rebuilt whole when it runs out) */
	__u32 leaves_at;   /* no direct stage: the tree's leaves (its ranges, read back by an edit) */
	__u32 advertised;  /* routes with ROUTE_F_ADVERTISE (cli/advertise.c skips a VPC that has none) */
};
_Static_assert(sizeof(struct fib_header) == 64, "struct fib_header layout");

/* ---- subnet (alias vxnet) ---- */
struct subnet_key {
	__u32 vni;
	__be32 prefix; /* masked */
	__u8 len;
	__u8 _pad[3];
};
_Static_assert(sizeof(struct subnet_key) == 12, "struct subnet_key layout");

struct subnet {
	__be32 gateway;
	__u32 _pad;
	char name[NAME_LEN];
};
_Static_assert(sizeof(struct subnet) == 24, "struct subnet layout");

/* ---- DHCP options of a subnet (bpf/dhcp.h, docs/dhcp.md): subnet_dhcp, keyed by struct subnet_key ---- */
/*
 * A separate map, not fields of struct subnet: a journal operation carries
 * 64 bytes of value, and this is exactly that. A subnet without an entry
 * hands out address, mask, router, MTU and lease only. Option 121 routes
 * all go through the subnet's gateway (the datapath routes, not the VM).
 */
#define DHCP_MAX_DNS 2
#define DHCP_MAX_ROUTES 4
#define DHCP_DOMAIN_LEN 32 /* bytes of the domain name, no NUL needed */
#define DHCP_LEASE_SECONDS 3600

struct subnet_dhcp {
	__be32 dns[DHCP_MAX_DNS];
	__be32 route_prefix[DHCP_MAX_ROUTES]; /* masked */
	__u8 route_len[DHCP_MAX_ROUTES];
	__u8 dns_count;
	__u8 route_count;
	__u8 domain_len;
	__u8 _pad;
	char domain[DHCP_DOMAIN_LEN];
};
_Static_assert(sizeof(struct subnet_dhcp) == 64, "struct subnet_dhcp layout");

/* ---- NIC: keyed by (VPC, IP) ---- */
struct nic_key {
	__u32 vni;
	__be32 ip;
};
_Static_assert(sizeof(struct nic_key) == 8, "struct nic_key layout");

#define NIC_F_LOCAL 0x1        /* lives on this host behind ifindex */
#define NIC_F_REMOTE 0x2       /* lives on another host at remote (underlay IP) */
#define NIC_F_SOURCE_CHECK 0x4 /* drop frames whose source IP is not the NIC's own */
#define NIC_F_PEER 0x8         /* NIC_F_LOCAL on a veth/netkit whose peer is in another netns: bpf_redirect_peer */
#define NIC_F_NO_DHCP 0x10     /* `dhcp off`: the datapath does not answer this NIC's DHCP (on is the default) */

struct nic {
	__u8 mac[ETH_ALEN_];
	__u8 flags;      /* NIC_F_* */
	__u8 subnet_len; /* the NIC's subnet: prefix length ... */
	__be32 subnet;   /* ... and masked prefix */
	__be32 gateway;  /* the subnet's gateway IP (copied: a subnet with NICs cannot change) */
	__u32 ifindex;   /* NIC_F_LOCAL: host-side interface (veth or tap) */
	__be32 remote;   /* NIC_F_REMOTE: underlay IP of the host it lives on */
	__u32 sg_id;     /* security group, 0 = none (open) */
	__u32 ct_quota;  /* conntrack entries the NIC's zone may hold; 0: the host's (struct host.ct_quota) */
	/*
	 * The NIC's slot in nic_counters (1..NIC_SLOTS-1): not configuration (save does not write it,
	 * apply and edits never choose it). The planner gives a new NIC the lowest slot no NIC of the
	 * host holds, zeroed before the record names it (maps/txn_plan.c), and keeps it while the NIC lives.
	 */
	__u32 stats_slot;
	__u32 _pad;
};
_Static_assert(sizeof(struct nic) == 40, "struct nic layout");

/* ifindex_nics: host-side ifindex (__u32) -> struct nic_key of the NIC behind it */

/* ---- routes: the configured routes of a VPC, listed in its fib region ---- */

enum route_kind {
	ROUTE_CONNECTED = 1, /* a subnet: the destination must be a NIC of the VPC */
	ROUTE_VIA = 2,       /* next hop: a NIC of the VPC (appliance, vCPE, router VM) */
	ROUTE_BLACKHOLE = 3, /* drop and count */
	ROUTE_PEER = 4,      /* VPC peering: look up again in VPC peer_vni */
	ROUTE_INTERNET = 5,  /* out of this host's external device, source NATed (bpf/nat.h) */
};

#define ROUTE_F_ADVERTISE 0x1 /* export to a routing daemon */

struct route {
	__u8 kind;  /* enum route_kind */
	__u8 len;   /* prefix length of the configured route */
	__u8 flags; /* ROUTE_F_* */
	__u8 _pad;
	__be32 prefix; /* masked prefix of the configured route */
	__be32 via;    /* ROUTE_VIA: next-hop NIC address */
	__u32 peer_vni;
};
_Static_assert(sizeof(struct route) == 16, "struct route layout");

/* ---- security groups ---- */
/*
 * sgs: sg_id (__u32, 1..MAX_SGS) -> struct sg. A NIC names its group by
 * sg_id (struct nic.sg_id, 0 = no group: open).
 *
 * The rules of a group are compiled by the tool into two LPM tries, both
 * keyed by (sg_id, gen) so that a whole new rule set is built aside under a
 * new generation and swapped in by one update of struct sg.gen:
 *  - sg_ports: (dir, proto class, port) -> a class: the set of rules whose
 *    direction, protocol and port range cover that port;
 *  - sg_addrs: (class, remote address) -> the first rule (lowest priority
 *    number) of that set whose CIDR holds the address.
 * A new flow costs two trie lookups however many rules the group has; a
 * tracked flow costs one conntrack lookup.
 */
#define SG_INGRESS 0 /* toward the VM: remote = source */
#define SG_EGRESS 1  /* from the VM: remote = destination */
#define SG_ALLOW 1
#define SG_DENY 2
#define SG_PROTO_ANY 0 /* a rule for every protocol; also the class of protocols other than TCP/UDP/ICMP */

struct sg {
	char name[NAME_LEN];
	__u16 gen;    /* generation of the live rule set */
	__u16 _pad;
	__u32 rules;  /* number of rules in the live generation */
};
_Static_assert(sizeof(struct sg) == 24, "struct sg layout");

/* sg_rules: the rules as configured (the source of truth for show/save), per generation. */
struct sg_rule_key {
	__u32 sg_id;
	__u16 gen;
	__u16 _pad;
	__u32 priority; /* 1.., lower first; unique in a group */
};
_Static_assert(sizeof(struct sg_rule_key) == 12, "struct sg_rule_key layout");

struct sg_rule {
	__u8 dir;      /* SG_INGRESS / SG_EGRESS */
	__u8 proto;    /* IPPROTO_TCP/UDP/ICMP or SG_PROTO_ANY */
	__u8 action;   /* SG_ALLOW / SG_DENY */
	__u8 cidr_len; /* remote prefix; 0.0.0.0/0 when not given */
	__be32 cidr;
	__u16 port_lo; /* host order; 0-65535 when not given (TCP/UDP only) */
	__u16 port_hi;
};
_Static_assert(sizeof(struct sg_rule) == 12, "struct sg_rule layout");

#define SG_KEY_FIXED_BITS 64 /* sg_id, gen and dir/proto (ports) or class (addrs) */

/* sg_ports: LPM trie; prefixlen = SG_KEY_FIXED_BITS + bits of port; value __u32 class (0 = none) */
struct sg_port_key {
	__u32 prefixlen;
	__u32 sg_id;
	__u16 gen;
	__u8 dir;
	__u8 proto; /* IPPROTO_TCP/UDP/ICMP or SG_PROTO_ANY (other protocols) */
	__be16 port; /* TCP/UDP destination port of the packet (the VM's on ingress, the peer's on egress); 0 otherwise */
	__u16 _pad;
};
_Static_assert(sizeof(struct sg_port_key) == 16, "struct sg_port_key layout");

/* sg_addrs: LPM trie; prefixlen = SG_KEY_FIXED_BITS + CIDR length */
struct sg_addr_key {
	__u32 prefixlen;
	__u32 sg_id;
	__u16 gen;
	__u16 cls;
	__be32 addr; /* the remote address */
};
_Static_assert(sizeof(struct sg_addr_key) == 16, "struct sg_addr_key layout");

struct sg_verdict {
	__u32 priority; /* of the rule that decided */
	__u8 action;    /* SG_ALLOW / SG_DENY */
	__u8 _pad[3];
};
_Static_assert(sizeof(struct sg_verdict) == 8, "struct sg_verdict layout");

/* ---- conntrack: flows of NICs with a group, one entry per (NIC, flow) ---- */
/*
 * The key is seen from the NIC whose group is enforced (the zone), so a
 * packet and its reply find the same entry with one lookup, and the
 * egress decision of one NIC never lets traffic past the ingress rules of
 * another. vni keeps equal addresses of two VPCs apart.
 */
struct ct_key {
	__u32 vni;
	__be32 nic;         /* the NIC's own address: the zone */
	__be32 local;       /* the address on the NIC's side */
	__be32 remote;
	__be16 local_port;  /* TCP/UDP port; ICMP echo identifier */
	__be16 remote_port; /* TCP/UDP port; ICMP echo: 1 = the NIC's side asks, 2 = the peer asks */
	__u8 proto;
	__u8 _pad[3];
};
_Static_assert(sizeof(struct ct_key) == 24, "struct ct_key layout");

enum ct_state {
	CT_NEW = 0,         /* UDP/ICMP/other seen in the first direction only */
	CT_REPLIED = 1,     /* UDP/ICMP/other seen both ways */
	CT_SYN_SENT = 2,    /* TCP SYN (or a mid-stream pickup) from the origin, not answered yet */
	CT_ESTABLISHED = 3, /* TCP answered by the other side */
	CT_FIN = 4,         /* TCP FIN seen from one side */
	CT_CLOSED = 5,      /* TCP FIN both ways, or RST */
};

/* Idle timeouts, seconds (the entry is dead once last_seen is older). */
#define CT_TIMEOUT_SYN 60
#define CT_TIMEOUT_ESTABLISHED 432000 /* 5 days, as public clouds and Linux do */
#define CT_TIMEOUT_FIN 120
#define CT_TIMEOUT_CLOSED 10
#define CT_TIMEOUT_UDP 30
#define CT_TIMEOUT_UDP_REPLIED 180
#define CT_TIMEOUT_ICMP 30

/*
 * Quota per NIC: a NIC's zone (the entries whose ct_key.nic is that NIC) holds at most its quota of
 * entries, so one VM opening flows as fast as it can fills its own share and not the host's table:
 * its next new flow is DROP_CT_NIC_QUOTA, while other NICs keep opening flows. ct_counts holds the
 * live count per zone, kept by the datapath alone (+1 when an entry is created, -1 when the sweep
 * deletes one); an entry reused in place after it died does not change it. The same pattern serves
 * any other table a VM can grow (NAT mappings): a count per NIC next to the table, checked before
 * an insert, decremented where entries are deleted, and a counted drop reason of its own.
 */
#define CT_NIC_QUOTA_DEFAULT 32768 /* 1/8 of MAX_CONNTRACK: eight flooding VMs to fill a host */

#define CT_F_FIN_ORIGIN 0x1 /* FIN seen from the side that opened the connection */
#define CT_F_FIN_REPLY 0x2  /* FIN seen from the other side */

struct ct_entry {
	__u64 last_seen;  /* bpf_ktime_get_coarse_ns of the last packet */
	__u8 state;       /* enum ct_state */
	__u8 origin;      /* SG_INGRESS / SG_EGRESS: the direction of the first packet */
	__u8 flags;       /* CT_F_* */
	__u8 _pad;
	__u32 rule;       /* priority of the rule that allowed it, 0 = the default */
};
_Static_assert(sizeof(struct ct_entry) == 16, "struct ct_entry layout");

/* ct_counts: hash keyed by struct nic_key (the zone) -> __u64 live conntrack entries, created by the datapath */

/* ---- drop reasons: one stable enum; values never change meaning ---- */
enum drop_reason {
	DROP_NONE = 0,
	DROP_MALFORMED = 1,         /* truncated or invalid headers */
	DROP_UNSUPPORTED = 2,       /* ethertype or packet type the datapath does not route */
	DROP_UNKNOWN_PORT = 3,      /* frame from an interface with no NIC bound */
	DROP_SPOOF_MAC = 4,         /* source MAC is not the NIC's */
	DROP_SPOOF_IP = 5,          /* source IP is not the NIC's (source check on) */
	DROP_NO_ROUTE = 6,          /* no NIC and no route for the destination */
	DROP_NO_NIC = 7,            /* destination in a subnet but no such NIC */
	DROP_BLACKHOLE = 8,         /* blackhole route */
	DROP_TTL_EXCEEDED = 9,      /* TTL reached 0 (ICMP time exceeded sent when possible) */
	DROP_NEXTHOP_UNKNOWN = 10,  /* via IP is not a NIC of the VPC */
	DROP_PEER_UNKNOWN = 11,     /* peer VPC has no table, or peering loops */
	DROP_REDIRECT_FAILED = 12,  /* the kernel refused the redirect */
	DROP_FRAG_NEEDED = 13,      /* DF set and too big for the path (ICMP sent) */
	DROP_UNKNOWN_VNI = 14,      /* VXLAN for a VNI this host does not know */
	DROP_VXLAN_MALFORMED = 15,  /* bad VXLAN flags, outer options/fragments, short */
	DROP_SG_INGRESS = 16,       /* security group denied, ingress */
	DROP_SG_EGRESS = 17,        /* security group denied, egress */
	DROP_CT_FULL = 18,          /* conntrack table full for a new flow */
	DROP_ENCAP_FAILED = 19,     /* could not grow the packet for VXLAN */
	DROP_UNDERLAY_UNREACHABLE = 20, /* no route/neighbour to the remote host */
	DROP_NO_HOST = 21,          /* datapath not configured (dp up missing) */
	DROP_NOT_LOCAL = 22,        /* decapsulated packet for a NIC that is not local */
	DROP_CT_NIC_QUOTA = 23,     /* the NIC holds its conntrack quota of flows: a new one is refused */
	DROP_IP_CHECKSUM = 24,      /* IPv4 header checksum from a VM does not verify */
	DROP_DHCP_MALFORMED = 25,   /* DHCP to the datapath's server that is not a well-formed request */
	DROP_NAT_PORTS_EXHAUSTED = 26, /* no free external port (or echo identifier) for a new NATed flow */
	DROP_TO_INFRASTRUCTURE = 27,   /* a VM's internet-bound packet to a host, underlay or external address */
	DROP_NAT_FULL = 28,            /* the NAT table is full for a new flow */
	DROP_NAT_UNSUPPORTED = 29,     /* what NAT cannot translate: other protocols, non-first fragments */
	DROP_NO_EXTERNAL = 30,         /* an internet route on a host without an external device */
	DROP_NAT_NIC_QUOTA = 31,       /* the NIC holds its quota of NAT mappings: a new flow to the internet is refused */
	DROP__MAX
};

/* ---- counters ---- */
/* drops: per-CPU array indexed by enum drop_reason, value __u64 packets */

/*
 * A NIC's counters live in two per-CPU maps, so that a forwarded packet costs an array lookup
 * and no hash lookup:
 *  - nic_counters: per-CPU array indexed by the NIC's slot (struct nic.stats_slot) -> struct
 *    nic_counters, its traffic. The datapath reads the slot from the NIC record it has already
 *    looked up. The tool zeroes a slot before a new NIC's record names it (journal step
 *    TXN_OP_STATS_NEW).
 *  - nic_stats: per-CPU hash keyed by struct nic_key -> struct nic_drops, created by the tool with
 *    the NIC (zeroed) and deleted with it: only a drop looks it up.
 *
 * Drops by reason PER NIC (for `stats nic`, monitor, metrics): drop_reason[r] counts the drops of
 * enum drop_reason r charged to this NIC (the sender's NIC for what a VM sends, the receiving NIC
 * for what is delivered to it: security group ingress, underlay drops once the destination is
 * known); `drops` is their sum. Drops before a NIC is known (unknown port, unknown VNI...) count
 * only in the per-host `drops` map. Reasons >= NIC_DROP_REASONS cannot exist: add a reason, and
 * the assert below tells you when this array must grow.
 *
 * struct nic_stats is what readers see of one NIC: both values summed over the CPUs, the traffic
 * first (maps/store.h store_nic_stats), as __u64 words.
 */
#define NIC_DROP_REASONS 48
struct nic_counters {
	__u64 tx_packets; /* sent by the VM into the datapath */
	__u64 tx_bytes;
	__u64 rx_packets; /* delivered to the VM */
	__u64 rx_bytes;
};
_Static_assert(sizeof(struct nic_counters) == 32, "struct nic_counters layout");

struct nic_drops {
	__u64 drops;      /* packets from or to this NIC that were dropped: the sum of drop_reason[] */
	__u64 _pad;
	__u64 drop_reason[NIC_DROP_REASONS]; /* by enum drop_reason; [0] unused */
};
_Static_assert(sizeof(struct nic_drops) == 16 + 8 * NIC_DROP_REASONS, "struct nic_drops layout");

struct nic_stats {
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 drops;
	__u64 _pad;
	__u64 drop_reason[NIC_DROP_REASONS];
};
_Static_assert(sizeof(struct nic_stats) == sizeof(struct nic_counters) + sizeof(struct nic_drops) &&
	       __builtin_offsetof(struct nic_stats, drops) == sizeof(struct nic_counters),
	       "struct nic_stats: struct nic_counters then struct nic_drops");
#define NIC_STATS_WORDS (sizeof(struct nic_stats) / sizeof(__u64))
#define NIC_COUNTERS_WORDS (sizeof(struct nic_counters) / sizeof(__u64))
#define NIC_DROPS_WORDS (sizeof(struct nic_drops) / sizeof(__u64))

/* ---- sampled drop events (ring buffer "events") ---- */
struct drop_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns */
	__u32 ifindex;   /* where the packet was seen */
	__u32 vni;
	__u16 reason;    /* enum drop_reason */
	__u8 proto;      /* IP protocol */
	__u8 _pad;
	__u32 rule;      /* security-group rule priority that matched, 0 = none */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u16 eth_proto; /* host order: the frame's ethertype (monitor names non-IP drops); 0 = not parsed */
	__u16 arp_op;    /* host order, ARP frames only; saddr/daddr then hold the sender and target IPs */
};
_Static_assert(sizeof(struct drop_event) == 40, "struct drop_event layout");

_Static_assert(DROP__MAX <= NIC_DROP_REASONS, "struct nic_stats counts every drop reason per NIC");
/* ---- the internet: the external device, source NAT and elastic IPs (docs/nat.md) ---- */
/*
 * nat_host: array map, one entry at key 0, written by dp up ... external DEV.
 * ext_ifindex 0: no external device (internet routes drop, DROP_NO_EXTERNAL).
 */
#define NAT_PORT_LO_DEFAULT 20000 /* below Linux's ephemeral range 32768-60999: the host's own */
#define NAT_PORT_HI_DEFAULT 32767 /* connections from the external address never meet a mapping */

struct nat_host {
	__u32 ext_ifindex;
	__be32 ext_ip;       /* the source of SNATed packets */
	__u8 ext_mac[ETH_ALEN_]; /* answers ARP for local EIPs */
	__u16 port_lo;       /* host order: the external ports (and echo identifiers) SNAT allocates */
	__u16 port_hi;
	__u8 underlay_len;   /* the underlay network: never reachable through an internet route */
	__u8 _pad;
	__be32 underlay_net;
	__u32 ext_mtu;
};
_Static_assert(sizeof(struct nat_host) == 28, "struct nat_host layout");

/*
 * nat: one hash for both directions of every SNAT mapping. The out entry is
 * keyed as the VM sees the flow (its VPC, private address and port: equal
 * addresses of two VPCs never share an entry), the in entry as the internet
 * sees it (vni 0, the external address and port). Each entry's value names
 * the other side, so a packet costs one lookup either way.
 */
#define NAT_OUT 1
#define NAT_IN 2

struct nat_key {
	__u32 vni;          /* NAT_OUT: the VPC; NAT_IN: 0 */
	__be32 addr;        /* NAT_OUT: the VM's address; NAT_IN: the external address */
	__be32 remote;      /* the internet peer */
	__be16 port;        /* TCP/UDP port or ICMP echo identifier, on addr's side */
	__be16 remote_port; /* 0 for ICMP */
	__u8 proto;
	__u8 dir;           /* NAT_OUT / NAT_IN */
	__u8 _pad[2];
};
_Static_assert(sizeof(struct nat_key) == 20, "struct nat_key layout");

struct nat_entry {
	__u64 last_seen;  /* bpf_ktime_get_coarse_ns of the last packet in this entry's direction */
	__u32 vni;        /* the VPC of the flow (both entries) */
	__be32 addr;      /* NAT_OUT: the external address; NAT_IN: the VM's address */
	__be16 port;      /* NAT_OUT: the external port; NAT_IN: the VM's port */
	__u8 state;       /* enum ct_state: the timeouts of conntrack */
	__u8 flags;       /* CT_F_FIN_* */
	__be32 nic;       /* the NIC (of vni) that opened the mapping: whose quota it counts in (nat_counts) */
};
_Static_assert(sizeof(struct nat_entry) == 24, "struct nat_entry layout");

/*
 * nat_counts: hash keyed by struct nic_key (the NIC that opened the mappings) -> __u64 live
 * mappings, kept by the datapath alone, as ct_counts is for conntrack: +1 when a mapping is made,
 * -1 when its in entry is swept or its port reclaimed. A NIC at its quota (its conntrack quota:
 * nic ... ct-quota, else the host's, else CT_NIC_QUOTA_DEFAULT; a mapping is a flow) gets
 * DROP_NAT_NIC_QUOTA for a new flow after a sweep of dead mappings; its mapped flows go on.
 */

/* eips: elastic IP (__be32) -> struct nic_key of the NIC it maps to; nic_eips: the reverse. */

/* nic_tails: the programs nic_ingress hands a packet to (BPF_MAP_TYPE_PROG_ARRAY), filled by dp up. */
#define NIC_TAIL_INTERNET 0 /* nic_internet: a packet on an internet route */
#define NIC_TAILS 1
/* external_tails: the same for external_ingress, filled by dp up ... external */
#define EXT_TAIL_DELIVER 0  /* external_deliver: a translated packet into its NIC (skb->cb[0..1]: the NIC key) */
#define EXT_TAILS 1

#endif /* VPCBPF_MAPS_H */
