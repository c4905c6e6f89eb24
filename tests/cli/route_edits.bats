#!/usr/bin/env bats
# tests/cli/route_edits.bats — a table built by a batch and then edited one route at a time (and the other way round) looks up like the routes it holds.
load common

# The route that `route get ADDR vpc 10` resolves to, as "PREFIX KIND".
route_of() {
	v -j route get "$1" vpc 10 | jq -r '.[0] | "\(.route.prefix // "-") \(.result)"'
}

@test "route edits: a batch-built table, then single edits under the same /24, still look up right" {
	base_world
	cat >"$LIB_STATE/pivot.batch" <<-'EOT'
	route add 10.5.1.0/24 vpc 10 via 10.0.1.10
	route add 10.5.1.16/28 vpc 10 blackhole
	route add 10.5.2.0/23 vpc 10 via 10.0.1.10
	route add 10.5.3.7/32 vpc 10 blackhole
	EOT
	run v -b "$LIB_STATE/pivot.batch"
	assert_success
	# a longer route added and removed again under the batch's /24: the /28 from the batch must still win
	v route add 10.5.1.32/28 vpc 10 blackhole
	v route del 10.5.1.32/28 vpc 10
	run route_of 10.5.1.20
	assert_output "10.5.1.16/28 blackhole"
	run route_of 10.5.1.40
	assert_output "10.5.1.0/24 deliver"
	run route_of 10.5.3.7
	assert_output "10.5.3.7/32 blackhole"
	run route_of 10.5.3.8
	assert_output "10.5.2.0/23 deliver"
	# and the other way round: single edits first, then a batch that rebuilds the table
	v route add 10.6.1.0/24 vpc 10 via 10.0.1.10
	v route add 10.6.1.64/26 vpc 10 blackhole
	printf 'route del 10.5.1.16/28 vpc 10\n' >"$LIB_STATE/pivot2.batch"
	run v -b "$LIB_STATE/pivot2.batch"
	assert_success
	run route_of 10.5.1.20
	assert_output "10.5.1.0/24 deliver"
	run route_of 10.6.1.70
	assert_output "10.6.1.64/26 blackhole"
	v route del 10.6.1.64/26 vpc 10
	run route_of 10.6.1.70
	assert_output "10.6.1.0/24 deliver"
	# a /24 that only holds longer routes, then a /24 route added and removed
	cat >"$LIB_STATE/pivot3.batch" <<-'EOT'
	route add 10.7.0.0/16 vpc 10 via 10.0.1.10
	route add 10.7.1.16/28 vpc 10 blackhole
	EOT
	run v -b "$LIB_STATE/pivot3.batch"
	assert_success
	run route_of 10.7.1.20
	assert_output "10.7.1.16/28 blackhole"
	run route_of 10.7.1.100
	assert_output "10.7.0.0/16 deliver"
	v route add 10.7.1.0/24 vpc 10 blackhole
	run route_of 10.7.1.100
	assert_output "10.7.1.0/24 blackhole"
	v route del 10.7.1.0/24 vpc 10
	run route_of 10.7.1.20
	assert_output "10.7.1.16/28 blackhole"
	run route_of 10.7.1.100
	assert_output "10.7.0.0/16 deliver"
}
