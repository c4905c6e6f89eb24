#!/usr/bin/env bats
# tests/e2e/metrics.bats — a real Prometheus server scrapes `vpcbpf metrics` and sees real traffic and drops.
#
# The world (setup_file): host "h" with VPC 100, subnet 10.0.1.0/24, VMs a1 10.0.1.10 and a2 10.0.1.11.
# `vpcbpf metrics` and Debian's prometheus both run inside h's netns (ports on its own loopback, free
# ports, a temp data dir), Prometheus scraping every second. Tests ask Prometheus' HTTP API
# (/api/v1/query), not vpcbpf, so the whole path is checked: exposition, scrape, parse, storage, query.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

setup_file() {
	lib_init
	host_create h
	vpcbpf_on h vpc add 100
	vpcbpf_on h subnet add 10.0.1.0/24 vpc 100
	vm_create h a1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10
	vm_create h a2 10.0.1.11/24 10.0.1.1 02:00:00:00:01:11
	vpcbpf_on h nic add 10.0.1.10 vpc 100 mac 02:00:00:00:01:10 dev a1
	vpcbpf_on h nic add 10.0.1.11 vpc 100 mac 02:00:00:00:01:11 dev a2

	local mport pport dir
	mport=$(free_port)
	proc_start metrics "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" metrics "127.0.0.1:$mport"
	wait_until 10 grep -q 'serving metrics' "$(proc_log metrics)"

	dir=$(lib_tmpdir prometheus)
	cat >"$dir/prometheus.yml" <<-YAML
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	scrape_configs:
	  - job_name: vpcbpf
	    static_configs:
	      - targets: ["127.0.0.1:$mport"]
	YAML
	pport=$(free_port)
	# ip netns exec execs prometheus: the registered pid is prometheus' own
	proc_start prometheus ip netns exec "$(host_ns h)" prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" --web.listen-address="127.0.0.1:$pport" --log.level=warn
	echo "$pport" >"$LIB_STATE/prometheus.port"
	wait_until 60 prom_ready || {
		cat "$(proc_log prometheus)" >&2
		return 1
	}
}

teardown_file() {
	lib_cleanup
}

prom_ready() {
	ip netns exec "$(host_ns h)" curl -sf --max-time 2 "http://127.0.0.1:$(cat "$LIB_STATE/prometheus.port")/-/ready" \
		>/dev/null
}

# The value of an instant query's single result, or nothing (exit 1) when it has no result yet.
prom_query() {
	ip netns exec "$(host_ns h)" curl -sf --max-time 5 \
		"http://127.0.0.1:$(cat "$LIB_STATE/prometheus.port")/api/v1/query" --data-urlencode "query=$1" |
		jq -er 'select(.status == "success") | .data.result | select(length == 1) | .[0].value[1]'
}

# prom_is QUERY VALUE: Prometheus answers exactly VALUE (a counter's last scraped value)
prom_is() { [ "$(prom_query "$1")" = "$2" ]; }

@test "Prometheus scrapes vpcbpf metrics: the target is up and the datapath is up" {
	wait_until 20 prom_is 'up{job="vpcbpf"}' 1 || fail "target not up: $(prom_query 'up{job="vpcbpf"}')"
	wait_until 20 prom_is vpcbpf_datapath_up 1
	wait_until 20 prom_is 'vpcbpf_nics{location="local"}' 2
	wait_until 20 prom_is vpcbpf_conntrack_capacity 262144
}

@test "Prometheus sees a NIC's packets (labels vpc, nic) after real traffic, equal to vpcbpf stats" {
	in_vm a1 ping -c 5 -i 0.2 -W 1 10.0.1.11
	local tx rx
	tx=$(vpcbpf_on h -j stats nic 10.0.1.10 vpc 100 | jq '.[0].tx_packets')
	rx=$(vpcbpf_on h -j stats nic 10.0.1.11 vpc 100 | jq '.[0].rx_packets')
	[ "$tx" -ge 5 ] && [ "$rx" -ge 5 ]
	wait_until 20 prom_is 'vpcbpf_nic_tx_packets_total{vpc="100",nic="10.0.1.10"}' "$tx" ||
		fail "Prometheus has $(prom_query 'vpcbpf_nic_tx_packets_total{vpc="100",nic="10.0.1.10"}'), stats $tx"
	wait_until 20 prom_is 'vpcbpf_nic_rx_packets_total{vpc="100",nic="10.0.1.11"}' "$rx"
	# bytes in base units: at least 5 echo requests of 98 bytes
	[ "$(prom_query 'vpcbpf_nic_tx_bytes_total{vpc="100",nic="10.0.1.10"}')" -ge 490 ]
}

@test "Prometheus sees a drop counted by reason: a spoofed source address" {
	local before
	before=$(stats_drop h spoofed-ip)
	in_vm a1 ip neigh replace 10.0.1.11 lladdr 02:00:00:00:01:11 dev eth0 nud permanent
	in_vm a1 ip addr add 10.0.1.99/24 dev eth0
	run in_vm a1 ping -c 4 -i 0.1 -W 1 -I 10.0.1.99 10.0.1.11
	in_vm a1 ip addr del 10.0.1.99/24 dev eth0
	in_vm a1 ip neigh del 10.0.1.11 dev eth0
	assert_failure
	[ "$(stats_drop h spoofed-ip)" = $((before + 4)) ]
	wait_until 20 prom_is 'vpcbpf_drops_total{reason="spoofed-ip"}' $((before + 4)) ||
		fail "Prometheus has $(prom_query 'vpcbpf_drops_total{reason="spoofed-ip"}')"
	# and the NIC that sent them counts them too
	local nic_drops
	nic_drops=$(vpcbpf_on h -j stats nic 10.0.1.10 vpc 100 | jq '.[0].drops_total')
	[ "$nic_drops" -ge 4 ]
	wait_until 20 prom_is 'vpcbpf_nic_drops_total{vpc="100",nic="10.0.1.10"}' "$nic_drops"
}

@test "promtool accepts what Prometheus scraped, and the server still answers /healthz" {
	local url
	url=$(grep -o 'http://[^/]*' "$(proc_log metrics)" | head -1)
	ip netns exec "$(host_ns h)" curl -sf --max-time 5 "$url/metrics" | promtool check metrics
	[ "$(ip netns exec "$(host_ns h)" curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]
	# every scrape Prometheus made succeeded (up is 0 for a scrape it could not fetch or parse)
	prom_is 'min_over_time(up{job="vpcbpf"}[10m])' 1
	[ "$(prom_query 'count_over_time(up{job="vpcbpf"}[10m])')" -ge 3 ]
}
