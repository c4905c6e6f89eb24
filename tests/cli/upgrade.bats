#!/usr/bin/env bats
# tests/cli/upgrade.bats — dp up on the pin dir of an older vpcbpf: NIC records of 32 bytes and counters in a per-CPU hash become counter slots, every counter kept.
load common

# Hosts here are made by hand: the pin dir first holds what an older vpcbpf pinned.
setup() {
	lib_init
	ns_create h || fail "ns_create failed"
	lib_register pin h
	P=$(host_pin h)
	mkdir -p "$P"
	NCPU=$(( $(cat /sys/devices/system/cpu/possible | awk -F- '{ print $NF }') + 1 ))
}

# bytes N...: N as 8 little-endian bytes
le64() { local n=$1; for _ in 1 2 3 4 5 6 7 8; do printf '%d ' $((n & 255)); n=$((n >> 8)); done; }

# old_nic DIR NAME_SUFFIX VNI A B C D MAC_LAST: a remote NIC record of the old layout (struct nic of 32 bytes) in 10.0.1.0/24
old_nic() {
	local map=$1 vni=$2 last=$3
	bpftool map update pinned "$map" key $vni 0 0 0 10 0 1 $last \
		value 2 0 0 0 1 $last 6 24 10 0 1 0 10 0 1 1 0 0 0 0 192 168 100 2 0 0 0 0 0 0 0 0
}

# old_stats MAP VNI LAST TX RX DROPS: its per-CPU counters (struct nic_stats of 432 bytes; bpftool gives every CPU the value)
old_stats() {
	local map=$1 vni=$2 last=$3 tx=$4 rx=$5 drops=$6 v
	v="$(le64 "$tx") $(le64 $((tx * 100))) $(le64 "$rx") $(le64 $((rx * 100))) $(le64 "$drops") $(le64 0)"
	for r in $(seq 0 47); do [ "$r" = 6 ] && v="$v $(le64 "$drops")" || v="$v $(le64 0)"; done
	bpftool map update pinned "$map" key $vni 0 0 0 10 0 1 $last value $v
}

# the maps an older vpcbpf pinned for its NICs, under names NAMEsuffix
old_maps() {
	local sfx=${1:-}
	bpftool map create "$P/nics$sfx" type hash key 8 value 32 entries 262144 name nics flags 1
	bpftool map create "$P/nic_stats$sfx" type percpu_hash key 8 value 432 entries 262144 name nic_stats flags 1
	old_nic "$P/nics$sfx" 10 20
	old_nic "$P/nics$sfx" 10 5
	old_stats "$P/nic_stats$sfx" 10 20 7 3 2
	old_stats "$P/nic_stats$sfx" 10 5 1 0 0
}

# nic_slots: "IP slot" per NIC, sorted (the slot: bytes 32-35 of the record, little endian)
nic_slots() {
	local a b c d s
	bpftool -j map dump pinned "$P/nics" |
		jq -r '.[] | "\(.key[4:8] | map(ltrimstr("0x")) | join(" ")) \(.value[32:36] | map(ltrimstr("0x")) | reverse | join(""))"' |
		while read -r a b c d s; do echo "$((16#$a)).$((16#$b)).$((16#$c)).$((16#$d)) $((16#$s))"; done | sort
}

@test "dp up migrates an older vpcbpf's NICs to counter slots, their counters kept" {
	old_maps
	run --separate-stderr v dp up
	assert_success
	assert_line --index 0 "migrated 2 NIC(s) to counter slots (maps nics and nic_stats of an older vpcbpf), their counters kept"
	[ "$(nic_slots)" = "$(printf '10.0.1.20 2\n10.0.1.5 1')" ] || fail "slots: $(nic_slots)"
	[ ! -e "$P/nics_v1" ] && [ ! -e "$P/nic_stats_v1" ] && [ -e "$P/nic_counters" ]
	ok_json stats nic 10.0.1.20 vpc 10
	jq -e --argjson n "$NCPU" '.[0] | .tx_packets == 7 * $n and .tx_bytes == 700 * $n and .rx_packets == 3 * $n and
		.rx_bytes == 300 * $n and .drops_total == 2 * $n and .drops["no-route"] == 2 * $n' <<<"$output"
	ok_json stats nic 10.0.1.5 vpc 10
	jq -e --argjson n "$NCPU" '.[0] | .tx_packets == $n and .rx_packets == 0 and .drops_total == 0' <<<"$output"
	# the tool goes on from there: a new NIC takes the next slot, dp up again migrates nothing
	v vpc add 10
	v subnet add 10.0.1.0/24 vpc 10
	v nic add 10.0.1.30 vpc 10 mac 02:00:00:00:01:30 remote 192.168.100.2
	[ "$(nic_slots | grep 10.0.1.30)" = "10.0.1.30 3" ] || fail "slots: $(nic_slots)"
	run v dp up
	assert_success
	refute_output --partial migrated
	ok_json stats nic 10.0.1.20 vpc 10
	jq -e --argjson n "$NCPU" '.[0].tx_packets == 7 * $n' <<<"$output"
}

@test "dp up finishes a migration a killed dp up left (old pins set aside, new maps half made)" {
	old_maps _v1
	bpftool map create "$P/nics" type hash key 8 value 40 entries 262144 name nics flags 1
	run --separate-stderr v dp up
	assert_success
	assert_output --partial "migrated 2 NIC(s)"
	[ "$(nic_slots)" = "$(printf '10.0.1.20 2\n10.0.1.5 1')" ] || fail "slots: $(nic_slots)"
	[ ! -e "$P/nics_v1" ] && [ ! -e "$P/nic_stats_v1" ]
	ok_json stats nic 10.0.1.20 vpc 10
	jq -e --argjson n "$NCPU" '.[0].rx_packets == 3 * $n' <<<"$output"
}

@test "dp up refuses to migrate under an unfinished transaction of the older vpcbpf, and changes nothing" {
	old_maps
	# the journal's head (key 0xffffffff) says committed (2): the old binary must finish it
	bpftool map create "$P/txn_journal" type hash key 4 value 96 entries 65536 name txn_journal flags 1
	bpftool map update pinned "$P/txn_journal" key 255 255 255 255 value 2 0 0 0 1 0 0 0 $(for i in $(seq 1 88); do printf '0 '; done)
	local before
	before=$(ls "$P")
	run --separate-stderr v dp up
	assert_failure 1
	[[ "$stderr" == *"a transaction of the previous vpcbpf is not finished"*"dp up again"* ]] || fail "$stderr"
	[ "$(ls "$P")" = "$before" ] || fail "pins changed: $(ls "$P")"
}

@test "an old nics map without the old counters is refused with what to do" {
	bpftool map create "$P/nics" type hash key 8 value 32 entries 262144 name nics flags 1
	run --separate-stderr v dp up
	assert_failure 1
	[[ "$stderr" == *'"nics" has the layout of an older vpcbpf'*"vpcbpf save"*"apply"* ]] || fail "$stderr"
	[ "$(ls "$P")" = nics ] || fail "dp up pinned something: $(ls "$P")"
}
