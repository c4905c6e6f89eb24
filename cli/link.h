/* cli/link.h — what kind of device a NIC is bound to. */
#ifndef VPCBPF_LINK_H
#define VPCBPF_LINK_H

/*
 * The struct nic flags the device of a local NIC earns: NIC_F_PEER for a
 * veth or netkit whose peer lives in another netns (the datapath may then
 * use bpf_redirect_peer), 0 for anything else (a tap, a veth with both ends
 * here, a device netlink cannot describe).
 */
unsigned char link_nic_flags(unsigned int ifindex);

/* The netns id (as this netns numbers it) where a veth's other end lives, or -1: local NICs sharing one are one VM's. */
int link_peer_netns(unsigned int ifindex);

#endif
