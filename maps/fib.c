/* maps/fib.c — builds, writes, reads and searches VPC forwarding indexes in the mmapable fib arena. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "maps/fib.h"
#include "maps/table.h"
#include "maps/route_table.h"
#include "maps/txn.h"

/* ---- building a region in memory ---- */

static int cmp_route(const void *a, const void *b)
{
	const struct route *x = a, *y = b;
	__u32 px = ntohl(x->prefix), py = ntohl(y->prefix);

	if (px != py)
		return px < py ? -1 : 1;
	return (int)x->len - (int)y->len;
}

/* What a lookup returns: the route without its prefix, so equal next hops share one result. */
struct result_rec {
	struct route r; /* prefix 0: the key */
	__u32 index;
};

struct range {
	__u32 start;
	__u32 result;
};

struct builder {
	struct table results;
	struct route *result_list;
	size_t nresults, results_cap;
	struct range *ranges;
	size_t nranges, ranges_cap;
};

static int result_of(struct builder *b, const struct route *r, __u32 *index)
{
	struct result_rec rec, *hit;

	memset(&rec, 0, sizeof(rec));
	rec.r.kind = r->kind;
	rec.r.len = r->len;
	rec.r.flags = r->flags;
	rec.r.via = r->via;
	rec.r.peer_vni = r->peer_vni;
	if ((hit = table_get(&b->results, &rec))) {
		*index = hit->index;
		return 0;
	}
	if (b->nresults == b->results_cap) {
		size_t cap = b->results_cap ? b->results_cap * 2 : 16;
		struct route *n = realloc(b->result_list, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->result_list = n;
		b->results_cap = cap;
	}
	rec.index = (__u32)b->nresults;
	b->result_list[b->nresults++] = rec.r;
	if (!table_put(&b->results, &rec))
		return -ENOMEM;
	*index = rec.index;
	return 0;
}

/* Appends [start, next start) -> result, merged into the previous range when the result is the same. */
static int emit(struct builder *b, __u64 start, __u32 result)
{
	if (b->nranges && b->ranges[b->nranges - 1].result == result)
		return 0;
	if (b->nranges == b->ranges_cap) {
		size_t cap = b->ranges_cap ? b->ranges_cap * 2 : 64;
		struct range *n = realloc(b->ranges, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->ranges = n;
		b->ranges_cap = cap;
	}
	b->ranges[b->nranges].start = (__u32)start;
	b->ranges[b->nranges++].result = result;
	return 0;
}

struct open_route {
	__u64 end; /* last address covered, inclusive */
	__u32 result;
};

/*
 * The elementary ranges of sorted routes: a sweep in address order with the
 * stack of routes covering the current address (each one nested in the one
 * below it, since prefixes either nest or are disjoint).
 */
static int sweep(struct builder *b, const struct route *r, size_t n)
{
	struct open_route stack[33];
	int top = 0, err = 0;
	__u64 cur = 0;

	for (size_t i = 0; i < n && !err; i++) {
		__u64 start = ntohl(r[i].prefix), end = start + (r[i].len ? (1ULL << (32 - r[i].len)) - 1 : 0xffffffffULL);
		__u32 res;

		while (top && stack[top - 1].end < start) { /* close the routes that end before this one */
			if (cur <= stack[top - 1].end) {
				err = err ?: emit(b, cur, stack[top - 1].result);
				cur = stack[top - 1].end + 1;
			}
			top--;
		}
		if (cur < start) {
			err = err ?: emit(b, cur, top ? stack[top - 1].result : 0);
			cur = start;
		}
		err = err ?: result_of(b, &r[i], &res);
		if (top == 33)
			return -EINVAL;
		stack[top].end = end;
		stack[top++].result = res;
	}
	while (top && !err) {
		if (cur <= stack[top - 1].end) {
			err = emit(b, cur, stack[top - 1].result);
			cur = stack[top - 1].end + 1;
		}
		top--;
	}
	if (!err && cur <= 0xffffffffULL)
		err = emit(b, cur, 0);
	return err;
}

static __u32 lines_for(size_t n, size_t per_line)
{
	return (__u32)((n + per_line - 1) / per_line);
}

/* Lays out header, tree, results and routes (sorted, n > 0) into img. */
static int layout(struct builder *b, const struct route *routes, size_t n, struct fib_image *img)
{
	__u32 nleaves = lines_for(b->nranges, FIB_LEAF_PAIRS), level_count[FIB_MAX_DEPTH + 1], depth = 0;
	__u32 internal = 0, at;
	struct fib_header *h = &img->hdr;
	__u32 *first; /* first start under each node of the level being built */

	/* levels above the leaves, counted bottom-up */
	for (__u32 count = nleaves; count > 1; depth++) {
		if (depth == FIB_MAX_DEPTH)
			return -E2BIG;
		count = lines_for(count, FIB_FANOUT);
		level_count[depth] = count;
		internal += count;
	}
	memset(h, 0, sizeof(*h));
	h->magic = FIB_MAGIC;
	h->routes = (__u32)n;
	h->ranges = (__u32)b->nranges;
	h->results = (__u32)b->nresults;
	h->depth = depth;
	h->root_at = 1;
	h->leaves_at = 1 + internal;
	h->results_at = h->leaves_at + nleaves;
	h->routes_at = h->results_at + lines_for(b->nresults, FIB_RESULTS_PER_LINE);
	h->lines = h->routes_at + lines_for(n, FIB_RESULTS_PER_LINE);
	img->nlines = h->lines;
	img->lines = calloc(img->nlines, sizeof(*img->lines));
	first = malloc((nleaves + 1) * sizeof(*first));
	if (!img->lines || !first) {
		free(first);
		return -ENOMEM;
	}
	memcpy(&img->lines[0], h, sizeof(*h));

	/* leaves: 8 pairs each, the last padded by repeating its last pair */
	for (__u32 i = 0; i < nleaves; i++) {
		struct fib_line *l = &img->lines[h->leaves_at + i];
		for (__u32 j = 0; j < FIB_LEAF_PAIRS; j++) {
			size_t k = (size_t)i * FIB_LEAF_PAIRS + j;
			if (k >= b->nranges)
				k = b->nranges - 1;
			l->w[j] = b->ranges[k].start;
			l->w[FIB_LEAF_PAIRS + j] = b->ranges[k].result;
		}
		first[i] = l->w[0];
	}
	/* internal levels, bottom-up; the root level (one line) ends up at line 1 */
	at = h->leaves_at;
	for (__u32 lv = 0, below = nleaves, below_at = h->leaves_at; lv < depth; lv++) {
		__u32 count = level_count[lv];
		at -= count;
		for (__u32 i = 0; i < count; i++) {
			struct fib_line *l = &img->lines[at + i];
			__u32 c0 = i * FIB_FANOUT, nc = below - c0 < FIB_FANOUT ? below - c0 : FIB_FANOUT;
			for (__u32 j = 0; j < FIB_FANOUT - 1; j++)
				l->w[j] = j + 1 < nc ? first[c0 + j + 1] : ~0U;
			l->w[FIB_FANOUT - 1] = (below_at + c0) | (nc - 1) << FIB_CHILD_SHIFT;
			first[i] = first[c0];
		}
		below = count;
		below_at = at;
	}
	free(first);
	if (depth && at != 1)
		return -EINVAL; /* the levels must fill [1, leaves_at) exactly */
	memcpy(&img->lines[h->results_at], b->result_list, b->nresults * sizeof(struct route));
	memcpy(&img->lines[h->routes_at], routes, n * sizeof(struct route));
	return 0;
}

int fib_image_build(const struct route *routes, size_t n, struct fib_image *img)
{
	struct builder b;
	struct route *sorted = NULL, none;
	size_t m = 0;
	__u32 zero;
	int err;

	memset(img, 0, sizeof(*img));
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (routes[i].len > 32 || (routes[i].prefix & ~prefix_mask(routes[i].len)) || !routes[i].kind)
			return -EINVAL;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, routes, n * sizeof(*sorted));
	/* callers pass one route per (prefix, len); of duplicates, one is kept */
	for (size_t i = 0; i < n; i++)
		sorted[i]._pad = 0;
	qsort(sorted, n, sizeof(*sorted), cmp_route);
	for (size_t i = 0; i < n; i++) {
		if (m && !cmp_route(&sorted[m - 1], &sorted[i])) {
			sorted[m - 1] = sorted[i];
			continue;
		}
		sorted[m++] = sorted[i];
	}
	memset(&b, 0, sizeof(b));
	table_init(&b.results, sizeof(struct route), sizeof(struct result_rec));
	memset(&none, 0, sizeof(none));
	err = result_of(&b, &none, &zero); /* result 0: no route */
	if (!err)
		err = sweep(&b, sorted, m);
	if (!err)
		err = layout(&b, sorted, m, img);
	table_free(&b.results);
	free(b.result_list);
	free(b.ranges);
	free(sorted);
	if (err)
		fib_image_free(img);
	return err;
}

void fib_image_free(struct fib_image *img)
{
	free(img->lines);
	memset(img, 0, sizeof(*img));
}

/* ---- the arena: mmap, and which lines are free ---- */

static struct {
	int fd;
	__u32 id, nlines;
	struct fib_line *lines;
} arena = { .fd = -1 };

static int arena_map(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	void *p;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (arena.lines && arena.fd == fd && arena.id == info.id)
		return 0;
	if (info.value_size != sizeof(struct fib_line) || info.max_entries < 2)
		return -EINVAL;
	p = mmap(NULL, (size_t)info.max_entries * sizeof(struct fib_line), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (info.max_entries > FIB_CHILD_MASK) { /* child links hold 28-bit line numbers */
		munmap(p, (size_t)info.max_entries * sizeof(struct fib_line));
		return -E2BIG;
	}
	if (arena.lines)
		munmap(arena.lines, (size_t)arena.nlines * sizeof(struct fib_line));
	arena.fd = fd;
	arena.id = info.id;
	arena.nlines = info.max_entries;
	arena.lines = p;
	return 0;
}

int fib_arena_size(int fib_fd, __u32 *lines)
{
	int err = arena_map(fib_fd);

	if (!err)
		*lines = arena.nlines;
	return err;
}

/*
 * Lines this process must not hand out: regions it wrote for a transaction
 * not yet over (PENDING), and regions some VPC record pointed at since the
 * last RCU grace period this process waited for (GRACE: the live ones found
 * by a scan of the vpcs map, and the ones it replaced). Every journal ends
 * with a grace period after its last record update, so a new process only
 * has to scan.
 */
enum hold_kind { HOLD_PENDING, HOLD_GRACE };

struct hold {
	__u32 base, lines;
	enum hold_kind kind;
};

static struct {
	struct hold *h;
	size_t n, cap;
	bool scanned;
} held;

static int hold(__u32 base, __u32 lines, enum hold_kind kind)
{
	if (!base || !lines)
		return 0;
	if (held.n == held.cap) {
		size_t cap = held.cap ? held.cap * 2 : 64;
		struct hold *n = realloc(held.h, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		held.h = n;
		held.cap = cap;
	}
	held.h[held.n++] = (struct hold){ base, lines, kind };
	return 0;
}

static void drop_held(enum hold_kind kind)
{
	size_t m = 0;

	for (size_t i = 0; i < held.n; i++)
		if (held.h[i].kind != kind)
			held.h[m++] = held.h[i];
	held.n = m;
}

void fib_settle(void)
{
	drop_held(HOLD_GRACE);
	held.scanned = false;
}

void fib_forget(void)
{
	for (size_t i = 0; i < held.n; i++)
		held.h[i].kind = HOLD_GRACE;
}

static int scan_vpcs(int vpcs_fd)
{
	__u32 key, next, *prev = NULL;
	struct vpc v;
	int err;

	while (!(err = bpf_map_get_next_key(vpcs_fd, prev, &next))) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(vpcs_fd, &key, &v) && (err = hold(v.fib_base, v.fib_lines, HOLD_GRACE)))
			return err;
	}
	if (errno != ENOENT)
		return -errno;
	held.scanned = true;
	return 0;
}

static int cmp_hold(const void *a, const void *b)
{
	const struct hold *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

/* First fit among the lines nothing holds; line 0 is never used (fib_base 0 means no region). */
static int first_fit(__u32 lines, __u32 *base)
{
	__u64 at = 1;

	qsort(held.h, held.n, sizeof(*held.h), cmp_hold);
	for (size_t i = 0; i < held.n; i++) {
		if (held.h[i].base >= at + lines)
			break;
		if ((__u64)held.h[i].base + held.h[i].lines > at)
			at = (__u64)held.h[i].base + held.h[i].lines;
	}
	if (at + lines > arena.nlines)
		return -ENOSPC;
	*base = (__u32)at;
	return 0;
}

static int alloc_region(int vpcs_fd, __u32 lines, __u32 *base)
{
	int err;

	if (!held.scanned && (err = scan_vpcs(vpcs_fd)))
		return err;
	if (first_fit(lines, base) == 0)
		return hold(*base, lines, HOLD_PENDING);
	/* full: wait out the readers of replaced regions, then look again */
	if ((err = txn_rcu_barrier()))
		return err;
	fib_settle();
	if ((err = scan_vpcs(vpcs_fd)) || (err = first_fit(lines, base)))
		return err;
	return hold(*base, lines, HOLD_PENDING);
}

int fib_install(int fib_fd, int vpcs_fd, const struct route *routes, size_t n, struct vpc *v)
{
	struct fib_image img;
	__u32 base = 0;
	int err;

	if ((err = arena_map(fib_fd)) || (err = fib_image_build(routes, n, &img)))
		return err;
	if (img.nlines && (err = alloc_region(vpcs_fd, img.nlines, &base))) {
		fib_image_free(&img);
		return err;
	}
	if (img.nlines) {
		struct fib_line *dst = arena.lines + base;
		memcpy(dst, img.lines, (size_t)img.nlines * sizeof(*dst));
		for (__u32 i = img.hdr.root_at; i < img.hdr.leaves_at; i++) /* child links become absolute */
			dst[i].w[FIB_FANOUT - 1] += base;
		__atomic_thread_fence(__ATOMIC_RELEASE); /* the record update that publishes it is a syscall anyway */
	}
	if ((err = hold(v->fib_base, v->fib_lines, HOLD_GRACE))) {
		fib_image_free(&img);
		return err;
	}
	v->fib_base = base;
	v->fib_lines = img.nlines;
	v->fib_root = img.nlines ? base + img.hdr.root_at : 0;
	v->fib_results = img.nlines ? base + img.hdr.results_at : 0;
	v->fib_depth = (__u8)img.hdr.depth;
	v->route_count = img.hdr.routes;
	fib_image_free(&img);
	return 0;
}

static const struct fib_header *region_header(const struct vpc *v)
{
	const struct fib_header *h;

	if (!v->fib_base || (__u64)v->fib_base + v->fib_lines > arena.nlines)
		return NULL;
	h = (const struct fib_header *)&arena.lines[v->fib_base];
	if (h->magic != FIB_MAGIC || h->lines != v->fib_lines || h->routes_at + lines_for(h->routes, 4) > h->lines)
		return NULL;
	return h;
}

int fib_routes(int fib_fd, const struct vpc *v, struct route **out, size_t *n)
{
	const struct fib_header *h;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = arena_map(fib_fd)))
		return err;
	if (!v->fib_base)
		return 0;
	if (!(h = region_header(v)))
		return -EUCLEAN;
	if (!h->routes)
		return 0;
	*out = malloc(h->routes * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, &arena.lines[v->fib_base + h->routes_at], h->routes * sizeof(**out));
	*n = h->routes;
	return 0;
}

static __u32 rank(const struct fib_line *l, __u32 a, int n)
{
	__u32 r = 0;

	for (int i = 0; i < n; i++)
		r += l->w[i] <= a;
	return r;
}

int fib_lookup(int fib_fd, const struct vpc *v, __be32 addr, struct route *out)
{
	__u32 a = ntohl(addr), line = v->fib_root, res, r;
	const struct route *hit;
	int err;

	if ((err = arena_map(fib_fd)))
		return err;
	if (!v->fib_base)
		return -ENOENT;
	for (__u32 d = 0; d < v->fib_depth && d < FIB_MAX_DEPTH; d++) {
		const struct fib_line *l;
		__u32 link, last;
		if (line >= arena.nlines)
			return -EUCLEAN;
		l = &arena.lines[line];
		link = l->w[FIB_FANOUT - 1];
		last = link >> FIB_CHILD_SHIFT;
		r = rank(l, a, FIB_FANOUT - 1);
		line = (link & FIB_CHILD_MASK) + (r < last ? r : last);
	}
	if (line >= arena.nlines)
		return -EUCLEAN;
	r = rank(&arena.lines[line], a, FIB_LEAF_PAIRS);
	res = arena.lines[line].w[FIB_LEAF_PAIRS + ((r - 1) & (FIB_LEAF_PAIRS - 1))];
	if (v->fib_results + res / FIB_RESULTS_PER_LINE >= arena.nlines)
		return -EUCLEAN;
	hit = (const struct route *)arena.lines[v->fib_results + res / FIB_RESULTS_PER_LINE].w +
	      res % FIB_RESULTS_PER_LINE;
	if (!hit->kind)
		return -ENOENT;
	*out = *hit;
	out->prefix = addr & prefix_mask(hit->len);
	return 0;
}
