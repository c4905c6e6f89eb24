#!/usr/bin/env bats
# tests/cli/topology.bats — vpcbpf topology: the network as Graphviz dot and as JSON, from the same state.
load common

# Two VPCs; an appliance VM "fw" with one NIC in each (source check off), routes through it, a peering,
# a blackhole, and a NIC on another host.
topo_world() {
	v vpc add 10 name blue >/dev/null &&
		v vpc add 20 name red >/dev/null &&
		v subnet add 10.0.1.0/24 vpc 10 name front >/dev/null &&
		v subnet add 10.9.0.0/24 vpc 20 >/dev/null &&
		vm_create h vm1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10 &&
		vm_create h fw 10.0.1.254/24 10.0.1.1 02:00:00:00:0f:01 &&
		vm_nic_add h fw fwb eth1 10.9.0.254/24 02:00:00:00:0f:02 &&
		v nic add 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm1 >/dev/null &&
		v nic add 10.0.1.254 vpc 10 mac 02:00:00:00:0f:01 dev fw source-check off >/dev/null &&
		v nic add 10.9.0.254 vpc 20 mac 02:00:00:00:0f:02 dev fwb source-check off >/dev/null &&
		v nic add 10.9.0.7 vpc 20 mac 02:00:00:00:09:07 remote 192.0.2.77 >/dev/null &&
		v route add 172.16.0.0/12 vpc 10 via 10.0.1.254 advertise >/dev/null &&
		v route add 10.20.0.0/16 vpc 10 peer 20 >/dev/null &&
		v route add 10.66.0.0/16 vpc 20 blackhole >/dev/null ||
		fail "topo_world failed"
}

@test "topology: dot that Graphviz draws without a warning, with every object of the state" {
	command -v dot >/dev/null || fail "dot (graphviz) is missing: make deps installs it"
	topo_world
	run --separate-stderr v topology
	assert_success
	[ -z "$stderr" ]
	dotfile=$LIB_STATE/topo.dot
	printf '%s\n' "$output" >"$dotfile"
	run --separate-stderr dot -Tsvg "$dotfile" -o "$LIB_STATE/topo.svg"
	[ "$status" -eq 0 ] || fail "dot failed: $stderr"
	[ -z "$stderr" ] || fail "dot warned: $stderr"
	grep -q '<svg' "$LIB_STATE/topo.svg"
	# VPCs are clusters with their names, subnets clusters inside them, NICs nodes inside those.
	grep -q 'subgraph "cluster_vpc_10"' "$dotfile"
	grep -q 'label="VPC 20 red"' "$dotfile"
	grep -q 'subgraph "cluster_subnet_10_10.0.1.0/24"' "$dotfile"
	grep -q '"nic 10 10.0.1.10" \[label="10.0.1.10\\n02:00:00:00:01:10\\ndev vm1"\]' "$dotfile"
	# Appliances stand out; the route through one is an edge from its NIC to the destination.
	grep -q '"nic 10 10.0.1.254" \[label="appliance\\n10.0.1.254.*shape=box3d' "$dotfile"
	grep -q '"nic 10 10.0.1.254" -> "dst 10 172.16.0.0/12" \[label="route (advertise)"' "$dotfile"
	# Both NICs of the appliance VM are joined: one VM across two VPCs.
	grep -q '"nic 10 10.0.1.254" -> "nic 20 10.9.0.254" \[dir=none.*same VM' "$dotfile"
	! grep -q '"nic 10 10.0.1.10" -> "nic' "$dotfile"
	# Peering points at the other VPC, a blackhole is marked, hosts are drawn with their NICs.
	grep -q '"dst 10 10.20.0.0/16" -> "vpc 20" \[label="peer", lhead="cluster_vpc_20"' "$dotfile"
	grep -q '"dst 20 10.66.0.0/16" \[label="10.66.0.0/16\\nblackhole", shape=octagon' "$dotfile"
	grep -q '"host 192.0.2.77" \[label="host 192.0.2.77"' "$dotfile"
	grep -q '"nic 20 10.9.0.7" -> "host 192.0.2.77"' "$dotfile"
	grep -q '(this host)' "$dotfile"
}

@test "topology -j: the same model as JSON" {
	topo_world
	ok_json topology
	jq -e '.vpcs | map(.vni) == [10, 20]' <<<"$output"
	jq -e '.vpcs[0].name == "blue" and (.vpcs[0].subnets[0] | .cidr == "10.0.1.0/24" and .name == "front")' <<<"$output"
	jq -e '[.vpcs[].subnets[].nics[] | select(.appliance)] | map(.ip) == ["10.0.1.254", "10.9.0.254"]' <<<"$output"
	# The appliance's two NICs share a VM id; the plain VM has another one.
	jq -e '[.vpcs[].subnets[].nics[] | select(.appliance) | .vm] | (length == 2 and .[0] == .[1])' <<<"$output"
	jq -e '[.vpcs[].subnets[].nics[] | select(.ip == "10.0.1.10") | .vm][0] != ([.vpcs[].subnets[].nics[] | select(.appliance) | .vm][0])' <<<"$output"
	jq -e '.vpcs[0].routes == [{"prefix":"10.20.0.0/16","kind":"peer","peer":20,"advertise":false},{"prefix":"172.16.0.0/12","kind":"via","via":"10.0.1.254","advertise":true}]' <<<"$output"
	jq -e '.vpcs[1].routes == [{"prefix":"10.66.0.0/16","kind":"blackhole","advertise":false}]' <<<"$output"
	jq -e '.hosts | length == 2 and (map(select(.local)) | length == 1) and (map(.underlay) | index("192.0.2.77") != null)' <<<"$output"
	jq -e '[.vpcs[].subnets[].nics[] | select(.ip == "10.9.0.7")][0] | .host == "192.0.2.77" and (has("dev") | not)' <<<"$output"
}

@test "topology of an empty host is an empty graph; extra words are refused" {
	run v topology
	assert_success
	assert_line --index 0 "digraph vpcbpf {"
	assert_line --partial "(this host)"
	ok_json topology
	jq -e '.vpcs == [] and (.hosts | length == 1)' <<<"$output"
	refuses bogus topology bogus
}
