/* tests/unit/test_dhcp.c — DHCP fixtures for nic_ingress: request in, the server's reply out byte for byte, drops counted. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "suite.h"
#include "env.h"
#include "pktbuild.h"
#include "topo.h"

#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

/*
 * VPC 100, subnet 10.0.1.0/24 (gateway 10.0.1.1): A 10.0.1.5 on port 0 (DHCP
 * on), B 10.0.1.6 on port 1 (DHCP off). The subnet's DHCP record: DNS
 * 10.0.0.2 and 10.0.0.3, domain "corp.example", routes 172.16.0.0/12 and
 * 10.50.0.0/16. The host's underlay MTU is 1500 (env_reset): option 26 says 1450.
 */
#define VPC 100
#define A_IP "10.0.1.5"
#define A_MAC "02:00:00:64:01:05"
#define B_IP "10.0.1.6"
#define B_MAC "02:00:00:64:01:06"
#define GW "10.0.1.1"
#define BCAST_MAC "ff:ff:ff:ff:ff:ff"
#define XID 0x3903f326U

static const uint8_t a_mac[6] = { 0x02, 0x00, 0x00, 0x64, 0x01, 0x05 };

static int dhcp_fd(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", env.pin_dir, MAP_SUBNET_DHCP);
	return bpf_obj_get(path);
}

static struct subnet_key subnet_of_a(void)
{
	struct subnet_key k = { .vni = VPC, .len = 24 };

	inet_pton(AF_INET, "10.0.1.0", &k.prefix);
	return k;
}

static int reset(void **state)
{
	struct subnet_key k = subnet_of_a();
	int fd = dhcp_fd();

	assert_true(fd >= 0);
	bpf_map_delete_elem(fd, &k);
	close(fd);
	return env_reset();
}

static void world(int with_options)
{
	struct nic_key kb = { .vni = VPC };
	struct nic b;

	topo_nic_local(VPC, A_IP, A_MAC, "10.0.1.0/24", 0, SC_ON);
	topo_nic_local(VPC, B_IP, B_MAC, "10.0.1.0/24", 1, SC_ON);
	inet_pton(AF_INET, B_IP, &kb.ip);
	assert_int_equal(bpf_map_lookup_elem(env.nics_fd, &kb, &b), 0);
	b.flags |= NIC_F_NO_DHCP;
	assert_int_equal(bpf_map_update_elem(env.nics_fd, &kb, &b, BPF_ANY), 0);
	if (with_options) {
		struct subnet_key k = subnet_of_a();
		struct subnet_dhcp d = { .dns_count = 2, .route_count = 2, .domain_len = 12 };
		int fd = dhcp_fd();

		inet_pton(AF_INET, "10.0.0.2", &d.dns[0]);
		inet_pton(AF_INET, "10.0.0.3", &d.dns[1]);
		inet_pton(AF_INET, "172.16.0.0", &d.route_prefix[0]);
		d.route_len[0] = 12;
		inet_pton(AF_INET, "10.50.0.0", &d.route_prefix[1]);
		d.route_len[1] = 16;
		memcpy(d.domain, "corp.example", 12);
		assert_int_equal(bpf_map_update_elem(fd, &k, &d, BPF_ANY), 0);
		close(fd);
	}
}

/* ---- BOOTP bodies ---- */
struct bootp {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
	uint8_t chaddr[16];
	uint8_t sname[64], file[128];
	uint8_t cookie[4];
} __attribute__((packed));

static void put_addr(uint8_t *to, const char *ip)
{
	if (ip)
		inet_pton(AF_INET, ip, to);
}

static void bootp_fill(struct bootp *h, uint8_t op, uint16_t flags, const char *ciaddr, const char *yiaddr)
{
	memset(h, 0, sizeof(*h));
	h->op = op;
	h->htype = 1;
	h->hlen = 6;
	h->xid = htonl(XID);
	h->flags = htons(flags);
	put_addr(h->ciaddr, ciaddr);
	put_addr(h->yiaddr, yiaddr);
	memcpy(h->chaddr, a_mac, 6);
	memcpy(h->cookie, (uint8_t[]){ 0x63, 0x82, 0x53, 0x63 }, 4);
}

/* A request as a client sends it: from `src` (0.0.0.0 while it has no address) to `dst`. */
static void request(struct pb *b, const char *mac, const char *src, const char *dst, uint16_t flags,
		    const char *ciaddr, const uint8_t *opts, size_t nopts)
{
	struct bootp h;

	bootp_fill(&h, 1, flags, ciaddr, NULL);
	pb_init(b);
	pb_eth(b, strcmp(dst, GW) ? BCAST_MAC : "02:00:5e:00:00:01", mac, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 17, .ttl = 64 });
	pb_udp(b, 68, 67);
	pb_bytes(b, &h, sizeof(h));
	pb_bytes(b, opts, nopts);
	pb_done(b);
}

/* The reply the server must send: one 576-byte datagram, options then zeros. */
static void reply(struct pb *b, const char *eth_dst, const char *ip_dst, uint16_t flags, const char *ciaddr,
		  const char *yiaddr, const uint8_t *opts, size_t nopts)
{
	uint8_t pad[576] = { 0 };
	struct bootp h;

	bootp_fill(&h, 2, flags, ciaddr, yiaddr);
	pb_init(b);
	pb_eth(b, eth_dst, ROUTER_MAC_S, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = GW, .dst = ip_dst, .proto = 17, .ttl = 64 });
	pb_udp(b, 67, 68);
	pb_bytes(b, &h, sizeof(h));
	pb_bytes(b, opts, nopts);
	pb_bytes(b, pad, 576 - 20 - 8 - sizeof(h) - nopts);
	pb_done(b);
}

static int run(int port, const struct pb *in, uint8_t *out, size_t *out_len)
{
	int verdict = -1;

	*out_len = PB_MAX;
	assert_int_equal(env_run(port, in->data, in->len, out, out_len, &verdict), 0);
	return verdict;
}

static void assert_frame(const struct pb *want, const uint8_t *out, size_t out_len)
{
	int differ = 0;

	assert_int_equal(out_len, want->len);
	for (size_t i = 0; i < want->len; i++)
		if (out[i] != want->data[i] && differ++ < 8)
			fprintf(stderr, "byte %zu: got %02x, want %02x\n", i, out[i], want->data[i]);
	assert_int_equal(differ, 0);
	assert_true(pb_checksums_ok(out, out_len));
}

#define OPT_MSG(t) 53, 1, (t)
#define OPT_SERVER 54, 4, 10, 0, 1, 1
#define OPT_LEASE 51, 4, 0, 0, 0x0e, 0x10, 58, 4, 0, 0, 0x07, 0x08, 59, 4, 0, 0, 0x0c, 0x4e
#define OPT_NET 1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 1, 1, 26, 2, 0x05, 0xaa
#define OPT_SUBNET_RECORD                                                                              \
	6, 8, 10, 0, 0, 2, 10, 0, 0, 3, 15, 12, 'c', 'o', 'r', 'p', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', \
		121, 14, 12, 172, 16, 10, 0, 1, 1, 16, 10, 50, 10, 0, 1, 1

static const uint8_t discover_opts[] = { OPT_MSG(1), 55, 4, 1, 3, 26, 121, 255 };

static void discover_gets_an_offer_of_the_nics_address_with_every_option(void **state)
{
	static const uint8_t offer[] = { OPT_MSG(2), OPT_SERVER, OPT_LEASE, OPT_NET, OPT_SUBNET_RECORD, 255 };
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in, want;

	world(1);
	request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, discover_opts, sizeof(discover_opts));
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_REDIRECT);
	/* no broadcast flag: unicast to the offered address and the client's MAC */
	reply(&want, A_MAC, A_IP, 0, NULL, A_IP, offer, sizeof(offer));
	assert_frame(&want, out, out_len);
	assert_int_equal(env_drops_total(), 0);
}

static void discover_with_the_broadcast_flag_is_answered_by_broadcast(void **state)
{
	static const uint8_t offer[] = { OPT_MSG(2), OPT_SERVER, OPT_LEASE, OPT_NET, 255 };
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in, want;

	world(0); /* no DHCP record: address, mask, router, MTU and lease only */
	request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0x8000, NULL, discover_opts, sizeof(discover_opts));
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_REDIRECT);
	reply(&want, BCAST_MAC, "255.255.255.255", 0x8000, NULL, A_IP, offer, sizeof(offer));
	assert_frame(&want, out, out_len);
}

static void request_for_the_nics_address_gets_an_ack(void **state)
{
	static const uint8_t req[] = { OPT_MSG(3), 50, 4, 10, 0, 1, 5, OPT_SERVER, 255 };
	static const uint8_t ack[] = { OPT_MSG(5), OPT_SERVER, OPT_LEASE, OPT_NET, OPT_SUBNET_RECORD, 255 };
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in, want;

	world(1);
	request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, req, sizeof(req));
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_REDIRECT);
	reply(&want, A_MAC, A_IP, 0, NULL, A_IP, ack, sizeof(ack));
	assert_frame(&want, out, out_len);
}

static void renewing_request_unicast_to_the_gateway_gets_an_ack_to_its_address(void **state)
{
	static const uint8_t req[] = { OPT_MSG(3), 255 };
	static const uint8_t ack[] = { OPT_MSG(5), OPT_SERVER, OPT_LEASE, OPT_NET, 255 };
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in, want;

	world(0);
	request(&in, A_MAC, A_IP, GW, 0, A_IP, req, sizeof(req));
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_REDIRECT);
	reply(&want, A_MAC, A_IP, 0, A_IP, A_IP, ack, sizeof(ack));
	assert_frame(&want, out, out_len);
}

static void request_for_another_address_gets_a_nak(void **state)
{
	static const uint8_t req[] = { OPT_MSG(3), 50, 4, 10, 0, 1, 99, 255 };
	static const uint8_t nak[] = { OPT_MSG(6), OPT_SERVER, 255 };
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in, want;

	world(1);
	request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, req, sizeof(req));
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_REDIRECT);
	reply(&want, BCAST_MAC, "255.255.255.255", 0, NULL, NULL, nak, sizeof(nak));
	assert_frame(&want, out, out_len);
}

static void inform_gets_an_ack_without_lease_or_address(void **state)
{
	static const uint8_t inform[] = { OPT_MSG(8), 255 };
	static const uint8_t ack[] = { OPT_MSG(5), OPT_SERVER, OPT_NET, OPT_SUBNET_RECORD, 255 };
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in, want;

	world(1);
	request(&in, A_MAC, A_IP, "255.255.255.255", 0, A_IP, inform, sizeof(inform));
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_REDIRECT);
	reply(&want, A_MAC, A_IP, 0, A_IP, NULL, ack, sizeof(ack));
	assert_frame(&want, out, out_len);
}

static void release_is_taken_without_a_reply_or_a_drop(void **state)
{
	static const uint8_t release[] = { OPT_MSG(7), OPT_SERVER, 255 };
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in;

	world(1);
	request(&in, A_MAC, A_IP, GW, 0, A_IP, release, sizeof(release));
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_SHOT);
	assert_int_equal(env_drops_total(), 0);
}

static void a_nic_with_dhcp_off_gets_no_answer(void **state)
{
	struct pb in;
	uint8_t out[PB_MAX];
	size_t out_len;

	world(1);
	request(&in, B_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, discover_opts, sizeof(discover_opts));
	assert_int_equal(run(1, &in, out, &out_len), TC_ACT_SHOT);
	/* ... and is not the server's: no route for a broadcast, or B's chaddr is A's: either way no reply */
	assert_int_equal(env_drops(DROP_DHCP_MALFORMED), 0);
	assert_int_equal(env_drops_total(), 1);
}

static void malformed_requests_are_counted_drops(void **state)
{
	static const uint8_t no_type[] = { 50, 4, 10, 0, 1, 5, 255 };
	static const uint8_t overrun[] = { OPT_MSG(1), 55, 40, 1, 3 };
	static const uint8_t bad_type_len[] = { 53, 2, 1, 1, 255 };
	static const uint8_t unknown_type[] = { OPT_MSG(42), 255 };
	static const struct {
		const uint8_t *opts;
		size_t n;
	} cases[] = {
		{ no_type, sizeof(no_type) },
		{ overrun, sizeof(overrun) },
		{ bad_type_len, sizeof(bad_type_len) },
		{ unknown_type, sizeof(unknown_type) },
	};
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in;
	uint64_t n = 0;

	world(1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, cases[i].opts, cases[i].n);
		assert_int_equal(run(0, &in, out, &out_len), TC_ACT_SHOT);
		assert_int_equal(env_drops(DROP_DHCP_MALFORMED), ++n);
	}
	/* a bad magic cookie */
	request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, discover_opts, sizeof(discover_opts));
	in.data[14 + 20 + 8 + 236] = 0;
	pb_done(&in);
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_DHCP_MALFORMED), ++n);
	/* cut inside the fixed part: the UDP length says so */
	request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, discover_opts, sizeof(discover_opts));
	pb_trunc(&in, 14 + 20 + 8 + 100);
	pb_done(&in);
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_DHCP_MALFORMED), ++n);
	/* a BOOTREPLY sent to the server */
	request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, discover_opts, sizeof(discover_opts));
	in.data[14 + 20 + 8] = 2;
	pb_done(&in);
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_DHCP_MALFORMED), ++n);
	assert_int_equal(env_drops_total(), n);
}

static void a_request_for_another_macs_address_is_spoofing(void **state)
{
	uint8_t out[PB_MAX];
	size_t out_len;
	struct pb in;

	world(1);
	request(&in, A_MAC, "0.0.0.0", "255.255.255.255", 0, NULL, discover_opts, sizeof(discover_opts));
	in.data[14 + 20 + 8 + 28 + 5] = 0x99; /* chaddr */
	pb_done(&in);
	assert_int_equal(run(0, &in, out, &out_len), TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_SPOOF_MAC), 1);
}

static const struct CMUnitTest dhcp_tests[] = {
	cmocka_unit_test_setup(discover_gets_an_offer_of_the_nics_address_with_every_option, reset),
	cmocka_unit_test_setup(discover_with_the_broadcast_flag_is_answered_by_broadcast, reset),
	cmocka_unit_test_setup(request_for_the_nics_address_gets_an_ack, reset),
	cmocka_unit_test_setup(renewing_request_unicast_to_the_gateway_gets_an_ack_to_its_address, reset),
	cmocka_unit_test_setup(request_for_another_address_gets_a_nak, reset),
	cmocka_unit_test_setup(inform_gets_an_ack_without_lease_or_address, reset),
	cmocka_unit_test_setup(release_is_taken_without_a_reply_or_a_drop, reset),
	cmocka_unit_test_setup(a_nic_with_dhcp_off_gets_no_answer, reset),
	cmocka_unit_test_setup(malformed_requests_are_counted_drops, reset),
	cmocka_unit_test_setup(a_request_for_another_macs_address_is_spoofing, reset),
};

SUITE(dhcp_suite, "dhcp", dhcp_tests)
