#!/usr/bin/env bats
# tests/cli/man.bats — vpcbpf(8) and one vpcbpf-OBJECT(8) per command family, written from the tables:
# man renders each without a warning, each object has its page, and the synopsis is the object's grammar.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/vpcbpf

ROOT="$BATS_TEST_DIRNAME/../.."

setup() {
	lib_init
	MAN=$(mktemp -d "/tmp/vpcbpf-$T-man.XXXXXX")
	lib_register dir "$MAN"
	"$VPCBPF" --man >"$MAN/vpcbpf.8"
	for o in $("$VPCBPF" --complete -- help ''); do
		"$VPCBPF" --man "$o" >"$MAN/vpcbpf-$o.8"
	done
}

teardown() {
	lib_cleanup
}

@test "every page renders with man --warnings and says nothing on stderr" {
	local page
	for page in "$MAN"/*.8; do
		run --separate-stderr env MANWIDTH=80 man --warnings -E UTF-8 -l "$page"
		assert_success
		[ -z "$stderr" ] || fail "$(basename "$page"): $stderr"
		[[ "$output" == *NAME*SYNOPSIS*"EXIT STATUS"* ]] || fail "$(basename "$page"): sections missing"
	done
}

@test "a page per object of the table, each listed in vpcbpf(8)" {
	local o main
	main=$(MANWIDTH=200 man -l "$MAN/vpcbpf.8" 2>/dev/null)
	for o in $("$VPCBPF" -j help | jq -r '.[].object'); do
		[ -s "$MAN/vpcbpf-$o.8" ] || fail "no page for $o"
		[[ "$main" == *"vpcbpf-$o(8)"* ]] || fail "vpcbpf(8) does not point to vpcbpf-$o(8)"
	done
}

@test "the synopsis of vpcbpf-OBJECT(8) is the command lines of 'vpcbpf OBJECT help'" {
	local o line page
	for o in dp vpc subnet nic route sg stats monitor; do
		page=$(MANWIDTH=250 man -l "$MAN/vpcbpf-$o.8" 2>/dev/null | sed -n '/^SYNOPSIS/,/^[A-Z]/p' |
			sed 's/^ *vpcbpf \[OPTIONS\] //; s/^ *//')
		while IFS= read -r line; do
			# command lines: the first (after Usage:) and indented ones; unindented lines are prose
			[[ "$line" == "Usage: "* || "$line" == " "* ]] || continue
			line=${line#Usage: vpcbpf [OPTIONS] }
			line=${line#"${line%%[![:space:]]*}"}
			[[ "$line" == "$o "* || "$line" == "$o" ]] || continue
			grep -qxF -- "$line" <<<"$page" || fail "vpcbpf-$o(8) lacks: $line"
		done < <("$VPCBPF" "$o" help)
	done
}

@test "vpcbpf(8) lists every option of --help; the drop reasons are in vpcbpf-stats(8)" {
	local main opt
	main=$(MANWIDTH=200 man -l "$MAN/vpcbpf.8" 2>/dev/null)
	for opt in $("$VPCBPF" --help | grep -o -- '--[a-z-]*' | sort -u); do
		[[ "$main" == *"$opt"* ]] || fail "vpcbpf(8) lacks $opt"
	done
	stats=$(MANWIDTH=200 man -l "$MAN/vpcbpf-stats.8" 2>/dev/null)
	for r in $("$VPCBPF" -j stats help | jq -r '.drop_reasons[].name'); do
		[[ "$stats" == *"$r"* ]] || fail "vpcbpf-stats(8) lacks $r"
	done
}

@test "make install puts the man pages and the completion under DESTDIR/PREFIX" {
	local dest="$MAN/dest"
	run make -C "$ROOT" --no-print-directory install-man install-completion DESTDIR="$dest" PREFIX=/usr
	assert_success
	[ -s "$dest/usr/share/man/man8/vpcbpf.8" ]
	[ -s "$dest/usr/share/man/man8/vpcbpf-route.8" ]
	[ -s "$dest/usr/share/bash-completion/completions/vpcbpf" ]
	run env MANPATH="$dest/usr/share/man" man --warnings -w vpcbpf-route
	assert_success
}
