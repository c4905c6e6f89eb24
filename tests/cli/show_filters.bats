#!/usr/bin/env bats
# tests/cli/show_filters.bats — iproute2's `show PREFIX|IP`: route show [vpc VNI] [PREFIX | match IP], nic show
# [vpc VNI] [IP], subnet show [vpc VNI] [PREFIX]; what matches nothing is refused (exit 1), text and -j alike.
load common

# Two VPCs with an equal subnet and an equal route, so a filter without vpc finds one in each.
two_vpcs() {
	base_world
	v vpc add 20 >/dev/null && v subnet add 10.0.1.0/24 vpc 20 >/dev/null &&
		v nic add 10.0.1.10 vpc 20 mac 02:00:00:00:20:10 remote 192.168.1.2 >/dev/null &&
		v route add 0.0.0.0/0 vpc 10 via 10.0.1.10 >/dev/null &&
		v route add 172.16.0.0/12 vpc 10 blackhole >/dev/null &&
		v route add 172.16.5.0/24 vpc 10 blackhole >/dev/null &&
		v route add 172.16.0.0/12 vpc 20 blackhole >/dev/null || fail "two_vpcs failed"
}

@test "route show PREFIX: that exact prefix, in every VPC or in the one named; text and -j agree" {
	two_vpcs
	ok_json route show 172.16.0.0/12
	[ "$(jq -c '[.[] | [.vpc, .prefix]]' <<<"$output")" = '[[10,"172.16.0.0/12"],[20,"172.16.0.0/12"]]' ] || fail "$output"
	ok_json route show vpc 10 172.16.0.0/12
	[ "$(jq -c '[.[] | [.vpc, .prefix, .type]]' <<<"$output")" = '[[10,"172.16.0.0/12","blackhole"]]' ] || fail "$output"
	[ "$(v -j route show 172.16.0.0/12 vpc 10)" = "$output" ] # the filter's words in either order
	run v route show 172.16.0.0/12 vpc 10
	assert_success
	assert_output "172.16.0.0/12 vpc 10 blackhole"
	ok_json route show vpc 10 10.0.1.0/24 # a subnet's connected route is a route of the VPC
	[ "$(jq -r '.[0].type' <<<"$output")" = connected ]
}

@test "route show match IP: every route of the VPC that covers IP, longest first" {
	two_vpcs
	ok_json route show vpc 10 match 172.16.5.9
	[ "$(jq -c '[.[] | .prefix]' <<<"$output")" = '["172.16.5.0/24","172.16.0.0/12","0.0.0.0/0"]' ] || fail "$output"
	ok_json route show match 172.16.9.1
	[ "$(jq -c '[.[] | [.vpc, .prefix]]' <<<"$output")" = '[[10,"172.16.0.0/12"],[10,"0.0.0.0/0"],[20,"172.16.0.0/12"]]' ] ||
		fail "$output"
	run v route show vpc 10 ma 10.0.1.7
	assert_success
	assert_output "10.0.1.0/24 vpc 10 connected
0.0.0.0/0 vpc 10 via 10.0.1.10"
}

@test "route show: a prefix or address that matches nothing is refused, a bad one too" {
	two_vpcs
	refuses '172.31.0.0/16' route show 172.31.0.0/16
	refuses '172.16.5.0/24' route show vpc 20 172.16.5.0/24
	refuses '192.168.9.9' route show vpc 20 match 192.168.9.9
	refuses '"10.0.0.1/8"' route show 10.0.0.1/8
	refuses '"x"' route show match x
	refuses '"match"' route show match
	refuses '"match"' route show 172.16.0.0/12 match 172.16.0.1
}

@test "nic show IP: the NIC of that address, in every VPC or in the one named" {
	two_vpcs
	ok_json nic show 10.0.1.10
	[ "$(jq -c '[.[] | [.vpc, .ip]]' <<<"$output")" = '[[10,"10.0.1.10"],[20,"10.0.1.10"]]' ] || fail "$output"
	ok_json nic show vpc 20 10.0.1.10
	[ "$(jq -c '[.[] | [.vpc, .remote]]' <<<"$output")" = '[[20,"192.168.1.2"]]' ] || fail "$output"
	run v nic show 10.0.1.10 vpc 10
	assert_success
	assert_output --regexp "^10\.0\.1\.10 vpc 10 mac 02:00:00:00:01:10 .* dev vm1"
	refuses '10.0.1.99' nic show 10.0.1.99
	refuses '10.0.2.10' nic show vpc 20 10.0.2.10
	refuses '"10.0.1.0/24"' nic show 10.0.1.0/24
}

@test "subnet show PREFIX: that subnet, in every VPC or in the one named" {
	two_vpcs
	ok_json subnet show 10.0.1.0/24
	[ "$(jq -c '[.[] | [.vpc, .cidr, .nic_count]]' <<<"$output")" = '[[10,"10.0.1.0/24",1],[20,"10.0.1.0/24",1]]' ] ||
		fail "$output"
	ok_json subnet show vpc 10 10.0.2.0/24
	[ "$(jq -c '[.[] | [.vpc, .name]]' <<<"$output")" = '[[10,"back"]]' ] || fail "$output"
	refuses '10.0.2.0/24' subnet show vpc 20 10.0.2.0/24
	refuses '10.0.1.0/25' subnet show 10.0.1.0/25
	refuses '"10.0.1.1/24"' subnet show 10.0.1.1/24
}

@test "the filters are in help and in the completion" {
	run "$VPCBPF" route help
	assert_output --partial "route show [vpc VNI] [PREFIX | match IP]"
	run "$VPCBPF" nic help
	assert_output --partial "nic show [vpc VNI] [IP]"
	run "$VPCBPF" subnet help
	assert_output --partial "show [vpc VNI] [PREFIX]"
	run "$VPCBPF" --complete -- route show vpc 10 ""
	assert_line match
}
