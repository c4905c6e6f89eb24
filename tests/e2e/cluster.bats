#!/usr/bin/env bats
# tests/e2e/cluster.bats — four hosts, each with a vpcbpf agent, one real etcd: desired state written once, every host converges; failures.
#
# The world (setup_file): hosts hA..hD on the underlay switch sw (192.168.100.1..4, switch .254),
# etcd (Debian's etcd-server, default limits) in sw's netns, `vpcbpf agent` on each host (lease 3 s).
# Three VPCs with the same addresses, written through `vpcbpf --etcd URL --batch`:
#   VPC 100: a1 10.0.1.10 on hA   a2 10.0.1.11 on hB   a3 10.0.1.12 on hC
#   VPC 200: b1 10.0.1.10 on hB   b2 10.0.1.11 on hD
#   VPC 300: c1 10.0.1.10 on hC   c2 10.0.1.11 on hA
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

mac() { printf '02:%02x:00:00:01:%02x' "$1" "$2"; }

# The CLI in cluster mode, from the switch's netns (where etcd is).
E() { ip netns exec "$T-sw" "$VPCBPF" --etcd "$ETCD_URL" "$@"; }

agent_start() { # HOST (hA serves metrics on 127.0.0.1:9400 of its netns)
	local m=()
	[ "$1" = hA ] && m=(metrics 127.0.0.1:9400)
	"$VPCBPF" -n "$T-$1" -d "$BPFFS/$T-$1" agent --etcd "$ETCD_URL" host "$1" dev ul0 xdp generic lease 3 "${m[@]}" \
		>>"$LIB_STATE/agent-$1.log" 2>&1 3>&- &
	echo $! >"$LIB_STATE/agent-$1.pid"
	proc_register "$!"
}
agent_pid() { cat "$LIB_STATE/agent-$1.pid"; }

# Waits until every HOST reports an applied revision >= REV (status/HOST), 15 s at most.
wait_applied() { # REV HOST...
	local rev=$1 h
	shift
	for _ in $(seq 150); do
		local ok=1
		for h in "$@"; do
			[ "$(E -j host show | jq --arg h "$h" '[.[] | select(.host == $h and .state == "up")][0].revision // 0')" -ge "$rev" ] || ok=0
		done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	echo "wait_applied: not every host of $* applied revision $rev" >&2
	E host show >&2
	return 1
}

# hA's agent's /metrics (or another PATH)
metrics() { ip netns exec "$T-hA" curl -sf "http://127.0.0.1:9400${1:-/metrics}"; }

# The revision a write committed (its -j output).
rev_of() { jq -r .revision; }

setup_file() {
	lib_init
	switch_create sw 192.168.100 hA hB hC hD
	etcd_start sw
	for h in hA hB hC hD; do
		lib_register pin "$h"
		agent_start "$h"
	done
	vm_create hA a1 10.0.1.10/24 10.0.1.1 "$(mac 1 10)" 1450
	vm_create hB a2 10.0.1.11/24 10.0.1.1 "$(mac 1 11)" 1450
	vm_create hC a3 10.0.1.12/24 10.0.1.1 "$(mac 1 12)" 1450
	vm_create hB b1 10.0.1.10/24 10.0.1.1 "$(mac 2 10)" 1450
	vm_create hD b2 10.0.1.11/24 10.0.1.1 "$(mac 2 11)" 1450
	vm_create hC c1 10.0.1.10/24 10.0.1.1 "$(mac 3 10)" 1450
	vm_create hA c2 10.0.1.11/24 10.0.1.1 "$(mac 3 11)" 1450
	cat >"$LIB_STATE/world.batch" <<-EOF
		vpc add 100 name blue
		vpc add 200 name red
		vpc add 300 name green
		subnet add 10.0.1.0/24 vpc 100
		subnet add 10.0.1.0/24 vpc 200
		subnet add 10.0.1.0/24 vpc 300
		nic add 10.0.1.10 vpc 100 mac $(mac 1 10) host hA dev a1
		nic add 10.0.1.11 vpc 100 mac $(mac 1 11) host hB dev a2
		nic add 10.0.1.12 vpc 100 mac $(mac 1 12) host hC dev a3
		nic add 10.0.1.10 vpc 200 mac $(mac 2 10) host hB dev b1
		nic add 10.0.1.11 vpc 200 mac $(mac 2 11) host hD dev b2
		nic add 10.0.1.10 vpc 300 mac $(mac 3 10) host hC dev c1
		nic add 10.0.1.11 vpc 300 mac $(mac 3 11) host hA dev c2
	EOF
	local rev
	rev=$(E -j --batch "$LIB_STATE/world.batch" | rev_of)
	wait_applied "$rev" hA hB hC hD
}

teardown_file() {
	lib_cleanup
}

@test "a batch written once to etcd reaches every host: local NICs on their dev, the others remote at their host" {
	run vpcbpf_on hA -j nic show vpc 100
	assert_success
	assert_equal "$(jq -r '.[] | select(.ip == "10.0.1.10") | .dev' <<<"$output")" a1
	assert_equal "$(jq -r '.[] | select(.ip == "10.0.1.11") | .remote' <<<"$output")" 192.168.100.2
	assert_equal "$(jq -r '.[] | select(.ip == "10.0.1.12") | .remote' <<<"$output")" 192.168.100.3
	run vpcbpf_on hD -j nic show
	assert_equal "$(jq length <<<"$output")" 7
	run E -j nic show vpc 200
	assert_equal "$(jq -r '.[] | select(.ip == "10.0.1.11") | .host + " " + .dev + " " + .host_state' <<<"$output")" "hD b2 up"
	grep -q "nic 10.0.1.10 vpc 100 dev a1 added" "$LIB_STATE/agent-hA.log"
}

@test "VMs in three VPCs with the same addresses reach each other across hosts only inside their VPC" {
	in_vm a1 ping -c 1 -W 2 10.0.1.11
	in_vm a1 ping -c 1 -W 2 10.0.1.12
	in_vm b1 ping -c 1 -W 2 10.0.1.11
	in_vm c1 ping -c 1 -W 2 10.0.1.11
	# 10.0.1.12 exists in VPC 100 only: VPCs 200 and 300 do not reach it
	run in_vm b1 ping -c 1 -W 1 10.0.1.12
	assert_failure
	run in_vm c2 ping -c 1 -W 1 10.0.1.12
	assert_failure
	# a2 (VPC 100, 10.0.1.11) answers a1; b2 (VPC 200, same address) sees nothing of it
	local before
	before=$(vm_rx b2)
	in_vm a1 ping -c 3 -i 0.2 -W 2 10.0.1.11
	assert_equal "$(vm_rx b2)" "$before"
}

@test "a cluster write is checked by the rules of a local edit and changes nothing when refused" {
	local before
	before=$(E -j save)
	run E nic add 10.0.1.50 vpc 999 mac 02:00:00:00:09:50 host hA dev x1
	assert_failure
	assert_output --partial "VPC 999 does not exist"
	run E nic add 10.0.1.50 vpc 100 mac 02:00:00:00:09:50 dev x1
	assert_failure
	assert_output --partial 'host NAME dev IFNAME'
	run E subnet add 10.0.1.0/24 vpc 100
	assert_failure
	run E vpc del 100
	assert_failure
	assert_output --partial "still has"
	assert_equal "$(E -j save)" "$before"
	# save | apply round-trips and writes nothing
	local rev
	rev=$(E -j host show | jq '[.[].revision] | max')
	E save | E apply -
	assert_equal "$(E -j save)" "$before"
}

@test "a NIC that moves host is followed by the traffic" {
	in_vm a1 ping -c 1 -W 2 10.0.1.12
	# the VM moves from hC to hD: its interface is now a veth of hD
	ip -n "$T-hC" link del a3
	vm_nic_add hD a3 a3 eth0 10.0.1.12/24 "$(mac 1 12)" 1450
	ip -n "$T-a3" route add default via 10.0.1.1
	local rev
	rev=$(E -j nic replace 10.0.1.12 vpc 100 mac "$(mac 1 12)" host hD dev a3 | rev_of)
	wait_applied "$rev" hA hB hC hD
	assert_equal "$(vpcbpf_on hA -j nic show vpc 100 | jq -r '.[] | select(.ip == "10.0.1.12") | .remote')" 192.168.100.4
	in_vm a1 ping -c 1 -W 2 10.0.1.12
	grep -q "nic 10.0.1.12 vpc 100 remote 192.168.100.4 moved" "$LIB_STATE/agent-hA.log"
}

@test "etcd down: traffic keeps flowing on the last state, the agents retry and converge when it is back" {
	etcd_stop
	in_vm a1 ping -c 2 -i 0.2 -W 2 10.0.1.11
	sleep 1.5
	in_vm b1 ping -c 1 -W 2 10.0.1.11
	etcd_restart
	local rev
	rev=$(E -j route add 172.16.0.0/16 vpc 100 via 10.0.1.11 | rev_of)
	wait_applied "$rev" hA hB hC hD
	run vpcbpf_on hC -j route show vpc 100
	assert_output --partial 172.16.0.0/16
	grep -q "retrying in\|listing again" "$LIB_STATE/agent-hA.log"
}

@test "an agent killed with -9 loses no packet, and its restart applies what changed meanwhile" {
	in_vm a2 ping -c 1 -W 2 10.0.1.10
	in_vm a2 ping -q -i 0.02 -c 150 -W 2 10.0.1.10 >"$LIB_STATE/ping-kill" 2>&1 &
	local ping=$!
	sleep 0.5
	kill -9 "$(agent_pid hB)"
	local rev
	rev=$(E -j route add 172.17.0.0/16 vpc 100 blackhole | rev_of)
	wait_applied "$rev" hA hC hD
	agent_start hB
	wait_applied "$rev" hB
	wait "$ping"
	grep -q " 0% packet loss" "$LIB_STATE/ping-kill" || { cat "$LIB_STATE/ping-kill"; false; }
	run vpcbpf_on hB -j route show vpc 100
	assert_output --partial 172.17.0.0/16
}

@test "a host whose lease expires shows as down, and its NICs stay everywhere" {
	kill -STOP "$(agent_pid hD)"
	# lease 3 s: hosts/hD goes, the NIC is still in etcd and shows its host down
	local state
	for _ in $(seq 80); do
		state=$(E -j nic show vpc 200 | jq -r '.[] | select(.ip == "10.0.1.11") | .host_state')
		[ "$state" = down ] && break
		sleep 0.1
	done
	# hA's metrics say so too
	run metrics
	assert_output --partial 'vpcbpf_cluster_host_up{host="hD"} 0'
	kill -CONT "$(agent_pid hD)"
	assert_equal "$state" down
	# the other hosts keep it at its last address: b1 on hB still reaches b2 on hD
	assert_equal "$(vpcbpf_on hB -j nic show vpc 200 | jq -r '.[] | select(.ip == "10.0.1.11") | .remote')" 192.168.100.4
	in_vm b1 ping -c 1 -W 2 10.0.1.11
	# and hD registers again
	for _ in $(seq 80); do
		state=$(E -j nic show vpc 200 | jq -r '.[] | select(.ip == "10.0.1.11") | .host_state')
		[ "$state" = up ] && break
		sleep 0.1
	done
	assert_equal "$state" up
}

@test "bad values in etcd are logged and counted, and the rest applies" {
	local p=/vpcbpf/v1/ put
	put() { ip netns exec "$T-sw" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" put "$@" >/dev/null; }
	put "${p}nics/100/10.0.1.90" '{"ip": "10.0.1.90", "vpc": 100, "mac":'
	put "${p}nics/999/10.0.1.91" '{"ip": "10.0.1.91", "vpc": 999, "mac": "02:00:00:00:09:91", "host": "hA", "dev": "a1"}'
	# a dev that does not exist on hA, through the CLI (which cannot know hA's devices)
	local rev
	rev=$(E -j --batch - <<-EOF | rev_of
		nic add 10.0.1.92 vpc 100 mac 02:00:00:00:09:92 host hA dev nosuch
		route add 172.18.0.0/16 vpc 100 via 10.0.1.10
	EOF
	)
	wait_applied "$rev" hA hB hC hD
	run vpcbpf_on hA -j route show vpc 100
	assert_output --partial 172.18.0.0/16
	run vpcbpf_on hA -j nic show vpc 100
	refute_output --partial 10.0.1.92
	run vpcbpf_on hB -j nic show vpc 100
	assert_output --partial 10.0.1.92 # on hB it is a remote NIC of hA: nothing is wrong there
	assert_equal "$(E -j host show | jq '.[] | select(.host == "hA") | .errors')" 3
	grep -q 'nics/100/10.0.1.90: malformed JSON' "$LIB_STATE/agent-hA.log"
	grep -q 'VPC 999 does not exist' "$LIB_STATE/agent-hA.log"
	grep -q 'device "nosuch" does not exist' "$LIB_STATE/agent-hA.log"
	kill -0 "$(agent_pid hA)"
	ip netns exec "$T-sw" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" del --prefix "${p}nics/999/" >/dev/null
	ip netns exec "$T-sw" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" del "${p}nics/100/10.0.1.90" >/dev/null
	E nic del 10.0.1.92 vpc 100
}

@test "two concurrent --batch writers lose no update" {
	local w i
	for w in 1 2; do
		for i in $(seq 1 5); do
			for r in $(seq 1 20); do echo "route add 10.$((100 + w)).$i.$r/32 vpc 300 blackhole"; done >"$LIB_STATE/w$w-$i.batch"
		done
		( for i in $(seq 1 5); do E --batch "$LIB_STATE/w$w-$i.batch" || exit 1; done ) &
		eval "writer$w=\$!"
	done
	wait "$writer1"
	wait "$writer2"
	assert_equal "$(E -j route show vpc 300 | jq '[.[] | select(.prefix | startswith("10.10"))] | length')" 200
}

@test "a 1000-route batch commits within etcd's limits and each host applies it at once" {
	for i in $(seq 0 999); do echo "route add 10.200.$((i / 250)).$((i % 250))/32 vpc 200 via 10.0.1.11"; done \
		>"$LIB_STATE/big.batch"
	# watch every host's route count while it lands (the subnet's connected route + 0 or 1000), never in between
	( while :; do
		for h in hA hB hC hD; do vpcbpf_on "$h" -j route show vpc 200 | jq length; done
	done >"$LIB_STATE/counts" 2>/dev/null ) &
	local watcher=$!
	local rev
	rev=$(E -j --batch "$LIB_STATE/big.batch" | rev_of)
	wait_applied "$rev" hA hB hC hD
	kill "$watcher"
	wait "$watcher" 2>/dev/null || true
	run grep -cvx '1\|1001' "$LIB_STATE/counts"
	assert_output 0
	for h in hA hB hC hD; do
		assert_equal "$(vpcbpf_on "$h" -j route show vpc 200 | jq length)" 1001
		grep -q "routes of vpc 200: 1000 added" "$LIB_STATE/agent-$h.log"
	done
	# the routes travel as chunks under one manifest per VPC
	run ip netns exec "$T-sw" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" get --prefix --keys-only /vpcbpf/v1/routes/200/
	assert_output --partial /vpcbpf/v1/routes/200/manifest
	assert_output --partial /vpcbpf/v1/routes/200/chunk/
	E route flush vpc 200
	run ip netns exec "$T-sw" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" get --prefix --keys-only /vpcbpf/v1/routes/200/
	assert_output ""
}

@test "an agent stopped with SIGTERM exits cleanly, removes hosts/NAME and leaves the datapath forwarding" {
	kill -TERM "$(agent_pid hC)"
	for _ in $(seq 50); do kill -0 "$(agent_pid hC)" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$(agent_pid hC)"
	assert_failure
	grep -q "lease revoked" "$LIB_STATE/agent-hC.log"
	assert_equal "$(E -j host show | jq -r '.[] | select(.host == "hC") | .state')" down
	in_vm c1 ping -c 1 -W 2 10.0.1.11
	agent_start hC
}

@test "the agent's metrics: applied revision, sync state, etcd connection, values refused, hosts up; /healthz once synced" {
	local rev
	rev=$(E -j vpc add 900 | rev_of)
	wait_applied "$rev" hA
	run metrics
	assert_success
	assert_output --regexp "vpcbpf_agent_applied_revision [0-9]+"
	[ "$(awk '$1 == "vpcbpf_agent_applied_revision" {print $2}' <<<"$output")" -ge "$rev" ]
	assert_output --partial "vpcbpf_agent_synced 1"
	assert_output --partial "vpcbpf_agent_etcd_connected 1"
	assert_output --partial "vpcbpf_agent_sync_lag_seconds 0"
	assert_output --partial 'vpcbpf_cluster_host_up{host="hB"} 1'
	assert_output --regexp "vpcbpf_agent_sync_duration_seconds_count [1-9]"
	assert_output --partial "# TYPE vpcbpf_agent_values_refused_total counter"
	promtool check metrics <<<"$output"
	run metrics /healthz
	assert_success
	E vpc del 900
}
