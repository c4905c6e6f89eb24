/* cli/state.h — the domain rules of vpcbpf applied to an in-memory state (batch and apply edit one, then commit it). */
#ifndef VPCBPF_CLI_STATE_H
#define VPCBPF_CLI_STATE_H

#include "maps/txn.h"

/*
 * Each edit checks what the single command checks and prints the same one-line
 * error (through fail(), so err_context names the batch line or JSON object).
 * They return 0, or 1 after printing; the state is unchanged on error.
 */
int state_vpc_add(struct txn_state *st, __u32 vni, const char name[NAME_LEN]);
int state_vpc_del(struct txn_state *st, __u32 vni);
int state_subnet_add(struct txn_state *st, struct subnet_key k, bool have_gateway, __be32 gateway,
		     const char name[NAME_LEN]);
int state_subnet_del(struct txn_state *st, struct subnet_key k);
/* n: key, mac, flags (LOCAL or REMOTE, SOURCE_CHECK), dev or v.remote; derived fields are filled in. */
int state_nic_set(struct txn_state *st, struct txn_nic n, bool replace);
int state_nic_del(struct txn_state *st, struct nic_key k);
int state_route_set(struct txn_state *st, __u32 vni, const struct route *r, bool replace);
int state_route_del(struct txn_state *st, __u32 vni, __be32 prefix, __u8 len);
int state_route_flush(struct txn_state *st, __u32 vni);

/* Under the lock: finishes a transaction a killed command left, then loads the live state. */
int state_load(struct store *s, struct txn_state *st);
/* Makes the host equal to want (cur: what state_load returned); prints errors. */
int state_commit(struct store *s, const struct txn_state *cur, const struct txn_state *want);

/* What the map layer may call back (attach programs, progress on a terminal). */
extern const struct txn_hooks cli_txn_hooks;

#endif
