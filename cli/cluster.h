/* cli/cluster.h — cluster mode: the desired state in etcd (key layout, reading, guarded writes) for writers, the agent and CNI. */
#ifndef VPCBPF_CLI_CLUSTER_H
#define VPCBPF_CLI_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include "cli/etcd.h"
#include "maps/txn.h"

/*
 * Keys (under the prefix, default /vpcbpf/v1/, VPCBPF_ETCD_PREFIX moves it),
 * values in the JSON schema of save/apply (docs/schema.md), see docs/cluster.md:
 *   vpcs/VNI  subnets/VNI/CIDR  nics/VNI/IP  sgs/NAME          one object each
 *   routes/VNI/manifest          {"vpc": VNI, "routes": N, "chunks": [HASH...]}
 *   routes/VNI/chunk/HASH        a JSON array of routes, immutable, named by its content
 *   guard                        bumped by every write: the revision writers compare
 *   hosts/NAME                   {"underlay": IP, "dev": DEV} under the agent's lease
 *   status/NAME                  {"revision": R, ...} what that host has applied
 */
#define CLUSTER_PREFIX_DEFAULT "/vpcbpf/v1/"
#define CLUSTER_MAX_TXN_OPS 128             /* etcd's --max-txn-ops default */
#define CLUSTER_MAX_REQUEST (1536 * 1024)   /* etcd's --max-request-bytes default */

extern const char *cluster_url;  /* --etcd URL or VPCBPF_ETCD: cluster mode */
extern char cluster_prefix[128];

/* ---- for the CNI plugin ---- */
/* One edit (OBJECT VERB ARGS..., as on the command line) committed to etcd; *revision: the commit's. 0, or 1 after printing. */
int cluster_edit_words(const char *etcd_url, int argc, char **argv, int64_t *revision);
/* 0 when status/HOST's applied revision >= revision, -ETIMEDOUT after timeout_ms, another -errno on error. */
int cluster_wait_applied(const char *etcd_url, const char *host, int64_t revision, int timeout_ms);

/* ---- for cli/main.c ---- */
/* A command line (or opts.batch) in cluster mode: edits go to etcd, show/save read it. */
int cluster_run(int argc, char **argv);
/* Whether the command line goes to etcd in cluster mode (dp, stats, agent... stay local). */
bool cluster_command(int argc, char **argv);
/* Opens cluster_url with the TLS options; prints the error. */
int cluster_open(struct etcd *e, const char *url);

/* ---- for the agent ---- */
enum cluster_key {
	CK_OTHER, CK_VPC, CK_SG, CK_SUBNET, CK_NIC, CK_ROUTES, CK_CHUNK, CK_HOST, CK_STATUS, CK_GUARD,
	CK_EIP,
};
/* What a key (with the prefix) is; *name: what follows "hosts/" or "status/". */
enum cluster_key cluster_key_kind(const char *key, const char **name);

/* How the objects become a state: the cluster's own (writers), or one host's (the agent). */
struct cluster_view {
	const char *host; /* NULL: NICs keep host and dev */
	/* A host's underlay address when it is registered (hosts/NAME under a live lease); 0 else. */
	__be32 (*underlay)(void *arg, const char *host);
	/* The host's live state: a NIC whose host is gone keeps the address it has there. */
	const struct txn_state *live;
	void *arg;
	/* out */
	unsigned int bad;     /* values refused (printed with their key) */
	unsigned int waiting; /* NICs whose host has not registered yet */
};
/* The state that kv[0..n) (sorted by key, as a range returns them) describes; values that fail are skipped. */
int cluster_build(const struct etcd_kv *kv, size_t n, struct cluster_view *v, struct txn_state *st);
/* The kv of key in kv[0..n) (sorted), or NULL. */
const struct etcd_kv *cluster_find(const struct etcd_kv *kv, size_t n, const char *key);

#endif
