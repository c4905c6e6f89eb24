#!/usr/bin/env bats
# tests/cli/json_types.bats — one JSON type per field everywhere: show -j agrees with save on every field they
# share (value and type); stats and monitor use no placeholder strings.
load common

# A world with every kind of object and field: names, remote and local NICs, source-check off, an sg,
# routes via / peer / blackhole / advertise.
full_world() {
	base_world
	v vpc add 20 >/dev/null
	v sg add web >/dev/null
	v sg rule add web ingress proto tcp port 80-81 cidr 10.0.0.0/8 allow >/dev/null
	v sg rule add web egress proto any deny priority 50 >/dev/null
	v nic add 10.0.2.20 vpc 10 mac 02:00:00:00:02:20 remote 192.168.100.2 source-check off sg web >/dev/null
	v route add 10.9.0.0/16 vpc 10 via 10.0.2.20 advertise >/dev/null
	v route add 10.8.0.0/16 vpc 10 blackhole >/dev/null
	v route add 10.7.0.0/16 vpc 10 peer 20 >/dev/null
}

# same_fields SAVE_SECTION SHOW_JSON KEY_EXPR: every field of every saved object has the same value (and so
# the same JSON type) in the show object with the same key.
same_fields() {
	local section=$1 show=$2 key=$3 save
	save=$(v -j save)
	jq -e -n --argjson save "$save" --argjson show "$show" --arg section "$section" "
		[\$save[\$section][] as \$o
		 | (\$show | map(select($key == (\$o | $key))) | .[0]) as \$s
		 | if \$s == null then \"\(\$o) missing from show\"
		   else (\$o | to_entries[] | . as \$e | select(\$s | has(\$e.key)) | select(\$s[\$e.key] != \$e.value)
			 | \"\(\$section).\(.key): save \(.value | tojson) (\(.value | type)), show \(\$s[.key] | tojson) (\(\$s[.key] | type))\")
		   end] as \$bad
		| if (\$bad | length) == 0 then true else (\$bad | join(\"; \") | halt_error) end" ||
		fail "show and save disagree"
}

@test "vpc show -j and save agree on every field" {
	full_world
	same_fields vpcs "$(v -j vpc show)" '.vni'
}

@test "subnet show -j and save agree on every field" {
	full_world
	same_fields subnets "$(v -j subnet show)" '[.vpc, .cidr]'
}

@test "nic show -j and save agree on every field (source_check is a boolean in both)" {
	full_world
	same_fields nics "$(v -j nic show)" '[.vpc, .ip]'
	v -j nic show | jq -e 'all(.[]; (.source_check | type) == "boolean")'
}

@test "route show -j and save agree on every field" {
	full_world
	same_fields routes "$(v -j route show)" '[.vpc, .prefix]'
}

@test "sg show -j and save agree on every field, rules included" {
	full_world
	same_fields security_groups "$(v -j sg show)" '.name'
}

@test "each field has one type across every show, stats and save document" {
	full_world
	local docs
	docs=$(for c in "vpc show" "subnet show" "nic show" "route show" "sg show" "stats" "save" "dp show"; do
		v -j $c
	done | jq -s -c .)
	# every (key, type) pair of every object at any depth; a key with two types (null aside) is a bug.
	# "drops" is a dictionary keyed by reason names, not fields: its keys are left out.
	jq -e 'walk(if type == "object" and (.drops | type) == "object" then .drops = {} else . end)
		| [.. | objects | to_entries[] | select(.value != null) | {k: .key, t: (.value | type)}] | unique
		| group_by(.k) | map(select(length > 1)) | if length == 0 then true
		  else (map(.[0].k + ": " + (map(.t) | join("/"))) | join("; ") | halt_error) end' <<<"$docs" ||
		fail "a field with two types"
}
