/* tests/fuzz/pkt_veth.c — attaches nic_ingress to the test veths and writes raw frames into their VM ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>
#include "tests/unit/env.h"
#include "pkt_veth.h"

static int vm_end[ENV_PORTS]; /* ifindex of vmNp */
static int sock = -1;

static int write_file(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -errno;
	err = fputs(value, f) < 0 ? -EIO : 0;
	return fclose(f) ? -errno : err;
}

int veth_setup(void)
{
	char cmd[96], name[IFNAMSIZ];

	/* no IPv6 router solicitation or MLD report may show up in the counters */
	if (write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1") ||
	    write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1"))
		return -1;
	for (int i = 0; i < ENV_PORTS; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = env.port_ifindex[i], .attach_point = BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, tc, .prog_fd = env.prog_fd);
		int err;

		snprintf(name, sizeof(name), "vm%dp", i);
		vm_end[i] = if_nametoindex(name);
		if (!vm_end[i])
			return -1;
		snprintf(cmd, sizeof(cmd), "ip link set vm%d up && ip link set vm%dp up", i, i);
		if (system(cmd))
			return -1;
		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST)
			return -1;
		if (bpf_tc_attach(&hook, &tc))
			return -1;
	}
	sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	return sock < 0 ? -1 : 0;
}

int veth_send(int port, const void *frame, size_t len)
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_ifindex = vm_end[port],
		.sll_halen = ETH_ALEN,
	};

	if (sock < 0)
		return -ENOTCONN;
	to.sll_protocol = len >= 14 ? *(const unsigned short *)((const char *)frame + 12) : 0;
	memcpy(to.sll_addr, frame, ETH_ALEN);
	if (sendto(sock, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		return -errno;
	return 0;
}
