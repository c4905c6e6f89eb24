#!/usr/bin/env bats
# tests/e2e/lib.bats — the shared test library itself: what it builds, and that lib_cleanup leaves nothing behind.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

teardown() {
	lib_cleanup
}

# Everything named with prefix $1 that still exists: netns, pin dirs, state dirs.
leftovers() {
	# the names in /run/netns, not `ip netns list`: that asks each netns its id and says "Peer netns
	# reference is invalid" about one that another process is deleting at that moment
	ls /run/netns 2>/dev/null | grep -- "^$1-" || true
	ls -d "$BPFFS/$1"-* 2>/dev/null || true
	ls -d /tmp/vpcbpf-"$1".* 2>/dev/null || true
}

@test "lib: two hosts on an underlay, VMs with an MTU and two NICs; lib_cleanup removes it all" {
	run bash -c '
		set -e
		unset T LIB_STATE; source "$0"
		lib_init
		echo "T=$T"
		underlay_create la lb
		host_create la dev ul0 xdp off
		host_create lb dev ul0 xdp off
		vm_create la v1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10 1450
		vm_nic_add la v1 v1b eth1 10.0.2.10/24 02:00:00:00:02:10
		ns_create side
		echo "ul $(underlay_ip la) $(underlay_ip lb)"
		echo "mtu $(ip -n "$(vm_ns v1)" -j link show eth0 | jq ".[0].mtu") $(ip -n "$(host_ns la)" -j link show v1 | jq ".[0].mtu")"
		echo "eth1 $(ip -n "$(vm_ns v1)" -j addr show eth1 | jq -r ".[0].addr_info[0].local")"
		echo "route $(ip -n "$(vm_ns v1)" -j route show default | jq -r ".[0].gateway")"
		echo "ipv6 $(in_vm v1 sysctl -n net.ipv6.conf.all.disable_ipv6)"
		in_vm la ping -c 1 -W 1 192.168.100.2 >/dev/null && echo "underlay ping ok"
		vpcbpf_on lb -j dp show | jq -r "\"dp \" + .underlay_ip"
		lib_cleanup
	' "$BATS_TEST_DIRNAME/../lib/vpcbpf.bash"
	assert_success
	assert_line "ul 192.168.100.1 192.168.100.2"
	assert_line "mtu 1450 1450"
	assert_line "eth1 10.0.2.10"
	assert_line "route 10.0.1.1"
	assert_line "ipv6 1"
	assert_line "underlay ping ok"
	assert_line "dp 192.168.100.2"
	local t=${lines[0]#T=}
	[ -n "$t" ]
	run leftovers "$t"
	assert_output ""
}

@test "lib: lib_cleanup also cleans up after a test that failed halfway" {
	run bash -c '
		unset T LIB_STATE; source "$0"
		lib_init
		echo "T=$T"
		host_create fh
		vm_create fh v1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10
		vpcbpf_on fh vpc add 1 && vpcbpf_on fh subnet add 10.0.1.0/24 vpc 1 &&
			vpcbpf_on fh nic add 10.0.1.10 vpc 1 mac 02:00:00:00:01:10 dev v1
		trap lib_cleanup EXIT
		false
	' "$BATS_TEST_DIRNAME/../lib/vpcbpf.bash"
	local t=${lines[0]#T=}
	[ -n "$t" ]
	run leftovers "$t"
	assert_output ""
}

@test "lib: two runs get different prefixes" {
	local a b
	a=$(bash -c 'unset T LIB_STATE; source "$0"; lib_init; echo "$T"; lib_cleanup' "$BATS_TEST_DIRNAME/../lib/vpcbpf.bash")
	b=$(bash -c 'unset T LIB_STATE; source "$0"; lib_init; echo "$T"; lib_cleanup' "$BATS_TEST_DIRNAME/../lib/vpcbpf.bash")
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]
}
