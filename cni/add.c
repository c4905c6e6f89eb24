/* cni/add.c — ADD: checks, the IPAM's address, the veth, the NIC in the datapath, the result; undone on any failure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "cli/cli.h"
#include "cni/cni.h"

#define MAX_RANGES 16

static void mac_json(struct jw *w, const char *key, const __u8 m[6])
{
	char buf[18];
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	jw_kstring(w, key, buf);
}

static int host_mac(const char *name, __u8 mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		err = 0;
	}
	close(fd);
	return err;
}

/* The spec's result: the two ends of the veth, the address on the container's end, its default route. */
static int print_result(const struct cni_call *c, const struct cni_addr *a, __be32 gateway, yajl_val ipam)
{
	yajl_val dns = json_get(ipam, "dns");
	char b1[16], buf[24];
	struct jw w;
	__u8 hmac[6];

	jw_init(&w, NULL, 0);
	jw_object(&w);
	jw_kstring(&w, "cniVersion", CNI_VERSION);
	jw_karray(&w, "interfaces");
	jw_object(&w);
	jw_kstring(&w, "name", c->host_if);
	if (!host_mac(c->host_if, hmac))
		mac_json(&w, "mac", hmac);
	jw_object_end(&w);
	jw_object(&w);
	jw_kstring(&w, "name", c->ifname);
	mac_json(&w, "mac", c->mac);
	jw_kstring(&w, "sandbox", c->netns);
	jw_object_end(&w);
	jw_array_end(&w);
	jw_karray(&w, "ips");
	jw_object(&w);
	snprintf(buf, sizeof(buf), "%s/%u", ip_str(a->ip, b1), a->len);
	jw_kstring(&w, "address", buf);
	jw_kstring(&w, "gateway", ip_str(gateway, b1));
	jw_kint(&w, "interface", 1);
	jw_object_end(&w);
	jw_array_end(&w);
	jw_karray(&w, "routes");
	jw_object(&w);
	jw_kstring(&w, "dst", "0.0.0.0/0");
	jw_kstring(&w, "gw", ip_str(gateway, b1));
	jw_object_end(&w);
	jw_array_end(&w);
	/* DNS is the IPAM's to give (host-local reads it from resolvConf): passed on as it came */
	if (dns)
		jw_kvalue(&w, "dns", dns);
	jw_object_end(&w);
	return cni_print_json(&w) ? cni_fail(CNI_ERR_IO, "cannot write the result") : 0;
}

/* host-local's ranges, checked against the VPC before any address is taken. */
static int check_ranges(const struct netconf *nc)
{
	struct cni_addr ranges[MAX_RANGES];
	struct dp_subnet sn;
	char b1[16], b2[16];
	int n;

	if (netconf_ipam_subnets(nc, ranges, MAX_RANGES, &n))
		return cni_error_code();
	for (int i = 0; i < n; i++) {
		if (dp_subnet_of(nc, ranges[i].ip, &sn) || ranges[i].len < sn.len)
			return cni_fail(CNI_ERR_CONFIG, "network %s: ipam subnet %s/%u is not a subnet of VPC %u", nc->name,
					ip_str(ranges[i].ip, b1), ranges[i].len, nc->vpc);
		if (ranges[i].gateway && ranges[i].gateway != sn.gateway)
			return cni_fail(CNI_ERR_CONFIG, "network %s: ipam gateway %s is not the gateway %s of the subnet in VPC %u",
					nc->name, ip_str(ranges[i].gateway, b1), ip_str(sn.gateway, b2), nc->vpc);
	}
	return 0;
}

int cmd_add(struct cni_call *c, struct netconf *nc)
{
	yajl_val ipam = NULL;
	struct cni_addr a;
	struct dp_subnet sn;
	char b1[16];
	int mtu = nc->mtu, err;

	if ((err = dp_prepare(nc, &mtu)) || (err = check_ranges(nc)))
		return err;
	/* before the IPAM: its DEL would release the address the first ADD holds */
	if (veth_exists(c->host_if))
		return cni_fail(CNI_ERR_EXISTS, "container %s already has interface %s on network %s (host side %s)",
				c->container_id, c->ifname, nc->name, c->host_if);
	if ((err = ipam_exec(c, nc, "ADD", &ipam))) {
		/* it said yes in words we could not read (not JSON, too long): it may hold an address for us */
		if (err == CNI_ERR_DECODE)
			ipam_exec(c, nc, "DEL", NULL);
		return err;
	}
	if (result_addr(ipam, &a)) {
		err = cni_fail(CNI_ERR_CONFIG, "ipam %s gave no IPv4 address: vpcbpf NICs are IPv4", nc->ipam_type);
		goto release;
	}
	if (dp_subnet_of(nc, a.ip, &sn)) {
		err = cni_fail(CNI_ERR_CONFIG, "network %s: ipam gave %s/%u, which is in no subnet of VPC %u", nc->name,
			       ip_str(a.ip, b1), a.len, nc->vpc);
		goto release;
	}
	/* the container sees the VPC's subnet, whatever range the IPAM drew from */
	a.len = sn.len;
	if ((err = veth_create(c, mtu, &a, sn.gateway))) {
		/* a veth of that name that is not ours (EXISTS) stays */
		if (err != CNI_ERR_EXISTS)
			veth_delete(c->host_if);
		goto release;
	}
	if ((err = dp_nic_add(nc, c, &a))) {
		veth_delete(c->host_if);
		goto release;
	}
	/* nothing printed when it fails (no memory): the runtime takes ADD as failed and DELs */
	err = print_result(c, &a, sn.gateway, ipam);
	json_free(ipam);
	return err;
release:
	ipam_exec(c, nc, "DEL", NULL);
	json_free(ipam);
	return err;
}
