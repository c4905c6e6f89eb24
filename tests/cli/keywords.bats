#!/usr/bin/env bats
# tests/cli/keywords.bats — a keyword inside a command: an exact word or a prefix of one keyword of that command;
# a prefix several keywords share is refused with the candidates, in the single command, --batch and apply alike.
load common

# batch_refuses WORD LINE...: the lines as one --batch file are refused (exit 1) naming file:N and WORD, and
# nothing of the batch is applied.
batch_refuses() {
	local word=$1 before f="$BATS_TEST_TMPDIR/batch"
	shift
	printf '%s\n' "$@" >"$f"
	before=$(json_snapshot h)
	run --separate-stderr v -b "$f"
	[ "$status" -eq 1 ] || fail "batch exited $status (want 1): $stderr"
	[[ "$stderr" == *"$f:$#:"*"$word"* ]] || fail "batch error does not name $f:$# and $word: $stderr"
	[ "$before" = "$(json_snapshot h)" ] || fail "a refused batch changed the state"
}

@test "route: v is vpc or via, so neither; vp and vi are each one" {
	base_world
	refuses 'ambiguous keyword "v": vpc, via' route add 172.16.0.0/16 v 10 blackhole
	refuses 'ambiguous keyword "v": vpc, via' route add 172.16.0.0/16 vpc 10 v 10.0.1.10
}

@test "route: an unambiguous prefix of each keyword works, via too" {
	base_world
	run --separate-stderr v route add 172.16.0.0/16 vp 10 vi 10.0.1.10 adv
	assert_success
	run v -j route show vpc 10
	jq -e '.[] | select(.prefix == "172.16.0.0/16") | .via == "10.0.1.10" and .advertise == true' <<<"$output"
	run --separate-stderr v route rep 172.16.0.0/16 vp 10 b
	assert_success
	run v -j route show vpc 10
	jq -e '.[] | select(.prefix == "172.16.0.0/16") | .type == "blackhole"' <<<"$output"
}

@test "nic: s is sg or source-check (in the order of the verb's keywords); so and sg are each one" {
	base_world
	v sg add web >/dev/null
	refuses 'ambiguous keyword "s": sg, source-check' nic set 10.0.1.10 vpc 10 s none
	refuses 'ambiguous keyword "s": source-check, sg' nic add 10.0.1.20 vpc 10 mac 02:00:00:00:01:20 remote 192.168.1.2 s off
	run --separate-stderr v nic set 10.0.1.10 vpc 10 so off sg web
	assert_success
	run v -j nic show vpc 10
	jq -e '.[] | select(.ip == "10.0.1.10") | .source_check == false and .sg == "web"' <<<"$output"
}

@test "sg rule: p is proto, port or priority; pr is proto or priority" {
	base_world
	v sg add web >/dev/null
	refuses 'ambiguous keyword "p": proto, port, priority' sg rule add web ingress p tcp allow
	refuses 'ambiguous keyword "pr": proto, priority' sg rule add web ingress pr tcp allow
	run --separate-stderr v sg rule add web in pro tcp po 22 al pri 7
	assert_success
	run v -j sg show web
	jq -e '.[0].rules[] | select(.priority == 7) | .direction == "ingress" and .proto == "tcp" and .action == "allow"' <<<"$output" ||
		fail "rule not as typed: $output"
}

@test "--batch: an ambiguous keyword on any line refuses the whole batch, naming the line" {
	base_world
	v sg add web >/dev/null
	batch_refuses 'ambiguous keyword "v": vpc, via' "route add 172.16.0.0/16 vpc 10 blackhole" "route add 172.17.0.0/16 v 10 blackhole"
	batch_refuses 'ambiguous keyword "s": sg, source-check' "vpc add 30" "nic set 10.0.1.10 vpc 10 s none"
	batch_refuses 'ambiguous keyword "p": proto, port, priority' "sg rule add web ingress p tcp allow"
	printf '%s\n' "route add 172.16.0.0/16 vp 10 vi 10.0.1.10" "sg rule add web in pro udp po 53 al pri 9" >"$BATS_TEST_TMPDIR/ok"
	run --separate-stderr v -b "$BATS_TEST_TMPDIR/ok"
	assert_success
	v -j route show vpc 10 | jq -e '.[] | select(.prefix == "172.16.0.0/16") | .via == "10.0.1.10"'
}

@test "apply: a document's words are whole (no prefix of a direction or action), its rules as the command checks them" {
	base_world
	v sg add web >/dev/null
	v -j save >"$BATS_TEST_TMPDIR/s.json"
	jq '.security_groups[0].rules = [{"direction": "in", "proto": "tcp", "action": "allow", "priority": 3}]' \
		"$BATS_TEST_TMPDIR/s.json" >"$BATS_TEST_TMPDIR/bad.json"
	refuses '"in"' apply "$BATS_TEST_TMPDIR/bad.json"
	jq '.security_groups[0].rules = [{"direction": "ingress", "proto": "tcp", "port": "22", "action": "allow", "priority": 3}]' \
		"$BATS_TEST_TMPDIR/s.json" >"$BATS_TEST_TMPDIR/ok.json"
	run --separate-stderr v apply "$BATS_TEST_TMPDIR/ok.json"
	assert_success
	v -j sg show web | jq -e '.[0].rules[0] | .priority == 3 and .port == "22"' || fail "$(v -j sg show web)"
}

@test "a read command's keywords alike: agent's l is local or lease, refused before anything starts" {
	# inside the test's host, on a device that does not exist, bounded: were "l" taken as local, the agent
	# must not start a datapath anywhere real nor wait for etcd forever
	run --separate-stderr timeout 20 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" agent --etcd http://127.0.0.1:9 \
		host a dev nosuch0 l 10.0.0.1
	assert_failure 1
	[[ "$stderr" == *'agent: ambiguous keyword "l": local, lease'* ]] || fail "$stderr"
}
