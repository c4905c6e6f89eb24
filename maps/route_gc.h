/* maps/route_gc.h — route entries outside any live table (a build a killed command left). */
#ifndef VPCBPF_ROUTE_GC_H
#define VPCBPF_ROUTE_GC_H

#include "maps/txn.h"

/* Deletes every route entry that is not in the live table of an existing VPC. */
int gc_routes(struct store *s);

#endif
