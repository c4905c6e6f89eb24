/* maps/sg_table.c — compiles a security group's rules into port and address tries and swaps them in by generation. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "maps/sg_table.h"
#include "maps/prefix.h"
#include "maps/rcu.h"

/*
 * Compilation. For each direction and protocol class (TCP, UDP, ICMP,
 * other) the rules that apply are cut along the port axis into elementary
 * intervals; the rules covering an interval, in priority order, form its
 * class (equal lists share one class id). A class resolves the remote
 * address by longest prefix: for each distinct CIDR P among its rules the
 * answer is the first rule whose CIDR contains P. That is exact because
 * prefixes nest: every rule CIDR that holds an address whose longest match
 * is P also contains P. Adjacent intervals of one class become one port
 * range, written as at most 30 port prefixes.
 */

static const __u8 proto_classes[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, SG_PROTO_ANY };

int sg_rule_matches(const struct sg_rule *r, __u8 dir, __u8 proto, __u16 dport, __be32 remote)
{
	if (r->dir != dir)
		return 0;
	if (r->proto != SG_PROTO_ANY && r->proto != proto)
		return 0;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		if (dport < r->port_lo || dport > r->port_hi)
			return 0;
	} else if (r->port_lo != 0 || r->port_hi != 65535) {
		return 0;
	}
	return (remote & prefix_mask(r->cidr_len)) == r->cidr;
}

static int cmp_priority(const void *a, const void *b)
{
	const struct sg_rule_entry *x = a, *y = b;
	return x->priority < y->priority ? -1 : x->priority > y->priority;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	return x < y ? -1 : x > y;
}

/* A class: a list of rule indices (into the priority-sorted rules). */
struct cls {
	__u32 *idx;
	__u32 n;
	__u64 hash;
};

struct compiler {
	const struct sg_rule_entry *rules; /* sorted by priority */
	size_t n_rules;
	struct cls *classes;
	__u32 n_classes, cap_classes;
	struct sg_compiled *out;
	size_t cap_ports, cap_addrs;
	__u32 sg_id;
	__u16 gen;
};

static __u64 list_hash(const __u32 *idx, __u32 n)
{
	__u64 h = 1469598103934665603ULL;
	for (__u32 i = 0; i < n; i++) {
		h ^= idx[i] + 1;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The class id (1..) of a rule list, created if new; 0 with errno on failure. */
static __u32 class_of(struct compiler *c, const __u32 *idx, __u32 n)
{
	__u64 h = list_hash(idx, n);

	for (__u32 i = 0; i < c->n_classes; i++)
		if (c->classes[i].hash == h && c->classes[i].n == n &&
		    !memcmp(c->classes[i].idx, idx, n * sizeof(*idx)))
			return i + 1;
	if (c->n_classes >= 65535) {
		errno = E2BIG;
		return 0;
	}
	if (c->n_classes == c->cap_classes) {
		__u32 cap = c->cap_classes ? c->cap_classes * 2 : 64;
		struct cls *nc = realloc(c->classes, cap * sizeof(*nc));
		if (!nc)
			return 0;
		c->classes = nc;
		c->cap_classes = cap;
	}
	struct cls *k = &c->classes[c->n_classes];
	k->idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!k->idx)
		return 0;
	memcpy(k->idx, idx, n * sizeof(*idx));
	k->n = n;
	k->hash = h;
	return ++c->n_classes;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	if (need > SG_MAX_COMPILED)
		return -E2BIG;
	size_t ncap = *cap ? *cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * size);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

static int emit_port(struct compiler *c, __u8 dir, __u8 proto, __u32 port, __u32 len, __u32 cls)
{
	struct sg_compiled *o = c->out;
	size_t cap = c->cap_ports;
	int err = grow((void **)&o->port_keys, &cap, o->n_ports + 1, sizeof(*o->port_keys));
	if (!err)
		err = grow((void **)&o->port_cls, &c->cap_ports, o->n_ports + 1, sizeof(*o->port_cls));
	if (err)
		return err;
	struct sg_port_key *k = &o->port_keys[o->n_ports];
	memset(k, 0, sizeof(*k));
	k->prefixlen = SG_KEY_FIXED_BITS + len;
	k->sg_id = c->sg_id;
	k->gen = c->gen;
	k->dir = dir;
	k->proto = proto;
	k->port = htons((__u16)port);
	o->port_cls[o->n_ports++] = cls;
	return 0;
}

/* [lo, hi] as the fewest port prefixes. */
static int emit_range(struct compiler *c, __u8 dir, __u8 proto, __u32 lo, __u32 hi, __u32 cls)
{
	while (lo <= hi) {
		__u32 len = 16;
		while (len > 0) {
			__u32 size = 1U << (16 - (len - 1));
			if ((lo & (size - 1)) || lo + size - 1 > hi)
				break;
			len--;
		}
		int err = emit_port(c, dir, proto, lo, len, cls);
		if (err)
			return err;
		lo += 1U << (16 - len);
	}
	return 0;
}

static bool cidr_contains(__be32 outer, __u8 outer_len, __be32 inner, __u8 inner_len)
{
	return outer_len <= inner_len && (inner & prefix_mask(outer_len)) == outer;
}

static int emit_class_addrs(struct compiler *c, __u32 cls)
{
	const struct cls *k = &c->classes[cls - 1];
	struct sg_compiled *o = c->out;

	for (__u32 i = 0; i < k->n; i++) {
		const struct sg_rule *p = &c->rules[k->idx[i]].r;
		bool seen = false;

		for (__u32 j = 0; j < i && !seen; j++) {
			const struct sg_rule *q = &c->rules[k->idx[j]].r;
			seen = q->cidr == p->cidr && q->cidr_len == p->cidr_len;
		}
		if (seen)
			continue;
		/* The first rule (priority order) whose CIDR contains P decides P. */
		const struct sg_rule_entry *win = NULL;
		for (__u32 j = 0; j <= i; j++) {
			const struct sg_rule_entry *e = &c->rules[k->idx[j]];
			if (cidr_contains(e->r.cidr, e->r.cidr_len, p->cidr, p->cidr_len)) {
				win = e;
				break;
			}
		}
		size_t cap = c->cap_addrs;
		int err = grow((void **)&o->addr_keys, &cap, o->n_addrs + 1, sizeof(*o->addr_keys));
		if (!err)
			err = grow((void **)&o->verdicts, &c->cap_addrs, o->n_addrs + 1, sizeof(*o->verdicts));
		if (err)
			return err;
		struct sg_addr_key *ak = &o->addr_keys[o->n_addrs];
		memset(ak, 0, sizeof(*ak));
		ak->prefixlen = SG_KEY_FIXED_BITS + p->cidr_len;
		ak->sg_id = c->sg_id;
		ak->gen = c->gen;
		ak->cls = (__u16)cls;
		ak->addr = p->cidr;
		memset(&o->verdicts[o->n_addrs], 0, sizeof(o->verdicts[0]));
		o->verdicts[o->n_addrs].priority = win->priority;
		o->verdicts[o->n_addrs].action = win->r.action;
		o->n_addrs++;
	}
	return 0;
}

static bool rule_applies(const struct sg_rule *r, __u8 dir, __u8 proto)
{
	return r->dir == dir && (r->proto == SG_PROTO_ANY || r->proto == proto);
}

static int compile_class(struct compiler *c, __u8 dir, __u8 proto, __u32 *bounds, __u32 *list)
{
	size_t nb = 0;
	__u32 run_cls = 0, run_lo = 0;
	int err;

	bounds[nb++] = 0;
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct sg_rule *r = &c->rules[i].r;
		if (!rule_applies(r, dir, proto))
			continue;
		bounds[nb++] = r->port_lo;
		if (r->port_hi < 65535)
			bounds[nb++] = (__u32)r->port_hi + 1;
	}
	qsort(bounds, nb, sizeof(*bounds), cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < nb; i++)
		if (!u || bounds[u - 1] != bounds[i])
			bounds[u++] = bounds[i];
	nb = u;

	for (size_t b = 0; b <= nb; b++) {
		__u32 lo = b < nb ? bounds[b] : 65536, cls = 0, n = 0;

		if (b < nb) {
			for (size_t i = 0; i < c->n_rules; i++) {
				const struct sg_rule *r = &c->rules[i].r;
				if (rule_applies(r, dir, proto) && r->port_lo <= lo && lo <= r->port_hi)
					list[n++] = (__u32)i;
			}
			if (n) {
				__u32 before = c->n_classes;
				cls = class_of(c, list, n);
				if (!cls)
					return errno == E2BIG ? -E2BIG : -ENOMEM;
				if (c->n_classes != before && (err = emit_class_addrs(c, cls)))
					return err;
			}
		}
		/* close the running range when the class changes */
		if (b > 0 && cls != run_cls) {
			if (run_cls && (err = emit_range(c, dir, proto, run_lo, lo - 1, run_cls)))
				return err;
		}
		if (b == 0 || cls != run_cls) {
			run_cls = cls;
			run_lo = lo;
		}
	}
	return 0;
}

void sg_compiled_free(struct sg_compiled *c)
{
	free(c->port_keys);
	free(c->port_cls);
	free(c->addr_keys);
	free(c->verdicts);
	memset(c, 0, sizeof(*c));
}

int sg_compile(__u32 sg_id, __u16 gen, const struct sg_rule_entry *rules, size_t n, struct sg_compiled *out)
{
	struct compiler c = { .sg_id = sg_id, .gen = gen, .n_rules = n, .out = out };
	struct sg_rule_entry *sorted = NULL;
	__u32 *bounds = NULL, *list = NULL;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	bounds = malloc((2 * n + 1) * sizeof(*bounds));
	list = malloc((n ? n : 1) * sizeof(*list));
	if (!sorted || !bounds || !list)
		goto out;
	memcpy(sorted, rules, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_priority);
	c.rules = sorted;
	for (size_t d = 0; d < 2; d++)
		for (size_t p = 0; p < sizeof(proto_classes); p++)
			if ((err = compile_class(&c, (__u8)d, proto_classes[p], bounds, list)))
				goto out;
	out->n_classes = c.n_classes;
	err = 0;
out:
	for (__u32 i = 0; i < c.n_classes; i++)
		free(c.classes[i].idx);
	free(c.classes);
	free(sorted);
	free(bounds);
	free(list);
	if (err)
		sg_compiled_free(out);
	return err;
}

/* ---- the maps ---- */

/* Keys of one map that belong to (sg_id, gen); gen < 0: any generation. */
struct keyset {
	unsigned char *keys;
	size_t n, cap, size;
};

static int collect_keys(int fd, size_t key_size, __u32 sg_id, int gen, size_t id_off, size_t gen_off,
			struct keyset *ks)
{
	unsigned char key[32], next[32];
	void *prev = NULL;

	ks->size = key_size;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		__u32 id;
		__u16 g;
		memcpy(key, next, key_size);
		prev = key;
		memcpy(&id, key + id_off, sizeof(id));
		memcpy(&g, key + gen_off, sizeof(g));
		if (id != sg_id || (gen >= 0 && g != (__u16)gen))
			continue;
		if (ks->n == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 256;
			unsigned char *nk = realloc(ks->keys, cap * key_size);
			if (!nk)
				return -ENOMEM;
			ks->keys = nk;
			ks->cap = cap;
		}
		memcpy(ks->keys + ks->n++ * key_size, key, key_size);
	}
	return 0;
}

static void delete_keys(int fd, const struct keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		bpf_map_delete_elem(fd, ks->keys + i * ks->size);
}

/* The three maps' keys of (sg_id, gen). */
struct genset {
	struct keyset rules, ports, addrs;
};

static int collect_gen(const struct sg_maps *m, __u32 sg_id, int gen, struct genset *g)
{
	int err;

	memset(g, 0, sizeof(*g));
	err = collect_keys(m->rules_fd, sizeof(struct sg_rule_key), sg_id, gen, offsetof(struct sg_rule_key, sg_id),
			   offsetof(struct sg_rule_key, gen), &g->rules);
	if (!err)
		err = collect_keys(m->ports_fd, sizeof(struct sg_port_key), sg_id, gen,
				   offsetof(struct sg_port_key, sg_id), offsetof(struct sg_port_key, gen), &g->ports);
	if (!err)
		err = collect_keys(m->addrs_fd, sizeof(struct sg_addr_key), sg_id, gen,
				   offsetof(struct sg_addr_key, sg_id), offsetof(struct sg_addr_key, gen), &g->addrs);
	return err;
}

/* Removes in reverse order of reference: rules (config), then addresses, then ports. */
static void delete_gen(const struct sg_maps *m, const struct genset *g)
{
	delete_keys(m->rules_fd, &g->rules);
	delete_keys(m->ports_fd, &g->ports);
	delete_keys(m->addrs_fd, &g->addrs);
}

static void free_gen(struct genset *g)
{
	free(g->rules.keys);
	free(g->ports.keys);
	free(g->addrs.keys);
}

int sg_table_rules(const struct sg_maps *m, __u32 sg_id, struct sg_rule_entry **out, size_t *n)
{
	struct keyset ks = { 0 };
	struct sg g;
	int err;

	*out = NULL;
	*n = 0;
	if (bpf_map_lookup_elem(m->sgs_fd, &sg_id, &g))
		return -errno;
	err = collect_keys(m->rules_fd, sizeof(struct sg_rule_key), sg_id, g.gen, offsetof(struct sg_rule_key, sg_id),
			   offsetof(struct sg_rule_key, gen), &ks);
	if (err)
		goto out;
	*out = calloc(ks.n ? ks.n : 1, sizeof(**out));
	if (!*out) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ks.n; i++) {
		const struct sg_rule_key *k = (const void *)(ks.keys + i * ks.size);
		if (bpf_map_lookup_elem(m->rules_fd, k, &(*out)[*n].r))
			continue;
		(*out)[*n].priority = k->priority;
		(*n)++;
	}
	qsort(*out, *n, sizeof(**out), cmp_priority);
out:
	free(ks.keys);
	return err;
}

int sg_table_commit(const struct sg_maps *m, __u32 sg_id, const struct sg_rule_entry *rules, size_t n)
{
	struct sg_compiled c = { 0 };
	struct genset old = { 0 }, stale = { 0 }, written = { 0 };
	struct sg g;
	__u16 gen;
	int err;

	if (bpf_map_lookup_elem(m->sgs_fd, &sg_id, &g))
		return -errno;
	if (n > SG_MAX_RULES)
		return -E2BIG;
	gen = (__u16)(g.gen + 1);
	err = sg_compile(sg_id, gen, rules, n, &c);
	if (err)
		return err;
	/* Leftovers of a crashed commit under the new generation go first. */
	err = collect_gen(m, sg_id, gen, &stale);
	if (err)
		goto out;
	delete_gen(m, &stale);

	for (size_t i = 0; i < n && !err; i++) {
		struct sg_rule_key k = { .sg_id = sg_id, .gen = gen, .priority = rules[i].priority };
		if (bpf_map_update_elem(m->rules_fd, &k, &rules[i].r, BPF_NOEXIST))
			err = -errno;
	}
	for (size_t i = 0; i < c.n_addrs && !err; i++)
		if (bpf_map_update_elem(m->addrs_fd, &c.addr_keys[i], &c.verdicts[i], BPF_ANY))
			err = -errno;
	for (size_t i = 0; i < c.n_ports && !err; i++)
		if (bpf_map_update_elem(m->ports_fd, &c.port_keys[i], &c.port_cls[i], BPF_ANY))
			err = -errno;
	if (err) {
		if (!collect_gen(m, sg_id, gen, &written))
			delete_gen(m, &written);
		goto out;
	}
	err = collect_gen(m, sg_id, g.gen, &old);
	if (err)
		goto out;

	/* The switch: every packet from here on sees the new set, whole. */
	g.gen = gen;
	g.rules = (__u32)n;
	if (bpf_map_update_elem(m->sgs_fd, &sg_id, &g, BPF_EXIST)) {
		err = -errno;
		if (!collect_gen(m, sg_id, gen, &written))
			delete_gen(m, &written);
		goto out;
	}
	(void)rcu_wait();
	delete_gen(m, &old);
out:
	sg_compiled_free(&c);
	free_gen(&old);
	free_gen(&stale);
	free_gen(&written);
	return err;
}

int sg_table_purge(const struct sg_maps *m, __u32 sg_id)
{
	struct genset all;
	int err;

	(void)rcu_wait();
	err = collect_gen(m, sg_id, -1, &all);
	if (!err)
		delete_gen(m, &all);
	free_gen(&all);
	return err;
}
