/* tests/bench/route_mix.h — random route tables with a realistic mix of prefix lengths, for the benchmark. */
#ifndef VPCBPF_BENCH_ROUTE_MIX_H
#define VPCBPF_BENCH_ROUTE_MIX_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

/*
 * The mix, in routes per thousand (see README "Performance"):
 *  - 80% modelled on the public IPv4 BGP table's length distribution
 *    (about 60% /24, then /22, /23, /21, /20, /19 ... a few /8-/15);
 *  - 20% VPC-typical: /16 and /20 VPC blocks, /22-/28 subnets, /32 hosts.
 */
struct mix_weight {
	unsigned int len;
	unsigned int per_mille;
};
extern const struct mix_weight route_mix[];
extern const size_t route_mix_count;

struct mix_route {
	__be32 prefix; /* masked */
	__u8 len;
};

/* Deterministic generator (xorshift64*). */
uint64_t mix_rand(uint64_t *state);

/* n distinct prefixes drawn from the mix into out[]; returns how many were made. */
size_t mix_generate(struct mix_route *out, size_t n, uint64_t *state);

/* A random address inside r. */
__be32 mix_address_in(const struct mix_route *r, uint64_t *state);

#endif
