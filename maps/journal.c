/* maps/journal.c — the transaction journal: written before the commit point, replayed to the end by whoever comes next. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/journal.h"
#include "maps/clock.h"
#include "maps/fib.h"
#include "maps/map_io.h"
#include "maps/rcu.h"
#include "maps/sg_table.h"

struct txn_times txn_times;

static int journal_fd = -1;
static char journal_dir[PATH_MAX];

int journal_open(struct store *s, bool create)
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

int head_read(int jfd, struct txn_head *h)
{
	__u32 k = TXN_HEAD_KEY;
	if (bpf_map_lookup_elem(jfd, &k, h)) {
		memset(h, 0, sizeof(*h));
		return errno == ENOENT ? 0 : -errno;
	}
	return 0;
}

int head_write(int jfd, enum txn_head_state state, __u32 nops)
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

static int exec_op(struct store *s, const struct txn_op *op, const struct txn_hooks *h)
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
		/*
		 * A new NIC's counters: its slot zeroed (it may hold a deleted NIC's counts), then its drop
		 * counters created. The entry in nic_stats says the step is done, so a replay after a crash
		 * does not zero a slot the NIC may have counted in since.
		 */
		int ncpu = libbpf_num_possible_cpus();
		size_t size = (size_t)(ncpu > 0 ? ncpu : 1) * sizeof(struct nic_drops);
		__u32 slot = 0;
		void *vals = calloc(1, size);
		if (!vals)
			return -ENOMEM;
		if (op->value_size == sizeof(slot))
			memcpy(&slot, op->value, sizeof(slot));
		if (bpf_map_lookup_elem(s->fd[SM_NIC_STATS], op->key, vals)) {
			memset(vals, 0, size);
			if (slot)
				err = store_percpu_zero(s->fd[SM_NIC_COUNTERS], &slot, NIC_COUNTERS_WORDS, BPF_ANY);
			if (!err && bpf_map_update_elem(s->fd[SM_NIC_STATS], op->key, vals, BPF_NOEXIST) && errno != EEXIST)
				err = -errno;
		}
		free(vals);
		return err;
	}
	case TXN_OP_ATTACH:
		return h && h->attach ? h->attach((int)op->ifindex) : -ENOTSUP;
	case TXN_OP_DETACH:
		return h && h->detach ? h->detach((int)op->ifindex) : 0;
	case TXN_OP_BARRIER:
		if ((err = rcu_wait()))
			return err;
		fib_settle(); /* the fib regions replaced so far have no reader left */
		return 0;
	case TXN_OP_SG_RULE:
		return 0; /* read by the SG_COMMIT that follows */
	case TXN_OP_FIB_RELEASE: {
		__u32 region[2];
		memcpy(region, op->key, sizeof(region));
		return fib_release_lines(s->fd[SM_FIB], region[0], region[1]);
	}
	case TXN_OP_FIB_WRITE: {
		__u32 at[3], words[FIB_LINE_WORDS];
		memcpy(at, op->key, sizeof(at));
		if (at[2] > FIB_LINE_WORDS || at[2] * sizeof(__u32) > sizeof(op->value))
			return -EINVAL;
		memcpy(words, op->value, at[2] * sizeof(__u32));
		return fib_write_words(s->fd[SM_FIB], at[0], at[1], at[2], words);
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
		[TXN_OP_SG_RULE] = "sg rule",
		[TXN_OP_SG_COMMIT] = "sg rules swap", [TXN_OP_SG_PURGE] = "sg purge", [TXN_OP_FIB_RELEASE] = "fib release",
		[TXN_OP_FIB_WRITE] = "fib write",
	};
	return op->kind < sizeof(names) / sizeof(names[0]) && names[op->kind] ? names[op->kind] : "?";
}

/* Runs ops in order to the end; a failing op is reported and skipped (the commit point is behind us). */
static int exec_ops(struct store *s, const struct txn_op *ops, size_t n, const struct txn_hooks *h)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		if (i == n / 2)
			txn_crash_point("apply");
		if (h && h->progress && (i % 4096 == 0 || i + 1 == n)) /* a journal of many NICs or groups */
			h->progress("applying the transaction", i + 1, n);
		double t0 = clock_ms(); /* timed always (a clock read per step): txn.c prints them under -v */
		int err = ops[i].kind == TXN_OP_SG_COMMIT ? exec_sg_commit(s, ops, i)
				: exec_op(s, &ops[i], h);
		{
			double dt = clock_ms() - t0;
			if (ops[i].kind == TXN_OP_BARRIER)
				txn_times.barrier += dt;
			else if (ops[i].kind == TXN_OP_PUT && ops[i].map == SM_VPCS)
				txn_times.swap += dt;
			else
				txn_times.other += dt;
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
	return failed ? -EIO : 0;
}

/* Journal the ops, mark them committed (the commit point), run them, go idle. */
int journal_run(struct store *s, int jfd, struct txn_plan *p, const struct txn_hooks *h)
{
	__u32 *idx;
	int err;

	if (p->n >= TXN_JOURNAL_MAX)
		return -E2BIG;
	idx = malloc((p->n + 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		idx[i] = (__u32)i;
	err = write_entries(jfd, idx, sizeof(*idx), p->ops, sizeof(*p->ops), p->n);
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
	int ran = exec_ops(s, p->ops, p->n, h);
	txn_crash_point("done");
	head_write(jfd, TXN_IDLE, 0);
	delete_entries(jfd, idx, sizeof(*idx), p->n);
	free(idx);
	return ran;
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
		err = exec_ops(s, ops, head.nops, h);
		free(ops);
	} /* else killed before its commit point: the tables it built aside are lines no record points at, free */
	if (err && err != -EIO)
		return err;
	head_write(jfd, TXN_IDLE, 0);
	/* leftover op entries are harmless (the head says how many count); free them anyway */
	for (__u32 i = 0; i < head.nops; i++)
		bpf_map_delete_elem(jfd, &i);
	return 1;
}
