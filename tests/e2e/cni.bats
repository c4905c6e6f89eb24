#!/usr/bin/env bats
# tests/e2e/cni.bats — vpcbpf-cni against the CNI spec without a runtime: ADD, DEL, CHECK, VERSION, errors, leaks.
#
# The world (setup_file): host h (netns, dp up on ul0) with VPC 100 and VPC 200, both 10.0.0.0/24, VPC 300 with
# 10.3.0.0/24, and the security group web. Each test makes its own containers (netns "$T-ID") and its teardown
# DELs them, so that no address, veth or NIC passes from one test to the next. host-local is Debian's.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf
load ../lib/cni

setup_file() {
	lib_init
	[ -x "$CNI_PLUGIN" ] || { echo "# $CNI_PLUGIN is not built (make all)" >&3; return 1; }
	[ -x "$CNI_IPAM_PATH/host-local" ] || { echo "# host-local missing: containernetworking-plugins (make deps)" >&3; return 1; }
	cni_host h || return 1
	vpcbpf_on h vpc add 100 && vpcbpf_on h vpc add 200 && vpcbpf_on h vpc add 300 &&
		vpcbpf_on h subnet add 10.0.0.0/24 vpc 100 && vpcbpf_on h subnet add 10.0.0.0/24 vpc 200 &&
		vpcbpf_on h subnet add 10.3.0.0/24 vpc 300 && vpcbpf_on h sg add web || return 1
	vpcbpf_on h sg rule add web ingress proto icmp allow
}

teardown_file() {
	lib_cleanup
}

BLUE() { cni_netconf blue 100 "$@"; }
RED() { cni_netconf red 200 "$@"; }

# add ID [IFNAME] [CONF]: ADD that teardown undoes (DEL, then the netns goes); the result in $output.
add() {
	local id=$1 ifname=${2:-eth0} conf=${3:-$(BLUE)}
	[ -e "/var/run/netns/$T-$id" ] || cni_container "$id"
	printf '%s\n' "$conf" >"$LIB_STATE/conf.$id.$ifname"
	run --separate-stderr cni_call ADD "$id" "$conf" "$ifname"
}

teardown() {
	local f id ifname
	for f in "$LIB_STATE"/conf.*; do
		[ -e "$f" ] || continue
		id=${f#"$LIB_STATE"/conf.}
		ifname=${id#*.}
		id=${id%%.*}
		cni_call DEL "$id" "$(cat "$f")" "$ifname" >/dev/null 2>&1
		rm -f "$f"
	done
	for f in /var/run/netns/"$T"-c*; do
		[ -e "$f" ] && ip netns del "${f##*/}"
	done
	# NICs a failed test left (a plugin's or the test's own): the next test starts from none
	vpcbpf_on h -j nic show | jq -r '.[] | "\(.ip) \(.vpc)"' | while read -r ip vni; do
		vpcbpf_on h nic del "$ip" vpc "$vni"
	done
	return 0
}

# nothing_left: no veth of the plugin, no address held, no NIC in any VPC.
nothing_left() {
	local veths files nics
	veths=$(cni_veths)
	files=$(cni_ipam_files blue; cni_ipam_files red; cni_ipam_files green)
	nics=$(vpcbpf_on h -j nic show | jq -r '.[] | "\(.ip) vpc \(.vpc)"')
	[ -z "$veths$files$nics" ] || fail "left behind: veths [$veths] addresses [$files] NICs [$nics]"
}

# with_prev CONF RESULT: CONF with prevResult = RESULT (what the runtime sends to CHECK and DEL).
with_prev() {
	jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"
}

# cni_error CODE REGEX: the last run failed with a CNI error JSON of that code, whose msg matches.
cni_error() {
	[ "$status" -ne 0 ] || fail "succeeded, want error $1: $output"
	local code msg
	code=$(jq -r .code <<<"$output") || fail "not JSON: $output"
	msg=$(jq -r .msg <<<"$output")
	[ "$code" = "$1" ] || fail "code $code, want $1: $output"
	[[ "$msg" =~ $2 ]] || fail "msg \"$msg\" does not say /$2/"
	[ "$(jq -r .cniVersion <<<"$output")" = 1.0.0 ] || fail "no cniVersion: $output"
	# the spec's error object: these members in this order, the code a number
	[[ "$(jq -c 'keys_unsorted' <<<"$output")" =~ ^\[\"cniVersion\",\"code\",\"msg\"(,\"details\")?\]$ ]] ||
		fail "error members: $output"
	jq -e '.code | type == "number"' <<<"$output" >/dev/null || fail "code is no number: $output"
}

# stdin_call COMMAND ID FILE: the plugin with FILE as its stdin (bytes a shell variable cannot hold: NUL, 17 MiB)
stdin_call() {
	CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$T-$2 CNI_IFNAME=eth0 CNI_PATH=$CNI_IPAM_PATH \
		nsenter --net="/run/netns/$T-$CNI_HOST" "$CNI_PLUGIN" <"$3"
}

@test "VERSION: the versions the plugin speaks" {
	run --separate-stderr bash -c 'CNI_COMMAND=VERSION "$0" <<<"{\"cniVersion\":\"1.0.0\"}"' "$CNI_PLUGIN"
	assert_success
	assert_equal "$(jq -c .supportedVersions <<<"$output")" '["1.0.0"]'
	assert_equal "$(jq -r .cniVersion <<<"$output")" 1.0.0
}

@test "ADD: veth named after the container, peer as CNI_IFNAME, stable MAC, MTU 1450, address, default route, NIC" {
	add c1
	assert_success
	local r=$output hostif mac ip
	assert_equal "$(jq -r .cniVersion <<<"$r")" 1.0.0
	# the members in the order the plugin always wrote them, with their types
	assert_equal "$(jq -c '[keys_unsorted, (.interfaces | map(keys_unsorted)), (.ips[0] | keys_unsorted), (.routes[0] | keys_unsorted)]' <<<"$r")" \
		'[["cniVersion","interfaces","ips","routes","dns"],[["name","mac"],["name","mac","sandbox"]],["address","gateway","interface"],["dst","gw"]]'
	assert_equal "$(jq -c '[.ips[0].interface, .dns] | map(type)' <<<"$r")" '["number","object"]'
	hostif=$(jq -r '.interfaces[0].name' <<<"$r")
	mac=$(jq -r '.interfaces[1].mac' <<<"$r")
	ip=$(jq -r '.ips[0].address' <<<"$r")
	[[ "$hostif" =~ ^vpc[0-9a-f]{12}$ ]] || fail "host side $hostif"
	assert_equal "$(jq -r '.interfaces[1].name' <<<"$r")" eth0
	assert_equal "$(jq -r '.interfaces[1].sandbox' <<<"$r")" "/run/netns/$T-c1"
	assert_equal "$(jq -r '.ips[0].interface' <<<"$r")" 1
	assert_equal "$(jq -r '.ips[0].gateway' <<<"$r")" 10.0.0.1
	assert_equal "$(jq -c '.routes' <<<"$r")" '[{"dst":"0.0.0.0/0","gw":"10.0.0.1"}]'
	[[ "$ip" =~ ^10\.0\.0\.[0-9]+/24$ ]] || fail "address $ip"
	# the container's side
	local link
	link=$(ip -n "$T-c1" -j link show eth0)
	assert_equal "$(jq -r '.[0].address' <<<"$link")" "$mac"
	assert_equal "$(jq -r '.[0].mtu' <<<"$link")" 1450
	assert_equal "$(ip -n "$T-c1" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"')" "$ip"
	assert_equal "$(ip -n "$T-c1" -j route show default | jq -r '.[0] | "\(.gateway) \(.dev)"')" "10.0.0.1 eth0"
	# the host's side and the datapath
	assert_equal "$(ip -n "$T-h" -j link show "$hostif" | jq -r '.[0].mtu')" 1450
	run vpcbpf_on h -j nic show vpc 100
	assert_equal "$(jq -r --arg ip "${ip%/*}" '.[] | select(.ip == $ip) | "\(.mac) \(.dev)"' <<<"$output")" "$mac $hostif"
	# MAC and host side are the container's: the same after DEL and a new ADD
	run --separate-stderr cni_call DEL c1 "$(BLUE)"
	assert_success
	add c1
	assert_success
	assert_equal "$(jq -r '.interfaces[1].mac' <<<"$output")" "$mac"
	assert_equal "$(jq -r '.interfaces[0].name' <<<"$output")" "$hostif"
}

@test "two containers of one VPC ping each other and talk TCP" {
	add c1 && add c2
	local ip2
	ip2=$(jq -r '.ips[0].address | split("/")[0]' <<<"$output")
	run ip netns exec "$T-c1" ping -c 2 -W 2 "$ip2"
	assert_success
	timeout 10 ip netns exec "$T-c2" nc -l 7000 >"$LIB_STATE/got" </dev/null &
	local i
	for i in $(seq 50); do ip netns exec "$T-c2" ss -ltn | grep -q ':7000 ' && break; sleep 0.1; done
	echo "over vpcbpf" | timeout 5 ip netns exec "$T-c1" nc -N "$ip2" 7000
	wait
	assert_equal "$(cat "$LIB_STATE/got")" "over vpcbpf"
}

@test "equal addresses in two VPCs: a red container reaches only red" {
	# fresh address pools: both networks hand out .2 then .3
	export CNI_IPAM_DIR="$LIB_STATE/ipam-equal"
	add c1 eth0 "$(BLUE)" && add c2 eth0 "$(BLUE)" && add c3 eth0 "$(RED)" && add c4 eth0 "$(RED)"
	local r1 r2
	# host-local hands out .2, .3 in each network: c1 and c3 share 10.0.0.2, c2 and c4 share 10.0.0.3
	r1=$(ip -n "$T-c3" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')
	r2=$(ip -n "$T-c4" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')
	assert_equal "$r1" "$(ip -n "$T-c1" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')"
	assert_equal "$r2" "$(ip -n "$T-c2" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')"
	local blue_rx red_rx
	blue_rx=$(ip -n "$T-c2" -j -s link show eth0 | jq '.[0].stats64.rx.packets')
	red_rx=$(ip -n "$T-c4" -j -s link show eth0 | jq '.[0].stats64.rx.packets')
	run ip netns exec "$T-c3" ping -c 3 -W 2 "$r2"
	assert_success
	# the replies came from red's c4; blue's c2, at the same address, saw nothing
	[ "$(ip -n "$T-c4" -j -s link show eth0 | jq '.[0].stats64.rx.packets')" -ge $((red_rx + 3)) ] || fail "c4 got no pings"
	assert_equal "$(ip -n "$T-c2" -j -s link show eth0 | jq '.[0].stats64.rx.packets')" "$blue_rx"
}

@test "one container on two networks: two NICs in two VPCs, a default route through the first" {
	local green='"ipam":{"type":"host-local","ranges":[[{"subnet":"10.3.0.0/24"}]],"dataDir":"'"$LIB_STATE/ipam"'"}'
	add c1 eth0 "$(BLUE)"
	assert_success
	add c1 eth1 "$(cni_netconf green 300 "$green")"
	assert_success
	add c2 eth0 "$(cni_netconf green 300 "$green")"
	assert_success
	run ip netns exec "$T-c1" ping -c 1 -W 2 10.3.0.3
	assert_success
	assert_equal "$(vpcbpf_on h -j nic show | jq -r '[.[] | .vpc] | sort | join(" ")')" "100 300 300"
	assert_equal "$(ip -n "$T-c1" -j route show default | jq -r '.[] | "\(.dev) \(.metric // 0)"' | sort | head -1)" "eth0 0"
	run --separate-stderr cni_call DEL c1 "$(cni_netconf green 300 "$green")" eth1
	assert_success
	assert_equal "$(vpcbpf_on h -j nic show | jq -r '[.[] | .vpc] | sort | join(" ")')" "100 300"
}

@test "ADD twice for one container and interface: error 101, the first attachment stays whole" {
	add c1
	assert_success
	local first=$output
	add c1
	cni_error 101 "already has interface eth0"
	assert_equal "$(cni_ipam_files blue | wc -l)" 1
	run --separate-stderr cni_call CHECK c1 "$(with_prev "$(BLUE)" "$first")"
	assert_success
}

@test "DEL twice succeeds, and DEL after the netns is gone releases everything" {
	add c1
	assert_success
	local r=$output
	run --separate-stderr cni_call DEL c1 "$(with_prev "$(BLUE)" "$r")"
	assert_success
	assert_output ""
	run --separate-stderr cni_call DEL c1 "$(with_prev "$(BLUE)" "$r")"
	assert_success
	nothing_left
	# the runtime lost the netns before DEL (and, here, the cached result too)
	add c2
	assert_success
	ip netns del "$T-c2"
	run --separate-stderr cni_call DEL c2 "$(BLUE)"
	assert_success
	run --separate-stderr cni_call DEL c2 "$(BLUE)"
	assert_success
	nothing_left
}

@test "CHECK passes after ADD and names each difference after tampering" {
	add c1
	assert_success
	local prev conf ip mac hostif
	prev=$output
	conf=$(with_prev "$(BLUE)" "$prev")
	ip=$(jq -r '.ips[0].address' <<<"$prev")
	mac=$(jq -r '.interfaces[1].mac' <<<"$prev")
	hostif=$(jq -r '.interfaces[0].name' <<<"$prev")
	run --separate-stderr cni_call CHECK c1 "$conf"
	assert_success
	assert_output ""

	ip -n "$T-c1" route del default
	run --separate-stderr cni_call CHECK c1 "$conf"
	cni_error 102 "default route via 10.0.0.1 dev eth0 is missing"
	ip -n "$T-c1" route add default via 10.0.0.1 dev eth0

	ip -n "$T-c1" addr del "$ip" dev eth0
	run --separate-stderr cni_call CHECK c1 "$conf"
	cni_error 102 "address $ip is missing on eth0"
	ip -n "$T-c1" addr add "$ip" dev eth0
	ip -n "$T-c1" route add default via 10.0.0.1 dev eth0

	ip -n "$T-c1" link set eth0 address 02:00:00:00:00:99
	run --separate-stderr cni_call CHECK c1 "$conf"
	cni_error 102 "eth0 in the container has MAC 02:00:00:00:00:99, prevResult says $mac"
	ip -n "$T-c1" link set eth0 address "$mac"

	ip -n "$T-c1" link set eth0 down
	run --separate-stderr cni_call CHECK c1 "$conf"
	cni_error 102 "eth0 in the container is down"
	ip -n "$T-c1" link set eth0 up
	ip -n "$T-c1" route replace default via 10.0.0.1 dev eth0
	run --separate-stderr cni_call CHECK c1 "$conf"
	assert_success

	vpcbpf_on h nic set "${ip%/*}" vpc 100 sg web
	run --separate-stderr cni_call CHECK c1 "$conf"
	cni_error 102 "security group web in the datapath, the network says none"
	vpcbpf_on h nic set "${ip%/*}" vpc 100 sg none

	vpcbpf_on h nic del "${ip%/*}" vpc 100
	run --separate-stderr cni_call CHECK c1 "$conf"
	cni_error 102 "NIC ${ip%/*} is missing in VPC 100 of the datapath"
	vpcbpf_on h nic add "${ip%/*}" vpc 100 mac "$mac" dev "$hostif"
	run --separate-stderr cni_call CHECK c1 "$conf"
	assert_success

	mv "$LIB_STATE/ipam/blue/${ip%/*}" "$LIB_STATE/ipam/blue.held"
	run --separate-stderr cni_call CHECK c1 "$conf"
	cni_error 999 "ipam host-local CHECK: host-local: Failed to find address added by container c1"
	mv "$LIB_STATE/ipam/blue.held" "$LIB_STATE/ipam/blue/${ip%/*}"

	# a prevResult that is not what ADD gave
	run --separate-stderr cni_call CHECK c1 "$(with_prev "$(BLUE)" "$(jq -c '.ips[0].address = "10.0.0.77/24"' <<<"$prev")")"
	cni_error 102 "address 10.0.0.77/24 is missing on eth0"

	ip -n "$T-h" link del "$hostif"
	run --separate-stderr cni_call CHECK c1 "$conf"
	cni_error 102 "interface $hostif \(the host side of eth0\) is missing"
}

@test "the NIC takes the network's security group, and CHECK wants it there" {
	add c1 eth0 "$(BLUE '"sg":"web"')"
	assert_success
	local prev=$output ip
	ip=$(jq -r '.ips[0].address | split("/")[0]' <<<"$prev")
	assert_equal "$(vpcbpf_on h -j nic show vpc 100 | jq -r --arg ip "$ip" '.[] | select(.ip == $ip) | .sg')" web
	run --separate-stderr cni_call CHECK c1 "$(with_prev "$(BLUE '"sg":"web"')" "$prev")"
	assert_success
	vpcbpf_on h nic set "$ip" vpc 100 sg none
	run --separate-stderr cni_call CHECK c1 "$(with_prev "$(BLUE '"sg":"web"')" "$prev")"
	cni_error 102 "security group none in the datapath, the network says web"
}

@test "a bad network config gets a CNI error saying what is wrong, and leaves nothing behind" {
	local v6='"ipam":{"type":"host-local","ranges":[[{"subnet":"fd00::/64"}]],"dataDir":"'"$LIB_STATE/ipam"'"}'
	local wrong='"ipam":{"type":"host-local","ranges":[[{"subnet":"10.3.0.0/24"}]],"dataDir":"'"$LIB_STATE/ipam"'"}'
	local badgw='"ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24","gateway":"10.0.0.9"}]],"dataDir":"'"$LIB_STATE/ipam"'"}'
	local nodir="$LIB_STATE/nodatapath"
	mkdir -p "$nodir"
	cni_container c1
	while IFS='|' read -r code regex conf; do
		run --separate-stderr cni_call ADD c1 "$conf"
		cni_error "$code" "$regex"
		nothing_left
		run ip -n "$T-c1" link show eth0
		assert_failure
	done <<EOF
7|VPC 999 does not exist in the datapath|$(cni_netconf blue 999)
7|ipam subnet 10.3.0.0/24 is not a subnet of VPC 100|$(BLUE "$wrong")
7|ipam gateway 10.0.0.9 is not the gateway 10.0.0.1|$(BLUE "$badgw")
7|mtu 9000 is more than the overlay carries \(underlay MTU 1500 - 50 = 1450\)|$(BLUE '"mtu":9000')
7|"mtu" 10 is out of range \(68..65535\)|$(BLUE '"mtu":10')
7|"mtu" must be a whole number|$(BLUE '"mtu":"big"')
7|missing "ipam"|$(jq -c 'del(.ipam)' <<<"$(BLUE)")
7|"ipam" has no "type"|$(jq -c 'del(.ipam.type)' <<<"$(BLUE)")
7|ipam plugin "nosuch" not found in CNI_PATH|$(jq -c '.ipam.type = "nosuch"' <<<"$(BLUE)")
7|ipam subnet "fd00::/64" is IPv6|$(BLUE "$v6")
7|security group "nosuch" does not exist|$(BLUE '"sg":"nosuch"')
7|"sg" "no/such" is no security group name|$(BLUE '"sg":"no/such"')
7|missing "vpc"|$(jq -c 'del(.vpc)' <<<"$(BLUE)")
7|"vpc" 0 is out of range|$(cni_netconf blue 0)
7|"vpc" 16777216 is out of range|$(cni_netconf blue 16777216)
7|missing "name"|$(jq -c 'del(.name)' <<<"$(BLUE)")
7|needs both "etcd" \(URL\) and "host"|$(BLUE '"host":"a"')
1|cniVersion "0.4.0" is not supported|$(jq -c '.cniVersion = "0.4.0"' <<<"$(BLUE)")
6|not JSON|{"cniVersion":"1.0.0",
6|not a JSON object|[1,2]
6|not JSON: 2:1: the JSON ends too early|{"cniVersion":"1.0.0",
6|not JSON: 2:1: the document is empty|
6|not JSON: 1:9: parse error: trailing garbage|{"a":1} x
6|not JSON: 1:65: nested too deep|$(printf '[%.0s' $(seq 70))$(printf ']%.0s' $(seq 70))
6|"prevResult" is not an object|$(BLUE '"prevResult":[1]')
7|"vpc" must be a whole number \(1..16777215\), not "100"|$(jq -c '.vpc = "100"' <<<"$(BLUE)")
7|"vpc" must be a whole number \(1..16777215\), not 100.5|$(jq -c '.vpc = 100.5' <<<"$(BLUE)")
7|"vpc" must be a whole number \(1..16777215\), not \{"a":\[1\]\}|$(jq -c '.vpc = {"a":[1]}' <<<"$(BLUE)")
7|"vpc" 99999999999999999999 is out of range|$(cni_netconf blue 99999999999999999999)
7|VPC 999 does not exist in the datapath|$(BLUE '"vpc":999')
7|"name" must be a non-empty string|$(jq -c '.name = 7' <<<"$(BLUE)")
7|"sg" must be a non-empty string|$(BLUE '"sg":["web"]')
7|missing "ipam"|$(jq -c '.ipam = "host-local"' <<<"$(BLUE)")
7|ipam "ranges" must be a list of range sets|$(jq -c '.ipam.ranges = {}' <<<"$(BLUE)")
7|ipam range 0.0 is not an object|$(jq -c '.ipam.ranges = [["10.0.0.0/24"]]' <<<"$(BLUE)")
100|the datapath is not loaded at $nodir|$(jq -c --arg d "$nodir" '.pinDir = $d' <<<"$(BLUE)")
EOF
}

@test "stdin that is no netconf (a NUL byte, bytes not UTF-8, more than 16 MiB) and a CNI_* value not UTF-8: a CNI error, nothing left" {
	cni_container c1
	printf '{"cniVersion":"1.0.0","name":"a\0b"}' >"$LIB_STATE/in"
	run --separate-stderr stdin_call ADD c1 "$LIB_STATE/in"
	cni_error 6 'not JSON: 1:31: lexical error: invalid character inside string'
	printf '{"cniVersion":"1.0.0","name":"\xff"}' >"$LIB_STATE/in"
	run --separate-stderr stdin_call ADD c1 "$LIB_STATE/in"
	cni_error 6 'not JSON: 1:31: lexical error: invalid bytes in UTF8 string'
	# 17 MiB of otherwise good netconf: refused before it is parsed
	{ printf '%s' "$(BLUE)" | head -c -1; printf ',"pad":"'; head -c $((17 << 20)) /dev/zero | tr '\0' x; printf '"}'; } >"$LIB_STATE/in"
	run --separate-stderr stdin_call ADD c1 "$LIB_STATE/in"
	cni_error 6 'network config on stdin is larger than 16 MiB'
	run --separate-stderr cni_call ADD c1 "$(BLUE)" "$(printf 'e\xff')"
	cni_error 4 'CNI_IFNAME is not UTF-8'
	run --separate-stderr bash -c 'CNI_COMMAND=ADD CNI_CONTAINERID=$(printf "c\xfe") CNI_IFNAME=eth0 CNI_NETNS=/run/netns/x CNI_PATH=/usr/lib/cni "$0" <<<"$1"' "$CNI_PLUGIN" "$(BLUE)"
	cni_error 4 'CNI_CONTAINERID is not UTF-8'
	nothing_left
	run ip -n "$T-c1" link show eth0
	assert_failure
}

@test "a failure after the IPAM gave an address gives it back and removes the veth" {
	# the container already has an eth0: the veth cannot be made
	export CNI_IPAM_DIR="$LIB_STATE/ipam-fresh1"
	cni_container c1
	ip -n "$T-c1" link add eth0 type veth peer name eth9
	add c1
	cni_error 101 "the container already has an interface eth0"
	nothing_left
	# the address host-local hands out first is already an operator's NIC: the datapath refuses it
	vpcbpf_on h nic add 10.0.0.2 vpc 100 mac 02:00:00:00:00:02 remote 192.168.100.2
	export CNI_IPAM_DIR="$LIB_STATE/ipam-fresh2" # host-local hands out 10.0.0.2 first
	add c2
	cni_error 100 "NIC 10.0.0.2 already exists in VPC 100"
	assert_equal "$(cni_veths)" ""
	assert_equal "$(cni_ipam_files blue)" ""
	assert_equal "$(vpcbpf_on h -j nic show | jq -r '.[] | "\(.ip) \(.remote)"')" "10.0.0.2 192.168.100.2"
	vpcbpf_on h nic del 10.0.0.2 vpc 100
}

@test "an IPAM plugin answering badly (not JSON, more than 16 MiB, no IPv4, its own error with details): a CNI error, nothing left" {
	# four small IPAM plugins that misbehave, first on CNI_PATH; host-local stays there for the rest
	local dir="$LIB_STATE/badipam"
	mkdir -p "$dir"
	printf '#!/bin/sh\ncat >/dev/null\necho "not json"\n' >"$dir/ipam-notjson"
	printf '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && head -c %d /dev/zero | tr "\\\\0" " "\nexit 0\n' $((17 << 20)) >"$dir/ipam-huge"
	printf '#!/bin/sh\ncat >/dev/null\necho '"'"'{"cniVersion":"1.0.0","ips":[{"address":"fd00::2/64"}]}'"'"'\n' >"$dir/ipam-v6"
	printf '#!/bin/sh\ncat >/dev/null\necho '"'"'{"cniVersion":"1.0.0","code":42,"msg":"pool \\"x\\" is empty","details":"254 of 254 held"}'"'"'\nexit 1\n' >"$dir/ipam-error"
	chmod +x "$dir"/ipam-*
	CNI_IPAM_PATH="$dir:$CNI_IPAM_PATH"
	cni_container c1
	run --separate-stderr cni_call ADD c1 "$(jq -c '.ipam.type = "ipam-notjson"' <<<"$(BLUE)")"
	cni_error 6 '^ipam ipam-notjson returned no JSON result: 1:1: lexical error'
	run --separate-stderr cni_call ADD c1 "$(jq -c '.ipam.type = "ipam-huge"' <<<"$(BLUE)")"
	cni_error 6 '^ipam ipam-huge ADD wrote more than 16 MiB$'
	run --separate-stderr cni_call ADD c1 "$(jq -c '.ipam.type = "ipam-v6"' <<<"$(BLUE)")"
	cni_error 7 '^ipam ipam-v6 gave no IPv4 address'
	run --separate-stderr cni_call ADD c1 "$(jq -c '.ipam.type = "ipam-error"' <<<"$(BLUE)")"
	cni_error 42 '^ipam ipam-error ADD: pool "x" is empty$'
	assert_equal "$(jq -r .details <<<"$output")" "254 of 254 held"
	nothing_left
	run ip -n "$T-c1" link show eth0
	assert_failure
}

@test "missing or bad CNI_* variables: error 4 naming the variable" {
	cni_container c1
	run --separate-stderr bash -c 'CNI_COMMAND=ADD CNI_IFNAME=eth0 CNI_NETNS=/run/netns/x CNI_PATH=/usr/lib/cni "$0" <<<"$1"' "$CNI_PLUGIN" "$(BLUE)"
	cni_error 4 "CNI_CONTAINERID is not set"
	run --separate-stderr bash -c 'CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$0" <<<"$1"' "$CNI_PLUGIN" "$(BLUE)"
	cni_error 4 "CNI_NETNS is not set"
	run --separate-stderr bash -c 'CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/x CNI_PATH=/usr/lib/cni "$0" <<<"$1"' "$CNI_PLUGIN" "$(BLUE)"
	cni_error 4 "CNI_IFNAME is not set"
	run --separate-stderr bash -c 'CNI_COMMAND=ATTACH "$0" <<<"$1"' "$CNI_PLUGIN" "$(BLUE)"
	cni_error 4 'CNI_COMMAND "ATTACH" is not ADD, DEL, CHECK or VERSION'
	run --separate-stderr cni_call ADD c1 "$(BLUE)" "a/b"
	cni_error 4 'CNI_IFNAME "a/b" is not a valid interface name'
	nothing_left
}

@test "ADDs and DELs run at once (a runtime starting containers in parallel) all succeed, one address each" {
	local i n=8
	for i in $(seq "$n"); do cni_container "c$i"; printf '%s\n' "$(BLUE)" >"$LIB_STATE/conf.c$i.eth0"; done
	for i in $(seq "$n"); do cni_call ADD "c$i" "$(BLUE)" >"$LIB_STATE/par.$i" 2>&1 & done
	wait
	for i in $(seq "$n"); do
		jq -e '.ips[0].address' "$LIB_STATE/par.$i" >/dev/null || fail "ADD c$i: $(cat "$LIB_STATE/par.$i")"
	done
	assert_equal "$(cat "$LIB_STATE"/par.* | jq -r '.ips[0].address' | sort -u | wc -l)" "$n"
	assert_equal "$(vpcbpf_on h -j nic show vpc 100 | jq length)" "$n"
	run ip netns exec "$T-c1" ping -c 1 -W 2 "$(jq -r '.ips[0].address | split("/")[0]' "$LIB_STATE/par.$n")"
	assert_success
	for i in $(seq "$n"); do cni_call DEL "c$i" "$(BLUE)" >"$LIB_STATE/par.$i" 2>&1 & done
	wait
	for i in $(seq "$n"); do [ ! -s "$LIB_STATE/par.$i" ] || fail "DEL c$i: $(cat "$LIB_STATE/par.$i")"; done
	nothing_left
}

@test "attach and detach containers in a loop: no veth, NIC, address or fd left; time per ADD and DEL" {
	local n=${CNI_LOOP:-10} i t0 t1 add_ns=0 del_ns=0 errs="$LIB_STATE/loop.stderr"
	for i in $(seq "$n"); do cni_container "c$i"; done
	for i in $(seq "$n"); do
		t0=$(date +%s%N)
		cni_call ADD "c$i" "$(BLUE)" >/dev/null 2>>"$errs" || fail "ADD c$i: $(cat "$errs")"
		t1=$(date +%s%N)
		add_ns=$((add_ns + t1 - t0))
	done
	assert_equal "$(cni_veths | wc -l)" "$n"
	assert_equal "$(vpcbpf_on h -j nic show vpc 100 | jq length)" "$n"
	for i in $(seq "$n"); do
		t0=$(date +%s%N)
		cni_call DEL "c$i" "$(BLUE)" >/dev/null 2>>"$errs" || fail "DEL c$i: $(cat "$errs")"
		t1=$(date +%s%N)
		del_ns=$((del_ns + t1 - t0))
	done
	nothing_left
	# the NIC counters and device bindings of the datapath went with the NICs
	assert_equal "$(bpftool map dump pinned "$(host_pin h)/nic_stats" -j | jq length)" 0
	assert_equal "$(bpftool map dump pinned "$(host_pin h)/ifindex_nics" -j | jq length)" 0
	# every fd the plugin opened was closed (it says so on stderr otherwise)
	run grep -c "left open" "$errs"
	assert_output 0
	echo "# $n containers: ADD $((add_ns / n / 1000000)) ms, DEL $((del_ns / n / 1000000)) ms on average" >&3
}
