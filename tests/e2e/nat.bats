#!/usr/bin/env bats
# tests/e2e/nat.bats — the internet through vpcbpf: SNAT for two tenants with equal addresses, EIPs in and out, an EIP following its NIC, ping/tracepath, port exhaustion, the infrastructure closed.
#
# The world (setup_file):
#   hosts hA, hB: underlay ul0 (192.168.100.1/.2), external device ext0 (203.0.113.10/.11) on the
#   bridge of ns "inet" (a router: 203.0.113.1, and 198.51.100.1 toward ns "srv"); the link to srv has
#   MTU 1400, so the router sends "fragmentation needed" for bigger packets.
#   srv 198.51.100.2: TCP 8080 and UDP 9000/9001 answer "LINE from PEER" (socat).
#   VPC 100 and VPC 200 on both hosts, each with 10.0.0.0/24 and 0.0.0.0/0 internet:
#     v1 10.0.0.2 VPC 100 on hA       v2 10.0.0.2 VPC 200 on hA (the same address)
#     v3 10.0.0.3 VPC 100 on hA with EIP 203.0.113.100 (a TCP 80 server saying "v3 on HOST saw PEER")
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

SRV=198.51.100.2
EIP=203.0.113.100

setup_file() {
	lib_init
	underlay_create hA hB
	ns_create inet
	ns_create srv
	ip -n "$T-inet" link add br0 type bridge
	ip -n "$T-inet" addr add 203.0.113.1/24 dev br0
	ip -n "$T-inet" link set br0 up
	local h n=10
	for h in hA hB; do
		ip -n "$T-$h" link add ext0 type veth peer name "$h" netns "$T-inet"
		ip -n "$T-inet" link set "$h" master br0
		ip -n "$T-inet" link set "$h" up
		ip -n "$T-$h" addr add "203.0.113.$n/24" dev ext0
		ip -n "$T-$h" link set ext0 up
		ip -n "$T-$h" route add default via 203.0.113.1 dev ext0
		# forwarding on the external device lets the datapath ask the FIB where a destination is
		ip netns exec "$T-$h" sysctl -qw net.ipv4.conf.ext0.forwarding=1
		n=$((n + 1))
	done
	ip -n "$T-inet" link add s0 type veth peer name eth0 netns "$T-srv"
	ip -n "$T-inet" addr add 198.51.100.1/24 dev s0
	ip -n "$T-inet" link set s0 mtu 1400 up
	ip -n "$T-srv" addr add "$SRV/24" dev eth0
	ip -n "$T-srv" link set eth0 mtu 1400 up
	ip -n "$T-srv" route add default via 198.51.100.1
	ip netns exec "$T-inet" sysctl -qw net.ipv4.ip_forward=1
	host_create hA dev ul0 external ext0 xdp off
	host_create hB dev ul0 external ext0 xdp off
	for h in hA hB; do
		for vni in 100 200; do
			vpcbpf_on "$h" vpc add $vni
			vpcbpf_on "$h" subnet add 10.0.0.0/24 vpc $vni
			vpcbpf_on "$h" route add 0.0.0.0/0 vpc $vni internet
		done
	done
	vm_create hA v1 10.0.0.2/24 10.0.0.1 02:00:00:00:01:02 1450
	vm_create hA v2 10.0.0.2/24 10.0.0.1 02:00:00:00:02:02 1450
	vm_create hA v3 10.0.0.3/24 10.0.0.1 02:00:00:00:01:03 1450
	vpcbpf_on hA nic add 10.0.0.2 vpc 100 mac 02:00:00:00:01:02 dev v1
	vpcbpf_on hA nic add 10.0.0.2 vpc 200 mac 02:00:00:00:02:02 dev v2
	vpcbpf_on hA nic add 10.0.0.3 vpc 100 mac 02:00:00:00:01:03 dev v3
	vpcbpf_on hB nic add 10.0.0.2 vpc 100 mac 02:00:00:00:01:02 remote 192.168.100.1
	vpcbpf_on hB nic add 10.0.0.2 vpc 200 mac 02:00:00:00:02:02 remote 192.168.100.1
	vpcbpf_on hB nic add 10.0.0.3 vpc 100 mac 02:00:00:00:01:03 remote 192.168.100.1
	for h in hA hB; do
		vpcbpf_on "$h" eip add $EIP nic 10.0.0.3 vpc 100
	done
	# servers live as long as their netns (lib_cleanup kills what runs there)
	ip netns exec "$T-srv" socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'read l; echo "$l from $SOCAT_PEERADDR"' \
		</dev/null >/dev/null 2>&1 3>&- &
	for p in 9000 9001; do
		ip netns exec "$T-srv" socat UDP-RECVFROM:$p,fork SYSTEM:'read l; echo "$l from $SOCAT_PEERADDR"' \
			</dev/null >/dev/null 2>&1 3>&- &
	done
	in_vm v3 socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo "v3 on hA saw $SOCAT_PEERADDR"' \
		</dev/null >/dev/null 2>&1 3>&- &
	# a service of host hB on its underlay address: no VM may reach it through the internet route
	ip netns exec "$T-hB" socat TCP-LISTEN:7777,bind=192.168.100.2,fork,reuseaddr SYSTEM:'echo hB' \
		</dev/null >/dev/null 2>&1 3>&- &
	sleep 0.5
}

teardown_file() {
	lib_cleanup
}

# ask VM PROTO PORT LINE: one request to srv, its answer on stdout
ask() {
	local vm=$1 proto=$2 port=$3 line=$4
	echo "$line" | in_vm "$vm" timeout 10 socat -T 3 - "$proto:$SRV:$port"
}

@test "two VPCs with the same private address reach the internet at once over TCP and UDP, each with its own replies, seen as the host" {
	local d=$LIB_STATE/concurrent
	mkdir -p "$d"
	ask v1 TCP 8080 "v1 tcp" >"$d/1t" &
	ask v2 TCP 8080 "v2 tcp" >"$d/2t" &
	ask v1 UDP 9000 "v1 udp" >"$d/1u" &
	ask v2 UDP 9000 "v2 udp" >"$d/2u" &
	wait
	[ "$(cat "$d/1t")" = "v1 tcp from 203.0.113.10" ] || fail "v1 TCP: $(cat "$d/1t")"
	[ "$(cat "$d/2t")" = "v2 tcp from 203.0.113.10" ] || fail "v2 TCP: $(cat "$d/2t")"
	[ "$(cat "$d/1u")" = "v1 udp from 203.0.113.10" ] || fail "v1 UDP: $(cat "$d/1u")"
	[ "$(cat "$d/2u")" = "v2 udp from 203.0.113.10" ] || fail "v2 UDP: $(cat "$d/2u")"
}

@test "ping through SNAT, and tracepath: the gateway, the router, the server, and the path MTU of 1400" {
	run in_vm v1 ping -c 2 -W 2 $SRV
	assert_success
	run in_vm v2 ping -c 2 -W 2 $SRV
	assert_success
	run in_vm v1 timeout 30 tracepath -n -m 5 $SRV
	assert_output --partial "10.0.0.1"
	assert_output --partial "203.0.113.1"
	assert_output --partial "reached"
	assert_output --partial "pmtu 1400"
}

@test "a VM with an EIP leaves as its EIP, and an outside client reaches it on the EIP" {
	run ask v3 TCP 8080 "v3 out"
	assert_output "v3 out from $EIP"
	run ip netns exec "$T-srv" timeout 10 socat -T 3 - TCP:$EIP:80 </dev/null
	assert_output "v3 on hA saw $SRV"
}

@test "the infrastructure stays closed: host addresses, the underlay, another host's service" {
	local before after
	before=$(stats_drop hA to-infrastructure || echo 0)
	run in_vm v1 ping -c 1 -W 1 203.0.113.10
	assert_failure
	run in_vm v1 ping -c 1 -W 1 192.168.100.1
	assert_failure
	run in_vm v1 ping -c 1 -W 1 192.168.100.2
	assert_failure
	run in_vm v1 timeout 5 socat -T 2 - TCP:192.168.100.2:7777,connect-timeout=2 </dev/null
	refute_output "hB"
	after=$(stats_drop hA to-infrastructure)
	[ "$after" -ge $((before + 4)) ] || fail "to-infrastructure went from $before to $after"
	# the same service is there: only the datapath keeps the VM out
	run ip netns exec "$T-hA" timeout 5 socat -T 2 - TCP:192.168.100.2:7777 </dev/null
	assert_output "hB"
}

@test "port exhaustion: with two ports a third flow is dropped and counted, the first two go on" {
	vpcbpf_on hA dp up nat-ports 30000-30001 >/dev/null
	run ask v1 UDP 9001 "first"
	assert_output "first from 203.0.113.10"
	echo "again" | in_vm v1 timeout 5 socat -T 2 - UDP:$SRV:9001,sourceport=5001 >/dev/null
	echo "third" | in_vm v1 timeout 5 socat -T 2 - UDP:$SRV:9001,sourceport=5002 >/dev/null || true
	local exhausted
	exhausted=$(stats_drop hA nat-ports-exhausted)
	vpcbpf_on hA dp up nat-ports 20000-32767 >/dev/null
	[ "$exhausted" -ge 1 ] || fail "no nat-ports-exhausted drop"
	run bash -c "echo again | ip netns exec $T-v1 timeout 5 socat -T 2 - UDP:$SRV:9001,sourceport=5001"
	assert_output "again from 203.0.113.10"
}

@test "ICMP errors a VM sends about inbound flows leave translated: port unreachable to a client of its EIP, and to a server answering a mapping" {
	# a client of the EIP, UDP to a port nothing listens on in v3: its connected socket is refused
	run ip netns exec "$T-srv" timeout 10 socat -T 3 - UDP:$EIP:9999 <<<"anyone?"
	assert_failure
	assert_output --partial "Connection refused"
	# a server that keeps answering (connected to the mapping's external address and port) after
	# v1 closed its socket: v1's port unreachable reaches it translated, and its socket is refused
	local log=$LIB_STATE/udp9002.log
	ip netns exec "$T-srv" timeout 30 socat -d UDP-LISTEN:9002 \
		SYSTEM:'read l; for i in $(seq 100); do echo "$l $i"; sleep 0.2; done' </dev/null 2>"$log" 3>&- &
	wait_until 10 bash -c "ip netns exec $T-srv ss -lun | grep -q ':9002 '" || fail "no UDP server on 9002"
	echo "hello" | in_vm v1 timeout 5 socat -u - UDP:$SRV:9002,sourceport=5301
	wait_until 20 grep -q "Connection refused" "$log" || fail "the server's socket was not refused: $(cat "$log")"
}

@test "hairpin: VMs of both VPCs reach v3 on its EIP (as the host's address), v3 reaches itself on it, ping too" {
	local tx_before tx_after
	tx_before=$(link_tx hA ext0)
	run in_vm v1 timeout 10 socat -T 3 - TCP:$EIP:80 </dev/null
	assert_output "v3 on hA saw 203.0.113.10"
	run in_vm v2 timeout 10 socat -T 3 - TCP:$EIP:80 </dev/null
	assert_output "v3 on hA saw 203.0.113.10"
	run in_vm v3 timeout 10 socat -T 3 - TCP:$EIP:80 </dev/null
	assert_output "v3 on hA saw $EIP"
	run in_vm v1 ping -c 2 -W 2 $EIP
	assert_success
	# none of it left for the internet (four exchanges of several packets each; a stray ARP may pass)
	tx_after=$(link_tx hA ext0)
	[ $((tx_after - tx_before)) -lt 5 ] || fail "ext0 sent $((tx_after - tx_before)) packets"
}

# nat_mappings N: N NAT mappings of NIC 10.0.0.2 in VPC 200 on hA (stats nic)
nat_mappings() { vpcbpf_on hA -j stats nic 10.0.0.2 vpc 200 | jq -e '.[0].nat_mappings'; }

@test "stats and metrics count a NIC's live NAT mappings, and the host's" {
	local before after host port url
	before=$(nat_mappings)
	# three new flows of v2 (VPC 200) to a peer it never used: three new mappings
	for port in 5101 5102 5103; do
		echo "m$port" | in_vm v2 timeout 5 socat -T 2 - UDP:$SRV:9001,sourceport=$port >/dev/null
	done
	after=$(nat_mappings)
	[ "$after" -eq $((before + 3)) ] || fail "nat_mappings went from $before to $after"
	host=$(vpcbpf_on hA -j stats | jq -e '.nat_mappings')
	[ "$host" -ge "$after" ] || fail "host nat_mappings $host < NIC's $after"
	# the same figures in /metrics (the server in hA's netns, on a port of its loopback)
	proc_start metrics "$VPCBPF" -n "$T-hA" -d "$(host_pin hA)" metrics 127.0.0.1:0
	wait_until 10 grep -q 'serving metrics' "$(proc_log metrics)" || fail "metrics: $(cat "$(proc_log metrics)")"
	url=$(grep -o 'http://[^/]*' "$(proc_log metrics)" | head -1)
	run ip netns exec "$T-hA" curl -s --max-time 10 "$url/metrics"
	assert_line "vpcbpf_nat_mappings{vpc=\"200\",nic=\"10.0.0.2\"} $after"
	assert_line "vpcbpf_nat_mappings_capacity 131072"
	proc_stop metrics
}

@test "the NIC moves to hB and its EIP follows: hB announces it, the outside reaches the VM there" {
	vm_create hB v3b 10.0.0.3/24 10.0.0.1 02:00:00:00:01:03 1450
	in_vm v3b socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo "v3 on hB saw $SOCAT_PEERADDR"' \
		</dev/null >/dev/null 2>&1 3>&- &
	sleep 1.2 # the router ignores an ARP update within a second of the last one (locktime)
	vpcbpf_on hA nic replace 10.0.0.3 vpc 100 mac 02:00:00:00:01:03 remote 192.168.100.2
	vpcbpf_on hB nic replace 10.0.0.3 vpc 100 mac 02:00:00:00:01:03 dev v3b
	local mac
	mac=$(ip -n "$T-hB" -j link show ext0 | jq -r '.[0].address')
	run ip -n "$T-inet" neigh show $EIP
	assert_output --partial "$mac"
	run ip netns exec "$T-srv" timeout 10 socat -T 3 - TCP:$EIP:80 </dev/null
	assert_output "v3 on hB saw $SRV"
	run ask v3b TCP 8080 "v3b out"
	assert_output "v3b out from $EIP"
}
