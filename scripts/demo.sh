#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: the many-to-many VPC scenario (vCPEs between three VPCs) on network namespaces; `demo.sh down` removes leftovers.
#
# Two emulated hypervisors (network namespaces hv1, hv2, each with its own
# vpcbpf instance and pin dir) joined by an underlay veth; three VPCs; VMs and
# two vCPE appliances as namespaces plugged into the hypervisors by veth pairs.
# The operator's steps are printed as the vpcbpf commands they are, then the
# scenario is verified: VM 03 (VPC 03) pings VM 02 (VPC 02) through the vCPEs,
# and everything the routes do not allow stays refused and counted. The two
# vCPEs run BIRD 2 and speak BGP over their link: vCPE 01 announces Vxnet 03
# (a static route marked for export) in step 4, and only then does traffic flow.
#
# Environment:
#   HOSTS=2|1       emulated hypervisors (default 2: VM 03 -> VM 02 crosses the VXLAN overlay; 1: all local)
#   DEMO_KEEP=1     leave everything up at the end to explore (then: make demo-down)
#   DEMO_PREFIX=P   names of namespaces (P-hv1, P-vm03 ...) and pin dirs (/sys/fs/bpf/P-hv1); default vpcbpf-demo
#   VPCBPF=PATH     the tool (default: build/vpcbpf next to this script)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VPCBPF=${VPCBPF:-$ROOT/build/vpcbpf}
PREFIX=${DEMO_PREFIX:-vpcbpf-demo}
PIN_BASE=/sys/fs/bpf/$PREFIX
HOSTS=${HOSTS:-2}
KEEP=${DEMO_KEEP:-0}

# ---------------------------------------------------------------- output ----
if [ -t 1 ]; then
	B=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GREEN=$'\e[32m' YELLOW=$'\e[33m' BLUE=$'\e[34m' CYAN=$'\e[36m' N=$'\e[0m'
else
	B='' DIM='' RED='' GREEN='' YELLOW='' BLUE='' CYAN='' N=''
fi

heading() { printf '\n%s==== %s ====%s\n' "$B$BLUE" "$*" "$N"; }
say() { printf '%s\n' "$*"; }
explain() { printf '%s# %s%s\n' "$DIM" "$*" "$N"; }
show_cmd() { printf '  %s$ %s%s\n' "$CYAN" "$*" "$N"; }
indent() { sed -e '/^[[:space:]]*$/d' -e 's/^/    /'; }
die() { printf '%sdemo: %s%s\n' "$RED" "$*" "$N" >&2; exit 1; }

CHECKS_OK=0
CHECKS_FAILED=0
check_ok() { CHECKS_OK=$((CHECKS_OK + 1)); printf '  %s✔ %s%s\n' "$GREEN" "$*" "$N"; }
check_fail() { CHECKS_FAILED=$((CHECKS_FAILED + 1)); printf '  %s✘ %s%s\n' "$RED" "$*" "$N"; }

# ------------------------------------------------------------- the world ----
# Host placement: with two hosts, VM 03 and VM 02 live on different
# hypervisors, so VM 03 -> VM 02 crosses the overlay (VM 03 on hv1 -> vCPE 01
# on hv2) and so does the reply; the appliances share hv2 with VM 02, as on
# an edge host. With HOSTS=1 everything is on hv1.
if [ "$HOSTS" = 1 ]; then
	HOST_LIST="hv1"
	declare -A WHERE=([vm01]=hv1 [vm02]=hv1 [vm03]=hv1 [vcpe01]=hv1 [vcpe02]=hv1)
else
	HOSTS=2
	HOST_LIST="hv1 hv2"
	declare -A WHERE=([vm01]=hv1 [vm02]=hv2 [vm03]=hv1 [vcpe01]=hv2 [vcpe02]=hv2)
fi
declare -A UNDERLAY=([hv1]=192.168.100.1 [hv2]=192.168.100.2)

VPC01=101 VPC02=102 VPC03=103

# The NICs: key -> "guest-namespace guest-ifname host-dev vpc ip/len mac source-check"
declare -A NIC=(
	[vm01]="vm01 eth0 vm01 $VPC01 10.1.0.3/24 02:de:01:00:00:03 on"
	[vm02]="vm02 eth0 vm02 $VPC02 172.17.0.3/24 02:de:02:00:00:03 on"
	[vm03]="vm03 eth0 vm03 $VPC03 192.168.129.3/24 02:de:03:00:00:03 on"
	[vcpe01a]="vcpe01 eth0 vcpe01a $VPC01 10.1.0.2/24 02:de:01:00:00:02 off"
	[vcpe01b]="vcpe01 eth1 vcpe01b $VPC03 192.168.129.5/24 02:de:03:00:00:05 off"
	[vcpe02a]="vcpe02 eth0 vcpe02a $VPC02 172.17.0.2/24 02:de:02:00:00:02 off"
)
# The vCPEs' direct link (the scenario's tunnel between them).
LINK01=169.254.12.1 LINK02=169.254.12.2

# BIRD's configs, sockets and pid files (one per vCPE); `down` stops what it finds there, by pid.
BIRD_DIR=${TMPDIR:-/tmp}/$PREFIX-bird

ns() { printf '%s-%s' "$PREFIX" "$1"; }
inns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
vpcbpf_on() { local h=$1; shift; "$VPCBPF" -n "$(ns "$h")" -d "$PIN_BASE-$h" "$@"; }
nic_field() { local f; read -r -a f <<<"${NIC[$1]}"; printf '%s' "${f[$2]}"; }
nic_ip() { local a; a=$(nic_field "$1" 4); printf '%s' "${a%/*}"; }
nic_vpc() { nic_field "$1" 3; }
nic_host() { local g; g=$(nic_field "$1" 0); printf '%s' "${WHERE[$g]}"; }

# Prints a vpcbpf command once for the hosts it runs on, runs it on each, shows its output.
vp() {
	local hosts=$1 h out rc=0
	shift
	show_cmd "[${hosts// /,}] vpcbpf $*"
	for h in $hosts; do
		out=$(vpcbpf_on "$h" "$@" 2>&1) || rc=$?
		[ -n "$out" ] && printf '%s\n' "$out" | indent
		[ "$rc" -eq 0 ] || die "vpcbpf $* failed on $h"
	done
}

# Reads vpcbpf output quietly (for checks and tables).
vq() { vpcbpf_on "$@" 2>/dev/null; }

# ----------------------------------------------------------------- down ----
demo_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${PREFIX}-(hv[0-9]+|vm[0-9]+|vcpe[0-9]+)$" || true; }

down() {
	local h n d pid found=0
	for pid in "$BIRD_DIR"/*.pid; do
		[ -f "$pid" ] || continue
		bird_stop "$(basename "$pid" .pid)" && found=1
	done
	rm -rf "$BIRD_DIR"
	for h in hv1 hv2; do
		if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$(ns "$h")" && [ -d "$PIN_BASE-$h" ]; then
			vpcbpf_on "$h" dp down >/dev/null 2>&1 || true
		fi
	done
	for n in $(demo_namespaces); do
		ip netns del "$n" 2>/dev/null && found=1
	done
	for d in "$PIN_BASE"-hv*; do
		[ -e "$d" ] || continue
		rm -rf "$d" 2>/dev/null && found=1
	done
	return $((1 - found))
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$CAPTURE_PID" ]; then kill "$CAPTURE_PID" 2>/dev/null; wait "$CAPTURE_PID" 2>/dev/null; fi
	[ -n "$CAPTURE_DIR" ] && rm -rf "$CAPTURE_DIR"
	if [ "$KEEP" = 1 ]; then
		heading "Left running (DEMO_KEEP=1)"
		say "Explore, for example:"
		show_cmd "ip netns exec $(ns vm03) ping -c 3 172.17.0.3"
		show_cmd "$VPCBPF -n $(ns hv1) -d $PIN_BASE-hv1 stats"
		say "Remove it all with: make demo-down   (or scripts/demo.sh down)"
	else
		down >/dev/null 2>&1 || true
		if [ -n "$(demo_namespaces)" ] || compgen -G "$PIN_BASE-hv*" >/dev/null; then
			printf '%sdemo: cleanup left something behind; run: make demo-down%s\n' "$RED" "$N" >&2
		else
			printf '\n%sCleaned up: namespaces %s-* and pin dirs %s-* removed (DEMO_KEEP=1 keeps them).%s\n' \
				"$DIM" "$PREFIX" "$PIN_BASE" "$N"
		fi
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- setup ----
need() { command -v "$1" >/dev/null 2>&1 || die "needs $1 (make deps installs it)"; }

preflight() {
	[ "$(id -u)" = 0 ] || die "run as root: it creates network namespaces and loads eBPF programs"
	[ -x "$VPCBPF" ] || die "$VPCBPF not found: run make first (make demo builds it)"
	need ip; need jq; need ping; need dot; need bird; need birdc
	if [ -n "$(demo_namespaces)" ] || compgen -G "$PIN_BASE-hv*" >/dev/null; then
		say "${YELLOW}A previous demo run left namespaces or pin dirs behind; removing them first.${N}"
		down || true
	fi
}

mk_ns() {
	local n; n=$(ns "$1")
	ip netns add "$n" || die "cannot create namespace $n"
	ip -n "$n" link set lo up
	# IPv6 off: its router solicitations would only show up as drops (the demo VPCs are IPv4).
	inns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# Plugs NIC key $1 into its guest: a veth pair whose host end (the NIC's dev) stays in the hypervisor.
plug_nic() {
	local key=$1 f g host
	read -r -a f <<<"${NIC[$key]}"
	g=${f[0]}
	host=${WHERE[$g]}
	ip -n "$(ns "$host")" link add "${f[2]}" type veth peer name "${f[1]}" netns "$(ns "$g")" ||
		die "cannot create the interface of $key"
	ip -n "$(ns "$g")" link set "${f[1]}" address "${f[5]}" mtu "$NIC_MTU" up
	ip -n "$(ns "$g")" addr add "${f[4]}" dev "${f[1]}"
	ip -n "$(ns "$host")" link set "${f[2]}" mtu "$NIC_MTU" up
}

# Binds NIC key $1 on every host: the local one gets `dev`, the others `remote UNDERLAY_IP`.
add_nic() {
	local key=$1 f host h where
	read -r -a f <<<"${NIC[$key]}"
	host=${WHERE[${f[0]}]}
	for h in $HOST_LIST; do
		if [ "$h" = "$host" ]; then where="dev ${f[2]}"; else where="remote ${UNDERLAY[$host]}"; fi
		vp "$h" nic add "${f[4]%/*}" vpc "${f[3]}" mac "${f[5]}" $where source-check "${f[6]}"
	done
}

build_world() {
	local h g
	heading "Building the emulated cloud"
	explain "Namespaces stand in for machines: $HOSTS hypervisor$([ "$HOSTS" = 1 ] || echo s), 3 VMs and 2 vCPE appliances."
	for h in $HOST_LIST; do mk_ns "$h"; done
	for g in vm01 vm02 vm03 vcpe01 vcpe02; do mk_ns "$g"; done
	if [ "$HOSTS" = 2 ]; then
		ip -n "$(ns hv1)" link add ul0 type veth peer name ul0 netns "$(ns hv2)"
		for h in hv1 hv2; do
			ip -n "$(ns "$h")" addr add "${UNDERLAY[$h]}/24" dev ul0
			ip -n "$(ns "$h")" link set ul0 up
		done
		NIC_MTU=1450 # the underlay's 1500 minus the 50 bytes of VXLAN
		say "  hypervisors hv1 ${UNDERLAY[hv1]} and hv2 ${UNDERLAY[hv2]}, joined by an underlay veth (ul0)"
	else
		NIC_MTU=1500
		say "  one hypervisor hv1 (HOSTS=1: no overlay, every NIC is local)"
	fi
	for g in vm01 vm02 vm03; do plug_nic "$g"; done
	plug_nic vcpe01a
	plug_nic vcpe02a
	# Every VM and appliance routes through its subnet's gateway, which the datapath answers.
	inns vm01 ip route add default via 10.1.0.1
	inns vm02 ip route add default via 172.17.0.1
	inns vm03 ip route add default via 192.168.129.1
	# The appliances forward; rp_filter off because a vCPE sees asymmetric paths by design.
	for g in vcpe01 vcpe02; do
		inns "$g" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	done
	say "  VM 01 on ${WHERE[vm01]}, VM 02 on ${WHERE[vm02]}, VM 03 on ${WHERE[vm03]}, vCPE 01 on ${WHERE[vcpe01]}, vCPE 02 on ${WHERE[vcpe02]}"
}

# "VM 03 -> (VXLAN hv1 -> hv2) -> vCPE 01 -> ...": the hops of VM 03 -> VM 02 and where they cross hosts.
path_text() {
	local hop prev="" out="" name
	for hop in vm03 vcpe01 vcpe02 vm02; do
		name=$(sed -e 's/^vm/VM /' -e 's/^vcpe/vCPE /' <<<"$hop")
		if [ -z "$prev" ]; then
			out=$name
		elif [ "${WHERE[$prev]}" != "${WHERE[$hop]}" ]; then
			out="$out -> (VXLAN ${WHERE[$prev]} -> ${WHERE[$hop]}) -> $name"
		else
			out="$out -> $name"
		fi
		prev=$hop
	done
	printf '%s' "$out"
}

topology() {
	heading "The scenario"
	cat <<EOF
  Three tenants' VPCs, isolated from each other. Goal: VM 03 (VPC 03) talks to
  VM 02 (VPC 02) through two vCPE appliances, and nothing else opens up.

EOF
	local f='     %-26s%-29s%s\n'
	printf "$f" "VPC 01 (VNI $VPC01)" "VPC 03 (VNI $VPC03)" "VPC 02 (VNI $VPC02)"
	printf "$f" "Vxnet 01 10.1.0.0/24" "Vxnet 03 192.168.129.0/24" "Vxnet 02 172.17.0.0/24"
	printf "$f" "VM 01 10.1.0.3 @${WHERE[vm01]}" "VM 03 192.168.129.3 @${WHERE[vm03]}" "VM 02 172.17.0.3 @${WHERE[vm02]}"
	printf '\n'
	printf "$f" "vCPE 01's NIC" "vCPE 01's 2nd NIC (step 2)" "vCPE 02's NIC"
	printf "$f" "10.1.0.2" "192.168.129.5" "172.17.0.2"
	printf "$f" "   |" "   |" "   |"
	printf '        +---[ vCPE 01 @%s ]------+                     [ vCPE 02 @%s ]\n' "${WHERE[vcpe01]}" "${WHERE[vcpe02]}"
	printf '              %s ====== direct link ====== %s\n' "$LINK01" "$LINK02"
	printf '%s\n' "              (the scenario's tunnel; BIRD 2 on each vCPE speaks BGP over it)"
	if [ "$HOSTS" = 2 ]; then
		cat <<EOF

     hv1 ${UNDERLAY[hv1]} <======== underlay veth ul0, VXLAN ========> hv2 ${UNDERLAY[hv2]}
     VM 03 -> VM 02 runs: $(path_text)
EOF
	fi
	cat <<EOF

  Each hypervisor runs its own vpcbpf instance. Below, "[hv1] vpcbpf ARGS" means
    $VPCBPF -n $(ns hv1) -d $PIN_BASE-hv1 ARGS
  and "[hv1,hv2]" the same command on both (the cloud's control plane pushes
  every VPC, subnet, NIC and route to every host; a NIC is "dev" where it lives
  and "remote UNDERLAY_IP" everywhere else).
EOF
}

# ----------------------------------------------------------- traffic ----
# ping_from GUEST DST: prints ping's output indented; returns ping's status.
ping_from() {
	local g=$1 dst=$2 out rc
	show_cmd "ip netns exec $(ns "$g") ping -c 3 -i 0.2 -W 1 $dst"
	out=$(inns "$g" timeout 10 ping -n -c 3 -i 0.2 -W 1 "$dst" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E 'bytes from|packet loss|unreachable|Unreachable' | indent
	return $rc
}

expect_ping() { # guest dst label
	if ping_from "$1" "$2"; then check_ok "$3 answers"; else check_fail "$3 should answer but does not"; fi
}

expect_no_ping() { # guest dst label why
	if ping_from "$1" "$2"; then check_fail "$3 answers but should not ($4)"; else check_ok "$3: no answer, as expected ($4)"; fi
}

drop_count() { # host reason -> packets
	vq "$1" -j stats | jq -r --arg r "$2" '.drops[$r] // 0'
}

nic_counter() { # nic-key field (tx_packets, rx_packets)
	local key=$1
	vq "$(nic_host "$key")" -j stats nic "$(nic_ip "$key")" vpc "$(nic_vpc "$key")" | jq -r --arg f "$2" '.[0][$f] // 0'
}

# The underlay seen by tshark on hv1 while VM 03 pings: proof that the packets
# crossed hosts as standard VXLAN (and that Wireshark decodes it).
CAPTURE_PID=""
CAPTURE_DIR=""
capture_start() {
	[ "$HOSTS" = 2 ] && [ "${WHERE[vm03]}" != "${WHERE[vcpe01]}" ] && command -v tshark >/dev/null 2>&1 || return 0
	CAPTURE_DIR=$(mktemp -d)
	inns hv1 timeout 60 tshark -l -n -i ul0 -c 6 -f "udp port 4789" -T fields \
		-e vxlan.vni -e ip.src -e ip.dst -e icmp.type -E separator=' ' \
		>"$CAPTURE_DIR/out" 2>"$CAPTURE_DIR/err" &
	CAPTURE_PID=$!
	for _ in $(seq 300); do # tshark takes a second or two to start capturing, much longer on a loaded machine
		grep -q "Capturing on" "$CAPTURE_DIR/err" 2>/dev/null && return 0
		sleep 0.1
	done
}

capture_show() {
	[ -n "$CAPTURE_PID" ] || return 0
	local vni src dst type n=0 t
	for t in $(seq 30); do kill -0 "$CAPTURE_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$CAPTURE_PID" 2>/dev/null
	wait "$CAPTURE_PID" 2>/dev/null
	CAPTURE_PID=""
	say ""
	say "  Meanwhile on hv1's underlay (tshark -i ul0 -f 'udp port 4789' decodes the VXLAN):"
	while read -r vni src dst type; do
		[ -n "$vni" ] || continue
		case "$type" in 8) type="echo request" ;; 0) type="echo reply" ;; *) type="icmp type $type" ;; esac
		printf '    %-15s -> %-15s VXLAN VNI %-4s | inner %s -> %s ICMP %s\n' \
			"${src%%,*}" "${dst%%,*}" "$vni" "${src#*,}" "${dst#*,}" "$type"
		[ "$vni" = "$VPC03" ] && [ "${dst#*,}" = 172.17.0.3 ] && n=$((n + 1))
	done <"$CAPTURE_DIR/out"
	rm -rf "$CAPTURE_DIR"
	CAPTURE_DIR=""
	if [ "$n" -gt 0 ]; then
		check_ok "the requests crossed from hv1 to hv2 as VXLAN, VNI $VPC03 (VPC 03, the destination NIC's VPC)"
	else
		check_fail "tshark saw no VXLAN request on hv1's underlay"
	fi
}

# ---------------------------------------------------------------- steps ----
step0_dataplane() {
	local h
	heading "Step 0 - start the datapath on each hypervisor and create the VPCs"
	for h in $HOST_LIST; do
		if [ "$HOSTS" = 2 ]; then
			explain "$h: load the eBPF datapath, underlay ul0 (VXLAN to the other host)"
			vp "$h" dp up dev ul0
		else
			explain "$h: load the eBPF datapath (local NICs only)"
			vp "$h" dp up
		fi
	done
	explain "Three VPCs, each its own VNI: overlapping tenants never see each other"
	vp "$HOST_LIST" vpc add $VPC01 name vpc-01
	vp "$HOST_LIST" vpc add $VPC02 name vpc-02
	vp "$HOST_LIST" vpc add $VPC03 name vpc-03
	explain "One vxnet (subnet) in each; the gateway (.1) is answered by the datapath itself"
	vp "$HOST_LIST" subnet add 10.1.0.0/24 vpc $VPC01 name vxnet-01
	vp "$HOST_LIST" subnet add 172.17.0.0/24 vpc $VPC02 name vxnet-02
	vp "$HOST_LIST" subnet add 192.168.129.0/24 vpc $VPC03 name vxnet-03
	explain "The VMs' NICs, and the vCPEs' first NICs with source check off (appliances forward others' packets)"
	add_nic vm01
	add_nic vm02
	add_nic vm03
	add_nic vcpe01a
	add_nic vcpe02a

	heading "Before anything: VPCs are isolated"
	explain "VM 01 tries VM 02's address directly. In VPC 01, 172.17.0.3 is nobody: no NIC, no route."
	local before after
	before=$(drop_count "${WHERE[vm01]}" no-route)
	expect_no_ping vm01 172.17.0.3 "VM 01 -> 172.17.0.3 (a direct cross-VPC attempt)" "VPC 01 has no route to it"
	after=$(drop_count "${WHERE[vm01]}" no-route)
	show_cmd "[${WHERE[vm01]}] vpcbpf route get 172.17.0.3 vpc $VPC01"
	vq "${WHERE[vm01]}" route get 172.17.0.3 vpc $VPC01 | indent
	show_cmd "[${WHERE[vm01]}] vpcbpf stats"
	vq "${WHERE[vm01]}" stats | head -n 1 | indent
	if [ "$after" -gt "$before" ]; then
		check_ok "the datapath dropped and counted them: no-route $before -> $after"
	else
		check_fail "no no-route drop was counted on ${WHERE[vm01]} ($before -> $after)"
	fi
}

# ------------------------------------------------------------------ BGP ----
# Each vCPE runs BIRD 2 in its namespace: AS 6500N, BGP to the other vCPE over
# the link, its own vxnet announced (protocol direct on eth0), what it learns
# installed in its kernel. `marked` is the static protocol whose routes are
# exported too: empty until step 4.
bird_conf() { # guest [static routes]: prints its bird.conf
	local g=$1 me peer as peer_as statics=${2:-}
	if [ "$g" = vcpe01 ]; then me=$LINK01 peer=$LINK02 as=65001 peer_as=65002; else me=$LINK02 peer=$LINK01 as=65002 peer_as=65001; fi
	cat <<EOF
router id $me;
protocol device { scan time 10; }
protocol direct vxnet { ipv4; interface "eth0"; }
protocol static marked {  # routes marked advertise: BGP exports them
	ipv4;
$statics}
protocol kernel {
	ipv4 { import none; export where source = RTS_BGP; };
}
protocol bgp peer {
	local $me as $as;
	neighbor $peer as $peer_as;
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 5;
	hold time 6;
	keepalive time 2;
	ipv4 { import all; export where proto = "vxnet" || proto = "marked"; };
}
EOF
}

bird_start() { # guest
	local g=$1
	mkdir -p "$BIRD_DIR"
	bird_conf "$g" >"$BIRD_DIR/$g.conf"
	inns "$g" bird -c "$BIRD_DIR/$g.conf" -s "$BIRD_DIR/$g.ctl" -P "$BIRD_DIR/$g.pid" ||
		die "BIRD did not start in $g"
}

bird_stop() { # guest: by the pid BIRD wrote
	local pid
	pid=$(cat "$BIRD_DIR/$1.pid" 2>/dev/null) || return 1
	kill "$pid" 2>/dev/null || return 1
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	return 0
}

birdc_on() { local g=$1; shift; birdc -s "$BIRD_DIR/$g.ctl" "$@"; }

# wait_route GUEST PREFIX: until BIRD installed PREFIX in GUEST's kernel (30 s at most).
wait_route() {
	for _ in $(seq 150); do
		inns "$1" ip route show "$2" proto bird 2>/dev/null | grep -q . && return 0
		sleep 0.2
	done
	return 1
}

step1_connect() {
	heading "Step 1 - connect VPC 01 and VPC 02 one-to-one through the two vCPEs"
	explain "The vCPEs get a direct link (in the guide: a tunnel) and speak BGP over it with BIRD 2"
	ip -n "$(ns vcpe01)" link add tun0 type veth peer name tun0 netns "$(ns vcpe02)"
	inns vcpe01 ip addr add $LINK01/30 dev tun0
	inns vcpe02 ip addr add $LINK02/30 dev tun0
	inns vcpe01 ip link set tun0 up
	inns vcpe02 ip link set tun0 up
	explain "Each vCPE announces its own vxnet (protocol direct on eth0) and installs what it learns"
	show_cmd "ip netns exec $(ns vcpe01) bird -c vcpe01.conf    # AS 65001, neighbor $LINK02 as 65002"
	bird_start vcpe01
	show_cmd "ip netns exec $(ns vcpe02) bird -c vcpe02.conf    # AS 65002, neighbor $LINK01 as 65001"
	bird_start vcpe02
	if wait_route vcpe01 172.17.0.0/24 && wait_route vcpe02 10.1.0.0/24; then
		check_ok "BGP is up: each vCPE learned the other's vxnet"
	else
		check_fail "BGP did not bring the vxnets across: $(birdc_on vcpe01 show protocols peer | tail -n 1)"
	fi
	show_cmd "ip netns exec $(ns vcpe02) birdc show route"
	birdc_on vcpe02 show route | tail -n +2 | indent
	explain "Each VPC sends the other's vxnet to its own vCPE"
	vp "$HOST_LIST" route add 172.17.0.0/24 vpc $VPC01 via 10.1.0.2
	vp "$HOST_LIST" route add 10.1.0.0/24 vpc $VPC02 via 172.17.0.2
	expect_ping vm01 172.17.0.3 "VM 01 -> VM 02 (VPC 01 -> vCPE 01 -> vCPE 02 -> VPC 02)"
}

step2_nic() {
	heading "Step 2 - create a NIC in Vxnet 03 (192.168.129.5) and attach it to vCPE 01"
	explain "The hypervisor plugs a new interface into vCPE 01 (eth1 inside, vcpe01b on ${WHERE[vcpe01]})"
	plug_nic vcpe01b
	explain "The NIC belongs to VPC 03 although vCPE 01 lives in VPC 01; source check off so it forwards"
	add_nic vcpe01b
	vp "$(nic_host vcpe01b)" nic show vpc $VPC03
}

step3_routes() {
	heading "Step 3 - push static routes into the VPCs"
	explain "VPC 02: Vxnet 03 is reached through vCPE 02"
	vp "$HOST_LIST" route add 192.168.129.0/24 vpc $VPC02 via 172.17.0.2
	explain "VPC 03: Vxnet 02 is reached through vCPE 01's new NIC"
	vp "$HOST_LIST" route add 172.17.0.0/24 vpc $VPC03 via 192.168.129.5

	heading "Try it before the announcement"
	explain "The request gets to VM 02, but vCPE 02 has never heard of 192.168.129.0/24: the reply dies there."
	local vm02_rx vcpe02_rx
	vm02_rx=$(nic_counter vm02 rx_packets)
	vcpe02_rx=$(nic_counter vcpe02a rx_packets)
	expect_no_ping vm03 172.17.0.3 "VM 03 -> VM 02 before the announcement" "vCPE 02 has no route back to Vxnet 03"
	vm02_rx=$(($(nic_counter vm02 rx_packets) - vm02_rx))
	vcpe02_rx=$(($(nic_counter vcpe02a rx_packets) - vcpe02_rx))
	say "  VM 02's NIC received +$vm02_rx packets (the requests, and vCPE 02's ICMP errors), and VPC 02 handed"
	say "  VM 02's replies to vCPE 02 (172.17.0.2 rx +$vcpe02_rx), which has nowhere to send them:"
	show_cmd "ip -n $(ns vcpe02) route get 192.168.129.3"
	inns vcpe02 ip route get 192.168.129.3 2>&1 | indent
}

step4_announce() {
	local r table=$((100000000 + VPC01))
	heading "Step 4 - announce Vxnet 03 from vCPE 01 (a static route marked advertise)"
	explain "vCPE 01's BIRD gets a static route for Vxnet 03 in its static protocol 'marked', which BGP exports"
	show_cmd "ip netns exec $(ns vcpe01) birdc configure    # protocol static marked { route 192.168.129.0/24 via \"eth1\"; }"
	bird_conf vcpe01 $'\troute 192.168.129.0/24 via "eth1";\n' >"$BIRD_DIR/vcpe01.conf"
	birdc_on vcpe01 configure | tail -n +2 | indent
	if wait_route vcpe02 192.168.129.0/24; then
		check_ok "vCPE 02's BIRD learned 192.168.129.0/24 from vCPE 01 over BGP and installed it"
	else
		check_fail "vCPE 02 never learned 192.168.129.0/24"
	fi
	show_cmd "ip netns exec $(ns vcpe01) birdc show route"
	birdc_on vcpe01 show route | tail -n +2 | indent
	show_cmd "ip netns exec $(ns vcpe02) birdc show route"
	birdc_on vcpe02 show route | tail -n +2 | indent
	show_cmd "ip -n $(ns vcpe02) route show 192.168.129.0/24"
	inns vcpe02 ip route show 192.168.129.0/24 | indent

	explain "The VPC side of it: in VPC 01, vCPE 01 is the way to Vxnet 03, marked advertise"
	vp "$HOST_LIST" route add 192.168.129.0/24 vpc $VPC01 via 10.1.0.2 advertise
	explain "vpcbpf keeps its advertised routes in a kernel table per VPC (proto 250) for the host's BIRD or FRR"
	show_cmd "ip -n $(ns hv1) route show table $table proto 250"
	r=$(ip -n "$(ns hv1)" route show table "$table" proto 250 2>&1)
	printf '%s\n' "$r" | indent
	if [[ "$r" == *"192.168.129.0/24"* ]]; then
		check_ok "hv1's kernel table $table (VPC 01) holds the advertised route"
	else
		check_fail "the advertised route is not in hv1's table $table"
	fi
}

verify() {
	local key
	heading "Step 5 - verify: from VM 03, ping 172.17.0.3 (VM 02)"
	declare -A tx0 rx0
	for key in vm03 vcpe01b vcpe02a vm02; do
		tx0[$key]=$(nic_counter "$key" tx_packets)
		rx0[$key]=$(nic_counter "$key" rx_packets)
	done
	capture_start
	if ping_from vm03 172.17.0.3; then
		check_ok "VM 03 (VPC 03) -> VM 02 (VPC 02) answers: Vxnet 03 and Vxnet 02 talk"
		KEY_OK=1
	else
		check_fail "VM 03 -> VM 02 does not answer"
		KEY_OK=0
	fi
	capture_show

	say ""
	say "  The path, from each NIC's counters on the host it lives on (packets during that ping):"
	printf '  %-34s %-15s %-5s %6s %6s\n' "NIC" "address" "host" "tx" "rx"
	local -A label=([vm03]="VM 03 eth0 (VPC 03)" [vcpe01b]="vCPE 01 eth1 (VPC 03)"
		[vcpe02a]="vCPE 02 eth0 (VPC 02)" [vm02]="VM 02 eth0 (VPC 02)")
	local path_ok=1 dtx drx
	for key in vm03 vcpe01b vcpe02a vm02; do
		dtx=$(($(nic_counter "$key" tx_packets) - tx0[$key]))
		drx=$(($(nic_counter "$key" rx_packets) - rx0[$key]))
		printf '  %-34s %-15s %-5s %6s %6s\n' "${label[$key]}" "$(nic_ip "$key")" "$(nic_host "$key")" "+$dtx" "+$drx"
		[ "$dtx" -gt 0 ] && [ "$drx" -gt 0 ] || path_ok=0
	done
	explain "VM 03 sends to the gateway; VPC 03's route hands it to vCPE 01 (rx), vCPE 01 forwards it over the"
	explain "tunnel, vCPE 02 sends it into VPC 02 (tx) and VM 02 receives it (rx); the replies take the way back."
	if [ "$path_ok" = 1 ]; then
		check_ok "every NIC on the path through the vCPEs counted traffic both ways"
	else
		check_fail "some NIC on the path counted nothing"
	fi

	heading "How the datapath decides"
	show_cmd "[${WHERE[vm03]}] vpcbpf route get 172.17.0.3 vpc $VPC03"
	vq "${WHERE[vm03]}" route get 172.17.0.3 vpc $VPC03 | indent
	show_cmd "[${WHERE[vm02]}] vpcbpf route get 192.168.129.3 vpc $VPC02"
	vq "${WHERE[vm02]}" route get 192.168.129.3 vpc $VPC02 | indent
	local v
	for v in $VPC01 $VPC02 $VPC03; do
		show_cmd "[hv1] vpcbpf route show vpc $v"
		vq hv1 route show vpc $v | indent
	done

	heading "Isolation: VM 03 reaches only what the routes allow"
	local before after
	before=$(drop_count "${WHERE[vm03]}" no-route)
	expect_no_ping vm03 10.1.0.3 "VM 03 -> VM 01 (10.1.0.3)" "VPC 03 has no route to Vxnet 01"
	expect_no_ping vm03 10.1.0.2 "VM 03 -> vCPE 01's VPC 01 address" "VPC 03 has no route to Vxnet 01"
	after=$(drop_count "${WHERE[vm03]}" no-route)
	show_cmd "[${WHERE[vm03]}] vpcbpf route get 10.1.0.3 vpc $VPC03"
	vq "${WHERE[vm03]}" route get 10.1.0.3 vpc $VPC03 | indent
	if [ "$after" -gt "$before" ]; then
		check_ok "dropped in the datapath at VM 03's port and counted: no-route $before -> $after"
	else
		check_fail "no no-route drop counted for VM 03 ($before -> $after)"
	fi
	expect_ping vm02 192.168.129.3 "VM 02 -> VM 03 (the reverse route, VPC 02 via vCPE 02)"

	heading "Counters"
	explain "tx: sent by the NIC's VM into the datapath; rx: delivered to it. A host counts what it handles,"
	explain "so a NIC that lives elsewhere shows here the packets this host sent it over VXLAN."
	local h
	for h in $HOST_LIST; do
		show_cmd "[$h] vpcbpf stats"
		vq "$h" stats | indent
	done
}

# The network as a picture: each hypervisor's view (its NICs and the remote ones it knows), drawn by Graphviz.
picture() {
	local h out="$ROOT/build/demo" n
	heading "The picture: vpcbpf topology"
	mkdir -p "$out"
	for ((n = 1; n <= HOSTS; n++)); do
		h=hv$n
		if ! vpcbpf_on "$h" topology >"$out/topology-$h.dot"; then
			check_fail "vpcbpf topology on $h"
			continue
		fi
		if dot -Tsvg "$out/topology-$h.dot" -o "$out/topology-$h.svg" 2>"$out/dot-$h.err" && ! [ -s "$out/dot-$h.err" ]; then
			check_ok "$h's view drawn: build/demo/topology-$h.svg (from build/demo/topology-$h.dot)"
		else
			check_fail "dot could not draw $h's view: $(head -n 3 "$out/dot-$h.err")"
		fi
	done
	# The host of vCPE 01 sees the appliance join VPC 01 and VPC 03, and the routes through both vCPEs.
	h=${WHERE[vcpe01]}
	cp "$out/topology-$h.svg" "$out/topology.svg" 2>/dev/null &&
		say "  the picture of the scenario: ${B}build/demo/topology.svg${N} (the view of $h, where vCPE 01 lives)"
	rm -f "$out"/dot-hv*.err
}

summary() {
	heading "Summary"
	if [ "$CHECKS_FAILED" -eq 0 ] && [ "${KEY_OK:-0}" = 1 ]; then
		say "${GREEN}${B}All $CHECKS_OK checks passed${N}: VM 03 in VPC 03 reaches VM 02 in VPC 02 through vCPE 01 and"
		say "vCPE 02, after the announcement and not before, and nothing else crosses between the VPCs."
		return 0
	fi
	say "${RED}${B}$CHECKS_FAILED check(s) failed${N} ($CHECKS_OK passed)."
	return 1
}

main() {
	preflight
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	topology
	build_world
	step0_dataplane
	step1_connect
	step2_nic
	step3_routes
	step4_announce
	verify
	picture
	summary
}

case "${1:-}" in
down)
	[ "$(id -u)" = 0 ] || die "run as root"
	if down; then echo "demo: removed the leftovers of $PREFIX"; else echo "demo: nothing to remove"; fi
	;;
"" | up) main ;;
-h | --help | help)
	sed -n '2,/^set /p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	;;
*) die "unknown argument \"$1\" (expected: down, or nothing)" ;;
esac
