/* cli/metrics_datapath.c — the datapath's metric families, read from the pinned maps at every scrape. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"
#include "cli/metrics.h"
#include "cli/metrics_datapath.h"

/*
 * The maps are opened by their pinned paths at every scrape and closed
 * after, not kept: a `dp down` then `dp up` pins new maps, and a server
 * holding the old ones would serve a datapath that no longer forwards.
 * Nothing here takes the pin dir's lock: counters need no consistent cut,
 * and a scrape must never wait behind (or hold up) a transaction.
 */

enum { DM_HOST, DM_DROPS, DM_NIC_STATS, DM_NICS, DM_VPCS, DM_FIB, DM_CONNTRACK, DM_NAT, DM_NAT_COUNTS,
       DM_NIC_COUNTERS, DM__COUNT };
static const char *const dm_names[DM__COUNT] = {
	MAP_HOST, MAP_DROPS, MAP_NIC_STATS, MAP_NICS, MAP_VPCS, MAP_FIB, MAP_CONNTRACK, MAP_NAT, MAP_NAT_COUNTS,
	MAP_NIC_COUNTERS,
};

struct dp_maps {
	int fd[DM__COUNT];
};

static void dp_close(struct dp_maps *d)
{
	for (int i = 0; i < DM__COUNT; i++)
		if (d->fd[i] >= 0)
			close(d->fd[i]);
}

static int dp_open(struct dp_maps *d, const char *pin_dir)
{
	char path[PATH_MAX];

	for (int i = 0; i < DM__COUNT; i++)
		d->fd[i] = -1;
	for (int i = 0; i < DM__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, dm_names[i]);
		/* read-only: this process never writes the datapath's maps from here */
		LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = BPF_F_RDONLY);
		if ((d->fd[i] = bpf_obj_get_opts(path, &o)) < 0) {
			dp_close(d);
			return -1;
		}
	}
	return 0;
}

static bool host_up(int host_fd)
{
	struct host h;
	__u32 zero = 0;

	return bpf_map_lookup_elem(host_fd, &zero, &h) == 0 && (h.flags & HOST_F_UP);
}

bool metrics_datapath_up(const char *pin_dir)
{
	char path[PATH_MAX];
	bool up;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, MAP_HOST);
	LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = BPF_F_RDONLY);
	if ((fd = bpf_obj_get_opts(path, &o)) < 0)
		return false;
	up = host_up(fd);
	close(fd);
	return up;
}

/*
 * ---- per-NIC counters: the drops from a per-CPU hash read in batches, the traffic from a per-CPU
 * array by each NIC's slot (maps/vpcbpf.h) ----
 */

/* What a scrape keeps of a NIC's counters: 48 bytes, not the 432 of struct nic_stats (262144 NICs). */
struct nic_row {
	struct nic_key key;
	__u64 tx_packets, tx_bytes, rx_packets, rx_bytes, drops;
};

/* A drop reason that is not 0 for a NIC. */
struct nic_drop_row {
	struct nic_key key;
	__u32 reason;
	__u32 _pad;
	__u64 packets;
};

struct nic_rows {
	struct nic_row *r;
	size_t n, cap;
	struct nic_drop_row *d;
	size_t nd, capd;
};

/* A NIC's drops (its nic_stats entry: struct nic_drops per CPU); its traffic is added by add_traffic. */
static int add_row(struct nic_rows *rows, const struct nic_key *k, const __u64 *percpu, int ncpu)
{
	struct nic_row *row = store_row_push((void **)&rows->r, &rows->n, &rows->cap, sizeof(*row));
	__u64 sum[NIC_DROPS_WORDS] = { 0 };
	struct nic_drops st;

	if (!row)
		return -ENOMEM;
	for (int c = 0; c < ncpu; c++)
		for (size_t i = 0; i < NIC_DROPS_WORDS; i++)
			sum[i] += percpu[c * NIC_DROPS_WORDS + i];
	memcpy(&st, sum, sizeof(st));
	*row = (struct nic_row){ .key = *k, .drops = st.drops };
	for (__u32 r = 1; r < DROP__MAX; r++) {
		struct nic_drop_row *d;
		if (!st.drop_reason[r])
			continue;
		if (!(d = store_row_push((void **)&rows->d, &rows->nd, &rows->capd, sizeof(*d))))
			return -ENOMEM;
		d->key = *k;
		d->reason = r;
		d->packets = st.drop_reason[r];
	}
	return 0;
}

struct nic_walk {
	struct nic_rows *rows;
	int ncpu;
	int counters_fd;
};

static int add_nic(const void *key, const void *percpu, void *ctx)
{
	struct nic_walk *w = ctx;

	return add_row(w->rows, key, percpu, w->ncpu);
}

static int cmp_rows(const void *a, const void *b);

/* A NIC of the nics map: its traffic, from its slot, into its row (a NIC without one is not served). */
static int add_traffic(const void *key, const void *value, void *ctx)
{
	const struct nic *n = value;
	struct nic_walk *w = ctx;
	struct nic_row probe = { .key = *(const struct nic_key *)key }, *row;
	__u64 c[NIC_COUNTERS_WORDS];
	__u32 slot = n->stats_slot;

	row = bsearch(&probe, w->rows->r, w->rows->n, sizeof(*row), cmp_rows);
	if (!row || !slot || store_percpu_sum(w->counters_fd, &slot, c, NIC_COUNTERS_WORDS))
		return 0;
	row->tx_packets = c[0];
	row->tx_bytes = c[1];
	row->rx_packets = c[2];
	row->rx_bytes = c[3];
	return 0;
}

/* rows->r must be sorted (bsearch) before the traffic walk: the caller sorts between the two. */
static int nic_rows_read(int fd, struct nic_rows *rows)
{
	/* A per-CPU map returns every CPU's value (each a multiple of 8 bytes here) for each key. */
	struct nic_walk w = { rows, libbpf_num_possible_cpus(), -1 };

	if (w.ncpu <= 0)
		return -EINVAL;
	return store_foreach(fd, sizeof(struct nic_key), (size_t)w.ncpu * sizeof(struct nic_drops), add_nic, &w);
}

static int nic_traffic_read(int nics_fd, int counters_fd, struct nic_rows *rows)
{
	struct nic_walk w = { rows, 0, counters_fd };

	return store_foreach(nics_fd, sizeof(struct nic_key), sizeof(struct nic), add_traffic, &w);
}

static int cmp_keys(const struct nic_key *x, const struct nic_key *y)
{
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return ntohl(x->ip) < ntohl(y->ip) ? -1 : ntohl(x->ip) > ntohl(y->ip);
}

static int cmp_rows(const void *a, const void *b)
{
	return cmp_keys(&((const struct nic_row *)a)->key, &((const struct nic_row *)b)->key);
}

static int cmp_drop_rows(const void *a, const void *b)
{
	const struct nic_drop_row *x = a, *y = b;
	int c = cmp_keys(&x->key, &y->key);
	return c ? c : (x->reason > y->reason) - (x->reason < y->reason);
}

/* Sorted, and each series once: a one-by-one walk restarts when its key is deleted under it, and a
 * series served twice fails the whole scrape. */
static size_t sort_unique(void *rows, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	unsigned char *r = rows;
	size_t m = 0;

	if (!n)
		return 0;
	qsort(r, n, size, cmp);
	for (size_t i = 1; i < n; i++)
		if (cmp(r + m * size, r + i * size))
			memmove(r + ++m * size, r + i * size, size);
	return m + 1;
}

static void nic_labels(const struct nic_key *k, char vpc[12], char ip[16])
{
	snprintf(vpc, 12, "%u", k->vni);
	ip_str(k->ip, ip);
}

static void nic_family(struct metrics_out *o, const struct nic_rows *rows, const char *name, const char *help,
		       size_t field)
{
	char vpc[12], ip[16];

	metrics_family(o, name, METRICS_COUNTER, help);
	for (size_t i = 0; i < rows->n; i++) {
		__u64 v;
		memcpy(&v, (const char *)&rows->r[i] + field, sizeof(v));
		nic_labels(&rows->r[i].key, vpc, ip);
		metrics_u64(o, name, v, "vpc", vpc, "nic", ip, NULL);
	}
}

static void write_nics(struct metrics_out *o, const struct dp_maps *d)
{
	struct nic_rows rows = { 0 };
	char vpc[12], ip[16];

	nic_rows_read(d->fd[DM_NIC_STATS], &rows); /* what could be read is served; a failed read only misses NICs */
	rows.n = sort_unique(rows.r, rows.n, sizeof(*rows.r), cmp_rows);
	nic_traffic_read(d->fd[DM_NICS], d->fd[DM_NIC_COUNTERS], &rows);
	rows.nd = sort_unique(rows.d, rows.nd, sizeof(*rows.d), cmp_drop_rows);
	nic_family(o, &rows, "vpcbpf_nic_tx_packets_total", "Packets the NIC's VM sent into the datapath",
		   offsetof(struct nic_row, tx_packets));
	nic_family(o, &rows, "vpcbpf_nic_tx_bytes_total", "Bytes the NIC's VM sent into the datapath",
		   offsetof(struct nic_row, tx_bytes));
	nic_family(o, &rows, "vpcbpf_nic_rx_packets_total", "Packets the datapath delivered to the NIC's VM",
		   offsetof(struct nic_row, rx_packets));
	nic_family(o, &rows, "vpcbpf_nic_rx_bytes_total", "Bytes the datapath delivered to the NIC's VM",
		   offsetof(struct nic_row, rx_bytes));
	nic_family(o, &rows, "vpcbpf_nic_drops_total", "Packets from or to the NIC that the datapath dropped",
		   offsetof(struct nic_row, drops));
	/*
	 * By reason only where not 0: every reason of every NIC would be 48 series a NIC (12M for a full
	 * table), and a NIC drops for one or two reasons. vpcbpf_drops_total has every reason, also at 0.
	 */
	metrics_family(o, "vpcbpf_nic_drops_by_reason_total", METRICS_COUNTER,
		       "Packets from or to the NIC that the datapath dropped, by reason (the reasons seen so far)");
	for (size_t i = 0; i < rows.nd; i++) {
		nic_labels(&rows.d[i].key, vpc, ip);
		metrics_u64(o, "vpcbpf_nic_drops_by_reason_total", rows.d[i].packets, "vpc", vpc, "nic", ip,
			    "reason", drop_reason_name(rows.d[i].reason), NULL);
	}
	free(rows.r);
	free(rows.d);
}

/* ---- tables: how full they are ---- */

struct nic_count {
	__u64 local, remote;
};

static int count_nic(const void *key, const void *value, void *ctx)
{
	const struct nic *n = value;
	struct nic_count *c = ctx;

	if (n->flags & NIC_F_LOCAL)
		c->local++;
	else
		c->remote++;
	return 0;
}

struct vpc_count {
	__u64 vpcs, routes, lines;
};

static int count_vpc(const void *key, const void *value, void *ctx)
{
	const struct vpc *v = value;
	struct vpc_count *c = ctx;

	c->vpcs++;
	c->routes += v->route_count;
	if (v->fib_base)
		c->lines += v->fib_lines;
	return 0;
}

static int count_entry(const void *key, const void *value, void *ctx)
{
	(*(__u64 *)ctx)++;
	return 0;
}

static int write_nat_count(const void *key, const void *value, void *ctx)
{
	char vpc[12], ip[16];

	nic_labels(key, vpc, ip);
	metrics_u64(ctx, "vpcbpf_nat_mappings", *(const __u64 *)value, "vpc", vpc, "nic", ip, NULL);
	return 0;
}

static __u64 max_entries(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

bool metrics_write_datapath(struct metrics_out *o, const char *pin_dir)
{
	struct nic_count nics = { 0 };
	struct vpc_count vpcs = { 0 };
	struct dp_maps d;
	__u64 ct = 0;
	bool up;

	metrics_family(o, "vpcbpf_datapath_up", METRICS_GAUGE,
		       "1 when the datapath is loaded and up under the pin dir, else 0 (and no other datapath family)");
	if (dp_open(&d, pin_dir)) {
		metrics_u64(o, "vpcbpf_datapath_up", 0, NULL);
		return false;
	}
	up = host_up(d.fd[DM_HOST]);
	metrics_u64(o, "vpcbpf_datapath_up", up, NULL);

	/* every reason, also at 0: rate() and alerts need the series before the first drop */
	metrics_family(o, "vpcbpf_drops_total", METRICS_COUNTER, "Packets the datapath dropped, by reason");
	for (__u32 r = 1; r < DROP__MAX; r++) {
		__u64 n;
		if (store_percpu_sum(d.fd[DM_DROPS], &r, &n, 1))
			n = 0;
		metrics_u64(o, "vpcbpf_drops_total", n, "reason", drop_reason_name(r), NULL);
	}

	write_nics(o, &d);

	store_foreach(d.fd[DM_NICS], sizeof(struct nic_key), sizeof(struct nic), count_nic, &nics);
	metrics_family(o, "vpcbpf_nics", METRICS_GAUGE,
		       "NICs this host knows: local (on one of its interfaces) or remote (on another host)");
	metrics_u64(o, "vpcbpf_nics", nics.local, "location", "local", NULL);
	metrics_u64(o, "vpcbpf_nics", nics.remote, "location", "remote", NULL);

	store_foreach(d.fd[DM_VPCS], sizeof(__u32), sizeof(struct vpc), count_vpc, &vpcs);
	metrics_family(o, "vpcbpf_vpcs", METRICS_GAUGE, "VPCs configured on this host");
	metrics_u64(o, "vpcbpf_vpcs", vpcs.vpcs, NULL);
	metrics_family(o, "vpcbpf_routes", METRICS_GAUGE, "Routes configured on this host, all VPCs, subnets included");
	metrics_u64(o, "vpcbpf_routes", vpcs.routes, NULL);
	metrics_family(o, "vpcbpf_route_index_lines_used", METRICS_GAUGE,
		       "64-byte lines of the route index (fib arena) held by the live VPC tables");
	metrics_u64(o, "vpcbpf_route_index_lines_used", vpcs.lines, NULL);
	metrics_family(o, "vpcbpf_route_index_lines_capacity", METRICS_GAUGE,
		       "Lines in the route index (fib arena): what all VPC tables together may hold");
	metrics_u64(o, "vpcbpf_route_index_lines_capacity", max_entries(d.fd[DM_FIB]), NULL);

	store_foreach(d.fd[DM_CONNTRACK], sizeof(struct ct_key), sizeof(struct ct_entry), count_entry, &ct);
	metrics_family(o, "vpcbpf_conntrack_entries", METRICS_GAUGE,
		       "Entries in the conntrack table (idle ones not yet reused included)");
	metrics_u64(o, "vpcbpf_conntrack_entries", ct, NULL);
	metrics_family(o, "vpcbpf_conntrack_capacity", METRICS_GAUGE,
		       "Entries the conntrack table holds at most; a new flow beyond is dropped as conntrack-full");
	metrics_u64(o, "vpcbpf_conntrack_capacity", max_entries(d.fd[DM_CONNTRACK]), NULL);

	/* NAT mappings per NIC that has any (sum() for the host's); the nat map holds two entries each */
	metrics_family(o, "vpcbpf_nat_mappings", METRICS_GAUGE,
		       "NAT mappings a NIC holds (what its quota counts; dead ones not yet swept included)");
	store_foreach(d.fd[DM_NAT_COUNTS], sizeof(struct nic_key), sizeof(__u64), write_nat_count, o);
	metrics_family(o, "vpcbpf_nat_mappings_capacity", METRICS_GAUGE,
		       "NAT mappings the host holds at most; a new flow beyond is dropped as nat-full");
	metrics_u64(o, "vpcbpf_nat_mappings_capacity", max_entries(d.fd[DM_NAT]) / 2, NULL);

	dp_close(&d);
	return up;
}
