/* cli/link.c — what kind of device a NIC is bound to (rtnetlink), so the datapath knows how it may deliver. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include "cli/link.h"
#include "maps/vpcbpf.h"

struct link_info {
	char kind[16];
	int peer_elsewhere; /* IFLA_LINK_NETNSID: the other end of the pair is in another netns */
	int peer_netnsid;   /* ... and its id as this netns numbers it */
};

static void parse_linkinfo(struct rtattr *nest, struct link_info *li)
{
	int len = (int)RTA_PAYLOAD(nest);

	for (struct rtattr *a = RTA_DATA(nest); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_INFO_KIND) {
			size_t n = RTA_PAYLOAD(a) < sizeof(li->kind) - 1 ? RTA_PAYLOAD(a) : sizeof(li->kind) - 1;
			memcpy(li->kind, RTA_DATA(a), n);
			li->kind[n] = '\0';
		}
}

/* RTM_GETLINK for one ifindex in the current netns; 0 and *li filled, or -errno. */
static int link_get(unsigned int ifindex, struct link_info *li)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex },
	};
	char buf[16384];
	int fd, err = -ENOENT;
	ssize_t n;

	memset(li, 0, sizeof(*li));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		err = -errno;
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned int)n); nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_ERROR) {
			err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
			break;
		}
		if (nh->nlmsg_type != RTM_NEWLINK)
			continue;
		struct ifinfomsg *ifi = NLMSG_DATA(nh);
		int len = (int)IFLA_PAYLOAD(nh);
		for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			if (a->rta_type == IFLA_LINKINFO)
				parse_linkinfo(a, li);
			else if (a->rta_type == IFLA_LINK_NETNSID && RTA_PAYLOAD(a) >= sizeof(int)) {
				li->peer_elsewhere = 1;
				memcpy(&li->peer_netnsid, RTA_DATA(a), sizeof(int));
			}
		}
		err = 0;
		break;
	}
out:
	close(fd);
	return err;
}

/*
 * bpf_redirect_peer delivers into the other end of a veth or netkit pair,
 * and only when that end is in another netns (the VM's); the kernel drops
 * the frame otherwise. A device we cannot ask about gets the plain path.
 */
unsigned char link_nic_flags(unsigned int ifindex)
{
	struct link_info li;

	if (link_get(ifindex, &li) || !li.peer_elsewhere)
		return 0;
	return !strcmp(li.kind, "veth") || !strcmp(li.kind, "netkit") ? NIC_F_PEER : 0;
}

int link_peer_netns(unsigned int ifindex)
{
	struct link_info li;

	if (link_get(ifindex, &li) || !li.peer_elsewhere || li.peer_netnsid < 0)
		return -1;
	return li.peer_netnsid;
}
