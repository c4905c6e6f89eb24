/* cli/attach.h — attaching the datapath's programs to interfaces (tc now; XDP lives with dp). */
#ifndef VPCBPF_ATTACH_H
#define VPCBPF_ATTACH_H

#define PROG_NIC_INGRESS "nic_ingress"
#define TC_HANDLE 0x5c     /* our cls_bpf filter's handle and priority on each NIC */
#define TC_PRIORITY 0x5c

/* Opens a pinned program of the datapath (pin_dir/progs/NAME). */
int prog_open(const char *name);
/* Attaches (or atomically replaces) the NIC program at tc ingress of ifindex. */
int nic_attach(int ifindex, int prog_fd);
/* Removes our filter; other filters and the clsact qdisc stay. */
int nic_detach(int ifindex);

#endif
