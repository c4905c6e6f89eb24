#!/usr/bin/env bash
# tests/bench/cost.sh — per-packet cost of each datapath program in real traffic (kernel bpf_stats), raw and net of empty programs on the same packets.
#
# Usage: cost.sh OUT.json   (env: VPCBPF, BENCH_RUNS, BENCH_SECONDS, BENCH_XDP_MODE, BENCH_PPS)
#
# The kernel measures every program itself (kernel.bpf_stats_enabled: run_time_ns / run_cnt, read
# by the cost tool with bpftool), so the figure is what the program costs inside real traffic, with
# real caches, not under BPF_PROG_TEST_RUN. The accounting has a floor (two clock reads per run, not
# cheap on a KVM guest), measured here by empty programs that see the very same packets in the same
# run: an empty tc program on the sending VM's eth0 (egress: the frames nic_ingress gets next), and
# an empty XDP + tc pair on a switch port the underlay crosses before the receiving host (the
# packets underlay_xdp and underlay_ingress get next). Net = raw - floor.
#
#   h1 (v1, v3, v4 local; v2 remote) -- ul0 | sw: a - br0 - b | ul0 -- h2 (v2 local)
#
# Paths: local (v1 -> v3, same host), encap (v1 -> v2: nic_ingress on h1), underlay (v1 -> v2:
# underlay_xdp + underlay_ingress on h2), sg (v1 -> v4, whose NIC has a 1,000-rule group: a tracked
# flow, against local to the open v3). Traffic: iperf3 UDP, 64-byte payloads, at a fixed rate
# (BENCH_PPS, default 20000/s) so that every path sees the same packets per second, and one TCP
# stream (GSO packets: one program run per super-packet) for encap and underlay.
# The hosts run `xdp native` (BENCH_XDP_MODE), so that the underlay path is XDP + tc, the shape the
# goal is set for; each run also measures the underlay with h2 switched to `xdp off` (tc alone, the
# default on a veth underlay), net of the empty tc program.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/bench/cost.json}
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-3}
PPS=${BENCH_PPS:-20000}
XDP_MODE=${BENCH_XDP_MODE:-native}
COST=${BPF_COST:-/work/shared/tools/bpf-cost}
EMPTY=$ROOT/build/bench/empty.bpf.o
. "$ROOT/tests/lib/vpcbpf.bash"
TMP=$(mktemp -d)
trap 'lib_cleanup; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
lib_init
[ -x "$COST" ] || { echo "cost: $COST missing (set BPF_COST)" >&2; exit 1; }
[ -f "$EMPTY" ] || { echo "cost: $EMPTY missing (make bench builds it)" >&2; exit 1; }
VNI=4301 GW=10.43.0.1

nsx() { local n=$1; shift; ip netns exec "$T-$n" "$@"; }
stat3() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "null"; exit} m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "{\"median\": %.1f, \"min\": %.1f, \"max\": %.1f}", m, v[1], v[NR]}'; }

world() {
	ns_create h1 && ns_create h2 && ns_create sw || return 1
	ip -n "$T-h1" link add ul0 type veth peer name swa netns "$T-sw" &&
		ip -n "$T-h2" link add ul0 type veth peer name swb netns "$T-sw" &&
		ip -n "$T-sw" link add br0 type bridge &&
		ip -n "$T-sw" link set swa master br0 && ip -n "$T-sw" link set swb master br0 &&
		for d in swa swb br0; do ip -n "$T-sw" link set $d up; done &&
		ip -n "$T-h1" addr add 192.168.43.1/24 dev ul0 && ip -n "$T-h1" link set ul0 up &&
		ip -n "$T-h2" addr add 192.168.43.2/24 dev ul0 && ip -n "$T-h2" link set ul0 up || return 1
	local h
	for h in h1 h2; do
		lib_register pin $h
		vpcbpf_on $h dp up dev ul0 ${XDP_MODE:+xdp $XDP_MODE} >"$TMP/dp-$h.txt" 2>&1 || { cat "$TMP/dp-$h.txt" >&2; return 1; }
		vpcbpf_on $h vpc add $VNI >/dev/null && vpcbpf_on $h subnet add 10.43.0.0/24 vpc $VNI gateway $GW >/dev/null || return 1
	done
	vm_create h1 v1 10.43.0.11/24 $GW 02:00:00:43:00:11 1450 && vm_create h2 v2 10.43.0.12/24 $GW 02:00:00:43:00:12 1450 &&
		vm_create h1 v3 10.43.0.13/24 $GW 02:00:00:43:00:13 1450 && vm_create h1 v4 10.43.0.14/24 $GW 02:00:00:43:00:14 1450 ||
		return 1
	{
		echo "sg add big"
		for i in $(seq 1 998); do echo "sg rule add big ingress proto tcp port $((10000 + i)) cidr 10.$((i / 250)).$((i % 250)).0/24 allow priority $i"; done
		# last, so that a new flow is classified through all 998 others: iperf3's control connection and its data
		echo "sg rule add big ingress proto tcp port 5201 allow priority 999"
		echo "sg rule add big ingress proto udp port 5201 allow priority 1000"
	} >"$TMP/sg.batch"
	vpcbpf_on h1 --batch "$TMP/sg.batch" >/dev/null || return 1
	vpcbpf_on h1 nic add 10.43.0.11 vpc $VNI mac 02:00:00:43:00:11 dev v1 >/dev/null &&
		vpcbpf_on h1 nic add 10.43.0.13 vpc $VNI mac 02:00:00:43:00:13 dev v3 >/dev/null &&
		vpcbpf_on h1 nic add 10.43.0.14 vpc $VNI mac 02:00:00:43:00:14 dev v4 sg big >/dev/null &&
		vpcbpf_on h1 nic add 10.43.0.12 vpc $VNI mac 02:00:00:43:00:12 remote 192.168.43.2 >/dev/null &&
		vpcbpf_on h2 nic add 10.43.0.12 vpc $VNI mac 02:00:00:43:00:12 dev v2 >/dev/null &&
		vpcbpf_on h2 nic add 10.43.0.11 vpc $VNI mac 02:00:00:43:00:11 remote 192.168.43.1 >/dev/null || return 1
	# the floors: the same packets, one hook earlier
	nsx v1 tc qdisc add dev eth0 clsact && nsx v1 tc filter add dev eth0 egress bpf da obj "$EMPTY" sec tc &&
		nsx sw tc qdisc add dev swa clsact && nsx sw tc filter add dev swa ingress bpf da obj "$EMPTY" sec tc || return 1
	if [ "$(vpcbpf_on h2 -j dp show | jq -r .xdp)" != off ]; then
		nsx sw ip link set dev swa xdpdrv obj "$EMPTY" sec xdp.frags || return 1
	fi
	for v in v1 v2 v3 v4; do nsx $v sysctl -qw net.ipv4.conf.all.arp_ignore=0; done
	nsx v1 ping -c 2 -i 0.2 -W 1 10.43.0.12 >/dev/null && nsx v1 ping -c 1 -W 1 10.43.0.13 >/dev/null || return 1
}

# prog_ids NS DEV: the ids of the tc (ingress/egress) and XDP programs attached to DEV in netns NS
prog_ids() {
	ip netns exec "$T-$1" bpftool -j net show dev "$2" 2>/dev/null |
		jq -r '.[] | ((.tc // [])[] | .id), ((.xdp // [])[] | .id), ((.tc // [])[] | .prog_id // empty)' | sort -u
}

# run_path LABEL SERVER_VM DST_IP [udp|tcp]: one bpf-cost run of one flow from v1; appends "id ns/run" lines
run_path() {
	local label=$1 srv=$2 dst=$3 proto=${4:-udp} args
	nsx "$srv" iperf3 -s -D -B "$dst" -p 5201 -I "$TMP/iperf3.pid" >/dev/null 2>&1
	sleep 0.3
	if [ "$proto" = udp ]; then args="-u -l 64 -b $((PPS * 64 * 8))"; else args=""; fi
	"$COST" -- ip netns exec "$T-v1" timeout $((SECS + 10)) iperf3 -c "$dst" -p 5201 $args -t "$SECS" >/dev/null 2>"$TMP/err" \
		>"$TMP/cost.out" 2>&1
	[ -s "$TMP/iperf3.pid" ] && kill "$(cat "$TMP/iperf3.pid")" 2>/dev/null
	rm -f "$TMP/iperf3.pid"
	awk '$4 == "runs" {print $1, $5}' "$TMP/cost.out" >"$TMP/$label.raw"
}

# ns_of LABEL ID...: ns/run of the first of the ids that ran in LABEL's run
ns_of() {
	local label=$1 id
	shift
	for id in "$@"; do
		awk -v id="$id" '$1 == id {print $2; found = 1; exit} END {exit !found}' "$TMP/$label.raw" && return 0
	done
	return 1
}

world || { echo "cost: cannot build the world" >&2; exit 1; }
NIC1=$(prog_ids h1 v1 | head -1)
underlay_ids() {
	UL_XDP=$(ip netns exec "$T-h2" ip -j link show dev ul0 | jq -r '.[0].xdp.prog.id // .[0].xdp.attached[0].prog.id // empty')
	UL_TC=$(prog_ids h2 ul0 | grep -vx "${UL_XDP:-x}" | head -1)
}
underlay_ids
FLOOR_TC=$(prog_ids v1 eth0 | head -1)
FLOOR_SW_TC=$(prog_ids sw swa | head -1)
FLOOR_SW_XDP=$(ip netns exec "$T-sw" ip -j link show dev swa | jq -r '.[0].xdp.prog.id // empty')
echo "programs: nic_ingress(h1) $NIC1, underlay xdp(h2) ${UL_XDP:-none} tc(h2) $UL_TC; floors: tc $FLOOR_TC, switch tc $FLOOR_SW_TC xdp ${FLOOR_SW_XDP:-none}" >&2

for f in local encap underlay sg local_floor encap_floor ul_floor_tc ul_floor_xdp underlay_xdp underlay_tc encap_tcp underlay_tcp encap_tcp_floor ul_tcp_floor underlay_off ul_off_floor; do
	: >"$TMP/$f.series"
done
for run in $(seq 1 "$RUNS"); do
	run_path local v3 10.43.0.13
	ns_of local "$NIC1" >>"$TMP/local.series"; ns_of local "$FLOOR_TC" >>"$TMP/local_floor.series"
	run_path remote v2 10.43.0.12
	ns_of remote "$NIC1" >>"$TMP/encap.series"; ns_of remote "$FLOOR_TC" >>"$TMP/encap_floor.series"
	ns_of remote "$UL_TC" >>"$TMP/underlay_tc.series"; ns_of remote "$FLOOR_SW_TC" >>"$TMP/ul_floor_tc.series"
	[ -n "$UL_XDP" ] && ns_of remote "$UL_XDP" >>"$TMP/underlay_xdp.series"
	[ -n "$FLOOR_SW_XDP" ] && ns_of remote "$FLOOR_SW_XDP" >>"$TMP/ul_floor_xdp.series"
	run_path sg v4 10.43.0.14
	ns_of sg "$NIC1" >>"$TMP/sg.series"
	run_path tcp v2 10.43.0.12 tcp
	ns_of tcp "$NIC1" >>"$TMP/encap_tcp.series"; ns_of tcp "$FLOOR_TC" >>"$TMP/encap_tcp_floor.series"
	{ a=$(ns_of tcp "$UL_TC") && b=$( [ -n "$UL_XDP" ] && ns_of tcp "$UL_XDP" || echo 0) && echo "$a + $b" | bc; } >>"$TMP/underlay_tcp.series"
	{ a=$(ns_of tcp "$FLOOR_SW_TC") && b=$( [ -n "$FLOOR_SW_XDP" ] && ns_of tcp "$FLOOR_SW_XDP" || echo 0) && echo "$a + $b" | bc; } >>"$TMP/ul_tcp_floor.series"
	# the underlay with tc alone (xdp off on h2), net of the empty tc program on the switch
	if [ -n "$UL_XDP" ] && vpcbpf_on h2 dp up xdp off >/dev/null 2>&1; then
		underlay_ids
		run_path remote_off v2 10.43.0.12
		ns_of remote_off "$UL_TC" >>"$TMP/underlay_off.series"; ns_of remote_off "$FLOOR_SW_TC" >>"$TMP/ul_off_floor.series"
		vpcbpf_on h2 dp up xdp "$XDP_MODE" >/dev/null 2>&1 || { echo "cost: cannot switch h2 back to xdp $XDP_MODE" >&2; exit 1; }
		underlay_ids
	fi
done
# underlay path = XDP + tc, floor = empty XDP + empty tc
paste "$TMP/underlay_tc.series" <([ -s "$TMP/underlay_xdp.series" ] && cat "$TMP/underlay_xdp.series" || yes 0 | head -n "$RUNS") |
	awk 'NF == 2 {print $1 + $2}' >"$TMP/underlay.series"
paste "$TMP/ul_floor_tc.series" <([ -s "$TMP/ul_floor_xdp.series" ] && cat "$TMP/ul_floor_xdp.series" || yes 0 | head -n "$RUNS") |
	awk 'NF == 2 {print $1 + $2}' >"$TMP/ul_floor.series"

med() { stat3 <"$TMP/$1.series" | jq '.median // null'; }
net() { jq -n --argjson a "$(med "$1")" --argjson b "$(med "$2")" 'if $a == null or $b == null then null else ($a - $b) * 10 | round / 10 end'; }
mode=$(vpcbpf_on h2 -j dp show | jq -r .xdp)
jq -n --argjson runs "$RUNS" --argjson secs "$SECS" --argjson pps "$PPS" --arg mode "$mode" \
	--argjson local "$(stat3 <"$TMP/local.series")" --argjson local_floor "$(stat3 <"$TMP/local_floor.series")" \
	--argjson encap "$(stat3 <"$TMP/encap.series")" --argjson encap_floor "$(stat3 <"$TMP/encap_floor.series")" \
	--argjson underlay "$(stat3 <"$TMP/underlay.series")" --argjson underlay_floor "$(stat3 <"$TMP/ul_floor.series")" \
	--argjson underlay_xdp "$(stat3 <"$TMP/underlay_xdp.series")" --argjson underlay_tc "$(stat3 <"$TMP/underlay_tc.series")" \
	--argjson sg "$(stat3 <"$TMP/sg.series")" \
	--argjson underlay_off "$(stat3 <"$TMP/underlay_off.series")" --argjson underlay_off_floor "$(stat3 <"$TMP/ul_off_floor.series")" \
	--argjson underlay_off_net "$(net underlay_off ul_off_floor)" \
	--argjson encap_tcp "$(stat3 <"$TMP/encap_tcp.series")" --argjson encap_tcp_floor "$(stat3 <"$TMP/encap_tcp_floor.series")" \
	--argjson underlay_tcp "$(stat3 <"$TMP/underlay_tcp.series")" --argjson underlay_tcp_floor "$(stat3 <"$TMP/ul_tcp_floor.series")" \
	--argjson local_net "$(net local local_floor)" --argjson encap_net "$(net encap encap_floor)" \
	--argjson underlay_net "$(net underlay ul_floor)" --argjson sg_net "$(net sg local_floor)" \
	--argjson encap_tcp_net "$(net encap_tcp encap_tcp_floor)" --argjson underlay_tcp_net "$(net underlay_tcp ul_tcp_floor)" \
	'{runs: $runs, seconds: $secs, udp64_pps: $pps, xdp_mode: $mode,
	  ns_per_packet: {local: $local, encap: $encap, underlay: $underlay, underlay_xdp: $underlay_xdp, underlay_tc: $underlay_tc,
	                  sg_tracked_1000_rules: $sg, encap_tcp_gso: $encap_tcp, underlay_tcp_gso: $underlay_tcp,
	                  underlay_tc_only: $underlay_off},
	  floor: {tc: $local_floor, tc_encap_run: $encap_floor, underlay_xdp_plus_tc: $underlay_floor, tc_tcp: $encap_tcp_floor,
	          underlay_tcp: $underlay_tcp_floor, underlay_tc_only: $underlay_off_floor},
	  net_ns: {local: $local_net, encap: $encap_net, underlay: $underlay_net, sg_tracked_1000_rules: $sg_net,
	           encap_tcp_gso: $encap_tcp_net, underlay_tcp_gso: $underlay_tcp_net, underlay_tc_only: $underlay_off_net},
	  sg_over_open: (if $sg_net == null or $local_net == null or $local_net <= 0 then null else ($sg_net / $local_net * 100 | round / 100) end)}' >"$OUT"
cat "$OUT"
