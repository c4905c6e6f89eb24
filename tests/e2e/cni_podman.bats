#!/usr/bin/env bats
# tests/e2e/cni_podman.bats — podman 4.3 (--network-backend cni) attaches containers through vpcbpf-cni.
#
# The world (setup_file): host h (netns, dp up on ul0) with VPC 100 (blue) and VPC 200 (red), both 10.0.0.0/24,
# and VPC 300 (green) 10.3.0.0/24. podman runs in h's netns (nsenter --net) with its own --root, --runroot,
# --tmpdir and --network-config-dir under $LIB_STATE, and finds the plugin as "vpcbpf" through cni_plugin_dirs in
# the containers.conf that CONTAINERS_CONF names. The image is busybox-static imported offline.
# Without podman these tests fail: they never skip.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf
load ../lib/cni

IMAGE=localhost/vpcbpf-busybox

# pm ARGS...: podman as this test file configures it, in the emulated host's netns.
pm() {
	CONTAINERS_CONF="$PD/containers.conf" TMPDIR="$PD/tmp" nsenter --net="/run/netns/$T-h" \
		podman --root "$PD/root" --runroot "$PD/runroot" --tmpdir "$PD/tmp" --storage-driver vfs \
		--network-backend cni --network-config-dir "$PD/net" --runtime runc --cgroup-manager cgroupfs \
		--events-backend file "$@"
}

# ctr NAME [podman run options...]: a container that sleeps until the test removes it.
ctr() {
	local name=$1
	shift
	pm run -d --name "$name" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@" "$IMAGE" sleep 600 >/dev/null
}

ip_of() { pm inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
rx_of() { pm exec "$1" cat /sys/class/net/"${2:-eth0}"/statistics/rx_packets; }
# CTR PORT: waits (5 s at most) until a TCP listener on PORT is up in the container (a fixed sleep raced it)
listening() {
	local pid i
	pid=$(pm inspect -f '{{.State.Pid}}' "$1")
	for i in $(seq 50); do
		[ -n "$(nsenter -t "$pid" -n ss -Hltn "sport = :$2")" ] && return 0
		sleep 0.1
	done
	echo "no listener on port $2 in $1" >&2
	return 1
}

conflist() { # NAME VNI SUBNET
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"vpcbpf","vpc":%s,"pinDir":"%s","ipam":{"type":"host-local","ranges":[[{"subnet":"%s"}]],"dataDir":"%s"}}]}\n' \
		"$1" "$2" "$(host_pin h)" "$3" "$PD/ipam" >"$PD/net/$1.conflist"
}

setup_file() {
	lib_init
	export PD="$LIB_STATE/podman"
	command -v podman >/dev/null || { echo "# podman is missing: make deps installs it" >&3; return 1; }
	[ -x /bin/busybox ] || { echo "# /bin/busybox is missing: busybox-static (make deps)" >&3; return 1; }
	[ -x "$CNI_PLUGIN" ] || { echo "# $CNI_PLUGIN is not built" >&3; return 1; }
	cni_host h || return 1
	vpcbpf_on h vpc add 100 && vpcbpf_on h vpc add 200 && vpcbpf_on h vpc add 300 &&
		vpcbpf_on h subnet add 10.0.0.0/24 vpc 100 && vpcbpf_on h subnet add 10.0.0.0/24 vpc 200 &&
		vpcbpf_on h subnet add 10.3.0.0/24 vpc 300 || return 1
	mkdir -p "$PD/net" "$PD/bin" "$PD/tmp" "$PD/rootfs/bin" "$PD/rootfs/tmp" "$PD/ipam"
	ln -s "$CNI_PLUGIN" "$PD/bin/vpcbpf"
	printf '[network]\ncni_plugin_dirs = ["%s", "/usr/lib/cni"]\n' "$PD/bin" >"$PD/containers.conf"
	conflist blue 100 10.0.0.0/24
	conflist red 200 10.0.0.0/24
	conflist green 300 10.3.0.0/24
	cp /bin/busybox "$PD/rootfs/bin/"
	local a
	for a in sh ping nc sleep cat ip; do ln -s busybox "$PD/rootfs/bin/$a"; done
	tar -C "$PD/rootfs" -c . | pm import - "$IMAGE" >/dev/null || { echo "# podman import failed" >&3; return 1; }
}

teardown() {
	pm rm -af -t 0 >/dev/null 2>&1
	return 0
}

teardown_file() {
	[ -n "${PD:-}" ] && [ -d "$PD" ] && { pm rm -af -t 0; pm rmi -af; } >/dev/null 2>&1
	lib_cleanup
}

# nothing_left: no veth of the plugin, no address held by host-local, no NIC in the datapath.
nothing_left() {
	local veths files nics
	veths=$(cni_veths)
	files=$(CNI_IPAM_DIR="$PD/ipam"; cni_ipam_files blue; cni_ipam_files red; cni_ipam_files green)
	nics=$(vpcbpf_on h -j nic show | jq -r '.[] | "\(.ip) vpc \(.vpc)"')
	[ -z "$veths$files$nics" ] || fail "left behind: veths [$veths] addresses [$files] NICs [$nics]"
}

@test "podman: the vpcbpf networks are listed with their driver" {
	run pm network ls --format '{{.Name}} {{.Driver}}'
	assert_success
	assert_line "blue vpcbpf"
	assert_line "red vpcbpf"
}

@test "podman: two containers on blue ping each other and talk TCP" {
	ctr b1 --network blue && ctr b2 --network blue || fail "podman run failed"
	local ip2
	ip2=$(ip_of b2 blue)
	[[ "$ip2" =~ ^10\.0\.0\.[0-9]+$ ]] || fail "b2 has address [$ip2]"
	run pm exec b1 ping -c 2 -W 2 "$ip2"
	assert_success
	pm exec -d b2 sh -c 'nc -l -p 7000 >/tmp/got'
	listening b2 7000
	# busybox nc -w: connect and idle timeout; generous, the machine may be loaded
	run pm exec b1 sh -c "echo over vpcbpf | nc -w 10 $ip2 7000"
	[ "$status" -eq 0 ] || fail "nc from b1 to $ip2:7000 exited $status: $output"
	local deadline=$((SECONDS + 30))
	until [ -n "$(pm exec b2 cat /tmp/got)" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
	assert_equal "$(pm exec b2 cat /tmp/got)" "over vpcbpf"
	# the datapath holds both NICs on the plugin's veths, with the containers' MACs
	assert_equal "$(vpcbpf_on h -j nic show vpc 100 | jq -r '.[] | .dev' | grep -c '^vpc')" 2
	assert_equal "$(vpcbpf_on h -j nic show vpc 100 | jq -r --arg ip "$ip2" '.[] | select(.ip == $ip) | .mac')" \
		"$(pm inspect -f '{{(index .NetworkSettings.Networks "blue").MacAddress}}' b2)"
}

@test "podman: a red container with a blue container's address reaches only red" {
	ctr b1 --network blue --ip 10.0.0.10 && ctr b2 --network blue --ip 10.0.0.11 &&
		ctr r1 --network red --ip 10.0.0.10 && ctr r2 --network red --ip 10.0.0.11 || fail "podman run failed"
	pm exec -d b2 sh -c 'echo blue | nc -l -p 7000'
	pm exec -d r2 sh -c 'echo red | nc -l -p 7000'
	listening b2 7000 && listening r2 7000
	local blue_rx red_rx
	blue_rx=$(rx_of b2)
	red_rx=$(rx_of r2)
	run pm exec r1 ping -c 3 -W 2 10.0.0.11
	assert_success
	[ "$(rx_of r2)" -ge $((red_rx + 3)) ] || fail "r2 did not get the pings"
	assert_equal "$(rx_of b2)" "$blue_rx"
	run pm exec r1 nc -w 3 10.0.0.11 7000
	assert_output red
	run pm exec b1 nc -w 3 10.0.0.11 7000
	assert_output blue
}

@test "podman: rm leaves no veth, no NIC, no address held" {
	ctr b1 --network blue && ctr b2 --network blue && ctr r1 --network red && ctr g1 --network green ||
		fail "podman run failed"
	assert_equal "$(cni_veths | wc -l)" 4
	assert_equal "$(vpcbpf_on h -j nic show | jq length)" 4
	pm rm -f -t 0 b1 b2 r1 g1 >/dev/null
	nothing_left
}

@test "podman: network reload and restart keep the address and the connectivity" {
	ctr b1 --network blue && ctr b2 --network blue || fail "podman run failed"
	local ip1 ip2 before
	ip1=$(ip_of b1 blue)
	ip2=$(ip_of b2 blue)
	before=$(vpcbpf_on h -j nic show vpc 100 | jq -c 'sort_by(.ip) | map({ip, mac, dev})')
	run pm network reload b1
	assert_success
	run pm exec b1 ping -c 2 -W 2 "$ip2"
	assert_success
	run pm network reload --all
	assert_success
	run pm exec b2 ping -c 2 -W 2 "$ip1"
	assert_success
	assert_equal "$(vpcbpf_on h -j nic show vpc 100 | jq -c 'sort_by(.ip) | map({ip, mac, dev})')" "$before"
	# restart: DEL then ADD; host-local may hand out a new address, the NIC follows
	run pm restart -t 0 b1
	assert_success
	ip1=$(ip_of b1 blue)
	run pm exec b2 ping -c 2 -W 2 "$ip1"
	assert_success
	assert_equal "$(vpcbpf_on h -j nic show vpc 100 | jq length)" 2
	assert_equal "$(CNI_IPAM_DIR="$PD/ipam" cni_ipam_files blue | wc -l)" 2
}

@test "podman: a container on two networks has two NICs in two VPCs" {
	ctr both --network blue --network green && ctr b1 --network blue && ctr g1 --network green ||
		fail "podman run failed"
	local gip bip
	gip=$(ip_of g1 green)
	bip=$(ip_of b1 blue)
	assert_equal "$(vpcbpf_on h -j nic show | jq -r --arg m "$(pm inspect -f '{{(index .NetworkSettings.Networks "blue").MacAddress}}' both)" \
		'[.[] | select(.mac == $m) | .vpc] | join(" ")')" 100
	assert_equal "$(vpcbpf_on h -j nic show | jq -r --arg m "$(pm inspect -f '{{(index .NetworkSettings.Networks "green").MacAddress}}' both)" \
		'[.[] | select(.mac == $m) | .vpc] | join(" ")')" 300
	run pm exec both ping -c 2 -W 2 "$gip"
	assert_success
	run pm exec both ping -c 2 -W 2 "$bip"
	assert_success
	pm rm -f -t 0 both b1 g1 >/dev/null
	nothing_left
}
