#!/usr/bin/env bash
# tests/bench/edit_bench.sh — edits as an operator makes them: one route add in a 10-route and a 1M-route VPC, --batch and apply rates; before/after in one run.
#
# Usage: edit_bench.sh OUT.json   (env: VPCBPF, VPCBPF_BEFORE, BENCH_BIG (routes, default 1000000),
#        BENCH_RUNS (default 5))
# VPCBPF_BEFORE names the binary of another build (e.g. main before a change): both binaries are measured
# in the same run, taking turns figure by figure, each on its own emulated host (netns + pin dir),
# removed on exit. Every figure is a median (min, max).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/bench/edit.json}
AFTER=${VPCBPF:-$ROOT/build/vpcbpf}
BEFORE=${VPCBPF_BEFORE:-}
BIG=${BENCH_BIG:-1000000}
RUNS=${BENCH_RUNS:-5}
P=eb$$
TMP=$(mktemp -d)
labels=(after)
[ -n "$BEFORE" ] && labels=(before after)

bin_of() { [ "$1" = before ] && echo "$BEFORE" || echo "$AFTER"; }
v() { local l=$1; shift; "$(bin_of "$l")" -n "$P-$l" -d "/sys/fs/bpf/$P-$l" "$@"; }
cleanup() {
	for l in "${labels[@]}"; do
		v "$l" dp down >/dev/null 2>&1
		ip netns del "$P-$l" 2>/dev/null
		rm -rf "/sys/fs/bpf/$P-$l"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ns_now() { date +%s%N; }
ms() { echo "scale=3; ($2 - $1) / 1000000" | bc; }
stat3() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "null"; exit} m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "{\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}", m, v[1], v[NR]}'; }
# timed LABEL CMD...: wall ms of one command on LABEL's host
timed() { local l=$1 t0 t1; shift; t0=$(ns_now); v "$l" "$@" >/dev/null || { echo "edit_bench: $l: $* failed" >&2; exit 1; }
	t1=$(ns_now); ms "$t0" "$t1"; }

# routes N VNI [FIRST_OCTET]: N distinct /24 route adds for --batch
routes() { awk -v n="$1" -v vni="$2" -v o="${3:-100}" 'BEGIN { for (i = 0; i < n; i++)
	printf "route add %d.%d.%d.0/24 vpc %d blackhole\n", o + int(i / 65536), int(i / 256) % 256, i % 256, vni }'; }
routes "$BIG" 8 >"$TMP/big.batch"
# the same prefixes with next hops alternating: no two neighbours merge, so the index has a range per route
# (a direct stage of 2^17 chunks at 1M), where the all-blackhole table above has a handful of ranges
routes "$BIG" 9 | awk 'NR % 2 { sub(/blackhole$/, "via 10.9.0.9") } { print }' >"$TMP/mixed.batch"
routes 10 7 >"$TMP/small.batch"
echo "route replace 100.0.0.0/24 vpc 8 via 10.8.0.9" >"$TMP/one.batch"

for l in "${labels[@]}"; do
	ip netns add "$P-$l" || exit 1
	ip -n "$P-$l" link set lo up
	v "$l" dp up >/dev/null || { echo "edit_bench: dp up failed ($l)" >&2; exit 1; }
	v "$l" vpc add 7 >/dev/null && v "$l" subnet add 10.7.0.0/16 vpc 7 >/dev/null && v "$l" -b "$TMP/small.batch" &&
		v "$l" vpc add 8 >/dev/null && v "$l" subnet add 10.8.0.0/16 vpc 8 >/dev/null &&
		v "$l" nic add 10.8.0.9 vpc 8 mac 02:00:00:00:08:09 remote 192.168.250.9 >/dev/null &&
		v "$l" vpc add 9 >/dev/null && v "$l" subnet add 10.9.0.0/16 vpc 9 >/dev/null &&
		v "$l" nic add 10.9.0.9 vpc 9 mac 02:00:00:00:09:09 remote 192.168.250.9 >/dev/null ||
		{ echo "edit_bench: setup failed ($l)" >&2; exit 1; }
	t=$(timed "$l" -b "$TMP/big.batch")
	echo "$l: $BIG routes loaded by --batch in $t ms" >&2
	t=$(timed "$l" -b "$TMP/mixed.batch")
	echo "$l: $BIG routes of alternating next hops loaded by --batch in $t ms" >&2
done

# figure NAME CMD...: RUNS turns, each turn every build once; CMD gets LABEL and the run number
figure() {
	local name=$1 r l
	shift
	for r in $(seq 1 "$RUNS"); do
		for l in "${labels[@]}"; do
			"$@" "$l" "$r" >>"$TMP/$name.$l" || exit 1
		done
	done
}
add_small() { timed "$1" route add "50.0.$2.0/24" vpc 7 blackhole; v "$1" route del "50.0.$2.0/24" vpc 7 >/dev/null; }
add_big() { timed "$1" route add "50.0.$2.0/24" vpc 8 blackhole; v "$1" route del "50.0.$2.0/24" vpc 8 >/dev/null; }
# a route inside the mixed table's address space: its chunk of the direct stage changes
add_mixed() { timed "$1" route add "100.$2.7.128/25" vpc 9 blackhole; v "$1" route del "100.$2.7.128/25" vpc 9 >/dev/null; }
del_mixed() { timed "$1" route del "100.$2.9.0/24" vpc 9; v "$1" route add "100.$2.9.0/24" vpc 9 blackhole >/dev/null; }
batch_one() { timed "$1" -b "$TMP/one.batch"; }
batch_rate() { routes 10000 $((100 + $2)) 20 >"$TMP/rate.batch"; v "$1" vpc add $((100 + $2)) >/dev/null
	t=$(timed "$1" -b "$TMP/rate.batch"); echo "scale=1; 10000 * 1000 / $t" | bc; v "$1" vpc del $((100 + $2)) >/dev/null; }
apply_rate() { # the host's own document with 10,000 more routes in a new VPC, applied, then the document back
	local l=$1 r=$2 t
	v "$l" -j save >"$TMP/base.$l.json"
	routes 10000 300 30 | awk -v vni=300 'BEGIN { printf "[" } { printf "%s{\"prefix\": \"%s\", \"vpc\": %d, \"blackhole\": true}",
		(NR > 1 ? "," : ""), $3, vni } END { print "]" }' >"$TMP/more.json"
	jq --slurpfile more "$TMP/more.json" '.vpcs += [{"vni": 300}] | .routes += $more[0]' "$TMP/base.$l.json" >"$TMP/doc.$l.json"
	t=$(timed "$l" apply "$TMP/doc.$l.json")
	echo "scale=1; 10000 * 1000 / $t" | bc
	v "$l" apply "$TMP/base.$l.json" >/dev/null
}
figure route_add_small add_small
figure route_add_big add_big
figure route_add_mixed add_mixed
figure route_del_mixed del_mixed
figure batch_one batch_one
figure batch_rate batch_rate
RUNS=$(( RUNS < 3 ? RUNS : 3 )) figure apply_rate apply_rate

json="{\"big_routes\": $BIG, \"runs\": $RUNS"
for l in "${labels[@]}"; do
	json+=", \"$l\": {"
	sep=""
	for f in route_add_small route_add_big route_add_mixed route_del_mixed batch_one batch_rate apply_rate; do
		json+="$sep\"$f\": $(stat3 <"$TMP/$f.$l")"
		sep=", "
	done
	json+="}"
done
json+="}"
echo "$json" | jq . >"$OUT" || exit 1
for l in "${labels[@]}"; do
	jq -r --arg l "$l" '.big_routes as $n | .[$l] | "\($l): route add in a 10-route VPC \(.route_add_small.median) ms, in a \($n)-route VPC \(.route_add_big.median) ms, in the \($n)-route VPC of alternating next hops \(.route_add_mixed.median) ms (del \(.route_del_mixed.median) ms); --batch of one replace there \(.batch_one.median) ms; --batch of 10,000 adds \(.batch_rate.median) routes/s; apply of 10,000 more \(.apply_rate.median) routes/s"' "$OUT" >&2
done
