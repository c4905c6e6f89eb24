#!/usr/bin/env bats
# tests/cli/stats.bats — vpcbpf stats: every drop reason in JSON, per-NIC counters, filters, bad input.
load common

@test "stats on an empty host: every reason is 0, no NICs" {
	run v stats
	assert_success
	assert_output --partial "host drops none"
	ok_json stats
	jq -e '.drops_total == 0 and .nics == [] and (.drops | length >= 22) and ([.drops[]] | all(. == 0))' <<<"$output"
	jq -e '.drops | has("spoofed-ip") and has("blackhole") and has("no-route") and has("unknown-port")' <<<"$output"
	ok_json stats show
}

@test "stats counts a NIC's traffic; nic and vpc filters" {
	base_world
	v vpc add 20
	v subnet add 10.0.1.0/24 vpc 20
	v nic add 10.0.1.10 vpc 20 mac 02:00:00:00:01:10 remote 192.168.100.2
	in_vm vm1 ping -c 2 -W 1 -i 0.2 10.0.1.1
	ok_json stats nic 10.0.1.10 vpc 10
	jq -e 'length == 1 and .[0].tx_packets >= 2 and .[0].rx_packets >= 2 and .[0].drops_total == 0' <<<"$output"
	ok_json stats vpc 20
	jq -e '(.nics | length) == 1 and .nics[0].vpc == 20 and .nics[0].tx_packets == 0' <<<"$output"
	ok_json stats
	jq -e '(.nics | length) == 2' <<<"$output"
	run v stats nic 10.0.1.10 vpc 10
	assert_output --regexp "^nic 10.0.1.10 vpc 10 dev vm1 tx [0-9]+ packets"
}

@test "stats nic: drops by reason per NIC, summing to its drops" {
	base_world
	run in_vm vm1 ping -c 2 -W 1 -i 0.2 10.9.9.9 # no route in VPC 10
	ok_json stats nic 10.0.1.10 vpc 10
	jq -e '.[0].drops["no-route"] >= 2 and .[0].drops_total == ([.[0].drops[]] | add)' <<<"$output"
	jq -e '.[0].drops | has("conntrack-nic-quota") and has("spoofed-ip")' <<<"$output"
	run v stats nic 10.0.1.10 vpc 10
	assert_output --regexp "conntrack [0-9]+ nat [0-9]+ drops [0-9]+: no-route [0-9]+"
}

@test "stats: bad input is refused" {
	base_world
	refuses '"vpc VNI"' stats nic 10.0.1.10
	refuses '10.0.1.99' stats nic 10.0.1.99 vpc 10
	refuses '"10.0.1"' stats nic 10.0.1 vpc 10
	refuses '"frob"' stats frob
	refuses '"nic"' stats nic
}



# nic_slot VNI IP: the NIC's counter slot, bytes 32-35 of its nics record (struct nic.stats_slot, little endian).
nic_slot() {
	local vni ip slot
	bpftool -j map dump pinned "$(host_pin h)/nics" |
		jq -r '.[] | def le: map(ltrimstr("0x")) | reverse | join("");
			"\(.key[0:4] | le) \(.key[4:8] | map(ltrimstr("0x")) | join("")) \(.value[32:36] | le)"' |
		while read -r vni ip slot; do
			[ $((16#$vni)) -eq "$1" ] && [ "$ip" = "$(printf '%02x' ${2//./ })" ] && echo $((16#$slot))
		done
}

@test "each NIC counts in its own slot: the lowest free one, zeroed before a new NIC takes it; save does not show it" {
	base_world
	v nic add 10.0.1.20 vpc 10 mac 02:00:00:00:01:20 remote 192.168.100.2
	[ "$(nic_slot 10 10.0.1.10)" = 1 ] || fail "slot of 10.0.1.10: $(nic_slot 10 10.0.1.10)"
	[ "$(nic_slot 10 10.0.1.20)" = 2 ] || fail "slot of 10.0.1.20: $(nic_slot 10 10.0.1.20)"
	in_vm vm1 ping -c 2 -W 1 -i 0.2 10.0.1.1
	ok_json stats nic 10.0.1.10 vpc 10
	jq -e '.[0].tx_packets >= 2 and .[0].rx_packets >= 2 and .[0].tx_bytes > 0' <<<"$output"
	local saved
	saved=$(v save)
	# the NIC goes; a new one takes its slot (the lowest free) and starts at zero
	v nic del 10.0.1.10 vpc 10
	v nic add 10.0.1.30 vpc 10 mac 02:00:00:00:01:30 remote 192.168.100.3
	[ "$(nic_slot 10 10.0.1.30)" = 1 ] || fail "slot of 10.0.1.30: $(nic_slot 10 10.0.1.30)"
	ok_json stats nic 10.0.1.30 vpc 10
	jq -e '.[0].tx_packets == 0 and .[0].rx_packets == 0 and .[0].tx_bytes == 0 and .[0].rx_bytes == 0' <<<"$output"
	# back as it was: another slot, the same saved state (a slot is not configuration)
	v nic del 10.0.1.30 vpc 10
	v nic add 10.0.1.40 vpc 10 mac 02:00:00:00:01:40 remote 192.168.100.3
	printf 'nic add 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm1\nnic del 10.0.1.40 vpc 10\n' | v -b -
	[ "$(nic_slot 10 10.0.1.10)" = 3 ] || fail "slot of 10.0.1.10 again: $(nic_slot 10 10.0.1.10)"
	[ "$(v save)" = "$saved" ] || fail "save changed: $(diff <(echo "$saved") <(v save))"
	# apply of the same document changes nothing (no record rewritten for its slot)
	v save >"$LIB_STATE/s.json"
	run --separate-stderr v -v apply "$LIB_STATE/s.json"
	assert_success
	[ "$(nic_slot 10 10.0.1.10)" = 3 ] && [ "$(nic_slot 10 10.0.1.20)" = 2 ]
	ok_json stats nic 10.0.1.10 vpc 10
	jq -e '.[0].tx_packets == 0' <<<"$output"
	in_vm vm1 ping -c 1 -W 1 10.0.1.1
	ok_json stats nic 10.0.1.10 vpc 10
	jq -e '.[0].tx_packets >= 1 and .[0].rx_packets >= 1' <<<"$output"
}
