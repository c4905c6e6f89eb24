/* tests/unit/test_sg.c — security groups through nic_ingress: each rule kind, defaults, conntrack states and timeouts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nic.skel.h"
#include "maps/prefix.h"
#include "suite.h"
#include "env.h"
#include "pktbuild.h"
#include "topo.h"
#include "maps/sg_table.h"

#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/*
 * VPC 100, 10.0.1.0/24: A .5 (port 0), B .6 (port 1), D .100 (port 2),
 * V .254 (port 3, source check off: sends from any address).
 * VPC 300: the same addresses, X5 10.0.1.5 (port 5), X6 10.0.1.6 (port 6).
 * Groups are made per test: sg 1 "b" on B, sg 2 "a" on A, sg 3 on X6.
 */
#define VPC_A 100
#define VPC_X 300
#define A_IP "10.0.1.5"
#define A_MAC "02:00:00:64:01:05"
#define B_IP "10.0.1.6"
#define B_MAC "02:00:00:64:01:06"
#define D_IP "10.0.1.100"
#define D_MAC "02:00:00:64:01:64"
#define V_IP "10.0.1.254"
#define V_MAC "02:00:00:64:01:fe"
#define X5_MAC "02:00:01:2c:01:05"
#define X6_MAC "02:00:01:2c:01:06"
#define PORT_A 0
#define PORT_B 1
#define PORT_D 2
#define PORT_V 3
#define PORT_X5 5
#define PORT_X6 6

static struct sg_maps sgm;
static int ct_fd, ct_counts_fd;

static __be32 ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* Collects the keys first: deleting while walking from the start again would be quadratic. */
static void flush(int fd, size_t key_size)
{
	size_t n = 0, cap = 1024;
	char *keys = malloc(cap * key_size);
	void *prev = NULL;

	assert_non_null(keys);
	while (bpf_map_get_next_key(fd, prev, keys + n * key_size) == 0) {
		prev = keys + n * key_size;
		if (++n == cap) {
			cap *= 2;
			keys = realloc(keys, cap * key_size);
			assert_non_null(keys);
			prev = keys + (n - 1) * key_size;
		}
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
	free(keys);
}

static int setup(void **state)
{
	assert_int_equal(env_reset(), 0);
	sgm.sgs_fd = bpf_map__fd(env.skel->maps.sgs);
	sgm.rules_fd = bpf_map__fd(env.skel->maps.sg_rules);
	sgm.ports_fd = bpf_map__fd(env.skel->maps.sg_ports);
	sgm.addrs_fd = bpf_map__fd(env.skel->maps.sg_addrs);
	ct_fd = bpf_map__fd(env.skel->maps.conntrack);
	ct_counts_fd = bpf_map__fd(env.skel->maps.ct_counts);
	flush(sgm.sgs_fd, sizeof(__u32));
	flush(sgm.rules_fd, sizeof(struct sg_rule_key));
	flush(sgm.ports_fd, sizeof(struct sg_port_key));
	flush(sgm.addrs_fd, sizeof(struct sg_addr_key));
	flush(ct_fd, sizeof(struct ct_key));
	flush(ct_counts_fd, sizeof(struct nic_key));
	topo_nic_local(VPC_A, A_IP, A_MAC, "10.0.1.0/24", PORT_A, SC_ON);
	topo_nic_local(VPC_A, B_IP, B_MAC, "10.0.1.0/24", PORT_B, SC_ON);
	topo_nic_local(VPC_A, D_IP, D_MAC, "10.0.1.0/24", PORT_D, SC_ON);
	topo_nic_local(VPC_A, V_IP, V_MAC, "10.0.1.0/24", PORT_V, SC_OFF);
	topo_nic_local(VPC_X, A_IP, X5_MAC, "10.0.1.0/24", PORT_X5, SC_ON);
	topo_nic_local(VPC_X, B_IP, X6_MAC, "10.0.1.0/24", PORT_X6, SC_ON);
	return 0;
}

/* ---- groups ---- */

/* RULE(dir, proto, lo, hi, cidr, len, action, priority) */
#define RULE(...) RULE_(__VA_ARGS__) /* expands ALL_PORTS and ANYWHERE first */
#define RULE_(d, p, lo, hi, c, l, a, prio)                                                        \
	(struct sg_rule_entry)                                                                    \
	{                                                                                         \
		.priority = (prio), .r = {.dir = (d), .proto = (p), .action = (a), .cidr_len = (l), \
					  .cidr = ip(c), .port_lo = (lo), .port_hi = (hi) }       \
	}
#define ALL_PORTS 0, 65535
#define ANYWHERE "0.0.0.0", 0

static void group(__u32 id, const struct sg_rule_entry *rules, size_t n)
{
	struct sg g = { 0 };

	if (bpf_map_lookup_elem(sgm.sgs_fd, &id, &g)) {
		snprintf(g.name, sizeof(g.name), "sg%u", id);
		assert_int_equal(bpf_map_update_elem(sgm.sgs_fd, &id, &g, BPF_NOEXIST), 0);
	}
	assert_int_equal(sg_table_commit(&sgm, id, rules, n), 0);
}

static void join(__u32 vni, const char *addr, __u32 sg_id)
{
	struct nic_key k = { .vni = vni, .ip = ip(addr) };
	struct nic n;

	assert_int_equal(bpf_map_lookup_elem(env.nics_fd, &k, &n), 0);
	n.sg_id = sg_id;
	assert_int_equal(bpf_map_update_elem(env.nics_fd, &k, &n, BPF_EXIST), 0);
}

/* ---- frames: what a VM sends (source MAC its own, destination the peer's MAC: same subnet) ---- */

static int send_frame(int port, struct pb *b)
{
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	int verdict = -1;

	pb_done(b);
	assert_int_equal(env_run(port, b->data, b->len, out, &out_len, &verdict), 0);
	return verdict;
}

static int tcp(int port, const char *smac, const char *dmac, const char *src, const char *dst, uint16_t sport,
	       uint16_t dport, uint8_t flags)
{
	struct pb b;

	pb_init(&b);
	pb_eth(&b, dmac, smac, 0x0800);
	pb_ipv4(&b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 6 });
	pb_tcp(&b, sport, dport, flags);
	return send_frame(port, &b);
}

static int udp(int port, const char *smac, const char *dmac, const char *src, const char *dst, uint16_t sport,
	       uint16_t dport)
{
	struct pb b;

	pb_init(&b);
	pb_eth(&b, dmac, smac, 0x0800);
	pb_ipv4(&b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 17 });
	pb_udp(&b, sport, dport);
	pb_payload(&b, 16);
	return send_frame(port, &b);
}

static int echo(int port, const char *smac, const char *dmac, const char *src, const char *dst, uint8_t type,
		uint16_t id)
{
	struct pb b;

	pb_init(&b);
	pb_eth(&b, dmac, smac, 0x0800);
	pb_ipv4(&b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 1 });
	pb_icmp_echo(&b, type, id, 1);
	pb_payload(&b, 8);
	return send_frame(port, &b);
}

static int gre(int port, const char *smac, const char *dmac, const char *src, const char *dst)
{
	struct pb b;

	pb_init(&b);
	pb_eth(&b, dmac, smac, 0x0800);
	pb_ipv4(&b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 47 });
	pb_payload(&b, 8);
	return send_frame(port, &b);
}

/* ICMP destination unreachable (port) from src about a UDP datagram qsrc:qsport -> qdst:qdport. */
static int udp_unreachable(int port, const char *smac, const char *dmac, const char *src, const char *dst,
			   const char *qsrc, const char *qdst, uint16_t qsport, uint16_t qdport)
{
	struct pb q, b;

	pb_init(&q);
	pb_eth(&q, "02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800);
	pb_ipv4(&q, &(struct pb_ip){ .src = qsrc, .dst = qdst, .proto = 17 });
	pb_udp(&q, qsport, qdport);
	pb_done(&q);

	pb_init(&b);
	pb_eth(&b, dmac, smac, 0x0800);
	pb_ipv4(&b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 1 });
	pb_icmp(&b, 3, 3, 0);
	pb_bytes(&b, q.data + 14, 28);
	return send_frame(port, &b);
}

#define A_TO_B_TCP(sp, dp, fl) tcp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, sp, dp, fl)
#define B_TO_A_TCP(sp, dp, fl) tcp(PORT_B, B_MAC, A_MAC, B_IP, A_IP, sp, dp, fl)

/* The conntrack entry of NIC (vni, zone) for a flow seen from it. */
static int ct_get(__u32 vni, const char *zone, __u8 proto, const char *local, uint16_t lport, const char *remote,
		  uint16_t rport, struct ct_entry *e)
{
	struct ct_key k = { .vni = vni, .nic = ip(zone), .local = ip(local), .remote = ip(remote),
			    .local_port = htons(lport), .remote_port = htons(rport), .proto = proto };

	return bpf_map_lookup_elem(ct_fd, &k, e);
}

static void ct_age(__u32 vni, const char *zone, __u8 proto, const char *local, uint16_t lport, const char *remote,
		   uint16_t rport, unsigned int seconds)
{
	struct ct_key k = { .vni = vni, .nic = ip(zone), .local = ip(local), .remote = ip(remote),
			    .local_port = htons(lport), .remote_port = htons(rport), .proto = proto };
	struct ct_entry e;

	assert_int_equal(bpf_map_lookup_elem(ct_fd, &k, &e), 0);
	/* timestamps are monotonic since boot: a freshly booted VM (vmtest) cannot hold an entry that old */
	if (e.last_seen < (__u64)seconds * 1000000000ULL) {
		print_message("# SKIP: up for less than %u s, an entry cannot be aged that much\n", seconds);
		skip();
	}
	e.last_seen -= (__u64)seconds * 1000000000ULL;
	assert_int_equal(bpf_map_update_elem(ct_fd, &k, &e, BPF_EXIST), 0);
}

/* ---- rule kinds ---- */

static void nic_without_group_is_open(void **state)
{
	assert_int_equal(A_TO_B_TCP(40000, 22, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(env_drops(DROP_SG_INGRESS) + env_drops(DROP_SG_EGRESS), 0);
}

static void empty_group_denies_ingress_and_allows_egress(void **state)
{
	group(1, NULL, 0);
	join(VPC_A, B_IP, 1);
	assert_int_equal(A_TO_B_TCP(40000, 22, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_SG_INGRESS), 1);
	assert_int_equal(B_TO_A_TCP(40001, 22, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(env_drops(DROP_SG_EGRESS), 0);
}

static void ingress_allow_tcp_port(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 6, 80, 80, ANYWHERE, SG_ALLOW, 10) };

	group(1, r, 1);
	join(VPC_A, B_IP, 1);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(A_TO_B_TCP(40001, 81, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(A_TO_B_TCP(40002, 79, TCP_SYN), TC_ACT_SHOT);
	/* a TCP rule says nothing of UDP to the same port */
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 40003, 80), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_SG_INGRESS), 3);
}

static void ingress_port_range_bounds(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 17, 8000, 8010, ANYWHERE, SG_ALLOW, 10) };

	group(1, r, 1);
	join(VPC_A, B_IP, 1);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5000, 8000), TC_ACT_REDIRECT);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5001, 8010), TC_ACT_REDIRECT);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5002, 8005), TC_ACT_REDIRECT);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5003, 7999), TC_ACT_SHOT);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5004, 8011), TC_ACT_SHOT);
}

static void ingress_cidr_matches_the_source(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 6, 22, 22, "10.0.1.0", 29, SG_ALLOW, 10) };

	group(1, r, 1);
	join(VPC_A, B_IP, 1);
	assert_int_equal(A_TO_B_TCP(40000, 22, TCP_SYN), TC_ACT_REDIRECT); /* .5 is in /29 */
	assert_int_equal(tcp(PORT_D, D_MAC, B_MAC, D_IP, B_IP, 40000, 22, TCP_SYN), TC_ACT_SHOT);
}

static void first_match_wins_by_priority(void **state)
{
	struct sg_rule_entry r[] = {
		RULE(SG_INGRESS, 6, 80, 80, ANYWHERE, SG_ALLOW, 20),
		RULE(SG_INGRESS, 6, 80, 80, A_IP, 32, SG_DENY, 10),
	};

	group(1, r, 2);
	join(VPC_A, B_IP, 1);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(tcp(PORT_D, D_MAC, B_MAC, D_IP, B_IP, 40000, 80, TCP_SYN), TC_ACT_REDIRECT);

	/* the same rules, the other order: the allow comes first */
	struct sg_rule_entry r2[] = {
		RULE(SG_INGRESS, 6, 80, 80, ANYWHERE, SG_ALLOW, 10),
		RULE(SG_INGRESS, 6, 80, 80, A_IP, 32, SG_DENY, 20),
	};
	group(1, r2, 2);
	assert_int_equal(A_TO_B_TCP(40001, 80, TCP_SYN), TC_ACT_REDIRECT);
}

static void egress_deny_rule_and_default_allow(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_EGRESS, 17, 53, 53, ANYWHERE, SG_DENY, 10) };

	group(2, r, 1);
	join(VPC_A, A_IP, 2);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5000, 53), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_SG_EGRESS), 1);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5000, 54), TC_ACT_REDIRECT);
	/* egress port is the peer's port: a reply from A's port 53 is not what the rule names */
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 53, 6000), TC_ACT_REDIRECT);
}

static void icmp_and_any_rules(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 1, ALL_PORTS, ANYWHERE, SG_ALLOW, 10) };

	group(1, r, 1);
	join(VPC_A, B_IP, 1);
	assert_int_equal(echo(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 8, 7), TC_ACT_REDIRECT);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(gre(PORT_A, A_MAC, B_MAC, A_IP, B_IP), TC_ACT_SHOT);

	struct sg_rule_entry any[] = { RULE(SG_INGRESS, SG_PROTO_ANY, ALL_PORTS, A_IP, 32, SG_ALLOW, 10) };
	group(1, any, 1);
	assert_int_equal(A_TO_B_TCP(40001, 80, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(gre(PORT_A, A_MAC, B_MAC, A_IP, B_IP), TC_ACT_REDIRECT);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 1, 2), TC_ACT_REDIRECT);
	assert_int_equal(tcp(PORT_D, D_MAC, B_MAC, D_IP, B_IP, 40000, 80, TCP_SYN), TC_ACT_SHOT);
}

/* ---- conntrack ---- */

static void tcp_reply_passes_and_states_advance(void **state)
{
	struct ct_entry e;

	group(2, NULL, 0); /* A: egress open, ingress closed */
	join(VPC_A, A_IP, 2);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 6, A_IP, 40000, B_IP, 80, &e), 0);
	assert_int_equal(e.state, CT_SYN_SENT);
	assert_int_equal(e.origin, SG_EGRESS);

	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_SYN | TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 6, A_IP, 40000, B_IP, 80, &e), 0);
	assert_int_equal(e.state, CT_ESTABLISHED);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_ACK), TC_ACT_REDIRECT);

	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_FIN | TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 6, A_IP, 40000, B_IP, 80, &e), 0);
	assert_int_equal(e.state, CT_FIN);
	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_FIN | TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 6, A_IP, 40000, B_IP, 80, &e), 0);
	assert_int_equal(e.state, CT_CLOSED);
	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_ACK), TC_ACT_REDIRECT); /* the last ACK */

	/* an unrelated connection toward A is still denied */
	assert_int_equal(B_TO_A_TCP(40001, 22, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_SG_INGRESS), 1);
}

static void mid_stream_pickup_waits_for_an_answer(void **state)
{
	struct ct_entry e;

	group(2, NULL, 0);
	join(VPC_A, A_IP, 2);
	/* an ACK of a connection older than the group: allowed out, tracked on the short timeout */
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 6, A_IP, 40000, B_IP, 80, &e), 0);
	assert_int_equal(e.state, CT_SYN_SENT);
	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 6, A_IP, 40000, B_IP, 80, &e), 0);
	assert_int_equal(e.state, CT_ESTABLISHED);
}

static void tcp_rst_closes(void **state)
{
	struct ct_entry e;

	group(2, NULL, 0);
	join(VPC_A, A_IP, 2);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_RST | TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 6, A_IP, 40000, B_IP, 80, &e), 0);
	assert_int_equal(e.state, CT_CLOSED);
	/* closed and idle past its 10 s: the peer can no longer get in on that flow */
	ct_age(VPC_A, A_IP, 6, A_IP, 40000, B_IP, 80, CT_TIMEOUT_CLOSED + 1);
	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_ACK), TC_ACT_SHOT);
}

static void syn_after_close_is_a_new_connection(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 6, 80, 80, ANYWHERE, SG_ALLOW, 10) };
	struct ct_entry e;

	group(1, r, 1);
	join(VPC_A, B_IP, 1);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_RST), TC_ACT_REDIRECT);
	/* the rule is gone: a new SYN on the same ports meets the rules again */
	group(1, NULL, 0);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(ct_get(VPC_A, B_IP, 6, B_IP, 80, A_IP, 40000, &e), 0);
	assert_int_equal(e.state, CT_CLOSED);
}

static void established_flow_survives_rule_removal(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 6, 80, 80, ANYWHERE, SG_ALLOW, 10) };

	group(1, r, 1);
	join(VPC_A, B_IP, 1);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_SYN | TCP_ACK), TC_ACT_REDIRECT);
	group(1, NULL, 0);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(A_TO_B_TCP(40001, 80, TCP_SYN), TC_ACT_SHOT);
}

static void udp_reply_and_idle_timeout(void **state)
{
	struct ct_entry e;

	group(2, NULL, 0);
	join(VPC_A, A_IP, 2);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5000, 53), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 17, A_IP, 5000, B_IP, 53, &e), 0);
	assert_int_equal(e.state, CT_NEW);
	assert_int_equal(udp(PORT_B, B_MAC, A_MAC, B_IP, A_IP, 53, 5000), TC_ACT_REDIRECT);
	assert_int_equal(ct_get(VPC_A, A_IP, 17, A_IP, 5000, B_IP, 53, &e), 0);
	assert_int_equal(e.state, CT_REPLIED);
	/* other ports of the same peer are not the flow */
	assert_int_equal(udp(PORT_B, B_MAC, A_MAC, B_IP, A_IP, 53, 5001), TC_ACT_SHOT);
	/* idle past the replied timeout: gone */
	ct_age(VPC_A, A_IP, 17, A_IP, 5000, B_IP, 53, CT_TIMEOUT_UDP_REPLIED + 1);
	assert_int_equal(udp(PORT_B, B_MAC, A_MAC, B_IP, A_IP, 53, 5000), TC_ACT_SHOT);
}

static void icmp_echo_reply_passes(void **state)
{
	group(2, NULL, 0);
	join(VPC_A, A_IP, 2);
	assert_int_equal(echo(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 8, 77), TC_ACT_REDIRECT);
	assert_int_equal(echo(PORT_B, B_MAC, A_MAC, B_IP, A_IP, 0, 77), TC_ACT_REDIRECT);
	assert_int_equal(echo(PORT_B, B_MAC, A_MAC, B_IP, A_IP, 0, 78), TC_ACT_SHOT); /* another id */
	assert_int_equal(echo(PORT_B, B_MAC, A_MAC, B_IP, A_IP, 8, 77), TC_ACT_SHOT); /* B's own ping */
}

static void icmp_error_about_a_tracked_flow_passes(void **state)
{
	group(2, NULL, 0);
	join(VPC_A, A_IP, 2);
	assert_int_equal(udp(PORT_A, A_MAC, B_MAC, A_IP, B_IP, 5000, 9999), TC_ACT_REDIRECT);
	assert_int_equal(udp_unreachable(PORT_B, B_MAC, A_MAC, B_IP, A_IP, A_IP, B_IP, 5000, 9999), TC_ACT_REDIRECT);
	/* an error about a flow A never sent is judged by the rules: denied */
	assert_int_equal(udp_unreachable(PORT_B, B_MAC, A_MAC, B_IP, A_IP, A_IP, B_IP, 5001, 9999), TC_ACT_SHOT);
}

static void two_vpcs_with_equal_addresses_keep_apart(void **state)
{
	/* VPC 100: B allows tcp 80 and A connects. VPC 300: X6 (same address as B) allows nothing. */
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 6, 80, 80, ANYWHERE, SG_ALLOW, 10) };

	group(1, r, 1);
	group(3, NULL, 0);
	join(VPC_A, B_IP, 1);
	join(VPC_X, B_IP, 3);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_REDIRECT);
	/* the same 5-tuple in VPC 300 finds no state of VPC 100 */
	assert_int_equal(tcp(PORT_X5, X5_MAC, X6_MAC, A_IP, B_IP, 40000, 80, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(tcp(PORT_X5, X5_MAC, X6_MAC, A_IP, B_IP, 40000, 80, TCP_ACK), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_SG_INGRESS), 2);
}

static void egress_state_does_not_open_the_peers_ingress(void **state)
{
	/* A may send anything; B accepts nothing. A's own entry must not let the SYN into B. */
	group(2, NULL, 0);
	group(1, NULL, 0);
	join(VPC_A, A_IP, 2);
	join(VPC_A, B_IP, 1);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_SG_INGRESS), 1);
	assert_int_equal(env_drops(DROP_SG_EGRESS), 0);
}

static void later_fragments_pass_without_ports(void **state)
{
	struct pb b;

	group(1, NULL, 0);
	join(VPC_A, B_IP, 1);
	pb_init(&b);
	pb_eth(&b, B_MAC, A_MAC, 0x0800);
	pb_ipv4(&b, &(struct pb_ip){ .src = A_IP, .dst = B_IP, .proto = 17, .frag_off = 185 });
	pb_payload(&b, 64);
	assert_int_equal(send_frame(PORT_A, &b), TC_ACT_REDIRECT);
}

/* ---- events ---- */

struct seen {
	struct drop_event ev;
	int n;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	const struct drop_event *ev = data;

	if (ev->reason == DROP_SG_INGRESS || ev->reason == DROP_SG_EGRESS) {
		s->ev = *ev;
		s->n++;
	}
	return 0;
}

static void drop_event_names_the_rule_and_the_nic(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 6, 80, 80, A_IP, 32, SG_DENY, 7),
				     RULE(SG_INGRESS, 6, 80, 80, ANYWHERE, SG_ALLOW, 9) };
	struct seen s = { 0 };
	struct ring_buffer *rb = ring_buffer__new(env.events_fd, on_event, &s, NULL);

	assert_non_null(rb);
	ring_buffer__consume(rb); /* what earlier tests left */
	s.n = 0;
	group(1, r, 2);
	join(VPC_A, B_IP, 1);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_SHOT);
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev.reason, DROP_SG_INGRESS);
	assert_int_equal(s.ev.rule, 7);
	assert_int_equal(s.ev.vni, VPC_A);
	assert_int_equal(s.ev.ifindex, env.port_ifindex[PORT_B]); /* the NIC whose group dropped it */
	assert_int_equal(s.ev.proto, 6);
	assert_int_equal(ntohs(s.ev.dport), 80);
	assert_int_equal(s.ev.saddr, ip(A_IP));
}

/* ---- the table: atomic swap and a full conntrack ---- */

static size_t entries_of(int fd, size_t key_size, __u32 sg_id, int gen)
{
	unsigned char key[32], next[32];
	void *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		__u32 id;
		__u16 g;
		memcpy(&id, key + 4, 4);
		memcpy(&g, key + 8, 2);
		n += id == sg_id && g == gen;
	}
	return n;
}

static void commit_swaps_generations_and_removes_the_old(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 6, 80, 90, ANYWHERE, SG_ALLOW, 10),
				     RULE(SG_INGRESS, 17, 53, 53, "10.0.0.0", 8, SG_ALLOW, 20) };
	struct sg g;
	__u32 id = 1;

	group(1, r, 2);
	assert_int_equal(bpf_map_lookup_elem(sgm.sgs_fd, &id, &g), 0);
	assert_int_equal(g.gen, 1);
	assert_int_equal(g.rules, 2);
	assert_true(entries_of(sgm.ports_fd, sizeof(struct sg_port_key), 1, 1) > 0);
	group(1, r, 1);
	assert_int_equal(bpf_map_lookup_elem(sgm.sgs_fd, &id, &g), 0);
	assert_int_equal(g.gen, 2);
	assert_int_equal(entries_of(sgm.ports_fd, sizeof(struct sg_port_key), 1, 1), 0);
	assert_int_equal(entries_of(sgm.addrs_fd, sizeof(struct sg_addr_key), 1, 1), 0);
	/* sg_rule_key has gen at offset 4: count by hand */
	struct sg_rule_entry *rules;
	size_t n;
	assert_int_equal(sg_table_rules(&sgm, 1, &rules, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rules[0].priority, 10);
	free(rules);
}

static void full_conntrack_refuses_new_flows_and_keeps_old(void **state)
{
	size_t n = MAX_CONNTRACK;
	struct ct_key *keys = calloc(n, sizeof(*keys));
	struct ct_entry *vals = calloc(n, sizeof(*vals));
	size_t filled = 0;

	assert_non_null(keys);
	assert_non_null(vals);
	group(2, NULL, 0);
	join(VPC_A, A_IP, 2);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_SYN), TC_ACT_REDIRECT); /* tracked before the table fills */

	/* fill with live entries of another VPC (last_seen far ahead: never expire) */
	for (size_t i = 0; i < n; i++) {
		keys[i] = (struct ct_key){ .vni = 999, .nic = htonl(i), .proto = 17 };
		vals[i] = (struct ct_entry){ .last_seen = ~0ULL >> 2, .state = CT_REPLIED };
	}
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_update_elem(ct_fd, &keys[i], &vals[i], BPF_NOEXIST))
			break;
		filled++;
	}
	assert_true(filled > 0);
	assert_int_equal(A_TO_B_TCP(40001, 80, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_CT_FULL), 1);
	/* the flow tracked before still passes both ways */
	assert_int_equal(B_TO_A_TCP(80, 40000, TCP_SYN | TCP_ACK), TC_ACT_REDIRECT);
	assert_int_equal(A_TO_B_TCP(40000, 80, TCP_ACK), TC_ACT_REDIRECT);
	flush(ct_fd, sizeof(struct ct_key));
	free(keys);
	free(vals);
}

/* ---- the classifier against the reference semantics ---- */

static unsigned int rnd_state = 12345;
static unsigned int rnd(void)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return (rnd_state >> 8) & 0xffffff;
}

static void random_rules_match_first_match_semantics(void **state)
{
	enum { NR = 60, NP = 300 };
	struct sg_rule_entry rules[NR];
	static const __u8 protos[] = { 6, 17, 1, SG_PROTO_ANY };
	static const __u8 lens[] = { 0, 8, 24, 26, 30, 32 };
	int mismatches = 0;

	for (int i = 0; i < NR; i++) {
		struct sg_rule *r = &rules[i].r;
		rules[i].priority = (__u32)(i + 1) * 7 % 1000 + 1 + i; /* unique, not in index order */
		memset(r, 0, sizeof(*r));
		r->dir = SG_INGRESS;
		r->proto = protos[rnd() % 4];
		r->action = rnd() % 3 ? SG_ALLOW : SG_DENY;
		r->cidr_len = lens[rnd() % 6];
		r->cidr = htonl(0x0a000100 | (rnd() & 0xff)) & prefix_mask(r->cidr_len);
		r->port_lo = 0;
		r->port_hi = 65535;
		if ((r->proto == 6 || r->proto == 17) && rnd() % 4) {
			r->port_lo = 1000 + rnd() % 40;
			r->port_hi = r->port_lo + (rnd() % 3 ? 0 : rnd() % 20);
		}
	}
	group(1, rules, NR);
	join(VPC_A, B_IP, 1);

	for (int i = 0; i < NP; i++) {
		__u8 proto = protos[rnd() % 3];
		__u16 dport = 995 + rnd() % 70;
		char src[16];
		__be32 s = htonl(0x0a000100 | (rnd() & 0xff));
		int want = SG_DENY, got;

		inet_ntop(AF_INET, &s, src, sizeof(src));
		for (int k = 0, best = -1; k < NR; k++)
			if (sg_rule_matches(&rules[k].r, SG_INGRESS, proto, proto == 1 ? 0 : dport, s) &&
			    (best < 0 || rules[k].priority < rules[best].priority)) {
				best = k;
				want = rules[k].r.action;
			}
		/* V sends from any address; a fresh source port per packet keeps conntrack out of it */
		if (proto == 6)
			got = tcp(PORT_V, V_MAC, B_MAC, src, B_IP, 10000 + i, dport, TCP_SYN);
		else if (proto == 17)
			got = udp(PORT_V, V_MAC, B_MAC, src, B_IP, 10000 + i, dport);
		else
			got = echo(PORT_V, V_MAC, B_MAC, src, B_IP, 8, 10000 + i);
		if ((got == TC_ACT_REDIRECT) != (want == SG_ALLOW)) {
			print_message("# mismatch: proto %u %s -> dport %u: want %s\n", proto, src, dport,
				      want == SG_ALLOW ? "allow" : "deny");
			mismatches++;
		}
	}
	assert_int_equal(mismatches, 0);
}

/* ---- conntrack quota per NIC ---- */

static void nic_quota(__u32 vni, const char *addr, __u32 quota)
{
	struct nic_key k = { .vni = vni, .ip = ip(addr) };
	struct nic n;

	assert_int_equal(bpf_map_lookup_elem(env.nics_fd, &k, &n), 0);
	n.ct_quota = quota;
	assert_int_equal(bpf_map_update_elem(env.nics_fd, &k, &n, BPF_EXIST), 0);
}

static __u64 ct_count(__u32 vni, const char *zone)
{
	struct nic_key k = { .vni = vni, .ip = ip(zone) };
	__u64 n = 0;

	bpf_map_lookup_elem(ct_counts_fd, &k, &n);
	return n;
}

static void a_nic_at_its_quota_gets_no_new_flow_and_others_still_do(void **state)
{
	struct sg_rule_entry r[] = { RULE(SG_INGRESS, 6, 80, 80, ANYWHERE, SG_ALLOW, 10) };
	struct nic_stats a, d;

	group(1, r, 1);
	join(VPC_A, A_IP, 1); /* A floods: its egress flows are tracked in A's zone */
	join(VPC_A, D_IP, 1);
	nic_quota(VPC_A, A_IP, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 20000 + i, 53), TC_ACT_REDIRECT);
	assert_int_equal(ct_count(VPC_A, A_IP), 3);
	/* the 4th and 5th new flows are refused, counted by reason, against A */
	assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 20003, 53), TC_ACT_SHOT);
	assert_int_equal(tcp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 20004, 443, TCP_SYN), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_CT_NIC_QUOTA), 2);
	assert_int_equal(env_drops(DROP_CT_FULL), 0);
	assert_int_equal(env_nic_stats(VPC_A, A_IP, &a), 0);
	assert_int_equal(a.drop_reason[DROP_CT_NIC_QUOTA], 2);
	assert_int_equal(ct_count(VPC_A, A_IP), 3);
	/* its tracked flows go on */
	assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 20001, 53), TC_ACT_REDIRECT);
	/* another NIC, another zone: new flows pass, up to the host's quota */
	for (int i = 0; i < 5; i++)
		assert_int_equal(tcp(PORT_D, D_MAC, V_MAC, D_IP, V_IP, 30000 + i, 443, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(ct_count(VPC_A, D_IP), 5);
	assert_int_equal(env_nic_stats(VPC_A, D_IP, &d), 0);
	assert_int_equal(d.drops, 0);
	/* ingress flows count in the receiving NIC's zone: B -> D:80 is D's */
	assert_int_equal(tcp(PORT_B, B_MAC, D_MAC, B_IP, D_IP, 40000, 80, TCP_SYN), TC_ACT_REDIRECT);
	assert_int_equal(ct_count(VPC_A, D_IP), 6);
	assert_int_equal(ct_count(VPC_A, B_IP), 0);
}

static void the_host_quota_applies_and_dead_entries_free_the_quota(void **state)
{
	struct host h;
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(env.host_fd, &zero, &h), 0);
	h.ct_quota = 2;
	assert_int_equal(bpf_map_update_elem(env.host_fd, &zero, &h, BPF_EXIST), 0);
	group(1, NULL, 0);
	join(VPC_A, A_IP, 1);
	assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 21000, 53), TC_ACT_REDIRECT);
	assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 21001, 53), TC_ACT_REDIRECT);
	assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 21002, 53), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_CT_NIC_QUOTA), 1);
	/* a NIC's own quota wins over the host's */
	nic_quota(VPC_A, A_IP, 3);
	assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 21002, 53), TC_ACT_REDIRECT);
	assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 21003, 53), TC_ACT_SHOT);
	/* one flow dies: the sweep (at most once a second) deletes it and a new flow fits */
	ct_age(VPC_A, A_IP, 17, A_IP, 21000, V_IP, 53, CT_TIMEOUT_UDP + 1);
	usleep(1100 * 1000);
	assert_int_equal(udp(PORT_A, A_MAC, V_MAC, A_IP, V_IP, 21003, 53), TC_ACT_REDIRECT);
	assert_int_equal(ct_count(VPC_A, A_IP), 3);
}

#define T(f) cmocka_unit_test_setup(f, setup)
static const struct CMUnitTest sg_tests[] = {
	T(nic_without_group_is_open),
	T(empty_group_denies_ingress_and_allows_egress),
	T(ingress_allow_tcp_port),
	T(ingress_port_range_bounds),
	T(ingress_cidr_matches_the_source),
	T(first_match_wins_by_priority),
	T(egress_deny_rule_and_default_allow),
	T(icmp_and_any_rules),
	T(tcp_reply_passes_and_states_advance),
	T(mid_stream_pickup_waits_for_an_answer),
	T(tcp_rst_closes),
	T(syn_after_close_is_a_new_connection),
	T(established_flow_survives_rule_removal),
	T(udp_reply_and_idle_timeout),
	T(icmp_echo_reply_passes),
	T(icmp_error_about_a_tracked_flow_passes),
	T(two_vpcs_with_equal_addresses_keep_apart),
	T(egress_state_does_not_open_the_peers_ingress),
	T(later_fragments_pass_without_ports),
	T(drop_event_names_the_rule_and_the_nic),
	T(commit_swaps_generations_and_removes_the_old),
	T(full_conntrack_refuses_new_flows_and_keeps_old),
	T(random_rules_match_first_match_semantics),
	T(a_nic_at_its_quota_gets_no_new_flow_and_others_still_do),
	T(the_host_quota_applies_and_dead_entries_free_the_quota),
};

SUITE(sg_suite, "sg", sg_tests)
