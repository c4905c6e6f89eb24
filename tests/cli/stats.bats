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
