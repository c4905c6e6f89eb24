/* maps/route_table.c — edits a VPC's route table directly: a new region of the fib arena, swapped in by its record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/route_table.h"
#include "maps/fib.h"

static bool valid_prefix(__be32 prefix, unsigned int len)
{
	return len <= 32 && !(prefix & ~prefix_mask(len));
}

/* Index of (prefix, len) in a list in route_order, or where it would go (*found false). */
static size_t find(const struct route *list, size_t n, __be32 prefix, __u8 len, bool *found)
{
	struct route want = { .prefix = prefix, .len = len };
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (route_order(&list[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && !route_order(&list[lo], &want);
	return lo;
}

/* The live table of vni with r put in (r NULL: (prefix, len) taken out), built aside as *v's. */
static int edit_aside(const struct route_maps *m, __u32 vni, const struct route *r, __be32 prefix, __u8 len,
		      struct vpc *v)
{
	struct route *list = NULL, *grown;
	size_t n = 0, at;
	bool found;
	int err;

	if (!valid_prefix(prefix, len) || (r && (r->prefix != prefix || r->len != len || !r->kind)))
		return -EINVAL;
	if (bpf_map_lookup_elem(m->vpcs_fd, &vni, v))
		return -errno;
	if ((err = fib_routes(m->fib_fd, v, &list, &n)))
		return err;
	at = find(list, n, prefix, len, &found);
	if (r) {
		if (!found) {
			grown = realloc(list, (n + 1) * sizeof(*list));
			if (!grown) {
				free(list);
				return -ENOMEM;
			}
			list = grown;
			memmove(&list[at + 1], &list[at], (n - at) * sizeof(*list));
			n++;
		}
		list[at] = *r;
		list[at]._pad = 0;
	} else if (found) {
		memmove(&list[at], &list[at + 1], (n - at - 1) * sizeof(*list));
		n--;
	} else {
		free(list);
		return -ENOENT;
	}
	err = fib_install(m->fib_fd, m->vpcs_fd, list, n, v);
	free(list);
	return err;
}

/* In place when it can (one chunk of the index, then its entry and the header), else built whole. */
static int patch(const struct route_maps *m, __u32 vni, const struct route *r, __be32 prefix, __u8 len)
{
	struct route key = { .prefix = prefix, .len = len };
	struct fib_patch p;
	struct vpc v;
	int err;

	if (!valid_prefix(prefix, len) || (r && (r->prefix != prefix || r->len != len || !r->kind)))
		return -EINVAL;
	if (bpf_map_lookup_elem(m->vpcs_fd, &vni, &v))
		return -errno;
	if (!r && (err = fib_route_get(m->fib_fd, &v, prefix, len, &key)))
		return err == -ENOENT ? -ENOENT : -EAGAIN;
	if ((err = fib_patch(m->fib_fd, &v, r, r ? 1 : 0, r ? NULL : &key, r ? 0 : 1, &p)) ||
	    (err = fib_patch_apply(m->fib_fd, &p)))
		return err;
	v.route_count = p.route_count;
	v.fib_root = p.root;
	v.fib_depth = p.depth;
	return bpf_map_update_elem(m->vpcs_fd, &vni, &v, BPF_EXIST) ? -errno : 0;
}

/* Not journaled: the new table (or chunk), then the record that swaps it in. */
static int edit(const struct route_maps *m, __u32 vni, const struct route *r, __be32 prefix, __u8 len)
{
	struct vpc v;
	int err;

	if ((err = patch(m, vni, r, prefix, len)) != -EAGAIN)
		return err;
	if ((err = edit_aside(m, vni, r, prefix, len, &v)))
		return err;
	return bpf_map_update_elem(m->vpcs_fd, &vni, &v, BPF_EXIST) ? -errno : 0;
}

int route_table_insert(const struct route_maps *m, __u32 vni, const struct route *r)
{
	return edit(m, vni, r, r->prefix, r->len);
}

int route_table_remove(const struct route_maps *m, __u32 vni, __be32 prefix, __u8 len)
{
	return edit(m, vni, NULL, prefix, len);
}

int route_table_lookup(const struct route_maps *m, __u32 vni, __be32 addr, struct route *out)
{
	struct vpc v;

	if (bpf_map_lookup_elem(m->vpcs_fd, &vni, &v))
		return -errno;
	return fib_lookup(m->fib_fd, &v, addr, out);
}

int route_table_build(const struct route_maps *m, struct vpc *v, const struct route *routes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!valid_prefix(routes[i].prefix, routes[i].len))
			return -EINVAL;
	return fib_install(m->fib_fd, m->vpcs_fd, routes, n, v);
}
