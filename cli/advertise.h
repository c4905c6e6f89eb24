/* cli/advertise.h — routes marked `advertise` handed to a routing daemon: one kernel routing table per VPC. */
#ifndef VPCBPF_ADVERTISE_H
#define VPCBPF_ADVERTISE_H

#include <stdbool.h>
#include <linux/types.h>
#include "maps/store.h"

/*
 * The routes of this netns's kernel that vpcbpf owns carry this protocol
 * number (named "vpcbpf" in /etc/iproute2/rt_protos.d/vpcbpf.conf, docs/bgp.md):
 * nothing else is ever touched. BIRD (`protocol kernel { learn; kernel table
 * N; }`) or FRR (`ip import-table N`) pick them up from there.
 */
#define ADVERTISE_PROTO 250
#define ADVERTISE_PROTO_NAME "vpcbpf"
/* A VPC without `table N` advertises into table ADVERTISE_TABLE_BASE + VNI (VPC 101: table 100000101). */
#define ADVERTISE_TABLE_BASE 100000000U
/* `table N` (vpc add/set): 1..2^32-1 but 253-255 (the kernel's default, main and local). 0, or 1 after fail(). */
int parse_advertise_table(const char *s, __u32 *table);

/* The kernel table of VPC vni (table: what `vpc ... table N` set, 0 when not set). */
__u32 advertise_table(__u32 vni, __u32 table);

/*
 * Makes the kernel's vpcbpf routes equal to the advertised routes of the
 * live state (after a commit, under the lock): adds what is missing,
 * removes what is gone. 0, or 1 after fail().
 */
int advertise_reconcile(struct store *s);
/* dp down: every vpcbpf route of this netns goes. 0, or 1 after fail(). */
int advertise_withdraw_all(void);
/* Whether this process has made the kernel equal to its last commit (then the tool need not again). */
bool advertise_settled(void);

#endif
