/* maps/txn.c — loads the host state, plans a transaction, builds route tables aside, commits through the journal. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/txn.h"
#include "maps/route_table.h"
#include "maps/fib.h"
#include "maps/sg_table.h"

#define BATCH_CHUNK 8192

bool txn_timing;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct route_key rkey(__u32 vni, __u16 gen, __u8 type, __u8 len, __be32 addr);

/* Time spent in exec_ops by kind of step, for txn_timing. */
static double t_swap, t_barrier, t_purge, t_sync, t_other;

/* ---- the model ---- */

void txn_state_init(struct txn_state *st)
{
	table_init(&st->vpcs, sizeof(__u32), sizeof(struct txn_vpc));
	table_init(&st->subnets, sizeof(struct subnet_key), sizeof(struct txn_subnet));
	table_init(&st->nics, sizeof(struct nic_key), sizeof(struct txn_nic));
	table_init(&st->routes, sizeof(struct txn_route_key), sizeof(struct txn_route));
	table_init(&st->sgs, sizeof(__u32), sizeof(struct txn_sg));
	table_init(&st->sg_rules, sizeof(struct txn_sg_rule_key), sizeof(struct txn_sg_rule));
	table_init(&st->live_keys, sizeof(__u32), sizeof(struct txn_keys));
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
	for (struct txn_keys *k = NULL; (k = table_next(&st->live_keys, k));)
		free(k->k);
	table_free(&st->live_keys);
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
	    table_copy(&dst->nic_points, &src->nic_points)) {
		txn_state_free(dst);
		return -ENOMEM;
	}
	dst->routes_partial = src->routes_partial;
	dst->nics_partial = src->nics_partial;
	dst->sgs_unloaded = src->sgs_unloaded;
	return 0; /* live_keys stays empty: it describes the maps as loaded, not a copy */
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

typedef int (*dump_fn)(const void *key, const void *value, void *ctx);

/* Every entry of a hash map, in chunks (BPF_MAP_LOOKUP_BATCH), falling back to one key at a time. */
static int dump_map(int fd, size_t ksz, size_t vsz, dump_fn fn, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 chunk = BATCH_CHUNK, count;
	__u64 in_batch = 0, out_batch = 0;
	unsigned char *keys = malloc(chunk * ksz), *vals = malloc(chunk * vsz);
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		count = chunk;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &count, &opts);
		int e = r ? -errno : 0;
		if (r && e != -ENOENT) {
			if (first && (e == -EINVAL || e == -ENOTSUP || e == -EOPNOTSUPP)) {
				err = store_foreach(fd, ksz, vsz, fn, ctx);
				goto out;
			}
			err = e;
			goto out;
		}
		for (__u32 i = 0; i < count; i++) {
			err = fn(keys + i * ksz, vals + i * vsz, ctx);
			if (err)
				goto out;
		}
		if (e == -ENOENT)
			break;
		in_batch = out_batch;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
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
	struct txn_state *st;
	struct txn_route *r;
	size_t n, cap;
};

static int load_route(const void *key, const void *value, void *ctx)
{
	const struct route_key *k = key;
	struct route_load *rl = ctx;
	struct txn_state *st = rl->st;
	const struct txn_vpc *v;
	struct txn_route r;
	struct txn_keys *lk;

	v = table_get(&st->vpcs, &k->vni);
	if (!v || v->rec.route_gen != k->gen) /* a build aside or garbage: not the VPC's table */
		return 0;
	if (!(lk = table_get(&st->live_keys, &k->vni))) {
		struct txn_keys nk = { .vni = k->vni };
		if (!(lk = table_put(&st->live_keys, &nk)))
			return -ENOMEM;
	}
	if (lk->n == lk->cap) {
		size_t cap = lk->cap ? lk->cap * 2 : 64;
		struct route_key *nk = realloc(lk->k, cap * sizeof(*nk));
		if (!nk)
			return -ENOMEM;
		lk->k = nk;
		lk->cap = cap;
	}
	lk->k[lk->n++] = *k;
	if (k->type != ROUTE_KEY_CONFIG)
		return 0;
	memset(&r, 0, sizeof(r));
	r.r = *(const struct route *)value;
	if (r.r.kind == ROUTE_CONNECTED) /* follows from the subnet */
		return 0;
	r.r._pad = 0;
	r.k = txn_route_key(k->vni, k->addr, k->len);
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

static struct sg_maps sg_maps_of(struct store *s)
{
	return (struct sg_maps){ s->fd[SM_SGS], s->fd[SM_SG_RULES], s->fd[SM_SG_PORTS], s->fd[SM_SG_ADDRS] };
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
 * The live routes of every VPC, from the routes list of its fib region (the
 * same routes as its live generation of config entries: both are written from
 * one list, and one record update publishes both). Reading them is a copy out
 * of the mmapped arena, where dumping the routes hash walks all its 4M buckets
 * (half a second and more at a million routes). A region that is not sane:
 * -EUCLEAN, and the caller dumps the hash instead.
 */
static int load_routes_from_fib(struct store *s, struct txn_state *st, struct route_load *rl)
{
	int err = 0;

	for (const struct txn_vpc *v = NULL; !err && (v = table_next(&st->vpcs, v));) {
		struct route *list;
		size_t n;
		if ((err = fib_routes(s->fd[SM_FIB], &v->rec, &list, &n)))
			break;
		for (size_t i = 0; i < n && !err; i++) {
			struct route_key k;
			memset(&k, 0, sizeof(k));
			k.vni = v->vni;
			k.gen = v->rec.route_gen;
			k.type = ROUTE_KEY_CONFIG;
			k.len = list[i].len;
			k.addr = list[i].prefix;
			err = load_route(&k, &list[i], rl);
		}
		free(list);
	}
	return err;
}

static void route_load_reset(struct txn_state *st, struct route_load *rl)
{
	for (struct txn_keys *k = NULL; (k = table_next(&st->live_keys, k));)
		free(k->k);
	table_free(&st->live_keys);
	free(rl->r);
	rl->r = NULL;
	rl->n = rl->cap = 0;
}

int txn_state_load_ex(struct store *s, struct txn_state *st, bool routes_from_fib)
{
	struct sg_load sl = { s, st };
	struct route_load rl = { .st = st };
	bool dump = !routes_from_fib;
	int err;

	txn_state_init(st);
	err = dump_map(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), load_vpc, &st->vpcs);
	if (!err)
		err = dump_map(s->fd[SM_SUBNETS], sizeof(struct subnet_key), sizeof(struct subnet), load_subnet,
			       &st->subnets);
	if (!err)
		err = dump_map(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), load_nic, &st->nics);
	if (!err && routes_from_fib && load_routes_from_fib(s, st, &rl)) {
		route_load_reset(st, &rl); /* a region we cannot read: the hash has every route too */
		dump = true;
	}
	if (!err && dump)
		err = dump_map(s->fd[SM_ROUTES], sizeof(struct route_key), sizeof(struct route), load_route, &rl);
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
	if (err)
		txn_state_free(st);
	return err;
}

int txn_state_load(struct store *s, struct txn_state *st)
{
	return txn_state_load_ex(s, st, false);
}

int txn_state_load_small(struct store *s, struct txn_state *st, unsigned int what)
{
	struct sg_load sl = { s, st };
	int err;

	txn_state_init(st);
	st->routes_partial = true;
	st->nics_partial = !(what & TXN_LOAD_NICS);
	st->sgs_unloaded = !(what & TXN_LOAD_SGS);
	err = dump_map(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), load_vpc, &st->vpcs);
	if (!err)
		err = dump_map(s->fd[SM_SUBNETS], sizeof(struct subnet_key), sizeof(struct subnet), load_subnet,
			       &st->subnets);
	if (!err && (what & TXN_LOAD_NICS))
		err = dump_map(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), load_nic, &st->nics);
	if (!err && (what & TXN_LOAD_SGS))
		err = store_foreach(s->fd[SM_SGS], sizeof(__u32), sizeof(struct sg), load_sg, &sl);
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
	struct route_key ck = rkey(vni, v->rec.route_gen, ROUTE_KEY_CONFIG, len, prefix);
	memset(&r, 0, sizeof(r));
	if (bpf_map_lookup_elem(s->fd[SM_ROUTES], &ck, &r.r))
		return errno == ENOENT ? 0 : -errno;
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

/* ---- a VPC's route table, computed in memory ---- */

/* A VPC's configured routes (static and connected), sorted by prefix then length. */
struct vgroup {
	__u32 vni;
	__u32 _pad;
	struct route *r;
	size_t n, cap;
};

static int group_add(struct table *groups, __u32 vni, const struct route *r)
{
	struct vgroup *g = table_get(groups, &vni);
	if (!g) {
		struct vgroup ng = { .vni = vni };
		g = table_put(groups, &ng);
		if (!g)
			return -ENOMEM;
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct route *nr = realloc(g->r, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		g->r = nr;
		g->cap = cap;
	}
	g->r[g->n++] = *r;
	return 0;
}

static int cmp_route(const void *a, const void *b)
{
	const struct route *x = a, *y = b;
	if (x->prefix != y->prefix)
		return ntohl(x->prefix) < ntohl(y->prefix) ? -1 : 1;
	return (int)x->len - (int)y->len;
}

/*
 * Sorts routes by cmp_route's order with an LSD radix sort on (prefix, len)
 * (four passes of 10 bits over 40 bits, index in the low 24 bits): a table of
 * a million routes sorts in a few tens of milliseconds where qsort took
 * hundreds. Larger groups, or no memory for the scratch arrays: qsort.
 */
static void sort_routes(struct route *r, size_t n)
{
	uint64_t *a, *b;
	struct route *tmp;
	size_t count[1024];

	if (n < 256 || n >= (1U << 24) || !(a = malloc(n * sizeof(*a)))) {
		qsort(r, n, sizeof(*r), cmp_route);
		return;
	}
	b = malloc(n * sizeof(*b));
	tmp = malloc(n * sizeof(*tmp));
	if (!b || !tmp) {
		free(a);
		free(b);
		free(tmp);
		qsort(r, n, sizeof(*r), cmp_route);
		return;
	}
	for (size_t i = 0; i < n; i++)
		a[i] = ((uint64_t)ntohl(r[i].prefix) << 32) | ((uint64_t)r[i].len << 24) | i;
	for (unsigned int shift = 24; shift < 64; shift += 10) {
		uint64_t *t;
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(a[i] >> shift) & 1023]++;
		for (size_t d = 0, sum = 0; d < 1024; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[count[(a[i] >> shift) & 1023]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++)
		tmp[i] = r[a[i] & 0xffffff];
	memcpy(r, tmp, n * sizeof(*r));
	free(a);
	free(b);
	free(tmp);
}

static void groups_free(struct table *groups)
{
	for (struct vgroup *g = NULL; (g = table_next(groups, g));)
		free(g->r);
	table_free(groups);
}

/* Groups the routes of a state by VPC, connected routes of its subnets included. */
static int group_routes(const struct txn_state *st, struct table *groups)
{
	table_init(groups, sizeof(__u32), sizeof(struct vgroup));
	for (const struct txn_route *r = NULL; (r = table_next(&st->routes, r));)
		if (group_add(groups, r->k.vni, &r->r))
			goto nomem;
	for (const struct txn_subnet *sn = NULL; (sn = table_next(&st->subnets, sn));) {
		struct route c;
		memset(&c, 0, sizeof(c));
		c.kind = ROUTE_CONNECTED;
		c.len = sn->k.len;
		c.prefix = sn->k.prefix;
		if (group_add(groups, sn->k.vni, &c))
			goto nomem;
	}
	for (struct vgroup *g = NULL; (g = table_next(groups, g));)
		sort_routes(g->r, g->n);
	return 0;
nomem:
	groups_free(groups);
	return -ENOMEM;
}

static bool same_route(const struct route *a, const struct route *b)
{
	return a->kind == b->kind && a->len == b->len && a->flags == b->flags && a->prefix == b->prefix &&
	       a->via == b->via && a->peer_vni == b->peer_vni;
}

static bool same_routes(const struct vgroup *a, const struct vgroup *b)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_route(&a->r[i], &b->r[i]))
			return false;
	return true;
}

/* The config entries of one generation of a VPC's table. */
struct gen_entries {
	__u32 vni;
	__u16 gen;
	struct route_key *keys;
	struct route *vals;
	size_t n;
};

static struct route_key rkey(__u32 vni, __u16 gen, __u8 type, __u8 len, __be32 addr)
{
	struct route_key k;
	memset(&k, 0, sizeof(k));
	k.vni = vni;
	k.gen = gen;
	k.type = type;
	k.len = len;
	k.addr = addr;
	return k;
}

static void entries_free(struct gen_entries *e)
{
	free(e->keys);
	free(e->vals);
	memset(e, 0, sizeof(*e));
}

/*
 * Generation gen of vni's table, built aside: the config entries to write
 * (out) and the fib region, already written to lines no record points at,
 * with v's fib fields pointing at it.
 */
static int expand(struct store *s, const struct vgroup *g, __u32 vni, __u16 gen, struct gen_entries *out, struct vpc *v)
{
	size_t n = g ? g->n : 0;
	int err;

	memset(out, 0, sizeof(*out));
	out->vni = vni;
	out->gen = gen;
	out->keys = malloc((n + 1) * sizeof(*out->keys));
	out->vals = malloc((n + 1) * sizeof(*out->vals));
	if (!out->keys || !out->vals) {
		entries_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		out->keys[i] = rkey(vni, gen, ROUTE_KEY_CONFIG, g->r[i].len, g->r[i].prefix);
		out->vals[i] = g->r[i];
		out->vals[i]._pad = 0;
	}
	out->n = n;
	err = fib_install(s->fd[SM_FIB], s->fd[SM_VPCS], out->vals, n, v);
	if (err)
		entries_free(out);
	return err;
}

/* The keys of vni's live table as loaded (taken over by a purge hint). */
static int live_entries(const struct txn_state *cur, __u32 vni, __u16 gen, struct gen_entries *out)
{
	struct txn_keys *lk = table_get(&cur->live_keys, &vni);

	memset(out, 0, sizeof(*out));
	out->vni = vni;
	out->gen = gen;
	if (!lk || !lk->n)
		return 0;
	out->keys = malloc(lk->n * sizeof(*out->keys));
	if (!out->keys)
		return -ENOMEM;
	memcpy(out->keys, lk->k, lk->n * sizeof(*out->keys));
	out->n = lk->n;
	return 0;
}

/* ---- plans ---- */

struct txn_purge_hint {
	size_t op; /* index of the PURGE or ROUTE_SYNC op */
	struct gen_entries e;   /* PURGE: the keys to delete; ROUTE_SYNC: the entries to write */
	struct gen_entries del; /* ROUTE_SYNC: the keys to delete */
};

void txn_plan_init(struct txn_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void txn_plan_free(struct txn_plan *p)
{
	for (size_t i = 0; i < p->nhints; i++) {
		entries_free(&p->hints[i].e);
		entries_free(&p->hints[i].del);
	}
	free(p->hints);
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

int txn_plan_op(struct txn_plan *p, const struct txn_op *op)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct txn_op *n = realloc(p->ops, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->ops = n;
		p->cap = cap;
	}
	p->ops[p->n++] = *op;
	return 0;
}

static struct txn_op mkop(enum txn_op_kind kind)
{
	struct txn_op op;
	memset(&op, 0, sizeof(op));
	op.kind = (__u8)kind;
	return op;
}

int txn_plan_put(struct txn_plan *p, enum store_map m, const void *key, size_t ksz, const void *val, size_t vsz)
{
	struct txn_op op = mkop(TXN_OP_PUT);
	if (ksz > sizeof(op.key) || vsz > sizeof(op.value))
		return -E2BIG;
	op.map = (__u8)m;
	op.key_size = (__u8)ksz;
	op.value_size = (__u8)vsz;
	memcpy(op.key, key, ksz);
	memcpy(op.value, val, vsz);
	return txn_plan_op(p, &op);
}

int txn_plan_del(struct txn_plan *p, enum store_map m, const void *key, size_t ksz)
{
	struct txn_op op = mkop(TXN_OP_DEL);
	if (ksz > sizeof(op.key))
		return -E2BIG;
	op.map = (__u8)m;
	op.key_size = (__u8)ksz;
	memcpy(op.key, key, ksz);
	return txn_plan_op(p, &op);
}

/* After the record that pointed at it is gone: its fib region waits for a grace period (maps/fib.c). */
static int plan_fib_release(struct txn_plan *p, const struct vpc *v)
{
	struct txn_op op = mkop(TXN_OP_FIB_RELEASE);
	__u32 region[2] = { v->fib_base, v->fib_lines };

	if (!v->fib_base)
		return 0;
	memcpy(op.key, region, sizeof(region));
	op.key_size = sizeof(region);
	return txn_plan_op(p, &op);
}

static int plan_ifindex_op(struct txn_plan *p, enum txn_op_kind kind, __u32 ifindex)
{
	struct txn_op op = mkop(kind);
	op.ifindex = ifindex;
	return txn_plan_op(p, &op);
}

static int plan_purge(struct txn_plan *p, enum txn_op_kind kind, __u32 vni, __u16 gen, struct gen_entries *hint)
{
	struct txn_op op = mkop(kind);
	op.vni = vni;
	op.gen = gen;
	if (txn_plan_op(p, &op))
		return -ENOMEM;
	if (p->nhints == p->hcap) {
		size_t cap = p->hcap ? p->hcap * 2 : 16;
		struct txn_purge_hint *n = realloc(p->hints, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->hints = n;
		p->hcap = cap;
	}
	p->hints[p->nhints].op = p->n - 1;
	p->hints[p->nhints].e = *hint;
	memset(&p->hints[p->nhints].del, 0, sizeof(p->hints[p->nhints].del));
	p->nhints++;
	memset(hint, 0, sizeof(*hint));
	return 0;
}

/* A new route generation to write before the commit, and the vpc record that will point at it. */
struct build {
	struct gen_entries e;
	struct vpc rec;
	bool is_new;    /* the VPC itself is new */
	bool swap;      /* the record changes (table or name) */
	bool in_place;  /* an existing VPC's table: its config entries change in place after the commit */
	struct gen_entries put, del; /* in_place: what differs */
};

struct commit_plan {
	struct build *builds;
	size_t nbuilds;
	size_t build_entries;
	struct txn_plan p;
};

static void commit_plan_free(struct commit_plan *cp)
{
	for (size_t i = 0; i < cp->nbuilds; i++) {
		entries_free(&cp->builds[i].e);
		entries_free(&cp->builds[i].put);
		entries_free(&cp->builds[i].del);
	}
	free(cp->builds);
	txn_plan_free(&cp->p);
}

/* A local NIC's binding (ifindex -> NIC, program attached) goes once no wanted NIC uses the device. */
static int plan_unbind(struct txn_plan *p, const struct txn_state *want, const struct table *bound, __u32 ifindex)
{
	if (table_get(bound, &ifindex))
		return 0;
	if (plan_ifindex_op(p, TXN_OP_DETACH, ifindex))
		return -ENOMEM;
	return txn_plan_del(p, SM_IFINDEX_NICS, &ifindex, sizeof(ifindex));
}

static int cmp_sg_rule(const void *a, const void *b)
{
	const struct txn_sg_rule *x = *(const struct txn_sg_rule *const *)a, *y = *(const struct txn_sg_rule *const *)b;
	if (x->k.sg_id != y->k.sg_id)
		return x->k.sg_id < y->k.sg_id ? -1 : 1;
	return x->k.priority < y->k.priority ? -1 : x->k.priority > y->k.priority;
}

/* The rules of group id in st, by priority, as one array (caller frees). */
static struct txn_sg_rule **sg_rules_of(const struct txn_state *st, __u32 id, size_t *n)
{
	size_t all, k = 0;
	struct txn_sg_rule **v = (struct txn_sg_rule **)table_sorted(&st->sg_rules, cmp_sg_rule, &all);
	if (!v)
		return NULL;
	for (size_t i = 0; i < all; i++)
		if (v[i]->k.sg_id == id)
			v[k++] = v[i];
	*n = k;
	return v;
}

static bool same_sg_rules(const struct txn_state *a, const struct txn_state *b, __u32 id)
{
	size_t na = 0, nb = 0;
	struct txn_sg_rule **ra = sg_rules_of(a, id, &na), **rb = sg_rules_of(b, id, &nb);
	bool same = ra && rb && na == nb;
	for (size_t i = 0; same && i < na; i++)
		same = ra[i]->k.priority == rb[i]->k.priority && !memcmp(&ra[i]->r, &rb[i]->r, sizeof(struct sg_rule));
	free(ra);
	free(rb);
	return same;
}

static bool sg_has_rules(const struct txn_state *st, __u32 id)
{
	for (const struct txn_sg_rule *r = NULL; (r = table_next(&st->sg_rules, r));)
		if (r->k.sg_id == id)
			return true;
	return false;
}

/* A group's whole rule set, swapped in by one commit step (maps/sg_table.c builds it aside). */
static int plan_sg_rules(struct txn_plan *p, const struct txn_state *want, __u32 id)
{
	size_t n = 0;
	struct txn_sg_rule **r = sg_rules_of(want, id, &n);
	struct txn_op op;
	int err = r ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !err; i++) {
		op = mkop(TXN_OP_SG_RULE);
		op.vni = id;
		op.ifindex = r[i]->k.priority;
		memcpy(op.value, &r[i]->r, sizeof(struct sg_rule));
		op.value_size = sizeof(struct sg_rule);
		err = txn_plan_op(p, &op);
	}
	free(r);
	if (!err) {
		op = mkop(TXN_OP_SG_COMMIT);
		op.vni = id;
		err = txn_plan_op(p, &op);
	}
	return err;
}

/*
 * What turns table a into table b (both sorted by cmp_route's order) as
 * config entries of (vni, gen): the routes new or changed in b (put), and the
 * routes of a that b lacks (del). Only these are written: replacing a route
 * costs one update, an unchanged one nothing.
 */
static int route_diff(const struct vgroup *a, const struct vgroup *b, __u32 vni, __u16 gen, struct gen_entries *put,
		      struct gen_entries *del)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0, i = 0, j = 0;

	memset(put, 0, sizeof(*put));
	memset(del, 0, sizeof(*del));
	put->vni = del->vni = vni;
	put->gen = del->gen = gen;
	put->keys = malloc((nb + 1) * sizeof(*put->keys));
	put->vals = malloc((nb + 1) * sizeof(*put->vals));
	del->keys = malloc((na + 1) * sizeof(*del->keys));
	if (!put->keys || !put->vals || !del->keys) {
		entries_free(put);
		entries_free(del);
		return -ENOMEM;
	}
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : cmp_route(&a->r[i], &b->r[j]);
		if (c < 0) {
			del->keys[del->n++] = rkey(vni, gen, ROUTE_KEY_CONFIG, a->r[i].len, a->r[i].prefix);
			i++;
			continue;
		}
		if (c > 0 || !same_route(&a->r[i], &b->r[j])) {
			put->keys[put->n] = rkey(vni, gen, ROUTE_KEY_CONFIG, b->r[j].len, b->r[j].prefix);
			put->vals[put->n] = b->r[j];
			put->vals[put->n++]._pad = 0;
		}
		if (c == 0)
			i++;
		j++;
	}
	return 0;
}

/* The ROUTE_SYNC step of an in-place table, its exact writes kept as the step's hint. */
static int plan_sync(struct txn_plan *p, struct build *b)
{
	struct txn_op op = mkop(TXN_OP_ROUTE_SYNC);
	struct gen_entries none;

	op.vni = b->e.vni;
	op.gen = b->rec.route_gen;
	memset(&none, 0, sizeof(none));
	if (plan_purge(p, TXN_OP_ROUTE_SYNC, op.vni, op.gen, &none))
		return -ENOMEM;
	p->hints[p->nhints - 1].e = b->put;
	p->hints[p->nhints - 1].del = b->del;
	memset(&b->put, 0, sizeof(b->put));
	memset(&b->del, 0, sizeof(b->del));
	return 0;
}

static int connected_route(const struct txn_subnet *sn, struct route *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = ROUTE_CONNECTED;
	c->len = sn->k.len;
	c->prefix = sn->k.prefix;
	return 0;
}

/*
 * A VPC whose routes were loaded only in part (a single command): what
 * differs between cur and want, static routes and subnets' connected routes,
 * as routes to put (new or changed) and routes to take out, each sorted.
 */
static int partial_changes(const struct txn_state *cur, const struct txn_state *want, __u32 vni, struct table *put,
			   struct table *del)
{
	struct route c;

	table_init(put, sizeof(__u32), sizeof(struct vgroup));
	table_init(del, sizeof(__u32), sizeof(struct vgroup));
	for (const struct txn_route *w = NULL; (w = table_next(&want->routes, w));) {
		const struct txn_route *o = table_get(&cur->routes, &w->k);
		if (w->k.vni == vni && (!o || !same_route(&o->r, &w->r)) && group_add(put, vni, &w->r))
			return -ENOMEM;
	}
	for (const struct txn_route *o = NULL; (o = table_next(&cur->routes, o));)
		if (o->k.vni == vni && !table_get(&want->routes, &o->k) && group_add(del, vni, &o->r))
			return -ENOMEM;
	for (const struct txn_subnet *sn = NULL; (sn = table_next(&want->subnets, sn));)
		if (sn->k.vni == vni && !table_get(&cur->subnets, &sn->k) && (connected_route(sn, &c) || group_add(put, vni, &c)))
			return -ENOMEM;
	for (const struct txn_subnet *sn = NULL; (sn = table_next(&cur->subnets, sn));)
		if (sn->k.vni == vni && !table_get(&want->subnets, &sn->k) && (connected_route(sn, &c) || group_add(del, vni, &c)))
			return -ENOMEM;
	for (struct vgroup *g = NULL; (g = table_next(put, g));)
		sort_routes(g->r, g->n);
	for (struct vgroup *g = NULL; (g = table_next(del, g));)
		sort_routes(g->r, g->n);
	return 0;
}

/* The live routes of rec's fib region with put (sorted) put in and del (sorted) taken out: the VPC's new table. */
static int merge_live(struct store *s, const struct vpc *rec, const struct vgroup *put, const struct vgroup *del,
		      struct vgroup *out)
{
	struct route *live;
	size_t n, np = put ? put->n : 0, nd = del ? del->n : 0, i = 0, j = 0, d = 0;
	int err = fib_routes(s->fd[SM_FIB], rec, &live, &n);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	out->r = malloc((n + np + 1) * sizeof(*out->r));
	if (!out->r) {
		free(live);
		return -ENOMEM;
	}
	while (i < n || j < np) {
		int c = i == n ? 1 : j == np ? -1 : cmp_route(&live[i], &put->r[j]);
		const struct route *r = c >= 0 ? &put->r[j] : &live[i]; /* equal keys: the new route */
		while (c < 0 && d < nd && cmp_route(&del->r[d], r) < 0)
			d++;
		if (c < 0 && d < nd && cmp_route(&del->r[d], r) == 0) {
			i++; /* taken out */
			continue;
		}
		out->r[out->n++] = *r;
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	free(live);
	return 0;
}

/* The config entries of a VPC's routes (sorted), as keys and values of its generation. */
static int entries_of(const struct vgroup *g, __u32 vni, __u16 gen, struct gen_entries *e)
{
	size_t n = g ? g->n : 0;

	memset(e, 0, sizeof(*e));
	e->vni = vni;
	e->gen = gen;
	e->keys = malloc((n + 1) * sizeof(*e->keys));
	e->vals = malloc((n + 1) * sizeof(*e->vals));
	if (!e->keys || !e->vals) {
		entries_free(e);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		e->keys[i] = rkey(vni, gen, ROUTE_KEY_CONFIG, g->r[i].len, g->r[i].prefix);
		e->vals[i] = g->r[i];
		e->vals[i]._pad = 0;
	}
	e->n = n;
	return 0;
}

/* The order (see txn.h): additions, swaps, barrier, removals, purges. */
static int plan_commit(struct store *s, const struct txn_state *cur, const struct txn_state *want,
		       struct commit_plan *cp)
{
	struct table gcur, gwant, bound;
	struct txn_plan *p = &cp->p;
	int err = -ENOMEM;

	memset(cp, 0, sizeof(*cp));
	if (group_routes(cur, &gcur))
		return -ENOMEM;
	if (group_routes(want, &gwant)) {
		groups_free(&gcur);
		return -ENOMEM;
	}
	table_init(&bound, sizeof(__u32), sizeof(__u32));
	for (const struct txn_nic *n = NULL; (n = table_next(&want->nics, n));)
		if ((n->v.flags & NIC_F_LOCAL) && !table_put(&bound, &n->v.ifindex))
			goto out;
	cp->builds = calloc(want->vpcs.live + 1, sizeof(*cp->builds));
	if (!cp->builds)
		goto out;

	/* Route generations to build, and the vpc records that will swap them in. */
	for (const struct txn_vpc *wv = NULL; (wv = table_next(&want->vpcs, wv));) {
		const struct txn_vpc *cv = table_get(&cur->vpcs, &wv->vni);
		const struct vgroup *cg = table_get(&gcur, &wv->vni), *wg = table_get(&gwant, &wv->vni);
		struct build *b = &cp->builds[cp->nbuilds];
		bool partial = cv && !txn_routes_known(want, wv->vni, NULL, 0);
		struct table pput, pdel;
		bool table_changed;

		if (partial) {
			if (partial_changes(cur, want, wv->vni, &pput, &pdel)) {
				groups_free(&pput);
				groups_free(&pdel);
				goto out;
			}
			table_changed = pput.live || pdel.live;
		} else {
			table_changed = !cv || !same_routes(cg, wg);
		}
		if (partial && table_changed) {
			/*
			 * Only what the command changed is known: the new table is the
			 * live one with it merged in, and the config entries that change
			 * are exactly the changes.
			 */
			struct vgroup merged;
			const struct vgroup *put = table_get(&pput, &wv->vni), *del = table_get(&pdel, &wv->vni);
			int e;
			memset(b, 0, sizeof(*b));
			b->rec = cv->rec;
			memcpy(b->rec.name, wv->rec.name, NAME_LEN);
			b->swap = b->in_place = true;
			b->e.vni = wv->vni;
			b->e.gen = b->rec.route_gen;
			e = merge_live(s, &cv->rec, put, del, &merged);
			if (!e) { /* the merged list is sorted, one route a key: the index is built from it as it is */
				e = fib_install(s->fd[SM_FIB], s->fd[SM_VPCS], merged.r, merged.n, &b->rec);
				free(merged.r);
			}
			if (!e && !(e = entries_of(put, wv->vni, b->rec.route_gen, &b->put))) {
				e = entries_of(del, wv->vni, b->rec.route_gen, &b->del);
				free(b->del.vals);
				b->del.vals = NULL;
			}
			groups_free(&pput);
			groups_free(&pdel);
			cp->nbuilds++; /* freed with the plan */
			if (e) {
				err = e;
				goto out;
			}
			continue;
		}
		if (partial) {
			groups_free(&pput);
			groups_free(&pdel);
		}

		memset(b, 0, sizeof(*b));
		b->e.vni = wv->vni; /* a rename alone builds nothing, but its record goes under this key */
		if (cv)
			b->rec = cv->rec;
		memcpy(b->rec.name, wv->rec.name, NAME_LEN);
		b->is_new = !cv;
		b->swap = cv && (table_changed || memcmp(cv->rec.name, wv->rec.name, NAME_LEN));
		if (!b->is_new && !b->swap)
			continue;
		if (table_changed) {
			/*
			 * A new VPC's config entries are written before the commit (nothing
			 * reaches them before its record). An existing VPC keeps its
			 * generation: the datapath reads only the fib region, built aside
			 * here and swapped in by the record; the config entries that differ
			 * are written after the commit point by a journaled ROUTE_SYNC step
			 * (show and save wait for the lock, a replay finishes it).
			 */
			b->rec.route_gen = cv ? cv->rec.route_gen : 0;
			int e = expand(s, wg, wv->vni, b->rec.route_gen, &b->e, &b->rec);
			if (e) {
				err = e; /* -ENOSPC: the fib arena is full */
				goto out;
			}
			if (cv) {
				b->in_place = true;
				entries_free(&b->e);
				b->e.vni = wv->vni;
				b->e.gen = b->rec.route_gen;
				if (route_diff(cg, wg, wv->vni, b->rec.route_gen, &b->put, &b->del)) {
					cp->nbuilds++; /* freed with the plan */
					goto out;
				}
			}
			cp->build_entries += b->e.n;
		}
		cp->nbuilds++;
	}
	/* The routes map holds every VPC's config entries once (twice only for the VPCs that go, until their purge). */
	{
		size_t need = 0;
		for (const struct vgroup *g = NULL; (g = table_next(&gwant, g));)
			if (txn_routes_known(want, g->vni, NULL, 0))
				need += g->n;
		for (const struct txn_vpc *v = NULL; (v = table_next(&cur->vpcs, v));) /* partly known: as live, + 1 */
			if (!txn_routes_known(want, v->vni, NULL, 0) && table_get(&want->vpcs, &v->vni))
				need += v->rec.route_count + 1;
		for (const struct vgroup *g = NULL; (g = table_next(&gcur, g));)
			if (!table_get(&want->vpcs, &g->vni))
				need += g->n;
		if (need > MAX_ROUTE_ENTRIES) {
			err = -E2BIG;
			goto out;
		}
	}

	/* 1. new VPCs: their tables are complete before the record makes them reachable */
	for (size_t i = 0; i < cp->nbuilds; i++)
		if (cp->builds[i].is_new &&
		    txn_plan_put(p, SM_VPCS, &cp->builds[i].e.vni, sizeof(__u32), &cp->builds[i].rec, sizeof(struct vpc)))
			goto out;
	/* 1b. security groups, new, or with other rules: whole rule sets, before NICs refer to them */
	for (const struct txn_sg *wg = NULL; (wg = table_next(&want->sgs, wg));) {
		const struct txn_sg *cg = table_get(&cur->sgs, &wg->id);
		if (!cg) {
			struct sg rec;
			memset(&rec, 0, sizeof(rec));
			memcpy(rec.name, wg->name, NAME_LEN);
			if (txn_plan_put(p, SM_SGS, &wg->id, sizeof(__u32), &rec, sizeof(rec)))
				goto out;
		}
		/* a new group starts with no rules: a commit only if it gets some */
		if (!same_sg_rules(cg ? cur : want, want, wg->id) || (!cg && sg_has_rules(want, wg->id)))
			if (plan_sg_rules(p, want, wg->id))
				goto out;
	}
	/* 2. subnets, new or changed */
	for (const struct txn_subnet *ws = NULL; (ws = table_next(&want->subnets, ws));) {
		const struct txn_subnet *cs = table_get(&cur->subnets, &ws->k);
		if ((!cs || memcmp(&cs->v, &ws->v, sizeof(ws->v))) &&
		    txn_plan_put(p, SM_SUBNETS, &ws->k, sizeof(ws->k), &ws->v, sizeof(ws->v)))
			goto out;
	}
	/* 3. NICs, new or changed: counters and binding before the record that points the datapath at them */
	for (const struct txn_nic *wn = NULL; (wn = table_next(&want->nics, wn));) {
		const struct txn_nic *cn = table_get(&cur->nics, &wn->k);
		bool wl = wn->v.flags & NIC_F_LOCAL, cl = cn && (cn->v.flags & NIC_F_LOCAL);
		struct txn_op op;

		if (cn && !memcmp(&cn->v, &wn->v, sizeof(wn->v)))
			continue;
		if (!cn) {
			op = mkop(TXN_OP_STATS_NEW);
			memcpy(op.key, &wn->k, sizeof(wn->k));
			op.key_size = sizeof(wn->k);
			if (txn_plan_op(p, &op))
				goto out;
		}
		if (wl && !(cl && cn->v.ifindex == wn->v.ifindex)) {
			if (txn_plan_put(p, SM_IFINDEX_NICS, &wn->v.ifindex, sizeof(__u32), &wn->k, sizeof(wn->k)) ||
			    plan_ifindex_op(p, TXN_OP_ATTACH, wn->v.ifindex))
				goto out;
		}
		if (txn_plan_put(p, SM_NICS, &wn->k, sizeof(wn->k), &wn->v, sizeof(wn->v)))
			goto out;
		if (cl && !(wl && cn->v.ifindex == wn->v.ifindex) && plan_unbind(p, want, &bound, cn->v.ifindex))
			goto out;
	}
	/* 4. one record update per VPC swaps its table (or renames it); then its config entries follow */
	for (size_t i = 0; i < cp->nbuilds; i++) {
		if (cp->builds[i].swap &&
		    txn_plan_put(p, SM_VPCS, &cp->builds[i].e.vni, sizeof(__u32), &cp->builds[i].rec, sizeof(struct vpc)))
			goto out;
		if (cp->builds[i].in_place && plan_sync(p, &cp->builds[i]))
			goto out;
	}
	/* 5. no packet still uses an old table or record past this point (dropped below when nothing follows) */
	size_t barrier = p->n;
	{
		struct txn_op op = mkop(TXN_OP_BARRIER);
		if (txn_plan_op(p, &op))
			goto out;
	}
	/* 6. NICs that go: stop what they send, forget where they live, then their counters */
	for (const struct txn_nic *cn = NULL; (cn = table_next(&cur->nics, cn));) {
		if (table_get(&want->nics, &cn->k))
			continue;
		if ((cn->v.flags & NIC_F_LOCAL) && plan_unbind(p, want, &bound, cn->v.ifindex))
			goto out;
		if (txn_plan_del(p, SM_NICS, &cn->k, sizeof(cn->k)) ||
		    txn_plan_del(p, SM_NIC_STATS, &cn->k, sizeof(cn->k)))
			goto out;
	}
	/* 7. subnets that go (their connected routes left with the swap) */
	for (const struct txn_subnet *cs = NULL; (cs = table_next(&cur->subnets, cs));)
		if (!table_get(&want->subnets, &cs->k) && txn_plan_del(p, SM_SUBNETS, &cs->k, sizeof(cs->k)))
			goto out;
	/* 8. VPCs that go: the record first, then the routes it led to */
	for (const struct txn_vpc *cv = NULL; (cv = table_next(&cur->vpcs, cv));) {
		struct gen_entries old;
		if (table_get(&want->vpcs, &cv->vni))
			continue;
		if (txn_plan_del(p, SM_VPCS, &cv->vni, sizeof(__u32)) || plan_fib_release(p, &cv->rec) ||
		    live_entries(cur, cv->vni, cv->rec.route_gen, &old))
			goto out;
		if (plan_purge(p, TXN_OP_PURGE_VPC, cv->vni, cv->rec.route_gen, &old)) {
			entries_free(&old);
			goto out;
		}
	}
	/* 8b. security groups that go, once no NIC refers to them */
	for (const struct txn_sg *cg = NULL; (cg = table_next(&cur->sgs, cg));) {
		struct txn_op op = mkop(TXN_OP_SG_PURGE);
		op.vni = cg->id;
		if (table_get(&want->sgs, &cg->id))
			continue;
		if (txn_plan_del(p, SM_SGS, &cg->id, sizeof(__u32)) || txn_plan_op(p, &op))
			goto out;
	}
	/* 9. the generations swapped out */
	for (size_t i = 0; i < cp->nbuilds; i++) {
		struct build *b = &cp->builds[i];
		const struct txn_vpc *cv = table_get(&cur->vpcs, &b->e.vni);
		struct gen_entries old;
		if (!b->swap || !cv || cv->rec.route_gen == b->rec.route_gen)
			continue;
		if (live_entries(cur, cv->vni, cv->rec.route_gen, &old))
			goto out;
		if (plan_purge(p, TXN_OP_PURGE_GEN, cv->vni, cv->rec.route_gen, &old)) {
			entries_free(&old);
			goto out;
		}
	}
	/*
	 * A single command's edit (a state loaded in part) with nothing to
	 * remove does not wait for a grace period: the fib region it swapped out
	 * waits in quarantine for a later one (fib_install waits itself when the
	 * quarantine runs out). A whole-state commit waits, which frees the
	 * quarantine for the next.
	 */
	if (p->n == barrier + 1 && want->routes_partial)
		p->n--;
	err = 0;
out:
	groups_free(&gcur);
	groups_free(&gwant);
	table_free(&bound);
	if (err)
		commit_plan_free(cp);
	return err;
}

/* ---- the journal ---- */

static int journal_fd = -1;
static char journal_dir[PATH_MAX];

static int journal_open(struct store *s, bool create)
{
	char path[PATH_MAX + 32];

	if (journal_fd >= 0 && !strcmp(journal_dir, s->pin_dir))
		return journal_fd;
	if (journal_fd >= 0)
		close(journal_fd);
	journal_fd = -1;
	snprintf(path, sizeof(path), "%s/%s", s->pin_dir, MAP_TXN_JOURNAL);
	for (int tries = 0; tries < 2; tries++) {
		int fd = bpf_obj_get(path);
		if (fd >= 0) {
			snprintf(journal_dir, sizeof(journal_dir), "%s", s->pin_dir);
			return journal_fd = fd;
		}
		if (errno != ENOENT || !create)
			return -errno;
		LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
		fd = bpf_map_create(BPF_MAP_TYPE_HASH, MAP_TXN_JOURNAL, sizeof(__u32), sizeof(struct txn_op),
				    TXN_JOURNAL_MAX, &o);
		if (fd < 0)
			return -errno;
		if (bpf_obj_pin(fd, path) == 0) {
			snprintf(journal_dir, sizeof(journal_dir), "%s", s->pin_dir);
			return journal_fd = fd;
		}
		close(fd); /* someone pinned one first: use theirs */
	}
	return -EEXIST;
}

static int head_read(int jfd, struct txn_head *h)
{
	__u32 k = TXN_HEAD_KEY;
	if (bpf_map_lookup_elem(jfd, &k, h)) {
		memset(h, 0, sizeof(*h));
		return errno == ENOENT ? 0 : -errno;
	}
	return 0;
}

static int head_write(int jfd, enum txn_head_state state, __u32 nops)
{
	struct txn_head h;
	__u32 k = TXN_HEAD_KEY;
	head_read(jfd, &h);
	h.state = state;
	h.nops = nops;
	h.serial++;
	return bpf_map_update_elem(jfd, &k, &h, BPF_ANY) ? -errno : 0;
}

bool txn_pending(struct store *s)
{
	struct txn_head h;
	int jfd = journal_open(s, false);
	return jfd >= 0 && head_read(jfd, &h) == 0 && h.state != TXN_IDLE;
}

void txn_crash_point(const char *phase)
{
	const char *want = getenv("VPCBPF_TXN_CRASH");
	if (want && !strcmp(want, phase))
		_exit(9);
}

int txn_rcu_barrier(void)
{
	static int outer = -1, inner = -1;
	__u32 k = 0;

	if (outer < 0) {
		inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "txn_rcu_inner", sizeof(__u32), sizeof(__u32), 1, NULL);
		if (inner < 0)
			return -errno;
		LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = inner);
		outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "txn_rcu", sizeof(__u32), sizeof(__u32), 1, &o);
		if (outer < 0)
			return -errno;
	}
	/* The kernel waits for a grace period after every update of a map-in-map (synchronize_rcu). */
	return bpf_map_update_elem(outer, &k, &inner, BPF_ANY) ? -errno : 0;
}

/*
 * Large sets of map writes and deletes are split over the CPUs: the kernel's
 * hash map locks per bucket, so threads writing disjoint keys run side by
 * side, and a table of a million routes is mostly this kernel time (about a
 * microsecond per entry). Every part is the same batch calls as before; the
 * caller sees one result, the first error of any part.
 */
#define SPLIT_MIN (4 * BATCH_CHUNK) /* smaller sets: one thread */
#define SPLIT_MAX 4

struct batch_part {
	int fd;
	bool del;
	const unsigned char *keys, *vals;
	size_t ksz, vsz, n;
	size_t *done; /* shared, atomic: entries written by every part */
	const struct txn_hooks *h; /* progress: reported by the calling thread only */
	const char *phase;
	size_t total;
	int err;
};

static bool no_update_batch, no_delete_batch; /* set once, by any part: the kernel lacks the batch call */

static int write_part(struct batch_part *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

	for (size_t i = 0; i < b->n;) {
		__u32 want = (__u32)(b->n - i < BATCH_CHUNK ? b->n - i : BATCH_CHUNK), count = want;
		const unsigned char *k = b->keys + i * b->ksz, *v = b->vals + i * b->vsz;
		if (!__atomic_load_n(&no_update_batch, __ATOMIC_RELAXED) && bpf_map_update_batch(b->fd, k, v, &count, &opts)) {
			int e = -errno;
			if (e != -EINVAL && e != -ENOTSUP && e != -EOPNOTSUPP)
				return e;
			__atomic_store_n(&no_update_batch, true, __ATOMIC_RELAXED);
		}
		if (__atomic_load_n(&no_update_batch, __ATOMIC_RELAXED)) {
			count = want;
			for (__u32 j = 0; j < count; j++)
				if (bpf_map_update_elem(b->fd, k + j * b->ksz, v + j * b->vsz, BPF_ANY))
					return -errno;
		}
		i += count;
		size_t done = __atomic_add_fetch(b->done, count, __ATOMIC_RELAXED);
		if (b->h && b->h->progress)
			b->h->progress(b->phase, done, b->total);
	}
	return 0;
}

static int delete_part(struct batch_part *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (size_t i = 0; i < b->n;) {
		__u32 want = (__u32)(b->n - i < BATCH_CHUNK ? b->n - i : BATCH_CHUNK), count = want;
		const unsigned char *k = b->keys + i * b->ksz;
		if (!__atomic_load_n(&no_delete_batch, __ATOMIC_RELAXED) && bpf_map_delete_batch(b->fd, k, &count, &opts)) {
			int e = -errno;
			if (e == -ENOENT) { /* count entries went; the next one was already gone */
				i += count + 1;
				continue;
			}
			if (e != -EINVAL && e != -ENOTSUP && e != -EOPNOTSUPP)
				return e;
			__atomic_store_n(&no_delete_batch, true, __ATOMIC_RELAXED);
		}
		if (__atomic_load_n(&no_delete_batch, __ATOMIC_RELAXED)) {
			count = want;
			for (__u32 j = 0; j < count; j++)
				if (bpf_map_delete_elem(b->fd, k + j * b->ksz) && errno != ENOENT)
					return -errno;
		}
		i += count;
	}
	return 0;
}

static void *part_thread(void *arg)
{
	struct batch_part *b = arg;
	b->err = b->del ? delete_part(b) : write_part(b);
	return NULL;
}

/* Runs whole over up to SPLIT_MAX threads (the caller's included), in contiguous parts. */
static int run_split(const struct batch_part *whole)
{
	struct batch_part part[SPLIT_MAX];
	pthread_t tid[SPLIT_MAX];
	bool started[SPLIT_MAX] = { false };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nparts = whole->n < SPLIT_MIN || cpus < 2 ? 1 : (size_t)(cpus < SPLIT_MAX ? cpus : SPLIT_MAX);
	size_t per = (whole->n + nparts - 1) / nparts, at = 0;
	int err = 0;

	for (size_t i = 0; i < nparts; i++) {
		part[i] = *whole;
		part[i].keys = whole->keys + at * whole->ksz;
		part[i].vals = whole->vals ? whole->vals + at * whole->vsz : NULL;
		part[i].n = whole->n - at < per ? whole->n - at : per;
		part[i].h = i == 0 ? whole->h : NULL;
		part[i].err = 0;
		at += part[i].n;
	}
	for (size_t i = 1; i < nparts; i++)
		started[i] = pthread_create(&tid[i], NULL, part_thread, &part[i]) == 0;
	part_thread(&part[0]);
	for (size_t i = 1; i < nparts; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			part_thread(&part[i]); /* no thread: this part runs here */
	}
	for (size_t i = 0; i < nparts && !err; i++)
		err = part[i].err;
	return err;
}

/* Writes n entries in chunks with BPF_MAP_UPDATE_BATCH (one at a time where that is missing). */
static int write_entries(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n,
			 const struct txn_hooks *h, const char *phase, size_t *done, size_t total)
{
	struct batch_part b = { .fd = fd, .keys = keys, .vals = vals, .ksz = ksz, .vsz = vsz, .n = n,
				.done = done, .h = h, .phase = phase, .total = total };
	return run_split(&b);
}

/* Deletes the given keys (BPF_MAP_DELETE_BATCH), skipping any already gone. */
static int delete_entries(int fd, const void *keys, size_t ksz, size_t n)
{
	size_t done = 0;
	struct batch_part b = { .fd = fd, .del = true, .keys = keys, .ksz = ksz, .n = n, .done = &done };
	return run_split(&b);
}

struct gc_scan {
	struct table vpcs; /* vni -> live record */
	struct route_key *dead;
	size_t n, cap;
};

static int gc_collect(const void *key, const void *value, void *ctx)
{
	const struct route_key *k = key;
	struct gc_scan *g = ctx;
	const struct txn_vpc *v = table_get(&g->vpcs, &k->vni);

	if (v && v->rec.route_gen == k->gen)
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		struct route_key *n = realloc(g->dead, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		g->dead = n;
		g->cap = cap;
	}
	g->dead[g->n++] = *k;
	return 0;
}

/* Deletes every route entry that is not in the live generation of an existing VPC. */
static int gc_routes(struct store *s)
{
	struct gc_scan g;
	int err;

	memset(&g, 0, sizeof(g));
	table_init(&g.vpcs, sizeof(__u32), sizeof(struct txn_vpc));
	err = dump_map(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), load_vpc, &g.vpcs);
	if (!err)
		err = dump_map(s->fd[SM_ROUTES], sizeof(struct route_key), sizeof(struct route), gc_collect, &g);
	if (!err)
		err = delete_entries(s->fd[SM_ROUTES], g.dead, sizeof(*g.dead), g.n);
	table_free(&g.vpcs);
	free(g.dead);
	return err;
}

struct census {
	struct table vpcs;
	size_t total, garbage;
};

static int census_count(const void *key, const void *value, void *ctx)
{
	const struct route_key *k = key;
	struct census *c = ctx;
	const struct txn_vpc *v = table_get(&c->vpcs, &k->vni);
	c->total++;
	c->garbage += !v || v->rec.route_gen != k->gen;
	return 0;
}

int txn_route_census(struct store *s, size_t *total, size_t *garbage)
{
	struct census c;
	int err;

	memset(&c, 0, sizeof(c));
	table_init(&c.vpcs, sizeof(__u32), sizeof(struct txn_vpc));
	err = dump_map(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), load_vpc, &c.vpcs);
	if (!err)
		err = dump_map(s->fd[SM_ROUTES], sizeof(struct route_key), sizeof(struct route), census_count, &c);
	table_free(&c.vpcs);
	*total = c.total;
	*garbage = c.garbage;
	return err;
}

struct sync_scan {
	__u32 vni;
	__u16 gen;
	struct table keep; /* (prefix, len) of the region's routes */
	struct route_key *dead;
	size_t n, cap;
};

struct sync_key {
	__be32 prefix;
	__u8 len;
	__u8 _pad[3];
};

static int sync_collect(const void *key, const void *value, void *ctx)
{
	const struct route_key *k = key;
	struct sync_scan *sc = ctx;
	struct sync_key sk;

	if (k->vni != sc->vni || k->gen != sc->gen || k->type != ROUTE_KEY_CONFIG)
		return 0;
	memset(&sk, 0, sizeof(sk));
	sk.prefix = k->addr;
	sk.len = k->len;
	if (table_get(&sc->keep, &sk))
		return 0;
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 1024;
		struct route_key *n = realloc(sc->dead, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		sc->dead = n;
		sc->cap = cap;
	}
	sc->dead[sc->n++] = *k;
	return 0;
}

/*
 * ROUTE_SYNC replayed after a crash (its exact writes died with the process):
 * every route of the VPC's fib region is written, and every config entry of
 * its generation that the region lacks is deleted (one walk of the map).
 */
static int route_sync_replay(struct store *s, __u32 vni)
{
	struct sync_scan sc;
	struct route_key *keys = NULL;
	struct route *list = NULL;
	size_t n = 0, done = 0;
	struct vpc v;
	int err;

	if (bpf_map_lookup_elem(s->fd[SM_VPCS], &vni, &v))
		return errno == ENOENT ? 0 : -errno; /* the VPC went later in the same journal */
	if ((err = fib_routes(s->fd[SM_FIB], &v, &list, &n)))
		return err;
	memset(&sc, 0, sizeof(sc));
	sc.vni = vni;
	sc.gen = v.route_gen;
	table_init(&sc.keep, sizeof(struct sync_key), sizeof(struct sync_key));
	keys = malloc((n + 1) * sizeof(*keys));
	err = keys && !table_reserve(&sc.keep, n) ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		struct sync_key sk;
		memset(&sk, 0, sizeof(sk));
		sk.prefix = list[i].prefix;
		sk.len = list[i].len;
		keys[i] = rkey(vni, v.route_gen, ROUTE_KEY_CONFIG, list[i].len, list[i].prefix);
		list[i]._pad = 0;
		if (!table_put(&sc.keep, &sk))
			err = -ENOMEM;
	}
	if (!err)
		err = write_entries(s->fd[SM_ROUTES], keys, sizeof(*keys), list, sizeof(*list), n, NULL, NULL, &done, n);
	if (!err)
		err = dump_map(s->fd[SM_ROUTES], sizeof(struct route_key), sizeof(struct route), sync_collect, &sc);
	if (!err)
		err = delete_entries(s->fd[SM_ROUTES], sc.dead, sizeof(*sc.dead), sc.n);
	table_free(&sc.keep);
	free(sc.dead);
	free(keys);
	free(list);
	return err;
}

/* ROUTE_SYNC with its exact writes: the entries new or changed, then the ones gone. */
static int route_sync(struct store *s, const struct txn_purge_hint *hint, const struct txn_hooks *h)
{
	size_t done = 0;
	int err = write_entries(s->fd[SM_ROUTES], hint->e.keys, sizeof(struct route_key), hint->e.vals,
				sizeof(struct route), hint->e.n, h, "writing route tables", &done, hint->e.n);
	return err ? err : delete_entries(s->fd[SM_ROUTES], hint->del.keys, sizeof(struct route_key), hint->del.n);
}

static const struct txn_purge_hint *hint_for(const struct txn_plan *p, size_t op)
{
	for (size_t i = 0; p && i < p->nhints; i++)
		if (p->hints[i].op == op)
			return &p->hints[i];
	return NULL;
}

/* One journal operation; *need_gc is set when a purge has no exact keys (a replay). */
/* SG_COMMIT: the group's rules are the SG_RULE steps of the journal before it. */
static int exec_sg_commit(struct store *s, const struct txn_op *ops, size_t at)
{
	struct sg_maps m = sg_maps_of(s);
	struct sg_rule_entry *rules = calloc(at + 1, sizeof(*rules));
	size_t n = 0;
	int err;

	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < at; i++)
		if (ops[i].kind == TXN_OP_SG_RULE && ops[i].vni == ops[at].vni) {
			rules[n].priority = ops[i].ifindex;
			memcpy(&rules[n].r, ops[i].value, sizeof(struct sg_rule));
			n++;
		}
	err = sg_table_commit(&m, ops[at].vni, rules, n);
	free(rules);
	return err;
}

static int exec_op(struct store *s, const struct txn_op *op, const struct txn_purge_hint *hint,
		   const struct txn_hooks *h, bool *need_gc)
{
	int err = 0;

	switch (op->kind) {
	case TXN_OP_PUT:
		if (op->map >= SM__COUNT)
			return -EINVAL;
		return bpf_map_update_elem(s->fd[op->map], op->key, op->value, BPF_ANY) ? -errno : 0;
	case TXN_OP_DEL:
		if (op->map >= SM__COUNT)
			return -EINVAL;
		return bpf_map_delete_elem(s->fd[op->map], op->key) && errno != ENOENT ? -errno : 0;
	case TXN_OP_STATS_NEW: {
		int ncpu = libbpf_num_possible_cpus();
		void *zeros = calloc(ncpu > 0 ? ncpu : 1, sizeof(struct nic_stats));
		if (!zeros)
			return -ENOMEM;
		if (bpf_map_update_elem(s->fd[SM_NIC_STATS], op->key, zeros, BPF_NOEXIST) && errno != EEXIST)
			err = -errno;
		free(zeros);
		return err;
	}
	case TXN_OP_ATTACH:
		return h && h->attach ? h->attach((int)op->ifindex) : -ENOTSUP;
	case TXN_OP_DETACH:
		return h && h->detach ? h->detach((int)op->ifindex) : 0;
	case TXN_OP_BARRIER:
		if ((err = txn_rcu_barrier()))
			return err;
		fib_settle(); /* the fib regions replaced so far have no reader left */
		return 0;
	case TXN_OP_PURGE_GEN:
	case TXN_OP_PURGE_VPC:
		if (!hint) {
			*need_gc = true;
			return 0;
		}
		return delete_entries(s->fd[SM_ROUTES], hint->e.keys, sizeof(struct route_key), hint->e.n);
	case TXN_OP_SG_RULE:
		return 0; /* read by the SG_COMMIT that follows */
	case TXN_OP_ROUTE_SYNC:
		return hint ? route_sync(s, hint, h) : route_sync_replay(s, op->vni);
	case TXN_OP_FIB_RELEASE: {
		__u32 region[2];
		memcpy(region, op->key, sizeof(region));
		return fib_release_lines(s->fd[SM_FIB], region[0], region[1]);
	}
	case TXN_OP_SG_COMMIT:
		return -EINVAL; /* run by exec_ops, which has the whole journal */
	case TXN_OP_SG_PURGE: {
		struct sg_maps m = sg_maps_of(s);
		return sg_table_purge(&m, op->vni);
	}
	}
	return -EINVAL;
}

static const char *op_name(const struct txn_op *op)
{
	static const char *const names[] = {
		[TXN_OP_PUT] = "put", [TXN_OP_DEL] = "delete", [TXN_OP_STATS_NEW] = "create counters",
		[TXN_OP_ATTACH] = "attach", [TXN_OP_DETACH] = "detach", [TXN_OP_BARRIER] = "wait for RCU",
		[TXN_OP_PURGE_GEN] = "purge generation", [TXN_OP_PURGE_VPC] = "purge VPC routes",
		[TXN_OP_SG_RULE] = "sg rule",
		[TXN_OP_SG_COMMIT] = "sg rules swap", [TXN_OP_SG_PURGE] = "sg purge", [TXN_OP_FIB_RELEASE] = "fib release",
		[TXN_OP_ROUTE_SYNC] = "route config sync",
	};
	return op->kind < sizeof(names) / sizeof(names[0]) && names[op->kind] ? names[op->kind] : "?";
}

/* Runs ops in order to the end; a failing op is reported and skipped (the commit point is behind us). */
static int exec_ops(struct store *s, const struct txn_op *ops, size_t n, const struct txn_plan *p,
		    const struct txn_hooks *h, bool replay)
{
	bool need_gc = false;
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		if (i == n / 2)
			txn_crash_point("apply");
		double t0 = txn_timing ? now_ms() : 0;
		int err = ops[i].kind == TXN_OP_SG_COMMIT ? exec_sg_commit(s, ops, i)
				: exec_op(s, &ops[i], replay ? NULL : hint_for(p, i), h, &need_gc);
		if (txn_timing) {
			double dt = now_ms() - t0;
			if (ops[i].kind == TXN_OP_BARRIER)
				t_barrier += dt;
			else if (ops[i].kind == TXN_OP_PURGE_GEN || ops[i].kind == TXN_OP_PURGE_VPC)
				t_purge += dt;
			else if (ops[i].kind == TXN_OP_ROUTE_SYNC)
				t_sync += dt;
			else if (ops[i].kind == TXN_OP_PUT && ops[i].map == SM_VPCS)
				t_swap += dt;
			else
				t_other += dt;
		}
		if (err) {
			const char *map = ops[i].kind == TXN_OP_PUT || ops[i].kind == TXN_OP_DEL ?
				(ops[i].map < SM__COUNT ? store_map_names[ops[i].map] : "?") : "";
			fprintf(stderr, "vpcbpf: warning: transaction step %zu (%s %s%s%u) failed: %s\n", i,
				op_name(&ops[i]), map, *map ? " " : "", ops[i].ifindex ? ops[i].ifindex : ops[i].vni,
				strerror(-err));
			failed++;
		}
	}
	if (need_gc && gc_routes(s))
		failed++;
	return failed ? -EIO : 0;
}

/* Journal the ops, mark them committed (the commit point), run them, go idle. */
static int journal_run(struct store *s, int jfd, struct txn_plan *p, const struct txn_hooks *h)
{
	__u32 *idx;
	size_t done = 0;
	int err;

	if (p->n >= TXN_JOURNAL_MAX)
		return -E2BIG;
	idx = malloc((p->n + 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		idx[i] = (__u32)i;
	err = write_entries(jfd, idx, sizeof(*idx), p->ops, sizeof(*p->ops), p->n, NULL, NULL, &done, p->n);
	if (err) {
		free(idx);
		return err;
	}
	txn_crash_point("commit");
	err = head_write(jfd, TXN_COMMITTED, (__u32)p->n);
	if (err) {
		free(idx);
		return err;
	}
	/* committed: from here on the new state is the state, whatever happens to us */
	int ran = exec_ops(s, p->ops, p->n, p, h, false);
	txn_crash_point("done");
	head_write(jfd, TXN_IDLE, 0);
	delete_entries(jfd, idx, sizeof(*idx), p->n);
	free(idx);
	return ran;
}

int txn_run(struct store *s, struct txn_plan *p, const struct txn_hooks *h)
{
	int jfd = journal_open(s, true), err;
	if (jfd < 0) {
		fib_forget();
		return jfd;
	}
	err = journal_run(s, jfd, p, h);
	fib_forget(); /* the regions this plan wrote are now in VPC records, or garbage */
	return err;
}

static int commit(struct store *s, const struct txn_state *cur, const struct txn_state *want,
		  const struct txn_hooks *h, char *msg, size_t msglen)
{
	struct commit_plan cp;
	size_t done = 0;
	int jfd, err;

	double t0 = now_ms(), t_plan, t_build = 0, t_commit;
	err = plan_commit(s, cur, want, &cp);
	t_plan = now_ms() - t0;
	if (err) {
		__u32 lines = 0;
		if (err == -ENOSPC && fib_arena_size(s->fd[SM_FIB], &lines) == 0)
			snprintf(msg, msglen, "the route index is full (fib arena of %u lines of 64 bytes, for all VPCs and "
				 "both tables of a VPC being replaced): nothing changed", lines);
		else if (err == -E2BIG)
			snprintf(msg, msglen, "the routes map is full (%u entries for the routes of all VPCs): nothing changed",
				 MAX_ROUTE_ENTRIES);
		else
			snprintf(msg, msglen, "cannot plan the transaction: %s", strerror(-err));
		return err;
	}
	if (!cp.p.n && !cp.nbuilds) { /* nothing changes */
		commit_plan_free(&cp);
		return 0;
	}
	jfd = journal_open(s, true);
	if (jfd < 0) {
		snprintf(msg, msglen, "cannot open the transaction journal: %s", strerror(-jfd));
		commit_plan_free(&cp);
		return jfd;
	}
	if (cp.p.n >= TXN_JOURNAL_MAX) {
		snprintf(msg, msglen, "too many changes for one transaction (%zu steps, at most %u)", cp.p.n,
			 TXN_JOURNAL_MAX - 1);
		commit_plan_free(&cp);
		return -E2BIG;
	}
	/* Build aside. If we die here the next command finds BUILDING and throws the builds away. */
	if (cp.build_entries && (err = head_write(jfd, TXN_BUILDING, 0))) {
		snprintf(msg, msglen, "cannot write the transaction journal: %s", strerror(-err));
		commit_plan_free(&cp);
		return err;
	}
	for (size_t i = 0; i < cp.nbuilds && !err; i++) {
		struct build *b = &cp.builds[i];
		err = write_entries(s->fd[SM_ROUTES], b->e.keys, sizeof(struct route_key), b->e.vals, sizeof(struct route),
				    b->e.n, h, "building route tables", &done, cp.build_entries);
		if (i == cp.nbuilds / 2)
			txn_crash_point("build");
	}
	if (err) {
		if (err == -E2BIG || err == -ENOMEM || err == -ENOSPC)
			snprintf(msg, msglen, "the routes map is full (%u entries for all VPCs and both generations "
				 "of a table being replaced): nothing changed", MAX_ROUTE_ENTRIES);
		else
			snprintf(msg, msglen, "cannot build the new route tables: %s (nothing changed)", strerror(-err));
		for (size_t i = 0; i < cp.nbuilds; i++)
			delete_entries(s->fd[SM_ROUTES], cp.builds[i].e.keys, sizeof(struct route_key), cp.builds[i].e.n);
		head_write(jfd, TXN_IDLE, 0);
		commit_plan_free(&cp);
		return err;
	}
	t_build = now_ms() - t0 - t_plan;
	t_swap = t_barrier = t_purge = t_sync = t_other = 0;
	t_commit = now_ms();
	err = journal_run(s, jfd, &cp.p, h);
	if (txn_timing)
		fprintf(stderr, "vpcbpf: txn: plan %.1f ms, build %.1f ms (%zu entries in %zu VPC(s)), journal+commit %.1f ms, "
			"steps: %zu, vpc record updates (the swap) %.3f ms, config entries changed in place %.1f ms, "
			"other steps %.1f ms, RCU wait %.1f ms, old generations deleted %.1f ms\n",
			t_plan, t_build, cp.build_entries, cp.nbuilds,
			now_ms() - t_commit - t_swap - t_barrier - t_purge - t_sync - t_other, cp.p.n, t_swap, t_sync, t_other,
			t_barrier, t_purge);
	if (err == -EIO)
		snprintf(msg, msglen, "the transaction is committed, but some steps failed (see warnings)");
	else if (err)
		snprintf(msg, msglen, "cannot commit: %s (nothing changed)", strerror(-err));
	if (err && err != -EIO && head_write(jfd, TXN_BUILDING, 0) == 0) {
		/* not committed: the builds are garbage */
		gc_routes(s);
		head_write(jfd, TXN_IDLE, 0);
	}
	commit_plan_free(&cp);
	return err;
}

int txn_commit(struct store *s, const struct txn_state *cur, const struct txn_state *want,
	       const struct txn_hooks *h, char *msg, size_t msglen)
{
	int err = commit(s, cur, want, h, msg, msglen);

	fib_forget(); /* the regions the plan wrote are now in VPC records, or garbage */
	return err;
}

int txn_recover(struct store *s, const struct txn_hooks *h)
{
	struct txn_head head;
	int jfd = journal_open(s, false), err = 0;

	if (jfd < 0 || head_read(jfd, &head) || head.state == TXN_IDLE)
		return 0;
	if (head.state == TXN_COMMITTED) {
		struct txn_op *ops = calloc(head.nops + 1, sizeof(*ops));
		if (!ops)
			return -ENOMEM;
		for (__u32 i = 0; i < head.nops; i++)
			if (bpf_map_lookup_elem(jfd, &i, &ops[i])) {
				free(ops);
				return -errno;
			}
		err = exec_ops(s, ops, head.nops, NULL, h, true);
		free(ops);
	} else {
		err = gc_routes(s);
	}
	if (err && err != -EIO)
		return err;
	head_write(jfd, TXN_IDLE, 0);
	/* leftover op entries are harmless (the head says how many count); free them anyway */
	for (__u32 i = 0; i < head.nops; i++)
		bpf_map_delete_elem(jfd, &i);
	return 1;
}

/* ---- single route edits, journaled ---- */

/*
 * One route in or out of vni's live table: the new table is built aside
 * (maps/route_table.c, which puts the region replaced in quarantine), then
 * the journal writes its config entry and swaps the VPC record.
 */
static int plan_route_edit(struct store *s, struct txn_plan *p, __u32 vni, const struct route *r, __be32 prefix,
			   __u8 len)
{
	struct route_key ck;
	struct vpc v;
	int err;

	err = route_table_edit_aside(&s->rm, vni, r, prefix, len, &v, &ck);
	if (err)
		return err;
	if (r) {
		struct route cfg = *r;
		cfg._pad = 0;
		err = txn_plan_put(p, SM_ROUTES, &ck, sizeof(ck), &cfg, sizeof(cfg));
	} else {
		err = txn_plan_del(p, SM_ROUTES, &ck, sizeof(ck));
	}
	if (!err)
		err = txn_plan_put(p, SM_VPCS, &vni, sizeof(vni), &v, sizeof(v));
	return err;
}

int txn_plan_route_insert(struct store *s, struct txn_plan *p, __u32 vni, const struct route *r)
{
	return plan_route_edit(s, p, vni, r, r->prefix, r->len);
}

int txn_plan_route_remove(struct store *s, struct txn_plan *p, __u32 vni, __be32 prefix, __u8 len)
{
	return plan_route_edit(s, p, vni, NULL, prefix, len);
}

int txn_plan_unbind(struct txn_plan *p, __u32 ifindex)
{
	if (plan_ifindex_op(p, TXN_OP_DETACH, ifindex))
		return -ENOMEM;
	return txn_plan_del(p, SM_IFINDEX_NICS, &ifindex, sizeof(ifindex));
}

int txn_plan_purge_vpc(struct store *s, struct txn_plan *p, __u32 vni)
{
	struct txn_op op = mkop(TXN_OP_PURGE_VPC);
	struct vpc v;
	int err;

	op.vni = vni;
	if (!bpf_map_lookup_elem(s->fd[SM_VPCS], &vni, &v) && (err = plan_fib_release(p, &v)))
		return err;
	return txn_plan_op(p, &op);
}

int txn_route_insert(struct store *s, __u32 vni, const struct route *r)
{
	struct txn_plan p;
	int err;

	txn_plan_init(&p);
	err = txn_plan_route_insert(s, &p, vni, r);
	if (!err)
		err = txn_run(s, &p, NULL);
	txn_plan_free(&p);
	return err;
}

int txn_route_remove(struct store *s, __u32 vni, __be32 prefix, __u8 len)
{
	struct txn_plan p;
	int err;

	txn_plan_init(&p);
	err = txn_plan_route_remove(s, &p, vni, prefix, len);
	if (!err)
		err = txn_run(s, &p, NULL);
	txn_plan_free(&p);
	return err;
}
