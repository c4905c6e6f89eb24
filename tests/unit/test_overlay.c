/* tests/unit/test_overlay.c — VXLAN fixtures: encapsulation by nic_ingress, checks and decapsulation by the underlay programs. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "suite.h"
#include "env.h"
#include "pktbuild.h"
#include "topo.h"
#include "underlay.skel.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define XDP_DROP_ 1
#define XDP_PASS_ 2

/*
 * The world: this host is 192.168.0.1 on ul0 (neighbour 192.168.0.2 known,
 * forwarding on so bpf_fib_lookup answers with both MACs).
 * VPC 100  10.0.1.0/24: A .5 local (port 0), B .6 remote on 192.168.0.2
 *          10.0.2.0/24: C .7 remote on 192.168.0.2, D .8 local (port 2)
 *          10.0.3.0/24: U .9 remote on 203.0.113.9 (no route to that host)
 *          route 172.16.0.0/12 via D (an appliance that lives here)
 * VPC 300  the same 10.0.1.0/24: X5 .5 local (port 5)
 */
#define VPC_A 100
#define VPC_X 300
#define A_IP "10.0.1.5"
#define A_MAC "02:00:00:64:01:05"
#define B_IP "10.0.1.6"
#define B_MAC "02:00:00:64:01:06"
#define C_IP "10.0.2.7"
#define C_MAC "02:00:00:64:02:07"
#define D_IP "10.0.2.8"
#define D_MAC "02:00:00:64:02:08"
#define U_IP "10.0.3.9"
#define U_MAC "02:00:00:64:03:09"
#define X5_MAC "02:00:01:2c:01:05"
#define ROUTER ROUTER_MAC_S
#define PORT_A 0
#define PORT_D 2
#define PORT_X5 5

#define LOCAL_UL "192.168.0.1"
#define PEER_UL "192.168.0.2"
#define UL_MAC "02:0a:0a:0a:0a:01"
#define PEER_UL_MAC "02:0a:0a:0a:0a:02"
#define VXLAN_DPORT 4789

static struct underlay_bpf *ul_skel;
static int ul_ifindex, ul_tc_fd, ul_xdp_fd;

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "overlay: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f) {
		fprintf(stderr, "overlay: cannot open %s\n", path);
		return -1;
	}
	err = fputs(text, f) < 0;
	return fclose(f) || err ? -1 : 0;
}

/* The underlay device and the underlay programs, once per process (inside env's netns, against its maps). */
static int underlay_once(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = env.pin_dir);

	if (ul_skel)
		return 0;
	if (sh("ip link add ul0 type veth peer name ul0p") ||
	    sh("ip link set ul0 address " UL_MAC " up && ip link set ul0p address " PEER_UL_MAC " up") ||
	    sh("ip addr add " LOCAL_UL "/24 dev ul0") ||
	    sh("ip neigh replace " PEER_UL " lladdr " PEER_UL_MAC " dev ul0 nud permanent") ||
	    write_file("/proc/sys/net/ipv4/conf/ul0/forwarding", "1"))
		return -1;
	ul_ifindex = (int)if_nametoindex("ul0");
	ul_skel = underlay_bpf__open_opts(&oo);
	if (!ul_skel || underlay_bpf__load(ul_skel)) {
		fprintf(stderr, "overlay: cannot load underlay.bpf.o\n");
		return -1;
	}
	ul_tc_fd = bpf_program__fd(ul_skel->progs.underlay_ingress);
	ul_xdp_fd = bpf_program__fd(ul_skel->progs.underlay_xdp);
	return 0;
}

static void host_underlay(__u32 ifindex, __u32 mtu)
{
	struct host h;
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(env.host_fd, &zero, &h), 0);
	h.underlay_ifindex = ifindex;
	h.underlay_ip = inet_addr(LOCAL_UL);
	h.underlay_mtu = mtu;
	h.flags |= HOST_F_UP;
	assert_int_equal(bpf_map_update_elem(env.host_fd, &zero, &h, BPF_ANY), 0);
}

static void world(void)
{
	topo_nic_local(VPC_A, A_IP, A_MAC, "10.0.1.0/24", PORT_A, SC_ON);
	topo_nic_remote(VPC_A, B_IP, B_MAC, "10.0.1.0/24", PEER_UL);
	topo_nic_remote(VPC_A, C_IP, C_MAC, "10.0.2.0/24", PEER_UL);
	topo_nic_local(VPC_A, D_IP, D_MAC, "10.0.2.0/24", PORT_D, SC_OFF);
	topo_nic_remote(VPC_A, U_IP, U_MAC, "10.0.3.0/24", "203.0.113.9");
	topo_nic_local(VPC_X, A_IP, X5_MAC, "10.0.1.0/24", PORT_X5, SC_ON);
	if (topo_have_routes()) {
		assert_int_equal(topo_route_connected(VPC_A, "10.0.1.0/24"), 0);
		assert_int_equal(topo_route_connected(VPC_A, "10.0.2.0/24"), 0);
		assert_int_equal(topo_route_via(VPC_A, "172.16.0.0/12", D_IP), 0);
	}
	host_underlay((__u32)ul_ifindex, 1500);
}

static int setup(void **state)
{
	if (underlay_once())
		return -1;
	if (env_reset())
		return -1;
	world();
	return 0;
}

/* ---- frames ---- */
static void udp_frame(struct pb *b, const char *to, const char *mac, const char *src, const char *dst,
		      uint8_t ttl, uint16_t sport, size_t payload, uint16_t frag_off)
{
	pb_eth(b, to, mac, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 17, .ttl = ttl, .id = 0x1234,
				     .frag_off = frag_off });
	pb_udp(b, sport, 53);
	pb_payload(b, payload);
	pb_done(b);
}

/* The murmur3 finaliser and the source-port rule of bpf/encap.h, restated. */
static uint32_t mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static uint16_t flow_sport(uint32_t vni, uint8_t proto, const char *src, const char *dst, uint16_t sport,
			   uint16_t dport)
{
	uint32_t ports = (uint32_t)htons(sport) << 16 | htons(dport);
	uint32_t h = mix(vni ^ ((uint32_t)proto << 24));

	h = mix(h ^ inet_addr(src));
	h = mix(h ^ inet_addr(dst));
	h = mix(h ^ ports);
	return 49152 + (h & 0x3fff);
}

/*
 * A VXLAN frame as the wire carries it: outer Ethernet/IPv4 (DF, TTL 64,
 * id 0)/UDP (checksum 0)/VXLAN around `inner`. flags and ihl_options let
 * the malformed fixtures damage it.
 */
static void vxlan_frame(struct pb *b, const char *eth_dst, const char *eth_src, const char *src, const char *dst,
			uint16_t sport, uint32_t vni, uint32_t flags, uint8_t options, uint16_t frag_off,
			const struct pb *inner)
{
	uint8_t vx[8] = { flags >> 24, flags >> 16, flags >> 8, flags, vni >> 16, vni >> 8, vni, 0 };

	pb_eth(b, eth_dst, eth_src, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 17, .ttl = 64, .frag_off = frag_off,
				     .options = options });
	pb_udp(b, sport, VXLAN_DPORT);
	pb_bytes(b, vx, sizeof(vx));
	pb_bytes(b, inner->data, inner->len);
	pb_done(b);
	b->data[b->l4_off + 6] = 0; /* UDP checksum 0: allowed for IPv4, what we send */
	b->data[b->l4_off + 7] = 0;
}

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
	print_message("# %s (%zu bytes):", what, n);
	for (size_t i = 0; i < n; i++)
		print_message("%s%02x", i % 16 ? " " : "\n#   ", p[i]);
	print_message("\n");
}

static void assert_frame(const uint8_t *got, size_t got_len, const struct pb *want)
{
	if (got_len != want->len || memcmp(got, want->data, want->len)) {
		hexdump("expected", want->data, want->len);
		hexdump("got", got, got_len);
		fail_msg("output frame differs");
	}
}

static int run_prog_gso(int fd, int ifindex, bool xdp, const struct pb *in, uint8_t *out, size_t *out_len,
			__u32 gso_size)
{
	struct __sk_buff skb_ctx = { .ifindex = (__u32)ifindex, .gso_size = gso_size, .gso_segs = gso_size ? 2 : 0 };
	struct xdp_md xdp_ctx = { .ingress_ifindex = (__u32)ifindex, .data_end = (__u32)in->len };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = (__u32)in->len, .data_out = out,
		    .data_size_out = (__u32)*out_len, .repeat = 1);

	if (xdp) {
		o.ctx_in = &xdp_ctx;
		o.ctx_size_in = sizeof(xdp_ctx);
	} else {
		o.ctx_in = &skb_ctx;
		o.ctx_size_in = sizeof(skb_ctx);
	}
	assert_int_equal(bpf_prog_test_run_opts(fd, &o), 0);
	*out_len = o.data_size_out;
	return (int)o.retval;
}

static int run_prog(int fd, int ifindex, bool xdp, const struct pb *in, uint8_t *out, size_t *out_len)
{
	return run_prog_gso(fd, ifindex, xdp, in, out, out_len, 0);
}

static int run_nic(int port, const struct pb *in, uint8_t *out, size_t *out_len)
{
	int verdict = -1;

	assert_int_equal(env_run(port, in->data, in->len, out, out_len, &verdict), 0);
	return verdict;
}

/* ---- encapsulation (VM egress to a remote NIC) ---- */

/* Same subnet: the inner frame keeps A's MAC and the TTL; outer headers byte for byte. */
static void encap_same_subnet(void **state)
{
	static struct pb in, inner, want;
	static uint8_t out[PB_MAX + 128];
	size_t out_len = sizeof(out);
	struct nic_stats s;

	pb_init(&in);
	udp_frame(&in, B_MAC, A_MAC, A_IP, B_IP, 64, 40000, 32, 0);
	assert_int_equal(run_nic(PORT_A, &in, out, &out_len), TC_ACT_REDIRECT);
	pb_init(&inner);
	udp_frame(&inner, B_MAC, A_MAC, A_IP, B_IP, 64, 40000, 32, 0);
	pb_init(&want);
	vxlan_frame(&want, PEER_UL_MAC, UL_MAC, LOCAL_UL, PEER_UL, flow_sport(VPC_A, 17, A_IP, B_IP, 40000, 53),
		    VPC_A, 0x08000000, 0, 0x4000, &inner);
	assert_frame(out, out_len, &want);
	assert_int_equal(env_drops_total(), 0);
	assert_int_equal(env_nic_stats(VPC_A, B_IP, &s), 0);
	assert_int_equal(s.rx_packets, 1);
	assert_int_equal(s.rx_bytes, inner.len);
}

/* Routed to another subnet: TTL - 1 and the router MAC inside, the remote NIC's MAC as destination. */
static void encap_routed(void **state)
{
	static struct pb in, inner, want;
	static uint8_t out[PB_MAX + 128];
	size_t out_len = sizeof(out);

	pb_init(&in);
	udp_frame(&in, ROUTER, A_MAC, A_IP, C_IP, 64, 40000, 32, 0);
	assert_int_equal(run_nic(PORT_A, &in, out, &out_len), TC_ACT_REDIRECT);
	pb_init(&inner);
	udp_frame(&inner, C_MAC, ROUTER, A_IP, C_IP, 63, 40000, 32, 0);
	pb_init(&want);
	vxlan_frame(&want, PEER_UL_MAC, UL_MAC, LOCAL_UL, PEER_UL, flow_sport(VPC_A, 17, A_IP, C_IP, 40000, 53),
		    VPC_A, 0x08000000, 0, 0x4000, &inner);
	assert_frame(out, out_len, &want);
	assert_int_equal(env_drops_total(), 0);
}

static uint16_t encap_sport_of(uint16_t sport, uint16_t frag_off)
{
	static struct pb in;
	static uint8_t out[PB_MAX + 128];
	size_t out_len = sizeof(out);

	pb_init(&in);
	udp_frame(&in, B_MAC, A_MAC, A_IP, B_IP, 64, sport, 32, frag_off);
	assert_int_equal(run_nic(PORT_A, &in, out, &out_len), TC_ACT_REDIRECT);
	return (uint16_t)(out[34] << 8 | out[35]);
}

/* The source port is a function of the flow: stable, spread, in the ephemeral range, port-blind for fragments. */
static void encap_sport_per_flow(void **state)
{
	uint16_t a = encap_sport_of(40000, 0), a2 = encap_sport_of(40000, 0);
	uint16_t b = encap_sport_of(40001, 0), c = encap_sport_of(40002, 0);

	assert_int_equal(a, a2);
	assert_true(a >= 49152 && b >= 49152 && c >= 49152);
	assert_true(a != b || a != c);
	/* all fragments of one datagram (first with MF, a later one) share a port, whatever the ports say */
	assert_int_equal(encap_sport_of(40000, 0x2000), encap_sport_of(1, 0x0010));
}

/* Exactly underlay MTU - 50 fits; one byte more with DF gets "fragmentation needed" (MTU 1450) back. */
static void encap_mtu_fits(void **state)
{
	static struct pb in;
	static uint8_t out[PB_MAX + 128];
	size_t out_len = sizeof(out);

	pb_init(&in);
	udp_frame(&in, B_MAC, A_MAC, A_IP, B_IP, 64, 40000, 1450 - 28, 0x4000);
	assert_int_equal(run_nic(PORT_A, &in, out, &out_len), TC_ACT_REDIRECT);
	assert_int_equal(out_len, 50 + 14 + 1450);
	assert_int_equal(env_drops_total(), 0);
}

static void encap_frag_needed(void **state)
{
	static struct pb in, want;
	static uint8_t out[PB_MAX + 128];
	size_t out_len = sizeof(out);

	pb_init(&in);
	udp_frame(&in, ROUTER, A_MAC, A_IP, C_IP, 64, 40000, 1451 - 28, 0x4000);
	assert_int_equal(run_nic(PORT_A, &in, out, &out_len), TC_ACT_REDIRECT);
	/* ICMP 3/4 from A's gateway to A, next-hop MTU 1450, quoting 548 bytes of the datagram */
	pb_init(&want);
	pb_eth(&want, A_MAC, ROUTER, 0x0800);
	pb_ipv4(&want, &(struct pb_ip){ .src = "10.0.1.1", .dst = A_IP, .proto = 1, .ttl = 64, .tos = 0xc0 });
	pb_icmp(&want, 3, 4, 1450);
	{
		static struct pb q;

		pb_init(&q);
		udp_frame(&q, ROUTER, A_MAC, A_IP, C_IP, 63, 40000, 1451 - 28, 0x4000); /* TTL already spent */
		pb_bytes(&want, q.data + 14, 548);
	}
	pb_done(&want);
	assert_frame(out, out_len, &want);
	assert_true(pb_checksums_ok(out, out_len));
	assert_int_equal(env_drops(DROP_FRAG_NEEDED), 1);
	assert_int_equal(env_drops_total(), 1);
}

/* A smaller underlay MTU moves the limit with it. */
static void encap_frag_needed_small_underlay(void **state)
{
	static struct pb in;
	static uint8_t out[PB_MAX + 128];
	size_t out_len = sizeof(out);

	host_underlay((__u32)ul_ifindex, 1000);
	pb_init(&in);
	udp_frame(&in, B_MAC, A_MAC, A_IP, B_IP, 64, 40000, 951 - 28, 0x4000);
	assert_int_equal(run_nic(PORT_A, &in, out, &out_len), TC_ACT_REDIRECT);
	assert_int_equal(out[14 + 9], 1);                           /* ICMP */
	assert_int_equal(out[34], 3);                               /* destination unreachable */
	assert_int_equal(out[35], 4);                               /* fragmentation needed */
	assert_int_equal(out[34 + 6] << 8 | out[34 + 7], 1000 - 50); /* next-hop MTU */
	assert_int_equal(env_drops(DROP_FRAG_NEEDED), 1);
}

/* A GSO packet is checked by its segments (headers + gso_size), not by its length. */
static void encap_gso_checks_segments(void **state)
{
	static struct pb in;
	static uint8_t out[PB_MAX + 128];
	size_t out_len = sizeof(out);

	pb_init(&in);
	pb_eth(&in, B_MAC, A_MAC, 0x0800);
	pb_ipv4(&in, &(struct pb_ip){ .src = A_IP, .dst = B_IP, .proto = 6, .frag_off = 0x4000 });
	pb_tcp(&in, 40000, 5201, 0x10);
	pb_payload(&in, 600);
	pb_done(&in);
	/* 640 bytes would fit; segments of 20 + 20 + 1411 = 1451 do not */
	assert_int_equal(run_prog_gso(env.prog_fd, env.port_ifindex[PORT_A], false, &in, out, &out_len, 1411),
			 TC_ACT_REDIRECT);
	assert_int_equal(out[14 + 9], 1); /* ICMP fragmentation needed, MTU 1450 */
	assert_int_equal(out[34], 3);
	assert_int_equal(out[35], 4);
	assert_int_equal(out[34 + 6] << 8 | out[34 + 7], 1450);
	assert_int_equal(env_drops(DROP_FRAG_NEEDED), 1);
}

static void encap_unreachable_remote(void **state)
{
	static struct pb in;
	static uint8_t out[PB_MAX + 128];
	size_t out_len = sizeof(out);

	pb_init(&in);
	udp_frame(&in, ROUTER, A_MAC, A_IP, U_IP, 64, 40000, 32, 0);
	assert_int_equal(run_nic(PORT_A, &in, out, &out_len), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_UNDERLAY_UNREACHABLE), 1);
}

/* ---- decapsulation (underlay ingress) ---- */

struct decap_case {
	const char *name;
	void (*input)(struct pb *b);
	int tc_verdict;      /* underlay_ingress */
	int xdp_verdict;     /* underlay_xdp */
	__u32 reason;        /* counted by both, DROP_NONE for none */
	void (*output)(struct pb *b); /* tc's frame out; NULL: unchanged */
	int port;            /* the NIC interface it is redirected to */
	__u32 rx_vni;
	const char *rx_ip;
};

static void inner_b_to_a(struct pb *b) { udp_frame(b, A_MAC, B_MAC, B_IP, A_IP, 64, 5353, 40, 0); }
static void inner_c_to_a(struct pb *b) { udp_frame(b, A_MAC, ROUTER, C_IP, A_IP, 63, 5353, 40, 0); }

static void wrap(struct pb *b, void (*inner_fn)(struct pb *), uint32_t vni, uint32_t flags, uint8_t options,
		 uint16_t frag_off)
{
	static struct pb inner;

	pb_init(&inner);
	inner_fn(&inner);
	vxlan_frame(b, UL_MAC, PEER_UL_MAC, PEER_UL, LOCAL_UL, 51000, vni, flags, options, frag_off, &inner);
}

static void in_b_to_a(struct pb *b) { wrap(b, inner_b_to_a, VPC_A, 0x08000000, 0, 0x4000); }
static void out_b_to_a(struct pb *b) { inner_b_to_a(b); }

/* a sender that puts its own MAC on a routed packet: the VM sees the router */
static void inner_c_to_a_foreign_mac(struct pb *b) { udp_frame(b, A_MAC, C_MAC, C_IP, A_IP, 63, 5353, 40, 0); }
static void in_c_to_a(struct pb *b) { wrap(b, inner_c_to_a_foreign_mac, VPC_A, 0x08000000, 0, 0); }
static void out_c_to_a(struct pb *b) { inner_c_to_a(b); }

static void inner_to_x5(struct pb *b) { udp_frame(b, "02:99:99:99:99:99", B_MAC, B_IP, A_IP, 64, 5353, 40, 0); }
static void in_to_x5(struct pb *b) { wrap(b, inner_to_x5, VPC_X, 0x08000000, 0, 0x4000); }
static void out_to_x5(struct pb *b) { udp_frame(b, X5_MAC, B_MAC, B_IP, A_IP, 64, 5353, 40, 0); }

static void inner_to_appliance(struct pb *b) { udp_frame(b, D_MAC, ROUTER, C_IP, "172.16.1.1", 63, 5353, 40, 0); }
static void in_to_appliance(struct pb *b) { wrap(b, inner_to_appliance, VPC_A, 0x08000000, 0, 0); }
static void out_to_appliance(struct pb *b) { inner_to_appliance(b); }

/* ECN: the outer header marked CE on the underlay */
static void outer_ce(struct pb *b)
{
	uint16_t c;

	b->data[15] |= 3;
	b->data[24] = b->data[25] = 0;
	c = pb_csum(b->data + 14, 20, 0);
	memcpy(b->data + 24, &c, 2);
}
static void inner_ect(struct pb *b, uint8_t tos)
{
	pb_eth(b, A_MAC, B_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = B_IP, .dst = A_IP, .proto = 17, .ttl = 64, .tos = tos });
	pb_udp(b, 5353, 53);
	pb_payload(b, 40);
	pb_done(b);
}
static void inner_ect0(struct pb *b) { inner_ect(b, 0x02); }
static void in_ce_ect0(struct pb *b)
{
	wrap(b, inner_ect0, VPC_A, 0x08000000, 0, 0);
	outer_ce(b);
}
static void out_ce_ect0(struct pb *b) { inner_ect(b, 0x03); }
static void in_ce_not_ect(struct pb *b)
{
	wrap(b, inner_b_to_a, VPC_A, 0x08000000, 0, 0);
	outer_ce(b);
}

static void in_unknown_vni(struct pb *b) { wrap(b, inner_b_to_a, 4242, 0x08000000, 0, 0); }
static void inner_to_nobody(struct pb *b) { udp_frame(b, A_MAC, B_MAC, B_IP, "10.0.1.99", 64, 5353, 40, 0); }
static void in_no_nic(struct pb *b) { wrap(b, inner_to_nobody, VPC_A, 0x08000000, 0, 0); }
static void inner_to_remote(struct pb *b) { udp_frame(b, C_MAC, ROUTER, A_IP, C_IP, 63, 5353, 40, 0); }
static void in_not_local(struct pb *b) { wrap(b, inner_to_remote, VPC_A, 0x08000000, 0, 0); }

static void in_flags_zero(struct pb *b) { wrap(b, inner_b_to_a, VPC_A, 0, 0, 0); }
static void in_flags_extra(struct pb *b) { wrap(b, inner_b_to_a, VPC_A, 0x0c000000, 0, 0); }
static void in_ip_options(struct pb *b) { wrap(b, inner_b_to_a, VPC_A, 0x08000000, 4, 0); }
static void in_first_fragment(struct pb *b) { wrap(b, inner_b_to_a, VPC_A, 0x08000000, 0, 0x2000); }
static void in_short_vxlan(struct pb *b)
{
	wrap(b, inner_b_to_a, VPC_A, 0x08000000, 0, 0);
	pb_trunc(b, 14 + 20 + 8 + 4);
	b->data[16] = 0; /* keep the outer total length inside the frame */
	b->data[17] = 20 + 8 + 4;
}
static void in_short_inner(struct pb *b)
{
	wrap(b, inner_b_to_a, VPC_A, 0x08000000, 0, 0);
	pb_trunc(b, 14 + 50 + 10);
	b->data[16] = 0;
	b->data[17] = 50 + 10;
}
static void in_total_too_long(struct pb *b)
{
	wrap(b, inner_b_to_a, VPC_A, 0x08000000, 0, 0);
	b->data[16] = 0x05; /* 1400 bytes claimed */
	b->data[17] = 0x78;
}
static void inner_arp(struct pb *b)
{
	pb_eth(b, "ff:ff:ff:ff:ff:ff", B_MAC, 0x0806);
	pb_arp(b, 1, B_MAC, B_IP, "00:00:00:00:00:00", A_IP);
}
static void in_inner_arp(struct pb *b) { wrap(b, inner_arp, VPC_A, 0x08000000, 0, 0); }
/* the answer: turned around in place, from A's MAC, back to the asking VTEP */
static void inner_arp_reply(struct pb *b)
{
	pb_eth(b, B_MAC, A_MAC, 0x0806);
	pb_arp(b, 2, A_MAC, A_IP, B_MAC, B_IP);
}
static void out_inner_arp(struct pb *b)
{
	static struct pb inner;

	pb_init(&inner);
	inner_arp_reply(&inner);
	vxlan_frame(b, PEER_UL_MAC, UL_MAC, LOCAL_UL, PEER_UL, 51000, VPC_A, 0x08000000, 0, 0x4000, &inner);
}
static void inner_arp_for(struct pb *b, const char *tpa)
{
	pb_eth(b, "ff:ff:ff:ff:ff:ff", B_MAC, 0x0806);
	pb_arp(b, 1, B_MAC, B_IP, "00:00:00:00:00:00", tpa);
}
static void inner_arp_remote(struct pb *b) { inner_arp_for(b, C_IP); }
static void in_inner_arp_remote(struct pb *b) { wrap(b, inner_arp_remote, VPC_A, 0x08000000, 0, 0); }
static void inner_arp_nobody(struct pb *b) { inner_arp_for(b, "10.0.1.99"); }
static void in_inner_arp_nobody(struct pb *b) { wrap(b, inner_arp_nobody, VPC_A, 0x08000000, 0, 0); }
static void in_inner_arp_vni(struct pb *b) { wrap(b, inner_arp, 4242, 0x08000000, 0, 0); }
static void in_inner_arp_reply(struct pb *b) { wrap(b, inner_arp_reply, VPC_A, 0x08000000, 0, 0); }
static void in_inner_arp_cut(struct pb *b)
{
	wrap(b, inner_arp, VPC_A, 0x08000000, 0, 0);
	pb_trunc(b, b->len - 4);
	b->data[16] = (uint8_t)((b->len - 14) >> 8); /* the outer length agrees: only the ARP body is short */
	b->data[17] = (uint8_t)(b->len - 14);
}

/* not ours: passes untouched */
static void in_other_port(struct pb *b)
{
	udp_frame(b, UL_MAC, PEER_UL_MAC, PEER_UL, LOCAL_UL, 64, 5000, 40, 0);
}
static void in_other_host(struct pb *b)
{
	static struct pb inner;

	pb_init(&inner);
	inner_b_to_a(&inner);
	vxlan_frame(b, UL_MAC, PEER_UL_MAC, PEER_UL, "192.168.0.77", 51000, VPC_A, 0x08000000, 0, 0, &inner);
}
static void in_later_fragment(struct pb *b) { wrap(b, inner_b_to_a, VPC_A, 0x08000000, 0, 0x0010); }

#define DELIVERED(out, p, vni, ip) TC_ACT_REDIRECT, XDP_PASS_, DROP_NONE, out, p, vni, ip
#define DROPS(reason) TC_ACT_SHOT, XDP_DROP_, reason, NULL, -1, 0, NULL
#define PASSES TC_ACT_OK, XDP_PASS_, DROP_NONE, NULL, -1, 0, NULL

static const struct decap_case decap_cases[] = {
	{ "vxlan same subnet: decapsulated to A, sender's mac kept", in_b_to_a, DELIVERED(out_b_to_a, PORT_A, VPC_A, A_IP) },
	{ "vxlan routed: the router mac as source", in_c_to_a, DELIVERED(out_c_to_a, PORT_A, VPC_A, A_IP) },
	{ "vxlan vni 300: the nic of vpc 300 with the same address", in_to_x5,
	  DELIVERED(out_to_x5, PORT_X5, VPC_X, A_IP) },
	{ "vxlan for a route via a local appliance reaches the appliance", in_to_appliance,
	  DELIVERED(out_to_appliance, PORT_D, VPC_A, D_IP) },
	{ "vxlan marked ce on the underlay marks the ect inner packet ce", in_ce_ect0,
	  DELIVERED(out_ce_ect0, PORT_A, VPC_A, A_IP) },
	{ "vxlan marked ce leaves a not-ect inner packet alone", in_ce_not_ect,
	  DELIVERED(out_b_to_a, PORT_A, VPC_A, A_IP) },
	{ "vxlan unknown vni is dropped", in_unknown_vni, DROPS(DROP_UNKNOWN_VNI) },
	{ "vxlan for no nic is dropped", in_no_nic, DROPS(DROP_NO_NIC) },
	{ "vxlan for a nic of another host is dropped", in_not_local, DROPS(DROP_NOT_LOCAL) },
	{ "vxlan without the I flag is malformed", in_flags_zero, DROPS(DROP_VXLAN_MALFORMED) },
	{ "vxlan with unknown flags is malformed", in_flags_extra, DROPS(DROP_VXLAN_MALFORMED) },
	{ "vxlan with outer ip options is malformed", in_ip_options, DROPS(DROP_VXLAN_MALFORMED) },
	{ "vxlan in an outer first fragment is malformed", in_first_fragment, DROPS(DROP_VXLAN_MALFORMED) },
	{ "vxlan cut inside its header is malformed", in_short_vxlan, DROPS(DROP_VXLAN_MALFORMED) },
	{ "vxlan cut inside the inner headers is malformed", in_short_inner, DROPS(DROP_VXLAN_MALFORMED) },
	{ "vxlan whose total length passes the frame is malformed", in_total_too_long,
	  DROPS(DROP_VXLAN_MALFORMED) },
	{ "arp request in vxlan for a local nic is answered back to the asking vtep", in_inner_arp,
	  TC_ACT_REDIRECT, XDP_PASS_, DROP_NONE, out_inner_arp, -1, 0, NULL },
	{ "arp request in vxlan for a nic of another host is not answered", in_inner_arp_remote,
	  DROPS(DROP_NOT_LOCAL) },
	{ "arp request in vxlan for no nic is not answered", in_inner_arp_nobody, DROPS(DROP_NO_NIC) },
	{ "arp request in vxlan of an unknown vni is dropped", in_inner_arp_vni, DROPS(DROP_UNKNOWN_VNI) },
	{ "arp reply in vxlan is unsupported", in_inner_arp_reply, DROPS(DROP_UNSUPPORTED) },
	{ "arp in vxlan cut short is malformed", in_inner_arp_cut, DROPS(DROP_MALFORMED) },
	{ "udp to another port passes untouched", in_other_port, PASSES },
	{ "vxlan to another address passes untouched", in_other_host, PASSES },
	{ "a later outer fragment passes untouched", in_later_fragment, PASSES },
};
#define N_DECAP (sizeof(decap_cases) / sizeof(decap_cases[0]))

static void run_decap(void **state)
{
	const struct decap_case *c = *state;
	static struct pb in, want;
	static uint8_t out[PB_MAX + 128];
	size_t out_len;
	int verdict;

	pb_init(&in);
	c->input(&in);

	/* XDP first, as on the wire; it never changes a frame */
	out_len = sizeof(out);
	verdict = run_prog(ul_xdp_fd, ul_ifindex, true, &in, out, &out_len);
	assert_int_equal(verdict, c->xdp_verdict);
	assert_frame(out, out_len, &in);
	assert_int_equal(env_drops_total(), c->reason ? 1 : 0);
	if (c->reason)
		assert_int_equal(env_drops(c->reason), 1);

	/* then tc, on its own (xdp off) */
	assert_int_equal(env_reset(), 0);
	world();
	out_len = sizeof(out);
	verdict = run_prog(ul_tc_fd, ul_ifindex, false, &in, out, &out_len);
	assert_int_equal(verdict, c->tc_verdict);
	assert_int_equal(env_drops_total(), c->reason ? 1 : 0);
	if (c->reason)
		assert_int_equal(env_drops(c->reason), 1);
	pb_init(&want);
	if (c->output)
		c->output(&want);
	else
		pb_bytes(&want, in.data, in.len);
	assert_frame(out, out_len, &want);
	if (c->rx_ip) {
		struct nic_stats s;

		assert_true(pb_checksums_ok(out, out_len));
		assert_int_equal(env_nic_stats(c->rx_vni, c->rx_ip, &s), 0);
		assert_int_equal(s.rx_packets, 1);
		assert_int_equal(s.rx_bytes, out_len);
	}
}

/* What one host encapsulates, the other decapsulates back to the frame the VM is given. */
static void encap_decap_round_trip(void **state)
{
	static struct pb in, wire, want;
	static uint8_t out[PB_MAX + 128], back[PB_MAX + 128];
	size_t out_len = sizeof(out), back_len = sizeof(back);

	pb_init(&in);
	udp_frame(&in, ROUTER, A_MAC, A_IP, C_IP, 64, 40000, 100, 0);
	assert_int_equal(run_nic(PORT_A, &in, out, &out_len), TC_ACT_REDIRECT);
	/* the receiving host: C is local there (port 2 stands in), addressed to its underlay address */
	topo_nic_local(VPC_A, C_IP, C_MAC, "10.0.2.0/24", PORT_D, SC_ON);
	pb_init(&wire);
	pb_bytes(&wire, out, out_len);
	memcpy(wire.data + 14 + 16, (uint8_t[]){ 192, 168, 0, 1 }, 4); /* daddr: "us" */
	memcpy(wire.data + 14 + 12, (uint8_t[]){ 192, 168, 0, 2 }, 4);
	assert_int_equal(run_prog(ul_tc_fd, ul_ifindex, false, &wire, back, &back_len), TC_ACT_REDIRECT);
	pb_init(&want);
	udp_frame(&want, C_MAC, ROUTER, A_IP, C_IP, 63, 40000, 100, 0);
	assert_frame(back, back_len, &want);
}

/* The reason counted since the last reset, DROP_NONE when none, -1 when more than one. */
static int counted_reason(void)
{
	int found = DROP_NONE;

	for (__u32 r = 1; r < DROP__MAX; r++) {
		uint64_t n = env_drops(r);

		if (n > 1 || (n && found != DROP_NONE))
			return -1;
		if (n)
			found = (int)r;
	}
	return found;
}

static void zero_drops(void)
{
	__u64 zeros[env.nr_cpus];

	memset(zeros, 0, sizeof(zeros));
	for (__u32 r = 0; r < DROP__MAX; r++)
		assert_int_equal(bpf_map_update_elem(env.drops_fd, &r, zeros, BPF_ANY), 0);
}

static int try_run(int fd, bool xdp, const uint8_t *data, size_t len, uint8_t *out, size_t *out_len, int *verdict)
{
	struct __sk_buff skb_ctx = { .ifindex = (__u32)ul_ifindex };
	struct xdp_md xdp_ctx = { .ingress_ifindex = (__u32)ul_ifindex, .data_end = (__u32)len };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data, .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = (__u32)*out_len, .repeat = 1);
	int err;

	o.ctx_in = xdp ? (void *)&xdp_ctx : (void *)&skb_ctx;
	o.ctx_size_in = xdp ? sizeof(xdp_ctx) : sizeof(skb_ctx);
	err = bpf_prog_test_run_opts(fd, &o);
	*out_len = o.data_size_out;
	*verdict = (int)o.retval;
	return err;
}

/*
 * Mutated VXLAN (bits of the outer and inner headers flipped, the frame cut
 * short): XDP never changes a frame and only passes or drops; whatever XDP
 * drops, tc drops for the same reason; what tc lets pass to the kernel it
 * leaves untouched and does not count; exactly one reason per drop.
 */
static void decap_mutations_agree(void **state)
{
	static struct pb base;
	static uint8_t frame[PB_MAX], out[PB_MAX + 128];
	unsigned int seed = 0x5eed;
	int runs = 0;

	pb_init(&base);
	in_b_to_a(&base);
	for (int i = 0; i < 1000; i++) {
		size_t len = base.len, out_len;
		int xv, tv, xr, tr;

		memcpy(frame, base.data, base.len);
		for (int k = rand_r(&seed) % 4; k >= 0; k--)
			frame[rand_r(&seed) % 90] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
		if (rand_r(&seed) % 4 == 0)
			len = 14 + rand_r(&seed) % (base.len - 14);

		zero_drops();
		out_len = sizeof(out);
		if (try_run(ul_xdp_fd, true, frame, len, out, &out_len, &xv))
			continue; /* test_run refuses some short frames */
		assert_true(xv == XDP_PASS_ || xv == XDP_DROP_);
		assert_true(out_len == len && !memcmp(out, frame, len));
		xr = counted_reason();
		assert_true(xr >= 0);
		assert_true((xv == XDP_DROP_) == (xr != DROP_NONE));

		zero_drops();
		out_len = sizeof(out);
		if (try_run(ul_tc_fd, false, frame, len, out, &out_len, &tv))
			continue;
		tr = counted_reason();
		assert_true(tr >= 0);
		assert_true(tv == TC_ACT_OK || tv == TC_ACT_SHOT || tv == TC_ACT_REDIRECT);
		if (xv == XDP_DROP_) {
			assert_int_equal(tv, TC_ACT_SHOT);
			assert_int_equal(tr, xr);
		}
		if (tv == TC_ACT_OK) {
			assert_int_equal(tr, DROP_NONE);
			assert_true(out_len == len && !memcmp(out, frame, len));
		}
		if (tv == TC_ACT_SHOT)
			assert_true(tr != DROP_NONE);
		if (tv == TC_ACT_REDIRECT)
			assert_int_equal(out_len, len - 50);
		runs++;
	}
	print_message("# %d mutated frames through xdp and tc\n", runs);
	assert_true(runs > 500);
}

#define N_ENCAP 10
static struct CMUnitTest overlay_tests[N_ENCAP + N_DECAP] = {
	{ "encap: same subnet, outer headers byte for byte", encap_same_subnet, setup, NULL, NULL },
	{ "encap: routed, ttl - 1 and router mac inside", encap_routed, setup, NULL, NULL },
	{ "encap: source port from the flow hash, stable per flow, ephemeral range", encap_sport_per_flow, setup, NULL, NULL },
	{ "encap: underlay mtu - 50 fits exactly", encap_mtu_fits, setup, NULL, NULL },
	{ "encap: one byte more gets icmp fragmentation needed (mtu 1450)", encap_frag_needed, setup, NULL, NULL },
	{ "encap: the limit follows the underlay mtu", encap_frag_needed_small_underlay, setup, NULL, NULL },
	{ "encap: a gso packet is checked by its segment size", encap_gso_checks_segments, setup, NULL, NULL },
	{ "encap: no route to the remote host drops, counted", encap_unreachable_remote, setup, NULL, NULL },
	{ "encap then decap gives the vm its frame", encap_decap_round_trip, setup, NULL, NULL },
	{ "decap: xdp and tc agree on 1000 mutated frames", decap_mutations_agree, setup, NULL, NULL },
};

__attribute__((constructor(101))) static void decap_expand(void)
{
	for (size_t i = 0; i < N_DECAP; i++)
		overlay_tests[N_ENCAP + i] = (struct CMUnitTest){
			.name = decap_cases[i].name,
			.test_func = run_decap,
			.setup_func = setup,
			.initial_state = (void *)&decap_cases[i],
		};
}

SUITE(overlay_suite, "overlay", overlay_tests)
