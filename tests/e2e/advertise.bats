#!/usr/bin/env bats
# tests/e2e/advertise.bats — routes marked advertise reach a kernel table per VPC, BIRD imports them and a BGP peer learns and unlearns them.
#
# Host h runs vpcbpf (VPC 101, subnet 10.1.0.0/24, NIC 10.1.0.2 of a vCPE on another host) and
# BIRD "h": `protocol kernel` learning VPC 101's table (100000101) and a BGP session over veth
# bgp0 (10.255.0.1/30) to BIRD "peer" in namespace peer (10.255.0.2/30, AS 65001).
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf
load ../lib/bird

TABLE=100000101

# VPCs 101 and 102; in 101 the NIC of a vCPE that lives on another host.
world() {
	vpcbpf_on h vpc add 101 &&
		vpcbpf_on h vpc add 102 &&
		vpcbpf_on h subnet add 10.1.0.0/24 vpc 101 &&
		vpcbpf_on h nic add 10.1.0.2 vpc 101 mac 02:00:00:00:01:02 remote 192.168.100.2
}

setup_file() {
	lib_init
	host_create h
	ns_create peer
	ip -n "$T-h" link add bgp0 type veth peer name bgp0 netns "$T-peer"
	ip -n "$T-h" addr add 10.255.0.1/30 dev bgp0
	ip -n "$T-peer" addr add 10.255.0.2/30 dev bgp0
	ip -n "$T-h" link set bgp0 up
	ip -n "$T-peer" link set bgp0 up
	world

	bird_start h "$T-h" "router id 10.255.0.1;
protocol device { scan time 10; }
protocol kernel vpc101 {
	kernel table $TABLE;
	learn;
	scan time 2;
	ipv4 { import all; export none; };
}
protocol bgp peer {
	local 10.255.0.1 as 65000;
	neighbor 10.255.0.2 as 65001;
$(bird_bgp_timers)
	ipv4 { import none; export all; };
}" || return 1
	bird_start peer "$T-peer" "router id 10.255.0.2;
protocol device { scan time 10; }
protocol bgp h {
	local 10.255.0.2 as 65001;
	neighbor 10.255.0.1 as 65000;
$(bird_bgp_timers)
	ipv4 { import all; export none; };
}" || return 1
	bird_wait_established peer h
}

teardown_file() {
	bird_stop_all
	lib_cleanup
}

# Our routes in the host's kernel, as "TABLE PREFIX" lines.
kernel_routes() {
	ip -n "$T-h" -j route show table all proto 250 | jq -r '.[] | "\(.table) \(.dst)"' | sort
}

@test "advertise: a marked route is written to its VPC's table with proto 250, and only a marked one" {
	vpcbpf_on h route add 192.168.129.0/24 vpc 101 via 10.1.0.2 advertise
	vpcbpf_on h route add 10.30.0.0/16 vpc 101 via 10.1.0.2
	run kernel_routes
	assert_output "$TABLE 192.168.129.0/24"
	run ip -n "$T-h" route show table "$TABLE" 192.168.129.0/24
	assert_output --partial "blackhole 192.168.129.0/24 proto 250"
	vpcbpf_on h route del 192.168.129.0/24 vpc 101
	vpcbpf_on h route del 10.30.0.0/16 vpc 101
	run kernel_routes
	assert_output ""
}

@test "advertise: BIRD imports the table and its BGP peer learns the route; removing it withdraws it" {
	vpcbpf_on h route add 192.168.129.0/24 vpc 101 via 10.1.0.2 advertise
	bird_wait_route peer 192.168.129.0/24 || fail "the BGP peer never learned 192.168.129.0/24: $(birdc_on peer show route)"
	run birdc_on peer show route 192.168.129.0/24 all
	assert_output --partial "BGP.as_path: 65000"
	assert_output --partial "via 10.255.0.1"
	vpcbpf_on h route del 192.168.129.0/24 vpc 101
	bird_wait_no_route peer 192.168.129.0/24 || fail "the BGP peer still has 192.168.129.0/24 after route del"
}

@test "advertise: replace without the flag, batch and apply withdraw and announce like single commands" {
	vpcbpf_on h route add 10.40.0.0/16 vpc 101 via 10.1.0.2 advertise
	bird_wait_route peer 10.40.0.0/16
	vpcbpf_on h route replace 10.40.0.0/16 vpc 101 via 10.1.0.2
	run kernel_routes
	assert_output ""
	bird_wait_no_route peer 10.40.0.0/16 || fail "not withdrawn after replace"
	printf '%s\n' "route add 10.41.0.0/16 vpc 101 blackhole advertise" "route add 10.42.0.0/16 vpc 102 blackhole advertise" |
		vpcbpf_on h -b -
	run kernel_routes
	assert_output "$TABLE 10.41.0.0/16
100000102 10.42.0.0/16"
	# apply the saved state minus the routes: both withdrawn in the same commit
	vpcbpf_on h -j save | jq '.routes = []' | vpcbpf_on h apply -
	run kernel_routes
	assert_output ""
}

@test "advertise: a route of another source in the table is never touched; dp down withdraws ours" {
	ip -n "$T-h" route add blackhole 10.99.0.0/16 table "$TABLE"
	vpcbpf_on h route add 10.50.0.0/16 vpc 101 via 10.1.0.2 advertise
	vpcbpf_on h route add 10.51.0.0/16 vpc 101 via 10.1.0.2
	run ip -n "$T-h" route show table "$TABLE" 10.99.0.0/16
	assert_output --partial "blackhole 10.99.0.0/16"
	# a route of ours the state no longer has (left by a crash) goes at the next commit
	ip -n "$T-h" route add blackhole 10.77.0.0/16 table "$TABLE" proto 250
	vpcbpf_on h route del 10.51.0.0/16 vpc 101
	run kernel_routes
	assert_output "$TABLE 10.50.0.0/16"
	# the same prefix from someone else: a clear error, the other route kept
	run --separate-stderr vpcbpf_on h route add 10.99.0.0/16 vpc 101 via 10.1.0.2 advertise
	assert_failure
	[[ "$stderr" == *"10.99.0.0/16 table $TABLE: the table already has that route from another source"* ]] ||
		fail "unclear error: $stderr"
	run ip -n "$T-h" route show table "$TABLE" 10.99.0.0/16
	assert_output --partial "blackhole 10.99.0.0/16"
	refute_output --partial "proto 250"
	vpcbpf_on h route del 10.99.0.0/16 vpc 101
	vpcbpf_on h dp down
	run kernel_routes
	assert_output ""
	run ip -n "$T-h" route show table "$TABLE"
	assert_output --partial "blackhole 10.99.0.0/16"
	ip -n "$T-h" route del blackhole 10.99.0.0/16 table "$TABLE"
	# back to the world the other tests start from
	vpcbpf_on h dp up >/dev/null
	world
}

@test "advertise: vpc add/set ... table N puts the VPC's advertised routes in table N; save/apply carry it" {
	vpcbpf_on h vpc add 103 table 4242
	vpcbpf_on h route add 10.60.0.0/16 vpc 103 blackhole advertise
	run kernel_routes
	assert_output "4242 10.60.0.0/16"
	run vpcbpf_on h -j vpc show 103
	[ "$(jq '.[0].table' <<<"$output")" = 4242 ] || fail "$output"
	# vpc set moves the routes in the same commit
	vpcbpf_on h vpc set 103 table 4343
	run kernel_routes
	assert_output "4343 10.60.0.0/16"
	local saved
	saved=$(vpcbpf_on h -j save)
	[ "$(jq '.vpcs[] | select(.vni == 103) | .table' <<<"$saved")" = 4343 ] || fail "$saved"
	# apply of the document with the table changed: the same
	jq '(.vpcs[] | select(.vni == 103) | .table) = 4242' <<<"$saved" | vpcbpf_on h apply -
	run kernel_routes
	assert_output "4242 10.60.0.0/16"
	vpcbpf_on h vpc set 103 table default
	run kernel_routes
	assert_output "100000103 10.60.0.0/16"
	run vpcbpf_on h vpc add 104 table 254
	assert_failure
	assert_output --partial "table 254 is one of the kernel's own"
	vpcbpf_on h route flush vpc 103
	vpcbpf_on h vpc del 103
	run kernel_routes
	assert_output ""
}
