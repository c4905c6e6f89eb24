/* cli/state.c — vpcbpf's rules (references, overlaps, addresses) checked against an in-memory state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include "cli/cli.h"
#include "cli/attach.h"
#include "cli/link.h"
#include "cli/advertise.h"
#include "cli/dhcp.h"
#include "cli/state.h"
#include "cli/eip.h"

static struct host host; /* the underlay, for checks on NICs; zero before dp up names one */
static bool host_known;  /* host was read (a writer in cluster mode knows no host: those checks are the agent's) */
static struct nat_host nat_cfg; /* the external device (dp up ... external DEV); zero without one */
bool state_cluster;

/* A rule asked about what its caller did not load (cli/edit.c says what each edit needs): a bug, said so. */
static int not_loaded(void)
{
	return fail("internal error: the state this edit reads was not loaded");
}

/* One VPC a kernel table for its advertised routes: two tenants' equal prefixes would meet in one. */
static int table_taken(const struct txn_state *st, __u32 vni, __u32 table)
{
	for (const struct txn_vpc *o = NULL; (o = table_next(&st->vpcs, o));)
		if (o->vni != vni && advertise_table(o->vni, o->rec.advertise_table) == advertise_table(vni, table))
			return fail("table %u is already the table of VPC %u", advertise_table(vni, table), o->vni);
	return 0;
}

int state_vpc_add(struct txn_state *st, __u32 vni, const char name[NAME_LEN], __u32 table)
{
	struct txn_vpc v;

	if (table_get(&st->vpcs, &vni))
		return fail("VPC %u already exists", vni);
	if (table_taken(st, vni, table))
		return 1;
	memset(&v, 0, sizeof(v));
	v.vni = vni;
	v.rec.advertise_table = table;
	if (name)
		memcpy(v.rec.name, name, NAME_LEN);
	return table_put(&st->vpcs, &v) ? 0 : fail("out of memory");
}

int state_vpc_del(struct txn_state *st, __u32 vni)
{
	unsigned int subnets = 0, nics = 0;
	const struct txn_route *peer = NULL;

	if (!table_get(&st->vpcs, &vni))
		return fail("VPC %u does not exist", vni);
	if (st->routes_partial || !txn_nics_known(st, NULL))
		return not_loaded();
	for (const struct txn_subnet *sn = NULL; (sn = table_next(&st->subnets, sn));)
		subnets += sn->k.vni == vni;
	for (const struct txn_nic *n = NULL; (n = table_next(&st->nics, n));)
		nics += n->k.vni == vni;
	if (subnets)
		return fail("VPC %u still has %u subnet(s) and %u NIC(s): delete them first", vni, subnets, nics);
	for (const struct txn_route *r = NULL; (r = table_next(&st->routes, r));)
		if (r->r.kind == ROUTE_PEER && r->r.peer_vni == vni && r->k.vni != vni)
			peer = r;
	if (peer && !opts.force)
		return fail("VPC %u is the peer of a route in VPC %u: delete that route first (or --force)", vni,
			    peer->k.vni);
	for (struct txn_route *r = NULL; (r = table_next(&st->routes, r));)
		if (r->k.vni == vni)
			table_del(&st->routes, &r->k);
	table_del(&st->vpcs, &vni);
	return 0;
}

static bool overlap(__be32 a, __u8 alen, __be32 b, __u8 blen)
{
	__u8 len = alen < blen ? alen : blen;
	return (a & prefix_mask(len)) == (b & prefix_mask(len));
}

/*
 * Option 121 routes all go through the gateway: a route inside the subnet
 * itself would send the VM's on-link neighbours the long way, and one that
 * equals the subnet is the connected route the VM already has.
 */
static int dhcp_fits(struct subnet_key k, const struct subnet_dhcp *d)
{
	char b1[20], b2[20];

	for (int i = 0; i < d->route_count && i < DHCP_MAX_ROUTES; i++)
		if (d->route_len[i] >= k.len && (d->route_prefix[i] & prefix_mask(k.len)) == k.prefix)
			return fail("routes: %s is inside subnet %s itself (its NICs reach it directly, not through "
				    "the gateway)", prefix_str(d->route_prefix[i], d->route_len[i], b1),
				    prefix_str(k.prefix, k.len, b2));
	return 0;
}

int state_subnet_add(struct txn_state *st, struct subnet_key k, bool have_gateway, __be32 gateway,
		     const char name[NAME_LEN], const struct subnet_dhcp *dhcp)
{
	struct txn_subnet sn;
	char b1[20], b2[20];

	if (k.len < 1 || k.len > 30)
		return fail("subnet %s: prefix length must be 1..30 (room for a gateway and NICs)",
			    prefix_str(k.prefix, k.len, b1));
	memset(k._pad, 0, sizeof(k._pad));
	memset(&sn, 0, sizeof(sn));
	sn.k = k;
	__u32 host_lo = ntohl(k.prefix) + 1, host_hi = ntohl(k.prefix | ~prefix_mask(k.len)) - 1;
	if (!have_gateway)
		sn.v.gateway = htonl(host_lo);
	else if ((gateway & prefix_mask(k.len)) != k.prefix || ntohl(gateway) < host_lo || ntohl(gateway) > host_hi)
		return fail("gateway %s is not a host address of %s", ip_str(gateway, b2), prefix_str(k.prefix, k.len, b1));
	else
		sn.v.gateway = gateway;
	if (name)
		memcpy(sn.v.name, name, NAME_LEN);
	if (dhcp)
		sn.dhcp = *dhcp;
	if (!table_get(&st->vpcs, &k.vni))
		return fail("VPC %u does not exist", k.vni);
	for (const struct txn_subnet *o = NULL; (o = table_next(&st->subnets, o));)
		if (o->k.vni == k.vni && overlap(o->k.prefix, o->k.len, k.prefix, k.len))
			return fail("subnet %s overlaps subnet %s of VPC %u", prefix_str(k.prefix, k.len, b1),
				    prefix_str(o->k.prefix, o->k.len, b2), k.vni);
	struct txn_route_key rk = txn_route_key(k.vni, k.prefix, k.len);
	if (!txn_routes_known(st, k.vni, &k.prefix, k.len))
		return not_loaded();
	if (table_get(&st->routes, &rk))
		return fail("VPC %u already has a route for %s: delete it first", k.vni, prefix_str(k.prefix, k.len, b1));
	if (dhcp_fits(k, &sn.dhcp))
		return 1;
	return table_put(&st->subnets, &sn) ? 0 : fail("out of memory");
}

static unsigned int nics_in_subnet(const struct txn_state *st, const struct subnet_key *k)
{
	unsigned int n = 0;
	for (const struct txn_nic *nic = NULL; (nic = table_next(&st->nics, nic));)
		n += nic->k.vni == k->vni && nic->v.subnet == k->prefix && nic->v.subnet_len == k->len;
	return n;
}

int state_subnet_del(struct txn_state *st, struct subnet_key k)
{
	char b1[20];
	unsigned int n;

	memset(k._pad, 0, sizeof(k._pad));
	if (!table_get(&st->subnets, &k))
		return fail("subnet %s does not exist in VPC %u", prefix_str(k.prefix, k.len, b1), k.vni);
	if (!txn_nics_known(st, NULL))
		return not_loaded();
	if ((n = nics_in_subnet(st, &k)))
		return fail("subnet %s of VPC %u still has %u NIC(s): delete them first", prefix_str(k.prefix, k.len, b1),
			    k.vni, n);
	table_del(&st->subnets, &k);
	return 0;
}

/* The subnet of VPC vni that holds ip: at most one, since subnets of a VPC never overlap. */
static const struct txn_subnet *subnet_of(const struct txn_state *st, __u32 vni, __be32 ip)
{
	for (int len = 30; len >= 1; len--) {
		struct subnet_key k;
		memset(&k, 0, sizeof(k));
		k.vni = vni;
		k.len = (__u8)len;
		k.prefix = ip & prefix_mask((unsigned int)len);
		const struct txn_subnet *sn = table_get(&st->subnets, &k);
		if (sn)
			return sn;
	}
	return NULL;
}

/* The MTU of a device, or -1. */
static int dev_mtu(const char *dev)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = -1;
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

__u64 subnet_usable(__u8 len)
{
	return len > 30 ? 0 : (1ULL << (32 - len)) - 3;
}

int state_nic_set(struct txn_state *st, struct txn_nic n, const char *sg, bool replace)
{
	const struct txn_nic *old;
	const struct txn_subnet *sn;
	char b1[16], b2[20];

	if (!table_get(&st->vpcs, &n.k.vni))
		return fail("VPC %u does not exist", n.k.vni);
	if (!txn_nics_known(st, NULL))
		return not_loaded();
	sn = subnet_of(st, n.k.vni, n.k.ip);
	if (!sn)
		return fail("%s is in no subnet of VPC %u: add the subnet first", ip_str(n.k.ip, b1), n.k.vni);
	__be32 bcast = sn->k.prefix | ~prefix_mask(sn->k.len);
	if (n.k.ip == sn->k.prefix || n.k.ip == bcast || n.k.ip == sn->v.gateway) {
		/* Counted only here (a walk of the NICs per add would make apply quadratic): in a full
		 * subnet every new address is reserved or taken, so this is where a user meets the limit. */
		__u64 used = 0, usable = subnet_usable(sn->k.len);
		for (const struct txn_nic *o = NULL; (o = table_next(&st->nics, o));)
			used += o->k.vni == n.k.vni && o->v.subnet == sn->k.prefix && o->v.subnet_len == sn->k.len;
		if (used >= usable)
			return fail("%s: subnet %s of VPC %u is full, its %llu usable addresses are all in use "
				    "(network, gateway and broadcast are reserved)", ip_str(n.k.ip, b1),
				    prefix_str(sn->k.prefix, sn->k.len, b2), n.k.vni, (unsigned long long)usable);
		return fail("%s is the network, broadcast or gateway address of subnet %s", ip_str(n.k.ip, b1),
			    prefix_str(sn->k.prefix, sn->k.len, b2));
	}
	n.v.subnet = sn->k.prefix;
	n.v.subnet_len = sn->k.len;
	n.v.gateway = sn->v.gateway;
	/* The gateway answers with the router MAC: a VM using it would receive frames "from itself". */
	if (!memcmp(n.v.mac, host.router_mac, sizeof(host.router_mac)))
		return fail("MAC %s is the router MAC of this host (every gateway's): give the NIC its own",
			    mac_str(n.v.mac, (char[18]){ 0 }));
	if (n.host[0] || state_cluster) {
		/* cluster mode: the NIC lives on another machine as dev there; its agent resolves it */
		if (!state_cluster)
			return fail("\"host %s\" places a NIC in cluster mode: use vpcbpf --etcd URL", n.host);
		if (n.host[0] && !(n.v.flags & NIC_F_LOCAL))
			return fail("NIC %s: \"host NAME\" goes with \"dev IFNAME\", not \"remote\"", ip_str(n.k.ip, b1));
		if ((n.v.flags & NIC_F_LOCAL) && !n.host[0])
			return fail("NIC %s: in cluster mode a NIC says \"host NAME dev IFNAME\"", ip_str(n.k.ip, b1));
		n.v.ifindex = 0;
		if (n.host[0])
			n.v.remote = 0;
	} else if (n.v.flags & NIC_F_LOCAL) {
		unsigned int ifindex = if_nametoindex(n.dev);
		if (!ifindex)
			return fail("device \"%s\" does not exist", n.dev);
		if (host.underlay_ifindex && ifindex == host.underlay_ifindex)
			return fail("device \"%s\" is the underlay device, not a NIC", n.dev);
		n.v.ifindex = ifindex;
		n.v.flags = (__u8)((n.v.flags & ~NIC_F_PEER) | link_nic_flags(ifindex));
		n.v.remote = 0;
		for (const struct txn_nic *o = NULL; (o = table_next(&st->nics, o));)
			if ((o->v.flags & NIC_F_LOCAL) && o->v.ifindex == ifindex &&
			    !(o->k.vni == n.k.vni && o->k.ip == n.k.ip))
				return fail("device \"%s\" is already the NIC %s of VPC %u", n.dev, ip_str(o->k.ip, b1),
					    o->k.vni);
	} else {
		n.v.ifindex = 0;
		n.v.flags &= (__u8)~NIC_F_PEER;
		memset(n.dev, 0, sizeof(n.dev));
		if (host.underlay_ip && n.v.remote == host.underlay_ip)
			return fail("remote %s is this host's own underlay address: use \"dev IFNAME\"",
				    ip_str(n.v.remote, b1));
	}
	old = table_get(&st->nics, &n.k);
	if (old && !replace)
		return fail("NIC %s already exists in VPC %u (use nic replace to move it)", ip_str(n.k.ip, b1), n.k.vni);
	if (sg && state_sg_id(st, sg[0] ? sg : "none", &n.v.sg_id))
		return 1;
	if (n.v.sg_id == TXN_SG_KEEP)
		n.v.sg_id = old ? old->v.sg_id : 0;
	if (n.v.ct_quota == TXN_CT_QUOTA_KEEP)
		n.v.ct_quota = old ? old->v.ct_quota : 0;
	if ((n.v.flags & NIC_F_LOCAL) && !state_cluster) {
		int mtu = dev_mtu(n.dev);
		if (host.underlay_mtu && mtu > (int)host.underlay_mtu - OVERLAY_OVERHEAD)
			fprintf(stderr,
				"vpcbpf: warning: %s has MTU %d but the overlay carries at most %u (underlay MTU %u - %d): "
				"set the VM's MTU to %u\n",
				n.dev, mtu, host.underlay_mtu - OVERLAY_OVERHEAD, host.underlay_mtu, OVERLAY_OVERHEAD,
				host.underlay_mtu - OVERLAY_OVERHEAD);
	}
	return table_put(&st->nics, &n) ? 0 : fail("out of memory");
}

int state_nic_del(struct txn_state *st, struct nic_key k)
{
	char b1[16], b2[20];

	if (!txn_nics_known(st, NULL))
		return not_loaded();
	if (!table_get(&st->nics, &k))
		return fail("NIC %s does not exist in VPC %u", ip_str(k.ip, b1), k.vni);
	if (!opts.force && !txn_routes_known(st, k.vni, NULL, 0))
		return not_loaded();
	if (!opts.force)
		for (const struct txn_route *r = NULL; (r = table_next(&st->routes, r));)
			if (r->k.vni == k.vni && r->r.kind == ROUTE_VIA && r->r.via == k.ip)
				return fail("NIC %s is the next hop of route %s in VPC %u: delete the route first (or --force)",
					    ip_str(k.ip, b1), prefix_str(r->k.prefix, r->k.len, b2), k.vni);
	const struct txn_eip *e = state_eip_of_nic(st, &k);
	if (e)
		return fail("NIC %s of VPC %u has elastic IP %s: eip del it first", ip_str(k.ip, b1), k.vni,
			    ip_str(e->eip, b2));
	table_del(&st->nics, &k);
	return 0;
}

/* ---- the internet: elastic IPs (docs/nat.md) ---- */

const struct txn_eip *state_eip_of_nic(const struct txn_state *st, const struct nic_key *k)
{
	for (const struct txn_eip *e = NULL; (e = table_next(&st->eips, e));)
		if (e->nic.vni == k->vni && e->nic.ip == k->ip)
			return e;
	return NULL;
}

int state_eip_add(struct txn_state *st, __be32 eip, struct nic_key nic)
{
	const struct txn_eip *other;
	struct txn_eip e = { .eip = eip, .nic = nic };
	char b1[16], b2[16];

	if (!eip || (ntohl(eip) >> 28) >= 0xe || ntohl(eip) >> 24 == 127)
		return fail("%s cannot be an elastic IP (a unicast address is needed)", ip_str(eip, b1));
	if (table_get(&st->eips, &eip))
		return fail("elastic IP %s is already in use (eip del it first)", ip_str(eip, b1));
	if (host_known && !state_cluster &&
	    (eip == host.underlay_ip || (nat_cfg.ext_ifindex && eip == nat_cfg.ext_ip)))
		return fail("elastic IP %s is this host's own address", ip_str(eip, b1));
	if (!txn_nics_known(st, &nic))
		return not_loaded();
	if (!table_get(&st->nics, &nic))
		return fail("NIC %s does not exist in VPC %u", ip_str(nic.ip, b1), nic.vni);
	if ((other = state_eip_of_nic(st, &nic)))
		return fail("NIC %s of VPC %u already has elastic IP %s", ip_str(nic.ip, b1), nic.vni,
			    ip_str(other->eip, b2));
	return table_put(&st->eips, &e) ? 0 : fail("out of memory");
}

int state_eip_del(struct txn_state *st, __be32 eip)
{
	char b1[16];

	if (!table_del(&st->eips, &eip))
		return fail("elastic IP %s does not exist", ip_str(eip, b1));
	return 0;
}

int state_subnet_set_dhcp(struct txn_state *st, struct subnet_key k, const struct subnet_dhcp *d, unsigned int have)
{
	struct subnet_dhcp merged;
	struct txn_subnet *sn;
	char b1[20];

	memset(k._pad, 0, sizeof(k._pad));
	if (!(sn = table_get(&st->subnets, &k)))
		return fail("subnet %s does not exist in VPC %u", prefix_str(k.prefix, k.len, b1), k.vni);
	merged = sn->dhcp;
	dhcp_merge(&merged, d, have);
	if (dhcp_fits(k, &merged))
		return 1;
	sn->dhcp = merged;
	return 0;
}

int state_vpc_set_table(struct txn_state *st, __u32 vni, __u32 table)
{
	struct txn_vpc *v = table_get(&st->vpcs, &vni);

	if (!v)
		return fail("VPC %u does not exist", vni);
	if (table_taken(st, vni, table))
		return 1;
	v->rec.advertise_table = table;
	return 0;
}

int state_nic_set_dhcp(struct txn_state *st, struct nic_key k, bool on)
{
	struct txn_nic *n = table_get(&st->nics, &k);
	char b1[16];

	if (!txn_nics_known(st, &k))
		return not_loaded();
	if (!n)
		return fail("NIC %s does not exist in VPC %u", ip_str(k.ip, b1), k.vni);
	n->v.flags = on ? (n->v.flags & ~NIC_F_NO_DHCP) : (n->v.flags | NIC_F_NO_DHCP);
	return 0;
}

int state_nic_set_ct_quota(struct txn_state *st, struct nic_key k, __u32 quota)
{
	struct txn_nic *n = table_get(&st->nics, &k);
	char b1[16];

	if (!txn_nics_known(st, &k))
		return not_loaded();
	if (!n)
		return fail("NIC %s does not exist in VPC %u", ip_str(k.ip, b1), k.vni);
	n->v.ct_quota = quota;
	return 0;
}

int state_nic_update(struct txn_state *st, struct nic_key k, const char *sg, bool set_sc, bool sc)
{
	struct txn_nic *n = table_get(&st->nics, &k);
	__u32 sg_id = 0;
	char b1[16];

	if (!txn_nics_known(st, &k))
		return not_loaded();
	if (!n)
		return fail("NIC %s does not exist in VPC %u", ip_str(k.ip, b1), k.vni);
	if (sg && state_sg_id(st, sg[0] ? sg : "none", &sg_id))
		return 1;
	if (sg)
		n->v.sg_id = sg_id;
	if (set_sc)
		n->v.flags = sc ? (n->v.flags | NIC_F_SOURCE_CHECK) : (n->v.flags & ~NIC_F_SOURCE_CHECK);
	return 0;
}

/* ---- security groups ---- */

static struct txn_sg *sg_by_name(const struct txn_state *st, const char *name)
{
	for (struct txn_sg *g = NULL; (g = table_next(&st->sgs, g));)
		if (!strncmp(g->name, name, NAME_LEN))
			return g;
	return NULL;
}

/*
 * Ids of groups that exist now stay theirs until the commit: a new group never
 * takes one, except a group of the same name (apply names groups, the maps
 * number them: the same name keeps its number, so save | apply changes nothing).
 */
static __u32 sg_ids_taken[MAX_SGS / 32 + 1];
static struct table sg_known; /* struct txn_sg: the groups at load time */

int state_sg_id(const struct txn_state *st, const char *name, __u32 *id)
{
	const struct txn_sg *g;

	if (st->sgs_unloaded)
		return not_loaded();
	if (!strcmp(name, "none")) {
		*id = 0;
		return 0;
	}
	if (!(g = sg_by_name(st, name)))
		return fail("security group \"%s\" does not exist", name);
	*id = g->id;
	return 0;
}

int state_sg_add(struct txn_state *st, const char name[NAME_LEN])
{
	struct txn_sg g;
	__u32 id;

	if (st->sgs_unloaded)
		return not_loaded();

	if (sg_by_name(st, name))
		return fail("security group \"%s\" already exists", name);
	for (const struct txn_sg *k = NULL; (k = table_next(&sg_known, k));)
		if (!strncmp(k->name, name, NAME_LEN) && !table_get(&st->sgs, &k->id)) {
			memset(&g, 0, sizeof(g));
			g.id = k->id;
			memcpy(g.name, name, NAME_LEN);
			return table_put(&st->sgs, &g) ? 0 : fail("out of memory");
		}
	for (id = 1; id <= MAX_SGS; id++)
		if (!(sg_ids_taken[id / 32] & (1U << (id % 32))) && !table_get(&st->sgs, &id))
			break;
	if (id > MAX_SGS)
		return fail("too many security groups (at most %d)", MAX_SGS);
	memset(&g, 0, sizeof(g));
	g.id = id;
	memcpy(g.name, name, NAME_LEN);
	sg_ids_taken[id / 32] |= 1U << (id % 32);
	return table_put(&st->sgs, &g) ? 0 : fail("out of memory");
}

int state_sg_del(struct txn_state *st, const char *name)
{
	struct txn_sg *g = sg_by_name(st, name);
	char b1[16];

	if (st->sgs_unloaded)
		return not_loaded();

	if (!g)
		return fail("security group \"%s\" does not exist", name);
	if (!txn_nics_known(st, NULL))
		return not_loaded();
	for (const struct txn_nic *n = NULL; (n = table_next(&st->nics, n));)
		if (n->v.sg_id == g->id)
			return fail("security group \"%s\" is used by NIC %s of VPC %u: change the NIC's group first", name,
				    ip_str(n->k.ip, b1), n->k.vni);
	for (struct txn_sg_rule *r = NULL; (r = table_next(&st->sg_rules, r));)
		if (r->k.sg_id == g->id)
			table_del(&st->sg_rules, &r->k);
	table_del(&st->sgs, &g->id);
	return 0;
}

/* Whether group id's rules in st compile into the maps' limits: 0, -E2BIG, or -ENOMEM. */
static int sg_compiles(const struct txn_state *st, __u32 id)
{
	struct sg_rule_entry *rules = calloc(st->sg_rules.live + 1, sizeof(*rules));
	struct sg_compiled c;
	size_t n = 0;
	int err;

	if (!rules)
		return -ENOMEM;
	for (const struct txn_sg_rule *r = NULL; (r = table_next(&st->sg_rules, r));)
		if (r->k.sg_id == id) {
			rules[n].priority = r->k.priority;
			rules[n++].r = r->r;
		}
	err = sg_compile(id, 0, rules, n, &c);
	if (!err)
		sg_compiled_free(&c);
	free(rules);
	return err;
}

int state_sg_rule_add(struct txn_state *st, const char *name, struct sg_rule_entry e)
{
	struct txn_sg *g = sg_by_name(st, name);
	struct txn_sg_rule r;
	__u32 last = 0;
	size_t n = 0;

	if (st->sgs_unloaded)
		return not_loaded();

	if (!g)
		return fail("security group \"%s\" does not exist", name);
	for (const struct txn_sg_rule *o = NULL; (o = table_next(&st->sg_rules, o));)
		if (o->k.sg_id == g->id) {
			n++;
			if (o->k.priority > last)
				last = o->k.priority;
		}
	if (n >= SG_MAX_RULES)
		return fail("security group \"%s\" has %zu rules, the most a group may have", name, n);
	if (!e.priority) {
		if (last + SG_PRIORITY_STEP > SG_PRIORITY_MAX)
			return fail("no priority left after %u: give \"priority N\"", last);
		e.priority = last + SG_PRIORITY_STEP;
	}
	memset(&r, 0, sizeof(r));
	r.k.sg_id = g->id;
	r.k.priority = e.priority;
	if (table_get(&st->sg_rules, &r.k))
		return fail("security group \"%s\" already has a rule of priority %u", name, e.priority);
	r.r = e.r;
	if (!table_put(&st->sg_rules, &r))
		return fail("out of memory");
	if (sg_compiles(st, g->id) == -E2BIG) {
		table_del(&st->sg_rules, &r.k);
		return fail("security group \"%s\": the rules compile to more than %d entries; merge port ranges or CIDRs",
			    name, SG_MAX_COMPILED);
	}
	return 0;
}

int state_sg_rule_del(struct txn_state *st, const char *name, __u32 priority)
{
	struct txn_sg *g = sg_by_name(st, name);
	struct txn_sg_rule_key k;

	if (st->sgs_unloaded)
		return not_loaded();

	if (!g)
		return fail("security group \"%s\" does not exist", name);
	memset(&k, 0, sizeof(k));
	k.sg_id = g->id;
	k.priority = priority;
	if (!table_del(&st->sg_rules, &k))
		return fail("security group \"%s\" has no rule of priority %u", name, priority);
	return 0;
}

static bool is_subnet(const struct txn_state *st, __u32 vni, __be32 prefix, __u8 len)
{
	struct subnet_key k;
	memset(&k, 0, sizeof(k));
	k.vni = vni;
	k.prefix = prefix;
	k.len = len;
	return table_get(&st->subnets, &k) != NULL;
}

int state_route_set(struct txn_state *st, __u32 vni, const struct route *r, bool replace)
{
	const char *cmd = replace ? "replace" : "add";
	struct txn_route tr;
	struct nic_key nk = { .vni = vni, .ip = r->via };
	char b1[20], b2[16];

	if (!table_get(&st->vpcs, &vni))
		return fail("VPC %u does not exist", vni);
	/* a host's own rule: in cluster mode each agent's datapath counts "no-external" where there is none */
	if (r->kind == ROUTE_INTERNET && host_known && !state_cluster && !nat_cfg.ext_ifindex)
		return fail("an internet route needs this host's external device: vpcbpf dp up ... external DEV");
	if (r->kind == ROUTE_VIA && !txn_nics_known(st, &nk))
		return not_loaded();
	if (r->kind == ROUTE_VIA && !table_get(&st->nics, &nk))
		return fail("next hop %s is not a NIC of VPC %u: add the appliance's NIC first", ip_str(r->via, b2), vni);
	if (r->kind == ROUTE_PEER) {
		if (r->peer_vni == vni)
			return fail("route %s: a VPC cannot peer with itself", cmd);
		if (!table_get(&st->vpcs, &r->peer_vni))
			return fail("peer VPC %u does not exist", r->peer_vni);
	}
	if (is_subnet(st, vni, r->prefix, r->len))
		return fail("%s is the connected route of a subnet of VPC %u (use subnet del)",
			    prefix_str(r->prefix, r->len, b1), vni);
	memset(&tr, 0, sizeof(tr));
	tr.k = txn_route_key(vni, r->prefix, r->len);
	if (!txn_routes_known(st, vni, &r->prefix, r->len))
		return not_loaded();
	if (table_get(&st->routes, &tr.k) && !replace)
		return fail("route %s already exists in VPC %u (use route replace)", prefix_str(r->prefix, r->len, b1), vni);
	tr.r = *r;
	tr.r._pad = 0;
	if (tr.r.kind != ROUTE_VIA)
		tr.r.via = 0;
	if (tr.r.kind != ROUTE_PEER)
		tr.r.peer_vni = 0;
	return table_put(&st->routes, &tr) ? 0 : fail("out of memory");
}

int state_route_del(struct txn_state *st, __u32 vni, __be32 prefix, __u8 len)
{
	struct txn_route_key k = txn_route_key(vni, prefix, len);
	char b1[20];

	if (is_subnet(st, vni, prefix, len))
		return fail("%s is the connected route of a subnet of VPC %u (use subnet del)", prefix_str(prefix, len, b1),
			    vni);
	if (!txn_routes_known(st, vni, &prefix, len))
		return not_loaded();
	if (!table_del(&st->routes, &k))
		return fail("route %s does not exist in VPC %u", prefix_str(prefix, len, b1), vni);
	return 0;
}

int state_route_flush(struct txn_state *st, __u32 vni)
{
	if (!table_get(&st->vpcs, &vni))
		return fail("VPC %u does not exist", vni);
	if (!txn_routes_known(st, vni, NULL, 0))
		return not_loaded();
	for (struct txn_route *r = NULL; (r = table_next(&st->routes, r));)
		if (r->k.vni == vni)
			table_del(&st->routes, &r->k);
	return 0;
}

static int sg_loaded(struct txn_state *st);

/* What the rules read of the host: its underlay and its external device. */
static void load_host(struct store *s)
{
	__u32 zero = 0;

	host_known = store_host(s, &host) == 0;
	if (!host_known)
		memset(&host, 0, sizeof(host));
	if (bpf_map_lookup_elem(s->fd[SM_NAT_HOST], &zero, &nat_cfg))
		memset(&nat_cfg, 0, sizeof(nat_cfg));
}

int state_load(struct store *s, struct txn_state *st)
{
	int err = txn_recover(s, &cli_txn_hooks);
	if (err < 0)
		return fail_errno(err, "cannot finish the transaction a killed command left");
	load_host(s);
	err = txn_state_load(s, st);
	if (err)
		return fail_errno(err, "cannot read the state under %s", s->pin_dir);
	return sg_loaded(st);
}

/* The groups as loaded keep their ids (see sg_ids_taken). */
static int sg_loaded(struct txn_state *st)
{
	table_free(&sg_known);
	if (table_copy(&sg_known, &st->sgs))
		return fail("out of memory");
	for (const struct txn_sg *g = NULL; (g = table_next(&st->sgs, g));)
		if (g->id <= MAX_SGS)
			sg_ids_taken[g->id / 32] |= 1U << (g->id % 32);
	return 0;
}

int state_load_for(struct store *s, struct txn_state *st, const struct state_need *need)
{
	int err;

	if (need->routes == NEED_ALL)
		return state_load(s, st);
	err = txn_recover(s, &cli_txn_hooks);
	if (err < 0)
		return fail_errno(err, "cannot finish the transaction a killed command left");
	load_host(s);
	err = txn_state_load_small(s, st, (need->nics ? TXN_LOAD_NICS : 0) | (need->sgs ? TXN_LOAD_SGS : 0));
	if (!err && need->routes == NEED_ROUTE_ONE)
		err = txn_state_load_route(s, st, need->vni, need->prefix, need->len);
	if (!err && need->routes == NEED_ROUTES_VPC)
		err = txn_state_load_vpc_routes(s, st, need->vni);
	if (!err && !need->nics && need->nic.vni)
		err = txn_state_load_nic(s, st, need->nic);
	if (err) {
		txn_state_free(st);
		return fail_errno(err, "cannot read the state under %s", s->pin_dir);
	}
	return sg_loaded(st);
}

int state_commit(struct store *s, const struct txn_state *cur, const struct txn_state *want)
{
	char msg[512];
	txn_timing = opts.verbose;
	int err = txn_commit(s, cur, want, &cli_txn_hooks, msg, sizeof(msg));
	if (err)
		return fail("%s", msg);
	eip_announce(s, cur, want); /* EIPs whose NIC has just become local here */
	return advertise_reconcile(s);
}
