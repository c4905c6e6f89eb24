/* tests/unit/test_nic_ingress.c — packet fixtures for nic_ingress: frame in, verdict, frame out, drop counted. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "suite.h"
#include "env.h"
#include "pktbuild.h"
#include "topo.h"

#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

/* ---- the world every fixture starts from ---- */
/*
 * VPC 100   10.0.1.0/24 gw .1: A .5 (port 0), B .6 (port 1), V .254 (port 3, an
 *           appliance: source check off); 10.0.2.0/24 gw .1: C .7 (port 2),
 *           R .9 (remote host 192.168.0.2)
 *           routes: both subnets connected, 172.16.0.0/12 via V,
 *           10.9.0.0/16 blackhole, 10.50.0.0/16 peer 200,
 *           10.60.0.0/16 via 10.0.1.77 (no such NIC), 10.70.0.0/16 peer 999 (no such VPC)
 * VPC 200   10.50.0.0/24 gw .1: P .8 (port 4); routes: connected, 10.0.0.0/8 peer 100
 * VPC 300   the same addresses as VPC 100: X5 10.0.1.5 (port 5), X6 10.0.1.6 (port 6)
 * port 7    an interface with no NIC
 */
#define VPC_A 100
#define VPC_P 200
#define VPC_X 300

#define A_IP "10.0.1.5"
#define A_MAC "02:00:00:64:01:05"
#define B_IP "10.0.1.6"
#define B_MAC "02:00:00:64:01:06"
#define C_IP "10.0.2.7"
#define C_MAC "02:00:00:64:02:07"
#define V_IP "10.0.1.254"
#define V_MAC "02:00:00:64:01:fe"
#define R_IP "10.0.2.9"
#define R_MAC "02:00:00:64:02:09"
#define P_IP "10.50.0.8"
#define P_MAC "02:00:00:c8:00:08"
#define X5_MAC "02:00:01:2c:01:05"
#define X6_MAC "02:00:01:2c:01:06"
#define GW1 "10.0.1.1"
#define GW2 "10.0.2.1"
#define ROUTER ROUTER_MAC_S
#define BCAST "ff:ff:ff:ff:ff:ff"
#define ZERO_MAC "00:00:00:00:00:00"

#define PORT_A 0
#define PORT_B 1
#define PORT_C 2
#define PORT_V 3
#define PORT_P 4
#define PORT_X5 5
#define PORT_X6 6
#define PORT_NONE 7

static void world(void)
{
	topo_nic_local(VPC_A, A_IP, A_MAC, "10.0.1.0/24", PORT_A, SC_ON);
	topo_nic_local(VPC_A, B_IP, B_MAC, "10.0.1.0/24", PORT_B, SC_ON);
	topo_nic_local(VPC_A, C_IP, C_MAC, "10.0.2.0/24", PORT_C, SC_ON);
	topo_nic_local(VPC_A, V_IP, V_MAC, "10.0.1.0/24", PORT_V, SC_OFF);
	topo_nic_remote(VPC_A, R_IP, R_MAC, "10.0.2.0/24", "192.168.0.2");
	topo_nic_local(VPC_P, P_IP, P_MAC, "10.50.0.0/24", PORT_P, SC_ON);
	topo_nic_local(VPC_X, A_IP, X5_MAC, "10.0.1.0/24", PORT_X5, SC_ON);
	topo_nic_local(VPC_X, B_IP, X6_MAC, "10.0.1.0/24", PORT_X6, SC_ON);

	if (!topo_have_routes())
		return;
	assert_int_equal(topo_route_connected(VPC_A, "10.0.1.0/24"), 0);
	assert_int_equal(topo_route_connected(VPC_A, "10.0.2.0/24"), 0);
	assert_int_equal(topo_route_via(VPC_A, "172.16.0.0/12", V_IP), 0);
	assert_int_equal(topo_route_blackhole(VPC_A, "10.9.0.0/16"), 0);
	assert_int_equal(topo_route_peer(VPC_A, "10.50.0.0/16", VPC_P), 0);
	assert_int_equal(topo_route_via(VPC_A, "10.60.0.0/16", "10.0.1.77"), 0);
	assert_int_equal(topo_route_peer(VPC_A, "10.70.0.0/16", 999), 0);
	assert_int_equal(topo_route_connected(VPC_P, "10.50.0.0/24"), 0);
	assert_int_equal(topo_route_peer(VPC_P, "10.0.0.0/8", VPC_A), 0);
	assert_int_equal(topo_route_connected(VPC_X, "10.0.1.0/24"), 0);
}

/* Longest prefix wins across nested prefixes; /0 and /32 included. */
static void world_lpm(void)
{
	world();
	assert_int_equal(topo_route_via(VPC_A, "10.9.5.0/24", V_IP), 0);
	assert_int_equal(topo_route_via(VPC_A, "10.9.7.7/32", V_IP), 0);
	assert_int_equal(topo_route_via(VPC_A, "0.0.0.0/0", V_IP), 0);
}

/* A world whose VM A has source check off. */
static void world_a_sc_off(void)
{
	world();
	topo_nic_local(VPC_A, A_IP, A_MAC, "10.0.1.0/24", PORT_A, SC_OFF);
}

/* ---- frames ---- */
/* UDP from `src` to `dst` with the given TTL, as a VM with MAC `mac` sends it to `to`. */
static void udp_frame(struct pb *b, const char *to, const char *mac, const char *src,
		      const char *dst, uint8_t ttl)
{
	pb_eth(b, to, mac, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 17, .ttl = ttl, .id = 0x1234 });
	pb_udp(b, 40000, 53);
	pb_payload(b, 32);
	pb_done(b);
}

static void arp_request(struct pb *b, const char *mac, const char *spa, const char *tpa)
{
	pb_eth(b, BCAST, mac, 0x0806);
	pb_arp(b, 1, mac, spa, ZERO_MAC, tpa);
}

static void arp_reply(struct pb *b, const char *to_mac, const char *to_ip, const char *mac,
		      const char *ip)
{
	pb_eth(b, to_mac, mac, 0x0806);
	pb_arp(b, 2, mac, ip, to_mac, to_ip);
}

static void echo_frame(struct pb *b, const char *eth_dst, const char *eth_src, const char *src,
		       const char *dst, uint8_t type, uint8_t ttl)
{
	pb_eth(b, eth_dst, eth_src, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 1, .ttl = ttl, .id = 0x4242 });
	pb_icmp_echo(b, type, 7, 1);
	pb_payload(b, 56);
	pb_done(b);
}

/* ARP */
static void in_arp_gw(struct pb *b) { arp_request(b, A_MAC, A_IP, GW1); }
static void out_arp_gw(struct pb *b) { arp_reply(b, A_MAC, A_IP, ROUTER, GW1); }
static void in_arp_b(struct pb *b) { arp_request(b, A_MAC, A_IP, B_IP); }
static void out_arp_b(struct pb *b) { arp_reply(b, A_MAC, A_IP, B_MAC, B_IP); }
static void in_arp_unknown(struct pb *b) { arp_request(b, A_MAC, A_IP, "10.0.1.99"); }
static void in_arp_other_subnet(struct pb *b) { arp_request(b, A_MAC, A_IP, C_IP); }
static void in_arp_spoof_ip(struct pb *b) { arp_request(b, A_MAC, "10.0.1.77", GW1); }
static void in_arp_dad(struct pb *b) { arp_request(b, A_MAC, "0.0.0.0", A_IP); }
static void in_arp_gratuitous(struct pb *b) { arp_request(b, A_MAC, A_IP, A_IP); }
static void in_arp_reply(struct pb *b) { arp_reply(b, B_MAC, B_IP, A_MAC, A_IP); }
static void in_arp_x(struct pb *b) { arp_request(b, X5_MAC, A_IP, B_IP); }
static void out_arp_x(struct pb *b) { arp_reply(b, X5_MAC, A_IP, X6_MAC, B_IP); }
static void in_arp_v_foreign(struct pb *b) { arp_request(b, V_MAC, "172.16.0.1", A_IP); }
static void out_arp_v_foreign(struct pb *b) { arp_reply(b, V_MAC, "172.16.0.1", A_MAC, A_IP); }

static void in_arp_spoof_sha(struct pb *b)
{
	pb_eth(b, BCAST, A_MAC, 0x0806);
	pb_arp(b, 1, "02:66:66:66:66:66", A_IP, ZERO_MAC, GW1);
}

static void in_arp_not_ipv4(struct pb *b)
{
	in_arp_gw(b);
	b->data[16] = 0x86; /* ptype 0x86dd */
	b->data[17] = 0xdd;
}

static void in_arp_truncated(struct pb *b)
{
	in_arp_gw(b);
	pb_trunc(b, 14 + 27);
}

static void in_arp_eth_only(struct pb *b) { pb_eth(b, BCAST, A_MAC, 0x0806); }

/* port security */
static void in_spoof_mac(struct pb *b) { udp_frame(b, ROUTER, "02:66:66:66:66:66", A_IP, C_IP, 64); }
static void in_spoof_ip(struct pb *b) { udp_frame(b, ROUTER, A_MAC, "10.0.1.77", C_IP, 64); }
static void in_foreign_src(struct pb *b) { udp_frame(b, ROUTER, A_MAC, "192.0.2.1", C_IP, 64); }
static void out_foreign_src(struct pb *b) { udp_frame(b, C_MAC, ROUTER, "192.0.2.1", C_IP, 63); }
static void in_v_foreign(struct pb *b) { udp_frame(b, A_MAC, V_MAC, "172.16.3.3", A_IP, 64); }
static void out_v_foreign(struct pb *b) { udp_frame(b, A_MAC, V_MAC, "172.16.3.3", A_IP, 64); }

/* the gateway */
static void in_echo_gw(struct pb *b) { echo_frame(b, ROUTER, A_MAC, A_IP, GW1, 8, 63); }
static void out_echo_gw(struct pb *b) { echo_frame(b, A_MAC, ROUTER, GW1, A_IP, 0, 64); }
static void in_echo_reply_gw(struct pb *b) { echo_frame(b, ROUTER, A_MAC, A_IP, GW1, 0, 64); }
static void in_udp_gw(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, GW1, 64); }

static void in_echo_gw_truncated(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = GW1, .proto = 1 });
	pb_bytes(b, (uint8_t[]){ 8, 0, 0, 0 }, 4);
	pb_done(b);
}

/* An echo whose IPv4 total length ends inside the ICMP header; the rest is Ethernet padding. */
static void in_echo_gw_short_total(struct pb *b)
{
	uint16_t check;

	echo_frame(b, ROUTER, A_MAC, A_IP, GW1, 8, 63);
	b->data[16] = 0;
	b->data[17] = 24;
	b->data[24] = b->data[25] = 0;
	check = pb_csum(b->data + 14, 20, 0);
	memcpy(b->data + 24, &check, 2);
}

/* forwarding */
static void in_to_b(struct pb *b) { udp_frame(b, B_MAC, A_MAC, A_IP, B_IP, 64); }
static void out_to_b(struct pb *b) { udp_frame(b, B_MAC, A_MAC, A_IP, B_IP, 64); }
static void in_to_c(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, C_IP, 64); }
static void out_to_c(struct pb *b) { udp_frame(b, C_MAC, ROUTER, A_IP, C_IP, 63); }
static void in_x_to_b(struct pb *b) { udp_frame(b, X6_MAC, X5_MAC, A_IP, B_IP, 64); }
static void out_x_to_b(struct pb *b) { udp_frame(b, X6_MAC, X5_MAC, A_IP, B_IP, 64); }
static void in_to_appliance(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "172.16.8.8", 64); }
static void out_to_appliance(struct pb *b) { udp_frame(b, V_MAC, ROUTER, A_IP, "172.16.8.8", 63); }
static void in_to_peer(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, P_IP, 64); }
static void out_to_peer(struct pb *b) { udp_frame(b, P_MAC, ROUTER, A_IP, P_IP, 63); }
static void in_peer_back(struct pb *b) { udp_frame(b, ROUTER, P_MAC, P_IP, C_IP, 9); }
static void out_peer_back(struct pb *b) { udp_frame(b, C_MAC, ROUTER, P_IP, C_IP, 8); }
static void in_to_lpm24(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "10.9.5.5", 64); }
static void out_to_lpm24(struct pb *b) { udp_frame(b, V_MAC, ROUTER, A_IP, "10.9.5.5", 63); }
static void in_to_lpm32(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "10.9.7.7", 64); }
static void out_to_lpm32(struct pb *b) { udp_frame(b, V_MAC, ROUTER, A_IP, "10.9.7.7", 63); }
static void in_to_lpm_hole(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "10.9.7.8", 64); }
static void out_to_default(struct pb *b) { udp_frame(b, V_MAC, ROUTER, A_IP, "8.8.8.8", 63); }
static void in_to_blackhole(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "10.9.1.1", 64); }
static void in_to_missing_nic(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "10.0.2.99", 64); }
static void in_to_nowhere(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "8.8.8.8", 64); }
static void in_to_bad_nexthop(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "10.60.1.1", 64); }
static void in_to_missing_peer(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "10.70.1.1", 64); }
static void in_to_peer_loop(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, "10.50.9.9", 64); }
static void in_to_remote(struct pb *b) { udp_frame(b, ROUTER, A_MAC, A_IP, R_IP, 64); }
static void in_x_to_c_addr(struct pb *b) { udp_frame(b, ROUTER, X5_MAC, A_IP, C_IP, 64); }

static void tcp_frame(struct pb *b, const char *to, const char *from, uint8_t ttl)
{
	pb_eth(b, to, from, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = C_IP, .proto = 6, .ttl = ttl, .id = 9,
				     .frag_off = 0x4000, .options = 4 });
	pb_tcp(b, 40001, 443, 0x02);
	pb_payload(b, 100);
	pb_done(b);
}
static void in_tcp_options(struct pb *b) { tcp_frame(b, ROUTER, A_MAC, 64); }
static void out_tcp_options(struct pb *b) { tcp_frame(b, C_MAC, ROUTER, 63); }

/* TTL: the expected error quotes the offending datagram (rounded down to 32-bit words) */
static void ttl_exceeded(struct pb *b, void (*orig)(struct pb *))
{
	struct pb in;
	size_t quote;

	pb_init(&in);
	orig(&in);
	quote = in.len - 14;
	if (quote > 548)
		quote = 548;
	quote &= ~3UL;
	pb_eth(b, A_MAC, ROUTER, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = GW1, .dst = A_IP, .proto = 1, .ttl = 64, .tos = 0xc0 });
	pb_icmp(b, 11, 0, 0);
	pb_bytes(b, in.data + 14, quote);
	pb_done(b);
}

static void in_ttl1(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = C_IP, .proto = 17, .ttl = 1, .id = 0x77 });
	pb_udp(b, 40000, 33434);
	pb_payload(b, 21); /* odd length: the quote is rounded down */
	pb_done(b);
}
static void out_ttl1(struct pb *b) { ttl_exceeded(b, in_ttl1); }

static void in_ttl1_big(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = C_IP, .proto = 17, .ttl = 1, .id = 0x78 });
	pb_udp(b, 40000, 33435);
	pb_payload(b, 1400);
	pb_done(b);
}
static void out_ttl1_big(struct pb *b) { ttl_exceeded(b, in_ttl1_big); }

static void in_ttl1_tcp(struct pb *b) { tcp_frame(b, ROUTER, A_MAC, 1); }
static void out_ttl1_tcp(struct pb *b) { ttl_exceeded(b, in_ttl1_tcp); }

static void in_ttl1_icmp_error(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = C_IP, .proto = 1, .ttl = 1 });
	pb_icmp(b, 3, 3, 0);
	pb_payload(b, 28);
	pb_done(b);
}

/* same-subnet delivery needs no TTL: a TTL of 1 goes through */
static void in_ttl1_same_subnet(struct pb *b) { udp_frame(b, B_MAC, A_MAC, A_IP, B_IP, 1); }

/* malformed and unsupported */
static void in_ipv6(struct pb *b)
{
	pb_eth(b, "33:33:00:00:00:01", A_MAC, 0x86dd);
	pb_payload(b, 40);
}
static void in_vlan(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x8100);
	pb_payload(b, 46);
}
static void in_eth_only(struct pb *b) { pb_eth(b, ROUTER, A_MAC, 0x0800); }
static void in_ip_cut_1(struct pb *b) { in_to_c(b); pb_trunc(b, 15); }
static void in_ip_cut_19(struct pb *b) { in_to_c(b); pb_trunc(b, 14 + 19); }
static void in_ip_cut_total(struct pb *b) { in_to_c(b); pb_trunc(b, 14 + 20 + 8); }
static void in_ip_ihl4(struct pb *b) { in_to_c(b); b->data[14] = 0x44; }
static void in_ip_version6(struct pb *b) { in_to_c(b); b->data[14] = 0x65; }
static void in_ip_options_cut(struct pb *b) { in_to_c(b); b->data[14] = 0x4f; pb_trunc(b, 14 + 40); }
static void in_ip_total_short(struct pb *b)
{
	in_to_c(b);
	b->data[16] = 0; /* total length 16 < header */
	b->data[17] = 16;
}
static void in_ip_total_long(struct pb *b)
{
	in_to_c(b);
	b->data[16] = 0x05; /* total length 1500 > frame */
	b->data[17] = 0xdc;
}

/* the IPv4 header checksum: verified, whatever else is right */
static void in_bad_csum(struct pb *b) { in_to_c(b); b->data[14 + 10] ^= 0x01; }
static void in_zero_csum(struct pb *b) { in_to_c(b); b->data[14 + 10] = 0; b->data[14 + 11] = 0; }
static void in_options_bad_csum(struct pb *b) { in_tcp_options(b); b->data[14 + 21] ^= 0x80; /* a NOP option altered */ }
static void in_bad_csum_to_gw(struct pb *b) { in_echo_gw(b); b->data[14 + 10] ^= 0x01; }

/* fragments: routed like any datagram (no reassembly); the group judges the first one (test_sg.c).
 * Protocol 253 (experimental): the payload is not an L4 header for the checksum checks. */
static void frag_frame(struct pb *b, const char *to, const char *from, uint8_t ttl, uint16_t frag_off)
{
	pb_eth(b, to, from, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = C_IP, .proto = 253, .ttl = ttl, .id = 77, .frag_off = frag_off });
	pb_payload(b, 40);
	pb_done(b);
}
static void in_first_frag(struct pb *b) { frag_frame(b, ROUTER, A_MAC, 64, 0x2000); }
static void out_first_frag(struct pb *b) { frag_frame(b, C_MAC, ROUTER, 63, 0x2000); }
static void in_later_frag(struct pb *b) { frag_frame(b, ROUTER, A_MAC, 64, 0x0005); }
static void out_later_frag(struct pb *b) { frag_frame(b, C_MAC, ROUTER, 63, 0x0005); }

/* the Ethernet padding after a short datagram is not part of it */
static void in_padded(struct pb *b)
{
	pb_eth(b, ROUTER, A_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = C_IP, .proto = 17, .id = 5 });
	pb_udp(b, 1, 2);
	pb_done(b);
	pb_bytes(b, (uint8_t[18]){ 0 }, 18);
}
static void out_padded(struct pb *b)
{
	pb_eth(b, C_MAC, ROUTER, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = A_IP, .dst = C_IP, .proto = 17, .id = 5, .ttl = 63 });
	pb_udp(b, 1, 2);
	pb_done(b);
	pb_bytes(b, (uint8_t[18]){ 0 }, 18);
}

/* ---- the fixture table ---- */
struct fixture {
	const char *name;
	void (*setup)(void);
	int port;                    /* local port the frame enters on (-1: loopback) */
	void (*input)(struct pb *);
	int verdict;
	void (*output)(struct pb *); /* expected frame, NULL: not checked */
	__u32 reason;                /* drop counted once, DROP_NONE: no drop at all */
	struct {
		__u32 vni;
		const char *ip;
	} rx;                        /* NIC that must count the delivery */
	int routes;                  /* needs the route table layer */
};

#define DELIVER(vni_, ip_) .verdict = TC_ACT_REDIRECT, .rx = { vni_, ip_ }
#define DROPPED(reason_) .verdict = TC_ACT_SHOT, .reason = reason_

static const struct fixture fixtures[] = {
	/* ARP */
	{ "arp for the gateway is answered with the router MAC", world, PORT_A, in_arp_gw,
	  DELIVER(VPC_A, A_IP), .output = out_arp_gw },
	{ "arp for a same-subnet nic is answered with its MAC", world, PORT_A, in_arp_b,
	  DELIVER(VPC_A, A_IP), .output = out_arp_b },
	{ "arp in another vpc answers with that vpc's nic", world, PORT_X5, in_arp_x,
	  DELIVER(VPC_X, A_IP), .output = out_arp_x },
	{ "arp for an unknown target is dropped", world, PORT_A, in_arp_unknown, DROPPED(DROP_NO_NIC) },
	{ "arp for a nic of another subnet is dropped", world, PORT_A, in_arp_other_subnet,
	  DROPPED(DROP_NO_NIC) },
	{ "arp from a spoofed sender ip is dropped", world, PORT_A, in_arp_spoof_ip, DROPPED(DROP_SPOOF_IP) },
	{ "arp with a spoofed sender mac is dropped", world, PORT_A, in_arp_spoof_sha,
	  DROPPED(DROP_SPOOF_MAC) },
	{ "arp from an appliance (source check off) for a foreign sender is answered", world, PORT_V,
	  in_arp_v_foreign, DELIVER(VPC_A, V_IP), .output = out_arp_v_foreign },
	{ "arp duplicate address probe is not answered", world, PORT_A, in_arp_dad, DROPPED(DROP_UNSUPPORTED) },
	{ "gratuitous arp is not answered", world, PORT_A, in_arp_gratuitous, DROPPED(DROP_UNSUPPORTED) },
	{ "arp reply from a vm is dropped", world, PORT_A, in_arp_reply, DROPPED(DROP_UNSUPPORTED) },
	{ "arp for a non-ipv4 protocol is dropped", world, PORT_A, in_arp_not_ipv4, DROPPED(DROP_UNSUPPORTED) },
	{ "truncated arp is malformed", world, PORT_A, in_arp_truncated, DROPPED(DROP_MALFORMED) },
	{ "arp ethertype with no body is malformed", world, PORT_A, in_arp_eth_only, DROPPED(DROP_MALFORMED) },

	/* port security */
	{ "frame from an interface with no nic is dropped", world, PORT_NONE, in_to_c,
	  DROPPED(DROP_UNKNOWN_PORT) },
	{ "frame from the loopback ifindex is dropped", world, -1, in_to_c, DROPPED(DROP_UNKNOWN_PORT) },
	{ "spoofed source mac is dropped", world, PORT_A, in_spoof_mac, DROPPED(DROP_SPOOF_MAC) },
	{ "spoofed source mac is dropped even with source check off", world_a_sc_off, PORT_A, in_spoof_mac,
	  DROPPED(DROP_SPOOF_MAC) },
	{ "spoofed source ip is dropped", world, PORT_A, in_spoof_ip, DROPPED(DROP_SPOOF_IP) },
	{ "source check off lets a foreign source through", world_a_sc_off, PORT_A, in_foreign_src,
	  DELIVER(VPC_A, C_IP), .output = out_foreign_src },
	{ "appliance with source check off sends for other addresses", world, PORT_V, in_v_foreign,
	  DELIVER(VPC_A, A_IP), .output = out_v_foreign },

	/* the gateway */
	{ "echo request to the gateway gets an echo reply", world, PORT_A, in_echo_gw,
	  DELIVER(VPC_A, A_IP), .output = out_echo_gw },
	{ "echo reply to the gateway is dropped", world, PORT_A, in_echo_reply_gw, DROPPED(DROP_UNSUPPORTED) },
	{ "udp to the gateway is dropped", world, PORT_A, in_udp_gw, DROPPED(DROP_UNSUPPORTED) },
	{ "echo to the gateway cut in the icmp header is malformed", world, PORT_A, in_echo_gw_truncated,
	  DROPPED(DROP_MALFORMED) },
	{ "echo whose total length ends inside the icmp header is malformed", world, PORT_A,
	  in_echo_gw_short_total, DROPPED(DROP_MALFORMED) },

	/* forwarding */
	{ "same subnet is bridged: ttl unchanged, source mac kept", world, PORT_A, in_to_b,
	  DELIVER(VPC_A, B_IP), .output = out_to_b },
	{ "same subnet delivers even a ttl of 1", world, PORT_A, in_ttl1_same_subnet,
	  DELIVER(VPC_A, B_IP), .output = in_ttl1_same_subnet },
	{ "other subnet is routed: ttl - 1, router mac", world, PORT_A, in_to_c,
	  DELIVER(VPC_A, C_IP), .output = out_to_c },
	{ "routed tcp with ip options keeps valid checksums", world, PORT_A, in_tcp_options,
	  DELIVER(VPC_A, C_IP), .output = out_tcp_options },
	{ "ethernet padding is carried, not parsed", world, PORT_A, in_padded,
	  DELIVER(VPC_A, C_IP), .output = out_padded },
	{ "a first fragment is routed as it is", world, PORT_A, in_first_frag,
	  DELIVER(VPC_A, C_IP), .output = out_first_frag },
	{ "a later fragment is routed as it is", world, PORT_A, in_later_frag,
	  DELIVER(VPC_A, C_IP), .output = out_later_frag },
	{ "a bad ipv4 header checksum is dropped", world, PORT_A, in_bad_csum, DROPPED(DROP_IP_CHECKSUM) },
	{ "a zero ipv4 header checksum is dropped", world, PORT_A, in_zero_csum, DROPPED(DROP_IP_CHECKSUM) },
	{ "ip options are covered by the checksum", world, PORT_A, in_options_bad_csum,
	  DROPPED(DROP_IP_CHECKSUM) },
	{ "a bad checksum to the gateway gets no answer", world, PORT_A, in_bad_csum_to_gw,
	  DROPPED(DROP_IP_CHECKSUM) },
	{ "vpcs with the same addresses stay apart (vpc 300)", world, PORT_X5, in_x_to_b,
	  DELIVER(VPC_X, B_IP), .output = out_x_to_b },
	{ "vpcs with the same addresses stay apart (vpc 100)", world, PORT_A, in_to_b,
	  DELIVER(VPC_A, B_IP), .output = out_to_b },
	{ "an address of another vpc is not reachable", world, PORT_X5, in_x_to_c_addr,
	  DROPPED(DROP_NO_ROUTE) },
	{ "route via an appliance delivers to the appliance", world, PORT_A, in_to_appliance,
	  DELIVER(VPC_A, V_IP), .output = out_to_appliance, .routes = 1 },
	{ "blackhole route drops", world, PORT_A, in_to_blackhole, DROPPED(DROP_BLACKHOLE), .routes = 1 },
	{ "connected subnet without such a nic drops", world, PORT_A, in_to_missing_nic,
	  DROPPED(DROP_NO_NIC), .routes = 1 },
	{ "a /24 inside a blackhole /16 wins", world_lpm, PORT_A, in_to_lpm24,
	  DELIVER(VPC_A, V_IP), .output = out_to_lpm24, .routes = 1 },
	{ "a /32 route wins", world_lpm, PORT_A, in_to_lpm32,
	  DELIVER(VPC_A, V_IP), .output = out_to_lpm32, .routes = 1 },
	{ "next to a /32 the blackhole /16 still drops", world_lpm, PORT_A, in_to_lpm_hole,
	  DROPPED(DROP_BLACKHOLE), .routes = 1 },
	{ "a default route catches the rest", world_lpm, PORT_A, in_to_nowhere,
	  DELIVER(VPC_A, V_IP), .output = out_to_default, .routes = 1 },
	{ "connected subnets still win over the default route", world_lpm, PORT_A, in_to_missing_nic,
	  DROPPED(DROP_NO_NIC), .routes = 1 },
	{ "no route drops", world, PORT_A, in_to_nowhere, DROPPED(DROP_NO_ROUTE) },
	{ "route via an unknown next hop drops", world, PORT_A, in_to_bad_nexthop,
	  DROPPED(DROP_NEXTHOP_UNKNOWN), .routes = 1 },
	{ "peer route delivers into the peer vpc", world, PORT_A, in_to_peer,
	  DELIVER(VPC_P, P_IP), .output = out_to_peer, .routes = 1 },
	{ "peer route back from the peer vpc", world, PORT_P, in_peer_back,
	  DELIVER(VPC_A, C_IP), .output = out_peer_back, .routes = 1 },
	{ "peer route to a missing vpc drops", world, PORT_A, in_to_missing_peer,
	  DROPPED(DROP_PEER_UNKNOWN), .routes = 1 },
	{ "peering is not transitive: a second peer hop drops", world, PORT_A, in_to_peer_loop,
	  DROPPED(DROP_PEER_UNKNOWN), .routes = 1 },
	{ "remote nic is unreachable until the overlay exists", world, PORT_A, in_to_remote,
	  DROPPED(DROP_UNDERLAY_UNREACHABLE) },

	/* TTL */
	{ "ttl 1 on a routed hop returns icmp time exceeded", world, PORT_A, in_ttl1,
	  .verdict = TC_ACT_REDIRECT, .output = out_ttl1, .reason = DROP_TTL_EXCEEDED,
	  .rx = { VPC_A, A_IP } },
	{ "time exceeded quotes at most 548 bytes", world, PORT_A, in_ttl1_big,
	  .verdict = TC_ACT_REDIRECT, .output = out_ttl1_big, .reason = DROP_TTL_EXCEEDED,
	  .rx = { VPC_A, A_IP } },
	{ "time exceeded for tcp with ip options", world, PORT_A, in_ttl1_tcp,
	  .verdict = TC_ACT_REDIRECT, .output = out_ttl1_tcp, .reason = DROP_TTL_EXCEEDED,
	  .rx = { VPC_A, A_IP } },
	{ "no time exceeded about an icmp error", world, PORT_A, in_ttl1_icmp_error,
	  DROPPED(DROP_TTL_EXCEEDED) },

	/* malformed and unsupported frames: dropped, never passed to the host */
	{ "ipv6 is dropped", world, PORT_A, in_ipv6, DROPPED(DROP_UNSUPPORTED) },
	{ "vlan-tagged frame is dropped", world, PORT_A, in_vlan, DROPPED(DROP_UNSUPPORTED) },
	{ "ipv4 ethertype with no header is malformed", world, PORT_A, in_eth_only, DROPPED(DROP_MALFORMED) },
	{ "ipv4 header cut after 1 byte is malformed", world, PORT_A, in_ip_cut_1, DROPPED(DROP_MALFORMED) },
	{ "ipv4 header cut after 19 bytes is malformed", world, PORT_A, in_ip_cut_19, DROPPED(DROP_MALFORMED) },
	{ "frame shorter than the ipv4 total length is malformed", world, PORT_A, in_ip_cut_total,
	  DROPPED(DROP_MALFORMED) },
	{ "ipv4 options beyond the frame are malformed", world, PORT_A, in_ip_options_cut,
	  DROPPED(DROP_MALFORMED) },
	{ "ipv4 ihl 4 is malformed", world, PORT_A, in_ip_ihl4, DROPPED(DROP_MALFORMED) },
	{ "ip version 6 in an ipv4 ethertype is malformed", world, PORT_A, in_ip_version6,
	  DROPPED(DROP_MALFORMED) },
	{ "ipv4 total length below the header is malformed", world, PORT_A, in_ip_total_short,
	  DROPPED(DROP_MALFORMED) },
	{ "ipv4 total length beyond the frame is malformed", world, PORT_A, in_ip_total_long,
	  DROPPED(DROP_MALFORMED) },
};

#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
	print_message("# %s (%zu bytes):", what, n);
	for (size_t i = 0; i < n; i++)
		print_message("%s%02x", i % 16 ? " " : "\n#   ", p[i]);
	print_message("\n");
}

static int fixture_setup(void **state)
{
	return env_reset();
}

static void run_fixture(void **state)
{
	const struct fixture *f = *state;
	static struct pb in, want;
	static uint8_t out[PB_MAX + 256];
	size_t out_len = sizeof(out);
	int verdict = -1;
	int err;

	if (f->routes && !topo_have_routes()) {
		print_message("# SKIP: maps/route_table is not linked in\n");
		skip();
		return;
	}
	f->setup();
	pb_init(&in);
	f->input(&in);
	err = env_run(f->port, in.data, in.len, out, &out_len, &verdict);
	if (err == -EINVAL && in.len < 14 + 20 && in.data[12] == 0x08 && in.data[13] == 0x00) {
		/* the datapath bounds-checks these, but test_run cannot inject them */
		print_message("# SKIP: BPF_PROG_TEST_RUN rejects IPv4 frames shorter than an IPv4 header\n");
		skip();
		return;
	}
	assert_int_equal(err, 0);
	assert_int_equal(verdict, f->verdict);

	if (f->output) {
		pb_init(&want);
		f->output(&want);
		if (out_len != want.len || memcmp(out, want.data, want.len)) {
			hexdump("expected", want.data, want.len);
			hexdump("got", out, out_len);
			fail_msg("output frame differs");
		}
		if (out[12] == 0x08 && out[13] == 0x00)
			assert_true(pb_checksums_ok(out, out_len));
	}

	if (f->reason) {
		assert_int_equal(env_drops(f->reason), 1);
		assert_int_equal(env_drops_total(), 1);
	} else {
		assert_int_equal(env_drops_total(), 0);
	}

	if (f->rx.ip) {
		struct nic_stats s;

		assert_int_equal(env_nic_stats(f->rx.vni, f->rx.ip, &s), 0);
		assert_int_equal(s.rx_packets, 1);
		assert_int_equal(s.rx_bytes, f->output ? out_len : in.len);
	}
}

/* cmocka wants one CMUnitTest per test; the table is expanded at startup. */
static struct CMUnitTest fixture_tests[N_FIXTURES];

__attribute__((constructor(101))) static void fixtures_expand(void)
{
	for (size_t i = 0; i < N_FIXTURES; i++) {
		fixture_tests[i] = (struct CMUnitTest){
			.name = fixtures[i].name,
			.test_func = run_fixture,
			.setup_func = fixture_setup,
			.initial_state = (void *)&fixtures[i],
		};
	}
}

SUITE(fixture_suite, "fixtures", fixture_tests)
