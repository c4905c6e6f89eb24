#!/usr/bin/env bats
# tests/cli/progress.bats — a long command on a terminal ends with one summary line on stderr; on a pipe it
# prints its output alone (the terminal is script(1)'s pseudo-terminal; VPCBPF_SUMMARY_MS=0 makes any
# command "long"; VPCBPF_PROGRESS_MS=0 draws every phase's bar).
load common

on_tty() { # on_tty ARGS...: vpcbpf ARGS on h with a terminal for stdout and stderr; the screen in $output
	run script -qec "VPCBPF_SUMMARY_MS=0 $(printf '%q ' "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" "$@")" /dev/null
}

@test "route flush and apply on a terminal end with what finished and how long it took" {
	base_world
	local i
	for i in $(seq 1 50); do echo "route add 172.16.$i.0/24 vpc 10 blackhole"; done | v -b - >/dev/null
	on_tty route flush vpc 10
	assert_success
	assert_output --regexp "vpcbpf: route flush vpc 10: done in [0-9]+\.[0-9]+ s"
	[ "$(v -j route show vpc 10 | jq '[.[] | select(.type != "connected")] | length')" = 0 ]
	v -j save >"$BATS_TEST_TMPDIR/state.json"
	on_tty apply "$BATS_TEST_TMPDIR/state.json"
	assert_success
	assert_output --partial "vpcbpf: apply $BATS_TEST_TMPDIR/state.json: done in"
}

@test "on a pipe, or below the threshold, no summary line" {
	base_world
	run --separate-stderr env VPCBPF_SUMMARY_MS=0 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" route flush vpc 10
	assert_success
	[ -z "$stderr" ] || fail "stderr on a pipe: $stderr"
	run script -qec "VPCBPF_SUMMARY_MS=60000 $(printf '%q ' "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)") vpc show" /dev/null
	refute_output --partial "done in"
}

@test "a refused command prints its error alone, also on a terminal" {
	base_world
	on_tty vpc add 10
	assert_output --partial "already exists"
	refute_output --partial "done in"
}

@test "on a terminal a phase draws a progress bar on stderr (VPCBPF_PROGRESS_MS=0: every phase); a pipe gets none" {
	base_world
	local i
	for i in $(seq 1 300); do echo "route add 172.$((16 + i / 250)).$((i % 250)).0/24 vpc 10 blackhole"; done | v -b - >/dev/null
	run script -qec "VPCBPF_PROGRESS_MS=0 $(printf '%q ' "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)") route flush vpc 10" /dev/null
	assert_success
	assert_output --regexp "\[#+\] [0-9]+/[0-9]+"
	for i in $(seq 1 300); do echo "route add 172.$((16 + i / 250)).$((i % 250)).0/24 vpc 10 blackhole"; done | v -b - >/dev/null
	run --separate-stderr env VPCBPF_PROGRESS_MS=0 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" route flush vpc 10
	assert_success
	[ -z "$stderr" ] || fail "stderr on a pipe: $stderr"
}

@test "save on a terminal draws its progress on stderr while the document goes to stdout whole" {
	base_world
	local i
	for i in $(seq 1 300); do echo "route add 172.$((16 + i / 250)).$((i % 250)).0/24 vpc 10 blackhole"; done | v -b - >/dev/null
	v -j save >"$BATS_TEST_TMPDIR/piped.json"
	run script -qec "VPCBPF_PROGRESS_MS=0 $(printf '%q ' "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)") -j save >$BATS_TEST_TMPDIR/tty.json" /dev/null
	assert_success
	assert_output --regexp "save routes \[#+\] 300/300"
	cmp "$BATS_TEST_TMPDIR/piped.json" "$BATS_TEST_TMPDIR/tty.json" || fail "save's document differs on a terminal"
	run --separate-stderr env VPCBPF_PROGRESS_MS=0 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" -j save
	assert_success
	[ -z "$stderr" ] || fail "stderr on a pipe: $stderr"
}
