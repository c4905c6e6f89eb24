# tests/lib/vpcbpf.bash — the one place tests create emulated hosts, VMs and underlays (sourced by BATS files).
#
# API (everything a test creates is named with the per-run prefix $T and removed by lib_cleanup):
#
#   lib_init                      per-run prefix $T, state dir; idempotent (every helper calls it)
#   lib_cleanup                   removes all this run created: dp down, netns del, pin dirs, temp dirs.
#                                 Call it from teardown/teardown_file so it runs even when a test fails.
#   host_create HOST [DP_UP_ARGS...]
#                                 netns "$T-HOST" (lo up, IPv6 off) and pin dir /sys/fs/bpf/$T-HOST,
#                                 then `vpcbpf dp up DP_UP_ARGS` there (e.g. `host_create hA dev ul0`)
#   vpcbpf_on HOST ARGS...        `vpcbpf -n $T-HOST -d /sys/fs/bpf/$T-HOST ARGS` (BATS: run vpcbpf_on ...)
#   host_ns HOST / host_pin HOST  the netns name / pin dir of HOST
#   vm_create HOST VM IP/LEN GATEWAY MAC [MTU]
#                                 netns "$T-VM" joined to HOST's netns by a veth: the host end is named VM
#                                 (<= 15 chars; use it as `nic add ... dev VM`), the VM end is eth0 with
#                                 MAC, IP/LEN, default route via GATEWAY, IPv6 off (clean counters)
#   vm_nic_add HOST VM HOSTDEV VMDEV IP/LEN MAC [MTU]
#                                 one more NIC for an existing VM (an appliance with NICs in two subnets):
#                                 veth HOSTDEV (in HOST's netns) <-> VMDEV (in the VM); no route added
#   vm_ns VM                      the netns name of VM (e.g. ip netns exec "$(vm_ns vm1)" ping ...)
#   in_vm VM CMD...               runs CMD inside VM's netns (ip netns exec)
#   ns_create NAME                a bare netns "$T-NAME" (lo up, IPv6 off), e.g. for a "branch office"
#   underlay_create HA HB [NET]   veth "ul0" between the netns of HA and HB (created if missing) with
#                                 NET.1/24 and NET.2/24 (NET default 192.168.100); call it before
#                                 `host_create HA dev ul0`. underlay_ip HOST prints a host's address.
#   link_rx NAME DEV / link_tx NAME DEV
#                                 rx/tx packet counters of DEV in the netns of NAME (a host, VM or ns_create
#                                 name, without $T), from ip -s -j link
#   vm_rx VM                      packets that arrived at the VM's eth0
#   stats_drop HOST REASON        a drop counter of `vpcbpf -j stats` (REASON as printed, e.g. spoofed-ip)
#   json_snapshot HOST            the whole state of HOST (`vpcbpf -j save`): compare before/after
#   switch_create SW NET HOST...  an underlay switch for more than two hosts: netns "$T-SW" with bridge br0
#                                 (NET.254/24) and a veth ul0 from each HOST's netns (created if missing),
#                                 the i-th HOST at NET.i/24 (underlay_ip HOST prints it)
#   proc_register PID             a background process (an agent, etcd) lib_cleanup kills (TERM, then KILL)
#                                 before anything else
#   etcd_start NAME               a real etcd (Debian's etcd-server) in the netns of NAME (a switch or host)
#                                 on a free port, data in a temp dir; sets ETCD_URL (http://ADDR:PORT, on
#                                 NAME's first IPv4 address) and ETCD_PID; extra etcd flags in ETCD_ARGS,
#                                 ETCD_SCHEME=https for TLS (give the certificate flags in ETCD_ARGS)
#   etcd_stop / etcd_restart      stops that etcd (TERM, waits) / starts it again: same data, same URL

#   free_port                     a TCP port nothing listens on now (random, 20000-59999), for a server
#   proc_start NAME CMD...        program CMD (not a shell function: its pid must be the process) in the
#                                 background, stdin /dev/null, output to "$(proc_log NAME)";
#                                 its pid is registered: lib_cleanup kills it (TERM, then KILL) first
#   proc_pid NAME / proc_log NAME the pid / the output file of a proc_start'ed process
#   proc_stop NAME [SECONDS]      SIGTERM, wait up to SECONDS (default 10) then SIGKILL; returns its
#                                 exit status (137 when it had to be killed; 127 when this shell is not
#                                 its parent, e.g. started in setup_file and stopped in a test)
#   wait_until SECONDS CMD...     runs CMD every 0.2 s until it succeeds (0) or SECONDS pass (1)
#   lib_tmpdir NAME               a fresh directory under the run's state dir (removed by lib_cleanup)
#
# Names: netns "$T-<name>", pin dirs "/sys/fs/bpf/$T-<name>". Link names only have to be unique inside
# the namespaces this run created, so they stay short and readable (ul0, vm1, eth0).

VPCBPF=${VPCBPF:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/vpcbpf}
BPFFS=${BPFFS:-/sys/fs/bpf}

lib_init() {
	if [ -z "${T:-}" ] || [ -z "${LIB_STATE:-}" ] || [ ! -d "$LIB_STATE" ]; then
		export T="t$$$((RANDOM % 1000))"
		export LIB_STATE
		LIB_STATE=$(mktemp -d "/tmp/vpcbpf-$T.XXXXXX")
		: >"$LIB_STATE/registry"
	fi
	export VPCBPF BPFFS
}

# Records what must be removed: kind name ("pin HOST", "ns NAME", "dir PATH").
lib_register() {
	lib_init
	echo "$*" >>"$LIB_STATE/registry"
}

lib_cleanup() {
	# Only a state dir lib_init made (mktemp /tmp/vpcbpf-T.*): it is removed at the end.
	case "${LIB_STATE:-}" in /tmp/vpcbpf-t*) ;; *) return 0 ;; esac
	[ -f "$LIB_STATE/registry" ] || return 0
	local kind name
	# Processes first (an agent would otherwise load a datapath again; a server may hold a pin dir,
	# a port or a netns), TERM then KILL.
	while read -r kind name; do
		[ "$kind" = proc ] && proc_stop "$name" 5 >/dev/null 2>&1
	done <"$LIB_STATE/registry"
	while read -r kind name; do
		[ "$kind" = pid ] && kill "$name" 2>/dev/null
	done <"$LIB_STATE/registry"
	while read -r kind name; do
		[ "$kind" = pid ] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$name" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$name" 2>/dev/null
	done <"$LIB_STATE/registry"
	# Datapaths next, while their namespaces (and NIC devices) still exist.
	while read -r kind name; do
		[ "$kind" = pin ] || continue
		# Only inside the host's own netns: NIC ifindexes mean other devices anywhere else. A netns
		# already gone took its devices and filters with it, so removing the pins is enough.
		if [ -e "/var/run/netns/$T-$name" ]; then
			timeout 10 "$VPCBPF" -n "$T-$name" -d "$BPFFS/$T-$name" dp down >/dev/null 2>&1
		fi
		rm -rf "${BPFFS:?}/$T-$name"
	done <"$LIB_STATE/registry"
	while read -r kind name; do
		[ "$kind" = ns ] || continue
		# Stray processes (a ping still running) would keep nothing alive, but kill them anyway.
		local pids
		pids=$(ip netns pids "$name" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
		ip netns del "$name" 2>/dev/null
	done <"$LIB_STATE/registry"
	while read -r kind name; do
		[ "$kind" = dir ] && rm -rf "$name"
	done <"$LIB_STATE/registry"
	rm -rf "$LIB_STATE"
	unset LIB_STATE
}

host_ns() { echo "$T-$1"; }
host_pin() { echo "$BPFFS/$T-$1"; }
vm_ns() { echo "$T-$1"; }

# A bare namespace: lo up, IPv6 off so no router solicitation or ND shows up in the counters.
ns_create() {
	lib_init
	local ns="$T-$1"
	[ -e "/var/run/netns/$ns" ] && return 0
	ip netns add "$ns" || return 1
	lib_register ns "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

host_create() {
	local host=$1
	shift
	ns_create "$host" || return 1
	lib_register pin "$host"
	vpcbpf_on "$host" dp up "$@" >/dev/null
}

vpcbpf_on() {
	local host=$1
	shift
	"$VPCBPF" -n "$T-$host" -d "$BPFFS/$T-$host" "$@"
}

vm_create() {
	local host=$1 vm=$2 addr=$3 gw=$4 mac=$5 mtu=${6:-}
	local ns="$T-$vm"
	ns_create "$vm" || return 1
	vm_nic_add "$host" "$vm" "$vm" eth0 "$addr" "$mac" "$mtu" || return 1
	ip -n "$ns" route add default via "$gw" dev eth0
}

vm_nic_add() {
	local host=$1 vm=$2 hdev=$3 vdev=$4 addr=$5 mac=$6 mtu=${7:-}
	local ns="$T-$vm"
	if [ "${#hdev}" -gt 15 ]; then
		echo "vm_nic_add: device name \"$hdev\" longer than 15 characters" >&2
		return 1
	fi
	ip -n "$T-$host" link add "$hdev" type veth peer name "$vdev" netns "$ns" || return 1
	ip -n "$ns" link set "$vdev" address "$mac"
	if [ -n "$mtu" ]; then
		ip -n "$ns" link set "$vdev" mtu "$mtu"
		ip -n "$T-$host" link set "$hdev" mtu "$mtu"
	fi
	ip -n "$ns" addr add "$addr" dev "$vdev"
	ip -n "$ns" link set "$vdev" up
	ip -n "$T-$host" link set "$hdev" up
}

in_vm() {
	local vm=$1
	shift
	ip netns exec "$T-$vm" "$@"
}

underlay_create() {
	local a=$1 b=$2 net=${3:-192.168.100}
	ns_create "$a" && ns_create "$b" || return 1
	ip -n "$T-$a" link add ul0 type veth peer name ul0 netns "$T-$b" || return 1
	ip -n "$T-$a" addr add "$net.1/24" dev ul0
	ip -n "$T-$b" addr add "$net.2/24" dev ul0
	ip -n "$T-$a" link set ul0 up
	ip -n "$T-$b" link set ul0 up
	echo "$a $net.1" >>"$LIB_STATE/underlay"
	echo "$b $net.2" >>"$LIB_STATE/underlay"
}

underlay_ip() {
	awk -v h="$1" '$1 == h { print $2; exit }' "$LIB_STATE/underlay"
}

link_rx() { ip -n "$T-$1" -s -j link show dev "$2" | jq -e '.[0].stats64.rx.packets'; }
link_tx() { ip -n "$T-$1" -s -j link show dev "$2" | jq -e '.[0].stats64.tx.packets'; }
vm_rx() { link_rx "$1" eth0; }

stats_drop() {
	vpcbpf_on "$1" -j stats | jq -e --arg r "$2" '.drops[$r]'
}

# `save` is the whole configured state (VPCs, subnets, NICs with their devices, routes, security
# groups), sorted: one process and one walk of each map instead of a show per object.
json_snapshot() {
	vpcbpf_on "$1" -j save
}

proc_register() { lib_register pid "$1"; }

switch_create() {
	local sw=$1 net=$2 i=0 h
	shift 2
	ns_create "$sw" || return 1
	ip -n "$T-$sw" link add br0 type bridge || return 1
	ip -n "$T-$sw" addr add "$net.254/24" dev br0
	ip -n "$T-$sw" link set br0 up
	for h in "$@"; do
		i=$((i + 1))
		ns_create "$h" || return 1
		ip -n "$T-$h" link add ul0 type veth peer name "p$i" netns "$T-$sw" || return 1
		ip -n "$T-$sw" link set "p$i" master br0 up
		ip -n "$T-$h" addr add "$net.$i/24" dev ul0
		ip -n "$T-$h" link set ul0 up
		echo "$h $net.$i" >>"$LIB_STATE/underlay"
	done
}

etcd_start() {
	local name=$1 addr port dir i
	lib_init
	addr=$(ip -n "$T-$name" -4 -j addr show | jq -r '[.[].addr_info[] | select(.scope == "global")][0].local')
	[ -n "$addr" ] && [ "$addr" != null ] || { echo "etcd_start: $name has no IPv4 address" >&2; return 1; }
	dir=$(mktemp -d "/tmp/vpcbpf-$T-etcd.XXXXXX")
	lib_register dir "$dir"
	for i in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		cat >"$dir/run" <<-RUN
		exec ip netns exec "$T-$name" etcd --name "$T" --data-dir "$dir/data" \\
			--listen-client-urls "${ETCD_SCHEME:-http}://$addr:$port" \\
			--advertise-client-urls "${ETCD_SCHEME:-http}://$addr:$port" \\
			--listen-peer-urls "http://127.0.0.1:$((port + 1))" \\
			--initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \\
			--initial-cluster "$T=http://127.0.0.1:$((port + 1))" ${ETCD_ARGS:-}
		RUN
		# shellcheck disable=SC2086
		ip netns exec "$T-$name" etcd --name "$T" --data-dir "$dir/data" \
			--listen-client-urls "${ETCD_SCHEME:-http}://$addr:$port" \
			--advertise-client-urls "${ETCD_SCHEME:-http}://$addr:$port" \
			--listen-peer-urls "http://127.0.0.1:$((port + 1))" \
			--initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
			--initial-cluster "$T=http://127.0.0.1:$((port + 1))" ${ETCD_ARGS:-} >"$dir/log" 2>&1 3>&- &
		ETCD_PID=$!
		proc_register "$ETCD_PID"
		ETCD_URL="${ETCD_SCHEME:-http}://$addr:$port"
		for _ in $(seq 50); do
			grep -q "ready to serve client requests" "$dir/log" && break
			kill -0 "$ETCD_PID" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q "ready to serve client requests" "$dir/log"; then
			export ETCD_URL ETCD_PID ETCD_DIR=$dir
			return 0
		fi
		kill "$ETCD_PID" 2>/dev/null
		wait "$ETCD_PID" 2>/dev/null
		rm -rf "$dir/data"
	done
	echo "etcd_start: etcd did not start (log: $dir/log)" >&2
	cat "$dir/log" >&2
	return 1
}

etcd_stop() {
	kill "$ETCD_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$ETCD_PID" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$ETCD_PID" 2>/dev/null
}

etcd_restart() {
	local n
	n=$(grep -c "ready to serve client requests" "$ETCD_DIR/log")
	bash "$ETCD_DIR/run" >>"$ETCD_DIR/log" 2>&1 3>&- &
	ETCD_PID=$!
	proc_register "$ETCD_PID"
	export ETCD_PID
	for _ in $(seq 50); do
		[ "$(grep -c "ready to serve client requests" "$ETCD_DIR/log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	echo "etcd_restart: etcd did not start again" >&2
	return 1
}

free_port() {
	local p i
	for i in $(seq 1 100); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		# -H: no header; anything listed means taken (any address, TCP)
		[ -z "$(ss -Htln "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	echo "free_port: no free port found" >&2
	return 1
}

proc_start() {
	lib_init
	local name=$1
	shift
	# 3>&-: BATS waits for whatever holds its fd 3; a server must not
	"$@" </dev/null >"$LIB_STATE/$name.log" 2>&1 3>&- &
	echo $! >"$LIB_STATE/$name.pid"
	lib_register proc "$name"
}

proc_pid() { cat "$LIB_STATE/$1.pid" 2>/dev/null; }
proc_log() { echo "$LIB_STATE/$1.log"; }

proc_stop() {
	local name=$1 secs=${2:-10} pid status i
	pid=$(proc_pid "$name") || return 0
	[ -n "$pid" ] || return 0
	rm -f "$LIB_STATE/$name.pid"
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	# wait works for our own children; a process of another shell (setup_file's) is only polled
	wait "$pid" 2>/dev/null
	status=$?
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	return $status
}

wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

lib_tmpdir() {
	lib_init
	mkdir -p "$LIB_STATE/$1" && echo "$LIB_STATE/$1"
}
