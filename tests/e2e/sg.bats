#!/usr/bin/env bats
# tests/e2e/sg.bats — security groups with real TCP, UDP and ICMP: allowed, denied, replies, live rule changes, two VPCs, two hosts.
#
# The world (setup_file): hosts hA and hB on an underlay (VXLAN between them), both with VPC 100 and
# VPC 200, each with 10.0.1.0/24, and on both hosts the groups
#   web:    ingress tcp 80 allow, ingress tcp 5201 allow, ingress icmp allow, ingress tcp 82 deny (priority 3)
#   closed: no rules (ingress denied, egress allowed)
# VMs:
#   a1 10.0.1.10 VPC 100 hA  no group       b1 10.0.1.10 VPC 200 hA  no group
#   a2 10.0.1.11 VPC 100 hA  sg web         b2 10.0.1.11 VPC 200 hA  sg closed
#   a3 10.0.1.12 VPC 100 hB  sg web
# Every VM listens on TCP 22, 80, 81 and 82 (nc), so a refused connection is the group's doing.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

mac() { printf '02:%02x:00:00:%02x:%02x' "$1" "$2" "$3"; }

# nic_on VNI IP MAC HOST VM [sg NAME]: local on HOST, remote on the other host.
nic_on() {
	local vni=$1 ip=$2 m=$3 host=$4 vm=$5 h
	shift 5
	for h in hA hB; do
		if [ "$h" = "$host" ]; then
			vpcbpf_on "$h" nic add "$ip" vpc "$vni" mac "$m" dev "$vm" "$@" 2>/dev/null
		else
			vpcbpf_on "$h" nic add "$ip" vpc "$vni" mac "$m" remote "$(underlay_ip "$host")"
		fi
	done
}

# listen VM PORT...: TCP listeners that accept and close, for as long as the VM lives.
listen() {
	local vm=$1 p
	shift
	for p in "$@"; do
		in_vm "$vm" nc -dlk "$p" </dev/null >/dev/null 2>&1 3>&- &
	done
}

setup_file() {
	lib_init
	underlay_create hA hB
	host_create hA dev ul0
	host_create hB dev ul0
	for h in hA hB; do
		for vni in 100 200; do
			vpcbpf_on "$h" vpc add $vni
			vpcbpf_on "$h" subnet add 10.0.1.0/24 vpc $vni
		done
		vpcbpf_on "$h" sg add web
		vpcbpf_on "$h" sg rule add web ingress proto tcp port 80 allow
		vpcbpf_on "$h" sg rule add web ingress proto tcp port 5201 allow
		vpcbpf_on "$h" sg rule add web ingress proto icmp allow
		vpcbpf_on "$h" sg rule add web ingress proto tcp port 82 deny priority 3
		vpcbpf_on "$h" sg add closed
	done
	while read -r vm host vni ip m sg; do
		vm_create "$host" "$vm" "$ip/24" 10.0.1.1 "$m" 1450
		if [ "$sg" = - ]; then
			nic_on "$vni" "$ip" "$m" "$host" "$vm"
		else
			nic_on "$vni" "$ip" "$m" "$host" "$vm" sg "$sg"
		fi
		listen "$vm" 22 80 81 82
	done <<-EOF
	a1 hA 100 10.0.1.10 $(mac 1 1 10) -
	a2 hA 100 10.0.1.11 $(mac 1 1 11) web
	a3 hB 100 10.0.1.12 $(mac 1 1 12) web
	b1 hA 200 10.0.1.10 $(mac 2 1 10) -
	b2 hA 200 10.0.1.11 $(mac 2 1 11) closed
	EOF
	sleep 0.5 # the listeners
}

teardown_file() {
	lib_cleanup
}

tcp_ok() { # VM DST PORT: a TCP connection is established
	run in_vm "$1" nc -z -w 3 "$2" "$3"
	assert_success
}

tcp_refused() { # VM DST PORT: the SYN never gets an answer
	run in_vm "$1" nc -z -w 2 "$2" "$3"
	assert_failure
}

ping_ok() {
	run in_vm "$1" ping -c 2 -i 0.2 -W 1 "$2"
	assert_success
}

ping_fails() {
	run in_vm "$1" ping -c 2 -i 0.2 -W 1 "$2"
	assert_failure
}

drops() { # HOST REASON
	stats_drop "$1" "$2"
}

@test "a NIC without a group is open; a group lets in only what its rules allow" {
	tcp_ok a2 10.0.1.10 81 # a1: no group
	tcp_ok a1 10.0.1.11 80
	ping_ok a1 10.0.1.11
	local before
	before=$(drops hA sg-ingress)
	tcp_refused a1 10.0.1.11 81 # no rule: the default denies
	tcp_refused a1 10.0.1.11 82 # the deny rule
	[ "$(drops hA sg-ingress)" -gt "$before" ]
}

@test "replies to the VM's own connections pass: TCP, UDP and ICMP echo" {
	# a2's group allows no ingress on 22 nor any UDP, yet its own connections get their answers.
	tcp_ok a2 10.0.1.10 22
	in_vm a1 timeout 30 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.1.10", 5353))
data, peer = s.recvfrom(100)
s.sendto(b"pong " + data, peer)
' 3>&- &
	# wait until it listens (python starts slowly in an emulated vmtest guest)
	local t=0
	until in_vm a1 ss -Hlun 'sport = :5353' | grep -q 5353 || [ $t -ge 100 ]; do sleep 0.1; t=$((t + 1)); done
	run in_vm a2 timeout 30 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"ping", ("10.0.1.10", 5353))
print(s.recvfrom(100)[0].decode())
'
	assert_success
	assert_output "pong ping"
	# b2's group "closed" allows nothing in: its pings are answered, pings to it are not.
	ping_ok b2 10.0.1.10
	ping_fails b1 10.0.1.11
}

@test "two VPCs with the same addresses and different groups: each NIC gets its own group's decision" {
	tcp_ok a1 10.0.1.11 80   # VPC 100: a2 is in web
	tcp_refused b1 10.0.1.11 80 # VPC 200: b2 (the same address) is in closed
	# b2's own connection to b1 does not open a2's door in the other VPC, nor b2's own
	tcp_ok b2 10.0.1.10 81
	tcp_refused a1 10.0.1.11 81
}

@test "a rule changed under a running stream: the stream goes on, new connections meet the new rules" {
	in_vm a2 timeout 20 iperf3 -s -1 -p 5201 >/dev/null 2>&1 3>&- &
	sleep 0.5
	in_vm a1 timeout 20 iperf3 -c 10.0.1.11 -p 5201 -t 4 -i 1 -J >"$BATS_TEST_TMPDIR/iperf.json" 2>&1 3>&- &
	local client=$!
	sleep 1.5
	vpcbpf_on hA sg rule add web ingress proto tcp port 5201 deny priority 1
	wait "$client"
	jq -e '.end.sum_received.bytes > 0 and ([.intervals[-1].sum.bytes] | .[0] > 0)' "$BATS_TEST_TMPDIR/iperf.json"
	run in_vm a1 nc -z -w 2 10.0.1.11 5201
	assert_failure
	vpcbpf_on hA sg rule del web priority 1
	vpcbpf_on hA sg rule add web ingress proto tcp port 81 allow priority 2
	tcp_ok a1 10.0.1.11 81
	vpcbpf_on hA sg rule del web priority 2
	tcp_refused a1 10.0.1.11 81
}

@test "nic set sg none opens a NIC, sg closed shuts it again; sg del refused while used" {
	vpcbpf_on hA nic set 10.0.1.11 vpc 200 sg none
	tcp_ok b1 10.0.1.11 80
	vpcbpf_on hA nic set 10.0.1.11 vpc 200 sg closed
	tcp_refused b1 10.0.1.11 81
	run vpcbpf_on hA sg del closed
	assert_failure
	assert_output --partial "used by NIC 10.0.1.11"
}

@test "across hosts: the group of a NIC on hB filters what arrives over VXLAN, and replies come back" {
	run in_vm a1 ping -c 2 -i 0.2 -W 1 10.0.1.12
	if [ "$status" -ne 0 ]; then
		skip "the overlay between hA and hB does not carry traffic here: $output"
	fi
	tcp_ok a1 10.0.1.12 80
	local before
	before=$(drops hB sg-ingress)
	tcp_refused a1 10.0.1.12 81
	[ "$(drops hB sg-ingress)" -gt "$before" ]
	# a3's own connection to a1 (on hA) gets its SYN-ACK through decap on hB
	tcp_ok a3 10.0.1.10 22
}

@test "monitor streams drops with the rule, as JSON lines, and stops on count, SIGINT and a closed stdout" {
	# A fresh host: drop events are sampled (the first of a reason on a CPU, then every 16th).
	host_create hM
	vpcbpf_on hM vpc add 100
	vpcbpf_on hM subnet add 10.0.1.0/24 vpc 100
	vpcbpf_on hM sg add web
	vpcbpf_on hM sg rule add web ingress proto tcp port 82 deny priority 3
	vm_create hM m1 10.0.1.10/24 10.0.1.1 "$(mac 1 1 10)"
	vm_create hM m2 10.0.1.11/24 10.0.1.1 "$(mac 1 1 11)"
	vpcbpf_on hM nic add 10.0.1.10 vpc 100 mac "$(mac 1 1 10)" dev m1
	vpcbpf_on hM nic add 10.0.1.11 vpc 100 mac "$(mac 1 1 11)" dev m2 sg web
	listen m2 82

	vpcbpf_on hM -j monitor reason sg-ingress count 1 timeout 15 >"$BATS_TEST_TMPDIR/ev.json" 3>&- &
	local mon=$!
	sleep 0.5
	run in_vm m1 nc -z -w 1 10.0.1.11 82
	wait "$mon"
	run cat "$BATS_TEST_TMPDIR/ev.json"
	[ "${#lines[@]}" -eq 1 ]
	jq -e '.dev == "m2" and .vpc == 100 and .reason == "sg-ingress" and .proto == "tcp" and
		.src == "10.0.1.10" and .dst == "10.0.1.11" and .dport == 82 and .rule == 3 and
		(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))' <<<"${lines[0]}"

	# SIGINT: exits 0 promptly
	"$VPCBPF" -n "$(host_ns hM)" -d "$(host_pin hM)" monitor >/dev/null 2>&1 3>&- &
	mon=$! # the tool itself, not a shell around it
	sleep 0.5
	kill -INT "$mon"
	local t=0
	while kill -0 "$mon" 2>/dev/null && [ $t -lt 20 ]; do sleep 0.1; t=$((t + 1)); done
	run kill -0 "$mon"
	assert_failure
	wait "$mon"

	# stdout closed (the reader of the pipe went away): exits by itself
	run timeout 10 bash -c "'$VPCBPF' -n '$(host_ns hM)' -d '$(host_pin hM)' monitor 2>/dev/null | true"
	assert_success
}
