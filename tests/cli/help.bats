#!/usr/bin/env bats
# tests/cli/help.bats — iproute2 habits: help as an object, --help from the object table, list/ls, and an
# ambiguous prefix refused with its candidates.
load common

@test "vpcbpf help lists every object of the table with its first grammar line; help OBJECT its grammar" {
	run --separate-stderr "$VPCBPF" help
	assert_success
	run --separate-stderr "$VPCBPF" -j help
	assert_success
	local objects
	objects=$(jq -r '.[].object' <<<"$output")
	[ "$(wc -l <<<"$objects")" -ge 11 ]
	run --separate-stderr "$VPCBPF" help
	for o in $objects; do
		assert_output --regexp "(^|"$'\n'")  $o( |"$'\n'"|$)"
	done
	run "$VPCBPF" help route
	assert_success
	assert_output --partial "route get ADDR vpc VNI"
	[ "$output" = "$("$VPCBPF" route help)" ]
	refuses '"frob"' help frob
}

@test "--help names each object of the table once in OBJECT := and points to help and man" {
	run "$VPCBPF" --help
	assert_success
	for o in $("$VPCBPF" -j help | jq -r '.[].object'); do
		grep -q "^OBJECT := {.* $o[ }]" <<<"$output" || fail "--help: no $o in OBJECT :="
	done
	assert_output --partial "vpcbpf help OBJECT"
	assert_output --partial "man vpcbpf"
	# no command at all prints the same
	run "$VPCBPF"
	assert_output --partial "OBJECT := {"
}

@test "an ambiguous object prefix is refused with its candidates; an unambiguous one works" {
	refuses '"s"' s
	run --separate-stderr v s
	assert_failure 1
	[[ "$stderr" == *'ambiguous object "s": subnet, stats, sg, save'* ]] || fail "$stderr"
	run --separate-stderr v -j s
	assert_failure 1
	jq -e '.code == 1 and (.error | test("subnet, stats"))' <<<"$output"
	run v r s
	assert_success
	run v sta
	assert_success
}

@test "an ambiguous command is refused with its candidates; aliases of one command are not ambiguous" {
	base_world
	refuses '"s"' nic s
	run --separate-stderr v nic s
	[[ "$stderr" == *'ambiguous command "s": '*show*set* || "$stderr" == *'ambiguous command "s": '*set*show* ]] ||
		fail "$stderr"
	run --separate-stderr v nic sh
	assert_success
	v route add 10.9.0.0/16 vpc 10 blackhole
	run --separate-stderr v route de 10.9.0.0/16 vpc 10
	assert_success # del and delete are one command
	[[ "$stderr" != *ambiguous* ]] || fail "$stderr"
}

@test "list and ls are show" {
	base_world
	for obj in vpc subnet nic route sg; do
		[ "$(v -j $obj list)" = "$(v -j $obj show)" ] || fail "$obj list"
		[ "$(v -j $obj ls)" = "$(v -j $obj show)" ] || fail "$obj ls"
	done
}
