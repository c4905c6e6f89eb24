#!/usr/bin/env bats
# tests/e2e/cni_cluster.bats — vpcbpf-cni in cluster mode: NICs written to etcd, applied by each host's agent.
#
# The world (setup_file): hosts hA and hB on the underlay switch sw (192.168.100.1, .2), a real etcd in sw's
# netns, `vpcbpf agent` on both hosts. VPC 100 and VPC 200, both 10.0.0.0/24, written with `vpcbpf --etcd`.
# Each host has its own host-local with its own part of the subnet (hA .10-.99, hB .100-.199), as nodes of a
# cluster do. The plugin runs in a host's netns with "etcd" and "host" in its netconf.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf
load ../lib/cni

E() { ip netns exec "$T-sw" "$VPCBPF" --etcd "$ETCD_URL" "$@"; }

agent_start() { # HOST
	"$VPCBPF" -n "$T-$1" -d "$BPFFS/$T-$1" agent --etcd "$ETCD_URL" host "$1" dev ul0 xdp generic lease 3 \
		>>"$LIB_STATE/agent-$1.log" 2>&1 &
	echo $! >"$LIB_STATE/agent-$1.pid"
	proc_register "$!"
}

# netconf NAME VNI HOST [FIELDS]: cluster mode on HOST, host-local over HOST's part of 10.0.0.0/24
netconf() {
	local start=10 end=99
	[ "$3" = hB ] && start=100 end=199
	printf '{"cniVersion":"1.0.0","name":"%s","type":"vpcbpf","vpc":%s,"etcd":"%s","host":"%s","ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.%s","rangeEnd":"10.0.0.%s"}]],"dataDir":"%s"}%s}\n' \
		"$1" "$2" "$ETCD_URL" "$3" "$start" "$end" "$(ipam_dir "$3")" "${4:+,$4}"
}

# host-local's files of HOST, fresh for each test (so that both networks start at the same address)
ipam_dir() { echo "$LIB_STATE/ipam-$1-$BATS_TEST_NUMBER"; }

# on HOST COMMAND ID CONF [IFNAME]: the plugin on HOST (its pin dir for the underlay MTU)
on() {
	local host=$1
	shift
	CNI_HOST=$host VPCBPF_PIN_DIR=$(host_pin "$host") cni_call "$@"
}

setup_file() {
	lib_init
	[ -x "$CNI_PLUGIN" ] || { echo "# $CNI_PLUGIN is not built" >&3; return 1; }
	switch_create sw 192.168.100 hA hB || return 1
	etcd_start sw || return 1
	for h in hA hB; do
		lib_register pin "$h"
		agent_start "$h"
	done
	E vpc add 100 && E vpc add 200 && E subnet add 10.0.0.0/24 vpc 100 && E subnet add 10.0.0.0/24 vpc 200 &&
		E sg add web || return 1
	# both agents up and synced before any test
	for _ in $(seq 100); do
		[ "$(E -j host show | jq '[.[] | select(.state == "up")] | length')" = 2 ] && return 0
		sleep 0.1
	done
	E host show >&3
	return 1
}

teardown() {
	local f id host
	for f in "$LIB_STATE"/conf.*; do
		[ -e "$f" ] || continue
		id=${f#"$LIB_STATE"/conf.}
		host=${id#*.}
		id=${id%%.*}
		on "$host" DEL "$id" "$(cat "$f")" >/dev/null 2>&1
		rm -f "$f"
	done
	for f in /var/run/netns/"$T"-c*; do
		[ -e "$f" ] && ip netns del "${f##*/}"
	done
	return 0
}

teardown_file() {
	lib_cleanup
}

# add HOST ID CONF: ADD that teardown undoes; the result in $output
add() {
	cni_container "$2"
	printf '%s\n' "$3" >"$LIB_STATE/conf.$2.$1"
	run --separate-stderr on "$1" ADD "$2" "$3"
}

cni_error() {
	[ "$status" -ne 0 ] || fail "succeeded, want error $1: $output"
	[ "$(jq -r .code <<<"$output")" = "$1" ] || fail "code, want $1: $output"
	[[ "$(jq -r .msg <<<"$output")" =~ $2 ]] || fail "msg does not say /$2/: $output"
}

@test "cluster: a container on host A reaches a container on host B, both attached by the plugin" {
	add hA c1 "$(netconf blue 100 hA)"
	assert_success
	local ipa ipb
	ipa=$(jq -r '.ips[0].address | split("/")[0]' <<<"$output")
	add hB c2 "$(netconf blue 100 hB)"
	assert_success
	ipb=$(jq -r '.ips[0].address | split("/")[0]' <<<"$output")
	# etcd has both, each on its host and veth
	assert_equal "$(E -j nic show vpc 100 | jq -r 'sort_by(.ip) | .[] | "\(.ip) \(.host)"' | tr '\n' ' ')" "$ipa hA $ipb hB "
	# ADD returned once its own host applied it; the other host follows (bounded wait)
	local i ok=0
	for i in $(seq 30); do
		ip netns exec "$T-c1" ping -c 1 -W 1 "$ipb" >/dev/null 2>&1 && { ok=1; break; }
	done
	[ $ok = 1 ] || fail "c1 on hA does not reach c2 on hB at $ipb"
	run ip netns exec "$T-c2" ping -c 2 -W 2 "$ipa"
	assert_success
	# host A's datapath has c1 local and c2 remote at hB's underlay address
	assert_equal "$(vpcbpf_on hA -j nic show vpc 100 | jq -r --arg ip "$ipb" '.[] | select(.ip == $ip) | .remote')" 192.168.100.2
}

@test "cluster: CHECK compares with etcd, DEL removes the NIC everywhere, twice is fine" {
	add hA c1 "$(netconf blue 100 hA)"
	assert_success
	local prev=$output ip conf
	ip=$(jq -r '.ips[0].address | split("/")[0]' <<<"$prev")
	conf=$(jq -c --argjson p "$prev" '. + {prevResult: $p}' <<<"$(netconf blue 100 hA)")
	run --separate-stderr on hA CHECK c1 "$conf"
	assert_success
	E nic set "$ip" vpc 100 sg web
	run --separate-stderr on hA CHECK c1 "$conf"
	cni_error 102 "security group web in the cluster, the network says none"
	E nic set "$ip" vpc 100 sg none
	run --separate-stderr on hA DEL c1 "$conf"
	assert_success
	run --separate-stderr on hA DEL c1 "$conf"
	assert_success
	assert_equal "$(E -j nic show vpc 100 | jq length)" 0
	assert_equal "$(vpcbpf_on hA -j nic show vpc 100 | jq length)" 0
	assert_equal "$(cni_veths)" ""
}

@test "cluster: equal addresses in two VPCs across two hosts reach only their own VPC" {
	add hA c1 "$(netconf blue 100 hA)" && add hA c3 "$(netconf red 200 hA)"
	add hB c2 "$(netconf blue 100 hB)"
	assert_success
	local ipb
	ipb=$(jq -r '.ips[0].address | split("/")[0]' <<<"$output")
	add hB c4 "$(netconf red 200 hB)"
	assert_success
	assert_equal "$(jq -r '.ips[0].address | split("/")[0]' <<<"$output")" "$ipb"
	local i ok=0 blue_rx
	blue_rx=$(ip -n "$T-c2" -j -s link show eth0 | jq '.[0].stats64.rx.packets')
	for i in $(seq 30); do
		ip netns exec "$T-c3" ping -c 1 -W 1 "$ipb" >/dev/null 2>&1 && { ok=1; break; }
	done
	[ $ok = 1 ] || fail "red c3 on hA does not reach red c4 on hB"
	# blue's c2 at the same address saw none of red's pings (IPv6 is off in the containers)
	assert_equal "$(ip -n "$T-c2" -j -s link show eth0 | jq '.[0].stats64.rx.packets')" "$blue_rx"
}

@test "cluster: an agent that does not apply in time: ADD fails with 11 (try again later), nothing left" {
	local pid
	pid=$(cat "$LIB_STATE/agent-hA.pid")
	kill -STOP "$pid"
	add hA c1 "$(netconf blue 100 hA '"applyTimeout":1')"
	kill -CONT "$pid"
	cni_error 11 "host hA's agent did not apply revision [0-9]+ within 1000 ms"
	assert_equal "$(E -j nic show vpc 100 | jq length)" 0
	assert_equal "$(CNI_HOST=hA cni_veths)" ""
	assert_equal "$(find "$(ipam_dir hA)" -name '10.*' 2>/dev/null)" ""
}

@test "cluster: a bad netconf or an unreachable etcd gets its CNI error, nothing left" {
	cni_container c1
	run --separate-stderr on hA ADD c1 "$(netconf blue 999 hA)"
	cni_error 7 "VPC 999 does not exist in the cluster"
	run --separate-stderr on hA ADD c1 "$(netconf blue 100 hA '"sg":"nosuch"')"
	cni_error 7 'security group "nosuch" does not exist'
	run --separate-stderr on hA ADD c1 "$(jq -c '.etcd = "http://192.168.100.254:1"' <<<"$(netconf blue 100 hA)")"
	cni_error 11 "etcd http://192.168.100.254:1"
	run --separate-stderr on hA ADD c1 "$(jq -c '.pinDir = "/x"' <<<"$(netconf blue 100 hA)")"
	cni_error 7 '"pinDir" is for one host'
	assert_equal "$(E -j nic show | jq length)" 0
	assert_equal "$(CNI_HOST=hA cni_veths)" ""
}
