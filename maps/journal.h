/* maps/journal.h — the transaction journal (a map in the pin dir): its head, writing and replaying its steps. */
#ifndef VPCBPF_JOURNAL_H
#define VPCBPF_JOURNAL_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "maps/vpcbpf.h"
#include "maps/store.h"

#define MAP_TXN_JOURNAL "txn_journal"
#define TXN_JOURNAL_MAX (1U << 20) /* operations per transaction */
#define TXN_HEAD_KEY 0xffffffffU

enum txn_op_kind {
	TXN_OP_PUT = 1,       /* map[key] = value */
	TXN_OP_DEL,           /* delete map[key] (missing is fine) */
	TXN_OP_STATS_NEW,     /* a new NIC's per-CPU counters: its slot (value) zeroed, its drops created; kept if present */
	TXN_OP_ATTACH,        /* NIC program on ifindex (tc filter replace) */
	TXN_OP_DETACH,        /* our filter off ifindex */
	TXN_OP_BARRIER,       /* RCU grace period: no packet still uses what came before */
	/* 7-10 and 15 are retired: they wrote the routes hash, which no longer exists */
	TXN_OP_SG_RULE = 11,  /* one rule (vni = sg_id, ifindex = priority, value = struct sg_rule) for ... */
	TXN_OP_SG_COMMIT,     /* ... the rule set of group vni: the SG_RULE steps before it, swapped in whole */
	TXN_OP_SG_PURGE,      /* every rule and compiled entry of group vni (its record is gone) */
	TXN_OP_FIB_RELEASE,   /* fib lines (key: base, lines) no record points at any more: into quarantine */
	TXN_OP_FIB_WRITE = 16, /* words of a fib line (key: line, first word, count; value: the words), each stored
				  atomically: a chunk edited in place is published (maps/fib.h fib_patch) */
};

enum txn_head_state {
	TXN_IDLE = 0,
	/* 1 is retired (route entries were being written aside): like IDLE, nothing to finish */
	TXN_COMMITTED = 2, /* the journal holds nops operations to replay */
};

struct txn_op {
	__u8 kind;   /* enum txn_op_kind */
	__u8 map;    /* enum store_map, for PUT and DEL */
	__u16 _pad0;
	__u32 vni;
	__u32 ifindex;
	__u8 key_size;
	__u8 value_size;
	__u16 _pad;
	__u8 key[16];
	__u8 value[64];
};
_Static_assert(sizeof(struct txn_op) == 96, "struct txn_op layout");

struct txn_head {
	__u32 state; /* enum txn_head_state */
	__u32 nops;
	__u64 serial;
	__u8 _pad[80];
};
_Static_assert(sizeof(struct txn_head) == sizeof(struct txn_op), "journal head fits an op slot");

/* What the map layer asks of the tool (attaching programs lives in cli/). */
struct txn_hooks {
	int (*attach)(int ifindex);
	int (*detach)(int ifindex);
	/* Called now and then during long phases; total may be 0 when unknown. */
	void (*progress)(const char *phase, size_t done, size_t total);
};

/* An ordered list of journal operations. */
struct txn_plan {
	struct txn_op *ops;
	size_t n, cap;
};

/* Finishes or discards what a killed command left (the lock must be held). 0: nothing to do, 1: recovered. */
int txn_recover(struct store *s, const struct txn_hooks *h);
/* true when the journal says a transaction was cut short (cheap: one lookup, no lock). */
bool txn_pending(struct store *s);

/* Test hook: VPCBPF_TXN_CRASH=phase makes the tool _exit(9) at that phase (build, commit, apply). */
void txn_crash_point(const char *phase);

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
