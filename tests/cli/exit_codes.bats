#!/usr/bin/env bats
# tests/cli/exit_codes.bats — exit status says whose fault: 0 ok, 1 refused input or state, 2 the environment;
# the same number is "code" in the JSON error.
load common

# status_is N ARGS...: `vpcbpf ARGS` exits N, and under -j prints {"error", "code": N}.
status_is() {
	local want=$1
	shift
	run --separate-stderr v "$@"
	[ "$status" -eq "$want" ] || fail "vpcbpf $* exited $status (want $want): $stderr"
	run --separate-stderr v -j "$@"
	[ "$status" -eq "$want" ] || fail "vpcbpf -j $* exited $status (want $want)"
	jq -e --argjson c "$want" '.code == $c and (.error | type == "string")' <<<"$output" >/dev/null ||
		fail "vpcbpf -j $*: want code $want, got: $output"
}

@test "refused input and state exit 1: invalid, already exists, does not exist" {
	base_world
	status_is 1 vpc add 0                 # invalid
	status_is 1 vpc add 10                # already exists
	status_is 1 vpc del 4242              # does not exist
	status_is 1 nic del 10.0.1.99 vpc 10  # does not exist
	status_is 1 route add 10.9.0.0/16 vpc 10 via   # bad syntax
	status_is 1 frob
}

@test "the environment exits 2: no datapath, no such namespace, no privileges" {
	run --separate-stderr "$VPCBPF" -d "$BPFFS/$T-none" vpc show
	assert_failure 2
	[[ "$stderr" == *"not loaded"* ]]
	run --separate-stderr "$VPCBPF" -j -d "$BPFFS/$T-none" vpc show
	assert_failure 2
	jq -e '.code == 2' <<<"$output"
	run --separate-stderr "$VPCBPF" -n "$T-nosuchns" -d "$(host_pin h)" vpc show
	assert_failure 2
	# an unprivileged user cannot open the pinned maps (mode 0700, CAP_BPF)
	local bin="$LIB_STATE/vpcbpf"
	cp "$VPCBPF" "$bin" && chmod 755 "$LIB_STATE" "$bin"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups "$bin" -d "$(host_pin h)" vpc show
	assert_failure 2
	[[ "$stderr" == *"needs root"* ]] || fail "no privileges: $stderr"
}

@test "a second dp down succeeds and says there was nothing to do" {
	run v dp down
	assert_success
	run --separate-stderr v dp down
	assert_success
	assert_output --partial "nothing to do"
	run --separate-stderr v -j dp down
	assert_success
	jq -e '.state == "not loaded"' <<<"$output"
}

@test "success exits 0 with JSON that has no error" {
	ok_json vpc add 7
	jq -e 'has("error") | not' <<<"$output"
}
