#!/usr/bin/env bats
# tests/e2e/overlay.bats — two hosts joined by VXLAN: forwarding, isolation, moving a NIC, MTU, XDP attach/detach, throughput, an appliance hairpin (hairpin_world).
#
# The world (setup_file): hosts hA and hB on underlay 192.168.100.0/24 (ul0), both `dp up dev ul0`
# (xdp native forced: the default on veth is off), both configured with VPC 100 and VPC 200, each with 10.0.1.0/24 and 10.0.2.0/24:
#   a1 10.0.1.10 VPC 100 on hA      a2 10.0.1.11 VPC 100 on hB      a3 10.0.2.10 VPC 100 on hB
#   b1 10.0.1.10 VPC 200 on hA      b2 10.0.1.11 VPC 200 on hB
#   f1 10.0.1.30 VPC 100 on hA with MTU 1500 (more than the overlay carries)
# VMs have MTU 1450 (underlay 1500 - 50) unless said otherwise.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

mac() { printf '02:%02x:00:00:%02x:%02x' "$1" "$2" "$3"; }

# nic_everywhere VNI IP MAC HOST VM: the NIC is local on HOST (dev VM) and remote on the other host.
nic_everywhere() {
	local vni=$1 ip=$2 m=$3 host=$4 vm=$5 h
	for h in hA hB; do
		if [ "$h" = "$host" ]; then
			vpcbpf_on "$h" nic add "$ip" vpc "$vni" mac "$m" dev "$vm" 2>/dev/null
		else
			vpcbpf_on "$h" nic add "$ip" vpc "$vni" mac "$m" remote "$(underlay_ip "$host")"
		fi
	done
}

setup_file() {
	lib_init
	underlay_create hA hB
	host_create hA dev ul0 xdp native
	host_create hB dev ul0 xdp native
	for h in hA hB; do
		for vni in 100 200; do
			vpcbpf_on "$h" vpc add $vni
			vpcbpf_on "$h" subnet add 10.0.1.0/24 vpc $vni
			vpcbpf_on "$h" subnet add 10.0.2.0/24 vpc $vni
		done
	done
	while read -r vm host vni ip gw m mtu; do
		vm_create "$host" "$vm" "$ip/24" "$gw" "$m" "$mtu"
		nic_everywhere "$vni" "$ip" "$m" "$host" "$vm"
	done <<-EOF
	a1 hA 100 10.0.1.10 10.0.1.1 $(mac 1 1 10) 1450
	a2 hB 100 10.0.1.11 10.0.1.1 $(mac 1 1 11) 1450
	a3 hB 100 10.0.2.10 10.0.2.1 $(mac 1 2 10) 1450
	b1 hA 200 10.0.1.10 10.0.1.1 $(mac 2 1 10) 1450
	b2 hB 200 10.0.1.11 10.0.1.1 $(mac 2 1 11) 1450
	f1 hA 100 10.0.1.30 10.0.1.1 $(mac 1 1 30) 1500
	EOF
}

teardown() {
	# a test that changed hB's XDP mode puts it back even when it failed
	if [ -e "$LIB_STATE/hB-xdp-off" ]; then
		vpcbpf_on hB dp up xdp native >/dev/null
		rm -f "$LIB_STATE/hB-xdp-off"
	fi
}

teardown_file() {
	lib_cleanup
}

ping_ok() {
	local vm=$1 dst=$2
	shift 2
	run in_vm "$vm" ping -c 3 -i 0.2 -W 1 "$@" "$dst"
	assert_success
	assert_output --partial "3 received"
}

@test "overlay: both hosts run their own XDP program on their own underlay veth" {
	run vpcbpf_on hA dp show
	assert_success
	assert_output --regexp "underlay dev ul0 local 192.168.100.1 .* xdp (native|generic)"
	assert_output --partial "program underlay_xdp"
	run vpcbpf_on hB dp show
	assert_output --regexp "underlay dev ul0 local 192.168.100.2 .* xdp (native|generic)"
	run ip -n "$(host_ns hA)" link show ul0
	assert_output --partial "underlay_xdp"
	run ip -n "$(host_ns hB)" link show ul0
	assert_output --partial "underlay_xdp"
}

@test "overlay: ping across hosts, same subnet and routed, in both VPCs" {
	ping_ok a1 10.0.1.11
	ping_ok a1 10.0.2.10
	ping_ok a3 10.0.1.10
	ping_ok b1 10.0.1.11
	ping_ok b2 10.0.1.10
}

@test "overlay: VPCs with the same addresses stay apart across hosts (counted)" {
	# settle ARP first, then count what reaches each VM's eth0
	in_vm a1 ping -c 1 -W 1 10.0.1.11 >/dev/null
	in_vm b1 ping -c 1 -W 1 10.0.1.11 >/dev/null
	local a2_before b2_before
	a2_before=$(vm_rx a2)
	b2_before=$(vm_rx b2)
	run in_vm a1 ping -c 20 -i 0.05 -W 1 10.0.1.11
	assert_output --partial "20 received"
	[ $(($(vm_rx a2) - a2_before)) -ge 20 ]
	[ $(($(vm_rx b2) - b2_before)) -eq 0 ]

	a2_before=$(vm_rx a2)
	b2_before=$(vm_rx b2)
	run in_vm b1 ping -c 20 -i 0.05 -W 1 10.0.1.11
	assert_output --partial "20 received"
	[ $(($(vm_rx b2) - b2_before)) -ge 20 ]
	[ $(($(vm_rx a2) - a2_before)) -eq 0 ]
}

@test "overlay: TCP across hosts (iperf3)" {
	in_vm a2 iperf3 -s -1 -D -p 5201 >/dev/null
	sleep 0.3
	run -0 in_vm a1 timeout 20 iperf3 -c 10.0.1.11 -p 5201 -t 3 -J
	local bps
	bps=$(jq -r '.end.sum_received.bits_per_second' <<<"$output")
	echo "# vpcbpf overlay TCP a1(hA) -> a2(hB): $(awk -v b="$bps" 'BEGIN { printf "%.2f", b / 1e9 }') Gbit/s" >&3
	awk -v b="$bps" 'BEGIN { exit !(b > 1e8) }'
}

@test "overlay: an oversize DF packet gets 'fragmentation needed' with the overlay MTU" {
	local before
	before=$(stats_drop hA frag-needed)
	run in_vm f1 ping -c 1 -W 2 -M do -s 1470 10.0.1.11
	assert_output --regexp "Frag needed and DF set \(mtu = 1450\)|message too long, mtu=1450"
	[ "$(stats_drop hA frag-needed)" -gt "$before" ]
	# what fits goes through
	ping_ok f1 10.0.1.11 -M do -s $((1450 - 28))
}

@test "overlay: a NIC moved between hosts with nic replace is reachable afterwards" {
	local m ip=10.0.1.40
	m=$(mac 1 1 40)
	vm_create hB mv "$ip/24" 10.0.1.1 "$m" 1450
	nic_everywhere 100 "$ip" "$m" hB mv
	ping_ok a1 "$ip"

	# the VM moves: its interface now hangs off hA; one replace on each host follows it
	ip -n "$(host_ns hB)" link del mv
	vm_nic_add hA mv mv eth0 "$ip/24" "$m" 1450
	in_vm mv ip route add default via 10.0.1.1 dev eth0
	run vpcbpf_on hA nic replace "$ip" vpc 100 mac "$m" dev mv
	assert_success
	run vpcbpf_on hB nic replace "$ip" vpc 100 mac "$m" remote "$(underlay_ip hA)"
	assert_success
	ping_ok a1 "$ip"
	ping_ok a2 "$ip"
	run vpcbpf_on hB nic show vpc 100
	assert_output --partial "$ip vpc 100 mac $m subnet 10.0.1.0/24 remote 192.168.100.1"
}

@test "overlay: VXLAN for a NIC or a VNI the receiving host does not know is dropped and counted" {
	local before
	# hA believes 10.0.1.50 lives on hB; hB has no such NIC
	vpcbpf_on hA nic add 10.0.1.50 vpc 100 mac "$(mac 1 1 50)" remote "$(underlay_ip hB)"
	before=$(stats_drop hB no-nic)
	run in_vm a1 ping -c 2 -i 0.2 -W 1 10.0.1.50
	assert_failure
	[ "$(stats_drop hB no-nic)" -ge $((before + 2)) ]

	# VPC 300 exists on hA only
	vpcbpf_on hA vpc add 300
	vpcbpf_on hA subnet add 10.0.1.0/24 vpc 300
	vm_create hA c1 10.0.1.10/24 10.0.1.1 "$(mac 3 1 10)" 1450
	vpcbpf_on hA nic add 10.0.1.10 vpc 300 mac "$(mac 3 1 10)" dev c1
	vpcbpf_on hA nic add 10.0.1.11 vpc 300 mac "$(mac 3 1 11)" remote "$(underlay_ip hB)"
	before=$(stats_drop hB unknown-vni)
	run in_vm c1 ping -c 2 -i 0.2 -W 1 10.0.1.11
	assert_failure
	[ "$(stats_drop hB unknown-vni)" -ge $((before + 2)) ]
}

@test "overlay: dp down detaches XDP and tc from the underlay, dp up xdp off attaches tc only" {
	underlay_create hC hD 192.168.101
	host_create hC dev ul0 xdp native
	run ip -n "$(host_ns hC)" link show ul0
	assert_output --partial "underlay_xdp"
	run tc -n "$(host_ns hC)" filter show dev ul0 ingress
	assert_output --partial "underlay_ingres"

	run vpcbpf_on hC dp up xdp off
	assert_success
	assert_output --partial "xdp off"
	run ip -n "$(host_ns hC)" link show ul0
	refute_output --partial "underlay_xdp"
	run tc -n "$(host_ns hC)" filter show dev ul0 ingress
	assert_output --partial "underlay_ingres"

	run vpcbpf_on hC dp up xdp generic
	assert_success
	run vpcbpf_on hC dp show
	assert_output --partial "xdp generic"

	run vpcbpf_on hC dp down
	assert_success
	run ip -n "$(host_ns hC)" link show ul0
	refute_output --partial "xdp"
	run tc -n "$(host_ns hC)" filter show dev ul0 ingress
	refute_output --partial "underlay_ingres"
}

# The appliance hairpin: c1 (VPC 400, hA) reaches s1 (VPC 500, hA) only through appliance ap on hB, a
# vCPE with a NIC in each VPC (source-check off, ip_forward=1). Each way crosses the underlay twice:
# hA -> hB (decapsulated, delivered to ap), ap forwards out its other NIC, hB -> hA (encapsulated again).
# Over a veth underlay that second encapsulation meets the skb that arrived encapsulated.
hairpin_world() {
	local h
	[ -e "$LIB_STATE/hairpin" ] && return 0
	touch "$LIB_STATE/hairpin"
	for h in hA hB; do
		vpcbpf_on "$h" vpc add 400
		vpcbpf_on "$h" subnet add 10.4.1.0/24 vpc 400
		vpcbpf_on "$h" vpc add 500
		vpcbpf_on "$h" subnet add 10.5.1.0/24 vpc 500
	done
	vm_create hA hc1 10.4.1.10/24 10.4.1.1 "$(mac 4 1 10)" 1450
	nic_everywhere 400 10.4.1.10 "$(mac 4 1 10)" hA hc1
	vm_create hA hs1 10.5.1.10/24 10.5.1.1 "$(mac 5 1 10)" 1450
	nic_everywhere 500 10.5.1.10 "$(mac 5 1 10)" hA hs1

	vm_create hB hap 10.4.1.254/24 10.4.1.1 "$(mac 4 1 254)" 1450
	vm_nic_add hB hap hap1 eth1 10.5.1.254/24 "$(mac 5 1 254)" 1450
	in_vm hap sysctl -qw net.ipv4.ip_forward=1
	for h in hA hB; do
		if [ "$h" = hB ]; then
			vpcbpf_on hB nic add 10.4.1.254 vpc 400 mac "$(mac 4 1 254)" dev hap source-check off
			vpcbpf_on hB nic add 10.5.1.254 vpc 500 mac "$(mac 5 1 254)" dev hap1 source-check off
		else
			vpcbpf_on hA nic add 10.4.1.254 vpc 400 mac "$(mac 4 1 254)" remote "$(underlay_ip hB)"
			vpcbpf_on hA nic add 10.5.1.254 vpc 500 mac "$(mac 5 1 254)" remote "$(underlay_ip hB)"
		fi
		vpcbpf_on "$h" route add 10.5.0.0/16 vpc 400 via 10.4.1.254
		vpcbpf_on "$h" route add 10.4.0.0/16 vpc 500 via 10.5.1.254
	done
}

@test "overlay: a VM reaches a VM on its own host through an appliance on another host (encapsulated twice)" {
	hairpin_world
	local before ap_in ap_out
	before=$(stats_drop hB encap-failed)
	ap_in=$(link_rx hap eth0)
	ap_out=$(link_tx hap eth1)
	ping_ok hc1 10.5.1.10
	ping_ok hs1 10.4.1.10
	# it did go through the appliance, and nothing was refused on the way
	[ $(($(link_rx hap eth0) - ap_in)) -ge 3 ]
	[ $(($(link_tx hap eth1) - ap_out)) -ge 3 ]
	[ "$(stats_drop hB encap-failed)" -eq "$before" ]

	# a whole TCP flow takes the same way (segments arrive one by one over the XDP underlay)
	in_vm hs1 iperf3 -s -1 -D -p 5202 >/dev/null
	sleep 0.3
	run -0 in_vm hc1 timeout 20 iperf3 -c 10.5.1.10 -p 5202 -t 2 -J
	local bps
	bps=$(jq -r '.end.sum_received.bits_per_second' <<<"$output")
	echo "# vpcbpf overlay TCP hc1(hA) -> appliance(hB) -> hs1(hA): $(awk -v b="$bps" 'BEGIN { printf "%.2f", b / 1e9 }') Gbit/s, encap-failed on hB +$(($(stats_drop hB encap-failed) - before))" >&3
	awk -v b="$bps" 'BEGIN { exit !(b > 1e7) }'
}

@test "overlay: TCP through an appliance on another host when GSO packets cross the underlay (hB xdp off)" {
	hairpin_world
	# without XDP on hB's ul0, hA's ul0 keeps TSO: GSO packets arrive on hB, are delivered to the
	# appliance whole and come back to be encapsulated again; hA's XDP makes hB cut them in software
	touch "$LIB_STATE/hB-xdp-off"
	vpcbpf_on hB dp up xdp off >/dev/null
	local before bps
	before=$(stats_drop hB encap-failed)
	in_vm hs1 iperf3 -s -1 -D -p 5203 >/dev/null
	sleep 0.3
	run -0 in_vm hc1 timeout 20 iperf3 -c 10.5.1.10 -p 5203 -t 2 -J
	bps=$(jq -r '.end.sum_received.bits_per_second' <<<"$output")
	echo "# vpcbpf overlay TCP hc1(hA) -> appliance(hB, xdp off) -> hs1(hA): $(awk -v b="$bps" 'BEGIN { printf "%.2f", b / 1e9 }') Gbit/s" >&3
	awk -v b="$bps" 'BEGIN { exit !(b > 1e7) }'
	[ "$(stats_drop hB encap-failed)" -eq "$before" ]
	[ "$(stats_drop hA vxlan-malformed)" -eq 0 ]
}
