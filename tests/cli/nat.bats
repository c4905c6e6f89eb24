#!/usr/bin/env bats
# tests/cli/nat.bats — the external device, internet routes and elastic IPs on the command line: bad input refused whole, save/apply/--batch carry them.
load common

# ext_up: the host gets an external device ext0 (203.0.113.10/24) and dp up names it.
ext_up() {
	ip -n "$(host_ns h)" link add ext0 type veth peer name ext1 &&
		ip -n "$(host_ns h)" addr add 203.0.113.10/24 dev ext0 &&
		ip -n "$(host_ns h)" link set ext0 up &&
		v dp up external ext0 >/dev/null || fail "dp up external failed"
}

@test "an internet route without an external device is refused, nothing changed" {
	base_world
	refuses "external" route add 0.0.0.0/0 vpc 10 internet
	printf 'route add 0.0.0.0/0 vpc 10 internet\n' >"$LIB_STATE/b"
	refuses "external" -b "$LIB_STATE/b"
}

@test "dp up external: a missing device, a device without IPv4, bad nat-ports are refused" {
	run --separate-stderr v dp up external nosuchdev
	assert_failure
	[[ "$stderr" == *nosuchdev* ]] || fail "$stderr"
	ip -n "$(host_ns h)" link add ext9 type veth peer name ext8
	run --separate-stderr v dp up external ext9
	assert_failure
	[[ "$stderr" == *"no IPv4"* ]] || fail "$stderr"
	ext_up
	for bad in 0-10 10-5 1-70000 x; do
		run --separate-stderr v dp up nat-ports "$bad"
		assert_failure
		[[ "$stderr" == *"$bad"* ]] || fail "$stderr"
	done
	run v -j dp show
	assert_success
	jq -e '.external.dev == "ext0" and .external.nat_port_lo == 20000 and .external.nat_port_hi == 32767' <<<"$output"
}

@test "eip add refuses an EIP used twice, the host's own address, a missing NIC, a second EIP for a NIC" {
	base_world
	ext_up
	v vpc add 20 >/dev/null
	v subnet add 10.0.1.0/24 vpc 20 >/dev/null
	v nic add 10.0.1.10 vpc 20 mac 02:00:00:00:02:10 remote 192.168.1.2 >/dev/null
	v eip add 198.51.100.7 nic 10.0.1.10 vpc 10
	refuses "198.51.100.7" eip add 198.51.100.7 nic 10.0.1.10 vpc 20
	refuses "203.0.113.10" eip add 203.0.113.10 nic 10.0.1.10 vpc 20
	refuses "10.0.1.99" eip add 198.51.100.8 nic 10.0.1.99 vpc 10
	refuses "198.51.100.7" eip add 198.51.100.8 nic 10.0.1.10 vpc 10
	refuses "224.0.0.1" eip add 224.0.0.1 nic 10.0.1.10 vpc 20
	refuses "nic" eip add 198.51.100.8 vpc 20
	refuses "198.51.100.9" eip del 198.51.100.9
	refuses "eip del" nic del 10.0.1.10 vpc 10
	printf 'eip add 198.51.100.8 nic 10.0.1.10 vpc 20\neip add 198.51.100.8 nic 10.0.1.10 vpc 10\n' >"$LIB_STATE/b"
	refuses "b:2" -b "$LIB_STATE/b"
}

@test "eip show, del; a batch of EIPs and internet routes is one transaction; save | apply round-trips them" {
	base_world
	ext_up
	printf '%s\n' 'route add 0.0.0.0/0 vpc 10 internet' 'route add 8.8.8.0/24 vpc 10 blackhole' \
		'eip add 198.51.100.7 nic 10.0.1.10 vpc 10' >"$LIB_STATE/b"
	v -b "$LIB_STATE/b"
	run v eip show
	assert_output "eip 198.51.100.7 nic 10.0.1.10 vpc 10 at local"
	run v -j eip show
	jq -e '. == [{"eip":"198.51.100.7","nic":"10.0.1.10","vpc":10,"at":"local"}]' <<<"$output"
	run v route show vpc 10
	assert_output --partial "0.0.0.0/0 vpc 10 internet"
	run v route get 1.1.1.1 vpc 10
	assert_output --partial "source NAT"
	v save >"$LIB_STATE/s.json"
	jq -e '.eips == [{"eip":"198.51.100.7","nic":"10.0.1.10","vpc":10}]' "$LIB_STATE/s.json"
	jq -e '.routes | map(select(.internet == true)) | length == 1' "$LIB_STATE/s.json"
	v eip del 198.51.100.7
	v route del 0.0.0.0/0 vpc 10
	run v -j save
	jq -e 'has("eips") | not' <<<"$output"
	v apply "$LIB_STATE/s.json"
	[ "$(v -j save | jq -Sc .)" = "$(jq -Sc . "$LIB_STATE/s.json")" ] || fail "apply did not restore: $(v -j save)"
	# the datapath's maps hold both directions
	run v eip show
	assert_output "eip 198.51.100.7 nic 10.0.1.10 vpc 10 at local"
}
