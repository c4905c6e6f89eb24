/* maps/fib.c — builds, writes, reads and searches VPC forwarding indexes in the mmapable fib arena. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "maps/fib.h"
#include "maps/table.h"
#include "maps/prefix.h"
#include "maps/rcu.h"

/* ---- building a region in memory ---- */

/* Edits a region with a direct stage logs before it is rebuilt whole: n / 64 of n routes, within these bounds. */
#define FIB_LOG_MIN 64
#define FIB_LOG_MAX 4096
/* A table without a direct stage is edited whole (its ranges spliced) up to this many ranges: a tree of depth 2 */
#define FIB_SPLICE_MAX_RANGES (FIB_FANOUT * FIB_FANOUT * FIB_LEAF_PAIRS / 4)

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
	struct result_rec last; /* the result found last */
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
	if (b->nresults && !memcmp(&b->last.r, &rec.r, sizeof(rec.r))) { /* neighbours often share a next hop */
		*index = b->last.index;
		return 0;
	}
	if ((hit = table_get(&b->results, &rec))) {
		b->last = *hit;
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
	b->last = rec;
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

/* The region's lines as they are appended (line numbers relative to the region). */
struct lines {
	struct fib_line *l;
	__u32 n, cap;
	__u32 origin; /* where line 0 of these goes in the region: links are written relative to the region */
};

static int lines_add(struct lines *ls, __u32 count, __u32 *at)
{
	if ((__u64)ls->n + count > FIB_CHILD_MASK)
		return -E2BIG;
	if (ls->n + count > ls->cap) {
		__u32 cap = ls->cap ? ls->cap : 64;
		while (cap < ls->n + count)
			cap *= 2;
		struct fib_line *n = realloc(ls->l, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		ls->l = n;
		ls->cap = cap;
	}
	memset(&ls->l[ls->n], 0, (size_t)count * sizeof(*ls->l));
	*at = ls->n;
	ls->n += count;
	return 0;
}

/*
 * The search tree of ranges r[0..n) (n > 0): leaves of 8 pairs (the last
 * padded by repeating its last pair), then internal levels of up to 16
 * children, bottom-up. *root and *depth say where to start.
 */
static int add_tree(struct lines *ls, const struct range *r, size_t n, __u32 *root, __u32 *depth)
{
	__u32 count = lines_for(n, FIB_LEAF_PAIRS), below_at, at, d = 0;
	__u32 *first = malloc((count + 1) * sizeof(*first));
	int err;

	if (!first)
		return -ENOMEM;
	if ((err = lines_add(ls, count, &below_at)))
		goto out;
	for (__u32 i = 0; i < count; i++) {
		struct fib_line *l = &ls->l[below_at + i];
		for (__u32 j = 0; j < FIB_LEAF_PAIRS; j++) {
			size_t k = (size_t)i * FIB_LEAF_PAIRS + j;
			if (k >= n)
				k = n - 1;
			l->w[j] = r[k].start;
			l->w[FIB_LEAF_PAIRS + j] = r[k].result;
		}
		first[i] = l->w[0];
	}
	while (count > 1) {
		__u32 up = lines_for(count, FIB_FANOUT);
		if (++d > FIB_MAX_DEPTH) {
			err = -E2BIG;
			goto out;
		}
		if ((err = lines_add(ls, up, &at)))
			goto out;
		for (__u32 i = 0; i < up; i++) {
			struct fib_line *l = &ls->l[at + i];
			__u32 c0 = i * FIB_FANOUT, nc = count - c0 < FIB_FANOUT ? count - c0 : FIB_FANOUT;
			for (__u32 j = 0; j < FIB_FANOUT - 1; j++)
				l->w[j] = j + 1 < nc ? first[c0 + j + 1] : ~0U;
			l->w[FIB_FANOUT - 1] = (ls->origin + below_at + c0) | (nc - 1) << FIB_CHILD_SHIFT;
			first[i] = first[c0];
		}
		count = up;
		below_at = at;
	}
	*root = ls->origin + below_at;
	*depth = d;
out:
	free(first);
	return err;
}

/* Direct stage size: none for small tables, else about FIB_DIRECT_CHUNK ranges per chunk. */
static __u32 direct_bits(size_t nranges)
{
	__u32 bits = FIB_DIRECT_MIN_BITS;

	if (nranges <= FIB_DIRECT_THRESHOLD)
		return 0;
	while (bits < FIB_DIRECT_MAX_BITS && (nranges >> bits) > FIB_DIRECT_CHUNK)
		bits++;
	return bits;
}

/*
 * The direct stage: one entry per 2^(32-bits) addresses, pointing at the
 * tree of the ranges that meet that chunk (the range covering its first
 * address included: its start is below the chunk, which the rank allows). A
 * chunk inside one range gets a shared one-result leaf.
 */
static int add_direct(struct lines *ls, struct builder *b, __u32 bits, __u32 direct_at)
{
	struct table single; /* result -> its one-result leaf */
	__u64 chunk = 1ULL << (32 - bits);
	size_t lo = 0;
	int err = 0;

	table_init(&single, sizeof(__u32), 2 * sizeof(__u32));
	for (__u64 c = 0; c < (1ULL << bits) && !err; c++) {
		__u64 end = (c + 1) * chunk; /* first address of the next chunk */
		size_t hi = lo;
		__u32 root, depth = 0, entry;

		while (hi < b->nranges && b->ranges[hi].start < end)
			hi++;
		/* [lo, hi) meet the chunk; lo is the range covering its first address */
		if (hi - lo == 1) {
			__u32 rec[2] = { b->ranges[lo].result, 0 }, *hit = table_get(&single, rec);
			if (hit) {
				root = hit[1];
			} else if (!(err = lines_add(ls, 1, &root))) {
				for (__u32 j = 0; j < FIB_LEAF_PAIRS; j++)
					ls->l[root].w[FIB_LEAF_PAIRS + j] = rec[0]; /* starts 0: every address ranks last */
				rec[1] = root;
				if (!table_put(&single, rec))
					err = -ENOMEM;
			}
		} else {
			err = add_tree(ls, &b->ranges[lo], hi - lo, &root, &depth);
		}
		entry = root | depth << FIB_CHILD_SHIFT;
		if (!err)
			ls->l[direct_at + c / FIB_LINE_WORDS].w[c % FIB_LINE_WORDS] = entry;
		lo = hi ? hi - 1 : 0; /* the last range may go on into the next chunk */
		if (hi < b->nranges && b->ranges[hi].start == end)
			lo = hi;
	}
	table_free(&single);
	return err;
}

/* Lays out header, lookup structure, results and routes (sorted, n > 0) into img. */
static int layout(struct builder *b, const struct route *routes, size_t n, struct fib_image *img)
{
	struct lines ls = { 0 };
	struct fib_header h;
	__u32 at, bits = direct_bits(b->nranges);
	int err;

	memset(&h, 0, sizeof(h));
	h.magic = FIB_MAGIC;
	h.routes = (__u32)n;
	h.ranges = (__u32)b->nranges;
	h.results = (__u32)b->nresults;
	h.direct_bits = bits;
	if ((err = lines_add(&ls, 1, &at))) /* the header */
		goto fail;
	if (bits) {
		if ((err = lines_add(&ls, (1U << bits) / FIB_LINE_WORDS, &h.root_at)) ||
		    (err = add_direct(&ls, b, bits, h.root_at)))
			goto fail;
	} else if ((err = add_tree(&ls, b->ranges, b->nranges, &h.root_at, &h.depth))) {
		goto fail;
	} else {
		h.leaves_at = 1; /* add_tree lays the leaves first, right after the header */
	}
	/* a table with a direct stage is edited chunk by chunk (fib_patch): room for new results, log, spare lines */
	size_t results_cap = b->nresults + 16 + b->nresults / 4;
	if ((err = lines_add(&ls, lines_for(results_cap, FIB_RESULTS_PER_LINE), &h.results_at)) ||
	    (err = lines_add(&ls, lines_for(n, FIB_RESULTS_PER_LINE), &h.routes_at)))
		goto fail;
	{
		size_t log_cap = n / 64 < FIB_LOG_MIN ? FIB_LOG_MIN : n / 64 > FIB_LOG_MAX ? FIB_LOG_MAX : n / 64;
		if ((err = lines_add(&ls, lines_for(log_cap, FIB_RESULTS_PER_LINE), &h.log_at)) ||
		    (err = lines_add(&ls, ls.n / 16 < 64 ? 64 : ls.n / 16, &h.spare_at)))
			goto fail;
		h.magic = FIB_MAGIC_EDITABLE;
		h.spare_next = h.spare_at;
	}
	memcpy(&ls.l[h.results_at], b->result_list, b->nresults * sizeof(struct route));
	memcpy(&ls.l[h.routes_at], routes, n * sizeof(struct route));
	for (size_t i = 0; i < n; i++)
		h.advertised += !!(routes[i].flags & ROUTE_F_ADVERTISE);
	h.lines = ls.n;
	memcpy(&ls.l[0], &h, sizeof(h));
	img->lines = ls.l;
	img->nlines = ls.n;
	img->hdr = h;
	return 0;
fail:
	free(ls.l);
	return err;
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
	for (size_t i = 1; i < n; i++) /* edits pass a sorted list: sort only when needed */
		if (route_order(&sorted[i - 1], &sorted[i]) > 0) {
			qsort(sorted, n, sizeof(*sorted), route_order_qsort);
			break;
		}
	for (size_t i = 0; i < n; i++) {
		if (m && !route_order(&sorted[m - 1], &sorted[i])) {
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

/* ---- the arena: mmap windows, and which lines are free ---- */

static struct {
	int fd;
	__u32 id, nlines;
	struct fib_line *quarantine; /* lines [0, FIB_FIRST_LINE), mapped for good */
	struct fib_line *win;        /* one mapped window of whole pages */
	__u64 win_first, win_lines;  /* in lines */
} arena = { .fd = -1 };

#define LINES_PER_PAGE(ps) ((ps) / sizeof(struct fib_line))

static void unmap_window(void)
{
	if (arena.win)
		munmap(arena.win, arena.win_lines * sizeof(struct fib_line));
	arena.win = NULL;
	arena.win_first = arena.win_lines = 0;
}

static int arena_map(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	void *p;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (arena.quarantine && arena.fd == fd && arena.id == info.id)
		return 0;
	if (info.value_size != sizeof(struct fib_line) || info.max_entries <= FIB_FIRST_LINE)
		return -EINVAL;
	if (info.max_entries > FIB_CHILD_MASK) /* child links hold 28-bit line numbers */
		return -E2BIG;
	p = mmap(NULL, FIB_FIRST_LINE * sizeof(struct fib_line), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	unmap_window();
	if (arena.quarantine)
		munmap(arena.quarantine, FIB_FIRST_LINE * sizeof(struct fib_line));
	arena.fd = fd;
	arena.id = info.id;
	arena.nlines = info.max_entries;
	arena.quarantine = p;
	return 0;
}

/*
 * Lines [first, first + n) of the arena, mapped (mapping the whole 128 MiB
 * costs more than a route edit: the kernel maps every page up front). One
 * window is kept, since a command works on one region at a time.
 */
static struct fib_line *lines_at(__u64 first, __u64 n)
{
	__u64 per_page = LINES_PER_PAGE((__u64)sysconf(_SC_PAGESIZE)), lo, hi;
	void *p;

	if (!n || first + n > arena.nlines)
		return NULL;
	if (arena.win && first >= arena.win_first && first + n <= arena.win_first + arena.win_lines)
		return arena.win + (first - arena.win_first);
	lo = first / per_page * per_page;
	hi = (first + n + per_page - 1) / per_page * per_page;
	if (hi > arena.nlines)
		hi = arena.nlines; /* the map's last page may be partial: mmap rounds it */
	unmap_window();
	p = mmap(NULL, (hi - lo) * sizeof(struct fib_line), PROT_READ | PROT_WRITE, MAP_SHARED, arena.fd,
		 (off_t)(lo * sizeof(struct fib_line)));
	if (p == MAP_FAILED)
		return NULL;
	arena.win = p;
	arena.win_first = lo;
	arena.win_lines = hi - lo;
	return arena.win + (first - lo);
}

int fib_arena_size(int fib_fd, __u32 *lines)
{
	int err = arena_map(fib_fd);

	if (!err)
		*lines = arena.nlines;
	return err;
}

/*
 * Which lines are free. A region is in use while a VPC record points at it;
 * after a record stops pointing at it, a packet may still be walking it until
 * an RCU grace period has passed. Such regions wait in the quarantine, kept
 * in the arena's first lines so that every process (and a command finishing a
 * killed one's journal) sees them; one grace period empties it (fib_settle,
 * after the journal's barrier, or when the arena or the quarantine is full).
 * Regions this process wrote for a transaction not yet over are PENDING,
 * known to this process only: nothing else can see them, and a crash leaves
 * them unreferenced, so free.
 */
struct hold {
	__u32 base, lines;
};

static struct {
	struct hold *h;   /* PENDING regions, then (after a scan) the live ones */
	size_t n, cap, pending;
	bool scanned;
} held;

/* The quarantine: line 0 w[0] = count; pairs (base, lines) from line 1 on. */
#define Q_PAIRS ((FIB_FIRST_LINE - 1) * FIB_LINE_WORDS / 2)

static struct hold *quarantine_pairs(void)
{
	return (struct hold *)arena.quarantine[1].w;
}

static __u32 quarantine_count(void)
{
	__u32 n = arena.quarantine[0].w[0];

	return n <= Q_PAIRS ? n : Q_PAIRS;
}

static const struct fib_header *region_header(const struct vpc *v);

/* A region for fib_usage's census: its lines, and whether a record points at it (else it is in quarantine). */
struct extent {
	__u32 base, lines;
	bool live;
};

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

static int add_extent(struct extent **all, size_t *n, size_t *cap, struct extent e)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct extent *g = realloc(*all, c * sizeof(*g));
		if (!g)
			return -ENOMEM;
		*all = g;
		*cap = c;
	}
	(*all)[(*n)++] = e;
	return 0;
}

int fib_usage(int fib_fd, int vpcs_fd, struct fib_usage *u)
{
	__u32 key, next, *prev = NULL, nq;
	struct extent *all = NULL;
	size_t n = 0, cap = 0;
	struct vpc v;
	int err;

	memset(u, 0, sizeof(*u));
	if ((err = arena_map(fib_fd)))
		return err;
	u->total = arena.nlines;
	while (!err && !bpf_map_get_next_key(vpcs_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(vpcs_fd, &key, &v) || !v.fib_base)
			continue;
		u->live += v.fib_lines;
		u->regions++;
		u->bad += !region_header(&v);
		err = add_extent(&all, &n, &cap, (struct extent){ v.fib_base, v.fib_lines, true });
	}
	nq = quarantine_count();
	for (__u32 i = 0; i < nq && !err; i++) {
		u->quarantined += quarantine_pairs()[i].lines;
		err = add_extent(&all, &n, &cap, (struct extent){ quarantine_pairs()[i].base, quarantine_pairs()[i].lines, false });
	}
	/*
	 * No two regions share a line, except the same region live and in
	 * quarantine, or in quarantine twice: an edit that replaced it was not
	 * committed (killed or refused), so it stays live, and leaves the
	 * quarantine at the next grace period.
	 */
	if (!err && n)
		qsort(all, n, sizeof(*all), cmp_extent);
	for (size_t i = 1; !err && i < n; i++) {
		const struct extent *x = &all[i - 1], *y = &all[i];
		bool same = x->base == y->base && x->lines == y->lines && !(x->live && y->live);
		u->bad += (__u64)x->base + x->lines > y->base && !same;
	}
	free(all);
	return err;
}

static int hold(__u32 base, __u32 lines)
{
	if (held.n == held.cap) {
		size_t cap = held.cap ? held.cap * 2 : 64;
		struct hold *n = realloc(held.h, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		held.h = n;
		held.cap = cap;
	}
	held.h[held.n++] = (struct hold){ base, lines };
	return 0;
}

void fib_settle(void)
{
	if (arena.quarantine)
		__atomic_store_n(&arena.quarantine[0].w[0], 0, __ATOMIC_RELEASE);
	held.n = held.pending; /* the scan is stale: regions may have been released since */
	held.scanned = false;
}

void fib_forget(void)
{
	/* committed ones are in VPC records now (the next scan sees them), the others are garbage */
	held.n = held.pending = 0;
	held.scanned = false;
}

/* Puts a region a record no longer points at (or soon will not) in quarantine. */
static int quarantine(__u32 base, __u32 lines)
{
	__u32 n;
	int err;

	if (!base || !lines || !arena.quarantine)
		return 0;
	n = quarantine_count();
	if (n == Q_PAIRS) {
		if ((err = rcu_wait()))
			return err;
		fib_settle();
		n = 0;
	}
	quarantine_pairs()[n] = (struct hold){ base, lines };
	__atomic_store_n(&arena.quarantine[0].w[0], n + 1, __ATOMIC_RELEASE);
	return 0;
}

int fib_release_lines(int fib_fd, __u32 base, __u32 lines)
{
	int err = arena_map(fib_fd);

	return err ? err : quarantine(base, lines);
}

int fib_release(int fib_fd, const struct vpc *v)
{
	return fib_release_lines(fib_fd, v->fib_base, v->fib_lines);
}

static int scan_vpcs(int vpcs_fd)
{
	__u32 key, next, *prev = NULL;
	struct vpc v;
	int err;

	held.n = held.pending;
	while (!(err = bpf_map_get_next_key(vpcs_fd, prev, &next))) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(vpcs_fd, &key, &v) && v.fib_base && (err = hold(v.fib_base, v.fib_lines)))
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

/* First fit among the lines nothing holds. */
static int first_fit(__u32 lines, __u32 *base)
{
	__u32 nq = quarantine_count(), nall = (__u32)held.n + nq;
	struct hold *all = malloc((nall + 1) * sizeof(*all));
	__u64 at = FIB_FIRST_LINE;

	if (!all)
		return -ENOMEM;
	memcpy(all, held.h, held.n * sizeof(*all));
	memcpy(all + held.n, quarantine_pairs(), nq * sizeof(*all));
	qsort(all, nall, sizeof(*all), cmp_hold);
	for (__u32 i = 0; i < nall; i++) {
		if (all[i].base >= at + lines)
			break;
		if ((__u64)all[i].base + all[i].lines > at)
			at = (__u64)all[i].base + all[i].lines;
	}
	free(all);
	if (at + lines > arena.nlines)
		return -ENOSPC;
	*base = (__u32)at;
	return 0;
}

static int add_pending(__u32 base, __u32 lines)
{
	int err;

	/* pending regions stay first in held.h, ahead of the scanned ones */
	if ((err = hold(base, lines)))
		return err;
	struct hold t = held.h[held.pending];
	held.h[held.pending] = held.h[held.n - 1];
	held.h[held.n - 1] = t;
	held.pending++;
	return 0;
}

static int alloc_region(int vpcs_fd, __u32 lines, __u32 *base)
{
	int err;

	if (!held.scanned && (err = scan_vpcs(vpcs_fd)))
		return err;
	if ((err = first_fit(lines, base)) == 0)
		return add_pending(*base, lines);
	if (err != -ENOSPC)
		return err;
	/* full: wait out the readers of quarantined regions, then look again */
	if ((err = rcu_wait()))
		return err;
	fib_settle();
	if ((err = scan_vpcs(vpcs_fd)) || (err = first_fit(lines, base)))
		return err;
	return add_pending(*base, lines);
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
		struct fib_line *dst = lines_at(base, img.nlines);
		if (!dst) {
			fib_image_free(&img);
			return -errno ? -errno : -EFAULT;
		}
		memcpy(dst, img.lines, (size_t)img.nlines * sizeof(*dst)); /* links are relative to the region */
		__atomic_thread_fence(__ATOMIC_RELEASE); /* the record update that publishes it is a syscall anyway */
	}
	/* the region v pointed at is read until the record changes, then for a grace period */
	if ((err = quarantine(v->fib_base, v->fib_lines))) {
		fib_image_free(&img);
		return err;
	}
	v->fib_base = base;
	v->fib_lines = img.nlines;
	v->fib_root = img.nlines ? base + img.hdr.root_at : 0;
	v->fib_results = img.nlines ? base + img.hdr.results_at : 0;
	v->fib_depth = (__u8)img.hdr.depth;
	v->fib_direct_bits = (__u8)img.hdr.direct_bits;
	v->route_count = img.hdr.routes;
	fib_image_free(&img);
	return 0;
}

/* Whether h is the sane header of v's region. */
static bool header_sane(const struct fib_header *h, const struct vpc *v)
{
	if (h->magic == FIB_MAGIC_EDITABLE &&
	    ((!h->direct_bits && h->leaves_at + lines_for(h->ranges, FIB_LEAF_PAIRS) > h->lines) ||
	     h->log_at < h->routes_at + lines_for(h->routes, 4) || h->spare_at < h->log_at ||
	     h->log_count > (h->spare_at - h->log_at) * FIB_RESULTS_PER_LINE || h->spare_next < h->spare_at ||
	     h->spare_next > h->lines || h->routes_at < h->results_at + lines_for(h->results, 4)))
		return NULL;
	/*
	 * An edited tree without a direct stage is a new root, which the header
	 * names a moment before the record does: between the two (or after a
	 * kill, until the journal is replayed) a root anywhere in the region is
	 * sane.
	 */
	bool new_root = h->magic == FIB_MAGIC_EDITABLE && !h->direct_bits && v->fib_root >= v->fib_base &&
			v->fib_root < v->fib_base + h->lines && v->fib_depth <= FIB_MAX_DEPTH;
	if ((h->magic != FIB_MAGIC && h->magic != FIB_MAGIC_EDITABLE) || h->lines != v->fib_lines ||
	    h->routes_at + lines_for(h->routes, 4) > h->lines ||
	    (!new_root && (v->fib_root != v->fib_base + h->root_at || v->fib_depth != h->depth)) ||
	    v->fib_results != v->fib_base + h->results_at || v->fib_direct_bits != h->direct_bits)
		return false;
	return true;
}

/* The header of v's region, mapped with the whole region, or NULL if it is not a sane one. */
static const struct fib_header *region_header(const struct vpc *v)
{
	const struct fib_line *l;

	if (!v->fib_base || v->fib_base < FIB_FIRST_LINE || !(l = lines_at(v->fib_base, v->fib_lines)))
		return NULL;
	return header_sane((const struct fib_header *)l, v) ? (const struct fib_header *)l : NULL;
}

/*
 * A single edit reads a few lines of a region that may be 30 MB: mapping it
 * whole (the kernel maps every page up front) and unmapping it cost more
 * than the edit. Small parts (log, results, leaves, spare lines) are mapped
 * on their own; the sorted list is probed line by line through the map.
 */
struct part {
	void *map;
	size_t len;
	struct fib_line *l; /* the part's first line */
};

static int part_map(struct part *p, __u64 first, __u64 n)
{
	__u64 per_page = LINES_PER_PAGE((__u64)sysconf(_SC_PAGESIZE)), lo, hi;

	memset(p, 0, sizeof(*p));
	if (!n)
		return 0;
	if (first + n > arena.nlines)
		return -EUCLEAN;
	lo = first / per_page * per_page;
	hi = (first + n + per_page - 1) / per_page * per_page;
	if (hi > arena.nlines)
		hi = arena.nlines;
	p->len = (hi - lo) * sizeof(struct fib_line);
	p->map = mmap(NULL, p->len, PROT_READ | PROT_WRITE, MAP_SHARED, arena.fd, (off_t)(lo * sizeof(struct fib_line)));
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		return -errno;
	}
	p->l = (struct fib_line *)p->map + (first - lo);
	return 0;
}

static void part_unmap(struct part *p)
{
	if (p->map)
		munmap(p->map, p->len);
	memset(p, 0, sizeof(*p));
}

/* The region's sorted list, read a line at a time through the map (a binary search reads about 20). */
struct list_reader {
	int fd;
	__u32 at; /* absolute line of the list's first route */
	size_t n;
	__u32 line[64];
	struct fib_line cache[64];
	bool valid[64];
};

static int route_at(struct list_reader *rd, size_t i, struct route *out)
{
	__u32 line = rd->at + (__u32)(i / FIB_RESULTS_PER_LINE), slot = line % 64;

	if (!rd->valid[slot] || rd->line[slot] != line) {
		if (bpf_map_lookup_elem(rd->fd, &line, &rd->cache[slot]))
			return -errno;
		rd->line[slot] = line;
		rd->valid[slot] = true;
	}
	*out = ((const struct route *)rd->cache[slot].w)[i % FIB_RESULTS_PER_LINE];
	return 0;
}

/* Index of the first route of the list not before *want (0 or -errno in *err). */
static size_t reader_lower_bound(struct list_reader *rd, const struct route *want, int *err)
{
	size_t lo = 0, hi = rd->n;
	struct route r;

	while (lo < hi && !*err) {
		size_t mid = lo + (hi - lo) / 2;
		if ((*err = route_at(rd, mid, &r)))
			break;
		if (route_order(&r, want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The header of v's region read through the map (nothing mapped): 0, -EUCLEAN. */
static int header_read(int fib_fd, const struct vpc *v, struct fib_header *h)
{
	__u32 line = v->fib_base;

	if (v->fib_base < FIB_FIRST_LINE || (__u64)v->fib_base + v->fib_lines > arena.nlines ||
	    bpf_map_lookup_elem(fib_fd, &line, h))
		return -EUCLEAN;
	return header_sane(h, v) ? 0 : -EUCLEAN;
}

/* Only the header line of v's region, mapped alone (the region may be 1M routes long), or NULL. */
static const struct fib_header *header_only(const struct vpc *v)
{
	const struct fib_header *h;

	if (v->fib_base < FIB_FIRST_LINE || !(h = (const struct fib_header *)lines_at(v->fib_base, 1)))
		return NULL;
	return (h->magic == FIB_MAGIC || h->magic == FIB_MAGIC_EDITABLE) && h->lines == v->fib_lines ? h : NULL;
}

/* The edit log of a region (edits since its last whole build, in order), and how many it holds. */
static const struct route *region_log(const struct fib_header *h, __u32 *n)
{
	*n = h->magic == FIB_MAGIC_EDITABLE ? h->log_count : 0;
	return (const struct route *)((const struct fib_line *)h + h->log_at);
}

struct logged {
	struct route r;
	__u32 seq;
};

static int cmp_logged(const void *a, const void *b)
{
	const struct logged *x = a, *y = b;
	int c = route_order(&x->r, &y->r);

	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The log's last word on each route it names, in route_order (kind 0: deleted): malloc'd, or NULL (-ENOMEM). */
static struct route *log_last_words(const struct route *log, __u32 nlog, size_t *n)
{
	struct logged *l = malloc((nlog + 1) * sizeof(*l));
	struct route *out = malloc((nlog + 1) * sizeof(*out));
	size_t m = 0;

	if (!l || !out) {
		free(l);
		free(out);
		return NULL;
	}
	for (__u32 i = 0; i < nlog; i++)
		l[i] = (struct logged){ log[i], i };
	qsort(l, nlog, sizeof(*l), cmp_logged);
	for (__u32 i = 0; i < nlog; i++) {
		if (m && !route_order(&out[m - 1], &l[i].r))
			m--; /* a later edit of the same route */
		out[m++] = l[i].r;
	}
	free(l);
	*n = m;
	return out;
}

int fib_routes(int fib_fd, const struct vpc *v, struct route **out, size_t *n)
{
	const struct fib_header *h;
	const struct route *list, *log;
	struct route *last;
	size_t nlast = 0, i = 0, j = 0, m = 0;
	__u32 nlog;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = arena_map(fib_fd)))
		return err;
	if (!v->fib_base)
		return 0;
	if (!(h = region_header(v)))
		return -EUCLEAN;
	list = (const struct route *)((const struct fib_line *)h + h->routes_at);
	log = region_log(h, &nlog);
	if (!h->routes && !nlog)
		return 0;
	if (!(last = log_last_words(log, nlog, &nlast)) || !(*out = malloc((h->routes + nlast + 1) * sizeof(**out)))) {
		free(last);
		return -ENOMEM;
	}
	/* the list of the last whole build with the edits logged since merged in */
	while (i < h->routes || j < nlast) {
		int c = i == h->routes ? 1 : j == nlast ? -1 : route_order(&list[i], &last[j]);
		if (c < 0) {
			(*out)[m++] = list[i++];
			continue;
		}
		if (last[j].kind)
			(*out)[m++] = last[j];
		j++;
		i += c == 0;
	}
	free(last);
	*n = m;
	if (!m) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

bool fib_may_advertise(int fib_fd, const struct vpc *v)
{
	const struct fib_header *h;

	if (!v->fib_base)
		return false;
	if (arena_map(fib_fd) || !(h = header_only(v)))
		return true; /* read the list, which says (or fails) */
	return h->magic != FIB_MAGIC_EDITABLE || h->advertised;
}

int fib_route_get(int fib_fd, const struct vpc *v, __be32 prefix, __u8 len, struct route *out)
{
	struct fib_header h;
	struct list_reader *rd;
	struct route want, got;
	struct part log;
	size_t at;
	__u32 nlog;
	int err;

	if ((err = arena_map(fib_fd)))
		return err;
	if (!v->fib_base)
		return -ENOENT;
	if ((err = header_read(fib_fd, v, &h)))
		return err;
	memset(&want, 0, sizeof(want));
	want.prefix = prefix;
	want.len = len;
	nlog = h.magic == FIB_MAGIC_EDITABLE ? h.log_count : 0;
	if ((err = part_map(&log, (__u64)v->fib_base + h.log_at, lines_for(nlog, FIB_RESULTS_PER_LINE))))
		return err;
	for (const struct route *l = log.l ? (const struct route *)log.l->w : NULL; nlog--;)
		if (!route_order(&l[nlog], &want)) { /* the last edit of the route since the whole build says */
			err = l[nlog].kind ? 0 : -ENOENT;
			*out = l[nlog];
			part_unmap(&log);
			return err;
		}
	part_unmap(&log);
	if (!(rd = calloc(1, sizeof(*rd))))
		return -ENOMEM;
	*rd = (struct list_reader){ .fd = fib_fd, .at = v->fib_base + h.routes_at, .n = h.routes };
	at = reader_lower_bound(rd, &want, &err); /* the list is in route_order */
	if (!err && (at == h.routes || (err = route_at(rd, at, &got)) || route_order(&got, &want)))
		err = err ?: -ENOENT;
	if (!err)
		*out = got;
	free(rd);
	return err;
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
	__u32 a = ntohl(addr), res, r;
	const struct fib_line *region, *l;
	const struct route *hit;
	__u64 line;
	int err;

	if ((err = arena_map(fib_fd)))
		return err;
	if (!v->fib_base)
		return -ENOENT;
	if (!region_header(v))
		return -EUCLEAN;
	region = lines_at(v->fib_base, v->fib_lines);
	/* the datapath's walk, with every line checked to lie inside the region */
#define IN_REGION(x) ((x) >= v->fib_base && (x) < (__u64)v->fib_base + v->fib_lines)
	__u32 depth = v->fib_depth;
	line = v->fib_root;
	if (v->fib_direct_bits) {
		__u32 c = v->fib_direct_bits > FIB_DIRECT_MAX_BITS ? 0 : a >> (32 - v->fib_direct_bits), e;
		line = (__u64)v->fib_root + c / FIB_LINE_WORDS;
		if (v->fib_direct_bits > FIB_DIRECT_MAX_BITS || !IN_REGION(line))
			return -EUCLEAN;
		e = region[line - v->fib_base].w[c % FIB_LINE_WORDS];
		line = (__u64)v->fib_base + (e & FIB_CHILD_MASK);
		depth = e >> FIB_CHILD_SHIFT;
	}
	for (__u32 d = 0; d < depth && d < FIB_MAX_DEPTH; d++) {
		__u32 link, last;
		if (!IN_REGION(line))
			return -EUCLEAN;
		l = region + (line - v->fib_base);
		link = l->w[FIB_FANOUT - 1];
		last = link >> FIB_CHILD_SHIFT;
		r = rank(l, a, FIB_FANOUT - 1);
		line = (__u64)v->fib_base + (link & FIB_CHILD_MASK) + (r < last ? r : last);
	}
	if (!IN_REGION(line))
		return -EUCLEAN;
	l = region + (line - v->fib_base);
	r = rank(l, a, FIB_LEAF_PAIRS);
	res = l->w[FIB_LEAF_PAIRS + ((r - 1) & (FIB_LEAF_PAIRS - 1))];
	line = (__u64)v->fib_results + res / FIB_RESULTS_PER_LINE;
	if (!IN_REGION(line))
		return -EUCLEAN;
#undef IN_REGION
	hit = (const struct route *)region[line - v->fib_base].w + res % FIB_RESULTS_PER_LINE;
	if (!hit->kind)
		return -ENOENT;
	*out = *hit;
	out->prefix = addr & prefix_mask(hit->len);
	return 0;
}

/* ---- editing a region in place, one chunk of its direct stage at a time ---- */

/* A small sorted list of routes (one chunk's). */
struct rlist {
	struct route *r;
	size_t n, cap;
};

/* Index of the first route of list[0..n) not before *want in route_order. */
static size_t lower_bound(const struct route *list, size_t n, const struct route *want)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (route_order(&list[mid], want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Puts r in the list (replacing the route of the same key), or takes its key out (gone). */
static int rlist_set(struct rlist *l, const struct route *r, bool gone)
{
	size_t at = lower_bound(l->r, l->n, r);
	bool found = at < l->n && !route_order(&l->r[at], r);

	if (gone || found) {
		if (gone && found)
			memmove(&l->r[at], &l->r[at + 1], (l->n - at - 1) * sizeof(*l->r));
		l->n -= gone && found;
		if (!gone)
			l->r[at] = *r;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct route *g = realloc(l->r, cap * sizeof(*g));
		if (!g)
			return -ENOMEM;
		l->r = g;
		l->cap = cap;
	}
	memmove(&l->r[at + 1], &l->r[at], (l->n - at) * sizeof(*l->r));
	l->r[at] = *r;
	l->n++;
	return 0;
}

/* A builder that knows the region's results already, by their indexes there. */
static int builder_with_results(struct builder *b, const struct route *results, __u32 n)
{
	memset(b, 0, sizeof(*b));
	table_init(&b->results, sizeof(struct route), sizeof(struct result_rec));
	b->result_list = malloc((n + 16) * sizeof(*b->result_list));
	if (!b->result_list)
		return -ENOMEM;
	b->results_cap = n + 16;
	for (__u32 i = 0; i < n; i++) {
		struct result_rec rec = { .r = results[i], .index = i };
		b->result_list[i] = results[i];
		if (!table_put(&b->results, &rec))
			return -ENOMEM;
	}
	b->nresults = n; /* b->last is zero: result 0, "no route" */
	return 0;
}

/* The ranges of a tree without a direct stage, read back from its leaves (FIB2 headers say where they are). */
static int tree_ranges(const struct fib_line *leaves, const struct fib_header *h, struct range **out)
{
	struct range *r = malloc((h->ranges + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	for (__u32 k = 0; k < h->ranges; k++) {
		const struct fib_line *leaf = &leaves[k / FIB_LEAF_PAIRS];
		r[k].start = leaf->w[k % FIB_LEAF_PAIRS];
		r[k].result = leaf->w[FIB_LEAF_PAIRS + k % FIB_LEAF_PAIRS];
	}
	*out = r;
	return 0;
}

static int range_push(struct range **r, size_t *n, size_t *cap, __u32 start, __u32 result)
{
	if (*n && (*r)[*n - 1].result == result)
		return 0; /* neighbours with one result are one range */
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct range *g = realloc(*r, c * sizeof(*g));
		if (!g)
			return -ENOMEM;
		*r = g;
		*cap = c;
	}
	(*r)[(*n)++] = (struct range){ start, result };
	return 0;
}

/*
 * The whole table's ranges, when it has no direct stage: the old ones
 * outside [first, last], the new ones (b's, swept from the span's routes)
 * inside it.
 */
static int splice_ranges(const struct fib_line *leaves, const struct fib_header *h, const struct builder *b,
			 __u64 first, __u64 last, struct range **out, size_t *nout)
{
	struct range *old = NULL, *r = NULL;
	size_t n = 0, cap = 0, k = 0;
	__u32 after = 0;
	int err = tree_ranges(leaves, h, &old);

	if (err)
		return err;

	for (; !err && k < h->ranges && old[k].start < first; k++)
		err = range_push(&r, &n, &cap, old[k].start, old[k].result);
	for (size_t i = 0; !err && i < b->nranges; i++) {
		bool covers_first = i + 1 == b->nranges || b->ranges[i + 1].start > first;
		if (b->ranges[i].start > last || (b->ranges[i].start < first && !covers_first))
			continue;
		err = range_push(&r, &n, &cap, b->ranges[i].start < first ? (__u32)first : b->ranges[i].start,
				 b->ranges[i].result);
	}
	if (last < 0xffffffffULL) { /* from last + 1 on, what the old table says */
		for (k = 0; k < h->ranges && old[k].start <= last + 1; k++)
			after = old[k].result;
		err = err ?: range_push(&r, &n, &cap, (__u32)(last + 1), after);
		for (; !err && k < h->ranges; k++)
			err = range_push(&r, &n, &cap, old[k].start, old[k].result);
	}
	free(old);
	if (err) {
		free(r);
		return err;
	}
	*out = r;
	*nout = n;
	return 0;
}

int fib_patch(int fib_fd, const struct vpc *v, const struct route *put, size_t nput, const struct route *del,
	      size_t ndel, struct fib_patch *out)
{
	struct fib_header hdr, *h = &hdr;
	struct part logp, resp, leafp, sparep;
	struct list_reader *rd = NULL;
	const struct route *log;
	struct rlist span = { 0 };
	struct builder b;
	struct lines ls = { 0 };
	struct range *ranges = NULL;
	size_t old_n, nranges = 0, lo = 0, hi;
	__u32 bits, len = 32, diff = 0, nlog, root = 0, depth = 0, advertised;
	__u64 first, last;
	int err;

	if ((err = arena_map(fib_fd)))
		return err;
	if (!v->fib_base)
		return -EAGAIN;
	if ((err = header_read(fib_fd, v, h)))
		return err;
	bits = h->direct_bits;
	advertised = h->advertised;
	if (h->magic != FIB_MAGIC_EDITABLE || nput + ndel == 0 ||
	    h->log_count + nput + ndel > (h->spare_at - h->log_at) * FIB_RESULTS_PER_LINE)
		return -EAGAIN; /* an older region, or its log is full: the table is built whole */
	/* the span of the edit: the smallest aligned block that holds every route it touches */
	for (size_t i = 0; i < nput + ndel; i++) {
		const struct route *r = i < nput ? &put[i] : &del[i - nput];
		if (r->len > 32 || (r->prefix & ~prefix_mask(r->len)) || (i < nput && !r->kind))
			return -EINVAL;
		len = r->len < len ? r->len : len;
		diff |= ntohl(r->prefix) ^ ntohl(nput ? put[0].prefix : del[0].prefix);
	}
	if (diff && (__u32)__builtin_clz(diff) < len)
		len = (__u32)__builtin_clz(diff);
	/* with a direct stage, one chunk's tree changes (one entry), so the span must lie in one chunk */
	if (bits && len < bits)
		return -EAGAIN;
	first = ntohl((nput ? put[0].prefix : del[0].prefix) & prefix_mask(len));
	last = first + (len ? (1ULL << (32 - len)) - 1 : 0xffffffffULL);
	if (bits) { /* the whole chunk */
		first = first >> (32 - bits) << (32 - bits);
		last = first + (1ULL << (32 - bits)) - 1;
		len = bits;
	}
	/* the parts of the region the edit reads or writes (the spare lines once their number is known) */
	memset(&sparep, 0, sizeof(sparep));
	memset(&resp, 0, sizeof(resp));
	memset(&leafp, 0, sizeof(leafp));
	if ((err = part_map(&logp, (__u64)v->fib_base + h->log_at, h->spare_at - h->log_at)) ||
	    (err = part_map(&resp, (__u64)v->fib_base + h->results_at, h->routes_at - h->results_at)) ||
	    (!bits && (err = part_map(&leafp, (__u64)v->fib_base + h->leaves_at, lines_for(h->ranges, FIB_LEAF_PAIRS)))))
		goto parts;
	if (!(rd = calloc(1, sizeof(*rd)))) {
		err = -ENOMEM;
		goto parts;
	}
	*rd = (struct list_reader){ .fd = fib_fd, .at = v->fib_base + h->routes_at, .n = h->routes };
	/* the span's routes now: those that enclose it, those in it, then the edits logged since the whole build */
	for (__u32 l = 0; l < len && !err; l++) {
		struct route want = { .prefix = htonl((__u32)first) & prefix_mask(l), .len = (__u8)l }, got;
		size_t at = ntohl(want.prefix) != first ? reader_lower_bound(rd, &want, &err) : h->routes;
		if (!err && at < h->routes && !(err = route_at(rd, at, &got)) && !route_order(&got, &want))
			err = rlist_set(&span, &got, false);
	}
	struct route from = { .prefix = htonl((__u32)first) }, got;
	for (size_t i = err ? h->routes : reader_lower_bound(rd, &from, &err); !err && i < h->routes; i++) {
		if ((err = route_at(rd, i, &got)) || ntohl(got.prefix) > last)
			break;
		err = rlist_set(&span, &got, false);
	}
	log = (const struct route *)logp.l->w;
	nlog = h->log_count;
	for (__u32 i = 0; i < nlog && !err; i++) {
		__u32 p = ntohl(log[i].prefix);
		bool encloses = log[i].len < len && ((__u32)first & ntohl(prefix_mask(log[i].len))) == p;
		if ((p >= first && p <= last) || encloses)
			err = rlist_set(&span, &log[i], !log[i].kind);
	}
	old_n = span.n;
	for (size_t i = 0; i < span.n; i++)
		advertised -= !!(span.r[i].flags & ROUTE_F_ADVERTISE);
	for (size_t i = 0; i < ndel && !err; i++)
		err = rlist_set(&span, &del[i], true);
	for (size_t i = 0; i < nput && !err; i++) {
		struct route r = put[i];
		r._pad = 0;
		err = rlist_set(&span, &r, false);
	}
	if (err)
		goto parts;
	for (size_t i = 0; i < span.n; i++)
		advertised += !!(span.r[i].flags & ROUTE_F_ADVERTISE);
	/* its ranges, with the results the region has (and new ones after them), as the whole build would */
	err = builder_with_results(&b, (const struct route *)resp.l->w, h->results);
	if (!err)
		err = sweep(&b, span.r, span.n);
	if (!err && b.nresults > (size_t)(h->routes_at - h->results_at) * FIB_RESULTS_PER_LINE)
		err = -EAGAIN; /* no room for the new results */
	ls.origin = h->spare_next;
	if (!err && bits) { /* the chunk's tree, as add_direct builds it */
		while (lo + 1 < b.nranges && b.ranges[lo + 1].start <= first)
			lo++;
		for (hi = lo + 1; hi < b.nranges && b.ranges[hi].start <= last; hi++)
			;
		if (hi - lo == 1 && !(err = lines_add(&ls, 1, &root))) {
			for (__u32 j = 0; j < FIB_LEAF_PAIRS; j++) /* starts 0: every address ranks last */
				ls.l[root].w[FIB_LEAF_PAIRS + j] = b.ranges[lo].result;
			root += ls.origin;
		} else if (hi - lo > 1) {
			err = add_tree(&ls, &b.ranges[lo], hi - lo, &root, &depth);
		}
	} else if (!err) { /* the whole (small) tree, its ranges spliced */
		err = splice_ranges(leafp.l, h, &b, first, last, &ranges, &nranges);
		if (!err && nranges > FIB_SPLICE_MAX_RANGES)
			err = -EAGAIN; /* time for a direct stage: the whole build makes one */
		if (!err)
			err = add_tree(&ls, ranges, nranges, &root, &depth);
	}
	if (!err && (__u64)h->spare_next + ls.n > h->lines)
		err = -EAGAIN; /* the spare lines are used up */
	if (!err && v->route_count - old_n + span.n == 0)
		err = -EAGAIN; /* the last route goes: an empty table has no region */
	if (!err)
		err = part_map(&sparep, (__u64)v->fib_base + h->spare_next, ls.n);
	if (!err) {
		/* written where nothing reads yet: spare lines, result slots and log slots past the header's counts */
		struct route *log_w = (struct route *)logp.l->w + h->log_count;
		memcpy(sparep.l, ls.l, (size_t)ls.n * sizeof(*ls.l));
		memcpy((struct route *)resp.l->w + h->results, b.result_list + h->results,
		       (b.nresults - h->results) * sizeof(struct route));
		for (size_t i = 0; i < ndel; i++)
			log_w[i] = (struct route){ .prefix = del[i].prefix, .len = del[i].len };
		for (size_t i = 0; i < nput; i++) {
			log_w[ndel + i] = put[i];
			log_w[ndel + i]._pad = 0;
		}
		memset(out, 0, sizeof(*out));
		out->hdr = *h;
		out->root = v->fib_root;
		out->depth = v->fib_depth;
		if (bits) {
			__u32 c = (__u32)(first >> (32 - bits));
			out->entry_line = v->fib_root + c / FIB_LINE_WORDS;
			out->entry_word = c % FIB_LINE_WORDS;
			out->entry = root | depth << FIB_CHILD_SHIFT;
		} else { /* the record points at the new tree */
			out->root = v->fib_base + root;
			out->depth = (__u8)depth;
			out->hdr.root_at = root;
			out->hdr.depth = depth;
			out->hdr.ranges = (__u32)nranges;
			out->hdr.leaves_at = ls.origin;
		}
		out->header_line = v->fib_base;
		out->hdr.results = (__u32)b.nresults;
		out->hdr.advertised = advertised;
		out->hdr.log_count += (__u32)(nput + ndel);
		out->hdr.spare_next += ls.n;
		out->route_count = (__u32)(v->route_count - old_n + span.n);
	}
	table_free(&b.results);
	free(b.result_list);
	free(b.ranges);
	free(ranges);
	free(ls.l);
parts:
	part_unmap(&logp);
	part_unmap(&resp);
	part_unmap(&leafp);
	part_unmap(&sparep);
	free(rd);
	free(span.r);
	return err;
}

int fib_write_words(int fib_fd, __u32 line, __u32 first, __u32 n, const __u32 *w)
{
	struct fib_line *l;
	int err = arena_map(fib_fd);

	if (err)
		return err;
	if (first + n > FIB_LINE_WORDS || line < FIB_FIRST_LINE || !(l = lines_at(line, 1)))
		return -EINVAL;
	__atomic_thread_fence(__ATOMIC_RELEASE); /* what the words point at is written before them */
	for (__u32 i = 0; i < n; i++)
		__atomic_store_n(&l->w[first + i], w[i], __ATOMIC_RELAXED);
	return 0;
}

int fib_patch_apply(int fib_fd, const struct fib_patch *p)
{
	int err = p->entry_line ? fib_write_words(fib_fd, p->entry_line, p->entry_word, 1, &p->entry) : 0;

	return err ? err : fib_write_words(fib_fd, p->header_line, 0, FIB_LINE_WORDS, (const __u32 *)&p->hdr);
}
