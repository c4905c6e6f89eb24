/* cli/vpc.c — vpcbpf vpc: a tenant's isolated address space, identified by its VNI. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cli/cli.h"
#include "cli/advertise.h"
#include "maps/fib.h"
#include "maps/txn.h"

struct vpc_usage {
	__u32 vni;
	unsigned int subnets, nics, routes;
};

/* Usage of many VPCs at once, sorted by VNI: one walk of each map, however many VPCs are shown. */
struct usage_set {
	struct vpc_usage *u;
	size_t n;
	struct store *s;
};

static int cmp_usage(const void *a, const void *b)
{
	__u32 x = ((const struct vpc_usage *)a)->vni, y = ((const struct vpc_usage *)b)->vni;
	return x < y ? -1 : x > y;
}

static struct vpc_usage *usage_of(struct usage_set *set, __u32 vni)
{
	struct vpc_usage key = { .vni = vni };
	return bsearch(&key, set->u, set->n, sizeof(key), cmp_usage);
}

static int count_subnet(const void *key, const void *value, void *ctx)
{
	struct vpc_usage *u = usage_of(ctx, ((const struct subnet_key *)key)->vni);
	if (u)
		u->subnets++;
	return 0;
}

static int count_nic(const void *key, const void *value, void *ctx)
{
	struct vpc_usage *u = usage_of(ctx, ((const struct nic_key *)key)->vni);
	if (u)
		u->nics++;
	return 0;
}

/* A VPC's static routes: the list in its fib region, less the connected routes of its subnets. */
static int count_route(const void *key, const void *value, void *ctx)
{
	struct usage_set *set = ctx;
	struct vpc_usage *u = usage_of(set, *(const __u32 *)key);
	struct route *list;
	size_t n;

	if (!u || fib_routes(set->s->fd[SM_FIB], value, &list, &n))
		return 0;
	for (size_t i = 0; i < n; i++)
		u->routes += list[i].kind != ROUTE_CONNECTED;
	free(list);
	return 0;
}

/* Fills set->u[i] for every VNI already in set->u (sorted), from one walk of each map. */
static void usage_fill(struct store *s, struct usage_set *set)
{
	store_foreach(s->fd[SM_SUBNETS], sizeof(struct subnet_key), sizeof(struct subnet), count_subnet, set);
	store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), count_nic, set);
	set->s = s;
	store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), count_route, set);
}

static void vpc_usage(struct store *s, __u32 vni, struct vpc_usage *u)
{
	struct usage_set set = { u, 1 };

	memset(u, 0, sizeof(*u));
	u->vni = vni;
	usage_fill(s, &set);
}

static void show_one(__u32 vni, const struct vpc *v, const struct vpc_usage *u)
{
	pr_begin_obj();
	pr_u64("vni", "vpc %llu", vni);
	pr_str("name", v->name[0] ? " name %s" : NULL, v->name);
	/* the kernel table of its advertised routes; the text names it only when set (vpc add/set ... table N) */
	pr_u64("table", v->advertise_table ? " table %llu" : NULL, advertise_table(vni, v->advertise_table));
	pr_u64("subnet_count", " subnets %llu", u->subnets);
	pr_u64("nic_count", " nics %llu", u->nics);
	pr_u64("route_count", " routes %llu", u->routes);
	pr_end_obj();
}

static int add_vni(const void *key, const void *value, void *ctx)
{
	struct usage_set *set = ctx;

	if (set->n == MAX_VPCS)
		return 1;
	memset(&set->u[set->n], 0, sizeof(set->u[0]));
	set->u[set->n++].vni = *(const __u32 *)key;
	return 0;
}

static int do_show(int argc, char **argv)
{
	static struct vpc_usage usage[MAX_VPCS];
	struct usage_set set = { usage, 0 };
	struct store *s;
	struct vpc v;
	__u32 vni = 0;

	if (argc > 0 && parse_vni(argv[0], &vni))
		return 1;
	if (argc > 1)
		return unknown_word(argv[1]);
	if (!(s = store_get(false)))
		return 1;
	if (vni) {
		if (store_vpc(s, vni, &v))
			return fail("VPC %u does not exist", vni);
		vpc_usage(s, vni, &usage[0]);
		pr_begin_list();
		show_one(vni, &v, &usage[0]);
		pr_end_list();
		return 0;
	}
	store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), add_vni, &set);
	qsort(usage, set.n, sizeof(usage[0]), cmp_usage);
	usage_fill(s, &set);
	pr_begin_list();
	for (size_t i = 0; i < set.n; i++)
		if (store_vpc(s, usage[i].vni, &v) == 0)
			show_one(usage[i].vni, &v, &usage[i]);
	pr_end_list();
	return 0;
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "add", NULL }, { "del", NULL }, { "delete", NULL }, { "set", NULL }, { "list", do_show },
	{ 0 },
};

const struct object obj_vpc = {
	.name = "vpc",
	.cmds = cmds,
	/* add, set and del: cli/edit.c's table (help writes them from it: object_usage) */
	.usage = "       vpc show [VNI]\n"
		 "VNI := 1..16777215 (the VPC's VXLAN network identifier)\n"
		 "table N: the kernel table of its routes marked advertise (default 100000000 + VNI, docs/bgp.md)",
};
