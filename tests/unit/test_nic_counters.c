/* tests/unit/test_nic_counters.c — what nic_ingress counts: NIC tx/rx/drops, drops by reason, sampled drop events. */
#include <arpa/inet.h>
#include <sched.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "suite.h"
#include "env.h"
#include "pktbuild.h"
#include "topo.h"

#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define VPC 100
#define A_IP "10.0.1.5"
#define A_MAC "02:00:00:64:01:05"
#define C_IP "10.0.2.7"
#define C_MAC "02:00:00:64:02:07"

static void two_nics(void)
{
	topo_nic_local(VPC, A_IP, A_MAC, "10.0.1.0/24", 0, SC_ON);
	topo_nic_local(VPC, C_IP, C_MAC, "10.0.2.0/24", 2, SC_ON);
}

static void a_to_c(struct pb *b, const char *src_mac, const char *src_ip)
{
	pb_init(b);
	pb_eth(b, ROUTER_MAC_S, src_mac, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = src_ip, .dst = C_IP, .proto = 17, .id = 1 });
	pb_udp(b, 1234, 5678);
	pb_payload(b, 100);
	pb_done(b);
}

static int send_frame(const struct pb *b)
{
	static uint8_t out[PB_MAX + 256];
	size_t out_len = sizeof(out);
	int verdict = -1;

	assert_int_equal(env_run(0, b->data, b->len, out, &out_len, &verdict), 0);
	return verdict;
}

static int reset(void **state)
{
	return env_reset();
}

static void delivery_counts_tx_on_the_source_and_rx_on_the_destination(void **state)
{
	struct nic_stats a, c;
	struct pb b;

	two_nics();
	a_to_c(&b, A_MAC, A_IP);
	assert_int_equal(send_frame(&b), TC_ACT_REDIRECT);
	assert_int_equal(send_frame(&b), TC_ACT_REDIRECT);

	assert_int_equal(env_nic_stats(VPC, A_IP, &a), 0);
	assert_int_equal(env_nic_stats(VPC, C_IP, &c), 0);
	assert_int_equal(a.tx_packets, 2);
	assert_int_equal(a.tx_bytes, 2 * b.len);
	assert_int_equal(a.drops, 0);
	assert_int_equal(c.rx_packets, 2);
	assert_int_equal(c.rx_bytes, 2 * b.len);
	assert_int_equal(c.tx_packets, 0);
}

static void a_drop_counts_against_the_source_nic_and_its_reason(void **state)
{
	struct nic_stats a;
	struct pb b;

	two_nics();
	a_to_c(&b, A_MAC, "10.0.1.99");
	assert_int_equal(send_frame(&b), TC_ACT_SHOT);

	assert_int_equal(env_nic_stats(VPC, A_IP, &a), 0);
	assert_int_equal(a.tx_packets, 1);
	assert_int_equal(a.drops, 1);
	assert_int_equal(a.drop_reason[DROP_SPOOF_IP], 1);
	for (int r = 0; r < NIC_DROP_REASONS; r++)
		if (r != DROP_SPOOF_IP)
			assert_int_equal(a.drop_reason[r], 0);
	assert_int_equal(env_drops(DROP_SPOOF_IP), 1);
	assert_int_equal(env_drops_total(), 1);
}

static void a_nic_without_stats_entry_still_forwards(void **state)
{
	struct nic_key key = { .vni = VPC };
	struct pb b;

	two_nics();
	inet_pton(AF_INET, A_IP, &key.ip);
	assert_int_equal(bpf_map_delete_elem(env.nic_stats_fd, &key), 0);
	a_to_c(&b, A_MAC, A_IP);
	assert_int_equal(send_frame(&b), TC_ACT_REDIRECT);
}

struct seen {
	int count;
	struct drop_event last;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct seen *seen = ctx;

	if (size >= sizeof(seen->last)) {
		memcpy(&seen->last, data, sizeof(seen->last));
		seen->count++;
	}
	return 0;
}

static void drop_events_are_sampled_one_in_sixteen_per_reason(void **state)
{
	struct seen seen = {};
	struct ring_buffer *rb;
	cpu_set_t old, one;
	struct pb b;

	/* counters are per CPU: stay on one so the sample points are predictable */
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);

	rb = ring_buffer__new(env.events_fd, on_event, &seen, NULL);
	assert_non_null(rb);
	ring_buffer__consume(rb); /* events of earlier tests */
	seen.count = 0;

	two_nics();
	a_to_c(&b, A_MAC, "10.0.1.99");
	for (int i = 0; i < 17; i++)
		assert_int_equal(send_frame(&b), TC_ACT_SHOT);
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	sched_setaffinity(0, sizeof(old), &old);

	assert_int_equal(env_drops(DROP_SPOOF_IP), 17);
	assert_int_equal(seen.count, 2); /* the 1st and the 17th */
	assert_int_equal(seen.last.reason, DROP_SPOOF_IP);
	assert_int_equal(seen.last.vni, VPC);
	assert_int_equal(seen.last.ifindex, env.port_ifindex[0]);
	assert_int_equal(seen.last.proto, 17);
	assert_int_equal(seen.last.saddr, inet_addr("10.0.1.99"));
	assert_int_equal(seen.last.daddr, inet_addr(C_IP));
	assert_int_equal(seen.last.sport, htons(1234));
	assert_int_equal(seen.last.dport, htons(5678));
	assert_int_equal(seen.last.rule, 0);
	assert_true(seen.last.ts_ns > 0);
}

static const struct CMUnitTest counter_tests[] = {
	cmocka_unit_test_setup(delivery_counts_tx_on_the_source_and_rx_on_the_destination, reset),
	cmocka_unit_test_setup(a_drop_counts_against_the_source_nic_and_its_reason, reset),
	cmocka_unit_test_setup(a_nic_without_stats_entry_still_forwards, reset),
	cmocka_unit_test_setup(drop_events_are_sampled_one_in_sixteen_per_reason, reset),
};

SUITE(counter_suite, "counters", counter_tests)
