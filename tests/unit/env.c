/* tests/unit/env.c — sets up and tears down the unit tests' private netns, bpffs and datapath. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nic.skel.h"
#include "env.h"

struct env env;

#define ROUTER_MAC { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 }

static char verifier_log[1 << 20];

static int run(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fprintf(stderr, "env: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static unsigned int parse_processed(const char *log)
{
	const char *s = strstr(log, "processed ");

	return s ? (unsigned int)strtoul(s + strlen("processed "), NULL, 10) : 0;
}

static int load(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = env.pin_dir);
	int err;

	env.skel = nic_bpf__open_opts(&opts);
	if (!env.skel) {
		fprintf(stderr, "env: failed to open nic.bpf.o: %s\n", strerror(errno));
		return -1;
	}
	/* log level 4: statistics only, enough for the processed-instruction count */
	bpf_program__set_log_buf(env.skel->progs.nic_ingress, verifier_log, sizeof(verifier_log));
	bpf_program__set_log_level(env.skel->progs.nic_ingress, 4);
	err = nic_bpf__load(env.skel);
	if (err) {
		fprintf(stderr, "env: failed to load nic.bpf.o: %s\n%s\n", strerror(-err), verifier_log);
		return -1;
	}
	env.verified_insns = parse_processed(verifier_log);
	env.prog_fd = bpf_program__fd(env.skel->progs.nic_ingress);
	{
		/* the internet path, as dp up installs it */
		__u32 idx = NIC_TAIL_INTERNET;
		int fd = bpf_program__fd(env.skel->progs.nic_internet);
		if (bpf_map_update_elem(bpf_map__fd(env.skel->maps.nic_tails), &idx, &fd, BPF_ANY)) {
			fprintf(stderr, "env: cannot install nic_internet: %s\n", strerror(errno));
			return -1;
		}
	}
	env.host_fd = bpf_map__fd(env.skel->maps.host);
	env.vpcs_fd = bpf_map__fd(env.skel->maps.vpcs);
	env.subnets_fd = bpf_map__fd(env.skel->maps.subnets);
	env.nics_fd = bpf_map__fd(env.skel->maps.nics);
	env.ifindex_nics_fd = bpf_map__fd(env.skel->maps.ifindex_nics);
	env.fib_fd = bpf_map__fd(env.skel->maps.fib);
	env.rm = (struct route_maps){ .vpcs_fd = env.vpcs_fd, .fib_fd = env.fib_fd };
	env.drops_fd = bpf_map__fd(env.skel->maps.drops);
	env.nic_stats_fd = bpf_map__fd(env.skel->maps.nic_stats);
	env.nic_counters_fd = bpf_map__fd(env.skel->maps.nic_counters);
	env.events_fd = bpf_map__fd(env.skel->maps.events);
	return 0;
}

int env_setup(void)
{
	char cmd[128];

	if (unshare(CLONE_NEWNET | CLONE_NEWNS)) {
		perror("env: unshare(CLONE_NEWNET|CLONE_NEWNS)");
		return -1;
	}
	/* our mounts must not propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("env: make / private");
		return -1;
	}
	strcpy(env.pin_dir, "/tmp/vpcbpf-unit.XXXXXX");
	if (!mkdtemp(env.pin_dir)) {
		perror("env: mkdtemp");
		return -1;
	}
	if (mount("bpf", env.pin_dir, "bpf", 0, "mode=0700")) {
		perror("env: mount bpffs");
		rmdir(env.pin_dir);
		env.pin_dir[0] = '\0';
		return -1;
	}
	if (run("ip link set lo up"))
		return -1;
	for (int i = 0; i < ENV_PORTS; i++) {
		char name[IFNAMSIZ];

		snprintf(cmd, sizeof(cmd), "ip link add vm%d type veth peer name vm%dp", i, i);
		if (run(cmd))
			return -1;
		snprintf(name, sizeof(name), "vm%d", i);
		env.port_ifindex[i] = if_nametoindex(name);
		if (!env.port_ifindex[i])
			return -1;
	}
	env.nr_cpus = libbpf_num_possible_cpus();
	if (env.nr_cpus <= 0)
		return -1;
	return load();
}

void env_teardown(void)
{
	if (env.skel) {
		nic_bpf__destroy(env.skel);
		env.skel = NULL;
	}
	if (env.pin_dir[0]) {
		umount2(env.pin_dir, MNT_DETACH);
		rmdir(env.pin_dir);
		env.pin_dir[0] = '\0';
	}
	/* the netns and its veths vanish with the process */
}

/*
 * One walk collecting the keys, then the deletes. Asking for the first key
 * again after each delete rescans the buckets from the start: entries x
 * buckets, minutes for the routes map (4M buckets) after the 15,000-route
 * tests, and beyond vmtest's timeout under TCG.
 */
static void flush_hash(int fd, size_t key_size)
{
	size_t n = 0, cap = 256;
	char *keys = malloc(cap * key_size), *prev = NULL;

	while (keys && bpf_map_get_next_key(fd, prev, keys + n * key_size) == 0) {
		prev = keys + n * key_size;
		if (++n == cap) {
			char *more = realloc(keys, 2 * cap * key_size);

			if (!more)
				break;
			keys = more;
			cap *= 2;
			prev = keys + (n - 1) * key_size;
		}
	}
	for (size_t i = 0; keys && i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
	free(keys);
}

int env_reset(void)
{
	struct host h = { .router_mac = ROUTER_MAC, .underlay_mtu = 1500, .vxlan_port = VXLAN_PORT };
	__u64 zeros[env.nr_cpus];
	__u32 zero = 0;

	flush_hash(env.vpcs_fd, sizeof(__u32));
	flush_hash(env.subnets_fd, sizeof(struct subnet_key));
	flush_hash(env.nics_fd, sizeof(struct nic_key));
	flush_hash(env.ifindex_nics_fd, sizeof(__u32));
	flush_hash(env.nic_stats_fd, sizeof(struct nic_key));
	env.next_slot = 1; /* topo zeroes each slot it gives */
	memset(zeros, 0, sizeof(zeros));
	for (__u32 r = 0; r < DROP__MAX; r++)
		if (bpf_map_update_elem(env.drops_fd, &r, zeros, BPF_ANY))
			return -1;
	return bpf_map_update_elem(env.host_fd, &zero, &h, BPF_ANY);
}

int env_run(int port, const void *in, size_t in_len, void *out, size_t *out_len, int *verdict)
{
	struct __sk_buff ctx = { .ifindex = port >= 0 ? env.port_ifindex[port] : 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in,
		.data_size_in = in_len,
		.data_out = out,
		.data_size_out = *out_len,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = 1,
	);
	int err = bpf_prog_test_run_opts(env.prog_fd, &opts);

	if (err)
		return err;
	*out_len = opts.data_size_out;
	*verdict = opts.retval;
	return 0;
}

uint64_t env_drops(__u32 reason)
{
	__u64 v[env.nr_cpus];
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(env.drops_fd, &reason, v))
		return 0;
	for (int i = 0; i < env.nr_cpus; i++)
		sum += v[i];
	return sum;
}

uint64_t env_drops_total(void)
{
	uint64_t sum = 0;

	for (__u32 r = 0; r < DROP__MAX; r++)
		sum += env_drops(r);
	return sum;
}

/* As a reader sees them: the traffic from the NIC's slot, the drops from its nic_stats entry. */
int env_nic_stats(__u32 vni, const char *ip, struct nic_stats *sum)
{
	struct nic_counters c[env.nr_cpus];
	struct nic_drops v[env.nr_cpus];
	struct nic_key key = { .vni = vni };
	struct nic n;

	memset(sum, 0, sizeof(*sum));
	if (inet_pton(AF_INET, ip, &key.ip) != 1)
		return -1;
	if (bpf_map_lookup_elem(env.nics_fd, &key, &n) ||
	    bpf_map_lookup_elem(env.nic_counters_fd, &n.stats_slot, c) ||
	    bpf_map_lookup_elem(env.nic_stats_fd, &key, v))
		return -1;
	for (int i = 0; i < env.nr_cpus; i++) {
		sum->tx_packets += c[i].tx_packets;
		sum->tx_bytes += c[i].tx_bytes;
		sum->rx_packets += c[i].rx_packets;
		sum->rx_bytes += c[i].rx_bytes;
		sum->drops += v[i].drops;
		for (int r = 0; r < NIC_DROP_REASONS; r++)
			sum->drop_reason[r] += v[i].drop_reason[r];
	}
	return 0;
}
