/* maps/map_io.c — many map entries written or deleted at once: batch calls, split over threads for large sets. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/map_io.h"

#define BATCH_CHUNK 8192

/*
 * Large sets of map writes and deletes are split over the CPUs: the kernel's
 * hash map locks per bucket, so threads writing disjoint keys run side by
 * side, and a table of a million routes is mostly this kernel time (about a
 * microsecond per entry). Every part is the same batch calls as before; the
 * caller sees one result, the first error of any part.
 */
#define SPLIT_MIN (4 * BATCH_CHUNK) /* smaller sets: one thread */
#define SPLIT_MAX 4

struct batch_part {
	int fd;
	bool del;
	const unsigned char *keys, *vals;
	size_t ksz, vsz, n;
	int err;
};

static bool no_update_batch, no_delete_batch; /* set once, by any part: the kernel lacks the batch call */

static int write_part(struct batch_part *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

	for (size_t i = 0; i < b->n;) {
		__u32 want = (__u32)(b->n - i < BATCH_CHUNK ? b->n - i : BATCH_CHUNK), count = want;
		const unsigned char *k = b->keys + i * b->ksz, *v = b->vals + i * b->vsz;
		if (!__atomic_load_n(&no_update_batch, __ATOMIC_RELAXED) && bpf_map_update_batch(b->fd, k, v, &count, &opts)) {
			int e = -errno;
			if (e != -EINVAL && e != -ENOTSUP && e != -EOPNOTSUPP)
				return e;
			__atomic_store_n(&no_update_batch, true, __ATOMIC_RELAXED);
		}
		if (__atomic_load_n(&no_update_batch, __ATOMIC_RELAXED)) {
			count = want;
			for (__u32 j = 0; j < count; j++)
				if (bpf_map_update_elem(b->fd, k + j * b->ksz, v + j * b->vsz, BPF_ANY))
					return -errno;
		}
		i += count;
	}
	return 0;
}

static int delete_part(struct batch_part *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (size_t i = 0; i < b->n;) {
		__u32 want = (__u32)(b->n - i < BATCH_CHUNK ? b->n - i : BATCH_CHUNK), count = want;
		const unsigned char *k = b->keys + i * b->ksz;
		if (!__atomic_load_n(&no_delete_batch, __ATOMIC_RELAXED) && bpf_map_delete_batch(b->fd, k, &count, &opts)) {
			int e = -errno;
			if (e == -ENOENT) { /* count entries went; the next one was already gone */
				i += count + 1;
				continue;
			}
			if (e != -EINVAL && e != -ENOTSUP && e != -EOPNOTSUPP)
				return e;
			__atomic_store_n(&no_delete_batch, true, __ATOMIC_RELAXED);
		}
		if (__atomic_load_n(&no_delete_batch, __ATOMIC_RELAXED)) {
			count = want;
			for (__u32 j = 0; j < count; j++)
				if (bpf_map_delete_elem(b->fd, k + j * b->ksz) && errno != ENOENT)
					return -errno;
		}
		i += count;
	}
	return 0;
}

static void *part_thread(void *arg)
{
	struct batch_part *b = arg;
	b->err = b->del ? delete_part(b) : write_part(b);
	return NULL;
}

/* Runs whole over up to SPLIT_MAX threads (the caller's included), in contiguous parts. */
static int run_split(const struct batch_part *whole)
{
	struct batch_part part[SPLIT_MAX];
	pthread_t tid[SPLIT_MAX];
	bool started[SPLIT_MAX] = { false };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nparts = whole->n < SPLIT_MIN || cpus < 2 ? 1 : (size_t)(cpus < SPLIT_MAX ? cpus : SPLIT_MAX);
	size_t per = (whole->n + nparts - 1) / nparts, at = 0;
	int err = 0;

	for (size_t i = 0; i < nparts; i++) {
		part[i] = *whole;
		part[i].keys = whole->keys + at * whole->ksz;
		part[i].vals = whole->vals ? whole->vals + at * whole->vsz : NULL;
		part[i].n = whole->n - at < per ? whole->n - at : per;
		part[i].err = 0;
		at += part[i].n;
	}
	for (size_t i = 1; i < nparts; i++)
		started[i] = pthread_create(&tid[i], NULL, part_thread, &part[i]) == 0;
	part_thread(&part[0]);
	for (size_t i = 1; i < nparts; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			part_thread(&part[i]); /* no thread: this part runs here */
	}
	for (size_t i = 0; i < nparts && !err; i++)
		err = part[i].err;
	return err;
}

/* Writes n entries in chunks with BPF_MAP_UPDATE_BATCH (one at a time where that is missing). */
int write_entries(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n)
{
	struct batch_part b = { .fd = fd, .keys = keys, .vals = vals, .ksz = ksz, .vsz = vsz, .n = n };
	return run_split(&b);
}

/* Deletes the given keys (BPF_MAP_DELETE_BATCH), skipping any already gone. */
int delete_entries(int fd, const void *keys, size_t ksz, size_t n)
{
	struct batch_part b = { .fd = fd, .del = true, .keys = keys, .ksz = ksz, .n = n };
	return run_split(&b);
}

