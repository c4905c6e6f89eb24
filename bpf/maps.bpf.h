/* bpf/maps.bpf.h — the datapath's map definitions, pinned by name so every program and the tool share them. */
#ifndef VPCBPF_MAPS_BPF_H
#define VPCBPF_MAPS_BPF_H

#include "../maps/vpcbpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct host);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} host SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VPCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct vpc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vpcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SUBNETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct subnet_key);
	__type(value, struct subnet);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} subnets SEC(".maps");

/* The DHCP options of the subnets that have some (bpf/dhcp.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SUBNETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct subnet_key);
	__type(value, struct subnet_dhcp);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} subnet_dhcp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NICS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nic_key);
	__type(value, struct nic);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NICS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct nic_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ifindex_nics SEC(".maps");

/* Every VPC's forwarding index (maps/vpcbpf.h, struct fib_line); the tool writes it through mmap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FIB_LINES_DEFAULT);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fib_line);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fib SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP__MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_NICS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nic_key);
	__type(value, struct nic_drops);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nic_stats SEC(".maps");

/* A NIC's traffic counters by its slot (struct nic.stats_slot): an array lookup per packet, not a hash's. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NIC_SLOTS);
	__type(key, __u32);
	__type(value, struct nic_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nic_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SGS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct sg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sgs SEC(".maps");

/* Read by the tool only; defined here so that dp up creates and pins it with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SG_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_rule_key);
	__type(value, struct sg_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MAX_SG_CLASSIFIER);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_port_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MAX_SG_CLASSIFIER);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_addr_key);
	__type(value, struct sg_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_addrs SEC(".maps");

/*
 * A plain (preallocated) hash, not an LRU: an LRU would silently evict an
 * idle established flow to make room for a new one. Here a full table
 * refuses the new flow (DROP_CT_FULL, counted); dead entries are reused at
 * lookup and swept from the datapath when the table fills (bpf/conntrack.h).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONNTRACK);
	__type(key, struct ct_key);
	__type(value, struct ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack SEC(".maps");

/* Live conntrack entries per NIC zone, for the quota (maps/vpcbpf.h, CT_NIC_QUOTA_DEFAULT). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NICS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nic_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ct_counts SEC(".maps");
/* The external device and SNAT's port range (maps/vpcbpf.h, struct nat_host). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_host);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_host SEC(".maps");

/* SNAT mappings, both directions; a plain hash for the reason conntrack is one: no silent eviction. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NAT);
	__type(key, struct nat_key);
	__type(value, struct nat_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat SEC(".maps");

/* Live NAT mappings per NIC, for the quota (maps/vpcbpf.h, nat_counts). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NICS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nic_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_EIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __be32);
	__type(value, struct nic_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} eips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_EIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nic_key);
	__type(value, __be32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nic_eips SEC(".maps");

/*
 * The internet path runs as its own program (a tail call from nic_ingress):
 * a fresh 512-byte stack and its own verification, where inlined into
 * nic_ingress it would exceed both.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, NIC_TAILS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nic_tails SEC(".maps");

/* external_ingress hands a translated packet to external_deliver: two frames of 512 bytes, not one. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, EXT_TAILS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} external_tails SEC(".maps");

#endif
