/* bpf/csum.h — Internet checksum helpers: fold, header sums and RFC 1624 incremental updates. */
#ifndef VPCBPF_CSUM_H
#define VPCBPF_CSUM_H

/* Fold a 32-bit one's-complement accumulator to 16 bits (not inverted). */
static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The 16-bit word at p as stored (memcpy: no type punning for the optimiser to misread). */
static __always_inline __u16 csum_word_at(const void *p)
{
	__u16 w;

	__builtin_memcpy(&w, p, sizeof(w));
	return w;
}

/* Sum of a buffer of 16-bit words on the stack (len even, small, constant). */
static __always_inline __u32 csum_words(const void *buf, int len, __u32 sum)
{
#pragma unroll
	for (int i = 0; i < len / 2; i++)
		sum += csum_word_at((const __u8 *)buf + 2 * i);
	return sum;
}

/*
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Updating in place keeps the cost
 * independent of the packet size, which matters for TTL on every routed hop.
 */
static __always_inline void csum_replace2(__u16 *check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~old;
	sum += new;
	*check = ~csum_fold32(sum);
}

/* Checksum of an IPv4 header we build ourselves (20 bytes, check field 0). */
static __always_inline __u16 csum_ipv4_header(const struct iphdr *ip)
{
	return ~csum_fold32(csum_words(ip, sizeof(*ip), 0));
}

#endif
