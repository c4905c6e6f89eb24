#!/usr/bin/env bats
# tests/e2e/core.bats — one host, two VPCs with the same addresses: forwarding, isolation, appliance, drops.
#
# The world (setup_file), all on host "h":
#   VPC 100 and VPC 200, each with subnets 10.0.1.0/24 and 10.0.2.0/24 and the same three VMs:
#     a1/b1 10.0.1.10, a2/b2 10.0.1.11, a3/b3 10.0.2.10   (a* in VPC 100, b* in VPC 200)
#   b4 10.0.1.12 exists only in VPC 200.
#   An appliance "ap" in VPC 100 with NICs 10.0.1.254 (eth0) and 10.0.2.254 (eth1), source-check off,
#   ip_forward on, and a plain veth to a "branch" namespace 172.16.0.0/24 behind it:
#   route 172.16.0.0/23 vpc 100 via 10.0.1.254 (and blackholes 172.16.0.128/25, 172.16.0.0/13).
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

mac() { # mac VPC_DIGIT LAST_OCTETS... -> a unicast MAC per (VPC, address)
	printf '02:%02x:00:00:%02x:%02x' "$1" "$2" "$3"
}

setup_file() {
	lib_init
	host_create h
	for vni in 100 200; do
		local d=$((vni / 100))
		vpcbpf_on h vpc add $vni
		vpcbpf_on h subnet add 10.0.1.0/24 vpc $vni
		vpcbpf_on h subnet add 10.0.2.0/24 vpc $vni
	done
	# name vpc subnet-gw ip mac
	while read -r vm vni ip gw m; do
		vm_create h "$vm" "$ip/24" "$gw" "$m"
		vpcbpf_on h nic add "$ip" vpc "$vni" mac "$m" dev "$vm"
	done <<-EOF
	a1 100 10.0.1.10 10.0.1.1 $(mac 1 1 10)
	a2 100 10.0.1.11 10.0.1.1 $(mac 1 1 11)
	a3 100 10.0.2.10 10.0.2.1 $(mac 1 2 10)
	b1 200 10.0.1.10 10.0.1.1 $(mac 2 1 10)
	b2 200 10.0.1.11 10.0.1.1 $(mac 2 1 11)
	b3 200 10.0.2.10 10.0.2.1 $(mac 2 2 10)
	b4 200 10.0.1.12 10.0.1.1 $(mac 2 1 12)
	EOF

	# The appliance: two NICs in VPC 100, forwarding to a branch behind it.
	vm_create h ap 10.0.1.254/24 10.0.1.1 "$(mac 1 1 254)"
	vm_nic_add h ap ap1 eth1 10.0.2.254/24 "$(mac 1 2 254)"
	vpcbpf_on h nic add 10.0.1.254 vpc 100 mac "$(mac 1 1 254)" dev ap source-check off
	vpcbpf_on h nic add 10.0.2.254 vpc 100 mac "$(mac 1 2 254)" dev ap1 source-check off
	ns_create br
	ip -n "$T-ap" link add lan type veth peer name eth0 netns "$T-br"
	ip -n "$T-ap" addr add 172.16.0.254/24 dev lan
	ip -n "$T-ap" link set lan up
	ip -n "$T-br" addr add 172.16.0.1/24 dev eth0
	ip -n "$T-br" link set eth0 up
	ip -n "$T-br" route add default via 172.16.0.254
	in_vm ap sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0
	# Prefix lengths off the 4-bit lookup levels, nested: the longest must win in the datapath.
	vpcbpf_on h route add 172.16.0.0/23 vpc 100 via 10.0.1.254
	vpcbpf_on h route add 172.16.0.128/25 vpc 100 blackhole
	vpcbpf_on h route add 172.16.0.0/13 vpc 100 blackhole
	vpcbpf_on h route add 192.168.50.0/24 vpc 100 blackhole
}

teardown_file() {
	lib_cleanup
}

ping_ok() { # VM DST [ping args...]: three answers
	local vm=$1 dst=$2
	shift 2
	run in_vm "$vm" ping -c 3 -i 0.1 -W 1 "$@" "$dst"
	assert_success
	assert_output --partial "3 received"
}

ping_fails() { # VM DST [ping args...]: no answer at all
	local vm=$1 dst=$2
	shift 2
	run in_vm "$vm" ping -c 3 -i 0.1 -W 1 "$@" "$dst"
	assert_failure
	assert_output --partial " 0 received"
}

drops() { stats_drop h "$1"; }

# Packets that arrived at each of the named VMs, one number a line.
rx_all() {
	local vm
	for vm in "$@"; do vm_rx "$vm"; done
}

@test "inside a VPC: the gateway, the same subnet (TTL kept) and the other subnet (routed, TTL-1)" {
	for vpc in a b; do
		ping_ok ${vpc}1 10.0.1.1
		ping_ok ${vpc}1 10.0.1.11
		assert_output --partial "ttl=64"
		ping_ok ${vpc}1 10.0.2.10
		assert_output --partial "ttl=63"
		ping_ok ${vpc}3 10.0.1.10
		assert_output --partial "ttl=63"
	done
}

@test "the same addresses in two VPCs: traffic stays in its VPC (counted at the VMs)" {
	# warm up ARP so the counts below are only the pings
	ping_ok a1 10.0.1.11
	ping_ok a1 10.0.2.10
	local b_before a_before
	b_before=$(rx_all b1 b2 b3 b4)
	a_before=$(rx_all a2 a3)
	ping_ok a1 10.0.1.11
	ping_ok a1 10.0.2.10
	[ "$(rx_all b1 b2 b3 b4)" = "$b_before" ] || fail "a VM of VPC 200 received VPC 100 traffic"
	local -a before=($a_before) after=($(rx_all a2 a3))
	# 3 echo requests each, plus at most one ARP answer if the VM's neighbor entry went stale meanwhile
	[ $((after[0] - before[0])) -ge 3 ] && [ $((after[0] - before[0])) -le 4 ] ||
		fail "a2 received $((after[0] - before[0])) packets, want 3"
	[ $((after[1] - before[1])) -ge 3 ] && [ $((after[1] - before[1])) -le 4 ] ||
		fail "a3 received $((after[1] - before[1])) packets, want 3"
}

@test "an address that exists only in the other VPC is not reachable, even with a forged neighbor entry" {
	local no_nic b4_before
	b4_before=$(vm_rx b4)
	no_nic=$(drops no-nic)
	ping_fails a1 10.0.1.12 # ARP: the datapath has no such NIC in VPC 100
	in_vm a1 ip neigh replace 10.0.1.12 lladdr "$(mac 2 1 12)" dev eth0 nud permanent
	ping_fails a1 10.0.1.12
	in_vm a1 ip neigh del 10.0.1.12 dev eth0
	[ "$(vm_rx b4)" = "$b4_before" ] || fail "b4 (VPC 200) received packets from VPC 100"
	[ $(($(drops no-nic) - no_nic)) -ge 4 ] || fail "no-nic drops went from $no_nic to $(drops no-nic)"
}

@test "no route: dropped and counted, nothing arrives anywhere" {
	local no_route all_before
	all_before=$(rx_all a2 a3 b2 b3 b4 ap)
	no_route=$(drops no-route)
	ping_fails b1 172.16.0.1 # VPC 200 has no route to the branch
	ping_fails a1 8.8.8.8
	[ "$(rx_all a2 a3 b2 b3 b4 ap | tr '\n' ' ')" = "$(tr '\n' ' ' <<<"$all_before")" ] ||
		fail "a2 a3 b2 b3 b4 ap received: $(rx_all a2 a3 b2 b3 b4 ap | tr '\n' ' ') before: $(tr '\n' ' ' <<<"$all_before")"
	[ $(($(drops no-route) - no_route)) -eq 6 ] || fail "no-route drops: $no_route -> $(drops no-route)"
}

@test "route via an appliance: traffic to the branch goes through it (counted at the appliance)" {
	local lan_before br_before
	ping_ok a1 172.16.0.1 # warm-up
	lan_before=$(link_tx ap lan)
	br_before=$(link_rx br eth0)
	ping_ok a1 172.16.0.1
	ping_ok a3 172.16.0.1 # from the other subnet; the answer comes back by the appliance's eth1
	[ $(($(link_tx ap lan) - lan_before)) -ge 6 ] || fail "the appliance forwarded $(($(link_tx ap lan) - lan_before))"
	[ $(($(link_rx br eth0) - br_before)) -ge 6 ]
	run vpcbpf_on h -j stats nic 10.0.2.254 vpc 100
	jq -e '.[0].tx_packets >= 3' <<<"$output"
}

@test "blackhole route: dropped and counted" {
	local bh
	bh=$(drops blackhole)
	ping_fails a1 192.168.50.7
	[ $(($(drops blackhole) - bh)) -eq 3 ] || fail "blackhole drops: $bh -> $(drops blackhole)"
	run vpcbpf_on h -j route get 192.168.50.7 vpc 100
	jq -e '.[0].result == "blackhole"' <<<"$output"
}

@test "longest prefix wins in the datapath, for lengths off the lookup levels (/25 > /23 > /13)" {
	local bh nr
	bh=$(drops blackhole)
	nr=$(drops no-route)
	ping_ok a1 172.16.0.1          # /23 via the appliance
	ping_fails a1 172.16.0.129     # /25 blackhole inside the /23
	ping_fails a1 172.23.255.1     # /13 blackhole
	ping_fails a1 172.24.0.1       # outside the /13: no route
	[ $(($(drops blackhole) - bh)) -eq 6 ] || fail "blackhole drops: $bh -> $(drops blackhole)"
	[ $(($(drops no-route) - nr)) -eq 3 ] || fail "no-route drops: $nr -> $(drops no-route)"
	for pair in 172.16.0.1=deliver 172.16.1.200=deliver 172.16.0.129=blackhole 172.23.255.1=blackhole 172.24.0.1=no-route; do
		run vpcbpf_on h -j route get "${pair%=*}" vpc 100
		jq -e --arg r "${pair#*=}" '.[0].result == $r' <<<"$output" || fail "route get ${pair%=*}: $output"
	done
}

@test "a spoofed source IP is dropped and counted; the target sees nothing" {
	local spoof a2_before nic_drops
	in_vm a1 ip neigh replace 10.0.1.11 lladdr "$(mac 1 1 11)" dev eth0 nud permanent
	in_vm a1 ip addr add 10.0.1.99/24 dev eth0
	a2_before=$(vm_rx a2)
	spoof=$(drops spoofed-ip)
	nic_drops=$(vpcbpf_on h -j stats nic 10.0.1.10 vpc 100 | jq '.[0].drops_total')
	run in_vm a1 ping -c 3 -i 0.1 -W 1 -I 10.0.1.99 10.0.1.11
	in_vm a1 ip addr del 10.0.1.99/24 dev eth0
	in_vm a1 ip neigh del 10.0.1.11 dev eth0
	assert_failure
	[ $(($(drops spoofed-ip) - spoof)) -eq 3 ] || fail "spoofed-ip drops: $spoof -> $(drops spoofed-ip)"
	[ "$(vm_rx a2)" = "$a2_before" ]
	[ $(($(vpcbpf_on h -j stats nic 10.0.1.10 vpc 100 | jq '.[0].drops_total') - nic_drops)) -ge 3 ]
	ping_ok a1 10.0.1.11 # its own address still works
}

@test "a spoofed source MAC is dropped and counted" {
	local spoof
	spoof=$(drops spoofed-mac)
	in_vm a2 ip link set eth0 address 02:66:66:66:66:66
	run in_vm a2 ping -c 2 -i 0.1 -W 1 10.0.1.1
	in_vm a2 ip link set eth0 address "$(mac 1 1 11)"
	assert_failure
	[ $(($(drops spoofed-mac) - spoof)) -ge 2 ]
	ping_ok a2 10.0.1.1
}

@test "nic del stops the traffic; nic add brings it back" {
	vm_create h a9 10.0.2.99/24 10.0.2.1 "$(mac 1 2 99)"
	vpcbpf_on h nic add 10.0.2.99 vpc 100 mac "$(mac 1 2 99)" dev a9
	ping_ok a9 10.0.1.10
	vpcbpf_on h nic del 10.0.2.99 vpc 100
	local before
	before=$(vm_rx a9)
	ping_fails a1 10.0.2.99
	ping_fails a9 10.0.1.10
	[ "$(vm_rx a9)" = "$before" ] || fail "a9 still receives traffic after nic del"
	vpcbpf_on h nic add 10.0.2.99 vpc 100 mac "$(mac 1 2 99)" dev a9
	ping_ok a1 10.0.2.99
}

@test "per-NIC counters follow the traffic" {
	local tx rx
	read -r tx rx < <(vpcbpf_on h -j stats nic 10.0.1.11 vpc 200 | jq -r '.[0] | "\(.tx_packets) \(.rx_packets)"')
	ping_ok b1 10.0.1.11
	read -r tx2 rx2 < <(vpcbpf_on h -j stats nic 10.0.1.11 vpc 200 | jq -r '.[0] | "\(.tx_packets) \(.rx_packets)"')
	[ $((tx2 - tx)) -ge 3 ] && [ $((rx2 - rx)) -ge 3 ] || fail "b2 counters: tx $tx -> $tx2, rx $rx -> $rx2"
}

@test "dp down leaves no tc filter and no pin behind" {
	host_create hd
	vm_create hd d1 10.0.1.10/24 10.0.1.1 "$(mac 3 1 10)"
	vpcbpf_on hd vpc add 1
	vpcbpf_on hd subnet add 10.0.1.0/24 vpc 1
	vpcbpf_on hd nic add 10.0.1.10 vpc 1 mac "$(mac 3 1 10)" dev d1
	ping_ok d1 10.0.1.1
	run vpcbpf_on hd dp down
	assert_success
	run tc -n "$(host_ns hd)" filter show dev d1 ingress
	assert_output ""
	[ ! -e "$(host_pin hd)" ]
	ping_fails d1 10.0.1.1
}

@test "TTL 1 to another subnet: ICMP time exceeded from the gateway, counted" {
	local ttl
	ttl=$(drops ttl-exceeded)
	run in_vm a1 ping -c 1 -W 1 -t 1 10.0.2.10
	assert_failure
	assert_output --partial "From 10.0.1.1"
	assert_output --partial "Time to live exceeded"
	[ $(($(drops ttl-exceeded) - ttl)) -eq 1 ]
	ping_ok a1 10.0.1.11 -t 1 # same subnet: no hop, no TTL spent
}
