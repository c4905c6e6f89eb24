/* cli/save.c — vpcbpf save: the host's whole state as one JSON document (the input of vpcbpf apply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
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

static void save_vpc(struct jw *o, const struct txn_state *st, const void *rec)
{
	const struct txn_vpc *v = rec;
	jw_object(o);
	jw_kint(o, "vni", v->vni);
	if (v->rec.name[0])
		jw_kstring(o, "name", v->rec.name);
	if (v->rec.advertise_table) /* 0: the default table, left out */
		jw_kint(o, "table", v->rec.advertise_table);
	jw_object_end(o);
}

static void save_subnet(struct jw *o, const struct txn_state *st, const void *rec)
{
	const struct txn_subnet *sn = rec;
	jw_object(o);
	char b[20];
	jw_kstring(o, "cidr", prefix_str(sn->k.prefix, sn->k.len, b));
	jw_kint(o, "vpc", sn->k.vni);
	jw_kstring(o, "gateway", ip_str(sn->v.gateway, b));
	if (sn->v.name[0])
		jw_kstring(o, "name", sn->v.name);
	/* the DHCP options in the words of subnet add (cli/dhcp.c); those not set are left out */
	char d[DHCP_TEXT_LEN];
	if (sn->dhcp.dns_count)
		jw_kstring(o, "dns", dhcp_dns_str(&sn->dhcp, d, sizeof(d)));
	if (sn->dhcp.domain_len)
		jw_kstring(o, "domain", dhcp_domain_str(&sn->dhcp, d, sizeof(d)));
	if (sn->dhcp.route_count)
		jw_kstring(o, "routes", dhcp_routes_str(&sn->dhcp, d, sizeof(d)));
	jw_object_end(o);
}

static void save_nic(struct jw *o, const struct txn_state *st, const void *rec)
{
	const struct txn_nic *n = rec;
	jw_object(o);
	char b[20];
	jw_kstring(o, "ip", ip_str(n->k.ip, b));
	jw_kint(o, "vpc", n->k.vni);
	jw_kstring(o, "mac", mac_str(n->v.mac, b));
	if (n->host[0])
		jw_kstring(o, "host", n->host);
	if (n->v.flags & NIC_F_LOCAL)
		jw_kstring(o, "dev", n->dev[0] ? n->dev : "");
	else
		jw_kstring(o, "remote", ip_str(n->v.remote, b));
	jw_kbool(o, "source_check", !!(n->v.flags & NIC_F_SOURCE_CHECK));
	if (n->v.flags & NIC_F_NO_DHCP) /* on, the default, is left out */
		jw_kbool(o, "dhcp", false);
	if (n->v.ct_quota) /* 0: the host's, left out */
		jw_kint(o, "ct_quota", n->v.ct_quota);
	if (n->v.sg_id) {
		const struct txn_sg *g = table_get(&st->sgs, &n->v.sg_id);
		char id[16];
		snprintf(id, sizeof(id), "#%u", n->v.sg_id);
		jw_kstring(o, "sg", g ? g->name : id);
	}
	jw_object_end(o);
}

static void save_route(struct jw *o, const struct txn_state *st, const void *rec)
{
	const struct txn_route *r = rec;
	jw_object(o);
	char b[20];
	jw_kstring(o, "prefix", prefix_str(r->k.prefix, r->k.len, b));
	jw_kint(o, "vpc", r->k.vni);
	if (r->r.kind == ROUTE_VIA)
		jw_kstring(o, "via", ip_str(r->r.via, b));
	else if (r->r.kind == ROUTE_PEER)
		jw_kint(o, "peer", r->r.peer_vni);
	else if (r->r.kind == ROUTE_INTERNET)
		jw_kbool(o, "internet", 1);
	else
		jw_kbool(o, "blackhole", 1);
	if (r->r.flags & ROUTE_F_ADVERTISE)
		jw_kbool(o, "advertise", 1);
	jw_object_end(o);
}

static int cmp_eip(const void *a, const void *b)
{
	const struct txn_eip *x = *(const struct txn_eip *const *)a, *y = *(const struct txn_eip *const *)b;
	return cmp_u32(ntohl(x->eip), ntohl(y->eip));
}

static void save_eip(struct jw *o, const struct txn_state *st, const void *rec)
{
	const struct txn_eip *e = rec;
	jw_object(o);
	char b[16];
	jw_kstring(o, "eip", ip_str(e->eip, b));
	jw_kstring(o, "nic", ip_str(e->nic.ip, b));
	jw_kint(o, "vpc", e->nic.vni);
	jw_object_end(o);
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
static void save_sg(struct jw *o, const struct txn_state *st, const void *rec)
{
	const struct txn_sg *g = rec;
	size_t n;
	void **all = table_sorted(&st->sg_rules, cmp_sg_rule, &n);
	char b[20];

	if (!all && n)
		jw_fail(o, "out of memory");
	jw_object(o);
	jw_kstring(o, "name", g->name);
	jw_karray(o, "rules");
	for (size_t i = 0; all && i < n; i++) {
		const struct txn_sg_rule *r = all[i];
		if (r->k.sg_id != g->id)
			continue;
		jw_object(o);
		jw_kint(o, "priority", r->k.priority);
		jw_kstring(o, "direction", r->r.dir == SG_INGRESS ? "ingress" : "egress");
		jw_kstring(o, "proto", proto_word(r->r.proto));
		if (r->r.port_lo != 0 || r->r.port_hi != 65535) {
			if (r->r.port_lo == r->r.port_hi)
				snprintf(b, sizeof(b), "%u", r->r.port_lo);
			else
				snprintf(b, sizeof(b), "%u-%u", r->r.port_lo, r->r.port_hi);
			jw_kstring(o, "port", b);
		}
		jw_kstring(o, "cidr", prefix_str(r->r.cidr, r->r.cidr_len, b));
		jw_kstring(o, "action", r->r.action == SG_ALLOW ? "allow" : "deny");
		jw_object_end(o);
	}
	jw_array_end(o);
	free(all);
	jw_object_end(o);
}

struct save_section {
	const char *key;
	size_t table_offset; /* which table of struct txn_state */
	int (*cmp)(const void *, const void *);
	void (*save)(struct jw *w, const struct txn_state *st, const void *rec);
};

static const struct save_section sections[] = {
	{ "vpcs", offsetof(struct txn_state, vpcs), row_cmp_vpc, save_vpc },
	{ "security_groups", offsetof(struct txn_state, sgs), cmp_sg, save_sg },
	{ "subnets", offsetof(struct txn_state, subnets), row_cmp_subnet, save_subnet },
	{ "nics", offsetof(struct txn_state, nics), row_cmp_nic, save_nic },
	{ "routes", offsetof(struct txn_state, routes), row_cmp_route, save_route },
	{ "eips", offsetof(struct txn_state, eips), cmp_eip, save_eip },
};

void save_object(struct jw *w, const struct txn_state *st, const char *section, const void *rec)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!strcmp(sections[i].key, section)) {
			sections[i].save(w, st, rec);
			return;
		}
	jw_fail(w, "no such section");
}

char *save_object_text(const struct txn_state *st, const char *section, const void *rec)
{
	struct jw w;
	char *s = NULL;

	if (jw_init(&w, NULL, 0))
		return NULL;
	save_object(&w, st, section, rec);
	if (!jw_finish(&w))
		s = jw_take(&w, NULL);
	jw_free(&w);
	return s;
}

/* One phase per section (hook_progress tells phases apart by pointer). */
static const char *const progress_phase[] = { "save vpcs", "save security groups", "save subnets", "save nics",
					      "save routes" };

int save_document(struct jw *w, const struct txn_state *st)
{
	jw_object(w);
	jw_kint(w, "version", 1);
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		const struct table *t = (const struct table *)((const char *)st + sections[i].table_offset);
		size_t n;
		/* elastic IPs came later: a host without any saves the document it always did */
		if (!strcmp(sections[i].key, "eips") && !t->live)
			continue;
		void **rows = table_sorted(t, sections[i].cmp, &n);
		if (!rows && n)
			return fail("out of memory");
		jw_karray(w, sections[i].key);
		for (size_t j = 0; j < n; j++) {
			sections[i].save(w, st, rows[j]);
			/* a million routes take seconds: a bar on a terminal, every 4,096 rows (isatty and the
			 * clock per row would cost more than the row) */
			if ((j + 1) % 4096 == 0 || j + 1 == n)
				hook_progress(i < sizeof(progress_phase) / sizeof(progress_phase[0]) ? progress_phase[i]
											       : sections[i].key, j + 1, n);
		}
		jw_array_end(w);
		free(rows);
	}
	jw_object_end(w);
	return 0;
}

/* save's document on stdout (compact with -j, else pretty), then a newline; 0, or 1 after printing an error. */
int save_print(const struct txn_state *st)
{
	struct jw w;
	int err;

	if (jw_init(&w, stdout, opts.json && !opts.pretty ? 0 : JW_PRETTY))
		return fail("out of memory");
	err = save_document(&w, st);
	if (!err && jw_finish(&w))
		err = fail("save: %s", jw_error(&w));
	jw_free(&w);
	if (!err) {
		fputc('\n', stdout);
		pr_printed();
	}
	return err;
}

static int do_save(int argc, char **argv)
{
	struct txn_state st;
	struct store *s;
	int err = 0;

	if (argc > 0)
		return unknown_word(argv[0]);
	/* The lock: a transaction in flight is waited for, one a killed command left is finished first. */
	if (!(s = store_get(true)) || state_load(s, &st))
		return 1;
	err = save_print(&st);
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
