#!/usr/bin/env bats
# tests/cli/nic.bats — vpcbpf nic add/replace/del/show (dev and remote) and bad input.
load common

@test "nic add dev attaches the datapath; show and show -j agree" {
	base_world
	run tc -n "$(host_ns h)" filter show dev vm1 ingress
	assert_output --partial "nic_ingress"
	run v nic show
	assert_success
	assert_output "10.0.1.10 vpc 10 mac 02:00:00:00:01:10 subnet 10.0.1.0/24 dev vm1 source-check on"
	ok_json nic show
	jq -e 'length == 1 and .[0].ip == "10.0.1.10" and .[0].vpc == 10 and .[0].dev == "vm1" and
		.[0].mac == "02:00:00:00:01:10" and .[0].subnet == "10.0.1.0/24" and .[0].source_check == true' <<<"$output"
}

@test "nic add remote and source-check off; nic show vpc filters" {
	base_world
	v vpc add 20
	v subnet add 10.0.1.0/24 vpc 20
	run v nic add 10.0.2.20 vpc 10 mac 02:00:00:00:02:20 remote 192.168.100.2 source-check off
	assert_success
	run v nic add 10.0.1.10 vpc 20 mac 02:00:00:00:01:10 remote 192.168.100.3
	assert_success
	run v nic show vpc 10
	assert_line "10.0.2.20 vpc 10 mac 02:00:00:00:02:20 subnet 10.0.2.0/24 remote 192.168.100.2 source-check off"
	ok_json nic show vpc 20
	jq -e 'length == 1 and .[0].remote == "192.168.100.3" and (.[0] | has("dev") | not)' <<<"$output"
	ok_json nic show
	jq -e 'length == 3' <<<"$output"
}

@test "nic replace moves a NIC from remote to dev and back; the filter follows" {
	base_world
	vm_create h vm2 10.0.2.20/24 10.0.2.1 02:00:00:00:02:20
	v nic add 10.0.2.20 vpc 10 mac 02:00:00:00:02:20 remote 192.168.100.2
	run tc -n "$(host_ns h)" filter show dev vm2 ingress
	refute_output --partial nic_ingress
	run v nic replace 10.0.2.20 vpc 10 mac 02:00:00:00:02:20 dev vm2
	assert_success
	run tc -n "$(host_ns h)" filter show dev vm2 ingress
	assert_output --partial nic_ingress
	ok_json nic show vpc 10
	jq -e '.[1].dev == "vm2"' <<<"$output"
	run v nic replace 10.0.2.20 vpc 10 mac 02:00:00:00:02:20 remote 192.168.100.9
	assert_success
	run tc -n "$(host_ns h)" filter show dev vm2 ingress
	refute_output --partial nic_ingress
	ok_json nic show vpc 10
	jq -e '.[1].remote == "192.168.100.9"' <<<"$output"
	# the device is free again
	run v nic add 10.0.2.21 vpc 10 mac 02:00:00:00:02:21 dev vm2
	assert_success
}

@test "nic replace of a NIC that does not exist adds it" {
	base_world
	run v nic replace 10.0.2.30 vpc 10 mac 02:00:00:00:02:30 remote 192.168.100.2
	assert_success
	ok_json nic show
	jq -e 'length == 2' <<<"$output"
}

@test "nic del detaches and forgets the NIC and its counters" {
	base_world
	run v nic del 10.0.1.10 vpc 10
	assert_success
	run tc -n "$(host_ns h)" filter show dev vm1 ingress
	refute_output --partial nic_ingress
	ok_json nic show
	[ "$output" = "[]" ]
	ok_json stats
	jq -e '.nics == []' <<<"$output"
}

@test "nic del of a route's next hop is refused unless --force" {
	base_world
	v route add 172.16.0.0/12 vpc 10 via 10.0.1.10
	refuses '10.0.1.10' nic del 10.0.1.10 vpc 10
	run v --force nic del 10.0.1.10 vpc 10
	assert_success
	run v -j route get 172.16.0.1 vpc 10
	jq -e '.[0].result == "nexthop-unknown"' <<<"$output"
}

@test "nic: bad input is refused and changes nothing" {
	base_world
	vm_create h vm2 10.0.1.11/24 10.0.1.1 02:00:00:00:01:11
	local good="vpc 10 mac 02:00:00:00:01:11 dev vm2"
	refuses '"02:00:00:00:01"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01 dev vm2
	refuses '"02:00:00:00:01:1g"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:1g dev vm2
	refuses '"02:00:00:00:01:11:12"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11:12 dev vm2
	refuses '"01:00:5e:00:00:01"' nic add 10.0.1.11 vpc 10 mac 01:00:5e:00:00:01 dev vm2
	refuses '"ff:ff:ff:ff:ff:ff"' nic add 10.0.1.11 vpc 10 mac ff:ff:ff:ff:ff:ff dev vm2
	refuses '"00:00:00:00:00:00"' nic add 10.0.1.11 vpc 10 mac 00:00:00:00:00:00 dev vm2
	refuses '"mac MAC"' nic add 10.0.1.11 vpc 10 dev vm2
	refuses '"vpc VNI"' nic add 10.0.1.11 mac 02:00:00:00:01:11 dev vm2
	refuses '"dev IFNAME"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11
	refuses '"dev IFNAME"' nic add 10.0.1.11 $good remote 192.168.100.2
	refuses '"nosuchdev0"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 dev nosuchdev0
	refuses '"abcdefghijklmnopq"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 dev abcdefghijklmnopq
	refuses '"10.0.1.300"' nic add 10.0.1.300 $good
	refuses '"10.0.1.0/24"' nic add 10.0.1.0/24 $good
	refuses 'IP' nic add
	refuses '10.0.9.11' nic add 10.0.9.11 $good
	refuses '10.0.1.1' nic add 10.0.1.1 $good
	refuses '10.0.1.0' nic add 10.0.1.0 $good
	refuses '10.0.1.255' nic add 10.0.1.255 $good
	refuses 'VPC 99' nic add 10.0.1.11 vpc 99 mac 02:00:00:00:01:11 dev vm2
	refuses '10.0.1.10' nic add 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm2
	refuses '"vm1"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 dev vm1
	refuses '0e:76:70:63:00:01' nic add 10.0.1.11 vpc 10 mac 0e:76:70:63:00:01 dev vm2
	refuses '"maybe"' nic add 10.0.1.11 $good source-check maybe
	refuses '"frob"' nic add 10.0.1.11 $good frob
	refuses '"192.168.100.300"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 remote 192.168.100.300
	refuses '"remote"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 remote
	refuses '"vm1"' nic replace 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 dev vm1
	refuses '10.0.1.99' nic del 10.0.1.99 vpc 10
	refuses 'VPC 20' nic del 10.0.1.10 vpc 20
	refuses '"vpc VNI"' nic del 10.0.1.10
	refuses '"frob"' nic del 10.0.1.10 vpc 10 frob
	refuses '"frob"' nic show frob
	run tc -n "$(host_ns h)" filter show dev vm2 ingress
	refute_output --partial nic_ingress
	# a refused "dev vm1" must not have unbound the NIC that owns vm1
	run in_vm vm1 ping -c 1 -W 1 10.0.1.1
	assert_success
}

@test "nic add of the underlay device or the host's own underlay address is refused" {
	underlay_create h hb
	run v dp up dev ul0 xdp off
	assert_success
	v vpc add 10
	v subnet add 10.0.1.0/24 vpc 10
	refuses '"ul0"' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 dev ul0
	refuses '192.168.100.1' nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 remote 192.168.100.1
}
