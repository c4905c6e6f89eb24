/* cli/subnet.c — vpcbpf subnet (alias vxnet): a CIDR of a VPC, its gateway, and its connected route. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "cli/cli.h"
#include "cli/state.h"
#include "cli/dhcp.h"
#include "maps/txn.h"
#include "maps/prefix.h"

struct subnet_row {
	struct subnet_key k;
	struct subnet sn;
	struct subnet_dhcp dhcp;
	unsigned int nics;
};

struct subnet_list {
	struct subnet_row *rows;
	size_t n, cap;
	__u32 vni; /* 0: all */
};

static int collect(const void *key, const void *value, void *ctx)
{
	struct subnet_list *l = ctx;
	const struct subnet_key *k = key;
	if (l->vni && k->vni != l->vni)
		return 0;
	struct subnet_row *row = store_row_push((void **)&l->rows, &l->n, &l->cap, sizeof(*row));
	if (!row)
		return -ENOMEM;
	row->k = *k;
	row->sn = *(const struct subnet *)value;
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct subnet_key *x = &((const struct subnet_row *)a)->k, *y = &((const struct subnet_row *)b)->k;
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return prefix_order(x->prefix, x->len, y->prefix, y->len);
}

/* Counts each NIC into its subnet's row (rows sorted): one walk of the NICs for the whole list. */
static int count_row_nics(const void *key, const void *value, void *ctx)
{
	struct subnet_list *l = ctx;
	const struct nic *n = value;
	if (!l->n)
		return 1;
	struct subnet_row want = { .k = { .vni = ((const struct nic_key *)key)->vni, .prefix = n->subnet,
					  .len = n->subnet_len } };
	struct subnet_row *r = bsearch(&want, l->rows, l->n, sizeof(*l->rows), cmp_rows);

	if (r)
		r->nics++;
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct subnet_list l = { 0 };
	struct store *s;
	char b1[20], b2[16];

	const char *cidr_typed = NULL;
	__be32 prefix = 0;
	__u8 len = 0;

	/* subnet show [vpc VNI] [CIDR]: a word that is no keyword is the CIDR */
	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &l.vni))
				return 1;
		} else if (!cidr_typed && strchr(*argv, '.')) {
			if (parse_prefix(*argv, &prefix, &len))
				return 1;
			cidr_typed = *argv;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!(s = store_get(false)))
		return 1;
	if (store_foreach(s->fd[SM_SUBNETS], sizeof(struct subnet_key), sizeof(struct subnet), collect, &l))
		return fail("out of memory");
	if (cidr_typed) {
		size_t n = 0;
		for (size_t i = 0; i < l.n; i++)
			if (l.rows[i].k.prefix == prefix && l.rows[i].k.len == len)
				l.rows[n++] = l.rows[i];
		l.n = n;
		if (!n) {
			free(l.rows);
			if (l.vni)
				return fail("subnet %s does not exist in VPC %u", cidr_typed, l.vni);
			return fail("subnet %s does not exist", cidr_typed);
		}
	}
	qsort(l.rows, l.n, sizeof(*l.rows), cmp_rows);
	for (size_t i = 0; i < l.n; i++) /* no entry: no options (the row is zeroed) */
		bpf_map_lookup_elem(s->fd[SM_SUBNET_DHCP], &l.rows[i].k, &l.rows[i].dhcp);
	store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), count_row_nics, &l);
	pr_begin_list();
	for (size_t i = 0; i < l.n; i++) {
		struct subnet_row *r = &l.rows[i];
		pr_begin_obj();
		pr_str("cidr", "%s", prefix_str(r->k.prefix, r->k.len, b1));
		pr_u64("vpc", " vpc %llu", r->k.vni);
		pr_str("gateway", " gateway %s", ip_str(r->sn.gateway, b2));
		pr_str("name", r->sn.name[0] ? " name %s" : NULL, r->sn.name);
		pr_u64("nic_count", " nics %llu", r->nics);
		/* The seed's limit: a /24 holds 253 NICs (network, gateway and broadcast are reserved). */
		pr_u64("usable_count", " usable %llu", subnet_usable(r->k.len));
		pr_u64("free_count", " free %llu", subnet_usable(r->k.len) - (r->nics < subnet_usable(r->k.len) ? r->nics : subnet_usable(r->k.len)));
		dhcp_print(&r->dhcp);
		pr_end_obj();
	}
	pr_end_list();
	free(l.rows);
	return 0;
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "add", NULL }, { "del", NULL }, { "delete", NULL }, { "set", NULL }, { "list", do_show },
	{ 0 },
};

const struct object obj_subnet = {
	.name = "subnet",
	.alias = "vxnet",
	.cmds = cmds,
	/* add, set and del: cli/edit.c's table (help writes them from it: object_usage) */
	.usage = "       subnet show [vpc VNI] [PREFIX]\n"
		 "CIDR := ADDR/LEN with no host bits set, LEN 1..30; the gateway defaults to the first host address\n"
		 "dns, domain and routes: what the datapath's DHCP answers carry besides address, mask, router and\n"
		 "MTU (at most 2 servers, 32 characters, 4 routes through the gateway; none clears one: docs/dhcp.md)",
};
