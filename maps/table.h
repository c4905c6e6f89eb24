/* maps/table.h — an in-memory hash table of fixed-size records, keyed by their first bytes (the txn model). */
#ifndef VPCBPF_TABLE_H
#define VPCBPF_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Open addressing with linear probing. A record is rec_size bytes whose first
 * key_size bytes are its key; keys must be fully initialised (padding zeroed)
 * because they are hashed and compared as bytes. Records stay where they are
 * until the table grows, so a pointer is valid until the next table_put.
 */
struct table {
	unsigned char *slots; /* cap slots: a state byte, padding, then the record (aligned) */
	size_t cap, used, live;
	size_t key_size, rec_size;
};

void table_init(struct table *t, size_t key_size, size_t rec_size);
void table_free(struct table *t);
/* Room for n more records without rehashing (a caller that knows its count saves the growth). */
int table_reserve(struct table *t, size_t n);
/* A hint: the slot where key would be is read into the cache (for a loop that knows its next keys). */
void table_prefetch(const struct table *t, const void *key);
/* The record with this key, or NULL. */
void *table_get(const struct table *t, const void *key);
/* Inserts or overwrites rec; returns the stored copy, NULL when out of memory. */
void *table_put(struct table *t, const void *rec);
/* true if a record was removed. */
bool table_del(struct table *t, const void *key);
/* Iteration: for (void *r = NULL; (r = table_next(t, r));) — deleting the current record is allowed. */
void *table_next(const struct table *t, const void *prev);
/* A deep copy of src into dst (initialised by this call). */
int table_copy(struct table *dst, const struct table *src);
/* The live records as an array of pointers sorted by cmp (caller frees); *n gets the count. */
void **table_sorted(const struct table *t, int (*cmp)(const void *, const void *), size_t *n);

#endif
