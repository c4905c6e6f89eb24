#!/usr/bin/env bats
# tests/cli/help_drift.bats — every keyword a parser accepts is in the object's help, its man page and its completion.
#
# The keywords are read from the parsers' source, not from the help: the rows of cli/edit.c's tables
# (the grammar of every edit, sg rule's words included) and the keywords the read commands compare
# with (matches(*argv, "kw") and keyword_find's arrays in cli/OBJECT.c). A keyword added to a parser
# and not to what help, man and completion are made from fails here.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

CLI=$BATS_TEST_DIRNAME/../../cli

# OBJECT KEYWORD lines: edit.c's rows (table NAME[]: the object is NAME up to its first "_"), then the reads'.
parser_keywords() {
	awk '
		/^(static )?const struct edit_kw [a-z_]+\[\]/ { t = $0; sub(/\[\].*/, "", t); sub(/.* /, "", t); sub(/_.*/, "", t); next }
		t && /^};/ { t = ""; next }
		t && match($0, /^\t\{ "[a-z][a-z-]*",/) { w = substr($0, RSTART + 4, RLENGTH - 6); print t, w }
	' "$CLI/edit.c"
	local f o
	for o in route nic subnet dp monitor stats agent; do
		f=$CLI/$o.c
		grep -o 'matches(\*argv, "[a-z][a-z-]*")' "$f" | sed 's/.*"\(.*\)")/\1/' | sed "s/^/$o /"
		grep -o 'kws\[\] = {[^}]*}' "$f" | grep -o '"[a-z][a-z-]*"' | tr -d '"' | sed "s/^/$o /"
	done
}

# The grammar lines of a help (the command lines and their continuations, "X := ..." definitions), not its prose.
grammar_lines() {
	"$@" | grep -E '^(Usage:| |[A-Z_]+ := )'
}

# Every completion candidate for OBJECT: after the object, after each verb, after a verb and one word.
completions() {
	local o=$1 verb
	{
		"$VPCBPF" --complete -- "$o" ""
		for verb in $("$VPCBPF" --complete -- "$o" ""); do
			"$VPCBPF" --complete -- "$o" "$verb" ""
			"$VPCBPF" --complete -- "$o" "$verb" x ""
		done
		[ "$o" != sg ] || "$VPCBPF" --complete -- sg rule add web ""
	} | sort -u
}

@test "the parsers' keywords are found (the scan itself works)" {
	run parser_keywords
	assert_success
	for pair in "route via" "route advertise" "nic source-check" "nic ct-quota" "sg priority" "sg ingress" \
		"route match" "dp router-mac" "monitor timeout" "stats nic" "agent lease"; do
		assert_line "$pair"
	done
	[ "${#lines[@]}" -ge 40 ] || fail "only ${#lines[@]} keywords found"
}

@test "every keyword a parser accepts is in the grammar lines of 'vpcbpf OBJECT help' (not only in its prose)" {
	local o w missing=""
	while read -r o w; do
		grammar_lines "$VPCBPF" "$o" help | grep -qE "(^|[^a-z-])$w([^a-z-]|\$)" || missing+=" $o:$w"
	done < <(parser_keywords)
	[ -z "$missing" ] || fail "not in help:$missing"
}

@test "every keyword a parser accepts is in the man page vpcbpf-OBJECT(8), in its synopsis or a definition" {
	local o w missing=""
	while read -r o w; do
		"$VPCBPF" --man "$o" | awk '/^\.nf/ { s = 1; next } /^\.fi/ { s = 0 } s' |
			grep -qE "(^|[^a-z-])${w//-/\\\\-}([^a-z-]|\$)" || missing+=" $o:$w"
	done < <(parser_keywords)
	[ -z "$missing" ] || fail "not in the man page:$missing"
}

@test "every keyword a parser accepts is completed after its object or verb" {
	local o w missing="" last="" words=""
	while read -r o w; do
		[ "$o" = "$last" ] || words=$(completions "$o") last=$o
		grep -qx -- "$w" <<<"$words" || missing+=" $o:$w"
	done < <(parser_keywords | sort)
	[ -z "$missing" ] || fail "not completed:$missing"
}

@test "the man page's synopsis has one command a line, each starting with vpcbpf [OPTIONS] OBJECT" {
	local o
	for o in $("$VPCBPF" -j help | jq -r '.[].object'); do
		"$VPCBPF" --man "$o" | awk -v o="$o" '
			/^\.SH SYNOPSIS/ { s = 1; next } s && /^\.fi/ { exit }
			s && /^vpcbpf/ && index($0, "vpcbpf [OPTIONS] " o) != 1 { print "vpcbpf-" o "(8): " $0; bad = 1 }
			END { exit bad }' || fail "a synopsis line of $o is no command"
	done
}
