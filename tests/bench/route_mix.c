/* tests/bench/route_mix.c — draws distinct prefixes with the benchmark's prefix-length mix. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "route_mix.h"

const struct mix_weight route_mix[] = {
	/* BGP-like, 800 per mille */
	{ 8, 1 }, { 10, 1 }, { 12, 2 }, { 13, 2 }, { 14, 3 }, { 15, 4 }, { 16, 11 }, { 17, 6 },
	{ 18, 11 }, { 19, 21 }, { 20, 35 }, { 21, 42 }, { 22, 92 }, { 23, 80 }, { 24, 489 },
	/* VPC-typical, 200 per mille */
	{ 16, 20 }, { 20, 20 }, { 22, 10 }, { 24, 60 }, { 25, 15 }, { 26, 25 }, { 27, 20 },
	{ 28, 20 }, { 32, 10 },
};
const size_t route_mix_count = sizeof(route_mix) / sizeof(route_mix[0]);

uint64_t mix_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static unsigned int pick_len(uint64_t *state)
{
	unsigned int x = (unsigned int)(mix_rand(state) % 1000);

	for (size_t i = 0; i < route_mix_count; i++) {
		if (x < route_mix[i].per_mille)
			return route_mix[i].len;
		x -= route_mix[i].per_mille;
	}
	return 24;
}

static __u32 mask_of(unsigned int len)
{
	return len ? ~0U << (32 - len) : 0;
}

/* Open addressing set of (len, prefix), to keep prefixes distinct. */
struct set {
	uint64_t *slot;
	size_t mask;
};

static int set_add(struct set *s, uint64_t key)
{
	size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & s->mask;

	key++; /* 0 marks an empty slot */
	while (s->slot[i]) {
		if (s->slot[i] == key)
			return 0;
		i = (i + 1) & s->mask;
	}
	s->slot[i] = key;
	return 1;
}

size_t mix_generate(struct mix_route *out, size_t n, uint64_t *state)
{
	struct set s;
	size_t cap = 1024, made = 0;

	while (cap < 2 * n)
		cap <<= 1;
	s.slot = calloc(cap, sizeof(*s.slot));
	s.mask = cap - 1;
	if (!s.slot)
		return 0;
	/* bounded: short lengths run out of distinct prefixes, the draw just moves on */
	for (size_t tries = 0; made < n && tries < 8 * n + 1000; tries++) {
		unsigned int len = pick_len(state);
		__u32 prefix = (__u32)mix_rand(state) & mask_of(len);

		if (!set_add(&s, ((uint64_t)len << 32) | prefix))
			continue;
		out[made].prefix = htonl(prefix);
		out[made].len = (__u8)len;
		made++;
	}
	free(s.slot);
	return made;
}

__be32 mix_address_in(const struct mix_route *r, uint64_t *state)
{
	__u32 host = (__u32)mix_rand(state) & ~mask_of(r->len);

	return r->prefix | htonl(host);
}
