#!/usr/bin/env bats
# tests/cli/mount.bats — dp up mounts a bpffs only on an empty directory and says where; dp down unmounts it.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

setup() {
	lib_init
	ns_create m || fail "ns_create failed"
	DIR=$(mktemp -d "/tmp/vpcbpf-$T-mount.XXXXXX")
	lib_register dir "$DIR"
	PIN="$DIR/pins"
}

teardown() {
	# whatever a failed test left mounted goes first, else lib_cleanup cannot remove the dir
	if mountpoint -q "$PIN" 2>/dev/null; then
		"$VPCBPF" -n "$T-m" -d "$PIN" dp down >/dev/null 2>&1
		umount "$PIN" 2>/dev/null
	fi
	lib_cleanup
}

vm() { "$VPCBPF" -n "$T-m" -d "$PIN" "$@"; }

@test "dp up on a directory that is no bpffs mounts one there, says so; dp down unmounts it" {
	run --separate-stderr vm dp up
	assert_success
	assert_output --partial "mounted a bpffs on $PIN"
	mountpoint -q "$PIN"
	[ "$(stat -f -c %T "$PIN")" = bpf_fs ]
	run vm vpc add 5
	assert_success
	run --separate-stderr vm dp down
	assert_success
	assert_output --partial "unmounted the bpffs on $PIN"
	! mountpoint -q "$PIN"
	[ ! -e "$PIN" ]
	# and the second dp down has nothing left to do
	run vm dp down
	assert_success
	assert_output --partial "nothing to do"
}

@test "dp up -j names the mount in JSON; dp down -j the unmount" {
	run --separate-stderr vm -j dp up
	assert_success
	jq -e --arg p "$PIN" '.mounted_bpffs == $p' <<<"$output"
	run --separate-stderr vm -j dp down
	assert_success
	jq -e --arg p "$PIN" '.unmounted_bpffs == $p and .state == "removed"' <<<"$output"
	! mountpoint -q "$PIN"
}

@test "dp up never mounts over a directory that holds files: exit 2, the files stay visible" {
	mkdir -p "$PIN"
	echo precious >"$PIN/notes.txt"
	run --separate-stderr vm dp up
	assert_failure 2
	[[ "$stderr" == *"$PIN"*"not empty"* ]] || fail "stderr: $stderr"
	! mountpoint -q "$PIN"
	[ "$(cat "$PIN/notes.txt")" = precious ]
	run --separate-stderr vm -j dp up
	assert_failure 2
	jq -e '.code == 2 and (.error | test("not empty"))' <<<"$output"
}

@test "dp down keep-maps leaves the bpffs mounted with the maps; dp down then unmounts it" {
	run vm dp up
	assert_success
	run vm vpc add 5
	run vm dp down keep-maps
	assert_success
	mountpoint -q "$PIN"
	[ -e "$PIN/vpcs" ]
	run vm dp up
	assert_success
	refute_output --partial "mounted a bpffs"
	run vm -j vpc show
	jq -e 'length == 1' <<<"$output"
	run vm dp down
	assert_output --partial "unmounted"
	! mountpoint -q "$PIN"
}

@test "dp up on a bpffs mounted by someone else: dp down leaves that mount alone" {
	mkdir -p "$PIN"
	mount -t bpf bpf "$PIN"
	run vm dp up
	assert_success
	refute_output --partial "mounted a bpffs"
	run vm dp down
	assert_success
	refute_output --partial "unmounted"
	mountpoint -q "$PIN"
	umount "$PIN"
}
