/* maps/route_gc.c — route entries outside any live table: deleted after a build a killed command left, counted for save -v. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maps/route_gc.h"
#include "maps/map_io.h"

static int load_vpc(const void *key, const void *value, void *ctx)
{
	struct txn_vpc v = { .vni = *(const __u32 *)key, .rec = *(const struct vpc *)value };
	return table_put(ctx, &v) ? 0 : -ENOMEM;
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
int gc_routes(struct store *s)
{
	struct gc_scan g;
	int err;

	memset(&g, 0, sizeof(g));
	table_init(&g.vpcs, sizeof(__u32), sizeof(struct txn_vpc));
	err = store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), load_vpc, &g.vpcs);
	if (!err)
		err = store_foreach(s->fd[SM_ROUTES], sizeof(struct route_key), sizeof(struct route), gc_collect, &g);
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
	err = store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), load_vpc, &c.vpcs);
	if (!err)
		err = store_foreach(s->fd[SM_ROUTES], sizeof(struct route_key), sizeof(struct route), census_count, &c);
	table_free(&c.vpcs);
	*total = c.total;
	*garbage = c.garbage;
	return err;
}

