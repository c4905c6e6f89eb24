/* tests/bench/sg_bench.c — security-group cost per packet (BPF_PROG_TEST_RUN): open NIC vs 1,000-rule group, tracked and new flows. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nic.skel.h"
#include "maps/sg_table.h"
#include "tests/unit/env.h"
#include "tests/unit/pktbuild.h"
#include "tests/unit/topo.h"

/*
 * Usage: build/bench/sg_bench [-n RULES] [-r RUNS] [-i ITERATIONS] [-o FILE.json]
 * (make build/bench/sg_bench; run as root). Each figure is the median of
 * RUNS test runs of ITERATIONS repeats of one frame, in ns per packet as
 * the kernel measures it (bpf_test_run_opts.duration); figures that are
 * compared are measured in alternating runs.
 *
 *  open        B has no group (the unfiltered path)
 *  tracked     B's group has RULES rules; the flow is in conntrack (after
 *              the first repeat): the established path, one lookup
 *  new-deny    RULES rules; the frame is denied by a rule, so it is
 *              classified afresh on every repeat (a deny keeps no state):
 *              the cost of the two-trie classifier plus the drop accounting
 *  new-deny-1  the same with a one-rule group: classification cost does not
 *              grow with the rule count
 */

#define VPC 100
#define A_IP "10.0.1.5"
#define A_MAC "02:00:00:64:01:05"
#define B_IP "10.0.1.6"
#define B_MAC "02:00:00:64:01:06"

static int runs = 9, iters = 200000, nrules = 1000;

static struct sg_maps sgm;

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	return x < y ? -1 : x > y;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __u32 run_once(const struct pb *b, int *verdict)
{
	struct __sk_buff ctx = { .ifindex = env.port_ifindex[0] };
	__u8 out[PB_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = b->data, .data_size_in = b->len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = iters);

	if (bpf_prog_test_run_opts(env.prog_fd, &o)) {
		perror("bpf_prog_test_run_opts");
		exit(1);
	}
	*verdict = o.retval;
	return o.duration;
}

static void join(__u32 sg_id);

/*
 * Median ns per packet of one frame sent by A (port 0) while B is in group
 * sg_id. With two groups the runs alternate between them, so that a busy
 * machine slows both sides of a comparison alike.
 */
static void measure(const struct pb *b, __u32 sg_a, __u32 *ta, int *va, __u32 sg_b, __u32 *tb, int *vb)
{
	__u32 da[64], db[64];

	for (int r = 0; r < runs; r++) {
		join(sg_a);
		da[r] = run_once(b, va);
		if (tb) {
			join(sg_b);
			db[r] = run_once(b, vb);
		}
	}
	qsort(da, runs, sizeof(da[0]), cmp_u32);
	*ta = da[runs / 2];
	if (tb) {
		qsort(db, runs, sizeof(db[0]), cmp_u32);
		*tb = db[runs / 2];
	}
}

static void tcp_frame(struct pb *b, uint16_t dport, uint8_t flags)
{
	pb_init(b);
	pb_eth(b, B_MAC, A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = B_IP, .proto = 6 });
	pb_tcp(b, 40000, dport, flags);
	pb_payload(b, 64);
	pb_done(b);
}

/*
 * A group the size of a busy tenant's: ingress TCP allows for single ports
 * and ranges from many /24s, UDP services, ICMP, and deny rules; the rule
 * that denies the benchmark frame (tcp 9999 from A's /24) is the last.
 */
static struct sg_rule_entry *make_rules(int n)
{
	struct sg_rule_entry *r = calloc(n, sizeof(*r));

	for (int i = 0; i < n - 1; i++) {
		struct sg_rule *x = &r[i].r;
		r[i].priority = (i + 1) * 10;
		x->dir = i % 10 == 9 ? SG_EGRESS : SG_INGRESS;
		x->proto = i % 7 == 0 ? IPPROTO_UDP : IPPROTO_TCP;
		x->action = i % 5 == 4 ? SG_DENY : SG_ALLOW;
		x->cidr_len = i % 3 == 0 ? 0 : 24;
		x->cidr = x->cidr_len ? htonl(0x0a000000 | ((i % 250) << 8) | (((i / 250) + 2) << 16)) : 0;
		x->port_lo = 1000 + i * 7 % 6000;
		x->port_hi = x->port_lo + (i % 4 == 0 ? 20 : 0);
		if (i % 50 == 0) {
			x->proto = IPPROTO_ICMP;
			x->port_lo = 0;
			x->port_hi = 65535;
		}
	}
	r[n - 1] = (struct sg_rule_entry){ .priority = n * 10,
					   .r = { .dir = SG_INGRESS, .proto = IPPROTO_TCP, .action = SG_DENY,
						  .cidr_len = 24, .port_lo = 9999, .port_hi = 9999 } };
	inet_pton(AF_INET, "10.0.1.0", &r[n - 1].r.cidr);
	return r;
}

static void set_group(__u32 id, const struct sg_rule_entry *rules, int n, double *commit_s)
{
	struct sg g = { 0 };
	double t;

	snprintf(g.name, sizeof(g.name), "bench%u", id);
	bpf_map_update_elem(sgm.sgs_fd, &id, &g, BPF_NOEXIST);
	t = now();
	if (sg_table_commit(&sgm, id, rules, n)) {
		fprintf(stderr, "sg_bench: commit of %d rules failed\n", n);
		exit(1);
	}
	if (commit_s)
		*commit_s = now() - t;
}

static void join(__u32 sg_id)
{
	struct nic_key k = { .vni = VPC };
	struct nic n;

	inet_pton(AF_INET, B_IP, &k.ip);
	bpf_map_lookup_elem(env.nics_fd, &k, &n);
	n.sg_id = sg_id;
	bpf_map_update_elem(env.nics_fd, &k, &n, BPF_EXIST);
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	struct pb allowed, denied;
	struct sg_rule_entry *rules, one;
	struct sg_compiled c;
	__u32 t_open, t_tracked, t_deny, t_deny1;
	double commit_s;
	int v_open, v_tracked, v_deny, v_deny1, opt;

	while ((opt = getopt(argc, argv, "n:r:i:o:")) != -1) {
		switch (opt) {
		case 'n': nrules = atoi(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'i': iters = atoi(optarg); break;
		case 'o': json = optarg; break;
		default:
			fprintf(stderr, "usage: sg_bench [-n RULES] [-r RUNS] [-i ITERATIONS] [-o FILE.json]\n");
			return 1;
		}
	}
	if (runs < 1 || runs > 63 || nrules < 1 || nrules > SG_MAX_RULES || iters < 1) {
		fprintf(stderr, "sg_bench: bad arguments\n");
		return 1;
	}
	if (env_setup() || env_reset()) {
		fprintf(stderr, "sg_bench: cannot set up (root and bpffs needed)\n");
		return 1;
	}
	sgm = (struct sg_maps){ bpf_map__fd(env.skel->maps.sgs), bpf_map__fd(env.skel->maps.sg_rules),
				bpf_map__fd(env.skel->maps.sg_ports), bpf_map__fd(env.skel->maps.sg_addrs) };
	topo_nic_local(VPC, A_IP, A_MAC, "10.0.1.0/24", 0, SC_ON);
	topo_nic_local(VPC, B_IP, B_MAC, "10.0.1.0/24", 1, SC_ON);
	topo_route_connected(VPC, "10.0.1.0/24");

	/* the allowed frame: tcp 80 from anywhere is the group's first rule below */
	tcp_frame(&allowed, 80, 0x10);
	tcp_frame(&denied, 9999, 0x02);

	rules = make_rules(nrules);
	rules[0] = (struct sg_rule_entry){ .priority = 1, .r = { .dir = SG_INGRESS, .proto = IPPROTO_TCP,
								 .action = SG_ALLOW, .port_lo = 80, .port_hi = 80 } };
	set_group(1, rules, nrules, &commit_s);
	sg_compile(1, 0, rules, nrules, &c);
	one = rules[nrules - 1];
	set_group(2, &one, 1, NULL);
	measure(&allowed, 0, &t_open, &v_open, 1, &t_tracked, &v_tracked);
	measure(&denied, 1, &t_deny, &v_deny, 2, &t_deny1, &v_deny1);

	printf("security group cost per packet (BPF_PROG_TEST_RUN, median of %d runs x %d repeats, ns):\n", runs, iters);
	printf("  open NIC (no group)                 %6u  verdict %d\n", t_open, v_open);
	printf("  %4d rules, tracked flow            %6u  verdict %d  (%.2fx open)\n", nrules, t_tracked, v_tracked,
	       (double)t_tracked / t_open);
	printf("  %4d rules, new flow, denied        %6u  verdict %d\n", nrules, t_deny, v_deny);
	printf("     1 rule,  new flow, denied        %6u  verdict %d\n", t_deny1, v_deny1);
	printf("  %d rules compile to %zu port and %zu address entries (%u classes); commit %.1f ms\n", nrules,
	       c.n_ports, c.n_addrs, c.n_classes, commit_s * 1e3);
	if (json) {
		FILE *f = fopen(json, "w");
		if (f) {
			fprintf(f,
				"{\"runs\": %d, \"repeats\": %d, \"rules\": %d, \"open_ns\": %u, \"tracked_ns\": %u, "
				"\"new_deny_ns\": %u, \"new_deny_1rule_ns\": %u, \"tracked_ratio\": %.3f, "
				"\"port_entries\": %zu, \"addr_entries\": %zu, \"classes\": %u, \"commit_ms\": %.1f}\n",
				runs, iters, nrules, t_open, t_tracked, t_deny, t_deny1, (double)t_tracked / t_open, c.n_ports,
				c.n_addrs, c.n_classes, commit_s * 1e3);
			fclose(f);
		}
	}
	sg_compiled_free(&c);
	free(rules);
	env_teardown();
	return 0;
}
