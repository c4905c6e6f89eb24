/* tests/fuzz/pkt_check.h — what must hold after every frame: a verdict that never leaks, a counted drop, a sane output. */
#ifndef VPCBPF_FUZZ_PKT_CHECK_H
#define VPCBPF_FUZZ_PKT_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "maps/vpcbpf.h"
#include "pkt_mutate.h"

#define CHECK_MAX_NICS 16

/* Helpers of the invariant checkers (pkt_check.c, pkt_underlay.c): a failure writes why and returns -1. */
int failf(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define FAIL(...) return failf(why, len, __VA_ARGS__)
uint16_t be16(const uint8_t *p);
__be32 addr_at(const uint8_t *p);

/* Every counter the datapath keeps, summed over CPUs. */
struct counters {
	uint64_t drops[DROP__MAX];
	struct nic_stats nic[CHECK_MAX_NICS]; /* indexed like world_nics */
};
int counters_read(struct counters *c);

/* One run of nic_ingress: the frame in, the verdict and frame out, the counters around it. */
struct outcome {
	const struct frame *in;
	const uint8_t *out;
	size_t out_len;
	int verdict;
	const struct counters *before, *after;
	int reason; /* set by check_outcome: the drop reason counted, or -1 */
	int kind;   /* set by check_outcome for a REDIRECT: enum redirect_kind */
};

enum redirect_kind { RK_ARP_REPLY, RK_ECHO_REPLY, RK_ICMP_ERROR, RK_LOCAL, RK_VXLAN, RK__COUNT };
extern const char *const redirect_kind_names[RK__COUNT];

/*
 * 0 when every invariant holds, else -1 with one line saying which did not:
 *  - the verdict is TC_ACT_SHOT or TC_ACT_REDIRECT, never TC_ACT_OK (nothing
 *    a VM sends reaches the host stack);
 *  - a SHOT is counted: exactly one drop reason grows by exactly one, and so
 *    do the sender NIC's drops; a REDIRECT counts no drop, except the ICMP
 *    error sent back in place of the dropped packet (counted TTL exceeded);
 *  - the sender NIC counts the frame as sent, the receiving NIC as received;
 *  - a REDIRECT's frame is well formed: an ARP reply to the asker, an echo
 *    reply or ICMP error from the gateway to the sender, or the input frame
 *    forwarded with only MACs, TTL (never increased) and IPv4 checksum
 *    changed, to a NIC of the sender's VPC or of a VPC it peers with; IPv4
 *    checksums verify whenever the input's did.
 */
int check_outcome(struct outcome *o, char *why, size_t len);

#endif
