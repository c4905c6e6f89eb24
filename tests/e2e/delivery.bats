#!/usr/bin/env bats
# tests/e2e/delivery.bats — how a frame reaches a local NIC: the peer path into a veth's netns, bpf_redirect for a tap or a same-netns veth.
#
# The world (setup_file): hosts hA and hB on an underlay (ul0), VPC 100 with 10.0.7.0/24 on both:
#   a1 10.0.7.10 and a2 10.0.7.11 on hA (veth, peer in the VM's netns; a2 bound by --batch),
#   b1 10.0.7.20 on hB (veth), all known on the other host as remote;
#   on hA a tap "tp0" bound as NIC 10.0.7.30 (a perl reader on it logs every frame),
#   and a veth "lp" bound as NIC 10.0.7.31 whose peer "lpx" stays in hA's own netns.
# A frame delivered by bpf_redirect_peer never passes the host side's transmit path, so the
# host-side veth's tx counter stays still; bpf_redirect sends it out there. Arrival is proven by
# the answers (ping), not by the VM's rx counter, which the peer path only counts from Linux 6.7.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

MAC_A1=02:07:00:00:00:10 MAC_A2=02:07:00:00:00:11 MAC_B1=02:07:00:00:00:20
MAC_TP=02:07:00:00:00:30 MAC_LP=02:07:00:00:00:31

setup_file() {
	lib_init
	underlay_create hA hB 192.168.107
	host_create hA dev ul0
	host_create hB dev ul0
	for h in hA hB; do
		vpcbpf_on "$h" vpc add 100
		vpcbpf_on "$h" subnet add 10.0.7.0/24 vpc 100
	done
	vm_create hA a1 10.0.7.10/24 10.0.7.1 $MAC_A1 1450
	vm_create hA a2 10.0.7.11/24 10.0.7.1 $MAC_A2 1450
	vm_create hB b1 10.0.7.20/24 10.0.7.1 $MAC_B1 1450
	vpcbpf_on hA nic add 10.0.7.10 vpc 100 mac $MAC_A1 dev a1
	# the batch path (state_nic_set) must find the peer path as well as `nic add`
	printf 'nic add 10.0.7.11 vpc 100 mac %s dev a2\n' $MAC_A2 | vpcbpf_on hA --batch -
	vpcbpf_on hA nic add 10.0.7.20 vpc 100 mac $MAC_B1 remote "$(underlay_ip hB)"
	vpcbpf_on hB nic add 10.0.7.20 vpc 100 mac $MAC_B1 dev b1
	vpcbpf_on hB nic add 10.0.7.10 vpc 100 mac $MAC_A1 remote "$(underlay_ip hA)"

	# A tap: a perl reader attaches to it (carrier on) and logs "dst src ethertype length" a frame.
	ip -n "$T-hA" tuntap add dev tp0 mode tap
	ip -n "$T-hA" link set tp0 mtu 1450 up
	ip netns exec "$T-hA" timeout 300 perl -e '
		open(my $t, "+<", "/dev/net/tun") or die "tun: $!";
		my $ifr = pack("a16 s x22", "tp0", 0x1002); # IFF_TAP|IFF_NO_PI
		ioctl($t, 0x400454ca, $ifr) or die "TUNSETIFF: $!";
		$| = 1; print "ready\n";
		while (sysread($t, my $f, 65536)) { printf "%s %s %s %d\n", unpack("H12 H12 H4", $f), length $f; }
	' >"$LIB_STATE/tap.log" 2>&1 3>&- &
	echo $! >"$LIB_STATE/tap.pid"
	for _ in $(seq 50); do grep -q ready "$LIB_STATE/tap.log" && break; sleep 0.1; done
	vpcbpf_on hA nic add 10.0.7.30 vpc 100 mac $MAC_TP dev tp0
	vpcbpf_on hB nic add 10.0.7.30 vpc 100 mac $MAC_TP remote "$(underlay_ip hA)"

	# A veth with both ends in hA: the peer path would be dropped by the kernel there.
	ip -n "$T-hA" link add lp type veth peer name lpx
	ip -n "$T-hA" link set lp mtu 1450 up
	ip -n "$T-hA" link set lpx mtu 1450 up
	vpcbpf_on hA nic add 10.0.7.31 vpc 100 mac $MAC_LP dev lp
}

teardown_file() {
	[ -s "$LIB_STATE/tap.pid" ] && kill "$(cat "$LIB_STATE/tap.pid")" 2>/dev/null
	lib_cleanup
}

# the struct nic flags of NIC IP in VPC 100 on HOST (default hA), from the pinned map
nic_flags() {
	local ip=$1 host=${2:-hA} a b c d
	IFS=. read -r a b c d <<<"$ip"
	bpftool -j map dump pinned "/sys/fs/bpf/$T-$host/nics" |
		jq -e --argjson ip $((a + b * 256 + c * 65536 + d * 16777216)) \
			'.[].formatted | select(.key.vni == 100 and .key.ip == $ip) | .value.flags'
}

# frames the tap's reader logged to MAC (colons dropped), of ethertype 0800
tap_frames_to() { grep -c "^${1//:/} [0-9a-f]* 0800 " "$LIB_STATE/tap.log" || true; }

@test "a NIC on a veth whose peer is in the VM's netns is bound for the peer path; a tap or a same-netns veth is not" {
	# NIC_F_PEER = 0x8 (maps/vpcbpf.h)
	[ $(($(nic_flags 10.0.7.10) & 8)) -eq 8 ]
	[ $(($(nic_flags 10.0.7.11) & 8)) -eq 8 ]
	[ $(($(nic_flags 10.0.7.30) & 8)) -eq 0 ]
	[ $(($(nic_flags 10.0.7.31) & 8)) -eq 0 ]
	# what hB knows as remote never takes a local path
	[ "$(nic_flags 10.0.7.10 hB)" -eq 2 ] || [ "$(nic_flags 10.0.7.10 hB)" -eq 6 ]
}

@test "VM -> VM on one host: delivered into the VM's netns, nothing sent on the host-side veth" {
	tx_a1=$(link_tx hA a1)
	tx_a2=$(link_tx hA a2)
	run in_vm a1 ping -c 5 -i 0.1 -W 1 10.0.7.11
	assert_success
	assert_output --partial "5 received"
	assert_output --partial "ttl=64"
	# both ways (requests to a2, replies to a1) and the ARP answers of the virtual router
	[ $(($(link_tx hA a2) - tx_a2)) -eq 0 ] || fail "a2's host side sent $(($(link_tx hA a2) - tx_a2)) frames"
	[ $(($(link_tx hA a1) - tx_a1)) -eq 0 ] || fail "a1's host side sent $(($(link_tx hA a1) - tx_a1)) frames"
}

@test "the virtual router's own answers (ARP, echo to the gateway) take the peer path too" {
	tx_a1=$(link_tx hA a1)
	in_vm a1 ip neigh flush dev eth0
	run in_vm a1 ping -c 3 -i 0.1 -W 1 10.0.7.1
	assert_success
	assert_output --partial "3 received"
	[ $(($(link_tx hA a1) - tx_a1)) -eq 0 ] || fail "a1's host side sent $(($(link_tx hA a1) - tx_a1)) frames"
}

@test "underlay -> VM: decapsulated frames enter the VM's netns directly" {
	tx_a1=$(link_tx hA a1)
	tx_b1=$(link_tx hB b1)
	run in_vm b1 ping -c 5 -i 0.1 -W 1 10.0.7.10
	assert_success
	assert_output --partial "5 received"
	[ $(($(link_tx hA a1) - tx_a1)) -eq 0 ] || fail "a1's host side sent $(($(link_tx hA a1) - tx_a1)) frames"
	[ $(($(link_tx hB b1) - tx_b1)) -eq 0 ] || fail "b1's host side sent $(($(link_tx hB b1) - tx_b1)) frames"
}

@test "a tap NIC gets bpf_redirect: local and decapsulated frames arrive on the tap" {
	grep -q ready "$LIB_STATE/tap.log" || skip "no tap reader: $(cat "$LIB_STATE/tap.log")"
	before=$(tap_frames_to $MAC_TP)
	tx=$(link_tx hA tp0)
	# nobody answers on the tap: the pings fail, the frames must still be there
	run in_vm a1 ping -c 3 -i 0.1 -W 1 10.0.7.30
	run in_vm b1 ping -c 3 -i 0.1 -W 1 10.0.7.30
	for _ in $(seq 20); do [ $(($(tap_frames_to $MAC_TP) - before)) -ge 6 ] && break; sleep 0.1; done
	[ $(($(tap_frames_to $MAC_TP) - before)) -ge 6 ] || fail "the tap received $(($(tap_frames_to $MAC_TP) - before)) of 6: $(tail -5 "$LIB_STATE/tap.log")"
	[ $(($(link_tx hA tp0) - tx)) -ge 6 ]
	# same subnet: the senders' own MACs (bridged-like), from hA and across the overlay
	grep -q "^${MAC_TP//:/} ${MAC_A1//:/} 0800 " "$LIB_STATE/tap.log"
	grep -q "^${MAC_TP//:/} ${MAC_B1//:/} 0800 " "$LIB_STATE/tap.log"
}

@test "a veth whose peer is in the host's own netns gets bpf_redirect: the frames reach the peer" {
	rx=$(link_rx hA lpx)
	tx=$(link_tx hA lp)
	run in_vm a1 ping -c 3 -i 0.1 -W 1 10.0.7.31
	[ $(($(link_rx hA lpx) - rx)) -ge 3 ] || fail "lpx received $(($(link_rx hA lpx) - rx)) of 3"
	[ $(($(link_tx hA lp) - tx)) -ge 3 ]
}

@test "nic replace recomputes the path: a veth NIC moved onto the tap loses it, moved back gets it again" {
	ip -n "$T-hA" link add tq0 mtu 1450 type veth peer name eth9 netns "$T-a2"
	vpcbpf_on hA nic replace 10.0.7.30 vpc 100 mac $MAC_TP dev tq0
	vpcbpf_on hA nic replace 10.0.7.11 vpc 100 mac $MAC_A2 dev tp0
	[ $(($(nic_flags 10.0.7.30) & 8)) -eq 8 ]
	[ $(($(nic_flags 10.0.7.11) & 8)) -eq 0 ]
	vpcbpf_on hA nic replace 10.0.7.11 vpc 100 mac $MAC_A2 dev a2
	vpcbpf_on hA nic replace 10.0.7.30 vpc 100 mac $MAC_TP dev tp0
	ip -n "$T-hA" link del tq0
	[ $(($(nic_flags 10.0.7.11) & 8)) -eq 8 ]
	[ $(($(nic_flags 10.0.7.30) & 8)) -eq 0 ]
	tx_a2=$(link_tx hA a2)
	run in_vm a1 ping -c 3 -i 0.1 -W 1 10.0.7.11
	assert_output --partial "3 received"
	[ $(($(link_tx hA a2) - tx_a2)) -eq 0 ]
}
