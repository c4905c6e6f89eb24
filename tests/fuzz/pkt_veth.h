/* tests/fuzz/pkt_veth.h — the way in for frames BPF_PROG_TEST_RUN refuses: a real veth with nic_ingress on tc ingress. */
#ifndef VPCBPF_FUZZ_PKT_VETH_H
#define VPCBPF_FUZZ_PKT_VETH_H

#include <stddef.h>

/*
 * BPF_PROG_TEST_RUN refuses an IPv4 or IPv6 frame too short for its network
 * header, yet a VM can send one. Such frames are written into the VM end
 * (vmNp) of the test environment's veth pairs, whose host end (vmN) runs
 * nic_ingress on tc ingress, and judged by the counters alone.
 */
int veth_setup(void);
/* Sends a frame as if the VM behind port sent it. Returns 0, or -errno. */
int veth_send(int port, const void *frame, size_t len);

#endif
