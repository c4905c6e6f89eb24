#!/usr/bin/env bats
# tests/cli/build_deps.bats — `make` on a machine that lacks a build package names it and how to install it.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

ROOT="$BATS_TEST_DIRNAME/../.."

@test "make with a missing build package names it and the command that installs it, and builds nothing" {
	# the real check against dpkg's database, with one package that no machine has among the build's own
	run --separate-stderr make -C "$ROOT" --no-print-directory build-deps \
		BUILD_PKGS="gcc vpcbpf-test-no-such-package"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"missing Debian package(s): vpcbpf-test-no-such-package"* ]] || fail "$stderr"
	[[ "$stderr" == *"make deps"* && "$stderr" == *"apt-get install vpcbpf-test-no-such-package"* ]] || fail "$stderr"
	[[ "$stderr" != *"gcc"* ]] || fail "names an installed package: $stderr"
}

@test "make all checks the build packages before it runs any tool" {
	run --separate-stderr make -C "$ROOT" --no-print-directory all BUILD_PKGS="vpcbpf-test-no-such-package"
	[ "$status" -ne 0 ] || fail "make all went on without a build package"
	[[ "$stderr" == *"missing Debian package(s): vpcbpf-test-no-such-package"* ]] || fail "$stderr"
}

@test "on this machine every build package is there" {
	run --separate-stderr make -C "$ROOT" --no-print-directory build-deps
	assert_success
}
