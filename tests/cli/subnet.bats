#!/usr/bin/env bats
# tests/cli/subnet.bats — vpcbpf subnet (alias vxnet) add/del/show, its connected route, and bad input.
load common

@test "subnet add/show/del; gateway defaults to the first host; the connected route follows" {
	v vpc add 10
	ok_json subnet show
	[ "$output" = "[]" ]
	run v subnet add 10.0.1.0/24 vpc 10
	assert_success
	run v subnet add 10.0.2.0/24 vpc 10 gateway 10.0.2.254 name back
	assert_success
	run v subnet show
	assert_line "10.0.1.0/24 vpc 10 gateway 10.0.1.1 nics 0 usable 253 free 253"
	assert_line "10.0.2.0/24 vpc 10 gateway 10.0.2.254 name back nics 0 usable 253 free 253"
	ok_json subnet show vpc 10
	jq -e 'length == 2 and .[1].gateway == "10.0.2.254" and .[1].name == "back"' <<<"$output"
	ok_json route show vpc 10
	jq -e 'map(.type) == ["connected", "connected"]' <<<"$output"
	run v subnet del 10.0.2.0/24 vpc 10
	assert_success
	ok_json subnet show
	jq -e 'length == 1' <<<"$output"
	ok_json route show
	jq -e 'length == 1 and .[0].prefix == "10.0.1.0/24"' <<<"$output"
}

@test "vxnet is an alias of subnet; the same CIDR may live in two VPCs" {
	v vpc add 10
	v vpc add 20
	run v vxnet add 10.0.1.0/24 vpc 10
	assert_success
	run v vxnet add 10.0.1.0/24 vpc 20
	assert_success
	ok_json vxnet show vpc 20
	jq -e 'length == 1 and .[0].vpc == 20' <<<"$output"
	ok_json vxnet
	jq -e 'length == 2' <<<"$output"
	run v vxnet del 10.0.1.0/24 vpc 20
	assert_success
	ok_json subnet show vpc 20
	[ "$output" = "[]" ]
}

@test "subnet show counts NICs; a subnet with NICs cannot be deleted" {
	base_world
	ok_json subnet show
	jq -e '.[0].nic_count == 1 and .[1].nic_count == 0' <<<"$output"
	refuses '10.0.1.0/24' subnet del 10.0.1.0/24 vpc 10
	v nic del 10.0.1.10 vpc 10
	run v subnet del 10.0.1.0/24 vpc 10
	assert_success
}

@test "subnet: bad input is refused and changes nothing" {
	base_world
	refuses '"10.0.3.1/24"' subnet add 10.0.3.1/24 vpc 10
	refuses '"10.0.3.0/33"' subnet add 10.0.3.0/33 vpc 10
	refuses '"10.0.3/24"' subnet add 10.0.3/24 vpc 10
	refuses '"10.0.3.0/"' subnet add 10.0.3.0/ vpc 10
	refuses '"10.0.3.0/-8"' subnet add 10.0.3.0/-8 vpc 10
	refuses '10.0.3.0/31' subnet add 10.0.3.0/31 vpc 10
	refuses '10.0.3.0/32' subnet add 10.0.3.0/32 vpc 10
	refuses '0.0.0.0/0' subnet add 0.0.0.0/0 vpc 10
	refuses '"vpc VNI"' subnet add 10.0.3.0/24
	refuses 'CIDR' subnet add
	refuses '"vpc"' subnet add 10.0.3.0/24 vpc
	refuses 'VPC 99' subnet add 10.0.3.0/24 vpc 99
	refuses '"0"' subnet add 10.0.3.0/24 vpc 0
	refuses '"bogus"' subnet add 10.0.3.0/24 vpc 10 bogus
	refuses '10.0.0.0/16' subnet add 10.0.0.0/16 vpc 10
	refuses '10.0.1.128/25' subnet add 10.0.1.128/25 vpc 10
	refuses '10.0.1.0/24' subnet add 10.0.1.0/24 vpc 10
	refuses '10.0.9.9' subnet add 10.0.3.0/24 vpc 10 gateway 10.0.9.9
	refuses '10.0.3.0' subnet add 10.0.3.0/24 vpc 10 gateway 10.0.3.0
	refuses '10.0.3.255' subnet add 10.0.3.0/24 vpc 10 gateway 10.0.3.255
	refuses '"10.0.3.256"' subnet add 10.0.3.0/24 vpc 10 gateway 10.0.3.256
	refuses '"bad/name"' subnet add 10.0.3.0/24 vpc 10 name bad/name
	refuses '10.0.3.0/24' subnet del 10.0.3.0/24 vpc 10
	refuses '"vpc VNI"' subnet del 10.0.2.0/24
	refuses '"frob"' subnet del 10.0.2.0/24 vpc 10 frob
	refuses '"frob"' subnet show frob
	refuses '"x"' subnet show vpc x
}

@test "subnet add refuses a CIDR that already has a static route" {
	v vpc add 10
	v route add 10.0.5.0/24 vpc 10 blackhole
	refuses '10.0.5.0/24' subnet add 10.0.5.0/24 vpc 10
}

@test "subnet show counts each subnet's own NICs when two VPCs share a CIDR" {
	v vpc add 10
	v vpc add 20
	for vni in 10 20; do
		v subnet add 10.0.1.0/24 vpc $vni
		v subnet add 10.0.2.0/24 vpc $vni
	done
	v nic add 10.0.1.5 vpc 10 mac 02:00:00:00:01:05 remote 192.168.100.2
	v nic add 10.0.1.6 vpc 10 mac 02:00:00:00:01:06 remote 192.168.100.2
	v nic add 10.0.2.5 vpc 20 mac 02:00:00:00:02:05 remote 192.168.100.2
	ok_json subnet show
	jq -e 'map("\(.vpc) \(.cidr) \(.nic_count)") == ["10 10.0.1.0/24 2", "10 10.0.2.0/24 0", "20 10.0.1.0/24 0", "20 10.0.2.0/24 1"]' <<<"$output"
}

@test "subnet show counts usable and free addresses; a full subnet says so when a NIC is refused" {
	v vpc add 10
	v subnet add 10.0.3.0/30 vpc 10
	v subnet add 10.0.4.0/29 vpc 10 gateway 10.0.4.6
	run v subnet show
	assert_line "10.0.3.0/30 vpc 10 gateway 10.0.3.1 nics 0 usable 1 free 1"
	assert_line "10.0.4.0/29 vpc 10 gateway 10.0.4.6 nics 0 usable 5 free 5"
	run v nic add 10.0.3.2 vpc 10 mac 02:00:00:00:03:02 remote 192.0.2.9
	assert_success
	ok_json subnet show vpc 10
	jq -e '.[0] | .nic_count == 1 and .usable_count == 1 and .free_count == 0' <<<"$output"
	jq -e '.[1] | .nic_count == 0 and .usable_count == 5 and .free_count == 5' <<<"$output"
	# The /30 has no address left: the only words left to try are reserved ones, and the error says why.
	refuses "is full, its 1 usable addresses are all in use" nic add 10.0.3.3 vpc 10 mac 02:00:00:00:03:03 remote 192.0.2.9
	refuses "10.0.3.2" nic add 10.0.3.2 vpc 10 mac 02:00:00:00:03:04 remote 192.0.2.9
	# Not full: a reserved address is refused as such.
	refuses "network, broadcast or gateway address" nic add 10.0.4.7 vpc 10 mac 02:00:00:00:04:07 remote 192.0.2.9
	# The same rule in a batch.
	printf 'nic add 10.0.3.1 vpc 10 mac 02:00:00:00:03:05 remote 192.0.2.9\n' >"$LIB_STATE/full.batch"
	run --separate-stderr v --batch "$LIB_STATE/full.batch"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"is full"* ]]
}
