/* tests/bench/empty.bpf.c — programs that do nothing: the accounting floor bpf_stats charges to any program, measured on the same traffic. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* TC_ACT_OK: the packet goes on as if nothing ran */
SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	return 0;
}

/* frags-aware like underlay_xdp, so veth treats the sender's GSO the same way */
SEC("xdp.frags")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}
