/* cli/subnet.c — vpcbpf subnet (alias vxnet): a CIDR of a VPC, its gateway, and its connected route. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "cli/cli.h"
#include "maps/txn.h"

struct subnet_scan {
	struct subnet_key key;   /* the subnet being added or deleted */
	struct subnet_key clash; /* an overlapping subnet, if any */
	bool overlaps;
	unsigned int nics;
};

static bool overlap(__be32 a, __u8 alen, __be32 b, __u8 blen)
{
	__u8 len = alen < blen ? alen : blen;
	return (a & prefix_mask(len)) == (b & prefix_mask(len));
}

static int find_overlap(const void *key, const void *value, void *ctx)
{
	const struct subnet_key *k = key;
	struct subnet_scan *sc = ctx;
	if (k->vni == sc->key.vni && overlap(k->prefix, k->len, sc->key.prefix, sc->key.len)) {
		sc->clash = *k;
		sc->overlaps = true;
		return 1;
	}
	return 0;
}

static int count_nics(const void *key, const void *value, void *ctx)
{
	const struct nic_key *k = key;
	const struct nic *n = value;
	struct subnet_scan *sc = ctx;
	sc->nics += k->vni == sc->key.vni && n->subnet == sc->key.prefix && n->subnet_len == sc->key.len;
	return 0;
}

/* Parses "CIDR vpc VNI" into a subnet key; the rest of the words are left for the caller. */
static int parse_subnet_id(int *argc, char ***argv, const char *cmd, struct subnet_key *k, bool *have_vpc)
{
	memset(k, 0, sizeof(*k));
	if (*argc < 1)
		return fail("subnet %s: missing CIDR", cmd);
	if (parse_prefix((*argv)[0], &k->prefix, &k->len))
		return 1;
	*have_vpc = false;
	return 0;
}

static int do_add(int argc, char **argv)
{
	struct subnet_key k;
	struct subnet sn;
	struct subnet_scan sc;
	struct route conn;
	struct store *s;
	struct vpc v;
	bool have_vpc, have_gw = false;
	char b1[20], b2[20];
	int err;

	memset(&sn, 0, sizeof(sn));
	if (parse_subnet_id(&argc, &argv, "add", &k, &have_vpc))
		return 1;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &k.vni))
				return 1;
			have_vpc = true;
		} else if (matches(*argv, "gateway")) {
			if (!(val = next_value(&argc, &argv, "gateway")) || parse_ip(val, &sn.gateway))
				return 1;
			have_gw = true;
		} else if (matches(*argv, "name")) {
			if (!(val = next_value(&argc, &argv, "name")) || parse_name(val, "subnet name", sn.name))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!have_vpc)
		return fail("subnet add: missing \"vpc VNI\"");
	if (k.len < 1 || k.len > 30)
		return fail("subnet %s: prefix length must be 1..30 (room for a gateway and NICs)",
			    prefix_str(k.prefix, k.len, b1));
	__u32 host_lo = ntohl(k.prefix) + 1, host_hi = ntohl(k.prefix | ~prefix_mask(k.len)) - 1;
	if (!have_gw)
		sn.gateway = htonl(host_lo);
	else if ((sn.gateway & prefix_mask(k.len)) != k.prefix || ntohl(sn.gateway) < host_lo ||
		 ntohl(sn.gateway) > host_hi)
		return fail("gateway %s is not a host address of %s", ip_str(sn.gateway, b2),
			    prefix_str(k.prefix, k.len, b1));
	if (!(s = store_get(true)))
		return 1;
	if (store_vpc(s, k.vni, &v))
		return fail("VPC %u does not exist", k.vni);
	memset(&sc, 0, sizeof(sc));
	sc.key = k;
	store_foreach(s->fd[SM_SUBNETS], sizeof(k), sizeof(sn), find_overlap, &sc);
	if (sc.overlaps)
		return fail("subnet %s overlaps subnet %s of VPC %u", prefix_str(k.prefix, k.len, b1),
			    prefix_str(sc.clash.prefix, sc.clash.len, b2), k.vni);
	if (route_table_get(&s->rm, k.vni, k.prefix, k.len, &conn) == 0)
		return fail("VPC %u already has a route for %s: delete it first", k.vni, prefix_str(k.prefix, k.len, b1));
	/* The subnet record first, then the connected route that makes it reachable: one journaled transaction. */
	memset(&conn, 0, sizeof(conn));
	conn.kind = ROUTE_CONNECTED;
	conn.len = k.len;
	conn.prefix = k.prefix;
	struct txn_plan p;
	txn_plan_init(&p);
	err = txn_plan_put(&p, SM_SUBNETS, &k, sizeof(k), &sn, sizeof(sn));
	if (!err)
		err = txn_plan_route_insert(s, &p, k.vni, &conn);
	if (!err)
		err = txn_run(s, &p, NULL);
	txn_plan_free(&p);
	if (err)
		return fail_errno(err, "cannot add subnet %s", prefix_str(k.prefix, k.len, b1));
	return 0;
}

static int do_del(int argc, char **argv)
{
	struct subnet_key k;
	struct subnet sn;
	struct subnet_scan sc;
	struct store *s;
	bool have_vpc;
	char b1[20];
	int err;

	if (parse_subnet_id(&argc, &argv, "del", &k, &have_vpc))
		return 1;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &k.vni))
				return 1;
			have_vpc = true;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!have_vpc)
		return fail("subnet del: missing \"vpc VNI\"");
	if (!(s = store_get(true)))
		return 1;
	if (bpf_map_lookup_elem(s->fd[SM_SUBNETS], &k, &sn))
		return fail("subnet %s does not exist in VPC %u", prefix_str(k.prefix, k.len, b1), k.vni);
	memset(&sc, 0, sizeof(sc));
	sc.key = k;
	store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), count_nics, &sc);
	if (sc.nics)
		return fail("subnet %s of VPC %u still has %u NIC(s): delete them first", prefix_str(k.prefix, k.len, b1),
			    k.vni, sc.nics);
	/* The route leads to the subnet: it goes first (one journaled transaction). */
	struct txn_plan p;
	txn_plan_init(&p);
	err = txn_plan_route_remove(s, &p, k.vni, k.prefix, k.len);
	if (err == -ENOENT)
		err = 0;
	if (!err)
		err = txn_plan_del(&p, SM_SUBNETS, &k, sizeof(k));
	if (!err)
		err = txn_run(s, &p, NULL);
	txn_plan_free(&p);
	if (err)
		return fail_errno(err, "cannot delete subnet %s", prefix_str(k.prefix, k.len, b1));
	return 0;
}

struct subnet_row {
	struct subnet_key k;
	struct subnet sn;
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
	if (x->prefix != y->prefix)
		return ntohl(x->prefix) < ntohl(y->prefix) ? -1 : 1;
	return (int)x->len - (int)y->len;
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

	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &l.vni))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!(s = store_get(false)))
		return 1;
	if (store_foreach(s->fd[SM_SUBNETS], sizeof(struct subnet_key), sizeof(struct subnet), collect, &l))
		return fail("out of memory");
	qsort(l.rows, l.n, sizeof(*l.rows), cmp_rows);
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
		pr_end_obj();
	}
	pr_end_list();
	free(l.rows);
	return 0;
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "add", do_add }, { "del", do_del }, { "delete", do_del }, { "list", do_show }, { 0 },
};

const struct object obj_subnet = {
	.name = "subnet",
	.alias = "vxnet",
	.cmds = cmds,
	.usage = "subnet { add CIDR vpc VNI [gateway IP] [name NAME] | del CIDR vpc VNI | show [vpc VNI] }\n"
		 "CIDR := ADDR/LEN with no host bits set, LEN 1..30; the gateway defaults to the first host address",
};
