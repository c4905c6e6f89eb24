#!/usr/bin/env bats
# tests/cli/route.bats — vpcbpf route add/replace/del/show/get/flush (via, blackhole, peer, advertise) and bad input.
load common

@test "route add via/blackhole/peer/advertise; show and show -j agree" {
	base_world
	v vpc add 20
	run v route add 172.16.0.0/12 vpc 10 via 10.0.1.10 advertise
	assert_success
	run v route add 192.168.0.0/16 vpc 10 blackhole
	assert_success
	run v route add 10.20.0.0/16 vpc 10 peer 20
	assert_success
	run v route add 0.0.0.0/0 vpc 10 blackhole
	assert_success
	run v route show vpc 10
	assert_success
	assert_output "0.0.0.0/0 vpc 10 blackhole
10.0.1.0/24 vpc 10 connected
10.0.2.0/24 vpc 10 connected
10.20.0.0/16 vpc 10 peer 20
172.16.0.0/12 vpc 10 via 10.0.1.10 advertise
192.168.0.0/16 vpc 10 blackhole"
	ok_json route show vpc 10
	jq -e 'length == 6' <<<"$output"
	jq -e '.[4] == {"prefix": "172.16.0.0/12", "vpc": 10, "type": "via", "via": "10.0.1.10", "advertise": true}' <<<"$output"
	jq -e '.[3] | .type == "peer" and .peer == 20 and .advertise == false' <<<"$output"
	jq -e '.[0] | .type == "blackhole"' <<<"$output"
	ok_json route show vpc 20
	[ "$output" = "[]" ]
}

@test "route replace changes the next hop; route del removes it" {
	base_world
	v route add 172.16.0.0/12 vpc 10 blackhole
	run v route replace 172.16.0.0/12 vpc 10 via 10.0.1.10
	assert_success
	ok_json route get 172.16.1.1 vpc 10
	jq -e '.[0].result == "deliver" and .[0].nic.ip == "10.0.1.10" and .[0].route.type == "via"' <<<"$output"
	run v route replace 172.20.0.0/16 vpc 10 blackhole
	assert_success
	run v route del 172.16.0.0/12 vpc 10
	assert_success
	ok_json route show vpc 10
	jq -e 'map(.prefix) == ["10.0.1.0/24", "10.0.2.0/24", "172.20.0.0/16"]' <<<"$output"
}

@test "route get: NIC first, then the longest prefix; every result" {
	base_world
	v vpc add 20
	v subnet add 10.20.0.0/24 vpc 20
	v nic add 10.20.0.5 vpc 20 mac 02:00:00:00:20:05 remote 192.168.100.2
	v route add 10.0.0.0/8 vpc 10 blackhole
	v route add 10.0.1.0/28 vpc 10 blackhole
	v route add 10.20.0.0/16 vpc 10 peer 20
	v route add 172.16.0.0/12 vpc 10 via 10.0.1.10
	v route add 172.16.5.0/24 vpc 10 blackhole
	got() { run v -j route get "$1" vpc 10; assert_success; jq -e ".[0].result == \"$2\"" <<<"$output" || fail "$1: $output"; }
	got 10.0.1.10 deliver
	got 10.0.1.11 blackhole
	got 10.0.1.20 no-nic
	got 10.0.2.7 no-nic
	got 10.9.9.9 blackhole
	got 10.20.0.5 deliver
	got 10.20.0.6 no-nic
	got 172.17.0.1 deliver
	got 172.16.5.1 blackhole
	got 8.8.8.8 no-route
	run v route get 10.20.0.5 vpc 10
	assert_output --partial "deliver"
	assert_output --partial "remote 192.168.100.2"
	ok_json route get 10.0.1.10 vpc 10
	jq -e '.[0].nic.dev == "vm1"' <<<"$output"
}

@test "route flush removes every static route and keeps the connected ones" {
	base_world
	v route add 172.16.0.0/12 vpc 10 via 10.0.1.10
	v route add 0.0.0.0/0 vpc 10 blackhole
	v vpc add 20
	v route add 0.0.0.0/0 vpc 20 blackhole
	run v route flush vpc 10
	assert_success
	ok_json route show
	jq -e 'map(.type) == ["connected", "connected", "blackhole"] and .[2].vpc == 20' <<<"$output"
	ok_json route flush vpc 10
}

@test "route: bad input is refused and changes nothing" {
	base_world
	v route add 172.16.0.0/12 vpc 10 blackhole
	refuses 'next hop' route add 172.20.0.0/16 vpc 10
	refuses '"vpc VNI"' route add 172.20.0.0/16 blackhole
	refuses 'PREFIX' route add
	refuses '"172.20.0.1/16"' route add 172.20.0.1/16 vpc 10 blackhole
	refuses '"172.20.0.0/40"' route add 172.20.0.0/40 vpc 10 blackhole
	refuses '"300.20.0.0/16"' route add 300.20.0.0/16 vpc 10 blackhole
	refuses '10.0.1.99' route add 172.20.0.0/16 vpc 10 via 10.0.1.99
	refuses '"10.0.1"' route add 172.20.0.0/16 vpc 10 via 10.0.1
	refuses '"via"' route add 172.20.0.0/16 vpc 10 via
	refuses 'VPC 99' route add 172.20.0.0/16 vpc 10 peer 99
	refuses 'itself' route add 172.20.0.0/16 vpc 10 peer 10
	refuses '"blackhole"' route add 172.20.0.0/16 vpc 10 via 10.0.1.10 blackhole
	refuses '172.16.0.0/12' route add 172.16.0.0/12 vpc 10 blackhole
	refuses '10.0.1.0/24' route add 10.0.1.0/24 vpc 10 blackhole
	refuses '10.0.1.0/24' route replace 10.0.1.0/24 vpc 10 blackhole
	refuses 'VPC 99' route add 172.20.0.0/16 vpc 99 blackhole
	refuses '"frob"' route add 172.20.0.0/16 vpc 10 blackhole frob
	refuses '10.0.1.0/24' route del 10.0.1.0/24 vpc 10
	refuses '172.20.0.0/16' route del 172.20.0.0/16 vpc 10
	refuses '"vpc VNI"' route del 172.16.0.0/12
	refuses '"blackhole"' route del 172.16.0.0/12 vpc 10 blackhole
	refuses '"vpc VNI"' route get 10.0.1.10
	refuses '"10.0.1"' route get 10.0.1 vpc 10
	refuses 'ADDR' route get
	refuses 'VPC 99' route get 10.0.1.10 vpc 99
	refuses '"vpc VNI"' route flush
	refuses 'VPC 99' route flush vpc 99
	refuses '"frob"' route show frob
	refuses '"frob"' route frob
}
