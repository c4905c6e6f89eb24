/* maps/route_table.c — edits a VPC's route table: config entries in the routes hash, the index in the fib arena. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/route_table.h"
#include "maps/fib.h"

#define CONFIG_BATCH 8192

static struct route_key config_key(__u32 vni, __u16 gen, __be32 prefix, __u8 len)
{
	struct route_key k;
	memset(&k, 0, sizeof(k));
	k.vni = vni;
	k.gen = gen;
	k.type = ROUTE_KEY_CONFIG;
	k.len = len;
	k.addr = prefix & prefix_mask(len);
	return k;
}

static bool valid_prefix(__be32 prefix, unsigned int len)
{
	return len <= 32 && !(prefix & ~prefix_mask(len));
}

/* Index of (prefix, len) in a list sorted as fib_routes() returns it, or where it would go (*found false). */
static size_t find(const struct route *list, size_t n, __be32 prefix, __u8 len, bool *found)
{
	__u32 p = ntohl(prefix);
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		__u32 q = ntohl(list[mid].prefix);
		if (q < p || (q == p && list[mid].len < len))
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && list[lo].prefix == prefix && list[lo].len == len;
	return lo;
}

int route_table_edit_aside(const struct route_maps *m, __u32 vni, const struct route *r, __be32 prefix, __u8 len,
			   struct vpc *v, struct route_key *ck)
{
	struct route *list = NULL, *grown;
	size_t n = 0, at;
	bool found;
	int err;

	if (!valid_prefix(prefix, len) || (r && (r->prefix != prefix || r->len != len || !r->kind)))
		return -EINVAL;
	if (bpf_map_lookup_elem(m->vpcs_fd, &vni, v))
		return -errno;
	*ck = config_key(vni, v->route_gen, prefix, len);
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

/* Not journaled: the new table, the record that swaps it in, then the config entry. */
static int edit(const struct route_maps *m, __u32 vni, const struct route *r, __be32 prefix, __u8 len)
{
	struct route_key ck;
	struct vpc v;
	int err;

	if ((err = route_table_edit_aside(m, vni, r, prefix, len, &v, &ck)))
		return err;
	if (bpf_map_update_elem(m->vpcs_fd, &vni, &v, BPF_EXIST))
		return -errno;
	if (r) {
		struct route cfg = *r;
		cfg._pad = 0;
		return bpf_map_update_elem(m->routes_fd, &ck, &cfg, BPF_ANY) ? -errno : 0;
	}
	return bpf_map_delete_elem(m->routes_fd, &ck) && errno != ENOENT ? -errno : 0;
}

int route_table_insert(const struct route_maps *m, __u32 vni, const struct route *r)
{
	return edit(m, vni, r, r->prefix, r->len);
}

int route_table_remove(const struct route_maps *m, __u32 vni, __be32 prefix, __u8 len)
{
	return edit(m, vni, NULL, prefix, len);
}

int route_table_get(const struct route_maps *m, __u32 vni, __be32 prefix, __u8 len, struct route *out)
{
	struct vpc v;
	struct route_key ck;

	if (bpf_map_lookup_elem(m->vpcs_fd, &vni, &v))
		return -errno;
	ck = config_key(vni, v.route_gen, prefix, len);
	return bpf_map_lookup_elem(m->routes_fd, &ck, out) ? -errno : 0;
}

int route_table_lookup(const struct route_maps *m, __u32 vni, __be32 addr, struct route *out)
{
	struct vpc v;

	if (bpf_map_lookup_elem(m->vpcs_fd, &vni, &v))
		return -errno;
	return fib_lookup(m->fib_fd, &v, addr, out);
}

int route_table_build(const struct route_maps *m, __u32 vni, __u16 gen, struct vpc *v, const struct route *routes,
		      size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	struct route_key *keys;
	struct route *vals;
	int err = 0;

	for (size_t i = 0; i < n; i++)
		if (!valid_prefix(routes[i].prefix, routes[i].len))
			return -EINVAL;
	keys = malloc((n ? n : 1) * sizeof(*keys));
	vals = malloc((n ? n : 1) * sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		keys[i] = config_key(vni, gen, routes[i].prefix, routes[i].len);
		vals[i] = routes[i];
		vals[i]._pad = 0;
	}
	for (size_t i = 0; i < n && !err;) {
		__u32 count = (__u32)(n - i < CONFIG_BATCH ? n - i : CONFIG_BATCH);
		if (bpf_map_update_batch(m->routes_fd, keys + i, vals + i, &count, &opts))
			err = -errno;
		i += count;
	}
	free(keys);
	free(vals);
	return err ? err : fib_install(m->fib_fd, m->vpcs_fd, routes, n, v);
}
