/* maps/prefix.h — IPv4 prefixes in user space: the mask of a length, whether two overlap, the order of routes. */
#ifndef VPCBPF_PREFIX_H
#define VPCBPF_PREFIX_H

#include <stdbool.h>
#include <arpa/inet.h>
#include <linux/types.h>
#include "maps/vpcbpf.h"

/* Network-order mask of a prefix length 0..32. */
static inline __be32 prefix_mask(unsigned int len)
{
	return len ? htonl(~0U << (32 - len)) : 0;
}

/* Whether two prefixes share an address (prefixes either nest or are disjoint). */
static inline bool prefixes_overlap(__be32 a, __u8 alen, __be32 b, __u8 blen)
{
	__u8 len = alen < blen ? alen : blen;
	return (a & prefix_mask(len)) == (b & prefix_mask(len));
}

/* The order of prefixes everywhere (routes, subnets, advertised routes): by address, then shorter first. */
static inline int prefix_order(__be32 a, __u8 alen, __be32 b, __u8 blen)
{
	__u32 pa = ntohl(a), pb = ntohl(b);

	if (pa != pb)
		return pa < pb ? -1 : 1;
	return (int)alen - (int)blen;
}

/* The order of a VPC's routes everywhere (fib regions, plans, show). */
static inline int route_order(const struct route *x, const struct route *y)
{
	return prefix_order(x->prefix, x->len, y->prefix, y->len);
}

/* route_order for qsort and bsearch. */
static inline int route_order_qsort(const void *a, const void *b)
{
	return route_order(a, b);
}

#endif
