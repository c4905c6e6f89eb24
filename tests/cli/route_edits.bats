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

index() { v -j dp show | jq -r ".route_index.$1"; }
census() { v -v save 2>&1 >/dev/null | grep 'fib arena:'; }

@test "route edits in place: a 2,000-route table takes single edits without a new region, and a crash at each step of one leaves the old or the new table" {
	base_world
	# /16s over 200 /8s, next hops alternating so that ranges do not merge: a table with a direct stage
	for i in $(seq 0 1999); do
		if ((i % 2)); then hop="blackhole"; else hop="via 10.0.1.10"; fi
		echo "route add $((11 + i % 200)).$((i / 200)).0.0/16 vpc 10 $hop"
	done >"$LIB_STATE/big.batch"
	run v -b "$LIB_STATE/big.batch"
	assert_success
	used=$(index lines_used)
	q=$(index lines_quarantined)
	count=$(v -j route show vpc 10 | jq length)
	# add, replace, delete: each is made in the region (nothing quarantined, nothing more used)
	v route add 11.0.128.0/17 vpc 10 blackhole
	run route_of 11.0.200.1
	assert_output "11.0.128.0/17 blackhole"
	v route replace 11.0.128.0/17 vpc 10 via 10.0.1.10
	run route_of 11.0.200.1
	assert_output "11.0.128.0/17 deliver"
	run route_of 11.0.100.1
	assert_output "11.0.0.0/16 deliver"
	v route del 12.0.0.0/16 vpc 10
	run route_of 12.0.0.1
	assert_output "- no-route"
	[ "$(index lines_used)" = "$used" ] || fail "an edit in place takes no new region ($used -> $(index lines_used) lines)"
	[ "$(index lines_quarantined)" = "$q" ] || fail "an edit in place quarantines nothing ($q -> $(index lines_quarantined))"
	[ "$(v -j route show vpc 10 | jq length)" -eq "$count" ] || fail "route show: want $count routes (one added, one deleted)"
	# a crash at each step of one edit: before the commit point the old table, after it the new one
	local n=0 a
	for phase in build commit apply done; do
		n=$((n + 1))
		a=$((11 + 2 * n))
		run env VPCBPF_TXN_CRASH=$phase "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" route add "$a.0.0.0/17" vpc 10 blackhole
		[ "$status" -eq 9 ] || fail "$phase: route add exited $status, want the crash (9)"
		run route_of "$a.0.0.5"
		case $phase in
		build | commit) assert_output "$a.0.0.0/16 deliver" ;;
		apply | done) assert_output "$a.0.0.0/17 blackhole" ;;
		esac
		run census
		assert_output --partial "; 0 tables broken or overlapping"
	done
	[ "$(index lines_quarantined)" = "$q" ] || fail "the crashed edits were made in place too"
	# the edits logged so far survive a rebuild of the whole table (a batch)
	printf 'route add 10.200.0.0/16 vpc 10 blackhole\n' >"$LIB_STATE/one.batch"
	run v -b "$LIB_STATE/one.batch"
	assert_success
	run route_of 19.0.0.5
	assert_output "19.0.0.0/17 blackhole"
	run route_of 13.0.0.5
	assert_output "13.0.0.0/16 deliver"
	run route_of 11.0.200.1
	assert_output "11.0.128.0/17 deliver"
	run route_of 12.0.0.1
	assert_output "- no-route"
}
