/* cli/external.c — dp up ... external DEV: where SNAT and elastic-IP traffic leaves and enters; its record and its tc program. */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"
#include "cli/attach.h"
#include "cli/eip.h"
#include "cli/external.h"
#include "external.skel.h"

int external_read(const char *dev, struct nat_host *nh)
{
	struct ifaddrs *ifa, *i;
	struct ifreq ifr;
	int fd;

	if (strlen(dev) >= IF_NAMESIZE)
		return fail("invalid device name \"%s\"", dev);
	nh->ext_ifindex = if_nametoindex(dev);
	if (!nh->ext_ifindex)
		return fail("external device \"%s\" does not exist", dev);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno(errno, "socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		nh->ext_mtu = (__u32)ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(nh->ext_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	nh->ext_ip = 0;
	if (getifaddrs(&ifa))
		return fail_errno(errno, "cannot read the addresses of \"%s\"", dev);
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, dev)) {
			nh->ext_ip = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			break;
		}
	freeifaddrs(ifa);
	if (!nh->ext_ip)
		return fail("external device \"%s\" has no IPv4 address (SNAT needs one)", dev);
	return 0;
}

int external_parse_ports(const char *s, struct nat_host *nh)
{
	unsigned int lo, hi;
	char end;

	if (sscanf(s, "%u-%u%c", &lo, &hi, &end) != 2 || lo < 1 || hi > 65535 || lo > hi)
		return fail("invalid nat-ports \"%s\" (expected LO-HI within 1-65535)", s);
	nh->port_lo = (__u16)lo;
	nh->port_hi = (__u16)hi;
	return 0;
}

/* The underlay network (the prefix of the underlay address on its device): never reachable from the internet path. */
static void underlay_network(const struct host *h, struct nat_host *nh)
{
	struct ifaddrs *ifa, *i;
	char name[IF_NAMESIZE];

	nh->underlay_net = 0;
	nh->underlay_len = 0;
	if (!h->underlay_ifindex || !if_indextoname(h->underlay_ifindex, name) || getifaddrs(&ifa))
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, name))
			continue;
		if (((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr != h->underlay_ip)
			continue;
		__be32 mask = ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr;
		nh->underlay_net = h->underlay_ip & mask;
		nh->underlay_len = (__u8)__builtin_popcount(mask);
		break;
	}
	freeifaddrs(ifa);
}

int external_up(struct store *s, const struct nat_host *want, const struct host *h, int *attached_ifindex)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = opts.pin_dir);
	struct external_bpf *skel = NULL;
	struct nat_host nh, old;
	__u32 zero = 0;
	int err = 1;

	*attached_ifindex = 0;
	if (bpf_map_lookup_elem(s->fd[SM_NAT_HOST], &zero, &old))
		memset(&old, 0, sizeof(old));
	nh = want ? *want : old;
	if (!nh.ext_ifindex)
		return 0; /* no external device: nothing to attach */
	if (nh.ext_ifindex == h->underlay_ifindex)
		return fail("the external device must not be the underlay device (each has its own ingress program)");
	if (!nh.port_lo) {
		nh.port_lo = old.port_lo ? old.port_lo : NAT_PORT_LO_DEFAULT;
		nh.port_hi = old.port_hi ? old.port_hi : NAT_PORT_HI_DEFAULT;
	}
	underlay_network(h, &nh);

	skel = external_bpf__open_opts(&oo);
	if (!skel)
		return fail_errno(errno, "Failed to open the external device's program");
	if ((err = external_bpf__load(skel))) {
		fail_errno(err, "Failed to load the external device's program (-v for the verifier log)");
		goto out;
	}
	err = 1;
	{
		__u32 idx = EXT_TAIL_DELIVER;
		int fd = bpf_program__fd(skel->progs.external_deliver);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.external_tails), &idx, &fd, BPF_ANY)) {
			fail_errno(errno, "cannot install the external device's delivery program");
			goto out;
		}
	}
	if (bpf_map_update_elem(s->fd[SM_NAT_HOST], &zero, &nh, BPF_ANY)) {
		fail_errno(errno, "cannot write the external device's record");
		goto out;
	}
	if ((err = prog_pin(bpf_program__fd(skel->progs.external_ingress), PROG_EXTERNAL))) {
		fail_errno(err, "Failed to pin the external device's program under %s", opts.pin_dir);
		err = 1;
		goto out;
	}
	if ((err = nic_attach((int)nh.ext_ifindex, bpf_program__fd(skel->progs.external_ingress)))) {
		fail_errno(err, "cannot attach the external device's program at tc ingress");
		err = 1;
		goto out;
	}
	if (old.ext_ifindex && old.ext_ifindex != nh.ext_ifindex)
		nic_detach((int)old.ext_ifindex);
	*attached_ifindex = (int)nh.ext_ifindex;
	err = 0;
out:
	external_bpf__destroy(skel);
	return err;
}

void external_down(struct store *s)
{
	struct nat_host nh;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(s->fd[SM_NAT_HOST], &zero, &nh) == 0 && nh.ext_ifindex)
		nic_detach((int)nh.ext_ifindex);
}

void external_show(struct store *s)
{
	struct nat_host nh;
	char name[IF_NAMESIZE], b1[16], b2[18];
	__u32 zero = 0;

	if (bpf_map_lookup_elem(s->fd[SM_NAT_HOST], &zero, &nh) || !nh.ext_ifindex)
		return;
	pr_begin_nested("external");
	pr_str("dev", "\n  external dev %s", if_indextoname(nh.ext_ifindex, name) ? name : "(gone)");
	pr_str("ip", " address %s", ip_str(nh.ext_ip, b1));
	pr_str("mac", " mac %s", mac_str(nh.ext_mac, b2));
	pr_u64("mtu", " mtu %llu", nh.ext_mtu);
	pr_u64("nat_port_lo", " nat-ports %llu", nh.port_lo);
	pr_u64("nat_port_hi", "-%llu", nh.port_hi);
	pr_end_nested();
}
