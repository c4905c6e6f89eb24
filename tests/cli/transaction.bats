#!/usr/bin/env bats
# tests/cli/transaction.bats — batch, save and apply are all-or-nothing; a killed apply leaves the old or the new state.
load common

# Canonical state: `vpcbpf -j save` (sorted, one line).
saved() { v -j save; }

# A document with N routes in VPC 100 via NIC VIA (10.0.0.5 or .6), plus a few other objects (VARIANT a|b).
doc() {
	local n=$1 via=$2 variant=$3
	python3 - "$n" "$via" "$variant" <<'PY'
import json, sys
n, via, variant = int(sys.argv[1]), sys.argv[2], sys.argv[3]
vpcs = [{"vni": 100, "name": "blue"}, {"vni": 200 if variant == "a" else 300}]
subnets = [{"cidr": "10.0.0.0/24", "vpc": 100}]
if variant == "b":
    subnets.append({"cidr": "10.0.9.0/24", "vpc": 100, "name": "extra"})
nics = [{"ip": "10.0.0.5", "vpc": 100, "mac": "02:00:00:00:00:05", "remote": "192.168.1.2"},
        {"ip": "10.0.0.6", "vpc": 100, "mac": "02:00:00:00:00:06", "remote": "192.168.1.3", "source_check": False}]
if variant == "b":
    nics.append({"ip": "10.0.9.7", "vpc": 100, "mac": "02:00:00:00:09:07", "remote": "192.168.1.4"})
routes = [{"prefix": "%d.%d.%d.0/24" % (11 + (i >> 16), (i >> 8) & 255, i & 255), "vpc": 100, "via": via}
          for i in range(n)]
routes.append({"prefix": "0.0.0.0/0", "vpc": 100, "peer": vpcs[1]["vni"]})
sgs = [{"name": "web", "rules": [{"priority": 10, "direction": "ingress", "proto": "tcp", "port": "80", "action": "allow"}]}]
if variant == "b":
    sgs[0]["rules"].append({"priority": 20, "direction": "egress", "proto": "udp", "port": "53", "cidr": "10.0.0.0/8", "action": "deny"})
    sgs.append({"name": "db", "rules": []})
    nics[2]["sg"] = "db"
nics[0]["sg"] = "web"
print(json.dumps({"version": 1, "vpcs": vpcs, "security_groups": sgs, "subnets": subnets, "nics": nics, "routes": routes}))
PY
}

# Every route table in the fib arena is whole and shares no line with another: no leftovers of a build.
no_garbage() {
	local census
	census=$(v -v save 2>&1 >/dev/null | grep 'fib arena:') || fail "no census from save -v"
	[[ "$census" == *"; 0 tables broken or overlapping"* ]] || fail "$census"
}

# The number of live route tables (VPCs with routes) in the fib arena.
route_tables() {
	v -v save 2>&1 >/dev/null | sed -n 's/.*fib arena: [0-9]* lines in \([0-9]*\) live tables.*/\1/p'
}

@test "batch: every line is checked against the lines before it, then all are applied at once" {
	local f="$LIB_STATE/t.batch"
	cat >"$f" <<-'EOT'
	vpc add 100
	subnet add 10.0.0.0/24 vpc 100
	nic add 10.0.0.5 vpc 100 mac 02:00:00:00:00:05 remote 192.168.1.2
	route add 172.16.0.0/12 vpc 100 via 10.0.0.5
	route replace 172.16.0.0/12 vpc 100 blackhole
	route add 192.168.0.0/16 vpc 100 via 10.0.0.5
	route del 192.168.0.0/16 vpc 100
	EOT
	run --separate-stderr v -b "$f"
	assert_success
	run v -j save
	jq -e '.routes == [{"prefix": "172.16.0.0/12", "vpc": 100, "blackhole": true}]' <<<"$output"
	run v route get 172.20.1.1 vpc 100
	assert_output --partial "blackhole"
}

@test "batch: a failing line changes nothing, even after lines that were fine" {
	v vpc add 100 >/dev/null
	before=$(saved)
	local f="$LIB_STATE/t.batch"
	printf 'vpc add 101\nsubnet add 10.0.0.0/24 vpc 101\nroute add 10.1.0.0/16 vpc 101 via 10.0.0.9\nvpc add 102\n' >"$f"
	run --separate-stderr v -b "$f"
	assert_failure 1
	[[ "$stderr" == *"$f:3: next hop 10.0.0.9"* ]] || fail "$stderr"
	[ "$(saved)" = "$before" ] || fail "state changed"
}

@test "batch: read-only and datapath commands cannot be part of a transaction" {
	printf 'vpc add 1\nroute show\n' >"$LIB_STATE/r.batch"
	run --separate-stderr v -b "$LIB_STATE/r.batch"
	assert_failure 1
	[[ "$stderr" == *":2: \"route show\" only reads"* ]] || fail "$stderr"
	printf 'dp down\n' >"$LIB_STATE/d.batch"
	run --separate-stderr v -b "$LIB_STATE/d.batch"
	assert_failure 1
	[[ "$stderr" == *":1: \"dp\" cannot be part of a transaction"* ]] || fail "$stderr"
	run v -j vpc show
	assert_output "[]"
}

@test "batch: swapping a route table leaves no old generation behind" {
	doc 300 10.0.0.5 a | v apply - >/dev/null
	no_garbage
	printf 'route replace 11.0.1.0/24 vpc 100 via 10.0.0.6\nroute add 12.0.0.0/8 vpc 100 blackhole\n' >"$LIB_STATE/s.batch"
	run v -b "$LIB_STATE/s.batch"
	assert_success
	no_garbage
	run v route get 11.0.1.9 vpc 100
	assert_output --partial "via 10.0.0.6"
	run v route get 12.3.4.5 vpc 100
	assert_output --partial "blackhole"
}

@test "save | apply changes nothing" {
	doc 200 10.0.0.5 b | v apply - >/dev/null
	before=$(saved)
	v save | v apply -
	[ "$(saved)" = "$before" ]
	no_garbage
}

@test "apply makes the state equal to the file, whatever it was" {
	doc 100 10.0.0.5 a >"$LIB_STATE/a.json"
	doc 150 10.0.0.6 b >"$LIB_STATE/b.json"
	v apply "$LIB_STATE/a.json"
	local norm='del(.subnets[].gateway) | .security_groups |= map(.rules |= map(del(.cidr))) | .nics |= map(del(.source_check)) | .routes |= sort'
	[ "$(saved | jq -Sc "$norm")" = "$(jq -Sc "$norm" "$LIB_STATE/a.json")" ] || fail "a: $(saved)"
	v apply "$LIB_STATE/b.json"
	[ "$(saved | jq -c '[.vpcs, (.routes | length), (.nics | length), (.subnets | length)]')" = \
	  '[[{"vni":100,"name":"blue"},{"vni":300}],151,3,2]' ] || fail "b: $(saved)"
	run v route get 11.0.99.1 vpc 100
	assert_output --partial "via 10.0.0.6"
	no_garbage
	echo '{}' | v apply -
	[ "$(saved)" = '{"version":1,"vpcs":[],"security_groups":[],"subnets":[],"nics":[],"routes":[]}' ]
	[ "$(route_tables)" -eq 0 ]
}

# refused_doc WORD JSON: apply exits 1 with one line naming WORD and changes nothing.
refused_doc() {
	local word=$1 json=$2 before
	before=$(saved)
	run --separate-stderr v apply - <<<"$json"
	[ "$status" -eq 1 ] || fail "apply exited $status for $json"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line: $stderr"
	[[ "$stderr" == *"$word"* ]] || fail "stderr does not name \"$word\": $stderr"
	[ "$(saved)" = "$before" ] || fail "apply of a bad file changed the state"
}

@test "apply refuses malformed JSON with line:column, and changes nothing" {
	doc 10 10.0.0.5 a | v apply -
	refused_doc '<stdin>: 3:10: invalid JSON' $'{"vpcs": [\n  {"vni": 1},\n  {"vni" 2}\n]}'
	refused_doc 'ends too early' '{"vpcs": [ {"vni": 1}'
	refused_doc 'empty' ''
	refused_doc '1:2: invalid JSON' '[}'
	refused_doc '1:24: invalid JSON (not UTF-8)' $'{"vpcs": [{"vni": 1, "n\xffame": "a"}]}'
	refused_doc '1:27: invalid JSON (not strict JSON, RFC 8259)' $'{"vpcs": [{"vni": 1, "a": "\x01"}]}'
	# what save could not write back: a surrogate (UTF-8 in form only), a NUL inside a key
	refused_doc 'invalid JSON: a string is not UTF-8 (RFC 3629)' $'{"vpcs": [{"vni": 1, "name": "a\xed\xa0\x80"}]}'
	refused_doc 'invalid JSON: a string holds a NUL character' '{"vpcs": [{"vni": 1, "na\u0000me": "a"}]}'
}

@test "apply refuses wrong types, unknown keys, duplicates and missing references" {
	doc 10 10.0.0.5 a | v apply -
	refused_doc 'vpcs[0]: "vni" must be an integer, not a string' '{"vpcs": [{"vni": "100"}]}'
	refused_doc '"routes" must be an array' '{"vpcs": [], "routes": {}}'
	refused_doc 'nics[0]: "source_check" must be true or false' \
		'{"vpcs": [{"vni": 1}], "subnets": [{"cidr": "10.0.0.0/24", "vpc": 1}], "nics": [{"ip": "10.0.0.5", "vpc": 1, "mac": "02:00:00:00:00:05", "remote": "1.2.3.4", "source_check": "yes"}]}'
	refused_doc 'vpcs[0]: unknown key "colour"' '{"vpcs": [{"vni": 1, "colour": "red"}]}'
	refused_doc 'unknown key "vpc"' '{"vpc": []}'
	refused_doc 'version' '{"version": 2}'
	refused_doc 'vpcs[1]: duplicate VPC 1' '{"vpcs": [{"vni": 1}, {"vni": 1}]}'
	refused_doc 'subnets[1]: duplicate subnet 10.0.0.0/24' \
		'{"vpcs": [{"vni": 1}], "subnets": [{"cidr": "10.0.0.0/24", "vpc": 1}, {"cidr": "10.0.0.0/24", "vpc": 1}]}'
	refused_doc 'routes[1]: duplicate route 10.0.0.0/8' \
		'{"vpcs": [{"vni": 1}], "routes": [{"prefix": "10.0.0.0/8", "vpc": 1, "blackhole": true}, {"prefix": "10.0.0.0/8", "vpc": 1, "blackhole": true}]}'
	refused_doc 'subnets[0]: VPC 2 does not exist' '{"vpcs": [{"vni": 1}], "subnets": [{"cidr": "10.0.0.0/24", "vpc": 2}]}'
	refused_doc 'nics[0]: 10.0.0.5 is in no subnet of VPC 1' \
		'{"vpcs": [{"vni": 1}], "nics": [{"ip": "10.0.0.5", "vpc": 1, "mac": "02:00:00:00:00:05", "remote": "1.2.3.4"}]}'
	refused_doc 'routes[0]: next hop 10.0.0.9 is not a NIC of VPC 1' \
		'{"vpcs": [{"vni": 1}], "routes": [{"prefix": "0.0.0.0/0", "vpc": 1, "via": "10.0.0.9"}]}'
	refused_doc 'routes[0]: peer VPC 7 does not exist' \
		'{"vpcs": [{"vni": 1}], "routes": [{"prefix": "0.0.0.0/0", "vpc": 1, "peer": 7}]}'
	refused_doc 'exactly one next hop' '{"vpcs": [{"vni": 1}], "routes": [{"prefix": "0.0.0.0/0", "vpc": 1}]}'
	refused_doc 'nics[0]: device "nosuchdev0" does not exist' \
		'{"vpcs": [{"vni": 1}], "subnets": [{"cidr": "10.0.0.0/24", "vpc": 1}], "nics": [{"ip": "10.0.0.5", "vpc": 1, "mac": "02:00:00:00:00:05", "dev": "nosuchdev0"}]}'
}

# A kill -9 at any moment: the next save shows the old state or the new one, nothing else.
@test "kill -9 of apply at random moments leaves save equal to the old or the new state (50 trials)" {
	doc 5000 10.0.0.5 a >"$LIB_STATE/a.json"
	doc 5000 10.0.0.6 b >"$LIB_STATE/b.json"
	v apply "$LIB_STATE/a.json"
	local A B
	A=$(saved)
	v apply "$LIB_STATE/b.json"
	B=$(saved)
	[ "$A" != "$B" ]
	local old=$B next=a killed=0 stayed=0 moved=0
	for trial in $(seq 1 50); do
		local file="$LIB_STATE/$next.json" new
		[ "$next" = a ] && new=$A || new=$B
		"$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" apply "$file" & # $! is vpcbpf itself
		local pid=$!
		# odd trials die early (mostly before the commit point), even ones anywhere in the run
		sleep "$(awk -v ms=$((RANDOM % (trial % 2 ? 60 : 400))) 'BEGIN { printf "%.3f", ms / 1000 }')"
		kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
		wait "$pid" 2>/dev/null || true
		local now
		now=$(saved)
		if [ "$now" = "$old" ]; then
			stayed=$((stayed + 1)) # killed before the commit point
		elif [ "$now" = "$new" ]; then
			moved=$((moved + 1))
			old=$new
			[ "$next" = a ] && next=b || next=a
		else
			fail "trial $trial: the state is neither the old nor the new one"
		fi
		no_garbage
	done
	echo "# $killed of 50 applies were killed midway; afterwards $stayed times the old state, $moved times the new one" >&3
}

@test "a crash at each step of a transaction: before the commit point old, after it new" {
	doc 500 10.0.0.5 a >"$LIB_STATE/a.json"
	doc 500 10.0.0.6 b >"$LIB_STATE/b.json"
	v apply "$LIB_STATE/a.json"
	local A B
	A=$(saved)
	for phase in build commit apply done; do
		run env VPCBPF_TXN_CRASH=$phase "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" apply "$LIB_STATE/b.json"
		[ "$status" -eq 9 ] || fail "$phase: apply exited $status, want the crash (9)"
		case $phase in
		build | commit) [ "$(saved)" = "$A" ] || fail "crash at $phase: want the old state" ;;
		apply | done)
			B=$(saved)
			[ "$B" != "$A" ] || fail "crash at $phase: want the new state"
			v apply "$LIB_STATE/a.json"
			;;
		esac
		no_garbage
	done
	# dp up is a command like any other: it finishes what a killed apply left (and does not wait for itself)
	run env VPCBPF_TXN_CRASH=apply "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" apply "$LIB_STATE/b.json"
	[ "$status" -eq 9 ]
	run timeout 20 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" dp up
	assert_success
	[ "$(saved)" != "$A" ] || fail "dp up after a crash past the commit point: want the new state"
	no_garbage
	v apply "$LIB_STATE/a.json"
	# a single route add is finished by the next command
	run env VPCBPF_TXN_CRASH=apply "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" route add 12.0.0.0/8 vpc 100 blackhole
	[ "$status" -eq 9 ]
	run v route get 12.1.1.1 vpc 100
	assert_output --partial "blackhole"
	no_garbage
}

@test "8 concurrent writers: no edit lost, none corrupted" {
	v vpc add 100 >/dev/null
	v subnet add 10.0.0.0/24 vpc 100 >/dev/null
	v nic add 10.0.0.5 vpc 100 mac 02:00:00:00:00:05 remote 192.168.1.2 >/dev/null
	local pids=()
	for w in $(seq 1 8); do
		(
			for i in $(seq 1 15); do
				vpcbpf_on h route add "$((20 + w)).$i.0.0/16" vpc 100 via 10.0.0.5 || exit 1
			done
			printf 'route add %d.200.0.0/16 vpc 100 blackhole\nroute add %d.201.0.0/16 vpc 100 blackhole\n' \
				$((20 + w)) $((20 + w)) | vpcbpf_on h -b - || exit 1
			printf '{"vpcs": [{"vni": 1}]}' >/dev/null
		) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || fail "a writer failed"; done
	run v -j save
	[ "$(jq '.routes | length' <<<"$output")" -eq $((8 * 17)) ] || fail "routes: $(jq '.routes | length' <<<"$output")"
	for w in $(seq 1 8); do
		run v route get "$((20 + w)).7.1.1" vpc 100
		assert_output --partial "via 10.0.0.5"
		run v route get "$((20 + w)).201.1.1" vpc 100
		assert_output --partial "blackhole"
	done
	no_garbage
}

@test "dp up refuses programs that expect another layout of a pinned map, naming it, and changes nothing" {
	lib_register pin lay
	local d="$BPFFS/$T-lay"
	mkdir -p "$d"
	bpftool map create "$d/vpcs" type hash key 4 value 20 entries 16 name vpcs flags 1
	run --separate-stderr "$VPCBPF" -d "$d" dp up
	assert_failure 1
	[[ "$stderr" == *'pinned map "vpcs" has another layout'*"vpcbpf save"* ]] || fail "$stderr"
	[ "$(ls "$d")" = vpcs ] || fail "dp up pinned something: $(ls "$d")"
}

@test "dp up again keeps the state and the maps" {
	doc 50 10.0.0.5 b | v apply -
	before=$(saved)
	v dp up >/dev/null
	[ "$(saved)" = "$before" ]
}

@test "security groups: batch edits, save | apply keeps their ids, apply swaps a rule set" {
	local f="$LIB_STATE/sg.batch"
	cat >"$f" <<-'EOT'
	vpc add 100
	sg add web
	sg rule add web ingress proto tcp port 80 allow
	sg rule add web ingress proto tcp port 8000-8080 cidr 10.0.0.0/8 allow priority 5
	sg add db
	subnet add 10.0.0.0/24 vpc 100
	nic add 10.0.0.5 vpc 100 mac 02:00:00:00:00:05 remote 192.168.1.2 sg web
	nic add 10.0.0.6 vpc 100 mac 02:00:00:00:00:06 remote 192.168.1.3
	nic set 10.0.0.6 vpc 100 sg db source-check off
	EOT
	v -b "$f"
	run v -j save
	jq -e '.security_groups | map(.name) == ["db", "web"]' <<<"$output"
	jq -e '.security_groups[1].rules | map(.priority) == [5, 10]' <<<"$output"
	jq -e '.nics | map(.sg) == ["web", "db"]' <<<"$output"
	local before ids
	before=$(saved)
	ids=$(v -j sg show | jq -c 'map([.name, .id])')
	v save | v apply -
	[ "$(saved)" = "$before" ]
	[ "$(v -j sg show | jq -c 'map([.name, .id])')" = "$ids" ] || fail "ids changed"
	# a group in use cannot go; the whole batch is refused
	printf 'sg rule del web priority 5\nsg del db\n' >"$LIB_STATE/bad.batch"
	run --separate-stderr v -b "$LIB_STATE/bad.batch"
	assert_failure 1
	[[ "$stderr" == *':2: security group "db" is used by NIC 10.0.0.6'* ]] || fail "$stderr"
	[ "$(saved)" = "$before" ]
	# apply a document with another rule set for web and no db
	jq '.security_groups = [.security_groups[1] | .rules = [{"direction": "egress", "proto": "udp", "port": "53", "action": "deny"}]]
	    | .nics |= map(if .sg == "db" then del(.sg) else . end)' <<<"$before" | v apply -
	run v -j sg show
	jq -e 'length == 1 and .[0].name == "web" and .[0].rules[0].priority == 10 and .[0].rules[0].proto == "udp"' <<<"$output"
	no_garbage
}

@test "apply refuses bad security groups" {
	refused_doc 'security_groups[0].rules[0]: "action" must be "allow" or "deny"' \
		'{"security_groups": [{"name": "a", "rules": [{"direction": "ingress", "proto": "tcp", "action": "maybe"}]}]}'
	refused_doc 'security_groups[0].rules[0]: sg rule add: "port" needs proto tcp or udp' \
		'{"security_groups": [{"name": "a", "rules": [{"direction": "ingress", "proto": "icmp", "port": "80", "action": "allow"}]}]}'
	refused_doc 'security_groups[1]: duplicate security group "a"' '{"security_groups": [{"name": "a"}, {"name": "a"}]}'
	refused_doc 'nics[0]: security group "nope" does not exist' \
		'{"vpcs": [{"vni": 1}], "subnets": [{"cidr": "10.0.0.0/24", "vpc": 1}], "nics": [{"ip": "10.0.0.5", "vpc": 1, "mac": "02:00:00:00:00:05", "remote": "1.2.3.4", "sg": "nope"}]}'
	refused_doc 'security_groups[0].rules[1]: security group "a" already has a rule of priority 7' \
		'{"security_groups": [{"name": "a", "rules": [{"priority": 7, "direction": "ingress", "proto": "any", "action": "allow"}, {"priority": 7, "direction": "egress", "proto": "any", "action": "deny"}]}]}'
}
