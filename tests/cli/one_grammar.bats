#!/usr/bin/env bats
# tests/cli/one_grammar.bats — the single command, --batch and apply refuse exactly the same inputs with the same words.
#
# The cases are generated: for every object and verb, a good command and variants with one word bad
# (a bad value, a missing or unknown keyword, a reference to nothing, a rule broken). Each runs as a
# single command and as a one-line --batch against the same world; the "add" cases (the ones a JSON
# document can say) run as apply of the world's own document with the object added. All must agree:
# both succeed leaving the same state, or both fail with the same message.

load common

# The world every case starts from (restored with apply after a case that changed it).
world() {
	underlay_create h peer 192.168.77 || return 1
	host_create h dev ul0 || return 1
	vm_create h vm1 10.0.1.10/24 10.0.1.1 02:00:00:00:01:10 1450 &&
		vm_nic_add h vm1 vm2 eth1 10.0.2.11/24 02:00:00:00:02:11 1450 || return 1
	v vpc add 10 name blue >/dev/null && v vpc add 20 >/dev/null &&
		v subnet add 10.0.1.0/24 vpc 10 >/dev/null && v subnet add 10.0.2.0/24 vpc 10 name back >/dev/null &&
		v subnet add 10.20.0.0/16 vpc 20 >/dev/null &&
		v sg add web >/dev/null && v sg rule add web ingress proto tcp port 80 allow >/dev/null &&
		v sg add empty >/dev/null &&
		v nic add 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm1 sg web >/dev/null &&
		v nic add 10.0.2.20 vpc 10 mac 02:00:00:00:02:20 remote 192.168.77.2 >/dev/null &&
		v route add 172.16.0.0/12 vpc 10 via 10.0.1.10 >/dev/null &&
		v route add 192.168.0.0/16 vpc 10 blackhole >/dev/null &&
		v route add 10.99.0.0/16 vpc 20 peer 10 >/dev/null || return 1
	v -j save >"$LIB_STATE/world.json"
}

setup() {
	lib_init
	world || fail "world failed"
	ROUTER_MAC=$(v -j dp show | jq -r .router_mac)
}

# A command's words as "SECTION OBJECT": the JSON object apply takes; fails when a document cannot say it
# (a non-numeric VNI is a type error there, a missing key another message: those cases run single/batch only).
# The words of the cases hold no quotes or backslashes, so they go into JSON strings as they are.
to_json() {
	local obj=$1 verb=$2 first=${3:-} section j k have=" " keys
	[ $# -ge 3 ] || return 1
	shift 3
	isnum() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
	case "$obj $verb" in
	"vpc add") isnum "$first" || return 1; section=vpcs; j="\"vni\": $first"; keys=" name table " ;;
	"subnet add") section=subnets; j="\"cidr\": \"$first\""; keys=" vpc gateway name dns domain routes " ;;
	"nic add") section=nics; j="\"ip\": \"$first\""; keys=" vpc mac dev remote sg source-check ct-quota dhcp " ;;
	"route add") section=routes; j="\"prefix\": \"$first\""; keys=" vpc via peer blackhole advertise " ;;
	"sg add") section=security_groups; j="\"name\": \"$first\""; keys=" " ;;
	*) return 1 ;;
	esac
	while [ $# -gt 0 ]; do
		k=$1
		[[ $keys == *" $k "* ]] || return 1     # a word the object's document has no key for
		[[ $have == *" $k "* ]] && return 1 # a repeated key: the document cannot say it
		have+="$k "
		case "$k" in
		vpc | peer | table) isnum "${2:-}" || return 1; j+=", \"$k\": $2"; shift ;;
		ct-quota) isnum "${2:-}" && [ "$2" -le 1000000 ] || return 1; j+=", \"ct_quota\": $2"; shift ;;
		name | gateway | mac | dev | remote | sg | via | dns | domain | routes)
			[ $# -ge 2 ] || return 1; j+=", \"$k\": \"$2\""; shift ;;
		dhcp) case "${2:-}" in on) j+=", \"dhcp\": true" ;; off) j+=", \"dhcp\": false" ;; *) return 1 ;; esac; shift ;;
		source-check) case "${2:-}" in on) j+=", \"source_check\": true" ;; off) j+=", \"source_check\": false" ;;
			*) return 1 ;; esac; shift ;;
		blackhole | advertise) j+=", \"$k\": true" ;;
		*) return 1 ;;
		esac
		shift
	done
	# what the grammar requires, apply requires as a key with its own message: not comparable
	case "$section" in
	subnets) [[ $have == *" vpc "* ]] || return 1 ;;
	nics) [[ $have == *" vpc "* && $have == *" mac "* ]] || return 1
		[[ $have == *" dev "* ]] && [[ $have == *" remote "* ]] && return 1
		[[ $have == *" dev "* || $have == *" remote "* ]] || return 1 ;;
	routes) [[ $have == *" vpc "* ]] || return 1
		local hops=0
		for k in via peer blackhole; do [[ $have == *" $k "* ]] && hops=$((hops + 1)); done
		[ "$hops" -eq 1 ] || return 1 ;;
	esac
	echo "$section {$j}"
}

# The message of a failed run, without "vpcbpf: " and the batch line or JSON object naming where.
message() {
	sed -e 's/^vpcbpf: //' -e 's/^[^ ]*\.batch:[0-9]*: //' -e 's/^[^ ]*\.json: [a-z_]*\[[0-9]*\]: //' <<<"$1"
}

restore() {
	v apply "$LIB_STATE/world.json" >/dev/null || fail "restoring the world failed"
}

# check CASE...: every case line through the three ways; the mismatches are listed, then the test fails.
check_cases() {
	local line n=0 bad=0 applied=0 report=""
	local batch="$LIB_STATE/case.batch" doc="$LIB_STATE/case.json"
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		n=$((n + 1))
		local -a w
		read -ra w <<<"$line"
		# 1. the single command
		run --separate-stderr v "${w[@]}"
		local s_status=$status s_msg s_state=""
		s_msg=$(message "$stderr")
		if [ "$s_status" -eq 0 ]; then
			s_state=$(v -j save)
			restore
		fi
		# 2. the same words as a one-line batch
		printf '%s\n' "$line" >"$batch"
		run --separate-stderr v -b "$batch"
		local b_status=$status b_msg
		b_msg=$(message "$stderr")
		if [ "$b_status" -ne "$s_status" ] || [ "$b_msg" != "$s_msg" ]; then
			bad=$((bad + 1))
			report+=$'\n'"  $line"$'\n'"    single: $s_status $s_msg"$'\n'"    batch:  $b_status $b_msg"
		elif [ "$b_status" -eq 0 ]; then
			[ "$(v -j save)" = "$s_state" ] || { bad=$((bad + 1)); report+=$'\n'"  $line: batch left another state"; }
		fi
		[ "$b_status" -eq 0 ] && restore
		# 3. the world's document with the object added, for what a document can say
		local obj
		if obj=$(to_json "${w[@]}"); then
			applied=$((applied + 1))
			jq --arg s "${obj%% *}" --argjson o "${obj#* }" '.[$s] += [$o]' "$LIB_STATE/world.json" >"$doc" ||
				fail "cannot make the document of: $line"
			run --separate-stderr v apply "$doc"
			local a_status=$status a_msg
			a_msg=$(message "$stderr")
			# a document cannot add what exists: it names the duplicate where the command says "already exists"
			if [ "$s_status" -eq 1 ] && [[ "$s_msg" == *"already exists"* ]] && [[ "$a_msg" == duplicate* ]]; then
				a_msg=$s_msg
			fi
			if [ "$a_status" -ne "$s_status" ] || [ "$a_msg" != "$s_msg" ]; then
				bad=$((bad + 1))
				report+=$'\n'"  $line"$'\n'"    single: $s_status $s_msg"$'\n'"    apply:  $a_status $a_msg"
			elif [ "$a_status" -eq 0 ]; then
				[ "$(v -j save)" = "$s_state" ] || { bad=$((bad + 1)); report+=$'\n'"  $line: apply left another state"; }
			fi
			[ "$a_status" -eq 0 ] && restore
		fi
	done
	echo "# $n cases, $applied also through apply, $bad disagree" >&3
	[ "$n" -gt 0 ] || fail "no cases"
	[ "$bad" -eq 0 ] || fail "the three ways disagree on $bad case(s):$report"
}

# variants BASE -- REPLACEMENT...: the good command BASE, then BASE with word i replaced (or removed: "-")
# by each replacement "i=WORD", or with words appended ("+WORDS").
variants() {
	local base=$1
	shift
	echo "$base"
	local -a w
	read -ra w <<<"$base"
	for r in "$@"; do
		case "$r" in
		+*) echo "$base ${r#+}" ;;
		*=*)
			local i=${r%%=*} word=${r#*=} out=() j
			for j in "${!w[@]}"; do
				if [ "$j" -eq "$i" ]; then
					[ "$word" = - ] || out+=("$word")
				else
					out+=("${w[$j]}")
				fi
			done
			echo "${out[*]}" ;;
		esac
	done
}

@test "one grammar: vpc and subnet edits are refused alike by the single command, --batch and apply" {
	check_cases < <(
		variants "vpc add 30 name green" 2=0 2=16777216 2=010 2=10 3=nom 4=bad/name 4=- +extra 2=-
		variants "vpc del 20" 2=99 2=x +name 2=- 2=10
		variants "subnet add 10.0.3.0/24 vpc 10 gateway 10.0.3.9 name front" \
			2=10.0.3.1/24 2=10.0.3.0/31 2=10.0.0.0/16 2=172.16.0.0/12 2=bad 2=- \
			4=99 4=x 3=- 6=10.0.4.1 6=10.0.3.255 6=x 8=a/b +extra
		variants "subnet del 10.0.2.0/24 vpc 10" 2=10.0.1.0/24 2=10.0.3.0/24 4=20 3=- +gateway
		variants "vxnet a 10.0.5.0/24 v 10"
	)
}

@test "one grammar: nic edits are refused alike by the single command, --batch and apply" {
	check_cases < <(
		variants "nic add 10.0.2.11 vpc 10 mac 02:00:00:00:02:11 dev vm2 sg empty source-check off" \
			2=10.0.2.1 2=10.0.2.255 2=10.9.0.1 2=10.0.1.10 2=x 4=99 4=20 \
			6="$ROUTER_MAC" 6=ff:ff:ff:ff:ff:ff 6=02:00:00:00:02 \
			8=nodev 8=vm1 8=ul0 8=waytoolongdevname 10=none 10=nosuch 10=bad/name 12=maybe \
			7=remote 5=- "+remote 192.168.77.9" +blackhole 3=- "+ct-quota 100" "+ct-quota 0" "+ct-quota x"
		variants "nic add 10.0.2.30 vpc 10 mac 02:00:00:00:02:30 remote 192.168.77.5" \
			8=192.168.77.1 8=x "+dev vm2" 7=- 8=-
		variants "nic replace 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 remote 192.168.77.2" \
			2=10.0.2.99 8=192.168.77.1 "+sg none" "+sg nosuch"
		variants "nic set 10.0.1.10 vpc 10 ct-quota 500" 5=- 6=x
		variants "nic set 10.0.1.10 vpc 10 sg none source-check off" 2=10.0.2.99 4=- 6=nosuch 8=x \
			"+mac 02:00:00:00:01:10" 5=- 7=- "+ct-quota default" "+ct-quota 99999999"
		variants "nic del 10.0.2.20 vpc 10" 2=10.0.1.10 2=10.0.2.99 4=20 3=- +mac
	)
}

@test "one grammar: route edits are refused alike by the single command, --batch and apply" {
	check_cases < <(
		variants "route add 10.50.0.0/16 vpc 10 via 10.0.2.20 advertise" \
			2=10.50.0.1/16 2=10.0.1.0/24 2=172.16.0.0/12 2=x 4=99 5=blackhole 5=peer \
			6=10.0.2.99 7=- 5=- 3=- "+peer 20" +blackhole +mtu
		variants "route add 10.50.0.0/16 vpc 10 peer 20" 6=10 6=99 6=0 6=-
		variants "route replace 172.16.0.0/12 vpc 10 blackhole" 2=10.0.2.0/24 2=10.60.0.0/16 4=99 "+via 10.0.1.10"
		variants "route del 192.168.0.0/16 vpc 10" 2=192.168.1.0/24 2=10.0.1.0/24 4=20 4=99 3=- +blackhole
		variants "route flush vpc 10" 3=99 3=- 2=- +advertise
		variants "r a 10.70.0.0/16 v 20 b"
	)
}

@test "one grammar: security group edits are refused alike by the single command, --batch and apply" {
	check_cases < <(
		variants "sg add db" 2=web 2=bad/name 2=0123456789abcdefg 2=- +extra
		variants "sg del empty" 2=web 2=nosuch +extra 2=-
		variants "sg rule add empty ingress proto tcp port 22 cidr 10.0.0.0/8 allow priority 5" \
			3=nosuch 4=sideways 6=sctp 8=70000 8=9-1 10=10.0.0.1/8 11=maybe 13=0 12=- 4=- 6=- 11=- \
			"+deny" "+egress" 3=-
		variants "sg rule add web egress proto icmp port 1 allow"
		variants "sg rule add web ingress proto udp allow priority 10"
		variants "sg rule del web priority 10" 4=20 2=nosuch 3=- 4=x +extra
	)
}

@test "one grammar: DHCP options, dhcp on|off and tables are refused alike by the single command, --batch and apply" {
	check_cases < <(
		variants "vpc add 30 table 3000" 4=0 4=254 4=default 4=x 4=100000010 "+name green" 2=10
		variants "vpc set 20 table 3000" 2=99 3=- 4=default 4=253 4=100000010 4=- +name
		variants "subnet add 10.0.3.0/24 vpc 10 dns 10.0.0.53,10.0.0.54 domain corp.example routes 172.16.0.0/12,0.0.0.0/0" \
			6=10.0.0.1,10.0.0.2,10.0.0.3 6=10.0.0.1, 6=x 6=none 6=0.0.0.0 8=a..b 8=a_b 8=none \
			8=this-name-is-longer-than-32-characters.example 10=10.0.3.0/25 10=10.1.0.1/16 10=10.1.0.0/16,10.1.0.0/16 \
			10=1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8 10=none 4=99 2=10.0.4.0/24
		variants "subnet set 10.0.1.0/24 vpc 10 dns 10.0.0.53 domain none routes 0.0.0.0/0" \
			2=10.0.9.0/24 4=20 5=- 6=x 8=a..b 10=10.0.1.0/25 +gateway "+name x"
		variants "subnet set 10.0.1.0/24 vpc 10" "+dns none" "+routes none"
		variants "nic add 10.0.2.11 vpc 10 mac 02:00:00:00:02:11 dev vm2 dhcp off" 10=on 10=maybe 10=-
		variants "nic set 10.0.1.10 vpc 10 dhcp off" 2=10.0.2.99 6=on 6=x 6=-
		variants "nic replace 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm1 dhcp off"
	)
}

@test "one grammar: read-only and datapath commands are refused alike by --batch with the same words" {
	local f="$LIB_STATE/reads.batch"
	for line in "route show" "vpc list" "sg rule show web" "dp up" "stats" "nic" "sg rule" "sg rule frob web" \
		"route frob" "nosuch add 1"; do
		printf '%s\n' "$line" >"$f"
		run --separate-stderr v -b "$f"
		[ "$status" -eq 1 ] || fail "batch \"$line\" exited $status"
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "batch \"$line\": $stderr"
		[[ "$stderr" == *"reads.batch:1: "* ]] || fail "batch \"$line\" does not name the line: $stderr"
	done
}
