/* cli/attach.h — attaching the datapath's programs to interfaces (tc now; XDP lives with dp). */
#ifndef VPCBPF_ATTACH_H
#define VPCBPF_ATTACH_H

#define PROG_NIC_INGRESS "nic_ingress"
#define TC_HANDLE 0x5c     /* our cls_bpf filter's handle and priority on each NIC */
#define TC_PRIORITY 0x5c

/* Opens a pinned program of the datapath (pin_dir/progs/NAME). */
int prog_open(const char *name);
/* Pins fd at pin_dir/progs/NAME, replacing an older program in one rename. */
int prog_pin(int fd, const char *name);
void prog_unpin(const char *name);
/* Attaches (or atomically replaces) a program (NIC or underlay) at tc ingress of ifindex. */
int nic_attach(int ifindex, int prog_fd);
/* Removes our filter; other filters and the clsact qdisc stay. */
int nic_detach(int ifindex);

#endif
