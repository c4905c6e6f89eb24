/* tests/unit/test_plan.c — the planner on in-memory states, no BPF: which journal steps, in which order, which tables built. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "suite.h"
#include "maps/txn_plan.h"
#include "maps/prefix.h"

/* ---- route tables in memory instead of the fib arena ---- */

#define MEM_TABLES 32

struct mem_tables {
	struct route *r[MEM_TABLES]; /* by fib_base; 0 is "no table" */
	size_t n[MEM_TABLES];
	__u32 next;
	unsigned int installs;
	int fail; /* what install returns when set (the arena full: -ENOSPC) */
};

static int mem_routes(void *ctx, const struct vpc *rec, struct route **out, size_t *n)
{
	struct mem_tables *m = ctx;

	*out = NULL;
	*n = 0;
	if (!rec->fib_base)
		return 0;
	assert_true(rec->fib_base < m->next);
	*n = m->n[rec->fib_base];
	*out = malloc((*n + 1) * sizeof(**out));
	assert_non_null(*out);
	memcpy(*out, m->r[rec->fib_base], *n * sizeof(**out));
	return 0;
}

static int mem_install(void *ctx, const struct route *routes, size_t n, struct vpc *rec)
{
	struct mem_tables *m = ctx;

	if (m->fail)
		return m->fail;
	assert_true(m->next < MEM_TABLES);
	for (size_t i = 1; i < n; i++) /* the planner hands tables over sorted, one route a key */
		assert_true(route_order(&routes[i - 1], &routes[i]) < 0);
	m->r[m->next] = malloc((n + 1) * sizeof(*routes));
	assert_non_null(m->r[m->next]);
	memcpy(m->r[m->next], routes, n * sizeof(*routes));
	m->n[m->next] = n;
	rec->fib_base = m->next++;
	rec->fib_lines = (__u32)n + 1;
	rec->route_count = (__u32)n;
	m->installs++;
	return 0;
}

static struct mem_tables mem;
static struct table_io io = { .ctx = &mem, .routes = mem_routes, .install = mem_install };

static int setup(void **unused)
{
	memset(&mem, 0, sizeof(mem));
	mem.next = 1;
	return 0;
}

static int teardown(void **unused)
{
	for (__u32 i = 0; i < MEM_TABLES; i++)
		free(mem.r[i]);
	return 0;
}

/* ---- states ---- */

static __be32 ip(const char *s)
{
	__be32 a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* An address as text (one static buffer per call site is enough here). */
static const char *ip_str_of(__be32 a)
{
	static char b[4][16];
	static int i;
	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, b[i], sizeof(b[i]));
}

static struct route rt(const char *prefix, __u8 len, __u8 kind, const char *via)
{
	struct route r;

	memset(&r, 0, sizeof(r));
	r.prefix = ip(prefix);
	r.len = len;
	r.kind = kind;
	if (via)
		r.via = ip(via);
	return r;
}

static void vpc(struct txn_state *st, __u32 vni)
{
	struct txn_vpc v;

	memset(&v, 0, sizeof(v));
	v.vni = vni;
	assert_non_null(table_put(&st->vpcs, &v));
}

static void route(struct txn_state *st, __u32 vni, struct route r)
{
	struct txn_route tr;

	memset(&tr, 0, sizeof(tr));
	tr.k = txn_route_key(vni, r.prefix, r.len);
	tr.r = r;
	assert_non_null(table_put(&st->routes, &tr));
}

static void subnet(struct txn_state *st, __u32 vni, const char *prefix, __u8 len, const char *gw)
{
	struct txn_subnet sn;

	memset(&sn, 0, sizeof(sn));
	sn.k.vni = vni;
	sn.k.prefix = ip(prefix);
	sn.k.len = len;
	sn.v.gateway = ip(gw);
	assert_non_null(table_put(&st->subnets, &sn));
}

static void nic(struct txn_state *st, __u32 vni, const char *addr, __u32 ifindex, __u32 sg_id)
{
	struct txn_nic n;

	memset(&n, 0, sizeof(n));
	n.k.vni = vni;
	n.k.ip = ip(addr);
	n.v.flags = NIC_F_LOCAL | NIC_F_SOURCE_CHECK;
	n.v.ifindex = ifindex;
	n.v.sg_id = sg_id;
	assert_non_null(table_put(&st->nics, &n));
}

static void sg(struct txn_state *st, __u32 id, const char *name)
{
	struct txn_sg g;

	memset(&g, 0, sizeof(g));
	g.id = id;
	strncpy(g.name, name, NAME_LEN - 1);
	assert_non_null(table_put(&st->sgs, &g));
}

static void sg_rule(struct txn_state *st, __u32 id, __u32 priority, __u16 port)
{
	struct txn_sg_rule r;

	memset(&r, 0, sizeof(r));
	r.k.sg_id = id;
	r.k.priority = priority;
	r.r.dir = SG_INGRESS;
	r.r.proto = IPPROTO_TCP;
	r.r.action = SG_ALLOW;
	r.r.port_lo = r.r.port_hi = port;
	assert_non_null(table_put(&st->sg_rules, &r));
}

/* The state after a commit of want: the VPC records as the plan leaves them (what a load would read back). */
static void committed(struct txn_state *after, const struct txn_state *want, const struct commit_plan *cp)
{
	assert_int_equal(txn_state_copy(after, want), 0);
	for (size_t i = 0; i < cp->nbuilds; i++) {
		struct txn_vpc *v = table_get(&after->vpcs, &cp->builds[i].vni);
		assert_non_null(v);
		v->rec = cp->builds[i].rec;
	}
}

/* ---- reading a plan ---- */

/* Index of the first step of kind (and map, for PUT/DEL; any map when m < 0) at or after from, or -1. */
static long step(const struct commit_plan *cp, size_t from, enum txn_op_kind kind, int m)
{
	for (size_t i = from; i < cp->p.n; i++)
		if (cp->p.ops[i].kind == kind && (m < 0 || cp->p.ops[i].map == m))
			return (long)i;
	return -1;
}

static size_t steps(const struct commit_plan *cp, enum txn_op_kind kind, int m)
{
	size_t n = 0;
	for (long i = 0; (i = step(cp, (size_t)i, kind, m)) >= 0; i++)
		n++;
	return n;
}

/* ---- the tests ---- */

/* Wanting what is there plans nothing: no step, no table built. */
static void same_state_plans_nothing(void **unused)
{
	struct txn_state empty, cur, want, after;
	struct commit_plan cp;

	txn_state_init(&empty);
	txn_state_init(&cur);
	vpc(&cur, 7);
	subnet(&cur, 7, "10.0.1.0", 24, "10.0.1.1");
	route(&cur, 7, rt("0.0.0.0", 0, ROUTE_BLACKHOLE, NULL));
	assert_int_equal(plan_commit(&io, &empty, &cur, &cp), 0);
	assert_true(cp.p.n > 0);
	/* first time round everything is new: commit it, then want the result again */
	committed(&after, &cur, &cp);
	commit_plan_free(&cp);
	assert_int_equal(txn_state_copy(&want, &after), 0);
	assert_int_equal(plan_commit(&io, &after, &want, &cp), 0);
	assert_int_equal(cp.p.n, 0);
	assert_int_equal(cp.nbuilds, 0);
	commit_plan_free(&cp);
	txn_state_free(&empty);
	txn_state_free(&cur);
	txn_state_free(&want);
	txn_state_free(&after);
}

/* A new VPC: its whole table (static and connected routes) built aside, its record put before anything refers to it. */
static void new_vpc_is_built_before_its_record(void **unused)
{
	struct txn_state cur, want;
	struct commit_plan cp;

	txn_state_init(&cur);
	txn_state_init(&want);
	vpc(&want, 7);
	subnet(&want, 7, "10.0.1.0", 24, "10.0.1.1");
	route(&want, 7, rt("192.168.0.0", 16, ROUTE_VIA, "10.0.1.5"));
	route(&want, 7, rt("0.0.0.0", 0, ROUTE_BLACKHOLE, NULL));
	nic(&want, 7, "10.0.1.5", 42, 0);
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);

	assert_int_equal(mem.installs, 1);
	assert_int_equal(cp.nbuilds, 1);
	assert_true(cp.builds[0].is_new);
	assert_int_equal(cp.builds[0].rec.route_count, 3);
	assert_int_equal(mem.n[cp.builds[0].rec.fib_base], 3);
	assert_int_equal(mem.r[cp.builds[0].rec.fib_base][0].len, 0);            /* 0/0 */
	assert_int_equal(mem.r[cp.builds[0].rec.fib_base][1].kind, ROUTE_CONNECTED); /* 10.0.1/24 */
	assert_int_equal(mem.r[cp.builds[0].rec.fib_base][2].kind, ROUTE_VIA);   /* 192.168/16 */

	long vpc_put = step(&cp, 0, TXN_OP_PUT, SM_VPCS), subnet_put = step(&cp, 0, TXN_OP_PUT, SM_SUBNETS);
	long stats = step(&cp, 0, TXN_OP_STATS_NEW, -1), bind = step(&cp, 0, TXN_OP_PUT, SM_IFINDEX_NICS);
	long attach = step(&cp, 0, TXN_OP_ATTACH, -1), nic_put = step(&cp, 0, TXN_OP_PUT, SM_NICS);
	assert_int_equal(vpc_put, 0);
	assert_true(vpc_put < subnet_put && subnet_put < stats && stats < bind && bind < attach && attach < nic_put);
	assert_int_equal(steps(&cp, TXN_OP_PUT, SM_VPCS), 1);
	assert_int_equal(cp.p.ops[cp.p.n - 1].kind, TXN_OP_BARRIER); /* a whole-state commit ends on a grace period */
	commit_plan_free(&cp);
	txn_state_free(&cur);
	txn_state_free(&want);
}

/* Routes changed in a whole state: the new table built aside and swapped in by one record update, nothing else. */
static void route_change_is_one_swap(void **unused)
{
	struct txn_state cur, want, after;
	struct commit_plan cp;

	txn_state_init(&want);
	vpc(&want, 7);
	subnet(&want, 7, "10.0.1.0", 24, "10.0.1.1");
	for (int i = 0; i < 20; i++) {
		char p[32];
		snprintf(p, sizeof(p), "172.16.%d.0", i);
		route(&want, 7, rt(p, 24, ROUTE_BLACKHOLE, NULL));
	}
	txn_state_init(&cur);
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	committed(&after, &want, &cp);
	__u32 old_base = cp.builds[0].rec.fib_base;
	commit_plan_free(&cp);
	txn_state_free(&cur);
	txn_state_free(&want);

	/* 172.16.3/24 now via the NIC, 172.16.4/24 gone, 172.17/16 new */
	assert_int_equal(txn_state_copy(&want, &after), 0);
	route(&want, 7, rt("172.16.3.0", 24, ROUTE_VIA, "10.0.1.5"));
	assert_true(table_del(&want.routes, &(struct txn_route_key){ .vni = 7, .prefix = ip("172.16.4.0"), .len = 24 }));
	route(&want, 7, rt("172.17.0.0", 16, ROUTE_BLACKHOLE, NULL));
	assert_int_equal(plan_commit(&io, &after, &want, &cp), 0);

	assert_int_equal(cp.nbuilds, 1);
	assert_false(cp.builds[0].is_new);
	assert_true(cp.builds[0].swap);
	assert_true(cp.builds[0].rec.fib_base != old_base);
	const struct route *t = mem.r[cp.builds[0].rec.fib_base];
	assert_int_equal(mem.n[cp.builds[0].rec.fib_base], 21); /* 20 - 1 + 1 static, 1 connected */
	assert_int_equal(cp.builds[0].rec.route_count, 21);
	assert_int_equal(t[0].kind, ROUTE_CONNECTED); /* 10.0.1/24 */
	assert_int_equal(t[4].prefix, ip("172.16.3.0"));
	assert_int_equal(t[4].kind, ROUTE_VIA);
	assert_int_equal(t[5].prefix, ip("172.16.5.0")); /* 172.16.4/24 is out */
	assert_int_equal(t[20].prefix, ip("172.17.0.0"));
	/* the whole commit: one record update, then the grace period */
	assert_int_equal(cp.p.n, 2);
	assert_int_equal(cp.p.ops[0].kind, TXN_OP_PUT);
	assert_int_equal(cp.p.ops[0].map, SM_VPCS);
	assert_memory_equal(cp.p.ops[0].value, &cp.builds[0].rec, sizeof(struct vpc));
	assert_int_equal(cp.p.ops[1].kind, TXN_OP_BARRIER);
	/* the old table's lines are not released here: fib_install hands them to the quarantine itself */
	assert_int_equal(steps(&cp, TXN_OP_FIB_RELEASE, -1), 0);
	commit_plan_free(&cp);
	txn_state_free(&want);
	txn_state_free(&after);
}

/*
 * A single command's state knows one route of the VPC: the new table is the
 * live one (read through io) with the edit merged in, and the grace period is
 * left to a later commit.
 */
static void partial_edit_merges_into_the_live_table(void **unused)
{
	struct txn_state full, cur, want, after;
	struct commit_plan cp;

	txn_state_init(&full);
	vpc(&full, 7);
	route(&full, 7, rt("10.0.0.0", 8, ROUTE_BLACKHOLE, NULL));
	route(&full, 7, rt("10.5.0.0", 16, ROUTE_BLACKHOLE, NULL));
	route(&full, 7, rt("10.9.0.0", 16, ROUTE_BLACKHOLE, NULL));
	txn_state_init(&cur);
	assert_int_equal(plan_commit(&io, &cur, &full, &cp), 0);
	committed(&after, &full, &cp);
	commit_plan_free(&cp);
	txn_state_free(&cur);

	/* what `route add 10.7.0.0/16 vpc 7 blackhole` loads: the VPC, and the one (absent) route */
	txn_state_init(&cur);
	cur.routes_partial = true;
	assert_non_null(table_put(&cur.vpcs, table_get(&after.vpcs, &(__u32){ 7 })));
	struct txn_route_key k = txn_route_key(7, ip("10.7.0.0"), 16);
	assert_non_null(table_put(&cur.route_points, &k));
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	route(&want, 7, rt("10.7.0.0", 16, ROUTE_BLACKHOLE, NULL));
	unsigned int installs = mem.installs;
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);

	assert_int_equal(mem.installs, installs + 1);
	const struct route *t = mem.r[cp.builds[0].rec.fib_base];
	assert_int_equal(mem.n[cp.builds[0].rec.fib_base], 4);
	assert_int_equal(t[2].prefix, ip("10.7.0.0")); /* merged in order */
	assert_int_equal(t[3].prefix, ip("10.9.0.0"));
	assert_int_equal(cp.p.n, 1); /* the swap, and no grace period */
	assert_int_equal(steps(&cp, TXN_OP_PUT, SM_VPCS), 1);
	commit_plan_free(&cp);
	txn_state_free(&want);

	/* and `route del 10.5.0.0/16 vpc 7`: taken out of the live table */
	txn_state_free(&cur);
	txn_state_init(&cur);
	cur.routes_partial = true;
	assert_non_null(table_put(&cur.vpcs, table_get(&after.vpcs, &(__u32){ 7 })));
	k = txn_route_key(7, ip("10.5.0.0"), 16);
	assert_non_null(table_put(&cur.route_points, &k));
	route(&cur, 7, rt("10.5.0.0", 16, ROUTE_BLACKHOLE, NULL));
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	assert_true(table_del(&want.routes, &k));
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	t = mem.r[cp.builds[0].rec.fib_base];
	assert_int_equal(mem.n[cp.builds[0].rec.fib_base], 2);
	assert_int_equal(t[0].prefix, ip("10.0.0.0"));
	assert_int_equal(t[1].prefix, ip("10.9.0.0"));
	assert_int_equal(cp.p.n, 1);
	commit_plan_free(&cp);
	txn_state_free(&want);
	txn_state_free(&cur);
	txn_state_free(&after);
	txn_state_free(&full);
}

/* Removals come after the grace period, references before what they point to: NIC, subnet, then the VPC and its table. */
static void removals_follow_the_grace_period(void **unused)
{
	struct txn_state cur, want, after;
	struct commit_plan cp;

	txn_state_init(&want);
	vpc(&want, 7);
	subnet(&want, 7, "10.0.1.0", 24, "10.0.1.1");
	route(&want, 7, rt("0.0.0.0", 0, ROUTE_VIA, "10.0.1.5"));
	nic(&want, 7, "10.0.1.5", 42, 0);
	txn_state_init(&cur);
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	committed(&after, &want, &cp);
	struct vpc rec = cp.builds[0].rec;
	commit_plan_free(&cp);
	txn_state_free(&cur);
	txn_state_free(&want);

	txn_state_init(&want); /* everything goes */
	assert_int_equal(plan_commit(&io, &after, &want, &cp), 0);
	assert_int_equal(cp.nbuilds, 0);
	long barrier = step(&cp, 0, TXN_OP_BARRIER, -1);
	long detach = step(&cp, 0, TXN_OP_DETACH, -1), unbind = step(&cp, 0, TXN_OP_DEL, SM_IFINDEX_NICS);
	long nic_del = step(&cp, 0, TXN_OP_DEL, SM_NICS), stats_del = step(&cp, 0, TXN_OP_DEL, SM_NIC_STATS);
	long subnet_del = step(&cp, 0, TXN_OP_DEL, SM_SUBNETS), vpc_del = step(&cp, 0, TXN_OP_DEL, SM_VPCS);
	long release = step(&cp, 0, TXN_OP_FIB_RELEASE, -1);
	assert_int_equal(barrier, 0);
	assert_true(barrier < detach && detach < unbind && unbind < nic_del && nic_del < stats_del);
	assert_true(stats_del < subnet_del && subnet_del < vpc_del && vpc_del + 1 == release);
	assert_int_equal(release + 1, (long)cp.p.n); /* the last step: nothing else to undo for the routes */
	__u32 region[2];
	memcpy(region, cp.p.ops[release].key, sizeof(region));
	assert_int_equal(region[0], rec.fib_base); /* the lines of the table that went */
	assert_int_equal(region[1], rec.fib_lines);
	commit_plan_free(&cp);
	txn_state_free(&want);
	txn_state_free(&after);
}

/* A NIC moved to another device: the new binding before the record, the old one undone after it. */
static void nic_move_binds_before_and_unbinds_after(void **unused)
{
	struct txn_state cur, want;
	struct commit_plan cp;

	txn_state_init(&cur);
	vpc(&cur, 7);
	subnet(&cur, 7, "10.0.1.0", 24, "10.0.1.1");
	nic(&cur, 7, "10.0.1.5", 42, 0);
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	struct txn_nic *moved = table_get(&want.nics, &(struct nic_key){ .vni = 7, .ip = ip("10.0.1.5") });
	assert_non_null(moved);
	moved->v.ifindex = 43;
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	assert_int_equal(steps(&cp, TXN_OP_STATS_NEW, -1), 0); /* the NIC exists: its counters stay */
	long bind = step(&cp, 0, TXN_OP_PUT, SM_IFINDEX_NICS), attach = step(&cp, 0, TXN_OP_ATTACH, -1);
	long rec = step(&cp, 0, TXN_OP_PUT, SM_NICS), detach = step(&cp, 0, TXN_OP_DETACH, -1);
	long unbind = step(&cp, 0, TXN_OP_DEL, SM_IFINDEX_NICS);
	assert_true(bind < attach && attach < rec && rec < detach && detach < unbind);
	assert_int_equal(cp.p.ops[attach].ifindex, 43);
	assert_int_equal(cp.p.ops[detach].ifindex, 42);
	assert_int_equal(steps(&cp, TXN_OP_PUT, SM_VPCS), 0);
	commit_plan_free(&cp);
	txn_state_free(&cur);
	txn_state_free(&want);
}

/* A group's rules change: the whole set, by priority, swapped in before a NIC that refers to the group is written. */
static void sg_rules_swap_before_nics_use_them(void **unused)
{
	struct txn_state cur, want;
	struct commit_plan cp;

	txn_state_init(&cur);
	vpc(&cur, 7);
	subnet(&cur, 7, "10.0.1.0", 24, "10.0.1.1");
	sg(&cur, 3, "web");
	sg_rule(&cur, 3, 10, 80);
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	sg_rule(&want, 3, 5, 443);
	nic(&want, 7, "10.0.1.5", 42, 3);
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	assert_int_equal(steps(&cp, TXN_OP_PUT, SM_SGS), 0); /* the group exists */
	long r1 = step(&cp, 0, TXN_OP_SG_RULE, -1), r2 = step(&cp, (size_t)r1 + 1, TXN_OP_SG_RULE, -1);
	long commit = step(&cp, 0, TXN_OP_SG_COMMIT, -1), nic_put = step(&cp, 0, TXN_OP_PUT, SM_NICS);
	assert_true(r1 >= 0 && r2 == r1 + 1 && commit == r2 + 1 && commit < nic_put);
	assert_int_equal(cp.p.ops[r1].ifindex, 5); /* by priority */
	assert_int_equal(cp.p.ops[r2].ifindex, 10);
	assert_int_equal(steps(&cp, TXN_OP_SG_RULE, -1), 2);
	commit_plan_free(&cp);

	/* the same rules again: nothing to swap */
	assert_int_equal(plan_commit(&io, &want, &want, &cp), 0);
	assert_int_equal(cp.p.n, 0);
	commit_plan_free(&cp);
	txn_state_free(&cur);
	txn_state_free(&want);
}

/* A full arena: the planner fails with -ENOSPC and leaves no plan behind. */
static void full_arena_fails_the_plan(void **unused)
{
	struct txn_state cur, want;
	struct commit_plan cp;

	txn_state_init(&cur);
	txn_state_init(&want);
	vpc(&want, 7);
	route(&want, 7, rt("10.0.0.0", 8, ROUTE_BLACKHOLE, NULL));
	mem.fail = -ENOSPC;
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), -ENOSPC);
	assert_int_equal(cp.p.n, 0);
	assert_int_equal(cp.nbuilds, 0);
	assert_null(cp.builds);
	txn_state_free(&cur);
	txn_state_free(&want);
}

/* The slot the plan gives NIC addr (its record's put), 0 when the plan does not put it. */
static __u32 slot_put(const struct commit_plan *cp, __u32 vni, const char *addr)
{
	struct nic_key k = { .vni = vni, .ip = ip(addr) };

	for (long i = 0; (i = step(cp, (size_t)i, TXN_OP_PUT, SM_NICS)) >= 0; i++)
		if (!memcmp(cp->p.ops[i].key, &k, sizeof(k))) {
			struct nic v;
			memcpy(&v, cp->p.ops[i].value, sizeof(v));
			return v.stats_slot;
		}
	return 0;
}

/* The state a commit of want on cur leaves: want with the slots the plan gave (as the maps would hold). */
static void with_slots(const struct commit_plan *cp, struct txn_state *st)
{
	for (struct txn_nic *n = NULL; (n = table_next(&st->nics, n));) {
		__u32 slot = slot_put(cp, n->k.vni, ip_str_of(n->k.ip));
		if (slot)
			n->v.stats_slot = slot;
	}
}

/*
 * Counter slots: a new NIC gets the lowest slot no NIC of the host holds (zeroed by its STATS_NEW
 * step, before its record), keeps it when it changes, and a slot freed in a plan is not given in
 * the same plan (the deleted NIC's packets may count there until the barrier), only in the next.
 * A wanted state's stats_slot (an apply document has none) is not configuration: no change.
 */
static void nic_slots_lowest_free_kept_and_not_reused_at_once(void **unused)
{
	struct txn_state cur, want, next;
	struct commit_plan cp;

	txn_state_init(&cur);
	txn_state_init(&want);
	vpc(&want, 7);
	subnet(&want, 7, "10.0.1.0", 24, "10.0.1.1");
	nic(&want, 7, "10.0.1.5", 42, 0);
	nic(&want, 7, "10.0.1.6", 43, 0);
	nic(&want, 7, "10.0.1.7", 44, 0);
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	__u32 a = slot_put(&cp, 7, "10.0.1.5"), b = slot_put(&cp, 7, "10.0.1.6"), c = slot_put(&cp, 7, "10.0.1.7");
	assert_true(a >= 1 && a <= 3 && b >= 1 && b <= 3 && c >= 1 && c <= 3 && a != b && b != c && a != c);
	/* each slot zeroed by the NIC's STATS_NEW, which comes before its record */
	for (long i = 0; (i = step(&cp, (size_t)i, TXN_OP_STATS_NEW, -1)) >= 0; i++) {
		__u32 slot;
		struct nic_key k;
		assert_int_equal(cp.p.ops[i].value_size, sizeof(slot));
		memcpy(&slot, cp.p.ops[i].value, sizeof(slot));
		memcpy(&k, cp.p.ops[i].key, sizeof(k));
		assert_int_equal(slot, slot_put(&cp, 7, ip_str_of(k.ip)));
	}
	assert_int_equal(steps(&cp, TXN_OP_STATS_NEW, -1), 3);
	assert_true(step(&cp, 0, TXN_OP_STATS_NEW, -1) < step(&cp, 0, TXN_OP_PUT, SM_NICS));
	with_slots(&cp, &want);
	commit_plan_free(&cp);
	txn_state_free(&cur);
	assert_int_equal(txn_state_copy(&cur, &want), 0);

	/* the same NICs wanted with no slot (an apply document): nothing to do */
	for (struct txn_nic *n = NULL; (n = table_next(&want.nics, n));)
		n->v.stats_slot = 0;
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	assert_int_equal(cp.p.n, 0);
	commit_plan_free(&cp);

	/* a NIC changed keeps its slot; one deleted and one added in the same plan: the new one gets 4 */
	txn_state_free(&want);
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	struct txn_nic *changed = table_get(&want.nics, &(struct nic_key){ .vni = 7, .ip = ip("10.0.1.6") });
	changed->v.sg_id = 0;
	changed->v.ct_quota = 5;
	changed->v.stats_slot = 0;
	assert_true(table_del(&want.nics, &(struct nic_key){ .vni = 7, .ip = ip("10.0.1.5") }));
	nic(&want, 7, "10.0.1.8", 45, 0);
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	assert_int_equal(slot_put(&cp, 7, "10.0.1.6"), b);
	assert_int_equal(slot_put(&cp, 7, "10.0.1.8"), 4);
	assert_int_equal(steps(&cp, TXN_OP_STATS_NEW, -1), 1);
	with_slots(&cp, &want);
	commit_plan_free(&cp);

	/* the next plan gives the freed slot (the lowest) to a new NIC */
	assert_int_equal(txn_state_copy(&next, &want), 0);
	nic(&next, 7, "10.0.1.9", 46, 0);
	assert_int_equal(plan_commit(&io, &want, &next, &cp), 0);
	assert_int_equal(slot_put(&cp, 7, "10.0.1.9"), a);
	commit_plan_free(&cp);
	txn_state_free(&cur);
	txn_state_free(&want);
	txn_state_free(&next);
}

/* What the maps hold besides a partly loaded cur (a single command): slots 1 and 2. */
static int two_slots_used(void *ctx, __u64 *used)
{
	(void)ctx;
	used[0] |= 0x6;
	return 0;
}

/* A single command's cur holds only the NICs it names: the slots of the others come from io. */
static void nic_slots_of_a_partial_state_come_from_the_maps(void **unused)
{
	struct txn_state cur, want;
	struct table_io pio = io;
	struct commit_plan cp;

	pio.nic_slots = two_slots_used;
	txn_state_init(&cur);
	vpc(&cur, 7);
	subnet(&cur, 7, "10.0.1.0", 24, "10.0.1.1");
	cur.nics_partial = true;
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	nic(&want, 7, "10.0.1.5", 42, 0);
	assert_int_equal(plan_commit(&pio, &cur, &want, &cp), 0);
	assert_int_equal(slot_put(&cp, 7, "10.0.1.5"), 3);
	commit_plan_free(&cp);
	txn_state_free(&cur);
	txn_state_free(&want);
}

/* NIC_SLOTS - 1 NICs fill the host: the next one is refused (-ENOBUFS) and nothing is planned. */
static void nic_slots_full_refuses_the_next_nic(void **unused)
{
	struct txn_state cur, want;
	struct commit_plan cp;
	struct txn_nic n;

	txn_state_init(&cur);
	vpc(&cur, 7);
	subnet(&cur, 7, "10.0.0.0", 8, "10.0.0.1");
	assert_int_equal(table_reserve(&cur.nics, NIC_SLOTS), 0);
	memset(&n, 0, sizeof(n));
	n.k.vni = 7;
	n.v.flags = NIC_F_REMOTE;
	for (__u32 i = 1; i < NIC_SLOTS; i++) {
		n.k.ip = htonl(0x0a000000U + 1 + i);
		n.v.stats_slot = i;
		assert_non_null(table_put(&cur.nics, &n));
	}
	assert_int_equal(txn_state_copy(&want, &cur), 0);
	nic(&want, 7, "10.255.255.250", 42, 0);
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), -ENOBUFS);
	assert_int_equal(cp.p.n, 0);
	/* one NIC less: the new one gets its slot */
	n.k.ip = htonl(0x0a000000U + 1 + 77);
	assert_true(table_del(&want.nics, &n.k));
	assert_true(table_del(&cur.nics, &n.k));
	assert_int_equal(plan_commit(&io, &cur, &want, &cp), 0);
	assert_int_equal(slot_put(&cp, 7, "10.255.255.250"), 77);
	commit_plan_free(&cp);
	txn_state_free(&cur);
	txn_state_free(&want);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
static const struct CMUnitTest plan_tests[] = {
	T(same_state_plans_nothing),
	T(new_vpc_is_built_before_its_record),
	T(route_change_is_one_swap),
	T(partial_edit_merges_into_the_live_table),
	T(removals_follow_the_grace_period),
	T(nic_move_binds_before_and_unbinds_after),
	T(sg_rules_swap_before_nics_use_them),
	T(full_arena_fails_the_plan),
	T(nic_slots_lowest_free_kept_and_not_reused_at_once),
	T(nic_slots_of_a_partial_state_come_from_the_maps),
	T(nic_slots_full_refuses_the_next_nic),
};

SUITE(plan_suite, "plan", plan_tests)
