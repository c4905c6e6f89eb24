/* cli/save.c — vpcbpf save: the host's whole state as one JSON document (the input of vpcbpf apply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <json-c/json.h>
#include "cli/cli.h"
#include "maps/fib.h"
#include "maps/prefix.h"
#include "cli/state.h"
#include "cli/dhcp.h"
#include "cli/schema.h"

/*
 * The schema is docs/schema.md. Every list is sorted by its key, so two saves
 * of the same state are the same bytes and `save | apply` changes nothing.
 * A new object type is one more row in sections[] (and in cli/apply.c).
 */

static int cmp_u32(__u32 a, __u32 b)
{
	return a < b ? -1 : a > b;
}

int row_cmp_vpc(const void *a, const void *b)
{
	return cmp_u32((*(const struct txn_vpc *const *)a)->vni, (*(const struct txn_vpc *const *)b)->vni);
}

int row_cmp_subnet(const void *a, const void *b)
{
	const struct subnet_key *x = &(*(const struct txn_subnet *const *)a)->k, *y = &(*(const struct txn_subnet *const *)b)->k;
	return x->vni != y->vni ? cmp_u32(x->vni, y->vni) : prefix_order(x->prefix, x->len, y->prefix, y->len);
}

int row_cmp_nic(const void *a, const void *b)
{
	const struct nic_key *x = &(*(const struct txn_nic *const *)a)->k, *y = &(*(const struct txn_nic *const *)b)->k;
	return x->vni != y->vni ? cmp_u32(x->vni, y->vni) : cmp_u32(ntohl(x->ip), ntohl(y->ip));
}

int row_cmp_route(const void *a, const void *b)
{
	const struct txn_route_key *x = &(*(const struct txn_route *const *)a)->k, *y = &(*(const struct txn_route *const *)b)->k;
	return x->vni != y->vni ? cmp_u32(x->vni, y->vni) : prefix_order(x->prefix, x->len, y->prefix, y->len);
}

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static json_object *save_vpc(const struct txn_state *st, const void *rec)
{
	const struct txn_vpc *v = rec;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "vni", json_object_new_int64(v->vni));
	if (v->rec.name[0])
		add_str(o, "name", v->rec.name);
	if (v->rec.advertise_table) /* 0: the default table, left out */
		json_object_object_add(o, "table", json_object_new_int64(v->rec.advertise_table));
	return o;
}

static json_object *save_subnet(const struct txn_state *st, const void *rec)
{
	const struct txn_subnet *sn = rec;
	json_object *o = json_object_new_object();
	char b[20];
	add_str(o, "cidr", prefix_str(sn->k.prefix, sn->k.len, b));
	json_object_object_add(o, "vpc", json_object_new_int64(sn->k.vni));
	add_str(o, "gateway", ip_str(sn->v.gateway, b));
	if (sn->v.name[0])
		add_str(o, "name", sn->v.name);
	/* the DHCP options in the words of subnet add (cli/dhcp.c); those not set are left out */
	char d[DHCP_TEXT_LEN];
	if (sn->dhcp.dns_count)
		add_str(o, "dns", dhcp_dns_str(&sn->dhcp, d, sizeof(d)));
	if (sn->dhcp.domain_len)
		add_str(o, "domain", dhcp_domain_str(&sn->dhcp, d, sizeof(d)));
	if (sn->dhcp.route_count)
		add_str(o, "routes", dhcp_routes_str(&sn->dhcp, d, sizeof(d)));
	return o;
}

static json_object *save_nic(const struct txn_state *st, const void *rec)
{
	const struct txn_nic *n = rec;
	json_object *o = json_object_new_object();
	char b[20];
	add_str(o, "ip", ip_str(n->k.ip, b));
	json_object_object_add(o, "vpc", json_object_new_int64(n->k.vni));
	add_str(o, "mac", mac_str(n->v.mac, b));
	if (n->host[0])
		add_str(o, "host", n->host);
	if (n->v.flags & NIC_F_LOCAL)
		add_str(o, "dev", n->dev[0] ? n->dev : "");
	else
		add_str(o, "remote", ip_str(n->v.remote, b));
	json_object_object_add(o, "source_check", json_object_new_boolean(!!(n->v.flags & NIC_F_SOURCE_CHECK)));
	if (n->v.flags & NIC_F_NO_DHCP) /* on, the default, is left out */
		json_object_object_add(o, "dhcp", json_object_new_boolean(false));
	if (n->v.ct_quota) /* 0: the host's, left out */
		json_object_object_add(o, "ct_quota", json_object_new_int64(n->v.ct_quota));
	if (n->v.sg_id) {
		const struct txn_sg *g = table_get(&st->sgs, &n->v.sg_id);
		char id[16];
		snprintf(id, sizeof(id), "#%u", n->v.sg_id);
		add_str(o, "sg", g ? g->name : id);
	}
	return o;
}

static json_object *save_route(const struct txn_state *st, const void *rec)
{
	const struct txn_route *r = rec;
	json_object *o = json_object_new_object();
	char b[20];
	add_str(o, "prefix", prefix_str(r->k.prefix, r->k.len, b));
	json_object_object_add(o, "vpc", json_object_new_int64(r->k.vni));
	if (r->r.kind == ROUTE_VIA)
		add_str(o, "via", ip_str(r->r.via, b));
	else if (r->r.kind == ROUTE_PEER)
		json_object_object_add(o, "peer", json_object_new_int64(r->r.peer_vni));
	else if (r->r.kind == ROUTE_INTERNET)
		json_object_object_add(o, "internet", json_object_new_boolean(1));
	else
		json_object_object_add(o, "blackhole", json_object_new_boolean(1));
	if (r->r.flags & ROUTE_F_ADVERTISE)
		json_object_object_add(o, "advertise", json_object_new_boolean(1));
	return o;
}

static int cmp_eip(const void *a, const void *b)
{
	const struct txn_eip *x = *(const struct txn_eip *const *)a, *y = *(const struct txn_eip *const *)b;
	return cmp_u32(ntohl(x->eip), ntohl(y->eip));
}

static json_object *save_eip(const struct txn_state *st, const void *rec)
{
	const struct txn_eip *e = rec;
	json_object *o = json_object_new_object();
	char b[16];
	add_str(o, "eip", ip_str(e->eip, b));
	add_str(o, "nic", ip_str(e->nic.ip, b));
	json_object_object_add(o, "vpc", json_object_new_int64(e->nic.vni));
	return o;
}

static int cmp_sg(const void *a, const void *b)
{
	return strncmp((*(const struct txn_sg *const *)a)->name, (*(const struct txn_sg *const *)b)->name, NAME_LEN);
}

static int cmp_sg_rule(const void *a, const void *b)
{
	const struct txn_sg_rule_key *x = &(*(const struct txn_sg_rule *const *)a)->k,
				     *y = &(*(const struct txn_sg_rule *const *)b)->k;
	return x->sg_id != y->sg_id ? cmp_u32(x->sg_id, y->sg_id) : cmp_u32(x->priority, y->priority);
}

static const char *proto_word(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	default: return "any";
	}
}

/* A group with its rules in priority order (the words of 'sg rule add'). */
static json_object *save_sg(const struct txn_state *st, const void *rec)
{
	const struct txn_sg *g = rec;
	json_object *o = json_object_new_object(), *rules = json_object_new_array();
	size_t n;
	void **all = table_sorted(&st->sg_rules, cmp_sg_rule, &n);
	char b[20];

	add_str(o, "name", g->name);
	for (size_t i = 0; all && i < n; i++) {
		const struct txn_sg_rule *r = all[i];
		json_object *ro;
		if (r->k.sg_id != g->id)
			continue;
		ro = json_object_new_object();
		json_object_object_add(ro, "priority", json_object_new_int64(r->k.priority));
		add_str(ro, "direction", r->r.dir == SG_INGRESS ? "ingress" : "egress");
		add_str(ro, "proto", proto_word(r->r.proto));
		if (r->r.port_lo != 0 || r->r.port_hi != 65535) {
			if (r->r.port_lo == r->r.port_hi)
				snprintf(b, sizeof(b), "%u", r->r.port_lo);
			else
				snprintf(b, sizeof(b), "%u-%u", r->r.port_lo, r->r.port_hi);
			add_str(ro, "port", b);
		}
		add_str(ro, "cidr", prefix_str(r->r.cidr, r->r.cidr_len, b));
		add_str(ro, "action", r->r.action == SG_ALLOW ? "allow" : "deny");
		json_object_array_add(rules, ro);
	}
	free(all);
	json_object_object_add(o, "rules", rules);
	return o;
}

struct save_section {
	const char *key;
	size_t table_offset; /* which table of struct txn_state */
	int (*cmp)(const void *, const void *);
	json_object *(*save)(const struct txn_state *st, const void *rec);
};

static const struct save_section sections[] = {
	{ "vpcs", offsetof(struct txn_state, vpcs), row_cmp_vpc, save_vpc },
	{ "security_groups", offsetof(struct txn_state, sgs), cmp_sg, save_sg },
	{ "subnets", offsetof(struct txn_state, subnets), row_cmp_subnet, save_subnet },
	{ "nics", offsetof(struct txn_state, nics), row_cmp_nic, save_nic },
	{ "routes", offsetof(struct txn_state, routes), row_cmp_route, save_route },
	{ "eips", offsetof(struct txn_state, eips), cmp_eip, save_eip },
};

json_object *save_object(const struct txn_state *st, const char *section, const void *rec)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!strcmp(sections[i].key, section))
			return sections[i].save(st, rec);
	return NULL;
}

/* One phase per section (hook_progress tells phases apart by pointer). */
static const char *const progress_phase[] = { "save vpcs", "save security groups", "save subnets", "save nics",
					      "save routes" };

json_object *save_document(const struct txn_state *st)
{
	json_object *root = json_object_new_object();

	json_object_object_add(root, "version", json_object_new_int(1));
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		const struct table *t = (const struct table *)((const char *)st + sections[i].table_offset);
		size_t n;
		/* elastic IPs came later: a host without any saves the document it always did */
		if (!strcmp(sections[i].key, "eips") && !t->live)
			continue;
		void **rows = table_sorted(t, sections[i].cmp, &n);
		json_object *arr = json_object_new_array_ext((int)n);
		if (!rows) {
			json_object_put(arr);
			json_object_put(root);
			fail("out of memory");
			return NULL;
		}
		for (size_t j = 0; j < n; j++) {
			json_object_array_add(arr, sections[i].save(st, rows[j]));
			/* a million routes take seconds: a bar on a terminal, every 4,096 rows (isatty and the
			 * clock per row would cost more than the row) */
			if ((j + 1) % 4096 == 0 || j + 1 == n)
				hook_progress(i < sizeof(progress_phase) / sizeof(progress_phase[0]) ? progress_phase[i]
											       : sections[i].key, j + 1, n);
		}
		json_object_object_add(root, sections[i].key, arr);
		free(rows);
	}
	return root;
}

static int do_save(int argc, char **argv)
{
	struct txn_state st;
	struct store *s;
	json_object *root;
	int err = 0;

	if (argc > 0)
		return unknown_word(argv[0]);
	/* The lock: a transaction in flight is waited for, one a killed command left is finished first. */
	if (!(s = store_get(true)) || state_load(s, &st))
		return 1;
	root = save_document(&st);
	err = !root;
	if (!err) {
		int flags = opts.json && !opts.pretty ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
		fputs(json_object_to_json_string_ext(root, flags | JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
		fputc('\n', stdout);
		pr_printed();
	}
	json_object_put(root);
	txn_state_free(&st);
	if (!err && opts.verbose) { /* the route tables' census: the crash tests check that nothing is amiss */
		struct fib_usage u;
		if (!fib_usage(s->fd[SM_FIB], s->fd[SM_VPCS], &u))
			fprintf(stderr, "vpcbpf: fib arena: %llu lines in %u live tables, %llu in quarantine, of %llu; "
				"%u tables broken or overlapping\n", (unsigned long long)u.live, u.regions,
				(unsigned long long)u.quarantined, (unsigned long long)u.total, u.bad);
	}
	return err;
}

static const struct cmd cmds[] = { { "save", do_save }, { 0 } };

const struct object obj_save = {
	.name = "save",
	.cmds = cmds,
	.no_verbs = true,
	.usage = "save\n"
		 "Prints the whole state (VPCs, security groups, subnets, NICs, routes, elastic IPs) as JSON; 'vpcbpf apply' reads it back.\n"
		 "Schema: docs/schema.md",
};
