/* maps/journal.h — the transaction journal (a map in the pin dir): its head, writing and replaying its steps. */
#ifndef VPCBPF_JOURNAL_H
#define VPCBPF_JOURNAL_H

#include "maps/txn.h"

/* Time spent replaying steps by kind, for txn_timing. */
struct txn_times {
	double swap, barrier, other;
};
extern struct txn_times txn_times;

int journal_open(struct store *s, bool create);
int head_read(int jfd, struct txn_head *h);
int head_write(int jfd, enum txn_head_state state, __u32 nops);
/* Writes p's steps, marks them committed (the commit point), runs them, marks the journal idle. */
int journal_run(struct store *s, int jfd, struct txn_plan *p, const struct txn_hooks *h);

#endif
