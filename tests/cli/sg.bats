#!/usr/bin/env bats
# tests/cli/sg.bats — vpcbpf sg add/del/show, sg rule add/del, nic ... sg, monitor arguments, and bad input.
load common

# sg_refuses WORD ARGS...: refused like `refuses`, and the security groups are unchanged too.
sg_refuses() {
	local before after
	before=$(v -j sg show) || fail "sg show failed"
	refuses "$@"
	after=$(v -j sg show)
	if [ "$before" != "$after" ]; then
		fail "vpcbpf ${*:2} changed the security groups: before $before after $after"
	fi
}

@test "sg add/show/del; an empty list is []" {
	ok_json sg show
	assert_output "[]"
	run v sg add web
	assert_success
	run v sg show
	assert_output "sg web id 1 nics 0 rules 0"
	ok_json sg show web
	jq -e 'length == 1 and .[0].name == "web" and .[0].rules == [] and .[0].nic_count == 0' <<<"$output"
	run v sg del web
	assert_success
	ok_json sg show
	assert_output "[]"
}

@test "sg rule add: every field, default priority after the last, first match order in show" {
	v sg add web
	run v sg rule add web ingress proto tcp port 80 allow
	assert_success
	run v sg rule add web ingress proto tcp port 8000-8080 cidr 10.0.0.0/8 allow
	assert_success
	run v sg rule add web egress proto udp port 53 cidr 10.0.1.2/32 deny priority 5
	assert_success
	run v sg rule add web ingress proto icmp allow
	assert_success
	run v sg rule add web ingress proto any cidr 192.168.0.0/16 deny priority 1
	assert_success
	run v sg show web
	assert_output "sg web id 1 nics 0 rules 5
    priority 1 ingress proto any cidr 192.168.0.0/16 deny
    priority 5 egress proto udp port 53 cidr 10.0.1.2/32 deny
    priority 10 ingress proto tcp port 80 cidr 0.0.0.0/0 allow
    priority 20 ingress proto tcp port 8000-8080 cidr 10.0.0.0/8 allow
    priority 30 ingress proto icmp cidr 0.0.0.0/0 allow"
	ok_json sg show web
	jq -e '.[0].rules | length == 5 and .[1].direction == "egress" and .[1].port == "53" and
		.[1].action == "deny" and .[3].port == "8000-8080" and (.[4] | has("port") | not)' <<<"$output"
}

@test "sg rule del by priority; unknown priority refused" {
	v sg add web
	v sg rule add web ingress proto tcp port 80 allow
	v sg rule add web ingress proto tcp port 443 allow
	run v sg rule del web priority 10
	assert_success
	run v sg show web
	assert_line "    priority 20 ingress proto tcp port 443 cidr 0.0.0.0/0 allow"
	refute_output --partial "port 80 "
	sg_refuses 10 sg rule del web priority 10
	sg_refuses priority sg rule del web
}

@test "bad rules are refused, naming the word, and change nothing" {
	v sg add web
	v sg rule add web ingress proto tcp port 80 allow priority 10
	sg_refuses 70000 sg rule add web ingress proto tcp port 70000 allow
	sg_refuses 90-80 sg rule add web ingress proto tcp port 90-80 allow
	sg_refuses 10.0.0.1/8 sg rule add web ingress proto tcp cidr 10.0.0.1/8 allow
	sg_refuses 10.0.0/8 sg rule add web ingress proto tcp cidr 10.0.0/8 allow
	sg_refuses nosuch sg rule add nosuch ingress proto tcp allow
	sg_refuses "priority 10" sg rule add web ingress proto udp allow priority 10
	sg_refuses sctp sg rule add web ingress proto sctp allow
	sg_refuses port sg rule add web ingress proto icmp port 1 allow
	sg_refuses direction sg rule add web proto tcp allow
	sg_refuses action sg rule add web ingress proto tcp
	sg_refuses proto sg rule add web ingress allow
	sg_refuses sideways sg rule add web sideways proto tcp allow
	sg_refuses 0 sg rule add web ingress proto tcp allow priority 0
}

@test "sg add/del: duplicates, bad names and unknown groups are refused" {
	v sg add web
	sg_refuses web sg add web
	sg_refuses "a b" sg add "a b"
	sg_refuses thisnameiswaytoolong sg add thisnameiswaytoolong
	sg_refuses nosuch sg del nosuch
	sg_refuses nosuch sg show nosuch
}

@test "nic add/replace/set sg: joins, shows, and sg del is refused while a NIC uses the group" {
	base_world
	v sg add web
	v sg add db
	vm_create h vm2 10.0.1.20/24 10.0.1.1 02:00:00:00:01:20
	run v nic add 10.0.1.20 vpc 10 mac 02:00:00:00:01:20 dev vm2 sg web
	assert_success
	run v nic show vpc 10
	assert_line "10.0.1.20 vpc 10 mac 02:00:00:00:01:20 subnet 10.0.1.0/24 dev vm2 source-check on sg web"
	ok_json nic show
	jq -e '.[1].sg == "web" and (.[0] | has("sg") | not)' <<<"$output"
	run v sg show web
	assert_output --partial "nics 1"
	sg_refuses 10.0.1.20 sg del web

	run v nic replace 10.0.1.20 vpc 10 mac 02:00:00:00:01:20 dev vm2 sg db
	assert_success
	run v nic show
	assert_line --partial "dev vm2 source-check on sg db"
	# replace without sg keeps the group
	run v nic replace 10.0.1.20 vpc 10 mac 02:00:00:00:01:20 dev vm2
	assert_success
	run v nic show
	assert_line --partial "dev vm2 source-check on sg db"
	run v nic set 10.0.1.20 vpc 10 sg none
	assert_success
	run v nic show
	assert_line "10.0.1.20 vpc 10 mac 02:00:00:00:01:20 subnet 10.0.1.0/24 dev vm2 source-check on"
	run v sg del db
	assert_success
	run v nic set 10.0.1.10 vpc 10 sg web
	assert_success
	sg_refuses nosuch nic set 10.0.1.10 vpc 10 sg nosuch
	sg_refuses nosuch nic add 10.0.1.30 vpc 10 mac 02:00:00:00:01:30 remote 192.168.100.9 sg nosuch
	sg_refuses 10.0.1.99 nic set 10.0.1.99 vpc 10 sg web
}

@test "monitor: bad arguments refused; count and timeout bound it; -j prints nothing when nothing drops" {
	refuses bogus monitor reason bogus
	refuses 0 monitor count 0
	refuses sideways monitor sideways
	run timeout 10 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" -j monitor timeout 1
	assert_success
	assert_output ""
}

@test "sg help prints the rule grammar" {
	run v sg help
	assert_success
	assert_output --partial "RULE := { ingress | egress } proto { tcp | udp | icmp | any } [port N[-M]] [cidr PREFIX]"
}
