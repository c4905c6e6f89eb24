/* cli/eip.h — elastic IPs: the announcements an EIP's move needs (their grammar is cli/edit.c's, their rules cli/state.c's). */
#ifndef VPCBPF_CLI_EIP_H
#define VPCBPF_CLI_EIP_H

#include "maps/txn.h"

/* After a commit: a gratuitous ARP on the external device for each EIP whose NIC has just become local. */
void eip_announce(struct store *s, const struct txn_state *cur, const struct txn_state *want);
/* Gratuitous ARP for eip on the external device (best effort: a lost one is repaired by the next ARP request). */
void eip_garp(__be32 eip);

#endif
