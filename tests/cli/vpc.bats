#!/usr/bin/env bats
# tests/cli/vpc.bats — vpcbpf vpc add/del/show and every way to get them wrong.
load common

@test "vpc add/show/del, with and without a name; empty list is []" {
	ok_json vpc show
	[ "$output" = "[]" ]
	run v vpc add 1
	assert_success
	run v vpc add 16777215 name edge-1
	assert_success
	run v vpc show
	assert_success
	assert_line "vpc 1 subnets 0 nics 0 routes 0"
	assert_line "vpc 16777215 name edge-1 subnets 0 nics 0 routes 0"
	ok_json vpc show
	jq -e 'length == 2 and .[0].vni == 1 and .[1].vni == 16777215 and .[1].name == "edge-1"' <<<"$output"
	ok_json vpc show 16777215
	jq -e 'length == 1 and .[0].name == "edge-1"' <<<"$output"
	ok_json vpc add 7
	[ "$output" = "{}" ]
	ok_json vpc del 7
	run v vpc del 1
	assert_success
	ok_json vpc show
	jq -e 'length == 1 and .[0].vni == 16777215' <<<"$output"
}

@test "vpc show counts subnets, NICs and routes" {
	base_world
	v route add 172.16.0.0/12 vpc 10 blackhole
	ok_json vpc show 10
	jq -e '.[0] | .subnet_count == 2 and .nic_count == 1 and .route_count == 1' <<<"$output"
}

@test "vpc del of a VPC with subnets is refused; after cleaning up it works" {
	base_world
	refuses 'VPC 10' vpc del 10
	v nic del 10.0.1.10 vpc 10
	v subnet del 10.0.1.0/24 vpc 10
	v subnet del 10.0.2.0/24 vpc 10
	v route add 0.0.0.0/0 vpc 10 blackhole
	run v vpc del 10
	assert_success
	ok_json route show
	[ "$output" = "[]" ]
}

@test "vpc del of a peer is refused unless --force" {
	v vpc add 1
	v vpc add 2
	v route add 10.2.0.0/16 vpc 1 peer 2
	refuses 'VPC 1' vpc del 2
	run v --force vpc del 2
	assert_success
}

@test "vpc: bad input is refused and changes nothing" {
	v vpc add 10
	refuses '"0"' vpc add 0
	refuses '"16777216"' vpc add 16777216
	refuses '"abc"' vpc add abc
	refuses '"-1"' vpc add -1
	refuses '"0x"' vpc add 0x
	refuses '"010"' vpc add 010
	refuses '"00"' vpc add 00
	refuses 'VNI' vpc add
	refuses '"name"' vpc add 11 name
	refuses '"nmae"' vpc add 11 nmae x
	refuses '"a b"' vpc add 11 name "a b"
	refuses '"abcdefghijklmnopq"' vpc add 11 name abcdefghijklmnopq
	refuses 'VPC 10' vpc add 10
	refuses 'VPC 99' vpc del 99
	refuses '"extra"' vpc del 10 extra
	refuses 'VNI' vpc del
	refuses 'VPC 99' vpc show 99
	refuses '"x"' vpc show x
	refuses '"frob"' vpc frob
}

@test "vpc show of 300 VPCs counts each one's own objects, in one walk of the maps (fast)" {
	local f="$LIB_STATE/many.batch"
	for i in $(seq 1 300); do echo "vpc add $i"; done >"$f"
	echo "subnet add 10.0.0.0/24 vpc 7" >>"$f"
	echo "route add 10.1.0.0/16 vpc 9 peer 8" >>"$f"
	v -b "$f"
	local t0=$SECONDS
	ok_json vpc show
	[ $((SECONDS - t0)) -le 5 ] || fail "vpc show of 300 VPCs took $((SECONDS - t0)) s"
	jq -e 'length == 300 and .[6].subnet_count == 1 and .[8].route_count == 1 and ([.[].subnet_count] | add) == 1' <<<"$output"
	refuses "VPC 9" vpc del 8
}
