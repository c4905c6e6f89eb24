# tests/cli/common.bash — what every CLI test file shares: bats libraries, a fresh host per test, and `refuses`.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

# Every test gets its own emulated host "h" (netns + pin dir + dp up) and loses it in teardown.
setup() {
	lib_init
	host_create h || fail "host_create failed"
}

teardown() {
	lib_cleanup
}

v() { vpcbpf_on h "$@"; }

# A small world most tests start from: VPC 10 with two subnets and one local NIC (dev vm1).
base_world() {
	v vpc add 10 name blue >/dev/null &&
		v subnet add 10.0.1.0/24 vpc 10 >/dev/null &&
		v subnet add 10.0.2.0/24 vpc 10 name back >/dev/null &&
		vm_create h vm1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10 &&
		v nic add 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm1 >/dev/null ||
		fail "base_world failed"
}

# refuses WORD ARGS...: `vpcbpf ARGS` exits 1 with exactly one line on stderr that names WORD,
# prints {"error": ..., "code": 1} under -j, and leaves vpc/subnet/nic/route show byte-identical.
refuses() {
	local word=$1 before after
	shift
	before=$(json_snapshot h) || fail "snapshot failed before: $*"
	run --separate-stderr vpcbpf_on h "$@"
	if [ "$status" -ne 1 ]; then
		fail "vpcbpf $* exited $status (want 1); stdout: $output stderr: $stderr"
	fi
	if [ "${#stderr_lines[@]}" -ne 1 ]; then
		fail "vpcbpf $*: want one line on stderr, got ${#stderr_lines[@]}: $stderr"
	fi
	if [[ "$stderr" != *"$word"* ]]; then
		fail "vpcbpf $*: stderr does not name \"$word\": $stderr"
	fi
	if [ -n "$output" ]; then
		fail "vpcbpf $*: text mode error printed on stdout: $output"
	fi
	run --separate-stderr vpcbpf_on h -j "$@"
	if [ "$status" -ne 1 ]; then
		fail "vpcbpf -j $* exited $status (want 1)"
	fi
	if ! jq -e '(keys == ["code", "error"]) and .code == 1 and (.error | type == "string") and (.error | length > 0)' <<<"$output" >/dev/null; then
		fail "vpcbpf -j $*: want {\"error\": ..., \"code\": 1} on stdout, got: $output"
	fi
	after=$(json_snapshot h)
	if [ "$before" != "$after" ]; then
		fail "vpcbpf [-j] $* changed the state: before $before after $after"
	fi
}

# ok_json ARGS...: `vpcbpf -j ARGS` succeeds and prints one valid JSON document; it is left in $output.
ok_json() {
	run --separate-stderr vpcbpf_on h -j "$@"
	if [ "$status" -ne 0 ]; then
		fail "vpcbpf -j $* exited $status: $stderr"
	fi
	if ! jq -e . <<<"$output" >/dev/null; then
		fail "vpcbpf -j $*: not valid JSON: $output"
	fi
	if [ "$(jq -s length <<<"$output")" != 1 ]; then
		fail "vpcbpf -j $*: more than one JSON document: $output"
	fi
}
