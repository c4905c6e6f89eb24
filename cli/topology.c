/* cli/topology.c — vpcbpf topology: the network as a picture (Graphviz dot) or as JSON, from one model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli/cli.h"
#include "cli/link.h"
#include "cli/state.h"

/*
 * The picture an operator would draw: each VPC a box, each subnet a box
 * inside it holding its NICs, the hosts the NICs live on below, and the
 * routes of a VPC as edges: a destination reached through an appliance NIC
 * (source check off: a vCPE, a router VM), a peered VPC, a blackhole.
 * Local NICs whose veth peers sit in the same network namespace belong to
 * one VM: an appliance with NICs in two VPCs is drawn joined across them.
 *
 * Both forms are rendered from the same sorted rows, so they never disagree:
 * `-j` for programs, dot for `dot -Tsvg`.
 */

struct topo {
	struct txn_state st;
	struct host host;
	void **vpcs, **subnets, **nics, **routes;
	size_t nvpcs, nsubnets, nnics, nroutes;
	int *vm; /* per NIC (sorted order): the netns id of a local NIC's peer, -1 when unknown or remote */
};

static bool in_subnet(const struct txn_nic *n, const struct txn_subnet *sn)
{
	return n->k.vni == sn->k.vni && n->v.subnet == sn->k.prefix && n->v.subnet_len == sn->k.len;
}

static bool appliance(const struct txn_nic *n)
{
	return !(n->v.flags & NIC_F_SOURCE_CHECK);
}

/* The underlay address a NIC lives at: a remote host's, or this host's. */
static __be32 nic_host(const struct topo *t, const struct txn_nic *n)
{
	return n->v.flags & NIC_F_REMOTE ? n->v.remote : t->host.underlay_ip;
}

static const struct txn_nic *find_nic(const struct topo *t, __u32 vni, __be32 ip, size_t *idx)
{
	for (size_t i = 0; i < t->nnics; i++) {
		const struct txn_nic *n = t->nics[i];
		if (n->k.vni == vni && n->k.ip == ip) {
			*idx = i;
			return n;
		}
	}
	return NULL;
}

static int topo_load(struct topo *t)
{
	struct store *s;

	memset(t, 0, sizeof(*t));
	if (!(s = store_get(true)) || state_load(s, &t->st))
		return 1;
	if (store_host(s, &t->host))
		memset(&t->host, 0, sizeof(t->host));
	t->vpcs = table_sorted(&t->st.vpcs, row_cmp_vpc, &t->nvpcs);
	t->subnets = table_sorted(&t->st.subnets, row_cmp_subnet, &t->nsubnets);
	t->nics = table_sorted(&t->st.nics, row_cmp_nic, &t->nnics);
	t->routes = table_sorted(&t->st.routes, row_cmp_route, &t->nroutes);
	t->vm = calloc(t->nnics + 1, sizeof(*t->vm));
	if (!t->vpcs || !t->subnets || !t->nics || !t->routes || !t->vm)
		return fail("out of memory");
	for (size_t i = 0; i < t->nnics; i++) {
		const struct txn_nic *n = t->nics[i];
		t->vm[i] = n->v.flags & NIC_F_LOCAL ? link_peer_netns(n->v.ifindex) : -1;
	}
	return 0;
}

static void topo_free(struct topo *t)
{
	free(t->vpcs);
	free(t->subnets);
	free(t->nics);
	free(t->routes);
	free(t->vm);
	txn_state_free(&t->st);
}

/* The hosts NICs live on, this one first (0.0.0.0 before dp up names an underlay); returns how many (at most max). */
static size_t topo_hosts(const struct topo *t, __be32 *out, size_t max)
{
	size_t n = 0;

	out[n++] = t->host.underlay_ip;
	for (size_t i = 0; i < t->nnics && n < max; i++) {
		__be32 h = nic_host(t, t->nics[i]);
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = out[j] == h;
		if (!seen)
			out[n++] = h;
	}
	return n;
}

/* ---- JSON ---- */

static void json_nic(const struct topo *t, size_t i)
{
	const struct txn_nic *n = t->nics[i];
	char b[20];

	pr_begin_obj();
	pr_str("ip", NULL, ip_str(n->k.ip, b));
	pr_str("mac", NULL, mac_str(n->v.mac, b));
	pr_str("host", NULL, ip_str(nic_host(t, n), b));
	if (n->v.flags & NIC_F_LOCAL)
		pr_str("dev", NULL, n->dev);
	pr_bool("appliance", NULL, appliance(n));
	if (t->vm[i] >= 0) {
		/* NICs of one VM share this: the peer netns id, as this host numbers it */
		pr_u64("vm", NULL, (uint64_t)t->vm[i]);
	}
	pr_end_obj();
}

static void json_route(const struct topo *t, const struct txn_route *r)
{
	char b[20];

	pr_begin_obj();
	pr_str("prefix", NULL, prefix_str(r->k.prefix, r->k.len, b));
	switch (r->r.kind) {
	case ROUTE_VIA:
		pr_str("kind", NULL, "via");
		pr_str("via", NULL, ip_str(r->r.via, b));
		break;
	case ROUTE_PEER:
		pr_str("kind", NULL, "peer");
		pr_u64("peer", NULL, r->r.peer_vni);
		break;
	case ROUTE_BLACKHOLE:
		pr_str("kind", NULL, "blackhole");
		break;
	default:
		pr_str("kind", NULL, "other");
	}
	pr_bool("advertise", NULL, r->r.flags & ROUTE_F_ADVERTISE);
	pr_end_obj();
}

static void topo_json(const struct topo *t)
{
	__be32 hosts[256];
	size_t nh = topo_hosts(t, hosts, 256);
	char b[20];

	pr_begin_obj();
	pr_begin_array("hosts");
	for (size_t i = 0; i < nh; i++) {
		pr_begin_obj();
		pr_str("underlay", NULL, ip_str(hosts[i], b));
		pr_bool("local", NULL, hosts[i] == t->host.underlay_ip);
		pr_end_obj();
	}
	pr_end_array();
	pr_begin_array("vpcs");
	for (size_t v = 0; v < t->nvpcs; v++) {
		const struct txn_vpc *vpc = t->vpcs[v];
		pr_begin_obj();
		pr_u64("vni", NULL, vpc->vni);
		pr_str("name", NULL, vpc->rec.name);
		pr_begin_array("subnets");
		for (size_t s = 0; s < t->nsubnets; s++) {
			const struct txn_subnet *sn = t->subnets[s];
			if (sn->k.vni != vpc->vni)
				continue;
			pr_begin_obj();
			pr_str("cidr", NULL, prefix_str(sn->k.prefix, sn->k.len, b));
			pr_str("gateway", NULL, ip_str(sn->v.gateway, b));
			pr_str("name", NULL, sn->v.name);
			pr_begin_array("nics");
			for (size_t i = 0; i < t->nnics; i++)
				if (in_subnet(t->nics[i], sn))
					json_nic(t, i);
			pr_end_array();
			pr_end_obj();
		}
		pr_end_array();
		pr_begin_array("routes");
		for (size_t r = 0; r < t->nroutes; r++)
			if (((const struct txn_route *)t->routes[r])->k.vni == vpc->vni)
				json_route(t, t->routes[r]);
		pr_end_array();
		pr_end_obj();
	}
	pr_end_array();
	pr_end_obj();
}

/* ---- Graphviz dot ---- */

/* A double-quoted dot string: names and device names are the only free text. */
static void dot_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void dot_nic_id(const struct txn_nic *n)
{
	char b[16];
	printf("\"nic %u %s\"", n->k.vni, ip_str(n->k.ip, b));
}

static void dot_nic(const struct topo *t, size_t i, const char *indent)
{
	const struct txn_nic *n = t->nics[i];
	char ip[16], mac[18], label[128];

	snprintf(label, sizeof(label), "%s%s\\n%s%s%s", appliance(n) ? "appliance\\n" : "", ip_str(n->k.ip, ip),
		 mac_str(n->v.mac, mac), n->v.flags & NIC_F_LOCAL ? "\\ndev " : "",
		 n->v.flags & NIC_F_LOCAL ? n->dev : "");
	printf("%s", indent);
	dot_nic_id(n);
	printf(" [label=\"%s\"", label);
	if (appliance(n))
		printf(", shape=box3d, style=filled, fillcolor=\"#ffd99a\"");
	printf("];\n");
}

static void dot_route_edges(const struct topo *t, const struct txn_route *r)
{
	char p[20], b[16];
	size_t idx;
	const char *adv = r->r.flags & ROUTE_F_ADVERTISE ? " (advertise)" : "";

	prefix_str(r->k.prefix, r->k.len, p);
	/* The destination: a node of its own inside the VPC, so routes to one prefix meet there. */
	if (r->r.kind == ROUTE_BLACKHOLE)
		printf("  \"dst %u %s\" [label=\"%s\\nblackhole%s\", shape=octagon, color=red, fontcolor=red];\n",
		       r->k.vni, p, p, adv);
	else
		printf("  \"dst %u %s\" [label=\"%s\", shape=note];\n", r->k.vni, p, p);
	switch (r->r.kind) {
	case ROUTE_VIA: {
		const struct txn_nic *n = find_nic(t, r->k.vni, r->r.via, &idx);
		if (n) {
			printf("  ");
			dot_nic_id(n);
			printf(" -> \"dst %u %s\" [label=\"route%s\", color=\"#1f6fb2\", penwidth=1.6];\n", r->k.vni, p,
			       adv);
		} else { /* an appliance not attached yet: the route leads nowhere */
			printf("  \"via %u %s\" [label=\"%s\\n(no NIC)\", shape=box, style=dashed, color=red];\n", r->k.vni,
			       ip_str(r->r.via, b), b);
			printf("  \"via %u %s\" -> \"dst %u %s\" [label=\"route%s\", style=dashed, color=red];\n", r->k.vni,
			       b, r->k.vni, p, adv);
		}
		break;
	}
	case ROUTE_PEER:
		printf("  \"dst %u %s\" -> \"vpc %u\" [label=\"peer%s\", lhead=\"cluster_vpc_%u\", style=bold];\n",
		       r->k.vni, p, r->r.peer_vni, adv, r->r.peer_vni);
		break;
	}
}

static void topo_dot(const struct topo *t)
{
	__be32 hosts[256];
	size_t nh = topo_hosts(t, hosts, 256);
	char b[20];

	printf("digraph vpcbpf {\n"
	       "  graph [rankdir=LR, compound=true, newrank=true, fontname=\"Helvetica\", label=\"vpcbpf topology\", labelloc=t];\n"
	       "  node [fontname=\"Helvetica\", fontsize=10, shape=box, style=rounded];\n"
	       "  edge [fontname=\"Helvetica\", fontsize=9];\n");
	for (size_t v = 0; v < t->nvpcs; v++) {
		const struct txn_vpc *vpc = t->vpcs[v];
		printf("  subgraph \"cluster_vpc_%u\" {\n    label=", vpc->vni);
		{
			char label[64];
			snprintf(label, sizeof(label), "VPC %u%s%s", vpc->vni, vpc->rec.name[0] ? " " : "", vpc->rec.name);
			dot_str(label);
		}
		printf(";\n    style=\"rounded,filled\"; fillcolor=\"#eef4fb\"; color=\"#5b8db8\";\n");
		/* An anchor every VPC has, even an empty one, for edges that point at the VPC as a whole. */
		printf("    \"vpc %u\" [shape=point, style=invis];\n", vpc->vni);
		for (size_t s = 0; s < t->nsubnets; s++) {
			const struct txn_subnet *sn = t->subnets[s];
			char cidr[20], gw[16], label[96];
			if (sn->k.vni != vpc->vni)
				continue;
			prefix_str(sn->k.prefix, sn->k.len, cidr);
			snprintf(label, sizeof(label), "subnet %s%s%s\\ngateway %s", cidr, sn->v.name[0] ? " " : "",
				 sn->v.name, ip_str(sn->v.gateway, gw));
			printf("    subgraph \"cluster_subnet_%u_%s\" {\n      label=\"%s\"; style=\"rounded,filled\"; "
			       "fillcolor=white; color=\"#8aa9c4\";\n",
			       vpc->vni, cidr, label);
			printf("      \"subnet %u %s\" [shape=point, style=invis];\n", vpc->vni, cidr);
			for (size_t i = 0; i < t->nnics; i++)
				if (in_subnet(t->nics[i], sn))
					dot_nic(t, i, "      ");
			printf("    }\n");
		}
		for (size_t r = 0; r < t->nroutes; r++) {
			const struct txn_route *rt = t->routes[r];
			char p[20];
			if (rt->k.vni == vpc->vni)
				printf("    \"dst %u %s\";\n", rt->k.vni, prefix_str(rt->k.prefix, rt->k.len, p));
		}
		printf("  }\n");
	}
	for (size_t r = 0; r < t->nroutes; r++)
		dot_route_edges(t, t->routes[r]);
	/* One VM, several NICs: joined, across VPCs too (a vCPE). */
	for (size_t i = 0; i < t->nnics; i++)
		for (size_t j = i + 1; j < t->nnics; j++)
			if (t->vm[i] >= 0 && t->vm[i] == t->vm[j]) {
				printf("  ");
				dot_nic_id(t->nics[i]);
				printf(" -> ");
				dot_nic_id(t->nics[j]);
				printf(" [dir=none, style=bold, color=\"#c77700\", label=\"same VM\"];\n");
			}
	printf("  subgraph cluster_hosts {\n    label=\"hosts (underlay)\"; style=dashed; color=gray;\n");
	for (size_t i = 0; i < nh; i++)
		printf("    \"host %s\" [label=\"%s%s%s\", shape=component];\n", ip_str(hosts[i], b),
		       hosts[i] ? "host " : "", hosts[i] ? b : "no underlay yet",
		       hosts[i] == t->host.underlay_ip ? "\\n(this host)" : "");
	printf("  }\n");
	for (size_t i = 0; i < t->nnics; i++) {
		__be32 h = nic_host(t, t->nics[i]);
		printf("  ");
		dot_nic_id(t->nics[i]);
		printf(" -> \"host %s\" [dir=none, style=dotted, color=gray];\n", ip_str(h, b));
	}
	printf("}\n");
}

static int do_topology(int argc, char **argv)
{
	struct topo t;
	int err;

	if (argc > 0)
		return unknown_word(argv[0]);
	err = topo_load(&t);
	if (!err) {
		if (opts.json)
			topo_json(&t);
		else
			topo_dot(&t);
	}
	topo_free(&t);
	return err;
}

static const struct cmd cmds[] = { { "show", do_topology }, { 0 } };

const struct object obj_topology = {
	.name = "topology",
	.cmds = cmds,
	.no_verbs = true,
	.usage = "topology\n"
		 "Prints the VPCs, subnets, NICs, hosts, appliances (NICs with source check off) and the routes\n"
		 "through them as a Graphviz dot graph (render: vpcbpf topology | dot -Tsvg > net.svg); -j: JSON.",
};
