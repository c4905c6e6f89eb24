/* tests/fuzz/pkt_mutate.c — damages valid frames: edge values in header fields, random bytes, lengths, splices. */
#include <string.h>
#include "tests/unit/pktbuild.h"
#include "pkt_mutate.h"
#include "pkt_world.h"

const char *const strategy_names[MUT__COUNT] = {
	[MUT_FIELDS] = "header fields set to edge values",
	[MUT_BYTES] = "random bytes and bits",
	[MUT_LENGTH] = "truncated and padded frames",
	[MUT_SPLICE] = "spliced fixtures",
	[MUT_RANDOM] = "random frames",
};

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

#define PICK(r, arr) ((arr)[rng_below(r, sizeof(arr) / sizeof((arr)[0]))])

static void put16(struct frame *f, size_t off, uint16_t v)
{
	if (off + 2 <= f->len) {
		f->data[off] = v >> 8;
		f->data[off + 1] = v & 0xff;
	}
}

static void put8(struct frame *f, size_t off, uint8_t v)
{
	if (off < f->len)
		f->data[off] = v;
}

static void put_bytes(struct frame *f, size_t off, const void *p, size_t n)
{
	for (size_t i = 0; i < n && off + i < f->len; i++)
		f->data[off + i] = ((const uint8_t *)p)[i];
}

static void random_mac(struct rng *r, uint8_t mac[6])
{
	switch (rng_below(r, 6)) {
	case 0: memcpy(mac, world_router_mac, 6); return;
	case 1: memset(mac, 0xff, 6); return;
	case 2: memset(mac, 0, 6); return;
	case 3:
		for (int i = 0; i < 6; i++)
			mac[i] = rng_next(r);
		return;
	default: memcpy(mac, world_nics[rng_below(r, world_nic_count)].mac_b, 6); return;
	}
}

static __be32 random_addr(struct rng *r)
{
	if (rng_below(r, 8) == 0)
		return (__be32)rng_next(r);
	return world_addrs[rng_below(r, world_addr_count)];
}

static uint16_t random_u16(struct rng *r)
{
	static const uint16_t edges[] = { 0, 1, 2, 0x7fff, 0x8000, 0xfffe, 0xffff };

	return rng_below(r, 3) ? PICK(r, edges) : (uint16_t)rng_next(r);
}

#define IP 14 /* offset of the IPv4 header or the ARP body */

static void mutate_ipv4_field(struct rng *r, struct frame *f)
{
	size_t ihl = f->len > IP ? (f->data[IP] & 0xf) * 4u : 20;
	size_t real = f->len > IP ? f->len - IP : 0;

	switch (rng_below(r, 12)) {
	case 0: { /* version and IHL */
		static const uint8_t v[] = { 0x45, 0x46, 0x47, 0x4f, 0x40, 0x44, 0x41, 0x65, 0x05, 0x00, 0xff };
		put8(f, IP, rng_below(r, 4) ? PICK(r, v) : (uint8_t)rng_next(r));
		break;
	}
	case 1: { /* total length around every boundary the parser checks */
		uint16_t v[] = { 0, 1, 19, 20, 21, (uint16_t)(ihl - 1), (uint16_t)ihl, (uint16_t)(ihl + 1),
				 (uint16_t)(real - 1), (uint16_t)real, (uint16_t)(real + 1), (uint16_t)(real + 14),
				 0x7fff, 0xffff };
		put16(f, IP + 2, rng_below(r, 5) ? PICK(r, v) : random_u16(r));
		break;
	}
	case 2: { /* fragment flags and offset */
		static const uint16_t v[] = { 0, 0x4000, 0x2000, 0x0001, 0x1fff, 0x2001, 0x6000, 0x8000, 0xffff };
		put16(f, IP + 6, PICK(r, v));
		break;
	}
	case 3: { /* TTL */
		static const uint8_t v[] = { 0, 1, 2, 64, 255 };
		put8(f, IP + 8, PICK(r, v));
		break;
	}
	case 4: { /* protocol */
		static const uint8_t v[] = { 0, 1, 2, 4, 6, 17, 41, 47, 50, 58, 132, 255 };
		put8(f, IP + 9, PICK(r, v));
		break;
	}
	case 5: put16(f, IP + 10, random_u16(r)); break; /* header checksum */
	case 6: { /* source address */
		__be32 a = random_addr(r);
		put_bytes(f, IP + 12, &a, 4);
		break;
	}
	case 7: { /* destination address */
		__be32 a = random_addr(r);
		put_bytes(f, IP + 16, &a, 4);
		break;
	}
	case 8: put8(f, IP + 1, (uint8_t)rng_next(r)); break; /* TOS */
	case 9: { /* ICMP type and code, or the first L4 byte */
		static const uint8_t t[] = { 0, 3, 4, 5, 8, 11, 12, 13, 14, 15, 16, 17, 18, 255 };
		put8(f, IP + ihl, PICK(r, t));
		put8(f, IP + ihl + 1, rng_below(r, 2) ? 0 : (uint8_t)rng_next(r));
		break;
	}
	case 10: /* IP options, whatever the IHL says */
		for (size_t i = 20; i < ihl; i++)
			put8(f, IP + i, (uint8_t)rng_next(r));
		break;
	default: { /* L4 ports */
		put16(f, IP + ihl, random_u16(r));
		put16(f, IP + ihl + 2, random_u16(r));
		break;
	}
	}
}

static void mutate_arp_field(struct rng *r, struct frame *f)
{
	uint8_t mac[6];
	__be32 a;

	switch (rng_below(r, 9)) {
	case 0: put16(f, IP, PICK(r, ((uint16_t[]){ 0, 1, 6, 0x0800, 0xffff }))); break;
	case 1: put16(f, IP + 2, PICK(r, ((uint16_t[]){ 0, 0x0800, 0x0806, 0x86dd, 0xffff }))); break;
	case 2: put8(f, IP + 4, PICK(r, ((uint8_t[]){ 0, 4, 6, 8, 255 }))); break;
	case 3: put8(f, IP + 5, PICK(r, ((uint8_t[]){ 0, 4, 6, 16, 255 }))); break;
	case 4: put16(f, IP + 6, PICK(r, ((uint16_t[]){ 0, 1, 2, 3, 4, 8, 9, 0x100, 0xffff }))); break;
	case 5: random_mac(r, mac); put_bytes(f, IP + 8, mac, 6); break;   /* sender MAC */
	case 6: a = random_addr(r); put_bytes(f, IP + 14, &a, 4); break;   /* sender IP */
	case 7: random_mac(r, mac); put_bytes(f, IP + 18, mac, 6); break;  /* target MAC */
	default: a = random_addr(r); put_bytes(f, IP + 24, &a, 4); break;  /* target IP */
	}
}

static void mutate_fields(struct rng *r, struct frame *f)
{
	int n = 1 + rng_below(r, 3);

	for (int i = 0; i < n; i++) {
		uint16_t proto = f->len >= 14 ? (f->data[12] << 8 | f->data[13]) : 0;
		uint8_t mac[6];

		switch (rng_below(r, 10)) {
		case 0: { /* ethertype */
			static const uint16_t v[] = { 0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x0000,
						      0x05dc, 0x0600, 0x0801, 0x8035, 0xffff };
			put16(f, 12, PICK(r, v));
			break;
		}
		case 1: random_mac(r, mac); put_bytes(f, 0, mac, 6); break;
		case 2: random_mac(r, mac); put_bytes(f, 6, mac, 6); break;
		default:
			if (proto == 0x0806)
				mutate_arp_field(r, f);
			else
				mutate_ipv4_field(r, f);
		}
	}
	/* half the time a correct header checksum, so that mutants reach the forwarding path */
	if (rng_below(r, 2))
		fix_ipv4_csum(f);
}

static void mutate_bytes(struct rng *r, struct frame *f)
{
	int n = 1 + rng_below(r, 8);

	for (int i = 0; i < n && f->len; i++) {
		/* three times out of four inside the headers, where the decisions are */
		size_t span = rng_below(r, 4) && f->len > 64 ? 64 : f->len;
		size_t off = rng_below(r, span);

		if (rng_below(r, 2))
			f->data[off] ^= 1u << rng_below(r, 8);
		else
			f->data[off] = (uint8_t)rng_next(r);
	}
	if (rng_below(r, 2))
		fix_ipv4_csum(f);
}

static void mutate_length(struct rng *r, struct frame *f)
{
	if (rng_below(r, 2) && f->len > FRAME_MIN)
		f->len = FRAME_MIN + rng_below(r, f->len - FRAME_MIN);
	if (rng_below(r, 2)) {
		size_t grow = rng_below(r, 3) ? rng_below(r, 64) : rng_below(r, FRAME_MAX - f->len + 1);
		int zero = rng_below(r, 2);

		if (f->len + grow > FRAME_MAX)
			grow = FRAME_MAX - f->len;
		for (size_t i = 0; i < grow; i++)
			f->data[f->len + i] = zero ? 0 : (uint8_t)rng_next(r);
		f->len += grow;
	}
}

static void mutate_splice(struct rng *r, struct frame *f, const struct frame *other)
{
	size_t cut = rng_below(r, f->len + 1);
	size_t from = rng_below(r, other->len + 1);
	size_t n = other->len - from;

	if (cut + n > FRAME_MAX)
		n = FRAME_MAX - cut;
	memcpy(f->data + cut, other->data + from, n);
	f->len = cut + n;
	if (f->len < FRAME_MIN) {
		memset(f->data + f->len, 0, FRAME_MIN - f->len);
		f->len = FRAME_MIN;
	}
	if (rng_below(r, 2))
		fix_ipv4_csum(f);
}

static void mutate_random(struct rng *r, struct frame *f)
{
	f->len = FRAME_MIN + (rng_below(r, 4) ? rng_below(r, 128) : rng_below(r, FRAME_MAX - FRAME_MIN + 1));
	for (size_t i = 0; i < f->len; i++)
		f->data[i] = (uint8_t)rng_next(r);
	/* keep the sender's MAC and an IP-ish ethertype often enough to get past the first checks */
	if (rng_below(r, 2)) {
		const struct world_nic *n = world_port_nic(f->port);

		if (n)
			memcpy(f->data + 6, n->mac_b, 6);
		put16(f, 12, rng_below(r, 3) ? 0x0800 : 0x0806);
		if (rng_below(r, 2))
			put8(f, IP, 0x45);
		fix_ipv4_csum(f);
	}
}

void mutate(struct rng *r, enum strategy s, struct frame *f, const struct frame *other)
{
	switch (s) {
	case MUT_FIELDS: mutate_fields(r, f); break;
	case MUT_BYTES: mutate_bytes(r, f); break;
	case MUT_LENGTH: mutate_length(r, f); break;
	case MUT_SPLICE: mutate_splice(r, f, other); break;
	case MUT_RANDOM: mutate_random(r, f); break;
	default: break;
	}
	/* now and then the frame arrives on another port than its sender's */
	if (rng_below(r, 16) == 0)
		f->port = rng_below(r, 8);
}

void fix_ipv4_csum(struct frame *f)
{
	size_t ihl;

	if (f->len < IP + 20 || f->data[12] != 0x08 || f->data[13] != 0x00)
		return;
	ihl = (f->data[IP] & 0xf) * 4u;
	if (ihl < 20 || IP + ihl > f->len)
		return;
	f->data[IP + 10] = f->data[IP + 11] = 0;
	memcpy(f->data + IP + 10, &(uint16_t){ pb_csum(f->data + IP, ihl, 0) }, 2);
}
