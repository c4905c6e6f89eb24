/* maps/fib.h — a VPC's forwarding index: its routes as address ranges in a tree of cache lines, in the fib arena. */
#ifndef VPCBPF_FIB_H
#define VPCBPF_FIB_H

#include <linux/types.h>
#include <stddef.h>
#include "maps/vpcbpf.h"

/* A region built in memory, before it is written (line offsets relative to its first line). */
struct fib_image {
	struct fib_line *lines;
	__u32 nlines;
	struct fib_header hdr;
};

/*
 * Builds the region of a table: routes[0..n) in any order, one per (prefix,
 * len) (a later duplicate wins). 0, or -ENOMEM / -EINVAL (a prefix with host
 * bits, a length over 32).
 */
int fib_image_build(const struct route *routes, size_t n, struct fib_image *img);
void fib_image_free(struct fib_image *img);

/*
 * Writes routes[0..n) as the table of *v: a new region in lines that no VPC
 * record (nor anything this process wrote since its last fib_forget()) uses,
 * then v's fib fields and route_count point at it. Nothing reads the region
 * until the caller stores *v in the vpcs map; the region *v had before is
 * released (fib_release). -ENOSPC when the arena is full even after an
 * RCU grace period has freed what earlier tables left.
 */
int fib_install(int fib_fd, int vpcs_fd, const struct route *routes, size_t n, struct vpc *v);

/*
 * *v's region is about to be (or was) dropped by a record update or delete:
 * it is kept from reuse until an RCU grace period has passed.
 */
int fib_release(int fib_fd, const struct vpc *v);
int fib_release_lines(int fib_fd, __u32 base, __u32 lines);

/*
 * An edit of *v's table made in place, in the lines its region keeps for
 * that: the tree of the one direct-stage chunk the edit touches is rebuilt
 * in spare lines, new results and the edit itself (in the region's log) go
 * in slots past what the header counts. Nothing reads any of it until the
 * entry and the header below are written (fib_patch_apply, or the journal's
 * FIB_WRITE steps): the entry is one 32-bit store, so a packet walks either
 * the old chunk or the new one; the old chunk's lines are never reused
 * before the whole region is replaced (and quarantined).
 */
struct fib_patch {
	__u32 entry_line, entry_word, entry; /* the direct entry that points at the new chunk (absolute line; 0: none) */
	__u32 header_line;                   /* the region's header (absolute line) ... */
	struct fib_header hdr;               /* ... as it reads after the edit (log, spare lines, results) */
	__u32 route_count;                   /* the VPC record's route_count after the edit ... */
	__u32 root;                          /* ... its fib_root (a new tree when there is no direct stage) ... */
	__u8 depth;                          /* ... and fib_depth */
};
/*
 * Writes the edit aside as above: routes put[0..nput) added or replaced,
 * del[0..ndel) taken out (they exist). -EAGAIN when the table cannot be
 * edited in place and is built whole instead: no direct stage, a route
 * shorter than a chunk or edits in two chunks, the log, the spare lines
 * or the result slots full, a region written before this existed.
 */
int fib_patch(int fib_fd, const struct vpc *v, const struct route *put, size_t nput, const struct route *del,
	      size_t ndel, struct fib_patch *out);
/* Publishes a patch: the direct entry (the datapath's switch), then the header (the tool's view). */
int fib_patch_apply(int fib_fd, const struct fib_patch *p);
/* Words [first, first + n) of arena line `line`, each one stored atomically (the journal's FIB_WRITE). */
int fib_write_words(int fib_fd, __u32 line, __u32 first, __u32 n, const __u32 *w);

/* The configured routes of *v's region, sorted by (prefix, len): a malloc'd array (NULL when none). */
int fib_routes(int fib_fd, const struct vpc *v, struct route **out, size_t *n);

/* false when *v's region counts no advertised route (FIB2 regions count them; an older one may have some). */
bool fib_may_advertise(int fib_fd, const struct vpc *v);

/* The configured route (prefix, len) of *v's region (a binary search of its list): 0, or -ENOENT. */
int fib_route_get(int fib_fd, const struct vpc *v, __be32 prefix, __u8 len, struct route *out);

/* The datapath's longest-prefix match in *v's region: 0 and *out (prefix filled in), or -ENOENT. */
int fib_lookup(int fib_fd, const struct vpc *v, __be32 addr, struct route *out);

/* The arena's size in lines. */
int fib_arena_size(int fib_fd, __u32 *lines);

/*
 * How full the arena is: lines of live regions, lines in quarantine, and the
 * total (dp show); bad counts the live regions whose header does not match
 * their record, and the regions that share a line with another live or
 * quarantined one (0 on a sane arena: save -v prints it, the crash tests check it).
 */
struct fib_usage {
	__u64 live, quarantined, total;
	__u32 regions, bad;
};
int fib_usage(int fib_fd, int vpcs_fd, struct fib_usage *u);

/*
 * After an RCU grace period that followed the last vpc record update: the
 * regions released so far may be reused. (fib_install also waits for one by
 * itself when the arena or the quarantine runs out.)
 */
void fib_settle(void);
/* After a transaction ends (committed or thrown away): forget the regions written for it. */
void fib_forget(void);

#endif
