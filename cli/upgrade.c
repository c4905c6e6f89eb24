/* cli/upgrade.c — dp up on a running host: migrates the one old layout it knows, refuses any other before anything changes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"
#include "cli/upgrade.h"
#include "maps/journal.h"

/*
 * libbpf reuses a pinned map only when type, key and value size, max_entries
 * and flags all match, and otherwise fails the whole load with a generic
 * error. Checking first lets dp up name the map and say what to do, while the
 * running datapath is still untouched. Migrating a changed layout is done
 * through the state document: save, dp down, dp up, apply.
 */
int dp_check_layout(struct bpf_object *obj, const char *pin_dir)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		char path[PATH_MAX + 64], have[128] = "", want[128];
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (!bpf_map__pin_path(m))
			continue; /* not pinned: private to the program */
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(m));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* created by this dp up */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			int err = errno;
			close(fd);
			return fail_errno(err, "cannot read the pinned map %s", path);
		}
		close(fd);
		if (info.type == bpf_map__type(m) && info.key_size == bpf_map__key_size(m) &&
		    info.value_size == bpf_map__value_size(m) && info.max_entries == bpf_map__max_entries(m) &&
		    info.map_flags == bpf_map__map_flags(m))
			continue;
		snprintf(have, sizeof(have), "type %u key %u value %u max_entries %u flags %#x", info.type, info.key_size,
			 info.value_size, info.max_entries, info.map_flags);
		snprintf(want, sizeof(want), "type %u key %u value %u max_entries %u flags %#x", bpf_map__type(m),
			 bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__max_entries(m), bpf_map__map_flags(m));
		return fail("pinned map \"%s\" has another layout (%s) than this vpcbpf expects (%s): nothing was changed; "
			    "to migrate: vpcbpf save > state.json; vpcbpf dp down; vpcbpf dp up ...; vpcbpf apply state.json",
			    bpf_map__name(m), have, want);
	}
	return 0;
}

/* ---- the migration to counter slots (see upgrade.h) ---- */

#define V1_NIC_SIZE 32    /* struct nic before stats_slot */
#define V1_STATS_WORDS 54 /* struct nic_stats per CPU: the traffic (4 words), then struct nic_drops */
#define V1_SUFFIX "_v1" /* bpffs refuses a dot in a name */

struct v1_nic {
	struct nic_key k;
	struct nic v;   /* the old record, its slot given here */
	__u64 *percpu;  /* ncpu * V1_STATS_WORDS, or NULL: no counters */
};

static const char *const v1_maps[] = { MAP_NICS, MAP_NIC_STATS };

static void pin_path(char *out, size_t len, const char *pin_dir, const char *name, const char *suffix)
{
	snprintf(out, len, "%s/%s%s", pin_dir, name, suffix);
}

/* A pin moved: pinned again at to, then unlinked at from (bpffs has no rename). 0 or -errno. */
static int pin_move(const char *from, const char *to)
{
	int fd = bpf_obj_get(from), err = 0;

	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, to) || unlink(from))
		err = -errno;
	close(fd);
	return err;
}

static int map_info_at(const char *path, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	int fd = bpf_obj_get(path), err = 0;

	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len))
		err = -errno;
	close(fd);
	return err;
}

struct v1_read {
	struct migration *m;
	size_t cap;
};

static int v1_collect(const void *key, const void *value, void *ctx)
{
	struct v1_read *r = ctx;
	struct migration *m = r->m;

	if (m->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		struct v1_nic *p = realloc(m->nics, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		m->nics = p;
		r->cap = cap;
	}
	memset(&m->nics[m->n], 0, sizeof(m->nics[m->n]));
	memcpy(&m->nics[m->n].k, key, sizeof(struct nic_key));
	memcpy(&m->nics[m->n].v, value, V1_NIC_SIZE);
	m->n++;
	return 0;
}

static int cmp_v1(const void *a, const void *b)
{
	const struct nic_key *x = &((const struct v1_nic *)a)->k, *y = &((const struct v1_nic *)b)->k;
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return ntohl(x->ip) < ntohl(y->ip) ? -1 : ntohl(x->ip) > ntohl(y->ip);
}

/* A transaction the old binary committed and did not finish writes records of the old size: it finishes first. */
static int v1_journal_pending(const char *pin_dir)
{
	char path[PATH_MAX + 64];
	struct txn_head h;
	__u32 k = TXN_HEAD_KEY;
	int fd, pending;

	pin_path(path, sizeof(path), pin_dir, MAP_TXN_JOURNAL, "");
	if ((fd = bpf_obj_get(path)) < 0)
		return 0;
	pending = bpf_map_lookup_elem(fd, &k, &h) == 0 && h.state == TXN_COMMITTED;
	close(fd);
	return pending;
}

int dp_migrate_prepare(const char *pin_dir, struct migration *m)
{
	char path[PATH_MAX + 64], aside[PATH_MAX + 64];
	struct bpf_map_info nics, stats;
	struct v1_read r = { m, 0 };
	bool resume;
	int fd, sfd, err;

	memset(m, 0, sizeof(*m));
	/* NAME_v1 pins: a dp up died migrating; its new maps (if any) are dropped and it starts again */
	pin_path(aside, sizeof(aside), pin_dir, MAP_NICS, V1_SUFFIX);
	resume = access(aside, F_OK) == 0;
	pin_path(path, sizeof(path), pin_dir, resume ? MAP_NICS V1_SUFFIX : MAP_NICS, "");
	if (map_info_at(path, &nics) || nics.value_size != V1_NIC_SIZE)
		return 0; /* no datapath yet, or the layout of today */
	pin_path(path, sizeof(path), pin_dir, resume ? MAP_NIC_STATS V1_SUFFIX : MAP_NIC_STATS, "");
	if (map_info_at(path, &stats) || stats.type != BPF_MAP_TYPE_PERCPU_HASH ||
	    stats.value_size != V1_STATS_WORDS * sizeof(__u64))
		return fail("pinned map \"%s\" has the layout of an older vpcbpf but \"%s\" does not: nothing was changed; "
			    "to migrate: vpcbpf save > state.json; vpcbpf dp down; vpcbpf dp up ...; vpcbpf apply state.json",
			    MAP_NICS, MAP_NIC_STATS);
	if (!resume && v1_journal_pending(pin_dir))
		return fail("a transaction of the previous vpcbpf is not finished: nothing was changed; run any command "
			    "of the previous vpcbpf (vpcbpf show) to finish it, then dp up again");
	m->ncpu = libbpf_num_possible_cpus();
	if (m->ncpu <= 0)
		return fail("cannot count the CPUs");
	pin_path(path, sizeof(path), pin_dir, resume ? MAP_NICS V1_SUFFIX : MAP_NICS, "");
	if ((fd = bpf_obj_get(path)) < 0)
		return fail_errno(errno, "cannot open %s", path);
	err = store_foreach(fd, sizeof(struct nic_key), V1_NIC_SIZE, v1_collect, &r);
	close(fd);
	if (err)
		return fail_errno(err, "cannot read the NICs of the old layout (%s)", path);
	pin_path(path, sizeof(path), pin_dir, resume ? MAP_NIC_STATS V1_SUFFIX : MAP_NIC_STATS, "");
	if ((sfd = bpf_obj_get(path)) < 0)
		return fail_errno(errno, "cannot open %s", path);
	qsort(m->nics, m->n, sizeof(*m->nics), cmp_v1);
	for (size_t i = 0; i < m->n; i++) {
		__u64 *v = calloc((size_t)m->ncpu * V1_STATS_WORDS, sizeof(__u64));
		if (!v) {
			close(sfd);
			return fail("out of memory");
		}
		if (bpf_map_lookup_elem(sfd, &m->nics[i].k, v))
			free(v); /* no counters: they start at zero */
		else
			m->nics[i].percpu = v;
		m->nics[i].v.stats_slot = (__u32)i + 1; /* the lowest free slots, in key order */
		m->nics[i].v._pad = 0;
	}
	close(sfd);
	if (m->n >= NIC_SLOTS)
		return fail("the host has %zu NICs, more than the %u counter slots of this vpcbpf: nothing was changed", m->n,
			    NIC_SLOTS - 1);
	/* the old maps' pins set aside (the running programs keep the maps); the load pins new ones */
	for (size_t i = 0; i < sizeof(v1_maps) / sizeof(v1_maps[0]); i++) {
		pin_path(path, sizeof(path), pin_dir, v1_maps[i], "");
		pin_path(aside, sizeof(aside), pin_dir, v1_maps[i], V1_SUFFIX);
		if (resume) {
			unlink(path); /* what the dead dp up created */
			continue;
		}
		if ((err = pin_move(path, aside))) {
			m->active = true;
			dp_migrate_abort(pin_dir, m);
			return fail_errno(err, "cannot set %s aside", path);
		}
	}
	if (resume) {
		pin_path(path, sizeof(path), pin_dir, MAP_NIC_COUNTERS, "");
		unlink(path);
	}
	m->active = true;
	return 0;
}

int dp_migrate_finish(const char *pin_dir, struct migration *m, int nics_fd, int stats_fd, int counters_fd)
{
	size_t words = (size_t)m->ncpu;
	struct nic_counters *c = calloc(words, sizeof(*c));
	struct nic_drops *d = calloc(words, sizeof(*d));
	char aside[PATH_MAX + 64];
	int err = 0;

	if (!m->active)
		goto out;
	if (!c || !d) {
		err = fail("out of memory");
		goto out;
	}
	/* counters before records, as a transaction does: no packet counts into a slot not yet written */
	for (size_t i = 0; i < m->n && !err; i++) {
		const struct v1_nic *n = &m->nics[i];
		memset(c, 0, words * sizeof(*c));
		memset(d, 0, words * sizeof(*d));
		for (int cpu = 0; n->percpu && cpu < m->ncpu; cpu++) {
			memcpy(&c[cpu], n->percpu + (size_t)cpu * V1_STATS_WORDS, sizeof(*c));
			memcpy(&d[cpu], n->percpu + (size_t)cpu * V1_STATS_WORDS + NIC_COUNTERS_WORDS, sizeof(*d));
		}
		if (bpf_map_update_elem(counters_fd, &n->v.stats_slot, c, BPF_ANY) ||
		    bpf_map_update_elem(stats_fd, &n->k, d, BPF_ANY) || bpf_map_update_elem(nics_fd, &n->k, &n->v, BPF_ANY))
			err = fail_errno(errno, "cannot write NIC %u of the migration", (unsigned)i);
	}
	if (err)
		goto out;
	for (size_t i = 0; i < sizeof(v1_maps) / sizeof(v1_maps[0]); i++) {
		pin_path(aside, sizeof(aside), pin_dir, v1_maps[i], V1_SUFFIX);
		unlink(aside);
	}
	m->active = false;
	if (!opts.json)
		printf("migrated %zu NIC(s) to counter slots (maps %s and %s of an older vpcbpf), their counters kept\n",
		       m->n, MAP_NICS, MAP_NIC_STATS);
out:
	free(c);
	free(d);
	return err ? 1 : 0;
}

void dp_migrate_abort(const char *pin_dir, struct migration *m)
{
	char path[PATH_MAX + 64], aside[PATH_MAX + 64];

	if (!m->active)
		return;
	for (size_t i = 0; i < sizeof(v1_maps) / sizeof(v1_maps[0]); i++) {
		pin_path(path, sizeof(path), pin_dir, v1_maps[i], "");
		pin_path(aside, sizeof(aside), pin_dir, v1_maps[i], V1_SUFFIX);
		if (access(aside, F_OK) == 0) {
			unlink(path);
			pin_move(aside, path);
		}
	}
	pin_path(path, sizeof(path), pin_dir, MAP_NIC_COUNTERS, "");
	unlink(path);
	m->active = false;
}

void dp_migrate_free(struct migration *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->nics[i].percpu);
	free(m->nics);
	memset(m, 0, sizeof(*m));
}
