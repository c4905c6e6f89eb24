#!/usr/bin/env bats
# tests/cli/dp.bats — vpcbpf dp up/show/down: loading, upgrading and unloading a host's datapath.
load common

@test "dp show: state up, router mac, the pinned program; no verb = show" {
	run v dp show
	assert_success
	assert_output --partial "state up"
	assert_output --partial "router-mac 0e:76:70:63:00:01"
	assert_output --partial "program nic_ingress"
	ok_json dp show
	jq -e '.state == "up" and (.programs | length == 1) and .programs[0].name == "nic_ingress"' <<<"$output"
	run v dp
	assert_success
	assert_output --partial "state up"
}

@test "dp up with an underlay dev records it; local and router-mac are taken" {
	underlay_create ua ub
	host_create ua dev ul0 xdp off router-mac 02:aa:00:00:00:01
	ok_json dp show
	run vpcbpf_on ua -j dp show
	assert_success
	jq -e '.underlay_dev == "ul0" and .underlay_ip == "192.168.100.1" and .nic_mtu == (.underlay_mtu - 50)' <<<"$output"
	jq -e '.router_mac == "02:aa:00:00:00:01" and .xdp == "off"' <<<"$output"
	host_create ub
	run vpcbpf_on ub dp up dev ul0 local 192.168.100.22 xdp off
	assert_success
	run vpcbpf_on ub -j dp show
	jq -e '.underlay_ip == "192.168.100.22"' <<<"$output"
}

@test "dp up picks the XDP mode for the driver and says why; xdp MODE forces one" {
	underlay_create ua ub
	host_create ua
	run vpcbpf_on ua dp up dev ul0
	assert_success
	assert_output --partial "xdp off"
	assert_output --regexp "xdp off chosen: veth: .*tc is faster"
	run vpcbpf_on ua -j dp show
	jq -e '.xdp == "off"' <<<"$output"
	run vpcbpf_on ua dp up dev ul0 xdp native
	assert_success
	refute_output --partial "chosen"
	run vpcbpf_on ua -j dp show
	jq -e '.xdp == "native"' <<<"$output"
	run vpcbpf_on ua dp up # neither dev nor xdp: the mode the host had
	run vpcbpf_on ua -j dp show
	jq -e '.xdp == "native"' <<<"$output"
	run vpcbpf_on ua dp up xdp auto
	assert_output --partial "xdp off chosen: veth"
	run vpcbpf_on ua -j dp show
	jq -e '.xdp == "off"' <<<"$output"
}

@test "dp up again upgrades in place: maps, NICs and the tc filter are kept" {
	base_world
	before=$(json_snapshot h)
	run v dp up
	assert_success
	assert_output --partial "1 NIC(s) attached"
	[ "$(json_snapshot h)" = "$before" ]
	run tc -n "$(host_ns h)" filter show dev vm1 ingress
	assert_output --partial "nic_ingress"
	run ip netns exec "$(vm_ns vm1)" ping -c 1 -W 1 10.0.1.1
	assert_success
}

@test "dp down removes the tc filters and every pin" {
	base_world
	run tc -n "$(host_ns h)" filter show dev vm1 ingress
	assert_output --partial "nic_ingress"
	run v dp down
	assert_success
	run tc -n "$(host_ns h)" filter show dev vm1 ingress
	refute_output --partial "nic_ingress"
	[ ! -e "$(host_pin h)" ]
	run --separate-stderr v vpc show
	assert_failure 2
	[[ "$stderr" == *"not loaded"* ]]
}

@test "dp down keep-maps keeps the state; dp up brings the NICs back" {
	base_world
	before=$(json_snapshot h)
	run v dp down keep-maps
	assert_success
	run tc -n "$(host_ns h)" filter show dev vm1 ingress
	refute_output --partial "nic_ingress"
	run v -j dp show
	jq -e '.state == "down"' <<<"$output"
	[ "$(json_snapshot h)" = "$before" ]
	run v dp up
	assert_success
	run tc -n "$(host_ns h)" filter show dev vm1 ingress
	assert_output --partial "nic_ingress"
	run ip netns exec "$(vm_ns vm1)" ping -c 1 -W 1 10.0.1.1
	assert_success
}

@test "every command on a pin dir that is not loaded says so (exit 2: the environment)" {
	local none="$BPFFS/$T-none"
	for cmd in "vpc show" "subnet show" "nic show" "route show" "stats" "dp show" \
		"vpc add 5" "subnet add 10.0.0.0/24 vpc 5" "route get 10.0.0.1 vpc 5"; do
		run --separate-stderr "$VPCBPF" -d "$none" $cmd
		[ "$status" -eq 2 ] || fail "$cmd: exit $status"
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "$cmd: $stderr"
		[[ "$stderr" == *"not loaded"*"dp up"* ]] || fail "$cmd: $stderr"
		run --separate-stderr "$VPCBPF" -j -d "$none" $cmd
		[ "$status" -eq 2 ] || fail "$cmd -j: exit $status"
		jq -e '(.error | test("not loaded")) and .code == 2' <<<"$output" || fail "$cmd -j: $output"
	done
	# dp down asks for the state that already is: it succeeds and says so
	run --separate-stderr "$VPCBPF" -d "$none" dp down
	assert_success
	assert_output --partial "nothing to do"
	[ ! -e "$none" ]
}

@test "dp up refuses bad arguments and changes nothing" {
	base_world
	local dp_before
	dp_before=$(v -j dp show)
	refuses nosuchdev0 dp up dev nosuchdev0
	refuses '"sideways"' dp up dev vm1 xdp sideways
	refuses '"local"' dp up local 192.168.1.1
	refuses 1.2.3 dp up dev vm1 local 1.2.3
	refuses '"frob"' dp up frob
	refuses '"dev"' dp up dev
	refuses 01:00:00:00:00:01 dp up router-mac 01:00:00:00:00:01
	refuses '"frob"' dp down frob
	refuses '"frob"' dp show frob
	refuses '"vm1"' dp up dev vm1
	# nothing was loaded or pinned by a refused dp up: same programs, same ids
	[ "$(v -j dp show)" = "$dp_before" ] || fail "dp show changed: $dp_before -> $(v -j dp show)"
}

@test "dp up dev without an IPv4 address asks for local" {
	vm_create h vm1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10
	run --separate-stderr v dp up dev vm1
	assert_failure 1
	[[ "$stderr" == *'"vm1"'*local* ]]
}
