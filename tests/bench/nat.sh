#!/usr/bin/env bash
# tests/bench/nat.sh — the internet path: TCP throughput VM -> internet through vpcbpf SNAT beside the kernel's nftables masquerade (one run, same topology), and the per-packet cost of the SNAT and EIP paths in real traffic.
#
# Usage: nat.sh OUT.json   (env: VPCBPF, BENCH_RUNS (default 3), BENCH_SECONDS (default 5), BENCH_PPS (default 20000))
#
# Two identical worlds, one per contender:
#   vpcbpf: VM v (10.0.0.2) -- host hV (vpcbpf, external ext0 198.51.100.1) -- srv (198.51.100.2)
#           and VM e (10.0.0.3) with EIP 198.51.100.100 on the same host
#   kernel: VM k (10.0.0.2) -- host hK (ip_forward, nft masquerade on ext0 198.51.100.1) -- srvK (198.51.100.2)
# and, as the bounds of what any forwarder on this topology can reach (no NAT, no lookup):
#   redirect: VM vr -- host hM (tc u32 + mirred: every IPv4 frame of vr goes out of ext0 and back, MACs
#             chosen so that none needs rewriting) -- srvM: the cheapest tc forwarder there is
#   direct:   VM vd (198.51.100.3) -- srvD, one veth and no host at all: the ceiling
# Every link is a veth; MTU 1500 everywhere. Throughput: one iperf3 TCP stream from the VM, the
# contenders alternating, BENCH_RUNS runs each; the figure is the median (min, max).
# Cost: the kernel's run_time_ns/run_cnt (the cost tool) during iperf3 UDP at BENCH_PPS 64-byte
# datagrams for 3 s: SNAT out (nic_ingress, to which the kernel accounts its tail call nic_internet),
# un-SNAT (a -R stream: external_ingress with its tail call external_deliver), EIP in (srv -> EIP).
# The floor of the accounting is an empty tc program on the receiving eth0's ingress (srv, the VM,
# the EIP's VM), which sees the same packets in the same run (net = raw - floor).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/bench/nat.json}
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-5}
PPS=${BENCH_PPS:-20000}
COST=${BPF_COST:-/work/shared/tools/bpf-cost}
EMPTY=$ROOT/build/bench/empty.bpf.o
. "$ROOT/tests/lib/vpcbpf.bash"
TMP=$(mktemp -d)
trap 'lib_cleanup; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
lib_init
for t in nft iperf3 jq bpftool; do
	command -v $t >/dev/null || { echo "nat bench: $t missing (make deps)" >&2; exit 1; }
done
[ -x "$COST" ] || { echo "nat bench: $COST missing (set BPF_COST)" >&2; exit 1; }
[ -f "$EMPTY" ] || { echo "nat bench: $EMPTY missing (make bench builds it)" >&2; exit 1; }

nsx() { local n=$1; shift; ip netns exec "$T-$n" "$@"; }
stat3() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "null"; exit} m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "{\"median\": %.2f, \"min\": %.2f, \"max\": %.2f}", m, v[1], v[NR]}'; }

# ext HOST SRV: host's ext0 198.51.100.1/24 <-> SRV's eth0 198.51.100.2/24, an iperf3 server there
ext() {
	local h=$1 s=$2
	ns_create "$s" || return 1
	ip -n "$T-$h" link add ext0 type veth peer name eth0 netns "$T-$s" &&
		ip -n "$T-$h" addr add 198.51.100.1/24 dev ext0 && ip -n "$T-$h" link set ext0 up &&
		ip -n "$T-$s" addr add 198.51.100.2/24 dev eth0 && ip -n "$T-$s" link set eth0 up &&
		ip -n "$T-$s" route add default via 198.51.100.1 || return 1
	nsx "$s" iperf3 -s -D -p 5201 >/dev/null 2>&1
}

world() {
	# vpcbpf
	ns_create hV && ext hV srv || return 1
	nsx hV sysctl -qw net.ipv4.conf.ext0.forwarding=1
	host_create hV external ext0 || return 1
	vpcbpf_on hV vpc add 100 && vpcbpf_on hV subnet add 10.0.0.0/24 vpc 100 &&
		vpcbpf_on hV route add 0.0.0.0/0 vpc 100 internet || return 1
	vm_create hV v 10.0.0.2/24 10.0.0.1 02:00:00:00:00:02 && vm_create hV e 10.0.0.3/24 10.0.0.1 02:00:00:00:00:03 || return 1
	vpcbpf_on hV nic add 10.0.0.2 vpc 100 mac 02:00:00:00:00:02 dev v 2>/dev/null &&
		vpcbpf_on hV nic add 10.0.0.3 vpc 100 mac 02:00:00:00:00:03 dev e 2>/dev/null &&
		vpcbpf_on hV eip add 198.51.100.100 nic 10.0.0.3 vpc 100 || return 1
	nsx e iperf3 -s -D -p 5201 >/dev/null 2>&1
	# the kernel: a routed veth and masquerade
	ns_create hK && ext hK srvK || return 1
	vm_create hK k 10.0.0.2/24 10.0.0.1 02:00:00:00:00:02 || return 1
	ip -n "$T-hK" addr add 10.0.0.1/24 dev k
	nsx hK sysctl -qw net.ipv4.ip_forward=1
	nsx hK nft -f - <<-'EOF' || return 1
		table ip nat {
			chain post { type nat hook postrouting priority 100; oifname "ext0" masquerade; }
		}
	EOF
	# the bounds: an ideal tc forwarder (match all, redirect; the VM's gateway MAC is the server's MAC
	# and the other way round, so no frame needs rewriting; ARP stays with the host's kernel) and no
	# forwarder at all
	ns_create hM && ext hM srvM || return 1
	vm_create hM vr 10.0.0.2/24 10.0.0.1 02:00:00:00:00:02 || return 1
	ip -n "$T-hM" addr add 10.0.0.1/24 dev vr
	local gw_mac ext_mac
	gw_mac=$(ip -n "$T-hM" -j link show vr | jq -r '.[0].address')
	ext_mac=$(ip -n "$T-hM" -j link show ext0 | jq -r '.[0].address')
	ip -n "$T-srvM" link set eth0 address "$gw_mac" && ip -n "$T-vr" link set eth0 address "$ext_mac" || return 1
	if nsx hM tc qdisc add dev vr clsact && nsx hM tc qdisc add dev ext0 clsact &&
		nsx hM tc filter add dev vr ingress protocol ip u32 match u32 0 0 action mirred egress redirect dev ext0 &&
		nsx hM tc filter add dev ext0 ingress protocol ip u32 match u32 0 0 action mirred egress redirect dev vr; then
		HAVE_REDIRECT=1
	else
		echo "nat bench: no tc u32/mirred in this kernel: the ideal-redirect bound is not measured" >&2
	fi
	ns_create vd && ns_create srvD || return 1
	ip -n "$T-vd" link add eth0 type veth peer name eth0 netns "$T-srvD" &&
		ip -n "$T-vd" addr add 198.51.100.3/24 dev eth0 && ip -n "$T-vd" link set eth0 up &&
		ip -n "$T-srvD" addr add 198.51.100.2/24 dev eth0 && ip -n "$T-srvD" link set eth0 up || return 1
	nsx srvD iperf3 -s -D -p 5201 >/dev/null 2>&1
	# the accounting's floor: an empty tc program on each server's eth0 ingress
	for s in srv srvK e v; do
		nsx $s tc qdisc add dev eth0 clsact && nsx $s tc filter add dev eth0 ingress bpf da obj "$EMPTY" sec tc || return 1
	done
}

HAVE_REDIRECT=0
world || { echo "nat bench: could not build the topology" >&2; exit 1; }
sleep 1
in_vm v ping -c 1 -W 2 198.51.100.2 >/dev/null || { echo "nat bench: no path through vpcbpf" >&2; exit 1; }
in_vm k ping -c 1 -W 2 198.51.100.2 >/dev/null || { echo "nat bench: no path through masquerade" >&2; exit 1; }
if [ "$HAVE_REDIRECT" = 1 ] && ! in_vm vr ping -c 1 -W 2 198.51.100.2 >/dev/null; then
	echo "nat bench: no path through the ideal redirect: that bound is not measured" >&2
	HAVE_REDIRECT=0
fi

tcp() { # VM -> Gbit/s
	in_vm "$1" timeout $((SECS + 15)) iperf3 -c 198.51.100.2 -p 5201 -t "$SECS" -J 2>/dev/null |
		jq -r '.end.sum_received.bits_per_second / 1e9' 2>/dev/null
}
# the kernel's BPF accounting (another engineer's cost tool may turn it on) costs every BPF program
# two clock reads per run: recorded, since it weighs on vpcbpf's and the redirect's figures only
stats_on=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
: >"$TMP/v"
: >"$TMP/k"
: >"$TMP/m"
: >"$TMP/d"
for i in $(seq "$RUNS"); do
	tcp v >>"$TMP/v"
	tcp k >>"$TMP/k"
	[ "$HAVE_REDIRECT" = 1 ] && tcp vr >>"$TMP/m"
	tcp vd >>"$TMP/d"
done
stats_on=$((stats_on | $(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)))
vt=$(stat3 <"$TMP/v")
kt=$(stat3 <"$TMP/k")
mt=$(stat3 <"$TMP/m")
dt=$(stat3 <"$TMP/d")

# cost NAME NSCLIENT DST [ARGS]: ns per run of the datapath programs and of the floor during UDP at PPS
cost() {
	local name=$1 ns=$2 dst=$3
	shift 3
	local bits=$((PPS * 64 * 8))
	"$COST" -n 'nic_ingress|nic_internet|external_ingress|external_deliver|empty_tc' -- \
		ip netns exec "$T-$ns" timeout 20 iperf3 -c "$dst" -p 5201 -u -l 64 -b "$bits" -t 3 "$@" \
		--logfile "$TMP/$name.iperf" >"$TMP/$name.cost" 2>/dev/null </dev/null
	awk '$4 == "runs" {print $2, $5, $3}' "$TMP/$name.cost" >"$TMP/$name.ns"
	cp "$TMP/$name.cost" "$(dirname "$OUT")/nat-$name.cost" 2>/dev/null
}
cost snat_out v 198.51.100.2
cost snat_in v 198.51.100.2 -R
cost eip_in srv 198.51.100.100
# the program (and the floor) that saw the traffic: the most runs of that name
prog() { awk -v p="$2" '$1 == p {print $3, $2}' "$TMP/$1.ns" | sort -g | tail -1 | cut -d' ' -f2; }
floor() { prog "$1" empty_tc; }

jq -n --argjson runs "$RUNS" --argjson secs "$SECS" --argjson pps "$PPS" --argjson stats_on "$stats_on" \
	--argjson vt "$vt" --argjson kt "$kt" --argjson mt "$mt" --argjson dt "$dt" \
	--arg so_i "$(prog snat_out nic_ingress)" --arg so_n "$(prog snat_out nic_internet)" --arg so_f "$(floor snat_out)" \
	--arg si_e "$(prog snat_in external_ingress)" --arg si_d "$(prog snat_in external_deliver)" --arg si_f "$(floor snat_in)" \
	--arg ei_e "$(prog eip_in external_ingress)" --arg ei_d "$(prog eip_in external_deliver)" --arg ei_f "$(floor eip_in)" '
	def n: if . == "" then null else tonumber end;
	{runs: $runs, seconds: $secs, pps: $pps, bpf_stats_on_during_tcp: ($stats_on == 1),
	 tcp_gbps: {vpcbpf_snat: $vt, nft_masquerade: $kt, ratio: ($vt.median / $kt.median * 100 | round / 100),
	   ideal_redirect: $mt, no_forwarder: $dt,
	   ideal_redirect_ratio: (if $mt == null then null else ($mt.median / $kt.median * 100 | round / 100) end),
	   no_forwarder_ratio: ($dt.median / $kt.median * 100 | round / 100)},
	 cost_ns: {
	   snat_out: {nic_ingress: ($so_i|n), nic_internet: ($so_n|n), floor: ($so_f|n)},
	   snat_in: {external_ingress: ($si_e|n), external_deliver: ($si_d|n), floor: ($si_f|n)},
	   eip_in: {external_ingress: ($ei_e|n), external_deliver: ($ei_d|n), floor: ($ei_f|n)}}}' >"$OUT"
jq -r '"TCP VM -> internet, Gbit/s (median of \(.runs) runs of \(.seconds) s; min-max): vpcbpf SNAT \(.tcp_gbps.vpcbpf_snat.median) (\(.tcp_gbps.vpcbpf_snat.min)-\(.tcp_gbps.vpcbpf_snat.max)), nftables masquerade \(.tcp_gbps.nft_masquerade.median) (\(.tcp_gbps.nft_masquerade.min)-\(.tcp_gbps.nft_masquerade.max)): \(.tcp_gbps.ratio)x (goal >= 1.3x: \(if .tcp_gbps.ratio >= 1.3 then "met" else "NOT met" end))",
	"Bounds of any forwarder on this topology, same run: ideal tc redirect (no lookup, no NAT) \(.tcp_gbps.ideal_redirect.median // "not measured") (\(.tcp_gbps.ideal_redirect_ratio // "-")x nftables), no forwarder at all (one veth) \(.tcp_gbps.no_forwarder.median) (\(.tcp_gbps.no_forwarder_ratio)x)",
	"Per-packet cost in real traffic (\(.pps) UDP packets/s, ns per run; floor = an empty tc program on the same packets):",
	"  SNAT out: nic_ingress with its tail call nic_internet \(.cost_ns.snat_out.nic_ingress) (floor \(.cost_ns.snat_out.floor))",
	"  un-SNAT:  external_ingress with its tail call external_deliver \(.cost_ns.snat_in.external_ingress) (floor \(.cost_ns.snat_in.floor))",
	"  EIP in:   external_ingress with its tail call external_deliver \(.cost_ns.eip_in.external_ingress) (floor \(.cost_ns.eip_in.floor))",
	"  (the kernel accounts a tail-called program to the program that called it)"' "$OUT"
