#!/usr/bin/env bash
# tests/bench/e2e.sh — VM to VM across two emulated hosts: vpcbpf against the kernel's vxlan + bridge, same namespaces, same run.
#
# Usage: e2e.sh OUT.json   (env: VPCBPF, BENCH_RUNS, BENCH_SECONDS, BENCH_XDP_MODES, BENCH_PIN_CPU,
#                          BENCH_CPU_RATE)
# Two hosts (namespaces h1, h2 joined by an underlay veth), one VM on each
# (namespaces joined to their host by a veth whose host end is the NIC's
# dev). The kernel's path and vpcbpf in each XDP mode (BENCH_XDP_MODES, default
# "default native generic off": `default` is `dp up` without `xdp`, i.e. what
# `xdp auto` picks) are built in turn on the same namespaces, taking turns run
# by run, and measured with iperf3 (TCP throughput, 64-byte UDP packet rate),
# sockperf (UDP ping-pong latency, both ends on one CPU) and the CPU time a GB
# costs at a fixed offered rate (below). Nothing else is tuned: veth offloads
# and GRO stay at their defaults on every path.
#
# CPU per GB: one TCP stream offered at BENCH_CPU_RATE (default 1 Gbit/s, which
# every path sustains here, so all move the same bytes in the same time); the
# busy time of all CPUs (user+nice+system+irq+softirq from /proc/stat) during
# the run, divided by the GB received. The machine is shared, so the busy time
# of an equal quiet window just before (the same namespaces, no traffic) is
# measured too: "net" subtracts it, "raw" does not.
# Namespaces come from tests/lib (per-run prefix); all of it goes on exit.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/bench/e2e.json}
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-3}
. "$ROOT/tests/lib/vpcbpf.bash"
TMP=$(mktemp -d)
trap 'lib_cleanup; rm -rf "$TMP"; [ -z "${CG:-}" ] || rmdir "$CG" 2>/dev/null' EXIT
trap 'exit 1' INT TERM
lib_init
IP1=10.9.0.11 IP2=10.9.0.12 GW=10.9.0.1
MAC1=02:00:00:09:00:11 MAC2=02:00:00:09:00:12
VNI=4201
# veth underlays: XDP off. Native XDP on veth costs TCP throughput, and generic XDP copies every
# received packet that is non-linear (GSO) or short of 256 bytes of headroom (all of them here):
# measured alternating on one world, off gave +15% TCP and +14% 64-byte UDP over generic
# (docs/overlay.md). The kernel's path runs no XDP either; tc does every check alone.
MODES=${BENCH_XDP_MODES:-${BENCH_XDP_MODE:-default native generic off}}
CPU_RATE=${BENCH_CPU_RATE:-1G}
# A mode may name the build it runs, MODE@PATH: two builds in one run, taking turns with the kernel
# (BENCH_XDP_MODES="default@/tmp/before default@/tmp/after"); a plain MODE runs $VPCBPF.
mode_of() { echo "${1%%@*}"; }
mode_bin() { case $1 in *@*) echo "${1#*@}" ;; *) echo "$VPCBPF" ;; esac; }
label_of() { echo "${1//[^A-Za-z0-9_.-]/_}"; }
HZ=$(getconf CLK_TCK)

nsx() { local n=$1; shift; ip netns exec "$T-$n" "$@"; }
stat3() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "null"; exit} m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "{\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}", m, v[1], v[NR]}'; }

# hosts h1, h2 on an underlay veth; VM v1 on h1 (its NIC's dev is "v1"), v2 on h2; MTU 1450 (VXLAN costs 50)
world() {
	underlay_create h1 h2 192.168.251 &&
		vm_create h1 v1 $IP1/24 $GW $MAC1 1450 &&
		vm_create h2 v2 $IP2/24 $GW $MAC2 1450
}

# The reference: what a naive host does with the kernel alone, a bridge per VPC and a vxlan device.
kernel_up() {
	local h other
	for h in h1 h2; do
		[ $h = h1 ] && other=h2 || other=h1
		ip -n "$T-$h" link add br0 type bridge &&
			ip -n "$T-$h" link add vx0 type vxlan id $VNI local "$(underlay_ip $h)" remote "$(underlay_ip $other)" \
				dstport 4789 dev ul0 &&
			ip -n "$T-$h" link set vx0 master br0 mtu 1450 &&
			ip -n "$T-$h" link set "v${h#h}" master br0 &&
			ip -n "$T-$h" link set vx0 up && ip -n "$T-$h" link set br0 up || return 1
	done
}
kernel_down() {
	for h in h1 h2; do ip -n "$T-$h" link del vx0 2>/dev/null; ip -n "$T-$h" link del br0 2>/dev/null; done
}

# vpcbpf_up MODE: both hosts with `xdp MODE` (default: no xdp word, dp up picks); the mode the kernel runs in $TMP/mode.MODE
vpcbpf_up() {
	local h mode=$1
	for h in h1 h2; do
		lib_register pin $h
		vpcbpf_on $h dp up dev ul0 $([ "$mode" = default ] || echo xdp "$mode") >"$TMP/dp-up.txt" 2>&1 || {
			cat "$TMP/dp-up.txt" >&2
			return 1
		}
		vpcbpf_on $h -j dp show | jq -r .xdp >"$TMP/mode.$mode"
		vpcbpf_on $h vpc add $VNI >/dev/null &&
			vpcbpf_on $h subnet add 10.9.0.0/24 vpc $VNI gateway $GW >/dev/null || return 1
	done
	vpcbpf_on h1 nic add $IP1 vpc $VNI mac $MAC1 dev v1 >/dev/null &&
		vpcbpf_on h1 nic add $IP2 vpc $VNI mac $MAC2 remote "$(underlay_ip h2)" >/dev/null &&
		vpcbpf_on h2 nic add $IP2 vpc $VNI mac $MAC2 dev v2 >/dev/null &&
		vpcbpf_on h2 nic add $IP1 vpc $VNI mac $MAC1 remote "$(underlay_ip h1)" >/dev/null
}
vpcbpf_down() {
	for h in h1 h2; do vpcbpf_on $h dp down >/dev/null 2>&1; done
}

reachable() {
	nsx v1 ip neigh flush dev eth0 2>/dev/null
	nsx v2 ip neigh flush dev eth0 2>/dev/null
	nsx v1 timeout 10 ping -n -c 2 -i 0.3 -W 1 $IP2 >/dev/null 2>&1
}

# Ping-pong latency is pinned to one CPU on both ends (PIN_CPU), for both paths: one message is in
# flight at a time, so the path is serial anyway, and an unpinned pair measures mostly how long an
# idle vCPU takes to wake up (25-40 us on this KVM guest when the machine is quiet, 5-8 us when
# other jobs keep it busy), not the datapath.
PIN_CPU=${BENCH_PIN_CPU:-0}

# busy: jiffies all CPUs spent busy so far (user nice system irq softirq); idle: idle + iowait
busy() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
idle() { awk '$1 == "cpu" {print $5 + $6}' /proc/stat; }
# softirqd: CPU time (jiffies) of the ksoftirqd threads, where softirq work goes when it does not
# run on the way out of a sender's system call or an interrupt
softirqd() { local p s=0; for p in $(ps -eo pid=,comm= | awk '$2 ~ /^ksoftirqd/ {print $1}'); do
	s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $s; }
# the traffic's own processes run in a cpuacct cgroup of this run: their CPU time (ns) includes the
# softirq work done in their context (this kernel has no IRQ_TIME_ACCOUNTING), i.e. the datapath of
# every hop a packet crosses without a queue in between
CG=/sys/fs/cgroup/cpuacct/$T-e2e
in_cg() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@"; }

# measure_cpu LABEL: CPU seconds per GB received, one TCP stream offered at a fixed rate; appended to
# $TMP/LABEL.cpu (the traffic's processes + ksoftirqd) and $TMP/LABEL.cpuall (all CPUs, /proc/stat,
# minus an equal quiet window just before); the quiet window's idle share to $TMP/LABEL.idle
measure_cpu() {
	local label=$1 b0 b1 b2 b3 i0 i1 t0 t1 t2 t3 s0 s1 c0 c1 bytes srv
	[ -d "$CG" ] || return 0
	t0=$(date +%s.%N) b0=$(busy) i0=$(idle)
	sleep "$SECS"
	t1=$(date +%s.%N) b1=$(busy) i1=$(idle)
	in_cg ip netns exec "$T-v2" timeout $((SECS + 15)) iperf3 -s -1 -B $IP2 -p 5202 >/dev/null 2>&1 &
	srv=$!
	sleep 0.3
	t2=$(date +%s.%N) b2=$(busy) s0=$(softirqd) c0=$(cat "$CG/cpuacct.usage")
	bytes=$(in_cg ip netns exec "$T-v1" timeout $((SECS + 10)) iperf3 -c $IP2 -p 5202 -b "$CPU_RATE" -t "$SECS" -J \
		2>/dev/null | jq '.end.sum_received.bytes' 2>/dev/null)
	t3=$(date +%s.%N) b3=$(busy) s1=$(softirqd)
	wait "$srv" 2>/dev/null
	c1=$(cat "$CG/cpuacct.usage")
	[ -n "$bytes" ] && [ "$bytes" != null ] && [ "$bytes" -gt 0 ] || return 0
	awk -v b0="$b0" -v b1="$b1" -v b2="$b2" -v b3="$b3" -v i0="$i0" -v i1="$i1" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
		-v t3="$t3" -v s0="$s0" -v s1="$s1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v cpus="$(nproc)" -v bytes="$bytes" \
		-v own="$TMP/$label.cpu" -v all="$TMP/$label.cpuall" -v idl="$TMP/$label.idle" 'BEGIN {
		gb = bytes / 1e9
		printf "%.4f\n", ((c1 - c0) / 1e9 + (s1 - s0) / hz) / gb >> own
		printf "%.4f\n", ((b3 - b2) / hz - (b1 - b0) / hz * (t3 - t2) / (t1 - t0)) / gb >> all
		printf "%.3f\n", (i1 - i0) / hz / (cpus * (t1 - t0)) >> idl }'
}

# measure_once LABEL: one run of each figure, appended to $TMP/LABEL.{tcp,udp,lat,cpu,cpuall,idle}
measure_once() {
	local label=$1
	nsx v2 iperf3 -s -D -B $IP2 -p 5201 -I "$TMP/iperf3.pid" >/dev/null 2>&1
	nsx v2 timeout $((SECS * 4 + 30)) taskset -c "$PIN_CPU" sockperf sr -i $IP2 -p 11111 >/dev/null 2>&1 &
	local sockperf_pid=$!
	sleep 1
	nsx v1 timeout $((SECS + 10)) iperf3 -c $IP2 -p 5201 -t "$SECS" -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e9' 2>/dev/null >>"$TMP/$label.tcp"
	nsx v1 timeout $((SECS + 10)) iperf3 -c $IP2 -p 5201 -u -l 64 -b 0 -t "$SECS" -J 2>/dev/null |
		jq '(.end.sum_received // .end.sum) | (.packets - .lost_packets) / .seconds' 2>/dev/null >>"$TMP/$label.udp"
	nsx v1 timeout $((SECS + 10)) taskset -c "$PIN_CPU" sockperf pp -i $IP2 -p 11111 -t "$SECS" -m 64 2>&1 |
		sed -n 's/.*percentile 50\.000 = *\([0-9.]*\).*/\1/p' >>"$TMP/$label.lat"
	measure_cpu "$label"
	[ -s "$TMP/iperf3.pid" ] && kill "$(cat "$TMP/iperf3.pid")" 2>/dev/null
	kill "$sockperf_pid" 2>/dev/null
	wait "$sockperf_pid" 2>/dev/null
	rm -f "$TMP/iperf3.pid"
}

# summary LABEL: a JSON object of the three figures, each the median of the runs, with min and max
summary() {
	printf '{"tcp_gbit_s": %s, "udp64_pps": %s, "latency_us": %s, "cpu_s_per_gb": %s, "cpu_s_per_gb_all_cpus": %s, "quiet_idle_share": %s}' \
		"$(stat3 <"$TMP/$1.tcp")" "$(stat3 <"$TMP/$1.udp")" "$(stat3 <"$TMP/$1.lat")" \
		"$(stat3 <"$TMP/$1.cpu")" "$(stat3 <"$TMP/$1.cpuall")" "$(stat3 <"$TMP/$1.idle")"
}

world || { echo "e2e: cannot build the namespaces" >&2; exit 1; }

# The paths take turns, one run of each figure per turn, so that each set of figures is taken
# seconds apart: on a machine shared with other jobs the load moves more between minutes than
# between the paths (measured: the same path's UDP rate varied 2.5x across one series).
FIGS="tcp udp lat cpu cpuall idle"
mkdir -p "$CG" || echo "e2e: no cpuacct cgroup ($CG): CPU per GB not measured" >&2
kernel_ok=0
for f in $FIGS; do : >"$TMP/kernel.$f"; for m in $MODES; do : >"$TMP/$(label_of "$m").$f"; done; done
declare -A mode_ok
for run in $(seq 1 "$RUNS"); do
	if kernel_up && reachable; then
		measure_once kernel
		kernel_ok=1
	else
		echo "e2e: kernel vxlan + bridge path does not pass traffic (run $run)" >&2
	fi
	kernel_down
	for m in $MODES; do
		if VPCBPF=$(mode_bin "$m") vpcbpf_up "$(mode_of "$m")" && reachable; then
			measure_once "$(label_of "$m")"
			mode_ok[$m]=1
		else
			echo "vpcbpf xdp $m: overlay not available (run $run)" >&2
		fi
		VPCBPF=$(mode_bin "$m") vpcbpf_down
	done
done
kernel=null
[ $kernel_ok = 1 ] && kernel=$(summary kernel)
echo "kernel vxlan+bridge: $kernel" >&2

# pair_ratios LABEL FIGURE: LABEL / kernel of each turn, as median, min, max
pair_ratios() {
	paste "$TMP/$1.$2" "$TMP/kernel.$2" 2>/dev/null | awk 'NF == 2 && $2 > 0 {print $1 / $2}' | stat3
}

# one object per mode: the figures, the ratios of the medians and of each turn to the kernel
modes_json=$(for m in $MODES; do
	if [ "${mode_ok[$m]:-0}" = 1 ]; then
		l=$(label_of "$m") runs_as=$(cat "$TMP/mode.$(mode_of "$m")" 2>/dev/null)
		v=$(summary "$l")
		echo "vpcbpf xdp $m ($runs_as): $v" >&2
		jq -n --arg mode "$m" --arg runs_as "$runs_as" --argjson v "$v" --argjson k "$kernel" \
			--argjson pt "{\"tcp_gbit_s\": $(pair_ratios "$l" tcp), \"udp64_pps\": $(pair_ratios "$l" udp), \"latency_us\": $(pair_ratios "$l" lat), \"cpu_s_per_gb\": $(pair_ratios "$l" cpu), \"cpu_s_per_gb_all_cpus\": $(pair_ratios "$l" cpuall)}" \
			'{mode: $mode, runs_as: $runs_as, figures: $v,
			  ratio_over_kernel: ($v | with_entries(.key as $f | .value = (if $k == null or .value == null or $k[$f] == null or $k[$f].median == 0 then null else .value.median / $k[$f].median end))),
			  ratio_per_turn: $pt}'
	else
		jq -n --arg mode "$m" '{mode: $mode, figures: null}'
	fi
done | jq -s .)
jq -n --argjson runs "$RUNS" --argjson secs "$SECS" --arg rate "$CPU_RATE" --argjson pin "$PIN_CPU" \
	--argjson kernel "$kernel" --argjson modes "$modes_json" \
	'{runs: $runs, seconds: $secs, interleaved: true, latency_pinned_cpu: $pin, cpu_offered_rate: $rate,
	  kernel_vxlan_bridge: $kernel, modes: $modes}' >"$OUT"
jq -e . "$OUT" >/dev/null
