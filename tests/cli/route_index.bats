#!/usr/bin/env bats
# tests/cli/route_index.bats — the fib arena that holds every VPC's route index: dp show accounts for it, and replaced regions come back.
load common

index() { v -j dp show | jq -r ".route_index.$1"; }

@test "route index: dp show counts live and quarantined lines, a deleted VPC gives its lines back" {
	base_world
	run index lines_total
	assert_output 2097152
	used0=$(index lines_used)
	[ "$used0" -gt 0 ] || fail "VPC 10 has two connected routes: its index takes lines ($used0)"
	# a second VPC with 300 routes in one batch: one region more, bigger than the first
	v vpc add 20 >/dev/null
	for i in $(seq 0 299); do echo "route add 10.$((i / 256)).$((i % 256)).0/24 vpc 20 blackhole"; done >"$LIB_STATE/many.batch"
	run v -b "$LIB_STATE/many.batch"
	assert_success
	run index regions
	assert_output 2
	used1=$(index lines_used)
	[ "$used1" -gt $((used0 + 40)) ] || fail "300 routes should take more than 40 lines ($used0 -> $used1)"
	# the VPC goes with its routes: its lines wait in quarantine (a packet may still walk them)
	v vpc del 20 >/dev/null
	run index regions
	assert_output 1
	run index lines_used
	assert_output "$used0"
	q=$(index lines_quarantined)
	[ "$q" -ge $((used1 - used0)) ] || fail "the dropped region waits in quarantine ($q lines)"
	# a transaction that swaps tables waits for a grace period: the quarantine empties
	printf 'route add 10.200.0.0/16 vpc 10 blackhole\n' >"$LIB_STATE/one.batch"
	run v -b "$LIB_STATE/one.batch"
	assert_success
	run index lines_quarantined
	assert_output 0
}

@test "route index: 225 single route edits recycle their regions through the quarantine and still look up right" {
	base_world
	# every edit writes a new region and quarantines the old one: more edits than the quarantine holds (128)
	for i in $(seq 1 150); do
		v route add "10.9.$i.0/24" vpc 10 via 10.0.1.10 >/dev/null || fail "route add $i"
	done
	for i in $(seq 1 150 | shuf | head -75); do
		v route del "10.9.$i.0/24" vpc 10 >/dev/null || fail "route del $i"
		echo "$i" >>"$LIB_STATE/gone"
	done
	run index regions
	assert_output 1
	q=$(index lines_quarantined)
	[ "$q" -lt $((128 * 64)) ] || fail "the quarantine never empties ($q lines)"
	for i in 3 77 150; do
		if grep -qx "$i" "$LIB_STATE/gone"; then want=null; else want="10.9.$i.0/24"; fi
		got=$(v -j route get "10.9.$i.5" vpc 10 | jq -r '.[0].route.prefix')
		[ "$got" = "$want" ] || fail "10.9.$i.5: route $got, want $want"
	done
	run v -j route show vpc 10
	assert_success
	[ "$(echo "$output" | jq length)" -eq $((150 - 75 + 2)) ] || fail "route show: $(echo "$output" | jq length) routes"
}
