/* tests/bench/route_bench.c — datapath benchmark: route lookup (fib index vs LPM trie) and per-packet cost by table size. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/route_table.h"
#include "maps/sg_table.h"
#include "tests/unit/env.h"
#include "nic.skel.h"
#include "bench/lookup.skel.h"
#include "underlay.skel.h"
#include "route_mix.h"

#define BENCH_ADDRS (1U << 16)
#define HOT_ADDRS 1024U
#define PATH_PACKETS 8192
#define BENCH_NICS 10000
#define SG_RULES 1000
#define SG_ID 77

static struct lookup_bpf *lk;
static struct underlay_bpf *ul;
static int runs = 7;
static FILE *out;
static FILE *out_json(void) { return out; }

static const __u8 src_mac[6] = { 0x02, 0xbe, 0x00, 0x00, 0x00, 0x02 };
static const __u8 router_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };
#define UNDERLAY_PORT 7
#define UNDERLAY_LOCAL "192.168.77.1"
#define UNDERLAY_REMOTE "192.168.77.2"
static __be32 ip_addr(const char *s);

struct lpm_key {
	__u32 prefixlen;
	__u32 vni;
	__be32 addr;
};

static __be32 ip_addr(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double median, min, max;
};

static struct stat3 stat_of(double *v, int n)
{
	struct stat3 s;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

static void json_stat(const char *name, struct stat3 s, int last)
{
	fprintf(out, "\"%s\": {\"median\": %.1f, \"min\": %.1f, \"max\": %.1f}%s", name, s.median, s.min, s.max,
		last ? "" : ", ");
}

/* Kernel memory accounting of a map (fdinfo memlock), in bytes. */
static long long map_memlock(int fd)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* avg ns per run of prog over `repeat` runs, or -1 */
static double test_run(int prog_fd, const void *pkt, size_t len, int port, __u32 repeat, int *verdict)
{
	struct __sk_buff ctx = { .ifindex = port >= 0 ? env.port_ifindex[port] : 0 };
	__u8 scratch[256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = (__u32)len, .data_out = scratch,
		    .data_size_out = sizeof(scratch), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -1;
	if (verdict)
		*verdict = (int)opts.retval;
	return opts.duration;
}

static int add_nic(__u32 vni, const char *addr, const __u8 *mac, int port, const char *remote)
{
	struct nic_key k = { .vni = vni, .ip = ip_addr(addr) };
	struct nic n = { .subnet_len = 24, .subnet = ip_addr("10.0.0.0"), .gateway = ip_addr("10.0.0.1"),
			 .stats_slot = env.next_slot++ }; /* nic_counters: zero since the map was created */
	struct nic_drops zeros[env.nr_cpus];

	memcpy(n.mac, mac, 6);
	if (remote) {
		n.flags = NIC_F_REMOTE | NIC_F_SOURCE_CHECK;
		n.remote = ip_addr(remote);
	} else {
		n.flags = NIC_F_LOCAL | NIC_F_SOURCE_CHECK;
		n.ifindex = (__u32)env.port_ifindex[port];
	}
	memset(zeros, 0, sizeof(zeros));
	/* a per-CPU element comes from the kernel's BPF allocator, refilled asynchronously (irq_work):
	   a fast insert loop can find its cache empty (ENOMEM) and succeed a moment later */
	for (int tries = 0; bpf_map_update_elem(env.nic_stats_fd, &k, zeros, BPF_ANY); tries++) {
		if (errno != ENOMEM || tries == 100)
			return -1;
		usleep(1000);
	}
	if (bpf_map_update_elem(env.nics_fd, &k, &n, BPF_ANY))
		return -1;
	if (port == 0 && !remote)
		return bpf_map_update_elem(env.ifindex_nics_fd, &n.ifindex, &k, BPF_ANY);
	return 0;
}

static void ipv4_csum(__u8 *iph)
{
	__u32 sum = 0;

	iph[10] = iph[11] = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (__u32)(iph[i] << 8 | iph[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	iph[10] = (__u8)(~sum >> 8);
	iph[11] = (__u8)~sum;
}

/* A 64-byte UDP frame from the bench VM (10.0.0.2) to dst. */
static size_t make_frame(__u8 *f, __be32 dst)
{
	__u8 *iph = f + 14;

	memset(f, 0, 64);
	memcpy(f, router_mac, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = 0x08;
	iph[0] = 0x45;
	iph[3] = 50; /* total length: 20 + 8 + 22 */
	iph[8] = 64;
	iph[9] = 17;
	memcpy(iph + 12, (__be32[]){ ip_addr("10.0.0.2") }, 4);
	memcpy(iph + 16, &dst, 4);
	ipv4_csum(iph);
	f[34] = 0x30, f[35] = 0x39, f[36] = 0x30, f[37] = 0x39; /* ports 12345 */
	f[39] = 30;
	return 64;
}

/* VXLAN from the remote host (its NIC 10.0.0.4) to dst in VNI vni: outer 50 bytes + a 64-byte inner frame. */
#define VXLAN_FRAME_LEN (50 + 64)
static size_t make_vxlan_frame(__u8 *f, __u32 vni, __be32 dst)
{
	__u8 *ip = f + 14, *udp = f + 34, *vx = f + 42, *inner = f + 50;

	memset(f, 0, VXLAN_FRAME_LEN);
	memcpy(f, (__u8[]){ 0x02, 0x77, 0, 0, 0, 1 }, 6);
	memcpy(f + 6, (__u8[]){ 0x02, 0x77, 0, 0, 0, 2 }, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = 0;
	ip[3] = 20 + 8 + 8 + 64 - 14 + 14; /* outer total length: IP + UDP + VXLAN + inner frame */
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (__be32[]){ ip_addr(UNDERLAY_REMOTE) }, 4);
	memcpy(ip + 16, (__be32[]){ ip_addr(UNDERLAY_LOCAL) }, 4);
	ipv4_csum(ip);
	udp[0] = 0xc0, udp[1] = (__u8)(dst >> 24); /* a flow-hash-like source port */
	udp[2] = VXLAN_PORT >> 8, udp[3] = VXLAN_PORT & 0xff;
	udp[5] = 8 + 8 + 64;
	vx[0] = 0x08;
	vx[4] = (__u8)(vni >> 16), vx[5] = (__u8)(vni >> 8), vx[6] = (__u8)vni;
	make_frame(inner, dst);
	memcpy(inner, router_mac, 6);
	memcpy(inner + 6, (__u8[]){ 0x02, 0xbe, 0, 0, 0, 4 }, 6);
	memcpy(inner + 14 + 12, (__be32[]){ ip_addr("10.0.0.4") }, 4);
	ipv4_csum(inner + 14);
	return VXLAN_FRAME_LEN;
}

static int setup_underlay(void)
{
	struct host h;
	__u32 zero = 0;
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "ip link set vm%dp up && ip link set vm%d up && ip addr add %s/24 dev vm%d && "
		 "ip neigh replace %s lladdr 02:77:00:00:00:02 dev vm%d nud permanent && "
		 "sysctl -qw net.ipv4.conf.vm%d.forwarding=1",
		 UNDERLAY_PORT, UNDERLAY_PORT, UNDERLAY_LOCAL, UNDERLAY_PORT, UNDERLAY_REMOTE, UNDERLAY_PORT,
		 UNDERLAY_PORT);
	if (system(cmd))
		return -1;
	if (bpf_map_lookup_elem(env.host_fd, &zero, &h))
		return -1;
	h.underlay_ifindex = (__u32)env.port_ifindex[UNDERLAY_PORT];
	h.underlay_ip = ip_addr(UNDERLAY_LOCAL);
	h.flags |= HOST_F_UP;
	return bpf_map_update_elem(env.host_fd, &zero, &h, BPF_ANY);
}

/*
 * The harness floor: what one BPF_PROG_TEST_RUN with repeat=1 costs around a
 * program that does nothing (the kernel's clock reads, bh disable/enable, the
 * dispatch; not the skb's allocation, which is outside the timed part). An
 * empty tc program, and an empty XDP one for the decapsulation's XDP half.
 */
static int floor_prog(enum bpf_prog_type type)
{
	static int fd_tc = -1, fd_xdp = -1;
	int *fd = type == BPF_PROG_TYPE_XDP ? &fd_xdp : &fd_tc;
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = type == BPF_PROG_TYPE_XDP ? 2 /* XDP_PASS */ : 7 /* TC_ACT_REDIRECT */ },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	if (*fd < 0)
		*fd = bpf_prog_load(type, type == BPF_PROG_TYPE_XDP ? "floor_xdp" : "floor_tc", "GPL", insns, 2, NULL);
	return *fd;
}

/* "path_x_ns" -> "path_x_<what>_ns" */
static const char *stat_name(const char *name, const char *what)
{
	static char buf[96];
	size_t n = strlen(name);

	if (n > 3 && !strcmp(name + n - 3, "_ns"))
		n -= 3;
	snprintf(buf, sizeof(buf), "%.*s_%s_ns", (int)n, name, what);
	return buf;
}

/*
 * Raw cost per run (v), the empty programs' floor on the same frames (f),
 * and the difference (the datapath's own cost), each as median, min, max.
 */
static void json_path(const char *name, double *v, double *f, int n)
{
	double net[n];

	for (int r = 0; r < n; r++)
		net[r] = v[r] - f[r];
	struct stat3 s = stat_of(v, n), sf = stat_of(f, n), sn = stat_of(net, n);
	fprintf(stderr, "  %-22s %8.1f ns/packet (min %.1f max %.1f); harness %.1f, net %.1f (min %.1f max %.1f)\n",
		name, s.median, s.min, s.max, sf.median, sn.median, sn.min, sn.max);
	json_stat(name, s, 0);
	json_stat(stat_name(name, "harness"), sf, 0);
	json_stat(stat_name(name, "net"), sn, 0);
}

/*
 * Per-packet cost of nic_ingress over distinct frames, one frame per
 * BPF_PROG_TEST_RUN; each frame also goes once through the empty tc
 * program, so the floor is measured beside the path, not at another time.
 */
static int bench_path(const char *name, const __be32 *dsts, size_t n)
{
	double v[runs], f[runs];
	static __u8 frame[64];
	int verdict = -1, floor_fd = floor_prog(BPF_PROG_TYPE_SCHED_CLS);

	if (!n) {
		fprintf(out, "\"%s\": null, ", name);
		return 0;
	}
	make_frame(frame, dsts[0]);
	test_run(env.prog_fd, frame, 64, 0, 1, &verdict);
	if (verdict != 7 /* TC_ACT_REDIRECT */ || floor_fd < 0) {
		fprintf(stderr, "  %s: not available (verdict %d, floor %d)\n", name, verdict, floor_fd);
		fprintf(out, "\"%s\": null, ", name);
		return 0;
	}
	for (int r = 0; r < runs; r++) {
		double sum = 0, sum_floor = 0;

		for (size_t i = 0; i < n; i++) {
			make_frame(frame, dsts[i]);
			double d0 = test_run(floor_fd, frame, 64, 0, 1, NULL);
			double d = test_run(env.prog_fd, frame, 64, 0, 1, &verdict);
			if (d < 0 || d0 < 0 || verdict != 7) {
				fprintf(stderr, "%s: packet %zu verdict %d\n", name, i, verdict);
				return -1;
			}
			sum += d;
			sum_floor += d0;
		}
		v[r] = sum / (double)n;
		f[r] = sum_floor / (double)n;
	}
	json_path(name, v, f, runs);
	return 0;
}

/*
 * Underlay -> NIC: the XDP check, then the tc decapsulation and delivery, one
 * frame each (a sum per packet); the floor is an empty XDP plus an empty tc
 * program on the same frame.
 */
static int bench_decap(const char *name, __u32 vni, const __be32 *dsts, size_t n)
{
	double v[runs], fl[runs];
	static __u8 frame[VXLAN_FRAME_LEN], out[256];
	int xdp_fd = bpf_program__fd(ul->progs.underlay_xdp), tc_fd = bpf_program__fd(ul->progs.underlay_ingress);
	int floor_xdp = floor_prog(BPF_PROG_TYPE_XDP), floor_tc = floor_prog(BPF_PROG_TYPE_SCHED_CLS);
	__u32 ifindex = (__u32)env.port_ifindex[UNDERLAY_PORT];

	if (floor_xdp < 0 || floor_tc < 0) {
		fprintf(stderr, "  %s: not available (no empty programs)\n", name);
		fprintf(out_json(), "\"%s\": null, ", name);
		return 0;
	}
	for (int r = 0; r < runs; r++) {
		double sum = 0, sum_floor = 0;

		for (size_t i = 0; i < n; i++) {
			struct xdp_md xctx = { .ingress_ifindex = ifindex, .data_end = VXLAN_FRAME_LEN };
			struct __sk_buff sctx = { .ifindex = ifindex };
			LIBBPF_OPTS(bpf_test_run_opts, xo, .data_in = frame, .data_size_in = VXLAN_FRAME_LEN, .data_out = out,
				    .data_size_out = sizeof(out), .ctx_in = &xctx, .ctx_size_in = sizeof(xctx), .repeat = 1);
			LIBBPF_OPTS(bpf_test_run_opts, to, .data_in = frame, .data_size_in = VXLAN_FRAME_LEN, .data_out = out,
				    .data_size_out = sizeof(out), .ctx_in = &sctx, .ctx_size_in = sizeof(sctx), .repeat = 1);
			LIBBPF_OPTS(bpf_test_run_opts, fxo, .data_in = frame, .data_size_in = VXLAN_FRAME_LEN, .data_out = out,
				    .data_size_out = sizeof(out), .ctx_in = &xctx, .ctx_size_in = sizeof(xctx), .repeat = 1);
			LIBBPF_OPTS(bpf_test_run_opts, fto, .data_in = frame, .data_size_in = VXLAN_FRAME_LEN, .data_out = out,
				    .data_size_out = sizeof(out), .ctx_in = &sctx, .ctx_size_in = sizeof(sctx), .repeat = 1);

			make_vxlan_frame(frame, vni, dsts[i]);
			if (bpf_prog_test_run_opts(floor_xdp, &fxo) || bpf_prog_test_run_opts(floor_tc, &fto)) {
				fprintf(stderr, "%s: packet %zu: the empty programs fail\n", name, i);
				return -1;
			}
			if (bpf_prog_test_run_opts(xdp_fd, &xo) || xo.retval != 2 /* XDP_PASS */ ||
			    bpf_prog_test_run_opts(tc_fd, &to) || to.retval != 7 /* TC_ACT_REDIRECT */) {
				if (r == 0 && i == 0) {
					fprintf(stderr, "  %s: not available (xdp %u, tc %u)\n", name, xo.retval, to.retval);
					fprintf(out_json(), "\"%s\": null, ", name);
					return 0;
				}
				fprintf(stderr, "%s: packet %zu: xdp %u tc %u\n", name, i, xo.retval, to.retval);
				return -1;
			}
			sum += xo.duration + to.duration;
			sum_floor += fxo.duration + fto.duration;
		}
		v[r] = sum / (double)n;
		fl[r] = sum_floor / (double)n;
	}
	json_path(name, v, fl, runs);
	return 0;
}

/*
 * A 1,000-rule security group for the sending NIC: mixed TCP/UDP/ICMP rules
 * over many /24s that never match the benchmark's UDP 12345, then, last in
 * priority, the egress rule that allows it. Every distinct destination is a
 * new flow on the first run (classified by the tries) and tracked after.
 */
static int make_sg(void)
{
	struct sg_maps m = { bpf_map__fd(env.skel->maps.sgs), bpf_map__fd(env.skel->maps.sg_rules),
			     bpf_map__fd(env.skel->maps.sg_ports), bpf_map__fd(env.skel->maps.sg_addrs) };
	struct sg_rule_entry *r = calloc(SG_RULES, sizeof(*r));
	struct sg g = { 0 };
	__u32 id = SG_ID;
	int err;

	if (!r)
		return -1;
	for (int i = 0; i < SG_RULES - 1; i++) {
		struct sg_rule *x = &r[i].r;
		r[i].priority = (__u32)(i + 1) * 10;
		x->dir = i % 2 ? SG_EGRESS : SG_INGRESS;
		x->proto = i % 3 == 0 ? IPPROTO_UDP : i % 17 == 0 ? IPPROTO_ICMP : IPPROTO_TCP;
		x->action = i % 5 == 4 ? SG_DENY : SG_ALLOW;
		x->cidr_len = i % 4 == 0 ? 0 : 24;
		x->cidr = x->cidr_len ? htonl(0x0a000000U | (__u32)(i % 250) << 8 | (__u32)(i / 250 + 2) << 16) : 0;
		x->port_lo = (__u16)(1000 + i * 7 % 6000);
		x->port_hi = (__u16)(x->port_lo + (i % 4 == 0 ? 20 : 0));
		if (x->proto == IPPROTO_ICMP)
			x->port_lo = 0, x->port_hi = 65535;
	}
	r[SG_RULES - 1] = (struct sg_rule_entry){ .priority = SG_RULES * 10,
		.r = { .dir = SG_EGRESS, .proto = IPPROTO_UDP, .action = SG_ALLOW, .port_lo = 0, .port_hi = 65535 } };
	snprintf(g.name, sizeof(g.name), "bench");
	if (bpf_map_update_elem(m.sgs_fd, &id, &g, BPF_ANY))
		return -1;
	err = sg_table_commit(&m, id, r, SG_RULES);
	free(r);
	return err;
}

/* The sending NIC joins (or leaves, 0) the group. */
static int src_sg(__u32 vni, __u32 sg_id)
{
	struct nic_key k = { .vni = vni, .ip = ip_addr("10.0.0.2") };
	struct nic n;

	if (bpf_map_lookup_elem(env.nics_fd, &k, &n))
		return -1;
	n.sg_id = sg_id;
	return bpf_map_update_elem(env.nics_fd, &k, &n, BPF_EXIST);
}

static struct stat3 bench_lookup(const char *name, struct bpf_program *prog)
{
	double v[runs];
	static __u8 dummy[64];

	for (int r = 0; r < runs; r++) {
		lk->bss->cursor = 0;
		v[r] = test_run(bpf_program__fd(prog), dummy, sizeof(dummy), -1, BENCH_ADDRS, NULL);
	}
	struct stat3 s = stat_of(v, runs);
	fprintf(stderr, "  %-22s %8.1f ns/run (min %.1f max %.1f)\n", name, s.median, s.min, s.max);
	return s;
}

static int lookup_once(struct bpf_program *prog, __u32 i)
{
	static __u8 dummy[64];
	int verdict = -1;

	lk->bss->cursor = i;
	test_run(bpf_program__fd(prog), dummy, sizeof(dummy), -1, 1, &verdict);
	return verdict;
}

static int bench_size(size_t size, __u32 vni, uint64_t *rng)
{
	struct mix_route *routes = calloc(size, sizeof(*routes));
	__be32 *addrs = calloc(BENCH_ADDRS, sizeof(*addrs));
	__be32 *local = calloc(PATH_PACKETS, sizeof(*local)), *remote = calloc(PATH_PACKETS, sizeof(*remote));
	struct vpc v = { 0 };
	size_t n, nlocal = 0, nremote = 0;
	int lpm_fd = bpf_map__fd(lk->maps.bench_lpm);
	long long mem_lpm0 = map_memlock(lpm_fd);
	double t0, t_levels, t_lpm;

	if (!routes || !addrs || !local || !remote)
		return -1;
	n = mix_generate(routes, size, rng);
	snprintf(v.name, sizeof(v.name), "bench%zu", size);
	if (bpf_map_update_elem(env.vpcs_fd, &vni, &v, BPF_NOEXIST))
		return -1;
	if (add_nic(vni, "10.0.0.2", src_mac, 0, NULL) ||
	    add_nic(vni, "10.0.0.3", (__u8[]){ 0x02, 0xbe, 0, 0, 0, 3 }, 1, NULL) ||
	    add_nic(vni, "10.0.0.4", (__u8[]){ 0x02, 0xbe, 0, 0, 0, 4 }, -1, UNDERLAY_REMOTE))
		return -1;

	/* the table is built aside in the local vpc record and published once, as a batch would */
	struct route *rts = calloc(n, sizeof(*rts));
	if (!rts)
		return -1;
	for (size_t i = 0; i < n; i++)
		rts[i] = (struct route){ .kind = ROUTE_VIA, .len = routes[i].len, .prefix = routes[i].prefix,
					 .via = ip_addr(i % 2 ? "10.0.0.4" : "10.0.0.3") };
	t0 = now();
	int err = route_table_build(&env.rm, &v, rts, n);
	free(rts);
	if (err) {
		fprintf(stderr, "route table build (%zu routes): %s\n", n, strerror(-err));
		return -1;
	}
	if (bpf_map_update_elem(env.vpcs_fd, &vni, &v, BPF_EXIST))
		return -1;
	t_levels = now() - t0;
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		struct lpm_key k = { .prefixlen = 32 + routes[i].len, .vni = vni, .addr = routes[i].prefix };
		struct route r = { .kind = ROUTE_VIA, .len = routes[i].len, .prefix = routes[i].prefix };
		if (bpf_map_update_elem(lpm_fd, &k, &r, BPF_ANY)) {
			fprintf(stderr, "lpm insert %zu: %s\n", i, strerror(errno));
			return -1;
		}
	}
	t_lpm = now() - t0;

	/* destinations: a random route, a random address inside it; never a NIC or the gateway */
	for (size_t i = 0; i < BENCH_ADDRS; i++) {
		__be32 a;
		do
			a = mix_address_in(&routes[mix_rand(rng) % n], rng);
		while ((a & htonl(0xfffffff8)) == ip_addr("10.0.0.0"));
		addrs[i] = a;
		if (bpf_map_update_elem(bpf_map__fd(lk->maps.bench_addrs), &(__u32){ (__u32)i }, &a, BPF_ANY))
			return -1;
	}
	lk->bss->bench_vni = vni;

	/* the datapath, the user-space replica and the LPM trie must agree before anything is timed */
	for (__u32 i = 0; i < 2000; i++) {
		struct route r;
		int want = route_table_lookup(&env.rm, vni, addrs[i], &r) ? 255 : r.len;
		int got_levels = lookup_once(lk->progs.bench_levels, i), got_lpm = lookup_once(lk->progs.bench_lpm_trie, i);
		if (got_levels != want || got_lpm != want) {
			fprintf(stderr, "mismatch at %s: replica /%d, fib /%d, lpm /%d\n",
				inet_ntoa((struct in_addr){ addrs[i] }), want, got_levels, got_lpm);
			return -1;
		}
	}
	/* split destinations by where their route sends them */
	for (size_t i = 0; i < BENCH_ADDRS && (nlocal < PATH_PACKETS || nremote < PATH_PACKETS); i++) {
		struct route r;
		if (route_table_lookup(&env.rm, vni, addrs[i], &r))
			continue;
		if (r.via == ip_addr("10.0.0.3") && nlocal < PATH_PACKETS)
			local[nlocal++] = addrs[i];
		else if (r.via == ip_addr("10.0.0.4") && nremote < PATH_PACKETS)
			remote[nremote++] = addrs[i];
	}

	long long mem_routes = (long long)v.fib_lines * (long long)sizeof(struct fib_line), mem_lpm = map_memlock(lpm_fd) - mem_lpm0;
	/* lines read per lookup: [direct entry], tree levels, leaf, result (with a direct stage: 3, or 4 in a chunk of more than 8 ranges) */
	__u32 levels_used = v.fib_direct_bits ? 3 : v.fib_depth + 2U;
	fprintf(stderr, "routes %zu (vni %u, %u lines per lookup, direct stage %u bits): build %.0f/s fib, %.0f/s lpm; memory %.1f B/route fib (index and route list), %.1f B/route lpm\n",
		n, vni, levels_used, v.fib_direct_bits, n / t_levels, n / t_lpm, (double)mem_routes / n, (double)mem_lpm / n);
	fprintf(out, "{\"routes\": %zu, \"vni\": %u, \"direct_bits\": %u, \"levels_used\": %u, \"insert_per_s_levels\": %.0f, "
		     "\"insert_per_s_lpm\": %.0f, \"mem_bytes_per_route_levels\": %.1f, \"mem_bytes_per_route_lpm\": %.1f, ",
		n, vni, v.fib_direct_bits, levels_used, n / t_levels, n / t_lpm, (double)mem_routes / n, (double)mem_lpm / n);

	struct stat3 base = bench_lookup("lookup base", lk->progs.bench_base);
	struct stat3 lev = bench_lookup("lookup fib", lk->progs.bench_levels);
	struct stat3 lpm = bench_lookup("lookup lpm trie", lk->progs.bench_lpm_trie);
	struct stat3 probe = bench_lookup("one uncached line", lk->progs.bench_probe);
	/* the same lookups over a hot set of HOT_ADDRS destinations (a host's active flows), caches warm */
	lk->data->addr_mask = HOT_ADDRS - 1;
	struct stat3 lev_hot = bench_lookup("lookup fib, hot set", lk->progs.bench_levels);
	struct stat3 lpm_hot = bench_lookup("lookup lpm, hot set", lk->progs.bench_lpm_trie);
	lk->data->addr_mask = BENCH_ADDRS - 1;
	json_stat("lookup_levels_hot_ns", lev_hot, 0);
	json_stat("lookup_lpm_hot_ns", lpm_hot, 0);
	json_stat("one_probe_ns", probe, 0);
	json_stat("lookup_base_ns", base, 0);
	json_stat("lookup_levels_ns", lev, 0);
	json_stat("lookup_lpm_ns", lpm, 0);
	if (bench_path("path_vm_local_ns", local, nlocal) || bench_path("path_vm_remote_ns", remote, nremote) ||
	    bench_decap("path_underlay_nic_ns", vni, local, nlocal))
		return -1;
	if (src_sg(vni, SG_ID) || bench_path("path_sg1000_ns", local, nlocal) || src_sg(vni, 0))
		return -1;
	fprintf(out, "\"sg_rules\": %d}", SG_RULES);
	free(routes);
	free(addrs);
	free(local);
	free(remote);
	return 0;
}

static int bench_nic_memory(void)
{
	long long m0 = map_memlock(env.nics_fd) + map_memlock(env.nic_stats_fd);
	__u32 vni = 99;

	for (int i = 0; i < BENCH_NICS; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.%d.%d.%d", 100 + i / 65536, (i / 256) % 256, i % 256);
		if (add_nic(vni, a, src_mac, 1, NULL)) {
			fprintf(stderr, "memory per NIC: NIC %d (%s): %s\n", i, a, strerror(errno));
			return -1;
		}
	}
	double per = (double)(map_memlock(env.nics_fd) + map_memlock(env.nic_stats_fd) - m0) / BENCH_NICS;
	fprintf(stderr, "memory per NIC (nics + nic_stats, %d CPUs): %.1f B (and nic_counters, allocated whole: "
		"%zu B per NIC slot per CPU)\n", env.nr_cpus, per, sizeof(struct nic_counters));
	fprintf(out, "\"mem_bytes_per_nic\": %.1f, \"cpus\": %d", per, env.nr_cpus);
	return 0;
}

int main(int argc, char **argv)
{
	size_t sizes[16] = { 10, 1000, 100000, 1000000 };
	int nsizes = 4, c, err = 0;
	const char *out_path = NULL;
	uint64_t rng = 0x5eed1234abcdULL;

	while ((c = getopt(argc, argv, "s:r:o:")) != -1) {
		switch (c) {
		case 's': {
			char *tok, *save = NULL;
			nsizes = 0;
			for (tok = strtok_r(optarg, ",", &save); tok && nsizes < 16; tok = strtok_r(NULL, ",", &save))
				sizes[nsizes++] = strtoul(tok, NULL, 10);
			break;
		}
		case 'r': runs = atoi(optarg); break;
		case 'o': out_path = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-s SIZE,SIZE...] [-r RUNS] [-o FILE.json]\n", argv[0]);
			return 1;
		}
	}
	if (runs < 1 || runs > 100)
		runs = 7;
	out = out_path ? fopen(out_path, "w") : stdout;
	if (!out)
		return perror(out_path), 1;
	if (env_setup() || env_reset() || setup_underlay() || make_sg()) {
		fprintf(stderr, "route_bench: cannot set up the test environment\n");
		env_teardown();
		return 1;
	}

	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = env.pin_dir);
	lk = lookup_bpf__open_opts(&opts);
	ul = underlay_bpf__open_opts(&opts);
	if (!ul || underlay_bpf__load(ul)) {
		fprintf(stderr, "route_bench: cannot load underlay.bpf.o\n");
		env_teardown();
		return 1;
	}
	if (!lk || bpf_map__set_max_entries(lk->maps.bench_lpm, 2U << 20) || lookup_bpf__load(lk)) {
		fprintf(stderr, "route_bench: cannot load lookup.bpf.o\n");
		env_teardown();
		return 1;
	}

	fprintf(out, "{\"runs\": %d, \"lookups_per_run\": %u, \"hot_addrs\": %u, \"packets_per_run\": %d, \"sizes\": [",
		runs, BENCH_ADDRS, HOT_ADDRS, PATH_PACKETS);
	for (int i = 0; i < nsizes && !err; i++) {
		fprintf(stderr, "== %zu routes\n", sizes[i]);
		err = bench_size(sizes[i], 100 + (__u32)i, &rng);
		if (!err && i + 1 < nsizes)
			fprintf(out, ", ");
	}
	fprintf(out, "], ");
	if (!err)
		err = bench_nic_memory();
	fprintf(out, "}\n");
	if (out != stdout)
		fclose(out);
	lookup_bpf__destroy(lk);
	underlay_bpf__destroy(ul);
	env_teardown();
	return err ? 1 : 0;
}
