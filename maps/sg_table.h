/* maps/sg_table.h — a security group's rules: stored per generation, compiled into the datapath's two tries, swapped atomically. */
#ifndef VPCBPF_SG_TABLE_H
#define VPCBPF_SG_TABLE_H

#include <linux/types.h>
#include <stddef.h>
#include "maps/vpcbpf.h"
#include "maps/store.h"

/* The compiled tables of one group may hold at most this many entries each (ports, addresses). */
#define SG_MAX_COMPILED 131072
#define SG_MAX_RULES 4096 /* per group */
#define SG_PRIORITY_MAX 1000000
#define SG_PRIORITY_STEP 10 /* default priority: after the last rule, with room to insert between */

struct sg_maps {
	int sgs_fd, rules_fd, ports_fd, addrs_fd;
};

/* The security-group maps of an opened store. */
static inline struct sg_maps sg_maps_of(const struct store *s)
{
	return (struct sg_maps){ s->fd[SM_SGS], s->fd[SM_SG_RULES], s->fd[SM_SG_PORTS], s->fd[SM_SG_ADDRS] };
}

struct sg_rule_entry {
	__u32 priority;
	struct sg_rule r;
};

/* The live rules of group sg_id, sorted by priority (caller frees *out). */
int sg_table_rules(const struct sg_maps *m, __u32 sg_id, struct sg_rule_entry **out, size_t *n);

/*
 * Makes rules[n] (any order, unique priorities) the live rule set of group
 * sg_id in one step: the rules and their compiled tries are written under
 * a new generation, struct sg.gen is switched by one map update, and the
 * old generation is removed once no running program can still read it.
 * Any failure before the switch leaves the old set live and whole.
 * -E2BIG: the rules compile to more than SG_MAX_COMPILED entries.
 */
int sg_table_commit(const struct sg_maps *m, __u32 sg_id, const struct sg_rule_entry *rules, size_t n);

/* Removes every rule and compiled entry of group sg_id (the group record must already be gone). */
int sg_table_purge(const struct sg_maps *m, __u32 sg_id);

/*
 * The compiled form, for tests and the benchmark: what commit writes.
 * Entries are (key, value) arrays; gen is filled in by the caller.
 */
struct sg_compiled {
	struct sg_port_key *port_keys;
	__u32 *port_cls;
	size_t n_ports;
	struct sg_addr_key *addr_keys;
	struct sg_verdict *verdicts;
	size_t n_addrs;
	__u32 n_classes;
};

int sg_compile(__u32 sg_id, __u16 gen, const struct sg_rule_entry *rules, size_t n, struct sg_compiled *out);
void sg_compiled_free(struct sg_compiled *c);

/* Whether rule r matches a packet (dir, proto, destination port, remote address): the reference semantics. */
int sg_rule_matches(const struct sg_rule *r, __u8 dir, __u8 proto, __u16 dport, __be32 remote);

#endif
