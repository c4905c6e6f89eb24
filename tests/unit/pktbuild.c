/* tests/unit/pktbuild.c — the test frame builder: headers in order, lengths and checksums at the end. */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "pktbuild.h"

static void put(struct pb *b, const void *p, size_t n)
{
	assert(b->len + n <= PB_MAX);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put16(struct pb *b, uint16_t v)
{
	v = htons(v);
	put(b, &v, 2);
}

static void put32(struct pb *b, uint32_t v)
{
	v = htonl(v);
	put(b, &v, 4);
}

static void put_mac(struct pb *b, const char *s)
{
	unsigned int m[6];
	uint8_t mac[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		assert(!"bad MAC in test");
	for (int i = 0; i < 6; i++)
		mac[i] = m[i];
	put(b, mac, 6);
}

static void put_ip(struct pb *b, const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		assert(!"bad IPv4 address in test");
	put(b, &a, 4);
}

void pb_init(struct pb *b)
{
	memset(b, 0, sizeof(*b));
	b->ip_off = -1;
	b->l4_off = -1;
}

void pb_eth(struct pb *b, const char *dst, const char *src, uint16_t proto)
{
	put_mac(b, dst);
	put_mac(b, src);
	put16(b, proto);
}

void pb_arp(struct pb *b, uint16_t op, const char *sha, const char *spa, const char *tha,
	    const char *tpa)
{
	put16(b, 1);      /* Ethernet */
	put16(b, 0x0800); /* IPv4 */
	put(b, (uint8_t[]){ 6, 4 }, 2);
	put16(b, op);
	put_mac(b, sha);
	put_ip(b, spa);
	put_mac(b, tha);
	put_ip(b, tpa);
}

void pb_ipv4(struct pb *b, const struct pb_ip *ip)
{
	uint8_t ihl = 5 + ip->options / 4;

	b->ip_off = b->len;
	put(b, (uint8_t[]){ 0x40 | ihl, ip->tos }, 2);
	put16(b, 0); /* total length: pb_done */
	put16(b, ip->id);
	put16(b, ip->frag_off);
	put(b, (uint8_t[]){ ip->ttl ? ip->ttl : 64, ip->proto }, 2);
	put16(b, 0); /* checksum: pb_done */
	put_ip(b, ip->src);
	put_ip(b, ip->dst);
	for (int i = 0; i < ip->options; i++)
		put(b, (uint8_t[]){ 1 }, 1); /* NOP */
}

void pb_icmp(struct pb *b, uint8_t type, uint8_t code, uint32_t rest)
{
	b->l4_off = b->len;
	b->l4_proto = 1;
	put(b, (uint8_t[]){ type, code, 0, 0 }, 4);
	put32(b, rest);
}

void pb_icmp_echo(struct pb *b, uint8_t type, uint16_t id, uint16_t seq)
{
	pb_icmp(b, type, 0, (uint32_t)id << 16 | seq);
}

void pb_udp(struct pb *b, uint16_t sport, uint16_t dport)
{
	b->l4_off = b->len;
	b->l4_proto = 17;
	put16(b, sport);
	put16(b, dport);
	put16(b, 0); /* length: pb_done */
	put16(b, 0);
}

void pb_tcp(struct pb *b, uint16_t sport, uint16_t dport, uint8_t flags)
{
	b->l4_off = b->len;
	b->l4_proto = 6;
	put16(b, sport);
	put16(b, dport);
	put32(b, 1000); /* seq */
	put32(b, 0);    /* ack */
	put(b, (uint8_t[]){ 5 << 4, flags }, 2);
	put16(b, 65535); /* window */
	put16(b, 0);     /* checksum */
	put16(b, 0);     /* urgent */
}

void pb_bytes(struct pb *b, const void *p, size_t n)
{
	put(b, p, n);
}

void pb_payload(struct pb *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(b, (uint8_t[]){ (uint8_t)('a' + i % 26) }, 1);
}

uint16_t pb_csum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *d = p;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* Sum of the pseudo-header, unfolded, in host order words. */
static uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, uint16_t l4_len)
{
	uint32_t sum = 0;

	for (int i = 12; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	return sum + proto + l4_len;
}

static void set16(uint8_t *p, uint16_t v_net)
{
	memcpy(p, &v_net, 2);
}

void pb_done(struct pb *b)
{
	uint8_t *ip, *l4;
	size_t ihl, l4_len;

	if (b->ip_off < 0)
		return;
	ip = b->data + b->ip_off;
	ihl = (ip[0] & 0xf) * 4;
	set16(ip + 2, htons(b->len - b->ip_off));
	set16(ip + 10, 0);
	set16(ip + 10, pb_csum(ip, ihl, 0));
	if (b->l4_off < 0)
		return;
	l4 = b->data + b->l4_off;
	l4_len = b->len - b->l4_off;
	switch (b->l4_proto) {
	case 1:
		set16(l4 + 2, 0);
		set16(l4 + 2, pb_csum(l4, l4_len, 0));
		break;
	case 17:
		set16(l4 + 4, htons(l4_len));
		set16(l4 + 6, 0);
		set16(l4 + 6, pb_csum(l4, l4_len, pseudo_sum(ip, 17, l4_len)));
		break;
	case 6:
		set16(l4 + 16, 0);
		set16(l4 + 16, pb_csum(l4, l4_len, pseudo_sum(ip, 6, l4_len)));
		break;
	}
}

void pb_trunc(struct pb *b, size_t len)
{
	if (len < b->len)
		b->len = len;
}

int pb_checksums_ok(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *l4;
	size_t ihl, tot, l4_len;

	if (len < 34 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	ihl = (ip[0] & 0xf) * 4;
	tot = (size_t)ip[2] << 8 | ip[3];
	if (14 + tot > len || pb_csum(ip, ihl, 0) != 0)
		return 0;
	/* a later fragment carries no L4 header: its IPv4 header is all there is to verify */
	if (((ip[6] << 8 | ip[7]) & 0x1fff) != 0)
		return 1;
	l4 = ip + ihl;
	l4_len = tot - ihl;
	switch (ip[9]) {
	case 1:
		return pb_csum(l4, l4_len, 0) == 0;
	case 6:
	case 17:
		return pb_csum(l4, l4_len, pseudo_sum(ip, ip[9], l4_len)) == 0;
	}
	return 1;
}
