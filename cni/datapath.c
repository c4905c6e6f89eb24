/* cni/datapath.c — the container's NIC in vpcbpf on one host: the state loaded, vpcbpf's one rule set, one commit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli/cli.h"
#include "cli/state.h"
#include "cni/cni.h"

/*
 * The plugin holds the pin dir's lock from dp_prepare to exit: the state it
 * checked the netconf against is the state it commits on top of, and two
 * plugins (podman starts containers in parallel) queue on the lock.
 */
static struct store *store;
static struct txn_state cur;
static bool loaded;
static __u32 underlay_mtu;

/* An edit the rules refused, or a failed commit: their own words (fail_last), code 100. */
static int refused(const char *what)
{
	return cni_fail(CNI_ERR_DATAPATH, "%s: %s", what, fail_last[0] ? fail_last : "refused by the datapath");
}

int dp_open(const struct netconf *nc, bool missing_ok)
{
	const char *env = getenv(PIN_ENV);

	if (nc->etcd)
		return 0; /* cluster mode: etcd is opened by cluster_prepare, or by DEL when it needs it */
	snprintf(opts.pin_dir, sizeof(opts.pin_dir), "%s",
		 nc->pin_dir ? nc->pin_dir : env && *env ? env : DEFAULT_PIN_DIR);
	fail_last[0] = '\0';
	store = store_get(true);
	if (!store && missing_ok)
		return -ENOENT;
	if (!store)
		return cni_fail(CNI_ERR_DATAPATH, "the datapath is not loaded at %s: run 'vpcbpf dp up' first (%s)",
				opts.pin_dir, fail_last[0] ? fail_last : "no maps pinned there");
	txn_state_init(&cur);
	loaded = true;
	if (state_load(store, &cur))
		return refused("cannot load the datapath's state");
	return 0;
}

int dp_prepare(const struct netconf *nc, int *mtu)
{
	struct host h;
	__u32 sg_id;
	int err;

	if (nc->etcd)
		return cluster_prepare(nc, mtu);
	if ((err = dp_open(nc, false)))
		return err;
	if (!table_get(&cur.vpcs, &nc->vpc))
		return cni_fail(CNI_ERR_CONFIG, "network %s: VPC %u does not exist in the datapath at %s", nc->name, nc->vpc,
				opts.pin_dir);
	if (nc->sg[0] && state_sg_id(&cur, nc->sg, &sg_id))
		return cni_fail(CNI_ERR_CONFIG, "network %s: security group \"%s\" does not exist", nc->name, nc->sg);
	if (store_host(store, &h))
		memset(&h, 0, sizeof(h));
	underlay_mtu = h.underlay_mtu;
	if (mtu) {
		__u32 most = underlay_mtu ? underlay_mtu - OVERLAY_OVERHEAD : 1500 - OVERLAY_OVERHEAD;
		if (*mtu == 0)
			*mtu = (int)most;
		else if (*mtu > (int)most)
			return cni_fail(CNI_ERR_CONFIG,
					"network %s: mtu %d is more than the overlay carries (underlay MTU %u - %d = %u)",
					nc->name, *mtu, underlay_mtu ? underlay_mtu : 1500, OVERLAY_OVERHEAD, most);
	}
	return 0;
}

int dp_subnet_of(const struct netconf *nc, __be32 ip, struct dp_subnet *out)
{
	if (nc->etcd)
		return cluster_subnet_of(ip, out);
	for (const struct txn_subnet *sn = NULL; (sn = table_next(&cur.subnets, sn));)
		if (sn->k.vni == nc->vpc && (ip & prefix_mask(sn->k.len)) == sn->k.prefix) {
			out->prefix = sn->k.prefix;
			out->len = sn->k.len;
			out->gateway = sn->v.gateway;
			return 0;
		}
	return -ENOENT;
}

static int commit(struct txn_state *want, const char *what)
{
	fail_last[0] = '\0';
	if (state_commit(store, &cur, want))
		return refused(what);
	/* what is live now is what the next edit of this process builds on */
	txn_state_free(&cur);
	cur = *want;
	txn_state_init(want);
	return 0;
}

int dp_nic_add(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a)
{
	struct txn_state want;
	struct txn_nic n;
	char b1[16], what[80];
	int err;

	if (nc->etcd)
		return cluster_nic_add(nc, c, a);
	memset(&n, 0, sizeof(n));
	n.k.vni = nc->vpc;
	n.k.ip = a->ip;
	memcpy(n.v.mac, c->mac, sizeof(n.v.mac));
	n.v.flags = NIC_F_LOCAL | NIC_F_SOURCE_CHECK;
	n.v.sg_id = 0;
	snprintf(n.dev, sizeof(n.dev), "%s", c->host_if);
	if (nc->sg[0] && state_sg_id(&cur, nc->sg, &n.v.sg_id))
		return cni_fail(CNI_ERR_CONFIG, "network %s: security group \"%s\" does not exist", nc->name, nc->sg);
	snprintf(what, sizeof(what), "cannot add NIC %s to VPC %u", ip_str(a->ip, b1), nc->vpc);
	txn_state_init(&want);
	if (txn_state_copy(&want, &cur)) {
		txn_state_free(&want);
		return cni_fail(CNI_ERR_IO, "out of memory");
	}
	fail_last[0] = '\0';
	err = state_nic_set(&want, n, NULL, false) ? refused(what) : commit(&want, what);
	txn_state_free(&want);
	return err;
}

/* This container's NIC in the VPC: the one at a's address when it carries our MAC, else any local NIC with it. */
static const struct txn_nic *find_nic(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a)
{
	if (a && a->ip) {
		struct nic_key k = { .vni = nc->vpc, .ip = a->ip };
		const struct txn_nic *n = table_get(&cur.nics, &k);
		if (n && (n->v.flags & NIC_F_LOCAL) && !memcmp(n->v.mac, c->mac, 6))
			return n;
	}
	for (const struct txn_nic *n = NULL; (n = table_next(&cur.nics, n));)
		if (n->k.vni == nc->vpc && (n->v.flags & NIC_F_LOCAL) && !memcmp(n->v.mac, c->mac, 6))
			return n;
	return NULL;
}

int dp_nic_del(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a)
{
	const struct txn_nic *n;
	struct txn_state want;
	char b1[16], what[80];
	int err;

	if (nc->etcd)
		return cluster_nic_del(nc, c, a);
	if (!(n = find_nic(nc, c, a)))
		return 0; /* already gone: DEL is idempotent */
	struct nic_key k = n->k;
	snprintf(what, sizeof(what), "cannot delete NIC %s of VPC %u", ip_str(k.ip, b1), k.vni);
	txn_state_init(&want);
	if (txn_state_copy(&want, &cur)) {
		txn_state_free(&want);
		return cni_fail(CNI_ERR_IO, "out of memory");
	}
	fail_last[0] = '\0';
	err = state_nic_del(&want, k) ? refused(what) : commit(&want, what);
	txn_state_free(&want);
	return err;
}

int dp_nic_check(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a)
{
	struct nic_key k = { .vni = nc->vpc, .ip = a->ip };
	const struct txn_nic *n;
	unsigned int ifindex = host_ifindex(c->host_if);
	__u32 sg_id = 0;
	char b1[16], b2[NAME_LEN];

	if (nc->etcd)
		return cluster_nic_check(nc, c, a);
	if (!(n = table_get(&cur.nics, &k)))
		return cni_fail(CNI_ERR_MISMATCH, "NIC %s is missing in VPC %u of the datapath", ip_str(a->ip, b1),
				nc->vpc);
	if (!(n->v.flags & NIC_F_LOCAL) || n->v.ifindex != ifindex)
		return cni_fail(CNI_ERR_MISMATCH, "NIC %s of VPC %u is not bound to %s in the datapath (%s)",
				ip_str(a->ip, b1), nc->vpc, c->host_if,
				n->v.flags & NIC_F_LOCAL ? (n->dev[0] ? n->dev : "a device that is gone") : "remote");
	if (memcmp(n->v.mac, c->mac, 6))
		return cni_fail(CNI_ERR_MISMATCH, "NIC %s of VPC %u has another MAC in the datapath than the container's",
				ip_str(a->ip, b1), nc->vpc);
	if (nc->sg[0])
		state_sg_id(&cur, nc->sg, &sg_id);
	if (n->v.sg_id != sg_id) {
		const struct txn_sg *g = table_get(&cur.sgs, &n->v.sg_id);
		snprintf(b2, sizeof(b2), "%s", g ? g->name : "none");
		return cni_fail(CNI_ERR_MISMATCH, "NIC %s of VPC %u is in security group %s in the datapath, the network says %s",
				ip_str(a->ip, b1), nc->vpc, n->v.sg_id ? b2 : "none", nc->sg[0] ? nc->sg : "none");
	}
	return 0;
}

void dp_close(void)
{
	cluster_close();
	if (loaded)
		txn_state_free(&cur);
	loaded = false;
	if (store)
		store_release();
	store = NULL;
}
