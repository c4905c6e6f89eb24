/* maps/store.c — opens the pinned maps under the pin dir and locks it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/store.h"

const char *const store_map_names[SM__COUNT] = {
	[SM_HOST] = MAP_HOST,
	[SM_VPCS] = MAP_VPCS,
	[SM_SUBNETS] = MAP_SUBNETS,
	[SM_NICS] = MAP_NICS,
	[SM_IFINDEX_NICS] = MAP_IFINDEX_NICS,
	[SM_FIB] = MAP_FIB,
	[SM_DROPS] = MAP_DROPS,
	[SM_NIC_STATS] = MAP_NIC_STATS,
	[SM_EVENTS] = MAP_EVENTS,
	[SM_SGS] = MAP_SGS,
	[SM_SG_RULES] = MAP_SG_RULES,
	[SM_SG_PORTS] = MAP_SG_PORTS,
	[SM_SG_ADDRS] = MAP_SG_ADDRS,
	[SM_CONNTRACK] = MAP_CONNTRACK,
	[SM_CT_COUNTS] = MAP_CT_COUNTS,
	[SM_NAT_HOST] = MAP_NAT_HOST,
	[SM_NAT] = MAP_NAT,
	[SM_EIPS] = MAP_EIPS,
	[SM_NIC_EIPS] = MAP_NIC_EIPS,
	[SM_SUBNET_DHCP] = MAP_SUBNET_DHCP,
	[SM_NAT_COUNTS] = MAP_NAT_COUNTS,
	[SM_NIC_COUNTERS] = MAP_NIC_COUNTERS,
};

int store_mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int store_lock_dir(const char *pin_dir)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int store_open(struct store *s, const char *pin_dir)
{
	char path[PATH_MAX];

	memset(s, 0, sizeof(*s));
	snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", pin_dir);
	s->lock_fd = -1;
	for (int i = 0; i < SM__COUNT; i++)
		s->fd[i] = -1;
	for (int i = 0; i < SM__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, store_map_names[i]);
		s->fd[i] = bpf_obj_get(path);
		if (s->fd[i] < 0) {
			/* the caller says what it means: not loaded (ENOENT) or no privileges (EPERM, EACCES) */
			int err = -errno;
			store_close(s);
			return err;
		}
	}
	s->rm = (struct route_maps){ .vpcs_fd = s->fd[SM_VPCS], .fib_fd = s->fd[SM_FIB] };
	return 0;
}

void store_close(struct store *s)
{
	for (int i = 0; i < SM__COUNT; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]);
		s->fd[i] = -1;
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

int store_lock(struct store *s)
{
	if (s->lock_fd >= 0)
		return 0;
	s->lock_fd = store_lock_dir(s->pin_dir);
	if (s->lock_fd < 0) {
		int err = s->lock_fd;
		s->lock_fd = -1;
		return err;
	}
	return 0;
}

int store_host(struct store *s, struct host *h)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(s->fd[SM_HOST], &zero, h) ? -errno : 0;
}

int store_vpc(struct store *s, __u32 vni, struct vpc *v)
{
	return bpf_map_lookup_elem(s->fd[SM_VPCS], &vni, v) ? -errno : 0;
}

int store_nic(struct store *s, __u32 vni, __be32 ip, struct nic *n)
{
	struct nic_key k = { .vni = vni, .ip = ip };
	return bpf_map_lookup_elem(s->fd[SM_NICS], &k, n) ? -errno : 0;
}

/* The walk one key at a time: two syscalls an entry (get_next_key, lookup). key and value: the caller's buffers. */
static int foreach_one_by_one(int fd, size_t key_size, void *key, void *value, store_iter_fn fn, void *ctx)
{
	unsigned char next[STORE_MAX_KEY];
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value))
			continue; /* deleted meanwhile */
		ret = fn(key, value, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Every entry, in chunks of BPF_MAP_LOOKUP_BATCH: one syscall per chunk
 * instead of two per entry (a map of a million entries took seconds one key
 * at a time). A chunk is at most 8192 entries and FOREACH_BYTES of values,
 * so a per-CPU map (every CPU's value for each key) on a large machine
 * reads in smaller chunks, not in one huge buffer. Where the kernel or the
 * map type has no batch lookup, one key at a time.
 */
#define FOREACH_CHUNK 8192
#define FOREACH_BYTES (2U << 20)

int store_foreach(int fd, size_t key_size, size_t value_size, store_iter_fn fn, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in_batch = 0, out_batch = 0;
	unsigned char *keys, *vals;
	bool first = true;
	__u32 chunk;
	int err = 0;

	if (key_size > STORE_MAX_KEY || !value_size)
		return -E2BIG;
	chunk = value_size * FOREACH_CHUNK <= FOREACH_BYTES ? FOREACH_CHUNK : FOREACH_BYTES / value_size;
	if (chunk < 16)
		chunk = 16;
	keys = malloc(chunk * key_size);
	vals = malloc(chunk * value_size);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		keys = malloc(key_size);
		vals = malloc(value_size);
		err = keys && vals ? foreach_one_by_one(fd, key_size, keys, vals, fn, ctx) : -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = chunk;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals, &count, &opts);
		int e = r ? -errno : 0;
		if (r && e != -ENOENT) {
			if (first && (e == -EINVAL || e == -ENOTSUP || e == -EOPNOTSUPP || e == -ENOSPC))
				err = foreach_one_by_one(fd, key_size, keys, vals, fn, ctx);
			else
				err = e;
			break;
		}
		for (__u32 i = 0; i < count && !err; i++)
			err = fn(keys + i * key_size, vals + i * value_size, ctx);
		if (err || e == -ENOENT)
			break;
		in_batch = out_batch;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

void *store_row_push(void **rows, size_t *n, size_t *cap, size_t size)
{
	unsigned char *row;

	if (*n == *cap) {
		size_t grown = *cap ? *cap * 2 : 64;
		void *p = realloc(*rows, grown * size);
		if (!p)
			return NULL;
		*rows = p;
		*cap = grown;
	}
	row = (unsigned char *)*rows + (*n)++ * size;
	memset(row, 0, size);
	return row;
}

int store_percpu_zero(int fd, const void *key, size_t n, __u64 flags)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *zero;
	int err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	zero = calloc((size_t)ncpu * n, sizeof(__u64));
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, key, zero, flags))
		err = -errno;
	free(zero);
	return err;
}

int store_nic_stats(struct store *s, const struct nic_key *k, const struct nic *n, struct nic_stats *out)
{
	__u64 *w = (__u64 *)out;
	__u32 slot = n->stats_slot;
	int err;

	memset(out, 0, sizeof(*out));
	if (slot && (err = store_percpu_sum(s->fd[SM_NIC_COUNTERS], &slot, w, NIC_COUNTERS_WORDS)) == -ENOMEM)
		return err;
	if ((err = store_percpu_sum(s->fd[SM_NIC_STATS], k, w + NIC_COUNTERS_WORDS, NIC_DROPS_WORDS)) == -ENOMEM)
		return err;
	return 0;
}

int store_nic_stats_zero(struct store *s, const struct nic_key *k, const struct nic *n)
{
	__u32 slot = n->stats_slot;
	int err;

	/* ENOENT: a NIC deleted meanwhile */
	err = store_percpu_zero(s->fd[SM_NIC_STATS], k, NIC_DROPS_WORDS, BPF_EXIST);
	if (err && err != -ENOENT)
		return err;
	if (err == -ENOENT || !slot)
		return 0;
	return store_percpu_zero(s->fd[SM_NIC_COUNTERS], &slot, NIC_COUNTERS_WORDS, BPF_EXIST);
}

int store_percpu_sum(int fd, const void *key, __u64 *out, int n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu * n, sizeof(__u64));
	if (!vals)
		return -ENOMEM;
	memset(out, 0, sizeof(__u64) * n);
	if (bpf_map_lookup_elem(fd, key, vals)) {
		int err = -errno;
		free(vals);
		return err;
	}
	for (int c = 0; c < ncpu; c++)
		for (int i = 0; i < n; i++)
			out[i] += vals[c * n + i];
	free(vals);
	return 0;
}
