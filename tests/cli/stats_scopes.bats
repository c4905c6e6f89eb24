#!/usr/bin/env bats
# tests/cli/stats_scopes.bats — stats by host, VPC and NIC: filters refuse what does not exist, reset, help.
load common

@test "stats vpc of a VPC that does not exist is refused, not the whole host's numbers" {
	base_world
	refuses 4242 stats vpc 4242
	refuses 4242 stats reset vpc 4242
	refuses 10.0.1.99 stats reset nic 10.0.1.99 vpc 10
	refuses '"frob"' stats reset frob
}

@test "drops by reason per VPC: the sum of its NICs' drops; the host counts them too" {
	base_world
	v vpc add 20
	run in_vm vm1 ping -c 3 -W 1 -i 0.2 10.9.9.9 # no route in VPC 10
	ok_json stats vpc 10
	jq -e '(.vpcs | length) == 1 and .vpcs[0].vpc == 10 and .vpcs[0].drops["no-route"] >= 3' <<<"$output"
	jq -e '.vpcs[0].drops_total == ([.nics[].drops_total] | add)' <<<"$output"
	jq -e 'has("drops") | not' <<<"$output" # the host's drops are not this VPC's
	ok_json stats vpc 20
	jq -e '.vpcs == [.vpcs[0]] and .vpcs[0].drops_total == 0 and .nics == []' <<<"$output"
	ok_json stats
	jq -e '[.vpcs[].vpc] == [10, 20] and .drops["no-route"] >= 3' <<<"$output"
	run v stats vpc 10
	assert_output --regexp "^vpc 10 drops [0-9]+: no-route [0-9]+"
}

@test "every NIC in stats -j says where it lives: dev or remote, as nic show" {
	base_world
	v nic add 10.0.1.20 vpc 10 mac 02:00:00:00:01:20 remote 192.168.100.2
	ok_json stats
	jq -e '.nics[0].dev == "vm1" and .nics[1].remote == "192.168.100.2"' <<<"$output"
	ok_json stats nic 10.0.1.10 vpc 10
	jq -e '.[0].dev == "vm1"' <<<"$output"
}

@test "one type per field at every level: drops_total a number, drops an object of numbers" {
	base_world
	ok_json stats
	jq -e '[., .vpcs[], .nics[]] | all((.drops_total | type) == "number" and (.drops | type) == "object" and
		([.drops[] | type] | unique) == ["number"])' <<<"$output"
}

@test "stats reset zeroes a NIC, a VPC's NICs, or the whole host" {
	base_world
	vm_create h vm2 10.0.2.10/24 10.0.2.1 02:00:00:00:02:10
	v nic add 10.0.2.10 vpc 10 mac 02:00:00:00:02:10 dev vm2
	run in_vm vm1 ping -c 2 -W 1 -i 0.2 10.9.9.9
	run in_vm vm2 ping -c 2 -W 1 -i 0.2 10.9.9.9
	ok_json stats reset nic 10.0.1.10 vpc 10
	jq -e '.nics_reset == 1 and .host_reset == false' <<<"$output"
	ok_json stats
	jq -e '(.nics[] | select(.ip == "10.0.1.10") | .drops_total == 0 and .tx_packets == 0)' <<<"$output"
	jq -e '(.nics[] | select(.ip == "10.0.2.10") | .drops_total >= 2)' <<<"$output"
	jq -e '.drops["no-route"] >= 4' <<<"$output" # the host keeps its count
	run v stats reset vpc 10
	assert_success
	assert_output --partial "2 NIC(s)"
	ok_json stats
	jq -e '[.nics[].drops_total] == [0, 0] and .drops["no-route"] >= 4' <<<"$output"
	run v stats reset
	assert_success
	ok_json stats
	jq -e '.drops_total == 0' <<<"$output"
	# counting goes on after a reset
	run in_vm vm1 ping -c 1 -W 1 10.9.9.9
	ok_json stats
	jq -e '.drops["no-route"] >= 1 and (.nics[] | select(.ip == "10.0.1.10") | .drops_total >= 1)' <<<"$output"
}

@test "stats help lists every drop reason with one line of meaning" {
	run --separate-stderr "$VPCBPF" stats help
	assert_success
	assert_output --partial "stats reset"
	ok_json stats help
	# every reason stats -j counts, and nothing else, each with a meaning
	local reasons help
	reasons=$(v -j stats | jq -c '.drops | keys | sort')
	help=$(jq -c '[.drop_reasons[].name] | sort' <<<"$output")
	[ "$reasons" = "$help" ] || fail "stats help lists $help, stats counts $reasons"
	jq -e '.drop_reasons | all((.meaning | length) > 10 and (.meaning | test("not described") | not))' <<<"$output" ||
		fail "a reason without a meaning (add it to meanings[] in maps/drop_reason.c): $output"
	run "$VPCBPF" stats help
	assert_output --regexp "  no-route +no NIC and no route"
}
