#!/usr/bin/env bats
# tests/e2e/txn.bats — route tables swapped and programs reloaded under a steady packet stream: nothing lost, nothing misdelivered.
#
# The world (setup_file), on host "h", VPC 100, subnet 10.0.0.0/24:
#   src 10.0.0.10 pings 172.16.1.1 every 2 ms;
#   two appliances app1 10.0.0.21 and app2 10.0.0.22 (source-check off) both own 172.16.1.1 (on lo),
#   and route 172.16.0.0/16 via one of them decides which one gets each echo request.
# Every request must reach exactly one appliance: requests sent (ping's count) ==
# echo requests received by app1 + app2 (their Icmp InEchos counters).
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

setup_file() {
	lib_init
	host_create h
	vpcbpf_on h vpc add 100
	vpcbpf_on h subnet add 10.0.0.0/24 vpc 100
	vm_create h src 10.0.0.10/24 10.0.0.1 02:00:00:00:00:10
	vpcbpf_on h nic add 10.0.0.10 vpc 100 mac 02:00:00:00:00:10 dev src
	for i in 1 2; do
		vm_create h app$i 10.0.0.2$i/24 10.0.0.1 02:00:00:00:00:2$i
		vpcbpf_on h nic add 10.0.0.2$i vpc 100 mac 02:00:00:00:00:2$i dev app$i source-check off
		ip -n "$T-app$i" addr add 172.16.1.1/32 dev lo
		in_vm app$i sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv4.conf.eth0.rp_filter=0
	done
	# a table of some size, so that each swap builds a real one
	{
		for i in $(seq 0 199); do echo "route add 10.$((100 + i / 250)).$((i % 250)).0/24 vpc 100 blackhole"; done
		echo "route add 172.16.0.0/16 vpc 100 via 10.0.0.21"
	} >"$LIB_STATE/table.batch"
	vpcbpf_on h -b "$LIB_STATE/table.batch"
	echo "route replace 172.16.0.0/16 vpc 100 via 10.0.0.22" >"$LIB_STATE/to2.batch"
	echo "route replace 172.16.0.0/16 vpc 100 via 10.0.0.21" >"$LIB_STATE/to1.batch"
}

# A test that fails mid-stream must not leave its ping running into the next test.
teardown() {
	if [ -n "${PING:-}" ]; then
		kill "$PING" 2>/dev/null || true
		wait "$PING" 2>/dev/null || true
		PING=
	fi
}

teardown_file() {
	lib_cleanup
}

in_echos() { # APP: echo requests its kernel received
	in_vm "$1" awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# stream_start: src pings 172.16.1.1 every 2 ms until stream_stop; counters are taken at the start.
stream_start() {
	E1=$(in_echos app1)
	E2=$(in_echos app2)
	D0=$(drops_now)
	# ip netns exec execs ping, so $! is ping itself (SIGALRM ends it with its summary)
	ip netns exec "$(vm_ns src)" ping -q -i 0.002 -w 600 172.16.1.1 >"$LIB_STATE/ping.out" 2>&1 &
	PING=$!
	sleep 0.3
}

drops_now() { vpcbpf_on h -j stats | jq '[.drops // {} | to_entries[] | .value] | add // 0'; }

# stream_stop: ends ping (SIGALRM: ping prints its summary), then checks sent == received by the appliances.
stream_stop() {
	sleep 0.3
	kill -ALRM "$PING"
	wait "$PING" || true
	sleep 0.3
	local sent got1 got2
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$LIB_STATE/ping.out")
	got1=$(($(in_echos app1) - E1))
	got2=$(($(in_echos app2) - E2))
	echo "# sent $sent, app1 got $got1, app2 got $got2, datapath drops $(($(drops_now) - D0))" >&3
	[ -n "$sent" ] && [ "$sent" -gt 100 ] || fail "ping did not run: $(cat "$LIB_STATE/ping.out")"
	[ $((got1 + got2)) -eq "$sent" ] || fail "sent $sent but the appliances got $got1 + $got2"
	[ "$(drops_now)" -eq "$D0" ] || fail "the datapath dropped packets"
}

@test "1,000 route table swaps under a steady stream: zero loss, each packet at exactly one appliance" {
	stream_start
	local start=$SECONDS
	for i in $(seq 1 500); do
		vpcbpf_on h -b "$LIB_STATE/to2.batch" || fail "swap $i failed"
		vpcbpf_on h -b "$LIB_STATE/to1.batch" || fail "swap $i failed"
		# A bound, not a benchmark: 70-80 s on an idle 2-core machine, far more under load.
		[ $((SECONDS - start)) -lt 480 ] || fail "too slow: $i swaps in 480 s"
	done
	echo "# 1000 swaps in $((SECONDS - start)) s" >&3
	stream_stop
	[ $(($(in_echos app1) - E1)) -gt 0 ] && [ $(($(in_echos app2) - E2)) -gt 0 ] || fail "the route never flipped"
	run vpcbpf_on h route get 172.16.1.1 vpc 100
	assert_output --partial "via 10.0.0.21"
}

@test "the route flips atomically: after each swap the new appliance gets the stream" {
	vpcbpf_on h -b "$LIB_STATE/to2.batch"
	local a2
	a2=$(in_echos app2)
	in_vm src ping -q -c 5 -i 0.01 -W 1 172.16.1.1 >/dev/null
	[ $(($(in_echos app2) - a2)) -eq 5 ] || fail "app2 did not get the 5 requests"
	vpcbpf_on h -b "$LIB_STATE/to1.batch"
}

@test "hitless reload: dp up again and again under the stream loses nothing" {
	stream_start
	for i in $(seq 1 20); do
		vpcbpf_on h dp up >/dev/null || fail "dp up $i failed"
	done
	stream_stop
}
