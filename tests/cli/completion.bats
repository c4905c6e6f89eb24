#!/usr/bin/env bats
# tests/cli/completion.bats — bash completion (cli/completion.bash) completes objects, verbs, keywords and values
# from vpcbpf's own tables: sourced into bash and called as bash calls it.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

setup() {
	lib_init
	BIN=$(dirname "$VPCBPF")
	source "$BATS_TEST_DIRNAME/../../cli/completion.bash"
}

teardown() {
	lib_cleanup
}

# complete_line "vpcbpf route a": COMPREPLY for the last word (a trailing blank: an empty word), space-joined.
complete_line() {
	local line=$1
	read -r -a COMP_WORDS <<<"$line"
	[[ "$line" == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	PATH="$BIN:$PATH" _vpcbpf vpcbpf "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	REPLY="${COMPREPLY[*]}"
}

# offers WORDS... / offers_not WORDS...: $REPLY holds each word / none of them (other keywords may come and go)
offers() {
	local w
	for w in "$@"; do
		[[ " $REPLY " == *" $w "* ]] || fail "no \"$w\" in: $REPLY"
	done
}
offers_not() {
	local w
	for w in "$@"; do
		[[ " $REPLY " != *" $w "* ]] || fail "\"$w\" offered in: $REPLY"
	done
}

@test "completion is registered for vpcbpf" {
	run complete -p vpcbpf
	assert_output --partial "-F _vpcbpf"
}

@test "objects: every object of the table, and prefixes narrow them" {
	complete_line "vpcbpf "
	for o in dp vpc subnet nic route sg stats save apply monitor help; do
		[[ " $REPLY " == *" $o "* ]] || fail "no $o in: $REPLY"
	done
	complete_line "vpcbpf s"
	[ "$REPLY" = "subnet stats sg security-group save" ] || [[ "$REPLY" == *subnet*stats*sg*save* ]] || fail "$REPLY"
	complete_line "vpcbpf ro"
	[ "$REPLY" = "route" ]
	complete_line "vpcbpf -j -d /tmp r"
	[ "$REPLY" = "route" ]
}

@test "verbs: the object's commands, with list and ls for show" {
	complete_line "vpcbpf route "
	for v in show list ls add del replace get flush help; do
		[[ " $REPLY " == *" $v "* ]] || fail "no $v in: $REPLY"
	done
	complete_line "vpcbpf dp u"
	[ "$REPLY" = "up" ]
	complete_line "vpcbpf stats "
	[[ " $REPLY " == *" reset "* && " $REPLY " == *" vpc "* ]] || fail "$REPLY"
}

@test "keywords: those of the verb not typed yet, and not an alternative of one typed" {
	complete_line "vpcbpf route add 10.0.0.0/8 "
	offers vpc via blackhole peer advertise
	offers_not add replace del show get flush
	complete_line "vpcbpf route add 10.0.0.0/8 vpc 5 via 10.0.0.1 "
	offers advertise
	offers_not vpc via blackhole peer
	complete_line "vpcbpf subnet add 10.0.0.0/24 vpc 5 "
	[ "$REPLY" = "gateway name dns domain routes" ] || fail "$REPLY"
	complete_line "vpcbpf nic add 10.0.0.5 vpc 5 "
	offers mac dev remote sg source-check
	offers_not vpc add replace on off
	complete_line "vpcbpf route show "
	[ "$REPLY" = "vpc match" ] || fail "$REPLY" # route show [vpc VNI] [PREFIX | match IP]
	complete_line "vpcbpf sg rule add web ingress proto tcp "
	[ "$REPLY" = "port cidr allow deny priority" ] || fail "$REPLY"
	complete_line "vpcbpf dp up "
	offers dev local xdp router-mac
	offers_not down keep-maps show native
}

@test "values: a keyword's value set; the drop reasons after monitor reason" {
	complete_line "vpcbpf dp up xdp "
	offers native generic off
	offers_not dev local xdp
	complete_line "vpcbpf nic add 10.0.0.5 vpc 5 source-check "
	[ "$REPLY" = "on off" ] || fail "$REPLY"
	complete_line "vpcbpf sg rule add web ingress proto "
	[ "$REPLY" = "tcp udp icmp any" ] || fail "$REPLY"
	complete_line "vpcbpf monitor reason no-"
	[ "$REPLY" = "no-route no-nic no-host no-external" ] || fail "$REPLY"
	# a typed value (a VNI) gets no keywords offered
	complete_line "vpcbpf route add 10.0.0.0/8 vpc "
	[ -z "$REPLY" ] || fail "$REPLY"
}

@test "options, and help OBJECT" {
	complete_line "vpcbpf --p"
	[ "$REPLY" = "--pretty --pin-dir" ] || fail "$REPLY"
	complete_line "vpcbpf help ro"
	[ "$REPLY" = "route" ] || fail "$REPLY"
}

@test "completion and help agree: every keyword completed after a verb is in the object's help" {
	local o v kw verbs
	for o in dp vpc subnet nic route sg stats monitor; do
		help=$("$VPCBPF" "$o" help; "$VPCBPF" stats help) # stats help lists the drop reasons (monitor reason)
		complete_line "vpcbpf $o "
		verbs=$REPLY
		for v in $verbs; do
			complete_line "vpcbpf $o $v "
			for kw in $REPLY; do
				[[ "$help" == *"$kw"* ]] || fail "$o $v: $kw completed but not in its help"
			done
		done
	done
}
