#!/usr/bin/env bats
# tests/e2e/quota.bats — the conntrack quota per NIC: one VM flooding new flows fills its own share, other tenants' new connections still pass.
#
# One host hQ, two VPCs: the flooder f (VPC 100, 10.0.1.10, sg open-egress, ct-quota 200) and a sink
# s (VPC 100, 10.0.1.20, no group); the other tenant's client c (VPC 200, 10.0.1.10, same group,
# host quota) and server w (VPC 200, 10.0.1.20, listening on TCP 80). The group has no rule: egress
# is allowed and tracked (one entry per flow in the sender's zone), ingress denied except replies.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

setup_file() {
	lib_init
	host_create hQ ct-quota 1000
	for vni in 100 200; do
		vpcbpf_on hQ vpc add $vni
		vpcbpf_on hQ subnet add 10.0.1.0/24 vpc $vni
	done
	vpcbpf_on hQ sg add track
	vm_create hQ f 10.0.1.10/24 10.0.1.1 02:00:00:64:00:10
	vm_create hQ s 10.0.1.20/24 10.0.1.1 02:00:00:64:00:20
	vm_create hQ c 10.0.1.10/24 10.0.1.1 02:00:00:c8:00:10
	vm_create hQ w 10.0.1.20/24 10.0.1.1 02:00:00:c8:00:20
	vpcbpf_on hQ nic add 10.0.1.10 vpc 100 mac 02:00:00:64:00:10 dev f sg track ct-quota 200
	vpcbpf_on hQ nic add 10.0.1.20 vpc 100 mac 02:00:00:64:00:20 dev s
	vpcbpf_on hQ nic add 10.0.1.10 vpc 200 mac 02:00:00:c8:00:10 dev c sg track
	vpcbpf_on hQ nic add 10.0.1.20 vpc 200 mac 02:00:00:c8:00:20 dev w
	in_vm w nc -dlk 80 </dev/null >/dev/null 2>&1 3>&- &
}

teardown_file() {
	lib_cleanup
}

# connect VM IP PORT: one new TCP connection (bash's /dev/tcp), 2 s at most
connect() {
	in_vm "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

@test "quota: the settings are shown, kept by nic set/replace and saved" {
	run vpcbpf_on hQ nic show vpc 100
	assert_output --partial "ct-quota 200"
	run vpcbpf_on hQ -j dp show
	jq -e '.ct_quota == 1000' <<<"$output"
	run vpcbpf_on hQ -j save
	jq -e '[.nics[] | select(.vpc == 100 and .ip == "10.0.1.10")][0].ct_quota == 200' <<<"$output"
	jq -e '[.nics[] | select(.vpc == 200)] | all(has("ct_quota") | not)' <<<"$output"
	run vpcbpf_on hQ nic set 10.0.1.20 vpc 100 ct-quota 5
	assert_success
	run vpcbpf_on hQ -j nic show vpc 100
	jq -e '[.[] | select(.ip == "10.0.1.20")][0].ct_quota == 5' <<<"$output"
	run vpcbpf_on hQ nic set 10.0.1.20 vpc 100 ct-quota default
	run vpcbpf_on hQ -j nic show vpc 100
	jq -e '[.[] | select(.ip == "10.0.1.20")][0] | has("ct_quota") | not' <<<"$output"
	# bad values change nothing
	run vpcbpf_on hQ nic set 10.0.1.20 vpc 100 ct-quota 0
	assert_failure
	assert_output --partial "ct-quota"
	run vpcbpf_on hQ nic set 10.0.1.20 vpc 100 ct-quota 99999999
	assert_failure
	run vpcbpf_on hQ dp up ct-quota lots
	assert_failure
	run vpcbpf_on hQ -j dp show
	jq -e '.ct_quota == 1000' <<<"$output"
}

@test "quota: a VM flooding new flows is held to its quota; another tenant still opens connections" {
	connect c 10.0.1.20 80 # the other tenant works before the flood
	# 1,000 new UDP flows from f (a fresh source port each: bash opens a socket per redirection)
	in_vm f timeout 60 bash -c 'for i in $(seq 1 1000); do echo x >/dev/udp/10.0.1.20/9; done' 2>/dev/null || true
	run vpcbpf_on hQ -j stats nic 10.0.1.10 vpc 100
	assert_success
	echo "$output" | jq -c '.[0] | {conntrack_entries, drops, q: .drops["conntrack-nic-quota"]}'
	jq -e '.[0].conntrack_entries == 200' <<<"$output"
	jq -e '.[0].drops["conntrack-nic-quota"] >= 700' <<<"$output"
	# during and after the flood, the other tenant's new TCP connections pass
	for i in 1 2 3 4 5; do
		connect c 10.0.1.20 80 || fail "connection $i of the other tenant refused"
	done
	run vpcbpf_on hQ -j stats nic 10.0.1.10 vpc 200
	jq -e '.[0].drops_total == 0 and .[0].conntrack_entries >= 5' <<<"$output"
	# the host-wide counter names the reason too
	run stats_drop hQ conntrack-nic-quota
	[ "$output" -ge 700 ]
	# the flooder's tracked flows still work: a raised quota lets new ones in at once
	vpcbpf_on hQ nic set 10.0.1.10 vpc 100 ct-quota 300
	# 50 flows from source ports below the ephemeral range: none can be one of the 200 tracked flows
	# (the flood's random ports may repeat; these may not), so exactly 50 more entries
	in_vm f timeout 20 python3 -c '
import socket
for port in range(20001, 20051):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.0.1.10", port))
    s.sendto(b"x", ("10.0.1.20", 9))
    s.close()
' 
	run vpcbpf_on hQ -j stats nic 10.0.1.10 vpc 100
	echo "$output" | jq -c '.[0] | {conntrack_entries, q: .drops["conntrack-nic-quota"]}'
	jq -e '.[0].conntrack_entries == 250' <<<"$output"
}
