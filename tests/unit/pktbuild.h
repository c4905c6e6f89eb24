/* tests/unit/pktbuild.h — builds test frames (Ethernet, ARP, IPv4, ICMP, UDP, TCP) with correct lengths and checksums. */
#ifndef VPCBPF_TEST_PKTBUILD_H
#define VPCBPF_TEST_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>

#define PB_MAX 2048

/*
 * A frame under construction. Headers are appended in order; pb_done()
 * fills IPv4 total length and every checksum. Tests may then damage the
 * frame on purpose (pb_trunc, byte pokes) to build malformed input.
 */
struct pb {
	uint8_t data[PB_MAX];
	size_t len;
	int ip_off;  /* -1 until pb_ipv4 */
	int l4_off;  /* -1 until an L4 header */
	uint8_t l4_proto;
};

struct pb_ip {
	const char *src, *dst;
	uint8_t proto;
	uint8_t ttl;        /* 0 means 64 */
	uint8_t tos;
	uint16_t id;
	uint16_t frag_off;  /* host order, flags included */
	uint8_t options;    /* bytes of IP options (NOPs), a multiple of 4 */
};

void pb_init(struct pb *b);
void pb_eth(struct pb *b, const char *dst, const char *src, uint16_t proto);
void pb_arp(struct pb *b, uint16_t op, const char *sha, const char *spa, const char *tha,
	    const char *tpa);
void pb_ipv4(struct pb *b, const struct pb_ip *ip);
void pb_icmp(struct pb *b, uint8_t type, uint8_t code, uint32_t rest);
void pb_icmp_echo(struct pb *b, uint8_t type, uint16_t id, uint16_t seq);
void pb_udp(struct pb *b, uint16_t sport, uint16_t dport);
void pb_tcp(struct pb *b, uint16_t sport, uint16_t dport, uint8_t flags);
void pb_bytes(struct pb *b, const void *p, size_t n);
void pb_payload(struct pb *b, size_t n); /* n bytes of a recognisable pattern */
void pb_done(struct pb *b);
void pb_trunc(struct pb *b, size_t len);

/* Internet checksum of a buffer (folded, inverted). */
uint16_t pb_csum(const void *p, size_t n, uint32_t seed);
/* Whether the IPv4 header and, for ICMP/UDP/TCP, the L4 checksum of a frame verify. */
int pb_checksums_ok(const uint8_t *frame, size_t len);

#endif
