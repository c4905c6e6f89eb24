/* tests/fuzz/pkt_world.c — three VPCs (two peered, one overlapping), every kind of route, and a valid frame per path. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "nic.skel.h"
#include "maps/prefix.h"
#include "maps/sg_table.h"
#include "tests/unit/env.h"
#include "tests/unit/topo.h"
#include "pkt_world.h"

/*
 * VPC 100  10.0.1.0/24: A .5 (port 0), B .6 (port 1), V .254 (port 3, an appliance,
 *          source check off); 10.0.2.0/24: C .7 (port 2), R .9 (remote host)
 *          routes: both subnets connected, 172.16.0.0/12 via V, 10.9.0.0/16 blackhole,
 *          10.9.7.7/32 via V, 10.50.0.0/16 peer 200, 10.60.0.0/16 via 10.0.1.77 (no such
 *          NIC), 10.70.0.0/16 peer 999 (no such VPC), 192.168.0.0/16 via C
 * VPC 200  10.50.0.0/24: P .8 (port 4); routes: connected, 10.0.0.0/8 peer 100
 * VPC 300  the same addresses as VPC 100: X5 10.0.1.5 (port 5), X6 10.0.1.6 (port 6)
 * port 7   an interface with no NIC
 * groups   A: egress tcp 22 denied, ingress anything allowed; C: ingress udp 53, tcp 80 and
 *          icmp allowed (the rest of ingress denied by default)
 * underlay this host is 192.168.0.1 on ul0; the remote NICs but U live on 192.168.0.2 (a
 *          permanent neighbour); forwarding is on so that bpf_fib_lookup answers
 */
struct world_nic world_nics[] = {
	{ 100, "10.0.1.5", "02:00:00:64:01:05", "10.0.1.0/24", 0, 1, NULL },
	{ 100, "10.0.1.6", "02:00:00:64:01:06", "10.0.1.0/24", 1, 1, NULL },
	{ 100, "10.0.2.7", "02:00:00:64:02:07", "10.0.2.0/24", 2, 1, NULL },
	{ 100, "10.0.1.254", "02:00:00:64:01:fe", "10.0.1.0/24", 3, 0, NULL },
	{ 100, "10.0.2.9", "02:00:00:64:02:09", "10.0.2.0/24", -1, 1, "192.168.0.2" },
	{ 100, "10.0.1.9", "02:00:00:64:01:09", "10.0.1.0/24", -1, 1, "192.168.0.2" },
	{ 100, "10.0.3.9", "02:00:00:64:03:09", "10.0.3.0/24", -1, 1, "203.0.113.9" },
	{ 200, "10.50.0.8", "02:00:00:c8:00:08", "10.50.0.0/24", 4, 1, NULL },
	{ 300, "10.0.1.5", "02:00:01:2c:01:05", "10.0.1.0/24", 5, 1, NULL },
	{ 300, "10.0.1.6", "02:00:01:2c:01:06", "10.0.1.0/24", 6, 1, NULL },
};
const int world_nic_count = sizeof(world_nics) / sizeof(world_nics[0]);

struct world_peer world_peers[] = {
	{ 100, 0, 16, 200 }, /* 10.50.0.0/16, prefixes filled by world_build */
	{ 100, 0, 16, 999 }, /* 10.70.0.0/16 */
	{ 200, 0, 8, 100 },  /* 10.0.0.0/8 */
};
const int world_peer_count = sizeof(world_peers) / sizeof(world_peers[0]);

const __u8 world_router_mac[6] = WORLD_ROUTER_MAC;

__be32 world_ul_ip, world_ul_peer;
__u8 world_ul_mac[6], world_ul_peer_mac[6];
int world_ul_ifindex;
#define UL_IP "192.168.0.1"
#define UL_PEER "192.168.0.2"
#define UL_MAC "02:0a:0a:0a:0a:01"
#define UL_PEER_MAC "02:0a:0a:0a:0a:02"

struct world_via world_vias[] = {
	{ 100, "172.16.0.0/12", "10.0.1.254" },
	{ 100, "10.9.7.7/32", "10.0.1.254" },
	{ 100, "192.168.0.0/16", "10.0.2.7" },
	{ 100, "10.60.0.0/16", "10.0.1.77" },
};
const int world_via_count = sizeof(world_vias) / sizeof(world_vias[0]);

#define A "10.0.1.5"
#define A_MAC "02:00:00:64:01:05"
#define V_MAC "02:00:00:64:01:fe"
#define P_MAC "02:00:00:c8:00:08"
#define X5_MAC "02:00:01:2c:01:05"
#define ROUTER ROUTER_MAC_S
#define BCAST "ff:ff:ff:ff:ff:ff"

static __be32 ip_be(const char *s)
{
	struct in_addr a = { 0 };

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* Addresses on the edges of the datapath's decisions: NICs, gateways, every route, broadcast, multicast. */
static const char *const edge_addrs[] = {
	"0.0.0.0", "255.255.255.255", "10.0.0.1", "10.0.1.0", "10.0.1.1", "10.0.1.5", "10.0.1.6",
	"10.0.1.77", "10.0.1.254", "10.0.1.255", "10.0.2.1", "10.0.2.7", "10.0.2.9", "10.0.2.255",
	"10.50.0.1", "10.50.0.8", "10.50.0.9", "10.9.1.1", "10.9.7.7", "10.60.1.1", "10.70.1.1",
	"172.16.0.1", "172.31.9.9", "192.168.1.1", "192.168.0.2", "224.0.0.1", "224.0.0.5",
	"239.255.255.255", "127.0.0.1", "8.8.8.8", "240.0.0.1", "10.0.1.9", "10.0.3.9", "192.168.0.1",
	"203.0.113.9",
};
#define EDGE_ADDRS (int)(sizeof(edge_addrs) / sizeof(edge_addrs[0]))
__be32 world_addrs[EDGE_ADDRS];
const int world_addr_count = EDGE_ADDRS;

static int mac_parse(const char *s, __u8 *mac)
{
	unsigned int m[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = m[i];
	return 0;
}

/* ul0 and its peer, once per process; no IPv6 chatter anywhere in the netns. */
static int underlay_create(void)
{
	FILE *f;

	if (world_ul_ifindex)
		return 0;
	for (int i = 0; i < 2; i++) {
		f = fopen(i ? "/proc/sys/net/ipv6/conf/default/disable_ipv6" : "/proc/sys/net/ipv6/conf/all/disable_ipv6", "w");
		if (!f || fputs("1", f) < 0 || fclose(f))
			return -1;
	}
	if (system("ip link add ul0 type veth peer name ul0p && "
		   "ip link set ul0 address " UL_MAC " up && ip link set ul0p address " UL_PEER_MAC " up && "
		   "ip addr add " UL_IP "/24 dev ul0 && "
		   "ip neigh replace " UL_PEER " lladdr " UL_PEER_MAC " dev ul0 nud permanent"))
		return -1;
	/* bpf_fib_lookup answers only where forwarding is on */
	f = fopen("/proc/sys/net/ipv4/conf/ul0/forwarding", "w");
	if (!f || fputs("1", f) < 0 || fclose(f))
		return -1;
	world_ul_ifindex = (int)if_nametoindex("ul0");
	world_ul_ip = ip_be(UL_IP);
	world_ul_peer = ip_be(UL_PEER);
	return world_ul_ifindex && !mac_parse(UL_MAC, world_ul_mac) && !mac_parse(UL_PEER_MAC, world_ul_peer_mac) ? 0 : -1;
}

static int host_underlay(void)
{
	struct host h;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(env.host_fd, &zero, &h))
		return -1;
	h.underlay_ifindex = (__u32)world_ul_ifindex;
	h.underlay_ip = world_ul_ip;
	h.underlay_mtu = WORLD_UL_MTU;
	h.flags |= HOST_F_UP;
	return bpf_map_update_elem(env.host_fd, &zero, &h, BPF_ANY);
}

#define SG_RULE(dir_, proto_, lo, hi, action_, prio)                                                   \
	{ .priority = (prio), .r = { .dir = (dir_), .proto = (proto_), .action = (action_), .port_lo = (lo),  \
				     .port_hi = (hi) } }

/* A security group with its rules, joined by the NIC (vni, ip). */
static int world_group(__u32 id, const struct sg_rule_entry *rules, size_t n, __u32 vni, const char *ip)
{
	struct sg_maps m = {
		.sgs_fd = bpf_map__fd(env.skel->maps.sgs),
		.rules_fd = bpf_map__fd(env.skel->maps.sg_rules),
		.ports_fd = bpf_map__fd(env.skel->maps.sg_ports),
		.addrs_fd = bpf_map__fd(env.skel->maps.sg_addrs),
	};
	struct sg g = { 0 };
	struct nic_key k = { .vni = vni, .ip = ip_be(ip) };
	struct nic nic;

	snprintf(g.name, sizeof(g.name), "fuzz%u", id);
	if (bpf_map_update_elem(m.sgs_fd, &id, &g, BPF_ANY) || sg_table_commit(&m, id, rules, n) ||
	    bpf_map_lookup_elem(env.nics_fd, &k, &nic))
		return -1;
	nic.sg_id = id;
	return bpf_map_update_elem(env.nics_fd, &k, &nic, BPF_EXIST);
}

static int world_groups(void)
{
	const struct sg_rule_entry a[] = {
		SG_RULE(SG_EGRESS, 6, 22, 22, SG_DENY, 10),
		SG_RULE(SG_INGRESS, SG_PROTO_ANY, 0, 65535, SG_ALLOW, 20),
	};
	const struct sg_rule_entry c[] = {
		SG_RULE(SG_INGRESS, 17, 53, 53, SG_ALLOW, 10),
		SG_RULE(SG_INGRESS, 6, 80, 80, SG_ALLOW, 20),
		SG_RULE(SG_INGRESS, 1, 0, 65535, SG_ALLOW, 30),
	};

	return world_group(1, a, sizeof(a) / sizeof(a[0]), 100, "10.0.1.5") ||
	       world_group(2, c, sizeof(c) / sizeof(c[0]), 100, "10.0.2.7");
}

int world_build(void)
{
	if (env_reset() || underlay_create() || host_underlay())
		return -1;
	for (int i = 0; i < EDGE_ADDRS; i++)
		world_addrs[i] = ip_be(edge_addrs[i]);
	world_peers[0].prefix = ip_be("10.50.0.0");
	world_peers[1].prefix = ip_be("10.70.0.0");
	world_peers[2].prefix = ip_be("10.0.0.0");
	for (int i = 0; i < world_nic_count; i++) {
		struct world_nic *n = &world_nics[i];
		char net[32];
		int len;

		n->ip_be = ip_be(n->ip);
		if (mac_parse(n->mac, n->mac_b) || sscanf(n->cidr, "%31[^/]/%d", net, &len) != 2)
			return -1;
		n->subnet_len = len;
		n->subnet = ip_be(net);
		n->gateway = n->subnet | htonl(1);
		if (n->port >= 0) {
			topo_nic_local(n->vni, n->ip, n->mac, n->cidr, n->port, n->source_check);
		} else {
			n->remote_be = ip_be(n->remote);
			topo_nic_remote(n->vni, n->ip, n->mac, n->cidr, n->remote);
		}
	}
	for (int i = 0; i < world_via_count; i++) {
		struct world_via *v = &world_vias[i];
		char net[32];
		int len;

		if (sscanf(v->prefix_s, "%31[^/]/%d", net, &len) != 2)
			return -1;
		v->prefix = ip_be(net);
		v->len = len;
		v->via = ip_be(v->via_s);
	}
	if (!topo_have_routes() || world_groups())
		return -1;
	return topo_route_connected(100, "10.0.1.0/24") || topo_route_connected(100, "10.0.2.0/24") ||
	       topo_route_connected(100, "10.0.3.0/24") ||
	       topo_route_via(100, "172.16.0.0/12", "10.0.1.254") ||
	       topo_route_blackhole(100, "10.9.0.0/16") || topo_route_via(100, "10.9.7.7/32", "10.0.1.254") ||
	       topo_route_peer(100, "10.50.0.0/16", 200) ||
	       topo_route_via(100, "10.60.0.0/16", "10.0.1.77") ||
	       topo_route_peer(100, "10.70.0.0/16", 999) ||
	       topo_route_via(100, "192.168.0.0/16", "10.0.2.7") ||
	       topo_route_connected(200, "10.50.0.0/24") || topo_route_peer(200, "10.0.0.0/8", 100) ||
	       topo_route_connected(300, "10.0.1.0/24") ? -1 : 0;
}

const struct world_nic *world_port_nic(int port)
{
	for (int i = 0; i < world_nic_count; i++)
		if (world_nics[i].port == port && port >= 0)
			return &world_nics[i];
	return NULL;
}

const struct world_nic *world_nic_by_mac(const uint8_t *mac)
{
	for (int i = 0; i < world_nic_count; i++)
		if (!memcmp(world_nics[i].mac_b, mac, 6))
			return &world_nics[i];
	return NULL;
}

const struct world_nic *world_nic_by_ip(__u32 vni, __be32 ip)
{
	for (int i = 0; i < world_nic_count; i++)
		if (world_nics[i].vni == vni && world_nics[i].ip_be == ip)
			return &world_nics[i];
	return NULL;
}

const struct world_nic *world_resolve(__u32 vni, __be32 daddr)
{
	const struct world_nic *n = world_nic_by_ip(vni, daddr);
	const struct world_via *best = NULL;

	if (n)
		return n;
	for (int i = 0; i < world_via_count; i++) {
		const struct world_via *v = &world_vias[i];

		if (v->vni == vni && (daddr & prefix_mask(v->len)) == v->prefix && (!best || v->len > best->len))
			best = v;
	}
	/* the blackhole 10.9.0.0/16 hides nothing longer than itself: only the /32 via is longer */
	return best ? world_nic_by_ip(vni, best->via) : NULL;
}

int world_may_reach(__u32 from, __u32 to, __be32 daddr)
{
	if (from == to)
		return 1;
	for (int i = 0; i < world_peer_count; i++)
		if (world_peers[i].vni == from && world_peers[i].peer == to &&
		    (daddr & prefix_mask(world_peers[i].len)) == world_peers[i].prefix)
			return 1;
	return 0;
}

/* ---- fixtures: one valid frame per path through nic_ingress ---- */
static void udp(struct pb *b, const char *to, const char *mac, const char *src, const char *dst,
		uint8_t ttl, uint16_t frag, size_t payload)
{
	pb_eth(b, to, mac, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 17, .ttl = ttl, .id = 0x1234,
				    .frag_off = frag });
	pb_udp(b, 40000, 53);
	pb_payload(b, payload);
	pb_done(b);
}

static void echo(struct pb *b, const char *mac, const char *src, const char *dst, uint8_t type, uint8_t ttl)
{
	pb_eth(b, ROUTER, mac, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 1, .ttl = ttl, .id = 0x4242 });
	pb_icmp_echo(b, type, 7, 1);
	pb_payload(b, 56);
	pb_done(b);
}

static void arp_req(struct pb *b, const char *mac, const char *spa, const char *tpa)
{
	pb_eth(b, BCAST, mac, 0x0806);
	pb_arp(b, 1, mac, spa, "00:00:00:00:00:00", tpa);
}

static void f_arp_gw(struct pb *b) { arp_req(b, A_MAC, A, "10.0.1.1"); }
static void f_arp_nic(struct pb *b) { arp_req(b, A_MAC, A, "10.0.1.6"); }
static void f_arp_other_subnet(struct pb *b) { arp_req(b, A_MAC, A, "10.0.2.7"); }
static void f_arp_x(struct pb *b) { arp_req(b, X5_MAC, A, "10.0.1.6"); }
static void f_arp_v_foreign(struct pb *b) { arp_req(b, V_MAC, "172.16.0.1", A); }
static void f_arp_reply(struct pb *b)
{
	pb_eth(b, "02:00:00:64:01:06", A_MAC, 0x0806);
	pb_arp(b, 2, A_MAC, A, "02:00:00:64:01:06", "10.0.1.6");
}
static void f_udp_same_subnet(struct pb *b) { udp(b, "02:00:00:64:01:06", A_MAC, A, "10.0.1.6", 64, 0, 32); }
static void f_udp_routed(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.7", 64, 0, 32); }
static void f_udp_df_big(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.7", 64, 0x4000, 1400); }
static void f_udp_via(struct pb *b) { udp(b, ROUTER, A_MAC, A, "172.16.1.1", 64, 0, 32); }
static void f_udp_via_host_route(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.9.7.7", 64, 0, 32); }
static void f_udp_via_other_subnet(struct pb *b) { udp(b, ROUTER, A_MAC, A, "192.168.3.4", 64, 0, 32); }
static void f_udp_peer(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.50.0.8", 64, 0, 32); }
static void f_tcp_ssh_denied_egress(struct pb *b)
{
	pb_eth(b, "02:00:00:64:01:06", A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A, .dst = "10.0.1.6", .proto = 6, .id = 22 });
	pb_tcp(b, 50000, 22, 0x02);
	pb_done(b);
}
static void f_udp_denied_ingress(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A, .dst = "10.0.2.7", .proto = 17, .id = 9 });
	pb_udp(b, 40000, 9);
	pb_payload(b, 16);
	pb_done(b);
}
static void f_udp_remote(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.9", 64, 0, 32); }
static void f_udp_remote_same_subnet(struct pb *b) { udp(b, "02:00:00:64:01:09", A_MAC, A, "10.0.1.9", 64, 0, 32); }
static void f_udp_remote_unreachable(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.3.9", 64, 0, 32); }
static void f_udp_remote_fits(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.9", 64, 0x4000, 1422); }
static void f_udp_remote_too_big(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.9", 64, 0x4000, 1423); }
static void f_udp_blackhole(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.9.1.1", 64, 0, 32); }
static void f_udp_nexthop_unknown(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.60.1.1", 64, 0, 32); }
static void f_udp_peer_unknown(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.70.1.1", 64, 0, 32); }
static void f_udp_no_route(struct pb *b) { udp(b, ROUTER, A_MAC, A, "8.8.8.8", 64, 0, 32); }
static void f_udp_no_nic(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.99", 64, 0, 32); }
static void f_udp_ttl1(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.7", 1, 0, 32); }
static void f_udp_ttl1_multicast(struct pb *b) { udp(b, ROUTER, A_MAC, A, "224.0.0.5", 1, 0, 32); }
static void f_udp_first_fragment(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.7", 64, 0x2000, 64); }
static void f_udp_later_fragment(struct pb *b) { udp(b, ROUTER, A_MAC, A, "10.0.2.7", 1, 0x0010, 64); }
static void f_udp_from_v_foreign(struct pb *b) { udp(b, ROUTER, V_MAC, "172.16.0.9", A, 64, 0, 32); }
static void f_udp_peer_back(struct pb *b) { udp(b, ROUTER, P_MAC, "10.50.0.8", A, 64, 0, 32); }
static void f_udp_overlap(struct pb *b) { udp(b, "02:00:01:2c:01:06", X5_MAC, A, "10.0.1.6", 64, 0, 32); }
static void f_udp_no_port(struct pb *b) { udp(b, ROUTER, "02:00:00:00:00:77", "10.0.1.77", A, 64, 0, 32); }
static void f_echo_gw(struct pb *b) { echo(b, A_MAC, A, "10.0.1.1", 8, 64); }
static void f_echo_routed_ttl1(struct pb *b) { echo(b, A_MAC, A, "10.0.2.7", 8, 1); }
static void f_icmp_error_ttl1(struct pb *b) { echo(b, A_MAC, A, "10.0.2.7", 3, 1); }
static void f_tcp_options(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A, .dst = "10.0.2.7", .proto = 6, .id = 9, .options = 8 });
	pb_tcp(b, 12345, 80, 0x02);
	pb_payload(b, 20);
	pb_done(b);
}
static void f_ipv6(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x86dd);
	pb_payload(b, 60);
}
static void f_vlan(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x8100);
	pb_bytes(b, (uint8_t[]){ 0x00, 0x05, 0x08, 0x00 }, 4);
	pb_payload(b, 40);
}

const struct fixture fixtures[] = {
	{ "arp who-has gateway", 0, f_arp_gw },
	{ "arp who-has nic", 0, f_arp_nic },
	{ "arp who-has other subnet", 0, f_arp_other_subnet },
	{ "arp overlapping vpc", 5, f_arp_x },
	{ "arp appliance foreign sender", 3, f_arp_v_foreign },
	{ "arp reply", 0, f_arp_reply },
	{ "udp same subnet", 0, f_udp_same_subnet },
	{ "udp routed", 0, f_udp_routed },
	{ "udp routed DF 1400", 0, f_udp_df_big },
	{ "udp via appliance", 0, f_udp_via },
	{ "udp via /32", 0, f_udp_via_host_route },
	{ "udp via nic in other subnet", 0, f_udp_via_other_subnet },
	{ "udp to peer vpc", 0, f_udp_peer },
	{ "tcp 22 denied by the sender's group", 0, f_tcp_ssh_denied_egress },
	{ "udp 9 denied by the receiver's group", 0, f_udp_denied_ingress },
	{ "udp to remote nic", 0, f_udp_remote },
	{ "udp to remote nic same subnet", 0, f_udp_remote_same_subnet },
	{ "udp to remote nic on an unreachable host", 0, f_udp_remote_unreachable },
	{ "udp to remote nic 1450 bytes", 0, f_udp_remote_fits },
	{ "udp to remote nic 1451 bytes", 0, f_udp_remote_too_big },
	{ "udp blackhole", 0, f_udp_blackhole },
	{ "udp next hop unknown", 0, f_udp_nexthop_unknown },
	{ "udp peer unknown", 0, f_udp_peer_unknown },
	{ "udp no route", 0, f_udp_no_route },
	{ "udp no nic", 0, f_udp_no_nic },
	{ "udp ttl 1", 0, f_udp_ttl1 },
	{ "udp ttl 1 multicast", 0, f_udp_ttl1_multicast },
	{ "udp first fragment", 0, f_udp_first_fragment },
	{ "udp later fragment ttl 1", 0, f_udp_later_fragment },
	{ "udp appliance foreign source", 3, f_udp_from_v_foreign },
	{ "udp from peer vpc", 4, f_udp_peer_back },
	{ "udp overlapping vpc", 5, f_udp_overlap },
	{ "udp from port without nic", 7, f_udp_no_port },
	{ "icmp echo to gateway", 0, f_echo_gw },
	{ "icmp echo routed ttl 1", 0, f_echo_routed_ttl1 },
	{ "icmp error routed ttl 1", 0, f_icmp_error_ttl1 },
	{ "tcp with ip options", 0, f_tcp_options },
	{ "ipv6", 0, f_ipv6 },
	{ "802.1q", 0, f_vlan },
};
const int fixture_count = sizeof(fixtures) / sizeof(fixtures[0]);
