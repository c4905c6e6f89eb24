/* maps/txn_state.c — the in-memory model of a host's state: made, copied, freed, and loaded from the maps (whole or lazily). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "maps/txn_state.h"
#include "maps/fib.h"
#include "maps/sg_table.h"

/* ---- the model ---- */

void txn_state_init(struct txn_state *st)
{
	table_init(&st->vpcs, sizeof(__u32), sizeof(struct txn_vpc));
	table_init(&st->subnets, sizeof(struct subnet_key), sizeof(struct txn_subnet));
	table_init(&st->nics, sizeof(struct nic_key), sizeof(struct txn_nic));
	table_init(&st->routes, sizeof(struct txn_route_key), sizeof(struct txn_route));
	table_init(&st->sgs, sizeof(__u32), sizeof(struct txn_sg));
	table_init(&st->sg_rules, sizeof(struct txn_sg_rule_key), sizeof(struct txn_sg_rule));
	table_init(&st->eips, sizeof(__be32), sizeof(struct txn_eip));
	st->routes_partial = false;
	table_init(&st->route_vpcs, sizeof(__u32), sizeof(__u32));
	table_init(&st->route_points, sizeof(struct txn_route_key), sizeof(struct txn_route_key));
	st->nics_partial = st->sgs_unloaded = false;
	table_init(&st->nic_points, sizeof(struct nic_key), sizeof(struct nic_key));
}

void txn_state_free(struct txn_state *st)
{
	table_free(&st->vpcs);
	table_free(&st->subnets);
	table_free(&st->nics);
	table_free(&st->routes);
	table_free(&st->sgs);
	table_free(&st->sg_rules);
	table_free(&st->eips);
	table_free(&st->route_vpcs);
	table_free(&st->route_points);
	table_free(&st->nic_points);
}

int txn_state_copy(struct txn_state *dst, const struct txn_state *src)
{
	txn_state_init(dst);
	if (table_copy(&dst->vpcs, &src->vpcs) || table_copy(&dst->subnets, &src->subnets) ||
	    table_copy(&dst->nics, &src->nics) || table_copy(&dst->routes, &src->routes) ||
	    table_copy(&dst->sgs, &src->sgs) || table_copy(&dst->sg_rules, &src->sg_rules) ||
	    table_copy(&dst->route_vpcs, &src->route_vpcs) || table_copy(&dst->route_points, &src->route_points) ||
	    table_copy(&dst->nic_points, &src->nic_points) || table_copy(&dst->eips, &src->eips)) {
		txn_state_free(dst);
		return -ENOMEM;
	}
	dst->routes_partial = src->routes_partial;
	dst->nics_partial = src->nics_partial;
	dst->sgs_unloaded = src->sgs_unloaded;
	return 0;
}

struct txn_route_key txn_route_key(__u32 vni, __be32 prefix, __u8 len)
{
	struct txn_route_key k;
	memset(&k, 0, sizeof(k));
	k.vni = vni;
	k.prefix = prefix;
	k.len = len;
	return k;
}

static int load_vpc(const void *key, const void *value, void *ctx)
{
	struct txn_vpc v = { .vni = *(const __u32 *)key, .rec = *(const struct vpc *)value };
	return table_put(ctx, &v) ? 0 : -ENOMEM;
}

static int load_subnet(const void *key, const void *value, void *ctx)
{
	struct txn_subnet sn;
	memset(&sn, 0, sizeof(sn));
	sn.k = *(const struct subnet_key *)key;
	sn.v = *(const struct subnet *)value;
	return table_put(ctx, &sn) ? 0 : -ENOMEM;
}

/* A subnet's DHCP options join its record (an entry of no subnet is ignored). */
static int load_subnet_dhcp(const void *key, const void *value, void *ctx)
{
	struct txn_subnet *sn = table_get(ctx, key);

	if (sn)
		sn->dhcp = *(const struct subnet_dhcp *)value;
	return 0;
}

static int load_subnets(struct store *s, struct txn_state *st)
{
	int err = store_foreach(s->fd[SM_SUBNETS], sizeof(struct subnet_key), sizeof(struct subnet), load_subnet,
				&st->subnets);

	return err ? err : store_foreach(s->fd[SM_SUBNET_DHCP], sizeof(struct subnet_key), sizeof(struct subnet_dhcp),
					 load_subnet_dhcp, &st->subnets);
}

static int load_nic(const void *key, const void *value, void *ctx)
{
	struct txn_nic n;
	memset(&n, 0, sizeof(n));
	n.k = *(const struct nic_key *)key;
	n.v = *(const struct nic *)value;
	if ((n.v.flags & NIC_F_LOCAL) && !if_indextoname(n.v.ifindex, n.dev))
		n.dev[0] = '\0';
	return table_put(ctx, &n) ? 0 : -ENOMEM;
}

/* The routes as dumped, inserted once their number is known (no rehash of a growing table). */
struct route_load {
	struct txn_route *r;
	size_t n, cap;
};

/* One configured route of VPC vni (connected routes follow from the subnets). */
static int load_route(struct route_load *rl, __u32 vni, const struct route *route)
{
	struct txn_route r;

	if (route->kind == ROUTE_CONNECTED)
		return 0;
	memset(&r, 0, sizeof(r));
	r.r = *route;
	r.r._pad = 0;
	r.k = txn_route_key(vni, route->prefix, route->len);
	if (rl->n == rl->cap) {
		size_t cap = rl->cap ? rl->cap * 2 : 1024;
		struct txn_route *nr = realloc(rl->r, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		rl->r = nr;
		rl->cap = cap;
	}
	rl->r[rl->n++] = r;
	return 0;
}

struct sg_load {
	struct store *s;
	struct txn_state *st;
};

static int load_sg(const void *key, const void *value, void *ctx)
{
	struct sg_load *l = ctx;
	struct sg_maps m = sg_maps_of(l->s);
	struct txn_sg g;
	struct sg_rule_entry *rules;
	size_t n;
	int err;

	memset(&g, 0, sizeof(g));
	g.id = *(const __u32 *)key;
	memcpy(g.name, ((const struct sg *)value)->name, NAME_LEN);
	g.name[NAME_LEN - 1] = '\0';
	if (!table_put(&l->st->sgs, &g))
		return -ENOMEM;
	err = sg_table_rules(&m, g.id, &rules, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		struct txn_sg_rule r = { .k = { .sg_id = g.id, .priority = rules[i].priority }, .r = rules[i].r };
		if (!table_put(&l->st->sg_rules, &r))
			err = -ENOMEM;
	}
	free(rules);
	return err;
}

/*
 * The live routes of every VPC: the list in its fib region, the one place
 * they live (a copy out of the mmapped arena). A region that is not sane
 * fails the load (-EUCLEAN) rather than passing for an empty table.
 */
static int load_routes(struct store *s, struct txn_state *st, struct route_load *rl)
{
	int err = 0;

	for (const struct txn_vpc *v = NULL; !err && (v = table_next(&st->vpcs, v));) {
		struct route *list;
		size_t n;
		if ((err = fib_routes(s->fd[SM_FIB], &v->rec, &list, &n)))
			break;
		for (size_t i = 0; i < n && !err; i++)
			err = load_route(rl, v->vni, &list[i]);
		free(list);
	}
	return err;
}

static int load_eip(const void *key, const void *value, void *ctx)
{
	struct txn_eip e = { .eip = *(const __be32 *)key, .nic = *(const struct nic_key *)value };

	return table_put(ctx, &e) ? 0 : -ENOMEM;
}

int txn_state_load(struct store *s, struct txn_state *st)
{
	struct sg_load sl = { s, st };
	struct route_load rl = { 0 };
	int err;

	txn_state_init(st);
	err = store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), load_vpc, &st->vpcs);
	if (!err)
		err = load_subnets(s, st);
	if (!err)
		err = store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), load_nic, &st->nics);
	if (!err)
		err = load_routes(s, st, &rl);
	if (!err)
		err = table_reserve(&st->routes, rl.n);
	for (size_t i = 0; i < rl.n && !err; i++) {
		if (i + 8 < rl.n) /* a million random slots: fetch ahead, the loop knows its next keys */
			table_prefetch(&st->routes, &rl.r[i + 8]);
		if (!table_put(&st->routes, &rl.r[i]))
			err = -ENOMEM;
	}
	free(rl.r);
	if (!err)
		err = store_foreach(s->fd[SM_SGS], sizeof(__u32), sizeof(struct sg), load_sg, &sl);
	if (!err) /* few, and read by the rules of NIC and EIP edits alike */
		err = store_foreach(s->fd[SM_EIPS], sizeof(__be32), sizeof(struct nic_key), load_eip, &st->eips);
	if (err)
		txn_state_free(st);
	return err;
}

int txn_state_load_small(struct store *s, struct txn_state *st, unsigned int what)
{
	struct sg_load sl = { s, st };
	int err;

	txn_state_init(st);
	st->routes_partial = true;
	st->nics_partial = !(what & TXN_LOAD_NICS);
	st->sgs_unloaded = !(what & TXN_LOAD_SGS);
	err = store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), load_vpc, &st->vpcs);
	if (!err)
		err = load_subnets(s, st);
	if (!err && (what & TXN_LOAD_NICS))
		err = store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), load_nic, &st->nics);
	if (!err && (what & TXN_LOAD_SGS))
		err = store_foreach(s->fd[SM_SGS], sizeof(__u32), sizeof(struct sg), load_sg, &sl);
	if (!err) /* few, and read by the rules of NIC and EIP edits alike */
		err = store_foreach(s->fd[SM_EIPS], sizeof(__be32), sizeof(struct nic_key), load_eip, &st->eips);
	if (err)
		txn_state_free(st);
	return err;
}

int txn_state_load_nic(struct store *s, struct txn_state *st, struct nic_key k)
{
	struct nic v;

	if (!st->nics_partial || table_get(&st->nic_points, &k))
		return 0;
	if (!table_put(&st->nic_points, &k))
		return -ENOMEM;
	if (bpf_map_lookup_elem(s->fd[SM_NICS], &k, &v))
		return errno == ENOENT ? 0 : -errno;
	return load_nic(&k, &v, &st->nics);
}

bool txn_nics_known(const struct txn_state *st, const struct nic_key *k)
{
	return !st->nics_partial || (k && table_get(&st->nic_points, k));
}

int txn_state_load_route(struct store *s, struct txn_state *st, __u32 vni, __be32 prefix, __u8 len)
{
	struct txn_route_key k = txn_route_key(vni, prefix, len);
	const struct txn_vpc *v = table_get(&st->vpcs, &vni);
	struct txn_route r;

	if (!st->routes_partial || table_get(&st->route_points, &k) || table_get(&st->route_vpcs, &vni))
		return 0;
	if (!table_put(&st->route_points, &k))
		return -ENOMEM;
	if (!v)
		return 0;
	memset(&r, 0, sizeof(r));
	int err = fib_route_get(s->fd[SM_FIB], &v->rec, prefix, len, &r.r);
	if (err)
		return err == -ENOENT ? 0 : err;
	if (r.r.kind == ROUTE_CONNECTED) /* follows from the subnet */
		return 0;
	r.r._pad = 0;
	r.k = k;
	return table_put(&st->routes, &r) ? 0 : -ENOMEM;
}

int txn_state_load_vpc_routes(struct store *s, struct txn_state *st, __u32 vni)
{
	const struct txn_vpc *v = table_get(&st->vpcs, &vni);
	struct route *list = NULL;
	size_t n = 0;
	int err = 0;

	if (!st->routes_partial || table_get(&st->route_vpcs, &vni))
		return 0;
	if (v && (err = fib_routes(s->fd[SM_FIB], &v->rec, &list, &n)))
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		struct txn_route r;
		if (list[i].kind == ROUTE_CONNECTED)
			continue;
		memset(&r, 0, sizeof(r));
		r.k = txn_route_key(vni, list[i].prefix, list[i].len);
		r.r = list[i];
		r.r._pad = 0;
		if (!table_put(&st->routes, &r))
			err = -ENOMEM;
	}
	free(list);
	if (!err && !table_put(&st->route_vpcs, &vni))
		err = -ENOMEM;
	return err;
}

bool txn_routes_known(const struct txn_state *st, __u32 vni, const __be32 *prefix, __u8 len)
{
	if (!st->routes_partial || table_get(&st->route_vpcs, &vni))
		return true;
	if (!prefix)
		return false;
	struct txn_route_key k = txn_route_key(vni, *prefix, len);
	return table_get(&st->route_points, &k) != NULL;
}

