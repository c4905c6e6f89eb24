#!/usr/bin/env bash
# tests/bench/dhcp_cost.sh — what a DHCP exchange costs: nic_ingress per DHCP packet (kernel bpf_stats) and a whole lease, beside busybox udhcpd.
#
# Usage: dhcp_cost.sh OUT.json   (env: VPCBPF, BENCH_LEASES (default 30), BENCH_BURST (default 20000), BPF_COST)
#
# h1 runs vpcbpf; VM v1 (no address) gets BENCH_LEASES leases in a row from the datapath with busybox
# udhcpc (-q: DISCOVER, OFFER, REQUEST, ACK, then exit), under the cost tool: nic_ingress's ns per run
# over those packets (the only ones v1 sends: IPv6 off, no ARP probe). In the same run, v1 pings the
# gateway as many times: the cheapest other answer of the virtual router, for scale. Then the kernel
# alternative: the same client against busybox udhcpd on a plain veth (h0, no BPF), and the wall time
# per lease of both (the client's own timers dominate neither: it exits on the ACK). A lease is two
# packets far apart, so their cost is that of cold caches; a burst of BENCH_BURST DHCPINFORMs, and of
# as many echo requests to the gateway, from tests/bench/dhcp_burst.py gives the warm cost of each.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/bench/dhcp_cost.json}
N=${BENCH_LEASES:-30}
BURST=${BENCH_BURST:-20000}
COST=${BPF_COST:-/work/shared/tools/bpf-cost}
. "$ROOT/tests/lib/vpcbpf.bash"
TMP=$(mktemp -d)
UDHCPD_PID=""
trap '[ -n "$UDHCPD_PID" ] && kill "$UDHCPD_PID" 2>/dev/null; lib_cleanup; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
lib_init
[ -x "$COST" ] || { echo "dhcp_cost: $COST missing (set BPF_COST)" >&2; exit 1; }

leases() { # VM: N leases in a row; prints the wall time per lease in ms
	local vm=$1 t0 t1 i
	t0=$(date +%s%N)
	for i in $(seq "$N"); do
		ip netns exec "$T-$vm" busybox udhcpc -q -n -f -i eth0 -s /bin/true -t 3 -T 1 -A 1 >/dev/null 2>&1 ||
			{ echo "dhcp_cost: no lease for $vm" >&2; return 1; }
	done
	t1=$(date +%s%N)
	echo "scale=3; ($t1 - $t0) / $N / 1000000" | bc
}

# ---- vpcbpf ----
host_create h1 >/dev/null || exit 1
vpcbpf_on h1 vpc add 100 && vpcbpf_on h1 subnet add 10.0.1.0/24 vpc 100 dns 10.0.0.53 domain bench.example \
	routes 0.0.0.0/0,172.16.0.0/12 || exit 1
ns_create v1 || exit 1
ip -n "$T-h1" link add v1 type veth peer name eth0 netns "$T-v1" && ip -n "$T-v1" link set eth0 address 02:00:00:00:01:0a up &&
	ip -n "$T-h1" link set v1 up || exit 1
vpcbpf_on h1 nic add 10.0.1.10 vpc 100 mac 02:00:00:00:01:0a dev v1 || exit 1
# other datapaths on this machine run programs of the same name: ours is the one on v1
PROG=$(ip netns exec "$T-h1" bpftool -j net show dev v1 | jq -r '.[0].tc[0].id // empty')
[ -n "$PROG" ] || { echo "dhcp_cost: no program on v1" >&2; exit 1; }
"$COST" -n nic_ingress -- bash -c "$(declare -f leases); T=$T N=$N leases v1 >$TMP/vpcbpf.ms" >"$TMP/dhcp.cost" || exit 1
ip -n "$T-v1" addr replace 10.0.1.10/24 dev eth0
"$COST" -n nic_ingress -- ip netns exec "$T-v1" ping -q -c "$N" -i 0.01 -W 1 10.0.1.1 >"$TMP/ping.cost" || exit 1
"$COST" -n nic_ingress -- ip netns exec "$T-v1" "$ROOT/tests/bench/dhcp_burst.py" inform "$BURST" \
	02:00:00:00:01:0a 10.0.1.10 10.0.1.1 >"$TMP/inform.cost" || exit 1
"$COST" -n nic_ingress -- ip netns exec "$T-v1" "$ROOT/tests/bench/dhcp_burst.py" echo "$BURST" \
	02:00:00:00:01:0a 10.0.1.10 10.0.1.1 >"$TMP/echo.cost" || exit 1
inform_ns=$(awk -v id="$PROG" '$1 == id {print $5}' "$TMP/inform.cost")
echo_ns=$(awk -v id="$PROG" '$1 == id {print $5}' "$TMP/echo.cost")
dhcp_runs=$(awk -v id="$PROG" '$1 == id {print $3}' "$TMP/dhcp.cost")
dhcp_ns=$(awk -v id="$PROG" '$1 == id {print $5}' "$TMP/dhcp.cost")
ping_ns=$(awk -v id="$PROG" '$1 == id {print $5}' "$TMP/ping.cost")

# ---- the alternative: busybox udhcpd on a plain veth ----
ns_create h0 && ns_create v0 || exit 1
ip -n "$T-h0" link add s0 type veth peer name eth0 netns "$T-v0" && ip -n "$T-h0" addr add 10.0.1.1/24 dev s0 &&
	ip -n "$T-h0" link set s0 up && ip -n "$T-v0" link set eth0 address 02:00:00:00:01:0b up || exit 1
cat >"$TMP/udhcpd.conf" <<EOF
start 10.0.1.10
end 10.0.1.10
interface s0
lease_file $TMP/udhcpd.leases
pidfile $TMP/udhcpd.pid
opt router 10.0.1.1
opt subnet 255.255.255.0
opt dns 10.0.0.53
opt domain bench.example
opt mtu 1450
opt lease 3600
static_lease 02:00:00:00:01:0b 10.0.1.10
EOF
: >"$TMP/udhcpd.leases"
ip netns exec "$T-h0" busybox udhcpd -f "$TMP/udhcpd.conf" >/dev/null 2>&1 &
UDHCPD_PID=$!
sleep 0.5
T=$T N=$N leases v0 >"$TMP/udhcpd.ms" || exit 1

jq -n --argjson runs "${dhcp_runs:-0}" --argjson dhcp "${dhcp_ns:-null}" --argjson ping "${ping_ns:-null}" \
	--argjson inform "${inform_ns:-null}" --argjson echo "${echo_ns:-null}" --argjson burst "$BURST" \
	--argjson leases "$N" --argjson ms "$(cat "$TMP/vpcbpf.ms")" --argjson udhcpd_ms "$(cat "$TMP/udhcpd.ms")" \
	'{leases: $leases, nic_ingress_runs: $runs, dhcp_ns_per_packet: $dhcp, gateway_ping_ns_per_packet: $ping,
	  burst: $burst, inform_ns_per_packet_warm: $inform, gateway_echo_ns_per_packet_warm: $echo,
	  ms_per_lease_vpcbpf: $ms, ms_per_lease_busybox_udhcpd: $udhcpd_ms}' | tee "$OUT"
