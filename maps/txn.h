/* maps/txn.h — transactions: the commit of a wanted state (the model: txn_state.h; its steps: journal.h, txn_plan.h). */
#ifndef VPCBPF_TXN_H
#define VPCBPF_TXN_H

#include "maps/txn_state.h"
#include "maps/journal.h"

/*
 * How a transaction becomes visible (see docs/transactions.md):
 *
 *  1. build (maps/txn_plan.c): every VPC whose route table changes gets a
 *     new fib region (maps/fib.c: the index and the list of its routes) in
 *     lines no VPC record points at. Nothing reads it yet: the datapath,
 *     show and save follow the record's fib region. A single command's
 *     route edit instead rebuilds one chunk of the live region in its spare
 *     lines (maps/fib.h fib_patch), which nothing reads either until the
 *     journal's FIB_WRITE steps publish it, just before the record.
 *  2. commit point: the list of the remaining map operations is written to
 *     the journal map, then one update of the journal head marks it
 *     committed. Before that update the host is in the old state (a region
 *     built aside and left behind is free lines), after it in the new one (the journal is
 *     replayed to the end by whoever takes the lock next).
 *  3. apply the journal, in an order that never lets the datapath follow a
 *     reference to something missing: new VPCs, subnets and NICs first, then
 *     one vpc record update per VPC swaps its route table, then an RCU grace
 *     period, then removals (maps/journal.c).
 *
 * Every journal operation is idempotent, so replaying a journal that was
 * partly applied finishes it.
 */

/*
 * Makes the host's state equal to want, as one transaction (cur: the state
 * loaded under the same lock). Returns 0, or a negative errno with msg set;
 * a failure before the commit point changes nothing.
 */
int txn_commit(struct store *s, const struct txn_state *cur, const struct txn_state *want,
	       const struct txn_hooks *h, char *msg, size_t msglen);

/* Set to print the time of each phase of a commit on stderr (vpcbpf -v). */
extern bool txn_timing;

#endif
