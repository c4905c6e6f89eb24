/* cni/cluster_mode.c — the container's NIC in cluster mode: written to etcd by the one rule set, applied by this host's agent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include "cli/cli.h"
#include "cli/cluster.h"
#include "cli/etcd.h"
#include "cli/json.h"
#include "cni/cni.h"

#define CNI_MAX_SUBNETS 256

static struct etcd etcd;
static bool etcd_opened;
static struct dp_subnet subnets[CNI_MAX_SUBNETS];
static int nsubnets;

/* etcd could not be reached: the runtime may try again later. */
static int etcd_failed(const struct netconf *nc, const char *what)
{
	const char *why = etcd.err[0] ? etcd.err : fail_last;
	return cni_fail(etcd.unreachable ? CNI_ERR_TRY_AGAIN : CNI_ERR_DATAPATH, "etcd %s: %s: %s", nc->etcd, what, why);
}

static int open_etcd(const struct netconf *nc)
{
	if (etcd_opened)
		return 0;
	fail_last[0] = '\0';
	memset(&etcd, 0, sizeof(etcd));
	if (cluster_open(&etcd, nc->etcd))
		return etcd_failed(nc, "cannot connect");
	etcd_opened = true;
	return 0;
}

/* The JSON value of one key (NULL: absent), or an error recorded. */
static int get_json(const struct netconf *nc, const char *key, yajl_val *out)
{
	struct etcd_kvs kvs;

	*out = NULL;
	if (etcd_range(&etcd, key, NULL, &kvs))
		return etcd_failed(nc, "cannot read");
	if (kvs.n)
		*out = json_parse(kvs.kv[0].value, kvs.kv[0].value_len, NULL, 0);
	etcd_kvs_free(&kvs);
	return 0;
}

static int parse_cidr(const char *s, struct dp_subnet *sn)
{
	char buf[32], *slash, *end;
	long len;

	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	if (!(slash = strchr(buf, '/')))
		return -1;
	*slash = '\0';
	len = strtol(slash + 1, &end, 10);
	if (*end || len < 1 || len > 32 || inet_pton(AF_INET, buf, &sn->prefix) != 1)
		return -1;
	sn->len = (__u8)len;
	return 0;
}

/* This host's underlay MTU from the local datapath the agent loaded (its pin dir), 1500 when unknown. */
static __u32 local_underlay_mtu(void)
{
	const char *env = getenv(PIN_ENV);
	struct store s;
	struct host h;
	__u32 mtu = 1500;

	if (store_open(&s, env && *env ? env : DEFAULT_PIN_DIR))
		return mtu;
	if (!store_host(&s, &h) && h.underlay_mtu)
		mtu = h.underlay_mtu;
	store_close(&s);
	return mtu;
}

int cluster_prepare(const struct netconf *nc, int *mtu)
{
	char key[512], end[512];
	yajl_val o;
	struct etcd_kvs kvs;
	int err;

	if ((err = open_etcd(nc)))
		return err;
	snprintf(key, sizeof(key), "%svpcs/%u", cluster_prefix, nc->vpc);
	if ((err = get_json(nc, key, &o)))
		return err;
	if (!o)
		return cni_fail(CNI_ERR_CONFIG, "network %s: VPC %u does not exist in the cluster at %s", nc->name, nc->vpc,
				nc->etcd);
	json_free(o);
	if (nc->sg[0]) {
		snprintf(key, sizeof(key), "%ssgs/%s", cluster_prefix, nc->sg);
		if ((err = get_json(nc, key, &o)))
			return err;
		if (!o)
			return cni_fail(CNI_ERR_CONFIG, "network %s: security group \"%s\" does not exist", nc->name, nc->sg);
		json_free(o);
	}
	snprintf(key, sizeof(key), "%ssubnets/%u/", cluster_prefix, nc->vpc);
	etcd_prefix_end(key, end, sizeof(end));
	if (etcd_range(&etcd, key, end, &kvs))
		return etcd_failed(nc, "cannot read the subnets");
	nsubnets = 0;
	for (size_t i = 0; i < kvs.n && nsubnets < CNI_MAX_SUBNETS; i++) {
		yajl_val v = json_parse(kvs.kv[i].value, kvs.kv[i].value_len, NULL, 0);
		struct dp_subnet sn;
		const char *gw = json_get_string(v, "gateway");
		if (!parse_cidr(json_get_string(v, "cidr"), &sn)) {
			sn.gateway = htonl(ntohl(sn.prefix) + 1);
			if (gw)
				inet_pton(AF_INET, gw, &sn.gateway);
			subnets[nsubnets++] = sn;
		}
		json_free(v);
	}
	etcd_kvs_free(&kvs);
	if (mtu) {
		__u32 underlay = local_underlay_mtu(), most = underlay - OVERLAY_OVERHEAD;
		if (*mtu == 0)
			*mtu = (int)most;
		else if (*mtu > (int)most)
			return cni_fail(CNI_ERR_CONFIG,
					"network %s: mtu %d is more than the overlay carries (underlay MTU %u - %d = %u)",
					nc->name, *mtu, underlay, OVERLAY_OVERHEAD, most);
	}
	return 0;
}

int cluster_subnet_of(__be32 ip, struct dp_subnet *out)
{
	for (int i = 0; i < nsubnets; i++)
		if ((ip & prefix_mask(subnets[i].len)) == subnets[i].prefix) {
			*out = subnets[i];
			return 0;
		}
	return -ENOENT;
}

/* One edit to etcd, then until this host's agent has applied it: code 11 when it does not in time. */
static int edit_and_wait(const struct netconf *nc, int argc, char **argv, const char *what)
{
	int64_t rev = 0;
	int err;

	fail_last[0] = '\0';
	if (cluster_edit_words(nc->etcd, argc, argv, &rev))
		return cni_fail(etcd.unreachable ? CNI_ERR_TRY_AGAIN : CNI_ERR_DATAPATH, "%s: %s", what,
				fail_last[0] ? fail_last : "refused");
	err = cluster_wait_applied(nc->etcd, nc->host, rev, nc->apply_timeout_ms);
	if (err == -ETIMEDOUT)
		return cni_fail(CNI_ERR_TRY_AGAIN, "%s: host %s's agent did not apply revision %lld within %d ms", what,
				nc->host, (long long)rev, nc->apply_timeout_ms);
	if (err)
		return cni_fail(CNI_ERR_TRY_AGAIN, "%s: cannot read host %s's applied revision: %s", what, nc->host,
				strerror(-err));
	return 0;
}

int cluster_nic_add(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a)
{
	struct nic_words w;
	char what[96];
	int err;

	nic_add_words(&w, nc, c, a);
	snprintf(what, sizeof(what), "cannot add NIC %s to VPC %u", w.ip, nc->vpc);
	err = edit_and_wait(nc, w.argc, w.argv, what);
	if (err == CNI_ERR_TRY_AGAIN) {
		/* not applied in time: take it back out of etcd, so that nothing is left for a later ADD to trip on */
		struct nic_key k = { .vni = nc->vpc, .ip = a->ip };
		nic_del_words(&w, &k);
		cluster_edit_words(nc->etcd, w.argc, w.argv, NULL);
	}
	return err;
}

/* This container's NIC in etcd: at a's address when it is ours (host, MAC), else found by MAC among the VPC's. */
static int find_nic(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a, struct nic_key *k,
		    yajl_val *value)
{
	char key[512], end[512];
	struct etcd_kvs kvs;
	int found = 0;

	snprintf(key, sizeof(key), "%snics/%u/", cluster_prefix, nc->vpc);
	etcd_prefix_end(key, end, sizeof(end));
	if (etcd_range(&etcd, key, end, &kvs))
		return etcd_failed(nc, "cannot read the NICs");
	for (int pass = 0; pass < 2 && !found; pass++)
		for (size_t i = 0; i < kvs.n && !found; i++) {
			yajl_val v = json_parse(kvs.kv[i].value, kvs.kv[i].value_len, NULL, 0);
			const char *ip = json_get_string(v, "ip"), *mac = json_get_string(v, "mac");
			const char *host = json_get_string(v, "host");
			unsigned int m[6];
			__be32 addr;
			bool ours = ip && mac && host && !strcmp(host, nc->host) && inet_pton(AF_INET, ip, &addr) == 1 &&
				    sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6;
			for (int j = 0; ours && j < 6; j++)
				ours = m[j] == c->mac[j];
			/* first pass: prevResult's address only */
			if (ours && (pass == 1 || (a && a->ip == addr))) {
				k->vni = nc->vpc;
				k->ip = addr;
				found = 1;
				if (value) {
					*value = v;
					v = NULL;
				}
			}
			json_free(v);
		}
	etcd_kvs_free(&kvs);
	return found ? 0 : -ENOENT;
}

int cluster_nic_del(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a)
{
	struct nic_key k;
	struct nic_words w;
	char what[96];
	int err;

	if ((err = open_etcd(nc)))
		return err;
	err = find_nic(nc, c, a, &k, NULL);
	if (err == -ENOENT)
		return 0; /* already gone */
	if (err)
		return err;
	nic_del_words(&w, &k);
	snprintf(what, sizeof(what), "cannot delete NIC %s of VPC %u", w.ip, k.vni);
	return edit_and_wait(nc, w.argc, w.argv, what);
}

int cluster_nic_check(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a)
{
	struct nic_key k;
	yajl_val v = NULL;
	const char *dev, *sg;
	char b1[16];
	int err;

	err = find_nic(nc, c, a, &k, &v);
	if (err == -ENOENT || (!err && k.ip != a->ip)) {
		json_free(v);
		return cni_fail(CNI_ERR_MISMATCH, "NIC %s of host %s is missing in VPC %u of the cluster",
				ip_str(a->ip, b1), nc->host, nc->vpc);
	}
	if (err)
		return err;
	dev = json_get_string(v, "dev");
	sg = json_get_string(v, "sg");
	if (!dev || strcmp(dev, c->host_if))
		err = cni_fail(CNI_ERR_MISMATCH, "NIC %s of VPC %u is on dev %s in the cluster, not %s", ip_str(a->ip, b1),
			       nc->vpc, dev ? dev : "none", c->host_if);
	else if (strcmp(sg ? sg : "", nc->sg))
		err = cni_fail(CNI_ERR_MISMATCH, "NIC %s of VPC %u is in security group %s in the cluster, the network says %s",
			       ip_str(a->ip, b1), nc->vpc, sg && *sg ? sg : "none", nc->sg[0] ? nc->sg : "none");
	json_free(v);
	return err;
}

void cluster_close(void)
{
	if (etcd_opened)
		etcd_close(&etcd);
	etcd_opened = false;
}
