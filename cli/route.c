/* cli/route.c — vpcbpf route: a VPC's static routes (via an appliance NIC, blackhole, peer VPC, the internet), show/get/flush. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "cli/cli.h"
#include "maps/fib.h"
#include "maps/txn.h"
#include "cli/state.h"

static const char *const kind_names[] = {
	[ROUTE_CONNECTED] = "connected", [ROUTE_VIA] = "via", [ROUTE_BLACKHOLE] = "blackhole", [ROUTE_PEER] = "peer",
	[ROUTE_INTERNET] = "internet",
};

static const char *kind_name(__u8 kind)
{
	return kind < sizeof(kind_names) / sizeof(kind_names[0]) && kind_names[kind] ? kind_names[kind] : "unknown";
}

struct route_row {
	__u32 vni;
	struct route r;
};

struct route_list {
	struct route_row *rows;
	size_t n, cap;
	__u32 vni;
	struct store *s;
};

/* The routes of one VPC, from the list in its fib region (the one place they live). */
static int collect(const void *key, const void *value, void *ctx)
{
	__u32 vni = *(const __u32 *)key;
	struct route_list *l = ctx;
	struct route *list;
	size_t n;
	int err;

	if (l->vni && vni != l->vni)
		return 0;
	if ((err = fib_routes(l->s->fd[SM_FIB], value, &list, &n)))
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		struct route_row *row = store_row_push((void **)&l->rows, &l->n, &l->cap, sizeof(*row));
		if (!row)
			err = -ENOMEM;
		else
			*row = (struct route_row){ .vni = vni, .r = list[i] };
	}
	free(list);
	return err;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct route_row *x = a, *y = b;
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	if (x->r.prefix != y->r.prefix)
		return ntohl(x->r.prefix) < ntohl(y->r.prefix) ? -1 : 1;
	return (int)x->r.len - (int)y->r.len;
}

static void route_print(__u32 vni, const struct route *r)
{
	char b1[20], b2[16];

	pr_str("prefix", "%s", prefix_str(r->prefix, r->len, b1));
	pr_u64("vpc", " vpc %llu", vni);
	pr_str("type", r->kind == ROUTE_VIA || r->kind == ROUTE_PEER ? NULL : " %s", kind_name(r->kind));
	if (r->kind == ROUTE_VIA)
		pr_str("via", " via %s", ip_str(r->via, b2));
	if (r->kind == ROUTE_PEER)
		pr_u64("peer", " peer %llu", r->peer_vni);
	pr_bool("advertise", " advertise", r->flags & ROUTE_F_ADVERTISE);
}

static int parse_vpc_filter(int argc, char **argv, __u32 *vni, bool required, const char *cmd)
{
	*vni = 0;
	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, vni))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	if (required && !*vni)
		return fail("route %s: missing \"vpc VNI\"", cmd);
	return 0;
}

/* route show's filter: [vpc VNI] [PREFIX | match IP] (iproute2's "ip route show PREFIX" and "match"). */
struct route_filter {
	__u32 vni;       /* 0: every VPC */
	bool exact;      /* PREFIX: that prefix only */
	bool match;      /* match IP: every route covering IP */
	__be32 prefix;   /* the PREFIX, or IP */
	__u8 len;
	const char *typed; /* the PREFIX or IP as typed, for "matches nothing" */
};

static int parse_show_filter(int argc, char **argv, struct route_filter *f)
{
	static const char *const kws[] = { "vpc", "match" };

	memset(f, 0, sizeof(*f));
	for (; argc > 0; argc--, argv++) {
		const char *val;
		int k = keyword_find(*argv, kws, 2, 0, "route show");
		if (k == -2)
			return 1;
		if (k == 0) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &f->vni))
				return 1;
			continue;
		}
		if (f->exact || f->match)
			return fail("route show: one PREFIX or \"match IP\", not also \"%s\"", *argv);
		if (k == 1) {
			if (!(val = next_value(&argc, &argv, "match")) || parse_ip(val, &f->prefix))
				return 1;
			f->match = true;
			f->len = 32;
		} else if (strchr(*argv, '.') || strchr(*argv, '/')) { /* a word that is no keyword: the PREFIX */
			if (parse_prefix(*argv, &f->prefix, &f->len))
				return 1;
			val = *argv;
			f->exact = true;
		} else {
			return unknown_word(*argv);
		}
		f->typed = val;
	}
	return 0;
}

static bool route_passes(const struct route_filter *f, __u32 vni, const struct route *r)
{
	if (f->vni && vni != f->vni)
		return false;
	if (f->exact)
		return r->prefix == f->prefix && r->len == f->len;
	if (f->match)
		return (f->prefix & prefix_mask(r->len)) == r->prefix;
	return true;
}

static int list_routes(struct store *s, __u32 vni, struct route_list *l)
{
	memset(l, 0, sizeof(*l));
	l->vni = vni;
	l->s = s;
	int err = store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), collect, l);
	if (err)
		return fail_errno(err, "cannot read the route tables");
	qsort(l->rows, l->n, sizeof(*l->rows), cmp_rows);
	return 0;
}

/* match IP lists the covering routes of a VPC longest first: the one the datapath takes leads. */
static int cmp_longest_first(const void *a, const void *b)
{
	const struct route_row *x = a, *y = b;
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return (int)y->r.len - (int)x->r.len;
}

static int do_show(int argc, char **argv)
{
	struct route_filter f;
	struct route_list l;
	struct store *s;
	size_t n = 0;
	char in[32] = "";

	if (parse_show_filter(argc, argv, &f))
		return 1;
	/* The lock, as save takes it: the lines of a table swapped out are reused by a later commit once a
	 * grace period has passed, and a show reading them meanwhile would list another table's routes. */
	if (!(s = store_get(true)))
		return 1;
	if (list_routes(s, f.vni, &l))
		return 1;
	for (size_t i = 0; i < l.n; i++)
		if (route_passes(&f, l.rows[i].vni, &l.rows[i].r))
			l.rows[n++] = l.rows[i];
	l.n = n;
	if (f.match)
		qsort(l.rows, l.n, sizeof(*l.rows), cmp_longest_first);
	if (f.vni)
		snprintf(in, sizeof(in), " in VPC %u", f.vni);
	if (!l.n && f.exact) {
		free(l.rows);
		return fail("route %s does not exist%s", f.typed, in);
	}
	if (!l.n && f.match) {
		free(l.rows);
		return fail("no route%s matches %s", in, f.typed);
	}
	pr_begin_list();
	for (size_t i = 0; i < l.n; i++) {
		pr_begin_obj();
		route_print(l.rows[i].vni, &l.rows[i].r);
		pr_end_obj();
	}
	pr_end_list();
	free(l.rows);
	return 0;
}

/* Resolves ADDR the way the datapath does: a NIC first, then the longest route; via and peer followed once. */
static int do_get(int argc, char **argv)
{
	struct store *s;
	struct route r;
	struct nic n;
	struct vpc v;
	__be32 addr;
	__u32 vni = 0;
	char b1[16];

	if (argc < 1)
		return fail("route get: missing ADDR");
	if (parse_ip(argv[0], &addr))
		return 1;
	if (parse_vpc_filter(argc - 1, argv + 1, &vni, true, "get"))
		return 1;
	if (!(s = store_get(false)))
		return 1;
	if (store_vpc(s, vni, &v))
		return fail("VPC %u does not exist", vni);
	pr_begin_list();
	pr_begin_obj();
	pr_str("dst", "%s", ip_str(addr, b1));
	pr_u64("vpc", " vpc %llu", vni);
	for (int hop = 0; hop < 2; hop++) {
		if (store_nic(s, vni, addr, &n) == 0) {
			pr_str("result", " deliver", "deliver");
			pr_begin_nested("nic");
			pr_text(" to ");
			nic_print(&(struct nic_key){ .vni = vni, .ip = addr }, &n);
			pr_end_nested();
			break;
		}
		if (route_table_lookup(&s->rm, vni, addr, &r)) {
			pr_str("result", " drop %s", "no-route");
			break;
		}
		pr_begin_nested("route");
		pr_text(" route ");
		route_print(vni, &r);
		pr_end_nested();
		if (r.kind == ROUTE_CONNECTED) {
			pr_str("result", " drop %s", "no-nic");
		} else if (r.kind == ROUTE_BLACKHOLE) {
			pr_str("result", " drop %s", "blackhole");
		} else if (r.kind == ROUTE_INTERNET) {
			pr_str("result", " out of the external device, source NAT", "internet");
		} else if (r.kind == ROUTE_VIA) {
			if (store_nic(s, vni, r.via, &n)) {
				pr_str("result", " drop %s", "nexthop-unknown");
			} else {
				pr_str("result", " deliver", "deliver");
				pr_begin_nested("nic");
				pr_text(" to ");
				nic_print(&(struct nic_key){ .vni = vni, .ip = r.via }, &n);
				pr_end_nested();
			}
		} else if (r.kind == ROUTE_PEER && hop == 0) {
			vni = r.peer_vni;
			if (store_vpc(s, vni, &v) == 0)
				continue;
			pr_str("result", " drop %s", "peer-unknown");
		} else {
			pr_str("result", " drop %s", "peer-unknown");
		}
		break;
	}
	pr_end_obj();
	pr_end_list();
	return 0;
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "add", NULL }, { "del", NULL }, { "delete", NULL }, { "replace", NULL },
	{ "get", do_get }, { "flush", NULL }, { "list", do_show }, { 0 },
};

const struct object obj_route = {
	.name = "route",
	.cmds = cmds,
	/* add, replace, del and flush: cli/edit.c's table (help writes them from it: object_usage) */
	.usage = "       route show [vpc VNI] [PREFIX | match IP]\n"
		 "       route get ADDR vpc VNI\n"
		 "via IP: a NIC of the VPC (an appliance: a vCPE, a router VM); peer VNI: VPC peering;\n"
		 "internet: SNAT out of this host's external device (docs/nat.md);\n"
		 "advertise: the route is handed to BGP (docs/bgp.md).\n"
		 "A subnet is the VPC's connected route; NICs are matched before routes. show PREFIX lists\n"
		 "that prefix, show match IP every route covering IP, longest first (the datapath takes the first).",
};
