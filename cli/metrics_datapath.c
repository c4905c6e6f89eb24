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

/*
 * The maps are opened by their pinned paths at every scrape and closed
 * after, not kept: a `dp down` then `dp up` pins new maps, and a server
 * holding the old ones would serve a datapath that no longer forwards.
 * Nothing here takes the pin dir's lock: counters need no consistent cut,
 * and a scrape must never wait behind (or hold up) a transaction.
 */

enum { DM_HOST, DM_DROPS, DM_NIC_STATS, DM_NICS, DM_VPCS, DM_FIB, DM_CONNTRACK, DM__COUNT };
static const char *const dm_names[DM__COUNT] = {
	MAP_HOST, MAP_DROPS, MAP_NIC_STATS, MAP_NICS, MAP_VPCS, MAP_FIB, MAP_CONNTRACK,
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

/* ---- per-NIC counters: a per-CPU hash, read in batches ---- */

struct nic_row {
	struct nic_key key;
	struct nic_stats st;
};

struct nic_rows {
	struct nic_row *r;
	size_t n, cap;
};

#define NIC_COUNTERS (sizeof(struct nic_stats) / sizeof(__u64))
#define NIC_BATCH 256

static int add_row(struct nic_rows *rows, const struct nic_key *k, const __u64 *percpu, int ncpu)
{
	struct nic_row *row = store_row_push((void **)&rows->r, &rows->n, &rows->cap, sizeof(*row));
	__u64 sum[NIC_COUNTERS] = { 0 };

	if (!row)
		return -ENOMEM;
	row->key = *k;
	for (int c = 0; c < ncpu; c++)
		for (size_t i = 0; i < NIC_COUNTERS; i++)
			sum[i] += percpu[c * NIC_COUNTERS + i];
	memcpy(&row->st, sum, sizeof(row->st));
	return 0;
}

/* One key at a time: kernels without batch lookups, or a bucket bigger than a batch. */
static int nic_rows_one_by_one(int fd, struct nic_rows *rows, __u64 *vals, int ncpu)
{
	struct nic_key key, next, *prev = NULL;
	int err;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue; /* deleted meanwhile */
		if ((err = add_row(rows, &key, vals, ncpu)))
			return err;
	}
	return 0;
}

static int nic_rows_read(int fd, struct nic_rows *rows)
{
	/* A per-CPU map returns every CPU's value, each rounded up to 8 bytes, for each key. */
	int ncpu = libbpf_num_possible_cpus();
	struct nic_key *keys = NULL;
	__u64 *vals = NULL, in = 0, out = 0;
	bool first = true;
	int err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	keys = calloc(NIC_BATCH, sizeof(*keys));
	vals = calloc((size_t)NIC_BATCH * ncpu, sizeof(struct nic_stats));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		__u32 count = NIC_BATCH;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &o);
		int e = r ? -errno : 0;
		if (r && e != -ENOENT) {
			rows->n = 0; /* start over, one key at a time */
			err = nic_rows_one_by_one(fd, rows, vals, ncpu);
			break;
		}
		for (__u32 i = 0; i < count && !err; i++)
			err = add_row(rows, &keys[i], vals + (size_t)i * ncpu * NIC_COUNTERS, ncpu);
		if (err || e == -ENOENT)
			break;
		in = out;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct nic_key *x = &((const struct nic_row *)a)->key, *y = &((const struct nic_row *)b)->key;
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return ntohl(x->ip) < ntohl(y->ip) ? -1 : ntohl(x->ip) > ntohl(y->ip);
}

static void nic_family(struct metrics_out *o, const struct nic_rows *rows, const char *name, const char *help,
		       size_t field)
{
	char vpc[12], ip[16];

	metrics_family(o, name, METRICS_COUNTER, help);
	for (size_t i = 0; i < rows->n; i++) {
		__u64 v;
		memcpy(&v, (const char *)&rows->r[i].st + field, sizeof(v));
		snprintf(vpc, sizeof(vpc), "%u", rows->r[i].key.vni);
		metrics_u64(o, name, v, "vpc", vpc, "nic", ip_str(rows->r[i].key.ip, ip), NULL);
	}
}

static void write_nics(struct metrics_out *o, int fd)
{
	struct nic_rows rows = { 0 };
	size_t n = 0;

	nic_rows_read(fd, &rows); /* what could be read is served; a partial read only misses NICs */
	qsort(rows.r, rows.n, sizeof(*rows.r), cmp_rows);
	/* a one-by-one walk restarts when its key is deleted under it: a series twice would fail the scrape */
	for (size_t i = 0; i < rows.n; i++)
		if (!n || cmp_rows(&rows.r[n - 1], &rows.r[i]))
			rows.r[n++] = rows.r[i];
	rows.n = n;
	nic_family(o, &rows, "vpcbpf_nic_tx_packets_total", "Packets the NIC's VM sent into the datapath",
		   offsetof(struct nic_stats, tx_packets));
	nic_family(o, &rows, "vpcbpf_nic_tx_bytes_total", "Bytes the NIC's VM sent into the datapath",
		   offsetof(struct nic_stats, tx_bytes));
	nic_family(o, &rows, "vpcbpf_nic_rx_packets_total", "Packets the datapath delivered to the NIC's VM",
		   offsetof(struct nic_stats, rx_packets));
	nic_family(o, &rows, "vpcbpf_nic_rx_bytes_total", "Bytes the datapath delivered to the NIC's VM",
		   offsetof(struct nic_stats, rx_bytes));
	nic_family(o, &rows, "vpcbpf_nic_drops_total", "Packets from or to the NIC that the datapath dropped",
		   offsetof(struct nic_stats, drops));
	free(rows.r);
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

	write_nics(o, d.fd[DM_NIC_STATS]);

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

	dp_close(&d);
	return up;
}
