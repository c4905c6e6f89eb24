#!/usr/bin/env bats
# tests/e2e/demo.bats — `make demo` end to end: it succeeds, VM 03 pings VM 02 through the vCPEs, nothing is left behind.

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, eBPF)"
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	export VPCBPF=${VPCBPF:-$ROOT/build/vpcbpf}
	[ -x "$VPCBPF" ] || skip "build/vpcbpf is not built (make)"
	# Names unique to this run: other suites use the machine at the same time.
	export DEMO_PREFIX="t$$-${BATS_TEST_NUMBER}-demo"
	unset DEMO_KEEP
}

teardown() {
	[ -n "${ROOT:-}" ] && "$ROOT/scripts/demo.sh" down >/dev/null 2>&1
	true
}

# Prints every namespace and pin dir of this run that still exists.
leftovers() {
	ls /run/netns 2>/dev/null | grep -- "^$DEMO_PREFIX-" || true # not `ip netns list` (lib.bats says why)
	ls -d /sys/fs/bpf/"$DEMO_PREFIX"-* 2>/dev/null || true
	ls -d "${TMPDIR:-/tmp}/$DEMO_PREFIX-bird" 2>/dev/null || true # BIRD's pid files: gone once BIRD is stopped
}

# The lines between the verification heading and the path table.
verify_section() {
	printf '%s\n' "$output" | sed -n '/==== Step 5 - verify/,/The path, from each/p'
}

@test "demo: two hosts, VM 03 reaches VM 02 over VXLAN only after the announcement" {
	run timeout 180 "$ROOT/scripts/demo.sh"
	assert_success
	assert_output --partial "VM 03 -> VM 02 runs: VM 03 -> (VXLAN hv1 -> hv2)"
	assert_output --partial "BGP is up: each vCPE learned the other's vxnet"
	assert_output --partial "VM 03 -> VM 02 before the announcement: no answer, as expected"
	assert_output --partial "vCPE 02's BIRD learned 192.168.129.0/24 from vCPE 01 over BGP and installed it"
	assert_output --regexp "192\.168\.129\.0/24 +unicast \[peer [0-9:.]+\] \* \(100\) \[AS65001i\]"
	assert_output --partial "hv1's kernel table 100000101 (VPC 01) holds the advertised route"
	assert_output --partial "VM 03 (VPC 03) -> VM 02 (VPC 02) answers"
	assert_output --partial "the requests crossed from hv1 to hv2 as VXLAN, VNI 103"
	assert_output --regexp "All [0-9]+ checks passed"
	refute_output --partial "✘"
	# Not a terminal: no color escapes.
	refute_output --partial $'\e['
	run verify_section
	assert_output --partial "ping -c 3 -i 0.2 -W 1 172.17.0.3"
	assert_output --regexp "64 bytes from 172\.17\.0\.3: icmp_seq=[0-9]+ ttl=[0-9]+"
	run leftovers
	assert_output ""
}

@test "demo: one host (HOSTS=1); DEMO_KEEP=1 leaves it up, demo.sh down removes it" {
	HOSTS=1 DEMO_KEEP=1 run timeout 180 "$ROOT/scripts/demo.sh"
	assert_success
	assert_output --regexp "All [0-9]+ checks passed"
	assert_output --partial "Left running (DEMO_KEEP=1)"
	run ip netns exec "$DEMO_PREFIX-vm03" ping -c 1 -W 1 172.17.0.3
	assert_success
	run "$ROOT/scripts/demo.sh" down
	assert_success
	assert_output --partial "removed the leftovers"
	run leftovers
	assert_output ""
	run "$ROOT/scripts/demo.sh" down
	assert_output --partial "nothing to remove"
}

@test "demo: an interrupted run cleans up after itself" {
	"$ROOT/scripts/demo.sh" >/dev/null 2>&1 &
	local pid=$!
	# Wait until it is part-way (the datapath of hv1 is pinned), then interrupt it.
	for _ in $(seq 100); do
		[ -e "/sys/fs/bpf/$DEMO_PREFIX-hv1" ] && break
		sleep 0.1
	done
	sleep 0.5
	# TERM, not INT: a background job of a non-interactive shell ignores INT (Ctrl-C in a terminal works).
	kill -TERM "$pid"
	local status=0
	wait "$pid" || status=$?
	[ "$status" -ne 0 ]
	run leftovers
	assert_output ""
}
