#!/usr/bin/env bats
# tests/e2e/nat_cluster.bats — the internet in cluster mode: internet routes and EIPs written to etcd (eips/EIP), applied by each host's agent, refused whole when wrong.
#
# The world (setup_file): hosts hA, hB on the underlay switch sw (192.168.100.1, .2; etcd at .254),
# each with an external device ext0 (203.0.113.10, .11) on the bridge of ns "inet" (203.0.113.1),
# and an agent started with "external ext0". VM v3 10.0.0.3 of VPC 100 lives on hA (a TCP 80
# server saying "v3 saw PEER"); every write goes through `vpcbpf --etcd URL`.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

EIP=203.0.113.100

# The CLI in cluster mode, from the switch's netns (where etcd is).
E() { ip netns exec "$T-sw" "$VPCBPF" --etcd "$ETCD_URL" "$@"; }

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

# The revision etcd is at: a refused write must leave it where it was.
etcd_rev() { ip netns exec "$T-sw" curl -sf -X POST "$ETCD_URL/v3/kv/range" -d '{"key":"AA=="}' | jq -er '.header.revision'; }

setup_file() {
	lib_init
	switch_create sw 192.168.100 hA hB
	etcd_start sw
	ns_create inet
	ip -n "$T-inet" link add br0 type bridge
	ip -n "$T-inet" addr add 203.0.113.1/24 dev br0
	ip -n "$T-inet" link set br0 up
	local h n=10
	for h in hA hB; do
		ip -n "$T-$h" link add ext0 type veth peer name "$h" netns "$T-inet"
		ip -n "$T-inet" link set "$h" master br0 up
		ip -n "$T-$h" addr add "203.0.113.$n/24" dev ext0
		ip -n "$T-$h" link set ext0 up
		ip -n "$T-$h" route add default via 203.0.113.1 dev ext0
		ip netns exec "$T-$h" sysctl -qw net.ipv4.conf.ext0.forwarding=1
		n=$((n + 1))
		lib_register pin "$h"
		"$VPCBPF" -n "$T-$h" -d "$BPFFS/$T-$h" agent --etcd "$ETCD_URL" host "$h" dev ul0 xdp off external ext0 lease 3 \
			>>"$LIB_STATE/agent-$h.log" 2>&1 3>&- &
		proc_register $!
	done
	vm_create hA v3 10.0.0.3/24 10.0.0.1 02:00:00:00:01:03 1450
	in_vm v3 socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo "v3 saw $SOCAT_PEERADDR"' </dev/null >/dev/null 2>&1 3>&- &
	for _ in $(seq 100); do
		[ "$(E -j host show 2>/dev/null | jq '[.[] | select(.state == "up")] | length')" = 2 ] && break
		sleep 0.1
	done
}

teardown_file() {
	lib_cleanup
}

@test "an internet route and an EIP written to etcd reach both hosts; the outside reaches the VM on its EIP" {
	printf '%s\n' 'vpc add 100' 'subnet add 10.0.0.0/24 vpc 100' 'route add 0.0.0.0/0 vpc 100 internet' \
		'nic add 10.0.0.3 vpc 100 mac 02:00:00:00:01:03 host hA dev v3' \
		"eip add $EIP nic 10.0.0.3 vpc 100" >"$LIB_STATE/world"
	run E -j --batch "$LIB_STATE/world"
	assert_success
	local rev
	rev=$(jq .revision <<<"$output")
	wait_applied "$rev" hA hB
	# etcd holds one key per EIP, in save's schema
	run ip netns exec "$T-sw" curl -sf -X POST "$ETCD_URL/v3/kv/range" -d "{\"key\":\"$(printf '/vpcbpf/v1/eips/%s' $EIP | base64 -w0)\"}"
	assert_success
	[ "$(jq -r '.kvs[0].value' <<<"$output" | base64 -d | jq -Sc .)" = "{\"eip\":\"$EIP\",\"nic\":\"10.0.0.3\",\"vpc\":100}" ] ||
		fail "eips/$EIP: $output"
	run E eip show
	assert_output --partial "eip $EIP nic 10.0.0.3 vpc 100"
	run E -j save
	jq -e ".eips == [{\"eip\":\"$EIP\",\"nic\":\"10.0.0.3\",\"vpc\":100}] and ([.routes[] | select(.internet)] | length == 1)" <<<"$output"
	run vpcbpf_on hA eip show
	assert_output "eip $EIP nic 10.0.0.3 vpc 100 at local"
	run vpcbpf_on hB eip show
	assert_output "eip $EIP nic 10.0.0.3 vpc 100 at 192.168.100.1"
	run vpcbpf_on hB route show vpc 100
	assert_output --partial "0.0.0.0/0 vpc 100 internet"
	run ip netns exec "$T-inet" timeout 10 socat -T 3 - TCP:$EIP:80 </dev/null
	assert_output "v3 saw 203.0.113.1"
}

@test "bad EIPs through etcd: used twice, a missing NIC, a bad address, a host's own address, a bad batch line: exit 1, etcd unchanged" {
	local before
	before=$(etcd_rev)
	[ "$before" -gt 0 ] || fail "no etcd revision: $before"
	run --separate-stderr E eip add $EIP nic 10.0.0.3 vpc 100
	assert_failure 1
	[[ "$stderr" == *"$EIP is already in use"* ]] || fail "$stderr"
	run --separate-stderr E eip add 203.0.113.101 nic 10.0.0.99 vpc 100
	assert_failure 1
	[[ "$stderr" == *"NIC 10.0.0.99 does not exist in VPC 100"* ]] || fail "$stderr"
	run --separate-stderr E eip add 224.0.0.5 nic 10.0.0.3 vpc 100
	assert_failure 1
	[[ "$stderr" == *"224.0.0.5 cannot be an elastic IP"* ]] || fail "$stderr"
	printf '%s\n' 'eip del 203.0.113.100' 'eip add 203.0.113.102 nic 10.0.0.3 vpc 100' \
		'eip add 203.0.113.103 nic 10.0.0.3 vpc 100' >"$LIB_STATE/bad"
	run --separate-stderr E --batch "$LIB_STATE/bad"
	assert_failure 1
	[[ "$stderr" == *"bad:3: "*"already has elastic IP 203.0.113.102"* ]] || fail "$stderr"
	run --separate-stderr E nic del 10.0.0.3 vpc 100
	assert_failure 1
	[[ "$stderr" == *"eip del it first"* ]] || fail "$stderr"
	# a registered host's own addresses (its agent writes them in hosts/NAME): external, then underlay
	printf '%s\n' "eip del $EIP" 'eip add 203.0.113.11 nic 10.0.0.3 vpc 100' >"$LIB_STATE/own"
	run --separate-stderr E --batch "$LIB_STATE/own"
	assert_failure 1
	[[ "$stderr" == *"elastic IP 203.0.113.11 is host hB's own address"* ]] || fail "$stderr"
	printf '%s\n' "eip del $EIP" 'eip add 192.168.100.1 nic 10.0.0.3 vpc 100' >"$LIB_STATE/own"
	run --separate-stderr E --batch "$LIB_STATE/own"
	assert_failure 1
	[[ "$stderr" == *"elastic IP 192.168.100.1 is host hA's own address"* ]] || fail "$stderr"
	[ "$(etcd_rev)" = "$before" ] || fail "etcd moved from revision $before to $(etcd_rev)"
	run E eip show
	assert_output --partial "eip $EIP nic 10.0.0.3 vpc 100"
}

@test "eip del through etcd: both hosts drop it" {
	run E -j eip del $EIP
	assert_success
	wait_applied "$(jq .revision <<<"$output")" hA hB
	run E -j eip show
	assert_output "[]"
	run vpcbpf_on hA -j eip show
	assert_output "[]"
	run vpcbpf_on hB -j eip show
	assert_output "[]"
}

@test "an EIP that is a host's own address, put in etcd past the CLI, is refused by that host's agent, named in its log" {
	local p=/vpcbpf/v1/
	# (after eip del: v3's NIC has no EIP, so its own host's address is the one thing wrong)
	ip netns exec "$T-sw" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" \
		put "${p}eips/203.0.113.10" '{"eip":"203.0.113.10","nic":"10.0.0.3","vpc":100}' >/dev/null
	local i
	for i in $(seq 100); do
		grep -q 'elastic IP 203.0.113.10 is this host.s own address' "$LIB_STATE/agent-hA.log" && break
		sleep 0.1
	done
	grep -q 'elastic IP 203.0.113.10 is this host.s own address' "$LIB_STATE/agent-hA.log" || fail "$(tail -12 "$LIB_STATE/agent-hA.log"; E -j eip show; vpcbpf_on hA -j eip show; vpcbpf_on hA -j dp show)"
	run vpcbpf_on hA -j eip show
	refute_output --partial 203.0.113.10
	ip netns exec "$T-sw" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" del "${p}eips/203.0.113.10" >/dev/null
}
