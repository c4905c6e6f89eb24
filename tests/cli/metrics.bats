#!/usr/bin/env bats
# tests/cli/metrics.bats — vpcbpf metrics: Prometheus text that promtool accepts, /healthz, SIGTERM, bad addresses.
#
# The server runs inside the host's netns (vpcbpf -n), so its port lives on that namespace's loopback
# and never meets another test's. promtool is Prometheus' own checker (Debian package prometheus).
load common

# Starts `vpcbpf metrics ADDR` for host h as process NAME; sets URL to its base (port 0: read from its log).
metrics_start() {
	local name=$1 addr=$2
	proc_start "$name" "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" metrics "$addr"
	wait_until 10 grep -q 'serving metrics' "$(proc_log "$name")" ||
		fail "vpcbpf metrics did not start: $(cat "$(proc_log "$name")")"
	URL=http://$(grep -o 'http://[^/]*' "$(proc_log "$name")" | head -1 | cut -d/ -f3)
}

# curl inside h's netns: prints the body; the status code goes to $CODE_FILE.
fetch() {
	ip netns exec "$(host_ns h)" curl -s --max-time 10 "$@"
}
http_code() {
	fetch -o /dev/null -w '%{http_code}' "$@"
}
# The value of one sample line (exact name and labels as printed).
sample() {
	fetch "$URL/metrics" | awk -v s="$1" '$1 == s { print $2; found = 1 } END { exit !found }'
}

@test "metrics serves the datapath's families in Prometheus text format; promtool accepts it" {
	base_world
	v route add 192.168.0.0/16 vpc 10 blackhole
	in_vm vm1 ping -c 3 -i 0.2 -W 1 10.0.1.1
	metrics_start m 127.0.0.1:0
	fetch "$URL/metrics" >"$BATS_TEST_TMPDIR/scrape"
	run promtool check metrics <"$BATS_TEST_TMPDIR/scrape"
	assert_success
	# every family has HELP and TYPE, every counter ends in _total
	for f in vpcbpf_build_info vpcbpf_datapath_up vpcbpf_drops_total vpcbpf_nic_tx_packets_total \
		vpcbpf_nic_tx_bytes_total vpcbpf_nic_rx_packets_total vpcbpf_nic_rx_bytes_total vpcbpf_nic_drops_total vpcbpf_nic_drops_by_reason_total \
		vpcbpf_nics vpcbpf_vpcs vpcbpf_routes vpcbpf_route_index_lines_used vpcbpf_route_index_lines_capacity \
		vpcbpf_conntrack_entries vpcbpf_conntrack_capacity vpcbpf_nat_mappings vpcbpf_nat_mappings_capacity \
		vpcbpf_metrics_read_duration_seconds; do
		grep -q "^# HELP $f " "$BATS_TEST_TMPDIR/scrape" || fail "no HELP for $f"
		grep -q "^# TYPE $f " "$BATS_TEST_TMPDIR/scrape" || fail "no TYPE for $f"
	done
	run awk '$1 == "#" && $2 == "TYPE" && $4 == "counter" && $3 !~ /_total$/' "$BATS_TEST_TMPDIR/scrape"
	assert_output ""
	# the values are the datapath's: the same as vpcbpf stats, every drop reason present
	ok_json stats nic 10.0.1.10 vpc 10
	local tx rx
	tx=$(jq '.[0].tx_packets' <<<"$output")
	rx=$(jq '.[0].rx_packets' <<<"$output")
	[ "$tx" -ge 3 ] && [ "$rx" -ge 3 ]
	[ "$(sample 'vpcbpf_nic_tx_packets_total{vpc="10",nic="10.0.1.10"}')" = "$tx" ]
	[ "$(sample 'vpcbpf_nic_rx_packets_total{vpc="10",nic="10.0.1.10"}')" = "$rx" ]
	[ "$(grep -c '^vpcbpf_drops_total{reason=' "$BATS_TEST_TMPDIR/scrape")" -ge 22 ]
	[ "$(sample 'vpcbpf_drops_total{reason="spoofed-ip"}')" = 0 ]
	[ "$(sample 'vpcbpf_nics{location="local"}')" = 1 ]
	[ "$(sample vpcbpf_vpcs)" = 1 ]
	[ "$(sample vpcbpf_routes)" = 3 ] # two subnets and the blackhole
	[ "$(sample vpcbpf_route_index_lines_used)" -gt 0 ]
	[ "$(sample vpcbpf_route_index_lines_capacity)" -gt "$(sample vpcbpf_route_index_lines_used)" ]
	[ "$(sample vpcbpf_conntrack_capacity)" = 262144 ]
	[ "$(sample vpcbpf_nat_mappings_capacity)" = 131072 ]
	[ "$(sample vpcbpf_datapath_up)" = 1 ]
	# the histogram of its own read time grows by one per scrape
	local n
	n=$(sample vpcbpf_metrics_read_duration_seconds_count)
	[ "$n" -ge 2 ]
	[ "$(sample 'vpcbpf_metrics_read_duration_seconds_bucket{le="+Inf"}')" -ge "$n" ]
}

@test "metrics counts a drop by reason and a NIC's drops after spoofed traffic" {
	base_world
	vm_create h vm2 10.0.1.11/24 10.0.1.1 02:00:00:00:01:11
	v nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 dev vm2
	metrics_start m 127.0.0.1:0
	in_vm vm1 ip neigh replace 10.0.1.11 lladdr 02:00:00:00:01:11 dev eth0 nud permanent
	in_vm vm1 ip addr add 10.0.1.99/24 dev eth0
	run in_vm vm1 ping -c 3 -i 0.1 -W 1 -I 10.0.1.99 10.0.1.11
	assert_failure
	[ "$(sample 'vpcbpf_drops_total{reason="spoofed-ip"}')" = 3 ]
	[ "$(sample 'vpcbpf_nic_drops_total{vpc="10",nic="10.0.1.10"}')" -ge 3 ]
	[ "$(sample 'vpcbpf_nic_drops_by_reason_total{vpc="10",nic="10.0.1.10",reason="spoofed-ip"}')" = 3 ]
	run sample 'vpcbpf_nic_drops_by_reason_total{vpc="10",nic="10.0.1.11",reason="spoofed-ip"}'
	assert_failure # a reason a NIC never dropped for is not served
	[ "$(sample 'vpcbpf_nic_rx_packets_total{vpc="10",nic="10.0.1.11"}')" = 0 ]
	# the traffic counters (by the NIC's slot) agree with stats, read before and after (vm1 may send more)
	local tx1 m tx2
	tx1=$(v -j stats nic 10.0.1.10 vpc 10 | jq '.[0].tx_packets')
	m=$(sample 'vpcbpf_nic_tx_packets_total{vpc="10",nic="10.0.1.10"}')
	tx2=$(v -j stats nic 10.0.1.10 vpc 10 | jq '.[0].tx_packets')
	[ "$tx1" -ge 3 ] && [ "$m" -ge "$tx1" ] && [ "$m" -le "$tx2" ] || fail "tx: stats $tx1 then $tx2, metrics $m"
	[ "$(sample 'vpcbpf_nic_tx_bytes_total{vpc="10",nic="10.0.1.10"}')" -gt 0 ]
}

@test "metrics serves every NIC once, also past one batch of the per-CPU map (400 NICs, batches of 256)" {
	v vpc add 10 >/dev/null
	v subnet add 10.1.0.0/16 vpc 10 >/dev/null
	for i in $(seq 0 399); do
		printf 'nic add 10.1.%d.%d vpc 10 mac 02:00:0a:01:%02x:%02x remote 192.168.100.2\n' \
			$((i / 200)) $((i % 200 + 2)) $((i / 200)) $((i % 200 + 2))
	done | split -l 25 - "$BATS_TEST_TMPDIR/nics."
	for f in "$BATS_TEST_TMPDIR"/nics.*; do
		v --batch "$f" 2>/dev/null || true
	done
	# A burst of new per-CPU counters can meet ENOMEM in the kernel's BPF allocator on a loaded
	# machine (the NIC is added, its counters are not: reported separately). The server must serve
	# exactly the NICs that have counters, each once: count them with bpftool.
	local n
	n=$(bpftool -j map dump pinned "$(host_pin h)/nic_stats" | jq length)
	[ "$n" -gt 256 ] || fail "only $n NIC counters were created"
	metrics_start m 127.0.0.1:0
	fetch "$URL/metrics" >"$BATS_TEST_TMPDIR/scrape"
	promtool check metrics <"$BATS_TEST_TMPDIR/scrape"
	[ "$(grep -c '^vpcbpf_nic_tx_packets_total{vpc="10",nic="10\.1\.' "$BATS_TEST_TMPDIR/scrape")" = "$n" ]
	[ "$(grep '^vpcbpf_nic_rx_bytes_total{' "$BATS_TEST_TMPDIR/scrape" | sort -u | wc -l)" = "$n" ]
	[ "$(sample 'vpcbpf_nics{location="remote"}')" = 400 ]
}

@test "/healthz answers 200 while the datapath is up, 503 after dp down, 200 again after dp up" {
	metrics_start m 127.0.0.1:0
	[ "$(http_code "$URL/healthz")" = 200 ]
	[ "$(fetch "$URL/healthz")" = ok ]
	v dp down
	[ "$(http_code "$URL/healthz")" = 503 ]
	run fetch "$URL/healthz"
	assert_output --partial "not loaded"
	[ "$(sample vpcbpf_datapath_up)" = 0 ]
	fetch "$URL/metrics" | promtool check metrics
	v dp up
	[ "$(http_code "$URL/healthz")" = 200 ]
	[ "$(sample vpcbpf_datapath_up)" = 1 ]
}

@test "metrics serves GET and HEAD on /metrics and /healthz, 404 elsewhere, 405 for POST" {
	metrics_start m 127.0.0.1:0
	[ "$(http_code "$URL/nope")" = 404 ]
	[ "$(http_code -I "$URL/metrics")" = 200 ]
	[ "$(http_code -X POST "$URL/metrics")" = 405 ]
	fetch -D - -o /dev/null "$URL/metrics" | grep -qi '^content-type: text/plain; version=0.0.4'
}

@test "metrics ends cleanly on SIGTERM (exit 0) and its port can be taken again at once" {
	local port
	port=$(free_port)
	metrics_start m "127.0.0.1:$port"
	[ "$(http_code "$URL/metrics")" = 200 ]
	proc_stop m 10 || fail "vpcbpf metrics exited $? on SIGTERM"
	metrics_start m2 "127.0.0.1:$port"
	[ "$(http_code "$URL/healthz")" = 200 ]
	proc_stop m2 10 || fail "vpcbpf metrics exited $? on SIGTERM" 
}

@test "metrics on a port that is taken fails with one clear line and exit 1" {
	metrics_start m 127.0.0.1:0
	local port=${URL##*:}
	refuses "$port" metrics "127.0.0.1:$port"
	run --separate-stderr vpcbpf_on h metrics "127.0.0.1:$port"
	assert_failure 1
	[[ "$stderr" == *"Address already in use"* ]]
}

@test "metrics refuses a bad address or port with one line naming it" {
	refuses "[ADDR:]PORT" metrics
	refuses "70000" metrics 70000
	refuses "abc" metrics abc
	refuses "9100x" metrics 9100x
	refuses "-1" metrics -1
	refuses "1.2.3" metrics 1.2.3:9100
	refuses "brackets" metrics ::1:9100
	refuses "[::1" metrics "[::1:9100"
	refuses "fe80::zz" metrics "[fe80::zz]:9100"
	refuses "example.org" metrics example.org:9100
	refuses "extra" metrics 9100 extra
	refuses "127.0.0.1:" metrics 127.0.0.1:
	# an address this host does not have
	refuses "192.0.2.1:9100" metrics 192.0.2.1:9100
}
