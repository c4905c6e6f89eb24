#!/usr/bin/env bats
# tests/cli/cni_stdin.bats — the CNI plugin's stdin reading (netconf, prevResult, error JSON) replayed under ASan and UBSan.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

ROOT="$BATS_TEST_DIRNAME/../.."

@test "the netconf corpus (tests/fuzz/corpus/cni) keeps every invariant of tests/fuzz/cni_fuzz.c, nothing leaks" {
	[ -x "$ROOT/build/cni_replay" ] || fail "build/cni_replay is missing: make fuzz-tests"
	run --separate-stderr "$ROOT/build/cni_replay" "$ROOT/tests/fuzz/corpus/cni"
	[ "$status" -eq 0 ] || fail "status $status: $output $stderr"
	assert_output --regexp "^1\.\.1
ok 1 - [0-9]+ inputs of .*corpus/cni keep every parser invariant$"
	[ "$(ls "$ROOT/tests/fuzz/corpus/cni" | wc -l)" -ge 200 ] || fail "the corpus is smaller than it was"
}

@test "the replay fails when it has nothing to replay: it cannot pass by reading no input" {
	[ -x "$ROOT/build/cni_replay" ] || fail "build/cni_replay is missing: make fuzz-tests"
	local dir
	dir=$(mktemp -d)
	run --separate-stderr "$ROOT/build/cni_replay" "$dir/none"
	rm -rf "$dir"
	assert_failure
	assert_output --partial "not ok 1"
}
