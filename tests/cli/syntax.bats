#!/usr/bin/env bats
# tests/cli/syntax.bats — the iproute2 feel: prefixes, no verb = show, help, and -j on every command.
load common

@test "unambiguous prefixes: vpcbpf r s = route show, and friends" {
	base_world
	v route add 172.16.0.0/12 vpc 10 blackhole
	for pair in "r s|route show" "ro sh vpc 10|route show vpc 10" "vp sh|vpc show" "n sh|nic show" \
		"vx sh|subnet show" "sub sh|subnet show" "st|stats" "d s|dp show" "r g 10.0.1.10 v 10|route get 10.0.1.10 vpc 10"; do
		short=${pair%%|*} long=${pair#*|}
		[ "$(v -j $short)" = "$(v -j $long)" ] || fail "\"$short\" is not \"$long\""
	done
	run v r a 172.20.0.0/16 vp 10 b # "v" alone is vpc or via: keywords.bats
	assert_success
	run v -j r g 172.20.0.1 vpc 10
	jq -e '.[0].result == "blackhole"' <<<"$output"
	run v r d 172.20.0.0/16 v 10
	assert_success
	run v n a 10.0.2.30 v 10 m 02:00:00:00:02:30 rem 192.168.100.2 so off
	assert_success
	run v -j n sh v 10
	jq -e '.[1].source_check == false' <<<"$output"
}

@test "no verb means show" {
	base_world
	for obj in vpc subnet vxnet nic route stats dp; do
		[ "$(v -j $obj)" = "$(v -j $obj show)" ] || fail "$obj"
	done
	[ "$(v -j stats vpc 10)" = "$(v -j stats show vpc 10)" ]
}

@test "-j prints one valid JSON document for every command" {
	vm_create h vm1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10
	ok_json vpc add 10 name blue
	ok_json vpc add 20
	ok_json subnet add 10.0.1.0/24 vpc 10
	ok_json vxnet add 10.0.1.0/24 vpc 20
	ok_json nic add 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm1
	ok_json nic replace 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm1 source-check off
	ok_json nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 remote 192.168.100.2
	ok_json route add 172.16.0.0/12 vpc 10 via 10.0.1.10 advertise
	ok_json route replace 172.16.0.0/12 vpc 10 blackhole
	ok_json route add 10.20.0.0/16 vpc 10 peer 20
	for cmd in "vpc show" "vpc show 10" "subnet show" "subnet show vpc 20" "nic show" "nic show vpc 10" \
		"route show" "route show vpc 10" "route get 172.16.0.1 vpc 10" "route get 10.0.1.10 vpc 10" \
		"route get 10.20.0.1 vpc 10" "stats" "stats vpc 10" "stats nic 10.0.1.10 vpc 10" "dp show"; do
		ok_json $cmd
	done
	ok_json route del 10.20.0.0/16 vpc 10
	ok_json route flush vpc 10
	ok_json nic del 10.0.1.11 vpc 10
	ok_json nic del 10.0.1.10 vpc 10
	ok_json subnet del 10.0.1.0/24 vpc 20
	ok_json vpc del 20
	ok_json dp up
	ok_json -p vpc show
	ok_json dp down
}

@test "an empty list is [] in every show" {
	for cmd in "vpc show" "subnet show" "nic show" "route show"; do
		ok_json $cmd
		[ "$output" = "[]" ] || fail "$cmd: $output"
	done
	ok_json stats
	jq -e '.nics == []' <<<"$output"
}

@test "help: vpcbpf --help and vpcbpf OBJECT help print the grammar" {
	run "$VPCBPF" --help
	assert_success
	assert_output --partial "OBJECT := { dp | vpc | subnet (vxnet) | nic | route | stats | sg (security-group) | save | apply | monitor"
	for obj in dp vpc subnet vxnet nic route sg stats monitor eip; do
		run "$VPCBPF" $obj help
		assert_success
		assert_output --partial "Usage: vpcbpf [OPTIONS]"
	done
	run "$VPCBPF" route help
	assert_output --partial "route get ADDR vpc VNI"
	run "$VPCBPF" --version
	assert_success
	assert_output --regexp "^vpcbpf [0-9]+\.[0-9]+"
}

@test "unknown object or command: one line naming the word, exit 1" {
	refuses '"frob"' frob
	refuses '"frob"' vpc frob
	refuses '"frob"' route frob
	refuses '""' ""
	run --separate-stderr "$VPCBPF" --no-such-option
	[ "$status" -ne 0 ]
}

@test "-n with a namespace that does not exist says so (exit 2: the environment)" {
	run --separate-stderr "$VPCBPF" -n "$T-nosuchns" -d "$(host_pin h)" vpc show
	assert_failure 2
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"\"$T-nosuchns\""* ]]
}
