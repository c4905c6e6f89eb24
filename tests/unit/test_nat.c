/* tests/unit/test_nat.c — the internet path byte for byte: SNAT, un-SNAT, EIP out and in, ICMP errors translated back, port collisions and exhaustion. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nic.skel.h"
#include "external.skel.h"
#include "suite.h"
#include "env.h"
#include "pktbuild.h"
#include "topo.h"
#include "maps/route_table.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

/*
 * VPC 100, 10.0.0.0/24, 0.0.0.0/0 internet: VM 10.0.0.2 (port 0), E 10.0.0.3 (port 1) with EIP
 * 203.0.113.100. Port 7 is the external device, 203.0.113.10/24, its next hop 203.0.113.1
 * (a permanent neighbour, so the FIB gives the MACs). SNAT uses the ports 40000-40000 unless a
 * test says otherwise: the allocated port is then known.
 */
#define VPC 100
#define VM_IP "10.0.0.2"
#define VM_MAC "02:00:00:00:01:02"
#define E_IP "10.0.0.3"
#define E_MAC "02:00:00:00:01:03"
#define PORT_VM 0
#define PORT_E 1
#define PORT_EXT 7
#define EXT_IP "203.0.113.10"
#define GW_IP "203.0.113.1"
#define GW_MAC "02:00:00:00:ee:01"
#define SRV "198.51.100.2"
#define EIP "203.0.113.100"
#define NAT_PORT 40000

static struct external_bpf *ext;
static int ext_prog_fd, nat_fd, nat_host_fd, eips_fd, nic_eips_fd, nat_counts_fd;
static char ext_mac[18];

static __be32 ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "test_nat: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static void flush(int fd, size_t key_size)
{
	char key[64], next[64];

	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

static void set_ports(__u16 lo, __u16 hi)
{
	struct nat_host nh = { .ext_ifindex = (__u32)env.port_ifindex[PORT_EXT], .ext_ip = ip(EXT_IP),
			       .port_lo = lo, .port_hi = hi, .ext_mtu = 1500 };
	unsigned int m[6];
	__u32 zero = 0;

	sscanf(ext_mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
	for (int i = 0; i < 6; i++)
		nh.ext_mac[i] = (__u8)m[i];
	assert_int_equal(bpf_map_update_elem(nat_host_fd, &zero, &nh, BPF_ANY), 0);
}

/* Once: the external device's address, route and neighbour, and external.bpf.o sharing the pinned maps. */
static int world_once(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = env.pin_dir);
	char path[64];
	__u32 idx = EXT_TAIL_DELIVER;
	int fd;
	FILE *f;

	if (sh("ip addr replace " EXT_IP "/24 dev vm7") || sh("ip link set vm7 up") || sh("ip link set vm7p up") ||
	    sh("ip neigh replace " GW_IP " lladdr " GW_MAC " dev vm7 nud permanent") ||
	    sh("ip route replace default via " GW_IP " dev vm7") ||
	    sh("sysctl -qw net.ipv4.conf.vm7.forwarding=1"))
		return -1;
	/* the MAC from the kernel of this netns (/sys shows the netns it was mounted in) */
	snprintf(path, sizeof(path), "ip -br link show vm7 | awk '{print $3}'");
	f = popen(path, "r");
	if (!f || !fgets(ext_mac, sizeof(ext_mac), f)) {
		if (f)
			pclose(f);
		return -1;
	}
	pclose(f);
	ext = external_bpf__open_opts(&oo);
	if (!ext || external_bpf__load(ext)) {
		fprintf(stderr, "test_nat: cannot load external.bpf.o: %s\n", strerror(errno));
		return -1;
	}
	ext_prog_fd = bpf_program__fd(ext->progs.external_ingress);
	fd = bpf_program__fd(ext->progs.external_deliver);
	if (bpf_map_update_elem(bpf_map__fd(ext->maps.external_tails), &idx, &fd, 0))
		return -1;
	nat_fd = bpf_map__fd(env.skel->maps.nat);
	nat_host_fd = bpf_map__fd(env.skel->maps.nat_host);
	eips_fd = bpf_map__fd(env.skel->maps.eips);
	nic_eips_fd = bpf_map__fd(env.skel->maps.nic_eips);
	nat_counts_fd = bpf_map__fd(env.skel->maps.nat_counts);
	return 0;
}

static int setup(void **state)
{
	static int ready;
	struct route r = { .kind = ROUTE_INTERNET };
	struct nic_key ek = { .vni = VPC, .ip = 0 };
	struct host h;
	__be32 eip = 0;
	__u32 zero = 0;

	if (!ready) {
		if (world_once()) {
			fprintf(stderr, "test_nat: the external device could not be set up\n");
			return -1;
		}
		ready = 1;
	}
	if (env_reset())
		return -1;
	flush(nat_fd, sizeof(struct nat_key));
	flush(nat_counts_fd, sizeof(struct nic_key));
	flush(eips_fd, sizeof(__be32));
	flush(nic_eips_fd, sizeof(struct nic_key));
	if (bpf_map_lookup_elem(env.host_fd, &zero, &h))
		return -1;
	h.flags |= HOST_F_UP;
	if (bpf_map_update_elem(env.host_fd, &zero, &h, BPF_ANY))
		return -1;
	topo_nic_local(VPC, VM_IP, VM_MAC, "10.0.0.0/24", PORT_VM, SC_ON);
	topo_nic_local(VPC, E_IP, E_MAC, "10.0.0.0/24", PORT_E, SC_ON);
	if (route_table_insert(&env.rm, VPC, &r)) {
		fprintf(stderr, "test_nat: cannot add the internet route\n");
		return -1;
	}
	ek.ip = ip(E_IP);
	eip = ip(EIP);
	if (bpf_map_update_elem(eips_fd, &eip, &ek, BPF_ANY) || bpf_map_update_elem(nic_eips_fd, &ek, &eip, BPF_ANY))
		return -1;
	set_ports(NAT_PORT, NAT_PORT);
	return 0;
}

static int run_ext(const void *in, size_t in_len, void *out, size_t *out_len, int *verdict)
{
	struct __sk_buff ctx = { .ifindex = (__u32)env.port_ifindex[PORT_EXT] };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = in_len, .data_out = out,
		    .data_size_out = *out_len, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err = bpf_prog_test_run_opts(ext_prog_fd, &o);

	if (err)
		return err;
	*out_len = o.data_size_out;
	*verdict = o.retval;
	return 0;
}

/* An IPv4 frame: src:sport -> dst:dport of proto (17 UDP, 6 TCP SYN) with 32 bytes of payload. */
static void frame(struct pb *b, const char *eth_dst, const char *eth_src, const char *src, const char *dst,
		  uint8_t proto, uint16_t sport, uint16_t dport, uint8_t ttl)
{
	pb_init(b);
	pb_eth(b, eth_dst, eth_src, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = proto, .ttl = ttl });
	if (proto == 17)
		pb_udp(b, sport, dport);
	else
		pb_tcp(b, sport, dport, 0x02);
	pb_payload(b, 32);
	pb_done(b);
}

static void expect_frame(const uint8_t *out, size_t out_len, const struct pb *want)
{
	assert_true(pb_checksums_ok(out, out_len));
	assert_int_equal(out_len, want->len);
	assert_memory_equal(out, want->data, want->len);
}

static void test_snat_udp(void **state)
{
	struct pb in, want;
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	int verdict;

	frame(&in, ROUTER_MAC_S, VM_MAC, VM_IP, SRV, 17, 5000, 9000, 64);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	/* out of the external device as the host, port 40000, one routed hop later */
	frame(&want, GW_MAC, ext_mac, EXT_IP, SRV, 17, NAT_PORT, 9000, 63);
	expect_frame(out, out_len, &want);
	assert_int_equal(env_drops_total(), 0);
}

static void test_unsnat_udp_reply(void **state)
{
	struct pb in, want;
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	int verdict;

	test_snat_udp(state);
	frame(&in, ext_mac, GW_MAC, SRV, EXT_IP, 17, 9000, NAT_PORT, 60);
	assert_int_equal(run_ext(in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, VM_MAC, ROUTER_MAC_S, SRV, VM_IP, 17, 9000, 5000, 59);
	expect_frame(out, out_len, &want);
}

/* Two VPCs, the same address and port: two mappings, two external ports. */
static void test_snat_two_vpcs_same_address(void **state)
{
	struct route r = { .kind = ROUTE_INTERNET };
	struct pb in, want;
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	int verdict;

	set_ports(NAT_PORT, NAT_PORT + 1);
	topo_nic_local(200, VM_IP, "02:00:00:00:02:02", "10.0.0.0/24", 2, SC_ON);
	assert_int_equal(route_table_insert(&env.rm, 200, &r), 0);
	frame(&in, ROUTER_MAC_S, VM_MAC, VM_IP, SRV, 17, 5000, 9000, 64);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	uint16_t p1 = ntohs(*(uint16_t *)(out + 14 + 20));
	frame(&in, ROUTER_MAC_S, "02:00:00:00:02:02", VM_IP, SRV, 17, 5000, 9000, 64);
	out_len = sizeof(out);
	assert_int_equal(env_run(2, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	uint16_t p2 = ntohs(*(uint16_t *)(out + 14 + 20));
	assert_int_not_equal(p1, p2);
	/* each reply finds its own VM: VPC 200's goes out of port 2 */
	frame(&in, ext_mac, GW_MAC, SRV, EXT_IP, 17, 9000, p2, 60);
	out_len = sizeof(out);
	assert_int_equal(run_ext(in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, "02:00:00:00:02:02", ROUTER_MAC_S, SRV, VM_IP, 17, 9000, 5000, 59);
	expect_frame(out, out_len, &want);
}

static void test_eip_out_and_in(void **state)
{
	struct pb in, want;
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	int verdict;

	frame(&in, ROUTER_MAC_S, E_MAC, E_IP, SRV, 6, 33000, 80, 64);
	assert_int_equal(env_run(PORT_E, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, GW_MAC, ext_mac, EIP, SRV, 6, 33000, 80, 63);
	expect_frame(out, out_len, &want);

	/* inbound to the EIP: to the NIC, ports kept, no mapping needed */
	frame(&in, ext_mac, GW_MAC, SRV, EIP, 6, 44000, 22, 64);
	out_len = sizeof(out);
	assert_int_equal(run_ext(in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, E_MAC, ROUTER_MAC_S, SRV, E_IP, 6, 44000, 22, 63);
	expect_frame(out, out_len, &want);
	assert_int_equal(env_drops_total(), 0);
}

static void test_eip_arp_answered_when_local(void **state)
{
	struct pb in, want;
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	int verdict;

	pb_init(&in);
	pb_eth(&in, "ff:ff:ff:ff:ff:ff", GW_MAC, 0x0806);
	pb_arp(&in, 1, GW_MAC, GW_IP, "00:00:00:00:00:00", EIP);
	pb_done(&in);
	assert_int_equal(run_ext(in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	pb_init(&want);
	pb_eth(&want, GW_MAC, ext_mac, 0x0806);
	pb_arp(&want, 2, ext_mac, EIP, GW_MAC, GW_IP);
	pb_done(&want);
	assert_int_equal(out_len, want.len);
	assert_memory_equal(out, want.data, want.len);
	/* the host's own address is the kernel's to answer */
	pb_init(&in);
	pb_eth(&in, "ff:ff:ff:ff:ff:ff", GW_MAC, 0x0806);
	pb_arp(&in, 1, GW_MAC, GW_IP, "00:00:00:00:00:00", EXT_IP);
	pb_done(&in);
	out_len = sizeof(out);
	assert_int_equal(run_ext(in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_OK);
}

/* The first 28 bytes of the IP datagram src:sport -> SRV:9000 (UDP) as ICMP quotes it. */
static void quote_of(const char *src, uint16_t sport, uint8_t q[28])
{
	struct pb o;

	frame(&o, GW_MAC, ext_mac, src, SRV, 17, sport, 9000, 63);
	memcpy(q, o.data + o.ip_off, 28);
}

static void icmp_frame(struct pb *b, const char *eth_dst, const char *eth_src, const char *dst, uint8_t ttl,
		       const uint8_t q[28])
{
	pb_init(b);
	pb_eth(b, eth_dst, eth_src, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = GW_IP, .dst = dst, .proto = 1, .ttl = ttl });
	pb_icmp(b, 3, 4, 1400); /* fragmentation needed, next-hop MTU 1400 */
	pb_bytes(b, q, 28);
	pb_done(b);
}

static void test_icmp_frag_needed_translated_back(void **state)
{
	uint8_t wire[28], orig[28], out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in, want;
	int verdict;

	test_snat_udp(state);
	quote_of(EXT_IP, NAT_PORT, wire);
	quote_of(VM_IP, 5000, orig);
	icmp_frame(&in, ext_mac, GW_MAC, EXT_IP, 64, wire);
	assert_true(pb_checksums_ok(in.data, in.len));
	assert_int_equal(run_ext(in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	/* to the VM, quoting its own datagram: its address, port, header and UDP checksums */
	icmp_frame(&want, VM_MAC, ROUTER_MAC_S, VM_IP, 63, orig);
	expect_frame(out, out_len, &want);
	assert_memory_equal(out + 14 + 20 + 8, orig, 28);
}

static void test_icmp_error_about_eip_translated_back(void **state)
{
	uint8_t wire[28], orig[28], out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in, want;
	int verdict;

	quote_of(EIP, 5000, wire);
	quote_of(E_IP, 5000, orig);
	icmp_frame(&in, ext_mac, GW_MAC, EIP, 64, wire);
	assert_int_equal(run_ext(in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	icmp_frame(&want, E_MAC, ROUTER_MAC_S, E_IP, 63, orig);
	expect_frame(out, out_len, &want);
}

/* What nat_alloc hashes to choose where the search starts (bpf/nat.h), in user space. */
static uint32_t mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static uint32_t search_start(const char *addr, uint16_t sport, uint32_t range)
{
	uint32_t h = mix(VPC ^ (17U << 24));

	h = mix(h ^ ip(addr));
	h = mix(h ^ ip(SRV));
	h = mix(h ^ (((uint32_t)htons(sport) << 16) | htons(9000)));
	return h % range;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* A mapping of another VM (10.0.0.9:7777) to SRV:9000 on external port `port`, seen last at `seen` (state: replied). */
static void occupy_as(uint16_t port, __u64 seen, __u8 state)
{
	struct nat_key in = { .addr = ip(EXT_IP), .remote = ip(SRV), .port = htons(port), .remote_port = htons(9000),
			      .proto = 17, .dir = NAT_IN };
	struct nat_key outk = { .vni = VPC, .addr = ip("10.0.0.9"), .remote = ip(SRV), .port = htons(7777),
				.remote_port = htons(9000), .proto = 17, .dir = NAT_OUT };
	struct nat_entry ie = { .last_seen = seen, .vni = VPC, .addr = ip("10.0.0.9"), .port = htons(7777),
				.state = state };
	struct nat_entry oe = { .last_seen = seen, .vni = VPC, .addr = ip(EXT_IP), .port = htons(port),
				.state = state };

	assert_int_equal(bpf_map_update_elem(nat_fd, &in, &ie, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(nat_fd, &outk, &oe, BPF_ANY), 0);
}

static void occupy(uint16_t port, __u64 seen)
{
	occupy_as(port, seen, CT_REPLIED);
}

static uint16_t snat_port(int *verdict)
{
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in;

	frame(&in, ROUTER_MAC_S, VM_MAC, VM_IP, SRV, 17, 5000, 9000, 64);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, verdict), 0);
	return *verdict == TC_ACT_REDIRECT ? ntohs(*(uint16_t *)(out + 14 + 20)) : 0;
}

static void test_port_collision_takes_the_next_port(void **state)
{
	uint32_t start = search_start(VM_IP, 5000, 4);
	int verdict;

	set_ports(NAT_PORT, NAT_PORT + 3);
	occupy((uint16_t)(NAT_PORT + start), now_ns());
	assert_int_equal(snat_port(&verdict), NAT_PORT + (start + 1) % 4);
	assert_int_equal(env_drops_total(), 0);
}

static void test_dead_mapping_port_is_reclaimed(void **state)
{
	struct nat_key outk = { .vni = VPC, .addr = ip("10.0.0.9"), .remote = ip(SRV), .port = htons(7777),
				.remote_port = htons(9000), .proto = 17, .dir = NAT_OUT };
	struct nat_entry e;
	uint32_t start = search_start(VM_IP, 5000, 4);
	int verdict;

	set_ports(NAT_PORT, NAT_PORT + 3);
	/* idle since boot, unanswered (UDP's 30 s): dead once the machine has been up that long (a
	 * fresh vmtest guest may not have been: wait for it, at most 32 s) */
	for (int w = 0; w < 32 && now_ns() < (CT_TIMEOUT_UDP + 2) * 1000000000ULL; w++)
		sleep(1);
	occupy_as((uint16_t)(NAT_PORT + start), 1, CT_NEW);
	assert_int_equal(snat_port(&verdict), NAT_PORT + start);
	/* the dead mapping is gone on both sides */
	assert_int_not_equal(bpf_map_lookup_elem(nat_fd, &outk, &e), 0);
}

static void test_ports_exhausted_drops_new_flow_only(void **state)
{
	int verdict;

	occupy(NAT_PORT, now_ns());
	assert_int_equal(snat_port(&verdict), 0);
	assert_int_equal(verdict, TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_NAT_PORTS_EXHAUSTED), 1);
}

/* A UDP flow from sport of the NIC on port (VPC vni's VM_IP) to SRV:9000: its external port, 0 when dropped. */
static uint16_t snat_from(int port, const char *mac, uint16_t sport, int *verdict)
{
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in;

	frame(&in, ROUTER_MAC_S, mac, VM_IP, SRV, 17, sport, 9000, 64);
	assert_int_equal(env_run(port, in.data, in.len, out, &out_len, verdict), 0);
	return *verdict == TC_ACT_REDIRECT ? ntohs(*(uint16_t *)(out + 14 + 20)) : 0;
}

static void nic_quota(__u32 vni, const char *addr, __u32 quota)
{
	struct nic_key k = { .vni = vni, .ip = ip(addr) };
	struct nic n;

	assert_int_equal(bpf_map_lookup_elem(env.nics_fd, &k, &n), 0);
	n.ct_quota = quota;
	assert_int_equal(bpf_map_update_elem(env.nics_fd, &k, &n, BPF_EXIST), 0);
}

static __u64 nat_count(__u32 vni, const char *nic)
{
	struct nic_key k = { .vni = vni, .ip = ip(nic) };
	__u64 n = 0;

	bpf_map_lookup_elem(nat_counts_fd, &k, &n);
	return n;
}

/* Every mapping idle since boot: dead, for the next sweep. */
static void age_all_mappings(void)
{
	struct nat_key k, next, *prev = NULL;
	struct nat_entry e;

	while (bpf_map_get_next_key(nat_fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		assert_int_equal(bpf_map_lookup_elem(nat_fd, &k, &e), 0);
		e.last_seen = 1;
		assert_int_equal(bpf_map_update_elem(nat_fd, &k, &e, BPF_EXIST), 0);
	}
}

/* issue 14's quota for NAT too: a NIC at its quota of mappings gets no new one, its flows go on, others map. */
static void test_nic_quota_of_mappings(void **state)
{
	struct route r = { .kind = ROUTE_INTERNET };
	struct nic_stats st;
	int verdict;

	set_ports(NAT_PORT, NAT_PORT + 15);
	nic_quota(VPC, VM_IP, 2);
	assert_int_not_equal(snat_from(PORT_VM, VM_MAC, 5000, &verdict), 0);
	assert_int_not_equal(snat_from(PORT_VM, VM_MAC, 5001, &verdict), 0);
	assert_int_equal(nat_count(VPC, VM_IP), 2);
	/* the third new flow is refused, counted by reason on the NIC */
	assert_int_equal(snat_from(PORT_VM, VM_MAC, 5002, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_NAT_NIC_QUOTA), 1);
	assert_int_equal(env_drops(DROP_NAT_FULL) + env_drops(DROP_NAT_PORTS_EXHAUSTED), 0);
	assert_int_equal(env_nic_stats(VPC, VM_IP, &st), 0);
	assert_int_equal(st.drop_reason[DROP_NAT_NIC_QUOTA], 1);
	/* its mapped flows go on */
	assert_int_not_equal(snat_from(PORT_VM, VM_MAC, 5000, &verdict), 0);
	assert_int_equal(nat_count(VPC, VM_IP), 2);
	/* another NIC (VPC 200, the same address) maps on its own quota */
	topo_nic_local(200, VM_IP, "02:00:00:00:02:02", "10.0.0.0/24", 2, SC_ON);
	assert_int_equal(route_table_insert(&env.rm, 200, &r), 0);
	assert_int_not_equal(snat_from(2, "02:00:00:00:02:02", 5002, &verdict), 0);
	assert_int_equal(nat_count(200, VM_IP), 1);
	/* dead mappings are swept (at most once a second) and give the quota back */
	age_all_mappings();
	usleep(1100 * 1000);
	assert_int_not_equal(snat_from(PORT_VM, VM_MAC, 5002, &verdict), 0);
	assert_int_equal(nat_count(VPC, VM_IP), 1);
	assert_int_equal(nat_count(200, VM_IP), 0);
}

static void test_to_infrastructure_dropped(void **state)
{
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in;
	int verdict;

	frame(&in, ROUTER_MAC_S, VM_MAC, VM_IP, EXT_IP, 17, 5000, 22, 64);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_TO_INFRASTRUCTURE), 1);
}

static void test_unknown_inbound_goes_to_the_host(void **state)
{
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in;
	int verdict;

	frame(&in, ext_mac, GW_MAC, SRV, EXT_IP, 17, 9000, NAT_PORT, 60); /* no mapping */
	assert_int_equal(run_ext(in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_OK);
	assert_int_equal(out_len, in.len);
	assert_memory_equal(out, in.data, in.len);
}

/* The first qlen bytes of the IP datagram src:sport -> dst:dport (proto 17 or 6, TTL ttl) as an ICMP error quotes it. */
static void quote_any(const char *src, const char *dst, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t ttl,
		      uint8_t *q, size_t qlen)
{
	struct pb o;

	frame(&o, GW_MAC, ext_mac, src, dst, proto, sport, dport, ttl);
	assert_true(o.len - o.ip_off >= qlen);
	memcpy(q, o.data + o.ip_off, qlen);
}

/* An ICMP error src -> dst (type, code) quoting q. */
static void error_frame(struct pb *b, const char *eth_dst, const char *eth_src, const char *src, const char *dst,
			uint8_t ttl, uint8_t type, uint8_t code, const uint8_t *q, size_t qlen)
{
	pb_init(b);
	pb_eth(b, eth_dst, eth_src, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = dst, .proto = 1, .ttl = ttl });
	pb_icmp(b, type, code, 0);
	pb_bytes(b, q, qlen);
	pb_done(b);
}

/* An outside client's UDP to the EIP finds no socket: the VM's port unreachable leaves as the EIP, quote included. */
static void test_vm_icmp_error_about_eip_flow_translated_out(void **state)
{
	uint8_t got[28], sent[28], out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in, want;
	int verdict;

	quote_any(SRV, E_IP, 17, 44000, 9999, 63, got, sizeof(got));   /* as it reached the VM */
	quote_any(SRV, EIP, 17, 44000, 9999, 63, sent, sizeof(sent));  /* as the client sent it */
	error_frame(&in, ROUTER_MAC_S, E_MAC, E_IP, SRV, 64, 3, 3, got, sizeof(got));
	assert_int_equal(env_run(PORT_E, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	error_frame(&want, GW_MAC, ext_mac, EIP, SRV, 63, 3, 3, sent, sizeof(sent));
	expect_frame(out, out_len, &want);
	assert_int_equal(env_drops_total(), 0);
}

/*
 * A reply came back through a mapping to a TCP port the VM now refuses with port unreachable:
 * the error leaves as the host, quoting the packet the server sent (the external address and port,
 * the whole TCP header and its checksum).
 */
static void test_vm_icmp_error_about_mapping_translated_out(void **state)
{
	uint8_t got[72], sent[72], out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in, want;
	int verdict;

	frame(&in, ROUTER_MAC_S, VM_MAC, VM_IP, SRV, 6, 5000, 80, 64);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	quote_any(SRV, VM_IP, 6, 80, 5000, 59, got, sizeof(got));
	quote_any(SRV, EXT_IP, 6, 80, NAT_PORT, 59, sent, sizeof(sent));
	error_frame(&in, ROUTER_MAC_S, VM_MAC, VM_IP, SRV, 64, 3, 3, got, sizeof(got));
	out_len = sizeof(out);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	error_frame(&want, GW_MAC, ext_mac, EXT_IP, SRV, 63, 3, 3, sent, sizeof(sent));
	expect_frame(out, out_len, &want);
	assert_int_equal(env_drops_total(), 0);
}

/* An error about nothing that came in (no mapping; a quote from someone else) would show the private address: dropped, counted. */
static void test_vm_icmp_error_about_nothing_dropped(void **state)
{
	uint8_t q[28], out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in;
	int verdict;

	quote_any(SRV, VM_IP, 17, 9000, 6000, 63, q, sizeof(q));
	error_frame(&in, ROUTER_MAC_S, VM_MAC, VM_IP, SRV, 64, 3, 3, q, sizeof(q));
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_SHOT);
	/* the EIP's NIC, quoting a packet from another peer than the error's destination */
	quote_any("198.51.100.9", E_IP, 17, 9000, 6000, 63, q, sizeof(q));
	error_frame(&in, ROUTER_MAC_S, E_MAC, E_IP, SRV, 64, 3, 3, q, sizeof(q));
	out_len = sizeof(out);
	assert_int_equal(env_run(PORT_E, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_NAT_UNSUPPORTED), 2);
}

/* A fragment of a VM's UDP datagram (frag_off: flags and offset in 8-byte units, host order). */
static void fragment(struct pb *b, const char *eth_dst, const char *eth_src, const char *src, uint16_t frag_off,
		     uint8_t ttl)
{
	pb_init(b);
	pb_eth(b, eth_dst, eth_src, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src, .dst = SRV, .proto = 17, .ttl = ttl, .id = 77, .frag_off = frag_off });
	if (!(frag_off & 0x1fff))
		pb_udp(b, 5000, 9000);
	pb_payload(b, 32);
	pb_done(b);
}

/*
 * Fragments through SNAT: no port in the later ones, and no reassembly here, so both the first and
 * a later fragment are dropped and counted nat-unsupported (the VM's PMTU discovery avoids them: the
 * datapath answers oversize DF packets with frag-needed). An EIP needs no port: its fragments
 * leave with the address rewritten (the first one's UDP checksum too).
 */
static void test_fragments_snat_dropped_eip_passes(void **state)
{
	uint8_t out[PB_MAX];
	size_t out_len = sizeof(out);
	struct pb in, want;
	int verdict;

	fragment(&in, ROUTER_MAC_S, VM_MAC, VM_IP, 0x2000, 64);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_SHOT);
	fragment(&in, ROUTER_MAC_S, VM_MAC, VM_IP, 5, 64);
	out_len = sizeof(out);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_NAT_UNSUPPORTED), 2);
	assert_int_equal(nat_count(VPC, VM_IP), 0);

	fragment(&in, ROUTER_MAC_S, E_MAC, E_IP, 0x2000, 64);
	out_len = sizeof(out);
	assert_int_equal(env_run(PORT_E, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	fragment(&want, GW_MAC, ext_mac, EIP, 0x2000, 63);
	expect_frame(out, out_len, &want);
	fragment(&in, ROUTER_MAC_S, E_MAC, E_IP, 5, 64);
	out_len = sizeof(out);
	assert_int_equal(env_run(PORT_E, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	fragment(&want, GW_MAC, ext_mac, EIP, 5, 63);
	expect_frame(out, out_len, &want);
	assert_int_equal(env_drops(DROP_NAT_UNSUPPORTED), 2);
}

/*
 * Hairpin: VM (SNAT) to E's EIP leaves translated toward the external device's own ingress (the
 * router MAC to the device's MAC), where external_ingress takes it to E as any packet from the
 * internet; E's answer to the external address and mapped port comes back the same way to VM.
 */
static void test_hairpin_to_an_eip_and_back(void **state)
{
	uint8_t out[PB_MAX], out2[PB_MAX];
	size_t out_len = sizeof(out), out2_len = sizeof(out2);
	struct pb in, want;
	int verdict;

	frame(&in, ROUTER_MAC_S, VM_MAC, VM_IP, EIP, 6, 5000, 80, 64);
	assert_int_equal(env_run(PORT_VM, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, ext_mac, ROUTER_MAC_S, EXT_IP, EIP, 6, NAT_PORT, 80, 63);
	expect_frame(out, out_len, &want);
	assert_int_equal(run_ext(out, out_len, out2, &out2_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, E_MAC, ROUTER_MAC_S, EXT_IP, E_IP, 6, NAT_PORT, 80, 62);
	expect_frame(out2, out2_len, &want);

	/* E answers the external address: as its EIP, in again, to VM's own address and port */
	frame(&in, ROUTER_MAC_S, E_MAC, E_IP, EXT_IP, 6, 80, NAT_PORT, 64);
	out_len = sizeof(out);
	assert_int_equal(env_run(PORT_E, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, ext_mac, ROUTER_MAC_S, EIP, EXT_IP, 6, 80, NAT_PORT, 63);
	expect_frame(out, out_len, &want);
	out2_len = sizeof(out2);
	assert_int_equal(run_ext(out, out_len, out2, &out2_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, VM_MAC, ROUTER_MAC_S, EIP, VM_IP, 6, 80, 5000, 62);
	expect_frame(out2, out2_len, &want);
	assert_int_equal(env_drops_total(), 0);

	/* the external address itself stays closed: E to a port no mapping holds */
	frame(&in, ROUTER_MAC_S, E_MAC, E_IP, EXT_IP, 6, 80, NAT_PORT + 1, 64);
	out_len = sizeof(out);
	assert_int_equal(env_run(PORT_E, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_SHOT);
	assert_int_equal(env_drops(DROP_TO_INFRASTRUCTURE), 1);
}

/* E to its own EIP: out as the EIP, in again to itself. */
static void test_hairpin_to_its_own_eip(void **state)
{
	uint8_t out[PB_MAX], out2[PB_MAX];
	size_t out_len = sizeof(out), out2_len = sizeof(out2);
	struct pb in, want;
	int verdict;

	frame(&in, ROUTER_MAC_S, E_MAC, E_IP, EIP, 17, 6000, 7000, 64);
	assert_int_equal(env_run(PORT_E, in.data, in.len, out, &out_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, ext_mac, ROUTER_MAC_S, EIP, EIP, 17, 6000, 7000, 63);
	expect_frame(out, out_len, &want);
	assert_int_equal(run_ext(out, out_len, out2, &out2_len, &verdict), 0);
	assert_int_equal(verdict, TC_ACT_REDIRECT);
	frame(&want, E_MAC, ROUTER_MAC_S, EIP, E_IP, 17, 6000, 7000, 62);
	expect_frame(out2, out2_len, &want);
	assert_int_equal(env_drops_total(), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup(test_snat_udp, setup),
	cmocka_unit_test_setup(test_unsnat_udp_reply, setup),
	cmocka_unit_test_setup(test_snat_two_vpcs_same_address, setup),
	cmocka_unit_test_setup(test_eip_out_and_in, setup),
	cmocka_unit_test_setup(test_eip_arp_answered_when_local, setup),
	cmocka_unit_test_setup(test_icmp_frag_needed_translated_back, setup),
	cmocka_unit_test_setup(test_icmp_error_about_eip_translated_back, setup),
	cmocka_unit_test_setup(test_port_collision_takes_the_next_port, setup),
	cmocka_unit_test_setup(test_dead_mapping_port_is_reclaimed, setup),
	cmocka_unit_test_setup(test_ports_exhausted_drops_new_flow_only, setup),
	cmocka_unit_test_setup(test_nic_quota_of_mappings, setup),
	cmocka_unit_test_setup(test_to_infrastructure_dropped, setup),
	cmocka_unit_test_setup(test_unknown_inbound_goes_to_the_host, setup),
	cmocka_unit_test_setup(test_vm_icmp_error_about_eip_flow_translated_out, setup),
	cmocka_unit_test_setup(test_vm_icmp_error_about_mapping_translated_out, setup),
	cmocka_unit_test_setup(test_vm_icmp_error_about_nothing_dropped, setup),
	cmocka_unit_test_setup(test_fragments_snat_dropped_eip_passes, setup),
	cmocka_unit_test_setup(test_hairpin_to_an_eip_and_back, setup),
	cmocka_unit_test_setup(test_hairpin_to_its_own_eip, setup),
};

SUITE(nat_suite, "nat", tests)
