#!/usr/bin/env bash
# tests/bench/apply_bench.sh — how fast route tables load and swap: apply rate for 10k/100k/1M routes, swap time, one route add.
#
# Usage: tests/bench/apply_bench.sh [SIZES...]   (default: 10000 100000 1000000)
# Needs root and a built build/vpcbpf. Uses its own pin dir (no traffic, remote NICs only) and removes it.
# Prints one line per size, then the single-command numbers. Wall times depend on the machine's load:
# the CPU time (user+sys) of each command is printed next to it.
set -euo pipefail
cd "$(dirname "$0")/../.."
VPCBPF=${VPCBPF:-$PWD/build/vpcbpf}
PIN=/sys/fs/bpf/bench-txn-$$
WORK=$(mktemp -d /tmp/vpcbpf-bench-txn.XXXXXX)
cleanup() { "$VPCBPF" -d "$PIN" dp down >/dev/null 2>&1 || true; rm -rf "$PIN" "$WORK"; }
trap cleanup EXIT
v() { "$VPCBPF" -d "$PIN" "$@"; }

. tests/bench/route_doc.bash # doc N VIA (the scripts run from the repository root)

# timed CMD...: runs CMD, prints "WALL CPU" in seconds
timed() {
	/usr/bin/time -o "$WORK/time" -f "%e %U %S" "$@" >/dev/null
	awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$WORK/time"
}

v dp up >/dev/null
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
printf '%-9s %-22s %-22s %-20s %-12s %-10s %s\n' routes "first load s (cpu)" "replace all s (cpu)" "routes/s wall (cpu)" "swap us" "RCU ms" "route add in it ms"
for n in "${sizes[@]}"; do
	doc "$n" 10.0.0.5 >"$WORK/a.json"
	doc "$n" 10.0.0.6 >"$WORK/b.json"
	echo '{}' | v apply -
	read -r load_wall load_cpu < <(timed "$VPCBPF" -d "$PIN" apply "$WORK/a.json")
	read -r rep_wall rep_cpu < <(timed "$VPCBPF" -d "$PIN" apply "$WORK/b.json")
	# the phases of one more replace: the swap itself is the vpc record update
	v -v apply "$WORK/a.json" 2>"$WORK/phases" >/dev/null
	swap_ms=$(sed -n 's/.*the swap) \([0-9.]*\) ms.*/\1/p' "$WORK/phases")
	rcu_ms=$(sed -n 's/.*RCU wait \([0-9.]*\) ms.*/\1/p' "$WORK/phases")
	# one journaled route add into a table of this size, end to end (process start to exit), mean of 20
	start=$(date +%s%N)
	for i in $(seq 1 20); do v route add "200.$i.0.0/16" vpc 100 blackhole; done
	add_ms=$(( ($(date +%s%N) - start) / 20 / 1000 ))
	for i in $(seq 1 20); do v route del "200.$i.0.0/16" vpc 100; done
	printf '%-9s %-22s %-22s %-20s %-12s %-10s %s\n' "$n" "$load_wall ($load_cpu)" "$rep_wall ($rep_cpu)" \
		"$(awk -v n="$n" -v t="$rep_wall" -v c="$rep_cpu" 'BEGIN { printf "%d (%d)", n / t, n / c }')" \
		"$(awk -v m="$swap_ms" 'BEGIN { printf "%.1f", m * 1000 }')" "$rcu_ms" \
		"$(awk -v u="$add_ms" 'BEGIN { printf "%.2f", u / 1000 }')"
	echo "#   phases of a replace: $(sed -n 's/^vpcbpf: txn: //p' "$WORK/phases")"
	echo "#   and around it: $(sed -n 's/^vpcbpf: apply: //p' "$WORK/phases")"
done
# a batch of one route replace in the largest table: the whole table is copied aside and swapped
printf 'route replace 11.0.1.0/24 vpc 100 via 10.0.0.6\n' >"$WORK/one.batch"
read -r b_wall b_cpu < <(timed "$VPCBPF" -d "$PIN" -b "$WORK/one.batch")
echo "--batch with one route replace in the ${sizes[-1]}-route table: $b_wall s (cpu $b_cpu s)"
v -v save 2>&1 >/dev/null | sed 's/^vpcbpf: /# /'
