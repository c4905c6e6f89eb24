#!/usr/bin/env bats
# tests/cli/dhcp.bats — a subnet's DHCP options (dns, domain, routes), a NIC's dhcp on|off and a VPC's table: commands, batch, apply, save, bad input.
load common

@test "subnet add/set carry dns, domain and routes; show and save print them; none clears one" {
	v vpc add 10
	v subnet add 10.0.1.0/24 vpc 10 dns 10.0.0.53,10.0.0.54 domain corp.example routes 172.16.0.0/12
	run v subnet show vpc 10
	assert_output "10.0.1.0/24 vpc 10 gateway 10.0.1.1 nics 0 usable 253 free 253 dns 10.0.0.53,10.0.0.54 domain corp.example routes 172.16.0.0/12"
	v subnet set 10.0.1.0/24 vpc 10 dns none routes 0.0.0.0/0,10.8.0.0/16
	run v -j subnet show
	[ "$(jq -c '.[0] | [.dns, .domain, .routes]' <<<"$output")" = '[null,"corp.example","0.0.0.0/0,10.8.0.0/16"]' ] ||
		fail "$output"
	run v -j save
	[ "$(jq -c '.subnets[0] | [.dns, .domain, .routes]' <<<"$output")" = '[null,"corp.example","0.0.0.0/0,10.8.0.0/16"]' ] ||
		fail "$output"
	# prefixes of the keywords, as everywhere
	v subnet set 10.0.1.0/24 vpc 10 dom none ro none
	run v subnet show
	assert_output "10.0.1.0/24 vpc 10 gateway 10.0.1.1 nics 0 usable 253 free 253"
	# the map holds an entry only while a subnet has options
	run bpftool -j map dump pinned "$(host_pin h)/subnet_dhcp"
	[ "$(jq length <<<"$output")" = 0 ] || fail "subnet_dhcp: $output"
}

@test "nic dhcp on|off: off shows, saves as false and round-trips; set turns it back on" {
	base_world
	v nic add 10.0.1.20 vpc 10 mac 02:00:00:00:01:20 remote 192.168.100.2 dhcp off
	run v nic show vpc 10
	assert_line "10.0.1.20 vpc 10 mac 02:00:00:00:01:20 subnet 10.0.1.0/24 remote 192.168.100.2 source-check on dhcp off"
	refute_line --regexp "^10.0.1.10 .*dhcp"
	local saved
	saved=$(v -j save)
	[ "$(jq -c '[.nics[] | .dhcp]' <<<"$saved")" = '[null,false]' ] || fail "$saved"
	v subnet set 10.0.1.0/24 vpc 10 dns 10.0.0.53 domain lab.example
	v vpc add 11 table 4242
	saved=$(v -j save)
	[ "$(jq -c '.vpcs[1].table, .subnets[0].dns' <<<"$saved")" = $'4242\n"10.0.0.53"' ] || fail "$saved"
	echo '{}' | v apply -
	run v subnet show
	refute_output --partial dns
	v apply - <<<"$saved"
	[ "$(v -j save)" = "$saved" ] || fail "save | apply does not round-trip: $(v -j save)"
	v nic set 10.0.1.20 vpc 10 dhcp on
	run v -j nic show vpc 10
	[ "$(jq -r '.[] | select(.ip == "10.0.1.20") | .dhcp' <<<"$output")" = true ] || fail "$output"
	# nic replace without the keyword: on again (as source-check), with it: off
	v nic replace 10.0.1.20 vpc 10 mac 02:00:00:00:01:20 remote 192.168.100.3 dhcp off
	run v -j save
	[ "$(jq -c '[.nics[] | .dhcp]' <<<"$output")" = '[null,false]' ] || fail "$output"
}

@test "batch: subnet add/set with options, nic set dhcp and vpc set table, as one transaction" {
	base_world
	run v -b - <<'B'
subnet add 10.0.3.0/24 vpc 10 domain lab.example
subnet set 10.0.3.0/24 vpc 10 dns 10.0.3.53
nic set 10.0.1.10 vpc 10 dhcp off
vpc set 10 table 777
B
	assert_success
	run v subnet show vpc 10
	assert_line "10.0.3.0/24 vpc 10 gateway 10.0.3.1 nics 0 usable 253 free 253 dns 10.0.3.53 domain lab.example"
	run v nic show vpc 10
	assert_output --partial "dhcp off"
	run v vpc show 10
	assert_output --partial "vpc 10 name blue table 777 "
	run v -j vpc show 10
	[ "$(jq '.[0].table' <<<"$output")" = 777 ] || fail "$output"
	v vpc set 10 table default
	run v -j vpc show 10
	[ "$(jq '.[0].table' <<<"$output")" = 100000010 ] || fail "$output"
	run v vpc show 10
	refute_output --partial "table"
	# a failing line later in a batch: nothing of it is applied
	run v -b - <<'B'
subnet set 10.0.3.0/24 vpc 10 dns 10.0.3.54
vpc set 10 table 254
B
	assert_failure
	run v subnet show vpc 10
	assert_line --partial "dns 10.0.3.53 domain"
}

@test "DHCP options and tables: bad input is refused, names the word and changes nothing" {
	base_world
	v subnet set 10.0.1.0/24 vpc 10 dns 10.0.0.53 routes 172.16.0.0/12
	refuses '10.0.0.1,10.0.0.2,10.0.0.3' subnet add 10.0.5.0/24 vpc 10 dns 10.0.0.1,10.0.0.2,10.0.0.3
	refuses 'at most 2' subnet set 10.0.1.0/24 vpc 10 dns 10.0.0.1,10.0.0.2,10.0.0.3
	refuses 'empty item' subnet add 10.0.5.0/24 vpc 10 dns 10.0.0.1,
	refuses '"10.0.0.999"' subnet set 10.0.1.0/24 vpc 10 dns 10.0.0.999
	refuses '0.0.0.0' subnet add 10.0.5.0/24 vpc 10 dns 0.0.0.0
	refuses 'a..b' subnet add 10.0.5.0/24 vpc 10 domain a..b
	refuses 'a_b' subnet set 10.0.1.0/24 vpc 10 domain a_b.example
	refuses 'at most 32' subnet set 10.0.1.0/24 vpc 10 domain this-name-is-longer-than-32-characters.example
	refuses '10.1.0.1/16' subnet add 10.0.5.0/24 vpc 10 routes 10.1.0.1/16
	refuses 'listed twice' subnet add 10.0.5.0/24 vpc 10 routes 10.1.0.0/16,10.1.0.0/16
	refuses 'at most 4 routes' subnet set 10.0.1.0/24 vpc 10 \
		routes 10.1.0.0/16,10.2.0.0/16,10.3.0.0/16,10.4.0.0/16,10.5.0.0/16
	refuses 'inside subnet 10.0.1.0/24' subnet set 10.0.1.0/24 vpc 10 routes 10.0.1.128/25
	refuses 'inside subnet 10.0.5.0/24' subnet add 10.0.5.0/24 vpc 10 routes 0.0.0.0/0,10.0.5.0/24
	refuses 'nothing to set' subnet set 10.0.1.0/24 vpc 10
	refuses 'does not exist' subnet set 10.0.9.0/24 vpc 10 dns 10.0.0.1
	refuses 'maybe' nic set 10.0.1.10 vpc 10 dhcp maybe
	refuses 'nothing to set' nic set 10.0.1.10 vpc 10
	refuses 'kernel' vpc add 11 table 254
	refuses '"0"' vpc set 10 table 0
	refuses 'x' vpc set 10 table x
	refuses 'missing' vpc set 10
	refuses 'does not exist' vpc set 99 table 5
	v vpc add 11 table 5000
	refuses 'already the table of VPC 11' vpc set 10 table 5000
	refuses 'already the table of VPC 10' vpc add 12 table 100000010
	local doc="$LIB_STATE/dhcp-doc.json"
	v -j save | jq '.subnets[0].dns = "10.0.0.1,x"' >"$doc"
	refuses '"x"' apply "$doc"
	v -j save | jq '.subnets[0].routes = "10.0.1.0/25"' >"$doc"
	refuses 'inside subnet' apply "$doc"
	v -j save | jq '.nics[0].dhcp = "off"' >"$doc"
	refuses 'dhcp' apply "$doc"
	v -j save | jq '.vpcs[0].table = 255' >"$doc"
	refuses '255' apply "$doc"
}
