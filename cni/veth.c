/* cni/veth.c — the container's interface: a veth whose peer lives in the container's netns (libnl-route). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include "cli/cli.h"
#include "cni/cni.h"

static const char *mac_s(const __u8 m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static struct nl_sock *rtnl_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (sk && nl_connect(sk, NETLINK_ROUTE)) {
		nl_socket_free(sk);
		sk = NULL;
	}
	return sk;
}

/* Runs fn in the container's netns (a netlink socket opened there), then comes back. */
struct in_ns {
	int host_fd, ns_fd;
};

static int ns_enter(const struct cni_call *c, struct in_ns *n, bool missing_ok)
{
	n->host_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->host_fd < 0)
		return cni_fail(CNI_ERR_IO, "cannot open this netns: %s", strerror(errno));
	n->ns_fd = c->netns && *c->netns ? open(c->netns, O_RDONLY | O_CLOEXEC) : -1;
	if (n->ns_fd < 0) {
		int err = errno;
		close(n->host_fd);
		if (missing_ok && (err == ENOENT || !c->netns || !*c->netns))
			return -ENOENT;
		return cni_fail(CNI_ERR_CONTAINER, "cannot open the container's netns \"%s\": %s", c->netns ? c->netns : "",
				strerror(err));
	}
	if (setns(n->ns_fd, CLONE_NEWNET)) {
		int err = errno;
		close(n->ns_fd);
		close(n->host_fd);
		return cni_fail(CNI_ERR_CONTAINER, "cannot enter the container's netns \"%s\": %s", c->netns,
				strerror(err));
	}
	return 0;
}

static void ns_leave(struct in_ns *n)
{
	/* Failing to come back would run the rest (the datapath) in the container: stop rather than do that. */
	if (setns(n->host_fd, CLONE_NEWNET)) {
		fprintf(stderr, "vpcbpf-cni: cannot return to the host netns: %s\n", strerror(errno));
		_exit(2);
	}
	close(n->ns_fd);
	close(n->host_fd);
}

int veth_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

unsigned int host_ifindex(const char *name)
{
	return if_nametoindex(name);
}

static int link_up(struct nl_sock *sk, struct rtnl_link *l)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int err;

	if (!change)
		return -NLE_NOMEM;
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(sk, l, change, 0);
	rtnl_link_put(change);
	return err;
}

/* Inside the container: the interface up, its address, the default route via the gateway. */
static int configure_container(const struct cni_call *c, const struct cni_addr *a, __be32 gateway)
{
	struct nl_sock *sk = rtnl_open();
	struct rtnl_link *l = NULL;
	struct rtnl_addr *ad = NULL;
	struct rtnl_route *rt = NULL;
	struct rtnl_nexthop *nh;
	struct nl_addr *local = NULL, *dst = NULL, *gw = NULL;
	char b1[16];
	__be32 any = 0;
	int err, ifindex;

	if (!sk)
		return cni_fail(CNI_ERR_IO, "cannot open rtnetlink in the container");
	if ((err = rtnl_link_get_kernel(sk, 0, c->ifname, &l))) {
		cni_fail(CNI_ERR_IO, "interface %s is missing in the container: %s", c->ifname, nl_geterror(err));
		goto out;
	}
	ifindex = rtnl_link_get_ifindex(l);
	if ((err = link_up(sk, l))) {
		cni_fail(CNI_ERR_IO, "cannot set %s up in the container: %s", c->ifname, nl_geterror(err));
		goto out;
	}
	ad = rtnl_addr_alloc();
	local = nl_addr_build(AF_INET, &a->ip, 4);
	if (!ad || !local) {
		err = cni_fail(CNI_ERR_IO, "out of memory");
		goto out;
	}
	nl_addr_set_prefixlen(local, a->len);
	rtnl_addr_set_ifindex(ad, ifindex);
	rtnl_addr_set_local(ad, local);
	if ((err = rtnl_addr_add(sk, ad, 0))) {
		cni_fail(CNI_ERR_IO, "cannot add address %s/%u to %s in the container: %s", ip_str(a->ip, b1), a->len,
			 c->ifname, nl_geterror(err));
		goto out;
	}
	rt = rtnl_route_alloc();
	dst = nl_addr_build(AF_INET, &any, 4);
	gw = nl_addr_build(AF_INET, &gateway, 4);
	nh = rtnl_route_nh_alloc();
	if (!rt || !dst || !gw || !nh) {
		if (nh)
			rtnl_route_nh_free(nh);
		err = cni_fail(CNI_ERR_IO, "out of memory");
		goto out;
	}
	nl_addr_set_prefixlen(dst, 0);
	rtnl_route_set_family(rt, AF_INET);
	rtnl_route_set_dst(rt, dst);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(rt, nh);
	/* A container on several networks gets one default route per NIC; the first NIC's (metric 0) wins. */
	for (unsigned int metric = 0; metric < 64; metric++) {
		rtnl_route_set_priority(rt, metric);
		if ((err = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_EXCL)) != -NLE_EXIST)
			break;
	}
	if (err)
		cni_fail(CNI_ERR_IO, "cannot add the default route via %s in the container: %s", ip_str(gateway, b1),
			 nl_geterror(err));
out:
	if (gw)
		nl_addr_put(gw);
	if (dst)
		nl_addr_put(dst);
	if (rt)
		rtnl_route_put(rt);
	if (local)
		nl_addr_put(local);
	if (ad)
		rtnl_addr_put(ad);
	if (l)
		rtnl_link_put(l);
	nl_socket_free(sk);
	return err ? cni_error_code() : 0;
}

int veth_create(const struct cni_call *c, int mtu, const struct cni_addr *a, __be32 gateway)
{
	struct nl_sock *sk;
	struct rtnl_link *l, *peer, *host = NULL;
	struct nl_addr *mac;
	struct in_ns ns;
	int ns_fd, err;

	ns_fd = open(c->netns, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return cni_fail(CNI_ERR_CONTAINER, "cannot open the container's netns \"%s\": %s", c->netns,
				strerror(errno));
	sk = rtnl_open();
	l = rtnl_link_veth_alloc();
	mac = nl_addr_build(AF_LLC, c->mac, 6);
	if (!sk || !l || !mac) {
		err = cni_fail(CNI_ERR_IO, "cannot open rtnetlink");
		goto out;
	}
	/* The peer is born in the container under its final name: no temporary name in the host's netns. */
	peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(l, c->host_if);
	rtnl_link_set_mtu(l, (unsigned int)mtu);
	rtnl_link_set_name(peer, c->ifname);
	rtnl_link_set_mtu(peer, (unsigned int)mtu);
	rtnl_link_set_addr(peer, mac);
	rtnl_link_set_ns_fd(peer, ns_fd);
	rtnl_link_put(peer);
	err = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
	if (err == -NLE_EXIST) {
		err = veth_exists(c->host_if)
			      ? cni_fail(CNI_ERR_EXISTS, "interface %s of container %s already exists", c->host_if,
					 c->container_id)
			      : cni_fail(CNI_ERR_EXISTS, "the container already has an interface %s", c->ifname);
		goto out;
	}
	if (err) {
		err = cni_fail(CNI_ERR_IO, "cannot create veth %s (peer %s in the container): %s", c->host_if, c->ifname,
			       nl_geterror(err));
		goto out;
	}
	if ((err = rtnl_link_get_kernel(sk, 0, c->host_if, &host)) || (err = link_up(sk, host))) {
		err = cni_fail(CNI_ERR_IO, "cannot set %s up: %s", c->host_if, nl_geterror(err));
		goto out;
	}
	if ((err = ns_enter(c, &ns, false)))
		goto out;
	err = configure_container(c, a, gateway);
	ns_leave(&ns);
out:
	if (host)
		rtnl_link_put(host);
	if (mac)
		nl_addr_put(mac);
	if (l)
		rtnl_link_put(l);
	if (sk)
		nl_socket_free(sk);
	close(ns_fd);
	return err ? cni_error_code() : 0;
}

int veth_delete(const char *name)
{
	struct nl_sock *sk = rtnl_open();
	struct rtnl_link *l = rtnl_link_alloc();
	int err;

	if (!sk || !l) {
		err = cni_fail(CNI_ERR_IO, "cannot open rtnetlink");
		goto out;
	}
	rtnl_link_set_name(l, name);
	err = rtnl_link_delete(sk, l);
	/* already gone (its netns went, taking the pair with it) is what DEL wants */
	if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
		err = 0;
	if (err)
		err = cni_fail(CNI_ERR_IO, "cannot delete %s: %s", name, nl_geterror(err));
out:
	if (l)
		rtnl_link_put(l);
	if (sk)
		nl_socket_free(sk);
	return err;
}

struct addr_find {
	int ifindex;
	__be32 ip;
	__u8 len;
	bool found;
};

static void find_addr(struct nl_object *o, void *arg)
{
	struct rtnl_addr *ad = (struct rtnl_addr *)o;
	struct addr_find *f = arg;
	struct nl_addr *l = rtnl_addr_get_local(ad);

	if (rtnl_addr_get_ifindex(ad) == f->ifindex && l && nl_addr_get_family(l) == AF_INET &&
	    !memcmp(nl_addr_get_binary_addr(l), &f->ip, 4) && rtnl_addr_get_prefixlen(ad) == f->len)
		f->found = true;
}

struct route_find {
	int ifindex;
	__be32 gw;
	bool found;
};

static void find_default(struct nl_object *o, void *arg)
{
	struct rtnl_route *rt = (struct rtnl_route *)o;
	struct route_find *f = arg;
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	struct rtnl_nexthop *nh;

	if (rtnl_route_get_table(rt) != RT_TABLE_MAIN || (dst && nl_addr_get_prefixlen(dst) != 0) ||
	    rtnl_route_get_nnexthops(rt) != 1)
		return;
	nh = rtnl_route_nexthop_n(rt, 0);
	struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
	if (rtnl_route_nh_get_ifindex(nh) == f->ifindex && gw && !memcmp(nl_addr_get_binary_addr(gw), &f->gw, 4))
		f->found = true;
}

static int check_container(const struct cni_call *c, const __u8 mac[6], const struct cni_addr *a, __be32 gateway,
			   unsigned int host_index)
{
	struct nl_sock *sk = rtnl_open();
	struct rtnl_link *l = NULL;
	struct nl_cache *addrs = NULL, *routes = NULL;
	struct nl_addr *ll;
	char b1[18], b2[18];
	int err;

	if (!sk)
		return cni_fail(CNI_ERR_IO, "cannot open rtnetlink in the container");
	if ((err = rtnl_link_get_kernel(sk, 0, c->ifname, &l))) {
		err = cni_fail(CNI_ERR_MISMATCH, "interface %s is missing in the container", c->ifname);
		goto out;
	}
	ll = rtnl_link_get_addr(l);
	if (!ll || nl_addr_get_len(ll) != 6 || memcmp(nl_addr_get_binary_addr(ll), mac, 6)) {
		err = cni_fail(CNI_ERR_MISMATCH, "interface %s in the container has MAC %s, prevResult says %s", c->ifname,
			       ll && nl_addr_get_len(ll) == 6 ? mac_s(nl_addr_get_binary_addr(ll), b1) : "none",
			       mac_s(mac, b2));
		goto out;
	}
	if (rtnl_link_get_link(l) != (int)host_index) {
		err = cni_fail(CNI_ERR_MISMATCH, "interface %s in the container is not the peer of %s", c->ifname,
			       c->host_if);
		goto out;
	}
	if (!(rtnl_link_get_flags(l) & IFF_UP)) {
		err = cni_fail(CNI_ERR_MISMATCH, "interface %s in the container is down", c->ifname);
		goto out;
	}
	struct addr_find af = { rtnl_link_get_ifindex(l), a->ip, a->len, false };
	if ((err = rtnl_addr_alloc_cache(sk, &addrs))) {
		err = cni_fail(CNI_ERR_IO, "cannot list addresses in the container: %s", nl_geterror(err));
		goto out;
	}
	nl_cache_foreach(addrs, find_addr, &af);
	if (!af.found) {
		err = cni_fail(CNI_ERR_MISMATCH, "address %s/%u is missing on %s in the container", ip_str(a->ip, b1),
			       a->len, c->ifname);
		goto out;
	}
	struct route_find rf = { rtnl_link_get_ifindex(l), gateway, false };
	if ((err = rtnl_route_alloc_cache(sk, AF_INET, 0, &routes))) {
		err = cni_fail(CNI_ERR_IO, "cannot list routes in the container: %s", nl_geterror(err));
		goto out;
	}
	nl_cache_foreach(routes, find_default, &rf);
	if (!rf.found)
		err = cni_fail(CNI_ERR_MISMATCH, "the default route via %s dev %s is missing in the container",
			       ip_str(gateway, b1), c->ifname);
out:
	if (routes)
		nl_cache_free(routes);
	if (addrs)
		nl_cache_free(addrs);
	if (l)
		rtnl_link_put(l);
	nl_socket_free(sk);
	return err;
}

int veth_check(const struct cni_call *c, const __u8 mac[6], const struct cni_addr *a, __be32 gateway)
{
	unsigned int host_index = host_ifindex(c->host_if);
	struct in_ns ns;
	int err;

	if (!host_index)
		return cni_fail(CNI_ERR_MISMATCH, "interface %s (the host side of %s) is missing", c->host_if, c->ifname);
	if ((err = ns_enter(c, &ns, false)))
		return err;
	err = check_container(c, mac, a, gateway, host_index);
	ns_leave(&ns);
	return err;
}
