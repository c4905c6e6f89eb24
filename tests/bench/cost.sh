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
. "$ROOT/tests/bench/cost_world.bash"

world || { echo "cost: cannot build the world" >&2; exit 1; }
NIC1=$(prog_ids h1 v1 | head -1)
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
