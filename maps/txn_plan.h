/* maps/txn_plan.h — the planner's output: journal steps, the route tables built aside, and the hints that make replay exact. */
#ifndef VPCBPF_TXN_PLAN_H
#define VPCBPF_TXN_PLAN_H

#include "maps/txn.h"
#include "maps/route_groups.h"

struct txn_purge_hint {
	size_t op; /* index of the PURGE or ROUTE_SYNC op */
	struct gen_entries e;   /* PURGE: the keys to delete; ROUTE_SYNC: the entries to write */
	struct gen_entries del; /* ROUTE_SYNC: the keys to delete */
};

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

/*
 * Where the planner reads a VPC's live route table and builds new ones aside:
 * the fib arena for a commit (maps/txn.c), memory in tests
 * (tests/unit/test_plan.c). The planner itself touches no map.
 */
struct table_io {
	void *ctx;
	/* The routes of rec's live table, sorted by route_order: malloc'd (NULL when none). */
	int (*routes)(void *ctx, const struct vpc *rec, struct route **out, size_t *n);
	/* routes[0..n), sorted, built aside as a new table: rec's index fields and route_count point at it. */
	int (*install)(void *ctx, const struct route *routes, size_t n, struct vpc *rec);
};

void commit_plan_free(struct commit_plan *cp);
struct txn_op mkop(enum txn_op_kind kind);
/* The plan that makes the host (loaded as cur) equal to want: new tables are built aside through io. */
int plan_commit(const struct table_io *io, const struct txn_state *cur, const struct txn_state *want,
		struct commit_plan *cp);

#endif
