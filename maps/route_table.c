/* maps/route_table.c — keeps a VPC's level slots equal to the longest-prefix match of its configured routes. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "maps/route_table.h"

__be32 prefix_mask(unsigned int len)
{
	return len ? htonl(~0U << (32 - len)) : 0;
}

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

static struct route_key slot_key(__u32 vni, __u16 gen, unsigned int level, __be32 addr)
{
	struct route_key k;
	memset(&k, 0, sizeof(k));
	k.vni = vni;
	k.gen = gen;
	k.type = ROUTE_KEY_SLOT;
	k.len = ROUTE_LEVEL_LEN(level);
	k.addr = addr & prefix_mask(k.len);
	return k;
}

/* Shortest prefix length that shares a level with the given one. */
static unsigned int level_floor(unsigned int level)
{
	return level ? ROUTE_LEVEL_LEN(level) - ROUTE_STRIDE + 1 : 0;
}

/* The i-th slot address of prefix/len expanded to its level. */
static __be32 slot_addr(__be32 prefix, unsigned int level, __u32 i)
{
	unsigned int llen = ROUTE_LEVEL_LEN(level);
	return i ? prefix | htonl(i << (32 - llen)) : prefix;
}

static __u32 slot_count(unsigned int len, unsigned int level)
{
	return 1U << (ROUTE_LEVEL_LEN(level) - len);
}

static bool valid_prefix(__be32 prefix, unsigned int len)
{
	return len <= 32 && !(prefix & ~prefix_mask(len));
}

/*
 * The pivot's bookkeeping. Every slot of a level longer than the pivot is
 * counted in the ROUTE_KEY_HINT entry of its /24. While that count is zero a
 * pivot slot is written with ROUTE_SLOT_LEAF; while it is not, the /24 has a
 * pivot slot, a ROUTE_SLOT_MARKER if no route of the pivot's level covers it.
 * The leaf flag is cleared (or the marker added) before a longer slot
 * appears, and set again (or the marker removed) only after the last one is
 * gone, so a packet never stops at the pivot while a longer slot exists.
 */
static struct route_key hint_key(__u32 vni, __u16 gen, __be32 addr)
{
	struct route_key k = slot_key(vni, gen, ROUTE_PIVOT_LEVEL, addr);

	k.type = ROUTE_KEY_HINT;
	return k;
}

static __u32 deeper_slots(int routes_fd, __u32 vni, __u16 gen, __be32 addr)
{
	struct route_key hk = hint_key(vni, gen, addr);
	struct route h;

	return bpf_map_lookup_elem(routes_fd, &hk, &h) == 0 ? h.peer_vni : 0;
}

static const struct route pivot_marker = { .slot_flags = ROUTE_SLOT_MARKER };

/* The value a slot of `level` covering addr gets for route r. */
static struct route slot_value(int routes_fd, __u32 vni, __u16 gen, unsigned int level, __be32 addr,
			       const struct route *r)
{
	struct route v = *r;

	v.slot_flags = 0;
	if (level == ROUTE_PIVOT_LEVEL && !deeper_slots(routes_fd, vni, gen, addr))
		v.slot_flags = ROUTE_SLOT_LEAF;
	return v;
}

/* The pivot slot of addr's /24 when longer slots appear there (deeper) or the last one goes (!deeper). */
static int pivot_deeper(int routes_fd, __u32 vni, __u16 gen, __be32 addr, bool deeper)
{
	struct route_key sk = slot_key(vni, gen, ROUTE_PIVOT_LEVEL, addr);
	struct route cur;

	if (bpf_map_lookup_elem(routes_fd, &sk, &cur)) {
		if (deeper && bpf_map_update_elem(routes_fd, &sk, &pivot_marker, BPF_NOEXIST) && errno != EEXIST)
			return -errno;
		return 0;
	}
	if (cur.slot_flags & ROUTE_SLOT_MARKER)
		return deeper || !bpf_map_delete_elem(routes_fd, &sk) || errno == ENOENT ? 0 : -errno;
	if (!!(cur.slot_flags & ROUTE_SLOT_LEAF) == !deeper)
		return 0;
	cur.slot_flags = deeper ? cur.slot_flags & ~ROUTE_SLOT_LEAF : cur.slot_flags | ROUTE_SLOT_LEAF;
	return bpf_map_update_elem(routes_fd, &sk, &cur, BPF_EXIST) && errno != ENOENT ? -errno : 0;
}

/* A slot longer than the pivot appears (+1) or goes (-1) under the /24 of addr. */
static int deeper_adjust(int routes_fd, __u32 vni, __u16 gen, __be32 addr, int delta)
{
	struct route_key hk = hint_key(vni, gen, addr);
	struct route h;
	__u32 count = 0;
	int err;

	if (bpf_map_lookup_elem(routes_fd, &hk, &h) == 0)
		count = h.peer_vni;
	else
		memset(&h, 0, sizeof(h));
	if (delta > 0) {
		if (!count && (err = pivot_deeper(routes_fd, vni, gen, addr, true)))
			return err;
		h.peer_vni = count + 1;
		return bpf_map_update_elem(routes_fd, &hk, &h, BPF_ANY) ? -errno : 0;
	}
	if (count > 1) {
		h.peer_vni = count - 1;
		return bpf_map_update_elem(routes_fd, &hk, &h, BPF_ANY) ? -errno : 0;
	}
	if (count && bpf_map_delete_elem(routes_fd, &hk) && errno != ENOENT)
		return -errno;
	return pivot_deeper(routes_fd, vni, gen, addr, false);
}

/* Writes r into every slot of its level it covers, unless a longer route of the level owns it. */
static int slots_insert(int routes_fd, __u32 vni, __u16 gen, const struct route *r)
{
	unsigned int level = ROUTE_LEVEL_INDEX(r->len);

	for (__u32 i = 0; i < slot_count(r->len, level); i++) {
		__be32 addr = slot_addr(r->prefix, level, i);
		struct route_key sk = slot_key(vni, gen, level, addr);
		struct route cur, v;
		bool exists = bpf_map_lookup_elem(routes_fd, &sk, &cur) == 0;
		int err;

		if (exists && cur.len > r->len)
			continue;
		if (!exists && level > ROUTE_PIVOT_LEVEL && (err = deeper_adjust(routes_fd, vni, gen, addr, +1)))
			return err;
		v = slot_value(routes_fd, vni, gen, level, addr, r);
		if (bpf_map_update_elem(routes_fd, &sk, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Hands each slot r owned to the next shorter configured route of the level, or deletes it. */
static int slots_remove(int routes_fd, __u32 vni, __u16 gen, __be32 prefix, unsigned int len)
{
	unsigned int level = ROUTE_LEVEL_INDEX(len);

	for (__u32 i = 0; i < slot_count(len, level); i++) {
		__be32 addr = slot_addr(prefix, level, i);
		struct route_key sk = slot_key(vni, gen, level, addr);
		struct route cur, shorter;
		bool found = false;

		if (bpf_map_lookup_elem(routes_fd, &sk, &cur) || cur.len != len || cur.prefix != prefix)
			continue;
		for (int l = (int)len - 1; l >= (int)level_floor(level) && !found; l--) {
			struct route_key ck = config_key(vni, gen, addr, (__u8)l);
			found = bpf_map_lookup_elem(routes_fd, &ck, &shorter) == 0;
		}
		if (found) {
			struct route v = slot_value(routes_fd, vni, gen, level, addr, &shorter);
			if (bpf_map_update_elem(routes_fd, &sk, &v, BPF_ANY))
				return -errno;
			continue;
		}
		if (level == ROUTE_PIVOT_LEVEL && deeper_slots(routes_fd, vni, gen, addr)) {
			/* longer slots remain under this /24: it keeps a pivot slot, now a marker */
			if (bpf_map_update_elem(routes_fd, &sk, &pivot_marker, BPF_ANY))
				return -errno;
			continue;
		}
		if (bpf_map_delete_elem(routes_fd, &sk) && errno != ENOENT)
			return -errno;
		if (level > ROUTE_PIVOT_LEVEL) {
			int err = deeper_adjust(routes_fd, vni, gen, addr, -1);
			if (err)
				return err;
		}
	}
	return 0;
}

int route_table_insert_gen(int routes_fd, __u32 vni, __u16 gen, struct vpc *v, const struct route *r,
			   bool *vpc_changed)
{
	unsigned int level = ROUTE_LEVEL_INDEX(r->len);
	struct route_key ck = config_key(vni, gen, r->prefix, r->len);
	struct route old;
	int err;

	*vpc_changed = false;
	if (!valid_prefix(r->prefix, r->len))
		return -EINVAL;
	if (bpf_map_lookup_elem(routes_fd, &ck, &old)) {
		v->route_count[level]++;
		v->levels |= 1U << level;
		*vpc_changed = true;
	}
	struct route cfg = *r;
	cfg.slot_flags = 0;
	err = slots_insert(routes_fd, vni, gen, &cfg);
	if (err)
		return err;
	return bpf_map_update_elem(routes_fd, &ck, &cfg, BPF_ANY) ? -errno : 0;
}

int route_table_remove_gen(int routes_fd, __u32 vni, __u16 gen, struct vpc *v, __be32 prefix, __u8 len,
			   bool *vpc_changed)
{
	unsigned int level = ROUTE_LEVEL_INDEX(len);
	struct route_key ck = config_key(vni, gen, prefix, len);
	struct route old;
	int err;

	*vpc_changed = false;
	if (!valid_prefix(prefix, len))
		return -EINVAL;
	if (bpf_map_lookup_elem(routes_fd, &ck, &old))
		return -ENOENT;
	/* Slots first, config last: a removal cut short is finished by running it again. */
	err = slots_remove(routes_fd, vni, gen, prefix, len);
	if (err)
		return err;
	if (bpf_map_delete_elem(routes_fd, &ck))
		return -errno;
	if (v->route_count[level] > 0)
		v->route_count[level]--;
	if (!v->route_count[level])
		v->levels &= ~(1U << level);
	*vpc_changed = true;
	return 0;
}

int route_table_insert(int routes_fd, int vpcs_fd, __u32 vni, const struct route *r)
{
	struct route_key ck;
	struct route old;
	struct vpc v;

	if (bpf_map_lookup_elem(vpcs_fd, &vni, &v))
		return -errno;
	if (!valid_prefix(r->prefix, r->len))
		return -EINVAL;
	ck = config_key(vni, v.route_gen, r->prefix, r->len);
	if (bpf_map_lookup_elem(routes_fd, &ck, &old)) {
		/* A new level becomes visible to the datapath before any slot of it exists. */
		unsigned int level = ROUTE_LEVEL_INDEX(r->len);
		struct vpc grown = v;
		grown.levels |= 1U << level;
		if (bpf_map_update_elem(vpcs_fd, &vni, &grown, BPF_EXIST))
			return -errno;
	}
	bool changed;
	int err = route_table_insert_gen(routes_fd, vni, v.route_gen, &v, r, &changed);
	if (err)
		return err;
	return changed && bpf_map_update_elem(vpcs_fd, &vni, &v, BPF_EXIST) ? -errno : 0;
}

int route_table_remove(int routes_fd, int vpcs_fd, __u32 vni, __be32 prefix, __u8 len)
{
	struct vpc v;
	bool changed;
	int err;

	if (bpf_map_lookup_elem(vpcs_fd, &vni, &v))
		return -errno;
	/* The level bit is cleared only after its slots are gone (in the VPC write below). */
	err = route_table_remove_gen(routes_fd, vni, v.route_gen, &v, prefix, len, &changed);
	if (err)
		return err;
	return changed && bpf_map_update_elem(vpcs_fd, &vni, &v, BPF_EXIST) ? -errno : 0;
}

int route_table_get(int routes_fd, int vpcs_fd, __u32 vni, __be32 prefix, __u8 len, struct route *out)
{
	struct vpc v;
	struct route_key ck;

	if (bpf_map_lookup_elem(vpcs_fd, &vni, &v))
		return -errno;
	ck = config_key(vni, v.route_gen, prefix, len);
	return bpf_map_lookup_elem(routes_fd, &ck, out) ? -errno : 0;
}

/* The datapath's lookup (bpf/route.h route_lookup), probe for probe. */
int route_table_lookup(int routes_fd, int vpcs_fd, __u32 vni, __be32 addr, struct route *out)
{
	struct route pivot;
	bool have_pivot = false;
	struct vpc v;

	if (bpf_map_lookup_elem(vpcs_fd, &vni, &v))
		return -errno;
	if (v.levels & ~0U << ROUTE_PIVOT_LEVEL) {
		struct route_key sk = slot_key(vni, v.route_gen, ROUTE_PIVOT_LEVEL, addr);
		have_pivot = bpf_map_lookup_elem(routes_fd, &sk, &pivot) == 0;
		if (have_pivot && (pivot.slot_flags & ROUTE_SLOT_LEAF))
			goto found_pivot;
	}
	for (int level = ROUTE_LEVELS - 1; level >= 0; level--) {
		if (level > ROUTE_PIVOT_LEVEL && !have_pivot)
			continue; /* no pivot slot: nothing longer under this /24 */
		if (level == ROUTE_PIVOT_LEVEL) {
			if (have_pivot && !(pivot.slot_flags & ROUTE_SLOT_MARKER))
				goto found_pivot;
			continue;
		}
		if (!(v.levels & (1U << level)))
			continue;
		struct route_key sk = slot_key(vni, v.route_gen, (unsigned int)level, addr);
		if (bpf_map_lookup_elem(routes_fd, &sk, out) == 0) {
			out->slot_flags = 0;
			return 0;
		}
	}
	return -ENOENT;
found_pivot:
	*out = pivot;
	out->slot_flags = 0;
	return 0;
}
