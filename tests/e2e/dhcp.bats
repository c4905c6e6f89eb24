#!/usr/bin/env bats
# tests/e2e/dhcp.bats — real DHCP clients (busybox udhcpc, ISC dhclient) get their NIC's address, MTU, routes and DNS from the datapath.
#
# Hosts hA and hB (underlay ul0, MTU 1500: NICs get 1450) both know:
#   VPC 100  10.0.1.0/24 gw .1, dns 10.0.0.53,10.0.0.54 domain corp.example routes 172.16.0.0/12,0.0.0.0/0
#            a1 10.0.1.10 on hA, b1 10.0.1.20 on hB, d1 10.0.1.30 on hB, x1 10.0.1.40 on hA (dhcp off),
#            m1 10.0.1.50 on hA (sends malformed DHCP)
#   VPC 200  10.0.1.0/24 as well, no options: c1 10.0.1.10 on hA (the same address as a1)
# VMs start with no address; the clients run inside their netns, bounded in time, and are stopped by pid
# (proc_start/proc_stop; lib_cleanup stops what a failed test left).
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

A1_MAC=02:00:00:64:01:0a
B1_MAC=02:00:00:64:01:14
D1_MAC=02:00:00:64:01:1e
X1_MAC=02:00:00:64:01:28
M1_MAC=02:00:00:64:01:32
C1_MAC=02:00:00:c8:01:0a

# A VM whose eth0 has a MAC and nothing else: what a freshly booted guest has.
vm_bare() {
	local host=$1 vm=$2 mac=$3
	ns_create "$vm" || return 1
	ip -n "$T-$host" link add "$vm" type veth peer name eth0 netns "$T-$vm" || return 1
	ip -n "$T-$vm" link set eth0 address "$mac" up
	ip -n "$T-$host" link set "$vm" up
}

# nic IP VPC MAC HOST VM [ARGS...]: the NIC on both hosts, local (dev VM) where it lives.
nic() {
	local ip=$1 vpc=$2 mac=$3 where=$4 vm=$5 h
	shift 5
	for h in hA hB; do
		if [ "$h" = "$where" ]; then
			vpcbpf_on "$h" nic add "$ip" vpc "$vpc" mac "$mac" dev "$vm" "$@" || return 1
		else
			vpcbpf_on "$h" nic add "$ip" vpc "$vpc" mac "$mac" remote "$(underlay_ip "$where")" "$@" || return 1
		fi
	done
}

setup_file() {
	lib_init
	# the real clients must run: a missing one fails the file, it is not skipped
	busybox udhcpc --help >/dev/null 2>&1 || busybox --list | grep -qx udhcpc ||
		fail "busybox udhcpc cannot run (Debian busybox-static: make deps)"
	command -v dhclient >/dev/null && command -v dhclient-script >/dev/null ||
		fail "ISC dhclient cannot run (Debian isc-dhcp-client: make deps)"
	underlay_create hA hB
	host_create hA dev ul0
	host_create hB dev ul0
	local h
	for h in hA hB; do
		vpcbpf_on "$h" vpc add 100 &&
			vpcbpf_on "$h" vpc add 200 &&
			vpcbpf_on "$h" subnet add 10.0.1.0/24 vpc 100 dns 10.0.0.53,10.0.0.54 domain corp.example \
				routes 172.16.0.0/12,0.0.0.0/0 &&
			vpcbpf_on "$h" subnet add 10.0.1.0/24 vpc 200 || return 1
	done
	vm_bare hA a1 "$A1_MAC" && vm_bare hB b1 "$B1_MAC" && vm_bare hB d1 "$D1_MAC" &&
		vm_bare hA x1 "$X1_MAC" && vm_bare hA m1 "$M1_MAC" && vm_bare hA c1 "$C1_MAC" || return 1
	nic 10.0.1.10 100 "$A1_MAC" hA a1 && nic 10.0.1.20 100 "$B1_MAC" hB b1 && nic 10.0.1.30 100 "$D1_MAC" hB d1 &&
		nic 10.0.1.40 100 "$X1_MAC" hA x1 dhcp off && nic 10.0.1.50 100 "$M1_MAC" hA m1 &&
		nic 10.0.1.10 200 "$C1_MAC" hA c1
}

teardown_file() {
	lib_cleanup
}

teardown() {
	local vm
	for vm in a1 b1 c1 x1; do proc_stop "udhcpc-$vm" 5; done
}

# The script udhcpc runs: configures eth0 from the lease (address, MTU, option 121 routes or the
# router) and keeps the lease's variables in $UDHCPC_OUT.ACTION (bound, renew).
udhcpc_script() {
	local f="$LIB_STATE/udhcpc.sh"
	cat >"$f" <<'EOF'
#!/bin/sh
out=$UDHCPC_OUT action=$1
case "$action" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	ip -4 addr replace "$ip/$mask" dev "$interface"
	[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
	if [ -n "$staticroutes" ]; then
		set -- $staticroutes
		while [ $# -ge 2 ]; do ip -4 route replace "$1" via "$2" dev "$interface"; shift 2; done
	elif [ -n "$router" ]; then
		ip -4 route replace default via "${router%% *}" dev "$interface"
	fi
	env | grep -E '^(ip|mask|router|mtu|staticroutes|dns|domain|lease|serverid)=' | sort >"$out.$action.tmp"
	mv "$out.$action.tmp" "$out.$action"
	;;
esac
exit 0
EOF
	chmod +x "$f"
	echo "$f"
}

# udhcpc_start VM: udhcpc in the foreground inside VM, as process "udhcpc-VM" (its log: proc_log udhcpc-VM).
udhcpc_start() {
	local vm=$1 script
	script=$(udhcpc_script)
	proc_start "udhcpc-$vm" env UDHCPC_OUT="$LIB_STATE/$vm" ip netns exec "$T-$vm" \
		busybox udhcpc -f -i eth0 -s "$script" -t 5 -T 1 -A 1
}

# lease VM ACTION: waits (15 s at most) for udhcpc's ACTION file of VM, fails with udhcpc's log.
lease() {
	wait_until 15 test -s "$LIB_STATE/$1.$2" || fail "no $2 for $1: $(cat "$(proc_log "udhcpc-$1")")"
}

@test "udhcpc gets the NIC's address, MTU, routes, DNS and domain; a renewal is acknowledged" {
	udhcpc_start a1
	lease a1 bound
	run cat "$LIB_STATE/a1.bound"
	assert_line "ip=10.0.1.10"
	assert_line "mask=24"
	assert_line "router=10.0.1.1"
	assert_line "serverid=10.0.1.1"
	assert_line "mtu=1450"
	assert_line "dns=10.0.0.53 10.0.0.54"
	assert_line "domain=corp.example"
	assert_line "lease=3600"
	assert_line "staticroutes=172.16.0.0/12 10.0.1.1 0.0.0.0/0 10.0.1.1"
	run ip -n "$T-a1" -4 -o addr show dev eth0
	assert_output --partial "inet 10.0.1.10/24"
	run ip -n "$T-a1" -j link show dev eth0
	[ "$(jq '.[0].mtu' <<<"$output")" = 1450 ] || fail "mtu: $output"
	run ip -n "$T-a1" -4 route show
	assert_line --partial "default via 10.0.1.1 dev eth0"
	assert_line --partial "172.16.0.0/12 via 10.0.1.1 dev eth0"
	# renewal: SIGUSR1 makes udhcpc unicast a REQUEST (ciaddr set) to the gateway
	kill -USR1 "$(proc_pid udhcpc-a1)"
	lease a1 renew
	run grep "^ip=" "$LIB_STATE/a1.renew"
	assert_output "ip=10.0.1.10"
	# the gateway answers the configured VM
	run in_vm a1 ping -c 1 -W 2 10.0.1.1
	assert_success
	run stats_drop hA dhcp-malformed
	assert_output 0
}

@test "ISC dhclient (dhclient-script) gets the address, MTU and classless routes across hosts; a1 reaches it" {
	local dir
	dir=$(lib_tmpdir dhclient)
	# the config asks for what the test checks; DNS is ignored so that dhclient-script leaves /etc/resolv.conf alone
	cat >"$dir/dhclient.conf" <<'EOF'
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, routers, interface-mtu, rfc3442-classless-static-routes;
ignore domain-name, domain-name-servers, domain-search;
timeout 15;
EOF
	# -1: one try, then (bound) it forks into the background: its pid file says which process to stop
	run timeout 30 ip netns exec "$T-d1" dhclient -4 -1 -v -cf "$dir/dhclient.conf" -lf "$dir/leases" \
		-pf "$dir/pid" eth0
	local pid
	if pid=$(cat "$dir/pid" 2>/dev/null) && [ -n "$pid" ]; then
		proc_register "$pid"
		kill "$pid" 2>/dev/null
	fi
	assert_success
	assert_output --partial "DHCPOFFER of 10.0.1.30 from 10.0.1.1"
	assert_output --partial "DHCPACK of 10.0.1.30 from 10.0.1.1"
	run ip -n "$T-d1" -4 -o addr show dev eth0
	assert_output --partial "inet 10.0.1.30/24"
	run ip -n "$T-d1" -j link show dev eth0
	[ "$(jq '.[0].mtu' <<<"$output")" = 1450 ] || fail "mtu: $output"
	run ip -n "$T-d1" -4 route show
	assert_line --partial "172.16.0.0/12 via 10.0.1.1 dev eth0"
	assert_line --partial "default via 10.0.1.1 dev eth0"
	run grep -c "rfc3442-classless-static-routes" "$dir/leases"
	assert_output 1
	# a1 (hA) configured by hand: d1 on hB answers it over VXLAN
	ip -n "$T-a1" -4 addr replace 10.0.1.10/24 dev eth0
	ip -n "$T-a1" link set eth0 mtu 1450
	run in_vm a1 ping -c 1 -W 2 10.0.1.30
	assert_success
}

@test "two VPCs with the same subnet: each VM gets its own NIC's lease and subnet's options; subnet set shows at the renewal" {
	udhcpc_start c1
	lease c1 bound
	run cat "$LIB_STATE/c1.bound"
	assert_line "ip=10.0.1.10"
	assert_line "router=10.0.1.1"
	refute_line --partial "dns="
	refute_line --partial "domain="
	refute_line --partial "staticroutes="
	run ip -n "$T-c1" -4 route show
	assert_line --partial "default via 10.0.1.1 dev eth0"
	# options given to VPC 200's subnet now reach c1 at its next renewal, VPC 100's stay its own
	vpcbpf_on hA subnet set 10.0.1.0/24 vpc 200 dns 10.2.0.53 domain blue.example
	kill -USR1 "$(proc_pid udhcpc-c1)"
	lease c1 renew
	run cat "$LIB_STATE/c1.renew"
	assert_line "dns=10.2.0.53"
	assert_line "domain=blue.example"
	# and on the other host, b1 (VPC 100) gets VPC 100's options from hB's datapath
	udhcpc_start b1
	lease b1 bound
	run cat "$LIB_STATE/b1.bound"
	assert_line "ip=10.0.1.20"
	assert_line "domain=corp.example"
}

@test "dhcp off: no answer (counted as the spoofed source it is); dhcp on again: a lease" {
	local before
	before=$(stats_drop hA spoofed-ip)
	run timeout 20 ip netns exec "$T-x1" busybox udhcpc -f -q -n -i eth0 -s /bin/true -t 2 -T 1 -A 1
	assert_failure
	run stats_drop hA spoofed-ip
	[ "$output" -ge $((before + 2)) ] || fail "spoofed-ip: $before -> $output"
	vpcbpf_on hA nic set 10.0.1.40 vpc 100 dhcp on
	run timeout 20 ip netns exec "$T-x1" busybox udhcpc -f -q -n -i eth0 -s /bin/true -t 3 -T 1 -A 1
	assert_success
	assert_output --partial "lease of 10.0.1.40 obtained"
	vpcbpf_on hA nic set 10.0.1.40 vpc 100 dhcp off
	run vpcbpf_on hA -j nic show vpc 100
	[ "$(jq -r '.[] | select(.ip == "10.0.1.40") | .dhcp' <<<"$output")" = false ] || fail "$output"
}

@test "malformed DHCP from a VM is dropped and counted dhcp-malformed; nothing answers it" {
	local before rx
	before=$(stats_drop hA dhcp-malformed)
	rx=$(vm_rx m1)
	# DISCOVERs from 0.0.0.0:68 to the broadcast :67, as a booting guest sends them, each broken one way:
	# a bad magic cookie, a BOOTREPLY, an option running past the end, no message type
	in_vm m1 timeout 20 /usr/bin/python3 - "$M1_MAC" <<'PY' || fail "could not send the frames"
import socket, struct, sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(op=1, cookie=b"\x63\x82\x53\x63", options=b"\x35\x01\x01\xff"):
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, 1, 6, 0, 0x1234, 0, 0x8000, bytes(4), bytes(4),
                        bytes(4), bytes(4), mac + bytes(10), bytes(64), bytes(128)) + cookie + options
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for f in (frame(cookie=b"\x01\x02\x03\x04"), frame(op=2), frame(options=b"\x35\x01\x01\x0c\x40ab"),
          frame(options=b"\x0c\x02ab\xff")):
    s.send(f)
PY
	wait_until 5 test "$(stats_drop hA dhcp-malformed)" -ge $((before + 4)) ||
		fail "dhcp-malformed: $before -> $(stats_drop hA dhcp-malformed)"
	sleep 0.5
	[ "$(vm_rx m1)" -eq "$rx" ] || fail "m1 received $(($(vm_rx m1) - rx)) frame(s): a malformed request was answered"
	# and the same VM asking properly is answered
	run timeout 20 ip netns exec "$T-m1" busybox udhcpc -f -q -n -i eth0 -s /bin/true -t 3 -T 1 -A 1
	assert_success
	assert_output --partial "lease of 10.0.1.50 obtained"
}
