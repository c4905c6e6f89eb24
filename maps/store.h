/* maps/store.h — the user-space map layer: the pin dir, its lock, and typed access to the pinned maps. */
#ifndef VPCBPF_STORE_H
#define VPCBPF_STORE_H

#include <linux/types.h>
#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include "maps/vpcbpf.h"
#include "maps/route_table.h"

#define DEFAULT_PIN_DIR "/sys/fs/bpf/vpcbpf"
#define PIN_ENV "VPCBPF_PIN_DIR"
#define PROG_PIN_SUBDIR "progs"

enum store_map {
	SM_HOST, SM_VPCS, SM_SUBNETS, SM_NICS, SM_IFINDEX_NICS, SM_FIB,
	SM_DROPS, SM_NIC_STATS, SM_EVENTS,
	SM_SGS, SM_SG_RULES, SM_SG_PORTS, SM_SG_ADDRS, SM_CONNTRACK,
	SM_CT_COUNTS,
	SM_NAT_HOST, SM_NAT, SM_EIPS, SM_NIC_EIPS,
	SM_SUBNET_DHCP, SM_NAT_COUNTS,
	SM_NIC_COUNTERS, /* appended: journal steps name maps by number */
	SM__COUNT
};

struct store {
	char pin_dir[PATH_MAX];
	int fd[SM__COUNT];
	struct route_maps rm; /* the route-table maps among fd[], for maps/route_table.h */
	int lock_fd;
};

extern const char *const store_map_names[SM__COUNT];

/* mkdir -p: 0 or -errno */
int store_mkdir_p(const char *path);
/* Opens every pinned map; -ENOENT when the datapath is not up, -EPERM/-EACCES without privileges (nothing printed). */
int store_open(struct store *s, const char *pin_dir);
void store_close(struct store *s);
/* Exclusive flock on the pin dir, held until store_close / process exit. */
int store_lock(struct store *s);
int store_lock_dir(const char *pin_dir);

int store_host(struct store *s, struct host *h);

int store_vpc(struct store *s, __u32 vni, struct vpc *v);
int store_nic(struct store *s, __u32 vni, __be32 ip, struct nic *n);

/*
 * Iterate a hash map: fn gets each key/value; a non-zero return stops. The one way user space dumps a map.
 * A per-CPU map's value_size is every CPU's value: libbpf_num_possible_cpus() * the value rounded up to 8.
 * -E2BIG for a key longer than STORE_MAX_KEY.
 */
#define STORE_MAX_KEY 64
typedef int (*store_iter_fn)(const void *key, const void *value, void *ctx);
int store_foreach(int fd, size_t key_size, size_t value_size, store_iter_fn fn, void *ctx);

/* Appends a zeroed row of size bytes to the growable array *rows (n used, cap allocated):
 * the new row, or NULL when out of memory (the rows so far stay). */
void *store_row_push(void **rows, size_t *n, size_t *cap, size_t size);

/* Sums a per-CPU value of n __u64 counters into out[n]. */
int store_percpu_sum(int fd, const void *key, __u64 *out, int n);
/* Writes zeros to a per-CPU value of n __u64 on every CPU (flags: BPF_ANY, BPF_EXIST...): 0 or -errno. */
int store_percpu_zero(int fd, const void *key, size_t n, __u64 flags);
/*
 * NIC k's counters (record n: its slot) summed over the CPUs: its traffic from nic_counters, its
 * drops from nic_stats (maps/vpcbpf.h). What is missing reads as zero; 0 or -ENOMEM.
 */
int store_nic_stats(struct store *s, const struct nic_key *k, const struct nic *n, struct nic_stats *out);
/* Zeroes both (stats reset): 0 or -errno; a NIC deleted meanwhile is not an error. */
int store_nic_stats_zero(struct store *s, const struct nic_key *k, const struct nic *n);

const char *drop_reason_name(unsigned int reason);
/* One line saying what the reason means (stats help); NULL for a reason nobody described yet. */
const char *drop_reason_meaning(unsigned int reason);

#endif
