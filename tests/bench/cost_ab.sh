#!/usr/bin/env bash
# tests/bench/cost_ab.sh — before/after in one run: tests/bench/cost.sh with two vpcbpf builds, taking turns, and the medians side by side.
#
# Usage: cost_ab.sh BEFORE_VPCBPF AFTER_VPCBPF [ROUNDS] [OUT.json]   (default 3 rounds; env as cost.sh)
# Each round runs cost.sh once (BENCH_RUNS=1) with each build, in alternating order, so that the two
# builds see the same load. A path's figure per build is the median over the rounds of raw, floor
# and net; "after/before" compares the net medians.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 2 ] || { sed -n 's/^# Usage: //p' "$0" >&2; exit 2; }
A=$(realpath "$1") B=$(realpath "$2") ROUNDS=${3:-3} OUT=${4:-$ROOT/build/bench/cost_ab.json}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for r in $(seq 1 "$ROUNDS"); do
	order="before after"
	[ $((r % 2)) = 0 ] && order="after before"
	for which in $order; do
		bin=$A; [ $which = after ] && bin=$B
		BENCH_RUNS=1 VPCBPF=$bin "$ROOT/tests/bench/cost.sh" "$TMP/$which.$r.json" >/dev/null 2>"$TMP/err" ||
			{ cat "$TMP/err" >&2; echo "cost_ab: cost.sh failed ($which, round $r)" >&2; exit 1; }
	done
done
jq -s '
	def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def r1: if . == null then null else . * 10 | round / 10 end;
	def side(runs; path; floor): {raw: ([runs[].ns_per_packet[path].median // empty] | med | r1),
		floor: ([runs[].floor[floor].median // empty] | med | r1), net: ([runs[].net_ns[path] // empty] | med | r1),
		net_min: ([runs[].net_ns[path] // empty] | min | r1), net_max: ([runs[].net_ns[path] // empty] | max | r1)};
	(map(select(.which == "before")) | map(.d)) as $a | (map(select(.which == "after")) | map(.d)) as $b |
	{rounds: ($a | length), paths: [["local", "tc"], ["encap", "tc_encap_run"], ["underlay", "underlay_xdp_plus_tc"],
		["underlay_tc_only", "underlay_tc_only"], ["sg_tracked_1000_rules", "tc"], ["encap_tcp_gso", "tc_tcp"],
		["underlay_tcp_gso", "underlay_tcp"]] | map(. as [$p, $f] | {path: $p, before: side($a; $p; $f), after: side($b; $p; $f)}
		| .after_over_before = (if .before.net == null or .after.net == null or .before.net <= 0 then null
			else .after.net / .before.net * 100 | round / 100 end))}' \
	< <(for f in "$TMP"/*.json; do w=$(basename "$f" | cut -d. -f1); jq --arg w "$w" '{which: $w, d: .}' "$f"; done) >"$OUT"
printf '%-24s %26s %26s %8s\n' "path (ns/packet)" "before raw/floor/net" "after raw/floor/net" "net a/b"
jq -r '.paths[] | "\(.path)\t\(.before.raw)/\(.before.floor)/\(.before.net) (\(.before.net_min)-\(.before.net_max))\t\(.after.raw)/\(.after.floor)/\(.after.net) (\(.after.net_min)-\(.after.net_max))\t\(.after_over_before)"' "$OUT" |
	awk -F'\t' '{printf "%-24s %26s %26s %8s\n", $1, $2, $3, $4}'
