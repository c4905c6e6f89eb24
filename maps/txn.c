/* maps/txn.c — one transaction: plan it, build its tables aside, commit it through the journal. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "maps/txn.h"
#include "maps/clock.h"
#include "maps/fib.h"
#include "maps/journal.h"
#include "maps/txn_plan.h"

bool txn_timing;

/* The planner's tables in the fib arena (the planner itself touches no map). */
static int arena_routes(void *ctx, const struct vpc *rec, struct route **out, size_t *n)
{
	struct store *s = ctx;
	return fib_routes(s->fd[SM_FIB], rec, out, n);
}

static int arena_install(void *ctx, const struct route *routes, size_t n, struct vpc *rec)
{
	struct store *s = ctx;
	return fib_install(s->fd[SM_FIB], s->fd[SM_VPCS], routes, n, rec);
}

static int arena_patch(void *ctx, const struct vpc *rec, const struct vgroup *put, const struct vgroup *del,
		       struct fib_patch *out)
{
	struct store *s = ctx;
	return fib_patch(s->fd[SM_FIB], rec, put ? put->r : NULL, put ? put->n : 0, del ? del->r : NULL,
			 del ? del->n : 0, out);
}

/* The slots of every NIC in the maps, for a plan whose cur holds only some (see txn_plan.h). */
static int slot_of(const void *key, const void *value, void *ctx)
{
	const struct nic *n = value;
	__u64 *used = ctx;

	(void)key;
	if (n->stats_slot < NIC_SLOTS)
		used[n->stats_slot / 64] |= 1ULL << (n->stats_slot % 64);
	return 0;
}

static int arena_nic_slots(void *ctx, __u64 *used)
{
	struct store *s = ctx;
	return store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), slot_of, used);
}

static int commit(struct store *s, const struct txn_state *cur, const struct txn_state *want,
		  const struct txn_hooks *h, char *msg, size_t msglen)
{
	const struct table_io io = { .ctx = s, .routes = arena_routes, .install = arena_install, .patch = arena_patch,
				  .nic_slots = arena_nic_slots };
	struct commit_plan cp;
	int jfd, err;

	/* The plan builds the new tables aside: if we die here they are lines no record points at, free. */
	double t0 = clock_ms(), t_plan, t_commit;
	err = plan_commit(&io, cur, want, &cp);
	t_plan = clock_ms() - t0;
	if (err) {
		__u32 lines = 0;
		if (err == -ENOSPC && fib_arena_size(s->fd[SM_FIB], &lines) == 0)
			snprintf(msg, msglen, "the route index is full (fib arena of %u lines of 64 bytes, for all VPCs and "
				 "both tables of a VPC being replaced): nothing changed", lines);
		else if (err == -ENOBUFS)
			snprintf(msg, msglen, "too many NICs on this host: at most %u, local and remote (one counter slot "
				 "each): nothing changed", NIC_SLOTS - 1);
		else
			snprintf(msg, msglen, "cannot plan the transaction: %s", strerror(-err));
		return err;
	}
	txn_crash_point("build");
	if (!cp.p.n) { /* nothing changes */
		commit_plan_free(&cp);
		return 0;
	}
	if (cp.p.n >= TXN_JOURNAL_MAX) {
		snprintf(msg, msglen, "too many changes for one transaction (%zu steps, at most %u)", cp.p.n,
			 TXN_JOURNAL_MAX - 1);
		commit_plan_free(&cp);
		return -E2BIG;
	}
	jfd = journal_open(s, true);
	if (jfd < 0) {
		snprintf(msg, msglen, "cannot open the transaction journal: %s", strerror(-jfd));
		commit_plan_free(&cp);
		return jfd;
	}
	memset(&txn_times, 0, sizeof(txn_times));
	t_commit = clock_ms();
	err = journal_run(s, jfd, &cp.p, h);
	if (txn_timing)
		fprintf(stderr, "vpcbpf: txn: plan and build %.1f ms (%zu VPC record(s)), journal+commit %.1f ms, "
			"steps: %zu, vpc record updates (the swap) %.3f ms, other steps %.1f ms, RCU wait %.1f ms\n",
			t_plan, cp.nbuilds, clock_ms() - t_commit - txn_times.swap - txn_times.barrier - txn_times.other,
			cp.p.n, txn_times.swap, txn_times.other, txn_times.barrier);
	if (err == -EIO)
		snprintf(msg, msglen, "the transaction is committed, but some steps failed (see warnings)");
	else if (err)
		snprintf(msg, msglen, "cannot commit: %s (nothing changed)", strerror(-err));
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

