/* maps/txn.c — one transaction: plan it, build its tables aside, commit it through the journal. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "maps/txn.h"
#include "maps/clock.h"
#include "maps/fib.h"
#include "maps/journal.h"
#include "maps/map_io.h"
#include "maps/route_gc.h"
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

static int commit(struct store *s, const struct txn_state *cur, const struct txn_state *want,
		  const struct txn_hooks *h, char *msg, size_t msglen)
{
	struct commit_plan cp;
	size_t done = 0;
	int jfd, err;

	const struct table_io io = { .ctx = s, .routes = arena_routes, .install = arena_install };
	double t0 = clock_ms(), t_plan, t_build = 0, t_commit;
	err = plan_commit(&io, cur, want, &cp);
	t_plan = clock_ms() - t0;
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
	t_build = clock_ms() - t0 - t_plan;
	memset(&txn_times, 0, sizeof(txn_times));
	t_commit = clock_ms();
	err = journal_run(s, jfd, &cp.p, h);
	if (txn_timing)
		fprintf(stderr, "vpcbpf: txn: plan %.1f ms, build %.1f ms (%zu entries in %zu VPC(s)), journal+commit %.1f ms, "
			"steps: %zu, vpc record updates (the swap) %.3f ms, config entries changed in place %.1f ms, "
			"other steps %.1f ms, RCU wait %.1f ms, old generations deleted %.1f ms\n",
			t_plan, t_build, cp.build_entries, cp.nbuilds,
			clock_ms() - t_commit - txn_times.swap - txn_times.barrier - txn_times.purge - txn_times.sync -
				txn_times.other, cp.p.n, txn_times.swap, txn_times.sync, txn_times.other, txn_times.barrier,
			txn_times.purge);
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

