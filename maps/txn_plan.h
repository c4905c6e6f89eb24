/* maps/txn_plan.h — the planner: the journal steps that make a host equal to a wanted state, and the route tables built aside. */
#ifndef VPCBPF_TXN_PLAN_H
#define VPCBPF_TXN_PLAN_H

#include "maps/txn_state.h"
#include "maps/journal.h"
#include "maps/route_groups.h"
#include "maps/fib.h"

/* A VPC whose record changes: its new table built aside (when its routes change), or only its name. */
struct build {
	__u32 vni;
	struct vpc rec; /* the record to put: its fib fields point at the new table */
	bool is_new;    /* the VPC itself is new: its record goes first, before anything refers to it */
	bool swap;      /* an existing VPC's record changes (table or name): the swap, before the grace period */
	bool patched;   /* its table is edited in place: patch is published just before the record's update */
	struct fib_patch patch;
};

struct commit_plan {
	struct build *builds;
	size_t nbuilds;
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
	/*
	 * rec's live table with put (sorted) put in and del (sorted) taken out,
	 * written aside in place (maps/fib.h fib_patch). NULL, or -EAGAIN: the
	 * table is built whole through routes and install instead.
	 */
	int (*patch)(void *ctx, const struct vpc *rec, const struct vgroup *put, const struct vgroup *del,
		     struct fib_patch *out);
	/*
	 * Sets bit n of used[NIC_SLOTS / 64] for the counter slot n of every NIC of the host: asked
	 * only when cur holds some NICs (a single command's lazy load), to give a new one a free slot.
	 * NULL: cur's NICs are all there are.
	 */
	int (*nic_slots)(void *ctx, __u64 *used);
};

void txn_plan_init(struct txn_plan *p);
void txn_plan_free(struct txn_plan *p);
int txn_plan_put(struct txn_plan *p, enum store_map m, const void *key, size_t ksz, const void *val, size_t vsz);
int txn_plan_del(struct txn_plan *p, enum store_map m, const void *key, size_t ksz);
int txn_plan_op(struct txn_plan *p, const struct txn_op *op);

void commit_plan_free(struct commit_plan *cp);
struct txn_op mkop(enum txn_op_kind kind);
/*
 * The plan that makes the host (loaded as cur) equal to want: new tables are built aside through io.
 * A NIC keeps its counter slot; a new one gets the lowest slot no NIC of cur holds (want's
 * stats_slot is ignored); -ENOBUFS when there is none (NIC_SLOTS - 1 NICs).
 */
int plan_commit(const struct table_io *io, const struct txn_state *cur, const struct txn_state *want,
		struct commit_plan *cp);

#endif
