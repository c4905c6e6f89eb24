/* cli/advertise.c — keeps the kernel's vpcbpf routes (one table per VPC) equal to the routes marked advertise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "cli/advertise.h"
#include "cli/cli.h"
#include "maps/fib.h"
#include "maps/prefix.h"

/*
 * The kernel table is a hand-off, not a forwarding table: this host's
 * kernel never routes tenant addresses, so each route is a blackhole (a
 * `ip rule` pointing at the table by mistake drops instead of leaking
 * tenant traffic onto the host's networks). A routing daemon only needs the
 * prefix: BIRD exports a blackhole route over BGP with itself as next hop.
 */

struct adv_route {
	__u32 table;
	__be32 prefix;
	__u8 len;
	__u8 _pad[3];
};

struct adv_set {
	struct adv_route *r;
	size_t n, cap;
};

static bool settled;

bool advertise_settled(void)
{
	return settled;
}

__u32 advertise_table(__u32 vni, __u32 table)
{
	return table ? table : ADVERTISE_TABLE_BASE + vni;
}

int parse_advertise_table(const char *s, __u32 *table)
{
	if (parse_u32(s, "table", table, 1, 0xffffffffU))
		return 1;
	if (*table >= 253 && *table <= 255)
		return fail("table %u is one of the kernel's own (default, main, local): pick another", *table);
	return 0;
}

static int set_push(struct adv_set *s, __u32 table, __be32 prefix, __u8 len)
{
	struct adv_route *r = store_row_push((void **)&s->r, &s->n, &s->cap, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->table = table;
	r->prefix = prefix;
	r->len = len;
	return 0;
}

static int cmp_route(const void *a, const void *b)
{
	const struct adv_route *x = a, *y = b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	return prefix_order(x->prefix, x->len, y->prefix, y->len);
}

static bool set_has(const struct adv_set *s, const struct adv_route *r)
{
	return s->n && bsearch(r, s->r, s->n, sizeof(*r), cmp_route);
}

/* ---- what the state advertises: every VPC's fib region lists its configured routes with their flags ---- */
struct want_ctx {
	struct store *s;
	struct adv_set *set;
	int err;
};

static int want_vpc(const void *key, const void *value, void *ctx)
{
	struct want_ctx *w = ctx;
	const struct vpc *v = value;
	__u32 vni = *(const __u32 *)key;
	struct route *list = NULL;
	size_t n = 0;

	if (!v->fib_base || !fib_may_advertise(w->s->fd[SM_FIB], v))
		return 0; /* no advertised route: its list (maybe 1M routes) is not read */
	if ((w->err = fib_routes(w->s->fd[SM_FIB], v, &list, &n)))
		return 1;
	for (size_t i = 0; i < n && !w->err; i++)
		if (list[i].flags & ROUTE_F_ADVERTISE)
			w->err = set_push(w->set, advertise_table(vni, v->advertise_table), list[i].prefix, list[i].len);
	free(list);
	return w->err ? 1 : 0;
}

/* ---- rtnetlink ---- */
struct nl {
	int fd;
	__u32 seq;
};

static int nl_open(struct nl *nl)
{
	int one = 1;

	nl->seq = 0;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	/* the kernel filters the dump by protocol itself (ip route show proto does the same) */
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	return 0;
}

static void add_attr(struct nlmsghdr *nh, size_t cap, int type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > cap)
		return;
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);
}

/* Our routes of every table, from a dump filtered by protocol (older kernels ignore the filter: we check too). */
static int nl_dump(struct nl *nl, struct adv_set *have)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = ++nl->seq },
		.rt = { .rtm_family = AF_INET, .rtm_protocol = ADVERTISE_PROTO },
	};
	static char buf[1 << 16];
	int err = 0;

	if (send(nl->fd, &req, sizeof(req), 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned int)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != nl->seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return err;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				int e = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				return e ? e : err;
			}
			if (nh->nlmsg_type != RTM_NEWROUTE)
				continue;
			struct rtmsg *rt = NLMSG_DATA(nh);
			int len = (int)RTM_PAYLOAD(nh);
			__u32 table = rt->rtm_table;
			__be32 dst = 0;

			if (rt->rtm_protocol != ADVERTISE_PROTO || rt->rtm_family != AF_INET)
				continue;
			for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
				if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= 4)
					memcpy(&table, RTA_DATA(a), 4);
				else if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) >= 4)
					memcpy(&dst, RTA_DATA(a), 4);
			}
			if (!err)
				err = set_push(have, table, dst, rt->rtm_dst_len);
		}
	}
}

/* RTM_NEWROUTE (create, never replacing a route of someone else) or RTM_DELROUTE of one of ours. */
static int nl_route(struct nl *nl, int type, const struct adv_route *r)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	char buf[1024];
	__u32 table = r->table;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.nh.nlmsg_seq = ++nl->seq;
	req.rt.rtm_family = AF_INET;
	req.rt.rtm_dst_len = r->len;
	req.rt.rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	req.rt.rtm_protocol = ADVERTISE_PROTO;
	req.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	req.rt.rtm_type = RTN_BLACKHOLE;
	add_attr(&req.nh, sizeof(req), RTA_TABLE, &table, sizeof(table));
	add_attr(&req.nh, sizeof(req), RTA_DST, &r->prefix, sizeof(r->prefix));
	if (send(nl->fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned int)n); nh = NLMSG_NEXT(nh, n))
			if (nh->nlmsg_seq == nl->seq && nh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
	}
}

static const char *route_str(const struct adv_route *r, char *buf, size_t len)
{
	char p[20];

	snprintf(buf, len, "%s table %u", prefix_str(r->prefix, r->len, p), r->table);
	return buf;
}

/* kernel := want, touching only routes of protocol ADVERTISE_PROTO. */
static int sync_to(struct adv_set *want)
{
	struct adv_set have = { 0 };
	struct nl nl;
	char b[64];
	int err, rc = 0;

	if ((err = nl_open(&nl)))
		return fail_errno(err, "cannot open rtnetlink to write the advertised routes");
	err = nl_dump(&nl, &have);
	if (err) {
		rc = fail_errno(err, "cannot read the kernel's advertised (proto %s) routes", ADVERTISE_PROTO_NAME);
		goto out;
	}
	if (want->n)
		qsort(want->r, want->n, sizeof(*want->r), cmp_route);
	if (have.n)
		qsort(have.r, have.n, sizeof(*have.r), cmp_route);
	/* withdrawals first: a daemon never sees a route that is gone next to one that replaces it */
	for (size_t i = 0; i < have.n && !rc; i++)
		if (!set_has(want, &have.r[i]) && (err = nl_route(&nl, RTM_DELROUTE, &have.r[i])) && err != -ESRCH)
			rc = fail_errno(err, "cannot withdraw advertised route %s", route_str(&have.r[i], b, sizeof(b)));
	for (size_t i = 0; i < want->n && !rc; i++)
		if (!set_has(&have, &want->r[i]) && (err = nl_route(&nl, RTM_NEWROUTE, &want->r[i])))
			rc = err == -EEXIST ? fail("cannot advertise %s: the table already has that route from another source",
						   route_str(&want->r[i], b, sizeof(b)))
					    : fail_errno(err, "cannot advertise %s", route_str(&want->r[i], b, sizeof(b)));
out:
	free(have.r);
	close(nl.fd);
	return rc;
}

int advertise_reconcile(struct store *s)
{
	struct adv_set want = { 0 };
	struct want_ctx w = { .s = s, .set = &want };
	int rc;

	if (store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), want_vpc, &w) || w.err) {
		free(want.r);
		return fail_errno(w.err ? w.err : ENOMEM, "cannot read the advertised routes");
	}
	rc = sync_to(&want);
	free(want.r);
	settled = rc == 0;
	return rc;
}

int advertise_withdraw_all(void)
{
	struct adv_set none = { 0 };
	int rc = sync_to(&none);

	settled = rc == 0;
	return rc;
}
