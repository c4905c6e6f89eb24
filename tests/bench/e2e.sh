#!/usr/bin/env bash
# tests/bench/e2e.sh — VM to VM across two emulated hosts: vpcbpf against the kernel's vxlan + bridge, same namespaces, same run.
#
# Usage: e2e.sh OUT.json   (env: VPCBPF, BENCH_RUNS, BENCH_SECONDS)
# Two hosts (namespaces h1, h2 joined by an underlay veth), one VM on each
# (namespaces joined to their host by a veth whose host end is the NIC's
# dev). Each path is built in turn on the same namespaces and measured with
# iperf3 (TCP throughput, 64-byte UDP packet rate) and sockperf (UDP
# ping-pong latency). Every name carries a per-run prefix; all of it goes on exit.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VPCBPF=${VPCBPF:-$ROOT/build/vpcbpf}
OUT=${1:-$ROOT/build/bench/e2e.json}
RUNS=${BENCH_RUNS:-3}
SECS=${BENCH_SECONDS:-3}
P=eb$$
H1=$P-h1 H2=$P-h2 V1=$P-v1 V2=$P-v2
UL1=192.168.251.1 UL2=192.168.251.2
IP1=10.9.0.11 IP2=10.9.0.12 GW=10.9.0.1
MAC1=02:00:00:09:00:11 MAC2=02:00:00:09:00:12
VNI=4201
TMP=$(mktemp -d)

cleanup() {
	for h in $H1 $H2; do "$VPCBPF" -n "$h" -d "/sys/fs/bpf/$h" dp down >/dev/null 2>&1; rm -rf "/sys/fs/bpf/$h"; done
	for n in $V1 $V2 $H1 $H2; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }
stat3() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "null"; exit} m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "{\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}", m, v[1], v[NR]}'; }

world() {
	for n in $H1 $H2 $V1 $V2; do
		ip netns add "$n" || return 1
		ip -n "$n" link set lo up
		nsx "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	ip -n "$H1" link add ul0 type veth peer name ul0 netns "$H2"
	ip -n "$H1" addr add $UL1/24 dev ul0 && ip -n "$H1" link set ul0 up
	ip -n "$H2" addr add $UL2/24 dev ul0 && ip -n "$H2" link set ul0 up
	ip -n "$H1" link add nic1 type veth peer name eth0 netns "$V1"
	ip -n "$H2" link add nic2 type veth peer name eth0 netns "$V2"
	ip -n "$V1" link set eth0 address $MAC1 mtu 1450 up && ip -n "$V1" addr add $IP1/24 dev eth0
	ip -n "$V2" link set eth0 address $MAC2 mtu 1450 up && ip -n "$V2" addr add $IP2/24 dev eth0
	ip -n "$H1" link set nic1 mtu 1450 up
	ip -n "$H2" link set nic2 mtu 1450 up
}

# The reference: what a naive host does with the kernel alone, a bridge per VPC and a vxlan device.
kernel_up() {
	local h l r nic
	for h in 1 2; do
		eval "l=\$UL$h; nic=nic$h"
		[ "$h" = 1 ] && r=$UL2 || r=$UL1
		local n; eval "n=\$H$h"
		ip -n "$n" link add br0 type bridge &&
			ip -n "$n" link add vx0 type vxlan id $VNI local "$l" remote "$r" dstport 4789 dev ul0 &&
			ip -n "$n" link set vx0 master br0 && ip -n "$n" link set "$nic" master br0 &&
			ip -n "$n" link set vx0 up && ip -n "$n" link set br0 up || return 1
	done
}
kernel_down() {
	for n in $H1 $H2; do ip -n "$n" link del vx0 2>/dev/null; ip -n "$n" link del br0 2>/dev/null; done
}

vpcbpf_up() {
	local h n ul
	for h in 1 2; do
		eval "n=\$H$h; ul=\$UL$h"
		local v="$VPCBPF -n $n -d /sys/fs/bpf/$n"
		$v dp up dev ul0 local "$ul" >/dev/null && $v vpc add $VNI >/dev/null &&
			$v subnet add 10.9.0.0/24 vpc $VNI gateway $GW >/dev/null || return 1
		if [ "$h" = 1 ]; then
			$v nic add $IP1 vpc $VNI mac $MAC1 dev nic1 >/dev/null 2>&1 &&
				$v nic add $IP2 vpc $VNI mac $MAC2 remote $UL2 >/dev/null 2>&1 || return 1
		else
			$v nic add $IP2 vpc $VNI mac $MAC2 dev nic2 >/dev/null 2>&1 &&
				$v nic add $IP1 vpc $VNI mac $MAC1 remote $UL1 >/dev/null 2>&1 || return 1
		fi
	done
}
vpcbpf_down() {
	for n in $H1 $H2; do "$VPCBPF" -n "$n" -d "/sys/fs/bpf/$n" dp down >/dev/null 2>&1; done
}

reachable() {
	nsx "$V1" ip neigh flush dev eth0 2>/dev/null
	nsx "$V1" timeout 10 ping -n -c 2 -i 0.3 -W 1 $IP2 >/dev/null 2>&1
}

# measure LABEL: prints a JSON object of the three figures, each the median of RUNS
measure() {
	local label=$1 i
	nsx "$V2" iperf3 -s -D -B $IP2 -p 5201 -I "$TMP/iperf3.pid" >/dev/null 2>&1
	nsx "$V2" timeout $((RUNS * (SECS + 5) * 2 + 30)) sockperf sr -i $IP2 -p 11111 >/dev/null 2>&1 &
	local sockperf_pid=$!
	sleep 0.5
	for i in $(seq 1 "$RUNS"); do
		nsx "$V1" timeout $((SECS + 10)) iperf3 -c $IP2 -p 5201 -t "$SECS" -J 2>/dev/null |
			jq '.end.sum_received.bits_per_second / 1e9' 2>/dev/null
	done >"$TMP/$label.tcp"
	for i in $(seq 1 "$RUNS"); do
		nsx "$V1" timeout $((SECS + 10)) iperf3 -c $IP2 -p 5201 -u -l 64 -b 0 -t "$SECS" -J 2>/dev/null |
			jq '(.end.sum_received // .end.sum) | (.packets - .lost_packets) / .seconds' 2>/dev/null
	done >"$TMP/$label.udp"
	for i in $(seq 1 "$RUNS"); do
		nsx "$V1" timeout $((SECS + 10)) sockperf pp -i $IP2 -p 11111 -t "$SECS" -m 64 2>&1 |
			sed -n 's/.*percentile 50\.000 = *\([0-9.]*\).*/\1/p'
	done >"$TMP/$label.lat"
	[ -s "$TMP/iperf3.pid" ] && kill "$(cat "$TMP/iperf3.pid")" 2>/dev/null
	kill "$sockperf_pid" 2>/dev/null
	wait "$sockperf_pid" 2>/dev/null
	printf '{"tcp_gbit_s": %s, "udp64_pps": %s, "latency_us": %s}' \
		"$(stat3 <"$TMP/$label.tcp")" "$(stat3 <"$TMP/$label.udp")" "$(stat3 <"$TMP/$label.lat")"
}

world || { echo "e2e: cannot build the namespaces" >&2; exit 1; }

kernel_up || { echo "e2e: cannot build the vxlan + bridge reference" >&2; exit 1; }
if reachable; then
	kernel=$(measure kernel)
else
	echo "e2e: kernel vxlan + bridge path does not pass traffic" >&2
	kernel=null
fi
kernel_down
echo "kernel vxlan+bridge: $kernel" >&2

vpcbpf=null
if vpcbpf_up && reachable; then
	vpcbpf=$(measure vpcbpf)
	echo "vpcbpf: $vpcbpf" >&2
else
	echo "vpcbpf: overlay not available (VM to VM across hosts does not pass yet)" >&2
fi
vpcbpf_down

ratio() { # field: vpcbpf median / kernel median
	jq -n --argjson a "$vpcbpf" --argjson b "$kernel" \
		"if (\$a == null or \$b == null or \$a.$1 == null or \$b.$1 == null) then null else (\$a.$1.median / \$b.$1.median) end"
}
cat >"$OUT" <<EOF
{"runs": $RUNS, "seconds": $SECS, "kernel_vxlan_bridge": $kernel, "vpcbpf": $vpcbpf,
 "ratio_vpcbpf_over_kernel": {"tcp_gbit_s": $(ratio tcp_gbit_s), "udp64_pps": $(ratio udp64_pps), "latency_us": $(ratio latency_us)}}
EOF
jq -e . "$OUT" >/dev/null
