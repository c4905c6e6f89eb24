#!/usr/bin/env bash
# tests/bench/json_bench.sh — two builds side by side on one pin dir: save, route show -j, apply of 10,000 and of N routes.
#
# Usage: tests/bench/json_bench.sh OLD_VPCBPF NEW_VPCBPF [N]   (N: routes of the large VPC, default 1000000)
# Issue 11 moved every JSON writer and small reader from json-c to yajl (cli/json.h): this runs the build
# before it and the build after it in turns on the same state, RUNS (3) times each, and prints the
# median wall time (and CPU time, user+sys) of each. It also checks that both print the same bytes.
# Needs root. Uses its own pin dir (no traffic, remote NICs only) and removes it.
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD=${1:?usage: $0 OLD_VPCBPF NEW_VPCBPF [N]}
NEW=${2:?usage: $0 OLD_VPCBPF NEW_VPCBPF [N]}
N=${3:-1000000}
RUNS=${RUNS:-3}
PIN=/sys/fs/bpf/bench-json-$$
WORK=$(mktemp -d /tmp/vpcbpf-bench-json.XXXXXX)
cleanup() { "$NEW" -d "$PIN" dp down >/dev/null 2>&1 || true; rm -rf "$PIN" "$WORK"; }
trap cleanup EXIT

. tests/bench/route_doc.bash # doc N VIA (the scripts run from the repository root)

# timed BIN ARGS...: "WALL CPU" in seconds of one run, output discarded
timed() {
	local bin=$1
	shift
	/usr/bin/time -o "$WORK/time" -f "%e %U %S" "$bin" -d "$PIN" "$@" >/dev/null
	awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$WORK/time"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# figure NAME CMD...: RUNS turns of old then new; one line with both medians
figure() {
	local name=$1
	shift
	: >"$WORK/old"
	: >"$WORK/new"
	for _ in $(seq 1 "$RUNS"); do
		"$@" old >>"$WORK/old"
		"$@" new >>"$WORK/new"
	done
	printf '%-34s old %7.3f s (cpu %7.3f)   new %7.3f s (cpu %7.3f)\n' "$name" \
		"$(cut -d' ' -f1 "$WORK/old" | median)" "$(cut -d' ' -f2 "$WORK/old" | median)" \
		"$(cut -d' ' -f1 "$WORK/new" | median)" "$(cut -d' ' -f2 "$WORK/new" | median)"
}
bin() { [ "$1" = old ] && echo "$OLD" || echo "$NEW"; }

"$NEW" -d "$PIN" dp up >/dev/null
doc "$N" 10.0.0.5 >"$WORK/a.json"
doc "$N" 10.0.0.6 >"$WORK/b.json"
doc 10000 10.0.0.5 >"$WORK/c.json"
doc 10000 10.0.0.6 >"$WORK/d.json"
echo "# load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, $N routes ($(du -m "$WORK/a.json" | cut -f1) MB of JSON)"
"$NEW" -d "$PIN" apply "$WORK/a.json"

# the same bytes from both (save pretty and compact, route show -j)
for args in "save" "-j save" "-j route show vpc 100"; do
	# shellcheck disable=SC2086
	"$OLD" -d "$PIN" $args >"$WORK/out.old"
	# shellcheck disable=SC2086
	"$NEW" -d "$PIN" $args >"$WORK/out.new"
	cmp -s "$WORK/out.old" "$WORK/out.new" || { echo "json_bench: '$args' differs between the builds" >&2; exit 1; }
	echo "# $args: the same $(wc -c <"$WORK/out.new") bytes from both"
done

save_pretty() { timed "$(bin "$1")" save; }
save_compact() { timed "$(bin "$1")" -j save; }
route_show() { timed "$(bin "$1")" -j route show vpc 100; }
# apply replaces every route's next hop: a.json and b.json in turns, each run does the same work
turn=0
apply_big() { turn=$((turn + 1)); timed "$(bin "$1")" apply "$WORK/$([ $((turn % 2)) = 1 ] && echo b || echo a).json"; }
apply_small() { turn=$((turn + 1)); timed "$(bin "$1")" apply "$WORK/$([ $((turn % 2)) = 1 ] && echo d || echo c).json"; }

figure "save, $N routes (pretty)" save_pretty
figure "save -j, $N routes (compact)" save_compact
figure "route show -j, $N routes" route_show
turn=0
figure "apply, $N routes (replace all)" apply_big
"$NEW" -d "$PIN" apply "$WORK/c.json"
turn=0
figure "apply, 10000 routes (replace all)" apply_small
