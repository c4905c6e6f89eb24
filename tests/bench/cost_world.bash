# tests/bench/cost_world.bash — the two emulated hosts, four VMs and one-flow traffic that cost.sh and bound.sh measure the datapath on (sourced; needs T, TMP, EMPTY, COST, XDP_MODE, PPS, SECS).

VNI=4301 GW=10.43.0.1

nsx() { local n=$1; shift; ip netns exec "$T-$n" "$@"; }
stat3() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "null"; exit} m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "{\"median\": %.1f, \"min\": %.1f, \"max\": %.1f}", m, v[1], v[NR]}'; }

world() {
	ns_create h1 && ns_create h2 && ns_create sw || return 1
	ip -n "$T-h1" link add ul0 type veth peer name swa netns "$T-sw" &&
		ip -n "$T-h2" link add ul0 type veth peer name swb netns "$T-sw" &&
		ip -n "$T-sw" link add br0 type bridge &&
		ip -n "$T-sw" link set swa master br0 && ip -n "$T-sw" link set swb master br0 &&
		for d in swa swb br0; do ip -n "$T-sw" link set $d up; done &&
		ip -n "$T-h1" addr add 192.168.43.1/24 dev ul0 && ip -n "$T-h1" link set ul0 up &&
		ip -n "$T-h2" addr add 192.168.43.2/24 dev ul0 && ip -n "$T-h2" link set ul0 up || return 1
	local h
	for h in h1 h2; do
		lib_register pin $h
		vpcbpf_on $h dp up dev ul0 ${XDP_MODE:+xdp $XDP_MODE} >"$TMP/dp-$h.txt" 2>&1 || { cat "$TMP/dp-$h.txt" >&2; return 1; }
		vpcbpf_on $h vpc add $VNI >/dev/null && vpcbpf_on $h subnet add 10.43.0.0/24 vpc $VNI gateway $GW >/dev/null || return 1
	done
	vm_create h1 v1 10.43.0.11/24 $GW 02:00:00:43:00:11 1450 && vm_create h2 v2 10.43.0.12/24 $GW 02:00:00:43:00:12 1450 &&
		vm_create h1 v3 10.43.0.13/24 $GW 02:00:00:43:00:13 1450 && vm_create h1 v4 10.43.0.14/24 $GW 02:00:00:43:00:14 1450 ||
		return 1
	{
		echo "sg add big"
		for i in $(seq 1 998); do echo "sg rule add big ingress proto tcp port $((10000 + i)) cidr 10.$((i / 250)).$((i % 250)).0/24 allow priority $i"; done
		# last, so that a new flow is classified through all 998 others: iperf3's control connection and its data
		echo "sg rule add big ingress proto tcp port 5201 allow priority 999"
		echo "sg rule add big ingress proto udp port 5201 allow priority 1000"
	} >"$TMP/sg.batch"
	vpcbpf_on h1 --batch "$TMP/sg.batch" >/dev/null || return 1
	vpcbpf_on h1 nic add 10.43.0.11 vpc $VNI mac 02:00:00:43:00:11 dev v1 >/dev/null &&
		vpcbpf_on h1 nic add 10.43.0.13 vpc $VNI mac 02:00:00:43:00:13 dev v3 >/dev/null &&
		vpcbpf_on h1 nic add 10.43.0.14 vpc $VNI mac 02:00:00:43:00:14 dev v4 sg big >/dev/null &&
		vpcbpf_on h1 nic add 10.43.0.12 vpc $VNI mac 02:00:00:43:00:12 remote 192.168.43.2 >/dev/null &&
		vpcbpf_on h2 nic add 10.43.0.12 vpc $VNI mac 02:00:00:43:00:12 dev v2 >/dev/null &&
		vpcbpf_on h2 nic add 10.43.0.11 vpc $VNI mac 02:00:00:43:00:11 remote 192.168.43.1 >/dev/null || return 1
	# the floors: the same packets, one hook earlier
	nsx v1 tc qdisc add dev eth0 clsact && nsx v1 tc filter add dev eth0 egress bpf da obj "$EMPTY" sec tc &&
		nsx sw tc qdisc add dev swa clsact && nsx sw tc filter add dev swa ingress bpf da obj "$EMPTY" sec tc || return 1
	if [ "$(vpcbpf_on h2 -j dp show | jq -r .xdp)" != off ]; then
		nsx sw ip link set dev swa xdpdrv obj "$EMPTY" sec xdp.frags || return 1
	fi
	for v in v1 v2 v3 v4; do nsx $v sysctl -qw net.ipv4.conf.all.arp_ignore=0; done
	nsx v1 ping -c 2 -i 0.2 -W 1 10.43.0.12 >/dev/null && nsx v1 ping -c 1 -W 1 10.43.0.13 >/dev/null || return 1
}

# prog_ids NS DEV: the ids of the tc (ingress/egress) and XDP programs attached to DEV in netns NS
prog_ids() {
	ip netns exec "$T-$1" bpftool -j net show dev "$2" 2>/dev/null |
		jq -r '.[] | ((.tc // [])[] | .id), ((.xdp // [])[] | .id), ((.tc // [])[] | .prog_id // empty)' | sort -u
}

# underlay_ids: UL_XDP and UL_TC, the programs vpcbpf attached to h2's underlay (XDP may be none)
underlay_ids() {
	UL_XDP=$(ip netns exec "$T-h2" ip -j link show dev ul0 | jq -r '.[0].xdp.prog.id // .[0].xdp.attached[0].prog.id // empty')
	UL_TC=$(prog_ids h2 ul0 | grep -vx "${UL_XDP:-x}" | head -1)
}

# udp_arrived VM: UDP datagrams that reached VM's sockets so far (delivered, or dropped for a full buffer)
udp_arrived() {
	nsx "$1" awk '/^Udp:/ {if (!h) {for (i = 2; i <= NF; i++) c[$i] = i; h = 1} else print $c["InDatagrams"] + $c["RcvbufErrors"]}' /proc/net/snmp
}

# run_path LABEL SERVER_VM DST_IP [udp|tcp]: one bpf-cost run of one flow from v1; appends "id ns/run" lines
run_path() {
	local label=$1 srv=$2 dst=$3 proto=${4:-udp} args
	local before
	before=$(udp_arrived "$srv")
	nsx "$srv" iperf3 -s -D -B "$dst" -p 5201 -I "$TMP/iperf3.pid" >/dev/null 2>&1
	sleep 0.3
	if [ "$proto" = udp ]; then args="-u -l 64 -b $((PPS * 64 * 8))"; else args=""; fi
	"$COST" -- ip netns exec "$T-v1" timeout $((SECS + 10)) iperf3 -c "$dst" -p 5201 $args -t "$SECS" >/dev/null 2>"$TMP/err" \
		>"$TMP/cost.out" 2>&1
	[ -s "$TMP/iperf3.pid" ] && kill "$(cat "$TMP/iperf3.pid")" 2>/dev/null
	rm -f "$TMP/iperf3.pid"
	awk '$4 == "runs" {print $1, $5}' "$TMP/cost.out" >"$TMP/$label.raw"
	awk '$4 == "runs" {print $1, $3}' "$TMP/cost.out" >"$TMP/$label.runs"
	echo $(($(udp_arrived "$srv") - before)) >"$TMP/$label.arrived"
}

# ns_of LABEL ID...: ns/run of the first of the ids that ran in LABEL's run
ns_of() {
	local label=$1 id
	shift
	for id in "$@"; do
		awk -v id="$id" '$1 == id {print $2; found = 1; exit} END {exit !found}' "$TMP/$label.raw" && return 0
	done
	return 1
}
