/* tests/fuzz/pkt_mutate.h — a seeded random source and the ways the packet fuzzer damages a valid frame. */
#ifndef VPCBPF_FUZZ_PKT_MUTATE_H
#define VPCBPF_FUZZ_PKT_MUTATE_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MIN 14   /* BPF_PROG_TEST_RUN refuses a tc frame shorter than Ethernet */
#define FRAME_MAX 2048

/* splitmix64: tiny, fast, and the same sequence on every machine for a seed. */
struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
uint32_t rng_below(struct rng *r, uint32_t n); /* 0..n-1, n > 0 */

struct frame {
	uint8_t data[FRAME_MAX];
	size_t len;
	int port;
};

/* The mutation strategies, each one a TAP test of its own. */
enum strategy {
	MUT_FIELDS,  /* header fields set to edge values (ethertype, IHL, total length, ARP, ...) */
	MUT_BYTES,   /* random bytes and bits, mostly in the headers */
	MUT_LENGTH,  /* truncated, or grown with padding, or both */
	MUT_SPLICE,  /* the head of one fixture on the tail of another */
	MUT_RANDOM,  /* random bytes, sometimes behind a plausible Ethernet header */
	MUT__COUNT
};
extern const char *const strategy_names[MUT__COUNT];

/* Damages f in place (f holds a valid fixture on entry; `other` is a second one for splices). */
void mutate(struct rng *r, enum strategy s, struct frame *f, const struct frame *other);
/* Recomputes the IPv4 header checksum when the frame has a whole IPv4 header at offset 14. */
void fix_ipv4_csum(struct frame *f);

#endif
