#!/usr/bin/env bash
# tests/bench/control.sh — control-plane benchmark: one `vpcbpf route add`, batch insert rate, kernel memory per route and per NIC.
#
# Usage: control.sh OUT.json   (env: VPCBPF, BENCH_RUNS, BENCH_BATCH_ROUTES, BENCH_NICS)
# One emulated host (a network namespace with its own pin dir) named with a
# per-run prefix; removed on exit whatever happens.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VPCBPF=${VPCBPF:-$ROOT/build/vpcbpf}
OUT=${1:-$ROOT/build/bench/control.json}
RUNS=${BENCH_RUNS:-5}
SINGLE=${BENCH_SINGLE_ADDS:-21}
BATCH=${BENCH_BATCH_ROUTES:-10000}
NICS=${BENCH_NICS:-1000}
P=cb$$
PIN=/sys/fs/bpf/$P
TMP=$(mktemp -d)

cleanup() {
	"$VPCBPF" -n "$P" -d "$PIN" dp down >/dev/null 2>&1
	ip netns del "$P" 2>/dev/null
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

v() { "$VPCBPF" -n "$P" -d "$PIN" "$@"; }
ns_now() { date +%s%N; }
# median min max of numbers on stdin, as a JSON object
stat3() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "null"; exit} m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "{\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}", m, v[1], v[NR]}'; }
memlock() { bpftool -j map show pinned "$PIN/$1" 2>/dev/null | jq '.bytes_memlock'; }

ip netns add "$P" || exit 1
ip -n "$P" link set lo up
ip -n "$P" link add ul0 type veth peer name ul0p
ip -n "$P" link add nic1 type veth peer name nic1p
ip -n "$P" addr add 192.168.250.1/24 dev ul0
for l in ul0 ul0p nic1 nic1p; do ip -n "$P" link set "$l" up; done
v dp up dev ul0 >/dev/null || { echo "control: dp up failed" >&2; exit 1; }
v vpc add 7 >/dev/null && v subnet add 10.7.0.0/16 vpc 7 >/dev/null &&
	v nic add 10.7.0.5 vpc 7 mac 02:00:00:07:00:05 dev nic1 >/dev/null 2>&1 || { echo "control: setup failed" >&2; exit 1; }

# 1. a single route add, end to end: process start, lock, map updates, exit
for i in $(seq 1 "$SINGLE"); do
	t0=$(ns_now)
	v route add "172.$((16 + i / 256)).$((i % 256)).0/24" vpc 7 via 10.7.0.5 >/dev/null || exit 1
	t1=$(ns_now)
	echo "scale=3; ($t1 - $t0) / 1000000" | bc
done >"$TMP/single"
single=$(stat3 <"$TMP/single")
echo "route add (one command, end to end): $(jq -r '"\(.median) ms (min \(.min), max \(.max))"' <<<"$single")" >&2

# 2. batch insert: the transactions helper's apply_bench.sh when present, else --batch of BATCH route adds
if [ -x "$ROOT/tests/bench/apply_bench.sh" ]; then
	apply_out=$("$ROOT/tests/bench/apply_bench.sh" 2>&1 | tail -n 20)
	echo "apply_bench.sh: $apply_out" >&2
	apply_json=$(jq -Rs . <<<"$apply_out")
else
	apply_json=null
	echo "apply_bench.sh not available (transactions helper): using --batch" >&2
fi
mem0=$(memlock routes)
for r in $(seq 1 "$RUNS"); do
	vni=$((100 + r))
	v vpc add "$vni" >/dev/null
	# distinct /24s: 100.0.0.0/24, 100.0.1.0/24 ...
	awk -v n="$BATCH" -v vni="$vni" 'BEGIN { for (i = 0; i < n; i++) printf "route add %d.%d.%d.0/24 vpc %d blackhole\n", 100 + int(i / 65536), int(i / 256) % 256, i % 256, vni }' >"$TMP/batch$r"
	t0=$(ns_now)
	v -b "$TMP/batch$r" >/dev/null 2>"$TMP/batch.err" || { echo "control: batch failed: $(head -c 300 "$TMP/batch.err")" >&2; exit 1; }
	t1=$(ns_now)
	echo "scale=1; $BATCH * 1000000000 / ($t1 - $t0)" | bc
	[ "$r" = 1 ] && mem1=$(memlock routes)
done >"$TMP/batch"
batch=$(stat3 <"$TMP/batch")
per_route=$(echo "scale=1; ($mem1 - $mem0) / $BATCH" | bc)
echo "batch insert ($BATCH routes a batch): $(jq -r '"\(.median) routes/s (min \(.min), max \(.max))"' <<<"$batch")" >&2
echo "memory per route (routes map memlock, /24 routes): $per_route B" >&2

# 3. memory per NIC: nics + nic_stats (per-CPU) + ifindex_nics, from the kernel's accounting
m0=$(( $(memlock nics) + $(memlock nic_stats) + $(memlock ifindex_nics) ))
awk -v n="$NICS" 'BEGIN { for (i = 0; i < n; i++) printf "nic add 10.7.%d.%d vpc 7 mac 02:00:00:08:%02x:%02x remote 192.168.250.2\n", 10 + int(i / 250), 1 + i % 250, int(i / 256), i % 256 }' >"$TMP/nics"
v -b "$TMP/nics" >/dev/null 2>"$TMP/nics.err" || { echo "control: nic batch failed: $(head -c 300 "$TMP/nics.err")" >&2; exit 1; }
m1=$(( $(memlock nics) + $(memlock nic_stats) + $(memlock ifindex_nics) ))
per_nic=$(echo "scale=1; ($m1 - $m0) / $NICS" | bc)
echo "memory per NIC (nics + nic_stats + ifindex_nics memlock, $(nproc) CPUs): $per_nic B" >&2
routes_empty=$mem0

cat >"$OUT" <<EOF
{"route_add_ms": $single, "single_adds": $SINGLE,
 "batch_routes": $BATCH, "batch_routes_per_s": $batch, "apply_bench": $apply_json,
 "mem_bytes_per_route": $per_route, "routes_map_empty_bytes": $routes_empty,
 "nics": $NICS, "mem_bytes_per_nic": $per_nic, "cpus": $(nproc)}
EOF
jq -e . "$OUT" >/dev/null
