/* maps/txn.h — transactions: the in-memory model of a host's state, the journal, and the commit of a new state. */
#ifndef VPCBPF_TXN_H
#define VPCBPF_TXN_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include "maps/vpcbpf.h"
#include "maps/store.h"
#include "maps/table.h"

/*
 * How a transaction becomes visible (see docs/transactions.md):
 *
 *  1. build (maps/txn_plan.c): every VPC whose route table changes gets a
 *     new fib region (maps/fib.c: the index and the list of its routes) in
 *     lines no VPC record points at. Nothing reads it yet: the datapath,
 *     show and save follow the record's fib region. A single command's
 *     route edit instead rebuilds one chunk of the live region in its spare
 *     lines (maps/fib.h fib_patch), which nothing reads either until the
 *     journal's FIB_WRITE steps publish it, just before the record.
 *  2. commit point: the list of the remaining map operations is written to
 *     the journal map, then one update of the journal head marks it
 *     committed. Before that update the host is in the old state (a region
 *     built aside and left behind is free lines), after it in the new one (the journal is
 *     replayed to the end by whoever takes the lock next).
 *  3. apply the journal, in an order that never lets the datapath follow a
 *     reference to something missing: new VPCs, subnets and NICs first, then
 *     one vpc record update per VPC swaps its route table, then an RCU grace
 *     period, then removals (maps/journal.c).
 *
 * Every journal operation is idempotent, so replaying a journal that was
 * partly applied finishes it.
 */

#define MAP_TXN_JOURNAL "txn_journal"
#define TXN_JOURNAL_MAX (1U << 20) /* operations per transaction */
#define TXN_HEAD_KEY 0xffffffffU

/* ---- the model ---- */
#define TXN_HOST_LEN 64 /* a host's name in cluster mode, NUL included */

struct txn_vpc {
	__u32 vni;
	struct vpc rec; /* the live record (its fib region) when loaded; the name when wanted */
};

struct txn_subnet {
	struct subnet_key k;
	struct subnet v;
	struct subnet_dhcp dhcp; /* its subnet_dhcp entry (DHCP options); all zero: no entry */
};

struct txn_nic {
	struct nic_key k;
	struct nic v; /* derived fields (subnet, gateway, ifindex) filled in */
	char dev[IF_NAMESIZE]; /* local NICs: the interface name */
	char host[TXN_HOST_LEN]; /* cluster mode: the host the NIC lives on (as dev there); "" on a host */
};

struct txn_route_key {
	__u32 vni;
	__be32 prefix;
	__u8 len;
	__u8 _pad[3];
};

struct txn_sg {
	__u32 id;              /* sgs map key; NICs refer to it (struct nic.sg_id) */
	char name[NAME_LEN];   /* what save/apply/batch call it */
};

struct txn_sg_rule_key {
	__u32 sg_id;
	__u32 priority;
};

struct txn_sg_rule {
	struct txn_sg_rule_key k;
	struct sg_rule r;
};

#define TXN_SG_KEEP 0xffffffffU /* state_nic_set: keep the NIC's group (none for a new NIC) */
#define TXN_CT_QUOTA_KEEP 0xffffffffU /* state_nic_set: keep the NIC's conntrack quota (the host's for a new NIC) */

/* An elastic IP: one external address, 1:1 to one NIC (maps eips and nic_eips). */
struct txn_eip {
	__be32 eip;
	struct nic_key nic;
};

struct txn_route {
	struct txn_route_key k;
	struct route r; /* static routes only: connected routes follow from the subnets */
};

/*
 * A whole host state. To add an object type: a table here,
 * its load in txn_state_load (maps/txn_state.c), its puts/deletes in the plan (maps/txn_plan.c,
 * plan_*), and a section in cli/save.c and cli/apply.c.
 */
struct txn_state {
	struct table vpcs;    /* struct txn_vpc */
	struct table subnets; /* struct txn_subnet */
	struct table nics;    /* struct txn_nic */
	struct table routes;  /* struct txn_route */
	struct table sgs;     /* struct txn_sg */
	struct table sg_rules; /* struct txn_sg_rule */
	struct table eips;    /* struct txn_eip */
	/*
	 * Which routes `routes` holds: all of them (routes_partial false), or,
	 * for a single command that loads lazily, those of the VPCs in
	 * route_vpcs and the single keys in route_points (present or not). The
	 * planner edits a VPC known only in part by its differences, merged
	 * into the live table (see txn_commit).
	 */
	bool routes_partial;
	struct table route_vpcs;   /* __u32 vni */
	struct table route_points; /* struct txn_route_key */
	/* Likewise: only the NICs in nic_points (present or not); no groups at all. */
	bool nics_partial, sgs_unloaded;
	struct table nic_points; /* struct nic_key */
};

void txn_state_init(struct txn_state *st);
void txn_state_free(struct txn_state *st);
int txn_state_copy(struct txn_state *dst, const struct txn_state *src);
/* Reads the live state from the maps (each VPC's routes from the list in its fib region). */
int txn_state_load(struct store *s, struct txn_state *st);

struct txn_route_key txn_route_key(__u32 vni, __be32 prefix, __u8 len);

/* The lazy load of a single command: VPCs and subnets, the NICs and groups when asked, no routes ... */
#define TXN_LOAD_NICS 1U
#define TXN_LOAD_SGS 2U
int txn_state_load_small(struct store *s, struct txn_state *st, unsigned int what);
/* ... then the NIC k if it exists (when the NICs were not loaded) ... */
int txn_state_load_nic(struct store *s, struct txn_state *st, struct nic_key k);
/* ... then the route (vni, prefix, len) if it exists (a binary search of its VPC's list) ... */
int txn_state_load_route(struct store *s, struct txn_state *st, __u32 vni, __be32 prefix, __u8 len);
/* ... or every route of VPC vni (from its fib region). */
int txn_state_load_vpc_routes(struct store *s, struct txn_state *st, __u32 vni);
/* Whether st->routes holds what the rules ask about: route (vni, *prefix, len), or all of vni's (prefix NULL). */
bool txn_routes_known(const struct txn_state *st, __u32 vni, const __be32 *prefix, __u8 len);
/* Whether st->nics holds NIC *k, or every NIC (k NULL). */
bool txn_nics_known(const struct txn_state *st, const struct nic_key *k);

/* ---- the journal ---- */
enum txn_op_kind {
	TXN_OP_PUT = 1,       /* map[key] = value */
	TXN_OP_DEL,           /* delete map[key] (missing is fine) */
	TXN_OP_STATS_NEW,     /* zeroed per-CPU NIC counters, kept if present */
	TXN_OP_ATTACH,        /* NIC program on ifindex (tc filter replace) */
	TXN_OP_DETACH,        /* our filter off ifindex */
	TXN_OP_BARRIER,       /* RCU grace period: no packet still uses what came before */
	/* 7-10 and 15 are retired: they wrote the routes hash, which no longer exists */
	TXN_OP_SG_RULE = 11,  /* one rule (vni = sg_id, ifindex = priority, value = struct sg_rule) for ... */
	TXN_OP_SG_COMMIT,     /* ... the rule set of group vni: the SG_RULE steps before it, swapped in whole */
	TXN_OP_SG_PURGE,      /* every rule and compiled entry of group vni (its record is gone) */
	TXN_OP_FIB_RELEASE,   /* fib lines (key: base, lines) no record points at any more: into quarantine */
	TXN_OP_FIB_WRITE = 16, /* words of a fib line (key: line, first word, count; value: the words), each stored
				  atomically: a chunk edited in place is published (maps/fib.h fib_patch) */
};

enum txn_head_state {
	TXN_IDLE = 0,
	/* 1 is retired (route entries were being written aside): like IDLE, nothing to finish */
	TXN_COMMITTED = 2, /* the journal holds nops operations to replay */
};

struct txn_op {
	__u8 kind;   /* enum txn_op_kind */
	__u8 map;    /* enum store_map, for PUT and DEL */
	__u16 _pad0;
	__u32 vni;
	__u32 ifindex;
	__u8 key_size;
	__u8 value_size;
	__u16 _pad;
	__u8 key[16];
	__u8 value[64];
};
_Static_assert(sizeof(struct txn_op) == 96, "struct txn_op layout");

struct txn_head {
	__u32 state; /* enum txn_head_state */
	__u32 nops;
	__u64 serial;
	__u8 _pad[80];
};
_Static_assert(sizeof(struct txn_head) == sizeof(struct txn_op), "journal head fits an op slot");

/* What the map layer asks of the tool (attaching programs lives in cli/). */
struct txn_hooks {
	int (*attach)(int ifindex);
	int (*detach)(int ifindex);
	/* Called now and then during long phases; total may be 0 when unknown. */
	void (*progress)(const char *phase, size_t done, size_t total);
};

/* An ordered list of journal operations. */
struct txn_plan {
	struct txn_op *ops;
	size_t n, cap;
};

void txn_plan_init(struct txn_plan *p);
void txn_plan_free(struct txn_plan *p);
int txn_plan_put(struct txn_plan *p, enum store_map m, const void *key, size_t ksz, const void *val, size_t vsz);
int txn_plan_del(struct txn_plan *p, enum store_map m, const void *key, size_t ksz);
int txn_plan_op(struct txn_plan *p, const struct txn_op *op);

/*
 * Makes the host's state equal to want, as one transaction (cur: the state
 * loaded under the same lock). Returns 0, or a negative errno with msg set;
 * a failure before the commit point changes nothing.
 */
int txn_commit(struct store *s, const struct txn_state *cur, const struct txn_state *want,
	       const struct txn_hooks *h, char *msg, size_t msglen);
/* Finishes or discards what a killed command left (the lock must be held). 0: nothing to do, 1: recovered. */
int txn_recover(struct store *s, const struct txn_hooks *h);
/* true when the journal says a transaction was cut short (cheap: one lookup, no lock). */
bool txn_pending(struct store *s);

/* Set to print the time of each phase of a commit on stderr (vpcbpf -v). */
extern bool txn_timing;

/* Test hook: VPCBPF_TXN_CRASH=phase makes the tool _exit(9) at that phase (build, commit, apply). */
void txn_crash_point(const char *phase);

#endif
