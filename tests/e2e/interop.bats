#!/usr/bin/env bats
# tests/e2e/interop.bats — a vpcbpf host and a host using the kernel's own vxlan device speak VXLAN to each other; tshark reads it.
#
# hA runs vpcbpf (ul0 192.168.100.1): VM a1 10.0.1.10 in VPC 100, NIC 10.0.1.11 remote on hB.
# hB has no vpcbpf: a Linux bridge br0 with vx0 (vxlan id 100 dstport 4789 nolearning, its flood
# list the all-zeros FDB entry towards hA) and the VM k1 10.0.1.11. No static neighbour or MAC entry
# anywhere: k1's ARP requests for a1 are flooded in VXLAN and answered by hA's datapath (the reply
# encapsulated back to hB); a1's requests for k1 are answered on hA from k1's remote NIC record.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

A1_MAC=02:01:00:00:01:0a
K1_MAC=02:01:00:00:01:0b

setup_file() {
	lib_init
	underlay_create hA hB
	host_create hA dev ul0
	vpcbpf_on hA vpc add 100
	vpcbpf_on hA subnet add 10.0.1.0/24 vpc 100
	vm_create hA a1 10.0.1.10/24 10.0.1.1 "$A1_MAC" 1450
	vpcbpf_on hA nic add 10.0.1.10 vpc 100 mac "$A1_MAC" dev a1
	vpcbpf_on hA nic add 10.0.1.11 vpc 100 mac "$K1_MAC" remote "$(underlay_ip hB)"

	local b
	b=$(host_ns hB)
	ip -n "$b" link add vx0 type vxlan id 100 dstport 4789 local "$(underlay_ip hB)" dev ul0 nolearning
	ip -n "$b" link add br0 type bridge
	ip -n "$b" link set vx0 master br0 mtu 1450 up
	ip -n "$b" link set br0 up
	bridge -n "$b" fdb append 00:00:00:00:00:00 dev vx0 dst "$(underlay_ip hA)"
	ns_create k1
	ip -n "$b" link add k1 type veth peer name eth0 netns "$(vm_ns k1)"
	ip -n "$b" link set k1 master br0 mtu 1450 up
	ip -n "$(vm_ns k1)" link set eth0 address "$K1_MAC" mtu 1450 up
	ip -n "$(vm_ns k1)" addr add 10.0.1.11/24 dev eth0
}

teardown_file() {
	lib_cleanup
}

@test "interop: ping from the vpcbpf host to the kernel vxlan host and back" {
	run in_vm a1 ping -c 3 -i 0.2 -W 1 10.0.1.11
	assert_output --partial "3 received"
	run in_vm k1 ping -c 3 -i 0.2 -W 1 10.0.1.10
	assert_output --partial "3 received"
}

@test "interop: the kernel peer's VM resolves a vpcbpf VM by ARP in VXLAN, no static entry (both ways)" {
	in_vm k1 ip neigh flush dev eth0
	in_vm a1 ip neigh flush dev eth0
	run in_vm k1 ping -c 2 -i 0.2 -W 1 10.0.1.10
	assert_output --partial "2 received"
	run in_vm k1 ip neigh show 10.0.1.10 dev eth0
	assert_output --partial "$A1_MAC"
	refute_output --partial PERMANENT
	run in_vm a1 ping -c 2 -i 0.2 -W 1 10.0.1.11
	assert_output --partial "2 received"
	run in_vm a1 ip neigh show 10.0.1.11 dev eth0
	assert_output --partial "$K1_MAC"
	refute_output --partial PERMANENT
	# hB's bridge learnt a1 behind vx0 from the answer (a dynamic entry)
	run bridge -n "$(host_ns hB)" fdb show dev vx0
	assert_line --regexp "^$A1_MAC master br0 *\$"
	# an ARP request for an address hA has no NIC for is not answered, and counted
	run in_vm k1 ping -c 1 -W 2 10.0.1.77
	run stats_drop hA no-nic
	[ "$output" -ge 1 ]
}

@test "interop: TCP both ways (iperf3)" {
	in_vm k1 iperf3 -s -1 -D -p 5201 >/dev/null
	sleep 0.3
	run -0 in_vm a1 timeout 20 iperf3 -c 10.0.1.11 -p 5201 -t 3 -J
	local ab ba
	ab=$(jq -r '.end.sum_received.bits_per_second' <<<"$output")
	in_vm a1 iperf3 -s -1 -D -p 5202 >/dev/null
	sleep 0.3
	run -0 in_vm k1 timeout 20 iperf3 -c 10.0.1.10 -p 5202 -t 3 -J
	ba=$(jq -r '.end.sum_received.bits_per_second' <<<"$output")
	echo "# interop TCP vpcbpf->kernel vxlan $(awk -v b="$ab" 'BEGIN { printf "%.2f", b / 1e9 }') Gbit/s," \
		"kernel vxlan->vpcbpf $(awk -v b="$ba" 'BEGIN { printf "%.2f", b / 1e9 }') Gbit/s" >&3
	awk -v a="$ab" -v b="$ba" 'BEGIN { exit !(a > 1e8 && b > 1e8) }'
}

@test "interop: tshark decodes the underlay traffic as VXLAN with VNI 100 and the inner addresses" {
	local cap="$LIB_STATE/interop.pcapng"
	# capture on hA's underlay veth, bounded in time and packets
	ip netns exec "$(host_ns hA)" timeout 15 dumpcap -q -i ul0 -f "udp port 4789" -a duration:6 -c 8 \
		-w "$cap" 2>/dev/null &
	local pid=$!
	sleep 1.5
	in_vm a1 ping -c 2 -i 0.2 -W 1 10.0.1.11 >/dev/null
	in_vm k1 ping -c 2 -i 0.2 -W 1 10.0.1.10 >/dev/null
	wait "$pid" || true
	run --separate-stderr tshark -Q -r "$cap" -d udp.port==4789,vxlan -T fields -E separator=";" \
		-e vxlan.vni -e ip.src -e ip.dst -e udp.srcport -e icmp.type
	assert_success
	# ip.src/ip.dst list the outer address first, the inner one second
	assert_line --regexp "^100;192\.168\.100\.1,10\.0\.1\.10;192\.168\.100\.2,10\.0\.1\.11;[0-9]+;8$"
	assert_line --regexp "^100;192\.168\.100\.2,10\.0\.1\.11;192\.168\.100\.1,10\.0\.1\.10;[0-9]+;8$"
	assert_line --regexp "^100;192\.168\.100\.1,10\.0\.1\.10;192\.168\.100\.2,10\.0\.1\.11;[0-9]+;0$"
	assert_line --regexp "^100;192\.168\.100\.2,10\.0\.1\.11;192\.168\.100\.1,10\.0\.1\.10;[0-9]+;0$"
	# our source ports come from the ephemeral range
	local port
	for port in $(printf '%s\n' "${lines[@]}" | awk -F';' '$2 ~ /^192\.168\.100\.1,/ { print $4 }'); do
		{ [ "$port" -ge 49152 ] && [ "$port" -le 65535 ]; } || fail "source port $port outside 49152-65535"
	done
}
