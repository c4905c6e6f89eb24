#!/usr/bin/env bats
# tests/cli/garbage.bats — garbage in every word of every command: exit 1, one line on stderr, nothing changed.
load common

# Complete commands that would succeed (or be refused for a reason of their own) on base_world;
# each test puts garbage in place of one of their words. The value after "name" is never replaced:
# a short word of letters and digits is a valid name.
TEMPLATES=(
	"vpc add 20 name green"
	"vpc del 10"
	"vpc show 10"
	"subnet add 10.0.3.0/24 vpc 10 gateway 10.0.3.1 name third"
	"subnet del 10.0.2.0/24 vpc 10"
	"vxnet show vpc 10"
	"nic add 10.0.1.11 vpc 10 mac 02:00:00:00:01:11 remote 192.168.0.2 source-check off"
	"nic replace 10.0.1.10 vpc 10 mac 02:00:00:00:01:10 dev vm1 source-check off"
	"nic del 10.0.1.10 vpc 10"
	"nic show vpc 10"
	"route add 172.16.0.0/12 vpc 10 via 10.0.1.10 advertise"
	"route add 10.9.0.0/16 vpc 10 blackhole"
	"route replace 10.50.0.0/16 vpc 10 peer 10"
	"route del 10.0.1.0/24 vpc 10"
	"route get 10.0.1.10 vpc 10"
	"route flush vpc 10"
	"route show vpc 10"
	"stats nic 10.0.1.10 vpc 10"
	"apply /nonexistent/state.json"
	"sg rule add nosuch ingress proto tcp port 80-90 cidr 10.0.0.0/8 allow priority 10"
	"sg rule del nosuch priority 10"
	"nic set 10.0.1.10 vpc 10 sg nosuch"
)

# One host for the whole file: garbage must never change it, and every test checks that it did not.
setup_file() {
	lib_init
	host_create h || fail "host_create failed"
	base_world
	json_snapshot h >"$LIB_STATE/garbage.before" || fail "snapshot failed"
}

teardown_file() {
	lib_cleanup
}

setup() {
	BEFORE=$(cat "$LIB_STATE/garbage.before")
}

teardown() {
	:
}

# rejects ARGS...: exit 1, exactly one line on stderr, nothing on stdout; under -j the same with
# {"error": "...", "code": 1} as the only output. Stdin is empty: a garbage "-" must not wait for input.
rejects() {
	run --separate-stderr timeout 10 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" "$@" </dev/null
	if [ "$status" -ne 1 ]; then
		fail "$(printf 'vpcbpf %q ' "$@")exited $status (want 1); stderr: $stderr"
	fi
	if [ "${#stderr_lines[@]}" -ne 1 ]; then
		fail "$(printf 'vpcbpf %q ' "$@"): ${#stderr_lines[@]} lines on stderr (want 1): $stderr"
	fi
	if [ -n "$output" ]; then
		fail "$(printf 'vpcbpf %q ' "$@"): printed on stdout: $output"
	fi
	run --separate-stderr timeout 10 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" -j "$@" </dev/null
	if [ "$status" -ne 1 ] || [ "${#stderr_lines[@]}" -ne 1 ]; then
		fail "$(printf 'vpcbpf -j %q ' "$@")exited $status with ${#stderr_lines[@]} stderr lines: $stderr"
	fi
	if ! jq -e '(keys == ["code", "error"]) and .code == 1 and (.error | type == "string") and (.error | length > 0)' <<<"$output" >/dev/null; then
		fail "$(printf 'vpcbpf -j %q ' "$@"): want {\"error\": ..., \"code\": 1}, got: $output"
	fi
}

# Each word of $@ takes the place of one word of a template chosen by the seeded $RANDOM.
in_every_slot() {
	local word t slot words
	for word in "$@"; do
		t=${TEMPLATES[RANDOM % ${#TEMPLATES[@]}]}
		read -r -a words <<<"$t"
		slot=$((RANDOM % ${#words[@]}))
		if [ "$slot" -gt 0 ] && [ "${words[slot - 1]}" = name ]; then
			slot=$((slot - 1))
		fi
		words[slot]=$word
		rejects "${words[@]}"
	done
}

unchanged() {
	local after
	after=$(json_snapshot h) || fail "snapshot failed"
	[ "$BEFORE" = "$after" ] || fail "state changed: before $BEFORE after $after"
}

@test "garbage: random words in any word of any command" {
	RANDOM=1
	in_every_slot zork quux wibble kumquat frobnicate qzx zzz jjj '%s' '%n%n%n' "'" '"' '\' ';' '&&' '|' \
		'*' '..' '/' '{}' '$(id)' '0.0.0.0.0' '1.2.3' '10.0.1.0/33' '10.0.1.0/24/8' 'ff:ff' '::1' '1e9' \
		'0x' '' ' ' 'vpc 10' '10.0.1.10 ' ' 10.0.1.10' 'zork zork'
	unchanged
}

@test "garbage: very long words" {
	local long5k long100k num300 ip_long
	long5k=$(printf 'a%.0s' {1..5000})
	long100k=$(head -c 100000 /dev/zero | tr '\0' x)
	num300=$(printf '9%.0s' {1..300})
	ip_long="10.0.1.$(printf '0%.0s' {1..4000})1"
	RANDOM=2
	in_every_slot "$long5k" "$long100k" "$num300" "$ip_long" "10.0.1.0/$(printf '0%.0s' {1..3000})24" \
		"02:00:00:00:01:$(printf '1%.0s' {1..2000})" "$long5k" "$long100k" "$num300"
	unchanged
}

@test "garbage: NUL-free binary junk (seeded)" {
	local i j junk hex byte
	RANDOM=3
	for i in $(seq 40); do
		junk=""
		for ((j = 0; j < 1 + RANDOM % 48; j++)); do
			printf -v hex '\\x%02x' $((1 + RANDOM % 255))
			printf -v byte "$hex"
			junk+=$byte
		done
		# a junk word made only of name characters would be a valid name, never garbage: spoil it
		junk="$junk"$'\x01'
		in_every_slot "$junk"
	done
	unchanged
}

@test "garbage: huge and negative numbers" {
	RANDOM=4
	in_every_slot 4294967296 18446744073709551616 99999999999999999999999999999 16777216 0x1000000 \
		0xffffffffffffffff 1e99 -1 -0 -16777215 -4294967296 --5 -0x10 - '+5' ' 5' '5 ' 010x 1.5 \
		4294967295 16777216 -1 -0 18446744073709551615
	unchanged
}

@test "garbage: unicode" {
	RANDOM=5
	in_every_slot '５' '１０.0.1.5' 'vpç' '🙂' 'ｖｐｃ' 'réseau' $'\u202e01' 'ᛗᚨᚲ' $'e\u0301' $'a\u200db' \
		'١٠' 'Ⅻ' '02：00：00：00：01：10' $'10.0.1.0\u00a0/24' $'10\u00b70\u00b71\u00b710' '∞' '𝟏𝟎' \
		$'\ufeff10' 'ß' 'İ' '中文' $'\xff\xfe' $'\xc3\x28' $'\xed\xa0\x80'
	unchanged
}

@test "garbage: bad options, and extra words after complete commands" {
	local word
	for word in -x --bogus --pin-dir= -xj --json=1 -d; do
		rejects "$word" vpc show
	done
	rejects vpc show -d
	for word in zork '' '🙂' $'a\nb'; do
		rejects vpc show 10 "$word"
		rejects route get 10.0.1.10 vpc 10 "$word"
		rejects dp show "$word"
		rejects stats "$word"
		rejects save "$word"
		rejects subnet show vpc 10 "$word"
		rejects dp down "$word"
	done
	unchanged
	run v dp show
	assert_success
}

@test "garbage: a batch file with junk after good lines fails at that line and applies nothing" {
	local file="$LIB_STATE/garbage.batch" line
	for line in 'vpc add 30 name "a#b"' $'vpc add 30 \x01\x02' 'vpc add 30 name "unclosed' 'route add 10.9.0.0/16 vpc 10 via' \
		'nic add 10.0.1.77 vpc 10 mac -2:00:00:00:00:01 remote 192.168.0.2' 'zork' 'vpc add 99999999999999999999'; do
		printf 'vpc add 31 name ok\nsubnet add 10.31.0.0/24 vpc 31\n# a comment\n%s\nvpc add 32\n' "$line" >"$file"
		run --separate-stderr timeout 10 "$VPCBPF" -n "$(host_ns h)" -d "$(host_pin h)" -b "$file" </dev/null
		[ "$status" -eq 1 ] || fail "batch with '$line' exited $status: $stderr"
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "batch with '$line': ${#stderr_lines[@]} lines on stderr: $stderr"
		[[ "$stderr" == *"garbage.batch:4: "* ]] || fail "batch with '$line' does not name line 4: $stderr"
		# a '#' inside quotes belongs to the word, which the error then names
		[[ "$line" != *'a#b'* || "$stderr" == *'"a#b"'* ]] || fail "the quoted word is not named: $stderr"
	done
	unchanged
}
