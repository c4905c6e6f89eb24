/* maps/table.c — open-addressing hash table of fixed-size records for the transaction model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maps/table.h"

enum { SLOT_EMPTY = 0, SLOT_LIVE = 1, SLOT_GONE = 2 };

/*
 * A slot is a state byte, padding, then the record at REC_OFF: records hold
 * __u32/__u64 fields and are used in place, so they must sit aligned (a
 * record right after the state byte was misaligned: undefined behaviour).
 */
#define REC_OFF 8

static size_t slot_size(const struct table *t)
{
	return REC_OFF + ((t->rec_size + REC_OFF - 1) & ~(size_t)(REC_OFF - 1));
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix: keys are short */
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static unsigned char *slot(const struct table *t, size_t i)
{
	return t->slots + i * slot_size(t);
}

void table_init(struct table *t, size_t key_size, size_t rec_size)
{
	memset(t, 0, sizeof(*t));
	t->key_size = key_size;
	t->rec_size = rec_size;
}

void table_free(struct table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->used = t->live = 0;
}

/* Keys are 4 to 16 bytes: compared as words (a memcmp call per probe showed in profiles). */
static bool same_key(const unsigned char *a, const unsigned char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;

	switch (n) {
	case 4:
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		return u == v;
	case 8:
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return x == y;
	case 12:
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&u, a + 8, 4);
		memcpy(&v, b + 8, 4);
		return x == y && u == v;
	default:
		return !memcmp(a, b, n);
	}
}

/* The slot holding key, or (when insert) the first reusable slot on its probe path. */
static unsigned char *find(const struct table *t, const void *key, bool insert)
{
	unsigned char *reuse = NULL;

	if (!t->cap)
		return NULL;
	for (size_t i = hash_bytes(key, t->key_size) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		unsigned char *s = slot(t, i);
		if (*s == SLOT_EMPTY)
			return insert ? (reuse ? reuse : s) : NULL;
		if (*s == SLOT_GONE) {
			if (!reuse)
				reuse = s;
		} else if (same_key(s + REC_OFF, key, t->key_size)) {
			return s;
		}
	}
}

/* Rehashes into a bigger array: at least twice the live records, and room for want records. */
static int grow_to(struct table *t, size_t want)
{
	struct table n = *t;
	n.cap = t->cap ? t->cap * 2 : 64;
	while (t->live * 2 >= n.cap || (want + 1) * 4 >= n.cap * 3)
		n.cap *= 2;
	n.slots = calloc(n.cap, slot_size(t));
	if (!n.slots)
		return -ENOMEM;
	n.used = n.live = 0;
	for (size_t i = 0; i < t->cap; i++) {
		unsigned char *s = slot(t, i);
		if (*s != SLOT_LIVE)
			continue;
		unsigned char *d = find(&n, s + REC_OFF, true);
		*d = SLOT_LIVE;
		memcpy(d + REC_OFF, s + REC_OFF, t->rec_size);
		n.used++;
		n.live++;
	}
	free(t->slots);
	*t = n;
	return 0;
}

static int grow(struct table *t)
{
	return grow_to(t, 0);
}

int table_reserve(struct table *t, size_t n)
{
	if ((t->used + n + 1) * 4 < t->cap * 3)
		return 0;
	return grow_to(t, t->live + n);
}

void table_prefetch(const struct table *t, const void *key)
{
	if (t->cap)
		__builtin_prefetch(slot(t, hash_bytes(key, t->key_size) & (t->cap - 1)), 1);
}

void *table_get(const struct table *t, const void *key)
{
	unsigned char *s = find(t, key, false);
	return s ? s + REC_OFF : NULL;
}

void *table_put(struct table *t, const void *rec)
{
	unsigned char *s;

	if ((t->used + 1) * 4 >= t->cap * 3 && grow(t))
		return NULL;
	s = find(t, rec, true);
	if (*s == SLOT_EMPTY)
		t->used++;
	if (*s != SLOT_LIVE)
		t->live++;
	*s = SLOT_LIVE;
	memcpy(s + REC_OFF, rec, t->rec_size);
	return s + REC_OFF;
}

bool table_del(struct table *t, const void *key)
{
	unsigned char *s = find(t, key, false);
	if (!s)
		return false;
	*s = SLOT_GONE;
	t->live--;
	return true;
}

void *table_next(const struct table *t, const void *prev)
{
	size_t i = prev ? (size_t)((const unsigned char *)prev - REC_OFF - t->slots) / slot_size(t) + 1 : 0;
	for (; i < t->cap; i++)
		if (*slot(t, i) == SLOT_LIVE)
			return slot(t, i) + REC_OFF;
	return NULL;
}

int table_copy(struct table *dst, const struct table *src)
{
	*dst = *src;
	if (!src->cap)
		return 0;
	dst->slots = malloc(src->cap * slot_size(src));
	if (!dst->slots)
		return -ENOMEM;
	memcpy(dst->slots, src->slots, src->cap * slot_size(src));
	return 0;
}

void **table_sorted(const struct table *t, int (*cmp)(const void *, const void *), size_t *n)
{
	void **v = malloc((t->live + 1) * sizeof(*v));
	size_t k = 0;
	if (!v)
		return NULL;
	for (void *r = NULL; (r = table_next(t, r));)
		v[k++] = r;
	if (cmp)
		qsort(v, k, sizeof(*v), cmp);
	*n = k;
	return v;
}
