#!/usr/bin/env bats
# tests/cli/imports.bats — no module of vpcbpf imports a module that imports it back (issue 11), and the check can see one.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

ROOT="$BATS_TEST_DIRNAME/../.."
CHECK="$BATS_TEST_DIRNAME/import_cycles.py"

setup() { TMP=$(mktemp -d); }
teardown() { rm -rf "$TMP"; }

@test "no import circle among vpcbpf's modules: by #include, nor by who calls whom in the built objects" {
	[ -d "$ROOT/build/obj/cli" ] && [ -d "$ROOT/build/obj/cni" ] || fail "build/obj is missing: run make all first"
	run "$CHECK" --root "$ROOT" --objects "$ROOT/build/obj" --known "$BATS_TEST_DIRNAME/import_cycles.known"
	assert_success
}

@test "the check finds a circle through #include, names its edges, and exits 1" {
	mkdir -p "$TMP/cli"
	printf '#include "cli/b.h"\n' > "$TMP/cli/a.c"
	printf 'int a(void);\n' > "$TMP/cli/a.h"
	printf '#include "a.h"\n' > "$TMP/cli/b.c" # relative to the including file, as the compiler reads it
	printf 'int b(void);\n' > "$TMP/cli/b.h"
	run "$CHECK" --root "$TMP"
	assert_failure 1
	assert_line "include circle: cli/a <-> cli/b"
	assert_line --partial 'cli/a -> cli/b  (cli/a.c:1 #include "cli/b.h")'
	assert_line --partial 'cli/b -> cli/a  (cli/b.c:1 #include "a.h")'
}

@test "the check finds a call circle that a shared header hides from the includes" {
	mkdir -p "$TMP/src/cli" "$TMP/obj/cli"
	printf 'int a(void); int b(void);\n' > "$TMP/src/cli/cli.h" # one header for both, as cli/cli.h is
	printf '#include "cli/cli.h"\nint a(void) { return b(); }\n' > "$TMP/src/cli/a.c"
	printf '#include "cli/cli.h"\nint b(void) { return a(); }\n' > "$TMP/src/cli/b.c"
	for m in a b; do gcc -I"$TMP/src" -c "$TMP/src/cli/$m.c" -o "$TMP/obj/cli/$m.o" || fail "gcc"; done
	run "$CHECK" --root "$TMP/src"
	assert_success # the includes alone see no circle
	run "$CHECK" --root "$TMP/src" --objects "$TMP/obj"
	assert_failure 1
	assert_line "call circle: cli/a <-> cli/b"
	assert_line --partial "cli/a -> cli/b  (uses b)"
}

@test "a known circle that is gone or changed fails until the list is mended" {
	mkdir -p "$TMP/cli"
	printf 'int a(void);\n' > "$TMP/cli/a.c"
	printf 'include cli/a cli/b\n' > "$TMP/known"
	run "$CHECK" --root "$TMP" --known "$TMP/known"
	assert_failure 1
	assert_line --partial "the known include circle cli/a <-> cli/b is not there as listed"
}
