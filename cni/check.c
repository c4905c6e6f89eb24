/* cni/check.c — CHECK: the container, the IPAM's record and the datapath's NIC compared with prevResult. */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli/cli.h"
#include "cni/cni.h"

/* prevResult's MAC for the container's interface (the entry with our name and a sandbox). */
static int prev_mac(yajl_val prev, const char *ifname, __u8 mac[6])
{
	yajl_val ifs = json_get(prev, "interfaces"), o, v;
	unsigned int m[6];

	if (!YAJL_IS_ARRAY(ifs))
		return -1;
	for (size_t i = 0; i < ifs->u.array.len; i++) {
		o = ifs->u.array.values[i];
		v = json_get(o, "name");
		if (!YAJL_IS_STRING(v) || strcmp(v->u.string, ifname) || !json_get(o, "sandbox"))
			continue;
		v = json_get(o, "mac");
		if (!YAJL_IS_STRING(v) ||
		    sscanf(v->u.string, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
			return -1;
		for (int k = 0; k < 6; k++)
			mac[k] = (__u8)m[k];
		return 0;
	}
	return -1;
}

int cmd_check(struct cni_call *c, struct netconf *nc)
{
	struct cni_addr a;
	struct dp_subnet sn;
	char b1[16], b2[16];
	__u8 mac[6];
	int mtu = nc->mtu, err;

	if (result_addr(nc->prev_result, &a))
		return cni_fail(CNI_ERR_CONFIG, "prevResult has no IPv4 address");
	if (prev_mac(nc->prev_result, c->ifname, mac))
		return cni_fail(CNI_ERR_CONFIG, "prevResult has no interface %s with a sandbox and a MAC", c->ifname);
	if (memcmp(mac, c->mac, 6))
		return cni_fail(CNI_ERR_MISMATCH, "prevResult's MAC for %s is not the one this plugin gives container %s",
				c->ifname, c->container_id);
	if ((err = dp_prepare(nc, &mtu)))
		return err;
	if (dp_subnet_of(nc, a.ip, &sn))
		return cni_fail(CNI_ERR_MISMATCH, "address %s is in no subnet of VPC %u", ip_str(a.ip, b1), nc->vpc);
	if (a.gateway && a.gateway != sn.gateway)
		return cni_fail(CNI_ERR_MISMATCH, "prevResult's gateway %s is not the subnet's gateway %s",
				ip_str(a.gateway, b1), ip_str(sn.gateway, b2));
	if ((err = veth_check(c, mac, &a, sn.gateway)))
		return err;
	if ((err = ipam_exec(c, nc, "CHECK", NULL)))
		return err;
	return dp_nic_check(nc, c, &a);
}
