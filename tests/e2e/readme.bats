#!/usr/bin/env bats
# tests/e2e/readme.bats — the README's tours work when pasted: each runs as written, in namespaces of its own.

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, eBPF)"
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	[ -x "$ROOT/build/vpcbpf" ] || skip "build/vpcbpf is not built (make)"
	TOUR=$(mktemp)
}

teardown() { rm -f "${TOUR:-}"; }

# The first ```sh block after the README heading $1, into $TOUR.
tour_of() {
	awk -v h="$1" '$0 == h { on = 1; next } on && /^```sh$/ { inb = 1; next } inb && /^```$/ { exit } inb' \
		"$ROOT/README.md" > "$TOUR"
	[ -s "$TOUR" ] || fail "README.md has no sh block under \"$1\""
}

# Runs $TOUR with bash from the repository, as a reader pastes it, but in a network, mount and PID
# namespace of its own: its fixed names (netns blue1, /sys/fs/bpf/vpcbpf, /tmp/vpcbpf.svg, the plugin
# make install-cni puts in /usr/local/lib/cni) are private to this run, and whatever it leaves
# (namespaces, pins, files, processes) dies with it, even when it fails.
# A checkout under /tmp is bound back into the private /tmp at its path (by the fd opened before; mount
# must not canonicalize it, or it binds the new empty directory onto itself).
# Each command that fails prints "tour: FAILED: COMMAND" on stderr.
paste_tour() {
	mkdir -p /run/netns
	run --separate-stderr timeout 300 unshare --net --mount --pid --fork --mount-proc --propagation private -- \
		bash -c 'exec 3< "$2" 4< "$1" && mount -t tmpfs tour /run/netns && mount -t bpf bpf /sys/fs/bpf && mount -t tmpfs tour /tmp &&
			{ [ -d "$1" ] || { mkdir -p "$1" && mount --no-canonicalize --bind /proc/self/fd/4 "$1"; }; } &&
			mkdir -p /usr/local/lib/cni && mount -t tmpfs tour /usr/local/lib/cni &&
			ip link set lo up && cd "$1" && trap '\''echo "tour: FAILED: $BASH_COMMAND" >&2'\'' ERR &&
			source /dev/fd/3' tour "$ROOT" "$TOUR"
}

@test "README: the five-minute tour runs as pasted; only the red VM's ping, meant to fail, fails" {
	tour_of "## A five-minute tour"
	paste_tour
	[ "$status" -eq 0 ] || fail "exit $status; stderr: $stderr"
	failed=$(grep -c '^tour: FAILED:' <<< "$stderr" || true)
	grep -qx 'tour: FAILED: ip netns exec red1 ping -c 2 -W 1 10.0.0.12' <<< "$stderr" ||
		fail "the red VM's ping did not fail as the tour says: $stderr"
	[ "$failed" -eq 1 ] || fail "$failed commands failed: $stderr"
	# blue1 -> blue2 and blue1 -> the appliance answer (ping fails only when none comes); red1 -> 10.0.0.12: none
	[ "$(grep -cE '2 packets transmitted, [12] received' <<< "$output")" -eq 2 ] || fail "$output"
	assert_output --partial "2 packets transmitted, 0 received"
	assert_output --regexp "172\.16\.0\.0/12.*via 10\.0\.0\.254"
}

@test "README: the cluster tour runs as pasted: etcd, two agents, a NIC on each host, they ping over VXLAN" {
	command -v etcd >/dev/null || fail "etcd is not installed (make deps)"
	tour_of "## Cluster mode: the desired state in etcd, an agent per host"
	paste_tour
	[ "$status" -eq 0 ] || fail "exit $status; stderr: $stderr"
	# etcd stopped by SIGTERM exits 143, so the tour's `wait $ETCD_PID` is its one "failure"
	! grep '^tour: FAILED:' <<< "$stderr" | grep -vx 'tour: FAILED: wait $ETCD_PID' || fail "$stderr"
	# ping -c 2 -w 20: until two answers (a late one may make three), once both agents applied the NICs
	assert_output --regexp "packets transmitted, [2-9] received"
	assert_output --regexp "10\.0\.0\.21.*192\.168\.50\.1" # hB's own view: web1 is remote, at hA
}

@test "README: the container tour runs as pasted: the plugin installed, two podman containers in VPC 100 ping" {
	command -v podman >/dev/null || fail "podman is not installed (make deps)"
	tour_of "## Containers: the CNI plugin under podman"
	paste_tour
	[ "$status" -eq 0 ] || fail "exit $status; stderr: $stderr"
	! grep '^tour: FAILED:' <<< "$stderr" || fail "$stderr"
	assert_output --regexp "2 packets transmitted, [12] packets received"
	assert_output --regexp "10\.0\.0\.[0-9]+ vpc 100 .*dev "
}
