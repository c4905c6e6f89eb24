/* cni/cni.h — what the files of the vpcbpf CNI plugin (vpcbpf-cni) share: the call, the netconf, errors. */
#ifndef VPCBPF_CNI_H
#define VPCBPF_CNI_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/types.h>
#include "cli/json.h"
#include "maps/vpcbpf.h"

#define CNI_VERSION "1.0.0"
/* The largest network config read from stdin (a runtime's netconf with prevResult is a few KiB). */
#define CNI_NETCONF_MAX (16 << 20)

/* The spec's error codes (CNI 1.0.0, "Error"); 100 and up are this plugin's own (docs/cni.md). */
enum cni_code {
	CNI_ERR_VERSION = 1,     /* incompatible CNI version */
	CNI_ERR_FIELD = 2,       /* unsupported field in network configuration */
	CNI_ERR_CONTAINER = 3,   /* container unknown or does not exist */
	CNI_ERR_ENV = 4,         /* invalid necessary environment variables */
	CNI_ERR_IO = 5,          /* I/O failure */
	CNI_ERR_DECODE = 6,      /* failed to decode content */
	CNI_ERR_CONFIG = 7,      /* invalid network config */
	CNI_ERR_TRY_AGAIN = 11,  /* try again later: the agent has not applied the NIC in time */
	CNI_ERR_DATAPATH = 100,  /* the datapath refused the edit or is not loaded */
	CNI_ERR_EXISTS = 101,    /* ADD: this container already has this interface */
	CNI_ERR_MISMATCH = 102,  /* CHECK: the container, the IPAM or the datapath differ from prevResult */
};

/* The call: CNI_* variables. */
struct cni_call {
	const char *command;      /* ADD, DEL, CHECK, VERSION */
	const char *container_id;
	const char *netns;        /* path of the container's network namespace */
	const char *ifname;       /* the interface inside the container */
	const char *path;         /* where plugins (the IPAM) are found */
	char host_if[IF_NAMESIZE]; /* host side of the veth, derived from container id and ifname */
	__u8 mac[6];               /* the container side's MAC, derived the same way */
};

/* The network configuration (stdin). */
struct netconf {
	yajl_val root;            /* the parsed netconf; the other yajl_vals point into it */
	const char *raw;          /* as read, handed unchanged to the IPAM plugin */
	size_t raw_len;
	const char *cni_version;
	const char *name;
	__u32 vpc;
	char sg[NAME_LEN];        /* empty: no security group */
	int mtu;                  /* 0: underlay MTU - 50 */
	const char *pin_dir;      /* one host */
	const char *etcd;         /* cluster mode: etcd URL ... */
	const char *host;         /* ... and this host's name there */
	int apply_timeout_ms;     /* cluster mode: how long ADD and DEL wait for the agent */
	const char *ipam_type;
	yajl_val ipam;
	yajl_val prev_result;     /* CHECK and DEL */
};

/* One address the IPAM handed out (IPv4 only: the datapath is IPv4). */
struct cni_addr {
	__be32 ip;
	__u8 len;
	__be32 gateway;
};

/* Errors: cni_fail records the first one (code + message) and returns its code; main prints it as CNI error JSON. */
int cni_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The IPAM's own error, passed through unchanged. */
int cni_fail_json(int code, const char *msg, const char *details);
int cni_error_code(void);
/* Forgets the recorded error (one process, many inputs: tests/fuzz/cni_fuzz.c). */
void cni_error_clear(void);
/* The recorded error as the spec's error JSON on stdout (cniVersion version, or ours when NULL). */
void cni_print_error(const char *version);
/* w's document (written into its buffer: jw_init(w, NULL, 0)) and a newline on stdout, all or nothing; frees w. */
int cni_print_json(struct jw *w);
/* s is UTF-8 (what the JSON writer takes): the CNI_* values are checked before they reach a result. */
bool cni_utf8(const char *s);

/* netconf.c */
int netconf_parse(struct netconf *nc, const char *raw, size_t len, const char *command);
/* Every "subnet" of the IPAM's ranges (host-local's format), for checks before the IPAM runs; n at most max. */
int netconf_ipam_subnets(const struct netconf *nc, struct cni_addr *out, int max, int *n);
void cni_names(struct cni_call *c);

/* ipam.c: runs the chained IPAM plugin as the spec says (same CNI_* env, same stdin). */
int ipam_exec(const struct cni_call *c, const struct netconf *nc, const char *command, yajl_val *result);
/* The first IPv4 address of a result (IPAM result or prevResult). */
int result_addr(yajl_val result, struct cni_addr *a);

/* veth.c: the interfaces (libnl). */
int veth_exists(const char *name);
int veth_create(const struct cni_call *c, int mtu, const struct cni_addr *a, __be32 gateway);
int veth_delete(const char *name);
/* CHECK: the container's interface, address and default route as prevResult says (mac: from prevResult). */
int veth_check(const struct cni_call *c, const __u8 mac[6], const struct cni_addr *a, __be32 gateway);
unsigned int host_ifindex(const char *name);

/* datapath.c: the NIC in vpcbpf (one host: the local transaction layer; cluster: etcd + the agent). */
struct dp_subnet {
	__be32 prefix;
	__u8 len;
	__be32 gateway;
};
/* Opens the datapath and loads its state; -ENOENT (no error recorded) when missing_ok and it is not loaded. */
int dp_open(const struct netconf *nc, bool missing_ok);
/* Opens the datapath (or etcd) named by the netconf and checks VPC, group and MTU; fills *mtu when 0. */
int dp_prepare(const struct netconf *nc, int *mtu);
/* The subnet of the VPC holding a (for checks and for the gateway). */
int dp_subnet_of(const struct netconf *nc, __be32 ip, struct dp_subnet *sn);
int dp_nic_add(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a);
/* Removes the NIC of this container (found by ip when known, else by its derived MAC); absent is success. */
int dp_nic_del(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a);
int dp_nic_check(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a);
void dp_close(void);

/* cluster_mode.c: the same in cluster mode (etcd; the agent applies), called by datapath.c. */
int cluster_prepare(const struct netconf *nc, int *mtu);
int cluster_subnet_of(__be32 ip, struct dp_subnet *sn);
int cluster_nic_add(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a);
int cluster_nic_del(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a);
int cluster_nic_check(const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a);
void cluster_close(void);

/* words.c: the NIC as a command's words (cli/cluster.h and the one grammar take words) */
struct nic_words {
	char ip[16], vni[12], mac[18], dev[IF_NAMESIZE], host[256], sg[NAME_LEN];
	char *argv[16];
	int argc;
};
int nic_add_words(struct nic_words *w, const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a);
int nic_del_words(struct nic_words *w, const struct nic_key *k);

/* commands */
int cmd_add(struct cni_call *c, struct netconf *nc);
int cmd_del(struct cni_call *c, struct netconf *nc);
int cmd_check(struct cni_call *c, struct netconf *nc);

#endif
