#!/usr/bin/env bash
# tests/bench/bound.sh — what bounds the per-packet goals: empty programs (the floor), bound programs (only the unavoidable work) and the real vpcbpf programs, taking turns on the same traffic, in real traffic (bpf_stats).
#
# Usage: bound.sh OUT.json   (env: VPCBPF, BENCH_RUNS (rounds, default 3), BENCH_SECONDS, BENCH_PPS, BPF_COST,
#                             BENCH_VM_HEADROOM=1: v1's frames get the headroom a tap would give them)
#
# The topology and traffic are cost.sh's (tests/bench/cost_world.bash: 64-byte UDP at a fixed rate,
# one flow at a time, hosts on `xdp native` so that the underlay path is XDP + tc, empty programs on
# the same packets one hook earlier). Each round runs every path twice, in alternating order: once
# through the real programs, once through the bound programs of tests/bench/bound.bpf.c attached
# ahead of them (tc pref 1; on h2 the underlay's XDP replaced by bound_xdp), whose answer (devices,
# MACs, outer headers) this script precomputes into their map. Per run: raw ns/packet of the path's
# programs, the floor of the same run, net = raw - floor; figures are medians over the rounds (with
# min-max). encap_not_gso is a second encap bound for frames that are not GSO aggregates (all of
# this traffic), with bpf_skb_change_head instead of bpf_skb_adjust_room; underlay_xdp_decap a second
# underlay bound where XDP decapsulates (bpf_xdp_adjust_head) and tc only redirects. A bound figure
# counts only when its packets arrived: the UDP datagrams that reached the receiving VM's sockets are
# at least 95% of the program's runs, else it is printed as void. Before the rounds, each encap bound
# sends to vpcbpf's own decap and bound_decap takes vpcbpf's own encap, the frames checked by tshark.
# No BPF_PROG_TEST_RUN figure: encap and decap rewrite their frame, so each frame allows one call,
# and one call per bpftool process measured cold caches (700-1,500 ns for 3 loads and a redirect).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/bench/bound.json}
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-3}
PPS=${BENCH_PPS:-20000}
XDP_MODE=native
COST=${BPF_COST:-/work/shared/tools/bpf-cost}
EMPTY=$ROOT/build/bench/empty.bpf.o
BOUND=$ROOT/build/bench/bound.bpf.o
. "$ROOT/tests/lib/vpcbpf.bash"
TMP=$(mktemp -d)
trap 'lib_cleanup; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
lib_init
[ -x "$COST" ] || { echo "bound: $COST missing (set BPF_COST)" >&2; exit 1; }
for f in "$EMPTY" "$BOUND"; do [ -f "$f" ] || { echo "bound: $f missing (make bench builds it)" >&2; exit 1; }; done
. "$ROOT/tests/bench/cost_world.bash"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u +%FT%TZ)

world || { echo "bound: cannot build the world" >&2; exit 1; }
HEADROOM=${BENCH_VM_HEADROOM:-0}
if [ "$HEADROOM" = 1 ]; then
	# A VM's frame leaves its veth with about 2 bytes of headroom, so the encap's 50 bytes cost a new
	# head; a tap (a real VM) leaves more than 50. As a bridge port beside a vxlan device (both down: tc redirects
	# everything first), v1 asks its peer, the VM's eth0, for the vxlan device's headroom
	# (ndo_set_rx_headroom), as the kernel path's bridge does.
	nsx h1 ip link add hrbr type bridge && nsx h1 ip link add hrvx type vxlan id 9 dstport 4790 &&
		nsx h1 ip link set hrvx master hrbr && nsx h1 ip link set v1 master hrbr ||
		{ echo "bound: cannot give v1's frames headroom" >&2; exit 1; }
fi
NIC1=$(prog_ids h1 v1 | head -1)
underlay_ids
FLOOR_TC=$(prog_ids v1 eth0 | head -1)
FLOOR_SW_TC=$(prog_ids sw swa | head -1)
FLOOR_SW_XDP=$(ip netns exec "$T-sw" ip -j link show dev swa | jq -r '.[0].xdp.prog.id // empty')
[ -n "$UL_XDP" ] && [ -n "$FLOOR_SW_XDP" ] || { echo "bound: h2 is not on xdp $XDP_MODE" >&2; exit 1; }

# ---- the answers, as bytes (struct bound_answer in bound.bpf.c) ----
ifindex_of() { nsx "$1" cat "/sys/class/net/$2/ifindex"; }
hex_le32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
hex_be16() { printf '%02x %02x' $(($1 >> 8 & 255)) $(($1 & 255)); }
hex_ip() { local IFS=.; set -- $1; printf '%02x %02x %02x %02x' "$1" "$2" "$3" "$4"; }
hex_mac() { echo "$1" | tr ':' ' '; }
hex_zeros() { local i; for i in $(seq 1 "$1"); do printf '00 '; done; }
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }
# ipv4_check SRC DST TTL: the outer header's checksum with tot_len 0 (bound_encap adds the length)
ipv4_check() {
	local IFS=. s d sum
	s=($1) d=($2)
	sum=$((0x4500 + 0x4000 + ($3 << 8 | 17) + (s[0] << 8 | s[1]) + (s[2] << 8 | s[3]) + (d[0] << 8 | d[1]) + (d[2] << 8 | d[3])))
	sum=$(((sum & 0xffff) + (sum >> 16))); sum=$(((sum & 0xffff) + (sum >> 16)))
	echo $((~sum & 0xffff))
}
# vni_word VNI: the VXLAN header's VNI word as on the wire
vni_word() { local v=$(($1 << 8)); printf '%02x %02x %02x %02x' $((v >> 24 & 255)) $((v >> 16 & 255)) $((v >> 8 & 255)) $((v & 255)); }
# answer IFINDEX DADDR FLAGS FRAME_MAX VNI PORT ETH(14 bytes hex) [HDR(64 bytes hex)]: 112 bytes
answer() {
	echo "$(hex_le32 "$1") $(hex_ip "$2") $(hex_le32 "$3") $(hex_le32 "$4") $(vni_word "$5") $(hex_be16 "$6")" \
		"$(hex_zeros 10) $7 00 00 ${8:-$(hex_zeros 64)}"
}
PEER=1
MAC_V1=02:00:00:43:00:11 MAC_V2=02:00:00:43:00:12 MAC_V3=02:00:00:43:00:13
VXLAN_PORT=$(vpcbpf_on h1 -j dp show | jq -r '.vxlan_port // 4789')
UL_MTU=$(nsx h1 cat /sys/class/net/ul0/mtu)
SPORT=49153
# local: v1 -> v3, same subnet: the MACs, into v3 (peer)
A_LOCAL=$(answer "$(ifindex_of h1 v3)" 10.43.0.13 $PEER 0 0 0 "$(hex_mac $MAC_V3) $(hex_mac $MAC_V1) 08 00")
# encap: v1 -> v2 over h1's underlay; the inner frame's MACs as nic_ingress writes them
chk=$(ipv4_check 192.168.43.1 192.168.43.2 64)
HDR="$(hex_mac "$(mac_of h2 ul0)") $(hex_mac "$(mac_of h1 ul0)") 08 00"
HDR+=" 45 00 00 00 00 00 40 00 40 11 $(hex_be16 "$chk") $(hex_ip 192.168.43.1) $(hex_ip 192.168.43.2)"
HDR+=" $(hex_be16 $SPORT) $(hex_be16 "$VXLAN_PORT") 00 00 00 00 08 00 00 00 $(vni_word $VNI)"
HDR+=" $(hex_mac $MAC_V2) $(hex_mac $MAC_V1) 08 00"
A_ENCAP=$(answer "$(ifindex_of h1 ul0)" 10.43.0.12 0 $((UL_MTU - 36)) 0 0 "$(hex_zeros 14)" "$HDR")
# decap on h2: VXLAN for 10.43.0.12 in VNI, the inner MACs, into v2 (peer)
A_DECAP=$(answer "$(ifindex_of h2 v2)" 10.43.0.12 $PEER 0 $VNI "$VXLAN_PORT" "$(hex_mac $MAC_V2) $(hex_mac $MAC_V1) 08 00")

# answer_set PROG_ID ANSWER: writes the answer into that program's own map
answer_set() {
	local map
	map=$(bpftool -j prog show id "$1" | jq -r '.map_ids[0]')
	bpftool map update id "$map" key hex 00 00 00 00 value hex $2
}
# bound_on NS DEV SEC ANSWER: the bound program SEC at DEV's tc ingress ahead of vpcbpf's (pref 1; what it
# does not take goes on to vpcbpf's), with its answer; prints its id
bound_on() {
	local ns=$1 dev=$2 sec=$3 id
	nsx "$ns" tc filter add dev "$dev" ingress pref 1 bpf da obj "$BOUND" sec "$sec" || return 1
	id=$(ip netns exec "$T-$ns" bpftool -j net show dev "$dev" | jq -r --arg s "[$sec]" '.[0].tc[] | select(.name | endswith($s)) | .id')
	answer_set "$id" "$4" || return 1
	echo "$id"
}
bound_off() { nsx "$1" tc filter del dev "$2" ingress pref 1; }
# bound_xdp_on SEC [ANSWER]: h2's underlay XDP: vpcbpf's out (dp up xdp off), the bound program SEC in; prints its id
bound_xdp_on() {
	local id
	vpcbpf_on h2 dp up xdp off >/dev/null && nsx h2 ip link set dev ul0 xdpdrv off &&
		nsx h2 ip link set dev ul0 xdpdrv obj "$BOUND" sec "$1" || return 1
	id=$(nsx h2 ip -j link show dev ul0 | jq -r '.[0].xdp.prog.id')
	[ -z "${2:-}" ] || answer_set "$id" "$2" || return 1
	echo "$id"
}
bound_xdp_off() {
	nsx h2 ip link set dev ul0 xdpdrv off
	vpcbpf_on h2 dp up xdp "$XDP_MODE" >/dev/null || { echo "bound: cannot switch h2 back to xdp $XDP_MODE" >&2; exit 1; }
	underlay_ids
}

# runs_of LABEL ID: program runs in LABEL's run
runs_of() { awk -v id="$2" '$1 == id {print $2}' "$TMP/$1.runs"; }
# sum_ns LABEL ID...: the ns/run of those programs in LABEL's run, added; fails when one did not run
sum_ns() {
	local label=$1 id v t=0
	shift
	for id in "$@"; do v=$(ns_of "$label" "$id") || return 1; t=$(echo "$t + $v" | bc); done
	echo "$t"
}
# record LABEL PATH KIND ID... : appends one run's "raw floor arrived runs" to PATH.KIND (underlay paths:
# IDs are the XDP and the tc program, the floor the switch's empty pair; the runs are tc's)
record() {
	local label=$1 path=$2 kind=$3 raw floor
	shift 3
	case $path in
	underlay*) raw=$(sum_ns "$label" "$1" "$2") && floor=$(sum_ns "$label" "$FLOOR_SW_XDP" "$FLOOR_SW_TC") &&
		echo "$(ns_of "$label" "$1") $(ns_of "$label" "$FLOOR_SW_XDP") $(ns_of "$label" "$2") $(ns_of "$label" "$FLOOR_SW_TC")" >>"$TMP/split.$path.$kind" ;;
	*) raw=$(sum_ns "$label" "$1") && floor=$(sum_ns "$label" "$FLOOR_TC") ;;
	esac || { echo "bound: $label: a program of $path ($kind) did not run; round left out" >&2; return 1; }
	echo "$raw $floor $(cat "$TMP/$label.arrived") $(runs_of "$label" "${@: -1}")" >>"$TMP/$path.$kind"
}

# cross_check: the bounds against vpcbpf's other end, so that they are not only right about each other.
# Each encap bound's frames go to vpcbpf's underlay programs (tshark on the switch checks 20 of them: VXLAN,
# no bad checksum, nothing malformed), and bound_decap gets vpcbpf's encapsulation; all must arrive.
cross_check() {
	local sec e d tp n bad label
	for sec in encap encap_head; do
		label=cross_$sec
		e=$(bound_on h1 v1 "tc/$sec" "$A_ENCAP") || return 1
		nsx sw timeout 20 tshark -q -i swa -c 20 -f "udp dst port $VXLAN_PORT" -w "$TMP/$label.pcap" 2>/dev/null &
		tp=$!
		sleep 2
		run_path "$label" v2 10.43.0.12
		wait "$tp"
		bound_off h1 v1
		n=$(tshark -r "$TMP/$label.pcap" -Y vxlan 2>/dev/null | wc -l)
		bad=$(tshark -r "$TMP/$label.pcap" -o ip.check_checksum:TRUE \
			-Y 'ip.checksum.status == "Bad" || _ws.malformed || _ws.expert.severity == "Error"' 2>/dev/null | wc -l)
		[ "$n" -ge 10 ] && [ "$bad" = 0 ] || { echo "bound: bound_$sec's frames: $n VXLAN captured, $bad bad" >&2; return 1; }
		arrived_ok "$label" "$e" || return 1
	done
	d=$(bound_on h2 ul0 tc/decap "$A_DECAP") || return 1
	run_path cross_decap v2 10.43.0.12
	bound_off h2 ul0
	arrived_ok cross_decap "$d"
}
# arrived_ok LABEL ID: at least 95% of the program's runs in LABEL's run reached the receiving VM
arrived_ok() {
	local r a
	r=$(runs_of "$1" "$2") a=$(cat "$TMP/$1.arrived")
	[ -n "$r" ] && [ "$r" -gt 0 ] && [ $((a * 100)) -ge $((r * 95)) ] ||
		{ echo "bound: $1: ${a:-?} datagrams arrived for ${r:-0} runs of program $2" >&2; return 1; }
}

real_turn() {
	run_path real_local v3 10.43.0.13 && record real_local local real "$NIC1"
	run_path real_remote v2 10.43.0.12 && record real_remote encap real "$NIC1" && record real_remote underlay real "$UL_XDP" "$UL_TC"
	run_path real_sg v4 10.43.0.14 && record real_sg sg real "$NIC1"
}
bound_turn() {
	local id x e d
	id=$(bound_on h1 v1 tc/local "$A_LOCAL") || { echo "bound: cannot attach bound_local" >&2; exit 1; }
	run_path bound_local v3 10.43.0.13 && record bound_local local bound "$id"
	bound_off h1 v1
	# v1 -> v2: the encap on h1; on h2 XDP passes and tc decapsulates (underlay_xdp + underlay_ingress's split)
	x=$(bound_xdp_on xdp.frags) && e=$(bound_on h1 v1 tc/encap "$A_ENCAP") && d=$(bound_on h2 ul0 tc/decap "$A_DECAP") ||
		{ echo "bound: cannot attach the encap/decap bounds" >&2; exit 1; }
	run_path bound_remote v2 10.43.0.12 && record bound_remote encap bound "$e" && record bound_remote underlay bound "$x" "$d"
	bound_off h1 v1
	e=$(bound_on h1 v1 tc/encap_head "$A_ENCAP") || { echo "bound: cannot attach bound_encap_head" >&2; exit 1; }
	run_path bound_head v2 10.43.0.12 && record bound_head encap_head bound "$e"
	# the other split on h2: XDP decapsulates, tc only delivers (bound_local with v2's answer)
	bound_off h2 ul0
	x=$(bound_xdp_on xdp_decap "$A_DECAP") && d=$(bound_on h2 ul0 tc/local "$A_DECAP") ||
		{ echo "bound: cannot attach the XDP decap bounds" >&2; exit 1; }
	run_path bound_xsplit v2 10.43.0.12 && record bound_xsplit underlay_xdp_decap bound "$x" "$d"
	bound_off h1 v1; bound_off h2 ul0; bound_xdp_off
}

echo "programs: nic_ingress $NIC1, underlay xdp $UL_XDP tc $UL_TC; floors: tc $FLOOR_TC, switch xdp $FLOOR_SW_XDP tc $FLOOR_SW_TC" >&2
cross_check || { echo "bound: a bound program does not forward as vpcbpf does: no figures" >&2; exit 1; }
echo "cross-check: bound_encap and bound_encap_head -> vpcbpf's decap, vpcbpf's encap -> bound_decap: delivered, frames well-formed" >&2
for r in $(seq 1 "$RUNS"); do
	if [ $((r % 2)) = 1 ]; then real_turn; bound_turn; else bound_turn; real_turn; fi
	echo "round $r/$RUNS done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)


# ---- figures: per path and kind, median (min-max) of raw, floor, net = raw - floor per run ----
stat_col() { awk -v c="$2" '{print $c}' "$1" | stat3; }
fig() {
	local f=$TMP/$1.$2
	[ -s "$f" ] || { echo null; return; }
	awk '{print $1 - $2}' "$f" >"$f.net"
	jq -n --argjson raw "$(stat_col "$f" 1)" --argjson floor "$(stat_col "$f" 2)" --argjson net "$(stat3 <"$f.net")" \
		--argjson arrived "$(awk '$4 > 0 {r = $3 / $4; if (!n++ || r < m) m = r} END {print n ? m : "null"}' "$f")" \
		--argjson totals "$(awk '{a += $3; r += $4} END {printf "{\"udp_arrived\": %d, \"program_runs\": %d}", a, r}' "$f")" \
		'{raw: $raw, floor: $floor, net: $net, packets: $totals,
		  arrived_per_run_min: ($arrived | if . == null then null else . * 1000 | round / 1000 end),
		  valid: ($arrived != null and $arrived >= 0.95)}'
}
split_fig() {
	local f=$TMP/split.$1
	[ -s "$f" ] || { echo null; return; }
	jq -n --argjson xdp "$(stat_col "$f" 1)" --argjson xdp_floor "$(stat_col "$f" 2)" \
		--argjson tc "$(stat_col "$f" 3)" --argjson tc_floor "$(stat_col "$f" 4)" \
		'{xdp: $xdp, xdp_floor: $xdp_floor, tc: $tc, tc_floor: $tc_floor}'
}
jq -n --argjson runs "$RUNS" --argjson secs "$SECS" --argjson pps "$PPS" --arg date "$date_start" --argjson headroom "$HEADROOM" \
	--arg load_start "$load_start" --arg load_end "$load_end" --arg commit "$(git -C "$ROOT" describe --always --dirty 2>/dev/null)" \
	--argjson lr "$(fig local real)" --argjson lb "$(fig local bound)" \
	--argjson er "$(fig encap real)" --argjson eb "$(fig encap bound)" --argjson ehb "$(fig encap_head bound)" \
	--argjson ur "$(fig underlay real)" --argjson ub "$(fig underlay bound)" --argjson uxb "$(fig underlay_xdp_decap bound)" \
	--argjson usr "$(split_fig underlay.real)" --argjson usb "$(split_fig underlay.bound)" \
	--argjson usxb "$(split_fig underlay_xdp_decap.bound)" --argjson sg "$(fig sg real)" \
	'{runs: $runs, seconds: $secs, udp64_pps: $pps, date: $date, vm_frames_with_headroom: ($headroom == 1), loadavg_start: $load_start, loadavg_end: $load_end, commit: $commit,
	  paths: {
	    local: {goal_net_ns: 60, real: $lr, bound: $lb},
	    encap: {goal_net_ns: 100, real: $er, bound: $eb},
	    encap_not_gso: {goal_net_ns: 100, real: $er, bound: $ehb},
	    underlay: {goal_net_ns: 80, real: ($ur + {split: $usr}), bound: ($ub + {split: $usb})},
	    underlay_xdp_decap: {goal_net_ns: 80, real: ($ur + {split: $usr}), bound: ($uxb + {split: $usxb})},
	    sg_tracked_1000_rules: {goal_over_open: 1.2, real: $sg,
	      over_open: (if $sg == null or $lr == null or $lr.net.median <= 0 then null else $sg.net.median / $lr.net.median * 100 | round / 100 end)}}}' >"$OUT"

printf '%-18s %5s %6s %9s %15s %9s %15s %9s\n' path goal floor "real raw" "real net" "bound raw" "bound net" delivered
jq -r '.paths | to_entries[] | select(.key != "sg_tracked_1000_rules") | .value as $p |
	def m(x): if x == null then "-" else "\(x.median | round)" end;
	def r(x): if x == null then "-" else "\(x.median | round) (\(x.min | round)-\(x.max | round))" end;
	[.key, "\($p.goal_net_ns)", m($p.real.floor), m($p.real.raw), r($p.real.net), m($p.bound.raw),
	 (if $p.bound == null then "-" elif $p.bound.valid then r($p.bound.net) else "void" end),
	 "\($p.bound.arrived_per_run_min // "-")"] | @tsv' "$OUT" |
	awk -F'\t' '{printf "%-18s %5s %6s %9s %15s %9s %15s %9s\n", $1, $2, $3, $4, $5, $6, $7, $8}'
jq -r '.paths.sg_tracked_1000_rules | "tracked flow, 1,000-rule group: net \(.real.net.median // "-") = \(.over_open // "-")x the open NIC (goal <= \(.goal_over_open)x)"' "$OUT"
jq -r '"load average \(.loadavg_start) -> \(.loadavg_end); \(.runs) rounds of \(.seconds) s per path at \(.udp64_pps) packets/s"' "$OUT"
