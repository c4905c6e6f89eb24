/* tests/unit/topo.c — writes test topologies (VPCs, NICs, routes) into the datapath maps. */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "env.h"
#include "topo.h"
#if __has_include("maps/route_table.h")
#include "maps/route_table.h"
#include "maps/prefix.h"
#define HAVE_ROUTE_TABLE 1
#endif

static __be32 ip_of(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		assert(!"bad IPv4 address in test");
	return a.s_addr;
}

static void cidr_of(const char *cidr, __be32 *prefix, __u8 *len)
{
	char buf[32];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", cidr);
	slash = strchr(buf, '/');
	assert(slash);
	*slash = '\0';
	*len = atoi(slash + 1);
	*prefix = ip_of(buf) & prefix_mask(*len);
}

static void mac_of(const char *s, __u8 *mac)
{
	unsigned int m[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		assert(!"bad MAC in test");
	for (int i = 0; i < 6; i++)
		mac[i] = m[i];
}

void topo_vpc(__u32 vni)
{
	struct vpc v = {};

	if (bpf_map_lookup_elem(env.vpcs_fd, &vni, &v) == 0)
		return;
	snprintf(v.name, sizeof(v.name), "vpc%u", vni);
	assert(bpf_map_update_elem(env.vpcs_fd, &vni, &v, BPF_NOEXIST) == 0);
}

static void add_nic(__u32 vni, const char *ip, const char *mac, const char *cidr, struct nic *n)
{
	struct nic_key key = { .vni = vni, .ip = ip_of(ip) };
	struct nic_drops zero[env.nr_cpus];
	struct nic_counters none[env.nr_cpus];
	struct nic old;

	topo_vpc(vni);
	mac_of(mac, n->mac);
	cidr_of(cidr, &n->subnet, &n->subnet_len);
	n->gateway = n->subnet | htonl(1);
	/* a counter slot as the tool gives it: the NIC's own when it is re-added, else the next, zeroed */
	if (bpf_map_lookup_elem(env.nics_fd, &key, &old) == 0) {
		n->stats_slot = old.stats_slot;
	} else {
		n->stats_slot = env.next_slot++;
		memset(none, 0, sizeof(none));
		assert(bpf_map_update_elem(env.nic_counters_fd, &n->stats_slot, none, BPF_ANY) == 0);
	}
	memset(zero, 0, sizeof(zero));
	assert(bpf_map_update_elem(env.nic_stats_fd, &key, zero, BPF_ANY) == 0);
	assert(bpf_map_update_elem(env.nics_fd, &key, n, BPF_ANY) == 0);
}

void topo_nic_local(__u32 vni, const char *ip, const char *mac, const char *cidr, int port, int sc)
{
	struct nic n = { .flags = NIC_F_LOCAL | (sc ? NIC_F_SOURCE_CHECK : 0) };
	struct nic_key key = { .vni = vni, .ip = ip_of(ip) };
	__u32 ifindex = env.port_ifindex[port];

	n.ifindex = ifindex;
	add_nic(vni, ip, mac, cidr, &n);
	assert(bpf_map_update_elem(env.ifindex_nics_fd, &ifindex, &key, BPF_ANY) == 0);
}

void topo_nic_remote(__u32 vni, const char *ip, const char *mac, const char *cidr, const char *remote)
{
	struct nic n = { .flags = NIC_F_REMOTE | NIC_F_SOURCE_CHECK, .remote = ip_of(remote) };

	add_nic(vni, ip, mac, cidr, &n);
}

#ifdef HAVE_ROUTE_TABLE
static int add_route(__u32 vni, const char *cidr, struct route *r)
{
	topo_vpc(vni);
	cidr_of(cidr, &r->prefix, &r->len);
	return route_table_insert(&env.rm, vni, r);
}

int topo_have_routes(void)
{
	return 1;
}
#else
static int add_route(__u32 vni, const char *cidr, struct route *r)
{
	return -1;
}

int topo_have_routes(void)
{
	return 0;
}
#endif

int topo_route_connected(__u32 vni, const char *cidr)
{
	struct route r = { .kind = ROUTE_CONNECTED };

	return add_route(vni, cidr, &r);
}

int topo_route_via(__u32 vni, const char *cidr, const char *via)
{
	struct route r = { .kind = ROUTE_VIA, .via = ip_of(via) };

	return add_route(vni, cidr, &r);
}

int topo_route_blackhole(__u32 vni, const char *cidr)
{
	struct route r = { .kind = ROUTE_BLACKHOLE };

	return add_route(vni, cidr, &r);
}

int topo_route_peer(__u32 vni, const char *cidr, __u32 peer_vni)
{
	struct route r = { .kind = ROUTE_PEER, .peer_vni = peer_vni };

	return add_route(vni, cidr, &r);
}
