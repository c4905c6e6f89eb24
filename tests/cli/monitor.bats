#!/usr/bin/env bats
# tests/cli/monitor.bats — monitor names what was dropped: ethertype and ARP fields for non-IP frames,
# one type per JSON field (no "-" for a protocol that is not there).
load common

# monitor_one FILE ARGS...: starts `monitor -j count 1 timeout 15 ARGS` into FILE; MON is its pid.
monitor_one() {
	local file=$1
	shift
	v -j monitor count 1 timeout 15 "$@" >"$file" 3>&- &
	MON=$!
	sleep 0.5
}

@test "an ARP reply from a VM: dropped as unsupported, shown with ethertype arp, op and addresses" {
	base_world
	monitor_one "$BATS_TEST_TMPDIR/ev.json" reason unsupported
	# -A: an unsolicited ARP reply; the datapath answers requests only
	in_vm vm1 arping -A -c 1 -I eth0 10.0.1.10 >/dev/null 2>&1 || true
	wait "$MON"
	run cat "$BATS_TEST_TMPDIR/ev.json"
	[ "${#lines[@]}" -eq 1 ] || fail "want one event: $output"
	jq -e '.reason == "unsupported" and .ethertype == "arp" and .arp_op == "reply" and
		.src == "10.0.1.10" and .dev == "vm1" and .vpc == 10 and (has("proto") | not)' <<<"${lines[0]}"
	# and the text form says the same on one line
	run v stats
	assert_output --regexp "unsupported [1-9]"
}

@test "an IPv6 frame from a VM: shown with ethertype ipv6, no IPv4 fields" {
	base_world
	monitor_one "$BATS_TEST_TMPDIR/ev.json" reason unsupported
	in_vm vm1 sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0
	in_vm vm1 ping -6 -c 1 -W 1 ff02::1%eth0 >/dev/null 2>&1 || true
	wait "$MON"
	run cat "$BATS_TEST_TMPDIR/ev.json"
	[ "${#lines[@]}" -eq 1 ] || fail "want one event: $output"
	jq -e '.reason == "unsupported" and .ethertype == "ipv6" and .dev == "vm1" and
		(has("proto") or has("src") or has("dst") | not)' <<<"${lines[0]}"
}

@test "an IPv4 drop keeps its protocol and addresses, with ethertype ipv4" {
	base_world
	monitor_one "$BATS_TEST_TMPDIR/ev.json" reason no-route
	in_vm vm1 ping -c 1 -W 1 10.9.9.9 >/dev/null 2>&1 || true
	wait "$MON"
	run cat "$BATS_TEST_TMPDIR/ev.json"
	jq -e '.reason == "no-route" and .ethertype == "ipv4" and .proto == "icmp" and .src == "10.0.1.10" and
		.dst == "10.9.9.9" and (.vpc | type) == "number"' <<<"${lines[0]}"
}

@test "monitor text: an ARP drop on one line with its fields" {
	base_world
	v monitor count 1 timeout 15 reason unsupported >"$BATS_TEST_TMPDIR/ev.txt" 2>/dev/null 3>&- &
	MON=$!
	sleep 0.5
	in_vm vm1 arping -A -c 1 -I eth0 10.0.1.10 >/dev/null 2>&1 || true
	wait "$MON"
	run cat "$BATS_TEST_TMPDIR/ev.txt"
	assert_output --regexp "dev vm1 vpc 10 unsupported arp reply 10\.0\.1\.10 > 10\.0\.1\.10$"
}
