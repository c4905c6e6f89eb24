#!/usr/bin/env bash
# tests/bench/cni.sh — time per CNI ADD and DEL for N containers: vpcbpf-cni beside Debian's bridge plugin, and nothing left.
#
# Usage: cni.sh OUT.json   (env: VPCBPF, BENCH_CNI_CONTAINERS, default 100)
# One emulated host (a netns with its own pin dir) and N container netns; each plugin is run as a runtime runs it
# (CNI_* env, netconf on stdin, in the host's netns), one container after the other; the same host-local IPAM
# serves all rows: host-local alone, bridge + host-local (the kernel's own bridge), vpcbpf + host-local, and vpcbpf
# in cluster mode (a real etcd, this host's agent applying each NIC before ADD or DEL returns).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VPCBPF=${VPCBPF:-$ROOT/build/vpcbpf}
PLUGIN=$ROOT/build/vpcbpf-cni
OUT=${1:-$ROOT/build/bench/cni.json}
N=${BENCH_CNI_CONTAINERS:-100}
P=cn$$
PIN=/sys/fs/bpf/$P
TMP=$(mktemp -d)
IPAM_PATH=/usr/lib/cni

cleanup() {
	local i
	lib_cleanup 2>/dev/null
	"$VPCBPF" -n "$P" -d "$PIN" dp down >/dev/null 2>&1
	for i in $(seq "$N"); do ip netns del "$P-c$i" 2>/dev/null; done
	ip netns del "$P" 2>/dev/null
	ip netns del "$P-ul" 2>/dev/null
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ -x "$PLUGIN" ] || { echo "cni bench: $PLUGIN is not built" >&2; exit 1; }
[ -x "$IPAM_PATH/host-local" ] && [ -x "$IPAM_PATH/bridge" ] ||
	{ echo "cni bench: containernetworking-plugins missing (make deps)" >&2; exit 1; }

v() { "$VPCBPF" -n "$P" -d "$PIN" "$@"; }
ns_now() { date +%s%N; }
# median, p90, min, max (ms) of numbers (ns) on stdin, as a JSON object
stats() {
	sort -g | awk '{v[NR]=$1/1e6} END { m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; p = int(NR*0.9); if (p < 1) p = 1;
		printf "{\"median_ms\": %.2f, \"p90_ms\": %.2f, \"min_ms\": %.2f, \"max_ms\": %.2f, \"n\": %d}\n",
		m, v[p], v[1], v[NR], NR }'
}

# call PLUGIN COMMAND I CONF: one CNI call for container I, in the host's netns
HOSTNS=$P
call() {
	CNI_COMMAND=$2 CNI_CONTAINERID=bench-$3 CNI_NETNS=/run/netns/$P-c$3 CNI_IFNAME=eth0 CNI_PATH=$IPAM_PATH \
		nsenter --net="/run/netns/$HOSTNS" "$1" <<<"$4"
}

# run_loop NAME PLUGIN CONF: ADD for every container, then DEL for every one; times in $TMP/NAME.{add,del}
run_loop() {
	local name=$1 plugin=$2 conf=$3 i t0
	for i in $(seq "$N"); do
		t0=$(ns_now)
		call "$plugin" ADD "$i" "$conf" >/dev/null 2>>"$TMP/$name.stderr" || { echo "cni bench: $name ADD $i failed" >&2; return 1; }
		echo $(( $(ns_now) - t0 )) >>"$TMP/$name.add"
	done
	for i in $(seq "$N"); do
		t0=$(ns_now)
		call "$plugin" DEL "$i" "$conf" >/dev/null 2>>"$TMP/$name.stderr" || { echo "cni bench: $name DEL $i failed" >&2; return 1; }
		echo $(( $(ns_now) - t0 )) >>"$TMP/$name.del"
	done
}

ip netns add "$P" && ip netns add "$P-ul" || exit 1
ip -n "$P" link set lo up
ip -n "$P" link add ul0 type veth peer name ul0 netns "$P-ul"
ip -n "$P" addr add 192.168.100.1/24 dev ul0
ip -n "$P" link set ul0 up
ip -n "$P-ul" link set ul0 up
v dp up dev ul0 >/dev/null && v vpc add 100 && v subnet add 10.0.0.0/24 vpc 100 || exit 1
for i in $(seq "$N"); do ip netns add "$P-c$i" || exit 1; done

ipam='"ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"}]],"dataDir":"'"$TMP/ipam"'"}'
vpcbpf_conf='{"cniVersion":"1.0.0","name":"bench","type":"vpcbpf","vpc":100,"pinDir":"'"$PIN"'",'"$ipam"'}'
bridge_conf='{"cniVersion":"1.0.0","name":"bench","type":"bridge","bridge":"cnibr0","isGateway":true,'"$ipam"'}'

# host-local alone: what every row pays for its address
for i in $(seq "$N"); do
	t0=$(ns_now); call "$IPAM_PATH/host-local" ADD "$i" "$bridge_conf" >/dev/null || exit 1
	echo $(( $(ns_now) - t0 )) >>"$TMP/ipam.add"
done
for i in $(seq "$N"); do
	t0=$(ns_now); call "$IPAM_PATH/host-local" DEL "$i" "$bridge_conf" >/dev/null || exit 1
	echo $(( $(ns_now) - t0 )) >>"$TMP/ipam.del"
done
run_loop bridge "$IPAM_PATH/bridge" "$bridge_conf" || exit 1
ip -n "$P" link del cnibr0 2>/dev/null
run_loop vpcbpf "$PLUGIN" "$vpcbpf_conf" || exit 1

# nothing left by vpcbpf-cni: veths, NICs, map entries, addresses, fds
leaks=$(
	ip -n "$P" -o link show | grep -c ': vpc[0-9a-f]*@' || true
	v -j nic show | jq length
	bpftool map dump pinned "$PIN/nic_stats" -j | jq length
	bpftool map dump pinned "$PIN/ifindex_nics" -j | jq length
	find "$TMP/ipam/bench" -maxdepth 1 -name '10.*' | wc -l
	grep -c "left open" "$TMP/vpcbpf.stderr" || true
)
leaks=$(echo $leaks | tr ' ' ',')

# cluster mode: etcd on a switch, host cA with its agent; the plugin waits for the agent on every ADD and DEL
# shellcheck source=../lib/vpcbpf.bash
. "$ROOT/tests/lib/vpcbpf.bash"
lib_init
switch_create csw 192.168.101 cA >/dev/null && etcd_start csw >/dev/null || { echo "cni bench: no etcd" >&2; exit 1; }
lib_register pin cA
"$VPCBPF" -n "$T-cA" -d "$BPFFS/$T-cA" agent --etcd "$ETCD_URL" host cA dev ul0 xdp generic >"$TMP/agent.log" 2>&1 &
proc_register $!
E() { ip netns exec "$T-csw" "$VPCBPF" --etcd "$ETCD_URL" "$@"; }
E vpc add 100 && E subnet add 10.0.0.0/24 vpc 100 || exit 1
for _ in $(seq 100); do
	[ "$(E -j host show | jq '[.[] | select(.state == "up")] | length')" = 1 ] && break
	sleep 0.1
done
cluster_conf='{"cniVersion":"1.0.0","name":"bench","type":"vpcbpf","vpc":100,"etcd":"'"$ETCD_URL"'","host":"cA","ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"}]],"dataDir":"'"$TMP/ipam-cluster"'"}}'
HOSTNS=$T-cA
export VPCBPF_PIN_DIR=$BPFFS/$T-cA
run_loop cluster "$PLUGIN" "$cluster_conf" || exit 1
cluster_left=$(( $(E -j nic show | jq length) + $(grep -c "left open" "$TMP/cluster.stderr" || true) ))

jq -n --argjson n "$N" --arg leaks "$leaks" \
	--argjson ia "$(stats <"$TMP/ipam.add")" --argjson id "$(stats <"$TMP/ipam.del")" \
	--argjson ba "$(stats <"$TMP/bridge.add")" --argjson bd "$(stats <"$TMP/bridge.del")" \
	--argjson va "$(stats <"$TMP/vpcbpf.add")" --argjson vd "$(stats <"$TMP/vpcbpf.del")" \
	--argjson ca "$(stats <"$TMP/cluster.add")" --argjson cd "$(stats <"$TMP/cluster.del")" --argjson cl "$cluster_left" \
	'{containers: $n, host_local: {add: $ia, del: $id}, bridge: {add: $ba, del: $bd}, vpcbpf: {add: $va, del: $vd},
	  vpcbpf_cluster: {add: $ca, del: $cd, nics_left_in_etcd: $cl},
	  left_after_del: ($leaks | split(",") | map(tonumber) |
		{veths: .[0], nics: .[1], nic_stats: .[2], ifindex_nics: .[3], ipam_files: .[4], plugin_fd_warnings: .[5]})}' >"$OUT"
jq -r '"CNI, \(.containers) containers one after the other (median / p90 ms per call):",
	"  host-local alone   ADD \(.host_local.add.median_ms) / \(.host_local.add.p90_ms)   DEL \(.host_local.del.median_ms) / \(.host_local.del.p90_ms)",
	"  bridge+host-local  ADD \(.bridge.add.median_ms) / \(.bridge.add.p90_ms)   DEL \(.bridge.del.median_ms) / \(.bridge.del.p90_ms)",
	"  vpcbpf+host-local  ADD \(.vpcbpf.add.median_ms) / \(.vpcbpf.add.p90_ms)   DEL \(.vpcbpf.del.median_ms) / \(.vpcbpf.del.p90_ms)",
	"  vpcbpf, cluster    ADD \(.vpcbpf_cluster.add.median_ms) / \(.vpcbpf_cluster.add.p90_ms)   DEL \(.vpcbpf_cluster.del.median_ms) / \(.vpcbpf_cluster.del.p90_ms)   (etcd + agent; NICs and fds left: \(.vpcbpf_cluster.nics_left_in_etcd))",
	"  left after DEL: \(.left_after_del)"' "$OUT"
[ "$cluster_left" = 0 ] || { echo "cni bench: cluster mode left $cluster_left NIC(s) in etcd or fd(s) open" >&2; exit 1; }
[ "$leaks" = "0,0,0,0,0,0" ] || { echo "cni bench: vpcbpf-cni left something behind: $leaks" >&2; exit 1; }
